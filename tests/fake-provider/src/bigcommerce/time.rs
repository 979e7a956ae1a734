//! Times in BigCommerce's answers (`2024-01-05T10:00:00Z`) and date filters (a Unix timestamp, a date, or a
//! date-time with an optional offset).

use crate::shared::numbers::digits;
use crate::shared::time::{datetime_secs, parse_datetime_secs, WRITE_BASE_MS};

/// 2024-01-05T10:00:00Z: the first seeded record.
pub(super) const SEED_BASE: i64 = 1_704_448_800;
/// 2025-01-01T00:00:00Z: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
pub(super) const WRITE_BASE: i64 = (WRITE_BASE_MS / 1000) as i64;

/// `2024-01-05T10:00:00Z`.
pub(super) fn utc(epoch: i64) -> String {
    datetime_secs(epoch, 0)
}

/// A date filter value: a Unix timestamp, `2024-05-14`, or `2024-05-14T09:34:00` with an optional `Z` or
/// offset (UTC when none).
pub(super) fn parse_date(s: &str) -> Option<i64> {
    digits(s.trim()).or_else(|| parse_datetime_secs(s, 0, false))
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
