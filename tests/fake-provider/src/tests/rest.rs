//! Tests of the generic REST API: every pagination style, equality filters, page sizes, the auth endpoints,
//! the type fixtures, and writes to the items (validation, patch, put, delete, idempotency keys).

use super::*;

/// Parses the `rel="next"` URL out of a Link header, minus scheme and host.
fn link_rel(resp: &FakeResponse, rel: &str) -> Option<String> {
    let link = resp.header("link")?;
    link.split(", ").find_map(|part| {
        let (url, r) = part.split_once("; ")?;
        (r == format!("rel=\"{rel}\"")).then(|| {
            url.trim_start_matches('<').trim_end_matches('>').trim_start_matches("http://127.0.0.1:9999").to_string()
        })
    })
}

pub(super) fn rest(state: &State, url: &str) -> FakeResponse {
    handle(state, &FakeRequest::get(url).header("Host", "127.0.0.1:9999"))
}

#[test]
fn rest_plain() {
    let st = state();
    let resp = rest(&st, "/rest/plain/items");
    assert_eq!(resp.status, 200);
    assert_eq!(ids(&resp.json_body()), (1..=30).collect::<Vec<_>>());
    let body = rest(&st, "/rest/plain/items/4").json_body();
    assert_eq!(body["id"], 4);
    assert_eq!(body["sku"], "SKU-0004");
    assert_eq!(body["quantity"], 12);
    assert_eq!(body["active"], true);
    assert!(body["tags"].is_array());
    assert_eq!(body["attributes"]["weight_kg"], 6.0);
    for missing in ["31", "0", "x"] {
        let resp = rest(&st, &format!("/rest/plain/items/{missing}"));
        assert_eq!(resp.status, 404);
        assert_eq!(resp.json_body(), json!({ "message": "item not found" }));
    }
}

#[test]
fn rest_link_style_covers_all_items() {
    let st = state();
    for per_page in [1u64, 7, 10, 29, 30, 100] {
        let mut url = format!("/rest/link/items?per_page={per_page}");
        let mut seen = Vec::new();
        let mut page = 1;
        loop {
            let resp = rest(&st, &url);
            assert_eq!(resp.status, 200);
            seen.extend(ids(&resp.json_body()));
            if page > 1 {
                assert_eq!(
                    link_rel(&resp, "prev"),
                    Some(format!("/rest/link/items?page={}&per_page={per_page}", page - 1))
                );
            } else {
                assert_eq!(link_rel(&resp, "prev"), None);
            }
            match link_rel(&resp, "next") {
                Some(next) => {
                    assert_eq!(next, format!("/rest/link/items?page={}&per_page={per_page}", page + 1));
                    url = next;
                    page += 1;
                }
                None => break,
            }
        }
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "per_page {per_page}");
    }
    // Default page size 10; Link header shape like GitHub's.
    let resp = rest(&st, "/rest/link/items?page=2");
    assert_eq!(ids(&resp.json_body()), (11..=20).collect::<Vec<_>>());
    assert_eq!(
        resp.header("link"),
        Some(
            "<http://127.0.0.1:9999/rest/link/items?page=3&per_page=10>; rel=\"next\", \
             <http://127.0.0.1:9999/rest/link/items?page=1&per_page=10>; rel=\"prev\""
        )
    );
    // Past the end: empty array.
    assert_eq!(rest(&st, "/rest/link/items?page=9").json_body(), json!([]));
}

#[test]
fn rest_next_style_covers_all_items() {
    let st = state();
    for per_page in [1u64, 4, 10, 30, 100] {
        let mut url = format!("/rest/next/items?page=1&per_page={per_page}");
        let mut seen = Vec::new();
        loop {
            let body = rest(&st, &url).json_body();
            seen.extend(ids(&body["data"]));
            match body["next"].as_str() {
                Some(next) => url = next.to_string(),
                None => {
                    assert_eq!(body["next"], Value::Null);
                    break;
                }
            }
        }
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "per_page {per_page}");
    }
    let body = rest(&st, "/rest/next/items").json_body();
    assert_eq!(body["next"], "/rest/next/items?page=2&per_page=10");
}

