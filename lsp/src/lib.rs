//! The kumoc language server: LSP over stdio (tower-lsp-server, tokio), using the very
//! same `kumoc_compiler::analyze` as the CLI, so the editor and CI never disagree.
//!
//! Document state has one owner (a mutex held only to read or replace entries, never while
//! computing). Everything expensive is computed once per document version, off the async
//! threads, and shared (`jobs.rs`):
//!
//! - the syntax tree of a document version, on first need (completion, hover, outline...);
//! - the analysis of a document's deployment for the current state of all documents (the
//!   *epoch*, bumped by every edit, open, close or watched-file change), shared by the
//!   diagnostics and by the requests that need the model (definitions, references, code
//!   actions, inlay hints). Analyses run one at a time; one that is superseded before it
//!   starts is skipped, and results for an older epoch are never served as current;
//! - the stdlib's syntax trees, once per process.
//!
//! Each change bumps the document's generation; diagnostics wait for a short quiet period,
//! and are published only if no newer change arrived meanwhile, tagged with their version.

mod features;
mod jobs;
mod text;
mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use kumoc_compiler::Options;
use kumoc_compiler::diagnostic::{Applicability, Diagnostic as KDiagnostic, Severity};
use kumoc_lang::Parse;
use tokio::sync::Semaphore;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::features::{ItemKind, Target};
use crate::jobs::{Job, Shared};
use crate::text::{Encoding, Lines};
use crate::workspace::{Doc, Snapshot, analyze_for};

/// Where rule and code documentation is published.
pub const DOCS_BASE: &str = "https://github.com/kumoc/kumoc/blob/main/docs/rules/";

/// How long the client must be quiet before a document is re-analysed.
const DEBOUNCE: Duration = Duration::from_millis(80);

/// Requests (and notifications) handled at once. Requests waiting for an analysis hold a
/// slot, so this is well above the default 4: a completion must never queue behind them.
const CONCURRENCY: usize = 64;

/// An open document and the syntax tree of this version (started as soon as the version
/// arrives, so it is usually ready when the editor asks for a completion).
struct OpenDoc {
    doc: Doc,
    parse: Option<Job<Parse>>,
}

/// The analysis of a document's deployment at one epoch.
struct AnalysisSlot {
    epoch: u64,
    job: Job<Snapshot>,
    /// The last finished analysis before this one (for completion of names defined in the
    /// other files of the deployment while the current one runs).
    previous: Option<Job<Snapshot>>,
}

#[derive(Default)]
struct State {
    docs: BTreeMap<String, OpenDoc>,
    /// Bumped on every change of a document; diagnostics for an older generation are
    /// dropped.
    generation: BTreeMap<String, u64>,
    /// Bumped on every change of any document or watched file: analyses are valid for one.
    epoch: u64,
    analyses: BTreeMap<String, AnalysisSlot>,
    /// The files whose diagnostics an analysis of a document last published (to clear
    /// those of a file that left the deployment, e.g. deleted on disk).
    published: BTreeMap<String, BTreeSet<String>>,
    encoding: Option<Encoding>,
    /// The client can register file watchers dynamically.
    watch_files: bool,
}

struct Inner {
    state: Mutex<State>,
    /// One analysis at a time.
    gate: Arc<Semaphore>,
    /// One eager parse at a time (a burst of edits parses only the versions that are still
    /// current when their turn comes).
    parse_gate: Arc<Semaphore>,
    /// Publications are serialized, so one for a newer version is never overtaken.
    publishing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Backend {
    client: Client,
    inner: Arc<Inner>,
}

fn lock(inner: &Inner) -> std::sync::MutexGuard<'_, State> {
    inner
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The stdlib's syntax trees, parsed once per process.
static STDLIB: LazyLock<Vec<Parse>> = LazyLock::new(|| {
    kumoc_compiler::stdlib::FILES
        .iter()
        .map(|(_, text)| kumoc_lang::parse(text))
        .collect()
});

static EMPTY: LazyLock<Parse> = LazyLock::new(|| kumoc_lang::parse(""));

/// The syntax tree of a document version: its own, or the one inside the analysis of the
/// current state (which has the same text).
enum Parsed {
    Own(Shared<Parse>),
    InAnalysis(Shared<Snapshot>, usize),
}

impl Parsed {
    fn get(&self) -> &Parse {
        match self {
            Parsed::Own(p) => p,
            Parsed::InAnalysis(s, i) => s.analysis.parses.get(*i).unwrap_or(&EMPTY),
        }
    }
    fn items(&self) -> &[kumoc_lang::ast::Stmt] {
        &self.get().file.items
    }
}

/// The answer to a request whose document changed while it was computed (LSP
/// `ContentModified`: the client asks again).
fn modified() -> Error {
    Error::content_modified()
}

/// Run `f` on the blocking pool (CPU work proportional to the document's size).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Error::internal_error())
}

