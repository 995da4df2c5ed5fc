//! Phase B, version gates: what the release of the environment being built accepts. The
//! release itself (supported, published), each field's and value's `since`, and duration
//! strings, which the checker reads with the newest humantime and the release may not.

use kumoc_lang::units::{self, Feature, KumoVersion};

use super::Resolver;
use crate::check::{HAttr, HBlock};
use crate::codes;
use crate::diagnostic::{Applicability, Diagnostic};
use crate::grammars::image_repository;
use crate::schema::KUMOMTA_IMAGE;
use crate::source::Loc;
use crate::value::{Action, MatchRule, Typed, TypedAt};

impl<'t, 'd> Resolver<'t, 'd> {
    /// The deployment's release itself: one kumoc supports, and a published tag.
    pub(super) fn release_checks(&mut self) {
        if let (Some(ver), Some(dep)) = (
            self.version.clone(),
            self.tree.iter().find(|b| b.schema.keyword == "deployment"),
        ) {
            let min = units::OLDEST_SUPPORTED;
            if let Some(a) = dep.attr("kumomta") {
                if ver.predates(min) {
                    self.diags.push(
                        Diagnostic::new(
                            codes::REQUIRES_NEWER_KUMOMTA,
                            format!("KumoMTA {ver} is older than kumoc supports"),
                            a.value_loc(),
                            format!("kumoc supports {min} and later"),
                        )
                        .with_help(format!("upgrade to a release from {min} or later")),
                    );
                }
                let image = dep.read("image", Typed::text).map(str::to_string);
                if let Some(d) = unpublished_tag(&ver, image.as_deref(), a.value_loc()) {
                    self.diags.push(d);
                }
            }
        }
    }

    /// The version gate of a block itself (`BlockSchema::since`).
    pub(super) fn block_gate(&mut self, b: &HBlock) {
        if let Some(feature) = b.schema.since.filter(|f| self.lacks(*f)) {
            let what = format!("the `{}` block", b.schema.keyword);
            self.gate(feature, &what, b.header_loc());
        }
    }

    /// The version gates of one attribute: its field's `since`, each feature its value uses,
    /// and its duration strings.
    pub(super) fn attr_gates(&mut self, a: &HAttr) {
        if let Some(f) = a.field {
            if let Some(since) = f.since.filter(|f| self.lacks(*f)) {
                self.gate(since, &format!("`{}`", f.name), a.key_loc());
            }
        }
        let Some(v) = &a.value else { return };
        // Most values are neither gated nor durations: one match tells, before the walks.
        if matches!(
            v.value,
            Typed::Limit(_)
                | Typed::Rate(_)
                | Typed::HostPort(_)
                | Typed::Match(_)
                | Typed::Enum(_)
                | Typed::Action(_)
                | Typed::List(_)
        ) {
            self.value_gates(v);
        }
        if matches!(
            v.value,
            Typed::Duration(_) | Typed::List(_) | Typed::Action(_)
        ) {
            self.duration_strings(v);
        }
    }

