//! The server's state: open documents (one owner: a mutex held only to read or replace
//! entries, never while computing), the epoch and the generations, and the jobs computed
//! once and shared: the syntax of a document version (re-parsed from the last parsed
//! version, `syntax.rs`), the analysis of a deployment at an epoch.
//!
//! Each edit, open, close or watched-file change bumps the global *epoch* (an analysis is
//! valid for one); each change of a document bumps its *generation* (diagnostics for an
//! older one are dropped).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use kumoc_compiler::Options;
use kumoc_compiler::session::Session;
use kumoc_lang::incremental::Pieces;
use tokio::sync::Semaphore;
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::SemanticToken;
use tower_lsp_server::ls_types::Uri;

use crate::features::summary::{self, Summary};
use crate::guard;
use crate::jobs::{Job, JobError, Shared, Worker};
use crate::syntax::Syntax;
use crate::text::Encoding;
use crate::trace::trace;
use crate::workspace::{Doc, Snapshot, analyze_for};

/// The base of a document's quick diagnostics: the text and pieces of the version its
/// last published full analysis was of, and what that analysis found in it.
pub struct Baseline {
    pub text: Arc<String>,
    pub pieces: Pieces,
    pub found: kumoc_compiler::session::Baseline,
}

/// An open document and the syntax of this version (started as soon as the version
/// arrives, so it is usually ready when the editor asks for a completion).
pub struct OpenDoc {
    pub doc: Doc,
    pub syntax: Option<Job<Syntax>>,
}

/// The analysis of a document's deployment at one epoch.
pub struct AnalysisSlot {
    pub epoch: u64,
    pub job: Job<Snapshot>,
}

#[derive(Default)]
pub struct State {
    pub docs: BTreeMap<String, OpenDoc>,
    /// Bumped on every change of a document; diagnostics for an older generation are
    /// dropped.
    pub generation: BTreeMap<String, u64>,
    /// Bumped on every change of any document or watched file: analyses are valid for one.
    pub epoch: u64,
    pub analyses: BTreeMap<String, AnalysisSlot>,
    /// The summary of the last finished analysis of each document's deployment (what
    /// completion and inlay hints take instead of waiting for an analysis).
    pub summaries: BTreeMap<String, Arc<Summary>>,
    /// The files whose diagnostics an analysis of a document last published (to clear
    /// those of a file that left the deployment, e.g. deleted on disk).
    pub published: BTreeMap<String, BTreeSet<String>>,
    /// The diagnostics the client was last sent for each file (another file's are sent
    /// again only when they change).
    pub shown: BTreeMap<String, Vec<tower_lsp_server::ls_types::Diagnostic>>,
    /// For each open document, what its last published full analysis gives the quick
    /// diagnostics of its next versions (`diagnostics.rs`).
    pub baselines: BTreeMap<String, Arc<Baseline>>,
    pub encoding: Option<Encoding>,
    /// The client can register file watchers dynamically.
    pub watch_files: bool,
    /// The newest finished syntax of each open document: the base the next version is
    /// re-parsed from.
    pub latest_syntax: BTreeMap<String, Shared<Syntax>>,
    /// The semantic tokens last sent for each document, with their result id (for
    /// `semanticTokens/full/delta`).
    pub tokens: BTreeMap<String, (String, Arc<Vec<SemanticToken>>)>,
    /// Numbers the results ids.
    pub results: u64,
    /// How long the last finished analysis took (the diagnostics' quiet period follows it).
    pub analysis_time: std::time::Duration,
    /// When a document last changed (a change after a pause is analysed at once).
    pub last_change: Option<std::time::Instant>,
}

impl State {
    /// A document changed (or one it depends on): a new epoch.
    pub fn bump(&mut self) {
        self.epoch += 1;
    }
}

