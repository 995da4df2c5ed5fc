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

/// How many rounds [`until_stable`] runs at most. Fixes settle in two or three rounds (a fix
/// skipped because it overlapped another is applied in the next one); more means fixes that
/// keep producing new fixable problems.
pub const MAX_ROUNDS: usize = 10;

/// The result of [`until_stable`].
#[derive(Debug)]
pub struct FixRun {
    /// The files, in the order and with the names given; the changed ones fixed (and
    /// formatted when they parse).
    pub files: Vec<(String, Vec<u8>)>,
    /// Which of them changed.
    pub changed: Vec<bool>,
    /// Fixes applied over all rounds.
    pub applied: usize,
    /// Rounds that changed something.
    pub rounds: usize,
    /// `false` when fixes could still be applied after [`MAX_ROUNDS`] rounds, or when a
    /// round brought back the text of an earlier one (fixes undoing each other).
    pub converged: bool,
    /// The analysis of the final text.
    pub analysis: crate::Analysis,
}

/// Apply fixes, re-analyse, and repeat until no fix applies (a fixpoint), at most
/// `max_rounds` times, so one `kumoc check --fix` leaves the files as fixed as they can be.
/// A file that is not valid UTF-8 is never changed (writing its decoded text back would
/// replace the invalid bytes).
pub fn until_stable(
    mut files: Vec<(String, Vec<u8>)>,
    options: &crate::Options,
    unsafe_fixes: bool,
    max_rounds: usize,
) -> FixRun {
    use std::hash::{Hash, Hasher};
    let state = |files: &[(String, Vec<u8>)]| {
        let mut h = std::hash::DefaultHasher::new();
        files.hash(&mut h);
        h.finish()
    };
    let fixable: Vec<bool> = files
        .iter()
        .map(|(_, b)| std::str::from_utf8(b).is_ok())
        .collect();
    let original = files.clone();
    let mut seen = std::collections::BTreeSet::from([state(&files)]);
    let mut guessed: Option<std::collections::BTreeSet<(&'static str, String)>> = None;
    let mut applied = 0;
    let mut rounds = 0;
    let (analysis, converged) = loop {
        let analysis = crate::analyze(&files, options);
        let ids: Vec<FileId> = analysis.user_files().map(|(id, _)| id).collect();
        let mut next = files.clone();
        let mut count = 0;
        let mut progressed = false;
        // Unsafe fixes are guesses: apply them to problems of the text as the user wrote it
        // (also those a safe fix revealed), never to a problem an earlier guess made (`90`
        // -> `90s` must not then raise `max_age` to fit its retries). A problem skipped in a
        // round because its fix overlapped another keeps its code and message, so it is
        // still fixed in a later round.
        let is_safe = |d: &crate::Diagnostic| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == crate::diagnostic::Applicability::Safe)
        };
        let candidates: Vec<crate::Diagnostic> = analysis
            .diagnostics
            .iter()
            .filter(|d| {
                is_safe(d)
                    || guessed
                        .as_ref()
                        .is_none_or(|g| g.contains(&(d.code, d.message.clone())))
            })
            .cloned()
            .collect();
        if unsafe_fixes
            && guessed.is_none()
            && candidates.iter().any(|d| d.fix.is_some() && !is_safe(d))
        {
            guessed = Some(
                analysis
                    .diagnostics
                    .iter()
                    .map(|d| (d.code, d.message.clone()))
                    .collect(),
            );
        }
        for (id, (text, n)) in apply(&candidates, &analysis.sources, unsafe_fixes) {
            let Some(i) = ids.iter().position(|x| *x == id) else {
                continue;
            };
            if !fixable.get(i).copied().unwrap_or(false) {
                continue;
            }
            let text = kumoc_lang::format::format(&text).unwrap_or(text);
            if let Some(slot) = next.get_mut(i).filter(|f| f.1 != text.as_bytes()) {
                slot.1 = text.into_bytes();
                count += n;
                progressed = true;
            }
        }
        if !progressed {
            break (analysis, true);
        }
        if rounds == max_rounds {
            break (analysis, false);
        }
        files = next;
        applied += count;
        rounds += 1;
        if !seen.insert(state(&files)) {
            break (crate::analyze(&files, options), false);
        }
    };
    let changed = files
        .iter()
        .zip(&original)
        .map(|(f, o)| f.1 != o.1)
        .collect();
    FixRun {
        files,
        changed,
        applied,
        rounds,
        converged,
        analysis,
    }
}
