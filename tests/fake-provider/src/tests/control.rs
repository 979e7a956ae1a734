//! Tests of the fault endpoints (`/faults/...`) and the control endpoints (`/_control/...`): injected failures
//! (also by method and with lost responses), stalls, latency, stats, the request log, reset and reseeding.

use super::hubspot::{batch, create, delete, patch};
use super::rest::{item_ids, rest, rest_send};
use super::*;

use std::thread;
use std::time::Duration;

#[test]
fn fault_endpoints() {
    let st = state();
    let resp = get(&st, "/faults/stall");
    assert!(resp.stall);

    let resp = get(&st, "/faults/slow?ms=250");
    assert_eq!(resp.delay_ms, 250);
    assert_eq!(resp.json_body(), json!([{ "id": 1 }]));
    assert!(!resp.stall);

    let resp = get(&st, "/faults/malformed");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&resp.body).is_err());
    assert!(resp.body.starts_with(br#"{"results": [{"id": "1""#));

    let resp = get(&st, "/faults/status/503");
    assert_eq!(resp.status, 503);
    assert_eq!(resp.json_body(), json!({ "message": "injected failure 503" }));
    assert_eq!(get(&st, "/faults/status/abc").status, 400);

    let mut after = String::new();
    for _ in 0..3 {
        let body = get(&st, &format!("/faults/repeat-cursor?after={after}")).json_body();
        assert_eq!(ids(&body["results"]), vec![1, 2]);
        assert_eq!(body["paging"]["next"]["after"], "loop");
        after = "loop".into();
    }

    for page in 1..=3 {
        let body = get(&st, &format!("/faults/same-page?page={page}&per_page=5")).json_body();
        assert_eq!(ids(&body), vec![1, 2, 3, 4, 5]);
    }

    let resp = get(&st, "/faults/zeros?count=5");
    assert_eq!(resp.body, b"[0,0,0,0,0]");
    assert_eq!(get(&st, "/faults/zeros?count=0").body, b"[]");
    assert_eq!(get(&st, "/faults/zeros?count=99999999999").status, 400);

    let resp = get(&st, "/faults/redirect");
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some("http://example.invalid/elsewhere"));

    let resp = get(&st, "/no/such/thing?x=1");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), json!({ "message": "no such endpoint: /no/such/thing" }));
    assert_eq!(get(&st, "/faults/nope").status, 404);
}

#[test]
fn inject_status_then_normal() {
    let st = state();
    let resp = get(&st, "/_control/inject?status=500&times=2&path_prefix=/crm&retry_after=1");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(resp.json_body(), json!({ "injected": true }));

    // A non-matching path does not consume the injection.
    assert_eq!(rest(&st, "/rest/plain/items/1").status, 200);
    for _ in 0..2 {
        let resp = hs(&st, "/crm/v3/objects/contacts");
        assert_hubspot_error(&resp, 500, "INTERNAL_ERROR");
        assert_eq!(resp.header("retry-after"), Some("1"));
    }
    let resp = hs(&st, "/crm/v3/objects/contacts");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("retry-after"), None);

    // HubSpot's rate-limit body for 429.
    get(&st, "/_control/inject?status=429&path_prefix=/crm");
    let resp = hs(&st, "/crm/v3/objects/companies");
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), None);
    let body = resp.json_body();
    assert_eq!(body["status"], "error");
    assert_eq!(body["message"], "You have reached your secondly limit.");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "SECONDLY");
    assert_eq!(body["groupName"], "publicapi");
    assert!(body["correlationId"].is_string());

    // Injections queue in order; the generic shape outside /crm; default prefix "/".
    get(&st, "/_control/inject?status=503&times=1");
    get(&st, "/_control/inject?status=429&times=1&retry_after=7");
    let first = rest(&st, "/rest/plain/items");
    assert_eq!(first.status, 503);
    assert_eq!(first.json_body(), json!({ "message": "injected failure 503" }));
    let second = rest(&st, "/rest/offset/items");
    assert_eq!(second.status, 429);
    assert_eq!(second.header("retry-after"), Some("7"));
    assert_eq!(second.json_body(), json!({ "message": "injected failure 429" }));
    assert_eq!(rest(&st, "/rest/plain/items").status, 200);

    // Injection wins over auth, and control requests never consume it.
    get(&st, "/_control/inject?status=502&path_prefix=/auth");
    assert_eq!(get(&st, "/_control/stats").status, 200);
    assert_eq!(get(&st, "/auth/query/items").status, 502);
    assert_eq!(get(&st, "/auth/query/items").status, 401);

    // Bad parameters.
    assert_eq!(get(&st, "/_control/inject?status=abc").status, 400);
    assert_eq!(get(&st, "/_control/inject?times=0").status, 400);
    assert_eq!(get(&st, "/_control/inject?path_prefix=crm").status, 400);
}