impl Backend {
    fn encoding(&self) -> Encoding {
        lock(&self.inner).encoding.unwrap_or(Encoding::Utf16)
    }

    fn doc(&self, uri: &Uri) -> Option<Doc> {
        lock(&self.inner)
            .docs
            .get(uri.as_str())
            .map(|d| d.doc.clone())
    }

    /// The current version of a document and its syntax tree (parsed at most once per
    /// version, and not at all when the analysis of the current state already has it).
    async fn parsed(&self, uri: &Uri) -> Option<(Doc, Parsed)> {
        let (doc, job) = {
            let mut st = lock(&self.inner);
            let epoch = st.epoch;
            let analysed = st
                .analyses
                .get(uri.as_str())
                .filter(|a| a.epoch == epoch)
                .and_then(|a| a.job.ready());
            let open = st.docs.get_mut(uri.as_str())?;
            let doc = open.doc.clone();
            if let Some(snap) = analysed {
                if let Some(id) = snap.file_of(uri.as_str()) {
                    return Some((doc, Parsed::InAnalysis(snap, id.0 as usize)));
                }
            }
            // The eager parse of this version was skipped: a request needs it now.
            if open.parse.as_ref().is_none_or(Job::dropped) {
                let text = Arc::clone(&doc.text);
                open.parse = Some(Job::start(move || kumoc_lang::parse(&text)));
            }
            let job = open.parse.clone()?;
            (doc, job)
        };
        Some((doc, Parsed::Own(job.wait().await?)))
    }

    /// The analysis of `uri`'s deployment for the current state of the documents: the
    /// running or finished one, or a new one. `None` when the document is not open.
    /// Also returns the epoch and the document's version in that state.
    fn analysis_job(&self, uri: &str) -> Option<(Job<Snapshot>, u64, i32)> {
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
        let inner = Arc::clone(&self.inner);
        let key = uri.to_string();
        let job = Job::gated(
            Arc::clone(&self.inner.gate),
            move || lock(&inner).epoch == epoch,
            move || analyze_for(&key, &docs, &Options::default()),
        );
        let previous = st.analyses.remove(uri).and_then(|old| {
            if old.job.ready().is_some() {
                Some(old.job)
            } else {
                old.previous
            }
        });
        st.analyses.insert(
            uri.to_string(),
            AnalysisSlot {
                epoch,
                job: job.clone(),
                previous,
            },
        );
        Some((job, epoch, version))
    }

    /// The analysis of the current state, for a request (`None`: the document is not open).
    async fn snapshot(&self, uri: &Uri) -> Result<Option<Shared<Snapshot>>> {
        let Some((job, epoch, _)) = self.analysis_job(uri.as_str()) else {
            return Ok(None);
        };
        match job.wait().await {
            Some(snap) => Ok(Some(snap)),
            // Skipped because a newer edit arrived before it could start.
            None if lock(&self.inner).epoch != epoch => Err(modified()),
            None => Err(Error::internal_error()),
        }
    }

    /// The most recent finished analysis of `uri`'s deployment, whatever its epoch.
    fn last_analysis(&self, uri: &Uri) -> Option<Shared<Snapshot>> {
        let st = lock(&self.inner);
        let slot = st.analyses.get(uri.as_str())?;
        slot.job
            .ready()
            .or_else(|| slot.previous.as_ref().and_then(Job::ready))
    }

