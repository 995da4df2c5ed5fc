//! Emitters: the checked deployment model in, files out (as data; the CLI writes them).
//!
//! Emitting never fails on a model from an error-free analysis; anything an emitter cannot
//! express is a checker error first. Output is byte-for-byte deterministic: ordered maps,
//! no clocks, no randomness, no absolute paths from the build machine.

pub mod k8s;
pub mod kumomta;
pub mod names;
mod provenance;

use std::collections::BTreeMap;

use crate::Analysis;

pub use provenance::Provenance;

/// The emitted files: path relative to the output directory → content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub files: BTreeMap<String, String>,
}

impl Output {
    pub fn add(&mut self, path: impl Into<String>, content: String) {
        self.files.insert(path.into(), content);
    }
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }
}

/// Emit everything for an analysis without errors; `None` when it has errors (or no model).
pub fn emit(analysis: &Analysis) -> Option<Output> {
    if analysis.has_errors() {
        return None;
    }
    let model = analysis.model.as_ref()?;
    let prov = Provenance::new(&analysis.sources);
    let mut out = Output::default();
    kumomta::emit(model, &prov, &mut out);
    let policy = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut manifests = Output::default();
    k8s::emit(model, &k8s::Inputs { policy }, &mut manifests);
    out.files.extend(manifests.files);
    Some(out)
}

/// The Secret manifests for `kumoc build --secrets`, from contents the caller read from the
/// files the `secret` blocks name (see [`secret_files`]).
pub fn secrets(analysis: &Analysis, contents: &k8s::SecretContents) -> Option<Output> {
    if analysis.has_errors() {
        return None;
    }
    let model = analysis.model.as_ref()?;
    let mut out = Output::default();
    k8s::emit_secrets(model, contents, &mut out);
    Some(out)
}

/// The files to read for `--secrets`: (secret, key, path as written, the `.kumo` file that
/// names it). Paths are relative to that file's directory.
pub fn secret_files(analysis: &Analysis) -> Vec<(String, String, String, String)> {
    let Some(model) = &analysis.model else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in &model.secrets {
        for (key, path) in &s.files {
            out.push((
                s.name.clone(),
                key.clone(),
                path.value.clone(),
                analysis.sources.name(path.loc.file).to_string(),
            ));
        }
    }
    out
}
