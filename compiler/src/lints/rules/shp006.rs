//! KUMO-SHP006 limit-above-provider-guidance: a limit above what a big mailbox provider allows.

use kumoc_lang::units::Limit;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::Settings;
use crate::value::Spanned;

declare_rule! {
    /// ## What it does
    /// Reports a value you wrote that is above the published guidance of a built-in
    /// provider:
    ///
    /// | destination | block | connections | messages per connection |
    /// |---|---|---|---|
    /// | Google | `provider "google"` | `provider_connection_limit` ≤ 5 | `max_deliveries_per_connection` ≤ 50 |
    /// | Yahoo | `provider "yahoo"` | | ≤ 20 |
    /// | Outlook, Office 365 | `provider "outlook"`, `"office365"`, `"office365-dane"` | ≤ 5 | ≤ 50 |
    /// | Apple | `provider "apple"` | ≤ 10 | ≤ 5 |
    /// | Orange | `shaping "orange.fr"` | `connection_limit` ≤ 2 | |
    /// | Comcast | `shaping "comcast.net"` | `connection_limit` ≤ 25 | |
    ///
    /// `max_deliveries_per_connection` is also checked in a `shaping "domain" from
    /// provider.NAME` block. Values that come from the stdlib presets are never reported,
    /// including Orange's preset of 3 connections (KumoMTA's bundled value, one above the
    /// 2 connections per IP the Orange postmaster page and KumoMTA's shared-throttles FAQ
    /// give).
    ///
    /// ## Why is this bad?
    /// These limits come from the providers' own postmaster pages, through KumoMTA's bundled
    /// `shaping.toml`. Above them the provider defers or rate-limits the IP (Gmail's 421
    /// 4.7.28, Yahoo's TS01/TS02, Outlook's S3150), which costs more throughput than the
    /// extra connections gain and damages the IP's reputation.
    ///
    /// ## Example
    /// ```kumo
    /// provider "google" {
    ///   max_deliveries_per_connection = 100
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "google" {
    ///   max_deliveries_per_connection = 50
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix clamps the value to the provider's guidance (the stdlib preset's value, and 2
    /// for Orange), keeping a `local:` prefix. It lowers throughput to that destination, so
    /// it is unsafe.
    ///
    /// ## References
    /// - <https://support.google.com/mail/answer/81126>
    /// - <https://senders.yahooinc.com/best-practices>
    /// - <https://sendersupport.olc.protection.outlook.com/pm/Policies>
    /// - <https://support.apple.com/en-us/102322>
    /// - <https://messagerie.orange.fr/postmaster.html>
    /// - <https://spa.xfinity.com/postmaster>
    /// - <https://docs.kumomta.com/faq/shared_throttles_in_cluster/>
    /// - KumoMTA `assets/policy-extras/shaping.toml`
    pub static RULE = {
        code: "KUMO-SHP006",
        name: "limit-above-provider-guidance",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "A connection or per-connection limit above a built-in provider's guidance",
        kind: Kind::Check(check),
    };
}

#[derive(Clone, Copy)]
enum Target {
    Provider(&'static str),
    Domain(&'static str),
}

struct Guide {
    who: &'static str,
    target: Target,
    field: &'static str,
    max: u64,
    source: &'static str,
}

const fn g(
    who: &'static str,
    target: Target,
    field: &'static str,
    max: u64,
    source: &'static str,
) -> Guide {
    Guide {
        who,
        target,
        field,
        max,
        source,
    }
}

const GOOGLE: &str = "https://support.google.com/mail/answer/81126";
const YAHOO: &str = "https://senders.yahooinc.com/best-practices";
const MICROSOFT: &str = "https://sendersupport.olc.protection.outlook.com/pm/Policies";
const APPLE: &str = "https://support.apple.com/en-us/102322";
const PCL: &str = "provider_connection_limit";
const MDPC: &str = "max_deliveries_per_connection";

const GUIDES: &[Guide] = &[
    g("Google", Target::Provider("google"), PCL, 5, GOOGLE),
    g("Google", Target::Provider("google"), MDPC, 50, GOOGLE),
    g("Yahoo", Target::Provider("yahoo"), MDPC, 20, YAHOO),
    g("Outlook", Target::Provider("outlook"), PCL, 5, MICROSOFT),
    g("Outlook", Target::Provider("outlook"), MDPC, 50, MICROSOFT),
    g(
        "Office 365",
        Target::Provider("office365"),
        PCL,
        5,
        MICROSOFT,
    ),
    g(
        "Office 365",
        Target::Provider("office365"),
        MDPC,
        50,
        MICROSOFT,
    ),
    g(
        "Office 365",
        Target::Provider("office365-dane"),
        PCL,
        5,
        MICROSOFT,
    ),
    g(
        "Office 365",
        Target::Provider("office365-dane"),
        MDPC,
        50,
        MICROSOFT,
    ),
    g("Apple", Target::Provider("apple"), PCL, 10, APPLE),
    g("Apple", Target::Provider("apple"), MDPC, 5, APPLE),
    g(
        "Orange",
        Target::Domain("orange.fr"),
        "connection_limit",
        2,
        "https://messagerie.orange.fr/postmaster.html",
    ),
    g(
        "Comcast",
        Target::Domain("comcast.net"),
        "connection_limit",
        25,
        "https://spa.xfinity.com/postmaster",
    ),
];

/// A limit or integer field: its number, whether it is `local:`, and where it was written.
fn number(s: &Settings, field: &str) -> Option<(Spanned<u64>, Option<bool>)> {
    if let Some(l) = util::limit(s, field) {
        return Some((
            Spanned {
                value: l.value.limit,
                loc: l.loc,
            },
            Some(l.value.local),
        ));
    }
    let n = util::int(s, field)?;
    Some((
        Spanned {
            value: u64::try_from(n.value).unwrap_or(0),
            loc: n.loc,
        },
        None,
    ))
}

fn report(
    cx: &LintContext<'_>,
    guide: &Guide,
    scope: &str,
    value: &Spanned<u64>,
    local: Option<bool>,
    out: &mut Vec<Diagnostic>,
) {
    let what = if guide.field == MDPC {
        "messages per connection"
    } else {
        "connections per IP"
    };
    let replacement = match local {
        Some(local) => Limit {
            local,
            limit: guide.max,
        }
        .to_kumo_string(),
        None => guide.max.to_string(),
    };
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "`{} = {}` in {scope} is above {}'s guidance of {} {what}",
                guide.field,
                cx.text(value.loc),
                guide.who,
                guide.max
            ),
            value.loc,
            format!("{} allows {} {what}", guide.who, guide.max),
        )
        .with_help(format!(
            "use at most {} (the provider's published limit, {})",
            guide.max, guide.source
        ))
        .with_fix(
            format!("clamp to {}", guide.max),
            Applicability::Unsafe,
            vec![Edit {
                loc: value.loc,
                replacement,
            }],
        ),
    );
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    for guide in GUIDES {
        let (settings, scope): (Option<&Settings>, String) = match guide.target {
            Target::Provider(name) => (
                m.providers
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| &p.shaping.settings),
                format!("`provider \"{name}\"`"),
            ),
            Target::Domain(name) => (
                m.shaping
                    .iter()
                    .find(|b| b.key.as_str() == name)
                    .map(|b| &b.shaping.settings),
                format!("`shaping \"{name}\"`"),
            ),
        };
        if let Some((value, local)) = settings.and_then(|s| number(s, guide.field)) {
            if value.value > guide.max && !cx.is_stdlib(value.loc) {
                report(cx, guide, &scope, &value, local, out);
            }
        }
        // A domain block built `from` the provider's preset.
        let Target::Provider(name) = guide.target else {
            continue;
        };
        if guide.field != MDPC {
            continue;
        }
        for b in &m.shaping {
            if b.from.as_ref().is_none_or(|f| f.value != name) {
                continue;
            }
            let Some((value, local)) = number(&b.shaping.settings, guide.field) else {
                continue;
            };
            if value.value > guide.max && !cx.is_stdlib(value.loc) {
                let scope = format!("`shaping \"{}\" from provider.{name}`", b.key.as_str());
                report(cx, guide, &scope, &value, local, out);
            }
        }
    }
}
