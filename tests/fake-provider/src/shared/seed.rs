//! Deterministic seed values: every seeded record and generated id is a pure function of its index, so tests
//! can predict it.

/// The alphabet of the base-62 ids (Salesforce's, Airtable's, Stripe's).
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The `n`th element of `list`, wrapping around.
pub fn pick<T: Copy>(list: &[T], n: u64) -> T {
    // `list` is a non-empty constant, so the modulo keeps the index in range.
    list[(n % list.len() as u64) as usize]
}

/// A UUID-shaped (version 4 layout) string, a pure function of `n`.
pub fn uuid_like(n: u64) -> String {
    let a = splitmix64(n);
    let b = splitmix64(a ^ n);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A bijective mix of 64 bits (distinct inputs give distinct outputs).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_wrap_around() {
        assert_eq!(pick(&["a", "b", "c"], 4), "b");
        assert_eq!(pick(&[7u8], u64::MAX), 7);
    }

    #[test]
    fn mixes_and_uuids_are_pure_and_distinct() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_ne!(splitmix64(1), splitmix64(2));
        assert_eq!(uuid_like(7), uuid_like(7));
        assert_ne!(uuid_like(7), uuid_like(8));
        let id = uuid_like(0x5eed);
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }
}