    /// Store a new version of a document and start parsing it.
    fn store(&self, st: &mut State, uri: &str, doc: Doc) {
        let inner = Arc::clone(&self.inner);
        let (key, text) = (uri.to_string(), Arc::clone(&doc.text));
        let parse = Job::gated(
            Arc::clone(&self.inner.parse_gate),
            move || {
                lock(&inner)
                    .docs
                    .get(&key)
                    .is_some_and(|d| Arc::ptr_eq(&d.doc.text, &text))
            },
            {
                let text = Arc::clone(&doc.text);
                move || kumoc_lang::parse(&text)
            },
        );
        st.docs.insert(
            uri.to_string(),
            OpenDoc {
                doc,
                parse: Some(parse),
            },
        );
        Self::bump(st);
    }

    /// A document changed (or one it depends on): a new epoch.
    fn bump(st: &mut State) {
        st.epoch += 1;
    }

    fn current(&self, uri: &str, generation: u64) -> bool {
        let st = lock(&self.inner);
        st.generation.get(uri).copied() == Some(generation) && st.docs.contains_key(uri)
    }

    /// Re-diagnose `uri` after the quiet period.
    fn schedule(&self, uri: Uri) {
        let generation = {
            let mut st = lock(&self.inner);
            let g = st.generation.entry(uri.as_str().to_string()).or_insert(0);
            *g += 1;
            *g
        };
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DEBOUNCE).await;
            this.diagnose(uri, generation).await;
        });
    }

    async fn diagnose(&self, uri: Uri, generation: u64) {
        let key = uri.as_str();
        loop {
            if !self.current(key, generation) {
                return;
            }
            let Some((job, epoch, version)) = self.analysis_job(key) else {
                return;
            };
            let Some(snap) = job.wait().await else {
                // Superseded by another document's change: analyse the new state (a
                // change of this document has its own, newer generation).
                if lock(&self.inner).epoch != epoch {
                    continue;
                }
                return;
            };
            if !self.current(key, generation) {
                return;
            }
            let enc = self.encoding();
            let Ok(per_file) = blocking(move || publishable(&snap, enc)).await else {
                return;
            };
            let _turn = self.inner.publishing.lock().await;
            let stale: Vec<String> = {
                let mut st = lock(&self.inner);
                if st.generation.get(key).copied() != Some(generation) || !st.docs.contains_key(key)
                {
                    return;
                }
                let now: BTreeSet<String> = per_file.iter().map(|(u, _)| u.clone()).collect();
                let before = st.published.insert(key.to_string(), now.clone());
                before
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|u| !now.contains(u) && !st.docs.contains_key(u))
                    .collect()
            };
            for gone in stale {
                if let Ok(target) = gone.parse::<Uri>() {
                    self.client
                        .publish_diagnostics(target, Vec::new(), None)
                        .await;
                }
            }
            for (file_uri, diags) in per_file {
                let Ok(target) = file_uri.parse::<Uri>() else {
                    continue;
                };
                let v = (file_uri == key).then_some(version);
                self.client.publish_diagnostics(target, diags, v).await;
            }
            return;
        }
    }

    /// Every open document is re-diagnosed (after a change on disk).
    fn reschedule_all(&self) {
        let uris: Vec<String> = {
            let mut st = lock(&self.inner);
            Self::bump(&mut st);
            st.docs.keys().cloned().collect()
        };
        for u in uris {
            if let Ok(uri) = u.parse::<Uri>() {
                self.schedule(uri);
            }
        }
    }
}

/// Apply `textDocument/didChange` content changes to a text, in order. A change without a
/// range replaces the whole text; ranges are clamped to the text (never fails).
fn apply_changes(
    text: &str,
    changes: Vec<TextDocumentContentChangeEvent>,
    enc: Encoding,
) -> String {
    // Everything before the last full replacement is irrelevant.
    let from = changes.iter().rposition(|c| c.range.is_none());
    let mut changes = changes.into_iter();
    let mut out = match from {
        Some(i) => changes
            .nth(i)
            .map(|c| c.text)
            .unwrap_or_else(|| text.to_string()),
        None => text.to_string(),
    };
    for c in changes {
        let Some(range) = c.range else {
            out = c.text;
            continue;
        };
        let lines = Lines::new(&out);
        let a = lines.offset(range.start, enc) as usize;
        let b = lines.offset(range.end, enc) as usize;
        let (a, b) = (a.min(b), a.max(b).min(out.len()));
        if out.is_char_boundary(a) && out.is_char_boundary(b) {
            out.replace_range(a..b, &c.text);
        }
    }
    out
}

