//! The Kubernetes manifests (`k8s/`): everything the deployment needs, plus a
//! `kustomization.yaml` so `kubectl apply -k DIR/k8s` deploys it.
//!
//! Every object is a `serde_json::Value` built here and written as YAML by `serde_norway`
//! (the maintained fork of serde_yaml); maps are ordered, so output is deterministic. The
//! tests validate each object against the official Kubernetes 1.33 JSON schemas with unknown
//! fields rejected, and check that none of the seed chart's defects (kumomta.md §12.2) is
//! present: headless governing Services, PVC spools, StatefulSet HPA targets, probes on the
//! right endpoints, every declared port listening, the checksum over every policy file,
//! pinned images, restricted pod security.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::Output;
use super::kumomta::Digest;
use super::names::{self, Names, Workload};
use crate::check::Typed;
use crate::model::{Deployment, Probe, Resources};

/// The Kubernetes version the manifests are written (and tested) for.
pub const KUBERNETES_VERSION: &str = "1.33";

/// The uid and gid kumod and tsa-daemon run as, and the pods' fsGroup. kumoc starts kumod
/// without `--user`, so the image's `kumod` account (whose uid is not pinned) does not
/// matter. For the volumes this means:
/// - every volume a process writes ([`Workload::writes`]) is an emptyDir (created mode 0777)
///   or a PersistentVolume that the kubelet gives group 999, group-writable with the setgid
///   bit (fsGroup; for the volume drivers that support it, which block storage does), so the
///   process can create its files there without root;
/// - what it creates is owned 999:999 with its umask (files 0644). With
///   `fsGroupChangePolicy: OnRootMismatch` the kubelet does not re-chown a volume whose root
///   already matches, so a different uid later could not write the old spool: the uid is a
///   constant, not a setting;
/// - Secret volumes are mode 0440 and group fsGroup (readable, never writable); the
///   ConfigMap is 0644. The root filesystem is read-only.
const RUN_AS: i64 = 999;

/// What the Kubernetes emitter needs besides the model.
#[derive(Debug, Default)]
pub struct Inputs<'a> {
    /// The policy files (`policy/...`) emitted for this deployment.
    pub policy: BTreeMap<&'a str, &'a str>,
    /// The digest of each policy file's canonical form (its code without comments), by
    /// path: what the pod-template checksums cover.
    pub digests: BTreeMap<String, Digest>,
}

struct Ctx<'a> {
    d: &'a Deployment,
    n: Names,
    image: String,
    checksum: String,
    sink_checksum: String,
}

pub fn emit(d: &Deployment, inputs: &Inputs<'_>, out: &mut Output) {
    let n = Names::new(d);
    let mta_files: BTreeMap<&str, &str> = inputs
        .policy
        .iter()
        .filter(|(k, _)| **k != "policy/sink.lua")
        .map(|(k, v)| (*k, *v))
        .collect();
    let sink_files: BTreeMap<&str, &str> = inputs
        .policy
        .iter()
        .filter(|(k, _)| **k == "policy/sink.lua")
        .map(|(k, v)| (*k, *v))
        .collect();
    let cx = Ctx {
        d,
        image: image_reference(&d.image, &d.version.value),
        checksum: pod_checksum(inputs, mta_files.keys().copied()),
        sink_checksum: pod_checksum(inputs, sink_files.keys().copied()),
        n,
    };
    // Each object is written as YAML as soon as it is built (the ConfigMaps directly, see
    // `config_map`), so no tree outlives its file.
    let mut objects: Vec<(String, String)> = Vec::new();
    let mut add = |file: &str, text: String| objects.push((file.to_string(), text));
    if d.create_namespace {
        add("namespace.yaml", yaml(&namespace(&cx)));
    }
    add("serviceaccount.yaml", yaml(&service_account(&cx)));
    add(
        "configmap-policy.yaml",
        config_map(&cx, &cx.n.mta_policy(), &mta_files, "mta"),
    );
    add("statefulset-mta.yaml", yaml(&mta_statefulset(&cx)));
    add("service-mta.yaml", yaml(&mta_service(&cx)));
    add("service-mta-headless.yaml", yaml(&mta_headless(&cx)));
    if let Some(a) = &d.cluster.mta.autoscale {
        add("hpa-mta.yaml", yaml(&hpa(&cx, a)));
    }
    if d.cluster.mta.replicas.value > 1 || d.cluster.mta.autoscale.is_some() {
        add("pdb-mta.yaml", yaml(&pdb(&cx, &cx.n.mta, "mta")));
    }
    add("networkpolicy-mta.yaml", yaml(&mta_network_policy(&cx)));
    if d.cluster.metrics.enabled && d.cluster.metrics.service_monitor {
        add("servicemonitor-mta.yaml", yaml(&service_monitor(&cx)));
    }
    if let Some(tsa) = &d.cluster.tsa {
        add("statefulset-tsa.yaml", yaml(&tsa_statefulset(&cx, tsa)));
        add("service-tsa.yaml", yaml(&tsa_service(&cx, tsa, false)));
        add(
            "service-tsa-headless.yaml",
            yaml(&tsa_service(&cx, tsa, true)),
        );
        if tsa.replicas.value > 1 {
            add("pdb-tsa.yaml", yaml(&pdb(&cx, &cx.n.tsa, "tsa")));
        }
        add(
            "networkpolicy-tsa.yaml",
            yaml(&from_mta_policy(&cx, &cx.n.tsa, "tsa", tsa.port)),
        );
    }
    if d.cluster.sink.enabled.value {
        add(
            "configmap-sink.yaml",
            config_map(&cx, &cx.n.sink_policy(), &sink_files, "sink"),
        );
        add("deployment-sink.yaml", yaml(&sink_deployment(&cx)));
        add("service-sink.yaml", yaml(&sink_service(&cx)));
        add(
            "networkpolicy-sink.yaml",
            yaml(&from_mta_policy(
                &cx,
                &cx.n.sink,
                "sink",
                d.cluster.sink.port,
            )),
        );
    }
    let header = format!(
        "# Generated by kumoc for deployment {:?} (KumoMTA {}, Kubernetes {KUBERNETES_VERSION}). Do not edit.\n",
        d.name.value, d.version.value
    );
    let mut resources = Vec::new();
    for (file, yaml) in objects {
        let mut text = String::with_capacity(header.len() + yaml.len());
        text.push_str(&header);
        text.push_str(&yaml);
        drop(yaml);
        out.add(format!("k8s/{file}"), text);
        resources.push(Value::String(file));
    }
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": d.namespace.value,
        "resources": resources,
    });
    out.add(
        "k8s/kustomization.yaml",
        format!("{header}{}", yaml(&kustomization)),
    );
}

