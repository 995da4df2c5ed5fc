//! `kumoc import`: an existing KumoMTA policy in, an equivalent `.kumo` deployment out.
//!
//! The input is what a KumoMTA pod reads: the policy directory (mounted at
//! `/opt/kumomta/etc/policy`) with `init.lua`, the helpers' data files it names and, when
//! present, `tsa_init.lua`, plus the sink's policy and the Helm values the chart renders the
//! pods from. Nothing is run: the Lua is parsed ([`lua`]) and recognised ([`policy`]), the
//! data files are read completely ([`helpers`]), the Helm values inform the `deployment` and
//! `cluster` blocks ([`helm`]), and the result is written as formatted `.kumo` files
//! ([`write`]). Whatever the `.kumo` language cannot say is reported, with the line it came
//! from, as a `K4xxx` diagnostic (`kumoc explain K4003`); secrets never leave the cluster:
//! a key file, a password from the environment or a key pasted into the policy becomes a
//! `secret(...)` reference, never a value. The compiler does no IO: the CLI reads the files
//! and writes the output (`src/import.rs`).
//!
//! Round trip: `import(build(D))` checks without errors and builds the same policy as `D`
//! (`tests/it/import.rs`); kumoc's own Lua idioms are recognised by comparing them with what
//! this kumoc emits ([`policy::Idioms`]).

pub mod data;
pub mod eval;
mod helm;
mod helpers;
pub mod lua;
mod policy;
pub mod values;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use kumoc_lang::Span;
use kumoc_lang::units::{self, HumantimeFlavor, KumoVersion};

use crate::codes;
use crate::diagnostic::{Diagnostic, Loc, Severity};
use crate::model::Environment;
use crate::names;
use crate::source::{FileId, SourceFile, Sources};
use eval::{Env, EnvVar};
use write::{Files, KBlock, KVal};

/// The `.kumo` files an import writes, and what goes in each.
pub const DEPLOYMENT_FILE: &str = "deployment.kumo";
pub const MAIL_FILE: &str = "mail.kumo";
pub const SHAPING_FILE: &str = "shaping.kumo";
pub const SECRETS_FILE: &str = "secrets.kumo";

/// One input file: its name as given (for diagnostics), its path relative to its policy
/// directory (as the policy names it under `/opt/kumomta/etc/policy/`), and its bytes.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub name: String,
    pub rel: String,
    pub bytes: Vec<u8>,
}

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The MTA's policy directory: `init.lua` and the files it names.
    pub policy_dir: Vec<InputFile>,
    /// The MTA policy's name in it (`init.lua`).
    pub policy: String,
    /// The TSA policy's name in it, when there is one (`tsa_init.lua`).
    pub tsa_policy: Option<String>,
    /// The sink's policy (`sink.lua`), when the deployment has one.
    pub sink: Option<InputFile>,
    /// Helm values files, later ones overriding earlier ones (as `helm -f a -f b`).
    pub helm_values: Vec<InputFile>,
    /// `--env-var NAME=VALUE`: the environment the policy is read with.
    pub env: Vec<(String, String)>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub kumomta: Option<String>,
    pub environment: Option<Environment>,
    pub pod_cidr: Option<String>,
}

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    /// The input files, for rendering the diagnostics.
    pub sources: Sources,
    /// Sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The `.kumo` files, formatted: name → text. Empty when there are errors.
    pub files: BTreeMap<String, String>,
    /// The deployment's name.
    pub name: String,
}

impl Imported {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// How a secret was found in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretUse {
    /// A file path (a `KeySource` path, a DKIM key file).
    Path,
    /// The value of an environment variable.
    Environment(String),
    /// The value itself, in the policy.
    Inline,
}

/// The import's state: the inputs, the diagnostics, the blocks written so far.
pub struct Cx {
    pub sources: Sources,
    pub diags: Vec<Diagnostic>,
    pub files: Files,
    pub version: KumoVersion,
    pub flavor: HumantimeFlavor,
    pub secrets: Secrets,
    /// Secret volumes of the Helm values: (mount path, Secret name).
    pub mounts: Vec<(String, String)>,
    /// Helm values were given: where the pods' files come from is known.
    pub helm_given: bool,
    /// Secret volumes the Helm values mount `optional: true`.
    pub optional_secrets: BTreeSet<String>,
    /// The input files the import read (for the headers of the files it writes).
    pub used: BTreeSet<FileId>,
}

/// The Secrets the imported deployment references, with their keys.
#[derive(Debug, Default)]
pub struct Secrets {
    pub keys: BTreeMap<String, BTreeSet<String>>,
    /// Secrets whose keys are not known (API users from a handler kumoc did not write).
    pub open: BTreeSet<String>,
}

impl Secrets {
    pub fn add(&mut self, name: &str, key: &str) {
        self.keys
            .entry(name.to_string())
            .or_default()
            .insert(key.to_string());
    }
    pub fn declare(&mut self, name: &str) {
        self.keys.entry(name.to_string()).or_default();
    }
}

