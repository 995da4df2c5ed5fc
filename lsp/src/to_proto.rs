//! kumoc → LSP: every conversion of kumoc's answers (byte spans, diagnostics, fixes,
//! completion items, outlines, tokens, hints) into protocol types, in one place.

use std::collections::HashMap;

use kumoc_compiler::FileId;
use kumoc_compiler::diagnostic::{Applicability, Diagnostic as KDiagnostic, Severity};
use kumoc_lang::Span;
use tower_lsp_server::ls_types::*;

use crate::DOCS_BASE;
use crate::features::completion::{Item, ItemKind};
use crate::features::symbols::Symbol;
use crate::text::{Encoding, Lines};
use crate::workspace::Snapshot;

/// The LSP range of a byte span.
pub fn range(lines: &Lines<'_>, span: Span, enc: Encoding) -> Range {
    lines.range(span.start, span.end, enc)
}

/// The files of an analysis with their line indexes, each made once, on first use.
pub struct Files<'s> {
    pub snap: &'s Snapshot,
    lines: Vec<std::cell::OnceCell<Lines<'s>>>,
    enc: Encoding,
}

impl<'s> Files<'s> {
    pub fn new(snap: &'s Snapshot, enc: Encoding) -> Self {
        Files {
            snap,
            lines: (0..snap.analysis.parses.len())
                .map(|_| std::cell::OnceCell::new())
                .collect(),
            enc,
        }
    }

    pub fn lines(&self, file: FileId) -> Option<&Lines<'s>> {
        let text = &self.snap.analysis.sources.get(file)?.text;
        let cell = self.lines.get(file.0 as usize)?;
        Some(cell.get_or_init(|| match self.snap.index(file) {
            Some(index) => Lines::of(text, index),
            None => Lines::new(text),
        }))
    }

    /// The LSP range of a span of `file`.
    pub fn range(&self, file: FileId, span: Span) -> Option<Range> {
        Some(range(self.lines(file)?, span, self.enc))
    }

    /// Where a span of a file of the analysis is, as an LSP location.
    pub fn location(&self, file: FileId, span: Span) -> Option<Location> {
        let uri = self.snap.uri(file)?.parse::<Uri>().ok()?;
        Some(Location {
            uri,
            range: self.range(file, span)?,
        })
    }
}

/// Diagnostics of every user file of a snapshot, as LSP diagnostics by URI (files without
/// diagnostics get an empty list, which clears what was shown before).
pub fn file_diagnostics(snap: &Snapshot, enc: Encoding) -> Vec<(String, Vec<Diagnostic>)> {
    let files = Files::new(snap, enc);
    let mut by_file: std::collections::BTreeMap<FileId, Vec<Diagnostic>> = snap
        .analysis
        .user_files()
        .map(|(id, _)| (id, Vec::new()))
        .collect();
    for d in &snap.analysis.diagnostics {
        if let Some(list) = d.primary().and_then(|l| by_file.get_mut(&l.loc.file)) {
            list.push(diagnostic(d, &files));
        }
    }
    by_file
        .into_iter()
        .filter_map(|(id, diags)| Some((snap.uri(id)?.to_string(), diags)))
        .collect()
}

/// One diagnostic: message with its help line, secondary labels as related information,
/// a link to the code's documentation.
pub fn diagnostic(d: &KDiagnostic, files: &Files<'_>) -> Diagnostic {
    convert(
        d,
        |file, span| files.range(file, span),
        |file, span| files.location(file, span),
    )
}

/// A diagnostic of one file (`file`, at `uri`, with its `lines`), as [`diagnostic`]
/// converts it; places in other files are left out (the quick diagnostics have none).
pub fn diagnostic_in(
    d: &KDiagnostic,
    file: FileId,
    uri: &Uri,
    lines: &Lines<'_>,
    enc: Encoding,
) -> Diagnostic {
    let at = |f: FileId, span: Span| (f == file).then(|| range(lines, span, enc));
    convert(d, at, |f, span| {
        Some(Location {
            uri: uri.clone(),
            range: at(f, span)?,
        })
    })
}

