//! KUMO-DKIM004 dkim-ed25519-only: a domain signed only with Ed25519.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports a domain whose only DKIM signature uses `algorithm = ed25519`.
    ///
    /// A `domain` block has one `dkim` block and kumoc has no additional signatures yet, so
    /// every Ed25519 domain is Ed25519-only. (`rsa-sha1`, which RFC 8301 forbids, cannot be
    /// written in `.kumo`: `rsa_sha256` and `ed25519` are the only algorithms.)
    ///
    /// ## Why is this bad?
    /// Ed25519 DKIM (RFC 8463) is valid, but support at receivers is, in KumoMTA's words,
    /// "very limited": a receiver that does not know the algorithm ignores the signature,
    /// so to most of the world the mail is unsigned and fails DMARC unless SPF aligns.
    /// Ed25519 belongs next to an RSA signature, never instead of it.
    ///
    /// ## Example
    /// ```kumo
    /// domain "example.com" {
    ///   dkim {
    ///     selector  = "ed1"
    ///     algorithm = ed25519
    ///     key       = secret("dkim-keys", "example.com.ed1.key")
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// domain "example.com" {
    ///   dkim {
    ///     selector  = "s2048"
    ///     algorithm = rsa_sha256
    ///     bits      = 2048
    ///     key       = secret("dkim-keys", "example.com.s2048.key")
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: switching the algorithm needs an RSA key and a DNS record
    /// for its selector, which kumoc cannot make.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/configuration/dkim/>
    /// - <https://datatracker.ietf.org/doc/html/rfc8463>
    /// - <https://datatracker.ietf.org/doc/html/rfc8301>
    pub static RULE = {
        code: "KUMO-DKIM004",
        name: "dkim-ed25519-only",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "A domain is DKIM-signed only with Ed25519",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for dom in &cx.model.domains {
        let Some(dkim) = &dom.dkim else { continue };
        let Some(alg) = util::variant(&dkim.settings, "algorithm") else {
            continue;
        };
        if alg.value != "ed25519" || cx.is_stdlib(alg.loc) {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "`{}` is DKIM-signed only with Ed25519, which few receivers verify",
                    dom.name
                ),
                alg.loc,
                "the only signature",
            )
            .with_help(
                "sign with `algorithm = rsa_sha256` and a 2048-bit key under its own selector",
            ),
        );
    }
}
