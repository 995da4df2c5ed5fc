//! KUMO-OPS006 debug-log-filter: the diagnostic log filter enables debug or trace.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports a `logging { filter }` that enables the `debug` or `trace` level for any
    /// target, however the level is written. The filter is a tracing `EnvFilter` (as
    /// tracing-subscriber parses it): comma-separated directives, each
    ///
    /// - a level alone, for every target: `debug`, `TRACE`, or a number, `0` (off) to `5`
    ///   (trace), so `4` is debug;
    /// - a target and/or `[span{field}]` with `=level`: `kumod=debug`, `kumod=4`,
    ///   `lua[init]=trace`;
    /// - a target without a level: `kumod`, `kumod=`, `[span]`. This enables *every* level
    ///   for it, trace included.
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
    ///   filter = "kumod=4,lua" // debug for kumod, and every level (trace) for lua
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
    /// The fix sets every verbose directive to `info`, keeping its target (`kumod=4` and
    /// `kumod` become `kumod=info`, `debug` becomes `info`). It is unsafe: it removes logs
    /// someone may be using to investigate a problem.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/operation/troubleshooting/>
    /// - <https://docs.kumomta.com/reference/kumo/set_diagnostic_log_filter/>
    /// - tracing-subscriber's directive grammar: `tracing-subscriber/src/filter/env/directive.rs`
    ///   ("Setting the target without the level enables every level for that target") and
    ///   tracing-core's `LevelFilter::from_str` (numbers 0 to 5)
    pub static RULE = {
        code: "KUMO-OPS006",
        name: "debug-log-filter",
        severity: Warning,
        since: "0.1.0",
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
    let verbose: Vec<String> = filter
        .value
        .split(',')
        .map(str::trim)
        .filter_map(|d| describe_verbose(d).map(|why| format!("`{d}`{why}")))
        .collect();
    if verbose.is_empty() {
        return;
    }
    let fixed: Vec<String> = filter
        .value
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(lowered)
        .collect();
    out.push(
        RULE.diagnostic(
            cx,
            format!(
                "the log filter enables {} permanently: debug and trace logs fill disks",
                verbose.join(", ")
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

/// A level as tracing-core's `LevelFilter::from_str` reads it (case-insensitive names, or
/// `0` off to `5` trace), as a number from 0 (off) to 5 (trace).
fn level(s: &str) -> Option<u8> {
    Some(match s.to_ascii_lowercase().as_str() {
        "off" | "0" => 0,
        "error" | "1" => 1,
        "warn" | "2" => 2,
        "info" | "3" => 3,
        "debug" | "4" => 4,
        "trace" | "5" => 5,
        _ => return None,
    })
}

/// Where the `=level` of a directive starts: the last `=` outside `[...]` (a span's fields
/// may hold `=` too).
fn level_sep(directive: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = None;
    for (i, c) in directive.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '=' if depth == 0 => at = Some(i),
            _ => {}
        }
    }
    at
}

/// The level a directive enables (tracing-subscriber's `Directive::parse`): a lone level
/// applies to every target; a target or span without a level, or with an empty one, enables
/// every level (trace). `None` when it is not a directive (the checker reports those).
fn directive_level(directive: &str) -> Option<u8> {
    if let Some(l) = level(directive) {
        return Some(l);
    }
    match level_sep(directive) {
        Some(eq) => match directive.get(eq + 1..).unwrap_or("") {
            "" => Some(5),
            l => level(l),
        },
        None => Some(5),
    }
}

/// Why a directive is verbose (an explanation when the level is not spelled out), or
/// `None` when it enables neither debug nor trace.
fn describe_verbose(directive: &str) -> Option<&'static str> {
    if directive.is_empty() || directive_level(directive)? < 4 {
        return None;
    }
    let spelled = match level_sep(directive) {
        Some(eq) => directive.get(eq + 1..).unwrap_or(""),
        None => directive,
    };
    Some(match spelled.to_ascii_lowercase().as_str() {
        "debug" | "trace" => "",
        "4" => " (debug)",
        "5" => " (trace)",
        _ => " (no level: every level, trace included)",
    })
}

/// The directive at `info`, for the same targets.
fn lowered(directive: &str) -> String {
    if describe_verbose(directive).is_none() {
        return directive.to_string();
    }
    if level(directive).is_some() {
        return "info".to_string();
    }
    match level_sep(directive) {
        Some(eq) => format!("{}=info", directive.get(..eq).unwrap_or("")),
        None => format!("{directive}=info"),
    }
}

#[cfg(test)]
mod tests {
    use super::{directive_level, lowered};

    /// Levels as tracing-subscriber 0.3 reads each directive form.
    #[test]
    fn directive_levels_follow_the_envfilter_grammar() {
        for (d, want) in [
            ("debug", Some(4)),
            ("TRACE", Some(5)),
            ("4", Some(4)),
            ("5", Some(5)),
            ("3", Some(3)),
            ("0", Some(0)),
            ("off", Some(0)),
            ("kumod", Some(5)),
            ("kumod=", Some(5)),
            ("kumod=info", Some(3)),
            ("kumod=Debug", Some(4)),
            ("kumod=4", Some(4)),
            ("kumo_server_common::http=2", Some(2)),
            ("[smtp{peer=1.2.3.4}]", Some(5)),
            ("[smtp{peer=1.2.3.4}]=warn", Some(2)),
            ("kumod[span]=trace", Some(5)),
            ("kumod=loud", None),
        ] {
            assert_eq!(directive_level(d), want, "{d}");
        }
        for (d, want) in [
            ("4", "info"),
            ("kumod", "kumod=info"),
            ("kumod=", "kumod=info"),
            ("kumod=5", "kumod=info"),
            ("[s{a=1}]", "[s{a=1}]=info"),
            ("lua=warn", "lua=warn"),
        ] {
            assert_eq!(lowered(d), want, "{d}");
        }
    }
}