fn convert(
    d: &KDiagnostic,
    range_of: impl Fn(FileId, Span) -> Option<Range>,
    location_of: impl Fn(FileId, Span) -> Option<Location>,
) -> Diagnostic {
    let range = d
        .primary()
        .and_then(|l| range_of(l.loc.file, l.loc.span))
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
            Some(DiagnosticRelatedInformation {
                location: location_of(l.loc.file, l.loc.span)?,
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

/// The quick fix of a diagnostic.
pub fn code_action(d: &KDiagnostic, files: &Files<'_>) -> Option<CodeActionOrCommand> {
    let fix = d.fix.as_ref()?;
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for e in &fix.edits {
        let Some(at) = files.location(e.loc.file, e.loc.span) else {
            continue;
        };
        changes.entry(at.uri).or_default().push(TextEdit {
            range: at.range,
            new_text: e.replacement.clone(),
        });
    }
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: fix.title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic(d, files)]),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }),
        is_preferred: Some(fix.applicability == Applicability::Safe),
        ..Default::default()
    }))
}

pub fn completion_item(i: Item) -> CompletionItem {
    CompletionItem {
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
    }
}

pub fn hover(markdown: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: None,
    }
}

pub fn symbol_kind(keyword: &str) -> SymbolKind {
    match keyword {
        "domain" | "deployment" => SymbolKind::MODULE,
        "pool" | "tenant" | "queue" => SymbolKind::STRUCT,
        "source" | "provider" | "secret" => SymbolKind::OBJECT,
        "env" => SymbolKind::NAMESPACE,
        _ => SymbolKind::CLASS,
    }
}

pub fn document_symbols(
    symbols: Vec<Symbol>,
    lines: &Lines<'_>,
    enc: Encoding,
) -> Vec<DocumentSymbol> {
    symbols
        .into_iter()
        .map(|s| {
            let children = document_symbols(s.children, lines, enc);
            #[allow(deprecated)]
            DocumentSymbol {
                name: s.name,
                detail: None,
                kind: symbol_kind(&s.keyword),
                tags: None,
                deprecated: None,
                range: range(lines, s.span, enc),
                selection_range: range(lines, s.selection, enc),
                children: (!children.is_empty()).then_some(children),
            }
        })
        .collect()
}

/// Semantic tokens relative-encoded in the negotiated encoding, fed `(start, end, type)`
/// in text order a few at a time (a piece's), so no list of a whole file's tokens is
/// held besides the answer. Tokens are single-line: a multi-line one (a block comment)
/// is cut at its line end.
pub struct TokenEncoder {
    pub data: Vec<SemanticToken>,
    prev_line: u32,
    prev_char: u32,
}

impl TokenEncoder {
    pub fn new() -> Self {
        TokenEncoder {
            data: Vec::new(),
            prev_line: 0,
            prev_char: 0,
        }
    }

    pub fn push(&mut self, tokens: &[(u32, u32, u32)], lines: &Lines<'_>, enc: Encoding) {
        for &(start, end, kind) in tokens {
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
            let delta_line = s.line.saturating_sub(self.prev_line);
            let delta_start = if delta_line == 0 {
                s.character.saturating_sub(self.prev_char)
            } else {
                s.character
            };
            self.data.push(SemanticToken {
                delta_line,
                delta_start,
                length,
                token_type: kind,
                token_modifiers_bitset: 0,
            });
            (self.prev_line, self.prev_char) = (s.line, s.character);
        }
    }
}

pub fn inlay_hint(lines: &Lines<'_>, at: u32, label: String, enc: Encoding) -> InlayHint {
    InlayHint {
        position: lines.position(at, enc),
        label: InlayHintLabel::String(label),
        kind: None,
        text_edits: None,
        tooltip: None,
        padding_left: Some(true),
        padding_right: None,
        data: None,
    }
}

/// One edit replacing the whole text (formatting).
pub fn replace_all(lines: &Lines<'_>, text: &str, new_text: String, enc: Encoding) -> TextEdit {
    let end = u32::try_from(text.len()).unwrap_or(u32::MAX);
    TextEdit {
        range: lines.range(0, end, enc),
        new_text,
    }
}

/// The edit that turns the tokens sent before into the new ones: what lies between their
/// common start and common end (offsets count integers, five per token).
pub fn semantic_tokens_edits(
    old: &[SemanticToken],
    new: &[SemanticToken],
) -> Vec<SemanticTokensEdit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let rest = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(rest)
        .take_while(|(a, b)| a == b)
        .count();
    if prefix == old.len() && prefix == new.len() {
        return Vec::new();
    }
    let ints = |n: usize| u32::try_from(n * 5).unwrap_or(u32::MAX);
    vec![SemanticTokensEdit {
        start: ints(prefix),
        delete_count: ints(old.len() - prefix - suffix),
        data: Some(
            new.get(prefix..new.len() - suffix)
                .unwrap_or_default()
                .to_vec(),
        ),
    }]
}
