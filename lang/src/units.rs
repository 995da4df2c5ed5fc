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
#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::IntErrorKind;
use std::ops::Range;

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

    /// The same error with its range moved `by` bytes to the right (for a literal that starts
    /// at offset `by` of a larger text).
    pub fn shifted(mut self, by: usize) -> Self {
        self.range = self.range.start.saturating_add(by)..self.range.end.saturating_add(by);
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

// ---------------------------------------------------------------------------------------------
// Separated numbers (ThrottleSpec limit / max_burst, LimitSpec)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumErr {
    /// Nothing left once the separators are removed.
    Empty,
    /// Some character other than a digit (u64::from_str also allows one leading `+`).
    Invalid,
    /// Larger than u64::MAX.
    Overflow,
}

/// KumoMTA `crates/throttle/src/lib.rs`:
/// ```text
/// /// Allow "1_000" and "1,000" for more readable config
/// fn parse_separated_number(limit: &str) -> Result<u64, String> {
///     let value: String = limit.chars().filter_map(|c| match c {
///             '_' | ',' => None,
///             c => Some(c),
///         }).collect();
///     value.parse::<u64>() ...
/// ```
/// `_` and `,` are dropped wherever they are (leading, trailing, doubled), and what is left
/// goes to `u64::from_str`, which accepts one leading `+`. `LimitSpec::try_from` does the same.
fn parse_separated_number(text: &str) -> Result<u64, NumErr> {
    let value: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
    value.parse::<u64>().map_err(|e| match e.kind() {
        IntErrorKind::Empty => NumErr::Empty,
        IntErrorKind::PosOverflow => NumErr::Overflow,
        _ => NumErr::Invalid,
    })
}

/// A friendly error for a count (`what` = "limit", "max_burst", "connection limit") that
/// [`parse_separated_number`] rejected. `off` is where `text` starts in the literal.
fn count_error(err: NumErr, text: &str, off: usize, what: &str) -> UnitError {
    let range = if text.is_empty() {
        off..off
    } else {
        span(off, text.len())
    };
    match err {
        NumErr::Empty if text.is_empty() => UnitError::new(format!("missing {what}"), range)
            .with_help("write a whole number, e.g. `10`"),
        NumErr::Empty => UnitError::new(format!("the {what} `{text}` has no digits"), range),
        NumErr::Overflow => UnitError::new(
            format!("the {what} `{text}` is too large (at most {})", u64::MAX),
            range,
        ),
        NumErr::Invalid => {
            let mut e = UnitError::new(
                format!("invalid {what} `{text}`: expected a whole number"),
                range,
            );
            let lower = text.to_ascii_lowercase();
            if text.starts_with('-') {
                e = e.with_help(format!("the {what} cannot be negative"));
            } else if lower.starts_with("local") {
                e = e.with_help(
                    "the prefix is `local:`, in lowercase and directly before the number",
                );
            } else if let Some(n) = with_k_suffix(text) {
                e = e.with_help(format!("write the number in full: `{n}`"));
            } else {
                e = e.with_help("digits only; `_` or `,` may separate groups, e.g. `10_000`");
            }
            e
        }
    }
}

/// `100k` -> 100_000 and `2M` -> 2_000_000, for a help line (KumoMTA knows no suffixes).
fn with_k_suffix(text: &str) -> Option<String> {
    let (num, mult) = if let Some(n) = text.strip_suffix(['k', 'K']) {
        (n, 1_000u64)
    } else if let Some(n) = text.strip_suffix('M') {
        (n, 1_000_000u64)
    } else {
        return None;
    };
    let n = parse_separated_number(num).ok()?.checked_mul(mult)?;
    Some(group_thousands(n))
}

