//! Tests of the fake Stripe provider: reading (`read`), writes and idempotency (`write`) and conformance to
//! Stripe's published spec (`spec`). The helpers are here.

use super::*;

mod read;
mod spec;
mod write;

const FORM: &str = "application/x-www-form-urlencoded";

fn sget(st: &State, url: &str) -> FakeResponse {
    handle(st, &FakeRequest::get(url).header("Authorization", "Bearer test-token"))
}

fn spost(st: &State, url: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", FORM)
            .body(body),
    )
}

fn sdelete(st: &State, url: &str) -> FakeResponse {
    handle(st, &FakeRequest::new("DELETE", url).header("Authorization", "Bearer test-token"))
}

fn idem_post(st: &State, url: &str, key: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", FORM)
            .header("Idempotency-Key", key)
            .body(body),
    )
}

fn sids(body: &Value) -> Vec<String> {
    body["data"].as_array().into_iter().flatten().map(|r| r["id"].as_str().unwrap_or("").to_string()).collect()
}

fn err_body(code: &str, message: &str, param: &str) -> Value {
    json!({ "error": {
        "code": code,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
        "message": message,
        "param": param,
        "type": "invalid_request_error"
    }})
}

fn assert_err(resp: &FakeResponse, status: u16, expected: Value) {
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json_body(), expected);
    assert!(resp.header("request-id").is_some_and(|r| r.starts_with("req_") && r.len() == 18));
}

/// Walks a list with `starting_after` and returns every id in order.
fn walk(st: &State, base: &str, limit: usize) -> Vec<String> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{sep}limit={limit}");
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let resp = sget(st, &url);
        assert_eq!(resp.status, 200, "{url}: {}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        let page = sids(&body);
        assert!(page.len() <= limit);
        let more = body["has_more"] == true;
        assert_eq!(body["object"], "list");
        let last = page.last().cloned();
        seen.extend(page);
        match (more, last) {
            (true, Some(last)) => url = format!("{base}{sep}limit={limit}&starting_after={last}"),
            _ => return seen,
        }
    }
    panic!("runaway pagination");
}
