//! `kumoc route DOMAIN`: where mail to a domain goes and why, computed offline from the
//! model and the destination's MX hosts (given, or from a DNS snapshot). No IO.
//!
//! The answer follows what KumoMTA does at run time, step by step, each cited:
//!
//! - the **queue**: the queue helper's resolution, `queue default` < `queue "domain"`
//!   (a `kumo.domain_map` lookup, wildcards included) < `tenant` < `queue "domain" > tenant`
//!   < its campaign (`assets/policy-extras/queue.lua`, `resolve_config`);
//! - the **site name** from the MX hosts (`crates/dns-resolver/src/lib.rs`, `factor_names`
//!   and `lookup_mx_record`: hosts by preference, sorted within one preference, lowercased);
//! - the **egress pool** and its sources with their weights (duplicates add up);
//! - for each source, the **effective shaping**, merged in KumoMTA's order
//!   (`crates/kumo-api-types/src/shaping.rs`, `ShapingInner::get_egress_path_config`):
//!   `default`, every matching provider (and the limits it implies), the providers' `source`
//!   blocks, the site block (`mx_rollup = true`), the exact domain block
//!   (`mx_rollup = false`), then the site's and the domain's `source` blocks; every field
//!   says the layer and the `.kumo` place it came from;
//! - the TSA **automation rules** that can fire for the destination;
//! - the **connection limits and rates** across MTA pods: shared through Redis unless
//!   written `local:`, multiplied by the pods otherwise.
//!
//! KumoMTA's own `resolve-shaping-domain` needs live DNS and shows only the source
//! `unspecified`; this needs neither. The TSA's live overrides (`get_config_v1`) cannot be
//! known offline and are not shown.
//!
//! The language server can answer a hover on a `shaping` block with the same data: call
//! [`route`] with the analysis's model and a [`Provenance`] over its places.
//!
//! The rooms: this file holds the query, the result types and [`route`] (the queue, the MX
//! and site, the pool, and the automation rules); `site.rs` KumoMTA's site names, MX order,
//! `domain_map` lookups and provider matching; `merge.rs` the shaping merge with its layers
//! and the limits across pods; `render.rs` the human renderer.

mod merge;
mod render;
mod site;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::emit::Provenance;
use crate::model::{Deployment, Provider, Rule, Shaping, ShapingBlock, ShapingKey};
use crate::names::Names;
use crate::value::Typed;

pub use merge::{SINK_SETTINGS, json_value};
pub use render::render_human;
pub use site::{domain_map_get, order_mx, site_name};

use merge::{Merger, limits_of};
use site::{mx_rollup, provider_matches};

/// What to route.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The recipient domain.
    pub domain: String,
    /// The destination's MX hosts in preference order (`None`: unknown, so the implicit MX,
    /// the domain itself, is assumed and said so). An empty list is a NULL MX.
    pub mx: Option<Vec<String>>,
    /// MX hosts of other domains (from a DNS snapshot): places the stdlib's and the user's
    /// `mx_rollup` blocks under their site names, so a block for another domain with the same
    /// MX site (`googlemail.com` for `gmail.com`) is found.
    pub other_mx: BTreeMap<String, Vec<String>>,
    /// The tenant (`None`: the deployment's `default_tenant`, if any).
    pub tenant: Option<String>,
    pub campaign: Option<String>,
}