/// Diagnostics of every user file of a snapshot, as LSP diagnostics by URI (files without
/// diagnostics get an empty list, which clears what was shown before).
fn publishable(snap: &Snapshot, enc: Encoding) -> Vec<(String, Vec<Diagnostic>)> {
    let mut out = Vec::new();
    for (id, file) in snap.analysis.user_files() {
        let Some(uri) = snap.uri(id) else { continue };
        let lines = Lines::new(&file.text);
        let diags = snap
            .analysis
            .diagnostics
            .iter()
            .filter(|d| d.primary().is_some_and(|l| l.loc.file == id))
            .map(|d| to_lsp(d, &lines, snap, enc))
            .collect();
        out.push((uri.to_string(), diags));
    }
    out
}

fn to_lsp(d: &KDiagnostic, lines: &Lines<'_>, snap: &Snapshot, enc: Encoding) -> Diagnostic {
    let range = d
        .primary()
        .map(|l| lines.range(l.loc.span.start, l.loc.span.end, enc))
        .unwrap_or_default();
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .filter_map(|l| {
            let uri = snap.uri(l.loc.file)?.parse::<Uri>().ok()?;
            let text = &snap.analysis.sources.get(l.loc.file)?.text;
            let range = Lines::new(text).range(l.loc.span.start, l.loc.span.end, enc);
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range },
                message: l.message.clone(),
            })
        })
        .collect();
    let href = if d.code.starts_with("KUMO-") {
        format!("{DOCS_BASE}{}.md", d.code)
    } else {
        format!("{DOCS_BASE}README.md")
    };
    Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: href
            .parse::<Uri>()
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some("kumoc".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn offset_of(doc: &Doc, pos: Position, enc: Encoding) -> u32 {
    Lines::new(&doc.text).offset(pos, enc)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        let (enc, kind) = if offered.contains(&PositionEncodingKind::UTF8) {
            (Encoding::Utf8, PositionEncodingKind::UTF8)
        } else {
            (Encoding::Utf16, PositionEncodingKind::UTF16)
        };
        let watch_files = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        {
            let mut st = lock(&self.inner);
            st.encoding = Some(enc);
            st.watch_files = watch_files;
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(kind),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::INCREMENTAL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["=".into(), " ".into(), ".".into()]),
                    ..Default::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Left(true)),
                inlay_hint_provider: Some(OneOf::Left(true)),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: features::TOKEN_TYPES
                                    .iter()
                                    .map(|t| SemanticTokenType::new(t))
                                    .collect(),
                                token_modifiers: Vec::new(),
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            ..Default::default()
                        },
                    ),
                ),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "kumoc".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..Default::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if !lock(&self.inner).watch_files {
            return;
        }
        // Sibling `.kumo` files are part of a document's deployment: re-check on changes.
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![FileSystemWatcher {
                glob_pattern: GlobPattern::String("**/*.kumo".into()),
                kind: None,
            }],
        };
        let registration = Registration {
            id: "kumoc-watch-kumo".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        let _ = self.client.register_capability(vec![registration]).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        {
            let mut st = lock(&self.inner);
            let doc = Doc {
                text: d.text.into(),
                version: d.version,
            };
            self.store(&mut st, d.uri.as_str(), doc);
        }
        self.schedule(d.uri);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        {
            let mut st = lock(&self.inner);
            let enc = st.encoding.unwrap_or(Encoding::Utf16);
            let text = match st.docs.get(uri.as_str()) {
                Some(d) if d.doc.version > version => return,
                Some(d) => apply_changes(&d.doc.text, params.content_changes, enc),
                // Not open: only a full text can be taken.
                None => match params
                    .content_changes
                    .into_iter()
                    .rfind(|c| c.range.is_none())
                {
                    Some(c) => c.text,
                    None => return,
                },
            };
            let doc = Doc {
                text: text.into(),
                version,
            };
            self.store(&mut st, uri.as_str(), doc);
        }
        self.schedule(uri);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let (clear, _dropped) = {
            let mut st = lock(&self.inner);
            let doc = st.docs.remove(uri.as_str());
            *st.generation.entry(uri.as_str().to_string()).or_insert(0) += 1;
            Self::bump(&mut st);
            let analysis = st.analyses.remove(uri.as_str());
            // What this document's analysis showed for files that are not open.
            let mut clear: Vec<String> = st
                .published
                .remove(uri.as_str())
                .unwrap_or_default()
                .into_iter()
                .filter(|u| !st.docs.contains_key(u))
                .collect();
            if !clear.iter().any(|u| u == uri.as_str()) {
                clear.push(uri.as_str().to_string());
            }
            (clear, (doc, analysis))
        };
        let _turn = self.inner.publishing.lock().await;
        for u in clear {
            if let Ok(target) = u.parse::<Uri>() {
                self.client
                    .publish_diagnostics(target, Vec::new(), None)
                    .await;
            }
        }
    }

    async fn did_change_watched_files(&self, _: DidChangeWatchedFilesParams) {
        self.reschedule_all();
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let uri = params.text_document_position_params.text_document.uri;
        let Some((doc, parsed)) = self.parsed(&uri).await else {
            return Ok(None);
        };
        let enc = self.encoding();
        let offset = offset_of(&doc, params.text_document_position_params.position, enc);
        let md = match features::target_at(parsed.items(), offset) {
            Target::Keyword(schema) => Some(features::block_doc(schema)),
            Target::Label(b, schema)
                if matches!(schema.keyword, "provider" | "shaping") && b.from.is_none() =>
            {
                let label = b.label_text().unwrap_or("default").to_string();
                let keyword = schema.keyword;
                match self.snapshot(&uri).await? {
                    Some(snap) => effective_shaping(&snap, keyword, &label),
                    None => None,
                }
            }
            Target::Key(a, schema) => schema.field(&a.key.name).map(features::field_doc),
            Target::Value(a, schema) => {
                let mut parts: Vec<String> = schema
                    .field(&a.key.name)
                    .map(features::field_doc)
                    .into_iter()
                    .collect();
                parts.extend(features::value_note(a));
                (!parts.is_empty()).then(|| parts.join("\n\n"))
            }
            _ => None,
        };
        Ok(md.map(|value| Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: None,
        }))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let uri = params.text_document_position.text_document.uri;
        let Some((doc, parsed)) = self.parsed(&uri).await else {
            return Ok(None);
        };
        let offset = offset_of(
            &doc,
            params.text_document_position.position,
            self.encoding(),
        );
        // Names come from this version of the document, and from the other files of the
        // deployment as last analysed (the stdlib when there is no analysis yet). Never
        // from an older version of this document.
        let others = self.last_analysis(&uri);
        let mut files: Vec<&[kumoc_lang::ast::Stmt]> = vec![parsed.items()];
        match &others {
            Some(snap) => {
                let own = snap.file_of(uri.as_str());
                for ((id, _), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
                    if Some(id) != own {
                        files.push(&p.file.items);
                    }
                }
            }
            None => files.extend(STDLIB.iter().map(|p| p.file.items.as_slice())),
        }
        let target = features::target_at(parsed.items(), offset);
        let items = features::complete(&target, &files)
            .into_iter()
            .map(|i| CompletionItem {
                kind: Some(match i.kind {
                    ItemKind::Keyword => CompletionItemKind::KEYWORD,
                    ItemKind::Field => CompletionItemKind::FIELD,
                    ItemKind::Value => CompletionItemKind::ENUM_MEMBER,
                    ItemKind::Reference => CompletionItemKind::REFERENCE,
                }),
                detail: Some(i.detail),
                documentation: i.doc.map(|value| {
                    Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value,
                    })
                }),
                insert_text: i.insert,
                label: i.label,
                ..Default::default()
            })
            .collect();
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let uri = params.text_document_position_params.text_document.uri;
        let Some((doc, parsed)) = self.parsed(&uri).await else {
            return Ok(None);
        };
        let enc = self.encoding();
        let offset = offset_of(&doc, params.text_document_position_params.position, enc);
        let Some((keyword, name)) =
            features::reference_at(&features::target_at(parsed.items(), offset))
        else {
            return Ok(None);
        };
        let Some(snap) = self.snapshot(&uri).await? else {
            return Ok(None);
        };
        for ((id, file), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
            if let Some(b) = features::find_definition(&p.file.items, keyword, &name) {
                let Some(target) = snap.uri(id).and_then(|u| u.parse::<Uri>().ok()) else {
                    continue;
                };
                let span = b.label.as_ref().map_or(b.keyword.span, |l| l.span);
                let range = Lines::new(&file.text).range(span.start, span.end, enc);
                return Ok(Some(GotoDefinitionResponse::Scalar(Location {
                    uri: target,
                    range,
                })));
            }
        }
        Ok(None)
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let uri = params.text_document_position.text_document.uri;
        let Some((keyword, name)) = self
            .name_under(&uri, params.text_document_position.position)
            .await
        else {
            return Ok(None);
        };
        Ok(Some(
            self.locations(&uri, keyword, &name)
                .await?
                .into_iter()
                .map(|(location, _)| location)
                .collect(),
        ))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let uri = params.text_document_position.text_document.uri;
        let new = params.new_name;
        if new.is_empty() || new.chars().any(char::is_control) || new.contains('"') {
            return Err(Error::invalid_params(format!(
                "`{new}` is not a valid name"
            )));
        }
        let Some((keyword, name)) = self
            .name_under(&uri, params.text_document_position.position)
            .await
        else {
            return Ok(None);
        };
        let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> =
            std::collections::HashMap::new();
        for (location, quoted) in self.locations(&uri, keyword, &name).await? {
            // A stdlib preset cannot be renamed from a user file.
            if location.uri.as_str().contains("kumoc-stdlib-") {
                return Err(Error::invalid_params(format!(
                    "`{name}` is a stdlib preset"
                )));
            }
            let new_text = if quoted || !features::is_bare_name(&new) {
                format!("\"{new}\"")
            } else {
                new.clone()
            };
            changes.entry(location.uri).or_default().push(TextEdit {
                range: location.range,
                new_text,
            });
        }
        Ok(Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let uri = params.text_document.uri;
        let Some((doc, parsed)) = self.parsed(&uri).await else {
            return Ok(None);
        };
        let Some(snap) = self.snapshot(&uri).await? else {
            return Ok(None);
        };
        let model = snap.analysis.model.as_ref();
        let pods = model.map_or(1, |m| {
            m.cluster
                .mta
                .autoscale
                .as_ref()
                .map_or(m.cluster.mta.replicas.value, |a| a.max)
        });
        let shared = model.is_some_and(|m| m.cluster.redis.is_some());
        drop(snap);
        let enc = self.encoding();
        let range = params.range;
        blocking(move || inlay_hints(&doc, parsed.get(), range, pods, shared, enc))
            .await
            .map(Some)
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some((doc, parsed)) = self.parsed(&params.text_document.uri).await else {
            return Ok(None);
        };
        let enc = self.encoding();
        let data = blocking(move || semantic_tokens(&doc, parsed.get(), enc)).await?;
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some((doc, parsed)) = self.parsed(&params.text_document.uri).await else {
            return Ok(None);
        };
        let enc = self.encoding();
        let symbols =
            blocking(move || document_symbols(parsed.items(), &Lines::new(&doc.text), enc)).await?;
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(doc) = self.doc(&params.text_document.uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        blocking(move || {
            let formatted = kumoc_lang::format::format(&doc.text).ok()?;
            if *formatted == *doc.text {
                return Some(Vec::new());
            }
            let lines = Lines::new(&doc.text);
            let end = u32::try_from(doc.text.len()).unwrap_or(u32::MAX);
            Some(vec![TextEdit {
                range: lines.range(0, end, enc),
                new_text: formatted,
            }])
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let (start, end) = {
            let lines = Lines::new(&doc.text);
            (
                lines.offset(params.range.start, enc),
                lines.offset(params.range.end, enc),
            )
        };
        let Some(snap) = self.snapshot(&uri).await? else {
            return Ok(None);
        };
        let Some(file) = snap.file_of(uri.as_str()) else {
            return Ok(None);
        };
        let text = snap
            .analysis
            .sources
            .get(file)
            .map_or("", |f| f.text.as_str());
        let lines = Lines::new(text);
        let mut actions = Vec::new();
        for d in &snap.analysis.diagnostics {
            let (Some(fix), Some(primary)) = (&d.fix, d.primary()) else {
                continue;
            };
            if primary.loc.file != file
                || primary.loc.span.end < start
                || primary.loc.span.start > end
            {
                continue;
            }
            let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> =
                std::collections::HashMap::new();
            for e in &fix.edits {
                let (Some(u), Some(src)) = (
                    snap.uri(e.loc.file).and_then(|u| u.parse::<Uri>().ok()),
                    snap.analysis.sources.get(e.loc.file),
                ) else {
                    continue;
                };
                let range = Lines::new(&src.text).range(e.loc.span.start, e.loc.span.end, enc);
                changes.entry(u).or_default().push(TextEdit {
                    range,
                    new_text: e.replacement.clone(),
                });
            }
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![to_lsp(d, &lines, &snap, enc)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(changes),
                    ..Default::default()
                }),
                is_preferred: Some(fix.applicability == Applicability::Safe),
                ..Default::default()
            }));
        }
        Ok(Some(actions))
    }
}

