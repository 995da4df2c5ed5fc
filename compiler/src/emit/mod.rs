//! Emitters: the checked deployment model in, files out (as data; the CLI writes them).
//!
//! The emitters read the deployment model and, for the comments, the [`Places`] index of
//! the sources, nothing else of the analysis. Whether there is anything to emit is the
//! caller's decision: only the model of an analysis without errors is emitted
//! ([`crate::Analysis::checked_model`]). Emitting never fails on such a model; anything an
//! emitter cannot express is a checker error first.
//!
//! Output is byte-for-byte deterministic: ordered maps, no clocks, no randomness, no paths
//! from the build machine (files are named relative to the deployment's directory), no line
//! numbers (values name their place in the deployment, see [`provenance`]), so the same
//! deployment gives the same bytes wherever it is built and edits that change no meaning
//! change no byte.
//!
//! - `kumomta/`: the KumoMTA policy (Lua and the helpers' TOML files);
//! - `k8s/`: the Kubernetes manifests, one room per workload (names and paths come from
//!   [`crate::names`], so the policy and the manifests agree);
//! - `provenance.rs`: the place of each value, for the comments.

pub mod k8s;
pub mod kumomta;
pub mod provenance;

use std::collections::BTreeMap;

use crate::model::Deployment;
use crate::source::Sources;

pub use provenance::{Places, Provenance};

/// The emitted files: path relative to the output directory → content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub files: BTreeMap<String, String>,
    /// Files whose text is another file's, indented between two texts (the ConfigMap of a
    /// data shard: its literal block), by path; written from that file's text when they are
    /// written ([`LiteralBlock::write`]), so the megabytes of shards are not held twice. Only
    /// [`emit_for_writing`] leaves files here; [`emit`] writes them out into `files`.
    pub blocks: BTreeMap<String, LiteralBlock>,
}

impl Output {
    pub fn add(&mut self, path: impl Into<String>, content: String) {
        self.files.insert(path.into(), content);
    }
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The number of files, written out or not.
    pub fn len(&self) -> usize {
        self.files.len() + self.blocks.len()
    }

    /// Whether there is no file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every file written out into `files` (the [`LiteralBlock`]s too).
    pub fn into_files(mut self) -> BTreeMap<String, String> {
        for (path, block) in std::mem::take(&mut self.blocks) {
            // A block holds a file written out, and is not one itself (`emit_inner`).
            debug_assert!(self.files.contains_key(&block.of), "{path}: {}", block.of);
            debug_assert!(!self.files.contains_key(&path), "{path}");
            let mut bytes = Vec::new();
            block.write(self.get(&block.of).unwrap_or(""), &mut bytes);
            // A block holds whole `str`s and ASCII: always UTF-8.
            let text = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            self.files.insert(path, text);
        }
        self.files
    }
}

/// A file that is `prefix`, the file `of` as the lines of a YAML literal block (each
/// indented by four unless it is empty), and `suffix`: a data shard's ConfigMap (see
/// `k8s::policy::config_map`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralBlock {
    pub of: String,
    prefix: String,
    suffix: String,
}

impl LiteralBlock {
    pub(crate) fn new(of: String, prefix: String, suffix: String) -> Self {
        Self { of, prefix, suffix }
    }

    /// The file's text, given the text of the file it holds, appended to `out` (sized
    /// once, about: the newlines are not counted for it, a pass over the text that cost
    /// 4.8 M instructions at 10,000 domains; a line's indentation is taken as an eighth of
    /// it, and shorter lines on average grow `out` once).
    pub fn write(&self, of: &str, out: &mut Vec<u8>) {
        out.reserve(self.prefix.len() + of.len() + of.len() / 8 + self.suffix.len());
        out.extend_from_slice(self.prefix.as_bytes());
        k8s::policy::push_indented(out, of);
        out.extend_from_slice(self.suffix.as_bytes());
    }
}

/// Emit everything for the model of an error-free analysis, with each value's place from
/// `places` ([`Places::new`], built from the analysis's syntax trees, which the caller may
/// free afterwards: a large deployment's trees are a quarter of its memory).
///
/// The caller decides whether there is anything to emit: a model is only emitted when its
/// analysis has no error ([`crate::Analysis::checked_model`]); anything an emitter cannot
/// express is a checker error first.
pub fn emit(model: &Deployment, places: &Places) -> Output {
    let files = emit_inner(model, places, true, false).into_files();
    Output {
        files,
        ..Output::default()
    }
}

/// [`emit`], with the data shards' ConfigMaps left as [`LiteralBlock`]s of the shards (in
/// [`Output::blocks`]): for a caller that writes each file out as it writes it (`kumoc
/// build`), so they are never all in memory (half the output of a large deployment).
pub fn emit_for_writing(model: &Deployment, places: &Places) -> Output {
    emit_inner(model, places, true, true)
}

