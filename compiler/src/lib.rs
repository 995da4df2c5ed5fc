//! The kumoc compiler: checks `.kumo` descriptions and builds the deployment model.
//!
//! Pipeline (see ARCHITECTURE.md): parse every file (`kumoc_lang::parse`, total) → check
//! each block against the schema and type its values (`check`) → merge the layers (stdlib,
//! user files, selected `env`), resolve names and lower to the model (`resolve`). `kumoc
//! build` and `kumoc check` parse and check a top-level statement at a time and drop its
//! syntax tree before the next ([`Trees`]).
//!
//! This crate does no IO: callers hand it file names and bytes and get back an
//! [`Analysis`]: the sources, every diagnostic, and the model.

pub mod check;
pub mod codes;
pub mod diagnostic;
pub mod dns;
pub mod emit;
pub mod fix;
mod front;
pub mod grammars;
pub mod graph;
pub mod import;
pub mod lints;
pub mod metrics;
pub mod model;
pub mod names;
pub mod render;
mod resolve;
pub mod route;
pub mod schema;
pub mod session;
pub mod severity;
pub mod source;
pub mod stdlib;
pub mod value;

pub use diagnostic::Diagnostic;
#[doc(hidden)]
pub use front::{SPLIT_BYTES, Split, guess_cuts};
pub use model::{Deployment, Environment};
pub use severity::Severity;
pub use source::{FileId, SourceFile, Sources};

use std::sync::Arc;

use kumoc_lang::units::KumoVersion;
use kumoc_lang::{Parse, SyntaxError};
use source::Loc;

/// What to analyse for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The environment to build (`--env`); `None` uses the deployment's `environment`.
    pub env: Option<Environment>,
    /// Severity overrides and `--deny warnings`.
    pub lint: lints::LintConfig,
    /// How many threads may read one large file when the trees are dropped (`--jobs`; see
    /// `front`): 0 and 1 read every file on the calling thread. More is faster and needs
    /// more memory: each thread's allocations stay in that thread's allocator heap.
    pub threads: usize,
}

/// Everything known about one run over a set of files.
#[derive(Debug)]
pub struct Analysis {
    pub sources: Sources,
    /// The parse of every file (stdlib first), by file id (shared with a [`session`]'s
    /// cache, which reuses the trees of files an edit did not touch). Empty when the front
    /// end dropped each tree once checked ([`Trees::Drop`], [`Trees::DropWithPlaces`]).
    pub parses: Vec<Arc<Parse>>,
    /// Sorted by file and position; deterministic.
    pub diagnostics: Vec<Diagnostic>,
    /// The deployment model, when the description got far enough to build one (with
    /// errors too: lints and the language server read what resolved). Only
    /// [`Analysis::checked_model`] is ever emitted.
    pub model: Option<Deployment>,
    /// How long each phase took (`kumoc build --timings`).
    pub timings: Timings,
    /// The places index, when the front end built it as it read the statements
    /// ([`Trees::DropWithPlaces`]); see [`Analysis::take_places`].
    pub places: Option<emit::Places>,
    /// The lints not run yet ([`Trees::DropWithPlacesLintsLater`]): until they are,
    /// `diagnostics` holds only the errors and findings before them, unsorted.
    pub pending: Option<PendingLints>,
}

/// What the front end keeps of the syntax trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trees {
    /// Every file's tree, in [`Analysis::parses`] (the language server, the day-two
    /// tools, the tests).
    Keep,
    /// None: each top-level statement is parsed, checked and its tree dropped before the
    /// next is parsed, so the trees of a whole deployment never live together;
    /// [`Analysis::parses`] is empty, and the lints read an outline of what was written
    /// (`lints::Syntax`). Diagnostics and model are those of [`Trees::Keep`] (`kumoc
    /// check`).
    Drop,
    /// [`Trees::Drop`], and the places index built as the statements are read
    /// ([`Analysis::places`], `kumoc build`).
    DropWithPlaces,
    /// [`Trees::DropWithPlaces`], the lints left to the caller ([`Analysis::pending`]), who
    /// runs them beside its own work (`kumoc build` with two threads, beside the emit):
    /// once run, the diagnostics are those of [`Trees::DropWithPlaces`].
    DropWithPlacesLintsLater,
}

