//! Write-side tests: HubSpot create/update/archive/batch, REST item writes, idempotency,
//! write fault injection, stats by method and the request log of writes.

use serde_json::{json, Value};

use super::{assert_hubspot_error, get, hs, ids, keys, rest, set, state};
use crate::app::handle;
use crate::data::{iso_ms, HOUR_MS};
use crate::http::{FakeRequest, FakeResponse};
use crate::state::State;

// ---------------------------------------------------------------- helpers

/// A HubSpot request with the valid token and a JSON content type.
fn hs_raw(st: &State, method: &str, url: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new(method, url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", "application/json")
            .body(body),
    )
}

fn hs_send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    hs_raw(st, method, url, &body.to_string())
}

fn create(st: &State, ty: &str, props: Value) -> FakeResponse {
    hs_send(st, "POST", &format!("/crm/v3/objects/{ty}"), &json!({ "properties": props }))
}

fn patch(st: &State, ty: &str, id: &str, props: Value) -> FakeResponse {
    hs_send(st, "PATCH", &format!("/crm/v3/objects/{ty}/{id}"), &json!({ "properties": props }))
}

fn delete(st: &State, ty: &str, id: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("DELETE", &format!("/crm/v3/objects/{ty}/{id}")).header("Authorization", "Bearer test-token"),
    )
}

fn batch(st: &State, ty: &str, op: &str, inputs: Value) -> FakeResponse {
    hs_send(st, "POST", &format!("/crm/v3/objects/{ty}/batch/{op}"), &json!({ "inputs": inputs }))
}

fn active_ids(st: &State, ty: &str) -> Vec<u64> {
    ids(&hs(st, &format!("/crm/v3/objects/{ty}?limit=100")).json_body()["results"])
}

fn archived_ids(st: &State, ty: &str) -> Vec<u64> {
    ids(&hs(st, &format!("/crm/v3/objects/{ty}?limit=100&archived=true")).json_body()["results"])
}

/// The body without its (per-response) correlation id.
fn without_correlation(resp: &FakeResponse) -> Value {
    let mut body = resp.json_body();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("correlationId");
    }
    body
}

/// HubSpot's "Property values were not valid" message for (name, error, message) triples.
fn invalid_message(errors: &[(&str, &str, &str)]) -> String {
    let entries: Vec<String> = errors
        .iter()
        .map(|(name, error, message)| {
            let m = Value::String(message.to_string()).to_string();
            format!(
                "{{\"isValid\":false,\"message\":{m},\"error\":\"{error}\",\"name\":\"{name}\",\
                 \"localizedErrorMessage\":{m}}}"
            )
        })
        .collect();
    format!("Property values were not valid: [{}]", entries.join(","))
}

fn rest_raw(st: &State, method: &str, url: &str, body: &str) -> FakeResponse {
    handle(st, &FakeRequest::new(method, url).header("Content-Type", "application/json").body(body))
}

fn rest_send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    rest_raw(st, method, url, &body.to_string())
}

fn item_ids(st: &State) -> Vec<u64> {
    ids(&rest(st, "/rest/plain/items").json_body())
}

// ---------------------------------------------------------------- HubSpot single writes

