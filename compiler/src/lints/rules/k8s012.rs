//! KUMO-K8S012 config-rollout: Config changes that do not roll the pods.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report a pod-template checksum that misses policy files.
///
/// ## Why is this bad?
/// kumoc puts a sha256 of the policy files each pod reads (the files of the ConfigMap it
/// mounts) on its pod template, so any change to them rolls the pods. The checksum covers
/// the files' code, not kumoc's comments (where each value was set, the list of `.kumo`
/// files), so a change that cannot change kumod's behaviour rolls nothing.
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
