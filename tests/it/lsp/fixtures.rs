//! LSP fixtures (`tests/fixtures/lsp/*.test`), in the style of Nickel's language server
//! tests: a fixture is the documents, then the requests; the server's answers are rendered
//! readably (1-based `line:column` in UTF-16 units, file names relative to the fixture's
//! directory, `<stdlib>/...` for the built-in presets) into one snapshot per fixture.
//!
//! ```text
//! Free text up to the first `===` line says what the fixture is about.
//! === open deploy.kumo          (written to disk and opened in the editor)
//! deployment "x" { ... }
//! === disk sibling.kumo         (on disk only: part of the deployment, never opened)
//! pool extra { ... }
//! === requests
//! hover deploy.kumo "from provider.ya|hoo"
//! ```
//!
//! A request is `method FILE ["needle"] [argument]`. The needle is text of the file
//! (`\"`, `\\` and `\n` escape); `|` marks the cursor in it (its start when there is
//! none); for `actions` and `change` the needle without `|` is the range. Methods:
//! `diagnostics`, `hover`, `completion`, `definition`, `references`, `rename NEEDLE NAME`,
//! `symbols`, `tokens`, `tokens-delta` (against the last `tokens`), `tokens-range NEEDLE
//! NEEDLE` (from the first's start to the second's end), `inlay`, `actions`, `format`, and
//! `change NEEDLE "text"` (an edit of the open document; later requests see the new text,
//! `diagnostics` its version).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::client::{self, Client};
use crate::support::{name, root};

struct Doc {
    name: String,
    text: String,
    open: bool,
    version: i64,
}

struct Fixture {
    docs: Vec<Doc>,
    requests: Vec<String>,
}

fn parse_fixture(text: &str) -> Fixture {
    let mut docs: Vec<Doc> = Vec::new();
    let mut requests = Vec::new();
    let mut in_requests = false;
    for line in text.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("=== ") {
            let header = header.trim();
            if header == "requests" {
                in_requests = true;
                continue;
            }
            let (kind, file) = header.split_once(' ').expect("=== open|disk NAME");
            assert!(kind == "open" || kind == "disk", "unknown section {header}");
            docs.push(Doc {
                name: file.to_string(),
                text: String::new(),
                open: kind == "open",
                version: 1,
            });
            in_requests = false;
        } else if in_requests {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with("//") {
                requests.push(line.to_string());
            }
        } else if let Some(doc) = docs.last_mut() {
            doc.text.push_str(line);
        }
    }
    Fixture { docs, requests }
}

/// Split a request line into words; quoted words keep their spaces, with `\"`, `\\` and
/// `\n` escapes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some(other) => word.push(other),
                        None => {}
                    },
                    _ => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    out
}

/// (start of the needle, cursor) as byte offsets of `text`.
fn find(text: &str, needle: &str) -> (usize, usize, usize) {
    let plain = needle.replace('|', "");
    let at = text
        .find(&plain)
        .unwrap_or_else(|| panic!("needle {needle:?} not in the text"));
    let cursor = at + needle.find('|').unwrap_or(0);
    (at, cursor, at + plain.len())
}

/// 1-based `line:column` (UTF-16 columns) of an LSP position.
fn pos(p: &Value) -> String {
    format!(
        "{}:{}",
        p["line"].as_u64().unwrap_or(0) + 1,
        p["character"].as_u64().unwrap_or(0) + 1
    )
}

/// The name of an LSP enum number (completion item kinds, symbol kinds, severities).
fn kind(names: &[(u64, &str)], v: &Value) -> String {
    let n = v.as_u64().unwrap_or(0);
    names
        .iter()
        .find(|(k, _)| *k == n)
        .map_or_else(|| format!("kind {n}"), |(_, name)| name.to_string())
}

const COMPLETION_KINDS: &[(u64, &str)] = &[
    (5, "field"),
    (14, "keyword"),
    (18, "reference"),
    (20, "enum member"),
];
const SYMBOL_KINDS: &[(u64, &str)] = &[
    (2, "module"),
    (3, "namespace"),
    (5, "class"),
    (19, "object"),
    (23, "struct"),
];
const SEVERITIES: &[(u64, &str)] = &[(1, "error"), (2, "warning"), (3, "info"), (4, "hint")];

fn range(r: &Value) -> String {
    format!("{}-{}", pos(&r["start"]), pos(&r["end"]))
}

/// The byte offset of an LSP position (UTF-16 columns) in `text`.
fn offset(text: &str, p: &Value) -> usize {
    let line = p["line"].as_u64().unwrap_or(0) as usize;
    let mut at = 0;
    for _ in 0..line {
        match text[at..].find('\n') {
            Some(i) => at += i + 1,
            None => return text.len(),
        }
    }
    let mut units = p["character"].as_u64().unwrap_or(0) as usize;
    for c in text[at..].chars() {
        if units == 0 || c == '\n' {
            break;
        }
        units = units.saturating_sub(c.len_utf16());
        at += c.len_utf8();
    }
    at
}

