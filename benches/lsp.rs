//! LSP latency benchmark (not a timed test): `cargo bench --bench lsp [-- DOMAINS]`.
//!
//! Generates a deployment with DOMAINS sending domains (each with DKIM, a queue, a shaping
//! block and a source with its own address, the shape of the build benchmark; default
//! 10,000), starts the release `kumoc lsp`, and reports p50/p99 of (a) re-diagnosis: a
//! didChange (one character) until its publishDiagnostics arrives; (b) completion (field
//! names, pool names, booleans) on an analysed version; (c) completion right after a
//! change, while that version's analysis runs. The table is ready for BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

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

/// (line, UTF-16 column) of a byte offset.
fn position(text: &str, at: usize) -> serde_json::Value {
    let line = text[..at].matches('\n').count();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    serde_json::json!({ "line": line, "character": text[start..at].encode_utf16().count() })
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

    let mut child = Command::new(env!("CARGO_BIN_EXE_kumoc"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("kumoc lsp");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel::<serde_json::Value>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    len = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                return;
            }
            if let Ok(v) = serde_json::from_slice(&body) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    let mut send = |v: serde_json::Value| {
        let body = v.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    };
    // Messages that arrived while waiting for another one (a small file's diagnostics can
    // overtake a completion's response).
    let early = std::cell::RefCell::new(Vec::<serde_json::Value>::new());
    let wait = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        let mut early = early.borrow_mut();
        if let Some(i) = early.iter().position(pred) {
            return early.remove(i);
        }
        loop {
            let m = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("a message");
            if pred(&m) {
                return m;
            }
            if m["method"] == "textDocument/publishDiagnostics" {
                early.push(m);
            }
        }
    };
    let is_diag = |m: &serde_json::Value, v: i64| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == v
    };
    send(
        serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}),
    );
    let init = wait(&|m| m["id"] == 0);
    // 2 = incremental: edits send only the changed range (else the whole text).
    let incremental = init["result"]["capabilities"]["textDocumentSync"] == 2;
    send(serde_json::json!({"jsonrpc":"2.0","method":"initialized","params":{}}));
    let t = Instant::now();
    send(
        serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":uri,"languageId":"kumo","version":1,"text":text}}}),
    );
    let first = wait(&|m| is_diag(m, 1));
    let open = t.elapsed();
    let count = first["params"]["diagnostics"]
        .as_array()
        .map_or(0, Vec::len);

    // The edit: `max_age = 2d` of the middle queue becomes `3d`, then back, and so on.
    let needle = format!(
        "queue \"d{}.example.com\" {{\n  egress_pool = main\n  max_age     = ",
        n / 2
    );
    let at = text.find(&needle).expect("the middle queue") + needle.len();
    let (start, end) = (position(&text, at), position(&text, at + 1));
    let mut version = 1;
    let change = |send: &mut dyn FnMut(serde_json::Value), version: i64| {
        let days = if version % 2 == 0 { "3" } else { "2" };
        let change = if incremental {
            serde_json::json!({ "range": { "start": start, "end": end }, "text": days })
        } else {
            let mut t = text.clone();
            t.replace_range(at..at + 1, days);
            serde_json::json!({ "text": t })
        };
        send(
            serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":uri,"version":version},"contentChanges":[change]}}),
        );
    };

    // (a) Re-diagnosis: a change until its diagnostics are published.
    let mut diag = Vec::new();
    for _ in 0..DIAGNOSES {
        version += 1;
        let t = Instant::now();
        change(&mut send, version);
        let m = wait(&|m| is_diag(m, version));
        diag.push(t.elapsed());
        assert_eq!(
            m["params"]["diagnostics"].as_array().map_or(0, Vec::len),
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
    let mut id = 100;
    let mut complete = |send: &mut dyn FnMut(serde_json::Value), place: &serde_json::Value| {
        id += 1;
        let t = Instant::now();
        send(
            serde_json::json!({"jsonrpc":"2.0","id":id,"method":"textDocument/completion","params":{"textDocument":{"uri":uri},"position":place}}),
        );
        let m = wait(&|m| m["id"] == id);
        let elapsed = t.elapsed();
        assert!(
            m["result"].as_array().is_some_and(|a| !a.is_empty()),
            "completion items: {m}"
        );
        elapsed
    };
    let mut completion = Vec::new();
    for i in 0..COMPLETIONS {
        completion.push(complete(&mut send, &places[i % places.len()]));
    }

    // (c) Completion on a new version while its analysis runs: a change, the debounce,
    // then the first request on that version (which needs its syntax tree).
    let mut busy = Vec::new();
    for i in 0..BUSY_COMPLETIONS {
        version += 1;
        change(&mut send, version);
        std::thread::sleep(Duration::from_millis(100));
        busy.push(complete(&mut send, &places[i % places.len()]));
        wait(&|m| is_diag(m, version));
    }

    send(serde_json::json!({"jsonrpc":"2.0","id":999,"method":"shutdown"}));
    wait(&|m| m["id"] == 999);
    send(serde_json::json!({"jsonrpc":"2.0","method":"exit"}));
    let _ = child.wait();
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
