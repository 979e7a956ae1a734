//! What a provider's answer means: the one mapping from an error answer to a `TetherError` carrying
//! the provider's own message (found through the connector's error pointers, with per-field details),
//! the status, and the body in DETAIL (redacted, truncated); and a 2xx body that is not the JSON it
//! should be.

use serde_json::Value;

use crate::connector::pointer::Pointer;
use crate::error::TetherError;
use crate::http::endpoint::Endpoint;
use crate::http::transport::HttpResponse;

/// How much of a provider's error body goes into DETAIL.
const MAX_DETAIL_BODY: usize = 2000;

/// The one mapping from a provider's error answer to a TetherError: the provider's own message (found
/// through the connector's error pointers), the status, the body in DETAIL (redacted, truncated).
pub fn provider_error(endpoint: &Endpoint, shown: &str, response: &HttpResponse) -> TetherError {
    let status = response.status;
    let text = String::from_utf8_lossy(&response.body);
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let found = |pointers: &[String]| -> Option<String> {
        let doc = parsed.as_ref()?;
        pointers.iter().find_map(|p| match Pointer::parse(p).ok()?.get(doc)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        })
    };
    let provider_message = found(&endpoint.errors.message);
    let details: Vec<String> = match &parsed {
        Some(doc) => endpoint
            .errors
            .details
            .iter()
            .filter_map(|p| Pointer::parse(p).ok()?.get(doc).and_then(flatten_details))
            .collect(),
        None => Vec::new(),
    };
    let provider_message = match (provider_message, details.join("; ")) {
        (m, d) if d.is_empty() => m,
        (Some(m), d) if m.contains(&d) => Some(m),
        (Some(m), d) if m.ends_with(['.', ':', '!']) => Some(format!("{m} {d}")),
        (Some(m), d) => Some(format!("{m}: {d}")),
        (None, d) => Some(d),
    };
    let code = found(&endpoint.errors.code);
    let message = match (&provider_message, status) {
        (_, 300..=399) => {
            format!("the provider redirected {shown} to {}", response.header("location").unwrap_or("another location"))
        }
        (Some(m), _) => m.clone(),
        (None, _) => format!("HTTP {status} {}", reason(status)),
    };
    let mut body = endpoint.redact(text.trim());
    if body.len() > MAX_DETAIL_BODY {
        let mut end = MAX_DETAIL_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("... (truncated)");
    }
    let mut detail = format!("HTTP {status} from {}", endpoint.redact(shown));
    if let Some(code) = &code {
        detail.push_str(&format!(" ({code})"));
    }
    if !body.is_empty() {
        detail.push_str(": ");
        detail.push_str(&body);
    }
    let hint = match status {
        300..=399 => Some("set the server's base_url to the provider's current address".to_string()),
        401 => Some(format!(
            "check the {} in the user mapping for server \"{}\"",
            endpoint.credentials.option_names(),
            endpoint.server_name
        )),
        403 => Some("the credentials are valid but lack a permission (scope) for this object".to_string()),
        429 => Some("the provider's rate limit was exhausted; retry later or lower the request rate".to_string()),
        _ => None,
    };
    TetherError::Provider {
        connector: endpoint.connector.clone(),
        status,
        message: endpoint.redact(&message),
        detail,
        hint,
    }
}

/// Per-field errors as one line: `{"email": ["is invalid", "is taken"], "phone": "bad"}` reads
/// `email: is invalid, is taken; phone: bad`; an array of messages (or of objects with a `message`)
/// reads as the messages. None when there is nothing to say.
pub fn flatten_details(value: &Value) -> Option<String> {
    fn texts(v: &Value) -> Vec<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_string()],
            Value::Array(items) => items.iter().flat_map(texts).collect(),
            Value::Object(map) => match map.get("message") {
                Some(Value::String(s)) => vec![s.clone()],
                _ => flatten_details(v).into_iter().collect(),
            },
            Value::Number(n) => vec![n.to_string()],
            _ => Vec::new(),
        }
    }
    let parts: Vec<String> = match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| {
                let t = texts(v);
                (!t.is_empty()).then(|| format!("{k}: {}", t.join(", ")))
            })
            .collect(),
        other => texts(other),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn reason(status: u16) -> &'static str {
    match status {
        300..=399 => "Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Parse a 2xx body as JSON; a malformed body is an error naming the request and showing its start.
pub fn parse_json(endpoint: &Endpoint, shown: &str, body: &[u8]) -> Result<Value, TetherError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| malformed(endpoint, shown, body, &e))
}

