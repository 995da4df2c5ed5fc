//! The schema of every block: which blocks may appear where, their labels, their fields,
//! each field's type, default, KumoMTA meaning and the release that introduced it.
//!
//! This table is the single source of truth for the checker, the defaults the resolver
//! applies, and the language server's completion and hover. Field names are KumoMTA's own names wherever a field maps
//! one-to-one onto a KumoMTA setting, so the KumoMTA reference applies unchanged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kumoc_lang::units::{Cidr, Feature};

/// One value of an enum field: the `.kumo` spelling, KumoMTA's spelling, and a doc line.
#[derive(Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: &'static str,
    pub kumo: &'static str,
    pub doc: &'static str,
    /// The KumoMTA feature the value needs (the release table says since when).
    pub since: Option<Feature>,
}

const fn v(name: &'static str, kumo: &'static str, doc: &'static str) -> Variant {
    Variant {
        name,
        kumo,
        doc,
        since: None,
    }
}

/// Kinds of named things a field can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    Pool,
    Source,
    Tenant,
    Secret,
    Provider,
}

impl RefKind {
    pub fn noun(self) -> &'static str {
        match self {
            RefKind::Pool => "pool",
            RefKind::Source => "source",
            RefKind::Tenant => "tenant",
            RefKind::Secret => "secret",
            RefKind::Provider => "provider",
        }
    }
}

/// The type of a field.
#[derive(Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    Bool,
    /// An integer within `min..=max`.
    Int {
        min: i64,
        max: i64,
    },
    /// `24h`, `20m`, `90s`, `1h30m` (or a KumoMTA duration string).
    Duration,
    /// A KumoMTA throttle: `100/s`, `10/min`, `local:10/s`, `500/d,max_burst=1`.
    Rate,
    /// A KumoMTA connection limit: an integer ≥ 1 or `local:N`.
    Limit,
    /// Bytes: `25Gi`, `512Mi`.
    Size,
    /// Kubernetes CPU: `1000m`, `2`.
    Cpu,
    Percent,
    Ip,
    Cidr,
    /// `host:port`
    HostPort,
    /// A DNS domain name; `wildcard` allows a leading `*.`.
    Domain {
        wildcard: bool,
    },
    /// A URL with one of these schemes.
    Url(&'static [&'static str]),
    /// A Kubernetes object name (DNS-1123 label).
    K8sName,
    /// An HTTP path starting with `/`.
    HttpPath,
    Enum(&'static [Variant]),
    Ref(RefKind),
    /// `secret("name")` or `secret("name", "key")`.
    Secret,
    /// A KumoMTA release: `"2025.03.19-1d3f1f67"`.
    Version,
    /// A fancy-regex pattern.
    Regex,
    /// A TSA automation action.
    Action,
    /// `immediate` or `threshold(10/h)`.
    Trigger,
    /// A provider match rule: `mx_suffix(".google.com")`, `domain_suffix(...)`, `host_name(...)`.
    Match,
    List(&'static Ty),
    /// One value or a list of them.
    OneOrList(&'static Ty),
}

impl Ty {
    /// How the type is named in messages and hover.
    pub fn describe(&self) -> String {
        match self {
            Ty::Str => "a string".into(),
            Ty::Bool => "`true` or `false`".into(),
            Ty::Int { min, max } => {
                if *max == i64::MAX {
                    format!("an integer ≥ {min}")
                } else {
                    format!("an integer from {min} to {max}")
                }
            }
            Ty::Duration => "a duration like `20m`".into(),
            Ty::Rate => "a rate like `100/s`".into(),
            Ty::Limit => "a connection limit (an integer, or `local:N`)".into(),
            Ty::Size => "a size like `25Gi`".into(),
            Ty::Cpu => "a CPU quantity like `1000m`".into(),
            Ty::Percent => "a percentage like `80%`".into(),
            Ty::Ip => "an IP address".into(),
            Ty::Cidr => "an IP address or CIDR".into(),
            Ty::HostPort => "a \"host:port\" string".into(),
            Ty::Domain { .. } => "a domain name".into(),
            Ty::Url(schemes) => format!("a {} URL", schemes.join("/")),
            Ty::K8sName => "a Kubernetes name".into(),
            Ty::HttpPath => "an HTTP path".into(),
            Ty::Enum(vs) => {
                let names: Vec<String> = vs.iter().map(|v| format!("`{}`", v.name)).collect();
                format!("one of {}", names.join(", "))
            }
            Ty::Ref(k) => format!("the name of a {}", k.noun()),
            Ty::Secret => "a secret reference like `secret(\"name\")`".into(),
            Ty::Version => "a KumoMTA release like \"2025.03.19-1d3f1f67\"".into(),
            Ty::Regex => "a regular expression string".into(),
            Ty::Action => "a TSA action".into(),
            Ty::Trigger => "`immediate` or `threshold(RATE)`".into(),
            Ty::Match => "a match rule like `mx_suffix(\".google.com\")`".into(),
            Ty::List(t) => format!("a list of {}", strip_article(&t.describe())),
            Ty::OneOrList(t) => format!("{} or a list of them", t.describe()),
        }
    }
}

fn strip_article(s: &str) -> String {
    s.strip_prefix("a ")
        .or_else(|| s.strip_prefix("an "))
        .unwrap_or(s)
        .to_string()
}

#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub doc: &'static str,
    /// What the field is when it is not set: the one statement of it, which the resolver
    /// applies (`value::Typed::applied_default`) and hover and docs show ([`Self::default_text`]).
    pub default: Option<FieldDefault>,
    pub required: bool,
    /// The KumoMTA feature the field needs (the release table says since when).
    pub since: Option<Feature>,
}

/// A field's default, and who applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldDefault {
    /// kumoc's: what kumoc builds when the field is not set (the resolver puts it in the
    /// model; for the few settings kumoc writes into the policy itself, the emitter writes it).
    Kumoc(Lit),
    /// KumoMTA's own (or its policy helper's), read from KumoMTA's source: kumoc writes
    /// nothing when the field is not set, and KumoMTA uses this.
    KumoMta(Lit),
    /// Follows from something else (the pod name, the cluster's default StorageClass):
    /// described, not a value.
    Described(&'static str),
}

impl FieldDefault {
    /// The value, unless the default is only described.
    pub fn lit(self) -> Option<Lit> {
        match self {
            FieldDefault::Kumoc(l) | FieldDefault::KumoMta(l) => Some(l),
            FieldDefault::Described(_) => None,
        }
    }

    /// As users see it (hover, docs): the value as written in `.kumo`, or the description.
    pub fn text(self) -> String {
        match self {
            FieldDefault::Kumoc(l) | FieldDefault::KumoMta(l) => l.to_kumo(),
            FieldDefault::Described(d) => d.to_string(),
        }
    }
}

/// A default value: typed, and written in the unit the schema states it in (`60s` stays
/// `60s`). `value::Typed::of_default` gives the value a field of that type holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lit {
    Bool(bool),
    /// An integer, or a connection limit.
    Int(i64),
    /// A duration of so many seconds, minutes or days.
    Secs(u64),
    Mins(u64),
    Days(u64),
    /// A size of so many MiB or GiB.
    Mi(u64),
    Gi(u64),
    /// A percentage.
    Pct(u8),
    Str(&'static str),
    /// An enum value, or a keyword value such as `immediate`, by its `.kumo` name.
    Name(&'static str),
    /// A list of addresses and networks.
    Cidrs(&'static [Cidr]),
}

impl Lit {
    /// A duration's milliseconds.
    pub const fn duration_ms(self) -> Option<u64> {
        match self {
            Lit::Secs(n) => n.checked_mul(1000),
            Lit::Mins(n) => n.checked_mul(60_000),
            Lit::Days(n) => n.checked_mul(86_400_000),
            _ => None,
        }
    }

    /// A size's bytes.
    pub const fn bytes(self) -> Option<u64> {
        match self {
            Lit::Mi(n) => n.checked_mul(1 << 20),
            Lit::Gi(n) => n.checked_mul(1 << 30),
            _ => None,
        }
    }

    /// As written in `.kumo` (IPv6 addresses are quoted there).
    pub fn to_kumo(self) -> String {
        match self {
            Lit::Bool(b) => b.to_string(),
            Lit::Int(n) => n.to_string(),
            Lit::Secs(n) => format!("{n}s"),
            Lit::Mins(n) => format!("{n}m"),
            Lit::Days(n) => format!("{n}d"),
            Lit::Mi(n) => format!("{n}Mi"),
            Lit::Gi(n) => format!("{n}Gi"),
            Lit::Pct(n) => format!("{n}%"),
            Lit::Str(s) => format!("{s:?}"),
            Lit::Name(n) => n.to_string(),
            Lit::Cidrs(cs) => {
                let items: Vec<String> = cs
                    .iter()
                    .map(|c| match c.addr {
                        IpAddr::V4(_) => c.to_string(),
                        IpAddr::V6(_) => format!("\"{c}\""),
                    })
                    .collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Cidr {
    Cidr {
        addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
        prefix,
    }
}

const fn v6(addr: Ipv6Addr) -> Cidr {
    Cidr {
        addr: IpAddr::V6(addr),
        prefix: 128,
    }
}

/// The pod itself: whom KumoMTA's listeners trust (`relay_hosts`, `trusted_hosts`) unless
/// told otherwise.
pub const LOOPBACK: &[Cidr] = &[v4(127, 0, 0, 1, 32), v6(Ipv6Addr::LOCALHOST)];

/// KumoMTA's `CidrSet::default_prohibited_hosts`: destinations never connected to.
const PROHIBITED_HOSTS: &[Cidr] = &[
    v4(127, 0, 0, 0, 8),
    v6(Ipv6Addr::LOCALHOST),
    v4(0, 0, 0, 0, 32),
    v6(Ipv6Addr::UNSPECIFIED),
];

/// The repository KumoMTA publishes its release images to: the default `image`.
pub const KUMOMTA_IMAGE: &str = "ghcr.io/kumocorp/kumomta";

const fn f(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        doc,
        default: None,
        required: false,
        since: None,
    }
}

impl Field {
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }
    /// kumoc's default ([`FieldDefault::Kumoc`]).
    const fn def(mut self, default: Lit) -> Self {
        self.default = Some(FieldDefault::Kumoc(default));
        self
    }
    /// KumoMTA's default ([`FieldDefault::KumoMta`]).
    const fn kumo(mut self, default: Lit) -> Self {
        self.default = Some(FieldDefault::KumoMta(default));
        self
    }
    /// A default that follows from something else ([`FieldDefault::Described`]).
    const fn described(mut self, default: &'static str) -> Self {
        self.default = Some(FieldDefault::Described(default));
        self
    }
    /// How hover and docs show the default.
    pub fn default_text(&self) -> Option<String> {
        self.default.map(FieldDefault::text)
    }
    const fn since(mut self, feature: Feature) -> Self {
        self.since = Some(feature);
        self
    }
}

/// What a block's label may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRule {
    /// No label.
    None,
    /// A name (bare or quoted).
    Name,
    /// A domain name (quoted); `wildcard` allows `"*.example.com"`.
    Domain { wildcard: bool },
    /// `default` or a quoted domain name; `wildcard` allows `"*.example.com"` (queue keys go
    /// through KumoMTA's `kumo.domain_map`, shaping keys are looked up exactly:
    /// `ShapingInner::get_egress_path_config` in `crates/kumo-api-types/src/shaping.rs`).
    DefaultOrDomain { wildcard: bool },
    /// One of the environments.
    Environment,
}

/// How often a block may appear in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiplicity {
    /// At most once (unlabelled singletons).
    One,
    /// Once per label.
    Keyed,
    /// Any number of times; layers append them.
    Many,
}

#[derive(Debug)]
pub struct BlockSchema {
    pub keyword: &'static str,
    pub doc: &'static str,
    pub label: LabelRule,
    pub multiplicity: Multiplicity,
    /// Accepts `from provider.NAME`.
    pub from: bool,
    pub fields: &'static [&'static [Field]],
    pub children: &'static [&'static BlockSchema],
    /// A map block: any quoted or bare key, each value of this type.
    pub map_of: Option<Ty>,
    /// The KumoMTA feature the block needs (the release table says since when).
    pub since: Option<Feature>,
}

impl BlockSchema {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        // Looked up for every attribute checked: plain loops (no `flat_map` plumbing), and
        // the bytes compared only for a name of the same length and first byte.
        let first = name.as_bytes().first();
        for group in self.fields {
            for f in group.iter() {
                if f.name.len() == name.len()
                    && f.name.as_bytes().first() == first
                    && f.name == name
                {
                    return Some(f);
                }
            }
        }
        None
    }
    pub fn all_fields(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().flat_map(|g| g.iter())
    }
    pub fn child(&self, keyword: &str) -> Option<&'static BlockSchema> {
        let first = keyword.as_bytes().first();
        self.children.iter().copied().find(|c| {
            c.keyword.len() == keyword.len()
                && c.keyword.as_bytes().first() == first
                && c.keyword == keyword
        })
    }
}

