//! Shopify's error bodies: `{"errors": "Not Found"}` or `{"errors": {"field": [...]}}`.

use serde_json::{json, Value};

use crate::http::FakeResponse;
use crate::state::State;

pub(super) const UNAUTHORIZED: &str = "[API] Invalid API key or access token (unrecognized login or wrong password)";
pub(super) const THROTTLED: &str =
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.";

pub(super) fn errors(status: u16, errors: Value) -> FakeResponse {
    FakeResponse::json(status, &json!({ "errors": errors }))
}

pub(super) fn not_found() -> FakeResponse {
    errors(404, json!("Not Found"))
}

pub(super) fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        401 => errors(401, json!(UNAUTHORIZED)),
        404 => not_found(),
        429 => errors(429, json!(THROTTLED)),
        s if s >= 500 => errors(s, json!("Internal Server Error")),
        402 => errors(402, json!("Unavailable Shop")),
        403 => errors(403, json!("Forbidden")),
        406 => errors(406, json!("Not Acceptable")),
        422 => errors(422, json!({ "base": ["Unprocessable Entity"] })),
        s => errors(s, json!("Bad Request")),
    }
}

pub(super) fn invalid_value(name: &str) -> FakeResponse {
    errors(400, json!({ name: "Invalid value." }))
}
