//! Schema checkers for the four KumoMTA helper data files kumoc emits: `sources.toml`,
//! `dkim_data.toml`, `queues.toml` and `shaping.toml`.
//!
//! Each checker re-parses the text with the `toml` crate (TOML 1.0, as KumoMTA does) and walks
//! it against the schema the real helper applies, so that an unknown key, a wrong type, or a
//! value one of KumoMTA's grammars rejects is reported. A problem names its TOML path, e.g.
//! `source."a".ehlo_domian: unknown field`. Names chosen by the user (sources, pools, domains,
//! tenants, campaigns, signatures, providers) are always quoted in the path; schema field
//! names are bare.
//!
//! The schema was read from `KumoCorp/kumomta`:
//! * `assets/policy-extras/sources.lua` (records `SourcesHelperConfig`, `PoolSourceEntry`),
//!   `crates/kumod/src/egress_source.rs` (`EgressSource`, `EgressPoolEntry`, `SuspendOnFailure`);
//! * `assets/policy-extras/dkim_sign.lua` (record `DkimSignConfig`), `crates/message/src/dkim.rs`
//!   (`SignerConfig`, `Canon`), `crates/dkim/src/sign.rs` (`with_signed_headers`);
//! * `assets/policy-extras/queue.lua` (records `QueueHelperConfig`, `TenantConfig`,
//!   `DomainConfig`, `TenantWithCampaignConfig`, `CampaignConfig`),
//!   `crates/kumod/src/queue/config.rs` (`QueueConfig`, `QueueShrinkPolicy`),
//!   `crates/kumod/src/queue/strategy.rs`, `crates/kumod/src/queue/delivery_proto.rs`;
//! * `crates/kumo-api-types/src/shaping.rs` (`ShapingFile`, `PartialEntry`, `ProviderEntry`,
//!   `ProviderMatch`, `Rule`, `Action`, `Trigger`), `crates/kumo-api-types/src/egress_path.rs`
//!   (`EgressPathConfig` and its enums), `crates/rfc5321/src/client_types.rs`
//!   (`SmtpClientTimeouts`, flattened into `EgressPathConfig`);
//! * release gates from `docs/changelog/*.md` and the `{{since(...)}}` markers in `docs/`.
//!
//! Value grammars come from `kumoc_lang::units` (faithful copies of KumoMTA's parsers); duration
//! strings use the humantime flavor of the target release.
//!
//! Deliberate strictness beyond KumoMTA (kumoc must never emit these):
//! * unknown keys in an automation rule, in `{SetConfig={name, value}}`, in an SMTP `protocol`
//!   table or in a KeySource table are reported, although KumoMTA's serde ignores them there;
//! * `name` inside `[source."x"]` is reported, although the helper accepts it (it silently
//!   overrides the table key);
//! * a proxy server without its source address (or the reverse), or a SOCKS5 username without
//!   a password (or the reverse), is reported: KumoMTA silently connects directly / without
//!   authentication;
//! * a shaping domain key that is not a DNS name (a TSA `….tsa.kumomta` pseudo-domain, say)
//!   must set `mx_rollup = false`, or the loader drops the block when MX resolution fails;
//! * a `[signature."x"]` block that `base.additional_signatures` never lists is reported
//!   (`kumod --validate` fails on it).
//!
//! `check_shaping` reports a single-label domain key (no `.`) as a problem whose message
//! starts with `warning:` (after the path), mirroring KumoMTA's load-time warning (an unquoted `[gmail.com]` makes a nested
//! table).

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;

use kumoc_lang::units::{self, KumoVersion};
use toml::{Table, Value};

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Problems found in a `sources.toml` (empty = valid).
pub fn check_sources(text: &str, version: &KumoVersion) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(problem) => return vec![problem],
    };
    let mut ck = Ck::new(version);
    sources_file(&mut ck, &doc);
    ck.out
}

/// Problems found in a `dkim_data.toml` (empty = valid).
pub fn check_dkim(text: &str, version: &KumoVersion) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(problem) => return vec![problem],
    };
    let mut ck = Ck::new(version);
    dkim_file(&mut ck, &doc);
    ck.out
}

/// Problems found in a `queues.toml` (empty = valid).
pub fn check_queues(text: &str, version: &KumoVersion) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(problem) => return vec![problem],
    };
    let mut ck = Ck::new(version);
    queues_file(&mut ck, &doc);
    ck.out
}

/// Problems found in a `shaping.toml` (empty = valid). A single-label domain key is reported
/// as a problem whose message starts with `warning:`, like KumoMTA's load-time warning.
pub fn check_shaping(text: &str, version: &KumoVersion) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(problem) => return vec![problem],
    };
    let mut ck = Ck::new(version);
    shaping_file(&mut ck, &doc);
    ck.out
}

