//! KUMO-SHP003 null-mx-rollup: mx_rollup on a NULL-MX domain.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::dns::Live;
use crate::lints::{Kind, LintContext};

declare_rule! {
/// ## What it does
/// With a DNS snapshot (`kumoc dns --check SNAPSHOT`), reports a shaping block with
/// `mx_rollup` (the default) for a domain whose MX is NULL (`0 .`, RFC 7505): its site name
/// is empty, and KumoMTA drops the block ("has a NULL MX and cannot be used with
/// mx_rollup=true. Ignoring the shaping config for that domain",
/// `crates/kumo-api-types/src/shaping.rs`, `merge_files`).
///
/// ## Why is this bad?
/// Every setting of the block is silently ignored.
///
/// ## Example
/// ```kumo
/// shaping "example.com" { connection_limit = 2 } // example.com has a NULL MX
/// ```
///
/// ## Use instead
/// ```kumo
/// shaping "example.com" {
///   mx_rollup        = false
///   connection_limit = 2
/// }
/// ```
///
/// ## Fix safety
/// No automatic fix: a NULL-MX domain accepts no mail, so the block may simply be stale.
///
/// ## References
/// - assets/policy-extras/shaping.toml
/// - https://www.rfc-editor.org/rfc/rfc7505
    pub static RULE = {
        code: "KUMO-SHP003",
        name: "null-mx-rollup",
        severity: Error,
        since: "0.1.0",
        priority: "P1",
        summary: "mx_rollup on a NULL-MX domain",
        kind: Kind::Dns(check),
    };
}

fn check(cx: &LintContext<'_>, live: &Live<'_>, out: &mut Vec<Diagnostic>) {
    for (domain, at, user) in super::shp002::rollup_blocks(cx) {
        if !user {
            continue;
        }
        let Some(hosts) = live.snapshot.mx_hosts(domain) else {
            continue;
        };
        if hosts.iter().all(String::is_empty) {
            out.push(
                RULE.diagnostic(
                    cx,
                    format!("{domain} has a NULL MX: KumoMTA ignores this mx_rollup block"),
                    at,
                    "ignored by KumoMTA",
                )
                .with_help("set `mx_rollup = false` to key the block by the domain, or remove it"),
            );
        }
    }
}
