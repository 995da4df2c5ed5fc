//! KUMO-SEC002 public-trusted-hosts: an HTTP listener trusts a public-wide range.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::schema::{LOOPBACK, Lit};
use crate::source::Loc;
use crate::value::Spanned;
use kumoc_lang::units::{Cidr, Feature};

declare_rule! {
    /// ## What it does
    /// Reports `http_listener.trusted_hosts` entries that are `0.0.0.0/0`, `::/0` or another
    /// public-wide range. On KumoMTA releases without ACLs (before 2026.03.04) the metrics
    /// listener is an HTTP listener too, trusting `cluster.metrics.scraper_cidrs` (by default
    /// the `pod_cidr`), so a public-wide scraper range is reported as well.
    ///
    /// ## Why is this bad?
    /// A trusted host is never asked for credentials: it may inject mail and use the whole
    /// admin API (bounce, suspend, rebind, change the log filter). kumoc's listeners bind
    /// `0.0.0.0`, so with `0.0.0.0/0` anyone who can reach the port owns the MTA. API users
    /// (`users`) do not help: trusted hosts skip authentication.
    ///
    /// ## Example
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [0.0.0.0/0]
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// http_listener {
    ///   trusted_hosts = [127.0.0.1, "::1"]
    ///   users         = secret("api-users") // everyone else authenticates
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix removes the public ranges from `trusted_hosts` (leaving loopback when nothing
    /// else remains). It is unsafe: clients that relied on being trusted must now
    /// authenticate. A public-wide scraper range has no fix: only you know where Prometheus
    /// runs.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/security/> ("Administrative Access")
    /// - <https://docs.kumomta.com/reference/kumo/start_http_listener/trusted_hosts/>
    /// - <https://docs.kumomta.com/reference/access_control/>
    pub static RULE = {
        code: "KUMO-SEC002",
        name: "public-trusted-hosts",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "An HTTP listener trusts a public-wide range",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let trusted = util::cidrs(&m.http_listener, "trusted_hosts");
    let list_loc = m.http_listener.get("trusted_hosts").map(|s| s.loc);
    for c in trusted.iter().filter(|c| util::is_public_wide(&c.value)) {
        let d = RULE
            .diagnostic(
                cx,
                format!("the HTTP API trusts `{}`: anyone there may inject and administer without credentials", c.value),
                c.loc,
                "trusted without credentials",
            )
            .with_help("trust only loopback and give other clients API users (`users = secret(\"api-users\")`)");
        out.push(with_removal(cx, d, &trusted, list_loc));
    }

    let metrics = &m.cluster.metrics;
    if !metrics.enabled || m.version.value.supports(Feature::AccessControlLists) {
        return;
    }
    let explicit = metrics
        .scraper_cidrs
        .iter()
        .all(|c| m.cluster.pod_cidr.as_ref().is_none_or(|p| p.loc != c.loc));
    for c in metrics
        .scraper_cidrs
        .iter()
        .filter(|c| util::is_public_wide(&c.value))
    {
        let d = RULE.diagnostic(
            cx,
            format!(
                "the metrics listener trusts `{}`: on KumoMTA {} it also serves the admin API",
                c.value, m.version.value
            ),
            c.loc,
            if explicit {
                "trusted by the metrics listener"
            } else {
                "`scraper_cidrs` defaults to this"
            },
        );
        let d = if explicit {
            d.with_help("list only the network Prometheus scrapes from in `scraper_cidrs`")
        } else {
            d.with_help("narrow `pod_cidr` to the cluster's pod network, or set `metrics { scraper_cidrs = [...] }` to where Prometheus runs")
        };
        out.push(d);
    }
}

/// Add the unsafe fix removing every public-wide entry from the list at `list_loc`
/// (loopback when nothing else remains).
fn with_removal(
    cx: &LintContext<'_>,
    d: Diagnostic,
    list: &[Spanned<Cidr>],
    list_loc: Option<Loc>,
) -> Diagnostic {
    let Some(list_loc) = list_loc else { return d };
    if cx.is_stdlib(list_loc) {
        return d;
    }
    let keep: Vec<String> = list
        .iter()
        .filter(|o| !util::is_public_wide(&o.value))
        .map(|o| cx.text(o.loc).to_string())
        .collect();
    let replacement = if keep.is_empty() {
        Lit::Cidrs(LOOPBACK).to_kumo()
    } else {
        format!("[{}]", keep.join(", "))
    };
    d.with_fix(
        "remove the public range from trusted_hosts",
        Applicability::Unsafe,
        vec![Edit {
            loc: list_loc,
            replacement,
        }],
    )
}
