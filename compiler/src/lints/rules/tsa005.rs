//! KUMO-TSA005 long-suspension: an automation rule that suspends or bounces for more than 4 hours.

use kumoc_lang::units::format_duration;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::value::Action;

declare_rule! {
    /// ## What it does
    /// Reports an automation rule you wrote whose action suspends (`suspend`,
    /// `suspend_tenant`, `suspend_campaign`) or bounces (`bounce`, `bounce_tenant`,
    /// `bounce_campaign`) with a `duration` above 4 hours. Rules that only change settings
    /// (`set_config`, `set_domain_config`) are not reported, nor are the stdlib's rules
    /// (automation rules are appended, so a user block cannot change them).
    ///
    /// ## Why is this bad?
    /// A suspension created by TSA cannot be cancelled before it expires
    /// (KumoCorp/kumomta#398): if the rule fires on a false positive, the destination or the
    /// tenant stays blocked for the whole duration. Providers' own guidance is far shorter
    /// (Yahoo's TS04 deferrals: 2 hours, which is what the stdlib's Yahoo rule uses), and
    /// messages held that long pile up and then retry all at once. A bounce action destroys
    /// every matching message for its duration, so a long one turns a transient complaint
    /// into lost mail.
    ///
    /// ## Example
    /// ```kumo
    /// provider "yahoo" {
    ///   automation {
    ///     regex    = '\[TS03\]'
    ///     action   = suspend
    ///     duration = 12h
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "yahoo" {
    ///   automation {
    ///     regex    = '\[TS03\]'
    ///     action   = suspend
    ///     duration = 2h
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix shortens the duration to 4h. The destination is then tried again sooner,
    /// which is the point but not necessarily what you meant, so it is unsafe. For longer
    /// back-off, let `max_retry_interval` space out the retries instead.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo.shaping/load/>
    /// - <https://senders.yahooinc.com/best-practices>
    /// - KumoCorp/kumomta#398 (TSA suspensions cannot be cancelled)
    /// - KumoCorp/kumomta#322 (short suspensions and retry back-off)
    pub static RULE = {
        code: "KUMO-TSA005",
        name: "long-suspension",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "An automation rule suspends or bounces for more than 4 hours",
        kind: Kind::Check(check),
    };
}

const LIMIT_MS: u64 = 4 * 3_600_000;

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for (what, rule) in util::automation_rules(cx) {
        if cx.is_stdlib(rule.loc) || rule.duration_ms <= LIMIT_MS {
            continue;
        }
        let Some(action) = rule.actions.iter().find(|a| {
            matches!(&a.value, Action::Simple(v) if v.name.starts_with("suspend") || v.name.starts_with("bounce"))
        }) else {
            continue;
        };
        let name = action.value.variant().name;
        let verb = if name.starts_with("bounce") {
            "bounces"
        } else {
            "suspends"
        };
        let duration = format_duration(rule.duration_ms);
        let at = cx.attr_value(rule.loc, "duration");
        let mut d = RULE
            .diagnostic(
                cx,
                format!("automation rule in {what} {verb} (`{name}`) for {duration}, more than 4h"),
                at.unwrap_or(rule.loc),
                "longer than 4h",
            )
            .with_secondary(action.loc, "this action")
            .with_help("TSA suspensions cannot be cancelled once they fire; keep them short (Yahoo's guidance is 2h) and let `max_retry_interval` space out retries");
        if let Some(at) = at {
            d = d.with_fix(
                "shorten to 4h",
                Applicability::Unsafe,
                vec![Edit {
                    loc: at,
                    replacement: "4h".to_string(),
                }],
            );
        }
        out.push(d);
    }
}
