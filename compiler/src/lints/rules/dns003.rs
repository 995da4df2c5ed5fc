//! KUMO-DNS003 dmarc-missing: No DMARC record.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report sending domains without a DMARC record.
///
/// ## Why is this bad?
/// It needs DNS.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://support.google.com/a/answer/14229414
    pub static RULE = {
        code: "KUMO-DNS003",
        name: "dmarc-missing",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "No DMARC record",
        kind: Kind::Unsupported,
    };
}
