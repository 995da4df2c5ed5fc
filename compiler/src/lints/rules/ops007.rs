//! KUMO-OPS007 deferred-spool: the SMTP listener acknowledges mail before spooling it.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports `deferred_spool = true` on the SMTP listener.
    ///
    /// ## Why is this bad?
    /// With `deferred_spool` kumod answers `250 OK` before the message is written to the
    /// spool, keeping it only in memory. A crash, an OOM kill, a node failure or a pod
    /// killed at the end of its grace period then loses mail the injector believes was
    /// accepted: KumoMTA's documentation warns it "may result in loss of accountability for
    /// messages". On Kubernetes, where pods are rescheduled routinely, that risk is
    /// constant. The seed chart shipped with it on.
    ///
    /// ## Example
    /// ```kumo
    /// smtp_listener {
    ///   deferred_spool = true
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// smtp_listener {
    ///   deferred_spool = false // the default: spool, then acknowledge
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `deferred_spool = false`. It is unsafe: every message is written to disk
    /// before it is acknowledged, which lowers the injection rate the MTA can take. To keep
    /// deferred spooling knowingly, suppress the warning with a reason.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/start_esmtp_listener/deferred_spool/>
    pub static RULE = {
        code: "KUMO-OPS007",
        name: "deferred-spool",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The SMTP listener acknowledges mail before spooling it",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(b) = util::boolean(&cx.model.smtp_listener, "deferred_spool") else {
        return;
    };
    if !b.value || cx.is_stdlib(b.loc) {
        return;
    }
    out.push(
        RULE.diagnostic(cx, "`deferred_spool` acknowledges mail before it is spooled: a pod restart loses it", b.loc, "accepted mail may be lost")
            .with_help("remove `deferred_spool`, or suppress this warning with the reason the risk is acceptable")
            .with_fix("spool before acknowledging", Applicability::Unsafe, vec![Edit { loc: b.loc, replacement: "false".to_string() }]),
    );
}
