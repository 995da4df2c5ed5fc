//! The MTA (kumod): its StatefulSet with a per-pod spool, the ClusterIP and headless
//! Services, the HPA, the NetworkPolicy and the ServiceMonitor.

use serde_json::{Value, json};

use super::Ctx;
use super::common::{
    container_security, empty_dir, env, http_get, labels, meta, mount, pod_security, probe,
    resources, seconds, selector, spread, tcp,
};
use super::secrets::secret_mounts;
use crate::emit::names::{self, Workload};
use crate::value::Typed;

pub(super) fn statefulset(cx: &Ctx<'_>) -> Value {
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
        cx.policy_volume.clone(),
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
        "env": super::vault::with_vault_env(d, env(Workload::Mta)),
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

pub(super) fn service(cx: &Ctx<'_>) -> Value {
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
pub(super) fn headless_service(cx: &Ctx<'_>) -> Value {
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

pub(super) fn hpa(cx: &Ctx<'_>, a: &crate::model::Autoscale) -> Value {
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

/// Ingress to the MTA pods: HTTP from the pod network, SMTP only from the relay hosts,
/// metrics only from the scrapers. Everything else is dropped.
pub(super) fn network_policy(cx: &Ctx<'_>) -> Value {
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
    ingress.extend(super::exposure::smtp_network_rule(cx));
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

pub(super) fn service_monitor(cx: &Ctx<'_>) -> Value {
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
                // Keep KumoMTA's `service` label as `service` (not `exported_service`): the
                // alerts, dashboard and KEDA query it by that name (`promql.rs`).
                "honorLabels": true,
                "interval": kumoc_lang::units::format_duration(cx.d.cluster.metrics.interval_ms),
            }],
        },
    })
}