fn yaml(v: &Value) -> String {
    serde_norway::to_string(v).unwrap_or_default()
}

/// `REPOSITORY:RELEASE`, and `@DIGEST` when `image` pins one: the kubelet then pulls by
/// the digest (the strongest pin), and the tag still says which release it is.
fn image_reference(image: &str, release: &kumoc_lang::units::KumoVersion) -> String {
    let repository = image_repository(image);
    match image.split_once('@') {
        Some((_, digest)) => format!("{repository}:{release}@{digest}"),
        None => format!("{repository}:{release}"),
    }
}

/// The image repository without a tag or digest: the tag is always the declared release
/// (a tag written in `image` is reported by KUMO-K8S006).
fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// The `kumoc.dev/policy-checksum` annotation of a pod template: sha256 over the name and
/// canonical digest of each file in `covered`, in name order. A pod template carries the
/// checksum of the files its pods read (the ConfigMap they mount), so a change to what they
/// read rolls them; the digests leave out comments (see `kumomta::text`), so a change to a
/// value's place or to the list of source files, which cannot change kumod's behaviour, does
/// not. A file without a digest counts with its whole text (rolling too often is safe).
fn pod_checksum<'a>(inputs: &Inputs<'_>, covered: impl IntoIterator<Item = &'a str>) -> String {
    let covered: BTreeSet<&str> = covered.into_iter().collect();
    let mut h = Sha256::new();
    for name in covered {
        h.update(name.as_bytes());
        h.update([0]);
        match inputs.digests.get(name) {
            Some(d) => h.update(d),
            None => h.update(Sha256::digest(
                inputs.policy.get(name).copied().unwrap_or("").as_bytes(),
            )),
        }
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Names {
    fn mta_policy(&self) -> String {
        format!("{}-policy", self.mta)
    }
    fn sink_policy(&self) -> String {
        format!("{}-sink-policy", self.mta)
    }
}

fn app_name(component: &str) -> &'static str {
    match component {
        "tsa" => "kumomta-tsa",
        "sink" => "kumomta-sink",
        _ => "kumomta",
    }
}

fn selector(d: &Deployment, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": app_name(component),
        "app.kubernetes.io/instance": d.name.value,
        "app.kubernetes.io/component": component,
    })
}

fn labels(d: &Deployment, component: &str) -> Value {
    let mut l = selector(d, component);
    if let Some(m) = l.as_object_mut() {
        m.insert("app.kubernetes.io/part-of".into(), json!("kumomta"));
        m.insert(
            "app.kubernetes.io/version".into(),
            json!(version_label(&d.version.value.to_string())),
        );
        m.insert("app.kubernetes.io/managed-by".into(), json!("kumoc"));
    }
    l
}

/// Label values allow `[A-Za-z0-9._-]`, at most 63 characters.
fn version_label(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect()
}

fn meta(cx: &Ctx<'_>, name: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": cx.d.namespace.value, "labels": labels(cx.d, component) })
}

