//! KUMO-OPS002 tsa-replicas-not-fewer: as many TSA replicas as MTA pods, or more.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports `cluster { tsa { replicas } }` at or above the number of MTA pods, when there
    /// is more than one MTA pod. With autoscaling the MTA count is the autoscaler's `min`.
    ///
    /// The catalog's other cases cannot happen in kumoc's output: the TSA StatefulSet has no
    /// autoscaler, and every MTA publishes to every TSA replica by its own pod name.
    ///
    /// ## Why is this bad?
    /// KumoMTA's clustering guide says to run a smaller number of TSA nodes than MTA nodes.
    /// Every MTA publishes every matching log record to every TSA replica, so each replica
    /// adds a full copy of the log stream to every MTA's work and to the network, while a
    /// TSA replica does far less work than an MTA: two or three replicas give redundancy
    /// for any cluster size.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta { replicas = 3 }
    ///   tsa { replicas = 3 }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   mta { replicas = 3 }
    ///   tsa { replicas = 2 }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets TSA replicas to one fewer than the MTA pods. It is unsafe: the removed
    /// replicas' volumes (their shaping state) stay behind, and redundancy is lower.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/clustering/deployment/>
    /// - <https://docs.kumomta.com/userguide/clustering/trafficshapingautomation/>
    pub static RULE = {
        code: "KUMO-OPS002",
        name: "tsa-replicas-not-fewer",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "TSA has as many replicas as the MTA, or more",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let c = &cx.model.cluster;
    let Some(tsa) = &c.tsa else { return };
    let mta = c
        .mta
        .autoscale
        .as_ref()
        .map_or(c.mta.replicas.value, |a| a.min);
    if mta <= 1 || tsa.replicas.value < mta || cx.is_stdlib(tsa.replicas.loc) {
        return;
    }
    let written = tsa.replicas.loc != tsa.loc;
    let mta_at = match &c.mta.autoscale {
        Some(a) => a.loc,
        None => c.mta.replicas.loc,
    };
    let mut d = RULE
        .diagnostic(
            cx,
            format!(
                "{} TSA replicas for {mta} MTA pods: run fewer TSA replicas than MTAs",
                tsa.replicas.value
            ),
            tsa.replicas.loc,
            "every MTA publishes to each of these",
        )
        .with_help(format!(
            "run at most {} TSA {}: two already give redundancy for any number of MTAs",
            mta - 1,
            if mta == 2 { "replica" } else { "replicas" }
        ));
    if !cx.is_stdlib(mta_at) {
        d = d.with_secondary(mta_at, format!("{mta} MTA pods"));
    }
    if written {
        let n = (mta - 1).clamp(1, 2);
        d = d.with_fix(
            format!("set TSA replicas to {n}"),
            Applicability::Unsafe,
            vec![Edit {
                loc: tsa.replicas.loc,
                replacement: n.to_string(),
            }],
        );
    }
    out.push(d);
}
