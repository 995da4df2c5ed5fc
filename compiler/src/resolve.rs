//! Phase B: merge the layers, resolve names, check what needs the whole description, and
//! lower it to the [`model`](crate::model).
//!
//! Layers, later winning: the stdlib presets, the user's files, then the selected `env`
//! overlay. Merging follows KumoMTA's own rule for shaping files: a block with the same
//! keyword and name merges (attributes replace, nested blocks merge, repeatable blocks such
//! as `automation` append, `replace_base = true` starts the block afresh). Inside one layer,
//! the same block twice is a duplicate definition.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;

use kumoc_lang::units::{self, Feature, KumoVersion};

use crate::check::{HAttr, HBlock, Trigger, Typed, TypedAt, duplicate_block};
use crate::diagnostic::{Applicability, Diagnostic, Loc, did_you_mean};
use crate::model::*;
use crate::schema::{self, Multiplicity, RefKind};
use crate::source::FileId;

/// Merge `overlay` blocks into `base`.
fn merge<'a>(base: &mut Vec<HBlock<'a>>, overlay: Vec<HBlock<'a>>) {
    // Index the base by key so merging N blocks costs O(N), not O(N²).
    let mut index: HashMap<(&'static str, Option<String>), usize> = HashMap::default();
    index.reserve(base.len() + overlay.len());
    for (i, b) in base.iter().enumerate() {
        if b.schema.multiplicity != Multiplicity::Many && !unnamed(b) {
            let (kw, label) = b.key();
            index.entry((kw, label.map(str::to_string))).or_insert(i);
        }
    }
    for ob in overlay {
        if ob.schema.multiplicity == Multiplicity::Many || unnamed(&ob) {
            base.push(ob);
            continue;
        }
        let (kw, label) = ob.key();
        let key = (kw, label.map(str::to_string));
        match index.get(&key).and_then(|&i| base.get_mut(i)) {
            Some(b) => merge_into(b, ob),
            None => {
                index.insert(key, base.len());
                base.push(ob);
            }
        }
    }
}

fn merge_into<'a>(b: &mut HBlock<'a>, ob: HBlock<'a>) {
    let replace = ob
        .attr("replace_base")
        .and_then(|a| a.value.as_ref())
        .is_some_and(|v| v.value == Typed::Bool(true));
    if replace {
        b.attrs.clear();
        b.blocks.clear();
        b.from = None;
    }
    b.overridden_at.push(ob.header_loc());
    let mut index: HashMap<String, usize> = b
        .attrs
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name().to_string(), i))
        .collect();
    for a in ob.attrs {
        match index.get(a.name()).and_then(|&i| b.attrs.get_mut(i)) {
            Some(slot) => *slot = a,
            None => {
                index.insert(a.name().to_string(), b.attrs.len());
                b.attrs.push(a);
            }
        }
    }
    if ob.from.is_some() {
        b.from = ob.from;
    }
    merge(&mut b.blocks, ob.blocks);
}

/// A keyed block whose name was refused (and reported): it merges with nothing and
/// duplicates nothing.
fn unnamed(b: &HBlock<'_>) -> bool {
    b.schema.multiplicity == Multiplicity::Keyed && b.label.is_none()
}

/// Report blocks defined twice within one layer (possibly in two files); keep the first.
fn dedupe<'a>(blocks: Vec<HBlock<'a>>, diags: &mut Vec<Diagnostic>) -> Vec<HBlock<'a>> {
    let mut out: Vec<HBlock<'a>> = Vec::with_capacity(blocks.len());
    let mut index: HashMap<(&'static str, Option<String>), usize> = HashMap::default();
    index.reserve(blocks.len());
    for b in blocks {
        if b.schema.multiplicity == Multiplicity::Many || unnamed(&b) {
            out.push(b);
            continue;
        }
        let (kw, label) = b.key();
        let key = (kw, label.map(str::to_string));
        match index.get(&key).and_then(|&i| out.get(i)) {
            Some(first) => diags.push(duplicate_block(&b, first.header_loc())),
            None => {
                index.insert(key, out.len());
                out.push(b);
            }
        }
    }
    out
}

pub struct Input<'a> {
    pub stdlib: Vec<HBlock<'a>>,
    /// Top-level blocks of every user file, in file order.
    pub user: Vec<HBlock<'a>>,
    /// `--env`, if given.
    pub env: Option<Environment>,
    /// The first user file, for diagnostics that belong to no block.
    pub first_file: Option<FileId>,
}

pub fn resolve(input: Input<'_>, diags: &mut Vec<Diagnostic>) -> Option<Deployment> {
    let (envs, user): (Vec<_>, Vec<_>) = input
        .user
        .into_iter()
        .partition(|b| b.schema.keyword == "env");
    let user = dedupe(user, diags);
    let mut tree = input.stdlib;
    merge(&mut tree, user);

    // The deployment block decides the default environment and the KumoMTA version.
    let Some(dep) = tree.iter().find(|b| b.schema.keyword == "deployment") else {
        let at = Loc::new(
            input.first_file.unwrap_or_default(),
            kumoc_lang::Span::default(),
        );
        diags.push(
            Diagnostic::new("K1006", "no `deployment` block", at, "none in this file or the others checked with it")
                .with_help("add `deployment \"name\" { namespace = \"...\"  kumomta = \"2025.03.19-1d3f1f67\"  environment = staging }` (or run `kumoc init`)"),
        );
        return None;
    };
    let declared_env = dep
        .attr("environment")
        .and_then(|a| a.value.as_ref())
        .and_then(|v| match &v.value {
            Typed::Enum(x) => Environment::from_name(x.name).map(|e| Spanned {
                value: e,
                loc: v.loc,
            }),
            _ => None,
        });
    let dep_loc = dep.header_loc();
    let environment = match (input.env, declared_env) {
        (Some(e), Some(d)) => Spanned {
            value: e,
            loc: d.loc,
        },
        (Some(e), None) => Spanned {
            value: e,
            loc: dep_loc,
        },
        (None, Some(d)) => d,
        (None, None) => Spanned {
            value: Environment::Staging,
            loc: dep_loc,
        },
    };

    // The overlay of the selected environment.
    let mut overlay = Vec::new();
    for e in envs {
        if e.label.as_deref() == Some(environment.value.name()) {
            overlay.extend(e.blocks);
        }
    }
    merge(&mut tree, dedupe(overlay, diags));

    let mut r = Resolver::new(&tree, diags);
    r.check_tree();
    r.lower(environment)
}

struct Names {
    pools: BTreeSet<String>,
    sources: BTreeSet<String>,
    tenants: BTreeSet<String>,
    secrets: BTreeMap<String, BTreeSet<String>>,
    providers: BTreeSet<String>,
}

struct Resolver<'t, 'a, 'd> {
    tree: &'t [HBlock<'a>],
    diags: &'d mut Vec<Diagnostic>,
    names: Names,
    version: Option<KumoVersion>,
    /// Where each pool is named by an `egress_pool` (a queue, tenant or campaign uses it).
    pool_uses: BTreeMap<String, Vec<Loc>>,
}

fn value_of<'x>(b: &'x HBlock<'_>, name: &str) -> Option<&'x TypedAt> {
    b.attr(name).and_then(|a| a.value.as_ref())
}

