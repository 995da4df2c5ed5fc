//! KUMO-QUE006 tenant-header-exposed: the tenant or campaign header is kept on delivered mail,
//! or the tenant header is not bound to identities.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// When `tenancy { tenant_header = "..." }` or `campaign_header` is set, reports:
    ///
    /// - `remove_tenant_header` (or `remove_campaign_header`) not `true` (written `false`, or
    ///   left to its default, `false`): the header is delivered to recipients;
    /// - HTTP API users (`http_listener { users = ... }`) and more than one tenant: any API
    ///   user may name any tenant in the header. kumoc cannot bind API users to tenants:
    ///   the queue helper's `require_authz` checks the SMTP AUTH identity (meta `authz_id`),
    ///   which neither kumoc's SMTP listener (no AUTH) nor HTTP injection (it records the
    ///   user as `http_auth`) sets, so it rejects every message (KUMO-QUE007).
    ///
    /// The second case needs untrusted injectors to matter. kumoc's SMTP listener relays
    /// only for `relay_hosts` (KUMO-SEC001 reports public ranges there) and has no SMTP
    /// AUTH, so the injectors that may be untrusted are the HTTP API's users; with a single
    /// tenant there is nobody to impersonate.
    ///
    /// ## Why is this bad?
    /// The tenant and campaign headers are instructions to kumod, not part of the message.
    /// Left in, they tell every recipient the internal name of the customer or stream that
    /// sent the mail, and of the campaign it belongs to (the queue management guide
    /// recommends deleting them "for added security"; the queue helper removes each only when
    /// its `remove_*` option is true, `assets/policy-extras/queue.lua`). And the
    /// header decides which tenant's queues, pool and IPs a message uses: when injectors are
    /// not bound to their tenants, one customer can send through another's reputation.
    ///
    /// ## Example
    /// ```kumo
    /// tenancy {
    ///   tenant_header        = "X-Tenant"
    ///   remove_tenant_header = false
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// tenancy {
    ///   tenant_header        = "X-Tenant"
    ///   remove_tenant_header = true
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `remove_tenant_header = true` (or `remove_campaign_header = true`),
    /// replacing `false` or adding the field after the header's. kumod has read the header by
    /// the time it removes it, so routing is unchanged; the fix is safe. Unbound API users
    /// have no fix in `.kumo`: give API credentials only to injectors trusted with every
    /// tenant, or run one deployment per customer.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/configuration/queuemanagement/>
    /// - <https://docs.kumomta.com/userguide/policy_helpers/queue_helper/>
    pub static RULE = {
        code: "KUMO-QUE006",
        name: "tenant-header-exposed",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The tenant or campaign header is delivered to recipients, or API users may claim any tenant",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    header_kept(cx, out, "campaign", "names the campaign");
    let Some(header) = util::string(&m.tenancy, "tenant_header") else {
        return;
    };
    if cx.is_stdlib(header.loc) {
        return;
    }
    header_kept(cx, out, "tenant", "names the tenant");
    let Some(users) = m.http_listener.get("users") else {
        return;
    };
    let tenants: std::collections::BTreeSet<&str> = m
        .tenants
        .iter()
        .map(|t| t.name.as_str())
        .chain(
            m.queues
                .iter()
                .flat_map(|q| q.tenants.iter().map(|t| t.name.as_str())),
        )
        .collect();
    let bound = m
        .tenants
        .iter()
        .any(|t| t.settings.contains_key("require_authz"))
        || m.queues
            .iter()
            .flat_map(|q| &q.tenants)
            .any(|t| t.settings.contains_key("require_authz"));
    if tenants.len() < 2 || bound {
        return;
    }
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "any HTTP API user may send as any tenant: the `{}` header is not bound to identities",
                header.value
            ),
            header.loc,
            "set by the injector",
        )
        .with_secondary(users.loc, "API users")
        .with_help("kumoc cannot bind API users to tenants (`require_authz` needs SMTP AUTH): give API credentials only to injectors trusted with every tenant, or run one deployment per customer"),
    );
}

/// Reports `tenancy { <what>_header }` when `remove_<what>_header` is not true.
fn header_kept(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>, what: &str, names: &str) {
    let m = cx.model;
    let header_field = format!("{what}_header");
    let remove_field = format!("remove_{what}_header");
    let Some(header) = util::string(&m.tenancy, &header_field) else {
        return;
    };
    if cx.is_stdlib(header.loc) {
        return;
    }
    match util::boolean(&m.tenancy, &remove_field) {
        Some(remove) if remove.value => {}
        Some(remove) => {
            if !cx.is_stdlib(remove.loc) {
                out.push(
                    RULE.diagnostic(
                        cx,
                        format!(
                            "`{remove_field} = false`: the `{}` header is delivered to recipients",
                            header.value
                        ),
                        remove.loc,
                        "the header stays on the message",
                    )
                    .with_secondary(header.loc, names)
                    .with_help(format!(
                        "remove the header before delivery: `{remove_field} = true`"
                    ))
                    .with_replacement(
                        format!("set `{remove_field} = true`"),
                        remove.loc,
                        "true",
                    ),
                );
            }
        }
        None => {
            let mut at = header.loc;
            at.span.start = at.span.end;
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "the `{}` {what} header is delivered to recipients (`{remove_field}` defaults to false)",
                        header.value
                    ),
                    header.loc,
                    "kept on delivered mail",
                )
                .with_help(format!("add `{remove_field} = true` to `tenancy`"))
                .with_fix(
                    format!("add `{remove_field} = true`"),
                    Applicability::Safe,
                    vec![Edit {
                        loc: at,
                        replacement: format!("\n  {remove_field} = true"),
                    }],
                ),
            );
        }
    }
}
