//! A small TOML writer: tables, arrays of tables, keys and values, with a provenance comment
//! after each value. Writing it by hand (rather than through a serializer) is what lets every
//! value say where it came from; tests re-parse every emitted file with the `toml` crate.
//! Code and comments go to the [`Text`] separately, so the file's canonical form (without
//! the comments) has its own digest.

use std::cell::Cell;
use std::fmt::Write as _;

use super::shard::{self, Layout, json_len};
use super::text::Text;
use super::values;
use crate::emit::Provenance;
use crate::emit::provenance::{is_bare, push_debug};
use crate::source::Loc;
use crate::value::Typed;

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
    /// Where the units of sharding are and their code sizes, recorded as they are written
    /// (see [`Layout`]).
    layout: Layout,
    /// Whether a place was written (then the text is plain only if every place is, see
    /// [`Self::finish`]).
    wrote_place: bool,
    /// [`NON_ASCII`] when the document was started: the text is ASCII code if no string
    /// with a byte outside ASCII was quoted on this thread since.
    non_ascii_at: u64,
}

/// Where a line's value came from, for the ` # ...` comment after it.
#[derive(Clone, Copy)]
enum Origin<'a> {
    None,
    /// Text written as it is (on one line).
    Text(&'a str),
    /// Where a DKIM key file comes from: `secret "s" key "k", <place>`.
    Secret(&'a Provenance<'a>, &'a str, &'a str, Loc),
    /// A place in the deployment, written straight from the index (see [`Provenance::at`]).
    At(&'a Provenance<'a>, Loc),
}

impl<'a> From<Option<&'a str>> for Origin<'a> {
    fn from(o: Option<&'a str>) -> Self {
        o.map_or(Origin::None, Origin::Text)
    }
}

impl Doc {
    /// A document whose first lines are `header` as comments (written only when `text`
    /// writes comments).
    pub fn new(header: &str, text: Text) -> Self {
        let mut d = Doc {
            text,
            layout: Layout::default(),
            wrote_place: false,
            non_ascii_at: non_ascii_count(),
        };
        for line in header.lines() {
            d.comment(line);
        }
        d
    }

    /// Room for `lines` more lines of about `per_line` bytes (see [`Text::reserve_lines`])
    /// and `units` units of sharding (see [`Layout::reserve`]).
    pub fn reserve(&mut self, lines: usize, per_line: usize, units: usize) {
        self.text.reserve_lines(lines, per_line);
        self.layout.reserve(units);
    }

    /// A comment on its own line.
    pub fn comment(&mut self, text: &str) {
        let at = self.text.len();
        if text.is_empty() {
            self.text.comment("#\n");
        } else {
            self.text.comment_with(|out| {
                out.push_str("# ");
                push_one_line(out, text);
                out.push('\n');
            });
        }
        let written = self.text.since(at);
        if !plain_line(written.strip_suffix('\n').unwrap_or(written)) {
            self.layout.not_plain();
        }
        self.layout.other(json_len(written));
    }

    /// ` # origin` at the end of a line.
    fn origin(&mut self, origin: Origin<'_>) {
        let at = self.text.len();
        // What JSON adds to the comment, when known without reading it (a place's is
        // known as it is written, see `Provenance::write_at_json`).
        let mut extra = None;
        // Whether what is written is plain (see `Layout::plain`): a place is when every
        // place is (`Provenance::plain_places`, asked once in `finish`), other text when it
        // reads so.
        let mut plain = true;
        match origin {
            Origin::None => {}
            Origin::Text(o) => self.text.comment_with(|out| {
                out.push_str(" # ");
                let start = out.len();
                push_one_line(out, o);
                // Empty, the line would end with the blank of ` # `.
                plain = out
                    .get(start..)
                    .is_some_and(|w| !w.is_empty() && plain_line(w));
            }),
            Origin::At(p, loc) => self.text.comment_with(|out| {
                self.wrote_place = true;
                out.push_str(" # ");
                let start = out.len();
                let e = p.write_at_json(loc, out);
                if p.may_hold_line_end() {
                    one_line_from(out, start);
                } else {
                    extra = Some(e);
                }
            }),
            // The names as `{:?}` writes them (escaped: no line end), then the place.
            Origin::Secret(p, secret, key, loc) => self.text.comment_with(|out| {
                out.push_str(" # secret ");
                let mut names = push_debug(out, secret);
                out.push_str(" key ");
                names += push_debug(out, key);
                out.push_str(", ");
                // `{:?}` writes ASCII as printable ASCII (it escapes control characters).
                plain = secret.is_ascii() && key.is_ascii();
                self.wrote_place = true;
                let start = out.len();
                let e = p.write_at_json(loc, out);
                if p.may_hold_line_end() {
                    one_line_from(out, start);
                } else {
                    extra = Some(names + e);
                }
            }),
        }
        if !plain {
            self.layout.not_plain();
        }
        let written = self.text.since(at);
        let json = match extra {
            Some(e) => written.len() + e,
            None => json_len(written),
        };
        // As for code lines: the size added up as written is the size read back.
        debug_assert_eq!(json, json_len(written), "{written}");
        self.layout.other(json);
    }

