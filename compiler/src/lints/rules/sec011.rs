//! KUMO-SEC011 webhook-plain-http: a webhook sends log records over plain HTTP.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a `webhook` whose `url` is `http://`.
    ///
    /// ## Why is this bad?
    /// Every log record carries recipient and sender addresses (personal data), the
    /// headers and meta you copy into it, and the response of the remote server; the
    /// `secret_header` (a bearer token, an API key) goes with each request. Over plain HTTP
    /// all of it can be read, and the records altered, by anyone on the path, and the
    /// endpoint cannot tell KumoMTA from anyone else who learnt the token.
    ///
    /// ## Example
    /// ```kumo
    /// webhook events {
    ///   url = "http://hooks.example.com/kumo"
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// webhook events {
    ///   url = "https://hooks.example.com/kumo"
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix writes `https://`. It is unsafe: the endpoint must serve TLS there, with a
    /// certificate the MTA image trusts.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo.http/build_client/>
    /// - <https://docs.kumomta.com/userguide/operation/webhooks/>
    pub static RULE = {
        code: "KUMO-SEC011",
        name: "webhook-plain-http",
        severity: ErrorInProduction,
        since: "0.2.0",
        priority: "P1",
        summary: "A webhook sends log records over plain HTTP",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for hook in &cx.model.webhooks {
        let Some(url) = hook.settings.get("url") else {
            continue;
        };
        // The literal as written: `"http://...` becomes `"https://...`.
        let text = cx.text(url.loc);
        let Some(p) = text.get(..8) else { continue };
        if !p.eq_ignore_ascii_case("\"http://") {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "webhook `{}` sends log records over plain HTTP: addresses and its credentials travel in clear",
                    hook.name
                ),
                url.loc,
                "not encrypted",
            )
            .with_help("use an `https://` endpoint")
            .with_fix(
                "use https://",
                Applicability::Unsafe,
                vec![Edit {
                    loc: url.loc,
                    replacement: format!("\"https://{}", &text[8..]),
                }],
            ),
        );
    }
}
