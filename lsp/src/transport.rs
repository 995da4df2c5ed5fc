//! The stdio transport, in place of tower-lsp-server's `Server`: a reader thread frames
//! (`Content-Length`) and parses the client's messages, one task dispatches them in
//! order, and a writer thread serializes and writes everything that goes out.
//!
//! Every message goes to tower-lsp-server's `LspService` exactly as its `Server` hands it
//! over (its `initialize`, `shutdown`, `exit` and `$/cancelRequest` semantics are
//! untouched), except the requests whose answers can be big (`server::direct`: the
//! outline, the full semantic tokens). Their handlers write the result's JSON straight
//! from typed values, on the blocking pool (`json.rs`), and the writer frames that text as
//! it is. tower-lsp-server would turn such an answer into a `serde_json::Value` tree, then
//! into text, then free the tree, all on the one task that also reads and dispatches
//! messages: for the 10 MB outline of 10,000 domains, half a second during which nothing
//! else moved, and twice the memory of the answer.
//!
//! Order: handlers start in the order their messages arrive (each handler's future is
//! first polled before the next one's, on the dispatch task, as in tower-lsp-server's
//! `Server`), so a request sees every change sent before it. Requests answered here are
//! only taken once the service is initialized and until `shutdown`; before and after,
//! the service gives them its answer (not initialized, invalid request).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;

use futures::future::{AbortHandle, BoxFuture, abortable, poll_fn};
use futures::sink::SinkExt;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error, Id, Request, Response};
use tower_lsp_server::{ClientSocket, LspService};
use tower_service::Service;

use crate::json::Json;
use crate::server;
use crate::state::Backend;

/// Messages read ahead of the dispatch.
const READ_AHEAD: usize = 16;

/// A message from the client, as tower-lsp-server reads it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Message {
    /// The client's answer to a request of the server's.
    Response(Response),
    /// A request or a notification.
    Request(Request),
}

/// What the reader hands the dispatch.
enum Incoming {
    Message(Message),
    /// A message that could not be read, answered with this error (id `null`).
    Invalid(Error),
}

/// What the writer writes.
enum Outgoing {
    /// An answer of the service's.
    Response(Response),
    /// A request or notification to the client (from `Client`).
    Request(Request),
    /// An answer written by its handler.
    Result(Id, Json),
    /// A message's body, serialized already.
    Body(Vec<u8>),
}

/// Where messages are written: by the writer thread, or by the dispatch itself for a
/// completion's answer when nothing is waiting to be written (see [`Dispatch::answer`]).
struct Stdout {
    out: std::sync::Mutex<std::io::BufWriter<std::io::Stdout>>,
    /// Messages sent to the writer thread and not written yet.
    pending: std::sync::atomic::AtomicUsize,
}

/// The requests whose answers the dispatch writes itself when it can.
const ANSWERED_AT_ONCE: &[&str] = &["textDocument/completion"];

/// The largest answer the dispatch writes itself.
const AT_ONCE_MAX: usize = 256 * 1024;

/// A handler's future, finished.
enum Finished {
    /// The service's answer (none for a notification).
    Service(Option<Response>),
    /// The answer to a request answered here.
    Direct(Id, tower_lsp_server::jsonrpc::Result<Json>),
}

/// Where the server is in its life, as far as the requests answered here are concerned
/// (the service keeps its own state; this follows it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Initialized,
    ShutDown,
}

/// Serve LSP on stdin/stdout with `service` until the client exits (or closes stdin), with
/// at most `concurrency` messages handled at once.
pub async fn serve(service: LspService<Backend>, socket: ClientSocket, concurrency: usize) {
    let (incoming_tx, mut incoming) = tokio::sync::mpsc::channel(READ_AHEAD);
    let (out, out_rx) = mpsc::channel();
    let stdout = std::sync::Arc::new(Stdout {
        out: std::sync::Mutex::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )),
        pending: std::sync::atomic::AtomicUsize::new(0),
    });
    let reader = std::thread::Builder::new()
        .name("kumoc-lsp-stdin".into())
        .spawn(move || read_messages(&incoming_tx));
    let writer = {
        let stdout = std::sync::Arc::clone(&stdout);
        std::thread::Builder::new()
            .name("kumoc-lsp-stdout".into())
            .spawn(move || write_messages(&out_rx, &stdout))
    };
    let (Ok(_), Ok(writer)) = (reader, writer) else {
        let _ = writeln!(std::io::stderr(), "kumoc lsp: cannot start its IO threads");
        return;
    };
    let mut d = Dispatch {
        backend: service.inner().clone(),
        service,
        client: socket,
        out,
        stdout,
        at_once: std::collections::HashSet::new(),
        tasks: FuturesUnordered::new(),
        direct: HashMap::new(),
        initialize: None,
        phase: Phase::Uninitialized,
    };
    let mut reading = true;
    loop {
        tokio::select! {
            Some(done) = d.tasks.next(), if !d.tasks.is_empty() => d.finished(done),
            message = incoming.recv(), if reading && d.tasks.len() < concurrency => {
                reading = match message {
                    Some(message) => d.dispatch(message).await,
                    None => false,
                };
            }
            Some(request) = d.client.next() => d.send(Outgoing::Request(request)),
            else => break,
        }
        if !reading && d.tasks.is_empty() {
            break;
        }
    }
    // Everything sent is written before the server exits.
    drop(d);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
}

