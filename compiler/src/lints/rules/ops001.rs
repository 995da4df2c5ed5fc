//! KUMO-OPS001 sink-environment-mismatch: the sink is on in production, or off in staging.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports the sink (`cluster { sink { enabled } }`) when it does not match the
    /// environment:
    /// - on in production: every message is accepted and dropped (an error in production);
    /// - off (or not declared) in staging: mail to real recipients leaves a test
    ///   environment (a warning).
    ///
    /// ## Why is this bad?
    /// With the sink on, kumoc routes all mail to an in-cluster SMTP server that accepts and
    /// discards it: in production that is silent, total mail loss, with every injection
    /// answered `250 OK`. The reverse is as bad: a staging deployment without the sink
    /// delivers test campaigns, seed lists and load tests to real mailboxes, from your real
    /// IPs, at their reputation's expense. The seed chart shipped the sink on by default,
    /// which is how both happen: one values file for every environment.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   sink { enabled = true } // in every environment
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   sink { enabled = true }
    /// }
    ///
    /// env production {
    ///   cluster { sink { enabled = false } }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix flips `enabled` where it is written, when that place belongs to the
    /// environment being checked (its `env` block, or the main files when the deployment
    /// declares that environment). It is unsafe: it decides whether mail is really delivered.
    ///
    /// ## References
    /// - The seed chart: meetic-remiwipliez/kumomta `charts/kumomta/values.yaml` (`sink.enabled`
    ///   is `true` by default, for every environment)
    pub static RULE = {
        code: "KUMO-OPS001",
        name: "sink-environment-mismatch",
        severity: ErrorInProduction,
        since: "0.1.0",
        priority: "P0",
        summary: "The sink is on in production, or off in a test environment",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let sink = &m.cluster.sink;
    let on = sink.enabled.value;
    if on != cx.production() {
        return;
    }
    let written = util::find_written(cx, &["cluster", "sink"], "enabled")
        .filter(|w| w.loc == sink.enabled.loc);
    let at = match &written {
        Some(w) => w.loc,
        None => [sink.loc, m.cluster.mta.loc]
            .into_iter()
            .flatten()
            .find(|l| !cx.is_stdlib(*l))
            .unwrap_or(m.name.loc),
    };
    let d = if on {
        RULE.diagnostic(cx, "the sink is on in production: all mail is accepted and dropped", at, "no mail is delivered")
            .with_help("turn the sink off for production: `env production { cluster { sink { enabled = false } } }`")
    } else {
        let env = cx.env().name();
        let label = if written.is_some() {
            "real mail leaves this environment"
        } else {
            "no sink declared"
        };
        RULE.diagnostic(cx, format!("the sink is off in {env}: test mail is delivered to real recipients"), at, label)
            .with_help(format!("turn the sink on for {env} (`cluster {{ sink {{ enabled = true }} }}`) and off in `env production`"))
    };
    let declared_here = cx.text(m.environment.loc) == cx.env().name();
    out.push(match written {
        Some(w) if w.in_env || declared_here => d.with_fix(
            if on {
                "turn the sink off"
            } else {
                "turn the sink on"
            },
            Applicability::Unsafe,
            vec![Edit {
                loc: w.loc,
                replacement: (!on).to_string(),
            }],
        ),
        _ => d,
    });
}
