//! LSP benchmark (not a timed test): `cargo bench --bench lsp [-- DOMAINS] [--one|--split]`.
//!
//! Generates a deployment with DOMAINS sending domains (each with DKIM, a queue, a shaping
//! block and a source with its own address, the shape of the build benchmark; default
//! 10,000), as one file (byte-identical to `bench/gen.py`'s) and split over 100 files,
//! starts the release `kumoc lsp` (or `$KUMOC_LSP_BIN`, to measure another build), opens
//! the file that is edited, and reports over real stdio round trips:
//!
//! - re-diagnosis: a one-character didChange until its publishDiagnostics arrives (the
//!   quick diagnostics, when the server publishes them before the full analysis), until
//!   its full analysis is done (a code action, which needs it, answered), and the
//!   server's CPU time per such edit (`/proc`: the server's work, whatever the load);
//! - completion (field names, pool names, booleans) when idle, and right after an edit
//!   (sent with no pause, so it needs the new version's syntax tree);
//! - one didChange that edits every queue's `max_age` (`:g/max_age/s/2d/4d/` in Neovim:
//!   one content change per line, top to bottom; then back, bottom to top as VS Code
//!   orders a multi-edit): how long a completion sent right behind it takes (the server
//!   applies the change first), and until its diagnostics;
//! - document symbols and semantic tokens (full, a 100-line range, a delta after an
//!   edit): time and size of the answer;
//! - memory: resident after the first analysis, after 1,000 edits (typed 10 ms apart,
//!   with a completion every 10), and the peak.
//!
//! The tables are ready for BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../tests/support/lsp_client.rs"]
mod client;

use client::{Client, position};

/// The deployment of `bench/gen.py` (`kumo(n)`), byte for byte.
fn deployment(n: usize) -> String {
    let mut s = header();
    s.push_str("pool main {\n");
    for i in 0..n {
        s.push_str(&source(i, "  "));
    }
    s.push_str("}\n");
    for i in 0..n {
        s.push_str(&domain(i, "main"));
    }
    s
}

fn header() -> String {
    String::from(
        "deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\nsecret \"dkim-keys\" {}\n\n",
    )
}

fn source(i: usize, indent: &str) -> String {
    format!(
        "{indent}source src-{i} {{\n{indent}  ehlo_domain    = \"mta{i}.example.com\"\n{indent}  source_address = 10.{}.{}.{}\n{indent}}}\n",
        i / 62_500,
        i / 250 % 250,
        i % 250
    )
}

fn domain(i: usize, pool: &str) -> String {
    format!(
        "\ndomain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = {pool}\n  max_age     = 2d\n}}\n\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n",
        10 + i % 90
    )
}

