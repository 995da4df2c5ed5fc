//! A small TOML writer: tables, arrays of tables, keys and values, with a provenance comment
//! after each value. Writing it by hand (rather than through a serializer) is what lets every
//! value say where it came from; tests re-parse every emitted file with the `toml` crate.
//! Code and comments go to the [`Text`] separately, so the file's canonical form (without
//! the comments) has its own digest.

use std::fmt::Write as _;

use super::text::Text;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
    /// `{ key = value, ... }`, keys in the given order.
    Inline(Vec<(String, Value)>),
}

pub struct Doc {
    text: Text,
}

impl Doc {
    /// A document whose first lines are `header` as comments (written only when `text`
    /// writes comments).
    pub fn new(header: &str, text: Text) -> Self {
        let mut d = Doc { text };
        for line in header.lines() {
            d.comment(line);
        }
        d
    }

    /// A comment on its own line.
    pub fn comment(&mut self, text: &str) {
        if text.is_empty() {
            self.text.comment("#\n");
        } else {
            self.text.comment(&format!("# {}\n", one_line(text)));
        }
    }

    /// ` # origin` at the end of a line.
    fn origin(&mut self, origin: Option<&str>) {
        if let Some(o) = origin {
            self.text.comment(&format!(" # {}", one_line(o)));
        }
    }

    /// Table path segments: the helpers' fixed words stay bare, every name is quoted, as
    /// KumoMTA's documentation writes them (`[pool."shared"."shared-00"]`).
    fn segment(seg: &str) -> String {
        const FIXED: &[&str] = &[
            "source",
            "pool",
            "tenant",
            "queue",
            "domain",
            "provider",
            "sources",
            "automation",
            "campaigns",
            "base",
            "signature",
            "default",
            "additional_connection_limits",
            "additional_message_rate_throttles",
            "additional_source_selection_rates",
        ];
        if FIXED.contains(&seg) {
            seg.to_string()
        } else {
            quote(seg)
        }
    }

    fn header(&mut self, open: &str, path: &[&str], close: &str, origin: Option<&str>) {
        // A blank line before each table: code when it separates the table from code, a
        // comment's layout when it only separates it from the header comments.
        if self.text.has_code() {
            self.text.code("\n");
        } else if !self.text.is_empty() {
            self.text.comment("\n");
        }
        let mut line = String::from(open);
        for (i, seg) in path.iter().enumerate() {
            if i > 0 {
                line.push('.');
            }
            line.push_str(&Self::segment(seg));
        }
        line.push_str(close);
        self.text.code(&line);
        self.origin(origin);
        self.text.code("\n");
    }

    /// `[a."b"]`: each segment quoted when it is not a bare key (domains always are).
    pub fn table(&mut self, path: &[&str], origin: Option<&str>) {
        self.header("[", path, "]", origin);
    }

    /// `[[a."b".automation]]`
    pub fn array_table(&mut self, path: &[&str], origin: Option<&str>) {
        self.header("[[", path, "]]", origin);
    }

    pub fn kv(&mut self, k: &str, v: &Value, origin: Option<&str>) {
        let mut line = key(k);
        line.push_str(" = ");
        write_value(&mut line, v);
        self.text.code(&line);
        self.origin(origin);
        self.text.code("\n");
    }

    pub fn finish(self) -> Text {
        self.text
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A key: bare when it is `[A-Za-z0-9_-]+` and not a domain-looking word, quoted otherwise.
pub fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => out.push_str(&quote(s)),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Inline(entries) => {
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&key(k));
                out.push_str(" = ");
                write_value(out, item);
            }
            out.push_str(if entries.is_empty() { "}" } else { " }" });
        }
    }
}
