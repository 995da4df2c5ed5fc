//! Re-parsing for editors: a file as consecutive top-level [`Piece`]s, and the new version
//! of that list after an edit, re-parsing only what the edit can have changed.
//!
//! A piece depends on the text from its start to its `reach` and on nothing before it
//! ([`Piece`]). So after an edit that replaced `old[a..b]`:
//!
//! - the pieces whose reach ends at or before `a` are unchanged (same start, same piece);
//! - from the first other piece on, pieces are parsed again, until one ends exactly where an
//!   old piece that starts at or after `b` starts (shifted by the edit): from there the
//!   text is the old text, read from the same top-level state, so every remaining old piece
//!   is unchanged, shifted.
//!
//! An edit inside one statement of a 10,000-domain file re-parses that statement; an edit
//! that opens a block which never closes re-parses to the end of the file, as it must.
//! Pieces are shared (`Arc`) between versions.

use std::sync::Arc;

use crate::ast::{Comment, File, Path, SharedText, Span, Stmt, Value, ValueKind};
use crate::parser::{Piece, parse_piece_in};
use crate::{Parse, SyntaxError};

/// A file's top level as pieces, each with its start offset.
#[derive(Debug, Clone, Default)]
pub struct Pieces {
    pieces: Vec<(u32, Arc<Piece>)>,
    /// How many pieces the parse that made this list parsed (the rest were reused).
    parsed: usize,
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The length of the common prefix of two byte strings.
fn common_prefix(x: &[u8], y: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = x.len().min(y.len());
    let mut i = 0;
    while i + BLOCK <= n && x.get(i..i + BLOCK) == y.get(i..i + BLOCK) {
        i += BLOCK;
    }
    while i < n && x.get(i) == y.get(i) {
        i += 1;
    }
    i
}

/// The length of the common suffix of two byte strings, at most `limit`.
fn common_suffix(x: &[u8], y: &[u8], limit: usize) -> usize {
    const BLOCK: usize = 256;
    let n = x.len().min(y.len()).min(limit);
    let (xl, yl) = (x.len(), y.len());
    let mut i = 0;
    while i + BLOCK <= n && x.get(xl - i - BLOCK..xl - i) == y.get(yl - i - BLOCK..yl - i) {
        i += BLOCK;
    }
    while i < n && x.get(xl - i - 1) == y.get(yl - i - 1) {
        i += 1;
    }
    i
}

/// What an edit changed: `old[start..old_end]` became `new[start..new_end]` (for a list
/// of edits, `old` is the text after the ones before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

/// A text to parse pieces of, whole (`str`) or in parts (an editor's rope).
pub trait Source {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The text from `from` (a character boundary) to at least `to` or the end of the
    /// text, whichever comes first; it may give more, up to the end of the text.
    fn window(&self, from: usize, to: usize) -> std::borrow::Cow<'_, str>;
}

impl Source for str {
    fn len(&self) -> usize {
        str::len(self)
    }
    fn window(&self, from: usize, _: usize) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(self.get(from..).unwrap_or(""))
    }
}

/// How much text a re-parse asks its source for at first (little in tests, to try the
/// windows growing).
const WINDOW: usize = if cfg!(test) { 8 } else { 1024 };

/// How [`Pieces::parse_from`] stopped.
enum Parsed {
    End,
    /// At the old piece of this index in the reuse list.
    Resynced(usize),
    /// At this offset, at or past the one it was to stop at.
    Reached(usize),
    OverLimit,
}

/// Old pieces after an edit, reused once a new piece boundary lands on one of their
/// starts (moved by `delta`).
#[derive(Clone, Copy)]
struct Reuse<'a> {
    tail: &'a [(u32, Arc<Piece>)],
    delta: i64,
}

impl Reuse<'_> {
    const NONE: Reuse<'static> = Reuse {
        tail: &[],
        delta: 0,
    };

    /// The index in `tail` of the old piece that starts at `at` once moved.
    fn at(&self, at: u32) -> Option<usize> {
        let old = u32::try_from(i64::from(at) - self.delta).ok()?;
        self.tail
            .binary_search_by_key(&old, |(start, _)| *start)
            .ok()
    }
}

