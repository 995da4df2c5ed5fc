//! The consumer grammars: what a string (or a value) must be for the consumer it reaches,
//! read from that consumer's source. Domains and DKIM selectors, Kubernetes object names
//! and Secret keys, `host:port`, URLs, image references, tracing log filters, queue-name
//! parts, fancy-regex patterns, and the ranges consumers read numbers back in. Each check
//! is a pure function; the checker (`check`) and the resolver apply them where a value
//! flows to that consumer and report what they return.

use std::net::IpAddr;

use crate::codes::{self, Code};
use crate::value::{Action, Typed};

pub fn check_domain(s: &str, wildcard: bool) -> Result<(), &'static str> {
    check_domain_case(s, wildcard).map(|_| ())
}

/// [`check_domain`], and whether the name has an ASCII upper-case letter: the one pass
/// over its bytes tells it, so a name already in lower case (nearly all) is not scanned
/// again to be lowered.
pub fn check_domain_case(s: &str, wildcard: bool) -> Result<bool, &'static str> {
    let body = if wildcard {
        s.strip_prefix("*.").unwrap_or(s)
    } else {
        s
    };
    if body.is_empty() {
        return Err("empty");
    }
    if body.len() > 253 {
        return Err("longer than 253 characters");
    }
    if let Some(upper) = plain_domain(body.as_bytes()) {
        return Ok(upper);
    }
    label_rules(body.as_bytes())?;
    Ok(s.bytes().any(|c| c.is_ascii_uppercase()))
}

