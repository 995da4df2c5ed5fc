//! The one diagnostic model. Every phase (syntax, resolution, types, lints) produces
//! [`Diagnostic`]s; renderers (`render`) turn them into terminal text, JSON and, later, LSP
//! and SARIF. A diagnostic is plain data: code, severity, message, labelled spans (possibly
//! in several files), notes, a help line and an optional fix.

use serde::Serialize;

use crate::codes::Code;
use crate::source::FileId;

/// Where a diagnostic points, and how serious it is (their homes are `source` and
/// `severity`; a diagnostic's users find them here too).
pub use crate::severity::Severity;
pub use crate::source::Loc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub loc: Loc,
    pub message: String,
    /// The primary label is where the problem is; secondary ones give context.
    pub primary: bool,
}

/// Whether a fix can be applied without a human looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the meaning the user evidently intended; `kumoc check --fix` applies it.
    Safe,
    /// Changes behaviour; applied only on explicit request.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub loc: Loc,
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, e.g. `K1005` (see [`crate::codes`]) or a lint rule's `KUMO-SEC001`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic of one of kumoc's own codes, with the code's default severity and a
    /// primary label.
    pub fn new(code: Code, message: impl Into<String>, at: Loc, label: impl Into<String>) -> Self {
        Self::coded(code.as_str(), code.severity(), message, at, label)
    }

    /// A diagnostic of any code (a lint rule's, which has its own registry), with a primary
    /// label.
    pub fn coded(
        code: &'static str,
        severity: Severity,
        message: impl Into<String>,
        at: Loc,
        label: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity,
            message: message.into(),
            labels: vec![Label {
                loc: at,
                message: label.into(),
                primary: true,
            }],
            notes: Vec::new(),
            help: None,
            fix: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_secondary(mut self, at: Loc, label: impl Into<String>) -> Self {
        self.labels.push(Label {
            loc: at,
            message: label.into(),
            primary: false,
        });
        self
    }

    pub fn with_fix(
        mut self,
        title: impl Into<String>,
        applicability: Applicability,
        edits: Vec<Edit>,
    ) -> Self {
        self.fix = Some(Fix {
            title: title.into(),
            applicability,
            edits,
        });
        self
    }

    /// A safe fix replacing the text at `at`.
    pub fn with_replacement(
        self,
        title: impl Into<String>,
        at: Loc,
        replacement: impl Into<String>,
    ) -> Self {
        self.with_fix(
            title,
            Applicability::Safe,
            vec![Edit {
                loc: at,
                replacement: replacement.into(),
            }],
        )
    }

    pub fn primary(&self) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
    }

    /// Sort key: file, position, code (so output order is deterministic).
    pub fn sort_key(&self) -> (FileId, u32, u32, &'static str) {
        match self.primary() {
            Some(l) => (l.loc.file, l.loc.span.start, l.loc.span.end, self.code),
            None => (FileId::default(), 0, 0, self.code),
        }
    }
}

/// "did you mean" by edit distance: the closest candidate within a third of the length.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase().replace(['-', '_'], "");
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let cl = c.to_ascii_lowercase().replace(['-', '_'], "");
        let d = if cl == lower {
            0
        } else {
            levenshtein(&lower, &cl) + 1
        };
        let limit = (name.chars().count().max(3) / 3) + 1;
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX) + 1;
            let sub = prev.get(j).copied().unwrap_or(usize::MAX) + cost;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = del.min(ins).min(sub);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("shraed", ["shared", "other"]), Some("shared"));
        assert_eq!(
            did_you_mean("Required", ["required", "disabled"]),
            Some("required")
        );
        assert_eq!(
            did_you_mean(
                "OpportunisticInsecure",
                ["opportunistic_insecure", "opportunistic"]
            ),
            Some("opportunistic_insecure")
        );
        assert_eq!(did_you_mean("zzz", ["shared"]), None);
    }
}