/// The same deployment over `files` files: file `k` holds its share of the domains and
/// their sources in a pool of its own (`main-k`); the first also the deployment block.
fn split(n: usize, files: usize) -> Vec<String> {
    (0..files)
        .map(|k| {
            let (from, to) = (k * n / files, (k + 1) * n / files);
            let mut s = if k == 0 { header() } else { String::new() };
            s.push_str(&format!("pool main-{k} {{\n"));
            for i in from..to {
                s.push_str(&source(i, "  "));
            }
            s.push_str("}\n");
            for i in from..to {
                s.push_str(&domain(i, &format!("main-{k}")));
            }
            s
        })
        .collect()
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

fn size(bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.0} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Samples: re-diagnoses, idle completions, completions right after an edit, requests
/// for the outline and the tokens, edits for the memory row.
const DIAGNOSES: usize = 40;
const COMPLETIONS: usize = 200;
const BUSY_COMPLETIONS: usize = 40;
const BIG: usize = 5;
const EDITS: usize = 1000;

/// One row of the table: name, samples (empty for a single measurement), p50, p99, size.
struct Row(String, String, String, String, String);

struct Bench {
    c: Client,
    uri: String,
    text: String,
    version: i64,
    incremental: bool,
    rows: Vec<Row>,
}

impl Bench {
    fn row(&mut self, name: &str, samples: &mut [Duration], size: &str) {
        // Progress, with the server's memory so far (where the peak comes from).
        match self.c.memory() {
            Some((rss, peak)) => eprintln!("  {name} (rss {}, peak {})", mib(rss), mib(peak)),
            None => eprintln!("  {name}"),
        }
        let (p50, p99) = (percentile(samples, 0.5), percentile(samples, 0.99));
        self.rows.push(Row(
            name.to_string(),
            samples.len().to_string(),
            ms(p50),
            if samples.len() > 1 {
                ms(p99)
            } else {
                String::new()
            },
            size.to_string(),
        ));
    }

    /// Send one didChange with these (byte range, new text) edits, each in the
    /// coordinates of the text after the previous ones; keeps `text` in step. Returns when
    /// the notification started to go out (building it is the client's cost: 10,000
    /// positions in a 4 MB text).
    fn change(&mut self, edits: &[(usize, usize, &str)]) -> Instant {
        self.version += 1;
        let mut changes = Vec::with_capacity(edits.len());
        if self.incremental {
            let mut lines = LineStarts::new(&self.text);
            for &(a, b, new) in edits {
                let range = json!({ "start": lines.position(&self.text, a), "end": lines.position(&self.text, b) });
                let same_lines =
                    b - a == new.len() && !new.contains('\n') && !self.text[a..b].contains('\n');
                self.text.replace_range(a..b, new);
                if !same_lines {
                    lines = LineStarts::new(&self.text);
                }
                changes.push(json!({ "range": range, "text": new }));
            }
        } else {
            for &(a, b, new) in edits {
                self.text.replace_range(a..b, new);
            }
            changes.push(json!({ "text": self.text }));
        }
        let version = self.version;
        let sent = Instant::now();
        self.c.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": self.uri, "version": version }, "contentChanges": changes }),
        );
        sent
    }

    /// A request and its round trip: until its response was read, not parsed (the JSON
    /// parse of a 10 MB answer is the client's cost, and ours is slower than an
    /// editor's).
    fn request(&mut self, method: &str, params: Value) -> (Duration, Value) {
        self.c.request_timed(method, params)
    }

    fn complete(&mut self, at: usize) -> Duration {
        let place = position(&self.text, at);
        let uri = self.uri.clone();
        let (t, m) = self.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": place }),
        );
        assert!(
            m["result"].as_array().is_some_and(|a| !a.is_empty()),
            "completion items: {m}"
        );
        t
    }

    /// This version's first diagnostics, once its full analysis is done (the first may be
    /// the quick ones): the next row starts with no analysis running.
    fn diagnosed(&mut self) -> Value {
        let first = self.diagnosed_at().1;
        self.analysed();
        first
    }

    /// Wait until the full analysis of the current version is done: a code action needs
    /// it. Returns how long the request took.
    fn analysed(&mut self) -> Duration {
        let uri = self.uri.clone();
        self.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "context": { "diagnostics": [] } }),
        )
        .0
    }

    /// This version's diagnostics, and when they arrived.
    fn diagnosed_at(&mut self) -> (Instant, Value) {
        let (uri, version) = (self.uri.clone(), self.version);
        let (at, n) = self.c.notification_at("diagnostics", |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == uri
                && n["params"]["version"] == version
        });
        (at, n["params"].clone())
    }
}

/// Line starts of a text, for LSP positions of many offsets.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(starts)
    }

    fn position(&self, text: &str, at: usize) -> Value {
        let line = self.0.partition_point(|&s| s <= at) - 1;
        let start = self.0[line];
        json!({ "line": line, "character": text[start..at].encode_utf16().count() })
    }
}

/// Where completion is asked: in a queue's body, after `egress_pool =`, after `mx_rollup =`.
fn places(text: &str) -> [usize; 3] {
    let q = text.find("queue").expect("a queue");
    let body = q + text[q..].find('\n').expect("a line") + 1;
    let pool = text.find("egress_pool = ").expect("egress_pool") + "egress_pool = ".len();
    let boolean =
        text.find("mx_rollup        = ").expect("mx_rollup") + "mx_rollup        = ".len();
    [body, pool, boolean]
}