/// Where mail to one domain goes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Route {
    pub domain: String,
    pub environment: String,
    /// The domain the MX lookup and shaping use: the recipient domain, the queue's
    /// `routing_domain`, or the sink when it is on.
    pub routing_domain: String,
    /// Why the routing domain differs from the recipient domain, if it does.
    pub routing_reason: Option<String>,
    /// MX hosts in preference order, and where they came from.
    pub mx: Vec<String>,
    pub mx_origin: String,
    /// KumoMTA's site name for those hosts (the ready queues and `mx_rollup` blocks are keyed
    /// by it).
    pub site_name: String,
    pub queue: Queue,
    pub pool: Pool,
    /// One entry per source of the pool (or `unspecified`), with its effective shaping.
    pub sources: Vec<SourceRoute>,
    /// Providers whose rules match the destination, in KumoMTA's order.
    pub providers: Vec<ProviderMatch>,
    pub automation: Vec<AutomationRule>,
    /// MTA pods the limits are multiplied across, and whether Redis shares throttles.
    pub pods: Pods,
    /// Things the reader must know (unknown MX answers, the sink, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Queue {
    /// KumoMTA's scheduled queue name: `[campaign:][tenant@]domain[!routing_domain]`.
    pub name: String,
    pub tenant: Option<String>,
    pub campaign: Option<String>,
    pub settings: Vec<Field>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pool {
    pub name: String,
    /// Where the pool was chosen (`egress_pool`), or why it is the built-in one.
    pub chosen_at: String,
    pub defined_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceRoute {
    pub name: String,
    pub weight: u64,
    /// The share of messages this source gets, in percent of the pool's total weight.
    pub share: f64,
    /// KumoMTA's ready queue: `<source>-><site>@smtp_client`.
    pub ready_queue: String,
    /// The address receivers see: `source_address`, a proxy's source address, or none
    /// (the node's NAT address).
    pub egress_address: Option<String>,
    pub ehlo: Option<String>,
    pub shaping: Vec<Field>,
    pub limits: Vec<Limit>,
}

/// One effective setting: its value in KumoMTA's spelling, the layer and the place.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: serde_json::Value,
    pub layer: Layer,
    /// `mail.kumo: shaping default > enable_tls`, `<stdlib>: provider google > ...`, or
    /// `KumoMTA default` / `derived: ...`.
    pub place: String,
    /// Set in this `env` overlay.
    pub overlay: Option<String>,
}

/// Which merge step a value came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Layer {
    /// Nothing sets it: KumoMTA's own default.
    BuiltIn,
    /// Derived by kumoc (the sink's block).
    Derived,
    /// `shaping default` (the stdlib's bundled default, or the user's).
    Default,
    /// A provider preset or provider block (and the limits it implies).
    Provider(String),
    /// A `source` block inside a provider.
    ProviderSource(String),
    /// An `mx_rollup` block: the block of a domain whose MX site is this site.
    Site(String),
    /// An exact-domain block (`mx_rollup = false`).
    Domain(String),
    /// A `source` block inside a site or domain block.
    SourceOverride(String),
    /// The queue helper's layers.
    QueueDefault,
    QueueDomain(String),
    Tenant(String),
    QueueTenant(String),
    QueueCampaign(String),
}

