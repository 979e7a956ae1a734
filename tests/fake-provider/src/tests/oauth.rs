//! Tests of the fake OAuth 2.0 token server and of OAuth access tokens at the other providers.

use std::time::Duration;

use serde_json::{json, Value};

use super::{assert_hubspot_error, get, hs, state};
use crate::app::handle;
use crate::http::{base64_encode, FakeRequest, FakeResponse};
use crate::oauth::{token_status, TokenStatus};
use crate::state::{Config, State};

fn form(st: &State, path: &str, body: &str) -> FakeResponse {
    handle(st, &FakeRequest::new("POST", path).header("Content-Type", "application/x-www-form-urlencoded").body(body))
}

fn refresh_body(client: &str, secret: &str, rt: &str) -> String {
    format!("grant_type=refresh_token&client_id={client}&client_secret={secret}&refresh_token={rt}")
}

/// A fresh access token of `client` (by the client credentials grant on the generic endpoint).
pub(super) fn access_token(st: &State, client: &str) -> String {
    let resp = form(
        st,
        "/oauth/token",
        &format!("grant_type=client_credentials&client_id={client}&client_secret=test-secret"),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    resp.json_body()["access_token"].as_str().unwrap_or("").to_string()
}

fn without_correlation(resp: &FakeResponse) -> Value {
    let mut body = resp.json_body();
    if let Some(obj) = body.as_object_mut() {
        let corr = obj.remove("correlationId");
        assert_eq!(corr.and_then(|c| c.as_str().map(str::len)), Some(36), "correlation id");
    }
    body
}

#[test]
fn refresh_and_client_credentials_grants() {
    let st = state();
    // Refresh grant on both endpoints: a fresh token each time, the refresh token echoed.
    let resp = form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-abc"));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json_body(),
        json!({ "access_token": "at-1", "refresh_token": "rt-abc", "expires_in": 1800, "token_type": "bearer" })
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("pragma"), Some("no-cache"));
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client", "test-secret", "rt-abc"));
    assert_eq!(
        resp.json_body(),
        json!({ "access_token": "at-2", "refresh_token": "rt-abc", "expires_in": 1800, "token_type": "bearer" })
    );
    // The short-lived client.
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client-short", "test-secret", "rt-x%2By"));
    assert_eq!(
        resp.json_body(),
        json!({ "access_token": "at-3", "refresh_token": "rt-x+y", "expires_in": 1, "token_type": "bearer" })
    );
    // Client credentials in the body, and by HTTP Basic: no refresh token in the answer.
    let resp =
        form(&st, "/oauth/token", "grant_type=client_credentials&client_id=test-client&client_secret=test-secret");
    assert_eq!(resp.json_body(), json!({ "access_token": "at-4", "expires_in": 1800, "token_type": "bearer" }));
    let basic = format!("Basic {}", base64_encode(b"test-client:test-secret"));
    for path in ["/oauth/token", "/oauth/v1/token"] {
        let resp = handle(
            &st,
            &FakeRequest::new("POST", path)
                .header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
                .header("Authorization", &basic)
                .body("grant_type=client_credentials"),
        );
        assert_eq!(resp.status, 200, "{path}");
        assert!(resp.json_body()["access_token"].as_str().is_some_and(|t| t.starts_with("at-")));
        assert!(resp.json_body().get("refresh_token").is_none());
    }
    // Every issued token is valid; others are unknown.
    for n in 1..=6 {
        assert_eq!(token_status(&st, &format!("at-{n}")), TokenStatus::Valid, "at-{n}");
    }
    assert_eq!(token_status(&st, "at-7"), TokenStatus::Unknown);
    assert_eq!(token_status(&st, "test-token"), TokenStatus::Unknown);
    // A reset does not log clients out, and numbering goes on.
    get(&st, "/_control/reset");
    assert_eq!(token_status(&st, "at-1"), TokenStatus::Valid);
    assert_eq!(access_token(&st, "test-client"), "at-7");
}