/// The lints an analysis left to its caller ([`Trees::DropWithPlacesLintsLater`]): what
/// they read of the dropped syntax trees, and the severities to apply.
#[derive(Debug)]
pub struct PendingLints {
    outline: lints::syntax::Outline,
    lint: lints::LintConfig,
}

impl PendingLints {
    /// Run the lints over `model` and add their findings to `diagnostics` (the analysis's,
    /// taken out of it), configured, sorted and deduplicated as an analysis that ran them
    /// itself gives them. Reads only shared data: it may run on another thread while the
    /// model is emitted.
    pub fn run(
        &self,
        model: Option<&Deployment>,
        sources: &Sources,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        lint_all(
            model,
            sources,
            lints::Syntax::Outline(&self.outline),
            diagnostics,
            &self.lint,
        );
    }
}

/// Wall time per phase, in the order the phases ran.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, std::time::Duration)>);

impl Timings {
    /// Record the time since `*since` under `phase`, and restart the clock.
    pub fn lap(&mut self, phase: &'static str, since: &mut std::time::Instant) {
        let now = std::time::Instant::now();
        self.0.push((phase, now.duration_since(*since)));
        *since = now;
    }
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
    /// The model, when the analysis has no error: the only model that is emitted. With an
    /// error nothing is emitted, so `kumoc build` writes nothing.
    pub fn checked_model(&self) -> Option<&Deployment> {
        if self.has_errors() {
            None
        } else {
            self.model.as_ref()
        }
    }
    /// The places of the values, for the emitters' comments, from the syntax trees (which
    /// the caller may free afterwards; a file whose tree was dropped is parsed again).
    pub fn places(&self) -> emit::Places {
        emit::Places::new(&self.sources, &self.parses)
    }
    /// The places of the values: the index the front end built ([`Trees::DropWithPlaces`]),
    /// or one built from the syntax trees, which are then freed.
    pub fn take_places(&mut self) -> emit::Places {
        match self.places.take() {
            Some(p) => p,
            None => {
                let places = self.places();
                self.parses = Vec::new();
                places
            }
        }
    }
    /// Everything `kumoc build` writes (without `--secrets`), or `None` when the analysis
    /// has errors.
    pub fn emit(&self) -> Option<emit::Output> {
        let model = self.checked_model()?;
        Some(match &self.places {
            Some(places) => emit::emit(model, places),
            None => emit::emit(model, &self.places()),
        })
    }
    /// The user's files (not the stdlib).
    pub fn user_files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.sources.iter().filter(|(_, f)| !f.is_stdlib)
    }
}

/// Analyse `.kumo` files given as `(display name, bytes)`. Emitted output names each file
/// relative to the deployment's directory, found from the names as given (see
/// [`analyze_paths`]).
pub fn analyze(files: &[(String, Vec<u8>)], options: &Options) -> Analysis {
    analyze_with(files, options, Trees::Keep)
}

/// [`analyze`], keeping of the syntax trees what `trees` says.
pub fn analyze_with(files: &[(String, Vec<u8>)], options: &Options, trees: Trees) -> Analysis {
    analyze_split(files, options, trees, &Split::Auto)
}

/// [`analyze_with`], a large file read in ranges as `split` says (the tests cut files
/// anywhere; see `front`). Without dropping the trees, files are read whole.
#[doc(hidden)]
pub fn analyze_split(
    files: &[(String, Vec<u8>)],
    options: &Options,
    trees: Trees,
    split: &Split,
) -> Analysis {
    let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let (sources, pre) = decode_sources(files, &names);
    front_end(sources, pre, options, trees, split)
}

/// Analyse `.kumo` files given as `(display name, bytes)`, with `paths`, one per file, from
/// which emitted output names them: relative to the deployment's directory, the deepest
/// directory holding them all ([`source::deployment_relative`]). The CLI passes absolute
/// paths, so output does not depend on the working directory or on how the files were
/// named; diagnostics keep the display names. A deployment is a set of files: they are
/// analysed in the order of those names, never in the order given.
pub fn analyze_paths(files: &[(String, Vec<u8>)], paths: &[String], options: &Options) -> Analysis {
    let (sources, pre) = decode_sources(files, paths);
    front_end(sources, pre, options, Trees::Keep, &Split::Auto)
}

