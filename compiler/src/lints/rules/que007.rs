//! KUMO-QUE007 require-authz-unreachable: a tenant's `require_authz` rejects all its mail,
//! because nothing in a kumoc deployment sets the identity it checks.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports `require_authz` on a tenant (`tenant "t" { require_authz = [...] }`).
    ///
    /// ## Why is this bad?
    /// The queue helper (`assets/policy-extras/queue.lua`, `apply`) compares
    /// `require_authz` with the message's meta `authz_id`, and rejects the message when it
    /// is missing ("tenant 't' requires SMTP AUTH"). Only SMTP AUTH sets `authz_id`
    /// (`smtp_server_auth_plain`). kumoc's SMTP listener offers no AUTH (injectors are
    /// allowed by `relay_hosts`), and HTTP injection records the API user as meta
    /// `http_auth` (`crates/kumod/src/http_server/inject_v1.rs`), not `authz_id`. So every
    /// message naming this tenant, or defaulting to it, is rejected, whoever sends it.
    ///
    /// ## Example
    /// ```kumo
    /// tenant acme {
    ///   egress_pool   = acme
    ///   require_authz = ["acme-api"]
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// tenant acme {
    ///   egress_pool = acme // who may inject is decided by relay_hosts and the API users
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: removing the list lets any injector send as the tenant,
    /// which is a decision to make knowingly.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/configuration/queuemanagement/>
    /// - <https://docs.kumomta.com/reference/events/smtp_server_auth_plain/>
    pub static RULE = {
        code: "KUMO-QUE007",
        name: "require-authz-unreachable",
        severity: Error,
        since: "0.2.0",
        priority: "P0",
        summary: "A tenant's require_authz rejects all its mail: no kumoc listener sets the identity it checks",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for t in &cx.model.tenants {
        let Some(authz) = t.settings.get("require_authz") else {
            continue;
        };
        if cx.is_stdlib(authz.loc) {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "every message for tenant `{}` is rejected: `require_authz` checks the SMTP AUTH identity, which no listener of this deployment sets",
                    t.name
                ),
                authz.loc,
                "never satisfied",
            )
            .with_secondary(t.loc, "this tenant")
            .with_help("remove `require_authz`: kumoc's SMTP listener has no AUTH and HTTP injection does not set `authz_id`; decide who may inject with `relay_hosts` and the API users"),
        );
    }
}
