//! The `.kumo` parser: a hand-written recursive-descent parser over bytes that builds the
//! [`ast`](crate::ast) directly, collecting every syntax error on the way.
//!
//! `kumo.pest` is its specification: every function below implements the grammar rule it
//! names, with PEG semantics (ordered choice, greedy repetition, lookahead, and the implicit
//! skipping of blanks and comments between the tokens of non-atomic rules). In tests the
//! pest-generated parser of that grammar runs as an oracle, and a differential test checks
//! that both produce the same tree and the same errors (`pest_oracle.rs`). Parsing is total:
//! every place where input can go wrong has an error alternative, so a tree always comes
//! back. The generated parser was 40% of `kumoc build`'s time on 10,000 domains (pest
//! backtracks through `match_string` at every token); this one is about six times faster.

use crate::ast::*;
use crate::{SyntaxCode, SyntaxError};

/// Nesting deeper than this is refused before parsing (the parser recurses per level).
pub const MAX_NESTING: usize = 32;

/// The result of parsing one file: a tree (always) and the syntax errors (maybe none).
#[derive(Debug, Clone, PartialEq)]
pub struct Parse {
    pub file: File,
    pub errors: Vec<SyntaxError>,
}

/// Parse `.kumo` source text. Total: never fails, never panics.
pub fn parse(text: &str) -> Parse {
    Parser::new(text).parse_file()
}

impl Parser<'_, false> {
    fn parse_file(mut self) -> Parse {
        let text = self.text;
        let p = &mut self;
        let items = p.file();
        let mut errors = comment_errors(&p.comments);
        errors.append(&mut p.errors);
        errors.sort_by_key(|e| (e.span.start, e.span.end));
        let file = File {
            items,
            comments: std::mem::take(&mut p.comments),
            span: Span::new(0, text.len()),
        };
        Parse { file, errors }
    }
}

/// [`parse`] of a text already shared: the names of the tree share it (no copy of it).
pub fn parse_shared(text: &SharedText) -> Parse {
    let mut p = Parser::with(text);
    p.shared = Some(std::sync::Arc::clone(text));
    p.parse_file()
}

/// A file's top-level statements parsed one at a time, for a caller that frees each
/// statement's tree before it parses the next (`kumoc build`'s front end: parse, check,
/// drop). Read to the end, they are [`parse_shared`]'s: the same statements in order, the
/// same comments ([`Statements::comments`], those read by the last step) and the same
/// errors ([`Statements::errors`]). The names share the text, as `parse_shared`'s do.
pub struct Statements<'t> {
    p: Parser<'t, false>,
    /// The errors of the unterminated comments read so far (`parse` lists them first).
    comment_errors: Vec<SyntaxError>,
}

impl<'t> Statements<'t> {
    /// The statements of `text` from its start.
    pub fn new(text: &'t SharedText) -> Self {
        Self::at(text, 0)
    }

    /// The statements of `text` from `from`, which is where a piece starts (where an
    /// earlier [`Statements::next_stmt`] began: see [`Piece`]); spans are into the whole
    /// text. Reading one statement again this way gives the same statement.
    pub fn at(text: &'t SharedText, from: u32) -> Self {
        let mut p = Parser::with(text);
        p.shared = Some(std::sync::Arc::clone(text));
        p.pos = (from as usize).min(text.len());
        Statements {
            p,
            comment_errors: Vec::new(),
        }
    }

    /// The next top-level statement, with where its piece starts (the blanks, comments and
    /// newlines before it, see [`Piece`]); `None` at the end of the text.
    pub fn next_stmt(&mut self) -> Option<(u32, Stmt)> {
        // Most statements have no comment before them or in them: nothing to look at.
        if !self.p.comments.is_empty() {
            self.comment_errors
                .append(&mut comment_errors(&self.p.comments));
            self.p.comments.clear();
        }
        // Lists and calls are memoized by position while one statement backtracks; the
        // next statement never reads them again, so they are not kept.
        if !self.p.memo.is_empty() {
            self.p.memo.clear();
        }
        let start = u32::try_from(self.p.pos).unwrap_or(u32::MAX);
        // `file`'s loop (`stmts(true)`), one statement at a time.
        loop {
            match self.p.skip_peek() {
                None => return None,
                // (`eat_newline` at a byte already read.)
                Some(b'\n') => self.p.pos += 1,
                Some(b'\r') => {
                    self.p.eat_newline();
                }
                Some(_) => return Some((start, self.p.stmt(true))),
            }
        }
    }

    /// The comments read by the last [`Statements::next_stmt`] (before its statement and
    /// inside it; at the end of the text, those after the last statement).
    pub fn comments(&self) -> &[Comment] {
        &self.p.comments
    }

    /// Where the next piece starts: where [`Statements::next_stmt`] reads on from. A
    /// caller that reads a file in ranges compares it with where the next range starts.
    pub fn pos(&self) -> u32 {
        u32::try_from(self.p.pos).unwrap_or(u32::MAX)
    }

    /// The syntax errors of the text read, sorted as [`Parse::errors`] (read every
    /// statement first to have all of them).
    pub fn errors(self) -> Vec<SyntaxError> {
        let mut errors = self.unsorted_errors();
        Self::sort_errors(&mut errors.0, errors.1);
        errors.0
    }

    /// The syntax errors of the text read, unsorted: the unterminated comments', then the
    /// parser's, each in the order they were found. The errors of consecutive ranges of a
    /// file read apart (each from where the last one stopped, see [`Statements::at`]), put
    /// together by [`Statements::sort_errors`], are those of the file read whole
    /// ([`Statements::errors`]).
    pub fn unsorted_errors(self) -> (Vec<SyntaxError>, Vec<SyntaxError>) {
        let mut comments = self.comment_errors;
        comments.append(&mut comment_errors(&self.p.comments));
        (comments, self.p.errors)
    }

    /// `comments` (every range's comment errors, in order) followed by `errors` (every
    /// range's parser errors, in order), sorted as [`Parse::errors`] (stably: equal spans
    /// keep that order).
    pub fn sort_errors(comments: &mut Vec<SyntaxError>, mut errors: Vec<SyntaxError>) {
        comments.append(&mut errors);
        comments.sort_by_key(|e| (e.span.start, e.span.end));
    }
}

/// One step of the top level of a file, for editors that re-parse only what an edit
/// touched: the blanks, comments and newlines before a statement and the statement
/// itself (`stmt: None` when the text ends first). Spans are relative to the start of the
/// text the piece was parsed from.
///
/// [`parse`] reads a file as consecutive pieces: parsing `text[p..]` at a piece boundary
/// `p` yields the same statement, comments and errors, shifted by `p`, as `parse(text)`
/// (the parser never looks behind its position, and at the top level nothing else carries
/// over), and the next piece starts at `p + len`. A piece depends on `text[p..p + reach]`
/// only, so after an edit the pieces that end their reach before it are still valid, and
/// so are those after it once a new piece boundary lands on an old one.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Bytes consumed (the next piece starts there).
    pub len: u32,
    /// One past the last byte examined (`len + 1` of the remaining text when the answer
    /// depended on where the text ends); never less than `len`.
    pub reach: u32,
    pub stmt: Option<Stmt>,
    pub comments: Vec<Comment>,
    /// Sorted by span, as [`parse`] sorts them.
    pub errors: Vec<SyntaxError>,
}

