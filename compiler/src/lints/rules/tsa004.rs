//! KUMO-TSA004 tenant-action-without-tenancy: a tenant or campaign action that cannot take effect.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Rule, ShapingKey};
use crate::value::Action;

declare_rule! {
    /// ## What it does
    /// Reports a `suspend_tenant`, `bounce_tenant`, `suspend_campaign` or `bounce_campaign`
    /// action in an automation rule you wrote when:
    ///
    /// - no message has a tenant: `tenancy` sets neither `tenant_header` nor
    ///   `default_tenant` (for the `*_tenant` actions), or no message has a campaign:
    ///   `tenancy` has no `campaign_header` (for the `*_campaign` actions);
    /// - or the rule is in `shaping default`, the global scope, where KumoMTA was reported
    ///   not to apply these actions (KumoCorp/kumomta#290: the tenant is suspended but
    ///   deliveries go on).
    ///
    /// ## Why is this bad?
    /// These actions suspend or bounce the scheduled queues of the message's tenant (or
    /// campaign) for the destination domain. KumoMTA's documentation: "If no tenant was
    /// assigned, this action has no effect." The rule then fires, logs, and protects
    /// nothing, while you believe a misbehaving tenant is paused. In `shaping default` the
    /// rule also applies to every destination, which is rarely what a tenant-level reaction
    /// to one provider's complaint should do; put it in that provider's block.
    ///
    /// ## Example
    /// ```kumo
    /// provider "google" {
    ///   automation {
    ///     regex    = 'unusual rate of unsolicited mail'
    ///     action   = suspend_tenant
    ///     duration = 1h
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// tenancy {
    ///   tenant_header        = "X-Tenant"
    ///   remove_tenant_header = true
    /// }
    ///
    /// provider "google" {
    ///   automation {
    ///     regex    = 'unusual rate of unsolicited mail'
    ///     action   = suspend_tenant
    ///     duration = 1h
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// For `suspend_tenant` and `suspend_campaign` the fix uses `suspend`, which suspends the
    /// whole ready queue (every tenant's mail to that site from that source): broader, so
    /// unsafe. The bounce actions have no fix (a plain `bounce` would bounce everyone's
    /// mail); assign tenants, or move the rule to the block of the destination it is about.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo.shaping/load/>
    /// - <https://docs.kumomta.com/userguide/configuration/queuemanagement/>
    /// - KumoCorp/kumomta#290 ("SuspendTenant not working in global or sitename scope")
    pub static RULE = {
        code: "KUMO-TSA004",
        name: "tenant-action-without-tenancy",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A tenant or campaign action with no tenancy configured, or in `shaping default`",
        kind: Kind::Check(check),
    };
}

fn rules<'a>(cx: &LintContext<'a>) -> Vec<(util::What<'a>, bool, &'a Rule)> {
    let m = cx.model;
    let mut out = Vec::new();
    for b in &m.shaping {
        let default = b.key == ShapingKey::Default;
        let what = util::shaping_what(&b.key);
        out.extend(b.shaping.automation.iter().map(|r| (what, default, r)));
    }
    for p in &m.providers {
        let what = util::provider_what(&p.name);
        out.extend(p.shaping.automation.iter().map(|r| (what, false, r)));
    }
    out
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let t = &cx.model.tenancy;
    let has_tenants = t.contains_key("tenant_header") || t.contains_key("default_tenant");
    let has_campaigns = t.contains_key("campaign_header");
    for (what, default, rule) in rules(cx) {
        if cx.is_stdlib(rule.loc) {
            continue;
        }
        for action in &rule.actions {
            let Action::Simple(v) = &action.value else {
                continue;
            };
            let (unit, assigned) = match v.name {
                "suspend_tenant" | "bounce_tenant" => ("tenant", has_tenants),
                "suspend_campaign" | "bounce_campaign" => ("campaign", has_campaigns),
                _ => continue,
            };
            let name = v.name;
            let mut d = if !assigned {
                let how = if unit == "tenant" {
                    "`tenancy` sets neither `tenant_header` nor `default_tenant`"
                } else {
                    "`tenancy` has no `campaign_header`"
                };
                RULE.diagnostic(
                    cx,
                    format!("`{name}` in {what} has no effect: no message has a {unit} ({how})"),
                    action.loc,
                    format!("no {unit} to act on"),
                )
                .with_help(format!(
                    "assign {unit}s in `tenancy` (`{unit}_header = \"X-{}\"`), or use a queue-wide action",
                    if unit == "tenant" { "Tenant" } else { "Campaign" }
                ))
            } else if default {
                RULE.diagnostic(
                    cx,
                    format!("`{name}` in `shaping default`: tenant and campaign actions are not applied at the global scope"),
                    action.loc,
                    "global scope",
                )
                .with_help("move the rule into the `provider` or `shaping \"domain\"` block of the destination whose responses it matches")
            } else {
                continue;
            };
            if let Some(plain) = name
                .strip_suffix("_tenant")
                .or_else(|| name.strip_suffix("_campaign"))
            {
                if plain == "suspend" {
                    d = d.with_fix(
                        "use `suspend` (the whole ready queue)",
                        Applicability::Unsafe,
                        vec![Edit {
                            loc: action.loc,
                            replacement: "suspend".to_string(),
                        }],
                    );
                }
            }
            out.push(d);
        }
    }
}
