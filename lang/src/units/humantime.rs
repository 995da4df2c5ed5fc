//! Durations as KumoMTA reads them: `duration_serde` hands a string to humantime, whose
//! grammar changed between 2.2 and 2.3 (`src/duration.rs` of each). The grammar alone:
//! which flavour a release ships, and what a release-aware error adds ("needs KumoMTA X or
//! later"), are the release table's (`release.rs`, which holds `parse_humantime`).

use std::ops::Range;

use super::duration::format_duration;
use super::{UnitError, char_at, char_len_at, span};

/// Which humantime KumoMTA ships, to decide what a duration *string* may contain. Each
/// release in the release table names its flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumantimeFlavor {
    /// humantime 2.1.0 and 2.2.0 (the same `parse_duration`): KumoMTA up to
    /// 2025.10.06-5ec871ab. Whole numbers only; no bare `0`.
    V2_2,
    /// humantime 2.3.0 and 2.4.0 (the same `parse_duration`): KumoMTA 2025.12.02-67ee9e96 and
    /// later. Adds exact fractions (`1.5h`), a bare `0`, and the units `µs`, `wk`, `wks`,
    /// `yr`, `yrs`.
    V2_3,
}

/// Read a duration string as humantime `flavor` does; result in milliseconds (u64,
/// saturating). Reject exactly what that humantime version rejects. The error says what
/// this flavour rejects and why; `parse_humantime` (`release.rs`) adds which release reads
/// it when a newer one does.
///
/// KumoMTA's `duration_serde` (`crates/duration-serde/src/lib.rs`) hands strings to
/// `humantime::parse_duration(v)` untouched. This is a port of humantime's `Parser`
/// (`src/duration.rs` of 2.2.0 and 2.3.0), with the same accept/reject set; the only
/// difference is that the two inputs on which humantime itself panics (a total of exactly
/// `u64::MAX` seconds plus a carried second) are errors here.
pub(super) fn read_humantime(s: &str, flavor: HumantimeFlavor) -> Result<u64, UnitError> {
    match humantime_exact(s, flavor) {
        Ok((secs, nanos)) => Ok(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000)),
        Err(err) => Err(humantime_error(s, err, flavor == HumantimeFlavor::V2_3)),
    }
}

/// A string humantime 2.3 reads and 2.2 rejects: `Some`, holding the same duration as 2.2
/// writes it (`1.5h` -> `90m`) when it is a whole number of milliseconds, else `Some(None)`
/// (`1.5ns`). `None` when 2.2 reads it, or 2.3 does not either.
pub(super) fn only_v2_3_reads(s: &str) -> Option<Option<String>> {
    if humantime_exact(s, HumantimeFlavor::V2_2).is_ok() {
        return None;
    }
    let (secs, nanos) = humantime_exact(s, HumantimeFlavor::V2_3).ok()?;
    Some(
        (nanos.is_multiple_of(1_000_000) && secs < u64::MAX / 1000)
            .then(|| format_duration(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000))),
    )
}