/// The error for a 2xx body that is not valid JSON.
pub fn malformed(endpoint: &Endpoint, shown: &str, body: &[u8], e: &serde_json::Error) -> TetherError {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    TetherError::BadResponse {
        connector: endpoint.connector.clone(),
        message: format!("the provider returned malformed JSON for {shown}: {e}"),
        detail: format!("response body starts with: {}", endpoint.redact(&text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::rest_endpoint as endpoint;

    #[test]
    fn provider_error_uses_the_connector_message_and_redacts() {
        let e = endpoint(&[("auth", "bearer")], &[("token", "sekrit-token")]);
        let body = br#"{"status":"error","message":"Authentication credentials not found. token sekrit-token","category":"INVALID_AUTHENTICATION"}"#;
        let resp = HttpResponse { status: 401, headers: vec![], body: body.to_vec() };
        let err = provider_error(&e, "GET /crm/v3/objects/contacts", &resp);
        let text = err.to_string();
        assert!(text.starts_with("[rest] Authentication credentials not found."), "{text}");
        assert!(!text.contains("sekrit"), "{text}");
        let detail = err.detail().unwrap();
        assert!(detail.starts_with("HTTP 401 from GET /crm/v3/objects/contacts"), "{detail}");
        assert!(!detail.contains("sekrit") && detail.contains("[redacted]"), "{detail}");
        assert_eq!(err.sqlstate().code(), "28000");
        assert_eq!(err.hint().unwrap(), "check the token in the user mapping for server \"s\"");
    }

    #[test]
    fn provider_error_without_a_message_uses_the_status() {
        let e = endpoint(&[], &[]);
        let resp = HttpResponse { status: 503, headers: vec![], body: b"<html>down</html>".to_vec() };
        let err = provider_error(&e, "GET /items", &resp);
        assert_eq!(err.to_string(), "[rest] HTTP 503 Service Unavailable");
        assert!(err.detail().unwrap().ends_with("<html>down</html>"));
        let long = HttpResponse { status: 400, headers: vec![], body: vec![b'x'; 5000] };
        assert!(provider_error(&e, "GET /items", &long).detail().unwrap().ends_with("(truncated)"));
    }

    #[test]
    fn field_errors_are_flattened_into_the_message() {
        let mut e = endpoint(&[], &[]);
        e.errors.message = vec!["/title".into(), "/errors".into()];
        e.errors.details = vec!["/errors".into()];
        let shopify = br#"{"errors": {"email": ["is invalid", "has already been taken"], "phone": ["is invalid"]}}"#;
        let err = provider_error(
            &e,
            "POST /customers.json",
            &HttpResponse { status: 422, headers: vec![], body: shopify.to_vec() },
        );
        assert_eq!(err.to_string(), "[rest] email: is invalid, has already been taken; phone: is invalid");
        let bigcommerce = br#"{"status": 422, "title": "JSON data is missing or invalid", "errors": {"email": "The field 'email' is invalid."}}"#;
        let err = provider_error(
            &e,
            "POST /customers",
            &HttpResponse { status: 422, headers: vec![], body: bigcommerce.to_vec() },
        );
        assert_eq!(err.to_string(), "[rest] JSON data is missing or invalid: email: The field 'email' is invalid.");
        let plain = br#"{"errors": "Not Found"}"#;
        let err = provider_error(&e, "GET /x", &HttpResponse { status: 404, headers: vec![], body: plain.to_vec() });
        assert_eq!(err.to_string(), "[rest] Not Found", "a string is the message, said once");
        assert_eq!(flatten_details(&serde_json::json!([{"message": "a"}, "b"])).as_deref(), Some("a; b"));
        assert_eq!(flatten_details(&serde_json::json!({})), None);
    }

    #[test]
    fn redirects_are_reported_not_followed() {
        let e = endpoint(&[], &[]);
        let resp =
            HttpResponse { status: 301, headers: vec![("Location".into(), "https://new.test/x".into())], body: vec![] };
        let err = provider_error(&e, "GET /items", &resp);
        assert!(err.to_string().contains("redirected GET /items to https://new.test/x"), "{err}");
    }

    #[test]
    fn malformed_json_is_reported_with_its_start() {
        let e = endpoint(&[], &[]);
        let err = parse_json(&e, "GET /items", br#"{"results": [1, 2"#).unwrap_err();
        assert!(err.to_string().contains("malformed JSON for GET /items"), "{err}");
        assert!(err.detail().unwrap().contains(r#"{"results": [1, 2"#));
        assert_eq!(parse_json(&e, "GET /x", b"  ").unwrap(), Value::Null);
    }
}
