//! KUMO-DNS006 dkim-record: a DKIM key that is not published, or not the one signing.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::{Live, Purpose, tags, txt_with};
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports a `dkim` block whose key
/// record `<selector>._domainkey.<domain>` is missing, is not a `v=DKIM1` record, is
/// revoked (empty `p=`), has another key type (`k=`), or, when kumoc was given the private
/// key (`--keys DIR` or the secret's `files`), publishes another public key.
///
/// ## Why is this bad?
/// Receivers look the key up to verify every signature: without it, or with another key,
/// DKIM fails, and with it DMARC unless SPF aligns. Rotating a key in the Secret before its
/// record is live breaks signing the same way.
///
/// ## Example
/// ```text
/// ; no record at default._domainkey.example.com
/// ```
///
/// ## Use instead
/// ```text
/// default._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; p=MIIBIjANBgkqh..." "...IDAQAB" )
/// ```
///
/// ## Fix safety
/// Nothing to fix in `.kumo`: publish the record `kumoc dns --keys DIR` prints.
///
/// ## References
/// - https://www.rfc-editor.org/rfc/rfc6376#section-3.6.1
/// - https://docs.kumomta.com/userguide/configuration/dkim/
    pub static RULE = {
        code: "KUMO-DNS006",
        name: "dkim-record",
        severity: ErrorInProduction,
        since: "0.2.0",
        priority: "P0",
        summary: "A DKIM key that is not published, or not the key that signs",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for r in &live.needed.records {
        let Purpose::Dkim { domain, selector } = &r.purpose else {
            continue;
        };
        let Some(all) = txt_with(live.snapshot, &r.name, "") else {
            continue;
        };
        let dkim: Vec<&String> = all
            .iter()
            .filter(|t| tags(t).get("v").is_none_or(|v| v == "DKIM1"))
            .collect();
        let publish = match &r.value {
            Some(_) => format!("publish the record `kumoc dns` prints for {}", r.name),
            None => format!(
                "publish the record `kumoc dns --keys DIR` prints for {} (kumoc was not given the key)",
                r.name
            ),
        };
        let want = r.value.as_deref().map(tags);
        let problem = match dkim.as_slice() {
            [] => Some(format!(
                "no DKIM key is published for {domain} selector {selector} ({})",
                r.name
            )),
            [one] => {
                let t = tags(one);
                let k = t.get("k").map_or("rsa", String::as_str);
                match t.get("p").map(String::as_str) {
                    None => Some(format!("the DKIM record {} has no `p=` key", r.name)),
                    Some("") => Some(format!(
                        "the DKIM key of {domain} selector {selector} is revoked (empty `p=`)"
                    )),
                    Some(p) => match &want {
                        Some(w) if w.get("k").map(String::as_str) != Some(k) => Some(format!(
                            "the DKIM record {} is `k={k}`, but {domain} signs with `k={}`",
                            r.name,
                            w.get("k").map_or("?", String::as_str)
                        )),
                        Some(w) if w.get("p").map(String::as_str) != Some(p) => Some(format!(
                            "the DKIM record {} publishes another key than the one that signs",
                            r.name
                        )),
                        _ => None,
                    },
                }
            }
            _ => Some(format!(
                "{} has {} DKIM records: verifiers may pick either",
                r.name,
                dkim.len()
            )),
        };
        if let Some(message) = problem {
            out.push(
                RULE.diagnostic(cx, message, r.loc, "signs with this key")
                    .with_help(publish),
            );
        }
    }
}
