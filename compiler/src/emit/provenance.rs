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

use kumoc_lang::Parse;
use kumoc_lang::ast::Stmt;
use rustc_hash::FxHashMap;

use super::kumomta::shard::json_len;
use super::kumomta::text::Text;
use crate::source::{Loc, Sources};

/// One statement: its span, its enclosing block (an index, `NONE` at the top) and its
/// segment of a place (`queue default`, `max_age`, `automation[2]`) as a range of
/// [`Places::segs`].
struct Node {
    start: u32,
    end: u32,
    parent: u32,
    seg: (u32, u32),
    /// The bytes Go's JSON encoding adds to the segment (its quotes; see [`json_len`]),
    /// known as it is written: a place's size as JSON is then known without reading it.
    extra: u32,
}

const NONE: u32 = u32::MAX;

/// A block with at most this many statements counts its repeated siblings in an array, a
/// larger one (the top level of a file) in a map.
const FEW: usize = 16;

/// What makes siblings the same for their ordinal: whether a block, keyword or key, label.
type Sibling<'a> = (bool, &'a str, Option<&'a str>);

/// The statements of every file, for [`Provenance::at`]: about 20 bytes per statement, the
/// segments in one string; and each file's name in the output.
#[derive(Default)]
pub struct Places {
    /// By file id; each file's nodes in source order (pre-order, so starts are sorted).
    files: Vec<Vec<Node>>,
    segs: String,
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
        let mut places = Places::default();
        // Sized up front: grown by doubling, the two largest vectors (nodes, segments) of
        // a 100,000-domain build were copied at the build's peak of memory.
        let sizes: Vec<(usize, usize)> = parses.iter().map(|p| size(&p.file.items)).collect();
        places.segs.reserve_exact(sizes.iter().map(|s| s.1).sum());
        for (id, f) in sources.iter() {
            places.add_origin(f);
            let mut nodes = Vec::with_capacity(sizes.get(id.0 as usize).map_or(0, |s| s.0));
            match parses.get(id.0 as usize) {
                Some(p) => places.index(&p.file.items, NONE, &mut nodes),
                None => places.index(&kumoc_lang::parse(&f.text).file.items, NONE, &mut nodes),
            }
            nodes.shrink_to_fit();
            places.files.push(nodes);
        }
        places.finish();
        places
    }

    /// What is known once every file is indexed.
    fn finish(&mut self) {
        self.origins_extra = self.origins.iter().map(|o| json_extra(o)).collect();
        self.segs.shrink_to_fit();
        self.user_files.sort_unstable();
        self.line_end_in_origins = self.origins.iter().any(|o| o.contains(['\n', '\r']));
    }

    fn index(&mut self, items: &[Stmt], parent: u32, nodes: &mut Vec<Node>) {
        // How many siblings so far had each (is a block, keyword or key, label): the
        // ordinal of a repeated one (`automation`, `automation[2]`, ...).
        // A block's few statements are counted in an array, the many at the top in a map.
        let few = items.len() <= FEW;
        let mut seen_few: [Option<(Sibling<'_>, u32)>; FEW] = [None; FEW];
        let mut seen: FxHashMap<Sibling<'_>, u32> = if few {
            FxHashMap::default()
        } else {
            FxHashMap::with_capacity_and_hasher(items.len(), Default::default())
        };
        for stmt in items {
            let Some(key) = sibling(stmt) else { continue };
            let count = if few {
                // The slots fill in order: the first empty one ends the search.
                let mut count = 1;
                for slot in &mut seen_few {
                    match slot {
                        Some((k, c)) if *k == key => {
                            *c += 1;
                            count = *c;
                            break;
                        }
                        Some(_) => {}
                        None => {
                            *slot = Some((key, 1));
                            break;
                        }
                    }
                }
                count
            } else {
                let c = seen.entry(key).or_insert(0);
                *c += 1;
                *c
            };
            self.node(stmt, count, parent, nodes);
        }
    }

    /// The node of `stmt` (not an error), the `count`th of its kind among its siblings, and
    /// those of its body.
    fn node(&mut self, stmt: &Stmt, count: u32, parent: u32, nodes: &mut Vec<Node>) {
        let start = u32::try_from(self.segs.len()).unwrap_or(u32::MAX);
        let mut extra = 0;
        match stmt {
            Stmt::Block(b) => {
                let keyword = b.keyword.name.as_str();
                self.segs.push_str(keyword);
                if !is_bare(keyword) {
                    extra += json_extra(keyword);
                }
                if let Some(l) = &b.label {
                    self.segs.push(' ');
                    extra += push_name(&mut self.segs, &l.text);
                }
            }
            Stmt::Attr(a) => {
                extra += push_name(&mut self.segs, &a.key.name);
            }
            Stmt::Error(_) => return,
        }
        if count > 1 {
            let _ = write!(self.segs, "[{count}]");
        }
        let end = u32::try_from(self.segs.len()).unwrap_or(u32::MAX);
        let span = stmt.span();
        let me = u32::try_from(nodes.len()).unwrap_or(NONE);
        nodes.push(Node {
            start: span.start,
            end: span.end,
            parent,
            seg: (start, end),
            extra: u32::try_from(extra).unwrap_or(u32::MAX),
        });
        if let Stmt::Block(b) = stmt {
            self.index(&b.body, me, nodes);
        }
    }

    /// Every statement's span and place, file by file (for the tests, which compare
    /// indexes built in different ways).
    #[doc(hidden)]
    pub fn every_place(&self) -> Vec<(u32, u32, String)> {
        let mut out = Vec::new();
        for (file, nodes) in (0u32..).zip(&self.files) {
            for (i, n) in (0u32..).zip(nodes) {
                let mut place = String::new();
                let extra = self.write_path(file, i, &mut place);
                let _ = write!(place, " ({extra})");
                out.push((n.start, n.end, place));
            }
        }
        out
    }

    /// The innermost statement at `loc` (an index into its file's nodes), `NONE` when no
    /// statement holds it.
    fn find(&self, loc: Loc, hint: &Cell<(u32, usize)>) -> u32 {
        let Some(nodes) = self.files.get(loc.file.0 as usize) else {
            return NONE;
        };
        let at = loc.span.start;
        // The emitters look places up mostly in source order: the statement after the last
        // one found is usually a few nodes on, found without a binary search.
        let (hint_file, mut n) = hint.get();
        let near = hint_file == loc.file.0
            && n > 0
            && nodes.get(n - 1).is_some_and(|node| node.start <= at)
            && {
                let mut steps = 0;
                while steps < 8 && nodes.get(n).is_some_and(|node| node.start <= at) {
                    n += 1;
                    steps += 1;
                }
                nodes.get(n).is_none_or(|node| node.start > at)
            };
        if !near {
            n = nodes.partition_point(|node| node.start <= at);
        }
        hint.set((loc.file.0, n));
        let mut i = match n {
            0 => NONE,
            n => u32::try_from(n - 1).unwrap_or(NONE),
        };
        // The last statement starting at or before `at` may be a nested one that ended
        // before it: climb to the one that holds it.
        while let Some(n) = nodes.get(i as usize) {
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
            .and_then(|nodes| nodes.get(i as usize))
            .map_or(NONE, |n| n.parent)
    }

    /// The statement `i`'s segment of a place (`max_age`, `queue default`), and what JSON
    /// adds to it.
    fn seg(&self, file: u32, i: u32) -> (&str, usize) {
        self.files
            .get(file as usize)
            .and_then(|nodes| nodes.get(i as usize))
            .and_then(|n| {
                let seg = self.segs.get(n.seg.0 as usize..n.seg.1 as usize)?;
                Some((seg, n.extra as usize))
            })
            .unwrap_or(("", 0))
    }

    /// Whether every place is printable ASCII (`' '` to `'~'`) and none ends with a blank:
    /// every origin is, and does not end with one, every segment is, and none is empty (a
    /// place is an origin, `: `, and segments joined by ` > `). One pass over the segments,
    /// a byte's verdict OR-ed in without an early exit (vectorized).
    fn plain(&self) -> bool {
        let printable = |s: &str| {
            s.as_bytes().chunks(64).all(|b| {
                b.iter()
                    .fold(0u8, |bad, &c| bad | u8::from(c.wrapping_sub(0x20) >= 0x5f))
                    == 0
            })
        };
        self.origins
            .iter()
            .all(|o| printable(o) && !o.ends_with(' '))
            && printable(&self.segs)
            && self
                .files
                .iter()
                .all(|nodes| nodes.iter().fold(true, |ok, n| ok & (n.seg.1 > n.seg.0)))
    }

    /// The block path of the statement `i` of `file` (`queue default > max_age`), written
    /// into `out`; nothing for `NONE`. Returns what JSON adds to it (` > ` is ` \u003e `).
    fn write_path(&self, file: u32, mut i: u32, out: &mut String) -> usize {
        let Some(nodes) = self.files.get(file as usize) else {
            return 0;
        };
        let mut extra = 0;
        // The chain from the innermost statement up (the first 16 in an array, any deeper
        // ones in a vector), written outermost first.
        let mut chain = [NONE; 16];
        let mut len = 0;
        let mut deep = Vec::new();
        while let Some(n) = nodes.get(i as usize) {
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
        for (k, &i) in outermost_first.enumerate() {
            if k > 0 {
                out.push_str(" > ");
                extra += 5;
            }
            if let Some(n) = nodes.get(i as usize) {
                out.push_str(
                    self.segs
                        .get(n.seg.0 as usize..n.seg.1 as usize)
                        .unwrap_or(""),
                );
                extra += n.extra as usize;
            }
        }
        extra
    }
}

/// What makes a statement the same as a sibling for its ordinal; `None` for an error.
fn sibling(stmt: &Stmt) -> Option<Sibling<'_>> {
    match stmt {
        Stmt::Block(b) => Some((true, b.keyword.name.as_str(), b.label_text())),
        Stmt::Attr(a) => Some((false, a.key.name.as_str(), None)),
        Stmt::Error(_) => None,
    }
}

impl std::fmt::Debug for Places {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Places")
            .field("files", &self.files.len())
            .field("nodes", &self.files.iter().map(Vec::len).sum::<usize>())
            .field("origins", &self.origins)
            .finish_non_exhaustive()
    }
}