const fn block(keyword: &'static str, doc: &'static str) -> BlockSchema {
    BlockSchema {
        keyword,
        doc,
        label: LabelRule::None,
        multiplicity: Multiplicity::One,
        from: false,
        fields: &[],
        children: &[],
        map_of: None,
        since: None,
    }
}

// ----- enums ---------------------------------------------------------------------------------

pub static ENVIRONMENTS: &[Variant] = &[
    v(
        "staging",
        "staging",
        "Test environment: the sink may receive all mail.",
    ),
    v(
        "production",
        "production",
        "Real delivery: stricter lints, no sink.",
    ),
];

pub static TLS_MODES: &[Variant] = &[
    v(
        "opportunistic",
        "Opportunistic",
        "Use STARTTLS when offered; a bad certificate fails the delivery (no fallback to clear text). KumoMTA's default.",
    ),
    v(
        "opportunistic_insecure",
        "OpportunisticInsecure",
        "Use STARTTLS when offered without checking certificates. Not for the public internet.",
    ),
    v(
        "required",
        "Required",
        "Require STARTTLS with a valid certificate.",
    ),
    v(
        "required_insecure",
        "RequiredInsecure",
        "Require STARTTLS but do not check certificates.",
    ),
    v("disabled", "Disabled", "Never use TLS."),
];

static DKIM_ALGORITHMS: &[Variant] = &[
    v("rsa_sha256", "sha256", "RSA with SHA-256 (rsa-sha256)."),
    v(
        "ed25519",
        "ed25519",
        "Ed25519 (ed25519-sha256); receiver support is limited.",
    ),
];

static CANONICALIZATIONS: &[Variant] = &[
    v(
        "relaxed",
        "Relaxed",
        "Tolerates whitespace and header-case changes (default).",
    ),
    v("simple", "Simple", "Byte-exact."),
];

static IP_LOOKUP: &[Variant] = &[
    v("ipv4_only", "Ipv4Only", "Only A records."),
    v("ipv6_only", "Ipv6Only", "Only AAAA records."),
    v("ipv4_and_ipv6", "Ipv4AndIpv6", "Both (default)."),
    v("ipv6_then_ipv4", "Ipv6ThenIpv4", "AAAA first, then A."),
    v("ipv4_then_ipv6", "Ipv4ThenIpv6", "A first, then AAAA."),
];

static REFRESH_STRATEGIES: &[Variant] = &[
    v("ttl", "Ttl", "Refresh after `refresh_interval`."),
    v(
        "epoch",
        "Epoch",
        "Refresh when the configuration epoch changes.",
    ),
];

static WAKEUP: &[Variant] = &[
    v(
        "aggressive",
        "Aggressive",
        "Wake up as soon as work is ready (default).",
    ),
    v("relaxed", "Relaxed", "Batch wake-ups."),
];

static RECONNECT: &[Variant] = &[
    v(
        "terminate_session",
        "TerminateSession",
        "Give up the session.",
    ),
    v(
        "reconnect_same_host",
        "ReconnectSameHost",
        "Reconnect to the same host.",
    ),
    v(
        "connect_next_host",
        "ConnectNextHost",
        "Try the next MX host (default).",
    ),
];

static MEMORY_REDUCTION: &[Variant] = &[
    v(
        "shrink_data_and_meta",
        "ShrinkDataAndMeta",
        "Drop body and metadata from memory (default).",
    ),
    v("shrink_data", "ShrinkData", "Drop the body from memory."),
    v("no_shrink", "NoShrink", "Keep everything in memory."),
];

static QUEUE_STRATEGIES: &[Variant] = &[
    v("timer_wheel", "TimerWheel", "Timer wheel."),
    v("skip_list", "SkipList", "Skip list."),
    v(
        "singleton_timer_wheel",
        "SingletonTimerWheel",
        "Shared timer wheel (default).",
    ),
    v(
        "singleton_timer_wheel_v2",
        "SingletonTimerWheelV2",
        "Shared timer wheel, version 2.",
    ),
];

// ----- field groups --------------------------------------------------------------------------