fn run(bin: &Path, files: &[String], edited: usize) -> (String, Vec<Row>) {
    eprintln!("kumoc lsp bench: {} file(s)", files.len());
    let dir = std::env::temp_dir().join(format!(
        "kumoc-lsp-bench-{}-{}",
        std::process::id(),
        files.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut path = PathBuf::new();
    for (k, text) in files.iter().enumerate() {
        let name = if files.len() == 1 {
            "bench.kumo".to_string()
        } else {
            format!("bench-{k:03}.kumo")
        };
        std::fs::write(dir.join(&name), text).expect("write");
        if k == edited {
            path = dir.join(name);
        }
    }
    let text = files[edited].clone();
    let uri = format!("file://{}", path.display());

    let mut c = Client::start_bin(bin, &[], std::process::Stdio::inherit());
    c.timeout = Duration::from_secs(300);
    let init = c.initialize(json!({ "textDocument": { "semanticTokens": {
        "requests": { "range": true, "full": { "delta": true } },
        "tokenTypes": [], "tokenModifiers": [], "formats": ["relative"]
    } } }));
    assert!(init.get("error").is_none(), "{init}");
    let caps = &init["result"]["capabilities"];
    // 2 = incremental: edits send only the changed range (else the whole text).
    let incremental = caps["textDocumentSync"] == 2 || caps["textDocumentSync"]["change"] == 2;
    let tokens_range = caps["semanticTokensProvider"]["range"] == true;
    let tokens_delta = caps["semanticTokensProvider"]["full"]["delta"] == true;
    let t = Instant::now();
    c.open(&uri, 1, &text);
    let mut b = Bench {
        c,
        uri: uri.clone(),
        text,
        version: 1,
        incremental,
        rows: Vec::new(),
    };
    let (at, first) = b.diagnosed_at();
    let open = at - t;
    let count = first["diagnostics"].as_array().map_or(0, Vec::len);
    let after_open = b.c.memory();
    b.row("open → diagnostics", &mut [open], "");

    // The edit: `max_age = 2d` of the middle queue becomes `3d`, then back, and so on.
    let queues: Vec<usize> = b
        .text
        .match_indices("max_age     = 2d")
        .map(|(i, _)| i + "max_age     = ".len())
        .collect();
    let at = queues[queues.len() / 2];
    let toggle = |b: &mut Bench| {
        let days = if b.text.as_bytes()[at] == b'2' {
            "3"
        } else {
            "2"
        };
        b.change(&[(at, at + 1, days)])
    };

    // Re-diagnosis: a change until its diagnostics are published; and the server's CPU
    // time for it (all its threads: the parse, the analysis, the publication), which a
    // busy machine inflates far less than the wall time.
    let mut diag = Vec::new();
    let mut analysed = Vec::new();
    let cpu_before = b.c.cpu();
    for _ in 0..DIAGNOSES {
        let t = toggle(&mut b);
        let (at, m) = b.diagnosed_at();
        diag.push(at - t);
        assert_eq!(
            m["diagnostics"].as_array().map_or(0, Vec::len),
            count,
            "the edit changes no diagnostic"
        );
        // Until the full analysis of the version is done: a request that needs it (the
        // first diagnostics may be the quick ones, published before it).
        let asked = Instant::now();
        let took = b.analysed();
        analysed.push((asked + took).max(at) - t);
    }
    let cpu_after = b.c.cpu();
    b.row(
        "change → diagnostics (incl. the quiet period)",
        &mut diag,
        "",
    );
    b.row(
        "change → its full analysis done (a request that needs it answered)",
        &mut analysed,
        "",
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let per_edit = after.saturating_sub(before) / DIAGNOSES as u32;
        b.rows.push(Row(
            "change → diagnostics: the server's CPU time per edit".to_string(),
            DIAGNOSES.to_string(),
            ms(per_edit),
            String::new(),
            String::new(),
        ));
    }

    // Completion on an analysed version.
    let places = places(&b.text);
    let mut idle = Vec::new();
    for i in 0..COMPLETIONS {
        idle.push(b.complete(places[i % places.len()]));
    }
    b.row("completion, idle", &mut idle, "");

    // Completion right behind an edit (the request needs the new version's tree).
    let mut busy = Vec::new();
    for i in 0..BUSY_COMPLETIONS {
        toggle(&mut b);
        busy.push(b.complete(places[i % places.len()]));
        b.diagnosed();
    }
    b.row("completion right after an edit", &mut busy, "");

    // The outline and the tokens.
    let doc = json!({ "textDocument": { "uri": uri } });
    let mut symbols = Vec::new();
    let mut symbols_size = 0;
    for _ in 0..BIG {
        let (t, r) = b.request("textDocument/documentSymbol", doc.clone());
        symbols.push(t);
        symbols_size = r["result"].to_string().len();
    }
    b.row("document symbols", &mut symbols, &size(symbols_size));
    let mut full = Vec::new();
    let mut full_size = 0;
    let mut result_id = Value::Null;
    for _ in 0..BIG {
        let (t, r) = b.request("textDocument/semanticTokens/full", doc.clone());
        full.push(t);
        full_size = r["result"].to_string().len();
        result_id = r["result"]["resultId"].clone();
    }
    b.row("semantic tokens, full", &mut full, &size(full_size));
    if tokens_range {
        let line = b.text[..at].matches('\n').count();
        let range = json!({ "start": { "line": line.saturating_sub(50), "character": 0 }, "end": { "line": line + 50, "character": 0 } });
        let mut ranged = Vec::new();
        let mut ranged_size = 0;
        for _ in 0..BIG {
            let (t, r) = b.request(
                "textDocument/semanticTokens/range",
                json!({ "textDocument": { "uri": uri }, "range": range }),
            );
            ranged.push(t);
            ranged_size = r["result"].to_string().len();
        }
        b.row(
            "semantic tokens, 100-line range",
            &mut ranged,
            &size(ranged_size),
        );
    }
    if tokens_delta && result_id.is_string() {
        let mut delta = Vec::new();
        let mut delta_size = 0;
        for _ in 0..BIG {
            toggle(&mut b);
            let (t, r) = b.request(
                "textDocument/semanticTokens/full/delta",
                json!({ "textDocument": { "uri": uri }, "previousResultId": result_id }),
            );
            delta.push(t);
            delta_size = r["result"].to_string().len();
            result_id = r["result"]["resultId"].clone();
            b.diagnosed();
        }
        b.row(
            "semantic tokens, delta after an edit",
            &mut delta,
            &size(delta_size),
        );
    }

    // One change that edits every queue's `max_age`: top to bottom, then back bottom to
    // top. A completion is sent right behind it.
    let mut apply = Vec::new();
    let mut rediagnose = Vec::new();
    let lines = queues.len();
    for round in 0..2 {
        let (from, to) = if round == 0 {
            ("2d", "4d")
        } else {
            ("4d", "2d")
        };
        let mut edits: Vec<(usize, usize, &str)> = queues
            .iter()
            .filter(|&&q| &b.text[q..q + 2] == from)
            .map(|&q| (q, q + 2, to))
            .collect();
        if round == 1 {
            edits.reverse();
        }
        let t = b.change(&edits);
        apply.push(b.complete(places[0]));
        let (at, _) = b.diagnosed_at();
        rediagnose.push(at - t);
    }
    b.row(
        &format!("one change editing {lines} lines: completion right behind it"),
        &mut apply,
        "",
    );
    b.row(
        &format!("one change editing {lines} lines → diagnostics"),
        &mut rediagnose,
        "",
    );

    // Memory: 1,000 edits typed 10 ms apart, a completion every 10; resident memory
    // after 100 (once its analysis is done) and after 1,000 (idem): no growth with the
    // number of edits.
    let t = Instant::now();
    let mut after_100 = None;
    for i in 0..EDITS {
        toggle(&mut b);
        if i % 10 == 9 {
            b.complete(places[i % places.len()]);
        }
        if i == 99 {
            b.diagnosed();
            after_100 = b.c.memory();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    b.diagnosed();
    let typing = t.elapsed();
    let after_edits = b.c.memory();
    if let (Some((open_rss, _)), Some((rss_100, _)), Some((rss, peak))) =
        (after_open, after_100, after_edits)
    {
        for (name, value) in [
            ("memory: after the first analysis".to_string(), open_rss),
            ("memory: after 100 edits".to_string(), rss_100),
            (
                format!(
                    "memory: after {EDITS} edits ({:.0} s)",
                    typing.as_secs_f64()
                ),
                rss,
            ),
            ("memory: peak".to_string(), peak),
        ] {
            b.rows.push(Row(
                name,
                String::new(),
                mib(value),
                String::new(),
                String::new(),
            ));
        }
    }
    b.c.clear_notifications();
    b.c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);

    let total: usize = files.iter().map(String::len).sum();
    let header = format!(
        "{} file{}, {:.1} MiB ({:.1} MiB edited, {} lines), {count} diagnostics, {} sync",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        total as f64 / (1024.0 * 1024.0),
        files[edited].len() as f64 / (1024.0 * 1024.0),
        files[edited].lines().count(),
        if incremental { "incremental" } else { "full" }
    );
    (header, b.rows)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let one = !args.iter().any(|a| a == "--split");
    let many = !args.iter().any(|a| a == "--one");
    let bin = std::env::var_os("KUMOC_LSP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kumoc")));
    let mut tables = Vec::new();
    if one {
        tables.push(run(&bin, &[deployment(n)], 0));
    }
    if many {
        tables.push(run(&bin, &split(n, 100), 50));
    }
    println!("kumoc lsp ({}), {n} domains", bin.display());
    for (header, rows) in tables {
        println!("\n{header}\n");
        println!("| request | samples | p50 | p99 | size |");
        println!("|---|---:|---:|---:|---:|");
        for Row(name, samples, p50, p99, size) in rows {
            println!("| {name} | {samples} | {p50} | {p99} | {size} |");
        }
    }
}
