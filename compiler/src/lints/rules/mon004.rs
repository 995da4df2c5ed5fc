//! KUMO-MON004 disk-alert-after-refusal: a disk alert that fires only once KumoMTA refuses mail.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

/// KumoMTA's default minimum of free space and inodes below which it stops accepting mail
/// (`MinFree::default`, `crates/kumo-server-common/src/disk_space.rs`).
const KUMOMTA_MIN_FREE: u8 = 10;

declare_rule! {
    /// ## What it does
    /// Reports `alerts { spool_free = N% }` with N at or below 10% (and above 0%, which
    /// KUMO-MON001 reports).
    ///
    /// ## Why is this bad?
    /// KumoMTA watches the free space and inodes of its spools and logs and, below 10% free
    /// (its default `min_free_space` and `min_free_inodes`), stops accepting mail: the
    /// listeners answer with a transient failure. An alert at or below that level fires
    /// only once injection is already failing, instead of warning before.
    ///
    /// ## Example
    /// ```kumo
    /// alerts { spool_free = 5% }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// alerts { spool_free = 20% }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `20%` (kumoc's default). It is unsafe: it makes the alert fire earlier.
    ///
    /// ## References
    /// - `MinFree` in KumoCorp/kumomta `crates/kumo-server-common/src/disk_space.rs`
    pub static RULE = {
        code: "KUMO-MON004",
        name: "disk-alert-after-refusal",
        severity: Warning,
        since: "0.2.0",
        priority: "P1",
        summary: "A disk alert that fires only once KumoMTA already refuses mail",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(a) = &cx.model.cluster.metrics.alerts else {
        return;
    };
    let v = &a.spool_free;
    if v.value == 0 || v.value > KUMOMTA_MIN_FREE || cx.is_stdlib(v.loc) {
        return;
    }
    let default = crate::schema::ALERTS
        .field("spool_free")
        .and_then(|f| f.default)
        .and_then(|d| d.lit())
        .map(|l| l.to_kumo());
    let d = RULE
        .diagnostic(
            cx,
            format!("`spool_free = {}%` fires only once KumoMTA refuses mail (below {KUMOMTA_MIN_FREE}% free)", v.value),
            v.loc,
            "at or below KumoMTA's own limit",
        )
        .with_help("alert before KumoMTA stops accepting mail: above 10%, e.g. `20%`");
    out.push(match (default, cx.text(v.loc).ends_with('%')) {
        (Some(text), true) => d.with_fix(
            "alert at kumoc's default",
            Applicability::Unsafe,
            vec![Edit {
                loc: v.loc,
                replacement: text,
            }],
        ),
        _ => d,
    });
}
