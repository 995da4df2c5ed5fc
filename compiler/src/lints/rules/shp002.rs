//! KUMO-SHP002 provider-overlap: A domain rule also matched by a provider.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::Live;
use crate::lints::{Kind, LintContext};
use crate::model::ShapingKey;
use crate::source::Loc;
use crate::value::MatchRule;

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports a shaping block for a domain
/// (with `mx_rollup`, the default) that a provider also matches: by `domain_suffix`, or with
/// every MX host matching its `mx_suffix` / `host_name` rules. KumoMTA reports the same at
/// load time (`provider_overlap`, `crates/kumo-api-types/src/shaping.rs`, `merge_files`).
///
/// ## Why is this bad?
/// Both apply, the domain block last: its values override the provider's for this site only,
/// and the provider's connection limit still counts this site's connections. The overlap is
/// usually an accident (a preset for a provider the domain moved to).
///
/// ## Example
/// ```kumo
/// shaping "example.org" { connection_limit = 20 } // its MX is Google's
/// ```
///
/// ## Use instead
/// ```kumo
/// provider "google" { connection_limit = 20 } // or keep the block on purpose, suppressed
/// ```
///
/// ## Fix safety
/// No automatic fix: whether the override is meant is yours to say.
///
/// ## References
/// - https://docs.kumomta.com/reference/kumo.shaping/load/
    pub static RULE = {
        code: "KUMO-SHP002",
        name: "provider-overlap",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A domain rule also matched by a provider",
        kind: Kind::Dns(check),
    };
}

/// Every `mx_rollup` shaping block: its domain, where to report it (the user's block, or a
/// value the user set in a stdlib block), and whether the user touched it.
pub(crate) fn rollup_blocks<'a>(cx: &LintContext<'a>) -> Vec<(&'a str, Loc, bool)> {
    cx.model
        .shaping
        .iter()
        .filter_map(|b| {
            let ShapingKey::Domain(domain) = &b.key else {
                return None;
            };
            if crate::lints::util::boolean(&b.shaping.settings, "mx_rollup")
                .is_some_and(|x| !x.value)
            {
                return None;
            }
            let user = if cx.is_stdlib(b.loc) {
                b.shaping
                    .settings
                    .values()
                    .map(|s| s.loc)
                    .find(|l| !cx.is_stdlib(*l))
            } else {
                Some(b.loc)
            };
            Some((domain.as_str(), user.unwrap_or(b.loc), user.is_some()))
        })
        .collect()
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for (domain, at, user) in rollup_blocks(cx) {
        if !user {
            continue;
        }
        let mx = live.snapshot.mx_hosts(domain);
        let matching: Vec<&str> = cx
            .model
            .providers
            .iter()
            .filter(|p| {
                let by_domain = p.matches.iter().any(|m| match &m.value {
                    MatchRule::DomainSuffix(s) => domain.ends_with(s.as_str()),
                    _ => false,
                });
                if by_domain {
                    return true;
                }
                let rules: Vec<&MatchRule> = p
                    .matches
                    .iter()
                    .map(|m| &m.value)
                    .filter(|m| !matches!(m, MatchRule::DomainSuffix(_)))
                    .collect();
                match &mx {
                    Some(hosts) if !rules.is_empty() && !hosts.iter().all(String::is_empty) => {
                        hosts.iter().all(|h| {
                            rules.iter().any(|r| match r {
                                MatchRule::MxSuffix(s) => h.ends_with(s.as_str()),
                                MatchRule::HostName(n) => h == n.trim_end_matches('.'),
                                MatchRule::DomainSuffix(_) => false,
                            })
                        })
                    }
                    _ => false,
                }
            })
            .map(|p| p.name.as_str())
            .collect();
        if matching.is_empty() {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "shaping \"{domain}\" is also matched by provider(s) {}",
                    matching.join(", ")
                ),
                at,
                "a provider matches this domain too",
            )
            .with_help(format!(
                "set the values in `provider \"{}\"` instead, or keep the block and suppress this with the reason",
                matching.first().copied().unwrap_or_default()
            )),
        );
    }
}
