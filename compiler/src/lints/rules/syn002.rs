//! KUMO-SYN002 invalid-duration: A duration without a unit, or with an unknown one.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports durations kumod would reject or misread: a number without a unit, an unknown or ambiguous unit (`5M` is five months).
///
/// ## Why is this bad?
/// Durations are parsed at load time; a mistyped one blocks delivery or silently means something else. kumoc types every duration (K2002, K2001) and writes it in a form every release parses.
///
/// ## Example
/// ```kumo
/// max_age = 90
/// ```
///
/// ## Use instead
/// ```kumo
/// max_age = 90m
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo/make_queue_config/max_age/
    pub static RULE = {
        code: "KUMO-SYN002",
        name: "invalid-duration",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A duration without a unit, or with an unknown one",
        kind: Kind::Checker(&[codes::INVALID_DURATION, codes::TYPE_MISMATCH]),
    };
}