#[test]
fn rfc_endpoint_errors() {
    let st = state();
    let cases: Vec<(String, u16, &str)> = vec![
        (refresh_body("test-client", "test-secret", "rt-revoked-1"), 400, "invalid_grant"),
        (refresh_body("test-client", "test-secret", "abc"), 400, "invalid_grant"),
        ("grant_type=refresh_token&client_id=test-client&client_secret=test-secret".into(), 400, "invalid_request"),
        (refresh_body("test-client", "wrong", "rt-1"), 401, "invalid_client"),
        (refresh_body("nobody", "test-secret", "rt-1"), 401, "invalid_client"),
        ("grant_type=client_credentials&client_id=test-client".into(), 401, "invalid_client"),
        ("grant_type=password&client_id=test-client&client_secret=test-secret".into(), 400, "unsupported_grant_type"),
        ("client_id=test-client&client_secret=test-secret".into(), 400, "invalid_request"),
    ];
    for (body, status, error) in &cases {
        let resp = form(&st, "/oauth/token", body);
        assert_eq!(resp.status, *status, "{body}");
        let json = resp.json_body();
        assert_eq!(json["error"], *error, "{body}");
        assert!(json["error_description"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(resp.header("www-authenticate"), None, "{body}");
    }
    assert_eq!(
        form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-revoked")).json_body(),
        json!({ "error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked" })
    );
    // Bad Basic credentials: 401 with a challenge.
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/oauth/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", &format!("Basic {}", base64_encode(b"test-client:nope")))
            .body("grant_type=client_credentials"),
    );
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("www-authenticate"), Some("Basic realm=\"fake-provider\""));
    // A JSON body is not a token request; GET is not allowed.
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/oauth/token")
            .header("Content-Type", "application/json")
            .body(r#"{"grant_type":"client_credentials","client_id":"test-client","client_secret":"test-secret"}"#),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json_body()["error"], "invalid_request");
    let resp = get(&st, "/oauth/token");
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    assert_eq!(get(&st, "/oauth/authorize").status, 404);
    // No token was issued by any of these.
    assert_eq!(token_status(&st, "at-1"), TokenStatus::Unknown);
}

#[test]
fn hubspot_endpoint_errors() {
    let st = state();
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client", "test-secret", "rt-revoked-7"));
    assert_eq!(resp.status, 400);
    assert_eq!(
        without_correlation(&resp),
        json!({
            "status": "BAD_REFRESH_TOKEN",
            "message": "missing or unknown refresh token",
            "error": "invalid_grant",
            "error_description": "missing or unknown refresh token",
        })
    );
    let resp = form(&st, "/oauth/v1/token", &refresh_body("unknown-client", "test-secret", "rt-1"));
    assert_eq!(resp.status, 400);
    assert_eq!(
        without_correlation(&resp),
        json!({
            "status": "BAD_CLIENT_ID",
            "message": "missing or unknown client id",
            "error": "invalid_client",
            "error_description": "missing or unknown client id",
        })
    );
    // The client is checked first: a bad client hides a bad refresh token.
    let resp = form(&st, "/oauth/v1/token", &refresh_body("unknown-client", "test-secret", "nope"));
    assert_eq!(resp.json_body()["status"], "BAD_CLIENT_ID");
    for (body, status) in [
        (refresh_body("test-client", "bad", "rt-1"), "BAD_CLIENT_SECRET"),
        ("grant_type=authorization_code&client_id=test-client&client_secret=test-secret".to_string(), "BAD_GRANT_TYPE"),
        ("grant_type=refresh_token&client_id=test-client&client_secret=test-secret".to_string(), "BAD_REFRESH_TOKEN"),
    ] {
        let resp = form(&st, "/oauth/v1/token", &body);
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.json_body()["status"], status, "{body}");
    }
    let resp =
        handle(&st, &FakeRequest::new("POST", "/oauth/v1/token").header("Content-Type", "application/json").body("{}"));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json_body()["status"], "BAD_REQUEST");
    let resp = get(&st, "/oauth/v1/token");
    assert_hubspot_error(&resp, 405, "METHOD_NOT_ALLOWED");
}

#[test]
fn issued_tokens_work_everywhere_until_they_expire() {
    let st = state();
    let long = access_token(&st, "test-client");
    let short = access_token(&st, "test-client-short");
    let bearer = |token: &str, url: &str| {
        handle(
            &st,
            &FakeRequest::get(url).header("Host", "127.0.0.1:9999").header("Authorization", &format!("Bearer {token}")),
        )
    };
    for token in [&long, &short] {
        assert_eq!(bearer(token, "/crm/v3/objects/contacts?limit=1").status, 200);
        assert_eq!(bearer(token, "/auth/bearer/items").status, 200);
        assert_eq!(bearer(token, "/v0/appTether0000001/Projects?pageSize=1").status, 200);
    }
    // Unknown tokens.
    let resp = bearer("at-999", "/crm/v3/objects/contacts");
    assert_hubspot_error(&resp, 401, "INVALID_AUTHENTICATION");
    assert_eq!(bearer("at-999", "/auth/bearer/items").json_body(), json!({ "message": "invalid credentials" }));
    assert_eq!(bearer("at-999", "/v0/appTether0000001/Projects").status, 401);

    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(token_status(&st, &short), TokenStatus::Expired { seconds_ago: 0 });
    assert_eq!(token_status(&st, &long), TokenStatus::Valid);
    let resp = bearer(&short, "/crm/v3/objects/contacts");
    let body = assert_hubspot_error(&resp, 401, "EXPIRED_AUTHENTICATION");
    assert_eq!(body["message"], "The OAuth token used to make this call expired 0 second(s) ago.");
    let resp = bearer(&short, "/auth/bearer/items");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json_body(), json!({ "message": "token expired" }));
    let resp = bearer(&short, "/v0/appTether0000001/Projects");
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json_body(),
        json!({ "error": { "type": "AUTHENTICATION_REQUIRED", "message": "Authentication required" } })
    );
    // The long-lived token and the configured token still work.
    assert_eq!(bearer(&long, "/crm/v3/objects/companies").status, 200);
    assert_eq!(hs(&st, "/crm/v3/objects/companies").status, 200);
    // A refresh gives a working token again.
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client-short", "test-secret", "rt-again"));
    let fresh = resp.json_body()["access_token"].as_str().unwrap_or("").to_string();
    assert_eq!(bearer(&fresh, "/crm/v3/objects/contacts?limit=1").status, 200);
}

