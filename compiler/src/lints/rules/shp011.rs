//! KUMO-SHP011 warmup-ramp-too-steep: a warm-up ramp more than doubles from one day to the next.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a day of a `warmup` ramp whose volume is more than twice the day before's.
    ///
    /// ## Why is this bad?
    /// Mailbox providers judge a new IP by how its volume grows: the usual guidance is to
    /// at most double it from one day to the next, holding a step for longer when
    /// deferrals or complaints appear. A steeper jump looks like a snowshoe spammer's fresh
    /// address and earns deferrals, throttling or blocks that take weeks to undo.
    ///
    /// ## Example
    /// ```kumo
    /// source ip-2 {
    ///   warmup {
    ///     start = "2026-12-01"
    ///     ramp  = [500, 1000, 5000, 50000]
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// source ip-2 {
    ///   warmup {
    ///     start = "2026-12-01"
    ///     ramp  = [500, 1000, 2000, 4000, 8000, 16000, 32000, 50000]
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// No fix: how to spread the ramp (more days, smaller steps) is your call.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/source_selection_rate/>
    /// - <https://www.m3aawg.org/sites/default/files/m3aawg_managing-ip-warming-2016-01.pdf>
    pub static RULE = {
        code: "KUMO-SHP011",
        name: "warmup-ramp-too-steep",
        severity: Warning,
        since: "0.2.0",
        priority: "P2",
        summary: "A warm-up ramp more than doubles from one day to the next",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let mut reported = std::collections::BTreeSet::new();
    for w in &cx.model.warmups {
        // A pool's schedule is shared by its members: report it once.
        if !reported.insert((w.loc.file, w.loc.span.start)) {
            continue;
        }
        for (day, pair) in w.ramp.windows(2).enumerate() {
            let (before, after) = (&pair[0], &pair[1]);
            if after.value > before.value.saturating_mul(2) {
                out.push(
                    RULE.diagnostic(
                        cx,
                        format!(
                            "the warm-up goes from {} to {} messages on day {}: more than twice the day before",
                            before.value,
                            after.value,
                            day + 1
                        ),
                        after.loc,
                        format!("at most {} (×2)", before.value.saturating_mul(2)),
                    )
                    .with_help("at most double the volume from one day to the next; add days to reach the target"),
                );
            }
        }
    }
}
