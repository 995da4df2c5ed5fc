//! `textDocument/hover`: what a block or field means, a value's meaning, and on a
//! `provider` or `shaping` label the preset's effective settings (from the analysis).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::{hover, presets, target};
use crate::from_proto;
use crate::state::Backend;
use crate::to_proto;

pub async fn handle(server: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    let uri = params.text_document_position_params.text_document.uri;
    let Some((doc, parsed)) = server.parsed(&uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let offset = from_proto::offset(
        &doc.text,
        params.text_document_position_params.position,
        enc,
    );
    let target = target::target_at(parsed.items(), offset);
    let md = match hover::preset_at(&target) {
        Some((keyword, label)) => match server.snapshot(&uri).await? {
            Some(snap) => presets::effective_shaping(&snap.analysis, keyword, &label),
            None => None,
        },
        None => hover::syntax_hover(&target),
    };
    Ok(md.map(to_proto::hover))
}
