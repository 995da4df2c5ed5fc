//! KUMO-SYN004 unknown-key-or-value: An unknown key or enum value.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports unknown fields and unknown enum values (`tls =`, `enable_tls = Opportunistc`, `action = SuspendTennant`).
///
/// ## Why is this bad?
/// A typo in a shipped default file once broke loading (KumoCorp/kumomta#68); in `queues.toml` an unknown key is even taken for a tenant name. kumoc's schema rejects both (K1002, K2006) with a did-you-mean fix.
///
/// ## Example
/// ```kumo
/// enable_tls = Opportunistc
/// ```
///
/// ## Use instead
/// ```kumo
/// enable_tls = opportunistic
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - KumoCorp/kumomta#68; https://docs.kumomta.com/reference/kumo/make_egress_path/enable_tls/
    pub static RULE = {
        code: "KUMO-SYN004",
        name: "unknown-key-or-value",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "An unknown key or enum value",
        kind: Kind::Checker(&[codes::UNKNOWN_FIELD, codes::UNKNOWN_VALUE]),
    };
}
