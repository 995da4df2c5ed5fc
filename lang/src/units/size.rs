//! Sizes: Kubernetes quantities in bytes (`25Gi`, `512M`, `1e9`).

use super::decimal::{leading_decimal, scale_decimal};
use super::{UnitError, char_len_at, first_whitespace, span};

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
}
