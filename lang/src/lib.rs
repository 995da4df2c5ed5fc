//! The `.kumo` language: grammar, total parser, syntax tree with byte spans, formatter, and
//! the value grammars (durations, rates, sizes, CPU, percentages, IPs, versions) shared by
//! the checker and the emitters.
//!
//! This crate depends on nothing in-house and does no IO.

pub mod ast;
pub mod format;
pub mod incremental;
mod parser;
#[cfg(test)]
mod pest_oracle;
pub mod units;

pub use ast::{SharedText, Span};
pub use parser::{MAX_NESTING, Parse, Piece, Statements, parse, parse_piece, parse_shared};

/// The syntax error codes (`K0xxx`). Stable: a code is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyntaxCode {
    UnexpectedInput,
    UnclosedBlock,
    MissingValue,
    InvalidValue,
    UnterminatedString,
    InvalidEscape,
    UnclosedBracket,
    UnterminatedComment,
    NestingTooDeep,
    InvalidUtf8,
}

impl SyntaxCode {
    pub const ALL: [SyntaxCode; 10] = [
        SyntaxCode::UnexpectedInput,
        SyntaxCode::UnclosedBlock,
        SyntaxCode::MissingValue,
        SyntaxCode::InvalidValue,
        SyntaxCode::UnterminatedString,
        SyntaxCode::InvalidEscape,
        SyntaxCode::UnclosedBracket,
        SyntaxCode::UnterminatedComment,
        SyntaxCode::NestingTooDeep,
        SyntaxCode::InvalidUtf8,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SyntaxCode::UnexpectedInput => "K0001",
            SyntaxCode::UnclosedBlock => "K0002",
            SyntaxCode::MissingValue => "K0003",
            SyntaxCode::InvalidValue => "K0004",
            SyntaxCode::UnterminatedString => "K0005",
            SyntaxCode::InvalidEscape => "K0006",
            SyntaxCode::UnclosedBracket => "K0007",
            SyntaxCode::UnterminatedComment => "K0008",
            SyntaxCode::NestingTooDeep => "K0009",
            SyntaxCode::InvalidUtf8 => "K0010",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SyntaxCode::UnexpectedInput => "unexpected-input",
            SyntaxCode::UnclosedBlock => "unclosed-block",
            SyntaxCode::MissingValue => "missing-value",
            SyntaxCode::InvalidValue => "invalid-value",
            SyntaxCode::UnterminatedString => "unterminated-string",
            SyntaxCode::InvalidEscape => "invalid-escape",
            SyntaxCode::UnclosedBracket => "unclosed-bracket",
            SyntaxCode::UnterminatedComment => "unterminated-comment",
            SyntaxCode::NestingTooDeep => "nesting-too-deep",
            SyntaxCode::InvalidUtf8 => "invalid-utf8",
        }
    }
}

/// One syntax error: what, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub code: SyntaxCode,
    pub message: String,
    pub span: Span,
    /// What the primary span shows ("this `{` has no matching `}`").
    pub label: String,
    pub help: Option<String>,
    /// A second place worth pointing at (e.g. where a bracket was opened).
    pub secondary: Option<(Span, String)>,
}

impl SyntaxError {
    pub fn new(
        code: SyntaxCode,
        message: String,
        span: Span,
        label: impl Into<String>,
        help: Option<&str>,
    ) -> Self {
        Self {
            code,
            message,
            span,
            label: label.into(),
            help: help.map(str::to_string),
            secondary: None,
        }
    }

    pub fn with_secondary(mut self, span: Span, label: String) -> Self {
        self.secondary = Some((span, label));
        self
    }
}

/// Decode file bytes as UTF-8. Invalid sequences become U+FFFD and the first one is
/// reported (`K0010`) at its byte offset, so the rest of the file is still checked.
pub fn decode(bytes: &[u8]) -> (String, Option<SyntaxError>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(e) => {
            let at = e.valid_up_to();
            let text = String::from_utf8_lossy(bytes).into_owned();
            // Offsets after the first bad byte shift by the replacement; point at the
            // replacement character in the decoded text.
            let err = SyntaxError::new(
                SyntaxCode::InvalidUtf8,
                "the file is not valid UTF-8".to_string(),
                Span::new(at, at + '\u{FFFD}'.len_utf8()),
                "invalid byte sequence",
                Some("save the file as UTF-8; .kumo files are always UTF-8"),
            );
            (text, Some(err))
        }
    }
}

/// A carriage return that is not part of a CRLF line ending. The grammar reads a lone CR as
/// a line break, but line numbers, suppressions and editors count lines by LF, so such a
/// file would be misreported: it is refused (`K0001`, at the first one).
pub fn lone_carriage_return(text: &str) -> Option<SyntaxError> {
    let bytes = text.as_bytes();
    // Most files have no carriage return at all: the text is skipped 64 bytes at a time
    // (a compare and an or per byte, which the compiler vectorizes: 0.1 instructions a
    // byte, where `find`'s word-at-a-time search took 1), then searched from the first
    // block that has one.
    const BLOCK: usize = 64;
    let blocks = bytes.chunks_exact(BLOCK);
    let clean = blocks
        .take_while(|b| !b.iter().fold(false, |cr, &c| cr | (c == b'\r')))
        .count();
    let mut from = clean * BLOCK;
    let at = loop {
        let at = from + text.get(from..)?.find('\r')?;
        if bytes.get(at + 1) != Some(&b'\n') {
            break at;
        }
        from = at + 1;
    };
    Some(SyntaxError::new(
        SyntaxCode::UnexpectedInput,
        "a carriage return that is not part of a CRLF line ending".to_string(),
        Span::new(at, at + 1),
        "lone `\\r`",
        Some("save the file with LF (or CRLF) line endings"),
    ))
}

#[cfg(test)]
mod tests {
    use super::lone_carriage_return;

    #[test]
    fn a_lone_carriage_return_is_found_after_crlf_line_endings() {
        let at = |text: &str| lone_carriage_return(text).map(|e| e.span.start);
        assert_eq!(at("a\r\nb\r\n"), None);
        assert_eq!(at("a\r\nb\rc"), Some(4));
        assert_eq!(at("\r"), Some(0));
        assert_eq!(at("ab\r"), Some(2));
        assert_eq!(at("no carriage return"), None);
        // Past the blocks skipped whole: at, before and after a block's end, in the tail.
        for n in [0u32, 1, 62, 63, 64, 65, 127, 128, 200] {
            let lead = "x".repeat(n as usize);
            assert_eq!(at(&format!("{lead}\r")), Some(n), "{n}");
            assert_eq!(at(&format!("{lead}\ra")), Some(n), "{n}");
            assert_eq!(at(&format!("{lead}\r\n{lead}")), None, "{n}");
            assert_eq!(
                at(&format!("{lead}\r\n{lead}\r{lead}")),
                Some(2 * n + 2),
                "{n}"
            );
            assert_eq!(at(&format!("{lead}{lead}")), None, "{n}");
        }
    }
}