#[test]
fn rest_offset_style_covers_all_items() {
    let st = state();
    for limit in [1u64, 8, 10, 30, 100] {
        let mut offset = 0;
        let mut seen = Vec::new();
        loop {
            let body = rest(&st, &format!("/rest/offset/items?offset={offset}&limit={limit}")).json_body();
            assert_eq!(body["total"], 30);
            let got = ids(&body["items"]);
            if got.is_empty() {
                break;
            }
            offset += got.len();
            seen.extend(got);
        }
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "limit {limit}");
    }
    let body = rest(&st, "/rest/offset/items").json_body();
    assert_eq!(ids(&body["items"]), (1..=10).collect::<Vec<_>>());
}

#[test]
fn rest_page_style_covers_all_items() {
    let st = state();
    for per_page in [1u64, 7, 10, 30, 100] {
        let mut seen = Vec::new();
        let total_pages = 30u64.div_ceil(per_page);
        for page in 1..=total_pages {
            let body = rest(&st, &format!("/rest/page/items?page={page}&per_page={per_page}")).json_body();
            let got = ids(&body["data"]);
            let p = &body["meta"]["pagination"];
            assert_eq!(p["total"], 30);
            assert_eq!(p["count"], got.len());
            assert_eq!(p["per_page"], per_page);
            assert_eq!(p["current_page"], page);
            assert_eq!(p["total_pages"], total_pages);
            seen.extend(got);
        }
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "per_page {per_page}");
    }
}

#[test]
fn rest_cursor_style_covers_all_items() {
    let st = state();
    for limit in [1u64, 9, 10, 30, 100] {
        let mut url = format!("/rest/cursor/items?limit={limit}");
        let mut seen = Vec::new();
        loop {
            let body = rest(&st, &url).json_body();
            seen.extend(ids(&body["records"]));
            match body["next_cursor"].as_str() {
                Some(c) => url = format!("/rest/cursor/items?limit={limit}&cursor={}", crate::http::percent_encode(c)),
                None => break,
            }
        }
        assert_eq!(seen, (1..=30).collect::<Vec<_>>(), "limit {limit}");
    }
    let resp = rest(&st, "/rest/cursor/items?cursor=garbage!");
    assert_eq!(resp.status, 400);
}