fn namespace(cx: &Ctx<'_>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": cx.d.namespace.value,
            "labels": {
                "app.kubernetes.io/managed-by": "kumoc",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    })
}

fn service_account(cx: &Ctx<'_>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "automountServiceAccountToken": false,
    })
}

/// A ConfigMap of policy files, as YAML. The files (megabytes for a large deployment) are
/// written straight into the output as literal blocks, exactly as `serde_norway` writes them,
/// instead of being copied into a tree, serialized and copied again. When a file would not be
/// written as a plain literal block (see [`plain_literal`]), the whole ConfigMap goes through
/// `serde_norway`.
fn config_map(cx: &Ctx<'_>, name: &str, files: &BTreeMap<&str, &str>, component: &str) -> String {
    let key = |path: &'_ str| path.rsplit('/').next().unwrap_or(path).to_string();
    let meta = meta(cx, name, component);
    if files.is_empty() || !files.iter().all(|(k, v)| plain_literal(&key(k), v)) {
        let data: serde_json::Map<String, Value> = files
            .iter()
            .map(|(k, v)| (key(k), Value::String((*v).to_string())))
            .collect();
        return yaml(
            &json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data }),
        );
    }
    let head = yaml(&json!({ "apiVersion": "v1" }));
    let tail = yaml(&json!({ "kind": "ConfigMap", "metadata": meta }));
    // Exactly what is written: `  key: |`, and each line indented by four.
    let size: usize = files
        .iter()
        .map(|(k, v)| k.len() + 6 + v.len() + 4 * v.bytes().filter(|&b| b == b'\n').count())
        .sum();
    let mut out = String::with_capacity(head.len() + "data:\n".len() + size + tail.len());
    out.push_str(&head);
    out.push_str("data:\n");
    for (path, text) in files {
        out.push_str("  ");
        out.push_str(&key(path));
        out.push_str(": |\n");
        for line in text.strip_suffix('\n').unwrap_or(text).split('\n') {
            if !line.is_empty() {
                out.push_str("    ");
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out.push_str(&tail);
    out
}

/// Whether libyaml (`serde_norway`) writes `key: text` as `key: |` and the text's lines
/// indented, nothing else: a plain key, and a text of printable ASCII lines without trailing
/// blanks, not starting with a blank, ending with exactly one newline.
fn plain_literal(key: &str, text: &str) -> bool {
    let plain_key = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    plain_key
        && !body.is_empty()
        && !body.starts_with([' ', '\n'])
        && !body.ends_with([' ', '\n'])
        && !body.contains(" \n")
        && body
            .bytes()
            .all(|b| b == b'\n' || (0x20..0x7f).contains(&b))
}

/// What kumoc requests for a TSA or sink container when `resources` names neither a request
/// nor a limit for CPU (millicores) or memory (bytes): both are small and steady, and a pod
/// without requests is the first evicted under node pressure (QoS class BestEffort). Only
/// requests: a limit kumoc guessed could throttle or kill them. The MTA has no default; it
/// is sized by the user, and KUMO-K8S003 asks for its figures.
pub const TSA_DEFAULT_REQUESTS: (u64, u64) = (100, 128 * 1024 * 1024);
/// See [`TSA_DEFAULT_REQUESTS`].
pub const SINK_DEFAULT_REQUESTS: (u64, u64) = (100, 256 * 1024 * 1024);

/// The container's resources. `default_requests` (CPU millicores, memory bytes) fill a request
/// that is not written when no limit is written for that resource either (Kubernetes copies a
/// limit into a missing request, and a default above the user's limit would be rejected).
fn resources(r: &Resources, default_requests: Option<(u64, u64)>) -> Value {
    let mut requests = serde_json::Map::new();
    let mut limits = serde_json::Map::new();
    let (default_cpu, default_memory) = match default_requests {
        Some((cpu, memory)) => (
            r.limits_cpu.is_none().then_some(cpu),
            r.limits_memory.is_none().then_some(memory),
        ),
        None => (None, None),
    };
    if let Some(c) = r.requests_cpu.or(default_cpu) {
        requests.insert("cpu".into(), json!(kumoc_lang::units::format_cpu(c)));
    }
    if let Some(m) = r.requests_memory.or(default_memory) {
        requests.insert("memory".into(), json!(kumoc_lang::units::format_size(m)));
    }
    if let Some(c) = r.limits_cpu {
        limits.insert("cpu".into(), json!(kumoc_lang::units::format_cpu(c)));
    }
    if let Some(m) = r.limits_memory {
        limits.insert("memory".into(), json!(kumoc_lang::units::format_size(m)));
    }
    let mut out = serde_json::Map::new();
    if !requests.is_empty() {
        out.insert("requests".into(), Value::Object(requests));
    }
    if !limits.is_empty() {
        out.insert("limits".into(), Value::Object(limits));
    }
    Value::Object(out)
}

fn seconds(ms: u64) -> i64 {
    i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX).max(1)
}

fn probe(kind: Value, p: &Probe) -> Value {
    let mut v = kind;
    if let Some(m) = v.as_object_mut() {
        if p.initial_delay_ms > 0 {
            m.insert(
                "initialDelaySeconds".into(),
                json!(seconds(p.initial_delay_ms)),
            );
        }
        m.insert("periodSeconds".into(), json!(seconds(p.period_ms)));
        m.insert("timeoutSeconds".into(), json!(seconds(p.timeout_ms)));
        m.insert("failureThreshold".into(), json!(p.failure_threshold));
    }
    v
}

fn http_get(path: &str, port: &str) -> Value {
    json!({ "httpGet": { "path": path, "port": port } })
}

fn tcp(port: &str) -> Value {
    json!({ "tcpSocket": { "port": port } })
}

fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// Spread replicas over nodes and zones (preferred, so small clusters still schedule).
fn spread(d: &Deployment, component: &str) -> Value {
    json!([
        { "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": { "matchLabels": selector(d, component) } },
        { "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": { "matchLabels": selector(d, component) } },
    ])
}

fn empty_dir(name: &str) -> Value {
    json!({ "name": name, "emptyDir": {} })
}

fn mount(name: &str, path: &str, read_only: bool) -> Value {
    json!({ "name": name, "mountPath": path, "readOnly": read_only })
}

/// The environment that points a workload's process at its writable volumes
/// ([`Workload::writes`]).
fn env(w: Workload) -> Value {
    Value::Array(
        w.env()
            .into_iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

/// Where the MTA's secrets are mounted, derived from where the policy reads them:
/// DKIM keys at the helper's key path, API users one file each, everything else by
/// `<secret>/<key>`.
struct SecretMounts {
    volumes: Vec<Value>,
    mounts: Vec<Value>,
}

fn secret_mounts(d: &Deployment) -> SecretMounts {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    // DKIM: one projected volume; each key lands at <domain>/<selector>.key.
    let mut dkim: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for dom in &d.domains {
        let Some(k) = &dom.dkim else { continue };
        let selector = match k
            .settings
            .get("selector")
            .or_else(|| d.dkim_defaults.get("selector"))
            .map(|s| &s.value)
        {
            Some(Typed::Str(s)) => s.clone(),
            _ => continue,
        };
        let path = names::dkim_key_path(&dom.name, &selector);
        let rel = path
            .strip_prefix(&format!("{}/", names::DKIM_DIR))
            .unwrap_or(&path)
            .to_string();
        dkim.entry(k.key.secret.as_str())
            .or_default()
            .push(json!({ "key": k.key.key, "path": rel, "mode": 0o440 }));
    }
    if !dkim.is_empty() {
        let sources: Vec<Value> = dkim
            .into_iter()
            .map(|(name, items)| json!({ "secret": { "name": name, "items": items } }))
            .collect();
        volumes.push(json!({ "name": "dkim-keys", "projected": { "sources": sources, "defaultMode": 0o440 } }));
        mounts.push(mount("dkim-keys", names::DKIM_DIR, true));
    }
    if let Some(Typed::Secret(users)) = d.http_listener.get("users").map(|s| &s.value) {
        volumes.push(json!({ "name": "http-listener-keys", "secret": { "secretName": users.name, "defaultMode": 0o440 } }));
        mounts.push(mount("http-listener-keys", names::HTTP_USERS_DIR, true));
    }
    let mut other: BTreeSet<(String, String)> = BTreeSet::new();
    let mut visit = |s: &crate::model::Settings| {
        for (field, setting) in s {
            if *field == "users" {
                continue;
            }
            if let Typed::Secret(r) = &setting.value {
                if let Some((k, _)) = &r.key {
                    other.insert((r.name.clone(), k.clone()));
                }
            }
        }
    };
    visit(&d.smtp_listener);
    visit(&d.http_listener);
    if let Some(r) = &d.cluster.redis {
        visit(&r.settings);
    }
    for s in &d.sources {
        visit(&s.settings);
    }
    for b in &d.shaping {
        visit(&b.shaping.settings);
    }
    for p in &d.providers {
        visit(&p.shaping.settings);
    }
    if !other.is_empty() {
        let mut by_secret: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (secret, key) in other {
            by_secret
                .entry(secret.clone())
                .or_default()
                .push(json!({ "key": key, "path": format!("{secret}/{key}") }));
        }
        let sources: Vec<Value> = by_secret
            .into_iter()
            .map(|(name, items)| json!({ "secret": { "name": name, "items": items } }))
            .collect();
        volumes.push(
            json!({ "name": "secrets", "projected": { "sources": sources, "defaultMode": 0o440 } }),
        );
        mounts.push(mount("secrets", names::SECRETS_DIR, true));
    }
    SecretMounts { volumes, mounts }
}

fn mta_statefulset(cx: &Ctx<'_>) -> Value {
    let d = cx.d;
    let mta = &d.cluster.mta;
    let mut ports = vec![
        json!({ "name": "http", "containerPort": mta.http_port.value, "protocol": "TCP" }),
        json!({ "name": "smtp", "containerPort": mta.smtp_port.value, "protocol": "TCP" }),
    ];
    if d.cluster.metrics.enabled && !d.cluster.metrics.scraper_cidrs.is_empty() {
        // The policy starts a listener on this port (init.lua), so it really listens.
        ports.push(json!({ "name": "metrics", "containerPort": mta.metrics_port.value, "protocol": "TCP" }));
    }
    let secrets = secret_mounts(d);
    let mut volumes = vec![
        json!({ "name": "policy", "configMap": { "name": cx.n.mta_policy() } }),
        empty_dir("logs"),
        empty_dir("tmp"),
    ];
    volumes.extend(secrets.volumes);
    let mut mounts = vec![
        mount("policy", names::POLICY_DIR, true),
        mount("spool", names::SPOOL_DIR, false),
        mount("logs", names::LOG_DIR, false),
        mount("tmp", names::TMP_DIR, false),
    ];
    mounts.extend(secrets.mounts);
    let container = json!({
        "name": "kumod",
        "image": cx.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/kumomta/sbin/kumod", "--policy", names::policy_file(Workload::Mta.policy())],
        // The node id on the spool volume (it survives restarts), temporary files on `tmp`.
        "env": env(Workload::Mta),
        "ports": ports,
        "readinessProbe": probe(http_get("/api/check-liveness/v1", "http"), &mta.readiness),
        "startupProbe": probe(http_get("/api/check-liveness/v1", "http"), &mta.startup),
        // Not the liveness endpoint: it reports load shedding, which must not restart pods.
        "livenessProbe": probe(tcp("http"), &mta.liveness),
        "resources": resources(&mta.resources, None),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    });
    let mut pvc_spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": kumoc_lang::units::format_size(mta.spool_bytes.value) } },
    });
    if let (Some(sc), Some(m)) = (&mta.storage_class, pvc_spec.as_object_mut()) {
        m.insert("storageClassName".into(), json!(sc));
    }
    let mut spec = json!({
        "serviceName": cx.n.mta_headless,
        "podManagementPolicy": "Parallel",
        "selector": { "matchLabels": selector(cx.d, "mta") },
        "template": {
            "metadata": {
                "labels": labels(cx.d, "mta"),
                "annotations": { "kumoc.dev/policy-checksum": cx.checksum },
            },
            "spec": {
                "serviceAccountName": cx.n.mta,
                "automountServiceAccountToken": false,
                "terminationGracePeriodSeconds": seconds(mta.termination_grace_ms),
                "topologySpreadConstraints": spread(d, "mta"),
                "securityContext": pod_security(),
                "containers": [container],
                "volumes": volumes,
            },
        },
        "volumeClaimTemplates": [{
            "metadata": { "name": "spool", "labels": labels(cx.d, "mta") },
            "spec": pvc_spec,
        }],
        "persistentVolumeClaimRetentionPolicy": { "whenDeleted": "Retain", "whenScaled": "Retain" },
    });
    if mta.autoscale.is_none() {
        if let Some(m) = spec.as_object_mut() {
            m.insert("replicas".into(), json!(mta.replicas.value));
        }
    }
    json!({ "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(cx, &cx.n.mta, "mta"), "spec": spec })
}

fn mta_service(cx: &Ctx<'_>) -> Value {
    let mta = &cx.d.cluster.mta;
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(cx.d, "mta"),
            "ports": [
                { "name": "http", "port": mta.http_port.value, "targetPort": "http", "protocol": "TCP" },
                { "name": "smtp", "port": mta.smtp_port.value, "targetPort": "smtp", "protocol": "TCP" },
            ],
        },
    })
}

