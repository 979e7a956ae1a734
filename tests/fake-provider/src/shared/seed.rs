//! Deterministic seed values: every seeded record is a pure function of its index.

/// The `n`th element of `list`, wrapping around.
pub fn pick<T: Copy>(list: &[T], n: u64) -> T {
    // `list` is a non-empty constant, so the modulo keeps the index in range.
    list[(n % list.len() as u64) as usize]
}
