//! KUMO-DKIM005 domain-unsigned: a sending domain without DKIM.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a `domain` block without a `dkim` block.
    ///
    /// kumoc has no fallback signature (KumoMTA's `additional_signatures`) yet, so such a
    /// domain's mail goes out unsigned.
    ///
    /// ## Why is this bad?
    /// A `domain` block declares a From domain you send for. Without DKIM its mail can only
    /// authenticate through SPF, which breaks on forwarding and rarely aligns for bulk
    /// mail: Gmail and Yahoo require authenticated mail from bulk senders and reject or
    /// spam-folder the rest ("message is not authenticated"). KumoMTA's bundled shaping
    /// rules react to exactly that response.
    ///
    /// ## Example
    /// ```kumo
    /// domain "example.com" {}
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// domain "example.com" {
    ///   dkim {
    ///     selector = "s2048"
    ///     bits     = 2048
    ///     key      = secret("dkim-keys", "example.com.s2048.key")
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: a `dkim` block needs a key in a Secret and a DNS record,
    /// which kumoc cannot make.
    ///
    /// ## References
    /// - <https://support.google.com/mail/answer/81126>
    /// - <https://docs.kumomta.com/userguide/configuration/dkim/>
    /// - <https://docs.kumomta.com/faq/multiple_dkim_signatures/>
    pub static RULE = {
        code: "KUMO-DKIM005",
        name: "domain-unsigned",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "A sending domain has no DKIM block: its mail goes out unsigned",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for dom in &cx.model.domains {
        if dom.dkim.is_some() || cx.is_stdlib(dom.loc) {
            continue;
        }
        out.push(
            RULE.diagnostic(cx, format!("mail from `{}` goes out without a DKIM signature", dom.name), dom.loc, "no `dkim` block")
                .with_help(format!(
                    "add `dkim {{ selector = \"s2048\"  key = secret(\"dkim-keys\", \"{}.s2048.key\") }}` and publish the selector's DNS record",
                    dom.name
                )),
        );
    }
}
