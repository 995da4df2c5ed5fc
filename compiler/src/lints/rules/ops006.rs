//! KUMO-OPS006 debug-log-filter: the diagnostic log filter enables debug or trace.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports a `logging { filter }` that enables the `debug` or `trace` level for any
    /// target (`kumod=debug`, `trace`, `lua=info,kumod=trace`, ...).
    ///
    /// kumoc writes the filter into the policy; a `KUMOD_LOG` variable set outside kumoc is
    /// not visible to it.
    ///
    /// ## Why is this bad?
    /// At debug or trace kumod logs every SMTP exchange and policy step. KumoMTA's
    /// troubleshooting guide warns these levels "should not be enabled permanently as they
    /// can lead to a full disk", and in a pod the log volume shares the node's disk and
    /// drowns the cluster's log pipeline. Turn them on for a while with
    /// `kcli set-log-filter`, which needs no redeploy and does not outlive the pod.
    ///
    /// ## Example
    /// ```kumo
    /// logging {
    ///   filter = "kumod=debug"
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// logging {
    ///   filter = "kumod=info" // debug on demand: kcli set-log-filter 'kumod=debug'
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix lowers every `debug` and `trace` directive to `info`, keeping the targets.
    /// It is unsafe: it removes logs someone may be using to investigate a problem.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/operation/troubleshooting/>
    /// - <https://docs.kumomta.com/reference/kumo/set_diagnostic_log_filter/>
    pub static RULE = {
        code: "KUMO-OPS006",
        name: "debug-log-filter",
        severity: Warning,
        priority: "P1",
        summary: "The diagnostic log filter enables debug or trace",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(filter) = util::string(&cx.model.logging, "filter") else {
        return;
    };
    if cx.is_stdlib(filter.loc) {
        return;
    }
    let verbose: Vec<&str> = filter
        .value
        .split(',')
        .map(str::trim)
        .filter(|d| is_verbose(d))
        .collect();
    if verbose.is_empty() {
        return;
    }
    let fixed: Vec<String> = filter
        .value
        .split(',')
        .map(|d| match (is_verbose(d), d.rfind('=')) {
            (true, Some(eq)) => format!("{}=info", d.get(..eq).unwrap_or("").trim()),
            (true, None) => "info".to_string(),
            (false, _) => d.trim().to_string(),
        })
        .collect();
    let shown: Vec<String> = verbose.iter().map(|d| format!("`{d}`")).collect();
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "the log filter enables {} permanently: debug and trace logs fill disks",
                shown.join(", ")
            ),
            filter.loc,
            "debug or trace",
        )
        .with_help("log at `info` and raise the level on demand with `kcli set-log-filter`")
        .with_fix(
            "log at info",
            Applicability::Unsafe,
            vec![Edit {
                loc: filter.loc,
                replacement: format!("{:?}", fixed.join(",")),
            }],
        ),
    );
}

/// A filter directive (`target=level`, `target[span]=level` or a bare level) at debug or
/// trace.
fn is_verbose(directive: &str) -> bool {
    let level = directive.rsplit('=').next().unwrap_or("").trim();
    level.eq_ignore_ascii_case("debug") || level.eq_ignore_ascii_case("trace")
}