/// The rules of a domain's labels one by one, each with its message, in order.
fn label_rules(body: &[u8]) -> Result<(), &'static str> {
    // Over bytes, not chars: a byte of a non-ASCII character fails the character rule as
    // the character did.
    for label in body.split(|&c| c == b'.') {
        if label.is_empty() {
            return Err("empty label (two dots, or a leading or trailing dot)");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if !label
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err("only letters, digits, `-` and `_` are allowed");
        }
        if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
            return Err("a label starts or ends with `-`");
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_-]`: the bytes of a domain's labels, and of a plain name in the output (a
/// bare TOML key, a bare label in a place: `emit::provenance::is_bare`).
pub(crate) static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        i += 1;
    }
    t
};

/// Whether `b` passes every rule of [`check_domain`], in one pass over its bytes (a table
/// lookup each): every label of a deployment comes through here, and nearly all are fine.
/// `Some(upper)` when it does (`upper`: it has an ASCII upper-case letter); `None` sends it
/// to the rules one by one, for the message.
fn plain_domain(b: &[u8]) -> Option<bool> {
    // `seen`: the classes of the bytes, OR'd (a byte of no class, an upper-case letter). A
    // byte is a table lookup; only a dot ends a label, whose ends and length are checked.
    let (mut seen, mut start) = (0u8, 0usize);
    for (i, &c) in b.iter().enumerate() {
        let class = DOMAIN_BYTE[c as usize];
        seen |= class;
        if class == LABEL_DOT {
            if !plain_label(b.get(start..i)?) {
                return None;
            }
            start = i + 1;
        }
    }
    if seen & LABEL_OTHER != 0 || !plain_label(b.get(start..)?) {
        return None;
    }
    Some(seen & LABEL_UPPER != 0)
}

/// A label of [`plain_domain`]'s (its bytes of a label's classes): 1 to 63 bytes, neither
/// first nor last a `-`.
fn plain_label(l: &[u8]) -> bool {
    l.len() <= 63
        && matches!((l.first(), l.last()), (Some(&first), Some(&last)) if first != b'-' && last != b'-')
}

/// [`plain_domain`]'s classes of bytes, flags: `[A-Za-z0-9_]` (upper-case letters with a
/// flag of their own as well), `-`, `.`, anything else.
const LABEL_CHAR: u8 = 1;
const LABEL_DASH: u8 = 2;
const LABEL_DOT: u8 = 4;
const LABEL_UPPER: u8 = 8;
const LABEL_OTHER: u8 = 16;
static DOMAIN_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c == b'-' {
            LABEL_DASH
        } else if c == b'.' {
            LABEL_DOT
        } else if c.is_ascii_uppercase() {
            LABEL_CHAR | LABEL_UPPER
        } else if NAME_BYTE[i] {
            LABEL_CHAR
        } else {
            LABEL_OTHER
        };
        i += 1;
    }
    t
};

pub fn check_k8s_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("only lowercase letters, digits and `-`");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit");
    }
    Ok(())
}

pub fn check_secret_key(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("invalid character");
    }
    // apimachinery's `IsConfigMapKey`: not `.`, and no `..` prefix (the kubelet writes each
    // key as a file beside its own `..data` link).
    if s == "." || s.starts_with("..") {
        return Err("`.` and names starting with `..` are not keys");
    }
    Ok(())
}

pub fn check_host_port(s: &str) -> Result<(), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, p)) = rest.split_once("]:") else {
            return Err("an IPv6 host is written `[addr]:port`");
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("not an IPv6 address");
        }
        (h, p)
    } else {
        let Some((h, p)) = s.rsplit_once(':') else {
            return Err("missing `:port`");
        };
        if h.parse::<IpAddr>().is_err() {
            check_domain(h, false)?;
        }
        (h, p)
    };
    if host.is_empty() {
        return Err("missing host");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("the port must be 1 to 65535"),
    }
}

pub fn check_url(s: &str, schemes: &[&str]) -> Result<(), (&'static str, String)> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err((
            "missing `scheme://`",
            format!(
                "write it like \"{}://host:6379\"",
                schemes.first().unwrap_or(&"redis")
            ),
        ));
    };
    if !schemes.contains(&scheme) {
        return Err((
            "unsupported scheme",
            format!("use one of: {}", schemes.join(", ")),
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err((
            "credentials in the URL",
            "never write credentials in .kumo: set `username` and `password = secret(\"...\")`"
                .to_string(),
        ));
    }
    if authority.is_empty() {
        return Err(("missing host", "write the host after `://`".to_string()));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(("contains whitespace", "remove the spaces".to_string()));
    }
    Ok(())
}

// ----- names that share a namespace with a consumer's own keys (issue 11) ----------------

/// The keys KumoMTA's queue helper reads as options in the tables where kumoc writes tenant
/// and campaign names: `[queue."d"]` holds options and tenants, `[queue."d"."t"]` options and
/// campaigns, and the helper decides which is which by trying each key as an option
/// (`assets/policy-extras/queue.lua`, `parse_domain` / `parse_tenant_with_campaign`, and
/// `is_queue_config_option`, which asks `kumo.make_queue_config`). So a tenant named
/// `max_age` is not TOML at all when the block also sets `max_age` (the same key twice), and
/// is read as a broken option otherwise; `tenants` and `campaigns` are the helper's own record
/// fields, which an empty table silently fills. The fields of `QueueConfig`
/// (`crates/kumod/src/queue/config.rs`) and of the helper's records.
/// The most a Secret's data may hold: the API server refuses more (`MaxSecretSize`).
pub const SECRET_LIMIT: u64 = 1024 * 1024;

/// The size of a DKIM private key as a PEM file (PKCS#8, as `openssl genpkey` and
/// `kumoc dkim keygen` write it), by algorithm and RSA size: about 1.7 KB for RSA-2048.
pub fn dkim_key_pem_bytes(ed25519: bool, bits: Option<i64>) -> u64 {
    if ed25519 {
        return 119;
    }
    // The DER is about 9/16 of a byte per bit of modulus plus a fixed header; base64 and
    // line breaks add a third: 2048 bits give 1,704 bytes.
    let bits = u64::try_from(bits.unwrap_or(2048)).unwrap_or(2048);
    bits * 1704 / 2048
}

pub const QUEUE_HELPER_KEYS: &[&str] = &[
    "retry_interval",
    "max_retry_interval",
    "max_age",
    "egress_pool",
    "max_message_rate",
    "protocol",
    "reap_interval",
    "refresh_interval",
    "timerwheel_tick_interval",
    "strategy",
    "refresh_strategy",
    "provider_name",
    "shrink_policy",
    "overall_max_message_rate",
    "routing_domain",
    "require_authz",
    "campaigns",
    "tenants",
];

/// Top-level keys of `shaping.toml` that are not destinations: `provider` holds the provider
/// blocks (`ShapingFile` in `crates/kumo-api-types/src/shaping.rs`). (`default` is the
/// `shaping default` block itself.)
pub const SHAPING_RESERVED_KEYS: &[&str] = &["provider"];

/// A tenant or campaign name. Besides being a key of `queues.toml` (see [`QUEUE_HELPER_KEYS`]),
/// it is a part of KumoMTA's scheduled queue names, `campaign:tenant@domain!routing_domain`,
/// which KumoMTA splits back at the first `@`, then at the first `:`
/// (`QueueNameComponents::parse`, `crates/message/src/message.rs`): a `@` or `:` in a tenant
/// or campaign puts mail in another queue than its configuration names.
pub fn check_queue_name_part(s: &str) -> Result<(), (&'static str, &'static str)> {
    if s.contains(['@', ':']) {
        return Err((
            "`@` and `:` separate the parts of a queue name",
            "KumoMTA names queues `campaign:tenant@domain` and splits the name at the first `:` and `@`: use other characters",
        ));
    }
    if QUEUE_HELPER_KEYS.contains(&s) {
        return Err((
            "an option name of KumoMTA's queue helper",
            "in queues.toml, tenants and campaigns share tables with the queue options, and KumoMTA reads a key named like an option as that option: choose another name",
        ));
    }
    Ok(())
}

/// A webhook's name. `policy-extras.log_hooks` queues a hook's records as
/// `<name>.log_hook` and answers `get_queue_config` for that domain only; KumoMTA splits a
/// queue name at `@`, `:` and `!` (`QueueNameComponents::parse`), so a name holding one of
/// them puts the records in a queue whose configuration is never found (delivered by SMTP to
/// a domain that does not exist instead of posted to the endpoint).
pub fn check_log_hook_name(s: &str) -> Result<(), (&'static str, &'static str)> {
    if s.contains(['@', ':', '!']) {
        return Err((
            "`@`, `:` and `!` separate the parts of a queue name",
            "KumoMTA queues a webhook's records as `<name>.log_hook` and splits queue names at `@`, `:` and `!`: use other characters",
        ));
    }
    Ok(())
}

// ----- values where they are used (issue 11) ----------------------------------------------

/// The largest duration any consumer reads back: Kubernetes stores seconds as 32-bit integers
/// (probes), and KumoMTA converts durations to `chrono::Duration` (milliseconds in an `i64`;
/// `QueueConfig::get_max_age` unwraps it) and Prometheus to nanoseconds in an `i64`.
pub const MAX_DURATION_MS: u64 = i32::MAX as u64 * 1000;

/// Why a typed value cannot be what `block.field` becomes: (label, help). The grammar was
/// checked already; these are the ranges of the values' consumers.
#[inline]
pub fn value_rule(block: &str, field: &str, v: &Typed) -> Option<(Code, String, String)> {
    // Only sizes, CPU, durations, percentages, regexes, and lists and actions of them have
    // a rule (`rule_of`): any other value (most of them) leaves here, inlined in the
    // caller (the rules' function costs about 30 instructions just to enter and leave).
    if !matches!(
        v,
        Typed::Size(_)
            | Typed::Cpu(_)
            | Typed::Duration(_)
            | Typed::Percent(_)
            | Typed::Regex(_)
            | Typed::List(_)
            | Typed::Action(_)
    ) {
        return None;
    }
    rule_of(block, field, v)
}

/// [`value_rule`] of a value that may have one.
fn rule_of(block: &str, field: &str, v: &Typed) -> Option<(Code, String, String)> {
    let range = |why: &str, help: String| Some((codes::OUT_OF_RANGE, why.to_string(), help));
    match (block, field, v) {
        (_, _, Typed::Size(n)) if *n > i64::MAX as u64 => range(
            "larger than 8 EiB",
            "KumoMTA's Lua and Kubernetes read sizes as 64-bit signed integers: use at most `7Ei`".into(),
        ),
        (_, _, Typed::Cpu(n)) if *n > i64::MAX as u64 => range(
            "too many cores",
            "Kubernetes counts CPU in millicores in a 64-bit signed integer".into(),
        ),
        (_, _, Typed::Duration(ms)) if *ms > MAX_DURATION_MS => range(
            "longer than 68 years",
            format!(
                "durations are at most {}s (2^31 − 1 seconds): Kubernetes stores seconds as 32-bit integers and KumoMTA refuses longer ones at run time",
                MAX_DURATION_MS / 1000
            ),
        ),
        // Kubernetes and the DKIM helper read these in whole seconds: a fraction would be
        // rounded, 0 where they need at least 1 would be written as 1.
        (
            "readiness" | "startup" | "liveness" | "mta" | "dkim" | "dkim_defaults",
            "initial_delay" | "period" | "timeout" | "termination_grace_period" | "expiration",
            Typed::Duration(ms),
        ) if !ms.is_multiple_of(1000) => range(
            "not a whole number of seconds",
            format!("`{field}` is written in whole seconds: use `{}s`", ms.div_ceil(1000).max(1)),
        ),
        (
            "readiness" | "startup" | "liveness" | "mta" | "dkim" | "dkim_defaults",
            "period" | "timeout" | "termination_grace_period" | "expiration",
            Typed::Duration(0),
        ) => range(
            "0 seconds",
            match field {
                "termination_grace_period" => "kumod needs time to finish deliveries and flush the spool: give it at least `1s` (kumoc's default is `300s`)".to_string(),
                "expiration" => "signatures would already be expired when they are sent: use at least `1s` (days, in practice)".to_string(),
                _ => format!("Kubernetes requires a probe `{field}` of at least 1 second: use `1s`"),
            },
        ),
        ("mta", "spool", Typed::Size(0)) | ("tsa", "storage", Typed::Size(0)) => range(
            "a volume of 0 bytes",
            "the volume is a PersistentVolumeClaim, and Kubernetes requires it to request more than 0 bytes".into(),
        ),
        // A PromQL range (`delta(x[0s])`) must be positive; KEDA polls every whole second.
        ("alerts", "queue_growth_window", Typed::Duration(0)) => range(
            "a window of 0 seconds",
            "Prometheus refuses an empty range: measure the growth over e.g. `1h`".into(),
        ),
        ("autoscale", "polling_interval", Typed::Duration(ms))
            if *ms < 1000 || !ms.is_multiple_of(1000) =>
        {
            range(
                "not a whole number of seconds, at least 1",
                format!(
                    "KEDA's `pollingInterval` is a whole number of seconds, at least 1: use `{}s`",
                    ms.div_ceil(1000).max(1)
                ),
            )
        }
        ("autoscale", "cpu" | "memory", Typed::Percent(0)) => range(
            "a target of 0%",
            "Kubernetes requires a utilization target of at least 1%".into(),
        ),
        // fancy-regex compiles an empty pattern, which matches every response: every
        // delivery would fire the rule.
        (_, _, Typed::Regex(r)) if r.is_empty() => Some((
            codes::INVALID_REGEX,
            "matches every response".into(),
            "an empty pattern fires the rule on every delivery: write what the response says, like `'4\\.7\\.28'`".into(),
        )),
        (_, _, Typed::List(items)) => items
            .iter()
            .find_map(|i| value_rule(block, field, &i.value)),
        (_, _, Typed::Action(Action::SetConfig { field: f, value, .. })) => {
            value_rule("shaping", f.name, &value.value)
        }
        _ => None,
    }
}

/// The grammar a field's strings follow for their consumer, beyond being printable: only
/// fields whose text means something to its consumer have one (the others are
/// [`StringGrammar::Any`]).
/// Resolved once per field ([`StringGrammar::of`]), then applied to each string of the
/// value ([`StringGrammar::check`]: a list's items are checked without matching the
/// `(block, field)` names again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringGrammar {
    /// Any printable string.
    Any,
    Selector,
    HeaderName,
    StorageClass,
    SecretKey,
    Image,
    RoutingDomain,
    LogFilter,
}