/// `EgressPathConfig`: every key a shaping block may set (KumoMTA `make_egress_path`). The
/// defaults are `EgressPathConfig`'s (`crates/kumo-api-types/src/egress_path.rs`) and its
/// `SmtpClientTimeouts`'.
pub static EGRESS_FIELDS: &[Field] = &[
    f("connection_limit", Ty::Limit, "Maximum concurrent connections per ready queue (source + site). With Redis throttles, shared by the whole cluster unless written `local:N`.").kumo(Lit::Int(32)),
    f("max_connection_rate", Ty::Rate, "Maximum rate of new connections."),
    f("max_deliveries_per_connection", Ty::Int { min: 1, max: i64::MAX }, "Messages sent on one connection before it is closed.").kumo(Lit::Int(1024)),
    f("max_message_rate", Ty::Rate, "Maximum delivery rate for the ready queue."),
    f("source_selection_rate", Ty::Rate, "Rate at which this source may be selected for the destination.").since(Feature::SourceSelectionRates),
    f("max_recipients_per_batch", Ty::Int { min: 1, max: i64::MAX }, "Recipients per SMTP transaction.").kumo(Lit::Int(100)),
    f("max_ready", Ty::Int { min: 1, max: i64::MAX }, "Messages held in memory in the ready queue. Memory ≈ max_ready × message size.").kumo(Lit::Int(1024)),
    f("enable_tls", Ty::Enum(TLS_MODES), "Outbound STARTTLS policy.").kumo(Lit::Name("opportunistic")),
    f("enable_mta_sts", Ty::Bool, "Honour the destination's MTA-STS policy.").kumo(Lit::Bool(true)),
    f("enable_dane", Ty::Bool, "Use DANE (needs a DNSSEC-validating resolver).").kumo(Lit::Bool(false)),
    f("enable_pipelining", Ty::Bool, "Use SMTP PIPELINING when offered.").kumo(Lit::Bool(true)).since(Feature::PipeliningAndRset),
    f("enable_rset", Ty::Bool, "Send RSET between transactions.").kumo(Lit::Bool(true)).since(Feature::PipeliningAndRset),
    f("tls_prefer_openssl", Ty::Bool, "Use OpenSSL rather than rustls.").kumo(Lit::Bool(false)),
    f("tls_certificate", Ty::Secret, "Client certificate for outbound TLS."),
    f("tls_private_key", Ty::Secret, "Private key of the client certificate."),
    f("openssl_cipher_list", Ty::Str, "OpenSSL cipher list (TLS ≤ 1.2).").since(Feature::TlsCipherOptions),
    f("openssl_cipher_suites", Ty::Str, "OpenSSL cipher suites (TLS 1.3).").since(Feature::TlsCipherOptions),
    f("openssl_options", Ty::Str, "OpenSSL options, `|`-separated.").since(Feature::TlsCipherOptions),
    f("rustls_cipher_suites", Ty::List(&Ty::Str), "rustls cipher suites.").since(Feature::TlsCipherOptions),
    f("connect_timeout", Ty::Duration, "Timeout for the TCP connection.").kumo(Lit::Secs(60)),
    f("banner_timeout", Ty::Duration, "Timeout for the SMTP banner.").kumo(Lit::Secs(60)).since(Feature::BannerTimeout),
    f("auth_timeout", Ty::Duration, "Timeout for AUTH.").kumo(Lit::Secs(60)),
    f("ehlo_timeout", Ty::Duration, "Timeout for EHLO.").kumo(Lit::Secs(300)),
    f("mail_from_timeout", Ty::Duration, "Timeout for MAIL FROM.").kumo(Lit::Secs(300)),
    f("rcpt_to_timeout", Ty::Duration, "Timeout for RCPT TO.").kumo(Lit::Secs(300)),
    f("data_timeout", Ty::Duration, "Timeout for DATA.").kumo(Lit::Secs(300)),
    f("data_dot_timeout", Ty::Duration, "Timeout for the final `.` of DATA.").kumo(Lit::Secs(300)),
    f("rset_timeout", Ty::Duration, "Timeout for RSET.").kumo(Lit::Secs(5)),
    f("starttls_timeout", Ty::Duration, "Timeout for STARTTLS.").kumo(Lit::Secs(5)),
    f("idle_timeout", Ty::Duration, "How long an idle connection is kept open.").kumo(Lit::Secs(5)),
    f("system_shutdown_timeout", Ty::Duration, "How long deliveries may run on after shutdown starts.").since(Feature::SystemShutdownTimeout),
    f("consecutive_connection_failures_before_delay", Ty::Int { min: 1, max: i64::MAX }, "Connection failures before the ready queue is delayed.").kumo(Lit::Int(100)),
    f("smtp_port", Ty::Int { min: 1, max: 65535 }, "Destination SMTP port.").kumo(Lit::Int(25)),
    f("smtp_auth_plain_username", Ty::Str, "Username for SMTP AUTH PLAIN to the destination."),
    f("smtp_auth_plain_password", Ty::Secret, "Password for SMTP AUTH PLAIN."),
    f("allow_smtp_auth_plain_without_tls", Ty::Bool, "Allow AUTH PLAIN over clear text.").kumo(Lit::Bool(false)),
    f("prohibited_hosts", Ty::List(&Ty::Cidr), "Destination IPs never connected to.").kumo(Lit::Cidrs(PROHIBITED_HOSTS)),
    f("skip_hosts", Ty::List(&Ty::Cidr), "Destination IPs skipped when resolving MX hosts.").kumo(Lit::Cidrs(&[])),
    f("ip_lookup_strategy", Ty::Enum(IP_LOOKUP), "Which address families to resolve.").kumo(Lit::Name("ipv4_and_ipv6")).since(Feature::IpLookupStrategy),
    f("ehlo_domain", Ty::Domain { wildcard: false }, "EHLO name for this destination (overrides the source's)."),
    f("aggressive_connection_opening", Ty::Bool, "Open connections eagerly.").kumo(Lit::Bool(false)),
    f("refresh_interval", Ty::Duration, "How often the egress path config is refreshed.").kumo(Lit::Secs(60)),
    f("refresh_strategy", Ty::Enum(REFRESH_STRATEGIES), "When the config is refreshed (the shaping helper uses `epoch`).").kumo(Lit::Name("ttl")).since(Feature::RefreshStrategy),
    f("dispatcher_wakeup_strategy", Ty::Enum(WAKEUP), "Dispatcher wake-up policy.").kumo(Lit::Name("aggressive")).since(Feature::WakeupStrategies),
    f("maintainer_wakeup_strategy", Ty::Enum(WAKEUP), "Maintainer wake-up policy.").kumo(Lit::Name("aggressive")).since(Feature::WakeupStrategies),
    f("provider_name", Ty::Str, "Provider name used in metrics."),
    f("remember_broken_tls", Ty::Duration, "How long to remember that TLS failed with a host and use clear text.").since(Feature::RememberBrokenTls),
    f("opportunistic_tls_reconnect_on_failed_handshake", Ty::Bool, "Reconnect without TLS when an opportunistic handshake fails.").kumo(Lit::Bool(false)).since(Feature::OpportunisticTlsReconnect),
    f("use_lmtp", Ty::Bool, "Speak LMTP instead of SMTP.").kumo(Lit::Bool(false)).since(Feature::Lmtp),
    f("reconnect_strategy", Ty::Enum(RECONNECT), "What to do when a connection breaks.").kumo(Lit::Name("connect_next_host")).since(Feature::ReconnectStrategy),
    f("readyq_pool_name", Ty::Str, "Thread pool for the ready queue."),
    f("low_memory_reduction_policy", Ty::Enum(MEMORY_REDUCTION), "Memory policy under low memory.").kumo(Lit::Name("shrink_data_and_meta")).since(Feature::MemoryReductionPolicies),
    f("no_memory_reduction_policy", Ty::Enum(MEMORY_REDUCTION), "Memory policy when memory is exhausted.").kumo(Lit::Name("shrink_data_and_meta")).since(Feature::MemoryReductionPolicies),
    f("try_next_host_on_transport_error", Ty::Bool, "Try the next MX host after a transport error.").kumo(Lit::Bool(false)).since(Feature::TryNextHostOnTransportError),
    f("ignore_8bit_checks", Ty::Bool, "Do not check 8-bit content against the destination's capabilities.").kumo(Lit::Bool(false)).since(Feature::Ignore8bitChecks),
];

static SHAPING_BLOCK_FIELDS: &[Field] = &[
    f("mx_rollup", Ty::Bool, "Key this block by the destination's MX site (DNS at load time) rather than the exact domain. Use `false` for exact-domain rules and pseudo-domains.").kumo(Lit::Bool(true)),
    f("replace_base", Ty::Bool, "Discard what earlier layers (the stdlib presets) said for this block.").def(Lit::Bool(false)),
];

static PROVIDER_FIELDS: &[Field] = &[
    f("match", Ty::List(&Ty::Match), "Which destinations belong to the provider: `mx_suffix`, `domain_suffix`, `host_name` rules.").req(),
    f("provider_connection_limit", Ty::Limit, "Connection limit across every site of the provider."),
    f("provider_max_message_rate", Ty::Rate, "Message rate across every site of the provider."),
    f("replace_base", Ty::Bool, "Discard what the stdlib preset of the same name says.").def(Lit::Bool(false)),
];

static PROVIDER_SOURCE_FIELDS: &[Field] = &[f(
    "provider_source_selection_rate",
    Ty::Rate,
    "Rate at which this source may be selected for the whole provider.",
)
.since(Feature::SourceSelectionRates)];

