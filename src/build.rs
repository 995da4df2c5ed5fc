//! `kumoc build`: check, emit, and replace the output directory atomically. On any error
//! diagnostic nothing is written and the old output stays as it was; what `-o` may replace,
//! and how, is `outdir`'s business.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kumoc_compiler::{Severity, Timings, Trees, analyze_paths_owned, emit, render};

use crate::outdir::{self, WriteError};
use crate::signals::{self, Interrupts};
use crate::{EnvArg, Shown, absolute_names, collect, fail, options, read_all, summary, use_color};

pub struct Flags {
    pub check: bool,
    pub secrets: bool,
    pub timings: bool,
    /// `--jobs`: threads that may read one large file (`Options::threads`) and write one
    /// large data file (`emit::emit_into`).
    pub jobs: usize,
}

pub fn run(
    paths: &[PathBuf],
    out: &Path,
    env: Option<EnvArg>,
    flags: Flags,
    shown: Shown,
) -> ExitCode {
    let check = flags.check;
    let mut clock = Instant::now();
    let mut inputs = match collect(paths) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    // `-o` is judged before any work, so a refusal costs nothing and touches nothing; it is
    // judged again, with the deployment's name, just before the write. `--check` only reads.
    let target = if check {
        None
    } else {
        match outdir::resolve(out).and_then(|t| outdir::check(&t, &inputs, None).map(|_| t)) {
            Ok(t) => Some(t),
            Err(e) => return fail(e),
        }
    };
    let files = match read_all(&inputs) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut timings = Timings::default();
    timings.lap("read", &mut clock);
    // The analysis takes the bytes read: they become the sources' text without a copy. It
    // drops each statement's syntax tree once checked, and indexes the places meanwhile.
    let (n_files, names) = (files.len(), absolute_names(&files));
    let options = kumoc_compiler::Options {
        threads: flags.jobs,
        ..options(env)
    };
    // With two threads the lints run beside the emit (`produce` below); `--check` and
    // `--secrets` run them first, as one thread does.
    let later = flags.jobs >= 2 && !check && !flags.secrets;
    let trees = if later {
        Trees::DropWithPlacesLintsLater
    } else {
        Trees::DropWithPlaces
    };
    let mut analysis = analyze_paths_owned(files, &names, &options, trees);
    timings.0.extend(analysis.timings.0.iter().copied());
    clock = Instant::now();
    let mut pending = analysis.pending.take();
    // With an error already, nothing is emitted: the lints run now.
    if analysis.checked_model().is_none() {
        if let Some(lints) = pending.take() {
            lints.run(
                analysis.model.as_ref(),
                &analysis.sources,
                &mut analysis.diagnostics,
            );
            timings.lap("lint", &mut clock);
        }
    }
    let show = |analysis: &kumoc_compiler::Analysis| {
        if !analysis.diagnostics.is_empty() {
            let text = render::human_limited(
                &analysis.diagnostics,
                &analysis.sources,
                use_color(shown.color, std::io::stderr().is_terminal()),
                shown.limit(),
                "; `--max-diagnostics 0` shows all",
            );
            eprint!("{text}");
        }
    };
    if pending.is_none() {
        show(&analysis);
    }
    // The lints beside the emit add to the diagnostics (no error among them so far).
    let mut diagnostics = if pending.is_some() {
        std::mem::take(&mut analysis.diagnostics)
    } else {
        Vec::new()
    };
    // The emitters read the model and the places of its values, indexed by the analysis.
    let places = analysis.take_places();
    // Nothing is emitted, so nothing written, when there is an error.
    let Some(model) = analysis.checked_model() else {
        eprint!("{}", summary(&analysis, n_files));
        eprintln!("nothing written: fix the errors above");
        return ExitCode::from(1);
    };
    // `--secrets`: the files are read, and their sizes judged, before anything is written.
    let secrets = if flags.secrets {
        match read_secret_files(model, &analysis.sources) {
            Ok((contents, paths)) => {
                let too_large = emit::secret_size_errors(model, &contents);
                if !too_large.is_empty() {
                    eprint!(
                        "{}",
                        render::human_limited(
                            &too_large,
                            &analysis.sources,
                            use_color(shown.color, std::io::stderr().is_terminal()),
                            shown.limit(),
                            "; `--max-diagnostics 0` shows all",
                        )
                    );
                    eprintln!("nothing written: fix the errors above");
                    return ExitCode::from(1);
                }
                inputs.extend(paths);
                emit::secrets(model, &contents)
            }
            Err(e) => return fail(e),
        }
    } else {
        emit::Output::default()
    };
    let deployment = model.name.value.clone();
    let marker = outdir::marker(&deployment);
    if check {
        let mut output = emit::emit(model, &places);
        output.files.extend(secrets.files);
        let emitted_count = output.len();
        output.files.insert(outdir::MARKER.to_string(), marker);
        let stale = outdir::differences(out, &output.files);
        if stale.is_empty() {
            println!("{} is up to date ({emitted_count} files)", out.display());
            return ExitCode::SUCCESS;
        }
        println!("{} is stale; run kumoc build to update:", out.display());
        for s in stale {
            println!("  {s}");
        }
        return ExitCode::from(1);
    }
    let Some(target) = target else {
        return fail("internal error: no output directory");
    };
    let interrupts = Interrupts::catch();
    // The lints left to run beside the emit, on a thread of their own, with the diagnostics
    // they add to; what they found, and how long they took, once joined.
    let mut linted: Option<(Vec<kumoc_compiler::Diagnostic>, Duration)> = None;
    let sources = &analysis.sources;
    // Each file is written out as it is emitted (the data shards and their ConfigMaps, nearly
    // all of a large deployment's output, one at a time), so the output is never all in
    // memory. `--timings` shows the emitters' time as `emit`, and the rest as `write`.
    let produce = |tree: &mut outdir::Tree<'_>| {
        let emit_all = |tree: &mut outdir::Tree<'_>| {
            let start = Instant::now();
            let mut timed = Timed {
                tree,
                spent: Duration::ZERO,
            };
            let count = emit::emit_into(model, &places, flags.jobs, &mut timed)?;
            Ok::<_, WriteError>((count, start.elapsed().saturating_sub(timed.spent)))
        };
        let (mut count, emitting) = match &pending {
            None => emit_all(tree)?,
            Some(lints) => std::thread::scope(|scope| {
                let mut found = std::mem::take(&mut diagnostics);
                let beside = scope.spawn(move || {
                    let start = Instant::now();
                    lints.run(Some(model), sources, &mut found);
                    (found, start.elapsed())
                });
                let emitted = emit_all(tree);
                // A lint that panics fails the build as it does on one thread.
                match beside.join() {
                    Ok(done) => linted = Some(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
                emitted
            })?,
        };
        // A lint of error severity (an inline secret): what was written is withdrawn.
        if let Some((found, _)) = &linted {
            if found.iter().any(|d| d.severity == Severity::Error) {
                return Err(WriteError::Withdrawn);
            }
        }
        for (path, text) in secrets.files {
            tree.write(&path, text.as_bytes())?;
            count += 1;
        }
        Ok((count, emitting))
    };
    let written = outdir::replace_with(
        &target,
        &marker,
        &inputs,
        &deployment,
        &interrupts,
        outdir::TestHooks::from_env(),
        produce,
    );
    // Refused before anything was produced: the lints run now, so their findings are shown.
    if let (None, Some(lints)) = (&linted, &pending) {
        let start = Instant::now();
        lints.run(Some(model), sources, &mut diagnostics);
        linted = Some((diagnostics, start.elapsed()));
    }
    if let Some((found, took)) = linted {
        analysis.diagnostics = found;
        timings.0.push(("lint", took));
        show(&analysis);
    }
    let emitted_count = match written {
        Err(WriteError::Withdrawn) => {
            eprint!("{}", summary(&analysis, n_files));
            eprintln!("nothing written: fix the errors above");
            return ExitCode::from(1);
        }
        Ok((count, emitting)) => {
            timings.0.push(("emit", emitting));
            timings
                .0
                .push(("write", clock.elapsed().saturating_sub(emitting)));
            count
        }
        Err(WriteError::Refused(e)) => return fail(e),
        Err(WriteError::Io(e)) => {
            return fail(format!(
                "cannot write {}: {e}; nothing was changed",
                out.display()
            ));
        }
        Err(WriteError::Interrupted(sig)) => {
            eprintln!("kumoc: interrupted; {} was left as it was", out.display());
            signals::terminate_by(sig);
        }
    };
    if flags.timings {
        print_timings(&timings);
    }
    let warnings = analysis.count(Severity::Warning);
    let note = if warnings > 0 {
        format!(" ({warnings} warnings)")
    } else {
        String::new()
    };
    println!("wrote {emitted_count} files to {}{note}", out.display());
    // The process exits now, and the system takes its memory back at once: freeing the
    // analysis block by block (a 10,000-domain build's 35 MiB of small blocks, each freed
    // page handed back to the system) took 2.5-9 ms of a 120-150 ms build.
    std::mem::forget((analysis, places));
    ExitCode::SUCCESS
}

