//! The syntax of one document version, for the editor features: its text, line index and
//! top-level pieces (`kumoc_lang::incremental`), made from the last parsed version by
//! re-parsing only what changed in between. A piece's spans are relative to its start,
//! so an edit never rewrites the rest of the tree: the features get each statement with
//! its base offset.

use kumoc_compiler::schema;
use kumoc_lang::Piece;
use kumoc_lang::incremental::Pieces;

use crate::features::target::{self, Target};
use crate::rope::Text;
use crate::text::Lines;
use crate::workspace::Doc;

pub struct Syntax {
    pub text: Text,
    pub version: i32,
    pub pieces: Pieces,
}

/// How many bytes a re-parse on the request path may parse again (an edit inside one
/// statement parses that statement; more goes to the blocking pool).
pub const INLINE_LIMIT: usize = 64 * 1024;

impl Syntax {
    pub fn parse(doc: &Doc) -> Self {
        Syntax {
            text: doc.text.clone(),
            version: doc.version,
            pieces: Pieces::parse(doc.text.flat()),
        }
    }

    /// The syntax of `doc`, from the syntax of an earlier (or any) version of it: from
    /// the edit between the two when `doc` was made from `base`'s text by ranged changes
    /// (only the chunks around it are read), else from what differs between the texts.
    pub fn reparse(base: &Syntax, doc: &Doc) -> Self {
        let pieces = if base.text.same(&doc.text) {
            base.pieces.clone()
        } else {
            match doc.text.edit_of(base.text.id()) {
                Some(edits) => base
                    .pieces
                    .reparse_edits(edits, &doc.text, usize::MAX)
                    .unwrap_or_default(),
                None => base.pieces.reparse(base.text.flat(), doc.text.flat()),
            }
        };
        Syntax {
            text: doc.text.clone(),
            version: doc.version,
            pieces,
        }
    }

    /// [`Syntax::reparse`] when `doc` is `base` edited and the edit re-parses at most
    /// [`INLINE_LIMIT`] bytes (cheap enough to do where the edit arrives).
    pub fn reparse_small(base: &Syntax, doc: &Doc) -> Option<Self> {
        let edits = doc.text.edit_of(base.text.id())?;
        let pieces = base.pieces.reparse_edits(edits, &doc.text, INLINE_LIMIT)?;
        Some(Syntax {
            text: doc.text.clone(),
            version: doc.version,
            pieces,
        })
    }

    /// The text in one piece with its line index (made for this version at the first
    /// call: the completion path does without, see `rope.rs`).
    pub fn lines(&self) -> Lines<'_> {
        Lines::of(self.text.flat(), self.text.index())
    }

    /// The pieces that overlap `from..=to`, each with its start.
    pub fn overlapping(&self, from: u32, to: u32) -> impl Iterator<Item = (u32, &Piece)> {
        self.pieces
            .overlapping(from, to)
            .filter_map(|i| self.pieces.get(i))
    }

    /// What is at `offset`, and the base offset of the statement it is in (the target's
    /// spans are relative to it). Like a walk over the whole file: the first top-level
    /// statement that claims the offset decides; only the statement of the piece that
    /// holds the offset and the one before it (which may end exactly there) can.
    pub fn target_at(&self, offset: u32) -> (Target<'_>, u32) {
        let i = self.pieces.index_at(offset);
        for j in [i.checked_sub(1), Some(i)].into_iter().flatten() {
            let Some((base, piece)) = self.pieces.get(j) else {
                continue;
            };
            let Some(stmt) = &piece.stmt else { continue };
            if offset < base {
                continue;
            }
            if let Some(t) = target::claim(stmt, offset - base) {
                return (t, base);
            }
        }
        (Target::Body(&schema::ROOT), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a target is, with absolute spans, for comparing.
    fn describe(t: &Target<'_>, base: u32) -> String {
        match t {
            Target::Keyword(s) => format!("keyword {}", s.keyword),
            Target::Key(a, s) => format!(
                "key {} in {} at {}",
                a.key.name,
                s.keyword,
                a.span.start + base
            ),
            Target::Value(a, s) => {
                format!(
                    "value of {} in {} at {}",
                    a.key.name,
                    s.keyword,
                    a.value.span.start + base
                )
            }
            Target::Label(b, s) => format!("label of {} at {}", s.keyword, b.span.start + base),
            Target::Body(s) => format!("body of {}", s.keyword),
        }
    }

    /// At every offset, the pieces give the target a walk over the whole file gives.
    #[test]
    fn targets_match_a_whole_file_walk() {
        let texts = [
            "a {}b = 1\nc = 2",
            "pool p {\n  source s {}\n}queue default {\n  egress_pool = p\n}\n",
            "shaping \"x\" from provider.google {\n  max_message_rate = 10/s\n}\nx y\n",
            "deployment \"d\" {\n  namespace = \"n\"\n",
            include_str!("../../examples/example-com/deployment.kumo"),
        ];
        for text in texts {
            let doc = Doc::new(text.to_string(), 1);
            let syntax = Syntax::parse(&doc);
            let parse = kumoc_lang::parse(text);
            for offset in 0..=u32::try_from(text.len()).unwrap_or(0) {
                let whole = parse
                    .file
                    .items
                    .iter()
                    .find_map(|s| target::claim(s, offset))
                    .unwrap_or(Target::Body(&schema::ROOT));
                let (piece, base) = syntax.target_at(offset);
                assert_eq!(
                    describe(&piece, base),
                    describe(&whole, 0),
                    "offset {offset} of {text:?}"
                );
            }
        }
    }
}
