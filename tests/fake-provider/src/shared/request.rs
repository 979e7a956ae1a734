//! Parsing what requests carry in headers and form bodies: the `Authorization` header (`Bearer` and `Basic`
//! credentials), `application/x-www-form-urlencoded` bodies.

use crate::http::{base64_decode, parse_query, FakeRequest};

/// The scheme and the credentials of an `Authorization: <scheme> <credentials>` header, both trimmed;
/// `None` without the header or a space in it. Each provider decides which schemes it accepts.
pub fn authorization(req: &FakeRequest) -> Option<(&str, &str)> {
    let (scheme, credentials) = req.header_value("authorization")?.trim().split_once(' ')?;
    Some((scheme, credentials.trim()))
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(req: &FakeRequest) -> Option<&str> {
    let (scheme, token) = authorization(req)?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `(user, password)` of an `Authorization: Basic` header, if it is well formed.
pub fn basic_credentials(req: &FakeRequest) -> Option<(String, String)> {
    let (scheme, cred) = authorization(req)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = String::from_utf8(base64_decode(cred)?).ok()?;
    let (user, password) = raw.split_once(':')?;
    // RFC 6749 section 2.3.1: both parts are form-urlencoded before base64.
    Some((crate::http::percent_decode(user), crate::http::percent_decode(password)))
}

/// The decoded form parameters of a request body.
pub fn form_params(req: &FakeRequest) -> Vec<(String, String)> {
    parse_query(&String::from_utf8_lossy(&req.body))
}

/// The first value of a form parameter (empty values count as absent).
pub fn form_param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::base64_encode;

    #[test]
    fn authorization_headers() {
        let with = |value: &str| FakeRequest::get("/").header("Authorization", value);
        assert_eq!(authorization(&with("  Bearer   abc ")), Some(("Bearer", "abc")));
        assert_eq!(authorization(&with("Bearer")), None);
        assert_eq!(authorization(&FakeRequest::get("/")), None);
        assert_eq!(bearer_token(&with("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("Bearer  ")), None);
        assert_eq!(bearer_token(&with("Basic abc")), None);
        let basic = format!("Basic {}", base64_encode(b"a%3Ab:p%40ss"));
        assert_eq!(basic_credentials(&with(&basic)), Some(("a:b".to_string(), "p@ss".to_string())));
        assert_eq!(basic_credentials(&with("Basic !!")), None);
    }

    #[test]
    fn form_bodies() {
        let params = form_params(&FakeRequest::new("POST", "/").body("a=1&b=&a=2&c=x+y"));
        assert_eq!(form_param(&params, "a"), Some("1"));
        assert_eq!(form_param(&params, "b"), None);
        assert_eq!(form_param(&params, "c"), Some("x y"));
    }
}
