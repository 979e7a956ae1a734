//! Calendar arithmetic (proleptic Gregorian, UTC) and ISO 8601 text: parsing dates and instants, formatting
//! epoch milliseconds and seconds, in UTC or at a fixed offset. The fixed clocks the fakes stamp seeded and
//! written records with live here too, so test output never depends on the wall clock.

use crate::shared::json::push_iso_ms;
use crate::shared::numbers::digits;

/// 2024-01-01T00:00:00Z in epoch milliseconds.
pub const BASE_MS: u64 = 1_704_067_200_000;
pub const MINUTE_MS: u64 = 60_000;
pub const DAY_MS: u64 = 86_400_000;
/// An hour (HubSpot moves `updatedAt` and `archivedAt` on by one on every write to a record).
pub const HOUR_MS: u64 = 3_600_000;
/// 2025-01-01T00:00:00Z: records created through the API get `WRITE_BASE_MS + id` seconds
/// as their creation time, so test output never depends on the clock.
pub const WRITE_BASE_MS: u64 = 1_735_689_600_000;

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Epoch milliseconds to (year, month, day, hour, minute, second, millisecond), UTC.
pub fn split_ms(ms: u64) -> (i64, u64, u64, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp as i64 + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` (a valid calendar date) into days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let max = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (d <= max).then(|| days_from_civil(y as i64, m, d))
}

/// Parses an ISO 8601 instant into epoch milliseconds: a date (`2024-01-05`, midnight UTC) or a date-time
/// `2024-01-05T10:00[:00[.123]]` with `Z`, `+hh:mm`, `+hhmm` or no offset (UTC).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(pos) => (s.get(..pos)?, Some(s.get(pos + 1..)?)),
        None => (s, None),
    };
    let days = parse_date(date)?;
    let mut ms = days * 86_400_000;
    let Some(rest) = rest else {
        return Some(ms);
    };
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off.chars().skip(1).filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let h: i64 = digits.get(0..2)?.parse().ok()?;
        let m: i64 = digits.get(2..4)?.parse().ok()?;
        if h > 23 || m > 59 {
            return None;
        }
        (t, sign * (h * 3_600_000 + m * 60_000))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let field = |i: usize| parts.get(i).and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
    let (h, mi, sec) = (field(0), field(1), field(2));
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000 + sec * 1000;
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{f:0<3}");
        ms += padded.get(..3)?.parse::<i64>().ok()?;
    }
    Some(ms - offset_ms)
}

/// `2024-01-05T10:00:00.000Z`
pub fn iso_ms(ms: u64) -> String {
    let mut out = String::with_capacity(24);
    push_iso_ms(&mut out, ms);
    out
}

/// `2024-01-05T10:00:00Z`
pub fn iso_secs(ms: u64) -> String {
    datetime_secs((ms / 1000) as i64, 0)
}

/// `2024-01-05` for days since the epoch.
pub fn date_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Epoch seconds as local time at `offset` seconds from UTC: `2024-01-05T10:00:00Z` for UTC,
/// `2024-01-05T05:00:00-05:00` otherwise.
pub fn datetime_secs(epoch: i64, offset: i64) -> String {
    let local = epoch + offset;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    let zone = match offset {
        0 => "Z".to_string(),
        _ => {
            let sign = if offset < 0 { '-' } else { '+' };
            format!("{sign}{:02}:{:02}", offset.abs() / 3_600, offset.abs() / 60 % 60)
        }
    };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{zone}", secs / 3_600, secs / 60 % 60, secs % 60)
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

/// Epoch seconds of a date (`2024-05-14`, local midnight) or a date-time (`2024-05-14T09:34:00`, `T` or a
/// space) as filters accept them (Shopify's, BigCommerce's), with `Z`, `+HH:MM`, `+HHMM`, `+HH` or no zone.
/// Without a zone the time is local, `local_offset` seconds from UTC. `fractions` accepts fractional seconds
/// (`09:34:00.123`, ignored).
pub fn parse_datetime_secs(s: &str, local_offset: i64, fractions: bool) -> Option<i64> {
    let s = s.trim();
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
        return Some(day - local_offset);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (hh, mm, ss) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?, digits(rest.get(6..8)?)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(frac) = zone.strip_prefix('.').filter(|_| fractions) {
        let end = frac.find(|c: char| !c.is_ascii_digit()).unwrap_or(frac.len());
        zone = &frac[end..];
    }
    let offset = match zone {
        "" => local_offset,
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
    fn timestamps_format() {
        assert_eq!(iso_ms(BASE_MS), "2024-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(iso_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_secs(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(date_string(19_723), "2024-01-01");
        assert_eq!(datetime_secs(1_704_448_800, 0), "2024-01-05T10:00:00Z");
        assert_eq!(datetime_secs(1_704_448_800, -5 * 3_600), "2024-01-05T05:00:00-05:00");
        assert_eq!(datetime_secs(1_704_448_800, 5 * 3_600 + 30 * 60), "2024-01-05T15:30:00+05:30");
    }

    #[test]
    fn datetimes_of_filters() {
        let at = 1_704_448_800; // 2024-01-05T10:00:00Z
        for (text, local_offset, fractions, expected) in [
            ("2024-01-05T10:00:00Z", 0, false, Some(at)),
            ("2024-01-05 10:00:00", 0, false, Some(at)),
            ("2024-01-05T05:00:00-05:00", 0, false, Some(at)),
            ("2024-01-05T15:00:00+0500", 0, false, Some(at)),
            ("2024-01-05T12:00:00+02", 0, false, Some(at)),
            ("2024-01-05T05:00:00", -5 * 3_600, false, Some(at)),
            ("2024-01-05", -5 * 3_600, false, Some(at - 5 * 3_600)),
            ("2024-01-05T10:00:00.250Z", 0, true, Some(at)),
            ("2024-01-05T10:00:00.250Z", 0, false, None),
            ("2024-01-05T10:00:00+", 0, false, None),
            ("2024-01-05T10:00:00+24:00", 0, false, None),
            ("2024-13-05", 0, false, None),
            ("2024-01-05X10:00:00", 0, false, None),
            ("soon", 0, false, None),
        ] {
            assert_eq!(parse_datetime_secs(text, local_offset, fractions), expected, "{text}");
        }
    }
}