static AUTOMATION_FIELDS: &[Field] = &[
    f("regex", Ty::OneOrList(&Ty::Regex), "Pattern(s) matched against the SMTP response (fancy-regex syntax).").req(),
    f("action", Ty::OneOrList(&Ty::Action), "What TSA does when the rule fires: `suspend`, `suspend_tenant`, `suspend_campaign`, `bounce`, `bounce_tenant`, `bounce_campaign`, `set_config(field = value)`, `set_domain_config(field = value)`.").req(),
    f("trigger", Ty::Trigger, "`immediate`, or `threshold(RATE)` to fire once that many matches happen within the period.").def(Lit::Name("immediate")),
    f("duration", Ty::Duration, "How long the action lasts.").req(),
    f("match_internal", Ty::Bool, "Also match KumoMTA's own `KumoMTA internal:` responses.").def(Lit::Bool(false)).since(Feature::MatchInternal),
];

static SOURCE_FIELDS: &[Field] = &[
    f(
        "ehlo_domain",
        Ty::Domain { wildcard: false },
        "EHLO name; should match the PTR of the address mail leaves from. Without it, EHLO is the pod name.",
    ),
    f(
        "source_address",
        Ty::Ip,
        "Local IP to bind (must exist in the pod's network namespace).",
    ),
    f(
        "remote_port",
        Ty::Int { min: 1, max: 65535 },
        "Overrides the destination port.",
    ),
    f(
        "ha_proxy_server",
        Ty::HostPort,
        "HAProxy server to egress through, `\"IP:port\"` (a DNS name needs KumoMTA 2026.09.22; needs `ha_proxy_source_address`).",
    ),
    f(
        "ha_proxy_source_address",
        Ty::Ip,
        "Source address the HAProxy server uses.",
    ),
    f(
        "socks5_proxy_server",
        Ty::HostPort,
        "SOCKS5 proxy (e.g. KumoProxy) to egress through, `\"IP:port\"` (a DNS name needs KumoMTA 2026.09.22; needs `socks5_proxy_source_address`).",
    ),
    f(
        "socks5_proxy_source_address",
        Ty::Ip,
        "Source address the SOCKS5 proxy uses.",
    ),
    f("socks5_proxy_username", Ty::Str, "SOCKS5 username."),
    f("socks5_proxy_password", Ty::Secret, "SOCKS5 password."),
    f(
        "ttl",
        Ty::Duration,
        "How long the source definition is cached.",
    )
    .kumo(Lit::Secs(60)),
];

static POOL_ENTRY_FIELDS: &[Field] = &[f(
    "weight",
    Ty::Int {
        min: 0,
        max: 4_294_967_295,
    },
    "Relative probability of picking this source; `0` disables it.",
)
.def(Lit::Int(1))];

static QUEUE_FIELDS: &[Field] = &[
    f(
        "egress_pool",
        Ty::Ref(RefKind::Pool),
        "Pool of sources the mail leaves from.",
    )
    .described("the built-in `unspecified` pool"),
    f(
        "max_age",
        Ty::Duration,
        "Age after which a message expires.",
    )
    .kumo(Lit::Days(7)),
    f(
        "retry_interval",
        Ty::Duration,
        "Base of the exponential backoff (attempt n waits retry_interval × 2^n).",
    )
    .kumo(Lit::Mins(20)),
    f("max_retry_interval", Ty::Duration, "Cap on the backoff.").described("none"),
    f(
        "max_message_rate",
        Ty::Rate,
        "Rate from the scheduled queue into the ready queue.",
    ),
    f(
        "reap_interval",
        Ty::Duration,
        "How often an idle queue is reaped.",
    )
    .kumo(Lit::Mins(10)),
    f(
        "refresh_interval",
        Ty::Duration,
        "How often the queue config is refreshed.",
    )
    .kumo(Lit::Secs(60)),
    f(
        "strategy",
        Ty::Enum(QUEUE_STRATEGIES),
        "Scheduled queue implementation.",
    )
    .kumo(Lit::Name("singleton_timer_wheel")),
    f("provider_name", Ty::Str, "Provider name for metrics."),
];

static TENANT_FIELDS: &[Field] = &[
    f(
        "require_authz",
        Ty::List(&Ty::Str),
        "Only these authenticated identities may send as this tenant.",
    ),
    f(
        "overall_max_message_rate",
        Ty::Rate,
        "Cap on the tenant's total sending rate, across destinations.",
    ),
];

static CAMPAIGN_FIELDS: &[Field] = &[f(
    "overall_max_message_rate",
    Ty::Rate,
    "Cap on the campaign's total sending rate.",
)];

static QUEUE_DOMAIN_FIELDS: &[Field] = &[f(
    "routing_domain",
    Ty::Str,
    "Route mail for this domain via another domain or `[ip]` (smart host).",
)];

static DEPLOYMENT_FIELDS: &[Field] = &[
    f(
        "namespace",
        Ty::K8sName,
        "Kubernetes namespace everything is deployed to.",
    )
    .req(),
    f(
        "kumomta",
        Ty::Version,
        "KumoMTA release (the image tag). Also decides which features may be used.",
    )
    .req(),
    f(
        "image",
        Ty::Str,
        "Image repository; the tag is always the `kumomta` release. May pin a digest (`@sha256:...`), which the pods then pull.",
    )
    .def(Lit::Str(KUMOMTA_IMAGE)),
    f(
        "environment",
        Ty::Enum(ENVIRONMENTS),
        "Default environment when `--env` is not given; lint severities depend on it.",
    )
    .req(),
    f(
        "create_namespace",
        Ty::Bool,
        "Also emit the Namespace object.",
    )
    .def(Lit::Bool(false)),
];

static DKIM_COMMON: &[Field] = &[
    f("selector", Ty::Str, "DKIM selector (the `s=` tag)."),
    f(
        "headers",
        Ty::List(&Ty::Str),
        "Headers to sign; must include `From`.",
    ),
    f(
        "expiration",
        Ty::Duration,
        "Signature lifetime (the `x=` tag).",
    ),
    f(
        "over_sign",
        Ty::Bool,
        "Sign every header once more than present, so none can be added.",
    ),
    f(
        "header_canonicalization",
        Ty::Enum(CANONICALIZATIONS),
        "Header canonicalization.",
    )
    .kumo(Lit::Name("relaxed")),
    f(
        "body_canonicalization",
        Ty::Enum(CANONICALIZATIONS),
        "Body canonicalization.",
    )
    .kumo(Lit::Name("relaxed")),
];

static DKIM_DOMAIN: &[Field] = &[
    f("algorithm", Ty::Enum(DKIM_ALGORITHMS), "Signing algorithm.").kumo(Lit::Name("rsa_sha256")),
    f("key", Ty::Secret, "The private key: `secret(\"name\", \"key\")`, the key defaulting to `<domain>.<selector>.key`. Required unless `dkim_defaults` reads keys from Vault (`vault_mount`)."),
    f("vault_path", Ty::Str, "With `dkim_defaults.vault_mount`: where this domain's key is in Vault (a KV version 2 secret whose field `key` holds the PEM). The helper's `filename`.").described("the helper's path: `<vault_path_prefix>/<domain>/<selector>.key`"),
    f("bits", Ty::Int { min: 512, max: 16384 }, "Declared RSA key size, for checks (the key itself is never read by `kumoc check`)."),
];

/// The helper's `[base]` keys that only `dkim_defaults` has: where keys come from.
static DKIM_BASE: &[Field] = &[
    f(
        "vault_mount",
        Ty::Str,
        "Read every DKIM key from HashiCorp Vault, from this KV version 2 mount (`secret`), instead of from Secrets. The choice is per deployment: KumoMTA's DKIM helper reads all keys from Vault once it is set. Needs a `vault` block.",
    ),
    f(
        "vault_path_prefix",
        Ty::Str,
        "With `vault_mount`: the path of a domain's key is `<vault_path_prefix>/<domain>/<selector>.key`.",
    )
    .kumo(Lit::Str("dkim")),
];

static VAULT_FIELDS: &[Field] = &[
    f(
        "address",
        Ty::Url(&["https", "http"]),
        "Vault's address (`https://vault.vault.svc:8200`), given to the MTA pods as `VAULT_ADDR`.",
    )
    .req(),
    f(
        "token",
        Ty::Secret,
        "The Vault token: `secret(\"name\", \"key\")` (the key defaults to `token`), given to the MTA pods as `VAULT_TOKEN` from the Secret. KumoMTA authenticates to Vault with a token only (no Kubernetes auth method).",
    )
    .req(),
];

/// KumoMTA's log record types (`kumo_log_types::RecordType`) a webhook can receive.
/// `XferOut`/`XferIn` (2025.10.06) are left out until a release gate reads them.
static RECORD_TYPES: &[Variant] = &[
    v("reception", "Reception", "A message was received."),
    v("delivery", "Delivery", "A message was delivered."),
    v("bounce", "Bounce", "A delivery failed permanently."),
    v(
        "transient_failure",
        "TransientFailure",
        "A delivery attempt failed; it will be retried.",
    ),
    v(
        "expiration",
        "Expiration",
        "A message reached its `max_age` undelivered.",
    ),
    v(
        "admin_bounce",
        "AdminBounce",
        "A message was bounced through the admin API.",
    ),
    v("oob", "OOB", "An out-of-band bounce report was received."),
    v(
        "feedback",
        "Feedback",
        "A feedback (ARF complaint) report was received.",
    ),
    v(
        "rejection",
        "Rejection",
        "An incoming message was rejected.",
    ),
    v(
        "admin_rebind",
        "AdminRebind",
        "A message was rebound to another queue through the admin API.",
    ),
    v(
        "deferred_injection_rebind",
        "DeferredInjectionRebind",
        "A deferred-spool message was rebound.",
    ),
    v(
        "delayed",
        "Delayed",
        "A message has been delayed (a delay notification).",
    ),
];

