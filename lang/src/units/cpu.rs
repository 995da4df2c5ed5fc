//! CPU: Kubernetes quantities in millicores (`1000m`, `0.5`).

use super::decimal::{leading_decimal, scale_decimal};
use super::{UnitError, char_len_at, first_whitespace, span};

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
}
