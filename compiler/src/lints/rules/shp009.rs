//! KUMO-SHP009 max-ready-mismatch: `max_ready` below two seconds of the rate, or above what the MTA pod's memory holds.

use kumoc_lang::units::Rate;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Settings, ShapingKey};
use crate::schema;
use crate::source::Loc;
use crate::value::{Spanned, Typed};

declare_rule! {
    /// ## What it does
    /// For each shaping scope (`shaping default`, `shaping "domain"`, `provider`, and their
    /// `source` overrides) that sets `max_ready` or `max_message_rate` itself, takes the
    /// values that apply there (its own, else its block's for a `source` override, else
    /// `shaping default`'s, else KumoMTA's default `max_ready` of 1024) and sizes
    /// `max_ready` between two bounds:
    ///
    /// - **from the rate**, at least `need` = 2 × the per-second `max_message_rate`, rounded
    ///   up: two seconds of the ready queue's own throughput (KumoMTA's FAQ: "around 2000 for
    ///   a queue that sustains 1000/s");
    /// - **from the pod's memory**, at most `cap` = ⌊0.6 × M ÷ (100 KB × S × D)⌋, where
    ///   - M is the MTA's memory limit (else its memory request). kumod takes 75 % of its
    ///     cgroup limit as its soft limit and starts shrinking messages out of memory at 80 %
    ///     of that, so 0.6 × M is what ready queues may hold before kumod works against them;
    ///   - 100 KB is the average message size of KumoMTA's memory FAQ ("RAM per ready queue ≈
    ///     max_ready × average message size");
    ///   - S is the number of egress sources a destination is sent from: each source has its
    ///     own ready queue per destination (the largest pool's size; 1 for a `source`
    ///     override);
    ///   - D is how many destinations the scope's budget is shared by: 10 for
    ///     `shaping default`, which applies to every destination (ten of them backing up at
    ///     once must fit), 2 for a domain or provider block (one destination may take half).
    ///
    /// It reports `max_ready` below `need`, `max_ready` (yours) above `cap`, and a rate whose
    /// `need` is above `cap`: no `max_ready` fits, the pod needs more memory. It reports the
    /// value you wrote: `max_ready` when it is yours, otherwise the `max_message_rate` that
    /// needs more room. Values only from the stdlib are not reported. Without a memory limit
    /// or request on the MTA only the lower bound is checked (KUMO-K8S003 asks for them).
    ///
    /// ## Why is this bad?
    /// The ready queue holds the messages about to be delivered. When it is smaller than
    /// what the rate lets through in a couple of seconds, the scheduled queue keeps finding
    /// it full: messages are delayed with `ReadyQueueWasFull` and the configured rate is
    /// never reached. In the other direction, message bodies stay in memory while they wait
    /// in a ready queue, one queue per source and destination: when a destination stalls
    /// (throttling, a suspension) its queues fill to `max_ready`, and beyond the pod's memory
    /// budget kumod sheds load, rejecting new mail, or the pod is OOM-killed.
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
    /// When `max_ready` is yours, the fix sets it to the hint: `need` when it is too small,
    /// `cap` rounded down to two significant digits (never below `need`) when it is too
    /// large. Either changes how much mail is held in memory, so it is unsafe. When the rate
    /// needs more than the memory allows there is no fix: raise the MTA's memory, or set the
    /// high rate only in the blocks of the destinations that need it.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/faq/ready_queue_was_full/>
    /// - <https://docs.kumomta.com/faq/high_memory_usage/>
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/max_ready/>
    /// - <https://docs.kumomta.com/reference/memory/> and `crates/kumo-server-memory/src/lib.rs`
    ///   (soft limit 75 % of the cgroup limit, low-memory threshold 80 % of the soft limit)
    pub static RULE = {
        code: "KUMO-SHP009",
        name: "max-ready-mismatch",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "max_ready below two seconds of the message rate, or above what the MTA pod's memory holds",
        kind: Kind::Check(check),
    };
}

/// The average message size of KumoMTA's memory FAQ.
const MESSAGE_BYTES: u64 = 100_000;
/// What ready queues may hold before kumod shrinks messages: 80 % of its soft limit, which
/// is 75 % of the cgroup limit (`crates/kumo-server-memory/src/lib.rs`).
const BUDGET_PERCENT: u64 = 60;
/// Destinations sharing `shaping default`'s budget, and a domain or provider block's.
const DEFAULT_DESTINATIONS: u64 = 10;
const BLOCK_DESTINATIONS: u64 = 2;

