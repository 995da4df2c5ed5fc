//! `kumoc build`: check, emit, and replace the output directory atomically. On any error
//! diagnostic nothing is written and the old output stays as it was.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use kumoc_compiler::{Severity, Timings, analyze_paths, emit, render};

use crate::{
    ColorChoice, EnvArg, absolute_names, collect, fail, options, read_all, summary, use_color,
};

pub struct Flags {
    pub check: bool,
    pub secrets: bool,
    pub timings: bool,
}

pub fn run(
    paths: &[PathBuf],
    out: &Path,
    env: Option<EnvArg>,
    flags: Flags,
    color: ColorChoice,
) -> ExitCode {
    let check = flags.check;
    let mut clock = Instant::now();
    let files = match collect(paths).and_then(|f| read_all(&f)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut timings = Timings::default();
    timings.lap("read", &mut clock);
    let mut analysis = analyze_paths(&files, &absolute_names(&files), &options(env));
    timings.0.extend(analysis.timings.0.iter().copied());
    clock = Instant::now();
    if !analysis.diagnostics.is_empty() {
        let text = render::human(
            &analysis.diagnostics,
            &analysis.sources,
            use_color(color, std::io::stderr().is_terminal()),
        );
        eprint!("{text}");
    }
    // The emitters read the model and the places of its values: index the places, then
    // free the syntax trees (a large deployment's trees are a quarter of the peak memory).
    let places = emit::Places::new(&analysis.sources, &analysis.parses);
    analysis.parses = Vec::new();
    let emitted = emit::emit_with(&analysis, &places);
    timings.lap("emit", &mut clock);
    let Some(mut output) = emitted else {
        eprint!("{}", summary(&analysis, files.len()));
        eprintln!("nothing written: fix the errors above");
        return ExitCode::from(1);
    };
    if flags.secrets {
        match read_secret_files(&analysis) {
            Ok(contents) => {
                if let Some(s) = emit::secrets(&analysis, &contents) {
                    output.files.extend(s.files);
                }
            }
            Err(e) => return fail(e),
        }
    }
    if check {
        let stale = differences(out, &output.files);
        if stale.is_empty() {
            println!(
                "{} is up to date ({} files)",
                out.display(),
                output.files.len()
            );
            return ExitCode::SUCCESS;
        }
        println!("{} is stale; run kumoc build to update:", out.display());
        for s in stale {
            println!("  {s}");
        }
        return ExitCode::from(1);
    }
    if let Err(e) = replace_dir(out, &output.files) {
        return fail(format!("cannot write {}: {e}", out.display()));
    }
    timings.lap("write", &mut clock);
    if flags.timings {
        print_timings(&timings);
    }
    let warnings = analysis.count(Severity::Warning);
    let note = if warnings > 0 {
        format!(" ({warnings} warnings)")
    } else {
        String::new()
    };
    println!(
        "wrote {} files to {}{note}",
        output.files.len(),
        out.display()
    );
    ExitCode::SUCCESS
}

/// Files that would change: missing, different, or present but no longer emitted.
fn differences(dir: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, content) in files {
        match std::fs::read(dir.join(rel)) {
            Ok(bytes) if bytes == content.as_bytes() => {}
            Ok(_) => out.push(format!("changed: {rel}")),
            Err(_) => out.push(format!("missing: {rel}")),
        }
    }
    let mut existing = Vec::new();
    list_files(dir, dir, &mut existing);
    for rel in existing {
        if !files.contains_key(&rel) {
            out.push(format!("extra:   {rel}"));
        }
    }
    out
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            list_files(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Write everything into a fresh sibling directory, then swap it in with renames, so the
/// output directory is always either the old tree or the new one.
fn replace_dir(dir: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let pid = std::process::id();
    let tmp = parent.join(format!(".{base}.kumoc-new-{pid}"));
    let old = parent.join(format!(".{base}.kumoc-old-{pid}"));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| {
        for (rel, content) in files {
            let path = tmp.join(rel);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p)?;
            }
            let mut f = std::fs::File::create(&path)?;
            f.write_all(content.as_bytes())?;
            f.sync_all()?;
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old)?;
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// Read the files `secret` blocks name, relative to the `.kumo` file that names them. Only
/// names and paths ever appear in messages, never content.
fn read_secret_files(
    analysis: &kumoc_compiler::Analysis,
) -> Result<emit::k8s::SecretContents, String> {
    let mut contents = emit::k8s::SecretContents::new();
    for (secret, key, path, kumo_file) in emit::secret_files(analysis) {
        let base = Path::new(&kumo_file).parent().unwrap_or(Path::new("."));
        let full = base.join(&path);
        let bytes = std::fs::read(&full).map_err(|e| {
            format!(
                "secret {secret:?} key {key:?}: cannot read {}: {e}",
                full.display()
            )
        })?;
        contents.entry(secret).or_default().insert(key, bytes);
    }
    Ok(contents)
}

/// `--timings`: one line per phase and the total, on stderr.
fn print_timings(t: &Timings) {
    let total: std::time::Duration = t.0.iter().map(|(_, d)| *d).sum();
    for (phase, d) in &t.0 {
        eprintln!("{phase:>8} {:>9.1} ms", d.as_secs_f64() * 1e3);
    }
    eprintln!("{:>8} {:>9.1} ms", "total", total.as_secs_f64() * 1e3);
}
