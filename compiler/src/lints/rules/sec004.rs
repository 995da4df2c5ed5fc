//! KUMO-SEC004 weak-credentials: Known default or weak credentials.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report default or short API/Redis passwords.
///
/// ## Why is this bad?
/// Credentials never appear in `.kumo` (they are Secret references), so there is nothing to check at compile time; `kumoc build --secrets` never prints or inspects their content.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - dschaaff/kumomta-k8s-demo README.md
    pub static RULE = {
        code: "KUMO-SEC004",
        name: "weak-credentials",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Known default or weak credentials",
        kind: Kind::Unsupported,
    };
}