impl StringGrammar {
    /// The grammar of field `field` of block `block`.
    pub fn of(block: &str, field: &str) -> StringGrammar {
        match (block, field) {
            ("dkim" | "dkim_defaults", "selector") => StringGrammar::Selector,
            ("tenancy", "tenant_header" | "campaign_header" | "scheduling_header")
            | ("dkim" | "dkim_defaults" | "logging", "headers") => StringGrammar::HeaderName,
            ("mta" | "tsa", "storage_class") => StringGrammar::StorageClass,
            ("secret", "keys") => StringGrammar::SecretKey,
            ("deployment", "image") => StringGrammar::Image,
            ("queue", "routing_domain") => StringGrammar::RoutingDomain,
            ("logging", "filter") => StringGrammar::LogFilter,
            _ => StringGrammar::Any,
        }
    }

    /// Why `s` does not follow this grammar: the code, the reason and the help.
    pub fn check(self, s: &str) -> Option<(Code, &'static str, &'static str)> {
        let bad = |code, why, help| Some((code, why, help));
        match self {
            StringGrammar::Any => None,
            StringGrammar::Selector => check_domain(s, false).err().and_then(|why| {
                bad(codes::INVALID_NAME, why, "a DKIM selector is dot-separated labels of letters, digits and `-`, like `s2048`")
            }),
            StringGrammar::HeaderName => {
                let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b':');
                if ok {
                    None
                } else {
                    bad(codes::INVALID_NAME, "not a header name", "a header name is printable ASCII without spaces or `:`, like `X-Tenant`")
                }
            }
            StringGrammar::StorageClass => check_dns_subdomain(s).err().and_then(|why| {
                bad(codes::INVALID_NAME, why, "StorageClass names are lowercase letters, digits, `-` and `.`")
            }),
            StringGrammar::SecretKey => check_secret_key(s).err().and_then(|why| {
                bad(codes::INVALID_NAME, why, "Secret keys are letters, digits, `-`, `_` and `.`")
            }),
            StringGrammar::Image => check_image(s).err().and_then(|why| {
                bad(codes::INVALID_NAME, why, "write the image repository, like `ghcr.io/kumocorp/kumomta`, optionally pinned to a digest: `ghcr.io/kumocorp/kumomta@sha256:<64 hex digits>`")
            }),
            StringGrammar::RoutingDomain => {
                // KumoMTA's `MailExchanger::resolve` (crates/dns-resolver): `[IPv6:addr]` (the
                // tag in any case), or `[addr]`, IPv4 or an untagged IPv6.
                let ip = s
                    .strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .is_some_and(|ip| {
                        let v6 = ip.get(..5).filter(|t| t.eq_ignore_ascii_case("ipv6:"));
                        match (v6, ip.get(5..)) {
                            (Some(_), Some(addr)) => addr.parse::<std::net::Ipv6Addr>().is_ok(),
                            _ => ip.parse::<IpAddr>().is_ok(),
                        }
                    });
                if ip {
                    return None;
                }
                check_domain(s, false).err().and_then(|why| {
                    bad(codes::INVALID_NAME, why, "route to a domain, or to an address written `[10.0.0.5]` or `[IPv6:2001:db8::5]`")
                })
            }
            StringGrammar::LogFilter => check_log_filter(s).err().and_then(|why| {
                bad(codes::INVALID_TEXT, why, "a filter is comma-separated `target=level` or `level` directives without spaces, like `kumod=info,lua=warn`; levels are trace, debug, info, warn, error and off")
            }),
        }
    }
}

