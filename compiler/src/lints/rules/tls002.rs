//! KUMO-TLS002 tls-required-destination: Google, Comcast or Orange get TLS weaker than `required`.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};
use crate::model::{Settings, ShapingKey};
use crate::source::Loc;

declare_rule! {
    /// ## What it does
    /// Reports Google (`provider "google"`), `comcast.net` and `orange.fr` when the
    /// `enable_tls` they end up with is anything but `required`: set in their own block, or
    /// inherited from `shaping default` (the stdlib's Google and Orange presets of this
    /// KumoMTA release do not set `enable_tls`, so they follow the default; Comcast's is
    /// `required`). The rule reports where you wrote the weaker value; a value that comes
    /// only from the stdlib (KumoMTA's own `opportunistic` default) is not reported. Nothing
    /// is reported while the sink is on (`cluster.sink.enabled`): every message then goes
    /// to the sink and none reaches these destinations.
    ///
    /// ## Why is this bad?
    /// Gmail requires TLS from bulk senders and tempfails or rate-limits mail sent without
    /// it; Comcast and Orange require it too, and KumoMTA's newer bundled presets set
    /// `Required` for them. With `opportunistic` a downgraded or stripped STARTTLS sends the
    /// mail in clear text or gets it deferred; `required` fails fast and visibly instead.
    ///
    /// ## Example
    /// ```kumo
    /// provider "google" {
    ///   enable_tls = opportunistic
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "google" {
    ///   enable_tls = required
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `enable_tls = required` for the destination only: it replaces the value
    /// in its block, adds the field to your `provider "google"` block, or adds such a block.
    /// It is safe: these destinations always offer STARTTLS with valid certificates. A value
    /// inherited by `comcast.net` or `orange.fr` from `shaping default` has no fix: add
    /// `enable_tls = required` to a `shaping "orange.fr"` block.
    ///
    /// ## References
    /// - <https://support.google.com/mail/answer/81126>
    /// - <https://docs.kumomta.com/reference/kumo/make_egress_path/enable_tls/>
    /// - KumoMTA `assets/policy-extras/shaping.toml` (Google, Comcast and Orange blocks)
    pub static RULE = {
        code: "KUMO-TLS002",
        name: "tls-required-destination",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Google, Comcast or Orange get TLS weaker than required",
        kind: Kind::Check(check),
    };
}

enum Target {
    Provider(&'static str),
    Domain(&'static str),
}

const TARGETS: [(&str, Target); 3] = [
    ("Google", Target::Provider("google")),
    ("`comcast.net`", Target::Domain("comcast.net")),
    ("`orange.fr`", Target::Domain("orange.fr")),
];

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    if m.cluster.sink.enabled.value {
        return;
    }
    let default = m
        .shaping
        .iter()
        .find(|b| b.key == ShapingKey::Default)
        .and_then(|b| util::variant(&b.shaping.settings, "enable_tls"));
    for (who, target) in &TARGETS {
        let (own, user_block): (Option<&Settings>, Option<Loc>) = match target {
            Target::Provider(name) => match m.providers.iter().find(|p| p.name == *name) {
                Some(p) => (
                    Some(&p.shaping.settings),
                    p.overridden_at.iter().copied().find(|l| !cx.is_stdlib(*l)),
                ),
                None => (None, None),
            },
            Target::Domain(name) => (
                m.shaping
                    .iter()
                    .find(|b| b.key.as_str() == *name)
                    .map(|b| &b.shaping.settings),
                None,
            ),
        };
        if let Some(mode) = own.and_then(|s| util::variant(s, "enable_tls")) {
            if mode.value == "required" || cx.is_stdlib(mode.loc) {
                continue;
            }
            out.push(
                RULE.diagnostic(
                    cx,
                    format!(
                        "{who} gets `enable_tls = {}`, weaker than `required`",
                        mode.value
                    ),
                    mode.loc,
                    "weaker than `required`",
                )
                .with_help(format!("{who} requires TLS from senders: use `required`"))
                .with_replacement("use `required`", mode.loc, "required"),
            );
            continue;
        }
        let Some(mode) = &default else { continue };
        if mode.value == "required" || cx.is_stdlib(mode.loc) {
            continue;
        }
        let mut d = RULE.diagnostic(
            cx,
            format!(
                "{who} inherits `enable_tls = {}` from `shaping default`, weaker than `required`",
                mode.value
            ),
            mode.loc,
            format!("{who} inherits this"),
        );
        match target {
            Target::Provider(name) => {
                let edit = match user_block {
                    Some(block) => {
                        d = d.with_secondary(block, "no `enable_tls` here");
                        util::insert_after_brace(cx, block, "\n  enable_tls = required")
                    }
                    None => append_block(
                        cx,
                        mode.loc,
                        &format!("provider \"{name}\" {{\n  enable_tls = required\n}}\n"),
                    ),
                };
                d = d.with_help(format!(
                    "set `enable_tls = required` in `provider \"{name}\"`, for Google only"
                ));
                if let Some(edit) = edit {
                    d = d.with_fix(
                        format!("require TLS in `provider \"{name}\"`"),
                        Applicability::Safe,
                        vec![edit],
                    );
                }
            }
            Target::Domain(name) => {
                d = d.with_help(format!(
                    "set `enable_tls = required` in a `shaping \"{name}\"` block"
                ));
            }
        }
        out.push(d);
    }
}

/// An edit appending `block` at the end of the file holding `at`.
fn append_block(cx: &LintContext<'_>, at: Loc, block: &str) -> Option<Edit> {
    let file = cx.sources.get(at.file)?;
    let end = u32::try_from(file.text.len()).ok()?;
    let sep = if file.text.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    let mut loc = at;
    loc.span.start = end;
    loc.span.end = end;
    Some(Edit {
        loc,
        replacement: format!("{sep}{block}"),
    })
}
