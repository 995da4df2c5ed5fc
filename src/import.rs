//! `kumoc import DIR -o NEWDIR`: read an existing KumoMTA policy and write an equivalent
//! `.kumo` deployment. The reading and writing happen here; what the policy means is the
//! compiler's business (`kumoc_compiler::import`). NEWDIR follows `build -o`'s rules
//! (`outdir`): it is replaced only when kumoc wrote it (with an import marker), never when it
//! holds an input, and atomically.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kumoc_compiler::import::{self, Input, InputFile};
use kumoc_compiler::{Severity, render};

use crate::input::Budget;
use crate::outdir::{self, Kind, WriteError};
use crate::signals::{self, Interrupts};
use crate::{EnvArg, Shown, fail, use_color};

/// The data and policy files the import reads from a policy directory (never key files:
/// secrets are referenced by path, never read).
const READ_EXTENSIONS: &[&str] = &["lua", "toml", "json"];

pub struct Args {
    pub dir: PathBuf,
    pub out: PathBuf,
    pub policy: String,
    pub sink: Option<PathBuf>,
    pub helm_values: Vec<PathBuf>,
    pub env_vars: Vec<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub kumomta: Option<String>,
    pub environment: Option<EnvArg>,
    pub pod_cidr: Option<String>,
    pub json: bool,
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The policy directory's files (`*.lua`, `*.toml`, `*.json`, directly inside), by name.
fn read_dir(dir: &Path, budget: &mut Budget) -> Result<Vec<InputFile>, String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| READ_EXTENSIONS.contains(&x))
                && std::fs::metadata(p).is_ok_and(|m| m.is_file())
        })
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let bytes = budget
                .read(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let rel = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(InputFile {
                name: display(p),
                rel,
                bytes,
            })
        })
        .collect()
}

fn read_one(path: &Path, budget: &mut Budget) -> Result<InputFile, String> {
    let bytes = budget
        .read(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(InputFile {
        name: display(path),
        rel: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bytes,
    })
}

pub fn run(args: Args, shown: Shown) -> ExitCode {
    // DIR, or the policy file in it.
    let (dir, policy) = match std::fs::metadata(&args.dir) {
        Ok(m) if m.is_dir() => (args.dir.clone(), args.policy.clone()),
        Ok(_) => (
            args.dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
            args.dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        Err(e) => return fail(format!("cannot read {}: {e}", args.dir.display())),
    };
    let mut env = Vec::new();
    for e in &args.env_vars {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => env.push((k.to_string(), v.to_string())),
            _ => return fail(format!("--env-var takes NAME=VALUE, not `{e}`")),
        }
    }
    if let Some(tag) = &args.kumomta {
        if let Err(e) = kumoc_lang::units::parse_version(tag) {
            return fail(format!("--kumomta {tag:?}: {}", e.message));
        }
    }
    if let Some(c) = &args.pod_cidr {
        if let Err(e) = kumoc_lang::units::parse_cidr(c) {
            return fail(format!("--pod-cidr {c:?}: {}", e.message));
        }
    }
    let target = match outdir::resolve_for(&args.out, Kind::Import) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let mut budget = Budget::deployment();
    let policy_dir = match read_dir(&dir, &mut budget) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let sink_path = match &args.sink {
        Some(p) if p.is_dir() => Some(p.join("sink.lua")),
        Some(p) => Some(p.clone()),
        None => {
            let p = dir.join("sink.lua");
            p.is_file().then_some(p)
        }
    };
    let sink = match sink_path
        .as_deref()
        .map(|p| read_one(p, &mut budget))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut helm_values = Vec::new();
    for p in &args.helm_values {
        match read_one(p, &mut budget) {
            Ok(f) => helm_values.push(f),
            Err(e) => return fail(e),
        }
    }
    // Everything read is an input NEWDIR must not hold (and DIR itself).
    let mut inputs: Vec<PathBuf> = vec![dir.clone()];
    inputs.extend(policy_dir.iter().map(|f| PathBuf::from(&f.name)));
    inputs.extend(sink.iter().map(|f| PathBuf::from(&f.name)));
    inputs.extend(args.helm_values.iter().cloned());
    if let Err(e) = outdir::check(&target, &inputs, None) {
        return fail(e);
    }
    let tsa_policy = policy_dir
        .iter()
        .any(|f| f.rel == "tsa_init.lua")
        .then(|| "tsa_init.lua".to_string());
    let input = Input {
        policy_dir,
        policy,
        tsa_policy,
        sink,
        helm_values,
        env,
        name: args.name,
        namespace: args.namespace,
        kumomta: args.kumomta,
        environment: args.environment.map(|e| match e {
            EnvArg::Staging => kumoc_compiler::Environment::Staging,
            EnvArg::Production => kumoc_compiler::Environment::Production,
        }),
        pod_cidr: args.pod_cidr,
    };
    let imported = import::import(&input);

    let counts = |s: Severity| {
        imported
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    let (errors, warnings, notes) = (
        counts(Severity::Error),
        counts(Severity::Warning),
        counts(Severity::Info),
    );
    if args.json {
        let mut s = render::json(&imported.diagnostics, &imported.sources);
        s.push('\n');
        let mut out = std::io::stdout().lock();
        if out
            .write_all(s.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::from(2);
        }
    } else if !imported.diagnostics.is_empty() {
        eprint!(
            "{}",
            render::human_limited(
                &imported.diagnostics,
                &imported.sources,
                use_color(shown.color, std::io::stderr().is_terminal()),
                shown.limit(),
                "; `--max-diagnostics 0` shows all",
            )
        );
    }
    let summary = format!(
        "{} {}, {} {}, {} {}",
        errors,
        if errors == 1 { "error" } else { "errors" },
        warnings,
        if warnings == 1 { "warning" } else { "warnings" },
        notes,
        if notes == 1 { "note" } else { "notes" },
    );
    if imported.has_errors() || imported.files.is_empty() {
        eprintln!("import: {summary}; nothing written: fix the errors above");
        return ExitCode::from(1);
    }
    let mut files = imported.files.clone();
    files.insert(
        outdir::MARKER.to_string(),
        outdir::import_marker(&imported.name),
    );
    let interrupts = Interrupts::catch();
    match outdir::replace(
        &target,
        &files,
        &inputs,
        &imported.name,
        &interrupts,
        outdir::TestHooks::from_env(),
    ) {
        Ok(()) => {}
        Err(WriteError::Refused(e)) => return fail(e),
        Err(WriteError::Io(e)) => {
            return fail(format!(
                "cannot write {}: {e}; nothing was changed",
                args.out.display()
            ));
        }
        Err(WriteError::Interrupted(sig)) => {
            eprintln!(
                "kumoc: interrupted; {} was left as it was",
                args.out.display()
            );
            signals::terminate_by(sig);
        }
        // An import writes what it read; it withdraws nothing.
        Err(WriteError::Withdrawn) => return fail("nothing was changed"),
    }
    eprintln!("import: {summary}");
    let wrote = format!(
        "wrote {} files to {}; next: kumoc check {}",
        imported.files.len(),
        args.out.display(),
        args.out.display()
    );
    // With --json, stdout holds the JSON only.
    if args.json {
        eprintln!("{wrote}");
    } else {
        println!("{wrote}");
    }
    ExitCode::SUCCESS
}
