//! Tests of HubSpot deals, CRM search (filters, sorting, paging, limits, rate limit) and reseeding deals.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::handle;
use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot::SEARCH_PER_SECOND;
use crate::state::{Config, State};
use crate::tests::{assert_hubspot_error, get, hs, hs_send, ids, keys, set, state};

/// A state whose search rate limit does not get in the way of tests that search a lot.
fn unlimited() -> State {
    let mut config = Config::default();
    config.seeds.insert("hubspot_search_per_second".into(), 1_000_000);
    State::new(config)
}

fn search(st: &State, ty: &str, body: Value) -> FakeResponse {
    hs_send(st, "POST", &format!("/crm/v3/objects/{ty}/search"), &body)
}

/// Ids of a search's results (asserting success).
fn found(st: &State, ty: &str, body: Value) -> Vec<u64> {
    let resp = search(st, ty, body.clone());
    assert_eq!(resp.status, 200, "{body}: {}", String::from_utf8_lossy(&resp.body));
    ids(&resp.json_body()["results"])
}

fn filter(prop: &str, op: &str, value: Value) -> Value {
    json!({ "propertyName": prop, "operator": op, "value": value })
}

fn one(f: Value) -> Value {
    json!({ "filterGroups": [{ "filters": [f] }], "limit": 200 })
}

/// Every active deal's properties, by id.
fn all_deals(st: &State) -> Vec<(u64, Value)> {
    let body =
        hs(st, "/crm/v3/objects/deals?limit=100&properties=dealname,amount,dealstage,closedate,pipeline").json_body();
    body["results"]
        .as_array()
        .map(|a| {
            a.iter().map(|r| (r["id"].as_str().unwrap_or("0").parse().unwrap_or(0), r["properties"].clone())).collect()
        })
        .unwrap_or_default()
}

