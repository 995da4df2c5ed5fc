//! The KumoMTA release table, kumoc's one home for release facts: every published release
//! with the humantime it ships ([`RELEASES`]), and every feature kumoc gates with the release
//! that introduced it ([`Feature`]). A gate anywhere (checker, resolver, lints, emitters,
//! hover) asks [`KumoVersion::supports`] about a [`Feature`]; no other code writes a release
//! date.
//!
//! It stands above the grammars it names: what a [`KumoVersion`] has (its features, its
//! humantime, its published release), and the two readers whose help names a release,
//! [`parse_version`] (the tag's shape from `version.rs`, the release the writer meant from
//! here) and [`parse_humantime`] (the grammar from `humantime.rs`, the release that reads a
//! newer duration from here).

use std::fmt;

use super::UnitError;
use super::humantime::{HumantimeFlavor, only_v2_3_reads, read_humantime};
use super::version::{BadTag, KumoVersion, TAG_SHAPE, TagFault, parse_tag};

/// A published KumoMTA release: its image tag (`ghcr.io/kumocorp/kumomta:<tag>`) and the
/// duration grammar its `duration_serde` reads strings with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// `YYYY.MM.DD-<8 hex>`: the release date and the first 8 hex digits of its commit.
    pub tag: &'static str,
    /// Which humantime parser the release's Cargo.lock pins.
    pub humantime: HumantimeFlavor,
}

impl Release {
    /// The release as a version (date and commit).
    pub fn version(&self) -> KumoVersion {
        parse_tag(self.tag).unwrap_or_else(|_| KumoVersion::date(0, 0, 0))
    }

    /// The date part of the tag, `YYYY.MM.DD`.
    pub fn date(&self) -> &'static str {
        self.tag.split_once('-').map_or(self.tag, |(d, _)| d)
    }

    /// The release date as `(year, month, day)`, read from the tag without allocating (the
    /// gates compare it for every gated value). A tag of another shape, which the table
    /// test rules out, reads as `(0, 0, 0)`.
    pub(super) fn ymd(&self) -> (u16, u8, u8) {
        let part = |r: std::ops::Range<usize>| self.tag.get(r).and_then(|p| p.parse().ok());
        match (part(0..4), part(5..7), part(8..10)) {
            (Some(y), Some(m), Some(d)) => (
                y,
                u8::try_from(m).unwrap_or(0),
                u8::try_from(d).unwrap_or(0),
            ),
            _ => (0, 0, 0),
        }
    }
}

impl fmt::Display for Release {
    /// The image tag, the one to write in `kumomta`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag)
    }
}

const fn rel(tag: &'static str, humantime: HumantimeFlavor) -> Release {
    Release { tag, humantime }
}

