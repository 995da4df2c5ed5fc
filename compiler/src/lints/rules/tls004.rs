//! KUMO-TLS004 dane-without-dnssec: DANE without a DNSSEC-validating resolver.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report `enable_dane = true` without a validating resolver.
///
/// ## Why is this bad?
/// kumoc does not describe the resolver configuration yet.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo/make_egress_path/enable_dane/
    pub static RULE = {
        code: "KUMO-TLS004",
        name: "dane-without-dnssec",
        severity: Warning,
        since: "0.1.0",
        priority: "P2",
        summary: "DANE without a DNSSEC-validating resolver",
        kind: Kind::Unsupported,
    };
}