#[test]
fn deals_are_a_crm_object() {
    let st = unlimited();
    let body = hs(&st, "/crm/v3/objects/deals?limit=100").json_body();
    assert_eq!(ids(&body["results"]), (1..=30).collect::<Vec<_>>());
    let first = &body["results"][0];
    assert_eq!(
        keys(&first["properties"]),
        set(&[
            "dealname",
            "amount",
            "dealstage",
            "pipeline",
            "closedate",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id"
        ])
    );
    assert_eq!(first["properties"]["pipeline"], "default");
    assert_eq!(first["properties"]["dealstage"], "qualifiedtobuy");
    assert_eq!(first["properties"]["amount"], "2250.37");
    assert_eq!(first["properties"]["closedate"], "2024-01-12T17:00:00.000Z");
    assert_eq!(hs(&st, "/crm/v3/objects/deals/2").json_body()["properties"]["amount"], "4000");
    assert_eq!(hs(&st, "/crm/v3/objects/deals/9").json_body()["properties"]["amount"], Value::Null);
    assert_eq!(ids(&hs(&st, "/crm/v3/objects/deals?archived=true").json_body()["results"]), vec![31]);
    assert_eq!(hs(&st, "/crm/v3/objects/0-3/5").json_body()["id"], "5");
    let owner = hs(&st, "/crm/v3/objects/deals/1?properties=hubspot_owner_id").json_body();
    assert_eq!(owner["properties"]["hubspot_owner_id"], "1000002");

    // Create: dates in any accepted form come back as ISO instants.
    let resp = hs_send(
        &st,
        "POST",
        "/crm/v3/objects/deals",
        &json!({ "properties": { "dealname": "New", "amount": "10.5", "dealstage": "closedwon", "closedate": "2024-05-01" }, "associations": [] }),
    );
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let created = resp.json_body();
    assert_eq!(created["id"], "32");
    assert_eq!(created["properties"]["closedate"], "2024-05-01T00:00:00.000Z");
    let resp = hs_send(
        &st,
        "PATCH",
        "/crm/v3/objects/deals/32",
        &json!({ "properties": { "closedate": 1_714_521_600_000u64 } }),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body()["properties"]["closedate"], "2024-05-01T00:00:00.000Z");
    // Validation, in HubSpot's shape.
    for (props, name, error) in [
        (json!({ "amount": "ten" }), "amount", "INVALID_DECIMAL"),
        (json!({ "dealstage": "won" }), "dealstage", "INVALID_OPTION"),
        (json!({ "pipeline": "sales" }), "pipeline", "INVALID_OPTION"),
        (json!({ "closedate": "next week" }), "closedate", "INVALID_DATE"),
        (json!({ "createdate": "2024-01-01" }), "createdate", "READ_ONLY_VALUE"),
        (json!({ "hs_lastmodifieddate": "2024-01-01" }), "hs_lastmodifieddate", "READ_ONLY_VALUE"),
        (json!({ "widgets": "1" }), "widgets", "PROPERTY_DOESNT_EXIST"),
    ] {
        let resp = hs_send(&st, "POST", "/crm/v3/objects/deals", &json!({ "properties": props, "associations": [] }));
        let body = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        let message = body["message"].as_str().unwrap_or("");
        let details: Value =
            serde_json::from_str(message.trim_start_matches("Property values were not valid: ")).unwrap_or(Value::Null);
        assert_eq!(details[0]["name"], name, "{message}");
        assert_eq!(details[0]["error"], error, "{message}");
    }
    assert_eq!(
        hs_send(&st, "PATCH", "/crm/v3/objects/deals/3", &json!({ "properties": { "amount": "x" } })).status,
        400
    );
    // Archive and batch like the other objects.
    assert_eq!(
        handle(
            &st,
            &FakeRequest::new("DELETE", "/crm/v3/objects/deals/3").header("Authorization", "Bearer test-token")
        )
        .status,
        204
    );
    assert_eq!(hs(&st, "/crm/v3/objects/deals/3").status, 404);
    let resp = hs_send(
        &st,
        "POST",
        "/crm/v3/objects/deals/batch/create",
        &json!({ "inputs": [{ "properties": { "dealname": "B1" }, "associations": [] }, { "properties": { "dealname": "B2", "amount": "7" }, "associations": [] }] }),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(ids(&resp.json_body()["results"]), vec![33, 34]);
}

#[test]
fn deal_seed_counts() {
    let mut config = Config::default();
    config.seeds.insert("deals".into(), 4);
    let st = State::new(config);
    assert_eq!(ids(&hs(&st, "/crm/v3/objects/deals").json_body()["results"]), vec![1, 2, 3, 4]);
    assert_eq!(get(&st, "/_control/seed?object=deals&count=12").json_body(), json!({ "seeded": 12 }));
    assert_eq!(ids(&hs(&st, "/crm/v3/objects/deals?limit=100").json_body()["results"]), (1..=12).collect::<Vec<_>>());
    assert_eq!(ids(&hs(&st, "/crm/v3/objects/deals?archived=true").json_body()["results"]), vec![13]);
    // Reseeding before first use works too.
    let st = state();
    get(&st, "/_control/seed?object=deals&count=2");
    assert_eq!(ids(&hs(&st, "/crm/v3/objects/deals").json_body()["results"]), vec![1, 2]);
}

#[test]
fn search_pagination_visits_every_record_once() {
    let st = unlimited();
    for (ty, n) in [("contacts", 25u64), ("companies", 12), ("deals", 30)] {
        for limit in [1u64, 3, 7, 10, 25, 200] {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            let mut pages = 0;
            loop {
                pages += 1;
                assert!(pages <= 40, "runaway paging");
                let mut body = json!({ "limit": limit, "properties": ["hs_object_id"] });
                if let (Some(a), Some(obj)) = (&after, body.as_object_mut()) {
                    obj.insert("after".into(), json!(a));
                }
                let resp = search(&st, ty, body).json_body();
                assert_eq!(resp["total"], n);
                let page = ids(&resp["results"]);
                assert!(page.len() as u64 <= limit);
                seen.extend(page);
                match resp.get("paging") {
                    Some(p) => {
                        assert_eq!(keys(&p["next"]), set(&["after"]));
                        after = p["next"]["after"].as_str().map(str::to_string);
                    }
                    None => break,
                }
            }
            assert_eq!(seen, (1..=n).collect::<Vec<_>>(), "{ty} limit {limit}");
        }
    }
    // Default limit 10; `after` is an offset into the results.
    let resp = search(&st, "contacts", json!({})).json_body();
    assert_eq!(ids(&resp["results"]), (1..=10).collect::<Vec<_>>());
    assert_eq!(resp["paging"], json!({ "next": { "after": "10" } }));
    let resp = search(&st, "contacts", json!({ "after": "20" })).json_body();
    assert_eq!(ids(&resp["results"]), (21..=25).collect::<Vec<_>>());
    assert!(resp.get("paging").is_none());
    let resp = search(&st, "contacts", json!({ "after": 40 })).json_body();
    assert_eq!(resp, json!({ "total": 25, "results": [] }));
}

#[test]
fn search_records_and_properties() {
    let st = unlimited();
    // Default properties, like a list.
    let resp = search(&st, "contacts", one(filter("email", "EQ", json!("contact3@example.com")))).json_body();
    assert_eq!(resp["total"], 1);
    let listed = hs(&st, "/crm/v3/objects/contacts/3").json_body();
    assert_eq!(resp["results"][0], listed);
    // Requested properties plus the three that always come.
    let resp = search(
        &st,
        "deals",
        json!({ "filterGroups": [{ "filters": [filter("hs_object_id", "EQ", json!(4))] }], "properties": ["dealstage", "nope"] }),
    )
    .json_body();
    assert_eq!(
        keys(&resp["results"][0]["properties"]),
        set(&["dealstage", "createdate", "hs_lastmodifieddate", "hs_object_id"])
    );
    assert_eq!(keys(&resp["results"][0]), set(&["id", "properties", "createdAt", "updatedAt", "archived"]));
    // Archived records are never found.
    assert_eq!(found(&st, "contacts", one(filter("email", "EQ", json!("contact26@example.com")))), Vec::<u64>::new());
    assert_eq!(found(&st, "deals", one(filter("hs_object_id", "EQ", json!("31")))), Vec::<u64>::new());
    // Nor are records archived by a request.
    assert_eq!(
        handle(
            &st,
            &FakeRequest::new("DELETE", "/crm/v3/objects/contacts/3").header("Authorization", "Bearer test-token")
        )
        .status,
        204
    );
    assert_eq!(found(&st, "contacts", one(filter("email", "EQ", json!("contact3@example.com")))), Vec::<u64>::new());
}

#[test]
fn search_operators() {
    let st = unlimited();
    // Strings compare without case.
    assert_eq!(found(&st, "contacts", one(filter("email", "EQ", json!("CONTACT5@Example.com")))), vec![5]);
    assert_eq!(found(&st, "contacts", one(filter("firstname", "EQ", json!("alice")))), vec![1, 12, 23]);
    let neq = found(&st, "contacts", one(filter("firstname", "NEQ", json!("ALICE"))));
    assert_eq!(neq.len(), 22);
    assert!(!neq.contains(&12));
    let body = one(json!({ "propertyName": "firstname", "operator": "IN", "values": ["bob", "CARLA"] }));
    assert_eq!(found(&st, "contacts", body), vec![2, 3, 13, 14, 24, 25]);
    let body = one(json!({ "propertyName": "firstname", "operator": "NOT_IN", "values": ["bob", "CARLA", "alice"] }));
    assert_eq!(found(&st, "contacts", body).len(), 16);
    // Presence: every 7th contact has no phone.
    assert_eq!(
        found(&st, "contacts", one(json!({ "propertyName": "phone", "operator": "NOT_HAS_PROPERTY" }))),
        vec![7, 14, 21]
    );
    assert_eq!(found(&st, "contacts", one(json!({ "propertyName": "phone", "operator": "HAS_PROPERTY" }))).len(), 22);
    // Tokens, with wildcards.
    assert_eq!(found(&st, "contacts", one(filter("email", "CONTAINS_TOKEN", json!("*@example.com")))).len(), 25);
    assert_eq!(found(&st, "contacts", one(filter("email", "CONTAINS_TOKEN", json!("contact1*")))), {
        let mut v = vec![1];
        v.extend(10..=19);
        v
    });
    assert_eq!(
        found(&st, "deals", one(filter("dealname", "CONTAINS_TOKEN", json!("renewal")))),
        vec![6, 12, 18, 24, 30]
    );
    assert_eq!(found(&st, "deals", one(filter("dealname", "NOT_CONTAINS_TOKEN", json!("renewal")))).len(), 25);

    // Numbers compare as numbers: "9999.5" < "10000".
    let deals = all_deals(&st);
    let amount = |p: &Value| p["amount"].as_str().and_then(|a| a.parse::<f64>().ok());
    let expect = |pred: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        deals.iter().filter(|(_, p)| pred(p)).map(|(id, _)| *id).collect()
    };
    for (op, pred) in [
        ("LT", Box::new(|a: f64| a < 10_000.0) as Box<dyn Fn(f64) -> bool>),
        ("LTE", Box::new(|a: f64| a <= 10_000.0)),
        ("GT", Box::new(|a: f64| a > 10_000.0)),
        ("GTE", Box::new(|a: f64| a >= 10_000.0)),
    ] {
        let want = expect(&|p| amount(p).is_some_and(&pred));
        assert!(!want.is_empty());
        assert_eq!(found(&st, "deals", one(filter("amount", op, json!("10000")))), want, "{op}");
        assert_eq!(found(&st, "deals", one(filter("amount", op, json!(10000)))), want, "{op} number value");
    }
    assert_eq!(found(&st, "deals", one(filter("amount", "EQ", json!("4000.0")))), vec![2]);

    // Datetimes compare as instants, given as epoch milliseconds or ISO strings.
    let close = |p: &Value| p["closedate"].as_str().map(str::to_string);
    let june = "2024-06-01T00:00:00.000Z";
    let want: Vec<u64> = expect(&|p| close(p).is_some_and(|c| c.as_str() < june));
    assert!(!want.is_empty() && want.len() < 25);
    assert_eq!(found(&st, "deals", one(filter("closedate", "LT", json!("1717200000000")))), want);
    assert_eq!(found(&st, "deals", one(filter("closedate", "LT", json!(1_717_200_000_000u64)))), want);
    assert_eq!(found(&st, "deals", one(filter("closedate", "LT", json!("2024-06-01")))), want);
    assert_eq!(found(&st, "deals", one(filter("closedate", "LT", json!("2024-06-01T02:00:00+02:00")))), want);
    let want: Vec<u64> = expect(&|p| close(p).is_some_and(|c| c.as_str() >= june));
    assert_eq!(found(&st, "deals", one(filter("closedate", "GTE", json!(june)))), want);
    let body = one(
        json!({ "propertyName": "closedate", "operator": "BETWEEN", "value": "2024-03-01", "highValue": "1717200000000" }),
    );
    let want: Vec<u64> =
        expect(&|p| close(p).is_some_and(|c| ("2024-03-01".to_string()..june.to_string()).contains(&c)));
    assert_eq!(found(&st, "deals", body), want);
    // createdate of contact 1 is 2024-01-01T00:13:00.xxx: a date alone means midnight UTC.
    assert_eq!(found(&st, "contacts", one(filter("createdate", "LT", json!("2024-01-01T00:30:00Z")))), vec![1, 2]);
    assert_eq!(found(&st, "contacts", one(filter("createdate", "LTE", json!("2024-01-01")))), Vec::<u64>::new());
}