/// 1000000 -> "1_000_000".
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len().saturating_add(digits.len() / 3));
    let len = digits.len();
    for (i, c) in digits.chars().enumerate() {
        let left = len.saturating_sub(i);
        if i > 0 && left % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rates: ThrottleSpec
// ---------------------------------------------------------------------------------------------

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
        let period = match self.period_secs {
            86400 => "d".to_string(),
            3600 => "h".to_string(),
            60 => "m".to_string(),
            1 => "s".to_string(),
            other => format!("{other}s"),
        };
        let burst = match self.max_burst {
            Some(b) => format!(",max_burst={b}"),
            None => String::new(),
        };
        format!(
            "{}{}/{period}{burst}",
            if self.local { "local:" } else { "" },
            self.limit
        )
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
    let (body, burst_text) = match rest.split_once(MAX_BURST) {
        Some((body, burst)) => (body, Some(burst)),
        None => (rest, None),
    };

    // 3. `s.split_once("/")`
    let Some((limit_text, period_all)) = body.split_once('/') else {
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

// ---------------------------------------------------------------------------------------------
// Limits: LimitSpec
// ---------------------------------------------------------------------------------------------

/// KumoMTA LimitSpec string form "[local:]N" (separators allowed), N >= 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub local: bool,
    pub limit: u64,
}

impl Limit {
    /// "local:5" or "5" (KumoMTA `impl Debug for LimitSpec`).
    pub fn to_kumo_string(&self) -> String {
        if self.local {
            format!("local:{}", self.limit)
        } else {
            self.limit.to_string()
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_kumo_string())
    }
}

/// KumoMTA `impl TryFrom<&str> for LimitSpec` (`crates/throttle/src/lib.rs`):
/// `strip_prefix("local:")`, drop `_` and `,`, `parse::<u64>()`, then
/// `if limit == 0 { return Err("invalid LimitSpec `{s}`: limit must be greater than 0!") }`.
pub fn parse_limit(s: &str) -> Result<Limit, UnitError> {
    if let Some(range) = first_whitespace(s) {
        let fixed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let e = UnitError::new("a limit cannot contain whitespace", range);
        return Err(if !fixed.is_empty() && parse_limit(&fixed).is_ok() {
            e.with_help(format!("write `{fixed}`"))
        } else {
            e
        });
    }
    let (local, rest) = match s.strip_prefix("local:") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let base = s.len().saturating_sub(rest.len());
    let limit = match parse_separated_number(rest) {
        Ok(n) => n,
        Err(err) => {
            let e = count_error(err, rest, base, "connection limit");
            return Err(if rest.contains('/') {
                e.with_help("a connection limit is a count, not a rate: write e.g. `10`")
            } else {
                e
            });
        }
    };
    if limit == 0 {
        return Err(
            UnitError::new("a limit must be greater than 0", span(base, rest.len()))
                .with_help("to stop connecting, use a suspension instead"),
        );
    }
    Ok(Limit { local, limit })
}

// ---------------------------------------------------------------------------------------------
// Durations as KumoMTA reads them: humantime
// ---------------------------------------------------------------------------------------------

/// Which humantime KumoMTA ships, to decide what a duration *string* may contain. Each
/// [`Release`] in [`RELEASES`] names its flavour; [`KumoVersion::humantime`] looks it up.
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

/// Parse a duration string as KumoMTA (humantime) would; result in milliseconds (u64,
/// saturating). Reject exactly what that humantime version rejects.
///
/// KumoMTA's `duration_serde` (`crates/duration-serde/src/lib.rs`) hands strings to
/// `humantime::parse_duration(v)` untouched. This is a port of humantime's `Parser`
/// (`src/duration.rs` of 2.2.0 and 2.3.0), with the same accept/reject set; the only
/// difference is that the two inputs on which humantime itself panics (a total of exactly
/// `u64::MAX` seconds plus a carried second) are errors here.
pub fn parse_humantime(s: &str, flavor: HumantimeFlavor) -> Result<u64, UnitError> {
    match humantime_exact(s, flavor) {
        Ok((secs, nanos)) => Ok(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000)),
        Err(err) => Err(humantime_error(s, flavor, err)),
    }
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

fn humantime_error(s: &str, flavor: HumantimeFlavor, err: HtErr) -> UnitError {
    let mut e = humantime_error_base(s, err, flavor == HumantimeFlavor::V2_3);
    // Accepted by the newer humantime: say so, and give the form this release reads.
    if flavor == HumantimeFlavor::V2_2
        && let Ok((secs, nanos)) = humantime_exact(s, HumantimeFlavor::V2_3)
    {
        let first = first_release_with(HumantimeFlavor::V2_3).map_or("", |r| r.tag);
        let mut help = format!("`{s}` needs KumoMTA {first} or later (humantime 2.3)");
        if nanos.is_multiple_of(1_000_000) && secs < u64::MAX / 1000 {
            let ms = secs.saturating_mul(1000).saturating_add(nanos / 1_000_000);
            let fixed = format_duration(ms);
            help = format!("{help}; for this release write `{fixed}`");
            e.suggestion = Some(fixed);
        }
        e = e.with_help(help);
    }
    e
}

fn humantime_error_base(s: &str, err: HtErr, v23: bool) -> UnitError {
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

// ---------------------------------------------------------------------------------------------
// kumoc duration literals
// ---------------------------------------------------------------------------------------------

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
        if num_text.ends_with('_') || num_text.contains("__") {
            let fixed: String = num_text.chars().filter(|&c| c != '_').collect();
            return Err(UnitError::new(
                "`_` may only separate digits",
                span(piece_start, num_text.len()),
            )
            .with_help(format!("write `{fixed}`")));
        }
        let clean: String = num_text.chars().filter(|&c| c != '_').collect();
        let Ok(n) = clean.parse::<u64>() else {
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
    if ms == 0 {
        return "0s".to_string();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60)] {
        if let (true, Some(k)) = (secs.is_multiple_of(size), secs.checked_div(size)) {
            return format!("{k}{unit}");
        }
    }
    format!("{secs}s")
}

// ---------------------------------------------------------------------------------------------
// Decimal numbers (sizes, CPU)
// ---------------------------------------------------------------------------------------------

/// A non-negative decimal `digits[.digits]` as `mantissa / 10^scale` (trailing fractional
/// zeros dropped).
#[derive(Debug, Clone, Copy)]
struct Decimal {
    mantissa: u128,
    scale: u32,
}

/// The leading `[+]digits[.digits]` of `s` (Kubernetes also allows `1.` and `.5`).
/// Returns the decimal and the byte length consumed; None when there is no digit, or the
/// value does not fit.
fn leading_decimal(s: &str) -> Result<(Decimal, usize), Option<usize>> {
    let sign = usize::from(s.starts_with('+'));
    let rest = s.get(sign..).unwrap_or_default();
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let int = rest.get(..int_len).unwrap_or_default();
    let mut frac = "";
    let mut len = int_len;
    if rest.as_bytes().get(int_len) == Some(&b'.') {
        let after = rest.get(int_len.saturating_add(1)..).unwrap_or_default();
        let frac_len = after.bytes().take_while(u8::is_ascii_digit).count();
        frac = after.get(..frac_len).unwrap_or_default();
        len = int_len.saturating_add(1).saturating_add(frac_len);
    }
    if int.is_empty() && frac.is_empty() {
        return Err(None);
    }
    let frac = frac.trim_end_matches('0');
    let mut mantissa: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(b.saturating_sub(b'0'))))
            .ok_or(Some(sign.saturating_add(len)))?;
    }
    let scale = u32::try_from(frac.len()).map_err(|_| Some(sign.saturating_add(len)))?;
    Ok((Decimal { mantissa, scale }, sign.saturating_add(len)))
}

/// `mantissa * mult / 10^scale` when whole and within u64; Err(true) when too large,
/// Err(false) when not whole.
fn scale_decimal(d: Decimal, mult_num: u128, mult_den: u128) -> Result<u64, bool> {
    if d.mantissa == 0 {
        return Ok(0);
    }
    let den = 10u128
        .checked_pow(d.scale)
        .and_then(|p| p.checked_mul(mult_den))
        .ok_or(false)?;
    let num = d.mantissa.checked_mul(mult_num).ok_or(true)?;
    if num.checked_rem(den) != Some(0) {
        return Err(false);
    }
    u64::try_from(num.checked_div(den).ok_or(false)?).map_err(|_| true)
}

