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

/// Find what is at `offset` in a file's statements.
pub fn target_at(items: &[Stmt], offset: u32) -> Target<'_> {
    let mut schema: &'static BlockSchema = &schema::ROOT;
    let mut items = items;
    loop {
        let mut descended = false;
        for s in items {
            match s {
                Stmt::Block(b) if b.span.start <= offset && (offset <= b.span.end || !b.closed) => {
                    let Some(child) = schema.child(&b.keyword.name) else {
                        return Target::Body(schema);
                    };
                    if b.keyword.span.contains(offset) {
                        return Target::Keyword(child);
                    }
                    if b.label.as_ref().is_some_and(|l| l.span.contains(offset))
                        || b.from.as_ref().is_some_and(|f| f.span.contains(offset))
                    {
                        return Target::Label(b, child);
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
                        return Target::Key(a, schema);
                    }
                    if offset > a.key.span.end {
                        return Target::Value(a, schema);
                    }
                    return Target::Key(a, schema);
                }
                _ => {}
            }
        }
        if !descended {
            return Target::Body(schema);
        }
    }
}
