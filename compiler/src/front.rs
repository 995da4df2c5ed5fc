//! The front end of [`Trees::Drop`](crate::Trees) (`kumoc build`, `kumoc check`): each
//! top-level statement is parsed (`kumoc_lang::Statements`), checked, outlined for the
//! lints and indexed for the places, and its tree dropped, before the next is parsed: the
//! trees of a whole deployment never live together with the checked tree. The result is
//! [`crate::parse_and_analyze`]'s:
//!
//! - the syntax errors and the checks' findings are collected apart and put together as
//!   `analyze_parsed` does (every syntax error first), each file's top-level duplicates
//!   after its statements (`check::top_level_duplicates`, as the session does);
//! - the checks read the declared release, known only once every statement is read: each
//!   statement is checked with the release declared so far (the `deployment` block comes
//!   first in practice) and, when that was not the final one, a statement with findings is
//!   checked again (the release changes only findings: a statement without any is right),
//!   read again from where it starts, so no tree is kept for it meanwhile.
//!
//! With [`crate::Options`]' `threads` above one (`--jobs`), a large file (at least
//! [`SPLIT_BYTES`]) is read in ranges, one per thread: the text is
//! cut where a top-level statement probably starts (after a line that is a lone `}`,
//! before one that starts with a name: [`guess_cuts`]), each range after the first is
//! read on a thread of its own from its cut, and the ranges are put together in order
//! (`Run::join`) as if one reader had read them all. A cut is only a guess, made without
//! parsing: it is right only if the reader of the text before it, which starts where a
//! statement starts, reaches it exactly, at the top level, as where its next statement
//! starts (a piece boundary: `kumoc_lang::Piece`, from which the parser reads the rest of
//! the file the same way). That reader checks it (`read`): when it lands on the cut, the
//! range read from there is joined; when it steps over it (the cut was in a string, a
//! comment, an unclosed block, junk), the range is thrown away and the reader reads on.
//! What a range's reader cannot know is the release declared before its cut: it checks
//! with a guess, and its statements with findings are checked again if that was not the
//! final release, as above.

use std::sync::atomic::{AtomicBool, Ordering};

use kumoc_lang::units::KumoVersion;
use kumoc_lang::{Statements, SyntaxError};

use crate::check::{self, HBlock, ReleaseFacts};
use crate::lints::syntax::{FileOutline, Outline};
use crate::source::{FileId, SourceFile, Sources};
use crate::{Analysis, Checked, Diagnostic, Environment, Options, Timings, emit, lints};

/// How the front end reads a large file: in ranges, on threads (see the module's
/// documentation). Only the tests choose anything but [`Split::Auto`].
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Split {
    /// A user file of at least [`SPLIT_BYTES`] in as many ranges as [`crate::Options`]'
    /// `threads` allows (at most [`MAX_RANGES`]), cut where [`guess_cuts`] guesses; whole
    /// when it allows one.
    #[default]
    Auto,
    /// Every file whole, on the calling thread.
    Never,
    /// Every user file cut at these offsets (those inside it, on a character boundary),
    /// whatever they are: the tests cut everywhere.
    At(Vec<u32>),
    /// [`Split::At`] without checking that a cut is where a statement starts: each range is
    /// joined wherever the reader before it stopped. Wrong wherever a cut is not such a
    /// place; only for the test that shows the check matters.
    Unchecked(Vec<u32>),
}

/// A user file of at least this many bytes is read in ranges on threads, each of at least
/// half of it (a 10,000-domain deployment is about 3.9 MB). Below it, a thread costs more
/// than it saves.
pub const SPLIT_BYTES: usize = 256 * 1024;

/// At most this many ranges (threads) per file.
pub const MAX_RANGES: usize = 8;

/// A checked top-level statement that had findings, remembered by where it starts (its
/// tree is dropped like any other; read again from there if it must be checked again)
/// until the declared release is known.
struct Provisional {
    file: FileId,
    /// Where the statement starts (`kumoc_lang::Statements::at` reads it again).
    start: u32,
    /// Its findings, in the checks' findings.
    findings: std::ops::Range<usize>,
    release: Option<KumoVersion>,
}

