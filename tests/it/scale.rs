//! Deployable at any size (issue 13): what needs a restart rolls the pods and nothing else
//! does (the helpers' data reloads live), and every object fits the API server.

use std::collections::BTreeMap;

use serde_json::Value;

use kumoc_compiler::{Options, emit};

use crate::support::*;

/// The example's files, as the CLI names them from the repository root.
fn example_files() -> Vec<(String, Vec<u8>)> {
    fixture_files(&root().join("examples/example-com"))
        .into_iter()
        .map(|(name, bytes)| (format!("examples/{name}"), bytes))
        .collect()
}

fn build(files: &[(String, Vec<u8>)]) -> emit::Output {
    let analysis = kumoc_compiler::analyze(files, &Options::default());
    assert!(!analysis.has_errors(), "{}", human(&analysis));
    analysis.emit().expect("an error-free analysis emits")
}

/// Replace `from` by `to` in the file named `name` (which must contain it).
fn edit(files: &mut [(String, Vec<u8>)], name: &str, from: &str, to: &str) {
    let f = files
        .iter_mut()
        .find(|(n, _)| n.ends_with(name))
        .unwrap_or_else(|| panic!("no file {name}"));
    let text = String::from_utf8(f.1.clone()).unwrap();
    assert!(text.contains(from), "{name} contains {from:?}");
    f.1 = text.replacen(from, to, 1).into_bytes();
}

/// Every Kubernetes object of a build: file → object.
fn objects(out: &emit::Output) -> BTreeMap<String, Value> {
    out.files
        .iter()
        .filter(|(k, _)| k.starts_with("k8s/") && !k.ends_with("kustomization.yaml"))
        .map(|(k, v)| (k.clone(), serde_norway::from_str::<Value>(v).unwrap()))
        .collect()
}

/// The pod templates of a build: workload file → template.
fn templates(out: &emit::Output) -> BTreeMap<String, Value> {
    objects(out)
        .into_iter()
        .filter(|(_, o)| o["kind"] == "StatefulSet" || o["kind"] == "Deployment")
        .map(|(k, o)| (k, o["spec"]["template"].clone()))
        .collect()
}

fn checksum(template: &Value) -> &str {
    template["metadata"]["annotations"]["kumoc.dev/policy-checksum"]
        .as_str()
        .unwrap()
}

/// A new sending domain, with its DKIM key in the existing key Secret, deploys without a
/// restart: no pod template changes (not the checksum, not the volumes), only the policy
/// data (the DKIM, queue and shaping files) does.
#[test]
fn a_new_domain_rolls_no_pod() {
    let before_files = example_files();
    let before = build(&before_files);
    let mut files = before_files.clone();
    edit(
        &mut files,
        "secrets.kumo",
        "keys = [\"example.com.default.key\"]",
        "keys = [\"example.com.default.key\", \"example.org.s1.key\"]",
    );
    // Appended to mail.kumo (a new file would change the comments naming the sources).
    files
        .iter_mut()
        .find(|(n, _)| n.ends_with("mail.kumo"))
        .unwrap()
        .1
        .extend_from_slice(
        b"\ndomain \"example.org\" {\n  dkim {\n    selector = \"s1\"\n    key      = secret(\"dkim-keys\", \"example.org.s1.key\")\n  }\n}\n\nqueue \"example.org\" {\n  max_age = 12h\n}\n\nshaping \"example.org\" {\n  max_message_rate = 20/s\n}\n",
    );
    let after = build(&files);
    let (t0, t1) = (templates(&before), templates(&after));
    assert_eq!(t0.len(), 3, "MTA, TSA and sink");
    for (file, template) in &t0 {
        assert_eq!(
            checksum(template),
            checksum(&t1[file]),
            "{file}: the checksum is unchanged"
        );
        assert_eq!(template, &t1[file], "{file}: the pod template is unchanged");
    }
    // The policy data changed, in the ConfigMap the pods mount.
    let cm = |out: &emit::Output| objects(out)["k8s/configmap-policy.yaml"]["data"].clone();
    let (d0, d1) = (cm(&before), cm(&after));
    assert_eq!(d0["init.lua"], d1["init.lua"], "init.lua is unchanged");
    for data in ["dkim_data.toml", "queues.toml", "shaping.toml"] {
        assert_ne!(d0[data], d1[data], "{data} changed");
    }
    assert!(
        d1["dkim_data.toml"]
            .as_str()
            .unwrap()
            .contains("filename = \"/opt/kumomta/etc/dkim/dkim-keys/example.org.s1.key\""),
        "the new key is read from the mounted Secret"
    );
}

