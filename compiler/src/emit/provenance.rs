//! Where a value came from, for the comments in emitted files: its *place in the
//! deployment*, never a line number.
//!
//! A place is the file, relative to the deployment's directory
//! ([`SourceFile::rel`](crate::source::SourceFile::rel)), and the path of blocks down to
//! the field, each block as its keyword and label:
//!
//! ```text
//! mail.kumo: queue default > max_age
//! mail.kumo: shaping "gmail.com" > max_message_rate
//! production.kumo: env production > shaping default > enable_tls
//! <stdlib>: provider "google" > connection_limit
//! <stdlib>: shaping default > automation[2]
//! ```
//!
//! Labels are written bare when they are plain names (`[A-Za-z0-9_-]+`), quoted otherwise,
//! whichever way the source spelled them; a block that repeats among its siblings (an
//! `automation` rule) gets its ordinal from the second one on. So a place depends only on
//! the deployment's structure: adding a comment or a blank line, or running `kumoc fmt`,
//! changes no emitted byte, and a value set in an `env` overlay says so.
//!
//! Places are looked up in [`Places`], an index of every statement of every file built from
//! the syntax trees (which a caller may free afterwards, as `kumoc build` does), with the
//! name each file has in the output: all the emitters need to know about the sources.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::hash::Hasher as _;
use std::sync::Arc;

use kumoc_lang::ast::{Block, Stmt};
use kumoc_lang::{Parse, SharedText};
use rustc_hash::FxHasher;

use super::kumomta::shard::json_len;
use super::kumomta::text::Text;
use crate::source::{Loc, Sources};

/// One statement, in 20 bytes: its span, its enclosing block (an index, `NONE` at the top)
/// and where the text of its segment of a place is (`queue default`, `max_age`).
///
/// A segment is a block's keyword and label (`queue default`), or an attribute's key, and
/// its ordinal among its siblings from the second of its kind on (`automation[2]`). The
/// keyword and the label or key are nearly always the file's text as the source spelled
/// them (the parser's names share the file's text, see `kumoc_lang::ast::Name`), so the
/// node holds where they are, not a copy: the keyword at `start`, `meta`'s first byte
/// long, and the label or key (as a place writes it: bare, or with the quotes around it in
/// the text) at `name`. Any other (an escaped label, a quoted label the place writes with
/// other escapes) is [`OWNED`]: its text is kept in [`FileNodes::owned`].
#[derive(Clone, Copy)]
struct Node {
    start: u32,
    end: u32,
    parent: u32,
    /// Where the label or key is in the file's text; [`OWNED`]: its index in
    /// [`FileNodes::owned`].
    name: u32,
    /// The keyword's length (a byte), the label's or key's length (19 bits) and the flags
    /// ([`JOINED`], [`QUOTED`], [`OWNED`], [`ORDINAL`], [`BLOCK`]).
    meta: u32,
}

const NONE: u32 = u32::MAX;

/// The longest keyword written from the text.
const KW_MAX: u32 = 0xff;
/// Where the label's or key's length starts in [`Node::meta`], and the longest one written
/// from the text.
const NAME_SHIFT: u32 = 8;
const NAME_MAX: u32 = (1 << 19) - 1;
/// The keyword, one space and the label are one slice of the text, written at once.
const JOINED: u32 = 1 << 27;
/// The label or key is written with its quotes (the two bytes JSON adds to the segment).
const QUOTED: u32 = 1 << 28;
/// The segment's text is kept ([`FileNodes::owned`]).
const OWNED: u32 = 1 << 29;
/// The statement has an ordinal, in [`FileNodes::ordinals`] (the second of its kind on).
const ORDINAL: u32 = 1 << 30;
/// The statement is a block (a block and an attribute are never of a kind).
const BLOCK: u32 = 1 << 31;

/// A block with at most this many statements finds its repeated siblings by comparing each
/// statement with those before it, a larger one (the top level of a file) in a table.
const FEW: usize = 16;

/// The text of a file is cut in buckets of this many bytes for [`FileNodes::firsts`]: a
/// statement is 28 bytes on average in `bench/gen.py`'s deployment, so a place is found
/// within about four nodes of its bucket's first, for 4 bytes of index a bucket.
const BUCKET_BITS: u32 = 7;

/// The nodes of a file are kept in chunks of this many (80 KiB): they grow without copying
/// what was indexed and without room to spare beyond the last chunk.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The statements of one file, in source order (pre-order, so starts are sorted), and the
/// file's text, which their segments are read from.
struct FileNodes {
    text: SharedText,
    /// [`CHUNK`] nodes each, but the last.
    chunks: Vec<Vec<Node>>,
    len: u32,
    /// The segments not in the text ([`OWNED`]).
    owned: Vec<Owned>,
    /// The ordinals from 2 on ([`ORDINAL`]), by node, sorted.
    ordinals: Vec<(u32, u32)>,
    /// By [`BUCKET`] bytes of the text: how many nodes start before the bucket (built once
    /// the file is indexed, [`FileNodes::index_starts`]), so a place is found in a few
    /// steps from its bucket's first node.
    firsts: Vec<u32>,
}

/// A segment not written from the file's text: its keyword and its label or key as a
/// place writes them, and what JSON adds to them.
struct Owned {
    keyword: Box<str>,
    name: Box<str>,
    extra: u32,
}

impl FileNodes {
    fn new(text: SharedText) -> Self {
        FileNodes {
            text,
            chunks: Vec::new(),
            len: 0,
            owned: Vec::new(),
            ordinals: Vec::new(),
            firsts: Vec::new(),
        }
    }

