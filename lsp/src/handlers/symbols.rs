//! `textDocument/documentSymbol`: the outline of this version's syntax. When the client
//! gives a `partialResultToken`, the outline is sent in pages of top-level blocks
//! (`$/progress`), the first as soon as it is ready, and the response is empty.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::*;

use crate::features::symbols;
use crate::state::{Backend, cancellable};
use crate::to_proto;

/// Top-level blocks per page of a paged outline.
const PAGE: usize = 1000;

/// `$/progress` carrying a page of a partial result (its value is the page itself).
enum PartialResult {}

impl Notification for PartialResult {
    type Params = serde_json::Value;
    const METHOD: &'static str = "$/progress";
}

pub async fn handle(
    server: &Backend,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let Some(syntax) = server.syntax(&params.text_document.uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let pieces: Vec<usize> = (0..syntax.pieces.len()).collect();
    let pages: Vec<Vec<usize>> = match &params.partial_result_params.partial_result_token {
        Some(_) => pieces.chunks(PAGE).map(<[usize]>::to_vec).collect(),
        None => vec![pieces],
    };
    let mut all = Vec::new();
    for page in pages {
        let syntax = syntax.clone();
        let symbols = cancellable(move |cancel| {
            let lines = syntax.lines();
            let mut out = Vec::new();
            for i in page {
                if cancel.cancelled() {
                    return None;
                }
                let Some((base, piece)) = syntax.pieces.get(i) else {
                    continue;
                };
                let Some(stmt) = &piece.stmt else { continue };
                out.extend(to_proto::document_symbols(
                    symbols::symbols(std::slice::from_ref(stmt), base),
                    &lines,
                    enc,
                ));
            }
            Some(out)
        })
        .await?;
        match &params.partial_result_params.partial_result_token {
            Some(token) => {
                server
                    .client
                    .send_notification::<PartialResult>(
                        serde_json::json!({ "token": token, "value": symbols }),
                    )
                    .await;
            }
            None => all = symbols,
        }
    }
    Ok(Some(DocumentSymbolResponse::Nested(all)))
}
