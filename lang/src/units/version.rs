//! KumoMTA versions as written in `kumomta = "..."`: image tags, `YYYY.MM.DD-<8 hex>`. The
//! version type and the tag's shape alone; what a version has (its features, its humantime,
//! its published release) and the help that names releases are the release table's
//! (`release.rs`).

use std::cmp::Ordering;
use std::fmt;

use super::{UnitError, span};

/// A KumoMTA release as written in `kumomta = "..."`: its image tag, `2025.03.19-1d3f1f67`
/// (release date, then the first 8 hex digits of the commit). `parse_version` returns it
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
pub(super) const TAG_SHAPE: &str = "a KumoMTA image tag is the release date and the first 8 hex digits of its \
                         commit, like `2025.03.19-1d3f1f67`; the tags are the headings of \
                         https://docs.kumomta.com/changelog/";

/// Why a string is not a tag, as [`parse_tag`] found it: the error (message, range, and
/// the shape as its help) and what the release table may add, when the writer evidently
/// meant one published release (`release.rs`, `parse_version`).
#[derive(Debug)]
pub(super) struct BadTag {
    pub error: UnitError,
    pub fault: TagFault,
}

/// What was wrong with a tag, as far as the release table can help with it. A date is
/// `(year, month, day)`, one that exists.
#[derive(Debug)]
pub(super) enum TagFault {
    /// Nothing a release explains (empty, a month or day that does not exist, a commit that
    /// is not hex): the shape is the whole help.
    Shape,
    /// The string with a fault mended (the `v` prefix dropped, the commit in lowercase): the
    /// writer meant it if it is a tag.
    Meant(String),
    /// The date is not written `YYYY.MM.DD` (maybe another spelling of a release's date).
    DateSpelling,
    /// A date without its commit.
    NoCommit((u16, u8, u8)),
    /// A date and `-`, then nothing.
    EmptyCommit((u16, u8, u8)),
    /// A date and a commit of the wrong length.
    CommitLength((u16, u8, u8), String),
}

/// A KumoMTA image tag, `YYYY.MM.DD-<8 lowercase hex>`: the shape of every tag KumoMTA
/// publishes (`ghcr.io/kumocorp/kumomta:2025.03.19-1d3f1f67`). A bare date names no image.
/// The shape alone: `parse_version` (`release.rs`) reads a tag with the releases' help.
pub(super) fn parse_tag(s: &str) -> Result<KumoVersion, BadTag> {
    let bad = |error: UnitError, fault| BadTag {
        error: error.with_help(TAG_SHAPE),
        fault,
    };
    if s.is_empty() {
        return Err(bad(
            UnitError::new("a release tag cannot be empty", 0..0),
            TagFault::Shape,
        ));
    }
    if let Some(rest) = s.strip_prefix(['v', 'V']) {
        return Err(bad(
            UnitError::new("KumoMTA tags have no `v` prefix", 0..1),
            TagFault::Meant(rest.to_string()),
        ));
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
        return Err(bad(
            UnitError::new(
                format!("`{date}` is not a release date `YYYY.MM.DD`"),
                span(0, date.len()),
            ),
            TagFault::DateSpelling,
        ));
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
        return Err(bad(
            UnitError::new(format!("month {month} does not exist"), 5..7),
            TagFault::Shape,
        ));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(bad(
            UnitError::new(format!("{year:04}.{month:02} has no day {day}"), 8..10),
            TagFault::Shape,
        ));
    }
    let the_date = (year, month, day);
    let Some(c) = commit else {
        return Err(bad(
            UnitError::new(
                format!("`{date}` is a date, not an image tag"),
                span(0, date.len()),
            ),
            TagFault::NoCommit(the_date),
        ));
    };
    let off = date.len().saturating_add(1);
    if c.is_empty() {
        return Err(bad(
            UnitError::new("missing commit after `-`", off..off),
            TagFault::EmptyCommit(the_date),
        ));
    }
    let range = span(off, c.len());
    if !c.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            UnitError::new(format!("`{c}` is not a commit (hex digits)"), range),
            TagFault::Shape,
        ));
    }
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad(
            UnitError::new("the commit of a tag is in lowercase", range),
            TagFault::Meant(format!("{date}-{}", c.to_ascii_lowercase())),
        ));
    }
    if c.len() != TAG_COMMIT_LEN {
        return Err(bad(
            UnitError::new(
                format!(
                    "a tag's commit has {TAG_COMMIT_LEN} hex digits, `{c}` has {}",
                    c.len()
                ),
                range,
            ),
            TagFault::CommitLength(the_date, c.to_string()),
        ));
    }
    Ok(KumoVersion {
        year,
        month,
        day,
        commit: Some(c.to_string()),
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
    use crate::units::test_util::{at, err};

    fn tag(s: &str) -> Result<KumoVersion, UnitError> {
        parse_tag(s).map_err(|bad| bad.error)
    }

    #[test]
    fn versions() {
        let v = tag("2025.03.19-1d3f1f67").unwrap();
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
        let d = KumoVersion::date(2025, 3, 19);
        assert_eq!(d.to_string(), "2025.03.19");
        assert_eq!(
            d.cmp(&v),
            Ordering::Less,
            "same date: the commit breaks the tie"
        );
        assert_ne!(d, v);
        assert!(KumoVersion::date(2025, 3, 19) < KumoVersion::date(2025, 12, 2));
        assert!(KumoVersion::date(2024, 12, 31) < KumoVersion::date(2025, 1, 1));
        assert_eq!(tag("2024.02.29-0123abcd").unwrap().day, 29);
        // A well-shaped tag parses; whether it was published is the release table's business.
        assert!(tag("2025.03.19-deadbeef").is_ok());

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
            let e = err(tag(s));
            // The shape alone suggests nothing: only a release is a fix (`release.rs`).
            assert_eq!(e.suggestion, None, "{s:?}");
            assert_eq!(e.help.as_deref(), Some(TAG_SHAPE), "{s:?}");
        }
        let s = "2025.13.01";
        assert_eq!(at(s, &err(tag(s))), "13");
        let s = "2025.02.29";
        assert_eq!(at(s, &err(tag(s))), "29");
        let s = "2025.03.19-1D3F1F67";
        assert_eq!(at(s, &err(tag(s))), "1D3F1F67");
        let s = "2025.03.19-";
        assert_eq!(err(tag(s)).range, 11..11);
    }

    /// What the release table is told: the string the writer evidently meant, the date
    /// without its commit, the commit of the wrong length.
    #[test]
    fn faults() {
        let fault = |s: &str| parse_tag(s).unwrap_err().fault;
        assert!(matches!(fault("v2025.03.19"), TagFault::Meant(m) if m == "2025.03.19"));
        assert!(
            matches!(fault("2025.03.19-1D3F1F67"), TagFault::Meant(m) if m == "2025.03.19-1d3f1f67")
        );
        assert!(matches!(fault("2025-03-19"), TagFault::DateSpelling));
        let day = (2025, 3, 19);
        assert!(matches!(fault("2025.03.19"), TagFault::NoCommit(d) if d == day));
        assert!(matches!(fault("2025.03.19-"), TagFault::EmptyCommit(d) if d == day));
        assert!(
            matches!(fault("2025.03.19-1d3f1f6"), TagFault::CommitLength(d, c) if d == day && c == "1d3f1f6")
        );
        for s in ["", "2025.13.01", "2025.03.00", "2025.03.19-xyz"] {
            assert!(matches!(fault(s), TagFault::Shape), "{s:?}");
        }
    }
}
