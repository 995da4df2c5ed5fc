//! `kumoc graph`: Mermaid and SVG of the example and the DNS fixture, and the summary of a
//! large deployment (the shape of `bench/gen.py N`).

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use kumoc_compiler::Options;
use kumoc_compiler::graph::{NodeKind, graph, mermaid, svg};

use crate::support::{analyze_fixture, root};

fn kumoc() -> Command {
    let mut c = Command::new(get_cargo_bin("kumoc"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    c
}

#[test]
fn graph_mermaid_of_the_example_and_fixture() {
    assert_cmd_snapshot!(
        "graph_example",
        kumoc().args(["graph", "examples/example-com"])
    );
    assert_cmd_snapshot!(
        "graph_example_production",
        kumoc().args(["graph", "examples/example-com", "--env", "production"])
    );
    assert_cmd_snapshot!(
        "graph_fixture",
        kumoc().args(["graph", "tests/fixtures/dns"])
    );
}

/// Every edge joins drawn nodes, ids are unique, and the SVG is deterministic, holds every
/// label (XML-escaped) and is well-formed enough for a browser (one root, balanced tags).
#[test]
fn graph_svg_is_complete_and_deterministic() {
    for path in ["examples/example-com", "tests/fixtures/dns"] {
        let a = analyze_fixture(&root().join(path), &Options::default());
        let g = graph(a.model.as_ref().unwrap(), 8);
        let mut ids: Vec<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "{path}: duplicate ids");
        for e in &g.edges {
            assert!(
                ids.binary_search(&e.from.as_str()).is_ok(),
                "{path}: {}",
                e.from
            );
            assert!(
                ids.binary_search(&e.to.as_str()).is_ok(),
                "{path}: {}",
                e.to
            );
        }
        let s1 = svg(&g);
        let s2 = svg(&graph(a.model.as_ref().unwrap(), 8));
        assert_eq!(s1, s2, "{path}: SVG not deterministic");
        assert!(s1.starts_with("<?xml"));
        assert_eq!(s1.matches("<svg").count(), 1);
        assert!(s1.trim_end().ends_with("</svg>"));
        for n in &g.nodes {
            for word in n.label.split_whitespace() {
                let esc = word
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&apos;");
                assert!(s1.contains(&esc), "{path}: {word}");
            }
        }
    }
}

/// A deployment of 2,000 domains, sources and queues (as `bench/gen.py` writes them) is
/// summarised: a few dozen nodes, the rest counted.
#[test]
fn graph_summarises_large_deployments() {
    let n = 2000;
    let mut kumo = String::from(
        "deployment \"bench\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"dkim-keys\" {}\npool main {\n",
    );
    for i in 0..n {
        kumo.push_str(&format!(
            "  source src-{i} {{\n    ehlo_domain = \"mta{i}.example.com\"\n    source_address = 10.{}.{}.{}\n  }}\n",
            i / 62500,
            i / 250 % 250,
            i % 250
        ));
    }
    kumo.push_str("}\n");
    for i in 0..n {
        kumo.push_str(&format!(
            "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"dkim-keys\")\n  }}\n}}\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n}}\nshaping \"d{i}.example.com\" {{\n  mx_rollup = false\n  max_message_rate = {}/s\n}}\n",
            10 + i % 90
        ));
    }
    let a = kumoc_compiler::analyze(
        &[("bench.kumo".into(), kumo.into_bytes())],
        &Options::default(),
    );
    assert!(!a.has_errors(), "{}", crate::support::human(&a));
    let g = graph(a.model.as_ref().unwrap(), 8);
    assert!(g.nodes.len() < 50, "{} nodes", g.nodes.len());
    let more: Vec<&str> = g
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::More)
        .map(|n| n.label.as_str())
        .collect();
    assert_eq!(
        more,
        [
            "+1992 more queue rules",
            "+1992 more sources",
            "+1992 more shaping domains"
        ]
    );
    assert_eq!(g.totals["sources"], n);
    let m = mermaid(&g);
    assert!(m.contains("%% in all: 1 pools, 7 providers, 2000 queue rules, 2004 shaping domains, 2000 sources, 0 tenants"), "{m}");
    let s = svg(&g);
    assert!(s.len() < 200_000, "{} bytes", s.len());
}
