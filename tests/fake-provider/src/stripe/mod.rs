//! The fake Stripe API (`/v1/...`): customers and products (read and write), prices and invoices (read).
//!
//! Like the real API: a secret key as `Authorization: Bearer <key>` or as the HTTP Basic user; bodies are
//! `application/x-www-form-urlencoded` with bracketed nested keys (`metadata[tier]=gold`, `expand[]=x`,
//! `preferred_locales[0]=fr`) and an empty value unsets; lists are newest first with `limit`,
//! `starting_after`, `ending_before` and `created[gt|gte|lt|lte]`; errors are `{"error": {...}}`;
//! `Idempotency-Key` on POST replays the first answer; every answer carries a `Request-Id`. Bodies are
//! pretty-printed (two spaces), as Stripe sends them. Ids, timestamps and data are deterministic.
//!
//! Every request to `/v1/customers` and `/v1/customers/{customer}` is first checked against Stripe's published
//! OpenAPI description (`spec`, `specs/stripe-customers.mock.json`): unknown parameters, wrong types and
//! malformed nesting get Stripe's error before the endpoint runs. Products, prices and invoices, which that spec
//! does not cover, keep hand-written parameter lists (`list`, `products`).
//!
//! Files by concern: `store` and `seed_data` (the four tables, seeded newest first, the idempotency keys), `params`
//! (decoding bracketed form parameters), `spec` (the check against the published spec), `auth`, `list` (list
//! objects, filters, cursors), `customers` and `products` (their endpoints) and `errors` (Stripe's error
//! bodies). This module routes a request: authentication, its parameters, the idempotency key of a POST.

mod auth;
mod customers;
mod errors;
mod list;
mod params;
mod products;
mod seed_data;
pub(crate) mod spec;
mod store;

use serde_json::Value;

use crate::http::{parse_query, percent_decode, FakeRequest, FakeResponse, FORM};
use crate::providers::ProviderModule;
use crate::state::State;

pub use store::record;

use auth::check_auth;
use customers::{create_customer, delete_customer, get_customer, update_customer};
use errors::{api_error, injected_error, invalid, pretty, respond, unrecognized, violation_error, ApiError};
use list::{get_one, list_customers, list_invoices, list_prices, list_products};
use params::{parse_params, Params};
use products::{create_product, delete_product, update_product};
use store::{reset, seed, with_store, Saved, Store};

pub const MODULE: ProviderModule =
    ProviderModule { name: "stripe", handles: |path| path.starts_with("/v1/"), handle, injected_error, seed, reset };

const MAX_IDEMPOTENCY_KEY: usize = 255;

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    Some(with_store(state, |store| serve(state, store, req)))
}

fn serve(state: &State, store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let request_id = store.request_id();
    if let Err(e) = check_auth(state, req) {
        return respond(e.status, pretty(&e.body), &request_id)
            .with_header("WWW-Authenticate", "Basic realm=\"Stripe\"");
    }
    let segs: Vec<String> = req.path.split('/').skip(2).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let known = match segs.as_slice() {
        ["customers" | "products"] => matches!(method, "GET" | "POST"),
        ["customers" | "products", id] => !id.is_empty() && matches!(method, "GET" | "POST" | "DELETE"),
        ["prices" | "invoices"] => method == "GET",
        ["prices" | "invoices", id] => !id.is_empty() && method == "GET",
        _ => false,
    };
    if !known {
        let e = unrecognized(req);
        return respond(e.status, pretty(&e.body), &request_id);
    }
    let params = match request_params(req) {
        Ok(p) => p,
        Err(e) => return respond(e.status, pretty(&e.body), &request_id),
    };
    if req.method != "POST" {
        let (status, body) = match execute(store, req, &segs, &params) {
            Ok(v) => (200, pretty(&v)),
            Err(e) => (e.status, pretty(&e.body)),
        };
        return respond(status, body, &request_id);
    }
    let Some(key) = req.header_value("idempotency-key").map(str::to_string) else {
        let (status, body) = match execute(store, req, &segs, &params) {
            Ok(v) => (200, pretty(&v)),
            Err(e) => (e.status, pretty(&e.body)),
        };
        return respond(status, body, &request_id);
    };
    idempotent(store, req, &segs, &params, &key, &request_id)
}

