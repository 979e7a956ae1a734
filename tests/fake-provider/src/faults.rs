//! `/faults/...`: endpoints that misbehave on purpose.

use serde_json::{json, Value};

use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot;
use crate::rest::items::item;
use crate::rest::page_size;

/// Longest delay `/faults/slow` accepts (same bound as a stall).
pub const MAX_SLOW_MS: u64 = 300_000;

const MALFORMED: &str = r#"{"results": [{"id": "1", "properties": {"email": "a@b.c"}}, {"id": "#;

/// Serves `/faults/...`; `None` if the path is unknown.
pub fn handle(req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let resp = match segs.as_slice() {
        ["faults", "stall"] => FakeResponse::stalled(),
        ["faults", "slow"] => slow(req),
        ["faults", "malformed"] => FakeResponse::raw_json(200, MALFORMED.as_bytes().to_vec()),
        ["faults", "status", code] => status(code),
        ["faults", "repeat-cursor"] => hubspot::repeat_cursor_page(req),
        ["faults", "same-page"] => match page_size(req, "per_page", 10) {
            Ok(m) => FakeResponse::json(200, &Value::Array((1..=m).map(item).collect())),
            Err(e) => e,
        },
        ["faults", "zeros"] => zeros(req),
        ["faults", "redirect"] => FakeResponse::json(302, &json!({ "message": "moved" }))
            .with_header("Location", "http://example.invalid/elsewhere"),
        _ => return None,
    };
    Some(resp)
}

fn slow(req: &FakeRequest) -> FakeResponse {
    let ms = match req.param("ms") {
        None => 1000,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n <= MAX_SLOW_MS => n,
            _ => return FakeResponse::message(400, &format!("ms must be an integer between 0 and {MAX_SLOW_MS}")),
        },
    };
    FakeResponse { delay_ms: ms, ..FakeResponse::json(200, &json!([{ "id": 1 }])) }
}

/// Most zeros `/faults/zeros` sends: 50 million, a 100 MB body.
pub const MAX_ZEROS: u64 = 50_000_000;

/// `/faults/zeros?count=N`: a JSON array of N zeros (`[0,0,...]`): small as text, large once parsed.
fn zeros(req: &FakeRequest) -> FakeResponse {
    let count = match req.param("count").map(|c| c.trim().parse::<u64>()) {
        None => 1000,
        Some(Ok(n)) if n <= MAX_ZEROS => n,
        Some(_) => return FakeResponse::message(400, &format!("count must be an integer between 0 and {MAX_ZEROS}")),
    };
    let mut body = Vec::with_capacity(2 * count as usize + 2);
    body.push(b'[');
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'0');
    }
    body.push(b']');
    FakeResponse::raw_json(200, body)
}

fn status(code: &str) -> FakeResponse {
    match code.parse::<u16>() {
        Ok(c) if (200..=599).contains(&c) => {
            let mut resp = FakeResponse::message(c, &format!("injected failure {c}"));
            if c == 204 || c == 304 {
                resp.body.clear();
                resp.headers.clear();
            }
            resp
        }
        _ => FakeResponse::message(400, "status code must be an integer between 200 and 599"),
    }
}
