//! Accessors the rules share: typed reads of `Settings` with the location of each value.

use kumoc_lang::ast::Block;
use kumoc_lang::units::{Cidr, Limit, Rate};

use super::LintContext;
use crate::diagnostic::Edit;
use crate::model::{Rule, Settings, ShapingKey};
use crate::schema::BlockSchema;
use crate::source::Loc;
use crate::value::{Spanned, Typed};

/// The value of field `name`, read through one of [`Typed`]'s accessors, with its location.
/// These readers are inlined: the rules name fields with literals, and `Settings::get`
/// compares against a constant then.
#[inline]
fn read<'s, T>(
    s: &'s Settings,
    name: &str,
    as_: impl FnOnce(&'s Typed) -> Option<T>,
) -> Option<Spanned<T>> {
    let setting = s.get(name)?;
    as_(&setting.value).map(|value| Spanned {
        value,
        loc: setting.loc,
    })
}

/// The items of list field `name`, read through one of [`Typed`]'s accessors, each with
/// its location (items of another shape are left out).
fn read_items<'s, T>(
    s: &'s Settings,
    name: &str,
    as_: impl Fn(&'s Typed) -> Option<T>,
) -> Vec<Spanned<T>> {
    let items = s
        .get(name)
        .and_then(|setting| setting.value.as_list())
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|i| as_(&i.value).map(|value| Spanned { value, loc: i.loc }))
        .collect()
}

pub fn cidrs(s: &Settings, name: &str) -> Vec<Spanned<Cidr>> {
    read_items(s, name, Typed::as_cidr)
}

/// Milliseconds.
#[inline]
pub fn duration(s: &Settings, name: &str) -> Option<Spanned<u64>> {
    read(s, name, Typed::as_duration_ms)
}

#[inline]
pub fn rate(s: &Settings, name: &str) -> Option<Spanned<Rate>> {
    read(s, name, Typed::as_rate)
}

#[inline]
pub fn limit(s: &Settings, name: &str) -> Option<Spanned<Limit>> {
    read(s, name, Typed::as_limit)
}

#[inline]
pub fn int(s: &Settings, name: &str) -> Option<Spanned<i64>> {
    read(s, name, Typed::as_int)
}

#[inline]
pub fn boolean(s: &Settings, name: &str) -> Option<Spanned<bool>> {
    read(s, name, Typed::as_bool)
}

/// An enum field's `.kumo` spelling (`required`, `opportunistic_insecure`, ...).
#[inline]
pub fn variant(s: &Settings, name: &str) -> Option<Spanned<&'static str>> {
    read(s, name, |v| Typed::as_enum(v).map(|x| x.name))
}

/// A string-like field's text ([`Typed::text`]).
pub fn string(s: &Settings, name: &str) -> Option<Spanned<String>> {
    read(s, name, |v| v.text().map(str::to_string))
}

/// The texts of a list-of-strings field.
pub fn strings(s: &Settings, name: &str) -> Vec<Spanned<String>> {
    read_items(s, name, |v| v.text().map(str::to_string))
}

/// The default of field `name` of `block`, stated once in the schema (KumoMTA's, when kumoc
/// writes nothing), through one of [`Typed`]'s accessors.
pub fn default_of<T>(
    block: &'static BlockSchema,
    name: &str,
    as_: impl FnOnce(&Typed) -> Option<T>,
) -> Option<T> {
    as_(&Typed::of_default(block.field(name)?)?)
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

/// Where a group of settings is, for a finding's message (``campaign `c` of tenant `t` of
/// `queue "q"` ``): the parts, formatted only when a finding is reported. (A name formatted
/// for each of tens of thousands of blocks, found clean, was most of several rules' time.)
/// Up to three parts, outermost first, written innermost first and joined by " of ".
#[derive(Debug, Clone, Copy)]
pub struct What<'a> {
    parts: [(&'static str, &'a str, &'static str); 3],
    len: usize,
}

impl<'a> What<'a> {
    /// A fixed text: `` `queue default` ``.
    pub fn text(text: &'static str) -> Self {
        Self::named(text, "", "")
    }
    /// `before`, the name, `after`: ``What::named("`queue \"", name, "\"`")``.
    pub fn named(before: &'static str, name: &'a str, after: &'static str) -> Self {
        What {
            parts: [(before, name, after), ("", "", ""), ("", "", "")],
            len: 1,
        }
    }
    /// A part inside this one: ``source `s` of `shaping "d"` ``. (At most three parts: a
    /// fourth replaces the third.)
    pub fn inner(self, before: &'static str, name: &'a str, after: &'static str) -> Self {
        let mut w = self;
        let at = w.len.min(w.parts.len() - 1);
        if let Some(p) = w.parts.get_mut(at) {
            *p = (before, name, after);
        }
        w.len = at + 1;
        w
    }
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts = self.parts.get(..self.len).unwrap_or_default();
        for (i, (before, name, after)) in parts.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(" of ")?;
            }
            f.write_str(before)?;
            f.write_str(name)?;
            f.write_str(after)?;
        }
        Ok(())
    }
}

/// A `shaping` block, for messages: `` `shaping default` `` or `` `shaping "NAME"` ``.
pub fn shaping_what(key: &ShapingKey) -> What<'_> {
    match key {
        ShapingKey::Default => What::text("`shaping default`"),
        ShapingKey::Domain(d) => What::named("`shaping \"", d, "\"`"),
    }
}

/// A `queue` block, for messages: `` `queue default` `` or `` `queue "NAME"` ``.
pub fn queue_what(key: &ShapingKey) -> What<'_> {
    match key {
        ShapingKey::Default => What::text("`queue default`"),
        ShapingKey::Domain(d) => What::named("`queue \"", d, "\"`"),
    }
}

/// A `provider` block, for messages: `` `provider "NAME"` ``.
pub fn provider_what(name: &str) -> What<'_> {
    What::named("`provider \"", name, "\"`")
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

/// Every automation rule, with the block it is in (named only when a finding needs it).
pub fn automation_rules<'a>(cx: &LintContext<'a>) -> Vec<(What<'a>, &'a Rule)> {
    let m = cx.model;
    let mut out = Vec::new();
    for b in &m.shaping {
        // By the key's text, as written: a domain block named "default" is the default.
        let what = match b.key.as_str() {
            "default" => What::text("`shaping default`"),
            d => What::named("`shaping \"", d, "\"`"),
        };
        out.extend(b.shaping.automation.iter().map(|r| (what, r)));
    }
    for p in &m.providers {
        let what = provider_what(&p.name);
        out.extend(p.shaping.automation.iter().map(|r| (what, r)));
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
    let first = path.first()?;
    for (file, source) in cx.sources.iter() {
        if source.is_stdlib {
            continue;
        }
        // Only the top-level blocks of the two keywords are visited (one per domain and
        // kind in a large deployment are neither).
        cx.syntax.top_blocks(cx.sources, file, "env", |b| {
            if b.label_text() == Some(env) {
                if let Some(span) = b.blocks().filter_map(|c| walk(c, path, name)).last() {
                    overlay = Some(Loc::new(file, span));
                }
            }
        });
        if *first != "env" {
            cx.syntax.top_blocks(cx.sources, file, first, |b| {
                if let Some(span) = walk(b, path, name) {
                    base = Some(Loc::new(file, span));
                }
            });
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
