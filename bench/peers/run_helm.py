"""Render a Helm chart in-process (helm-python-sdk: Helm v4's Go SDK through its C ABI;
there is no `helm` CLI in the reachable registries).

    python run_helm.py CHART_DIR OUT.yaml

Loads the chart with its values.yaml, validates the values against values.schema.json (as
`helm template` does), renders every template and writes the manifests to OUT.yaml.
"""

import sys

import helm_python as helm

chart_dir, out = sys.argv[1], sys.argv[2]
with helm.Chart.load(chart_dir) as chart:
    chart.validate_schema()
    manifests = chart.render(name="bench", namespace="mail")
with open(out, "w", encoding="utf-8") as f:
    for path in sorted(manifests):
        f.write(f"---\n# Source: {path}\n{manifests[path]}\n")
