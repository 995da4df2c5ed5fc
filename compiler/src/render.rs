//! Renderers of the one diagnostic model: for people (codespan-reporting, with or without
//! colour) and as JSON. The caller decides colour; nothing here looks at the terminal.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::termcolor::Buffer;
use codespan_reporting::term::{self, Config, Styles, StylesWriter};
use serde::Serialize;

use crate::diagnostic::{Applicability, Diagnostic};
use crate::severity::Severity;
use crate::source::{FileId, Sources};

impl<'a> Files<'a> for Sources {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.name.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.get(id)
            .map(|f| f.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.get(id).ok_or(FilesError::FileMissing)?;
        Ok(f.line_of(u32::try_from(byte_index).unwrap_or(u32::MAX)))
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        let f = self.get(id).ok_or(FilesError::FileMissing)?;
        let start = f.line_start(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: f.line_count().saturating_sub(1),
        })? as usize;
        let end = f
            .line_start(line_index + 1)
            .map_or(f.text.len(), |e| e as usize);
        Ok(start..end)
    }
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// A source line longer than this (bytes) is shown as windows around the labels.
const LONG_LINE: usize = 160;
/// Characters shown on each side of a label's start and end in a long line.
const WINDOW: usize = 40;
/// What stands for the elided parts of a long line.
const ELLIPSIS: &str = "…";

/// One piece of a real line that an excerpt shows: real byte range, and where it starts in
/// the excerpt's text.
#[derive(Debug, Clone)]
struct Piece {
    real: std::ops::Range<usize>,
    at: usize,
}

/// A real line as an excerpt shows it.
#[derive(Debug)]
struct ExcerptLine {
    real_index: usize,
    /// Start of the line in the excerpt's text.
    at: usize,
    pieces: Vec<Piece>,
    /// Where the line's content ends (before `\n` or `\r\n`): in the real text, and
    /// in the excerpt's.
    content_end: usize,
    terminator_at: usize,
}

/// What one diagnostic shows of one file: only the lines it needs (its labels' lines and
/// the context codespan prints), long lines cut to windows around the labels, terminal
/// control characters made inert. Line numbers and columns stay those of the real file.
/// So rendering costs what is shown, not the size of the file or of its longest line.
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    lines: Vec<ExcerptLine>,
    /// Number of lines of the real file.
    real_lines: usize,
}

impl Excerpt {
    /// `points` are the label ends (real byte offsets) in this file.
    fn new(f: &crate::source::SourceFile, points: &[usize]) -> Excerpt {
        let real_lines = f.line_count();
        let line_of = |p: usize| f.line_of(u32::try_from(p).unwrap_or(u32::MAX));
        // codespan prints a label's lines, up to 3 lines of a multi-line label after its
        // start and 1 before its end, and a single line between two printed lines.
        let mut wanted = std::collections::BTreeSet::new();
        for &p in points {
            let l = line_of(p);
            wanted.extend(l.saturating_sub(2)..=(l + 4).min(real_lines.saturating_sub(1)));
        }
        let mut text = String::new();
        let mut lines = Vec::new();
        for l in wanted {
            let start = f.line_start(l).map_or(0, |s| s as usize);
            let end = f.line_start(l + 1).map_or(f.text.len(), |e| e as usize);
            let line = f.text.get(start..end).unwrap_or("");
            let content_len = line.trim_end_matches(['\n', '\r']).len();
            let content_end = start + content_len;
            let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
            if content_len <= LONG_LINE {
                ranges.push(start..content_end);
            } else {
                let mut here: Vec<usize> = points
                    .iter()
                    .copied()
                    .filter(|&p| p >= start && p <= content_end)
                    .collect();
                here.sort_unstable();
                if here.is_empty() {
                    here.push(start);
                }
                for p in here {
                    let a = floor_char_boundary(&f.text, back_chars(&f.text, p, WINDOW).max(start));
                    let b =
                        ceil_char_boundary(&f.text, fwd_chars(&f.text, p, WINDOW).min(content_end));
                    match ranges.last_mut() {
                        Some(last) if a <= last.end + ELLIPSIS.len() => last.end = last.end.max(b),
                        _ => ranges.push(a..b),
                    }
                }
            }
            let at = text.len();
            let mut pieces = Vec::new();
            for (i, r) in ranges.iter().enumerate() {
                if i > 0 || r.start > start {
                    text.push_str(ELLIPSIS);
                }
                pieces.push(Piece {
                    real: r.clone(),
                    at: text.len(),
                });
                text.push_str(&terminal_safe(f.text.get(r.clone()).unwrap_or("")));
            }
            if ranges.last().is_some_and(|r| r.end < content_end) {
                text.push_str(ELLIPSIS);
            }
            let terminator_at = text.len();
            text.push_str(&terminal_safe(f.text.get(content_end..end).unwrap_or("")));
            lines.push(ExcerptLine {
                real_index: l,
                at,
                pieces,
                content_end,
                terminator_at,
            });
        }
        Excerpt {
            name: terminal_safe(&f.name).into_owned(),
            text,
            lines,
            real_lines,
        }
    }