/// What `init` reads needs a restart: a listener change rolls the MTA pods (and only them).
#[test]
fn a_listener_change_rolls_the_mta() {
    let before_files = example_files();
    let before = templates(&build(&before_files));
    let mut files = before_files.clone();
    edit(
        &mut files,
        "mail.kumo",
        "hostname    = \"mta.example.com\"",
        "hostname    = \"mx.example.com\"",
    );
    let after = templates(&build(&files));
    for (file, template) in &before {
        let rolled = checksum(template) != checksum(&after[file]);
        assert_eq!(
            rolled,
            file.ends_with("statefulset-mta.yaml"),
            "{file}: only the MTA rolls"
        );
    }
}

/// DKIM keys per Secret in [`generated`]: RSA-2048 keys are about 1.7 KB, so a Secret
/// (1 MiB at most) holds about 600 (K1012).
const KEYS_PER_SECRET: usize = 500;

/// A deployment of `n` domains, as `bench/gen.py` writes it (each domain with a source in
/// pool `main`, DKIM signing, a queue and a shaping block), except that the DKIM keys are
/// in Secrets of [`KEYS_PER_SECRET`] keys, as a deployable description has them.
pub fn generated(n: usize) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\n",
    );
    for j in 0..n.div_ceil(KEYS_PER_SECRET) {
        let _ = writeln!(out, "secret \"dkim-keys-{j:03}\" {{}}");
    }
    out.push_str("\npool main {\n");
    for i in 0..n {
        let _ = write!(
            out,
            "  source src-{i} {{\n    ehlo_domain    = \"mta{i}.example.com\"\n    source_address = 10.{}.{}.{}\n  }}\n",
            i / 62500,
            i / 250 % 250,
            i % 250
        );
    }
    out.push_str("}\n");
    for i in 0..n {
        let _ = write!(
            out,
            "\ndomain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys-{:03}\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age     = 2d\n}}\n\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n",
            i / KEYS_PER_SECRET,
            10 + i % 90
        );
    }
    out
}

fn build_generated(n: usize) -> emit::Output {
    let files = vec![("bench.kumo".to_string(), generated(n).into_bytes())];
    let analysis = kumoc_compiler::analyze(&files, &Options::default());
    assert!(!analysis.has_errors(), "{}", human(&analysis));
    analysis.emit().expect("an error-free analysis emits")
}

/// The API server's limit on an object, with margin (it refuses a ConfigMap over 1 MiB).
const OBJECT_LIMIT: usize = 900 * 1024;
/// Client-side `kubectl apply` stores the object as JSON in an annotation; all annotations
/// together may hold 256 KiB.
const ANNOTATION_LIMIT: usize = 256 * 1024;

/// The object as `kubectl apply` writes it into `last-applied-configuration`: compact JSON
/// as Go's `encoding/json` escapes it (`<`, `>` and `&` as `\u003c`...).
fn last_applied_len(object: &Value) -> usize {
    let json = serde_json::to_string(object).unwrap();
    json.len()
        + 5 * json
            .bytes()
            .filter(|b| matches!(b, b'<' | b'>' | b'&'))
            .count()
}

