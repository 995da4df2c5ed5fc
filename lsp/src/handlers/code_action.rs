//! `textDocument/codeAction`: the quick fixes of the diagnostics in the range.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::code_actions;
use crate::from_proto;
use crate::state::Backend;
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let Some(doc) = server.doc(&uri) else {
        return Ok(None);
    };
    let enc = server.encoding();
    let Some(snap) = server.snapshot(&uri).await? else {
        return Ok(None);
    };
    // After the analysis, which made the document's text in one piece and its line
    // index when it is of this version.
    let (start, end) = from_proto::offsets(&doc.lines(), params.range, enc);
    let Some(file) = snap.file_of(uri.as_str()) else {
        return Ok(None);
    };
    let files = to_proto::Files::new(&snap, enc);
    Ok(Some(
        code_actions::fixable(&snap.analysis, file, start, end)
            .into_iter()
            .filter_map(|d| to_proto::code_action(d, &files))
            .collect(),
    ))
}