struct Dispatch {
    service: LspService<Backend>,
    backend: Backend,
    /// The server's requests and notifications to the client come from there, and the
    /// client's answers to its requests go there.
    client: ClientSocket,
    out: mpsc::Sender<Outgoing>,
    stdout: std::sync::Arc<Stdout>,
    /// The requests in progress whose answers are written at once ([`ANSWERED_AT_ONCE`]).
    at_once: std::collections::HashSet<Id>,
    /// Every message's handling in progress, polled on this task.
    tasks: FuturesUnordered<BoxFuture<'static, Finished>>,
    /// The requests answered here still running, to cancel.
    direct: HashMap<Id, AbortHandle>,
    /// The id of the `initialize` request being answered.
    initialize: Option<Id>,
    phase: Phase,
}

impl Dispatch {
    fn send(&self, message: Outgoing) {
        self.stdout
            .pending
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        // The writer only stops when stdout is gone: nothing can be sent any more.
        let _ = self.out.send(message);
    }

    /// Send an answer, written here and now when it is one of [`ANSWERED_AT_ONCE`], small,
    /// and nothing sent before it is still waiting to be written (so the order of the
    /// messages is kept): on a busy machine, waking the writer thread can take
    /// milliseconds the user waits for as they type.
    fn answer(&mut self, r: Response) {
        if !self.at_once.remove(r.id())
            || self
                .stdout
                .pending
                .load(std::sync::atomic::Ordering::Acquire)
                != 0
        {
            return self.send(Outgoing::Response(r));
        }
        let Ok(body) = serde_json::to_vec(&r) else {
            return self.send(Outgoing::Response(r));
        };
        if body.len() <= AT_ONCE_MAX
            && let Ok(mut out) = self.stdout.out.try_lock()
        {
            let _ = write_body(&mut *out, &body).and_then(|()| out.flush());
            crate::trace::trace!("write: flushed at once");
            return;
        }
        self.send(Outgoing::Body(body));
    }

    /// Start handling one message; `false` when no more are to be read (`exit`).
    async fn dispatch(&mut self, incoming: Incoming) -> bool {
        let request = match incoming {
            Incoming::Invalid(e) => {
                self.send(Outgoing::Response(Response::from_error(Id::Null, e)));
                return true;
            }
            Incoming::Message(Message::Response(r)) => return self.client.send(r).await.is_ok(),
            Incoming::Message(Message::Request(r)) => r,
        };
        crate::trace::trace!("dispatch: {}", request.method());
        match request.method() {
            "initialize" => self.initialize = request.id().cloned(),
            method if ANSWERED_AT_ONCE.contains(&method) => {
                if let Some(id) = request.id() {
                    self.at_once.insert(id.clone());
                }
            }
            "shutdown" if self.phase == Phase::Initialized => self.phase = Phase::ShutDown,
            "$/cancelRequest" => {
                let id = request.params().and_then(|p| p.get("id")).cloned();
                if let Some(handle) = id
                    .and_then(|id| serde_json::from_value::<Id>(id).ok())
                    .and_then(|id| self.direct.remove(&id))
                {
                    handle.abort();
                }
            }
            _ => {}
        }
        if self.phase == Phase::Initialized
            && let Some(id) = request.id()
            && let Some(handler) = server::direct(request.method())
        {
            let id = id.clone();
            if self.direct.contains_key(&id) {
                // A second request with the id of one in progress (as the service does).
                self.send(Outgoing::Response(Response::from_error(
                    id,
                    Error::invalid_request(),
                )));
                return true;
            }
            let (_, _, params) = request.into_parts();
            let (answer, handle) = abortable(handler(self.backend.clone(), params));
            self.direct.insert(id.clone(), handle);
            self.tasks.push(Box::pin(async move {
                let answer = answer
                    .await
                    .unwrap_or_else(|_aborted| Err(Error::request_cancelled()));
                Finished::Direct(id, answer)
            }));
            return true;
        }
        let exit = request.method() == "exit";
        if poll_fn(|cx| self.service.poll_ready(cx)).await.is_err() {
            return false;
        }
        let answer = self.service.call(request);
        self.tasks.push(Box::pin(async move {
            Finished::Service(answer.await.unwrap_or(None))
        }));
        if exit {
            self.direct.retain(|_, handle| {
                handle.abort();
                false
            });
        }
        !exit
    }

    fn finished(&mut self, done: Finished) {
        match done {
            Finished::Service(None) => {}
            Finished::Service(Some(r)) => {
                if self.initialize.as_ref() == Some(r.id()) {
                    self.initialize = None;
                    if r.is_ok() && self.phase == Phase::Uninitialized {
                        self.phase = Phase::Initialized;
                    }
                }
                self.answer(r);
            }
            Finished::Direct(id, answer) => {
                self.direct.remove(&id);
                self.send(match answer {
                    Ok(json) => Outgoing::Result(id, json),
                    Err(e) => Outgoing::Response(Response::from_error(id, e)),
                });
            }
        }
    }
}