// ---------------------------------------------------------------------------------------------
// Sizes: Kubernetes quantities
// ---------------------------------------------------------------------------------------------

const KI: u64 = 1 << 10;
const BINARY_SUFFIXES: [(&str, u64); 6] = [
    ("Ei", 1 << 60),
    ("Pi", 1 << 50),
    ("Ti", 1 << 40),
    ("Gi", 1 << 30),
    ("Mi", 1 << 20),
    ("Ki", KI),
];

fn size_suffix(suffix: &str) -> Option<u128> {
    Some(match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return None,
    })
}

/// Kubernetes decimal exponent suffix `e<int>` / `E<int>` (`1e3`); (numerator, denominator).
fn exponent_suffix(suffix: &str) -> Option<(u128, u128)> {
    let exp = suffix.strip_prefix(['e', 'E'])?;
    if exp.is_empty() || exp == "+" || exp == "-" {
        return None;
    }
    let (neg, digits) = match exp.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, exp.strip_prefix('+').unwrap_or(exp)),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let e: u32 = digits.parse().ok()?;
    // Beyond 10^38 nothing fits u128; treat as "too large" / "not whole" via a sentinel.
    let p = 10u128.checked_pow(e).unwrap_or(u128::MAX);
    Some(if neg { (1, p) } else { (p, 1) })
}

/// Kubernetes quantity for memory/storage: `25Gi`, `512Mi`, `1G`, `100M`, `64Ki`, `1Ti`,
/// plain bytes `1048576`; suffixes Ki Mi Gi Ti Pi Ei (binary) and k M G T P E (decimal; note
/// lowercase k); a decimal exponent `1e9` too. Decimals like `1.5Gi` are accepted when they
/// come out as a whole number of bytes. Result in bytes; an error above u64::MAX.
pub fn parse_size(raw: &str) -> Result<u64, UnitError> {
    if raw.is_empty() {
        return Err(UnitError::new("a size cannot be empty", 0..0)
            .with_help("write e.g. `512Mi` or `25Gi`"));
    }
    if let Some(range) = first_whitespace(raw) {
        let fixed: String = raw.split_whitespace().collect();
        return Err(UnitError::new("a size cannot contain whitespace", range)
            .with_help(format!("write `{fixed}`")));
    }
    if raw.starts_with('-') {
        return Err(UnitError::new("a size cannot be negative", 0..1));
    }
    let (dec, len) = match leading_decimal(raw) {
        Ok(v) => v,
        Err(None) => {
            let len = char_len_at(raw, 0);
            return Err(UnitError::new("a size starts with a number", 0..len)
                .with_help("write e.g. `512Mi` or `25Gi`"));
        }
        Err(Some(len)) => return Err(UnitError::new("the size is too large", 0..len)),
    };
    let suffix = raw.get(len..).unwrap_or_default();
    let suffix_range = span(len, suffix.len());
    let (num, den) = match size_suffix(suffix) {
        Some(m) => (m, 1),
        None => match exponent_suffix(suffix) {
            Some(nd) => nd,
            None => {
                return Err(UnitError::new(
                    format!("unknown size suffix `{suffix}`"),
                    suffix_range,
                )
                .with_help(size_suffix_help(raw.get(..len).unwrap_or_default(), suffix)));
            }
        },
    };
    match scale_decimal(dec, num, den) {
        Ok(bytes) => Ok(bytes),
        Err(true) => Err(UnitError::new(
            format!("the size `{raw}` is too large"),
            0..raw.len(),
        )),
        Err(false) => Err(UnitError::new(
            format!("`{raw}` is not a whole number of bytes"),
            0..raw.len(),
        )
        .with_help("use a smaller unit, e.g. `1536Mi` instead of `1.5Gi`")),
    }
}

fn size_suffix_help(num: &str, suffix: &str) -> String {
    if suffix == "m" {
        return format!(
            "`m` means milli (1/1000) in a Kubernetes quantity: for megabytes write \
             `{num}Mi` (2^20) or `{num}M` (10^6)"
        );
    }
    // KB, kB, KiB, GB, Gb, gi, g, ... -> the binary and decimal forms.
    let stripped = suffix
        .strip_suffix("iB")
        .or_else(|| suffix.strip_suffix("ib"))
        .or_else(|| suffix.strip_suffix(['B', 'b', 'i']))
        .unwrap_or(suffix);
    let letter = match stripped.to_ascii_uppercase().as_str() {
        "K" => Some('K'),
        "M" => Some('M'),
        "G" => Some('G'),
        "T" => Some('T'),
        "P" => Some('P'),
        "E" => Some('E'),
        _ => None,
    };
    match letter {
        Some(l) => {
            let decimal = if l == 'K' { 'k' } else { l };
            format!("write `{num}{l}i` (binary, 1024-based) or `{num}{decimal}` (decimal)")
        }
        None => {
            "suffixes: Ki, Mi, Gi, Ti, Pi, Ei (binary) or k, M, G, T, P, E (decimal)".to_string()
        }
    }
}

/// Render bytes as a Kubernetes quantity in the largest binary unit that divides exactly
/// ("25Gi", "512Mi", or plain bytes).
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_string();
    }
    for (suffix, size) in BINARY_SUFFIXES {
        if let (true, Some(k)) = (bytes.is_multiple_of(size), bytes.checked_div(size)) {
            return format!("{k}{suffix}");
        }
    }
    bytes.to_string()
}

// ---------------------------------------------------------------------------------------------
// CPU: Kubernetes quantities in millicores
// ---------------------------------------------------------------------------------------------

