//! The real `kumoc lsp` binary driven over stdio with JSON-RPC: initialize, open, change
//! (including a burst of edits), the features, bad requests, shutdown and exit; and a
//! storm (1,000 random edits, bad positions, cancellations, files deleted under the server).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../support/lsp_client.rs"]
mod client;
mod fixtures;

use client::Client;

const SRC: &str = "// Überblick: ä ö ü 😀\ndeployment \"lsp\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = production\n}\n\npool main {\n  source main-00 {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\n\nqueue default {\n  egress_pool = main\n  max_message_rate = 7200/h\n}\n\nshaping default { /* 😀 */ enable_tls = opportunistic_insecure }\n";

fn position_of(text: &str, needle: &str) -> Value {
    let at = text.find(needle).unwrap();
    let line = text[..at].matches('\n').count();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let character: usize = text[start..at].encode_utf16().count();
    json!({ "line": line, "character": character })
}

#[test]
fn lsp_end_to_end() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.kumo");
    std::fs::write(&path, SRC).unwrap();
    let uri = format!("file://{}", path.display());
    let mut c = Client::start();

    let init = c.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": { "general": { "positionEncodings": ["utf-16"] } } }));
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "kumo", "version": 1, "text": SRC } }),
    );

    // The TLS lint shows inline, at the right UTF-16 column, with a link to its docs.
    let diags = c.diagnostics(&uri, 1);
    let tls = diags["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "KUMO-TLS001")
        .expect("KUMO-TLS001 is shown")
        .clone();
    assert_eq!(tls["severity"], 1, "an error in production");
    assert_eq!(
        tls["range"]["start"],
        position_of(SRC, "opportunistic_insecure")
    );
    assert!(
        tls["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("KUMO-TLS001.md")
    );

    // Its code action fixes it.
    let actions = c.request("textDocument/codeAction", json!({ "textDocument": { "uri": uri }, "range": tls["range"], "context": { "diagnostics": [tls] } }));
    let action = actions["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("opportunistic"))
        .expect("a fix")
        .clone();
    let edit = &action["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "opportunistic");
    assert_eq!(edit["range"], tls["range"]);

    // Hover: the field's meaning; a rate's per-second value.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "enable_tls") }),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("Outbound STARTTLS policy")
    );

    // Completion: fields where a statement starts, enum values after `=`, names of pools.
    let fields = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 14, "character": 2 } }),
    );
    let labels: Vec<&str> = fields["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"max_age") && labels.contains(&"retry_interval"),
        "{labels:?}"
    );
    let mut pos = position_of(SRC, "opportunistic_insecure");
    pos["character"] = json!(pos["character"].as_u64().unwrap() + 3);
    let values = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": pos }),
    );
    let labels: Vec<&str> = values["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"required") && labels.contains(&"opportunistic"),
        "{labels:?}"
    );
    let pools = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main\n  max") }),
    );
    assert!(
        pools["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["label"] == "main")
    );

    // Go to definition: the pool, and a stdlib preset.
    let def = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main\n  max") }),
    );
    assert_eq!(def["result"]["uri"], uri);
    assert_eq!(def["result"]["range"]["start"], position_of(SRC, "main {"));

    // References and rename of the pool: its definition and its use.
    let refs = c.request("textDocument/references", json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main {"), "context": { "includeDeclaration": true } }));
    let starts: Vec<Value> = refs["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"].clone())
        .collect();
    assert_eq!(
        starts,
        [position_of(SRC, "main {"), position_of(SRC, "main\n  max")]
    );
    let rename = c.request("textDocument/rename", json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main\n  max"), "newName": "primary" }));
    let edits = rename["result"]["changes"][&uri].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    assert!(edits.iter().all(|e| e["newText"] == "primary"));
    let bad = c.request("textDocument/rename", json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main {"), "newName": "" }));
    assert!(bad.get("error").is_some(), "an empty name is refused");

    // Hover on a preset shows its effective settings and where each comes from.
    let preset = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "default { /*") }),
    );
    let text = preset["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("connection_limit = 10") && text.contains("<stdlib>/shaping.kumo"),
        "{text}"
    );

    // Outline and formatting.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "deployment lsp",
            "pool main",
            "queue default",
            "shaping default"
        ]
    );
    let fmt = c.request("textDocument/formatting", json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }));
    let new_text = fmt["result"][0]["newText"].as_str().unwrap();
    assert!(
        new_text.contains("shaping default { /* 😀 */\n  enable_tls = opportunistic_insecure\n}"),
        "{new_text}"
    );

    // Inlay hints: a rate's per-second value.
    let hints = c.request("textDocument/inlayHint", json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } } }));
    let labels: Vec<&str> = hints["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["= 2/s"]);

    // Semantic tokens: decode the first few (comment, keyword, label, property, string).
    let tokens = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri } }),
    );
    let data: Vec<u64> = tokens["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let legend =
        init["result"]["capabilities"]["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
    let kinds: Vec<&str> = data
        .chunks(5)
        .take(5)
        .map(|t| legend[t[3] as usize].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["comment", "keyword", "string", "property", "string"]
    );
    let comment_len = "// Überblick: ä ö ü 😀".encode_utf16().count() as u64;
    assert_eq!(comment_len, 22);
    assert_eq!(
        &data[..5],
        &[0, 0, comment_len, 7, 0],
        "the comment's length is in UTF-16 units"
    );

    // A burst of edits: only the newest version's diagnostics are published last.
    let mut text = SRC.to_string();
    for v in 2..=30 {
        text = text.replace("\n}\n\nqueue", &format!("\n}}\n// edit {v}\n\nqueue"));
        let t = if v == 30 {
            text.replace("opportunistic_insecure", "required")
        } else {
            text.clone()
        };
        c.notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": v }, "contentChanges": [{ "text": t }] }));
    }
    let last = c.diagnostics(&uri, 30);
    assert!(
        !last["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "KUMO-TLS001"),
        "the fix in version 30 is seen"
    );
    let after: Vec<i64> = c
        .notifications
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .filter_map(|n| n["params"]["version"].as_i64())
        .collect();
    let pos30 = after.iter().position(|v| *v == 30).unwrap();
    assert!(
        after[pos30..].iter().all(|v| *v == 30),
        "no stale publication after the newest: {after:?}"
    );
    assert!(after.len() < 29, "edits are debounced: {after:?}");

    // Bad requests never crash the server.
    let r = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 9999, "character": 9999 } }),
    );
    assert!(r.get("error").is_none() && r["result"].is_null());
    let r = c.request("textDocument/hover", json!({ "textDocument": { "uri": "file:///nowhere/x.kumo" }, "position": { "line": 0, "character": 0 } }));
    assert!(r["result"].is_null());
    let r = c.request("textDocument/definition", json!({ "bogus": true }));
    assert!(
        r.get("error").is_some(),
        "malformed params get an error response"
    );
    let r = c.request("kumoc/unknownMethod", json!({}));
    assert!(r.get("error").is_some());
    let ok = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert!(ok["result"].is_array(), "still serving");

    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A panic in a request handler, in a notification handler or in the analysis (on the
/// blocking pool) answers an internal error, is logged to the client, and the server goes
/// on serving. `KUMOC_LSP_PANIC` makes those places panic on purpose.
#[test]
fn lsp_survives_panics() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-panic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.kumo");
    std::fs::write(&path, SRC).unwrap();
    let uri = format!("file://{}", path.display());
    let mut c = Client::start_with(
        &[(
            "KUMOC_LSP_PANIC",
            "textDocument/hover,textDocument/didChange,analysis",
        )],
        std::process::Stdio::null(),
    );
    c.initialize(json!({}));
    c.open(&uri, 1, SRC);
    let logged = |c: &mut Client, what: &str| {
        c.notification(what, |n| {
            n["method"] == "window/logMessage"
                && n["params"]["type"] == 1
                && n["params"]["message"].as_str().unwrap().contains(what)
        })["params"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The analysis panics: no diagnostics, an error in the client's log.
    let message = logged(&mut c, "panicked in the analysis");
    assert!(message.contains("KUMOC_LSP_PANIC"), "{message}");

    // A request whose handler panics gets an internal error, logged.
    let at = position_of(SRC, "enable_tls");
    let r = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": at }),
    );
    assert_eq!(r["error"]["code"], -32603, "{r}");
    logged(
        &mut c,
        "textDocument/hover: kumoc panicked in textDocument/hover",
    );
    // A request that needs the analysis gets an internal error too.
    let r = c.request(
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "main\n  max") }),
    );
    assert_eq!(r["error"]["code"], -32603, "{r}");
    // A notification whose handler panics is logged.
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": "" }] }),
    );
    logged(&mut c, "textDocument/didChange: kumoc panicked");

    // The server goes on: requests that need no analysis answer, on the text of version 1.
    let r = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of(SRC, "opportunistic_insecure") }),
    );
    assert!(r["result"].as_array().is_some_and(|a| !a.is_empty()), "{r}");
    let r = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert_eq!(r["result"].as_array().map(Vec::len), Some(4), "{r}");
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The server's own transport keeps the protocol's rules for the requests it answers
/// itself (the outline, the full semantic tokens): not before `initialize`, not after
/// `shutdown`, `$/cancelRequest` cancels them; a message that cannot be read is answered
/// with an error (id `null`) and the server goes on.
#[test]
fn lsp_transport_keeps_the_protocol() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-transport-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.kumo");
    std::fs::write(&path, SRC).unwrap();
    let uri = format!("file://{}", path.display());
    let doc = json!({ "textDocument": { "uri": uri } });
    let mut c = Client::start();

    let r = c.request("textDocument/documentSymbol", doc.clone());
    assert_eq!(r["error"]["code"], -32002, "not initialized: {r}");
    c.send_raw(b"Content-Length: 5\r\n\r\n{bad}");
    c.send_raw(b"X-Other: 1\r\n\r\n");
    c.send_raw(b"Content-Length: 2\r\n\r\n[]");
    c.initialize(json!({}));
    let errors: Vec<i64> = c
        .notifications
        .iter()
        .filter(|m| m["id"].is_null() && m.get("error").is_some())
        .filter_map(|m| m["error"]["code"].as_i64())
        .collect();
    assert_eq!(errors, [-32700, -32700, -32600], "{:?}", c.notifications);

    c.open(&uri, 1, SRC);
    let r = c.request("textDocument/documentSymbol", doc.clone());
    assert_eq!(r["result"].as_array().map(Vec::len), Some(4), "{r}");
    let r = c.request("textDocument/semanticTokens/full", doc.clone());
    assert!(
        r["result"]["data"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{r}"
    );
    let r = c.request("textDocument/documentSymbol", json!({ "bogus": 1 }));
    assert_eq!(r["error"]["code"], -32602, "invalid params: {r}");
    // Cancelled right away: cancelled, or answered if it was done first.
    let id = c.send_request("textDocument/documentSymbol", doc.clone());
    c.notify("$/cancelRequest", json!({ "id": id }));
    let r = c.response(id);
    assert!(
        r["error"]["code"] == -32800 || r["result"].as_array().is_some_and(|a| a.len() == 4),
        "{r}"
    );

    let r = c.request("shutdown", json!(null));
    assert!(r.get("error").is_none(), "{r}");
    let r = c.request("textDocument/documentSymbol", doc);
    assert_eq!(r["error"]["code"], -32600, "after shutdown: {r}");
    c.notify("exit", json!(null));
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server exits after `exit`");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(c.child.try_wait().unwrap().is_some_and(|s| s.success()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// "Go to definition" into the built-in presets opens a file the server wrote for itself:
/// in a fresh directory only this user can enter (under `$XDG_RUNTIME_DIR`, else the temp
/// directory), read-only, removed at exit. A symlink planted at the fixed path older
/// servers used (`$TMPDIR/kumoc-stdlib-VERSION`, which they followed and overwrote) is
/// left alone.
#[cfg(unix)]
#[test]
fn lsp_stdlib_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = std::env::temp_dir().join(format!("kumoc-lsp-stdlib-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (tmp, xdg, victim, work) = (
        root.join("tmp"),
        root.join("xdg"),
        root.join("victim"),
        root.join("work"),
    );
    for d in [&tmp, &xdg, &victim, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(victim.join("shaping.kumo"), "precious").unwrap();
    let planted = tmp.join(format!("kumoc-stdlib-{}", env!("CARGO_PKG_VERSION")));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let text = "deployment \"d\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\nprovider \"google\" {\n  max_message_rate = 50/s\n}\n";
    let path = work.join("deploy.kumo");
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());

    for (runtime, expected_parent) in [("", &tmp), (xdg.to_str().unwrap(), &xdg)] {
        let mut c = Client::start_with(
            &[
                ("TMPDIR", tmp.to_str().unwrap()),
                ("XDG_RUNTIME_DIR", runtime),
            ],
            std::process::Stdio::null(),
        );
        c.initialize(json!({}));
        c.open(&uri, 1, text);
        c.diagnostics(&uri, 1);
        let def = c.request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": uri }, "position": position_of(text, "oogle") }),
        );
        let target = def["result"]["uri"].as_str().unwrap().to_string();
        let file = std::path::PathBuf::from(target.strip_prefix("file://").unwrap());
        let dir = file.parent().unwrap().to_path_buf();
        assert_eq!(dir.parent(), Some(expected_parent.as_path()), "{target}");
        assert_ne!(dir, planted);
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        assert!(meta.is_dir() && !meta.file_type().is_symlink());
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        let file_meta = std::fs::symlink_metadata(&file).unwrap();
        assert!(file_meta.is_file());
        assert_eq!(file_meta.permissions().mode() & 0o222, 0, "read-only");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            kumoc_compiler::stdlib::FILES[0].1
        );
        assert_eq!(
            std::fs::read_to_string(victim.join("shaping.kumo")).unwrap(),
            "precious",
            "nothing written through the planted symlink"
        );
        c.shutdown();
        assert!(!dir.exists(), "the directory is removed at exit");
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// A small deterministic PRNG (xorshift64*), so the storm is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A random character boundary of `text`.
fn boundary(text: &str, rng: &mut Rng) -> usize {
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

const STORM_SRC: &str = "// Sturm 😀 ä\ndeployment \"lsp\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = production\n}\n\npool main {\n  source main-00 {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\n\nqueue default {\n  egress_pool = extra\n  max_message_rate = 7200/h\n}\n\nshaping default { /* 😀 */ enable_tls = opportunistic_insecure }\n";

/// Defines the pool `extra` that `STORM_SRC` uses; deleted on disk during the storm.
const SIBLING: &str =
    "pool extra {\n  source extra-00 {\n    ehlo_domain = \"mta2.example.com\"\n  }\n}\n";

/// What the final text of the storm is (reached by one range edit over everything).
const STORM_FINAL: &str = "// Schluss 😀\ndeployment \"lsp\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = production\n}\n\npool main {\n  source main-00 {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\n\nqueue default {\n  egress_pool = extra\n  max_age     = 2d\n}\n\nshaping default { enable_tls = required }\n";

/// Texts inserted by the storm: valid pieces, half blocks, quotes, comments, non-ASCII.
const SNIPPETS: &[&str] = &[
    "x",
    " ",
    "\n",
    "{",
    "}",
    "\"",
    "=",
    "😀",
    "é",
    "/*",
    "*/",
    "// c\n",
    "pool p { }\n",
    "source s {",
    "max_age = 5m\n",
    "egress_pool = main",
    "= 10/s",
    "[",
    "]",
    "secret(\"k\")",
    "queue \"q\" {\n  max_age = 1h\n}\n",
    "\u{feff}",
    "\t",
];

/// Requests that take a position, with params for `uri` at `pos`.
fn positional(uri: &str, pos: &Value) -> Vec<(&'static str, Value)> {
    let td = json!({ "uri": uri });
    let range = json!({ "start": pos, "end": pos });
    vec![
        (
            "textDocument/completion",
            json!({ "textDocument": td, "position": pos }),
        ),
        (
            "textDocument/hover",
            json!({ "textDocument": td, "position": pos }),
        ),
        (
            "textDocument/definition",
            json!({ "textDocument": td, "position": pos }),
        ),
        (
            "textDocument/references",
            json!({ "textDocument": td, "position": pos, "context": { "includeDeclaration": true } }),
        ),
        (
            "textDocument/rename",
            json!({ "textDocument": td, "position": pos, "newName": "renamed" }),
        ),
        (
            "textDocument/formatting",
            json!({ "textDocument": td, "options": { "tabSize": 2, "insertSpaces": true } }),
        ),
        (
            "textDocument/codeAction",
            json!({ "textDocument": td, "range": range, "context": { "diagnostics": [] } }),
        ),
        (
            "textDocument/inlayHint",
            json!({ "textDocument": td, "range": { "start": { "line": 0, "character": 0 }, "end": pos } }),
        ),
        (
            "textDocument/semanticTokens/full",
            json!({ "textDocument": td }),
        ),
        ("textDocument/documentSymbol", json!({ "textDocument": td })),
    ]
}

/// Positions no client should send: past the end, past a line's end, inside a surrogate
/// pair, the largest u32s.
fn bad_positions(text: &str) -> Vec<Value> {
    let lines = text.split('\n').count() as u64;
    let mut out = vec![
        json!({ "line": lines + 5, "character": 0 }),
        json!({ "line": 0, "character": 100_000 }),
        json!({ "line": u32::MAX, "character": u32::MAX }),
        json!({ "line": 0, "character": u32::MAX }),
        json!({ "line": u32::MAX - 1, "character": 3 }),
        json!({ "line": -1, "character": -1 }),
    ];
    if let Some(at) = text.find('😀') {
        let mut p = client::position(text, at);
        p["character"] = json!(p["character"].as_u64().unwrap() + 1);
        out.push(p);
    }
    out
}

/// A `file://` URI with every byte outside `[A-Za-z0-9/._-~]` percent-encoded, in lower-
/// or upper-case hex: lower-case is legal and not how the server spells it (so documents
/// must be matched by path, not by URI text).
fn file_uri(path: &std::path::Path, lower: bool) -> String {
    let mut out = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            out.push(char::from(b));
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_response(r: &Value) -> bool {
    r.get("result").is_some() || r["error"]["code"].is_i64()
}

/// Start a server, open `text` as `uri` (version 1), return its first diagnostics.
fn fresh_diagnostics(uri: &str, text: &str) -> Value {
    let mut c = Client::start();
    c.request(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {} }),
    );
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "kumo", "version": 1, "text": text } }),
    );
    let d = c.diagnostics(uri, 1);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    c.shutdown();
    json!({ "diagnostics": d["diagnostics"], "symbols": symbols["result"] })
}

