//! The test sink (kumod that accepts and drops everything): its Deployment and Service.

use serde_json::{Value, json};

use super::Ctx;
use super::common::{
    container_security, empty_dir, env, http_get, labels, meta, mount, pod_security, probe,
    resources, selector, tcp,
};
use crate::model::Probe;
use crate::names::{self, Workload};

/// What kumoc requests for the sink when `resources` names nothing (see
/// [`TSA_DEFAULT_REQUESTS`](super::tsa::TSA_DEFAULT_REQUESTS)).
const SINK_DEFAULT_REQUESTS: (u64, u64) = (100, 256 * 1024 * 1024);

pub(super) fn deployment(cx: &Ctx<'_>) -> Value {
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

pub(super) fn service(cx: &Ctx<'_>) -> Value {
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
