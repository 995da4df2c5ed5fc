//! The text of an open document version: a list of shared chunks of a few KB (a rope
//! one level deep), so that an edit copies the chunk it touches and the list of chunk
//! pointers, never the text. A `didChange` is applied in one pass: each content change
//! (in the coordinates of the text after the previous ones) finds its line by counting
//! newlines per chunk and edits one chunk, so a change that edits 10,000 lines of a 4 MB
//! file (`:g/max_age/s/2d/4d/` in Neovim sends one change per line) costs about
//! (chunks + chunk size) per change, whatever their order.
//!
//! What needs the text in one piece (an analysis, the conversions of a whole file's
//! diagnostics or tokens) asks for [`Text::flat`], made once per version when first
//! asked, with its line index ([`Text::index`]). The completion path does not: it finds
//! the cursor's offset and line on the chunks, and the version's syntax is re-parsed from
//! the edit ([`Text::edit_of`]) over windows of the chunks (`kumoc_lang::incremental`).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use kumoc_lang::incremental::{Edit, Source};
use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent};

use crate::text::{Encoding, LineIndex};

/// Chunks are split when longer than twice this.
const CHUNK: usize = 4096;

#[derive(Debug, Clone)]
struct Chunk {
    text: String,
    newlines: usize,
}

impl Chunk {
    fn new(text: String) -> Self {
        let newlines = count_newlines(&text);
        Chunk { text, newlines }
    }
}

fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

/// The largest char boundary of `s` at or before `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `text` cut into chunks (never none: an empty text is one empty chunk).
fn chunks_of(text: &str) -> Vec<Arc<Chunk>> {
    let mut chunks = Vec::with_capacity(text.len() / CHUNK + 1);
    let mut rest = text;
    while rest.len() > CHUNK {
        let mut cut = floor_boundary(rest, CHUNK);
        if cut == 0 {
            cut = rest.len();
            for i in CHUNK..rest.len() {
                if rest.is_char_boundary(i) {
                    cut = i;
                    break;
                }
            }
        }
        let (head, tail) = rest.split_at(cut);
        chunks.push(Arc::new(Chunk::new(head.to_string())));
        rest = tail;
    }
    chunks.push(Arc::new(Chunk::new(rest.to_string())));
    chunks
}

/// Numbers the versions of texts ([`Text::id`]).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Debug)]
struct Inner {
    /// Never empty.
    chunks: Vec<Arc<Chunk>>,
    len: usize,
    id: u64,
    /// The edits from the text it was made from (`None`: made whole, or by a change that
    /// replaced the whole text).
    edit: Option<(u64, Vec<Edit>)>,
    flat: OnceLock<Arc<String>>,
    index: OnceLock<Arc<LineIndex>>,
}

/// One version of a document's text (cheap to clone: shared).
#[derive(Debug, Clone)]
pub struct Text(Arc<Inner>);

impl Text {
    pub fn new(text: String) -> Self {
        let chunks = chunks_of(&text);
        let flat = OnceLock::new();
        let _ = flat.set(Arc::new(text));
        Self::make(chunks, None, flat)
    }

    fn make(
        chunks: Vec<Arc<Chunk>>,
        edit: Option<(u64, Vec<Edit>)>,
        flat: OnceLock<Arc<String>>,
    ) -> Self {
        Text(Arc::new(Inner {
            len: chunks.iter().map(|c| c.text.len()).sum(),
            chunks,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            edit,
            flat,
            index: OnceLock::new(),
        }))
    }

    /// Whether the two are the same version.
    pub fn same(&self, other: &Text) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Identifies this version (never reused).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// What changed from the text with id `base` to this one, if this was made from it by
    /// ranged changes: edits in text order, each in the coordinates of the text after
    /// the ones before it (`kumoc_lang::incremental::Pieces::reparse_edits`).
    pub fn edit_of(&self, base: u64) -> Option<&[Edit]> {
        self.0
            .edit
            .as_ref()
            .filter(|(b, _)| *b == base)
            .map(|(_, e)| e.as_slice())
    }

    /// The text in one piece (made at the first call, then kept).
    pub fn flat(&self) -> &Arc<String> {
        self.0.flat.get_or_init(|| {
            let mut out = String::with_capacity(self.0.len);
            for c in &self.0.chunks {
                out.push_str(&c.text);
            }
            Arc::new(out)
        })
    }

    /// Whether `flat` is this version's text in one piece (made already).
    pub fn is_flat(&self, flat: &Arc<String>) -> bool {
        self.0.flat.get().is_some_and(|f| Arc::ptr_eq(f, flat))
    }

