//! kumoc's duration literals (`90s`, `1h30m`, `24h`): stricter than humantime, and written
//! back ([`format_duration`]) in a form every KumoMTA release reads.

use super::{UnitError, char_at, span};

/// The units of a kumoc duration literal, in milliseconds.
fn literal_unit_ms(unit: &str) -> Option<u64> {
    match unit {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" => Some(60_000),
        "h" => Some(3_600_000),
        "d" => Some(86_400_000),
        "w" => Some(604_800_000),
        _ => None,
    }
}

const LITERAL_UNITS: &str = "ms, s (seconds), m (minutes), h (hours), d (days), w (weeks)";

/// kumoc's own duration literal (written bare in .kumo, e.g. `24h`, `20m`, `90s`, `1h30m`,
/// `500ms`, `7d`, `2w`): one or more `<digits><unit>` pieces with no spaces, units
/// ms|s|m|h|d|w only, digits may contain `_` (between digits). Result in milliseconds.
pub fn parse_duration_literal(raw: &str) -> Result<u64, UnitError> {
    if raw.is_empty() {
        return Err(UnitError::new("a duration cannot be empty", 0..0)
            .with_help("write e.g. `30s`, `20m`, `24h` or `7d`"));
    }
    let bytes = raw.as_bytes();
    let mut pos = 0usize;
    let mut total: u64 = 0;
    while pos < raw.len() {
        let piece_start = pos;
        // The number.
        let digits_len = raw
            .get(pos..)
            .unwrap_or_default()
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'_')
            .count();
        let num_text = raw
            .get(pos..pos.saturating_add(digits_len))
            .unwrap_or_default();
        if num_text.is_empty() || num_text.starts_with('_') {
            let c = char_at(raw, pos).unwrap_or(' ');
            let e = UnitError::new(
                format!("expected a number, found `{c}`"),
                span(pos, c.len_utf8()),
            );
            return Err(match c {
                '-' => e.with_help("durations cannot be negative"),
                c if c.is_whitespace() => e.with_help(format!(
                    "no spaces inside a duration: write `{}`",
                    raw.split_whitespace().collect::<String>()
                )),
                ',' => e.with_help(format!(
                    "no commas between pieces: write `{}`",
                    raw.replace(',', "")
                )),
                '.' => e.with_help("a number starts with a digit"),
                c if c.is_alphabetic() => {
                    e.with_help(format!("a duration starts with a number, e.g. `1{c}`"))
                }
                _ => e,
            });
        }
        pos = pos.saturating_add(digits_len);
        if num_text.ends_with('_') || num_text.as_bytes().windows(2).any(|w| w == b"__") {
            let fixed: String = num_text.chars().filter(|&c| c != '_').collect();
            return Err(UnitError::new(
                "`_` may only separate digits",
                span(piece_start, num_text.len()),
            )
            .with_help(format!("write `{fixed}`")));
        }
        // Digits without `_` (nearly always) are parsed without a copy.
        let parsed = if num_text.contains('_') {
            let clean: String = num_text.chars().filter(|&c| c != '_').collect();
            clean.parse::<u64>()
        } else {
            num_text.parse::<u64>()
        };
        let Ok(n) = parsed else {
            return Err(UnitError::new(
                "the duration is too large",
                span(piece_start, num_text.len()),
            ));
        };

        // A fraction: suggest the exact whole-number form when there is one.
        if bytes.get(pos) == Some(&b'.') {
            let frac_len = raw
                .get(pos.saturating_add(1)..)
                .unwrap_or_default()
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let unit_at = pos.saturating_add(1).saturating_add(frac_len);
            let unit_len = raw
                .get(unit_at..)
                .unwrap_or_default()
                .chars()
                .take_while(|c| c.is_alphabetic())
                .map(char::len_utf8)
                .sum::<usize>();
            let frac = raw.get(pos.saturating_add(1)..unit_at).unwrap_or_default();
            let unit = raw
                .get(unit_at..unit_at.saturating_add(unit_len))
                .unwrap_or_default();
            let e = UnitError::new(
                "fractions are not allowed in a duration",
                span(
                    piece_start,
                    unit_at.saturating_add(unit_len).saturating_sub(piece_start),
                ),
            );
            let exact = literal_unit_ms(unit).and_then(|ms| exact_fraction(n, frac, ms));
            return Err(match exact {
                Some(ms) if ms > 0 => {
                    let piece = format_duration(ms);
                    let e = e.with_help(format!("write `{piece}`"));
                    // The whole literal with this piece rewritten, when it then reads.
                    let rest = raw
                        .get(unit_at.saturating_add(unit_len)..)
                        .unwrap_or_default();
                    let whole = format!(
                        "{}{piece}{rest}",
                        raw.get(..piece_start).unwrap_or_default()
                    );
                    if parse_duration_literal(&whole).is_ok() {
                        e.with_suggestion(whole)
                    } else {
                        e
                    }
                }
                _ => e.with_help("use a smaller unit, e.g. `90m` instead of `1.5h`"),
            });
        }

        // The unit.
        let unit_len = raw
            .get(pos..)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum::<usize>();
        let unit = raw
            .get(pos..pos.saturating_add(unit_len))
            .unwrap_or_default();
        if unit.is_empty() {
            let at = pos;
            return Err(match char_at(raw, at) {
                None => UnitError::new(format!("missing unit after `{num_text}`"), at..at)
                    .with_help(format!(
                        "write e.g. `{num_text}s` (seconds), `{num_text}m` (minutes) or \
                         `{num_text}h` (hours); units: {LITERAL_UNITS}"
                    )),
                Some(c) if c.is_whitespace() => {
                    UnitError::new("no spaces inside a duration", span(at, c.len_utf8())).with_help(
                        format!("write `{}`", raw.split_whitespace().collect::<String>()),
                    )
                }
                Some(c) => UnitError::new(
                    format!("unexpected character `{c}`"),
                    span(at, c.len_utf8()),
                )
                .with_help(format!(
                    "a duration is `<number><unit>`, units: {LITERAL_UNITS}"
                )),
            });
        }
        let Some(unit_ms) = literal_unit_ms(unit) else {
            let e = UnitError::new(
                format!("unknown duration unit `{unit}`"),
                span(pos, unit.len()),
            )
            .with_help(literal_unit_help(num_text, unit));
            // `2hours`, `10sec`: the whole literal with the unit spelled as kumoc does.
            let fixed = literal_unit_canonical(unit).map(|c| {
                format!(
                    "{}{c}{}",
                    raw.get(..pos).unwrap_or_default(),
                    raw.get(pos.saturating_add(unit_len)..).unwrap_or_default()
                )
            });
            return Err(match fixed {
                Some(f) if parse_duration_literal(&f).is_ok() => e.with_suggestion(f),
                _ => e,
            });
        };
        pos = pos.saturating_add(unit_len);
        let Some(sum) = n
            .checked_mul(unit_ms)
            .and_then(|piece| total.checked_add(piece))
        else {
            return Err(UnitError::new(
                "the duration is too large",
                piece_start..pos,
            ));
        };
        total = sum;
    }
    Ok(total)
}