/// The front end of [`crate::Trees::Drop`], `DropWithPlaces` (the places indexed as the
/// statements are read) and `DropWithPlacesLintsLater` (the lints left to the caller): see
/// the module's documentation.
pub(crate) fn statement_by_statement(
    sources: Sources,
    pre: Vec<Diagnostic>,
    options: &Options,
    trees: crate::Trees,
    split: &Split,
) -> Analysis {
    let places = trees != crate::Trees::Drop;
    let mut timings = Timings::default();
    let mut clock = std::time::Instant::now();
    let env = options.env.map(Environment::name);
    let mut syntax_errors: Vec<Diagnostic> = Vec::new();
    let mut checked = Checked::default();
    let mut outline = Outline::default();
    // What every file's reading carries on to the next.
    let mut state = State {
        env,
        findings: Vec::new(),
        provisional: Vec::new(),
        facts: ReleaseFacts::default(),
        release: None,
        places: places.then(|| emit::PlacesBuilder::new(&sources)),
    };
    for (id, f) in sources.iter() {
        let cuts = cuts(f, split, options.threads);
        let verify = !matches!(split, Split::Unchecked(_));
        let mut run = if cuts.is_empty() {
            let mut run = Run::first(id, f, &mut state);
            read(&mut run, &[], true, usize::MAX, &[]);
            run
        } else {
            read_in_ranges(id, f, &mut state, &cuts, verify)
        };
        let mut file = std::mem::take(&mut run.outline);
        file.shrink();
        // The file's blocks in chunks, moved into resolve's input (see `push_chunked`).
        let mut blocks = std::mem::take(&mut run.blocks);
        let (mut errors, parser_errors) = run.finish(&mut state);
        Statements::sort_errors(&mut errors, parser_errors);
        syntax_errors.extend(errors.iter().map(|e| crate::syntax_diagnostic(id, e)));
        if let Some(e) = kumoc_lang::lone_carriage_return(&f.text) {
            syntax_errors.push(crate::syntax_diagnostic(id, &e));
        }
        check::top_level_duplicates(&mut blocks, &mut state.findings);
        checked.add_chunks(id, f.is_stdlib, blocks);
        outline.push(file);
        if let Some(index) = &mut state.places {
            index.end_file();
        }
    }
    let State {
        mut findings,
        provisional,
        facts,
        places,
        ..
    } = state;
    // The statements checked with another release than the one declared, checked again.
    let release = facts.release(env);
    for p in provisional.into_iter().rev() {
        if p.release == release {
            continue;
        }
        let Some(f) = sources.get(p.file) else {
            continue;
        };
        // Read again from where it starts: the same statement (`Statements::at`).
        let Some((_, stmt)) = Statements::at(&f.text, p.start).next_stmt() else {
            continue;
        };
        let mut again = Vec::new();
        let _ = check::check_stmt(p.file, &f.text, &stmt, release.as_ref(), &mut again);
        findings.splice(p.findings, again);
    }
    let mut diagnostics = pre;
    diagnostics.append(&mut syntax_errors);
    diagnostics.append(&mut findings);
    timings.lap("parse+check", &mut clock);
    let lints_at = if trees == crate::Trees::DropWithPlacesLintsLater {
        crate::LintsAt::Later(outline)
    } else {
        crate::LintsAt::Now(lints::Syntax::Outline(&outline))
    };
    let mut analysis = crate::finish(sources, lints_at, checked, diagnostics, options, timings);
    analysis.places = places.map(emit::PlacesBuilder::finish);
    analysis
}

/// What the reading of one file carries on to the next (and a file's first range takes
/// over while it reads).
struct State {
    env: Option<&'static str>,
    /// The checks' findings so far.
    findings: Vec<Diagnostic>,
    provisional: Vec<Provisional>,
    /// What the user files' statements so far told of the release, and the release it
    /// gives.
    facts: ReleaseFacts,
    release: Option<KumoVersion>,
    places: Option<emit::PlacesBuilder>,
}

