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

use std::collections::BTreeMap;

use serde::Serialize;

use crate::emit::Provenance;
use crate::emit::names::Names;
use crate::model::{
    Deployment, MapEntries, Provider, Rule, Settings, Shaping, ShapingBlock, ShapingKey,
};
use crate::value::{MatchRule, Typed};

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

/// The fields always shown, with KumoMTA's default when nothing sets them.
const KEY_FIELDS: &[&str] = &[
    "connection_limit",
    "max_connection_rate",
    "max_deliveries_per_connection",
    "max_message_rate",
    "max_ready",
    "enable_tls",
    "enable_mta_sts",
];

/// Settings of a provider block that are not egress path parameters (KumoMTA's
/// `ProviderEntry` keeps them apart from `params`).
const PROVIDER_ONLY: &[&str] = &[
    "provider_connection_limit",
    "provider_max_message_rate",
    "provider_source_selection_rate",
    "replace_base",
    "mx_rollup",
];

/// The derived sink block, as `emit/kumomta/data.rs` writes it into `shaping.toml` (a test
/// holds the two together).
pub const SINK_SETTINGS: &[(&str, &str)] = &[
    ("mx_rollup", "false"),
    ("enable_tls", "\"Disabled\""),
    ("enable_mta_sts", "false"),
    ("connection_limit", "32"),
    ("prohibited_hosts", "[\"127.0.0.0/8\", \"::1\"]"),
];

/// KumoMTA's site name for MX hosts in preference order: `factor_names` in
/// `crates/dns-resolver/src/lib.rs` (labels reversed, the distinct labels of each position
/// in order of first appearance, `(a|b)` for several, `?` where a host is shorter). A NULL
/// MX (`.`, or no host) has the empty site name.
pub fn site_name(hosts: &[String]) -> String {
    let names: Vec<Vec<String>> = hosts
        .iter()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .map(|h| h.split('.').rev().map(str::to_string).collect())
        .collect();
    let longest = names.iter().map(Vec::len).max().unwrap_or(0);
    fn add(elements: &mut Vec<Vec<String>>, i: usize, field: &str) {
        match elements.get_mut(i) {
            Some(e) if e.iter().any(|x| x == field) => {}
            Some(e) => e.push(field.to_string()),
            None => elements.push(vec![field.to_string()]),
        }
    }
    let mut elements: Vec<Vec<String>> = Vec::new();
    for fields in &names {
        for (i, f) in fields.iter().enumerate() {
            add(&mut elements, i, f);
        }
        for i in fields.len()..longest {
            add(&mut elements, i, "?");
        }
    }
    let mut out: Vec<String> = elements
        .into_iter()
        .map(|mut e| {
            let q = e.iter().any(|x| x == "?");
            e.retain(|x| x != "?");
            let mut t = if let [one] = e.as_slice() {
                one.clone()
            } else {
                format!("({})", e.join("|"))
            };
            if q {
                t.push('?');
            }
            t
        })
        .collect();
    out.reverse();
    out.join(".")
}

/// MX records (preference, host) in KumoMTA's order (`lookup_mx_record`): by preference,
/// hosts sorted within one preference, lowercased.
pub fn order_mx(records: &[(u16, String)]) -> Vec<String> {
    let mut prefs: Vec<(u16, Vec<String>)> = Vec::new();
    for (pref, host) in records {
        let host = host.to_ascii_lowercase();
        match prefs.iter_mut().find(|(p, _)| p == pref) {
            Some((_, hosts)) => hosts.push(host),
            None => prefs.push((*pref, vec![host])),
        }
    }
    prefs.sort_by_key(|(p, _)| *p);
    prefs
        .into_iter()
        .flat_map(|(_, mut hosts)| {
            hosts.sort();
            hosts
        })
        .collect()
}