    /// Table path segments: the helpers' fixed words stay bare, every name is quoted, as
    /// KumoMTA's documentation writes them (`[pool."shared"."shared-00"]`).
    /// Returns the segment as [`shard::header_segments`] reads it back (the text between
    /// its quotes or bare, whether quoted), or `None` when it was escaped (then only
    /// reading the line gives that text), and what JSON adds to it.
    fn push_segment<'s>(out: &mut String, seg: &'s str) -> (Option<(&'s str, bool)>, usize) {
        let fixed = matches!(
            seg,
            "source"
                | "pool"
                | "tenant"
                | "queue"
                | "domain"
                | "provider"
                | "sources"
                | "automation"
                | "campaigns"
                | "base"
                | "signature"
                | "default"
                | "additional_connection_limits"
                | "additional_message_rate_throttles"
                | "additional_source_selection_rates"
        );
        if fixed {
            out.push_str(seg);
            (Some((seg, false)), 0)
        } else {
            let (as_written, extra) = push_quoted_checked(out, seg);
            (as_written.then_some((seg, true)), extra)
        }
    }

    fn header(&mut self, open: &str, path: &[&str], close: &str, origin: Origin<'_>) {
        // A blank line before each table: code when it separates the table from code, a
        // comment's layout when it only separates it from the header comments.
        let blank = self.text.len();
        if self.text.has_code() {
            self.text.code_newline();
        } else if !self.text.is_empty() {
            self.text.comment("\n");
        }
        // A line end is `\n` in JSON.
        self.layout.other(2 * (self.text.len() - blank));
        let at = self.text.len();
        // The unit's key is found from the first segments as written; only a segment that
        // was escaped needs the line read again.
        let mut segs = [None; 3];
        let mut as_written = true;
        let mut extra = 0;
        self.text.code_with(|out| {
            out.push_str(open);
            for (i, seg) in path.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                let (written, e) = Self::push_segment(out, seg);
                extra += e;
                if let Some(slot) = segs.get_mut(i) {
                    *slot = written;
                    as_written &= written.is_some();
                }
            }
            out.push_str(close);
        });
        let line = self.text.since(at);
        if !as_written {
            segs = shard::header_segments(line);
        }
        self.layout.table_segments(at, segs);
        self.code_line(at, extra);
        self.origin(origin);
        self.text.code_newline();
    }

    /// `[a."b"]`: each segment quoted when it is not a bare key (domains always are).
    pub fn table(&mut self, path: &[&str], origin: Option<&str>) {
        self.header("[", path, "]", origin.into());
    }

    /// [`Self::table`] with its place in the deployment.
    pub fn table_at(&mut self, path: &[&str], p: &Provenance<'_>, loc: Loc) {
        self.header("[", path, "]", Origin::At(p, loc));
    }

    /// `[[a."b".automation]]`
    pub fn array_table_at(&mut self, path: &[&str], p: &Provenance<'_>, loc: Loc) {
        self.header("[[", path, "]]", Origin::At(p, loc));
    }

    pub fn kv(&mut self, k: &str, v: &Value, origin: Option<&str>) {
        self.kv_origin(k, v, origin.into());
    }

    /// [`Self::kv`] for a DKIM key file, with the Secret and key it comes from and the
    /// place of the reference: `# secret "s" key "k", <place>`.
    pub fn kv_secret(
        &mut self,
        k: &str,
        v: &Value,
        (secret, key): (&str, &str),
        p: &Provenance<'_>,
        loc: Loc,
    ) {
        self.kv_origin(k, v, Origin::Secret(p, secret, key, loc));
    }

    /// [`Self::kv`] with its place in the deployment.
    pub fn kv_at(&mut self, k: &str, v: &Value, p: &Provenance<'_>, loc: Loc) {
        self.kv_origin(k, v, Origin::At(p, loc));
    }

    fn kv_origin(&mut self, k: &str, v: &Value, origin: Origin<'_>) {
        let at = self.text.len();
        let mut extra = 0;
        self.text.code_with(|out| {
            extra = push_key(out, k);
            out.push_str(" = ");
            extra += write_value(out, v);
        });
        self.code_line(at, extra);
        self.origin(origin);
        self.text.code_newline();
    }

    /// `k = v` for a typed value, written straight in KumoMTA's spelling
    /// ([`values::write_toml`], the same text as [`values::toml`]).
    pub fn kv_typed_at(&mut self, k: &str, v: &Typed, p: &Provenance<'_>, loc: Loc) {
        let at = self.text.len();
        let mut extra = 0;
        self.text.code_with(|out| {
            extra = push_key(out, k);
            out.push_str(" = ");
            extra += values::write_toml(out, v);
        });
        self.code_line(at, extra);
        self.origin(Origin::At(p, loc));
        self.text.code_newline();
    }

    /// The code written since `at` (one line, without its end) is a line of code, of which
    /// JSON adds `extra` bytes: known as it was written ([`push_quoted_checked`] and the
    /// writers that call it), so the line is not read again (the debug builds check it).
    ///
    /// Code is plain (see `Layout::plain`) when it is ASCII: every string is quoted with
    /// its control characters escaped, and no line of code ends with a blank.
    #[inline]
    fn code_line(&mut self, at: usize, extra: usize) {
        let code = self.text.since(at);
        debug_assert_eq!(code.len() + extra, json_len(code), "{code}");
        // Code is ASCII unless a string quoted in it was not (`NON_ASCII`).
        debug_assert!(
            non_ascii_count() != self.non_ascii_at || (code.is_ascii() && plain_line(code)),
            "{code}"
        );
        self.layout.code_line(code.len() + extra);
    }

    /// The text, and where its units of sharding are ([`super::shard::split`] reads both),
    /// with whether the text is plain ([`Layout::plain`]): its code is unless a string
    /// quoted in it was not ASCII, its places unless one is not plain (`p`).
    pub fn finish(mut self, p: &Provenance<'_>) -> (Text, Layout) {
        if non_ascii_count() != self.non_ascii_at || (self.wrote_place && !p.plain_places()) {
            self.layout.not_plain();
        }
        (self.text, self.layout)
    }
}

