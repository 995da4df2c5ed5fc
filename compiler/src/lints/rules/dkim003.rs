//! KUMO-DKIM003 dkim-from-not-signed: the signed headers of a domain do not include `From`.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};
use crate::model::Setting;
use crate::source::Loc;
use crate::value::Typed;

declare_rule! {
    /// ## What it does
    /// Reports a DKIM-signed domain whose signed headers do not include `From`
    /// (case-insensitively). The headers are the domain's `headers`, else those of
    /// `dkim_defaults`; a domain with neither signs no headers at all and is reported too.
    /// A list in `dkim_defaults` is reported once, with every domain that uses it.
    ///
    /// ## Why is this bad?
    /// RFC 6376 §5.4 says the `From` header MUST be signed: it is the identity DKIM
    /// vouches for, and DMARC aligns on it. KumoMTA refuses to build such a signer
    /// (`missing From in signed headers`), and with no headers at all the DKIM helper fails
    /// to load, so the domain's mail is not signed (or not sent) at all.
    ///
    /// ## Example
    /// ```kumo
    /// dkim_defaults {
    ///   headers = ["To", "Subject", "Date"]
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// dkim_defaults {
    ///   headers = ["From", "To", "Subject", "Date", "Message-ID"]
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When a list is written, the fix inserts `"From"` at its start. It is safe: signing
    /// `From` is required, and the other headers stay signed. When no list is written, the
    /// fix adds `headers` with the RFC 6376 §5.4.1 set to the domain's `dkim` block; it is
    /// unsafe, as the choice of headers is yours.
    ///
    /// ## References
    /// - <https://datatracker.ietf.org/doc/html/rfc6376#section-5.4>
    /// - <https://docs.kumomta.com/userguide/configuration/dkim/>
    /// - KumoCorp/kumomta#110
    pub static RULE = {
        code: "KUMO-DKIM003",
        name: "dkim-from-not-signed",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "The DKIM signed headers do not include From",
        kind: Kind::Check(check),
    };
}

/// The RFC 6376 §5.4.1 recommendation, trimmed to the headers bulk mail carries.
const RECOMMENDED: &str = r#"["From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type"]"#;

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    // Domains signing with the defaults' list (when it lacks From).
    let mut users_of_defaults: Vec<(&str, Loc)> = Vec::new();
    for dom in &m.domains {
        let Some(dkim) = &dom.dkim else { continue };
        match dkim.settings.get("headers") {
            Some(own) => {
                if !signs_from(own) && !cx.is_stdlib(own.loc) {
                    out.push(missing_from(
                        cx,
                        own,
                        &format!("`{}` is signed without its `From` header", dom.name),
                    ));
                }
            }
            None => match m.dkim_defaults.get("headers") {
                Some(list) => {
                    if !signs_from(list) {
                        users_of_defaults.push((&dom.name, dkim.loc));
                    }
                }
                None => {
                    let d = RULE
                        .diagnostic(
                            cx,
                            format!("DKIM for `{}` signs no headers, not even `From`", dom.name),
                            dkim.loc,
                            "no `headers` here or in `dkim_defaults`",
                        )
                        .with_help(format!(
                            "set `headers = {RECOMMENDED}` here or in `dkim_defaults`"
                        ));
                    out.push(match body_start(cx, dkim.loc) {
                        Some(at) => d.with_fix(
                            "sign the recommended headers",
                            Applicability::Unsafe,
                            vec![Edit {
                                loc: at,
                                replacement: format!("\n    headers = {RECOMMENDED}"),
                            }],
                        ),
                        None => d,
                    });
                }
            },
        }
    }
    if let (Some(list), false) = (m.dkim_defaults.get("headers"), users_of_defaults.is_empty()) {
        if cx.is_stdlib(list.loc) {
            return;
        }
        let names: Vec<String> = users_of_defaults
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect();
        let mut d = missing_from(
            cx,
            list,
            &format!("{} signed without the `From` header", join_names(&names)),
        );
        for (name, at) in users_of_defaults {
            d = d.with_secondary(at, format!("`{name}` signs these headers"));
        }
        out.push(d);
    }
}

fn join_names(names: &[String]) -> String {
    match names {
        [one] => format!("{one} is"),
        _ => format!("{} are", names.join(", ")),
    }
}

/// Whether a `headers` setting lists `From`.
fn signs_from(headers: &Setting) -> bool {
    // Read in place: a copy of each header name for each domain was most of this rule's time.
    headers
        .value
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.value.text())
        .any(|h| h.trim().eq_ignore_ascii_case("from"))
}

/// The diagnostic at a written `headers` list, with the safe fix inserting `"From"`.
fn missing_from(cx: &LintContext<'_>, list: &Setting, message: &str) -> Diagnostic {
    let d = RULE
        .diagnostic(cx, message, list.loc, "`From` is not in this list")
        .with_help("`From` must be signed (RFC 6376 §5.4): add it to the list");
    let first = match &list.value {
        Typed::List(items) => items.first().map(|i| i.loc),
        _ => None,
    };
    let edit = match first {
        Some(at) => Edit {
            loc: Loc::new(at.file, kumoc_lang::Span::empty_at(at.span.start)),
            replacement: "\"From\", ".to_string(),
        },
        None => Edit {
            loc: list.loc,
            replacement: "[\"From\"]".to_string(),
        },
    };
    d.with_fix("sign `From`", Applicability::Safe, vec![edit])
}

/// Just after the `{` that opens the block whose header is at `header`, when only blanks
/// separate them.
fn body_start(cx: &LintContext<'_>, header: Loc) -> Option<Loc> {
    if cx.is_stdlib(header) {
        return None;
    }
    let text = &cx.sources.get(header.file)?.text;
    let rest = text.get(header.span.end as usize..)?;
    let blanks = rest.len() - rest.trim_start().len();
    if !rest.trim_start().starts_with('{') {
        return None;
    }
    let at = u32::try_from(header.span.end as usize + blanks + 1).ok()?;
    Some(Loc::new(header.file, kumoc_lang::Span::empty_at(at)))
}
