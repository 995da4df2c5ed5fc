//! KUMO-SEC005 inline-secret: secret material written in a `.kumo` string.

use std::collections::BTreeMap;

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};
use crate::model::{MapEntries, Settings, Shaping};
use crate::source::Loc;
use crate::value::{Action, Typed};

declare_rule! {
    /// ## What it does
    /// Reports secret material written in any string of a `.kumo` file: a PEM private key
    /// (`-----BEGIN ... PRIVATE KEY-----`), a HashiCorp Vault token (`hvs.`, `hvb.`, `hvr.`),
    /// a password in a URL (`scheme://user:password@host`), a credential in a URL's query
    /// (`?token=...`, `&api_key=...`, `sig=`: a webhook's secret belongs in
    /// `secret_header`), or a long random-looking value
    /// (base64 or hex) in a field or Secret key named like a password, token, secret or key.
    /// Every string is searched: settings (the `vault` and `webhook` blocks included), lists,
    /// automation rules, `match` rules and the
    /// paths of a `secret` block's `files`. The message says what kind of material was
    /// found, never the value.
    ///
    /// ## Why is this bad?
    /// `.kumo` files are committed, reviewed, copied into CI logs and compiled into
    /// ConfigMaps that anyone who can read the namespace can see. A secret written there
    /// leaks to all of them and cannot be rotated without rewriting history. KumoMTA's
    /// security guide says to keep secrets out of policy files; kumoc references them:
    /// `secret("name", "key")` mounts a Kubernetes Secret, and a `secret` block's `files`
    /// names files (kept out of version control) that `kumoc build --secrets` reads.
    ///
    /// ## Example
    /// ```kumo
    /// secret "dkim-keys" {
    ///   files {
    ///     "example.com.default.key" = "-----BEGIN PRIVATE KEY-----\nMIIEvQ..."
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// secret "dkim-keys" {
    ///   files {
    ///     "example.com.default.key" = "secrets/example.com.default.key" // a file, not the key
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// For a `secret` block's `files` entry the fix replaces the inline value with the path
    /// `secrets/<key>`. It is unsafe: you must write the secret to that file (and rotate it,
    /// since it was exposed). Elsewhere there is no fix: move the value into a Secret.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/security/>
    /// - <https://kubernetes.io/docs/concepts/configuration/secret/>
    /// - <https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes>
    pub static RULE = {
        code: "KUMO-SEC005",
        name: "inline-secret",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "Secret material is written in a .kumo string",
        kind: Kind::Check(check),
    };
}

/// One string of the model: where it is, the field or key it belongs to, and its text.
struct Found<'a> {
    loc: Loc,
    name: &'a str,
    text: &'a str,
    /// For a `secret` block's `files` entry: the Secret key it fills.
    file_key: Option<&'a str>,
}

fn typed<'a>(t: &'a Typed, loc: Loc, name: &'a str, out: &mut dyn FnMut(Found<'a>)) {
    let text = match t {
        Typed::Match(m) => Some(m.text()),
        Typed::List(items) => {
            items.iter().for_each(|i| typed(&i.value, i.loc, name, out));
            None
        }
        Typed::Action(a) => {
            action(a, out);
            None
        }
        other => other.text(),
    };
    // A string that cannot be secret material (nearly every one) is not handed on.
    if let Some(text) = text.filter(|t| may_be_secret(t)) {
        out(Found {
            loc,
            name,
            text,
            file_key: None,
        });
    }
}

fn action<'a>(a: &'a Action, out: &mut dyn FnMut(Found<'a>)) {
    if let Action::SetConfig { field, value, .. } = a {
        typed(&value.value, value.loc, field.name, out);
    }
}

fn settings<'a>(s: &'a Settings, out: &mut dyn FnMut(Found<'a>)) {
    for (name, v) in s {
        typed(&v.value, v.loc, name, out);
    }
}

fn maps<'a>(m: &'a BTreeMap<&'static str, MapEntries>, out: &mut dyn FnMut(Found<'a>)) {
    for entries in m.values() {
        for (key, v) in entries {
            typed(&v.value, v.loc, key, out);
        }
    }
}