    /// Duration strings in the humantime of the deployment's release. The checker reads
    /// them with the newest humantime (it does not know the release); a release that ships
    /// an older one (`units::RELEASES`) refuses what that one cannot read: `"1.5h"` before
    /// 2025.12.02-67ee9e96.
    fn duration_strings(&mut self, typed: &TypedAt) {
        let (Some(ver), Some(flavor)) = (&self.version, self.humantime) else {
            return;
        };
        let text = self.texts.get(typed.loc.file).map_or("", |f| &*f.text);
        // A duration written bare (`2d`), the usual case: not a string to read again (and
        // no vector of spans: one per queue's `max_age`).
        let quoted = |span: kumoc_lang::Span| {
            matches!(text.as_bytes().get(span.start as usize), Some(b'"' | b'\''))
        };
        if matches!(typed.value, Typed::Duration(_)) && !quoted(typed.loc.span) {
            return;
        }
        let mut spans = Vec::new();
        durations_in(typed, &mut spans);
        if spans.is_empty() {
            return;
        }
        for span in spans {
            let Some(s) = written_string(text, span) else {
                continue;
            };
            let Err(e) = units::parse_humantime(&s, flavor) else {
                continue;
            };
            let at = Loc::new(typed.loc.file, span);
            let first = units::first_release_with(units::HumantimeFlavor::V2_3)
                .map_or_else(|| "a newer release".to_string(), |r| r.tag.to_string());
            let mut d = Diagnostic::new(
                codes::REQUIRES_NEWER_KUMOMTA,
                format!(
                    "the duration \"{}\" needs KumoMTA {first} or later; this deployment runs {ver}",
                    s
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

    /// The features a value uses (a list's items and a `set_config(...)` value's too) exist
    /// in the deployment's release.
    fn value_gates(&mut self, v: &TypedAt) {
        match &v.value {
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
            Typed::Match(MatchRule::HostName(_)) => {
                self.gate(Feature::HostNameMatch, "`host_name(...)` matching", v.loc);
            }
            Typed::Enum(variant) => {
                if let Some(since) = variant.since.filter(|f| self.lacks(*f)) {
                    self.gate(since, &format!("`{}`", variant.name), v.loc);
                }
            }
            Typed::Action(a) => {
                let variant = a.variant();
                if let Some(since) = variant.since.filter(|f| self.lacks(*f)) {
                    self.gate(since, &format!("the `{}` action", variant.name), v.loc);
                }
                if let Action::SetConfig { value, .. } = a {
                    self.value_gates(value);
                }
            }
            Typed::List(items) => {
                for i in items {
                    self.value_gates(i);
                }
            }
            _ => {}
        }
    }

    /// Whether the deployment's release lacks `feature` (tested before a gate's text is
    /// formatted: most values pass).
    fn lacks(&self, feature: Feature) -> bool {
        self.version.as_ref().is_some_and(|v| !v.supports(feature))
    }

    /// K2008 when the deployment's release lacks `feature` (`what` names it as written).
    pub(super) fn gate(&mut self, feature: Feature, what: &str, at: Loc) {
        let Some(ver) = &self.version else { return };
        if !ver.supports(feature) {
            let since = feature.introduced_in();
            self.diags.push(
                Diagnostic::new(codes::REQUIRES_NEWER_KUMOMTA, format!("{what} needs KumoMTA {since} or later; this deployment runs {ver}"), at, format!("needs {since}"))
                    .with_help(format!("raise `kumomta` in the deployment block to {since} or later, or do without {what}")),
            );
        }
    }
}

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
        codes::INVALID_VERSION,
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

/// The spans of every duration in a typed value (lists, `set_config(...)` values).
fn durations_in(v: &TypedAt, out: &mut Vec<kumoc_lang::Span>) {
    match &v.value {
        Typed::Duration(_) => out.push(v.loc.span),
        Typed::List(items) => items.iter().for_each(|i| durations_in(i, out)),
        Typed::Action(Action::SetConfig { value, .. }) => durations_in(value, out),
        _ => {}
    }
}

/// The string a string literal at `span` of `text` is written as (`None` when what is
/// there is not a string literal: a bare duration such as `90s`).
fn written_string(text: &str, span: kumoc_lang::Span) -> Option<String> {
    use kumoc_lang::ast::{Stmt, ValueKind};
    let literal = text.get(span.start as usize..span.end as usize)?;
    if !literal.starts_with(['"', '\'']) {
        return None;
    }
    // Rare (durations written as strings): the literal is read by the parser, escapes and
    // all, as the value of a one-line attribute.
    let parse = kumoc_lang::parse(&format!("d = {literal}"));
    match parse.file.items.first()? {
        Stmt::Attr(a) => match &a.value.kind {
            ValueKind::Str(s) => Some(s.value.to_string()),
            _ => None,
        },
        _ => None,
    }
}
