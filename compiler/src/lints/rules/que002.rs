//! KUMO-QUE002 max-age-before-retries: messages expire before their third delivery attempt.

use kumoc_lang::units::format_duration;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Settings, ShapingKey};
use crate::schema;
use crate::value::{Spanned, Typed};

declare_rule! {
    /// ## What it does
    /// Computes the retry schedule of each queue, tenant and campaign block that sets
    /// `max_age`, `retry_interval` or `max_retry_interval` itself, and reports when fewer
    /// than 3 delivery attempts happen before `max_age`. Values a block does not set come
    /// from its enclosing block, then from `queue default`, then from KumoMTA's defaults
    /// (`max_age` 7d, `retry_interval` 20m, no cap).
    ///
    /// The first attempt is at 0; retry n waits `retry_interval` × 2^(n-1), capped by
    /// `max_retry_interval`. With `retry_interval = 20m` the attempts are at 0, 20m, 60m,
    /// 140m, ...; a message is attempted only while its age is below `max_age`.
    ///
    /// ## Why is this bad?
    /// Temporary failures (greylisting, 421 rate limits, a provider's short outage) are
    /// normal and clear within a few retries. When `max_age` ends before the second retry,
    /// such mail bounces as expired after one or two attempts, although it would have been
    /// delivered a little later.
    ///
    /// ## Example
    /// ```kumo
    /// queue default {
    ///   max_age        = 30m
    ///   retry_interval = 20m
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// queue default {
    ///   max_age        = 24h
    ///   retry_interval = 20m
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When `max_age` is yours, the fix raises it to the time of the fourth attempt, so the
    /// first three fit. Messages then stay longer in the spool, so it is unsafe. When the
    /// block's own `retry_interval` is the cause, there is no fix: shorten it or raise
    /// `max_age`.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/max_age/>
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/retry_interval/>
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/max_retry_interval/>
    pub static RULE = {
        code: "KUMO-QUE002",
        name: "max-age-before-retries",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "max_age expires messages before their third delivery attempt",
        kind: Kind::Check(check),
    };
}

/// Fewer attempts than this before expiry are reported.
const MIN_ATTEMPTS: usize = 3;

struct Scope<'a> {
    what: util::What<'a>,
    own: &'a Settings,
    /// The scopes it inherits from, nearest first.
    parents: [Option<&'a Settings>; 3],
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let default = m
        .queues
        .iter()
        .find(|q| q.key == ShapingKey::Default)
        .map(|q| &q.settings);
    let kumo = |name| util::default_of(&schema::QUEUE, name, Typed::as_duration_ms);
    let kumo = KumoDefaults {
        max_age: kumo("max_age"),
        retry_interval: kumo("retry_interval"),
        last: std::cell::Cell::new(None),
    };
    // Each scope is checked as it is found (not collected: one per queue).
    let mut visit = |scope: Scope<'_>| check_scope(cx, &scope, &kumo, out);
    for q in &m.queues {
        let what = util::queue_what(&q.key);
        let up = if q.key == ShapingKey::Default {
            None
        } else {
            default
        };
        visit(Scope {
            what,
            own: &q.settings,
            parents: [up, None, None],
        });
        for t in &q.tenants {
            let twhat = what.inner("tenant `", &t.name, "`");
            visit(Scope {
                what: twhat,
                own: &t.settings,
                parents: [Some(&q.settings), up, None],
            });
            for c in &t.campaigns {
                visit(Scope {
                    what: twhat.inner("campaign `", &c.name, "`"),
                    own: &c.settings,
                    parents: [Some(&t.settings), Some(&q.settings), up],
                });
            }
        }
    }
    for t in &m.tenants {
        let what = util::What::named("tenant `", &t.name, "`");
        visit(Scope {
            what,
            own: &t.settings,
            parents: [default, None, None],
        });
        for c in &t.campaigns {
            visit(Scope {
                what: what.inner("campaign `", &c.name, "`"),
                own: &c.settings,
                parents: [Some(&t.settings), default, None],
            });
        }
    }
}

/// A duration the scope inherits from the nearest scope above it that sets it.
fn lookup_parents(scope: &Scope<'_>, name: &str) -> Option<u64> {
    scope
        .parents
        .iter()
        .flatten()
        .find_map(|s| util::duration(s, name))
        .map(|v| v.value)
}

/// Attempt times (ms) from 0 up to and including the first at or after `until` (at most
/// 64), computed as they are read.
fn schedule(retry: u64, cap: Option<u64>, until: u64) -> impl Iterator<Item = u64> {
    // The next attempt's time and the delay after it.
    let mut next = Some((0u64, retry));
    std::iter::from_fn(move || {
        let (at, delay) = next?;
        next = (at < until).then(|| {
            let wait = cap.map_or(delay, |c| delay.min(c));
            (at.saturating_add(wait), delay.saturating_mul(2))
        });
        Some(at)
    })
    .take(64)
}

