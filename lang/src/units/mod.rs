//! Value grammars: the literals a `.kumo` file writes for rates, limits, durations, sizes,
//! CPU, percentages, IP networks and KumoMTA versions.
//!
//! Two kinds of grammar live here:
//!
//! * **KumoMTA's own grammars**, which kumoc must accept and reject exactly as KumoMTA does,
//!   because the text ends up in KumoMTA's configuration: [`parse_rate`] (`ThrottleSpec`),
//!   [`parse_limit`] (`LimitSpec`), [`parse_humantime`] (`duration_serde`, i.e. humantime),
//!   [`parse_cidr`] / [`parse_ip`] (`cidr-map`, `std::net`). Each rule cites the KumoMTA or
//!   library source it copies (`KumoCorp/kumomta crates/throttle/src/lib.rs`, humantime
//!   2.2.0 / 2.3.0 `src/duration.rs`, cidr 0.3 `src/parsers/combinators.rs`).
//! * **kumoc's own literals**, stricter and simpler, which kumoc then renders in a form every
//!   KumoMTA release understands: [`parse_duration_literal`] / [`format_duration`],
//!   [`parse_size`] / [`format_size`], [`parse_cpu`] / [`format_cpu`], [`parse_percent`],
//!   [`parse_version`].
//!
//! Nothing here panics, whatever the input: there is no indexing, slicing or unchecked
//! arithmetic on input-derived values (the module denies the clippy lints for them).
//!
//! Every error carries a byte range *relative to the start of the text that was given*; a
//! caller that parsed a literal found at offset `o` of a file shifts it with
//! [`UnitError::shifted`].
//!
//! One file per grammar, its tests beside it: `rate.rs` (ThrottleSpec), `limit.rs`
//! (LimitSpec), `humantime.rs` (KumoMTA's duration strings), `duration.rs` (kumoc's duration
//! literals), `size.rs`, `cpu.rs`, `percent.rs`, `net.rs` (IPs, CIDRs), `version.rs` (image
//! tags) and `release.rs` (the release table); `count.rs` and `decimal.rs` hold the numbers
//! several grammars share. The grammars know no release: `release.rs` stands above
//! `humantime.rs` and `version.rs`, and its `parse_humantime` and `parse_version` add the
//! help that names a release. Everything public is re-exported here: callers write
//! `kumoc_lang::units::parse_rate`.
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod count;
mod cpu;
mod decimal;
mod duration;
mod humantime;
mod limit;
mod net;
mod percent;
mod rate;
mod release;
mod size;
mod version;

pub use cpu::{format_cpu, parse_cpu};
pub use duration::{format_duration, parse_duration_literal, write_duration};
pub use humantime::HumantimeFlavor;
pub use limit::{Limit, parse_limit};
pub use net::{Cidr, parse_cidr, parse_ip};
pub use percent::parse_percent;
pub use rate::{Rate, parse_rate};
pub use release::{
    Feature, OLDEST_SUPPORTED, RELEASES, Release, around, first_release_with, newest_release,
    parse_humantime, parse_version, release_on, releases_around,
};
pub use size::{format_size, parse_size};
pub use version::KumoVersion;

use std::fmt;
use std::ops::Range;

/// `n` in decimal, as `write!("{n}")` writes it, appended to `out` without the formatter
/// (the emitters write hundreds of thousands of numbers into megabytes of output).
pub fn push_decimal(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut m = n;
    loop {
        i = i.saturating_sub(1);
        if let Some(d) = buf.get_mut(i) {
            // `m % 10` is below 10: the digit's ASCII code.
            *d = b'0' | (m % 10) as u8;
        }
        m /= 10;
        if m == 0 || i == 0 {
            break;
        }
    }
    // Pushed a character at a time: the numbers are short, and a UTF-8 check of the buffer
    // to push it as one string cost more than the digits (a data file writes tens of
    // thousands of them).
    for &d in buf.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A problem with a literal: a message, an optional help line, the byte range inside the
/// literal text that is wrong (relative to the start of the text given), and, when there is
/// one, the faithful correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    pub message: String,
    pub help: Option<String>,
    pub range: Range<usize>,
    /// The whole literal, corrected, when the correction says exactly what the writer
    /// evidently meant (`10.0.0.1/8` -> `10.0.0.0/8`, `2025.03.19` -> the tag of that
    /// release); it parses. `None` when only a person can choose: a help line may still
    /// show an *example*, which must never become a fix.
    pub suggestion: Option<String>,
}

