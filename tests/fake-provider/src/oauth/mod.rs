//! An OAuth 2.0 token server (RFC 6749 section 6 refresh and section 4.4 client credentials) on two paths:
//!
//! * `POST /oauth/v1/token`: HubSpot's token endpoint, with HubSpot's error bodies
//!   (`{"status":"BAD_REFRESH_TOKEN","message":..,"correlationId":..,"error":..,"error_description":..}`).
//! * `POST /oauth/token`: a generic RFC 6749 endpoint (`{"error":"invalid_grant","error_description":..}`).
//!
//! Clients are `test-client` and `test-client-short`, with the secret of `--client-secret` (default
//! `test-secret`). Issued access tokens (`at-1`, `at-2`, ...) live in the store of `tokens`; other providers
//! accept them through [`token_status`]. The store survives `/_control/reset` (a reset does not log clients out).
//!
//! Refresh tokens are `rt-...` (any, except `rt-revoked...`). In rotation mode (`/_control/oauth?rotate=1`, off
//! again with `rotate=0` or a reset) every refresh grant, here and at Salesforce's endpoint, answers a new refresh
//! token `rt-rot-<n>` and revokes the one used, as providers with refresh token rotation do: the used token is
//! refused from then on with the endpoint's `invalid_grant` answer, whatever the mode. Without rotation the
//! refresh token sent is echoed. `/_control/oauth_tokens` lists every token issued ([`issued_tokens`]), so tests
//! can check that none leaks into logs.
//!
//! The tokens issued and the rotation mode live in `tokens`; this module is the token endpoint. It also carries
//! the reseeding and reset hooks of the HubSpot fake, which is not in the module list of `providers.rs`
//! (`/_control/seed?object=deals`).

mod tokens;

use serde_json::{json, Value};

use crate::http::{FakeRequest, FakeResponse, FORM};
use crate::providers::ProviderModule;
use crate::shared::request::{basic_credentials, form_param, form_params};
use crate::state::State;

pub use tokens::{issued_tokens, refresh_grant, rotation, set_rotation, token_status, TokenStatus};

use tokens::issue;

pub const MODULE: ProviderModule =
    ProviderModule { name: "oauth", handles: |path| path.starts_with("/oauth/"), handle, injected_error, seed, reset };

/// The client whose tokens live 30 minutes (HubSpot's lifetime).
pub const CLIENT_ID: &str = "test-client";
/// The client whose tokens expire one second after issue.
pub const SHORT_CLIENT_ID: &str = "test-client-short";
/// The default client secret of both clients (`--client-secret`).
pub const CLIENT_SECRET: &str = "test-secret";
/// Lifetime of an access token in seconds (HubSpot's `expires_in`).
pub const TOKEN_TTL_SECS: u64 = 1800;

/// The two token endpoints and their error dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    HubSpot,
    Rfc,
}

/// Why a token request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotForm,
    MissingGrant,
    UnsupportedGrant,
    BadClientId,
    BadClientSecret,
    /// Client credentials in both the body and a Basic header, and they disagree.
    ConflictingClient,
    MissingRefreshToken,
    BadRefreshToken,
}

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let dialect = match req.path.as_str() {
        "/oauth/v1/token" => Dialect::HubSpot,
        "/oauth/token" => Dialect::Rfc,
        _ => return None,
    };
    if req.method != "POST" {
        let resp = match dialect {
            Dialect::HubSpot => crate::hubspot::hubspot_error(state, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED"),
            Dialect::Rfc => rfc_error(405, "invalid_request", "the token endpoint only accepts POST"),
        };
        return Some(resp.with_header("Allow", "POST"));
    }
    Some(match token_request(state, req) {
        Ok(body) => {
            FakeResponse::json(200, &body).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
        }
        Err(refusal) => refusal_response(state, dialect, refusal, basic_credentials(req).is_some()),
    })
}