// The releases, each the heading of its page in KumoMTA's changelog
// (`KumoCorp/kumomta docs/changelog/<tag>.md`). Named so the feature table below can say
// which one introduced what; every one is listed in `RELEASES`. Private: code outside this
// file names a release through a `Feature` (or the table), never by its date.
const R2023_03_30: Release = rel("2023.03.30-427c74f0", HumantimeFlavor::V2_2);
const R2023_03_31: Release = rel("2023.03.31-36aa20de", HumantimeFlavor::V2_2);
const R2023_05_10: Release = rel("2023.05.10-e88ad036", HumantimeFlavor::V2_2);
const R2023_06_22: Release = rel("2023.06.22-51b72a83", HumantimeFlavor::V2_2);
const R2023_08_22: Release = rel("2023.08.22-4d895015", HumantimeFlavor::V2_2);
const R2023_11_28: Release = rel("2023.11.28-b5252a41", HumantimeFlavor::V2_2);
const R2023_12_28: Release = rel("2023.12.28-63cde9c7", HumantimeFlavor::V2_2);
const R2024_06_10: Release = rel("2024.06.10-84e84b89", HumantimeFlavor::V2_2);
const R2024_09_02: Release = rel("2024.09.02-c5476b89", HumantimeFlavor::V2_2);
const R2024_11_08: Release = rel("2024.11.08-d383b033", HumantimeFlavor::V2_2);
const R2025_01_23: Release = rel("2025.01.23-7273d2bc", HumantimeFlavor::V2_2);
const R2025_01_29: Release = rel("2025.01.29-833f82a8", HumantimeFlavor::V2_2);
const R2025_03_19: Release = rel("2025.03.19-1d3f1f67", HumantimeFlavor::V2_2);
const R2025_05_06: Release = rel("2025.05.06-b29689af", HumantimeFlavor::V2_2);
const R2025_10_06: Release = rel("2025.10.06-5ec871ab", HumantimeFlavor::V2_2);
const R2025_12_02: Release = rel("2025.12.02-67ee9e96", HumantimeFlavor::V2_3);
const R2026_03_04: Release = rel("2026.03.04-bb93ecb1", HumantimeFlavor::V2_3);
const R2026_04_09: Release = rel("2026.04.09-ea3b2a9b", HumantimeFlavor::V2_3);
const R2026_05_12: Release = rel("2026.05.12-a6845223", HumantimeFlavor::V2_3);
const R2026_06_23: Release = rel("2026.06.23-f3af1cd0", HumantimeFlavor::V2_3);
const R2026_09_22: Release = rel("2026.09.22-a276d4a8", HumantimeFlavor::V2_3);
const R2026_09_29: Release = rel("2026.09.29-b90d8bc1", HumantimeFlavor::V2_3);

/// Every published KumoMTA release, oldest first: the tags of KumoMTA's changelog
/// (`KumoCorp/kumomta docs/changelog/<tag>.md`), each a tag of the image
/// `ghcr.io/kumocorp/kumomta`.
///
/// The humantime flavour: KumoMTA's `duration_serde` (`crates/duration-serde/src/lib.rs`,
/// `visit_str`) hands strings to `humantime::parse_duration`, with `humantime = "2.1"` in
/// its Cargo.toml, so the Cargo.lock of each release decides the parser: humantime 2.1.0
/// and 2.2.0 have the same `parse_duration` (2.2.0 only reformatted `src/duration.rs`), and
/// so have 2.3.0 and 2.4.0; 2.3.0 added fractions, a bare `0`, `µs`, `wk`/`wks` and
/// `yr`/`yrs`. KumoMTA moved to humantime 2.3 in `2025.12.02-67ee9e96`
/// (`shared/reference/kumomta.md` §1.1, checked against the tags).
pub const RELEASES: &[Release] = &[
    R2023_03_30,
    R2023_03_31,
    R2023_05_10,
    R2023_06_22,
    R2023_08_22,
    R2023_11_28,
    R2023_12_28,
    R2024_06_10,
    R2024_09_02,
    R2024_11_08,
    R2025_01_23,
    R2025_01_29,
    R2025_03_19,
    R2025_05_06,
    R2025_10_06,
    R2025_12_02,
    R2026_03_04,
    R2026_04_09,
    R2026_05_12,
    R2026_06_23,
    R2026_09_22,
    R2026_09_29,
];

/// The oldest KumoMTA release kumoc supports: `kumomta` older than this is refused (K2008).
pub const OLDEST_SUPPORTED: &Release = &R2024_11_08;