struct Run {
    dir: PathBuf,
    client: Client,
    docs: Vec<Doc>,
    legend: Vec<String>,
    /// The result id of the last semantic tokens (for `tokens-delta`).
    tokens_id: Value,
}

impl Run {
    fn uri(&self, file: &str) -> String {
        format!("file://{}", self.dir.join(file).display())
    }

    fn doc(&self, file: &str) -> &Doc {
        self.docs
            .iter()
            .find(|d| d.name == file)
            .unwrap_or_else(|| panic!("no document {file}"))
    }

    /// A URI as the snapshot shows it: relative to the fixture, or `<stdlib>/NAME`.
    fn show_uri(&self, uri: &str) -> String {
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        let dir = format!("{}/", self.dir.display());
        match path.strip_prefix(&dir) {
            Some(rel) => rel.to_string(),
            None => {
                let file = path.rsplit('/').next().unwrap_or(path);
                if kumoc_compiler::stdlib::FILES
                    .iter()
                    .any(|(n, _)| n.ends_with(&format!("/{file}")))
                {
                    format!("<stdlib>/{file}")
                } else {
                    format!("<elsewhere>/{file}")
                }
            }
        }
    }

    /// The text of the file a URI names (an open document, or the file on disk).
    fn text_of(&self, uri: &str) -> String {
        let shown = self.show_uri(uri);
        if let Some(d) = self.docs.iter().find(|d| d.name == shown) {
            return d.text.clone();
        }
        std::fs::read_to_string(uri.strip_prefix("file://").unwrap_or(uri)).unwrap_or_default()
    }

    /// `file:line:col-line:col "text in the range"`.
    fn show_location(&self, uri: &str, r: &Value) -> String {
        let text = self.text_of(uri);
        let (a, b) = (offset(&text, &r["start"]), offset(&text, &r["end"]));
        let quoted = text.get(a..b).unwrap_or("");
        format!("{}:{} {quoted:?}", self.show_uri(uri), range(r))
    }

    /// Paths of the fixture's directory written in messages become relative.
    fn clean(&self, s: &str) -> String {
        s.replace(&format!("{}/", self.dir.display()), "")
    }

    fn position_params(&self, file: &str, needle: &str) -> Value {
        let text = &self.doc(file).text;
        let (_, cursor, _) = find(text, needle);
        json!({ "textDocument": { "uri": self.uri(file) }, "position": client::position(text, cursor) })
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let r = self.client.request(method, params);
        match r.get("error") {
            Some(e) => Err(format!(
                "error {}: {}",
                e["code"],
                self.clean(e["message"].as_str().unwrap_or(""))
            )),
            None => Ok(r["result"].clone()),
        }
    }

