//! Airtable's error bodies: `{"error": {"type", "message"}}`, a bare `{"error": "NOT_FOUND"}` for unknown
//! bases and records by URL, and the `errors` list of a 429.

use serde_json::json;

use crate::http::FakeResponse;
use crate::state::State;

pub(super) fn at_error(status: u16, kind: &str, message: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({ "error": { "type": kind, "message": message } }))
}

pub(super) fn not_found() -> FakeResponse {
    FakeResponse::json(404, &json!({ "error": "NOT_FOUND" }))
}

pub(super) fn invalid_request() -> FakeResponse {
    at_error(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed. Check your request data.")
}

pub(super) fn record_not_found() -> FakeResponse {
    at_error(404, "MODEL_ID_NOT_FOUND", "Record not found")
}

pub(super) fn rate_limited_body() -> FakeResponse {
    FakeResponse::json(
        429,
        &json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] }),
    )
}

pub(super) fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        429 => rate_limited_body(),
        401 => at_error(401, "AUTHENTICATION_REQUIRED", "Authentication required"),
        403 => at_error(403, "INVALID_PERMISSIONS", "You are not permitted to perform this operation"),
        404 => not_found(),
        422 => invalid_request(),
        500..=599 => at_error(status, "SERVER_ERROR", "Server error"),
        _ => at_error(status, "INVALID_REQUEST_UNKNOWN", &format!("injected failure {status}")),
    }
}

/// A request-level write error (all or nothing).
#[derive(Debug)]
pub(super) struct WriteError {
    pub(super) status: u16,
    pub(super) kind: &'static str,
    pub(super) message: String,
}

impl WriteError {
    pub(super) fn new(kind: &'static str, message: impl Into<String>) -> WriteError {
        WriteError { status: 422, kind, message: message.into() }
    }

    pub(super) fn response(&self) -> FakeResponse {
        at_error(self.status, self.kind, &self.message)
    }
}

pub(super) fn formula_error(detail: &str) -> FakeResponse {
    at_error(422, "INVALID_FILTER_BY_FORMULA", &format!("The formula for filtering records is invalid: {detail}"))
}
