//! KUMO-SEC009 trusted-through-load-balancer: Trusted CIDRs behind a LoadBalancer or NodePort.

use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Would report trust lists containing node or pod CIDRs while the listener Service is exposed through a LoadBalancer or NodePort that SNATs clients.
///
/// ## Why is this bad?
/// kumoc only emits ClusterIP and headless Services, so external clients never reach the listeners with a trusted source address.
///
/// ## Fix safety
/// Not applicable: there is nothing to fix in `.kumo`.
///
/// ## References
/// - https://kubernetes.github.io/ingress-nginx/user-guide/retaining-client-ipaddress/
    pub static RULE = {
        code: "KUMO-SEC009",
        name: "trusted-through-load-balancer",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Trusted CIDRs behind a LoadBalancer or NodePort",
        kind: Kind::Guaranteed,
    };
}
