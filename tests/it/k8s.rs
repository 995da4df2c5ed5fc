//! The Kubernetes manifests: every object validates against the official Kubernetes 1.33
//! JSON schemas with unknown fields rejected, and none of the seed chart's Kubernetes
//! defects (docs/seed-defects.md) is present.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::build::{build_example, build_example_canonical};
use crate::support::root;
use kumoc_compiler::Environment;

fn schema_for(api_version: &str, kind: &str) -> Option<&'static str> {
    Some(match (api_version, kind) {
        ("apps/v1", "StatefulSet") => "statefulset-apps-v1",
        ("apps/v1", "Deployment") => "deployment-apps-v1",
        ("v1", "Service") => "service-v1",
        ("v1", "ConfigMap") => "configmap-v1",
        ("v1", "Secret") => "secret-v1",
        ("v1", "ServiceAccount") => "serviceaccount-v1",
        ("v1", "Namespace") => "namespace-v1",
        ("autoscaling/v2", "HorizontalPodAutoscaler") => "horizontalpodautoscaler-autoscaling-v2",
        ("policy/v1", "PodDisruptionBudget") => "poddisruptionbudget-policy-v1",
        ("networking.k8s.io/v1", "NetworkPolicy") => "networkpolicy-networking-v1",
        ("networking.k8s.io/v1", "Ingress") => "ingress-networking-v1",
        // The CRDs' own schemas (tests/schemas/crds/README.md).
        ("monitoring.coreos.com/v1", "PrometheusRule") => "../crds/prometheusrule-monitoring-v1",
        ("keda.sh/v1alpha1", "ScaledObject") => "../crds/scaledobject-keda-v1alpha1",
        _ => return None,
    })
}

/// The manifests of a build, parsed: file → object.
pub fn manifests(
    env: Option<Environment>,
) -> (BTreeMap<String, Value>, kumoc_compiler::emit::Output) {
    let out = build_example(env);
    let objects = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("k8s/") && !k.ends_with("kustomization.yaml"))
        .map(|(k, v)| {
            (
                k.clone(),
                serde_norway::from_str::<Value>(v).unwrap_or_else(|e| panic!("{k}: {e}")),
            )
        })
        .collect();
    (objects, out)
}

pub fn validator(name: &str) -> jsonschema::Validator {
    let path = root().join(format!("tests/schemas/kubernetes-v1.33/{name}.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

pub fn validate_all(objects: &BTreeMap<String, Value>) {
    for (file, obj) in objects {
        let (api, kind) = (
            obj["apiVersion"].as_str().unwrap(),
            obj["kind"].as_str().unwrap(),
        );
        let Some(schema) = schema_for(api, kind) else {
            assert_eq!(
                (api, kind),
                ("monitoring.coreos.com/v1", "ServiceMonitor"),
                "{file}: no schema for {api} {kind}"
            );
            continue;
        };
        let v = validator(schema);
        let errors: Vec<String> = v
            .iter_errors(obj)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{file} is not a valid {kind}:\n{}",
            errors.join("\n")
        );
    }
}

#[test]
fn manifests_validate_against_kubernetes_schemas() {
    for env in [None, Some(Environment::Production)] {
        let (objects, _) = manifests(env);
        assert!(objects.len() > 10);
        validate_all(&objects);
    }
}

#[test]
fn the_schemas_reject_unknown_fields() {
    let (objects, _) = manifests(None);
    let mut sts = objects["k8s/statefulset-mta.yaml"].clone();
    sts["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = serde_json::json!({});
    assert!(
        !validator("statefulset-apps-v1").is_valid(&sts),
        "a misspelled field must fail"
    );
}

fn by_kind<'a>(objects: &'a BTreeMap<String, Value>, kind: &str) -> Vec<&'a Value> {
    objects.values().filter(|o| o["kind"] == kind).collect()
}

fn pod_specs(objects: &BTreeMap<String, Value>) -> Vec<(&str, &Value)> {
    objects
        .values()
        .filter(|o| o["kind"] == "StatefulSet" || o["kind"] == "Deployment")
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap(),
                &o["spec"]["template"]["spec"],
            )
        })
        .collect()
}