    fn show_edits(&self, changes: &Value) -> String {
        let mut out = String::new();
        let mut files: Vec<(&String, &Value)> = changes
            .as_object()
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        files.sort_by_key(|(u, _)| self.show_uri(u));
        for (uri, edits) in files {
            for e in edits.as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "  {} -> {:?}",
                    self.show_location(uri, &e["range"]),
                    e["newText"].as_str().unwrap_or("")
                );
            }
        }
        out
    }

    fn run(&mut self, line: &str) -> String {
        let w = words(line);
        let (method, file) = (w[0].as_str(), w[1].as_str());
        let needle = w.get(2).map(String::as_str).unwrap_or("");
        let uri = self.uri(file);
        let result = match method {
            "diagnostics" => Ok(self.diagnostics(file)),
            "hover" => {
                let params = self.position_params(file, needle);
                self.request("textDocument/hover", params).map(|r| {
                    match r["contents"]["value"].as_str() {
                        Some(md) => self.clean(md),
                        None => "(nothing)".to_string(),
                    }
                })
            }
            "completion" => {
                let params = self.position_params(file, needle);
                self.request("textDocument/completion", params).map(|r| {
                    let mut out = String::new();
                    for i in r.as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "{} ({}) {}{}",
                            i["label"].as_str().unwrap_or(""),
                            kind(COMPLETION_KINDS, &i["kind"]),
                            i["detail"].as_str().unwrap_or(""),
                            i["insertText"]
                                .as_str()
                                .map(|t| format!(" => {t:?}"))
                                .unwrap_or_default()
                        );
                    }
                    if out.is_empty() { "(nothing)".to_string() } else { out }
                })
            }
            "definition" => {
                let params = self.position_params(file, needle);
                self.request("textDocument/definition", params).map(|r| {
                    if r.is_null() {
                        "(nothing)".to_string()
                    } else {
                        self.show_location(r["uri"].as_str().unwrap_or(""), &r["range"])
                    }
                })
            }
            "references" => {
                let mut params = self.position_params(file, needle);
                params["context"] = json!({ "includeDeclaration": true });
                self.request("textDocument/references", params).map(|r| {
                    let mut out = String::new();
                    for l in r.as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "{}",
                            self.show_location(l["uri"].as_str().unwrap_or(""), &l["range"])
                        );
                    }
                    if out.is_empty() { "(nothing)".to_string() } else { out }
                })
            }
            "rename" => {
                let mut params = self.position_params(file, needle);
                params["newName"] = json!(w.get(3).cloned().unwrap_or_default());
                self.request("textDocument/rename", params)
                    .map(|r| self.show_edits(&r["changes"]))
            }
            "symbols" => self
                .request(
                    "textDocument/documentSymbol",
                    json!({ "textDocument": { "uri": uri } }),
                )
                .map(|r| {
                    fn walk(out: &mut String, symbols: &Value, depth: usize) {
                        for s in symbols.as_array().into_iter().flatten() {
                            let _ = writeln!(
                                out,
                                "{}{} ({}) {} name {}",
                                "  ".repeat(depth),
                                s["name"].as_str().unwrap_or(""),
                                kind(SYMBOL_KINDS, &s["kind"]),
                                range(&s["range"]),
                                range(&s["selectionRange"])
                            );
                            walk(out, &s["children"], depth + 1);
                        }
                    }
                    let mut out = String::new();
                    walk(&mut out, &r, 0);
                    out
                }),
            "tokens" => self
                .request(
                    "textDocument/semanticTokens/full",
                    json!({ "textDocument": { "uri": uri } }),
                )
                .map(|r| {
                    self.tokens_id = r["resultId"].clone();
                    self.show_tokens(file, &r["data"])
                }),
            "tokens-delta" => {
                let previous = self.tokens_id.clone();
                self.request(
                    "textDocument/semanticTokens/full/delta",
                    json!({ "textDocument": { "uri": uri }, "previousResultId": previous }),
                )
                .map(|r| {
                    self.tokens_id = r["resultId"].clone();
                    match r["edits"].as_array() {
                        Some(edits) => edits
                            .iter()
                            .map(|e| {
                                let ints: Vec<String> = e["data"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .map(Value::to_string)
                                    .collect();
                                format!(
                                    "edit at {}: delete {}, insert [{}]",
                                    e["start"],
                                    e["deleteCount"],
                                    ints.join(", ")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n"),
                        None => format!("full:\n{}", self.show_tokens(file, &r["data"])),
                    }
                })
            }
            "tokens-range" => {
                let text = &self.doc(file).text;
                let (a, _, _) = find(text, needle);
                let (_, _, b) = find(text, w.get(3).map(String::as_str).unwrap_or(""));
                let range = json!({ "start": client::position(text, a), "end": client::position(text, b) });
                self.request(
                    "textDocument/semanticTokens/range",
                    json!({ "textDocument": { "uri": uri }, "range": range }),
                )
                .map(|r| self.show_tokens(file, &r["data"]))
            }
            "inlay" => {
                let text = &self.doc(file).text;
                let end = client::position(text, text.len());
                self.request(
                    "textDocument/inlayHint",
                    json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": end } }),
                )
                .map(|r| {
                    let text = &self.doc(file).text;
                    let mut out = String::new();
                    for h in r.as_array().into_iter().flatten() {
                        // What the line says up to the hint.
                        let at = offset(text, &h["position"]);
                        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                        let _ = writeln!(
                            out,
                            "{} {:?} after {:?}",
                            pos(&h["position"]),
                            h["label"].as_str().unwrap_or(""),
                            &text[line_start..at].trim_start()
                        );
                    }
                    if out.is_empty() { "(nothing)".to_string() } else { out }
                })
            }
            "actions" => {
                let text = &self.doc(file).text;
                let (a, _, b) = find(text, needle);
                let range = json!({ "start": client::position(text, a), "end": client::position(text, b) });
                self.request(
                    "textDocument/codeAction",
                    json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": [] } }),
                )
                .map(|r| {
                    let mut out = String::new();
                    for a in r.as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "{} (preferred: {})",
                            a["title"].as_str().unwrap_or(""),
                            a["isPreferred"]
                        );
                        out.push_str(&self.show_edits(&a["edit"]["changes"]));
                    }
                    if out.is_empty() { "(nothing)".to_string() } else { out }
                })
            }
            "format" => self
                .request(
                    "textDocument/formatting",
                    json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
                )
                .map(|r| match r[0]["newText"].as_str() {
                    Some(t) => t.to_string(),
                    None => "(no change)".to_string(),
                }),
            "change" => {
                let replacement = w.get(3).cloned().unwrap_or_default();
                let doc = self.doc(file);
                let (a, _, b) = find(&doc.text, &needle.replace('|', ""));
                let range = json!({ "start": client::position(&doc.text, a), "end": client::position(&doc.text, b) });
                let version = doc.version + 1;
                let mut new_text = doc.text.clone();
                new_text.replace_range(a..b, &replacement);
                self.client.notify(
                    "textDocument/didChange",
                    json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": range, "text": replacement }] }),
                );
                if let Some(d) = self.docs.iter_mut().find(|d| d.name == file) {
                    d.text = new_text;
                    d.version = version;
                }
                Ok(format!("version {version}"))
            }
            other => panic!("unknown request {other}"),
        };
        match result {
            Ok(s) | Err(s) => s,
        }
    }

    fn diagnostics(&mut self, file: &str) -> String {
        let uri = self.uri(file);
        let version = self.doc(file).version;
        let open = self.doc(file).open;
        let params = if open {
            self.client.diagnostics(&uri, version)
        } else {
            self.client.notification("diagnostics", |n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            })["params"]
                .clone()
        };
        let mut out = String::new();
        for d in params["diagnostics"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{} {} {}: {}",
                range(&d["range"]),
                kind(SEVERITIES, &d["severity"]),
                d["code"].as_str().unwrap_or(""),
                self.clean(d["message"].as_str().unwrap_or(""))
                    .replace('\n', "\n    ")
            );
            for r in d["relatedInformation"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "    related {}: {}",
                    self.show_location(
                        r["location"]["uri"].as_str().unwrap_or(""),
                        &r["location"]["range"]
                    ),
                    r["message"].as_str().unwrap_or("")
                );
            }
        }
        if out.is_empty() {
            "(none)".to_string()
        } else {
            out
        }
    }

    /// Decoded semantic tokens: `line:col type "text"`.
    fn show_tokens(&self, file: &str, data: &Value) -> String {
        let text = &self.doc(file).text;
        let data: Vec<u64> = data
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let (mut line, mut col) = (0u64, 0u64);
        let mut out = String::new();
        for t in data.chunks(5) {
            if t[0] > 0 {
                line += t[0];
                col = t[1];
            } else {
                col += t[1];
            }
            let start = json!({ "line": line, "character": col });
            let end = json!({ "line": line, "character": col + t[2] });
            let (a, b) = (offset(text, &start), offset(text, &end));
            let _ = writeln!(
                out,
                "{} {} {:?}",
                pos(&start),
                self.legend.get(t[3] as usize).map_or("?", String::as_str),
                text.get(a..b).unwrap_or("")
            );
        }
        out
    }
}

