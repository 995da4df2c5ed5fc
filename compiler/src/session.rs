//! Analyses of successive versions of one deployment (the language server's): the same
//! result as [`crate::analyze_paths`], without parsing again what an edit did not touch.
//!
//! A [`Session`] keeps, for each file of the last analysis, its text, its syntax tree
//! (shared with the [`Analysis`] it went into) and, once the file has been edited, its
//! top-level pieces (`kumoc_lang::incremental`). For the next version of the files:
//!
//! - a file whose text did not change keeps its tree (the stdlib's is parsed once);
//! - a file that changed is re-parsed per top-level statement: its pieces are re-parsed
//!   where the edit touched them (or taken from the caller, which often has them already),
//!   and its tree is updated in place: the statements and comments of the pieces the edit
//!   left at the start are kept, those it left at the end are kept and moved by the
//!   change of length, those in between come from the new pieces; the syntax errors are
//!   gathered again from the pieces.
//!
//! Checking, resolving and the lints then run over the whole deployment as in
//! [`crate::analyze_paths`] (they are cheap next to a parse on a large file; their
//! results depend on the whole deployment). `tests/it/session.rs` compares a session's
//! diagnostics after random edits with a fresh analysis's.

use std::sync::Arc;

use kumoc_lang::Parse;
use kumoc_lang::ast::Span;
use kumoc_lang::incremental::{Pieces, shift, shift_stmt};
use rustc_hash::FxHashMap as HashMap;

use crate::{Analysis, Options, Timings, analyze_parsed, decode_sources};

/// One file to analyse: as given to [`crate::analyze_paths`] (display name, bytes, path),
/// and optionally the pieces of exactly this text, when the caller has them (an editor's
/// syntax of the open document).
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
    pub path: String,
    pub pieces: Option<Pieces>,
}

/// What the session knows of one file: the text its tree was parsed from.
#[derive(Debug)]
struct Known {
    text: String,
    parse: Arc<Parse>,
    /// The pieces of `text`, once the file has been edited (a file that is never edited
    /// never needs them).
    pieces: Option<Pieces>,
}

/// The cache of successive analyses of one deployment. See the module's documentation.
#[derive(Debug, Default)]
pub struct Session {
    files: HashMap<String, Known>,
    /// How many files the last analysis parsed in full, re-parsed per statement, and
    /// took as they were (for tests and the benchmark's curiosity).
    pub last: Reuse,
}

/// How the last analysis came by its syntax trees.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reuse {
    pub parsed: usize,
    pub updated: usize,
    pub kept: usize,
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    /// Analyse the deployment made of `files`: exactly what
    /// `analyze_paths(names and bytes, paths, options)` returns.
    pub fn analyze(&mut self, files: Vec<Input>, options: &Options) -> Analysis {
        let mut clock = std::time::Instant::now();
        let mut timings = Timings::default();
        let mut named = Vec::with_capacity(files.len());
        let mut paths = Vec::with_capacity(files.len());
        // Pieces by file name; a name given twice (which only a caller's mistake makes)
        // gets none, so pieces always go with the text they were made of.
        let mut given: HashMap<String, Option<Pieces>> = HashMap::default();
        for f in files {
            given
                .entry(f.name.clone())
                .and_modify(|p| *p = None)
                .or_insert(f.pieces);
            paths.push(f.path);
            named.push((f.name, f.bytes));
        }
        let (sources, pre) = decode_sources(&named, &paths);
        drop(named);
        let mut last = Reuse::default();
        let mut next: HashMap<String, Known> = HashMap::default();
        let mut parses = Vec::with_capacity(sources.len());
        for (_, f) in sources.iter() {
            // The stdlib's display names cannot collide with a path (`<stdlib>/...`).
            let known = self.files.remove(&f.name);
            let pieces = given.get_mut(&f.name).and_then(Option::take);
            let k = renew(known, &f.text, pieces, &mut last);
            parses.push(Arc::clone(&k.parse));
            next.insert(f.name.clone(), k);
        }
        // Files no longer in the deployment are forgotten.
        self.files = next;
        self.last = last;
        timings.lap("parse", &mut clock);
        analyze_parsed(sources, parses, pre, options, timings)
    }
}

/// What is known of a file at its new `text`.
fn renew(known: Option<Known>, text: &str, pieces: Option<Pieces>, last: &mut Reuse) -> Known {
    let Some(mut known) = known else {
        last.parsed += 1;
        return match pieces {
            Some(pieces) => Known {
                text: text.to_string(),
                parse: Arc::new(pieces.to_parse(text)),
                pieces: Some(pieces),
            },
            None => Known {
                text: text.to_string(),
                parse: Arc::new(kumoc_lang::parse(text)),
                pieces: None,
            },
        };
    };
    if known.text == text {
        last.kept += 1;
        return known;
    }
    let Some(old) = known.pieces.take() else {
        // Edited for the first time: from now on, piece by piece.
        last.parsed += 1;
        let pieces = pieces.unwrap_or_else(|| Pieces::parse(text));
        return Known {
            text: text.to_string(),
            parse: Arc::new(pieces.to_parse(text)),
            pieces: Some(pieces),
        };
    };
    last.updated += 1;
    let pieces = pieces.unwrap_or_else(|| old.reparse(&known.text, text));
    let by = i64::try_from(text.len()).unwrap_or(i64::MAX)
        - i64::try_from(known.text.len()).unwrap_or(i64::MAX);
    // The previous analysis usually holds the tree no longer: it is updated in place.
    let parse = Arc::make_mut(&mut known.parse);
    update(parse, &old, &pieces, by, text);
    known.text.clear();
    known.text.push_str(text);
    known.pieces = Some(pieces);
    known
}

/// How many statements and comments `pieces` hold.
fn counts<'p>(pieces: impl Iterator<Item = (u32, &'p kumoc_lang::Piece)>) -> (usize, usize) {
    pieces.fold((0, 0), |(s, c), (_, p)| {
        (s + usize::from(p.stmt.is_some()), c + p.comments.len())
    })
}

/// Turn `parse`, the tree of the text `old` was the pieces of, into the tree of the text
/// `new` is the pieces of (`by`: the change of length).
fn update(parse: &mut Parse, old: &Pieces, new: &Pieces, by: i64, text: &str) {
    let (lead, trail) = new.shared_with(old);
    let (lead_items, lead_comments) = counts(old.iter().take(lead));
    let (trail_items, trail_comments) = counts(old.iter().skip(old.len() - trail));
    let (items, comments) = new.placed(lead..new.len() - trail);
    let file = &mut parse.file;
    let end = file.items.len().saturating_sub(trail_items);
    file.items.splice(lead_items.min(end)..end, items);
    let end = file.comments.len().saturating_sub(trail_comments);
    file.comments.splice(lead_comments.min(end)..end, comments);
    if by != 0 {
        let n = file.items.len();
        for s in file.items.iter_mut().skip(n - trail_items.min(n)) {
            shift_stmt(s, by);
        }
        let n = file.comments.len();
        for c in file.comments.iter_mut().skip(n - trail_comments.min(n)) {
            shift(&mut c.span, by);
        }
    }
    file.span = Span::new(0, text.len());
    parse.errors = new.errors();
}
