//! KUMO-SHP008 provider-limit-per-site: a provider block with per-site limits and no provider-wide cap.

use kumoc_lang::ast::{Block, Stmt};

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};
use crate::source::Loc;

declare_rule! {
    /// ## What it does
    /// Reports a `provider` block of your own (not a stdlib preset you changed) that sets
    /// `connection_limit` or `max_message_rate` and neither `provider_connection_limit` nor
    /// `provider_max_message_rate`.
    ///
    /// ## Why is this bad?
    /// A provider groups many sites (MX sets), and its plain egress settings still apply per
    /// site and per source: `connection_limit = 10` in a provider that spans 40 sites allows
    /// 400 connections from one IP. A provider-wide cap needs the `provider_*` variants; the
    /// rollups page warns that provider blocks do not merge the sites' queues. A block with
    /// only per-site limits usually meant the cap.
    ///
    /// Per-site limits are right when the provider's sites really are separate (Mimecast's
    /// regions, which the stdlib preset limits per site on purpose). Stdlib presets are not
    /// reported; for a block of your own that is regional, suppress the rule with a reason:
    /// `// kumoc-allow(KUMO-SHP008): each region has its own MTAs`.
    ///
    /// ## Example
    /// ```kumo
    /// provider "example-esp" {
    ///   match            = [mx_suffix(".example-esp.net")]
    ///   connection_limit = 10
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "example-esp" {
    ///   match                     = [mx_suffix(".example-esp.net")]
    ///   provider_connection_limit = 10
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix renames the field to its `provider_*` variant. It turns a per-site limit into
    /// a provider-wide one, which lowers the total allowed, so it is unsafe.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/trafficshaping/rollups/>
    /// - <https://docs.kumomta.com/reference/kumo.shaping/load/>
    pub static RULE = {
        code: "KUMO-SHP008",
        name: "provider-limit-per-site",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A provider block sets per-site limits but no provider-wide `provider_*` cap",
        kind: Kind::Check(check),
    };
}

const PAIRS: [(&str, &str); 2] = [
    ("connection_limit", "provider_connection_limit"),
    ("max_message_rate", "provider_max_message_rate"),
];

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for p in cx.model.providers.iter().filter(|p| !p.preset) {
        let s = &p.shaping.settings;
        if PAIRS.iter().any(|(_, wide)| s.contains_key(wide)) {
            continue;
        }
        for (site, wide) in PAIRS {
            let Some(v) = s.get(site) else { continue };
            if cx.is_stdlib(v.loc) {
                continue;
            }
            let written = cx.text(v.loc);
            let mut d = RULE
                .diagnostic(
                    cx,
                    format!(
                        "`{site} = {written}` in provider `{}` applies to each of its sites, not to the provider as a whole",
                        p.name
                    ),
                    v.loc,
                    "per site and source",
                )
                .with_help(format!(
                    "for one cap across every site of the provider, use `{wide} = {written}`"
                ));
            if let Some(key) = key_of(cx, v.loc) {
                d = d.with_fix(
                    format!("rename to `{wide}`"),
                    Applicability::Unsafe,
                    vec![Edit {
                        loc: key,
                        replacement: wide.to_string(),
                    }],
                );
            }
            out.push(d);
        }
    }
}

/// The key of the attribute whose value is at `value`.
fn key_of(cx: &LintContext<'_>, value: Loc) -> Option<Loc> {
    // The attribute is in the top-level statement that holds its value.
    let span = cx
        .stmt_at(value, |s| find_key(std::slice::from_ref(s), value))
        .flatten()?;
    Some(Loc::new(value.file, span))
}

fn find_key(items: &[Stmt], value: Loc) -> Option<kumoc_lang::Span> {
    items.iter().find_map(|s| match s {
        Stmt::Attr(a) if a.value.span == value.span => Some(a.key.span),
        Stmt::Block(Block { body, .. }) => find_key(body, value),
        _ => None,
    })
}