/// [`Places`] indexed a top-level statement at a time, for a caller that frees each
/// statement's syntax tree once it is read (`kumoc build`'s front end): the same index as
/// [`Places::new`] of the whole trees (`tests/it/pipeline.rs` compares the output).
///
/// A large file may be read in ranges on several threads: [`PlacesBuilder::part`] indexes a
/// later range of the current file apart, and [`PlacesBuilder::append`] adds it, in order,
/// as if its statements had been added here (the ordinals of the repeated top-level
/// statements counted on across the ranges).
pub struct PlacesBuilder {
    places: Places,
    /// The current file's nodes.
    nodes: Vec<Node>,
    /// How many top-level statements of the current file so far were each sibling kind,
    /// by the names of the tree (shared with the file's text).
    top: FxHashMap<TopKey, Top>,
    /// For a part: its top-level statements' nodes, chained by kind (see [`Top`]).
    chain: Option<Chain>,
}

/// What makes top-level siblings the same for their ordinal (see [`Sibling`]).
type TopKey = (bool, kumoc_lang::ast::Name, Option<kumoc_lang::ast::Name>);

/// The top-level statements of one sibling kind: how many, and (in a part) the first and
/// the last of them, as positions in its [`Chain`].
#[derive(Clone, Copy)]
struct Top {
    count: u32,
    first: u32,
    last: u32,
}

