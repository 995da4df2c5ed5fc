//! Positions: byte offsets (the compiler's) ↔ LSP positions in the negotiated encoding
//! (UTF-16 code units by default, UTF-8 bytes when the client offers it).

use tower_lsp_server::ls_types::{Position, Range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// Line starts of a text, for conversions.
pub struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    pub fn position(&self, offset: u32, enc: Encoding) -> Position {
        let offset = (offset as usize).min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(next) => next.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = self.text.get(start..end).unwrap_or("");
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.encode_utf16().count(),
        };
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
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