trait Sev {
    fn at_severity(self, s: Severity) -> Self;
}

impl Sev for Diagnostic {
    fn at_severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
}

/// Whether `s` is a Secret key Kubernetes accepts (apimachinery's `IsConfigMapKey`).
fn secret_key_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s != "."
        && !s.starts_with("..")
}

/// Whether `s` can name a Secret (a DNS subdomain: lowercase letters, digits, `-` and `.`).
fn secret_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A Secret key from any name: invalid characters become `_`.
fn to_secret_key(s: &str) -> String {
    let mut k: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(253)
        .collect();
    if k.is_empty() || k == "." || k.starts_with("..") {
        k = format!("key{k}");
    }
    k
}

impl Cx {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The `secret(...)` reference for a secret the policy names by `path` (or, for
    /// environment and inline values, the field it goes to). Never the value itself.
    pub fn secret_for_path(
        &mut self,
        path: &str,
        default_secret: &str,
        field: &str,
        how: SecretUse,
        at: Loc,
    ) -> KVal {
        self.secret_ref(path, default_secret, None, field, how, at)
    }

    /// As [`Cx::secret_for_path`], with the key name to use when the path does not give one.
    pub fn secret_ref(
        &mut self,
        path: &str,
        default_secret: &str,
        key_hint: Option<&str>,
        field: &str,
        how: SecretUse,
        at: Loc,
    ) -> KVal {
        let (name, key) = match &how {
            SecretUse::Path => self.secret_of_path(path, default_secret, key_hint, at),
            SecretUse::Environment(var) => {
                let key = to_secret_key(key_hint.unwrap_or(field));
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_SECRET_MATERIAL,
                        format!("`{field}` comes from the environment variable `{var}`"),
                        at,
                        "its value is not copied",
                    )
                    .with_help(format!(
                        "the imported deployment reads it from key `{key}` of the Secret `{default_secret}`: create that Secret in the cluster (or name another with `secret(\"name\", \"key\")`)"
                    )),
                );
                (default_secret.to_string(), key)
            }
            SecretUse::Inline => {
                let key = to_secret_key(key_hint.unwrap_or(field));
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_SECRET_MATERIAL,
                        format!("`{field}` is written in the policy itself"),
                        at,
                        "a secret in plain text: its value is not copied",
                    )
                    .with_help(format!(
                        "put it in key `{key}` of the Secret `{default_secret}`, which the imported deployment reads, and remove it from the old policy and its history"
                    )),
                );
                (default_secret.to_string(), key)
            }
        };
        self.secrets.add(&name, &key);
        KVal::Call(
            "secret".into(),
            vec![(None, KVal::str(name)), (None, KVal::str(key))],
        )
    }

    fn secret_of_path(
        &mut self,
        path: &str,
        default_secret: &str,
        key_hint: Option<&str>,
        at: Loc,
    ) -> (String, String) {
        // kumoc's own layout: `<SECRETS_DIR>/<secret>/<key>`.
        if let Some(rest) = path.strip_prefix(&format!("{}/", names::SECRETS_DIR)) {
            if let Some((s, k)) = rest.split_once('/') {
                if !k.contains('/') && secret_key_ok(k) && secret_name_ok(s) {
                    return (s.to_string(), k.to_string());
                }
            }
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        // A Secret volume of the Helm values.
        let mount = self
            .mounts
            .iter()
            .filter(|(m, _)| path.starts_with(&format!("{}/", m.trim_end_matches('/'))))
            .max_by_key(|(m, _)| m.len())
            .cloned();
        if let Some((m, secret)) = mount {
            let rest = path
                .get(m.trim_end_matches('/').len() + 1..)
                .unwrap_or(base);
            let key = if secret_key_ok(rest) {
                rest.to_string()
            } else {
                to_secret_key(base)
            };
            if self.optional_secrets.contains(&secret) {
                self.push(
                    Diagnostic::new(codes::IMPORT_SECRET_MATERIAL, format!("the Secret `{secret}` is mounted `optional: true`"), at, format!("key `{key}` of it"))
                        .with_help(format!("when `{secret}` does not exist, the pods start without this file and what needs it fails (DKIM signing, `kumod --validate`); kumoc mounts the Secrets it names as required: create `{secret}` with the key `{key}`")),
                );
            }
            return (secret, key);
        }
        let key = key_hint.map_or_else(|| to_secret_key(base), to_secret_key);
        let in_configmap = path.starts_with(&format!("{}/", names::POLICY_DIR));
        let mut d = Diagnostic::new(
            codes::IMPORT_SECRET_MATERIAL,
            if in_configmap {
                format!("the key file {path} is in the policy directory")
            } else {
                format!("no Secret is known to provide {path}")
            },
            at,
            format!("becomes key `{key}` of the Secret `{default_secret}`"),
        )
        .with_help(format!(
            "kumoc mounts keys from Secrets only: create the Secret `{default_secret}` with the key `{key}` (`kumoc build --secrets` can build it from a file named in the `secret` block)"
        ));
        if in_configmap {
            d = d.with_note("a key in the policy ConfigMap is readable by anyone who can read ConfigMaps, and is usually committed to git with the chart");
        } else if !self.mounts.is_empty() || path.starts_with(names::DKIM_DIR) {
            d = d.with_note("no volume of the Helm values is mounted there, so the pods have no such file: signing fails, and `kumod --validate` with it");
        }
        self.push(d);
        (default_secret.to_string(), key)
    }
}