pub struct Inner {
    pub state: Mutex<State>,
    /// One analysis at a time.
    pub gate: Arc<Semaphore>,
    /// The thread the analyses run on (`jobs::Worker`: the blocking pool when `None`).
    pub analyst: Option<Arc<Worker>>,
    /// The syntax trees of the last analysis, which the next one reuses where the files
    /// did not change (held by the analysis that runs, one at a time: never contended).
    pub session: Mutex<Session>,
    /// One eager re-parse at a time (a burst of edits parses only the versions that are
    /// still current when their turn comes).
    pub parse_gate: Arc<Semaphore>,
    /// Publications are serialized, so one for a newer version is never overtaken.
    pub publishing: tokio::sync::Mutex<()>,
    /// Completions being answered: an analysis waits for them before it starts
    /// ([`Backend::hold_off`]).
    pub typing: std::sync::atomic::AtomicUsize,
    /// Told when the last completion being answered is done.
    pub typed: tokio::sync::Notify,
}

/// A completion being answered (counted in `Inner::typing` until dropped).
pub struct Typing(Arc<Inner>);

impl Drop for Typing {
    fn drop(&mut self) {
        if self
            .0
            .typing
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1
        {
            self.0.typed.notify_waiters();
        }
    }
}

/// How long an analysis waits at most for the completions being answered.
const HOLD_OFF: std::time::Duration = std::time::Duration::from_millis(20);

/// The language server: the client to talk to, and the shared state.
#[derive(Clone)]
pub struct Backend {
    pub client: Client,
    pub inner: Arc<Inner>,
}

pub fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, State> {
    inner
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The answer to a request whose document changed while it was computed (LSP
/// `ContentModified`: the client asks again).
pub fn modified() -> Error {
    Error::content_modified()
}

/// Run `f` on the blocking pool (CPU work proportional to the document's size); a panic
/// there is an internal error.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(payload) => guard::panicked("blocking work", payload.as_ref()),
            Err(_) => Error::internal_error(),
        })
}

