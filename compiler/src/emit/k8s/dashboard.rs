//! The Grafana dashboard of `cluster { metrics { dashboard { } } }`: a ConfigMap labelled
//! `grafana_dashboard: "1"`, which the Grafana Helm chart's sidecar loads, holding the
//! dashboard's JSON. Every panel's PromQL comes from `promql.rs`, over the metrics of
//! `crate::metrics`, so the dashboard plots what the alerts and KEDA read.

use kumoc_lang::units::Feature;
use serde_json::{Value, json};

use super::Ctx;
use super::common::meta;
use super::promql::Sel;
use crate::metrics::{
    self, CONNECTIONS, DELIVERED, FAIL, READY_COUNT, RECEIVED, REDIS_OPERATION_LATENCY,
    SCHEDULED_COUNT, TRANSFAIL,
};
use crate::model::Dashboard;

/// Grafana's range variable in the panels' rates.
const RATE_INTERVAL: &str = "$__rate_interval";

/// One panel: a title, its unit and its queries (expression, legend).
struct Panel {
    title: &'static str,
    unit: &'static str,
    targets: Vec<(String, &'static str)>,
}

fn panels(cx: &Ctx<'_>) -> Vec<Panel> {
    let s = Sel::new(&cx.n.mta_headless, &cx.d.namespace.value);
    let rollup = |m: &metrics::Metric, service: &str| {
        format!(
            "sum by (pod) (rate({}[{RATE_INTERVAL}]))",
            s.series(m, &format!("service=\"{service}\""))
        )
    };
    let smtp = metrics::SERVICE_SMTP_CLIENT;
    let mut out = vec![
        Panel {
            title: "Queued messages per pod (scheduled + ready)",
            unit: "short",
            targets: vec![(s.queued("pod"), "{{pod}}")],
        },
        Panel {
            title: "Scheduled queues (top 20)",
            unit: "short",
            targets: vec![(
                format!(
                    "topk(20, sum by (queue) ({}))",
                    s.series(&SCHEDULED_COUNT, "")
                ),
                "{{queue}}",
            )],
        },
        Panel {
            title: "Ready queues (top 20)",
            unit: "short",
            targets: vec![(
                format!(
                    "topk(20, sum by (service) ({}))",
                    s.series(
                        &READY_COUNT,
                        &format!("service=~\"{}\"", metrics::SERVICE_PER_QUEUE)
                    )
                ),
                "{{service}}",
            )],
        },
        Panel {
            title: "Delivery outcomes",
            unit: "ops",
            targets: vec![
                (rollup(&DELIVERED, smtp), "delivered {{pod}}"),
                (rollup(&TRANSFAIL, smtp), "transient failure {{pod}}"),
                (rollup(&FAIL, smtp), "permanent failure {{pod}}"),
            ],
        },
        Panel {
            title: "Received",
            unit: "ops",
            targets: vec![(
                rollup(&RECEIVED, metrics::SERVICE_ESMTP_LISTENER),
                "{{pod}}",
            )],
        },
        Panel {
            title: "Failure ratios",
            unit: "percentunit",
            targets: vec![
                (s.outcome_ratio(&FAIL, RATE_INTERVAL), "permanent {{pod}}"),
                (
                    s.outcome_ratio(&TRANSFAIL, RATE_INTERVAL),
                    "transient {{pod}}",
                ),
            ],
        },
        Panel {
            title: "Connections",
            unit: "short",
            targets: vec![(
                format!(
                    "sum by (pod, service) ({})",
                    s.series(
                        &CONNECTIONS,
                        &format!("service=~\"{smtp}|{}\"", metrics::SERVICE_ESMTP_LISTENER)
                    )
                ),
                "{{service}} {{pod}}",
            )],
        },
        Panel {
            title: "Free space or inodes (lower of the two)",
            unit: "percent",
            targets: vec![(s.disk_free(), "{{name}} {{pod}}")],
        },
    ];
    if cx.d.cluster.redis.is_some() && cx.d.version.value.supports(Feature::RedisOperationMetrics) {
        out.push(Panel {
            title: "Redis operation errors",
            unit: "ops",
            targets: vec![(
                format!(
                    "sum by (pod, operation) (rate({}[{RATE_INTERVAL}]))",
                    s.count(&REDIS_OPERATION_LATENCY, "status=\"error\"")
                ),
                "{{operation}} {{pod}}",
            )],
        });
    }
    out
}

/// The dashboard's JSON model.
pub(super) fn dashboard_json(cx: &Ctx<'_>, dash: &Dashboard) -> Value {
    let title = if dash.title.is_empty() {
        format!("KumoMTA {}", cx.d.name.value)
    } else {
        dash.title.clone()
    };
    let datasource = json!({ "type": "prometheus", "uid": "${datasource}" });
    let panels: Vec<Value> = panels(cx)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let targets: Vec<Value> = p
                .targets
                .into_iter()
                .enumerate()
                .map(|(j, (expr, legend))| {
                    json!({
                        "datasource": datasource,
                        "expr": expr,
                        "legendFormat": legend,
                        "refId": char::from(b'A' + u8::try_from(j).unwrap_or(0)).to_string(),
                    })
                })
                .collect();
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": p.title,
                "datasource": datasource,
                "gridPos": { "h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8 },
                "fieldConfig": { "defaults": { "unit": p.unit }, "overrides": [] },
                "targets": targets,
            })
        })
        .collect();
    json!({
        "uid": uid(&cx.d.name.value),
        "title": title,
        "tags": ["kumomta", "kumoc"],
        "timezone": "utc",
        "schemaVersion": 39,
        "editable": false,
        "time": { "from": "now-6h", "to": "now" },
        "refresh": "1m",
        "templating": { "list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
        }] },
        "panels": panels,
    })
}

/// A dashboard uid (at most 40 characters): stable for a deployment, so Grafana updates the
/// same dashboard on every build.
fn uid(name: &str) -> String {
    let uid = format!("kumoc-{name}");
    uid.chars().take(40).collect()
}

pub(super) fn config_map(cx: &Ctx<'_>, dash: &Dashboard) -> Value {
    let mut m = meta(cx, &format!("{}-dashboard", cx.n.mta), "mta");
    if let Some(l) = m.get_mut("labels").and_then(Value::as_object_mut) {
        l.insert("grafana_dashboard".into(), json!("1"));
    }
    if let (Some(folder), Some(o)) = (&dash.folder, m.as_object_mut()) {
        o.insert("annotations".into(), json!({ "grafana_folder": folder }));
    }
    let text = serde_json::to_string_pretty(&dashboard_json(cx, dash)).unwrap_or_default();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": m,
        "data": { format!("{}.json", cx.d.name.value): text },
    })
}
