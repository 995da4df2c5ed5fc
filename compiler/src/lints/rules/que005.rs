//! KUMO-QUE005 queue-config-shadowed: A custom get_queue_config that shadows the helpers.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report a `get_queue_config` handler that answers for every queue ahead of the queue and shaping helpers.
///
/// ## Why is this bad?
/// kumoc writes the policy itself: the shaping helper registers first and the queue helper last, and nothing else answers `get_queue_config`, so TSA publishing and `queues.toml` always take effect. There is no custom handler to check.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/faq/egress_pool_unspecified/
    pub static RULE = {
        code: "KUMO-QUE005",
        name: "queue-config-shadowed",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A custom get_queue_config that shadows the helpers",
        kind: Kind::Guaranteed,
    };
}