#[test]
fn hubspot_create_contact_and_company() {
    let st = state();
    let resp = create(
        &st,
        "contacts",
        json!({ "email": "nia@example.org", "firstname": "Nia", "phone": 5551234, "website": true,
                "mobilephone": null, "lifecyclestage": "lead", "city": "" }),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let rec = resp.json_body();
    // 25 active + 2 archived seeded contacts: the next id is 28.
    assert_eq!(rec["id"], "28");
    assert_eq!(keys(&rec), set(&["id", "properties", "createdAt", "updatedAt", "archived"]));
    assert_eq!(rec["archived"], false);
    assert_eq!(rec["createdAt"], "2025-01-01T00:00:28.000Z");
    assert_eq!(rec["updatedAt"], rec["createdAt"]);
    assert_eq!(
        rec["properties"],
        json!({
            "email": "nia@example.org",
            "firstname": "Nia",
            "phone": "5551234",
            "website": "true",
            "lifecyclestage": "lead",
            "createdate": "2025-01-01T00:00:28.000Z",
            "lastmodifieddate": "2025-01-01T00:00:28.000Z",
            "hs_object_id": "28",
        })
    );

    // Visible to get-by-id (read shape) and at the end of the active listing.
    let got = hs(&st, "/crm/v3/objects/contacts/28?properties=email,phone,city").json_body();
    assert_eq!(got["properties"]["email"], "nia@example.org");
    assert_eq!(got["properties"]["phone"], "5551234");
    assert_eq!(got["properties"]["city"], Value::Null, "empty string clears");
    assert_eq!(got["createdAt"], "2025-01-01T00:00:28.000Z");
    let mut expected: Vec<u64> = (1..=25).collect();
    expected.push(28);
    assert_eq!(active_ids(&st, "contacts"), expected);
    assert_eq!(archived_ids(&st, "contacts"), vec![26, 27]);
    let page = hs(&st, "/crm/v3/objects/contacts?after=26").json_body();
    assert_eq!(ids(&page["results"]), vec![28]);
    assert_eq!(page["results"][0]["properties"]["firstname"], "Nia");
    // The next create gets the next id.
    assert_eq!(create(&st, "contacts", json!({ "firstname": "Second" })).json_body()["id"], "29");

    // Companies: 12 active + 1 archived; numbers are stored as strings.
    let resp = create(
        &st,
        "companies",
        json!({ "name": "NewCo", "domain": "newco.example", "numberofemployees": 42, "annualrevenue": 1500.25 }),
    );
    assert_eq!(resp.status, 201);
    let rec = resp.json_body();
    assert_eq!(rec["id"], "14");
    assert_eq!(
        rec["properties"],
        json!({
            "name": "NewCo",
            "domain": "newco.example",
            "numberofemployees": "42",
            "annualrevenue": "1500.25",
            "createdate": "2025-01-01T00:00:14.000Z",
            "hs_lastmodifieddate": "2025-01-01T00:00:14.000Z",
            "hs_object_id": "14",
        })
    );
    let got = hs(&st, "/crm/v3/objects/companies/14?properties=numberofemployees").json_body();
    assert_eq!(got["properties"]["numberofemployees"], "42");
    // Object type aliases work for writes too.
    assert_eq!(create(&st, "0-2", json!({ "name": "Alias" })).json_body()["id"], "15");
    // An empty property set creates a bare record.
    let bare = create(&st, "companies", json!({})).json_body();
    assert_eq!(keys(&bare["properties"]), set(&["createdate", "hs_lastmodifieddate", "hs_object_id"]));
}

#[test]
fn hubspot_update_changes_only_sent_properties() {
    let st = state();
    let (created, newest) = {
        let data = st.data();
        let rec = &data.contacts.active[2];
        (rec.created_ms, data.contacts.active.iter().map(|r| r.updated_ms).max().unwrap_or(0))
    };
    let before = hs(&st, "/crm/v3/objects/contacts/3?properties=firstname,lastname,email,phone,city").json_body();
    assert!(before["properties"]["phone"].is_string());

    let resp = patch(&st, "contacts", "3", json!({ "firstname": "Zed", "phone": null, "jobtitle": 7 }));
    assert_eq!(resp.status, 200);
    let rec = resp.json_body();
    assert_eq!(rec["id"], "3");
    assert_eq!(rec["archived"], false);
    let props = &rec["properties"];
    assert_eq!(props["firstname"], "Zed");
    assert_eq!(props["jobtitle"], "7");
    assert!(props.get("phone").is_none(), "null clears: {props}");
    assert_eq!(props["lastname"], before["properties"]["lastname"]);
    assert_eq!(props["email"], "contact3@example.com");
    assert_eq!(props["city"], before["properties"]["city"]);
    assert_eq!(rec["createdAt"], iso_ms(created));
    // A change is the table's newest modification (as HubSpot's lastmodifieddate is "now").
    assert_eq!(rec["updatedAt"], iso_ms(newest + 1000));
    assert_eq!(props["lastmodifieddate"], rec["updatedAt"]);
    assert_eq!(props["hs_object_id"], "3");

    // Reads see the change; every update moves updatedAt past the newest one.
    let got = hs(&st, "/crm/v3/objects/contacts/3?properties=firstname,phone").json_body();
    assert_eq!(got["properties"]["firstname"], "Zed");
    assert_eq!(got["properties"]["phone"], Value::Null);
    let again = patch(&st, "contacts", "3", json!({ "lastname": "Quinn" })).json_body();
    assert_eq!(again["updatedAt"], iso_ms(newest + 1000 + HOUR_MS), "an hour after its own last change");
    assert_eq!(again["properties"]["firstname"], "Zed");
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());

    // Companies, with the numeric rules satisfied.
    let rec = patch(&st, "companies", "2", json!({ "numberofemployees": "-3", "annualrevenue": "1e3" })).json_body();
    assert_eq!(rec["properties"]["numberofemployees"], "-3");
    assert_eq!(rec["properties"]["annualrevenue"], "1e3");
    assert!(rec["properties"]["hs_lastmodifieddate"].is_string());

    // Unknown, non-numeric and archived ids: HubSpot's 404.
    for missing in ["999", "abc", "26"] {
        let body = assert_hubspot_error(
            &patch(&st, "contacts", missing, json!({ "firstname": "X" })),
            404,
            "OBJECT_NOT_FOUND",
        );
        assert_eq!(body["message"], "Object not found.  objectId are usually numeric.");
        assert_eq!(body["context"], json!({ "id": [missing] }));
    }
}