/// The reader thread: frames and parses messages until the input ends or the dispatch
/// stops.
fn read_messages(to: &tokio::sync::mpsc::Sender<Incoming>) {
    let mut input = BufReader::new(std::io::stdin().lock());
    loop {
        let frame = read_frame(&mut input);
        if let Ok(Frame::Body(body)) = &frame {
            crate::trace::trace!("read: {} bytes", body.len());
        }
        let incoming = match frame {
            Ok(Frame::Body(body)) => match serde_json::from_slice(&body) {
                Ok(message) => Incoming::Message(message),
                // JSON, but not a message.
                Err(e) if e.is_data() => Incoming::Invalid(Error::invalid_request()),
                Err(_) => Incoming::Invalid(Error::parse_error()),
            },
            Ok(Frame::NoLength) => Incoming::Invalid(Error::parse_error()),
            Ok(Frame::End) | Err(_) => return,
        };
        if to.blocking_send(incoming).is_err() {
            return;
        }
    }
}

enum Frame {
    Body(Vec<u8>),
    /// A header block without a valid `Content-Length`: skipped.
    NoLength,
    /// The input ended (possibly inside a message).
    End,
}

/// The next message's body: headers (`Content-Length`, and others, ignored) up to an
/// empty line, then that many bytes.
fn read_frame(input: &mut impl BufRead) -> std::io::Result<Frame> {
    let mut length = None;
    let mut headers = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Frame::End);
        }
        let header = line.trim_ascii();
        if header.is_empty() {
            if headers {
                break;
            }
            // A blank line between messages.
            continue;
        }
        headers = true;
        if let Some((name, value)) = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.split_once(':'))
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    let Some(length) = length else {
        return Ok(Frame::NoLength);
    };
    // Read as it arrives: a huge announced length allocates only what is really sent.
    let mut body = Vec::new();
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    Ok(Frame::Body(body))
}

/// The writer thread: writes each message with its header, flushing when no other is
/// waiting, until the dispatch ends or stdout is gone.
fn write_messages(from: &mpsc::Receiver<Outgoing>, to: &Stdout) {
    while let Ok(first) = from.recv() {
        let mut stdout = to
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = Some(first);
        while let Some(message) = next {
            if write_message(&mut *stdout, &message).is_err() {
                return;
            }
            // Big trees (a service's answer) are freed here, not on the dispatch task.
            drop(message);
            next = from.try_recv().ok();
            if next.is_none() && stdout.flush().is_err() {
                return;
            }
            // Written (and flushed when it was the last): the dispatch may write.
            to.pending.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        }
        crate::trace::trace!("write: flushed");
    }
}

fn write_message(out: &mut impl Write, message: &Outgoing) -> std::io::Result<()> {
    let body = match message {
        Outgoing::Response(r) => serde_json::to_vec(r)?,
        Outgoing::Request(r) => serde_json::to_vec(r)?,
        Outgoing::Result(id, json) => {
            // `{"jsonrpc":"2.0","result":…,"id":…}`, as tower-lsp-server writes an answer,
            // without copying the result.
            let head = br#"{"jsonrpc":"2.0","result":"#;
            let tail = [&b",\"id\":"[..], &serde_json::to_vec(id)?, b"}"].concat();
            let length = head.len() + json.len() + tail.len();
            write!(out, "Content-Length: {length}\r\n\r\n")?;
            out.write_all(head)?;
            for chunk in json.chunks() {
                out.write_all(chunk)?;
            }
            return out.write_all(&tail);
        }
        Outgoing::Body(body) => return write_body(out, body),
    };
    write_body(out, &body)
}

fn write_body(out: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut input = input;
        let mut out = Vec::new();
        loop {
            match read_frame(&mut input).unwrap() {
                Frame::Body(b) => out.push(String::from_utf8(b).unwrap()),
                Frame::NoLength => out.push("<no length>".into()),
                Frame::End => return out,
            }
        }
    }

    #[test]
    fn frames_are_read_by_content_length() {
        let input = b"Content-Length: 2\r\n\r\n{}Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length:3\r\n\r\n[1]\r\nX-Other: 1\r\n\r\nContent-Length: 9\r\n\r\n{\"a\"";
        assert_eq!(frames(input), ["{}", "[1]", "<no length>"]);
    }

    #[test]
    fn results_are_framed_as_written() {
        let mut out = Vec::new();
        let json = Json::of(&[1, 2]).unwrap();
        write_message(&mut out, &Outgoing::Result(Id::Number(7), json)).unwrap();
        let body = r#"{"jsonrpc":"2.0","result":[1,2],"id":7}"#;
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("Content-Length: {}\r\n\r\n{body}", body.len())
        );
        let mut out = Vec::new();
        let r = Response::from_ok(Id::String("a".into()), serde_json::json!([1, 2]));
        write_message(&mut out, &Outgoing::Response(r)).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with(r#"{"jsonrpc":"2.0","result":[1,2],"id":"a"}"#)
        );
    }
}