/// What was read of a range of a file's top-level statements, from where a statement
/// starts to a cut or to the end of the file.
struct Run<'t> {
    id: FileId,
    text: &'t kumoc_lang::SharedText,
    stdlib: bool,
    env: Option<&'static str>,
    /// Reads on from where the range stopped.
    stmts: Statements<'t>,
    /// The syntax errors of the statements of the ranges joined to this one, unsorted
    /// (`Statements::unsorted_errors`).
    errors: (Vec<SyntaxError>, Vec<SyntaxError>),
    /// The release facts the checks read: the deployment's so far (the first range), or
    /// those known when the range began with what the range told (a later range's guess).
    facts: ReleaseFacts,
    /// A later range's: what its statements told (joined to the first range's facts).
    own: Option<ReleaseFacts>,
    release: Option<KumoVersion>,
    /// The checked blocks, in chunks ([`push_chunked`]).
    blocks: Vec<Vec<HBlock>>,
    findings: Vec<Diagnostic>,
    provisional: Vec<Provisional>,
    outline: FileOutline,
    places: Option<emit::PlacesBuilder>,
    /// Where the range began.
    begun: u32,
    /// Where it stopped: at a cut (`Some`), or at the end of the file.
    end: Option<u32>,
}

impl<'t> Run<'t> {
    /// The first range of file `id`, which takes over `state` until [`Run::finish`].
    fn first(id: FileId, f: &'t SourceFile, state: &mut State) -> Self {
        Run {
            id,
            text: &f.text,
            stdlib: f.is_stdlib,
            env: state.env,
            stmts: Statements::new(&f.text),
            errors: (Vec::new(), Vec::new()),
            facts: std::mem::take(&mut state.facts),
            own: None,
            release: state.release.take(),
            blocks: Vec::new(),
            findings: std::mem::take(&mut state.findings),
            provisional: std::mem::take(&mut state.provisional),
            outline: FileOutline::new(&f.text),
            places: state.places.take(),
            begun: 0,
            end: None,
        }
    }

    /// A range of the same file from `cut`, checked with the release `self` knows so far.
    fn later(&self, cut: u32) -> Self {
        Run {
            id: self.id,
            text: self.text,
            stdlib: self.stdlib,
            env: self.env,
            stmts: Statements::at(self.text, cut),
            errors: (Vec::new(), Vec::new()),
            facts: self.facts.clone(),
            own: Some(ReleaseFacts::default()),
            release: self.release.clone(),
            blocks: Vec::new(),
            findings: Vec::new(),
            provisional: Vec::new(),
            outline: self.outline.for_later_range(),
            places: self.places.as_ref().map(emit::PlacesBuilder::part),
            begun: cut,
            end: None,
        }
    }

    /// Add `later`, the range read from where `self` stopped: as if `self` had read on.
    fn join(&mut self, later: Run<'t>) {
        let Run {
            stmts,
            errors: (mut comment_errors, mut parser_errors),
            own,
            mut blocks,
            mut findings,
            provisional,
            outline,
            places,
            end,
            ..
        } = later;
        self.flush_errors(stmts);
        self.errors.0.append(&mut comment_errors);
        self.errors.1.append(&mut parser_errors);
        if let Some(own) = own {
            self.facts.append(own);
            self.release = self.facts.release(self.env);
        }
        self.blocks.append(&mut blocks);
        let base = self.findings.len();
        self.findings.append(&mut findings);
        self.provisional
            .extend(provisional.into_iter().map(|p| Provisional {
                findings: p.findings.start + base..p.findings.end + base,
                ..p
            }));
        self.outline.append(outline);
        if let (Some(mine), Some(theirs)) = (&mut self.places, places) {
            mine.append(theirs);
        }
        self.end = end;
    }

    /// The errors `self.stmts` found, into `self.errors`; `stmts` reads on from here.
    fn flush_errors(&mut self, stmts: Statements<'t>) {
        let done = std::mem::replace(&mut self.stmts, stmts);
        let (mut c, mut e) = done.unsorted_errors();
        self.errors.0.append(&mut c);
        self.errors.1.append(&mut e);
    }

    /// Give back what the first range took over from `state`; the file's syntax errors,
    /// unsorted.
    fn finish(mut self, state: &mut State) -> (Vec<SyntaxError>, Vec<SyntaxError>) {
        state.facts = std::mem::take(&mut self.facts);
        state.release = self.release.take();
        state.findings = std::mem::take(&mut self.findings);
        state.provisional = std::mem::take(&mut self.provisional);
        state.places = self.places.take();
        let (mut c, mut e) = self.stmts.unsorted_errors();
        self.errors.0.append(&mut c);
        self.errors.1.append(&mut e);
        self.errors
    }
}

