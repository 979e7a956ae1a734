//! sObject CRUD, composite collections, injected errors, reseeding and describe.

use super::*;

#[test]
fn sobject_get_create_update_delete() {
    let st = state();
    let token = session(&st, "sf-client");
    let id = column(&st, &token, "SELECT Id FROM Account WHERE Name = 'Acme Corp 1'", "Id")[0]
        .as_str()
        .unwrap_or("")
        .to_string();
    let url = format!("{V}/sobjects/Account/{id}");
    let rec = call(&st, &token, "GET", &url, None).json_body();
    assert_eq!(
        keys(&rec),
        set(&[
            "attributes",
            "Id",
            "IsDeleted",
            "Name",
            "Type",
            "Industry",
            "Phone",
            "Website",
            "BillingCity",
            "BillingCountry",
            "AnnualRevenue",
            "NumberOfEmployees",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp"
        ])
    );
    assert_eq!(rec["attributes"]["url"], url);
    let rec = call(&st, &token, "GET", &format!("{url}?fields=Name,industry"), None).json_body();
    assert_eq!(keys(&rec), set(&["attributes", "Name", "Industry"]));
    assert_eq!(
        call(&st, &token, "GET", &format!("{V}/sobjects/Account/{}", id.get(..15).unwrap_or("")), None).status,
        200
    );
    sf_error(&call(&st, &token, "GET", &format!("{url}?fields=Nope"), None), 400, "INVALID_FIELD");
    let missing = call(&st, &token, "GET", &format!("{V}/sobjects/Account/001Dn00000000zz"), None);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json_body(),
        json!([{ "errorCode": "NOT_FOUND", "message": "The requested resource does not exist" }])
    );
    sf_error(&call(&st, &token, "GET", &format!("{V}/sobjects/Account/xyz"), None), 404, "NOT_FOUND");
    sf_error(&call(&st, &token, "GET", &format!("{V}/sobjects/Widget/{id}"), None), 404, "NOT_FOUND");

    // Create.
    let resp = call(
        &st,
        &token,
        "POST",
        &format!("{V}/sobjects/Account"),
        Some(&json!({ "Name": "Fresh Co", "NumberOfEmployees": "12", "AnnualRevenue": 5.5 })),
    );
    assert_eq!(resp.status, 201);
    let body = resp.json_body();
    let new_id = body["id"].as_str().unwrap_or("").to_string();
    assert_eq!(body, json!({ "id": new_id, "success": true, "errors": [] }));
    assert!(new_id.starts_with("001Dn000000007H"), "{new_id}");
    let created = call(&st, &token, "GET", &format!("{V}/sobjects/Account/{new_id}"), None).json_body();
    assert_eq!(created["NumberOfEmployees"], 12);
    assert_eq!(created["AnnualRevenue"], 5.5);
    assert_eq!(created["IsDeleted"], false);
    assert_eq!(created["CreatedDate"], "2025-01-01T00:07:31.000+0000");
    assert_eq!(created["LastModifiedDate"], created["CreatedDate"]);
    assert_eq!(count(&st, &token, "SELECT Id FROM Account"), 451);
    let lead =
        call(&st, &token, "POST", &format!("{V}/sobjects/Lead"), Some(&json!({ "LastName": "L", "Company": "C" })))
            .json_body();
    let lead =
        call(&st, &token, "GET", &format!("{V}/sobjects/Lead/{}", lead["id"].as_str().unwrap_or("")), None).json_body();
    assert_eq!(lead["Status"], "Open - Not Contacted");

    // Validation errors, each in Salesforce's shape.
    let post = |obj: &str, body: Value| call(&st, &token, "POST", &format!("{V}/sobjects/{obj}"), Some(&body));
    assert_eq!(
        post("Contact", json!({ "FirstName": "A" })).json_body(),
        json!([{ "message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"] }])
    );
    assert_eq!(
        post("Lead", json!({})).json_body(),
        json!([{ "message": "Required fields are missing: [LastName, Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName", "Company"] }])
    );
    assert_eq!(
        post("Opportunity", json!({ "Name": "O", "StageName": "Prospecting" })).json_body()[0]["fields"],
        json!(["CloseDate"])
    );
    assert_eq!(
        post("Account", json!({ "Name": "X", "Foo": 1 })).json_body(),
        json!([{ "message": "No such column 'Foo' on sobject of type Account", "errorCode": "INVALID_FIELD" }])
    );
    assert_eq!(
        post("Account", json!({ "Name": "X", "CreatedDate": "2024-01-01T00:00:00Z" })).json_body(),
        json!([{
            "message": "Unable to create/update fields: CreatedDate. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "fields": ["CreatedDate"],
        }])
    );
    sf_error(&post("Account", json!({ "Name": "X", "Id": id })), 400, "INVALID_FIELD_FOR_INSERT_UPDATE");
    let resp = handle(
        &st,
        &FakeRequest::new("POST", &format!("{V}/sobjects/Account"))
            .header("Authorization", &format!("Bearer {token}"))
            .body(r#"{"Name":"X","NumberOfEmployees":"abc"}"#),
    );
    assert_eq!(
        resp.json_body(),
        json!([{
            "message": "Cannot deserialize instance of int from VALUE_STRING value abc or request may be missing a required field at [line:1, column:38]",
            "errorCode": "JSON_PARSER_ERROR",
        }])
    );
    let err = sf_error(
        &post("Opportunity", json!({ "Name": "O", "StageName": "S", "CloseDate": "2024-13-01" })),
        400,
        "JSON_PARSER_ERROR",
    );
    assert!(err["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Cannot deserialize instance of date from VALUE_STRING value 2024-13-01")));
    sf_error(&post("Account", json!({ "Name": "X", "IsDeleted": "maybe" })), 400, "JSON_PARSER_ERROR");
    assert_eq!(
        post("Contact", json!({ "LastName": "L", "Email": "x" })).json_body(),
        json!([{ "message": "Email: invalid email address: x", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"] }])
    );
    sf_error(&post("Contact", json!({ "LastName": "L", "AccountId": "bogus" })), 400, "MALFORMED_ID");
    sf_error(
        &post("Contact", json!({ "LastName": "L", "AccountId": new_id.replace("001", "003") })),
        400,
        "FIELD_INTEGRITY_EXCEPTION",
    );
    sf_error(
        &post("Contact", json!({ "LastName": "L", "AccountId": "001Dn00000000zz" })),
        400,
        "INVALID_CROSS_REFERENCE_KEY",
    );
    sf_error(&post("Account", json!([])), 400, "JSON_PARSER_ERROR");
    sf_error(&call(&st, &token, "POST", &format!("{V}/sobjects/Account"), None), 400, "JSON_PARSER_ERROR");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account"), 451, "no failed create wrote anything");

    // Update: 204, values merged, LastModifiedDate moves on.
    let contact = post("Contact", json!({ "LastName": "Before", "AccountId": new_id })).json_body()["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let curl = format!("{V}/sobjects/Contact/{contact}");
    let before = call(&st, &token, "GET", &curl, None).json_body();
    let resp = call(&st, &token, "PATCH", &curl, Some(&json!({ "lastname": "After", "Title": "Boss" })));
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    let after = call(&st, &token, "GET", &curl, None).json_body();
    assert_eq!(
        (after["LastName"].clone(), after["Title"].clone(), after["AccountId"].clone()),
        (json!("After"), json!("Boss"), json!(new_id))
    );
    assert_ne!(after["LastModifiedDate"], before["LastModifiedDate"]);
    assert_eq!(after["CreatedDate"], before["CreatedDate"]);
    sf_error(&call(&st, &token, "PATCH", &curl, Some(&json!({ "LastName": null }))), 400, "REQUIRED_FIELD_MISSING");
    sf_error(
        &call(&st, &token, "PATCH", &curl, Some(&json!({ "SystemModstamp": "2024-01-01T00:00:00Z" }))),
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
    );
    sf_error(
        &call(&st, &token, "PATCH", &format!("{V}/sobjects/Contact/003Dn00000000zz"), Some(&json!({}))),
        404,
        "NOT_FOUND",
    );
    assert_eq!(count(&st, &token, "SELECT Id FROM Contact WHERE LastName = 'After'"), 1);

    // Delete: 204, then gone from reads and queries (but not from queryAll).
    assert_eq!(call(&st, &token, "DELETE", &curl, None).status, 204);
    sf_error(&call(&st, &token, "GET", &curl, None), 404, "NOT_FOUND");
    assert_eq!(
        call(&st, &token, "DELETE", &curl, None).json_body(),
        json!([{ "message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED" }])
    );
    sf_error(&call(&st, &token, "PATCH", &curl, Some(&json!({ "Title": "x" }))), 404, "ENTITY_IS_DELETED");
    sf_error(&call(&st, &token, "DELETE", &format!("{V}/sobjects/Contact/003Dn00000000zz"), None), 404, "NOT_FOUND");
    assert_eq!(count(&st, &token, "SELECT Id FROM Contact WHERE LastName = 'After'"), 0);
    let resp = handle(
        &st,
        &FakeRequest::get(&format!(
            "{V}/queryAll?q={}",
            percent_encode("SELECT Id, IsDeleted FROM Contact WHERE LastName = 'After'")
        ))
        .header("Authorization", &format!("Bearer {token}")),
    );
    assert_eq!(resp.json_body()["records"][0]["IsDeleted"], true);
    // The deletion moved SystemModstamp past every stamp the object had: a replication's queryAll since its
    // last high-water mark finds it, and only it.
    let deleted_since = |since: &str| {
        let q = format!("SELECT Id FROM Contact WHERE IsDeleted = true AND SystemModstamp > {since}");
        handle(
            &st,
            &FakeRequest::get(&format!("{V}/queryAll?q={}", percent_encode(&q)))
                .header("Authorization", &format!("Bearer {token}")),
        )
        .json_body()["records"]
            .as_array()
            .map(|r| r.iter().map(|r| r["Id"].as_str().unwrap_or_default().to_string()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let newest = after["LastModifiedDate"].as_str().unwrap().to_string();
    assert_eq!(deleted_since(&newest), vec![after["Id"].as_str().unwrap().to_string()]);
    // Methods.
    let resp = call(&st, &token, "PUT", &url, None);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.json_body()[0]["errorCode"], "METHOD_NOT_ALLOWED");
}

#[test]
fn composite_collections() {
    let st = state();
    let token = session(&st, "sf-client");
    let url = format!("{V}/composite/sobjects");
    let rec = |name: Option<&str>| match name {
        Some(n) => json!({ "attributes": { "type": "Account" }, "Name": n }),
        None => json!({ "attributes": { "type": "Account" }, "Industry": "Retail" }),
    };
    // Partial success: one result per input, in order.
    let resp = call(
        &st,
        &token,
        "POST",
        &url,
        Some(&json!({ "allOrNone": false, "records": [rec(Some("C1")), rec(None), rec(Some("C2"))] })),
    );
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body[0]["success"], true);
    assert_eq!(body[0]["errors"], json!([]));
    assert_eq!(
        body[1],
        json!({ "success": false, "errors": [{ "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"] }] })
    );
    assert_eq!(body[2]["success"], true);
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name IN ('C1', 'C2')"), 2);
    // All or none: one failure rolls everything back.
    let resp =
        call(&st, &token, "POST", &url, Some(&json!({ "allOrNone": true, "records": [rec(Some("D1")), rec(None)] })));
    let body = resp.json_body();
    assert_eq!(body[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(body[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name = 'D1'"), 0);
    assert_eq!(count(&st, &token, "SELECT Id FROM Account"), 452);
    // Mixed types; unknown types fail per record.
    let body = call(
        &st,
        &token,
        "POST",
        &url,
        Some(&json!({ "records": [
        { "attributes": { "type": "Lead" }, "LastName": "L", "Company": "C" },
        { "attributes": { "type": "Widget" }, "Name": "W" },
    ] })),
    )
    .json_body();
    assert_eq!(body[0]["success"], true);
    assert_eq!(body[1]["errors"][0]["statusCode"], "INVALID_TYPE");
    // At most 200 records.
    let many: Vec<Value> = (0..201).map(|i| rec(Some(&format!("M{i}")))).collect();
    assert_eq!(
        call(&st, &token, "POST", &url, Some(&json!({ "records": many }))).json_body(),
        json!([{ "message": "record limit reached. cannot submit more than 200 records into this call", "errorCode": "EXCEEDED_ID_LIMIT" }])
    );
    let ok: Vec<Value> = (0..200).map(|i| rec(Some(&format!("M{i}")))).collect();
    let body = call(&st, &token, "POST", &url, Some(&json!({ "records": ok }))).json_body();
    assert_eq!(body.as_array().map(Vec::len), Some(200));
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name LIKE 'M%'"), 200);
    // A record that does not deserialise fails the whole request.
    sf_error(
        &call(
            &st,
            &token,
            "POST",
            &url,
            Some(&json!({ "records": [rec(Some("E1")), { "attributes": { "type": "Account" }, "Bogus": 1 }] })),
        ),
        400,
        "INVALID_FIELD",
    );
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name = 'E1'"), 0);

    // Update by id.
    let ids = column(&st, &token, "SELECT Id FROM Account WHERE Name IN ('C1', 'C2') ORDER BY Name", "Id");
    let (c1, c2) = (ids[0].as_str().unwrap_or("").to_string(), ids[1].as_str().unwrap_or("").to_string());
    let body = call(
        &st,
        &token,
        "PATCH",
        &url,
        Some(&json!({ "records": [
        { "attributes": { "type": "Account" }, "id": c1, "Industry": "Finance" },
        { "attributes": { "type": "Account" }, "Industry": "Finance" },
        { "attributes": { "type": "Account" }, "Id": "001Dn00000000zz", "Industry": "Finance" },
        { "attributes": { "type": "Account" }, "Id": c2, "Name": "" },
    ] })),
    )
    .json_body();
    assert_eq!(body[0], json!({ "id": c1, "success": true, "errors": [] }));
    assert_eq!(body[1]["errors"][0]["statusCode"], "MISSING_ARGUMENT");
    assert_eq!(body[2]["errors"][0]["statusCode"], "INVALID_CROSS_REFERENCE_KEY");
    assert_eq!(body[3]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name = 'C1' AND Industry = 'Finance'"), 1);
    // allOrNone update rolls back.
    let body = call(
        &st,
        &token,
        "PATCH",
        &url,
        Some(&json!({ "allOrNone": true, "records": [
        { "attributes": { "type": "Account" }, "Id": c1, "Industry": "Retail" },
        { "attributes": { "type": "Account" }, "Id": c2, "Name": null },
    ] })),
    )
    .json_body();
    assert_eq!(body[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name = 'C1' AND Industry = 'Finance'"), 1);

    // Delete by ids (any objects).
    let resp = call(&st, &token, "DELETE", &format!("{url}?ids={c1},{c2},001Dn00000000zz,junk"), None);
    let body = resp.json_body();
    assert_eq!(body[0], json!({ "id": c1, "success": true, "errors": [] }));
    assert_eq!(body[1]["success"], true);
    assert_eq!(body[2]["errors"][0]["statusCode"], "INVALID_CROSS_REFERENCE_KEY");
    assert_eq!(body[3]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account WHERE Name IN ('C1', 'C2')"), 0);
    let body = call(&st, &token, "DELETE", &format!("{url}?ids={c1}"), None).json_body();
    assert_eq!(body[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    let too_many: Vec<String> = (0..201).map(|_| c1.clone()).collect();
    sf_error(
        &call(&st, &token, "DELETE", &format!("{url}?ids={}", too_many.join(",")), None),
        400,
        "EXCEEDED_ID_LIMIT",
    );
    sf_error(&call(&st, &token, "DELETE", &url, None), 400, "MISSING_ARGUMENT");
}

#[test]
fn injected_errors_seeding_and_describe() {
    let st = state();
    let token = session(&st, "sf-client");
    for (status, code) in [
        (500, "UNKNOWN_EXCEPTION"),
        (503, "SERVER_UNAVAILABLE"),
        (403, "REQUEST_LIMIT_EXCEEDED"),
        (429, "REQUEST_LIMIT_EXCEEDED"),
        (401, "INVALID_SESSION_ID"),
    ] {
        get(&st, &format!("/_control/inject?status={status}&path_prefix=/services/data"));
        let err = sf_error(&soql(&st, &token, "SELECT Id FROM Lead"), status, code);
        if status == 403 {
            assert_eq!(err["message"], "TotalRequests Limit exceeded.");
        }
        if status == 500 {
            assert!(err["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("An unexpected error occurred. Please include this ErrorId")));
        }
    }
    assert_eq!(get(&st, "/_control/seed?object=salesforce_leads&count=5").json_body(), json!({ "seeded": 5 }));
    assert_eq!(count(&st, &token, "SELECT Id FROM Lead"), 5);
    get(&st, "/_control/seed?object=salesforce_accounts&count=3");
    assert_eq!(count(&st, &token, "SELECT Id FROM Account"), 3);
    let mut config = Config::default();
    config.seeds.insert("salesforce_opportunities".into(), 7);
    let st2 = State::new(config);
    let t2 = session(&st2, "sf-client");
    assert_eq!(count(&st2, &t2, "SELECT Id FROM Opportunity"), 7);
    // Describe.
    let d = call(&st, &token, "GET", &format!("{V}/sobjects/Opportunity/describe"), None).json_body();
    assert_eq!(d["keyPrefix"], "006");
    let close = d["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["name"] == "CloseDate"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (close["type"].clone(), close["nillable"].clone(), close["createable"].clone()),
        (json!("date"), json!(false), json!(true))
    );
    let list = call(&st, &token, "GET", &format!("{V}/sobjects"), None).json_body();
    assert_eq!(list["sobjects"].as_array().map(Vec::len), Some(4));
}
