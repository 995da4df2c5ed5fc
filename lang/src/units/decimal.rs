//! Non-negative decimals (`0.5`, `2.25`) scaled exactly: the numbers of Kubernetes sizes and
//! CPU quantities.

/// A non-negative decimal `digits[.digits]` as `mantissa / 10^scale` (trailing fractional
/// zeros dropped).
#[derive(Debug, Clone, Copy)]
pub(super) struct Decimal {
    mantissa: u128,
    scale: u32,
}

/// The leading `[+]digits[.digits]` of `s` (Kubernetes also allows `1.` and `.5`).
/// Returns the decimal and the byte length consumed; None when there is no digit, or the
/// value does not fit.
pub(super) fn leading_decimal(s: &str) -> Result<(Decimal, usize), Option<usize>> {
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
pub(super) fn scale_decimal(d: Decimal, mult_num: u128, mult_den: u128) -> Result<u64, bool> {
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
