//! The helpers' data files, imported completely: `sources.toml`, `dkim_data.toml`,
//! `queues.toml` and `shaping.toml` (TOML or JSON, several per helper, merged the way each
//! helper merges them), written as `.kumo` blocks.
//!
//! Every key becomes the `.kumo` field of the same name. A key kumoc does not know is written
//! too (when its value is a scalar or a list), so `kumoc check` reports it with "did you
//! mean"; only what has no `.kumo` spelling at all (a table where a value goes, DKIM
//! `signature` blocks, a queue `protocol`) is reported here instead. Shaping is written over
//! the stdlib presets (KumoMTA's bundled `shaping.toml` as `.kumo`): only what differs from
//! the preset of the same name, and a domain block that starts from a provider preset's
//! settings becomes `from provider.NAME` plus what differs.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use kumoc_lang::Span;
use kumoc_lang::units::{Feature, KumoVersion};

use super::data::{self, Data, Format};
use super::policy::{FileRef, Mta, Tsa};
use super::values::{self, Raw};
use super::write::{Item, KBlock, KVal};
use super::{Cx, Derived, MAIL_FILE, SHAPING_FILE, SecretUse, Sev};
use crate::codes;
use crate::diagnostic::{Diagnostic, Loc, Severity};
use crate::emit::names;
use crate::schema::{self, BlockSchema, Ty};
use crate::source::FileId;

/// KumoMTA's bundled shaping file, which the shaping helper loads first.
pub const BUNDLED_SHAPING: &str = "/opt/kumomta/share/policy-extras/shaping.toml";

/// A data file being read: where diagnostics point.
struct Ctx<'d> {
    file: FileId,
    at: &'d super::data::Locator,
    /// Report unknown keys and the like (not for the stdlib's own data).
    report: bool,
}

impl Ctx<'_> {
    fn loc(&self, path: &[String]) -> Loc {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        Loc::new(self.file, self.at.nearest(&p))
    }
}

fn join(path: &[String], k: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(k.to_string());
    p
}

/// Read every data file the policy names and write their blocks.
pub fn read(
    cx: &mut Cx,
    dir: &BTreeMap<String, FileId>,
    mta: &Mta,
    tsa: Option<&Tsa>,
    version: &KumoVersion,
) -> Derived {
    let mut derived = Derived::default();
    let sources: Vec<(FileId, Data)> = mta
        .sources_files
        .iter()
        .filter_map(|f| load(cx, dir, f, mta.file, Format::for_helper(&f.path)))
        .collect();
    if !sources.is_empty() {
        read_sources(cx, &sources, &mta.warmups);
    }
    let dkim: Vec<(FileId, Data)> = mta
        .dkim_files
        .iter()
        .filter_map(|f| load(cx, dir, f, mta.file, Format::for_helper(&f.path)))
        .collect();
    read_dkim(cx, &dkim);
    let queues: Vec<(FileId, Data)> = mta
        .queue_files
        .iter()
        .filter_map(|f| load(cx, dir, f, mta.file, Format::for_helper(&f.path)))
        .collect();
    read_queues(cx, &queues);
    if let Some(setup) = &mta.shaping {
        let files: Vec<(FileId, Data)> = setup
            .extra_files
            .iter()
            .filter(|f| f.path != BUNDLED_SHAPING && !f.path.starts_with("http"))
            .filter_map(|f| load(cx, dir, f, mta.file, Format::for_shaping(&f.path)))
            .collect();
        read_shaping(cx, &files, setup.default_files, mta, &mut derived, version);
        if let Some(t) = tsa {
            tsa_files(cx, setup, t);
        }
    }
    derived
}

/// The files TSA loads must be the MTA's (`shared/reference/kumomta.md` §7).
fn tsa_files(cx: &mut Cx, setup: &super::policy::ShapingSetup, tsa: &Tsa) {
    let Some((files, span)) = &tsa.shaping_files else {
        return;
    };
    let mut mta: Vec<&str> = Vec::new();
    if setup.default_files {
        mta.push(BUNDLED_SHAPING);
    }
    mta.extend(setup.extra_files.iter().map(|f| f.path.as_str()));
    let theirs: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    if mta != theirs {
        cx.push(
            Diagnostic::new(
                codes::IMPORT_SETTING_NOT_DESCRIBED,
                "TSA loads other shaping files than the MTAs",
                Loc::new(tsa.file, *span),
                format!(
                    "the MTAs load {}",
                    if mta.is_empty() {
                        "none".to_string()
                    } else {
                        mta.join(", ")
                    }
                ),
            )
            .with_help(
                "TSA must read the same rules as the MTAs; kumoc gives both the same shaping.toml",
            ),
        );
    }
}

/// A data file by the path the policy names.
fn load(
    cx: &mut Cx,
    dir: &BTreeMap<String, FileId>,
    f: &FileRef,
    from: FileId,
    format: Format,
) -> Option<(FileId, Data)> {
    let rel = f
        .path
        .strip_prefix(&format!("{}/", names::POLICY_DIR))
        .unwrap_or(&f.path)
        .trim_start_matches("./");
    let Some(id) = dir.get(rel).copied() else {
        cx.push(
            Diagnostic::new(codes::IMPORT_DATA_FILE, format!("{} is not among the files imported", f.path), Loc::new(from, f.span), "the policy reads this file")
                .with_help(format!(
                    "the import reads the policy directory (mounted at {}); put the file there, or import the directory that holds it",
                    names::POLICY_DIR
                )),
        );
        return None;
    };
    let text = cx
        .sources
        .get(id)
        .map(|s| s.text.clone())
        .unwrap_or_default();
    cx.used.insert(id);
    match data::parse(&text, format) {
        Ok(d) => Some((id, d)),
        Err((span, message)) => {
            let kind = match format {
                Format::Json => "JSON",
                _ => "TOML",
            };
            cx.push(
                Diagnostic::new(
                    codes::IMPORT_DATA_FILE,
                    format!("cannot read {}: {message}", cx.sources.name(id)),
                    Loc::new(id, span),
                    format!("not valid {kind}"),
                )
                .with_help("KumoMTA fails to load this file too: fix it, then import again"),
            );
            None
        }
    }
}