/// A DNS-1123 subdomain (Kubernetes object names such as Secrets and StorageClasses).
pub fn check_dns_subdomain(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    if plain_dns_subdomain(s.as_bytes()) {
        return Ok(());
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err("empty part between dots");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("only lowercase letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part starts or ends with `-`");
        }
    }
    Ok(())
}

/// [`check_dns_subdomain`]'s rules in one pass over the bytes, for the usual name that
/// keeps them all (`false` sends it through the rules one by one, for the message).
fn plain_dns_subdomain(b: &[u8]) -> bool {
    // `prev`: the class of the last byte (a dot before the first). A letter or digit (nearly
    // every byte) is one table lookup and one branch.
    let mut prev = LABEL_DOT;
    for &c in b {
        let class = SUBDOMAIN_BYTE[c as usize];
        let ok = match class {
            LABEL_CHAR => true,
            LABEL_DASH => prev != LABEL_DOT,
            LABEL_DOT => prev == LABEL_CHAR,
            _ => false,
        };
        if !ok {
            return false;
        }
        prev = class;
    }
    prev == LABEL_CHAR
}

/// [`plain_dns_subdomain`]'s classes of bytes: `[a-z0-9]`, `-`, `.`, anything else (0).
static SUBDOMAIN_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c == b'-' {
            LABEL_DASH
        } else if c == b'.' {
            LABEL_DOT
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            LABEL_CHAR
        } else {
            0
        };
        i += 1;
    }
    t
};

