//! KumoMTA versions as written in `kumomta = "..."`: image tags, `YYYY.MM.DD-<8 hex>`.

use std::cmp::Ordering;
use std::fmt;

use super::humantime::HumantimeFlavor;
use super::release::{Feature, RELEASES, Release, newest_release, release_on, releases_around};
use super::{UnitError, span};

/// A KumoMTA release as written in `kumomta = "..."`: its image tag, `2025.03.19-1d3f1f67`
/// (release date, then the first 8 hex digits of the commit). [`parse_version`] returns it
/// with a commit; [`KumoVersion::date`] builds a bare date for comparisons.
/// Ordered by date, the commit breaking ties, so `Ord` agrees with `Eq`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KumoVersion {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub commit: Option<String>,
}

impl KumoVersion {
    pub const fn date(year: u16, month: u8, day: u8) -> Self {
        Self {
            year,
            month,
            day,
            commit: None,
        }
    }

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

    pub(super) fn key(&self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }
}

impl Ord for KumoVersion {
    /// By release date; the commit only breaks ties, so `Ord` agrees with `Eq`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key()
            .cmp(&other.key())
            .then_with(|| self.commit.cmp(&other.commit))
    }
}

impl PartialOrd for KumoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for KumoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}.{:02}.{:02}", self.year, self.month, self.day)?;
        if let Some(commit) = &self.commit {
            write!(f, "-{commit}")?;
        }
        Ok(())
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            let leap =
                (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
            if leap { 29 } else { 28 }
        }
        _ => 0,
    }
}

/// The length of the commit part of a KumoMTA image tag.
const TAG_COMMIT_LEN: usize = 8;

/// What a tag looks like, for help lines: an example only, never a fix.
const TAG_SHAPE: &str = "a KumoMTA image tag is the release date and the first 8 hex digits of its \
                         commit, like `2025.03.19-1d3f1f67`; the tags are the headings of \
                         https://docs.kumomta.com/changelog/";

