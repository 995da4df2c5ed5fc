//! KUMO-DNS002 spf-coverage: SPF that does not cover the pools' IPs.

use std::net::IpAddr;

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::{Live, Purpose, spf_passes, txt_with};
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports a sending domain (a `domain`
/// block) whose SPF record is missing, duplicated (a permanent error, RFC 7208 §4.5), or
/// does not pass an address its mail leaves from: each source's `source_address`, or its
/// proxy's source address, and the `--egress-ip` addresses given. `include:` and
/// `redirect=` are followed through the snapshot; an `ip4`/`ip6` range, `a` and `mx` match
/// as RFC 7208 says; only a `+` (pass) result counts.
///
/// kumoc assumes the envelope sender (MAIL FROM) domain is the From domain: SPF is
/// evaluated on MAIL FROM, which the injector sets.
///
/// ## Why is this bad?
/// Gmail, Yahoo and Outlook require SPF to pass for bulk senders; with DKIM it is what
/// DMARC aligns on. An address outside the record soft-fails or fails at every receiver.
///
/// ## Example
/// ```text
/// example.com. IN TXT "v=spf1 ip4:198.51.100.1 -all"   ; mail leaves from 203.0.113.10
/// ```
///
/// ## Use instead
/// ```text
/// example.com. IN TXT "v=spf1 ip4:203.0.113.10 ~all"   ; `kumoc dns` prints it
/// ```
///
/// ## Fix safety
/// Nothing to fix in `.kumo`: publish the record `kumoc dns` prints (merged with the
/// mechanisms of other services that send for the domain).
///
/// ## References
/// - https://senders.yahooinc.com/best-practices
/// - https://www.rfc-editor.org/rfc/rfc7208
    pub static RULE = {
        code: "KUMO-DNS002",
        name: "spf-coverage",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "SPF that does not cover the pools' IPs",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for r in &live.needed.records {
        let Purpose::Spf { domain } = &r.purpose else {
            continue;
        };
        // The addresses this record must pass: every source's egress address and the
        // `--egress-ip` addresses.
        let mut ips: Vec<IpAddr> = cx
            .model
            .sources
            .iter()
            .filter_map(|s| crate::dns::egress_address(s).map(|(ip, _)| ip))
            .chain(live.egress_ips.iter().copied())
            .collect();
        ips.sort();
        ips.dedup();
        let Some(found) = txt_with(live.snapshot, domain, "v=spf1") else {
            continue;
        };
        let help = match &r.value {
            Some(v) => format!("publish `{domain}. IN TXT \"{v}\"` (merged with other senders' mechanisms)"),
            None => "set the sources' addresses (or pass `--egress-ip`), then publish the record `kumoc dns` prints".to_string(),
        };
        let record = match found.as_slice() {
            [] => {
                out.push(
                    RULE.diagnostic(
                        cx,
                        format!("{domain} has no SPF record"),
                        r.loc,
                        "sends as this domain",
                    )
                    .with_help(help),
                );
                continue;
            }
            [one] => one,
            _ => {
                out.push(
                    RULE.diagnostic(
                        cx,
                        format!("{domain} has {} SPF records: receivers treat that as a permanent error", found.len()),
                        r.loc,
                        "sends as this domain",
                    )
                    .with_help("publish exactly one `v=spf1` record"),
                );
                continue;
            }
        };
        let all_failing: Vec<String> = ips
            .iter()
            .filter(|ip| spf_passes(live.snapshot, domain, record, **ip) == Some(false))
            .map(ToString::to_string)
            .collect();
        let mut failing: Vec<String> = all_failing.iter().take(5).cloned().collect();
        if all_failing.len() > 5 {
            failing.push(format!("{} more", all_failing.len() - 5));
        }
        if !failing.is_empty() {
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "the SPF record of {domain} does not pass {}: `{record}`",
                        failing.join(", ")
                    ),
                    r.loc,
                    "sends as this domain",
                )
                .with_help(format!(
                    "add `ip4:`/`ip6:` mechanisms for {} to the record",
                    failing.join(", ")
                )),
            );
        }
    }
}
