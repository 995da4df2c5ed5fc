//! KUMO-DNS003 dmarc-missing: No DMARC record.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::{Live, Purpose, tags, txt_with};
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports a sending domain (a `domain`
/// block) without a DMARC record at `_dmarc.<domain>`, with several, or with one whose `p=`
/// is missing or not `none`, `quarantine` or `reject` (RFC 7489 §6.3).
///
/// ## Why is this bad?
/// Gmail and Yahoo require a DMARC record of bulk senders, Outlook at least `p=none` with
/// aligned mail. Without one, receivers apply their own policy to spoofed mail and send no
/// reports.
///
/// ## Example
/// ```text
/// ; no record at _dmarc.example.com
/// ```
///
/// ## Use instead
/// ```text
/// _dmarc.example.com. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"
/// ```
///
/// ## Fix safety
/// Nothing to fix in `.kumo`: publish the record `kumoc dns` prints.
///
/// ## References
/// - https://support.google.com/a/answer/14229414
/// - https://www.rfc-editor.org/rfc/rfc7489
    pub static RULE = {
        code: "KUMO-DNS003",
        name: "dmarc-missing",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "No DMARC record",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for r in &live.needed.records {
        let Purpose::Dmarc { domain } = &r.purpose else {
            continue;
        };
        let Some(found) = txt_with(live.snapshot, &r.name, "v=DMARC1") else {
            continue;
        };
        let help = format!(
            "publish `{}. IN TXT \"{}\"`",
            r.name,
            r.value.as_deref().unwrap_or("v=DMARC1; p=none")
        );
        let problem = match found.as_slice() {
            [] => Some(format!("{domain} has no DMARC record at {}", r.name)),
            [one] => match tags(one).get("p").map(String::as_str) {
                Some("none" | "quarantine" | "reject") => None,
                Some(p) => Some(format!(
                    "the DMARC record of {domain} has an invalid policy `p={p}`"
                )),
                None => Some(format!("the DMARC record of {domain} has no `p=` policy")),
            },
            _ => Some(format!(
                "{domain} has {} DMARC records: receivers ignore them all",
                found.len()
            )),
        };
        if let Some(message) = problem {
            out.push(
                RULE.diagnostic(cx, message, r.loc, "sends as this domain")
                    .with_help(help),
            );
        }
    }
}
