//! The KumoMTA release table: every published release, with the humantime it ships.

use super::humantime::HumantimeFlavor;
use super::version::{KumoVersion, parse_version};

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
        parse_version(self.tag).unwrap_or_else(|_| KumoVersion::date(0, 0, 0))
    }

    /// The date part of the tag, `YYYY.MM.DD`.
    pub fn date(&self) -> &'static str {
        self.tag.split_once('-').map_or(self.tag, |(d, _)| d)
    }
}

const fn rel(tag: &'static str, humantime: HumantimeFlavor) -> Release {
    Release { tag, humantime }
}

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
    rel("2023.03.30-427c74f0", HumantimeFlavor::V2_2),
    rel("2023.03.31-36aa20de", HumantimeFlavor::V2_2),
    rel("2023.05.10-e88ad036", HumantimeFlavor::V2_2),
    rel("2023.06.22-51b72a83", HumantimeFlavor::V2_2),
    rel("2023.08.22-4d895015", HumantimeFlavor::V2_2),
    rel("2023.11.28-b5252a41", HumantimeFlavor::V2_2),
    rel("2023.12.28-63cde9c7", HumantimeFlavor::V2_2),
    rel("2024.06.10-84e84b89", HumantimeFlavor::V2_2),
    rel("2024.09.02-c5476b89", HumantimeFlavor::V2_2),
    rel("2024.11.08-d383b033", HumantimeFlavor::V2_2),
    rel("2025.01.23-7273d2bc", HumantimeFlavor::V2_2),
    rel("2025.01.29-833f82a8", HumantimeFlavor::V2_2),
    rel("2025.03.19-1d3f1f67", HumantimeFlavor::V2_2),
    rel("2025.05.06-b29689af", HumantimeFlavor::V2_2),
    rel("2025.10.06-5ec871ab", HumantimeFlavor::V2_2),
    rel("2025.12.02-67ee9e96", HumantimeFlavor::V2_3),
    rel("2026.03.04-bb93ecb1", HumantimeFlavor::V2_3),
    rel("2026.04.09-ea3b2a9b", HumantimeFlavor::V2_3),
    rel("2026.05.12-a6845223", HumantimeFlavor::V2_3),
    rel("2026.06.23-f3af1cd0", HumantimeFlavor::V2_3),
    rel("2026.09.22-a276d4a8", HumantimeFlavor::V2_3),
    rel("2026.09.29-b90d8bc1", HumantimeFlavor::V2_3),
];

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
    use crate::units::HumantimeFlavor::V2_3;

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
}