/// Checks a token request and issues a token.
fn token_request(state: &State, req: &FakeRequest) -> Result<Value, Refusal> {
    if !req.has_media_type(FORM) {
        return Err(Refusal::NotForm);
    }
    let params = form_params(req);
    let basic = basic_credentials(req);
    let body_id = form_param(&params, "client_id");
    let body_secret = form_param(&params, "client_secret");
    let (client_id, client_secret) = match &basic {
        Some((user, password)) => {
            if body_id.is_some_and(|id| id != user) || body_secret.is_some_and(|s| s != password) {
                return Err(Refusal::ConflictingClient);
            }
            (Some(user.as_str()), Some(password.as_str()))
        }
        None => (body_id, body_secret),
    };
    // HubSpot checks the client before anything else (a bad client id hides every other problem).
    let ttl = match client_id {
        Some(CLIENT_ID) => TOKEN_TTL_SECS,
        Some(SHORT_CLIENT_ID) => 1,
        _ => return Err(Refusal::BadClientId),
    };
    if client_secret != Some(state.config.client_secret.as_str()) {
        return Err(Refusal::BadClientSecret);
    }
    let refresh = match form_param(&params, "grant_type") {
        None => return Err(Refusal::MissingGrant),
        Some("refresh_token") => match form_param(&params, "refresh_token") {
            None => return Err(Refusal::MissingRefreshToken),
            // Echoed without rotation, a new one with it.
            Some(rt) => match refresh_grant(state, rt) {
                Err(()) => return Err(Refusal::BadRefreshToken),
                Ok(rotated) => Some(rotated.unwrap_or_else(|| rt.to_string())),
            },
        },
        Some("client_credentials") => None,
        Some(_) => return Err(Refusal::UnsupportedGrant),
    };
    let token = issue(state, ttl);
    let mut body = json!({ "access_token": token, "expires_in": ttl, "token_type": "bearer" });
    if let (Some(rt), Some(obj)) = (refresh, body.as_object_mut()) {
        obj.insert("refresh_token".into(), Value::String(rt));
    }
    Ok(body)
}

fn rfc_error(status: u16, error: &str, description: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({ "error": error, "error_description": description }))
        .with_header("Cache-Control", "no-store")
        .with_header("Pragma", "no-cache")
}

fn refusal_response(state: &State, dialect: Dialect, refusal: Refusal, used_basic: bool) -> FakeResponse {
    // (RFC error, description, HubSpot status, HubSpot message)
    let (error, description, hs_status, hs_message) = match refusal {
        Refusal::NotForm => (
            "invalid_request",
            "the request body must be application/x-www-form-urlencoded",
            "BAD_REQUEST",
            "the request body must be application/x-www-form-urlencoded",
        ),
        Refusal::MissingGrant => {
            ("invalid_request", "missing required parameter: grant_type", "BAD_GRANT_TYPE", "missing grant type")
        }
        Refusal::UnsupportedGrant => (
            "unsupported_grant_type",
            "the grant type is not supported by this server",
            "BAD_GRANT_TYPE",
            "unsupported grant type",
        ),
        Refusal::BadClientId => {
            ("invalid_client", "client authentication failed", "BAD_CLIENT_ID", "missing or unknown client id")
        }
        Refusal::BadClientSecret => {
            ("invalid_client", "client authentication failed", "BAD_CLIENT_SECRET", "missing or invalid client secret")
        }
        Refusal::ConflictingClient => (
            "invalid_request",
            "client credentials were sent both in the body and in the Authorization header, and they differ",
            "BAD_CLIENT_ID",
            "missing or unknown client id",
        ),
        Refusal::MissingRefreshToken => (
            "invalid_request",
            "missing required parameter: refresh_token",
            "BAD_REFRESH_TOKEN",
            "missing refresh token",
        ),
        Refusal::BadRefreshToken => (
            "invalid_grant",
            "refresh token is invalid, expired or revoked",
            "BAD_REFRESH_TOKEN",
            "missing or unknown refresh token",
        ),
    };
    match dialect {
        // HubSpot answers every token error with 400; since 2026 the RFC fields ride along.
        Dialect::HubSpot => FakeResponse::json(
            400,
            &json!({
                "status": hs_status,
                "message": hs_message,
                "correlationId": state.correlation_id(),
                "error": error,
                "error_description": hs_message,
            }),
        ),
        Dialect::Rfc if error == "invalid_client" => {
            let resp = rfc_error(401, error, description);
            if used_basic {
                resp.with_header("WWW-Authenticate", "Basic realm=\"fake-provider\"")
            } else {
                resp
            }
        }
        Dialect::Rfc => rfc_error(400, error, description),
    }
}

fn injected_error(state: &State, status: u16) -> FakeResponse {
    match status {
        429 => rfc_error(429, "slow_down", "too many token requests"),
        500..=599 => rfc_error(status, "server_error", &format!("injected failure {status}")),
        // Other statuses: the same shape, with a correlation id to tell them apart.
        _ => FakeResponse::json(
            status,
            &json!({
                "error": "invalid_request",
                "error_description": format!("injected failure {status}"),
                "correlationId": state.correlation_id(),
            }),
        ),
    }
}

fn seed(state: &State, name: &str, count: u64) -> bool {
    crate::hubspot::seed(state, name, count)
}

/// A reset turns rotation mode off; issued and revoked tokens stay what they are.
fn reset(state: &State) {
    set_rotation(state, false);
    crate::hubspot::reset(state);
}