static WEBHOOK_FIELDS: &[Field] = &[
    f(
        "url",
        Ty::Url(&["https", "http"]),
        "Where each log record is POSTed as JSON (one record per request). Never put credentials in it: use `secret_header`.",
    )
    .req(),
    f(
        "records",
        Ty::List(&Ty::Enum(RECORD_TYPES)),
        "The record types sent (the log hook's `per_record`).",
    )
    .described("every record type"),
    f(
        "headers",
        Ty::List(&Ty::Str),
        "Message headers copied into each record (`Subject`, `X-Customer-*`).",
    ),
    f(
        "meta",
        Ty::List(&Ty::Str),
        "Message meta fields copied into each record (`tenant`, `campaign`).",
    ),
    f(
        "secret_header",
        Ty::Secret,
        "A request header whose value is read from a Secret (`secret(\"name\", \"key\")`, the key defaulting to `token`): the whole value, e.g. `Bearer ...` for `Authorization`.",
    ),
    f(
        "secret_header_name",
        Ty::Str,
        "The name of the `secret_header` header.",
    )
    .described("the `Authorization` header"),
    f(
        "retry_interval",
        Ty::Duration,
        "First retry of a record the endpoint did not accept (5xx, 408, 429, no answer).",
    )
    .kumo(Lit::Mins(1)),
    f(
        "max_retry_interval",
        Ty::Duration,
        "Longest wait between retries.",
    )
    .kumo(Lit::Mins(20)),
    f(
        "max_age",
        Ty::Duration,
        "How long a record is retried before it is dropped.",
    )
    .kumo(Lit::Days(7)),
];

static SECRET_FIELDS: &[Field] = &[f(
    "keys",
    Ty::List(&Ty::Str),
    "Data keys the Secret holds (also implied by `files`).",
)];

static SMTP_LISTENER_FIELDS: &[Field] = &[
    f("relay_hosts", Ty::List(&Ty::Cidr), "Peers allowed to relay to any domain. Everything else may only deliver to domains the MTA accepts.").def(Lit::Cidrs(LOOPBACK)),
    f("hostname", Ty::Domain { wildcard: false }, "Name in the banner and Received headers.").described("the pod name"),
    f("banner", Ty::Str, "SMTP greeting text.").kumo(Lit::Str("KumoMTA")),
    f("max_message_size", Ty::Size, "Largest message accepted.").kumo(Lit::Mi(20)),
    f("max_recipients_per_message", Ty::Int { min: 1, max: i64::MAX }, "Recipients per message.").kumo(Lit::Int(1024)),
    f("max_messages_per_connection", Ty::Int { min: 1, max: i64::MAX }, "Messages per connection.").kumo(Lit::Int(10000)),
    f("max_connections", Ty::Int { min: 1, max: i64::MAX }, "Concurrent inbound connections.").kumo(Lit::Int(32768)),
    f("client_timeout", Ty::Duration, "Idle timeout for a client.").kumo(Lit::Secs(60)),
    f("data_processing_timeout", Ty::Duration, "Time allowed to process DATA.").kumo(Lit::Secs(300)),
    f("tls_certificate", Ty::Secret, "Listener certificate (otherwise a self-signed one is made at each start)."),
    f("tls_private_key", Ty::Secret, "Listener private key."),
    f("deferred_spool", Ty::Bool, "Acknowledge before the message is spooled (risks losing mail).").kumo(Lit::Bool(false)),
];

static HTTP_LISTENER_FIELDS: &[Field] = &[
    f(
        "trusted_hosts",
        Ty::List(&Ty::Cidr),
        "Peers trusted without credentials: they may inject and use the whole admin API.",
    )
    .def(Lit::Cidrs(LOOPBACK)),
    f(
        "users",
        Ty::Secret,
        "Secret holding API users: one key per user name, the value is the password.",
    ),
    f("use_tls", Ty::Bool, "Serve HTTPS.").kumo(Lit::Bool(false)),
    f("tls_certificate", Ty::Secret, "Listener certificate."),
    f("tls_private_key", Ty::Secret, "Listener private key."),
    f("request_body_limit", Ty::Size, "Largest request body.").kumo(Lit::Mi(2)),
];

static LOGGING_FIELDS: &[Field] = &[
    f(
        "filter",
        Ty::Str,
        "Diagnostic log filter (`kumod=info`); debug and trace fill disks.",
    )
    .def(Lit::Str("kumod=info")),
    f(
        "max_segment_duration",
        Ty::Duration,
        "Rotate local log segments at least this often.",
    )
    .def(Lit::Mins(1)),
    f(
        "headers",
        Ty::List(&Ty::Str),
        "Message headers copied into log records.",
    ),
];

static CLUSTER_FIELDS: &[Field] = &[f(
    "pod_cidr",
    Ty::Cidr,
    "The cluster's pod network: MTA pods publish to TSA from it, so TSA trusts it.",
)];

static MTA_FIELDS: &[Field] = &[
    f(
        "replicas",
        Ty::Int { min: 1, max: 1000 },
        "MTA pods (the minimum when autoscaling).",
    )
    .def(Lit::Int(1)),
    f(
        "spool",
        Ty::Size,
        "Spool volume per pod (a PersistentVolumeClaim: the spool is the queue).",
    )
    .def(Lit::Gi(20)),
    f(
        "storage_class",
        Ty::Str,
        "StorageClass of the spool volume.",
    )
    .described("the cluster default"),
    f(
        "termination_grace_period",
        Ty::Duration,
        "Time kumod gets to finish deliveries and flush the spool on shutdown.",
    )
    .def(Lit::Secs(300)),
];

static PORTS_FIELDS: &[Field] = &[
    f(
        "http",
        Ty::Int {
            min: 1024,
            max: 65535,
        },
        "HTTP API (injection, admin, liveness).",
    )
    .def(Lit::Int(8000)),
    f(
        "metrics",
        Ty::Int {
            min: 1024,
            max: 65535,
        },
        "Prometheus `/metrics` listener.",
    )
    .def(Lit::Int(8080)),
    f("smtp", Ty::Int { min: 1, max: 65535 }, "SMTP listener.").def(Lit::Int(2500)),
];

static RESOURCE_FIELDS: &[Field] = &[
    f("cpu", Ty::Cpu, "CPU (`1000m`, `2`)."),
    f("memory", Ty::Size, "Memory (`2Gi`)."),
];

static AUTOSCALE_ON: &[Variant] = &[
    v(
        "cpu",
        "cpu",
        "A HorizontalPodAutoscaler on CPU and/or memory utilisation (`cpu`, `memory`).",
    ),
    v(
        "queue_depth",
        "queue_depth",
        "A KEDA ScaledObject on the messages queued per pod (scheduled + ready), read from Prometheus.",
    ),
];

static AUTOSCALE_FIELDS: &[Field] = &[
    f("min", Ty::Int { min: 1, max: 1000 }, "Fewest pods.").req(),
    f("max", Ty::Int { min: 1, max: 1000 }, "Most pods.").req(),
    f("cpu", Ty::Percent, "Target average CPU utilisation."),
    f("memory", Ty::Percent, "Target average memory utilisation."),
    f(
        "on",
        Ty::Enum(AUTOSCALE_ON),
        "What the MTA scales on: `cpu` (a HorizontalPodAutoscaler) or `queue_depth` (a KEDA ScaledObject, which replaces the HPA).",
    )
    .def(Lit::Name("cpu")),
    f(
        "queue_depth",
        Ty::Int {
            min: 1,
            max: 1_000_000_000,
        },
        "With `on = queue_depth`: the messages queued per pod (scheduled + ready queues) KEDA aims at.",
    )
    .def(Lit::Int(10_000)),
    f(
        "prometheus",
        Ty::Url(&["http", "https"]),
        "With `on = queue_depth`: the Prometheus server KEDA queries (`http://prometheus-operated.monitoring.svc:9090`).",
    ),
    f(
        "polling_interval",
        Ty::Duration,
        "With `on = queue_depth`: how often KEDA queries Prometheus.",
    )
    .def(Lit::Secs(30)),
];