#[test]
fn search_groups_and_sorting() {
    let st = unlimited();
    // Filters in a group are ANDed; groups are ORed.
    let body = json!({
        "filterGroups": [
            { "filters": [filter("firstname", "EQ", json!("alice")), filter("hs_object_id", "GT", json!(5))] },
            { "filters": [filter("email", "EQ", json!("contact2@example.com"))] },
        ],
        "limit": 100,
    });
    assert_eq!(found(&st, "contacts", body), vec![2, 12, 23]);
    // Sorted by amount, descending; records without an amount come last; ties keep id order.
    let deals = all_deals(&st);
    let mut want: Vec<(u64, Option<f64>)> =
        deals.iter().map(|(id, p)| (*id, p["amount"].as_str().and_then(|a| a.parse().ok()))).collect();
    want.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    });
    let body = json!({ "sorts": [{ "propertyName": "amount", "direction": "DESCENDING" }], "limit": 200 });
    assert_eq!(found(&st, "deals", body), want.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    // Sorting by text ignores case; the "-name" shorthand sorts descending.
    let body = json!({ "sorts": ["-firstname", "hs_object_id"], "limit": 5 });
    assert_eq!(found(&st, "contacts", body), vec![11, 22, 10, 21, 9]);
    // Sorted pages still cover everything once.
    let mut seen = BTreeSet::new();
    for after in [0, 7, 14, 21, 28] {
        let body = json!({ "sorts": [{ "propertyName": "dealstage", "direction": "ASCENDING" }], "limit": 7, "after": after.to_string() });
        for id in found(&st, "deals", body) {
            assert!(seen.insert(id));
        }
    }
    assert_eq!(seen.len(), 30);
    // Free-text query.
    assert_eq!(found(&st, "contacts", json!({ "query": "contact17@" })), vec![17]);
}

