//! Stripe's error answers: `{"error": {"code", "doc_url", "message", "param", "type"}}`, pretty-printed, with
//! `Request-Id` and `Stripe-Version` headers; also the errors for requests that break the published spec.

use serde_json::{json, Map, Value};

use super::spec::Violation;
use super::store::with_store;
use super::store::Store;
use crate::http::{FakeRequest, FakeResponse};
use crate::state::State;

/// API version of the pruned published spec (`specs/PROVENANCE.md`).
const API_VERSION: &str = "2023-08-16";

pub(super) const MISSING_KEY: &str =
    "You did not provide an API key. You need to provide your API key in the Authorization \
header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";
const RATE_LIMITED: &str =
    "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.";

/// An error answer: status and the `{"error": {...}}` body.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: u16,
    pub(super) body: Value,
}

pub(super) fn api_error(status: u16, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> ApiError {
    let mut e = Map::new();
    if let Some(code) = code {
        e.insert("code".into(), json!(code));
        e.insert("doc_url".into(), json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))));
    }
    e.insert("message".into(), json!(message));
    if let Some(param) = param {
        e.insert("param".into(), json!(param));
    }
    e.insert("type".into(), json!(kind));
    ApiError { status, body: json!({ "error": e }) }
}

/// 400 `invalid_request_error` without a code.
pub(super) fn invalid(message: &str, param: Option<&str>) -> ApiError {
    api_error(400, "invalid_request_error", None, message, param)
}

/// 400 `invalid_request_error` with a code.
pub(super) fn coded(code: &str, message: &str, param: &str) -> ApiError {
    api_error(400, "invalid_request_error", Some(code), message, Some(param))
}

pub(super) fn unknown_param(name: &str) -> ApiError {
    coded("parameter_unknown", &format!("Received unknown parameter: {name}"), name)
}

pub(super) fn invalid_integer(value: &str, param: &str) -> ApiError {
    coded("parameter_invalid_integer", &format!("Invalid integer: {value}"), param)
}

/// `No such customer: 'cus_x'` (`resource_missing`).
pub(super) fn no_such(status: u16, kind: &str, id: &str, param: &str) -> ApiError {
    api_error(
        status,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

pub(super) fn cannot_unset(name: &str) -> ApiError {
    coded(
        "parameter_invalid_empty",
        &format!(
            "You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; \
             however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty \
             value."
        ),
        name,
    )
}

pub(super) fn unrecognized(req: &FakeRequest) -> ApiError {
    let message = if req.path.ends_with('/') {
        format!(
            "Unrecognized request URL ({}: {}). If you are trying to list objects, remove the trailing slash. If you \
             are trying to retrieve an object, make sure you passed a valid (non-empty) identifier in your code. \
             Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            req.method, req.path
        )
    } else {
        format!(
            "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at \
             https://support.stripe.com/.",
            req.method, req.path
        )
    };
    api_error(404, "invalid_request_error", None, &message, None)
}

pub(super) fn pretty(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

pub(super) fn respond(status: u16, body: Vec<u8>, request_id: &str) -> FakeResponse {
    FakeResponse::raw_json(status, body)
        .with_header("Request-Id", request_id)
        .with_header("Stripe-Version", API_VERSION)
}

pub(super) fn injected_error(state: &State, status: u16) -> FakeResponse {
    let err = match status {
        429 => api_error(429, "invalid_request_error", Some("rate_limit"), RATE_LIMITED, None),
        401 => api_error(401, "invalid_request_error", None, MISSING_KEY, None),
        404 => api_error(404, "invalid_request_error", Some("resource_missing"), "No such object", None),
        s if s >= 500 => api_error(s, "api_error", None, "An unknown error occurred", None),
        s => api_error(s, "invalid_request_error", None, "An unknown error occurred", None),
    };
    let request_id = with_store(state, Store::request_id);
    respond(status, pretty(&err.body), &request_id)
}

/// Stripe's answer to a request that does not conform to the published spec.
pub(super) fn violation_error(v: Violation) -> ApiError {
    match v {
        Violation::Unknown(param) => unknown_param(&param),
        Violation::Missing(param) => coded("parameter_missing", &format!("Missing required param: {param}."), &param),
        Violation::CannotUnset(param) => cannot_unset(&param),
        Violation::NotInteger { param, value } => invalid_integer(&value, &param),
        Violation::NotNumber { param, value } => invalid(&format!("Invalid decimal: {value}"), Some(&param)),
        Violation::NotBoolean { param, value } => invalid(&format!("Invalid boolean: {value}"), Some(&param)),
        Violation::NotObject(param) => invalid("Invalid object", Some(&param)),
        Violation::NotArray(param) => invalid("Invalid array", Some(&param)),
        Violation::NotInEnum { param, allowed } => {
            invalid(&format!("Invalid {param}: must be one of {}", one_of(&allowed)), Some(&param))
        }
        Violation::TooLong { param, value, max } => {
            invalid(&format!("Invalid string: {}; must be at most {max} characters", elide(&value)), Some(&param))
        }
        Violation::NoOperation(op) => {
            api_error(500, "api_error", None, &format!("fake-provider: {op} is not in the Stripe spec"), None)
        }
    }
}

/// `a`, `a or b`, `a, b, or c`: how Stripe lists enum values.
fn one_of(values: &[String]) -> String {
    match values {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

/// A long value as Stripe quotes it in errors: the first and last ten characters (`aaaaaaaaaa...aaaaaaaaaa`).
fn elide(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 20 {
        return value.to_string();
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 10..].iter().collect();
    format!("{head}...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_lists_and_elided_values() {
        assert_eq!(one_of(&["a".into()]), "a");
        assert_eq!(one_of(&["one_time".into(), "recurring".into()]), "one_time or recurring");
        assert_eq!(one_of(&["exempt".into(), "none".into(), "reverse".into()]), "exempt, none, or reverse");
        assert_eq!(elide("short"), "short");
        assert_eq!(elide(&"x".repeat(20)), "x".repeat(20));
        assert_eq!(elide("abcdefghij_middle_klmnopqrst"), "abcdefghij...klmnopqrst");
    }
}
