//! Phase B, layers: the stdlib presets, the user's files, then the selected `env` overlay,
//! later winning. Merging follows KumoMTA's own rule for shaping files: a block with the same
//! keyword and name merges (attributes replace, nested blocks merge, repeatable blocks such
//! as `automation` append, `replace_base = true` starts the block afresh). Inside one layer,
//! the same block twice is a duplicate definition.

use std::borrow::Borrow;
use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap as HashMap;

use crate::check::{HBlock, duplicate_block};
use crate::diagnostic::Diagnostic;
use crate::schema::Multiplicity;
use crate::value::Typed;

/// A block of a layer: owned, or borrowed from the caller (see [`super::Input`]) and
/// copied only when another block merges into it or it merges into another.
pub(crate) trait Layer: Borrow<HBlock> {
    /// Merge `ob` into this block (see [`merge_into`]).
    fn merge_from(&mut self, ob: HBlock);
    fn into_owned(self) -> HBlock;
}

impl Layer for HBlock {
    fn merge_from(&mut self, ob: HBlock) {
        merge_into(self, ob);
    }
    fn into_owned(self) -> HBlock {
        self
    }
}

impl Layer for super::Lent<'_> {
    fn merge_from(&mut self, ob: HBlock) {
        match self {
            super::Lent::Merged(b) => merge_into(b, ob),
            super::Lent::Top(k) => {
                let mut copy = Box::new(k.block.clone());
                merge_into(&mut copy, ob);
                *self = super::Lent::Merged(copy);
            }
            super::Lent::Kept(b) => {
                let mut copy = Box::new((*b).clone());
                merge_into(&mut copy, ob);
                *self = super::Lent::Merged(copy);
            }
        }
    }
    fn into_owned(self) -> HBlock {
        match self {
            super::Lent::Top(k) => k.block.clone(),
            super::Lent::Kept(b) => b.clone(),
            super::Lent::Merged(b) => *b,
        }
    }
}

/// Merge `overlay` blocks into `base`.
pub(super) fn merge(base: &mut Vec<HBlock>, overlay: Vec<HBlock>) {
    merge_with(base, overlay, true);
}

/// [`merge`] an overlay that [`dedupe`] returned: no two of its blocks merge with each
/// other, so only the base's keys are indexed (the overlay's are hashed once, to look them
/// up, not again to be added).
pub(super) fn merge_deduped<B: Layer>(base: &mut Vec<B>, overlay: Vec<B>) {
    merge_with(base, overlay, false);
}

/// [`merge_deduped`] that leaves the overlay's blocks where they are: those that merge into
/// a block of `base` are taken out of `overlay` (its blocks in chunks, in order) and
/// merged, the rest stay in their chunks, in order (the merged tree is `base` then what is
/// left of `overlay`). The user's blocks merge
/// into the stdlib this way: appending tens of thousands of blocks to the stdlib's vector
/// copied them all into a new one (and the partition into the blocks lowered apart and the
/// rest, a third), each of a block's 136 bytes while the typed tree is whole.
pub(super) fn merge_in_place<B: Layer>(base: &mut [B], overlay: &mut [Vec<B>]) {
    // Which overlay block (by position) merges into which base block.
    let targets: Vec<(usize, usize)> = {
        let mut index: HashMap<(&'static str, Option<&str>), usize> = HashMap::default();
        index.reserve(base.len());
        // The keywords of the base's indexed blocks (see `merge_with`).
        let keywords = index_base(base, &mut index);
        overlay
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(j, ob)| {
                let ob: &HBlock = ob.borrow();
                if ob.schema.multiplicity == Multiplicity::Many
                    || unnamed(ob)
                    || !keywords.contains(&ob.schema.keyword)
                {
                    return None;
                }
                index.get(&ob.key()).map(|&i| (j, i))
            })
            .collect()
    };
    if targets.is_empty() {
        return;
    }
    let mut next = targets.iter().map(|&(j, _)| j).peekable();
    let mut j = 0;
    let mut taken: Vec<B> = Vec::with_capacity(targets.len());
    for chunk in overlay {
        taken.extend(chunk.extract_if(.., |_| {
            let hit = next.next_if_eq(&j).is_some();
            j += 1;
            hit
        }));
    }
    for (&(_, i), ob) in targets.iter().zip(taken) {
        if let Some(b) = base.get_mut(i) {
            b.merge_from(ob.into_owned());
        }
    }
}