/// Kubernetes CPU quantity: `1000m`, `250m`, `2`, `0.5` -> millicores. Error on sub-millicore
/// precision, negative, unknown suffix.
pub fn parse_cpu(raw: &str) -> Result<u64, UnitError> {
    if raw.is_empty() {
        return Err(UnitError::new("a CPU amount cannot be empty", 0..0)
            .with_help("write cores (`2`, `0.5`) or millicores (`500m`)"));
    }
    if let Some(range) = first_whitespace(raw) {
        let fixed: String = raw.split_whitespace().collect();
        return Err(
            UnitError::new("a CPU amount cannot contain whitespace", range)
                .with_help(format!("write `{fixed}`")),
        );
    }
    if raw.starts_with('-') {
        return Err(UnitError::new("a CPU amount cannot be negative", 0..1));
    }
    let (dec, len) = match leading_decimal(raw) {
        Ok(v) => v,
        Err(None) => {
            return Err(UnitError::new(
                "a CPU amount starts with a number",
                0..char_len_at(raw, 0),
            )
            .with_help("write cores (`2`, `0.5`) or millicores (`500m`)"));
        }
        Err(Some(len)) => return Err(UnitError::new("the CPU amount is too large", 0..len)),
    };
    let suffix = raw.get(len..).unwrap_or_default();
    let per_unit: u128 = match suffix {
        "" => 1000,
        "m" => 1,
        _ => {
            let num = raw.get(..len).unwrap_or_default();
            let help = match suffix {
                "core" | "cores" | "cpu" | "cpus" | "CPU" | "vcpu" | "vCPU" => {
                    format!("write the number of cores alone: `{num}`")
                }
                "M" | "mc" | "millicores" | "milli" => format!("write millicores as `{num}m`"),
                _ => "write cores (`2`, `0.5`) or millicores (`500m`)".to_string(),
            };
            return Err(UnitError::new(
                format!("unknown CPU suffix `{suffix}`"),
                span(len, suffix.len()),
            )
            .with_help(help));
        }
    };
    match scale_decimal(dec, per_unit, 1) {
        Ok(m) => Ok(m),
        Err(true) => Err(UnitError::new("the CPU amount is too large", 0..raw.len())),
        Err(false) => Err(UnitError::new(
            format!("`{raw}` is finer than one millicore"),
            0..raw.len(),
        )
        .with_help("the smallest CPU amount is `1m` (0.001 cores)")),
    }
}

/// "2" when a whole number of cores, else "250m".
pub fn format_cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

// ---------------------------------------------------------------------------------------------
// Percentages
// ---------------------------------------------------------------------------------------------

/// Percentage literal like `80%`: 0..=100, integer only.
pub fn parse_percent(raw: &str) -> Result<u8, UnitError> {
    let Some(num) = raw.strip_suffix('%') else {
        let e = UnitError::new("a percentage ends with `%`", span(raw.len(), 0));
        return Err(
            if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
                e.with_help(format!("write `{raw}%`"))
            } else {
                e.with_help("write e.g. `80%`")
            },
        );
    };
    if num.is_empty() {
        return Err(UnitError::new("missing number before `%`", 0..0).with_help("write e.g. `80%`"));
    }
    if num.starts_with('-') {
        return Err(UnitError::new("a percentage cannot be negative", 0..1));
    }
    if let Some(at) = num.bytes().position(|b| !b.is_ascii_digit()) {
        let c = char_at(num, at).unwrap_or(' ');
        let e = UnitError::new(
            format!("unexpected `{c}` in a percentage"),
            span(at, c.len_utf8()),
        );
        return Err(if c == '.' {
            e.with_help("a percentage is a whole number, e.g. `80%`")
        } else {
            e
        });
    }
    match num.parse::<u64>() {
        Ok(n) if n <= 100 => u8::try_from(n)
            .map_err(|_| UnitError::new("a percentage is at most 100%", 0..num.len())),
        _ => Err(
            UnitError::new(format!("`{raw}` is more than 100%"), 0..num.len())
                .with_help("a percentage is between 0% and 100%"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// IP addresses and networks
// ---------------------------------------------------------------------------------------------

/// IP literal (v4 or v6) and CIDR. A bare IP is a /32 or /128 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Every address of its family (`0.0.0.0/0`, `::/0`).
    pub fn is_any(&self) -> bool {
        self.prefix == 0
    }

    /// A single address (`/32` or `/128`).
    pub fn is_host(&self) -> bool {
        self.prefix >= family_bits(self.addr)
    }

    /// Whether `ip` is inside this network. Addresses of the other family never are (as with
    /// the cidr crate KumoMTA uses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = v4_mask(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = v6_mask(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The network address with host bits cleared.
    pub fn network(&self) -> Cidr {
        Cidr {
            addr: mask_addr(self.addr, self.prefix),
            prefix: self.prefix.min(family_bits(self.addr)),
        }
    }
}

fn family_bits(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(prefix)))
        .unwrap_or(0)
}

fn mask_addr(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & v4_mask(prefix))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & v6_mask(prefix))),
    }
}

/// "10.0.0.0/8"; a single host is printed without its prefix ("127.0.0.1", "::1"), like the
/// cidr crate's `Display` (`if f.alternate() || !self.is_host_address() { "{}/{}" } else
/// { "{}" }`), which is how KumoMTA prints CIDR lists.
impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// An IP address (v4 or v6), as `std::net::IpAddr::from_str` reads it (KumoMTA's
/// `source_address` and similar fields are `IpAddr`).
pub fn parse_ip(s: &str) -> Result<IpAddr, UnitError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip);
    }
    Err(ip_error(s, 0, "an IP address"))
}