/// Every emitted object fits the API (≤ 900 KiB as YAML) and client-side `kubectl apply`
/// (its JSON under 256 KiB), at every size; the MTA StatefulSet stays small.
pub fn assert_objects_fit(out: &emit::Output) -> usize {
    let mut shards = 0;
    for (file, text) in &out.files {
        if !file.starts_with("k8s/") {
            continue;
        }
        assert!(text.len() <= OBJECT_LIMIT, "{file}: {} bytes", text.len());
        let object: Value = serde_norway::from_str(text).unwrap();
        let applied = last_applied_len(&object);
        assert!(
            applied < ANNOTATION_LIMIT,
            "{file}: {applied} bytes of JSON"
        );
        shards += usize::from(file.contains("-of-"));
    }
    shards
}

#[test]
fn every_object_fits_the_api_at_every_size() {
    let mut last_shards = 0;
    for n in [1, 700, 3000, 20_000] {
        let out = build_generated(n);
        let shards = assert_objects_fit(&out);
        assert!(shards >= last_shards, "{n}: more domains, no fewer shards");
        last_shards = shards;
        // The StatefulSet names Secrets and ConfigMaps, never keys: it grows with the
        // shard count (a few dozen bytes a shard) and the key Secrets (a volume and a mount,
        // one per 500 keys), not with the domains.
        let sts = out.get("k8s/statefulset-mta.yaml").unwrap();
        let secrets = n.div_ceil(KEYS_PER_SECRET);
        assert!(
            sts.len() < 8 * 1024 + 64 * shards + 256 * secrets,
            "{n}: {} bytes",
            sts.len()
        );
        assert!(
            !sts.contains(".key"),
            "{n}: no key is named in the pod template"
        );
    }
    assert!(last_shards > 4, "20,000 domains are sharded");
}

/// The sharded policy loads in Lua 5.4 (the stub of KumoMTA's API and helpers) with every
/// domain present: all sources in pool `main`, every DKIM domain, queue and shaping block.
#[test]
fn the_sharded_policy_loads_with_every_domain() {
    sharded_policy_loads(3000);
}

/// The 100,000-domain build loads too (issue 13, "Done when"): about 20 s in release, so
/// `.ci/run` runs it in release with `--ignored`, beside the kustomize render. (The stub's
/// shaping lookup once sorted every domain on each call, which took this test past 13
/// minutes; the domains that roll up by MX site are now sorted once per loaded data.)
#[test]
#[ignore = "a build of 100,000 domains: run in release by .ci/run"]
fn the_sharded_policy_loads_with_100000_domains() {
    sharded_policy_loads(100_000);
}

fn sharded_policy_loads(n: usize) {
    let out = build_generated(n);
    let init = out.get("policy/init.lua").unwrap();
    assert!(init.contains("dkim_data-0-of-"), "sharded: {init}");
    let scratch = crate::hostile::Scratch::new(&format!("scale-shards-{n}"));
    let policy = scratch.path().join("policy");
    std::fs::create_dir_all(&policy).unwrap();
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            std::fs::write(policy.join(name), content).unwrap();
        }
    }
    // Every shard is in the policy ConfigMaps the pods mount, and every ConfigMap is in the
    // policy volume.
    let objects = objects(&out);
    let mut mounted = std::collections::BTreeSet::new();
    let sts = &objects["k8s/statefulset-mta.yaml"];
    let volume = sts["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "policy")
        .unwrap();
    for src in volume["projected"]["sources"].as_array().unwrap() {
        let name = src["configMap"]["name"].as_str().unwrap();
        let cm = objects
            .values()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("ConfigMap {name} is emitted"));
        for key in cm["data"].as_object().unwrap().keys() {
            assert!(mounted.insert(key.clone()), "{key} in one ConfigMap");
        }
    }
    for path in out.files.keys() {
        if let Some(name) = path.strip_prefix("policy/") {
            if name != "sink.lua" {
                assert!(mounted.contains(name), "{name} is mounted");
            }
        }
    }
    let p = crate::lua_harness::Policy::load(
        &policy,
        scratch.path(),
        "init.lua",
        "2025.03.19-1d3f1f67",
    )
    .unwrap();
    let counts = p
        .eval(
            &r#"
            local function count(t) local c = 0 for _ in pairs(t) do c = c + 1 end return c end
            local s = require('policy-extras.sources').CONFIGURED.get_data()
            local d = require('policy-extras.dkim_sign').CONFIGURED.get_data()
            local q = require('policy-extras.queue').CONFIGURED.get_data()
            local sh = require('policy-extras.shaping').CONFIGURED.load_shaping_data()
            local rates = {}
            for i = 0, N - 1, 7 do
              local dom = string.format('d%d.example.com', i)
              rates[#rates + 1] = sh:get_egress_path_config(dom, 'src-0', dom).max_message_rate
            end
            return {
              sources = count(s.sources),
              pool = #s.pools.main.entries,
              dkim = count(d.domain),
              queues = count(q.queues),
              rates = rates,
            }
            "#
            .replace("N - 1", &(n - 1).to_string()),
        )
        .unwrap();
    let c = &counts[0];
    assert_eq!(c["sources"], n, "{c}");
    assert_eq!(c["pool"], n, "each pool entry once: {c}");
    assert_eq!(c["dkim"], n, "{c}");
    assert!(c["queues"].as_u64().unwrap() >= n as u64, "{c}");
    let rates = c["rates"].as_array().unwrap();
    for (j, r) in rates.iter().enumerate() {
        let i = j * 7;
        assert_eq!(r, &Value::String(format!("{}/s", 10 + i % 90)), "d{i}");
    }
}

