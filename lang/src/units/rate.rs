//! Rates: KumoMTA's ThrottleSpec (`100/h`, `local:10/s,max_burst=5`), accepted and rejected
//! exactly as `KumoCorp/kumomta crates/throttle/src/lib.rs` does.

use std::fmt;
use std::ops::Range;

use super::count::{count_error, parse_separated_number};
use super::{UnitError, first_whitespace, gcd, span};

/// A KumoMTA ThrottleSpec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// `local:` prefix (`force_local`): the throttle stays process-local even with Redis.
    pub local: bool,
    /// How many per period.
    pub limit: u64,
    /// The period, in seconds.
    pub period_secs: u64,
    /// `,max_burst=N`; KumoMTA uses `limit` when absent.
    pub max_burst: Option<u64>,
}

impl Rate {
    /// The average rate, per second.
    pub fn per_second(&self) -> f64 {
        // u64 -> f64 is lossy above 2^53, which is fine for a rate.
        #[allow(clippy::cast_precision_loss)]
        let (limit, period) = (self.limit as f64, self.period_secs as f64);
        limit / period
    }

    /// The burst KumoMTA applies (`ThrottleSpec::burst`: `max_burst.unwrap_or(limit)`).
    pub fn effective_burst(&self) -> u64 {
        self.max_burst.unwrap_or(self.limit)
    }

    /// KumoMTA's canonical form, e.g. "100/s", "local:10/h", "100/7380s",
    /// "500/d,max_burst=1" (",max_burst=N" only when Some).
    ///
    /// Copied from KumoMTA `ThrottleSpec::as_string`:
    /// ```text
    /// let period = match self.period {
    ///     86400 => "d", 3600 => "h", 60 => "m", 1 => "s",
    ///     other => { period_scale.replace(other.to_string()); "s" }
    /// };
    /// let burst = match self.max_burst { Some(b) => format!(",max_burst={b}"), None => String::new() };
    /// format!("{}{}/{}{period}{burst}", if self.force_local { "local:" } else { "" }, self.limit, ...)
    /// ```
    pub fn to_kumo(&self) -> String {
        let mut out = String::new();
        self.write_kumo(&mut out);
        out
    }

    /// [`Self::to_kumo`], appended to `out` (no `String` of its own, no formatter).
    pub fn write_kumo(&self, out: &mut String) {
        if self.local {
            out.push_str("local:");
        }
        super::push_decimal(out, self.limit);
        out.push('/');
        match self.period_secs {
            86400 => out.push('d'),
            3600 => out.push('h'),
            60 => out.push('m'),
            1 => out.push('s'),
            other => {
                super::push_decimal(out, other);
                out.push('s');
            }
        }
        if let Some(b) = self.max_burst {
            out.push_str(",max_burst=");
            super::push_decimal(out, b);
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kumo())
    }
}

const MAX_BURST: &str = ",max_burst=";

/// The period units of `ThrottleSpec::try_from`:
/// ```text
/// let period = match period {
///     "h" | "hr" | "hour" => 3600,
///     "m" | "min" | "minute" => 60,
///     "s" | "sec" | "second" => 1,
///     "d" | "day" => 86400,
///     invalid => return Err(format!("unknown period quantity {invalid}")),
/// } * period_scale;
/// ```
fn rate_unit_secs(unit: &str) -> Option<u64> {
    match unit {
        "h" | "hr" | "hour" => Some(3600),
        "m" | "min" | "minute" => Some(60),
        "s" | "sec" | "second" => Some(1),
        "d" | "day" => Some(86400),
        _ => None,
    }
}

/// The shortest period text for `secs` seconds: the largest of d/h/m/s that divides it,
/// without a multiplier of 1 ("h", "5m", "7s").
fn period_text(secs: u64) -> String {
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60)] {
        if let (true, Some(k)) = (secs.is_multiple_of(size), secs.checked_div(size)) {
            return if k == 1 {
                unit.to_string()
            } else {
                format!("{k}{unit}")
            };
        }
    }
    if secs == 1 {
        "s".to_string()
    } else {
        format!("{secs}s")
    }
}

