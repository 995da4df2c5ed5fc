//! The syntax tree. Every node carries a byte [`Span`] into the source text.
//!
//! The tree is generic (blocks, attributes, values); what a block means is decided by the
//! checker. Broken input still yields a tree: unparseable statements are [`Stmt::Error`],
//! unparseable values are [`ValueKind::Error`] and missing ones [`ValueKind::Missing`].

use std::fmt;
use std::sync::Arc;

/// A half-open byte range `start..end` into one source file (UTF-8 offsets).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }
    pub fn empty_at(at: u32) -> Self {
        Self { start: at, end: at }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset <= self.end
    }
    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    /// A sub-span, `range` relative to `self.start`, clamped to `self`.
    pub fn subspan(self, range: std::ops::Range<usize>) -> Span {
        let start = self
            .start
            .saturating_add(u32::try_from(range.start).unwrap_or(u32::MAX))
            .min(self.end);
        let end = self
            .start
            .saturating_add(u32::try_from(range.end).unwrap_or(u32::MAX))
            .clamp(start, self.end);
        Span { start, end }
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A source text shared by the names of its tree (and by the analysis's sources): an
/// `Arc` of the `String` it was read into, so sharing it never copies it (an `Arc<str>` is
/// made by copying the string behind a header: 3.9 MB for a 10,000-domain file) and a name
/// holds a thin pointer to it.
pub type SharedText = Arc<String>;

/// The text of a name, label, key, string or token in the tree: a slice of the source text
/// it was parsed from, shared (no allocation per name: every name of a file holds the one
/// copy of its text), or text of its own (an unescaped string, a name made by a tool).
/// Reads as a `str` (`Deref`, `as_str`), compares, orders and hashes as one, and prints as
/// one (`Debug` and `Display`), so the tree's readers do not see the difference. Cloning
/// it shares the text (a reference count), so the checker's typed tree keeps the same text.
///
/// 16 bytes: the text is held through a thin pointer (the file's [`SharedText`], an
/// `Arc<String>`), not the 16-byte pointer and length of an `Arc<str>`. Every identifier,
/// key, label and string of the syntax and typed trees is one.
#[derive(Clone)]
pub struct Name {
    buf: SharedText,
    start: u32,
    end: u32,
}

impl Name {
    /// A name with text of its own.
    pub fn new(text: &str) -> Self {
        Self::whole(text.to_owned())
    }

    /// All of `text`, which becomes the name's own (without a copy).
    pub fn whole(text: String) -> Self {
        match u32::try_from(text.len()) {
            Ok(end) => Name {
                buf: Arc::new(text),
                start: 0,
                end,
            },
            Err(_) => Name::new(""),
        }
    }

    /// `buf[start..end]`, sharing `buf` (see [`SharedText`]). The range is not checked
    /// here (the parser slices at ASCII delimiters, once per name): one that is not a range
    /// of `buf` reads as empty.
    #[inline]
    pub fn slice(buf: &SharedText, start: usize, end: usize) -> Self {
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Name {
                buf: Arc::clone(buf),
                start,
                end,
            },
            _ => Name::new(""),
        }
    }

    /// The name in ASCII lower case: shared when it is already (the usual case).
    pub fn ascii_lowercase(&self) -> Name {
        if self.bytes().any(|c| c.is_ascii_uppercase()) {
            Name::from(self.to_ascii_lowercase())
        } else {
            self.clone()
        }
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        self.buf
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new("")
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Self {
        Name::new(text)
    }
}

impl From<String> for Name {
    /// The string becomes the name's text, without a copy; room it has to spare is given
    /// back first (a name is kept as long as its tree).
    fn from(mut text: String) -> Self {
        text.shrink_to_fit();
        Name::whole(text)
    }
}

impl From<&String> for Name {
    fn from(text: &String) -> Self {
        Name::new(text)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.as_str().to_string()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

/// A parsed file: its statements and, on the side, its comments.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Stmt>,
    pub comments: Vec<Comment>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The comment text including its `//`, `#` or `/* */` delimiters.
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Block(Block),
    Attr(Attr),
    /// A statement the parser could not read; its text is kept for tools.
    Error(ErrorNode),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Block(b) => b.span,
            Stmt::Attr(a) => a.span,
            Stmt::Error(e) => e.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorNode {
    pub text: String,
    pub span: Span,
}

/// `keyword [label] [from path] { body }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub keyword: Ident,
    pub label: Option<Label>,
    /// Boxed: rare, and every statement is as large as the largest.
    pub from: Option<Box<Path>>,
    /// A boxed slice, not a `Vec`: a finished body never grows (8 bytes less per block).
    pub body: Box<[Stmt]>,
    /// The `{ ... }` part.
    pub body_span: Span,
    /// `false` when the closing `}` is missing (reported as a syntax error).
    pub closed: bool,
    pub span: Span,
}

impl Block {
    pub fn attrs(&self) -> impl Iterator<Item = &Attr> {
        self.body.iter().filter_map(|s| match s {
            Stmt::Attr(a) => Some(a),
            _ => None,
        })
    }
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.body.iter().filter_map(|s| match s {
            Stmt::Block(b) => Some(b),
            _ => None,
        })
    }
    pub fn label_text(&self) -> Option<&str> {
        self.label.as_ref().map(|l| l.text.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

/// A block label: a quoted string (`"example.com"`) or a bare name/path (`shared`,
/// `provider.google`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub text: Name,
    pub quoted: bool,
    pub span: Span,
}

/// A dotted name such as `shared` or `provider.google`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segments: Box<[Ident]>,
    pub span: Span,
}

impl Path {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&seg.name);
        }
        s
    }
    /// The path as written, borrowed when it is one name (the usual case: no copy).
    pub fn text_cow(&self) -> std::borrow::Cow<'_, str> {
        match self.as_name() {
            Some(name) => std::borrow::Cow::Borrowed(name),
            None => std::borrow::Cow::Owned(self.text()),
        }
    }
    /// Whether the path, as written, is `text` (without building it).
    pub fn is(&self, text: &str) -> bool {
        let mut rest = text;
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                match rest.strip_prefix('.') {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
            match rest.strip_prefix(seg.name.as_str()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty() && !self.segments.is_empty()
    }
    /// The single name of a one-segment path.
    pub fn as_name(&self) -> Option<&str> {
        match &self.segments[..] {
            [one] => Some(one.name.as_str()),
            _ => None,
        }
    }
}

/// `key = value`. Keys are names or quoted strings (`"example.com.key" = "..."`).
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub key: Key,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: Name,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A string with escapes resolved.
    Str(StrLit),
    /// A number with its optional unit suffix, as written (`25Gi`, `1000m`, `24h`, `80%`).
    Number(Name),
    /// A throttle or local limit as written (`100/s`, `local:5`, `500/d,max_burst=1`).
    Rate(Name),
    /// An IPv4 address or CIDR as written (`10.0.0.0/8`).
    Ip(Name),
    Bool(bool),
    /// A reference or an enum value (`shared`, `required`, `provider.google`).
    Path(Path),
    List(ListLit),
    /// Boxed: the largest variant by far, it set the size of every value.
    Call(Box<Call>),
    /// `key =` with nothing after it.
    Missing,
    /// A value the parser could not read; the text as written.
    Error(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    pub value: Name,
    /// `'...'` literal string (no escapes).
    pub literal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListLit {
    pub items: Box<[Value]>,
    pub closed: bool,
}

/// `name(arg, key = arg)`
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub callee: Path,
    pub args: Box<[Arg]>,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Value,
}

impl Value {
    /// A short description of the kind of value, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            ValueKind::Str(_) => "a string",
            ValueKind::Number(raw) => describe_number(raw),
            ValueKind::Rate(raw) => {
                if raw.contains('/') {
                    "a rate"
                } else {
                    "a local limit"
                }
            }
            ValueKind::Ip(_) => "an IP address",
            ValueKind::Bool(_) => "a boolean",
            ValueKind::Path(_) => "a name",
            ValueKind::List(_) => "a list",
            ValueKind::Call(_) => "a function call",
            ValueKind::Missing => "nothing",
            ValueKind::Error(_) => "an invalid value",
        }
    }
}

