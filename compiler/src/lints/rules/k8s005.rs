//! KUMO-K8S005 probes: Missing or identical probes.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report workloads without readiness/liveness probes, or with identical ones.
///
/// ## Why is this bad?
/// kumoc emits readiness and startup probes on `/api/check-liveness/v1` and a TCP liveness probe (the liveness endpoint reports load shedding, which must not restart pods). Timings are set in `cluster.mta.probes`.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - Polaris readinessProbeMissing / livenessProbeMissing
    pub static RULE = {
        code: "KUMO-K8S005",
        name: "probes",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "Missing or identical probes",
        kind: Kind::Guaranteed,
    };
}