    /// The line index of [`Text::flat`].
    pub fn index(&self) -> &Arc<LineIndex> {
        self.0
            .index
            .get_or_init(|| Arc::new(LineIndex::new(self.flat())))
    }

    /// A copy of the text's bytes (for an analysis).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.flat().as_bytes().to_vec()
    }

    /// The byte offset of a position, clamped like [`crate::text::Lines::offset`]: past a
    /// line's end to the line's end, past the last line to the end of the text.
    pub fn offset(&self, pos: Position, enc: Encoding) -> usize {
        locate(&self.0.chunks, self.0.len, &mut (0, 0, 0, 0, 0), pos, enc).2
    }

    /// The text of the line that holds `offset`, from its start to `offset`.
    pub fn line_before(&self, offset: usize) -> String {
        let chunks = &self.0.chunks;
        // The chunk that holds the offset (or ends at it).
        let (mut k, mut base) = (0, 0);
        while let Some(c) = chunks.get(k) {
            if base + c.text.len() >= offset || k + 1 == chunks.len() {
                break;
            }
            base += c.text.len();
            k += 1;
        }
        let mut parts: Vec<&str> = Vec::new();
        let mut end = offset.saturating_sub(base);
        while let Some(c) = chunks.get(k) {
            let head = c.text.get(..end.min(c.text.len())).unwrap_or("");
            match head.rfind('\n') {
                Some(i) => {
                    parts.push(head.get(i + 1..).unwrap_or(""));
                    break;
                }
                None => parts.push(head),
            }
            if k == 0 {
                break;
            }
            k -= 1;
            end = usize::MAX;
        }
        parts.iter().rev().copied().collect()
    }

    /// This text after `changes` (applied in order; a change without a range replaces the
    /// whole text; ranges are clamped to the text, never fails).
    pub fn edited(&self, changes: Vec<TextDocumentContentChangeEvent>, enc: Encoding) -> Text {
        if changes.is_empty() {
            return self.clone();
        }
        // Everything before the last full replacement is irrelevant.
        let from = changes.iter().rposition(|c| c.range.is_none());
        let mut changes = changes.into_iter();
        // `dirty`: the regions changed so far, when the text is this one edited.
        let (mut chunks, mut dirty, whole) = match from {
            Some(i) => match changes.nth(i) {
                Some(c) => (chunks_of(&c.text), None, Some(c.text)),
                None => (self.0.chunks.clone(), None, None),
            },
            None => (self.0.chunks.clone(), Some(Regions::default()), None),
        };
        let mut len = whole.as_ref().map_or(self.0.len, String::len);
        let mut last_whole = whole;
        let mut hint: Hint = (0, 0, 0, 0, 0);
        for c in changes {
            let Some(range) = c.range else { continue };
            let (k1, o1, a) = locate(&chunks, len, &mut hint, range.start, enc);
            let first = hint;
            let (k2, o2, b) = locate(&chunks, len, &mut hint, range.end, enc);
            // The edit leaves the text before the first of the two alone.
            if (first.0, first.3) < (hint.0, hint.3) {
                hint = first;
            }
            let ((k1, o1, a), (k2, o2, b)) = if a <= b {
                ((k1, o1, a), (k2, o2, b))
            } else {
                ((k2, o2, b), (k1, o1, a))
            };
            replace(&mut chunks, (k1, o1), (k2, o2), &c.text);
            let inserted = c.text.len();
            len = len - (b - a) + inserted;
            last_whole = None;
            if let Some(regions) = &mut dirty {
                regions.add(a, b, inserted);
            }
        }
        let edit = dirty.and_then(|r| Some((self.0.id, r.edits()?)));
        let flat = OnceLock::new();
        if let Some(t) = last_whole {
            let _ = flat.set(Arc::new(t));
        }
        Text::make(chunks, edit, flat)
    }
}

/// The regions a batch of changes changed, in the coordinates of the text so far:
/// apart, in order, each with its size change. A change after the last region (changes
/// top to bottom) adds one at the end; a change before the first (bottom to top) adds one
/// at the front and moves the others (one shift kept for all); any other change merges
/// all into one.
#[derive(Default)]
struct Regions {
    /// (start, end, size change), start and end less `shift`.
    list: std::collections::VecDeque<(i64, i64, i64)>,
    shift: i64,
}

