//! The part of a list a page covers, for the offset, cursor and numbered-page styles of several providers.

use std::ops::Range;

/// The indexes of the page of `limit` items that starts `offset` items into a list of `total`, clamped to the
/// list (empty past its end).
pub fn window(total: usize, offset: u64, limit: u64) -> Range<usize> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let end = start.saturating_add(limit as usize).min(total);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_clamped() {
        assert_eq!(window(25, 0, 10), 0..10);
        assert_eq!(window(25, 20, 10), 20..25);
        assert_eq!(window(25, 30, 10), 25..25);
        assert_eq!(window(25, u64::MAX, u64::MAX), 25..25);
        assert_eq!(window(0, 0, 10), 0..0);
    }
}