fn run_fixture(path: &Path) -> String {
    let fixture = parse_fixture(&std::fs::read_to_string(path).unwrap());
    let dir = std::env::temp_dir().join(format!(
        "kumoc-lsp-fixture-{}-{}",
        name(path),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for d in &fixture.docs {
        std::fs::write(dir.join(&d.name), &d.text).unwrap();
    }
    // The diagnostics a version ends up with: the full analysis's, not the quick ones
    // before them (`lsp_quick_diagnostics_come_first_and_never_flicker` tests those).
    let mut client = Client::start_with(
        &[("KUMOC_LSP_QUICK_DIAGNOSTICS", "off")],
        std::process::Stdio::null(),
    );
    let init = client.initialize(json!({ "general": { "positionEncodings": ["utf-16"] } }));
    let legend = init["result"]["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let mut run = Run {
        dir: dir.clone(),
        client,
        docs: fixture.docs,
        legend,
        tokens_id: Value::Null,
    };
    // Open the documents, and wait until each has been diagnosed once: the answers below
    // do not depend on timing.
    let opened: Vec<(String, String)> = run
        .docs
        .iter()
        .filter(|d| d.open)
        .map(|d| (run.uri(&d.name), d.text.clone()))
        .collect();
    for (uri, text) in &opened {
        run.client.open(uri, 1, text);
    }
    for (uri, _) in &opened {
        run.client.diagnostics(uri, 1);
    }
    let mut out = String::new();
    for line in &fixture.requests {
        let answer = run.run(line);
        let _ = writeln!(out, ">>> {line}\n{}\n", answer.trim_end());
    }
    run.client.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn lsp_fixtures() {
    let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/lsp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "test"))
        .collect();
    all.sort();
    assert!(!all.is_empty());
    for path in all {
        let rendered = run_fixture(&path);
        let source = path.strip_prefix(root()).unwrap().display().to_string();
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
            input_file => &path,
            description => source,
        }, {
            insta::assert_snapshot!(format!("lsp__{}", name(&path)), rendered);
        });
    }
}
