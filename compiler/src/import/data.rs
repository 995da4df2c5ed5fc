//! The helpers' data files, TOML or JSON, read into [`Raw`] values with keys in file order
//! and the position of every key (so a diagnostic names the line a value came from).
//!
//! Values come from the real parsers (the `toml` crate, `serde_json`); positions come from a
//! light scan of the text ([`Locator`]), which only has to find where each key is written.
//! Which parser reads a file follows KumoMTA: the helpers read `*.toml` as TOML and anything
//! else as JSON (`assets/policy-extras/policy_utils.lua` `load_json_or_toml_file`);
//! `kumo.shaping.load` reads `*.json` as JSON and tries TOML then JSON for other names
//! (`crates/kumo-api-types/src/shaping.rs` `load_from_file`).

use std::collections::BTreeMap;

use kumoc_lang::Span;

use super::values::Raw;

/// Where each key path is written (`["pool", "shared", "shared-00"]`); array elements are
/// `#0`, `#1`, ...
#[derive(Debug, Default, Clone)]
pub struct Locator {
    spans: BTreeMap<Vec<String>, Span>,
}

impl Locator {
    pub fn get(&self, path: &[&str]) -> Option<Span> {
        let key: Vec<String> = path.iter().map(|s| (*s).to_string()).collect();
        self.spans.get(&key).copied()
    }

    /// The span of the path, or of its nearest located ancestor.
    pub fn nearest(&self, path: &[&str]) -> Span {
        (0..=path.len())
            .rev()
            .find_map(|n| self.get(&path[..n]))
            .unwrap_or_default()
    }

    fn record(&mut self, path: &[String], span: Span) {
        self.spans.entry(path.to_vec()).or_insert(span);
    }
}

/// A parsed data file.
#[derive(Debug, Clone)]
pub struct Data {
    pub raw: Raw,
    pub at: Locator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
    /// TOML, then JSON (`kumo.shaping.load` for names that are neither).
    Either,
}

impl Format {
    /// The helpers' rule (`load_json_or_toml_file`).
    pub fn for_helper(name: &str) -> Format {
        if name.ends_with(".toml") {
            Format::Toml
        } else {
            Format::Json
        }
    }
    /// `kumo.shaping.load`'s rule.
    pub fn for_shaping(name: &str) -> Format {
        if name.ends_with(".toml") {
            Format::Toml
        } else if name.ends_with(".json") {
            Format::Json
        } else {
            Format::Either
        }
    }
}

/// Parse `text`; on failure, the span and message of the error.
pub fn parse(text: &str, format: Format) -> Result<Data, (Span, String)> {
    match format {
        Format::Toml => parse_toml(text),
        Format::Json => parse_json(text),
        Format::Either => parse_toml(text).or_else(|e| parse_json(text).map_err(|_| e)),
    }
}

fn parse_toml(text: &str) -> Result<Data, (Span, String)> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let span = e
            .span()
            .map_or_else(Span::default, |r| Span::new(r.start, r.end));
        let message = e.message().trim();
        let message = if message.is_empty() {
            e.to_string()
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .unwrap_or("invalid TOML")
                .to_string()
        } else {
            message.to_string()
        };
        (span, message)
    })?;
    let mut at = Locator::default();
    scan_toml(text, &mut at);
    let raw = order(&from_toml(&toml::Value::Table(table)), &mut Vec::new(), &at);
    Ok(Data { raw, at })
}

