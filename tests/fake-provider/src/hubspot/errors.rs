//! HubSpot's error bodies: `{"status":"error","message":..,"correlationId":..,"category":..}`, with
//! `errors` for validation problems and `context` for unknown ids, and the 401s of missing and expired tokens.

use serde_json::json;

use crate::http::FakeResponse;
use crate::state::State;

const AUTH_MESSAGE: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";

/// HubSpot's 401 for an expired OAuth token: "... expired 5 minute(s) ago." (seconds, minutes, hours or days).
pub(super) fn expired(state: &State, secs: u64) -> FakeResponse {
    let (n, unit) = match secs {
        0..=59 => (secs, "second"),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let message = format!("The OAuth token used to make this call expired {n} {unit}(s) ago.");
    hubspot_error(state, 401, &message, "EXPIRED_AUTHENTICATION")
}

/// HubSpot's 401 body.
pub fn unauthorised(state: &State) -> FakeResponse {
    hubspot_error(state, 401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
}

/// `{"status":"error","message":..,"correlationId":..,"category":..}`
pub fn hubspot_error(state: &State, status: u16, message: &str, category: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": state.correlation_id(),
            "category": category,
        }),
    )
}

/// HubSpot-shaped body for an injected failure with the given status.
pub fn injected_error(state: &State, status: u16) -> FakeResponse {
    if status == 429 {
        return rate_limited(state);
    }
    let category = match status {
        400 => "VALIDATION_ERROR",
        401 => "INVALID_AUTHENTICATION",
        403 => "MISSING_SCOPES",
        404 => "OBJECT_NOT_FOUND",
        409 => "CONFLICT",
        502..=504 => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    };
    let message = if status == 500 { "Internal error".to_string() } else { format!("injected failure {status}") };
    hubspot_error(state, status, &message, category)
}

/// HubSpot's 429 for more requests per second than allowed.
pub(super) fn rate_limited(state: &State) -> FakeResponse {
    FakeResponse::json(
        429,
        &json!({
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": state.correlation_id(),
            "policyName": "SECONDLY",
            "groupName": "publicapi",
        }),
    )
}

/// 400 in HubSpot's validation shape, naming the offending query parameter.
pub(super) fn validation_error(state: &State, message: &str, code: &str, param: &str) -> FakeResponse {
    FakeResponse::json(
        400,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": state.correlation_id(),
            "category": "VALIDATION_ERROR",
            "errors": [{ "message": message, "code": code, "in": param }],
        }),
    )
}

/// HubSpot's 404 for an unknown (or archived) object id.
pub fn not_found(state: &State, id: &str) -> FakeResponse {
    FakeResponse::json(
        404,
        &json!({
            "status": "error",
            "message": "Object not found.  objectId are usually numeric.",
            "correlationId": state.correlation_id(),
            "context": { "id": [id] },
            "category": "OBJECT_NOT_FOUND",
        }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn expiry_messages_pick_a_unit() {
        let st = State::new(crate::state::Config::default());
        for (secs, text) in [
            (0, "0 second(s)"),
            (59, "59 second(s)"),
            (125, "2 minute(s)"),
            (7200, "2 hour(s)"),
            (86_400 * 3 + 5, "3 day(s)"),
        ] {
            let body: Value = serde_json::from_slice(&expired(&st, secs).body).unwrap_or(Value::Null);
            assert_eq!(body["message"], format!("The OAuth token used to make this call expired {text} ago."));
            assert_eq!(body["category"], "EXPIRED_AUTHENTICATION");
        }
    }
}