#[test]
fn rest_equality_filtering() {
    let st = state();
    let active = rest(&st, "/rest/plain/items?active=true").json_body();
    assert_eq!(ids(&active), (2..=30).step_by(2).collect::<Vec<_>>());
    let body = rest(&st, "/rest/plain/items?active=true&name=Item%204").json_body();
    assert_eq!(ids(&body), vec![4]);
    let body = rest(&st, "/rest/plain/items?name=Item+3").json_body();
    assert_eq!(ids(&body), vec![3]);
    let body = rest(&st, "/rest/plain/items?quantity=9&price=12.50").json_body();
    assert_eq!(ids(&body), Vec::<u64>::new(), "item 3 has price 17.50");
    let body = rest(&st, "/rest/plain/items?quantity=9&price=17.50").json_body();
    assert_eq!(ids(&body), vec![3]);
    let body = rest(&st, "/rest/plain/items?sku=SKU-0010&id=10").json_body();
    assert_eq!(ids(&body), vec![10]);
    // Unknown and non-scalar parameters are ignored.
    let body = rest(&st, "/rest/plain/items?color=red&tags=x&attributes=y").json_body();
    assert_eq!(ids(&body).len(), 30);

    // Filters apply before pagination in every style, and survive in links.
    let resp = rest(&st, "/rest/link/items?active=true&per_page=10");
    assert_eq!(ids(&resp.json_body()), (2..=20).step_by(2).collect::<Vec<_>>());
    let next = link_rel(&resp, "next").unwrap_or_default();
    assert_eq!(next, "/rest/link/items?page=2&per_page=10&active=true");
    let resp = rest(&st, &next);
    assert_eq!(ids(&resp.json_body()), (22..=30).step_by(2).collect::<Vec<_>>());
    assert_eq!(link_rel(&resp, "next"), None);

    let body = rest(&st, "/rest/next/items?active=false&per_page=100").json_body();
    assert_eq!(ids(&body["data"]).len(), 15);
    let body = rest(&st, "/rest/offset/items?active=false").json_body();
    assert_eq!(body["total"], 15);
    let body = rest(&st, "/rest/page/items?active=true").json_body();
    assert_eq!(body["meta"]["pagination"]["total"], 15);
    assert_eq!(body["meta"]["pagination"]["total_pages"], 2);
    let body = rest(&st, "/rest/cursor/items?name=Item%2030").json_body();
    assert_eq!(ids(&body["records"]), vec![30]);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[test]
fn rest_page_size_validation() {
    let st = state();
    for (base, param) in [
        ("/rest/link/items", "per_page"),
        ("/rest/next/items", "per_page"),
        ("/rest/page/items", "per_page"),
        ("/rest/offset/items", "limit"),
        ("/rest/cursor/items", "limit"),
        ("/faults/same-page", "per_page"),
    ] {
        for bad in ["0", "101", "abc", "-1"] {
            let resp = rest(&st, &format!("{base}?{param}={bad}"));
            assert_eq!(resp.status, 400, "{base} {bad}");
            assert_eq!(resp.json_body(), json!({ "message": format!("{param} must be between 1 and 100") }));
        }
        assert_eq!(rest(&st, &format!("{base}?{param}=100")).status, 200);
    }
    assert_eq!(rest(&st, "/rest/link/items?page=0").status, 400);
}

#[test]
fn auth_endpoints() {
    let st = state();
    let basic_ok = format!("Basic {}", base64_encode(b"test-user:test-password"));
    let basic_bad = format!("Basic {}", base64_encode(b"test-user:wrong"));
    let ok = |resp: FakeResponse| {
        assert_eq!(resp.status, 200);
        assert_eq!(ids(&resp.json_body()), vec![1, 2, 3]);
    };
    let refused = |resp: FakeResponse| {
        assert_eq!(resp.status, 401);
        assert_eq!(resp.json_body(), json!({ "message": "invalid credentials" }));
    };
    let req = |url: &str| FakeRequest::get(url);

    ok(handle(&st, &req("/auth/bearer/items").header("Authorization", "Bearer test-token")));
    refused(handle(&st, &req("/auth/bearer/items").header("Authorization", "Bearer nope")));
    refused(handle(&st, &req("/auth/bearer/items")));

    ok(handle(&st, &req("/auth/basic/items").header("Authorization", &basic_ok)));
    refused(handle(&st, &req("/auth/basic/items").header("Authorization", &basic_bad)));
    refused(handle(&st, &req("/auth/basic/items").header("Authorization", "Basic !!!")));
    refused(handle(&st, &req("/auth/basic/items").header("Authorization", "Bearer test-token")));

    ok(handle(&st, &req("/auth/header/items").header("X-API-Key", "test-token")));
    refused(handle(&st, &req("/auth/header/items").header("X-API-Key", "other")));

    ok(handle(&st, &req("/auth/query/items?api_key=test-token")));
    refused(handle(&st, &req("/auth/query/items?api_key=bad")));
    refused(handle(&st, &req("/auth/query/items")));

    // The token is configurable.
    let custom = State::new(Config { token: "s3cret".into(), ..Config::default() });
    ok(handle(&custom, &req("/auth/query/items?api_key=s3cret")));
    refused(handle(&custom, &req("/auth/query/items?api_key=test-token")));
    // So is the Basic password.
    let custom = State::new(Config { basic_password: "pw-9012".into(), ..Config::default() });
    let basic_custom = format!("Basic {}", base64_encode(b"test-user:pw-9012"));
    ok(handle(&custom, &req("/auth/basic/items").header("Authorization", &basic_custom)));
    refused(handle(&custom, &req("/auth/basic/items").header("Authorization", &basic_ok)));
}

#[test]
fn types_endpoints() {
    let st = state();
    let body = get(&st, "/rest/types").json_body();
    let recs = body.as_array().cloned().unwrap_or_default();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        recs[0],
        json!({"id":1,"t_text":"hello","t_int2":12,"t_int4":"123","t_int8":9007199254740993u64,
               "t_numeric":"12345.678901","t_float":1.5,"t_bool":"true","t_date":"2024-02-29",
               "t_ts":"2024-02-29T12:34:56.789Z","t_ts_epoch":1709210096,"t_json":{"a":[1,2]},
               "t_array":["x","y"],"t_csv":"a;b;c","t_null":null})
    );
    // The exact integer survives serialisation (beyond f64 precision).
    let raw = String::from_utf8_lossy(&get(&st, "/rest/types").body).into_owned();
    assert!(raw.contains("9007199254740993"));
    let first_keys = keys(&recs[0]);
    for r in &recs {
        assert_eq!(keys(r), first_keys);
        assert!(r.get("t_missing").is_none());
    }
    assert!(recs[1]["t_ts"].as_str().is_some_and(|s| s.ends_with("+02:00")));
    assert!(recs[2]["t_ts"].as_str().is_some_and(|s| s.ends_with("+0000")));
    assert!(recs[1]["t_int2"].as_i64().is_some_and(|n| n < 0));
    assert_eq!(recs[1]["t_float"], "2.25");
    assert_eq!(recs[1]["t_array"], json!([]));
    assert_eq!(recs[1]["t_csv"], "");

    let bad = get(&st, "/rest/types_bad").json_body();
    let bad = bad.as_array().cloned().unwrap_or_default();
    assert_eq!(bad.len(), 3);
    assert_eq!(bad.iter().filter(|r| r["t_int4"] == "12abc").count(), 1, "exactly one broken record");
    assert_eq!(keys(&bad[1]), first_keys);
}

