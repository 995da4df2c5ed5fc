//! KUMO-OPS004 redis-single-point-of-failure: Redis without HA.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report a single-replica Redis for throttles.
///
/// ## Why is this bad?
/// kumoc only knows Redis's URL, not how it is deployed.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/faq/spof/
    pub static RULE = {
        code: "KUMO-OPS004",
        name: "redis-single-point-of-failure",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "Redis without HA",
        kind: Kind::Unsupported,
    };
}