/// The StatefulSet's governing Service: headless, so every pod gets a stable DNS name.
/// It also carries the metrics port for the ServiceMonitor.
fn mta_headless(cx: &Ctx<'_>) -> Value {
    let d = cx.d;
    let mta = &d.cluster.mta;
    let mut ports = vec![
        json!({ "name": "http", "port": mta.http_port.value, "targetPort": "http", "protocol": "TCP" }),
    ];
    if d.cluster.metrics.enabled && !d.cluster.metrics.scraper_cidrs.is_empty() {
        ports.push(json!({ "name": "metrics", "port": mta.metrics_port.value, "targetPort": "metrics", "protocol": "TCP" }));
    }
    let mut m = meta(cx, &cx.n.mta_headless, "mta");
    if let Some(l) = m.get_mut("labels").and_then(Value::as_object_mut) {
        l.insert("kumoc.dev/service".into(), json!("headless"));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": m,
        "spec": { "clusterIP": "None", "selector": selector(cx.d, "mta"), "ports": ports },
    })
}

fn hpa(cx: &Ctx<'_>, a: &crate::model::Autoscale) -> Value {
    let mut metrics = Vec::new();
    if let Some(p) = a.cpu_percent {
        metrics.push(json!({ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": p } } }));
    }
    if let Some(p) = a.memory_percent {
        metrics.push(json!({ "type": "Resource", "resource": { "name": "memory", "target": { "type": "Utilization", "averageUtilization": p } } }));
    }
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "StatefulSet", "name": cx.n.mta },
            "minReplicas": a.min,
            "maxReplicas": a.max,
            "metrics": metrics,
            // Scaling in would strand the removed pod's spool (its queued mail) on its
            // volume: scale down by hand after draining (kcli xfer).
            "behavior": { "scaleDown": { "selectPolicy": "Disabled" } },
        },
    })
}