/// An image reference: `[registry[:port]/]path[:tag][@digest]`, path parts of lowercase
/// letters, digits and `._-`. A digest (`@sha256:<64 hex>`, the strongest pin: the registry
/// serves those bytes or nothing) is welcome; the tag comes from `kumomta`.
fn check_image(s: &str) -> Result<(), &'static str> {
    let (without_digest, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    if let Some(digest) = digest {
        // The OCI image spec's registered algorithms, as Kubernetes pulls them.
        let hex = |h: &str, n: usize| {
            h.len() == n
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let ok = match digest.split_once(':') {
            Some(("sha256", h)) => hex(h, 64),
            Some(("sha512", h)) => hex(h, 128),
            _ => false,
        };
        if !ok {
            return Err("a digest is `@sha256:` and 64 lowercase hex digits");
        }
    }
    let repository = match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    };
    if repository.is_empty() {
        return Err("no repository");
    }
    let parts: Vec<&str> = repository.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let registry = i == 0 && parts.len() > 1;
        let ok = !part.is_empty()
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric())
            && part.chars().all(|c| {
                c.is_ascii_digit()
                    || c.is_ascii_lowercase()
                    || matches!(c, '.' | '_' | '-')
                    || (registry && (c.is_ascii_uppercase() || c == ':'))
            });
        if !ok {
            return Err("not an image repository");
        }
    }
    if s.chars().any(|c| !(c.is_ascii_graphic())) {
        return Err("not an image reference");
    }
    Ok(())
}

