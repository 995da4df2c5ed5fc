//! Connection limits: KumoMTA's LimitSpec (`10`, `local:5`).

use std::fmt;

use super::count::{count_error, parse_separated_number};
use super::{UnitError, first_whitespace, span};

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
    use crate::units::test_util::err;

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
}
