//! Emitters: the checked deployment model in, files out (as data; the CLI writes them).
//!
//! Emitting never fails on a model from an error-free analysis; anything an emitter cannot
//! express is a checker error first. Output is byte-for-byte deterministic: ordered maps,
//! no clocks, no randomness, no paths from the build machine (files are named relative to
//! the deployment's directory), no line numbers (values name their place in the deployment,
//! see [`provenance`]), so the same deployment gives the same bytes wherever it is built and
//! edits that change no meaning change no byte.

pub mod k8s;
pub mod kumomta;
pub mod names;
pub mod provenance;

use std::collections::BTreeMap;

use crate::Analysis;

pub use provenance::{Places, Provenance};

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
/// Places are looked up in the analysis's syntax trees (see [`emit_with`] to free them first).
pub fn emit(analysis: &Analysis) -> Option<Output> {
    emit_with(analysis, &Places::new(&analysis.sources, &analysis.parses))
}

/// [`emit`] with places indexed beforehand ([`Places::new`]), so the caller may free the
/// syntax trees before emitting (a large deployment's trees are a quarter of its memory).
pub fn emit_with(analysis: &Analysis, places: &Places) -> Option<Output> {
    emit_inner(analysis, places, true)
}

/// The output in canonical form: the same files with no comments in the policy files. The
/// pod-template checksums cover exactly this (each file's canonical digest), so a change
/// that only touches comments never rolls the pods; tests check that KumoMTA's consumers
/// read it exactly as they read [`emit`]'s.
pub fn emit_canonical(analysis: &Analysis) -> Option<Output> {
    emit_inner(
        analysis,
        &Places::new(&analysis.sources, &analysis.parses),
        false,
    )
}

fn emit_inner(analysis: &Analysis, places: &Places, comments: bool) -> Option<Output> {
    if analysis.has_errors() {
        return None;
    }
    let model = analysis.model.as_ref()?;
    let prov = Provenance::new(&analysis.sources, places, comments);
    let mut out = Output::default();
    let digests = kumomta::emit(model, &prov, &mut out);
    let policy = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut manifests = Output::default();
    k8s::emit(model, &k8s::Inputs { policy, digests }, &mut manifests);
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
