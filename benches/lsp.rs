//! LSP latency benchmark (not a timed test): `cargo bench --bench lsp [-- DOMAINS]`.
//!
//! Generates a deployment with DOMAINS sending domains (each with DKIM, a queue, a shaping
//! block and a source with its own address, the shape of the build benchmark; default
//! 10,000), starts the release `kumoc lsp`, and reports p50/p99 of (a) re-diagnosis: a
//! didChange (one character) until its publishDiagnostics arrives; (b) completion (field
//! names, pool names, booleans) on an analysed version; (c) completion right after a
//! change, while that version's analysis runs. The table is ready for BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::json;

#[path = "../tests/support/lsp_client.rs"]
mod client;

use client::{Client, position};

/// The deployment of `bench/gen.py` (`kumo(n)`), byte for byte.
fn deployment(n: usize) -> String {
    let mut s = String::from(
        "deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\n",
    );
    s.push_str("secret \"dkim-keys\" {}\n\npool main {\n");
    for i in 0..n {
        s.push_str(&format!(
            "  source src-{i} {{\n    ehlo_domain    = \"mta{i}.example.com\"\n    source_address = 10.{}.{}.{}\n  }}\n",
            i / 62_500,
            i / 250 % 250,
            i % 250
        ));
    }
    s.push_str("}\n");
    for i in 0..n {
        s.push_str(&format!(
            "\ndomain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age     = 2d\n}}\n\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n",
            10 + i % 90
        ));
    }
    s
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Samples: re-diagnoses, idle completions, completions during a re-analysis.
const DIAGNOSES: usize = 40;
const COMPLETIONS: usize = 200;
const BUSY_COMPLETIONS: usize = 40;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let text = deployment(n);
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bench.kumo");
    std::fs::write(&path, &text).expect("write");
    let uri = format!("file://{}", path.display());

    let mut c = Client::start();
    c.timeout = Duration::from_secs(120);
    let init = c.initialize(json!({}));
    // 2 = incremental: edits send only the changed range (else the whole text).
    let incremental = init["result"]["capabilities"]["textDocumentSync"] == 2;
    let t = Instant::now();
    c.open(&uri, 1, &text);
    let first = c.diagnostics(&uri, 1);
    let open = t.elapsed();
    let count = first["diagnostics"].as_array().map_or(0, Vec::len);

    // The edit: `max_age = 2d` of the middle queue becomes `3d`, then back, and so on.
    let needle = format!(
        "queue \"d{}.example.com\" {{\n  egress_pool = main\n  max_age     = ",
        n / 2
    );
    let at = text.find(&needle).expect("the middle queue") + needle.len();
    let (start, end) = (position(&text, at), position(&text, at + 1));
    let mut version = 1;
    let change = |c: &mut Client, version: i64| {
        let days = if version % 2 == 0 { "3" } else { "2" };
        let change = if incremental {
            json!({ "range": { "start": start, "end": end }, "text": days })
        } else {
            let mut t = text.clone();
            t.replace_range(at..at + 1, days);
            json!({ "text": t })
        };
        c.notify(
            "textDocument/didChange",
            json!({"textDocument":{"uri":uri,"version":version},"contentChanges":[change]}),
        );
    };

    // (a) Re-diagnosis: a change until its diagnostics are published.
    let mut diag = Vec::new();
    for _ in 0..DIAGNOSES {
        version += 1;
        let t = Instant::now();
        change(&mut c, version);
        let m = c.diagnostics(&uri, version);
        diag.push(t.elapsed());
        assert_eq!(
            m["diagnostics"].as_array().map_or(0, Vec::len),
            count,
            "the edit changes no diagnostic"
        );
    }

    // (b) Completion on an analysed version: field names in a block, pool names after
    // `egress_pool =`, booleans after `mx_rollup =`.
    let body = position(
        &text,
        text.find("queue").expect("a queue") + "queue \"d0.example.com\" {\n".len(),
    );
    let pool = position(
        &text,
        text.find("egress_pool = main").expect("egress_pool") + "egress_pool = ".len(),
    );
    let boolean = position(
        &text,
        text.find("mx_rollup        = false").expect("mx_rollup") + "mx_rollup        = ".len(),
    );
    let places = [body, pool, boolean];
    let complete = |c: &mut Client, place: &serde_json::Value| {
        let t = Instant::now();
        let m = c.request(
            "textDocument/completion",
            json!({"textDocument":{"uri":uri},"position":place}),
        );
        let elapsed = t.elapsed();
        assert!(
            m["result"].as_array().is_some_and(|a| !a.is_empty()),
            "completion items: {m}"
        );
        elapsed
    };
    let mut completion = Vec::new();
    for i in 0..COMPLETIONS {
        completion.push(complete(&mut c, &places[i % places.len()]));
    }

    // (c) Completion on a new version while its analysis runs: a change, the debounce,
    // then the first request on that version (which needs its syntax tree).
    let mut busy = Vec::new();
    for i in 0..BUSY_COMPLETIONS {
        version += 1;
        change(&mut c, version);
        std::thread::sleep(Duration::from_millis(100));
        busy.push(complete(&mut c, &places[i % places.len()]));
        c.diagnostics(&uri, version);
    }

    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "kumoc lsp, {n} domains ({:.1} MiB, {} lines, {count} diagnostics), {} sync",
        text.len() as f64 / (1024.0 * 1024.0),
        text.lines().count(),
        if incremental { "incremental" } else { "full" }
    );
    println!();
    println!("| LSP, {n} domains | samples | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!("| open → diagnostics | 1 | {} | |", ms(open));
    let rows: [(&str, &mut Vec<Duration>); 3] = [
        ("change → diagnostics (incl. 80 ms debounce)", &mut diag),
        ("completion", &mut completion),
        ("completion during re-analysis (new version)", &mut busy),
    ];
    for (name, samples) in rows {
        println!(
            "| {name} | {} | {} | {} |",
            samples.len(),
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99))
        );
    }
}