    #[inline]
    fn get(&self, i: u32) -> Option<&Node> {
        self.chunks
            .get((i >> CHUNK_BITS) as usize)?
            .get(i as usize & (CHUNK - 1))
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Node> {
        self.chunks
            .get_mut((i >> CHUNK_BITS) as usize)?
            .get_mut(i as usize & (CHUNK - 1))
    }

    /// Add `node`; its index.
    #[inline]
    fn push(&mut self, node: Node) -> u32 {
        let i = self.len;
        match self.chunks.last_mut() {
            // The first chunk grows by doubling up to `CHUNK` (a small file stays small),
            // the others are allocated whole.
            Some(chunk) if chunk.len() < CHUNK => chunk.push(node),
            _ => {
                let mut chunk = Vec::with_capacity(if self.chunks.is_empty() { 0 } else { CHUNK });
                chunk.push(node);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
        i
    }

    /// The file is indexed: no room to spare.
    fn shrink(&mut self) {
        if let Some(last) = self.chunks.last_mut() {
            last.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
        self.owned.shrink_to_fit();
        self.ordinals.shrink_to_fit();
    }

    /// The file is indexed: [`FileNodes::firsts`], one pass over the nodes (their starts
    /// are sorted).
    fn index_starts(&mut self) {
        let buckets = (self.text.len() >> BUCKET_BITS) + 2;
        let mut firsts = Vec::with_capacity(buckets);
        let mut i = 0u32;
        for chunk in &self.chunks {
            for n in chunk {
                // Node `i` is the first to start in the buckets up to its own not yet met.
                let b = (n.start >> BUCKET_BITS) as usize;
                if firsts.len() <= b {
                    firsts.resize(b + 1, i);
                }
                i += 1;
            }
        }
        firsts.resize(buckets.max(firsts.len() + 1), i);
        self.firsts = firsts;
    }

    /// How many nodes start at or before `at` (the index after the last of them): from the
    /// first node of `at`'s bucket ([`FileNodes::firsts`]), the few nodes in it that start
    /// by `at`. The emitters look places up in another order than the source's (tables
    /// sorted by name), so a search near the last place found often missed.
    #[inline]
    fn count_starting_by(&self, at: u32) -> u32 {
        let b = (at >> BUCKET_BITS) as usize;
        let (mut k, end) = match (self.firsts.get(b), self.firsts.get(b + 1)) {
            (Some(&k), Some(&end)) => (k, end),
            // Past the text, or not indexed: every node, or a search of all of them.
            (Some(_), None) => (self.len, self.len),
            (None, _) if self.firsts.is_empty() => (0, self.len),
            (None, _) => (self.len, self.len),
        };
        // The bucket's nodes are nearly always in one chunk: searched there as a slice.
        let (c, from) = ((k >> CHUNK_BITS) as usize, k as usize & (CHUNK - 1));
        let run = self
            .chunks
            .get(c)
            .and_then(|chunk| chunk.get(from..from + (end - k) as usize));
        if let Some(run) = run {
            return k + u32::try_from(run.partition_point(|n| n.start <= at)).unwrap_or(0);
        }
        while k < end && self.get(k).is_some_and(|n| n.start <= at) {
            k += 1;
        }
        k
    }

    /// The node `i`'s segment as its keyword and its label or key (either may be empty),
    /// and what JSON adds to them.
    #[inline]
    fn pieces(&self, n: &Node) -> (&str, &str, u32) {
        if n.meta & OWNED == 0 {
            let kw = (n.meta & KW_MAX) as usize;
            let len = ((n.meta >> NAME_SHIFT) & NAME_MAX) as usize;
            let start = n.start as usize;
            let name = n.name as usize;
            (
                self.text.get(start..start + kw).unwrap_or(""),
                self.text.get(name..name + len).unwrap_or(""),
                if n.meta & QUOTED == 0 { 0 } else { 2 },
            )
        } else {
            match self.owned.get(n.name as usize) {
                Some(o) => (&o.keyword, &o.name, o.extra),
                None => ("", "", 0),
            }
        }
    }

    /// The ordinal of node `n` (1 for the first of its kind).
    fn ordinal(&self, i: u32, n: &Node) -> u32 {
        if n.meta & ORDINAL == 0 {
            return 1;
        }
        match self.ordinals.binary_search_by_key(&i, |o| o.0) {
            Ok(k) => self.ordinals.get(k).map_or(1, |o| o.1),
            Err(_) => 1,
        }
    }

    /// Node `i` is the `count`th of its kind among its siblings.
    fn set_ordinal(&mut self, i: u32, count: u32) {
        if count > 1 {
            if let Some(n) = self.get_mut(i) {
                n.meta |= ORDINAL;
                self.ordinals.push((i, count));
            }
        }
    }

    /// Whether the nodes `a` and `b` are of a kind among siblings: both blocks of one
    /// keyword and label, or attributes of one key.
    fn same_kind(&self, a: &Node, b: &Node) -> bool {
        if (a.meta ^ b.meta) & BLOCK != 0 {
            return false;
        }
        // Both written from the text: different lengths or quoting, different segments.
        if (a.meta | b.meta) & OWNED == 0
            && (a.meta ^ b.meta) & (KW_MAX | NAME_MAX << NAME_SHIFT | QUOTED) != 0
        {
            return false;
        }
        let (ak, an, _) = self.pieces(a);
        let (bk, bn, _) = self.pieces(b);
        ak == bk && an == bn
    }

    /// The hash of node `n`'s kind (see [`FileNodes::same_kind`]).
    fn kind_hash(&self, n: &Node) -> u32 {
        let (kw, name, _) = self.pieces(n);
        let mut h = FxHasher::default();
        h.write_u8(u8::from(n.meta & BLOCK != 0));
        h.write(kw.as_bytes());
        h.write_u8(0xff);
        h.write(name.as_bytes());
        // The high half: FxHasher's last step multiplies, which mixes upwards.
        (h.finish() >> 32) as u32
    }

    /// Write node `n`'s segment (`queue default`, `automation[2]`) into `out`; returns
    /// what JSON adds to it.
    // Always inlined: called once or twice a value, from two places.
    #[inline(always)]
    fn push_segment(&self, i: u32, n: &Node, out: &mut String) -> usize {
        let kw = n.meta & KW_MAX;
        let len = (n.meta >> NAME_SHIFT) & NAME_MAX;
        let extra = if n.meta & OWNED == 0 && (n.meta & JOINED != 0 || kw == 0 || len == 0) {
            // One slice of the text: the keyword and label joined, the keyword or the key.
            let (start, name) = (n.start as usize, n.name as usize);
            let (from, to) = if kw == 0 {
                (name, name + len as usize)
            } else if len == 0 {
                (start, start + kw as usize)
            } else {
                (start, name + len as usize)
            };
            out.push_str(self.text.get(from..to).unwrap_or(""));
            if n.meta & QUOTED == 0 { 0 } else { 2 }
        } else {
            let (kw, name, extra) = self.pieces(n);
            out.push_str(kw);
            if !kw.is_empty() && !name.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
            extra
        };
        if n.meta & ORDINAL != 0 {
            let _ = write!(out, "[{}]", self.ordinal(i, n));
        }
        extra as usize
    }
}

/// Where `name` is in `text`, when it is a slice of it (the parser's names share the
/// file's text): compared by address, so nothing is read.
fn offset_in(text: &str, name: &str) -> Option<usize> {
    let off = name.as_ptr().addr().wrapping_sub(text.as_ptr().addr());
    let end = off.checked_add(name.len())?;
    (end <= text.len()).then_some(off)
}

/// Where a label or key is in `text` as a place writes it (bare when it is a plain name,
/// with its quotes when it is written as it is between them) and whether it is quoted;
/// `None` when it is written otherwise or not a slice of `text`.
fn name_in(text: &str, name: &str) -> Option<(u32, u32, bool)> {
    let class = name
        .bytes()
        .fold(0u8, |c, b| c | DEBUG_CLASS[usize::from(b)]);
    let off = offset_in(text, name)?;
    let len = name.len();
    let (off, len, quoted) = if class & NOT_BARE == 0 && len > 0 {
        (off, len, false)
    } else if class & (NOT_PLAIN | JSON_LONG) == 0 {
        // `{:?}` writes it between quotes as it is: the quotes around it in the text.
        let before = off.checked_sub(1)?;
        let bytes = text.as_bytes();
        if bytes.get(before) != Some(&b'"') || bytes.get(off + len) != Some(&b'"') {
            return None;
        }
        (before, len + 2, true)
    } else {
        return None;
    };
    let len = u32::try_from(len).ok().filter(|&l| l <= NAME_MAX)?;
    Some((u32::try_from(off).ok()?, len, quoted))
}

/// The statements of every file, for [`Provenance::at`]: 20 bytes per statement (the
/// segments are read from the files' text); and each file's name in the output.
#[derive(Default)]
pub struct Places {
    /// By file id.
    files: Vec<FileNodes>,
    /// By file id: `<stdlib>`, or the name relative to the deployment's directory
    /// ([`SourceFile::rel`](crate::source::SourceFile::rel)), and what JSON adds to it.
    origins: Vec<String>,
    origins_extra: Vec<usize>,
    /// The user's files relative to the deployment's directory, sorted.
    user_files: Vec<String>,
    /// Whether a file's name holds a line end (the only part of a place that can: labels
    /// and keys are quoted with escapes).
    line_end_in_origins: bool,
}

impl Places {
    /// The origin of the next file, by file id: `<stdlib>`, or its name relative to the
    /// deployment's directory (also listed in the user's files).
    fn add_origin(&mut self, f: &crate::source::SourceFile) {
        self.origins.push(if f.is_stdlib {
            "<stdlib>".to_string()
        } else {
            self.user_files.push(f.rel.clone());
            f.rel.clone()
        });
    }

    /// Index the files of an analysis from their syntax trees (`parses`, by file id). A file
    /// whose tree is missing (freed) is parsed again, so places are always right.
    pub fn new(sources: &Sources, parses: &[std::sync::Arc<Parse>]) -> Self {
        let mut builder = PlacesBuilder::new(sources);
        for (id, f) in sources.iter() {
            match parses.get(id.0 as usize) {
                Some(p) => p.file.items.iter().for_each(|s| builder.add(s)),
                None => kumoc_lang::parse_shared(&f.text)
                    .file
                    .items
                    .iter()
                    .for_each(|s| builder.add(s)),
            }
            builder.end_file();
        }
        builder.finish()
    }

    /// What is known once every file is indexed.
    fn finish(&mut self) {
        self.origins_extra = self.origins.iter().map(|o| json_extra(o)).collect();
        self.user_files.sort_unstable();
        self.line_end_in_origins = self.origins.iter().any(|o| o.contains(['\n', '\r']));
    }

    /// Every statement's span and place, file by file (for the tests, which compare
    /// indexes built in different ways).
    #[doc(hidden)]
    pub fn every_place(&self) -> Vec<(u32, u32, String)> {
        let mut out = Vec::new();
        for (file, nodes) in (0u32..).zip(&self.files) {
            for i in 0..nodes.len {
                let Some(n) = nodes.get(i) else { continue };
                let mut place = String::new();
                let (extra, _, _) = self.write_path(file, i, &mut place);
                let _ = write!(place, " ({extra})");
                out.push((n.start, n.end, place));
            }
        }
        out
    }

    /// The innermost statement at `loc` (an index into its file's nodes), `NONE` when no
    /// statement holds it.
    fn find(&self, loc: Loc) -> u32 {
        let Some(nodes) = self.files.get(loc.file.0 as usize) else {
            return NONE;
        };
        let at = loc.span.start;
        let mut i = nodes.count_starting_by(at).wrapping_sub(1);
        // The last statement starting at or before `at` may be a nested one that ended
        // before it: climb to the one that holds it.
        while let Some(n) = nodes.get(i) {
            if at < n.end || at == n.start {
                break;
            }
            i = n.parent;
        }
        i
    }

    /// The statement `i`'s enclosing block (`NONE` at the top, or for no statement).
    fn parent(&self, file: u32, i: u32) -> u32 {
        self.files
            .get(file as usize)
            .and_then(|nodes| nodes.get(i))
            .map_or(NONE, |n| n.parent)
    }

    /// Whether every place is printable ASCII (`' '` to `'~'`) and none ends with a blank
    /// (a place is an origin, `: `, and segments joined by ` > `): every origin is, and does
    /// not end with one, and so is every segment, and none is empty. A segment read from the
    /// text is: its keyword is a name, and its label or key is written bare (name bytes) or
    /// between its quotes when they hold only printable ASCII (`name_in`), so only its
    /// length is looked at; a kept ([`OWNED`]) one is read.
    fn plain(&self) -> bool {
        let printable = |s: &str| {
            s.bytes()
                .fold(0u8, |bad, c| bad | u8::from(c.wrapping_sub(0x20) >= 0x5f))
                == 0
        };
        let lengths = KW_MAX | (NAME_MAX << NAME_SHIFT);
        self.origins
            .iter()
            .all(|o| !o.is_empty() && printable(o) && !o.ends_with(' '))
            && self.files.iter().all(|nodes| {
                nodes.owned.iter().all(|o| {
                    let last = if o.name.is_empty() {
                        &o.keyword
                    } else {
                        &o.name
                    };
                    printable(&o.keyword)
                        && printable(&o.name)
                        && !last.is_empty()
                        && !last.ends_with(' ')
                }) && nodes
                    .chunks
                    .iter()
                    .flatten()
                    .fold(true, |ok, n| ok & (n.meta & (OWNED | lengths) != 0))
            })
    }

    /// The block path of the statement `i` of `file` (`queue default > max_age`), written
    /// into `out`; nothing for `NONE`. Returns what JSON adds to it (` > ` is ` \u003e `),
    /// and the length of its last segment and what JSON adds to that.
    fn write_path(&self, file: u32, mut i: u32, out: &mut String) -> (usize, usize, usize) {
        let Some(nodes) = self.files.get(file as usize) else {
            return (0, 0, 0);
        };
        let mut extra = 0;
        // The chain from the innermost statement up (the first 16 in an array, any deeper
        // ones in a vector), written outermost first.
        let mut chain = [NONE; 16];
        let mut len = 0;
        let mut deep = Vec::new();
        while let Some(n) = nodes.get(i) {
            match chain.get_mut(len) {
                Some(slot) => *slot = i,
                None => deep.push(i),
            }
            len += 1;
            i = n.parent;
        }
        let outermost_first = deep
            .iter()
            .rev()
            .chain(chain.iter().take(len.min(chain.len())).rev());
        let (mut seg_len, mut seg_extra) = (0, 0);
        for (k, &i) in outermost_first.enumerate() {
            if k > 0 {
                out.push_str(" > ");
                extra += 5;
            }
            if let Some(n) = nodes.get(i) {
                let at = out.len();
                seg_extra = nodes.push_segment(i, n, out);
                seg_len = out.len() - at;
                extra += seg_extra;
            }
        }
        (extra, seg_len, seg_extra)
    }
}

impl std::fmt::Debug for Places {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("files", &self.files.len())
            .field("nodes", &self.files.iter().map(|n| n.len).sum::<u32>())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// The kinds of the statements of a large block so far (the top level of a file), for
/// their ordinals: an open-addressed table of the last statement of each kind (its index
/// plus one, 0 for an empty slot) and its kind's hash, 8 bytes a slot.
#[derive(Default)]
struct Kinds {
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl Kinds {
    /// Room for `n` kinds.
    fn with_capacity(n: usize) -> Self {
        let mut kinds = Kinds::default();
        kinds.reserve(n);
        kinds
    }

    /// Room for `n` kinds (the slots at most 5/8 full).
    fn reserve(&mut self, n: usize) {
        let want = (n * 8 / 5 + 1).next_power_of_two().max(16);
        if want <= self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); want]);
        for (node, hash) in old {
            if node != 0 {
                self.place(node, hash);
            }
        }
    }

    /// Put `(node, hash)` in the first empty slot from its hash's.
    fn place(&mut self, node: u32, hash: u32) {
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        while let Some(slot) = self.slots.get_mut(s) {
            if slot.0 == 0 {
                *slot = (node, hash);
                return;
            }
            s = (s + 1) & mask;
        }
    }

    /// The last statement before node `i` of `i`'s kind (`NONE`: `i` is the first), and
    /// `i` now the last.
    fn last_of_kind(&mut self, nodes: &FileNodes, i: u32) -> u32 {
        let Some(n) = nodes.get(i) else {
            return NONE;
        };
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.reserve(self.len + 1);
        }
        let hash = nodes.kind_hash(n);
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        while let Some(slot) = self.slots.get_mut(s) {
            if slot.0 == 0 {
                *slot = (i + 1, hash);
                self.len += 1;
                return NONE;
            }
            if slot.1 == hash && nodes.get(slot.0 - 1).is_some_and(|o| nodes.same_kind(o, n)) {
                let last = slot.0 - 1;
                slot.0 = i + 1;
                return last;
            }
            s = (s + 1) & mask;
        }
        NONE
    }
}

/// [`Places`] indexed a top-level statement at a time, for a caller that frees each
/// statement's syntax tree once it is read (`kumoc build`'s front end); [`Places::new`]
/// builds its index with it too.
///
/// A large file may be read in ranges on several threads: [`PlacesBuilder::part`] indexes a
/// later range of the current file apart, and [`PlacesBuilder::append`] adds it, in order,
/// as if its statements had been added here (the ordinals of the repeated top-level
/// statements counted on across the ranges).
pub struct PlacesBuilder {
    places: Places,
    /// The files' text, by file id.
    texts: Vec<SharedText>,
    /// The current file's nodes.
    file: FileNodes,
    /// The kinds of the current file's top-level statements so far.
    top: Kinds,
    /// For a part: its top-level statements' nodes, whose ordinals are counted when it is
    /// appended.
    tops: Option<Vec<u32>>,
    /// The siblings so far of the open blocks of few statements, a run per block.
    siblings: Vec<u32>,
}

impl PlacesBuilder {
    /// Places for the files of `sources`, whose statements are then added file by file.
    pub fn new(sources: &Sources) -> Self {
        let mut places = Places::default();
        let mut texts = Vec::new();
        for (_, f) in sources.iter() {
            places.add_origin(f);
            texts.push(Arc::clone(&f.text));
        }
        let first = texts.first().cloned().unwrap_or_default();
        PlacesBuilder {
            places,
            texts,
            file: FileNodes::new(first),
            top: Kinds::default(),
            tops: None,
            siblings: Vec::new(),
        }
    }

    /// A builder for a later range of the current file's top-level statements, to be
    /// [`PlacesBuilder::append`]ed to this one (or to one that the ranges between were
    /// appended to) once the statements before it are added.
    pub fn part(&self) -> Self {
        PlacesBuilder {
            places: Places::default(),
            texts: Vec::new(),
            file: FileNodes::new(Arc::clone(&self.file.text)),
            top: Kinds::default(),
            tops: Some(Vec::new()),
            siblings: Vec::new(),
        }
    }

    /// Index the next top-level statement of the current file (files in id order).
    pub fn add(&mut self, stmt: &Stmt) {
        let Some(i) = self.push(stmt, NONE) else {
            return;
        };
        match &mut self.tops {
            Some(tops) => tops.push(i),
            None => self.count_top(i),
        }
        self.body(stmt, i);
    }

    /// Node `i` is the current file's next top-level statement: its ordinal.
    fn count_top(&mut self, i: u32) {
        let last = self.top.last_of_kind(&self.file, i);
        if let Some(n) = self.file.get(last) {
            let count = self.file.ordinal(last, n) + 1;
            self.file.set_ordinal(i, count);
        }
    }

    /// Add the node of `stmt` (not an error), in `parent`; its index.
    fn push(&mut self, stmt: &Stmt, parent: u32) -> Option<u32> {
        let text = &*self.file.text;
        let span = stmt.span();
        let (name, meta) = match stmt {
            Stmt::Block(b) => match block_in(text, span.start, b) {
                Some(at) => at,
                None => self.own(b.keyword.name.as_str(), b.label_text(), BLOCK),
            },
            Stmt::Attr(a) => match name_in(text, &a.key.name) {
                Some((off, len, quoted)) => (off, len << NAME_SHIFT | quoted_flag(quoted)),
                None => self.own("", Some(&a.key.name), 0),
            },
            Stmt::Error(_) => return None,
        };
        Some(self.file.push(Node {
            start: span.start,
            end: span.end,
            parent,
            name,
            meta,
        }))
    }

    /// Keep a segment's text: `keyword` and `name` (a label or key, written bare or
    /// quoted); its `(name, meta)`.
    fn own(&mut self, keyword: &str, name: Option<&str>, flags: u32) -> (u32, u32) {
        let mut written = String::new();
        let extra = match name {
            Some(n) => push_name(&mut written, n),
            None => 0,
        };
        let at = u32::try_from(self.file.owned.len()).unwrap_or(NONE);
        self.file.owned.push(Owned {
            keyword: keyword.into(),
            name: written.into(),
            extra: u32::try_from(json_extra(keyword) + extra).unwrap_or(u32::MAX),
        });
        (at, OWNED | flags)
    }

    /// Index the body of `stmt`, node `i`, when it is a block.
    fn body(&mut self, stmt: &Stmt, i: u32) {
        let Stmt::Block(b) = stmt else {
            return;
        };
        let items = &b.body;
        if items.len() <= FEW {
            // A statement's ordinal: how many siblings before it are of its kind.
            let run = self.siblings.len();
            for stmt in items.iter() {
                let Some(me) = self.push(stmt, i) else {
                    continue;
                };
                if let Some(n) = self.file.get(me) {
                    let before = self.siblings.get(run..).unwrap_or(&[]);
                    let alike = before
                        .iter()
                        .filter(|&&s| self.file.get(s).is_some_and(|o| self.file.same_kind(o, n)))
                        .count();
                    let count = u32::try_from(alike).unwrap_or(u32::MAX - 1) + 1;
                    self.file.set_ordinal(me, count);
                }
                self.siblings.push(me);
                self.body(stmt, me);
            }
            self.siblings.truncate(run);
        } else {
            let mut kinds = Kinds::with_capacity(items.len());
            for stmt in items.iter() {
                let Some(me) = self.push(stmt, i) else {
                    continue;
                };
                let last = kinds.last_of_kind(&self.file, me);
                if let Some(n) = self.file.get(last) {
                    let count = self.file.ordinal(last, n) + 1;
                    self.file.set_ordinal(me, count);
                }
                self.body(stmt, me);
            }
        }
    }

    /// Add `part`'s statements (a [`PlacesBuilder::part`] of the range that follows the
    /// statements added so far): the same index as adding them here.
    pub fn append(&mut self, part: PlacesBuilder) {
        let base = self.file.len;
        let owned_base = u32::try_from(self.file.owned.len()).unwrap_or(NONE);
        let PlacesBuilder { file, tops, .. } = part;
        for chunk in file.chunks {
            for mut n in chunk {
                if n.parent != NONE {
                    n.parent += base;
                }
                if n.meta & OWNED != 0 {
                    n.name += owned_base;
                }
                self.file.push(n);
            }
        }
        self.file.owned.extend(file.owned);
        // The part's top-level statements counted on from the ranges before, their
        // ordinals merged in order with those of the nested statements.
        let mut nested = file
            .ordinals
            .into_iter()
            .map(|(i, c)| (i + base, c))
            .peekable();
        for top in tops.unwrap_or_default() {
            let i = top + base;
            while let Some(o) = nested.next_if(|o| o.0 < i) {
                self.file.ordinals.push(o);
            }
            self.count_top(i);
        }
        self.file.ordinals.extend(nested);
    }

    /// The current file's statements are all added: on to the next file.
    pub fn end_file(&mut self) {
        let next = self
            .texts
            .get(self.places.files.len() + 1)
            .cloned()
            .unwrap_or_default();
        let mut file = std::mem::replace(&mut self.file, FileNodes::new(next));
        file.shrink();
        file.index_starts();
        self.places.files.push(file);
        self.top = Kinds::default();
    }

    /// The index.
    pub fn finish(self) -> Places {
        let mut places = self.places;
        places.finish();
        places
    }
}

/// [`QUOTED`] when `quoted`.
fn quoted_flag(quoted: bool) -> u32 {
    if quoted { QUOTED } else { 0 }
}

/// Where block `b`'s segment is in `text` (see [`Node`]): its keyword at the statement's
/// `start`, its label as a place writes it; `(name, meta)`, or `None` when it is not.
fn block_in(text: &str, start: u32, b: &Block) -> Option<(u32, u32)> {
    let kw = b.keyword.name.as_str();
    let kw_len = u32::try_from(kw.len()).ok().filter(|&l| l <= KW_MAX)?;
    if offset_in(text, kw)? != start as usize || !is_bare(kw) {
        return None;
    }
    match &b.label {
        None => Some((0, kw_len | BLOCK)),
        Some(l) => {
            let (off, len, quoted) = name_in(text, &l.text)?;
            let gap = start as usize + kw.len();
            let joined = if off as usize == gap + 1 && text.as_bytes().get(gap) == Some(&b' ') {
                JOINED
            } else {
                0
            };
            Some((
                off,
                kw_len | len << NAME_SHIFT | quoted_flag(quoted) | joined | BLOCK,
            ))
        }
    }
}

/// A label or key in a place: bare when it is a plain name, quoted (with escapes) otherwise.
/// Returns what JSON adds to what it wrote. One pass over the bytes for both questions
/// (bare? written as it is between quotes?).
fn push_name(out: &mut String, text: &str) -> usize {
    let class = text
        .bytes()
        .fold(0u8, |c, b| c | DEBUG_CLASS[usize::from(b)]);
    if class & NOT_BARE == 0 && !text.is_empty() {
        out.push_str(text);
        0
    } else {
        push_debug_classed(out, text, class)
    }
}

/// Whether `s` is a plain name, `[A-Za-z0-9_-]+` (a bare TOML key, a bare label in a
/// place): a table lookup a byte without a branch (keys and labels are short, and there
/// are hundreds of thousands of them in a large deployment's output).
pub(crate) fn is_bare(s: &str) -> bool {
    let bare = &crate::grammars::NAME_BYTE;
    !s.is_empty() && s.bytes().fold(true, |ok, c| ok & bare[usize::from(c)])
}

/// `s` as `{s:?}` writes it (quoted, Rust's escapes), into `out`: straight when it is
/// printable ASCII without a quote or a backslash (a domain, most names), which `{:?}`
/// writes as it is; through the formatter otherwise. Checked without an early exit, so the
/// check is one table lookup a byte without a branch (names are short). Returns what Go's
/// JSON encoding adds to what it wrote (see [`json_len`]): for a plain name its two quotes
/// and any `<` `>` `&` (five bytes each).
pub(crate) fn push_debug(out: &mut String, s: &str) -> usize {
    let class = s.bytes().fold(0u8, |c, b| c | DEBUG_CLASS[usize::from(b)]);
    push_debug_classed(out, s, class)
}

/// [`push_debug`] of `s`, whose bytes' [`DEBUG_CLASS`]es OR-ed are `class`.
fn push_debug_classed(out: &mut String, s: &str, class: u8) -> usize {
    if class & NOT_PLAIN == 0 {
        out.push('"');
        out.push_str(s);
        out.push('"');
        let long = if class & JSON_LONG == 0 {
            0
        } else {
            s.bytes()
                .filter(|&b| matches!(b, b'<' | b'>' | b'&'))
                .count()
        };
        2 + 5 * long
    } else {
        let start = out.len();
        let _ = write!(out, "{s:?}");
        out.get(start..).map_or(0, json_extra)
    }
}

/// A byte that `{:?}` writes otherwise (not printable ASCII, a quote, a backslash).
const NOT_PLAIN: u8 = 1;
/// A byte that Go's JSON encoding writes in six (`<` `>` `&`).
const JSON_LONG: u8 = 2;
/// A byte that is not in a plain name (`[A-Za-z0-9_-]`, see [`is_bare`]).
const NOT_BARE: u8 = 4;

/// [`NOT_PLAIN`], [`JSON_LONG`] and [`NOT_BARE`] of each byte, for [`push_debug`] and
/// [`push_name`]: one lookup a byte.
static DEBUG_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b < 0x20 || b >= 0x7f || b == b'"' || b == b'\\' {
            t[c] = NOT_PLAIN;
        } else if b == b'<' || b == b'>' || b == b'&' {
            t[c] = JSON_LONG;
        }
        if !crate::grammars::NAME_BYTE[c] {
            t[c] |= NOT_BARE;
        }
        c += 1;
    }
    t
};

