//! KUMO-OPS008 feature-newer-than-image: A feature newer than the pinned KumoMTA release.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports fields, values and actions that the deployment's `kumomta` release does not have.
///
/// ## Why is this bad?
/// An unknown field makes KumoMTA reject the whole file. kumoc gates every versioned feature on the declared release, as a compile error (K2008) at the span that asks for it.
///
/// ## Example
/// ```kumo
/// connection_limit = local:5   // with kumomta = "2024.11.08-d383b033"
/// ```
///
/// ## Use instead
/// ```kumo
/// kumomta = "2025.03.19-1d3f1f67"
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - the `Since` markers of docs.kumomta.com
    pub static RULE = {
        code: "KUMO-OPS008",
        name: "feature-newer-than-image",
        severity: Warning,
        since: "0.1.0",
        priority: "P2",
        summary: "A feature newer than the pinned KumoMTA release",
        kind: Kind::Checker(&[codes::REQUIRES_NEWER_KUMOMTA]),
    };
}
