//! Turns pest's parse of `kumo.pest` into the [`ast`](crate::ast), collecting every syntax
//! error on the way. The grammar has an error alternative wherever input can go wrong, so
//! pest always succeeds; should it ever fail anyway, the whole file becomes one error node.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::*;
use crate::{SyntaxCode, SyntaxError};

#[derive(pest_derive::Parser)]
#[grammar = "kumo.pest"]
struct KumoParser;

/// Nesting deeper than this is refused before pest sees it (pest recurses per level).
pub const MAX_NESTING: usize = 32;

/// The result of parsing one file: a tree (always) and the syntax errors (maybe none).
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    pub file: File,
    pub errors: Vec<SyntaxError>,
}

/// Parse `.kumo` source text. Total: never fails, never panics.
pub fn parse(text: &str) -> Parse {
    let whole = Span::new(0, text.len());
    // Nesting beyond the limit is blanked out (same length, newlines kept) and reported,
    // so the rest of the file still parses and spans stay true.
    let mut deep_errors = Vec::new();
    let blanked;
    let text = match too_deep(text) {
        None => text,
        Some(regions) => {
            let mut bytes = text.as_bytes().to_vec();
            for (from, to) in &regions {
                for b in bytes.get_mut(*from..*to).into_iter().flatten() {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
                deep_errors.push(SyntaxError::new(
                    SyntaxCode::NestingTooDeep,
                    format!("nesting deeper than {MAX_NESTING} levels"),
                    Span::new(*from, from + 1),
                    "too deep",
                    Some("a deployment never needs this much nesting; flatten the blocks or lists"),
                ));
            }
            blanked = String::from_utf8_lossy(&bytes).into_owned();
            blanked.as_str()
        }
    };
    let mut b = Builder {
        text,
        errors: deep_errors,
    };
    let file = match KumoParser::parse(Rule::file, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(pair) => b.file(pair),
            None => b.unparsed(whole),
        },
        Err(_) => b.unparsed(whole),
    };
    let mut errors = b.errors;
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    Parse { file, errors }
}

/// The byte ranges nested deeper than `MAX_NESTING`: from the bracket that opens level
/// `MAX_NESTING + 1` to just after the bracket that closes it (or the end of the text).
fn too_deep(text: &str) -> Option<Vec<(usize, usize)>> {
    let mut depth = 0usize;
    let mut in_string: Option<u8> = None;
    let mut regions = Vec::new();
    let mut open_at: Option<usize> = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match in_string {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q || c == b'\n' {
                    in_string = None;
                }
            }
            None => match c {
                b'"' | b'\'' => in_string = Some(c),
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth == MAX_NESTING + 1 {
                        open_at = Some(i);
                    }
                }
                b'}' | b']' | b')' => {
                    if depth == MAX_NESTING + 1 {
                        if let Some(from) = open_at.take() {
                            regions.push((from, i + 1));
                        }
                    }
                    depth = depth.saturating_sub(1);
                }
                _ => {}
            },
        }
        i += 1;
    }
    if let Some(from) = open_at {
        regions.push((from, text.len()));
    }
    if regions.is_empty() {
        None
    } else {
        Some(regions)
    }
}

struct Builder<'t> {
    text: &'t str,
    errors: Vec<SyntaxError>,
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

/// The meaningful children of a pair (comments are collected separately).
fn children<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT)
}

