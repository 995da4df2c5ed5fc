//! Separated counts: the whole numbers of a ThrottleSpec (limit, `max_burst`) and of a
//! LimitSpec, which KumoMTA reads with every `_` and `,` dropped.

use std::num::IntErrorKind;

use super::{UnitError, span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumErr {
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
pub(super) fn parse_separated_number(text: &str) -> Result<u64, NumErr> {
    // Nearly every count has no separator: parsed as it is, without a copy.
    let parsed = if text.bytes().any(|b| b == b'_' || b == b',') {
        let value: String = text.chars().filter(|c| !matches!(c, '_' | ',')).collect();
        value.parse::<u64>()
    } else {
        text.parse::<u64>()
    };
    parsed.map_err(|e| match e.kind() {
        IntErrorKind::Empty => NumErr::Empty,
        IntErrorKind::PosOverflow => NumErr::Overflow,
        _ => NumErr::Invalid,
    })
}

/// A friendly error for a count (`what` = "limit", "max_burst", "connection limit") that
/// [`parse_separated_number`] rejected. `off` is where `text` starts in the literal.
pub(super) fn count_error(err: NumErr, text: &str, off: usize, what: &str) -> UnitError {
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
