//! Parsing what requests carry in headers and form bodies: `Authorization: Bearer` and `Basic` credentials,
//! `application/x-www-form-urlencoded` bodies.

use crate::http::{base64_decode, parse_query, FakeRequest};

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(req: &FakeRequest) -> Option<&str> {
    let value = req.header_value("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `(user, password)` of an `Authorization: Basic` header, if it is well formed.
pub fn basic_credentials(req: &FakeRequest) -> Option<(String, String)> {
    let value = req.header_value("authorization")?.trim();
    let (scheme, cred) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = String::from_utf8(base64_decode(cred.trim())?).ok()?;
    let (user, password) = raw.split_once(':')?;
    // RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
    Some((crate::http::percent_decode(user), crate::http::percent_decode(password)))
}

/// Whether the request body is declared as `application/x-www-form-urlencoded`.
pub fn is_form(req: &FakeRequest) -> bool {
    req.header_value("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The decoded form parameters of a request body.
pub fn form_params(req: &FakeRequest) -> Vec<(String, String)> {
    parse_query(&String::from_utf8_lossy(&req.body))
}

/// The first value of a form parameter (empty values count as absent).
pub fn form_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}