pub(super) fn rest_raw(st: &State, method: &str, url: &str, body: &str) -> FakeResponse {
    handle(st, &FakeRequest::new(method, url).header("Content-Type", "application/json").body(body))
}

pub(super) fn rest_send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    rest_raw(st, method, url, &body.to_string())
}

pub(super) fn item_ids(st: &State) -> Vec<u64> {
    ids(&rest(st, "/rest/plain/items").json_body())
}

#[test]
fn rest_create_item() {
    let st = state();
    let resp = rest_send(
        &st,
        "POST",
        "/rest/plain/items",
        &json!({ "name": "Widget", "price": "9.99", "quantity": 2, "active": true, "tags": ["x"],
                 "attributes": { "color": "teal" }, "sku": "SKU-NEW", "extra": { "kept": true } }),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("location"), Some("/rest/plain/items/31"));
    let item = resp.json_body();
    assert_eq!(
        item,
        json!({ "id": 31, "name": "Widget", "price": "9.99", "quantity": 2, "active": true, "tags": ["x"],
                "attributes": { "color": "teal" }, "sku": "SKU-NEW", "extra": { "kept": true },
                "created_at": "2025-01-01T00:00:31Z" })
    );
    assert_eq!(rest(&st, "/rest/plain/items/31").json_body(), item);

    // Only name and price are required; a numeric price is fine; null optional fields are kept.
    let resp = rest_send(&st, "POST", "/rest/plain/items", &json!({ "name": "Bare", "price": 12.5, "sku": null }));
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.json_body(),
        json!({ "id": 32, "name": "Bare", "price": 12.5, "sku": null, "created_at": "2025-01-01T00:00:32Z" })
    );

    // Every items style sees the new items.
    let all: Vec<u64> = (1..=32).collect();
    assert_eq!(item_ids(&st), all);
    assert_eq!(rest(&st, "/rest/offset/items?offset=30").json_body()["total"], 32);
    assert_eq!(ids(&rest(&st, "/rest/offset/items?offset=30").json_body()["items"]), vec![31, 32]);
    assert_eq!(ids(&rest(&st, "/rest/next/items?page=4").json_body()["data"]), vec![31, 32]);
    assert_eq!(rest(&st, "/rest/page/items").json_body()["meta"]["pagination"]["total_pages"], 4);
    assert_eq!(ids(&rest(&st, "/rest/link/items?page=4").json_body()), vec![31, 32]);
    assert_eq!(ids(&rest(&st, "/rest/cursor/items?limit=100").json_body()["records"]), all);
    // Filters apply to written items too.
    assert_eq!(ids(&rest(&st, "/rest/plain/items?name=Widget").json_body()), vec![31]);
}