#[test]
fn hubspot_delete_archives() {
    let st = state();
    let before = hs(&st, "/crm/v3/objects/contacts/5").json_body();
    let resp = delete(&st, "contacts", "5");
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-type"), None);

    assert_hubspot_error(&hs(&st, "/crm/v3/objects/contacts/5"), 404, "OBJECT_NOT_FOUND");
    let archived = hs(&st, "/crm/v3/objects/contacts/5?archived=true").json_body();
    assert_eq!(archived["archived"], true);
    assert!(archived["archivedAt"].is_string());
    assert_eq!(archived["properties"]["email"], "contact5@example.com");
    assert_eq!(archived["createdAt"], before["createdAt"]);
    let active = active_ids(&st, "contacts");
    assert_eq!(active.len(), 24);
    assert!(!active.contains(&5));
    assert_eq!(archived_ids(&st, "contacts"), vec![5, 26, 27]);

    // Already archived, unknown, non-numeric: 404 with the usual shape.
    for missing in ["5", "26", "999", "x"] {
        let body = assert_hubspot_error(&delete(&st, "contacts", missing), 404, "OBJECT_NOT_FOUND");
        assert_eq!(body["context"], json!({ "id": [missing] }));
    }
    // Ids are never reused: archived ones count for the next id.
    assert_eq!(create(&st, "contacts", json!({ "firstname": "N" })).json_body()["id"], "28");
    assert_eq!(delete(&st, "contacts", "28").status, 204);
    assert_eq!(create(&st, "contacts", json!({ "firstname": "M" })).json_body()["id"], "29");
    assert_eq!(archived_ids(&st, "contacts"), vec![5, 26, 27, 28]);
    // Archived records cannot be updated.
    assert_eq!(patch(&st, "contacts", "5", json!({ "firstname": "Back" })).status, 404);

    assert_eq!(delete(&st, "companies", "12").status, 204);
    assert_eq!(archived_ids(&st, "companies"), vec![12, 13]);
    // DELETE needs no content type (and ignores any body).
    let resp = handle(
        &st,
        &FakeRequest::new("DELETE", "/crm/v3/objects/companies/1")
            .header("Authorization", "Bearer test-token")
            .body("not json"),
    );
    assert_eq!(resp.status, 204);
}