/// kumoc's own Lua idioms, from a policy this kumoc emits (once per process).
fn idioms() -> &'static policy::Idioms {
    static IDIOMS: OnceLock<policy::Idioms> = OnceLock::new();
    IDIOMS.get_or_init(|| {
        let newest = units::newest_release().map_or("2026.09.29-b90d8bc1", |r| r.tag);
        let text = format!(
            "deployment \"t\" {{\n  namespace = \"t\"\n  kumomta = \"{newest}\"\n  environment = staging\n}}\ncluster {{\n  pod_cidr = 10.0.0.0/8\n  redis {{\n    url = \"rediss://r:6379\"\n    password = secret(\"r\", \"p\")\n  }}\n  metrics {{\n    scraper_cidrs = [10.0.0.0/8]\n  }}\n}}\npool p {{\n  source s {{\n    warmup {{\n      start = \"2026-01-01\"\n      ramp = [1]\n    }}\n  }}\n}}\nhttp_listener {{\n  users = secret(\"u\")\n}}\nsecret \"u\" {{\n  keys = [\"a\"]\n}}\nsecret \"r\" {{\n  keys = [\"p\"]\n}}\n"
        );
        let analysis = crate::analyze(&[("t.kumo".to_string(), text.into_bytes())], &crate::Options::default());
        let Some(model) = analysis.model.as_ref() else {
            return policy::Idioms::default();
        };
        let places = crate::emit::Places::new(&analysis.sources, &analysis.parses);
        let out = crate::emit::emit_canonical(model, &places);
        policy::Idioms::from_policy(out.get("policy/init.lua").unwrap_or(""))
    })
}

