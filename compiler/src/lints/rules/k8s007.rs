//! KUMO-K8S007 disruption-and-spread: replicas without a PDB or spread.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
    /// ## What it does
    /// Would report MTA or TSA workloads with more than one replica but no
    /// PodDisruptionBudget, or replicas that may all land on one node.
    ///
    /// ## Why is this bad?
    /// A node drain or a zone outage then takes every replica at once. kumoc emits a
    /// PodDisruptionBudget (`maxUnavailable: 1`) for the MTA and TSA whenever they run more
    /// than one pod, and spreads replicas over nodes and zones
    /// (`topologySpreadConstraints`, preferred so small clusters still schedule).
    ///
    /// ## Fix safety
    /// Not applicable: there is nothing to fix in `.kumo`.
    ///
    /// ## References
    /// - kube-score (PDB, host anti-affinity); Polaris missingPodDisruptionBudget / topologySpreadConstraint
    pub static RULE = {
        code: "KUMO-K8S007",
        name: "disruption-and-spread",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "Replicas without a disruption budget or spread",
        kind: Kind::Guaranteed,
    };
}
