//! Salesforce's token endpoint, refresh token rotation, the client secret, sessions and API usage.

use super::*;

#[test]
fn oauth_token_endpoint() {
    let st = state();
    let resp =
        token_request(&st, "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=rt-1");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(
        keys(&body),
        set(&["access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"])
    );
    assert_eq!(body["access_token"], "00Dxx0000001gPL!AQ4AQFakeSession.1");
    assert_eq!(body["instance_url"], "http://127.0.0.1:9999");
    assert_eq!(body["id"], "http://127.0.0.1:9999/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_at"], "1735689601000");
    assert_eq!(body["scope"], "api refresh_token");
    assert_eq!(body["signature"].as_str().map(str::len), Some(44));
    assert!(body.get("expires_in").is_none());
    assert_eq!(session(&st, "sf-client"), "00Dxx0000001gPL!AQ4AQFakeSession.2");
    for (form, error, description) in [
        (
            "grant_type=client_credentials&client_id=nope&client_secret=sf-secret",
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "grant_type=client_credentials&client_id=sf-client&client_secret=nope",
            "invalid_client",
            "invalid client credentials",
        ),
        (
            "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=rt-revoked",
            "invalid_grant",
            "expired access/refresh token",
        ),
        (
            "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=x",
            "invalid_grant",
            "expired access/refresh token",
        ),
        (
            "grant_type=password&client_id=sf-client&client_secret=sf-secret",
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ] {
        let resp = token_request(&st, form);
        assert_eq!(resp.status, 400, "{form}");
        assert_eq!(resp.json_body(), json!({ "error": error, "error_description": description }), "{form}");
    }
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/services/oauth2/token").header("Content-Type", "application/json").body("{}"),
    );
    assert_eq!(resp.json_body()["error"], "unsupported_grant_type");
}

#[test]
fn oauth_rotation_and_client_secret() {
    let st = State::new(Config { sf_client_secret: "sf-distinct-5678".into(), ..Config::default() });
    let refresh = |rt: &str| {
        token_request(
            &st,
            &format!("grant_type=refresh_token&client_id=sf-client&client_secret=sf-distinct-5678&refresh_token={rt}"),
        )
    };
    let resp = token_request(&st, "grant_type=client_credentials&client_id=sf-client&client_secret=sf-secret");
    assert_eq!(
        resp.json_body(),
        json!({ "error": "invalid_client", "error_description": "invalid client credentials" })
    );
    get(&st, "/_control/oauth?rotate=1");
    let resp = refresh("rt-1");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body["refresh_token"], "rt-rot-1");
    assert_eq!(body["access_token"], "00Dxx0000001gPL!AQ4AQFakeSession.1");
    assert_eq!(refresh("rt-rot-1").json_body()["refresh_token"], "rt-rot-2");
    for spent in ["rt-1", "rt-rot-1"] {
        let resp = refresh(spent);
        assert_eq!(resp.status, 400, "{spent}");
        assert_eq!(
            resp.json_body(),
            json!({ "error": "invalid_grant", "error_description": "expired access/refresh token" })
        );
    }
    // Without rotation, no refresh_token in the answer (Salesforce's default).
    get(&st, "/_control/oauth?rotate=0");
    let resp = refresh("rt-rot-2");
    assert_eq!(resp.status, 200);
    assert!(resp.json_body().get("refresh_token").is_none());
}

#[test]
fn sessions_and_api_usage() {
    let st = state();
    let resp = handle(&st, &FakeRequest::get(&format!("{V}/sobjects")));
    assert_eq!(
        resp.json_body(),
        json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }])
    );
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("sforce-limit-info"), None);
    sf_error(&call(&st, "00Dxx!nope", "GET", &format!("{V}/sobjects"), None), 401, "INVALID_SESSION_ID");
    // The configured HubSpot token is not a Salesforce session.
    sf_error(&call(&st, "test-token", "GET", &format!("{V}/sobjects"), None), 401, "INVALID_SESSION_ID");
    let token = session(&st, "sf-client");
    let short = session(&st, "sf-client-short");
    for (n, t) in [(1, &token), (2, &short), (3, &token)] {
        let resp = call(&st, t, "GET", &format!("{V}/limits"), None);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("sforce-limit-info"), Some(format!("api-usage={n}/15000").as_str()));
    }
    // Any vNN.0 works; `OAuth <token>` too.
    let resp = handle(
        &st,
        &FakeRequest::get("/services/data/v61.0/limits").header("Authorization", &format!("OAuth {token}")),
    );
    assert_eq!(resp.json_body(), json!({ "DailyApiRequests": { "Max": 15000, "Remaining": 14996 } }));
    assert_eq!(call(&st, &token, "GET", "/services/data/v5.0/limits", None).status, 404);
    assert_eq!(call(&st, &token, "GET", "/services/data/latest/limits", None).status, 404);
    assert!(get(&st, "/services/data").json_body().as_array().is_some_and(|a| !a.is_empty()));
    std::thread::sleep(Duration::from_millis(1100));
    sf_error(&call(&st, &short, "GET", &format!("{V}/limits"), None), 401, "INVALID_SESSION_ID");
    assert_eq!(call(&st, &token, "GET", &format!("{V}/limits"), None).status, 200);
    // A reset clears the usage count (not the sessions).
    get(&st, "/_control/reset");
    let resp = call(&st, &token, "GET", &format!("{V}/limits"), None);
    assert_eq!(resp.header("sforce-limit-info"), Some("api-usage=1/15000"));
}