/// Parse exactly as KumoMTA's ThrottleSpec parser would (same accept/reject set).
///
/// The structure follows KumoMTA `impl TryFrom<&str> for ThrottleSpec`
/// (`crates/throttle/src/lib.rs`), step by step:
/// 1. `s.strip_prefix("local:")`;
/// 2. `s.split_once(",max_burst=")`, the burst parsed by `parse_separated_number`;
/// 3. `s.split_once("/")` into limit and period;
/// 4. `opt_digit_prefix(period)`: optional ASCII digits (the multiplier, default 1); a period
///    that is only digits (or empty) is `invalid period quantity`;
/// 5. the unit, matched exactly (see [`rate_unit_secs`]);
/// 6. the limit by `parse_separated_number`, and `limit == 0` is rejected.
///
/// Two deliberate differences, both stricter: a multiplier of `0` (`"100/0s"`, which KumoMTA
/// accepts as a zero period) and a multiplier so large that `unit * multiplier` overflows
/// (which KumoMTA's release build silently wraps) are errors here.
pub fn parse_rate(s: &str) -> Result<Rate, UnitError> {
    if s.is_empty() {
        return Err(UnitError::new("a rate cannot be empty", 0..0)
            .with_help("write e.g. `100/h` (100 per hour) or `10/s`"));
    }
    // No piece below trims: the limit and the burst go to `u64::from_str` and the unit is
    // matched exactly, so whitespace anywhere is rejected by KumoMTA.
    if let Some(range) = first_whitespace(s) {
        let fixed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let e = UnitError::new("a rate cannot contain whitespace", range);
        return Err(if !fixed.is_empty() && parse_rate(&fixed).is_ok() {
            e.suggest(fixed)
        } else {
            e.with_help("KumoMTA's rate parser allows no spaces anywhere, e.g. `100/h`")
        });
    }

    // 1. `let (force_local, s) = match s.strip_prefix("local:") { ... }`
    let (local, rest) = match s.strip_prefix("local:") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let base = s.len().saturating_sub(rest.len());
    let prefix = if local { "local:" } else { "" };

    // 2. `s.split_once(",max_burst=")`: the first occurrence; everything after it is the burst.
    // (Found from its `,`: a substring search would cost more than the whole rate.)
    // (A rate is a few bytes: they are compared in a plain loop here and for the `/`
    // below, where `match_indices` and `split_once` set up a `memchr` search each.)
    let burst_at = rest
        .bytes()
        .enumerate()
        .filter(|&(_, c)| c == b',')
        .map(|(i, _)| i)
        .find(|&i| rest.get(i..).is_some_and(|r| r.starts_with(MAX_BURST)));
    let (body, burst_text) = match burst_at.and_then(|i| rest.split_at_checked(i)) {
        Some((body, burst)) => (body, burst.get(MAX_BURST.len()..)),
        None => (rest, None),
    };

    // 3. `s.split_once("/")`
    let slash = body.bytes().position(|c| c == b'/');
    let split = slash.and_then(|i| Some((body.get(..i)?, body.get(i..)?.get(1..)?)));
    let Some((limit_text, period_all)) = split else {
        let mut e = UnitError::new(
            format!("expected `limit/period`, got `{body}`"),
            span(base, body.len()),
        );
        e = if parse_separated_number(body).is_ok() {
            e.with_help(format!(
                "a rate needs a period: write `{prefix}{body}/s`, `{prefix}{body}/m`, \
                 `{prefix}{body}/h` or `{prefix}{body}/d`"
            ))
        } else {
            e.with_help("a rate is a count per period, e.g. `100/h` or `local:10/s`")
        };
        return Err(e);
    };
    let period_off = base.saturating_add(limit_text.len()).saturating_add(1);

    // 4. `opt_digit_prefix(period)`: ASCII digits (`c.is_ascii_digit()`), then the unit.
    let digits = period_all.bytes().take_while(u8::is_ascii_digit).count();
    let (mult_text, unit) = period_all
        .split_at_checked(digits)
        .unwrap_or((period_all, ""));
    // The whole rate with another period (the same length of time), when it parses: the
    // suggestion for a period written another way.
    let burst_suffix = burst_text.map_or(String::new(), |b| format!("{MAX_BURST}{b}"));
    let with_period = |e: UnitError, period: &str| {
        let fixed = format!("{prefix}{limit_text}/{period}{burst_suffix}");
        if parse_rate(&fixed).is_ok() {
            e.with_suggestion(fixed)
        } else {
            e
        }
    };
    if unit.is_empty() {
        // KumoMTA: `Err(format!("invalid period quantity {s}"))`
        let e = bare_period_error(
            prefix,
            limit_text,
            mult_text,
            span(period_off, period_all.len()),
        );
        return Err(match mult_text.parse::<u64>() {
            Ok(secs) if secs > 0 => with_period(e, &period_text(secs)),
            _ => e,
        });
    }
    let mult = if mult_text.is_empty() {
        1
    } else {
        // `checked_mul(10).and_then(|n| n.checked_add(digit)).ok_or_else(|| "number too big")`
        match mult_text.parse::<u64>() {
            Ok(m) => m,
            Err(_) => {
                return Err(UnitError::new(
                    format!("the period multiplier `{mult_text}` is too large"),
                    span(period_off, mult_text.len()),
                ));
            }
        }
    };
    let unit_off = period_off.saturating_add(mult_text.len());

    // 5. the unit
    let Some(unit_secs) = rate_unit_secs(unit) else {
        let e = UnitError::new(
            format!("unknown period unit `{unit}`"),
            span(unit_off, unit.len()),
        )
        .with_help(rate_unit_help(prefix, limit_text, mult_text, mult, unit));
        // Plurals, capitals and weeks name a period exactly.
        let lower = unit.to_ascii_lowercase();
        let same = match lower.as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Some(1u64),
            "m" | "min" | "mins" | "minute" | "minutes" => Some(60),
            "h" | "hr" | "hrs" | "hour" | "hours" => Some(3600),
            "d" | "day" | "days" => Some(86_400),
            "w" | "wk" | "wks" | "week" | "weeks" => Some(604_800),
            _ => None,
        };
        return Err(
            match same
                .and_then(|secs| secs.checked_mul(mult))
                .filter(|s| *s > 0)
            {
                Some(secs) => with_period(e, &period_text(secs)),
                None => e,
            },
        );
    };
    if mult == 0 {
        // Deliberately stricter than KumoMTA, which builds a throttle with a zero period.
        return Err(UnitError::new(
            "the period must be longer than 0",
            span(period_off, mult_text.len()),
        )
        .with_help(format!("write e.g. `{prefix}{limit_text}/{unit}`")));
    }
    let Some(period_secs) = unit_secs.checked_mul(mult) else {
        // Deliberately stricter than KumoMTA, whose `} * period_scale;` wraps in release builds.
        return Err(UnitError::new(
            format!("the period `{period_all}` is too long"),
            span(period_off, period_all.len()),
        ));
    };

    // 6. the limit
    let limit = match parse_separated_number(limit_text) {
        Ok(n) => n,
        Err(err) => {
            let e = count_error(err, limit_text, base, "limit");
            return Err(match decimal_limit_help(prefix, limit_text, period_secs) {
                Some(help) => e.with_help(help),
                None => e,
            });
        }
    };
    if limit == 0 {
        // KumoMTA: "invalid ThrottleSpec `{s}`: limit must be greater than 0!"
        return Err(UnitError::new(
            "the limit of a rate must be greater than 0",
            span(base, limit_text.len()),
        )
        .with_help("to stop sending, use a suspension instead of a zero rate"));
    }

    // The burst (parsed first by KumoMTA; the order of checks does not change what is accepted).
    let max_burst = match burst_text {
        None => None,
        Some(text) => {
            let off = base
                .saturating_add(body.len())
                .saturating_add(MAX_BURST.len());
            match parse_separated_number(text) {
                Ok(n) => Some(n),
                Err(err) => {
                    let e = count_error(err, text, off, "max_burst");
                    return Err(if text.contains(MAX_BURST) {
                        e.with_help("`,max_burst=` may appear only once")
                    } else {
                        e
                    });
                }
            }
        }
    };

    Ok(Rate {
        local,
        limit,
        period_secs,
        max_burst,
    })
}

