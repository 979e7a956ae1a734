//! The shop's time: timestamps are written in its zone (UTC-05:00) and filters accept ISO 8601 with or
//! without an offset (none: shop time).

use crate::shared::time::{civil_from_days, days_from_civil};

/// The shop's UTC offset in seconds (-05:00, like a shop in New York in winter).
const SHOP_OFFSET: i64 = -5 * 3_600;
/// 2024-01-05T10:00:00-05:00: the first seeded record.
pub(super) const SEED_BASE: i64 = 1_704_466_800;
/// 2025-01-01T00:00:00-05:00: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
pub(super) const WRITE_BASE: i64 = 1_735_707_600;

/// `2024-01-05T10:00:00-05:00`.
pub(super) fn shop_time(epoch: i64) -> String {
    let local = epoch + SHOP_OFFSET;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}-05:00", secs / 3_600, secs / 60 % 60, secs % 60)
}

/// Hours and minutes of `+HH:MM`, `+HHMM` or `+HH`.
fn zone_offset(zone: &str) -> Option<(i64, i64)> {
    let hours = digits(zone.get(1..3)?)?;
    let minutes = match zone.len() {
        3 => 0,
        5 => digits(zone.get(3..5)?)?,
        6 if zone.as_bytes().get(3) == Some(&b':') => digits(zone.get(4..6)?)?,
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some((hours, minutes))
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// ISO 8601 as Shopify accepts it in filters: a date (shop midnight), or a date-time with `Z`, an offset, or
/// none (shop time).
pub(super) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(..10)?;
    let (y, m, d) = (digits(date.get(..4)?)?, digits(date.get(5..7)?)?, digits(date.get(8..10)?)?);
    if date.as_bytes().get(4) != Some(&b'-') || date.as_bytes().get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m as u64, d as u64) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day - SHOP_OFFSET);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (hh, mm, ss) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?, digits(rest.get(6..8)?)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(frac) = zone.strip_prefix('.') {
        let end = frac.find(|c: char| !c.is_ascii_digit()).unwrap_or(frac.len());
        zone = &frac[end..];
    }
    let offset = match zone {
        "" => SHOP_OFFSET,
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (oh, om) = zone_offset(zone)?;
            sign * (oh * 3_600 + om * 60)
        }
    };
    Some(day + hh * 3_600 + mm * 60 + ss - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(shop_time(SEED_BASE), "2024-01-05T10:00:00-05:00");
        assert_eq!(shop_time(WRITE_BASE), "2025-01-01T00:00:00-05:00");
        assert_eq!(parse_time("2024-01-05T10:00:00-05:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T15:00:00Z"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T15:00:00.123+00:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T10:00:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05"), Some(SEED_BASE - 10 * 3_600));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-13-01"), None);
        assert_eq!(parse_time("2024-01-05T10:00:00+"), None);
        assert_eq!(parse_time("2024-01-05T15:00:00+0000"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T10:00:00é"), None);
        for t in [0, SEED_BASE, WRITE_BASE + 12_345, 951_782_400] {
            assert_eq!(parse_time(&shop_time(t)), Some(t));
        }
    }
}
