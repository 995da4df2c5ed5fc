//! The PrometheusRule (prometheus-operator, `monitoring.coreos.com/v1`) of
//! `cluster { metrics { alerts { } } }`: one recording rule (the queued messages per pod)
//! and the alerts, each threshold from the model (defaults from the schema, `queue_stuck`
//! from the queues' `max_age`).

use kumoc_lang::units::{Feature, format_duration};
use serde_json::{Value, json};

use super::Ctx;
use super::common::meta;
use super::promql::{QUEUED_RECORD, RATE_WINDOW, Sel};
use crate::metrics::{FAIL, REDIS_OPERATION_LATENCY, RESTARTS, STS_READY, TRANSFAIL, UP};
use crate::model::Alerts;

/// The MTA's series, as the ServiceMonitor's targets label them.
pub(super) fn selector(cx: &Ctx<'_>) -> Sel {
    Sel::new(&cx.n.mta_headless, &cx.d.namespace.value)
}

fn alert(
    name: &str,
    expr: String,
    for_: Option<u64>,
    severity: &str,
    summary: &str,
    description: String,
) -> Value {
    let mut rule = json!({
        "alert": name,
        "expr": expr,
        "labels": { "severity": severity },
        "annotations": { "summary": summary, "description": description },
    });
    if let (Some(ms), Some(m)) = (for_, rule.as_object_mut()) {
        m.insert("for".into(), json!(format_duration(ms)));
    }
    rule
}

/// A ratio as PromQL compares it (`10%` → `0.1`).
fn ratio(pct: u8) -> String {
    match pct {
        100 => "1".to_string(),
        p if p % 10 == 0 => format!("0.{}", p / 10),
        p => format!("0.{p:02}"),
    }
}

