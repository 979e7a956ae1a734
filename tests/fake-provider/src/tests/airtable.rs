//! Tests of the fake Airtable API: listing and paging, formulas, record writes, errors and the rate limit.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::{get, keys, set};
use crate::app::handle;
use crate::http::{percent_encode, FakeRequest, FakeResponse};
use crate::state::{Config, State};

const BASE: &str = "/v0/appTether0000001";

/// A state whose rate limit does not get in the way.
fn unlimited() -> State {
    let mut config = Config::default();
    config.seeds.insert("airtable_requests_per_second".into(), 1_000_000);
    State::new(config)
}

fn at(st: &State, method: &str, url: &str, body: Option<&Value>) -> FakeResponse {
    let mut req = FakeRequest::new(method, url).header("Authorization", "Bearer test-token");
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(&b.to_string());
    }
    handle(st, &req)
}

fn list(st: &State, query: &str) -> FakeResponse {
    at(st, "GET", &format!("{BASE}/Contacts?{query}"), None)
}

/// The names of all records matching a formula (following offsets).
fn names_where(st: &State, formula: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut offset = String::new();
    loop {
        let resp = list(st, &format!("filterByFormula={}&fields[]=Name{offset}", percent_encode(formula)));
        assert_eq!(resp.status, 200, "{formula}: {}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        for r in body["records"].as_array().into_iter().flatten() {
            names.push(r["fields"]["Name"].as_str().unwrap_or("").to_string());
        }
        match body["offset"].as_str() {
            Some(o) => offset = format!("&offset={}", percent_encode(o)),
            None => return names,
        }
    }
}

fn count_where(st: &State, formula: &str) -> usize {
    names_where(st, formula).len()
}

fn at_error(resp: &FakeResponse, status: u16, kind: &str) -> Value {
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body["error"]["type"], kind, "{body}");
    body["error"].clone()
}

