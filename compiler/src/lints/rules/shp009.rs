//! KUMO-SHP009 max-ready-mismatch: `max_ready` too small for the block's rate, or very large in `default`.

use kumoc_lang::units::Rate;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Settings, ShapingKey, Spanned};

declare_rule! {
    /// ## What it does
    /// For each shaping scope (`shaping default`, `shaping "domain"`, `provider`, and their
    /// `source` overrides) that sets `max_ready` or `max_message_rate` itself, takes the
    /// values that apply there (its own, else its block's for a `source` override, else
    /// `shaping default`'s, else KumoMTA's default `max_ready` of 1024) and reports:
    ///
    /// - `max_ready` below twice the per-second `max_message_rate` (rounded up), i.e. less
    ///   than two seconds of the ready queue's own throughput;
    /// - `max_ready` above 10 000 in `shaping default` (unless the default rate needs it).
    ///
    /// It reports the value you wrote: `max_ready` when it is yours, otherwise the
    /// `max_message_rate` that needs more room. Values only from the stdlib are not
    /// reported.
    ///
    /// ## Why is this bad?
    /// The ready queue holds the messages about to be delivered. When it is smaller than
    /// what the rate lets through in a couple of seconds, the scheduled queue keeps finding
    /// it full: messages are delayed with `ReadyQueueWasFull` and the configured rate is
    /// never reached. In the other direction, `max_ready` in `default` applies to every
    /// destination's ready queue; memory grows with `max_ready` × message size × ready
    /// queues, so a large default exhausts memory when many destinations back up.
    ///
    /// ## Example
    /// ```kumo
    /// shaping default {
    ///   max_message_rate = 100/s
    ///   max_ready        = 50
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping default {
    ///   max_message_rate = 100/s
    ///   max_ready        = 200
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When `max_ready` is too small and yours, the fix raises it to twice the per-second
    /// rate. More messages are then held in memory, so it is unsafe. A large default has
    /// no fix: lower it, and raise `max_ready` only in the blocks of your busiest
    /// destinations.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/faq/ready_queue_was_full/>
    /// - <https://docs.kumomta.com/faq/high_memory_usage/>
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/max_ready/>
    pub static RULE = {
        code: "KUMO-SHP009",
        name: "max-ready-mismatch",
        severity: Warning,
        priority: "P1",
        summary: "max_ready below twice the per-second message rate, or very large in `shaping default`",
        kind: Kind::Check(check),
    };
}

/// KumoMTA's default `max_ready`.
const KUMO_DEFAULT: i64 = 1024;
/// Above this in `shaping default`, every ready queue may hold a lot of memory.
const LARGE_DEFAULT: i64 = 10_000;

/// Twice the per-second rate, rounded up.
fn needed(r: &Rate) -> i64 {
    let period = r.period_secs.max(1);
    let n = r.limit.saturating_mul(2).div_ceil(period);
    i64::try_from(n).unwrap_or(i64::MAX)
}

struct Scope<'a> {
    what: String,
    own: &'a Settings,
    parents: Vec<&'a Settings>,
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let default = m
        .shaping
        .iter()
        .find(|b| b.key == ShapingKey::Default)
        .map(|b| &b.shaping.settings);
    let mut scopes: Vec<Scope<'_>> = Vec::new();
    for b in &m.shaping {
        let is_default = b.key == ShapingKey::Default;
        let what = if is_default {
            "`shaping default`".to_string()
        } else {
            format!("`shaping \"{}\"`", b.key.as_str())
        };
        let up: Vec<&Settings> = if is_default {
            Vec::new()
        } else {
            default.into_iter().collect()
        };
        scopes.push(Scope {
            what: what.clone(),
            own: &b.shaping.settings,
            parents: up.clone(),
        });
        for s in &b.shaping.sources {
            let mut parents = vec![&b.shaping.settings];
            parents.extend(up.iter().copied());
            scopes.push(Scope {
                what: format!("source `{}` of {what}", s.name),
                own: &s.settings,
                parents,
            });
        }
    }
    for p in &m.providers {
        let what = format!("`provider \"{}\"`", p.name);
        let up: Vec<&Settings> = default.into_iter().collect();
        scopes.push(Scope {
            what: what.clone(),
            own: &p.shaping.settings,
            parents: up.clone(),
        });
        for s in &p.shaping.sources {
            let mut parents = vec![&p.shaping.settings];
            parents.extend(up.iter().copied());
            scopes.push(Scope {
                what: format!("source `{}` of {what}", s.name),
                own: &s.settings,
                parents,
            });
        }
    }
    for scope in &scopes {
        check_scope(cx, scope, out);
    }
    check_large_default(cx, default, out);
}

