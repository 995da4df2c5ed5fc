//! KUMO-DNS005 fcrdns-mismatch: an egress address whose PTR and EHLO name disagree.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::{Answer, Live, Purpose, Type};
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports an egress address (a
/// source's `source_address`, or its proxy's source address) whose reverse DNS does not
/// confirm the source's EHLO name: the address has no PTR record, its PTR names another
/// host, or the EHLO name does not resolve back to the address (forward-confirmed reverse
/// DNS). The source is reported where its address is written.
///
/// KUMO-DNS004 reports, without DNS, sources that have no EHLO name or no address of their
/// own; this rule checks the ones that do.
///
/// ## Why is this bad?
/// Gmail requires sending IPs with a PTR record whose name resolves back to the IP, and
/// receivers compare it with the EHLO name: a mismatch costs reputation or gets the mail
/// refused.
///
/// ## Example
/// ```text
/// 10.113.0.203.in-addr.arpa. IN PTR ip-203-0-113-10.provider.net.   ; EHLO mta1.example.com
/// ```
///
/// ## Use instead
/// ```text
/// 10.113.0.203.in-addr.arpa. IN PTR mta1.example.com.
/// mta1.example.com.          IN A   203.0.113.10
/// ```
///
/// ## Fix safety
/// Nothing to fix in `.kumo` unless the EHLO name is the mistake: ask the address's owner
/// for the PTR record, and publish the A/AAAA record `kumoc dns` prints.
///
/// ## References
/// - https://support.google.com/mail/answer/81126
    pub static RULE = {
        code: "KUMO-DNS005",
        name: "fcrdns-mismatch",
        severity: Warning,
        since: "0.2.0",
        priority: "P0",
        summary: "An egress address whose PTR record does not confirm its EHLO name",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for r in &live.needed.records {
        let Purpose::Ptr { address, ehlo } = &r.purpose else {
            continue;
        };
        let Answer::Records(ptrs) = live.snapshot.lookup(&r.name, Type::Ptr) else {
            continue;
        };
        let ehlo_norm = crate::dns::snapshot::norm(ehlo);
        let problem = if ptrs.is_empty() {
            Some((
                format!("{address} has no PTR record: receivers see no name for it"),
                format!("ask the address's owner for `{}. IN PTR {ehlo}.`", r.name),
            ))
        } else if !ptrs.contains(&ehlo_norm) {
            Some((
                format!(
                    "the PTR of {address} is {}, not its EHLO name {ehlo}",
                    ptrs.join(", ")
                ),
                format!("set the PTR to {ehlo}, or set `ehlo_domain` to the name the PTR gives"),
            ))
        } else {
            let ty = if address.contains(':') {
                Type::Aaaa
            } else {
                Type::A
            };
            match live.snapshot.lookup(&ehlo_norm, ty) {
                Answer::Records(addrs) if !addrs.iter().any(|a| a == address) => Some((
                    format!(
                        "{ehlo} does not resolve back to {address} ({}): reverse DNS is not forward-confirmed",
                        if addrs.is_empty() {
                            "no address".to_string()
                        } else {
                            addrs.join(", ")
                        }
                    ),
                    format!("publish `{ehlo}. IN {} {address}`", ty.as_str()),
                )),
                _ => None,
            }
        };
        if let Some((message, help)) = problem {
            out.push(
                RULE.diagnostic(cx, message, r.loc, "mail leaves from this address")
                    .with_help(help),
            );
        }
    }
}