/// Import a policy.
pub fn import(input: &Input) -> Imported {
    let mut sources = Sources::default();
    let mut dir: BTreeMap<String, FileId> = BTreeMap::new();
    let mut decode_errors = Vec::new();
    let mut add = |sources: &mut Sources, f: &InputFile| -> FileId {
        let text = String::from_utf8_lossy(&f.bytes).into_owned();
        let id = sources.add(SourceFile::new(f.name.clone(), text, false));
        if std::str::from_utf8(&f.bytes).is_err() {
            decode_errors.push(id);
        }
        id
    };
    for f in &input.policy_dir {
        let id = add(&mut sources, f);
        dir.insert(f.rel.clone(), id);
    }
    let sink_file = input.sink.as_ref().map(|f| add(&mut sources, f));
    let helm_files: Vec<FileId> = input
        .helm_values
        .iter()
        .map(|f| add(&mut sources, f))
        .collect();

    let mut cx = Cx {
        sources,
        diags: Vec::new(),
        files: Files::default(),
        version: KumoVersion::date(0, 0, 0),
        flavor: HumantimeFlavor::V2_3,
        secrets: Secrets::default(),
        mounts: Vec::new(),
        helm_given: !input.helm_values.is_empty(),
        optional_secrets: BTreeSet::new(),
        used: BTreeSet::new(),
    };
    for id in decode_errors {
        cx.push(
            Diagnostic::new(
                codes::IMPORT_DATA_FILE,
                format!("{} is not UTF-8", cx.sources.name(id)),
                Loc::new(id, Span::default()),
                "invalid UTF-8",
            )
            .with_help(
                "KumoMTA reads its policy as UTF-8 text; convert the file, then import again",
            ),
        );
    }

    // The Helm values first: they hold the release and the environment the Lua reads.
    let helm = helm::read(&mut cx, &helm_files);
    cx.mounts = helm.mounts.clone();
    cx.optional_secrets = helm.optional_secrets.clone();
    cx.used.extend(helm_files.iter().copied());
    let (version, version_origin) = release(&mut cx, input, &helm);
    cx.flavor = version.humantime();
    cx.version = version.clone();
    let mut env_mta = helm.env_mta.clone();
    let mut env_tsa = helm.env_tsa.clone();
    let mut env_sink = Env::default();
    for (k, v) in &input.env {
        let var = EnvVar {
            value: v.clone(),
            origin: "--env-var".to_string(),
        };
        for env in [&mut env_mta, &mut env_tsa, &mut env_sink] {
            env.vars.insert(k.clone(), var.clone());
        }
    }

    let idioms = idioms();
    let mta_file = dir.get(&input.policy).copied();
    let mta = match mta_file {
        Some(id) => policy::mta(&mut cx, id, &env_mta, idioms),
        None => {
            let at = dir.values().next().copied().unwrap_or_default();
            cx.push(
                Diagnostic::new(codes::IMPORT_DATA_FILE, format!("no {} among the policy files", input.policy), Loc::new(at, Span::default()), "the MTA policy is missing")
                    .with_help("import the directory that holds the MTA's `init.lua` (or name it with `--policy`)"),
            );
            policy::Mta::default()
        }
    };
    let tsa = input
        .tsa_policy
        .as_ref()
        .and_then(|n| dir.get(n).copied())
        .map(|id| policy::tsa(&mut cx, id, &env_tsa, idioms));
    let sink = sink_file.map(|id| policy::sink(&mut cx, id, &env_sink, idioms));
    // Literal values KumoMTA refuses, in every Lua file read and those it runs with `dofile`.
    let mut scanned: Vec<FileId> = mta_file.into_iter().chain(sink_file).collect();
    scanned.extend(input.tsa_policy.as_ref().and_then(|n| dir.get(n).copied()));
    for p in &mta.dofiles {
        let rel = p
            .strip_prefix(&format!("{}/", names::POLICY_DIR))
            .unwrap_or(p);
        scanned.extend(dir.get(rel).copied());
    }
    scanned.sort();
    scanned.dedup();
    for id in scanned {
        policy::scan_values(&mut cx, id);
    }

    let derived = helpers::read(&mut cx, &dir, &mta, tsa.as_ref(), &version);
    let name = assemble(
        &mut cx,
        input,
        &helm,
        &mta,
        tsa.as_ref(),
        sink.as_ref(),
        &derived,
        &version,
        &version_origin,
    );

    // Blocks in the order a reader expects (the example's): DKIM, egress, tenancy, queues.
    if let Some(blocks) = cx.files.files.get_mut(MAIL_FILE) {
        let rank = |k: &str| match k {
            "dkim_defaults" => 0,
            "domain" => 1,
            "source" => 2,
            "pool" => 3,
            "tenancy" => 4,
            "tenant" => 5,
            _ => 6,
        };
        blocks.sort_by_key(|b| rank(&b.keyword));
    }
    let mut diagnostics = cx.diags;
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    diagnostics.dedup();
    let errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let mut files = BTreeMap::new();
    if !errors {
        // The MTA policy first, then the files in the order they were given.
        let mut used: Vec<FileId> = cx.used.iter().copied().collect();
        used.sort_by_key(|id| (Some(*id) != mta_file, *id));
        let from: Vec<String> = used
            .iter()
            .map(|id| base_name(cx.sources.name(*id)).to_string())
            .collect();
        for (file, blocks) in &cx.files.files {
            if blocks.is_empty() {
                continue;
            }
            let header = header_for(file, &from);
            let text = write::render(&header, blocks);
            match kumoc_lang::format::format(&text) {
                Ok(t) => {
                    files.insert((*file).to_string(), t);
                }
                Err(errs) => {
                    // The writer quotes every name: a syntax error here is kumoc's bug.
                    let msg = errs.first().map(|e| e.message.clone()).unwrap_or_default();
                    diagnostics.push(
                        Diagnostic::new(codes::IMPORT_DATA_FILE, format!("kumoc wrote {file} wrongly: {msg}"), Loc::default(), "internal error")
                            .with_help("this is a bug in kumoc import: please report it with the policy that caused it"),
                    );
                    files.clear();
                    break;
                }
            }
        }
    }
    Imported {
        sources: cx.sources,
        diagnostics,
        files,
        name,
    }
}

/// The last component of a path: what the `.kumo` files say about their inputs, so they do
/// not depend on where the inputs were.
pub fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn header_for(file: &str, from: &[String]) -> Vec<String> {
    let what = match file {
        DEPLOYMENT_FILE => "The deployment, its cluster and its listeners",
        MAIL_FILE => "Sending domains, DKIM, egress sources and pools, tenants and queues",
        SHAPING_FILE => "Traffic shaping (over the stdlib presets: only what differs from them)",
        _ => "The Secrets the deployment uses (names and keys only, never values)",
    };
    let mut shown: Vec<String> = from.to_vec();
    shown.dedup();
    vec![
        format!("{what}."),
        format!("Imported by `kumoc import` from {}.", shown.join(", ")),
        "Review the import's diagnostics, then run `kumoc check` on this directory.".to_string(),
    ]
}

