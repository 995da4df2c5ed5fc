//! Safe exposure: the SMTP LoadBalancer Service and the HTTP API's Ingress, validated
//! against the bundled Kubernetes 1.33 schemas and the API server's value rules, and the MTA
//! NetworkPolicy's SMTP rule that lets the load balancer's clients in.

use kumoc_compiler::emit;
use serde_json::{Value as Json, json};

use crate::support::build_production;

const DEPLOYMENT: &str = r#"
deployment "t" {
  namespace   = "mail"
  kumomta     = "2025.03.19-1d3f1f67"
  environment = production
}
pool main {
  source main-00 {
    ehlo_domain = "mta.example.com"
  }
}
smtp_listener {
  relay_hosts = [198.51.100.0/24]
}
cluster {
  pod_cidr = 10.244.0.0/16
  smtp_load_balancer {
    port          = 587
    source_ranges = [198.51.100.0/24, "2001:db8::/32"]
  }
  api_ingress {
    host       = "api.example.com"
    class      = "nginx"
    tls_secret = "api-example-com-tls"
  }
}
"#;

fn build(text: &str) -> emit::Output {
    build_production("expose.kumo", text)
}

fn object(out: &emit::Output, file: &str) -> Json {
    serde_norway::from_str(&out.files[file]).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn load_balancer_and_ingress_validate_and_keep_client_addresses() {
    let out = build(DEPLOYMENT);
    crate::vault::validate_manifests(&out);
    let lb = object(&out, "k8s/service-mta-smtp-lb.yaml");
    assert_eq!(lb["spec"]["type"], "LoadBalancer");
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Local");
    assert_eq!(
        lb["spec"]["loadBalancerSourceRanges"],
        json!(["198.51.100.0/24", "2001:db8::/32"])
    );
    assert_eq!(
        lb["spec"]["ports"],
        json!([{ "name": "smtp", "port": 587, "targetPort": "smtp", "protocol": "TCP" }])
    );
    // The same pods as the MTA's own Service.
    let svc = object(&out, "k8s/service-mta.yaml");
    assert_eq!(lb["spec"]["selector"], svc["spec"]["selector"]);
    let ing = object(&out, "k8s/ingress-mta-api.yaml");
    assert_eq!(ing["spec"]["ingressClassName"], "nginx");
    assert_eq!(
        ing["spec"]["tls"],
        json!([{ "hosts": ["api.example.com"], "secretName": "api-example-com-tls" }])
    );
    let backend = &ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend, &json!({ "name": "t", "port": { "name": "http" } }));
    // The Ingress's backend is the MTA's ClusterIP Service, which has the `http` port.
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "http")
    );
    // The NetworkPolicy admits the load balancer's clients on SMTP.
    let np = object(&out, "k8s/networkpolicy-mta.yaml");
    let smtp_from: Vec<&Json> = np["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ports"][0]["port"] == "smtp")
        .flat_map(|r| r["from"].as_array().unwrap())
        .collect();
    assert!(
        smtp_from.contains(&&json!({ "ipBlock": { "cidr": "2001:db8::/32" } })),
        "{smtp_from:?}"
    );
    // Both are listed for `kubectl apply -k`.
    let k = &out.files["k8s/kustomization.yaml"];
    assert!(
        k.contains("service-mta-smtp-lb.yaml") && k.contains("ingress-mta-api.yaml"),
        "{k}"
    );
}

#[test]
fn load_balancer_without_ranges_admits_anyone_on_smtp_only() {
    let text = DEPLOYMENT.replace(
        "    source_ranges = [198.51.100.0/24, \"2001:db8::/32\"]\n",
        "",
    );
    let out = build(&text);
    crate::vault::validate_manifests(&out);
    let lb = object(&out, "k8s/service-mta-smtp-lb.yaml");
    assert_eq!(lb["spec"].get("loadBalancerSourceRanges"), None);
    let np = object(&out, "k8s/networkpolicy-mta.yaml");
    let rule = np["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["from"].to_string().contains("0.0.0.0/0"))
        .cloned()
        .unwrap();
    assert_eq!(
        rule["ports"],
        json!([{ "port": "smtp", "protocol": "TCP" }])
    );
}
