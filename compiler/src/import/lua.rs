//! A Lua 5.4 tokenizer and parser, for reading policies without running them.
//!
//! `kumoc import` reads an existing `init.lua` statically: it never runs it (no Lua VM in the
//! product). This is the whole Lua 5.4 grammar (the reference manual's §9), so any policy
//! KumoMTA can load parses; what the tree *means* is the recognizer's business
//! ([`super::policy`]). Every node keeps its byte span, so a diagnostic names the Lua line it
//! came from. Strings are byte strings (Lua's `\ddd` escapes can spell any byte).
//!
//! Nothing here panics or recurses without bound: nesting deeper than [`MAX_DEPTH`] is a
//! syntax error.

use kumoc_lang::Span;

/// How deep expressions and blocks may nest.
pub const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Keyword(&'static str),
    Str(Vec<u8>),
    /// A numeral as written.
    Num(String),
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// A syntax error: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct LuaError {
    pub span: Span,
    pub message: String,
}

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Longest first, so `...` wins over `..` and `.`.
const OPS: &[&str] = &[
    "...", "..", "==", "~=", "<=", ">=", "<<", ">>", "//", "::", "+", "-", "*", "/", "%", "^", "#",
    "&", "~", "|", "<", ">", "=", "(", ")", "{", "}", "[", "]", ";", ":", ",", ".",
];

fn span(start: usize, end: usize) -> Span {
    Span::new(start, end)
}

/// Split `text` into tokens (comments and whitespace dropped); the last is [`Tok::Eof`].
pub fn tokenize(text: &str) -> Result<Vec<Token>, LuaError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // A first line starting with `#` (a shebang) is skipped, as by Lua.
    if b.first() == Some(&b'#') {
        while i < b.len() && b[i] != b'\n' {
            i += 1;
        }
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i += 2;
            if let Some(level) = long_bracket_level(b, i) {
                let (_, end) = long_string(b, i, level).ok_or_else(|| LuaError {
                    span: span(start, b.len()),
                    message: "unfinished long comment".into(),
                })?;
                i = end;
            } else {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let tok = match KEYWORDS.iter().find(|k| **k == word) {
                Some(k) => Tok::Keyword(k),
                None => Tok::Name(word.to_string()),
            };
            out.push(Token {
                tok,
                span: span(start, i),
            });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i = numeral_end(b, i);
            out.push(Token {
                tok: Tok::Num(text[start..i].to_string()),
                span: span(start, i),
            });
            continue;
        }
        if c == b'"' || c == b'\'' {
            let (value, end) = short_string(b, i)?;
            i = end;
            out.push(Token {
                tok: Tok::Str(value),
                span: span(start, i),
            });
            continue;
        }
        if c == b'[' {
            if let Some(level) = long_bracket_level(b, i) {
                let (value, end) = long_string(b, i, level).ok_or_else(|| LuaError {
                    span: span(start, b.len()),
                    message: "unfinished long string".into(),
                })?;
                i = end;
                out.push(Token {
                    tok: Tok::Str(value),
                    span: span(start, i),
                });
                continue;
            }
        }
        match OPS.iter().find(|op| b[i..].starts_with(op.as_bytes())) {
            Some(op) => {
                i += op.len();
                out.push(Token {
                    tok: Tok::Op(op),
                    span: span(start, i),
                });
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(LuaError {
                    span: span(i, i + ch.len_utf8()),
                    message: format!("unexpected character `{}`", ch.escape_debug()),
                });
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: span(b.len(), b.len()),
    });
    Ok(out)
}

/// `[`, `=`*, `[` at `i`: the number of `=`.
fn long_bracket_level(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&b'=') {
        j += 1;
    }
    (b.get(j) == Some(&b'[')).then_some(j - i - 1)
}

