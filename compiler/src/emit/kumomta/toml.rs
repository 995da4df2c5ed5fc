//! A small TOML writer: tables, arrays of tables, keys and values, with a provenance comment
//! after each value. Writing it by hand (rather than through a serializer) is what lets every
//! value say where it came from; tests re-parse every emitted file with the `toml` crate.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
    /// `{ key = value, ... }`, keys in the given order.
    Inline(Vec<(String, Value)>),
}

#[derive(Default)]
pub struct Doc {
    out: String,
    first_table: bool,
}

impl Doc {
    pub fn new(header: &str) -> Self {
        let mut d = Doc {
            out: String::new(),
            first_table: true,
        };
        for line in header.lines() {
            d.comment(line);
        }
        d
    }

    pub fn comment(&mut self, text: &str) {
        if text.is_empty() {
            self.out.push_str("#\n");
        } else {
            let _ = writeln!(self.out, "# {}", one_line(text));
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
        if !self.out.is_empty() || !self.first_table {
            self.out.push('\n');
        }
        self.first_table = false;
        self.out.push_str(open);
        for (i, seg) in path.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            self.out.push_str(&Self::segment(seg));
        }
        self.out.push_str(close);
        if let Some(o) = origin {
            let _ = write!(self.out, " # {}", one_line(o));
        }
        self.out.push('\n');
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
        self.out.push_str(&key(k));
        self.out.push_str(" = ");
        write_value(&mut self.out, v);
        if let Some(o) = origin {
            let _ = write!(self.out, " # {}", one_line(o));
        }
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
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