/// Every rate and duration string found anywhere in a file, with its path, for tests that want
/// to re-parse them explicitly. A string is a rate when its key is a ThrottleSpec field
/// (`max_message_rate`, `overall_max_message_rate`, `provider_*_rate`, `Threshold`, ...) or an
/// entry of `additional_message_rate_throttles` / `additional_source_selection_rates`; it is a
/// duration when its key is a duration field (`*_timeout`, `*_interval`, `max_age`, `ttl`,
/// `duration`, `interval`, `remember_broken_tls`). The `value` of a `{SetConfig={name, value}}`
/// action is classified by its `name`. Only string values are returned (an integer number of
/// seconds is not a string). Keys in the path are quoted only when they are not bare TOML keys.
/// A file that does not parse yields nothing.
pub fn rate_and_duration_strings(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(doc) = parse(text) {
        for (k, v) in &doc {
            collect_strings(v, &key("", k), Some(k), false, &mut out);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Plumbing: problems, paths, versions
// ---------------------------------------------------------------------------------------------

fn parse(text: &str) -> Result<Table, String> {
    text.parse::<Table>()
        .map_err(|e| format!("not valid TOML: {}", e.to_string().trim_end()))
}

/// A release date, `(year, month, day)`.
type Since = (u16, u8, u8);

const V2024_06_10: Since = (2024, 6, 10);
const V2024_09_02: Since = (2024, 9, 2);
const V2024_11_08: Since = (2024, 11, 8);
const V2025_01_23: Since = (2025, 1, 23);
const V2025_01_29: Since = (2025, 1, 29);
const V2025_03_19: Since = (2025, 3, 19);
const V2025_05_06: Since = (2025, 5, 6);
const V2025_10_06: Since = (2025, 10, 6);
const V2025_12_02: Since = (2025, 12, 2);
const V2026_04_09: Since = (2026, 4, 9);
const V2026_09_22: Since = (2026, 9, 22);

struct Ck<'a> {
    version: &'a KumoVersion,
    out: Vec<String>,
}

impl<'a> Ck<'a> {
    fn new(version: &'a KumoVersion) -> Self {
        Self {
            version,
            out: Vec::new(),
        }
    }

    fn push(&mut self, path: &str, msg: impl fmt::Display) {
        if path.is_empty() {
            self.out.push(msg.to_string());
        } else {
            self.out.push(format!("{path}: {msg}"));
        }
    }

    fn has(&self, since: Since) -> bool {
        *self.version >= KumoVersion::date(since.0, since.1, since.2)
    }

    /// Whether the target release has a feature; reports a problem when it does not.
    fn gate(&mut self, path: &str, what: &str, since: Since) -> bool {
        if self.has(since) {
            return true;
        }
        let msg = format!(
            "{what} needs KumoMTA {:04}.{:02}.{:02} or later (target is {})",
            since.0, since.1, since.2, self.version
        );
        self.push(path, msg);
        false
    }

    fn wrong_type(&mut self, path: &str, expected: &str, v: &Value) {
        self.push(path, format!("expected {expected}, found {}", type_name(v)));
    }

    fn unknown(&mut self, path: &str) {
        self.push(path, "unknown field");
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn quote(k: &str) -> String {
    format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `path.field` (the field quoted only if it is not a bare key).
fn key(path: &str, field: &str) -> String {
    let f = if is_bare_key(field) {
        field.to_string()
    } else {
        quote(field)
    };
    if path.is_empty() {
        f
    } else {
        format!("{path}.{f}")
    }
}

/// `path."name"`: a user-chosen name, always quoted.
fn named(path: &str, name: &str) -> String {
    if path.is_empty() {
        quote(name)
    } else {
        format!("{path}.{}", quote(name))
    }
}

fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

// ---------------------------------------------------------------------------------------------
// Field tables
// ---------------------------------------------------------------------------------------------

/// The type of a field, as the KumoMTA side deserializes it.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    /// A non-negative integer no larger than this.
    UInt(u64),
    /// `duration_serde`: integer seconds, float seconds, or a humantime string.
    Duration,
    /// `ThrottleSpec` string.
    Rate,
    /// `LimitSpec`: integer >= 1, or (since 2025.01.23) a `"[local:]N"` string.
    Limit,
    LimitMap,
    RateMap,
    /// A serde unit-variant enum: the exact-case variant name.
    Enum(&'static [&'static str]),
    KeySource,
    CidrList,
    StrList,
    /// `"NAME|NAME"` of openssl `SslOptions` flag names.
    OpensslOptions,
    RustlsSuites,
    /// `IpAddr`: an IP literal, no CIDR, no port.
    Ip,
    /// `"IP:port"`, or (since 2026.09.22) `"host:port"`.
    ProxyServer,
    /// `SuspendOnFailure`: `{trigger=…, duration=…}`.
    SuspendRule,
    /// `QueueConfig.protocol` (`DeliveryProto`, untagged).
    Protocol,
    /// `QueueConfig.shrink_policy`: array of `{interval, policy}`.
    ShrinkPolicy,
}

const USIZE: Ty = Ty::UInt(i64::MAX as u64);
const U16: Ty = Ty::UInt(u16::MAX as u64);
const U32: Ty = Ty::UInt(u32::MAX as u64);

struct Field {
    name: &'static str,
    ty: Ty,
    since: Option<Since>,
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        since: None,
    }
}

const fn g(name: &'static str, ty: Ty, since: Since) -> Field {
    Field {
        name,
        ty,
        since: Some(since),
    }
}

const TLS: &[&str] = &[
    "Opportunistic",
    "OpportunisticInsecure",
    "Required",
    "RequiredInsecure",
    "Disabled",
];
const IP_LOOKUP: &[&str] = &[
    "Ipv4Only",
    "Ipv6Only",
    "Ipv4AndIpv6",
    "Ipv6ThenIpv4",
    "Ipv4ThenIpv6",
];
const REFRESH: &[&str] = &["Ttl", "Epoch"];
const WAKEUP: &[&str] = &["Aggressive", "Relaxed"];
const RECONNECT: &[&str] = &["TerminateSession", "ReconnectSameHost", "ConnectNextHost"];
const MEMORY: &[&str] = &["ShrinkDataAndMeta", "ShrinkData", "NoShrink"];
const QUEUE_STRATEGY: &[&str] = &[
    "TimerWheel",
    "SkipList",
    "SingletonTimerWheel",
    "SingletonTimerWheelV2",
];
const CANON: &[&str] = &["Relaxed", "Simple"];
const ALGO: &[&str] = &["sha256", "ed25519"];
const DOMAIN_POLICY: &[&str] = &["Always"];
const SIGNATURE_POLICY: &[&str] = &["Always", "OnlyIfMissingDomainBlock"];

/// rustls `aws_lc_rs::ALL_CIPHER_SUITES`, as `format!("{:?}", suite.suite())` names them
/// (KumoMTA matches case-insensitively).
const RUSTLS_SUITES: &[&str] = &[
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// `EgressPathConfig` (deny_unknown_fields), including the flattened `SmtpClientTimeouts`.
/// Release gates from `docs/changelog/*`.
const EGRESS_PATH: &[Field] = &[
    f("connection_limit", Ty::Limit),
    f("additional_connection_limits", Ty::LimitMap),
    f("enable_tls", Ty::Enum(TLS)),
    f("enable_mta_sts", Ty::Bool),
    f("enable_dane", Ty::Bool),
    g("enable_pipelining", Ty::Bool, V2025_01_23),
    g("enable_rset", Ty::Bool, V2025_01_23),
    g("tls_prefer_openssl", Ty::Bool, V2024_09_02),
    f("tls_certificate", Ty::KeySource),
    f("tls_private_key", Ty::KeySource),
    g("openssl_cipher_list", Ty::Str, V2024_09_02),
    g("openssl_cipher_suites", Ty::Str, V2024_09_02),
    g("openssl_options", Ty::OpensslOptions, V2024_09_02),
    g("rustls_cipher_suites", Ty::RustlsSuites, V2024_09_02),
    f("connect_timeout", Ty::Duration),
    g("banner_timeout", Ty::Duration, V2024_09_02),
    f("ehlo_timeout", Ty::Duration),
    f("mail_from_timeout", Ty::Duration),
    f("rcpt_to_timeout", Ty::Duration),
    f("data_timeout", Ty::Duration),
    f("data_dot_timeout", Ty::Duration),
    f("rset_timeout", Ty::Duration),
    f("idle_timeout", Ty::Duration),
    f("starttls_timeout", Ty::Duration),
    f("auth_timeout", Ty::Duration),
    g("system_shutdown_timeout", Ty::Duration, V2025_05_06),
    f("max_ready", USIZE),
    f("consecutive_connection_failures_before_delay", USIZE),
    f("smtp_port", U16),
    f("smtp_auth_plain_username", Ty::Str),
    f("smtp_auth_plain_password", Ty::KeySource),
    f("allow_smtp_auth_plain_without_tls", Ty::Bool),
    g(
        "allow_smtp_auth_plain_without_valid_certificate",
        Ty::Bool,
        V2026_09_22,
    ),
    f("max_message_rate", Ty::Rate),
    f("additional_message_rate_throttles", Ty::RateMap),
    g("source_selection_rate", Ty::Rate, V2025_03_19),
    g(
        "additional_source_selection_rates",
        Ty::RateMap,
        V2025_03_19,
    ),
    f("max_connection_rate", Ty::Rate),
    f("max_deliveries_per_connection", USIZE),
    f("max_recipients_per_batch", USIZE),
    f("prohibited_hosts", Ty::CidrList),
    f("skip_hosts", Ty::CidrList),
    g("ip_lookup_strategy", Ty::Enum(IP_LOOKUP), V2026_04_09),
    f("ehlo_domain", Ty::Str),
    f("aggressive_connection_opening", Ty::Bool),
    f("refresh_interval", Ty::Duration),
    g("refresh_strategy", Ty::Enum(REFRESH), V2024_11_08),
    g("dispatcher_wakeup_strategy", Ty::Enum(WAKEUP), V2025_05_06),
    g("maintainer_wakeup_strategy", Ty::Enum(WAKEUP), V2025_05_06),
    f("provider_name", Ty::Str),
    g("remember_broken_tls", Ty::Duration, V2024_11_08),
    g(
        "opportunistic_tls_reconnect_on_failed_handshake",
        Ty::Bool,
        V2025_01_23,
    ),
    g("use_lmtp", Ty::Bool, V2025_01_23),
    g("reconnect_strategy", Ty::Enum(RECONNECT), V2025_01_29),
    f("readyq_pool_name", Ty::Str),
    g("low_memory_reduction_policy", Ty::Enum(MEMORY), V2025_03_19),
    g("no_memory_reduction_policy", Ty::Enum(MEMORY), V2025_03_19),
    g("try_next_host_on_transport_error", Ty::Bool, V2025_10_06),
    g("ignore_8bit_checks", Ty::Bool, V2025_10_06),
    g(
        "dispatcher_progress_watchdog_timeout",
        Ty::Duration,
        V2026_09_22,
    ),
];

/// Egress path options documented as `since('dev')` and in no release changelog.
const EGRESS_PATH_DEV_ONLY: &[&str] = &[
    "tls_handshake_timeout",
    "max_mx_plan_size",
    "max_mx_addresses_per_host",
];

/// `EgressSource` (deny_unknown_fields), minus `name` (the helper sets it from the key).
const EGRESS_SOURCE: &[Field] = &[
    f("ehlo_domain", Ty::Str),
    f("source_address", Ty::Ip),
    f("remote_port", U16),
    f("ha_proxy_server", Ty::ProxyServer),
    f("ha_proxy_source_address", Ty::Ip),
    f("socks5_proxy_server", Ty::ProxyServer),
    f("socks5_proxy_source_address", Ty::Ip),
    f("socks5_proxy_username", Ty::Str),
    f("socks5_proxy_password", Ty::KeySource),
    g("suspend_when_unplumbed", Ty::SuspendRule, V2026_09_22),
    g("suspend_when_proxy_unhealthy", Ty::SuspendRule, V2026_09_22),
    f("ttl", Ty::Duration),
];

/// `QueueConfig` (deny_unknown_fields).
const QUEUE_CONFIG: &[Field] = &[
    f("retry_interval", Ty::Duration),
    f("max_retry_interval", Ty::Duration),
    f("max_age", Ty::Duration),
    f("egress_pool", Ty::Str),
    g("max_message_rate", Ty::Rate, V2024_06_10),
    f("protocol", Ty::Protocol),
    f("reap_interval", Ty::Duration),
    f("refresh_interval", Ty::Duration),
    f("timerwheel_tick_interval", Ty::Duration),
    f("strategy", Ty::Enum(QUEUE_STRATEGY)),
    g("refresh_strategy", Ty::Enum(REFRESH), V2024_11_08),
    f("provider_name", Ty::Str),
    g("shrink_policy", Ty::ShrinkPolicy, V2025_03_19),
];

/// `[base]` of `DkimSignConfig`. `expiration` is passed through only since 2024.11.08;
/// `over_sign` exists since 2024.06.10.
const DKIM_BASE: &[Field] = &[
    f("vault_mount", Ty::Str),
    f("vault_path_prefix", Ty::Str),
    f("additional_signatures", Ty::StrList),
    f("policy", Ty::Enum(DOMAIN_POLICY)),
    f("selector", Ty::Str),
    g("expiration", Ty::UInt(i64::MAX as u64), V2024_11_08),
    f("headers", Ty::StrList),
    f("header_canonicalization", Ty::Enum(CANON)),
    f("body_canonicalization", Ty::Enum(CANON)),
    g("over_sign", Ty::Bool, V2024_06_10),
];

/// `[domain."d"]` of `DkimSignConfig`.
const DKIM_DOMAIN: &[Field] = &[
    f("selector", Ty::Str),
    f("headers", Ty::StrList),
    f("policy", Ty::Enum(DOMAIN_POLICY)),
    f("algo", Ty::Enum(ALGO)),
    g("expiration", Ty::UInt(i64::MAX as u64), V2024_11_08),
    f("filename", Ty::Str),
    f("header_canonicalization", Ty::Enum(CANON)),
    f("body_canonicalization", Ty::Enum(CANON)),
    g("over_sign", Ty::Bool, V2024_06_10),
];

/// `[signature."n"]` of `DkimSignConfig` (plus the required `domain`).
const DKIM_SIGNATURE: &[Field] = &[
    f("domain", Ty::Str),
    f("selector", Ty::Str),
    f("headers", Ty::StrList),
    f("policy", Ty::Enum(SIGNATURE_POLICY)),
    f("algo", Ty::Enum(ALGO)),
    g("expiration", Ty::UInt(i64::MAX as u64), V2024_11_08),
    f("filename", Ty::Str),
    f("header_canonicalization", Ty::Enum(CANON)),
    f("body_canonicalization", Ty::Enum(CANON)),
    g("over_sign", Ty::Bool, V2024_06_10),
];

fn find<'f>(fields: &'f [Field], name: &str) -> Option<&'f Field> {
    fields.iter().find(|fd| fd.name == name)
}

/// Check `k = v` when `k` is one of `fields` (gate, then type). Returns false when `k` is not
/// a field of the table (the caller decides what an unknown key means).
fn field(ck: &mut Ck<'_>, path: &str, fields: &[Field], k: &str, v: &Value) -> bool {
    let Some(fd) = find(fields, k) else {
        return false;
    };
    let p = key(path, k);
    if let Some(since) = fd.since {
        if !ck.gate(&p, &format!("`{k}`"), since) {
            return true;
        }
    }
    value(ck, &p, fd.ty, v);
    true
}

/// An egress path field, or a problem (unknown / dev-only).
fn egress_field_or_unknown(ck: &mut Ck<'_>, path: &str, k: &str, v: &Value) {
    if !field(ck, path, EGRESS_PATH, k, v) {
        unknown_egress(ck, &key(path, k), k);
    }
}

fn unknown_egress(ck: &mut Ck<'_>, path: &str, k: &str) {
    if EGRESS_PATH_DEV_ONLY.contains(&k) {
        ck.push(
            path,
            "unknown field (a dev-only egress path option, in no KumoMTA release)",
        );
    } else {
        ck.unknown(path);
    }
}

// ---------------------------------------------------------------------------------------------
// Value checks
// ---------------------------------------------------------------------------------------------

fn value(ck: &mut Ck<'_>, path: &str, ty: Ty, v: &Value) {
    match ty {
        Ty::Str => {
            string(ck, path, v);
        }
        Ty::Bool => {
            if !v.is_bool() {
                ck.wrong_type(path, "a boolean", v);
            }
        }
        Ty::UInt(max) => uint(ck, path, v, max),
        Ty::Duration => duration(ck, path, v),
        Ty::Rate => rate(ck, path, v),
        Ty::Limit => limit(ck, path, v),
        Ty::LimitMap => map_of(ck, path, v, limit),
        Ty::RateMap => map_of(ck, path, v, rate),
        Ty::Enum(variants) => enumeration(ck, path, v, variants),
        Ty::KeySource => key_source(ck, path, v),
        Ty::CidrList => cidr_list(ck, path, v),
        Ty::StrList => {
            string_list(ck, path, v);
        }
        Ty::OpensslOptions => openssl_options(ck, path, v),
        Ty::RustlsSuites => rustls_suites(ck, path, v),
        Ty::Ip => ip(ck, path, v),
        Ty::ProxyServer => proxy_server(ck, path, v),
        Ty::SuspendRule => suspend_rule(ck, path, v),
        Ty::Protocol => protocol(ck, path, v),
        Ty::ShrinkPolicy => shrink_policy(ck, path, v),
    }
}

fn string<'v>(ck: &mut Ck<'_>, path: &str, v: &'v Value) -> Option<&'v str> {
    match v.as_str() {
        Some(s) => Some(s),
        None => {
            ck.wrong_type(path, "a string", v);
            None
        }
    }
}

fn table<'v>(ck: &mut Ck<'_>, path: &str, v: &'v Value) -> Option<&'v Table> {
    match v.as_table() {
        Some(t) => Some(t),
        None => {
            ck.wrong_type(path, "a table", v);
            None
        }
    }
}

fn uint(ck: &mut Ck<'_>, path: &str, v: &Value, max: u64) {
    match v {
        Value::Integer(i) => {
            let ok = u64::try_from(*i).is_ok_and(|u| u <= max);
            if !ok {
                ck.push(path, format!("{i} is out of range (0 to {max})"));
            }
        }
        _ => ck.wrong_type(path, "a non-negative integer", v),
    }
}

fn string_list<'v>(ck: &mut Ck<'_>, path: &str, v: &'v Value) -> Option<Vec<&'v str>> {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, "an array of strings", v);
        return None;
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(s) = string(ck, &index(path, i), item) {
            out.push(s);
        }
    }
    Some(out)
}

fn map_of(ck: &mut Ck<'_>, path: &str, v: &Value, each: fn(&mut Ck<'_>, &str, &Value)) {
    if let Some(t) = table(ck, path, v) {
        for (k, item) in t {
            each(ck, &named(path, k), item);
        }
    }
}

