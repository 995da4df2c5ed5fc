//! KUMO-TLS005 self-signed-listener-cert: the HTTP API takes passwords over TLS with a throwaway self-signed certificate.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports an `http_listener` that has API users (`users`) and serves HTTPS
    /// (`use_tls = true`) with neither `tls_certificate` nor `tls_private_key`. KumoMTA then
    /// makes a self-signed certificate at every start.
    ///
    /// The catalog's other half, an SMTP listener offering AUTH, does not arise: kumoc's
    /// SMTP listener offers no AUTH (injectors are admitted by `relay_hosts`), so an SMTP
    /// listener without a certificate carries no credentials.
    ///
    /// ## Why is this bad?
    /// API clients send their passwords with every request. A certificate that changes at
    /// each restart cannot be pinned or validated, so clients end up turning verification
    /// off, and then anyone on the path can impersonate the MTA and collect the passwords.
    ///
    /// ## Example
    /// ```kumo
    /// http_listener {
    ///   users   = secret("api-users")
    ///   use_tls = true
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// http_listener {
    ///   users           = secret("api-users")
    ///   use_tls         = true
    ///   tls_certificate = secret("api-tls") // e.g. issued by cert-manager
    ///   tls_private_key = secret("api-tls")
    /// }
    ///
    /// secret "api-tls" {
    ///   keys = ["tls.crt", "tls.key"]
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: the certificate's Secret must exist first.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/security/> ("Inbound TLS")
    /// - <https://docs.kumomta.com/reference/kumo/start_http_listener/use_tls/>
    /// - <https://cert-manager.io/docs/usage/certificate/>
    pub static RULE = {
        code: "KUMO-TLS005",
        name: "self-signed-listener-cert",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The HTTP API takes passwords over TLS with a self-signed certificate made at each start",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let http = &cx.model.http_listener;
    let Some(tls) = util::boolean(http, "use_tls") else {
        return;
    };
    let Some(users) = http.get("users") else {
        return;
    };
    if !tls.value || cx.is_stdlib(tls.loc) {
        return;
    }
    if http.contains_key("tls_certificate") || http.contains_key("tls_private_key") {
        return;
    }
    out.push(
        RULE.diagnostic(cx, "the HTTP API serves TLS with a self-signed certificate made at each start", tls.loc, "no `tls_certificate` or `tls_private_key`")
            .with_secondary(users.loc, "API passwords cross this connection")
            .with_help("set `tls_certificate` and `tls_private_key` to a certificate Secret, e.g. `secret(\"api-tls\")` kept by cert-manager"),
    );
}