    fn line(&self, real_index: usize) -> Option<&ExcerptLine> {
        self.lines
            .binary_search_by_key(&real_index, |l| l.real_index)
            .ok()
            .and_then(|i| self.lines.get(i))
    }

    /// Where a real offset (a label end) is in the excerpt. Label ends always lie in a
    /// piece or in the line terminator, by construction.
    fn to_excerpt(&self, real_line: usize, p: usize) -> usize {
        let Some(line) = self.line(real_line) else {
            return 0;
        };
        if p > line.content_end {
            return (line.terminator_at + (p - line.content_end)).min(self.line_end(line));
        }
        line.pieces
            .iter()
            .find(|piece| p >= piece.real.start && p <= piece.real.end)
            .map_or(line.at, |piece| piece.at + (p - piece.real.start))
    }

    fn line_end(&self, line: &ExcerptLine) -> usize {
        let i = self
            .lines
            .binary_search_by_key(&line.real_index, |l| l.real_index)
            .unwrap_or(0);
        self.lines.get(i + 1).map_or(self.text.len(), |n| n.at)
    }

    /// The real offset of an excerpt offset on a real line (for columns).
    fn to_real(&self, real_line: usize, at: usize) -> Option<usize> {
        let line = self.line(real_line)?;
        let mut best = line.pieces.first()?.real.start;
        for piece in &line.pieces {
            let len = piece.real.end - piece.real.start;
            if at >= piece.at && at <= piece.at + len {
                return Some(piece.real.start + (at - piece.at));
            }
            if at > piece.at + len {
                best = piece.real.end;
            }
        }
        Some(best)
    }
}

/// `n` characters back from `p` (a byte offset).
fn back_chars(text: &str, p: usize, n: usize) -> usize {
    let p = floor_char_boundary(text, p);
    text.get(..p)
        .and_then(|s| s.char_indices().rev().nth(n.saturating_sub(1)))
        .map_or(0, |(i, _)| i)
}

/// `n` characters forward from `p` (a byte offset).
fn fwd_chars(text: &str, p: usize, n: usize) -> usize {
    let p = floor_char_boundary(text, p);
    text.get(p..)
        .and_then(|s| s.char_indices().nth(n))
        .map_or(text.len(), |(i, _)| p + i)
}

/// The files of one diagnostic, as [`Excerpt`]s, for codespan.
struct Excerpts<'s> {
    sources: &'s Sources,
    files: std::collections::BTreeMap<FileId, Excerpt>,
}

impl<'a> Files<'a> for Excerpts<'_> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files
            .get(&id)
            .map(|e| e.name.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files
            .get(&id)
            .map(|e| e.text.as_str())
            .ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let e = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        let i = e.lines.partition_point(|l| l.at <= byte_index);
        Ok(e.lines.get(i.saturating_sub(1)).map_or(0, |l| l.real_index))
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, FilesError> {
        let e = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        if line_index >= e.real_lines {
            return Err(FilesError::LineTooLarge {
                given: line_index,
                max: e.real_lines.saturating_sub(1),
            });
        }
        match e.line(line_index) {
            Some(line) => Ok(line.at..e.line_end(line)),
            // A line codespan looks at but does not print (inside a long multi-line label).
            None => {
                let i = e.lines.partition_point(|l| l.real_index < line_index);
                let at = e.lines.get(i).map_or(e.text.len(), |l| l.at);
                Ok(at..at)
            }
        }
    }

    fn column_number(
        &'a self,
        id: FileId,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        let e = self.files.get(&id).ok_or(FilesError::FileMissing)?;
        let f = self.sources.get(id).ok_or(FilesError::FileMissing)?;
        let real = e.to_real(line_index, byte_index).unwrap_or(0);
        let start = f.line_start(line_index).map_or(0, |s| s as usize);
        Ok(f.text.get(start..real).map_or(0, |s| s.chars().count()) + 1)
    }
}

/// Characters of a message, label or note shown before it is cut (messages quote values
/// from the files, which can be as long as a line).
const MAX_TEXT: usize = 500;