/// What the emitters use to write comments: places, the list of source files, and whether
/// comments are written at all (not in the canonical form).
pub struct Provenance<'s> {
    places: &'s Places,
    comments: bool,
    /// The last place written in full.
    last: RefCell<Last>,
    /// [`Places::plain`], found on first use ([`Provenance::plain_places`]).
    plain: Cell<Option<bool>>,
}

/// A place written in full, for the places in it or beside it ([`Provenance::write_at`]).
struct Last {
    file: u32,
    /// Its statement (`NONE`: nothing kept), and that statement's enclosing block.
    node: u32,
    parent: u32,
    /// Its text and the separator of a place in it (`mail.kumo: queue default > `), so
    /// such a place is two copies: this and its segment. The place itself is the first
    /// `len` bytes, its enclosing block's place (when it has one) the first `parent_len`.
    text: String,
    len: usize,
    parent_len: usize,
    /// What JSON adds to `text`, and to its first `parent_len` bytes.
    extra: usize,
    parent_extra: usize,
}

/// The bytes Go's JSON encoding adds to `s`.
fn json_extra(s: &str) -> usize {
    json_len(s) - s.len()
}

impl<'s> Provenance<'s> {
    pub fn new(places: &'s Places, comments: bool) -> Self {
        Self {
            places,
            comments,
            plain: Cell::new(None),
            last: RefCell::new(Last {
                file: u32::MAX,
                node: NONE,
                parent: NONE,
                text: String::new(),
                len: 0,
                parent_len: 0,
                extra: 0,
                parent_extra: 0,
            }),
        }
    }

