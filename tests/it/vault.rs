//! DKIM keys in HashiCorp Vault: the emitted `dkim_data.toml` read by the DKIM helper of the
//! Lua harness (the signer receives the Vault key source), the MTA container's
//! `VAULT_ADDR` / `VAULT_TOKEN`, and no DKIM key volume.

use std::path::Path;

use kumoc_compiler::emit;
use serde_json::{Value as Json, json};

use crate::lua_harness::{Arg, MessageSpec, Policy};
use crate::support::build_production;

const VERSION: &str = "2025.03.19-1d3f1f67";

pub const VAULT_DEPLOYMENT: &str = r#"
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
dkim_defaults {
  selector          = "s1"
  headers           = ["From", "To", "Subject"]
  vault_mount       = "kv"
  vault_path_prefix = "mail/dkim"
}
vault {
  address = "https://vault.vault.svc:8200"
  token   = secret("vault-token")
}
secret "vault-token" {
  keys = ["token"]
}
domain "example.com" {
  dkim {}
}
domain "example.org" {
  dkim {
    selector   = "s2"
    vault_path = "keys/example.org"
  }
}
"#;

fn build(text: &str) -> emit::Output {
    build_production("vault.kumo", text)
}

fn file<'a>(out: &'a emit::Output, path: &str) -> &'a str {
    out.files
        .get(path)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {path}"))
}

fn mta_container(out: &emit::Output) -> Json {
    let sts: Json = serde_norway::from_str(file(out, "k8s/statefulset-mta.yaml")).unwrap();
    sts["spec"]["template"]["spec"]["containers"][0].clone()
}

fn load(root: &Path, out: &emit::Output, env: &[(&str, &str)]) -> Policy {
    let _ = std::fs::remove_dir_all(root);
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            let p = root.join("policy").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }
    std::fs::create_dir_all(root.join("files")).unwrap();
    Policy::load_with_env(
        &root.join("policy"),
        &root.join("files"),
        "init.lua",
        VERSION,
        env,
    )
    .unwrap_or_else(|e| panic!("init.lua does not load: {e}"))
}

fn receive(p: &Policy, from: &str) -> Result<Vec<Json>, String> {
    let msg = MessageSpec {
        from_header: from.into(),
        sender: "bounces@example.com".into(),
        recipient: "someone@gmail.com".into(),
        headers: vec![("Subject".into(), "hi".into())],
        meta: vec![],
    };
    p.fire(
        "smtp_server_message_received",
        vec![Arg::Message(msg), Arg::Json(json!({}))],
    )
}

/// The build's Kubernetes objects, checked against the bundled schemas and the API
/// server's value rules.
pub fn validate_manifests(out: &emit::Output) {
    let objects: std::collections::BTreeMap<String, Json> = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("k8s/") && !k.ends_with("kustomization.yaml"))
        .map(|(k, v)| (k.clone(), serde_norway::from_str::<Json>(v).unwrap()))
        .collect();
    crate::k8s::validate_all(&objects);
    let max = crate::k8s_rules::max_pods(objects.values());
    for (file, o) in &objects {
        let errors = crate::k8s_rules::api_errors(o, &max);
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

#[test]
fn vault_dkim_keys_reach_the_signer_with_the_pod_environment() {
    let out = build(VAULT_DEPLOYMENT);
    validate_manifests(&out);
    // The pod: the address as a value, the token from its Secret, no DKIM key volume.
    let c = mta_container(&out);
    let env = c["env"].as_array().unwrap();
    let var = |n: &str| env.iter().find(|e| e["name"] == n).cloned();
    assert_eq!(
        var("VAULT_ADDR").unwrap()["value"],
        "https://vault.vault.svc:8200"
    );
    assert_eq!(
        var("VAULT_TOKEN").unwrap()["valueFrom"]["secretKeyRef"],
        json!({ "name": "vault-token", "key": "token" })
    );
    assert!(
        !c["volumeMounts"]
            .to_string()
            .contains("/opt/kumomta/etc/dkim"),
        "{}",
        c["volumeMounts"]
    );

    // The policy, with the environment the pod gets.
    let root = std::env::temp_dir().join(format!("kumoc-vault-{}", std::process::id()));
    let addr = var("VAULT_ADDR").unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let p = load(
        &root,
        &out,
        &[("VAULT_ADDR", &addr), ("VAULT_TOKEN", "hvs.test")],
    );
    p.fire("init", vec![]).unwrap();
    assert!(!p.call_validate().unwrap().failed, "{:?}", p.output());
    p.clear_calls();
    receive(&p, "News <news@example.com>").unwrap();
    receive(&p, "News <news@example.org>").unwrap();
    let signers = p.calls_named("dkim_signer");
    let keys: Vec<&Json> = signers.iter().map(|c| &c[0]["key"]).collect();
    assert_eq!(
        keys,
        [
            // <vault_path_prefix>/<domain>/<selector>.key, the helper's own path
            &json!({ "vault_mount": "kv", "vault_path": "mail/dkim/example.com/s1.key" }),
            // vault_path, written as the helper's `filename`
            &json!({ "vault_mount": "kv", "vault_path": "keys/example.org" }),
        ]
    );

    // Without the pod's environment, KumoMTA's key loader cannot reach Vault.
    let p = load(&root, &out, &[]);
    p.fire("init", vec![]).unwrap();
    let err = receive(&p, "news@example.com").unwrap_err();
    assert!(err.contains("$VAULT_ADDR is not set"), "{err}");
    let _ = std::fs::remove_dir_all(&root);
}