/// A new domain added to a sharded deployment (its DKIM key in an existing Secret, a queue
/// and shaping) rolls no pod: every pod template is unchanged (checksum, volumes, the
/// ConfigMaps it mounts), `init.lua` is unchanged, and each helper's data changes in one
/// shard only.
#[test]
fn a_new_domain_in_a_sharded_deployment_rolls_no_pod() {
    let n = 3000;
    let text = generated(n);
    let before = build_generated(n);
    let files = vec![(
        "bench.kumo".to_string(),
        format!(
            "{text}\ndomain \"new.example.net\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys-000\")\n  }}\n}}\n\nqueue \"new.example.net\" {{\n  egress_pool = main\n  max_age     = 1d\n}}\n\nshaping \"new.example.net\" {{\n  mx_rollup        = false\n  max_message_rate = 5/s\n}}\n"
        )
        .into_bytes(),
    )];
    let after = build(&files);
    let (t0, t1) = (templates(&before), templates(&after));
    assert!(!t0.is_empty());
    for (file, template) in &t0 {
        assert_eq!(checksum(template), checksum(&t1[file]), "{file}: checksum");
        assert_eq!(template, &t1[file], "{file}: the pod template is unchanged");
    }
    assert_eq!(before.get("policy/init.lua"), after.get("policy/init.lua"));
    let keys = |out: &emit::Output| out.files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&before), keys(&after), "the same files: no new shard");
    for helper in ["dkim_data-", "queues-", "shaping-"] {
        let changed: Vec<&String> = before
            .files
            .iter()
            .filter(|(k, v)| k.starts_with(&format!("policy/{helper}")) && after.get(k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        assert_eq!(changed.len(), 1, "{helper}: one shard changed: {changed:?}");
        assert!(after.get(changed[0]).unwrap().contains("new.example.net"));
    }
}

/// `kubectl kustomize` (offline) renders the manifests of `n` domains, and every object of
/// the render is under the limits. Skipped, with a message, where kubectl is not installed.
fn kustomize_renders(n: usize) {
    let Ok(version) = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
    else {
        eprintln!("skipped: kubectl is not installed (kubectl kustomize renders the output)");
        return;
    };
    assert!(version.status.success());
    let out = build_generated(n);
    let scratch = crate::hostile::Scratch::new(&format!("kustomize-{n}"));
    let k8s = scratch.path().join("k8s");
    std::fs::create_dir_all(&k8s).unwrap();
    let mut files = 0;
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("k8s/") {
            std::fs::write(k8s.join(name), content).unwrap();
            files += usize::from(name != "kustomization.yaml");
        }
    }
    drop(out);
    let render = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&k8s)
        .output()
        .unwrap();
    assert!(
        render.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&render.stderr)
    );
    let text = String::from_utf8(render.stdout).unwrap();
    let mut objects = 0;
    for doc in text.split("\n---\n") {
        assert!(doc.len() <= OBJECT_LIMIT, "{} bytes", doc.len());
        let object: Value = serde_norway::from_str(doc).unwrap();
        let applied = last_applied_len(&object);
        assert!(
            applied < ANNOTATION_LIMIT,
            "{}: {applied} bytes of JSON",
            object["metadata"]["name"]
        );
        assert_eq!(object["metadata"]["namespace"], "mail");
        objects += 1;
    }
    assert_eq!(objects, files, "every file is one object of the render");
}