/// `n.frac` units of `unit_ms` ms, when that is a whole number of milliseconds.
fn exact_fraction(n: u64, frac: &str, unit_ms: u64) -> Option<u64> {
    if frac.is_empty() {
        return None;
    }
    let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let f: u128 = frac.parse().ok()?;
    let num = u128::from(n)
        .checked_mul(scale)?
        .checked_add(f)?
        .checked_mul(u128::from(unit_ms))?;
    if num.checked_rem(scale)? != 0 {
        return None;
    }
    u64::try_from(num.checked_div(scale)?).ok()
}

/// A duration unit spelled another way than kumoc's (`hours`, `sec`, `H`): kumoc's spelling.
fn literal_unit_canonical(unit: &str) -> Option<&'static str> {
    match unit {
        "sec" | "secs" | "second" | "seconds" | "S" => Some("s"),
        "min" | "mins" | "minute" | "minutes" => Some("m"),
        "hr" | "hrs" | "hour" | "hours" | "H" => Some("h"),
        "day" | "days" | "D" => Some("d"),
        "wk" | "wks" | "week" | "weeks" | "W" => Some("w"),
        "msec" | "millis" | "MS" | "Ms" => Some("ms"),
        _ => None,
    }
}

fn literal_unit_help(num: &str, unit: &str) -> String {
    if let Some(c) = literal_unit_canonical(unit) {
        return format!("write `{num}{c}`");
    }
    match unit {
        "M" | "mo" | "mon" | "mos" | "month" | "months" | "y" | "yr" | "yrs" | "year" | "years"
        | "Y" => "months and years are not fixed lengths (KumoMTA counts a month \
                            as 30.44 days and a year as 365.25 days): write days instead, \
                            e.g. `30d` or `365d`"
            .to_string(),
        "ns" | "us" | "µs" | "nsec" | "usec" | "nanos" => {
            "the smallest unit is the millisecond (`ms`)".to_string()
        }
        _ => format!("units: {LITERAL_UNITS}"),
    }
}