fn pdb(cx: &Ctx<'_>, name: &str, component: &str) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(cx, name, component),
        "spec": { "maxUnavailable": 1, "selector": { "matchLabels": selector(cx.d, component) } },
    })
}

fn ip_blocks(cidrs: impl IntoIterator<Item = String>) -> Vec<Value> {
    cidrs
        .into_iter()
        .filter(|c| !c.starts_with("127.") && c != "::1" && c != "::1/128")
        .map(|c| {
            let cidr = if c.contains('/') {
                c
            } else if c.contains(':') {
                format!("{c}/128")
            } else {
                format!("{c}/32")
            };
            json!({ "ipBlock": { "cidr": cidr } })
        })
        .collect()
}

fn cidr_list(s: &crate::model::Settings, name: &str) -> Vec<String> {
    match s.get(name).map(|x| &x.value) {
        Some(Typed::List(items)) => items
            .iter()
            .filter_map(|i| match &i.value {
                Typed::Cidr(c) => Some(c.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Ingress to the MTA pods: HTTP from the pod network, SMTP only from the relay hosts,
/// metrics only from the scrapers. Everything else is dropped.
fn mta_network_policy(cx: &Ctx<'_>) -> Value {
    let d = cx.d;
    let mta = &d.cluster.mta;
    let mut ingress = Vec::new();
    let http_from = match &d.cluster.pod_cidr {
        Some(c) => ip_blocks([c.value.to_string()]),
        None => vec![json!({ "namespaceSelector": {} })],
    };
    ingress.push(json!({ "from": http_from, "ports": [{ "port": "http", "protocol": "TCP" }] }));
    let relay = ip_blocks(cidr_list(&d.smtp_listener, "relay_hosts"));
    if !relay.is_empty() {
        ingress.push(json!({ "from": relay, "ports": [{ "port": "smtp", "protocol": "TCP" }] }));
    }
    let scrapers = ip_blocks(
        d.cluster
            .metrics
            .scraper_cidrs
            .iter()
            .map(|c| c.value.to_string()),
    );
    if d.cluster.metrics.enabled && !scrapers.is_empty() {
        ingress.push(json!({ "from": scrapers, "ports": [{ "port": mta.metrics_port.value, "protocol": "TCP" }] }));
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": { "podSelector": { "matchLabels": selector(cx.d, "mta") }, "policyTypes": ["Ingress"], "ingress": ingress },
    })
}

/// Ingress to TSA or the sink: only from the MTA pods.
fn from_mta_policy(cx: &Ctx<'_>, name: &str, component: &str, port: u16) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(cx, name, component),
        "spec": {
            "podSelector": { "matchLabels": selector(cx.d, component) },
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{ "podSelector": { "matchLabels": selector(cx.d, "mta") } }],
                "ports": [{ "port": port, "protocol": "TCP" }],
            }],
        },
    })
}

