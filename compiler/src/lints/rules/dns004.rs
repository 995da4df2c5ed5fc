//! KUMO-DNS004 egress-identity-unset: an egress source without an EHLO name or an egress
//! address of its own.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};
use crate::model::{Settings, ShapingKey, Source};

declare_rule! {
    /// ## What it does
    /// Reports an egress source whose identity is left to chance, once per source, for the
    /// first of these problems:
    /// - no `ehlo_domain` (on the source, or in `shaping default` for every source or for
    ///   this one): KumoMTA then says EHLO with the host name, which in Kubernetes is the
    ///   pod name (`example-com-mta-0`), not a domain;
    /// - no `source_address` and no proxy: mail leaves from whatever address the node
    ///   NATs pod traffic to. A proxy counts only with its address: `ha_proxy_server` with
    ///   `ha_proxy_source_address`, or `socks5_proxy_server` with
    ///   `socks5_proxy_source_address`; KumoMTA silently connects directly otherwise.
    ///
    /// Whether the address's PTR record and the EHLO name agree (FCrDNS) needs the live DNS:
    /// `kumoc dns --check SNAPSHOT` checks it (KUMO-DNS005).
    ///
    /// ## Why is this bad?
    /// Gmail, Yahoo and Microsoft require sending IPs with forward-confirmed reverse DNS and
    /// a meaningful EHLO name. A node's NAT address has a PTR record owned by the cloud
    /// provider (or none), it changes when pods move between nodes, and it is shared with
    /// everything else on the node: its reputation is not yours to build. KumoMTA
    /// recommends KumoProxy (SOCKS5) or HAProxy with a fixed source address for clusters.
    ///
    /// ## Example
    /// ```kumo
    /// pool main {
    ///   source main-00 {
    ///     ehlo_domain = "mta1.example.com"
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// pool main {
    ///   source main-00 {
    ///     ehlo_domain                 = "mta1.example.com" // the PTR of 203.0.113.10
    ///     socks5_proxy_server         = "kumo-proxy.mail.svc.cluster.local:5000"
    ///     socks5_proxy_source_address = 203.0.113.10
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: the EHLO name, the address and the proxy are facts of
    /// your network that kumoc cannot guess.
    ///
    /// ## References
    /// - <https://support.google.com/mail/answer/81126>
    /// - <https://docs.kumomta.com/userguide/clustering/deployment/>
    /// - KumoCorp/kumomta#59
    pub static RULE = {
        code: "KUMO-DNS004",
        name: "egress-identity-unset",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "An egress source has no EHLO name, or no egress address of its own",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for src in &cx.model.sources {
        if cx.is_stdlib(src.loc) {
            continue;
        }
        let s = &src.settings;
        if !has_ehlo(cx, src) {
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "source `{}` has no `ehlo_domain`: it says EHLO with the pod name",
                        src.name
                    ),
                    src.loc,
                    "no EHLO name",
                )
                .with_help(
                    "set `ehlo_domain` to the name the source address's PTR record points to",
                ),
            );
            continue;
        }
        if has(s, "source_address") {
            continue;
        }
        let proxies = [
            ("ha_proxy_server", "ha_proxy_source_address"),
            ("socks5_proxy_server", "socks5_proxy_source_address"),
        ];
        if proxies
            .iter()
            .any(|(server, addr)| has(s, server) && has(s, addr))
        {
            continue;
        }
        let half = proxies.iter().find(|(server, _)| has(s, server));
        let d = match half.and_then(|(server, addr)| s.get(server).map(|x| (*server, *addr, x.loc))) {
            Some((server, addr, at)) => RULE
                .diagnostic(
                    cx,
                    format!("source `{}` ignores its proxy without `{addr}`: mail leaves from the node's address", src.name),
                    at,
                    format!("unused: `{addr}` is not set"),
                )
                .with_secondary(src.loc, "this source")
                .with_help(format!("set `{addr}` to the address `{server}` sends from; KumoMTA uses a proxy only with both")),
            None => RULE
                .diagnostic(
                    cx,
                    format!("source `{}` has no egress address: mail leaves from the node's NAT address", src.name),
                    src.loc,
                    "no `source_address` or proxy",
                )
                .with_help("egress through KumoProxy or HAProxy: set `socks5_proxy_server` and `socks5_proxy_source_address` (or the `ha_proxy_` pair) to an address whose PTR you control"),
        };
        out.push(d);
    }
}

fn has(s: &Settings, name: &str) -> bool {
    s.contains_key(name)
}

/// The source's own `ehlo_domain`, or one in `shaping default` (for every source, or in
/// its `source` block there).
fn has_ehlo(cx: &LintContext<'_>, src: &Source) -> bool {
    if has(&src.settings, "ehlo_domain") {
        return true;
    }
    cx.model
        .shaping
        .iter()
        .filter(|b| b.key == ShapingKey::Default)
        .any(|b| {
            has(&b.shaping.settings, "ehlo_domain")
                || b.shaping
                    .sources
                    .iter()
                    .any(|x| x.name == src.name && has(&x.settings, "ehlo_domain"))
        })
}
