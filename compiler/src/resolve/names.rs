//! Phase B, names: the tables of what the merged description defines, and the checks that
//! need them all: required fields, references (pools, sources, tenants, secrets, providers)
//! and the keys of secrets.

use std::collections::{BTreeMap, BTreeSet};

use kumoc_lang::units::KumoVersion;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Names, Resolver};
use crate::check::HBlock;
use crate::codes;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::schema::{self, Field, RefKind};
use crate::source::Loc;
use crate::source::Sources;
use crate::value::{Action, Typed, TypedAt};

impl<'t, 'd> Resolver<'t, 'd> {
    pub(super) fn new(
        tree: &'t [&'t HBlock],
        texts: &'t Sources,
        diags: &'d mut Vec<Diagnostic>,
    ) -> Self {
        let top = |kw: &'static str| tree.iter().copied().filter(move |b| b.schema.keyword == kw);
        // The names borrow the tree's labels: a deployment of N domains copies none. Hashed
        // sets: a reference is a lookup, and a B-tree of 10,000 names compared strings ~14
        // times per insert and per lookup.
        let labels = |kw: &'static str| -> HashSet<&'t str> {
            top(kw).filter_map(|b| b.label.as_deref()).collect()
        };
        let mut sources = labels("source");
        let top_sources = sources.len();
        // Both sized for every source the pools may define (grown by doubling, each was
        // rehashed about fourteen times at 10,000).
        let in_pools: usize = top("pool").map(|p| p.blocks.len()).sum();
        sources.reserve(in_pools);
        let mut inline_at: HashMap<&'t str, Loc> =
            HashMap::with_capacity_and_hasher(in_pools, Default::default());
        for pool in top("pool") {
            for s in pool.children("source") {
                let Some(name) = s.label.as_deref() else {
                    continue;
                };
                if top_sources > 0 && !inline_at.contains_key(name) && sources.contains(name) {
                    continue;
                }
                // One hash of the name, whether it was defined in another pool or not.
                match inline_at.entry(name) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        let first = *first.get();
                        diags.push(
                            Diagnostic::new(codes::DUPLICATE_DEFINITION, format!("source `{name}` is defined in two pools"), s.header_loc(), "defined again here")
                                .with_secondary(first, "first defined here")
                                .with_help(format!("define `source \"{name}\" {{ ... }}` once at the top level; a pool entry then only sets its `weight`")),
                        );
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(s.header_loc());
                        sources.insert(name);
                    }
                }
            }
        }
        let mut secrets = HashMap::default();
        for s in top("secret") {
            let Some(name) = s.label.as_deref() else {
                continue;
            };
            let mut keys = BTreeSet::new();
            if let Some(list) = s.value("keys") {
                keys.extend(list.read_items(Typed::text).map(|k| k.value.to_string()));
            }
            if let Some(files) = s.child("files") {
                for a in &files.attrs {
                    keys.insert(a.name().to_string());
                }
            }
            secrets.insert(name, keys);
        }
        let version = tree
            .iter()
            .find(|b| b.schema.keyword == "deployment")
            .and_then(|d| d.read("kumomta", Typed::as_version))
            .cloned();
        let humantime = version.as_ref().map(KumoVersion::humantime);
        let names = Names {
            pools: labels("pool"),
            sources,
            tenants: labels("tenant"),
            secrets,
            providers: labels("provider"),
        };
        Self {
            tree,
            texts,
            diags,
            names: std::sync::Arc::new(names),
            version,
            humantime,
            required: HashMap::default(),
            pool_uses: BTreeMap::new(),
        }
    }

    /// Each block's required fields, references and version gates, in the order written:
    /// `tree` (the tree's blocks, or some of them) and the bulk blocks from the `first`-th
    /// on (`bulk`, see `resolve`), `rest_at[i]` being how many bulk blocks come before
    /// `tree[i]`.
    pub(super) fn walk_from<'b>(
        &mut self,
        mut bulk: impl Iterator<Item = &'b HBlock>,
        first: usize,
        tree: &[&HBlock],
        rest_at: &[usize],
    ) {
        let mut walked = first;
        for (&b, &before) in tree.iter().zip(rest_at) {
            for d in bulk.by_ref().take(before.saturating_sub(walked)) {
                self.walk(d);
            }
            walked = walked.max(before);
            self.walk(b);
        }
        for d in bulk {
            self.walk(d);
        }
    }

    /// What a resolver on a second thread shares with this one.
    pub(super) fn seed(&self) -> Seed<'t> {
        Seed {
            tree: self.tree,
            texts: self.texts,
            names: std::sync::Arc::clone(&self.names),
            version: self.version.clone(),
            humantime: self.humantime,
        }
    }

    fn walk(&mut self, b: &HBlock) {
        self.block_gate(b);
        // Required fields (most schemas have none: that is known once per schema).
        let schema = b.schema;
        let required = self
            .required
            .entry(std::ptr::from_ref(schema) as usize)
            .or_insert_with(|| schema.all_fields().filter(|f| f.required).collect());
        // Copied out only when one is missing (the diagnostics borrow `self`).
        let missing = required.iter().any(|f| b.attr(f.name).is_none());
        let required: Vec<&'static Field> = if missing {
            required.to_vec()
        } else {
            Vec::new()
        };
        for f in required {
            if b.attr(f.name).is_none() {
                let what = match &b.label {
                    Some(l) => format!("`{} {}`", b.schema.keyword, l),
                    None => format!("`{}`", b.schema.keyword),
                };
                self.diags.push(
                    Diagnostic::new(
                        codes::MISSING_FIELD,
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
        if let Some((name, at)) = b.from.as_deref() {
            self.reference(RefKind::Provider, name, *at);
        }
        for a in &b.attrs {
            self.attr_gates(a);
            // Only these hold names (a list's items may).
            if let Some(v) = a.value.as_ref().filter(|v| {
                matches!(
                    v.value,
                    Typed::Ref(..) | Typed::Secret(_) | Typed::Action(_) | Typed::List(_)
                )
            }) {
                self.references(v);
            }
        }
        for c in &b.blocks {
            self.walk(c);
        }
    }

    /// The names a value refers to exist (a list's items and a `set_config(...)` value's
    /// too), and each pool's uses are noted.
    fn references(&mut self, v: &TypedAt) {
        match &v.value {
            Typed::Ref(kind, name) => {
                if *kind == RefKind::Pool {
                    match self.pool_uses.get_mut(name.as_str()) {
                        Some(uses) => uses.push(v.loc),
                        None => {
                            self.pool_uses.insert(name.as_str().to_owned(), vec![v.loc]);
                        }
                    }
                }
                self.reference(*kind, name, v.loc);
            }
            Typed::Secret(s) => {
                self.reference(RefKind::Secret, &s.name, s.name_loc);
                if let Some((key, kloc)) = &s.key {
                    self.secret_key(&s.name, key, *kloc);
                }
            }
            Typed::Action(Action::SetConfig { value, .. }) => self.references(value),
            Typed::List(items) => {
                for i in items {
                    self.references(i);
                }
            }
            _ => {}
        }
    }

    pub(super) fn reference(&mut self, kind: RefKind, name: &str, at: Loc) {
        let n = &self.names;
        let defined = match kind {
            RefKind::Pool => n.pools.contains(name),
            RefKind::Source => n.sources.contains(name),
            RefKind::Tenant => n.tenants.contains(name),
            RefKind::Secret => n.secrets.contains_key(name),
            RefKind::Provider => n.providers.contains(name),
        };
        if defined {
            return;
        }
        // Unknown: the names of that kind, in name order, for the suggestion.
        let mut set: Vec<&str> = match kind {
            RefKind::Pool => self.names.pools.iter().copied().collect(),
            RefKind::Source => self.names.sources.iter().copied().collect(),
            RefKind::Tenant => self.names.tenants.iter().copied().collect(),
            RefKind::Secret => self.names.secrets.keys().copied().collect(),
            RefKind::Provider => self.names.providers.iter().copied().collect(),
        };
        set.sort_unstable();
        let noun = kind.noun();
        let mut d = Diagnostic::new(
            codes::UNKNOWN_REFERENCE,
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
            let shown: Vec<&str> = set.into_iter().take(8).collect();
            d = d.with_help(format!("defined {noun}s: {}", shown.join(", ")));
        }
        self.diags.push(d);
    }

    /// See [`Names::secret_key`].
    pub(super) fn secret_key(&mut self, secret: &str, key: &str, at: Loc) {
        self.names.secret_key(secret, key, at, self.diags);
    }
}

/// What a resolver shares with one on a second thread, which walks and lowers the second
/// part of the bulk blocks (`resolve`) with its own findings.
pub(super) struct Seed<'t> {
    tree: &'t [&'t HBlock],
    texts: &'t Sources,
    names: std::sync::Arc<Names<'t>>,
    version: Option<KumoVersion>,
    humantime: Option<kumoc_lang::units::HumantimeFlavor>,
}

impl<'t> Seed<'t> {
    pub(super) fn resolver(self, diags: &mut Vec<Diagnostic>) -> Resolver<'t, '_> {
        Resolver {
            tree: self.tree,
            texts: self.texts,
            diags,
            names: self.names,
            version: self.version,
            humantime: self.humantime,
            required: HashMap::default(),
            pool_uses: BTreeMap::new(),
        }
    }
}

impl Names<'_> {
    /// The key `key` of secret `secret` is one it declares (when it declares any); a
    /// finding in `diags` when not.
    pub(super) fn secret_key(&self, secret: &str, key: &str, at: Loc, diags: &mut Vec<Diagnostic>) {
        let Some(keys) = self.secrets.get(secret) else {
            return;
        };
        if keys.is_empty() || keys.contains(key) {
            return;
        }
        let mut d = Diagnostic::new(
            codes::UNKNOWN_SECRET_KEY,
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
        diags.push(d);
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