/// Twice the per-second rate, rounded up.
fn needed(r: &Rate) -> i64 {
    let period = r.period_secs.max(1);
    let n = r.limit.saturating_mul(2).div_ceil(period);
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The MTA pod's memory figure: its limit, else its request, with what it is.
struct Memory {
    bytes: u64,
    what: &'static str,
}

impl Memory {
    fn of(cx: &LintContext<'_>) -> Option<Self> {
        let r = &cx.model.cluster.mta.resources;
        match (r.limits_memory, r.requests_memory) {
            (Some(bytes), _) => Some(Memory {
                bytes,
                what: "memory limit",
            }),
            (None, Some(bytes)) => Some(Memory {
                bytes,
                what: "memory request",
            }),
            (None, None) => None,
        }
    }
    fn shown(&self) -> String {
        format!(
            "the MTA's {} {}",
            kumoc_lang::units::format_size(self.bytes),
            self.what
        )
    }
}

/// The largest `max_ready` whose ready queues (`queues` of them, messages of
/// `MESSAGE_BYTES`) fit in the budget of `memory`.
fn cap(memory: &Memory, queues: u64) -> i64 {
    let budget = memory.bytes / 100 * BUDGET_PERCENT;
    i64::try_from(budget / MESSAGE_BYTES.saturating_mul(queues.max(1))).unwrap_or(i64::MAX)
}

/// The memory limit that lets `queues` ready queues of `max_ready` messages fit, in Gi.
fn memory_for(max_ready: i64, queues: u64) -> String {
    let bytes = u64::try_from(max_ready)
        .unwrap_or(0)
        .saturating_mul(MESSAGE_BYTES)
        .saturating_mul(queues)
        / BUDGET_PERCENT
        * 100;
    let gib = bytes.div_ceil(1024 * 1024 * 1024).max(1);
    format!("{gib}Gi")
}

/// `n` rounded down to two significant digits (2577 → 2500), never below `floor`.
fn round_down(n: i64, floor: i64) -> i64 {
    let mut unit = 1i64;
    while n / unit >= 100 {
        unit = unit.saturating_mul(10);
    }
    (n / unit * unit).max(floor)
}

struct Scope<'a> {
    what: util::What<'a>,
    own: &'a Settings,
    /// The scopes it inherits from, nearest first.
    parents: [Option<&'a Settings>; 2],
    /// Ready queues sharing this scope's memory budget: sources × destinations.
    queues: u64,
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let default = m
        .shaping
        .iter()
        .find(|b| b.key == ShapingKey::Default)
        .map(|b| &b.shaping.settings);
    // Each source has its own ready queue per destination: the largest pool's sources.
    let sources = m
        .pools
        .iter()
        .map(|p| p.members.len())
        .max()
        .unwrap_or(1)
        .max(1) as u64;
    let memory = Memory::of(cx);
    // KumoMTA's, where it is unset: read from the schema once.
    let kumo_ready = util::default_of(&schema::SHAPING, "max_ready", Typed::as_int);
    // Each scope is checked as it is found (not collected: one per shaping block).
    let mut visit = |scope: Scope<'_>| check_scope(cx, &scope, memory.as_ref(), kumo_ready, out);
    for b in &m.shaping {
        let is_default = b.key == ShapingKey::Default;
        let what = util::shaping_what(&b.key);
        let destinations = if is_default {
            DEFAULT_DESTINATIONS
        } else {
            BLOCK_DESTINATIONS
        };
        let up = if is_default { None } else { default };
        visit(Scope {
            what,
            own: &b.shaping.settings,
            parents: [up, None],
            queues: sources * destinations,
        });
        for s in &b.shaping.sources {
            visit(Scope {
                what: what.inner("source `", &s.name, "`"),
                own: &s.settings,
                parents: [Some(&b.shaping.settings), up],
                queues: destinations,
            });
        }
    }
    for p in &m.providers {
        let what = util::provider_what(&p.name);
        visit(Scope {
            what,
            own: &p.shaping.settings,
            parents: [default, None],
            queues: sources * BLOCK_DESTINATIONS,
        });
        for s in &p.shaping.sources {
            visit(Scope {
                what: what.inner("source `", &s.name, "`"),
                own: &s.settings,
                parents: [Some(&p.shaping.settings), default],
                queues: BLOCK_DESTINATIONS,
            });
        }
    }
}

fn check_scope(
    cx: &LintContext<'_>,
    scope: &Scope<'_>,
    memory: Option<&Memory>,
    kumo_ready: Option<i64>,
    out: &mut Vec<Diagnostic>,
) {
    let own_ready = util::int(scope.own, "max_ready");
    let own_rate = util::rate(scope.own, "max_message_rate");
    if own_ready.is_none() && own_rate.is_none() {
        return;
    }
    let ready: Option<Spanned<i64>> = own_ready.clone().or_else(|| {
        scope
            .parents
            .iter()
            .flatten()
            .find_map(|s| util::int(s, "max_ready"))
    });
    let rate: Option<Spanned<Rate>> = own_rate.clone().or_else(|| {
        scope
            .parents
            .iter()
            .flatten()
            .find_map(|s| util::rate(s, "max_message_rate"))
    });
    let need = rate.as_ref().map_or(0, |r| needed(&r.value));
    // Unset, it is KumoMTA's default.
    let Some(have) = ready.as_ref().map(|r| r.value).or(kumo_ready) else {
        return;
    };
    let cap = memory.map(|m| cap(m, scope.queues));
    let mine = |loc: Loc| !cx.is_stdlib(loc);
    // Formatted when reported only.
    let have_text = || match &ready {
        Some(r) if cx.is_stdlib(r.loc) => format!("{have} (stdlib)"),
        Some(_) => have.to_string(),
        None => format!("{have} (KumoMTA's default)"),
    };
    // No max_ready fits: two seconds of the rate need more memory than the pod has.
    if let (Some(rate), Some(cap), Some(memory)) = (&rate, cap, memory) {
        if need > cap && (have < need || have > cap) {
            let at = match (&own_ready, &own_rate) {
                (_, Some(q)) if mine(q.loc) => q.loc,
                (Some(r), _) if mine(r.loc) => r.loc,
                _ => return,
            };
            let mut d = RULE
                .diagnostic(
                    cx,
                    format!(
                        "`max_message_rate = {}` in {} needs `max_ready` ≥ {need}, but {} holds ready queues of at most {cap} messages here",
                        cx.text(rate.loc),
                        scope.what,
                        memory.shown()
                    ),
                    at,
                    format!("needs {need}, memory fits {cap}"),
                )
                .with_help(format!(
                    "give the MTA pods a memory limit of at least {} ({} ready queues of {need} messages of 100 KB within 60% of it), or set this rate only for the destinations that need it",
                    memory_for(need, scope.queues),
                    scope.queues
                ));
            if at != rate.loc {
                d = d.with_secondary(rate.loc, "this rate");
            }
            out.push(d);
            return;
        }
    }
    let help = "size the ready queue for at least two seconds of the rate; raise it only for your busiest destinations";
    if have < need {
        let Some(rate) = &rate else { return };
        let rate_text = cx.text(rate.loc).to_string();
        let message = format!(
            "`max_ready = {}` in {} holds less than 2 seconds of `max_message_rate = {rate_text}` (needs {need})",
            have_text(),
            scope.what
        );
        match (&own_ready, &own_rate) {
            (Some(r), _) if mine(r.loc) => {
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
            (_, Some(q)) if mine(q.loc) => {
                let mut d = RULE
                    .diagnostic(cx, message, q.loc, format!("needs `max_ready` ≥ {need}"))
                    .with_help(format!(
                        "{help}: add `max_ready = {need}` to {}",
                        scope.what
                    ));
                if let Some(r) = &ready {
                    if mine(r.loc) {
                        d = d.with_secondary(r.loc, "`max_ready` comes from here");
                    }
                }
                out.push(d);
            }
            _ => {}
        }
        return;
    }
    // Too large for the pod's memory: only a max_ready written here, by the user.
    let (Some(cap), Some(memory), Some(r)) = (cap, memory, &own_ready) else {
        return;
    };
    if have <= cap || !mine(r.loc) {
        return;
    }
    let hint = round_down(cap, need);
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "`max_ready = {have}` in {} lets its {} ready queues hold more messages than {} can keep in memory (at most {cap} each)",
                scope.what,
                scope.queues,
                memory.shown()
            ),
            r.loc,
            format!("above {cap} for this pod's memory"),
        )
        .with_help(format!(
            "at 100 KB a message, {} ready queues of {have} need a memory limit of {}; lower `max_ready`, or raise it only in the blocks of your busiest destinations",
            scope.queues,
            memory_for(have, scope.queues)
        ))
        .with_fix(
            format!("lower `max_ready` to {hint}"),
            Applicability::Unsafe,
            vec![Edit {
                loc: r.loc,
                replacement: hint.to_string(),
            }],
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::{Memory, cap, memory_for, round_down};

    #[test]
    fn memory_bounds() {
        let four_gi = Memory {
            bytes: 4 << 30,
            what: "memory limit",
        };
        // 60 % of 4 GiB over 10 queues of 100 KB messages.
        assert_eq!(cap(&four_gi, 10), 2576);
        assert_eq!(cap(&four_gi, 2), 12884);
        assert_eq!(round_down(2576, 0), 2500);
        assert_eq!(round_down(2576, 2560), 2560);
        assert_eq!(round_down(99, 0), 99);
        // The memory that holds what the cap allows is the memory it came from.
        assert_eq!(memory_for(2576, 10), "4Gi");
        assert_eq!(memory_for(20_000, 10), "32Gi");
    }
}