/// `terminal_safe`, and cut to [`MAX_TEXT`] characters.
fn shown_text(s: &str) -> String {
    let safe = terminal_safe(s);
    match safe.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}{ELLIPSIS}", safe.get(..i).unwrap_or("")),
        None => safe.into_owned(),
    }
}

/// The diagnostic for codespan, with its labels moved into the excerpts of its files.
fn to_codespan<'s>(d: &Diagnostic, sources: &'s Sources) -> (cs::Diagnostic<FileId>, Excerpts<'s>) {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Info => cs::Severity::Note,
    };
    // Label ends in real offsets, on character boundaries.
    let ends: Vec<(FileId, usize, usize)> = d
        .labels
        .iter()
        .filter_map(|l| {
            let f = sources.get(l.loc.file)?;
            let start = floor_char_boundary(&f.text, l.loc.span.start as usize);
            let end = ceil_char_boundary(&f.text, (l.loc.span.end as usize).max(start));
            Some((l.loc.file, start, end))
        })
        .collect();
    let mut points: std::collections::BTreeMap<FileId, Vec<usize>> = Default::default();
    for &(file, start, end) in &ends {
        points.entry(file).or_default().extend([start, end]);
    }
    let files = points
        .iter()
        .filter_map(|(id, p)| Some((*id, Excerpt::new(sources.get(*id)?, p))))
        .collect();
    let excerpts = Excerpts { sources, files };
    let labels = d
        .labels
        .iter()
        .filter(|l| sources.get(l.loc.file).is_some())
        .zip(&ends)
        .filter_map(|(l, &(file, start, end))| {
            let f = sources.get(file)?;
            let e = excerpts.files.get(&file)?;
            let a = e.to_excerpt(f.line_of(u32::try_from(start).ok()?), start);
            let b = e
                .to_excerpt(f.line_of(u32::try_from(end).ok()?), end)
                .max(a);
            let style = if l.primary {
                cs::LabelStyle::Primary
            } else {
                cs::LabelStyle::Secondary
            };
            Some(cs::Label::new(style, file, a..b).with_message(shown_text(&l.message)))
        })
        .collect();
    let mut notes: Vec<String> = d.notes.clone();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    if let Some(fix) = &d.fix {
        let how = match fix.applicability {
            Applicability::Safe => "fix",
            Applicability::Unsafe => "fix (unsafe)",
        };
        notes.push(format!("{how}: {}", fix.title));
    }
    let notes = notes.iter().map(|n| shown_text(n)).collect();
    let diagnostic = cs::Diagnostic::new(severity)
        .with_code(d.code)
        .with_message(shown_text(&d.message))
        .with_labels(labels)
        .with_notes(notes);
    (diagnostic, excerpts)
}

/// Render diagnostics for a person. `color` adds ANSI colour.
///
/// The output goes to a terminal, so text from the user's files (source lines, and values
/// quoted in messages) is made inert first: see [`terminal_safe`]. A long source line is
/// shown as windows around the labels (see [`Excerpt`]), so the output and the time it
/// takes are bounded by what is shown.
pub fn human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    human_limited(diags, sources, color, usize::MAX, "")
}

/// [`human`], showing at most `limit` diagnostics: the most severe first (errors, then
/// warnings, then notes, each in file order), printed in file order, then one line saying
/// how many more there are, followed by `hint`.
pub fn human_limited(
    diags: &[Diagnostic],
    sources: &Sources,
    color: bool,
    limit: usize,
    hint: &str,
) -> String {
    let config = Config::default();
    let styles = Styles::default();
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let shown: Vec<&Diagnostic> = if diags.len() <= limit {
        diags.iter().collect()
    } else {
        let rank = |s: Severity| match s {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        let mut order: Vec<usize> = (0..diags.len()).collect();
        order.sort_by_key(|&i| (diags.get(i).map_or(3, |d| rank(d.severity)), i));
        order.truncate(limit);
        order.sort_unstable();
        order.iter().filter_map(|&i| diags.get(i)).collect()
    };
    {
        let mut writer = StylesWriter::new(&mut buffer, &styles);
        for d in &shown {
            let (cs, excerpts) = to_codespan(d, sources);
            // A rendering failure (a label outside its file) must not lose the diagnostic.
            if term::emit_to_write_style(&mut writer, &config, &excerpts, &cs).is_err() {
                let plain = cs::Diagnostic::new(cs.severity)
                    .with_code(d.code)
                    .with_message(cs.message.clone())
                    .with_notes(cs.notes.clone());
                let _ = term::emit_to_write_style(&mut writer, &config, &excerpts, &plain);
            }
        }
    }
    let mut out = String::from_utf8_lossy(buffer.as_slice()).into_owned();
    let hidden = diags.len() - shown.len();
    if hidden > 0 {
        let count = |s: Severity| {
            diags.iter().filter(|d| d.severity == s).count()
                - shown.iter().filter(|d| d.severity == s).count()
        };
        let mut kinds = Vec::new();
        for (s, word) in [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Info, "note"),
        ] {
            match count(s) {
                0 => {}
                1 => kinds.push(format!("1 {word}")),
                n => kinds.push(format!("{n} {word}s")),
            }
        }
        out.push_str(&format!(
            "... and {hidden} more not shown ({}){hint}\n\n",
            kinds.join(", ")
        ));
    }
    out
}

