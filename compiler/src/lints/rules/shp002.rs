//! KUMO-SHP002 provider-overlap: A domain rule also matched by a provider.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report domain blocks also matched by a provider block.
///
/// ## Why is this bad?
/// It needs MX lookups (see KUMO-SHP001).
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo.shaping/load/
    pub static RULE = {
        code: "KUMO-SHP002",
        name: "provider-overlap",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A domain rule also matched by a provider",
        kind: Kind::Unsupported,
    };
}