/// The rule groups (what `promtool check rules` reads, under `groups:`).
pub(super) fn groups(cx: &Ctx<'_>, a: &Alerts) -> Value {
    let d = cx.d;
    let s = selector(cx);
    let ns = &d.namespace.value;
    let for_ = Some(a.for_ms);
    let prefix = &d.name.value;
    let mut alerts = vec![
        alert(
            "KumoMtaDown",
            format!("{} == 0", s.series(&UP, "")),
            for_,
            "critical",
            "Prometheus cannot scrape a KumoMTA pod",
            "{{ $labels.pod }}: the last scrapes of /metrics failed: the pod is down, or the metrics listener refuses the scraper.".into(),
        ),
        alert(
            "KumoQueueGrowing",
            format!(
                "delta({QUEUED_RECORD}{{namespace=\"{ns}\",job=\"{}\"}}[{}]) > {}",
                cx.n.mta_headless,
                format_duration(a.queue_growth_window_ms),
                a.queue_growth
            ),
            for_,
            "warning",
            "The queue of a KumoMTA pod keeps growing",
            format!(
                "{{{{ $labels.pod }}}}: {{{{ $value }}}} more queued messages than {} ago (threshold {}).",
                format_duration(a.queue_growth_window_ms),
                a.queue_growth
            ),
        ),
        alert(
            "KumoQueueStuck",
            format!(
                "{QUEUED_RECORD}{{namespace=\"{ns}\",job=\"{}\"}} > 0 unless on (namespace, pod) ({} > 0)",
                cx.n.mta_headless,
                s.delivery_rate(&crate::metrics::DELIVERED, RATE_WINDOW)
            ),
            Some(a.queue_stuck_ms.value),
            "critical",
            "A KumoMTA pod holds queued mail and delivers none",
            "{{ $labels.pod }}: {{ $value }} messages queued and no delivery for as long as the alert waits (`for`): mail may expire (max_age) before it is delivered.".into(),
        ),
        alert(
            "KumoDeliveryFailures",
            format!(
                "{} > {}",
                s.outcome_ratio(&FAIL, RATE_WINDOW),
                ratio(a.failure_ratio.value)
            ),
            for_,
            "warning",
            "Many permanent delivery failures",
            format!(
                "{{{{ $labels.pod }}}}: {{{{ $value | humanizePercentage }}}} of delivery attempts failed permanently (threshold {}%).",
                a.failure_ratio.value
            ),
        ),
        alert(
            "KumoDeliveryTransientFailures",
            format!(
                "{} > {}",
                s.outcome_ratio(&TRANSFAIL, RATE_WINDOW),
                ratio(a.transfail_ratio.value)
            ),
            for_,
            "warning",
            "Many transient delivery failures",
            format!(
                "{{{{ $labels.pod }}}}: {{{{ $value | humanizePercentage }}}} of delivery attempts failed transiently (threshold {}%): throttling, blocks or an unreachable destination.",
                a.transfail_ratio.value
            ),
        ),
        alert(
            "KumoDiskLow",
            format!("{} < {}", s.disk_free(), a.spool_free.value),
            for_,
            "critical",
            "A KumoMTA volume is nearly full",
            format!(
                "{{{{ $labels.pod }}}}: {{{{ $labels.name }}}} has {{{{ $value }}}}% free space or inodes (threshold {}%; KumoMTA refuses mail below 10%).",
                a.spool_free.value
            ),
        ),
    ];
    let mut pods = vec![format!("{}-[0-9]+", cx.n.mta)];
    if let Some(tsa) = &d.cluster.tsa {
        pods.push(format!("{}-[0-9]+", cx.n.tsa));
        alerts.push(alert(
            "KumoTsaUnavailable",
            format!(
                "{}{{namespace=\"{ns}\",statefulset=\"{}\"}} < {}",
                STS_READY.name, cx.n.tsa, tsa.replicas.value
            ),
            for_,
            "critical",
            "A TSA replica is not ready",
            format!(
                "{{{{ $value }}}} of {} TSA replicas ready: the MTAs publish to every replica, so automation misses what the others do not see.",
                tsa.replicas.value
            ),
        ));
    }
    if d.cluster.sink.enabled.value {
        pods.push(format!("{}-.+", cx.n.sink));
    }
    if d.cluster.redis.is_some() && d.version.value.supports(Feature::RedisOperationMetrics) {
        alerts.push(alert(
            "KumoRedisErrors",
            format!(
                "sum by (namespace, pod) (rate({}[{RATE_WINDOW}])) > 0",
                s.count(&REDIS_OPERATION_LATENCY, "status=\"error\"")
            ),
            for_,
            "critical",
            "Redis operations fail",
            "{{ $labels.pod }}: {{ $value }} failed Redis operations per second: shared throttles and connection limits cannot be enforced across pods.".into(),
        ));
    }
    alerts.push(alert(
        "KumoPodRestarting",
        format!(
            "increase({}{{namespace=\"{ns}\",pod=~\"{}\"}}[1h]) > {}",
            RESTARTS.name,
            pods.join("|"),
            a.restarts
        ),
        None,
        "warning",
        "A KumoMTA pod keeps restarting",
        format!(
            "{{{{ $labels.pod }}}}/{{{{ $labels.container }}}} restarted {{{{ $value }}}} times in an hour (threshold {}).",
            a.restarts
        ),
    ));
    json!([
        {
            "name": format!("{prefix}.kumomta.records"),
            "rules": [{ "record": QUEUED_RECORD, "expr": s.queued("namespace, job, pod") }],
        },
        { "name": format!("{prefix}.kumomta.alerts"), "rules": alerts },
    ])
}

pub(super) fn prometheus_rule(cx: &Ctx<'_>, a: &Alerts) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": { "groups": groups(cx, a) },
    })
}

/// The rule's YAML with the place `queue_stuck` derives from as a comment on the
/// `KumoQueueStuck` rule's `for:` line (a change to that `max_age` then changes only lines
/// that name it).
pub(super) fn with_derivation(yaml: String, from: Option<&str>) -> String {
    let Some(place) = from else {
        return yaml;
    };
    let mut out = String::with_capacity(yaml.len() + place.len() + 32);
    let mut in_stuck = false;
    for line in yaml.lines() {
        out.push_str(line);
        let t = line.trim_start();
        if t.starts_with("- alert:") || t.starts_with("- record:") || t.starts_with("- expr:") {
            in_stuck = t == "- alert: KumoQueueStuck";
        }
        if in_stuck && t.starts_with("for: ") {
            out.push_str(&format!(" # half the longest max_age: {place}"));
            in_stuck = false;
        }
        out.push('\n');
    }
    out
}
