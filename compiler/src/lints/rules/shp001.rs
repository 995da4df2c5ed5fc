//! KUMO-SHP001 mx-rollup-alias: Two domain rules that roll up to the same MX site.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::Live;
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports shaping blocks with
/// `mx_rollup` (the default) whose domains have the same MX site name, one of them written
/// by you: KumoMTA keys such blocks by the site, merges them in file order and reports
/// "multiple domain blocks alias to the same site" (`aliased_site`,
/// `crates/kumo-api-types/src/shaping.rs`, `merge_files`). The site name is KumoMTA's
/// (`factor_names` over the MX hosts in preference order). Blocks of the stdlib count.
///
/// ## Why is this bad?
/// Which block's value wins depends on their order in the file, not on the domain: a
/// setting written for `googlemail.com` changes `gmail.com` too, and the other way round.
///
/// ## Example
/// ```kumo
/// shaping "gmail.com" { max_message_rate = 50/s }
/// shaping "googlemail.com" { max_message_rate = 10/s } // same MX as gmail.com
/// ```
///
/// ## Use instead
/// ```kumo
/// shaping "gmail.com" { max_message_rate = 50/s } // one block for the site
/// ```
///
/// ## Fix safety
/// No automatic fix: which value is meant is yours to say (merge the blocks, or use
/// `mx_rollup = false` for exact-domain rules).
///
/// ## References
/// - https://docs.kumomta.com/userguide/trafficshaping/rollups/
    pub static RULE = {
        code: "KUMO-SHP001",
        name: "mx-rollup-alias",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Two domain rules that roll up to the same MX site",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_site: std::collections::BTreeMap<String, Vec<(&str, crate::source::Loc, bool)>> =
        Default::default();
    for (domain, loc, user) in super::shp002::rollup_blocks(cx) {
        let Some(hosts) = live.snapshot.mx_hosts(domain) else {
            continue;
        };
        let site = crate::route::site_name(&hosts);
        if site.is_empty() {
            continue;
        }
        by_site.entry(site).or_default().push((domain, loc, user));
    }
    for (site, blocks) in by_site {
        if blocks.len() < 2 {
            continue;
        }
        let Some(&(first, at, _)) = blocks.iter().find(|(_, _, user)| *user) else {
            continue;
        };
        let others: Vec<&str> = blocks
            .iter()
            .map(|(d, _, _)| *d)
            .filter(|d| *d != first)
            .collect();
        let mut d = RULE
            .diagnostic(
                cx,
                format!(
                    "shaping \"{first}\" rolls up to the MX site {site} with {}: KumoMTA merges them in file order",
                    others.join(", ")
                ),
                at,
                format!("site {site}"),
            )
            .with_help("keep one block per site, or set `mx_rollup = false` for an exact-domain rule");
        for (dom, loc, _) in &blocks {
            if *dom != first && !cx.is_stdlib(*loc) {
                d = d.with_secondary(*loc, format!("{dom}: same site"));
            }
        }
        out.push(d);
    }
}
