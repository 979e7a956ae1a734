//! HubSpot single writes: create, update, archive, property validation, the duplicate-email rule, media type,
//! method and auth.

use super::*;

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
fn hubspot_create_requires_associations() {
    let st = state();
    let missing = "Invalid input JSON: Cannot build SimplePublicObjectInputForCreate, \
                   some of required attributes are not set [associations]";
    let not_array = "Invalid input JSON: \"associations\" must be an array of association objects";
    let check = |body: Value, message: &str| {
        let resp = hs_send(&st, "POST", "/crm/v3/objects/contacts", &body);
        let err = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(err["message"], message, "{body}");
        assert_eq!(keys(&err), set(&["status", "message", "correlationId", "category"]));
    };

    // Without `associations` (or with null): HubSpot's "required attributes" message, before the
    // property rules and the duplicate-email check.
    check(json!({ "properties": { "email": "noassoc@example.com", "firstname": "No" } }), missing);
    check(json!({ "properties": { "email": "noassoc@example.com" }, "associations": null }), missing);
    check(json!({ "properties": { "email": "contact1@example.com" } }), missing);
    check(json!({ "properties": { "nope": "x" } }), missing);
    // Not an array of objects.
    check(json!({ "properties": { "email": "noassoc@example.com" }, "associations": "x" }), not_array);
    check(json!({ "properties": { "email": "noassoc@example.com" }, "associations": {} }), not_array);
    check(json!({ "properties": { "email": "noassoc@example.com" }, "associations": [1] }), not_array);

    // Nothing was created: the listing is unchanged and the next create still gets id 28.
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());
    let search = hs_send(
        &st,
        "POST",
        "/crm/v3/objects/contacts/search",
        &json!({ "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": "noassoc@example.com" }] }] }),
    );
    assert_eq!(search.status, 200);
    assert_eq!(search.json_body()["total"], 0);
    let resp = create(&st, "contacts", json!({ "email": "noassoc@example.com" }));
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json_body()["id"], "28");

    // Updates take only `properties`: a PATCH without associations succeeds.
    let resp = hs_send(&st, "PATCH", "/crm/v3/objects/contacts/1", &json!({ "properties": { "firstname": "Ann" } }));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body()["properties"]["firstname"], "Ann");
    assert_eq!(hs(&st, "/crm/v3/objects/contacts/1").json_body()["properties"]["firstname"], "Ann");
}

#[test]
fn hubspot_write_media_type_method_and_auth() {
    let st = state();
    let body = json!({ "properties": { "firstname": "X" }, "associations": [] }).to_string();
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
