//! Semantic tokens: every token worth colouring, with its type in the legend.

use kumoc_lang::ast::{Comment, Stmt, ValueKind};

/// Semantic token types, in legend order.
pub const TOKEN_TYPES: &[&str] = &[
    "keyword",
    "property",
    "string",
    "number",
    "enumMember",
    "variable",
    "function",
    "comment",
];

/// (start, end, type index) of every token of one top-level piece worth colouring (its
/// statement and comments, spans relative to `base`), in text order, appended to `out`
/// with absolute offsets.
pub fn piece_tokens(
    stmt: Option<&Stmt>,
    comments: &[Comment],
    base: u32,
    out: &mut Vec<(u32, u32, u32)>,
) {
    fn value(v: &kumoc_lang::ast::Value, out: &mut Vec<(u32, u32, u32)>) {
        let span = v.span;
        match &v.kind {
            ValueKind::Str(_) => out.push((span.start, span.end, 2)),
            ValueKind::Number(_) | ValueKind::Rate(_) | ValueKind::Ip(_) => {
                out.push((span.start, span.end, 3))
            }
            ValueKind::Bool(_) => out.push((span.start, span.end, 0)),
            ValueKind::Path(_) => out.push((span.start, span.end, 4)),
            ValueKind::List(l) => l.items.iter().for_each(|i| value(i, out)),
            ValueKind::Call(c) => {
                out.push((c.callee.span.start, c.callee.span.end, 6));
                for a in &c.args {
                    if let Some(n) = &a.name {
                        out.push((n.span.start, n.span.end, 1));
                    }
                    value(&a.value, out);
                }
            }
            ValueKind::Missing | ValueKind::Error(_) => {}
        }
    }
    fn stmts(items: &[Stmt], out: &mut Vec<(u32, u32, u32)>) {
        for s in items {
            match s {
                Stmt::Block(b) => {
                    out.push((b.keyword.span.start, b.keyword.span.end, 0));
                    if let Some(l) = &b.label {
                        out.push((l.span.start, l.span.end, if l.quoted { 2 } else { 5 }));
                    }
                    if let Some(f) = &b.from {
                        out.push((f.span.start, f.span.end, 5));
                    }
                    stmts(&b.body, out);
                }
                Stmt::Attr(a) => {
                    out.push((a.key.span.start, a.key.span.end, 1));
                    value(&a.value, out);
                }
                Stmt::Error(_) => {}
            }
        }
    }
    let first = out.len();
    if let Some(s) = stmt {
        stmts(std::slice::from_ref(s), out);
    }
    out.extend(comments.iter().map(|c| (c.span.start, c.span.end, 7)));
    let mine = out.get_mut(first..).unwrap_or_default();
    mine.sort_unstable();
    for t in mine {
        t.0 = t.0.saturating_add(base);
        t.1 = t.1.saturating_add(base);
    }
}