/// Parse the first piece of `text` (see [`Piece`]). Total, like [`parse`].
pub fn parse_piece(text: &str) -> Piece {
    parse_piece_in(text, None)
}

/// [`parse_piece`] of `text`, which is `buf[at..]` when `shared` is `Some((buf, at))`: the
/// piece's names then share `buf` (one allocation for the whole text, see
/// [`SharedText`]) rather than each holding a copy of its text.
pub(crate) fn parse_piece_in(text: &str, shared: Option<(&SharedText, usize)>) -> Piece {
    let mut p = Parser::tracking(text);
    if let Some((buf, at)) = shared {
        p.shared = Some(std::sync::Arc::clone(buf));
        p.base = at;
    }
    let stmt = loop {
        match p.skip_peek() {
            None => break None,
            Some(b'\n' | b'\r') => {
                p.eat_newline();
            }
            Some(_) => break Some(p.stmt(true)),
        }
    };
    let mut errors = comment_errors(&p.comments);
    errors.append(&mut p.errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    let len = u32::try_from(p.pos).unwrap_or(u32::MAX);
    Piece {
        len,
        reach: u32::try_from(p.reach.get()).unwrap_or(u32::MAX).max(len),
        stmt,
        comments: p.comments,
        errors,
    }
}

/// `/* ...` without its `*/` (the comment then runs to the end of the file).
pub(crate) fn comment_errors(comments: &[Comment]) -> Vec<SyntaxError> {
    comments
        .iter()
        .filter(|c| c.text.starts_with("/*") && (c.text.len() < 4 || !c.text.ends_with("*/")))
        .map(|c| {
            SyntaxError::new(
                SyntaxCode::UnterminatedComment,
                "unterminated block comment".to_string(),
                c.span.subspan(0..2),
                "this comment is never closed",
                Some("add `*/` where the comment should end"),
            )
        })
        .collect()
}

/// A position to come back to when an alternative fails: the input offset, and how many
/// errors and comments had been recorded (those of the failed attempt are dropped).
#[derive(Clone, Copy)]
struct Mark {
    pos: usize,
    errors: usize,
    comments: usize,
}

/// `TRACK`: record how far the parser looked ahead ([`Parser::reach`]), for
/// [`parse_piece`]; off for [`parse`], where it would only cost time.
struct Parser<'t, const TRACK: bool = false> {
    text: &'t str,
    /// The text shared by the names of the tree ([`Name::slice`]); without it (a piece,
    /// which may be the rest of a large document) each name has its own copy.
    shared: Option<SharedText>,
    /// Where `text` starts in `shared`'s text (a piece's text is the rest of its file's).
    base: usize,
    b: &'t [u8],
    pos: usize,
    /// With `TRACK`: one past the last byte index examined (an index at the end of the text
    /// counts: the answer depended on the text ending there).
    reach: std::cell::Cell<usize>,
    /// How many blocks, lists and calls enclose `pos` (at most [`MAX_NESTING`]).
    depth: usize,
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    /// The statements of the bodies being parsed (see [`Parser::stmts`]), and likewise
    /// the items of the lists and the arguments of the calls.
    stack: Vec<Stmt>,
    values: Vec<Value>,
    args: Vec<Arg>,
    /// Nested lists and calls already parsed as list items or arguments, by position: see
    /// [`Parser::item_value`].
    memo: std::collections::HashMap<usize, Vec<Memo>>,
    /// The deepest `depth` a block, list or call was entered at (for the memo; never reset
    /// by backtracking, so it can only overstate).
    max_depth: usize,
    /// How many constructs were skipped as too deep (idem).
    too_deep_count: usize,
    /// How many times `value` ran (the tests bound the parser's work with it).
    values_parsed: usize,
    /// Off only in a test that checks the memo changes nothing.
    memoize: bool,
}

/// A parsed item value and what parsing it did: where it ended, its errors and comments,
/// and what the nesting limit needs to know to reuse it at another depth.
struct Memo {
    value: Value,
    end: usize,
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    /// The depth it was parsed at.
    depth: usize,
    /// How much deeper than `depth` its nesting went.
    height: usize,
    /// Whether the nesting limit cut something inside it.
    cut: bool,
}

/// Byte classes, one table lookup each (the hot loops scan identifiers and blanks).
const IDENT_START: u8 = 1;
const IDENT_CHAR: u8 = 2;
/// `[A-Za-z0-9_]`: a rate's period.
const WORD: u8 = 4;
const BLANK: u8 = 8;
/// An ordinary byte inside a `"..."` or a `'...'` string: not its quote, a backslash or a
/// newline.
const IN_DQ: u8 = 16;
const IN_SQ: u8 = 32;
/// A byte that may start a comment or a BOM (`#`, `/`, 0xEF): [`Parser::skip`] must look.
const SKIP_START: u8 = 64;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let alpha = c.is_ascii_alphabetic();
        let digit = c.is_ascii_digit();
        let mut k = 0;
        if alpha || c == b'_' {
            k |= IDENT_START;
        }
        if alpha || digit || c == b'_' || c == b'-' {
            k |= IDENT_CHAR;
        }
        if alpha || digit || c == b'_' {
            k |= WORD;
        }
        if c == b' ' || c == b'\t' {
            k |= BLANK;
        }
        if c == b'#' || c == b'/' || c == 0xEF {
            k |= SKIP_START;
        }
        if c != b'\\' && c != b'\n' && c != b'\r' {
            if c != b'"' {
                k |= IN_DQ;
            }
            if c != b'\'' {
                k |= IN_SQ;
            }
        }
        t[i] = k;
        i += 1;
    }
    t
};

#[inline(always)]
fn class(c: u8, k: u8) -> bool {
    CLASS[c as usize] & k != 0
}

#[inline(always)]
fn is_ident_start(c: u8) -> bool {
    class(c, IDENT_START)
}

#[inline(always)]
fn is_ident_char(c: u8) -> bool {
    class(c, IDENT_CHAR)
}

#[inline(always)]
fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

impl<'t> Parser<'t, false> {
    fn new(text: &'t str) -> Self {
        let mut p = Self::with(text);
        p.shared = Some(std::sync::Arc::new(text.to_owned()));
        p
    }
}

impl<'t> Parser<'t, true> {
    fn tracking(text: &'t str) -> Self {
        Self::with(text)
    }
}

impl<'t, const TRACK: bool> Parser<'t, TRACK> {
    fn with(text: &'t str) -> Self {
        Parser {
            text,
            shared: None,
            base: 0,
            b: text.as_bytes(),
            pos: 0,
            reach: std::cell::Cell::new(0),
            depth: 0,
            errors: Vec::new(),
            comments: Vec::new(),
            stack: Vec::new(),
            values: Vec::new(),
            args: Vec::new(),
            memo: std::collections::HashMap::new(),
            max_depth: 0,
            too_deep_count: 0,
            values_parsed: 0,
            memoize: true,
        }
    }

    // ----- primitives --------------------------------------------------------------------

