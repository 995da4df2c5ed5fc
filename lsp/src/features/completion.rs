//! Completion items for a position: block keywords and fields where a statement starts,
//! values of a field's type after `=` (enum values, booleans, defined names, examples).

use kumoc_compiler::schema::{self, RefKind, Ty};
use kumoc_lang::incremental::Pieces;

use crate::features::hover::{block_doc, field_doc};
use crate::features::summary::{Summary, defined};
use crate::features::target::Target;

/// What completion knows besides the position: the document's top-level statements, and
/// the last analysis's summary (names of the other files, the presets' settings).
pub struct Context<'a> {
    pub own: &'a Pieces,
    pub others: &'a Summary,
}

impl Context<'_> {
    /// Names of `kind` defined in the document or elsewhere in the deployment.
    fn names(&self, kind: RefKind) -> Vec<String> {
        let mut out = defined(self.own.stmts().map(|(_, s)| s), kind);
        out.extend(self.others.names(kind).iter().cloned());
        out.sort();
        out.dedup();
        out
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

/// What the text before the cursor on its line asks for when the syntax tree cannot say
/// (a `from` clause before its block's `{` is written does not parse as a block yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// `... from provider.` (and the start of a name): a preset's name.
    PresetName,
    /// `... from ` (and the start of a word): `provider.NAME`.
    PresetPath,
}

/// Recognize `from provider.NA|` and `from NA|` at the end of `line` (the text of the
/// cursor's line before it).
pub fn typed(line: &str) -> Option<Typed> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    // `from`, blanks, then what is asked for.
    let after_from = |rest: &str| {
        let trimmed = rest.trim_end();
        let head = trimmed.strip_suffix("from")?;
        (trimmed.len() < rest.len() && (head.is_empty() || head.ends_with(char::is_whitespace)))
            .then_some(())
    };
    let before = line.trim_end_matches(word);
    match before.strip_suffix("provider.") {
        Some(rest) => after_from(rest).map(|()| Typed::PresetName),
        None => after_from(before).map(|()| Typed::PresetPath),
    }
}

/// The provider presets (stdlib and user `provider` blocks) as completion items,
/// documented with their effective settings; `insert_path` inserts `provider.NAME`.
pub fn presets(cx: &Context<'_>, insert_path: bool) -> Vec<Item> {
    cx.names(RefKind::Provider)
        .into_iter()
        .map(|n| Item {
            insert: insert_path.then(|| format!("provider.{n}")),
            doc: cx.others.presets.get(&n).cloned(),
            label: if insert_path {
                format!("provider.{n}")
            } else {
                n
            },
            kind: ItemKind::Reference,
            detail: "provider preset".into(),
        })
        .collect()
}

/// Completion items for a position.
pub fn complete(target: &Target<'_>, cx: &Context<'_>) -> Vec<Item> {
    match target {
        Target::Value(a, schema) => {
            let Some(field) = schema.field(&a.key.name) else {
                return Vec::new();
            };
            values_for(&field.ty, cx)
        }
        Target::Label(b, _) if b.from.is_some() => presets(cx, false),
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

fn values_for(ty: &Ty, cx: &Context<'_>) -> Vec<Item> {
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
        Ty::Ref(kind) => cx
            .names(*kind)
            .into_iter()
            .map(|n| Item {
                label: n,
                kind: ItemKind::Reference,
                detail: kind.noun().to_string(),
                doc: None,
                insert: None,
            })
            .collect(),
        Ty::Secret => cx
            .names(RefKind::Secret)
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
        Ty::List(inner) | Ty::OneOrList(inner) => values_for(inner, cx),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_clauses_being_typed() {
        for (line, want) in [
            ("shaping \"x\" from provider.", Some(Typed::PresetName)),
            ("shaping \"x\" from provider.ya", Some(Typed::PresetName)),
            (
                "shaping \"x\" from  provider.office365-d",
                Some(Typed::PresetName),
            ),
            ("shaping \"x\" from ", Some(Typed::PresetPath)),
            ("shaping \"x\" from pro", Some(Typed::PresetPath)),
            ("shaping \"x\" from", None),
            ("shaping \"x\" wherefrom provider.", None),
            ("x = provider.", None),
            ("shaping \"x\" fromprovider.", None),
        ] {
            assert_eq!(typed(line), want, "{line:?}");
        }
    }
}