/// `duration_serde`: an integer >= 0 (seconds), a float >= 0 (seconds), or a humantime string
/// in the target release's humantime flavor.
fn duration(ck: &mut Ck<'_>, path: &str, v: &Value) {
    match v {
        Value::Integer(i) if *i >= 0 => {}
        Value::Integer(i) => ck.push(path, format!("a duration cannot be negative ({i})")),
        Value::Float(x) if x.is_finite() && *x >= 0.0 => {}
        Value::Float(x) => ck.push(path, format!("invalid duration {x}")),
        Value::String(s) => {
            if let Err(e) = units::parse_humantime(s, ck.version.humantime()) {
                let msg = format!("invalid duration `{s}` for KumoMTA {}: {e}", ck.version);
                ck.push(path, msg);
            }
        }
        _ => ck.wrong_type(
            path,
            "a duration (integer seconds or a string like \"5m\")",
            v,
        ),
    }
}

/// `ThrottleSpec`: a string only; `,max_burst=` since 2025.01.29.
fn rate(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Value::String(s) = v else {
        ck.wrong_type(path, "a rate string like \"100/h\"", v);
        return;
    };
    match units::parse_rate(s) {
        Ok(r) => {
            if r.max_burst.is_some() {
                ck.gate(path, "`,max_burst=` in a rate", V2025_01_29);
            }
        }
        Err(e) => ck.push(path, format!("invalid rate `{s}`: {e}")),
    }
}

/// `LimitSpec`: integer >= 1, or (since 2025.01.23) a `"[local:]N"` string.
fn limit(ck: &mut Ck<'_>, path: &str, v: &Value) {
    match v {
        Value::Integer(i) if *i >= 1 => {}
        Value::Integer(i) => ck.push(
            path,
            format!("a connection limit must be 1 or larger ({i})"),
        ),
        Value::String(s) => {
            if !ck.gate(path, "a string connection limit", V2025_01_23) {
                return;
            }
            if let Err(e) = units::parse_limit(s) {
                ck.push(path, format!("invalid connection limit `{s}`: {e}"));
            }
        }
        _ => ck.wrong_type(path, "a connection limit (an integer, or \"local:N\")", v),
    }
}

fn enumeration(ck: &mut Ck<'_>, path: &str, v: &Value, variants: &[&str]) {
    let Some(s) = string(ck, path, v) else {
        return;
    };
    if variants.contains(&s) {
        return;
    }
    let list = variants
        .iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut msg = format!("`{s}` is not one of {list}");
    if let Some(near) = variants.iter().find(|x| x.eq_ignore_ascii_case(s)) {
        msg.push_str(&format!(
            " (did you mean `{near}`? variants are case-sensitive)"
        ));
    }
    ck.push(path, msg);
}

/// `KeySource`: a file path, `{key_data=…}`, or `{vault_mount, vault_path, [vault_address],
/// [vault_token], [vault_key (since 2025.10.06)]}`.
fn key_source(ck: &mut Ck<'_>, path: &str, v: &Value) {
    match v {
        Value::String(s) => {
            if s.is_empty() {
                ck.push(path, "a key path cannot be empty");
            }
        }
        Value::Table(t) => {
            if t.contains_key("key_data") {
                for (k, item) in t {
                    let p = key(path, k);
                    if k == "key_data" {
                        string(ck, &p, item);
                    } else {
                        ck.push(
                            &p,
                            "unknown field (a `key_data` KeySource has only `key_data`)",
                        );
                    }
                }
            } else if t.contains_key("vault_mount") || t.contains_key("vault_path") {
                for required in ["vault_mount", "vault_path"] {
                    if !t.contains_key(required) {
                        ck.push(path, format!("missing `{required}`"));
                    }
                }
                for (k, item) in t {
                    let p = key(path, k);
                    match k.as_str() {
                        "vault_mount" | "vault_path" | "vault_address" | "vault_token" => {
                            string(ck, &p, item);
                        }
                        "vault_key" => {
                            if ck.gate(&p, "`vault_key`", V2025_10_06) {
                                string(ck, &p, item);
                            }
                        }
                        _ => ck.unknown(&p),
                    }
                }
            } else {
                ck.push(
                    path,
                    "expected a path, {key_data=…} or {vault_mount=…, vault_path=…}",
                );
            }
        }
        _ => ck.wrong_type(path, "a key source (a path string or a table)", v),
    }
}

fn cidr_list(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, "an array of IP/CIDR strings", v);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        if let Some(s) = string(ck, &p, item) {
            if let Err(e) = units::parse_cidr(s) {
                ck.push(&p, format!("invalid CIDR `{s}`: {e}"));
            }
        }
    }
}

/// `openssl_options`: `SslOptions` flag names joined by `|`. Only the shape is checked (upper
/// case identifiers); the exact flag list depends on the linked OpenSSL.
fn openssl_options(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(s) = string(ck, path, v) else {
        return;
    };
    for piece in s.split('|') {
        let ok = !piece.is_empty()
            && piece
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            ck.push(
                path,
                format!("`{piece}` is not an SslOptions name (e.g. `NO_TLSV1|NO_TLSV1_1`)"),
            );
        }
    }
}

fn rustls_suites(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(items) = string_list(ck, path, v) else {
        return;
    };
    for (i, s) in items.into_iter().enumerate() {
        if !RUSTLS_SUITES.iter().any(|x| x.eq_ignore_ascii_case(s)) {
            ck.push(
                &index(path, i),
                format!("`{s}` is not a rustls cipher suite"),
            );
        }
    }
}

fn ip(ck: &mut Ck<'_>, path: &str, v: &Value) {
    if let Some(s) = string(ck, path, v) {
        if let Err(e) = units::parse_ip(s) {
            ck.push(path, format!("invalid IP address `{s}`: {e}"));
        }
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}

/// `ha_proxy_server` / `socks5_proxy_server`: `SocketAddr` (`"IP:port"`, `"[v6]:port"`);
/// since 2026.09.22 (`ResolvableSocketAddr`) also `"host:port"`.
fn proxy_server(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(s) = string(ck, path, v) else {
        return;
    };
    if s.parse::<SocketAddr>().is_ok() {
        return;
    }
    match s.rsplit_once(':') {
        Some((host, port)) if is_host_name(host) && port.parse::<u16>().is_ok() => {
            ck.gate(
                path,
                &format!("a DNS name in `{s}` (instead of an IP)"),
                V2026_09_22,
            );
        }
        _ => ck.push(
            path,
            format!("invalid proxy address `{s}`: expected \"IP:port\" (\"[v6]:port\" for IPv6)"),
        ),
    }
}

/// TSA / source-suspension trigger: `"Immediate"` or `{Threshold="<ThrottleSpec>"}`.
fn trigger(ck: &mut Ck<'_>, path: &str, v: &Value) {
    match v {
        Value::String(s) if s == "Immediate" => {}
        Value::Table(t) if t.len() == 1 && t.contains_key("Threshold") => {
            if let Some(th) = t.get("Threshold") {
                rate(ck, &key(path, "Threshold"), th);
            }
        }
        _ => ck.push(path, "expected \"Immediate\" or {Threshold=\"<rate>\"}"),
    }
}

/// `SuspendOnFailure` (deny_unknown_fields): `trigger` (default Immediate), `duration`.
fn suspend_rule(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    if !t.contains_key("duration") {
        ck.push(path, "missing `duration`");
    }
    for (k, item) in t {
        let p = key(path, k);
        match k.as_str() {
            "trigger" => trigger(ck, &p, item),
            "duration" => duration(ck, &p, item),
            _ => ck.unknown(&p),
        }
    }
}

/// `QueueShrinkPolicy` (deny_unknown_fields): `interval` (duration), `policy`.
fn shrink_policy(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, "an array of {interval, policy} tables", v);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(t) = table(ck, &p, item) else {
            continue;
        };
        for required in ["interval", "policy"] {
            if !t.contains_key(required) {
                ck.push(&p, format!("missing `{required}`"));
            }
        }
        for (k, item) in t {
            let kp = key(&p, k);
            match k.as_str() {
                "interval" => duration(ck, &kp, item),
                "policy" => enumeration(ck, &kp, item, MEMORY),
                _ => ck.unknown(&kp),
            }
        }
    }
}

/// `QueueConfig.protocol` (`DeliveryProto`, untagged): `{smtp={mx_list=[…]}}`,
/// `{maildir_path=…, dir_mode=…, file_mode=…}`, `{custom_lua={constructor=…}}` or (since
/// 2025.12.02) `{xfer={…}}`. The internal variants cannot be written in TOML.
fn protocol(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = v.as_table() else {
        ck.wrong_type(
            path,
            "a protocol table ({smtp={…}}, {maildir_path=…} or {custom_lua={…}})",
            v,
        );
        return;
    };
    if t.contains_key("maildir_path") {
        for (k, item) in t {
            let p = key(path, k);
            match k.as_str() {
                "maildir_path" => {
                    string(ck, &p, item);
                }
                "dir_mode" | "file_mode" => {
                    if ck.gate(&p, &format!("`{k}`"), V2025_01_23) {
                        value(ck, &p, U32, item);
                    }
                }
                _ => ck.unknown(&p),
            }
        }
        return;
    }
    let only = |name: &str| t.len() == 1 && t.contains_key(name);
    if only("smtp") {
        let p = key(path, "smtp");
        let Some(smtp) = t.get("smtp").and_then(|s| table(ck, &p, s)) else {
            return;
        };
        for (k, item) in smtp {
            let kp = key(&p, k);
            match k.as_str() {
                "mx_list" => mx_list(ck, &kp, item),
                "treat_mx_list_as_secure" => {
                    if ck.gate(&kp, "`treat_mx_list_as_secure`", V2026_09_22) && !item.is_bool() {
                        ck.wrong_type(&kp, "a boolean", item);
                    }
                }
                _ => ck.unknown(&kp),
            }
        }
    } else if only("custom_lua") {
        let p = key(path, "custom_lua");
        let Some(lua) = t.get("custom_lua").and_then(|s| table(ck, &p, s)) else {
            return;
        };
        if !lua.contains_key("constructor") {
            ck.push(&p, "missing `constructor`");
        }
        for (k, item) in lua {
            let kp = key(&p, k);
            if k == "constructor" {
                string(ck, &kp, item);
            } else {
                ck.unknown(&kp);
            }
        }
    } else if only("xfer") {
        let p = key(path, "xfer");
        if ck.gate(&p, "the xfer protocol", V2025_12_02) {
            if let Some(x) = t.get("xfer") {
                table(ck, &p, x);
            }
        }
    } else {
        ck.push(
            path,
            "expected {smtp={mx_list=[…]}}, {maildir_path=…} or {custom_lua={constructor=…}}",
        );
    }
}

