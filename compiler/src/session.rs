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
//! Each file's top-level statements are checked one by one (`check::check_stmt`), and the
//! session keeps each one's checked block and findings with the tree: those of the
//! statements an edit kept are kept too (moved with them, `HBlock::shift`), and only the
//! statements it re-parsed are checked again. What a statement's checks depend on beyond
//! it, the file id and the declared release, is part of the cache: when either changes,
//! the file is checked again whole. The duplicates among a file's top-level blocks are
//! found again over the kept blocks (`check::top_level_duplicates`). Resolving and the
//! lints then run over the whole deployment as in [`crate::analyze_paths`] (their results
//! depend on all of it); resolve borrows the kept blocks (`resolve::Lent`: it copies what
//! the model holds, and a block that merges with another, not the blocks). What it
//! lowered of each kept `domain`, `queue` and `shaping` block is kept with the block
//! (`resolve::Memo`) and shared with the model (`model::Shared`): the next analysis
//! takes it again, by reference, while the block is unchanged and unmoved and what else
//! its lowering read is the same; the checks across blocks (references, secret keys,
//! pools, the lints) still run whole.
//! `tests/it/session.rs` compares a session's diagnostics, model
//! and trees after random and scripted edits with a fresh analysis's.
//!
//! A [`Baseline`] gives the quick diagnostics of an edited file before its full analysis
//! (what the last one found where the edits changed nothing, and the checks of the
//! statements they changed), or none when they could flicker.

use std::sync::Arc;

use kumoc_lang::Parse;
use kumoc_lang::ast::Span;
use kumoc_lang::incremental::{Pieces, shift, shift_stmt};
use rustc_hash::FxHashMap as HashMap;

use kumoc_lang::units::KumoVersion;

use crate::diagnostic::Diagnostic;
use crate::resolve::{Kept, Lent};
use crate::severity::Severity;
use crate::source::{FileId, Loc, SourceFile};
use crate::{Analysis, Options, Timings, check};

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

/// What the session knows of one file: the source its tree was parsed from (the last
/// analysis's: its text is shared with it, and its line starts are not counted again
/// while the file does not change).
#[derive(Debug)]
struct Known {
    source: SourceFile,
    parse: Arc<Parse>,
    /// The pieces of `text`, once the file has been edited (a file that is never edited
    /// never needs them).
    pieces: Option<Pieces>,
    /// The checks of the top-level statements of `parse`, when they are still those of
    /// its current version.
    checked: Option<Checks>,
    /// The lone carriage return of `source`'s text (`kumoc_lang::lone_carriage_return`),
    /// once looked for: a file an edit did not change is not scanned again.
    lone_cr: Option<Option<kumoc_lang::SyntaxError>>,
}

/// The checks of a file's top-level statements (`check::check_stmt`), one per statement
/// of its tree, for one file id and one declared release (what else they depend on).
#[derive(Debug)]
struct Checks {
    file: FileId,
    release: Option<KumoVersion>,
    stmts: Vec<CheckedStmt>,
}

/// The checks of one top-level statement: its checked block (with what resolve lowered of
/// it, `resolve::Memo`) and findings.
#[derive(Debug)]
struct CheckedStmt {
    block: Option<Kept>,
    diagnostics: Vec<Diagnostic>,
}

/// What an edit did to a file's tree: the statements it kept at the start, those it kept
/// at the end (moved by `by` bytes); `None` when the tree was made anew.
#[derive(Debug, Clone, Copy)]
struct Spliced {
    lead: usize,
    trail: usize,
    by: i64,
}