    #[inline(always)]
    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            errors: self.errors.len(),
            comments: self.comments.len(),
        }
    }

    #[inline(always)]
    fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.errors.truncate(m.errors);
        self.comments.truncate(m.comments);
    }

    #[inline(always)]
    fn at(&self, i: usize) -> Option<u8> {
        if TRACK {
            self.reach.set(self.reach.get().max(i + 1));
        }
        self.b.get(i).copied()
    }

    /// The first index from `i` whose byte is not `keep` (or the end of the text). Four
    /// bytes a step: names and strings run a few to a few dozen bytes, and a loop's test
    /// and increment per byte cost as much as the byte's own test.
    #[inline(always)]
    fn scan(&self, i: usize, keep: impl Fn(u8) -> bool) -> usize {
        let mut j = i;
        let j = loop {
            match self.b.get(j..j + 4) {
                Some(&[c0, c1, c2, c3]) => {
                    if !keep(c0) {
                        break j;
                    }
                    if !keep(c1) {
                        break j + 1;
                    }
                    if !keep(c2) {
                        break j + 2;
                    }
                    if !keep(c3) {
                        break j + 3;
                    }
                    j += 4;
                }
                _ => {
                    while self.b.get(j).is_some_and(|&c| keep(c)) {
                        j += 1;
                    }
                    break j;
                }
            }
        };
        if TRACK {
            self.reach.set(self.reach.get().max(j + 1));
        }
        j
    }

    /// Whether the bytes at `i` are `lit`.
    fn looking_at(&self, i: usize, lit: &[u8]) -> bool {
        if TRACK {
            let end = (i + lit.len()).min(self.b.len() + 1);
            self.reach.set(self.reach.get().max(end));
        }
        self.b.get(i..i + lit.len()) == Some(lit)
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.at(self.pos)
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn slice(&self, from: usize, to: usize) -> &'t str {
        self.text.get(from..to).unwrap_or("")
    }

    /// `text[from..to]` as a [`Name`] (shared with the text when parsing a whole file).
    #[inline]
    fn name(&self, from: usize, to: usize) -> Name {
        match &self.shared {
            Some(buf) => Name::slice(buf, self.base + from, self.base + to),
            None => Name::new(self.slice(from, to)),
        }
    }

    /// `NEWLINE`: `\n`, `\r\n` or `\r`.
    #[inline(always)]
    fn eat_newline(&mut self) -> bool {
        match self.peek() {
            Some(b'\n') => self.pos += 1,
            Some(b'\r') => {
                self.pos += if self.at(self.pos + 1) == Some(b'\n') {
                    2
                } else {
                    1
                }
            }
            _ => return false,
        }
        true
    }

    /// The implicit `(WHITESPACE | COMMENT)*` between tokens; comments are recorded.
    /// Called between most tokens, and most of the time there is nothing to skip: that
    /// case is one byte compare.
    /// The blanks are stepped over here, inline (a few spaces: indentation, alignment,
    /// one around `=`); only a comment or a BOM goes to [`Self::skip_some`].
    ///
    /// Spaces are stepped over by a compare each; then one table lookup tells the usual
    /// case (a token right here) from a tab or a byte that may start a comment.
    #[inline(always)]
    fn skip(&mut self) {
        self.skip_peek();
    }

    /// [`Self::skip`], then [`Self::peek`]: the byte the skip stopped at, already loaded.
    #[inline(always)]
    fn skip_peek(&mut self) -> Option<u8> {
        let mut j = self.pos;
        loop {
            // Spaces, the usual blanks (indentation, alignment), by a compare each.
            while let Some(b' ') = self.b.get(j) {
                j += 1;
            }
            let Some(&c) = self.b.get(j) else {
                self.pos = j;
                if TRACK {
                    self.reach.set(self.reach.get().max(j + 1));
                }
                return None;
            };
            let k = CLASS[c as usize] & (BLANK | SKIP_START);
            if k == 0 {
                self.pos = j;
                if TRACK {
                    self.reach.set(self.reach.get().max(j + 1));
                }
                return Some(c);
            }
            if k & BLANK == 0 {
                self.pos = j;
                self.skip_some();
                return self.peek();
            }
            j += 1;
        }
    }

    fn skip_some(&mut self) {
        loop {
            self.pos = self.scan(self.pos, |c| class(c, BLANK));
            match self.peek() {
                Some(0xEF) if self.looking_at(self.pos + 1, &[0xBB, 0xBF]) => self.pos += 3,
                Some(b'#') => self.line_comment(),
                Some(b'/') => match self.at(self.pos + 1) {
                    Some(b'/') => self.line_comment(),
                    Some(b'*') => self.block_comment(),
                    _ => return,
                },
                _ => return,
            }
        }
    }

    /// `nl*` with the skips around it: blanks, comments and newlines.
    fn skip_nl(&mut self) {
        loop {
            self.skip();
            if !self.eat_newline() {
                return;
            }
        }
    }

    fn line_comment(&mut self) {
        let start = self.pos;
        self.pos = self.line_comment_end(start);
        self.push_comment(start);
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos = self.block_comment_end(start);
        self.push_comment(start);
    }

    /// The end of the line comment (`#` or `//`) starting at `i`.
    fn line_comment_end(&self, i: usize) -> usize {
        self.scan(i, |c| !is_newline(c))
    }

    /// The end of the block comment starting at `i`: after its `*/`, or the end of the text.
    fn block_comment_end(&self, i: usize) -> usize {
        let end = match self.text.get(i + 2..).and_then(|rest| rest.find("*/")) {
            Some(n) => i + 2 + n + 2,
            None => self.b.len(),
        };
        if TRACK {
            // Without `*/` the search read to the end of the text.
            let seen = if end == self.b.len() { end + 1 } else { end };
            self.reach.set(self.reach.get().max(seen));
        }
        end
    }

    fn push_comment(&mut self, start: usize) {
        self.comments.push(Comment {
            text: self.slice(start, self.pos).to_string(),
            span: Span::new(start, self.pos),
        });
    }

    // ----- atomic tokens -----------------------------------------------------------------

    /// `ident = @{ ident_start ~ ident_char* }`
    fn ident_end(&self, i: usize) -> Option<usize> {
        if !is_ident_start(self.at(i)?) {
            return None;
        }
        Some(self.scan(i + 1, is_ident_char))
    }

    fn ident(&mut self) -> Option<Ident> {
        let start = self.pos;
        let end = self.ident_end(start)?;
        self.pos = end;
        Some(Ident {
            name: self.name(start, end),
            span: Span::new(start, end),
        })
    }

    /// The end of the `path` starting at `i` (see [`Self::path`]), without building it.
    fn path_end(&self, i: usize) -> Option<usize> {
        let mut j = self.ident_end(i)?;
        while self.at(j) == Some(b'.') {
            let Some(end) = self.ident_end(j + 1) else {
                break;
            };
            j = end;
        }
        Some(j)
    }

    /// `path = @{ ident ~ ("." ~ ident)* }`
    fn path(&mut self) -> Option<Path> {
        let start = self.pos;
        let mut segments = vec![self.ident()?];
        while self.peek() == Some(b'.') {
            let Some(end) = self.ident_end(self.pos + 1) else {
                break;
            };
            segments.push(Ident {
                name: self.name(self.pos + 1, end),
                span: Span::new(self.pos + 1, end),
            });
            self.pos = end;
        }
        Some(Path {
            segments: segments.into_boxed_slice(),
            span: Span::new(start, self.pos),
        })
    }

    /// `kw_from = @{ "from" ~ !ident_char }`
    fn at_kw_from(&self) -> bool {
        self.looking_at(self.pos, b"from") && !self.at(self.pos + 4).is_some_and(is_ident_char)
    }

    /// `digits = _{ ASCII_DIGIT ~ (ASCII_DIGIT | "_")* }`
    fn digits_end(&self, i: usize) -> Option<usize> {
        if !self.at(i)?.is_ascii_digit() {
            return None;
        }
        Some(self.scan(i + 1, |c| c.is_ascii_digit() || c == b'_'))
    }

    /// `period ~ max_burst?` after a `/`, or `None` when there is no period.
    fn period_end(&self, i: usize) -> Option<usize> {
        let word = |c: u8| class(c, WORD);
        if !self.at(i).is_some_and(word) {
            return None;
        }
        let mut j = self.scan(i + 1, word);
        if self.looking_at(j, b",max_burst=") {
            j = self.scan(j + 11, word);
        }
        Some(j)
    }

    /// `rate = @{ "local:" ~ digits ~ ("/" ~ period ~ max_burst?)? | digits ~ "/" ~ period ~ max_burst? }`
    fn rate_end(&self, i: usize) -> Option<usize> {
        if self.looking_at(i, b"local:") {
            if let Some(j) = self.digits_end(i + 6) {
                if self.at(j) == Some(b'/') {
                    if let Some(k) = self.period_end(j + 1) {
                        return Some(k);
                    }
                }
                return Some(j);
            }
        }
        let j = self.digits_end(i)?;
        if self.at(j) != Some(b'/') {
            return None;
        }
        self.period_end(j + 1)
    }

    /// `ipv4 = @{ octet ~ "." ~ octet ~ "." ~ octet ~ "." ~ octet ~ ("/" ~ ASCII_DIGIT+)? ~ !ident_char }`
    fn ipv4_end(&self, i: usize) -> Option<usize> {
        let octet = |i: usize| -> Option<usize> {
            let mut j = i;
            while j < i + 3 && self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
            (j > i).then_some(j)
        };
        let mut j = octet(i)?;
        for _ in 0..3 {
            if self.at(j) != Some(b'.') {
                return None;
            }
            j = octet(j + 1)?;
        }
        if self.at(j) == Some(b'/') && self.at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            j += 2;
            while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
        }
        if self.at(j).is_some_and(is_ident_char) {
            return None;
        }
        Some(j)
    }

    /// `suffix = _{ ASCII_ALPHA+ | "%" }`
    fn suffix_end(&self, i: usize) -> Option<usize> {
        match self.at(i)? {
            b'%' => Some(i + 1),
            c if c.is_ascii_alphabetic() => {
                let mut j = i + 1;
                while self.at(j).is_some_and(|c| c.is_ascii_alphabetic()) {
                    j += 1;
                }
                Some(j)
            }
            _ => None,
        }
    }

    /// `number = @{ "-"? ~ digits ~ ("." ~ ASCII_DIGIT+)? ~ (suffix ~ (ASCII_DIGIT+ ~ suffix)*)? }`
    fn number_end(&self, i: usize) -> Option<usize> {
        let mut j = if self.at(i) == Some(b'-') { i + 1 } else { i };
        j = self.digits_end(j)?;
        if self.at(j) == Some(b'.') && self.at(j + 1).is_some_and(|c| c.is_ascii_digit()) {
            j += 2;
            while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            }
        }
        if let Some(mut k) = self.suffix_end(j) {
            j = k;
            loop {
                let mut d = k;
                while self.at(d).is_some_and(|c| c.is_ascii_digit()) {
                    d += 1;
                }
                if d == k {
                    break;
                }
                match self.suffix_end(d) {
                    Some(e) => {
                        k = e;
                        j = e;
                    }
                    None => break,
                }
            }
        }
        Some(j)
    }

    /// `boolean = @{ ("true" | "false") ~ !ident_char }`
    fn boolean_end(&self, i: usize) -> Option<(usize, bool)> {
        let (end, v) = if self.looking_at(i, b"true") {
            (i + 4, true)
        } else if self.looking_at(i, b"false") {
            (i + 5, false)
        } else {
            return None;
        };
        if self.at(end).is_some_and(is_ident_char) {
            return None;
        }
        Some((end, v))
    }

    /// `raw_string`: a quoted string as junk sees it (a `\` escapes any character).
    fn raw_string_end(&self, i: usize) -> usize {
        let Some(q) = self.at(i) else { return i };
        let mut j = i + 1;
        while let Some(c) = self.at(j) {
            if q == b'"' && c == b'\\' && self.at(j + 1).is_some() {
                j += 2;
            } else if c == q || is_newline(c) {
                break;
            } else {
                j += 1;
            }
        }
        if self.at(j) == Some(q) { j + 1 } else { j }
    }

    /// `brace_group = _{ "{" ~ (raw_string | brace_group | !"}" ~ ANY)* ~ "}"? }`
    fn brace_group_end(&self, i: usize) -> usize {
        let mut depth = 0usize;
        let mut j = i;
        while let Some(c) = self.at(j) {
            match c {
                b'"' | b'\'' => j = self.raw_string_end(j),
                b'{' => {
                    depth += 1;
                    j += 1;
                }
                b'}' => {
                    j += 1;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j;
                    }
                }
                _ => j += 1,
            }
        }
        j
    }

    /// The error rules `junk`, `top_junk`, `bad_value`, `bad_item` and `bad_arg`:
    /// `(raw_string | brace_group? | !(NEWLINE | stops) ~ ANY)+`.
    fn junk_end(&self, i: usize, braces: bool, stops: &[u8]) -> Option<usize> {
        let mut j = i;
        while let Some(c) = self.at(j) {
            if c == b'"' || c == b'\'' {
                j = self.raw_string_end(j);
            } else if braces && c == b'{' {
                j = self.brace_group_end(j);
            } else if is_newline(c) || stops.contains(&c) {
                break;
            } else {
                j += 1;
            }
        }
        (j > i).then_some(j)
    }

    /// One level deeper (a block body, a list or a call's arguments); the caller
    /// decrements `depth` when it is done.
    fn enter(&mut self) {
        self.depth += 1;
        self.max_depth = self.max_depth.max(self.depth);
    }

    /// The end of a construct nested too deep, from its opening bracket at `i`: after the
    /// bracket that closes it (any of `}])` closes any of `{[(`), or the end of the text.
    /// Strings and comments are skipped, so their brackets do not count.
    fn deep_end(&self, i: usize) -> usize {
        let mut depth = 0usize;
        let mut j = i;
        while let Some(c) = self.at(j) {
            match c {
                b'"' | b'\'' => j = self.raw_string_end(j),
                b'#' => j = self.line_comment_end(j),
                b'/' if self.at(j + 1) == Some(b'/') => j = self.line_comment_end(j),
                b'/' if self.at(j + 1) == Some(b'*') => j = self.block_comment_end(j),
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    j += 1;
                }
                b'}' | b']' | b')' => {
                    j += 1;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j;
                    }
                }
                _ => j += 1,
            }
        }
        j
    }

    /// K0009 for the construct whose opening bracket is at `open`, one level deeper than
    /// [`MAX_NESTING`]: it is skipped whole (without recursing, so no input can exhaust the
    /// stack) and the parse goes on after it. Returns where it ends.
    fn too_deep(&mut self, open: usize) -> usize {
        self.too_deep_count += 1;
        self.errors.push(nesting_too_deep(open));
        self.pos = self.deep_end(open);
        self.pos
    }

    // ----- strings -----------------------------------------------------------------------

    /// `string = ${ dq_string | sq_string }`, at a quote.
    fn string(&mut self) -> (StrLit, Span) {
        let start = self.pos;
        let q = self.peek().unwrap_or(b'"');
        let literal = q == b'\'';
        self.pos += 1;
        let inner_start = self.pos;
        let mut escaped = false;
        let ordinary = if literal { IN_SQ } else { IN_DQ };
        loop {
            // Ordinary characters in one scan; the loop body sees only the special ones.
            self.pos = self.scan(self.pos, |c| class(c, ordinary));
            let Some(c) = self.peek() else { break };
            if !literal && c == b'\\' {
                // `"\\" ~ (!NEWLINE ~ ANY)`: a backslash at the end of a line ends the string.
                escaped = true;
                match self.at(self.pos + 1) {
                    Some(n) if !is_newline(n) => self.pos += 2,
                    _ => break,
                }
            } else if c == q || is_newline(c) {
                break;
            } else {
                self.pos += 1;
            }
        }
        let inner_end = self.pos;
        let closed = self.eat(q);
        let span = Span::new(start, self.pos);
        let value = if literal || !escaped {
            self.name(inner_start, inner_end)
        } else {
            Name::from(unescape(
                self.slice(inner_start, inner_end),
                Span::new(inner_start, inner_end).start,
                &mut self.errors,
            ))
        };
        if !closed {
            let q = q as char;
            self.errors.push(SyntaxError::new(
                SyntaxCode::UnterminatedString,
                "unterminated string".to_string(),
                span,
                format!("this string has no closing `{q}`"),
                Some(&format!(
                    "strings end on the line they start: add the closing `{q}`"
                )),
            ));
        }
        (StrLit { value, literal }, span)
    }

    // ----- values ------------------------------------------------------------------------

    /// `value = _{ string | rate | ipv4 | number | boolean | list | call | path }`
    fn value(&mut self) -> Option<Value> {
        self.values_parsed += 1;
        let start = self.pos;
        let c = self.peek()?;
        if c == b'"' || c == b'\'' {
            let (s, span) = self.string();
            return Some(Value {
                kind: ValueKind::Str(s),
                span,
            });
        }
        let token = |p: &mut Self, end: usize, kind: fn(Name) -> ValueKind| {
            p.pos = end;
            Some(Value {
                kind: kind(p.name(start, end)),
                span: Span::new(start, end),
            })
        };
        // The alternatives that can start with `c` only (a rate starts with a digit or
        // `local:`, an address with a digit, a number with one or `-`, a boolean with `t` or
        // `f`): the others would fail on the first byte. A piece (`TRACK`) tries them all,
        // so what it records as examined stays as it was.
        let digit = c.is_ascii_digit();
        if let Some(end) = (TRACK || digit || c == b'l')
            .then(|| self.rate_end(start))
            .flatten()
        {
            return token(self, end, ValueKind::Rate);
        }
        if let Some(end) = (TRACK || digit).then(|| self.ipv4_end(start)).flatten() {
            return token(self, end, ValueKind::Ip);
        }
        if let Some(end) = (TRACK || digit || c == b'-')
            .then(|| self.number_end(start))
            .flatten()
        {
            return token(self, end, ValueKind::Number);
        }
        if let Some((end, v)) = (TRACK || c == b't' || c == b'f')
            .then(|| self.boolean_end(start))
            .flatten()
        {
            self.pos = end;
            return Some(Value {
                kind: ValueKind::Bool(v),
                span: Span::new(start, end),
            });
        }
        if c == b'[' {
            if self.depth >= MAX_NESTING {
                let end = self.too_deep(start);
                return Some(self.deep_value(start, end));
            }
            let list = self.list();
            return Some(Value {
                kind: ValueKind::List(list),
                span: Span::new(start, self.pos),
            });
        }
        let path = self.path()?;
        // `call = { path ~ "(" ~ ... }`, else the path alone.
        let m = self.mark();
        self.skip();
        if self.eat(b'(') {
            let open = self.pos - 1;
            if self.depth >= MAX_NESTING {
                let end = self.too_deep(open);
                return Some(self.deep_value(start, end));
            }
            let call = self.call(path, open);
            return Some(Value {
                kind: ValueKind::Call(Box::new(call)),
                span: Span::new(start, self.pos),
            });
        }
        self.reset(m);
        let span = path.span;
        Some(Value {
            kind: ValueKind::Path(path),
            span,
        })
    }

    /// After a list item or argument (and the blanks after it): `&(nl* ~ ("," | close) |
    /// NEWLINE | "}" | EOI)`.
    #[inline]
    fn item_follows(&mut self, close: u8) -> bool {
        match self.peek() {
            None | Some(b'}' | b'\n' | b'\r') => return true,
            // Nothing to skip before these (the usual case: the look-ahead is the byte).
            Some(c) if c == b',' || c == close => return true,
            _ => {}
        }
        let m = self.mark();
        self.skip_nl();
        let ok = matches!(self.peek(), Some(c) if c == b',' || c == close);
        self.reset(m);
        ok
    }

    /// `list = { "[" ~ nl* ~ (list_item ~ (nl* ~ "," ~ nl* ~ list_item)* ~ (nl* ~ ",")?)? ~ nl* ~ list_end }`
    fn list(&mut self) -> ListLit {
        let open = self.pos;
        self.pos += 1;
        self.enter();
        let items = self.separated(Self::list_item, |p| &mut p.values);
        self.depth -= 1;
        let closed = self.eat(b']');
        if !closed {
            let at = items
                .last()
                .map_or(open + 1, |v: &Value| v.span.end as usize);
            self.unclosed(open, at, '[', ']');
        }
        ListLit {
            items: items.into_boxed_slice(),
            closed,
        }
    }

    /// The comma-separated middle of a list or a call, and the blanks before its closer.
    /// Items go on `stack` (see [`Self::stmts`]) and come back in a vector of their size.
    fn separated<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Option<T>,
        stack: fn(&mut Self) -> &mut Vec<T>,
    ) -> Vec<T> {
        let base = stack(self).len();
        self.skip_nl();
        if let Some(first) = item(self) {
            stack(self).push(first);
            loop {
                let m = self.mark();
                self.skip_nl();
                if self.eat(b',') {
                    self.skip_nl();
                    if let Some(next) = item(self) {
                        stack(self).push(next);
                        continue;
                    }
                }
                self.reset(m);
                break;
            }
            let m = self.mark();
            self.skip_nl();
            if !self.eat(b',') {
                self.reset(m);
            }
        }
        self.skip_nl();
        take_from(stack(self), base)
    }

    /// A list item's or an argument's value, memoized when it is a list or a call.
    ///
    /// PEG backtracking is exponential here without it: when a nested list parses but what
    /// follows it is not `,`, the closer or the end of the line, the enclosing item is
    /// re-read as `bad_item` up to the next `,`, and everything after that is parsed again
    /// one level up; nested N deep, the innermost lists were parsed 2^N times (a
    /// 200-byte file took seconds). With the memo each position is parsed once per depth at
    /// most: a parse is reused at another depth if the nesting limit cut nothing in it and
    /// cuts nothing at the new depth; where it does, each depth keeps its own entry.
    #[inline]
    fn item_value(&mut self) -> Option<Value> {
        // Only lists and calls are memoized: another item (a string, a number) is not
        // looked up, and as nothing else enters a level, the depth bookkeeping of
        // `nested_item_value` would change nothing: the value is read as it is.
        let nested = self
            .b
            .get(self.pos)
            .is_some_and(|&c| c == b'[' || is_ident_start(c));
        if nested {
            self.nested_item_value()
        } else {
            self.value()
        }
    }

    /// [`Self::item_value`] where a list or a call may start.
    fn nested_item_value(&mut self) -> Option<Value> {
        let (pos, depth) = (self.pos, self.depth);
        let reusable = |m: &&Memo| m.depth == depth || (!m.cut && depth + m.height < MAX_NESTING);
        if let Some(m) = self
            .memo
            .get(&pos)
            .filter(|_| self.memoize)
            .and_then(|entries| entries.iter().find(reusable))
        {
            // What the enclosing memo entry (if one is being computed) must know.
            self.max_depth = self.max_depth.max(depth + m.height);
            self.too_deep_count += usize::from(m.cut);
            self.pos = m.end;
            self.errors.extend(m.errors.iter().cloned());
            self.comments.extend(m.comments.iter().cloned());
            return Some(m.value.clone());
        }
        let (errors, comments) = (self.errors.len(), self.comments.len());
        let (outer_max, outer_cut) = (self.max_depth, self.too_deep_count);
        self.max_depth = depth;
        let v = self.value();
        let height = self.max_depth - depth;
        let cut = self.too_deep_count > outer_cut;
        self.max_depth = self.max_depth.max(outer_max);
        let v = v?;
        if matches!(v.kind, ValueKind::List(_) | ValueKind::Call(_)) {
            let memo = Memo {
                value: v.clone(),
                end: self.pos,
                errors: self.errors.get(errors..).unwrap_or_default().to_vec(),
                comments: self.comments.get(comments..).unwrap_or_default().to_vec(),
                depth,
                height,
                cut,
            };
            self.memo.entry(pos).or_default().push(memo);
        }
        Some(v)
    }

    /// `list_item = _{ value ~ &(...) | bad_item }`
    fn list_item(&mut self) -> Option<Value> {
        let m = self.mark();
        if let Some(v) = self.item_value() {
            self.skip();
            if self.item_follows(b']') {
                return Some(v);
            }
        }
        self.reset(m);
        let end = self.junk_end(self.pos, false, b",]}")?;
        Some(self.bad_value(end, "list item"))
    }

    /// `call = { path ~ "(" ~ nl* ~ (arg ~ (nl* ~ "," ~ nl* ~ arg)* ~ (nl* ~ ",")?)? ~ nl* ~ call_end }`,
    /// after the `(` (at `open`).
    fn call(&mut self, callee: Path, open: usize) -> Call {
        self.enter();
        let args = self.separated(Self::arg, |p| &mut p.args);
        self.depth -= 1;
        let closed = self.eat(b')');
        if !closed {
            let at = args
                .last()
                .map_or(open + 1, |a: &Arg| a.value.span.end as usize);
            self.unclosed(open, at, '(', ')');
        }
        Call {
            callee,
            args: args.into_boxed_slice(),
            closed,
        }
    }

    /// `arg = _{ named_arg | value ~ &(...) | bad_arg }`, `named_arg = { ident ~ "=" ~ value }`
    fn arg(&mut self) -> Option<Arg> {
        let m = self.mark();
        if let Some(name) = self.ident() {
            self.skip();
            if self.eat(b'=') {
                self.skip();
                if let Some(value) = self.value() {
                    return Some(Arg {
                        name: Some(name),
                        value,
                    });
                }
            }
        }
        self.reset(m);
        if let Some(value) = self.item_value() {
            self.skip();
            if self.item_follows(b')') {
                return Some(Arg { name: None, value });
            }
        }
        self.reset(m);
        let end = self.junk_end(self.pos, false, b",)}")?;
        Some(Arg {
            name: None,
            value: self.bad_value(end, "function argument"),
        })
    }

    /// The error node of a list or call skipped by [`Self::too_deep`].
    fn deep_value(&self, start: usize, end: usize) -> Value {
        Value {
            kind: ValueKind::Error(self.slice(start, end).to_string()),
            span: Span::new(start, end),
        }
    }

    fn bad_value(&mut self, end: usize, what: &str) -> Value {
        let start = self.pos;
        self.pos = end;
        bad_value(self.slice(start, end), start, what, &mut self.errors)
    }

    fn unclosed(&mut self, open_at: usize, missing_at: usize, open: char, close: char) {
        self.errors.push(unclosed(open_at, missing_at, open, close));
    }

    // ----- statements --------------------------------------------------------------------

    /// `file = { SOI ~ nl* ~ (top_stmt ~ nl*)* ~ EOI }`
    fn file(&mut self) -> Vec<Stmt> {
        self.stmts(true)
    }

    /// The statements of the file (`top`) or of a block body, up to the end of the file
    /// or (in a body) the `}` that closes it.
    fn stmts(&mut self, top: bool) -> Vec<Stmt> {
        // A body's statements go on a stack shared by all bodies (an inner body takes its
        // own off before the outer one goes on), then into a vector of their exact size:
        // one allocation per body, no growing and shrinking. The tree stays alive through
        // the whole analysis, so it holds no spare room.
        let base = self.stack.len();
        loop {
            match self.skip_peek() {
                None => break,
                Some(b'}') if !top => break,
                // (`eat_newline` at a byte already read.)
                Some(b'\n') => self.pos += 1,
                Some(b'\r') => {
                    self.eat_newline();
                }
                Some(_) => {
                    let stmt = self.stmt(top);
                    self.stack.push(stmt);
                }
            }
        }
        take_from(&mut self.stack, base)
    }

    /// `stmt = _{ block | attribute | junk }` (`top_junk` at the top level): a block, or
    /// what [`Self::block`] hands on to [`Self::not_block`].
    fn stmt(&mut self, top: bool) -> Stmt {
        self.block(top)
    }

    /// `attribute | junk`, where no block starts.
    fn not_block(&mut self, top: bool) -> Stmt {
        if let Some(a) = self.attribute() {
            return Stmt::Attr(a);
        }
        let start = self.pos;
        let stops: &[u8] = if top { b"" } else { b"}" };
        let end = self.junk_end(start, true, stops).unwrap_or(start + 1);
        self.pos = end.min(self.b.len());
        Stmt::Error(junk(self.slice(start, self.pos), start, &mut self.errors))
    }

    /// `block = { ident ~ label? ~ from_clause? ~ block_open ~ body ~ block_end }`
    ///
    /// A name followed by `=` is no block but an `attribute`, read on from there as
    /// [`Self::attribute`] would (its key is that name): the name is not scanned twice.
    /// Where no block starts, the statement is [`Self::not_block`]'s (the statement is
    /// returned as it is built, not moved through an `Option`).
    #[inline(always)]
    fn block(&mut self, top: bool) -> Stmt {
        let m = self.mark();
        let start = self.pos;
        // The keyword's text is copied only once this is known to be a block: most
        // statements that start with a name are attributes.
        let Some(keyword_end) = self.ident_end(start) else {
            return self.not_block(top);
        };
        self.pos = keyword_end;
        // `name =`: an attribute (neither a label, `from` nor `{` starts with `=`).
        if self.skip_peek() == Some(b'=') {
            self.pos += 1;
            let key = Key {
                name: self.name(start, keyword_end),
                quoted: false,
                span: Span::new(start, keyword_end),
            };
            return Stmt::Attr(self.attribute_value(start, key));
        }
        // `label = { string | !kw_from ~ path }`
        let label = match self.peek() {
            Some(b'"' | b'\'') => {
                let (s, span) = self.string();
                Some(Label {
                    text: s.value,
                    quoted: true,
                    span,
                })
            }
            _ if self.at_kw_from() => None,
            _ => self.path_end(self.pos).map(|end| {
                let label_start = self.pos;
                self.pos = end;
                Label {
                    text: self.name(label_start, end),
                    quoted: false,
                    span: Span::new(label_start, end),
                }
            }),
        };
        self.skip();
        // `from_clause = { kw_from ~ path }`
        let mut from = None;
        if self.at_kw_from() {
            let before = self.mark();
            self.pos += 4;
            self.skip();
            from = self.path().map(Box::new);
            if from.is_none() {
                self.reset(before);
            } else {
                self.skip();
            }
        }
        // (Without `from`, the blanks after the label were skipped above.)
        if !self.eat(b'{') {
            self.reset(m);
            return self.not_block(top);
        }
        let open = Span::new(self.pos - 1, self.pos);
        let keyword = Ident {
            name: self.name(start, keyword_end),
            span: Span::new(start, keyword_end),
        };
        let (body, closed) = if self.depth >= MAX_NESTING {
            let end = self.too_deep(open.start as usize);
            (Vec::new(), self.slice(end - 1, end) == "}")
        } else {
            self.enter();
            let body = self.stmts(false);
            self.depth -= 1;
            self.skip();
            (body, self.eat(b'}'))
        };
        if !closed && self.depth < MAX_NESTING {
            self.errors.push(unclosed_block(&keyword.name, open));
        }
        let span = Span::new(start, self.pos);
        Stmt::Block(Block {
            keyword,
            label,
            from,
            body: body.into_boxed_slice(),
            body_span: Span {
                start: open.start,
                end: span.end,
            },
            closed,
            span,
        })
    }

    /// `attribute = { key ~ "=" ~ (value ~ &value_end | bad_value | missing_value) }`
    fn attribute(&mut self) -> Option<Attr> {
        let m = self.mark();
        let start = self.pos;
        // `key = { string | ident }`
        let key = match self.peek()? {
            b'"' | b'\'' => {
                let (s, span) = self.string();
                Key {
                    name: s.value,
                    quoted: true,
                    span,
                }
            }
            _ => {
                let id = self.ident()?;
                Key {
                    name: id.name,
                    quoted: false,
                    span: id.span,
                }
            }
        };
        self.skip();
        if !self.eat(b'=') {
            self.reset(m);
            return None;
        }
        Some(self.attribute_value(start, key))
    }

    /// The rest of an attribute whose `key` (from `start`) and `=` were read.
    fn attribute_value(&mut self, start: usize, key: Key) -> Attr {
        self.skip();
        let before_value = self.mark();
        // The value goes straight into the attribute (no `Option` to move it through);
        // the rest is the error path.
        let value = match self.value() {
            Some(v) if self.value_ends() => v,
            parsed => {
                if parsed.is_some() {
                    self.reset(before_value);
                }
                self.no_value(&key)
            }
        };
        let span = Span {
            start: Span::new(start, start).start,
            end: value.span.end.max(key.span.end),
        };
        Attr { key, value, span }
    }

    /// After a value (and the blanks after it): `value_end = _{ NEWLINE | "}" | EOI |
    /// ident_start | "\"" | "'" }`.
    #[inline(always)]
    fn value_ends(&mut self) -> bool {
        match self.skip_peek() {
            None => true,
            Some(c) => is_newline(c) || c == b'}' || c == b'"' || c == b'\'' || is_ident_start(c),
        }
    }

    /// `bad_value | missing_value` where an attribute's value should be.
    #[cold]
    fn no_value(&mut self, key: &Key) -> Value {
        match self.junk_end(self.pos, false, b"}") {
            Some(end) => self.bad_value(end, "value"),
            None => {
                let at = Span::new(self.pos, self.pos);
                self.errors.push(SyntaxError::new(
                    SyntaxCode::MissingValue,
                    format!("expected a value for `{}`", key.name),
                    Span::new(key.span.start as usize, at.start.max(key.span.end) as usize),
                    "nothing after `=`",
                    Some("write a value after `=`, or remove the line"),
                ));
                Value {
                    kind: ValueKind::Missing,
                    span: at,
                }
            }
        }
    }
}