#[test]
fn hubspot_property_validation_messages() {
    let st = state();
    let check = |resp: FakeResponse, errors: &[(&str, &str, &str)]| {
        let body = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(body["message"], invalid_message(errors));
        assert_eq!(keys(&body), set(&["status", "message", "correlationId", "category"]));
    };
    let unknown = "Property \"favourite_color\" does not exist";
    check(
        create(&st, "contacts", json!({ "favourite_color": "blue" })),
        &[("favourite_color", "PROPERTY_DOESNT_EXIST", unknown)],
    );
    // The exact text HubSpot sends.
    let body = create(&st, "contacts", json!({ "favourite_color": "blue" })).json_body();
    assert_eq!(
        body["message"],
        concat!(
            r#"Property values were not valid: [{"isValid":false,"#,
            r#""message":"Property \"favourite_color\" does not exist","error":"PROPERTY_DOESNT_EXIST","#,
            r#""name":"favourite_color","localizedErrorMessage":"Property \"favourite_color\" does not exist"}]"#
        )
    );

    for ro in ["createdate", "lastmodifieddate", "hs_object_id"] {
        let msg = format!("{ro} is a read only property; its value cannot be set.");
        check(create(&st, "contacts", json!({ ro: "x" })), &[(ro, "READ_ONLY_VALUE", &msg)]);
        check(patch(&st, "contacts", "1", json!({ ro: null })), &[(ro, "READ_ONLY_VALUE", &msg)]);
    }
    let msg = "hs_lastmodifieddate is a read only property; its value cannot be set.";
    check(
        create(&st, "companies", json!({ "hs_lastmodifieddate": "x" })),
        &[("hs_lastmodifieddate", "READ_ONLY_VALUE", msg)],
    );
    // Each type has its own schema: companies have no `lastmodifieddate`, contacts no `domain`.
    check(
        create(&st, "companies", json!({ "lastmodifieddate": "x" })),
        &[("lastmodifieddate", "PROPERTY_DOESNT_EXIST", "Property \"lastmodifieddate\" does not exist")],
    );
    check(
        patch(&st, "contacts", "1", json!({ "domain": "x.com" })),
        &[("domain", "PROPERTY_DOESNT_EXIST", "Property \"domain\" does not exist")],
    );

    for bad in ["not-an-email", "a@b", "two words@example.com", "@example.com"] {
        let msg = format!("Email address {bad} is invalid");
        check(create(&st, "contacts", json!({ "email": bad })), &[("email", "INVALID_EMAIL", &msg)]);
    }
    for (bad, shown) in [(json!("12.5"), "12.5"), (json!("abc"), "abc"), (json!(3.5), "3.5"), (json!(true), "true")] {
        let msg = format!("{shown} was not a valid number.");
        check(
            patch(&st, "companies", "1", json!({ "numberofemployees": bad })),
            &[("numberofemployees", "INVALID_INTEGER", &msg)],
        );
    }
    for (bad, shown) in [(json!("lots"), "lots"), (json!("1.2.3"), "1.2.3"), (json!("NaN"), "NaN")] {
        let msg = format!("{shown} was not a valid number.");
        check(create(&st, "companies", json!({ "annualrevenue": bad })), &[("annualrevenue", "INVALID_DECIMAL", &msg)]);
    }

    // Several invalid properties: all of them (in property-name order), valid ones ignored.
    check(
        create(
            &st,
            "companies",
            json!({ "name": "Fine", "zzz": 1, "annualrevenue": "x", "numberofemployees": "y", "createdate": "z" }),
        ),
        &[
            ("annualrevenue", "INVALID_DECIMAL", "x was not a valid number."),
            ("createdate", "READ_ONLY_VALUE", "createdate is a read only property; its value cannot be set."),
            ("numberofemployees", "INVALID_INTEGER", "y was not a valid number."),
            ("zzz", "PROPERTY_DOESNT_EXIST", "Property \"zzz\" does not exist"),
        ],
    );

    // Malformed bodies.
    let body = assert_hubspot_error(
        &hs_raw(&st, "POST", "/crm/v3/objects/contacts", "{\"properties\": {"),
        400,
        "VALIDATION_ERROR",
    );
    let msg = body["message"].as_str().unwrap_or("");
    assert!(msg.starts_with("Invalid input JSON on line 1, column "), "{msg}");
    let body = assert_hubspot_error(&hs_raw(&st, "PATCH", "/crm/v3/objects/contacts/1", ""), 400, "VALIDATION_ERROR");
    assert!(body["message"].as_str().unwrap_or("").starts_with("Invalid input JSON on line 1, column "));
    for bad in [
        json!([]),
        json!({}),
        json!({ "properties": "email=x" }),
        json!({ "properties": { "firstname": ["a"] } }),
        json!({ "properties": { "firstname": { "a": 1 } } }),
    ] {
        let resp = hs_send(&st, "POST", "/crm/v3/objects/contacts", &bad);
        let body = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert!(body["message"].as_str().unwrap_or("").starts_with("Invalid input JSON"), "{bad}: {body}");
    }

    // Nothing was written by any of the above.
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());
    assert_eq!(active_ids(&st, "companies"), (1..=12).collect::<Vec<_>>());
    let c1 = hs(&st, "/crm/v3/objects/companies/1?properties=numberofemployees").json_body();
    assert_eq!(c1["properties"]["numberofemployees"], "42");
}