#[test]
fn rest_write_validation() {
    let st = state();
    let check = |body: Value, errors: Value| {
        let resp = rest_send(&st, "POST", "/rest/plain/items", &body);
        assert_eq!(resp.status, 422, "{body}");
        assert_eq!(resp.json_body(), json!({ "message": "validation failed", "errors": errors }), "{body}");
    };
    check(json!({}), json!({ "name": "is required", "price": "is required" }));
    check(
        json!({ "name": "", "price": "abc", "quantity": "3", "active": "yes", "tags": [1], "attributes": [],
                "sku": 5, "id": 99, "created_at": "2020-01-01T00:00:00Z" }),
        json!({
            "name": "must be a non-empty string",
            "price": "must be a number or a decimal string",
            "quantity": "must be an integer",
            "active": "must be a boolean",
            "tags": "must be an array of strings",
            "attributes": "must be an object",
            "sku": "must be a string",
            "id": "is read-only (assigned by the server)",
            "created_at": "is read-only (assigned by the server)",
        }),
    );
    check(json!({ "name": "Q", "price": "1", "quantity": 1.5 }), json!({ "quantity": "must be an integer" }));
    check(
        json!({ "name": null, "price": null }),
        json!({ "name": "must be a non-empty string", "price": "must be a number or a decimal string" }),
    );
    check(json!({ "name": "P", "price": "NaN" }), json!({ "price": "must be a number or a decimal string" }));

    // Not JSON, not an object, wrong content type.
    let resp = rest_raw(&st, "POST", "/rest/plain/items", "{nope");
    assert_eq!(resp.status, 400);
    assert!(resp.json_body()["message"].as_str().unwrap_or("").starts_with("invalid JSON body"));
    let resp = rest_raw(&st, "POST", "/rest/plain/items", "[1]");
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json_body(), json!({ "message": "request body must be a JSON object" }));
    let resp = handle(&st, &FakeRequest::new("POST", "/rest/plain/items").body(r#"{"name":"A","price":1}"#));
    assert_eq!(resp.status, 415);
    assert_eq!(resp.json_body(), json!({ "message": "Content-Type must be application/json" }));

    // Methods.
    for (method, url, allow) in [
        ("POST", "/rest/plain/items/1", "GET, PATCH, PUT, DELETE"),
        ("PUT", "/rest/plain/items", "GET, POST"),
        ("POST", "/rest/link/items", "GET"),
        ("DELETE", "/rest/offset/items", "GET"),
    ] {
        let resp = rest_raw(&st, method, url, "{}");
        assert_eq!(resp.status, 405, "{method} {url}");
        assert_eq!(resp.json_body(), json!({ "message": "method not allowed" }));
        assert_eq!(resp.header("allow"), Some(allow));
    }
    assert_eq!(item_ids(&st), (1..=30).collect::<Vec<_>>(), "nothing was created");
}

#[test]
fn rest_patch_put_delete() {
    let st = state();
    let original = rest(&st, "/rest/plain/items/4").json_body();

    let resp =
        rest_send(&st, "PATCH", "/rest/plain/items/4", &json!({ "price": "99.00", "active": false, "note": "n" }));
    assert_eq!(resp.status, 200);
    let mut expected = original.clone();
    if let Some(obj) = expected.as_object_mut() {
        obj.insert("price".into(), json!("99.00"));
        obj.insert("active".into(), json!(false));
        obj.insert("note".into(), json!("n"));
    }
    assert_eq!(resp.json_body(), expected);
    assert_eq!(rest(&st, "/rest/plain/items/4").json_body(), expected);
    // An empty patch changes nothing; null sets an optional field to null.
    assert_eq!(rest_send(&st, "PATCH", "/rest/plain/items/4", &json!({})).json_body(), expected);
    assert_eq!(rest_send(&st, "PATCH", "/rest/plain/items/4", &json!({ "sku": null })).json_body()["sku"], Value::Null);

    // Type rules apply to PATCH too; id and created_at cannot change.
    for (body, field) in [
        (json!({ "id": 5 }), "id"),
        (json!({ "created_at": "2020-01-01T00:00:00Z" }), "created_at"),
        (json!({ "quantity": "x" }), "quantity"),
        (json!({ "name": "" }), "name"),
        (json!({ "price": null }), "price"),
    ] {
        let resp = rest_send(&st, "PATCH", "/rest/plain/items/4", &body);
        assert_eq!(resp.status, 422, "{body}");
        assert!(resp.json_body()["errors"][field].is_string(), "{body}");
    }
    assert_eq!(rest(&st, "/rest/plain/items/4").json_body()["quantity"], 12);

    // PUT replaces everything but id and created_at; name and price are required.
    let created_at = rest(&st, "/rest/plain/items/5").json_body()["created_at"].clone();
    let resp = rest_send(&st, "PUT", "/rest/plain/items/5", &json!({ "name": "Replaced", "price": 1 }));
    assert_eq!(resp.status, 200);
    let replaced = json!({ "id": 5, "name": "Replaced", "price": 1, "created_at": created_at });
    assert_eq!(resp.json_body(), replaced);
    assert_eq!(rest(&st, "/rest/plain/items/5").json_body(), replaced);
    let resp = rest_send(&st, "PUT", "/rest/plain/items/5", &json!({ "name": "No price" }));
    assert_eq!(resp.status, 422);
    assert_eq!(resp.json_body()["errors"], json!({ "price": "is required" }));
    assert_eq!(rest(&st, "/rest/plain/items/5").json_body(), replaced);

    // DELETE.
    let resp = handle(&st, &FakeRequest::new("DELETE", "/rest/plain/items/6"));
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-type"), None);
    assert_eq!(rest(&st, "/rest/plain/items/6").status, 404);
    assert!(!item_ids(&st).contains(&6));
    assert_eq!(rest(&st, "/rest/offset/items").json_body()["total"], 29);

    // Missing ids: 404 for every write method.
    for (method, id) in [("PATCH", "6"), ("PUT", "999"), ("DELETE", "6"), ("DELETE", "abc"), ("PATCH", "0")] {
        let resp = rest_send(&st, method, &format!("/rest/plain/items/{id}"), &json!({ "name": "A", "price": 1 }));
        assert_eq!(resp.status, 404, "{method} {id}");
        assert_eq!(resp.json_body(), json!({ "message": "item not found" }));
    }
    // PATCH and PUT need a JSON body.
    assert_eq!(handle(&st, &FakeRequest::new("PATCH", "/rest/plain/items/4").body("{}")).status, 415);
    assert_eq!(rest_raw(&st, "PUT", "/rest/plain/items/4", "nope").status, 400);
}

#[test]
fn rest_idempotency_keys() {
    let st = state();
    let post = |key: &str, body: &str| {
        handle(
            &st,
            &FakeRequest::new("POST", "/rest/plain/items")
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .body(body),
        )
    };
    let first = post("k1", r#"{"name": "Once", "price": "5.00"}"#);
    assert_eq!(first.status, 201);
    assert_eq!(first.json_body()["id"], 31);
    assert_eq!(first.header("idempotent-replayed"), None);

    // Same key and parameters (formatting aside): the stored answer, nothing new.
    let again = post("k1", r#"{"price":"5.00","name":"Once"}"#);
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), Some("/rest/plain/items/31"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(item_ids(&st).len(), 31);

    // Same key, other parameters: 422, nothing created.
    let other = post("k1", r#"{"name": "Twice", "price": "5.00"}"#);
    assert_eq!(other.status, 422);
    assert_eq!(
        other.json_body(),
        json!({
            "message":
                "Keys for idempotent requests can only be used with the same parameters they were first used with",
        })
    );
    assert_eq!(item_ids(&st).len(), 31);

    // Another key creates; a rejected request does not claim its key.
    assert_eq!(post("k2", r#"{"name": "Once", "price": "5.00"}"#).json_body()["id"], 32);
    assert_eq!(post("k3", r#"{"name": ""}"#).status, 422);
    assert_eq!(post("k3", r#"{"name": "Third", "price": 1}"#).json_body()["id"], 33);
    // A key does not follow a deleted item: the stored answer is replayed as is.
    assert_eq!(handle(&st, &FakeRequest::new("DELETE", "/rest/plain/items/31")).status, 204);
    assert_eq!(post("k1", r#"{"name": "Once", "price": "5.00"}"#).body, first.body);

    // Reset forgets the keys (but not the data).
    get(&st, "/_control/reset");
    let after_reset = post("k1", r#"{"name": "Once", "price": "5.00"}"#);
    assert_eq!(after_reset.status, 201);
    assert_eq!(after_reset.json_body()["id"], 34);
    assert_eq!(item_ids(&st).len(), 33);
}
