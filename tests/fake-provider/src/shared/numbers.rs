//! Syntax checks of numbers written as text (HubSpot property values, REST item prices, date fields).

/// An amount of cents as a decimal string with two places (`1250` is `12.50`), as APIs write prices.
pub fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The value of a non-empty run of ASCII digits (`None` for anything else, signs included).
pub fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_places() {
        assert_eq!(money(1250), "12.50");
        assert_eq!(money(7), "0.07");
        assert_eq!(money(0), "0.00");
    }

    #[test]
    fn digit_runs() {
        assert_eq!(digits("0042"), Some(42));
        assert_eq!(digits("1704448800"), Some(1_704_448_800));
        for bad in ["", "-1", "+1", "1.5", " 1", "1e3", "99999999999999999999"] {
            assert_eq!(digits(bad), None, "{bad}");
        }
    }
}