#[test]
fn hubspot_duplicate_email_conflict() {
    let st = state();
    let resp = create(&st, "contacts", json!({ "email": "CONTACT3@Example.com", "firstname": "Dup" }));
    assert_hubspot_error(&resp, 409, "OBJECT_ALREADY_EXISTS");
    assert_eq!(
        without_correlation(&resp),
        json!({
            "status": "error",
            "message": "Contact already exists. Existing ID: 3",
            "errors": [{
                "message": "A contact with email CONTACT3@Example.com already exists. Existing ID: 3",
                "in": "email",
            }],
            "category": "OBJECT_ALREADY_EXISTS",
            "error": "CONTACT_EXISTS",
        })
    );
    assert_eq!(active_ids(&st, "contacts").len(), 25);

    // Updating another contact to that e-mail conflicts; a contact keeps its own (any case).
    let resp = patch(&st, "contacts", "4", json!({ "email": "contact3@example.com" }));
    assert_eq!(resp.json_body()["message"], "Contact already exists. Existing ID: 3");
    assert_eq!(resp.status, 409);
    assert_eq!(patch(&st, "contacts", "3", json!({ "email": "Contact3@example.com" })).status, 200);
    // Validation comes before the duplicate check.
    let resp = create(&st, "contacts", json!({ "email": "contact3@example.com", "nope": 1 }));
    assert_eq!(resp.status, 400);

    // Only active contacts count: archived ones free their e-mail.
    assert_eq!(create(&st, "contacts", json!({ "email": "contact26@example.com" })).status, 201);
    assert_eq!(delete(&st, "contacts", "3").status, 204);
    let resp = create(&st, "contacts", json!({ "email": "contact3@example.com" }));
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json_body()["id"], "29");
    // Companies have no e-mail rule.
    assert_eq!(create(&st, "companies", json!({ "name": "Acme Corp" })).status, 201);
}

#[test]
fn hubspot_write_media_type_method_and_auth() {
    let st = state();
    let body = json!({ "properties": { "firstname": "X" } }).to_string();
    let no_type = |method: &str, url: &str, content_type: Option<&str>| {
        let mut req = FakeRequest::new(method, url).header("Authorization", "Bearer test-token").body(&body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        handle(&st, &req)
    };
    for (method, url) in [
        ("POST", "/crm/v3/objects/contacts"),
        ("PATCH", "/crm/v3/objects/contacts/1"),
        ("POST", "/crm/v3/objects/contacts/batch/create"),
        ("POST", "/crm/v3/objects/contacts/batch/update"),
    ] {
        for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let resp = no_type(method, url, ct);
            let err = assert_hubspot_error(&resp, 415, "VALIDATION_ERROR");
            assert_eq!(err["message"], "Unsupported Media Type");
        }
    }
    // Media type parameters and case do not matter.
    assert_eq!(no_type("POST", "/crm/v3/objects/contacts", Some("Application/JSON; charset=utf-8")).status, 201);
    assert_eq!(active_ids(&st, "contacts").len(), 26);

    // Other methods: 405 in HubSpot's shape, with Allow.
    for (method, url, allow) in [
        ("PUT", "/crm/v3/objects/contacts/1", "GET, PATCH, DELETE"),
        ("POST", "/crm/v3/objects/contacts/1", "GET, PATCH, DELETE"),
        ("DELETE", "/crm/v3/objects/contacts", "GET, POST"),
        ("PATCH", "/crm/v3/objects/companies", "GET, POST"),
        ("GET", "/crm/v3/objects/contacts/batch/create", "POST"),
        ("PUT", "/crm/v3/objects/contacts/batch/update", "POST"),
    ] {
        let resp = hs_raw(&st, method, url, &body);
        let err = assert_hubspot_error(&resp, 405, "METHOD_NOT_ALLOWED");
        assert_eq!(err["message"], "Method Not Allowed");
        assert_eq!(resp.header("allow"), Some(allow), "{method} {url}");
    }

    // Writes need the token like reads; nothing happens without it.
    for req in [
        FakeRequest::new("POST", "/crm/v3/objects/contacts").header("Content-Type", "application/json").body(&body),
        FakeRequest::new("PATCH", "/crm/v3/objects/contacts/1").header("Authorization", "Bearer wrong").body(&body),
        FakeRequest::new("DELETE", "/crm/v3/objects/contacts/1"),
        FakeRequest::new("POST", "/crm/v3/objects/contacts/batch/create").body(&body),
    ] {
        assert_hubspot_error(&handle(&st, &req), 401, "INVALID_AUTHENTICATION");
    }
    assert_eq!(active_ids(&st, "contacts").len(), 26);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/1").json_body()["properties"]["firstname"], "Alice");

    // Unknown object type on a write.
    let err = assert_hubspot_error(&hs_raw(&st, "POST", "/crm/v3/objects/widgets", &body), 400, "VALIDATION_ERROR");
    assert_eq!(err["message"], "Unable to infer object type from: widgets");
    // Unknown batch operations are not routes.
    assert_eq!(hs_raw(&st, "POST", "/crm/v3/objects/contacts/batch/read", &body).status, 404);
}