fn shaping<'a>(s: &'a Shaping, out: &mut dyn FnMut(Found<'a>)) {
    settings(&s.settings, out);
    maps(&s.maps, out);
    for r in &s.automation {
        for re in &r.regex {
            out(Found {
                loc: re.loc,
                name: "regex",
                text: &re.value,
                file_key: None,
            });
        }
        r.actions.iter().for_each(|a| action(&a.value, out));
    }
    for src in &s.sources {
        settings(&src.settings, out);
        maps(&src.maps, out);
    }
}

/// Every string the user may have written, with its location, handed to `out` as found
/// (not collected: there is one per value of the deployment).
fn strings<'a>(cx: &'a LintContext<'_>, out: &mut dyn FnMut(Found<'a>)) {
    let m = cx.model;
    settings(&m.dkim_defaults, out);
    settings(&m.vault, out);
    m.webhooks.iter().for_each(|w| settings(&w.settings, out));
    for d in &m.domains {
        if let Some(k) = &d.dkim {
            settings(&k.settings, out);
        }
    }
    m.sources.iter().for_each(|s| settings(&s.settings, out));
    settings(&m.tenancy, out);
    for t in &m.tenants {
        settings(&t.settings, out);
        t.campaigns.iter().for_each(|c| settings(&c.settings, out));
    }
    for q in &m.queues {
        settings(&q.settings, out);
        for t in &q.tenants {
            settings(&t.settings, out);
            t.campaigns.iter().for_each(|c| settings(&c.settings, out));
        }
    }
    m.shaping.iter().for_each(|b| shaping(&b.shaping, out));
    for p in &m.providers {
        shaping(&p.shaping, out);
        for r in &p.matches {
            out(Found {
                loc: r.loc,
                name: "match",
                text: r.value.text(),
                file_key: None,
            });
        }
    }
    for s in &m.secrets {
        for (key, path) in &s.files {
            out(Found {
                loc: path.loc,
                name: key,
                text: &path.value,
                file_key: Some(key),
            });
        }
    }
    settings(&m.smtp_listener, out);
    settings(&m.http_listener, out);
    settings(&m.logging, out);
    if let Some(r) = &m.cluster.redis {
        settings(&r.settings, out);
    }
}

/// A PEM block whose type names a private key (`RSA PRIVATE KEY`, `OPENSSH PRIVATE KEY`, ...).
fn pem_private_key(s: &str) -> bool {
    s.match_indices("-----BEGIN ").any(|(i, m)| {
        let rest = s.get(i + m.len()..).unwrap_or("");
        rest.find("-----")
            .and_then(|end| rest.get(..end))
            .is_some_and(|label| label.contains("PRIVATE KEY"))
    })
}

/// A Vault service, batch or recovery token: `hvs.` etc. after a non-word character,
/// followed by at least 20 token characters.
fn vault_token(s: &str) -> bool {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    // `hvs.`, `hvb.` or `hvr.`, found in one pass over the bytes.
    let b = s.as_bytes();
    (0..b.len()).any(|i| {
        matches!(
            b.get(i..i + 4),
            Some([b'h', b'v', b's' | b'b' | b'r', b'.'])
        ) && {
            let before_ok = s
                .get(..i)
                .and_then(|x| x.chars().next_back())
                .is_none_or(|c| !token_char(c));
            let body = s.get(i + 4..).unwrap_or("");
            before_ok && body.chars().take_while(|c| token_char(*c)).count() >= 20
        }
    })
}

fn url_password(s: &str) -> bool {
    s.match_indices("://").any(|(i, m)| {
        let scheme_ok = s
            .get(..i)
            .and_then(|b| b.chars().next_back())
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let rest = s.get(i + m.len()..).unwrap_or("");
        let authority = rest
            .split(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'') || c.is_whitespace())
            .next()
            .unwrap_or("");
        let userinfo = authority.rsplit_once('@').map_or("", |(u, _)| u);
        scheme_ok
            && userinfo
                .split_once(':')
                .is_some_and(|(_, password)| !password.is_empty())
    })
}