/// The duration humantime computes, as (seconds, nanoseconds < 10^9).
fn humantime_exact(s: &str, flavor: HumantimeFlavor) -> Result<(u64, u64), HtErr> {
    // humantime 2.3 `parse_duration`: `if s == "0" { return Ok(Duration::ZERO); }`
    if flavor == HumantimeFlavor::V2_3 && s == "0" {
        return Ok((0, 0));
    }
    HtParser {
        src: s,
        pos: 0,
        v23: flavor == HumantimeFlavor::V2_3,
    }
    .parse()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HtErr {
    /// humantime `Error::Empty`.
    Empty,
    /// humantime `Error::NumberExpected`; here the position of the offending char itself.
    NumberExpected(usize),
    /// humantime `Error::InvalidCharacter(offset)`.
    InvalidCharacter(usize),
    /// humantime `Error::UnknownUnit { start, end, value, .. }` (an empty unit is "time unit
    /// needed").
    UnknownUnit {
        start: usize,
        end: usize,
        value: u64,
    },
    /// humantime `Error::NumberOverflow` (also: a fraction that is not a whole number of
    /// nanoseconds, in 2.3); the range is the piece concerned.
    Overflow(Range<usize>),
    /// 2.3 only: a fraction that does not come out whole (seconds for h/d/w/M/y, nanoseconds
    /// below); humantime reports this as `Error::NumberOverflow` too.
    Inexact(Range<usize>, HtUnit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HtUnit {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// humantime 2.2.0 `parse_unit`:
/// ```text
/// "nanos" | "nsec" | "ns" => (0u64, n),
/// "usec" | "us" => (0u64, n.mul(1000)?),
/// "millis" | "msec" | "ms" => (0u64, n.mul(1_000_000)?),
/// "seconds" | "second" | "secs" | "sec" | "s" => (n, 0),
/// "minutes" | "minute" | "min" | "mins" | "m" => (n.mul(60)?, 0),
/// "hours" | "hour" | "hr" | "hrs" | "h" => (n.mul(3600)?, 0),
/// "days" | "day" | "d" => (n.mul(86400)?, 0),
/// "weeks" | "week" | "w" => (n.mul(86400 * 7)?, 0),
/// "months" | "month" | "M" => (n.mul(2_630_016)?, 0), // 30.44d
/// "years" | "year" | "y" => (n.mul(31_557_600)?, 0),  // 365.25d
/// ```
/// humantime 2.3.0 `impl FromStr for Unit` adds `"µs"`, `"wk" | "wks"` and `"yr" | "yrs"`.
fn ht_unit(name: &str, v23: bool) -> Option<HtUnit> {
    Some(match name {
        "nanos" | "nsec" | "ns" => HtUnit::Nanosecond,
        "usec" | "us" => HtUnit::Microsecond,
        "µs" if v23 => HtUnit::Microsecond,
        "millis" | "msec" | "ms" => HtUnit::Millisecond,
        "seconds" | "second" | "secs" | "sec" | "s" => HtUnit::Second,
        "minutes" | "minute" | "min" | "mins" | "m" => HtUnit::Minute,
        "hours" | "hour" | "hr" | "hrs" | "h" => HtUnit::Hour,
        "days" | "day" | "d" => HtUnit::Day,
        "weeks" | "week" | "w" => HtUnit::Week,
        "wk" | "wks" if v23 => HtUnit::Week,
        "months" | "month" | "M" => HtUnit::Month,
        "years" | "year" | "y" => HtUnit::Year,
        "yr" | "yrs" if v23 => HtUnit::Year,
        _ => return None,
    })
}

const NANOS: u64 = 1_000_000_000;

struct HtParser<'a> {
    src: &'a str,
    /// Byte offset of the next char (humantime's `off()`).
    pos: usize,
    v23: bool,
}

impl HtParser<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = char_at(self.src, self.pos)?;
        self.pos = self.pos.saturating_add(c.len_utf8());
        Some(c)
    }

    /// `'a'..='z' | 'A'..='Z'`, plus `'µ'` in 2.3.
    fn is_unit_char(&self, c: char) -> bool {
        c.is_ascii_alphabetic() || (self.v23 && c == 'µ')
    }

    /// humantime `parse_first_char`: skip whitespace, then a digit or `NumberExpected`.
    /// Returns the digit and its offset.
    fn parse_first_char(&mut self) -> Result<Option<(u64, usize)>, HtErr> {
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Ok(None),
                Some(c) if c.is_ascii_digit() => return Ok(Some((digit(c), at))),
                Some(c) if c.is_whitespace() => continue,
                Some(_) => return Err(HtErr::NumberExpected(at)),
            }
        }
    }

    /// humantime `Parser::parse`, both versions (the `'.'` arm is 2.3 only).
    fn parse(mut self) -> Result<(u64, u64), HtErr> {
        let Some((mut n, mut piece)) = self.parse_first_char()? else {
            return Err(HtErr::Empty);
        };
        let mut current = (0u64, 0u64);
        'outer: loop {
            let mut frac = None;
            // The number: digits, with whitespace skipped *inside* it ("1 0s" is 10s).
            let mut off = self.pos;
            while let Some(c) = self.bump() {
                match c {
                    '0'..='9' => {
                        n = n
                            .checked_mul(10)
                            .and_then(|x| x.checked_add(digit(c)))
                            .ok_or(HtErr::Overflow(piece..self.pos))?;
                    }
                    c if c.is_whitespace() => {}
                    c if self.is_unit_char(c) => break,
                    '.' if self.v23 => {
                        frac = Some(self.parse_fractional_part(&mut off, piece)?);
                        break;
                    }
                    _ => return Err(HtErr::InvalidCharacter(off)),
                }
                off = self.pos;
            }
            // The unit: letters up to whitespace, a digit (next piece) or the end.
            let start = off;
            let mut off = self.pos;
            while let Some(c) = self.bump() {
                match c {
                    '0'..='9' => {
                        self.parse_unit(n, frac, start, off, piece, &mut current)?;
                        n = digit(c);
                        piece = off;
                        continue 'outer;
                    }
                    c if c.is_whitespace() => break,
                    c if self.is_unit_char(c) => {}
                    _ => return Err(HtErr::InvalidCharacter(off)),
                }
                off = self.pos;
            }
            self.parse_unit(n, frac, start, off, piece, &mut current)?;
            match self.parse_first_char()? {
                Some((d, at)) => {
                    n = d;
                    piece = at;
                }
                None => {
                    // 2.2: `Duration::new(self.current.0, self.current.1 as u32)`, where
                    // current.1 may be exactly 10^9 (the carry test is `nsec > 1_000_000_000`).
                    return normalize(current).ok_or(HtErr::Overflow(0..self.src.len()));
                }
            }
        }
    }

    /// humantime 2.3 `parse_fractional_part`: digits (whitespace skipped) up to a unit char;
    /// no digit at all is `InvalidCharacter`.
    fn parse_fractional_part(
        &mut self,
        off: &mut usize,
        piece: usize,
    ) -> Result<(u64, u64), HtErr> {
        let mut numerator = 0u64;
        let mut denominator = 1u64;
        let mut zeros = true;
        while let Some(c) = self.bump() {
            match c {
                '0' => {
                    denominator = denominator
                        .checked_mul(10)
                        .ok_or(HtErr::Overflow(piece..self.pos))?;
                    if !zeros {
                        numerator = numerator
                            .checked_mul(10)
                            .ok_or(HtErr::Overflow(piece..self.pos))?;
                    }
                }
                '1'..='9' => {
                    zeros = false;
                    denominator = denominator
                        .checked_mul(10)
                        .ok_or(HtErr::Overflow(piece..self.pos))?;
                    numerator = numerator
                        .checked_mul(10)
                        .and_then(|x| x.checked_add(digit(c)))
                        .ok_or(HtErr::Overflow(piece..self.pos))?;
                }
                c if c.is_whitespace() => {}
                c if self.is_unit_char(c) => break,
                _ => return Err(HtErr::InvalidCharacter(*off)),
            }
            *off = self.pos;
        }
        if denominator == 1 {
            // no digits were given after the separator, e.g. "1."
            return Err(HtErr::InvalidCharacter(*off));
        }
        Ok((numerator, denominator))
    }

    /// humantime `parse_unit` (2.2) / `parse_unit` + `add_current` (2.3).
    fn parse_unit(
        &mut self,
        n: u64,
        frac: Option<(u64, u64)>,
        start: usize,
        end: usize,
        piece: usize,
        current: &mut (u64, u64),
    ) -> Result<(), HtErr> {
        let name = self.src.get(start..end).unwrap_or_default();
        let Some(unit) = ht_unit(name, self.v23) else {
            return Err(HtErr::UnknownUnit {
                start,
                end,
                value: n,
            });
        };
        let ovf = || HtErr::Overflow(piece..end);
        let mul = |a: u64, b: u64| a.checked_mul(b).ok_or_else(ovf);
        let (sec, nsec) = match unit {
            HtUnit::Nanosecond => (0, n),
            HtUnit::Microsecond => (0, mul(n, 1000)?),
            HtUnit::Millisecond => (0, mul(n, 1_000_000)?),
            HtUnit::Second => (n, 0),
            HtUnit::Minute => (mul(n, 60)?, 0),
            HtUnit::Hour => (mul(n, 3600)?, 0),
            HtUnit::Day => (mul(n, 86400)?, 0),
            HtUnit::Week => (mul(n, 86400 * 7)?, 0),
            HtUnit::Month => (mul(n, 2_630_016)?, 0), // 30.44d
            HtUnit::Year => (mul(n, 31_557_600)?, 0), // 365.25d
        };
        self.add_current(sec, nsec, current).ok_or_else(ovf)?;

        // 2.3: the fractional part; `div` fails unless the division is exact.
        if let Some((num, den)) = frac {
            let inexact = || HtErr::Inexact(piece..end, unit);
            let div = |a: u64| match a.checked_rem(den) {
                Some(0) => a.checked_div(den).ok_or_else(inexact),
                _ => Err(inexact()),
            };
            let (sec, nsec) = match unit {
                HtUnit::Nanosecond => return Err(inexact()),
                HtUnit::Microsecond => (0, div(mul(num, 1000)?)?),
                HtUnit::Millisecond => (0, div(mul(num, 1_000_000)?)?),
                HtUnit::Second => (0, div(mul(num, NANOS)?)?),
                HtUnit::Minute => (0, div(mul(num, 60_000_000_000)?)?),
                HtUnit::Hour => (div(mul(num, 3600)?)?, 0),
                HtUnit::Day => (div(mul(num, 86400)?)?, 0),
                HtUnit::Week => (div(mul(num, 86400 * 7)?)?, 0),
                HtUnit::Month => (div(mul(num, 2_630_016)?)?, 0),
                HtUnit::Year => (div(mul(num, 31_557_600)?)?, 0),
            };
            self.add_current(sec, nsec, current).ok_or_else(ovf)?;
        }
        Ok(())
    }

    /// ```text
    /// let mut nsec = self.current.1.add(nsec)?;
    /// if nsec > 1_000_000_000 {
    ///     sec = sec.add(nsec / 1_000_000_000)?;
    ///     nsec %= 1_000_000_000;
    /// }
    /// sec = self.current.0.add(sec)?;
    /// ```
    /// 2.3 then stores `Duration::new(sec, nsec as u32)`, which carries a full second.
    fn add_current(&self, sec: u64, nsec: u64, current: &mut (u64, u64)) -> Option<()> {
        let mut sec = sec;
        let mut nsec = current.1.checked_add(nsec)?;
        if nsec > NANOS {
            sec = sec.checked_add(nsec / NANOS)?;
            nsec %= NANOS;
        }
        sec = current.0.checked_add(sec)?;
        *current = if self.v23 {
            normalize((sec, nsec))?
        } else {
            (sec, nsec)
        };
        Some(())
    }
}

