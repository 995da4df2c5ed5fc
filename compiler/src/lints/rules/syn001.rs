//! KUMO-SYN001 invalid-rate: A rate kumod would reject.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports rate strings that KumoMTA's ThrottleSpec parser rejects: a bad unit, a missing `/`, a zero limit, a malformed `max_burst`.
///
/// ## Why is this bad?
/// kumod parses rates only when it loads the policy: a bad rate makes `make_egress_path` raise for every message to that destination. kumoc checks every rate where it is written, as a compile error (K2003), so it can never be shipped or suppressed.
///
/// ## Example
/// ```kumo
/// max_message_rate = 1000/3600
/// ```
///
/// ## Use instead
/// ```kumo
/// max_message_rate = 1000/h
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - KumoCorp/kumomta crates/throttle/src/lib.rs; https://docs.kumomta.com/reference/kumo/make_egress_path/max_connection_rate/
    pub static RULE = {
        code: "KUMO-SYN001",
        name: "invalid-rate",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A rate kumod would reject",
        kind: Kind::Checker(&[codes::INVALID_RATE]),
    };
}