impl Layer {
    pub fn describe(&self) -> String {
        match self {
            Layer::BuiltIn => "built-in default".into(),
            Layer::Derived => "derived by kumoc".into(),
            Layer::Default => "shaping default".into(),
            Layer::Provider(p) => format!("provider {p}"),
            Layer::ProviderSource(p) => format!("provider {p} > source"),
            Layer::Site(d) => format!("site block {d:?}"),
            Layer::Domain(d) => format!("domain block {d:?}"),
            Layer::SourceOverride(d) => format!("source override in {d:?}"),
            Layer::QueueDefault => "queue default".into(),
            Layer::QueueDomain(d) => format!("queue {d:?}"),
            Layer::Tenant(t) => format!("tenant {t}"),
            Layer::QueueTenant(t) => format!("queue tenant {t}"),
            Layer::QueueCampaign(c) => format!("queue campaign {c}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderMatch {
    pub name: String,
    /// The rule that matched: `domain_suffix(".x")`, or `mx_suffix` / `host_name` for every
    /// host.
    pub how: String,
    pub place: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AutomationRule {
    pub layer: Layer,
    pub place: String,
    pub regex: Vec<String>,
    pub actions: Vec<serde_json::Value>,
    pub trigger: serde_json::Value,
    pub duration: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pods {
    pub min: u32,
    pub max: u32,
    /// Redis throttles are configured: limits and rates not written `local:` are shared by
    /// every pod.
    pub shared: bool,
}

/// A connection limit or a rate, per pod and in total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Limit {
    /// The setting (`connection_limit`, `additional_connection_limits."shaping-provider-..."`).
    pub name: String,
    pub value: String,
    /// Enforced per pod (`local:`, or no Redis) or cluster-wide.
    pub per_pod: bool,
    /// What the whole cluster may do: the value itself when shared, `value × pods`
    /// otherwise (`min..max` when autoscaling).
    pub cluster: String,
}

/// Where mail to `q.domain` goes.
pub fn route(d: &Deployment, prov: &Provenance<'_>, q: &Query) -> Route {
    let domain = q.domain.trim_end_matches('.').to_ascii_lowercase();
    let mut notes = Vec::new();
    let n = Names::new(d);

    // ---- the queue ----------------------------------------------------------------------
    let tenant = q.tenant.clone().or_else(|| {
        d.tenancy
            .get("default_tenant")
            .and_then(|s| s.value.as_ref_name())
            .map(str::to_string)
    });
    let mut qm = Merger {
        prov,
        params: BTreeMap::new(),
    };
    let default_rule = d.queues.iter().find(|r| r.key == ShapingKey::Default);
    if let Some(r) = default_rule {
        qm.settings(&r.settings, &Layer::QueueDefault, &[]);
    }
    let domain_rules: Vec<(String, &crate::model::QueueRule)> = d
        .queues
        .iter()
        .filter_map(|r| match &r.key {
            ShapingKey::Domain(k) => Some((k.clone(), &**r)),
            ShapingKey::Default => None,
        })
        .collect();
    let domain_rule = domain_map_get(&domain_rules, &domain).copied();
    if let Some(r) = domain_rule {
        qm.settings(
            &r.settings,
            &Layer::QueueDomain(r.key.as_str().to_string()),
            &[],
        );
    }
    if let Some(t) = &tenant {
        match d.tenants.iter().find(|x| &x.name == t) {
            Some(def) => qm.settings(
                &def.settings,
                &Layer::Tenant(t.clone()),
                &["require_authz", "overall_max_message_rate"],
            ),
            None => notes.push(format!(
                "tenant `{t}` is not defined: the queue helper rejects its messages"
            )),
        }
        if let Some(qt) = domain_rule.and_then(|r| r.tenants.iter().find(|x| &x.name == t)) {
            qm.settings(&qt.settings, &Layer::QueueTenant(t.clone()), &[]);
            if let Some(c) = &q.campaign {
                if let Some(qc) = qt.campaigns.iter().find(|x| &x.name == c) {
                    qm.settings(&qc.settings, &Layer::QueueCampaign(c.clone()), &[]);
                }
            }
        }
    }
    let queue_fields: Vec<Field> = qm.params.values().map(|m| m.field.clone()).collect();
    let pool_name = qm
        .params
        .get("egress_pool")
        .and_then(|m| m.typed.as_ref()?.as_ref_name().map(str::to_string));
    let mut routing_domain = qm
        .params
        .get("routing_domain")
        .and_then(|m| m.typed.as_ref()?.text().map(str::to_string));
    let mut routing_reason = routing_domain
        .as_ref()
        .map(|_| "the queue's `routing_domain` (the MX lookup and shaping use it)".to_string());
    let sink = d.cluster.sink.enabled.value;
    if sink {
        routing_domain = Some(n.sink_host());
        routing_reason = Some(format!(
            "the sink is on ({}): every message is routed to it; `--env production` shows real delivery",
            d.environment.value.name()
        ));
    }
    let queue_name = {
        let mut s = String::new();
        if let Some(c) = &q.campaign {
            s.push_str(c);
            s.push(':');
        }
        if let Some(t) = &tenant {
            s.push_str(t);
            s.push('@');
        }
        s.push_str(&domain);
        if let Some(r) = &routing_domain {
            s.push('!');
            s.push_str(r);
        }
        s
    };

    // ---- MX and site --------------------------------------------------------------------
    let target = routing_domain.clone().unwrap_or_else(|| domain.clone());
    let (mx, mx_origin) = if let Some(lit) =
        target.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
    {
        let ip = lit.strip_prefix("IPv6:").unwrap_or(lit);
        (vec![ip.to_string()], "a domain literal".to_string())
    } else if routing_domain.is_some() {
        match q.other_mx.get(&target) {
            Some(hosts) => (hosts.clone(), "the DNS snapshot".to_string()),
            None => (
                vec![target.clone()],
                format!("assumed: no MX answer for {target}, so the implicit MX (the name itself)"),
            ),
        }
    } else {
        match &q.mx {
            Some(hosts) => (hosts.clone(), "given".to_string()),
            None => match q.other_mx.get(&target) {
                Some(hosts) => (hosts.clone(), "the DNS snapshot".to_string()),
                None => (
                    vec![target.clone()],
                    "assumed: no MX given (`--mx` or `--snapshot`), so the implicit MX (the domain itself)".to_string(),
                ),
            },
        }
    };
    let mx: Vec<String> = mx
        .iter()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    let null_mx = mx.is_empty() || mx.iter().all(String::is_empty);
    let site = if null_mx {
        String::new()
    } else {
        site_name(&mx)
    };
    if null_mx {
        notes.push(format!(
            "{target} has a NULL MX: it accepts no mail, and KumoMTA bounces messages to it"
        ));
    }

    // ---- the pool -----------------------------------------------------------------------
    let (pool, members): (Pool, Vec<(String, u64)>) = match &pool_name {
        Some(p) => {
            let chosen_at = qm
                .params
                .get("egress_pool")
                .map(|m| m.field.place.clone())
                .unwrap_or_default();
            match d.pool(p) {
                Some(def) => {
                    let mut members: Vec<(String, u64)> = Vec::new();
                    for m in &def.members {
                        match members.iter_mut().find(|(s, _)| s == &m.source) {
                            Some((_, w)) => *w += u64::from(m.weight),
                            None => members.push((m.source.clone(), u64::from(m.weight))),
                        }
                    }
                    (
                        Pool {
                            name: p.clone(),
                            chosen_at,
                            defined_at: Some(prov.at(def.loc)),
                        },
                        members,
                    )
                }
                None => (
                    Pool {
                        name: p.clone(),
                        chosen_at,
                        defined_at: None,
                    },
                    Vec::new(),
                ),
            }
        }
        None => (
            Pool {
                name: "unspecified".into(),
                chosen_at: "no `egress_pool`: KumoMTA's built-in pool of the source `unspecified`"
                    .into(),
                defined_at: None,
            },
            vec![("unspecified".to_string(), 1)],
        ),
    };
    let total: u64 = members.iter().map(|(_, w)| w).sum();

    // ---- shaping ------------------------------------------------------------------------
    // Providers are skipped for non-DNS names (`Name::from_str_relaxed` fails on TSA URLs).
    let providers: Vec<(&Provider, String)> = d
        .providers
        .iter()
        .filter_map(|p| provider_matches(p, &target, &mx).map(|how| (p, how)))
        .collect();
    // Rollup blocks apply when their own domain's site is this site.
    let mut unknown_rollups = Vec::new();
    let site_blocks: Vec<&ShapingBlock> = d
        .shaping
        .iter()
        .map(|b| &**b)
        .filter(|b| match &b.key {
            ShapingKey::Default => false,
            ShapingKey::Domain(k) => {
                if !mx_rollup(&b.shaping.settings) || null_mx {
                    return false;
                }
                if *k == target {
                    return true;
                }
                match q.other_mx.get(k) {
                    Some(hosts) if !hosts.is_empty() => site_name(hosts) == site,
                    Some(_) => false,
                    None => {
                        unknown_rollups.push(k.clone());
                        false
                    }
                }
            }
        })
        .collect();
    let domain_block: Option<&ShapingBlock> = d.shaping.iter().map(|b| &**b).find(|b| {
        matches!(&b.key, ShapingKey::Domain(k) if *k == target) && !mx_rollup(&b.shaping.settings)
    });
    if site_blocks.len() > 1 {
        notes.push(format!(
            "{} blocks roll up to site {site:?} ({}): KumoMTA reports them as ambiguous (KUMO-SHP001)",
            site_blocks.len(),
            site_blocks
                .iter()
                .map(|b| b.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !unknown_rollups.is_empty() && !sink {
        notes.push(format!(
            "{} mx_rollup block(s) of other domains could share this site but their MX is unknown ({}); pass `--snapshot` with their MX records to place them",
            unknown_rollups.len(),
            unknown_rollups.join(", ")
        ));
    }
    let default_block = d
        .shaping
        .iter()
        .map(|b| &**b)
        .find(|b| b.key == ShapingKey::Default);

    let pods = Pods {
        min: d
            .cluster
            .mta
            .autoscale
            .as_ref()
            .map_or(d.cluster.mta.replicas.value, |a| a.min),
        max: d
            .cluster
            .mta
            .autoscale
            .as_ref()
            .map_or(d.cluster.mta.replicas.value, |a| a.max),
        shared: d.cluster.redis.is_some(),
    };

    let layers = merge::Layers {
        default: default_block,
        providers: &providers,
        site: &site_blocks,
        domain: domain_block,
        sink_port: sink.then_some(d.cluster.sink.port),
    };
    let mut sources = Vec::new();
    for (src, weight) in &members {
        let params = merge::effective_shaping(prov, &layers, src);
        let limits = limits_of(&params, &pods);
        let s = d.source(src);
        let setting = |name: &str| {
            s.and_then(|s| s.settings.get(name))
                .map(|x| crate::emit::kumomta::values::toml(&x.value))
                .and_then(|v| match v {
                    crate::emit::kumomta::toml::Value::Str(s) => Some(s),
                    _ => None,
                })
        };
        let egress_address = setting("source_address")
            .or_else(|| setting("ha_proxy_server").and(setting("ha_proxy_source_address")))
            .or_else(|| setting("socks5_proxy_server").and(setting("socks5_proxy_source_address")));
        let ehlo = params
            .get("ehlo_domain")
            .and_then(|x| x.field.value.as_str().map(str::to_string))
            .or_else(|| setting("ehlo_domain"));
        #[allow(clippy::cast_precision_loss)]
        let share = if total == 0 {
            0.0
        } else {
            (*weight as f64) * 100.0 / (total as f64)
        };
        sources.push(SourceRoute {
            name: src.clone(),
            weight: *weight,
            share: (share * 10.0).round() / 10.0,
            ready_queue: format!("{src}->{site}@smtp_client"),
            egress_address,
            ehlo,
            shaping: params.into_values().map(|x| x.field).collect(),
            limits,
        });
    }
    if members.is_empty() {
        notes.push(format!(
            "pool `{}` has no sources: its messages wait until one is added",
            pool.name
        ));
    }

    // ---- automation ---------------------------------------------------------------------
    let mut automation = Vec::new();
    let mut rules = |s: &Shaping, layer: Layer| {
        for r in &s.automation {
            automation.push(rule(r, layer.clone(), prov));
        }
    };
    if let Some(b) = default_block {
        rules(&b.shaping, Layer::Default);
    }
    for (p, _) in &providers {
        rules(&p.shaping, Layer::Provider(p.name.clone()));
    }
    for b in &site_blocks {
        rules(&b.shaping, Layer::Site(b.key.as_str().to_string()));
    }
    if let Some(b) = domain_block {
        rules(&b.shaping, Layer::Domain(b.key.as_str().to_string()));
    }
    if d.cluster.tsa.is_none() && !automation.is_empty() {
        notes.push("there is no TSA (`cluster.tsa`): automation rules never fire".to_string());
    }

    Route {
        domain: domain.clone(),
        environment: d.environment.value.name().to_string(),
        routing_domain: target,
        routing_reason,
        mx,
        mx_origin,
        site_name: site,
        queue: Queue {
            name: queue_name,
            tenant,
            campaign: q.campaign.clone(),
            settings: queue_fields,
        },
        pool,
        sources,
        providers: providers
            .iter()
            .map(|(p, how)| ProviderMatch {
                name: p.name.clone(),
                how: how.clone(),
                place: prov.at(p.loc),
            })
            .collect(),
        automation,
        pods,
        notes,
    }
}

fn rule(r: &Rule, layer: Layer, prov: &Provenance<'_>) -> AutomationRule {
    AutomationRule {
        layer,
        place: prov.at(r.loc),
        regex: r.regex.iter().map(|x| x.value.clone()).collect(),
        actions: r
            .actions
            .iter()
            .map(|a| json_value(&Typed::Action(a.value.clone())))
            .collect(),
        trigger: json_value(&Typed::Trigger(Box::new(r.trigger))),
        duration: kumoc_lang::units::format_duration(r.duration_ms),
    }
}
