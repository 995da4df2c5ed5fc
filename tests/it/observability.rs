//! Alerts, dashboard and queue-depth autoscaling against their real consumers: the
//! PrometheusRule and ScaledObject against their CRDs' schemas (strict), every rule through
//! `promtool check rules`, the alerts through `promtool test rules` with synthetic series
//! (queue growth, failure ratio, disk), and every dashboard panel's and KEDA's PromQL
//! through promtool's parser. promtool comes from Debian's `prometheus` package (`.ci/run`
//! installs it); without it the promtool tests print why and pass.
//!
//! Also: `docs/metrics.md`'s table is the metrics table of `kumoc_compiler::metrics`, and
//! every metric a query names is in that table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use kumoc_compiler::Environment;
use serde_json::{Value, json};

use crate::k8s::{manifests, validator};
use crate::support::{fixture_files, root};

fn production() -> BTreeMap<String, Value> {
    manifests(Some(Environment::Production)).0
}

fn promtool() -> Option<PathBuf> {
    let out = Command::new("promtool").arg("--version").output().ok()?;
    out.status.success().then(|| PathBuf::from("promtool"))
}

/// Skips (passing) with a message when promtool is not installed.
macro_rules! need_promtool {
    () => {
        match promtool() {
            Some(p) => p,
            None => {
                eprintln!(
                    "promtool not found: skipped (apt-get install -y prometheus, as .ci/run does)"
                );
                return;
            }
        }
    };
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kumoc-obs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool: &Path, args: &[&str], cwd: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn write_yaml(path: &Path, v: &Value) {
    std::fs::write(path, serde_norway::to_string(v).unwrap()).unwrap();
}

fn rule_groups(objects: &BTreeMap<String, Value>) -> Value {
    objects["k8s/prometheusrule-mta.yaml"]["spec"]["groups"].clone()
}

fn dashboard(objects: &BTreeMap<String, Value>) -> Value {
    let cm = &objects["k8s/configmap-dashboard.yaml"];
    let text = cm["data"]["example-com.json"]
        .as_str()
        .expect("the dashboard's JSON");
    serde_json::from_str(text).expect("the dashboard is JSON")
}

/// Every PromQL expression of the dashboard, with Grafana's `$__rate_interval` as a duration.
fn panel_exprs(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "5m");
            out.push((p["title"].as_str().unwrap().to_string(), expr));
        }
    }
    out
}

