//! `textDocument/documentSymbol`: the outline of this version's syntax tree.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::symbols;
use crate::state::{Backend, blocking};
use crate::text::Lines;
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let Some((doc, parsed)) = server.parsed(&params.text_document.uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let symbols = blocking(move || {
        to_proto::document_symbols(
            symbols::symbols(parsed.items()),
            &Lines::new(&doc.text),
            enc,
        )
    })
    .await?;
    Ok(Some(DocumentSymbolResponse::Nested(symbols)))
}
