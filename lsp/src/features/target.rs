//! What is at a position: the syntax tree walked together with the schema, so the answer
//! knows which block it is in and what type a field has.

use kumoc_compiler::schema::{self, BlockSchema};
use kumoc_lang::ast::{Attr, Block, Stmt};

/// What the cursor is on.
pub enum Target<'a> {
    /// A block keyword.
    Keyword(&'static BlockSchema),
    /// An attribute's key.
    Key(&'a Attr, &'static BlockSchema),
    /// An attribute's value (or the empty place after `=`).
    Value(&'a Attr, &'static BlockSchema),
    /// A block label (`source "x"`, `from provider.x`).
    Label(&'a Block, &'static BlockSchema),
    /// Anywhere else inside a block body (or at the top level): where a statement may start.
    Body(&'static BlockSchema),
}

/// What the top-level statement `stmt` makes of `offset`, if it claims it: an attribute
/// that holds it, a block whose keyword, label or body holds it. A block that only touches
/// it (`offset` on its `{` or right after its `}`) leaves it to the next statement.
pub fn claim(stmt: &Stmt, offset: u32) -> Option<Target<'_>> {
    let mut schema: &'static BlockSchema = &schema::ROOT;
    let mut items = std::slice::from_ref(stmt);
    let mut top = true;
    loop {
        let mut descended = false;
        for s in items {
            match s {
                Stmt::Block(b) if b.span.start <= offset && (offset <= b.span.end || !b.closed) => {
                    let Some(child) = schema.child(&b.keyword.name) else {
                        return Some(Target::Body(schema));
                    };
                    if b.keyword.span.contains(offset) {
                        return Some(Target::Keyword(child));
                    }
                    if b.label.as_ref().is_some_and(|l| l.span.contains(offset))
                        || b.from.as_ref().is_some_and(|f| f.span.contains(offset))
                    {
                        return Some(Target::Label(b, child));
                    }
                    if offset > b.body_span.start && (offset < b.span.end || !b.closed) {
                        schema = child;
                        items = &b.body;
                        descended = true;
                        break;
                    }
                }
                Stmt::Attr(a)
                    if a.span.start <= offset && offset <= a.span.end.max(a.value.span.end) =>
                {
                    if a.key.span.contains(offset) && offset < a.key.span.end {
                        return Some(Target::Key(a, schema));
                    }
                    if offset > a.key.span.end {
                        return Some(Target::Value(a, schema));
                    }
                    return Some(Target::Key(a, schema));
                }
                _ => {}
            }
        }
        if !descended {
            return (!top).then_some(Target::Body(schema));
        }
        top = false;
    }
}
