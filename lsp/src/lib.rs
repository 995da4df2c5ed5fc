//! The kumoc language server: LSP over stdio (tower-lsp-server, tokio), using the very
//! same `kumoc_compiler::analyze` as the CLI, so the editor and CI never disagree.
//!
//! Document state has one owner (a mutex held only to read or replace a document). Each
//! change bumps the document's generation; analysis runs after a short quiet period on a
//! blocking thread, and its diagnostics are published only if no newer change arrived
//! meanwhile, tagged with the version they were computed for.

mod features;
mod text;
mod workspace;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kumoc_compiler::Options;
use kumoc_compiler::diagnostic::{Applicability, Diagnostic as KDiagnostic, Severity};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::features::{ItemKind, Target};
use crate::text::{Encoding, Lines};
use crate::workspace::{Doc, Snapshot, analyze_for};

/// Where rule and code documentation is published.
pub const DOCS_BASE: &str = "https://github.com/kumoc/kumoc/blob/main/docs/rules/";

/// How long the client must be quiet before a document is re-analysed.
const DEBOUNCE: Duration = Duration::from_millis(80);

#[derive(Default)]
struct State {
    docs: BTreeMap<String, Doc>,
    /// Bumped on every change of a document; analysis results for an older generation
    /// are dropped.
    generation: BTreeMap<String, u64>,
    encoding: Option<Encoding>,
}

struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Backend {
    fn encoding(&self) -> Encoding {
        lock(&self.state).encoding.unwrap_or(Encoding::Utf16)
    }

    fn docs(&self) -> BTreeMap<String, Doc> {
        lock(&self.state).docs.clone()
    }

    fn doc(&self, uri: &Uri) -> Option<Doc> {
        lock(&self.state).docs.get(uri.as_str()).cloned()
    }

    /// Analyse now (for requests).
    fn snapshot(&self, uri: &Uri) -> Snapshot {
        analyze_for(uri.as_str(), &self.docs(), &Options::default())
    }

    fn schedule(&self, uri: Uri) {
        let generation = {
            let mut st = lock(&self.state);
            let g = st.generation.entry(uri.as_str().to_string()).or_insert(0);
            *g += 1;
            *g
        };
        let state = Arc::clone(&self.state);
        let client = self.client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DEBOUNCE).await;
            let current = |st: &State| st.generation.get(uri.as_str()).copied() == Some(generation);
            let (docs, encoding, version) = {
                let st = lock(&state);
                if !current(&st) {
                    return;
                }
                let Some(doc) = st.docs.get(uri.as_str()) else {
                    return;
                };
                (
                    st.docs.clone(),
                    st.encoding.unwrap_or(Encoding::Utf16),
                    doc.version,
                )
            };
            let key = uri.as_str().to_string();
            let result = tokio::task::spawn_blocking(move || {
                let snap = analyze_for(&key, &docs, &Options::default());
                publishable(&snap, encoding)
            })
            .await;
            let Ok(per_file) = result else { return };
            if !current(&lock(&state)) {
                return;
            }
            for (file_uri, diags) in per_file {
                let Ok(target) = file_uri.parse::<Uri>() else {
                    continue;
                };
                let v = if target == uri { Some(version) } else { None };
                client.publish_diagnostics(target, diags, v).await;
            }
        });
    }
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
        lock(&self.state).encoding = Some(enc);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(kind),
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
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

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        lock(&self.state).docs.insert(
            d.uri.as_str().to_string(),
            Doc {
                text: d.text,
                version: d.version,
            },
        );
        self.schedule(d.uri);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(change) = params.content_changes.into_iter().last() else {
            return;
        };
        {
            let mut st = lock(&self.state);
            let newer = st
                .docs
                .get(uri.as_str())
                .is_none_or(|d| d.version <= params.text_document.version);
            if !newer {
                return;
            }
            st.docs.insert(
                uri.as_str().to_string(),
                Doc {
                    text: change.text,
                    version: params.text_document.version,
                },
            );
        }
        self.schedule(uri);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        {
            let mut st = lock(&self.state);
            st.docs.remove(uri.as_str());
            *st.generation.entry(uri.as_str().to_string()).or_insert(0) += 1;
        }
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let uri = params.text_document_position_params.text_document.uri;
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let offset = offset_of(&doc, params.text_document_position_params.position, enc);
        let parse = kumoc_lang::parse(&doc.text);
        let md = match features::target_at(&parse.file.items, offset) {
            Target::Keyword(schema) => Some(features::block_doc(schema)),
            Target::Label(b, schema)
                if matches!(schema.keyword, "provider" | "shaping") && b.from.is_none() =>
            {
                let snap = self.snapshot(&uri);
                effective_shaping(&snap, schema.keyword, b.label_text().unwrap_or("default"))
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
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let offset = offset_of(
            &doc,
            params.text_document_position.position,
            self.encoding(),
        );
        let parses: Vec<kumoc_lang::Parse> = {
            let docs = self.docs();
            let mut p = vec![kumoc_lang::parse(&doc.text)];
            for (u, d) in &docs {
                if u != uri.as_str() {
                    p.push(kumoc_lang::parse(&d.text));
                }
            }
            for (_, text) in kumoc_compiler::stdlib::FILES {
                p.push(kumoc_lang::parse(text));
            }
            p
        };
        let files: Vec<&[kumoc_lang::ast::Stmt]> =
            parses.iter().map(|p| p.file.items.as_slice()).collect();
        let target = features::target_at(files.first().copied().unwrap_or(&[]), offset);
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
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let offset = offset_of(&doc, params.text_document_position_params.position, enc);
        let parse = kumoc_lang::parse(&doc.text);
        let Some((keyword, name)) =
            features::reference_at(&features::target_at(&parse.file.items, offset))
        else {
            return Ok(None);
        };
        let snap = self.snapshot(&uri);
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
        let Some((keyword, name)) = self.name_under(&uri, params.text_document_position.position)
        else {
            return Ok(None);
        };
        Ok(Some(
            self.locations(&uri, keyword, &name)
                .into_iter()
                .map(|(location, _)| location)
                .collect(),
        ))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let uri = params.text_document_position.text_document.uri;
        let new = params.new_name;
        if new.is_empty() || new.chars().any(char::is_control) || new.contains('"') {
            return Err(tower_lsp_server::jsonrpc::Error::invalid_params(format!(
                "`{new}` is not a valid name"
            )));
        }
        let Some((keyword, name)) = self.name_under(&uri, params.text_document_position.position)
        else {
            return Ok(None);
        };
        let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> =
            std::collections::HashMap::new();
        for (location, quoted) in self.locations(&uri, keyword, &name) {
            // A stdlib preset cannot be renamed from a user file.
            if location.uri.as_str().contains("kumoc-stdlib-") {
                return Err(tower_lsp_server::jsonrpc::Error::invalid_params(format!(
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
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let lines = Lines::new(&doc.text);
        let snap = self.snapshot(&uri);
        let model = snap.analysis.model.as_ref();
        let pods = model.map_or(1, |m| {
            m.cluster
                .mta
                .autoscale
                .as_ref()
                .map_or(m.cluster.mta.replicas.value, |a| a.max)
        });
        let shared = model.is_some_and(|m| m.cluster.redis.is_some());
        let parse = kumoc_lang::parse(&doc.text);
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
        fn attrs<'a>(items: &'a [kumoc_lang::ast::Stmt], out: &mut Vec<&'a kumoc_lang::ast::Attr>) {
            for s in items {
                match s {
                    kumoc_lang::ast::Stmt::Attr(a) => out.push(a),
                    kumoc_lang::ast::Stmt::Block(b) => attrs(&b.body, out),
                    kumoc_lang::ast::Stmt::Error(_) => {}
                }
            }
        }
        let mut all = Vec::new();
        attrs(&parse.file.items, &mut all);
        for a in all {
            let kumoc_lang::ast::ValueKind::Rate(raw) = &a.value.kind else {
                continue;
            };
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
        Ok(Some(hints))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let Some(doc) = self.doc(&params.text_document.uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let lines = Lines::new(&doc.text);
        let parse = kumoc_lang::parse(&doc.text);
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
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some(doc) = self.doc(&params.text_document.uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let lines = Lines::new(&doc.text);
        let parse = kumoc_lang::parse(&doc.text);
        fn symbols(
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
                        let children = symbols(&b.body, lines, enc);
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
        Ok(Some(DocumentSymbolResponse::Nested(symbols(
            &parse.file.items,
            &lines,
            enc,
        ))))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(doc) = self.doc(&params.text_document.uri) else {
            return Ok(None);
        };
        let Ok(formatted) = kumoc_lang::format::format(&doc.text) else {
            return Ok(None);
        };
        if formatted == doc.text {
            return Ok(Some(Vec::new()));
        }
        let lines = Lines::new(&doc.text);
        let end = u32::try_from(doc.text.len()).unwrap_or(u32::MAX);
        Ok(Some(vec![TextEdit {
            range: lines.range(0, end, self.encoding()),
            new_text: formatted,
        }]))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let Some(doc) = self.doc(&uri) else {
            return Ok(None);
        };
        let enc = self.encoding();
        let lines = Lines::new(&doc.text);
        let (start, end) = (
            lines.offset(params.range.start, enc),
            lines.offset(params.range.end, enc),
        );
        let snap = self.snapshot(&uri);
        let Some(file) = snap.file_of(uri.as_str()) else {
            return Ok(None);
        };
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
    let prov = kumoc_compiler::emit::Provenance::new(&snap.analysis.sources);
    let mut out = format!("**Effective settings of `{keyword} {label}`** (presets merged):\n\n");
    for (name, setting) in &shaping.settings {
        let text = snap
            .analysis
            .sources
            .get(setting.loc.file)
            .map_or("", |f| f.slice(setting.loc.span));
        out.push_str(&format!("- `{name} = {text}` — {}\n", prov.at(setting.loc)));
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
    fn name_under(&self, uri: &Uri, pos: Position) -> Option<(&'static str, String)> {
        let doc = self.doc(uri)?;
        let offset = offset_of(&doc, pos, self.encoding());
        let parse = kumoc_lang::parse(&doc.text);
        features::name_at(&features::target_at(&parse.file.items, offset))
    }

    /// Every occurrence of a name in the deployment's user files, with whether it is quoted.
    fn locations(&self, uri: &Uri, keyword: &str, name: &str) -> Vec<(Location, bool)> {
        let snap = self.snapshot(uri);
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
        out
    }
}

/// Serve LSP on stdin/stdout until the client exits.
pub async fn run_stdio() {
    let (service, socket) = LspService::new(|client| Backend {
        client,
        state: Arc::new(Mutex::new(State::default())),
    });
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
