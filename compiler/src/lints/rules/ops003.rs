//! KUMO-OPS003 throttles-not-shared: several MTA pods without shared (Redis) throttles.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports more than one MTA pod (`replicas > 1`, or an autoscaler whose `max` is above
    /// 1) without `cluster { redis { } }`.
    ///
    /// ## Why is this bad?
    /// Every MTA pod sends from the same sources, and KumoMTA enforces throttles
    /// (`max_message_rate`, `max_connection_rate`) and connection limits per process unless
    /// `configure_redis_throttles` makes them shared. With N pods each pod allows the full
    /// limit, so destinations see N times the rate and N times the connections you wrote,
    /// which is how an IP gets deferred or blocked by a provider whose published limits you
    /// were carefully following. The number changes as the autoscaler adds pods.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta { replicas = 3 }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   mta { replicas = 3 }
    ///   redis { url = "redis://dragonfly.dragonflydb.svc.cluster.local:6379" }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: kumoc cannot know where your Redis or Dragonfly runs.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/clustering/throttles/>
    /// - <https://docs.kumomta.com/reference/kumo/configure_redis_throttles/>
    /// - <https://docs.kumomta.com/faq/shared_throttles_in_cluster/>
    pub static RULE = {
        code: "KUMO-OPS003",
        name: "throttles-not-shared",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "Several MTA pods without shared Redis throttles: each enforces the full limits",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let c = &cx.model.cluster;
    if c.redis.is_some() {
        return;
    }
    let mta = &c.mta;
    let (pods, at, label) = match &mta.autoscale {
        Some(a) if a.max > 1 => (a.max, a.loc, format!("up to {} pods", a.max)),
        _ if mta.replicas.value > 1 => (
            mta.replicas.value,
            mta.replicas.loc,
            format!("{} pods", mta.replicas.value),
        ),
        _ => return,
    };
    if cx.is_stdlib(at) {
        return;
    }
    out.push(
        RULE.diagnostic(cx, format!("{pods} MTA pods without shared throttles: each allows the full rate and connection limits"), at, label)
            .with_help("share throttles and limits through Redis or Dragonfly: `cluster { redis { url = \"redis://...\" } }`"),
    );
}
