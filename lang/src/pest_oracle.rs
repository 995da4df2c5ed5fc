//! The pest-generated parser of `kumo.pest`, kept as a test oracle for the hand-written
//! parser (`parser.rs`): `differential` checks that both give the same tree and the same
//! errors on the fixtures, the examples, the stdlib and many mutations of them.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::*;
use crate::parser::{
    MAX_NESTING, Parse, bad_value, comment_errors, junk, nesting_too_deep, unclosed,
    unclosed_block, unescape,
};
use crate::{SyntaxCode, SyntaxError};

#[derive(pest_derive::Parser)]
#[grammar = "kumo.pest"]
struct KumoParser;

/// Parse with the generated parser (same contract as [`crate::parse`]).
pub(crate) fn parse(text: &str) -> Parse {
    let whole = Span::new(0, text.len());
    let (text, deep_errors) = blank_too_deep(text);
    let mut b = Builder {
        text: &text,
        errors: deep_errors,
    };
    let file = match KumoParser::parse(Rule::file, &text) {
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

/// The oracle's nesting guard (the generated parser recurses without limit): bracket nesting
/// beyond [`MAX_NESTING`], counted in the text without regard for comments, is blanked out
/// (same length, newlines kept) and reported. The hand-written parser counts real nesting
/// instead, so the two agree only on texts this finds nothing in; `differential` compares
/// only those.
fn blank_too_deep(text: &str) -> (std::borrow::Cow<'_, str>, Vec<SyntaxError>) {
    let Some(regions) = too_deep(text) else {
        return (std::borrow::Cow::Borrowed(text), Vec::new());
    };
    let mut bytes = text.as_bytes().to_vec();
    let mut errors = Vec::new();
    for (from, to) in &regions {
        for b in bytes.get_mut(*from..*to).into_iter().flatten() {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        errors.push(nesting_too_deep(*from));
    }
    let blanked = String::from_utf8_lossy(&bytes).into_owned();
    (std::borrow::Cow::Owned(blanked), errors)
}

/// The byte ranges nested deeper than `MAX_NESTING`: from the bracket that opens level
/// `MAX_NESTING + 1` to just after the bracket that closes it (or the end of the text).
pub(crate) fn too_deep(text: &str) -> Option<Vec<(usize, usize)>> {
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
        let comments: Vec<Comment> = pair
            .clone()
            .into_inner()
            .flatten()
            .filter(|p| p.as_rule() == Rule::COMMENT)
            .map(|p| Comment {
                text: p.as_str().to_string(),
                span: span_of(&p),
            })
            .collect();
        self.errors.extend(comment_errors(&comments));
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
        junk(pair.as_str(), pair.as_span().start(), &mut self.errors)
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = span_of(&pair);
        let mut keyword = Ident {
            name: Name::default(),
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
                        .map(|c| Box::new(path(&c)));
                }
                Rule::block_open => body_span = span_of(&p),
                Rule::body => {
                    body = children(p).filter_map(|s| self.stmt(s)).collect();
                }
                Rule::block_end if p.as_str().is_empty() => {
                    closed = false;
                    self.errors.push(unclosed_block(&keyword.name, body_span));
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
            body: body.into_boxed_slice(),
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
                text: inner.as_str().into(),
                quoted: false,
                span,
            }),
        }
    }

    fn attribute(&mut self, pair: Pair<'_, Rule>) -> Attr {
        let span = span_of(&pair);
        let mut key = Key {
            name: Name::default(),
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
                                name: k.as_str().into(),
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
        let start = span_of(&pair).start as usize;
        bad_value(pair.as_str(), start, what, &mut self.errors)
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ValueKind::Str(self.string(pair)),
            Rule::number => ValueKind::Number(pair.as_str().into()),
            Rule::rate => ValueKind::Rate(pair.as_str().into()),
            Rule::ipv4 => ValueKind::Ip(pair.as_str().into()),
            Rule::boolean => ValueKind::Bool(pair.as_str() == "true"),
            Rule::path => ValueKind::Path(path(&pair)),
            Rule::list => ValueKind::List(self.list(pair)),
            Rule::call => ValueKind::Call(Box::new(self.call(pair))),
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
        ListLit {
            items: items.into_boxed_slice(),
            closed,
        }
    }

    fn call(&mut self, pair: Pair<'_, Rule>) -> Call {
        let span = span_of(&pair);
        let mut callee = Path {
            segments: Box::default(),
            span: Span::empty_at(span.start),
        };
        let mut args = Vec::new();
        let mut closed = true;
        for (i, p) in children(pair).enumerate() {
            match p.as_rule() {
                // The first child is the callee; a later `path` is an argument.
                Rule::path if i == 0 => callee = path(&p),
                Rule::call_end => {
                    if p.as_str().is_empty() {
                        closed = false;
                        let open = self.open_paren(callee.span.end);
                        let at = args.last().map_or(open + 1, |a: &Arg| a.value.span.end);
                        self.unclosed(open, at, '(', ')');
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
            args: args.into_boxed_slice(),
            closed,
        }
    }

    /// Where the `(` of a call is: after its callee (ending at `from`), the blanks and the
    /// block comments the grammar skips (`WHITESPACE`, `COMMENT`; no newline).
    fn open_paren(&self, from: u32) -> u32 {
        let mut rest = self.text.get(from as usize..).unwrap_or("");
        loop {
            let trimmed = rest.trim_start_matches([' ', '\t', '\u{FEFF}']);
            rest = match trimmed.strip_prefix("/*") {
                Some(comment) => comment.split_once("*/").map_or("", |(_, after)| after),
                None => break,
            };
        }
        (self.text.len() - rest.trim_start_matches([' ', '\t', '\u{FEFF}']).len()) as u32
    }

    fn unclosed(&mut self, open_at: u32, missing_at: u32, open: char, close: char) {
        self.errors
            .push(unclosed(open_at as usize, missing_at as usize, open, close));
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let Some(inner) = children(pair).next() else {
            return StrLit {
                value: Name::default(),
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
        StrLit {
            value: value.into(),
            literal,
        }
    }

    fn unescape(&mut self, raw: &str, start: u32) -> String {
        unescape(raw, start, &mut self.errors)
    }
}

fn ident(pair: &Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().into(),
        span: span_of(pair),
    }
}

fn path(pair: &Pair<'_, Rule>) -> Path {
    let span = span_of(pair);
    let mut segments = Vec::new();
    let mut offset = span.start as usize;
    for seg in pair.as_str().split('.') {
        segments.push(Ident {
            name: seg.into(),
            span: Span::new(offset, offset + seg.len()),
        });
        offset += seg.len() + 1;
    }
    Path {
        segments: segments.into_boxed_slice(),
        span,
    }
}

#[cfg(test)]
mod differential {
    use std::path::{Path as FsPath, PathBuf};

    /// The corpus: every `.kumo` file in the repository's fixtures, examples and stdlib.
    fn corpus() -> Vec<String> {
        let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for dir in ["tests/fixtures", "examples", "stdlib", "fuzz/corpus"] {
            collect(&root.join(dir), &mut files);
        }
        files.sort();
        let mut texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect();
        texts.extend(SNIPPETS.iter().map(|s| s.to_string()));
        texts
    }

    fn collect(dir: &FsPath, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "kumo") {
                out.push(p);
            }
        }
    }

    /// Corners of the grammar that the fixtures may not reach.
    const SNIPPETS: &[&str] = &[
        "",
        "\u{FEFF}a = 1\r\nb = 2\rc = 3",
        "a = [1, 2,\n  3, // c\n ]\n",
        "a = [1, , 2]\n",
        "a = [\n",
        "a = f(x = 1, 2, y = [a], 'q')\n",
        "a = f (1\n",
        "a = f(x = 1 junk)\n",
        "a = 1h30m 2\n",
        "a = 1h30\n",
        "a = local:5/\n",
        "a = local:10/s,max_burst=5\n",
        "a = 500/d,max_burst=\n",
        "a = 10.0.0.1/24\n",
        "a = 1.2.3.4x\n",
        "a = 1234.1.1.1\n",
        "a = -1.5Gi\n",
        "a = -x\n",
        "a = trueish\n",
        "a = true(\n",
        "a = \"x\\\n",
        "a = \"\\u{110000}\\q\\u{41}\"\n",
        "a = 'it''s'\n",
        "a = 1 b = 2 \"c\" = 3\n",
        "a =\n}\n",
        "x { a = 1 } }\n",
        "shaping from provider.google {\n}\n",
        "shaping from {\n}\n",
        "shaping fromage {\n}\n",
        "shaping \"x\" from provider.g {\n",
        "domain \"x\"\n{ a = 1 }\n",
        "foo bar baz { \"}\" { } } tail\n",
        "a = \"unterminated\n/* open comment",
        "# hash\n// slash\n/* block */ a /* mid */ = /* v */ 1 // end\n",
        "a = [1 /* c */, 2 # c\n]\n",
        "}\n}}\n",
        "a == 1\nb: 2\nc\n",
        "x { y { z {\n",
        "a = [[[[1]]]]\n",
        "s=[[[8,[[8,8,/\n{",
        "s=[[[4,[[[0,[[[8,[[8,f(f(8,8,/\n{",
        "s=f([[8,f(x = [1], [2] y, [[3]] z,\n",
        "k = \"\\u{1F600}é\"\n",
    ];

    /// A tiny deterministic PRNG (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "\"",
        "'",
        "\\",
        "\n",
        "\r\n",
        "\r",
        "=",
        ",",
        "/",
        "*",
        "#",
        "//",
        "/*",
        "*/",
        " ",
        "\t",
        "from ",
        "local:",
        "1",
        "10",
        ".",
        "-",
        "_",
        "%",
        "a",
        "x-y",
        "true",
        "false",
        ",max_burst=",
        "\u{FEFF}",
        "é",
        "\\u{41}",
        "24h",
        "100/s",
        "10.0.0.1",
        "f(",
        "provider.google",
        "= ",
        "block {",
        "\"s\"",
    ];

    fn floor_boundary(s: &str, mut i: usize) -> usize {
        while i > 0 && !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    }

    fn mutate(rng: &mut Rng, text: &str) -> String {
        let mut s = text.to_string();
        for _ in 0..1 + rng.below(4) {
            let at = floor_boundary(&s, rng.below(s.len() + 1));
            match rng.below(4) {
                0 | 1 => s.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
                2 => {
                    let to = floor_boundary(&s, (at + 1 + rng.below(16)).min(s.len()));
                    s.replace_range(at..to.max(at), "");
                }
                _ => {
                    let to = floor_boundary(&s, (at + rng.below(40)).min(s.len()));
                    let piece = s[at..to.max(at)].to_string();
                    let into = floor_boundary(&s, rng.below(s.len() + 1));
                    s.insert_str(into, &piece);
                }
            }
        }
        s
    }

    fn check(text: &str) {
        let hand = crate::parse(text);
        if super::too_deep(text).is_some() {
            // Outside the oracle's domain (see `blank_too_deep`).
            return;
        }
        let oracle = super::parse(text);
        assert!(
            hand == oracle,
            "the hand-written parser and the grammar disagree on:\n{text:?}\n\nhand:   {:?}\n\noracle: {:?}",
            hand.errors,
            oracle.errors
        );
    }

    #[test]
    fn hand_written_parser_matches_the_grammar() {
        let corpus = corpus();
        assert!(corpus.len() > 40, "the corpus was not found");
        for text in &corpus {
            check(text);
        }
        let iterations: usize = std::env::var("KUMOC_DIFF_ITERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4000);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for i in 0..iterations {
            let base = &corpus[i % corpus.len()];
            // Mutate a window of big files so each case stays small.
            let base = if base.len() > 4000 {
                let at = floor_boundary(base, rng.below(base.len() - 4000));
                let to = floor_boundary(base, at + 4000);
                &base[at..to]
            } else {
                base.as_str()
            };
            check(&mutate(&mut rng, base));
        }
    }
}
