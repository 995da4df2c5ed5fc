//! Applying a `textDocument/didChange` in one pass. Each content change is in the
//! coordinates of the text after the previous ones, so applied one by one to a contiguous
//! string, a change that edits 10,000 lines of a 4 MB file (`:g/max_age/s/2d/4d/` in Neovim
//! sends one change per line) costs 10,000 copies of the file and a line index each time.
//! Here the text is cut into chunks of a few KB while a batch is applied: a change finds
//! its line by counting newlines per chunk and edits one chunk, so a batch costs about
//! (size / chunk + chunk) per change, whatever the order of the changes, plus one copy of
//! the text at each end. A single change is applied straight to the text.

use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent};

use crate::text::{Encoding, LineIndex, Lines};

/// Chunks are split when longer than twice this.
const CHUNK: usize = 4096;

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

/// A text cut into chunks (never empty: an empty text is one empty chunk).
struct Chunked {
    chunks: Vec<Chunk>,
}

impl Chunked {
    fn new(text: &str) -> Self {
        let mut chunks = Vec::with_capacity(text.len() / CHUNK + 1);
        let mut rest = text;
        while rest.len() > CHUNK {
            let cut = floor_boundary(rest, CHUNK).max(1);
            let cut = if rest.is_char_boundary(cut) {
                cut
            } else {
                rest.len()
            };
            let (head, tail) = rest.split_at(cut);
            chunks.push(Chunk::new(head.to_string()));
            rest = tail;
        }
        chunks.push(Chunk::new(rest.to_string()));
        Chunked { chunks }
    }

    /// (chunk, byte offset in it) of a position, clamped like [`Lines::offset`]: past a
    /// line's end to the line's end, past the last line to the end of the text.
    fn locate(&self, pos: Position, enc: Encoding) -> (usize, usize) {
        let last = self.chunks.len() - 1;
        let end = (last, self.chunks.get(last).map_or(0, |c| c.text.len()));
        let (mut k, mut off) = (0, 0);
        let mut remaining = pos.line as usize;
        if remaining > 0 {
            loop {
                let Some(chunk) = self.chunks.get(k) else {
                    return end;
                };
                if chunk.newlines >= remaining {
                    let Some((i, _)) = chunk.text.match_indices('\n').nth(remaining - 1) else {
                        return end;
                    };
                    off = i + 1;
                    break;
                }
                remaining -= chunk.newlines;
                k += 1;
            }
        }
        // Walk the line's characters (a line may run over several chunks).
        let mut units = 0u32;
        loop {
            let Some(chunk) = self.chunks.get(k) else {
                return end;
            };
            for (i, c) in chunk.text.get(off..).unwrap_or("").char_indices() {
                if units >= pos.character || c == '\n' {
                    return (k, off + i);
                }
                units += match enc {
                    Encoding::Utf8 => u32::try_from(c.len_utf8()).unwrap_or(1),
                    Encoding::Utf16 => u32::try_from(c.len_utf16()).unwrap_or(1),
                };
            }
            if k == last {
                return end;
            }
            k += 1;
            off = 0;
        }
    }

    /// Replace `from..to` (positions in chunk coordinates, in any order) with `text`.
    fn replace(&mut self, from: (usize, usize), to: (usize, usize), text: &str) {
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        let ((k1, o1), (k2, o2)) = (from, to);
        if k1 == k2 {
            let Some(chunk) = self.chunks.get_mut(k1) else {
                return;
            };
            let removed = count_newlines(chunk.text.get(o1..o2).unwrap_or(""));
            chunk.text.replace_range(o1..o2, text);
            chunk.newlines = chunk.newlines - removed + count_newlines(text);
        } else {
            let tail = self
                .chunks
                .get(k2)
                .and_then(|c| c.text.get(o2..))
                .unwrap_or("")
                .to_string();
            let Some(chunk) = self.chunks.get_mut(k1) else {
                return;
            };
            chunk.text.truncate(o1);
            chunk.text.push_str(text);
            chunk.text.push_str(&tail);
            chunk.newlines = count_newlines(&chunk.text);
            self.chunks.drain(k1 + 1..=k2.min(self.chunks.len() - 1));
        }
        self.rebalance(k1);
    }

    /// Split chunk `k` if it grew too long; drop it if it became empty.
    fn rebalance(&mut self, k: usize) {
        let Some(chunk) = self.chunks.get(k) else {
            return;
        };
        if chunk.text.len() > 2 * CHUNK {
            let split = Chunked::new(&chunk.text).chunks;
            self.chunks.splice(k..=k, split);
        } else if chunk.text.is_empty() && self.chunks.len() > 1 {
            self.chunks.remove(k);
        }
    }

    fn into_string(self) -> String {
        let mut out = String::with_capacity(self.chunks.iter().map(|c| c.text.len()).sum());
        for c in self.chunks {
            out.push_str(&c.text);
        }
        out
    }
}

/// Apply content changes to `text` (whose line index is `index`), in order; the new text
/// and its line index. A change without a range replaces the whole text; ranges are
/// clamped to the text (never fails).
pub fn apply_changes(
    text: &str,
    index: &LineIndex,
    changes: Vec<TextDocumentContentChangeEvent>,
    enc: Encoding,
) -> (String, LineIndex) {
    let (new, edited) = apply(text, index, changes, enc);
    let index = match edited {
        Some((a, b, inserted)) => index.edited(a, b, &inserted),
        None => LineIndex::new(&new),
    };
    (new, index)
}

/// The new text, and for a single ranged change what it replaced (`a..b` by the text).
fn apply(
    text: &str,
    index: &LineIndex,
    changes: Vec<TextDocumentContentChangeEvent>,
    enc: Encoding,
) -> (String, Option<(usize, usize, String)>) {
    // Everything before the last full replacement is irrelevant.
    let from = changes.iter().rposition(|c| c.range.is_none());
    let mut changes = changes.into_iter();
    let base = match from {
        Some(i) => changes.nth(i).map(|c| c.text),
        None => None,
    };
    let ranged: Vec<TextDocumentContentChangeEvent> = changes.collect();
    match (base, ranged.as_slice()) {
        (Some(t), []) => (t, None),
        (None, []) => (text.to_string(), None),
        (None, [one]) => {
            let Some(range) = one.range else {
                return (one.text.clone(), None);
            };
            let lines = Lines::of(text, index);
            let a = lines.offset(range.start, enc) as usize;
            let b = lines.offset(range.end, enc) as usize;
            let (a, b) = (a.min(b), a.max(b).min(text.len()));
            let mut out = String::with_capacity(text.len() - (b - a) + one.text.len());
            out.push_str(text.get(..a).unwrap_or(""));
            out.push_str(&one.text);
            out.push_str(text.get(b..).unwrap_or(""));
            (out, Some((a, b, one.text.clone())))
        }
        (base, _) => {
            let mut chunked = Chunked::new(base.as_deref().unwrap_or(text));
            for c in &ranged {
                let Some(range) = c.range else {
                    chunked = Chunked::new(&c.text);
                    continue;
                };
                let a = chunked.locate(range.start, enc);
                let b = chunked.locate(range.end, enc);
                chunked.replace(a, b, &c.text);
            }
            (chunked.into_string(), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    /// chunks long give exactly what applying them one by one gives.
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
            let index = LineIndex::new(&original);
            let (got, got_index) = apply_changes(&original, &index, changes.clone(), enc);
            assert_eq!(got, naive(&original, &changes, enc), "case {case}");
            assert_eq!(got, current);
            assert_eq!(got_index.starts(), LineIndex::new(&got).starts());
        }
    }
}