/// Inlay hints for the rates and per-pod limits written in `range`: the per-second value,
/// and what the limit is in total across the pods.
fn inlay_hints(
    doc: &Doc,
    parse: &Parse,
    range: Range,
    pods: u32,
    shared: bool,
    enc: Encoding,
) -> Vec<InlayHint> {
    let lines = Lines::new(&doc.text);
    let (from, to) = (lines.offset(range.start, enc), lines.offset(range.end, enc));
    let mut hints = Vec::new();
    let mut push = |at: u32, label: String| {
        hints.push(InlayHint {
            position: lines.position(at, enc),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: None,
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    };
    fn attrs<'a>(
        items: &'a [kumoc_lang::ast::Stmt],
        from: u32,
        to: u32,
        out: &mut Vec<&'a kumoc_lang::ast::Attr>,
    ) {
        for s in items {
            if s.span().end < from || s.span().start > to {
                continue;
            }
            match s {
                kumoc_lang::ast::Stmt::Attr(a) => out.push(a),
                kumoc_lang::ast::Stmt::Block(b) => attrs(&b.body, from, to, out),
                kumoc_lang::ast::Stmt::Error(_) => {}
            }
        }
    }
    let mut all = Vec::new();
    attrs(&parse.file.items, from, to, &mut all);
    for a in all {
        let kumoc_lang::ast::ValueKind::Rate(raw) = &a.value.kind else {
            continue;
        };
        if a.value.span.end < from || a.value.span.end > to {
            continue;
        }
        if raw.contains('/') {
            if let Ok(r) = kumoc_lang::units::parse_rate(raw) {
                let per = r.per_second();
                let text = if per >= 1.0 {
                    format!("= {per:.0}/s")
                } else {
                    format!("= {:.1}/h", per * 3600.0)
                };
                let text = if pods > 1 && (!shared || r.local) {
                    format!("{text} × {pods} pods")
                } else {
                    text
                };
                push(a.value.span.end, text);
            }
        } else if let Ok(l) = kumoc_lang::units::parse_limit(raw) {
            if pods > 1 && (!shared || l.local) {
                push(
                    a.value.span.end,
                    format!("× {pods} pods = {}", l.limit * u64::from(pods)),
                );
            }
        }
    }
    hints
}

/// The semantic tokens of a document, relative-encoded in the negotiated encoding.
fn semantic_tokens(doc: &Doc, parse: &Parse, enc: Encoding) -> Vec<SemanticToken> {
    let lines = Lines::new(&doc.text);
    let mut data = Vec::new();
    let (mut prev_line, mut prev_char) = (0u32, 0u32);
    for (start, end, kind) in features::semantic_tokens(&parse.file) {
        // Tokens are single-line: a multi-line one (a block comment) is cut at its line end.
        let s = lines.position(start, enc);
        let e = lines.position(end, enc);
        let length = if e.line == s.line {
            e.character.saturating_sub(s.character)
        } else {
            lines
                .position(
                    lines.offset(
                        Position {
                            line: s.line,
                            character: u32::MAX,
                        },
                        enc,
                    ),
                    enc,
                )
                .character
                .saturating_sub(s.character)
        };
        if length == 0 {
            continue;
        }
        let delta_line = s.line.saturating_sub(prev_line);
        let delta_start = if delta_line == 0 {
            s.character.saturating_sub(prev_char)
        } else {
            s.character
        };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: kind,
            token_modifiers_bitset: 0,
        });
        (prev_line, prev_char) = (s.line, s.character);
    }
    data
}

