//! JSON written by hand, for the answers on hot paths (HubSpot listings, SOQL pages, Airtable pages), which
//! are serialised without building a `serde_json::Value` first; and the small conversions the fakes' records
//! need.

use serde_json::{Map, Value};

use crate::shared::time::split_ms;

/// A JSON syntax error's message without serde_json's ` at line L column C` (providers put the position
/// elsewhere).
pub fn syntax_error_detail(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// The map of a JSON object (`json!({...})` of a record); empty for any other value.
pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Writes `n` as exactly `buf.len()` zero-padded decimal digits.
fn put_digits(buf: &mut [u8], n: u64) {
    let mut n = n;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends ASCII bytes produced by `put_digits` and `push_u64`.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        out.push_str(s);
    }
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_ascii(out, &buf[i..]);
}

/// Appends `2024-01-05T10:00:00.000Z` (years 0..=9999).
pub fn push_iso_ms(out: &mut String, ms: u64) {
    let (y, mo, d, h, mi, s, milli) = split_ms(ms);
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut buf[0..4], y.clamp(0, 9999) as u64);
    put_digits(&mut buf[5..7], mo);
    put_digits(&mut buf[8..10], d);
    put_digits(&mut buf[11..13], h);
    put_digits(&mut buf[14..16], mi);
    put_digits(&mut buf[17..19], s);
    put_digits(&mut buf[20..23], milli);
    push_ascii(out, &buf);
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_helpers() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é O'Neil");
        assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some("a\"b\\c\nd\u{1}é O'Neil"));
        let mut n = String::new();
        for v in [0u64, 7, 10, 1234567890, u64::MAX] {
            n.clear();
            push_u64(&mut n, v);
            assert_eq!(n, v.to_string());
        }
        assert_eq!(object(serde_json::json!({ "a": 1 })).get("a"), Some(&Value::from(1)));
        assert!(object(Value::Null).is_empty());
    }

    #[test]
    fn syntax_errors_without_their_position() {
        let e = serde_json::from_str::<Value>("{\"a\": }").expect_err("a syntax error");
        assert_eq!(syntax_error_detail(&e), "expected value");
        assert_eq!((e.line(), e.column()), (1, 7));
    }
}
