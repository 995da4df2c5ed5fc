//! KUMO-TSA001 tsa-fan-out: TSA replicas not all published to.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report MTAs that publish to a load-balanced TSA Service instead of every replica.
///
/// ## Why is this bad?
/// kumoc derives the publish list from `cluster.tsa.replicas`: one per-pod URL per replica under the headless Service, each with its `.tsa.kumomta` shaping block. It cannot drift.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/userguide/clustering/trafficshapingautomation/
    pub static RULE = {
        code: "KUMO-TSA001",
        name: "tsa-fan-out",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "TSA replicas not all published to",
        kind: Kind::Guaranteed,
    };
}
