//! The KEDA ScaledObject (`keda.sh/v1alpha1`) of `autoscale { on = queue_depth }`: it
//! replaces the CPU HPA (KEDA creates and owns an HPA of its own), scaling the MTA
//! StatefulSet on the messages queued per pod, read from Prometheus with the same PromQL as
//! the alerts and the dashboard. The scale-in care is the HPA's: scaling down is disabled,
//! because a removed pod's spool volume keeps its queued mail (drain it first, then scale
//! down by hand).

use serde_json::{Value, json};

use super::Ctx;
use super::common::meta;
use super::promql::Sel;
use crate::model::Autoscale;

/// Seconds, as KEDA's integer fields take them (at least 1).
fn secs(ms: u64) -> u64 {
    (ms / 1000).max(1)
}

pub(super) fn scaled_object(cx: &Ctx<'_>, a: &Autoscale) -> Value {
    let s = Sel::new(&cx.n.mta_headless, &cx.d.namespace.value);
    let server = a
        .prometheus
        .as_ref()
        .map(|p| p.value.clone())
        .unwrap_or_default();
    let mut triggers = vec![json!({
        "type": "prometheus",
        "name": "queued-messages",
        // AverageValue: KEDA divides the total by the pods, so `threshold` is per pod.
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": server,
            "query": s.queued(""),
            "threshold": a.queue_depth.to_string(),
        },
    })];
    // `cpu` and `memory` targets of the same block become KEDA's resource triggers: KEDA's
    // HPA scales on the highest of all (an `env` overlay that switches to `queue_depth`
    // keeps the CPU target it cannot remove).
    for (kind, pct) in [("cpu", a.cpu_percent), ("memory", a.memory_percent)] {
        if let Some(p) = pct {
            triggers.push(json!({
                "type": kind,
                "metricType": "Utilization",
                "metadata": { "value": p.to_string() },
            }));
        }
    }
    json!({
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "StatefulSet", "name": cx.n.mta },
            "minReplicaCount": a.min,
            "maxReplicaCount": a.max,
            "pollingInterval": secs(a.polling_interval_ms),
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": { "scaleDown": { "selectPolicy": "Disabled" } },
                },
            },
            "triggers": triggers,
        },
    })
}
