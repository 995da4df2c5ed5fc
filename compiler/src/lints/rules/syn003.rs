//! KUMO-SYN003 invalid-cidr: A CIDR with host bits set, or an invalid IP.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
/// ## What it does
/// Reports CIDRs whose host bits are set (`192.168.1.1/24`) and invalid IPs in `relay_hosts`, `trusted_hosts`, `prohibited_hosts`.
///
/// ## Why is this bad?
/// KumoMTA's CIDR parsing is strict and rejects the whole listener. kumoc reports it as a compile error (K2005) with the network address as the fix.
///
/// ## Example
/// ```kumo
/// relay_hosts = [192.168.1.1/24]
/// ```
///
/// ## Use instead
/// ```kumo
/// relay_hosts = [192.168.1.0/24]
/// ```
///
/// ## Fix safety
/// Not applicable: the checker's own fixes apply.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo/start_esmtp_listener/relay_hosts/
    pub static RULE = {
        code: "KUMO-SYN003",
        name: "invalid-cidr",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "A CIDR with host bits set, or an invalid IP",
        kind: Kind::Checker(&[codes::INVALID_ADDRESS]),
    };
}