fn service_monitor(cx: &Ctx<'_>) -> Value {
    let mut sel = selector(cx.d, "mta");
    if let Some(m) = sel.as_object_mut() {
        m.insert("kumoc.dev/service".into(), json!("headless"));
    }
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(cx, &cx.n.mta, "mta"),
        "spec": {
            "selector": { "matchLabels": sel },
            "namespaceSelector": { "matchNames": [cx.d.namespace.value] },
            "endpoints": [{
                "port": "metrics",
                "path": "/metrics",
                "interval": kumoc_lang::units::format_duration(cx.d.cluster.metrics.interval_ms),
            }],
        },
    })
}

fn tsa_statefulset(cx: &Ctx<'_>, tsa: &crate::model::Tsa) -> Value {
    // /tsa/status exists from 2026.03.04; before that, a TCP check (the other routes
    // answer trusted hosts only, and the kubelet is not one).
    let status =
        cx.d.version
            .value
            .supports(kumoc_lang::units::Feature::TsaStatusEndpoint);
    let ready = if status {
        http_get("/tsa/status", "http")
    } else {
        tcp("http")
    };
    let timing = Probe {
        initial_delay_ms: 0,
        period_ms: 10_000,
        timeout_ms: 1_000,
        failure_threshold: 3,
    };
    let container = json!({
        "name": "tsa-daemon",
        "image": cx.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/kumomta/sbin/tsa-daemon", "--policy", names::policy_file(Workload::Tsa.policy())],
        "env": env(Workload::Tsa),
        "ports": [{ "name": "http", "containerPort": tsa.port, "protocol": "TCP" }],
        "readinessProbe": probe(ready.clone(), &timing),
        "livenessProbe": probe(tcp("http"), &Probe { period_ms: 20_000, ..timing.clone() }),
        "resources": resources(&tsa.resources, Some(TSA_DEFAULT_REQUESTS)),
        "securityContext": container_security(),
        "volumeMounts": [
            mount("policy", names::POLICY_DIR, true),
            mount("data", names::SPOOL_DIR, false),
            mount("tmp", names::TMP_DIR, false),
        ],
    });
    let mut pvc_spec = json!({ "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": kumoc_lang::units::format_size(tsa.storage_bytes) } } });
    if let (Some(sc), Some(m)) = (&tsa.storage_class, pvc_spec.as_object_mut()) {
        m.insert("storageClassName".into(), json!(sc));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(cx, &cx.n.tsa, "tsa"),
        "spec": {
            "replicas": tsa.replicas.value,
            // Per-pod DNS names come from this headless Service; MTAs publish to each pod.
            "serviceName": cx.n.tsa_headless,
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": selector(cx.d, "tsa") },
            "template": {
                "metadata": { "labels": labels(cx.d, "tsa"), "annotations": { "kumoc.dev/policy-checksum": cx.checksum } },
                "spec": {
                    "serviceAccountName": cx.n.mta,
                    "automountServiceAccountToken": false,
                    "topologySpreadConstraints": spread(cx.d, "tsa"),
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": [
                        { "name": "policy", "configMap": { "name": cx.n.mta_policy() } },
                        empty_dir("tmp"),
                    ],
                },
            },
            "volumeClaimTemplates": [{ "metadata": { "name": "data", "labels": labels(cx.d, "tsa") }, "spec": pvc_spec }],
        },
    })
}