/// A friendly error for text (at `off`) that `IpAddr::from_str` rejected. Its suggestion (when
/// set) is the address alone, corrected; a caller that parsed more than the address
/// recomposes it.
fn ip_error(text: &str, off: usize, what: &str) -> UnitError {
    let range = span(off, text.len());
    if text.is_empty() {
        return UnitError::new(format!("missing {what}"), off..off);
    }
    if let Some(ws) = first_whitespace(text) {
        let fixed: String = text.split_whitespace().collect();
        let e = UnitError::new(
            format!("{what} cannot contain whitespace"),
            ws.start.saturating_add(off)..ws.end.saturating_add(off),
        );
        return if fixed.parse::<IpAddr>().is_ok() {
            e.suggest(fixed)
        } else {
            e.with_help("remove the spaces")
        };
    }
    let e = UnitError::new(format!("`{text}` is not {what}"), range);
    if text.contains('/') {
        return e.with_help("a network (CIDR) is not allowed here, only a single address");
    }
    if let Some((inner, _)) = text.strip_prefix('[').and_then(|t| t.split_once(']'))
        && inner.parse::<Ipv6Addr>().is_ok()
    {
        return e
            .with_help(format!("write the address alone: `{inner}`"))
            .with_suggestion(inner);
    }
    if let Some((host, port)) = text.rsplit_once(':')
        && host.parse::<Ipv4Addr>().is_ok()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        return e.with_help(format!("write the address without the port: `{host}`"));
    }
    if text.contains('%') {
        return e.with_help("IPv6 zone ids (`%eth0`) are not supported");
    }
    // An example, not a suggestion: only the writer knows the address they meant.
    e.with_help("write an IPv4 address like `192.0.2.10` or an IPv6 address like `2001:db8::10`")
}

/// An IP network as KumoMTA's `cidr_map::parse_cidr` reads it (`AnyIpCidr::from_str`, cidr
/// crate `parsers::parse_any_cidr`):
/// ```text
/// if s == "any" { return Ok(AnyIpCidr::Any); }
/// match s.rfind('/') {
///     None => Ok(host_parser(s)?.into()),                    // IpAddr::from_str, a host
///     Some(pos) => AnyIpCidr::new(address_parser(&s[0..pos])?, parse_prefix_len(&s[pos + 1..])?),
/// }
/// ```
/// `parse_prefix_len` is `u8::from_str` (so `+24` and `024` pass), and `new` rejects a length
/// beyond the family's bits and a non-zero host part ("host part of address was not zero";
/// KumoMTA adds "Did you mean 192.168.1.0/24?").
///
/// One deliberate difference: KumoMTA reads `any` as "every IPv4 and IPv6 address"; a [`Cidr`]
/// has one family, so `any` is an error here whose help says to write `0.0.0.0/0` and `::/0`.
pub fn parse_cidr(s: &str) -> Result<Cidr, UnitError> {
    // No piece trims, so KumoMTA rejects whitespace anywhere.
    if let Some(ws) = first_whitespace(s) {
        let fixed: String = s.split_whitespace().collect();
        let e = UnitError::new("an IP network cannot contain whitespace", ws);
        return Err(if !fixed.is_empty() && parse_cidr(&fixed).is_ok() {
            e.suggest(fixed)
        } else {
            e.with_help("remove the spaces")
        });
    }
    if s == "any" {
        return Err(UnitError::new(
            "`any` is not supported here: a network has one address family",
            0..s.len(),
        )
        .with_help("write `0.0.0.0/0` (every IPv4 address) and `::/0` (every IPv6 address)"));
    }
    let Some(slash) = s.rfind('/') else {
        return match s.parse::<IpAddr>() {
            Ok(addr) => Ok(Cidr {
                addr,
                prefix: family_bits(addr),
            }),
            Err(_) => Err(ip_error(s, 0, "an IP address or network")),
        };
    };
    let addr_text = s.get(..slash).unwrap_or_default();
    let len_off = slash.saturating_add(1);
    let len_text = s.get(len_off..).unwrap_or_default();
    let addr = match addr_text.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => {
            let mut e = ip_error(addr_text, 0, "an IP address");
            // The address's correction, with the prefix length written after it.
            if let Some(fixed) = e.suggestion.take() {
                let fixed = format!("{fixed}/{len_text}");
                e = if parse_cidr(&fixed).is_ok() {
                    e.suggest(fixed)
                } else {
                    e.with_help("write an address, `/` and a prefix length, like `10.0.0.0/8`")
                };
            }
            // `10/8`, `192.168/16`: std (and so KumoMTA) wants all four parts.
            let parts = addr_text.split('.').count();
            let short = !addr_text.is_empty()
                && parts < 4
                && addr_text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if short {
                let pad = ".0".repeat(4usize.saturating_sub(parts));
                let fixed = format!("{addr_text}{pad}/{len_text}");
                if parse_cidr(&fixed).is_ok() {
                    let mut e = e.suggest(fixed.clone());
                    e.help = Some(format!("write all four parts: `{fixed}`"));
                    return Err(e);
                }
            }
            return Err(e);
        }
    };
    let bits = family_bits(addr);
    let prefix = match len_text.parse::<u8>() {
        Ok(p) => p,
        Err(_) => {
            let range = if len_text.is_empty() {
                len_off..len_off
            } else {
                span(len_off, len_text.len())
            };
            let message = if len_text.is_empty() {
                "missing prefix length after `/`".to_string()
            } else {
                format!("invalid prefix length `{len_text}`")
            };
            return Err(UnitError::new(message, range)
                .with_help(format!("the prefix length is a number from 0 to {bits}")));
        }
    };
    if prefix > bits {
        return Err(UnitError::new(
            format!(
                "prefix length {prefix} is too long for an IPv{} address",
                if bits == 32 { 4 } else { 6 }
            ),
            span(len_off, len_text.len()),
        )
        .with_help(format!("the prefix length is a number from 0 to {bits}")));
    }
    let cidr = Cidr { addr, prefix };
    let network = cidr.network();
    if network.addr != addr {
        return Err(UnitError::new(
            format!("{s} is not a valid CIDR: host part of address was not zero"),
            span(0, addr_text.len()),
        )
        .with_help(format!("did you mean `{}/{prefix}`?", network.addr))
        .with_suggestion(format!("{}/{prefix}", network.addr)));
    }
    Ok(cidr)
}