/// The outline: blocks, nested.
fn document_symbols(
    items: &[kumoc_lang::ast::Stmt],
    lines: &Lines<'_>,
    enc: Encoding,
) -> Vec<DocumentSymbol> {
    items
        .iter()
        .filter_map(|s| match s {
            kumoc_lang::ast::Stmt::Block(b) => {
                let name = match b.label_text() {
                    Some(l) => format!("{} {l}", b.keyword.name),
                    None => b.keyword.name.clone(),
                };
                let sel = b.label.as_ref().map_or(b.keyword.span, |l| l.span);
                let children = document_symbols(&b.body, lines, enc);
                #[allow(deprecated)]
                Some(DocumentSymbol {
                    name,
                    detail: None,
                    kind: match b.keyword.name.as_str() {
                        "domain" | "deployment" => SymbolKind::MODULE,
                        "pool" | "tenant" | "queue" => SymbolKind::STRUCT,
                        "source" | "provider" | "secret" => SymbolKind::OBJECT,
                        "env" => SymbolKind::NAMESPACE,
                        _ => SymbolKind::CLASS,
                    },
                    tags: None,
                    deprecated: None,
                    range: lines.range(b.span.start, b.span.end, enc),
                    selection_range: lines.range(sel.start, sel.end, enc),
                    children: (!children.is_empty()).then_some(children),
                })
            }
            _ => None,
        })
        .collect()
}

