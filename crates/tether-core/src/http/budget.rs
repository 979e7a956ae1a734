//! How much memory a JSON answer takes once parsed, estimated from its text before anything is
//! parsed: a body of a few hundred megabytes made of small values (`[0,0,0,...]`) becomes gigabytes
//! of parsed values, so `tether.request` and `tether.request_pages` refuse an answer whose estimate
//! passes `tether.max_answer_memory` instead of finding out by running the backend out of memory.
//! Plain Rust: one pass over the bytes, no allocation.

/// What one parsed JSON value takes besides its text: a `serde_json::Value` (32 bytes) and, inside an
/// object, its entry (key `String` and map bookkeeping).
const PER_VALUE: usize = 32;
const PER_MEMBER: usize = 48;

/// The estimated size in bytes of `body` parsed into JSON values: per value and object member a
/// fixed cost, plus the bytes of strings. Counts structure outside strings (`,` `:` `[` `{`), so it
/// is exact enough for arrays and objects of any shape and never under the real size by more than a
/// few bytes per value.
pub fn parsed_size(body: &[u8]) -> usize {
    let mut values = 1usize;
    let mut members = 0usize;
    let mut text = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            text += 1;
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => values += 1,
            b':' => members += 1,
            _ => {}
        }
    }
    values.saturating_mul(PER_VALUE).saturating_add(members.saturating_mul(PER_MEMBER)).saturating_add(text)
}

/// The error for an answer over the budget, in the words of the setting that sets it.
pub fn too_large(
    connector: &str,
    shown: &str,
    bytes: usize,
    estimate: usize,
    budget: usize,
) -> crate::error::TetherError {
    crate::error::TetherError::BadResponse {
        connector: connector.to_string(),
        message: format!(
            "the answer to {shown} ({} of JSON) would take about {} once parsed, more than tether.max_answer_memory ({})",
            human(bytes),
            human(estimate),
            human(budget)
        ),
        detail: "ask for less at a time (a page size, a narrower query, max_pages), or raise tether.max_answer_memory".into(),
    }
}

fn human(bytes: usize) -> String {
    const MB: usize = 1024 * 1024;
    if bytes >= MB {
        format!("{} MB", bytes / MB)
    } else if bytes >= 1024 {
        format!("{} kB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_cost_more_than_their_text() {
        let zeros = format!("[{}0]", "0,".repeat(999_999));
        let estimate = parsed_size(zeros.as_bytes());
        assert!(estimate >= 1_000_000 * PER_VALUE, "{estimate}");
        assert!(estimate > 15 * zeros.len(), "an array of small values is far larger parsed than as text");
    }

    #[test]
    fn strings_count_their_bytes_and_hide_structure() {
        let one = parsed_size(br#"{"a": "x,y:[z{"}"#);
        // Text: `a"` and `x,y:[z{"` (each string's bytes and its closing quote).
        assert_eq!(one, 2 * PER_VALUE + PER_MEMBER + 2 + 8);
        let escaped = parsed_size(br#"["a\"b,c"]"#);
        assert_eq!(escaped, 2 * PER_VALUE + 7, "an escaped quote does not end the string");
    }

    #[test]
    fn the_estimate_is_not_below_what_serde_json_takes() {
        // Objects of a few scalars, as records are: the estimate must not be optimistic.
        let records: String =
            (0..1000).map(|i| format!(r#"{{"id":{i},"name":"n{i}","ok":true}}"#)).collect::<Vec<_>>().join(",");
        let body = format!("[{records}]");
        let values = 1 + 1000 * 4;
        assert!(parsed_size(body.as_bytes()) >= values * PER_VALUE);
    }

    #[test]
    fn the_error_names_the_setting() {
        let e = too_large("rest", "GET /big", 300 << 20, 5000 << 20, 128 << 20);
        assert!(e.to_string().contains("300 MB of JSON"), "{e}");
        assert!(e.to_string().contains("more than tether.max_answer_memory (128 MB)"), "{e}");
    }
}
