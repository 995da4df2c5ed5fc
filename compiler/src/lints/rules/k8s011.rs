//! KUMO-K8S011 grace-period-too-short: the MTA pods' termination grace period is shorter
//! than kumod's shutdown.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::source::Loc;
use crate::value::Spanned;

/// The shortest grace period worth having: kumod stops accepting, then flushes.
const FLOOR_MS: u64 = 60_000;
/// Time on top of the longest `system_shutdown_timeout` for the spool flush and exit.
const MARGIN_MS: u64 = 15_000;

declare_rule! {
    /// ## What it does
    /// Reports a `termination_grace_period` (in `cluster { mta { } }`, 300s unless set)
    /// shorter than the largest `system_shutdown_timeout` in any shaping block, provider or
    /// per-source override plus 15 seconds, or shorter than 60 seconds.
    ///
    /// kumoc's pods have no preStop hook, so the grace period is all kumod gets.
    ///
    /// ## Why is this bad?
    /// On SIGTERM kumod stops accepting mail, lets in-flight deliveries run for up to
    /// `system_shutdown_timeout`, then flushes its queues to the spool and exits. When the
    /// grace period ends first, Kubernetes kills it: deliveries in flight are cut off and
    /// retried later (duplicates at the receiver), and the spool is left for RocksDB to
    /// recover at the next start, which makes that start slow. Every rollout and node drain
    /// goes through this path.
    ///
    /// ## Example
    /// ```kumo
    /// shaping default {
    ///   system_shutdown_timeout = 2m
    /// }
    ///
    /// cluster {
    ///   mta { termination_grace_period = 60s }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping default {
    ///   system_shutdown_timeout = 2m
    /// }
    ///
    /// cluster {
    ///   mta { termination_grace_period = 2m15s }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix raises the grace period to the shutdown timeout plus 15 seconds (or to 60
    /// seconds). It is safe when a `system_shutdown_timeout` sets the bound: you asked for
    /// deliveries to run that long, and a longer grace period only lets them. It is unsafe
    /// when the 60-second floor does: pods then take longer to go away in rollouts.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/faq/slow_shutdown/>
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/system_shutdown_timeout/>
    /// - <https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination>
    pub static RULE = {
        code: "KUMO-K8S011",
        name: "grace-period-too-short",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The MTA's termination grace period is shorter than kumod's shutdown",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let grace = m.cluster.mta.termination_grace_ms;
    let longest = longest_shutdown(cx);
    let (needed, by_shutdown) = match &longest {
        Some(s) if s.value + MARGIN_MS > FLOOR_MS => (s.value + MARGIN_MS, true),
        _ => (FLOOR_MS, false),
    };
    if grace >= needed {
        return;
    }
    let written = util::find_written(cx, &["cluster", "mta"], "termination_grace_period");
    let fallback = m
        .cluster
        .mta
        .loc
        .filter(|l| !cx.is_stdlib(*l))
        .unwrap_or(m.name.loc);
    let user_shutdown = longest
        .as_ref()
        .map(|s| s.loc)
        .filter(|l| !cx.is_stdlib(*l));
    let (at, label) = match (&written, user_shutdown) {
        (Some(w), _) => (w.loc, "kumod is killed before it is done"),
        (None, Some(s)) if by_shutdown => (s, "longer than the grace period allows"),
        (None, _) => (fallback, "the grace period is 300s"),
    };
    let message = if by_shutdown {
        format!(
            "the MTA grace period ({}) is shorter than `system_shutdown_timeout` + 15s ({})",
            fmt(grace),
            fmt(needed)
        )
    } else {
        format!(
            "the MTA grace period ({}) is shorter than 60s: kumod cannot flush its queues",
            fmt(grace)
        )
    };
    let why = if by_shutdown {
        "deliveries may run `system_shutdown_timeout`, then kumod flushes the spool"
    } else {
        "kumod needs time to flush its queues to the spool"
    };
    let mut d = RULE.diagnostic(cx, message, at, label).with_help(format!(
        "set `termination_grace_period = {}` in `cluster {{ mta {{ }} }}`: {why}",
        fmt(needed)
    ));
    if let (Some(s), true) = (&longest, by_shutdown) {
        if s.loc != at && !cx.is_stdlib(s.loc) {
            d = d.with_secondary(s.loc, "deliveries may run this long at shutdown");
        }
    }
    if let Some(w) = written {
        let applicability = if by_shutdown {
            Applicability::Safe
        } else {
            Applicability::Unsafe
        };
        d = d.with_fix(
            format!("set the grace period to {}", fmt(needed)),
            applicability,
            vec![Edit {
                loc: w.loc,
                replacement: fmt(needed),
            }],
        );
    }
    out.push(d);
}

/// The largest `system_shutdown_timeout` in shaping blocks, providers and their per-source
/// overrides (a user's value wins a tie).
fn longest_shutdown(cx: &LintContext<'_>) -> Option<Spanned<u64>> {
    let m = cx.model;
    let shapings = m
        .shaping
        .iter()
        .map(|b| &b.shaping)
        .chain(m.providers.iter().map(|p| &p.shaping));
    let mut best: Option<Spanned<u64>> = None;
    for sh in shapings {
        let all = std::iter::once(&sh.settings).chain(sh.sources.iter().map(|s| &s.settings));
        for s in all {
            let Some(t) = util::duration(s, "system_shutdown_timeout") else {
                continue;
            };
            let better = best.as_ref().is_none_or(|b| {
                t.value > b.value
                    || (t.value == b.value && is_user(cx, t.loc) && !is_user(cx, b.loc))
            });
            if better {
                best = Some(t);
            }
        }
    }
    best
}

/// Seconds, as `terminationGracePeriodSeconds` counts them.
fn fmt(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        kumoc_lang::units::format_duration(ms)
    }
}

fn is_user(cx: &LintContext<'_>, loc: Loc) -> bool {
    !cx.is_stdlib(loc)
}
