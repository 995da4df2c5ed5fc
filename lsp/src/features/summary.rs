//! What requests that never wait for an analysis take from the last finished one: the
//! names the deployment's other files define, every provider preset's effective settings,
//! the MTA pods. A summary is kept per document instead of the analysis it comes from, so
//! that besides the analysis being computed at most one is alive (the current epoch's).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use kumoc_compiler::schema::RefKind;
use kumoc_compiler::{Analysis, FileId};
use kumoc_lang::ast::Stmt;

use crate::features::inlay_hints::Pods;
use crate::features::presets;

const KINDS: [RefKind; 5] = [
    RefKind::Pool,
    RefKind::Source,
    RefKind::Tenant,
    RefKind::Secret,
    RefKind::Provider,
];

#[derive(Debug, Default)]
pub struct Summary {
    /// Names defined outside the document, by kind (`RefKind::noun`).
    pub names: BTreeMap<&'static str, Vec<String>>,
    /// Each provider's effective settings (Markdown), by name.
    pub presets: BTreeMap<String, String>,
    /// The MTA pods, when the description got as far as a model.
    pub pods: Option<Pods>,
}

impl Summary {
    pub fn names(&self, kind: RefKind) -> &[String] {
        self.names.get(kind.noun()).map_or(&[], Vec::as_slice)
    }
}

fn names_of(stmts: &[&Stmt]) -> BTreeMap<&'static str, Vec<String>> {
    KINDS
        .iter()
        .map(|k| (k.noun(), defined(stmts.iter().copied(), *k)))
        .collect()
}

/// The summary of an analysis for the document that is file `own` in it.
pub fn summarize(analysis: &Analysis, own: Option<FileId>) -> Summary {
    let stmts: Vec<&Stmt> = analysis
        .sources
        .iter()
        .zip(&analysis.parses)
        .filter(|((id, _), _)| Some(*id) != own)
        .flat_map(|(_, p)| p.file.items.iter())
        .collect();
    let presets = analysis
        .model
        .as_ref()
        .map(|m| {
            m.providers
                .iter()
                .filter_map(|p| {
                    let md = presets::effective_shaping(analysis, "provider", &p.name)?;
                    Some((p.name.clone(), md))
                })
                .collect()
        })
        .unwrap_or_default();
    let pods = analysis.model.as_ref().map(|m| {
        let replicas = m.cluster.mta.replicas.value;
        let (min, max) = m
            .cluster
            .mta
            .autoscale
            .as_ref()
            .map_or((replicas, replicas), |a| (a.min, a.max));
        Pods {
            min,
            max,
            shared: m.cluster.redis.is_some(),
        }
    });
    Summary {
        names: names_of(&stmts),
        presets,
        pods,
    }
}

/// Before any analysis: the stdlib's names, nothing else.
pub static STDLIB: LazyLock<Summary> = LazyLock::new(|| {
    let parses: Vec<kumoc_lang::Parse> = kumoc_compiler::stdlib::FILES
        .iter()
        .map(|(_, text)| kumoc_lang::parse(text))
        .collect();
    let stmts: Vec<&Stmt> = parses.iter().flat_map(|p| p.file.items.iter()).collect();
    Summary {
        names: names_of(&stmts),
        ..Summary::default()
    }
});

/// Names defined in the files of a deployment (their top-level statements), for
/// reference completion.
pub fn defined<'s>(stmts: impl IntoIterator<Item = &'s Stmt>, kind: RefKind) -> Vec<String> {
    let keyword = kind.noun();
    let mut out = Vec::new();
    for s in stmts {
        if let Stmt::Block(b) = s {
            if b.keyword.name == keyword {
                out.extend(b.label_text().map(str::to_string));
            }
            if keyword == "source" && b.keyword.name == "pool" {
                out.extend(
                    b.blocks()
                        .filter(|c| c.keyword.name == "source")
                        .filter_map(|c| c.label_text().map(str::to_string)),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