// ---------------------------------------------------------------------------------------------
// KumoMTA releases and versions
// ---------------------------------------------------------------------------------------------

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
        // `YYYY.MM.DD` strings sort like the dates.
        let date = format!("{:04}.{:02}.{:02}", self.year, self.month, self.day);
        RELEASES
            .iter()
            .rev()
            .find(|r| r.date() <= date.as_str())
            .map_or(HumantimeFlavor::V2_2, |r| r.humantime)
    }

    /// The published release this version names exactly (date and commit).
    pub fn release(&self) -> Option<&'static Release> {
        release_on(self.year, self.month, self.day)
            .filter(|r| r.tag.split_once('-').map(|(_, c)| c) == self.commit.as_deref())
    }

    fn key(&self) -> (u16, u8, u8) {
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
mod version_help_regression {
    #[test]
    fn out_of_range_day_does_not_recurse() {
        // Found by the mutation fuzz loop: "2025.03.167" used to recurse without end.
        for s in ["2025.03.167", "2025.13.01", "2025.3.167-abc", "2025-03-19"] {
            let _ = super::parse_version(s);
        }
        assert!(super::parse_version("2025.03.167").is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

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

    fn rate(local: bool, limit: u64, period_secs: u64, max_burst: Option<u64>) -> Rate {
        Rate {
            local,
            limit,
            period_secs,
            max_burst,
        }
    }

    fn err<T: fmt::Debug>(r: Result<T, UnitError>) -> UnitError {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    /// The text an error range covers.
    fn at<'a>(s: &'a str, e: &UnitError) -> &'a str {
        &s[e.range.clone()]
    }

    // ---- rates ------------------------------------------------------------------------------

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

    // ---- limits -----------------------------------------------------------------------------

    #[test]
    fn limits() {
        assert_eq!(
            parse_limit("100"),
            Ok(Limit {
                local: false,
                limit: 100
            })
        );
        assert_eq!(
            parse_limit("1_00"),
            Ok(Limit {
                local: false,
                limit: 100
            })
        );
        assert_eq!(
            parse_limit("1,000"),
            Ok(Limit {
                local: false,
                limit: 1000
            })
        );
        assert_eq!(
            parse_limit("local:1_00"),
            Ok(Limit {
                local: true,
                limit: 100
            })
        );
        assert_eq!(
            parse_limit("+5"),
            Ok(Limit {
                local: false,
                limit: 5
            })
        );
        for s in [
            "", "0", "local:0", "three", "-1", "5/s", "local:", " 5", "local: 5", "1.5",
        ] {
            assert!(parse_limit(s).is_err(), "{s:?}");
        }
        let e = err(parse_limit("local:0"));
        assert_eq!(e.range, 6..7);
        let e = err(parse_limit("5/s"));
        assert!(e.help.as_deref().unwrap().contains("count, not a rate"));
        let e = err(parse_limit("local: 5"));
        assert_eq!(e.range, 6..7);
        assert_eq!(e.help.as_deref(), Some("write `local:5`"));
        for l in [
            Limit {
                local: true,
                limit: 5,
            },
            Limit {
                local: false,
                limit: 5,
            },
        ] {
            assert_eq!(parse_limit(&l.to_kumo_string()), Ok(l));
        }
        assert_eq!(
            Limit {
                local: true,
                limit: 5
            }
            .to_kumo_string(),
            "local:5"
        );
        assert_eq!(
            Limit {
                local: false,
                limit: 5
            }
            .to_kumo_string(),
            "5"
        );
    }

    // ---- humantime --------------------------------------------------------------------------

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
            assert_eq!(parse_humantime(s, V2_2), Ok(ms), "2.2 {s:?}");
            assert_eq!(parse_humantime(s, V2_3), Ok(ms), "2.3 {s:?}");
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
            assert!(parse_humantime(s, V2_2).is_err(), "2.2 {s:?}");
            assert!(parse_humantime(s, V2_3).is_err(), "2.3 {s:?}");
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
            assert_eq!(parse_humantime(s, V2_3), Ok(ms), "2.3 {s:?}");
            assert!(parse_humantime(s, V2_2).is_err(), "2.2 {s:?}");
        }
        // 2.3: a fraction must be a whole number of seconds (h, d, ...) or nanoseconds.
        assert!(parse_humantime("0.3333h", V2_3).is_err());
        assert!(parse_humantime("0.000123456789s", V2_3).is_err());
    }

    #[test]
    fn humantime_errors() {
        let s = "1 Hour";
        let e = err(parse_humantime(s, V2_2));
        assert_eq!(at(s, &e), "Hour");
        assert_eq!(
            e.help.as_deref(),
            Some("units are case-sensitive: write `1hour`")
        );

        let s = "1H";
        let e = err(parse_humantime(s, V2_3));
        assert_eq!(at(s, &e), "H");
        assert_eq!(
            e.help.as_deref(),
            Some("units are case-sensitive: write `1h`")
        );

        let s = "-1h";
        let e = err(parse_humantime(s, V2_2));
        assert_eq!(e.range, 0..1);
        assert!(e.help.as_deref().unwrap().contains("negative"));

        let s = "1h,30m";
        let e = err(parse_humantime(s, V2_2));
        assert_eq!(at(s, &e), ",");
        assert!(e.help.as_deref().unwrap().contains("`1h 30m`"));

        let e = err(parse_humantime("", V2_2));
        assert!(e.message.contains("empty"));

        let s = "1.5h";
        let e = err(parse_humantime(s, V2_2));
        assert_eq!(at(s, &e), ".");
        assert_eq!(
            e.help.as_deref(),
            Some(
                "`1.5h` needs KumoMTA 2025.12.02-67ee9e96 or later (humantime 2.3); for this release write `90m`"
            )
        );

        let e = err(parse_humantime("0", V2_2));
        assert!(e.message.contains("time unit needed"));
        assert!(e.help.as_deref().unwrap().contains("write `0s`"));

        let s = "90";
        let e = err(parse_humantime(s, V2_3));
        assert_eq!(e.range, 2..2);
        assert!(e.help.as_deref().unwrap().contains("`90s`"));

        let s = "1 xs";
        let e = err(parse_humantime(s, V2_3));
        assert_eq!(at(s, &e), "xs");

        let s = "0.3333h";
        let e = err(parse_humantime(s, V2_3));
        assert!(
            e.message.contains("not a whole number of seconds"),
            "{}",
            e.message
        );
        assert_eq!(at(s, &e), "0.3333h");
        let e = err(parse_humantime("1.5ns", V2_3));
        assert!(e.message.contains("fraction of a nanosecond"));
        for s in ["1.", "1.s", "1. "] {
            let e = err(parse_humantime(s, V2_3));
            assert_eq!(e.message, "expected digits after `.`", "{s:?}");
        }
        let s = "1..5h";
        let e = err(parse_humantime(s, V2_3));
        assert_eq!(e.range, 1..2);
        assert_eq!(e.message, "expected digits after `.`");
        let s = "1.5.5h";
        let e = err(parse_humantime(s, V2_3));
        assert_eq!(e.range, 3..4);
        assert_eq!(e.help.as_deref(), Some("a number has at most one `.`"));

        let s = "1s 99999999999999999999s";
        let e = err(parse_humantime(s, V2_3));
        assert!(e.message.contains("too large"));
        assert!(at(s, &e).starts_with("9999"));
    }

    // ---- kumoc duration literals ------------------------------------------------------------

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

    // ---- sizes ------------------------------------------------------------------------------

    #[test]
    fn sizes() {
        let cases: &[(&str, u64)] = &[
            ("25Gi", 25 << 30),
            ("512Mi", 512 << 20),
            ("1G", 1_000_000_000),
            ("100M", 100_000_000),
            ("64Ki", 64 << 10),
            ("1Ti", 1 << 40),
            ("1Pi", 1 << 50),
            ("1Ei", 1 << 60),
            ("1k", 1000),
            ("2T", 2_000_000_000_000),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("1048576", 1_048_576),
            ("0", 0),
            ("1.5Gi", 1_610_612_736),
            ("0.5Ki", 512),
            (".5Ki", 512),
            ("1.Ki", 1024),
            ("1.50Ki", 1536),
            ("1e3", 1000),
            ("1E3", 1000),
            ("1.5e3", 1500),
            ("+5", 5),
        ];
        for &(s, b) in cases {
            assert_eq!(parse_size(s), Ok(b), "{s}");
        }
        for s in [
            "",
            "1.3Ki",
            "0.1",
            "-1Gi",
            "1K",
            "1KB",
            "1GB",
            "1gi",
            "1g",
            "100m",
            "Gi",
            "1 Gi",
            "16Ei",
            "99999999999999999999999",
            "1e",
            "1e-",
            "1Gi ",
            "1_000",
            "15e-1",
            "1e99",
        ] {
            assert!(parse_size(s).is_err(), "{s:?}");
        }
        let s = "100m";
        let e = err(parse_size(s));
        assert_eq!(at(s, &e), "m");
        assert!(e.help.as_deref().unwrap().contains("milli"));
        let s = "1GB";
        let e = err(parse_size(s));
        assert_eq!(at(s, &e), "GB");
        assert_eq!(
            e.help.as_deref(),
            Some("write `1Gi` (binary, 1024-based) or `1G` (decimal)")
        );
        let e = err(parse_size("1K"));
        assert_eq!(
            e.help.as_deref(),
            Some("write `1Ki` (binary, 1024-based) or `1k` (decimal)")
        );
        let e = err(parse_size("1.3Ki"));
        assert!(e.message.contains("whole number of bytes"));
        assert_eq!(parse_size("15Ei"), Ok(15 << 60));
        assert!(err(parse_size("16Ei")).message.contains("too large"));
    }

    #[test]
    fn format_sizes() {
        assert_eq!(format_size(25 << 30), "25Gi");
        assert_eq!(format_size(512 << 20), "512Mi");
        assert_eq!(format_size(1536 << 20), "1536Mi");
        assert_eq!(format_size(1_000_000_000), "1000000000");
        assert_eq!(format_size(1_024_000), "1000Ki");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_size(1024), "1Ki");
        assert_eq!(format_size(0), "0");
        assert_eq!(format_size(1 << 60), "1Ei");
        for b in [0, 1, 1023, 1024, 1 << 20, 3 << 40, 1_000_000_000, u64::MAX] {
            assert_eq!(parse_size(&format_size(b)), Ok(b));
        }
    }

    // ---- CPU --------------------------------------------------------------------------------

    #[test]
    fn cpu() {
        let cases: &[(&str, u64)] = &[
            ("1000m", 1000),
            ("250m", 250),
            ("2", 2000),
            ("0.5", 500),
            ("0.25", 250),
            ("0.001", 1),
            ("1.5", 1500),
            ("0", 0),
            ("0.250", 250),
        ];
        for &(s, m) in cases {
            assert_eq!(parse_cpu(s), Ok(m), "{s}");
        }
        for s in ["", "0.0005", "0.5m", "-1", "2cores", "1k", "m", "1 ", "1M"] {
            assert!(parse_cpu(s).is_err(), "{s:?}");
        }
        assert!(err(parse_cpu("0.0005")).message.contains("millicore"));
        let s = "2cores";
        let e = err(parse_cpu(s));
        assert_eq!(at(s, &e), "cores");
        assert_eq!(
            e.help.as_deref(),
            Some("write the number of cores alone: `2`")
        );
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_cpu(250), "250m");
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(0), "0");
        for m in [0, 1, 250, 1000, 1500, 64_000, u64::MAX] {
            assert_eq!(parse_cpu(&format_cpu(m)), Ok(m));
        }
    }

    // ---- percentages ------------------------------------------------------------------------

    #[test]
    fn percent() {
        assert_eq!(parse_percent("80%"), Ok(80));
        assert_eq!(parse_percent("0%"), Ok(0));
        assert_eq!(parse_percent("100%"), Ok(100));
        for s in [
            "101%",
            "80",
            "80.5%",
            "-1%",
            "%",
            "",
            "99999999999999999999999%",
            "8 0%",
        ] {
            assert!(parse_percent(s).is_err(), "{s:?}");
        }
        let e = err(parse_percent("150%"));
        assert_eq!(e.range, 0..3);
        assert!(e.help.as_deref().unwrap().contains("between 0% and 100%"));
        let e = err(parse_percent("80"));
        assert_eq!(e.help.as_deref(), Some("write `80%`"));
        let s = "80.5%";
        assert_eq!(at(s, &err(parse_percent(s))), ".");
    }

    // ---- IP / CIDR --------------------------------------------------------------------------

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let c = parse_cidr("10.0.0.0/8").unwrap();
        assert_eq!(
            c,
            Cidr {
                addr: ip("10.0.0.0"),
                prefix: 8
            }
        );
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.0")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")));
        assert!(!c.is_host() && !c.is_any());

        let h = parse_cidr("127.0.0.1").unwrap();
        assert_eq!(
            h,
            Cidr {
                addr: ip("127.0.0.1"),
                prefix: 32
            }
        );
        assert!(h.is_host());
        assert_eq!(h.to_string(), "127.0.0.1");
        assert_eq!(parse_cidr("127.0.0.1/32").unwrap().to_string(), "127.0.0.1");

        let h6 = parse_cidr("::1").unwrap();
        assert_eq!(h6.prefix, 128);
        assert_eq!(h6.to_string(), "::1");
        assert!(h6.contains(ip("::1")) && !h6.contains(ip("::2")));

        let any = parse_cidr("0.0.0.0/0").unwrap();
        assert!(any.is_any());
        assert!(any.contains(ip("1.2.3.4")));
        assert!(!any.contains(ip("::1")));
        assert!(parse_cidr("::/0").unwrap().contains(ip("2001:db8::1")));

        let n6 = parse_cidr("2001:db8::/32").unwrap();
        assert_eq!(n6.to_string(), "2001:db8::/32");
        assert!(n6.contains(ip("2001:db8:1::1")));
        assert!(!n6.contains(ip("2001:db9::1")));

        // Defaults from KumoMTA cidr-map set.rs
        for s in ["127.0.0.1", "::1", "127.0.0.0/8", "0.0.0.0", "::"] {
            let c = parse_cidr(s).unwrap();
            assert_eq!(parse_cidr(&c.to_string()), Ok(c), "{s}");
            assert_eq!(c.to_string(), s);
        }
        // u8::from_str accepts these prefix forms, as in KumoMTA.
        assert_eq!(parse_cidr("10.0.0.0/+8").unwrap().prefix, 8);
        assert_eq!(parse_cidr("10.0.0.0/08").unwrap().prefix, 8);

        for s in [
            "192.168.1.1/24",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/x",
            "any",
            "10.0.0/8",
            "10/8",
            "1.2.3.4 ",
            "",
            "/8",
            "10.0.0.0/8/8",
            "[::1]",
            "1.2.3.4:25",
            "localhost",
            "fe80::1%eth0",
            "10.0.0.0/-1",
        ] {
            assert!(parse_cidr(s).is_err(), "{s:?}");
        }
        let s = "192.168.1.1/24";
        let e = err(parse_cidr(s));
        assert_eq!(e.help.as_deref(), Some("did you mean `192.168.1.0/24`?"));
        assert_eq!(at(s, &e), "192.168.1.1");
        let s = "10.0.0.0/33";
        let e = err(parse_cidr(s));
        assert_eq!(at(s, &e), "33");
        let e = err(parse_cidr("2001:db8::1/32"));
        assert_eq!(e.help.as_deref(), Some("did you mean `2001:db8::/32`?"));
        assert!(
            err(parse_cidr("any"))
                .help
                .as_deref()
                .unwrap()
                .contains("::/0")
        );
        assert_eq!(
            err(parse_cidr("10/8")).help.as_deref(),
            Some("write all four parts: `10.0.0.0/8`")
        );
        assert_eq!(
            err(parse_cidr("192.168/16")).help.as_deref(),
            Some("write all four parts: `192.168.0.0/16`")
        );
        let e = err(parse_cidr("10.0.0.0/"));
        assert_eq!(e.message, "missing prefix length after `/`");
        assert_eq!(e.range, 9..9);

        // A suggestion is the writer's own network, corrected, never an example address.
        for (s, fixed) in [
            ("10.0.0.1/8", Some("10.0.0.0/8")),
            ("10/8", Some("10.0.0.0/8")),
            ("10.0.0.0 /8", Some("10.0.0.0/8")),
            ("10.0.0.0/ 8", Some("10.0.0.0/8")),
            ("[2001:db8::]/32", Some("2001:db8::/32")),
            ("[::1]", Some("::1")),
            ("10.0.0.256/8", None),
            ("10.0.0.256", None),
            ("any", None),
            ("10.0.0.0/33", None),
            ("mail.example.com", None),
            ("10.0.0.1:25", None),
        ] {
            let e = err(parse_cidr(s));
            assert_eq!(e.suggestion.as_deref(), fixed, "{s:?}: {e:?}");
            if let Some(f) = fixed {
                assert!(parse_cidr(f).is_ok());
            }
        }
    }

    #[test]
    fn ips() {
        assert_eq!(parse_ip("192.0.2.1"), Ok(ip("192.0.2.1")));
        assert_eq!(parse_ip("2001:db8::1"), Ok(ip("2001:db8::1")));
        assert_eq!(parse_ip("::ffff:1.2.3.4"), Ok(ip("::ffff:1.2.3.4")));
        for s in [
            "",
            "10.0.0.0/8",
            "[::1]",
            "1.2.3.4:25",
            "1.2.3",
            "01.2.3.4",
            " 1.2.3.4",
            "host",
        ] {
            assert!(parse_ip(s).is_err(), "{s:?}");
        }
        assert!(
            err(parse_ip("10.0.0.0/8"))
                .help
                .as_deref()
                .unwrap()
                .contains("CIDR")
        );
        assert_eq!(
            err(parse_ip("[::1]")).help.as_deref(),
            Some("write the address alone: `::1`")
        );
        assert_eq!(
            err(parse_ip("1.2.3.4:25")).help.as_deref(),
            Some("write the address without the port: `1.2.3.4`")
        );
        let e = err(parse_ip("1.2.3.4 "));
        assert_eq!(e.range, 7..8);
    }

    // ---- versions ---------------------------------------------------------------------------

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

    // ---- never panics -----------------------------------------------------------------------

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