#[test]
fn lsp_storm() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-storm ü-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.kumo");
    let sibling = dir.join("sibling.kumo");
    std::fs::write(&path, STORM_SRC).unwrap();
    std::fs::write(&sibling, SIBLING).unwrap();
    let uri = file_uri(&path, true);
    // The server names files it read from disk itself.
    let sibling_uri = file_uri(&sibling, false);
    let nowhere = "file:///nowhere/never-opened.kumo";

    let mut c = Client::start();
    let init = c.request("initialize", json!({ "processId": null, "rootUri": null, "capabilities": { "general": { "positionEncodings": ["utf-16"] } } }));
    let incremental = init["result"]["capabilities"]["textDocumentSync"] == 2;
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "kumo", "version": 1, "text": STORM_SRC } }),
    );
    // The sibling file on disk is part of the deployment: `extra` is known.
    let first = c.diagnostics(&uri, 1);
    let codes: Vec<&str> = first["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"KUMO-TLS001") && !codes.contains(&"K1005"),
        "{codes:?}"
    );
    let sibling_diagnostics = |c: &Client| {
        c.notifications
            .iter()
            .rfind(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == sibling_uri
            })
            .map(|n| n["params"]["diagnostics"].clone())
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while sibling_diagnostics(&c).is_none() {
        c.receive(deadline, "the sibling's diagnostics");
    }
    assert!(
        sibling_diagnostics(&c).is_some_and(|d| d.to_string().contains("KUMO-DNS004")),
        "the sibling's own warning is shown: {:?}",
        sibling_diagnostics(&c)
    );

    // 1,000 rapid edits: random inserts, deletions and replacements at random places
    // (the document is invalid most of the time), some full-text changes, one stale
    // version; requests of every kind at good and bad positions, cancellations, and files
    // deleted on disk, all interleaved without waiting.
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut text = STORM_SRC.to_string();
    let mut pending = Vec::new();
    let mut cancelled = Vec::new();
    let mut version = 1;
    for step in 0..1000 {
        version += 1;
        let change = if !incremental || step % 97 == 0 {
            if step % 194 == 0 {
                text = STORM_SRC.to_string();
            }
            json!({ "text": text })
        } else {
            let a = boundary(&text, &mut rng);
            let b = match rng.below(3) {
                0 => a,
                _ => {
                    let mut b = (a + rng.below(24)).min(text.len());
                    while !text.is_char_boundary(b) {
                        b += 1;
                    }
                    b
                }
            };
            // Deletions slightly outnumber insertions, so the text stays small.
            let insert = if b > a && rng.below(5) < 2 {
                ""
            } else {
                SNIPPETS[rng.below(SNIPPETS.len())]
            };
            let range =
                json!({ "start": client::position(&text, a), "end": client::position(&text, b) });
            text.replace_range(a..b, insert);
            json!({ "range": range, "text": insert })
        };
        c.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [change] }),
        );
        if step % 50 == 25 {
            // A change with an older version is ignored (the text above stays the truth).
            c.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version - 3 }, "contentChanges": [{ "text": "garbage {" }] }),
            );
        }
        if step % 10 == 3 {
            // A request at a random (good) place.
            let at = boundary(&text, &mut rng);
            let requests = positional(&uri, &client::position(&text, at));
            let (method, params) = requests[rng.below(requests.len())].clone();
            pending.push((c.send_request(method, params), method));
        }
        if step % 100 == 7 {
            // Every request kind at every bad position, on the current (broken) text.
            for pos in bad_positions(&text) {
                for (method, params) in positional(&uri, &pos) {
                    pending.push((c.send_request(method, params), method));
                }
            }
            let bad_range = json!({ "start": { "line": 3, "character": 9 }, "end": { "line": 0, "character": 0 } });
            pending.push((
                c.send_request("textDocument/codeAction", json!({ "textDocument": { "uri": uri }, "range": bad_range, "context": { "diagnostics": [] } })),
                "codeAction (reversed range)",
            ));
        }
        if step % 100 == 42 {
            // Cancelled right away, while in flight (or already answered).
            for (method, params) in positional(&uri, &client::position(&text, text.len() / 2)) {
                let id = c.send_request(method, params);
                c.notify("$/cancelRequest", json!({ "id": id }));
                cancelled.push((id, method));
            }
            c.notify("$/cancelRequest", json!({ "id": 999_999 }));
        }
        if step % 100 == 61 {
            // Documents that were never opened.
            for (method, params) in positional(nowhere, &json!({ "line": 0, "character": 0 })) {
                pending.push((c.send_request(method, params), method));
            }
        }
        if step == 300 {
            // The open document's own file disappears: the open text still counts.
            std::fs::remove_file(&path).unwrap();
        }
        if step == 500 {
            // A sibling disappears: the deployment loses its pool `extra`.
            std::fs::remove_file(&sibling).unwrap();
            c.notify(
                "workspace/didChangeWatchedFiles",
                json!({ "changes": [{ "uri": sibling_uri, "type": 3 }, { "uri": uri, "type": 3 }] }),
            );
        }
        if step == 700 {
            // A file that comes and goes while the directory is scanned.
            let flicker = dir.join("flicker.kumo");
            std::fs::write(&flicker, "pool flicker {}\n").unwrap();
            std::thread::sleep(Duration::from_millis(90));
            std::fs::remove_file(&flicker).unwrap();
        }
    }
    for (id, method) in pending {
        let r = c.response(id);
        assert!(is_response(&r), "{method}: {r}");
        if let Some(code) = r["error"]["code"].as_i64() {
            // Invalid params (a u32 out of range), content modified: nothing else.
            assert!([-32602, -32801].contains(&code), "{method}: {r}");
        }
    }
    for (id, method) in cancelled {
        let r = c.response(id);
        assert!(is_response(&r), "{method}: {r}");
        if let Some(code) = r["error"]["code"].as_i64() {
            assert!([-32800, -32801].contains(&code), "{method}: {r}");
        }
    }

    // The last random version is exactly what a fresh server makes of that text: same
    // diagnostics, same outline (so every incremental edit was applied right).
    let last = c.diagnostics(&uri, version);
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let fresh = fresh_diagnostics(&uri, &text);
    assert_eq!(last["diagnostics"], fresh["diagnostics"], "text: {text:?}");
    assert_eq!(symbols["result"], fresh["symbols"], "text: {text:?}");

    // The known final text, by one range edit over the whole document.
    version += 1;
    let everything = json!({ "start": { "line": 0, "character": 0 }, "end": client::position(&text, text.len()) });
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "range": everything, "text": STORM_FINAL }] }),
    );
    let last = c.diagnostics(&uri, version);
    // Compile codes only: lints run on what checked as well.
    let codes: Vec<&str> = last["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .filter(|c| !c.starts_with("KUMO-"))
        .collect();
    assert_eq!(
        codes,
        ["K1005"],
        "the deleted sibling's pool is unknown now"
    );
    assert_eq!(
        sibling_diagnostics(&c),
        Some(json!([])),
        "the deleted sibling's warning is cleared"
    );
    let k1005 = last["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "K1005")
        .unwrap();
    assert_eq!(k1005["range"]["start"], position_of(STORM_FINAL, "extra\n"));
    assert_eq!(
        last["diagnostics"],
        fresh_diagnostics(&uri, STORM_FINAL)["diagnostics"],
        "the same as a fresh open"
    );
    let published: Vec<i64> = c
        .notifications
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri)
        .filter_map(|n| n["params"]["version"].as_i64())
        .collect();
    let at = published.iter().position(|v| *v == version).unwrap();
    assert!(
        published[at..].iter().all(|v| *v == version),
        "nothing stale after the final version: {published:?}"
    );
    assert!(
        published.len() < 500,
        "1,000 rapid edits are not diagnosed one by one: {}",
        published.len()
    );

    // The server still answers right.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(STORM_FINAL, "enable_tls") }),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("Outbound STARTTLS policy"),
        "{hover}"
    );

    // Closed: its diagnostics are cleared, requests get empty answers, no crash.
    c.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    for (method, params) in positional(&uri, &json!({ "line": 1, "character": 2 })) {
        let r = c.request(method, params);
        assert!(
            r.get("error").is_none() && r["result"].is_null(),
            "{method} after close: {r}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !c.notifications.iter().any(|n| {
        n["method"] == "textDocument/publishDiagnostics"
            && n["params"]["uri"] == uri
            && n["params"]["version"].is_null()
            && n["params"]["diagnostics"] == json!([])
    }) {
        c.receive(deadline, "cleared diagnostics");
    }

    // Reopened (the file is gone from disk): served from the editor's text.
    c.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "kumo", "version": 1, "text": STORM_FINAL } }),
    );
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position_of(STORM_FINAL, "max_age") }),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("max_age"),
        "{hover}"
    );
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Another file's diagnostics are sent again only when they change: an edit of the open
/// document that leaves its sibling's diagnostics as they were publishes the document's
/// alone; once closing the document cleared the sibling's, opening it again shows them.
#[test]
fn lsp_sends_other_files_diagnostics_only_when_they_change() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-shown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (path, sibling) = (dir.join("deploy.kumo"), dir.join("sibling.kumo"));
    std::fs::write(&path, STORM_SRC).unwrap();
    std::fs::write(&sibling, SIBLING).unwrap();
    let uri = file_uri(&path, false);
    let sibling_uri = file_uri(&sibling, false);
    let mut c = Client::start();
    c.initialize(json!({}));
    let sent = |c: &Client| -> Vec<Value> {
        c.notifications
            .iter()
            .filter(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == sibling_uri
            })
            .map(|n| n["params"]["diagnostics"].clone())
            .collect()
    };
    c.open(&uri, 1, STORM_SRC);
    c.diagnostics(&uri, 1);
    // The sibling's diagnostics follow the document's in the same publication.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent(&c).is_empty() {
        c.receive(deadline, "the sibling's diagnostics");
    }
    assert!(
        sent(&c)[0].to_string().contains("KUMO-DNS004"),
        "{:?}",
        sent(&c)
    );
    // Two edits that change nothing for the sibling: each publishes the document's own
    // (with its version), and the sibling's are not sent again (the second edit's
    // publication comes after everything the first one's sent).
    let mut text = STORM_SRC.to_string();
    for version in 2..=3 {
        text.push_str("// more\n");
        c.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
        c.diagnostics(&uri, version);
    }
    assert_eq!(
        sent(&c).len(),
        1,
        "the sibling's diagnostics did not change"
    );
    // Closing clears them; opening again shows them again.
    c.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent(&c).len() < 2 {
        c.receive(deadline, "the sibling's diagnostics cleared");
    }
    assert_eq!(sent(&c)[1], json!([]));
    c.open(&uri, 4, &text);
    c.diagnostics(&uri, 4);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent(&c).len() < 3 {
        c.receive(deadline, "the sibling's diagnostics again");
    }
    assert_eq!(sent(&c)[2], sent(&c)[0]);
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// An edit inside one statement gets its diagnostics at once, before the full analysis
/// (the quick diagnostics: the last full analysis's for the statements the edit left
/// alone, the checks of the one it changed), then the full analysis's; a diagnostic shown
/// before the edit and after it never disappears in between.
#[test]
fn lsp_quick_diagnostics_come_first_and_never_flicker() {
    let dir = std::env::temp_dir().join(format!("kumoc-lsp-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deploy.kumo");
    // `extra` is unknown (a resolve finding, in another statement than the edit's).
    let src = STORM_SRC.replace(
        "shaping default",
        "queue \"q2.example\" {\n  egress_pool = main\n  max_age     = 2d\n}\n\nshaping default",
    );
    std::fs::write(&path, &src).unwrap();
    let uri = file_uri(&path, false);
    let mut c = Client::start();
    c.initialize(json!({}));
    c.open(&uri, 1, &src);
    let first = c.diagnostics(&uri, 1)["diagnostics"].clone();
    let codes = |d: &Value| -> Vec<String> {
        d.as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(codes(&first).contains(&"K1005".to_string()), "{first}");
    // `max_age = 2d` of the new queue becomes `2x` (a type error in that statement),
    // then back: each version's publications.
    let at = src.rfind("2d").unwrap() + 1;
    let (line, character) = {
        let before = &src[..at];
        let line = before.matches('\n').count();
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[start..].encode_utf16().count())
    };
    let mut text = src.clone();
    for (version, unit) in [(2, "x"), (3, "d")] {
        text.replace_range(at..at + 1, unit);
        c.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{
                "range": { "start": { "line": line, "character": character }, "end": { "line": line, "character": character + 1 } },
                "text": unit
            }] }),
        );
        // The quick diagnostics, then the full analysis's (a request that needs the
        // analysis of this version answers after it is published or skipped).
        let quick = c.diagnostics(&uri, version)["diagnostics"].clone();
        c.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } }, "context": { "diagnostics": [] } }),
        );
        let fresh = fresh_diagnostics(&uri, &text)["diagnostics"].clone();
        let deadline = Instant::now() + Duration::from_secs(20);
        let published = |c: &Client| -> Vec<Value> {
            c.notifications
                .iter()
                .filter(|n| {
                    n["method"] == "textDocument/publishDiagnostics"
                        && n["params"]["uri"] == uri
                        && n["params"]["version"] == version
                })
                .map(|n| n["params"]["diagnostics"].clone())
                .collect()
        };
        while published(&c).len() < 2 {
            c.receive(deadline, "the full analysis's diagnostics");
        }
        let all = published(&c);
        assert_eq!(all, [quick.clone(), fresh.clone()], "quick, then full");
        // The resolve finding outside the edit stays throughout.
        assert!(codes(&quick).contains(&"K1005".to_string()), "{quick}");
        // The type error is there at once, and goes at once when fixed.
        let typed = codes(&fresh).len() > codes(&first).len();
        assert_eq!(typed, version == 2, "{fresh}");
        for d in fresh.as_array().unwrap() {
            assert!(
                quick.as_array().unwrap().contains(d),
                "version {version}: {d} is not among the quick diagnostics {quick}"
            );
        }
    }
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
