//! `textDocument/inlayHint`: per-second rates and per-pod limits across the MTA pods, for
//! the requested range (the pod count and Redis from the analysis).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::features::inlay_hints::{self, Pods};
use crate::state::{Backend, blocking};
use crate::text::Lines;
use crate::to_proto;

pub async fn handle(server: &Backend, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
    let uri = params.text_document.uri;
    let Some((doc, parsed)) = server.parsed(&uri).await? else {
        return Ok(None);
    };
    let Some(snap) = server.snapshot(&uri).await? else {
        return Ok(None);
    };
    let model = snap.analysis.model.as_ref();
    let pods = Pods {
        count: model.map_or(1, |m| {
            m.cluster
                .mta
                .autoscale
                .as_ref()
                .map_or(m.cluster.mta.replicas.value, |a| a.max)
        }),
        shared: model.is_some_and(|m| m.cluster.redis.is_some()),
    };
    drop(snap);
    let enc = server.encoding();
    let range = params.range;
    blocking(move || {
        let lines = Lines::new(&doc.text);
        let (from, to) = (lines.offset(range.start, enc), lines.offset(range.end, enc));
        inlay_hints::hints(parsed.items(), from, to, pods)
            .into_iter()
            .map(|(at, label)| to_proto::inlay_hint(&lines, at, label, enc))
            .collect()
    })
    .await
    .map(Some)
}