/// A URL query parameter named like a credential (`?token=...`, `&api_key=...`, `sig=`)
/// with a value: webhook endpoints often take their secret this way.
fn url_query_secret(s: &str) -> bool {
    if !s.contains("://") {
        return false;
    }
    let Some((_, query)) = s.split_once('?') else {
        return false;
    };
    let query = query.split('#').next().unwrap_or("");
    query.split('&').any(|pair| {
        pair.split_once('=').is_some_and(|(name, value)| {
            let n = name.to_ascii_lowercase();
            !value.is_empty()
                && (secret_like_name(&n) || matches!(n.as_str(), "sig" | "signature" | "auth"))
        })
    })
}

fn secret_like_name(name: &str) -> bool {
    // ASCII case-insensitive, without a lowercased copy (this runs for every string value).
    let n = name.as_bytes();
    let contains = |w: &str| {
        n.windows(w.len())
            .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
    };
    ["password", "passwd", "secret", "token", "credential"]
        .iter()
        .any(|w| contains(w))
        || n.len() >= 3
            && n.get(n.len() - 3..)
                .is_some_and(|t| t.eq_ignore_ascii_case(b"key"))
}

/// A long value that looks random (base64 or hex): no spaces or dots, several digits and
/// letters, and high character entropy.
fn random_blob(s: &str) -> bool {
    if s.len() < 20
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-'))
    {
        return false;
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let letters = s.chars().filter(char::is_ascii_alphabetic).count();
    if digits < 2 || letters < 2 {
        return false;
    }
    let mut counts = [0u32; 128];
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = s.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| f64::from(*c) / n)
        .map(|p| -p * p.log2())
        .sum();
    entropy >= 3.5
}

/// Whether `text` may be secret material at all: shorter than 20 characters, only a URL
/// (it has a `:`) can be (a PEM key is at least 27, a Vault token 24, a random blob 20).
/// Most values are shorter and have none: they end here, after a look at a few bytes.
fn may_be_secret(text: &str) -> bool {
    text.len() >= 20 || text.bytes().any(|b| b == b':')
}

fn kind(f: &Found<'_>) -> Option<&'static str> {
    // PEM and URLs have a character most values lack (`-`, `:`): a quick look for it
    // first, since this runs for every string value (and a short value is no random blob,
    // tested before its name is searched).
    // A Vault token is at least 24 characters (a 4-character prefix and 20 more), a URL has
    // a `:`: most values are shorter and have none.
    if !may_be_secret(f.text) {
        return None;
    }
    let url = f.text.contains(':');
    if f.text.contains('-') && pem_private_key(f.text) {
        Some("a PEM private key")
    } else if f.text.len() >= 24 && vault_token(f.text) {
        Some("a Vault token")
    } else if url && url_password(f.text) {
        Some("a password in a URL")
    } else if url && url_query_secret(f.text) {
        Some("a credential in a URL's query")
    } else if random_blob(f.text) && secret_like_name(f.name) {
        Some("a secret-looking value")
    } else {
        None
    }
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    strings(cx, &mut |f| {
        if cx.is_stdlib(f.loc) {
            return;
        }
        let Some(what) = kind(&f) else { return };
        let d = RULE.diagnostic(
            cx,
            format!("{what} is written inline in .kumo"),
            f.loc,
            format!("{what}: keep it in a Secret"),
        );
        let plain_key = |k: &str| {
            k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        };
        let d = match f.file_key {
            Some(key) if plain_key(key) => d
                .with_help("a `files` entry names a file (kept out of version control) that `kumoc build --secrets` reads; write the secret there and rotate it")
                .with_fix(
                    format!("read `{key}` from the file `secrets/{key}`"),
                    Applicability::Unsafe,
                    vec![Edit { loc: f.loc, replacement: format!("\"secrets/{key}\"") }],
                ),
            Some(_) => d.with_help("a `files` entry names a file (kept out of version control) that `kumoc build --secrets` reads; write the secret there and rotate it"),
            None => d.with_help("secrets never go in .kumo: keep it in a Kubernetes Secret, reference it with `secret(\"name\", \"key\")`, and rotate it"),
        };
        out.push(d);
    });
}
