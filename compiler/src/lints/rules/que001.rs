//! KUMO-QUE001 retry-cap-below-base: `max_retry_interval` below `retry_interval`.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::Settings;

declare_rule! {
    /// ## What it does
    /// Reports a queue, tenant or campaign whose `max_retry_interval` is shorter than its
    /// `retry_interval`.
    ///
    /// ## Why is this bad?
    /// The retry delay starts at `retry_interval` and doubles; `max_retry_interval` caps it.
    /// A cap below the base means the base is never used: every retry waits the cap, which is
    /// almost always the two values swapped by mistake.
    ///
    /// ## Example
    /// ```kumo
    /// queue default {
    ///   retry_interval     = 4h
    ///   max_retry_interval = 20m
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// queue default {
    ///   retry_interval     = 20m
    ///   max_retry_interval = 4h
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix swaps the two values. It is safe when they were swapped by mistake, which the
    /// rule assumes; it changes the retry schedule, so it is marked unsafe.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/retry_interval/>
    /// - <https://docs.kumomta.com/reference/kumo/make_queue_config/max_retry_interval/>
    pub static RULE = {
        code: "KUMO-QUE001",
        name: "retry-cap-below-base",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "max_retry_interval is shorter than retry_interval",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let mut all: Vec<&Settings> = Vec::new();
    for q in &m.queues {
        all.push(&q.settings);
        for t in &q.tenants {
            all.push(&t.settings);
            all.extend(t.campaigns.iter().map(|c| &c.settings));
        }
    }
    for t in &m.tenants {
        all.push(&t.settings);
    }
    for s in all {
        let (Some(base), Some(cap)) = (
            util::duration(s, "retry_interval"),
            util::duration(s, "max_retry_interval"),
        ) else {
            continue;
        };
        if cap.value >= base.value || cx.is_stdlib(cap.loc) {
            continue;
        }
        let (base_text, cap_text) = (cx.text(base.loc).to_string(), cx.text(cap.loc).to_string());
        out.push(
            RULE.diagnostic(cx, format!("`max_retry_interval` ({cap_text}) is shorter than `retry_interval` ({base_text})"), cap.loc, "the cap is below the base")
                .with_secondary(base.loc, "the first retry waits this long")
                .with_help("the values look swapped: the base delay goes in `retry_interval`, the cap in `max_retry_interval`")
                .with_fix(
                    "swap the two values",
                    Applicability::Unsafe,
                    vec![Edit { loc: base.loc, replacement: cap_text.clone() }, Edit { loc: cap.loc, replacement: base_text.clone() }],
                ),
        );
    }
}