/// A part's top-level statements, by position among them: the index of each one's node,
/// and the position of the next one of its kind (`NONE`: the last), so the ordinals of a
/// kind that the ranges before also had are counted on when the part is appended.
#[derive(Default)]
struct Chain {
    node: Vec<u32>,
    next: Vec<u32>,
}

impl PlacesBuilder {
    /// Places for the files of `sources`, whose statements are then added file by file.
    pub fn new(sources: &Sources) -> Self {
        let mut places = Places::default();
        for (_, f) in sources.iter() {
            places.add_origin(f);
        }
        PlacesBuilder {
            places,
            nodes: Vec::new(),
            top: FxHashMap::default(),
            chain: None,
        }
    }

    /// A builder for a later range of the current file's top-level statements, to be
    /// [`PlacesBuilder::append`]ed to this one (or to one that the ranges between were
    /// appended to) once the statements before it are added.
    pub fn part(&self) -> Self {
        PlacesBuilder {
            places: Places::default(),
            nodes: Vec::new(),
            top: FxHashMap::default(),
            chain: Some(Chain::default()),
        }
    }

    /// Index the next top-level statement of the current file (files in id order).
    pub fn add(&mut self, stmt: &Stmt) {
        let key = match stmt {
            Stmt::Block(b) => (
                true,
                b.keyword.name.clone(),
                b.label.as_ref().map(|l| l.text.clone()),
            ),
            Stmt::Attr(a) => (false, a.key.name.clone(), None),
            Stmt::Error(_) => return,
        };
        let t = self.top.entry(key).or_insert(Top {
            count: 0,
            first: NONE,
            last: NONE,
        });
        t.count += 1;
        let count = t.count;
        if let Some(chain) = &mut self.chain {
            let at = u32::try_from(chain.node.len()).unwrap_or(NONE);
            chain
                .node
                .push(u32::try_from(self.nodes.len()).unwrap_or(NONE));
            chain.next.push(NONE);
            match chain.next.get_mut(t.last as usize) {
                Some(next) => *next = at,
                None => t.first = at,
            }
            t.last = at;
        }
        self.places.node(stmt, count, NONE, &mut self.nodes);
    }