#[test]
fn rotation_mode_issues_new_refresh_tokens_and_revokes_the_used_ones() {
    let st = state();
    assert_eq!(get(&st, "/_control/oauth").json_body(), json!({ "rotate": false }));
    assert_eq!(get(&st, "/_control/oauth?rotate=1").json_body(), json!({ "rotate": true }));
    assert_eq!(get(&st, "/_control/oauth").json_body(), json!({ "rotate": true }));
    assert_eq!(get(&st, "/_control/oauth?rotate=maybe").status, 400);
    // Each refresh answers a new refresh token, on either endpoint.
    let resp = form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-orig"));
    assert_eq!(
        resp.json_body(),
        json!({ "access_token": "at-1", "refresh_token": "rt-rot-1", "expires_in": 1800, "token_type": "bearer" })
    );
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client", "test-secret", "rt-rot-1"));
    assert_eq!(resp.json_body()["refresh_token"], "rt-rot-2");
    // A spent token is refused in each endpoint's shape.
    let resp = form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-orig"));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json_body(),
        json!({ "error": "invalid_grant", "error_description": "refresh token is invalid, expired or revoked" })
    );
    let resp = form(&st, "/oauth/v1/token", &refresh_body("test-client", "test-secret", "rt-rot-1"));
    assert_eq!(resp.status, 400);
    assert_eq!(
        without_correlation(&resp),
        json!({
            "status": "BAD_REFRESH_TOKEN",
            "message": "missing or unknown refresh token",
            "error": "invalid_grant",
            "error_description": "missing or unknown refresh token",
        })
    );
    // A refused request spends nothing: the current token still works.
    let resp = form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-rot-2"));
    assert_eq!(resp.json_body()["refresh_token"], "rt-rot-3");
    // Client credentials never carry a refresh token.
    assert_eq!(access_token(&st, "test-client"), "at-4");
    // Rotation off (a reset too): the token sent is echoed and stays usable; revoked ones stay revoked.
    assert_eq!(get(&st, "/_control/oauth?rotate=0").json_body(), json!({ "rotate": false }));
    for _ in 0..2 {
        let resp = form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-rot-3"));
        assert_eq!(resp.json_body()["refresh_token"], "rt-rot-3");
    }
    assert_eq!(form(&st, "/oauth/token", &refresh_body("test-client", "test-secret", "rt-rot-2")).status, 400);
    get(&st, "/_control/oauth?rotate=true");
    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/_control/oauth").json_body(), json!({ "rotate": false }));
    assert_eq!(
        get(&st, "/_control/oauth_tokens").json_body(),
        json!({
            "access_tokens": ["at-1", "at-2", "at-3", "at-4", "at-5", "at-6"],
            "refresh_tokens": ["rt-rot-1", "rt-rot-2", "rt-rot-3"],
            "revoked_refresh_tokens": ["rt-orig", "rt-rot-1", "rt-rot-2"],
        })
    );
}

#[test]
fn issued_tokens_of_every_endpoint_are_listed() {
    let st = state();
    assert_eq!(
        get(&st, "/_control/oauth_tokens").json_body(),
        json!({ "access_tokens": [], "refresh_tokens": [], "revoked_refresh_tokens": [] })
    );
    get(&st, "/_control/oauth?rotate=1");
    for n in 1..=10 {
        assert_eq!(access_token(&st, "test-client"), format!("at-{n}"), "listed in issue order, at-10 last");
    }
    let sf = handle(
        &st,
        &FakeRequest::new("POST", "/services/oauth2/token")
            .header("Host", "127.0.0.1:9999")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=rt-sf"),
    );
    assert_eq!(sf.json_body()["refresh_token"], "rt-rot-1");
    let listed = get(&st, "/_control/oauth_tokens").json_body();
    let access: Vec<&str> =
        listed["access_tokens"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(access.len(), 11);
    assert_eq!(access[9], "at-10");
    assert_eq!(access[10], "00Dxx0000001gPL!AQ4AQFakeSession.1");
    assert_eq!(listed["refresh_tokens"], json!(["rt-rot-1"]));
    assert_eq!(listed["revoked_refresh_tokens"], json!(["rt-sf"]));
}

#[test]
fn the_client_secret_is_configurable() {
    let st = State::new(Config { client_secret: "cs-distinct-1234".into(), ..Config::default() });
    for path in ["/oauth/token", "/oauth/v1/token"] {
        let resp = form(&st, path, &refresh_body("test-client", "cs-distinct-1234", "rt-1"));
        assert_eq!(resp.status, 200, "{path}");
        let resp = form(&st, path, &refresh_body("test-client", "test-secret", "rt-1"));
        assert_eq!(resp.json_body()["error"], "invalid_client", "the default is not accepted then: {path}");
    }
}
