//! Times in BigCommerce's answers (`2024-01-05T10:00:00Z`) and date filters (a Unix timestamp, a date, or a
//! date-time with an optional offset).

use crate::shared::time::{civil_from_days, days_from_civil};

/// 2024-01-05T10:00:00Z: the first seeded record.
pub(super) const SEED_BASE: i64 = 1_704_448_800;
/// 2025-01-01T00:00:00Z: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
pub(super) const WRITE_BASE: i64 = 1_735_689_600;

/// `2024-01-05T10:00:00Z`.
pub(super) fn utc(epoch: i64) -> String {
    let (y, m, d) = civil_from_days(epoch.div_euclid(86_400));
    let secs = epoch.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3_600, secs / 60 % 60, secs % 60)
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

/// A date filter value: a Unix timestamp, `2024-05-14`, or `2024-05-14T09:34:00` with an optional `Z` or
/// offset (UTC when none).
pub(super) fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ts) = digits(s) {
        return Some(ts);
    }
    let date = s.get(..10)?;
    let b = date.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (digits(date.get(..4)?)?, digits(date.get(5..7)?)?, digits(date.get(8..10)?)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m as u64, d as u64) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (hh, mm, ss) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?, digits(rest.get(6..8)?)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let zone = &rest[8..];
    let offset = match zone {
        "" | "Z" | "z" => 0,
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
    fn dates() {
        assert_eq!(utc(SEED_BASE), "2024-01-05T10:00:00Z");
        assert_eq!(utc(WRITE_BASE), "2025-01-01T00:00:00Z");
        assert_eq!(parse_date("2024-01-05T10:00:00Z"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05T10:00:00"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05T05:00:00-05:00"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05"), Some(SEED_BASE - 10 * 3_600));
        assert_eq!(parse_date("1704448800"), Some(SEED_BASE));
        assert_eq!(parse_date("soon"), None);
        assert_eq!(parse_date("2024-01-05T10:00:00-"), None);
        assert_eq!(parse_date("2024-01-05T10:00:00+00"), Some(SEED_BASE));
    }
}
