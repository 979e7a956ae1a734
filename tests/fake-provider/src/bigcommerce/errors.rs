//! BigCommerce's error bodies: `{"status", "title", "type", "errors"}`.

use serde_json::{json, Map, Value};

use super::request::MAX_BATCH;
use super::store::with_store;
use crate::http::FakeResponse;
use crate::state::State;

/// The `type` of every error body (as in recorded BigCommerce answers).
pub(super) const ERROR_TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";
pub(super) const UNAUTHORIZED: &str =
    "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.";

const PRODUCT_NOT_FOUND: &str = "The requested product was not found.";

pub(super) fn error(status: u16, title: &str, errors: Value) -> FakeResponse {
    FakeResponse::json(status, &json!({ "status": status, "title": title, "type": ERROR_TYPE, "errors": errors }))
}

pub(super) fn unprocessable(title: &str) -> FakeResponse {
    error(422, title, json!({}))
}

pub(super) fn injected_error(state: &State, status: u16) -> FakeResponse {
    let title = match status {
        401 => UNAUTHORIZED,
        404 => "Not Found",
        409 => "Conflict",
        413 => "The request payload is too large.",
        422 => "Unprocessable Entity",
        429 => "Too many requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        s if s >= 500 => "Internal Server Error",
        _ => "Bad Request",
    };
    with_store(state, |s| s.rate_headers(error(status, title, json!({}))))
}

pub(super) fn product_not_found(errors: Value) -> FakeResponse {
    error(404, PRODUCT_NOT_FOUND, errors)
}

pub(super) fn invalid_fields(errors: Map<String, Value>) -> FakeResponse {
    let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    let title = format!("Invalid field(s): {}", fields.join(", "));
    error(422, &title, Value::Object(errors))
}

pub(super) fn invalid_json(errors: Value) -> FakeResponse {
    error(422, "JSON data is missing or invalid", errors)
}

pub(super) fn too_large() -> FakeResponse {
    FakeResponse::json(
        413,
        &json!({
            "status": 413,
            "title": format!("The request payload is too large. The maximum items allowed in the array is {MAX_BATCH}."),
            "type": ERROR_TYPE
        }),
    )
}
