//! KUMO-K8S004 memory-below-ready-queues: Memory limit below the ready-queue estimate.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would compare the memory limit with Σ max_ready × message size.
///
/// ## Why is this bad?
/// It needs the expected message size and the number of active ready queues, which `.kumo` does not describe yet.
/// Meanwhile KUMO-SHP009 checks each `max_ready` you write against the MTA's memory, with
/// KumoMTA's example message size (100 KB) and a stated number of ready queues.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/faq/high_memory_usage/
    pub static RULE = {
        code: "KUMO-K8S004",
        name: "memory-below-ready-queues",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "Memory limit below the ready-queue estimate",
        kind: Kind::Unsupported,
    };
}
