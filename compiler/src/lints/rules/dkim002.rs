//! KUMO-DKIM002 dkim-key-not-referenced: A signing domain without key material, or a key name that does not exist.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports DKIM blocks without a `key`, and keys that name a Secret key the secret does not declare.
///
/// ## Why is this bad?
/// A missing key blocks delivery for the domain (KumoCorp/kumomta#69). kumoc requires the key reference (K1007) and checks it against the secret's declared keys (K1010).
///
/// ## Example
/// ```kumo
/// dkim { selector = "s1" }
/// ```
///
/// ## Use instead
/// ```kumo
/// dkim { selector = "s1"  key = secret("dkim-keys", "example.com.s1.key") }
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - KumoCorp/kumomta#69
    pub static RULE = {
        code: "KUMO-DKIM002",
        name: "dkim-key-not-referenced",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A signing domain without key material, or a key name that does not exist",
        kind: Kind::Checker(&[codes::MISSING_FIELD, codes::UNKNOWN_SECRET_KEY]),
    };
}
