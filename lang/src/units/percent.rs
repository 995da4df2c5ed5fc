//! Percentages (`80%`).

use super::{UnitError, char_at, span};

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
}