fn mx_list(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, "an array of hosts", v);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        match item {
            Value::String(s) if !s.is_empty() => {}
            Value::String(_) => ck.push(&p, "an MX host cannot be empty"),
            Value::Table(t) if t.contains_key("name") && t.contains_key("addr") => {}
            _ => ck.push(
                &p,
                "expected a host name, \"[IP]\", or a resolved {name=…, addr=…} table",
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sources.toml
// ---------------------------------------------------------------------------------------------

fn sources_file(ck: &mut Ck<'_>, doc: &Table) {
    let defined: BTreeSet<&str> = doc
        .get("source")
        .and_then(Value::as_table)
        .map(|t| t.keys().map(String::as_str).collect())
        .unwrap_or_default();

    for (k, v) in doc {
        let p = key("", k);
        match k.as_str() {
            "source" => {
                if let Some(sources) = table(ck, &p, v) {
                    for (name, params) in sources {
                        source_block(ck, &named(&p, name), params);
                    }
                }
            }
            "pool" => {
                if let Some(pools) = table(ck, &p, v) {
                    for (name, entries) in pools {
                        pool_block(ck, &named(&p, name), entries, &defined);
                    }
                }
            }
            _ => ck.push(
                &p,
                "unknown top-level key (only `source` and `pool` are allowed)",
            ),
        }
    }
}

fn source_block(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        if k == "name" {
            ck.push(
                &key(path, k),
                "`name` is set by the helper from the table key; giving it here overrides the key",
            );
        } else if !field(ck, path, EGRESS_SOURCE, k, item) {
            ck.unknown(&key(path, k));
        }
    }
    // resolve_proxy_protocols uses a proxy only when both halves are set, and SOCKS5
    // authentication only when both username and password are set; otherwise silently not.
    for (a, b) in [
        ("ha_proxy_server", "ha_proxy_source_address"),
        ("socks5_proxy_server", "socks5_proxy_source_address"),
        ("socks5_proxy_username", "socks5_proxy_password"),
    ] {
        if t.contains_key(a) != t.contains_key(b) {
            let (set, missing) = if t.contains_key(a) { (a, b) } else { (b, a) };
            ck.push(
                path,
                format!(
                    "`{set}` without `{missing}`: KumoMTA uses them only together and silently \
                     ignores one alone"
                ),
            );
        }
    }
}

fn pool_block(ck: &mut Ck<'_>, path: &str, v: &Value, defined: &BTreeSet<&str>) {
    let Some(entries) = table(ck, path, v) else {
        return;
    };
    if entries.is_empty() {
        ck.gate(
            path,
            "an empty pool (older releases drop it, so lookups of it fail)",
            V2026_04_09,
        );
    }
    for (source, entry) in entries {
        let p = named(path, source);
        match entry.as_table() {
            Some(params) => {
                for (k, item) in params {
                    let kp = key(&p, k);
                    if k == "weight" {
                        value(ck, &kp, U32, item);
                    } else {
                        ck.push(&kp, "unknown field (a pool entry has only `weight`)");
                    }
                }
            }
            None => ck.push(
                &p,
                format!(
                    "expected a table (every key under a pool is a source name), found {}",
                    type_name(entry)
                ),
            ),
        }
        if !defined.contains(source.as_str()) {
            ck.push(
                &p,
                "the pool refers to a source that [source] does not define",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dkim_data.toml
// ---------------------------------------------------------------------------------------------

fn dkim_file(ck: &mut Ck<'_>, doc: &Table) {
    let empty = Table::new();
    let mut base = &empty;
    let mut domains = &empty;
    let mut signatures = &empty;

    for (k, v) in doc {
        let p = key("", k);
        match k.as_str() {
            "base" => {
                if let Some(t) = table(ck, &p, v) {
                    base = t;
                    for (bk, item) in t {
                        match bk.as_str() {
                            "algo" => ck.push(
                                &key(&p, bk),
                                "`algo` is not allowed in [base] (set it per domain)",
                            ),
                            "vault_key" => ck.push(
                                &key(&p, bk),
                                "`vault_key` is not allowed in [base] (the helper rejects it)",
                            ),
                            _ => {
                                if !field(ck, &p, DKIM_BASE, bk, item) {
                                    ck.unknown(&key(&p, bk));
                                }
                            }
                        }
                    }
                }
            }
            "domain" => {
                if let Some(t) = table(ck, &p, v) {
                    domains = t;
                    for (name, params) in t {
                        dkim_block(ck, &named(&p, name), params, DKIM_DOMAIN);
                    }
                }
            }
            "signature" => {
                if let Some(t) = table(ck, &p, v) {
                    signatures = t;
                    for (name, params) in t {
                        let sp = named(&p, name);
                        if params.as_table().is_some_and(|s| !s.contains_key("domain")) {
                            ck.push(&sp, "missing `domain` (required in a signature block)");
                        }
                        dkim_block(ck, &sp, params, DKIM_SIGNATURE);
                    }
                }
            }
            _ => ck.push(
                &p,
                "unknown top-level key (only `base`, `domain` and `signature` are allowed)",
            ),
        }
    }

    // base.additional_signatures must name signature blocks, and every signature block must
    // be listed (kumod --validate fails on an unreferenced one).
    let listed: Vec<&str> = base
        .get("additional_signatures")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (i, name) in listed.iter().enumerate() {
        if !signatures.contains_key(*name) {
            ck.push(
                &index("base.additional_signatures", i),
                format!("`{name}` has no [signature.\"{name}\"] block"),
            );
        }
    }
    for name in signatures.keys() {
        if !listed.contains(&name.as_str()) {
            ck.push(
                &named("signature", name),
                "not listed in base.additional_signatures, so never used (kumod --validate fails)",
            );
        }
    }

    // Each domain and each used signature must end up with a selector and with headers that
    // include From.
    for (name, params) in domains {
        if let Some(t) = params.as_table() {
            dkim_resolved(ck, &named("domain", name), t, base);
        }
    }
    for (name, params) in signatures {
        if let Some(t) = params.as_table() {
            if listed.contains(&name.as_str()) {
                dkim_resolved(ck, &named("signature", name), t, base);
            }
        }
    }
}

fn dkim_block(ck: &mut Ck<'_>, path: &str, v: &Value, fields: &[Field]) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        if !field(ck, path, fields, k, item) {
            ck.unknown(&key(path, k));
        }
    }
    if t.get("algo").and_then(Value::as_str) == Some("ed25519") && !ck.has(V2025_05_06) {
        ck.push(
            &key(path, "algo"),
            format!(
                "ed25519 keys fail to load before KumoMTA 2025.05.06 (target is {})",
                ck.version
            ),
        );
    }
}

fn dkim_resolved(ck: &mut Ck<'_>, path: &str, block: &Table, base: &Table) {
    if !block.contains_key("selector") && !base.contains_key("selector") {
        ck.push(path, "no selector: set `selector` here or in [base]");
    }
    let (headers, from_base) = match block.get("headers") {
        Some(h) => (Some(h), false),
        None => (base.get("headers"), true),
    };
    match headers.and_then(Value::as_array) {
        None if headers.is_none() => {
            ck.push(path, "no headers: set `headers` here or in [base]");
        }
        None => {}
        Some(list) => {
            let has_from = list
                .iter()
                .filter_map(Value::as_str)
                .any(|h| h.eq_ignore_ascii_case("from"));
            if !has_from {
                let whence = if from_base {
                    " (inherited from [base])"
                } else {
                    ""
                };
                ck.push(
                    path,
                    format!("the signed headers{whence} must include From"),
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// queues.toml
// ---------------------------------------------------------------------------------------------

/// Keys of `QueueHelperConfig` other than `tenant` / `queue`.
const QUEUE_HELPER_TOP: &[(&str, Ty)] = &[
    ("scheduling_header", Ty::Str),
    ("tenant_header", Ty::Str),
    ("remove_tenant_header", Ty::Bool),
    ("campaign_header", Ty::Str),
    ("remove_campaign_header", Ty::Bool),
    ("default_tenant", Ty::Str),
];

fn queues_file(ck: &mut Ck<'_>, doc: &Table) {
    let tenants: BTreeSet<&str> = doc
        .get("tenant")
        .and_then(Value::as_table)
        .map(|t| t.keys().map(String::as_str).collect())
        .unwrap_or_default();

    for (k, v) in doc {
        let p = key("", k);
        if let Some((_, ty)) = QUEUE_HELPER_TOP.iter().find(|(n, _)| n == k) {
            value(ck, &p, *ty, v);
            continue;
        }
        match k.as_str() {
            "tenant" => {
                if let Some(t) = table(ck, &p, v) {
                    for (name, params) in t {
                        tenant_block(ck, &named(&p, name), name, params);
                    }
                }
            }
            "queue" => {
                if let Some(t) = table(ck, &p, v) {
                    for (domain, params) in t {
                        queue_domain_block(ck, &named(&p, domain), params, &tenants);
                    }
                }
            }
            "tenants" | "queues" => ck.push(
                &p,
                "internal field of the helper's record; write [tenant.\"x\"] / [queue.\"x\"]",
            ),
            _ => ck.push(&p, "unknown top-level key"),
        }
    }

    if let Some(dt) = doc.get("default_tenant").and_then(Value::as_str) {
        if !tenants.contains(dt) {
            ck.push(
                "default_tenant",
                format!("`{dt}` is not a defined [tenant] (the helper rejects every message)"),
            );
        }
    }
}

/// Is `k` an option of a `[queue.…]` block (so never taken as a tenant/campaign name)?
fn is_queue_option(k: &str) -> bool {
    find(QUEUE_CONFIG, k).is_some() || matches!(k, "routing_domain" | "overall_max_message_rate")
}

/// `TenantConfig`: QueueConfig fields, `require_authz`, `overall_max_message_rate`,
/// `campaigns`; no `routing_domain`.
fn tenant_block(ck: &mut Ck<'_>, path: &str, name: &str, v: &Value) {
    if is_queue_option(name) || name == "campaigns" {
        ck.push(
            path,
            "a tenant named like a queue option cannot be addressed in [queue.\"domain\"] blocks",
        );
    }
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        let p = key(path, k);
        match k.as_str() {
            "routing_domain" => ck.push(
                &p,
                "not allowed in a tenant block (only in [queue.\"domain\"] blocks)",
            ),
            "require_authz" => {
                string_list(ck, &p, item);
            }
            "overall_max_message_rate" => rate(ck, &p, item),
            "campaigns" => {
                if let Some(cs) = table(ck, &p, item) {
                    for (c, params) in cs {
                        campaign_block(ck, &named(&p, c), params);
                    }
                }
            }
            _ => {
                if !field(ck, path, QUEUE_CONFIG, k, item) {
                    ck.unknown(&p);
                }
            }
        }
    }
}

/// A `[queue."d"]` / `[queue."d"."t"]` / campaign option (QueueConfig fields, `routing_domain`,
/// `overall_max_message_rate`); false if `k` is none of them.
fn queue_option(ck: &mut Ck<'_>, path: &str, k: &str, v: &Value) -> bool {
    match k {
        "routing_domain" => {
            if let Some(s) = string(ck, &key(path, k), v) {
                if s.is_empty() {
                    ck.push(&key(path, k), "cannot be empty");
                }
            }
            true
        }
        "overall_max_message_rate" => {
            rate(ck, &key(path, k), v);
            true
        }
        _ => field(ck, path, QUEUE_CONFIG, k, v),
    }
}

fn queue_domain_block(ck: &mut Ck<'_>, path: &str, v: &Value, tenants: &BTreeSet<&str>) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        if queue_option(ck, path, k, item) {
            continue;
        }
        let p = named(path, k);
        match item {
            Value::Table(_) => {
                if k == "tenants" {
                    ck.push(
                        &p,
                        "internal field of the helper's record; write [queue.\"d\".\"tenant\"]",
                    );
                    continue;
                }
                if !tenants.contains(k.as_str()) {
                    ck.push(
                        &p,
                        "not a defined [tenant] (the helper takes any unknown key here as a \
                         tenant name)",
                    );
                }
                queue_tenant_block(ck, &p, item);
            }
            _ => ck.push(
                &key(path, k),
                "unknown queue option (the helper would take it as a tenant name and fail)",
            ),
        }
    }
}

/// `[queue."d"."t"]` (`TenantWithCampaignConfig`): options, and campaign tables.
fn queue_tenant_block(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        if queue_option(ck, path, k, item) {
            continue;
        }
        match item {
            Value::Table(cs) if k == "campaigns" => {
                let p = key(path, k);
                for (c, params) in cs {
                    campaign_block(ck, &named(&p, c), params);
                }
            }
            Value::Table(_) => campaign_block(ck, &named(path, k), item),
            _ => ck.push(
                &key(path, k),
                "unknown queue option (the helper would take it as a campaign name and fail)",
            ),
        }
    }
}

/// `CampaignConfig`: QueueConfig fields, `overall_max_message_rate`, `routing_domain`.
fn campaign_block(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, item) in t {
        if !queue_option(ck, path, k, item) {
            ck.unknown(&key(path, k));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// shaping.toml
// ---------------------------------------------------------------------------------------------

fn shaping_file(ck: &mut Ck<'_>, doc: &Table) {
    for (k, v) in doc {
        if k == "provider" {
            if let Some(providers) = table(ck, "provider", v) {
                for (name, block) in providers {
                    let p = named("provider", name);
                    if let Some(t) = table(ck, &p, block) {
                        shaping_block(ck, &p, t, true);
                    }
                }
            }
            continue;
        }
        let p = named("", k);
        let Some(t) = table(ck, &p, v) else {
            continue;
        };
        if k != "default" {
            shaping_domain_key(ck, &p, k, t);
        }
        shaping_block(ck, &p, t, false);
    }
}

fn shaping_domain_key(ck: &mut Ck<'_>, path: &str, domain: &str, t: &Table) {
    if domain.contains('*') {
        ck.push(
            path,
            "wildcards are not supported in shaping.toml (domains match exactly)",
        );
        return;
    }
    if !domain.contains('.') {
        ck.push(
            path,
            "warning: the domain is a single DNS label; quote domain keys (an unquoted \
             [gmail.com] makes a nested table)",
        );
    }
    let mx_rollup = t.get("mx_rollup").and_then(Value::as_bool).unwrap_or(true);
    if mx_rollup && !is_host_name(domain) {
        ck.push(
            path,
            "not a DNS name: MX rollup would fail and the block be dropped; set mx_rollup = false",
        );
    }
}

/// A domain/default block (`PartialEntry`) or a provider block (`ProviderEntry`).
fn shaping_block(ck: &mut Ck<'_>, path: &str, t: &Table, provider: bool) {
    for (k, v) in t {
        let p = key(path, k);
        match k.as_str() {
            "mx_rollup" if provider => ck.push(&p, "not allowed in a provider block"),
            "mx_rollup" | "replace_base" => {
                if !v.is_bool() {
                    ck.wrong_type(&p, "a boolean", v);
                }
            }
            "automation" => match v.as_array() {
                Some(rules) => {
                    for (i, r) in rules.iter().enumerate() {
                        rule(ck, &index(&p, i), r);
                    }
                }
                None => ck.wrong_type(&p, "an array of automation rules", v),
            },
            "sources" => {
                if let Some(sources) = table(ck, &p, v) {
                    for (source, params) in sources {
                        let sp = named(&p, source);
                        if let Some(st) = table(ck, &sp, params) {
                            shaping_source(ck, &sp, st, provider);
                        }
                    }
                }
            }
            "match" if provider => provider_match(ck, &p, v),
            "provider_connection_limit" if provider => limit(ck, &p, v),
            "provider_max_message_rate" if provider => rate(ck, &p, v),
            "provider_source_selection_rate" if provider => {
                ck.push(&p, "only allowed inside a provider's `sources` blocks")
            }
            _ => egress_field_or_unknown(ck, path, k, v),
        }
    }
}

fn shaping_source(ck: &mut Ck<'_>, path: &str, t: &Table, provider: bool) {
    for (k, v) in t {
        if k == "provider_source_selection_rate" {
            let p = key(path, k);
            if !provider {
                ck.push(&p, "only allowed in a provider's `sources` blocks");
            } else if ck.gate(&p, "`provider_source_selection_rate`", V2025_03_19) {
                rate(ck, &p, v);
            }
        } else {
            egress_field_or_unknown(ck, path, k, v);
        }
    }
}

/// `match = [{MXSuffix="…"}, {DomainSuffix="…"}, {HostName="…"}]`.
fn provider_match(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, "an array of match rules", v);
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let p = index(path, i);
        let Some((kind, arg)) = item
            .as_table()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.iter().next())
        else {
            ck.push(
                &p,
                "expected one of {MXSuffix=\"…\"}, {DomainSuffix=\"…\"}, {HostName=\"…\"}",
            );
            continue;
        };
        let kp = key(&p, kind);
        match kind.as_str() {
            "MXSuffix" | "DomainSuffix" => {}
            "HostName" => {
                if !ck.gate(&kp, "`HostName` provider matching", V2025_01_23) {
                    continue;
                }
            }
            _ => {
                ck.push(
                    &kp,
                    "unknown match rule (expected `MXSuffix`, `DomainSuffix` or `HostName`)",
                );
                continue;
            }
        }
        if let Some(s) = string(ck, &kp, arg) {
            if s.is_empty() {
                ck.push(&kp, "cannot be empty");
            } else if kind != "DomainSuffix" && s.chars().any(|c| c.is_ascii_uppercase()) {
                ck.push(
                    &kp,
                    "MX host names are compared in lower case, so this never matches",
                );
            }
        }
    }
}

/// An automation `Rule`.
fn rule(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for required in ["regex", "action", "duration"] {
        if !t.contains_key(required) {
            ck.push(path, format!("missing `{required}`"));
        }
    }
    for (k, item) in t {
        let p = key(path, k);
        match k.as_str() {
            "regex" => match item {
                Value::String(s) => {
                    if s.is_empty() {
                        ck.push(&p, "an empty regex matches every response");
                    }
                }
                Value::Array(list) => {
                    if ck.gate(&p, "a list of regexes", V2024_06_10) {
                        if list.is_empty() {
                            ck.push(&p, "an empty list of regexes never matches");
                        }
                        for (i, r) in list.iter().enumerate() {
                            string(ck, &index(&p, i), r);
                        }
                    }
                }
                _ => ck.wrong_type(&p, "a regex string or an array of them", item),
            },
            "action" => match item {
                Value::Array(list) => {
                    if ck.gate(&p, "a list of actions", V2024_06_10) {
                        if list.is_empty() {
                            ck.push(&p, "an empty list of actions does nothing");
                        }
                        for (i, a) in list.iter().enumerate() {
                            action(ck, &index(&p, i), a);
                        }
                    }
                }
                _ => action(ck, &p, item),
            },
            "trigger" => trigger(ck, &p, item),
            "duration" => duration(ck, &p, item),
            "match_internal" => {
                if ck.gate(&p, "`match_internal`", V2024_11_08) && !item.is_bool() {
                    ck.wrong_type(&p, "a boolean", item);
                }
            }
            _ => ck.push(&p, "unknown field (KumoMTA would silently ignore it)"),
        }
    }
}

/// An automation `Action`.
fn action(ck: &mut Ck<'_>, path: &str, v: &Value) {
    match v {
        Value::String(s) => match s.as_str() {
            "Suspend" => {}
            "SuspendTenant" | "SuspendCampaign" => {
                ck.gate(path, &format!("the `{s}` action"), V2024_06_10);
            }
            "Bounce" | "BounceTenant" | "BounceCampaign" => {
                ck.gate(path, &format!("the `{s}` action"), V2025_01_23);
            }
            "SetConfig" | "SetDomainConfig" => ck.push(
                path,
                format!("`{s}` needs a value: {{{s}={{name=\"…\", value=…}}}}"),
            ),
            _ => ck.push(
                path,
                format!(
                    "unknown action `{s}` (Suspend, SuspendTenant, SuspendCampaign, Bounce, \
                     BounceTenant, BounceCampaign, {{SetConfig=…}}, {{SetDomainConfig=…}})"
                ),
            ),
        },
        Value::Table(t) => {
            let Some((kind, inner)) = t.iter().next().filter(|_| t.len() == 1) else {
                ck.push(
                    path,
                    "expected {SetConfig={name, value}} or {SetDomainConfig={…}}",
                );
                return;
            };
            let kp = key(path, kind);
            match kind.as_str() {
                "SetConfig" => {}
                "SetDomainConfig" => {
                    if !ck.gate(&kp, "the `SetDomainConfig` action", V2024_11_08) {
                        return;
                    }
                }
                _ => {
                    ck.push(
                        &kp,
                        "unknown action (expected `SetConfig` or `SetDomainConfig`)",
                    );
                    return;
                }
            }
            set_config(ck, &kp, inner);
        }
        _ => ck.wrong_type(path, "an action", v),
    }
}

/// `{name="<EgressPathConfig field>", value=<valid for that field>}`.
fn set_config(ck: &mut Ck<'_>, path: &str, v: &Value) {
    let Some(t) = table(ck, path, v) else {
        return;
    };
    for (k, _) in t {
        if k != "name" && k != "value" {
            ck.push(&key(path, k), "unknown field (only `name` and `value`)");
        }
    }
    let name = match t.get("name") {
        Some(n) => string(ck, &key(path, "name"), n),
        None => {
            ck.push(path, "missing `name`");
            None
        }
    };
    let Some(val) = t.get("value") else {
        ck.push(path, "missing `value`");
        return;
    };
    let Some(name) = name else {
        return;
    };
    let vp = key(path, "value");
    match find(EGRESS_PATH, name) {
        Some(fd) => {
            if let Some(since) = fd.since {
                if !ck.gate(&key(path, "name"), &format!("`{name}`"), since) {
                    return;
                }
            }
            value(ck, &vp, fd.ty, val);
        }
        None => unknown_egress(ck, &key(path, "name"), name),
    }
}

// ---------------------------------------------------------------------------------------------
// rate_and_duration_strings
// ---------------------------------------------------------------------------------------------

fn is_rate_key(k: &str) -> bool {
    matches!(
        k,
        "max_message_rate"
            | "max_connection_rate"
            | "source_selection_rate"
            | "provider_max_message_rate"
            | "provider_source_selection_rate"
            | "overall_max_message_rate"
            | "Threshold"
    )
}

fn is_rate_map_key(k: &str) -> bool {
    matches!(
        k,
        "additional_message_rate_throttles" | "additional_source_selection_rates"
    )
}

fn is_duration_key(k: &str) -> bool {
    matches!(k, "duration" | "interval")
        || [EGRESS_PATH, EGRESS_SOURCE, QUEUE_CONFIG].iter().any(|t| {
            t.iter()
                .any(|fd| fd.name == k && matches!(fd.ty, Ty::Duration))
        })
}

/// `rate_value`: `v` is an entry of a rate map.
fn collect_strings(
    v: &Value,
    path: &str,
    k: Option<&str>,
    rate_value: bool,
    out: &mut Vec<(String, String)>,
) {
    match v {
        Value::String(s)
            if rate_value || k.is_some_and(|k| is_rate_key(k) || is_duration_key(k)) =>
        {
            out.push((path.to_string(), s.clone()));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, &index(path, i), k, rate_value, out);
            }
        }
        Value::Table(t) => {
            let children_are_rates = k.is_some_and(is_rate_map_key);
            for (ck, item) in t {
                let p = key(path, ck);
                if matches!(ck.as_str(), "SetConfig" | "SetDomainConfig") {
                    let inner = item.as_table();
                    let name = inner.and_then(|i| i.get("name")).and_then(Value::as_str);
                    let val = inner.and_then(|i| i.get("value"));
                    if let (Some(name), Some(val)) = (name, val) {
                        collect_strings(val, &key(&p, "value"), Some(name), false, out);
                        continue;
                    }
                }
                collect_strings(item, &p, Some(ck), children_are_rates, out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use kumoc_lang::units::parse_version;

    /// A release by tag, or a bare date (`2024.01.01`) for "on or after this day".
    fn ver(s: &str) -> KumoVersion {
        parse_version(s).unwrap_or_else(|_| {
            let p: Vec<&str> = s.split('.').collect();
            KumoVersion::date(
                p[0].parse().unwrap(),
                p[1].parse().unwrap(),
                p[2].parse().unwrap(),
            )
        })
    }

    fn head() -> KumoVersion {
        ver("2026.06.23-f3af1cd0")
    }

    fn seed() -> KumoVersion {
        ver("2025.03.19-1d3f1f67")
    }

    #[track_caller]
    fn clean(problems: Vec<String>) {
        assert!(
            problems.is_empty(),
            "expected no problems, got {problems:#?}"
        );
    }

    #[track_caller]
    fn expect(problems: Vec<String>, needle: &str) {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "expected a problem containing {needle:?}, got {problems:#?}"
        );
    }

    // ---- sources.toml -----------------------------------------------------------------------

    const GOOD_SOURCES: &str = r#"
[source."ip-1"]
source_address = "10.0.0.1"
ehlo_domain = "mta1.example.com"
ttl = "5m"

[source."ip-2"]
source_address = "2001:db8::2"
remote_port = 2525
ha_proxy_server = "10.1.0.1:5000"
ha_proxy_source_address = "192.0.2.2"

[source."socks"]
socks5_proxy_server = "[2001:db8::9]:1080"
socks5_proxy_source_address = "192.0.2.3"
socks5_proxy_username = "u"
socks5_proxy_password = { key_data = "secret" }

[pool."main"]
[pool."main"."ip-1"]
weight = 2
[pool."main"."ip-2"]
[pool."main"."socks"]
weight = 0
"#;

    #[test]
    fn sources_good() {
        clean(check_sources(GOOD_SOURCES, &seed()));
        clean(check_sources(GOOD_SOURCES, &head()));
        clean(check_sources("", &head()));
        clean(check_sources(
            "[source.\"a\"]\n[pool.\"empty\"]\n",
            &ver("2026.04.09-ea3b2a9b"),
        ));
    }

    #[test]
    fn sources_bad() {
        let v = head();
        expect(check_sources("x = [", &v), "not valid TOML");
        expect(
            check_sources("[sources.\"a\"]\n", &v),
            "sources: unknown top-level key",
        );
        expect(
            check_sources("[source.\"a\"]\nehlo_domian = \"x\"\n", &v),
            "source.\"a\".ehlo_domian: unknown field",
        );
        expect(
            check_sources("[source.\"a\"]\nname = \"a\"\n", &v),
            "source.\"a\".name: `name` is set by the helper",
        );
        expect(
            check_sources("[source.\"a\"]\nsource_address = \"10.0.0.0/24\"\n", &v),
            "source.\"a\".source_address: invalid IP address",
        );
        expect(
            check_sources("[source.\"a\"]\nsource_address = \"mta.example.com\"\n", &v),
            "invalid IP address",
        );
        expect(
            check_sources("[source.\"a\"]\nremote_port = 70000\n", &v),
            "source.\"a\".remote_port: 70000 is out of range",
        );
        expect(
            check_sources("[source.\"a\"]\nremote_port = \"25\"\n", &v),
            "expected a non-negative integer, found a string",
        );
        expect(
            check_sources("[source.\"a\"]\nehlo_domain = 5\n", &v),
            "expected a string, found an integer",
        );
        expect(
            check_sources("[source.\"a\"]\nttl = \"1 Hour\"\n", &v),
            "source.\"a\".ttl: invalid duration",
        );
        // humantime flavor per release: fractions only from 2025.12.02.
        let frac = "[source.\"a\"]\nttl = \"1.5h\"\n";
        expect(check_sources(frac, &seed()), "invalid duration `1.5h`");
        clean(check_sources(frac, &head()));
        // A proxy host name only since 2026.09.22.
        let dns = "[source.\"a\"]\nha_proxy_server = \"proxy.example.com:5000\"\n\
                   ha_proxy_source_address = \"192.0.2.1\"\n";
        expect(check_sources(dns, &v), "needs KumoMTA 2026.09.22 or later");
        clean(check_sources(dns, &ver("2026.09.22-a276d4a8")));
        expect(
            check_sources(
                "[source.\"a\"]\nsocks5_proxy_server = \"10.0.0.1\"\n\
                 socks5_proxy_source_address = \"192.0.2.1\"\n",
                &v,
            ),
            "invalid proxy address",
        );
        expect(
            check_sources("[source.\"a\"]\nha_proxy_server = \"10.0.0.1:5000\"\n", &v),
            "`ha_proxy_server` without `ha_proxy_source_address`",
        );
        expect(
            check_sources("[source.\"a\"]\nsocks5_proxy_password = \"/p\"\n", &v),
            "`socks5_proxy_password` without `socks5_proxy_username`",
        );
        expect(
            check_sources(
                "[source.\"a\"]\nsocks5_proxy_username = \"u\"\n\
                 socks5_proxy_password = { vault_path = \"x\" }\n",
                &v,
            ),
            "missing `vault_mount`",
        );
        // Dev-era source fields: only from 2026.09.22.
        let suspend = "[source.\"a\"]\nsource_address = \"10.0.0.1\"\n\
                       suspend_when_unplumbed = { duration = \"5m\" }\n";
        expect(
            check_sources(suspend, &v),
            "source.\"a\".suspend_when_unplumbed: `suspend_when_unplumbed` needs KumoMTA 2026.09.22",
        );
        clean(check_sources(suspend, &ver("2026.09.22")));
        expect(
            check_sources(
                "[source.\"a\"]\nsuspend_when_unplumbed = { trigger = \"Always\" }\n",
                &ver("2026.09.29"),
            ),
            "missing `duration`",
        );
        // Pools.
        expect(
            check_sources("[source.\"a\"]\n[pool.\"p\"]\nttl = \"5m\"\n", &v),
            "pool.\"p\".\"ttl\": expected a table (every key under a pool is a source name)",
        );
        expect(
            check_sources("[source.\"a\"]\n[pool.\"p\".\"a\"]\nweight = -1\n", &v),
            "pool.\"p\".\"a\".weight: -1 is out of range",
        );
        expect(
            check_sources("[source.\"a\"]\n[pool.\"p\".\"a\"]\nweight = 1.5\n", &v),
            "expected a non-negative integer, found a float",
        );
        expect(
            check_sources(
                "[source.\"a\"]\n[pool.\"p\".\"a\"]\nweight = 4294967296\n",
                &v,
            ),
            "out of range",
        );
        expect(
            check_sources("[source.\"a\"]\n[pool.\"p\".\"a\"]\nname = \"a\"\n", &v),
            "pool.\"p\".\"a\".name: unknown field",
        );
        expect(
            check_sources("[source.\"a\"]\n[pool.\"p\".\"b\"]\n", &v),
            "pool.\"p\".\"b\": the pool refers to a source that [source] does not define",
        );
        let empty = "[source.\"a\"]\n[pool.\"p\"]\n";
        expect(
            check_sources(empty, &seed()),
            "pool.\"p\": an empty pool (older releases drop it, so lookups of it fail) needs \
             KumoMTA 2026.04.09",
        );
        clean(check_sources(empty, &head()));
    }

    // ---- dkim_data.toml ---------------------------------------------------------------------

    const GOOD_DKIM: &str = r#"
[base]
selector = "s2025"
headers = ["From", "To", "Subject", "Date"]
additional_signatures = ["esp"]
header_canonicalization = "Relaxed"
body_canonicalization = "Simple"
over_sign = true
expiration = 86400
vault_mount = "secret"
vault_path_prefix = "dkim"
policy = "Always"

[domain."example.com"]
filename = "/keys/example.com.key"
algo = "sha256"

[domain."*.example.net"]
selector = "other"
headers = ["from", "subject"]
algo = "ed25519"

[signature."esp"]
domain = "esp.example"
policy = "OnlyIfMissingDomainBlock"
"#;

    #[test]
    fn dkim_good() {
        clean(check_dkim(GOOD_DKIM, &head()));
        clean(check_dkim("", &head()));
    }

    #[test]
    fn dkim_bad() {
        let v = head();
        let ok_base = "[base]\nselector = \"s\"\nheaders = [\"From\"]\n";
        let with = |extra: &str| format!("{ok_base}{extra}");
        expect(
            check_dkim("[domains.\"a\"]\n", &v),
            "domains: unknown top-level key",
        );
        expect(
            check_dkim(&with("algo = \"sha256\"\n"), &v),
            "base.algo: `algo` is not allowed in [base]",
        );
        expect(
            check_dkim(&with("vault_key = \"private_key\"\n"), &v),
            "base.vault_key: `vault_key` is not allowed in [base]",
        );
        expect(
            check_dkim(&with("ttl = 300\n"), &v),
            "base.ttl: unknown field",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nselecter = \"x\"\n"), &v),
            "domain.\"a.com\".selecter: unknown field",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nselector = 2024\n"), &v),
            "domain.\"a.com\".selector: expected a string, found an integer",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nheaders = \"From\"\n"), &v),
            "expected an array of strings, found a string",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nheaders = [\"From\", 3]\n"), &v),
            "domain.\"a.com\".headers[1]: expected a string",
        );
        expect(
            check_dkim(
                &with("[domain.\"a.com\"]\npolicy = \"OnlyIfMissingDomainBlock\"\n"),
                &v,
            ),
            "domain.\"a.com\".policy: `OnlyIfMissingDomainBlock` is not one of `Always`",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nalgo = \"rsa\"\n"), &v),
            "domain.\"a.com\".algo: `rsa` is not one of",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nexpiration = \"1h\"\n"), &v),
            "domain.\"a.com\".expiration: expected a non-negative integer, found a string",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nexpiration = 1.5\n"), &v),
            "found a float",
        );
        expect(
            check_dkim(
                &with("[domain.\"a.com\"]\nheader_canonicalization = \"relaxed\"\n"),
                &v,
            ),
            "did you mean `Relaxed`?",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nover_sign = \"yes\"\n"), &v),
            "expected a boolean",
        );
        // Resolution: selector and From-bearing headers.
        expect(
            check_dkim("[base]\nheaders = [\"From\"]\n[domain.\"a.com\"]\n", &v),
            "domain.\"a.com\": no selector",
        );
        expect(
            check_dkim("[base]\nselector = \"s\"\n[domain.\"a.com\"]\n", &v),
            "domain.\"a.com\": no headers",
        );
        expect(
            check_dkim(
                "[base]\nselector = \"s\"\nheaders = [\"To\", \"Subject\"]\n[domain.\"a.com\"]\n",
                &v,
            ),
            "domain.\"a.com\": the signed headers (inherited from [base]) must include From",
        );
        expect(
            check_dkim(&with("[domain.\"a.com\"]\nheaders = [\"Subject\"]\n"), &v),
            "domain.\"a.com\": the signed headers must include From",
        );
        // Signatures.
        expect(
            check_dkim(
                &with("additional_signatures = [\"esp\"]\n[signature.\"esp\"]\nselector = \"x\"\n"),
                &v,
            ),
            "signature.\"esp\": missing `domain`",
        );
        expect(
            check_dkim(&with("additional_signatures = [\"nope\"]\n"), &v),
            "base.additional_signatures[0]: `nope` has no [signature.\"nope\"] block",
        );
        expect(
            check_dkim(&with("[signature.\"esp\"]\ndomain = \"esp.example\"\n"), &v),
            "signature.\"esp\": not listed in base.additional_signatures",
        );
        expect(
            check_dkim(
                "[base]\nheaders = [\"From\"]\nadditional_signatures = [\"esp\"]\n\
                 [signature.\"esp\"]\ndomain = \"esp.example\"\n",
                &v,
            ),
            "signature.\"esp\": no selector",
        );
        expect(
            check_dkim(
                &with(
                    "additional_signatures = [\"esp\"]\n[signature.\"esp\"]\n\
                     domain = \"e\"\npolicy = \"Sometimes\"\n",
                ),
                &v,
            ),
            "signature.\"esp\".policy: `Sometimes` is not one of",
        );
        // Release gates.
        let ed = with("[domain.\"a.com\"]\nalgo = \"ed25519\"\n");
        expect(
            check_dkim(&ed, &seed()),
            "domain.\"a.com\".algo: ed25519 keys fail to load before KumoMTA 2025.05.06",
        );
        clean(check_dkim(&ed, &ver("2025.05.06-b29689af")));
        expect(
            check_dkim(&with("expiration = 60\n"), &ver("2024.09.02")),
            "base.expiration: `expiration` needs KumoMTA 2024.11.08",
        );
    }

    // ---- queues.toml ------------------------------------------------------------------------

    const GOOD_QUEUES: &str = r#"