/// Render milliseconds in the safe form KumoMTA parses in every version: the largest of
/// d/h/m/s that divides exactly, e.g. 86_400_000 -> "1d", 90_000 -> "90s",
/// 1_200_000 -> "20m"; sub-second values -> "<n>ms"; 0 -> "0s".
pub fn format_duration(ms: u64) -> String {
    let mut out = String::new();
    write_duration(&mut out, ms);
    out
}

/// [`format_duration`], appended to `out` (no `String` of its own, no formatter).
pub fn write_duration(out: &mut String, ms: u64) {
    if ms == 0 {
        return out.push_str("0s");
    }
    if !ms.is_multiple_of(1000) {
        super::push_decimal(out, ms);
        return out.push_str("ms");
    }
    let secs = ms / 1000;
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60)] {
        if let (true, Some(k)) = (secs.is_multiple_of(size), secs.checked_div(size)) {
            super::push_decimal(out, k);
            return out.push_str(unit);
        }
    }
    super::push_decimal(out, secs);
    out.push('s');
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
    use crate::units::parse_humantime;
    use crate::units::test_util::{at, err};

    /// The direct writer gives the text of the formatter's `{n}{unit}` forms.
    #[test]
    fn write_duration_matches_the_formatted_forms() {
        let slow = |ms: u64| -> String {
            if ms == 0 {
                return "0s".to_string();
            }
            if !ms.is_multiple_of(1000) {
                return format!("{ms}ms");
            }
            let secs = ms / 1000;
            for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60)] {
                if secs.is_multiple_of(size) {
                    return format!("{}{unit}", secs / size);
                }
            }
            format!("{secs}s")
        };
        for ms in [
            0,
            1,
            999,
            1000,
            1001,
            59_000,
            60_000,
            90_000,
            3_600_000,
            5_400_000,
            86_400_000,
            172_800_000,
            u64::MAX,
            u64::MAX / 1000 * 1000,
        ] {
            assert_eq!(format_duration(ms), slow(ms), "{ms}");
            let mut out = String::from("x");
            write_duration(&mut out, ms);
            assert_eq!(out, format!("x{}", slow(ms)), "{ms}");
        }
        for n in [0, 1, 9, 10, 99, 100, 1234567890, u64::MAX] {
            let mut out = String::new();
            crate::units::push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn duration_literals() {
        let cases: &[(&str, u64)] = &[
            ("24h", 86_400_000),
            ("20m", 1_200_000),
            ("90s", 90_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("7d", 604_800_000),
            ("2w", 1_209_600_000),
            ("0s", 0),
            ("1_000ms", 1_000),
            ("1d12h", 129_600_000),
            ("1s500ms", 1_500),
        ];
        for &(s, ms) in cases {
            assert_eq!(parse_duration_literal(s), Ok(ms), "{s}");
        }
        for s in [
            "",
            "1",
            "h",
            "1 h",
            "1h 30m",
            "1h,30m",
            "-1h",
            "1.5h",
            "1M",
            "1y",
            "1mo",
            "1hour",
            "1H",
            "1_h",
            "_1h",
            "1__0s",
            "99999999999999999999s",
            "18446744073709552w",
            "1ns",
            "1h30",
        ] {
            assert!(parse_duration_literal(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn duration_literal_errors() {
        let s = "1h30x";
        let e = err(parse_duration_literal(s));
        assert_eq!(at(s, &e), "x");
        assert!(e.help.as_deref().unwrap().contains("ms, s"));

        let s = "3M";
        let e = err(parse_duration_literal(s));
        assert_eq!(at(s, &e), "M");
        assert!(e.help.as_deref().unwrap().contains("not fixed lengths"));
        for unit in ["mo", "y", "years", "month"] {
            let e = err(parse_duration_literal(&format!("1{unit}")));
            assert!(
                e.help.as_deref().unwrap().contains("not fixed lengths"),
                "{unit}"
            );
        }

        let s = "90";
        let e = err(parse_duration_literal(s));
        assert!(e.message.contains("missing unit"));
        assert_eq!(e.range, 2..2);
        assert!(e.help.as_deref().unwrap().contains("`90s`"));

        let s = "1h30";
        let e = err(parse_duration_literal(s));
        assert_eq!(e.range, 4..4);

        let s = "5hours";
        let e = err(parse_duration_literal(s));
        assert_eq!(e.help.as_deref(), Some("write `5h`"));

        let s = "1.5h";
        let e = err(parse_duration_literal(s));
        assert_eq!(e.help.as_deref(), Some("write `90m`"));
        assert_eq!(at(s, &e), "1.5h");

        let s = "1h 30m";
        let e = err(parse_duration_literal(s));
        assert_eq!(e.range, 2..3);
        assert_eq!(
            e.help.as_deref(),
            Some("no spaces inside a duration: write `1h30m`")
        );

        let s = "1s99999999999999999999s";
        let e = err(parse_duration_literal(s));
        assert!(e.message.contains("too large"));
        assert_eq!(at(s, &e), "99999999999999999999");

        let s = "1w18446744073709551s";
        let e = err(parse_duration_literal(s));
        assert!(e.message.contains("too large"));
        assert_eq!(at(s, &e), "18446744073709551s");
    }

    #[test]
    fn format_durations() {
        assert_eq!(format_duration(86_400_000), "1d");
        assert_eq!(format_duration(90_000), "90s");
        assert_eq!(format_duration(1_200_000), "20m");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(500), "500ms");
        assert_eq!(format_duration(1_500), "1500ms");
        assert_eq!(format_duration(3_600_000), "1h");
        assert_eq!(format_duration(5_400_000), "90m");
        assert_eq!(format_duration(604_800_000), "7d");
        assert_eq!(format_duration(u64::MAX), format!("{}ms", u64::MAX));
        // The safe form reads back the same in kumoc and in every humantime.
        for ms in [
            0,
            1,
            999,
            1_000,
            59_000,
            60_000,
            90_000,
            3_600_000,
            86_400_000,
            1_234_567_000,
            u64::MAX / 1000 * 1000,
        ] {
            let s = format_duration(ms);
            assert_eq!(parse_duration_literal(&s), Ok(ms), "{s}");
            assert_eq!(parse_humantime(&s, V2_2), Ok(ms), "{s}");
            assert_eq!(parse_humantime(&s, V2_3), Ok(ms), "{s}");
        }
    }

    /// A duration literal's suggestion is the same duration; where the writer's meaning is
    /// not evident there is none.
    #[test]
    fn suggestions_are_faithful() {
        for (s, fixed) in [
            ("1.5h", Some("90m")),
            ("1h1.5m", Some("1h90s")),
            ("2hours", Some("2h")),
            ("10sec", Some("10s")),
            ("1hour30min", None), // one piece at a time: the help names the first
            ("24H", Some("24h")),
            ("5M", None),
            ("1.33h", Some("4788s")),
            ("0.333333333h", None),
        ] {
            let e = err(parse_duration_literal(s));
            assert_eq!(e.suggestion.as_deref(), fixed, "{s:?}");
            if let Some(f) = fixed {
                let meant = parse_humantime(&s.to_lowercase(), V2_3).unwrap();
                assert_eq!(parse_duration_literal(f).ok(), Some(meant), "{s:?}");
            }
        }
    }
}
