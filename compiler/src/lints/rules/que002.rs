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
    what: String,
    own: &'a Settings,
    parents: Vec<&'a Settings>,
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let default = m
        .queues
        .iter()
        .find(|q| q.key == ShapingKey::Default)
        .map(|q| &q.settings);
    let base: Vec<&Settings> = default.into_iter().collect();
    let mut scopes: Vec<Scope<'_>> = Vec::new();
    for q in &m.queues {
        let is_default = q.key == ShapingKey::Default;
        let what = if is_default {
            "`queue default`".to_string()
        } else {
            format!("`queue \"{}\"`", q.key.as_str())
        };
        let up: Vec<&Settings> = if is_default { Vec::new() } else { base.clone() };
        scopes.push(Scope {
            what: what.clone(),
            own: &q.settings,
            parents: up.clone(),
        });
        for t in &q.tenants {
            let mut parents = vec![&q.settings];
            parents.extend(up.iter().copied());
            let twhat = format!("tenant `{}` of {what}", t.name);
            scopes.push(Scope {
                what: twhat.clone(),
                own: &t.settings,
                parents: parents.clone(),
            });
            for c in &t.campaigns {
                let mut cparents = vec![&t.settings];
                cparents.extend(parents.iter().copied());
                scopes.push(Scope {
                    what: format!("campaign `{}` of {twhat}", c.name),
                    own: &c.settings,
                    parents: cparents,
                });
            }
        }
    }
    for t in &m.tenants {
        let what = format!("tenant `{}`", t.name);
        scopes.push(Scope {
            what: what.clone(),
            own: &t.settings,
            parents: base.clone(),
        });
        for c in &t.campaigns {
            let mut parents = vec![&t.settings];
            parents.extend(base.iter().copied());
            scopes.push(Scope {
                what: format!("campaign `{}` of {what}", c.name),
                own: &c.settings,
                parents,
            });
        }
    }
    for s in &scopes {
        check_scope(cx, s, out);
    }
}

fn lookup(scope: &Scope<'_>, name: &str) -> Option<Spanned<u64>> {
    util::duration(scope.own, name)
        .or_else(|| scope.parents.iter().find_map(|s| util::duration(s, name)))
}

/// Attempt times (ms) from 0 up to and including the first at or after `until`.
fn schedule(retry: u64, cap: Option<u64>, until: u64) -> Vec<u64> {
    let mut times = vec![0u64];
    let mut at = 0u64;
    let mut delay = retry;
    while at < until && times.len() < 64 {
        let wait = cap.map_or(delay, |c| delay.min(c));
        at = at.saturating_add(wait);
        times.push(at);
        delay = delay.saturating_mul(2);
    }
    times
}

fn check_scope(cx: &LintContext<'_>, scope: &Scope<'_>, out: &mut Vec<Diagnostic>) {
    let own_age = util::duration(scope.own, "max_age");
    let own_retry = util::duration(scope.own, "retry_interval");
    let own_cap = util::duration(scope.own, "max_retry_interval");
    if own_age.is_none() && own_retry.is_none() && own_cap.is_none() {
        return;
    }
    // Unset, they are KumoMTA's defaults.
    let kumo = |name| util::default_of(&schema::QUEUE, name, Typed::as_duration_ms);
    let (Some(age), Some(retry)) = (
        lookup(scope, "max_age")
            .map(|a| a.value)
            .or_else(|| kumo("max_age")),
        lookup(scope, "retry_interval")
            .map(|r| r.value)
            .or_else(|| kumo("retry_interval")),
    ) else {
        return;
    };
    let cap = lookup(scope, "max_retry_interval").map(|c| c.value);
    if retry == 0 {
        return;
    }
    // Enough attempts to show the schedule up to the fourth, and past max_age.
    let times = schedule(retry, cap, age.max(1));
    let before = times.iter().filter(|t| **t < age).count();
    if before >= MIN_ATTEMPTS {
        return;
    }
    let mut shown: Vec<u64> = schedule(retry, cap, u64::MAX)
        .into_iter()
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