/// A KumoMTA image tag, `YYYY.MM.DD-<8 lowercase hex>`: the shape of every tag KumoMTA
/// publishes (`ghcr.io/kumocorp/kumomta:2025.03.19-1d3f1f67`). A bare date names no image.
///
/// Where the writer evidently meant one published release (its date alone, its date in
/// another spelling, its commit in capitals, cut short or with a `v` prefix), the error's
/// suggestion is that release's tag, from [`RELEASES`]; otherwise the help shows the shape
/// and the nearest releases, and there is no suggestion: a commit is never made up.
pub fn parse_version(s: &str) -> Result<KumoVersion, UnitError> {
    if s.is_empty() {
        return Err(UnitError::new("a release tag cannot be empty", 0..0).with_help(TAG_SHAPE));
    }
    if let Some(rest) = s.strip_prefix(['v', 'V']) {
        let e = UnitError::new("KumoMTA tags have no `v` prefix", 0..1);
        return Err(match parse_version(rest) {
            Ok(v) if may_exist(&v) => e.suggest(rest),
            Ok(v) => e.with_help(format!("{TAG_SHAPE}{}", around(&v))),
            Err(inner) => match inner.suggestion {
                Some(fixed) => e.suggest(fixed),
                None => e.with_help(TAG_SHAPE),
            },
        });
    }
    let (date, commit) = match s.split_once('-') {
        Some((d, c)) => (d, Some(c)),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('.').collect();
    let well_formed = matches!(
        parts.as_slice(),
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
            && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    );
    if !well_formed {
        let e = UnitError::new(
            format!("`{date}` is not a release date `YYYY.MM.DD`"),
            span(0, date.len()),
        );
        return Err(match version_respelled(s) {
            Some(fixed) => e.suggest(fixed),
            None => e.with_help(TAG_SHAPE),
        });
    }
    let (year, month, day) = match parts.as_slice() {
        [y, m, d] => (
            y.parse::<u16>().unwrap_or(0),
            m.parse::<u8>().unwrap_or(0),
            d.parse::<u8>().unwrap_or(0),
        ),
        _ => (0, 0, 0),
    };
    if !(1..=12).contains(&month) {
        return Err(
            UnitError::new(format!("month {month} does not exist"), 5..7).with_help(TAG_SHAPE),
        );
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(
            UnitError::new(format!("{year:04}.{month:02} has no day {day}"), 8..10)
                .with_help(TAG_SHAPE),
        );
    }
    let published = release_on(year, month, day);
    let Some(c) = commit else {
        let e = UnitError::new(
            format!("`{date}` is a date, not an image tag"),
            span(0, date.len()),
        );
        return Err(match published {
            Some(r) => {
                let mut e = e.suggest(r.tag);
                e.help = Some(format!(
                    "the KumoMTA release of {date} is tagged `{}`: write that",
                    r.tag
                ));
                e
            }
            None => e.with_help(format!(
                "{TAG_SHAPE}{}",
                around(&KumoVersion::date(year, month, day))
            )),
        });
    };
    let off = date.len().saturating_add(1);
    let range = if c.is_empty() {
        off..off
    } else {
        span(off, c.len())
    };
    // The published tag of this date, when `c` evidently means its commit.
    let same_release = |c: &str| {
        published.filter(|r| {
            let real = r.tag.split_once('-').map_or("", |(_, h)| h);
            // git abbreviates to 7 digits at least: a shorter prefix names nothing.
            c.len() >= 7 && (real.starts_with(c) || c.starts_with(real))
        })
    };
    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
        let e = if c.is_empty() {
            UnitError::new("missing commit after `-`", range)
        } else {
            UnitError::new(format!("`{c}` is not a commit (hex digits)"), range)
        };
        return Err(match published {
            Some(r) if c.is_empty() => e.suggest(r.tag),
            _ => e.with_help(TAG_SHAPE),
        });
    }
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = format!("{date}-{}", c.to_ascii_lowercase());
        let e = UnitError::new("the commit of a tag is in lowercase", range);
        return Err(match parse_version(&lower) {
            // Only a tag that exists, or may (newer than every release kumoc knows).
            Ok(v) if may_exist(&v) => e.suggest(lower),
            Ok(v) => e.with_help(format!("{TAG_SHAPE}{}", around(&v))),
            Err(inner) => match inner.suggestion {
                Some(fixed) => e.suggest(fixed),
                None => e.with_help(TAG_SHAPE),
            },
        });
    }
    if c.len() != TAG_COMMIT_LEN {
        let e = UnitError::new(
            format!(
                "a tag's commit has {TAG_COMMIT_LEN} hex digits, `{c}` has {}",
                c.len()
            ),
            range,
        );
        return Err(match same_release(c) {
            Some(r) => e.suggest(r.tag),
            None => e.with_help(TAG_SHAPE),
        });
    }
    Ok(KumoVersion {
        year,
        month,
        day,
        commit: Some(c.to_string()),
    })
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

    #[test]
    fn versions() {
        let v = parse_version("2025.03.19-1d3f1f67").unwrap();
        assert_eq!(
            v,
            KumoVersion {
                year: 2025,
                month: 3,
                day: 19,
                commit: Some("1d3f1f67".into())
            }
        );
        assert_eq!(v.to_string(), "2025.03.19-1d3f1f67");
        assert_eq!(v.humantime(), V2_2);
        assert_eq!(v.release().map(|r| r.tag), Some("2025.03.19-1d3f1f67"));
        let d = KumoVersion::date(2025, 3, 19);
        assert_eq!(d.to_string(), "2025.03.19");
        assert_eq!(
            d.cmp(&v),
            Ordering::Less,
            "same date: the commit breaks the tie"
        );
        assert_ne!(d, v);

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
        assert!(KumoVersion::date(2025, 3, 19) < KumoVersion::date(2025, 12, 2));
        assert!(KumoVersion::date(2024, 12, 31) < KumoVersion::date(2025, 1, 1));
        assert_eq!(parse_version("2024.02.29-0123abcd").unwrap().day, 29);
        // A well-shaped tag parses; whether it was published is the caller's business.
        assert!(
            parse_version("2025.03.19-deadbeef")
                .unwrap()
                .release()
                .is_none()
        );

        for s in [
            "",
            "latest",
            "2025.03.19",
            "2025.3.19",
            "2025-03-19",
            "v2025.03.19",
            "2025.13.01",
            "2025.00.10",
            "2025.02.29",
            "2025.04.31",
            "2025.03.00",
            "2025.03.19-",
            "2025.03.19-1D3F1F67",
            "2025.03.19-123456",
            "2025.03.19-xyzxyzx",
            "2025.03.19-1d3f1f67-1",
            "2025.03.19-1d3f1f6",
            "2025.03.19-0123456789abcdef0123456789abcdef01234567",
            "25.03.19",
            "2025.03.19 ",
        ] {
            assert!(parse_version(s).is_err(), "{s:?}");
        }
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
        let s = "2025.13.01";
        assert_eq!(at(s, &err(parse_version(s))), "13");
        let s = "2025.02.29";
        assert_eq!(at(s, &err(parse_version(s))), "29");
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
            let _ = super::parse_version(s);
        }
        assert!(super::parse_version("2025.03.167").is_err());
    }
}
