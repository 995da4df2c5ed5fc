//! KUMO-SHP012 warmup-without-fallback: a warming source is the only source of its pool.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a pool in which every source that can send (weight above 0) is warming up:
    /// in particular a warming source that is the pool's only source.
    ///
    /// ## Why is this bad?
    /// The warm-up limits how often KumoMTA may *select* the source (a source selection
    /// rate). When the day's volume is used up, KumoMTA picks another source of the pool;
    /// when there is none, the mail of every queue using the pool waits in the scheduled
    /// queue until the next day's allowance, and mail older than its `max_age` expires.
    /// A warm-up needs an established source beside it to take the rest of the traffic.
    ///
    /// ## Example
    /// ```kumo
    /// pool dedicated {
    ///   source ip-2 {
    ///     warmup {
    ///       start = "2026-12-01"
    ///       ramp  = [500, 1000, 2000]
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// pool dedicated {
    ///   source ip-1 {}   // established: takes what ip-2 may not send yet
    ///   source ip-2 {
    ///     warmup {
    ///       start = "2026-12-01"
    ///       ramp  = [500, 1000, 2000]
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// No fix: add an established source to the pool, or accept that the pool's mail waits.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/source_selection_rate/>
    pub static RULE = {
        code: "KUMO-SHP012",
        name: "warmup-without-fallback",
        severity: Warning,
        since: "0.2.0",
        priority: "P1",
        summary: "Every source of a pool is warming up: mail waits once the day's volume is sent",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let warming = |name: &str| cx.model.warmups.iter().find(|w| w.source == name);
    for pool in &cx.model.pools {
        let senders: Vec<_> = pool.members.iter().filter(|m| m.weight > 0).collect();
        if senders.is_empty() || !senders.iter().all(|m| warming(&m.source).is_some()) {
            continue;
        }
        let Some(first) = warming(&senders[0].source) else {
            continue;
        };
        let message = if senders.len() == 1 {
            format!(
                "source `{}` is warming up and is the only source of pool `{}`: once the day's volume is sent, the pool's mail waits",
                senders[0].source, pool.name
            )
        } else {
            format!(
                "every source of pool `{}` is warming up: once the day's volumes are sent, the pool's mail waits",
                pool.name
            )
        };
        out.push(
            RULE.diagnostic(cx, message, first.loc, "no source left to take the rest")
                .with_help("add an established source to the pool to carry the traffic the warm-up holds back"),
        );
    }
}