/// Declares [`Feature`]: each variant with the release that introduced it.
macro_rules! features {
    ($($(#[$doc:meta])* $name:ident => $release:ident,)*) => {
        /// A KumoMTA feature that not every release has, gated by kumoc wherever it is used
        /// or emitted: [`Feature::introduced_in`] is the one place that says which release
        /// introduced it, and [`KumoVersion::supports`] is the one test every gate makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Feature {
            $($(#[$doc])* $name,)*
        }

        impl Feature {
            /// Every feature, in table order (by release).
            pub const ALL: &'static [Feature] = &[$(Feature::$name,)*];

            /// The first release that has the feature.
            pub const fn introduced_in(self) -> &'static Release {
                match self {
                    $(Feature::$name => &$release,)*
                }
            }
        }
    };
}

// The feature table, by release. A schema field, enum value, action or block names its
// feature in `since`; the resolver, the checker's "did you mean", the lints, the emitters
// and hover read the release from here. The facts come from each release's changelog page
// (`KumoCorp/kumomta docs/changelog/<tag>.md`) and the sources cited beside them.
features! {
    // 2024.06.10-84e84b89
    /// TSA's `SuspendTenant` and `SuspendCampaign` actions.
    TenantCampaignSuspension => R2024_06_10,

    // 2024.09.02-c5476b89
    /// `openssl_cipher_list`, `openssl_cipher_suites`, `openssl_options` and
    /// `rustls_cipher_suites`.
    TlsCipherOptions => R2024_09_02,
    /// `banner_timeout`.
    BannerTimeout => R2024_09_02,

    // 2024.11.08-d383b033
    /// `refresh_strategy`.
    RefreshStrategy => R2024_11_08,
    /// `remember_broken_tls`.
    RememberBrokenTls => R2024_11_08,
    /// `match_internal` in a TSA rule (the release where internal responses stopped
    /// matching by default).
    MatchInternal => R2024_11_08,
    /// TSA's `SetDomainConfig` action.
    SetDomainConfig => R2024_11_08,

    // 2025.01.23-7273d2bc
    /// `enable_pipelining` and `enable_rset`.
    PipeliningAndRset => R2025_01_23,
    /// `opportunistic_tls_reconnect_on_failed_handshake`.
    OpportunisticTlsReconnect => R2025_01_23,
    /// `use_lmtp`.
    Lmtp => R2025_01_23,
    /// TSA's `Bounce`, `BounceTenant` and `BounceCampaign` actions.
    BounceActions => R2025_01_23,
    /// Provider matching by `HostName`.
    HostNameMatch => R2025_01_23,
    /// A `local:N` connection limit (LimitSpec as a string); older releases read a number.
    LocalConnectionLimit => R2025_01_23,

    // 2025.01.29-833f82a8
    /// `reconnect_strategy`.
    ReconnectStrategy => R2025_01_29,
    /// `,max_burst=N` in a ThrottleSpec.
    MaxBurst => R2025_01_29,

    // 2025.03.19-1d3f1f67
    /// `source_selection_rate`, `additional_source_selection_rates` and, in a provider's
    /// `sources`, `provider_source_selection_rate` ("New source_selection_rate,
    /// additional_source_selection_rates and a provider-specific
    /// provider_source_selection_rate options"): older releases reject the shaping file.
    SourceSelectionRates => R2025_03_19,
    /// `low_memory_reduction_policy` and `no_memory_reduction_policy`.
    MemoryReductionPolicies => R2025_03_19,

    // 2025.05.06-b29689af
    /// `system_shutdown_timeout`.
    SystemShutdownTimeout => R2025_05_06,
    /// `dispatcher_wakeup_strategy` and `maintainer_wakeup_strategy`.
    WakeupStrategies => R2025_05_06,
    /// The shaping helper's `validation_options` / `load_validation_options` may leave out
    /// `http_timeout`; before, a table without it fails with "missing field `http_timeout`".
    OptionalHttpTimeout => R2025_05_06,
    /// DKIM signing with Ed25519 keys works (KumoCorp/kumomta#368; before, the signer
    /// fails). `kumoc dkim keygen` warns when it makes an Ed25519 key for an older release.
    Ed25519Signing => R2025_05_06,

    // 2025.10.06-5ec871ab
    /// `try_next_host_on_transport_error`.
    TryNextHostOnTransportError => R2025_10_06,
    /// `ignore_8bit_checks`.
    Ignore8bitChecks => R2025_10_06,

    // 2026.03.04-bb93ecb1
    /// Access control lists (`get_acl_definition`, `kumo.aaa`): the metrics listener can
    /// serve `/metrics` alone.
    AccessControlLists => R2026_03_04,
    /// tsa-daemon's `GET /tsa/status`, a readiness probe the kubelet may call.
    TsaStatusEndpoint => R2026_03_04,
    /// The `redis_operation_latency` histogram (labels `service`, `operation`, `status`):
    /// its `_count{status="error"}` is the only metric of failing Redis throttles
    /// (`docs/reference/metrics/kumod/redis_operation_latency.md`, "since 2026.03.04").
    RedisOperationMetrics => R2026_03_04,

    // 2026.04.09-ea3b2a9b
    /// `ip_lookup_strategy`.
    IpLookupStrategy => R2026_04_09,
    /// An empty pool is kept (messages routed to it wait); before, it was dropped from the
    /// data and lookups of it failed.
    EmptyPools => R2026_04_09,

    // 2026.09.22-a276d4a8
    /// A proxy server (`ha_proxy_server`, `socks5_proxy_server`) given by DNS name: older
    /// releases read the field as a socket address (`IP:port`) and fail on a name.
    ProxyServerByName => R2026_09_22,
}

/// The published release of a date (`2025.03.19` -> `2025.03.19-1d3f1f67`), if there is one.
pub fn release_on(year: u16, month: u8, day: u8) -> Option<&'static Release> {
    let date = format!("{year:04}.{month:02}.{day:02}");
    RELEASES.iter().find(|r| r.date() == date)
}

/// The first release whose humantime reads `flavor` (for "needs KumoMTA X or later").
pub fn first_release_with(flavor: HumantimeFlavor) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.humantime == flavor)
}