/// A sink into the tree that counts the time spent writing (the rest of the emit is the
/// emitters'). A fork's writes, on the emit's second thread, are not counted: they overlap
/// this thread's work, and `--timings` counts them as the emit's.
struct Timed<'a, 'b> {
    tree: &'a mut outdir::Tree<'b>,
    spent: Duration,
}

impl<'b> emit::Sink for Timed<'_, 'b> {
    type Error = WriteError;
    type Fork = outdir::Tree<'b>;

    fn fork(&self) -> Option<outdir::Tree<'b>> {
        Some(self.tree.fork())
    }

    fn join(&mut self, fork: outdir::Tree<'b>) {
        self.tree.join(fork);
    }

    fn file(&mut self, path: &str, content: &[u8]) -> Result<(), WriteError> {
        let start = Instant::now();
        let written = self.tree.write(path, content);
        self.spent += start.elapsed();
        written
    }
}

/// Read the files `secret` blocks name, relative to the `.kumo` file that names them. Only
/// names and paths ever appear in messages, never content.
/// Returns the contents and the paths read (inputs that `-o` must not replace).
fn read_secret_files(
    model: &kumoc_compiler::Deployment,
    sources: &kumoc_compiler::Sources,
) -> Result<(emit::k8s::SecretContents, Vec<PathBuf>), String> {
    let mut contents = emit::k8s::SecretContents::new();
    let mut paths = Vec::new();
    for (secret, key, path, kumo_file) in emit::secret_files(model, sources) {
        let base = Path::new(&kumo_file).parent().unwrap_or(Path::new("."));
        let full = base.join(&path);
        let bytes = crate::input::Budget::secret_file()
            .read(&full)
            .map_err(|e| {
                format!(
                    "secret {secret:?} key {key:?}: cannot read {}: {e}",
                    full.display()
                )
            })?;
        contents.entry(secret).or_default().insert(key, bytes);
        paths.push(full);
    }
    Ok((contents, paths))
}

/// `--timings`: one line per phase and the total, on stderr.
fn print_timings(t: &Timings) {
    let total: std::time::Duration = t.0.iter().map(|(_, d)| *d).sum();
    for (phase, d) in &t.0 {
        eprintln!("{phase:>8} {:>9.1} ms", d.as_secs_f64() * 1e3);
    }
    eprintln!("{:>8} {:>9.1} ms", "total", total.as_secs_f64() * 1e3);
}
