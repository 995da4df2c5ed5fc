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
    let snap = match server.last_analysis(&uri) {
        Some(snap) => Some(snap),
        None => server.snapshot(&uri).await?,
    };
    let model = snap.as_ref().and_then(|s| s.analysis.model.as_ref());
    let pods = match model {
        Some(m) => {
            let replicas = m.cluster.mta.replicas.value;
            let (min, max) = m
                .cluster
                .mta
                .autoscale
                .as_ref()
                .map_or((replicas, replicas), |a| (a.min, a.max));
            Pods {
                min,
                max,
                shared: m.cluster.redis.is_some(),
            }
        }
        None => Pods {
            min: 1,
            max: 1,
            shared: false,
        },
    };
    drop(snap);
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