fn check_scope(cx: &LintContext<'_>, scope: &Scope<'_>, out: &mut Vec<Diagnostic>) {
    let own_ready = util::int(scope.own, "max_ready");
    let own_rate = util::rate(scope.own, "max_message_rate");
    if own_ready.is_none() && own_rate.is_none() {
        return;
    }
    let ready: Option<Spanned<i64>> = own_ready
        .clone()
        .or_else(|| scope.parents.iter().find_map(|s| util::int(s, "max_ready")));
    let Some(rate) = own_rate.clone().or_else(|| {
        scope
            .parents
            .iter()
            .find_map(|s| util::rate(s, "max_message_rate"))
    }) else {
        return;
    };
    let need = needed(&rate.value);
    let have = ready.as_ref().map_or(KUMO_DEFAULT, |r| r.value);
    if have >= need {
        return;
    }
    let rate_text = cx.text(rate.loc).to_string();
    let have_text = match &ready {
        Some(r) if cx.is_stdlib(r.loc) => format!("{have} (stdlib)"),
        Some(_) => have.to_string(),
        None => format!("{have} (KumoMTA's default)"),
    };
    let message = format!(
        "`max_ready = {have_text}` in {} holds less than 2 seconds of `max_message_rate = {rate_text}` (needs {need})",
        scope.what
    );
    let help = "size the ready queue for at least two seconds of the rate; raise it only for your busiest destinations";
    match (&own_ready, &own_rate) {
        (Some(r), _) if !cx.is_stdlib(r.loc) => {
            let d = RULE
                .diagnostic(cx, message, r.loc, format!("below {need}"))
                .with_secondary(rate.loc, "this rate")
                .with_help(help)
                .with_fix(
                    format!("raise `max_ready` to {need}"),
                    Applicability::Unsafe,
                    vec![Edit {
                        loc: r.loc,
                        replacement: need.to_string(),
                    }],
                );
            out.push(d);
        }
        (_, Some(q)) if !cx.is_stdlib(q.loc) => {
            let mut d = RULE
                .diagnostic(cx, message, q.loc, format!("needs `max_ready` ≥ {need}"))
                .with_help(format!(
                    "{help}: add `max_ready = {need}` to {}",
                    scope.what
                ));
            if let Some(r) = &ready {
                if !cx.is_stdlib(r.loc) {
                    d = d.with_secondary(r.loc, "`max_ready` comes from here");
                }
            }
            out.push(d);
        }
        _ => {}
    }
}

fn check_large_default(
    cx: &LintContext<'_>,
    default: Option<&Settings>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(d) = default else { return };
    let Some(ready) = util::int(d, "max_ready") else {
        return;
    };
    let need = util::rate(d, "max_message_rate").map_or(0, |r| needed(&r.value));
    if ready.value <= LARGE_DEFAULT || ready.value <= need || cx.is_stdlib(ready.loc) {
        return;
    }
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "`max_ready = {}` in `shaping default` lets every destination's ready queue hold that many messages",
                ready.value
            ),
            ready.loc,
            format!("above {LARGE_DEFAULT} for every destination"),
        )
        .with_help(format!(
            "keep the default at {LARGE_DEFAULT} or less (KumoMTA's is {KUMO_DEFAULT}) and raise `max_ready` in the blocks of your busiest destinations"
        )),
    );
}