fn tsa_service(cx: &Ctx<'_>, tsa: &crate::model::Tsa, headless: bool) -> Value {
    let name = if headless {
        &cx.n.tsa_headless
    } else {
        &cx.n.tsa
    };
    let mut spec = json!({
        "selector": selector(cx.d, "tsa"),
        "ports": [{ "name": "http", "port": tsa.port, "targetPort": "http", "protocol": "TCP" }],
    });
    if let Some(m) = spec.as_object_mut() {
        if headless {
            m.insert("clusterIP".into(), json!("None"));
            // Per-pod names resolve before the pods are ready, so MTAs can publish early.
            m.insert("publishNotReadyAddresses".into(), json!(true));
        } else {
            m.insert("type".into(), json!("ClusterIP"));
        }
    }
    json!({ "apiVersion": "v1", "kind": "Service", "metadata": meta(cx, name, "tsa"), "spec": spec })
}

fn sink_deployment(cx: &Ctx<'_>) -> Value {
    let sink = &cx.d.cluster.sink;
    let liveness = Probe {
        initial_delay_ms: 0,
        period_ms: 20_000,
        timeout_ms: 1_000,
        failure_threshold: 3,
    };
    let container = json!({
        "name": "kumod",
        "image": cx.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/opt/kumomta/sbin/kumod", "--policy", names::policy_file(Workload::Sink.policy())],
        // Without KUMO_NODE_ID_PATH kumod writes its node id on the read-only root and
        // panics at start-up (crates/kumo-server-common/src/nodeid.rs).
        "env": env(Workload::Sink),
        "ports": [
            { "name": "smtp", "containerPort": sink.port, "protocol": "TCP" },
            { "name": "http", "containerPort": 8000, "protocol": "TCP" },
        ],
        "readinessProbe": probe(http_get("/api/check-liveness/v1", "http"), &Probe { period_ms: 10_000, ..liveness.clone() }),
        "livenessProbe": probe(tcp("http"), &liveness),
        "resources": resources(&sink.resources, Some(SINK_DEFAULT_REQUESTS)),
        "securityContext": container_security(),
        "volumeMounts": [
            mount("policy", names::POLICY_DIR, true),
            mount("spool", names::SPOOL_DIR, false),
            mount("logs", names::LOG_DIR, false),
            mount("tmp", names::TMP_DIR, false),
        ],
    });
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(cx, &cx.n.sink, "sink"),
        "spec": {
            "replicas": sink.replicas,
            "selector": { "matchLabels": selector(cx.d, "sink") },
            "template": {
                "metadata": { "labels": labels(cx.d, "sink"), "annotations": { "kumoc.dev/policy-checksum": cx.sink_checksum } },
                "spec": {
                    "serviceAccountName": cx.n.mta,
                    "automountServiceAccountToken": false,
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": [
                        { "name": "policy", "configMap": { "name": cx.n.sink_policy() } },
                        // The sink drops everything it accepts: nothing worth persisting.
                        empty_dir("spool"),
                        empty_dir("logs"),
                        empty_dir("tmp"),
                    ],
                },
            },
        },
    })
}

