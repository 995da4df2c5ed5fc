//! KUMO-DKIM001 dkim-rsa-key-too-small: a DKIM RSA key declared below 2048 bits.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext, util};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports a domain's RSA DKIM key whose declared size (`bits` in its `dkim` block) is
    /// below 2048 bits: an error below 1024 bits, a warning from 1024 to 2047 bits.
    ///
    /// kumoc never reads the private key, so the rule only knows the size you declare: a
    /// `dkim` block without `bits` is not reported. Ed25519 keys (`algorithm = ed25519`)
    /// have a fixed size and are skipped.
    ///
    /// ## Why is this bad?
    /// RFC 8301 says signers MUST use RSA keys of at least 1024 bits and SHOULD use at least
    /// 2048. Verifiers treat signatures made with smaller keys as failing, so mail signed
    /// with a 512-bit key is as good as unsigned; 1024-bit keys are still accepted but are
    /// within reach of factoring and are being phased out. KumoMTA's DKIM guide generates
    /// 1024-bit keys in its example, so they are common.
    ///
    /// ## Example
    /// ```kumo
    /// domain "example.com" {
    ///   dkim {
    ///     selector = "s1024"
    ///     bits     = 1024
    ///     key      = secret("dkim-keys", "example.com.s1024.key")
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// domain "example.com" {
    ///   dkim {
    ///     selector = "s2048" // a new selector: publish its record before switching
    ///     bits     = 2048
    ///     key      = secret("dkim-keys", "example.com.s2048.key")
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: a bigger key is a new key. Generate it
    /// (`openssl genrsa -out example.com.s2048.key 2048`), publish its public key under a
    /// new selector, and switch `selector`, `key` and `bits` once the record resolves; keep
    /// the old record until mail signed with the old key has been delivered.
    ///
    /// ## References
    /// - <https://datatracker.ietf.org/doc/html/rfc8301#section-3.2>
    /// - <https://docs.kumomta.com/userguide/configuration/dkim/>
    pub static RULE = {
        code: "KUMO-DKIM001",
        name: "dkim-rsa-key-too-small",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "A DKIM RSA key is declared smaller than 2048 bits",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    for dom in &cx.model.domains {
        let Some(dkim) = &dom.dkim else { continue };
        if util::variant(&dkim.settings, "algorithm").is_some_and(|a| a.value == "ed25519") {
            continue;
        }
        let Some(bits) = util::int(&dkim.settings, "bits") else {
            continue;
        };
        if bits.value >= 2048 || cx.is_stdlib(bits.loc) {
            continue;
        }
        let mut d = if bits.value < 1024 {
            RULE.diagnostic(
                cx,
                format!(
                    "the DKIM key of `{}` has {} bits: verifiers reject RSA keys under 1024 bits",
                    dom.name, bits.value
                ),
                bits.loc,
                "too small to verify",
            )
        } else {
            RULE.diagnostic(
                cx,
                format!(
                    "the DKIM key of `{}` has {} bits: RSA keys should have at least 2048",
                    dom.name, bits.value
                ),
                bits.loc,
                "below 2048 bits",
            )
        };
        if bits.value < 1024 {
            d.severity = Severity::Error;
        }
        out.push(d.with_help(
            "generate a 2048-bit key under a new selector (`openssl genrsa -out KEY 2048`), publish its DNS record, then switch `selector`, `key` and `bits`",
        ));
    }
}