/// The merged settings of a provider or shaping block (stdlib preset + user blocks), each
/// with where it was written: what KumoMTA will actually use.
fn effective_shaping(snap: &Snapshot, keyword: &str, label: &str) -> Option<String> {
    let model = snap.analysis.model.as_ref()?;
    let shaping = match keyword {
        "provider" => &model.providers.iter().find(|p| p.name == label)?.shaping,
        _ => {
            &model
                .shaping
                .iter()
                .find(|s| s.key.as_str() == label)?
                .shaping
        }
    };
    let mut out = format!("**Effective settings of `{keyword} {label}`** (presets merged):\n\n");
    for (name, setting) in &shaping.settings {
        let text = snap
            .analysis
            .sources
            .get(setting.loc.file)
            .map_or("", |f| f.slice(setting.loc.span));
        out.push_str(&format!(
            "- `{name} = {text}` — {}\n",
            snap.analysis.sources.position(setting.loc)
        ));
    }
    if !shaping.automation.is_empty() {
        out.push_str(&format!(
            "\n{} automation rule(s).\n",
            shaping.automation.len()
        ));
    }
    Some(out)
}

impl Backend {
    /// The name (definition or reference) under a position, as (block keyword, name).
    async fn name_under(&self, uri: &Uri, pos: Position) -> Option<(&'static str, String)> {
        let (doc, parsed) = self.parsed(uri).await?;
        let offset = offset_of(&doc, pos, self.encoding());
        features::name_at(&features::target_at(parsed.items(), offset))
    }

