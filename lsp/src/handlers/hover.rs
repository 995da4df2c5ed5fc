//! `textDocument/hover`: what a block or field means, a value's meaning, and on a
//! `provider` or `shaping` label, or a `from provider.NAME` clause, the preset's effective
//! settings and where each comes from (from the analysis).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::{hover, presets};
use crate::from_proto;
use crate::state::Backend;
use crate::to_proto;

pub async fn handle(server: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    let uri = params.text_document_position_params.text_document.uri;
    let Some(syntax) = server.syntax(&uri).await? else {
        return Ok(None);
    };
    let offset = from_proto::offset(
        &syntax.lines(),
        params.text_document_position_params.position,
        server.encoding(),
    );
    let (target, base) = syntax.target_at(offset);
    let md = match hover::preset_at(&target, offset - base) {
        Some((keyword, label)) => match server.snapshot(&uri).await? {
            Some(snap) => presets::effective_shaping(&snap.analysis, keyword, &label),
            None => None,
        },
        None => hover::syntax_hover(&target),
    };
    Ok(md.map(to_proto::hover))
}