/// The cache of successive analyses of one deployment. See the module's documentation.
#[derive(Debug, Default)]
pub struct Session {
    files: HashMap<String, Known>,
    /// How many files the last analysis parsed in full, re-parsed per statement, and
    /// took as they were (for tests and the benchmark's curiosity).
    pub last: Reuse,
    /// For a test that the memos are checked: the next analysis keeps what resolve lowered
    /// of the statements an edit moved (stale: their locations are the old ones).
    #[doc(hidden)]
    pub keep_moved_memos_once: bool,
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
        let mut names = Vec::with_capacity(files.len());
        let mut bytes = Vec::with_capacity(files.len());
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
            names.push(f.name);
            bytes.push(Some(f.bytes));
        }
        // A file whose bytes are the text the session knows is that source again (as
        // `analyze_paths` would decode it: valid UTF-8 is the text as it is); an edited
        // one counts again only the line starts of what the edit changed.
        let (sources, pre) = crate::sources_of(names, &paths, |i, name| {
            let b = bytes.get_mut(i).and_then(Option::take).unwrap_or_default();
            let known = self.files.get(&name).filter(|k| !k.source.is_stdlib);
            if let Some(k) = known.filter(|k| k.source.text.as_bytes() == b.as_slice()) {
                let mut file = k.source.clone();
                file.name = name;
                return (file, None);
            }
            let (text, err) = match String::from_utf8(b) {
                Ok(text) => (text, None),
                Err(e) => kumoc_lang::decode(e.as_bytes()),
            };
            match known {
                Some(k) => (SourceFile::edited(name, text, &k.source), err),
                None => (SourceFile::new(name, text, false), err),
            }
        });
        drop(bytes);
        let mut last = Reuse::default();
        let mut next: HashMap<String, Known> = HashMap::default();
        let mut parses = Vec::with_capacity(sources.len());
        let mut edits = Vec::with_capacity(sources.len());
        for (_, f) in sources.iter() {
            // The stdlib's display names cannot collide with a path (`<stdlib>/...`).
            let known = self.files.remove(&f.name);
            let pieces = given.get_mut(&f.name).and_then(Option::take);
            let (k, edit) = renew(known, f, pieces, &mut last);
            parses.push(Arc::clone(&k.parse));
            edits.push(edit);
            next.insert(f.name.clone(), k);
        }
        // Files no longer in the deployment are forgotten.
        self.files = next;
        self.last = last;
        timings.lap("parse", &mut clock);
        // Checked per top-level statement: only the statements an edit made are checked
        // again (their checks depend on nothing else but the file id and the release).
        let mut diagnostics = pre;
        // The lone carriage return of each file the edits left alone as found before
        // (scanning 3.8 MB of 100 files was 4.3 M instructions per edit at 10,000 domains).
        crate::syntax_diagnostics(&sources, &parses, &mut diagnostics, |f| {
            // Only the session's own file of that name (a name given twice is not).
            match self
                .files
                .get_mut(&f.name)
                .filter(|k| Arc::ptr_eq(&k.source.text, &f.text))
            {
                Some(k) => k
                    .lone_cr
                    .get_or_insert_with(|| kumoc_lang::lone_carriage_return(&f.text))
                    .clone(),
                None => kumoc_lang::lone_carriage_return(&f.text),
            }
        });
        let release = crate::declared_release(&sources, &parses, options);
        // Taken out of the cache while resolve borrows them (it copies only what the model
        // holds), then put back.
        let mut kept: Vec<Option<Checks>> = Vec::with_capacity(sources.len());
        for (((id, f), parse), edit) in sources.iter().zip(&parses).zip(edits) {
            let stale = self.keep_moved_memos_once;
            kept.push(self.files.get_mut(&f.name).map(|known| {
                recheck(
                    known.checked.take(),
                    edit,
                    id,
                    &f.text,
                    parse,
                    release.as_ref(),
                    stale,
                )
            }));
        }
        self.keep_moved_memos_once = false;
        let mut checked = crate::Checked::default();
        for ((id, f), checks) in sources.iter().zip(&kept) {
            let Some(checks) = checks else {
                continue;
            };
            let mut blocks = Vec::with_capacity(checks.stmts.len());
            for c in &checks.stmts {
                diagnostics.extend(c.diagnostics.iter().cloned());
                blocks.extend(c.block.as_ref().map(Lent::Top));
            }
            check::top_level_duplicates(std::slice::from_mut(&mut blocks), &mut diagnostics);
            checked.add(id, f.is_stdlib, blocks);
        }
        timings.lap("check", &mut clock);
        let analysis =
            crate::analyze_checked(sources, parses, checked, diagnostics, options, timings);
        // A name given twice keeps the checks of its last file, as its tree.
        for ((_, f), checks) in analysis.sources.iter().zip(kept) {
            if let Some(known) = self.files.get_mut(&f.name) {
                known.checked = checks;
            }
        }
        analysis
    }
}