impl Pieces {
    /// Parse a whole text. Its names share one copy of it (as [`crate::parse_shared`]'s
    /// do): a piece kept across edits keeps that copy alive, so a file holds at most one
    /// more copy of its text than it has; the few pieces an edit parses again hold their
    /// names' text each ([`Pieces::reparse`]).
    pub fn parse(text: &str) -> Self {
        let mut out = Pieces::default();
        let buf: SharedText = Arc::new(text.to_owned());
        out.parse_from(
            text,
            0,
            Reuse::NONE,
            Some(&buf),
            &mut { usize::MAX },
            usize::MAX,
        );
        out
    }

    /// The pieces of `new`, given these are the pieces of `old`.
    pub fn reparse(&self, old: &str, new: &str) -> Self {
        let a = common_prefix(old.as_bytes(), new.as_bytes());
        let s = common_suffix(old.as_bytes(), new.as_bytes(), old.len().min(new.len()) - a);
        let edit = Edit {
            start: a,
            old_end: old.len() - s,
            new_end: new.len() - s,
        };
        self.reparse_edit(edit, new, usize::MAX).unwrap_or_default()
    }

    /// The pieces of `new`, given these are the pieces of the old text and `edit` says
    /// what changed between the two (no comparison of the texts: an editor knows its
    /// edits). `None` when that needs more than `limit` bytes parsed again (the caller
    /// then does it elsewhere, with no limit).
    pub fn reparse_edit(
        &self,
        edit: Edit,
        new: &(impl Source + ?Sized),
        limit: usize,
    ) -> Option<Self> {
        self.reparse_edits(&[edit], new, limit)
    }

    /// [`Pieces::reparse_edit`] for several edits, in text order and apart, each in the
    /// coordinates of the text after the ones before it (so its `start` and `new_end` are
    /// offsets in `new`): between two edits the old pieces are kept where they do not
    /// reach into the next one, so 10,000 one-line edits over a file re-parse 10,000
    /// statements, not the file.
    pub fn reparse_edits(
        &self,
        edits: &[Edit],
        new: &(impl Source + ?Sized),
        limit: usize,
    ) -> Option<Self> {
        let mut out = Pieces {
            pieces: Vec::with_capacity(self.pieces.len() + 1),
            parsed: 0,
        };
        let mut budget = limit;
        // The size change of the edits before the current one, and the next old piece
        // not yet kept or passed.
        let (mut d, mut next_old) = (0i64, 0usize);
        let signed = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let mut k = 0;
        while let Some(edit) = edits.get(k) {
            // The old pieces before the edit (they end their reach before it), moved.
            let a_old = signed(edit.start) - d;
            while let Some((start, piece)) = self.pieces.get(next_old) {
                if i64::from(*start) + i64::from(piece.reach) > a_old {
                    break;
                }
                out.pieces.push((moved(*start, d), Arc::clone(piece)));
                next_old += 1;
            }
            let mut p = out
                .pieces
                .last()
                .map_or(0, |(start, piece)| (start + piece.len) as usize);
            if !out.pieces.is_empty() && p >= new.len() {
                return Some(out);
            }
            // Parse until a piece ends where an old piece after the edit starts (moved),
            // merging the next edits while the parse runs into them.
            loop {
                let Some(edit) = edits.get(k) else {
                    return Some(out);
                };
                let after = d + signed(edit.new_end) - signed(edit.old_end);
                let b_old = signed(edit.old_end) - d;
                let first_after = self
                    .pieces
                    .partition_point(|(start, _)| i64::from(*start) < b_old);
                let reuse = Reuse {
                    tail: self.pieces.get(first_after..).unwrap_or_default(),
                    delta: after,
                };
                let until = edits.get(k + 1).map_or(usize::MAX, |e| e.start);
                d = after;
                k += 1;
                match out.parse_from(new, p, reuse, None, &mut budget, until) {
                    Parsed::End => return Some(out),
                    Parsed::OverLimit => return None,
                    Parsed::Resynced(j) => {
                        next_old = first_after + j;
                        break;
                    }
                    Parsed::Reached(at) => p = at,
                }
            }
        }
        // After the last edit, the rest of the old pieces, moved.
        out.pieces.extend(
            self.pieces
                .get(next_old..)
                .unwrap_or_default()
                .iter()
                .map(|(start, piece)| (moved(*start, d), Arc::clone(piece))),
        );
        Some(out)
    }

