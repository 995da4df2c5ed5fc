//! KUMO-SHP007 connections-multiplied-by-pods: per-pod connection limits add up above a provider's limit.

use kumoc_lang::units::Limit;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::Settings;
use crate::source::Loc;
use crate::value::Spanned;

declare_rule! {
    /// ## What it does
    /// Computes the connections each egress IP opens to a built-in provider when every MTA
    /// pod enforces its connection limit on its own, and reports a total above the
    /// provider's limit. A limit is per pod when the cluster has no shared throttles
    /// (`cluster { redis { } }` absent) or when it is written `local:N`. The total is the
    /// limit × the MTA pods (the autoscaler's `max` when there is one). The limits checked
    /// are Google's, Outlook's, Office 365's and Apple's `provider_connection_limit` (5, 5,
    /// 5 and 10) and the `connection_limit` of `shaping "orange.fr"` (2) and
    /// `shaping "comcast.net"` (25).
    ///
    /// A limit you wrote is reported at its value ("3 pods × 5 = 15 connections to
    /// Google"); limits that come from the stdlib presets are reported together, once, at
    /// the MTA's `replicas` (or `autoscale`). A value that is above the guidance on its own
    /// is left to KUMO-SHP006.
    ///
    /// ## Why is this bad?
    /// All pods send from the same egress IPs. Without Redis each kumod counts only its own
    /// connections, so with 3 pods Google sees 15 connections from an IP that its published
    /// limit (and the preset) keeps at 5, and defers or blocks it. `local:` does the same
    /// even with Redis: it opts the limit out of the shared count.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta { replicas = 3 }
    ///   redis { url = "redis://dragonfly.dragonflydb.svc.cluster.local:6379" }
    /// }
    ///
    /// provider "google" {
    ///   provider_connection_limit = local:5
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "google" {
    ///   provider_connection_limit = 5 // shared by every pod through Redis
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// For a `local:` limit with Redis configured, the fix drops `local:` so the limit is
    /// shared. Without Redis, it divides the limit by the pod count (when the result is at
    /// least 1). Both change how many connections each pod opens, so they are unsafe. The
    /// better fix is shared throttles (`cluster { redis { } }`), which kumoc cannot write
    /// for you. Keeping `max_deliveries_per_connection` at 100 or below also rotates the
    /// connections between pods.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/faq/shared_throttles_in_cluster/>
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/connection_limit/>
    /// - <https://docs.kumomta.com/userguide/clustering/throttles/>
    /// - <https://support.google.com/mail/answer/81126>
    pub static RULE = {
        code: "KUMO-SHP007",
        name: "connections-multiplied-by-pods",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "Per-pod connection limits × MTA pods exceed a provider's connection limit",
        kind: Kind::Check(check),
    };
}

#[derive(Clone, Copy)]
enum Target {
    Provider(&'static str),
    Domain(&'static str),
}

/// Who, where, which field, the provider's limit of connections per IP.
const TARGETS: &[(&str, Target, &str, u64)] = &[
    (
        "Google",
        Target::Provider("google"),
        "provider_connection_limit",
        5,
    ),
    (
        "Outlook",
        Target::Provider("outlook"),
        "provider_connection_limit",
        5,
    ),
    (
        "Office 365",
        Target::Provider("office365"),
        "provider_connection_limit",
        5,
    ),
    (
        "Office 365 DANE",
        Target::Provider("office365-dane"),
        "provider_connection_limit",
        5,
    ),
    (
        "Apple",
        Target::Provider("apple"),
        "provider_connection_limit",
        10,
    ),
    ("Orange", Target::Domain("orange.fr"), "connection_limit", 2),
    (
        "Comcast",
        Target::Domain("comcast.net"),
        "connection_limit",
        25,
    ),
];

struct Over {
    who: &'static str,
    limit: Spanned<Limit>,
    guide: u64,
    total: u64,
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let mta = &m.cluster.mta;
    let (pods, pods_loc, pods_what): (u64, Loc, &str) = match &mta.autoscale {
        Some(a) if a.max > 1 => (u64::from(a.max), a.loc, "the autoscaler's `max`"),
        _ => (
            u64::from(mta.replicas.value),
            mta.replicas.loc,
            "`replicas`",
        ),
    };
    if pods <= 1 {
        return;
    }
    let redis = m.cluster.redis.is_some();
    let mut from_stdlib: Vec<Over> = Vec::new();
    for (who, target, field, guide) in TARGETS {
        let settings: Option<&Settings> = match target {
            Target::Provider(name) => m
                .providers
                .iter()
                .find(|p| p.name == *name)
                .map(|p| &p.shaping.settings),
            Target::Domain(name) => m
                .shaping
                .iter()
                .find(|b| b.key.as_str() == *name)
                .map(|b| &b.shaping.settings),
        };
        let Some(limit) = settings.and_then(|s| util::limit(s, field)) else {
            continue;
        };
        if redis && !limit.value.local {
            continue;
        }
        let total = limit.value.limit.saturating_mul(pods);
        if total <= *guide {
            continue;
        }
        let over = Over {
            who,
            limit,
            guide: *guide,
            total,
        };
        if cx.is_stdlib(over.limit.loc) {
            from_stdlib.push(over);
            continue;
        }
        if over.limit.value.limit > over.guide {
            // Above the guidance on its own: KUMO-SHP006 reports it.
            continue;
        }
        out.push(user_value(cx, &over, field, pods, redis));
    }
    if from_stdlib.is_empty() || cx.is_stdlib(pods_loc) {
        return;
    }
    let sum = |o: &Over| {
        format!(
            "{pods} × {} = {} connections to {} (limit {})",
            o.limit.value.limit, o.total, o.who, o.guide
        )
    };
    let mut d = RULE.diagnostic(
        cx,
        match from_stdlib.as_slice() {
            [one] => format!("without shared throttles, {pods} pods × {} = {} connections per IP to {} (limit {})", one.limit.value.limit, one.total, one.who, one.guide),
            [first, rest @ ..] => format!(
                "without shared throttles, {pods} pods × {} = {} connections per IP to {} (limit {}), and {} more providers over their limits",
                first.limit.value.limit,
                first.total,
                first.who,
                first.guide,
                rest.len()
            ),
            [] => return,
        },
        pods_loc,
        format!("each of the {pods} pods opens its own connections"),
    );
    d = d.with_note(format!(
        "{} pods ({pods_what}) each enforce the stdlib presets' limits: {}",
        pods,
        from_stdlib.iter().map(sum).collect::<Vec<_>>().join("; ")
    ));
    out.push(d.with_help(
        "share connection limits across pods: `cluster { redis { url = \"redis://...\" } }`",
    ));
}

fn user_value(cx: &LintContext<'_>, o: &Over, field: &str, pods: u64, redis: bool) -> Diagnostic {
    let written = cx.text(o.limit.loc).to_string();
    let why = if o.limit.value.local {
        "`local:` keeps the limit per pod"
    } else {
        "without Redis each pod counts its own connections"
    };
    let d = RULE
        .diagnostic(
            cx,
            format!(
                "`{field} = {written}`: {pods} pods × {} = {} connections per IP to {} (limit {})",
                o.limit.value.limit, o.total, o.who, o.guide
            ),
            o.limit.loc,
            format!("× {pods} pods = {}", o.total),
        )
        .with_note(why);
    if redis {
        return d
            .with_help("drop `local:` so the limit is shared through Redis")
            .with_fix(
                "share the limit (drop `local:`)",
                Applicability::Unsafe,
                vec![Edit {
                    loc: o.limit.loc,
                    replacement: o.limit.value.limit.to_string(),
                }],
            );
    }
    let per_pod = o.guide / pods;
    let d = d.with_help(format!(
        "share limits through Redis (`cluster {{ redis {{ url = \"redis://...\" }} }}`), or divide the limit by the {pods} pods"
    ));
    if per_pod == 0 {
        return d;
    }
    d.with_fix(
        format!("divide the limit by {pods} pods"),
        Applicability::Unsafe,
        vec![Edit {
            loc: o.limit.loc,
            replacement: Limit {
                local: o.limit.value.local,
                limit: per_pod,
            }
            .to_kumo_string(),
        }],
    )
}