fn keda_query(objects: &BTreeMap<String, Value>) -> String {
    let so = &objects["k8s/scaledobject-mta.yaml"];
    so["spec"]["triggers"][0]["metadata"]["query"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn production_example_has_the_objects_and_they_match_their_crds() {
    let objects = production();
    for file in [
        "k8s/prometheusrule-mta.yaml",
        "k8s/configmap-dashboard.yaml",
        "k8s/scaledobject-mta.yaml",
    ] {
        assert!(objects.contains_key(file), "{file} missing");
    }
    // KEDA replaces the HPA; scale-in stays disabled like the HPA's.
    assert!(!objects.contains_key("k8s/hpa-mta.yaml"));
    let so = &objects["k8s/scaledobject-mta.yaml"];
    assert_eq!(
        so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["selectPolicy"],
        "Disabled"
    );
    assert_eq!(so["spec"]["scaleTargetRef"]["kind"], "StatefulSet");
    let trigger = &so["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "prometheus");
    assert!(
        trigger["metadata"]["serverAddress"]
            .as_str()
            .is_some_and(|s| s.starts_with("http"))
    );
    assert!(
        trigger["metadata"]["threshold"]
            .as_str()
            .is_some_and(|t| t.parse::<u64>().is_ok_and(|n| n > 0))
    );
    // The StatefulSet leaves `replicas` to the autoscaler.
    assert!(objects["k8s/statefulset-mta.yaml"]["spec"]["replicas"].is_null());
    // Grafana's sidecar picks the ConfigMap up by its label.
    let cm = &objects["k8s/configmap-dashboard.yaml"];
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    // The ServiceMonitor keeps KumoMTA's `service` label (the queries read it).
    assert_eq!(
        objects["k8s/servicemonitor-mta.yaml"]["spec"]["endpoints"][0]["honorLabels"],
        true
    );
    crate::k8s::validate_all(&objects);
    // The CRD schemas are strict: a misspelt field fails.
    let mut pr = objects["k8s/prometheusrule-mta.yaml"].clone();
    pr["spec"]["groups"][0]["rules"][0]["recrod"] = json!("x");
    assert!(!validator("../crds/prometheusrule-monitoring-v1").is_valid(&pr));
    let mut so = so.clone();
    so["spec"]["pollingIntervall"] = json!(30);
    assert!(!validator("../crds/scaledobject-keda-v1alpha1").is_valid(&so));
}

/// The names a PromQL expression reads as metrics: identifiers before `{` or `[`, and
/// `__name__` alternatives.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_:".contains(&bytes[i]))
            {
                i += 1;
            }
            if bytes.get(i) == Some(&b'{') {
                names.insert(expr[start..i].to_string());
            }
        } else if c == b'"' {
            // Skip label values.
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    if let Some(rest) = expr.split("__name__=~\"").nth(1) {
        for n in rest.split('"').next().unwrap_or("").split('|') {
            names.insert(n.to_string());
        }
    }
    names
}

#[test]
fn every_query_names_metrics_of_the_table() {
    let objects = production();
    let mut known: BTreeSet<String> = BTreeSet::new();
    for m in kumoc_compiler::metrics::ALL {
        known.insert(m.name.to_string());
        if m.kind == kumoc_compiler::metrics::MetricKind::Histogram {
            known.insert(format!("{}_count", m.name));
        }
    }
    known.insert("kumomta:queued_messages:sum".to_string());
    let mut exprs: Vec<String> = Vec::new();
    for g in rule_groups(&objects).as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            exprs.push(r["expr"].as_str().unwrap().to_string());
        }
    }
    exprs.extend(
        panel_exprs(&dashboard(&objects))
            .into_iter()
            .map(|(_, e)| e),
    );
    exprs.push(keda_query(&objects));
    let mut seen = BTreeSet::new();
    for e in &exprs {
        let names = metric_names(e);
        assert!(!names.is_empty(), "{e}: reads no metric");
        for n in names {
            assert!(
                known.contains(&n),
                "{e}: `{n}` is not in kumoc_compiler::metrics"
            );
            seen.insert(n);
        }
    }
    // The community dashboards' `scheduled_queue_count` counts queues, not messages.
    assert!(!seen.contains("scheduled_queue_count"));
    assert!(seen.contains("scheduled_count") && seen.contains("ready_count"));
}

#[test]
fn metrics_doc_is_the_table() {
    let path = root().join("docs/metrics.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (
        "<!-- metrics table: begin -->\n",
        "<!-- metrics table: end -->",
    );
    let table = kumoc_compiler::metrics::markdown_table();
    let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
        panic!("docs/metrics.md lacks the table markers");
    };
    let fresh = format!("{}{begin}{table}{}", &text[..a], &text[b..]);
    if std::env::var_os("KUMOC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    assert_eq!(
        text, fresh,
        "docs/metrics.md is stale: run `KUMOC_UPDATE_DOCS=1 cargo test --test it metrics_doc`"
    );
}