/// `s` with its line ends as blanks.
fn push_one_line(out: &mut String, s: &str) {
    if has_line_end(s) {
        out.push_str(&s.replace(['\n', '\r'], " "));
    } else {
        out.push_str(s);
    }
}

/// The text written since `start`, with its line ends as blanks.
fn one_line_from(out: &mut String, start: usize) {
    if has_line_end(out.get(start..).unwrap_or("")) {
        let tail = out.split_off(start);
        push_one_line(out, &tail);
    }
}

thread_local! {
    /// How many strings with a byte outside ASCII were quoted ([`push_quoted_checked`]) on
    /// this thread: counted only on that rare path, so a writer knows its code is ASCII
    /// (plain, see `Layout::plain`) at no cost a string, when the count did not move while
    /// it wrote ([`Doc::non_ascii_at`]; a count, not a flag, so documents written on one
    /// thread at once cannot hide each other's strings). Every string of a data file is
    /// quoted there: the rest of its code (bare keys, the helpers' words, numbers,
    /// durations, rates) is ASCII.
    static NON_ASCII: Cell<u64> = const { Cell::new(0) };
}

/// [`NON_ASCII`]'s count.
fn non_ascii_count() -> u64 {
    NON_ASCII.with(Cell::get)
}

/// Count a quoted string with a byte outside ASCII ([`NON_ASCII`]).
fn count_non_ascii() {
    NON_ASCII.with(|c| c.set(c.get().wrapping_add(1)));
}

/// Whether `s` (a line, or the end of one) is printable ASCII and does not end with a blank.
fn plain_line(s: &str) -> bool {
    s.bytes().all(|c| (b' '..=b'~').contains(&c)) && !s.ends_with(' ')
}

fn has_line_end(s: &str) -> bool {
    s.bytes().any(|b| b == b'\n' || b == b'\r')
}

/// A key: bare when it is `[A-Za-z0-9_-]+` and not a domain-looking word, quoted otherwise.
/// Returns what JSON adds to it.
fn push_key(out: &mut String, k: &str) -> usize {
    if is_bare(k) {
        out.push_str(k);
        0
    } else {
        push_quoted_checked(out, k).1
    }
}