// ---------------------------------------------------------------- HubSpot batches

#[test]
fn hubspot_batch_create_all_valid() {
    let st = state();
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([
            { "properties": { "email": "b1@example.com", "firstname": "B1" } },
            { "properties": { "email": "b2@example.com" } },
            { "properties": { "firstname": "B3" }, "objectWriteTraceId": "only-one-has-a-trace" },
        ]),
    );
    assert_eq!(resp.status, 201);
    let body = resp.json_body();
    assert_eq!(keys(&body), set(&["status", "results", "startedAt", "completedAt"]));
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["startedAt"], "2025-01-01T00:00:00.000Z");
    assert_eq!(body["completedAt"], "2025-01-01T00:00:01.000Z");
    assert_eq!(ids(&body["results"]), vec![28, 29, 30]);
    let results = body["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results[0]["properties"]["email"], "b1@example.com");
    assert_eq!(results[1]["properties"]["email"], "b2@example.com");
    assert_eq!(results[2]["properties"]["firstname"], "B3");
    assert_eq!(results[2]["objectWriteTraceId"], "only-one-has-a-trace");
    assert!(results[0].get("objectWriteTraceId").is_none());
    assert_eq!(results[0]["createdAt"], "2025-01-01T00:00:28.000Z");
    // Same shape as a single create.
    assert_eq!(keys(&results[0]), set(&["id", "properties", "createdAt", "updatedAt", "archived"]));

    assert_eq!(active_ids(&st, "contacts")[25..], [28, 29, 30]);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/29").json_body()["properties"]["email"], "b2@example.com");
}

#[test]
fn hubspot_batch_create_partial_with_trace_ids() {
    let st = state();
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([
            { "properties": { "email": "a@example.com" }, "objectWriteTraceId": "t1" },
            { "properties": { "shoe_size": "44" }, "objectWriteTraceId": "t2" },
            { "properties": { "email": "contact1@example.com" }, "objectWriteTraceId": "t3" },
            { "properties": { "email": "b@example.com", "firstname": "B" }, "objectWriteTraceId": "t4" },
            { "properties": { "email": "A@example.com" }, "objectWriteTraceId": "t5" },
        ]),
    );
    assert_eq!(resp.status, 207);
    let body = resp.json_body();
    assert_eq!(keys(&body), set(&["status", "results", "numErrors", "errors", "startedAt", "completedAt"]));
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(ids(&body["results"]), vec![28, 29]);
    assert_eq!(body["results"][0]["objectWriteTraceId"], "t1");
    assert_eq!(body["results"][1]["objectWriteTraceId"], "t4");
    assert_eq!(body["results"][1]["properties"]["firstname"], "B");
    assert_eq!(body["numErrors"], 3);
    assert_eq!(
        body["errors"],
        json!([
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": invalid_message(&[
                    ("shoe_size", "PROPERTY_DOESNT_EXIST", "Property \"shoe_size\" does not exist"),
                ]),
                "context": { "objectWriteTraceId": ["t2"] },
                "errors": [{
                    "message": "Property \"shoe_size\" does not exist",
                    "code": "PROPERTY_DOESNT_EXIST",
                    "in": "shoe_size",
                }],
            },
            {
                "status": "error",
                "category": "OBJECT_ALREADY_EXISTS",
                "message": "Contact already exists. Existing ID: 1",
                "context": { "objectWriteTraceId": ["t3"] },
                "errors": [{
                    "message": "A contact with email contact1@example.com already exists. Existing ID: 1",
                    "in": "email",
                }],
            },
            {
                "status": "error",
                "category": "OBJECT_ALREADY_EXISTS",
                "message": "Contact already exists. Existing ID: 28",
                "context": { "objectWriteTraceId": ["t5"] },
                "errors": [{
                    "message": "A contact with email A@example.com already exists. Existing ID: 28",
                    "in": "email",
                }],
            },
        ])
    );
    // The error messages are those of the single-record endpoint.
    let single = create(&st, "contacts", json!({ "shoe_size": "44" })).json_body();
    assert_eq!(single["message"], body["errors"][0]["message"]);

    // Exactly the valid inputs were created.
    let active = active_ids(&st, "contacts");
    assert_eq!(active.len(), 27);
    assert_eq!(active[25..], [28, 29]);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/28").json_body()["properties"]["email"], "a@example.com");

    // Every input failing still answers 207, with no results.
    let resp = batch(
        &st,
        "companies",
        "create",
        json!([{ "properties": { "numberofemployees": "many" }, "objectWriteTraceId": "x" }]),
    );
    assert_eq!(resp.status, 207);
    let body = resp.json_body();
    assert_eq!(body["results"], json!([]));
    assert_eq!(body["numErrors"], 1);
    assert_eq!(body["errors"][0]["context"], json!({ "objectWriteTraceId": ["x"] }));
    assert_eq!(active_ids(&st, "companies").len(), 12);
}

