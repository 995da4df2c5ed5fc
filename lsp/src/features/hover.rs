//! Hover text (Markdown): what a block or field means in KumoMTA, its type, default and
//! release, and facts about a written value.

use kumoc_compiler::schema::{BlockSchema, Field, Ty};
use kumoc_lang::ast::{Attr, ValueKind};

use crate::features::target::Target;

/// Markdown for a field: what it means, its type, default and release.
pub fn field_doc(f: &Field) -> String {
    let mut s = format!("**{}** — {}\n\nType: {}", f.name, f.doc, f.ty.describe());
    if let Some(d) = f.default_text() {
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

/// The preset whose effective settings a hover at `target` (`offset` relative like its
/// spans) shows, as (keyword, label): the preset named in a `from provider.NAME` clause,
/// or the block named by the label of a `provider` or `shaping` block. Answering needs the
/// analysis.
pub fn preset_at(target: &Target<'_>, offset: u32) -> Option<(&'static str, String)> {
    let Target::Label(b, schema) = target else {
        return None;
    };
    if let Some(from) = b.from.as_ref().filter(|f| f.span.contains(offset)) {
        return from
            .segments
            .get(1)
            .map(|s| ("provider", s.name.as_str().to_owned()));
    }
    matches!(schema.keyword, "provider" | "shaping").then(|| {
        let label = b.label_text().unwrap_or("default").to_string();
        (schema.keyword, label)
    })
}

/// The hover text that the syntax tree and the schema alone give.
pub fn syntax_hover(target: &Target<'_>) -> Option<String> {
    match target {
        Target::Keyword(schema) => Some(block_doc(schema)),
        Target::Key(a, schema) => schema.field(&a.key.name).map(field_doc),
        Target::Value(a, schema) => {
            let mut parts: Vec<String> = schema
                .field(&a.key.name)
                .map(field_doc)
                .into_iter()
                .collect();
            parts.extend(value_note(a));
            (!parts.is_empty()).then(|| parts.join("\n\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod release_hover {
    use super::*;
    use kumoc_compiler::schema;

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
