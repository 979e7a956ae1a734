//! `POST /services/oauth2/token` (refresh token and client credentials grants, Salesforce's error bodies, the
//! fake's rotation mode) and the sessions it issues, which authenticate API requests.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::errors::invalid_session;
use super::store::{with_store, Session};
use crate::http::{FakeRequest, FakeResponse, FORM};
use crate::oauth;
use crate::shared::request::{authorization, basic_credentials, form_param, form_params};
use crate::shared::time::WRITE_BASE_MS;
use crate::state::State;

pub const CLIENT_ID: &str = "sf-client";
pub const SHORT_CLIENT_ID: &str = "sf-client-short";
/// The default client secret (`--sf-client-secret`).
pub const CLIENT_SECRET: &str = "sf-secret";
/// Session lifetime of `sf-client` (Salesforce's default session timeout).
const SESSION_SECS: u64 = 7200;

const ORG_ID: &str = "00Dxx0000001gPLEAY";
const USER_ID: &str = "005xx000001SwiUAAS";

pub(super) fn token(state: &State, req: &FakeRequest) -> FakeResponse {
    let refuse = |error: &str, description: &str| {
        FakeResponse::json(400, &json!({ "error": error, "error_description": description }))
    };
    if !req.has_media_type(FORM) {
        return refuse("unsupported_grant_type", "grant type not supported");
    }
    let params = form_params(req);
    let basic = basic_credentials(req);
    let client_id = basic.as_ref().map(|(u, _)| u.as_str()).or_else(|| form_param(&params, "client_id"));
    let secret = basic.as_ref().map(|(_, p)| p.as_str()).or_else(|| form_param(&params, "client_secret"));
    let grant = form_param(&params, "grant_type");
    if !matches!(grant, Some("refresh_token" | "client_credentials")) {
        return refuse("unsupported_grant_type", "grant type not supported");
    }
    let ttl = match client_id {
        Some(CLIENT_ID) => SESSION_SECS,
        Some(SHORT_CLIENT_ID) => 1,
        _ => return refuse("invalid_client_id", "client identifier invalid"),
    };
    if secret != Some(state.config.sf_client_secret.as_str()) {
        return refuse("invalid_client", "invalid client credentials");
    }
    // Salesforce answers a refresh without a refresh_token, unless it rotates them.
    let rotated = match (grant, form_param(&params, "refresh_token")) {
        (Some("refresh_token"), None) => return refuse("invalid_grant", "expired access/refresh token"),
        (Some("refresh_token"), Some(rt)) => match oauth::refresh_grant(state, rt) {
            Err(()) => return refuse("invalid_grant", "expired access/refresh token"),
            Ok(rotated) => rotated,
        },
        _ => None,
    };
    let n = with_store(state, |st| {
        st.issued += 1;
        let n = st.issued;
        st.sessions.insert(session_token(n), Session { at: Instant::now(), ttl: Duration::from_secs(ttl) });
        n
    });
    let host = req.host();
    let issued_at = (WRITE_BASE_MS + n * 1000).to_string();
    // Deterministic stand-in for the HMAC-SHA256 signature (base64 of 32 bytes).
    let mut raw = Vec::with_capacity(32);
    let mut x = n ^ 0x5f5f_5f5f;
    for _ in 0..4 {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ 0xbf58_476d_1ce4_e5b9;
        raw.extend_from_slice(&x.to_be_bytes());
    }
    let mut body = json!({
        "access_token": session_token(n),
        "signature": crate::http::base64_encode(&raw),
        "scope": "api refresh_token",
        "instance_url": format!("http://{host}"),
        "id": format!("http://{host}/id/{ORG_ID}/{USER_ID}"),
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let (Some(rt), Some(obj)) = (rotated, body.as_object_mut()) {
        obj.insert("refresh_token".into(), Value::String(rt));
    }
    FakeResponse::json(200, &body)
}

fn session_token(n: u64) -> String {
    format!("00Dxx0000001gPL!AQ4AQFakeSession.{n}")
}

/// Every session (access token) issued so far, in order (`/_control/oauth_tokens`).
pub fn issued_sessions(state: &State) -> Vec<String> {
    with_store(state, |st| (1..=st.issued).map(session_token).collect())
}

/// Checks `Authorization: Bearer <session>` (or Salesforce's older `OAuth <session>`).
pub(super) fn authenticate(state: &State, req: &FakeRequest) -> Result<(), FakeResponse> {
    let token = authorization(req).and_then(|(scheme, t)| {
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then_some(t)
    });
    let Some(token) = token else {
        return Err(invalid_session());
    };
    let valid = with_store(state, |st| st.sessions.get(token).is_some_and(|s| s.at.elapsed() < s.ttl));
    if valid {
        Ok(())
    } else {
        Err(invalid_session())
    }
}