    /// Add `part`'s statements (a [`PlacesBuilder::part`] of the range that follows the
    /// statements added so far): the same index as adding them here. `more`: whether more
    /// statements of the file follow (their ordinals count `part`'s).
    pub fn append(&mut self, part: PlacesBuilder, more: bool) {
        let seg_base = u32::try_from(self.places.segs.len()).unwrap_or(NONE);
        let node_base = u32::try_from(self.nodes.len()).unwrap_or(NONE);
        self.places.segs.push_str(&part.places.segs);
        self.nodes.extend(part.nodes.into_iter().map(|mut n| {
            n.seg = (n.seg.0 + seg_base, n.seg.1 + seg_base);
            if n.parent != NONE {
                n.parent += node_base;
            }
            n
        }));
        let chain = part.chain.unwrap_or_default();
        // Each kind is counted on alone: the order they are visited in changes nothing.
        #[allow(clippy::iter_over_hash_type)]
        for (key, t) in part.top {
            match self.top.get_mut(&key) {
                // A kind the ranges before had too: its ordinals in `part` count on.
                Some(before) => {
                    let counted = before.count;
                    before.count += t.count;
                    let mut at = t.first;
                    let mut k = 1;
                    while let (Some(&node), Some(&next)) =
                        (chain.node.get(at as usize), chain.next.get(at as usize))
                    {
                        self.renumber(node + node_base, k, counted + k);
                        at = next;
                        k += 1;
                    }
                }
                None if more => {
                    self.top.insert(key, t);
                }
                None => {}
            }
        }
    }

