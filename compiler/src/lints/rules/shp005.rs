//! KUMO-SHP005 wildcard-in-provider-match: `*`, `?` or regex syntax in a provider's match rule.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a `mx_suffix(...)`, `domain_suffix(...)` or `host_name(...)` match rule you
    /// wrote in a `provider` block whose string contains `*`, `?` or another regex
    /// metacharacter (`[ ] ( ) { } ^ $ + | \`). Match rules of the stdlib presets are not
    /// reported.
    ///
    /// ## Why is this bad?
    /// KumoMTA compares these strings literally: `mx_suffix` and `domain_suffix` are plain
    /// suffix comparisons and `host_name` is an exact comparison. The rollups page says it
    /// outright: "The suffix matching is not a regex … Do not use any wildcard characters".
    /// `mx_suffix("*.google.com")` therefore matches no MX host at all, the provider's
    /// limits never apply, and its destinations fall back to `shaping default`.
    ///
    /// ## Example
    /// ```kumo
    /// provider "example-esp" {
    ///   match                     = [mx_suffix("*.example-esp.net")]
    ///   provider_connection_limit = 10
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// provider "example-esp" {
    ///   match                     = [mx_suffix(".example-esp.net")]
    ///   provider_connection_limit = 10
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// For `mx_suffix` and `domain_suffix`, the fix strips a leading `*` (`*.example.net` →
    /// `.example.net`), which is what the wildcard evidently meant; it is safe, and offered
    /// only when no other metacharacter is left. For `host_name("*.example.net")`, the fix
    /// turns the rule into `mx_suffix(".example.net")`; that changes the kind of rule, so it
    /// is unsafe. Other metacharacters have no fix: rewrite the rule as one or more literal
    /// suffixes.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/trafficshaping/rollups/>
    /// - <https://docs.kumomta.com/reference/kumo.shaping/load/>
    pub static RULE = {
        code: "KUMO-SHP005",
        name: "wildcard-in-provider-match",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A provider match rule contains `*`, `?` or regex syntax, but is compared literally",
        kind: Kind::Check(check),
    };
}

const METACHARACTERS: &[char] = &[
    '*', '?', '[', ']', '(', ')', '{', '}', '^', '$', '+', '|', '\\',
];

fn call(func: &str, arg: &str) -> String {
    let mut out = format!("{func}(");
    kumoc_lang::format::quote(&mut out, arg);
    out.push(')');
    out
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for p in &cx.model.providers {
        for m in &p.matches {
            if cx.is_stdlib(m.loc) {
                continue;
            }
            let (func, text) = (m.value.function(), m.value.text());
            let Some(bad) = text.chars().find(|c| METACHARACTERS.contains(c)) else {
                continue;
            };
            let kind = if func == "host_name" {
                "compared exactly"
            } else {
                "a literal suffix"
            };
            let stripped = text
                .strip_prefix('*')
                .filter(|rest| !rest.is_empty() && !rest.contains(METACHARACTERS));
            let mut d = RULE
                .diagnostic(
                    cx,
                    format!(
                        "`{bad}` in `{func}(\"{text}\")` of provider `{}`: the string is {kind}, not a pattern",
                        p.name
                    ),
                    m.loc,
                    "matches nothing as written",
                )
                .with_help(match stripped {
                    Some(rest) if func == "host_name" => format!(
                        "to match every MX host under `{}`, write `{}`",
                        rest.trim_start_matches('.'),
                        call("mx_suffix", &format!(".{}", rest.trim_start_matches('.')))
                    ),
                    Some(rest) => format!("drop the wildcard: `{}`", call(func, rest)),
                    None => format!(
                        "write literal suffixes without wildcards, e.g. `{}`",
                        call("mx_suffix", ".example.net")
                    ),
                });
            match stripped {
                Some(rest) if func == "host_name" => {
                    let suffix = format!(".{}", rest.trim_start_matches('.'));
                    d = d.with_fix(
                        format!("use `{}`", call("mx_suffix", &suffix)),
                        Applicability::Unsafe,
                        vec![Edit {
                            loc: m.loc,
                            replacement: call("mx_suffix", &suffix),
                        }],
                    );
                }
                Some(rest) => {
                    d = d.with_replacement("strip the leading `*`", m.loc, call(func, rest));
                }
                None => {}
            }
            out.push(d);
        }
    }
}
