//! Renderers of the one diagnostic model: for people (codespan-reporting, with or without
//! colour) and as JSON. The caller decides colour; nothing here looks at the terminal.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::termcolor::Buffer;
use codespan_reporting::term::{self, Config, Styles, StylesWriter};
use serde::Serialize;

use crate::diagnostic::{Applicability, Diagnostic, Severity};
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
        let starts = f.line_starts();
        let start = *starts.get(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: starts.len().saturating_sub(1),
        })? as usize;
        let end = starts
            .get(line_index + 1)
            .map_or(f.text.len(), |&e| e as usize);
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

fn to_codespan(d: &Diagnostic, sources: &Sources) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Info => cs::Severity::Note,
    };
    let labels = d
        .labels
        .iter()
        .filter(|l| sources.get(l.loc.file).is_some())
        .map(|l| {
            let style = if l.primary {
                cs::LabelStyle::Primary
            } else {
                cs::LabelStyle::Secondary
            };
            let text = sources.get(l.loc.file).map_or("", |f| f.text.as_str());
            let start = floor_char_boundary(text, l.loc.span.start as usize);
            let end = ceil_char_boundary(text, (l.loc.span.end as usize).max(start));
            cs::Label::new(style, l.loc.file, start..end).with_message(l.message.clone())
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
    cs::Diagnostic::new(severity)
        .with_code(d.code)
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Render diagnostics for a person. `color` adds ANSI colour.
///
/// The output goes to a terminal, so text from the user's files (source lines, and values
/// quoted in messages) is made inert first: see [`terminal_safe`].
pub fn human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let config = Config::default();
    let styles = Styles::default();
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    // Copy the sources only when one of them holds something to neutralise (rare).
    let safe_sources;
    let sources = if sources
        .iter()
        .any(|(_, f)| matches!(terminal_safe(&f.text), std::borrow::Cow::Owned(_)))
    {
        let mut copy = Sources::default();
        for (_, f) in sources.iter() {
            copy.add(crate::source::SourceFile::new(
                terminal_safe(&f.name).into_owned(),
                terminal_safe(&f.text).into_owned(),
                f.is_stdlib,
            ));
        }
        safe_sources = copy;
        &safe_sources
    } else {
        sources
    };
    {
        let mut writer = StylesWriter::new(&mut buffer, &styles);
        for d in diags {
            let mut cs = to_codespan(d, sources);
            cs.message = terminal_safe(&cs.message).into_owned();
            for l in &mut cs.labels {
                l.message = terminal_safe(&l.message).into_owned();
            }
            for n in &mut cs.notes {
                *n = terminal_safe(n).into_owned();
            }
            // A rendering failure (a label outside its file) must not lose the diagnostic.
            if term::emit_to_write_style(&mut writer, &config, sources, &cs).is_err() {
                let plain = cs::Diagnostic::new(cs.severity)
                    .with_code(d.code)
                    .with_message(cs.message.clone())
                    .with_notes(cs.notes.clone());
                let _ = term::emit_to_write_style(&mut writer, &config, sources, &plain);
            }
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
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

fn region(sources: &Sources, loc: crate::diagnostic::Loc) -> serde_json::Value {
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
    loc: crate::diagnostic::Loc,
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