/// A probe's fields, with its defaults: the period and failures differ by probe (a startup
/// probe waits longer, a liveness probe acts later).
const fn probe_fields(period_secs: u64, failure_threshold: i64) -> [Field; 4] {
    [
        f(
            "initial_delay",
            Ty::Duration,
            "Wait before the first probe.",
        )
        .def(Lit::Secs(0)),
        f("period", Ty::Duration, "Time between probes.").def(Lit::Secs(period_secs)),
        f("timeout", Ty::Duration, "Probe timeout.").def(Lit::Secs(1)),
        f(
            "failure_threshold",
            Ty::Int { min: 1, max: 1000 },
            "Failures before acting.",
        )
        .def(Lit::Int(failure_threshold)),
    ]
}

static READINESS_FIELDS: [Field; 4] = probe_fields(10, 3);
static STARTUP_FIELDS: [Field; 4] = probe_fields(10, 30);
static LIVENESS_FIELDS: [Field; 4] = probe_fields(20, 3);

static TSA_FIELDS: &[Field] = &[
    f("enabled", Ty::Bool, "Run Traffic Shaping Automation.").def(Lit::Bool(true)),
    f(
        "replicas",
        Ty::Int { min: 1, max: 16 },
        "TSA pods. Every MTA publishes to every replica.",
    )
    .def(Lit::Int(1)),
    f(
        "port",
        Ty::Int {
            min: 1024,
            max: 65535,
        },
        "TSA HTTP port.",
    )
    .def(Lit::Int(8008)),
    f("storage", Ty::Size, "TSA database volume per pod.").def(Lit::Gi(1)),
    f("storage_class", Ty::Str, "StorageClass of the TSA volume.").described("the cluster default"),
    f(
        "pre_filter",
        Ty::Bool,
        "Only publish log records that some automation rule could match.",
    )
    .def(Lit::Bool(true)),
    f(
        "cache_ttl",
        Ty::Duration,
        "How long MTAs cache the shaping data.",
    )
    .def(Lit::Mins(1)),
];

static SINK_FIELDS: &[Field] = &[
    f(
        "enabled",
        Ty::Bool,
        "Route all mail to an in-cluster sink that accepts and drops it.",
    )
    .req(),
    f("replicas", Ty::Int { min: 1, max: 100 }, "Sink pods.").def(Lit::Int(1)),
    f(
        "port",
        Ty::Int {
            min: 1024,
            max: 65535,
        },
        "Sink SMTP port.",
    )
    .def(Lit::Int(2525)),
];

static REDIS_FIELDS: &[Field] = &[
    f("url", Ty::Url(&["redis", "rediss"]), "Redis/Dragonfly URL for shared throttles (`rediss://` for TLS). Credentials never go in the URL.").req(),
    f("cluster", Ty::Bool, "Redis Cluster mode.").kumo(Lit::Bool(false)),
    f("pool_size", Ty::Int { min: 1, max: 1000 }, "Connections per MTA.").kumo(Lit::Int(10)),
    f("read_from_replicas", Ty::Bool, "Read from replicas (cluster mode).").kumo(Lit::Bool(false)),
    f("username", Ty::Str, "Redis user name."),
    f("password", Ty::Secret, "Redis password."),
    f("connect_timeout", Ty::Duration, "Connect timeout.").kumo(Lit::Secs(30)),
    f("wait_timeout", Ty::Duration, "Wait for a pooled connection.").kumo(Lit::Secs(30)),
    f("response_timeout", Ty::Duration, "Response timeout."),
];

static METRICS_FIELDS: &[Field] = &[
    f(
        "enabled",
        Ty::Bool,
        "Serve Prometheus metrics on the metrics port.",
    )
    .def(Lit::Bool(true)),
    f(
        "service_monitor",
        Ty::Bool,
        "Emit a prometheus-operator ServiceMonitor.",
    )
    .def(Lit::Bool(false)),
    f("interval", Ty::Duration, "Scrape interval.").def(Lit::Secs(30)),
    f(
        "scraper_cidrs",
        Ty::List(&Ty::Cidr),
        "Where the scraper connects from; they may read `/metrics` on the metrics port.",
    )
    .described("the cluster's `pod_cidr`"),
];

static ALERTS_FIELDS: &[Field] = &[
    f(
        "enabled",
        Ty::Bool,
        "Emit a PrometheusRule (prometheus-operator) with the deployment's alerts.",
    )
    .def(Lit::Bool(true)),
    f(
        "for",
        Ty::Duration,
        "How long a condition must hold before its alert fires (Prometheus's `for`).",
    )
    .def(Lit::Mins(15)),
    f(
        "queue_growth",
        Ty::Int {
            min: 1,
            max: 1_000_000_000,
        },
        "`KumoQueueGrowing`: the messages one pod's queues (scheduled + ready) may grow by within `queue_growth_window`.",
    )
    .def(Lit::Int(10_000)),
    f(
        "queue_growth_window",
        Ty::Duration,
        "The window `queue_growth` is measured over.",
    )
    .def(Lit::Mins(60)),
    f(
        "queue_stuck",
        Ty::Duration,
        "`KumoQueueStuck`: how long a pod may hold queued mail while delivering none.",
    )
    .described("half the longest max_age of the queues"),
    f(
        "failure_ratio",
        Ty::Percent,
        "`KumoDeliveryFailures`: the share of permanent failures (5xx) among delivery attempts above which the alert fires.",
    )
    .def(Lit::Pct(10)),
    f(
        "transfail_ratio",
        Ty::Percent,
        "`KumoDeliveryTransientFailures`: the share of transient failures (4xx) among delivery attempts above which the alert fires.",
    )
    .def(Lit::Pct(50)),
    f(
        "spool_free",
        Ty::Percent,
        "`KumoDiskLow`: free space or inodes of a spool or log volume below which the alert fires (KumoMTA refuses mail below 10% by default).",
    )
    .def(Lit::Pct(20)),
    f(
        "restarts",
        Ty::Int { min: 1, max: 1000 },
        "`KumoPodRestarting`: container restarts within an hour above which the alert fires.",
    )
    .def(Lit::Int(3)),
];

static DASHBOARD_FIELDS: &[Field] = &[
    f(
        "enabled",
        Ty::Bool,
        "Emit the Grafana dashboard as a ConfigMap Grafana's sidecar loads (label `grafana_dashboard: \"1\"`).",
    )
    .def(Lit::Bool(true)),
    f("title", Ty::Str, "The dashboard's title.").described("KumoMTA and the deployment's name"),
    f(
        "folder",
        Ty::Str,
        "The Grafana folder (the sidecar's `grafana_folder` annotation).",
    )
    .described("the sidecar's default folder"),
];

static MAP_NOTE: &str = "A map: each entry is `\"name\" = value`.";

// ----- blocks --------------------------------------------------------------------------------

macro_rules! map_block {
    ($name:ident, $kw:literal, $ty:expr) => {
        static $name: BlockSchema = BlockSchema {
            map_of: Some($ty),
            multiplicity: Multiplicity::One,
            ..block($kw, MAP_NOTE)
        };
    };
    ($name:ident, $kw:literal, $ty:expr, $since:expr) => {
        static $name: BlockSchema = BlockSchema {
            map_of: Some($ty),
            multiplicity: Multiplicity::One,
            since: Some($since),
            ..block($kw, MAP_NOTE)
        };
    };
}
map_block!(
    ADDITIONAL_CONNECTION_LIMITS,
    "additional_connection_limits",
    Ty::Limit
);
map_block!(
    ADDITIONAL_MESSAGE_RATES,
    "additional_message_rate_throttles",
    Ty::Rate
);
map_block!(
    ADDITIONAL_SOURCE_RATES,
    "additional_source_selection_rates",
    Ty::Rate,
    Feature::SourceSelectionRates
);
map_block!(SECRET_FILES, "files", Ty::Str);

static EGRESS_MAPS: [&BlockSchema; 3] = [
    &ADDITIONAL_CONNECTION_LIMITS,
    &ADDITIONAL_MESSAGE_RATES,
    &ADDITIONAL_SOURCE_RATES,
];

pub static AUTOMATION: BlockSchema = BlockSchema {
    multiplicity: Multiplicity::Many,
    fields: &[AUTOMATION_FIELDS],
    ..block(
        "automation",
        "A TSA automation rule: when a delivery response matches `regex`, apply `action` for `duration`.",
    )
};

pub static SHAPING_SOURCE: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[EGRESS_FIELDS],
    children: &EGRESS_MAPS,
    ..block(
        "source",
        "Settings for one egress source towards this destination.",
    )
};

pub static PROVIDER_SOURCE: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[EGRESS_FIELDS, PROVIDER_SOURCE_FIELDS],
    children: &EGRESS_MAPS,
    ..block(
        "source",
        "Settings for one egress source towards this provider.",
    )
};

pub static SHAPING: BlockSchema = BlockSchema {
    label: LabelRule::DefaultOrDomain { wildcard: false },
    multiplicity: Multiplicity::Keyed,
    from: true,
    fields: &[EGRESS_FIELDS, SHAPING_BLOCK_FIELDS],
    children: &[
        &AUTOMATION,
        &SHAPING_SOURCE,
        &ADDITIONAL_CONNECTION_LIMITS,
        &ADDITIONAL_MESSAGE_RATES,
        &ADDITIONAL_SOURCE_RATES,
    ],
    ..block(
        "shaping",
        "Traffic shaping for `default` (every destination) or one destination domain. `from provider.NAME` starts from a provider preset's settings.",
    )
};