#[test]
fn seed_chart_defects_are_absent() {
    for env in [None, Some(Environment::Production)] {
        let (objects, out) = manifests(env);
        let services = by_kind(&objects, "Service");
        let init = out.get("policy/init.lua").unwrap();

        // §12.2 #12: every StatefulSet is governed by a headless Service.
        for sts in by_kind(&objects, "StatefulSet") {
            let governing = sts["spec"]["serviceName"].as_str().unwrap();
            let svc = services
                .iter()
                .find(|s| s["metadata"]["name"] == governing)
                .expect("governing Service exists");
            assert_eq!(
                svc["spec"]["clusterIP"], "None",
                "{governing} must be headless"
            );
        }
        // #11: the HPA targets the MTA StatefulSet.
        for hpa in by_kind(&objects, "HorizontalPodAutoscaler") {
            let target = &hpa["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"], "StatefulSet");
            assert!(
                by_kind(&objects, "StatefulSet")
                    .iter()
                    .any(|s| s["metadata"]["name"] == target["name"])
            );
        }
        // #10: the spool is a per-pod PVC (25Gi, ReadWriteOnce), never an emptyDir.
        let mta = &objects["k8s/statefulset-mta.yaml"];
        let claim = &mta["spec"]["volumeClaimTemplates"][0];
        assert_eq!(claim["metadata"]["name"], "spool");
        assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteOnce");
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "25Gi");
        let pod = &mta["spec"]["template"]["spec"];
        assert!(
            pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["name"] != "spool"),
            "spool is not a pod volume"
        );
        // #14: the TSA database is on a PVC too.
        let tsa = &objects["k8s/statefulset-tsa.yaml"];
        assert_eq!(
            tsa["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
        assert!(
            out.get("policy/tsa_init.lua")
                .unwrap()
                .contains("/var/spool/kumomta/tsa.db")
        );
        // #13: MTAs publish to every TSA replica by a per-pod name that resolves.
        let replicas = tsa["spec"]["replicas"].as_u64().unwrap();
        for i in 0..replicas {
            let host = format!(
                "example-com-tsa-{i}.example-com-tsa-headless.kumomta.svc.cluster.local:8008"
            );
            assert!(init.contains(&host), "publishes to {host}");
        }
        assert!(
            !init.contains(&format!("example-com-tsa-{replicas}.")),
            "no publish target beyond the replicas"
        );
        // #18 and the probes: readiness/startup on the liveness endpoint, liveness elsewhere.
        let c = &pod["containers"][0];
        assert_eq!(
            c["readinessProbe"]["httpGet"]["path"],
            "/api/check-liveness/v1"
        );
        assert_eq!(
            c["startupProbe"]["httpGet"]["path"],
            "/api/check-liveness/v1"
        );
        assert!(c["livenessProbe"].is_object());
        assert_ne!(
            c["livenessProbe"]["httpGet"]["path"],
            "/api/check-liveness/v1"
        );
        assert!(c["resources"]["requests"].is_object() && c["resources"]["limits"].is_object());
        assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= 300);
        // #15: every declared container port has a listener in the policy.
        for port in c["ports"].as_array().unwrap() {
            let p = port["containerPort"].as_u64().unwrap();
            assert!(
                init.contains(&format!("\"0.0.0.0:{p}\"")),
                "port {p} ({}) listens",
                port["name"]
            );
        }
        assert_eq!(
            c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["containerPort"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [8000, 2500, 8080]
        );
        // #19: the checksum annotation covers the code of what needs a restart, init.lua (its
        // `init` handler runs once per process), and not the comments (provenance cannot roll
        // pods). The helpers' data files reload live (config epoch): editing them rolls
        // nothing.
        let canonical = build_example_canonical(env);
        let read: BTreeMap<&str, &str> = canonical
            .files
            .iter()
            .filter(|(k, _)| k.starts_with("policy/") && *k != "policy/sink.lua")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let annotation = pod_annotation(mta);
        let init: BTreeMap<&str, &str> = read
            .iter()
            .filter(|(k, _)| **k == "policy/init.lua")
            .map(|(k, v)| (*k, *v))
            .collect();
        assert_eq!(checksum(&init), annotation);
        let edited = format!("{} ", read["policy/init.lua"]);
        let mut altered = init.clone();
        altered.insert("policy/init.lua", &edited);
        assert_ne!(checksum(&altered), annotation, "editing init.lua rolls");
        for o in objects
            .values()
            .filter(|o| o["kind"] == "StatefulSet" || o["kind"] == "Deployment")
        {
            let name = o["metadata"]["name"].as_str().unwrap();
            let file = o["spec"]["template"]["spec"]["containers"][0]["command"][2]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            let path = format!("policy/{file}");
            let one: BTreeMap<&str, &str> = [(path.as_str(), canonical.get(&path).unwrap())]
                .into_iter()
                .collect();
            assert_eq!(checksum(&one), pod_annotation(o), "{name} covers {file}");
        }
        assert!(
            read.values()
                .flat_map(|text| text.lines())
                .all(|l| !l.trim_start().starts_with("--") && !l.starts_with('#')),
            "the canonical form has no comment lines"
        );
        // #17, #21, #22: hardened pods, pinned images, no init containers, no debug pod.
        for (name, spec) in pod_specs(&objects) {
            assert_eq!(spec["automountServiceAccountToken"], false, "{name}");
            assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{name}");
            assert_eq!(
                spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{name}"
            );
            assert!(
                spec.get("initContainers").is_none(),
                "{name}: no init containers"
            );
            for c in spec["containers"].as_array().unwrap() {
                let image = c["image"].as_str().unwrap();
                assert!(
                    image.ends_with(":2025.03.19-1d3f1f67"),
                    "{name}: {image} pinned to the release"
                );
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{name}");
                assert!(
                    !c["command"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a.as_str().unwrap().starts_with("--user")),
                    "{name}: no --user"
                );
            }
        }
        for sa in by_kind(&objects, "ServiceAccount") {
            assert_eq!(sa["automountServiceAccountToken"], false);
        }
        assert!(objects.values().all(|o| o["kind"] != "Pod"), "no debug pod");
        // #25: names are scoped to the deployment.
        for o in objects.values() {
            assert!(
                o["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("example-com"),
                "{}",
                o["metadata"]["name"]
            );
        }
        // #7, #8: the DKIM key is mounted exactly where dkim_data.toml says, from a Secret
        // mounted whole (no items, no subPath: new keys reach running pods).
        let dkim = out.get("policy/dkim_data.toml").unwrap();
        assert!(
            dkim.contains("filename = \"/opt/kumomta/etc/dkim/dkim-keys/example.com.default.key\"")
        );
        let vol = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "dkim-keys-0")
            .unwrap();
        assert_eq!(vol["secret"]["secretName"], "dkim-keys");
        assert!(vol["secret"].get("items").is_none());
        let m = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "dkim-keys-0")
            .unwrap();
        assert_eq!(m["mountPath"], "/opt/kumomta/etc/dkim/dkim-keys");
        assert!(m.get("subPath").is_none());
        assert!(objects.values().all(|o| o["kind"] != "ConfigMap" || !o["data"].to_string().contains("PRIVATE KEY")));
        // #16: the sink only in staging.
        assert_eq!(
            objects.contains_key("k8s/deployment-sink.yaml"),
            env.is_none()
        );
    }
}