/// KumoMTA's `kumo.domain_map` lookup (`crates/domain-map/src/lib.rs`, `DomainMap::get`):
/// walk the labels from the top; where no child has the label, a `*` child answers; an
/// exact path whose node holds no value answers nothing (no fallback to a wildcard above).
pub fn domain_map_get<'a, T>(entries: &'a [(String, T)], domain: &str) -> Option<&'a T> {
    // A small trie over the keys' reversed labels, built per lookup (routes are one-off).
    #[derive(Default)]
    struct Node {
        value: Option<usize>,
        children: BTreeMap<String, Node>,
    }
    let mut top = Node::default();
    for (i, (key, _)) in entries.iter().enumerate() {
        let mut cur = &mut top;
        for seg in key.rsplit('.') {
            cur = cur.children.entry(seg.to_string()).or_default();
        }
        cur.value = Some(i);
    }
    let mut cur = &top;
    let labels: Vec<&str> = domain.rsplit('.').collect();
    for (i, seg) in labels.iter().enumerate() {
        match cur.children.get(*seg) {
            Some(node) => {
                if i + 1 == labels.len() {
                    return node.value.and_then(|v| entries.get(v)).map(|(_, t)| t);
                }
                cur = node;
            }
            None => {
                let wild = cur.children.get("*")?;
                return wild.value.and_then(|v| entries.get(v)).map(|(_, t)| t);
            }
        }
    }
    None
}

/// A value in KumoMTA's spelling, as JSON.
pub fn json_value(v: &Typed) -> serde_json::Value {
    toml_to_json(&crate::emit::kumomta::values::toml(v))
}

