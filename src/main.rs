//! `kumoc`: the command-line interface. The only place that reads and writes files, looks
//! at the terminal and chooses the exit code (0 clean, 1 error diagnostics, 2 usage or IO
//! failure).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use kumoc_compiler::{Analysis, Environment, Options, Severity, codes, render};

mod build;
mod dkim;
mod dns;
mod graph;
mod import;
mod init;
mod input;
mod outdir;
mod route;
mod signals;

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

/// Human output shows this many diagnostics by default (`--max-diagnostics`): a screenful
/// of problems is what a person acts on; the summary line still counts every one.
const DEFAULT_MAX_DIAGNOSTICS: usize = 100;

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
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum Deny {
    /// Treat warnings as errors (exit 1 on any warning).
    Warnings,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EnvArg {
    Staging,
    Production,
}

#[derive(Subcommand)]
enum DkimCommand {
    /// Generate a key pair for each `dkim` block, written where its Secret is built from
    /// (the file the `secret` block names in `files`, or `--dir`), mode 0600; an existing
    /// key is kept unless `--force`. Prints the DNS records of the new keys, never a private
    /// key.
    Keygen {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// Where to write keys whose Secret names no file: `DIR/<key name>`.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Replace existing key files (the old keys stop verifying once the new records are
        /// published).
        #[arg(long)]
        force: bool,
    },
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
        /// `--deny warnings`: warnings count as errors.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
        /// Change a rule's severity: `--severity KUMO-TLS003=error`; levels error, warning,
        /// info, off. Only lints and warnings can be changed.
        #[arg(long, value_name = "CODE=LEVEL")]
        severity: Vec<String>,
        /// Apply safe fixes to the files, then report what is left (files are reformatted).
        #[arg(long)]
        fix: bool,
        /// With --fix, also apply unsafe fixes (they change behaviour; read the diff).
        #[arg(long, requires = "fix")]
        unsafe_fixes: bool,
        /// Human output: show at most N diagnostics (the most severe first), then how many
        /// more there are; 0 shows all. Other formats always list all.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DIAGNOSTICS)]
        max_diagnostics: usize,
        /// Read a large file (256 KiB or more) on up to N threads (at most 8), and with 2 or
        /// more resolve 2,048 or more `domain`, `queue` and `shaping` blocks in two parts at
        /// once: faster, the same result. Default: 2 where the machine has two CPUs or more,
        /// else 1 (`-j 4` needed 5% more memory than 2 at 10,000 domains).
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
        jobs: Option<u8>,
    },
    /// Build a deployment: the KumoMTA policy into DIR/policy/ (nothing is written on errors).
    Build {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output directory, replaced as a whole and atomically, only when it does not
        /// exist, is empty, or holds a previous output of this deployment (marked by the
        /// `.kumoc-output` file kumoc writes in it).
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
        /// Print how long each phase took (read, parse, check, resolve, lint, emit, write).
        #[arg(long)]
        timings: bool,
        /// Show at most N diagnostics (the most severe first), then how many more there
        /// are; 0 shows all.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DIAGNOSTICS)]
        max_diagnostics: usize,
        /// Read a large file (256 KiB or more) on up to N threads (at most 8), and with 2 or
        /// more resolve 2,048 or more `domain`, `queue` and `shaping` blocks and write each
        /// data file of 8,192 entries or more in two parts at once: faster, the same result.
        /// Default: 2 where the machine has two CPUs or more, else 1 (`-j 4` needed 5% more
        /// memory than 2 at 10,000 domains).
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
        jobs: Option<u8>,
    },
    /// Import an existing KumoMTA policy (init.lua and its helper files) as a .kumo deployment
    ///
    /// The Lua is read, never run; the helpers' data files are imported completely; the Helm
    /// values, when given, inform the `deployment` and `cluster` blocks and the environment
    /// the policy reads. What .kumo cannot express is listed with the line it came from
    /// (K4xxx, `kumoc explain K4003`); secrets become `secret(...)` references, never values.
    Import {
        /// The policy directory as mounted at /opt/kumomta/etc/policy (init.lua, the helpers'
        /// data files, tsa_init.lua), or its init.lua.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Output directory for the .kumo files, replaced as a whole and atomically, only when
        /// it does not exist, is empty, or holds a previous import of this deployment.
        #[arg(short, long, value_name = "NEWDIR")]
        out: PathBuf,
        /// The MTA policy's name in DIR.
        #[arg(long, value_name = "FILE", default_value = "init.lua")]
        policy: String,
        /// The sink's policy: a file, or a directory holding sink.lua (default: DIR/sink.lua
        /// when there is one).
        #[arg(long, value_name = "PATH")]
        sink: Option<PathBuf>,
        /// Helm values the chart renders the pods from (image, replicas, resources, the
        /// containers' environment, Secret volumes); repeat for several, later ones win.
        #[arg(long = "helm-values", value_name = "FILE")]
        helm_values: Vec<PathBuf>,
        /// An environment variable the policy reads with `os.getenv`: its value is written
        /// into the .kumo files (repeatable; wins over the Helm values).
        #[arg(long = "env-var", value_name = "NAME=VALUE")]
        env_var: Vec<String>,
        /// The deployment's name (default: from the TSA and sink service names in the policy).
        #[arg(long)]
        name: Option<String>,
        /// The namespace (default: from the service names in the policy).
        #[arg(long)]
        namespace: Option<String>,
        /// The KumoMTA release (default: the Helm values' image tag).
        #[arg(long, value_name = "TAG")]
        kumomta: Option<String>,
        /// The deployment's environment (default: staging when the sink is on, else production).
        #[arg(long, value_enum)]
        environment: Option<EnvArg>,
        /// The pods' network (default: what TSA trusts, or what the sink relays for).
        #[arg(long, value_name = "CIDR")]
        pod_cidr: Option<String>,
        /// Diagnostics as JSON on stdout (one object each) instead of human text on stderr.
        #[arg(long)]
        json: bool,
        /// Show at most N diagnostics (the most severe first), then how many more there
        /// are; 0 shows all.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DIAGNOSTICS)]
        max_diagnostics: usize,
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
    /// Print the DNS records the deployment needs (DKIM, SPF, DMARC, reverse DNS), or check
    /// a recorded DNS snapshot against them.
    #[command(
        after_help = "Records: a zone-file fragment (default), JSON, or an external-dns \
DNSEndpoint. Public keys come from the private (or public) key files: `--keys DIR`, or the \
files the `secret` blocks name. Private keys are never printed.\n\nChecking: `--queries` lists \
what to look up; record the answers with `dig +noall +question +answer NAME TYPE` into a file \
and pass it to `--check FILE`: the DNS rules (KUMO-DNS002/3/5/6, KUMO-SHP001/2/3) run against \
it. kumoc itself never queries the network."
    )]
    Dns {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The environment (applies its `env` block).
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// A directory of DKIM key files, named like the Secret's keys
        /// (`example.com.default.key`) or `<domain>/<selector>.key`.
        #[arg(long, value_name = "DIR")]
        keys: Option<PathBuf>,
        /// An address mail leaves from that .kumo does not say (a NAT gateway), for SPF.
        #[arg(long, value_name = "IP")]
        egress_ip: Vec<std::net::IpAddr>,
        /// DMARC policy to publish.
        #[arg(long, value_enum)]
        dmarc_policy: Option<dns::DmarcPolicy>,
        /// DMARC aggregate report address (`mailto:dmarc@example.com`); repeatable.
        #[arg(long, value_name = "URI")]
        dmarc_rua: Vec<String>,
        /// TTL of the records, in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u32,
        /// Output format (with `--check`: `json` lists the findings as JSON).
        #[arg(long, value_enum, default_value_t = dns::DnsFormat::Zone)]
        format: dns::DnsFormat,
        /// Check a recorded DNS snapshot (zone-file lines, as dig prints them) against the
        /// records the deployment needs; exit 1 on errors.
        #[arg(long, value_name = "SNAPSHOT")]
        check: Option<PathBuf>,
        /// Print the names and types a snapshot must answer (`NAME TYPE` per line).
        #[arg(long, conflicts_with = "check")]
        queries: bool,
        /// Show at most N findings with `--check`; 0 shows all.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DIAGNOSTICS)]
        max_diagnostics: usize,
    },
    /// DKIM key management.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
    /// Show where mail to a domain goes, offline: queue, pool, sources and weights, the
    /// effective shaping (each value with its layer and place), automation rules, and the
    /// limits across pods.
    Route {
        /// The recipient domain.
        domain: String,
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The environment (applies its `env` block; the sink of staging takes all mail).
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// The domain's MX hosts in preference order, comma-separated.
        #[arg(long, value_name = "HOST,...")]
        mx: Option<String>,
        /// A DNS snapshot (see `kumoc dns --help`): the MX of the domain (unless `--mx`) and
        /// of the other shaping domains, which may share its site.
        #[arg(long, value_name = "SNAPSHOT")]
        snapshot: Option<PathBuf>,
        /// The tenant (default: the deployment's `default_tenant`).
        #[arg(long)]
        tenant: Option<String>,
        /// The campaign.
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long, value_enum, default_value_t = route::RouteFormat::Human)]
        format: route::RouteFormat,
        /// Show at most N sources of the pool (the heaviest); JSON lists all.
        #[arg(long, value_name = "N", default_value_t = 8)]
        top: usize,
    },
    /// Draw the deployment: listeners, queues, pools, sources, providers, and the pods with
    /// TSA, Redis and the sink.
    Graph {
        /// Files or directories (every `*.kumo` directly inside; not recursive).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The environment (applies its `env` block).
        #[arg(long, value_enum)]
        env: Option<EnvArg>,
        /// Mermaid text (for Markdown) or a standalone SVG.
        #[arg(long, value_enum, default_value_t = graph::GraphFormat::Mermaid)]
        format: graph::GraphFormat,
        /// Draw at most N items of each kind (pools, sources, domains), then count the rest.
        #[arg(long, value_name = "N", default_value_t = 8)]
        top: usize,
        /// Write to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run the language server on stdin/stdout (what editors start).
    Lsp,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    install_panic_hook();
    signals::ignore_file_size_signal();
    let cli = Cli::parse();
    // The allocator (mimalloc, `kumoc-alloc`): a batch command gives freed pages back at
    // once, which lowers a build's peak; the server keeps them for its next analysis.
    if !matches!(cli.command, Command::Lsp) {
        kumoc_alloc::return_freed_memory_at_once();
    }
    let color = cli.color;
    match cli.command {
        Command::Check {
            paths,
            env,
            format,
            deny,
            severity,
            fix,
            unsafe_fixes,
            max_diagnostics,
            jobs,
        } => {
            let lint = match lint_config(deny, &severity) {
                Ok(l) => l,
                Err(e) => return fail(e),
            };
            check(
                &paths,
                env,
                lint,
                format,
                Fixes {
                    apply: fix,
                    unsafe_fixes,
                },
                Shown {
                    color,
                    max_diagnostics,
                },
                jobs_or_default(jobs),
            )
        }
        Command::Build {
            paths,
            out,
            env,
            check,
            secrets,
            timings,
            max_diagnostics,
            jobs,
        } => build::run(
            &paths,
            &out,
            env,
            build::Flags {
                check,
                secrets,
                timings,
                jobs: jobs_or_default(jobs),
            },
            Shown {
                color,
                max_diagnostics,
            },
        ),
        Command::Import {
            dir,
            out,
            policy,
            sink,
            helm_values,
            env_var,
            name,
            namespace,
            kumomta,
            environment,
            pod_cidr,
            json,
            max_diagnostics,
        } => import::run(
            import::Args {
                dir,
                out,
                policy,
                sink,
                helm_values,
                env_vars: env_var,
                name,
                namespace,
                kumomta,
                environment,
                pod_cidr,
                json,
            },
            Shown {
                color,
                max_diagnostics,
            },
        ),
        Command::Fmt { paths, check } => fmt(&paths, check, color),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Init { dir, name, force } => init::run(&dir, &name, force),
        Command::Dns {
            paths,
            env,
            keys,
            egress_ip,
            dmarc_policy,
            dmarc_rua,
            ttl,
            format,
            check,
            queries,
            max_diagnostics,
        } => dns::run(dns::DnsArgs {
            paths,
            env,
            keys,
            egress_ip,
            dmarc_policy,
            dmarc_rua,
            ttl,
            format,
            check,
            queries,
            shown: Shown {
                color,
                max_diagnostics,
            },
        }),
        Command::Dkim {
            command:
                DkimCommand::Keygen {
                    paths,
                    env,
                    dir,
                    force,
                },
        } => dns::keygen(
            &paths,
            env,
            dir.as_deref(),
            force,
            Shown {
                color,
                max_diagnostics: DEFAULT_MAX_DIAGNOSTICS,
            },
        ),
        Command::Route {
            domain,
            paths,
            env,
            mx,
            snapshot,
            tenant,
            campaign,
            format,
            top,
        } => route::run(route::RouteArgs {
            domain,
            paths,
            env,
            mx,
            snapshot,
            tenant,
            campaign,
            format,
            top,
            shown: Shown {
                color,
                max_diagnostics: DEFAULT_MAX_DIAGNOSTICS,
            },
        }),
        Command::Graph {
            paths,
            env,
            format,
            top,
            out,
        } => graph::run(&paths, env, format, top, out.as_deref(), color),
        Command::Lsp => {
            let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            else {
                return fail("cannot start the async runtime");
            };
            rt.block_on(kumoc_lsp::run_stdio());
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kumoc", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// `--jobs`, or its default: 2 threads where the machine has two CPUs or more (a
/// 10,000-domain build reads its file in 30 ms instead of 50, with the same peak memory;
/// more threads measured more memory), else 1.
fn jobs_or_default(jobs: Option<u8>) -> usize {
    jobs.map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(2)))
}

/// Write a command's output to stdout: success, or exit code 2 when stdout is gone (a closed
/// pipe: `kumoc dns ... | head`) or failing.
pub(crate) fn print_stdout(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
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
                // Not only regular files: a FIFO or a device named `*.kumo` is reported when
                // read, never silently skipped (a dangling symlink, such as an editor's lock
                // file, is skipped).
                .filter(|f| {
                    f.extension().is_some_and(|x| x == "kumo")
                        && std::fs::metadata(f).is_ok_and(|m| !m.is_dir())
                })
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
    let mut budget = input::Budget::deployment();
    files
        .iter()
        .map(|f| {
            budget
                .read(f)
                .map(|bytes| (display(f), bytes))
                .map_err(|e| format!("cannot read {}: {e}", f.display()))
        })
        .collect()
}

/// The absolute path of each file read (names as `read_all` gives them), `/`-separated, for
/// `analyze_paths`: emitted output names files relative to the deployment's directory,
/// whatever the working directory and however the paths were written.
pub(crate) fn absolute_names(files: &[(String, Vec<u8>)]) -> Vec<String> {
    files
        .iter()
        .map(|(name, _)| {
            let path = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
            let parts: Vec<String> = path
                .components()
                .map(|c| match c {
                    std::path::Component::RootDir => String::new(),
                    other => other.as_os_str().to_string_lossy().into_owned(),
                })
                .collect();
            parts.join("/")
        })
        .collect()
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

struct Fixes {
    apply: bool,
    unsafe_fixes: bool,
}

/// How human output is shown.
#[derive(Clone, Copy)]
pub(crate) struct Shown {
    pub color: ColorChoice,
    /// 0: no limit.
    pub max_diagnostics: usize,
}

impl Shown {
    pub fn limit(self) -> usize {
        match self.max_diagnostics {
            0 => usize::MAX,
            n => n,
        }
    }
}

fn lint_config(
    deny: Option<Deny>,
    severity: &[String],
) -> Result<kumoc_compiler::lints::LintConfig, String> {
    let mut config = kumoc_compiler::lints::LintConfig {
        deny_warnings: deny.is_some(),
        ..Default::default()
    };
    for item in severity {
        let Some((code, level)) = item.split_once('=') else {
            return Err(format!("--severity takes CODE=LEVEL, not `{item}`"));
        };
        let level = match level.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            "off" | "allow" => None,
            other => {
                return Err(format!(
                    "unknown level `{other}`: use error, warning, info or off"
                ));
            }
        };
        let code = if let Some(r) = kumoc_compiler::lints::lookup(code) {
            r.code
        } else if let Some(c) = codes::lookup(code).filter(|c| c.severity != Severity::Error) {
            c.code
        } else if codes::lookup(code).is_some() {
            return Err(format!("`{code}` is a compile error and cannot be changed"));
        } else {
            return Err(format!(
                "unknown code `{code}`; `kumoc explain` lists every code"
            ));
        };
        config.overrides.insert(code.to_string(), level);
    }
    Ok(config)
}

fn check(
    paths: &[PathBuf],
    env: Option<EnvArg>,
    lint: kumoc_compiler::lints::LintConfig,
    format: Format,
    fixes: Fixes,
    shown: Shown,
    jobs: usize,
) -> ExitCode {
    let files = match collect(paths).and_then(|f| read_all(&f)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut opts = options(env);
    opts.lint = lint;
    opts.threads = jobs;
    let analysis = if fixes.apply {
        let run = kumoc_compiler::fix::until_stable(
            files.clone(),
            &opts,
            fixes.unsafe_fixes,
            kumoc_compiler::fix::MAX_ROUNDS,
        );
        // Interrupt-safe: each file is replaced atomically; a signal stops before the next.
        let interrupts = signals::Interrupts::catch();
        for ((name, bytes), changed) in run.files.iter().zip(&run.changed) {
            if let Some(sig) = interrupts.caught() {
                eprintln!("kumoc: interrupted; the files not yet written are unchanged");
                signals::terminate_by(sig);
            }
            if *changed {
                if let Err(e) = write_atomically(Path::new(name), bytes) {
                    return fail(format!("cannot write {name}: {e}"));
                }
            }
        }
        let changed = run.changed.iter().filter(|c| **c).count();
        if run.applied > 0 {
            eprintln!(
                "fixed {} in {}{}",
                plural(run.applied, "problem"),
                plural(changed, "file"),
                if run.rounds > 1 {
                    format!(" ({} rounds)", run.rounds)
                } else {
                    String::new()
                }
            );
        }
        if !run.converged {
            eprintln!(
                "kumoc: warning: fixes did not settle after {} (each round's fixes made new ones \
                 applicable, or undid an earlier round's); the remaining fixes are shown below",
                plural(run.rounds, "round")
            );
        }
        run.analysis
    } else {
        // No syntax tree is needed afterwards: each is dropped once checked.
        kumoc_compiler::analyze_with(&files, &opts, kumoc_compiler::Trees::Drop)
    };
    let out = match format {
        Format::Human => {
            let mut s = render::human_limited(
                &analysis.diagnostics,
                &analysis.sources,
                use_color(shown.color, std::io::stdout().is_terminal()),
                shown.limit(),
                "; `--max-diagnostics 0` shows all, `--format json` lists all",
            );
            s.push_str(&summary(&analysis, files.len()));
            s
        }
        Format::Json => {
            let mut s = render::json(&analysis.diagnostics, &analysis.sources);
            s.push('\n');
            s
        }
        Format::Sarif => {
            let mut s = render::sarif(&analysis.diagnostics, &analysis.sources);
            s.push('\n');
            s
        }
        Format::Github => render::github(&analysis.diagnostics, &analysis.sources),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    let code = if analysis.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process exits now: the system takes the memory back at once, faster than freeing
    // the analysis block by block (`kumoc build` leaves it the same way).
    std::mem::forget((files, analysis));
    code
}

pub(crate) fn options(env: Option<EnvArg>) -> Options {
    Options {
        env: env.map(|e| match e {
            EnvArg::Staging => Environment::Staging,
            EnvArg::Production => Environment::Production,
        }),
        lint: Default::default(),
        threads: 1,
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
    // Each file is replaced atomically; a signal stops before the next one.
    let interrupts = (!check_only).then(signals::Interrupts::catch);
    for (name, bytes) in &files {
        if let Some(sig) = interrupts.as_ref().and_then(signals::Interrupts::caught) {
            eprintln!("kumoc: interrupted; the files not yet formatted are unchanged");
            signals::terminate_by(sig);
        }
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
                            kumoc_compiler::codes::syntax(e.code),
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
                    render::human_limited(
                        &diags,
                        &sources,
                        use_color(color, std::io::stderr().is_terminal()),
                        DEFAULT_MAX_DIAGNOSTICS,
                        "",
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
    if let Some(rule) = code.and_then(kumoc_compiler::lints::lookup) {
        print!("{}", kumoc_compiler::lints::rules_doc_text(rule));
        return ExitCode::SUCCESS;
    }
    match code {
        None => {
            for c in codes::CODES {
                println!(
                    "{:<12} {:<32} {:<10} {}",
                    c.code,
                    c.name,
                    c.phase.name(),
                    c.summary
                );
            }
            for r in kumoc_compiler::lints::RULES {
                println!("{:<12} {:<32} {:<10} {}", r.code, r.name, "lint", r.summary);
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
        // A build's temporary tree, if the panic came while the output streamed: nothing is
        // left beside DIR (which is as it was).
        outdir::remove_unfinished();
        // Exit status 2: kumoc itself failed (never 1, which means "your files have errors").
        std::process::exit(2);
    }));
}