/// The content of a long bracket starting at `i` and the offset after it.
fn long_string(b: &[u8], i: usize, level: usize) -> Option<(Vec<u8>, usize)> {
    let mut j = i + level + 2;
    // A newline right after the opening bracket is skipped.
    if b.get(j) == Some(&b'\r') {
        j += 1;
        if b.get(j) == Some(&b'\n') {
            j += 1;
        }
    } else if b.get(j) == Some(&b'\n') {
        j += 1;
        if b.get(j) == Some(&b'\r') {
            j += 1;
        }
    }
    let content_start = j;
    while j < b.len() {
        if b[j] == b']' {
            let mut k = j + 1;
            let mut eq = 0;
            while b.get(k) == Some(&b'=') {
                eq += 1;
                k += 1;
            }
            if eq == level && b.get(k) == Some(&b']') {
                return Some((b[content_start..j].to_vec(), k + 1));
            }
        }
        j += 1;
    }
    None
}

fn numeral_end(b: &[u8], mut i: usize) -> usize {
    let hex = b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X'));
    if hex {
        i += 2;
    }
    let exp: &[u8] = if hex { b"pP" } else { b"eE" };
    while i < b.len() {
        let c = b[i];
        if exp.contains(&c) && matches!(b.get(i + 1), Some(b'+' | b'-')) {
            i += 2;
        } else if c.is_ascii_alphanumeric() || c == b'.' {
            i += 1;
        } else {
            break;
        }
    }
    i
}

