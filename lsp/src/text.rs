//! Positions: byte offsets (the compiler's) ↔ LSP positions in the negotiated encoding
//! (UTF-16 code units by default, UTF-8 bytes when the client offers it).

use tower_lsp_server::ls_types::{Position, Range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// The line starts of a text (computed once per document version).
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// A cheap sign that this is the index of `text` (its last line starts after a newline
    /// within `text`), for an index carried along with a text that should be its own.
    pub fn fits(&self, text: &str) -> bool {
        match self.starts.last() {
            Some(&0) | None => !text.contains('\n'),
            Some(&last) => {
                last <= text.len()
                    && text.as_bytes().get(last - 1) == Some(&b'\n')
                    && !text.get(last..).is_some_and(|rest| rest.contains('\n'))
            }
        }
    }

    #[cfg(test)]
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }
}

/// A text with its line starts, for conversions.
pub struct Lines<'t> {
    text: &'t str,
    starts: std::borrow::Cow<'t, [usize]>,
    /// The line of the last conversion.
    hint: std::cell::Cell<usize>,
}

impl<'t> Lines<'t> {
    /// Index `text` now (for texts without a cached [`LineIndex`]).
    pub fn new(text: &'t str) -> Self {
        Self {
            text,
            starts: std::borrow::Cow::Owned(LineIndex::new(text).starts),
            hint: std::cell::Cell::new(0),
        }
    }

    /// `text` with its cached index.
    pub fn of(text: &'t str, index: &'t LineIndex) -> Self {
        Self {
            text,
            starts: std::borrow::Cow::Borrowed(&index.starts),
            hint: std::cell::Cell::new(0),
        }
    }

    /// The line that holds `offset`. Conversions come in text order (tokens, diagnostics)
    /// or close to it (an outline symbol's range, then its name, which is back on its
    /// first line), so the search starts at the line found last and gallops from there,
    /// forward or back.
    fn line_of(&self, offset: usize) -> usize {
        let starts = &*self.starts;
        let hint = self.hint.get();
        let line = match starts.get(hint) {
            Some(&at) if at <= offset => {
                let (mut lo, mut step) = (hint, 1);
                while starts.get(lo + step).is_some_and(|&s| s <= offset) {
                    lo += step;
                    step *= 2;
                }
                let hi = (lo + step).min(starts.len());
                lo + starts
                    .get(lo..hi)
                    .map_or(1, |w| w.partition_point(|&s| s <= offset))
                    .saturating_sub(1)
            }
            Some(_) => {
                // `starts[hi]` is past `offset`; step back until one is not.
                let (mut hi, mut step) = (hint, 1);
                while hi >= step && starts.get(hi - step).is_some_and(|&s| s > offset) {
                    hi -= step;
                    step *= 2;
                }
                let lo = hi.saturating_sub(step);
                lo + starts
                    .get(lo..hi)
                    .map_or(1, |w| w.partition_point(|&s| s <= offset))
                    .saturating_sub(1)
            }
            None => starts.partition_point(|&s| s <= offset).saturating_sub(1),
        };
        self.hint.set(line);
        line
    }

    pub fn position(&self, offset: u32, enc: Encoding) -> Position {
        let offset = (offset as usize).min(self.text.len());
        let line = self.line_of(offset);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = self.text.get(start..end).unwrap_or("");
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 if prefix.is_ascii() => prefix.len(),
            Encoding::Utf16 => prefix.encode_utf16().count(),
        };
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    /// The offset of the start of the line that holds `offset`.
    #[cfg(test)]
    pub fn line_start(&self, offset: u32) -> u32 {
        let offset = (offset as usize).min(self.text.len());
        let line = self.line_of(offset);
        u32::try_from(self.starts.get(line).copied().unwrap_or(0)).unwrap_or(u32::MAX)
    }

    pub fn range(&self, start: u32, end: u32, enc: Encoding) -> Range {
        Range {
            start: self.position(start, enc),
            end: self.position(end, enc),
        }
    }

    /// The byte offset of a position; positions past a line's end clamp to it, lines past
    /// the end clamp to the end of the text. Never fails.
    pub fn offset(&self, pos: Position, enc: Encoding) -> u32 {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(self.text.len(), |e| e.saturating_sub(1).max(start));
        let line = self.text.get(start..end).unwrap_or("");
        let mut units = 0u32;
        let mut byte = start;
        for c in line.chars() {
            if units >= pos.character {
                break;
            }
            units += match enc {
                Encoding::Utf8 => u32::try_from(c.len_utf8()).unwrap_or(1),
                Encoding::Utf16 => u32::try_from(c.len_utf16()).unwrap_or(1),
            };
            byte += c.len_utf8();
        }
        u32::try_from(byte).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_fits_its_own_text() {
        for text in ["", "a", "a\n", "a\nb", "\n\n", "ab\ncd\n\nef"] {
            assert!(LineIndex::new(text).fits(text), "{text:?}");
        }
        assert!(!LineIndex::new("a\nb").fits("ab"));
        assert!(!LineIndex::new("a\nb").fits("a\nb\nc"));
        assert!(!LineIndex::new("ab").fits("a\nb"));
        assert!(!LineIndex::new("abc\nd").fits("a\n"));
    }

    /// The galloping search finds the line a plain binary search finds, in any order.
    #[test]
    fn line_of_any_offset_in_any_order() {
        let text = "a\n\nbb\nccc\n\n\ndddd\ne".repeat(50);
        let lines = Lines::new(&text);
        let mut seed = 7usize;
        for i in 0..5000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let offset = if i % 3 == 0 {
                i % (text.len() + 1)
            } else {
                (seed >> 33) % (text.len() + 1)
            };
            let expected = match lines.starts.binary_search(&offset) {
                Ok(l) => l,
                Err(next) => next - 1,
            };
            assert_eq!(lines.line_of(offset), expected, "{offset}");
        }
    }

    #[test]
    fn utf16_and_utf8_columns() {
        let text = "a = \"é😀x\"\nb";
        let l = Lines::new(text);
        let x = u32::try_from(text.find('x').unwrap_or(0)).unwrap_or(0);
        assert_eq!(
            l.position(x, Encoding::Utf16),
            Position {
                line: 0,
                character: 8
            }
        );
        assert_eq!(
            l.position(x, Encoding::Utf8),
            Position {
                line: 0,
                character: 11
            }
        );
        assert_eq!(
            l.offset(
                Position {
                    line: 0,
                    character: 8
                },
                Encoding::Utf16
            ),
            x
        );
        assert_eq!(
            l.offset(
                Position {
                    line: 9,
                    character: 0
                },
                Encoding::Utf16
            ),
            u32::try_from(text.len()).unwrap_or(0)
        );
        assert_eq!(
            l.offset(
                Position {
                    line: 1,
                    character: 99
                },
                Encoding::Utf16
            ),
            u32::try_from(text.len()).unwrap_or(0)
        );
    }
}
