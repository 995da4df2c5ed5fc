//! KUMO-SEC003 unauthenticated-http-api: the HTTP API trusts networks with no API users and no TLS.

use std::net::IpAddr;

use kumoc_lang::units::Cidr;

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports an `http_listener` that trusts networks beyond loopback in `trusted_hosts`
    /// while it has no API users (`users`) and does not serve HTTPS (`use_tls`). kumoc's
    /// HTTP listener always binds `0.0.0.0`, so it is reachable from the pod network.
    /// Public-wide ranges are left to KUMO-SEC002.
    ///
    /// ## Why is this bad?
    /// Every client in those networks injects mail and drives the admin API (bounce,
    /// suspend, rebind) without credentials, and every request crosses the network in
    /// clear text. One compromised pod in the range is enough to send spam from your IPs or
    /// bounce the whole queue. With API users, clients outside `trusted_hosts` authenticate
    /// (kumoc generates the `http_server_validate_auth_basic` handler); with `use_tls` the
    /// requests are encrypted.
    ///
    /// ## Example
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [10.244.0.0/16]
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [127.0.0.1, "::1"]
    ///   users         = secret("api-users") // one key per user, the value is the password
    /// }
    ///
    /// secret "api-users" {}
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: API users need a Secret only you can create, and the
    /// clients need their credentials.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/configuration/httplisteners/>
    /// - <https://docs.kumomta.com/userguide/installation/security/> ("Administrative Access")
    /// - <https://docs.kumomta.com/reference/events/http_server_validate_auth_basic/>
    pub static RULE = {
        code: "KUMO-SEC003",
        name: "unauthenticated-http-api",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The HTTP API trusts networks with no API users and no TLS",
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
    if http.contains_key("users") || util::boolean(http, "use_tls").is_some_and(|b| b.value) {
        return;
    }
    let Some(list) = http.get("trusted_hosts") else {
        return;
    };
    if cx.is_stdlib(list.loc) {
        return;
    }
    let open: Vec<String> = util::cidrs(http, "trusted_hosts")
        .iter()
        .filter(|c| !is_loopback(&c.value) && !util::is_public_wide(&c.value))
        .map(|c| format!("`{}`", c.value))
        .collect();
    if open.is_empty() {
        return;
    }
    out.push(
        RULE.diagnostic(
            cx,
            format!("the HTTP API trusts {} with no API users and no TLS", open.join(", ")),
            list.loc,
            "trusted without credentials, in clear text",
        )
        .with_help("trust only loopback; give remote clients API users (`users = secret(\"api-users\")`) and serve HTTPS (`use_tls = true` with a certificate)"),
    );
}
