#!/usr/bin/env python3
"""Write a synthetic KumoMTA deployment of N domains, as .kumo and for each peer tool.

    python3 bench/gen.py N DIR

Each domain i (0 <= i < N) has a source `src-{i}` in pool `main`, DKIM signing, a queue
and a shaping block. DIR/kumo/bench.kumo is the .kumo deployment; beside it, one folder
per peer holds the peer's program (copied from bench/peers/<peer>/) and a data file this
script writes:

    jsonnet/  bench.jsonnet + data.libsonnet     nickel/ bench.ncl + data.ncl
    pkl/      schema.pkl, bench.pkl + data.pkl    kcl/    bench.k + data.k
    cue/      bench.cue + data.cue                dhall/  bench.dhall + data.dhall
    helm/     a chart (Chart.yaml, values.schema.json, templates/) + values.yaml

How the peers are written (the comparison is only fair if they are written this way):
- Each peer's input is written the way a user of that tool would write it: a schema or
  type for the four record kinds (source, DKIM, queue, shaping) where the language has
  types (Nickel contracts, Pkl classes, KCL schemas, CUE definitions, Dhall types, a Helm
  values.schema.json; Jsonnet has none), and the N records written out as literal data,
  exactly like the .kumo file. No peer loops over a range to make its records: every
  tool parses N records, so parsing cost grows with N the same way for all.
- Each peer outputs the same data kumoc writes in policy/sources.toml, dkim_data.toml,
  queues.toml and shaping.toml, for every i: a source {ehlo_domain, source_address} and
  its membership of pool main (weight 1), a DKIM entry {selector, headers, filename =
  /opt/kumomta/etc/dkim/<secret>/<domain>.<selector>.key}, a queue {egress_pool, max_age}
  and a shaping entry {mx_rollup, max_message_rate}; as TOML where the tool has it, else
  JSON. The DKIM keys are in Secrets of at most KEYS_PER_SECRET keys (`dkim-keys-<j>`,
  domain i in j = i // KEYS_PER_SECRET): one Secret over 1 MiB is refused by the API
  server, and kumoc warns about it (K1012).
- kumoc does more than that (type-checks, lints, merges the stdlib shaping presets, writes
  init.lua and the Kubernetes manifests); the peers do only the data.

Python 3 standard library only.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parent / "peers"
# Static peer programs copied into DIR/<peer>/ (the data file is written beside them).
PROGRAMS = {
    "jsonnet": ["bench.jsonnet"],
    "nickel": ["bench.ncl"],
    "pkl": ["schema.pkl", "bench.pkl"],
    "kcl": ["bench.k"],
    "cue": ["bench.cue"],
    "dhall": ["bench.dhall"],
    "helm": ["Chart.yaml", "values.schema.json", "templates/policy.yaml"],
}


# DKIM keys per Secret: at ~1.7 KB a key, 500 keep a Secret well under the API's 1 MiB.
KEYS_PER_SECRET = 500


def secret(i: int) -> str:
    """The Secret holding domain i's DKIM key."""
    return f"dkim-keys-{i // KEYS_PER_SECRET}"


def source_address(i: int) -> str:
    return f"10.{i // 62500}.{i // 250 % 250}.{i % 250}"


def rate(i: int) -> str:
    return f"{10 + i % 90}/s"


def last_record(n: int) -> dict[str, str]:
    """The strings every output of an N-domain run must contain (bench/run.py checks)."""
    i = n - 1
    return {
        "domain": f"d{i}.example.com",
        "ehlo": f"mta{i}.example.com",
        "address": source_address(i),
        "rate": rate(i),
    }