#[test]
fn hubspot_batch_create_without_trace_ids_is_all_or_nothing() {
    let st = state();
    // Some inputs carry trace ids, not all: the first failure decides, nothing is created.
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([
            { "properties": { "email": "ok@example.com" }, "objectWriteTraceId": "t1" },
            { "properties": { "email": "broken" } },
            { "properties": { "unknown_prop": "x" }, "objectWriteTraceId": "t3" },
        ]),
    );
    let single = create(&st, "contacts", json!({ "email": "broken" }));
    assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
    assert_eq!(without_correlation(&resp), without_correlation(&single));
    assert_eq!(
        resp.json_body()["message"],
        invalid_message(&[("email", "INVALID_EMAIL", "Email address broken is invalid")])
    );
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());

    // A duplicate first: the single endpoint's 409.
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([
            { "properties": { "email": "fresh@example.com" } },
            { "properties": { "email": "contact2@example.com" } },
            { "properties": { "email": "also-broken" } },
        ]),
    );
    assert_hubspot_error(&resp, 409, "OBJECT_ALREADY_EXISTS");
    assert_eq!(resp.json_body()["message"], "Contact already exists. Existing ID: 2");
    assert_eq!(resp.json_body()["error"], "CONTACT_EXISTS");
    // A duplicate within the batch counts too (against the id the first one would get).
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([{ "properties": { "email": "twin@example.com" } }, { "properties": { "email": "TWIN@example.com" } }]),
    );
    assert_eq!(resp.status, 409);
    assert_eq!(resp.json_body()["message"], "Contact already exists. Existing ID: 28");
    // Nothing created: the next id is still 28 and "fresh" is free.
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());
    let resp = create(&st, "contacts", json!({ "email": "fresh@example.com" }));
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json_body()["id"], "28");
}

#[test]
fn hubspot_batch_size_limits() {
    let st = state();
    for (inputs, n) in [(json!([]), 0usize), (Value::Array(vec![json!({ "properties": {} }); 101]), 101)] {
        for op in ["create", "update"] {
            let resp = batch(&st, "companies", op, inputs.clone());
            let body = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
            assert_eq!(body["message"], format!("Batch input size must be between 1 and 100; got {n}"));
        }
    }
    assert_eq!(active_ids(&st, "companies").len(), 12);
    // Missing or malformed `inputs`.
    for bad in
        [json!({}), json!({ "inputs": {} }), json!({ "inputs": [1] }), json!({ "inputs": [{ "properties": 1 }] })]
    {
        let resp = hs_send(&st, "POST", "/crm/v3/objects/companies/batch/create", &bad);
        assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
    }
    // Exactly 100 is fine.
    let hundred: Vec<Value> = (0..100).map(|i| json!({ "properties": { "name": format!("Bulk {i}") } })).collect();
    let resp = batch(&st, "companies", "create", Value::Array(hundred));
    assert_eq!(resp.status, 201);
    assert_eq!(ids(&resp.json_body()["results"]), (14..=113).collect::<Vec<_>>());
    assert_eq!(active_ids(&st, "companies").len(), 100, "first page of the listing");
    let page = hs(&st, "/crm/v3/objects/companies?limit=100&after=101").json_body();
    assert_eq!(ids(&page["results"]), (101..=113).collect::<Vec<_>>());
}

