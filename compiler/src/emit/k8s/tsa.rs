//! The TSA daemon: its StatefulSet (per-pod names, persistent state) and its ClusterIP and
//! headless Services.

use serde_json::{Value, json};

use super::Ctx;
use super::common::{
    container_security, empty_dir, env, http_get, labels, meta, mount, pod_security, probe,
    resources, selector, spread, tcp,
};
use crate::model::Probe;
use crate::names::{self, Workload};

/// What kumoc requests for a TSA or sink container when `resources` names neither a request
/// nor a limit for CPU (millicores) or memory (bytes): both are small and steady, and a pod
/// without requests is the first evicted under node pressure (QoS class BestEffort). Only
/// requests: a limit kumoc guessed could throttle or kill them. The MTA has no default; it
/// is sized by the user, and KUMO-K8S003 asks for its figures.
pub(super) const TSA_DEFAULT_REQUESTS: (u64, u64) = (100, 128 * 1024 * 1024);

pub(super) fn statefulset(cx: &Ctx<'_>, tsa: &crate::model::Tsa) -> Value {
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
                "metadata": { "labels": labels(cx.d, "tsa"), "annotations": { "kumoc.dev/policy-checksum": cx.tsa_checksum } },
                "spec": {
                    "serviceAccountName": cx.n.mta,
                    "automountServiceAccountToken": false,
                    "topologySpreadConstraints": spread(cx.d, "tsa"),
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": [
                        cx.policy_volume,
                        empty_dir("tmp"),
                    ],
                },
            },
            "volumeClaimTemplates": [{ "metadata": { "name": "data", "labels": labels(cx.d, "tsa") }, "spec": pvc_spec }],
        },
    })
}

pub(super) fn service(cx: &Ctx<'_>, tsa: &crate::model::Tsa, headless: bool) -> Value {
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