/// A POST with an `Idempotency-Key`: the first answer is saved and replayed for the same parameters.
fn idempotent(
    store: &mut Store,
    req: &FakeRequest,
    segs: &[&str],
    params: &Params,
    key: &str,
    request_id: &str,
) -> FakeResponse {
    let len = key.chars().count();
    if len == 0 || len > MAX_IDEMPOTENCY_KEY {
        let e = invalid(
            &format!(
                "Idempotent key length is {len}, which is outside accepted lengths. Idempotent Keys must be 1-255 \
                 characters long. If you're looking for a decent generator, try using a UUID defined by IETF RFC \
                 4122."
            ),
            None,
        );
        return respond(e.status, pretty(&e.body), request_id);
    }
    let endpoint = format!("{} {}", req.method, req.path);
    let fingerprint = format!("{params:?}");
    if let Some(saved) = store.idempotency.get(key) {
        let mismatch = if saved.endpoint != endpoint {
            Some(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for \
                 ('{}' vs '{endpoint}'). Try using a key other than '{key}' if you meant to execute a different \
                 request.",
                saved.endpoint
            ))
        } else if saved.params != fingerprint {
            Some(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ))
        } else {
            None
        };
        if let Some(message) = mismatch {
            let e = api_error(400, "idempotency_error", None, &message, None);
            return respond(e.status, pretty(&e.body), request_id).with_header("Idempotency-Key", key);
        }
        return respond(saved.status, saved.body.clone(), request_id)
            .with_header("Idempotency-Key", key)
            .with_header("Idempotent-Replayed", "true")
            .with_header("Original-Request", &saved.request_id);
    }
    let (status, body) = match execute(store, req, segs, params) {
        Ok(v) => (200, pretty(&v)),
        Err(e) => (e.status, pretty(&e.body)),
    };
    // Like Stripe, a request rejected before the endpoint ran (parameter validation) is not saved.
    if status != 400 {
        store.idempotency.insert(
            key.to_string(),
            Saved { endpoint, params: fingerprint, status, body: body.clone(), request_id: request_id.to_string() },
        );
    }
    respond(status, body, request_id).with_header("Idempotency-Key", key)
}

/// Query parameters for GET and DELETE; the form body for POST (which must be form-encoded).
fn request_params(req: &FakeRequest) -> Result<Params, ApiError> {
    if req.method != "POST" {
        return Ok(parse_params(&req.query));
    }
    let content_type = req.header_value("content-type");
    if !req.has_media_type(FORM) && (content_type.is_some() || !req.body.is_empty()) {
        return Err(invalid(
            &format!(
                "Invalid request: unsupported Content-Type {}. If error persists and you need assistance, please \
                 contact support@stripe.com.",
                content_type.unwrap_or("")
            ),
            None,
        ));
    }
    let body = String::from_utf8_lossy(&req.body);
    let mut pairs = req.query.clone();
    pairs.extend(parse_query(&body));
    Ok(parse_params(&pairs))
}

/// The spec's path template for a customers URL (None: not covered by the spec).
fn spec_template(segs: &[&str]) -> Option<&'static str> {
    match segs {
        ["customers"] => Some("/v1/customers"),
        ["customers", _] => Some("/v1/customers/{customer}"),
        _ => None,
    }
}

fn execute(store: &mut Store, req: &FakeRequest, segs: &[&str], params: &Params) -> Result<Value, ApiError> {
    if let Some(template) = spec_template(segs) {
        spec::check(&req.method, template, params).map_err(violation_error)?;
    }
    match (req.method.as_str(), segs) {
        ("GET", ["customers"]) => list_customers(store, params),
        ("POST", ["customers"]) => create_customer(store, params),
        ("GET", ["customers", id]) => get_customer(store, id, params),
        ("POST", ["customers", id]) => update_customer(store, id, params),
        ("DELETE", ["customers", id]) => delete_customer(store, id),
        ("GET", ["products"]) => list_products(store, params),
        ("POST", ["products"]) => create_product(store, params),
        ("GET", ["products", id]) => get_one(&store.products, "product", id, params),
        ("POST", ["products", id]) => update_product(store, id, params),
        ("DELETE", ["products", id]) => delete_product(store, id, params),
        ("GET", ["prices"]) => list_prices(store, params),
        ("GET", ["prices", id]) => get_one(&store.prices, "price", id, params),
        ("GET", ["invoices"]) => list_invoices(store, params),
        ("GET", ["invoices", id]) => get_one(&store.invoices, "invoice", id, params),
        _ => Err(unrecognized(req)),
    }
}