/// A tracing `EnvFilter` (`kumo.set_diagnostic_log_filter`): comma-separated directives, each
/// a level, or a target and/or `[span]` with an optional `=level`.
fn check_log_filter(s: &str) -> Result<(), &'static str> {
    fn level(l: &str) -> bool {
        matches!(
            l.to_ascii_lowercase().as_str(),
            "trace"
                | "debug"
                | "info"
                | "warn"
                | "error"
                | "off"
                | "0"
                | "1"
                | "2"
                | "3"
                | "4"
                | "5"
        )
    }
    // tracing-subscriber splits on `,` and trims nothing: ` lua=info` is not a directive,
    // and kumod's `init` fails on it.
    for directive in s.split(',').filter(|d| !d.is_empty()) {
        if directive.trim() != directive {
            return Err(
                "a space around a directive (kumod reads the filter as written: no spaces)",
            );
        }
        let (what, lvl) = match directive.rsplit_once('=') {
            Some((what, l)) if !what.contains(['[', ']']) || what.ends_with(']') => (what, Some(l)),
            _ => (directive, None),
        };
        if let Some(l) = lvl {
            if !l.is_empty() && !level(l) {
                return Err("unknown level");
            }
        } else if level(what) {
            continue;
        }
        let (target, span) = match what.find('[') {
            Some(at) => (&what[..at], Some(&what[at..])),
            None => (what, None),
        };
        let target_ok = target
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-'));
        let span_ok = span.is_none_or(|sp| {
            sp.len() >= 2 && sp.ends_with(']') && !sp[1..sp.len() - 1].contains(']')
        });
        if !target_ok || !span_ok || (target.is_empty() && span.is_none()) {
            return Err("not a filter directive");
        }
    }
    Ok(())
}

/// Why `pattern` does not compile (KumoMTA compiles automation patterns with fancy-regex), or
/// `None`. Memoized per thread: compiling the stdlib's automation patterns took most of the
/// check of a small deployment, on every analysis (every keystroke in the editor). The memo
/// is cleared when it grows past a few thousand patterns, so an editing session cannot grow it
/// without bound.
pub fn regex_error(pattern: &str) -> Option<String> {
    const MAX_MEMO: usize = 4096;
    thread_local! {
        static MEMO: std::cell::RefCell<rustc_hash::FxHashMap<String, Option<String>>> =
            std::cell::RefCell::default();
    }
    MEMO.with(|memo| {
        if let Some(known) = memo.borrow().get(pattern) {
            return known.clone();
        }
        let result = fancy_regex::Regex::new(pattern)
            .err()
            .map(|e| e.to_string());
        let mut memo = memo.borrow_mut();
        if memo.len() >= MAX_MEMO {
            memo.clear();
        }
        memo.insert(pattern.to_string(), result.clone());
        result
    })
}

/// An image reference without its tag or digest (a registry's `:port` is kept).
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let name_start = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest.get(name_start..).and_then(|n| n.find(':')) {
        Some(colon) => no_digest.get(..name_start + colon).unwrap_or(no_digest),
        None => no_digest,
    }
}