scheduling_header = "X-Schedule"
tenant_header = "X-Tenant"
remove_tenant_header = true
campaign_header = "X-Campaign"
remove_campaign_header = true
default_tenant = "default-tenant"

[tenant."default-tenant"]
egress_pool = "shared"

[tenant."mytenant"]
egress_pool = "pool-1"
max_age = "10h"
require_authz = ["scott"]
overall_max_message_rate = "1000/h"
strategy = "SingletonTimerWheel"

[tenant."mytenant".campaigns."welcome"]
overall_max_message_rate = "10/s"
max_retry_interval = 3600

[queue.default]
max_age = "24h"
retry_interval = "20m"
refresh_strategy = "Epoch"
shrink_policy = [{ interval = "1m", policy = "ShrinkData" }]

[queue."gmail.com"]
max_age = "22h"
routing_domain = "[10.0.0.1]"
overall_max_message_rate = "100/s"
protocol = { smtp = { mx_list = ["mx1.example.com", "[10.0.0.2]"] } }

[queue."gmail.com"."mytenant"]
egress_pool = "pool-2"

[queue."gmail.com"."mytenant"."welcome"]
max_message_rate = "5/s"

[queue."maildir.example"]
protocol = { maildir_path = "/var/mail" }

[queue."lua.example"]
protocol = { custom_lua = { constructor = "make.webhook" } }
"#;

    #[test]
    fn queues_good() {
        clean(check_queues(GOOD_QUEUES, &seed()));
        clean(check_queues(GOOD_QUEUES, &head()));
        clean(check_queues("", &head()));
    }

    #[test]
    fn queues_bad() {
        let v = head();
        let t = "[tenant.\"t\"]\n";
        let with = |extra: &str| format!("{t}{extra}");
        expect(
            check_queues("tenant_heder = \"X\"\n", &v),
            "tenant_heder: unknown top-level key",
        );
        expect(
            check_queues("remove_tenant_header = \"yes\"\n", &v),
            "remove_tenant_header: expected a boolean",
        );
        expect(
            check_queues("[tenants.\"t\"]\n", &v),
            "tenants: internal field of the helper's record",
        );
        expect(
            check_queues("default_tenant = \"nobody\"\n[tenant.\"t\"]\n", &v),
            "default_tenant: `nobody` is not a defined [tenant]",
        );
        expect(
            check_queues(&with("routing_domain = \"[10.0.0.1]\"\n"), &v),
            "tenant.\"t\".routing_domain: not allowed in a tenant block",
        );
        expect(
            check_queues(&with("max_agee = \"1h\"\n"), &v),
            "tenant.\"t\".max_agee: unknown field",
        );
        expect(
            check_queues(&with("egress_pool = 3\n"), &v),
            "tenant.\"t\".egress_pool: expected a string, found an integer",
        );
        expect(
            check_queues(&with("require_authz = \"scott\"\n"), &v),
            "tenant.\"t\".require_authz: expected an array of strings",
        );
        expect(
            check_queues(&with("overall_max_message_rate = \"100/hours\"\n"), &v),
            "tenant.\"t\".overall_max_message_rate: invalid rate `100/hours`",
        );
        expect(
            check_queues(&with("[tenant.\"t\".campaigns.\"c\"]\nmax_agee = 1\n"), &v),
            "tenant.\"t\".campaigns.\"c\".max_agee: unknown field",
        );
        expect(
            check_queues("[tenant.\"max_age\"]\n", &v),
            "tenant.\"max_age\": a tenant named like a queue option",
        );
        // Durations in the target's humantime flavor.
        let frac = with("max_age = \"1.5h\"\n");
        expect(
            check_queues(&frac, &seed()),
            "tenant.\"t\".max_age: invalid duration `1.5h`",
        );
        clean(check_queues(&frac, &head()));
        expect(
            check_queues(&with("max_age = \"0\"\n"), &seed()),
            "invalid duration `0`",
        );
        expect(
            check_queues(&with("retry_interval = -5\n"), &v),
            "cannot be negative",
        );
        // Enums are exact-case.
        expect(
            check_queues(&with("strategy = \"timerwheel\"\n"), &v),
            "tenant.\"t\".strategy: `timerwheel` is not one of",
        );
        expect(
            check_queues(&with("refresh_strategy = \"epoch\"\n"), &v),
            "did you mean `Epoch`?",
        );
        // shrink_policy shape.
        expect(
            check_queues(&with("shrink_policy = { interval = \"1m\" }\n"), &v),
            "expected an array of {interval, policy} tables",
        );
        expect(
            check_queues(&with("shrink_policy = [{ policy = \"NoShrink\" }]\n"), &v),
            "tenant.\"t\".shrink_policy[0]: missing `interval`",
        );
        expect(
            check_queues(
                &with("shrink_policy = [{ interval = \"1m\", policy = \"Shrink\" }]\n"),
                &v,
            ),
            "tenant.\"t\".shrink_policy[0].policy: `Shrink` is not one of",
        );
        expect(
            check_queues(
                &with("shrink_policy = [{ interval = \"1m\", policy = \"NoShrink\", x = 1 }]\n"),
                &v,
            ),
            "shrink_policy[0].x: unknown field",
        );
        expect(
            check_queues(
                &with("shrink_policy = [{ interval = \"1m\", policy = \"NoShrink\" }]\n"),
                &ver("2025.01.29"),
            ),
            "`shrink_policy` needs KumoMTA 2025.03.19",
        );
        // Protocol shapes.
        expect(
            check_queues(&with("protocol = \"smtp\"\n"), &v),
            "tenant.\"t\".protocol: expected a protocol table",
        );
        expect(
            check_queues(
                &with("protocol = { smtp = { mx_list = \"mx.example\" } }\n"),
                &v,
            ),
            "protocol.smtp.mx_list: expected an array of hosts",
        );
        expect(
            check_queues(&with("protocol = { lmtp = {} }\n"), &v),
            "tenant.\"t\".protocol: expected {smtp=",
        );
        expect(
            check_queues(&with("protocol = { custom_lua = {} }\n"), &v),
            "protocol.custom_lua: missing `constructor`",
        );
        expect(
            check_queues(
                &with("protocol = { smtp = { mx_list = [], treat_mx_list_as_secure = true } }\n"),
                &v,
            ),
            "`treat_mx_list_as_secure` needs KumoMTA 2026.09.22",
        );
        // [queue.D] blocks.
        expect(
            check_queues(&with("[queue.\"gmail.com\"]\nmax_agee = \"1h\"\n"), &v),
            "queue.\"gmail.com\".max_agee: unknown queue option (the helper would take it as a \
             tenant name",
        );
        expect(
            check_queues(
                &with("[queue.\"gmail.com\".\"ghost\"]\nmax_age = \"1h\"\n"),
                &v,
            ),
            "queue.\"gmail.com\".\"ghost\": not a defined [tenant]",
        );
        expect(
            check_queues(
                &with("[queue.\"gmail.com\".\"t\"]\nmax_agee = \"1h\"\n"),
                &v,
            ),
            "queue.\"gmail.com\".\"t\".max_agee: unknown queue option (the helper would take it \
             as a campaign name",
        );
        expect(
            check_queues(
                &with("[queue.\"gmail.com\".\"t\".\"c\"]\nmax_agee = \"1h\"\n"),
                &v,
            ),
            "queue.\"gmail.com\".\"t\".\"c\".max_agee: unknown field",
        );
        expect(
            check_queues(&with("[queue.\"gmail.com\"]\nrouting_domain = 5\n"), &v),
            "queue.\"gmail.com\".routing_domain: expected a string",
        );
        expect(
            check_queues(
                &with("[queue.\"gmail.com\"]\noverall_max_message_rate = 100\n"),
                &v,
            ),
            "queue.\"gmail.com\".overall_max_message_rate: expected a rate string",
        );
        expect(
            check_queues(
                &with("[queue.\"gmail.com\"]\nmax_message_rate = \"10/s\"\n"),
                &ver("2024.01.01"),
            ),
            "`max_message_rate` needs KumoMTA 2024.06.10",
        );
    }

    // ---- shaping.toml -----------------------------------------------------------------------

    const GOOD_SHAPING: &str = r#"