/// `1000/3600`, `100/`: the period has no unit. KumoMTA: `invalid period quantity 3600`.
fn bare_period_error(prefix: &str, limit: &str, digits: &str, range: Range<usize>) -> UnitError {
    let shown = if limit.is_empty() { "N" } else { limit };
    if digits.is_empty() {
        return UnitError::new("missing period after `/`", range).with_help(format!(
            "write `{prefix}{shown}/s`, `{prefix}{shown}/m`, `{prefix}{shown}/h` or \
             `{prefix}{shown}/d`"
        ));
    }
    let e = UnitError::new(
        format!("invalid period quantity {digits}: a period needs a unit"),
        range,
    );
    match digits.parse::<u64>() {
        Ok(secs) if secs > 0 => e.with_help(format!(
            "a period is a unit, optionally with a multiplier: write `{prefix}{shown}/{}` ({secs} s)",
            period_text(secs)
        )),
        _ => e.with_help("a period is a unit (s, m, h, d), optionally with a multiplier, e.g. `5m`"),
    }
}

/// Help for an unknown period unit: plurals, case, weeks, milliseconds.
fn rate_unit_help(prefix: &str, limit: &str, mult_text: &str, mult: u64, unit: &str) -> String {
    let shown = if limit.is_empty() { "N" } else { limit };
    if unit.contains("max_burst") || unit.contains("burst") {
        return format!(
            "a burst is written `,max_burst=N` directly after the period, e.g. \
             `{prefix}{shown}/{mult_text}s,max_burst=10`"
        );
    }
    let lower = unit.to_ascii_lowercase();
    let canonical = match lower.as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => Some("s"),
        "m" | "min" | "mins" | "minute" | "minutes" => Some("m"),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some("h"),
        "d" | "day" | "days" => Some("d"),
        _ => None,
    };
    if let Some(canonical) = canonical {
        let fixed = format!("{prefix}{limit}/{mult_text}{canonical}");
        let why = if lower == unit {
            "no plurals"
        } else {
            "units are lowercase"
        };
        return format!("{why}: write `{fixed}`");
    }
    if matches!(lower.as_str(), "w" | "wk" | "wks" | "week" | "weeks")
        && let Some(days) = mult.checked_mul(7)
    {
        return format!("there is no week unit: write `{prefix}{limit}/{days}d`");
    }
    if matches!(lower.as_str(), "ms" | "msec" | "millis") {
        // limit per `mult` ms == limit*1000 per `mult` s
        if let (Ok(n), true) = (parse_separated_number(limit), mult > 0) {
            let num = u128::from(n).saturating_mul(1000);
            let den = u128::from(mult);
            let g = gcd(num, den).max(1);
            if let (Some(Ok(l)), Some(Ok(p))) = (
                num.checked_div(g).map(u64::try_from),
                den.checked_div(g).map(u64::try_from),
            ) {
                return format!(
                    "the shortest period unit is the second: write `{prefix}{l}/{}`",
                    period_text(p)
                );
            }
        }
        return "the shortest period unit is the second (`s`)".to_string();
    }
    "the period unit is one of s, sec, second, m, min, minute, h, hr, hour, d, day \
     (lowercase, singular), optionally after a multiplier such as `5m`"
        .to_string()
}