/// Why [`read`] stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// At this cut ([`Run::end`]).
    Cut,
    /// At the end of the file.
    End,
    /// After `budget` statements: it can read on.
    Budget,
}

/// Read `run`'s statements on, from where it is, until it lands on one of `cuts` (sorted;
/// those at or before where the range began are not looked at) as where its next
/// statement starts, or the end of the file, or `budget` statements are read. With
/// `verify` off, it stops at the first statement at or after a cut instead. `tell[i]`:
/// set when it steps over cut `i` (the first range's reader: that cut is not where a
/// statement starts).
fn read(run: &mut Run<'_>, cuts: &[u32], verify: bool, budget: usize, tell: &[AtomicBool]) -> Stop {
    let begun = run.begun;
    let mut next = cuts.partition_point(|&c| c <= begun || c < run.stmts.pos());
    let mut read = 0;
    run.end = None;
    loop {
        let pos = run.stmts.pos();
        while let Some(&cut) = cuts.get(next) {
            if pos < cut {
                break;
            }
            if pos == cut || !verify {
                run.end = Some(cut);
                return Stop::Cut;
            }
            // Not where a statement starts: the range from there is not needed.
            if let Some(t) = tell.get(next) {
                t.store(true, Ordering::Relaxed);
            }
            next += 1;
        }
        if read == budget {
            return Stop::Budget;
        }
        let Some((start, stmt)) = run.stmts.next_stmt() else {
            run.outline.trailing(run.stmts.comments());
            return Stop::End;
        };
        read += 1;
        if !run.stdlib {
            if let Some(own) = &mut run.own {
                own.see(&stmt);
            }
            if run.facts.see(&stmt) {
                run.release = run.facts.release(run.env);
            }
        }
        run.outline.add(start, &stmt, run.stmts.comments());
        if let Some(index) = &mut run.places {
            index.add(&stmt);
        }
        let before = run.findings.len();
        let checked = check::check_stmt(
            run.id,
            run.text,
            &stmt,
            run.release.as_ref(),
            &mut run.findings,
        );
        if let Some(b) = checked {
            push_chunked(&mut run.blocks, b);
        }
        if run.findings.len() > before {
            run.provisional.push(Provisional {
                file: run.id,
                start,
                findings: before..run.findings.len(),
                release: run.release.clone(),
            });
        }
    }
}

/// How many checked blocks a chunk of [`push_chunked`] holds (136 KiB of `HBlock`s).
const CHUNK: usize = 1024;

/// Push `b` onto a file's blocks, kept in chunks of at most [`CHUNK`]: a large file's
/// tens of thousands of blocks in one vector grown by doubling were copied at each growth,
/// then once more into resolve's input, each copy beside the whole typed tree (the peak of
/// a 10,000-domain build's memory); a chunk is never copied, and is moved whole. The
/// first chunk grows by doubling (a small file needs no 136 KiB); the later ones are made
/// full-size at once.
fn push_chunked<B>(chunks: &mut Vec<Vec<B>>, b: B) {
    match chunks.last_mut() {
        Some(c) if c.len() < CHUNK => c.push(b),
        _ => {
            let mut c = if chunks.is_empty() {
                Vec::new()
            } else {
                Vec::with_capacity(CHUNK)
            };
            c.push(b);
            chunks.push(c);
        }
    }
}

