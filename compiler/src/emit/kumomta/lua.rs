//! Lua source helpers: string literals that read back as exactly the value written (no
//! injection through names, hosts or paths), and table constructors.

use std::fmt::Write as _;

/// A Lua 5.4 string literal for any text: double-quoted, with `\`, `"`, control characters
/// and non-ASCII bytes escaped as `\ddd` decimal byte escapes, so the literal is plain ASCII.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            other => {
                let _ = write!(out, "\\{other:03}");
            }
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Verbatim Lua (a variable, a function call written by the emitter).
    Raw(String),
    List(Vec<Value>),
    /// `{ key = value, ... }` in the given order.
    Table(Vec<(String, Value)>),
}

/// A table key: bare identifier when possible, `["..."]` otherwise.
fn key(k: &str) -> String {
    const RESERVED: &[&str] = &[
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
        "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ];
    let ident = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&k);
    if ident {
        k.to_string()
    } else {
        format!("[{}]", string(k))
    }
}

/// Render a value; tables and lists longer than one short line are spread over lines,
/// indented by `indent` levels of two spaces.
pub fn render(v: &Value, indent: usize) -> String {
    let mut out = String::new();
    write(&mut out, v, indent);
    out
}

fn inline_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len() + 2,
        Value::Int(_) | Value::Bool(_) => 6,
        Value::Raw(r) => r.len(),
        Value::List(items) => items.iter().map(|i| inline_len(i) + 2).sum::<usize>() + 4,
        Value::Table(entries) => {
            entries
                .iter()
                .map(|(k, i)| k.len() + 3 + inline_len(i) + 2)
                .sum::<usize>()
                + 4
        }
    }
}

fn write(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Str(s) => out.push_str(&string(s)),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Raw(r) => out.push_str(r),
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("{}");
            } else if inline_len(v) <= 60
                && items
                    .iter()
                    .all(|i| !matches!(i, Value::Table(_) | Value::List(_)))
            {
                out.push_str("{ ");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(out, item, indent);
                }
                out.push_str(" }");
            } else {
                out.push_str("{\n");
                for item in items {
                    pad(out, indent + 1);
                    write(out, item, indent + 1);
                    out.push_str(",\n");
                }
                pad(out, indent);
                out.push('}');
            }
        }
        Value::Table(entries) => {
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (k, item) in entries {
                pad(out, indent + 1);
                out.push_str(&key(k));
                out.push_str(" = ");
                write(out, item, indent + 1);
                out.push_str(",\n");
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_plain_ascii_and_escaped() {
        assert_eq!(string("a\"b\\c]]d\n"), "\"a\\\"b\\\\c]]d\\n\"");
        assert_eq!(string("é"), "\"\\195\\169\"");
        assert_eq!(string("\0x"), "\"\\000x\"");
    }

    #[test]
    fn keys() {
        assert_eq!(key("listen"), "listen");
        assert_eq!(key("end"), "[\"end\"]");
        assert_eq!(key("a.b"), "[\"a.b\"]");
    }
}
