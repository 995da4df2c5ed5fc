//! Completion items for a position: block keywords and fields where a statement starts,
//! values of a field's type after `=` (enum values, booleans, defined names, examples).

use kumoc_compiler::schema::{self, RefKind, Ty};
use kumoc_lang::ast::Stmt;

use crate::features::hover::{block_doc, field_doc};
use crate::features::target::Target;

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
