//! KUMO-SHP010 shaping-domain-without-dot: a shaping block for a single-label domain.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};
use crate::model::ShapingKey;

declare_rule! {
    /// ## What it does
    /// Reports a `shaping "<domain>"` block of your own whose domain has no dot, like
    /// `shaping "gmail"`.
    ///
    /// ## Why is this bad?
    /// KumoMTA picks shaping rules by the destination domain of each message (and, with
    /// `mx_rollup`, by its MX site). Mail on the internet is not addressed to single-label
    /// domains (ICANN does not allow dotless domains; RFC 7085 describes why mail to them
    /// does not work), so the block matches nothing and its limits silently never apply:
    /// usually the domain was shortened (`gmail` for `gmail.com`) or a provider was meant.
    ///
    /// A private network can route mail to single-label names (a test sink called `sink`);
    /// suppress the rule there with a reason:
    /// `// kumoc-allow(KUMO-SHP010): the sink is addressed as "sink" in staging`.
    ///
    /// ## Example
    /// ```kumo
    /// shaping "gmail" {
    ///   max_message_rate = 50/s
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping "gmail.com" {
    ///   max_message_rate = 50/s
    /// }
    /// ```
    ///
    /// Or, for every domain Google hosts, `shaping from provider.google { ... }`.
    ///
    /// ## Fix safety
    /// There is no fix: the full domain cannot be guessed.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/trafficshaping/trafficshaping/>
    /// - <https://www.rfc-editor.org/rfc/rfc7085>
    pub static RULE = {
        code: "KUMO-SHP010",
        name: "shaping-domain-without-dot",
        severity: Warning,
        since: "0.1.0",
        priority: "P2",
        summary: "A shaping block names a single-label domain, which no internet mail is addressed to",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for b in &cx.model.shaping {
        let ShapingKey::Domain(domain) = &b.key else {
            continue;
        };
        if domain.contains('.') || cx.is_stdlib(b.loc) {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!("shaping domain `{domain}` has no dot: no internet mail is addressed to it"),
                b.loc,
                "single-label domain",
            )
            .with_help(format!(
                "write the full domain (like \"{domain}.com\"), or shape a provider's domains with `shaping from provider.<name>`"
            )),
        );
    }
}
