//! KUMO-MON001 alert-cannot-fire: an alert threshold that no metric value can cross.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a threshold of `cluster { metrics { alerts { } } }` under which its alert can
    /// never fire:
    /// - `failure_ratio = 100%` or `transfail_ratio = 100%`: the alert fires *above* the
    ///   ratio, and no share of delivery attempts is above all of them;
    /// - `spool_free = 0%`: the alert fires *below* it, and free space is never negative;
    /// - `queue_stuck` at or above the longest `max_age` of the queues: every message has
    ///   expired (and bounced) before a pod could hold it that long.
    ///
    /// ## Why is this bad?
    /// An alert that cannot fire looks like protection and is none: the PrometheusRule is
    /// deployed, Prometheus evaluates it, and the failure it names goes unreported.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   metrics {
    ///     alerts { failure_ratio = 100% }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   metrics {
    ///     alerts { failure_ratio = 20% }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// No fix: which threshold was meant is yours to say.
    ///
    /// ## References
    /// - <https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/>
    /// - docs/metrics.md
    pub static RULE = {
        code: "KUMO-MON001",
        name: "alert-cannot-fire",
        severity: Warning,
        since: "0.2.0",
        priority: "P1",
        summary: "An alert threshold that no value of its metric can cross",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(a) = &cx.model.cluster.metrics.alerts else {
        return;
    };
    for (name, v) in [
        ("failure_ratio", &a.failure_ratio),
        ("transfail_ratio", &a.transfail_ratio),
    ] {
        if v.value >= 100 && !cx.is_stdlib(v.loc) {
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "`{name} = 100%` can never fire: no share of attempts is above all of them"
                    ),
                    v.loc,
                    "never exceeded",
                )
                .with_help("set the share above which the alert should fire, e.g. `20%`"),
            );
        }
    }
    if a.spool_free.value == 0 {
        out.push(
            RULE.diagnostic(
                cx,
                "`spool_free = 0%` can never fire: free space is never below 0%",
                a.spool_free.loc,
                "never undercut",
            )
            .with_help("KumoMTA refuses mail below 10% free: alert before that, e.g. `20%`"),
        );
    }
    if a.queue_stuck_written && a.queue_stuck_ms.value >= a.longest_max_age_ms {
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "`queue_stuck = {}` can never fire: every message expires after at most {}",
                    kumoc_lang::units::format_duration(a.queue_stuck_ms.value),
                    kumoc_lang::units::format_duration(a.longest_max_age_ms)
                ),
                a.queue_stuck_ms.loc,
                "longer than any max_age",
            )
            .with_help("set it below the queues' `max_age` (the default is half the longest), or leave it out"),
        );
    }
}