    /// Every occurrence of a name in the deployment's user files, with whether it is quoted.
    async fn locations(
        &self,
        uri: &Uri,
        keyword: &str,
        name: &str,
    ) -> Result<Vec<(Location, bool)>> {
        let Some(snap) = self.snapshot(uri).await? else {
            return Ok(Vec::new());
        };
        let enc = self.encoding();
        let mut out = Vec::new();
        for ((id, file), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
            let Some(u) = snap.uri(id).and_then(|u| u.parse::<Uri>().ok()) else {
                continue;
            };
            if file.is_stdlib {
                continue;
            }
            let lines = Lines::new(&file.text);
            for span in features::occurrences(&p.file.items, keyword, name) {
                let quoted = file.slice(span).starts_with('"');
                out.push((
                    Location {
                        uri: u.clone(),
                        range: lines.range(span.start, span.end, enc),
                    },
                    quoted,
                ));
            }
        }
        Ok(out)
    }
}

/// Serve LSP on stdin/stdout until the client exits.
pub async fn run_stdio() {
    let (service, socket) = LspService::new(|client| Backend {
        client,
        inner: Arc::new(Inner {
            state: Mutex::new(State::default()),
            gate: Arc::new(Semaphore::new(1)),
            parse_gate: Arc::new(Semaphore::new(1)),
            publishing: tokio::sync::Mutex::new(()),
        }),
    });
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .concurrency_level(CONCURRENCY)
        .serve(service)
        .await;
}