fn sink_service(cx: &Ctx<'_>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(cx, &cx.n.sink, "sink"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(cx.d, "sink"),
            "ports": [{ "name": "smtp", "port": cx.d.cluster.sink.port, "targetPort": "smtp", "protocol": "TCP" }],
        },
    })
}

/// File contents for Secrets built from files (`kumoc build --secrets`): secret name →
/// key → bytes, read by the CLI from the paths the `secret` blocks name.
pub type SecretContents = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// The Secret manifests, written apart from the rest (`secrets/`), with their own
/// kustomization. Only what was read from files is in them; nothing comes from `.kumo`.
pub fn emit_secrets(d: &Deployment, contents: &SecretContents, out: &mut Output) {
    let n = Names::new(d);
    let header = format!(
        "# Generated by kumoc for deployment {:?}: Secret data read from files at build time.\n# Do not commit this directory.\n",
        d.name.value
    );
    let mut resources = Vec::new();
    for (name, keys) in contents {
        let data: serde_json::Map<String, Value> = keys
            .iter()
            .map(|(k, bytes)| (k.clone(), Value::String(base64(bytes))))
            .collect();
        let obj = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": { "name": name, "namespace": n.namespace, "labels": labels(d, "mta") },
            "data": data,
        });
        let file = format!("secret-{name}.yaml");
        out.add(
            format!("secrets/{file}"),
            format!(
                "{header}{}",
                serde_norway::to_string(&obj).unwrap_or_default()
            ),
        );
        resources.push(Value::String(file));
    }
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": n.namespace,
        "resources": resources,
    });
    out.add(
        "secrets/kustomization.yaml",
        format!(
            "{header}{}",
            serde_norway::to_string(&kustomization).unwrap_or_default()
        ),
    );
}

/// Standard base64 with padding (RFC 4648), as Secret `data` wants.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    /// The direct ConfigMap is what `serde_norway` writes for the whole object.
    #[test]
    fn config_map_matches_serde_norway() {
        let texts = [
            "a\n",
            "a = 1\n\nb = 2\n",
            "-- lua\nlocal x = [[\n]]\n\n\n  indented\n",
            "key: value # not a comment\n'q' \"d\" {x} [y] &a *b !t %p @c `g\n",
            "---\n...\n",
            "ends without newline",
            "two newlines\n\n",
            " leading space\n",
            "\nleading newline\n",
            "trailing space \nx\n",
            "tab\there\n",
            "caf\u{e9}\n",
            "line\u{2028}separator\n",
            "\u{1b}[31m\n",
            "",
            "\n",
        ];
        let text = "deployment \"t\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n";
        let analysis = crate::analyze(
            &[("t.kumo".to_string(), text.as_bytes().to_vec())],
            &crate::Options::default(),
        );
        let d = analysis.model.expect("a model");
        let cx = super::Ctx {
            d: &d,
            n: super::Names::new(&d),
            image: String::new(),
            checksum: String::new(),
            sink_checksum: String::new(),
        };
        let mut fast = 0;
        for text in texts {
            for path in ["policy/init.lua", "policy/x-y_z", "policy/1x", "policy/a b"] {
                for files in [
                    vec![(path, text)],
                    vec![("policy/a.toml", "a = 1\n"), (path, text)],
                ] {
                    let files: std::collections::BTreeMap<&str, &str> = files.into_iter().collect();
                    let got = super::config_map(&cx, "cm", &files, "mta");
                    let data: serde_json::Map<String, serde_json::Value> = files
                        .iter()
                        .map(|(k, v)| (k.rsplit('/').next().unwrap().to_string(), (*v).into()))
                        .collect();
                    let want = super::yaml(&serde_json::json!({
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": super::meta(&cx, "cm", "mta"), "data": data,
                    }));
                    assert_eq!(got, want, "{path:?}: {text:?}");
                    fast += usize::from(
                        files
                            .iter()
                            .all(|(k, v)| super::plain_literal(k.rsplit('/').next().unwrap(), v)),
                    );
                }
            }
        }
        assert_eq!(
            fast,
            5 * 2 * 2,
            "the plain texts under the plain keys take the fast path"
        );
    }
}