/// The items of `stack` from `base` on, taken off it into a vector of their exact size (the
/// stack keeps its room for the next ones).
fn take_from<T>(stack: &mut Vec<T>, base: usize) -> Vec<T> {
    if base == 0 {
        let mut items = Vec::with_capacity(stack.len());
        items.append(stack);
        items
    } else {
        stack.split_off(base)
    }
}

/// An unreadable statement (`raw` as written, from byte `start`): its error node and K0001.
pub(crate) fn junk(raw: &str, start: usize, errors: &mut Vec<SyntaxError>) -> ErrorNode {
    let text = raw.trim_end().to_string();
    let span = Span::new(start, start + text.len());
    let (message, label, help) = explain_junk(&text);
    errors.push(SyntaxError::new(
        SyntaxCode::UnexpectedInput,
        message,
        span,
        label,
        Some(&help),
    ));
    ErrorNode { text, span }
}

/// K0002: the block `keyword` whose `{` is at `open` has no `}`.
pub(crate) fn unclosed_block(keyword: &str, open: Span) -> SyntaxError {
    SyntaxError::new(
        SyntaxCode::UnclosedBlock,
        format!("block `{keyword}` is never closed"),
        open,
        "this `{` has no matching `}`",
        Some("add `}` at the end of the block"),
    )
}

