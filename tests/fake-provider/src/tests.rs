//! Unit tests that drive `app::handle` without sockets, plus one test
//! against the real server over a keep-alive TCP connection.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::app::handle;
use crate::http::{base64_encode, FakeRequest, FakeResponse};
use crate::state::{Config, State};

fn state() -> State {
    State::new(Config::default())
}

fn get(state: &State, url: &str) -> FakeResponse {
    handle(state, &FakeRequest::get(url))
}

fn hs(state: &State, url: &str) -> FakeResponse {
    handle(state, &FakeRequest::get(url).header("Host", "127.0.0.1:9999").header("Authorization", "Bearer test-token"))
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| match &r["id"] {
                    Value::String(s) => s.parse().unwrap_or(0),
                    other => other.as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Asserts a HubSpot `{"status":"error",...}` body with the given category.
fn assert_hubspot_error(resp: &FakeResponse, status: u16, category: &str) -> Value {
    assert_eq!(resp.status, status);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let body = resp.json_body();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    let corr = body["correlationId"].as_str().unwrap_or("");
    assert_eq!(corr.len(), 36, "uuid-like correlation id: {corr}");
    assert_eq!(corr.matches('-').count(), 4);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

// ---------------------------------------------------------------- HubSpot

#[test]
fn hubspot_pagination_visits_every_active_record_once() {
    let st = state();
    for limit in [1u64, 3, 7, 10, 24, 25, 26, 100] {
        let mut seen = Vec::new();
        let mut url = format!("/crm/v3/objects/contacts?limit={limit}");
        let mut pages = 0;
        loop {
            pages += 1;
            assert!(pages < 100, "runaway pagination");
            let resp = hs(&st, &url);
            assert_eq!(resp.status, 200);
            let body = resp.json_body();
            let page_ids = ids(&body["results"]);
            assert!(page_ids.len() as u64 <= limit);
            seen.extend(page_ids);
            match body.get("paging") {
                Some(paging) => {
                    let after = paging["next"]["after"].as_str().unwrap_or("").to_string();
                    let link = paging["next"]["link"].as_str().unwrap_or("");
                    assert_eq!(
                        link,
                        format!("http://127.0.0.1:9999/crm/v3/objects/contacts?after={after}&limit={limit}")
                    );
                    // Follow the link itself (minus scheme and host).
                    url = link.trim_start_matches("http://127.0.0.1:9999").to_string();
                }
                None => break,
            }
        }
        assert_eq!(seen, (1..=25).collect::<Vec<_>>(), "limit {limit}");
    }
    // Default limit is 10; cursor is the id of the next record.
    let body = hs(&st, "/crm/v3/objects/companies").json_body();
    assert_eq!(ids(&body["results"]), (1..=10).collect::<Vec<_>>());
    assert_eq!(body["paging"]["next"]["after"], "11");
    let body = hs(&st, "/crm/v3/objects/companies?after=11").json_body();
    assert_eq!(ids(&body["results"]), vec![11, 12]);
    assert!(body.get("paging").is_none());
    // A cursor past the end gives an empty last page.
    let body = hs(&st, "/crm/v3/objects/companies?after=999").json_body();
    assert_eq!(body, json!({ "results": [] }));
}

#[test]
fn hubspot_limit_and_parameter_validation() {
    let st = state();
    for (bad, code) in [
        ("0", "NUMBER_OUT_OF_RANGE"),
        ("101", "NUMBER_OUT_OF_RANGE"),
        ("-5", "NUMBER_OUT_OF_RANGE"),
        ("abc", "INVALID_INTEGER"),
        ("1.5", "INVALID_INTEGER"),
        ("", "INVALID_INTEGER"),
    ] {
        let resp = hs(&st, &format!("/crm/v3/objects/contacts?limit={bad}"));
        let body = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(body["errors"][0]["in"], "limit", "{bad}");
        assert_eq!(body["errors"][0]["code"], code, "{bad}");
        assert!(body["errors"][0]["message"].is_string());
    }
    for ok in ["1", "100"] {
        assert_eq!(hs(&st, &format!("/crm/v3/objects/contacts?limit={ok}")).status, 200);
    }
    let body = assert_hubspot_error(&hs(&st, "/crm/v3/objects/contacts?archived=yes"), 400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "INVALID_BOOLEAN");
    assert_eq!(body["errors"][0]["in"], "archived");
    let body = assert_hubspot_error(&hs(&st, "/crm/v3/objects/contacts?after=not-a-cursor"), 400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["in"], "after");
}

#[test]
fn hubspot_properties_selection() {
    let st = state();
    // Defaults.
    let body = hs(&st, "/crm/v3/objects/contacts?limit=1").json_body();
    let rec = &body["results"][0];
    assert_eq!(keys(rec), set(&["archived", "createdAt", "id", "properties", "updatedAt"]));
    assert_eq!(rec["id"], "1");
    assert_eq!(rec["archived"], false);
    assert_eq!(
        keys(&rec["properties"]),
        set(&["firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"])
    );
    assert_eq!(rec["properties"]["email"], "contact1@example.com");
    assert_eq!(rec["properties"]["hs_object_id"], "1");
    assert_eq!(rec["properties"]["createdate"], rec["createdAt"]);
    assert_eq!(rec["properties"]["lastmodifieddate"], rec["updatedAt"]);
    let ts = rec["createdAt"].as_str().unwrap_or("");
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.contains('.'));
    assert_ne!(body["results"][0]["createdAt"], hs(&st, "/crm/v3/objects/contacts/2").json_body()["createdAt"]);

    let body = hs(&st, "/crm/v3/objects/companies?limit=1").json_body();
    assert_eq!(
        keys(&body["results"][0]["properties"]),
        set(&["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"])
    );

    // Requested: exactly those that exist, plus the always-present three.
    // Contact 7 has no phone; mobilephone is never set; "nope" is unknown.
    let body = hs(&st, "/crm/v3/objects/contacts?after=7&limit=1&properties=email,phone,mobilephone,nope,hs_interests")
        .json_body();
    let props = &body["results"][0]["properties"];
    assert_eq!(
        keys(props),
        set(&["email", "phone", "mobilephone", "hs_interests", "hs_object_id", "createdate", "lastmodifieddate"])
    );
    assert_eq!(props["phone"], Value::Null);
    assert_eq!(props["mobilephone"], Value::Null);
    assert_eq!(props["email"], "contact7@example.com");
    assert!(props["hs_interests"].is_string());

    // Repeated `properties` parameters work too; every value is a string or null.
    let body = hs(&st, "/crm/v3/objects/companies/1?properties=numberofemployees&properties=annualrevenue,widgets")
        .json_body();
    let props = &body["properties"];
    assert_eq!(
        keys(props),
        set(&["numberofemployees", "annualrevenue", "hs_object_id", "createdate", "hs_lastmodifieddate"])
    );
    assert_eq!(props["annualrevenue"], "1250000.50");
    assert!(props["numberofemployees"].as_str().is_some_and(|s| s.parse::<u64>().is_ok()));

    // Every seeded value is a string or null; multi-selects use ';'.
    let all = "firstname,lastname,email,phone,company,jobtitle,website,city,country,lifecyclestage,hs_interests";
    let body = hs(&st, &format!("/crm/v3/objects/contacts?limit=100&properties={all}")).json_body();
    let mut nulls = 0;
    let mut multi = 0;
    let mut empty_interests = 0;
    for rec in body["results"].as_array().into_iter().flatten() {
        for (_, v) in rec["properties"].as_object().into_iter().flatten() {
            assert!(v.is_string() || v.is_null());
        }
        nulls += usize::from(rec["properties"]["phone"].is_null());
        multi += usize::from(rec["properties"]["hs_interests"].as_str().is_some_and(|s| s.contains(';')));
        empty_interests += usize::from(rec["properties"]["hs_interests"] == "");
    }
    assert_eq!(nulls, 3, "every 7th contact has no phone");
    assert!(multi > 0 && empty_interests > 0);
}

#[test]
fn hubspot_archived_listing() {
    let st = state();
    let body = hs(&st, "/crm/v3/objects/contacts?archived=true&limit=100").json_body();
    assert_eq!(ids(&body["results"]), vec![26, 27]);
    for rec in body["results"].as_array().into_iter().flatten() {
        assert_eq!(rec["archived"], true);
        assert!(rec["archivedAt"].is_string());
    }
    let body = hs(&st, "/crm/v3/objects/contacts?archived=false&limit=100").json_body();
    assert_eq!(ids(&body["results"]), (1..=25).collect::<Vec<_>>());
    assert!(body["results"][0].get("archivedAt").is_none());
    let body = hs(&st, "/crm/v3/objects/companies?archived=true").json_body();
    assert_eq!(ids(&body["results"]), vec![13]);
    // Archived pagination.
    let body = hs(&st, "/crm/v3/objects/contacts?archived=true&limit=1").json_body();
    assert_eq!(ids(&body["results"]), vec![26]);
    assert_eq!(body["paging"]["next"]["after"], "27");
}

#[test]
fn hubspot_get_by_id_and_errors() {
    let st = state();
    let resp = hs(&st, "/crm/v3/objects/contacts/3");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body["id"], "3");
    assert_eq!(body["properties"]["email"], "contact3@example.com");

    for missing in ["999", "abc", "26"] {
        let resp = hs(&st, &format!("/crm/v3/objects/contacts/{missing}"));
        let body = assert_hubspot_error(&resp, 404, "OBJECT_NOT_FOUND");
        assert_eq!(body["message"], "Object not found.  objectId are usually numeric.");
        assert_eq!(body["context"], json!({ "id": [missing] }));
    }
    // Archived records are found only with archived=true.
    let body = hs(&st, "/crm/v3/objects/contacts/26?archived=true").json_body();
    assert_eq!(body["archived"], true);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/3?archived=true").status, 404);

    for url in ["/crm/v3/objects/widgets", "/crm/v3/objects/widgets/1"] {
        let body = assert_hubspot_error(&hs(&st, url), 400, "VALIDATION_ERROR");
        assert_eq!(body["message"], "Unable to infer object type from: widgets");
    }
}

#[test]
fn hubspot_auth_required() {
    let st = state();
    let expected = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";
    for req in [
        FakeRequest::get("/crm/v3/objects/contacts"),
        FakeRequest::get("/crm/v3/objects/contacts").header("Authorization", "Bearer wrong"),
        FakeRequest::get("/crm/v3/objects/contacts/1").header("Authorization", "test-token"),
        FakeRequest::get("/crm/v3/objects/widgets").header("Authorization", "Basic dGVzdA=="),
    ] {
        let resp = handle(&st, &req);
        let body = assert_hubspot_error(&resp, 401, "INVALID_AUTHENTICATION");
        assert_eq!(body["message"], expected);
        assert_eq!(keys(&body), set(&["status", "message", "correlationId", "category"]));
    }
    // Different correlation ids per error.
    let a = get(&st, "/crm/v3/objects/contacts").json_body();
    let b = get(&st, "/crm/v3/objects/contacts").json_body();
    assert_ne!(a["correlationId"], b["correlationId"]);
}

#[test]
fn hubspot_large_seed_pages() {
    let st = State::new(Config { seed_contacts: 1234, ..Config::default() });
    let mut count = 0;
    let mut after = String::new();
    loop {
        let body = hs(&st, &format!("/crm/v3/objects/contacts?limit=100&after={after}")).json_body();
        count += body["results"].as_array().map_or(0, Vec::len);
        match body["paging"]["next"]["after"].as_str() {
            Some(a) => after = a.to_string(),
            None => break,
        }
    }
    assert_eq!(count, 1234);
}

// ---------------------------------------------------------------- REST

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

fn rest(state: &State, url: &str) -> FakeResponse {
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

// ---------------------------------------------------------------- faults

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

// ---------------------------------------------------------------- control

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
        json!({ "requests": 0, "connections": 0, "by_path": {}, "by_method": {} })
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

// ---------------------------------------------------------------- real server

mod real_server {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{Ipv4Addr, TcpStream};
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    use serde_json::Value;

    use crate::server;
    use crate::state::{Config, State};

    /// Reads one HTTP/1.1 response with a Content-Length body.
    fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status code");
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0; len];
        reader.read_exact(&mut body).expect("body");
        (status, headers, body)
    }

    fn request(stream: &mut TcpStream, port: u16, path: &str, extra: &str) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n");
        stream.write_all(req.as_bytes()).expect("write request");
    }

    #[test]
    fn keep_alive_counts_one_connection() {
        let listener = server::bind_listener(Ipv4Addr::LOCALHOST, 0).expect("bind");
        assert!(
            socket2::SockRef::from(&listener).nodelay().expect("nodelay"),
            "TCP_NODELAY must be set on the listener"
        );
        assert!(socket2::SockRef::from(&listener).reuse_address().expect("reuseaddr"));
        let port = listener.local_addr().expect("addr").port();
        let srv = server::start(listener).expect("start");
        let state = Arc::new(State::new(Config::default()));
        let (srv2, state2) = (Arc::clone(&srv), Arc::clone(&state));
        let handle = thread::spawn(move || server::serve(&srv2, &state2));

        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));

        request(&mut stream, port, "/rest/plain/items/1", "");
        let (status, headers, body) = read_response(&mut reader);
        assert_eq!(status, 200);
        assert!(headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));
        let item: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(item["id"], 1);

        request(&mut stream, port, "/crm/v3/objects/contacts?limit=100", "Authorization: Bearer test-token\r\n");
        let (status, _, body) = read_response(&mut reader);
        assert_eq!(status, 200);
        let page: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(page["results"].as_array().map(Vec::len), Some(25));

        // Stats over the same connection: control requests are not counted.
        request(&mut stream, port, "/_control/stats", "");
        let (status, _, body) = read_response(&mut reader);
        assert_eq!(status, 200);
        let stats: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(stats["requests"], 2, "{stats}");
        assert_eq!(stats["connections"], 1, "{stats}");

        // A second TCP connection counts as a new connection.
        let mut other = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        other.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut other_reader = BufReader::new(other.try_clone().expect("clone"));
        request(&mut other, port, "/rest/plain/items", "");
        assert_eq!(read_response(&mut other_reader).0, 200);
        request(&mut stream, port, "/_control/stats", "");
        let (_, _, body) = read_response(&mut reader);
        let stats: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(stats["requests"], 3, "{stats}");
        assert_eq!(stats["connections"], 2, "{stats}");

        srv.unblock();
        handle.join().expect("server thread");
    }
}

mod airtable;
mod bigcommerce;
mod hubspot_search;
mod oauth;
mod salesforce;
mod shopify;
mod stripe;
mod webhook;
mod write;

#[test]
fn correlation_ids_restart_after_reset() {
    let state = State::new(Config::default());
    let first = state.correlation_id();
    let second = state.correlation_id();
    assert_ne!(first, second);
    state.reset();
    assert_eq!(state.correlation_id(), first);
}