    /// Parse pieces of `text` from `from` on (a piece boundary), until the text ends
    /// ([`Parsed::End`]), a piece ends where one of `reuse` starts (at its new offset;
    /// [`Parsed::Resynced`], which adds no piece of `reuse`), a piece ends at or after
    /// `until` ([`Parsed::Reached`]), or more than `budget` bytes were parsed
    /// ([`Parsed::OverLimit`]).
    fn parse_from(
        &mut self,
        text: &(impl Source + ?Sized),
        from: usize,
        reuse: Reuse<'_>,
        shared: Option<&SharedText>,
        budget: &mut usize,
        until: usize,
    ) -> Parsed {
        let mut p = from;
        // The text being parsed: `window` from `at` on (a source may hand out less than
        // the rest of the text; a piece that looked at its end is parsed again in more).
        let mut want = WINDOW;
        let (mut at, mut window) = (p, text.window(p, p + want));
        loop {
            if p >= until {
                return Parsed::Reached(p);
            }
            if p > from || !self.pieces.is_empty() {
                if let Some(i) = reuse.at(offset(p)) {
                    return Parsed::Resynced(i);
                }
            }
            let rest = window.get(p - at..).unwrap_or("");
            let piece = parse_piece_in(rest, shared.map(|b| (b, p)));
            if piece.reach as usize > rest.len() && at + window.len() < text.len() {
                // It looked at the end of the window, which is not the end of the text.
                want = want.saturating_mul(2).max(rest.len() * 2);
                if want > budget.saturating_add(WINDOW) {
                    return Parsed::OverLimit;
                }
                at = p;
                window = text.window(p, p + want);
                continue;
            }
            let len = piece.len as usize;
            match budget.checked_sub(len) {
                Some(left) => *budget = left,
                None => return Parsed::OverLimit,
            }
            self.parsed += 1;
            let end_of_text = piece.stmt.is_none();
            self.pieces.push((offset(p), Arc::new(piece)));
            p += len;
            if end_of_text || p >= text.len() {
                return Parsed::End;
            }
        }
    }

