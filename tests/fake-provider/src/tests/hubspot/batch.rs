//! HubSpot batch writes: all valid, partial success with trace ids, all or nothing without, size limits, batch
//! update.

use super::*;

#[test]
fn hubspot_batch_create_all_valid() {
    let st = state();
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([
            { "properties": { "email": "b1@example.com", "firstname": "B1" }, "associations": [] },
            { "properties": { "email": "b2@example.com" }, "associations": [] },
            { "properties": { "firstname": "B3" }, "associations": [], "objectWriteTraceId": "only-one-has-a-trace" },
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
            { "properties": { "email": "a@example.com" }, "associations": [], "objectWriteTraceId": "t1" },
            { "properties": { "shoe_size": "44" }, "associations": [], "objectWriteTraceId": "t2" },
            { "properties": { "email": "contact1@example.com" }, "associations": [], "objectWriteTraceId": "t3" },
            { "properties": { "email": "b@example.com", "firstname": "B" }, "associations": [], "objectWriteTraceId": "t4" },
            { "properties": { "email": "A@example.com" }, "associations": [], "objectWriteTraceId": "t5" },
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
        json!([{ "properties": { "numberofemployees": "many" }, "associations": [], "objectWriteTraceId": "x" }]),
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
            { "properties": { "email": "ok@example.com" }, "associations": [], "objectWriteTraceId": "t1" },
            { "properties": { "email": "broken" }, "associations": [] },
            { "properties": { "unknown_prop": "x" }, "associations": [], "objectWriteTraceId": "t3" },
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
            { "properties": { "email": "fresh@example.com" }, "associations": [] },
            { "properties": { "email": "contact2@example.com" }, "associations": [] },
            { "properties": { "email": "also-broken" }, "associations": [] },
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
        json!([{ "properties": { "email": "twin@example.com" }, "associations": [] }, { "properties": { "email": "TWIN@example.com" }, "associations": [] }]),
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
fn hubspot_batch_create_requires_associations() {
    let st = state();
    let missing = "Invalid input JSON: Cannot build SimplePublicObjectInputForCreate, \
                   some of required attributes are not set [associations]";
    // One input without `associations` rejects the whole request, even with trace ids on every input.
    for traced in [false, true] {
        let mut inputs = json!([
            { "properties": { "email": "first@example.com" }, "associations": [] },
            { "properties": { "email": "second@example.com" } },
            { "properties": { "email": "third@example.com" }, "associations": [] },
        ]);
        if traced {
            for (i, input) in inputs.as_array_mut().into_iter().flatten().enumerate() {
                input["objectWriteTraceId"] = json!(format!("t{i}"));
            }
        }
        let resp = batch(&st, "contacts", "create", inputs);
        let err = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
        assert_eq!(err["message"], missing, "traced: {traced}");
        assert_eq!(keys(&err), set(&["status", "message", "correlationId", "category"]));
    }
    // A non-array `associations` in one input.
    let resp = batch(
        &st,
        "companies",
        "create",
        json!([
            { "properties": { "name": "Fine" }, "associations": [] },
            { "properties": { "name": "Bad" }, "associations": "x" },
        ]),
    );
    let err = assert_hubspot_error(&resp, 400, "VALIDATION_ERROR");
    assert_eq!(err["message"], "Invalid input JSON: \"associations\" must be an array of association objects");

    // Nothing was created: the next ids are still the first free ones.
    assert_eq!(active_ids(&st, "contacts"), (1..=25).collect::<Vec<_>>());
    assert_eq!(active_ids(&st, "companies"), (1..=12).collect::<Vec<_>>());
    let resp = batch(
        &st,
        "contacts",
        "create",
        json!([{ "properties": { "email": "first@example.com" }, "associations": [] }]),
    );
    assert_eq!(resp.status, 201);
    assert_eq!(ids(&resp.json_body()["results"]), vec![28]);

    // A batch update needs no associations.
    let resp = batch(&st, "contacts", "update", json!([{ "id": "2", "properties": { "firstname": "Two" } }]));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body()["results"][0]["properties"]["firstname"], "Two");
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
    let hundred: Vec<Value> =
        (0..100).map(|i| json!({ "properties": { "name": format!("Bulk {i}") }, "associations": [] })).collect();
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
