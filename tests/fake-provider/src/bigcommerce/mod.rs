//! The fake BigCommerce v3 API (`/stores/{store_hash}/v3/...`): customers (read and batch write) and catalog
//! products (list, get one, update one with `PUT .../catalog/products/{id}` and batch update with
//! `PUT .../catalog/products`). The only store is `abc123`.
//!
//! Like the real API: `X-Auth-Token`; `{"data": [...], "meta": {"pagination": {...}}}` with page/limit
//! pagination (and cursor pagination for customers); `id:in`, `email:in`, `name:like`... filters, anything
//! else is a 422; one record as `{"data": {...}, "meta": {}}`; batch writes of at most 10 items (413 beyond),
//! all or nothing; `{"status", "title", "type", "errors"}` error bodies (product field errors: 422
//! `Invalid field(s): ...` naming each field; duplicate product names or SKUs: 409); a request quota per time
//! window with `X-Rate-Limit-*` headers on every answer and 429 when it is used up. Ids, timestamps and data
//! are deterministic.
//!
//! Files by concern: `store` and `seed_data` (customers, products, the request quota), `time` (dates in answers and
//! filters), `request` (query filters and batch bodies), `paging` (page and cursor pagination), `customers`
//! and `products` (their endpoints) and `errors`. This module authenticates, counts the request against the
//! quota and routes.

mod customers;
mod errors;
mod paging;
mod products;
mod request;
mod seed_data;
mod store;
mod time;

use serde_json::json;

use crate::http::{FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::State;

pub use customers::customers_to_delete;

use customers::{create_customers, delete_customers, list_customers, update_customers};
use errors::{error, injected_error, ERROR_TYPE, UNAUTHORIZED};
use products::{get_product, list_products, update_product, update_products};
use store::{reset, seed, with_store, Store};

pub const MODULE: ProviderModule = ProviderModule {
    name: "bigcommerce",
    handles: |path| path.starts_with("/stores/"),
    handle,
    injected_error,
    seed,
    reset,
};

pub const STORE_HASH: &str = "abc123";

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    if req.path == "/stores/_fake/rate_limited" {
        let n = with_store(state, |s| s.rate_limited);
        return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
    }
    let rest = req.path.strip_prefix("/stores/").unwrap_or("");
    let (hash, api) = rest.split_once('/').unwrap_or((rest, ""));
    Some(with_store(state, |store| {
        if req.header_value("x-auth-token") != Some(state.config.token.as_str()) {
            let resp = FakeResponse::json(401, &json!({ "status": 401, "title": UNAUTHORIZED, "type": ERROR_TYPE }));
            return store.rate_headers(resp);
        }
        if hash != STORE_HASH {
            return store.rate_headers(error(404, "Store not found", json!({})));
        }
        if !store.take_request() {
            store.rate_limited += 1;
            let retry = store.reset_ms().div_ceil(1_000).max(1);
            let resp = store.rate_headers(error(429, "Too many requests", json!({})));
            return resp.with_header("X-Retry-After", &retry.to_string());
        }
        let resp = route(store, req, api);
        store.rate_headers(resp)
    }))
}

/// The resources of the fake's API.
#[derive(Clone, Copy)]
enum Resource {
    Customers,
    Products,
    /// `v3/catalog/products/{product_id}`.
    Product(u64),
}

impl Resource {
    /// The resource of a path under `/stores/{hash}/` (without a trailing slash).
    fn of(path: &str) -> Option<Resource> {
        match path {
            "v3/customers" => Some(Resource::Customers),
            "v3/catalog/products" => Some(Resource::Products),
            _ => {
                let id = path.strip_prefix("v3/catalog/products/")?;
                // Only an integer names a product (as in BigCommerce's routes).
                (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| id.parse().ok())
                    .flatten()
                    .map(Resource::Product)
            }
        }
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Resource::Customers => &["GET", "POST", "PUT", "DELETE"],
            Resource::Products | Resource::Product(_) => &["GET", "PUT"],
        }
    }
}

fn route(store: &mut Store, req: &FakeRequest, api: &str) -> FakeResponse {
    let Some(resource) = Resource::of(api.trim_end_matches('/')) else {
        return error(404, "Not Found", json!({}));
    };
    let allowed = resource.methods();
    if !allowed.contains(&req.method.as_str()) {
        return error(405, "Method Not Allowed", json!({})).with_header("Allow", &allowed.join(", "));
    }
    match (resource, req.method.as_str()) {
        (Resource::Customers, "GET") => list_customers(store, req),
        (Resource::Customers, "POST") => create_customers(store, req),
        (Resource::Customers, "PUT") => update_customers(store, req),
        (Resource::Customers, _) => delete_customers(store, req),
        (Resource::Products, "GET") => list_products(store, req),
        (Resource::Products, _) => update_products(store, req),
        (Resource::Product(id), "GET") => get_product(store, req, id),
        (Resource::Product(id), _) => update_product(store, req, id),
    }
}