    /// The node `i`, the `was`th of its kind, is the `now`th: its segment's ordinal (none
    /// for the first) rewritten, at the end of the segments.
    fn renumber(&mut self, i: u32, was: u32, now: u32) {
        let Some(n) = self.nodes.get_mut(i as usize) else {
            return;
        };
        let segs = &mut self.places.segs;
        let ordinal = if was > 1 { format!("[{was}]").len() } else { 0 };
        let base = segs
            .get(n.seg.0 as usize..(n.seg.1 as usize).saturating_sub(ordinal))
            .unwrap_or("")
            .to_string();
        let start = u32::try_from(segs.len()).unwrap_or(NONE);
        segs.push_str(&base);
        if now > 1 {
            let _ = write!(segs, "[{now}]");
        }
        n.seg = (start, u32::try_from(segs.len()).unwrap_or(NONE));
    }

    /// The current file's statements are all added: on to the next file.
    pub fn end_file(&mut self) {
        let mut nodes = std::mem::take(&mut self.nodes);
        nodes.shrink_to_fit();
        self.places.files.push(nodes);
        self.top = FxHashMap::default();
    }

    /// The index.
    pub fn finish(self) -> Places {
        let mut places = self.places;
        places.finish();
        places
    }
}

/// The nodes [`Places::index`] makes for `items`, and about the bytes of their segments
/// (a label quoted; a repeated sibling's ordinal left out).
fn size(items: &[Stmt]) -> (usize, usize) {
    let (mut nodes, mut bytes) = (0, 0);
    for stmt in items {
        match stmt {
            Stmt::Block(b) => {
                let (n, m) = size(&b.body);
                nodes += 1 + n;
                bytes +=
                    m + b.keyword.name.len() + b.label.as_ref().map_or(0, |l| l.text.len() + 3);
            }
            Stmt::Attr(a) => {
                nodes += 1;
                bytes += a.key.name.len();
            }
            Stmt::Error(_) => {}
        }
    }
    (nodes, bytes)
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
    /// Where the last place was found: (file, the index after its last statement starting
    /// at or before it), where the next search starts.
    hint: Cell<(u32, usize)>,
    /// The last place written in full.
    last: RefCell<Last>,
    /// [`Places::plain`], found on first use ([`Provenance::plain_places`]).
    plain: Cell<Option<bool>>,
}

/// A place written in full, for the places in it or beside it ([`Provenance::write_at`]).
struct Last {
    file: u32,
    /// Its statement (`NONE`: nothing kept).
    node: u32,
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
            hint: Cell::new((u32::MAX, 0)),
            plain: Cell::new(None),
            last: RefCell::new(Last {
                file: u32::MAX,
                node: NONE,
                text: String::new(),
                len: 0,
                parent_len: 0,
                extra: 0,
                parent_extra: 0,
            }),
        }
    }

    /// A new policy file, with comments or not, without a digest (the data files).
    pub(crate) fn text(&self) -> Text {
        Text::new(self.comments)
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
        let i = self.places.find(loc, &self.hint);
        let mut last = self.last.borrow_mut();
        if i != NONE && last.file == file && last.node != NONE {
            if i == last.node {
                out.push_str(last.text.get(..last.len).unwrap_or(""));
                return last.extra;
            }
            let parent = self.places.parent(file, i);
            // ` > ` is escaped as ` \u003e `.
            if parent == last.node {
                out.push_str(&last.text);
                let (seg, extra) = self.places.seg(file, i);
                out.push_str(seg);
                return last.extra + 5 + extra;
            }
            if parent != NONE && parent == self.places.parent(file, last.node) {
                // The enclosing block's place and the separator after it.
                out.push_str(last.text.get(..last.parent_len + 3).unwrap_or(""));
                let (seg, extra) = self.places.seg(file, i);
                out.push_str(seg);
                return last.parent_extra + 5 + extra;
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
        let path_extra = self.places.write_path(file, i, out);
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
        last.text.clear();
        last.text.push_str(out.get(start..).unwrap_or(""));
        last.len = last.text.len();
        last.text.push_str(" > ");
        last.extra = origin_extra + path_extra;
        let (seg, extra) = self.places.seg(file, i);
        last.parent_len = last.len.saturating_sub(" > ".len() + seg.len());
        last.parent_extra = last.extra.saturating_sub(5 + extra);
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
