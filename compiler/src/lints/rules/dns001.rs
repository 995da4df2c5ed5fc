//! KUMO-DNS001 dmarc-alignment: A From domain not aligned with its DKIM signature.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report From domains signed only with a non-aligned `d=`.
///
/// ## Why is this bad?
/// kumoc signs each `domain` with its own key, so signatures are aligned by construction; From domains outside the declared domains are not described in `.kumo` yet.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://support.google.com/a/answer/14229414
    pub static RULE = {
        code: "KUMO-DNS001",
        name: "dmarc-alignment",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "A From domain not aligned with its DKIM signature",
        kind: Kind::Unsupported,
    };
}