/// Index the base's blocks an overlay block may merge into (of a kind that is not repeated,
/// and named) by key, the first of each; their keywords.
fn index_base<'a, B: Layer>(
    base: &'a [B],
    index: &mut HashMap<(&'static str, Option<&'a str>), usize>,
) -> Vec<&'static str> {
    let mut keywords: Vec<&'static str> = Vec::new();
    for (i, b) in base.iter().enumerate() {
        let b: &HBlock = b.borrow();
        if b.schema.multiplicity != Multiplicity::Many && !unnamed(b) {
            index.entry(b.key()).or_insert(i);
            if !keywords.contains(&b.schema.keyword) {
                keywords.push(b.schema.keyword);
            }
        }
    }
    keywords
}

/// `index_overlay`: whether an overlay block may merge into an earlier overlay block.
fn merge_with<B: Layer>(base: &mut Vec<B>, overlay: Vec<B>, index_overlay: bool) {
    // First where each overlay block goes, from an index of the keys (borrowed, so merging
    // N blocks costs O(N) and copies no name): `Some(i)` merges it into the block at `i`,
    // `None` appends it.
    let targets: Vec<Option<usize>> = {
        let mut index: HashMap<(&'static str, Option<&str>), usize> = HashMap::default();
        index.reserve(base.len() + if index_overlay { overlay.len() } else { 0 });
        // The keywords of the base's indexed blocks (a handful: the stdlib's presets): an
        // overlay block of another keyword merges into none of them, and its key is not
        // hashed (30,000 user blocks into the stdlib were 6 M instructions at 10,000
        // domains).
        let keywords = index_base(base, &mut index);
        let mut next = base.len();
        overlay
            .iter()
            .map(|ob| {
                let ob: &HBlock = ob.borrow();
                if ob.schema.multiplicity != Multiplicity::Many && !unnamed(ob) {
                    if !index_overlay {
                        if !keywords.contains(&ob.schema.keyword) {
                            next += 1;
                            return None;
                        }
                        if let Some(&i) = index.get(&ob.key()) {
                            return Some(i);
                        }
                        next += 1;
                        return None;
                    }
                    // One hash of the key, whether it is found or added.
                    match index.entry(ob.key()) {
                        Entry::Occupied(e) => return Some(*e.get()),
                        Entry::Vacant(e) => {
                            e.insert(next);
                        }
                    }
                }
                next += 1;
                None
            })
            .collect()
    };
    base.reserve(targets.iter().filter(|t| t.is_none()).count());
    for (ob, target) in overlay.into_iter().zip(targets) {
        match target.and_then(|i| base.get_mut(i)) {
            Some(b) => b.merge_from(ob.into_owned()),
            None => base.push(ob),
        }
    }
}

fn merge_into(b: &mut HBlock, ob: HBlock) {
    // As written, else its default; a block without the field never replaces.
    let replace = ob.schema.field("replace_base").is_some_and(|f| {
        ob.read("replace_base", Typed::as_bool)
            .or_else(|| Typed::applied_default(f)?.as_bool())
            == Some(true)
    });
    if replace {
        b.attrs.clear();
        b.blocks.clear();
        b.from = None;
    }
    b.overridden_at.push(ob.header_loc());
    let mut index: HashMap<String, usize> = b
        .attrs
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name().to_string(), i))
        .collect();
    for a in ob.attrs {
        match index.get(a.name()).and_then(|&i| b.attrs.get_mut(i)) {
            Some(slot) => *slot = a,
            None => {
                index.insert(a.name().to_string(), b.attrs.len());
                b.attrs.push(a);
            }
        }
    }
    if ob.from.is_some() {
        b.from = ob.from;
    }
    merge(&mut b.blocks, ob.blocks);
}

/// A keyed block whose name was refused (and reported): it merges with nothing and
/// duplicates nothing.
fn unnamed(b: &HBlock) -> bool {
    b.schema.multiplicity == Multiplicity::Keyed && b.label.is_none()
}

/// Report blocks defined twice within one layer (possibly in two files); keep the first.
pub(super) fn dedupe<B: Borrow<HBlock>>(blocks: Vec<B>, diags: &mut Vec<Diagnostic>) -> Vec<B> {
    // Which to keep, from an index of the keys (borrowed: no name is copied).
    let keep: Vec<bool> = {
        let mut index: HashMap<(&'static str, Option<&str>), usize> = HashMap::default();
        index.reserve(blocks.len());
        blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let b: &HBlock = b.borrow();
                if b.schema.multiplicity == Multiplicity::Many || unnamed(b) {
                    return true;
                }
                // One hash of the key, whether it is found or added.
                match index.entry(b.key()) {
                    Entry::Occupied(e) => {
                        if let Some(first) = blocks.get(*e.get()) {
                            diags.push(duplicate_block(b, first.borrow().header_loc()));
                        }
                        false
                    }
                    Entry::Vacant(e) => {
                        e.insert(i);
                        true
                    }
                }
            })
            .collect()
    };
    blocks
        .into_iter()
        .zip(keep)
        .filter_map(|(b, keep)| keep.then_some(b))
        .collect()
}