/// The KumoMTA release: `--kumomta`, else the image tag of the Helm values, else the newest
/// release kumoc knows (reported).
fn release(cx: &mut Cx, input: &Input, helm: &helm::Helm) -> (KumoVersion, String) {
    if let Some(v) = input
        .kumomta
        .as_ref()
        .and_then(|s| units::parse_version(s).ok())
    {
        return (v, "--kumomta".to_string());
    }
    if let Some((tag, file, span)) = &helm.image_tag {
        match units::parse_version(tag) {
            Ok(v) => {
                return (
                    v,
                    format!("image.tag in {}", base_name(cx.sources.name(*file))),
                );
            }
            Err(e) => cx.push(
                Diagnostic::new(
                    codes::IMPORT_ASSUMED_VALUE,
                    format!("the image tag {tag:?} is not a KumoMTA release"),
                    Loc::new(*file, *span),
                    e.message.clone(),
                )
                .with_help("pass the release with `--kumomta TAG`"),
            ),
        }
    }
    let newest =
        units::newest_release().map_or_else(|| units::OLDEST_SUPPORTED.version(), |r| r.version());
    (newest, String::new())
}

/// What the data files told the assembly: for deriving names.
#[derive(Debug, Default)]
pub struct Derived {
    /// Keys of TSA publisher shaping blocks found in the data (`http://…:8008.tsa.kumomta`).
    pub tsa_blocks: Vec<String>,
}

/// `http://{n}-tsa-{i}.{n}-tsa-headless.{ns}.svc.cluster.local:{port}` (kumoc's per-pod
/// publish URL): (name, namespace, ordinal, port).
fn kumoc_publish_url(url: &str) -> Option<(String, String, u32, u16)> {
    let rest = url.strip_prefix("http://")?;
    let (host, port) = rest.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let labels: Vec<&str> = host.split('.').collect();
    let [pod, svc, ns, "svc", "cluster", "local"] = labels.as_slice() else {
        return None;
    };
    let name = svc.strip_suffix("-tsa-headless")?;
    let ordinal = pod.strip_prefix(&format!("{name}-tsa-"))?.parse().ok()?;
    Some((name.to_string(), (*ns).to_string(), ordinal, port))
}

/// `http://{n}-tsa.{ns}.svc.cluster.local:{port}` or `http://{n}-tsa:{port}`: (name, ns?, port).
fn tsa_service_url(url: &str) -> Option<(String, Option<String>, u16)> {
    let rest = url.strip_prefix("http://")?;
    let (host, port) = rest.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [svc] => Some((svc.strip_suffix("-tsa")?.to_string(), None, port)),
        [svc, ns, "svc", "cluster", "local"] | [svc, ns] | [svc, ns, "svc"] => Some((
            svc.strip_suffix("-tsa")?.to_string(),
            Some((*ns).to_string()),
            port,
        )),
        _ => None,
    }
}

