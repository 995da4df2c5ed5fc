//! KUMO-DNS002 spf-coverage: SPF that does not cover the pools' IPs.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would compare SPF records with the pools' public IPs.
///
/// ## Why is this bad?
/// It needs DNS.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://senders.yahooinc.com/best-practices
    pub static RULE = {
        code: "KUMO-DNS002",
        name: "spf-coverage",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "SPF that does not cover the pools' IPs",
        kind: Kind::Unsupported,
    };
}