/// The newest release kumoc knows of.
pub fn newest_release() -> Option<&'static Release> {
    RELEASES.last()
}

/// The releases just before and just after a date (for help lines about a date that is not
/// a release).
pub fn releases_around(v: &KumoVersion) -> (Option<&'static Release>, Option<&'static Release>) {
    let key = v.key();
    let before = RELEASES.iter().rev().find(|r| r.version().key() < key);
    let after = RELEASES.iter().find(|r| r.version().key() > key);
    (before, after)
}

// ---------------------------------------------------------------------------------------------
// A version against the table
// ---------------------------------------------------------------------------------------------

impl KumoVersion {
    /// Which humantime this release parses duration strings with: the flavour of the
    /// newest published release on or before its date (a version newer than every known
    /// release reads like the newest one).
    pub fn humantime(&self) -> HumantimeFlavor {
        RELEASES
            .iter()
            .rev()
            .find(|r| r.ymd() <= self.key())
            .map_or(HumantimeFlavor::V2_2, |r| r.humantime)
    }

    /// Whether this release has `feature`: the one test of every version gate. By date: a
    /// build of the same day (another commit, in another registry) counts as that release.
    pub fn supports(&self, feature: Feature) -> bool {
        !self.predates(feature.introduced_in())
    }

    /// Whether this release is older than `release` (by date).
    pub fn predates(&self, release: &Release) -> bool {
        self.key() < release.ymd()
    }

    /// The published release this version names exactly (date and commit).
    pub fn release(&self) -> Option<&'static Release> {
        release_on(self.year, self.month, self.day)
            .filter(|r| r.tag.split_once('-').map(|(_, c)| c) == self.commit.as_deref())
    }
}

// ---------------------------------------------------------------------------------------------
// Reading with the table's help
// ---------------------------------------------------------------------------------------------

/// A KumoMTA image tag, `YYYY.MM.DD-<8 lowercase hex>`: the shape of every tag KumoMTA
/// publishes (`ghcr.io/kumocorp/kumomta:2025.03.19-1d3f1f67`). A bare date names no image.
///
/// Where the writer evidently meant one published release (its date alone, its date in
/// another spelling, its commit in capitals, cut short or with a `v` prefix), the error's
/// suggestion is that release's tag, from [`RELEASES`]; otherwise the help shows the shape
/// and the nearest releases, and there is no suggestion: a commit is never made up.
pub fn parse_version(s: &str) -> Result<KumoVersion, UnitError> {
    parse_tag(s).map_err(|bad| the_release_meant(s, bad))
}