/// KumoMTA's `max_age` and `retry_interval`, for a scope where they are unset (read from
/// the schema once per run, not per scope).
struct KumoDefaults {
    max_age: Option<u64>,
    retry_interval: Option<u64>,
    /// The last schedule counted (`max_age`, `retry_interval`, `max_retry_interval`) and
    /// its attempts before `max_age`.
    last: std::cell::Cell<Option<(Schedule, usize)>>,
}

/// A retry schedule: `max_age`, `retry_interval` and `max_retry_interval`, in milliseconds.
type Schedule = (u64, u64, Option<u64>);

fn check_scope(
    cx: &LintContext<'_>,
    scope: &Scope<'_>,
    kumo: &KumoDefaults,
    out: &mut Vec<Diagnostic>,
) {
    let own_age = util::duration(scope.own, "max_age");
    let own_retry = util::duration(scope.own, "retry_interval");
    let own_cap = util::duration(scope.own, "max_retry_interval");
    if own_age.is_none() && own_retry.is_none() && own_cap.is_none() {
        return;
    }
    // Unset here, inherited; unset anywhere, KumoMTA's defaults.
    let inherited = |own: &Option<Spanned<u64>>, name| {
        own.as_ref()
            .map(|v| v.value)
            .or_else(|| lookup_parents(scope, name))
    };
    let (Some(age), Some(retry)) = (
        inherited(&own_age, "max_age").or(kumo.max_age),
        inherited(&own_retry, "retry_interval").or(kumo.retry_interval),
    ) else {
        return;
    };
    let cap = inherited(&own_cap, "max_retry_interval");
    if retry == 0 {
        return;
    }
    // Enough attempts to show the schedule up to the fourth, and past max_age. Counted once
    // per schedule: every queue of a large deployment usually has the same one.
    let key = (age, retry, cap);
    let before = match kumo.last.get() {
        Some((k, n)) if k == key => n,
        _ => {
            let n = schedule(retry, cap, age.max(1))
                .filter(|t| *t < age)
                .count();
            kumo.last.set(Some((key, n)));
            n
        }
    };
    if before >= MIN_ATTEMPTS {
        return;
    }
    let mut shown: Vec<u64> = schedule(retry, cap, u64::MAX)
        .take(MIN_ATTEMPTS + 1)
        .collect();
    shown.dedup();
    let Some(fourth) = shown.get(MIN_ATTEMPTS).copied() else {
        return;
    };
    let list = in_one_unit(&shown);
    let age_text = format_duration(age);
    let retry_text = format_duration(retry);
    let attempts = if before == 1 {
        "1 attempt".to_string()
    } else {
        format!("{before} attempts")
    };
    let message = format!(
        "messages in {} get only {attempts} before `max_age` ({age_text}) expires them",
        scope.what
    );
    let help = format!(
        "with `retry_interval` {retry_text}, attempts are at {list}, ...; use a `max_age` of at least {} or a shorter `retry_interval`",
        format_duration(fourth)
    );
    match (&own_age, &own_retry) {
        (Some(a), _) if !cx.is_stdlib(a.loc) => {
            let mut d = RULE
                .diagnostic(cx, message, a.loc, format!("only {attempts} fit"))
                .with_help(help)
                .with_fix(
                    format!("raise `max_age` to {}", format_duration(fourth)),
                    Applicability::Unsafe,
                    vec![Edit {
                        loc: a.loc,
                        replacement: format_duration(fourth),
                    }],
                );
            if let Some(r) = &own_retry {
                d = d.with_secondary(r.loc, "the first retry waits this long");
            }
            out.push(d);
        }
        (_, Some(r)) if !cx.is_stdlib(r.loc) => {
            out.push(
                RULE.diagnostic(
                    cx,
                    message,
                    r.loc,
                    format!("only {attempts} fit in `max_age` {age_text}"),
                )
                .with_help(help),
            );
        }
        _ => {}
    }
}

/// Times in the largest unit that divides them all (`0, 20m, 60m, 140m`).
fn in_one_unit(times: &[u64]) -> String {
    let units: [(&str, u64); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let (unit, size) = units
        .iter()
        .copied()
        .find(|(_, size)| times.iter().all(|t| t % size == 0))
        .unwrap_or(("ms", 1));
    times
        .iter()
        .map(|t| {
            if *t == 0 {
                "0".to_string()
            } else {
                format!("{}{unit}", t / size.max(1))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