impl<'t, 'a, 'd> Resolver<'t, 'a, 'd> {
    fn new(tree: &'t [HBlock<'a>], diags: &'d mut Vec<Diagnostic>) -> Self {
        let top = |kw: &str| -> Vec<&'t HBlock<'a>> {
            tree.iter().filter(|b| b.schema.keyword == kw).collect()
        };
        let labels = |kw: &str| -> BTreeSet<String> {
            top(kw).iter().filter_map(|b| b.label.clone()).collect()
        };
        let mut sources = labels("source");
        let top_sources = sources.clone();
        let mut inline_at: BTreeMap<String, Loc> = BTreeMap::new();
        for pool in top("pool") {
            for s in pool.children("source") {
                let Some(name) = &s.label else { continue };
                if top_sources.contains(name) {
                    continue;
                }
                if let Some(first) = inline_at.get(name) {
                    diags.push(
                        Diagnostic::new("K1004", format!("source `{name}` is defined in two pools"), s.header_loc(), "defined again here")
                            .with_secondary(*first, "first defined here")
                            .with_help(format!("define `source \"{name}\" {{ ... }}` once at the top level; a pool entry then only sets its `weight`")),
                    );
                    continue;
                }
                inline_at.insert(name.clone(), s.header_loc());
                sources.insert(name.clone());
            }
        }
        let mut secrets = BTreeMap::new();
        for s in top("secret") {
            let Some(name) = &s.label else { continue };
            let mut keys = BTreeSet::new();
            if let Some(Typed::List(items)) = value_of(s, "keys").map(|v| &v.value) {
                for i in items {
                    if let Typed::Str(k) = &i.value {
                        keys.insert(k.clone());
                    }
                }
            }
            if let Some(files) = s.child("files") {
                for a in &files.attrs {
                    keys.insert(a.name().to_string());
                }
            }
            secrets.insert(name.clone(), keys);
        }
        let version = tree
            .iter()
            .find(|b| b.schema.keyword == "deployment")
            .and_then(|d| value_of(d, "kumomta"))
            .and_then(|v| match &v.value {
                Typed::Version(ver) => Some(ver.clone()),
                _ => None,
            });
        let names = Names {
            pools: labels("pool"),
            sources,
            tenants: labels("tenant"),
            secrets,
            providers: labels("provider"),
        };
        Self {
            tree,
            diags,
            names,
            version,
            pool_uses: BTreeMap::new(),
        }
    }

    // ----- whole-tree checks -------------------------------------------------------------

    fn check_tree(&mut self) {
        if let (Some(ver), Some(dep)) = (
            self.version.clone(),
            self.tree.iter().find(|b| b.schema.keyword == "deployment"),
        ) {
            let min = units::OLDEST_SUPPORTED;
            if let Some(a) = dep.attr("kumomta") {
                if ver.predates(min) {
                    self.diags.push(
                        Diagnostic::new(
                            "K2008",
                            format!("KumoMTA {ver} is older than kumoc supports"),
                            a.value_loc(),
                            format!("kumoc supports {min} and later"),
                        )
                        .with_help(format!("upgrade to a release from {min} or later")),
                    );
                }
                let image = str_of(dep, "image");
                if let Some(d) = unpublished_tag(&ver, image.as_deref(), a.value_loc()) {
                    self.diags.push(d);
                }
            }
        }
        let tree = self.tree;
        for b in tree {
            self.walk(b);
        }
    }

    fn walk(&mut self, b: &HBlock<'_>) {
        if let Some(feature) = b.schema.since {
            let what = format!("the `{}` block", b.schema.keyword);
            self.gate(feature, &what, b.header_loc());
        }
        // Required fields.
        for f in b.schema.all_fields() {
            if f.required && b.attr(f.name).is_none() {
                let what = match &b.label {
                    Some(l) => format!("`{} {}`", b.schema.keyword, l),
                    None => format!("`{}`", b.schema.keyword),
                };
                self.diags.push(
                    Diagnostic::new(
                        "K1007",
                        format!("{what} is missing `{}`", f.name),
                        b.header_loc(),
                        format!("`{}` is required here", f.name),
                    )
                    .with_help(format!(
                        "add `{} = ...` ({})",
                        f.name,
                        f.ty.describe()
                    )),
                );
            }
        }
        // References in labels.
        if let Some(label) = &b.label {
            let at = b.label_loc();
            match b.schema.keyword {
                "tenant" if !std::ptr::eq(b.schema, &schema::TENANT) => {
                    self.reference(RefKind::Tenant, label, at)
                }
                "source"
                    if std::ptr::eq(b.schema, &schema::SHAPING_SOURCE)
                        || std::ptr::eq(b.schema, &schema::PROVIDER_SOURCE) =>
                {
                    self.reference(RefKind::Source, label, at);
                }
                _ => {}
            }
        }
        if let Some((name, at)) = &b.from {
            self.reference(RefKind::Provider, name, *at);
        }
        for a in &b.attrs {
            if let Some(f) = a.field {
                if let Some(since) = f.since {
                    self.gate(since, &format!("`{}`", f.name), a.key_loc());
                }
            }
            if let Some(v) = &a.value {
                self.value(v);
                self.duration_strings(&a.ast.value, v);
            }
        }
        for c in &b.blocks {
            self.walk(c);
        }
    }

    /// Duration strings in the humantime of the deployment's release. The checker reads
    /// them with the newest humantime (it does not know the release); a release that ships
    /// an older one (`units::RELEASES`) refuses what that one cannot read: `"1.5h"` before
    /// 2025.12.02-67ee9e96.
    fn duration_strings(&mut self, ast: &kumoc_lang::ast::Value, typed: &TypedAt) {
        let Some(ver) = &self.version else { return };
        let mut spans = Vec::new();
        durations_in(typed, &mut spans);
        if spans.is_empty() {
            return;
        }
        let flavor = ver.humantime();
        for span in spans {
            let Some(kumoc_lang::ast::ValueKind::Str(s)) = value_at(ast, span).map(|v| &v.kind)
            else {
                continue;
            };
            let Err(e) = units::parse_humantime(&s.value, flavor) else {
                continue;
            };
            let at = Loc::new(typed.loc.file, span);
            let first = units::first_release_with(units::HumantimeFlavor::V2_3)
                .map_or_else(|| "a newer release".to_string(), |r| r.tag.to_string());
            let mut d = Diagnostic::new(
                "K2008",
                format!(
                    "the duration \"{}\" needs KumoMTA {first} or later; this deployment runs {ver}",
                    s.value
                ),
                at,
                format!("humantime 2.2 reads no such duration: {}", e.message),
            );
            d = match e.suggestion {
                // The same duration, in a form every release reads.
                Some(fixed) => d
                    .with_help(format!(
                        "write `{fixed}`, the same duration, or raise `kumomta` to {first} or later"
                    ))
                    .with_replacement(format!("write `{fixed}`"), at, fixed),
                None => d.with_help(format!(
                    "write it in whole numbers of a smaller unit, or raise `kumomta` to {first} or later"
                )),
            };
            self.diags.push(d);
        }
    }

    fn value(&mut self, v: &TypedAt) {
        match &v.value {
            Typed::Ref(kind, name) => {
                if *kind == RefKind::Pool {
                    self.pool_uses.entry(name.clone()).or_default().push(v.loc);
                }
                self.reference(*kind, name, v.loc);
            }
            Typed::Secret(s) => {
                self.reference(RefKind::Secret, &s.name, s.name_loc);
                if let Some((key, kloc)) = &s.key {
                    self.secret_key(&s.name, key, *kloc);
                }
            }
            Typed::Limit(l) if l.local => self.gate(
                Feature::LocalConnectionLimit,
                "a `local:` connection limit",
                v.loc,
            ),
            Typed::Rate(r) if r.max_burst.is_some() => {
                self.gate(Feature::MaxBurst, "`max_burst` in a rate", v.loc)
            }
            Typed::HostPort(s) if s.parse::<std::net::SocketAddr>().is_err() => self.gate(
                Feature::ProxyServerByName,
                "a proxy server given by DNS name (not `IP:port`)",
                v.loc,
            ),
            Typed::Match(crate::check::MatchRule::HostName(_)) => {
                self.gate(Feature::HostNameMatch, "`host_name(...)` matching", v.loc);
            }
            Typed::Enum(variant) => {
                if let Some(since) = variant.since {
                    self.gate(since, &format!("`{}`", variant.name), v.loc);
                }
            }
            Typed::Action(a) => {
                let variant = a.variant();
                if let Some(since) = variant.since {
                    self.gate(since, &format!("the `{}` action", variant.name), v.loc);
                }
                if let crate::check::Action::SetConfig { value, .. } = a {
                    self.value(value);
                }
            }
            Typed::List(items) => {
                for i in items {
                    self.value(i);
                }
            }
            _ => {}
        }
    }

    /// K2008 when the deployment's release lacks `feature` (`what` names it as written).
    fn gate(&mut self, feature: Feature, what: &str, at: Loc) {
        let Some(ver) = &self.version else { return };
        if !ver.supports(feature) {
            let since = feature.introduced_in();
            self.diags.push(
                Diagnostic::new("K2008", format!("{what} needs KumoMTA {since} or later; this deployment runs {ver}"), at, format!("needs {since}"))
                    .with_help(format!("raise `kumomta` in the deployment block to {since} or later, or do without {what}")),
            );
        }
    }

    fn reference(&mut self, kind: RefKind, name: &str, at: Loc) {
        let set: Vec<&str> = match kind {
            RefKind::Pool => self.names.pools.iter().map(String::as_str).collect(),
            RefKind::Source => self.names.sources.iter().map(String::as_str).collect(),
            RefKind::Tenant => self.names.tenants.iter().map(String::as_str).collect(),
            RefKind::Secret => self.names.secrets.keys().map(String::as_str).collect(),
            RefKind::Provider => self.names.providers.iter().map(String::as_str).collect(),
        };
        if set.contains(&name) {
            return;
        }
        let noun = kind.noun();
        let mut d = Diagnostic::new(
            "K1005",
            format!("unknown {noun} `{name}`"),
            at,
            format!("no {noun} of this name"),
        );
        if let Some(s) = did_you_mean(name, set.iter().copied()) {
            let replacement = replacement_text(kind, s);
            d = d
                .with_help(format!("did you mean `{s}`?"))
                .with_replacement(format!("replace with `{s}`"), at, replacement);
        } else if set.is_empty() {
            d = d.with_help(match kind {
                RefKind::Secret => format!("declare it: `secret \"{name}\" {{ }}`"),
                RefKind::Provider => "the stdlib providers are google, yahoo, outlook, office365, office365-dane, apple and mimecast".to_string(),
                _ => format!("define it: `{noun} \"{name}\" {{ ... }}`"),
            });
        } else {
            let mut shown: Vec<&str> = set.into_iter().take(8).collect();
            shown.sort_unstable();
            d = d.with_help(format!("defined {noun}s: {}", shown.join(", ")));
        }
        self.diags.push(d);
    }

    fn secret_key(&mut self, secret: &str, key: &str, at: Loc) {
        let Some(keys) = self.names.secrets.get(secret) else {
            return;
        };
        if keys.is_empty() || keys.contains(key) {
            return;
        }
        let mut d = Diagnostic::new(
            "K1010",
            format!("secret `{secret}` has no key `{key}`"),
            at,
            "not a declared key",
        );
        if let Some(s) = did_you_mean(key, keys.iter().map(String::as_str)) {
            d = d
                .with_help(format!("did you mean `{s}`?"))
                .with_replacement(format!("replace with `{s}`"), at, format!("\"{s}\""));
        } else {
            let list: Vec<&str> = keys.iter().map(String::as_str).collect();
            d = d.with_help(format!(
                "declared keys: {}; add `{key}` to the secret's `keys` if it exists",
                list.join(", ")
            ));
        }
        self.diags.push(d);
    }

    // ----- lowering ----------------------------------------------------------------------

    fn top(&self, kw: &'static str) -> impl Iterator<Item = &'t HBlock<'a>> + use<'t, 'a> {
        self.tree.iter().filter(move |b| b.schema.keyword == kw)
    }

    fn top_one(&self, kw: &'static str) -> Option<&'t HBlock<'a>> {
        self.tree.iter().find(|b| b.schema.keyword == kw)
    }

    fn lower(&mut self, environment: Spanned<Environment>) -> Option<Deployment> {
        let dep = self.top_one("deployment")?;
        let name = Spanned {
            value: dep.label.clone().unwrap_or_default(),
            loc: dep.label_loc(),
        };
        if let Err(why) = crate::check::check_k8s_name(&name.value) {
            self.diags.push(
                Diagnostic::new("K2010", format!("`{}` cannot name Kubernetes objects", name.value), name.loc, why)
                    .with_help("the deployment name prefixes every object: use lowercase letters, digits and `-`"),
            );
        } else if !name.value.starts_with(|c: char| c.is_ascii_lowercase()) {
            self.diags.push(
                Diagnostic::new(
                    "K2010",
                    format!("`{}` cannot name Kubernetes Services", name.value),
                    name.loc,
                    "starts with a digit",
                )
                .with_help("the deployment name prefixes its Services, whose names start with a letter (DNS-1035): start it with a letter"),
            );
        }
        let namespace = match value_of(dep, "namespace") {
            Some(TypedAt {
                value: Typed::K8sName(n),
                loc,
            }) => Spanned {
                value: n.clone(),
                loc: *loc,
            },
            _ => Spanned {
                value: "default".to_string(),
                loc: dep.header_loc(),
            },
        };
        let version = match value_of(dep, "kumomta") {
            Some(TypedAt {
                value: Typed::Version(v),
                loc,
            }) => Spanned {
                value: v.clone(),
                loc: *loc,
            },
            _ => return None,
        };
        let image = str_of(dep, "image").unwrap_or_else(|| "ghcr.io/kumocorp/kumomta".to_string());

        let domains = self.top("domain").map(|d| self.domain(d)).collect();
        let sources = self.sources();
        let pools = self.top("pool").map(|p| self.pool(p)).collect();
        let tenants = self.top("tenant").map(|t| self.tenant(t)).collect();
        let queues = self.top("queue").map(|q| self.queue(q)).collect();
        let mut shaping: Vec<ShapingBlock> =
            self.top("shaping").map(|s| self.shaping_block(s)).collect();
        shaping.sort_by(|a, b| a.key.cmp(&b.key));
        let mut providers: Vec<Provider> = self.top("provider").map(|p| self.provider(p)).collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        let secrets = self.top("secret").map(|s| self.secret(s)).collect();
        let cluster = self.cluster();
        let settings_of =
            |kw: &'static str| self.top_one(kw).map(|b| settings(b)).unwrap_or_default();

        let d = Deployment {
            name,
            namespace,
            version,
            image,
            environment,
            create_namespace: bool_of(dep, "create_namespace").unwrap_or(false),
            domains,
            dkim_defaults: settings_of("dkim_defaults"),
            sources,
            pools,
            tenancy: settings_of("tenancy"),
            tenants,
            queues,
            shaping,
            providers,
            secrets,
            smtp_listener: settings_of("smtp_listener"),
            http_listener: settings_of("http_listener"),
            logging: settings_of("logging"),
            cluster,
        };
        self.derived_checks(&d);
        Some(d)
    }

    /// Checks on what kumoc derives from the description (trust lists, pools, listeners).
    fn derived_checks(&mut self, d: &Deployment) {
        let c = &d.cluster;
        let cluster_loc = self
            .top_one("cluster")
            .map(HBlock::header_loc)
            .unwrap_or(d.name.loc);
        if c.pod_cidr.is_none() {
            let needs = [
                (
                    c.tsa.is_some(),
                    "TSA trusts the MTA pods that publish to it",
                ),
                (
                    c.sink.enabled.value,
                    "the sink relays only for the MTA pods",
                ),
            ];
            if let Some((_, why)) = needs.iter().find(|(on, _)| *on) {
                self.diags.push(
                    Diagnostic::new("K1007", "`cluster` is missing `pod_cidr`", cluster_loc, "`pod_cidr` is required here")
                        .with_help(format!("{why}: set `pod_cidr` to the cluster's pod network, e.g. `pod_cidr = 10.244.0.0/16`")),
                );
            }
        }
        let has_acls = d.version.value.supports(Feature::AccessControlLists);
        if c.metrics.enabled && !c.metrics.scraper_cidrs.is_empty() && !has_acls {
            let at = c.metrics.loc.unwrap_or(c.mta.metrics_port.loc);
            let nets: Vec<String> = c
                .metrics
                .scraper_cidrs
                .iter()
                .map(|x| x.value.to_string())
                .collect();
            let nets = nets.join(", ");
            self.diags.push(
                Diagnostic::new(
                    "K2014",
                    format!("on KumoMTA {}, the metrics port cannot be limited to /metrics", d.version.value),
                    at,
                    format!("{nets} may also inject and use the admin API on port {}", c.mta.metrics_port.value),
                )
                .with_help("narrow `scraper_cidrs` to where Prometheus runs; the NetworkPolicy for the metrics port limits who can connect"),
            );
        }
        for p in &d.pools {
            let uses = self.pool_uses.get(&p.name).map_or(&[][..], Vec::as_slice);
            if let Some(first) = uses.first() {
                self.unusable_pool(p, *first, uses.len());
            } else if p.members.is_empty() {
                self.gate(
                    Feature::EmptyPools,
                    &format!("an empty pool (`{}`)", p.name),
                    p.loc,
                );
            }
        }
        self.derived_names(d);
        self.derived_shaping_keys(d);
        self.api_user_names();
        self.built_in_names(d);
    }

    /// `unspecified` is KumoMTA's built-in pool and source: `EgressPool::resolve` and
    /// `EgressSource::resolve` (`crates/kumod/src/egress_source.rs`) answer for that name
    /// without asking the policy, so a pool of that name, or a source of that name with
    /// settings, would be silently replaced by the built-in one. (A pool may list the
    /// built-in source with a weight.)
    fn built_in_names(&mut self, d: &Deployment) {
        const BUILT_IN: &str = "unspecified";
        let pool = d.pools.iter().find(|p| p.name == BUILT_IN).map(|p| {
            (
                p.loc,
                "pool",
                "whose only member is the built-in source, so these sources would never be used",
            )
        });
        let source = d
            .sources
            .iter()
            .find(|s| s.name == BUILT_IN && !s.settings.is_empty())
            .map(|s| {
                (
                    s.loc,
                    "source",
                    "the kernel's choice of address and the host name as EHLO, so these settings would be ignored",
                )
            });
        for (at, what, built_in) in pool.into_iter().chain(source) {
            self.diags.push(
                Diagnostic::new(
                    "K2010",
                    format!("`{BUILT_IN}` is KumoMTA's built-in {what}"),
                    at,
                    "KumoMTA never asks the policy for it",
                )
                .with_help(format!(
                    "KumoMTA uses its own `{BUILT_IN}` {what}, {built_in}: choose another name"
                )),
            );
        }
    }

    /// The keys of the Secret `http_listener.users` names are API user names. The policy
    /// reads a user's password from the file named after the user, and only accepts names of
    /// letters, digits, `_`, `.` and `-` starting with a letter, digit or `_` (never a hidden
    /// file, never an option): a key such as `-alice` (a valid Secret key) could never log in.
    fn api_user_names(&mut self) {
        let Some(users) = self
            .top_one("http_listener")
            .and_then(|h| value_of(h, "users"))
            .and_then(|v| match &v.value {
                Typed::Secret(r) => Some(r.name.clone()),
                _ => None,
            })
        else {
            return;
        };
        let Some(secret) = self
            .top("secret")
            .find(|s| s.label.as_deref() == Some(users.as_str()))
        else {
            return;
        };
        let mut keys: Vec<(String, Loc)> = Vec::new();
        if let Some(Typed::List(items)) = value_of(secret, "keys").map(|v| &v.value) {
            for i in items {
                if let Typed::Str(k) = &i.value {
                    keys.push((k.clone(), i.loc));
                }
            }
        }
        if let Some(files) = secret.child("files") {
            keys.extend(
                files
                    .attrs
                    .iter()
                    .map(|a| (a.name().to_string(), a.key_loc())),
            );
        }
        for (k, at) in keys {
            let ok = k
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && k.len() <= 253
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                self.diags.push(
                    Diagnostic::new(
                        "K2010",
                        format!("`{k}` cannot be an API user name"),
                        at,
                        "a key of the `http_listener.users` Secret",
                    )
                    .with_help("each key of this Secret is a user of the HTTP API: names are letters, digits, `_`, `.` and `-`, and start with a letter, digit or `_`"),
                );
            }
        }
    }

    /// A pool a queue sends from needs a source that can be picked: one with a weight above
    /// 0. KumoMTA's weighted selection (`crates/kumod/src/egress_source.rs`) never picks a
    /// weight-0 entry, and releases before 2026.04.09 drop an empty pool at load, so mail
    /// queued for it waits until it expires, on every release.
    fn unusable_pool(&mut self, p: &Pool, first_use: Loc, uses: usize) {
        let why = if p.members.is_empty() {
            "it has no sources"
        } else if p.members.iter().all(|m| m.weight == 0) {
            "every source has weight 0"
        } else {
            return;
        };
        let more = match uses {
            1 => String::new(),
            2 => " (and 1 more place)".to_string(),
            n => format!(" (and {} more places)", n - 1),
        };
        self.diags.push(
            Diagnostic::new(
                "K1011",
                format!("pool `{}` cannot send: {why}", p.name),
                first_use,
                format!("mail queued here is never sent{more}"),
            )
            .with_secondary(p.loc, "the pool")
            .with_help(
                "give the pool a source with a weight of at least 1, or send from another pool",
            ),
        );
    }

    /// The Kubernetes objects named after the deployment, each against its kind's rule: a
    /// Service name is a DNS-1035 label (at most 63); a StatefulSet's pods carry the label
    /// `controller-revision-hash: <name>-<hash>` (a label value, at most 63, the hash up to 10
    /// characters), so a StatefulSet name longer than 52 creates no pods; pod names
    /// `<statefulset>-<ordinal>` are DNS-1123 labels. (ConfigMaps, ServiceAccounts and the
    /// rest are subdomains of up to 253 characters, never the binding limit.)
    fn derived_names(&mut self, d: &Deployment) {
        let n = crate::emit::names::Names::new(d);
        let mut objects: Vec<(&str, &str, usize)> = vec![
            ("the MTA StatefulSet", &n.mta, 52),
            ("the MTA headless Service", &n.mta_headless, 63),
        ];
        if d.cluster.tsa.is_some() {
            objects.push(("the TSA StatefulSet", &n.tsa, 52));
            objects.push(("the TSA headless Service", &n.tsa_headless, 63));
        }
        if d.cluster.sink.enabled.value {
            objects.push(("the sink Service", &n.sink, 63));
        }
        let worst = objects
            .iter()
            .copied()
            .filter(|(_, name, max)| name.len() > *max)
            .max_by_key(|(_, name, max)| name.len() - max);
        let Some((what, object, max)) = worst else {
            return;
        };
        let over = object.len() - max;
        let limit = d.name.value.len().saturating_sub(over);
        let why = if max == 52 {
            "its pods are labelled `<name>-<revision hash>`, at most 63 characters"
        } else {
            "a Service name has at most 63 characters"
        };
        self.diags.push(
            Diagnostic::new(
                "K2010",
                "the deployment name is too long",
                d.name.loc,
                format!("{what} would be `{object}`, {} characters", object.len()),
            )
            .with_help(format!(
                "{why}: shorten the deployment name to at most {limit} characters"
            )),
        );
    }

    /// kumoc derives shaping blocks of its own (the sink's routing domain; the TSA publish
    /// targets, which are no DNS names): a user block with the same key would be the same
    /// TOML table twice.
    fn derived_shaping_keys(&mut self, d: &Deployment) {
        if !d.cluster.sink.enabled.value {
            return;
        }
        let sink = crate::emit::names::Names::new(d).sink_host();
        for b in &d.shaping {
            if b.key.as_str() == sink {
                let at = self
                    .top("shaping")
                    .find(|s| s.label.as_deref() == Some(sink.as_str()))
                    .map_or(b.loc, HBlock::label_loc);
                self.diags.push(
                    Diagnostic::new(
                        "K1004",
                        format!("`shaping \"{sink}\"` is the sink's block"),
                        at,
                        "kumoc writes this block itself",
                    )
                    .with_secondary(
                        d.cluster.sink.enabled.loc,
                        "the sink is on here, and all mail is routed to it",
                    )
                    .with_help("kumoc shapes the traffic to the sink itself: remove this block, or turn the sink off"),
                );
            }
        }
    }

    /// The sink pod runs two listeners: SMTP on `port` and HTTP on 8000 (`sink.lua`, for the
    /// probes); the same port twice would leave one of them unbound.
    fn sink_port(&mut self, sink: Option<&HBlock<'_>>) {
        let Some(p) = sink.and_then(|s| value_of(s, "port")) else {
            return;
        };
        if p.value == Typed::Int(SINK_HTTP_PORT) {
            self.diags.push(
                Diagnostic::new(
                    "K2013",
                    format!(
                        "the sink's SMTP port is its HTTP port ({SINK_HTTP_PORT})"
                    ),
                    p.loc,
                    "taken by the sink's HTTP listener",
                )
                .with_help("the sink serves its probes over HTTP on port 8000: give SMTP another port, like 2525"),
            );
        }
    }

    /// Kubernetes refuses a container whose request exceeds its limit
    /// (`ValidateResourceRequirements`): each request is at most its limit.
    fn requests_within_limits(&mut self, r: Option<&HBlock<'_>>) {
        let Some(r) = r else { return };
        let (Some(req), Some(lim)) = (r.child("requests"), r.child("limits")) else {
            return;
        };
        for f in ["cpu", "memory"] {
            let (Some(a), Some(b)) = (value_of(req, f), value_of(lim, f)) else {
                continue;
            };
            let (Typed::Cpu(x) | Typed::Size(x), Typed::Cpu(y) | Typed::Size(y)) =
                (&a.value, &b.value)
            else {
                continue;
            };
            if x > y {
                self.diags.push(
                    Diagnostic::new(
                        "K2013",
                        format!("the {f} request is above the {f} limit"),
                        a.loc,
                        "more than the limit",
                    )
                    .with_secondary(b.loc, "the limit")
                    .with_help("Kubernetes refuses a request above its limit: raise the limit, lower the request, or drop the limit"),
                );
            }
        }
    }

    fn domain(&mut self, d: &HBlock<'_>) -> Domain {
        let name = d.label.clone().unwrap_or_default();
        let dkim = d.child("dkim").and_then(|k| {
            let mut s = settings(k);
            let key_ref = match s.remove("key").map(|x| x.value) {
                Some(Typed::Secret(r)) => r,
                _ => return None,
            };
            let selector = str_of(k, "selector").or_else(|| {
                self.top_one("dkim_defaults")
                    .and_then(|b| str_of(b, "selector"))
            });
            let Some(selector) = selector else {
                self.diags.push(
                    Diagnostic::new(
                        "K1007",
                        format!("DKIM for `{name}` has no selector"),
                        k.header_loc(),
                        "`selector` missing",
                    )
                    .with_help("set `selector` here or in `dkim_defaults`"),
                );
                return None;
            };
            let key = match &key_ref.key {
                Some((k, _)) => k.clone(),
                None => {
                    let derived = format!("{name}.{selector}.key");
                    if derived.starts_with('*') {
                        self.diags.push(
                            Diagnostic::new(
                                "K1010",
                                format!("no key name for wildcard domain `{name}`"),
                                key_ref.name_loc,
                                "which key of the secret?",
                            )
                            .with_help(format!(
                                "name the key: `secret(\"{}\", \"wildcard.{selector}.key\")`",
                                key_ref.name
                            )),
                        );
                        return None;
                    }
                    self.secret_key(&key_ref.name, &derived, key_ref.name_loc);
                    derived
                }
            };
            Some(Dkim {
                loc: k.header_loc(),
                settings: s,
                key: ResolvedSecretKey {
                    secret: key_ref.name,
                    key,
                    loc: key_ref.name_loc,
                },
            })
        });
        Domain {
            name,
            loc: d.header_loc(),
            dkim,
        }
    }

    fn sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = self
            .top("source")
            .map(|s| Source {
                name: s.label.clone().unwrap_or_default(),
                loc: s.header_loc(),
                settings: settings(s),
            })
            .collect();
        let mut seen: BTreeSet<String> = out.iter().map(|s| s.name.clone()).collect();
        for pool in self.top("pool") {
            for s in pool.children("source") {
                let Some(name) = &s.label else { continue };
                if !seen.insert(name.clone()) {
                    continue;
                }
                let mut st = settings(s);
                st.remove("weight");
                out.push(Source {
                    name: name.clone(),
                    loc: s.header_loc(),
                    settings: st,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn pool(&mut self, p: &HBlock<'_>) -> Pool {
        let name = p.label.clone().unwrap_or_default();
        let top_sources: BTreeSet<String> =
            self.top("source").filter_map(|s| s.label.clone()).collect();
        let members = p
            .children("source")
            .filter_map(|s| {
                let source = s.label.clone()?;
                if top_sources.contains(&source) {
                    if let Some(extra) = s.attrs.iter().find(|a| a.name() != "weight") {
                        self.diags.push(
                            Diagnostic::new("K1002", format!("`{}` cannot be set here: source `{source}` is defined at the top level", extra.name()), extra.key_loc(), "set it in the source's definition")
                                .with_help("in a pool, an entry for a top-level source only sets `weight`"),
                        );
                    }
                }
                let weight = int_of(s, "weight").and_then(|w| u32::try_from(w).ok()).unwrap_or(1);
                Some(PoolMember { source, weight, loc: s.header_loc() })
            })
            .collect();
        Pool {
            name,
            loc: p.header_loc(),
            members,
        }
    }

    fn tenant(&self, t: &HBlock<'_>) -> Tenant {
        Tenant {
            name: t.label.clone().unwrap_or_default(),
            loc: t.header_loc(),
            settings: settings(t),
            campaigns: campaigns(t),
        }
    }

    fn queue(&self, q: &HBlock<'_>) -> QueueRule {
        QueueRule {
            key: shaping_key(q),
            loc: q.header_loc(),
            settings: settings(q),
            tenants: q
                .children("tenant")
                .map(|t| QueueTenant {
                    name: t.label.clone().unwrap_or_default(),
                    loc: t.header_loc(),
                    settings: settings(t),
                    campaigns: campaigns(t),
                })
                .collect(),
        }
    }

    fn shaping(&self, b: &HBlock<'_>, skip: &[&'static str]) -> Shaping {
        let mut st = settings(b);
        for k in skip {
            st.remove(k);
        }
        Shaping {
            settings: st,
            maps: maps(b),
            automation: b.children("automation").map(rule).collect(),
            sources: b
                .children("source")
                .map(|s| ShapingSource {
                    name: s.label.clone().unwrap_or_default(),
                    loc: s.header_loc(),
                    settings: settings(s),
                    maps: maps(s),
                })
                .collect(),
        }
    }

    fn shaping_block(&self, b: &HBlock<'_>) -> ShapingBlock {
        let mut shaping = self.shaping(b, &[]);
        let from = b.from.as_ref().map(|(n, l)| Spanned {
            value: n.clone(),
            loc: *l,
        });
        if let Some(f) = &from {
            // Start from the preset's egress settings; the block's own settings win.
            if let Some(p) = self
                .top("provider")
                .find(|p| p.label.as_deref() == Some(f.value.as_str()))
            {
                let preset = self.shaping(
                    p,
                    &[
                        "match",
                        "provider_connection_limit",
                        "provider_max_message_rate",
                        "replace_base",
                    ],
                );
                for (k, v) in preset.settings {
                    shaping.settings.insert_missing(k, v);
                }
            }
        }
        ShapingBlock {
            key: shaping_key(b),
            loc: b.header_loc(),
            from,
            shaping,
        }
    }

    fn provider(&self, p: &HBlock<'_>) -> Provider {
        let matches = match value_of(p, "match").map(|v| &v.value) {
            Some(Typed::List(items)) => items
                .iter()
                .filter_map(|i| match &i.value {
                    Typed::Match(m) => Some(Spanned {
                        value: m.clone(),
                        loc: i.loc,
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Provider {
            name: p.label.clone().unwrap_or_default(),
            loc: p.header_loc(),
            preset: self.is_stdlib(p.file),
            overridden_at: p.overridden_at.clone(),
            matches,
            shaping: self.shaping(p, &["match", "replace_base"]),
        }
    }

    fn is_stdlib(&self, file: FileId) -> bool {
        file.0 < crate::stdlib::FILES.len() as u32
    }

    fn secret(&self, s: &HBlock<'_>) -> Secret {
        let name = s.label.clone().unwrap_or_default();
        let keys = self.names.secrets.get(&name).cloned().unwrap_or_default();
        let files = s
            .child("files")
            .map(|f| {
                f.attrs
                    .iter()
                    .filter_map(|a| match a.value.as_ref() {
                        Some(TypedAt {
                            value: Typed::Str(p),
                            loc,
                        }) => Some((
                            a.name().to_string(),
                            Spanned {
                                value: p.clone(),
                                loc: *loc,
                            },
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Secret {
            name,
            loc: s.header_loc(),
            keys,
            files,
        }
    }

    fn cluster(&mut self) -> Cluster {
        let c = self.top_one("cluster");
        let child = |kw: &str| c.and_then(|c| c.child(kw));
        let mta_b = child("mta");
        // Where defaults are reported: the mta block, else the cluster block, else the deployment.
        let fallback = mta_b
            .or(c)
            .or_else(|| self.top_one("deployment"))
            .map_or(Loc::default(), HBlock::header_loc);
        let ports = mta_b.and_then(|m| m.child("ports"));
        let port = |name: &str, default: u16| -> Spanned<u16> {
            match ports.and_then(|p| value_of(p, name)) {
                Some(TypedAt {
                    value: Typed::Int(n),
                    loc,
                }) => Spanned {
                    value: u16::try_from(*n).unwrap_or(default),
                    loc: *loc,
                },
                _ => Spanned {
                    value: default,
                    loc: fallback,
                },
            }
        };
        let default_loc = fallback;
        let probes = mta_b.and_then(|m| m.child("probes"));
        let probe = |kw: &str, d: Probe| probe(probes.and_then(|p| p.child(kw)), d);
        let http_port = port("http", 8000);
        let metrics_port = port("metrics", 8080);
        let smtp_port = port("smtp", 2500);
        let mut seen: Vec<(&str, &Spanned<u16>)> = Vec::new();
        for (name, p) in [
            ("http", &http_port),
            ("metrics", &metrics_port),
            ("smtp", &smtp_port),
        ] {
            if let Some((other, _)) = seen.iter().find(|(_, q)| q.value == p.value) {
                self.diags.push(
                    Diagnostic::new(
                        "K2013",
                        format!("ports `{other}` and `{name}` are both {}", p.value),
                        p.loc,
                        "same port twice",
                    )
                    .with_help("give each listener its own port"),
                );
            }
            seen.push((name, p));
        }
        let mta = Mta {
            loc: mta_b.map(HBlock::header_loc),
            replicas: mta_b
                .and_then(|m| value_of(m, "replicas"))
                .and_then(|v| match v.value {
                    Typed::Int(n) => Some(Spanned {
                        value: u32::try_from(n).unwrap_or(1),
                        loc: v.loc,
                    }),
                    _ => None,
                })
                .unwrap_or(Spanned {
                    value: 1,
                    loc: default_loc,
                }),
            spool_bytes: mta_b
                .and_then(|m| value_of(m, "spool"))
                .and_then(|v| match v.value {
                    Typed::Size(n) => Some(Spanned {
                        value: n,
                        loc: v.loc,
                    }),
                    _ => None,
                })
                .unwrap_or(Spanned {
                    value: 20 * 1024 * 1024 * 1024,
                    loc: default_loc,
                }),
            storage_class: mta_b.and_then(|m| str_of(m, "storage_class")),
            termination_grace_ms: mta_b
                .and_then(|m| dur_of(m, "termination_grace_period"))
                .unwrap_or(300_000),
            http_port,
            metrics_port,
            smtp_port,
            resources: {
                let r = mta_b.and_then(|m| m.child("resources"));
                self.requests_within_limits(r);
                resources(r)
            },
            autoscale: mta_b
                .and_then(|m| m.child("autoscale"))
                .map(|a| self.autoscale(a)),
            readiness: probe(
                "readiness",
                Probe {
                    initial_delay_ms: 0,
                    period_ms: 10_000,
                    timeout_ms: 1_000,
                    failure_threshold: 3,
                },
            ),
            startup: probe(
                "startup",
                Probe {
                    initial_delay_ms: 0,
                    period_ms: 10_000,
                    timeout_ms: 1_000,
                    failure_threshold: 30,
                },
            ),
            liveness: probe(
                "liveness",
                Probe {
                    initial_delay_ms: 0,
                    period_ms: 20_000,
                    timeout_ms: 1_000,
                    failure_threshold: 3,
                },
            ),
        };
        let tsa = child("tsa").and_then(|t| {
            if bool_of(t, "enabled") == Some(false) {
                return None;
            }
            Some(Tsa {
                loc: t.header_loc(),
                replicas: value_of(t, "replicas")
                    .and_then(|v| match v.value {
                        Typed::Int(n) => Some(Spanned {
                            value: u32::try_from(n).unwrap_or(1),
                            loc: v.loc,
                        }),
                        _ => None,
                    })
                    .unwrap_or(Spanned {
                        value: 1,
                        loc: t.header_loc(),
                    }),
                port: int_of(t, "port")
                    .and_then(|n| u16::try_from(n).ok())
                    .unwrap_or(8008),
                storage_bytes: size_of(t, "storage").unwrap_or(1024 * 1024 * 1024),
                storage_class: str_of(t, "storage_class"),
                pre_filter: bool_of(t, "pre_filter").unwrap_or(true),
                cache_ttl_ms: dur_of(t, "cache_ttl").unwrap_or(60_000),
                resources: resources(t.child("resources")),
            })
        });
        if let Some(t) = child("tsa") {
            self.requests_within_limits(t.child("resources"));
        }
        let sink_b = child("sink");
        self.requests_within_limits(sink_b.and_then(|s| s.child("resources")));
        self.sink_port(sink_b);
        let sink = Sink {
            loc: sink_b.map(HBlock::header_loc),
            enabled: sink_b
                .and_then(|s| value_of(s, "enabled"))
                .and_then(|v| match v.value {
                    Typed::Bool(b) => Some(Spanned {
                        value: b,
                        loc: v.loc,
                    }),
                    _ => None,
                })
                .unwrap_or(Spanned {
                    value: false,
                    loc: default_loc,
                }),
            replicas: sink_b
                .and_then(|s| int_of(s, "replicas"))
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1),
            port: sink_b
                .and_then(|s| int_of(s, "port"))
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(2525),
            resources: resources(sink_b.and_then(|s| s.child("resources"))),
        };
        let redis = child("redis").map(|r| Redis {
            loc: r.header_loc(),
            settings: settings(r),
        });
        let metrics_b = child("metrics");
        let pod_cidr = c
            .and_then(|c| value_of(c, "pod_cidr"))
            .and_then(|v| match v.value {
                Typed::Cidr(x) => Some(Spanned {
                    value: x,
                    loc: v.loc,
                }),
                _ => None,
            });
        let scraper_cidrs = match metrics_b
            .and_then(|m| value_of(m, "scraper_cidrs"))
            .map(|v| &v.value)
        {
            Some(Typed::List(items)) => items
                .iter()
                .filter_map(|i| match i.value {
                    Typed::Cidr(x) => Some(Spanned {
                        value: x,
                        loc: i.loc,
                    }),
                    _ => None,
                })
                .collect(),
            _ => pod_cidr.iter().cloned().collect(),
        };
        let metrics = Metrics {
            loc: metrics_b.map(HBlock::header_loc),
            enabled: metrics_b
                .and_then(|m| bool_of(m, "enabled"))
                .unwrap_or(true),
            service_monitor: metrics_b
                .and_then(|m| bool_of(m, "service_monitor"))
                .unwrap_or(false),
            interval_ms: metrics_b
                .and_then(|m| dur_of(m, "interval"))
                .unwrap_or(30_000),
            scraper_cidrs,
        };
        Cluster {
            pod_cidr,
            mta,
            tsa,
            sink,
            redis,
            metrics,
        }
    }

    fn autoscale(&mut self, a: &HBlock<'_>) -> Autoscale {
        let min = int_of(a, "min")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        let max = int_of(a, "max")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(min);
        if min > max {
            if let Some(at) = a.attr("max") {
                self.diags.push(
                    Diagnostic::new(
                        "K2013",
                        format!("autoscale `max` ({max}) is below `min` ({min})"),
                        at.value_loc(),
                        "below `min`",
                    )
                    .with_secondary(
                        a.attr("min").map_or(a.header_loc(), HAttr::value_loc),
                        "`min` set here",
                    )
                    .with_help("`max` must be at least `min`"),
                );
            }
        }
        let pct = |name: &str| match value_of(a, name).map(|v| &v.value) {
            Some(Typed::Percent(p)) => Some(*p),
            _ => None,
        };
        let (cpu_percent, memory_percent) = (pct("cpu"), pct("memory"));
        if a.attr("cpu").is_none() && a.attr("memory").is_none() {
            self.diags.push(
                Diagnostic::new(
                    "K1007",
                    "`autoscale` has no target",
                    a.header_loc(),
                    "scales on nothing",
                )
                .with_help("set `cpu = 80%` and/or `memory = 80%`"),
            );
        }
        Autoscale {
            loc: a.header_loc(),
            min,
            max,
            cpu_percent,
            memory_percent,
        }
    }
}

/// How a suggested name replaces a reference: secret names are strings inside
/// `secret(...)`; other names are written bare when they can be.
fn replacement_text(kind: RefKind, name: &str) -> String {
    let bare = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if kind != RefKind::Secret && bare {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

/// The repository KumoMTA publishes its release images to: the default `image`.
pub(crate) const KUMOMTA_IMAGE: &str = "ghcr.io/kumocorp/kumomta";

/// `kumomta` must name an image that exists. In KumoMTA's own repository (the default
/// `image`) the tags are the releases of [`units::RELEASES`]: a tag of a release date with
/// another commit, or of a day without a release, names no image (a tag newer than every
/// release kumoc knows may exist, and passes). Another repository (a mirror, a build of
/// one's own) may hold any tag of the same shape.
fn unpublished_tag(ver: &KumoVersion, image: Option<&str>, at: Loc) -> Option<Diagnostic> {
    let repo = image.map_or(KUMOMTA_IMAGE, image_repository);
    if repo != KUMOMTA_IMAGE || ver.release().is_some() {
        return None;
    }
    let newest = units::newest_release()?;
    if *ver > newest.version() {
        return None;
    }
    let d = Diagnostic::new(
        "K2009",
        format!("`{KUMOMTA_IMAGE}:{ver}` does not exist: no KumoMTA release has this tag"),
        at,
        "not a published tag",
    );
    Some(match units::release_on(ver.year, ver.month, ver.day) {
        Some(r) => d
            .with_help(format!(
                "the KumoMTA release of {} is tagged `{}`",
                r.date(),
                r.tag
            ))
            // Unsafe: the commit written may be a build of one's own in another registry.
            .with_fix(
                format!("use the published tag `{}`", r.tag),
                Applicability::Unsafe,
                vec![crate::diagnostic::Edit {
                    loc: at,
                    replacement: format!("\"{}\"", r.tag),
                }],
            ),
        None => d.with_help(format!(
            "KumoMTA published no release on {:04}.{:02}.{:02}{}",
            ver.year,
            ver.month,
            ver.day,
            units::around(ver)
        )),
    })
}

/// An image reference without its tag or digest (a registry's `:port` is kept).
pub(crate) fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let name_start = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest.get(name_start..).and_then(|n| n.find(':')) {
        Some(colon) => no_digest.get(..name_start + colon).unwrap_or(no_digest),
        None => no_digest,
    }
}

/// The spans of every duration in a typed value (lists, `set_config(...)` values).
fn durations_in(v: &TypedAt, out: &mut Vec<kumoc_lang::Span>) {
    match &v.value {
        Typed::Duration(_) => out.push(v.loc.span),
        Typed::List(items) => items.iter().for_each(|i| durations_in(i, out)),
        Typed::Action(crate::check::Action::SetConfig { value, .. }) => durations_in(value, out),
        _ => {}
    }
}

/// The syntax node of a value at `span`, inside `v` (lists and call arguments).
fn value_at(v: &kumoc_lang::ast::Value, span: kumoc_lang::Span) -> Option<&kumoc_lang::ast::Value> {
    use kumoc_lang::ast::ValueKind;
    if v.span == span {
        return Some(v);
    }
    match &v.kind {
        ValueKind::List(l) => l.items.iter().find_map(|i| value_at(i, span)),
        ValueKind::Call(c) => c.args.iter().find_map(|a| value_at(&a.value, span)),
        _ => None,
    }
}

/// The port of the sink's HTTP listener (written by `sink.lua` and the sink Deployment's
/// container ports, `emit/kumomta/policy.rs` and `emit/k8s.rs`).
const SINK_HTTP_PORT: i64 = 8000;

fn shaping_key(b: &HBlock<'_>) -> ShapingKey {
    match b.label.as_deref() {
        Some("default") | None => ShapingKey::Default,
        Some(d) => ShapingKey::Domain(d.to_string()),
    }
}

fn settings(b: &HBlock<'_>) -> Settings {
    b.attrs
        .iter()
        .filter_map(|a| {
            let field = a.field?;
            let v = a.value.as_ref()?;
            let mut value = v.value.clone();
            // `secret("name")` without a key: the key is named after the field (TLS fields
            // use the kubernetes.io/tls names). DKIM keys and API users are handled apart.
            if let Typed::Secret(r) = &mut value {
                if r.key.is_none() && !matches!(field.name, "key" | "users") {
                    r.key = Some((default_secret_key(field.name).to_string(), r.name_loc));
                }
            }
            Some((
                field.name,
                Setting {
                    field,
                    value,
                    loc: v.loc,
                },
            ))
        })
        .collect()
}

/// The key a `secret("name")` reference reads when it names none.
pub fn default_secret_key(field: &str) -> &str {
    match field {
        "tls_certificate" => "tls.crt",
        "tls_private_key" => "tls.key",
        other => other,
    }
}

fn maps(b: &HBlock<'_>) -> BTreeMap<&'static str, MapEntries> {
    b.blocks
        .iter()
        .filter(|c| c.schema.map_of.is_some())
        .map(|c| {
            let entries = c
                .attrs
                .iter()
                .filter_map(|a| {
                    let v = a.value.as_ref()?;
                    Some((
                        a.name().to_string(),
                        Spanned {
                            value: v.value.clone(),
                            loc: v.loc,
                        },
                    ))
                })
                .collect();
            (c.schema.keyword, entries)
        })
        .collect()
}

fn campaigns(t: &HBlock<'_>) -> Vec<Campaign> {
    t.children("campaign")
        .map(|c| Campaign {
            name: c.label.clone().unwrap_or_default(),
            loc: c.header_loc(),
            settings: settings(c),
        })
        .collect()
}

fn rule(a: &HBlock<'_>) -> Rule {
    let list = |name: &str| -> Vec<TypedAt> {
        match value_of(a, name).map(|v| &v.value) {
            Some(Typed::List(items)) => items.clone(),
            _ => Vec::new(),
        }
    };
    Rule {
        loc: a.header_loc(),
        regex: list("regex")
            .into_iter()
            .filter_map(|t| match t.value {
                Typed::Regex(r) => Some(Spanned {
                    value: r,
                    loc: t.loc,
                }),
                _ => None,
            })
            .collect(),
        actions: list("action")
            .into_iter()
            .filter_map(|t| match t.value {
                Typed::Action(x) => Some(Spanned {
                    value: x,
                    loc: t.loc,
                }),
                _ => None,
            })
            .collect(),
        trigger: match value_of(a, "trigger").map(|v| &v.value) {
            Some(Typed::Trigger(t)) => *t,
            _ => Trigger::Immediate,
        },
        duration_ms: dur_of(a, "duration").unwrap_or(0),
        match_internal: bool_of(a, "match_internal").unwrap_or(false),
    }
}

fn resources(b: Option<&HBlock<'_>>) -> Resources {
    let Some(b) = b else {
        return Resources::default();
    };
    let get = |kw: &str, f: &str| -> Option<u64> {
        b.child(kw)
            .and_then(|c| value_of(c, f))
            .and_then(|v| match v.value {
                Typed::Cpu(n) | Typed::Size(n) => Some(n),
                _ => None,
            })
    };
    Resources {
        requests_cpu: get("requests", "cpu"),
        requests_memory: get("requests", "memory"),
        limits_cpu: get("limits", "cpu"),
        limits_memory: get("limits", "memory"),
        loc: Some(b.header_loc()),
    }
}

fn probe(b: Option<&HBlock<'_>>, d: Probe) -> Probe {
    let Some(b) = b else { return d };
    Probe {
        initial_delay_ms: dur_of(b, "initial_delay").unwrap_or(d.initial_delay_ms),
        period_ms: dur_of(b, "period").unwrap_or(d.period_ms),
        timeout_ms: dur_of(b, "timeout").unwrap_or(d.timeout_ms),
        failure_threshold: int_of(b, "failure_threshold")
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(d.failure_threshold),
    }
}

fn str_of(b: &HBlock<'_>, name: &str) -> Option<String> {
    match value_of(b, name).map(|v| &v.value) {
        Some(Typed::Str(s) | Typed::Domain(s) | Typed::K8sName(s) | Typed::Url(s)) => {
            Some(s.clone())
        }
        _ => None,
    }
}

fn bool_of(b: &HBlock<'_>, name: &str) -> Option<bool> {
    match value_of(b, name).map(|v| &v.value) {
        Some(Typed::Bool(x)) => Some(*x),
        _ => None,
    }
}

fn int_of(b: &HBlock<'_>, name: &str) -> Option<i64> {
    match value_of(b, name).map(|v| &v.value) {
        Some(Typed::Int(x)) => Some(*x),
        _ => None,
    }
}

fn dur_of(b: &HBlock<'_>, name: &str) -> Option<u64> {
    match value_of(b, name).map(|v| &v.value) {
        Some(Typed::Duration(x)) => Some(*x),
        _ => None,
    }
}

fn size_of(b: &HBlock<'_>, name: &str) -> Option<u64> {
    match value_of(b, name).map(|v| &v.value) {
        Some(Typed::Size(x)) => Some(*x),
        _ => None,
    }
}
