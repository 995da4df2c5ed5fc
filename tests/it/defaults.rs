//! Defaults have one home, the schema (`Field::default`), and what it documents is what
//! applies. For every field with a default:
//! - the default types as a value of its field, and the checker reads the default as written
//!   (what hover and docs show) to the same value;
//! - a default kumoc applies (`FieldDefault::Kumoc`) is what a deployment that leaves the
//!   field unset gets: read back from the model, or from the policy for the settings the
//!   emitter writes itself. A reader per such field, and the test fails when a kumoc default
//!   has no reader (or a reader no default), so a new default is covered as soon as it exists.

use std::collections::{BTreeMap, BTreeSet};

use kumoc_compiler::check::HBlock;
use kumoc_compiler::emit::{self, Output};
use kumoc_compiler::model::{Deployment, Probe, ShapingKey};
use kumoc_compiler::schema::{self, BlockSchema, Field, FieldDefault, LabelRule, ROOT};
use kumoc_compiler::value::Typed;
use kumoc_compiler::{FileId, Options, Severity, analyze};

/// Every block schema with its path of keywords from the top level (the first path that
/// reaches it: `automation` is `shaping.automation`), `env` left out (its children are the
/// top-level blocks).
fn blocks() -> Vec<(Vec<&'static str>, &'static BlockSchema)> {
    fn walk(
        b: &'static BlockSchema,
        path: &mut Vec<&'static str>,
        seen: &mut Vec<*const BlockSchema>,
        out: &mut Vec<(Vec<&'static str>, &'static BlockSchema)>,
    ) {
        for c in b.children {
            if c.keyword == "env" || seen.contains(&std::ptr::from_ref(*c)) {
                continue;
            }
            seen.push(std::ptr::from_ref(*c));
            path.push(c.keyword);
            out.push((path.clone(), c));
            walk(c, path, seen, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(&ROOT, &mut Vec::new(), &mut Vec::new(), &mut out);
    out
}

fn fields_with_defaults() -> Vec<(String, &'static BlockSchema, &'static Field)> {
    let mut out = Vec::new();
    for (path, b) in blocks() {
        for f in b.all_fields().filter(|f| f.default.is_some()) {
            out.push((path.join("."), b, f));
        }
    }
    out
}

/// Two values are the same, wherever they were written.
fn same(a: &Typed, b: &Typed) -> bool {
    match (a, b) {
        (Typed::List(x), Typed::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| same(&i.value, &j.value))
        }
        _ => a == b,
    }
}

/// A `.kumo` block header for a block of this schema.
fn header(b: &BlockSchema) -> String {
    match b.label {
        LabelRule::None => b.keyword.to_string(),
        LabelRule::Name => format!("{} \"n\"", b.keyword),
        LabelRule::Domain { .. } => format!("{} \"example.com\"", b.keyword),
        LabelRule::DefaultOrDomain { .. } => format!("{} default", b.keyword),
        LabelRule::Environment => format!("{} staging", b.keyword),
    }
}

#[test]
fn every_default_types_and_reads_back_as_written() {
    let all = fields_with_defaults();
    assert!(all.len() > 90, "the schema's defaults: {}", all.len());
    let by_keyword: BTreeMap<Vec<&str>, &BlockSchema> = blocks().into_iter().collect();
    let mut failures = Vec::new();
    for (path, _, f) in &all {
        let Some(default) = f.default else { continue };
        let Some(lit) = default.lit() else {
            // Described: prose, never a value (hover shows it as is).
            assert!(
                matches!(default, FieldDefault::Described(d) if d.contains(' ') || d == "none"),
                "{path}.{}: a described default is prose",
                f.name
            );
            continue;
        };
        let Some(value) = Typed::of_default(f) else {
            failures.push(format!(
                "{path}.{}: `{}` does not type as {}",
                f.name,
                lit.to_kumo(),
                f.ty.describe()
            ));
            continue;
        };
        // The default as written, in its block, through the checker.
        let keywords: Vec<&str> = path.split('.').collect();
        let mut text = String::new();
        for i in 1..=keywords.len() {
            text.push_str(&header(by_keyword[&keywords[..i].to_vec()]));
            text.push_str(" {\n");
        }
        text.push_str(&format!("{} = {}\n", f.name, lit.to_kumo()));
        text.push_str(&"}\n".repeat(keywords.len()));
        let parse = kumoc_lang::parse(&text);
        assert!(parse.errors.is_empty(), "{text}: {:?}", parse.errors);
        let mut diags = Vec::new();
        let tree = kumoc_compiler::check::check_file(
            FileId(0),
            &text,
            &parse.file.items,
            None,
            &mut diags,
        );
        let mut block: Option<&HBlock> = tree.first();
        for kw in &keywords[1..] {
            block = block.and_then(|b| b.child(kw));
        }
        let checked = block.and_then(|b| b.value(f.name)).map(|v| &v.value);
        match checked {
            Some(read) if diags.is_empty() && same(read, &value) => {}
            _ => failures.push(format!(
                "{path}.{}: `{}` reads as {checked:?} ({diags:?}), the schema means {value:?}",
                f.name,
                lit.to_kumo()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A deployment with every block that has kumoc defaults, and none of those fields set.
const MINIMAL: &str = r#"
deployment "d" {
  namespace   = "mail"
  kumomta     = "2025.03.19-1d3f1f67"
  environment = staging
}
pool shared {
  source a { }
}
shaping default {
  automation {
    regex    = 'kumoc defaults test'
    action   = suspend
    duration = 1h
  }
}
provider "google" { }
smtp_listener { }
http_listener { }
logging { }
cluster {
  pod_cidr = 10.244.0.0/16
  mta {
    ports { }
    autoscale {
      min = 1
      max = 2
      cpu = 80%
    }
    probes {
      readiness { }
      startup { }
      liveness { }
    }
  }
  tsa { }
  sink { enabled = true }
  metrics {
    alerts { }
    dashboard { }
  }
  smtp_load_balancer { }
}
"#;

type Reader = fn(&Deployment, &Output) -> Option<Typed>;

fn int(n: impl Into<i64>) -> Option<Typed> {
    Some(Typed::Int(n.into()))
}

/// `KEY = { "a", "b" }` in the first table of `call` in `init.lua`, as CIDRs.
fn lua_cidrs(out: &Output, call: &str, key: &str) -> Option<Typed> {
    let lua = out.get("policy/init.lua")?;
    let table = &lua[lua.find(call)?..];
    let table = &table[..table.find("\n  }")?];
    let list = table
        .split(&format!("{key} = {{"))
        .nth(1)?
        .split('}')
        .next()?;
    let items = list
        .split(',')
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .map(|s| {
            kumoc_lang::units::parse_cidr(s)
                .ok()
                .map(|c| kumoc_compiler::value::Spanned {
                    value: Typed::Cidr(c),
                    loc: Default::default(),
                })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Typed::List(items))
}

/// The first string after `prefix` in `init.lua`.
fn lua_string(out: &Output, prefix: &str) -> Option<String> {
    let lua = out.get("policy/init.lua")?;
    let rest = &lua[lua.find(prefix)? + prefix.len()..];
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

fn probe(p: &Probe, field: &str) -> Option<Typed> {
    match field {
        "initial_delay" => Some(Typed::Duration(p.initial_delay_ms)),
        "period" => Some(Typed::Duration(p.period_ms)),
        "timeout" => Some(Typed::Duration(p.timeout_ms)),
        "failure_threshold" => int(p.failure_threshold),
        _ => None,
    }
}

/// How to read each kumoc default back from a deployment that does not set it.
fn readers() -> BTreeMap<(&'static str, &'static str), Reader> {
    let mut r: BTreeMap<(&'static str, &'static str), Reader> = BTreeMap::new();
    r.insert(("deployment", "image"), |m, _| {
        Some(Typed::Str(m.image.clone().into()))
    });
    r.insert(("deployment", "create_namespace"), |m, _| {
        Some(Typed::Bool(m.create_namespace))
    });
    r.insert(("pool.source", "weight"), |m, _| {
        int(m.pool("shared")?.members.first()?.weight)
    });
    // The user's automation rule of `shaping default`.
    fn rule(m: &Deployment) -> Option<&kumoc_compiler::model::Rule> {
        let default = m.shaping.iter().find(|b| b.key == ShapingKey::Default)?;
        default
            .shaping
            .automation
            .iter()
            .find(|r| r.regex.iter().any(|x| x.value == "kumoc defaults test"))
    }
    r.insert(("shaping.automation", "trigger"), |m, _| {
        Some(Typed::Trigger(Box::new(rule(m)?.trigger)))
    });
    r.insert(("shaping.automation", "match_internal"), |m, _| {
        Some(Typed::Bool(rule(m)?.match_internal))
    });
    // Without `replace_base`, a user block keeps what the stdlib's block of that name says.
    r.insert(("shaping", "replace_base"), |m, _| {
        let default = m.shaping.iter().find(|b| b.key == ShapingKey::Default)?;
        Some(Typed::Bool(
            !default.shaping.settings.contains_key("connection_limit"),
        ))
    });
    r.insert(("provider", "replace_base"), |m, _| {
        let google = m.providers.iter().find(|p| p.name == "google")?;
        Some(Typed::Bool(google.matches.is_empty()))
    });
    // The SMTP LoadBalancer Service, as written.
    fn lb_spec(out: &Output) -> Option<serde_json::Value> {
        let o: serde_json::Value =
            serde_norway::from_str(out.get("k8s/service-mta-smtp-lb.yaml")?).ok()?;
        Some(o["spec"].clone())
    }
    r.insert(("cluster.smtp_load_balancer", "port"), |_, out| {
        int(lb_spec(out)?["ports"][0]["port"].as_i64()?)
    });
    r.insert(
        ("cluster.smtp_load_balancer", "external_traffic_policy"),
        |_, out| {
            let policy = lb_spec(out)?["externalTrafficPolicy"].as_str()?.to_string();
            let field =
                kumoc_compiler::schema::SMTP_LOAD_BALANCER.field("external_traffic_policy")?;
            let kumoc_compiler::schema::Ty::Enum(variants) = &field.ty else {
                return None;
            };
            variants.iter().find(|v| v.kumo == policy).map(Typed::Enum)
        },
    );
    // Written into the policy by the emitter itself.
    r.insert(("smtp_listener", "relay_hosts"), |_, out| {
        lua_cidrs(out, "kumo.start_esmtp_listener {", "relay_hosts")
    });
    r.insert(("http_listener", "trusted_hosts"), |m, out| {
        let listen = format!(
            "listen = \"0.0.0.0:{}\",\n    trusted_hosts",
            m.cluster.mta.http_port.value
        );
        let lua = out.get("policy/init.lua")?;
        let at = lua.find(&listen)?;
        let start = lua[..at].rfind("kumo.start_http_listener {")?;
        let mut one = Output::default();
        one.add("policy/init.lua", lua[start..].to_string());
        lua_cidrs(&one, "kumo.start_http_listener {", "trusted_hosts")
    });
    r.insert(("logging", "filter"), |_, out| {
        lua_string(out, "kumo.set_diagnostic_log_filter(").map(|s| Typed::Str(s.into()))
    });
    r.insert(("logging", "max_segment_duration"), |_, out| {
        let text = lua_string(out, "max_segment_duration = ")?;
        kumoc_lang::units::parse_duration_literal(&text)
            .ok()
            .map(Typed::Duration)
    });
    r.insert(("cluster.mta", "replicas"), |m, _| {
        int(m.cluster.mta.replicas.value)
    });
    r.insert(("cluster.mta", "spool"), |m, _| {
        Some(Typed::Size(m.cluster.mta.spool_bytes.value))
    });
    r.insert(("cluster.mta", "termination_grace_period"), |m, _| {
        Some(Typed::Duration(m.cluster.mta.termination_grace_ms))
    });
    r.insert(("cluster.mta.ports", "http"), |m, _| {
        int(m.cluster.mta.http_port.value)
    });
    r.insert(("cluster.mta.ports", "metrics"), |m, _| {
        int(m.cluster.mta.metrics_port.value)
    });
    r.insert(("cluster.mta.ports", "smtp"), |m, _| {
        int(m.cluster.mta.smtp_port.value)
    });
    r.insert(("cluster.mta.probes.readiness", "initial_delay"), |m, _| {
        probe(&m.cluster.mta.readiness, "initial_delay")
    });
    r.insert(("cluster.mta.probes.readiness", "period"), |m, _| {
        probe(&m.cluster.mta.readiness, "period")
    });
    r.insert(("cluster.mta.probes.readiness", "timeout"), |m, _| {
        probe(&m.cluster.mta.readiness, "timeout")
    });
    r.insert(
        ("cluster.mta.probes.readiness", "failure_threshold"),
        |m, _| probe(&m.cluster.mta.readiness, "failure_threshold"),
    );
    r.insert(("cluster.mta.probes.startup", "initial_delay"), |m, _| {
        probe(&m.cluster.mta.startup, "initial_delay")
    });
    r.insert(("cluster.mta.probes.startup", "period"), |m, _| {
        probe(&m.cluster.mta.startup, "period")
    });
    r.insert(("cluster.mta.probes.startup", "timeout"), |m, _| {
        probe(&m.cluster.mta.startup, "timeout")
    });
    r.insert(
        ("cluster.mta.probes.startup", "failure_threshold"),
        |m, _| probe(&m.cluster.mta.startup, "failure_threshold"),
    );
    r.insert(("cluster.mta.probes.liveness", "initial_delay"), |m, _| {
        probe(&m.cluster.mta.liveness, "initial_delay")
    });
    r.insert(("cluster.mta.probes.liveness", "period"), |m, _| {
        probe(&m.cluster.mta.liveness, "period")
    });
    r.insert(("cluster.mta.probes.liveness", "timeout"), |m, _| {
        probe(&m.cluster.mta.liveness, "timeout")
    });
    r.insert(
        ("cluster.mta.probes.liveness", "failure_threshold"),
        |m, _| probe(&m.cluster.mta.liveness, "failure_threshold"),
    );
    r.insert(("cluster.tsa", "enabled"), |m, _| {
        Some(Typed::Bool(m.cluster.tsa.is_some()))
    });
    r.insert(("cluster.tsa", "replicas"), |m, _| {
        int(m.cluster.tsa.as_ref()?.replicas.value)
    });
    r.insert(("cluster.tsa", "port"), |m, _| {
        int(m.cluster.tsa.as_ref()?.port)
    });
    r.insert(("cluster.tsa", "storage"), |m, _| {
        Some(Typed::Size(m.cluster.tsa.as_ref()?.storage_bytes))
    });
    r.insert(("cluster.tsa", "pre_filter"), |m, _| {
        Some(Typed::Bool(m.cluster.tsa.as_ref()?.pre_filter))
    });
    r.insert(("cluster.tsa", "cache_ttl"), |m, _| {
        Some(Typed::Duration(m.cluster.tsa.as_ref()?.cache_ttl_ms))
    });
    r.insert(("cluster.sink", "replicas"), |m, _| {
        int(m.cluster.sink.replicas)
    });
    r.insert(("cluster.sink", "port"), |m, _| int(m.cluster.sink.port));
    r.insert(("cluster.metrics", "enabled"), |m, _| {
        Some(Typed::Bool(m.cluster.metrics.enabled))
    });
    r.insert(("cluster.metrics", "service_monitor"), |m, _| {
        Some(Typed::Bool(m.cluster.metrics.service_monitor))
    });
    r.insert(("cluster.metrics", "interval"), |m, _| {
        Some(Typed::Duration(m.cluster.metrics.interval_ms))
    });
    r.insert(("cluster.mta.autoscale", "on"), |m, _| {
        let name = match m.cluster.mta.autoscale.as_ref()?.on.value {
            kumoc_compiler::model::AutoscaleOn::Cpu => "cpu",
            kumoc_compiler::model::AutoscaleOn::QueueDepth => "queue_depth",
        };
        let schema::Ty::Enum(variants) = &schema::AUTOSCALE.field("on")?.ty else {
            return None;
        };
        Some(Typed::Enum(variants.iter().find(|v| v.name == name)?))
    });
    r.insert(("cluster.mta.autoscale", "queue_depth"), |m, _| {
        int(i64::try_from(m.cluster.mta.autoscale.as_ref()?.queue_depth).ok()?)
    });
    r.insert(("cluster.mta.autoscale", "polling_interval"), |m, _| {
        Some(Typed::Duration(
            m.cluster.mta.autoscale.as_ref()?.polling_interval_ms,
        ))
    });
    r.insert(("cluster.metrics.alerts", "enabled"), |m, out| {
        Some(Typed::Bool(
            m.cluster.metrics.alerts.is_some() && out.get("k8s/prometheusrule-mta.yaml").is_some(),
        ))
    });
    r.insert(("cluster.metrics.alerts", "for"), |m, _| {
        Some(Typed::Duration(m.cluster.metrics.alerts.as_ref()?.for_ms))
    });
    r.insert(("cluster.metrics.alerts", "queue_growth"), |m, _| {
        int(i64::try_from(m.cluster.metrics.alerts.as_ref()?.queue_growth).ok()?)
    });
    r.insert(("cluster.metrics.alerts", "queue_growth_window"), |m, _| {
        Some(Typed::Duration(
            m.cluster.metrics.alerts.as_ref()?.queue_growth_window_ms,
        ))
    });
    r.insert(("cluster.metrics.alerts", "failure_ratio"), |m, _| {
        Some(Typed::Percent(
            m.cluster.metrics.alerts.as_ref()?.failure_ratio.value,
        ))
    });
    r.insert(("cluster.metrics.alerts", "transfail_ratio"), |m, _| {
        Some(Typed::Percent(
            m.cluster.metrics.alerts.as_ref()?.transfail_ratio.value,
        ))
    });
    r.insert(("cluster.metrics.alerts", "spool_free"), |m, _| {
        Some(Typed::Percent(
            m.cluster.metrics.alerts.as_ref()?.spool_free.value,
        ))
    });
    r.insert(("cluster.metrics.alerts", "restarts"), |m, _| {
        int(m.cluster.metrics.alerts.as_ref()?.restarts)
    });
    r.insert(("cluster.metrics.dashboard", "enabled"), |m, out| {
        Some(Typed::Bool(
            m.cluster.metrics.dashboard.is_some()
                && out.get("k8s/configmap-dashboard.yaml").is_some(),
        ))
    });
    r
}

#[test]
fn kumoc_applies_the_defaults_it_documents() {
    let a = analyze(
        &[("d.kumo".to_string(), MINIMAL.as_bytes().to_vec())],
        &Options::default(),
    );
    let errors: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let model = a.checked_model().expect("a model");
    let out = emit::emit(model, &a.places());

    let readers = readers();
    let mut documented = BTreeSet::new();
    let mut failures = Vec::new();
    for (path, _, f) in fields_with_defaults() {
        let Some(FieldDefault::Kumoc(lit)) = f.default else {
            continue;
        };
        let key = (path.clone(), f.name);
        documented.insert((path.clone(), f.name.to_string()));
        let Some(read) = readers
            .iter()
            .find(|((p, n), _)| (*p, *n) == (key.0.as_str(), key.1))
            .map(|(_, r)| r)
        else {
            failures.push(format!(
                "{path}.{}: a kumoc default without a reader here",
                f.name
            ));
            continue;
        };
        let want = Typed::applied_default(f);
        let got = read(model, &out);
        match (&want, &got) {
            (Some(w), Some(g)) if same(w, g) => {}
            _ => failures.push(format!(
                "{path}.{}: documented `{}` ({want:?}), applied {got:?}",
                f.name,
                lit.to_kumo()
            )),
        }
    }
    for (p, n) in readers.keys() {
        assert!(
            documented.contains(&(p.to_string(), n.to_string())),
            "{p}.{n}: a reader for a field without a kumoc default"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The lint rules and the emitters that need a default read it from the schema; here the ones
/// they read exist and are what they say.
#[test]
fn the_defaults_rules_rely_on_exist() {
    let kumo = |b: &'static BlockSchema, name: &str| -> Option<Typed> {
        Typed::of_default(b.field(name)?)
    };
    assert_eq!(
        kumo(&schema::QUEUE, "max_age"),
        Some(Typed::Duration(7 * 86_400_000))
    );
    assert_eq!(
        kumo(&schema::QUEUE, "retry_interval"),
        Some(Typed::Duration(20 * 60_000))
    );
    assert_eq!(kumo(&schema::SHAPING, "max_ready"), Some(Typed::Int(1024)));
    assert_eq!(
        schema::HTTP_LISTENER
            .field("trusted_hosts")
            .and_then(|f| f.default),
        Some(FieldDefault::Kumoc(schema::Lit::Cidrs(schema::LOOPBACK)))
    );
}