#[test]
fn hubspot_batch_update() {
    let st = state();
    let newest = st.data().contacts.active.iter().map(|r| r.updated_ms).max().unwrap_or(0);
    let resp = batch(
        &st,
        "contacts",
        "update",
        json!([
            { "id": "2", "properties": { "firstname": "Two" } },
            { "id": "1", "properties": { "firstname": "One", "phone": null } },
        ]),
    );
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(keys(&body), set(&["status", "results", "startedAt", "completedAt"]));
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(ids(&body["results"]), vec![2, 1]);
    assert_eq!(body["results"][1]["properties"]["firstname"], "One");
    assert!(body["results"][1]["properties"].get("phone").is_none());
    assert_eq!(body["results"][1]["properties"]["email"], "contact1@example.com");
    // Contact 2 was updated first (newest + 1 s), then contact 1.
    assert_eq!(body["results"][1]["updatedAt"], iso_ms(newest + 2000));
    let got = hs(&st, "/crm/v3/objects/contacts/2").json_body();
    assert_eq!(got["properties"]["firstname"], "Two");

    // Partial success with trace ids: unknown ids and invalid values become errors.
    let resp = batch(
        &st,
        "contacts",
        "update",
        json!([
            { "id": "3", "properties": { "lastname": "Three" }, "objectWriteTraceId": "u1" },
            { "id": "999", "properties": { "lastname": "Nobody" }, "objectWriteTraceId": "u2" },
            { "id": "4", "properties": { "email": "nope" }, "objectWriteTraceId": "u3" },
            { "id": "26", "properties": { "lastname": "Archived" }, "objectWriteTraceId": "u4" },
            { "id": "5", "properties": { "email": "contact6@example.com" }, "objectWriteTraceId": "u5" },
        ]),
    );
    assert_eq!(resp.status, 207);
    let body = resp.json_body();
    assert_eq!(ids(&body["results"]), vec![3]);
    assert_eq!(body["results"][0]["objectWriteTraceId"], "u1");
    assert_eq!(body["numErrors"], 4);
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    let summary: Vec<(String, Value)> =
        errors.iter().map(|e| (e["category"].as_str().unwrap_or("").to_string(), e["context"].clone())).collect();
    assert_eq!(
        summary,
        vec![
            ("OBJECT_NOT_FOUND".to_string(), json!({ "objectWriteTraceId": ["u2"] })),
            ("VALIDATION_ERROR".to_string(), json!({ "objectWriteTraceId": ["u3"] })),
            ("OBJECT_NOT_FOUND".to_string(), json!({ "objectWriteTraceId": ["u4"] })),
            ("OBJECT_ALREADY_EXISTS".to_string(), json!({ "objectWriteTraceId": ["u5"] })),
        ]
    );
    assert_eq!(errors[0]["message"], "Object not found.  objectId are usually numeric.");
    assert_eq!(errors[0]["errors"][0]["context"], json!({ "id": ["999"] }));
    assert_eq!(errors[1]["message"], invalid_message(&[("email", "INVALID_EMAIL", "Email address nope is invalid")]));
    assert_eq!(errors[3]["message"], "Contact already exists. Existing ID: 6");
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/3").json_body()["properties"]["lastname"], "Three");
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/4").json_body()["properties"]["email"], "contact4@example.com");

    // Without trace ids: the first failure is answered like the single endpoint, nothing changes.
    let before = hs(&st, "/crm/v3/objects/contacts/7").json_body();
    let resp = batch(
        &st,
        "contacts",
        "update",
        json!([
            { "id": "7", "properties": { "firstname": "Rolled back" } },
            { "id": "999", "properties": { "firstname": "X" } },
            { "id": "8", "properties": { "nope": "x" } },
        ]),
    );
    let err = assert_hubspot_error(&resp, 404, "OBJECT_NOT_FOUND");
    assert_eq!(err["context"], json!({ "id": ["999"] }));
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/7").json_body(), before);
    let resp = batch(
        &st,
        "contacts",
        "update",
        json!([
            { "id": "7", "properties": { "firstname": "Rolled back" } },
            { "id": "8", "properties": { "email": "contact9@example.com" } },
        ]),
    );
    assert_eq!(resp.status, 409);
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/7").json_body(), before);

    // Ids must be unique and present; numeric ids are accepted.
    let resp =
        batch(&st, "contacts", "update", json!([{ "id": "7", "properties": {} }, { "id": "7", "properties": {} }]));
    let err = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
    assert_eq!(err["message"], "Duplicate IDs found in batch input: [7]. IDs must be unique");
    let resp = batch(&st, "contacts", "update", json!([{ "properties": { "firstname": "No id" } }]));
    assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
    let resp = batch(&st, "companies", "update", json!([{ "id": 3, "properties": { "city": "Lyon" } }]));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body()["results"][0]["properties"]["city"], "Lyon");
}

// ---------------------------------------------------------------- REST items

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

// ---------------------------------------------------------------- faults, stats, log

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
    batch(&st, "contacts", "create", json!([{ "properties": { "email": "log@example.com" } }]));
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