/// K0009 at the bracket (at `open`) that opens a level deeper than [`MAX_NESTING`].
pub(crate) fn nesting_too_deep(open: usize) -> SyntaxError {
    SyntaxError::new(
        SyntaxCode::NestingTooDeep,
        format!("nesting deeper than {MAX_NESTING} levels"),
        Span::new(open, open + 1),
        "too deep",
        Some("a deployment never needs this much nesting; flatten the blocks or lists"),
    )
}

/// An unreadable value (`raw` as written, from byte `start`): its error node and K0004.
pub(crate) fn bad_value(
    raw: &str,
    start: usize,
    what: &str,
    errors: &mut Vec<SyntaxError>,
) -> Value {
    let raw = raw.trim_end().to_string();
    let span = Span::new(start, start + raw.len());
    let help = explain_bad_value(&raw);
    errors.push(SyntaxError::new(
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

/// K0007: the bracket opened at `open_at` has no closer; it was expected at `missing_at`.
pub(crate) fn unclosed(open_at: usize, missing_at: usize, open: char, close: char) -> SyntaxError {
    SyntaxError::new(
        SyntaxCode::UnclosedBracket,
        format!("expected `{close}`"),
        Span::new(missing_at, missing_at),
        format!("`{close}` expected here"),
        Some(&format!("close the `{open}` with `{close}`")),
    )
    .with_secondary(
        Span::new(open_at, open_at + 1),
        format!("`{open}` opened here"),
    )
}

/// Resolve the escapes of a `"..."` string whose inner text starts at byte `start`,
/// reporting invalid ones.
pub(crate) fn unescape(raw: &str, start: u32, errors: &mut Vec<SyntaxError>) -> String {
    // Most strings have no escape: the text as it is, copied at once.
    if !raw.contains('\\') {
        return raw.to_string();
    }
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
                        errors.push(bad_escape(
                            start,
                            i,
                            end,
                            "`\\u{...}` needs 1 to 6 hex digits naming a Unicode scalar value",
                        ));
                    }
                }
            }
            other => {
                let end = i + 1 + other.len_utf8();
                errors.push(bad_escape(
                    start,
                    i,
                    end,
                    "the escapes are \\\\ \\\" \\n \\t \\r \\0 and \\u{...}; for regexes, a '...' string takes backslashes literally",
                ));
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

fn bad_escape(start: u32, from: usize, to: usize, help: &str) -> SyntaxError {
    let s = start as usize;
    SyntaxError::new(
        SyntaxCode::InvalidEscape,
        "invalid escape sequence in string".to_string(),
        Span::new(s + from, s + to),
        "unknown escape",
        Some(help),
    )
}

pub(crate) fn explain_junk(text: &str) -> (String, String, String) {
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

pub(crate) fn explain_bad_value(raw: &str) -> String {
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
    fn too_deep_is_skipped_and_reported() {
        let text = format!("a = {}{}\nb = 1\n", "[".repeat(100), "]".repeat(100));
        let p = parse(&text);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].code, SyntaxCode::NestingTooDeep);
        assert_eq!(
            p.errors[0].span,
            Span::new(4 + MAX_NESTING, 5 + MAX_NESTING)
        );
        assert_eq!(p.file.items.len(), 2, "the rest of the file still parses");
        // Blocks count like lists and calls; the deep block is skipped to its `}`.
        let text = format!("{}{}\nb = 1\n", "x {".repeat(40), "}".repeat(40));
        let p = parse(&text);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(p.errors[0].code, SyntaxCode::NestingTooDeep);
        assert_eq!(p.file.items.len(), 2);
    }

    #[test]
    fn backtracking_over_nested_items_is_linear() {
        // Found by `cargo fuzz run format` (slow units): each unclosed nested list swallows
        // the newline, its parent then re-reads it as a bad item and parses the rest again,
        // so without the memo the values parsed doubled (about 2.6 times) per level: 32
        // levels took seconds. Now each position is parsed about once per level it is
        // re-read at.
        for levels in [4, 8, 16] {
            let text = format!("s={}8,/\n{{", "[[8,".repeat(levels));
            let mut p = Parser::new(&text);
            p.file();
            assert!(
                p.values_parsed <= 10 * text.len(),
                "{levels} levels: {} values parsed for {} bytes",
                p.values_parsed,
                text.len()
            );
        }
        // Calls backtrack the same way.
        let text = format!("s={}8,/\n{{", "f(f(8,".repeat(10));
        let mut p = Parser::new(&text);
        p.file();
        assert!(p.values_parsed <= 10 * text.len(), "{}", p.values_parsed);
        // Found by CI's fuzz step with `-timeout=10` (a 1,390-byte file, 3 s): past the
        // nesting limit each depth needs its own parse, and with one entry per position
        // the re-reads there were exponential again.
        let text = include_str!("../../fuzz/regressions/format-backtracking-at-nesting-limit.kumo");
        let mut p = Parser::new(text);
        p.file();
        assert!(p.values_parsed <= 10 * text.len(), "{}", p.values_parsed);
        // The memo changes nothing: still the grammar's tree and errors.
        let slow = "s=[[[4,[[[0,[[[8,[[[[[0,[[[8,[[4,[[[4,[[[K,[[K,[t,[[8,8,/\n{";
        assert_eq!(parse(slow).errors.len(), 2);
    }

    fn assert_memo_changes_nothing(text: &str) {
        let run = |memoize: bool| {
            let mut p = Parser::new(text);
            p.memoize = memoize;
            let items = p.file();
            (items, p.errors, p.comments)
        };
        assert!(
            run(true) == run(false),
            "memo changed the parse of {text:?}"
        );
    }

    /// The memo changes nothing, also where the nesting limit cuts (which the pest oracle
    /// cannot check): random tails behind 20 to 30 levels of lists, calls and blocks.
    #[test]
    fn memoized_parse_equals_plain_parse() {
        const TOKENS: &[&str] = &[
            "[", "[", "f(", "x {", ",", ",", "8", "a", "/", "\n", "{", "}", "]", ")", " ", "'s'",
            "k = ", "# c\n",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for case in 0..3000 {
            // Nested items that fail their lookahead are re-read one level up, so the same
            // positions are parsed at several depths around the limit.
            let opens = ["[", "f(", "b {\n k = "];
            let units = [
                "[8,",
                "[[8,",
                "f(8,",
                "[x,",
                "[8] y,",
                "f(k = [1], ",
                "[[1]], ",
                "[[[1]]], ",
                "f([1]), ",
                "[[[[1]]]], ",
            ];
            let mut text = String::from("a = ");
            for _ in 0..20 + case % 12 {
                text.push_str(opens[next(opens.len())]);
            }
            for _ in 0..3 + next(8) {
                text.push_str(units[next(units.len())]);
            }
            for _ in 0..next(12) {
                text.push_str(TOKENS[next(TOKENS.len())]);
            }
            text.push_str(["/\n{", "/\n", "]", "\n}"][next(4)]);
            assert_memo_changes_nothing(&text);
        }
        // A nested item re-read one level up right where the limit stops cutting it.
        for n in 26..33 {
            for item in ["[[[1]]]", "f([[1]])", "[f(g([1]))]"] {
                let text = format!("a = {}[8, {item}] y\n", "[".repeat(n));
                assert_memo_changes_nothing(&text);
            }
        }
    }

    #[test]
    fn brackets_in_comments_and_strings_are_not_nesting() {
        // fuzz/regressions/parse-nesting-in-comment.kumo and
        // parse-brackets-in-comments-count.kumo: the old guard counted these.
        let commented = "// x {\n".repeat(40);
        let text = format!(
            "{commented}a = [\"[[[[\", 1] # {}\nb {{\n  c = 1\n}}\n",
            "{".repeat(40)
        );
        let p = parse(&text);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.file.items.len(), 2);
        assert!(
            p.file
                .comments
                .iter()
                .all(|c| text[c.span.range()] == c.text)
        );
    }

    #[test]
    fn unclosed_call_labels_its_parenthesis() {
        // fuzz/regressions/parse-unclosed-call-after-bom.kumo: the labels pointed at the
        // end of the callee, inside the U+FEFF between it and `(`.
        for (text, open) in [
            ("a = f\u{FEFF}(", 8),
            ("a = f /* ( */ (\n", 14),
            ("a = f(", 5),
        ] {
            let p = parse(text);
            assert_eq!(p.errors.len(), 1, "{text:?}: {:?}", p.errors);
            let e = &p.errors[0];
            assert_eq!(e.code, SyntaxCode::UnclosedBracket);
            assert_eq!(e.span, Span::new(open + 1, open + 1), "{text:?}");
            assert_eq!(
                e.secondary.as_ref().map(|s| s.0),
                Some(Span::new(open, open + 1))
            );
        }
    }
}