/// The checks of file `file`'s statements at its new tree `parse` (of `text`), from those
/// of its last version (`old`) and what the edit did to the tree (`stale`: see
/// [`Session::keep_moved_memos_once`]).
fn recheck(
    old: Option<Checks>,
    edit: Option<Spliced>,
    file: FileId,
    text: &str,
    parse: &Parse,
    release: Option<&KumoVersion>,
    stale: bool,
) -> Checks {
    let items = &parse.file.items;
    let check = |stmt| {
        let mut diagnostics = Vec::new();
        let block = check::check_stmt(file, text, stmt, release, &mut diagnostics);
        CheckedStmt {
            block: block.map(Kept::new),
            diagnostics,
        }
    };
    let Some(mut old) = old.filter(|o| o.file == file && o.release.as_ref() == release) else {
        return Checks {
            file,
            release: release.cloned(),
            stmts: items.iter().map(check).collect(),
        };
    };
    if let Some(Spliced { lead, trail, by }) = edit {
        let stmts = &mut old.stmts;
        let end = stmts.len().saturating_sub(trail);
        let (lead, trail) = (lead.min(end), stmts.len() - end);
        let made = items.get(lead..items.len().saturating_sub(trail).max(lead));
        stmts.splice(lead..end, made.unwrap_or_default().iter().map(check));
        if by != 0 {
            let n = stmts.len();
            for c in stmts.iter_mut().skip(n - trail.min(n)) {
                if let Some(b) = &mut c.block {
                    // What it lowered to holds its old locations.
                    b.block.shift(by);
                    if !stale {
                        b.memo.clear();
                    }
                }
                for d in &mut c.diagnostics {
                    for loc in locs(d) {
                        shift(&mut loc.span, by);
                    }
                }
            }
        }
    }
    if old.stmts.len() != items.len() {
        // Never: the edit spliced the tree as it did these.
        return Checks {
            file,
            release: release.cloned(),
            stmts: items.iter().map(check).collect(),
        };
    }
    old
}

/// What is known of a file at its new `source`, and what the edit did to its tree (`None`
/// when it was parsed anew, or kept as it was: see [`Spliced`]; a kept tree keeps its
/// checks, a new one has none).
fn renew(
    known: Option<Known>,
    source: &SourceFile,
    pieces: Option<Pieces>,
    last: &mut Reuse,
) -> (Known, Option<Spliced>) {
    let text: &str = &source.text;
    let Some(mut known) = known else {
        last.parsed += 1;
        let known = match pieces {
            Some(pieces) => Known {
                source: source.clone(),
                parse: Arc::new(pieces.to_parse(text)),
                pieces: Some(pieces),
                checked: None,
                lone_cr: None,
            },
            None => Known {
                source: source.clone(),
                parse: Arc::new(kumoc_lang::parse(text)),
                pieces: None,
                checked: None,
                lone_cr: None,
            },
        };
        return (known, None);
    };
    if Arc::ptr_eq(&known.source.text, &source.text) {
        last.kept += 1;
        return (known, None);
    }
    if *known.source.text == *text {
        last.kept += 1;
        known.source = source.clone();
        return (known, None);
    }
    let Some(old) = known.pieces.take() else {
        // Edited for the first time: from now on, piece by piece.
        last.parsed += 1;
        let pieces = pieces.unwrap_or_else(|| Pieces::parse(text));
        let known = Known {
            source: source.clone(),
            parse: Arc::new(pieces.to_parse(text)),
            pieces: Some(pieces),
            checked: None,
            lone_cr: None,
        };
        return (known, None);
    };
    last.updated += 1;
    let pieces = pieces.unwrap_or_else(|| old.reparse(&known.source.text, text));
    let by = i64::try_from(text.len()).unwrap_or(i64::MAX)
        - i64::try_from(known.source.text.len()).unwrap_or(i64::MAX);
    // The previous analysis usually holds the tree no longer: it is updated in place.
    let parse = Arc::make_mut(&mut known.parse);
    let (lead, trail) = update(parse, &old, &pieces, by, text);
    known.source = source.clone();
    known.pieces = Some(pieces);
    known.lone_cr = None;
    (known, Some(Spliced { lead, trail, by }))
}

