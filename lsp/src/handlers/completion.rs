//! `textDocument/completion`: from this version's syntax, with the names defined in the
//! other files of the deployment as last analysed (its summary). Never waits for an analysis; waits for
//! this version's syntax, which is re-parsed only where it changed.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::completion::{self, Typed};
use crate::features::summary;
use crate::features::target::Target;
use crate::state::Backend;
use crate::to_proto;
use crate::trace::trace;

pub async fn handle(
    server: &Backend,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let uri = params.text_document_position.text_document.uri;
    let _typing = server.typing();
    trace!("completion: start");
    let Some(syntax) = server.syntax(&uri).await? else {
        return Ok(None);
    };
    trace!("completion: syntax v{} ready", syntax.version);
    // On the text's chunks: nothing here reads the whole text.
    let offset = syntax
        .text
        .offset(params.text_document_position.position, server.encoding());
    // Names come from this version of the document, and from the other files of the
    // deployment as last analysed (the stdlib's before any analysis). Never from an older
    // version of this document.
    let summary = server.summary(&uri);
    let cx = completion::Context {
        own: &syntax.pieces,
        others: summary.as_deref().unwrap_or(&summary::STDLIB),
    };
    let (target, _) = syntax.target_at(u32::try_from(offset).unwrap_or(u32::MAX));
    let line = syntax.text.line_before(offset);
    let items = match (&target, completion::typed(&line)) {
        // A `from` clause being written: its block does not parse yet.
        (Target::Body(_), Some(typed)) => completion::presets(&cx, typed == Typed::PresetPath),
        _ => completion::complete(&target, &cx),
    };
    let items = items.into_iter().map(to_proto::completion_item).collect();
    trace!("completion: answered");
    Ok(Some(CompletionResponse::Array(items)))
}