fn parse_json(text: &str) -> Result<Data, (Span, String)> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let offset = offset_of(text, e.line(), e.column());
        (Span::new(offset, offset), e.to_string())
    })?;
    let mut at = Locator::default();
    let mut scanner = JsonScan {
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    scanner.value(&mut Vec::new(), &mut at);
    let raw = order(&from_json(&value), &mut Vec::new(), &at);
    Ok(Data { raw, at })
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

fn from_toml(v: &toml::Value) -> Raw {
    match v {
        toml::Value::String(s) => Raw::Str(s.clone()),
        toml::Value::Integer(n) => Raw::Int(*n),
        toml::Value::Float(f) => Raw::Float(*f),
        toml::Value::Boolean(b) => Raw::Bool(*b),
        toml::Value::Datetime(d) => Raw::Str(d.to_string()),
        toml::Value::Array(items) => Raw::List(items.iter().map(from_toml).collect()),
        toml::Value::Table(t) => {
            Raw::Table(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect())
        }
    }
}

fn from_json(v: &serde_json::Value) -> Raw {
    match v {
        serde_json::Value::Null => Raw::Table(Vec::new()),
        serde_json::Value::Bool(b) => Raw::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            None => Raw::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Raw::Str(s.clone()),
        serde_json::Value::Array(items) => Raw::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Raw::Table(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// Sort every table's keys by where they are written (unlocated keys last, by name), so the
/// import keeps the file's order.
fn order(raw: &Raw, path: &mut Vec<String>, at: &Locator) -> Raw {
    match raw {
        Raw::Table(entries) => {
            let mut out: Vec<(Option<u32>, String, Raw)> = entries
                .iter()
                .map(|(k, v)| {
                    path.push(k.clone());
                    let pos = at.spans.get(path.as_slice()).map(|s| s.start);
                    let v = order(v, path, at);
                    path.pop();
                    (pos, k.clone(), v)
                })
                .collect();
            out.sort_by(|a, b| match (a.0, b.0) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.1.cmp(&b.1),
            });
            Raw::Table(out.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Raw::List(items) => Raw::List(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    path.push(format!("#{i}"));
                    let v = order(v, path, at);
                    path.pop();
                    v
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Where TOML keys are written
// ---------------------------------------------------------------------------------------------

/// Record the position of every table header and key of a TOML document (which the `toml`
/// crate has already accepted). Values are skipped, strings and nested brackets included.
fn scan_toml(text: &str, at: &mut Locator) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut table: Vec<String> = Vec::new();
    let mut array_counts: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'[' {
            let start = i;
            let double = b.get(i + 1) == Some(&b'[');
            i += if double { 2 } else { 1 };
            let (path, end) = toml_key(b, i);
            i = end;
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            let span = Span::new(start, line_end(b, start));
            for n in 1..=path.len() {
                at.record(&path[..n], span);
            }
            if double {
                let count = array_counts.entry(path.clone()).or_insert(0);
                let mut p = path.clone();
                p.push(format!("#{count}"));
                *count += 1;
                at.record(&p, span);
                table = p;
            } else {
                table = path;
            }
        } else {
            let start = i;
            let (key, end) = toml_key(b, i);
            i = end;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            if b.get(i) != Some(&b'=') || key.is_empty() {
                // Not a key (the crate accepted the file, so this is not reached in
                // practice): skip the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            i += 1;
            let mut path = table.clone();
            let span = Span::new(start, line_end(b, start));
            for k in key {
                path.push(k);
                at.record(&path, span);
            }
            i = skip_toml_value(b, i, &path, at);
        }
    }
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p)
}

/// A dotted key (`a."b c".'d'`) at `i`, stopping at `=`, `]` or the end of the line.
fn toml_key(b: &[u8], mut i: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        match b.get(i) {
            Some(b'"') => {
                let (s, end) = basic_string(b, i + 1);
                out.push(s);
                i = end;
            }
            Some(b'\'') => {
                let end = b[i + 1..]
                    .iter()
                    .position(|&c| c == b'\'' || c == b'\n')
                    .map_or(b.len(), |p| i + 1 + p);
                out.push(String::from_utf8_lossy(&b[i + 1..end]).into_owned());
                i = (end + 1).min(b.len());
            }
            Some(c) if c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    i += 1;
                }
                out.push(String::from_utf8_lossy(&b[start..i]).into_owned());
            }
            _ => return (out, i),
        }
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
        } else {
            return (out, i);
        }
    }
}

/// A TOML basic string's content from `i` (after the quote); the offset after the closing
/// quote.
fn basic_string(b: &[u8], mut i: usize) -> (String, usize) {
    let mut out: Vec<u8> = Vec::new();
    while i < b.len() {
        match b[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\n' => break,
            b'\\' => {
                let e = b.get(i + 1).copied().unwrap_or(b'\\');
                i += 2;
                let simple = match e {
                    b'b' => Some(8),
                    b't' => Some(b'\t'),
                    b'n' => Some(b'\n'),
                    b'f' => Some(12),
                    b'r' => Some(b'\r'),
                    b'e' => Some(27),
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    _ => None,
                };
                if let Some(c) = simple {
                    out.push(c);
                    continue;
                }
                let len = match e {
                    b'u' => 4,
                    b'U' => 8,
                    b'x' => 2,
                    _ => 0,
                };
                let hex = b.get(i..i + len).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(ch) = hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                i += len;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), i)
}

/// Skip a value at `i` (recording the keys of inline tables under `path`); the offset after.
fn skip_toml_value(b: &[u8], mut i: usize, path: &[String], at: &mut Locator) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    match b.get(i) {
        Some(b'"') if b[i..].starts_with(b"\"\"\"") => find_after(b, i + 3, b"\"\"\"", true),
        Some(b'\'') if b[i..].starts_with(b"'''") => find_after(b, i + 3, b"'''", false),
        Some(b'"') => basic_string(b, i + 1).1,
        Some(b'\'') => {
            let end = b[i + 1..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(b.len(), |p| i + 1 + p);
            (end + 1).min(b.len())
        }
        Some(b'[') => {
            i += 1;
            let mut n = 0;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                match b.get(i) {
                    None => return b.len(),
                    Some(b']') => return i + 1,
                    Some(b'#') => {
                        while i < b.len() && b[i] != b'\n' {
                            i += 1;
                        }
                    }
                    Some(_) => {
                        let mut p = path.to_vec();
                        p.push(format!("#{n}"));
                        at.record(&p, Span::new(i, i));
                        n += 1;
                        let next = skip_toml_value(b, i, &p, at);
                        i = next.max(i + 1);
                    }
                }
            }
        }
        Some(b'{') => {
            i += 1;
            loop {
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                match b.get(i) {
                    None => return b.len(),
                    Some(b'}') => return i + 1,
                    Some(_) => {
                        let start = i;
                        let (key, end) = toml_key(b, i);
                        i = end;
                        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                            i += 1;
                        }
                        if b.get(i) != Some(&b'=') {
                            return line_end(b, i);
                        }
                        let mut p = path.to_vec();
                        for k in key {
                            p.push(k);
                            at.record(&p, Span::new(start, i));
                        }
                        let next = skip_toml_value(b, i + 1, &p, at);
                        i = next.max(i + 1);
                    }
                }
            }
        }
        _ => {
            // A scalar: up to a separator.
            while i < b.len() && !matches!(b[i], b'\n' | b',' | b']' | b'}' | b'#') {
                i += 1;
            }
            i
        }
    }
}

fn find_after(b: &[u8], mut i: usize, close: &[u8], escapes: bool) -> usize {
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i..].starts_with(close) {
            let mut end = i + close.len();
            // Up to two extra quotes belong to the string (`""""`).
            while end < b.len() && b[end] == close[0] && end < i + close.len() + 2 {
                end += 1;
            }
            return end;
        }
        i += 1;
    }
    b.len()
}

