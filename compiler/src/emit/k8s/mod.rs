//! The Kubernetes manifests (`k8s/`): the entry point, the list of objects (each written
//! as YAML as soon as it is built), the objects of the whole deployment (Namespace,
//! ServiceAccount) and the `kustomization.yaml` so `kubectl apply -k DIR/k8s` deploys it.
//!
//! Every object is a `serde_json::Value` written as YAML by `serde_norway` (the maintained
//! fork of serde_yaml); maps are ordered, so output is deterministic. The tests validate
//! each object against the official Kubernetes 1.33 JSON schemas with unknown fields
//! rejected, and check that none of the seed chart's defects (`docs/seed-defects.md`) is
//! present: headless governing Services, PVC spools, StatefulSet HPA targets, probes on the
//! right endpoints, every declared port listening, the checksum over every policy file,
//! pinned images, restricted pod security.
//!
//! One room per workload: a new object of a workload is a function in its room and a line
//! in [`emit`]'s list.
//! - `common.rs`: what every workload's objects share: labels, metadata, the image, probes,
//!   resources, security contexts, volumes, the PodDisruptionBudget and the NetworkPolicy
//!   that admits only the MTA, and the YAML writer;
//! - `mta.rs`: the MTA: StatefulSet, Services, HPA, NetworkPolicy, ServiceMonitor;
//! - `tsa.rs`: the TSA daemon: StatefulSet and Services;
//! - `sink.rs`: the test sink: Deployment and Service;
//! - `secrets.rs`: Secrets: where the MTA mounts them, and the Secret manifests built from
//!   files (`kumoc build --secrets`);
//! - `policy.rs`: the policy ConfigMaps and the pod-template checksum over what they hold;
//! - `alerts.rs`: the PrometheusRule; `dashboard.rs`: the Grafana dashboard ConfigMap;
//!   `keda.rs`: the KEDA ScaledObject (queue-depth autoscaling); `promql.rs`: the PromQL the
//!   three share, over the metrics of `crate::metrics`.

mod alerts;
mod common;
mod dashboard;
mod exposure;
mod keda;
mod mta;
mod policy;
mod promql;
mod secrets;
mod sink;
mod tsa;
mod vault;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Output;
use super::kumomta::Digest;
use crate::model::Deployment;
use crate::names::{Names, Workload};
use common::{image_reference, meta, yaml};

pub use secrets::{SecretContents, emit_secrets};

/// The Kubernetes version the manifests are written (and tested) for.
pub const KUBERNETES_VERSION: &str = "1.33";

/// What the Kubernetes emitter needs besides the model.
#[derive(Debug, Default)]
pub struct Inputs<'a> {
    /// The policy files (`policy/...`) emitted for this deployment.
    pub policy: BTreeMap<&'a str, &'a str>,
    /// The digest of each Lua policy's canonical form (its code without comments), by path:
    /// what the pod-template checksums cover (the data files have none).
    pub digests: BTreeMap<String, Digest>,
    /// The policy files that are shards of a helper's data (`kumomta::shard`): each gets a
    /// ConfigMap of its own, projected with the others into the policy directory.
    pub shards: Vec<String>,
    /// The place of the `max_age` that the alerts' `queue_stuck` is derived from, when it is
    /// (written beside the derived value, as a YAML comment).
    pub queue_stuck_from: Option<String>,
}

/// What every object of a build reads: the model, its names, the image and the checksums.
struct Ctx<'a> {
    d: &'a Deployment,
    n: Names,
    image: String,
    /// The pod-template checksums: what needs a restart of each workload (see
    /// [`policy::pod_checksum`]).
    checksum: String,
    tsa_checksum: String,
    /// The policy volume of the MTA and TSA pods: the policy ConfigMap, and the shards'.
    policy_volume: Value,
    sink_checksum: String,
}

