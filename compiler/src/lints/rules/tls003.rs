//! KUMO-TLS003 mta-sts-disabled: MTA-STS turned off for public destinations.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports `enable_mta_sts = false` written for public destinations: in
    /// `shaping default` (every destination), in a stdlib provider preset
    /// (`provider "google"`, ...), in a stdlib domain preset (`shaping "comcast.net"`, ...)
    /// or a domain block started `from provider.NAME` of a preset, including their
    /// per-`source` overrides. A `shaping "domain"` or `provider` block of your own is taken
    /// as a deliberate exception for one destination with a broken policy.
    ///
    /// ## Why is this bad?
    /// STARTTLS alone is opportunistic: an attacker on the path can strip it or present any
    /// certificate. MTA-STS is how a destination says "always use TLS with a valid
    /// certificate for me", and it is the main mitigation KumoMTA's security guide names.
    /// Turning it off for public egress gives that protection up for every domain that
    /// publishes a policy.
    ///
    /// ## Example
    /// ```kumo
    /// shaping default {
    ///   enable_mta_sts = false
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping default {
    ///   enable_mta_sts = true // KumoMTA's default: leave it out
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `true`, KumoMTA's default. It is unsafe: deliveries to a domain whose
    /// MTA-STS policy does not match its servers fail until that domain gets its own block.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/enable_mta_sts/>
    /// - <https://docs.kumomta.com/userguide/installation/security/>
    /// - <https://www.rfc-editor.org/rfc/rfc8461>
    pub static RULE = {
        code: "KUMO-TLS003",
        name: "mta-sts-disabled",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "MTA-STS is turned off for public destinations",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (settings, scope) in util::public_scopes(cx) {
        let Some(sts) = util::boolean(settings, "enable_mta_sts") else {
            continue;
        };
        if sts.value || cx.is_stdlib(sts.loc) {
            continue;
        }
        out.push(
            RULE.diagnostic(cx, format!("MTA-STS is off for {scope}"), sts.loc, "published MTA-STS policies are ignored")
                .with_help("remove the override (MTA-STS is on by default); turn it off only in the block of a destination whose policy is broken")
                .with_fix("turn MTA-STS back on", Applicability::Unsafe, vec![Edit { loc: sts.loc, replacement: "true".to_string() }]),
        );
    }
}
