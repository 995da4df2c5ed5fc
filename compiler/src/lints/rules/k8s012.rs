//! KUMO-K8S012 config-rollout: Config changes that do not roll the pods.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report a configuration change that reaches no pod: a change that needs a restart
/// without one, or data mounted where it never updates.
///
/// ## Why is this bad?
/// kumoc puts a sha256 of the policy file each pod runs (`init.lua`, `tsa_init.lua`,
/// `sink.lua`) on its pod template: its `init` handler (listeners, spools, Redis, logging)
/// runs once per process, so a change to it rolls the pods. The helpers' data files
/// (sources, DKIM, queues, shaping) and the DKIM key Secrets are mounted whole, never with
/// `subPath`, so the kubelet updates them in running pods and KumoMTA reloads them when
/// their contents change (its config monitor checks every 10 seconds): a new domain rolls
/// no pod. The checksum covers code, not kumoc's comments (where each value was set, the
/// list of `.kumo` files), so a change that cannot change kumod's behaviour rolls nothing.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://docs.kumomta.com/faq/config_not_reloading/
    pub static RULE = {
        code: "KUMO-K8S012",
        name: "config-rollout",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "Config changes that do not roll the pods",
        kind: Kind::Guaranteed,
    };
}