/// How many statements and comments `pieces` hold.
fn counts<'p>(pieces: impl Iterator<Item = (u32, &'p kumoc_lang::Piece)>) -> (usize, usize) {
    pieces.fold((0, 0), |(s, c), (_, p)| {
        (s + usize::from(p.stmt.is_some()), c + p.comments.len())
    })
}

/// Turn `parse`, the tree of the text `old` was the pieces of, into the tree of the text
/// `new` is the pieces of (`by`: the change of length); returns how many statements it kept
/// at the start and at the end.
fn update(parse: &mut Parse, old: &Pieces, new: &Pieces, by: i64, text: &str) -> (usize, usize) {
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
    (lead_items, trail_items)
}

/// What the quick diagnostics of later versions of one file need from the last full
/// analysis of it: that analysis's diagnostics of the file (those whose primary label is
/// in it) and the deployment's declared release. See [`Baseline::quick`].
#[derive(Debug, Clone)]
pub struct Baseline {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
    release: Option<KumoVersion>,
}

/// At most this many changed top-level pieces are checked for quick diagnostics, each
/// twice (before and after the edit). An edit of the 100 queues of a file of the 100-file
/// split changes 300 pieces; one that re-parses a whole 10,000-domain file 30,000, which
/// the full analysis checks anyway.
const QUICK_PIECES: usize = 1024;

impl Baseline {
    /// The baseline of `file` in `analysis` (made with `options`).
    pub fn of(analysis: &Analysis, file: FileId, options: &Options) -> Self {
        let env = options.env.map(crate::Environment::name);
        let release = check::declared_release(
            analysis
                .sources
                .iter()
                .zip(&analysis.parses)
                .filter(|((_, f), _)| !f.is_stdlib)
                .map(|(_, p)| p.file.items.as_slice()),
            env,
        );
        Baseline {
            file,
            diagnostics: analysis
                .diagnostics
                .iter()
                .filter(|d| d.primary().is_some_and(|l| l.loc.file == file))
                .cloned()
                .collect(),
            release,
        }
    }

    /// The file the baseline is of.
    pub fn file(&self) -> FileId {
        self.file
    }

