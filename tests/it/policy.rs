//! The emitted Lua policies, run by a real Lua 5.4 (as KumoMTA embeds) against a faithful
//! stub of `kumo`, `tsa` and the policy-extras helpers (`tests/lua/kumo_stub.lua`), which
//! rejects unknown functions, parameter names and types. Events are fired the way kumod
//! fires them and the test asserts what the policy did.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::build::build_example;
use crate::lua_harness::{Arg, MessageSpec, Policy};
use kumoc_compiler::Environment;

const VERSION: &str = "2025.03.19-1d3f1f67";

struct Deployed {
    root: PathBuf,
}

impl Deployed {
    /// Write the build's policy files and the mounted Secret files a pod would have.
    fn new(env: Option<Environment>, tag: &str) -> Self {
        let root = std::env::temp_dir().join(format!("kumoc-policy-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let out = build_example(env);
        for (path, content) in &out.files {
            if let Some(name) = path.strip_prefix("policy/") {
                write(&root.join("policy").join(name), content);
            }
        }
        let files = root.join("files");
        write(
            &files.join("opt/kumomta/etc/dkim/dkim-keys/example.com.default.key"),
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        );
        write(
            &files.join("opt/kumomta/etc/http_listener_keys/alice"),
            "s3cret\n",
        );
        write(
            &files.join("opt/kumomta/etc/secrets/redis-auth/password"),
            "redis-pass\n",
        );
        // What a path traversal would reach: a file whose content an attacker can guess.
        write(&files.join("etc/hostname"), "example-com-0\n");
        Self { root }
    }

    fn load(&self, file: &str) -> Policy {
        Policy::load(
            &self.root.join("policy"),
            &self.root.join("files"),
            file,
            VERSION,
        )
        .unwrap_or_else(|e| panic!("{file} does not load: {e}"))
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn message(tenant: Option<&str>) -> MessageSpec {
    let mut headers = vec![("Subject".to_string(), "hello".to_string())];
    if let Some(t) = tenant {
        headers.push(("X-Tenant".into(), t.into()));
    }
    MessageSpec {
        from_header: "News <news@example.com>".into(),
        sender: "bounces@example.com".into(),
        recipient: "someone@gmail.com".into(),
        headers,
        meta: vec![],
    }
}

fn names(p: &Policy) -> Vec<String> {
    p.calls().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn init_lua_sets_up_helpers_in_order_and_validates() {
    for (env, tag) in [(None, "s1"), (Some(Environment::Production), "p1")] {
        let d = Deployed::new(env, tag);
        let p = d.load("init.lua");
        // Helper setup order at top level: sources, DKIM, shaping, then queues last.
        let setups: Vec<String> = names(&p)
            .into_iter()
            .filter(|n| n.ends_with(":setup") || n.ends_with(":setup_with_automation"))
            .collect();
        assert_eq!(
            setups,
            [
                "sources:setup",
                "dkim_sign:setup",
                "shaping:setup_with_automation",
                "queue:setup"
            ],
            "{tag}"
        );
        // The queue helper is the last get_queue_config handler; nothing answers before the shaper.
        let events = p.registered_events();
        let gqc: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| *e == "get_queue_config")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            gqc.len(),
            2,
            "shaping helper and queue helper only: {events:?}"
        );
        // kumod --validate passes (2025.03.19 needs http_timeout in the validation options).
        let v = p.call_validate().unwrap();
        assert!(!v.failed, "{tag}: validation failed: {:?}", v.output);
        assert!(p.warnings().is_empty(), "{tag}: {:?}", p.warnings());
    }
}

#[test]
fn init_event_defines_spools_logs_redis_listeners_and_tsa_publishing() {
    let d = Deployed::new(None, "s2");
    let p = d.load("init.lua");
    p.clear_calls();
    p.fire("init", vec![]).unwrap();
    let spools = p.calls_named("kumo.define_spool");
    assert_eq!(spools.len(), 2);
    assert_eq!(
        spools[0][0],
        json!({ "name": "data", "path": "/var/spool/kumomta/data", "kind": "RocksDB" })
    );
    assert_eq!(spools[1][0]["name"], "meta");
    assert_eq!(
        p.calls_named("kumo.configure_local_logs")[0][0]["log_dir"],
        "/var/log/kumomta"
    );
    let redis = &p.calls_named("kumo.configure_redis_throttles")[0][0];
    assert_eq!(
        redis["node"], "rediss://dragonfly.dragonflydb.svc.cluster.local:6379",
        "a typed value, not an env string"
    );
    assert_eq!(
        redis["password"], "redis-pass",
        "read from the mounted Secret at init, not written in the policy"
    );
    let smtp = &p.calls_named("kumo.start_esmtp_listener")[0][0];
    assert_eq!(smtp["listen"], "0.0.0.0:2500");
    assert_eq!(
        smtp["relay_hosts"],
        json!(["10.244.0.0/16"]),
        "only the declared relay hosts: no open relay"
    );
    let http = p.calls_named("kumo.start_http_listener");
    assert_eq!(http.len(), 2, "the API listener and the metrics listener");
    assert_eq!(http[0][0]["listen"], "0.0.0.0:8000");
    assert_eq!(http[0][0]["trusted_hosts"], json!(["127.0.0.1", "::1"]));
    assert_eq!(
        http[1][0]["listen"], "0.0.0.0:8080",
        "the metrics port really listens"
    );
    assert_eq!(
        http[1][0]["trusted_hosts"],
        json!(["10.244.7.0/24"]),
        "only the scrapers' network"
    );
    assert_eq!(
        p.calls_named("kumo.set_diagnostic_log_filter")[0][0],
        "kumod=info"
    );
    assert_eq!(p.calls_named("kumo.configure_bounce_classifier").len(), 1);
    let publish: Vec<(String, Vec<Json>, String)> = p
        .calls_with_context()
        .into_iter()
        .filter(|(n, _, _)| n == "shaper.setup_publish")
        .collect();
    assert_eq!(publish.len(), 1);
    assert_eq!(publish[0].2, "init", "setup_publish runs inside init");
}

#[test]
fn queue_config_answers_tsa_publishers_and_mail_queues() {
    let d = Deployed::new(None, "s3");
    let p = d.load("init.lua");
    let tsa = "http://example-com-tsa-1.example-com-tsa-headless.kumomta.svc.cluster.local:8008.tsa.kumomta";
    let q = p
        .fire(
            "get_queue_config",
            vec![Arg::Str(tsa.into()), Arg::Nil, Arg::Nil, Arg::Nil],
        )
        .unwrap();
    assert_eq!(
        q[0]["protocol"]["custom_lua"]["constructor"],
        format!("make.{}", tsa.trim_end_matches(".tsa.kumomta")) + ".tsa.kumomta",
        "{q:?}"
    );
    let q = p
        .fire(
            "get_queue_config",
            vec![
                Arg::Str("gmail.com".into()),
                Arg::Str("default-tenant".into()),
                Arg::Nil,
                Arg::Nil,
            ],
        )
        .unwrap();
    assert_eq!(q[0]["egress_pool"], "shared");
    assert_eq!(q[0]["max_age"], "1d");
    assert_eq!(q[0]["retry_interval"], "20m");
    assert_eq!(q[0]["max_retry_interval"], "4h");
}

#[test]
fn reception_checks_conformance_assigns_queue_routes_to_sink_and_signs_last() {
    for (env, tag, sink) in [
        (None, "s4", true),
        (Some(Environment::Production), "p4", false),
    ] {
        let d = Deployed::new(env, tag);
        let p = d.load("init.lua");
        for event in ["smtp_server_message_received", "http_message_generated"] {
            p.clear_calls();
            p.fire(
                event,
                vec![
                    Arg::Message(message(Some("default-tenant"))),
                    Arg::Json(json!({})),
                ],
            )
            .unwrap();
            let calls = names(&p);
            let pos = |n: &str| {
                calls
                    .iter()
                    .position(|c| c == n)
                    .unwrap_or_else(|| panic!("{tag} {event}: no {n} in {calls:?}"))
            };
            assert!(
                pos("msg:check_fix_conformance") < pos("queue_helper:apply"),
                "{calls:?}"
            );
            assert_eq!(
                calls.last().map(String::as_str),
                Some("msg:dkim_sign"),
                "{tag} {event}: DKIM signing is last: {calls:?}"
            );
            let last_meta = calls.iter().rposition(|c| c == "msg:set_meta").unwrap();
            assert!(
                last_meta < pos("dkim_sign:signer"),
                "{tag} {event}: signing after routing: {calls:?}"
            );
            let state = p.message_state();
            assert_eq!(state["meta"]["tenant"], "default-tenant");
            let headers = state["headers"].to_string();
            assert!(
                !headers.contains("X-Tenant"),
                "the tenant header is removed: {headers}"
            );
            if sink {
                assert_eq!(
                    state["meta"]["routing_domain"], "example-com-sink.kumomta.svc.cluster.local",
                    "{tag}"
                );
            } else {
                assert!(
                    state["meta"]
                        .get("routing_domain")
                        .is_none_or(Json::is_null),
                    "{tag}: production mail is not routed to a sink"
                );
            }
            let signer = p.calls_named("dkim_signer");
            assert_eq!(
                signer[0][0]["key"],
                "/opt/kumomta/etc/dkim/dkim-keys/example.com.default.key"
            );
            assert_eq!(signer[0][0]["selector"], "default");
        }
        // A message without a tenant header gets the default tenant.
        p.fire(
            "http_message_generated",
            vec![Arg::Message(message(None)), Arg::Nil],
        )
        .unwrap();
        assert_eq!(p.message_state()["meta"]["tenant"], "default-tenant");
        // An undefined tenant is rejected, as the queue helper does.
        assert!(
            p.fire(
                "http_message_generated",
                vec![Arg::Message(message(Some("nobody"))), Arg::Nil]
            )
            .is_err()
        );
        assert_eq!(p.last_rejection().map(|r| r.0), Some(500));
    }
}

#[test]
fn basic_auth_reads_only_valid_user_files() {
    let d = Deployed::new(None, "s5");
    let p = d.load("init.lua");
    let auth = |user: Arg, password: Arg| {
        p.fire("http_server_validate_auth_basic", vec![user, password])
            .unwrap()
    };
    let s = |x: &str| Arg::Str(x.into());
    assert_eq!(auth(s("alice"), s("s3cret")), [json!(true)]);
    assert_eq!(auth(s("alice"), s("wrong")), [json!(false)]);
    assert_eq!(auth(s("alice"), Arg::Nil), [json!(false)], "no password");
    assert_eq!(
        auth(s("mallory"), s("s3cret")),
        [json!(false)],
        "no such user"
    );
    // Traversal: these would open files outside the key directory whose content is known.
    for user in [
        "../../../../etc/hostname",
        "../../../etc/hostname",
        "./alice",
        ".alice",
        "a/b",
        "/etc/hostname",
        "",
    ] {
        assert_eq!(
            auth(s(user), s("example-com-0")),
            [json!(false)],
            "{user:?} must not authenticate"
        );
    }
}

#[test]
fn egress_paths_come_from_the_shaper() {
    let d = Deployed::new(Some(Environment::Production), "p6");
    let p = d.load("init.lua");
    p.set_mx("example.net", "mx.example.net", &["mx.example.net"]);
    let path = p
        .fire(
            "get_egress_path_config",
            vec![
                Arg::Str("example.net".into()),
                Arg::Str("shared-00".into()),
                Arg::Str("mx.example.net".into()),
            ],
        )
        .unwrap();
    assert_eq!(
        path[0]["enable_tls"], "Required",
        "production requires TLS everywhere"
    );
    assert_eq!(path[0]["connection_limit"], 10, "the stdlib default");
}

#[test]
fn tsa_init_loads_the_same_shaping_files() {
    let d = Deployed::new(None, "s7");
    let p = d.load("tsa_init.lua");
    p.fire("tsa_init", vec![]).unwrap();
    let calls = names(&p);
    let db = calls
        .iter()
        .position(|c| c == "tsa.configure_tsa_db_path")
        .unwrap();
    let listener = calls
        .iter()
        .position(|c| c == "tsa.start_http_listener")
        .unwrap();
    assert!(db < listener, "the database path comes before the listener");
    assert_eq!(
        p.calls_named("tsa.configure_tsa_db_path")[0][0],
        "/var/spool/kumomta/tsa.db"
    );
    let l = &p.calls_named("tsa.start_http_listener")[0][0];
    assert_eq!(l["listen"], "0.0.0.0:8008");
    assert_eq!(
        l["trusted_hosts"],
        json!(["10.244.0.0/16"]),
        "every MTA pod may publish"
    );
    p.clear_calls();
    p.fire("tsa_load_shaping_data", vec![]).unwrap();
    let loads = p.calls_named("kumo.shaping.load");
    assert_eq!(loads[0][0], json!(["/opt/kumomta/etc/policy/shaping.toml"]));
    let mta = d.load("init.lua");
    let extra = &mta.calls_named("shaping:setup_with_automation")[0][0]["extra_files"];
    assert_eq!(extra, &loads[0][0], "MTAs and TSA load the same rule files");
}

#[test]
fn sink_accepts_from_the_mta_pods_and_drops_everything() {
    let d = Deployed::new(None, "s8");
    let p = d.load("sink.lua");
    p.fire("init", vec![]).unwrap();
    let smtp = &p.calls_named("kumo.start_esmtp_listener")[0][0];
    assert_eq!(
        smtp["relay_hosts"],
        json!(["10.244.0.0/16"]),
        "never 0.0.0.0/0"
    );
    for event in ["smtp_server_message_received", "http_message_generated"] {
        p.fire(event, vec![Arg::Message(message(None)), Arg::Nil])
            .unwrap();
        assert_eq!(p.message_state()["meta"]["queue"], "null");
    }
}

#[test]
fn metrics_listener_is_limited_to_metrics_where_kumomta_has_acls() {
    let src = "deployment \"acl\" {\n  namespace = \"mail\"\n  kumomta = \"2026.03.04-bb93ecb1\"\n  environment = production\n}\npool p {\n  source s {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\ncluster {\n  pod_cidr = 10.244.0.0/16\n  metrics {\n    scraper_cidrs = [10.244.7.0/24]\n  }\n}\n";
    let a = kumoc_compiler::analyze(
        &[("acl.kumo".into(), src.as_bytes().to_vec())],
        &Default::default(),
    );
    assert!(
        !a.has_errors() && !a.diagnostics.iter().any(|d| d.code == "K2014"),
        "no K2014 warning where ACLs exist: {}",
        crate::support::human(&a)
    );
    let out = a.emit().unwrap();
    let root = std::env::temp_dir().join(format!("kumoc-acl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            write(&root.join("policy").join(name), content);
        }
    }
    std::fs::create_dir_all(root.join("files")).unwrap();
    let p = Policy::load(
        &root.join("policy"),
        &root.join("files"),
        "init.lua",
        "2026.03.04-bb93ecb1",
    )
    .unwrap();
    let acl = |r: &str| {
        p.fire("get_acl_definition", vec![Arg::Str(r.into())])
            .unwrap()
    };
    let allow = acl("http_listener/10.244.1.5:8080/metrics");
    assert_eq!(allow[0]["acl"][0]["access"], "Allow");
    assert_eq!(allow[0]["acl"][0]["privilege"], "GET");
    assert_eq!(
        allow[0]["acl"][0]["criteria"]["Identity"]["Group"],
        "kumomta:http-listener-trusted-ip"
    );
    assert_eq!(
        acl("http_listener/10.244.1.5:8080/metrics.json")[0]["acl"][0]["access"],
        "Allow"
    );
    for denied in [
        "http_listener/10.244.1.5:8080/api/admin/bounce/v1",
        "http_listener/10.244.1.5:8080/api/inject/v1",
        "http_listener/10.244.1.5:8080",
        "http_listener/[::1]:8080/api/admin",
    ] {
        let rules = acl(denied);
        let rules = rules[0]["acl"].as_array().unwrap();
        assert!(
            rules.iter().all(|r| r["access"] == "Deny")
                && rules.iter().any(|r| r["privilege"] == "POST"),
            "{denied}: {rules:?}"
        );
    }
    for default in [
        "http_listener/10.244.1.5:8000/api/admin",
        "http_listener/*/api/admin",
        "http_listener",
    ] {
        assert!(
            acl(default).is_empty(),
            "{default} keeps KumoMTA's default ACLs"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
