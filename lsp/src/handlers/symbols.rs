//! `textDocument/documentSymbol`: the outline of this version's syntax, written as JSON as
//! each top-level block's symbols are made (on the blocking pool; the transport frames the
//! text as it is). When the client gives a `partialResultToken`, the outline is sent in
//! pages of top-level blocks (`$/progress`), the first as soon as it is ready, and the
//! response is empty.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::*;

use crate::features::symbols;
use crate::json::{Json, JsonArray};
use crate::state::{Backend, Cancel, cancellable};
use crate::syntax::Syntax;
use crate::text::Encoding;
use crate::to_proto;

/// Top-level blocks per page of a paged outline.
const PAGE: usize = 1000;

/// `$/progress` carrying a page of a partial result (its value is the page itself).
enum PartialResult {}

impl Notification for PartialResult {
    type Params = serde_json::Value;
    const METHOD: &'static str = "$/progress";
}

/// The outline of the top-level pieces `pieces` of `syntax`, one block's symbols at a
/// time; `None` if the request was cancelled.
fn outline(
    syntax: &Syntax,
    pieces: impl Iterator<Item = usize>,
    enc: Encoding,
    cancel: &Cancel,
    mut each: impl FnMut(DocumentSymbol) -> Result<()>,
) -> Option<Result<()>> {
    let lines = syntax.lines();
    for i in pieces {
        if cancel.cancelled() {
            return None;
        }
        let Some((base, piece)) = syntax.pieces.get(i) else {
            continue;
        };
        let Some(stmt) = &piece.stmt else { continue };
        let block = symbols::symbols(std::slice::from_ref(stmt), base);
        for symbol in to_proto::document_symbols(block, &lines, enc) {
            if let Err(e) = each(symbol) {
                return Some(Err(e));
            }
        }
    }
    Some(Ok(()))
}

pub async fn handle(server: &Backend, params: DocumentSymbolParams) -> Result<Json> {
    let Some(syntax) = server.syntax(&params.text_document.uri).await? else {
        return Ok(Json::null());
    };
    let enc = server.encoding();
    let count = syntax.pieces.len();
    let Some(token) = params.partial_result_params.partial_result_token else {
        return cancellable(move |cancel| {
            let mut out = JsonArray::new();
            let written = outline(&syntax, 0..count, enc, cancel, |s| out.push_symbol(&s))?;
            Some(written.map(|()| out.finish()))
        })
        .await?;
    };
    for from in (0..count).step_by(PAGE) {
        let syntax = syntax.clone();
        let page = cancellable(move |cancel| {
            let mut page = Vec::new();
            let to = count.min(from + PAGE);
            let written = outline(&syntax, from..to, enc, cancel, |s| {
                page.push(s);
                Ok(())
            })?;
            Some(written.map(|()| page))
        })
        .await??;
        server
            .client
            .send_notification::<PartialResult>(
                serde_json::json!({ "token": token, "value": page }),
            )
            .await;
    }
    Ok(JsonArray::new().finish())
}