/// Write the manifests of `d` into `out` (`k8s/...`).
pub fn emit(d: &Deployment, inputs: &Inputs<'_>, out: &mut Output) {
    let n = Names::new(d);
    let mta_files: BTreeMap<&str, &str> = inputs
        .policy
        .iter()
        .filter(|(k, _)| **k != "policy/sink.lua" && !inputs.shards.iter().any(|s| s == *k))
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
        checksum: policy::pod_checksum(inputs, Workload::Mta),
        tsa_checksum: policy::pod_checksum(inputs, Workload::Tsa),
        sink_checksum: policy::pod_checksum(inputs, Workload::Sink),
        policy_volume: policy::volume(&n, &inputs.shards),
        n,
    };
    // Each object is written as YAML as soon as it is built (the ConfigMaps directly, see
    // `policy::config_map`), so no tree outlives its file.
    let mut objects: Vec<(String, String)> = Vec::new();
    let mut add = |file: &str, text: String| objects.push((file.to_string(), text));
    if d.create_namespace {
        add("namespace.yaml", yaml(&namespace(&cx)));
    }
    add("serviceaccount.yaml", yaml(&service_account(&cx)));
    add(
        "configmap-policy.yaml",
        policy::config_map(
            &cx,
            &policy::main_name(&cx.n, &inputs.shards),
            &mta_files,
            "mta",
        ),
    );
    for path in &inputs.shards {
        let file = path.rsplit('/').next().unwrap_or(path);
        let name = cx.n.policy_shard(file);
        let files: BTreeMap<&str, &str> = inputs
            .policy
            .get(path.as_str())
            .map(|text| (path.as_str(), *text))
            .into_iter()
            .collect();
        add(
            &format!(
                "configmap-{}.yaml",
                name.strip_prefix(&format!("{}-", cx.n.mta))
                    .unwrap_or(&name)
            ),
            policy::config_map(&cx, &name, &files, "mta"),
        );
    }
    add("statefulset-mta.yaml", yaml(&mta::statefulset(&cx)));
    add("service-mta.yaml", yaml(&mta::service(&cx)));
    add(
        "service-mta-headless.yaml",
        yaml(&mta::headless_service(&cx)),
    );
    if let Some(a) = &d.cluster.mta.autoscale {
        match a.on.value {
            crate::model::AutoscaleOn::Cpu => add("hpa-mta.yaml", yaml(&mta::hpa(&cx, a))),
            crate::model::AutoscaleOn::QueueDepth => {
                add("scaledobject-mta.yaml", yaml(&keda::scaled_object(&cx, a)));
            }
        }
    }
    if d.cluster.mta.replicas.value > 1 || d.cluster.mta.autoscale.is_some() {
        add("pdb-mta.yaml", yaml(&common::pdb(&cx, &cx.n.mta, "mta")));
    }
    if let Some(e) = &d.smtp_load_balancer {
        add(
            "service-mta-smtp-lb.yaml",
            yaml(&exposure::smtp_load_balancer(&cx, e)),
        );
    }
    if let Some(e) = &d.api_ingress {
        add("ingress-mta-api.yaml", yaml(&exposure::api_ingress(&cx, e)));
    }
    add("networkpolicy-mta.yaml", yaml(&mta::network_policy(&cx)));
    if d.cluster.metrics.enabled && d.cluster.metrics.service_monitor {
        add("servicemonitor-mta.yaml", yaml(&mta::service_monitor(&cx)));
    }
    if d.cluster.metrics.enabled {
        if let Some(a) = &d.cluster.metrics.alerts {
            add(
                "prometheusrule-mta.yaml",
                alerts::with_derivation(
                    yaml(&alerts::prometheus_rule(&cx, a)),
                    inputs.queue_stuck_from.as_deref(),
                ),
            );
        }
        if let Some(dash) = &d.cluster.metrics.dashboard {
            add(
                "configmap-dashboard.yaml",
                yaml(&dashboard::config_map(&cx, dash)),
            );
        }
    }
    if let Some(tsa) = &d.cluster.tsa {
        add("statefulset-tsa.yaml", yaml(&tsa::statefulset(&cx, tsa)));
        add("service-tsa.yaml", yaml(&tsa::service(&cx, tsa, false)));
        add(
            "service-tsa-headless.yaml",
            yaml(&tsa::service(&cx, tsa, true)),
        );
        if tsa.replicas.value > 1 {
            add("pdb-tsa.yaml", yaml(&common::pdb(&cx, &cx.n.tsa, "tsa")));
        }
        add(
            "networkpolicy-tsa.yaml",
            yaml(&common::from_mta_policy(&cx, &cx.n.tsa, "tsa", tsa.port)),
        );
    }
    if d.cluster.sink.enabled.value {
        add(
            "configmap-sink.yaml",
            policy::config_map(&cx, &cx.n.sink_policy(), &sink_files, "sink"),
        );
        add("deployment-sink.yaml", yaml(&sink::deployment(&cx)));
        add("service-sink.yaml", yaml(&sink::service(&cx)));
        add(
            "networkpolicy-sink.yaml",
            yaml(&common::from_mta_policy(
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
