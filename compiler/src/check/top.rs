//! [`check_file`] in two halves, for a caller that keeps checked statements across edits
//! (the language server's session, `crate::session`): [`check_stmt`] checks one top-level
//! statement alone, and [`top_level_duplicates`] finds the duplicates among the checked
//! top-level blocks of a file. `check_stmt` of each statement in order, then
//! `top_level_duplicates` of the blocks, gives what `check_file` gives (the same blocks in
//! the same order, the same findings; `tests/it/session.rs` compares them on random
//! edits). [`HBlock::shift`] moves a checked statement with its text.
//!
//! One top-level statement's checks read nothing outside it: the top level has no fields
//! (so no value is typed there, and no "did you mean" looks at the other statements) and
//! the junk after a value is always in the value's block. The unit test below keeps the
//! first true.

use std::borrow::Borrow;
use std::collections::hash_map::Entry;

use super::*;

/// Check one top-level statement of file `file` (`text`: the file's text): its checked
/// block (`None` for an attribute, junk, or an unknown or refused block) and its
/// findings, in `diags`, except a duplicate of an earlier top-level block (that is
/// [`top_level_duplicates`]'). Depends only on the statement, `file` and `release`.
pub fn check_stmt(
    file: FileId,
    text: &str,
    stmt: &Stmt,
    release: Option<&KumoVersion>,
    diags: &mut Vec<Diagnostic>,
) -> Option<HBlock> {
    let mut cx = Cx::new(file, text, release, diags);
    match stmt {
        // What `body` does with a block alone in its body (no sibling to repeat), without
        // its vectors.
        Stmt::Block(b) => cx.block(&crate::schema::ROOT, b),
        // The top level has no fields: an attribute there is reported and dropped.
        Stmt::Attr(_) | Stmt::Error(_) => cx
            .body(&crate::schema::ROOT, std::slice::from_ref(stmt))
            .1
            .pop(),
    }
}

/// Drop from `chunks` (a file's checked top-level blocks, in order, in one vector or in
/// several: the front end keeps a large file's in chunks that are never copied into one)
/// each one that repeats an earlier one, with its finding in `diags`, as [`check_file`]
/// does. The index is small: a 32-bit hash of each key to the first block with it (8 bytes
/// a block, where the keys themselves took 40: 2.6 MB at 10,000 domains, at a build's
/// peak), the keys compared on a hit; keys whose hashes collide go to an index of the keys
/// themselves.
pub fn top_level_duplicates<B: Borrow<HBlock>>(chunks: &mut [Vec<B>], diags: &mut Vec<Diagnostic>) {
    use std::hash::{Hash, Hasher};

    let n: usize = chunks.iter().map(Vec::len).sum();
    // Where each chunk starts, to find block `i` by its position in the file.
    let starts: Vec<usize> = chunks
        .iter()
        .scan(0, |at, c| {
            let start = *at;
            *at += c.len();
            Some(start)
        })
        .collect();
    let get = |i: usize| -> Option<&HBlock> {
        let k = starts.partition_point(|&s| s <= i).checked_sub(1)?;
        Some(chunks.get(k)?.get(i - starts.get(k)?)?.borrow())
    };
    let mut first: HashMap<u32, u32> = HashMap::default();
    first.reserve(n);
    let mut collided: HashMap<(&'static str, Option<&str>), usize> = HashMap::default();
    let mut repeated: Vec<usize> = Vec::new();
    for (i, h) in chunks.iter().flatten().enumerate() {
        let h: &HBlock = h.borrow();
        if !indexed(h) {
            continue;
        }
        let key = h.key();
        let mut hasher = rustc_hash::FxHasher::default();
        key.hash(&mut hasher);
        // The high half: the multiply leaves the low bits of a short key poorly mixed.
        let hash = (hasher.finish() >> 32) as u32;
        // (A file's blocks are fewer than its bytes, whose offsets are `u32`s.)
        let Ok(at) = u32::try_from(i) else {
            continue;
        };
        let prev = match first.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(at);
                None
            }
            Entry::Occupied(e) => match get(*e.get() as usize) {
                Some(p) if p.key() == key => Some(p),
                _ => match collided.entry(key) {
                    Entry::Vacant(e) => {
                        e.insert(i);
                        None
                    }
                    Entry::Occupied(e) => get(*e.get()),
                },
            },
        };
        if let Some(p) = prev {
            diags.push(duplicate_block(h, p.header_loc()));
            repeated.push(i);
        }
    }
    drop(first);
    if repeated.is_empty() {
        return;
    }
    let mut i = 0;
    for c in chunks.iter_mut() {
        c.retain(|_| {
            let keep = repeated.binary_search(&i).is_err();
            i += 1;
            keep
        });
    }
}

impl HBlock {
    /// Move every span and location of the block (its attributes, values, children) by
    /// `by` bytes: the checked statement of a text that moved by `by`.
    pub fn shift(&mut self, by: i64) {
        shift_span(&mut self.span, by);
        shift_span(&mut self.label_span, by);
        for a in &mut self.attrs {
            shift_span(&mut a.key_span, by);
            shift_span(&mut a.value_span, by);
            if let Some(v) = &mut a.value {
                shift_typed(v, by);
            }
        }
        for b in &mut self.blocks {
            b.shift(by);
        }
        if let Some((_, loc)) = self.from.as_deref_mut() {
            shift_span(&mut loc.span, by);
        }
        for loc in &mut self.overridden_at {
            shift_span(&mut loc.span, by);
        }
    }
}

fn shift_typed(v: &mut TypedAt, by: i64) {
    shift_span(&mut v.loc.span, by);
    match &mut v.value {
        Typed::List(items) => items.iter_mut().for_each(|i| shift_typed(i, by)),
        Typed::Secret(s) => {
            shift_span(&mut s.name_loc.span, by);
            if let Some((_, loc)) = &mut s.key {
                shift_span(&mut loc.span, by);
            }
        }
        Typed::Action(crate::value::Action::SetConfig { value, .. }) => shift_typed(value, by),
        Typed::Str(_)
        | Typed::Bool(_)
        | Typed::Int(_)
        | Typed::Duration(_)
        | Typed::Rate(_)
        | Typed::Limit(_)
        | Typed::Size(_)
        | Typed::Cpu(_)
        | Typed::Percent(_)
        | Typed::Ip(_)
        | Typed::Cidr(_)
        | Typed::HostPort(_)
        | Typed::Domain(_)
        | Typed::Url(_)
        | Typed::K8sName(_)
        | Typed::HttpPath(_)
        | Typed::Enum(_)
        | Typed::Ref(..)
        | Typed::Version(_)
        | Typed::Regex(_)
        | Typed::Action(crate::value::Action::Simple(_))
        | Typed::Trigger(_)
        | Typed::Match(_) => {}
    }
}

fn shift_span(span: &mut Span, by: i64) {
    kumoc_lang::incremental::shift(span, by);
}

#[cfg(test)]
mod tests {
    /// What makes a top-level statement's checks its own (see the module's documentation).
    #[test]
    fn the_top_level_has_no_fields() {
        let root = &crate::schema::ROOT;
        assert_eq!(root.all_fields().count(), 0);
        assert!(root.map_of.is_none());
    }
}
