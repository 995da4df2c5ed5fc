//! `textDocument/semanticTokens/full`: the tokens of this version's syntax tree.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::semantic_tokens;
use crate::state::{Backend, blocking};
use crate::text::Lines;
use crate::to_proto;

pub async fn full(
    server: &Backend,
    params: SemanticTokensParams,
) -> Result<Option<SemanticTokensResult>> {
    let Some((doc, parsed)) = server.parsed(&params.text_document.uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let data = blocking(move || {
        let tokens = semantic_tokens::semantic_tokens(&parsed.get().file);
        to_proto::semantic_tokens(&tokens, &Lines::new(&doc.text), enc)
    })
    .await?;
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
        result_id: None,
        data,
    })))
}