    /// A new policy file, with comments or not, without a digest (the data files), written
    /// into `buffer` (cleared first), whose memory it reuses.
    pub(crate) fn text_in(&self, buffer: String) -> Text {
        Text::in_buffer(buffer, self.comments)
    }

    /// [`Self::text_in`] for a later part of a data file (written on another thread, see
    /// `kumomta::emit`).
    pub(crate) fn continuing_text_in(&self, buffer: String) -> Text {
        Text::continuing_in(buffer, self.comments)
    }

    /// The same provenance for another thread (its caches are its own; what it writes is the
    /// same). Whether every place is plain is found here, once for both.
    pub(crate) fn for_another_thread(&self) -> Provenance<'s> {
        let other = Provenance::new(self.places, self.comments);
        other.plain.set(Some(self.plain_places()));
        other
    }

    /// A new policy file whose canonical form is digested (the Lua policies, which the pod
    /// checksums cover).
    pub(crate) fn digested_text(&self) -> Text {
        Text::digested(self.comments)
    }

    /// The place of `loc`: `mail.kumo: queue default > max_age`, `<stdlib>: provider
    /// "google" > connection_limit`.
    pub fn at(&self, loc: Loc) -> String {
        let mut out = String::new();
        self.write_at(loc, &mut out);
        out
    }

    /// [`Self::at`], written into `out`.
    pub fn write_at(&self, loc: Loc, out: &mut String) {
        self.write_at_json(loc, out);
    }

    /// [`Self::write_at`]; returns the bytes Go's JSON encoding adds to what it wrote
    /// (its [`json_len`] less its length, for the shards' hard limit), known without
    /// reading the text again.
    ///
    /// The values of a table follow its header, so most places are the last one written
    /// or a statement in it or beside it: those are the last place's text (kept, see
    /// [`Last`]) and one more segment, without climbing the blocks again.
    pub(crate) fn write_at_json(&self, loc: Loc, out: &mut String) -> usize {
        let file = loc.file.0;
        let i = self.places.find(loc);
        let mut last = self.last.borrow_mut();
        let nodes = self.places.files.get(file as usize);
        if let (Some(nodes), Some(n)) = (nodes, nodes.and_then(|f| f.get(i))) {
            if last.file == file && last.node != NONE {
                if i == last.node {
                    out.push_str(last.text.get(..last.len).unwrap_or(""));
                    return last.extra;
                }
                // ` > ` is escaped as ` \u003e `.
                if n.parent == last.node {
                    out.push_str(&last.text);
                    let extra = nodes.push_segment(i, n, out);
                    return last.extra + 5 + extra;
                }
                // A statement beside the last place becomes the last place (a table beside
                // the last one, whose values follow it): the enclosing block's place and the
                // separator after it kept, its segment written after them.
                let keep = last.parent_len + " > ".len();
                if n.parent != NONE && n.parent == last.parent && last.text.is_char_boundary(keep) {
                    last.text.truncate(keep);
                    let extra = nodes.push_segment(i, n, &mut last.text);
                    last.node = i;
                    last.len = last.text.len();
                    last.extra = last.parent_extra + 5 + extra;
                    out.push_str(&last.text);
                    last.text.push_str(" > ");
                    return last.extra;
                }
            }
        }
        let origin = self
            .places
            .origins
            .get(file as usize)
            .map_or("<unknown>", String::as_str);
        let start = out.len();
        out.push_str(origin);
        out.push_str(": ");
        let path = out.len();
        let (path_extra, seg_len, seg_extra) = self.places.write_path(file, i, out);
        if out.len() == path {
            out.truncate(path - ": ".len());
        }
        let origin_extra = self
            .places
            .origins_extra
            .get(file as usize)
            .copied()
            .unwrap_or(0);
        // Kept for the next place: this one, and where its enclosing block's text ends.
        last.file = file;
        last.node = i;
        last.parent = self.places.parent(file, i);
        last.text.clear();
        last.text.push_str(out.get(start..).unwrap_or(""));
        last.len = last.text.len();
        last.text.push_str(" > ");
        last.extra = origin_extra + path_extra;
        last.parent_len = last.len.saturating_sub(" > ".len() + seg_len);
        last.parent_extra = last.extra.saturating_sub(5 + seg_extra);
        last.extra
    }

    /// Whether a place can hold a line end (only a file's name can).
    pub(crate) fn may_hold_line_end(&self) -> bool {
        self.places.line_end_in_origins
    }

    /// Whether every place is printable ASCII that does not end with a blank (see
    /// [`Places::plain`]): then a line of a data file that ends with a place is as plain as
    /// its code, and its shards' ConfigMaps need no scan for YAML's literal block.
    pub(crate) fn plain_places(&self) -> bool {
        if let Some(plain) = self.plain.get() {
            return plain;
        }
        let plain = self.places.plain();
        self.plain.set(Some(plain));
        plain
    }

    /// The user's files relative to the deployment's directory, sorted, for file headers.
    pub fn user_files(&self) -> &'s [String] {
        &self.places.user_files
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_bare_is_a_plain_name() {
        for b in 0..=255u8 {
            let s = [b'a', b];
            let want = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            if let Ok(s) = std::str::from_utf8(&s) {
                assert_eq!(super::is_bare(s), want, "{s:?}");
            }
        }
        assert!(!super::is_bare(""));
        assert!(super::is_bare("max_message_rate"));
        assert!(!super::is_bare("caf\u{e9}"));
    }

    /// The places as the index was first written: a segment string per statement, the
    /// ordinals counted in a map per block, by keyword or key and label.
    fn naive(items: &[kumoc_lang::ast::Stmt], prefix: &str, out: &mut Vec<(u32, u32, String)>) {
        use kumoc_lang::ast::Stmt;
        let mut seen: std::collections::HashMap<(bool, String, Option<String>), u32> =
            std::collections::HashMap::new();
        for stmt in items {
            let (key, mut seg, body) = match stmt {
                Stmt::Block(b) => {
                    let mut seg = b.keyword.name.to_string();
                    if let Some(l) = b.label_text() {
                        seg.push(' ');
                        super::push_name(&mut seg, l);
                    }
                    let key = (
                        true,
                        b.keyword.name.to_string(),
                        b.label_text().map(String::from),
                    );
                    (key, seg, Some(&b.body))
                }
                Stmt::Attr(a) => {
                    let mut seg = String::new();
                    super::push_name(&mut seg, &a.key.name);
                    ((false, a.key.name.to_string(), None), seg, None)
                }
                Stmt::Error(_) => continue,
            };
            let count = seen.entry(key).or_insert(0);
            *count += 1;
            if *count > 1 {
                seg.push_str(&format!("[{count}]"));
            }
            let place = if prefix.is_empty() {
                seg
            } else {
                format!("{prefix} > {seg}")
            };
            let span = stmt.span();
            let extra = super::json_extra(&place);
            out.push((span.start, span.end, format!("{place} ({extra})")));
            if let Some(body) = body {
                naive(body, &place, out);
            }
        }
    }

    #[test]
    fn places_are_those_of_the_first_index() {
        let mut many = String::from("pool big {\n");
        for i in 0..40 {
            many.push_str(&format!("  source s{} {{ a = 1 }}\n", i % 7));
            many.push_str(&format!("  \"k{}\" = 1\n", i % 3));
        }
        many.push_str("  source {}\n  source {}\n}\n");
        let text = format!(
            "{many}\
             automation {{ a = 1 }}\n\
             automation {{ a = 1\n a = 2\n a {{}}\n a {{}} }}\n\
             automation {{}}\n\
             queue \"d.example.com\" {{ max_age = 1 }}\n\
             queue \"d.example.com\" {{}}\n\
             queue 'lit' {{}}\n\
             queue \"main\" {{}}\n\
             queue main {{}}\n\
             queue  main {{}}\n\
             queue\tmain2 {{}}\n\
             queue \"a\\\"b\" {{}}\n\
             queue \"a\\\"b\" {{}}\n\
             queue \"x<y>&z\" {{ \"a b\" = 1\n \"a<b\" = 2\n \"q\\\"\" = 3 }}\n\
             queue \"caf\u{e9}\" {{}}\n\
             queue \"\" {{}}\n\
             foo = 1\n\
             foo {{}}\n\
             foo = 2\n\
             @@@ broken\n\
             env production {{ shaping default {{ automation {{}}\n automation {{}} }} }}\n\
             queue \"unclosed {{}}\n"
        );
        let mut sources = crate::source::Sources::default();
        sources.add(crate::source::SourceFile::new(
            "a.kumo",
            text.clone(),
            false,
        ));
        let places = super::Places::new(&sources, &[]);
        let parse = kumoc_lang::parse(&text);
        let mut want = Vec::new();
        naive(&parse.file.items, "", &mut want);
        assert!(want.len() > 150, "{}", want.len());
        let got = places.every_place();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
        assert_eq!(got.len(), want.len());
        // Every way a segment is kept was taken.
        let file = &places.files[0];
        let nodes: Vec<_> = (0..file.len).filter_map(|i| file.get(i)).collect();
        for flag in [
            super::JOINED,
            super::QUOTED,
            super::OWNED,
            super::ORDINAL,
            super::BLOCK,
        ] {
            assert!(nodes.iter().any(|n| n.meta & flag != 0), "{flag:x}");
        }
        assert!(
            nodes
                .iter()
                .any(|n| n.meta & (super::OWNED | super::JOINED) == 0
                    && n.meta & super::KW_MAX > 0
                    && n.meta >> super::NAME_SHIFT & super::NAME_MAX > 0)
        );
        // Read in three ranges, cut anywhere between top-level statements: the same.
        let text = sources
            .iter()
            .next()
            .map(|(_, f)| f.text.clone())
            .unwrap_or_default();
        let items = &kumoc_lang::parse_shared(&text).file.items;
        for a in 0..=items.len() {
            for b in (a..=items.len()).step_by(3) {
                let mut builder = super::PlacesBuilder::new(&sources);
                let (first, rest) = items.split_at(a);
                let (second, third) = rest.split_at(b - a);
                first.iter().for_each(|s| builder.add(s));
                let mut part = builder.part();
                second.iter().for_each(|s| part.add(s));
                let mut later = builder.part();
                third.iter().for_each(|s| later.add(s));
                builder.append(part);
                builder.append(later);
                builder.end_file();
                assert_eq!(builder.finish().every_place(), want, "cut at {a} and {b}");
            }
        }
    }

    #[test]
    fn push_debug_is_what_debug_writes() {
        for s in [
            "",
            "d1.example.com",
            "a b",
            "it's",
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\t",
            "\u{7f}",
            "\u{1}",
            "caf\u{e9}",
            "\u{2028}",
            "~!@#$%^&*()_+{}|:<>?`-=[];',./",
            "a<b>c&d.example.com",
            "max_age",
            "src-1",
            "d5.example.com",
        ] {
            let mut out = String::new();
            let extra = super::push_debug(&mut out, s);
            assert_eq!(out, format!("{s:?}"), "{s:?}");
            assert_eq!(extra, super::json_extra(&out), "{s:?}");
            // A name: bare when it is plain, as `{:?}` writes it otherwise.
            let mut name = String::new();
            let extra = super::push_name(&mut name, s);
            let want = if super::is_bare(s) {
                s.to_string()
            } else {
                format!("{s:?}")
            };
            assert_eq!(name, want, "{s:?}");
            assert_eq!(extra, super::json_extra(&name), "{s:?}");
        }
    }
}
