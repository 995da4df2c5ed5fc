//! `textDocument/completion`: from this version's syntax, with the names defined in the
//! other files of the deployment as last analysed. Never waits for an analysis; waits for
//! this version's syntax, which is re-parsed only where it changed.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::completion::{self, Typed};
use crate::features::presets;
use crate::features::target::Target;
use crate::from_proto;
use crate::state::{Backend, STDLIB};
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let uri = params.text_document_position.text_document.uri;
    let Some(syntax) = server.syntax(&uri).await? else {
        return Ok(None);
    };
    let lines = syntax.lines();
    let offset = from_proto::offset(
        &lines,
        params.text_document_position.position,
        server.encoding(),
    );
    // Names come from this version of the document, and from the other files of the
    // deployment as last analysed (the stdlib when there is no analysis yet). Never
    // from an older version of this document.
    let others = server.last_analysis(&uri);
    let mut stmts: Vec<&kumoc_lang::ast::Stmt> = syntax.stmts().map(|(_, s)| s).collect();
    match &others {
        Some(snap) => {
            let own = snap.file_of(uri.as_str());
            for ((id, _), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
                if Some(id) != own {
                    stmts.extend(p.file.items.iter());
                }
            }
        }
        None => stmts.extend(STDLIB.iter().flat_map(|p| p.file.items.iter())),
    }
    let doc = |name: &str| {
        others
            .as_ref()
            .and_then(|s| presets::effective_shaping(&s.analysis, "provider", name))
    };
    let (target, _) = syntax.target_at(offset);
    let line = syntax
        .text
        .get(lines.line_start(offset) as usize..offset as usize)
        .unwrap_or("");
    let items = match (&target, completion::typed(line)) {
        // A `from` clause being written: its block does not parse yet.
        (Target::Body(_), Some(typed)) => {
            completion::presets(&stmts, typed == Typed::PresetPath, &doc)
        }
        _ => completion::complete(&target, &stmts, &doc),
    };
    Ok(Some(CompletionResponse::Array(
        items.into_iter().map(to_proto::completion_item).collect(),
    )))
}