impl Regions {
    /// `a..b` (in the text so far) was replaced by `inserted` bytes.
    fn add(&mut self, a: usize, b: usize, inserted: usize) {
        let signed = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let (a, b, ins) = (signed(a), signed(b), signed(inserted));
        let d = ins - (b - a);
        let s = self.shift;
        let moved = |x: i64| {
            if x >= b {
                x + d
            } else if x > a {
                a + ins
            } else {
                x
            }
        };
        let first = self.list.front().map(|&(lo, hi, c)| (lo + s, hi + s, c));
        let last = self.list.back().map(|&(lo, hi, c)| (lo + s, hi + s, c));
        match (first, last) {
            (Some((lo, _, _)), Some(_)) if b < lo => {
                self.shift += d;
                self.list
                    .push_front((a - self.shift, a + ins - self.shift, d));
            }
            (_, Some((lo, hi, c))) if a >= lo => {
                if let Some(back) = self.list.back_mut() {
                    if a > hi {
                        self.list.push_back((a - s, a + ins - s, d));
                    } else {
                        *back = (lo - s, moved(hi).max(a + ins) - s, c + d);
                    }
                }
            }
            (Some((lo, _, _)), Some((_, hi, _))) => {
                let change: i64 = self.list.iter().map(|&(_, _, c)| c).sum::<i64>() + d;
                self.list.clear();
                self.list
                    .push_back((lo.min(a) - s, moved(hi).max(a + ins) - s, change));
            }
            _ => self.list.push_back((a - s, a + ins - s, d)),
        }
    }

    /// The regions as edits (`None` if none).
    fn edits(&self) -> Option<Vec<Edit>> {
        let s = self.shift;
        let at = |x: i64| usize::try_from(x).ok();
        let edits: Option<Vec<Edit>> = self
            .list
            .iter()
            .map(|&(lo, hi, c)| {
                Some(Edit {
                    start: at(lo + s)?,
                    old_end: at(hi + s - c)?,
                    new_end: at(hi + s)?,
                })
            })
            .collect();
        edits.filter(|e| !e.is_empty())
    }
}

impl Source for Text {
    fn len(&self) -> usize {
        self.0.len
    }

    fn window(&self, from: usize, to: usize) -> Cow<'_, str> {
        if let Some(f) = self.0.flat.get() {
            return Cow::Borrowed(f.get(from..).unwrap_or(""));
        }
        let chunks = &self.0.chunks;
        let (mut k, mut base) = (0, 0);
        while let Some(c) = chunks.get(k) {
            if base + c.text.len() > from {
                break;
            }
            base += c.text.len();
            k += 1;
        }
        if let Some(c) = chunks.get(k)
            && base + c.text.len() >= to.min(self.0.len)
        {
            // Within one chunk.
            return Cow::Borrowed(c.text.get(from - base..).unwrap_or(""));
        }
        let mut out = String::with_capacity(to.saturating_sub(from).min(self.0.len) + CHUNK);
        let mut at = from;
        while let Some(c) = chunks.get(k) {
            out.push_str(c.text.get(at - base..).unwrap_or(""));
            base += c.text.len();
            at = base;
            k += 1;
            if base >= to {
                break;
            }
        }
        Cow::Owned(out)
    }
}

/// Where a search for a line starts: a chunk, the newlines and bytes before it, and a
/// line start in it (its offset in the chunk and its line).
type Hint = (usize, usize, usize, usize, usize);