/// A TOML basic string, into `out`; returns what JSON adds to what it wrote.
pub fn push_quoted(out: &mut String, s: &str) -> usize {
    push_quoted_checked(out, s).1
}

/// [`push_quoted`]; true when `s` was written as it is (nothing escaped), and what JSON
/// adds to what it wrote (see [`json_len`]): for a string without an escape, its quotes
/// and any `<` `>` `&` (five bytes each); otherwise the text written is sized.
fn push_quoted_checked(out: &mut String, s: &str) -> (bool, usize) {
    let start = out.len();
    out.push('"');
    // Nothing to escape (no quote, backslash or control character: C0, DEL, and C1, whose
    // UTF-8 starts with 0xC2): the text as it is. One table lookup a byte without an early
    // exit (most strings are short and plain: a whole pass costs less than a branch a byte).
    let class = s.bytes().fold(0u8, |c, b| c | QUOTE_CLASS[usize::from(b)]);
    if class & ESCAPE == 0 {
        out.push_str(s);
        out.push('"');
        let extra = if class == 0 {
            2
        } else if class & HIGH == 0 {
            2 + 5 * s
                .bytes()
                .filter(|&b| matches!(b, b'<' | b'>' | b'&'))
                .count()
        } else {
            count_non_ascii();
            // U+2028 and U+2029 grow in JSON.
            out.get(start..).map_or(0, |w| json_len(w) - w.len())
        };
        return (true, extra);
    }
    if class & HIGH != 0 {
        count_non_ascii();
    }
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
    (false, out.get(start..).map_or(0, |w| json_len(w) - w.len()))
}

/// A byte [`push_quoted_checked`] escapes: a control character (C0, DEL, and C1, whose
/// UTF-8 starts with 0xC2), a quote, a backslash.
const ESCAPE: u8 = 1;
/// A byte Go's JSON encoding writes in six (`<` `>` `&`).
const LONG: u8 = 2;
/// A byte of a multi-byte character (U+2028 and U+2029 grow in JSON).
const HIGH: u8 = 4;

/// [`ESCAPE`], [`LONG`] and [`HIGH`] of each byte.
static QUOTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b < 0x20 || b == 0x7f || b == b'"' || b == b'\\' || b == 0xc2 {
            t[c] |= ESCAPE;
        }
        if b == b'<' || b == b'>' || b == b'&' {
            t[c] |= LONG;
        }
        if b >= 0x80 {
            t[c] |= HIGH;
        }
        c += 1;
    }
    t
};

/// An integer in decimal, as `write!("{n}")` writes it.
pub fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    kumoc_lang::units::push_decimal(out, n.unsigned_abs());
}

/// `v` in TOML, into `out`; returns what JSON adds to what it wrote (the punctuation
/// around strings adds nothing).
pub(crate) fn write_value(out: &mut String, v: &Value) -> usize {
    match v {
        Value::Str(s) => push_quoted(out, s),
        Value::Int(n) => {
            push_int(out, *n);
            0
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            0
        }
        Value::Array(items) => {
            let mut extra = 0;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                extra += write_value(out, item);
            }
            out.push(']');
            extra
        }
        Value::Inline(entries) => {
            let mut extra = 0;
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                extra += push_key(out, k);
                out.push_str(" = ");
                extra += write_value(out, item);
            }
            out.push_str(if entries.is_empty() { "}" } else { " }" });
            extra
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_integers_match_the_slow_forms() {
        for s in [
            "",
            "plain",
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\t",
            "cr\r",
            "\u{1}",
            "\u{7f}",
            "\u{85}",
            "caf\u{e9}",
            "\u{a0}nbsp",
            "\u{2028}",
            "\u{9f}x",
            "a<b>&c",
            "line\u{2028}sep<",
        ] {
            let mut slow = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => slow.push_str("\\\""),
                    '\\' => slow.push_str("\\\\"),
                    '\n' => slow.push_str("\\n"),
                    '\t' => slow.push_str("\\t"),
                    '\r' => slow.push_str("\\r"),
                    c if c.is_control() => slow.push_str(&format!("\\u{:04X}", c as u32)),
                    c => slow.push(c),
                }
            }
            slow.push('"');
            let mut fast = String::new();
            let extra = push_quoted(&mut fast, s);
            assert_eq!(fast, slow, "{s:?}");
            assert_eq!(extra, json_len(&fast) - fast.len(), "{s:?}");
        }
        for n in [0, 1, 9, 10, -1, -10, 1234567, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
