//! KUMO-SEC006 trusted-hosts-skip-auth: API users are configured, but non-loopback networks are trusted without credentials.

use std::net::IpAddr;

use kumoc_lang::units::Cidr;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::schema::{LOOPBACK, Lit};

declare_rule! {
    /// ## What it does
    /// Reports `http_listener.trusted_hosts` entries beyond loopback when the listener also
    /// has API users (`users`). Public-wide ranges are left to KUMO-SEC002.
    ///
    /// ## Why is this bad?
    /// KumoMTA checks credentials only for peers outside `trusted_hosts`: a client in a
    /// trusted network is never asked for a user name or password. Configuring API users
    /// says the API should be authenticated, yet every client in the trusted range still
    /// injects and administers anonymously, and nothing records which user did what.
    ///
    /// ## Example
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [127.0.0.1, 10.244.0.0/16]
    ///   users         = secret("api-users")
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [127.0.0.1]
    ///   users         = secret("api-users") // in-cluster injectors authenticate too
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix keeps only the loopback entries of `trusted_hosts` (`127.0.0.1` and `"::1"`
    /// when none remain). It is unsafe: clients in the removed networks must be given
    /// credentials first.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/faq/smtp_auth_setup/>
    /// - <https://docs.kumomta.com/reference/kumo/start_http_listener/trusted_hosts/>
    /// - <https://docs.kumomta.com/reference/events/http_server_validate_auth_basic/>
    pub static RULE = {
        code: "KUMO-SEC006",
        name: "trusted-hosts-skip-auth",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "API users are configured, but non-loopback networks are trusted without credentials",
        kind: Kind::Check(check),
    };
}

fn is_loopback(c: &Cidr) -> bool {
    match c.addr {
        IpAddr::V4(a) => a.is_loopback() && c.prefix >= 8,
        IpAddr::V6(a) => a.is_loopback() && c.prefix == 128,
    }
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let http = &cx.model.http_listener;
    let (Some(users), Some(list)) = (http.get("users"), http.get("trusted_hosts")) else {
        return;
    };
    if cx.is_stdlib(list.loc) {
        return;
    }
    let trusted = util::cidrs(http, "trusted_hosts");
    let keep: Vec<String> = trusted
        .iter()
        .filter(|c| is_loopback(&c.value))
        .map(|c| cx.text(c.loc).to_string())
        .collect();
    let replacement = if keep.is_empty() {
        Lit::Cidrs(LOOPBACK).to_kumo()
    } else {
        format!("[{}]", keep.join(", "))
    };
    for c in trusted
        .iter()
        .filter(|c| !is_loopback(&c.value) && !util::is_public_wide(&c.value))
    {
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "`{}` is trusted, so its clients are never asked for API credentials",
                    c.value
                ),
                c.loc,
                "skips authentication",
            )
            .with_secondary(users.loc, "API users are configured here")
            .with_help("remove the network from `trusted_hosts` and give its clients an API user")
            .with_fix(
                "trust only loopback",
                Applicability::Unsafe,
                vec![Edit {
                    loc: list.loc,
                    replacement: replacement.clone(),
                }],
            ),
        );
    }
}
