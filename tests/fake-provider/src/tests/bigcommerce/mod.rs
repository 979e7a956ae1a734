//! Tests of the fake BigCommerce provider: customers (`customers`) and catalog products (`products`). The
//! helpers are here.

use std::time::Duration;

use super::*;

mod customers;
mod products;

const BASE: &str = "/stores/abc123/v3";
const TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

fn seeded(seeds: &[(&str, u64)]) -> State {
    State::new(Config { seeds: seeds.iter().map(|(k, v)| (k.to_string(), *v)).collect(), ..Config::default() })
}

/// A state whose quota never runs out (most tests send more than 150 requests).
fn roomy() -> State {
    seeded(&[("bigcommerce_quota", 1_000_000)])
}

fn bc(st: &State, url: &str) -> FakeResponse {
    handle(st, &FakeRequest::get(url).header("X-Auth-Token", "test-token"))
}

fn bc_send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new(method, url)
            .header("X-Auth-Token", "test-token")
            .header("Content-Type", "application/json")
            .body(&body.to_string()),
    )
}

fn unprocessable(title: &str) -> Value {
    json!({ "status": 422, "title": title, "type": TYPE, "errors": {} })
}

fn customer_input(n: usize) -> Value {
    json!({ "email": format!("new{n}@example.com"), "first_name": format!("New{n}"), "last_name": "Buyer" })
}

/// Follows `meta.pagination.links.next` and returns the ids in order.
fn walk_pages(st: &State, path: &str, query: &str) -> Vec<u64> {
    let mut url = format!("{BASE}/{path}{query}");
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let resp = bc(st, &url);
        assert_eq!(resp.status, 200, "{url}: {}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        let page = ids(&body["data"]);
        let p = &body["meta"]["pagination"];
        assert_eq!(p["count"], page.len());
        seen.extend(page);
        match p["links"]["next"].as_str() {
            Some(next) => url = format!("{BASE}/{path}{next}"),
            None => return seen,
        }
    }
    panic!("runaway pagination");
}