def kumo(n: int) -> str:
    out = [
        'deployment "bench" {\n'
        '  namespace   = "mail"\n'
        '  kumomta     = "2025.03.19-1d3f1f67"\n'
        "  environment = staging\n"
        "}\n"
        "\n"
    ]
    for j in range((n + KEYS_PER_SECRET - 1) // KEYS_PER_SECRET):
        out.append(f'secret "{secret(j * KEYS_PER_SECRET)}" {{}}\n')
    out.append("\npool main {\n")
    for i in range(n):
        out.append(
            f"  source src-{i} {{\n"
            f'    ehlo_domain    = "mta{i}.example.com"\n'
            f"    source_address = {source_address(i)}\n"
            "  }\n"
        )
    out.append("}\n")
    for i in range(n):
        d = f"d{i}.example.com"
        out.append(
            "\n"
            f'domain "{d}" {{\n'
            "  dkim {\n"
            '    selector = "s1"\n'
            '    headers  = ["From", "To", "Subject"]\n'
            f'    key      = secret("{secret(i)}")\n'
            "  }\n"
            "}\n"
            "\n"
            f'queue "{d}" {{\n'
            "  egress_pool = main\n"
            "  max_age     = 2d\n"
            "}\n"
            "\n"
            f'shaping "{d}" {{\n'
            "  mx_rollup        = false\n"
            f"  max_message_rate = {rate(i)}\n"
            "}\n"
        )
    return "".join(out)


def jsonnet(n: int) -> str:
    out = ["{\n  sources: [\n"]
    for i in range(n):
        out.append(
            f"    {{ name: 'src-{i}', ehlo_domain: 'mta{i}.example.com', "
            f"source_address: '{source_address(i)}' }},\n"
        )
    out.append("  ],\n  domains: [\n")
    for i in range(n):
        out.append(
            "    {\n"
            f"      name: 'd{i}.example.com',\n"
            f"      dkim: {{ selector: 's1', headers: ['From', 'To', 'Subject'], key: '{secret(i)}' }},\n"
            "      queue: { egress_pool: 'main', max_age: '2d' },\n"
            f"      shaping: {{ mx_rollup: false, max_message_rate: '{rate(i)}' }},\n"
            "    },\n"
        )
    out.append("  ],\n}\n")
    return "".join(out)


def nickel(n: int) -> str:
    out = ["{\n  sources = {\n"]
    for i in range(n):
        out.append(
            f'    "src-{i}" = {{ ehlo_domain = "mta{i}.example.com", '
            f'source_address = "{source_address(i)}" }},\n'
        )
    out.append("  },\n  domains = {\n")
    for i in range(n):
        out.append(
            f'    "d{i}.example.com" = {{\n'
            f'      dkim = {{ selector = "s1", headers = ["From", "To", "Subject"], key = "{secret(i)}" }},\n'
            '      queue = { egress_pool = "main", max_age = "2d" },\n'
            f'      shaping = {{ mx_rollup = false, max_message_rate = "{rate(i)}" }},\n'
            "    },\n"
        )
    out.append("  },\n}\n")
    return "".join(out)


def pkl(n: int) -> str:
    out = ['amends "schema.pkl"\n\nsources {\n']
    for i in range(n):
        out.append(
            f'  ["src-{i}"] {{ ehlo_domain = "mta{i}.example.com"; '
            f'source_address = "{source_address(i)}" }}\n'
        )
    out.append("}\n\ndomains {\n")
    for i in range(n):
        out.append(
            f'  ["d{i}.example.com"] {{\n'
            f'    dkim {{ selector = "s1"; headers {{ "From"; "To"; "Subject" }}; key = "{secret(i)}" }}\n'
            '    queue { egress_pool = "main"; max_age = "2d" }\n'
            f'    shaping {{ mx_rollup = false; max_message_rate = "{rate(i)}" }}\n'
            "  }\n"
        )
    out.append("}\n")
    return "".join(out)


def kcl(n: int) -> str:
    out = ["_sources: {str:Source} = {\n"]
    for i in range(n):
        out.append(
            f'    "src-{i}": Source {{ehlo_domain = "mta{i}.example.com", '
            f'source_address = "{source_address(i)}"}}\n'
        )
    out.append("}\n\n_domains: {str:Domain} = {\n")
    for i in range(n):
        out.append(
            f'    "d{i}.example.com": Domain {{\n'
            f'        dkim = Dkim {{selector = "s1", headers = ["From", "To", "Subject"], key = "{secret(i)}"}}\n'
            '        queue = Queue {egress_pool = "main", max_age = "2d"}\n'
            f'        shaping = Shaping {{mx_rollup = False, max_message_rate = "{rate(i)}"}}\n'
            "    }\n"
        )
    out.append("}\n")
    return "".join(out)


def cue(n: int) -> str:
    out = ["package bench\n\n_sources: {\n"]
    for i in range(n):
        out.append(
            f'\t"src-{i}": {{ehlo_domain: "mta{i}.example.com", '
            f'source_address: "{source_address(i)}"}}\n'
        )
    out.append("}\n\n_domains: {\n")
    for i in range(n):
        out.append(
            f'\t"d{i}.example.com": {{\n'
            f'\t\tdkim: {{selector: "s1", headers: ["From", "To", "Subject"], key: "{secret(i)}"}}\n'
            '\t\tqueue: {egress_pool: "main", max_age: "2d"}\n'
            f'\t\tshaping: {{mx_rollup: false, max_message_rate: "{rate(i)}"}}\n'
            "\t}\n"
        )
    out.append("}\n")
    return "".join(out)


def dhall(n: int) -> str:
    out = ["{ sources =\n  [ "]
    for i in range(n):
        if i:
            out.append("  , ")
        out.append(
            f'{{ name = "src-{i}", ehlo_domain = "mta{i}.example.com", '
            f'source_address = "{source_address(i)}" }}\n'
        )
    out.append("  ]\n, domains =\n  [ ")
    for i in range(n):
        if i:
            out.append("  , ")
        out.append(
            f'{{ name = "d{i}.example.com"\n'
            f'    , dkim = {{ selector = "s1", headers = [ "From", "To", "Subject" ], key = "{secret(i)}" }}\n'
            '    , queue = { egress_pool = "main", max_age = "2d" }\n'
            f'    , shaping = {{ mx_rollup = False, max_message_rate = "{rate(i)}" }}\n'
            "    }\n"
        )
    out.append("  ]\n}\n")
    return "".join(out)


def helm_values(n: int) -> str:
    out = ["sources:\n"]
    for i in range(n):
        out.append(
            f"  src-{i}:\n"
            f"    ehlo_domain: mta{i}.example.com\n"
            f'    source_address: "{source_address(i)}"\n'
        )
    out.append("domains:\n")
    for i in range(n):
        out.append(
            f"  d{i}.example.com:\n"
            "    dkim:\n"
            "      selector: s1\n"
            "      headers: [From, To, Subject]\n"
            f"      key: {secret(i)}\n"
            "    queue:\n"
            "      egress_pool: main\n"
            "      max_age: 2d\n"
            "    shaping:\n"
            "      mx_rollup: false\n"
            f"      max_message_rate: {rate(i)}\n"
        )
    return "".join(out)


DATA = {
    "kumo": ("bench.kumo", kumo),
    "jsonnet": ("data.libsonnet", jsonnet),
    "nickel": ("data.ncl", nickel),
    "pkl": ("data.pkl", pkl),
    "kcl": ("data.k", kcl),
    "cue": ("data.cue", cue),
    "dhall": ("data.dhall", dhall),
    "helm": ("values.yaml", helm_values),
}


def generate(n: int, root: Path) -> None:
    for tool, (name, write) in DATA.items():
        d = root / tool
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        for rel in PROGRAMS.get(tool, []):
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PEERS / tool / rel, d / rel)
        (d / name).write_text(write(n), encoding="utf-8")
    # Sanity check of the generated JSON-like data is left to the tools themselves.
    (root / "last.json").write_text(json.dumps(last_record(n)) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[1].isdigit() or int(argv[1]) < 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    generate(int(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
