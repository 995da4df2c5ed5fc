//! `textDocument/completion`: from this version's syntax tree, with the names defined in
//! the other files of the deployment as last analysed. Never waits for an analysis.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::{completion, target};
use crate::from_proto;
use crate::state::{Backend, STDLIB};
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let uri = params.text_document_position.text_document.uri;
    let Some((doc, parsed)) = server.parsed(&uri).await? else {
        return Ok(None);
    };
    let offset = from_proto::offset(
        &doc.text,
        params.text_document_position.position,
        server.encoding(),
    );
    // Names come from this version of the document, and from the other files of the
    // deployment as last analysed (the stdlib when there is no analysis yet). Never
    // from an older version of this document.
    let others = server.last_analysis(&uri);
    let mut files: Vec<&[kumoc_lang::ast::Stmt]> = vec![parsed.items()];
    match &others {
        Some(snap) => {
            let own = snap.file_of(uri.as_str());
            for ((id, _), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
                if Some(id) != own {
                    files.push(&p.file.items);
                }
            }
        }
        None => files.extend(STDLIB.iter().map(|p| p.file.items.as_slice())),
    }
    let target = target::target_at(parsed.items(), offset);
    let items = completion::complete(&target, &files)
        .into_iter()
        .map(to_proto::completion_item)
        .collect();
    Ok(Some(CompletionResponse::Array(items)))
}
