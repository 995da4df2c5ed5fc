//! A JSON-RPC client that drives the real `kumoc lsp` binary over stdio, shared by the
//! integration tests (`tests/it/lsp.rs`) and the benchmark (`benches/lsp.rs`), which both
//! include this file with `#[path]` (the lsp crate never depends on test code).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Client {
    pub child: Child,
    stdin: ChildStdin,
    /// Messages, each with when it was read whole (before parsing its JSON).
    rx: Receiver<(Instant, Value)>,
    next_id: i64,
    /// Notifications (and requests from the server) seen while waiting for responses.
    pub notifications: Vec<Value>,
    /// When each of `notifications` arrived.
    arrivals: Vec<Instant>,
    /// Responses not yet asked for, by id.
    responses: HashMap<i64, (Instant, Value)>,
    /// How long to wait for one message before failing.
    pub timeout: Duration,
}

impl Client {
    /// `kumoc lsp`, its stderr discarded.
    pub fn start() -> Self {
        Self::start_with(&[], Stdio::null())
    }

    /// `kumoc lsp` with extra environment variables, stderr going to `stderr`.
    pub fn start_with(envs: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::start_bin(env!("CARGO_BIN_EXE_kumoc").as_ref(), envs, stderr)
    }

    /// `BIN lsp` (another build of kumoc, for a benchmark's "before").
    pub fn start_bin(bin: &std::path::Path, envs: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut child = Command::new(bin)
            .arg("lsp")
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("kumoc lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
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
                let arrived = Instant::now();
                let msg: Value = serde_json::from_slice(&body).expect("a JSON message");
                if tx.send((arrived, msg)).is_err() {
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
            arrivals: Vec::new(),
            responses: HashMap::new(),
            timeout: Duration::from_secs(20),
        }
    }

    /// `initialize` with these client capabilities, then `initialized`; the result.
    pub fn initialize(&mut self, capabilities: Value) -> Value {
        let init = self.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": capabilities }),
        );
        self.notify("initialized", json!({}));
        init
    }

    pub fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Bytes as they are (a malformed message).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("write");
        self.stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    /// Send a request without waiting; returns its id.
    pub fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    /// One message from the server (a response is filed by id, anything else is kept
    /// with the notifications).
    pub fn receive(&mut self, deadline: Instant, what: &str) {
        let (arrived, msg) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("{what} in time"));
        match msg["id"].as_i64() {
            Some(id) if msg.get("method").is_none() => {
                assert!(
                    self.responses.insert(id, (arrived, msg)).is_none(),
                    "one response per request ({id})"
                );
            }
            _ => {
                self.notifications.push(msg);
                self.arrivals.push(arrived);
            }
        }
    }

    /// The response to request `id`.
    pub fn response(&mut self, id: i64) -> Value {
        self.response_at(id).1
    }

    /// The response to request `id`, and when it arrived.
    pub fn response_at(&mut self, id: i64) -> (Instant, Value) {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(r) = self.responses.remove(&id) {
                return r;
            }
            self.receive(deadline, "a response");
        }
    }

    /// A request, and how long its response took to arrive (reading it included, parsing
    /// its JSON not).
    pub fn request_timed(&mut self, method: &str, params: Value) -> (Duration, Value) {
        let sent = Instant::now();
        let id = self.send_request(method, params);
        let (arrived, r) = self.response_at(id);
        (arrived.saturating_duration_since(sent), r)
    }

    /// The first notification (already received or to come) that `pred` accepts.
    pub fn notification(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.notification_at(what, pred).1
    }

    /// The first notification that `pred` accepts, and when it arrived.
    pub fn notification_at(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(i) = self.notifications.iter().position(&pred) {
                return (self.arrivals[i], self.notifications[i].clone());
            }
            self.receive(deadline, what);
        }
    }

    /// Wait until a publishDiagnostics for `uri` with `version` arrives; returns its params.
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        self.notification("diagnostics", |n| {
            n["method"] == "textDocument/publishDiagnostics"
                && n["params"]["uri"] == uri
                && n["params"]["version"] == version
        })["params"]
            .clone()
    }

    /// The server's resident memory now and at its peak, in bytes (Linux `/proc`).
    pub fn memory(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// The CPU time the server has used so far, user and system, all its threads (Linux
    /// `/proc`, in the kernel's clock ticks, which are 10 ms wherever `USER_HZ` is 100, as
    /// on every x86 and arm64 Linux).
    pub fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The command name in parentheses may hold spaces: fields count after it.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| -> Option<u64> { fields.get(i)?.parse().ok() };
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
    }

    /// Forget the notifications received so far (a long benchmark run).
    pub fn clear_notifications(&mut self) {
        self.notifications.clear();
        self.arrivals.clear();
    }

    pub fn open(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "kumo", "version": version, "text": text } }),
        );
    }

    /// `shutdown`, `exit`, and the process ends with status 0.
    pub fn shutdown(mut self) {
        let r = self.request("shutdown", json!(null));
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", json!(null));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "{status}");
                break;
            }
            assert!(Instant::now() < deadline, "the server exits after `exit`");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The LSP position (UTF-16 columns) of a byte offset of `text`.
pub fn position(text: &str, at: usize) -> Value {
    let line = text[..at].matches('\n').count();
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": text[start..at].encode_utf16().count() })
}
