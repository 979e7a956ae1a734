//! How values look in the org: 18-character ids with the real key prefixes and case-safety checksum, and
//! Salesforce's date-time text (dates are plain `2024-01-05`, `shared::time::date_string`).

use crate::shared::seed::BASE62;
use crate::shared::time::iso_ms;

/// The 3-character case-safety suffix that makes a 15-character id 18 characters long.
fn id_suffix(id15: &str) -> String {
    const MAP: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id15.as_bytes();
    (0..3)
        .map(|chunk| {
            let bits = (0..5).fold(0usize, |acc, j| {
                let upper = bytes.get(chunk * 5 + j).is_some_and(u8::is_ascii_uppercase);
                acc | (usize::from(upper) << j)
            });
            char::from(MAP[bits])
        })
        .collect()
}

/// The 18-character id of record `n` of the object with this key prefix.
pub(super) fn make_id(prefix: &str, n: u64) -> String {
    let mut tail = [b'0'; 6];
    let mut rest = n;
    for slot in tail.iter_mut().rev() {
        *slot = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let id15 = format!("{prefix}Dn0000{}", String::from_utf8_lossy(&tail));
    let suffix = id_suffix(&id15);
    id15 + &suffix
}

/// A 15- or 18-character id in its 18-character form; `None` if malformed (bad characters or checksum).
pub(super) fn normalise_id(raw: &str) -> Option<String> {
    if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match raw.len() {
        15 => Some(format!("{raw}{}", id_suffix(raw))),
        18 => {
            let id15 = raw.get(..15)?;
            let suffix = id_suffix(id15);
            raw.get(15..)?.eq_ignore_ascii_case(&suffix).then(|| format!("{id15}{suffix}"))
        }
        _ => None,
    }
}

/// `2024-01-05T10:00:00.000+0000`
pub(super) fn sf_datetime(ms: u64) -> String {
    let iso = iso_ms(ms);
    format!("{}+0000", iso.strip_suffix('Z').unwrap_or(&iso))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::time::{parse_iso_ms, BASE_MS};

    #[test]
    fn ids_have_the_case_safe_suffix() {
        // Each 5-character chunk maps its upper-case letters to bits (first character = lowest bit).
        assert_eq!(id_suffix("001D000000IRFma"), "IAH");
        let id = make_id("001", 1);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("001"));
        assert_eq!(normalise_id(&id), Some(id.clone()));
        assert_eq!(normalise_id(id.get(..15).unwrap_or("")), Some(id.clone()));
        assert_eq!(normalise_id(&id.to_lowercase()), None);
        assert_eq!(normalise_id("abc"), None);
    }

    #[test]
    fn sf_dates() {
        assert_eq!(sf_datetime(BASE_MS), "2024-01-01T00:00:00.000+0000");
        assert_eq!(parse_iso_ms("2024-01-01T00:00:00.000+0000"), Some(BASE_MS as i64));
    }
}