/// `{n}-sink.{ns}.svc.cluster.local`: (name, namespace).
fn sink_host(host: &str) -> Option<(String, String)> {
    let labels: Vec<&str> = host.split('.').collect();
    let [svc, ns, "svc", "cluster", "local"] = labels.as_slice() else {
        return None;
    };
    Some((svc.strip_suffix("-sink")?.to_string(), (*ns).to_string()))
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
fn assemble(
    cx: &mut Cx,
    input: &Input,
    helm: &helm::Helm,
    mta: &policy::Mta,
    tsa: Option<&policy::Tsa>,
    sink: Option<&policy::Sink>,
    derived: &Derived,
    version: &KumoVersion,
    version_origin: &str,
) -> String {
    let at_mta = |span: Span| Loc::new(mta.file, span);
    let shaping = mta.shaping.as_ref();
    let publish: Vec<String> = shaping
        .and_then(|s| s.publish.as_ref())
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let subscribe: Vec<String> = shaping
        .and_then(|s| s.subscribe.as_ref())
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let per_pod: Vec<(String, String, u32, u16)> = publish
        .iter()
        .filter_map(|u| kumoc_publish_url(u))
        .collect();
    let kumoc_fanout = !per_pod.is_empty() && per_pod.len() == publish.len();

    // ----- names ------------------------------------------------------------------------------
    let mut name_found: Option<String> = None;
    let mut ns_found: Option<String> = None;
    if let Some((n, ns, _, _)) = per_pod.first() {
        name_found = Some(n.clone());
        ns_found = Some(ns.clone());
    }
    for u in subscribe.iter().chain(&publish) {
        if let Some((n, ns, _)) = tsa_service_url(u) {
            name_found.get_or_insert(n);
            if let Some(ns) = ns {
                ns_found.get_or_insert(ns);
            }
        }
    }
    if let Some((host, _)) = &mta.sink_host {
        if let Some((n, ns)) = sink_host(host) {
            name_found.get_or_insert(n);
            ns_found.get_or_insert(ns);
        }
    }
    for key in &derived.tsa_blocks {
        if let Some((n, ns, _, _)) = key.strip_suffix(".tsa.kumomta").and_then(kumoc_publish_url) {
            name_found.get_or_insert(n);
            ns_found.get_or_insert(ns);
        }
    }
    let assumed = |cx: &mut Cx, what: &str, default: &str, label: String, help: &str| {
        cx.push(
            Diagnostic::new(
                codes::IMPORT_ASSUMED_VALUE,
                format!("{what} is not in the policy"),
                Loc::new(mta.file, Span::default()),
                label,
            )
            .at_severity(Severity::Info)
            .with_help(help.to_string()),
        );
        default.to_string()
    };
    let name = match (&input.name, name_found) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n,
        (None, None) => assumed(
            cx,
            "the deployment's name",
            "kumomta",
            "named `kumomta`".into(),
            "it prefixes every Kubernetes object: pass `--name NAME` to choose it",
        ),
    };
    let namespace = match (&input.namespace, ns_found) {
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n,
        (None, None) => assumed(
            cx,
            "the namespace",
            "default",
            "namespace `default`".into(),
            "pass `--namespace NAME` to choose it",
        ),
    };

    // ----- the sink ---------------------------------------------------------------------------
    let sink_enabled = match (&helm.sink_enabled, &mta.sink_host, sink) {
        (Some((b, _, _)), _, _) => *b,
        (None, Some(_), _) => true,
        (None, None, Some(_)) => true,
        _ => false,
    };
    if let Some((host, span)) = &mta.sink_host {
        let expected = format!("{name}-sink.{namespace}.svc.cluster.local");
        if *host != expected {
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("all mail is routed to {host}"), at_mta(*span), "not kumoc's sink")
                    .with_help(format!("kumoc routes all mail to its sink, `{expected}`, when `cluster.sink.enabled` is true: the imported deployment does that")),
            );
        }
    }
    let environment = input.environment.unwrap_or(if sink_enabled {
        Environment::Staging
    } else {
        Environment::Production
    });

    // ----- deployment -----------------------------------------------------------------------
    {
        let d = cx.files.block(DEPLOYMENT_FILE, "deployment", Some(&name));
        d.set("namespace", KVal::str(namespace.clone()));
        d.set_commented(
            "kumomta",
            KVal::str(version.to_string()),
            (!version_origin.is_empty()).then(|| format!("from {version_origin}")),
        );
        if let Some((repo, _, _)) = &helm.image_repo {
            if repo != "ghcr.io/kumocorp/kumomta" {
                d.set("image", KVal::str(repo.clone()));
            }
        }
        d.set("environment", KVal::lit(environment.name()));
    }
    if version_origin.is_empty() {
        cx.push(
            Diagnostic::new(codes::IMPORT_ASSUMED_VALUE, "the KumoMTA release is not in the policy", Loc::new(mta.file, Span::default()), format!("the newest release kumoc knows, {version}, is assumed"))
                .at_severity(Severity::Warning)
                .with_help("the release decides which settings and spellings KumoMTA accepts: pass `--kumomta TAG` (or `--helm-values` with `image.tag`)"),
        );
    }
    // The deployment block goes first in its file.
    if let Some(blocks) = cx.files.files.get_mut(DEPLOYMENT_FILE) {
        if let Some(i) = blocks.iter().position(|b| b.keyword == "deployment") {
            let d = blocks.remove(i);
            blocks.insert(0, d);
        }
    }

    // ----- cluster --------------------------------------------------------------------------
    let pod_cidr = pod_cidr(cx, input, tsa, sink);
    let mut cluster = cx
        .files
        .find(DEPLOYMENT_FILE, "cluster", None)
        .cloned()
        .unwrap_or_else(|| KBlock::new("cluster", None));
    if let Some((c, comment)) = &pod_cidr {
        cluster.set_commented("pod_cidr", values::cidr(c), comment.clone());
    }
    let mut mta_b = KBlock::new("mta", None);
    helm::mta_settings(cx, helm, &mut mta_b);
    let mut ports = KBlock::new("ports", None);
    if let Some(p) = mta.http_port.filter(|p| p.port != 8000) {
        ports.set("http", KVal::lit(p.port.to_string()));
    }
    if let Some((p, _)) = mta.metrics.as_ref().filter(|(p, _)| p.port != 8080) {
        ports.set("metrics", KVal::lit(p.port.to_string()));
    }
    if let Some(p) = mta.smtp_port.filter(|p| p.port != 2500) {
        ports.set("smtp", KVal::lit(p.port.to_string()));
    }
    helm.check_ports(cx, mta);
    if !ports.is_empty() {
        mta_b.push(ports);
    }
    if !mta_b.is_empty() {
        cluster
            .items
            .insert(usize::from(pod_cidr.is_some()), write::Item::Block(mta_b));
    }

    // TSA.
    let tsa_on = shaping.is_some_and(|s| {
        s.automation && (mta.setup_publish || !subscribe.is_empty() || !publish.is_empty())
    });
    if tsa_on {
        let mut t = KBlock::new("tsa", None);
        t.comments.push(format!(
            "the MTAs publish delivery logs to TSA ({})",
            base_name(cx.sources.name(mta.file))
        ));
        let replicas = if kumoc_fanout {
            Some((per_pod.len() as i64, None))
        } else {
            helm.tsa_replicas
                .map(|(r, _, _)| (r, Some("from the Helm values".to_string())))
        };
        match replicas {
            Some((r, c)) => t.set_commented("replicas", KVal::lit(r.to_string()), c),
            None => cx.push(
                Diagnostic::new(
                    codes::IMPORT_ASSUMED_VALUE,
                    "how many TSA replicas there are is not in the policy",
                    at_mta(shaping.map_or(Span::default(), |s| s.span)),
                    "one replica",
                )
                .at_severity(Severity::Info)
                .with_help("set `cluster.tsa.replicas`: kumoc publishes to every replica"),
            ),
        }
        let port = tsa
            .and_then(|t| t.port)
            .map(|p| p.port)
            .or_else(|| per_pod.first().map(|p| p.3))
            .or_else(|| {
                subscribe
                    .iter()
                    .chain(&publish)
                    .find_map(|u| tsa_service_url(u))
                    .map(|x| x.2)
            });
        if let Some(p) = port.filter(|p| *p != 8008) {
            t.set("port", KVal::lit(p.to_string()));
        }
        if let Some(b) = shaping.and_then(|s| s.pre_filter).filter(|b| !b) {
            t.set("pre_filter", KVal::lit(b.to_string()));
        }
        if let Some(ttl) = shaping
            .and_then(|s| s.cache_ttl.clone())
            .filter(|t| *t != KVal::lit("1m"))
        {
            t.set("cache_ttl", ttl);
        }
        if !mta.setup_publish {
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, "the policy never calls `setup_publish()`", at_mta(shaping.map_or(Span::default(), |s| s.span)), "delivery logs are not published to TSA")
                    .with_help("the shaping helper publishes to TSA only after `shaper.setup_publish()` in the `init` handler; kumoc calls it"),
            );
        }
        if !kumoc_fanout && !publish.is_empty() {
            let span = shaping
                .and_then(|s| s.publish.as_ref())
                .map_or(Span::default(), |p| p.1);
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("the policy publishes to {}", publish.join(", ")), at_mta(span), "not one URL per TSA replica")
                    .with_help("a URL that balances over several TSA replicas gives each a part of the events, so their thresholds and overrides diverge: kumoc publishes to every replica by its per-pod name, and subscribes to the Service"),
            );
        }
        if tsa.is_none() {
            cx.push(
                Diagnostic::new(codes::IMPORT_ASSUMED_VALUE, "no TSA policy was imported", at_mta(shaping.map_or(Span::default(), |s| s.span)), "kumoc writes tsa_init.lua")
                    .at_severity(Severity::Info)
                    .with_help("the MTA publishes to TSA: kumoc runs TSA with its own `tsa_init.lua`, trusting `cluster.pod_cidr`; import the directory that holds `tsa_init.lua` to compare"),
            );
        }
        cluster.push(t);
    }

    // Redis was written by the recognizer; keep it in place.
    if let Some(i) = cluster
        .items
        .iter()
        .position(|it| matches!(it, write::Item::Block(b) if b.keyword == "redis"))
    {
        let r = cluster.items.remove(i);
        cluster.items.push(r);
    }

    // The sink.
    if sink_enabled || helm.sink_enabled.is_some() {
        let mut s = KBlock::new("sink", None);
        let comment = match (&helm.sink_enabled, sink) {
            (Some((_, f, _)), _) => Some(format!(
                "sink.enabled in {}",
                base_name(cx.sources.name(*f))
            )),
            (None, Some(_)) => Some("the deployment has a sink policy".to_string()),
            _ => None,
        };
        s.set_commented("enabled", KVal::lit(sink_enabled.to_string()), comment);
        if let Some(r) = helm.sink_replicas.filter(|r| *r != 1) {
            s.set("replicas", KVal::lit(r.to_string()));
        }
        if let Some((p, file)) = sink
            .and_then(|s| s.port.map(|p| (p, s.file)))
            .filter(|(p, _)| p.port != 2525)
        {
            if p.port < 1024 {
                cx.push(
                    Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("the sink listens on port {}", p.port), Loc::new(file, p.span), "a privileged port: kumoc's sink uses 2525")
                        .with_help("kumoc's pods run without privileges, and binding a port below 1024 needs NET_BIND_SERVICE (or a runtime that lowers `net.ipv4.ip_unprivileged_port_start`): the sink listens on `cluster.sink.port`, 2525 by default, and only the MTAs talk to it"),
                );
            } else {
                s.set("port", KVal::lit(p.port.to_string()));
            }
        }
        cluster.push(s);
    }

    // Metrics.
    let mut metrics = KBlock::new("metrics", None);
    match &mta.metrics {
        Some((_, trusted)) => {
            let list: Vec<KVal> = trusted.iter().map(|t| values::cidr(t)).collect();
            let same_as_pod = pod_cidr
                .as_ref()
                .is_some_and(|(p, _)| trusted.len() == 1 && trusted[0] == *p);
            if !same_as_pod {
                metrics.set("scraper_cidrs", KVal::List(list));
            }
        }
        None => {
            if helm.service_monitor == Some(true) {
                cx.push(
                    Diagnostic::new(codes::IMPORT_ASSUMED_VALUE, "the policy starts no metrics listener", at_mta(mta.http_port.map_or(Span::default(), |p| p.span)), "kumoc starts one")
                        .at_severity(Severity::Info)
                        .with_help("kumoc serves /metrics on its own port (`cluster.mta.ports.metrics`) to the scrapers' network (`cluster.metrics.scraper_cidrs`, by default `pod_cidr`)"),
                );
            } else {
                metrics.set("enabled", KVal::lit("false"));
            }
        }
    }
    if helm.service_monitor == Some(true) {
        metrics.set("service_monitor", KVal::lit("true"));
    }
    if !metrics.is_empty() {
        cluster.push(metrics);
    }
    if !cluster.is_empty() {
        let blocks = cx.files.files.entry(DEPLOYMENT_FILE).or_default();
        blocks.retain(|b| b.keyword != "cluster");
        blocks.insert(1.min(blocks.len()), cluster);
    }

    // ----- API users --------------------------------------------------------------------------
    if let Some((keys, _)) = &mta.users {
        let taken: BTreeSet<String> = cx.secrets.keys.keys().cloned().collect();
        let mut secret = "http-listener-keys".to_string();
        if let Some((_, s)) = cx
            .mounts
            .iter()
            .find(|(m, _)| m.trim_end_matches('/') == names::HTTP_USERS_DIR)
        {
            secret = s.clone();
        } else {
            let mut n = 2;
            while taken.contains(&secret) {
                secret = format!("http-listener-keys-{n}");
                n += 1;
            }
        }
        cx.secrets.declare(&secret);
        for k in keys.iter().chain(&helm.users) {
            cx.secrets.add(&secret, k);
        }
        cx.files.block(DEPLOYMENT_FILE, "http_listener", None).set(
            "users",
            KVal::Call("secret".into(), vec![(None, KVal::str(secret))]),
        );
    }

    // ----- secrets ----------------------------------------------------------------------------
    let secrets: Vec<(String, BTreeSet<String>)> = cx
        .secrets
        .keys
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (s, keys) in secrets {
        let b = cx.files.block(SECRETS_FILE, "secret", Some(&s));
        if !keys.is_empty() {
            b.set(
                "keys",
                KVal::List(keys.iter().map(|k| KVal::str(k.clone())).collect()),
            );
        }
    }
    name
}