    /// The diagnostics of the file at a new version, at once, before the full analysis
    /// of that version: the baseline's diagnostics of the top-level statements the edit
    /// left alone (moved by the change of length), and the syntax errors and checks of
    /// the statements it changed (`old` and `new`: the text and pieces the baseline was
    /// made from and those of the new version; the pieces of `new` must come from those of
    /// `old` by [`Pieces::reparse`], so unchanged pieces are shared).
    ///
    /// `None` when these could show a diagnostic and the full analysis then show it again
    /// after it had gone (a flicker): when one of the baseline's diagnostics in the changed
    /// statements is not one that checking them alone gives (a resolve or lint finding, a
    /// duplicate of another statement), when a diagnostic points into another file, or
    /// when the edit touches what the checks depend on beyond a statement (the deployment
    /// or environment blocks, which declare the release), or when the checks give a
    /// warning in a file with suppressions (only the full analysis applies them: the
    /// warning would show, then go). What the full analysis adds
    /// later (a finding that needs the whole deployment) only appears; what it drops (a
    /// finding that no longer holds elsewhere) only disappears.
    pub fn quick(
        &self,
        old: (&str, &Pieces),
        new: (&str, &Pieces),
        options: &Options,
    ) -> Option<Vec<Diagnostic>> {
        let ((old_text, old_pieces), (new_text, new_pieces)) = (old, new);
        let (lead, trail) = new_pieces.shared_with(old_pieces);
        let (old_end_i, new_end_i) = (old_pieces.len() - trail, new_pieces.len() - trail);
        if new_end_i.saturating_sub(lead) > QUICK_PIECES
            || old_end_i.saturating_sub(lead) > QUICK_PIECES
        {
            return None;
        }
        let start_of =
            |p: &Pieces, i: usize, len: usize| p.get(i).map_or(offset(len), |(start, _)| start);
        let start = start_of(new_pieces, lead, new_text.len());
        let old_end = start_of(old_pieces, old_end_i, old_text.len());
        let new_end = start_of(new_pieces, new_end_i, new_text.len());
        if start_of(old_pieces, lead, old_text.len()) != start {
            return None;
        }
        let by = i64::from(new_end) - i64::from(old_end);
        let global = |p: &Pieces, range: std::ops::Range<usize>| {
            range.filter_map(|i| p.get(i)).any(|(_, piece)| {
                matches!(&piece.stmt, Some(kumoc_lang::ast::Stmt::Block(b))
                    if matches!(b.keyword.name.as_str(), "deployment" | "env"))
            })
        };
        if global(old_pieces, lead..old_end_i) || global(new_pieces, lead..new_end_i) {
            return None;
        }
        // What checking the changed statements alone gives, before and after the edit.
        let local_old = self.local(old_text, old_pieces, lead..old_end_i, options);
        let local_new = self.local(new_text, new_pieces, lead..new_end_i, options);
        // A warning the checks give may be one a `kumoc-allow(...)` comment suppresses
        // (which only the full analysis applies): it would show, then go.
        if local_new.iter().any(|d| d.severity != Severity::Error)
            && new_text.contains(crate::lints::suppress::MARKER)
        {
            return None;
        }
        let mut out = Vec::with_capacity(self.diagnostics.len() + local_new.len());
        for d in &self.diagnostics {
            match self.place(d, start, old_end)? {
                Place::Before => out.push(d.clone()),
                Place::After => {
                    let mut d = d.clone();
                    for loc in locs(&mut d) {
                        shift(&mut loc.span, by);
                    }
                    out.push(d);
                }
                // Gone with its statement: the checks of its new version say what holds.
                Place::Inside if local_old.contains(d) => {}
                Place::Inside => return None,
            }
        }
        out.extend(local_new);
        out.sort_by(|a, b| {
            a.sort_key()
                .cmp(&b.sort_key())
                .then_with(|| a.message.cmp(&b.message))
        });
        out.dedup();
        Some(out)
    }

    /// The syntax errors and check findings of the pieces `range` of `text`, as the full
    /// analysis reports them.
    fn local(
        &self,
        text: &str,
        pieces: &Pieces,
        range: std::ops::Range<usize>,
        options: &Options,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (start, piece) in range.clone().filter_map(|i| pieces.get(i)) {
            for e in &piece.errors {
                let mut e = e.clone();
                shift(&mut e.span, i64::from(start));
                if let Some((span, _)) = &mut e.secondary {
                    shift(span, i64::from(start));
                }
                out.push(crate::syntax_diagnostic(self.file, &e));
            }
        }
        let (items, _) = pieces.placed(range);
        let _ = check::check_file(self.file, text, &items, self.release.as_ref(), &mut out);
        crate::lints::configure(&mut out, &options.lint);
        out
    }

    /// Where a diagnostic of the file is against the changed bytes `start..end` of the old
    /// text; `None` when it points into another file.
    fn place(&self, d: &Diagnostic, start: u32, end: u32) -> Option<Place> {
        let mut d = d.clone();
        let mut place = None;
        for loc in locs(&mut d) {
            if loc.file != self.file {
                return None;
            }
            let Span { start: s, end: e } = loc.span;
            // Touching the changed bytes counts as inside (an empty span at a boundary
            // may be either statement's).
            let here = if e < start || (e == start && s < e) {
                Place::Before
            } else if s > end || (s == end && s < e) {
                Place::After
            } else {
                Place::Inside
            };
            place = Some(match (place, here) {
                (None, p) => p,
                (Some(Place::Inside), _) | (_, Place::Inside) => Place::Inside,
                (Some(p), q) if p == q => p,
                // Around the change: the full analysis decides.
                _ => Place::Inside,
            });
        }
        Some(place.unwrap_or(Place::Inside))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Before,
    Inside,
    After,
}

/// Every location a diagnostic holds: its labels' and its fix's.
fn locs(d: &mut Diagnostic) -> impl Iterator<Item = &mut Loc> {
    d.labels.iter_mut().map(|l| &mut l.loc).chain(
        d.fix
            .iter_mut()
            .flat_map(|f| f.edits.iter_mut().map(|e| &mut e.loc)),
    )
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