/// The output in canonical form: the same files with no comments in the policy files. The
/// pod-template checksums cover exactly this (the Lua policies' canonical digests), so a change
/// that only touches comments never rolls the pods; tests check that KumoMTA's consumers
/// read it exactly as they read [`emit`]'s.
pub fn emit_canonical(model: &Deployment, places: &Places) -> Output {
    let files = emit_inner(model, places, false, false).into_files();
    Output {
        files,
        ..Output::default()
    }
}

/// The output; `blocks`: whether the shards' ConfigMaps are left as [`LiteralBlock`]s.
fn emit_inner(model: &Deployment, places: &Places, comments: bool, blocks: bool) -> Output {
    let prov = Provenance::new(places, comments);
    let mut out = Output::default();
    let (digests, shards) = kumomta::emit(model, &prov, &mut out);
    let policy = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut manifests = Output::default();
    // A value the manifests derive from a KumoMTA setting names that setting's place (a
    // comment: not in the canonical form).
    let queue_stuck_from = model
        .cluster
        .metrics
        .alerts
        .as_ref()
        .filter(|a| !a.queue_stuck_written)
        .and_then(|a| a.longest_max_age_at)
        .filter(|_| comments)
        .map(|loc| prov.at(loc));
    let inputs = k8s::Inputs {
        policy,
        digests,
        shards,
        queue_stuck_from,
        blocks,
    };
    k8s::emit(model, &inputs, &mut manifests);
    out.files.extend(manifests.files);
    out.blocks.extend(manifests.blocks);
    out
}

/// The Secret manifests for `kumoc build --secrets`, from contents the caller read from the
/// files the `secret` blocks name (see [`secret_files`]), for the model of an error-free
/// analysis.
pub fn secrets(model: &Deployment, contents: &k8s::SecretContents) -> Output {
    let mut out = Output::default();
    k8s::emit_secrets(model, contents, &mut out);
    out
}

/// The Secrets of `--secrets` whose files are over the API server's 1 MiB: an error each
/// (K1012, with the arithmetic), at the `secret` block. The caller writes nothing then.
pub fn secret_size_errors(
    model: &Deployment,
    contents: &k8s::SecretContents,
) -> Vec<crate::diagnostic::Diagnostic> {
    let mut out = Vec::new();
    for s in &model.secrets {
        let Some(keys) = contents.get(&s.name) else {
            continue;
        };
        let bytes: u64 = keys.values().map(|v| v.len() as u64).sum();
        if bytes <= crate::grammars::SECRET_LIMIT {
            continue;
        }
        let n = keys.len() as u64;
        let per_key = bytes / n.max(1);
        let fits = (crate::grammars::SECRET_LIMIT / per_key.max(1)).max(1);
        let mut d = crate::diagnostic::Diagnostic::new(
            crate::codes::SECRET_TOO_LARGE,
            format!("the Secret `{}` is over 1 MiB", s.name),
            s.loc,
            format!(
                "{n} keys, {bytes} bytes (~{:.1} KB each) > 1 MiB (1,048,576 bytes)",
                per_key as f64 / 1000.0
            ),
        )
        .with_help(format!(
            "the API server refuses it: split the keys into {} or more `secret` blocks of at most {fits} keys each (each is its own Secret, mounted whole)",
            n.div_ceil(fits)
        ));
        d.severity = crate::severity::Severity::Error;
        out.push(d);
    }
    out
}

/// The files to read for `--secrets`: (secret, key, path as written, the `.kumo` file that
/// names it, by the name it was given as). Paths are relative to that file's directory.
pub fn secret_files(
    model: &Deployment,
    sources: &Sources,
) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for s in &model.secrets {
        for (key, path) in &s.files {
            out.push((
                s.name.clone(),
                key.clone(),
                path.value.clone(),
                sources.name(path.loc.file).to_string(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// The shards' ConfigMaps left as blocks write out exactly what [`super::emit`] writes.
    #[test]
    fn blocks_write_out_what_emit_writes() {
        let mut text = String::from(
            "deployment \"g\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"k\" {}\npool main {\n  source s {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\n",
        );
        for i in 0..600 {
            text.push_str(&format!(
                "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"k\")\n  }}\n}}\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age = 2d\n}}\n"
            ));
        }
        let files = vec![("g.kumo".to_string(), text.into_bytes())];
        let analysis = crate::analyze(&files, &crate::Options::default());
        let Some(model) = analysis.checked_model() else {
            panic!("{:?}", analysis.diagnostics.first());
        };
        let places = analysis.places();
        let lazy = super::emit_for_writing(model, &places);
        assert!(!lazy.blocks.is_empty());
        let count = lazy.len();
        let written = lazy.into_files();
        assert_eq!(written.len(), count);
        let whole = super::emit(model, &places);
        assert!(whole.blocks.is_empty());
        assert_eq!(written, whole.files);
    }
}
