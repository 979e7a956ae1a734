//! The shop's time: timestamps are written in its zone (UTC-05:00) and filters accept ISO 8601 with or
//! without an offset (none: shop time).

use crate::shared::time::{datetime_secs, parse_datetime_secs};

/// The shop's UTC offset in seconds (-05:00, like a shop in New York in winter).
const SHOP_OFFSET: i64 = -5 * 3_600;
/// 2024-01-05T10:00:00-05:00: the first seeded record.
pub(super) const SEED_BASE: i64 = 1_704_466_800;
/// 2025-01-01T00:00:00-05:00: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
pub(super) const WRITE_BASE: i64 = 1_735_707_600;

/// `2024-01-05T10:00:00-05:00`.
pub(super) fn shop_time(epoch: i64) -> String {
    datetime_secs(epoch, SHOP_OFFSET)
}

/// ISO 8601 as Shopify accepts it in filters: a date (shop midnight), or a date-time with `Z`, an offset, or
/// none (shop time).
pub(super) fn parse_time(s: &str) -> Option<i64> {
    parse_datetime_secs(s, SHOP_OFFSET, true)
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