fn pod_annotation(sts: &Value) -> String {
    sts["spec"]["template"]["metadata"]["annotations"]["kumoc.dev/policy-checksum"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The documented checksum: sha256 over each covered file's name, NUL, the sha256 of its
/// canonical form (no comments), NUL.
fn checksum(files: &BTreeMap<&str, &str>) -> String {
    use std::fmt::Write;
    let mut data = Vec::new();
    for (k, v) in files {
        data.extend_from_slice(k.as_bytes());
        data.push(0);
        data.extend_from_slice(&sha256(v.as_bytes()));
        data.push(0);
    }
    let digest = sha256(&data);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A plain SHA-256 (FIPS 180-4), independent of the crate the emitter uses.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[test]
fn kustomization_lists_every_manifest() {
    let (objects, out) = manifests(None);
    let k: Value = serde_norway::from_str(out.get("k8s/kustomization.yaml").unwrap()).unwrap();
    let mut listed: Vec<String> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("k8s/{}", r.as_str().unwrap()))
        .collect();
    listed.sort();
    let files: Vec<String> = objects.keys().cloned().collect();
    assert_eq!(listed, files);
    assert_eq!(k["namespace"], "kumomta");
}

#[test]
fn secrets_from_files_are_separate_valid_and_never_printed() {
    let dir = std::env::temp_dir().join(format!("kumoc-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
    std::fs::write(dir.join("keys/example.pem"), pem).unwrap();
    std::fs::write(
        dir.join("d.kumo"),
        "deployment \"t\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"dkim-keys\" {\n  files {\n    \"example.com.s1.key\" = \"keys/example.pem\"\n  }\n}\ndomain \"example.com\" {\n  dkim {\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"dkim-keys\")\n  }\n}\npool p {\n  source s {}\n}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
        .args([
            "build",
            dir.join("d.kumo").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--secrets",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for stream in [&o.stdout, &o.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains("MIIEvQ"),
            "key material is never printed"
        );
    }
    let k8s = std::fs::read_dir(out.join("k8s"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        !k8s.contains("kind: Secret") && !k8s.contains("LS0tLS1"),
        "Secrets are kept apart from k8s/"
    );
    let policy = std::fs::read_dir(out.join("policy"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        !policy.contains("MIIEvQ"),
        "the policy holds no secret material"
    );
    let secret: Value = serde_norway::from_str(
        &std::fs::read_to_string(out.join("secrets/secret-dkim-keys.yaml")).unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = validator("secret-v1")
        .iter_errors(&secret)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let encoded = secret["data"]["example.com.s1.key"].as_str().unwrap();
    assert_eq!(decode_base64(encoded), pem.as_bytes());
    // The key lands where the DKIM helper reads it.
    let sts: Value = serde_norway::from_str(
        &std::fs::read_to_string(out.join("k8s/statefulset-mta.yaml")).unwrap(),
    )
    .unwrap();
    let vol = &sts["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "dkim-keys-0")
        .unwrap()["secret"];
    assert_eq!(vol["secretName"], "dkim-keys");
    let dkim = std::fs::read_to_string(out.join("policy/dkim_data.toml")).unwrap();
    assert!(dkim.contains("/opt/kumomta/etc/dkim/dkim-keys/example.com.s1.key"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn decode_base64(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | alphabet.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// Runs prometheus-operator's ServiceMonitor schema (compiled by the npm package
/// `@kubernetes-models/prometheus-operator`, pinned in tests/node/package-lock.json) over
/// the given objects. Installs the package on first use (npm registry).
fn node_validate_service_monitors(objects: &[Value]) -> (bool, String) {
    let dir = root().join("tests/node");
    if !dir
        .join("node_modules/@kubernetes-models/prometheus-operator")
        .exists()
    {
        let o = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm is installed");
        assert!(
            o.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let tmp =
        std::env::temp_dir().join(format!("kumoc-sm-{}-{}", std::process::id(), objects.len()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut args = vec![
        dir.join("validate-servicemonitor.mjs")
            .to_string_lossy()
            .into_owned(),
    ];
    for (i, o) in objects.iter().enumerate() {
        let f = tmp.join(format!("sm{i}.json"));
        std::fs::write(&f, serde_json::to_string(o).unwrap()).unwrap();
        args.push(f.to_string_lossy().into_owned());
    }
    let o = std::process::Command::new("node")
        .args(&args)
        .current_dir(&dir)
        .output()
        .expect("node is installed");
    let _ = std::fs::remove_dir_all(&tmp);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn service_monitor_validates_against_its_crd_schema() {
    let mut monitors = Vec::new();
    for env in [None, Some(Environment::Production)] {
        let (objects, _) = manifests(env);
        let sm = objects["k8s/servicemonitor-mta.yaml"].clone();
        // The CRD schema does not reject unknown fields; hold the object to the fields the
        // ServiceMonitor API defines that kumoc uses.
        let spec_keys: Vec<&str> = sm["spec"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(spec_keys, ["endpoints", "namespaceSelector", "selector"]);
        let ep_keys: Vec<&str> = sm["spec"]["endpoints"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ep_keys, ["honorLabels", "interval", "path", "port"]);
        // It scrapes the metrics port, through a Service that exposes it.
        assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
        let svc = &objects["k8s/service-mta-headless.yaml"];
        for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(
                &svc["metadata"]["labels"][k], v,
                "the ServiceMonitor selects the headless Service"
            );
        }
        assert!(
            svc["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "metrics")
        );
        monitors.push(sm);
    }
    let (ok, out) = node_validate_service_monitors(&monitors);
    assert!(ok, "{out}");
    let mut bad = monitors[0].clone();
    bad["spec"]["endpoints"][0]["interval"] = serde_json::json!("30 seconds");
    let (ok, out) = node_validate_service_monitors(&[bad]);
    assert!(!ok, "the schema rejects a malformed interval: {out}");
}
