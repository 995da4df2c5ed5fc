//! The real `kumoc lsp` binary driven over stdio with JSON-RPC: initialize, open, change
//! (including a burst of edits), the features, bad requests, shutdown and exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Notifications seen while waiting for responses.
    notifications: Vec<Value>,
}

impl Client {
    fn start() -> Self {
        let mut child = Command::new(insta_cmd::get_cargo_bin("kumoc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
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
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.unwrap_or(0)];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let msg = self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("a response in time");
            if msg["id"] == id && msg.get("method").is_none() {
                return msg;
            }
            self.notifications.push(msg);
        }
    }

    /// Wait until a publishDiagnostics for `uri` with `version` arrives; returns it.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(n) = self.notifications.iter().find(|n| {
                n["method"] == "textDocument/publishDiagnostics"
                    && n["params"]["uri"] == uri
                    && n["params"]["version"] == version
            }) {
                return n["params"].clone();
            }
            let msg = self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("diagnostics in time");
            self.notifications.push(msg);
        }
    }
}

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

    let r = c.request("shutdown", json!(null));
    assert!(r.get("error").is_none());
    c.notify("exit", json!(null));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = c.child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "the server exits after `exit`");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
