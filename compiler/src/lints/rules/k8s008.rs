//! KUMO-K8S008 hpa-target: An HPA that targets the wrong workload.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report an HPA whose scaleTargetRef does not match an emitted workload.
///
/// ## Why is this bad?
/// kumoc emits the HPA from `cluster.mta.autoscale`, targeting the MTA StatefulSet by kind and name.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - the seed chart's templates/hpa.yaml (kind: Deployment)
    pub static RULE = {
        code: "KUMO-K8S008",
        name: "hpa-target",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "An HPA that targets the wrong workload",
        kind: Kind::Guaranteed,
    };
}
