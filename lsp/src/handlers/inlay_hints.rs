//! `textDocument/inlayHint`: rates per second and per-pod values across the MTA pods, for
//! the pieces in the requested range (the pod count and Redis from the last analysis, so
//! hints never wait for one).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::inlay_hints::{self, Pods};
use crate::from_proto;
use crate::state::{Backend, cancellable};
use crate::to_proto;

pub async fn handle(server: &Backend, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
    let uri = params.text_document.uri;
    let Some(syntax) = server.syntax(&uri).await? else {
        return Ok(None);
    };
    // The pods from the last analysis; the first one is waited for.
    let summary = match server.summary(&uri) {
        Some(summary) => Some(summary),
        None => {
            server.snapshot(&uri).await?;
            server.summary(&uri)
        }
    };
    let pods = summary.and_then(|s| s.pods).unwrap_or(Pods {
        min: 1,
        max: 1,
        shared: false,
    });
    let enc = server.encoding();
    let range = params.range;
    cancellable(move |cancel| {
        let lines = syntax.lines();
        let (from, to) = from_proto::offsets(&lines, range, enc);
        let mut out = Vec::new();
        for (base, piece) in syntax.overlapping(from, to) {
            if cancel.cancelled() {
                return None;
            }
            let Some(stmt) = &piece.stmt else { continue };
            for (at, label) in inlay_hints::hints(std::slice::from_ref(stmt), base, from, to, pods)
            {
                out.push(to_proto::inlay_hint(&lines, at, label, enc));
            }
        }
        Some(out)
    })
    .await
    .map(Some)
}
