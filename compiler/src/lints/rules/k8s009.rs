//! KUMO-K8S009 scale-down-strands-spool: Scale-down without a drain.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report an autoscaler that removes MTA pods while their spool holds mail.
///
/// ## Why is this bad?
/// kumoc's HPA disables automatic scale-down (`behavior.scaleDown.selectPolicy: Disabled`) and keeps spool volumes when pods are removed; scale in by hand after draining with `kcli xfer`.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/reference/kcli/xfer/
    pub static RULE = {
        code: "KUMO-K8S009",
        name: "scale-down-strands-spool",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "Scale-down without a drain",
        kind: Kind::Guaranteed,
    };
}