pub static PROVIDER: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[PROVIDER_FIELDS, EGRESS_FIELDS],
    children: &[
        &AUTOMATION,
        &PROVIDER_SOURCE,
        &ADDITIONAL_CONNECTION_LIMITS,
        &ADDITIONAL_MESSAGE_RATES,
        &ADDITIONAL_SOURCE_RATES,
    ],
    ..block(
        "provider",
        "Traffic shaping for a mailbox provider, matched by MX or domain suffix. The stdlib defines presets (google, yahoo, outlook, ...); a block with a preset's name changes that preset field by field.",
    )
};

pub static DEPLOYMENT: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    fields: &[DEPLOYMENT_FIELDS],
    ..block(
        "deployment",
        "The deployment: its name (prefix of every Kubernetes object), namespace, KumoMTA release and environment.",
    )
};

pub static DKIM: BlockSchema = BlockSchema {
    fields: &[DKIM_COMMON, DKIM_DOMAIN],
    ..block(
        "dkim",
        "DKIM signing for mail whose From header is in this domain.",
    )
};

pub static DOMAIN: BlockSchema = BlockSchema {
    label: LabelRule::Domain { wildcard: true },
    multiplicity: Multiplicity::Keyed,
    children: &[&DKIM],
    ..block("domain", "A sending domain (matched on the From header).")
};

pub static DKIM_DEFAULTS: BlockSchema = BlockSchema {
    fields: &[DKIM_COMMON, DKIM_BASE],
    ..block(
        "dkim_defaults",
        "Defaults for every domain's `dkim` block (the helper's `[base]`).",
    )
};

pub static VAULT: BlockSchema = BlockSchema {
    fields: &[VAULT_FIELDS],
    ..block(
        "vault",
        "HashiCorp Vault, where the MTA reads DKIM keys when `dkim_defaults.vault_mount` is set: its address and the Secret holding the token. KumoMTA reads KV version 2 secrets with a token (`VAULT_ADDR`, `VAULT_TOKEN`); it has no Kubernetes auth method.",
    )
};

pub static WEBHOOK: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[WEBHOOK_FIELDS],
    ..block(
        "webhook",
        "Deliver KumoMTA's log records (deliveries, bounces, feedback, ...) to an HTTP endpoint, with a KumoMTA log hook (`policy-extras.log_hooks`): records are queued in the spool and retried like mail.",
    )
};

static WARMUP_FIELDS: &[Field] = &[
    f(
        "start",
        Ty::Str,
        "The first day of the warm-up, a UTC date `\"YYYY-MM-DD\"`: day 0 runs from its midnight UTC. Before it, day 0's volume applies.",
    )
    .req(),
    f(
        "ramp",
        Ty::List(&Ty::Int {
            min: 1,
            max: 1_000_000_000,
        }),
        "Messages per day, one entry per day from `start` (day 0 first). After the last day the source has no warm-up limit. The policy picks the day's entry when it runs, so the ramp advances without a rebuild.",
    )
    .req(),
];

/// A warm-up schedule: a per-source daily limit on how often the source may be selected
/// (KumoMTA's `additional_source_selection_rates`).
pub static WARMUP: BlockSchema = BlockSchema {
    fields: &[WARMUP_FIELDS],
    since: Some(Feature::SourceSelectionRates),
    ..block(
        "warmup",
        "An IP warm-up schedule: the source may be selected for at most the day's volume (across every destination); the pool's other sources take the rest. In a `pool`, every member without a schedule of its own follows it.",
    )
};

pub static SOURCE: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[SOURCE_FIELDS],
    children: &[&WARMUP],
    ..block(
        "source",
        "An egress source: the identity (address, EHLO name, proxy) mail leaves with.",
    )
};

pub static POOL_SOURCE: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[POOL_ENTRY_FIELDS, SOURCE_FIELDS],
    children: &[&WARMUP],
    ..block(
        "source",
        "A member of the pool. Defines the source here, or, when a top-level `source` of that name exists, only sets its weight in this pool.",
    )
};

pub static POOL: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    children: &[&POOL_SOURCE, &WARMUP],
    ..block(
        "pool",
        "An egress pool: the sources a queue sends from, with weights.",
    )
};

pub static TENANCY: BlockSchema = BlockSchema {
    fields: &[&[
        f(
            "tenant_header",
            Ty::Str,
            "Header naming the message's tenant.",
        ),
        f(
            "remove_tenant_header",
            Ty::Bool,
            "Remove the tenant header before delivery.",
        )
        .kumo(Lit::Bool(false)),
        f(
            "campaign_header",
            Ty::Str,
            "Header naming the message's campaign.",
        ),
        f(
            "remove_campaign_header",
            Ty::Bool,
            "Remove the campaign header before delivery.",
        )
        .kumo(Lit::Bool(false)),
        f(
            "scheduling_header",
            Ty::Str,
            "Header carrying scheduling constraints.",
        ),
        f(
            "default_tenant",
            Ty::Ref(RefKind::Tenant),
            "Tenant of messages without the tenant header.",
        ),
    ]],
    ..block(
        "tenancy",
        "How messages are assigned to tenants and campaigns (the queue helper's top-level settings).",
    )
};

pub static CAMPAIGN: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[CAMPAIGN_FIELDS],
    ..block("campaign", "A campaign of the tenant.")
};

pub static TENANT: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[QUEUE_FIELDS, TENANT_FIELDS],
    children: &[&CAMPAIGN],
    ..block(
        "tenant",
        "A tenant: queue settings for its mail, wherever it goes.",
    )
};

pub static QUEUE_CAMPAIGN: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[QUEUE_FIELDS],
    ..block(
        "campaign",
        "Queue settings for one campaign of the tenant, to this domain.",
    )
};

pub static QUEUE_TENANT: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[QUEUE_FIELDS],
    children: &[&QUEUE_CAMPAIGN],
    ..block(
        "tenant",
        "Queue settings for one tenant's mail to this domain (the tenant must be defined).",
    )
};

pub static QUEUE: BlockSchema = BlockSchema {
    label: LabelRule::DefaultOrDomain { wildcard: true },
    multiplicity: Multiplicity::Keyed,
    fields: &[QUEUE_FIELDS, QUEUE_DOMAIN_FIELDS],
    children: &[&QUEUE_TENANT],
    ..block(
        "queue",
        "Queue settings for `default` (every queue) or one destination domain.",
    )
};

pub static SECRET: BlockSchema = BlockSchema {
    label: LabelRule::Name,
    multiplicity: Multiplicity::Keyed,
    fields: &[SECRET_FIELDS],
    children: &[&SECRET_FILES],
    ..block(
        "secret",
        "A Kubernetes Secret the deployment uses. Its contents never appear in .kumo: it exists in the cluster, or `kumoc build` makes it from the `files` named here when asked to.",
    )
};

pub static SMTP_LISTENER: BlockSchema = BlockSchema {
    fields: &[SMTP_LISTENER_FIELDS],
    ..block(
        "smtp_listener",
        "The MTA's SMTP listener (on the `smtp` port).",
    )
};

pub static HTTP_LISTENER: BlockSchema = BlockSchema {
    fields: &[HTTP_LISTENER_FIELDS],
    ..block(
        "http_listener",
        "The MTA's HTTP listener (on the `http` port): injection API and admin API.",
    )
};

pub static LOGGING: BlockSchema = BlockSchema {
    fields: &[LOGGING_FIELDS],
    ..block("logging", "Diagnostic and delivery logs.")
};

pub static PORTS: BlockSchema = BlockSchema {
    fields: &[PORTS_FIELDS],
    ..block("ports", "Container ports.")
};

static REQUESTS: BlockSchema = BlockSchema {
    fields: &[RESOURCE_FIELDS],
    ..block("requests", "Resources the scheduler reserves.")
};

static LIMITS: BlockSchema = BlockSchema {
    fields: &[RESOURCE_FIELDS],
    ..block("limits", "Resource ceilings.")
};

pub static RESOURCES: BlockSchema = BlockSchema {
    children: &[&REQUESTS, &LIMITS],
    ..block("resources", "CPU and memory requests and limits.")
};

pub static AUTOSCALE: BlockSchema = BlockSchema {
    fields: &[AUTOSCALE_FIELDS],
    ..block(
        "autoscale",
        "Autoscaling of the MTA StatefulSet: a HorizontalPodAutoscaler on CPU/memory, or a KEDA ScaledObject on queue depth. Never scales in (a pod's spool holds its queued mail).",
    )
};

pub static READINESS: BlockSchema = BlockSchema {
    fields: &[&READINESS_FIELDS],
    ..block("readiness", "Readiness probe on `/api/check-liveness/v1`.")
};
pub static STARTUP: BlockSchema = BlockSchema {
    fields: &[&STARTUP_FIELDS],
    ..block("startup", "Startup probe on `/api/check-liveness/v1`.")
};
pub static LIVENESS: BlockSchema = BlockSchema {
    fields: &[&LIVENESS_FIELDS],
    ..block(
        "liveness",
        "Liveness probe (a TCP check of the HTTP port: the liveness endpoint reports load shedding, which must not restart pods).",
    )
};