/// [`analyze_paths`] taking the files' bytes: a file that is valid UTF-8 becomes its source
/// text without a copy, so the bytes read and the text are not both held through the
/// analysis (`kumoc build`: 393 bytes per domain of a generated deployment); keeping of
/// the syntax trees what `trees` says.
pub fn analyze_paths_owned(
    files: Vec<(String, Vec<u8>)>,
    paths: &[String],
    options: &Options,
    trees: Trees,
) -> Analysis {
    let (names, bytes): (Vec<String>, Vec<Vec<u8>>) = files.into_iter().unzip();
    let mut bytes: Vec<Option<Vec<u8>>> = bytes.into_iter().map(Some).collect();
    let (sources, pre) = sources_with(names, paths, |i| {
        let b = bytes.get_mut(i).and_then(Option::take).unwrap_or_default();
        match String::from_utf8(b) {
            Ok(text) => (text, None),
            Err(e) => kumoc_lang::decode(e.as_bytes()),
        }
    });
    front_end(sources, pre, options, trees, &Split::Auto)
}

/// Parse and check every source, keeping of the trees what `trees` says, then analyse.
fn front_end(
    sources: Sources,
    pre: Vec<Diagnostic>,
    options: &Options,
    trees: Trees,
    split: &Split,
) -> Analysis {
    match trees {
        Trees::Keep => parse_and_analyze(sources, pre, options),
        Trees::Drop | Trees::DropWithPlaces | Trees::DropWithPlacesLintsLater => {
            front::statement_by_statement(sources, pre, options, trees, split)
        }
    }
}

/// Parse every source, then analyse.
fn parse_and_analyze(sources: Sources, pre: Vec<Diagnostic>, options: &Options) -> Analysis {
    let mut timings = Timings::default();
    let mut clock = std::time::Instant::now();
    let parses: Vec<Arc<Parse>> = sources
        .iter()
        .map(|(_, f)| Arc::new(kumoc_lang::parse_shared(&f.text)))
        .collect();
    timings.lap("parse", &mut clock);
    analyze_parsed(sources, parses, pre, options, timings)
}

/// The sources of an analysis: the stdlib, then `files` decoded, in the order of their
/// deployment-relative names (see [`analyze_paths`]); with the decoding errors.
fn decode_sources(files: &[(String, Vec<u8>)], paths: &[String]) -> (Sources, Vec<Diagnostic>) {
    let names = files.iter().map(|(name, _)| name.clone()).collect();
    sources_with(names, paths, |i| {
        files
            .get(i)
            .map(|(_, bytes)| kumoc_lang::decode(bytes))
            .unwrap_or_default()
    })
}

/// [`decode_sources`] of the files named `names`, the text of file `i` given by `decode(i)`
/// (called once per file).
fn sources_with(
    names: Vec<String>,
    paths: &[String],
    mut decode: impl FnMut(usize) -> (String, Option<SyntaxError>),
) -> (Sources, Vec<Diagnostic>) {
    sources_of(names, paths, |i, name| {
        let (text, err) = decode(i);
        (SourceFile::new(name, text, false), err)
    })
}

/// [`sources_with`], file `i` made by `make(i, its name)` (a [`session`] keeps the files an
/// edit did not change).
pub(crate) fn sources_of(
    names: Vec<String>,
    paths: &[String],
    mut make: impl FnMut(usize, String) -> (SourceFile, Option<SyntaxError>),
) -> (Sources, Vec<Diagnostic>) {
    let mut sources = Sources::default();
    let mut pre: Vec<Diagnostic> = Vec::new();
    for (name, text) in stdlib::FILES {
        sources.add(SourceFile::new(*name, *text, true));
    }
    let mut rel = source::deployment_relative(paths);
    if rel.len() != names.len() {
        rel = names.clone();
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| rel[a].cmp(&rel[b]));
    let mut names: Vec<Option<String>> = names.into_iter().map(Some).collect();
    for i in order {
        let name = names.get_mut(i).and_then(Option::take).unwrap_or_default();
        let (mut file, err) = make(i, name);
        file.rel = std::mem::take(&mut rel[i]);
        let id = sources.add(file);
        if let Some(e) = err {
            pre.push(syntax_diagnostic(id, &e));
        }
    }
    (sources, pre)
}

