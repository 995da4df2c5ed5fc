//! Results written as JSON text by their handlers, straight from typed values: the big
//! answers (the outline, semantic tokens) never become a `serde_json::Value` tree. They
//! are written by hand, byte for byte as tower-lsp-server wrote them (serde_json through a
//! `Value`, so with sorted keys; tested). The transport (`transport.rs`) frames the text
//! as it is.

use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{DocumentSymbol, Position, Range, SemanticToken};

/// The JSON text of a request's result, in chunks (a big one is never copied to grow).
#[derive(Debug)]
pub struct Json(Vec<Vec<u8>>);

impl Json {
    /// `null`: no result (an unknown document).
    pub fn null() -> Self {
        Json(vec![b"null".to_vec()])
    }

    /// `value` as JSON.
    #[cfg(test)]
    pub fn of(value: &impl serde::Serialize) -> Result<Self> {
        serde_json::to_vec(value)
            .map(|text| Json(vec![text]))
            .map_err(unserializable)
    }

    pub fn chunks(&self) -> &[Vec<u8>] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
}

/// Semantic tokens (`SemanticTokens`), byte for byte as tower-lsp-server wrote them
/// (keys sorted; tested), straight from the tokens: five numbers each.
pub fn semantic_tokens(data: &[SemanticToken], result_id: &str) -> Result<Json> {
    let mut out = Vec::with_capacity(data.len() * 5 * 4 + 64);
    out.extend_from_slice(b"{\"data\":[");
    for (i, t) in data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        for (j, n) in [
            t.delta_line,
            t.delta_start,
            t.length,
            t.token_type,
            t.token_modifiers_bitset,
        ]
        .into_iter()
        .enumerate()
        {
            if j > 0 {
                out.push(b',');
            }
            write_u32(&mut out, n);
        }
    }
    out.extend_from_slice(b"],\"resultId\":");
    serde_json::to_writer(&mut out, result_id).map_err(unserializable)?;
    out.push(b'}');
    Ok(Json(vec![out]))
}

/// Chunks of a big array are allocated at this size, once the first one has grown to it.
const CHUNK: usize = 1 << 20;

/// A JSON array written one item at a time, as the items are computed.
pub struct JsonArray {
    done: Vec<Vec<u8>>,
    text: Vec<u8>,
    items: usize,
}

impl JsonArray {
    pub fn new() -> Self {
        JsonArray {
            done: Vec::new(),
            text: vec![b'['],
            items: 0,
        }
    }

    /// An outline symbol, byte for byte as tower-lsp-server wrote it (serde_json through
    /// a `Value`: keys sorted; tested), but written by hand: keys as literal text, numbers
    /// without a serializer. For the 10 MB outline of 10,000 domains this was most of the
    /// answer's cost.
    pub fn push_symbol(&mut self, symbol: &DocumentSymbol) -> Result<()> {
        self.separate();
        write_symbol(&mut self.text, symbol)?;
        self.cut();
        Ok(())
    }

    pub fn finish(mut self) -> Json {
        self.text.push(b']');
        self.done.push(self.text);
        Json(self.done)
    }

    fn separate(&mut self) {
        if self.items > 0 {
            self.text.push(b',');
        }
        self.items += 1;
    }

    /// Start a new chunk when this one is full.
    fn cut(&mut self) {
        if self.text.len() >= CHUNK {
            let full = std::mem::replace(&mut self.text, Vec::with_capacity(CHUNK + CHUNK / 8));
            self.done.push(full);
        }
    }
}

fn write_symbol(out: &mut Vec<u8>, s: &DocumentSymbol) -> Result<()> {
    #[allow(deprecated)]
    let rare = s.detail.is_some() || s.tags.is_some() || s.deprecated.is_some();
    if rare {
        // Fields kumoc does not set: serde_json writes those (through a `Value`, so the
        // keys are sorted like the rest).
        let value = serde_json::to_value(s).map_err(unserializable)?;
        return serde_json::to_writer(out, &value).map_err(unserializable);
    }
    out.push(b'{');
    if let Some(children) = &s.children {
        out.extend_from_slice(b"\"children\":[");
        for (i, child) in children.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_symbol(out, child)?;
        }
        out.extend_from_slice(b"],");
    }
    out.extend_from_slice(b"\"kind\":");
    serde_json::to_writer(&mut *out, &s.kind).map_err(unserializable)?;
    out.extend_from_slice(b",\"name\":");
    serde_json::to_writer(&mut *out, &s.name).map_err(unserializable)?;
    out.extend_from_slice(b",\"range\":");
    write_range(out, &s.range);
    out.extend_from_slice(b",\"selectionRange\":");
    write_range(out, &s.selection_range);
    out.push(b'}');
    Ok(())
}