impl Builder<'_> {
    fn unparsed(&mut self, whole: Span) -> File {
        self.errors.push(SyntaxError::new(
            SyntaxCode::UnexpectedInput,
            "this file could not be parsed".to_string(),
            whole,
            "not understood",
            None,
        ));
        File {
            items: vec![Stmt::Error(ErrorNode {
                text: self.text.to_string(),
                span: whole,
            })],
            comments: Vec::new(),
            span: whole,
        }
    }

    fn file(&mut self, pair: Pair<'_, Rule>) -> File {
        let span = span_of(&pair);
        let mut comments = Vec::new();
        for p in pair.clone().into_inner().flatten() {
            if p.as_rule() == Rule::COMMENT {
                let text = p.as_str().to_string();
                let cspan = span_of(&p);
                if text.starts_with("/*") && (text.len() < 4 || !text.ends_with("*/")) {
                    self.errors.push(SyntaxError::new(
                        SyntaxCode::UnterminatedComment,
                        "unterminated block comment".to_string(),
                        cspan.subspan(0..2),
                        "this comment is never closed",
                        Some("add `*/` where the comment should end"),
                    ));
                }
                comments.push(Comment { text, span: cspan });
            }
        }
        let items = children(pair)
            .filter(|p| p.as_rule() != Rule::EOI)
            .filter_map(|p| self.stmt(p))
            .collect();
        File {
            items,
            comments,
            span,
        }
    }

    fn stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Stmt> {
        match pair.as_rule() {
            Rule::block => Some(Stmt::Block(self.block(pair))),
            Rule::attribute => Some(Stmt::Attr(self.attribute(pair))),
            Rule::junk | Rule::top_junk => Some(Stmt::Error(self.junk(pair))),
            _ => None,
        }
    }

    fn junk(&mut self, pair: Pair<'_, Rule>) -> ErrorNode {
        let span = span_of(&pair);
        let text = pair.as_str().trim_end().to_string();
        let span = Span::new(span.start as usize, span.start as usize + text.len());
        let (message, label, help) = explain_junk(&text);
        self.errors.push(SyntaxError::new(
            SyntaxCode::UnexpectedInput,
            message,
            span,
            label,
            Some(&help),
        ));
        ErrorNode { text, span }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = span_of(&pair);
        let mut keyword = Ident {
            name: String::new(),
            span: Span::empty_at(span.start),
        };
        let mut label = None;
        let mut from = None;
        let mut body = Vec::new();
        let mut body_span = span;
        let mut closed = true;
        for p in children(pair) {
            match p.as_rule() {
                Rule::ident => keyword = ident(&p),
                Rule::label => label = self.label(p),
                Rule::from_clause => {
                    from = children(p)
                        .find(|c| c.as_rule() == Rule::path)
                        .map(|c| path(&c));
                }
                Rule::block_open => body_span = span_of(&p),
                Rule::body => {
                    body = children(p).filter_map(|s| self.stmt(s)).collect();
                }
                Rule::block_end if p.as_str().is_empty() => {
                    closed = false;
                    self.errors.push(SyntaxError::new(
                        SyntaxCode::UnclosedBlock,
                        format!("block `{}` is never closed", keyword.name),
                        body_span,
                        "this `{` has no matching `}`",
                        Some("add `}` at the end of the block"),
                    ));
                }
                _ => {}
            }
        }
        let body_span = Span {
            start: body_span.start,
            end: span.end,
        };
        Block {
            keyword,
            label,
            from,
            body,
            body_span,
            closed,
            span,
        }
    }

    fn label(&mut self, pair: Pair<'_, Rule>) -> Option<Label> {
        let inner = children(pair).next()?;
        let span = span_of(&inner);
        match inner.as_rule() {
            Rule::string => {
                let s = self.string(inner);
                Some(Label {
                    text: s.value,
                    quoted: true,
                    span,
                })
            }
            _ => Some(Label {
                text: inner.as_str().to_string(),
                quoted: false,
                span,
            }),
        }
    }

    fn attribute(&mut self, pair: Pair<'_, Rule>) -> Attr {
        let span = span_of(&pair);
        let mut key = Key {
            name: String::new(),
            quoted: false,
            span: Span::empty_at(span.start),
        };
        let mut value = None;
        for p in children(pair) {
            match p.as_rule() {
                Rule::key => {
                    if let Some(k) = children(p).next() {
                        let kspan = span_of(&k);
                        key = match k.as_rule() {
                            Rule::string => Key {
                                name: self.string(k).value,
                                quoted: true,
                                span: kspan,
                            },
                            _ => Key {
                                name: k.as_str().to_string(),
                                quoted: false,
                                span: kspan,
                            },
                        };
                    }
                }
                Rule::missing_value => {
                    let at = span_of(&p);
                    self.errors.push(SyntaxError::new(
                        SyntaxCode::MissingValue,
                        format!("expected a value for `{}`", key.name),
                        Span::new(key.span.start as usize, at.start.max(key.span.end) as usize),
                        "nothing after `=`",
                        Some("write a value after `=`, or remove the line"),
                    ));
                    value = Some(Value {
                        kind: ValueKind::Missing,
                        span: at,
                    });
                }
                Rule::bad_value => value = Some(self.bad_value(p, "value")),
                _ => value = Some(self.value(p)),
            }
        }
        let value = value.unwrap_or(Value {
            kind: ValueKind::Missing,
            span: Span::empty_at(span.end),
        });
        // pest's lookahead after the value skips trailing blanks; keep them out of the span.
        let span = Span {
            start: span.start,
            end: value.span.end.max(key.span.end),
        };
        Attr { key, value, span }
    }

    fn bad_value(&mut self, pair: Pair<'_, Rule>, what: &str) -> Value {
        let raw = pair.as_str().trim_end().to_string();
        let start = span_of(&pair).start as usize;
        let span = Span::new(start, start + raw.len());
        let help = explain_bad_value(&raw);
        self.errors.push(SyntaxError::new(
            SyntaxCode::InvalidValue,
            format!("cannot read `{raw}` as a {what}"),
            span,
            "not a value",
            Some(&help),
        ));
        Value {
            kind: ValueKind::Error(raw),
            span,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ValueKind::Str(self.string(pair)),
            Rule::number => ValueKind::Number(pair.as_str().to_string()),
            Rule::rate => ValueKind::Rate(pair.as_str().to_string()),
            Rule::ipv4 => ValueKind::Ip(pair.as_str().to_string()),
            Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
            Rule::path => ValueKind::Path(path(&pair)),
            Rule::list => ValueKind::List(self.list(pair)),
            Rule::call => ValueKind::Call(self.call(pair)),
            Rule::bad_item => return self.bad_value(pair, "list item"),
            Rule::bad_arg => return self.bad_value(pair, "function argument"),
            _ => ValueKind::Error(pair.as_str().to_string()),
        };
        Value { kind, span }
    }

    fn list(&mut self, pair: Pair<'_, Rule>) -> ListLit {
        let span = span_of(&pair);
        let mut items = Vec::new();
        let mut closed = true;
        for p in children(pair) {
            match p.as_rule() {
                Rule::list_end => {
                    if p.as_str().is_empty() {
                        closed = false;
                        let at = items.last().map_or(span.start + 1, |v: &Value| v.span.end);
                        self.unclosed(span.start, at, '[', ']');
                    }
                }
                _ => items.push(self.value(p)),
            }
        }
        ListLit { items, closed }
    }

    fn call(&mut self, pair: Pair<'_, Rule>) -> Call {
        let span = span_of(&pair);
        let mut callee = Path {
            segments: Vec::new(),
            span: Span::empty_at(span.start),
        };
        let mut args = Vec::new();
        let mut closed = true;
        for p in children(pair) {
            match p.as_rule() {
                Rule::path => callee = path(&p),
                Rule::call_end => {
                    if p.as_str().is_empty() {
                        closed = false;
                        let at = args
                            .last()
                            .map_or(callee.span.end + 1, |a: &Arg| a.value.span.end);
                        self.unclosed(callee.span.end, at, '(', ')');
                    }
                }
                Rule::named_arg => {
                    let mut name = None;
                    let mut value = None;
                    for c in children(p) {
                        match c.as_rule() {
                            Rule::ident => name = Some(ident(&c)),
                            _ => value = Some(self.value(c)),
                        }
                    }
                    if let (Some(name), Some(value)) = (name, value) {
                        args.push(Arg {
                            name: Some(name),
                            value,
                        });
                    }
                }
                _ => {
                    let value = self.value(p);
                    args.push(Arg { name: None, value });
                }
            }
        }
        Call {
            callee,
            args,
            closed,
        }
    }

    fn unclosed(&mut self, open_at: u32, missing_at: u32, open: char, close: char) {
        self.errors.push(
            SyntaxError::new(
                SyntaxCode::UnclosedBracket,
                format!("expected `{close}`"),
                Span::empty_at(missing_at),
                format!("`{close}` expected here"),
                Some(&format!("close the `{open}` with `{close}`")),
            )
            .with_secondary(
                Span::new(open_at as usize, open_at as usize + 1),
                format!("`{open}` opened here"),
            ),
        );
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let Some(inner) = children(pair).next() else {
            return StrLit {
                value: String::new(),
                literal: false,
            };
        };
        let literal = inner.as_rule() == Rule::sq_string;
        let outer = span_of(&inner);
        let mut value = String::new();
        for p in children(inner) {
            match p.as_rule() {
                Rule::dq_inner => value = self.unescape(p.as_str(), span_of(&p).start),
                Rule::sq_inner => value = p.as_str().to_string(),
                Rule::string_end | Rule::sq_end if p.as_str().is_empty() => {
                    let q = if literal { '\'' } else { '"' };
                    self.errors.push(SyntaxError::new(
                        SyntaxCode::UnterminatedString,
                        "unterminated string".to_string(),
                        outer,
                        format!("this string has no closing `{q}`"),
                        Some(&format!(
                            "strings end on the line they start: add the closing `{q}`"
                        )),
                    ));
                }
                _ => {}
            }
        }
        StrLit { value, literal }
    }

    fn unescape(&mut self, raw: &str, start: u32) -> String {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else {
                break;
            };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'u' => {
                    let mut hex = String::new();
                    let mut ok = false;
                    if chars.peek().map(|(_, c)| *c) == Some('{') {
                        chars.next();
                        for (_, h) in chars.by_ref() {
                            if h == '}' {
                                ok = true;
                                break;
                            }
                            hex.push(h);
                        }
                    }
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if ok && hex.len() <= 6 => out.push(ch),
                        _ => {
                            let end = chars.peek().map_or(raw.len(), |(j, _)| *j);
                            self.bad_escape(
                                start,
                                i,
                                end,
                                "`\\u{...}` needs 1 to 6 hex digits naming a Unicode scalar value",
                            );
                        }
                    }
                }
                other => {
                    let end = i + 1 + other.len_utf8();
                    self.bad_escape(
                        start,
                        i,
                        end,
                        "the escapes are \\\\ \\\" \\n \\t \\r \\0 and \\u{...}; for regexes, a '...' string takes backslashes literally",
                    );
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        out
    }

    fn bad_escape(&mut self, start: u32, from: usize, to: usize, help: &str) {
        let s = start as usize;
        self.errors.push(SyntaxError::new(
            SyntaxCode::InvalidEscape,
            "invalid escape sequence in string".to_string(),
            Span::new(s + from, s + to),
            "unknown escape",
            Some(help),
        ));
    }
}

fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(pair),
    }
}

fn path(pair: &Pair<'_, Rule>) -> Path {
    let span = span_of(pair);
    let mut segments = Vec::new();
    let mut offset = span.start as usize;
    for seg in pair.as_str().split('.') {
        segments.push(Ident {
            name: seg.to_string(),
            span: Span::new(offset, offset + seg.len()),
        });
        offset += seg.len() + 1;
    }
    Path { segments, span }
}

fn explain_junk(text: &str) -> (String, String, String) {
    let first: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let rest = text.get(first.len()..).unwrap_or("").trim_start();
    if text.starts_with('}') {
        return (
            "unexpected `}`".to_string(),
            "no block is open here".to_string(),
            "remove this `}`, or open the block it was meant to close".to_string(),
        );
    }
    if !first.is_empty() && first.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        if rest.is_empty() {
            return (
                format!("`{first}` is incomplete"),
                "expected `=` or `{` after this name".to_string(),
                format!("write `{first} = value` or `{first} {{ ... }}`"),
            );
        }
        if !rest.starts_with(['=', ':', '{']) && !rest.is_empty() {
            return (
                format!("expected `=` or `{{` after `{first}`"),
                format!("`{first}` is followed by neither `=` nor `{{`"),
                format!("to set a field, write `{first} = {rest}`"),
            );
        }
        if rest.starts_with("==") || rest.starts_with(':') {
            return (
                format!("expected `=` after `{first}`"),
                "not `=`".to_string(),
                format!("fields are written `{first} = value`"),
            );
        }
        return (
            format!("cannot read the statement starting with `{first}`"),
            "not understood".to_string(),
            "a statement is `name = value` or `name [label] [from preset] { ... }`".to_string(),
        );
    }
    let shown: String = text.chars().take(40).collect();
    (
        format!("unexpected `{shown}`"),
        "not understood".to_string(),
        "a statement is `name = value` or `name [label] [from preset] { ... }`".to_string(),
    )
}

