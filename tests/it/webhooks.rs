//! Event webhooks: the emitted `init.lua` run in the Lua harness with a port of
//! `policy-extras.log_hooks`: what is registered (the log hook with its record types, the
//! hook's queue with its retry settings, the constructor), in which order, and what the
//! constructor sends and how it answers the endpoint's statuses.

use std::path::Path;

use kumoc_compiler::emit;
use serde_json::json;

use crate::lua_harness::{Arg, MessageSpec, Policy};
use crate::support::build_production;

const VERSION: &str = "2025.03.19-1d3f1f67";

const DEPLOYMENT: &str = r#"
deployment "t" {
  namespace   = "mail"
  kumomta     = "2025.03.19-1d3f1f67"
  environment = production
}
pool main {
  source main-00 {
    ehlo_domain = "mta.example.com"
  }
}
webhook events {
  url            = "https://hooks.example.com/kumo"
  records        = [delivery, bounce, transient_failure, feedback]
  headers        = ["Subject", "X-Customer-ID"]
  meta           = ["tenant", "campaign"]
  secret_header  = secret("hooks", "authorization")
  retry_interval = 30s
  max_age        = 2d
}
webhook audit {
  url = "https://audit.example.com/in"
}
secret "hooks" {
  keys = ["authorization"]
}
// TSA publishing is a log hook too: both coexist.
cluster {
  pod_cidr = 10.244.0.0/16
  tsa {
    replicas = 2
  }
}
"#;

fn build(text: &str) -> emit::Output {
    build_production("hooks.kumo", text)
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn webhooks_register_log_hooks_queues_and_constructors() {
    let out = build(DEPLOYMENT);
    crate::vault::validate_manifests(&out);
    // The Secret holding the header is mounted where the constructor reads it.
    let sts = &out.files["k8s/statefulset-mta.yaml"];
    assert!(sts.contains("path: hooks/authorization"), "{sts}");

    let root = std::env::temp_dir().join(format!("kumoc-webhooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            write(&root.join("policy").join(name), content);
        }
    }
    write(
        &root.join("files/opt/kumomta/etc/secrets/hooks/authorization"),
        "Bearer s3cret\n",
    );
    let p = Policy::load(
        &root.join("policy"),
        &root.join("files"),
        "init.lua",
        VERSION,
    )
    .unwrap_or_else(|e| panic!("init.lua does not load: {e}"));

    // Set up at top level, in name order, before the queue helper.
    let setups: Vec<String> = p
        .calls()
        .into_iter()
        .filter(|(n, _)| n.ends_with(":setup") || n.ends_with(":new") || n.ends_with("automation"))
        .map(|(n, a)| match n.as_str() {
            "log_hooks:new" => format!("log_hooks:new {}", a[0]["name"].as_str().unwrap()),
            _ => n,
        })
        .collect();
    assert_eq!(
        setups,
        [
            "sources:setup",
            "dkim_sign:setup",
            "shaping:setup_with_automation",
            "log_hooks:new audit",
            "log_hooks:new events",
            "queue:setup"
        ]
    );

    // pre_init configures the hooks: `events` with its record types, `audit` with all.
    p.fire("pre_init", vec![]).unwrap();
    let hooks = p.calls_named("kumo.configure_log_hook");
    let by_name = |n: &str| {
        hooks
            .iter()
            .find(|h| h[0]["name"] == n)
            .unwrap_or_else(|| panic!("no hook {n}: {hooks:?}"))[0]
            .clone()
    };
    assert_eq!(by_name("audit"), json!({ "name": "audit" }));
    assert_eq!(
        by_name("events"),
        json!({
            "name": "events",
            "headers": ["Subject", "X-Customer-ID"],
            "meta": ["tenant", "campaign"],
            "per_record": {
                "Any": { "enable": false },
                "Bounce": { "enable": true },
                "Delivery": { "enable": true },
                "Feedback": { "enable": true },
                "TransientFailure": { "enable": true },
            },
        })
    );
    p.fire("init", vec![]).unwrap();
    assert!(!p.call_validate().unwrap().failed, "{:?}", p.output());

    // The hook's queue: its own protocol and retry settings (the helper's 20m default kept).
    p.clear_calls();
    p.fire(
        "get_queue_config",
        vec![
            Arg::Str("events.log_hook".into()),
            Arg::Nil,
            Arg::Nil,
            Arg::Nil,
        ],
    )
    .unwrap();
    let qc = p.calls_named("kumo.make_queue_config");
    assert_eq!(
        qc[0][0],
        json!({
            "retry_interval": "30s",
            "max_retry_interval": "20m",
            "max_age": "2d",
            "protocol": { "custom_lua": { "constructor": "make.events.log_hook" } },
        })
    );

    // A delivery record is queued for the hook.
    let record = MessageSpec {
        from_header: "news@example.com".into(),
        sender: "bounces@example.com".into(),
        recipient: "someone@gmail.com".into(),
        headers: vec![],
        meta: vec![("log_record".into(), json!({ "type": "Delivery" }))],
    };
    let r = p
        .fire(
            "should_enqueue_log_record",
            vec![Arg::Message(record), Arg::Str("events".into())],
        )
        .unwrap();
    assert_eq!(r, [json!(true)]);
    assert_eq!(p.message_state()["meta"]["queue"], "events.log_hook");
    // TSA's own hooks are still configured, in init.
    assert!(
        hooks
            .iter()
            .all(|h| !h[0]["name"].as_str().unwrap().ends_with(".tsa.kumomta")),
        "TSA hooks come from setup_publish in init"
    );

    // The constructor: POST with the header from the Secret; 2xx delivered, 503 and 429
    // transient (4xx reject: retried), 404 permanent (5xx reject).
    p.clear_calls();
    let r = p
        .eval(
            r#"
            local make = __kumo_stub.handlers['make.events.log_hook']
            local c = make('events.log_hook', nil, nil)
            local msg = { get_data = function() return '{"type":"Delivery"}' end }
            local out = { c:send(msg) }
            for _, status in ipairs { 503, 429, 404 } do
              __kumo_stub.http_status = status
              local ok, e = pcall(c.send, c, msg)
              table.insert(out, ok and 'ok' or e.code)
            end
            __kumo_stub.http_status = nil
            return out
            "#,
        )
        .unwrap();
    assert_eq!(r[0], json!(["200 OK: stub", 400, 400, 500]));
    let sent = p.calls_named("http:send");
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[0][0],
        json!({
            "method": "POST",
            "url": "https://hooks.example.com/kumo",
            "headers": { "Content-Type": "application/json", "Authorization": "Bearer s3cret" },
            "body": "{\"type\":\"Delivery\"}",
        })
    );
    let _ = std::fs::remove_dir_all(&root);
}