/// The shape's error, with the release the writer evidently meant as its suggestion, or the
/// releases nearest the date in its help.
fn the_release_meant(s: &str, BadTag { error: e, fault }: BadTag) -> UnitError {
    match fault {
        TagFault::Shape => e,
        TagFault::Meant(meant) => match parse_version(&meant) {
            // Only a tag that exists, or may (newer than every release kumoc knows).
            Ok(v) if may_exist(&v) => e.suggest(meant),
            Ok(v) => e.with_help(format!("{TAG_SHAPE}{}", around(&v))),
            Err(inner) => match inner.suggestion {
                Some(fixed) => e.suggest(fixed),
                None => e,
            },
        },
        TagFault::DateSpelling => match version_respelled(s) {
            Some(fixed) => e.suggest(fixed),
            None => e,
        },
        TagFault::NoCommit(date) => match published(date) {
            Some(r) => {
                let mut e = e.suggest(r.tag);
                e.help = Some(format!(
                    "the KumoMTA release of {} is tagged `{}`: write that",
                    r.date(),
                    r.tag
                ));
                e
            }
            None => {
                let (y, m, d) = date;
                e.with_help(format!(
                    "{TAG_SHAPE}{}",
                    around(&KumoVersion::date(y, m, d))
                ))
            }
        },
        TagFault::EmptyCommit(date) => match published(date) {
            Some(r) => e.suggest(r.tag),
            None => e,
        },
        // The published tag of this date, when the commit evidently means its commit.
        TagFault::CommitLength(date, c) => match published(date).filter(|r| {
            let real = r.tag.split_once('-').map_or("", |(_, h)| h);
            // git abbreviates to 7 digits at least: a shorter prefix names nothing.
            c.len() >= 7 && (real.starts_with(&c) || c.starts_with(real))
        }) {
            Some(r) => e.suggest(r.tag),
            None => e,
        },
    }
}

/// The published release of a date.
fn published((year, month, day): (u16, u8, u8)) -> Option<&'static Release> {
    release_on(year, month, day)
}

/// A published tag, or one newer than every release kumoc knows (it may exist).
fn may_exist(v: &KumoVersion) -> bool {
    v.release().is_some() || newest_release().is_none_or(|n| v.key() > n.version().key())
}

/// "; the releases nearest that date are `A` and `B`" (or one of them).
pub fn around(v: &KumoVersion) -> String {
    match releases_around(v) {
        (Some(b), Some(a)) => format!(
            "; the releases nearest that date are `{}` and `{}`",
            b.tag, a.tag
        ),
        (Some(b), None) => format!("; the newest release kumoc knows is `{}`", b.tag),
        (None, Some(a)) => format!("; the first release is `{}`", a.tag),
        (None, None) => String::new(),
    }
}

/// `2025-03-19`, `2025.3.19`, `2025-03-19-1d3f1f67` -> the published tag they spell another
/// way, when there is one.
fn version_respelled(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.splitn(4, ['.', '-']).collect();
    let [y, m, d, rest @ ..] = parts.as_slice() else {
        return None;
    };
    let y: u16 = y.parse().ok()?;
    let m: u8 = m.parse().ok()?;
    let d: u8 = d.parse().ok()?;
    let r = release_on(y, m, d)?;
    let real = r.tag.split_once('-').map_or("", |(_, h)| h);
    match rest.first() {
        None => Some(r.tag.to_string()),
        Some(c) if c.eq_ignore_ascii_case(real) => Some(r.tag.to_string()),
        Some(_) => None,
    }
}

