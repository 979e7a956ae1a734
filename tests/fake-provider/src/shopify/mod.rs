//! The fake Shopify Admin REST API (`/admin/api/{YYYY-MM}/...`): customers (read and write), products and
//! orders (read).
//!
//! Like the real API: `X-Shopify-Access-Token`; `{"customers": [...]}` envelopes ordered by id; cursor
//! pagination through a `Link` header whose `page_info` carries the filters (a request with `page_info` may
//! only add `limit` and `fields`); `{"errors": ...}` bodies; a leaky bucket (40 calls, 2 leak per second) with
//! `X-Shopify-Shop-Api-Call-Limit` on every answer and `429` + `Retry-After: 1.0` when it is full. Timestamps
//! are in the shop's time zone (UTC-05:00). Ids and data are deterministic.
//!
//! Files by concern: `store` and `seed_data` (customers, products and orders, the leaky bucket), `time` (the shop's
//! time zone), `list` (filters, `page_info` cursors, `fields`), `customers` (customer writes with Shopify's
//! validation) and `errors`. This module authenticates, takes a call from the bucket and routes.

mod customers;
mod errors;
mod list;
mod seed_data;
mod store;
mod time;

use serde_json::json;

use crate::http::{FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::State;

pub use store::record;

use customers::{create_customer, delete_customer, update_customer};
use errors::{errors, injected_error, not_found, THROTTLED, UNAUTHORIZED};
use list::{count, get_one, list};
use store::{reset, seed, with_store, Kind, Store};

pub const MODULE: ProviderModule = ProviderModule {
    name: "shopify",
    handles: |path| path.starts_with("/admin/"),
    handle,
    injected_error,
    seed,
    reset,
};

/// The shop webhooks come from (`tether-test.myshopify.com`, the `shop` the regression tests configure).
pub const SHOP: &str = "tether-test";
/// The API version webhooks are rendered in (the fake serves every `YYYY-MM` version the same way).
pub const API_VERSION: &str = "2024-01";

fn is_version(v: &str) -> bool {
    v == "unstable"
        || (v.len() == 7
            && v.as_bytes().get(4) == Some(&b'-')
            && v.bytes().enumerate().all(|(i, b)| i == 4 || b.is_ascii_digit()))
}

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    if req.path == "/admin/_fake/rate_limited" {
        let n = with_store(state, |s| s.rate_limited);
        return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
    }
    let Some(rest) = req.path.strip_prefix("/admin/api/") else {
        return Some(not_found());
    };
    if req.header_value("x-shopify-access-token") != Some(state.config.token.as_str()) {
        return Some(errors(401, json!(UNAUTHORIZED)));
    }
    Some(with_store(state, |store| {
        if !store.take_call() {
            store.rate_limited += 1;
            return errors(429, json!(THROTTLED))
                .with_header("Retry-After", "1.0")
                .with_header("X-Shopify-Shop-Api-Call-Limit", &store.call_limit());
        }
        let resp = route(store, req, rest);
        resp.with_header("X-Shopify-Shop-Api-Call-Limit", &store.call_limit())
    }))
}

fn route(store: &mut Store, req: &FakeRequest, rest: &str) -> FakeResponse {
    let Some((version, path)) = rest.split_once('/') else {
        return not_found();
    };
    if !is_version(version) {
        return not_found();
    }
    let Some(path) = path.strip_suffix(".json") else {
        return not_found();
    };
    let (resource, tail) = match path.split_once('/') {
        Some((r, t)) => (r, Some(t)),
        None => (path, None),
    };
    let kind = match resource {
        "customers" => Kind::Customers,
        "products" => Kind::Products,
        "orders" => Kind::Orders,
        _ => return not_found(),
    };
    let id = tail.and_then(|t| if t == "count" { None } else { t.parse::<u64>().ok() });
    match (req.method.as_str(), tail, id) {
        ("GET", None, _) => list(store, req, version, kind),
        ("GET", Some("count"), _) => count(store, req, kind),
        ("GET", Some(_), Some(id)) => get_one(store, req, kind, id),
        ("POST", None, _) if kind == Kind::Customers => create_customer(store, req),
        ("PUT", Some(_), Some(id)) if kind == Kind::Customers => update_customer(store, req, id),
        ("DELETE", Some(_), Some(id)) if kind == Kind::Customers => delete_customer(store, id),
        _ => not_found(),
    }
}
