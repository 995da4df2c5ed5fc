//! KUMO-SEC007 log-oob-relay: log_oob / log_arf set to true.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report listener domains that log and relay OOB/ARF reports.
///
/// ## Why is this bad?
/// kumoc does not describe listener domains yet.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/faq/receiving_inbound_mail/
    pub static RULE = {
        code: "KUMO-SEC007",
        name: "log-oob-relay",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "log_oob / log_arf set to true",
        kind: Kind::Unsupported,
    };
}