/// Every record id of the Contacts table, following offsets.
fn all_ids(st: &State, query: &str) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut offset: Option<String> = None;
    loop {
        let mut q = query.to_string();
        if let Some(o) = &offset {
            q.push_str(&format!("&offset={}", percent_encode(o)));
        }
        let resp = list(st, &q);
        assert_eq!(resp.status, 200, "{q}: {}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        let page: Vec<String> = body["records"]
            .as_array()
            .map(|a| a.iter().map(|r| r["id"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default();
        sizes.push(page.len());
        ids.extend(page);
        match body["offset"].as_str() {
            Some(o) => {
                assert!(o.starts_with("itr") && o.contains("/rec"), "{o}");
                offset = Some(o.to_string());
            }
            None => break,
        }
        assert!(sizes.len() < 300, "runaway paging");
    }
    (ids, sizes)
}

#[test]
fn pagination_visits_every_record_once() {
    let st = unlimited();
    let (ids, sizes) = all_ids(&st, "");
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 250);
    assert!(ids.iter().all(|id| id.len() == 17 && id.starts_with("rec")));
    for page_size in [1, 7, 99] {
        let (again, sizes) = all_ids(&st, &format!("pageSize={page_size}"));
        assert_eq!(again, ids, "pageSize {page_size}");
        assert!(sizes.iter().all(|n| *n <= page_size));
    }
    // maxRecords caps the whole listing.
    let (capped, sizes) = all_ids(&st, "pageSize=10&maxRecords=25");
    assert_eq!(capped, ids[..25].to_vec());
    assert_eq!(sizes, vec![10, 10, 5]);
    // Filtered and sorted listings page too.
    let (active, _) = all_ids(&st, &format!("pageSize=30&filterByFormula={}", percent_encode("{Active}")));
    assert_eq!(active.len(), 167);
    let (sorted, _) = all_ids(&st, "pageSize=40&sort[0][field]=Age&sort[0][direction]=desc&sort[1][field]=Name");
    assert_eq!(sorted.iter().collect::<BTreeSet<_>>().len(), 250);
    // Deterministic: a new state lists the same ids.
    assert_eq!(all_ids(&unlimited(), "").0, ids);
    // Projects, by id.
    let resp = at(&st, "GET", &format!("{BASE}/tblProjects0001"), None).json_body();
    assert_eq!(resp["records"].as_array().map(Vec::len), Some(20));
    assert!(resp.get("offset").is_none());
}

#[test]
fn record_shape() {
    let st = unlimited();
    let body = list(&st, "pageSize=3").json_body();
    let first = &body["records"][0];
    assert_eq!(keys(first), set(&["id", "createdTime", "fields"]));
    assert_eq!(first["createdTime"], "2024-01-05T10:00:13.000Z");
    assert_eq!(
        first["fields"],
        json!({ "Name": "Ada Park", "Email": "person1@example.com", "Age": 25, "Active": true, "Tags": ["vip"], "Signed Up": "2023-01-12" })
    );
    // Empty and false cells are omitted: record 3 is not active.
    assert_eq!(keys(&body["records"][2]["fields"]), set(&["Name", "Email", "Age", "Tags", "Signed Up"]));
    // GET one record; projection with fields[] (URL-encoded names work).
    let id = first["id"].as_str().unwrap_or("");
    assert_eq!(at(&st, "GET", &format!("{BASE}/Contacts/{id}"), None).json_body(), *first);
    let body = list(&st, "pageSize=1&fields%5B%5D=Name&fields[]=Signed%20Up").json_body();
    assert_eq!(body["records"][0]["fields"], json!({ "Name": "Ada Park", "Signed Up": "2023-01-12" }));
    let body = list(&st, "pageSize=1&fields=Age").json_body();
    assert_eq!(body["records"][0]["fields"], json!({ "Age": 25 }));
    // Table names are URL-decoded.
    assert_eq!(at(&st, "GET", &format!("{BASE}/%43ontacts?pageSize=1"), None).status, 200);
    let projects = at(&st, "GET", &format!("{BASE}/Projects?pageSize=2"), None).json_body();
    assert_eq!(
        projects["records"][0]["fields"],
        json!({ "Name": "Project Borealis 1", "Status": "In progress", "Budget": 1750.0 })
    );
    assert_eq!(projects["records"][1]["fields"]["Budget"], 3000.5);
}

#[test]
fn formulas() {
    let st = unlimited();
    // Escaping: quotes and backslashes inside strings.
    assert_eq!(names_where(&st, "{Name} = 'Pat O\\'Neil'"), vec!["Pat O'Neil"]);
    assert_eq!(names_where(&st, "{Name} = \"Pat O'Neil\""), vec!["Pat O'Neil"]);
    assert_eq!(names_where(&st, "{Name} = \"Say \\\"Hi\\\" Smith\""), vec!["Say \"Hi\" Smith"]);
    assert_eq!(names_where(&st, "{Name} = 'Say \"Hi\" Smith'"), vec!["Say \"Hi\" Smith"]);
    assert_eq!(names_where(&st, "{Name} = 'Back\\\\Slash'"), vec!["Back\\Slash"]);
    // An unescaped quote breaks the formula.
    let resp = list(&st, &format!("filterByFormula={}", percent_encode("{Name} = 'Pat O'Neil'")));
    assert_eq!(
        resp.json_body(),
        json!({ "error": { "type": "INVALID_FILTER_BY_FORMULA", "message": "The formula for filtering records is invalid: Invalid formula. Please check your formula text." } })
    );
    assert_eq!(resp.status, 422);
    // Comparisons and functions.
    assert_eq!(count_where(&st, "{Age} = 25"), count_where(&st, "{Age} = '25'"));
    assert_eq!(count_where(&st, "TRUE()"), 250);
    assert_eq!(count_where(&st, "FALSE()"), 0);
    let no_email = count_where(&st, "{Email} = BLANK()");
    assert_eq!(no_email, 25);
    assert_eq!(count_where(&st, "{Email} != BLANK()"), 225);
    assert_eq!(count_where(&st, "NOT({Email} = '')"), 225);
    let old = count_where(&st, "{Age} >= 60");
    let young = count_where(&st, "{Age} < 60");
    let no_age = count_where(&st, "{Age} = BLANK()");
    assert_eq!(old + young + no_age, 250);
    assert_eq!(no_age, 35);
    assert_eq!(
        count_where(&st, "AND({Age} >= 60, {Active})") + count_where(&st, "AND({Age} >= 60, NOT({Active}))"),
        old
    );
    assert_eq!(count_where(&st, "OR({Age} >= 60, {Age} < 60)"), old + young);
    assert_eq!(count_where(&st, "{Active} = TRUE()"), 167);
    assert_eq!(count_where(&st, "{Active} = 1"), 167);
    assert_eq!(count_where(&st, "Active"), 167);
    assert_eq!(count_where(&st, "{Tags} = 'vip'"), 50);
    assert_eq!(count_where(&st, "FIND('vip', {Tags})"), 100);
    assert_eq!(count_where(&st, "{Tags} = 'newsletter, lead'"), 50);
    assert_eq!(count_where(&st, "{Signed Up} < '2023-02-01'"), count_where(&st, "{Signed Up} <= '2023-01-31'"));
    assert!(count_where(&st, "{Signed Up} < '2023-02-01'") > 0);
    assert_eq!(count_where(&st, "LOWER({Name}) = 'pat o\\'neil'"), 1);
    assert_eq!(count_where(&st, "{Name} = 'pat o\\'neil'"), 0, "= on text is case-sensitive");
    assert_eq!(count_where(&st, "LEN({Name}) > 100"), 0);
    assert_eq!(count_where(&st, "SEARCH('o\\'n', {Name})"), 1);
    assert_eq!(count_where(&st, "{Age} * 2 > 150"), count_where(&st, "{Age} > 75"));
    assert_eq!(count_where(&st, "{Name} & '' = 'Pat O\\'Neil'"), 1);
    let id = list(&st, "pageSize=1").json_body()["records"][0]["id"].as_str().unwrap_or("").to_string();
    assert_eq!(count_where(&st, &format!("RECORD_ID() = '{id}'")), 1);
    // Unknown fields, by name as written.
    let resp = list(&st, &format!("filterByFormula={}", percent_encode("AND({foo} = 1, {Bar Baz}, Name)")));
    let err = at_error(&resp, 422, "INVALID_FILTER_BY_FORMULA");
    assert_eq!(err["message"], "The formula for filtering records is invalid: Unknown field names: foo, Bar Baz");
    for bad in ["{Name} =", "AND(", "NOPE(1)", "NOT(1, 2)", "{Name} = 'x' 'y'", "{Name", "1 ==== 2", "'open"] {
        let resp = list(&st, &format!("filterByFormula={}", percent_encode(bad)));
        let err = at_error(&resp, 422, "INVALID_FILTER_BY_FORMULA");
        assert!(
            err["message"].as_str().is_some_and(|m| m.ends_with("Invalid formula. Please check your formula text.")),
            "{bad}"
        );
    }
}

#[test]
fn sorting_and_parameter_errors() {
    let st = unlimited();
    let ages: Vec<Value> = list(&st, "fields[]=Age&sort[0][field]=Age&sort[0][direction]=desc&pageSize=100")
        .json_body()["records"]
        .as_array()
        .map(|a| a.iter().map(|r| r["fields"]["Age"].clone()).collect())
        .unwrap_or_default();
    let nums: Vec<i64> = ages.iter().filter_map(Value::as_i64).collect();
    assert!(nums.windows(2).all(|w| w[0] >= w[1]));
    assert_eq!(nums.first(), Some(&77));
    let names: Vec<String> = list(&st, "fields[]=Name&sort[0][field]=Name&pageSize=5").json_body()["records"]
        .as_array()
        .map(|a| a.iter().map(|r| r["fields"]["Name"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    assert_eq!(names[0], "Ada Lovelace");
    for q in [
        "pageSize=0",
        "pageSize=101",
        "pageSize=abc",
        "pageSize=-1",
        "maxRecords=0",
        "maxRecords=x",
        "sort[0][direction]=desc",
        "sort[0][field]=Name&sort[0][direction]=up",
        "cellFormat=string",
    ] {
        let resp = list(&st, q);
        assert_eq!(
            resp.json_body(),
            json!({ "error": { "type": "INVALID_REQUEST_UNKNOWN", "message": "Invalid request: parameter validation failed. Check your request data." } }),
            "{q}"
        );
        assert_eq!(resp.status, 422, "{q}");
    }
    let resp = list(&st, "fields[]=Nope");
    assert_eq!(at_error(&resp, 422, "UNKNOWN_FIELD_NAME")["message"], "Unknown field name: \"Nope\"");
    at_error(&list(&st, "sort[0][field]=Nope"), 422, "UNKNOWN_FIELD_NAME");
    at_error(&list(&st, "view=Kanban"), 422, "VIEW_NAME_NOT_FOUND");
    assert_eq!(list(&st, "view=Grid%20view&pageSize=1").status, 200);
    // Unknown table and base.
    let resp = at(&st, "GET", &format!("{BASE}/Widgets%20Table"), None);
    assert_eq!(
        resp.json_body(),
        json!({ "error": { "type": "TABLE_NOT_FOUND", "message": "Could not find table Widgets Table in application appTether0000001" } })
    );
    assert_eq!(resp.status, 404);
    let resp = at(&st, "GET", "/v0/appNope0000000001/Contacts", None);
    assert_eq!((resp.status, resp.json_body()), (404, json!({ "error": "NOT_FOUND" })));
    // Records: unknown and malformed ids.
    let resp = at(&st, "GET", &format!("{BASE}/Contacts/recAAAAAAAAAAAAAA"), None);
    assert_eq!(resp.json_body(), json!({ "error": { "type": "MODEL_ID_NOT_FOUND", "message": "Record not found" } }));
    assert_eq!(resp.status, 404);
    assert_eq!(at(&st, "GET", &format!("{BASE}/Contacts/rec1"), None).json_body(), json!({ "error": "NOT_FOUND" }));
    // Offsets: garbage, unknown, stale (after a reset), and from another listing.
    at_error(&list(&st, "offset=garbage"), 422, "INVALID_OFFSET_VALUE");
    let first = list(&st, "pageSize=5").json_body();
    let offset = first["offset"].as_str().unwrap_or("").to_string();
    assert_eq!(list(&st, &format!("pageSize=5&offset={}", percent_encode(&offset))).status, 200);
    let resp = list(&st, &format!("offset={}&filterByFormula=TRUE()", percent_encode(&offset)));
    assert_eq!(resp.json_body(), json!({ "error": { "type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE" } }));
    assert_eq!(resp.status, 422);
    get(&st, "/_control/reset");
    at_error(&list(&st, &format!("offset={}", percent_encode(&offset))), 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE");
    // POST listRecords takes the same parameters in a body.
    let resp = at(
        &st,
        "POST",
        &format!("{BASE}/Contacts/listRecords"),
        Some(
            &json!({ "pageSize": 2, "fields": ["Name"], "filterByFormula": "{Name} = 'Pat O\\'Neil'", "sort": [{ "field": "Name", "direction": "desc" }] }),
        ),
    );
    assert_eq!(resp.json_body()["records"][0]["fields"], json!({ "Name": "Pat O'Neil" }));
    at_error(
        &at(&st, "POST", &format!("{BASE}/Contacts/listRecords"), Some(&json!({ "pageSize": 500 }))),
        422,
        "INVALID_REQUEST_UNKNOWN",
    );
    at_error(
        &at(&st, "POST", &format!("{BASE}/Contacts/listRecords"), Some(&json!({ "bogus": 1 }))),
        422,
        "INVALID_REQUEST_UNKNOWN",
    );
    // Schema.
    let schema = at(&st, "GET", "/v0/meta/bases/appTether0000001/tables", None).json_body();
    let fields: Vec<(String, String)> = schema["tables"][0]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["name"].as_str().unwrap_or("").to_string(), f["type"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(fields[5], ("Signed Up".to_string(), "date".to_string()));
    assert_eq!(schema["tables"][1]["name"], "Projects");
}

#[test]
fn writes() {
    let st = unlimited();
    let url = format!("{BASE}/Contacts");
    // Batch create; empty cells are not returned.
    let resp = at(
        &st,
        "POST",
        &url,
        Some(&json!({ "records": [
        { "fields": { "Name": "New One", "Age": 30, "Active": false, "Tags": [], "Notes": "" } },
        { "fields": { "Name": "New Two", "Tags": ["vip", "lead"], "Signed Up": "2024-02-29" } },
    ] })),
    );
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body["records"][0]["fields"], json!({ "Name": "New One", "Age": 30 }));
    assert_eq!(body["records"][0]["createdTime"], "2025-01-01T00:04:11.000Z");
    assert_eq!(
        body["records"][1]["fields"],
        json!({ "Name": "New Two", "Tags": ["vip", "lead"], "Signed Up": "2024-02-29" })
    );
    let one = body["records"][0]["id"].as_str().unwrap_or("").to_string();
    let two = body["records"][1]["id"].as_str().unwrap_or("").to_string();
    assert_eq!(count_where(&st, "FIND('New ', {Name}) = 1"), 2);
    // Single form.
    let resp = at(&st, "POST", &url, Some(&json!({ "fields": { "Name": "Solo" } })));
    assert_eq!(keys(&resp.json_body()), set(&["id", "createdTime", "fields"]));
    // Errors: all or nothing.
    let before = count_where(&st, "TRUE()");
    for (fields, kind, message) in [
        (json!({ "Foo": 1 }), "UNKNOWN_FIELD_NAME", "Unknown field name: \"Foo\""),
        (json!({ "Age": "thirty" }), "INVALID_VALUE_FOR_COLUMN", "Field \"Age\" cannot accept the provided value"),
        (json!({ "Tags": "vip" }), "INVALID_VALUE_FOR_COLUMN", "Field \"Tags\" cannot accept the provided value"),
        (json!({ "Active": "yes" }), "INVALID_VALUE_FOR_COLUMN", "Field \"Active\" cannot accept the provided value"),
        (
            json!({ "Signed Up": "yesterday" }),
            "INVALID_VALUE_FOR_COLUMN",
            "Field \"Signed Up\" cannot accept the provided value",
        ),
        (json!({ "Name": 5 }), "INVALID_VALUE_FOR_COLUMN", "Field \"Name\" cannot accept the provided value"),
        (
            json!({ "Tags": ["gold"] }),
            "INVALID_MULTIPLE_CHOICE_OPTIONS",
            "Insufficient permissions to create new select option \"\"gold\"\"",
        ),
    ] {
        let resp =
            at(&st, "POST", &url, Some(&json!({ "records": [{ "fields": { "Name": "ok" } }, { "fields": fields }] })));
        assert_eq!(resp.json_body(), json!({ "error": { "type": kind, "message": message } }), "{fields}");
        assert_eq!(resp.status, 422);
    }
    at_error(
        &at(&st, "POST", &format!("{BASE}/Projects"), Some(&json!({ "fields": { "Status": "Blocked" } }))),
        422,
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
    );
    let eleven: Vec<Value> = (0..11).map(|i| json!({ "fields": { "Name": format!("N{i}") } })).collect();
    let err = at_error(&at(&st, "POST", &url, Some(&json!({ "records": eleven }))), 422, "INVALID_RECORDS");
    assert_eq!(err["message"], "A maximum of 10 records can be created per request but you have provided 11.");
    at_error(&at(&st, "POST", &url, Some(&json!({ "records": [] }))), 422, "INVALID_RECORDS");
    at_error(
        &at(&st, "POST", &url, Some(&json!({ "records": [{ "id": "x" }] }))),
        422,
        "INVALID_REQUEST_MISSING_FIELDS",
    );
    at_error(&at(&st, "POST", &url, Some(&json!({}))), 422, "INVALID_REQUEST_MISSING_FIELDS");
    let resp = handle(
        &st,
        &FakeRequest::new("POST", &url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", "application/json")
            .body("{nope"),
    );
    at_error(&resp, 422, "INVALID_REQUEST_BODY");
    assert_eq!(count_where(&st, "TRUE()"), before, "nothing was written");
    // typecast converts strings and creates options.
    let resp = at(
        &st,
        "POST",
        &url,
        Some(
            &json!({ "typecast": true, "records": [{ "fields": { "Name": 7, "Age": "42", "Active": "true", "Tags": "vip, gold" } }] }),
        ),
    );
    assert_eq!(
        resp.json_body()["records"][0]["fields"],
        json!({ "Name": "7", "Age": 42.0, "Active": true, "Tags": ["vip", "gold"] })
    );
    assert_eq!(at(&st, "POST", &url, Some(&json!({ "fields": { "Name": "g", "Tags": ["gold"] } }))).status, 200);

    // PATCH merges, PUT replaces.
    let rurl = format!("{url}/{two}");
    let resp = at(&st, "PATCH", &rurl, Some(&json!({ "fields": { "Age": 50, "Tags": null } })));
    assert_eq!(resp.json_body()["fields"], json!({ "Name": "New Two", "Age": 50, "Signed Up": "2024-02-29" }));
    let resp = at(&st, "PUT", &rurl, Some(&json!({ "fields": { "Name": "Replaced" } })));
    assert_eq!(resp.json_body()["fields"], json!({ "Name": "Replaced" }));
    assert_eq!(at(&st, "GET", &rurl, None).json_body()["fields"], json!({ "Name": "Replaced" }));
    at_error(&at(&st, "PATCH", &rurl, Some(&json!({ "fields": { "Age": "x" } }))), 422, "INVALID_VALUE_FOR_COLUMN");
    at_error(
        &at(&st, "PATCH", &format!("{url}/recAAAAAAAAAAAAAA"), Some(&json!({ "fields": {} }))),
        404,
        "MODEL_ID_NOT_FOUND",
    );
    // Batch update, all or nothing.
    let resp = at(
        &st,
        "PATCH",
        &url,
        Some(&json!({ "records": [{ "id": one, "fields": { "Age": 31 } }, { "id": two, "fields": { "Age": 32 } }] })),
    );
    let ages: Vec<Value> = resp.json_body()["records"]
        .as_array()
        .map(|a| a.iter().map(|r| r["fields"]["Age"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(ages, vec![json!(31), json!(32)]);
    let resp = at(
        &st,
        "PATCH",
        &url,
        Some(
            &json!({ "records": [{ "id": one, "fields": { "Age": 99 } }, { "id": "recAAAAAAAAAAAAAA", "fields": {} }] }),
        ),
    );
    assert_eq!(
        resp.json_body(),
        json!({ "error": { "type": "ROW_DOES_NOT_EXIST", "message": "Record ID recAAAAAAAAAAAAAA does not exist in this table" } })
    );
    assert_eq!(at(&st, "GET", &format!("{url}/{one}"), None).json_body()["fields"]["Age"], 31);
    let resp = at(&st, "PUT", &url, Some(&json!({ "records": [{ "id": one, "fields": { "Name": "Only name" } }] })));
    assert_eq!(resp.json_body()["records"][0]["fields"], json!({ "Name": "Only name" }));
    let eleven: Vec<Value> = (0..11).map(|_| json!({ "id": one, "fields": {} })).collect();
    at_error(&at(&st, "PATCH", &url, Some(&json!({ "records": eleven }))), 422, "INVALID_RECORDS");
    at_error(&at(&st, "PATCH", &url, Some(&json!({ "records": [{ "fields": {} }] }))), 422, "INVALID_RECORDS");

    // Deletes.
    let resp = at(&st, "DELETE", &format!("{url}/{one}"), None);
    assert_eq!(resp.json_body(), json!({ "id": one, "deleted": true }));
    assert_eq!(at(&st, "GET", &format!("{url}/{one}"), None).status, 404);
    at_error(&at(&st, "DELETE", &format!("{url}/{one}"), None), 404, "MODEL_ID_NOT_FOUND");
    let ids: Vec<String> = list(&st, "pageSize=3").json_body()["records"]
        .as_array()
        .map(|a| a.iter().map(|r| r["id"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    let resp = at(&st, "DELETE", &format!("{url}?records[]={}&records[]={}", ids[0], ids[1]), None);
    assert_eq!(
        resp.json_body(),
        json!({ "records": [{ "id": ids[0], "deleted": true }, { "id": ids[1], "deleted": true }] })
    );
    at_error(
        &at(&st, "DELETE", &format!("{url}?records[]={}&records[]=recAAAAAAAAAAAAAA", ids[2]), None),
        404,
        "MODEL_ID_NOT_FOUND",
    );
    assert_eq!(at(&st, "GET", &format!("{url}/{}", ids[2]), None).status, 200, "nothing was deleted");
    let many: Vec<String> = (0..11).map(|_| format!("records[]={}", ids[2])).collect();
    let err = at_error(&at(&st, "DELETE", &format!("{url}?{}", many.join("&")), None), 422, "INVALID_RECORDS");
    assert_eq!(err["message"], "You must provide an array of up to 10 record IDs.");
    at_error(&at(&st, "DELETE", &url, None), 422, "INVALID_RECORDS");
    assert_eq!(list(&st, "").json_body()["records"][0]["id"], ids[2]);
}

#[test]
fn auth_and_injected_errors() {
    let st = unlimited();
    let url = format!("{BASE}/Contacts?pageSize=1");
    let unauthorised = json!({ "error": { "type": "AUTHENTICATION_REQUIRED", "message": "Authentication required" } });
    let resp = handle(&st, &FakeRequest::get(&url));
    assert_eq!((resp.status, resp.json_body()), (401, unauthorised.clone()));
    let resp = handle(&st, &FakeRequest::get(&url).header("Authorization", "Bearer wrong"));
    assert_eq!((resp.status, resp.json_body()), (401, unauthorised.clone()));
    let resp = handle(&st, &FakeRequest::get("/v0/appNope/Contacts").header("Authorization", "Basic dGVzdA=="));
    assert_eq!(resp.status, 401);
    let token = super::oauth::access_token(&st, "test-client");
    assert_eq!(handle(&st, &FakeRequest::get(&url).header("Authorization", &format!("Bearer {token}"))).status, 200);
    get(&st, "/_control/inject?status=500&path_prefix=/v0/");
    let resp = at(&st, "GET", &url, None);
    assert_eq!(
        (resp.status, resp.json_body()),
        (500, json!({ "error": { "type": "SERVER_ERROR", "message": "Server error" } }))
    );
    get(&st, "/_control/inject?status=429&path_prefix=/v0/");
    let resp = at(&st, "GET", &url, None);
    assert_eq!(resp.status, 429);
    assert_eq!(
        resp.json_body(),
        json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] })
    );
    // Reseeding.
    assert_eq!(get(&st, "/_control/seed?object=airtable_contacts&count=3").json_body(), json!({ "seeded": 3 }));
    assert_eq!(list(&st, "").json_body()["records"].as_array().map(Vec::len), Some(3));
    get(&st, "/_control/seed?object=airtable_projects&count=0");
    assert_eq!(at(&st, "GET", &format!("{BASE}/Projects"), None).json_body(), json!({ "records": [] }));
    let mut config = Config::default();
    config.seeds.insert("airtable_contacts".into(), 12);
    let st = State::new(config);
    assert_eq!(list(&st, "").json_body()["records"].as_array().map(Vec::len), Some(12));
}

#[test]
fn rate_limit_per_base_with_penalty() {
    let mut config = Config::default();
    config.seeds.insert("airtable_penalty_ms".into(), 300);
    let st = State::new(config);
    let limited = |query: &str| get(&st, &format!("/v0/_fake/rate_limited{query}")).json_body();
    let url = format!("{BASE}/Projects?pageSize=1");
    for _ in 0..5 {
        assert_eq!(at(&st, "GET", &url, None).status, 200);
    }
    let resp = at(&st, "GET", &url, None);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), None);
    assert_eq!(
        resp.json_body(),
        json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] })
    );
    // The base stays blocked during the penalty, whatever the request; other bases are not affected.
    assert_eq!(at(&st, "POST", &format!("{BASE}/Projects"), Some(&json!({ "fields": {} }))).status, 429);
    assert_eq!(at(&st, "GET", "/v0/appOther000000001/Projects", None).status, 404);
    assert_eq!(limited(""), json!({ "rate_limited": 2 }));
    assert_eq!(limited("?base=appTether0000001"), json!({ "rate_limited": 2 }));
    assert_eq!(limited("?base=appOther000000001"), json!({ "rate_limited": 0 }));
    assert_eq!(at(&st, "GET", &format!("{BASE}/Projects"), None).json_body()["records"].as_array().map(Vec::len), None);
    std::thread::sleep(Duration::from_millis(350));
    // After the penalty, five more go through.
    for _ in 0..5 {
        assert_eq!(at(&st, "GET", &url, None).status, 200);
    }
    assert_eq!(at(&st, "GET", &url, None).status, 429);
    assert_eq!(limited(""), json!({ "rate_limited": 4 }));
    // A reset forgets the block and the counts.
    get(&st, "/_control/reset");
    assert_eq!(limited(""), json!({ "rate_limited": 0 }));
    assert_eq!(at(&st, "GET", &url, None).status, 200);
}
