//! The outline: blocks, nested, with the span of the whole block and of its name.

use kumoc_lang::Span;
use kumoc_lang::ast::Stmt;

/// One block of the outline.
pub struct Symbol {
    /// `keyword label`, or the keyword alone.
    pub name: String,
    pub keyword: String,
    pub span: Span,
    /// The label (or the keyword when there is none).
    pub selection: Span,
    pub children: Vec<Symbol>,
}

/// `span` moved by `base`.
pub fn at(span: Span, base: u32) -> Span {
    Span {
        start: span.start.saturating_add(base),
        end: span.end.saturating_add(base),
    }
}

/// The blocks of these statements (spans relative to `base`), nested, with absolute spans.
pub fn symbols(items: &[Stmt], base: u32) -> Vec<Symbol> {
    items
        .iter()
        .filter_map(|s| match s {
            Stmt::Block(b) => Some(Symbol {
                name: match b.label_text() {
                    Some(l) => format!("{} {l}", b.keyword.name),
                    None => b.keyword.name.as_str().to_owned(),
                },
                keyword: b.keyword.name.as_str().to_owned(),
                span: at(b.span, base),
                selection: at(b.label.as_ref().map_or(b.keyword.span, |l| l.span), base),
                children: symbols(&b.body, base),
            }),
            _ => None,
        })
        .collect()
}
