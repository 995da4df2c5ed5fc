//! The `.kumo` text the importer writes: a small tree of blocks and attributes, rendered
//! with every name and string quoted the way the parser reads it back, then formatted by
//! [`kumoc_lang::format`] (so the output is exactly what `kumoc fmt` would leave).

use std::collections::BTreeMap;

/// A `.kumo` value, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KVal {
    /// A literal written as is: `24h`, `100/s`, `true`, `10.0.0.0/8`, `required`, `shared`.
    Lit(String),
    /// A string, written `"..."` with escapes.
    Str(String),
    /// A string written `'...'` when it can be (regexes), `"..."` otherwise.
    Raw(String),
    List(Vec<KVal>),
    /// `name(args)`, each argument positional or `name = value`.
    Call(String, Vec<(Option<String>, KVal)>),
}

impl KVal {
    pub fn lit(s: impl Into<String>) -> Self {
        KVal::Lit(s.into())
    }
    pub fn str(s: impl Into<String>) -> Self {
        KVal::Str(s.into())
    }
    /// A name: bare when the grammar reads it as one name, quoted otherwise.
    pub fn name(s: &str) -> Self {
        if is_bare(s) {
            KVal::Lit(s.to_string())
        } else {
            KVal::Str(s.to_string())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Attr {
        name: String,
        value: KVal,
        comment: Option<String>,
    },
    Block(KBlock),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KBlock {
    pub keyword: String,
    pub label: Option<String>,
    /// `from provider.NAME`.
    pub from: Option<String>,
    /// Comment lines written above the block.
    pub comments: Vec<String>,
    pub items: Vec<Item>,
}

impl KBlock {
    pub fn new(keyword: &str, label: Option<&str>) -> Self {
        KBlock {
            keyword: keyword.to_string(),
            label: label.map(str::to_string),
            ..Default::default()
        }
    }

    /// Set an attribute (replacing one of the same name).
    pub fn set(&mut self, name: &str, value: KVal) {
        self.set_commented(name, value, None);
    }

    pub fn set_commented(&mut self, name: &str, value: KVal, comment: Option<String>) {
        for item in &mut self.items {
            if let Item::Attr {
                name: n,
                value: v,
                comment: c,
            } = item
            {
                if n == name {
                    *v = value;
                    *c = comment;
                    return;
                }
            }
        }
        self.items.push(Item::Attr {
            name: name.to_string(),
            value,
            comment,
        });
    }

    pub fn get(&self, name: &str) -> Option<&KVal> {
        self.items.iter().find_map(|i| match i {
            Item::Attr { name: n, value, .. } if n == name => Some(value),
            _ => None,
        })
    }

    pub fn remove(&mut self, name: &str) -> Option<KVal> {
        let at = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Attr { name: n, .. } if n == name))?;
        match self.items.remove(at) {
            Item::Attr { value, .. } => Some(value),
            Item::Block(_) => None,
        }
    }

    /// The child block with this keyword and label, created (at the end) when missing.
    pub fn child(&mut self, keyword: &str, label: Option<&str>) -> &mut KBlock {
        let at = self.items.iter().position(
            |i| matches!(i, Item::Block(b) if b.keyword == keyword && b.label.as_deref() == label),
        );
        let at = match at {
            Some(at) => at,
            None => {
                self.items.push(Item::Block(KBlock::new(keyword, label)));
                self.items.len() - 1
            }
        };
        // `at` is a block: found as one, or just pushed.
        let mut rest = self.items[at..].iter_mut().filter_map(|i| match i {
            Item::Block(b) => Some(b),
            Item::Attr { .. } => None,
        });
        match rest.next() {
            Some(b) => b,
            None => unreachable_block(),
        }
    }

    pub fn find(&self, keyword: &str, label: Option<&str>) -> Option<&KBlock> {
        self.items.iter().find_map(|i| match i {
            Item::Block(b) if b.keyword == keyword && b.label.as_deref() == label => Some(b),
            _ => None,
        })
    }

    /// Append a child block (repeatable blocks such as `automation`).
    pub fn push(&mut self, b: KBlock) {
        self.items.push(Item::Block(b));
    }

    /// Push a child block when there is one.
    pub fn extend(&mut self, b: Option<KBlock>) {
        if let Some(b) = b {
            self.push(b);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Never reached (see [`KBlock::child`]); a leaked empty block keeps it total without a panic.
fn unreachable_block() -> &'static mut KBlock {
    Box::leak(Box::default())
}

/// Whether the grammar reads `s` as one bare name (`ident`, not `true`/`false`/`from`).
pub fn is_bare(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(s, "true" | "false" | "from")
}

fn quoted(s: &str) -> String {
    let mut out = String::new();
    kumoc_lang::format::quote(&mut out, s);
    out
}

fn value(v: &KVal, out: &mut String) {
    match v {
        KVal::Lit(s) => out.push_str(s),
        KVal::Str(s) => out.push_str(&quoted(s)),
        KVal::Raw(s) => {
            if !s.contains('\'') && !s.chars().any(char::is_control) {
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            } else {
                out.push_str(&quoted(s));
            }
        }
        KVal::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value(item, out);
            }
            out.push(']');
        }
        KVal::Call(name, args) => {
            out.push_str(name);
            out.push('(');
            for (i, (n, a)) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if let Some(n) = n {
                    out.push_str(n);
                    out.push_str(" = ");
                }
                value(a, out);
            }
            out.push(')');
        }
    }
}