/// Parse a duration string as KumoMTA (humantime) would; result in milliseconds (u64,
/// saturating). Reject exactly what that humantime version rejects (the grammar is
/// `humantime.rs`); a string only a newer humantime reads is refused with the first release
/// that reads it and, when there is one, the same duration as this release reads it (the
/// suggestion).
pub fn parse_humantime(s: &str, flavor: HumantimeFlavor) -> Result<u64, UnitError> {
    read_humantime(s, flavor).map_err(|mut e| {
        // Accepted by the newer humantime: say so, and give the form this release reads.
        if flavor == HumantimeFlavor::V2_2
            && let Some(fixed) = only_v2_3_reads(s)
        {
            let first = first_release_with(HumantimeFlavor::V2_3).map_or("", |r| r.tag);
            let mut help = format!("`{s}` needs KumoMTA {first} or later (humantime 2.3)");
            if let Some(fixed) = fixed {
                help = format!("{help}; for this release write `{fixed}`");
                e.suggestion = Some(fixed);
            }
            e = e.with_help(help);
        }
        e
    })
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::units::HumantimeFlavor::{V2_2, V2_3};
    use crate::units::test_util::{at, err};

    /// The release table: tags in the published shape, oldest first, one per date, and the
    /// humantime flavour changes once, at 2025.12.02-67ee9e96.
    #[test]
    fn release_table() {
        let mut prev: Option<KumoVersion> = None;
        for r in RELEASES {
            let v = parse_version(r.tag).unwrap_or_else(|e| panic!("{}: {e}", r.tag));
            assert_eq!(v.to_string(), r.tag);
            assert_eq!(v.release(), Some(r));
            assert_eq!(v.humantime(), r.humantime, "{}", r.tag);
            assert_eq!(r.ymd(), v.key(), "{}", r.tag);
            assert_eq!(r.to_string(), r.tag);
            if let Some(p) = &prev {
                assert!(p.key() < v.key(), "{} is out of order", r.tag);
            }
            prev = Some(v);
        }
        assert_eq!(
            first_release_with(V2_3).map(|r| r.tag),
            Some("2025.12.02-67ee9e96")
        );
        let flips = RELEASES
            .windows(2)
            .filter(|w| matches!(w, [a, b] if a.humantime != b.humantime))
            .count();
        assert_eq!(flips, 1);
    }

    /// The feature table: every feature's release is a published one, the table is in
    /// release order (it reads like the changelog), and a release has exactly the features
    /// of its own and older releases.
    #[test]
    fn feature_table() {
        let index = |r: &Release| RELEASES.iter().position(|x| x == r);
        let mut last = 0;
        for f in Feature::ALL {
            let r = f.introduced_in();
            let i = index(r).unwrap_or_else(|| panic!("{f:?}: {} is not in RELEASES", r.tag));
            assert!(i >= last, "{f:?} is out of release order in the table");
            last = i;
            for (j, other) in RELEASES.iter().enumerate() {
                assert_eq!(
                    other.version().supports(*f),
                    j >= i,
                    "{f:?} on {}",
                    other.tag
                );
            }
            // A build of the release's day from elsewhere (another commit) has it too, a
            // bare date of the day before does not.
            let (y, m, d) = r.ymd();
            assert!(KumoVersion::date(y, m, d).supports(*f));
            assert!(!KumoVersion::date(y, m, d - 1).supports(*f) || d == 1);
        }
        assert!(Feature::ALL.len() >= 20, "{}", Feature::ALL.len());
        assert!(index(OLDEST_SUPPORTED).is_some());
    }

    /// What a version has, read from the table.
    #[test]
    fn version_against_the_table() {
        let v = parse_version("2025.03.19-1d3f1f67").unwrap();
        assert_eq!(v.humantime(), V2_2);
        assert_eq!(v.release().map(|r| r.tag), Some("2025.03.19-1d3f1f67"));
        assert_eq!(
            parse_version("2025.12.02-67ee9e96").unwrap().humantime(),
            V2_3
        );
        assert_eq!(KumoVersion::date(2025, 12, 1).humantime(), V2_2);
        assert_eq!(
            parse_version("2026.06.23-f3af1cd0").unwrap().humantime(),
            V2_3
        );
        // Newer than every known release: reads like the newest.
        assert_eq!(KumoVersion::date(2030, 1, 1).humantime(), V2_3);
        // A well-shaped tag parses; whether it was published is the caller's business.
        assert!(
            parse_version("2025.03.19-deadbeef")
                .unwrap()
                .release()
                .is_none()
        );
    }

    /// A tag's error names the release the writer evidently meant, or the releases around.
    #[test]
    fn versions_meant() {
        // The writer evidently meant the published release of that date: its tag.
        for s in [
            "2025.03.19",
            "2025.3.19",
            "2025-03-19",
            "v2025.03.19",
            "V2025.03.19-1d3f1f67",
            "2025.03.19-1D3F1F67",
            "2025.03.19-1d3f1f6",
            "2025.03.19-1d3f1f67e2",
            "2025.03.19-",
            "2025-03-19-1d3f1f67",
        ] {
            let e = err(parse_version(s));
            assert_eq!(
                e.suggestion.as_deref(),
                Some("2025.03.19-1d3f1f67"),
                "{s:?}"
            );
        }
        // No release that day, or a commit that is not that release's: no suggestion; the
        // help shows the shape and the releases around, never a made-up commit.
        for s in [
            "2025.03.20",
            "2026.06.24",
            "2025.03.19-1d3f1f",
            "2025.03.19-abcdef",
            "2025.03.19-XYZ",
            "2025.03.20-1D3F1F67",
            "latest",
        ] {
            let e = err(parse_version(s));
            assert_eq!(e.suggestion, None, "{s:?}");
        }
        let e = err(parse_version("2025.03.20"));
        assert!(
            e.help.as_deref().unwrap().contains(
                "the releases nearest that date are `2025.03.19-1d3f1f67` and `2025.05.06-b29689af`"
            ),
            "{e:?}"
        );
        let e = err(parse_version("2025.03.19"));
        assert_eq!(
            e.help.as_deref(),
            Some("the KumoMTA release of 2025.03.19 is tagged `2025.03.19-1d3f1f67`: write that")
        );
        let s = "2025.03.19-1D3F1F67";
        let e = err(parse_version(s));
        assert_eq!(at(s, &e), "1D3F1F67");
        assert_eq!(e.help.as_deref(), Some("write `2025.03.19-1d3f1f67`"));
        // Every suggestion parses.
        for s in [
            "2025.03.19",
            "2023.03.30",
            "v2026.09.29",
            "2026-06-23",
            "2025.12.02-67EE9E96",
        ] {
            let fixed = err(parse_version(s)).suggestion.unwrap();
            assert!(parse_version(&fixed).is_ok(), "{s:?} -> {fixed:?}");
        }
    }

    #[test]
    fn out_of_range_day_does_not_recurse() {
        // Found by the mutation fuzz loop: "2025.03.167" used to recurse without end.
        for s in ["2025.03.167", "2025.13.01", "2025.3.167-abc", "2025-03-19"] {
            let _ = parse_version(s);
        }
        assert!(parse_version("2025.03.167").is_err());
    }

    /// A duration only the newer humantime reads: the release that reads it, and the same
    /// duration as this release reads it.
    #[test]
    fn humantime_of_a_newer_release() {
        let s = "1.5h";
        let e = err(parse_humantime(s, V2_2));
        assert_eq!(at(s, &e), ".");
        assert_eq!(
            e.help.as_deref(),
            Some(
                "`1.5h` needs KumoMTA 2025.12.02-67ee9e96 or later (humantime 2.3); for this release write `90m`"
            )
        );
        assert_eq!(e.suggestion.as_deref(), Some("90m"));

        let e = err(parse_humantime("0", V2_2));
        assert!(e.message.contains("time unit needed"));
        assert!(e.help.as_deref().unwrap().contains("write `0s`"));

        // No whole milliseconds: the release, no suggestion.
        let e = err(parse_humantime("3µs", V2_2));
        assert_eq!(
            e.help.as_deref(),
            Some("`3µs` needs KumoMTA 2025.12.02-67ee9e96 or later (humantime 2.3)")
        );
        assert_eq!(e.suggestion, None);
        // The newer humantime adds nothing to its own errors, nor to what neither reads.
        assert_eq!(
            parse_humantime("1.5ns", V2_2).unwrap_err().help,
            read_humantime("1.5ns", V2_2).unwrap_err().help
        );
        assert_eq!(
            parse_humantime("1.5hx", V2_3),
            read_humantime("1.5hx", V2_3)
        );
    }
}