    /// The pieces in order, each with its start.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Piece)> {
        self.pieces.iter().map(|(start, piece)| (*start, &**piece))
    }

    /// The top-level statements in order, each with the start of its piece (its spans
    /// are relative to that).
    pub fn stmts(&self) -> impl Iterator<Item = (u32, &Stmt)> {
        self.iter()
            .filter_map(|(start, piece)| Some((start, piece.stmt.as_ref()?)))
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The piece at index `i`, with its start.
    pub fn get(&self, i: usize) -> Option<(u32, &Piece)> {
        self.pieces.get(i).map(|(start, piece)| (*start, &**piece))
    }

    /// The index of the piece that contains `offset` (the last one starting at or before
    /// it).
    pub fn index_at(&self, offset: u32) -> usize {
        self.pieces
            .partition_point(|(start, _)| *start <= offset)
            .saturating_sub(1)
    }

    /// The indexes of the pieces that overlap `from..=to`.
    pub fn overlapping(&self, from: u32, to: u32) -> std::ops::Range<usize> {
        let first = self.index_at(from);
        let end = self.pieces.partition_point(|(start, _)| *start <= to);
        first..end.max(first)
    }

    /// How many pieces the parse that made this list parsed (the others were reused).
    pub fn parsed(&self) -> usize {
        self.parsed
    }

    /// The statements and comments of the pieces `range` (indexes), with spans into the
    /// whole text.
    pub fn placed(&self, range: std::ops::Range<usize>) -> (Vec<Stmt>, Vec<Comment>) {
        let mut items = Vec::new();
        let mut comments = Vec::new();
        for (start, piece) in self.pieces.get(range).into_iter().flatten() {
            let by = i64::from(*start);
            if let Some(s) = &piece.stmt {
                let mut s = s.clone();
                shift_stmt(&mut s, by);
                items.push(s);
            }
            comments.extend(piece.comments.iter().map(|c| {
                let mut c = c.clone();
                shift(&mut c.span, by);
                c
            }));
        }
        (items, comments)
    }

    /// The syntax errors of every piece, with spans into the whole text, sorted by span.
    pub fn errors(&self) -> Vec<SyntaxError> {
        let mut out: Vec<SyntaxError> = Vec::new();
        for (start, piece) in &self.pieces {
            let by = i64::from(*start);
            out.extend(piece.errors.iter().map(|e| {
                let mut e = e.clone();
                shift(&mut e.span, by);
                if let Some((span, _)) = &mut e.secondary {
                    shift(span, by);
                }
                e
            }));
        }
        out.sort_by_key(|e| (e.span.start, e.span.end));
        out
    }

    /// The tree of `text` (the text these are the pieces of), as [`crate::parse`] builds
    /// it.
    pub fn to_parse(&self, text: &str) -> Parse {
        let (items, comments) = self.placed(0..self.pieces.len());
        Parse {
            file: File {
                items,
                comments,
                span: Span::new(0, text.len()),
            },
            errors: self.errors(),
        }
    }

    /// How many leading and trailing pieces this list shares with `older` (the same
    /// parsed piece, `Arc`-identical; leading ones at the same start): what an edit left
    /// alone. The two counts never overlap in either list.
    pub fn shared_with(&self, older: &Pieces) -> (usize, usize) {
        let lead = self
            .pieces
            .iter()
            .zip(&older.pieces)
            .take_while(|((s, p), (t, q))| s == t && Arc::ptr_eq(p, q))
            .count();
        let room = self.pieces.len().min(older.pieces.len()) - lead;
        let trail = self
            .pieces
            .iter()
            .rev()
            .zip(older.pieces.iter().rev())
            .take(room)
            .take_while(|((_, p), (_, q))| Arc::ptr_eq(p, q))
            .count();
        (lead, trail)
    }
}

fn moved(at: u32, by: i64) -> u32 {
    u32::try_from(i64::from(at) + by).unwrap_or(u32::MAX)
}

fn shift_span(span: &mut Span, by: i64) {
    span.start = moved(span.start, by);
    span.end = moved(span.end, by);
}

fn shift_path(p: &mut Path, by: i64) {
    shift_span(&mut p.span, by);
    p.segments
        .iter_mut()
        .for_each(|s| shift_span(&mut s.span, by));
}

fn shift_value(v: &mut Value, by: i64) {
    shift_span(&mut v.span, by);
    match &mut v.kind {
        ValueKind::List(l) => l.items.iter_mut().for_each(|i| shift_value(i, by)),
        ValueKind::Call(c) => {
            shift_path(&mut c.callee, by);
            for a in &mut c.args {
                if let Some(n) = &mut a.name {
                    shift_span(&mut n.span, by);
                }
                shift_value(&mut a.value, by);
            }
        }
        ValueKind::Path(p) => shift_path(p, by),
        ValueKind::Str(_)
        | ValueKind::Number(_)
        | ValueKind::Rate(_)
        | ValueKind::Ip(_)
        | ValueKind::Bool(_)
        | ValueKind::Missing
        | ValueKind::Error(_) => {}
    }
}

