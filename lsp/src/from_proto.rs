//! LSP → kumoc: positions to byte offsets, the position encoding the client offers (the
//! content changes of `didChange` are applied in `rope.rs`). Never fails: positions are
//! clamped to the text.

use tower_lsp_server::ls_types::{ClientCapabilities, Position, PositionEncodingKind, Range};

use crate::text::{Encoding, Lines};

/// The byte offset of an LSP position (clamped to the text).
pub fn offset(lines: &Lines<'_>, pos: Position, enc: Encoding) -> u32 {
    lines.offset(pos, enc)
}

/// The byte offsets of an LSP range, in the order given.
pub fn offsets(lines: &Lines<'_>, range: Range, enc: Encoding) -> (u32, u32) {
    (lines.offset(range.start, enc), lines.offset(range.end, enc))
}

/// UTF-8 when the client offers it (no conversion at all), else UTF-16 (the default).
pub fn encoding(capabilities: &ClientCapabilities) -> Encoding {
    let offered = capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_deref())
        .unwrap_or_default();
    if offered.contains(&PositionEncodingKind::UTF8) {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    }
}
