//! The shaping merge with layers: the effective settings of one source, merged in KumoMTA's
//! order, each with the layer and the `.kumo` place it came from, and the connection limits
//! and rates they make across the MTA pods.

use std::collections::BTreeMap;

use crate::emit::Provenance;
use crate::model::{MapEntries, Provider, Settings, Shaping, ShapingBlock};
use crate::value::Typed;

use super::{Field, Layer, Limit, Pods};

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
pub(super) struct Merged {
    pub typed: Option<Typed>,
    pub field: Field,
}

pub(super) struct Merger<'p> {
    pub prov: &'p Provenance<'p>,
    pub params: BTreeMap<String, Merged>,
}

impl<'p> Merger<'p> {
    fn place(&self, loc: crate::source::Loc) -> (String, Option<String>) {
        let place = self.prov.at(loc);
        (place.clone(), overlay_of(&place))
    }
    pub fn settings(&mut self, s: &Settings, layer: &Layer, skip: &[&str]) {
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

/// The shaping blocks that apply to a destination, in KumoMTA's merge order
/// (`ShapingInner::get_egress_path_config`).
pub(super) struct Layers<'a> {
    /// `shaping default`.
    pub default: Option<&'a ShapingBlock>,
    /// The matching providers, each with the rule that matched.
    pub providers: &'a [(&'a Provider, String)],
    /// The `mx_rollup` blocks of the destination's site.
    pub site: &'a [&'a ShapingBlock],
    /// The exact domain block (`mx_rollup = false`).
    pub domain: Option<&'a ShapingBlock>,
    /// The sink's port when the sink is on: its derived block follows the domain's.
    pub sink_port: Option<u16>,
}

/// The effective shaping of the source `src`: the layers merged in KumoMTA's order, then the
/// key fields nothing set, at KumoMTA's default.
pub(super) fn effective_shaping(
    prov: &Provenance<'_>,
    layers: &Layers<'_>,
    src: &str,
) -> BTreeMap<String, Merged> {
    let Layers {
        default: default_block,
        providers,
        site: site_blocks,
        domain: domain_block,
        sink_port,
    } = *layers;
    let mut m = Merger {
        prov,
        params: BTreeMap::new(),
    };
    if let Some(b) = default_block {
        m.shaping(&b.shaping, &Layer::Default, &["mx_rollup", "replace_base"]);
    }
    for (p, _) in providers {
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
    for (p, _) in providers {
        if let Some(ps) = p.shaping.sources.iter().find(|s| s.name == src) {
            let layer = Layer::ProviderSource(p.name.clone());
            m.settings(&ps.settings, &layer, PROVIDER_ONLY);
            m.maps(&ps.maps, &layer);
            implied(&mut m, p, src, &p.shaping.settings, Some(&ps.settings));
        }
    }
    for b in site_blocks {
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
    if let Some(port) = sink_port {
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
            serde_json::Value::from(port),
            None,
            "the sink's block (cluster.sink.enabled)",
        );
    }
    for b in site_blocks.iter().copied().chain(domain_block) {
        if let Some(s) = b.shaping.sources.iter().find(|s| s.name == src) {
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
    m.params
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

/// Connection limits and throttles of the effective settings, per pod and for the cluster.
pub(super) fn limits_of(params: &BTreeMap<String, Merged>, pods: &Pods) -> Vec<Limit> {
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
