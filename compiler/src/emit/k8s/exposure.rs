//! How mail and API calls get in from outside the cluster: a LoadBalancer Service for SMTP
//! (`externalTrafficPolicy: Local` by default, so the MTA sees the clients' own addresses
//! and `relay_hosts` means what it says; `loadBalancerSourceRanges`), and an Ingress with
//! TLS for the HTTP API, to the MTA's ClusterIP Service.

use serde_json::{Value, json};

use super::Ctx;
use super::common::{meta, selector};
use crate::model::Exposure;
use crate::value::Typed;

fn ranges(e: &Exposure) -> Vec<String> {
    match e.settings.get("source_ranges").map(|s| &s.value) {
        Some(Typed::List(items)) => items
            .iter()
            .filter_map(|i| match &i.value {
                Typed::Cidr(c) => Some(c.to_string()),
                _ => None,
            })
            .map(|c| {
                if c.contains('/') {
                    c
                } else if c.contains(':') {
                    format!("{c}/128")
                } else {
                    format!("{c}/32")
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn smtp_load_balancer(cx: &Ctx<'_>, e: &Exposure) -> Value {
    let port = e
        .settings
        .value_or_default(&crate::schema::SMTP_LOAD_BALANCER, "port")
        .and_then(|v| v.as_int())
        .unwrap_or_default();
    let policy = e
        .settings
        .value_or_default(
            &crate::schema::SMTP_LOAD_BALANCER,
            "external_traffic_policy",
        )
        .and_then(|v| v.as_enum().map(|v| v.kumo))
        .unwrap_or_default();
    let mut spec = json!({
        "type": "LoadBalancer",
        "externalTrafficPolicy": policy,
        "selector": selector(cx.d, "mta"),
        "ports": [{ "name": "smtp", "port": port, "targetPort": "smtp", "protocol": "TCP" }],
    });
    let r = ranges(e);
    if let (false, Some(o)) = (r.is_empty(), spec.as_object_mut()) {
        o.insert("loadBalancerSourceRanges".into(), json!(r));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(cx, &cx.n.mta_smtp_lb, "mta"),
        "spec": spec,
    })
}

/// The MTA NetworkPolicy's rule for SMTP through the load balancer: from its source ranges,
/// or from anywhere.
pub(super) fn smtp_network_rule(cx: &Ctx<'_>) -> Option<Value> {
    let e = cx.d.smtp_load_balancer.as_ref()?;
    let mut r = ranges(e);
    if r.is_empty() {
        r = vec!["0.0.0.0/0".to_string(), "::/0".to_string()];
    }
    let from: Vec<Value> = r
        .into_iter()
        .map(|c| json!({ "ipBlock": { "cidr": c } }))
        .collect();
    Some(json!({ "from": from, "ports": [{ "port": "smtp", "protocol": "TCP" }] }))
}

pub(super) fn api_ingress(cx: &Ctx<'_>, e: &Exposure) -> Value {
    let text = |k: &str| {
        e.settings
            .get(k)
            .and_then(|s| s.value.text())
            .map(str::to_string)
    };
    let host = text("host").unwrap_or_default();
    let mut spec = json!({
        "tls": [{ "hosts": [host], "secretName": text("tls_secret").unwrap_or_default() }],
        "rules": [{
            "host": host,
            "http": { "paths": [{
                "path": "/",
                "pathType": "Prefix",
                "backend": { "service": { "name": cx.n.mta, "port": { "name": "http" } } },
            }] },
        }],
    });
    if let (Some(class), Some(o)) = (text("class"), spec.as_object_mut()) {
        o.insert("ingressClassName".into(), json!(class));
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta(cx, &cx.n.mta_api_ingress, "mta"),
        "spec": spec,
    })
}
