//! KUMO-MON002 observability-without-metrics: alerts, a dashboard or queue-depth scaling over
//! metrics nothing scrapes.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::AutoscaleOn;

declare_rule! {
    /// ## What it does
    /// Reports alerts (`metrics { alerts { } }`), a dashboard (`metrics { dashboard { } }`)
    /// or queue-depth autoscaling (`autoscale { on = queue_depth }`) when the MTA's metrics
    /// are off (`metrics { enabled = false }`) or no ServiceMonitor has Prometheus scrape
    /// them (`service_monitor = false`, the default).
    ///
    /// ## Why is this bad?
    /// Every alert, panel and the KEDA trigger read the series kumoc's ServiceMonitor
    /// makes Prometheus collect, under its `job` and with KumoMTA's `service` label kept
    /// (`honorLabels`). Without it the queries return nothing: the alerts never fire, the
    /// panels stay empty, and KEDA sees no queue (its trigger errors, and the MTA never
    /// scales out).
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   metrics {
    ///     service_monitor = false
    ///     alerts { }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   metrics {
    ///     service_monitor = true
    ///     alerts { }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When `service_monitor = false` is written, the fix sets it to `true`. It is unsafe:
    /// the ServiceMonitor kind exists only where the prometheus-operator is installed.
    ///
    /// ## References
    /// - docs/metrics.md
    /// - <https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.Endpoint> (`honorLabels`)
    pub static RULE = {
        code: "KUMO-MON002",
        name: "observability-without-metrics",
        severity: Warning,
        since: "0.2.0",
        priority: "P0",
        summary: "Alerts, a dashboard or queue-depth scaling over metrics that nothing scrapes",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let metrics = &m.cluster.metrics;
    let keda = m
        .cluster
        .mta
        .autoscale
        .as_ref()
        .filter(|a| a.on.value == AutoscaleOn::QueueDepth);
    let users: Vec<(&str, crate::source::Loc)> = [
        metrics.alerts.as_ref().map(|a| ("alerts", a.loc)),
        metrics.dashboard.as_ref().map(|d| ("the dashboard", d.loc)),
        keda.map(|a| ("queue-depth autoscaling", a.on.loc)),
    ]
    .into_iter()
    .flatten()
    .filter(|(_, loc)| !cx.is_stdlib(*loc))
    .collect();
    let Some((what, at)) = users.first().copied() else {
        return;
    };
    if !metrics.enabled {
        let written = util::find_written(cx, &["cluster", "metrics"], "enabled");
        out.push(
            RULE.diagnostic(cx, format!("{what} would read the MTA's metrics, which are off"), written.map_or(at, |w| w.loc), "metrics off")
                .with_help("remove `enabled = false` from `cluster { metrics { } }`, or the alerts, dashboard and queue-depth scaling"),
        );
        return;
    }
    if metrics.service_monitor {
        return;
    }
    let written = util::find_written(cx, &["cluster", "metrics"], "service_monitor")
        .filter(|w| cx.text(w.loc) == "false");
    let d = RULE
        .diagnostic(
            cx,
            format!("{what} would read metrics that no ServiceMonitor has Prometheus scrape"),
            at,
            "no ServiceMonitor",
        )
        .with_help(
            "set `cluster { metrics { service_monitor = true } }` (needs the prometheus-operator)",
        );
    out.push(match written {
        Some(w) => d.with_fix(
            "emit a ServiceMonitor",
            Applicability::Unsafe,
            vec![Edit {
                loc: w.loc,
                replacement: "true".to_string(),
            }],
        ),
        None => d,
    });
}
