//! Stripe's authentication: the secret key as `Authorization: Bearer <key>` or as the Basic user, and the 401s
//! that quote a masked key.

use super::errors::{api_error, ApiError, MISSING_KEY};
use crate::http::{base64_decode, FakeRequest};
use crate::shared::request::authorization;
use crate::state::State;

/// `sk_test_****...****abcd`: the first 8 characters of a prefixed key and the last 4 are shown.
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return key.to_string();
    }
    let prefixed = n > 12 && chars.iter().take(8).any(|c| *c == '_');
    let keep_start = if prefixed { 8 } else { 0 };
    let mut out: String = chars.iter().take(keep_start).collect();
    out.extend(std::iter::repeat_n('*', n - keep_start - 4));
    out.extend(chars.iter().skip(n - 4));
    out
}

/// The API key from `Authorization: Bearer <key>` or Basic `<key>:` (None: none given).
fn api_key(req: &FakeRequest) -> Option<String> {
    let (scheme, rest) = authorization(req)?;
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(rest)?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':').map_or(text.as_str(), |(user, _)| user).to_string()
    } else {
        return None;
    };
    if key.is_empty() {
        None
    } else {
        Some(key)
    }
}

pub(super) fn check_auth(state: &State, req: &FakeRequest) -> Result<(), ApiError> {
    let Some(key) = api_key(req) else {
        return Err(api_error(401, "invalid_request_error", None, MISSING_KEY, None));
    };
    if key == state.config.token {
        return Ok(());
    }
    let message = if key.chars().any(char::is_whitespace) {
        format!(
            "Invalid API Key provided: {}. This key contains at least one space. Please delete the spaces and try \
             again. If you have any questions, we can help at https://support.stripe.com/.",
            mask_key(&key)
        )
    } else {
        format!("Invalid API Key provided: {}", mask_key(&key))
    };
    Err(api_error(401, "invalid_request_error", None, &message, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_key("undefined"), "*****ined");
        assert_eq!(mask_key("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(mask_key("wrong-token"), "*******oken");
        assert_eq!(mask_key("abc"), "abc");
    }
}
