//! Listing and getting HubSpot objects: paging, limits, property selection, archived records, auth.

use super::*;

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
