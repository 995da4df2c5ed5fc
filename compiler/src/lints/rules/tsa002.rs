//! KUMO-TSA002 automation-matches-internal: an automation rule that can match KumoMTA's own responses.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports an automation rule you wrote that sets `match_internal = true` and has a
    /// regex matching KumoMTA's generic `KumoMTA internal: ...` responses. The regexes are
    /// tried, with KumoMTA's
    /// regex engine, against typical internal responses: "ready queue throttled",
    /// "throttled message rate", "failed to connect to any candidate hosts: ... Connection
    /// refused", "failed to send message ... Timed Out", "error in deliver_message", each
    /// with and without the `451 4.4.1` status prefix.
    ///
    /// A rule aimed at one specific internal message (the stdlib's OpportunisticInsecure
    /// rule, for example) does not match these and is not reported. Without
    /// `match_internal`, a regex such as `.*` cannot see internal responses on any release
    /// kumoc supports (2024.11.08 and later skip them), so it is not reported either.
    /// Stdlib rules are never reported.
    ///
    /// ## Why is this bad?
    /// KumoMTA writes `KumoMTA internal:` responses for what it does itself: a throttled or
    /// suspended ready queue, a connection it could not make. A lenient rule that matches
    /// them and suspends or throttles the queue produces more of those responses, which
    /// match again and extend the action: a self-sustaining suspension loop. That is why
    /// KumoMTA 2024.11.08 started skipping internal responses unless `match_internal` is set.
    ///
    /// ## Example
    /// ```kumo
    /// shaping default {
    ///   automation {
    ///     regex          = 'throttled|rate limited'
    ///     action         = suspend
    ///     duration       = 1h
    ///     match_internal = true
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// shaping default {
    ///   automation {
    ///     regex    = 'throttled|rate limited'
    ///     action   = suspend
    ///     duration = 1h
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `match_internal = false`. That stops the rule from reacting to internal
    /// responses you may have meant to catch, so it is unsafe. To keep `match_internal` for
    /// one specific internal message, make the regex match only that message, or add a
    /// `(?!.*KumoMTA internal: ready queue)`-style guard for the responses to ignore.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo.shaping/load/> (`match_internal`)
    /// - KumoMTA changelog, 2024.11.08: TSA rules no longer match `KumoMTA internal: ` responses by default
    pub static RULE = {
        code: "KUMO-TSA002",
        name: "automation-matches-internal",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "An automation rule sees and matches KumoMTA's own `KumoMTA internal:` responses",
        kind: Kind::Check(check),
    };
}

/// Typical internal responses (content, as KumoMTA writes them).
const SAMPLES: &[&str] = &[
    "KumoMTA internal: ready queue throttled",
    "KumoMTA internal: mx.example.com throttled message rate, delay=10s",
    "KumoMTA internal: failed to connect to any candidate hosts: connect to 192.0.2.1:25 and read initial banner: Connection refused (os error 111)",
    "KumoMTA internal: failed to send message to mx.example.com Some(192.0.2.1:25): Timed Out waiting 60s to write MAIL FROM",
    "KumoMTA internal: error in deliver_message: IO error",
];

/// The first sample a regex matches.
fn matching_sample(regex: &str) -> Option<&'static str> {
    let re = fancy_regex::Regex::new(regex).ok()?;
    SAMPLES.iter().copied().find(|s| {
        re.is_match(s).unwrap_or(false) || re.is_match(&format!("451 4.4.1 {s}")).unwrap_or(false)
    })
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (what, rule) in util::automation_rules(cx) {
        if cx.is_stdlib(rule.loc) || !rule.match_internal {
            continue;
        }
        let Some((regex, sample)) = rule
            .regex
            .iter()
            .find_map(|r| matching_sample(&r.value).map(|s| (r, s)))
        else {
            continue;
        };
        let mut d = RULE
            .diagnostic(
                cx,
                format!(
                    "automation rule in {what} has `match_internal = true` and matches KumoMTA's own responses, e.g. \"{sample}\""
                ),
                regex.loc,
                "matches `KumoMTA internal:` responses",
            )
            .with_help(
                "KumoMTA writes these responses for its own throttling and suspensions; a rule that matches them can keep itself firing",
            );
        if let Some(flag) = cx.attr_value(rule.loc, "match_internal") {
            d = d.with_secondary(flag, "sees internal responses").with_fix(
                "set `match_internal = false`",
                Applicability::Unsafe,
                vec![Edit {
                    loc: flag,
                    replacement: "false".to_string(),
                }],
            );
        }
        out.push(d);
    }
}