/// Analyse decoded sources (stdlib files first, as [`analyze`] adds them) given the parse
/// of each: everything after parsing. `timings` has the phases before.
fn analyze_parsed(
    sources: Sources,
    parses: Vec<Arc<Parse>>,
    mut diagnostics: Vec<Diagnostic>,
    options: &Options,
    mut timings: Timings,
) -> Analysis {
    let mut clock = std::time::Instant::now();
    syntax_diagnostics(&sources, &parses, &mut diagnostics, |f| {
        kumoc_lang::lone_carriage_return(&f.text)
    });
    let mut checked = Checked::default();
    let release = declared_release(&sources, &parses, options);
    for ((id, f), p) in sources.iter().zip(&parses) {
        let blocks = check::check_file(
            id,
            &f.text,
            &p.file.items,
            release.as_ref(),
            &mut diagnostics,
        );
        checked.add(id, f.is_stdlib, blocks);
    }
    timings.lap("check", &mut clock);
    analyze_checked(sources, parses, checked, diagnostics, options, timings)
}

/// The syntax errors of the parsed files, as diagnostics, with each file's lone carriage
/// return (`lone_carriage_return`: the session keeps it for a file an edit left alone).
pub(crate) fn syntax_diagnostics(
    sources: &Sources,
    parses: &[Arc<Parse>],
    diagnostics: &mut Vec<Diagnostic>,
    mut lone_carriage_return: impl FnMut(&SourceFile) -> Option<SyntaxError>,
) {
    for ((id, f), p) in sources.iter().zip(parses) {
        diagnostics.extend(p.errors.iter().map(|e| syntax_diagnostic(id, e)));
        if let Some(e) = lone_carriage_return(f) {
            diagnostics.push(syntax_diagnostic(id, &e));
        }
    }
}

/// The release the user files declare, for the checker's suggestions only (gates are
/// resolve's).
pub(crate) fn declared_release(
    sources: &Sources,
    parses: &[Arc<Parse>],
    options: &Options,
) -> Option<KumoVersion> {
    check::declared_release(
        sources
            .iter()
            .zip(parses)
            .filter(|((_, f), _)| !f.is_stdlib)
            .map(|(_, p)| p.file.items.as_slice()),
        options.env.map(Environment::name),
    )
}

/// The checked blocks of a deployment's files, for resolve: owned (`HBlock`), or borrowed
/// from a [`session`]'s cache (`resolve::Lent`; see `resolve::Input`).
pub(crate) struct Checked<B> {
    stdlib: Vec<B>,
    /// In chunks, in order: a file's vectors as the front end filled them (moved here, never
    /// copied into one vector: that copy, and the doubling vector before it, were the
    /// peak of a large build's memory).
    user: Vec<Vec<B>>,
    first_file: Option<FileId>,
    /// How many user files `user` comes from (see `resolve::Input::user_files`).
    user_files: usize,
}

impl<B> Default for Checked<B> {
    fn default() -> Self {
        Self {
            stdlib: Vec::new(),
            user: Vec::new(),
            first_file: None,
            user_files: 0,
        }
    }
}

impl<B> Checked<B> {
    /// Add the checked blocks of file `id` (files in order), without duplicates among
    /// them (as `check::check_file` and `check::top_level_duplicates` leave them).
    pub(crate) fn add(&mut self, id: FileId, is_stdlib: bool, blocks: impl IntoIterator<Item = B>) {
        if is_stdlib {
            self.stdlib.extend(blocks);
        } else {
            self.first_file.get_or_insert(id);
            self.user_files += 1;
            let blocks: Vec<B> = blocks.into_iter().collect();
            if !blocks.is_empty() {
                self.user.push(blocks);
            }
        }
    }

