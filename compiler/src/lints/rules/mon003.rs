//! KUMO-MON003 keda-without-prometheus: queue-depth autoscaling without a Prometheus address.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};
use crate::model::AutoscaleOn;

declare_rule! {
    /// ## What it does
    /// Reports `autoscale { on = queue_depth }` without `prometheus`, the address of the
    /// Prometheus server KEDA's trigger queries.
    ///
    /// ## Why is this bad?
    /// KEDA's Prometheus scaler requires `serverAddress`: the ScaledObject is refused
    /// (`no serverAddress given`), KEDA creates no HPA, and the MTA never scales, while
    /// kumoc no longer emits the CPU HPA it replaces.
    ///
    /// ## Example
    /// ```kumo
    /// autoscale {
    ///   min = 3
    ///   max = 10
    ///   on  = queue_depth
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// autoscale {
    ///   min        = 3
    ///   max        = 10
    ///   on         = queue_depth
    ///   prometheus = "http://prometheus-operated.monitoring.svc:9090"
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// No fix: kumoc cannot know where Prometheus runs.
    ///
    /// ## References
    /// - <https://keda.sh/docs/latest/scalers/prometheus/>
    pub static RULE = {
        code: "KUMO-MON003",
        name: "keda-without-prometheus",
        severity: Error,
        since: "0.2.0",
        priority: "P0",
        summary: "Queue-depth autoscaling without the Prometheus server KEDA queries",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(a) = &cx.model.cluster.mta.autoscale else {
        return;
    };
    if a.on.value != AutoscaleOn::QueueDepth || a.prometheus.is_some() {
        return;
    }
    out.push(
        RULE.diagnostic(cx, "queue-depth autoscaling without a Prometheus server: KEDA refuses the ScaledObject", a.on.loc, "no `prometheus`")
            .with_help("set `prometheus = \"http://prometheus-operated.monitoring.svc:9090\"` (your Prometheus's in-cluster address) in this `autoscale` block"),
    );
}
