//! KUMO-SEC010 vault-plain-http: the MTA talks to Vault over plain HTTP.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports a `vault` block whose `address` is `http://`.
    ///
    /// ## Why is this bad?
    /// The MTA sends its Vault token with every request and receives the DKIM private keys
    /// in the answer. Over plain HTTP anyone on the path (another pod on the node, a
    /// compromised service mesh hop, a mirrored port) reads both: with the token they read
    /// every other secret it grants, and with the keys they sign mail as your domains.
    /// KumoMTA's Vault client (`vaultrs`) speaks HTTPS when the address says `https://`.
    ///
    /// ## Example
    /// ```kumo
    /// vault {
    ///   address = "http://vault.vault.svc:8200"
    ///   token   = secret("vault-token", "token")
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// vault {
    ///   address = "https://vault.vault.svc:8200"
    ///   token   = secret("vault-token", "token")
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix writes `https://`. It is unsafe: Vault must serve TLS on that port, with a
    /// certificate the MTA image trusts.
    ///
    /// ## References
    /// - <https://developer.hashicorp.com/vault/docs/configuration/listener/tcp#tls_disable>
    /// - <https://docs.kumomta.com/reference/keysource/>
    pub static RULE = {
        code: "KUMO-SEC010",
        name: "vault-plain-http",
        severity: ErrorInProduction,
        since: "0.2.0",
        priority: "P0",
        summary: "The MTA reads DKIM keys from Vault over plain HTTP",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(addr) = cx.model.vault.get("address") else {
        return;
    };
    let Some(url) = addr.value.text() else {
        return;
    };
    if !url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        return;
    }
    let d = RULE
        .diagnostic(
            cx,
            "Vault is reached over plain HTTP: the token and the DKIM keys travel in clear"
                .to_string(),
            addr.loc,
            "not encrypted",
        )
        .with_help("serve Vault over TLS and write `https://`");
    // The literal as written: `"http://...` becomes `"https://...`.
    let text = cx.text(addr.loc);
    out.push(match text.get(..8) {
        Some(p) if p.eq_ignore_ascii_case("\"http://") => d.with_fix(
            "use https://",
            Applicability::Unsafe,
            vec![Edit {
                loc: addr.loc,
                replacement: format!("\"https://{}", &text[8..]),
            }],
        ),
        _ => d,
    });
}