#[test]
fn kubectl_kustomize_renders_3000_domains() {
    kustomize_renders(3000);
}

/// The 100,000-domain build of `bench/gen.py 100000`: about a minute in a debug build, so it
/// is ignored here and run in release by `.ci/run`:
/// `cargo test --release --test it kubectl_kustomize_renders_100000 -- --ignored`.
#[test]
#[ignore = "slow in debug builds; .ci/run runs it in release"]
fn kubectl_kustomize_renders_100000_domains() {
    kustomize_renders(100_000);
}

/// `kumoc build --secrets` refuses a Secret over 1 MiB (K1012, with the arithmetic and the
/// way out) and writes nothing; under the limit, each `secret` block is its own Secret.
#[test]
fn secrets_over_one_mebibyte_are_refused() {
    let scratch = crate::hostile::Scratch::new("secrets-too-large");
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}-----END PRIVATE KEY-----\n",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n".repeat(25)
    );
    let mut text = String::from(
        "deployment \"t\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\npool p {\n  source s {}\n}\n",
    );
    // 700 keys in one Secret, then the same keys in two.
    let build = |text: &str| {
        std::fs::write(dir.join("d.kumo"), text).unwrap();
        let out = dir.join("out");
        let _ = std::fs::remove_dir_all(&out);
        let o = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
            .args(["build", dir.join("d.kumo").to_str().unwrap(), "-o"])
            .arg(&out)
            .arg("--secrets")
            .output()
            .unwrap();
        (o, out)
    };
    let mut one = text.clone();
    let mut two = text.clone();
    one.push_str("secret \"keys\" {\n  files {\n");
    let mut halves = [
        String::from("secret \"keys-a\" {\n  files {\n"),
        String::from("secret \"keys-b\" {\n  files {\n"),
    ];
    for i in 0..700 {
        std::fs::write(dir.join(format!("keys/{i}.pem")), &pem).unwrap();
        let line = format!("    \"d{i}.example.com.s1.key\" = \"keys/{i}.pem\"\n");
        one.push_str(&line);
        halves[i % 2].push_str(&line);
    }
    one.push_str("  }\n}\n");
    for h in &mut halves {
        h.push_str("  }\n}\n");
        two.push_str(h);
    }
    for i in 0..700 {
        let dom = format!(
            "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"KEYS\")\n  }}\n}}\n"
        );
        text.push_str(&dom);
        one.push_str(&dom.replace("KEYS", "keys"));
        two.push_str(&dom.replace("KEYS", if i % 2 == 0 { "keys-a" } else { "keys-b" }));
    }
    let (o, out) = build(&one);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("K1012"), "{stderr}");
    assert!(stderr.contains("700 keys"), "{stderr}");
    assert!(stderr.contains("> 1 MiB"), "{stderr}");
    assert!(
        stderr.contains("split the keys into 2 or more `secret` blocks"),
        "{stderr}"
    );
    assert!(!stderr.contains("MIIEvQ"), "no key material in messages");
    assert!(!out.exists(), "nothing written");
    let (o, out) = build(&two);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for s in ["keys-a", "keys-b"] {
        let secret = std::fs::read_to_string(out.join(format!("secrets/secret-{s}.yaml"))).unwrap();
        assert!(secret.len() < 900 * 1024, "{s}: {} bytes", secret.len());
    }
}
