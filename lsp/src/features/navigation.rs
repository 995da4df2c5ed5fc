//! Names across a deployment: which name is at a position, where it is defined, every
//! place it is written (references, rename).

use kumoc_compiler::schema::{self, BlockSchema, Ty};
use kumoc_lang::ast::{Block, Stmt, ValueKind};

use crate::features::target::Target;

/// The block that defines a name referenced at the target, as (keyword, label).
pub fn reference_at(target: &Target<'_>) -> Option<(&'static str, String)> {
    match target {
        Target::Value(a, schema) => {
            let field = schema.field(&a.key.name)?;
            match (&field.ty, &a.value.kind) {
                (Ty::Ref(kind), ValueKind::Path(p)) => Some((kind.noun(), p.text())),
                (Ty::Ref(kind), ValueKind::Str(s)) => {
                    Some((kind.noun(), s.value.as_str().to_owned()))
                }
                (Ty::Secret, ValueKind::Call(c)) => match c.args.first().map(|a| &a.value.kind) {
                    Some(ValueKind::Str(s)) => Some(("secret", s.value.as_str().to_owned())),
                    _ => None,
                },
                _ => None,
            }
        }
        Target::Label(b, schema) => {
            if let Some(f) = &b.from {
                return f
                    .segments
                    .get(1)
                    .map(|s| ("provider", s.name.as_str().to_owned()));
            }
            match (schema.keyword, b.label_text()) {
                ("source", Some(l)) if !std::ptr::eq(*schema, &schema::SOURCE) => {
                    Some(("source", l.to_string()))
                }
                ("tenant", Some(l)) if !std::ptr::eq(*schema, &schema::TENANT) => {
                    Some(("tenant", l.to_string()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// On the name of a `provider` or `shaping` block: that block, as (keyword, label), whose
/// built-in preset (if any) it changes.
pub fn preset_block(target: &Target<'_>) -> Option<(&'static str, String)> {
    match target {
        Target::Label(b, schema) if matches!(schema.keyword, "provider" | "shaping") => {
            b.label_text().map(|l| (schema.keyword, l.to_string()))
        }
        _ => None,
    }
}

/// Where a block `keyword label` is defined in these statements (top level, or a source
/// defined inside a pool).
pub fn find_definition<'a>(items: &'a [Stmt], keyword: &str, label: &str) -> Option<&'a Block> {
    for s in items {
        if let Stmt::Block(b) = s {
            if b.keyword.name == keyword && b.label_text() == Some(label) {
                return Some(b);
            }
            if keyword == "source" && b.keyword.name == "pool" {
                if let Some(c) = b
                    .blocks()
                    .find(|c| c.keyword.name == "source" && c.label_text() == Some(label))
                {
                    return Some(c);
                }
            }
        }
    }
    None
}

/// Every place a name of `keyword`'s kind is written in these statements: its definition
/// (a block label), references (`egress_pool = shared`, `secret("x")`, `from provider.x`,
/// `source x` / `tenant x` blocks that refer to it).
pub fn occurrences(items: &[Stmt], keyword: &str, name: &str) -> Vec<kumoc_lang::Span> {
    fn walk(
        items: &[Stmt],
        schema: &'static BlockSchema,
        keyword: &str,
        name: &str,
        out: &mut Vec<kumoc_lang::Span>,
    ) {
        for s in items {
            match s {
                Stmt::Block(b) => {
                    let Some(child) = schema.child(&b.keyword.name) else {
                        continue;
                    };
                    if b.keyword.name == keyword && b.label_text() == Some(name) {
                        if let Some(l) = &b.label {
                            out.push(l.span);
                        }
                    }
                    if keyword == "provider" {
                        if let Some(f) = &b.from {
                            if let Some(seg) = f.segments.get(1).filter(|s| s.name == name) {
                                out.push(seg.span);
                            }
                        }
                    }
                    walk(&b.body, child, keyword, name, out);
                }
                Stmt::Attr(a) => {
                    let Some(field) = schema.field(&a.key.name) else {
                        continue;
                    };
                    match (&field.ty, &a.value.kind) {
                        (Ty::Ref(k), ValueKind::Path(p))
                            if k.noun() == keyword && p.text() == name =>
                        {
                            out.push(a.value.span)
                        }
                        (Ty::Ref(k), ValueKind::Str(s))
                            if k.noun() == keyword && s.value == name =>
                        {
                            out.push(a.value.span)
                        }
                        (Ty::Secret, ValueKind::Call(c)) if keyword == "secret" => {
                            if let Some(arg) = c.args.first().filter(
                                |a| matches!(&a.value.kind, ValueKind::Str(s) if s.value == name),
                            ) {
                                out.push(arg.value.span);
                            }
                        }
                        _ => {}
                    }
                }
                Stmt::Error(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(items, &schema::ROOT, keyword, name, &mut out);
    out
}

/// The name at a target, whether it is a reference or a definition, as (keyword, name).
pub fn name_at(target: &Target<'_>) -> Option<(&'static str, String)> {
    if let Some(r) = reference_at(target) {
        return Some(r);
    }
    match target {
        Target::Label(b, schema) if b.from.is_none() => {
            let kw = match schema.keyword {
                "pool" => "pool",
                "source" => "source",
                "tenant" => "tenant",
                "secret" => "secret",
                "provider" => "provider",
                _ => return None,
            };
            b.label_text().map(|l| (kw, l.to_string()))
        }
        _ => None,
    }
}

/// Whether a new name can be written bare (otherwise it is quoted).
pub fn is_bare_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