/// A UTC calendar date `YYYY-MM-DD` (years 1970 to 9999): the second its midnight UTC
/// starts, since the Unix epoch.
pub fn utc_date_start(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let shape = b.len() == 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-');
    let (Some(y), Some(m), Some(d), true) = (digits(0..4), digits(5..7), digits(8..10), shape)
    else {
        return Err("write the date as \"YYYY-MM-DD\"".to_string());
    };
    if y < 1970 {
        return Err("the year must be 1970 or later".to_string());
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let Some(&max_day) = usize::try_from(m - 1).ok().and_then(|i| month_days.get(i)) else {
        return Err(format!("there is no month {m}"));
    };
    if d < 1 || d > max_day {
        return Err(format!("month {m} of {y} has no day {d}"));
    }
    // Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400)
}

/// The UTC date `YYYY-MM-DD` whose midnight is `secs` after the Unix epoch (the inverse of
/// [`utc_date_start`]); `None` for a second that is not a midnight of years 1970 to 9999.
pub fn utc_date_of(secs: i64) -> Option<String> {
    if secs < 0 || secs % 86_400 != 0 {
        return None;
    }
    // Howard Hinnant's civil_from_days.
    let z = secs / 86_400 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y <= 9999).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod date_tests {
    use super::{utc_date_of, utc_date_start};

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date_start("1970-01-01"), Ok(0));
        assert_eq!(utc_date_start("2000-03-01"), Ok(951_868_800));
        assert_eq!(utc_date_start("2026-12-01"), Ok(1_796_083_200));
        assert_eq!(utc_date_start("2024-02-29"), Ok(1_709_164_800));
        assert!(utc_date_start("2025-02-29").is_err());
        assert!(utc_date_start("2026-13-01").is_err());
        assert!(utc_date_start("2026-1-01").is_err());
        assert!(utc_date_start("1969-12-31").is_err());
        assert!(utc_date_start("２026-01-01").is_err());
        for d in [
            "1970-01-01",
            "2000-02-29",
            "2026-12-01",
            "2100-03-01",
            "9999-12-31",
        ] {
            assert_eq!(utc_date_of(utc_date_start(d).unwrap()).as_deref(), Some(d));
        }
        assert_eq!(utc_date_of(86_399), None);
    }
}

#[cfg(test)]
mod domain_tests {
    use super::{check_dns_subdomain, label_rules, plain_dns_subdomain, plain_domain};

    /// Every string of up to 4 bytes over `alphabet`, the empty one first.
    fn up_to_4_bytes(alphabet: &[u8]) -> Vec<Vec<u8>> {
        let mut cases: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut next = Vec::new();
            for c in cases.iter().filter(|c| c.len() == len - 1) {
                for &b in alphabet {
                    let mut s = c.clone();
                    s.push(b);
                    next.push(s);
                }
            }
            cases.extend(next);
        }
        cases
    }

    /// The one-pass check of a DNS subdomain accepts exactly what its rules one by one
    /// accept: every string of up to 4 bytes over an alphabet with each kind of byte.
    #[test]
    fn the_subdomain_fast_path_agrees_with_the_rules() {
        let cases = up_to_4_bytes(b"a-.9Z_");
        for c in cases.iter().filter(|c| !c.is_empty()) {
            let s = String::from_utf8_lossy(c);
            // The rules alone: what `check_dns_subdomain` says when the fast path says no.
            let rules = s.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
            assert_eq!(plain_dns_subdomain(c), rules, "{s:?}");
            assert_eq!(check_dns_subdomain(&s).is_ok(), rules, "{s:?}");
        }
    }

    /// The one-pass check accepts exactly what the rules one by one accept: every string
    /// of up to 4 bytes over an alphabet with each kind of byte, and some longer ones.
    #[test]
    fn the_fast_path_agrees_with_the_rules() {
        let mut cases = up_to_4_bytes(b"a-._Z9\xc3*");
        let long = "a".repeat(63);
        for s in [
            format!("{long}.com"),
            format!("{long}a.com"),
            format!("x.{long}"),
            format!("x.{long}a"),
            "d1.example.com".to_string(),
            "mta-1.example-.com".to_string(),
        ] {
            cases.push(s.into_bytes());
        }
        for c in &cases {
            assert_eq!(
                plain_domain(c).is_some(),
                label_rules(c).is_ok(),
                "{:?}",
                String::from_utf8_lossy(c)
            );
            if let Some(upper) = plain_domain(c) {
                assert_eq!(upper, c.iter().any(u8::is_ascii_uppercase));
            }
        }
    }
}