/// `1.5/s` -> "write `3/2s`": a decimal limit rewritten as a whole number over a longer period.
fn decimal_limit_help(prefix: &str, limit: &str, period_secs: u64) -> Option<String> {
    let (int, frac) = limit.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u128 = frac.parse().ok()?;
    let num = int_v.checked_mul(scale)?.checked_add(frac_v)?;
    if num == 0 {
        return None;
    }
    let den = scale.checked_mul(u128::from(period_secs))?;
    let g = gcd(num, den).max(1);
    let rate = Rate {
        local: !prefix.is_empty(),
        limit: u64::try_from(num.checked_div(g)?).ok()?,
        period_secs: u64::try_from(den.checked_div(g)?).ok()?,
        max_burst: None,
    };
    Some(format!(
        "the limit is a whole number; scale the period instead: write `{prefix}{}/{}`",
        rate.limit,
        period_text(rate.period_secs)
    ))
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

    fn rate(local: bool, limit: u64, period_secs: u64, max_burst: Option<u64>) -> Rate {
        Rate {
            local,
            limit,
            period_secs,
            max_burst,
        }
    }

    /// The direct writer spells a rate as KumoMTA's `ThrottleSpec::as_string` (quoted in
    /// `to_kumo`'s documentation) does, through the formatter.
    #[test]
    fn write_kumo_is_kumomtas_as_string() {
        for local in [false, true] {
            for limit in [0, 1, 9, 10, 100, 12_345, u64::MAX] {
                for period in [1, 7, 60, 61, 3600, 7380, 86400, u64::MAX] {
                    for burst in [None, Some(0), Some(1), Some(500), Some(u64::MAX)] {
                        let r = rate(local, limit, period, burst);
                        let period_text = match period {
                            86400 => "d".to_string(),
                            3600 => "h".to_string(),
                            60 => "m".to_string(),
                            1 => "s".to_string(),
                            other => format!("{other}s"),
                        };
                        let burst_text = burst.map_or(String::new(), |b| format!(",max_burst={b}"));
                        let want = format!(
                            "{}{limit}/{period_text}{burst_text}",
                            if local { "local:" } else { "" }
                        );
                        assert_eq!(r.to_kumo(), want);
                        let mut out = String::from("x");
                        r.write_kumo(&mut out);
                        assert_eq!(out, format!("x{want}"));
                    }
                }
            }
        }
    }

    #[test]
    fn rate_accepts_kumomta_examples() {
        let cases = [
            ("100/s", rate(false, 100, 1, None)),
            ("10/min", rate(false, 10, 60, None)),
            ("1/minute", rate(false, 1, 60, None)),
            ("10000/h", rate(false, 10000, 3600, None)),
            ("2/hr", rate(false, 2, 3600, None)),
            ("100/hour", rate(false, 100, 3600, None)),
            ("100/5m", rate(false, 100, 300, None)),
            ("1,000/hr", rate(false, 1000, 3600, None)),
            ("1_000/hour", rate(false, 1000, 3600, None)),
            ("1_0,0/hour", rate(false, 100, 3600, None)),
            ("500/d,max_burst=1", rate(false, 500, 86400, Some(1))),
            ("50/day,max_burst=1", rate(false, 50, 86400, Some(1))),
            ("local:10/s", rate(true, 10, 1, None)),
            ("local:100/hr", rate(true, 100, 3600, None)),
            ("local:100/123m", rate(true, 100, 7380, None)),
            ("5/sec", rate(false, 5, 1, None)),
            ("5/second", rate(false, 5, 1, None)),
            ("5/m", rate(false, 5, 60, None)),
            ("7/2d", rate(false, 7, 172800, None)),
            ("100/1h", rate(false, 100, 3600, None)),
            ("100/05m", rate(false, 100, 300, None)),
            // u64::from_str takes a leading `+`; the separators go anywhere.
            ("+100/s", rate(false, 100, 1, None)),
            ("_100_/s", rate(false, 100, 1, None)),
            ("100/s,max_burst=1_000", rate(false, 100, 1, Some(1000))),
            // max_burst=0 is accepted by KumoMTA (no check on the burst).
            ("100/s,max_burst=0", rate(false, 100, 1, Some(0))),
            ("local:1/s,max_burst=5", rate(true, 1, 1, Some(5))),
        ];
        for (s, want) in cases {
            assert_eq!(parse_rate(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn rate_rejects_kumomta_rejections() {
        for s in [
            "",
            "100",
            "100 /s",
            "100/ s",
            " 100/s",
            "100/s ",
            "100/hours",
            "100/seconds",
            "100/days",
            "100/mins",
            "100/H",
            "100/S",
            "100/Hour",
            "1000/3600",
            "100/",
            "/s",
            "0/s",
            "000/h",
            "local:0/s",
            "three/hour",
            "100/our",
            "100/w",
            "100/week",
            "100/ms",
            "1.5/s",
            "-1/s",
            "100/s,max_burst=",
            "100/s,max_burst=x",
            "100/s,max_burst=-1",
            "100/s;max_burst=5",
            "100/s,max_burst:5",
            "100/s,burst=5",
            "LOCAL:10/s",
            "local 10/s",
            "local:local:1/s",
            "100/s/s",
            "100/5",
            "100/1_0m",
            "1,max_burst=2/s",
            "100/s,max_burst=1,max_burst=2",
            "100/m5",
            "99999999999999999999/s",
            "100/s,max_burst=99999999999999999999",
            "100//s",
            "_/s",
            ",/s",
            "+/s",
            "100k/h",
            "100/sec ",
            "\t100/s",
            "100/ｓ",
            // deliberately stricter than KumoMTA (zero period, wrapped period):
            "100/0s",
            "1/5124095576030432h",
            "1/99999999999999999999s",
        ] {
            assert!(parse_rate(s).is_err(), "{s:?} must be rejected");
        }
    }

    #[test]
    fn rate_1000_3600_suggests_hour() {
        let s = "1000/3600";
        let e = err(parse_rate(s));
        assert!(
            e.message.contains("invalid period quantity 3600"),
            "{}",
            e.message
        );
        assert_eq!(
            e.help.as_deref(),
            Some("a period is a unit, optionally with a multiplier: write `1000/h` (3600 s)")
        );
        assert_eq!(at(s, &e), "3600");

        let e = err(parse_rate("local:5/300"));
        assert_eq!(
            e.help.as_deref(),
            Some("a period is a unit, optionally with a multiplier: write `local:5/5m` (300 s)")
        );
        let e = err(parse_rate("5/86400"));
        assert!(e.help.as_deref().unwrap().contains("`5/d` (86400 s)"));
        let e = err(parse_rate("5/7"));
        assert!(e.help.as_deref().unwrap().contains("`5/7s` (7 s)"));
    }

    #[test]
    fn rate_error_messages() {
        let s = "100/hours";
        let e = err(parse_rate(s));
        assert_eq!(e.help.as_deref(), Some("no plurals: write `100/h`"));
        assert_eq!(at(s, &e), "hours");

        let s = "local:100/5mins";
        let e = err(parse_rate(s));
        assert_eq!(e.help.as_deref(), Some("no plurals: write `local:100/5m`"));
        assert_eq!(at(s, &e), "mins");

        let s = "100/H";
        let e = err(parse_rate(s));
        assert_eq!(
            e.help.as_deref(),
            Some("units are lowercase: write `100/h`")
        );

        let s = "100 /s";
        let e = err(parse_rate(s));
        assert!(e.message.contains("whitespace"));
        assert_eq!(e.range, 3..4);
        assert_eq!(e.help.as_deref(), Some("write `100/s`"));

        let s = "0/s";
        let e = err(parse_rate(s));
        assert!(e.message.contains("greater than 0"));
        assert!(
            e.help
                .as_deref()
                .unwrap()
                .contains("use a suspension instead")
        );
        assert_eq!(at(s, &e), "0");

        let s = "local:0/s";
        let e = err(parse_rate(s));
        assert_eq!(at(s, &e), "0");

        let s = "100";
        let e = err(parse_rate(s));
        assert!(e.help.as_deref().unwrap().contains("`100/h`"));

        let s = "1.5/s";
        let e = err(parse_rate(s));
        assert_eq!(at(s, &e), "1.5");
        assert!(e.help.as_deref().unwrap().contains("`3/2s`"));

        let e = err(parse_rate("0.5/h"));
        assert!(e.help.as_deref().unwrap().contains("`1/2h`"));

        let s = "100/w";
        let e = err(parse_rate(s));
        assert!(e.help.as_deref().unwrap().contains("`100/7d`"));

        let e = err(parse_rate("1/100ms"));
        assert!(e.help.as_deref().unwrap().contains("`10/s`"));

        let s = "100/s,max_burst=x";
        let e = err(parse_rate(s));
        assert_eq!(at(s, &e), "x");
        assert!(e.message.contains("max_burst"));

        let s = "100/s;max_burst=5";
        let e = err(parse_rate(s));
        assert!(e.help.as_deref().unwrap().contains(",max_burst="));

        let s = "three/hour";
        let e = err(parse_rate(s));
        assert_eq!(at(s, &e), "three");

        let s = "Local:10/s";
        let e = err(parse_rate(s));
        assert!(e.help.as_deref().unwrap().contains("`local:`"));

        let s = "100k/h";
        let e = err(parse_rate(s));
        assert!(e.help.as_deref().unwrap().contains("`100_000`"));

        let s = "100/0s";
        let e = err(parse_rate(s));
        assert_eq!(at(s, &e), "0");

        let s = "100/";
        let e = err(parse_rate(s));
        assert_eq!(e.range, 4..4);
    }

    #[test]
    fn rate_to_kumo_matches_as_string() {
        assert_eq!(rate(false, 100, 3600, None).to_kumo(), "100/h");
        assert_eq!(rate(true, 100, 3600, None).to_kumo(), "local:100/h");
        assert_eq!(rate(true, 100, 7380, None).to_kumo(), "local:100/7380s");
        assert_eq!(rate(false, 100, 7380, None).to_kumo(), "100/7380s");
        assert_eq!(
            rate(false, 50, 86400, Some(1)).to_kumo(),
            "50/d,max_burst=1"
        );
        assert_eq!(
            rate(false, 500, 86400, Some(1)).to_kumo(),
            "500/d,max_burst=1"
        );
        assert_eq!(rate(false, 100, 1, None).to_kumo(), "100/s");
        assert_eq!(rate(true, 10, 60, None).to_kumo(), "local:10/m");
        assert_eq!(parse_rate("100/hr").unwrap().to_kumo(), "100/h");
        assert_eq!(parse_rate("100/123m").unwrap().to_kumo(), "100/7380s");
        assert_eq!(parse_rate("1,000/hr").unwrap().to_string(), "1000/h");
    }

    #[test]
    fn rate_round_trips() {
        for s in [
            "100/s",
            "10/min",
            "1/minute",
            "10000/h",
            "2/hr",
            "100/5m",
            "1,000/hr",
            "1_000/hour",
            "500/d,max_burst=1",
            "local:10/s",
            "local:100/123m",
            "7/2d",
            "3/90s",
            "1/s,max_burst=0",
            "18446744073709551615/s",
            "local:1/5124095576030431h",
        ] {
            let r = parse_rate(s).unwrap();
            assert_eq!(parse_rate(&r.to_kumo()), Ok(r), "{s}");
        }
        for period in [
            1,
            2,
            59,
            60,
            61,
            3599,
            3600,
            7200,
            86399,
            86400,
            172800,
            u64::MAX,
        ] {
            for (local, burst) in [(false, None), (true, Some(3))] {
                let r = rate(local, 42, period, burst);
                assert_eq!(parse_rate(&r.to_kumo()), Ok(r), "{}", r.to_kumo());
            }
        }
    }

    #[test]
    fn rate_per_second() {
        assert_eq!(parse_rate("100/s").unwrap().per_second(), 100.0);
        assert_eq!(parse_rate("3600/h").unwrap().per_second(), 1.0);
        assert_eq!(parse_rate("60/m").unwrap().per_second(), 1.0);
        assert_eq!(parse_rate("86400/d").unwrap().per_second(), 1.0);
        assert_eq!(parse_rate("1/2s").unwrap().per_second(), 0.5);
        assert_eq!(parse_rate("300/5m").unwrap().per_second(), 1.0);
        assert!((parse_rate("1000/h").unwrap().per_second() - 0.277_777_8).abs() < 1e-6);
        // Never panics, even on a hand-built zero period.
        assert!(rate(false, 1, 0, None).per_second().is_infinite());
        assert_eq!(parse_rate("5/s").unwrap().effective_burst(), 5);
        assert_eq!(parse_rate("5/s,max_burst=1").unwrap().effective_burst(), 1);
    }

    /// A suggestion is the whole literal, corrected to the same value; it parses. Where the
    /// writer's meaning is not evident there is none.
    #[test]
    fn suggestions_are_faithful() {
        for (s, fixed) in [
            ("1000/3600", Some("1000/h")),
            ("1000/3600,max_burst=5", Some("1000/h,max_burst=5")),
            ("local:10/60", Some("local:10/m")),
            ("100/hours", Some("100/h")),
            ("100/2Hours", Some("100/2h")),
            ("100/weeks", Some("100/7d")),
            ("100 / s", Some("100/s")),
            ("1.5/s", None),
            ("100/fortnight", None),
            ("100", None),
        ] {
            let e = err(parse_rate(s));
            assert_eq!(e.suggestion.as_deref(), fixed, "{s:?}");
            if let Some(f) = fixed {
                assert_eq!(parse_rate(f).unwrap().period_secs, {
                    let r = parse_rate(&f.replace("/7d", "/604800s")).unwrap();
                    r.period_secs
                });
            }
        }
    }
}