fn toml_to_json(v: &crate::emit::kumomta::toml::Value) -> serde_json::Value {
    use crate::emit::kumomta::toml::Value as T;
    match v {
        T::Str(s) => serde_json::Value::String(s.clone()),
        T::Int(n) => serde_json::Value::from(*n),
        T::Bool(b) => serde_json::Value::Bool(*b),
        T::Array(items) => serde_json::Value::Array(items.iter().map(toml_to_json).collect()),
        T::Inline(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// A value being merged: the typed value (for limits), its JSON and where it came from.
#[derive(Clone)]
struct Merged {
    typed: Option<Typed>,
    field: Field,
}

struct Merger<'p> {
    prov: &'p Provenance<'p>,
    params: BTreeMap<String, Merged>,
}

impl<'p> Merger<'p> {
    fn place(&self, loc: crate::source::Loc) -> (String, Option<String>) {
        let place = self.prov.at(loc);
        (place.clone(), overlay_of(&place))
    }
    fn settings(&mut self, s: &Settings, layer: &Layer, skip: &[&str]) {
        for (name, setting) in s {
            if skip.contains(name) {
                continue;
            }
            let (place, overlay) = self.place(setting.loc);
            self.params.insert(
                (*name).to_string(),
                Merged {
                    typed: Some(setting.value.clone()),
                    field: Field {
                        name: (*name).to_string(),
                        value: json_value(&setting.value),
                        layer: layer.clone(),
                        place,
                        overlay,
                    },
                },
            );
        }
    }
    /// The `additional_*` maps merge key by key (`toml_table_merge_from`).
    fn maps(&mut self, maps: &BTreeMap<&'static str, MapEntries>, layer: &Layer) {
        for (kw, entries) in maps {
            for (key, v) in entries {
                let (place, overlay) = self.place(v.loc);
                let name = format!("{kw}.{key:?}");
                self.params.insert(
                    name.clone(),
                    Merged {
                        typed: Some(v.value.clone()),
                        field: Field {
                            name,
                            value: json_value(&v.value),
                            layer: layer.clone(),
                            place,
                            overlay,
                        },
                    },
                );
            }
        }
    }
    fn shaping(&mut self, s: &Shaping, layer: &Layer, skip: &[&str]) {
        self.settings(&s.settings, layer, skip);
        self.maps(&s.maps, layer);
    }
    fn derived(&mut self, name: &str, value: serde_json::Value, typed: Option<Typed>, why: &str) {
        self.params.insert(
            name.to_string(),
            Merged {
                typed,
                field: Field {
                    name: name.to_string(),
                    value,
                    layer: Layer::Derived,
                    place: format!("derived: {why}"),
                    overlay: None,
                },
            },
        );
    }
}

/// `production.kumo: env production > shaping default > x` is in overlay `production`.
fn overlay_of(place: &str) -> Option<String> {
    let path = place.split_once(": ").map_or("", |(_, p)| p);
    path.strip_prefix("env ")
        .map(|rest| rest.split(" > ").next().unwrap_or(rest).to_string())
}

/// Whether a shaping block rolls up by MX: `mx_rollup` as set, else its default.
fn mx_rollup(s: &Settings) -> bool {
    s.value_or_default(&crate::schema::SHAPING, "mx_rollup")
        .and_then(|v| v.as_bool())
        != Some(false)
}

/// Whether a provider matches (`ProviderEntry::domain_matches`): any `domain_suffix` is a
/// plain, case-sensitive `ends_with` on the domain (a trailing dot stripped); otherwise, when
/// there are `mx_suffix` / `host_name` rules, every MX host must match one of them.
fn provider_matches(p: &Provider, domain: &str, mx: &[String]) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    for m in &p.matches {
        if let MatchRule::DomainSuffix(s) = &m.value {
            if domain.ends_with(s.as_str()) {
                return Some(format!("domain_suffix({s:?})"));
            }
        }
    }
    let mx_rules: Vec<&MatchRule> = p
        .matches
        .iter()
        .map(|m| &m.value)
        .filter(|m| !matches!(m, MatchRule::DomainSuffix(_)))
        .collect();
    if mx_rules.is_empty() || mx.is_empty() {
        return None;
    }
    let mut used: Vec<String> = Vec::new();
    for host in mx {
        let host = host.trim_end_matches('.');
        let hit = mx_rules.iter().find(|r| match r {
            MatchRule::MxSuffix(s) => host.ends_with(s.as_str()),
            MatchRule::HostName(h) => host == h.trim_end_matches('.'),
            MatchRule::DomainSuffix(_) => false,
        })?;
        let how = match hit {
            MatchRule::MxSuffix(s) => format!("mx_suffix({s:?})"),
            MatchRule::HostName(h) => format!("host_name({h:?})"),
            MatchRule::DomainSuffix(s) => format!("domain_suffix({s:?})"),
        };
        if !used.contains(&how) {
            used.push(how);
        }
    }
    Some(format!("every MX host matches {}", used.join(", ")))
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
            ShapingKey::Domain(k) => Some((k.clone(), r)),
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
    let domain_block: Option<&ShapingBlock> = d.shaping.iter().find(|b| {
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
    let default_block = d.shaping.iter().find(|b| b.key == ShapingKey::Default);

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

    let mut sources = Vec::new();
    for (src, weight) in &members {
        let mut m = Merger {
            prov,
            params: BTreeMap::new(),
        };
        if let Some(b) = default_block {
            m.shaping(&b.shaping, &Layer::Default, &["mx_rollup", "replace_base"]);
        }
        for (p, _) in &providers {
            let layer = Layer::Provider(p.name.clone());
            m.shaping(&p.shaping, &layer, PROVIDER_ONLY);
            m.derived(
                "provider_name",
                serde_json::Value::String(p.name.clone()),
                None,
                &format!("the matching provider {}", p.name),
            );
            implied(&mut m, p, src, &p.shaping.settings, None);
        }
        for (p, _) in &providers {
            if let Some(ps) = p.shaping.sources.iter().find(|s| &s.name == src) {
                let layer = Layer::ProviderSource(p.name.clone());
                m.settings(&ps.settings, &layer, PROVIDER_ONLY);
                m.maps(&ps.maps, &layer);
                implied(&mut m, p, src, &p.shaping.settings, Some(&ps.settings));
            }
        }
        for b in &site_blocks {
            m.shaping(
                &b.shaping,
                &Layer::Site(b.key.as_str().to_string()),
                &["mx_rollup", "replace_base"],
            );
        }
        if let Some(b) = domain_block {
            m.shaping(
                &b.shaping,
                &Layer::Domain(b.key.as_str().to_string()),
                &["mx_rollup", "replace_base"],
            );
        }
        if sink {
            for (name, value) in SINK_SETTINGS {
                if *name == "mx_rollup" {
                    continue;
                }
                let v: serde_json::Value =
                    serde_json::from_str(value).unwrap_or(serde_json::Value::Null);
                let typed = match *name {
                    "connection_limit" => Some(Typed::Limit(kumoc_lang::units::Limit {
                        local: false,
                        limit: 32,
                    })),
                    _ => None,
                };
                m.derived(name, v, typed, "the sink's block (cluster.sink.enabled)");
            }
            m.derived(
                "smtp_port",
                serde_json::Value::from(d.cluster.sink.port),
                None,
                "the sink's block (cluster.sink.enabled)",
            );
        }
        for b in site_blocks.iter().copied().chain(domain_block) {
            if let Some(s) = b.shaping.sources.iter().find(|s| &s.name == src) {
                let layer = Layer::SourceOverride(b.key.as_str().to_string());
                m.settings(&s.settings, &layer, &[]);
                m.maps(&s.maps, &layer);
            }
        }
        for key in KEY_FIELDS {
            if m.params.contains_key(*key) {
                continue;
            }
            let default = crate::schema::EGRESS_FIELDS
                .iter()
                .find(|f| f.name == *key)
                .and_then(|f| f.default_text())
                .unwrap_or_else(|| "none".to_string());
            m.params.insert(
                (*key).to_string(),
                Merged {
                    typed: None,
                    field: Field {
                        name: (*key).to_string(),
                        value: serde_json::Value::String(default),
                        layer: Layer::BuiltIn,
                        place: "KumoMTA default".into(),
                        overlay: None,
                    },
                },
            );
        }
        let limits = limits_of(&m.params, &pods);
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
        let ehlo = m
            .params
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
            shaping: m.params.into_values().map(|x| x.field).collect(),
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

/// The limits a provider implies for a source (`apply_provider_params_to`): its connection
/// limit, message rate and (from a provider `source` block) selection rate, under
/// `shaping-provider-<provider>-<source>-...` names.
fn implied(m: &mut Merger<'_>, p: &Provider, src: &str, base: &Settings, over: Option<&Settings>) {
    let pick = |name: &str| {
        over.and_then(|o| o.get(name))
            .or_else(|| base.get(name))
            .cloned()
    };
    for (field, map, suffix) in [
        (
            "provider_connection_limit",
            "additional_connection_limits",
            "limit",
        ),
        (
            "provider_max_message_rate",
            "additional_message_rate_throttles",
            "rate",
        ),
        (
            "provider_source_selection_rate",
            "additional_source_selection_rates",
            "selection-rate",
        ),
    ] {
        if let Some(s) = pick(field) {
            let name = format!("{map}.\"shaping-provider-{}-{src}-{suffix}\"", p.name);
            let (place, overlay) = m.place(s.loc);
            m.params.insert(
                name.clone(),
                Merged {
                    typed: Some(s.value.clone()),
                    field: Field {
                        name,
                        value: json_value(&s.value),
                        layer: Layer::Provider(p.name.clone()),
                        place,
                        overlay,
                    },
                },
            );
        }
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
        trigger: json_value(&Typed::Trigger(r.trigger)),
        duration: kumoc_lang::units::format_duration(r.duration_ms),
    }
}

/// Connection limits and throttles of the effective settings, per pod and for the cluster.
fn limits_of(params: &BTreeMap<String, Merged>, pods: &Pods) -> Vec<Limit> {
    let mut out = Vec::new();
    for (name, m) in params {
        let (value, local, n) = match &m.typed {
            Some(Typed::Limit(l)) => (l.to_kumo_string(), l.local, l.limit),
            Some(Typed::Rate(r)) => (r.to_kumo(), r.local, r.limit),
            _ => continue,
        };
        let per_pod = local || !pods.shared;
        let cluster = if !per_pod {
            value.clone()
        } else {
            let unit = value
                .split_once('/')
                .map(|(_, u)| format!("/{u}"))
                .unwrap_or_default();
            if pods.min == pods.max {
                format!("{}{unit}", n.saturating_mul(u64::from(pods.max)))
            } else {
                format!(
                    "{}..{}{unit}",
                    n.saturating_mul(u64::from(pods.min)),
                    n.saturating_mul(u64::from(pods.max))
                )
            }
        };
        out.push(Limit {
            name: name.clone(),
            value,
            per_pod,
            cluster,
        });
    }
    out
}

/// The route as text for a terminal, showing at most `top` sources (the heaviest; JSON has
/// them all).
pub fn render_human(r: &Route, top: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "route for {} ({})", r.domain, r.environment);
    if let Some(why) = &r.routing_reason {
        let _ = writeln!(s, "  routed via {}: {why}", r.routing_domain);
    }
    let _ = writeln!(
        s,
        "  MX ({}): {}",
        r.mx_origin,
        if r.mx.is_empty() {
            "none (NULL MX)".to_string()
        } else {
            r.mx.join(", ")
        }
    );
    let _ = writeln!(s, "  site name: {:?}", r.site_name);
    let _ = writeln!(s, "\nqueue {}", r.queue.name);
    for f in &r.queue.settings {
        field_line(&mut s, f);
    }
    let _ = writeln!(s, "\npool {} ({})", r.pool.name, r.pool.chosen_at);
    if let Some(at) = &r.pool.defined_at {
        let _ = writeln!(s, "  defined at {at}");
    }
    if !r.providers.is_empty() {
        let _ = writeln!(s, "\nproviders");
        for p in &r.providers {
            let _ = writeln!(s, "  {}: {} ({})", p.name, p.how, p.place);
        }
    }
    let pods = if r.pods.min == r.pods.max {
        format!("{} MTA pods", r.pods.max)
    } else {
        format!("{}..{} MTA pods", r.pods.min, r.pods.max)
    };
    let mut order: Vec<&SourceRoute> = r.sources.iter().collect();
    order.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.name.cmp(&b.name)));
    let hidden = order.len().saturating_sub(top.max(1));
    for src in order.into_iter().take(top.max(1)) {
        let _ = writeln!(
            s,
            "\nsource {} (weight {}, {}% of messages) -> ready queue {}",
            src.name, src.weight, src.share, src.ready_queue
        );
        let _ = writeln!(
            s,
            "  leaves from {}, EHLO {}",
            src.egress_address
                .as_deref()
                .unwrap_or("the node's NAT address (no source address)"),
            src.ehlo
                .as_deref()
                .unwrap_or("the pod name (no ehlo_domain)")
        );
        for f in &src.shaping {
            field_line(&mut s, f);
        }
        if !src.limits.is_empty() {
            let _ = writeln!(
                s,
                "  limits across {pods} ({}):",
                if r.pods.shared {
                    "Redis shares those not written local:"
                } else {
                    "no Redis: every pod enforces its own"
                }
            );
            for l in &src.limits {
                let _ = writeln!(
                    s,
                    "    {:<44} {:>12} {} -> cluster {}",
                    l.name,
                    l.value,
                    if l.per_pod { "per pod" } else { "shared " },
                    l.cluster
                );
            }
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            s,
            "\n+{hidden} more sources (`--top N` shows more, `--format json` lists all)"
        );
    }
    if !r.automation.is_empty() {
        let _ = writeln!(s, "\nautomation rules that can fire");
        for a in &r.automation {
            let actions: Vec<String> = a.actions.iter().map(action_text).collect();
            let _ = writeln!(
                s,
                "  {} for {}, trigger {}: {} ({})",
                actions.join(" + "),
                a.duration,
                compact(&a.trigger),
                a.regex
                    .iter()
                    .map(|x| format!("'{x}'"))
                    .collect::<Vec<_>>()
                    .join(" | "),
                a.place
            );
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\nnotes");
        for n in &r.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

/// `{"SetConfig":{"name":"x","value":1}}` → `SetConfig(x = 1)`; `"Suspend"` → `Suspend`.
fn action_text(v: &serde_json::Value) -> String {
    if let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) {
        if let (Some(name), Some(value)) = (body.get("name"), body.get("value")) {
            return format!("{kind}({} = {})", compact(name), compact(value));
        }
        return format!("{kind}({})", compact(body));
    }
    compact(v)
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field_line(s: &mut String, f: &Field) {
    use std::fmt::Write as _;
    let layer = match &f.overlay {
        Some(env) => format!("env {env} > {}", f.layer.describe()),
        None => f.layer.describe(),
    };
    let _ = writeln!(
        s,
        "  {:<44} {:<14} {:<28} {}",
        f.name,
        compact(&f.value),
        layer,
        f.place
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// KumoMTA's own tests of `factor_names` (`crates/dns-resolver/src/lib.rs`).
    #[test]
    fn site_names_match_kumomta() {
        assert_eq!(
            site_name(&s(&[
                "mta5.am0.yahoodns.net",
                "mta6.am0.yahoodns.net",
                "mta7.am0.yahoodns.net"
            ])),
            "(mta5|mta6|mta7).am0.yahoodns.net"
        );
        assert_eq!(
            site_name(&s(&[
                "mta5.AM0.yahoodns.net",
                "mta6.am0.yAHOodns.net",
                "mta7.am0.yahoodns.net"
            ])),
            "(mta5|mta6|mta7).am0.yahoodns.net"
        );
        assert_eq!(
            site_name(&s(&[
                "gmail-smtp-in.l.google.com",
                "alt1.gmail-smtp-in.l.google.com",
                "alt2.gmail-smtp-in.l.google.com",
                "alt3.gmail-smtp-in.l.google.com",
                "alt4.gmail-smtp-in.l.google.com",
            ])),
            "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com"
        );
        assert_eq!(
            site_name(&s(&[
                "example-com.mail.protection.outlook.com.",
                "mx-biz.mail.am0.yahoodns.net.",
                "mx-biz.mail.am0.yahoodns.net.",
            ])),
            "(example-com|mx-biz).mail.(protection|am0).(outlook|yahoodns).(com|net)"
        );
        assert_eq!(
            site_name(&s(&[
                "mx-biz.mail.am0.yahoodns.net.",
                "mx-biz.mail.am0.yahoodns.net.",
                "example-com.mail.protection.outlook.com.",
            ])),
            "(mx-biz|example-com).mail.(am0|protection).(yahoodns|outlook).(net|com)"
        );
    }

    #[test]
    fn mx_order_is_by_preference_then_name() {
        let recs = vec![
            (20, "B.example.net.".to_string()),
            (10, "z.example.net.".to_string()),
            (20, "a.example.net.".to_string()),
        ];
        assert_eq!(
            order_mx(&recs),
            s(&["z.example.net.", "a.example.net.", "b.example.net."])
        );
    }

    /// KumoMTA's own test of `DomainMap::get` (`crates/domain-map/src/lib.rs`).
    #[test]
    fn domain_map_matches_kumomta() {
        let map = vec![
            ("*.example.com".to_string(), 42),
            ("example.com".to_string(), 24),
            ("omg.wtf.woot.example.com".to_string(), 128),
        ];
        assert_eq!(domain_map_get(&map, "foo.com"), None);
        assert_eq!(domain_map_get(&map, "example.com"), Some(&24));
        assert_eq!(domain_map_get(&map, "lemon.example.com"), Some(&42));
        assert_eq!(domain_map_get(&map, "lemon.cake.example.com"), Some(&42));
        assert_eq!(domain_map_get(&map, "woot.example.com"), None);
        assert_eq!(domain_map_get(&map, "wtf.woot.example.com"), None);
        assert_eq!(domain_map_get(&map, "omg.wtf.woot.example.com"), Some(&128));
    }
}
