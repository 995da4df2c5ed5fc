//! What every workload's objects share: labels and metadata, the image reference, probes,
//! resources, security contexts, volumes, the PodDisruptionBudget and the NetworkPolicy that
//! admits only the MTA, and the YAML writer.

use serde_json::{Value, json};

use super::Ctx;
use crate::model::{Deployment, Probe, Resources};
use crate::names::Workload;

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

pub(super) fn yaml(v: &Value) -> String {
    serde_norway::to_string(v).unwrap_or_default()
}

/// `REPOSITORY:RELEASE`, and `@DIGEST` when `image` pins one: the kubelet then pulls by
/// the digest (the strongest pin), and the tag still says which release it is.
///
/// The tag is always the declared release (a tag written in `image` is reported by
/// KUMO-K8S006).
pub(super) fn image_reference(image: &str, release: &kumoc_lang::units::KumoVersion) -> String {
    let repository = crate::grammars::image_repository(image);
    match image.split_once('@') {
        Some((_, digest)) => format!("{repository}:{release}@{digest}"),
        None => format!("{repository}:{release}"),
    }
}

fn app_name(component: &str) -> &'static str {
    match component {
        "tsa" => "kumomta-tsa",
        "sink" => "kumomta-sink",
        _ => "kumomta",
    }
}

pub(super) fn selector(d: &Deployment, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": app_name(component),
        "app.kubernetes.io/instance": d.name.value,
        "app.kubernetes.io/component": component,
    })
}

pub(super) fn labels(d: &Deployment, component: &str) -> Value {
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

pub(super) fn meta(cx: &Ctx<'_>, name: &str, component: &str) -> Value {
    meta_of(cx.d, name, component)
}

/// [`meta`], for an object of `d` written before the build's [`Ctx`] is (a data shard's
/// ConfigMap, written as the shard is cut).
pub(super) fn meta_of(d: &Deployment, name: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": d.namespace.value, "labels": labels(d, component) })
}

/// The container's resources. `default_requests` (CPU millicores, memory bytes) fill a request
/// that is not written when no limit is written for that resource either (Kubernetes copies a
/// limit into a missing request, and a default above the user's limit would be rejected).
pub(super) fn resources(r: &Resources, default_requests: Option<(u64, u64)>) -> Value {
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

pub(super) fn seconds(ms: u64) -> i64 {
    i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX).max(1)
}

pub(super) fn probe(kind: Value, p: &Probe) -> Value {
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

pub(super) fn http_get(path: &str, port: &str) -> Value {
    json!({ "httpGet": { "path": path, "port": port } })
}

pub(super) fn tcp(port: &str) -> Value {
    json!({ "tcpSocket": { "port": port } })
}

pub(super) fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

pub(super) fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// Spread replicas over nodes and zones (preferred, so small clusters still schedule).
pub(super) fn spread(d: &Deployment, component: &str) -> Value {
    json!([
        { "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": { "matchLabels": selector(d, component) } },
        { "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": { "matchLabels": selector(d, component) } },
    ])
}

pub(super) fn empty_dir(name: &str) -> Value {
    json!({ "name": name, "emptyDir": {} })
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> Value {
    json!({ "name": name, "mountPath": path, "readOnly": read_only })
}

/// The environment that points a workload's process at its writable volumes
/// ([`Workload::writes`]).
pub(super) fn env(w: Workload) -> Value {
    Value::Array(
        w.env()
            .into_iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect(),
    )
}

pub(super) fn pdb(cx: &Ctx<'_>, name: &str, component: &str) -> Value {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(cx, name, component),
        "spec": { "maxUnavailable": 1, "selector": { "matchLabels": selector(cx.d, component) } },
    })
}

/// Ingress to TSA or the sink: only from the MTA pods.
pub(super) fn from_mta_policy(cx: &Ctx<'_>, name: &str, component: &str, port: u16) -> Value {
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
