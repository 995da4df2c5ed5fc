//! LSP → kumoc: positions to byte offsets, content changes applied to a text, the
//! position encoding the client offers. Never fails: positions are clamped to the text.

use tower_lsp_server::ls_types::{
    ClientCapabilities, Position, PositionEncodingKind, TextDocumentContentChangeEvent,
};

use crate::text::{Encoding, Lines};

/// The byte offset of an LSP position in `text`.
pub fn offset(text: &str, pos: Position, enc: Encoding) -> u32 {
    Lines::new(text).offset(pos, enc)
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

/// Apply `textDocument/didChange` content changes to a text, in order. A change without a
/// range replaces the whole text; ranges are clamped to the text (never fails).
pub fn apply_changes(
    text: &str,
    changes: Vec<TextDocumentContentChangeEvent>,
    enc: Encoding,
) -> String {
    // Everything before the last full replacement is irrelevant.
    let from = changes.iter().rposition(|c| c.range.is_none());
    let mut changes = changes.into_iter();
    let mut out = match from {
        Some(i) => changes
            .nth(i)
            .map(|c| c.text)
            .unwrap_or_else(|| text.to_string()),
        None => text.to_string(),
    };
    for c in changes {
        let Some(range) = c.range else {
            out = c.text;
            continue;
        };
        let lines = Lines::new(&out);
        let a = lines.offset(range.start, enc) as usize;
        let b = lines.offset(range.end, enc) as usize;
        let (a, b) = (a.min(b), a.max(b).min(out.len()));
        if out.is_char_boundary(a) && out.is_char_boundary(b) {
            out.replace_range(a..b, &c.text);
        }
    }
    out
}
