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