fn short_string(b: &[u8], start: usize) -> Result<(Vec<u8>, usize), LuaError> {
    let quote = b[start];
    let mut out = Vec::new();
    let mut i = start + 1;
    let unfinished = |at: usize| LuaError {
        span: span(start, at),
        message: "unfinished string".into(),
    };
    loop {
        let Some(&c) = b.get(i) else {
            return Err(unfinished(i));
        };
        match c {
            b'\n' | b'\r' => return Err(unfinished(i)),
            c if c == quote => return Ok((out, i + 1)),
            b'\\' => {
                let Some(&e) = b.get(i + 1) else {
                    return Err(unfinished(i));
                };
                let esc = i;
                let bad = |len: usize| LuaError {
                    span: span(esc, esc + len),
                    message: "invalid escape sequence".into(),
                };
                i += 2;
                match e {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    b'\\' => out.push(b'\\'),
                    b'"' => out.push(b'"'),
                    b'\'' => out.push(b'\''),
                    b'\n' | b'\r' => {
                        out.push(b'\n');
                        if matches!(b.get(i), Some(&n) if (n == b'\n' || n == b'\r') && n != e) {
                            i += 1;
                        }
                    }
                    b'x' => {
                        let hex = b.get(i..i + 2).ok_or_else(|| bad(2))?;
                        let s = std::str::from_utf8(hex).map_err(|_| bad(4))?;
                        out.push(u8::from_str_radix(s, 16).map_err(|_| bad(4))?);
                        i += 2;
                    }
                    b'z' => {
                        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                            i += 1;
                        }
                    }
                    b'u' => {
                        if b.get(i) != Some(&b'{') {
                            return Err(bad(2));
                        }
                        let close = b[i..]
                            .iter()
                            .position(|&x| x == b'}')
                            .ok_or_else(|| bad(3))?;
                        let digits =
                            std::str::from_utf8(&b[i + 1..i + close]).map_err(|_| bad(3))?;
                        let n = u32::from_str_radix(digits, 16).map_err(|_| bad(close + 3))?;
                        let ch = char::from_u32(n).ok_or_else(|| bad(close + 3))?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += close + 1;
                    }
                    d if d.is_ascii_digit() => {
                        let mut n: u32 = u32::from(d - b'0');
                        let mut k = 0;
                        while k < 2 && b.get(i).is_some_and(u8::is_ascii_digit) {
                            n = n * 10 + u32::from(b[i] - b'0');
                            i += 1;
                            k += 1;
                        }
                        out.push(u8::try_from(n).map_err(|_| bad(k + 2))?);
                    }
                    _ => return Err(bad(2)),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Nil,
    Bool(bool),
    Num(String),
    Str(Vec<u8>),
    Vararg,
    Function(Box<FuncBody>),
    Table(Vec<Field>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Unary(&'static str, Box<Expr>),
    Name(String),
    /// `a.b` (the key a string) and `a[k]`.
    Index(Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Expr>),
    /// `obj:name(args)`.
    Method(Box<Expr>, String, Vec<Expr>),
    Paren(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// `name = value`, with the span of the name.
    Named(String, Span, Expr),
    /// `[key] = value`.
    Keyed(Expr, Expr),
    /// A positional item.
    Item(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FuncBody {
    pub params: Vec<String>,
    pub vararg: bool,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Empty,
    Local(Vec<String>, Vec<Expr>),
    Assign(Vec<Expr>, Vec<Expr>),
    Call(Expr),
    LocalFunction(String, FuncBody),
    /// `function a.b.c:m() end`: the dotted name, and the method name.
    Function(Vec<String>, Option<String>, FuncBody),
    If(Vec<(Expr, Vec<Stmt>)>, Option<Vec<Stmt>>),
    While(Expr, Vec<Stmt>),
    Repeat(Vec<Stmt>, Expr),
    NumericFor(String, Vec<Expr>, Vec<Stmt>),
    GenericFor(Vec<String>, Vec<Expr>, Vec<Stmt>),
    Do(Vec<Stmt>),
    Return(Vec<Expr>),
    Break,
    Goto(String),
    Label(String),
}

impl Expr {
    /// The string value of a string literal.
    pub fn as_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(b) => Some(String::from_utf8_lossy(b).into_owned()),
            ExprKind::Paren(e) => e.as_str(),
            _ => None,
        }
    }

    /// `a`, `a.b`, `a.b.c` as a dotted path (string keys only).
    pub fn dotted(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Name(n) => Some(n.clone()),
            ExprKind::Index(base, key) => {
                let k = key.as_str()?;
                let ident = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                ident
                    .then(|| format!("{}.{k}", base.dotted().unwrap_or_default()))
                    .filter(|s| !s.starts_with('.'))
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parser
// ---------------------------------------------------------------------------------------------

/// Parse a whole chunk.
pub fn parse(text: &str) -> Result<Vec<Stmt>, LuaError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        t: tokens,
        i: 0,
        depth: 0,
    };
    let block = p.block()?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.error(&format!("unexpected {}", p.describe())));
    }
    Ok(block)
}

struct Parser {
    t: Vec<Token>,
    i: usize,
    depth: usize,
}

/// Binary operators: (left priority, right priority), from the Lua 5.4 reference.
fn binary(op: &Tok) -> Option<(&'static str, u8, u8)> {
    let name = match op {
        Tok::Keyword(k @ ("or" | "and")) => *k,
        Tok::Op(o) => *o,
        _ => return None,
    };
    let (l, r) = match name {
        "or" => (1, 1),
        "and" => (2, 2),
        "<" | ">" | "<=" | ">=" | "~=" | "==" => (3, 3),
        "|" => (4, 4),
        "~" => (5, 5),
        "&" => (6, 6),
        "<<" | ">>" => (7, 7),
        ".." => (9, 8),
        "+" | "-" => (10, 10),
        "*" | "/" | "//" | "%" => (11, 11),
        "^" => (14, 13),
        _ => return None,
    };
    Some((name, l, r))
}

const UNARY_PRIORITY: u8 = 12;

impl Parser {
    fn peek(&self) -> &Tok {
        self.t.get(self.i).map_or(&Tok::Eof, |t| &t.tok)
    }
    fn peek_at(&self, n: usize) -> &Tok {
        self.t.get(self.i + n).map_or(&Tok::Eof, |t| &t.tok)
    }
    fn here(&self) -> Span {
        self.t.get(self.i).map_or(Span::default(), |t| t.span)
    }
    fn prev_end(&self) -> u32 {
        self.i
            .checked_sub(1)
            .and_then(|i| self.t.get(i))
            .map_or(0, |t| t.span.end)
    }
    fn span_from(&self, start: u32) -> Span {
        Span {
            start,
            end: self.prev_end().max(start),
        }
    }
    fn describe(&self) -> String {
        match self.peek() {
            Tok::Name(n) => format!("`{n}`"),
            Tok::Keyword(k) | Tok::Op(k) => format!("`{k}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Num(n) => format!("`{n}`"),
            Tok::Eof => "end of file".into(),
        }
    }
    fn error(&self, message: &str) -> LuaError {
        LuaError {
            span: self.here(),
            message: message.to_string(),
        }
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Keyword(k) if *k == kw)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str) -> Result<(), LuaError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{op}`, found {}", self.describe())))
        }
    }
    fn expect_kw(&mut self, kw: &str, opened: Option<Span>) -> Result<(), LuaError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            let mut e = self.error(&format!("expected `{kw}`, found {}", self.describe()));
            if let Some(o) = opened {
                e.message
                    .push_str(&format!(" (to close the block opened at byte {})", o.start));
            }
            Err(e)
        }
    }
    fn name(&mut self) -> Result<String, LuaError> {
        match self.peek().clone() {
            Tok::Name(n) => {
                self.i += 1;
                Ok(n)
            }
            _ => Err(self.error(&format!("expected a name, found {}", self.describe()))),
        }
    }
    fn enter(&mut self) -> Result<(), LuaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn block_ends(&self) -> bool {
        matches!(
            self.peek(),
            Tok::Eof | Tok::Keyword("end" | "else" | "elseif" | "until")
        )
    }

    fn block(&mut self) -> Result<Vec<Stmt>, LuaError> {
        self.enter()?;
        let mut out = Vec::new();
        while !self.block_ends() {
            if self.is_kw("return") {
                let start = self.here().start;
                self.i += 1;
                let values = if self.block_ends() || self.is_op(";") {
                    Vec::new()
                } else {
                    self.exprlist()?
                };
                self.eat_op(";");
                out.push(Stmt {
                    kind: StmtKind::Return(values),
                    span: self.span_from(start),
                });
                if !self.block_ends() {
                    return Err(self.error("`return` must be the last statement of its block"));
                }
                break;
            }
            let s = self.statement()?;
            if s.kind != StmtKind::Empty {
                out.push(s);
            }
        }
        self.leave();
        Ok(out)
    }

    fn statement(&mut self) -> Result<Stmt, LuaError> {
        let start = self.here().start;
        let kind = match self.peek().clone() {
            Tok::Op(";") => {
                self.i += 1;
                StmtKind::Empty
            }
            Tok::Op("::") => {
                self.i += 1;
                let n = self.name()?;
                self.expect_op("::")?;
                StmtKind::Label(n)
            }
            Tok::Keyword("break") => {
                self.i += 1;
                StmtKind::Break
            }
            Tok::Keyword("goto") => {
                self.i += 1;
                StmtKind::Goto(self.name()?)
            }
            Tok::Keyword("do") => {
                let opened = self.here();
                self.i += 1;
                let b = self.block()?;
                self.expect_kw("end", Some(opened))?;
                StmtKind::Do(b)
            }
            Tok::Keyword("while") => {
                let opened = self.here();
                self.i += 1;
                let cond = self.expr()?;
                self.expect_kw("do", None)?;
                let b = self.block()?;
                self.expect_kw("end", Some(opened))?;
                StmtKind::While(cond, b)
            }
            Tok::Keyword("repeat") => {
                self.i += 1;
                let b = self.block()?;
                self.expect_kw("until", None)?;
                StmtKind::Repeat(b, self.expr()?)
            }
            Tok::Keyword("if") => {
                let opened = self.here();
                self.i += 1;
                let mut arms = Vec::new();
                let cond = self.expr()?;
                self.expect_kw("then", None)?;
                arms.push((cond, self.block()?));
                let mut otherwise = None;
                loop {
                    if self.eat_kw("elseif") {
                        let c = self.expr()?;
                        self.expect_kw("then", None)?;
                        arms.push((c, self.block()?));
                    } else if self.eat_kw("else") {
                        otherwise = Some(self.block()?);
                        self.expect_kw("end", Some(opened))?;
                        break;
                    } else {
                        self.expect_kw("end", Some(opened))?;
                        break;
                    }
                }
                StmtKind::If(arms, otherwise)
            }
            Tok::Keyword("for") => {
                let opened = self.here();
                self.i += 1;
                let first = self.name()?;
                if self.eat_op("=") {
                    let mut e = vec![self.expr()?];
                    self.expect_op(",")?;
                    e.push(self.expr()?);
                    if self.eat_op(",") {
                        e.push(self.expr()?);
                    }
                    self.expect_kw("do", None)?;
                    let b = self.block()?;
                    self.expect_kw("end", Some(opened))?;
                    StmtKind::NumericFor(first, e, b)
                } else {
                    let mut names = vec![first];
                    while self.eat_op(",") {
                        names.push(self.name()?);
                    }
                    self.expect_kw("in", None)?;
                    let e = self.exprlist()?;
                    self.expect_kw("do", None)?;
                    let b = self.block()?;
                    self.expect_kw("end", Some(opened))?;
                    StmtKind::GenericFor(names, e, b)
                }
            }
            Tok::Keyword("function") => {
                let fstart = self.here().start;
                self.i += 1;
                let mut path = vec![self.name()?];
                while self.eat_op(".") {
                    path.push(self.name()?);
                }
                let method = if self.eat_op(":") {
                    Some(self.name()?)
                } else {
                    None
                };
                let body = self.funcbody(fstart)?;
                StmtKind::Function(path, method, body)
            }
            Tok::Keyword("local") => {
                self.i += 1;
                if self.is_kw("function") {
                    let fstart = self.here().start;
                    self.i += 1;
                    let n = self.name()?;
                    StmtKind::LocalFunction(n, self.funcbody(fstart)?)
                } else {
                    let mut names = vec![self.attname()?];
                    while self.eat_op(",") {
                        names.push(self.attname()?);
                    }
                    let values = if self.eat_op("=") {
                        self.exprlist()?
                    } else {
                        Vec::new()
                    };
                    StmtKind::Local(names, values)
                }
            }
            _ => {
                let e = self.suffixed()?;
                if self.is_op("=") || self.is_op(",") {
                    let mut targets = vec![e];
                    while self.eat_op(",") {
                        targets.push(self.suffixed()?);
                    }
                    self.expect_op("=")?;
                    for t in &targets {
                        if !matches!(t.kind, ExprKind::Name(_) | ExprKind::Index(..)) {
                            return Err(LuaError {
                                span: t.span,
                                message: "cannot assign to this expression".into(),
                            });
                        }
                    }
                    StmtKind::Assign(targets, self.exprlist()?)
                } else if matches!(e.kind, ExprKind::Call(..) | ExprKind::Method(..)) {
                    StmtKind::Call(e)
                } else {
                    return Err(LuaError {
                        span: e.span,
                        message: "syntax error: an expression is not a statement".into(),
                    });
                }
            }
        };
        Ok(Stmt {
            kind,
            span: self.span_from(start),
        })
    }

    fn attname(&mut self) -> Result<String, LuaError> {
        let n = self.name()?;
        if self.eat_op("<") {
            let attr = self.name()?;
            if attr != "const" && attr != "close" {
                return Err(self.error(&format!("unknown attribute `{attr}`")));
            }
            self.expect_op(">")?;
        }
        Ok(n)
    }

    fn funcbody(&mut self, start: u32) -> Result<FuncBody, LuaError> {
        self.expect_op("(")?;
        let mut params = Vec::new();
        let mut vararg = false;
        if !self.is_op(")") {
            loop {
                if self.eat_op("...") {
                    vararg = true;
                    break;
                }
                params.push(self.name()?);
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.expect_op(")")?;
        let body = self.block()?;
        self.expect_kw(
            "end",
            Some(Span {
                start,
                end: start + 8,
            }),
        )?;
        Ok(FuncBody {
            params,
            vararg,
            body,
            span: self.span_from(start),
        })
    }

    fn exprlist(&mut self) -> Result<Vec<Expr>, LuaError> {
        let mut out = vec![self.expr()?];
        while self.eat_op(",") {
            out.push(self.expr()?);
        }
        Ok(out)
    }

    fn expr(&mut self) -> Result<Expr, LuaError> {
        self.subexpr(0)
    }

    fn subexpr(&mut self, limit: u8) -> Result<Expr, LuaError> {
        self.enter()?;
        let start = self.here().start;
        let unary = match self.peek() {
            Tok::Keyword("not") => Some("not"),
            Tok::Op("-") => Some("-"),
            Tok::Op("#") => Some("#"),
            Tok::Op("~") => Some("~"),
            _ => None,
        };
        let mut left = if let Some(op) = unary {
            self.i += 1;
            let operand = self.subexpr(UNARY_PRIORITY)?;
            Expr {
                kind: ExprKind::Unary(op, Box::new(operand)),
                span: self.span_from(start),
            }
        } else {
            self.simple()?
        };
        while let Some((op, l, r)) = binary(self.peek()) {
            if l <= limit {
                break;
            }
            self.i += 1;
            let right = self.subexpr(r)?;
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                span: self.span_from(start),
            };
        }
        self.leave();
        Ok(left)
    }

    fn simple(&mut self) -> Result<Expr, LuaError> {
        let start = self.here().start;
        let kind = match self.peek().clone() {
            Tok::Num(n) => {
                self.i += 1;
                ExprKind::Num(n)
            }
            Tok::Str(s) => {
                self.i += 1;
                ExprKind::Str(s)
            }
            Tok::Keyword("nil") => {
                self.i += 1;
                ExprKind::Nil
            }
            Tok::Keyword("true") => {
                self.i += 1;
                ExprKind::Bool(true)
            }
            Tok::Keyword("false") => {
                self.i += 1;
                ExprKind::Bool(false)
            }
            Tok::Op("...") => {
                self.i += 1;
                ExprKind::Vararg
            }
            Tok::Op("{") => return self.table(),
            Tok::Keyword("function") => {
                self.i += 1;
                ExprKind::Function(Box::new(self.funcbody(start)?))
            }
            _ => return self.suffixed(),
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    fn primary(&mut self) -> Result<Expr, LuaError> {
        let start = self.here().start;
        match self.peek().clone() {
            Tok::Name(n) => {
                self.i += 1;
                Ok(Expr {
                    kind: ExprKind::Name(n),
                    span: self.span_from(start),
                })
            }
            Tok::Op("(") => {
                self.i += 1;
                let e = self.expr()?;
                self.expect_op(")")?;
                Ok(Expr {
                    kind: ExprKind::Paren(Box::new(e)),
                    span: self.span_from(start),
                })
            }
            _ => Err(self.error(&format!("unexpected {}", self.describe()))),
        }
    }

    fn suffixed(&mut self) -> Result<Expr, LuaError> {
        self.enter()?;
        let start = self.here().start;
        let mut e = self.primary()?;
        loop {
            match self.peek().clone() {
                Tok::Op(".") => {
                    self.i += 1;
                    let kstart = self.here();
                    let n = self.name()?;
                    let key = Expr {
                        kind: ExprKind::Str(n.into_bytes()),
                        span: kstart,
                    };
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(key)),
                        span: self.span_from(start),
                    };
                }
                Tok::Op("[") => {
                    self.i += 1;
                    let k = self.expr()?;
                    self.expect_op("]")?;
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), Box::new(k)),
                        span: self.span_from(start),
                    };
                }
                Tok::Op(":") => {
                    self.i += 1;
                    let m = self.name()?;
                    let args = self.args()?;
                    e = Expr {
                        kind: ExprKind::Method(Box::new(e), m, args),
                        span: self.span_from(start),
                    };
                }
                Tok::Op("(" | "{") | Tok::Str(_) => {
                    let args = self.args()?;
                    e = Expr {
                        kind: ExprKind::Call(Box::new(e), args),
                        span: self.span_from(start),
                    };
                }
                _ => break,
            }
        }
        self.leave();
        Ok(e)
    }

    fn args(&mut self) -> Result<Vec<Expr>, LuaError> {
        let start = self.here().start;
        match self.peek().clone() {
            Tok::Str(s) => {
                self.i += 1;
                Ok(vec![Expr {
                    kind: ExprKind::Str(s),
                    span: self.span_from(start),
                }])
            }
            Tok::Op("{") => Ok(vec![self.table()?]),
            Tok::Op("(") => {
                self.i += 1;
                if self.eat_op(")") {
                    return Ok(Vec::new());
                }
                let list = self.exprlist()?;
                self.expect_op(")")?;
                Ok(list)
            }
            _ => Err(self.error("expected function arguments")),
        }
    }

    fn table(&mut self) -> Result<Expr, LuaError> {
        self.enter()?;
        let start = self.here().start;
        self.expect_op("{")?;
        let mut fields = Vec::new();
        while !self.is_op("}") {
            if self.is_op("[") {
                self.i += 1;
                let k = self.expr()?;
                self.expect_op("]")?;
                self.expect_op("=")?;
                fields.push(Field::Keyed(k, self.expr()?));
            } else if matches!(self.peek(), Tok::Name(_)) && matches!(self.peek_at(1), Tok::Op("="))
            {
                let at = self.here();
                let n = self.name()?;
                self.i += 1;
                fields.push(Field::Named(n, at, self.expr()?));
            } else {
                fields.push(Field::Item(self.expr()?));
            }
            if !self.eat_op(",") && !self.eat_op(";") {
                break;
            }
        }
        self.expect_op("}")?;
        self.leave();
        Ok(Expr {
            kind: ExprKind::Table(fields),
            span: self.span_from(start),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn one(src: &str) -> StmtKind {
        let mut b = parse(src).unwrap();
        assert_eq!(b.len(), 1, "{b:?}");
        b.remove(0).kind
    }

    #[test]
    fn strings_decode_like_lua() {
        let cases: &[(&str, &[u8])] = &[
            (r#""a\"b""#, b"a\"b"),
            (r"'it''s'", b"it"),
            (r#""\65\066\0673""#, b"AB\x433"),
            (r#""\x41\u{e9}""#, b"A\xc3\xa9"),
            ("[[\nline]]", b"line"),
            ("[==[a]]b]==]", b"a]]b"),
            ("\"a\\z   \n  b\"", b"ab"),
        ];
        for (src, want) in cases {
            let toks = tokenize(src).unwrap();
            assert_eq!(toks[0].tok, Tok::Str(want.to_vec()), "{src}");
        }
        assert!(tokenize("\"open").is_err());
        assert!(tokenize("\"\\q\"").is_err());
        assert!(tokenize("--[[ open").is_err());
    }

    #[test]
    fn comments_and_numbers() {
        let toks = tokenize("-- c\n--[==[ x ]==] 0x1F 3.5e-2 .5 a--b").unwrap();
        let kinds: Vec<Tok> = toks.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Num("0x1F".into()),
                Tok::Num("3.5e-2".into()),
                Tok::Num(".5".into()),
                Tok::Name("a".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn call_forms_and_precedence() {
        assert!(matches!(one("f{ a = 1 }"), StmtKind::Call(_)));
        assert!(matches!(one("require 'kumo'"), StmtKind::Call(_)));
        assert!(matches!(one("x:setup{ 'a' }"), StmtKind::Call(_)));
        let StmtKind::Local(_, v) = one("local x = os.getenv('A') or 'b' .. 'c'") else {
            panic!()
        };
        // `..` binds tighter than `or`.
        assert!(
            matches!(&v[0].kind, ExprKind::Binary("or", _, r) if matches!(r.kind, ExprKind::Binary("..", _, _)))
        );
        let StmtKind::Local(_, v) = one("local x = 2 ^ 3 ^ 2") else {
            panic!()
        };
        assert!(
            matches!(&v[0].kind, ExprKind::Binary("^", _, r) if matches!(r.kind, ExprKind::Binary("^", _, _)))
        );
        let StmtKind::Local(_, v) = one("local x = -a.b.c") else {
            panic!()
        };
        assert!(
            matches!(&v[0].kind, ExprKind::Unary("-", e) if e.dotted().as_deref() == Some("a.b.c"))
        );
    }

    #[test]
    fn statements() {
        let src = "local kumo <const> = require 'kumo'\nfor _, p in ipairs { 25, 2026 } do kumo.start_esmtp_listener { listen = '0:' .. p } end\nif a then b() elseif c then d() else e() end\nfunction M.f:g(...) return ... end\nlocal function h() return end\nwhile x do break end\nrepeat goto l until y\n::l::\ndo ; end";
        let b = parse(src).unwrap();
        assert_eq!(b.len(), 9);
        assert!(parse("x").is_err());
        assert!(parse("return 1 x()").is_err());
        assert!(parse("if a then").is_err());
        assert!(parse("f() = 1").is_err());
        let deep = format!("x = {}1{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep).is_err());
    }
}