fn describe_number(raw: &str) -> &'static str {
    let suffix: String = raw
        .trim_start_matches('-')
        .chars()
        .skip_while(|c| c.is_ascii_digit() || *c == '_' || *c == '.')
        .collect();
    match suffix.as_str() {
        "" => {
            if raw.contains('.') {
                "a decimal number"
            } else {
                "an integer"
            }
        }
        "%" => "a percentage",
        "m" => "a duration or CPU quantity",
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "k" | "M" | "G" | "T" | "P" | "E" => "a size",
        _ => {
            if suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                "a duration"
            } else {
                "a number with a unit"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A deployment's tree holds a statement per line and a value per attribute and list
    /// item, alive through the whole analysis: rare large parts go in a box.
    #[test]
    fn nodes_stay_small() {
        assert!(std::mem::size_of::<super::Stmt>() <= 104);
        assert!(std::mem::size_of::<super::Value>() <= 40);
    }

    /// A name is two-thirds of the `String` it replaced; a file's names share its text.
    #[test]
    fn names_share_the_text() {
        assert_eq!(std::mem::size_of::<super::Name>(), 16);
        let parse = crate::parse("domain \"example.com\" {\n  a = \"x\\ty\"\n}\n");
        let crate::ast::Stmt::Block(b) = &parse.file.items[0] else {
            panic!("a block")
        };
        assert_eq!(b.keyword.name, "domain");
        assert_eq!(b.label_text(), Some("example.com"));
        let crate::ast::ValueKind::Str(s) = &b.attrs().next().map(|a| &a.value.kind).unwrap()
        else {
            panic!("a string")
        };
        assert_eq!(s.value, "x\ty");
        assert!(std::sync::Arc::ptr_eq(
            &b.keyword.name.buf,
            &b.label.as_ref().unwrap().text.buf
        ));
        assert!(!std::sync::Arc::ptr_eq(&b.keyword.name.buf, &s.value.buf));
        let buf = std::sync::Arc::new("é".to_string());
        assert_eq!(super::Name::slice(&buf, 0, 1), "");
        assert_eq!(super::Name::slice(&buf, 0, 2), "é");
    }
}
