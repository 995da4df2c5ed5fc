//! Editor features over the syntax tree and the schema: what is at a position, hover text,
//! completion items, definitions, the outline. Pure functions; `lib.rs` does the protocol.

use kumoc_compiler::schema::{self, BlockSchema, Field, RefKind, Ty};
use kumoc_lang::ast::{Attr, Block, Stmt, ValueKind};

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

fn child_schema(parent: &'static BlockSchema, keyword: &str) -> Option<&'static BlockSchema> {
    parent.child(keyword)
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
                    let Some(child) = child_schema(schema, &b.keyword.name) else {
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

/// Markdown for a field: what it means, its type, default and release.
pub fn field_doc(f: &Field) -> String {
    let mut s = format!("**{}** — {}\n\nType: {}", f.name, f.doc, f.ty.describe());
    if let Some(d) = f.default {
        s.push_str(&format!("  \nDefault: `{d}`"));
    }
    if f.required {
        s.push_str("  \nRequired.");
    }
    if let Some(feature) = f.since {
        let since = feature.introduced_in();
        s.push_str(&format!("  \nSince KumoMTA {since}."));
    }
    if let Ty::Enum(vs) = &f.ty {
        s.push_str("\n\n");
        for v in *vs {
            s.push_str(&format!(
                "- `{}` (KumoMTA `{}`): {}\n",
                v.name, v.kumo, v.doc
            ));
        }
    }
    s
}

pub fn block_doc(b: &BlockSchema) -> String {
    let mut s = format!("**{}** — {}", b.keyword, b.doc);
    if let Some(feature) = b.since {
        let since = feature.introduced_in();
        s.push_str(&format!("  \nSince KumoMTA {since}."));
    }
    s
}

/// Extra facts about a written value: a rate's per-second value, a duration's seconds.
pub fn value_note(a: &Attr) -> Option<String> {
    match &a.value.kind {
        ValueKind::Rate(raw) if raw.contains('/') => {
            let r = kumoc_lang::units::parse_rate(raw).ok()?;
            Some(format!(
                "`{raw}` = {:.3} per second ({} per {} s{})",
                r.per_second(),
                r.limit,
                r.period_secs,
                if r.local { ", per pod" } else { "" }
            ))
        }
        ValueKind::Number(raw) => {
            if let Ok(ms) = kumoc_lang::units::parse_duration_literal(raw) {
                Some(format!("`{raw}` = {} s", ms as f64 / 1000.0))
            } else if let Ok(b) = kumoc_lang::units::parse_size(raw) {
                Some(format!("`{raw}` = {b} bytes"))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    Keyword,
    Field,
    Value,
    Reference,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub label: String,
    pub kind: ItemKind,
    pub detail: String,
    pub doc: Option<String>,
    /// Text to insert, if different from the label.
    pub insert: Option<String>,
}

/// Names defined in the files of a deployment, for reference completion.
pub fn defined(items: &[&[Stmt]], kind: RefKind) -> Vec<String> {
    let keyword = kind.noun();
    let mut out = Vec::new();
    for file in items {
        for s in file.iter() {
            if let Stmt::Block(b) = s {
                if b.keyword.name == keyword {
                    out.extend(b.label_text().map(str::to_string));
                }
                if keyword == "source" && b.keyword.name == "pool" {
                    out.extend(
                        b.blocks()
                            .filter(|c| c.keyword.name == "source")
                            .filter_map(|c| c.label_text().map(str::to_string)),
                    );
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Completion items for a position.
pub fn complete(target: &Target<'_>, files: &[&[Stmt]]) -> Vec<Item> {
    match target {
        Target::Value(a, schema) => {
            let Some(field) = schema.field(&a.key.name) else {
                return Vec::new();
            };
            values_for(&field.ty, files)
        }
        Target::Label(b, _) if b.from.is_some() => defined(files, RefKind::Provider)
            .into_iter()
            .map(|n| Item {
                label: n,
                kind: ItemKind::Reference,
                detail: "provider".into(),
                doc: None,
                insert: None,
            })
            .collect(),
        Target::Body(schema) | Target::Key(_, schema) | Target::Keyword(schema) => {
            let mut out: Vec<Item> = schema
                .children
                .iter()
                .map(|c| Item {
                    label: c.keyword.to_string(),
                    kind: ItemKind::Keyword,
                    detail: "block".into(),
                    doc: Some(block_doc(c)),
                    insert: None,
                })
                .collect();
            out.extend(schema.all_fields().map(|f| Item {
                label: f.name.to_string(),
                kind: ItemKind::Field,
                detail: f.ty.describe(),
                doc: Some(field_doc(f)),
                insert: Some(format!("{} = ", f.name)),
            }));
            out
        }
        Target::Label(_, _) => Vec::new(),
    }
}

fn values_for(ty: &Ty, files: &[&[Stmt]]) -> Vec<Item> {
    let simple = |label: &str, detail: &str| Item {
        label: label.to_string(),
        kind: ItemKind::Value,
        detail: detail.to_string(),
        doc: None,
        insert: None,
    };
    match ty {
        Ty::Enum(vs) => vs
            .iter()
            .map(|v| Item {
                label: v.name.to_string(),
                kind: ItemKind::Value,
                detail: format!("KumoMTA `{}`", v.kumo),
                doc: Some(v.doc.to_string()),
                insert: None,
            })
            .collect(),
        Ty::Bool => vec![simple("true", "boolean"), simple("false", "boolean")],
        Ty::Ref(kind) => defined(files, *kind)
            .into_iter()
            .map(|n| Item {
                label: n,
                kind: ItemKind::Reference,
                detail: kind.noun().to_string(),
                doc: None,
                insert: None,
            })
            .collect(),
        Ty::Secret => defined(files, RefKind::Secret)
            .into_iter()
            .map(|n| Item {
                insert: Some(format!("secret(\"{n}\")")),
                label: n,
                kind: ItemKind::Reference,
                detail: "secret".into(),
                doc: None,
            })
            .collect(),
        Ty::Duration => ["30s", "5m", "20m", "1h", "24h", "7d"]
            .iter()
            .map(|d| simple(d, "duration"))
            .collect(),
        Ty::Rate => ["100/s", "10/min", "500/h", "1000/d", "local:10/s"]
            .iter()
            .map(|d| simple(d, "rate"))
            .collect(),
        Ty::Trigger => vec![
            simple("immediate", "trigger"),
            Item {
                insert: Some("threshold(10/h)".into()),
                ..simple("threshold", "trigger")
            },
        ],
        Ty::Action => schema::ACTIONS
            .iter()
            .map(|a| Item {
                insert: a
                    .name
                    .starts_with("set_")
                    .then(|| format!("{}(connection_limit = 1)", a.name)),
                label: a.name.to_string(),
                kind: ItemKind::Value,
                detail: format!("KumoMTA `{}`", a.kumo),
                doc: Some(a.doc.to_string()),
            })
            .collect(),
        Ty::List(inner) | Ty::OneOrList(inner) => values_for(inner, files),
        _ => Vec::new(),
    }
}

/// The block that defines a name referenced at the target, as (keyword, label).
pub fn reference_at(target: &Target<'_>) -> Option<(&'static str, String)> {
    match target {
        Target::Value(a, schema) => {
            let field = schema.field(&a.key.name)?;
            match (&field.ty, &a.value.kind) {
                (Ty::Ref(kind), ValueKind::Path(p)) => Some((kind.noun(), p.text())),
                (Ty::Ref(kind), ValueKind::Str(s)) => Some((kind.noun(), s.value.clone())),
                (Ty::Secret, ValueKind::Call(c)) => match c.args.first().map(|a| &a.value.kind) {
                    Some(ValueKind::Str(s)) => Some(("secret", s.value.clone())),
                    _ => None,
                },
                _ => None,
            }
        }
        Target::Label(b, schema) => {
            if let Some(f) = &b.from {
                return f.segments.get(1).map(|s| ("provider", s.name.clone()));
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

/// (start, end, type index) of every token worth colouring, in text order.
pub fn semantic_tokens(file: &kumoc_lang::ast::File) -> Vec<(u32, u32, u32)> {
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
    let mut out = Vec::new();
    stmts(&file.items, &mut out);
    out.extend(file.comments.iter().map(|c| (c.span.start, c.span.end, 7)));
    out.sort_unstable();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod release_hover {
    use super::*;

    /// Hover says since which release a field or block exists exactly when the schema gates
    /// it, and names the release the release table gives for its feature.
    #[test]
    fn hover_names_the_release_of_every_gate() {
        fn walk(b: &'static BlockSchema, seen: &mut Vec<&'static BlockSchema>, gated: &mut usize) {
            let check =
                |doc: String, since: Option<kumoc_lang::units::Feature>, what: &str| match since {
                    Some(f) => {
                        let line = format!("Since KumoMTA {}.", f.introduced_in().tag);
                        assert!(doc.contains(&line), "{what}: {doc}");
                    }
                    None => assert!(!doc.contains("Since KumoMTA"), "{what}: {doc}"),
                };
            check(block_doc(b), b.since, b.keyword);
            *gated += usize::from(b.since.is_some());
            for f in b.all_fields() {
                check(field_doc(f), f.since, f.name);
                *gated += usize::from(f.since.is_some());
            }
            for c in b.children {
                if !seen.iter().any(|s| std::ptr::eq(*s, *c)) {
                    seen.push(c);
                    walk(c, seen, gated);
                }
            }
        }
        let mut gated = 0;
        walk(&schema::ROOT, &mut Vec::new(), &mut gated);
        assert!(gated > 20, "only {gated} gated fields and blocks seen");
    }
}