#[test]
fn promtool_checks_the_rules_and_every_query() {
    let tool = need_promtool!();
    let objects = production();
    let dir = scratch("check");
    write_yaml(
        &dir.join("rules.yaml"),
        &json!({ "groups": rule_groups(&objects) }),
    );
    let (ok, out) = run(&tool, &["check", "rules", "rules.yaml"], &dir);
    assert!(ok, "promtool check rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
    // The dashboard's and KEDA's queries, as recording rules promtool parses.
    let mut rules: Vec<Value> = panel_exprs(&dashboard(&objects))
        .into_iter()
        .enumerate()
        .map(|(i, (_, e))| json!({ "record": format!("kumoc:panel_{i}"), "expr": e }))
        .collect();
    rules.push(json!({ "record": "kumoc:keda", "expr": keda_query(&objects) }));
    let n = rules.len();
    write_yaml(
        &dir.join("queries.yaml"),
        &json!({ "groups": [{ "name": "queries", "rules": rules }] }),
    );
    let (ok, out) = run(&tool, &["check", "rules", "queries.yaml"], &dir);
    assert!(
        ok,
        "promtool check rules (dashboard and KEDA queries):\n{out}"
    );
    assert!(out.contains(&format!("{n} rules found")), "{out}");
    // promtool refuses a broken expression (the check can fail).
    write_yaml(
        &dir.join("broken.yaml"),
        &json!({ "groups": [{ "name": "b", "rules": [{ "record": "x", "expr": "sum(" }] }] }),
    );
    assert!(!run(&tool, &["check", "rules", "broken.yaml"], &dir).0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `promtool test rules` over synthetic series of two pods: `example-com-0` queues mail
/// fast and fails 30% of its deliveries, with a spool at 15% free; `example-com-1` is
/// healthy. The alerts must fire for the first pod only. (Annotations are left out of the
/// tested copy: their templates are checked by `promtool check rules`.)
#[test]
fn promtool_unit_tests_fire_the_alerts() {
    let tool = need_promtool!();
    let objects = production();
    let mut groups = rule_groups(&objects);
    for g in groups.as_array_mut().unwrap() {
        for r in g["rules"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("annotations");
        }
    }
    let dir = scratch("test");
    write_yaml(&dir.join("rules.yaml"), &json!({ "groups": groups }));
    let target = |pod: &str| {
        format!(
            "job=\"example-com-headless\",namespace=\"kumomta\",instance=\"{pod}:8080\",pod=\"{pod}\""
        )
    };
    let (bad, good) = (target("example-com-0"), target("example-com-1"));
    let series = json!([
        // Growing by 200 messages a minute: 12,000 an hour.
        { "series": format!("scheduled_count{{{bad},queue=\"example.net\"}}"), "values": "0+200x180" },
        { "series": format!("ready_count{{{bad},service=\"smtp_client:shared->example.net\"}}"), "values": "5x180" },
        // The rollup must not count twice.
        { "series": format!("ready_count{{{bad},service=\"smtp_client\"}}"), "values": "5x180" },
        { "series": format!("total_messages_delivered{{{bad},service=\"smtp_client\"}}"), "values": "0+60x180" },
        { "series": format!("total_messages_fail{{{bad},service=\"smtp_client\"}}"), "values": "0+30x180" },
        { "series": format!("total_messages_transfail{{{bad},service=\"smtp_client\"}}"), "values": "0+10x180" },
        { "series": format!("disk_free_percent{{{bad},name=\"data spool\"}}"), "values": "15x180" },
        { "series": format!("disk_free_inodes_percent{{{bad},name=\"data spool\"}}"), "values": "80x180" },
        { "series": format!("scheduled_count{{{good},queue=\"example.net\"}}"), "values": "100x180" },
        { "series": format!("total_messages_delivered{{{good},service=\"smtp_client\"}}"), "values": "0+100x180" },
        { "series": format!("total_messages_fail{{{good},service=\"smtp_client\"}}"), "values": "0+1x180" },
        { "series": format!("total_messages_transfail{{{good},service=\"smtp_client\"}}"), "values": "0+5x180" },
        { "series": format!("disk_free_percent{{{good},name=\"data spool\"}}"), "values": "70x180" },
        { "series": format!("disk_free_inodes_percent{{{good},name=\"data spool\"}}"), "values": "90x180" },
        { "series": format!("up{{{bad}}}"), "values": "1x180" },
        { "series": format!("up{{{good}}}"), "values": "1x180" },
    ]);
    let pod_labels = |alert: &str, severity: &str| json!({ "alertname": alert, "severity": severity, "namespace": "kumomta", "pod": "example-com-0" });
    let mut growing = pod_labels("KumoQueueGrowing", "warning");
    growing["job"] = json!("example-com-headless");
    let mut disk = pod_labels("KumoDiskLow", "critical");
    disk["name"] = json!("data spool");
    let test = json!({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [{
                "expr": "kumomta:queued_messages:sum",
                "eval_time": "10m",
                "exp_samples": [
                    { "labels": "kumomta:queued_messages:sum{job=\"example-com-headless\",namespace=\"kumomta\",pod=\"example-com-0\"}", "value": 2005 },
                    { "labels": "kumomta:queued_messages:sum{job=\"example-com-headless\",namespace=\"kumomta\",pod=\"example-com-1\"}", "value": 100 },
                ],
            }],
            "alert_rule_test": [
                // delta() over 1h passes 10,000 at about 50m (extrapolated); `for: 15m` more.
                { "alertname": "KumoQueueGrowing", "eval_time": "60m", "exp_alerts": [] },
                { "alertname": "KumoQueueGrowing", "eval_time": "90m", "exp_alerts": [{ "exp_labels": growing }] },
                { "alertname": "KumoDeliveryFailures", "eval_time": "10m", "exp_alerts": [] },
                { "alertname": "KumoDeliveryFailures", "eval_time": "40m", "exp_alerts": [{ "exp_labels": pod_labels("KumoDeliveryFailures", "warning") }] },
                // 10% transient failures stay below the 50% threshold.
                { "alertname": "KumoDeliveryTransientFailures", "eval_time": "40m", "exp_alerts": [] },
                { "alertname": "KumoDiskLow", "eval_time": "40m", "exp_alerts": [{ "exp_labels": disk }] },
                { "alertname": "KumoMtaDown", "eval_time": "40m", "exp_alerts": [] },
            ],
        }],
    });
    write_yaml(&dir.join("test.yaml"), &test);
    let (ok, out) = run(&tool, &["test", "rules", "test.yaml"], &dir);
    assert!(ok, "promtool test rules:\n{out}");
    assert!(out.contains("SUCCESS"), "{out}");
    // The test can fail: a threshold the series never reach is reported.
    let mut wrong = test.clone();
    wrong["tests"][0]["alert_rule_test"][2]["exp_alerts"] =
        json!([{ "exp_labels": pod_labels("KumoDeliveryFailures", "warning") }]);
    write_yaml(&dir.join("wrong.yaml"), &wrong);
    assert!(!run(&tool, &["test", "rules", "wrong.yaml"], &dir).0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Redis alert and panel need `redis_operation_latency` (KumoMTA 2026.03.04-bb93ecb1 on):
/// absent on the example's 2025.03.19 release, present (and valid PromQL) on a newer one.
#[test]
fn the_redis_alert_follows_the_release() {
    let has_redis = |objects: &BTreeMap<String, Value>| {
        let rules = rule_groups(objects).to_string();
        let panels = dashboard(objects).to_string();
        (
            rules.contains("KumoRedisErrors"),
            panels.contains("redis_operation_latency_count"),
        )
    };
    assert_eq!(has_redis(&production()), (false, false));
    let files: Vec<(String, Vec<u8>)> = fixture_files(&root().join("examples/example-com"))
        .into_iter()
        .map(|(name, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            (
                name,
                text.replace("2025.03.19-1d3f1f67", "2026.03.04-bb93ecb1")
                    .into_bytes(),
            )
        })
        .collect();
    let options = kumoc_compiler::Options {
        env: Some(Environment::Production),
        ..Default::default()
    };
    let out = kumoc_compiler::analyze(&files, &options)
        .emit()
        .expect("the example builds on 2026.03.04-bb93ecb1");
    let objects: BTreeMap<String, Value> = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("k8s/") && !k.ends_with("kustomization.yaml"))
        .map(|(k, v)| (k.clone(), serde_norway::from_str::<Value>(v).unwrap()))
        .collect();
    assert_eq!(has_redis(&objects), (true, true));
    crate::k8s::validate_all(&objects);
    let tool = need_promtool!();
    let dir = scratch("redis");
    write_yaml(
        &dir.join("rules.yaml"),
        &json!({ "groups": rule_groups(&objects) }),
    );
    let (ok, out) = run(&tool, &["check", "rules", "rules.yaml"], &dir);
    assert!(ok, "promtool check rules:\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