    /// [`Checked::add`] of blocks in chunks (the front end's: see `front::push_chunked`);
    /// a user file's chunks are moved, not copied.
    pub(crate) fn add_chunks(&mut self, id: FileId, is_stdlib: bool, chunks: Vec<Vec<B>>) {
        if is_stdlib {
            for c in chunks {
                self.stdlib.extend(c);
            }
        } else {
            self.first_file.get_or_insert(id);
            self.user_files += 1;
            self.user
                .extend(chunks.into_iter().filter(|c| !c.is_empty()));
        }
    }
}

/// The analysis after checking: resolve, the lints, and the diagnostics in order
/// (`diagnostics`: the syntax errors and the checks' findings).
pub(crate) fn analyze_checked<B: resolve::Block>(
    sources: Sources,
    parses: Vec<Arc<Parse>>,
    checked: Checked<B>,
    diagnostics: Vec<Diagnostic>,
    options: &Options,
    timings: Timings,
) -> Analysis {
    // The lints read the trees, which then go in the analysis.
    let mut analysis = finish(
        sources,
        LintsAt::Now(lints::Syntax::Trees(&parses)),
        checked,
        diagnostics,
        options,
        timings,
    );
    analysis.parses = parses;
    analysis
}

/// When the lints run: now, reading these trees, or later, by the caller
/// ([`PendingLints`]), reading this outline.
pub(crate) enum LintsAt<'a> {
    Now(lints::Syntax<'a>),
    Later(lints::syntax::Outline),
}

/// [`analyze_checked`], the lints reading `syntax` (the analysis holds no tree), or left
/// to the caller.
pub(crate) fn finish<B: resolve::Block>(
    sources: Sources,
    lints_at: LintsAt<'_>,
    checked: Checked<B>,
    mut diagnostics: Vec<Diagnostic>,
    options: &Options,
    mut timings: Timings,
) -> Analysis {
    let mut clock = std::time::Instant::now();
    let model = resolve::resolve(
        resolve::Input {
            sources: &sources,
            stdlib: checked.stdlib,
            user: checked.user,
            env: options.env,
            first_file: checked.first_file,
            user_files: checked.user_files,
            threads: options.threads,
        },
        &mut diagnostics,
    );
    timings.lap("resolve", &mut clock);
    let pending = match lints_at {
        LintsAt::Now(syntax) => {
            lint_all(
                model.as_ref(),
                &sources,
                syntax,
                &mut diagnostics,
                &options.lint,
            );
            timings.lap("lint", &mut clock);
            None
        }
        LintsAt::Later(outline) => Some(PendingLints {
            outline,
            lint: options.lint.clone(),
        }),
    };
    Analysis {
        sources,
        parses: Vec::new(),
        diagnostics,
        model,
        timings,
        places: None,
        pending,
    }
}

/// The lints over `model`, their findings added to `diagnostics`, then the suppressions,
/// the configured severities, the order and the deduplication every analysis ends with.
fn lint_all(
    model: Option<&Deployment>,
    sources: &Sources,
    syntax: lints::Syntax<'_>,
    diagnostics: &mut Vec<Diagnostic>,
    lint: &lints::LintConfig,
) {
    // Lints run on what checked: with compile errors, over the model of the rest, keeping
    // only the findings no error could have changed (see `lints::drop_uncertain`). Whether
    // a suppression is unused is judged only once everything compiles: until then a rule
    // may not have seen what the suppression covers.
    let compiles = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    if let Some(m) = model {
        let found = lints::run(m, sources, syntax);
        if compiles {
            diagnostics.extend(found);
        } else {
            let kept = lints::drop_uncertain(found, diagnostics, sources, syntax);
            diagnostics.extend(kept);
        }
    }
    lints::apply_suppressions(diagnostics, sources, syntax, compiles);
    lints::configure(diagnostics, lint);
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    diagnostics.dedup();
}

pub(crate) fn syntax_diagnostic(file: FileId, e: &SyntaxError) -> Diagnostic {
    let mut d = Diagnostic::new(
        codes::syntax(e.code),
        e.message.clone(),
        Loc::new(file, e.span),
        e.label.clone(),
    );
    if let Some(h) = &e.help {
        d = d.with_help(h.clone());
    }
    if let Some((span, label)) = &e.secondary {
        d = d.with_secondary(Loc::new(file, *span), label.clone());
    }
    d
}
