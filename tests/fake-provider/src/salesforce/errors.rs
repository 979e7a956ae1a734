//! Salesforce's error answers: an array of `{"message","errorCode"[,"fields"]}`, and the entries of composite
//! results.

use serde_json::{json, Map, Value};

use crate::http::FakeResponse;
use crate::state::State;

/// One Salesforce error object.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SfError {
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) fields: Option<Vec<String>>,
}

impl SfError {
    pub(super) fn new(code: &'static str, message: impl Into<String>) -> SfError {
        SfError { code, message: message.into(), fields: None }
    }

    pub(super) fn with_fields(code: &'static str, message: impl Into<String>, fields: Vec<String>) -> SfError {
        SfError { code, message: message.into(), fields: Some(fields) }
    }

    /// As an entry of an error array: `{"message","errorCode"[,"fields"]}`.
    fn value(&self) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), Value::String(self.message.clone()));
        m.insert("errorCode".into(), Value::String(self.code.to_string()));
        if let Some(f) = &self.fields {
            m.insert("fields".into(), json!(f));
        }
        Value::Object(m)
    }

    /// As an entry of a composite result's `errors`: `{"statusCode","message","fields"}`.
    pub(super) fn collection_value(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields.clone().unwrap_or_default() })
    }
}

pub(super) fn errors(status: u16, list: &[SfError]) -> FakeResponse {
    FakeResponse::json(status, &Value::Array(list.iter().map(SfError::value).collect()))
}

pub(super) fn error(status: u16, code: &'static str, message: &str) -> FakeResponse {
    errors(status, &[SfError::new(code, message)])
}

pub(super) fn not_found() -> FakeResponse {
    FakeResponse::json(404, &json!([{ "errorCode": "NOT_FOUND", "message": "The requested resource does not exist" }]))
}

pub(super) fn invalid_session() -> FakeResponse {
    error(401, "INVALID_SESSION_ID", "Session expired or invalid")
}

pub(super) fn method_not_allowed(method: &str, allowed: &[&str]) -> FakeResponse {
    let mut all = vec!["HEAD"];
    all.extend_from_slice(allowed);
    FakeResponse::json(
        405,
        &json!([{
            "errorCode": "METHOD_NOT_ALLOWED",
            "message": format!("HTTP Method '{method}' not allowed. Allowed are {}", all.join(",")),
        }]),
    )
    .with_header("Allow", &all.join(","))
}

pub(super) fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        401 => invalid_session(),
        403 | 429 => error(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        404 => not_found(),
        503 => error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
        500 => error(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-8 (-1234567890)",
        ),
        _ => error(status, "UNKNOWN_EXCEPTION", &format!("injected failure {status}")),
    }
}
