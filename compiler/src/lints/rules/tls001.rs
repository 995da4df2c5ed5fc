//! KUMO-TLS001 insecure-tls-public: insecure or disabled TLS for public destinations.

use kumoc_lang::units::Feature;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports `enable_tls = opportunistic_insecure`, `required_insecure` or `disabled`
    /// written for public destinations: in `shaping default` (every destination), in a
    /// stdlib provider preset (`provider "google"`, `"yahoo"`, ...), in a stdlib domain preset
    /// (`shaping "comcast.net"`, ...) or a domain block started `from provider.NAME` of a
    /// preset, including their per-`source` overrides. A `shaping "domain"` or `provider`
    /// block of your own is taken as a deliberate, scoped exception for a destination whose
    /// TLS is broken, which is what the KumoMTA FAQ recommends, and is not reported.
    ///
    /// ## Why is this bad?
    /// KumoMTA documents the insecure modes as "not recommended for sending to the public
    /// internet": without certificate checks anyone on the path can intercept STARTTLS and
    /// read or alter the mail, and `disabled` sends everything in clear text. Set for
    /// `default`, it weakens every destination to work around a few broken ones.
    ///
    /// ## Example
    /// ```kumo
    /// shaping default {
    ///   enable_tls = opportunistic_insecure
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping default {
    ///   enable_tls          = opportunistic
    ///   remember_broken_tls = 3d // KumoMTA 2024.11.08+: clear text only where TLS failed
    /// }
    ///
    /// shaping "legacy.example" { // the one destination with broken TLS
    ///   enable_tls = opportunistic_insecure
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `opportunistic`. It is unsafe: deliveries to a destination whose
    /// certificate is invalid now fail until it gets its own block.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/enable_tls/>
    /// - <https://docs.kumomta.com/faq/outbound_tls_failures/>
    /// - <https://docs.kumomta.com/userguide/installation/security/>
    pub static RULE = {
        code: "KUMO-TLS001",
        name: "insecure-tls-public",
        severity: ErrorInProduction,
        since: "0.1.0",
        priority: "P0",
        summary: "Insecure or disabled TLS for public destinations",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (settings, scope) in util::public_scopes(cx) {
        let Some(mode) = util::variant(settings, "enable_tls") else {
            continue;
        };
        let why = match mode.value {
            "opportunistic_insecure" | "required_insecure" => "certificates are not checked",
            "disabled" => "mail is sent in clear text",
            _ => continue,
        };
        if cx.is_stdlib(mode.loc) {
            continue;
        }
        let help = if cx.model.version.value.supports(Feature::RememberBrokenTls) {
            "use `opportunistic` with `remember_broken_tls`, and give a destination with broken TLS its own `shaping \"domain\"` block"
        } else {
            "use `opportunistic`, and give a destination with broken TLS its own `shaping \"domain\"` block"
        };
        out.push(
            RULE.diagnostic(
                cx,
                format!("`enable_tls = {}` for {scope}: {why}", mode.value),
                mode.loc,
                "not for public destinations",
            )
            .with_help(help)
            .with_fix(
                "use `opportunistic`",
                Applicability::Unsafe,
                vec![Edit {
                    loc: mode.loc,
                    replacement: "opportunistic".to_string(),
                }],
            ),
        );
    }
}
