//! Inline suppressions: `// kumoc-allow(KUMO-TLS001): why this is fine here`.
//!
//! A suppression comment on its own line covers the statement that follows it (a whole
//! block when it stands above a block); one after a statement on the same line covers that
//! statement. It must give a reason. Only lints and warnings can be suppressed; a compile
//! error cannot. An unused, reasonless or unknown suppression is itself reported (K3001,
//! K3002, K3003). "Unused" is judged only when the description compiles: with a compile
//! error, a rule may not have run over what the suppression covers, and an editor would
//! offer to delete a suppression that is still needed.

use kumoc_lang::ast::{Span, Stmt};

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::severity::Severity;
use crate::source::{FileId, Loc, Sources};

use super::syntax::Syntax;

struct Allow {
    file: FileId,
    codes: Vec<(String, Span)>,
    reason: bool,
    comment: Span,
    covers: Option<Span>,
}

/// What starts a suppression in a comment (the language server's quick diagnostics, which
/// do not apply suppressions, give none for a file that has one).
pub(crate) const MARKER: &str = "kumoc-allow(";

fn parse_comment(text: &str, span: Span) -> Option<(Vec<(String, Span)>, bool)> {
    let at = text.find(MARKER)?;
    let open = at + MARKER.len();
    let close = open + text.get(open..)?.find(')')?;
    let inner = text.get(open..close)?;
    let mut codes = Vec::new();
    let mut offset = open;
    for part in inner.split(',') {
        let trimmed = part.trim();
        let lead = part.len() - part.trim_start().len();
        if !trimmed.is_empty() {
            codes.push((
                trimmed.to_string(),
                span.subspan(offset + lead..offset + lead + trimmed.len()),
            ));
        }
        offset += part.len() + 1;
    }
    let rest = text.get(close + 1..).unwrap_or("").trim_start();
    let reason = rest.strip_prefix(':').is_some_and(|r| {
        let r = r.trim().trim_end_matches("*/").trim();
        !r.is_empty()
    });
    Some((codes, reason))
}

pub(crate) fn statements(items: &[Stmt], out: &mut Vec<Span>) {
    for s in items {
        out.push(s.span());
        if let Stmt::Block(b) = s {
            statements(&b.body, out);
        }
    }
}

/// Whether a code may be suppressed: lint rules and warning-level checker codes.
fn suppressible(code: &str) -> bool {
    super::lookup(code).is_some()
        || crate::codes::lookup(code).is_some_and(|c| c.severity == Severity::Warning)
}

/// Remove suppressed diagnostics and report problems with the suppressions themselves;
/// unused ones only when `judge_unused` (the description compiles).
pub fn apply_suppressions(
    diags: &mut Vec<Diagnostic>,
    sources: &Sources,
    syntax: Syntax<'_>,
    judge_unused: bool,
) {
    let mut allows: Vec<Allow> = Vec::new();
    for (file, source) in sources.iter() {
        if source.is_stdlib {
            continue;
        }
        // The statements are listed only for a file with a suppression (most have none).
        let mut stmts = Vec::new();
        for c in syntax.comments(file) {
            let Some((codes, reason)) = parse_comment(&c.text, c.span) else {
                continue;
            };
            if stmts.is_empty() {
                syntax.statement_spans(file, &mut stmts);
            }
            let line = source.line_of(c.span.start);
            let before = source
                .text
                .get(
                    source.line_starts().get(line).copied().unwrap_or(0) as usize
                        ..c.span.start as usize,
                )
                .unwrap_or("");
            let covers = if before.trim().is_empty() {
                // Own line: the next statement.
                stmts
                    .iter()
                    .filter(|s| s.start >= c.span.end)
                    .min_by_key(|s| (s.start, std::cmp::Reverse(s.end)))
                    .copied()
            } else {
                // Trailing: the largest statement ending on this line before the comment.
                stmts
                    .iter()
                    .filter(|s| {
                        s.end <= c.span.start && source.line_of(s.end.saturating_sub(1)) == line
                    })
                    .max_by_key(|s| s.end - s.start)
                    .copied()
            };
            allows.push(Allow {
                file,
                codes,
                reason,
                comment: c.span,
                covers,
            });
        }
    }
    if allows.is_empty() {
        return;
    }
    let mut used = vec![Vec::<bool>::new(); allows.len()];
    for (i, a) in allows.iter().enumerate() {
        used[i] = vec![false; a.codes.len()];
    }
    diags.retain(|d| {
        if !suppressible(d.code)
            || (d.severity == Severity::Error && super::lookup(d.code).is_none())
        {
            return true;
        }
        let Some(primary) = d.primary() else {
            return true;
        };
        for (i, a) in allows.iter().enumerate() {
            let Some(span) = a.covers else { continue };
            if !a.reason
                || a.file != primary.loc.file
                || primary.loc.span.start < span.start
                || primary.loc.span.start > span.end
            {
                continue;
            }
            if let Some(j) = a
                .codes
                .iter()
                .position(|(c, _)| c.eq_ignore_ascii_case(d.code))
            {
                if let Some(slot) = used.get_mut(i).and_then(|u| u.get_mut(j)) {
                    *slot = true;
                }
                return false;
            }
        }
        true
    });
    for (i, a) in allows.iter().enumerate() {
        if !a.reason {
            diags.push(
                Diagnostic::new(codes::SUPPRESSION_WITHOUT_REASON, "a suppression must say why", Loc::new(a.file, a.comment), "no reason given")
                    .with_help("write the reason after a colon: `// kumoc-allow(KUMO-TLS001): the receiving MTA has no valid certificate`"),
            );
            continue;
        }
        for (j, (code, span)) in a.codes.iter().enumerate() {
            let at = Loc::new(a.file, *span);
            if !suppressible(code) {
                let mut d = Diagnostic::new(
                    codes::UNSUPPRESSIBLE_CODE,
                    format!("`{code}` cannot be suppressed"),
                    at,
                    "not a lint or a warning",
                );
                d = match crate::codes::lookup(code) {
                    Some(_) => d.with_help(
                        "errors from the checker cannot be suppressed: fix the problem instead",
                    ),
                    None => d.with_help("`kumoc explain` lists every code"),
                };
                diags.push(d);
            } else if judge_unused
                && !used.get(i).and_then(|u| u.get(j)).copied().unwrap_or(false)
                // A DNS rule runs only in `kumoc dns --check`: `kumoc check` cannot judge it.
                && !super::lookup(code).is_some_and(|r| matches!(r.kind, super::Kind::Dns(_)))
            {
                let mut d = Diagnostic::new(codes::UNUSED_SUPPRESSION, format!("unused suppression of `{code}`"), at, "nothing to suppress here")
                    .with_help("remove it; a suppression covers the statement after it, or the one it follows on the same line");
                if a.codes.len() == 1 {
                    d = d.with_replacement(
                        "remove the suppression",
                        Loc::new(a.file, a.comment),
                        "",
                    );
                }
                diags.push(d);
            }
        }
    }
}
