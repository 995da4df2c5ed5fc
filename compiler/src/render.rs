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
pub fn human(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let config = Config::default();
    let styles = Styles::default();
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    {
        let mut writer = StylesWriter::new(&mut buffer, &styles);
        for d in diags {
            let cs = to_codespan(d, sources);
            // A rendering failure (a label outside its file) must not lose the diagnostic.
            if term::emit_to_write_style(&mut writer, &config, sources, &cs).is_err() {
                let plain = cs::Diagnostic::new(cs.severity)
                    .with_code(d.code)
                    .with_message(d.message.clone())
                    .with_notes(cs.notes.clone());
                let _ = term::emit_to_write_style(&mut writer, &config, sources, &plain);
            }
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
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