["default"]
connection_limit = 10
max_connection_rate = "100/min"
max_deliveries_per_connection = 100
max_message_rate = "100/s"
enable_tls = "Opportunistic"
idle_timeout = "60s"
data_timeout = 30
remember_broken_tls = "3d"
prohibited_hosts = ["127.0.0.0/8", "::1"]
additional_connection_limits = { "global" = 100 }
additional_message_rate_throttles = { "all" = "1000/s" }
tls_certificate = { vault_mount = "secret", vault_path = "tls/cert" }
rustls_cipher_suites = ["tls13_aes_256_gcm_sha384"]
openssl_options = "NO_TLSV1|NO_TLSV1_1"

[["default".automation]]
regex = '''\[TS04\]'''
action = "Suspend"
duration = "2h"

["gmail.com"]
connection_limit = "local:5"
max_message_rate = "1,000/h,max_burst=10"
mx_rollup = true
replace_base = false
source_selection_rate = "500/h"

[["gmail.com".automation]]
regex = ["421 4\\.7\\.0", "too many"]
action = [{ SetConfig = { name = "max_connection_rate", value = "10/min" } }, "SuspendTenant"]
trigger = { Threshold = "10/h" }
duration = "1h"
match_internal = false

[["gmail.com".automation]]
regex = "x"
action = { SetDomainConfig = { name = "connection_limit", value = 1 } }
trigger = "Immediate"
duration = 3600