/// Move every span of a statement by `by` bytes: a piece's statement (spans relative to
/// the piece) at its place in the file, or a statement of a file after an edit before it.
pub fn shift_stmt(s: &mut Stmt, by: i64) {
    match s {
        Stmt::Block(b) => {
            shift_span(&mut b.span, by);
            shift_span(&mut b.body_span, by);
            shift_span(&mut b.keyword.span, by);
            if let Some(l) = &mut b.label {
                shift_span(&mut l.span, by);
            }
            if let Some(f) = &mut b.from {
                shift_path(f, by);
            }
            b.body.iter_mut().for_each(|s| shift_stmt(s, by));
        }
        Stmt::Attr(a) => {
            shift_span(&mut a.span, by);
            shift_span(&mut a.key.span, by);
            shift_value(&mut a.value, by);
        }
        Stmt::Error(e) => shift_span(&mut e.span, by),
    }
}

/// Move a span by `by` bytes (see [`shift_stmt`]).
pub fn shift(span: &mut Span, by: i64) {
    shift_span(span, by);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::*;
    use crate::{SyntaxError, parse};

    fn error_key(e: &SyntaxError) -> (Span, String, String) {
        (e.span, e.code.code().to_string(), e.message.clone())
    }

    fn assert_same_as_parse(pieces: &Pieces, text: &str) {
        let mut expected = parse(text);
        expected.errors.sort_by_key(error_key);
        let mut got = pieces.to_parse(text);
        got.errors.sort_by_key(error_key);
        assert!(got == expected, "pieces differ from parse() for {text:?}");
        let ends: u32 = pieces.iter().map(|(_, p)| p.len).sum();
        assert_eq!(ends as usize, text.len(), "pieces cover {text:?}");
    }

    /// Texts that exercise every way a top-level piece can end or look ahead.
    fn corpus() -> Vec<String> {
        let mut texts: Vec<String> = vec![
            String::new(),
            "\n\n".into(),
            "a = 1".into(),
            "a = 1\n".into(),
            "// c\n# d\n/* e */ pool p {\n  source s {}\n}\n".into(),
            "pool p { source s {\n".into(),
            "x /* a\nb */ y\nz = 1\n".into(),
            "foo bar\n/* never closed\nq = 2\n".into(),
            "a = [1,\n2\nb = f(c = 1, [d]\n}\n{ x }\n".into(),
            "\u{feff}shaping default { max_message_rate = local:10/s,max_burst=2 }\nq = true\nr = fals\n".into(),
            "s \"label\" from provider.google {\n}\nt 'x' from {\n".into(),
            "a = \"unterminated\nb = 'x\\'\nc = 10.0.0.0/8\nd = 1h30m\n".into(),
            "r\r\nq = 1\r\nblock {\r\n  k = v\r\n}\r\n".into(),
        ];
        for dir in [
            "../tests/fixtures/parse",
            "../tests/fixtures/check",
            "../stdlib",
        ] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|e| e == "kumo") {
                    if let Ok(t) = std::fs::read_to_string(&p) {
                        texts.push(t);
                    }
                }
            }
        }
        texts
    }

    #[test]
    fn pieces_are_the_parse() {
        for text in corpus() {
            assert_same_as_parse(&Pieces::parse(&text), &text);
        }
    }

    /// A small deterministic PRNG (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
        }
    }

    const SNIPPETS: &[&str] = &[
        "x",
        " ",
        "\n",
        "{",
        "}",
        "\"",
        "'",
        "=",
        "[",
        "]",
        "(",
        ")",
        ",",
        "/*",
        "*/",
        "//",
        "#",
        "é",
        "\u{feff}",
        "\r",
        "from",
        "local:",
        "/s",
        "true",
        "pool p {\n",
        "q = 1\n",
        "a = f(b = [1, 2])\n",
        "}\n",
        "source s {}\n",
    ];

    /// A source that gives the least it may: windows end at the next multiple of 5
    /// bytes after what was asked (or at a character boundary past it).
    struct Small<'a>(&'a str);

    impl Source for Small<'_> {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn window(&self, from: usize, to: usize) -> std::borrow::Cow<'_, str> {
            let mut end = (to.max(from + 1).div_ceil(5) * 5).min(self.0.len());
            while !self.0.is_char_boundary(end) {
                end += 1;
            }
            std::borrow::Cow::Owned(self.0.get(from..end).unwrap_or("").to_string())
        }
    }

    /// After any edit, re-parsing only what the edit touched gives exactly the pieces of a
    /// fresh parse (so, by the test above, `parse()`).
    #[test]
    fn reparse_equals_fresh_parse() {
        let mut rng = Rng(0x005e_ed0f_1ece);
        for text in corpus() {
            let mut text = text;
            let mut pieces = Pieces::parse(&text);
            for _ in 0..60 {
                let mut a = rng.below(text.len() + 1);
                while !text.is_char_boundary(a) {
                    a -= 1;
                }
                let mut b = (a + rng.below(12)).min(text.len());
                while !text.is_char_boundary(b) {
                    b += 1;
                }
                let insert = if rng.below(3) == 0 {
                    ""
                } else {
                    SNIPPETS[rng.below(SNIPPETS.len())]
                };
                let mut new = text.clone();
                new.replace_range(a..b, insert);
                let next = pieces.reparse(&text, &new);
                let fresh = Pieces::parse(&new);
                let same =
                    next.len() == fresh.len() && next.iter().zip(fresh.iter()).all(|(x, y)| x == y);
                assert!(same, "reparse after {text:?} -> {new:?}");
                // The same from the edit itself, over a source that hands out a few
                // bytes at a time.
                let edit = Edit {
                    start: a,
                    old_end: b,
                    new_end: a + insert.len(),
                };
                let small = Small(&new);
                let windowed = pieces.reparse_edit(edit, &small, usize::MAX);
                let same = windowed.as_ref().is_some_and(|w| {
                    w.len() == fresh.len() && w.iter().zip(fresh.iter()).all(|(x, y)| x == y)
                });
                assert!(same, "windowed reparse after {text:?} -> {new:?}");
                text = new;
                pieces = next;
            }
            assert_same_as_parse(&pieces, &text);
        }
    }

    /// `Statements` read to the end is `parse_shared`: the same statements, comments and
    /// errors, in the same order (the errors too: the build's diagnostics keep their order);
    /// and a statement read again from where its piece starts is the same statement.
    fn assert_statements_are_the_parse(text: &str) {
        let shared = Arc::new(text.to_owned());
        let expected = crate::parse_shared(&shared);
        let mut s = crate::Statements::new(&shared);
        let (mut items, mut comments, mut starts) = (Vec::new(), Vec::new(), Vec::new());
        while let Some((start, stmt)) = s.next_stmt() {
            comments.extend_from_slice(s.comments());
            starts.push(start);
            items.push(stmt);
        }
        comments.extend_from_slice(s.comments());
        let errors = s.errors();
        assert!(items == expected.file.items, "statements of {text:?}");
        assert!(comments == expected.file.comments, "comments of {text:?}");
        assert!(errors == expected.errors, "errors of {text:?}");
        for (start, stmt) in starts.iter().zip(&items) {
            let again = crate::Statements::at(&shared, *start).next_stmt();
            assert!(
                again.as_ref().map(|(_, s)| s) == Some(stmt),
                "{start} in {text:?}"
            );
        }
    }

    #[test]
    fn statements_are_the_parse() {
        let mut rng = Rng(0x0057_a7e5);
        for text in corpus() {
            assert_statements_are_the_parse(&text);
            let mut text = text;
            for _ in 0..30 {
                let mut a = rng.below(text.len() + 1);
                while !text.is_char_boundary(a) {
                    a -= 1;
                }
                text.insert_str(a, SNIPPETS[rng.below(SNIPPETS.len())]);
                assert_statements_are_the_parse(&text);
            }
        }
    }

    /// Several edits at once, each in the coordinates of the text after the ones before
    /// it, give the pieces of a fresh parse (over a source that hands out a few bytes at
    /// a time).
    #[test]
    fn reparse_of_several_edits_equals_fresh_parse() {
        let mut rng = Rng(0x0e_d175);
        for text in corpus() {
            let mut text = text;
            let mut pieces = Pieces::parse(&text);
            for _ in 0..30 {
                let mut new = String::new();
                let mut edits = Vec::new();
                let mut at = 0;
                for _ in 0..1 + rng.below(6) {
                    let mut a = (at + rng.below(text.len() / 3 + 2)).min(text.len());
                    while !text.is_char_boundary(a) {
                        a += 1;
                    }
                    let mut b = (a + rng.below(6)).min(text.len());
                    while !text.is_char_boundary(b) {
                        b += 1;
                    }
                    let insert = SNIPPETS[rng.below(SNIPPETS.len())];
                    new.push_str(text.get(at..a).unwrap_or(""));
                    let start = new.len();
                    new.push_str(insert);
                    // The text after this edit: `new` then the rest of the old text.
                    edits.push(Edit {
                        start,
                        old_end: start + (b - a),
                        new_end: new.len(),
                    });
                    at = b;
                }
                new.push_str(text.get(at..).unwrap_or(""));
                let next = pieces.reparse_edits(&edits, &Small(&new), usize::MAX);
                let fresh = Pieces::parse(&new);
                let same = next.as_ref().is_some_and(|n| {
                    n.len() == fresh.len() && n.iter().zip(fresh.iter()).all(|(x, y)| x == y)
                });
                assert!(same, "{edits:?}: {text:?} -> {new:?}");
                text = new;
                pieces = fresh;
            }
        }
    }

    #[test]
    fn an_edit_inside_a_statement_reparses_that_statement() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("queue \"d{i}\" {{\n  max_age = 2d\n}}\n\n"));
        }
        let pieces = Pieces::parse(&text);
        assert_eq!(pieces.parsed(), 1001);
        let at = text.find("queue \"d500\"").unwrap_or(0) + "queue \"d500\" {\n  max_age = ".len();
        let mut new = text.clone();
        new.replace_range(at..at + 1, "3");
        let next = pieces.reparse(&text, &new);
        assert!(next.parsed() <= 2, "{} pieces parsed", next.parsed());
        // With a limit on what may be parsed again.
        let edit = Edit {
            start: at,
            old_end: at + 1,
            new_end: at + 1,
        };
        assert!(pieces.reparse_edit(edit, new.as_str(), 100).is_some());
        // Every queue edited at once: each queue is parsed again, nothing else.
        let (mut edits, mut all) = (Vec::new(), String::new());
        let mut done = 0;
        for (i, _) in text.match_indices("max_age = 2d") {
            let i = i + "max_age = ".len();
            all.push_str(text.get(done..i).unwrap_or(""));
            edits.push(Edit {
                start: all.len(),
                old_end: all.len() + 1,
                new_end: all.len() + 1,
            });
            all.push('4');
            done = i + 1;
        }
        all.push_str(text.get(done..).unwrap_or(""));
        let next = pieces.reparse_edits(&edits, all.as_str(), usize::MAX);
        assert!(next.as_ref().is_some_and(|n| n.parsed() <= 1001));
        assert_same_as_parse(&next.unwrap_or_default(), &all);
        // A comment that never closes runs to the end: more than the limit.
        let edit = Edit {
            start: at,
            old_end: at + 1,
            new_end: at + 2,
        };
        let mut unclosed = text.clone();
        unclosed.replace_range(at..at + 1, "/*");
        assert!(
            pieces
                .reparse_edit(edit, &Small(&unclosed), 10_000)
                .is_none()
        );
        let mut open = text.clone();
        open.replace_range(at..at + 2, "{");
        // An unclosed block swallows the rest: everything after it is parsed again.
        let next = pieces.reparse(&text, &open);
        assert_same_as_parse(&next, &open);
    }
}
