#!/usr/bin/env python3
"""Turn external-dns's DNSEndpoint CRD into the JSON Schema kumoc's tests validate against.

Source: kubernetes-sigs/external-dns, config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml
at commit 020d3840af930818cbffdcc6f9c1a3f26e891b25 (copied beside this script unchanged).

The CRD's `openAPIV3Schema` becomes a JSON Schema the way the Kubernetes API server applies
it: structural, so every object with `properties` rejects unknown fields
(`additionalProperties: false`, like kumoc's "strict" Kubernetes schemas); `metadata` is the
ObjectMeta the API server validates itself (here: name and namespace required). The
`x-kubernetes-validations` CEL rules have no JSON Schema equivalent and are checked by
`tests/it/dns.rs` directly (PTR names under in-addr.arpa / ip6.arpa without a trailing dot;
dnsName length).

    python3 tests/schemas/external-dns/bundle_dnsendpoint_schema.py
"""
import json, os
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

def strict(node):
    if isinstance(node, dict):
        node.pop("x-kubernetes-validations", None)
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for v in node.values():
            strict(v)
    elif isinstance(node, list):
        for v in node:
            strict(v)

crd = yaml.safe_load(open(os.path.join(HERE, "dnsendpoints.externaldns.k8s.io.yaml")))
(version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
schema = version["schema"]["openAPIV3Schema"]
strict(schema)
schema["properties"]["apiVersion"]["enum"] = ["externaldns.k8s.io/v1alpha1"]
schema["properties"]["kind"]["enum"] = ["DNSEndpoint"]
schema["properties"]["metadata"] = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
schema["$schema"] = "http://json-schema.org/draft-07/schema#"
with open(os.path.join(HERE, "dnsendpoint-externaldns-v1alpha1.json"), "w") as f:
    json.dump(schema, f, indent=1, sort_keys=True)
    f.write("\n")