#[test]
fn search_validation_errors() {
    let st = unlimited();
    let f = || filter("email", "HAS_PROPERTY", Value::Null);
    let groups = |n: usize, per: usize| -> Value {
        json!({ "filterGroups": (0..n).map(|_| json!({ "filters": (0..per).map(|_| f()).collect::<Vec<_>>() })).collect::<Vec<_>>() })
    };
    // The limits themselves are fine.
    assert_eq!(search(&st, "contacts", groups(5, 5)).status, 200);
    assert_eq!(search(&st, "contacts", groups(1, 10)).status, 200);
    for (body, code, needle) in [
        (groups(6, 1), "TOO_MANY_FILTER_GROUPS", "Too many filter groups: 6 were given, the maximum is 5"),
        (
            groups(1, 11),
            "TOO_MANY_FILTERS_IN_GROUP",
            "Too many filters in filter group 1: 11 were given, the maximum is 10",
        ),
        (groups(3, 9), "TOO_MANY_FILTERS", "Too many filters: 27 were given in all filter groups, the maximum is 25"),
        (json!({ "limit": 0 }), "NUMBER_OUT_OF_RANGE", "limit must be between 1 and 200; 0 was given"),
        (json!({ "limit": 201 }), "NUMBER_OUT_OF_RANGE", "limit must be between 1 and 200; 201 was given"),
        (
            json!({ "limit": 10, "after": "9995" }),
            "SEARCH_RESULT_LIMIT_EXCEEDED",
            "Search results are limited to 10000: after (9995) plus limit (10) must not exceed 10000",
        ),
        (json!({ "after": "abc" }), "INVALID_CURSOR", "after must be a paging cursor"),
        (
            one(filter("widgets", "EQ", json!("1"))),
            "PROPERTY_DOESNT_EXIST",
            "Property \"widgets\" does not exist on object type contacts",
        ),
        (json!({ "sorts": [{ "propertyName": "widgets" }] }), "PROPERTY_DOESNT_EXIST", "widgets"),
    ] {
        let resp = search(&st, "contacts", body.clone());
        let err = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(err["errors"][0]["code"], code, "{body}");
        assert!(err["message"].as_str().is_some_and(|m| m.contains(needle)), "{body}: {err}");
    }
    assert_eq!(search(&st, "contacts", json!({ "limit": 10, "after": "9990" })).status, 200);
    // Malformed filters are JSON errors, as HubSpot's deserialiser reports them.
    for (body, needle) in [
        (one(json!({ "propertyName": "email", "operator": "LIKE", "value": "x" })), "not one of the values accepted"),
        (one(json!({ "propertyName": "email", "operator": "EQ" })), "operator EQ requires a value"),
        (
            one(json!({ "propertyName": "closedate", "operator": "BETWEEN", "value": "1" })),
            "operator BETWEEN requires a highValue",
        ),
        (one(json!({ "propertyName": "email", "operator": "IN" })), "operator IN requires values"),
        (json!({ "filterGroups": "x" }), "\"filterGroups\" must be an array"),
    ] {
        let ty = if body.to_string().contains("closedate") { "deals" } else { "contacts" };
        let err = assert_hubspot_error(&search(&st, ty, body.clone()), 400, "VALIDATION_ERROR");
        assert!(
            err["message"].as_str().is_some_and(|m| m.starts_with("Invalid input JSON") && m.contains(needle)),
            "{err}"
        );
    }
    // Body problems and methods.
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/crm/v3/objects/contacts/search")
            .header("Authorization", "Bearer test-token")
            .body("{}"),
    );
    assert_eq!(resp.status, 415);
    let resp = hs(&st, "/crm/v3/objects/contacts/search");
    assert_hubspot_error(&resp, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(resp.header("allow"), Some("POST"));
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/crm/v3/objects/contacts/search")
            .header("Content-Type", "application/json")
            .body("{}"),
    );
    assert_hubspot_error(&resp, 401, "INVALID_AUTHENTICATION");
    assert_hubspot_error(&search(&st, "widgets", json!({})), 400, "VALIDATION_ERROR");
}

