//! `kumoc dns` and `kumoc dkim keygen`: read the deployment, the key files and a DNS
//! snapshot; the records and the checks are the compiler's (`kumoc_compiler::dns`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kumoc_compiler::dns::{self, DkimKey, Inputs, PublicKey};
use kumoc_compiler::emit::{Places, Provenance};
use kumoc_compiler::{Analysis, analyze_paths, render};

use crate::{EnvArg, Shown, absolute_names, collect, fail, options, read_all, use_color};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DnsFormat {
    /// A zone-file fragment (long TXT values split into strings of at most 255 bytes).
    Zone,
    /// JSON: every record with its purpose, place and what is missing.
    Json,
    /// One external-dns `DNSEndpoint` object (YAML), for `kubectl apply`.
    DnsEndpoint,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

pub struct DnsArgs {
    pub paths: Vec<PathBuf>,
    pub env: Option<EnvArg>,
    pub keys: Option<PathBuf>,
    pub egress_ip: Vec<IpAddr>,
    pub dmarc_policy: Option<DmarcPolicy>,
    pub dmarc_rua: Vec<String>,
    pub ttl: u32,
    pub format: DnsFormat,
    pub check: Option<PathBuf>,
    pub queries: bool,
    pub shown: Shown,
}

/// Analyse the deployment; on errors print them and return the exit code.
pub(crate) fn load(
    paths: &[PathBuf],
    env: Option<EnvArg>,
    shown: Shown,
) -> Result<Analysis, ExitCode> {
    let files = collect(paths).and_then(|f| read_all(&f)).map_err(fail)?;
    let analysis = analyze_paths(&files, &absolute_names(&files), &options(env));
    if analysis.has_errors() {
        eprint!(
            "{}",
            render::human_limited(
                &analysis.diagnostics,
                &analysis.sources,
                use_color(shown.color, std::io::stderr().is_terminal()),
                shown.limit(),
                "",
            )
        );
        eprintln!("kumoc: the deployment has errors: fix them first (`kumoc check`)");
        return Err(ExitCode::from(1));
    }
    Ok(analysis)
}

/// Where a DKIM key's file may be: `--keys DIR` (by the Secret's key name, or KumoMTA's
/// `<domain>/<selector>.key` layout), then the file the `secret` block names.
fn key_paths(a: &Analysis, k: &DkimKey, keys: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = keys {
        out.push(dir.join(&k.key));
        out.push(dir.join(&k.domain).join(format!("{}.key", k.selector)));
    }
    if let Some((path, file)) = &k.file {
        let base = Path::new(a.sources.name(*file))
            .parent()
            .unwrap_or(Path::new("."));
        out.push(base.join(path));
    }
    out
}

fn read_keys(
    a: &Analysis,
    keys: Option<&Path>,
) -> Result<BTreeMap<(String, String), PublicKey>, String> {
    let Some(model) = &a.model else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for k in dns::dkim_keys(model) {
        let Some(path) = key_paths(a, &k, keys).into_iter().find(|p| p.is_file()) else {
            continue;
        };
        let bytes = crate::input::Budget::secret_file()
            .read(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{}: not a PEM file", path.display()))?;
        let pk = crate::dkim::public_key(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.insert((k.domain.clone(), k.selector.clone()), pk);
    }
    Ok(out)
}

pub fn run(args: DnsArgs) -> ExitCode {
    let a = match load(&args.paths, args.env, args.shown) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some(model) = &a.model else {
        return fail("no deployment");
    };
    let keys = match read_keys(&a, args.keys.as_deref()) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let inputs = Inputs {
        keys,
        egress_ips: args.egress_ip.clone(),
        dmarc_policy: args.dmarc_policy.map(|p| {
            match p {
                DmarcPolicy::None => "none",
                DmarcPolicy::Quarantine => "quarantine",
                DmarcPolicy::Reject => "reject",
            }
            .to_string()
        }),
        dmarc_rua: args.dmarc_rua.clone(),
        ttl: args.ttl,
    };
    let places = Places::new(&a.sources, &a.parses);
    let prov = Provenance::new(&places, true);
    let needed = dns::needed(model, &inputs, &|loc| prov.at(loc));
    if args.queries {
        let mut text = String::new();
        for (name, ty) in dns::queries(model, &needed) {
            text.push_str(&format!("{name} {}\n", ty.as_str()));
        }
        return crate::print_stdout(&text);
    }
    if let Some(path) = &args.check {
        let text = match crate::input::Budget::deployment().read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        };
        let snapshot = match dns::Snapshot::parse(&text) {
            Ok(s) => s,
            Err(errors) => {
                for e in errors {
                    eprintln!("{}:{}: {}", path.display(), e.line, e.message);
                }
                return fail(format!("{} is not a DNS snapshot", path.display()));
            }
        };
        let live = dns::Live {
            needed: &needed,
            snapshot: &snapshot,
            egress_ips: &args.egress_ip,
        };
        let found = kumoc_compiler::lints::run_dns(model, &a.sources, &a.parses, &live);
        let errors = found
            .iter()
            .filter(|d| d.severity == kumoc_compiler::Severity::Error)
            .count();
        let text = match args.format {
            DnsFormat::Json => format!("{}\n", render::json(&found, &a.sources)),
            _ => {
                let mut t = render::human_limited(
                    &found,
                    &a.sources,
                    use_color(args.shown.color, std::io::stdout().is_terminal()),
                    args.shown.limit(),
                    "",
                );
                let warnings = found.len() - errors;
                if found.is_empty() {
                    t.push_str(&format!(
                        "the live DNS in {} has every record the deployment needs\n",
                        path.display()
                    ));
                } else {
                    t.push_str(&format!(
                        "checked DNS against {}: {errors} errors, {warnings} warnings\n",
                        path.display()
                    ));
                }
                t
            }
        };
        let code = crate::print_stdout(&text);
        return if errors > 0 && code == ExitCode::SUCCESS {
            ExitCode::from(1)
        } else {
            code
        };
    }
    let out = match args.format {
        DnsFormat::Zone => dns::render_zone(&needed),
        DnsFormat::Json => dns::render_json(&needed),
        DnsFormat::DnsEndpoint => dns::render_dns_endpoint(&needed),
    };
    crate::print_stdout(&out)
}

/// `kumoc dkim keygen`: a new key pair for every DKIM key of the deployment whose file does
/// not exist yet (all of them with `--force`), written where the Secret is built from.
pub fn keygen(
    paths: &[PathBuf],
    env: Option<EnvArg>,
    dir: Option<&Path>,
    force: bool,
    shown: Shown,
) -> ExitCode {
    let a = match load(paths, env, shown) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some(model) = &a.model else {
        return fail("no deployment");
    };
    let keys = dns::dkim_keys(model);
    if keys.is_empty() {
        eprintln!("kumoc: no `dkim` blocks: there is no key to generate");
        return ExitCode::SUCCESS;
    }
    // Where each key goes: the secret's `files` entry, else `--dir`.
    let mut plan = Vec::new();
    for k in &keys {
        let target = match (&k.file, dir) {
            (Some((path, file)), _) => Path::new(a.sources.name(*file))
                .parent()
                .unwrap_or(Path::new("."))
                .join(path),
            (None, Some(d)) => d.join(&k.key),
            (None, None) => {
                return fail(format!(
                    "secret {:?} names no file for key {:?}: add `files {{ {:?} = \"keys/{}\" }}` to the secret block (so `kumoc build --secrets` picks the key up), or pass `--dir DIR`",
                    k.secret, k.key, k.key, k.key
                ));
            }
        };
        plan.push((k, target));
    }
    let mut generated = BTreeMap::new();
    let mut skipped = 0;
    for (k, target) in &plan {
        if target.exists() && !force {
            eprintln!("kept {} (exists; `--force` replaces it)", target.display());
            skipped += 1;
            continue;
        }
        let bits = k.bits.unwrap_or(2048);
        if k.algorithm != "ed25519" && bits < 2048 {
            return fail(format!(
                "{} declares `bits = {bits}`: kumoc generates RSA keys of 2048 bits or more",
                k.domain
            ));
        }
        if k.algorithm == "ed25519"
            && !model
                .version
                .value
                .supports(kumoc_lang::units::Feature::Ed25519Signing)
        {
            eprintln!(
                "kumoc: warning: {}: KumoMTA {} cannot sign with Ed25519 (fixed in {}); the key is generated for an upgrade",
                k.domain,
                model.version.value,
                kumoc_lang::units::Feature::Ed25519Signing
                    .introduced_in()
                    .tag
            );
        }
        let (pem, public) = match crate::dkim::generate(k.algorithm, bits) {
            Ok(x) => x,
            Err(e) => return fail(e),
        };
        if let Err(e) = crate::dkim::write_private(target, pem.as_bytes(), force) {
            return fail(format!("cannot write {}: {e}", target.display()));
        }
        eprintln!(
            "wrote {} ({} for {} selector {}, mode 0600)",
            target.display(),
            if k.algorithm == "ed25519" {
                "Ed25519".to_string()
            } else {
                format!("RSA-{bits}")
            },
            k.domain,
            k.selector
        );
        generated.insert((k.domain.clone(), k.selector.clone()), public);
    }
    if generated.is_empty() {
        eprintln!("kumoc: nothing generated ({skipped} kept)");
        return ExitCode::SUCCESS;
    }
    // The records to publish for the new keys (public keys only).
    let places = Places::new(&a.sources, &a.parses);
    let prov = Provenance::new(&places, true);
    let mut needed = dns::needed(
        model,
        &Inputs {
            keys: generated.clone(),
            ..Default::default()
        },
        &|loc| prov.at(loc),
    );
    needed.records.retain(|r| {
        matches!(&r.purpose, dns::Purpose::Dkim { domain, selector } if generated.contains_key(&(domain.clone(), selector.clone())))
    });
    needed.notes = vec![
        "publish these before the Secret holding the new keys reaches the pods: until then receivers cannot verify the signatures".into(),
    ];
    crate::print_stdout(&dns::render_zone(&needed))
}
