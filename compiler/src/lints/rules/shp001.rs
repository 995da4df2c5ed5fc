//! KUMO-SHP001 mx-rollup-alias: Two domain rules that roll up to the same MX site.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report two shaping blocks whose domains share an MX site without `mx_rollup = false`.
///
/// ## Why is this bad?
/// It needs the domains' MX records, which kumoc does not look up (builds are offline and deterministic). A recorded MX fixture would make it checkable; until then KumoMTA reports it when it loads the shaping file.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/userguide/trafficshaping/rollups/
    pub static RULE = {
        code: "KUMO-SHP001",
        name: "mx-rollup-alias",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Two domain rules that roll up to the same MX site",
        kind: Kind::Unsupported,
    };
}