/// Text that is safe to print on a terminal: control characters (ESC, NUL, backspace, a
/// carriage return not followed by a line feed, C1 controls) and bidirectional overrides
/// could move the cursor, recolour or hide text ("Trojan source"). Each such character
/// becomes one `?` per UTF-8 byte, so byte offsets (spans) stay valid. Tabs, line feeds
/// and CRLF pass through.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |(i, c): (usize, char)| match c {
        '\t' | '\n' => false,
        '\r' => s.as_bytes().get(i + 1) != Some(&b'\n'),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    };
    if !s.char_indices().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if bad((i, c)) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn terminal_escapes_are_neutralised_and_offsets_kept() {
        let hostile = "a\u{1b}[2Jb\u{0}c\r\nd\re\u{202E}f\u{85}g\th";
        let safe = terminal_safe(hostile);
        assert_eq!(safe, "a?[2Jb?c\r\nd?e???f??g\th");
        assert_eq!(safe.len(), hostile.len());
        assert!(matches!(
            terminal_safe("plain\ttext\r\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

/// One diagnostic as JSON: code, severity, message, file, 1-based line/column, byte range,
/// plus labels, notes, help and fix.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub start: u32,
    pub end: u32,
    pub labels: Vec<JsonLabel<'a>>,
    pub notes: &'a [String],
    pub help: Option<&'a str>,
    pub fix: Option<JsonFix<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonLabel<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub start: u32,
    pub end: u32,
    pub message: &'a str,
    pub primary: bool,
}

#[derive(Debug, Serialize)]
pub struct JsonFix<'a> {
    pub title: &'a str,
    pub applicability: Applicability,
    pub edits: Vec<JsonEdit<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonEdit<'a> {
    pub file: &'a str,
    pub start: u32,
    pub end: u32,
    pub replacement: &'a str,
}

pub fn json_diagnostic<'a>(d: &'a Diagnostic, sources: &'a Sources) -> JsonDiagnostic<'a> {
    let pos = |file: FileId, offset: u32| sources.get(file).map_or((1, 1), |f| f.line_col(offset));
    let primary = d.primary();
    let (file, start, end) = primary.map_or((FileId::default(), 0, 0), |l| {
        (l.loc.file, l.loc.span.start, l.loc.span.end)
    });
    let (line, column) = pos(file, start);
    let (end_line, end_column) = pos(file, end);
    JsonDiagnostic {
        code: d.code,
        name: crate::codes::lookup(d.code).map_or("", |c| c.name),
        severity: d.severity,
        message: &d.message,
        file: sources.name(file),
        line,
        column,
        end_line,
        end_column,
        start,
        end,
        labels: d
            .labels
            .iter()
            .map(|l| {
                let (line, column) = pos(l.loc.file, l.loc.span.start);
                JsonLabel {
                    file: sources.name(l.loc.file),
                    line,
                    column,
                    start: l.loc.span.start,
                    end: l.loc.span.end,
                    message: &l.message,
                    primary: l.primary,
                }
            })
            .collect(),
        notes: &d.notes,
        help: d.help.as_deref(),
        fix: d.fix.as_ref().map(|f| JsonFix {
            title: &f.title,
            applicability: f.applicability,
            edits: f
                .edits
                .iter()
                .map(|e| JsonEdit {
                    file: sources.name(e.loc.file),
                    start: e.loc.span.start,
                    end: e.loc.span.end,
                    replacement: &e.replacement,
                })
                .collect(),
        }),
    }
}

/// All diagnostics as a JSON array (pretty-printed, one object per diagnostic).
pub fn json(diags: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<JsonDiagnostic<'_>> =
        diags.iter().map(|d| json_diagnostic(d, sources)).collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
}

/// Documentation of a code, lint or not: (name, one-line summary, full text, default level).
fn code_docs(code: &str) -> (&'static str, &'static str, String, Severity) {
    if let Some(r) = crate::lints::lookup(code) {
        let level = match r.severity {
            crate::lints::RuleSeverity::Error | crate::lints::RuleSeverity::ErrorInProduction => {
                Severity::Error
            }
            crate::lints::RuleSeverity::Warning => Severity::Warning,
            crate::lints::RuleSeverity::Info => Severity::Info,
        };
        return (r.name, r.summary, crate::lints::rules_doc_text(r), level);
    }
    match crate::codes::lookup(code) {
        Some(c) => (c.name, c.summary, c.explanation.to_string(), c.severity),
        None => ("", "", String::new(), Severity::Error),
    }
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative URI for a file name (SARIF artifact locations are URI references).
fn uri(name: &str) -> String {
    let mut out = String::new();
    for b in name.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn region(sources: &Sources, loc: crate::source::Loc) -> serde_json::Value {
    let (sl, sc, el, ec) = match sources.get(loc.file) {
        Some(f) => {
            let (sl, sc) = f.line_col(loc.span.start);
            let (el, ec) = f.line_col(loc.span.end);
            (sl, sc, el, ec)
        }
        None => (1, 1, 1, 1),
    };
    serde_json::json!({ "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec })
}

fn location(
    sources: &Sources,
    loc: crate::source::Loc,
    message: Option<&str>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(sources.name(loc.file)) },
            "region": region(sources, loc),
        }
    });
    if let (Some(m), Some(obj)) = (message, v.as_object_mut()) {
        obj.insert("message".into(), serde_json::json!({ "text": m }));
    }
    v
}

/// SARIF 2.1.0: one run, the rules that appear (with their docs and default level), and
/// one result per diagnostic with its location, related locations and fix.
pub fn sarif(diags: &[Diagnostic], sources: &Sources) -> String {
    let mut codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| {
            let (name, summary, text, level) = code_docs(code);
            serde_json::json!({
                "id": code,
                "name": name,
                "shortDescription": { "text": summary },
                "fullDescription": { "text": summary },
                "help": { "text": text, "markdown": text },
                "defaultConfiguration": { "level": sarif_level(level) },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut r = serde_json::json!({
                "ruleId": d.code,
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": sarif_level(d.severity),
                "message": { "text": match &d.help { Some(h) => format!("{} (help: {h})", d.message), None => d.message.clone() } },
                "locations": d.primary().map(|l| vec![location(sources, l.loc, Some(&l.message))]).unwrap_or_default(),
            });
            let related: Vec<serde_json::Value> = d
                .labels
                .iter()
                .filter(|l| !l.primary)
                .enumerate()
                .map(|(i, l)| {
                    let mut v = location(sources, l.loc, Some(&l.message));
                    if let Some(o) = v.as_object_mut() {
                        o.insert("id".into(), serde_json::json!(i));
                    }
                    v
                })
                .collect();
            if let Some(o) = r.as_object_mut() {
                if !related.is_empty() {
                    o.insert("relatedLocations".into(), serde_json::Value::Array(related));
                }
                if let Some(fix) = &d.fix {
                    let changes: Vec<serde_json::Value> = fix
                        .edits
                        .iter()
                        .map(|e| {
                            serde_json::json!({
                                "artifactLocation": { "uri": uri(sources.name(e.loc.file)) },
                                "replacements": [{ "deletedRegion": region(sources, e.loc), "insertedContent": { "text": e.replacement } }],
                            })
                        })
                        .collect();
                    o.insert("fixes".into(), serde_json::json!([{ "description": { "text": fix.title }, "artifactChanges": changes }]));
                }
            }
            r
        })
        .collect();
    let log = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kumoc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/kumoc/kumoc",
                "rules": rules,
            } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string())
}

/// GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line each.
pub fn github(diags: &[Diagnostic], sources: &Sources) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = format!("{} [{}]", d.message, d.code);
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        match d.primary() {
            Some(l) => {
                let (line, col, end_line, end_col) = match sources.get(l.loc.file) {
                    Some(f) => {
                        let (a, b) = f.line_col(l.loc.span.start);
                        let (c, e) = f.line_col(l.loc.span.end);
                        (a, b, c, e)
                    }
                    None => (1, 1, 1, 1),
                };
                out.push_str(&format!(
                    "::{kind} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
                    prop(sources.name(l.loc.file)),
                    prop(d.code),
                    data(&message)
                ));
            }
            None => out.push_str(&format!(
                "::{kind} title={}::{}\n",
                prop(d.code),
                data(&message)
            )),
        }
    }
    out
}