impl UnitError {
    fn new(message: impl Into<String>, range: Range<usize>) -> Self {
        Self {
            message: message.into(),
            help: None,
            range,
            suggestion: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn with_suggestion(mut self, fixed: impl Into<String>) -> Self {
        self.suggestion = Some(fixed.into());
        self
    }

    /// `help` saying "write `fixed`", with `fixed` as the suggestion.
    fn suggest(mut self, fixed: impl Into<String>) -> Self {
        let fixed = fixed.into();
        self.help = Some(format!("write `{fixed}`"));
        self.suggestion = Some(fixed);
        self
    }
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnitError {}

/// `start .. start + len`, saturating.
fn span(start: usize, len: usize) -> Range<usize> {
    start..start.saturating_add(len)
}

/// The range of the first whitespace character of `s`, if any.
fn first_whitespace(s: &str) -> Option<Range<usize>> {
    // Printable ASCII (nearly every literal) has none: no char decoding.
    if s.bytes().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    s.char_indices()
        .find(|&(_, c)| c.is_whitespace())
        .map(|(i, c)| span(i, c.len_utf8()))
}

/// The char starting at byte `at` of `s` (None when out of range or not a boundary).
fn char_at(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|rest| rest.chars().next())
}

fn char_len_at(s: &str, at: usize) -> usize {
    char_at(s, at).map_or(0, char::len_utf8)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while let Some(r) = a.checked_rem(b) {
        a = b;
        b = r;
    }
    a
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic)]
mod test_util {
    use super::UnitError;
    use std::fmt;

    pub(super) fn err<T: fmt::Debug>(r: Result<T, UnitError>) -> UnitError {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    /// The text an error range covers.
    pub(super) fn at<'a>(s: &'a str, e: &UnitError) -> &'a str {
        &s[e.range.clone()]
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
    use HumantimeFlavor::{V2_2, V2_3};

    /// `push_decimal` writes what the formatter writes: every number below 100,000, each
    /// power of ten and its neighbours, and the largest.
    #[test]
    fn push_decimal_is_the_formatter() {
        let powers = (0..20).flat_map(|e| {
            let p = 10u64.pow(e);
            [p - 1, p, p + 1]
        });
        for n in (0..100_000).chain(powers).chain([u64::MAX - 1, u64::MAX]) {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    /// Every parser on a spread of awkward inputs (multi-byte chars at every position,
    /// separators, huge numbers): none may panic.
    #[test]
    fn no_panics() {
        let pieces = [
            "",
            "0",
            "1",
            "9",
            "_",
            ",",
            ".",
            "/",
            ":",
            "-",
            "+",
            "%",
            " ",
            "\u{a0}",
            "µ",
            "é",
            "ｓ",
            "s",
            "m",
            "h",
            "d",
            "w",
            "M",
            "y",
            "Ki",
            "Gi",
            "e",
            "E",
            "local:",
            ",max_burst=",
            "any",
            "::",
            "18446744073709551615",
            "99999999999999999999",
            "2025.",
            "03",
            "-1d3f1f67",
        ];
        let mut inputs = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in ["", "s", "µ", "0", "/", "1e99", "."] {
                    inputs.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in &inputs {
            let _ = parse_rate(s);
            let _ = parse_limit(s);
            let _ = parse_humantime(s, V2_2);
            let _ = parse_humantime(s, V2_3);
            let _ = parse_duration_literal(s);
            let _ = parse_size(s);
            let _ = parse_cpu(s);
            let _ = parse_percent(s);
            let _ = parse_cidr(s);
            let _ = parse_ip(s);
            let _ = parse_version(s);
            for e in [
                parse_rate(s).err(),
                parse_limit(s).err(),
                parse_humantime(s, V2_2).err(),
                parse_humantime(s, V2_3).err(),
                parse_duration_literal(s).err(),
                parse_size(s).err(),
                parse_cpu(s).err(),
                parse_percent(s).err(),
                parse_cidr(s).err(),
                parse_ip(s).err(),
                parse_version(s).err(),
            ]
            .into_iter()
            .flatten()
            {
                assert!(
                    e.range.start <= e.range.end && e.range.end <= s.len(),
                    "{s:?}: {e:?}"
                );
                assert!(
                    s.get(e.range.clone()).is_some(),
                    "{s:?}: {e:?} not on char boundaries"
                );
            }
        }
    }
}
