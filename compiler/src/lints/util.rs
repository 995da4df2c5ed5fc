//! Accessors the rules share: typed reads of `Settings` with the location of each value.

use kumoc_lang::ast::{Block, Stmt};
use kumoc_lang::units::{Cidr, Limit, Rate};

use super::LintContext;
use crate::check::Typed;
use crate::diagnostic::{Edit, Loc};
use crate::model::{Rule, Settings, ShapingKey, Spanned};

fn get<'s>(s: &'s Settings, name: &str) -> Option<(&'s Typed, Loc)> {
    s.get(name).map(|x| (&x.value, x.loc))
}

pub fn cidrs(s: &Settings, name: &str) -> Vec<Spanned<Cidr>> {
    match get(s, name) {
        Some((Typed::List(items), _)) => items
            .iter()
            .filter_map(|i| match i.value {
                Typed::Cidr(c) => Some(Spanned {
                    value: c,
                    loc: i.loc,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Milliseconds.
pub fn duration(s: &Settings, name: &str) -> Option<Spanned<u64>> {
    match get(s, name)? {
        (Typed::Duration(ms), loc) => Some(Spanned { value: *ms, loc }),
        _ => None,
    }
}

pub fn rate(s: &Settings, name: &str) -> Option<Spanned<Rate>> {
    match get(s, name)? {
        (Typed::Rate(r), loc) => Some(Spanned { value: *r, loc }),
        _ => None,
    }
}

pub fn limit(s: &Settings, name: &str) -> Option<Spanned<Limit>> {
    match get(s, name)? {
        (Typed::Limit(l), loc) => Some(Spanned { value: *l, loc }),
        _ => None,
    }
}

pub fn int(s: &Settings, name: &str) -> Option<Spanned<i64>> {
    match get(s, name)? {
        (Typed::Int(n), loc) => Some(Spanned { value: *n, loc }),
        _ => None,
    }
}

pub fn boolean(s: &Settings, name: &str) -> Option<Spanned<bool>> {
    match get(s, name)? {
        (Typed::Bool(b), loc) => Some(Spanned { value: *b, loc }),
        _ => None,
    }
}

/// An enum field's `.kumo` spelling (`required`, `opportunistic_insecure`, ...).
pub fn variant(s: &Settings, name: &str) -> Option<Spanned<&'static str>> {
    match get(s, name)? {
        (Typed::Enum(v), loc) => Some(Spanned { value: v.name, loc }),
        _ => None,
    }
}

pub fn string(s: &Settings, name: &str) -> Option<Spanned<String>> {
    match get(s, name)? {
        (Typed::Str(x) | Typed::Domain(x) | Typed::Url(x) | Typed::HostPort(x), loc) => {
            Some(Spanned {
                value: x.clone(),
                loc,
            })
        }
        _ => None,
    }
}

/// The strings of a list-of-strings field.
pub fn strings(s: &Settings, name: &str) -> Vec<Spanned<String>> {
    match get(s, name) {
        Some((Typed::List(items), _)) => items
            .iter()
            .filter_map(|i| match &i.value {
                Typed::Str(x) => Some(Spanned {
                    value: x.clone(),
                    loc: i.loc,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a CIDR opens a service to the internet at large: `0.0.0.0/0`, `::/0`, or a
/// large block (IPv4 /16 or wider, IPv6 /32 or wider) outside the private ranges
/// (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
pub fn is_public_wide(c: &Cidr) -> bool {
    use std::net::IpAddr;
    if c.prefix == 0 {
        return true;
    }
    let private = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|p| kumoc_lang::units::parse_cidr(p).ok())
    .any(|p| p.prefix <= c.prefix && p.contains(c.addr));
    if private {
        return false;
    }
    match c.addr {
        IpAddr::V4(_) => c.prefix <= 16,
        IpAddr::V6(_) => c.prefix <= 32,
    }
}

/// The egress settings that apply to public destinations, with what they cover.
pub fn public_scopes<'a>(cx: &LintContext<'a>) -> Vec<(&'a Settings, String)> {
    let m = cx.model;
    let preset = |name: &str| m.providers.iter().any(|p| p.preset && p.name == name);
    let mut out = Vec::new();
    for b in &m.shaping {
        let scope = match &b.key {
            ShapingKey::Default => "every destination".to_string(),
            ShapingKey::Domain(d)
                if cx.is_stdlib(b.loc) || b.from.as_ref().is_some_and(|f| preset(&f.value)) =>
            {
                format!("`{d}`")
            }
            ShapingKey::Domain(_) => continue,
        };
        out.push((&b.shaping.settings, scope.clone()));
        out.extend(
            b.shaping
                .sources
                .iter()
                .map(|s| (&s.settings, format!("{scope} (source `{}`)", s.name))),
        );
    }
    for p in m.providers.iter().filter(|p| p.preset) {
        let scope = format!("provider `{}`", p.name);
        out.push((&p.shaping.settings, scope.clone()));
        out.extend(
            p.shaping
                .sources
                .iter()
                .map(|s| (&s.settings, format!("{scope} (source `{}`)", s.name))),
        );
    }
    out
}

pub fn automation_rules<'a>(cx: &LintContext<'a>) -> Vec<(String, &'a Rule)> {
    let m = cx.model;
    let mut out = Vec::new();
    for b in &m.shaping {
        let what = match b.key.as_str() {
            "default" => "`shaping default`".to_string(),
            d => format!("`shaping \"{d}\"`"),
        };
        out.extend(b.shaping.automation.iter().map(|r| (what.clone(), r)));
    }
    for p in &m.providers {
        let what = format!("`provider \"{}\"`", p.name);
        out.extend(p.shaping.automation.iter().map(|r| (what.clone(), r)));
    }
    out
}

/// An edit inserting `text` right after the `{` that opens the block whose header is at
/// `header`.
pub fn insert_after_brace(cx: &LintContext<'_>, header: Loc, text: &str) -> Option<Edit> {
    let file = cx.sources.get(header.file)?;
    let rest = file.text.get(header.span.end as usize..)?;
    let brace = header.span.end + u32::try_from(rest.find('{')?).ok()? + 1;
    let mut loc = header;
    loc.span.start = brace;
    loc.span.end = brace;
    Some(Edit {
        loc,
        replacement: text.to_string(),
    })
}

/// Where the user wrote an attribute that the model keeps without a location.
pub struct Written {
    /// The value.
    pub loc: Loc,
    /// Inside the `env` block of the environment being checked.
    pub in_env: bool,
}

/// The last place an attribute is written in the user's files, at `path` (block keywords
/// from the top level, e.g. `["cluster", "mta"]`). An `env` block of the environment being
/// checked merges over everything else, so a value written there wins.
pub fn find_written(cx: &LintContext<'_>, path: &[&str], name: &str) -> Option<Written> {
    let env = cx.env().name();
    let (mut base, mut overlay) = (None, None);
    for (file, source) in cx.sources.iter() {
        if source.is_stdlib {
            continue;
        }
        for item in cx.items(file) {
            let Stmt::Block(b) = item else { continue };
            if b.keyword.name == "env" {
                if b.label_text() == Some(env) {
                    if let Some(span) = b.blocks().filter_map(|c| walk(c, path, name)).last() {
                        overlay = Some(Loc::new(file, span));
                    }
                }
            } else if let Some(span) = walk(b, path, name) {
                base = Some(Loc::new(file, span));
            }
        }
    }
    match (overlay, base) {
        (Some(loc), _) => Some(Written { loc, in_env: true }),
        (None, Some(loc)) => Some(Written { loc, in_env: false }),
        (None, None) => None,
    }
}

fn walk(b: &Block, path: &[&str], name: &str) -> Option<kumoc_lang::Span> {
    let (first, rest) = path.split_first()?;
    if b.keyword.name != *first {
        return None;
    }
    if rest.is_empty() {
        return b
            .attrs()
            .filter(|a| a.key.name == name)
            .last()
            .map(|a| a.value.span);
    }
    b.blocks().filter_map(|c| walk(c, rest, name)).last()
}