/// `Duration::new(secs, nanos)`: carries whole seconds out of `nanos` (humantime would
/// panic where this returns None).
fn normalize((secs, nanos): (u64, u64)) -> Option<(u64, u64)> {
    let secs = secs.checked_add(nanos / NANOS)?;
    Some((secs, nanos % NANOS))
}

fn digit(c: char) -> u64 {
    c.to_digit(10).map_or(0, u64::from)
}

/// The humantime units, for help lines.
const HT_UNITS: &str = "ns, us, ms, s/sec/secs/second/seconds, m/min/mins/minute/minutes, \
                        h/hr/hrs/hour/hours, d/day/days, w/week/weeks, M/month/months, \
                        y/year/years";

fn humantime_error(s: &str, err: HtErr, v23: bool) -> UnitError {
    match err {
        HtErr::Empty => UnitError::new("a duration cannot be empty", 0..s.len())
            .with_help("write e.g. `30s`, `5m` or `1h`"),
        HtErr::NumberExpected(at) => {
            let c = char_at(s, at).unwrap_or(' ');
            let e = UnitError::new(
                format!("expected a number, found `{c}`"),
                span(at, c.len_utf8()),
            );
            match c {
                '-' => e.with_help("durations cannot be negative"),
                '+' => e.with_help("remove the `+`"),
                '.' => e.with_help("a number starts with a digit, e.g. `0.5h`"),
                c if c.is_alphabetic() => e.with_help(
                    "each unit needs its own number, e.g. `1h 30m`; units are written \
                     without spaces inside them (`msec`, not `m sec`)",
                ),
                _ => e,
            }
        }
        HtErr::InvalidCharacter(at) => {
            let c = char_at(s, at);
            let len = char_len_at(s, at);
            // 2.3, `1.` / `1.s`: the fraction has no digits.
            let digit_follows = s
                .get(at.saturating_add(len)..)
                .unwrap_or_default()
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit());
            if v23 && (c.is_none() || (c == Some('.') && !digit_follows)) {
                return UnitError::new("expected digits after `.`", span(at, len))
                    .with_help("write e.g. `1.5h`, or `1h` without the `.`");
            }
            let e = match c {
                Some(c) => UnitError::new(format!("unexpected character `{c}`"), span(at, len)),
                None => UnitError::new("unexpected end", at..at),
            };
            match c {
                Some('.') if v23 => e.with_help("a number has at most one `.`"),
                Some(',') | Some(';') => {
                    let fixed = s.replace([',', ';'], " ");
                    e.with_help(format!(
                        "separate the pieces with spaces, not commas: `{}`",
                        fixed.split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                }
                Some('.') => {
                    e.with_help("no fractions: use a smaller unit, e.g. `90m` for 1.5 hours")
                }
                Some('µ') => e.with_help("write `us` for microseconds"),
                Some('-') => e.with_help("durations cannot be negative"),
                Some('"') | Some('\'') => e.with_help("the duration itself has no quotes"),
                None => e.with_help("write e.g. `1.5h` or `1h`"),
                _ => e.with_help(format!("a duration is numbers with units: {HT_UNITS}")),
            }
        }
        HtErr::UnknownUnit { start, end, value } => {
            let unit = s.get(start..end).unwrap_or_default();
            if unit.is_empty() {
                // humantime: "time unit needed, for example {0}sec or {0}ms"
                let at = start.min(s.len());
                return UnitError::new(format!("time unit needed after {value}"), at..at)
                    .with_help(format!("write e.g. `{value}s` or `{value}ms`"));
            }
            let e = UnitError::new(format!("unknown time unit `{unit}`"), start..end);
            let lower = unit.to_lowercase();
            if lower != unit && ht_unit(&lower, false).is_some() {
                e.with_help(format!("units are case-sensitive: write `{value}{lower}`"))
            } else {
                e.with_help(format!("units: {HT_UNITS}"))
            }
        }
        HtErr::Overflow(range) => UnitError::new("the duration is too large", range),
        HtErr::Inexact(range, unit) => {
            let piece = s
                .get(range.clone())
                .unwrap_or_default()
                .trim_end()
                .to_string();
            let (what, help) = match unit {
                HtUnit::Nanosecond => (
                    "a fraction of a nanosecond",
                    "nanoseconds are whole numbers",
                ),
                HtUnit::Microsecond | HtUnit::Millisecond | HtUnit::Second | HtUnit::Minute => (
                    "not a whole number of nanoseconds",
                    "use fewer decimal places",
                ),
                _ => (
                    "not a whole number of seconds",
                    "humantime needs a fraction of h, d, w, M or y to come out in whole \
                     seconds: use a smaller unit, e.g. `20m` instead of `0.3333h`",
                ),
            };
            UnitError::new(format!("`{piece}` is {what}"), range).with_help(help)
        }
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
    use crate::units::test_util::{at, err};

    use HumantimeFlavor::{V2_2, V2_3};

    #[test]
    fn humantime_accepts_everywhere() {
        let cases: &[(&str, u64)] = &[
            ("1h 30m", 5_400_000),
            ("1h30m", 5_400_000),
            ("10 hours 5 minutes", 36_300_000),
            ("15 seconds", 15_000),
            ("2h 37min", 9_420_000),
            ("32ms", 32),
            ("1ns", 0),
            ("1000000ns", 1),
            ("1nsec 1nanos", 0),
            ("5us 5usec", 0),
            ("1msec 1millis 1ms", 3),
            ("1s 1sec 1secs 1second 2seconds", 6_000),
            ("1m 1min 1mins 1minute 2minutes", 360_000),
            ("1h 1hr 1hrs 1hour 2hours", 21_600_000),
            ("1d 1day 2days", 345_600_000),
            ("1w 1week 2weeks", 4 * 604_800_000),
            ("1M", 2_630_016_000),
            ("5 M", 5 * 2_630_016_000),
            ("1month 2months", 3 * 2_630_016_000),
            ("1y 1year 2years", 4 * 31_557_600_000),
            ("0s", 0),
            ("  1s  ", 1_000),
            ("1 0s", 10_000),
            ("1\u{a0}s", 1_000),
            ("90s", 90_000),
            ("20m", 1_200_000),
            ("24h", 86_400_000),
            ("7d", 604_800_000),
        ];
        for &(s, ms) in cases {
            assert_eq!(read_humantime(s, V2_2), Ok(ms), "2.2 {s:?}");
            assert_eq!(read_humantime(s, V2_3), Ok(ms), "2.3 {s:?}");
        }
    }

    #[test]
    fn humantime_rejects_everywhere() {
        for s in [
            "",
            "   ",
            "1 Hour",
            "1H",
            "1D",
            "-1h",
            "1h,30m",
            "1",
            "h",
            "1h h",
            "1 xs",
            "1.",
            ".5h",
            "1..5h",
            "1h-",
            "1h+1m",
            "18446744073709551616s",
            "18446744073709551615h",
            "1 m sec",
            "1 Seconds",
            "1 S",
            "0 ",
            " 0",
            "00",
            "1.5ns",
            "0.0001us",
        ] {
            assert!(read_humantime(s, V2_2).is_err(), "2.2 {s:?}");
            assert!(read_humantime(s, V2_3).is_err(), "2.3 {s:?}");
        }
    }

    #[test]
    fn humantime_2_3_only() {
        let cases: &[(&str, u64)] = &[
            ("1.5h", 5_400_000),
            ("0", 0),
            ("1wk", 604_800_000),
            ("2wks", 1_209_600_000),
            ("1yr", 31_557_600_000),
            ("2yrs", 63_115_200_000),
            ("3µs", 0),
            ("4.2s", 4_200),
            ("1. 5h", 5_400_000),
            ("0.5m", 30_000),
            ("31.1ms", 31),
        ];
        for &(s, ms) in cases {
            assert_eq!(read_humantime(s, V2_3), Ok(ms), "2.3 {s:?}");
            assert!(read_humantime(s, V2_2).is_err(), "2.2 {s:?}");
        }
        // 2.3: a fraction must be a whole number of seconds (h, d, ...) or nanoseconds.
        assert!(read_humantime("0.3333h", V2_3).is_err());
        assert!(read_humantime("0.000123456789s", V2_3).is_err());
    }

    #[test]
    fn humantime_errors() {
        let s = "1 Hour";
        let e = err(read_humantime(s, V2_2));
        assert_eq!(at(s, &e), "Hour");
        assert_eq!(
            e.help.as_deref(),
            Some("units are case-sensitive: write `1hour`")
        );

        let s = "1H";
        let e = err(read_humantime(s, V2_3));
        assert_eq!(at(s, &e), "H");
        assert_eq!(
            e.help.as_deref(),
            Some("units are case-sensitive: write `1h`")
        );

        let s = "-1h";
        let e = err(read_humantime(s, V2_2));
        assert_eq!(e.range, 0..1);
        assert!(e.help.as_deref().unwrap().contains("negative"));

        let s = "1h,30m";
        let e = err(read_humantime(s, V2_2));
        assert_eq!(at(s, &e), ",");
        assert!(e.help.as_deref().unwrap().contains("`1h 30m`"));

        let e = err(read_humantime("", V2_2));
        assert!(e.message.contains("empty"));

        // What 2.3 reads and 2.2 rejects: the 2.2 error, and the form 2.2 reads (the
        // release that reads it is `release.rs`'s to name).
        let s = "1.5h";
        let e = err(read_humantime(s, V2_2));
        assert_eq!(at(s, &e), ".");
        assert_eq!(only_v2_3_reads(s), Some(Some("90m".to_string())));
        let e = err(read_humantime("0", V2_2));
        assert!(e.message.contains("time unit needed"));
        assert_eq!(only_v2_3_reads("0"), Some(Some("0s".to_string())));
        assert_eq!(only_v2_3_reads("1.5ns"), None, "2.3 rejects it too");
        assert_eq!(only_v2_3_reads("3µs"), Some(None), "no whole milliseconds");
        assert_eq!(only_v2_3_reads("90m"), None, "2.2 reads it");

        let s = "90";
        let e = err(read_humantime(s, V2_3));
        assert_eq!(e.range, 2..2);
        assert!(e.help.as_deref().unwrap().contains("`90s`"));

        let s = "1 xs";
        let e = err(read_humantime(s, V2_3));
        assert_eq!(at(s, &e), "xs");

        let s = "0.3333h";
        let e = err(read_humantime(s, V2_3));
        assert!(
            e.message.contains("not a whole number of seconds"),
            "{}",
            e.message
        );
        assert_eq!(at(s, &e), "0.3333h");
        let e = err(read_humantime("1.5ns", V2_3));
        assert!(e.message.contains("fraction of a nanosecond"));
        for s in ["1.", "1.s", "1. "] {
            let e = err(read_humantime(s, V2_3));
            assert_eq!(e.message, "expected digits after `.`", "{s:?}");
        }
        let s = "1..5h";
        let e = err(read_humantime(s, V2_3));
        assert_eq!(e.range, 1..2);
        assert_eq!(e.message, "expected digits after `.`");
        let s = "1.5.5h";
        let e = err(read_humantime(s, V2_3));
        assert_eq!(e.range, 3..4);
        assert_eq!(e.help.as_deref(), Some("a number has at most one `.`"));

        let s = "1s 99999999999999999999s";
        let e = err(read_humantime(s, V2_3));
        assert!(e.message.contains("too large"));
        assert!(at(s, &e).starts_with("9999"));
    }
}