/// `pod_cidr`: `--pod-cidr`, else what TSA trusts, else what the sink relays for.
fn pod_cidr(
    cx: &mut Cx,
    input: &Input,
    tsa: Option<&policy::Tsa>,
    sink: Option<&policy::Sink>,
) -> Option<(String, Option<String>)> {
    if let Some(p) = &input.pod_cidr {
        return Some((p.clone(), None));
    }
    let candidates = [
        tsa.and_then(|t| {
            t.trusted_hosts
                .as_ref()
                .map(|h| (t.file, h, "TSA's trusted hosts"))
        }),
        sink.and_then(|s| {
            s.relay_hosts
                .as_ref()
                .map(|h| (s.file, h, "the sink's relay hosts"))
        }),
    ];
    let (file, (hosts, span), what) = candidates.into_iter().flatten().next()?;
    let usable: Vec<&String> = hosts
        .iter()
        .filter(|h| !matches!(h.as_str(), "127.0.0.1" | "::1"))
        .collect();
    let chosen = usable
        .first()
        .map_or_else(|| hosts.first().cloned(), |h| Some((*h).clone()))?;
    let rest: Vec<&String> = hosts.iter().filter(|h| **h != chosen).collect();
    if !rest.is_empty() {
        let shown: Vec<&str> = rest.iter().map(|s| s.as_str()).collect();
        cx.push(
            Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("{what} also list {}", shown.join(", ")), Loc::new(file, *span), format!("`pod_cidr` is {chosen}"))
                .with_help("kumoc trusts one network, the pods' (`cluster.pod_cidr`), for TSA publishing and sink relaying; loopback is always trusted"),
        );
    }
    Some((chosen, Some(format!("from {what}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kumoc_urls_give_names() {
        assert_eq!(
            kumoc_publish_url(
                "http://example-com-tsa-1.example-com-tsa-headless.kumomta.svc.cluster.local:8008"
            ),
            Some(("example-com".into(), "kumomta".into(), 1, 8008))
        );
        assert_eq!(
            tsa_service_url("http://kumomta-tsa:8008"),
            Some(("kumomta".into(), None, 8008))
        );
        assert_eq!(
            sink_host("a-b-sink.ns.svc.cluster.local"),
            Some(("a-b".into(), "ns".into()))
        );
        assert_eq!(kumoc_publish_url("http://kumomta-tsa:8008"), None);
        assert!(secret_key_ok("talk.stir.com.052024s2048.key") && !secret_key_ok("*.x.key"));
        assert_eq!(to_secret_key("*.x/y.key"), "_.x_y.key");
    }
}
