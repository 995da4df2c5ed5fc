//! KUMO-K8S001 pod-security-restricted: Pods outside the Pod Security Standards restricted profile.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report pods without runAsNonRoot, with privilege escalation, capabilities or a writable root filesystem.
///
/// ## Why is this bad?
/// Every pod kumoc emits runs non-root with RuntimeDefault seccomp, no privilege escalation, all capabilities dropped and a read-only root filesystem (writable emptyDir volumes for /tmp and logs).
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://kubernetes.io/docs/concepts/security/pod-security-standards/
    pub static RULE = {
        code: "KUMO-K8S001",
        name: "pod-security-restricted",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "Pods outside the Pod Security Standards restricted profile",
        kind: Kind::Guaranteed,
    };
}