/// (chunk, byte offset in it, offset in the text) of a position, clamped like
/// [`crate::text::Lines::offset`], in a text of `total` bytes. The search for the line
/// starts from `hint` (the line found last, which an edit at or after it leaves right),
/// forward or back: a batch of changes in text order, either way, walks the chunks
/// once, not once per change.
fn locate(
    chunks: &[Arc<Chunk>],
    total: usize,
    hint: &mut Hint,
    pos: Position,
    enc: Encoding,
) -> (usize, usize, usize) {
    let last = chunks.len().saturating_sub(1);
    let end = (last, chunks.get(last).map_or(0, |c| c.text.len()), total);
    let line = pos.line as usize;
    let (mut k, mut lines, mut base, hint_off, hint_line) = if hint.0 < chunks.len() {
        *hint
    } else {
        (0, 0, 0, 0, 0)
    };
    // Back to a chunk before the line's start.
    let mut back = false;
    while k > 0 && lines >= line {
        k -= 1;
        back = true;
        let Some(c) = chunks.get(k) else { break };
        lines -= c.newlines;
        base -= c.text.len();
    }
    // From the hint's line start when the line is at or after it in the same chunk.
    let (mut off, mut before) = (0, 0);
    if !back
        && hint_line <= line
        && hint_line >= lines
        && chunks
            .get(k)
            .is_some_and(|c| hint_off <= c.text.len() && c.newlines >= hint_line - lines)
    {
        (off, before) = (hint_off, hint_line - lines);
    }
    let mut remaining = line.saturating_sub(lines + before);
    if remaining > 0 {
        loop {
            let Some(chunk) = chunks.get(k) else {
                return end;
            };
            let here = chunk.newlines - before;
            if here >= remaining {
                let found = chunk
                    .text
                    .get(off..)
                    .and_then(|t| t.match_indices('\n').nth(remaining - 1));
                let Some((i, _)) = found else {
                    return end;
                };
                off += i + 1;
                break;
            }
            remaining -= here;
            lines += chunk.newlines;
            base += chunk.text.len();
            k += 1;
            (off, before) = (0, 0);
        }
    }
    *hint = (k, lines, base, off, line);
    // Walk the line's characters (a line may run over several chunks).
    let mut units = 0u32;
    loop {
        let Some(chunk) = chunks.get(k) else {
            return end;
        };
        for (i, c) in chunk.text.get(off..).unwrap_or("").char_indices() {
            if units >= pos.character || c == '\n' {
                return (k, off + i, base + off + i);
            }
            units += match enc {
                Encoding::Utf8 => u32::try_from(c.len_utf8()).unwrap_or(1),
                Encoding::Utf16 => u32::try_from(c.len_utf16()).unwrap_or(1),
            };
        }
        if k == last {
            return end;
        }
        base += chunk.text.len();
        k += 1;
        off = 0;
    }
}

