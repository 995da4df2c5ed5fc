//! Applying fixes: text edits, per file, without overlaps.

use std::collections::BTreeMap;

use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::source::FileId;

/// The new text of every file that changes when the applicable fixes are applied: safe
/// fixes, and unsafe ones too when `unsafe_fixes`. A fix whose edits overlap an edit
/// already taken is skipped (the next run picks it up). Returns `file → (text, fixes applied)`.
pub fn apply(
    diags: &[Diagnostic],
    sources: &crate::Sources,
    unsafe_fixes: bool,
) -> BTreeMap<FileId, (String, usize)> {
    let mut taken: BTreeMap<FileId, Vec<&Edit>> = BTreeMap::new();
    let mut counts: BTreeMap<FileId, usize> = BTreeMap::new();
    for d in diags {
        let Some(fix) = &d.fix else { continue };
        if fix.applicability == Applicability::Unsafe && !unsafe_fixes {
            continue;
        }
        if fix
            .edits
            .iter()
            .any(|e| sources.get(e.loc.file).is_none_or(|f| f.is_stdlib))
        {
            continue;
        }
        let overlaps = fix.edits.iter().any(|e| {
            taken.get(&e.loc.file).is_some_and(|list| {
                list.iter().any(|t| {
                    e.loc.span.start < t.loc.span.end.max(t.loc.span.start + 1)
                        && t.loc.span.start < e.loc.span.end.max(e.loc.span.start + 1)
                })
            })
        });
        if overlaps {
            continue;
        }
        for e in &fix.edits {
            taken.entry(e.loc.file).or_default().push(e);
            *counts.entry(e.loc.file).or_default() += 0;
        }
        if let Some(first) = fix.edits.first() {
            *counts.entry(first.loc.file).or_default() += 1;
        }
    }
    let mut out = BTreeMap::new();
    for (file, mut edits) in taken {
        let Some(source) = sources.get(file) else {
            continue;
        };
        edits.sort_by_key(|e| (e.loc.span.start, e.loc.span.end));
        let mut text = String::with_capacity(source.text.len());
        let mut at = 0usize;
        for e in edits {
            let (start, end) = (e.loc.span.start as usize, e.loc.span.end as usize);
            if start < at
                || end > source.text.len()
                || !source.text.is_char_boundary(start)
                || !source.text.is_char_boundary(end)
            {
                continue;
            }
            text.push_str(source.text.get(at..start).unwrap_or(""));
            text.push_str(&e.replacement);
            at = end;
        }
        text.push_str(source.text.get(at..).unwrap_or(""));
        out.insert(file, (text, counts.get(&file).copied().unwrap_or(0)));
    }
    out
}
