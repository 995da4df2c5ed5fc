//! `kumoc`: the command-line interface. The only place that reads and writes files, looks
//! at the terminal and chooses the exit code (0 clean, 1 error diagnostics, 2 usage or IO
//! failure).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use kumoc_compiler::{Analysis, Environment, Options, Severity, analyze, codes, render};

mod build;
mod init;

#[derive(Parser)]
#[command(
    name = "kumoc",
    version,
    about = "Compiler, linter and language server for .kumo KumoMTA deployments",
    long_about = "kumoc checks .kumo files, which describe one KumoMTA email deployment on \
Kubernetes, and reports every problem with a stable code, the exact place and a way to fix it.",
    after_help = "Exit status: 0 when there are no errors, 1 when there are error diagnostics, \
2 when kumoc could not run (bad arguments, unreadable files).\n\nRun `kumoc explain CODE` to learn about a diagnostic."
)]
struct Cli {
    /// When to use colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Annotated source snippets.
    Human,
    /// A JSON array, one object per diagnostic (code, severity, message, file, line, column, byte range).
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EnvArg {
    Staging,
    Production,
}

#[derive(Subcommand)]
enum Command {
    /// Check a deployment: a .kumo file or a directory of them (one deployment).
    Check {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Check the deployment as built for this environment (applies its `env` block).
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Build a deployment: the KumoMTA policy into DIR/policy/ (nothing is written on errors).
    Build {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output directory; replaced as a whole, atomically.
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
        /// Build for this environment (applies its `env` block).
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// Do not write: exit 1 and list the files that differ when DIR is stale.
        #[arg(long)]
        check: bool,
        /// Also build Secret manifests into DIR/secrets/ from the files each `secret` block
        /// names (their content is never printed). Without it, the manifests only reference
        /// Secrets that exist in the cluster.
        #[arg(long)]
        secrets: bool,
    },
    /// Format .kumo files in place, keeping every comment.
    Fmt {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Do not write; list the files that are not formatted and exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Explain a diagnostic code (e.g. `kumoc explain K2003`), or list them all.
    Explain {
        /// The code or its name (`K2003`, `invalid-rate`); omit to list every code.
        code: Option<String>,
    },
    /// Write a commented starter deployment that checks clean.
    Init {
        /// Directory to create it in.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Deployment name (also the prefix of every Kubernetes object).
        #[arg(long, default_value = "my-mta")]
        name: String,
        /// Overwrite an existing deployment.kumo.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
    let color = cli.color;
    match cli.command {
        Command::Check { paths, env, format } => check(&paths, env, format, color),
        Command::Build {
            paths,
            out,
            env,
            check,
            secrets,
        } => build::run(&paths, &out, env, build::Flags { check, secrets }, color),
        Command::Fmt { paths, check } => fmt(&paths, check, color),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Init { dir, name, force } => init::run(&dir, &name, force),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kumoc", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// Exit code 2: kumoc could not do its job.
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("kumoc: error: {message}");
    ExitCode::from(2)
}

pub(crate) fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

/// Expand paths into `.kumo` files: a file as given, a directory's `*.kumo` sorted by name.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("cannot read directory {}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "kumo") && f.is_file())
                .collect();
            if found.is_empty() {
                return Err(format!("no .kumo files in {}", p.display()));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub(crate) fn read_all(files: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, String> {
    files
        .iter()
        .map(|f| {
            std::fs::read(f)
                .map(|bytes| (display(f), bytes))
                .map_err(|e| format!("cannot read {}: {e}", f.display()))
        })
        .collect()
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn check(paths: &[PathBuf], env: Option<EnvArg>, format: Format, color: ColorChoice) -> ExitCode {
    let files = match collect(paths).and_then(|f| read_all(&f)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let analysis = analyze(&files, &options(env));
    let out = match format {
        Format::Human => {
            let mut s = render::human(
                &analysis.diagnostics,
                &analysis.sources,
                use_color(color, std::io::stdout().is_terminal()),
            );
            s.push_str(&summary(&analysis, files.len()));
            s
        }
        Format::Json => {
            let mut s = render::json(&analysis.diagnostics, &analysis.sources);
            s.push('\n');
            s
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    if analysis.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn options(env: Option<EnvArg>) -> Options {
    Options {
        env: env.map(|e| match e {
            EnvArg::Staging => Environment::Staging,
            EnvArg::Production => Environment::Production,
        }),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub(crate) fn summary(a: &Analysis, files: usize) -> String {
    let errors = a.count(Severity::Error);
    let warnings = a.count(Severity::Warning);
    let env = a
        .model
        .as_ref()
        .map(|m| format!(" ({})", m.environment.value.name()))
        .unwrap_or_default();
    if errors == 0 && warnings == 0 {
        format!("checked {}{env}: no problems\n", plural(files, "file"))
    } else {
        format!(
            "checked {}{env}: {}, {}\n",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

fn fmt(paths: &[PathBuf], check_only: bool, color: ColorChoice) -> ExitCode {
    let files = match collect(paths).and_then(|f| read_all(&f)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut unformatted = 0;
    let mut broken = 0;
    for (name, bytes) in &files {
        let (text, decode_err) = kumoc_lang::decode(bytes);
        let result = match decode_err {
            Some(e) => Err(vec![e]),
            None => kumoc_lang::format::format(&text),
        };
        match result {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                unformatted += 1;
                if check_only {
                    println!("would reformat {name}");
                } else if let Err(e) = write_atomically(Path::new(name), formatted.as_bytes()) {
                    return fail(format!("cannot write {name}: {e}"));
                } else {
                    println!("formatted {name}");
                }
            }
            Err(errors) => {
                broken += 1;
                let mut sources = kumoc_compiler::Sources::default();
                let id = sources.add(kumoc_compiler::SourceFile::new(name.clone(), text, false));
                let diags: Vec<_> = errors
                    .iter()
                    .map(|e| {
                        let mut d = kumoc_compiler::Diagnostic::new(
                            e.code.code(),
                            e.message.clone(),
                            kumoc_compiler::diagnostic::Loc::new(id, e.span),
                            e.label.clone(),
                        );
                        d.help = e.help.clone();
                        d
                    })
                    .collect();
                eprint!(
                    "{}",
                    render::human(
                        &diags,
                        &sources,
                        use_color(color, std::io::stderr().is_terminal())
                    )
                );
                eprintln!("not formatted: {name} has syntax errors");
            }
        }
    }
    if broken > 0 || (check_only && unformatted > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Write through a temporary file in the same directory and rename it into place, so a
/// failure never leaves a half-written file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.kumoc-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn explain(code: Option<&str>) -> ExitCode {
    match code {
        None => {
            for c in codes::CODES {
                println!(
                    "{}  {:<24} {:<10} {}",
                    c.code,
                    c.name,
                    c.phase.name(),
                    c.summary
                );
            }
            ExitCode::SUCCESS
        }
        Some(code) => match codes::lookup(code) {
            Some(c) => {
                println!("# {}: {}\n", c.code, c.name);
                println!(
                    "{} (default severity {}, {} phase)\n",
                    c.summary,
                    c.severity.as_str(),
                    c.phase.name()
                );
                println!("{}", c.explanation.trim_end());
                ExitCode::SUCCESS
            }
            None => fail(format!(
                "unknown code `{code}`; `kumoc explain` lists every code"
            )),
        },
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let version = env!("CARGO_PKG_VERSION");
        eprintln!(
            "kumoc {version}: internal error: {info}\n\nThis is a bug in kumoc, not in your files. Please report it with the input that caused it, \
             the command line, and this message (OS: {}).",
            std::env::consts::OS
        );
        // Exit status 2: kumoc itself failed (never 1, which means "your files have errors").
        std::process::exit(2);
    }));
}