["gmail.com".sources."ip-1"]
max_message_rate = "10/s"

["http://127.0.0.1:8008.tsa.kumomta"]
mx_rollup = false
connection_limit = "local:5"
max_deliveries_per_connection = 8192
system_shutdown_timeout = "30s"

[provider."google"]
match = [{ MXSuffix = ".google.com" }, { DomainSuffix = "gmail.com" }, { HostName = "gmail-smtp-in.l.google.com" }]
provider_connection_limit = 5
provider_max_message_rate = "1000/s"
enable_tls = "Required"
replace_base = true

[provider."google".sources."ip-1"]
provider_source_selection_rate = "100/h"
max_message_rate = "5/s"

[[provider."google".automation]]
regex = "x"
action = "Bounce"
duration = "10m"
"#;

    #[test]
    fn shaping_good() {
        clean(check_shaping(GOOD_SHAPING, &ver("2025.05.06-b29689af")));
        clean(check_shaping(GOOD_SHAPING, &head()));
        clean(check_shaping("", &head()));
    }

    #[test]
    fn shaping_bad() {
        let v = head();
        let d = |extra: &str| format!("[\"example.com\"]\n{extra}");
        expect(
            check_shaping("[localhost]\nconnection_limit = 1\n", &v),
            "\"localhost\": warning: the domain is a single DNS label",
        );
        expect(
            check_shaping("[gmail.com]\nconnection_limit = 1\n", &v),
            "\"gmail\".com: unknown field",
        );
        expect(
            check_shaping("[\"*.example.com\"]\nmx_rollup = false\n", &v),
            "wildcards are not supported",
        );
        expect(
            check_shaping(
                "[\"http://127.0.0.1:8008.tsa.kumomta\"]\nmax_ready = 1\n",
                &v,
            ),
            "not a DNS name: MX rollup would fail",
        );
        expect(
            check_shaping(&d("connection_limt = 1\n"), &v),
            "\"example.com\".connection_limt: unknown field",
        );
        expect(
            check_shaping(&d("tls_handshake_timeout = \"5s\"\n"), &v),
            "dev-only egress path option",
        );
        expect(
            check_shaping(&d("enable_tls = \"required\"\n"), &v),
            "\"example.com\".enable_tls: `required` is not one of",
        );
        expect(
            check_shaping(&d("enable_dane = 1\n"), &v),
            "expected a boolean",
        );
        expect(
            check_shaping(&d("mx_rollup = \"false\"\n"), &v),
            "\"example.com\".mx_rollup: expected a boolean",
        );
        expect(
            check_shaping(&d("connection_limit = 0\n"), &v),
            "a connection limit must be 1 or larger",
        );
        expect(
            check_shaping(&d("connection_limit = \"local: 5\"\n"), &v),
            "invalid connection limit",
        );
        expect(
            check_shaping(&d("connection_limit = \"local:5\"\n"), &ver("2024.11.08")),
            "a string connection limit needs KumoMTA 2025.01.23",
        );
        expect(
            check_shaping(&d("connection_limit = { limit = 5 }\n"), &v),
            "expected a connection limit",
        );
        expect(
            check_shaping(&d("max_message_rate = \"1000/3600\"\n"), &v),
            "\"example.com\".max_message_rate: invalid rate `1000/3600`",
        );
        expect(
            check_shaping(&d("max_message_rate = 100\n"), &v),
            "expected a rate string",
        );
        expect(
            check_shaping(
                &d("max_message_rate = \"10/s,max_burst=2\"\n"),
                &ver("2025.01.23"),
            ),
            "`,max_burst=` in a rate needs KumoMTA 2025.01.29",
        );
        expect(
            check_shaping(
                &d("additional_message_rate_throttles = { a = \"10 /s\" }\n"),
                &v,
            ),
            "\"example.com\".additional_message_rate_throttles.\"a\": invalid rate",
        );
        expect(
            check_shaping(&d("additional_connection_limits = { a = 0 }\n"), &v),
            "additional_connection_limits.\"a\": a connection limit must be 1",
        );
        expect(
            check_shaping(&d("idle_timeout = \"5 secs,\"\n"), &v),
            "\"example.com\".idle_timeout: invalid duration",
        );
        expect(
            check_shaping(&d("prohibited_hosts = [\"192.168.1.1/24\"]\n"), &v),
            "prohibited_hosts[0]: invalid CIDR",
        );
        expect(
            check_shaping(&d("skip_hosts = \"::/0\"\n"), &v),
            "expected an array of IP/CIDR",
        );
        expect(check_shaping(&d("smtp_port = 65536\n"), &v), "out of range");
        expect(
            check_shaping(&d("rustls_cipher_suites = [\"TLS_RSA_WITH_RC4\"]\n"), &v),
            "is not a rustls cipher suite",
        );
        expect(
            check_shaping(&d("openssl_options = \"no_tlsv1\"\n"), &v),
            "is not an SslOptions name",
        );
        expect(
            check_shaping(&d("tls_private_key = { path = \"/k\" }\n"), &v),
            "expected a path, {key_data=…}",
        );
        expect(
            check_shaping(&d("system_shutdown_timeout = \"30s\"\n"), &seed()),
            "`system_shutdown_timeout` needs KumoMTA 2025.05.06",
        );
        expect(
            check_shaping(
                &d("ip_lookup_strategy = \"Ipv4Only\"\n"),
                &ver("2026.03.04"),
            ),
            "`ip_lookup_strategy` needs KumoMTA 2026.04.09",
        );
        expect(
            check_shaping(&d("ip_lookup_strategy = \"IPv4Only\"\n"), &v),
            "did you mean `Ipv4Only`?",
        );
        expect(
            check_shaping(&d("dispatcher_progress_watchdog_timeout = \"5m\"\n"), &v),
            "needs KumoMTA 2026.09.22",
        );
        // sources blocks
        expect(
            check_shaping(
                &d(
                    "[\"example.com\".sources.\"ip-1\"]\nprovider_source_selection_rate = \"1/s\"\n",
                ),
                &v,
            ),
            "\"example.com\".sources.\"ip-1\".provider_source_selection_rate: only allowed in a \
             provider's `sources` blocks",
        );
        expect(
            check_shaping(
                &d("[\"example.com\".sources.\"ip-1\"]\nmx_rollup = false\n"),
                &v,
            ),
            "sources.\"ip-1\".mx_rollup: unknown field",
        );
        expect(
            check_shaping(&d("sources = [1]\n"), &v),
            "expected a table, found an array",
        );
        // provider blocks
        let p = |extra: &str| {
            format!("[provider.\"p\"]\nmatch = [{{ MXSuffix = \".p.com\" }}]\n{extra}")
        };
        expect(
            check_shaping(&p("mx_rollup = false\n"), &v),
            "provider.\"p\".mx_rollup: not allowed in a provider block",
        );
        expect(
            check_shaping(&p("provider_source_selection_rate = \"1/s\"\n"), &v),
            "only allowed inside a provider's `sources` blocks",
        );
        expect(
            check_shaping(&p("provider_connection_limit = \"five\"\n"), &v),
            "provider.\"p\".provider_connection_limit: invalid connection limit",
        );
        expect(
            check_shaping(&p("provider_max_message_rate = \"10/hours\"\n"), &v),
            "provider.\"p\".provider_max_message_rate: invalid rate",
        );
        expect(
            check_shaping(
                "[provider.\"p\"]\nmatch = [{ MxSuffix = \".p.com\" }]\n",
                &v,
            ),
            "provider.\"p\".match[0].MxSuffix: unknown match rule",
        );
        expect(
            check_shaping(
                "[provider.\"p\"]\nmatch = [{ MXSuffix = \".p.com\", HostName = \"a\" }]\n",
                &v,
            ),
            "provider.\"p\".match[0]: expected one of",
        );
        expect(
            check_shaping("[provider.\"p\"]\nmatch = { MXSuffix = \".p.com\" }\n", &v),
            "expected an array of match rules",
        );
        expect(
            check_shaping(
                "[provider.\"p\"]\nmatch = [{ HostName = \"mx.p.com\" }]\n",
                &ver("2024.11.08"),
            ),
            "`HostName` provider matching needs KumoMTA 2025.01.23",
        );
        expect(
            check_shaping(
                "[provider.\"p\"]\nmatch = [{ MXSuffix = \".P.com\" }]\n",
                &v,
            ),
            "compared in lower case",
        );
        expect(
            check_shaping(
                "[provider.\"p\".sources.\"s\"]\nprovider_source_selection_rate = \"1/s\"\n",
                &ver("2025.01.29"),
            ),
            "`provider_source_selection_rate` needs KumoMTA 2025.03.19",
        );
        expect(
            check_shaping("provider = 1\n", &v),
            "provider: expected a table",
        );
        // automation rules
        let r = |rule: &str| format!("[[\"example.com\".automation]]\n{rule}");
        expect(
            check_shaping(&r("regex = \"x\"\naction = \"Suspend\"\n"), &v),
            "\"example.com\".automation[0]: missing `duration`",
        );
        expect(
            check_shaping(&r("action = \"Suspend\"\nduration = \"1h\"\n"), &v),
            "missing `regex`",
        );
        expect(
            check_shaping(
                &r("regex = 5\naction = \"Suspend\"\nduration = \"1h\"\n"),
                &v,
            ),
            "automation[0].regex: expected a regex string",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"Pause\"\nduration = \"1h\"\n"),
                &v,
            ),
            "automation[0].action: unknown action `Pause`",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"suspend\"\nduration = \"1h\"\n"),
                &v,
            ),
            "unknown action `suspend`",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"Bounce\"\nduration = \"1h\"\n"),
                &ver("2024.11.08"),
            ),
            "the `Bounce` action needs KumoMTA 2025.01.23",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"SuspendCampaign\"\nduration = \"1h\"\n"),
                &ver("2024.01.01"),
            ),
            "the `SuspendCampaign` action needs KumoMTA 2024.06.10",
        );
        let sdc = r(
            "regex = \"x\"\naction = { SetDomainConfig = { name = \"max_ready\", value = 1 } }\n\
             duration = \"1h\"\n",
        );
        expect(
            check_shaping(&sdc, &ver("2024.09.02")),
            "automation[0].action.SetDomainConfig: the `SetDomainConfig` action needs KumoMTA \
             2024.11.08",
        );
        clean(check_shaping(&sdc, &ver("2024.11.08")));
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = { SetConfig = { name = \"conn_limit\", value = 1 } }\n\
                    duration = \"1h\"\n",
                ),
                &v,
            ),
            "automation[0].action.SetConfig.name: unknown field",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = { SetConfig = { name = \"connection_limit\", value = 0 } }\n\
                    duration = \"1h\"\n",
                ),
                &v,
            ),
            "automation[0].action.SetConfig.value: a connection limit must be 1 or larger",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = { SetConfig = { name = \"enable_tls\" } }\n\
                    duration = \"1h\"\n",
                ),
                &v,
            ),
            "action.SetConfig: missing `value`",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = { SetConfig = { name = \"provider_source_selection_rate\", \
                    value = \"1/s\" } }\nduration = \"1h\"\n",
                ),
                &v,
            ),
            "action.SetConfig.name: unknown field",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"SetConfig\"\nduration = \"1h\"\n"),
                &v,
            ),
            "`SetConfig` needs a value",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = { Suspend = true }\nduration = \"1h\"\n"),
                &v,
            ),
            "action.Suspend: unknown action",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = \"Suspend\"\ntrigger = { Threshold = \"10/hours\" }\n\
                    duration = \"1h\"\n",
                ),
                &v,
            ),
            "automation[0].trigger.Threshold: invalid rate `10/hours`",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = \"Suspend\"\ntrigger = \"Threshold\"\nduration = \"1h\"\n",
                ),
                &v,
            ),
            "automation[0].trigger: expected \"Immediate\" or {Threshold=",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"Suspend\"\nduration = \"2 Hours\"\n"),
                &v,
            ),
            "automation[0].duration: invalid duration `2 Hours`",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = \"Suspend\"\nduration = \"1h\"\nmatch_internal = true\n",
                ),
                &ver("2024.09.02"),
            ),
            "`match_internal` needs KumoMTA 2024.11.08",
        );
        expect(
            check_shaping(
                &r(
                    "regex = \"x\"\naction = \"Suspend\"\nduration = \"1h\"\nmatch_internal = \"yes\"\n",
                ),
                &v,
            ),
            "automation[0].match_internal: expected a boolean",
        );
        expect(
            check_shaping(
                &r("regex = \"x\"\naction = \"Suspend\"\nduration = \"1h\"\nactoin = \"Bounce\"\n"),
                &v,
            ),
            "automation[0].actoin: unknown field",
        );
        expect(
            check_shaping(&d("automation = \"x\"\n"), &v),
            "expected an array of automation rules",
        );
    }

    // ---- rate_and_duration_strings ----------------------------------------------------------

    #[test]
    fn rate_and_duration_strings_found() {
        let found = rate_and_duration_strings(GOOD_SHAPING);
        let has = |path: &str, value: &str| found.iter().any(|(p, v)| p == path && v == value);
        assert!(has("default.max_message_rate", "100/s"), "{found:#?}");
        assert!(has("default.remember_broken_tls", "3d"), "{found:#?}");
        assert!(
            has("default.additional_message_rate_throttles.all", "1000/s"),
            "{found:#?}"
        );
        assert!(has("default.automation[0].duration", "2h"), "{found:#?}");
        assert!(
            has("\"gmail.com\".automation[0].trigger.Threshold", "10/h"),
            "{found:#?}"
        );
        assert!(
            has(
                "\"gmail.com\".automation[0].action[0].SetConfig.value",
                "10/min"
            ),
            "{found:#?}"
        );
        assert!(
            has(
                "provider.google.sources.ip-1.provider_source_selection_rate",
                "100/h"
            ),
            "{found:#?}"
        );
        // Not rates or durations: limits, enums, regexes, integer seconds.
        assert!(
            !found
                .iter()
                .any(|(_, v)| v == "local:5" || v == "Opportunistic")
        );
        assert!(!found.iter().any(|(p, _)| p.ends_with("data_timeout")));
        for (path, s) in &found {
            let is_rate = units::parse_rate(s).is_ok();
            let is_duration = units::parse_humantime(s, head().humantime()).is_ok();
            assert!(is_rate || is_duration, "{path} = {s:?}");
        }

        let q = rate_and_duration_strings(GOOD_QUEUES);
        assert!(
            q.contains(&("tenant.mytenant.max_age".into(), "10h".into())),
            "{q:#?}"
        );
        assert!(
            q.contains(&(
                "tenant.mytenant.campaigns.welcome.overall_max_message_rate".into(),
                "10/s".into()
            )),
            "{q:#?}"
        );
        assert!(
            q.contains(&(
                "queue.default.shrink_policy[0].interval".into(),
                "1m".into()
            )),
            "{q:#?}"
        );
        assert!(!q.iter().any(|(p, _)| p.contains("egress_pool")));
        let s = rate_and_duration_strings(GOOD_SOURCES);
        assert_eq!(s, vec![("source.ip-1.ttl".to_string(), "5m".to_string())]);
        assert!(rate_and_duration_strings("x = [").is_empty());
    }
}
