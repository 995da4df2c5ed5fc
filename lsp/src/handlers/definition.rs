//! `textDocument/definition`: the block that defines the name under the cursor, in any
//! file of the deployment (the stdlib's presets included).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::{navigation, target};
use crate::from_proto;
use crate::state::Backend;
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
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
    let Some((keyword, name)) =
        navigation::reference_at(&target::target_at(parsed.items(), offset))
    else {
        return Ok(None);
    };
    let Some(snap) = server.snapshot(&uri).await? else {
        return Ok(None);
    };
    for ((id, _), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
        if let Some(b) = navigation::find_definition(&p.file.items, keyword, &name) {
            let span = b.label.as_ref().map_or(b.keyword.span, |l| l.span);
            if let Some(location) = to_proto::location(&snap, id, span, enc) {
                return Ok(Some(GotoDefinitionResponse::Scalar(location)));
            }
        }
    }
    Ok(None)
}
