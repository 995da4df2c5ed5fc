//! KUMO-TSA003 invalid-automation-rule: An invalid regex, a missing duration, an unknown trigger.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports automation rules KumoMTA would reject: a regex that does not compile, no `duration`, an unknown trigger.
///
/// ## Why is this bad?
/// An invalid rule makes `kumo.shaping.load` fail as a whole. kumoc compiles every regex with KumoMTA's engine (K2011) and requires the rule's fields (K1007, K2012).
///
/// ## Example
/// ```kumo
/// automation { regex = '(unclosed'  action = suspend }
/// ```
///
/// ## Use instead
/// ```kumo
/// automation { regex = 'deferred'  action = suspend  duration = 1h }
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo.shaping/load/
    pub static RULE = {
        code: "KUMO-TSA003",
        name: "invalid-automation-rule",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "An invalid regex, a missing duration, an unknown trigger",
        kind: Kind::Checker(&[codes::INVALID_REGEX, codes::MISSING_FIELD, codes::INVALID_CALL]),
    };
}