#[test]
fn search_rate_limit() {
    let st = state();
    let rate_limited = |st: &State| get(st, "/crm/v3/_fake/rate_limited").json_body();
    assert_eq!(rate_limited(&st), json!({ "rate_limited": 0 }));
    for _ in 0..SEARCH_PER_SECOND {
        assert_eq!(search(&st, "contacts", json!({ "limit": 1 })).status, 200);
    }
    // Errors count too, but other endpoints do not.
    assert_eq!(hs(&st, "/crm/v3/objects/contacts").status, 200);
    let resp = search(&st, "deals", json!({ "limit": 1 }));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), None);
    let mut body = resp.json_body();
    if let Some(obj) = body.as_object_mut() {
        assert!(obj.remove("correlationId").is_some());
    }
    assert_eq!(
        body,
        json!({
            "status": "error",
            "message": "You have reached your secondly limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "SECONDLY",
            "groupName": "publicapi",
        })
    );
    assert_eq!(search(&st, "companies", json!({})).status, 429);
    assert_eq!(rate_limited(&st), json!({ "rate_limited": 2 }));
    // A second later the window has moved on.
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(search(&st, "contacts", json!({ "limit": 1 })).status, 200);
    // A reset forgets the window and the count.
    get(&st, "/_control/reset");
    assert_eq!(rate_limited(&st), json!({ "rate_limited": 0 }));
    for _ in 0..SEARCH_PER_SECOND {
        assert_eq!(search(&st, "contacts", json!({ "limit": 1 })).status, 200);
    }
    // The limit is a knob.
    let mut config = Config::default();
    config.seeds.insert("hubspot_search_per_second".into(), 4);
    let st = State::new(config);
    for _ in 0..4 {
        assert_eq!(search(&st, "contacts", json!({})).status, 200);
    }
    assert_eq!(search(&st, "contacts", json!({})).status, 429);
}
