//! `textDocument/semanticTokens/full`, `/full/delta` and `/range`: the tokens of this
//! version's syntax. A delta is computed against the tokens last sent for the document
//! (one edit: what lies between their common start and end); a range request looks only
//! at the pieces in the range.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::semantic_tokens::piece_tokens;
use crate::from_proto;
use crate::json::{self, Json};
use crate::state::{Backend, Cancel, blocking, cancellable, lock};
use crate::syntax::Syntax;
use crate::text::Encoding;
use crate::to_proto;

/// The encoded tokens of the pieces of `syntax` that overlap `from..=to`, only those that
/// overlap it; `None` if the request was cancelled.
fn tokens(
    syntax: &Syntax,
    from: u32,
    to: u32,
    enc: Encoding,
    cancel: &Cancel,
) -> Option<Vec<SemanticToken>> {
    let lines = syntax.lines();
    let mut encoder = to_proto::TokenEncoder::new();
    // One piece's tokens at a time.
    let mut some = Vec::new();
    for (base, piece) in syntax.overlapping(from, to) {
        if cancel.cancelled() {
            return None;
        }
        some.clear();
        piece_tokens(piece.stmt.as_ref(), &piece.comments, base, &mut some);
        some.retain(|&(start, end, _)| end >= from && start <= to);
        encoder.push(&some, &lines, enc);
    }
    let mut data = encoder.data;
    data.shrink_to_fit();
    Some(data)
}

/// Remember the tokens sent for `uri`, under a new result id.
fn remember(server: &Backend, uri: &Uri, data: Arc<Vec<SemanticToken>>) -> String {
    let mut st = lock(&server.inner);
    st.results += 1;
    let id = st.results.to_string();
    st.tokens
        .insert(uri.as_str().to_string(), (id.clone(), data));
    id
}

async fn full_tokens(server: &Backend, uri: &Uri) -> Result<Option<Arc<Vec<SemanticToken>>>> {
    let Some(syntax) = server.syntax(uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let data = cancellable(move |cancel| tokens(&syntax, 0, u32::MAX, enc, cancel)).await?;
    Ok(Some(Arc::new(data)))
}

/// The tokens of the whole document, written as JSON on the blocking pool (the transport
/// frames the text as it is: 3 MB for 10,000 domains).
pub async fn full(server: &Backend, params: SemanticTokensParams) -> Result<Json> {
    let uri = params.text_document.uri;
    let Some(data) = full_tokens(server, &uri).await? else {
        return Ok(Json::null());
    };
    let result_id = remember(server, &uri, Arc::clone(&data));
    blocking(move || json::semantic_tokens(&data, &result_id)).await?
}

pub async fn delta(
    server: &Backend,
    params: SemanticTokensDeltaParams,
) -> Result<Option<SemanticTokensFullDeltaResult>> {
    let uri = params.text_document.uri;
    let Some(data) = full_tokens(server, &uri).await? else {
        return Ok(None);
    };
    let previous = lock(&server.inner)
        .tokens
        .get(uri.as_str())
        .filter(|(id, _)| *id == params.previous_result_id)
        .map(|(_, data)| Arc::clone(data));
    let result_id = remember(server, &uri, Arc::clone(&data));
    Ok(Some(match previous {
        Some(old) => SemanticTokensFullDeltaResult::TokensDelta(SemanticTokensDelta {
            result_id: Some(result_id),
            edits: to_proto::semantic_tokens_edits(&old, &data),
        }),
        None => SemanticTokensFullDeltaResult::Tokens(SemanticTokens {
            result_id: Some(result_id),
            data: data.to_vec(),
        }),
    }))
}

pub async fn range(
    server: &Backend,
    params: SemanticTokensRangeParams,
) -> Result<Option<SemanticTokensRangeResult>> {
    let Some(syntax) = server.syntax(&params.text_document.uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let range = params.range;
    let data = cancellable(move |cancel| {
        let lines = syntax.lines();
        let (from, to) = from_proto::offsets(&lines, range, enc);
        tokens(&syntax, from, to, enc, cancel)
    })
    .await?;
    Ok(Some(SemanticTokensRangeResult::Tokens(SemanticTokens {
        result_id: None,
        data,
    })))
}
