#!/usr/bin/env python3
"""Bundle the Kubernetes JSON schemas kumoc's tests need into self-contained files.

Source: the PyPI package kubernetes-validate (1.37.0), directory
kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict: the official OpenAPI
definitions of Kubernetes 1.33 as JSON Schema, "strict" (additionalProperties: false, so
unknown fields are rejected). Each output file holds one kind's schema plus only the $defs
it reaches, with refs rewritten to the local "#/$defs/...".

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv && cd /tmp/kv && unzip -q *.whl
    python3 tests/schemas/bundle_k8s_schemas.py /tmp/kv/kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict
"""
import json, os, sys

KINDS = [
    "statefulset-apps-v1", "deployment-apps-v1", "service-v1", "configmap-v1", "secret-v1",
    "serviceaccount-v1", "horizontalpodautoscaler-autoscaling-v2", "poddisruptionbudget-policy-v1",
    "networkpolicy-networking-v1", "namespace-v1", "ingress-networking-v1",
]
PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")

def main(src):
    import copy
    all_defs = json.load(open(os.path.join(src, "_definitions.json")))["$defs"]
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kubernetes-v1.33")
    os.makedirs(out_dir, exist_ok=True)
    for kind in KINDS:
        defs = copy.deepcopy(all_defs)
        root = json.load(open(os.path.join(src, kind + ".json")))
        needed, queue = set(), [root]
        def rewrite(node):
            if isinstance(node, dict):
                for k, v in list(node.items()):
                    prefix = next((p for p in PREFIXES if isinstance(v, str) and v.startswith(p)), None)
                    if k == "$ref" and prefix:
                        name = v[len(prefix):]
                        node[k] = "#/$defs/" + name
                        if name not in needed:
                            needed.add(name)
                            queue.append(defs[name])
                    else:
                        rewrite(v)
            elif isinstance(node, list):
                for v in node:
                    rewrite(v)
        while queue:
            rewrite(queue.pop())
        root["$defs"] = {n: defs[n] for n in sorted(needed)}
        with open(os.path.join(out_dir, kind + ".json"), "w") as f:
            json.dump(root, f, indent=1, sort_keys=True)
            f.write("\n")

if __name__ == "__main__":
    main(sys.argv[1])
