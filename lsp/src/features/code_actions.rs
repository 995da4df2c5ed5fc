//! Code actions: the fixes of the diagnostics whose primary place overlaps a range.

use kumoc_compiler::diagnostic::Diagnostic;
use kumoc_compiler::{Analysis, FileId};

/// The diagnostics with a fix whose primary label is in `file` and touches `start..=end`.
pub fn fixable(analysis: &Analysis, file: FileId, start: u32, end: u32) -> Vec<&Diagnostic> {
    analysis
        .diagnostics
        .iter()
        .filter(|d| d.fix.is_some())
        .filter(|d| {
            d.primary().is_some_and(|p| {
                p.loc.file == file && p.loc.span.end >= start && p.loc.span.start <= end
            })
        })
        .collect()
}