pub static PROBES: BlockSchema = BlockSchema {
    children: &[&READINESS, &STARTUP, &LIVENESS],
    ..block("probes", "Probe timings.")
};

pub static MTA: BlockSchema = BlockSchema {
    fields: &[MTA_FIELDS],
    children: &[&PORTS, &RESOURCES, &AUTOSCALE, &PROBES],
    ..block("mta", "The MTA StatefulSet.")
};

pub static TSA: BlockSchema = BlockSchema {
    fields: &[TSA_FIELDS],
    children: &[&RESOURCES],
    ..block(
        "tsa",
        "Traffic Shaping Automation: a StatefulSet of tsa-daemon replicas.",
    )
};

pub static SINK: BlockSchema = BlockSchema {
    fields: &[SINK_FIELDS],
    children: &[&RESOURCES],
    ..block(
        "sink",
        "A sink that accepts and drops all mail, for testing.",
    )
};

pub static REDIS: BlockSchema = BlockSchema {
    fields: &[REDIS_FIELDS],
    ..block(
        "redis",
        "Redis or Dragonfly for throttles and connection limits shared by all MTA pods.",
    )
};

pub static ALERTS: BlockSchema = BlockSchema {
    fields: &[ALERTS_FIELDS],
    ..block(
        "alerts",
        "Prometheus alerts for the deployment: a PrometheusRule (prometheus-operator) over the metrics KumoMTA exports and kube-state-metrics.",
    )
};

pub static DASHBOARD: BlockSchema = BlockSchema {
    fields: &[DASHBOARD_FIELDS],
    ..block(
        "dashboard",
        "A Grafana dashboard for the deployment, as a ConfigMap Grafana's sidecar loads.",
    )
};

pub static METRICS: BlockSchema = BlockSchema {
    fields: &[METRICS_FIELDS],
    children: &[&ALERTS, &DASHBOARD],
    ..block("metrics", "Prometheus metrics.")
};

static TRAFFIC_POLICIES: &[Variant] = &[
    v(
        "local",
        "Local",
        "Only nodes running an MTA pod receive traffic: clients keep their own addresses, so `relay_hosts` and the source ranges see who they are.",
    ),
    v(
        "cluster",
        "Cluster",
        "Any node receives traffic and forwards it, replacing the client's address with the node's (SNAT): the MTA sees cluster addresses.",
    ),
];

static SMTP_LOAD_BALANCER_FIELDS: &[Field] = &[
    f(
        "port",
        Ty::Int { min: 1, max: 65535 },
        "The port the load balancer listens on; it forwards to the MTA's SMTP port.",
    )
    .def(Lit::Int(25)),
    f(
        "source_ranges",
        Ty::List(&Ty::Cidr),
        "Client networks the load balancer admits (`loadBalancerSourceRanges`, and the MTA NetworkPolicy's SMTP rule). Without it, anyone.",
    ),
    f(
        "external_traffic_policy",
        Ty::Enum(TRAFFIC_POLICIES),
        "`local` keeps the clients' addresses; `cluster` replaces them with node addresses.",
    )
    .def(Lit::Name("local")),
];

static API_INGRESS_FIELDS: &[Field] = &[
    f(
        "host",
        Ty::Domain { wildcard: false },
        "The host name the HTTP API is served on.",
    )
    .req(),
    f(
        "class",
        Ty::K8sName,
        "The IngressClass (`ingressClassName`); without it, the cluster's default class.",
    ),
    f(
        "tls_secret",
        Ty::K8sName,
        "The `kubernetes.io/tls` Secret holding the host's certificate and key. The Ingress always serves TLS.",
    )
    .req(),
];

pub static SMTP_LOAD_BALANCER: BlockSchema = BlockSchema {
    fields: &[SMTP_LOAD_BALANCER_FIELDS],
    ..block(
        "smtp_load_balancer",
        "A LoadBalancer Service for SMTP from outside the cluster, to the MTA pods.",
    )
};

pub static API_INGRESS: BlockSchema = BlockSchema {
    fields: &[API_INGRESS_FIELDS],
    ..block(
        "api_ingress",
        "An Ingress, with TLS, for the MTA's HTTP API (injection and admin) from outside the cluster.",
    )
};

pub static CLUSTER: BlockSchema = BlockSchema {
    fields: &[CLUSTER_FIELDS],
    children: &[
        &MTA,
        &TSA,
        &SINK,
        &REDIS,
        &METRICS,
        &SMTP_LOAD_BALANCER,
        &API_INGRESS,
    ],
    ..block(
        "cluster",
        "The Kubernetes topology: workloads, Redis, sink and metrics.",
    )
};

/// The blocks a file (or an `env` overlay) may contain at top level.
pub static TOP_LEVEL: &[&BlockSchema] = &[
    &DEPLOYMENT,
    &DOMAIN,
    &DKIM_DEFAULTS,
    &VAULT,
    &WEBHOOK,
    &SOURCE,
    &POOL,
    &TENANCY,
    &TENANT,
    &QUEUE,
    &SHAPING,
    &PROVIDER,
    &SECRET,
    &SMTP_LISTENER,
    &HTTP_LISTENER,
    &LOGGING,
    &CLUSTER,
];

pub static ENV: BlockSchema = BlockSchema {
    label: LabelRule::Environment,
    multiplicity: Multiplicity::Keyed,
    children: TOP_LEVEL,
    ..block(
        "env",
        "Overrides for one environment: its blocks are merged over the rest when building with `--env NAME` (attributes replace, blocks merge by name).",
    )
};

/// The file itself, as a block: what may appear at top level.
pub static ROOT: BlockSchema = BlockSchema {
    children: &[
        &DEPLOYMENT,
        &DOMAIN,
        &DKIM_DEFAULTS,
        &VAULT,
        &WEBHOOK,
        &SOURCE,
        &POOL,
        &TENANCY,
        &TENANT,
        &QUEUE,
        &SHAPING,
        &PROVIDER,
        &SECRET,
        &SMTP_LISTENER,
        &HTTP_LISTENER,
        &LOGGING,
        &CLUSTER,
        &ENV,
    ],
    ..block("<file>", "A .kumo file.")
};

/// TSA actions: `.kumo` spelling, KumoMTA spelling, the release that introduced it.
pub static ACTIONS: &[Variant] = &[
    v(
        "suspend",
        "Suspend",
        "Suspend the ready queue (site + source).",
    ),
    Variant {
        since: Some(Feature::TenantCampaignSuspension),
        ..v(
            "suspend_tenant",
            "SuspendTenant",
            "Suspend the tenant's scheduled queues for the domain.",
        )
    },
    Variant {
        since: Some(Feature::TenantCampaignSuspension),
        ..v(
            "suspend_campaign",
            "SuspendCampaign",
            "Suspend the campaign's scheduled queues for the domain.",
        )
    },
    Variant {
        since: Some(Feature::BounceActions),
        ..v("bounce", "Bounce", "Bounce the queued messages.")
    },
    Variant {
        since: Some(Feature::BounceActions),
        ..v(
            "bounce_tenant",
            "BounceTenant",
            "Bounce the tenant's queued messages for the domain.",
        )
    },
    Variant {
        since: Some(Feature::BounceActions),
        ..v(
            "bounce_campaign",
            "BounceCampaign",
            "Bounce the campaign's queued messages for the domain.",
        )
    },
    v(
        "set_config",
        "SetConfig",
        "`set_config(field = value)`: override a shaping field for the triggering source.",
    ),
    Variant {
        since: Some(Feature::SetDomainConfig),
        ..v(
            "set_domain_config",
            "SetDomainConfig",
            "`set_domain_config(field = value)`: like set_config, scoped to the domain.",
        )
    },
];

/// Find the schema of an egress-path field (for `set_config(...)`).
pub fn egress_field(name: &str) -> Option<&'static Field> {
    EGRESS_FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn walk(b: &'static BlockSchema, seen: &mut Vec<&'static str>) {
        let mut names = BTreeSet::new();
        for f in b.all_fields() {
            assert!(
                names.insert(f.name),
                "duplicate field {} in {}",
                f.name,
                b.keyword
            );
        }
        let mut kws = BTreeSet::new();
        for c in b.children {
            assert!(
                kws.insert(c.keyword),
                "duplicate child {} in {}",
                c.keyword,
                b.keyword
            );
            assert!(
                !names.contains(c.keyword),
                "{} is both a field and a block in {}",
                c.keyword,
                b.keyword
            );
            if !seen.contains(&c.keyword) || c.keyword == "source" {
                seen.push(c.keyword);
                if c.keyword != "env" {
                    walk(c, seen);
                }
            }
        }
    }

    #[test]
    fn schema_is_consistent() {
        walk(&ROOT, &mut Vec::new());
    }
}
