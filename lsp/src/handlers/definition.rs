//! `textDocument/definition`: the block that defines the name under the cursor, in any
//! file of the deployment; on a `provider` or `shaping` block's name, the built-in preset
//! it merges over.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::navigation;
use crate::from_proto;
use crate::state::Backend;
use crate::to_proto;

pub async fn handle(
    server: &Backend,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let uri = params.text_document_position_params.text_document.uri;
    let Some(syntax) = server.syntax(&uri).await? else {
        return Ok(None);
    };
    let enc = server.encoding();
    let offset = from_proto::offset(
        &syntax.lines(),
        params.text_document_position_params.position,
        enc,
    );
    let (target, _) = syntax.target_at(offset);
    let (wanted, stdlib_only) = match navigation::reference_at(&target) {
        Some(name) => (name, false),
        None => match navigation::preset_block(&target) {
            Some(name) => (name, true),
            None => return Ok(None),
        },
    };
    drop(syntax);
    let Some(snap) = server.snapshot(&uri).await? else {
        return Ok(None);
    };
    let (keyword, name) = wanted;
    let files = to_proto::Files::new(&snap, enc);
    for ((id, file), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
        if stdlib_only && !file.is_stdlib {
            continue;
        }
        if let Some(b) = navigation::find_definition(&p.file.items, keyword, &name) {
            let span = b.label.as_ref().map_or(b.keyword.span, |l| l.span);
            if let Some(location) = files.location(id, span) {
                return Ok(Some(GotoDefinitionResponse::Scalar(location)));
            }
        }
    }
    Ok(None)
}
