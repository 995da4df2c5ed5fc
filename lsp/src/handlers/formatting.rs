//! `textDocument/formatting`: `kumoc fmt` of the document (nothing when it has syntax
//! errors), as one edit.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::state::{Backend, blocking};
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: DocumentFormattingParams,
) -> Result<Option<Vec<TextEdit>>> {
    let Some(doc) = server.doc(&params.text_document.uri) else {
        return Ok(None);
    };
    let enc = server.encoding();
    blocking(move || {
        let text = doc.text.flat();
        let formatted = kumoc_lang::format::format(text).ok()?;
        if formatted == **text {
            return Some(Vec::new());
        }
        let lines = doc.lines();
        Some(vec![to_proto::replace_all(&lines, text, formatted, enc)])
    })
    .await
}