/// A comment's text on one line, without anything the formatter would refuse.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn block(b: &KBlock, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    for c in &b.comments {
        for line in c.lines() {
            out.push_str(&format!("{pad}// {}\n", comment_text(line)));
        }
    }
    out.push_str(&pad);
    out.push_str(&b.keyword);
    if let Some(l) = &b.label {
        out.push(' ');
        // Domain labels are quoted (a bare one would be a name): only `default` is bare.
        let domain = matches!(b.keyword.as_str(), "shaping" | "queue" | "domain");
        if is_bare(l) && (!domain || l == "default") {
            out.push_str(l);
        } else {
            out.push_str(&quoted(l));
        }
    }
    if let Some(f) = &b.from {
        out.push_str(" from provider.");
        out.push_str(f);
    }
    out.push_str(" {\n");
    for item in &b.items {
        match item {
            Item::Attr {
                name,
                value: v,
                comment,
            } => {
                out.push_str(&pad);
                out.push_str("  ");
                if is_bare(name) {
                    out.push_str(name);
                } else {
                    out.push_str(&quoted(name));
                }
                out.push_str(" = ");
                value(v, out);
                if let Some(c) = comment {
                    out.push_str(" // ");
                    out.push_str(&comment_text(c));
                }
                out.push('\n');
            }
            Item::Block(child) => block(child, indent + 1, out),
        }
    }
    out.push_str(&pad);
    out.push_str("}\n");
}

/// The unformatted text of a file: its header comment, then the blocks.
pub fn render(header: &[String], blocks: &[KBlock]) -> String {
    let mut out = String::new();
    for h in header {
        out.push_str(&format!("// {}\n", comment_text(h)));
    }
    for b in blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        block(b, 0, &mut out);
    }
    out
}

/// The `.kumo` files of an import: file name → top-level blocks, in order.
#[derive(Debug, Default)]
pub struct Files {
    pub files: BTreeMap<&'static str, Vec<KBlock>>,
}

impl Files {
    /// The top-level block with this keyword and label in `file`, created when missing.
    pub fn block(&mut self, file: &'static str, keyword: &str, label: Option<&str>) -> &mut KBlock {
        let blocks = self.files.entry(file).or_default();
        let at = blocks
            .iter()
            .position(|b| b.keyword == keyword && b.label.as_deref() == label);
        let at = match at {
            Some(at) => at,
            None => {
                blocks.push(KBlock::new(keyword, label));
                blocks.len() - 1
            }
        };
        &mut blocks[at]
    }

    pub fn find(&self, file: &str, keyword: &str, label: Option<&str>) -> Option<&KBlock> {
        self.files
            .get(file)?
            .iter()
            .find(|b| b.keyword == keyword && b.label.as_deref() == label)
    }

    pub fn push(&mut self, file: &'static str, b: KBlock) {
        self.files.entry(file).or_default().push(b);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_what_the_parser_reads_back() {
        let mut b = KBlock::new("shaping", Some("gmail.com"));
        b.from = Some("google".into());
        b.set("max_message_rate", KVal::lit("50/s"));
        b.set("odd key", KVal::str("a\"b\\c\u{7}"));
        let mut a = KBlock::new("automation", None);
        a.set(
            "regex",
            KVal::List(vec![KVal::Raw(r"\d+ it's".into()), KVal::Raw(r"\d".into())]),
        );
        a.set(
            "action",
            KVal::Call(
                "set_config".into(),
                vec![(Some("connection_limit".into()), KVal::lit("1"))],
            ),
        );
        b.push(a);
        let text = render(&["header".into()], &[b]);
        let parsed = kumoc_lang::parse(&text);
        assert!(parsed.errors.is_empty(), "{text}\n{:?}", parsed.errors);
        let formatted = kumoc_lang::format::format(&text).unwrap();
        assert!(formatted.contains("shaping \"gmail.com\" from provider.google {"));
        assert!(formatted.contains(r#"["\\d+ it's", '\d']"#), "{formatted}");
        assert!(is_bare("default-tenant") && !is_bare("true") && !is_bare("a.b") && !is_bare(""));
    }
}
