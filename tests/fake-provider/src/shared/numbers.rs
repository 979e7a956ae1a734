//! Syntax checks of numbers written as text (HubSpot property values, REST item prices).

/// Whether `s` is an optionally signed integer that fits in an i64 (`12`, `-3`).
pub fn is_integer_str(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && s.parse::<i64>().is_ok()
}

/// Whether `s` is a plain decimal number: optional sign, digits, optional fraction and
/// exponent (`12`, `-0.5`, `1250000.50`, `1e3`). Rejects `NaN`, `inf`, `.5`, `1.` and blanks.
pub fn is_decimal_str(s: &str) -> bool {
    let rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(pos) => (rest.get(..pos).unwrap_or(""), Some(rest.get(pos + 1..).unwrap_or(""))),
        None => (rest, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => all_digits(int) && all_digits(frac),
        None => all_digits(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)),
    };
    mantissa_ok && exponent_ok
}