fn explain_bad_value(raw: &str) -> String {
    if raw.contains('/') && raw.contains(' ') {
        return "rates are written without spaces, like `100/s` or `10/min`".to_string();
    }
    if raw.starts_with(|c: char| c.is_ascii_digit()) && raw.contains(' ') {
        return "a number and its unit are written together, like `24h` or `25Gi`".to_string();
    }
    "values are strings (\"...\"), numbers with units (`24h`, `25Gi`, `80%`), rates (`100/s`), IPs, `true`/`false`, names, lists (`[a, b]`) or calls (`secret(\"name\")`)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepest_allowed_nesting_parses_on_a_small_stack() {
        let inner = format!(
            "a = {}{}\n",
            "[".repeat(MAX_NESTING - 1),
            "]".repeat(MAX_NESTING - 1)
        );
        let text = format!("b {{\n{inner}}}\n");
        let handle = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || parse(&text).errors.len())
            .expect("thread");
        assert_eq!(handle.join().expect("no stack overflow"), 0);
    }

    #[test]
    fn too_deep_is_blanked_and_reported() {
        let text = format!("a = {}{}\nb = 1\n", "[".repeat(100), "]".repeat(100));
        let p = parse(&text);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].code, SyntaxCode::NestingTooDeep);
        assert_eq!(p.file.items.len(), 2, "the rest of the file still parses");
    }
}