/// Replace `from..to` (chunk, offset; `from` first) with `text`.
fn replace(chunks: &mut Vec<Arc<Chunk>>, from: (usize, usize), to: (usize, usize), text: &str) {
    let ((k1, o1), (k2, o2)) = (from, to);
    if k1 == k2 {
        let Some(chunk) = chunks.get_mut(k1) else {
            return;
        };
        let chunk = Arc::make_mut(chunk);
        let removed = count_newlines(chunk.text.get(o1..o2).unwrap_or(""));
        chunk.text.replace_range(o1..o2, text);
        chunk.newlines = chunk.newlines - removed + count_newlines(text);
    } else {
        let tail = chunks
            .get(k2)
            .and_then(|c| c.text.get(o2..))
            .unwrap_or("")
            .to_string();
        let Some(chunk) = chunks.get_mut(k1) else {
            return;
        };
        let chunk = Arc::make_mut(chunk);
        chunk.text.truncate(o1);
        chunk.text.push_str(text);
        chunk.text.push_str(&tail);
        chunk.newlines = count_newlines(&chunk.text);
        let last = k2.min(chunks.len() - 1);
        chunks.drain(k1 + 1..=last);
    }
    // Split the chunk if it grew too long; drop it if it became empty.
    let Some(chunk) = chunks.get(k1) else {
        return;
    };
    if chunk.text.len() > 2 * CHUNK {
        let split = chunks_of(&chunk.text);
        chunks.splice(k1..=k1, split);
    } else if chunk.text.is_empty() && chunks.len() > 1 {
        chunks.remove(k1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Lines;
    use tower_lsp_server::ls_types::Range;

    /// The plain way: each change applied to the whole string with a fresh line index.
    fn naive(text: &str, changes: &[TextDocumentContentChangeEvent], enc: Encoding) -> String {
        let mut out = text.to_string();
        for c in changes {
            let Some(range) = c.range else {
                out = c.text.clone();
                continue;
            };
            let lines = Lines::new(&out);
            let a = lines.offset(range.start, enc) as usize;
            let b = lines.offset(range.end, enc) as usize;
            let (a, b) = (a.min(b), a.max(b).min(out.len()));
            out.replace_range(a..b, &c.text);
        }
        out
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
        }
    }

    const INSERTS: &[&str] = &["", "x", "\n", "é😀", "line\nline\n", "\r\n", "{ a = 1 }\n"];

    fn text(rng: &mut Rng, len: usize) -> String {
        let pieces = ["abc", "é", "😀", "\n", "\r\n", "  max_age = 2d\n", "\t"];
        let mut s = String::new();
        while s.len() < len {
            s.push_str(pieces[rng.below(pieces.len())]);
        }
        s
    }

    /// Batches of changes (top to bottom, bottom to top, anywhere; positions past line
    /// ends and past the end, reversed ranges, full replacements) over texts several
    /// chunks long give exactly what applying them one by one gives; so do the offsets,
    /// the lines before an offset, the windows; and the edit a batch reports covers
    /// everything that changed.
    #[test]
    fn batches_apply_like_one_by_one() {
        let mut rng = Rng(0x00ed_17ab_1e5e_ed01);
        for case in 0..300 {
            let enc = if case % 3 == 0 {
                Encoding::Utf8
            } else {
                Encoding::Utf16
            };
            let original = text(&mut rng, [0, 10, 3 * CHUNK, 9 * CHUNK][case % 4]);
            let mut current = original.clone();
            let mut changes = Vec::new();
            let count = 1 + rng.below(if case % 5 == 0 { 400 } else { 12 });
            let mut line = 0u32;
            for i in 0..count {
                let lines = u32::try_from(current.matches('\n').count()).unwrap_or(0) + 1;
                let order = case % 3;
                line = match order {
                    0 => (line + u32::try_from(rng.below(3)).unwrap_or(0)).min(lines + 1),
                    1 => lines.saturating_sub(u32::try_from(i * 2).unwrap_or(0)),
                    _ => u32::try_from(rng.below(lines as usize + 2)).unwrap_or(0),
                };
                let start = Position {
                    line,
                    character: u32::try_from(rng.below(20)).unwrap_or(0),
                };
                let end = Position {
                    line: line + u32::try_from(rng.below(3)).unwrap_or(0),
                    character: u32::try_from(rng.below(20)).unwrap_or(0),
                };
                let (start, end) = if rng.below(10) == 0 {
                    (end, start)
                } else {
                    (start, end)
                };
                let change = if rng.below(60) == 0 {
                    TextDocumentContentChangeEvent {
                        range: None,
                        range_length: None,
                        text: text(&mut rng, 2 * CHUNK),
                    }
                } else {
                    TextDocumentContentChangeEvent {
                        range: Some(Range { start, end }),
                        range_length: None,
                        text: INSERTS[rng.below(INSERTS.len())].to_string(),
                    }
                };
                current = naive(&current, std::slice::from_ref(&change), enc);
                changes.push(change);
            }
            // Half the cases from a text that was itself edited (no flat text).
            let base = if case % 2 == 0 {
                Text::new(original.clone())
            } else {
                Text::new(String::new()).edited(
                    vec![TextDocumentContentChangeEvent {
                        range: Some(Range::default()),
                        range_length: None,
                        text: original.clone(),
                    }],
                    enc,
                )
            };
            let got = base.edited(changes.clone(), enc);
            assert_eq!(**got.flat(), naive(&original, &changes, enc), "case {case}");
            assert_eq!(**got.flat(), current);
            assert_eq!(got.to_bytes(), current.as_bytes());
            assert_eq!(got.len(), current.len());
            assert_eq!(got.index().starts(), LineIndex::new(&current).starts());
            if let Some(edits) = got.edit_of(base.id()) {
                // Each edit, in order, takes its new text from `current` and keeps the
                // rest: that makes `current`.
                let mut made = original.clone();
                let mut end = 0;
                for e in edits {
                    assert!(
                        e.start >= end && e.old_end >= e.start,
                        "case {case}: {edits:?}"
                    );
                    made.replace_range(e.start..e.old_end, &current[e.start..e.new_end]);
                    end = e.new_end;
                }
                assert_eq!(made, current, "case {case}: {edits:?}");
            } else {
                assert!(changes.iter().any(|c| c.range.is_none()), "case {case}");
            }
            // Offsets, lines and windows on the chunks, against the flat text.
            let fresh = base.edited(changes, enc);
            let lines = Lines::new(&current);
            for _ in 0..20 {
                let pos = Position {
                    line: u32::try_from(rng.below(current.len() / 8 + 2)).unwrap_or(0),
                    character: u32::try_from(rng.below(30)).unwrap_or(0),
                };
                let at = fresh.offset(pos, enc);
                assert_eq!(at, lines.offset(pos, enc) as usize, "case {case} {pos:?}");
                let start = lines.line_start(u32::try_from(at).unwrap_or(0)) as usize;
                assert_eq!(fresh.line_before(at), current.get(start..at).unwrap_or(""));
                let to = at + rng.below(3 * CHUNK);
                let w = fresh.window(at, to);
                assert!(current.get(at..).is_some_and(|rest| rest.starts_with(&*w)));
                assert!(w.len() >= to.min(current.len()) - at, "case {case}");
            }
        }
    }
}