// ---------------------------------------------------------------------------------------------
// Where JSON keys are written
// ---------------------------------------------------------------------------------------------

struct JsonScan<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl JsonScan<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn string(&mut self) -> String {
        // serde_json accepted the document: decode the escapes it knows.
        let (s, end) = basic_string(self.b, self.i + 1);
        self.i = end;
        s
    }
    fn value(&mut self, path: &mut Vec<String>, at: &mut Locator) {
        self.depth += 1;
        if self.depth > 256 {
            return;
        }
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                loop {
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b'"') => {
                            let start = self.i;
                            let key = self.string();
                            path.push(key);
                            at.record(path, Span::new(start, self.i));
                            self.ws();
                            if self.b.get(self.i) == Some(&b':') {
                                self.i += 1;
                            }
                            self.value(path, at);
                            path.pop();
                            self.ws();
                            if self.b.get(self.i) == Some(&b',') {
                                self.i += 1;
                            }
                        }
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => break,
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut n = 0;
                loop {
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        None => break,
                        Some(_) => {
                            path.push(format!("#{n}"));
                            at.record(path, Span::new(self.i, self.i));
                            let before = self.i;
                            self.value(path, at);
                            path.pop();
                            n += 1;
                            self.ws();
                            if self.b.get(self.i) == Some(&b',') {
                                self.i += 1;
                            } else if self.i == before {
                                break;
                            }
                        }
                    }
                }
            }
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while self.i < self.b.len()
                    && !matches!(self.b[self.i], b',' | b']' | b'}')
                    && !self.b[self.i].is_ascii_whitespace()
                {
                    self.i += 1;
                }
            }
            None => {}
        }
        self.depth -= 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys(raw: &Raw) -> Vec<&str> {
        raw.as_table()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect()
    }

    #[test]
    fn toml_keeps_file_order_and_positions() {
        let text = "z = 1\n[pool.\"b\"]\n[pool.\"b\".\"x\\u00e9\"]\nweight = 2\n[pool.a]\n[[default.automation]]\nregex = '''a\n[not.a.table]'''\naction = { SetConfig = { name = \"x\", value = 1 } }\n";
        let d = parse(text, Format::Toml).unwrap();
        assert_eq!(keys(&d.raw), ["z", "pool", "default"]);
        assert_eq!(keys(d.raw.get("pool").unwrap()), ["b", "a"]);
        let line = |p: &[&str]| {
            text[..d.at.get(p).unwrap().start as usize]
                .matches('\n')
                .count()
                + 1
        };
        assert_eq!(line(&["pool", "b", "xé", "weight"]), 4);
        assert_eq!(
            line(&["default", "automation", "#0", "action", "SetConfig"]),
            9
        );
        assert!(d.at.get(&["not"]).is_none());
        let e = parse("a = ", Format::Toml).unwrap_err();
        assert!(!e.1.is_empty(), "{e:?}");
    }

    #[test]
    fn json_keeps_file_order_and_positions() {
        let text =
            "{\n  \"source\": {\"s2\": {}, \"s1\": {\"ehlo_domain\": \"x\"}},\n  \"pool\": {}\n}";
        let d = parse(text, Format::Json).unwrap();
        assert_eq!(keys(&d.raw), ["source", "pool"]);
        assert_eq!(keys(d.raw.get("source").unwrap()), ["s2", "s1"]);
        assert!(d.at.get(&["source", "s1", "ehlo_domain"]).is_some());
        assert!(parse("{", Format::Json).is_err());
        assert!(parse("{\"a\": 1}", Format::Either).is_ok());
    }
}
