//! KUMO-QUE003 max-age-long-or-implicit: `max_age` above 7 days, or left to the default in production.

use kumoc_lang::units::format_duration;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Settings, ShapingKey};
use crate::schema;
use crate::value::Typed;

declare_rule! {
    /// ## What it does
    /// Reports:
    ///
    /// - a `max_age` you wrote above 7 days, in any queue, tenant or campaign block;
    /// - in production, a `queue default` without `max_age` (or no `queue default` at
    ///   all), so KumoMTA's 7-day default applies without anyone having chosen it.
    ///
    /// ## Why is this bad?
    /// `max_age` decides how long undeliverable mail sits in the spool before it bounces.
    /// Beyond a few days, retries rarely succeed, senders learn of the failure too late,
    /// and the spool (a fixed-size volume per pod, see KUMO-K8S010) keeps growing while a
    /// destination is down. In production the retention of mail is a decision to make and
    /// write down, not a default to inherit by accident.
    ///
    /// ## Example
    /// ```kumo
    /// queue default {
    ///   max_age = 14d
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// queue default {
    ///   max_age = 3d
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// For a value above 7 days, the fix lowers it to 7d; mail then bounces sooner, so it
    /// is unsafe. For a missing `max_age` in production, the fix writes `max_age = 7d` into
    /// `queue default`: that is the value KumoMTA already uses, so it is safe.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/max_age/>
    /// - <https://docs.kumomta.com/userguide/configuration/queuemanagement/>
    pub static RULE = {
        code: "KUMO-QUE003",
        name: "max-age-long-or-implicit",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "max_age above 7 days, or unset in production's `queue default`",
        kind: Kind::Check(check),
    };
}

const WEEK: u64 = 7 * 24 * 3_600_000;

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    // Each scope is checked as it is found (not collected: one per queue).
    let mut visit = |what: util::What<'_>, s: &Settings| {
        let Some(age) = util::duration(s, "max_age") else {
            return;
        };
        if age.value <= WEEK || cx.is_stdlib(age.loc) {
            return;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "`max_age = {}` in {what} keeps undeliverable mail in the spool for more than 7 days",
                    format_duration(age.value)
                ),
                age.loc,
                "more than 7 days",
            )
            .with_help("a few days is usual: mail that cannot be delivered in that time rarely will be, and the sender should know")
            .with_fix(
                "use 7d",
                Applicability::Unsafe,
                vec![Edit {
                    loc: age.loc,
                    replacement: "7d".to_string(),
                }],
            ),
        );
    };
    for q in &m.queues {
        let what = util::queue_what(&q.key);
        visit(what, &q.settings);
        for t in &q.tenants {
            visit(what.inner("tenant `", &t.name, "`"), &t.settings);
            let tenant = util::What::named("tenant `", &t.name, "`");
            for c in &t.campaigns {
                visit(tenant.inner("campaign `", &c.name, "`"), &c.settings);
            }
        }
    }
    for t in &m.tenants {
        let tenant = util::What::named("tenant `", &t.name, "`");
        visit(tenant, &t.settings);
        for c in &t.campaigns {
            visit(tenant.inner("campaign `", &c.name, "`"), &c.settings);
        }
    }
    if !cx.production() {
        return;
    }
    // KumoMTA's default, as the schema states it (`7d`), and in days for the message.
    let Some(kumo) = schema::QUEUE
        .field("max_age")
        .and_then(|f| f.default_text())
    else {
        return;
    };
    let Some(days) = util::default_of(&schema::QUEUE, "max_age", Typed::as_duration_ms)
        .map(|ms| ms / 86_400_000)
    else {
        return;
    };
    let default = m.queues.iter().find(|q| q.key == ShapingKey::Default);
    match default {
        Some(q) if !q.settings.contains_key("max_age") => {
            if cx.is_stdlib(q.loc) {
                return;
            }
            let mut d = RULE
                .diagnostic(
                    cx,
                    format!("`queue default` has no `max_age`: production mail is kept for KumoMTA's default of {days} days"),
                    q.loc,
                    "no `max_age` here",
                )
                .with_help(format!("choose how long mail may wait, e.g. `max_age = 3d`, or write `max_age = {kumo}` to keep the default"));
            if let Some(edit) =
                util::insert_after_brace(cx, q.loc, &format!("\n  max_age = {kumo}"))
            {
                d = d.with_fix(
                    format!("write the default, `max_age = {kumo}`"),
                    Applicability::Safe,
                    vec![edit],
                );
            }
            out.push(d);
        }
        Some(_) => {}
        None => {
            let at = m.environment.loc;
            if cx.is_stdlib(at) {
                return;
            }
            out.push(
                RULE.diagnostic(
                    cx,
                    format!("no `queue default` with `max_age`: production mail is kept for KumoMTA's default of {days} days"),
                    at,
                    "production",
                )
                .with_help("add `queue default { max_age = 3d }` (or the retention you choose)"),
            );
        }
    }
}
