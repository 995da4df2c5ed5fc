//! KUMO-SHP003 null-mx-rollup: mx_rollup on a NULL-MX domain.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report `mx_rollup` on a domain with a NULL MX.
///
/// ## Why is this bad?
/// It needs MX lookups (see KUMO-SHP001).
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - assets/policy-extras/shaping.toml
    pub static RULE = {
        code: "KUMO-SHP003",
        name: "null-mx-rollup",
        severity: Error,
        since: "0.1.0",
        priority: "P1",
        summary: "mx_rollup on a NULL-MX domain",
        kind: Kind::Unsupported,
    };
}
