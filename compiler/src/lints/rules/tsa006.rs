//! KUMO-TSA006 tsa-trusts-public-range: TSA trusts a public-wide `pod_cidr`.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports `cluster.pod_cidr` when TSA is enabled and the range is `0.0.0.0/0`, `::/0` or
    /// another public-wide range. kumoc gives TSA's HTTP listener the `pod_cidr` as its
    /// `trusted_hosts`, since the MTA pods publish their delivery logs from it.
    ///
    /// ## Why is this bad?
    /// TSA has no credentials: a trusted host may publish delivery logs and read the
    /// generated shaping configuration. With a public-wide range, anyone who reaches the
    /// port can feed TSA fake deferrals and make it suspend or throttle your traffic. The
    /// NetworkPolicy kumoc emits admits only the MTA pods, but it depends on the cluster's
    /// network plugin enforcing it; the trust list is the last line.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   pod_cidr = 0.0.0.0/0
    ///   tsa { replicas = 2 }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   pod_cidr = 10.244.0.0/16 // the cluster's pod network
    ///   tsa { replicas = 2 }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: only you know the cluster's pod network
    /// (`kubectl cluster-info dump | grep -m1 cluster-cidr`, or the CNI's configuration).
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/clustering/tsa/>
    /// - <https://docs.kumomta.com/reference/tsa/start_http_listener/>
    pub static RULE = {
        code: "KUMO-TSA006",
        name: "tsa-trusts-public-range",
        severity: ErrorInProduction,
        since: "0.1.0",
        priority: "P0",
        summary: "TSA trusts a public-wide pod_cidr",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let c = &cx.model.cluster;
    let (Some(tsa), Some(pod)) = (&c.tsa, &c.pod_cidr) else {
        return;
    };
    if !util::is_public_wide(&pod.value) || cx.is_stdlib(pod.loc) {
        return;
    }
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "TSA trusts `{}`: anyone there may publish delivery logs to it",
                pod.value
            ),
            pod.loc,
            "TSA's trusted hosts",
        )
        .with_secondary(tsa.loc, "TSA is enabled here")
        .with_help("set `pod_cidr` to the cluster's pod network, e.g. `10.244.0.0/16`"),
    );
}