/// A value for a field of `schema`, or a diagnostic.
fn field_value(
    cx: &mut Cx,
    ctx: &Ctx<'_>,
    ty: &Ty,
    name: &str,
    raw: &Raw,
    path: &[String],
    secret: &str,
) -> Option<KVal> {
    if matches!(ty, Ty::Secret) {
        return secret_value(cx, ctx, name, raw, path, secret);
    }
    match values::convert(ty, raw, cx.flavor) {
        Ok(v) => Some(v),
        Err(why) => {
            if ctx.report {
                cx.push(
                    Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{name}` is not imported"), ctx.loc(path), why)
                        .with_help("its value has no .kumo spelling for this field; write it by hand if it is right"),
                );
            }
            None
        }
    }
}

fn secret_value(
    cx: &mut Cx,
    ctx: &Ctx<'_>,
    name: &str,
    raw: &Raw,
    path: &[String],
    secret: &str,
) -> Option<KVal> {
    let at = ctx.loc(path);
    match raw {
        Raw::Str(p) => Some(cx.secret_for_path(p, secret, name, SecretUse::Path, at)),
        Raw::Table(t) if t.iter().any(|(k, _)| k == "key_data") => {
            Some(cx.secret_for_path(name, secret, name, SecretUse::Inline, at))
        }
        _ => {
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{name}` is not imported"), at, "a key source kumoc cannot read (Vault?)")
                    .with_help("kumoc reads keys from Kubernetes Secrets: name one with `secret(\"name\", \"key\")`"),
            );
            None
        }
    }
}

/// A key kumoc does not know: written as is (a scalar or a list), so the check reports it.
fn unknown_key(
    cx: &mut Cx,
    ctx: &Ctx<'_>,
    b: &mut KBlock,
    name: &str,
    raw: &Raw,
    path: &[String],
    what: &str,
) {
    if raw.is_table() || !super::write::is_bare(name) {
        if ctx.report {
            cx.push(
                Diagnostic::new(
                    codes::IMPORT_SETTING_NOT_DESCRIBED,
                    format!("`{name}` in {what} is not imported"),
                    ctx.loc(path),
                    "kumoc has no place for it",
                )
                .with_help(
                    "kumoc describes the settings it can check; this one has no .kumo spelling",
                ),
            );
        }
        return;
    }
    if let Ok(v) = values::convert(&Ty::Str, raw, cx.flavor) {
        b.set(name, v);
    }
}

/// A block of `schema` from a table: fields, map blocks, `automation` and `sources`.
#[allow(clippy::too_many_arguments)]
fn block_from(
    cx: &mut Cx,
    ctx: &Ctx<'_>,
    schema: &'static BlockSchema,
    keyword: &str,
    label: Option<&str>,
    table: &[(String, Raw)],
    path: &[String],
    what: &str,
) -> KBlock {
    let mut b = KBlock::new(keyword, label);
    for (k, v) in table {
        let p = join(path, k);
        if let Some(field) = schema.field(k) {
            if let Some(val) = field_value(cx, ctx, &field.ty, k, v, &p, "tls") {
                b.set(k, val);
            }
            continue;
        }
        match (k.as_str(), schema.child(k), v) {
            ("automation", Some(child), Raw::List(rules)) => {
                for (i, r) in rules.iter().enumerate() {
                    let rp = join(&p, &format!("#{i}"));
                    match r.as_table() {
                        Some(t) => {
                            let mut rule = block_from(
                                cx,
                                ctx,
                                child,
                                "automation",
                                None,
                                t,
                                &rp,
                                "an automation rule",
                            );
                            normalize_rule(&mut rule);
                            b.push(rule);
                        }
                        None => unknown_key(cx, ctx, &mut b, k, v, &p, what),
                    }
                }
            }
            ("sources", _, Raw::Table(srcs)) => match schema.child("source") {
                Some(child) => {
                    for (name, t) in srcs {
                        let sp = join(&p, name);
                        match t.as_table() {
                            Some(t) => {
                                let s = block_from(
                                    cx,
                                    ctx,
                                    child,
                                    "source",
                                    Some(name),
                                    t,
                                    &sp,
                                    "a source override",
                                );
                                b.push(s);
                            }
                            None => unknown_key(cx, ctx, &mut b, name, t, &sp, what),
                        }
                    }
                }
                None => unknown_key(cx, ctx, &mut b, k, v, &p, what),
            },
            (_, Some(child), Raw::Table(entries)) if child.map_of.is_some() => {
                let ty = child.map_of.as_ref().unwrap_or(&Ty::Str);
                let mut m = KBlock::new(k, None);
                for (mk, mv) in entries {
                    if let Some(val) = field_value(cx, ctx, ty, mk, mv, &join(&p, mk), "tls") {
                        m.set(mk, val);
                    }
                }
                b.push(m);
            }
            _ => unknown_key(cx, ctx, &mut b, k, v, &p, what),
        }
    }
    b
}

/// Automation rules with the defaults left out, so equal rules compare equal.
fn normalize_rule(rule: &mut KBlock) {
    if rule.get("trigger") == Some(&KVal::lit("immediate")) {
        rule.remove("trigger");
    }
    if rule.get("match_internal") == Some(&KVal::lit("false")) {
        rule.remove("match_internal");
    }
}

// ---------------------------------------------------------------------------------------------
// sources.toml
// ---------------------------------------------------------------------------------------------

/// A key of a data file: its value, the file and the key's path.
type Entry = (String, Raw, FileId, Vec<String>);
/// A pool: name, first file, path, entries (source, weight, file, path).
type PoolEntries = (
    String,
    FileId,
    Vec<String>,
    Vec<(String, Option<Raw>, FileId, Vec<String>)>,
);
/// A key and its value, with the file it came from.
type Keyed = (String, Raw, FileId);

/// `policy-extras.sources` (`shared/reference/kumomta.md` §2): sources merge shallowly across
/// files, pool entries append (the same source twice is picked twice as often).
/// A source's `warmup` block, from the schedule the policy's warm-up table holds.
fn warmup_block(warmups: &[(String, i64, Vec<i64>)], source: &str) -> Option<KBlock> {
    let (_, start, ramp) = warmups.iter().find(|(s, ..)| s == source)?;
    let date = crate::grammars::utc_date_of(*start)?;
    let mut b = KBlock::new("warmup", None);
    b.set("start", KVal::str(date));
    b.set(
        "ramp",
        KVal::List(ramp.iter().map(|n| KVal::lit(n.to_string())).collect()),
    );
    Some(b)
}

fn read_sources(cx: &mut Cx, files: &[(FileId, Data)], warmups: &[(String, i64, Vec<i64>)]) {
    // Source name → (settings in order, first file).
    let mut sources: Vec<(String, Vec<Entry>)> = Vec::new();
    let mut pools: Vec<PoolEntries> = Vec::new();
    let mut source_index: FxHashMap<String, usize> = FxHashMap::default();
    let mut pool_index: FxHashMap<String, usize> = FxHashMap::default();
    for (file, d) in files {
        let ctx = Ctx {
            file: *file,
            at: &d.at,
            report: true,
        };
        let Some(top) = d.raw.as_table() else {
            continue;
        };
        for (k, v) in top {
            match (k.as_str(), v) {
                ("source", Raw::Table(srcs)) => {
                    for (name, params) in srcs {
                        let path = vec!["source".to_string(), name.clone()];
                        let i = *source_index.entry(name.clone()).or_insert_with(|| {
                            sources.push((name.clone(), Vec::new()));
                            sources.len() - 1
                        });
                        let entry = &mut sources[i].1;
                        for (pk, pv) in params.as_table().unwrap_or(&[]) {
                            entry.retain(|(x, ..)| x != pk);
                            entry.push((pk.clone(), pv.clone(), *file, join(&path, pk)));
                        }
                    }
                }
                ("pool", Raw::Table(ps)) => {
                    for (pool, members) in ps {
                        let path = vec!["pool".to_string(), pool.clone()];
                        let i = *pool_index.entry(pool.clone()).or_insert_with(|| {
                            pools.push((pool.clone(), *file, path.clone(), Vec::new()));
                            pools.len() - 1
                        });
                        for (src, entry) in members.as_table().unwrap_or(&[]) {
                            let ep = join(&path, src);
                            let weight = match entry.as_table() {
                                Some(t) => {
                                    for (ek, _) in t.iter().filter(|(ek, _)| ek != "weight") {
                                        cx.push(
                                            Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{ek}` in a pool entry is not imported"), ctx.loc(&join(&ep, ek)), "the sources helper allows only `weight` here")
                                                .with_help("KumoMTA refuses any other key in `[pool.P.S]`: set source settings in `[source.S]`"),
                                        );
                                    }
                                    entry.get("weight").cloned()
                                }
                                None => None,
                            };
                            pools[i].3.push((src.clone(), weight, *file, ep));
                        }
                    }
                }
                _ => cx.push(
                    Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{k}` is not imported"), ctx.loc(std::slice::from_ref(k)), "the sources helper knows only `source` and `pool`")
                        .with_help("KumoMTA's sources helper refuses this file (its only top-level keys are `source` and `pool`)"),
                ),
            }
        }
    }
    // Where each source is a member.
    let mut memberships: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, _, members) in &pools {
        for (s, ..) in members {
            *memberships.entry(s.as_str()).or_default() += 1;
        }
    }
    let settings_block = |cx: &mut Cx,
                          b: &mut KBlock,
                          entries: &[(String, Raw, FileId, Vec<String>)]| {
        for (k, v, file, path) in entries {
            let Some(d) = files.iter().find(|(f, _)| f == file).map(|(_, d)| d) else {
                continue;
            };
            let ctx = Ctx {
                file: *file,
                at: &d.at,
                report: true,
            };
            match schema::SOURCE.field(k) {
                Some(field) => {
                    if let Some(val) = field_value(cx, &ctx, &field.ty, k, v, path, "socks5-proxy")
                    {
                        b.set(k, val);
                    }
                }
                None => unknown_key(cx, &ctx, b, k, v, path, "a source"),
            }
        }
    };
    let settings_of = |name: &str| {
        source_index
            .get(name)
            .and_then(|&i| sources.get(i))
            .map(|(_, s)| s.clone())
    };
    // Sources of no pool or of several: top-level blocks.
    for (name, entries) in &sources {
        if memberships.get(name.as_str()).copied() == Some(1) {
            continue;
        }
        let mut b = KBlock::new("source", Some(name));
        settings_block(cx, &mut b, entries);
        b.extend(warmup_block(warmups, name));
        cx.files.push(MAIL_FILE, b);
    }
    for (pool, _, _, members) in &pools {
        let mut p = KBlock::new("pool", Some(pool));
        let mut seen: Vec<(String, i64)> = Vec::new();
        let mut seen_index: FxHashMap<String, usize> = FxHashMap::default();
        for (src, weight, file, ep) in members {
            let w = match weight {
                Some(Raw::Int(n)) => *n,
                None => 1,
                Some(other) => {
                    let Some(d) = files.iter().find(|(f, _)| f == file).map(|(_, d)| d) else {
                        continue;
                    };
                    let ctx = Ctx {
                        file: *file,
                        at: &d.at,
                        report: true,
                    };
                    cx.push(
                        Diagnostic::new(
                            codes::IMPORT_SETTING_NOT_DESCRIBED,
                            format!("the weight {} is not imported", other.show()),
                            ctx.loc(&join(ep, "weight")),
                            "not an integer",
                        )
                        .with_help("a pool entry's weight is an integer (KumoMTA reads a u32)"),
                    );
                    1
                }
            };
            if let Some(s) = seen_index.get(src).and_then(|&i| seen.get_mut(i)) {
                s.1 += w;
                let d = files.iter().find(|(f, _)| f == file).map(|(_, d)| d);
                if let Some(d) = d {
                    let ctx = Ctx {
                        file: *file,
                        at: &d.at,
                        report: true,
                    };
                    cx.push(
                        Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{src}` is listed twice in pool `{pool}`"), ctx.loc(ep), format!("its weights add up to {}", s.1))
                            .at_severity(Severity::Info)
                            .with_help("the sources helper appends pool entries, so a source listed twice is picked as often as the sum of its weights; kumoc lists it once with that weight"),
                    );
                }
            } else {
                seen_index.insert(src.clone(), seen.len());
                seen.push((src.clone(), w));
            }
        }
        for (src, w) in seen {
            let mut member_block = KBlock::new("source", Some(&src));
            let member = &mut member_block;
            if w != 1 {
                member.set("weight", KVal::lit(w.to_string()));
            }
            if memberships.get(src.as_str()).copied() == Some(1) {
                match settings_of(&src) {
                    Some(entries) => settings_block(cx, member, &entries),
                    None => {
                        if let Some((_, first, _, _)) = pools.iter().find(|(n, ..)| n == pool) {
                            let d = files.iter().find(|(f, _)| f == first).map(|(_, d)| d);
                            if let Some(d) = d {
                                let ctx = Ctx {
                                    file: *first,
                                    at: &d.at,
                                    report: true,
                                };
                                cx.push(
                                    Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("pool `{pool}` lists `{src}`, which no `[source]` defines"), ctx.loc(&["pool".into(), pool.clone(), src.clone()]), "defined with no settings")
                                        .with_help("KumoMTA fails when it picks an undefined source; kumoc defines it here with no settings: give it an `ehlo_domain` (and an address)"),
                                );
                            }
                        }
                    }
                }
                member_block.extend(warmup_block(warmups, &src));
            }
            p.push(member_block);
        }
        cx.files.push(MAIL_FILE, p);
    }
}

// ---------------------------------------------------------------------------------------------
// dkim_data.toml
// ---------------------------------------------------------------------------------------------

/// Merge `overlay` into `base` the way `policy_utils.merge_into` does (keys replace).
fn merge_into(base: &mut Vec<Keyed>, overlay: &[(String, Raw)], file: FileId) {
    for (k, v) in overlay {
        base.retain(|(x, ..)| x != k);
        base.push((k.clone(), v.clone(), file));
    }
}

/// `policy-extras.dkim_sign` (`shared/reference/kumomta.md` §3).
fn read_dkim(cx: &mut Cx, files: &[(FileId, Data)]) {
    let mut base: Vec<Keyed> = Vec::new();
    let mut domains: Vec<(String, Vec<Keyed>)> = Vec::new();
    let mut domain_index: FxHashMap<String, usize> = FxHashMap::default();
    let data_of = |f: FileId| files.iter().find(|(id, _)| *id == f).map(|(_, d)| d);
    for (file, d) in files {
        let ctx = Ctx {
            file: *file,
            at: &d.at,
            report: true,
        };
        for (k, v) in d.raw.as_table().unwrap_or(&[]) {
            match (k.as_str(), v) {
                ("base", Raw::Table(t)) => merge_into(&mut base, t, *file),
                ("domain", Raw::Table(ds)) => {
                    for (name, params) in ds {
                        let i = *domain_index.entry(name.clone()).or_insert_with(|| {
                            domains.push((name.clone(), Vec::new()));
                            domains.len() - 1
                        });
                        merge_into(&mut domains[i].1, params.as_table().unwrap_or(&[]), *file);
                    }
                }
                ("signature", Raw::Table(sigs)) => {
                    for (name, _) in sigs {
                        cx.push(
                            Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("the DKIM signature `{name}` is not imported"), ctx.loc(&["signature".into(), name.clone()]), "kumoc signs with the From domain's key only")
                                .with_help("kumoc has no place for additional signatures (`[signature.X]`, `base.additional_signatures`) yet"),
                        );
                    }
                }
                _ => cx.push(
                    Diagnostic::new(
                        codes::IMPORT_SETTING_NOT_DESCRIBED,
                        format!("`{k}` is not imported"),
                        ctx.loc(std::slice::from_ref(k)),
                        "the DKIM helper knows `base`, `domain` and `signature`",
                    )
                    .with_help("KumoMTA's DKIM helper refuses this file"),
                ),
            }
        }
    }
    let selector_default = base
        .iter()
        .find(|(k, ..)| k == "selector")
        .and_then(|(_, v, _)| v.as_str().map(str::to_string));
    let mut defaults = KBlock::new("dkim_defaults", None);
    for (k, v, file) in &base {
        let Some(d) = data_of(*file) else { continue };
        let ctx = Ctx {
            file: *file,
            at: &d.at,
            report: true,
        };
        let path = vec!["base".to_string(), k.clone()];
        dkim_setting(cx, &ctx, &mut defaults, k, v, &path, true);
    }
    if !defaults.is_empty() {
        cx.files.push(MAIL_FILE, defaults);
    }
    let mut keys_used: BTreeMap<String, String> = BTreeMap::new();
    for (domain, params) in &domains {
        let mut dk = KBlock::new("dkim", None);
        let mut filename: Option<(String, FileId)> = None;
        let mut first: Option<FileId> = None;
        for (k, v, file) in params {
            first.get_or_insert(*file);
            if k == "filename" {
                if let Some(p) = v.as_str() {
                    filename = Some((p.to_string(), *file));
                }
                continue;
            }
            let Some(d) = data_of(*file) else { continue };
            let ctx = Ctx {
                file: *file,
                at: &d.at,
                report: true,
            };
            let path = vec!["domain".to_string(), domain.clone(), k.clone()];
            dkim_setting(cx, &ctx, &mut dk, k, v, &path, false);
        }
        let selector = params
            .iter()
            .find(|(k, ..)| k == "selector")
            .and_then(|(_, v, _)| v.as_str().map(str::to_string))
            .or_else(|| selector_default.clone());
        let sel = selector.clone().unwrap_or_else(|| "default".to_string());
        let default_path = names::dkim_key_path(domain, &sel);
        let (path, file) = filename
            .clone()
            .unwrap_or((default_path.clone(), first.unwrap_or_default()));
        let at = data_of(file).map_or_else(Loc::default, |d| {
            let kp = vec!["domain".to_string(), domain.clone()];
            let kp = if filename.is_some() {
                join(&kp, "filename")
            } else {
                kp
            };
            Ctx {
                file,
                at: &d.at,
                report: true,
            }
            .loc(&kp)
        });
        // The key's name in the Secret: `<domain>.<selector>.key`, unique.
        let mut hint = super::to_secret_key(&format!("{domain}.{sel}.key"));
        while keys_used.get(&hint).is_some_and(|d| d != domain) {
            hint = format!("x{hint}");
        }
        keys_used.insert(hint.clone(), domain.clone());
        // kumoc's own layout: each key Secret mounted whole at `<DKIM_DIR>/<secret>/`.
        let kumoc_layout = path
            .strip_prefix(&format!("{}/", names::DKIM_DIR))
            .and_then(|rest| rest.split_once('/'))
            .filter(|(s, k)| {
                !k.contains('/') && super::secret_name_ok(s) && super::secret_key_ok(k)
            })
            .filter(|_| path != default_path && !cx.helm_given);
        let key = if let Some((secret, k)) = kumoc_layout {
            cx.secrets.add(secret, k);
            KVal::Call(
                "secret".into(),
                vec![(None, KVal::str(secret)), (None, KVal::str(k))],
            )
        } else if path == default_path && !cx.helm_given {
            // The helper's default path: keys mounted from a Secret there.
            cx.secrets.add("dkim-keys", &hint);
            KVal::Call(
                "secret".into(),
                vec![(None, KVal::str("dkim-keys")), (None, KVal::str(hint))],
            )
        } else {
            cx.secret_ref(&path, "dkim-keys", Some(&hint), "key", SecretUse::Path, at)
        };
        dk.set("key", key);
        let mut b = KBlock::new("domain", Some(domain));
        b.push(dk);
        cx.files.push(MAIL_FILE, b);
    }
}

fn dkim_setting(
    cx: &mut Cx,
    ctx: &Ctx<'_>,
    b: &mut KBlock,
    k: &str,
    v: &Raw,
    path: &[String],
    base: bool,
) {
    match k {
        "policy" => {
            if v.as_str() != Some("Always") {
                cx.push(
                    Diagnostic::new(
                        codes::IMPORT_SETTING_NOT_DESCRIBED,
                        format!("`policy = {}` is not imported", v.show()),
                        ctx.loc(path),
                        "kumoc always signs",
                    )
                    .with_help(
                        "the DKIM helper accepts only \"Always\" here (and fails on anything else)",
                    ),
                );
            }
        }
        "algo" if !base => {
            let kv = match v.as_str() {
                Some("sha256") => KVal::lit("rsa_sha256"),
                Some("ed25519") => KVal::lit("ed25519"),
                _ => match values::convert(&Ty::Str, v, cx.flavor) {
                    Ok(x) => x,
                    Err(_) => return,
                },
            };
            b.set("algorithm", kv);
        }
        "expiration" => {
            if let Some(val) = field_value(cx, ctx, &Ty::Duration, k, v, path, "") {
                b.set("expiration", val);
            }
        }
        "vault_mount" | "vault_path_prefix" | "additional_signatures" => cx.push(
            Diagnostic::new(
                codes::IMPORT_SETTING_NOT_DESCRIBED,
                format!("`{k}` is not imported"),
                ctx.loc(path),
                "kumoc reads keys from Kubernetes Secrets",
            )
            .with_help("kumoc has no place for Vault keys or additional signatures yet"),
        ),
        _ => match schema::DKIM
            .field(k)
            .filter(|f| f.name != "key" && f.name != "bits" && f.name != "algorithm")
        {
            Some(field) => {
                if let Some(val) = field_value(cx, ctx, &field.ty, k, v, path, "") {
                    b.set(k, val);
                }
            }
            None => unknown_key(cx, ctx, b, k, v, path, "DKIM settings"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// queues.toml
// ---------------------------------------------------------------------------------------------

/// Tables merge key by key, everything else replaces (`policy_utils.recursive_merge_into`),
/// remembering the file each value came from.
#[derive(Debug, Clone)]
enum M {
    Leaf(Raw, FileId),
    Table(Vec<(String, M)>, FileId),
}

fn merge_m(base: &mut Vec<(String, M)>, overlay: &[(String, Raw)], file: FileId) {
    // An index, so merging N keys costs O(N) (a deployment may have 10,000 domains).
    let mut index: FxHashMap<String, usize> = base
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    for (k, v) in overlay {
        let slot = index.get(k).copied();
        match (v, slot.and_then(|i| base.get_mut(i))) {
            (Raw::Table(t), Some((_, M::Table(existing, _)))) => merge_m(existing, t, file),
            (v, slot) => {
                let new = to_m(v, file);
                match slot {
                    Some((_, s)) => *s = new,
                    None => {
                        index.insert(k.clone(), base.len());
                        base.push((k.clone(), new));
                    }
                }
            }
        }
    }
}

fn to_m(v: &Raw, file: FileId) -> M {
    match v {
        Raw::Table(t) => {
            let mut out = Vec::new();
            merge_m(&mut out, t, file);
            M::Table(out, file)
        }
        other => M::Leaf(other.clone(), file),
    }
}

/// `policy-extras.queue` (`shared/reference/kumomta.md` §4).
fn read_queues(cx: &mut Cx, files: &[(FileId, Data)]) {
    let mut merged: Vec<(String, M)> = Vec::new();
    for (file, d) in files {
        merge_m(&mut merged, d.raw.as_table().unwrap_or(&[]), *file);
    }
    let data_of = |f: FileId| files.iter().find(|(id, _)| *id == f).map(|(_, d)| d);
    let mut tenancy = KBlock::new("tenancy", None);
    let mut tenants: Vec<KBlock> = Vec::new();
    let mut queues: Vec<KBlock> = Vec::new();
    for (k, v) in &merged {
        match (k.as_str(), v) {
            ("tenant", M::Table(ts, _)) => {
                for (name, t) in ts {
                    if let M::Table(params, _) = t {
                        let path = vec!["tenant".to_string(), name.clone()];
                        tenants.push(queue_block(
                            cx,
                            &data_of,
                            &schema::TENANT,
                            "tenant",
                            name,
                            params,
                            &path,
                            0,
                        ));
                    }
                }
            }
            ("queue", M::Table(qs, _)) => {
                for (key, q) in qs {
                    if let M::Table(params, _) = q {
                        let path = vec!["queue".to_string(), key.clone()];
                        queues.push(queue_block(
                            cx,
                            &data_of,
                            &schema::QUEUE,
                            "queue",
                            key,
                            params,
                            &path,
                            0,
                        ));
                    }
                }
            }
            (_, M::Leaf(raw, file)) => {
                let Some(d) = data_of(*file) else { continue };
                let ctx = Ctx {
                    file: *file,
                    at: &d.at,
                    report: true,
                };
                let path = vec![k.clone()];
                match schema::TENANCY.field(k) {
                    Some(field) => {
                        if let Some(val) = field_value(cx, &ctx, &field.ty, k, raw, &path, "") {
                            tenancy.set(k, val);
                        }
                    }
                    None => unknown_key(
                        cx,
                        &ctx,
                        &mut tenancy,
                        k,
                        raw,
                        &path,
                        "the queue helper's options",
                    ),
                }
            }
            (_, M::Table(_, file)) => {
                if let Some(d) = data_of(*file) {
                    let ctx = Ctx {
                        file: *file,
                        at: &d.at,
                        report: true,
                    };
                    cx.push(
                        Diagnostic::new(
                            codes::IMPORT_SETTING_NOT_DESCRIBED,
                            format!("`[{k}]` is not imported"),
                            ctx.loc(std::slice::from_ref(k)),
                            "the queue helper knows `tenant` and `queue` tables",
                        )
                        .with_help("KumoMTA's queue helper refuses unknown top-level keys"),
                    );
                }
            }
        }
    }
    if !tenancy.is_empty() {
        cx.files.push(MAIL_FILE, tenancy);
    }
    for b in tenants.into_iter().chain(queues) {
        cx.files.push(MAIL_FILE, b);
    }
}

/// A `tenant`, `queue`, queue tenant or campaign block. Inside `[queue.D]` a table is a
/// tenant, inside a tenant a table is a campaign; `protocol` is a table-valued option.
#[allow(clippy::too_many_arguments)]
fn queue_block<'d>(
    cx: &mut Cx,
    data_of: &dyn Fn(FileId) -> Option<&'d Data>,
    schema: &'static BlockSchema,
    keyword: &str,
    label: &str,
    params: &[(String, M)],
    path: &[String],
    depth: usize,
) -> KBlock {
    let mut b = KBlock::new(keyword, Some(label));
    for (k, v) in params {
        let p = join(path, k);
        match v {
            M::Leaf(raw, file) => {
                let Some(d) = data_of(*file) else { continue };
                let ctx = Ctx {
                    file: *file,
                    at: &d.at,
                    report: true,
                };
                match schema.field(k) {
                    Some(field) => {
                        if let Some(val) = field_value(cx, &ctx, &field.ty, k, raw, &p, "") {
                            b.set(k, val);
                        }
                    }
                    None if k == "shrink_policy" || k == "protocol" => {
                        queue_option_not_imported(cx, &ctx, k, &p)
                    }
                    None => unknown_key(cx, &ctx, &mut b, k, raw, &p, "queue settings"),
                }
            }
            M::Table(sub, file) => {
                let Some(d) = data_of(*file) else { continue };
                let ctx = Ctx {
                    file: *file,
                    at: &d.at,
                    report: true,
                };
                if k == "protocol" {
                    queue_option_not_imported(cx, &ctx, k, &p);
                    continue;
                }
                let child = match (keyword, depth, k.as_str()) {
                    ("tenant", 0, "campaigns") => {
                        for (c, cv) in sub {
                            if let M::Table(cp, _) = cv {
                                let cb = queue_block(
                                    cx,
                                    data_of,
                                    &schema::CAMPAIGN,
                                    "campaign",
                                    c,
                                    cp,
                                    &join(&p, c),
                                    1,
                                );
                                b.push(cb);
                            }
                        }
                        continue;
                    }
                    ("queue", 0, _) => Some((&schema::QUEUE_TENANT, "tenant")),
                    ("tenant", 1, _) => Some((&schema::QUEUE_CAMPAIGN, "campaign")),
                    _ => None,
                };
                match child {
                    Some((s, kw)) => {
                        let cb = queue_block(cx, data_of, s, kw, k, sub, &p, depth + 1);
                        b.push(cb);
                    }
                    None => cx.push(
                        Diagnostic::new(
                            codes::IMPORT_SETTING_NOT_DESCRIBED,
                            format!("`[{}]` is not imported", p.join(".")),
                            ctx.loc(&p),
                            "a table where a setting goes",
                        )
                        .with_help(
                            "the queue helper nests at most domain, tenant and campaign tables",
                        ),
                    ),
                }
            }
        }
    }
    b
}

fn queue_option_not_imported(cx: &mut Cx, ctx: &Ctx<'_>, k: &str, p: &[String]) {
    cx.push(
        Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("the queue option `{k}` is not imported"), ctx.loc(p), "kumoc has no place for it")
            .with_help(if k == "protocol" {
                "to send a domain's mail to another host, use `routing_domain` in its `queue` block (a smart host or `[ip]`)"
            } else {
                "kumoc keeps KumoMTA's default for this queue option"
            }),
    );
}

// ---------------------------------------------------------------------------------------------
// shaping.toml
// ---------------------------------------------------------------------------------------------

/// The stdlib's blocks as kumoc emits them (`shaping.toml` of a deployment with nothing
/// else), by key: `default`, domains, `provider.NAME`.
fn stdlib_shaping() -> &'static Vec<(String, Raw)> {
    static STDLIB: OnceLock<Vec<(String, Raw)>> = OnceLock::new();
    STDLIB.get_or_init(|| {
        let text = "deployment \"s\" {\n  namespace = \"s\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n";
        let analysis = crate::analyze(&[("s.kumo".to_string(), text.as_bytes().to_vec())], &crate::Options::default());
        let Some(model) = analysis.model.as_ref() else {
            return Vec::new();
        };
        let places = crate::emit::Places::new(&analysis.sources, &analysis.parses);
        let out = crate::emit::emit_canonical(model, &places);
        let toml = out.get("policy/shaping.toml").unwrap_or("");
        flatten(&data::parse(toml, Format::Toml).map(|d| d.raw).unwrap_or(Raw::Table(Vec::new())))
    })
}

/// Top-level keys with providers spread out: `default`, `gmail.com`, `provider.google`.
fn flatten(raw: &Raw) -> Vec<(String, Raw)> {
    let mut out = Vec::new();
    for (k, v) in raw.as_table().unwrap_or(&[]) {
        if k == "provider" {
            for (p, pv) in v.as_table().unwrap_or(&[]) {
                out.push((format!("provider.{p}"), pv.clone()));
            }
        } else {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// Merge shaping files the way `kumo.shaping.load` does: params replace, automation rules
/// append, `sources` merge by source, `replace_base` starts the block afresh.
fn merge_shaping(base: &mut Vec<Keyed>, overlay: &[(String, Raw)], file: FileId) {
    let mut index: FxHashMap<String, usize> = base
        .iter()
        .enumerate()
        .map(|(i, (k, ..))| (k.clone(), i))
        .collect();
    for (k, v) in overlay {
        let Some(t) = v.as_table() else {
            match index.get(k).and_then(|&i| base.get_mut(i)) {
                Some(slot) => *slot = (k.clone(), v.clone(), file),
                None => {
                    index.insert(k.clone(), base.len());
                    base.push((k.clone(), v.clone(), file));
                }
            }
            continue;
        };
        let slot = index.get(k).copied();
        match slot.and_then(|i| base.get_mut(i)) {
            Some((_, Raw::Table(existing), f))
                if v.get("replace_base") != Some(&Raw::Bool(true)) =>
            {
                for (pk, pv) in t {
                    match (pk.as_str(), pv, existing.iter_mut().find(|(x, _)| x == pk)) {
                        ("automation", Raw::List(more), Some((_, Raw::List(rules)))) => {
                            rules.extend(more.iter().cloned())
                        }
                        (
                            "sources"
                            | "additional_connection_limits"
                            | "additional_message_rate_throttles"
                            | "additional_source_selection_rates",
                            Raw::Table(more),
                            Some((_, Raw::Table(have))),
                        ) => {
                            for (sk, sv) in more {
                                match (sv, have.iter_mut().find(|(x, _)| x == sk)) {
                                    (Raw::Table(st), Some((_, Raw::Table(sh)))) => {
                                        for (a, b) in st {
                                            sh.retain(|(x, _)| x != a);
                                            sh.push((a.clone(), b.clone()));
                                        }
                                    }
                                    (sv, Some(slot)) => slot.1 = sv.clone(),
                                    (sv, None) => have.push((sk.clone(), sv.clone())),
                                }
                            }
                        }
                        (_, pv, Some(slot)) => slot.1 = pv.clone(),
                        (_, pv, None) => existing.push((pk.clone(), pv.clone())),
                    }
                }
                *f = file;
            }
            Some(slot) => {
                slot.1 = v.clone();
                slot.2 = file;
            }
            None => {
                index.insert(k.clone(), base.len());
                base.push((k.clone(), v.clone(), file));
            }
        }
    }
}

/// Settings of a block (attributes), by name.
fn attrs(b: &KBlock) -> Vec<(&str, &KVal)> {
    b.items
        .iter()
        .filter_map(|i| match i {
            Item::Attr { name, value, .. } => Some((name.as_str(), value)),
            Item::Block(_) => None,
        })
        .collect()
}

fn children<'b>(b: &'b KBlock, keyword: &str) -> Vec<&'b KBlock> {
    b.items
        .iter()
        .filter_map(|i| match i {
            Item::Block(c) if c.keyword == keyword => Some(c),
            _ => None,
        })
        .collect()
}

/// What to write over `base` so that kumoc's merge gives `target`; `None` when they are equal.
fn minimal(base: &KBlock, target: &KBlock) -> KBlock {
    let mut out = KBlock::new(&target.keyword, target.label.as_deref());
    let base_attrs = attrs(base);
    let target_attrs = attrs(target);
    let base_rules = children(base, "automation");
    let target_rules = children(target, "automation");
    let lost_attr = base_attrs
        .iter()
        .any(|(k, _)| !target_attrs.iter().any(|(t, _)| t == k));
    let rules_prefix = base_rules.len() <= target_rules.len()
        && base_rules.iter().zip(&target_rules).all(|(a, b)| a == b);
    let lost_child = base.items.iter().any(|i| match i {
        Item::Block(c) if c.keyword != "automation" => {
            match target.find(&c.keyword, c.label.as_deref()) {
                Some(t) => attrs(c)
                    .iter()
                    .any(|(k, _)| !attrs(t).iter().any(|(x, _)| x == k)),
                None => true,
            }
        }
        _ => false,
    });
    if lost_attr || !rules_prefix || lost_child {
        out.items = target.items.clone();
        out.set("replace_base", KVal::lit("true"));
        return out;
    }
    for (k, v) in &target_attrs {
        if base_attrs.iter().any(|(b, bv)| b == k && bv == v) {
            continue;
        }
        out.set(k, (*v).clone());
    }
    for item in &target.items {
        if let Item::Block(c) = item {
            if c.keyword == "automation" {
                continue;
            }
            match base.find(&c.keyword, c.label.as_deref()) {
                Some(bc) => {
                    let m = minimal(bc, c);
                    if !m.is_empty() {
                        out.push(m);
                    }
                }
                None => out.push(c.clone()),
            }
        }
    }
    for r in target_rules.iter().skip(base_rules.len()) {
        out.push((*r).clone());
    }
    out
}

/// A provider's egress settings, which `from provider.NAME` copies.
fn egress_of(p: &KBlock) -> Vec<(&str, &KVal)> {
    attrs(p)
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                *k,
                "match"
                    | "provider_connection_limit"
                    | "provider_max_message_rate"
                    | "replace_base"
            )
        })
        .collect()
}

/// `from provider.NAME` for a domain block: the provider whose egress settings the block
/// carries (two at least, none of them in `base`), and the block without them.
fn with_from(block: &mut KBlock, base: Option<&KBlock>, providers: &[(String, KBlock)]) {
    if block.get("replace_base").is_some() {
        return;
    }
    let mut best: Option<(usize, &str)> = None;
    for (name, p) in providers {
        let eg = egress_of(p);
        let fresh: Vec<&(&str, &KVal)> = eg
            .iter()
            .filter(|(k, _)| base.is_none_or(|b| b.get(k).is_none()))
            .collect();
        if fresh.len() < 2 || !super::write::is_bare(name) {
            continue;
        }
        let covered = fresh.iter().all(|(k, v)| block.get(k) == Some(*v));
        if covered && best.is_none_or(|(n, _)| fresh.len() > n) {
            best = Some((fresh.len(), name.as_str()));
        }
    }
    let Some((_, name)) = best else { return };
    let Some((_, p)) = providers.iter().find(|(n, _)| n == name) else {
        return;
    };
    for (k, _) in egress_of(p) {
        if base.is_none_or(|b| b.get(k).is_none()) {
            block.remove(k);
        }
    }
    block.from = Some(name.to_string());
}

/// kumoc's own TSA publisher block (`emit/kumomta/data.rs`), as the import writes it.
fn tsa_block(version: &KumoVersion) -> Vec<(String, KVal)> {
    let mut out = vec![
        ("mx_rollup".to_string(), KVal::lit("false")),
        (
            "max_deliveries_per_connection".to_string(),
            KVal::lit("8192"),
        ),
        (
            "connection_limit".to_string(),
            if version.supports(Feature::LocalConnectionLimit) {
                KVal::lit("local:5")
            } else {
                KVal::lit("5")
            },
        ),
        ("max_ready".to_string(), KVal::lit("10000")),
    ];
    if version.supports(Feature::SystemShutdownTimeout) {
        out.push(("system_shutdown_timeout".to_string(), KVal::lit("30s")));
    }
    out
}

fn same_attrs(b: &KBlock, want: &[(String, KVal)]) -> bool {
    let have = attrs(b);
    have.len() == want.len() && want.iter().all(|(k, v)| b.get(k) == Some(v))
}

fn read_shaping(
    cx: &mut Cx,
    files: &[(FileId, Data)],
    default_files: bool,
    mta: &Mta,
    derived: &mut Derived,
    version: &KumoVersion,
) {
    let mut user: Vec<Keyed> = Vec::new();
    for (file, d) in files {
        let flat = flatten(&d.raw);
        merge_shaping(&mut user, &flat, *file);
    }
    let data_of = |f: FileId| files.iter().find(|(id, _)| *id == f).map(|(_, d)| d);
    let publish: Vec<String> = mta
        .shaping
        .as_ref()
        .and_then(|s| s.publish.as_ref())
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let stdlib = stdlib_shaping();
    let stdlib_loc = super::data::Locator::default();
    let stdlib_ctx = Ctx {
        file: FileId::default(),
        at: &stdlib_loc,
        report: false,
    };
    let as_block = |cx: &mut Cx, ctx: &Ctx<'_>, key: &str, raw: &Raw| -> Option<KBlock> {
        let t = raw.as_table()?;
        let (schema, kw, label, path) = match key.strip_prefix("provider.") {
            Some(p) => (
                &schema::PROVIDER,
                "provider",
                p,
                vec!["provider".to_string(), p.to_string()],
            ),
            None => (&schema::SHAPING, "shaping", key, vec![key.to_string()]),
        };
        Some(block_from(
            cx,
            ctx,
            schema,
            kw,
            Some(label),
            t,
            &path,
            &format!("shaping {key:?}"),
        ))
    };
    let base_of = |cx: &mut Cx, key: &str| -> Option<KBlock> {
        let raw = stdlib
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())?;
        as_block(cx, &stdlib_ctx, key, &raw)
    };
    // The effective blocks (what KumoMTA ends up with) and the .kumo blocks to write.
    let mut targets: Vec<(String, KBlock, Option<KBlock>, FileId)> = Vec::new();
    for (key, raw, file) in &user {
        let Some(d) = data_of(*file) else { continue };
        let ctx = Ctx {
            file: *file,
            at: &d.at,
            report: true,
        };
        let path: Vec<String> = match key.strip_prefix("provider.") {
            Some(p) => vec!["provider".into(), p.into()],
            None => vec![key.clone()],
        };
        if let Some(url) = key.strip_suffix(".tsa.kumomta") {
            derived.tsa_blocks.push(key.clone());
            let block = as_block(
                cx,
                &Ctx {
                    report: false,
                    ..ctx
                },
                key,
                raw,
            );
            let exact = publish.iter().any(|p| p == url)
                && block
                    .as_ref()
                    .is_some_and(|b| same_attrs(b, &tsa_block(version)));
            if !exact {
                let dead = !publish.iter().any(|p| p == url);
                cx.push(
                    Diagnostic::new(
                        codes::IMPORT_DERIVED_SHAPING,
                        if dead {
                            format!("shaping for the TSA publisher {url}, which the policy does not publish to")
                        } else {
                            format!("shaping for the TSA publisher {url}")
                        },
                        ctx.loc(&path),
                        if dead { "dead: no queue of that name exists" } else { "kumoc writes this block itself" },
                    )
                    .at_severity(Severity::Warning)
                    .with_help("kumoc derives the shaping of the TSA publisher queues from `cluster.tsa` (one block per replica it publishes to): this block is not imported"),
                );
            }
            continue;
        }
        if mta.sink_host.as_ref().is_some_and(|(h, _)| h == key) {
            // kumoc's sink block, derived from `cluster.sink`.
            continue;
        }
        let Some(target) = as_block(cx, &ctx, key, raw) else {
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`{key}` is not imported"), ctx.loc(&path), "not a table")
                    .with_help("top-level keys of a shaping file are domains (or `default`, `provider`) whose values are tables"),
            );
            continue;
        };
        let base = base_of(cx, key);
        let effective = match (&base, default_files) {
            (Some(b), true) => {
                let mut merged = b.clone();
                apply(&mut merged, &target);
                merged
            }
            _ => target.clone(),
        };
        targets.push((key.clone(), effective, base, *file));
    }
    if !default_files {
        let missing: Vec<String> = stdlib
            .iter()
            .filter(|(k, _)| !targets.iter().any(|(t, ..)| t == k))
            .map(|(k, _)| k.replace("provider.", "provider "))
            .collect();
        if !missing.is_empty() {
            let at = mta.shaping.as_ref().map_or(Span::default(), |s| s.span);
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, "the policy does not load KumoMTA's bundled shaping rules", Loc::new(mta.file, at), "`no_default_files = true`")
                    .with_help(format!(
                        "kumoc always starts from its stdlib presets (KumoMTA's bundled rules), so the imported deployment also has: {}; override a preset field by field with a block of the same name",
                        missing.join(", ")
                    )),
            );
        }
    }
    // Providers as the deployment ends up with them, for `from provider.NAME`.
    let mut providers: Vec<(String, KBlock)> = Vec::new();
    for (k, _) in stdlib.iter().filter(|(k, _)| k.starts_with("provider.")) {
        if let Some(b) = base_of(cx, k) {
            providers.push((k.trim_start_matches("provider.").to_string(), b));
        }
    }
    for (k, eff, _, _) in &targets {
        if let Some(p) = k.strip_prefix("provider.") {
            providers.retain(|(n, _)| n != p);
            providers.push((p.to_string(), eff.clone()));
        }
    }
    for (key, effective, base, _) in targets {
        let mut out = match &base {
            Some(b) => minimal(b, &effective),
            None => effective.clone(),
        };
        if key != "default" && !key.starts_with("provider.") {
            with_from(&mut out, base.as_ref(), &providers);
        }
        let empty = out.is_empty() && out.from.is_none();
        if !empty {
            cx.files.push(SHAPING_FILE, out);
        }
    }
}

/// Merge `overlay` over `base` as kumoc (and KumoMTA) merge shaping blocks.
fn apply(base: &mut KBlock, overlay: &KBlock) {
    if overlay.get("replace_base") == Some(&KVal::lit("true")) {
        *base = overlay.clone();
        return;
    }
    for item in &overlay.items {
        match item {
            Item::Attr { name, value, .. } => base.set(name, value.clone()),
            Item::Block(c) if c.keyword == "automation" => base.push(c.clone()),
            Item::Block(c) => {
                let slot = base.child(&c.keyword, c.label.as_deref());
                apply(slot, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stdlib_is_read_back() {
        let s = stdlib_shaping();
        assert!(s.iter().any(|(k, _)| k == "default"));
        assert!(s.iter().any(|(k, _)| k == "provider.google"));
    }

    #[test]
    fn minimal_blocks() {
        let mut base = KBlock::new("shaping", Some("default"));
        base.set("connection_limit", KVal::lit("10"));
        base.set("idle_timeout", KVal::lit("1m"));
        let mut target = base.clone();
        target.set("connection_limit", KVal::lit("200"));
        let m = minimal(&base, &target);
        assert_eq!(m.get("connection_limit"), Some(&KVal::lit("200")));
        assert_eq!(m.get("idle_timeout"), None);
        let mut lost = target.clone();
        lost.remove("idle_timeout");
        assert_eq!(
            minimal(&base, &lost).get("replace_base"),
            Some(&KVal::lit("true"))
        );
    }
}