#[test]
fn stall_injection() {
    let st = state();
    let resp = get(&st, "/_control/stall?times=2&path_prefix=/rest/plain");
    assert_eq!(resp.json_body(), json!({ "stall": true }));
    assert!(!rest(&st, "/rest/offset/items").stall);
    assert!(rest(&st, "/rest/plain/items").stall);
    assert!(rest(&st, "/rest/plain/items/2").stall);
    assert!(!rest(&st, "/rest/plain/items").stall);
}

#[test]
fn held_answers_are_made_when_the_request_arrives() {
    let st = state();
    let resp = get(&st, "/_control/hold?method=GET&path_prefix=/crm/v3/objects/contacts");
    assert_eq!(resp.json_body(), json!({ "hold": true }));
    let page = hs(&st, "/crm/v3/objects/contacts?limit=2&properties=firstname");
    assert!(page.hold, "the transport holds the answer until a release");
    let before = page.json_body();
    // A write after the held request arrived does not change its answer: it was made from the data as
    // the request found it.
    let id = before["results"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(patch(&st, "contacts", &id, json!({ "firstname": "Later" })).status, 200);
    assert_ne!(before["results"][0]["properties"]["firstname"], "Later");
    let after = hs(&st, "/crm/v3/objects/contacts?limit=2&properties=firstname");
    assert!(!after.hold, "times=1: only the next request");
    assert_eq!(after.json_body()["results"][0]["properties"]["firstname"], "Later");
    assert_eq!(get(&st, "/_control/held").json_body(), json!({ "waiting": 0, "held": 0 }), "the transport counts");
    assert_eq!(get(&st, "/_control/release").json_body(), json!({ "released": 0 }));
    assert_eq!(get(&st, "/_control/held?wait_ms=60001").status, 400);
    assert_eq!(get(&st, "/_control/hold?times=0").status, 400);
    assert_eq!(get(&st, "/_control/hold?path_prefix=crm").status, 400);
}

#[test]
fn latency_setting() {
    let st = State::new(Config { latency_ms: 15, ..Config::default() });
    assert_eq!(get(&st, "/rest/plain/items").delay_ms, 15);
    let resp = get(&st, "/_control/latency?ms=40");
    assert_eq!(resp.json_body(), json!({ "latency_ms": 40 }));
    assert_eq!(resp.delay_ms, 0, "control requests are never delayed");
    assert_eq!(get(&st, "/rest/plain/items").delay_ms, 40);
    assert_eq!(get(&st, "/faults/slow?ms=10").delay_ms, 50);
    assert_eq!(get(&st, "/_control/latency?ms=x").status, 400);
    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/rest/plain/items").delay_ms, 0);
}

#[test]
fn stats_count_connections_by_remote_addr() {
    let st = state();
    let from = |url: &str, addr: &str| {
        handle(&st, &FakeRequest::get(url).header("Authorization", "Bearer test-token").remote(addr))
    };
    from("/crm/v3/objects/contacts?limit=5", "127.0.0.1:50001");
    from("/crm/v3/objects/contacts?after=6", "127.0.0.1:50001");
    from("/rest/plain/items", "127.0.0.1:50002");
    from("/nowhere", "127.0.0.1:50003");
    // Control requests are neither counted nor logged, from any address.
    from("/_control/stats", "127.0.0.1:50004");
    from("/_control/requests", "127.0.0.1:50001");

    let stats = get(&st, "/_control/stats");
    assert_eq!(stats.header("content-type"), Some("application/json"));
    assert_eq!(
        stats.json_body(),
        json!({
            "requests": 4,
            "connections": 3,
            "max_in_flight": 0,
            "by_path": {
                "/crm/v3/objects/contacts": 2,
                "/rest/plain/items": 1,
                "/nowhere": 1,
            },
            "by_method": { "GET": 4 },
        })
    );

    let reset = get(&st, "/_control/reset");
    assert_eq!(reset.json_body(), json!({ "reset": true }));
    assert_eq!(
        get(&st, "/_control/stats").json_body(),
        json!({ "requests": 0, "connections": 0, "max_in_flight": 0, "by_path": {}, "by_method": {} })
    );
    // The same client address counts again after a reset.
    from("/rest/plain/items", "127.0.0.1:50002");
    assert_eq!(get(&st, "/_control/stats").json_body()["connections"], 1);
}

#[test]
fn request_log() {
    let st = state();
    let mut post = FakeRequest::new("POST", "/rest/plain/items?name=Item%201&x=a+b")
        .header("X-Custom", "one")
        .header("x-custom", "two")
        .header("Content-Type", "application/json");
    post.body = br#"{"hello":"world"}"#.to_vec();
    handle(&st, &post);
    hs(&st, "/crm/v3/objects/contacts?limit=2");
    get(&st, "/_control/stats");

    let body = get(&st, "/_control/requests").json_body();
    let list = body["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["method"], "POST");
    assert_eq!(list[0]["path"], "/rest/plain/items");
    assert_eq!(list[0]["query"], "name=Item%201&x=a+b");
    assert_eq!(list[0]["headers"]["x-custom"], "one, two");
    assert_eq!(list[0]["headers"]["content-type"], "application/json");
    assert_eq!(list[0]["body"], r#"{"hello":"world"}"#);
    assert_eq!(list[1]["method"], "GET");
    assert_eq!(list[1]["headers"]["authorization"], "Bearer test-token");
    assert_eq!(list[1]["body"], "");

    // Arrival times, in milliseconds since the fake started, never decrease in log order.
    assert!(list.iter().all(|r| r["at_ms"].is_u64()), "{list:?}");
    thread::sleep(Duration::from_millis(20));
    get(&st, "/rest/plain/items/1");
    let body = get(&st, "/_control/requests").json_body();
    let at: Vec<u64> = body["requests"].as_array().into_iter().flatten().filter_map(|r| r["at_ms"].as_u64()).collect();
    assert_eq!(at.len(), 3);
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert!(at[2] >= at[1] + 20, "the later request arrived at least 20 ms later: {at:?}");

    let body = get(&st, "/_control/requests?path_prefix=/crm").json_body();
    let list = body["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["path"], "/crm/v3/objects/contacts");

    // Only the last 1000 are kept, oldest first.
    for i in 0..1005 {
        get(&st, &format!("/rest/plain/items/{i}"));
    }
    let body = get(&st, "/_control/requests").json_body();
    let list = body["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1000);
    assert_eq!(list[0]["path"], "/rest/plain/items/5");
    assert_eq!(list[999]["path"], "/rest/plain/items/1004");

    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/_control/requests").json_body(), json!({ "requests": [] }));
}

#[test]
fn requests_in_flight() {
    let st = state();
    let max = |st: &State| get(st, "/_control/stats").json_body()["max_in_flight"].clone();
    assert_eq!(max(&st), 0);
    // `app::handle` alone does not count: the server counts each request around it (see `server::serve_one`).
    get(&st, "/rest/plain/items");
    assert_eq!(max(&st), 0);

    // One after the other.
    for _ in 0..3 {
        let _request = st.begin_request();
    }
    assert_eq!(max(&st), 1);

    // Overlapping, then ended (and so counted from 1 again after a reset).
    let first = st.begin_request();
    let second = st.begin_request();
    assert_eq!(max(&st), 2);
    drop(first);
    drop(second);
    get(&st, "/_control/reset");
    assert_eq!(max(&st), 0);
    drop(st.begin_request());
    assert_eq!(max(&st), 1);

    // A request still being handled at a reset is no longer counted, also when it ends.
    let before_reset = st.begin_request();
    get(&st, "/_control/reset");
    assert_eq!(max(&st), 0);
    let after_reset = st.begin_request();
    drop(before_reset);
    let another = st.begin_request();
    assert_eq!(max(&st), 2, "the request begun before the reset did not take one from the count");
    drop((after_reset, another));
    drop(st.begin_request());
    assert_eq!(max(&st), 2);
}

#[test]
fn reset_clears_faults_but_not_data() {
    let st = state();
    get(&st, "/_control/seed?object=items&count=5");
    get(&st, "/_control/inject?status=500&times=3");
    get(&st, "/_control/stall?times=3");
    get(&st, "/_control/oauth?rotate=1");
    get(&st, "/_control/reset");
    let resp = rest(&st, "/rest/plain/items");
    assert_eq!(resp.status, 200);
    assert!(!resp.stall);
    assert_eq!(ids(&resp.json_body()).len(), 5);
    assert_eq!(get(&st, "/_control/oauth").json_body(), json!({ "rotate": false }), "a knob, like latency");
}

#[test]
fn seed_control() {
    let st = state();
    let resp = get(&st, "/_control/seed?object=contacts&count=150");
    assert_eq!(resp.json_body(), json!({ "seeded": 150 }));
    let body = hs(&st, "/crm/v3/objects/contacts?limit=100&after=100").json_body();
    assert_eq!(ids(&body["results"]), (100..=150).collect::<Vec<_>>());
    let body = hs(&st, "/crm/v3/objects/contacts?archived=true").json_body();
    assert_eq!(ids(&body["results"]), vec![151, 152]);

    get(&st, "/_control/seed?object=companies&count=0");
    let body = hs(&st, "/crm/v3/objects/companies").json_body();
    assert_eq!(body, json!({ "results": [] }));

    get(&st, "/_control/seed?object=items&count=3");
    assert_eq!(ids(&get(&st, "/rest/plain/items").json_body()), vec![1, 2, 3]);

    assert_eq!(get(&st, "/_control/seed?object=widgets&count=3").status, 400);
    assert_eq!(get(&st, "/_control/seed?object=items").status, 400);
    assert_eq!(get(&st, "/_control/seed?object=items&count=-1").status, 400);
    let unknown = get(&st, "/_control/nope");
    assert_eq!(unknown.status, 404);
    assert!(unknown.json_body().is_object());
}

#[test]
fn inject_method_filter_and_lost_response() {
    let st = state();
    let resp = get(&st, "/_control/inject?status=500&method=post&path_prefix=/crm&after=true");
    assert_eq!(resp.json_body(), json!({ "injected": true }));

    // GETs do not match the filter and do not consume the fault.
    assert_eq!(hs(&st, "/crm/v3/objects/contacts").status, 200);
    assert_eq!(patch(&st, "contacts", "1", json!({ "firstname": "Ann" })).status, 200);
    // The POST is processed but the client sees HubSpot's 500.
    let resp = create(&st, "contacts", json!({ "email": "lost@example.com" }));
    let body = assert_hubspot_error(&resp, 500, "INTERNAL_ERROR");
    assert_eq!(body["message"], "Internal error");
    let got = hs(&st, "/crm/v3/objects/contacts/28");
    assert_eq!(got.status, 200);
    assert_eq!(got.json_body()["properties"]["email"], "lost@example.com");
    // A retry without idempotency now conflicts, as it would on HubSpot.
    let retry = create(&st, "contacts", json!({ "email": "lost@example.com" }));
    assert_eq!(retry.status, 409);
    assert_eq!(retry.json_body()["message"], "Contact already exists. Existing ID: 28");

    // Without `after` nothing is written.
    get(&st, "/_control/inject?status=503&method=POST&path_prefix=/rest/plain/items");
    let resp = rest_send(&st, "POST", "/rest/plain/items", &json!({ "name": "Never", "price": 1 }));
    assert_eq!(resp.status, 503);
    assert_eq!(resp.json_body(), json!({ "message": "injected failure 503" }));
    assert_eq!(item_ids(&st).len(), 30);

    // Lost response + idempotency key: the retry replays the first answer, one item exists.
    get(&st, "/_control/inject?status=500&method=POST&path_prefix=/rest/plain/items&after=true");
    let post = || {
        handle(
            &st,
            &FakeRequest::new("POST", "/rest/plain/items")
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "retry-me")
                .body(r#"{"name":"Retried","price":"2.50"}"#),
        )
    };
    let lost = post();
    assert_eq!(lost.status, 500);
    assert_eq!(lost.json_body(), json!({ "message": "injected failure 500" }));
    let retry = post();
    assert_eq!(retry.status, 201);
    assert_eq!(retry.json_body()["id"], 31);
    assert_eq!(item_ids(&st).len(), 31);

    // 429 with Retry-After and a method filter; after=true on a PATCH updates the record.
    get(&st, "/_control/inject?status=429&retry_after=3&method=PATCH&path_prefix=/crm&after=1");
    let resp = patch(&st, "contacts", "2", json!({ "firstname": "Late" }));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("3"));
    assert_eq!(resp.json_body()["errorType"], "RATE_LIMIT");
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/2").json_body()["properties"]["firstname"], "Late");

    // DELETE filter, without `after`: the record survives.
    get(&st, "/_control/inject?status=502&method=DELETE&path_prefix=/crm");
    assert_eq!(delete(&st, "contacts", "3").status, 502);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/3").status, 200);
    assert_eq!(delete(&st, "contacts", "3").status, 204);

    // Stalls take the method filter too (and never process the request).
    get(&st, "/_control/stall?method=DELETE&path_prefix=/rest/plain");
    assert!(!rest(&st, "/rest/plain/items/7").stall);
    assert!(handle(&st, &FakeRequest::new("DELETE", "/rest/plain/items/7")).stall);
    assert_eq!(rest(&st, "/rest/plain/items/7").status, 200);
    assert!(!handle(&st, &FakeRequest::new("DELETE", "/rest/plain/items/7")).stall);

    // Bad parameters.
    for bad in [
        "/_control/inject?method=P0ST",
        "/_control/inject?method=",
        "/_control/inject?after=maybe",
        "/_control/stall?method=a-b",
    ] {
        assert_eq!(get(&st, bad).status, 400, "{bad}");
    }
}

#[test]
fn stats_by_method() {
    let st = state();
    hs(&st, "/crm/v3/objects/contacts");
    create(&st, "contacts", json!({ "firstname": "S" }));
    create(&st, "contacts", json!({ "nope": "S" }));
    patch(&st, "contacts", "1", json!({ "firstname": "T" }));
    delete(&st, "contacts", "2");
    rest_send(&st, "PUT", "/rest/plain/items/1", &json!({ "name": "P", "price": 1 }));
    rest(&st, "/rest/plain/items");
    get(&st, "/_control/stats");
    let stats = get(&st, "/_control/stats").json_body();
    assert_eq!(stats["requests"], 7);
    assert_eq!(stats["by_method"], json!({ "GET": 2, "POST": 2, "PATCH": 1, "DELETE": 1, "PUT": 1 }));
    assert_eq!(
        stats["by_path"],
        json!({
            "/crm/v3/objects/contacts": 3,
            "/crm/v3/objects/contacts/1": 1,
            "/crm/v3/objects/contacts/2": 1,
            "/rest/plain/items/1": 1,
            "/rest/plain/items": 1,
        })
    );
    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/_control/stats").json_body()["by_method"], json!({}));
}

#[test]
fn request_log_keeps_write_bodies() {
    let st = state();
    patch(&st, "contacts", "1", json!({ "firstname": "Logged", "phone": null }));
    let created =
        batch(&st, "contacts", "create", json!([{ "properties": { "email": "log@example.com" }, "associations": [] }]));
    assert_eq!(created.status, 201, "the logged batch create is valid");
    delete(&st, "contacts", "4");
    rest_send(&st, "PATCH", "/rest/plain/items/2", &json!({ "quantity": 1 }));

    let body = get(&st, "/_control/requests").json_body();
    let list = body["requests"].as_array().cloned().unwrap_or_default();
    let summary: Vec<(&str, &str)> =
        list.iter().map(|r| (r["method"].as_str().unwrap_or(""), r["path"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        summary,
        vec![
            ("PATCH", "/crm/v3/objects/contacts/1"),
            ("POST", "/crm/v3/objects/contacts/batch/create"),
            ("DELETE", "/crm/v3/objects/contacts/4"),
            ("PATCH", "/rest/plain/items/2"),
        ]
    );
    // The PATCH body says exactly which properties were sent.
    let sent: Value = serde_json::from_str(list[0]["body"].as_str().unwrap_or("")).unwrap_or(Value::Null);
    assert_eq!(sent, json!({ "properties": { "firstname": "Logged", "phone": null } }));
    assert_eq!(keys(&sent["properties"]), set(&["firstname", "phone"]));
    assert_eq!(list[0]["headers"]["content-type"], "application/json");
    let sent: Value = serde_json::from_str(list[1]["body"].as_str().unwrap_or("")).unwrap_or(Value::Null);
    assert_eq!(sent["inputs"][0]["properties"]["email"], "log@example.com");
    assert_eq!(list[2]["body"], "");
    assert_eq!(list[3]["body"], r#"{"quantity":1}"#);
}
