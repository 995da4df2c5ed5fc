//! KUMO-SHP004 unknown-provider: A reference to an unknown provider.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports `from provider.NAME` where no provider of that name exists.
///
/// ## Why is this bad?
/// A misspelled provider silently applies nothing. kumoc resolves provider names against the stdlib presets and your `provider` blocks (K1005, with did-you-mean).
///
/// ## Example
/// ```kumo
/// shaping "gmail.com" from provider.gmail { }
/// ```
///
/// ## Use instead
/// ```kumo
/// shaping "gmail.com" from provider.google { }
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - assets/policy-extras/shaping.toml
    pub static RULE = {
        code: "KUMO-SHP004",
        name: "unknown-provider",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A reference to an unknown provider",
        kind: Kind::Checker(&[codes::UNKNOWN_REFERENCE]),
    };
}
