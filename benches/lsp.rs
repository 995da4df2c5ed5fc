//! LSP latency benchmark (not a timed test): `cargo bench --bench lsp [-- DOMAINS]`.
//!
//! Generates a deployment with DOMAINS sending domains (each with DKIM, a queue, a shaping
//! block and a source; default 10,000), starts the release `kumoc lsp`, and reports p50/p99
//! of (a) re-diagnosis: a didChange until its publishDiagnostics arrives, and (b) completion
//! of field names inside a block.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

fn deployment(n: usize) -> String {
    let mut s = String::from(
        "deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\n",
    );
    s.push_str("secret \"dkim-keys\" {}\n\npool main {\n");
    for i in 0..n {
        s.push_str(&format!(
            "  source src-{i} {{\n    ehlo_domain = \"mta{i}.example.com\"\n  }}\n"
        ));
    }
    s.push_str("}\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age     = 2d\n}}\n\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n\n",
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
    let wait = |pred: &dyn Fn(&serde_json::Value) -> bool| loop {
        let m = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a message");
        if pred(&m) {
            return m;
        }
    };
    send(
        serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{}}}),
    );
    wait(&|m| m["id"] == 0);
    send(serde_json::json!({"jsonrpc":"2.0","method":"initialized","params":{}}));
    let t = Instant::now();
    send(
        serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":uri,"languageId":"kumo","version":1,"text":text}}}),
    );
    wait(&|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == 1);
    let open = t.elapsed();

    let mut diag = Vec::new();
    for v in 2..22 {
        let changed = text.replace("max_age     = 2d", &format!("max_age     = {v}d"));
        let t = Instant::now();
        send(
            serde_json::json!({"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":uri,"version":v},"contentChanges":[{"text":changed}]}}),
        );
        wait(&|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == v);
        diag.push(t.elapsed());
    }
    let line = text
        .lines()
        .position(|l| l.starts_with("queue"))
        .unwrap_or(0)
        + 1;
    let mut completion = Vec::new();
    for id in 100..200 {
        let t = Instant::now();
        send(
            serde_json::json!({"jsonrpc":"2.0","id":id,"method":"textDocument/completion","params":{"textDocument":{"uri":uri},"position":{"line":line,"character":2}}}),
        );
        wait(&|m| m["id"] == id);
        completion.push(t.elapsed());
    }
    send(serde_json::json!({"jsonrpc":"2.0","id":999,"method":"shutdown"}));
    wait(&|m| m["id"] == 999);
    send(serde_json::json!({"jsonrpc":"2.0","method":"exit"}));
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "kumoc lsp, {n} domains ({} KiB, {} lines)",
        text.len() / 1024,
        text.lines().count()
    );
    println!("  open → diagnostics:        {open:?}");
    println!(
        "  change → diagnostics  p50: {:?}  p99: {:?}  (includes the {} ms debounce)",
        percentile(&mut diag, 0.5),
        percentile(&mut diag, 0.99),
        80
    );
    println!(
        "  completion            p50: {:?}  p99: {:?}",
        percentile(&mut completion, 0.5),
        percentile(&mut completion, 0.99)
    );
}