fn write_range(out: &mut Vec<u8>, range: &Range) {
    out.extend_from_slice(b"{\"end\":");
    write_position(out, range.end);
    out.extend_from_slice(b",\"start\":");
    write_position(out, range.start);
    out.push(b'}');
}

fn write_position(out: &mut Vec<u8>, at: Position) {
    out.extend_from_slice(b"{\"character\":");
    write_u32(out, at.character);
    out.extend_from_slice(b",\"line\":");
    write_u32(out, at.line);
    out.push(b'}');
}

fn write_u32(out: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut from = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        from -= 1;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(from..).unwrap_or_default());
}

/// A value that cannot be written as JSON is an internal error (as in tower-lsp-server).
fn unserializable(e: serde_json::Error) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{SymbolKind, SymbolTag};

    fn text(json: Json) -> String {
        String::from_utf8(json.chunks().concat()).unwrap()
    }

    #[test]
    fn small_values() {
        assert_eq!(text(JsonArray::new().finish()), "[]");
        assert_eq!(text(Json::null()), "null");
        assert_eq!(text(Json::of(&[1, 2]).unwrap()), "[1,2]");
    }

    #[allow(deprecated)]
    fn symbol(name: &str, n: u32, children: Option<Vec<DocumentSymbol>>) -> DocumentSymbol {
        let at = |line, character| Position { line, character };
        DocumentSymbol {
            name: name.into(),
            detail: None,
            kind: SymbolKind::STRUCT,
            tags: None,
            deprecated: None,
            range: Range::new(at(n, 0), at(n * 1000 + 7, u32::MAX)),
            selection_range: Range::new(at(n, 9), at(n, 10)),
            children,
        }
    }

    /// The hand-written symbols are what tower-lsp-server wrote (serde_json through a
    /// `Value`), and big arrays are cut into chunks between items.
    #[test]
    fn symbols_are_written_as_serde_json_writes_them() {
        let mut rare = symbol("tagged", 3, None);
        rare.tags = Some(vec![SymbolTag::DEPRECATED]);
        rare.detail = Some("d".into());
        let symbols: Vec<DocumentSymbol> = (0..20_000)
            .map(|i| match i % 3 {
                0 => symbol(
                    &format!("domain \"d{i}.example.com\" é\u{1F600}\n"),
                    i,
                    None,
                ),
                1 => symbol(
                    "pool main",
                    i,
                    Some(vec![symbol("source a", 0, Some(vec![]))]),
                ),
                _ => rare.clone(),
            })
            .collect();
        let mut a = JsonArray::new();
        for s in &symbols {
            a.push_symbol(s).unwrap();
        }
        let json = a.finish();
        assert!(json.chunks().len() > 2, "{}", json.chunks().len());
        assert_eq!(
            json.len(),
            json.chunks().iter().map(Vec::len).sum::<usize>()
        );
        let before = serde_json::to_value(&symbols).unwrap().to_string();
        assert_eq!(text(json), before);
    }

    #[test]
    fn tokens_are_written_as_tower_lsp_server_wrote_them() {
        let data: Vec<SemanticToken> = (0..1000u32)
            .map(|i| SemanticToken {
                delta_line: i % 3,
                delta_start: i * 7,
                length: u32::MAX - i,
                token_type: i % 11,
                token_modifiers_bitset: 0,
            })
            .collect();
        for data in [&data[..], &[]] {
            let tokens = tower_lsp_server::ls_types::SemanticTokens {
                result_id: Some("12".into()),
                data: data.to_vec(),
            };
            let before = serde_json::to_value(&tokens).unwrap().to_string();
            assert_eq!(text(semantic_tokens(data, "12").unwrap()), before);
        }
    }
}