/// Whether the request that started some blocking work is still wanted: tower-lsp drops a
/// request's future when the client cancels it (`$/cancelRequest`), and the work, which
/// cannot be dropped, checks this between pieces and stops.
#[derive(Clone, Default)]
pub struct Cancel(Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    pub fn cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Cancels when dropped (with the request's future).
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Run `f` on the blocking pool for a request; `f` returns `None` when it saw the request
/// cancelled.
pub async fn cancellable<T: Send + 'static>(
    f: impl FnOnce(&Cancel) -> Option<T> + Send + 'static,
) -> Result<T> {
    let cancel = Cancel::default();
    let _on_drop = CancelOnDrop(cancel.clone());
    match blocking(move || f(&cancel)).await? {
        Some(v) => Ok(v),
        None => Err(Error::request_cancelled()),
    }
}

impl Backend {
    pub fn new(client: Client) -> Self {
        Backend {
            client,
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                gate: Arc::new(Semaphore::new(1)),
                analyst: Worker::start("kumoc-lsp-analysis"),
                session: Mutex::new(Session::new()),
                parse_gate: Arc::new(Semaphore::new(1)),
                publishing: tokio::sync::Mutex::new(()),
                typing: std::sync::atomic::AtomicUsize::new(0),
                typed: tokio::sync::Notify::new(),
            }),
        }
    }

    /// A completion is being answered until the value is dropped.
    pub fn typing(&self) -> Typing {
        self.inner
            .typing
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Typing(Arc::clone(&self.inner))
    }

    /// Wait (at most [`HOLD_OFF`]) until no completion is being answered. An edit's
    /// analysis starts a couple of milliseconds after it, which is when a completion sent
    /// right behind the edit is answered: on a 2-core machine, the analysis's thread and
    /// the completion's would share the cores (with whatever else runs there), and the
    /// completion, which the user waits for as they type, would pay for it.
    pub async fn hold_off(&self) {
        let inner = &self.inner;
        let _ = tokio::time::timeout(HOLD_OFF, async {
            loop {
                let notified = inner.typed.notified();
                if inner.typing.load(std::sync::atomic::Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    pub fn encoding(&self) -> Encoding {
        lock(&self.inner).encoding.unwrap_or(Encoding::Utf16)
    }

    pub fn doc(&self, uri: &Uri) -> Option<Doc> {
        lock(&self.inner)
            .docs
            .get(uri.as_str())
            .map(|d| d.doc.clone())
    }

    /// The syntax of the current version of a document (re-parsed once per version from
    /// the last parsed one; started now if the eager re-parse of this version was skipped).
    pub async fn syntax(&self, uri: &Uri) -> Result<Option<Shared<Syntax>>> {
        let job = {
            let mut st = lock(&self.inner);
            let Some(open) = st.docs.get_mut(uri.as_str()) else {
                return Ok(None);
            };
            match &open.syntax {
                Some(job) if !job.skipped() => job.clone(),
                _ => {
                    let job = self.syntax_job(uri.as_str(), &open.doc, false);
                    open.syntax = Some(job.clone());
                    job
                }
            }
        };
        match job.wait().await {
            Ok(syntax) => Ok(Some(syntax)),
            Err(JobError::Skipped) => Ok(None),
            Err(JobError::Failed(message)) => Err(failed("parsing", &message)),
        }
    }

    /// The job that makes the syntax of `doc` (the document `uri`): from the newest
    /// finished syntax of the document when it runs, re-parsing only what changed since;
    /// `eager` ones wait for the parse gate and are skipped if the document moved on.
    fn syntax_job(&self, uri: &str, doc: &Doc, eager: bool) -> Job<Syntax> {
        let wanted = {
            let (inner, key, text) = (Arc::clone(&self.inner), uri.to_string(), doc.text.clone());
            move || {
                lock(&inner)
                    .docs
                    .get(&key)
                    .is_some_and(|d| d.doc.text.same(&text))
            }
        };
        let work = {
            let (inner, key, doc) = (Arc::clone(&self.inner), uri.to_string(), doc.clone());
            move || {
                trace!("syntax v{}: start", doc.version);
                let base = lock(&inner).latest_syntax.get(&key).cloned();
                let syntax = match base {
                    Some(base) => Syntax::reparse(&base, &doc),
                    None => Syntax::parse(&doc),
                };
                trace!("syntax v{}: parsed", doc.version);
                syntax
            }
        };
        let done = {
            let (inner, key) = (Arc::clone(&self.inner), uri.to_string());
            move |syntax: &Shared<Syntax>| {
                trace!("syntax v{}: done", syntax.version);
                latest(&mut lock(&inner), key, syntax);
            }
        };
        let gate = eager.then(|| Arc::clone(&self.inner.parse_gate));
        Job::spawn(gate, wanted, work, done)
    }

    /// The analysis of `uri`'s deployment for the current state of the documents: the
    /// running or finished one, or a new one. `None` when the document is not open.
    /// Also returns the epoch and the document's version in that state.
    pub fn analysis_job(&self, uri: &str) -> Option<(Job<Snapshot>, u64, i32)> {
        let mut st = lock(&self.inner);
        let version = st.docs.get(uri)?.doc.version;
        let epoch = st.epoch;
        if let Some(slot) = st.analyses.get(uri).filter(|a| a.epoch == epoch) {
            return Some((slot.job.clone(), epoch, version));
        }
        let docs: BTreeMap<String, Doc> = st
            .docs
            .iter()
            .map(|(u, d)| (u.clone(), d.doc.clone()))
            .collect();
        let wanted = {
            let inner = Arc::clone(&self.inner);
            move || lock(&inner).epoch == epoch
        };
        // The analysis of the previous epoch goes (its summary stays), dropped by the next
        // analysis before it starts (unless a request still holds it): the session then
        // updates the syntax trees they shared in place instead of copying them.
        let previous = st.analyses.remove(uri);
        let work = {
            let (inner, key) = (Arc::clone(&self.inner), uri.to_string());
            move || {
                trace!("analysis e{epoch}: start");
                drop(previous);
                trace!("analysis e{epoch}: previous dropped");
                guard::test_panic("analysis");
                // The pieces the eager re-parses already made of these very texts.
                let pieces: BTreeMap<String, Pieces> = {
                    let st = lock(&inner);
                    docs.iter()
                        .filter_map(|(u, d)| {
                            let syntax = st.latest_syntax.get(u)?;
                            syntax
                                .text
                                .same(&d.text)
                                .then(|| (u.clone(), syntax.pieces.clone()))
                        })
                        .collect()
                };
                let mut session = inner
                    .session
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                trace!("analysis e{epoch}: analyze");
                let mut snap = analyze_for(&key, &docs, &pieces, &mut session, &Options::default());
                drop(session);
                trace!("analysis e{epoch}: analyzed");
                snap.summary = Arc::new(summary::summarize(&snap.analysis, snap.file_of(&key)));
                trace!("analysis e{epoch}: summarized");
                snap
            }
        };
        let done = {
            let (inner, key) = (Arc::clone(&self.inner), uri.to_string());
            move |snap: &Shared<Snapshot>| {
                trace!("analysis e{epoch}: done");
                let mut st = lock(&inner);
                st.analysis_time = snap.analysis.timings.0.iter().map(|(_, t)| *t).sum();
                if st.docs.contains_key(&key) {
                    st.summaries.insert(key, Arc::clone(&snap.summary));
                }
            }
        };
        let job = Job::spawn_on(
            self.inner.analyst.clone(),
            Some(Arc::clone(&self.inner.gate)),
            wanted,
            work,
            done,
        );
        st.analyses.insert(
            uri.to_string(),
            AnalysisSlot {
                epoch,
                job: job.clone(),
            },
        );
        Some((job, epoch, version))
    }

    /// The analysis of the current state, for a request (`None`: the document is not open).
    pub async fn snapshot(&self, uri: &Uri) -> Result<Option<Shared<Snapshot>>> {
        let Some((job, epoch, _)) = self.analysis_job(uri.as_str()) else {
            return Ok(None);
        };
        match job.wait().await {
            Ok(snap) => Ok(Some(snap)),
            // Skipped because a newer edit arrived before it could start.
            Err(JobError::Skipped) if lock(&self.inner).epoch != epoch => Err(modified()),
            Err(JobError::Skipped) => Err(Error::internal_error()),
            Err(JobError::Failed(message)) => Err(failed("the analysis", &message)),
        }
    }

    /// The summary of the most recent finished analysis of `uri`'s deployment, whatever
    /// its epoch.
    pub fn summary(&self, uri: &Uri) -> Option<Arc<Summary>> {
        lock(&self.inner).summaries.get(uri.as_str()).cloned()
    }

    /// Store a new version of a document and start parsing it.
    pub fn store(&self, st: &mut State, uri: &str, doc: Doc) {
        self.store_parsed(st, uri, doc, None);
    }

    /// Store a new version of a document with its syntax if made already, else start
    /// parsing it.
    pub fn store_parsed(&self, st: &mut State, uri: &str, doc: Doc, syntax: Option<Syntax>) {
        let syntax = match syntax {
            Some(syntax) => {
                let (job, syntax) = Job::finished(syntax);
                latest(st, uri.to_string(), &syntax);
                job
            }
            None => self.syntax_job(uri, &doc, true),
        };
        st.docs.insert(
            uri.to_string(),
            OpenDoc {
                doc,
                syntax: Some(syntax),
            },
        );
        st.bump();
    }

    /// Whether `generation` is still the latest change of the open document `uri`.
    pub fn current(&self, uri: &str, generation: u64) -> bool {
        let st = lock(&self.inner);
        st.generation.get(uri).copied() == Some(generation) && st.docs.contains_key(uri)
    }
}

/// `syntax` is the newest finished syntax of the open document `key` unless a newer one
/// is.
fn latest(st: &mut State, key: String, syntax: &Shared<Syntax>) {
    let newer = st
        .latest_syntax
        .get(&key)
        .is_none_or(|l| l.version <= syntax.version);
    if st.docs.contains_key(&key) && newer {
        st.latest_syntax.insert(key, Arc::clone(syntax));
    }
}

/// The internal error for a job that panicked.
fn failed(what: &str, message: &str) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!("kumoc panicked in {what}: {message}").into(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// When the request's future is dropped (tower-lsp drops it on `$/cancelRequest`), its
    /// blocking work sees it and stops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_requests_stop_their_blocking_work() {
        let (started, stopped) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let work = {
            let (started, stopped) = (Arc::clone(&started), Arc::clone(&stopped));
            cancellable(move |cancel| {
                started.store(true, Ordering::SeqCst);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while std::time::Instant::now() < deadline {
                    if cancel.cancelled() {
                        stopped.store(true, Ordering::SeqCst);
                        return None;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Some(())
            })
        };
        let request = tokio::spawn(work);
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        request.abort();
        let t = std::time::Instant::now();
        while !stopped.load(Ordering::SeqCst) {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(5),
                "the work went on"
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}
