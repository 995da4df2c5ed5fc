//! KUMO-SEC009 trusted-through-load-balancer: a trusted range that outside clients reach
//! through address translation.

use kumoc_lang::units::{Cidr, parse_cidr};

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports the classic open relay of a cluster: a trust list that contains the
    /// addresses outside clients arrive from once the cluster has translated them.
    ///
    /// - `cluster { smtp_load_balancer { external_traffic_policy = cluster } }` with
    ///   `smtp_listener.relay_hosts` containing the pod network (`cluster.pod_cidr`) or a
    ///   private range (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, `100.64.0.0/10`,
    ///   `fc00::/7`, where node addresses live);
    /// - `cluster { api_ingress { } }` with `http_listener.trusted_hosts` containing the pod
    ///   network or a private range: the ingress controller is a pod, so every request
    ///   through the Ingress arrives from a pod address.
    ///
    /// ## Why is this bad?
    /// With `externalTrafficPolicy: Cluster`, a node that receives a connection forwards
    /// it to an MTA pod and replaces the client's address with its own (SNAT). The MTA sees
    /// a node or pod address, which `relay_hosts` trusts: anyone on the internet who reaches
    /// the load balancer may relay mail to any domain, an open relay. Behind an Ingress,
    /// `trusted_hosts` gives every internet client the whole HTTP API (injection, bounces,
    /// suspensions) without credentials.
    ///
    /// ## Example
    /// ```kumo
    /// smtp_listener {
    ///   relay_hosts = [10.244.0.0/16]   // the injectors in the cluster
    /// }
    ///
    /// cluster {
    ///   pod_cidr = 10.244.0.0/16
    ///   smtp_load_balancer {
    ///     external_traffic_policy = cluster
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   pod_cidr = 10.244.0.0/16
    ///   smtp_load_balancer {
    ///     external_traffic_policy = local   // the MTA sees the clients' own addresses
    ///     source_ranges           = [198.51.100.0/24]
    ///   }
    /// }
    /// ```
    ///
    /// For the HTTP API behind an Ingress, trust no network (`trusted_hosts` stays loopback)
    /// and give the clients API users (`http_listener { users = secret(...) }`).
    ///
    /// ## Fix safety
    /// For the load balancer the fix sets `external_traffic_policy = local`. It is unsafe:
    /// clients then keep their own addresses, so those that relied on the translated
    /// address to be trusted must be listed in `relay_hosts` (or authenticate). There is no
    /// fix for the Ingress.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/#preserving-the-client-source-ip>
    /// - <https://docs.kumomta.com/reference/kumo/start_esmtp_listener/relay_hosts/>
    /// - <https://docs.kumomta.com/reference/kumo/start_http_listener/trusted_hosts/>
    pub static RULE = {
        code: "KUMO-SEC009",
        name: "trusted-through-load-balancer",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Trusted CIDRs behind a LoadBalancer or NodePort",
        kind: Kind::Check(check),
    };
}

/// Where translated clients come from: the pod network and the private ranges.
fn translated(cx: &LintContext<'_>) -> Vec<Cidr> {
    let mut out: Vec<Cidr> = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|c| parse_cidr(c).ok())
    .collect();
    if let Some(p) = &cx.model.cluster.pod_cidr {
        out.push(p.value);
    }
    out
}

fn overlaps(a: &Cidr, b: &Cidr) -> bool {
    a.contains(b.network().addr) || b.contains(a.network().addr)
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let nat = translated(cx);
    let hit = |c: &Cidr| nat.iter().any(|n| overlaps(c, n));
    if let Some(lb) = &cx.model.smtp_load_balancer {
        let policy = lb.settings.get("external_traffic_policy");
        let cluster_policy = lb
            .settings
            .value_or_default(
                &crate::schema::SMTP_LOAD_BALANCER,
                "external_traffic_policy",
            )
            .and_then(|v| v.as_enum().map(|v| v.name))
            == Some("cluster");
        if cluster_policy {
            for c in util::cidrs(&cx.model.smtp_listener, "relay_hosts")
                .iter()
                .filter(|c| hit(&c.value))
            {
                let mut d = RULE
                    .diagnostic(
                        cx,
                        format!(
                            "open relay: the SMTP load balancer translates outside clients into addresses that `{}` trusts",
                            c.value
                        ),
                        c.loc,
                        "trusts translated clients",
                    )
                    .with_help("use `external_traffic_policy = local` so the MTA sees the clients' own addresses");
                if let Some(p) = policy {
                    d = d
                        .with_secondary(p.loc, "SNAT: clients arrive from node addresses")
                        .with_fix(
                            "use external_traffic_policy = local",
                            Applicability::Unsafe,
                            vec![Edit {
                                loc: p.loc,
                                replacement: "local".to_string(),
                            }],
                        );
                }
                out.push(d);
            }
        }
    }
    if let Some(ing) = &cx.model.api_ingress {
        for c in util::cidrs(&cx.model.http_listener, "trusted_hosts")
            .iter()
            .filter(|c| hit(&c.value))
        {
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "the HTTP API's Ingress reaches the MTA from a pod address, which `{}` trusts: every client gets the whole API without credentials",
                        c.value
                    ),
                    c.loc,
                    "trusts the ingress controller",
                )
                .with_secondary(ing.loc, "requests arrive through the ingress controller")
                .with_help("trust no network in `trusted_hosts` and give API clients users (`http_listener { users = secret(...) }`)"),
            );
        }
    }
}