/// [`read`] a large file in ranges from `cuts` (sorted, each after the file's start), each
/// on a thread of its own, and join them in order: the first range is read here; it
/// checks that each cut it joins at is where a statement starts (see the module's
/// documentation).
fn read_in_ranges<'t>(
    id: FileId,
    f: &'t SourceFile,
    state: &mut State,
    cuts: &[u32],
    verify: bool,
) -> Run<'t> {
    let mut run = Run::first(id, f, state);
    // The first statement first: it is the `deployment` block in practice, whose release
    // the later ranges' checks then read (a wrong guess costs only re-checks).
    if read(&mut run, cuts, verify, 1, &[]) != Stop::Budget {
        // Already at a cut, or at the end: read on alone (cuts are for large files).
        read(&mut run, &[], true, usize::MAX, &[]);
        return run;
    }
    let stop: Vec<AtomicBool> = cuts.iter().map(|_| AtomicBool::new(false)).collect();
    std::thread::scope(|scope| {
        let mut ranges: Vec<_> = cuts
            .iter()
            .zip(&stop)
            .map(|(&cut, stop)| {
                let mut later = run.later(cut);
                // A thread that cannot be made: its range is read here instead.
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || {
                        let done = read_stoppable(&mut later, cuts, verify, stop);
                        done.then_some(later)
                    })
                    .ok()
            })
            .collect();
        read(&mut run, cuts, verify, usize::MAX, &stop);
        while let Some(end) = run.end {
            let i = cuts.partition_point(|&c| c < end);
            let later = ranges
                .get_mut(i)
                .and_then(Option::take)
                .and_then(|h| h.join().ok())
                .flatten();
            match later {
                // Up to its end: the end of the file, or a later cut, which it checked.
                Some(later) => run.join(later),
                // Its thread was not made, or failed: read on here.
                None => {
                    read(&mut run, &[], true, usize::MAX, &[]);
                }
            }
        }
        // The ranges never joined are not needed.
        for s in &stop {
            s.store(true, Ordering::Relaxed);
        }
    });
    run
}

/// [`read`] of a later range to a cut or the end of the file; `false` when `stop` was set
/// first (what it read is not needed).
fn read_stoppable(run: &mut Run<'_>, cuts: &[u32], verify: bool, stop: &AtomicBool) -> bool {
    // In steps of a few statements, asking in between whether to go on.
    const STEP: usize = 64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        if read(run, cuts, verify, STEP, &[]) != Stop::Budget {
            return true;
        }
    }
}

/// Where to cut file `f`: sorted offsets after its start (none: read it whole).
fn cuts(f: &SourceFile, split: &Split, threads: usize) -> Vec<u32> {
    if f.is_stdlib {
        return Vec::new();
    }
    let text = &f.text;
    match split {
        Split::Never => Vec::new(),
        Split::At(at) | Split::Unchecked(at) => {
            let mut at: Vec<u32> = at
                .iter()
                .copied()
                .filter(|&c| {
                    c > 0 && (c as usize) < text.len() && text.is_char_boundary(c as usize)
                })
                .collect();
            at.sort_unstable();
            at.dedup();
            at
        }
        Split::Auto => {
            if text.len() < SPLIT_BYTES || threads < 2 {
                return Vec::new();
            }
            let ranges = threads.min(MAX_RANGES).min(text.len() / (SPLIT_BYTES / 2));
            guess_cuts(text, ranges)
        }
    }
}

/// Where to cut `text` into `ranges` ranges of about the same size: after a line that is a
/// lone `}` (it closes a top-level block, in a file written as `kumoc fmt` writes it)
/// before a line that starts with a name after any blank lines (the next statement's keyword), at or after each
/// `k/ranges` of the text. A guess, made without parsing: the reader checks it (see the
/// module's documentation).
pub fn guess_cuts(text: &str, ranges: usize) -> Vec<u32> {
    let b = text.as_bytes();
    let mut cuts: Vec<u32> = Vec::new();
    for k in 1..ranges {
        let mut from = text.len() / ranges * k;
        if let Some(&last) = cuts.last() {
            from = from.max(last as usize);
        }
        while let Some(at) = text.get(from..).and_then(|rest| rest.find("\n}")) {
            let close = from + at + 1;
            let after = close + 1;
            from = after;
            // A line end, any blank lines, then a name at the start of a line.
            let mut rest = match b.get(after..) {
                Some([b'\n', rest @ ..]) => rest,
                Some([b'\r', b'\n', rest @ ..]) => rest,
                _ => continue,
            };
            while let [b'\n', more @ ..] | [b'\r', b'\n', more @ ..] = rest {
                rest = more;
            }
            if rest.first().is_some_and(u8::is_ascii_alphabetic) {
                if let Ok(cut) = u32::try_from(after) {
                    cuts.push(cut);
                }
                break;
            }
        }
    }
    cuts.dedup();
    cuts
}
