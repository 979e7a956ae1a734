//! Tests of the fake Salesforce org: OAuth, sessions, SOQL (parsing, escaping, filtering, paging), sObject
//! CRUD, composite collections and error shapes.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::{get, keys, set, state};
use crate::app::handle;
use crate::http::{percent_encode, FakeRequest, FakeResponse};
use crate::state::{Config, State};

const V: &str = "/services/data/v59.0";

fn token_request(st: &State, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", "/services/oauth2/token")
            .header("Host", "127.0.0.1:9999")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
}

fn session(st: &State, client: &str) -> String {
    let resp = token_request(st, &format!("grant_type=client_credentials&client_id={client}&client_secret=sf-secret"));
    assert_eq!(resp.status, 200);
    resp.json_body()["access_token"].as_str().unwrap_or("").to_string()
}

fn call(st: &State, token: &str, method: &str, url: &str, body: Option<&Value>) -> FakeResponse {
    let mut req = FakeRequest::new(method, url).header("Authorization", &format!("Bearer {token}"));
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(&b.to_string());
    }
    handle(st, &req)
}

fn soql_with(st: &State, token: &str, q: &str, batch: Option<usize>) -> FakeResponse {
    let mut req = FakeRequest::get(&format!("{V}/query?q={}", percent_encode(q)))
        .header("Authorization", &format!("Bearer {token}"));
    if let Some(n) = batch {
        req = req.header("Sforce-Query-Options", &format!("batchSize={n}"));
    }
    handle(st, &req)
}

fn soql(st: &State, token: &str, q: &str) -> FakeResponse {
    soql_with(st, token, q, None)
}

/// The values of one field in a query's records (asserting success).
fn column(st: &State, token: &str, q: &str, field: &str) -> Vec<Value> {
    let resp = soql(st, token, q);
    assert_eq!(resp.status, 200, "{q}: {}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body["done"], true, "{q}");
    body["records"].as_array().map(|a| a.iter().map(|r| r[field].clone()).collect()).unwrap_or_default()
}

fn count(st: &State, token: &str, q: &str) -> u64 {
    let resp = soql(st, token, q);
    assert_eq!(resp.status, 200, "{q}: {}", String::from_utf8_lossy(&resp.body));
    resp.json_body()["totalSize"].as_u64().unwrap_or(u64::MAX)
}

/// Asserts a one-error Salesforce array and returns the error object.
fn sf_error(resp: &FakeResponse, status: u16, code: &str) -> Value {
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body[0]["errorCode"], code, "{body}");
    body[0].clone()
}

#[test]
fn oauth_token_endpoint() {
    let st = state();
    let resp =
        token_request(&st, "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=rt-1");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(
        keys(&body),
        set(&["access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"])
    );
    assert_eq!(body["access_token"], "00Dxx0000001gPL!AQ4AQFakeSession.1");
    assert_eq!(body["instance_url"], "http://127.0.0.1:9999");
    assert_eq!(body["id"], "http://127.0.0.1:9999/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_at"], "1735689601000");
    assert_eq!(body["scope"], "api refresh_token");
    assert_eq!(body["signature"].as_str().map(str::len), Some(44));
    assert!(body.get("expires_in").is_none());
    assert_eq!(session(&st, "sf-client"), "00Dxx0000001gPL!AQ4AQFakeSession.2");
    for (form, error, description) in [
        (
            "grant_type=client_credentials&client_id=nope&client_secret=sf-secret",
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "grant_type=client_credentials&client_id=sf-client&client_secret=nope",
            "invalid_client",
            "invalid client credentials",
        ),
        (
            "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=rt-revoked",
            "invalid_grant",
            "expired access/refresh token",
        ),
        (
            "grant_type=refresh_token&client_id=sf-client&client_secret=sf-secret&refresh_token=x",
            "invalid_grant",
            "expired access/refresh token",
        ),
        (
            "grant_type=password&client_id=sf-client&client_secret=sf-secret",
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ] {
        let resp = token_request(&st, form);
        assert_eq!(resp.status, 400, "{form}");
        assert_eq!(resp.json_body(), json!({ "error": error, "error_description": description }), "{form}");
    }
    let resp = handle(
        &st,
        &FakeRequest::new("POST", "/services/oauth2/token").header("Content-Type", "application/json").body("{}"),
    );
    assert_eq!(resp.json_body()["error"], "unsupported_grant_type");
}

#[test]
fn oauth_rotation_and_client_secret() {
    let st = State::new(Config { sf_client_secret: "sf-distinct-5678".into(), ..Config::default() });
    let refresh = |rt: &str| {
        token_request(
            &st,
            &format!("grant_type=refresh_token&client_id=sf-client&client_secret=sf-distinct-5678&refresh_token={rt}"),
        )
    };
    let resp = token_request(&st, "grant_type=client_credentials&client_id=sf-client&client_secret=sf-secret");
    assert_eq!(
        resp.json_body(),
        json!({ "error": "invalid_client", "error_description": "invalid client credentials" })
    );
    get(&st, "/_control/oauth?rotate=1");
    let resp = refresh("rt-1");
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(body["refresh_token"], "rt-rot-1");
    assert_eq!(body["access_token"], "00Dxx0000001gPL!AQ4AQFakeSession.1");
    assert_eq!(refresh("rt-rot-1").json_body()["refresh_token"], "rt-rot-2");
    for spent in ["rt-1", "rt-rot-1"] {
        let resp = refresh(spent);
        assert_eq!(resp.status, 400, "{spent}");
        assert_eq!(
            resp.json_body(),
            json!({ "error": "invalid_grant", "error_description": "expired access/refresh token" })
        );
    }
    // Without rotation, no refresh_token in the answer (Salesforce's default).
    get(&st, "/_control/oauth?rotate=0");
    let resp = refresh("rt-rot-2");
    assert_eq!(resp.status, 200);
    assert!(resp.json_body().get("refresh_token").is_none());
}

#[test]
fn sessions_and_api_usage() {
    let st = state();
    let resp = handle(&st, &FakeRequest::get(&format!("{V}/sobjects")));
    assert_eq!(
        resp.json_body(),
        json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }])
    );
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("sforce-limit-info"), None);
    sf_error(&call(&st, "00Dxx!nope", "GET", &format!("{V}/sobjects"), None), 401, "INVALID_SESSION_ID");
    // The configured HubSpot token is not a Salesforce session.
    sf_error(&call(&st, "test-token", "GET", &format!("{V}/sobjects"), None), 401, "INVALID_SESSION_ID");
    let token = session(&st, "sf-client");
    let short = session(&st, "sf-client-short");
    for (n, t) in [(1, &token), (2, &short), (3, &token)] {
        let resp = call(&st, t, "GET", &format!("{V}/limits"), None);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("sforce-limit-info"), Some(format!("api-usage={n}/15000").as_str()));
    }
    // Any vNN.0 works; `OAuth <token>` too.
    let resp = handle(
        &st,
        &FakeRequest::get("/services/data/v61.0/limits").header("Authorization", &format!("OAuth {token}")),
    );
    assert_eq!(resp.json_body(), json!({ "DailyApiRequests": { "Max": 15000, "Remaining": 14996 } }));
    assert_eq!(call(&st, &token, "GET", "/services/data/v5.0/limits", None).status, 404);
    assert_eq!(call(&st, &token, "GET", "/services/data/latest/limits", None).status, 404);
    assert!(get(&st, "/services/data").json_body().as_array().is_some_and(|a| !a.is_empty()));
    std::thread::sleep(Duration::from_millis(1100));
    sf_error(&call(&st, &short, "GET", &format!("{V}/limits"), None), 401, "INVALID_SESSION_ID");
    assert_eq!(call(&st, &token, "GET", &format!("{V}/limits"), None).status, 200);
    // A reset clears the usage count (not the sessions).
    get(&st, "/_control/reset");
    let resp = call(&st, &token, "GET", &format!("{V}/limits"), None);
    assert_eq!(resp.header("sforce-limit-info"), Some("api-usage=1/15000"));
}

#[test]
fn query_pagination_visits_every_record_once() {
    let mut config = Config::default();
    config.seeds.insert("salesforce_accounts".into(), 4500);
    let st = State::new(config);
    let token = session(&st, "sf-client");
    for (batch, pages) in [
        (None, vec![2000, 2000, 500]),
        (Some(200), vec![200; 22]),
        (Some(1999), vec![1999, 1999, 502]),
        (Some(50), vec![200; 22]),
    ] {
        let mut resp = soql_with(&st, &token, "SELECT Id, Name FROM Account", batch);
        let mut seen = BTreeSet::new();
        let mut sizes = Vec::new();
        loop {
            assert_eq!(resp.status, 200);
            let body = resp.json_body();
            assert_eq!(body["totalSize"], 4500);
            let records = body["records"].as_array().cloned().unwrap_or_default();
            sizes.push(records.len());
            for r in &records {
                assert_eq!(keys(r), set(&["attributes", "Id", "Name"]));
                assert!(seen.insert(r["Id"].as_str().unwrap_or("").to_string()), "duplicate {}", r["Id"]);
            }
            if body["done"] == true {
                assert!(body.get("nextRecordsUrl").is_none());
                break;
            }
            let next = body["nextRecordsUrl"].as_str().unwrap_or("").to_string();
            assert!(next.starts_with("/services/data/v59.0/query/01g"), "{next}");
            let mut req = FakeRequest::get(&next).header("Authorization", &format!("Bearer {token}"));
            if let Some(n) = batch {
                req = req.header("Sforce-Query-Options", &format!("batchSize={n}"));
            }
            resp = handle(&st, &req);
        }
        let mut want = pages.clone();
        if batch == Some(200) || batch == Some(50) {
            want.push(100);
        }
        assert_eq!(sizes, want, "batch {batch:?}");
        assert_eq!(seen.len(), 4500);
    }
    // Unknown, malformed and out-of-range locators.
    let first = soql_with(&st, &token, "SELECT Id FROM Account", Some(200)).json_body();
    let next = first["nextRecordsUrl"].as_str().unwrap_or("").to_string();
    let locator = next.rsplit('/').next().unwrap_or("").split('-').next().unwrap_or("").to_string();
    for bad in
        ["01gDn00000000zzAAA-200".to_string(), format!("{locator}-4500"), locator.clone(), format!("{locator}-x")]
    {
        let resp = call(&st, &token, "GET", &format!("{V}/query/{bad}"), None);
        let err = sf_error(&resp, 400, "INVALID_QUERY_LOCATOR");
        assert_eq!(err["message"], "invalid query locator");
    }
    // A later offset of a live cursor works; ten newer cursors push it out.
    assert_eq!(
        call(&st, &token, "GET", &format!("{V}/query/{locator}-4400"), None).json_body()["records"]
            .as_array()
            .map(Vec::len),
        Some(100)
    );
    for _ in 0..10 {
        soql_with(&st, &token, "SELECT Id FROM Account", Some(200));
    }
    sf_error(&call(&st, &token, "GET", &format!("{V}/query/{locator}-200"), None), 400, "INVALID_QUERY_LOCATOR");
}

#[test]
fn query_records_shape() {
    let st = state();
    let token = session(&st, "sf-client");
    let body = soql(&st, &token, "select name, ID, AnnualRevenue, NumberOfEmployees, CreatedDate, IsDeleted from account where Id = '001Dn0000000001'").json_body();
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["done"], true);
    let rec = &body["records"][0];
    let id = rec["Id"].as_str().unwrap_or("").to_string();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("001Dn0000000001"));
    assert_eq!(
        rec["attributes"],
        json!({ "type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{id}") })
    );
    assert_eq!(
        keys(rec),
        set(&["attributes", "Name", "Id", "AnnualRevenue", "NumberOfEmployees", "CreatedDate", "IsDeleted"])
    );
    assert_eq!(rec["Name"], "Acme Corp 1");
    assert_eq!(rec["AnnualRevenue"], 237000.0);
    assert_eq!(rec["NumberOfEmployees"], 38);
    assert_eq!(rec["IsDeleted"], false);
    assert_eq!(rec["CreatedDate"], "2024-01-01T00:47:00.919+0000");
    // Fields come in the order selected.
    let raw = String::from_utf8_lossy(&soql(&st, &token, "SELECT Name, Id FROM Account LIMIT 1").body).into_owned();
    let name_at = raw.find("\"Name\"").unwrap_or(usize::MAX);
    assert!(
        raw.find("\"attributes\"").unwrap_or(usize::MAX) < name_at && name_at < raw.find("\"Id\"").unwrap_or(0),
        "{raw}"
    );
    // Default counts.
    for (obj, n) in [("Account", 450), ("Contact", 120), ("Lead", 60), ("Opportunity", 40)] {
        assert_eq!(count(&st, &token, &format!("SELECT Id FROM {obj}")), n);
    }
    // Key prefixes.
    for (obj, prefix) in [("Contact", "003"), ("Lead", "00Q"), ("Opportunity", "006")] {
        let ids = column(&st, &token, &format!("SELECT Id FROM {obj} LIMIT 3"), "Id");
        assert!(ids.iter().all(|i| i.as_str().is_some_and(|s| s.starts_with(prefix) && s.len() == 18)), "{obj}");
    }
}

#[test]
fn query_filters() {
    let st = state();
    let token = session(&st, "sf-client");
    let n = |q: &str| count(&st, &token, q);
    let all = n("SELECT Id FROM Account");
    assert_eq!(
        n("SELECT Id FROM Account WHERE Industry = 'Technology'"),
        n("SELECT Id FROM Account WHERE industry = 'TECHNOLOGY'")
    );
    let tech = n("SELECT Id FROM Account WHERE Industry = 'Technology'");
    let no_industry = n("SELECT Id FROM Account WHERE Industry = null");
    assert_eq!(no_industry, 75);
    assert_eq!(n("SELECT Id FROM Account WHERE Industry != null"), all - 75);
    // != keeps records without a value (as SOQL does).
    assert_eq!(n("SELECT Id FROM Account WHERE Industry != 'Technology'"), all - tech);
    assert_eq!(
        n("SELECT Id FROM Account WHERE Industry IN ('Technology', 'finance')"),
        tech + n("SELECT Id FROM Account WHERE Industry = 'Finance'")
    );
    assert_eq!(n("SELECT Id FROM Account WHERE Industry NOT IN ('Technology')"), all - tech);
    // Numbers, with and without decimals.
    let big = n("SELECT Id FROM Account WHERE AnnualRevenue > 25000000");
    let small = n("SELECT Id FROM Account WHERE AnnualRevenue <= 25000000.0");
    assert_eq!(big + small, all - n("SELECT Id FROM Account WHERE AnnualRevenue = null"));
    assert_eq!(
        column(
            &st,
            &token,
            "SELECT NumberOfEmployees FROM Account WHERE NumberOfEmployees >= 4990 ORDER BY NumberOfEmployees",
            "NumberOfEmployees"
        )
        .len() as u64,
        n("SELECT Id FROM Account WHERE NumberOfEmployees > 4989")
    );
    // Dates and datetimes.
    let closes = column(
        &st,
        &token,
        "SELECT CloseDate FROM Opportunity WHERE CloseDate < 2024-02-01 ORDER BY CloseDate",
        "CloseDate",
    );
    assert!(!closes.is_empty());
    assert!(closes.iter().all(|c| c.as_str().is_some_and(|d| d < "2024-02-01")));
    let sorted: Vec<&str> = closes.iter().filter_map(Value::as_str).collect();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(n("SELECT Id FROM Account WHERE CreatedDate < 2024-01-01T01:00:00Z"), 1);
    assert_eq!(n("SELECT Id FROM Account WHERE CreatedDate < 2024-01-01T02:00:00+01:00"), 1);
    assert_eq!(n("SELECT Id FROM Account WHERE CreatedDate >= 2024-01-01T00:47:00.919Z"), all);
    assert_eq!(n("SELECT Id FROM Account WHERE IsDeleted = false"), all);
    assert_eq!(n("SELECT Id FROM Account WHERE IsDeleted = TRUE"), 0);
    // LIKE, AND / OR with parentheses, NOT.
    let acme = n("SELECT Id FROM Account WHERE Name LIKE 'acme%'");
    assert_eq!(acme, 49);
    assert_eq!(n("SELECT Id FROM Account WHERE Name LIKE '%Corp 1_'"), 1);
    assert_eq!(n("SELECT Id FROM Account WHERE Name LIKE '%Corp 1%'"), 16);
    assert_eq!(
        n("SELECT Id FROM Account WHERE (Name LIKE 'Acme%' OR Name LIKE 'Globex%') AND (Industry = 'Retail')"),
        n("SELECT Id FROM Account WHERE Industry = 'Retail' AND (Name LIKE 'Acme%' OR Name LIKE 'Globex%')")
    );
    assert_eq!(n("SELECT Id FROM Account WHERE NOT Name LIKE 'Acme%'"), all - acme);
    assert_eq!(n("SELECT Id FROM Account WHERE NOT (Name LIKE 'Acme%' OR Name LIKE 'Acme%')"), all - acme);
    // Lookups by Id, 15 or 18 characters.
    let first = column(&st, &token, "SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1", "AccountId");
    let account = first[0].as_str().unwrap_or("").to_string();
    let short = account.get(..15).unwrap_or("").to_string();
    assert_eq!(n(&format!("SELECT Id FROM Account WHERE Id = '{account}'")), 1);
    assert_eq!(n(&format!("SELECT Id FROM Account WHERE Id IN ('{short}')")), 1);
    assert!(n(&format!("SELECT Id FROM Contact WHERE AccountId = '{short}'")) >= 1);
    // ORDER BY, LIMIT, OFFSET, NULLS LAST.
    let names = column(&st, &token, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 3", "Name");
    assert_eq!(names.len(), 3);
    let industries =
        column(&st, &token, "SELECT Industry FROM Account ORDER BY Industry ASC NULLS LAST, Name", "Industry");
    assert!(industries.last().is_some_and(Value::is_null));
    assert!(industries.first().is_some_and(|v| v == "Education"));
    let industries = column(&st, &token, "SELECT Industry FROM Account ORDER BY Industry", "Industry");
    assert!(industries.first().is_some_and(Value::is_null), "nulls first by default");
    let page2 = column(&st, &token, "SELECT Id FROM Account ORDER BY Name LIMIT 5 OFFSET 5", "Id");
    let both = column(&st, &token, "SELECT Id FROM Account ORDER BY Name LIMIT 10", "Id");
    assert_eq!(page2, both[5..].to_vec());
    assert_eq!(count(&st, &token, "SELECT Id FROM Account LIMIT 0"), 0);
}

#[test]
fn soql_escaping() {
    let st = state();
    let token = session(&st, "sf-client");
    let names = |q: &str| column(&st, &token, q, "Name");
    assert_eq!(names("SELECT Name FROM Account WHERE Name = 'O\\'Neil & Sons'"), vec![json!("O'Neil & Sons")]);
    assert_eq!(names("SELECT Name FROM Account WHERE Name = 'Back\\\\Slash Ltd'"), vec![json!("Back\\Slash Ltd")]);
    assert_eq!(
        names("SELECT Name FROM Account WHERE Name = '\\\"Quoted\\\" Holdings'"),
        vec![json!("\"Quoted\" Holdings")]
    );
    assert_eq!(
        names("SELECT Name FROM Account WHERE Name = '\"Quoted\" Holdings'"),
        vec![json!("\"Quoted\" Holdings")]
    );
    assert_eq!(names("SELECT Name FROM Account WHERE Name LIKE '%\\'%'"), vec![json!("O'Neil & Sons")]);
    // \% and \_ are literal in LIKE; plain % and _ are wildcards.
    assert_eq!(names("SELECT Name FROM Account WHERE Name LIKE '100\\%%'"), vec![json!("100% Organic Co")]);
    assert_eq!(names("SELECT Name FROM Account WHERE Name LIKE '%\\_%'"), vec![json!("Under_Score Inc")]);
    assert_eq!(names("SELECT Name FROM Account WHERE Name LIKE 'Under_Score%'"), vec![json!("Under_Score Inc")]);
    assert_eq!(names("SELECT Name FROM Account WHERE Name LIKE 'Under\\_Score%'"), vec![json!("Under_Score Inc")]);
    assert_eq!(names("SELECT Name FROM Account WHERE Name = 'Tab\\tName'"), Vec::<Value>::new());
    assert_eq!(
        column(&st, &token, "SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien'", "LastName"),
        vec![json!("O'Brien")]
    );
    // An unescaped quote ends the string: the rest is a syntax error.
    let q = "SELECT Name FROM Account WHERE Name = 'O'Neil & Sons'";
    let err = sf_error(&soql(&st, &token, q), 400, "MALFORMED_QUERY");
    assert_eq!(
        err["message"],
        format!("\n{q}\n{}^\nERROR at Row:1:Column:42\nunexpected token: 'Neil'", " ".repeat(41))
    );
    // Unknown escapes are refused.
    let err = sf_error(&soql(&st, &token, "SELECT Name FROM Account WHERE Name = 'a\\qb'"), 400, "MALFORMED_QUERY");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("Illegal character sequence '\\q'")), "{err}");
    sf_error(&soql(&st, &token, "SELECT Name FROM Account WHERE Name = 'open"), 400, "MALFORMED_QUERY");
}

#[test]
fn soql_errors() {
    let st = state();
    let token = session(&st, "sf-client");
    let err = sf_error(&soql(&st, &token, "SELECT Foo FROM Account"), 400, "INVALID_FIELD");
    assert_eq!(
        err["message"],
        "\nSELECT Foo FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Account'. If you are \
         attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference \
         your WSDL or the describe call for the appropriate names."
    );
    let err = sf_error(&soql(&st, &token, "SELECT Id FROM Foo"), 400, "INVALID_TYPE");
    assert!(
        err["message"].as_str().is_some_and(|m| m.starts_with(
            "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported."
        )),
        "{err}"
    );
    let err = sf_error(&soql(&st, &token, "SELECT Id FROM Account WHERE Bar = 1"), 400, "INVALID_FIELD");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("Column:30\nNo such column 'Bar'")), "{err}");
    for (q, code, needle) in [
        (
            "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        ("SELECT FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id, FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id Account", "MALFORMED_QUERY", "unexpected token: 'Account'"),
        ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"),
        ("SELECT Id FROM Account WHERE Name = 'a' LIMIT 5 garbage", "MALFORMED_QUERY", "unexpected token: 'garbage'"),
        ("SELECT Id, Name, id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = '5'",
            "INVALID_FIELD",
            "must be of type integer and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE AnnualRevenue > '5'",
            "INVALID_FIELD",
            "must be of type double and should not be enclosed in quotes",
        ),
        ("SELECT Id FROM Opportunity WHERE CloseDate > '2024-01-01'", "INVALID_FIELD", "must be of type date"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "INVALID_FIELD", "must be of type dateTime"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T00:00:00", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM Account WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        ("SELECT Id FROM Account WHERE Name > null", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on null"),
        ("SELECT Id FROM Account WHERE Name ~ 'a'", "MALFORMED_QUERY", "no viable alternative at character '~'"),
    ] {
        let err = sf_error(&soql(&st, &token, q), 400, code);
        assert!(
            err["message"].as_str().is_some_and(|m| m.contains(needle) && m.starts_with(&format!("\n{q}\n"))),
            "{q}: {err}"
        );
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("SELECT Id FROM Account WHERE {}Name = 'x'{}", "(".repeat(5000), ")".repeat(5000));
    sf_error(&soql(&st, &token, &deep), 400, "MALFORMED_QUERY");
    let nested = format!("SELECT Id FROM Account WHERE {}Name = 'Acme Corp 1'{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(count(&st, &token, &nested), 1);
    let nots = format!("SELECT Id FROM Account WHERE {}Name = 'Acme Corp 1'", "NOT NOT ".repeat(20));
    assert_eq!(count(&st, &token, &nots), 1);
    let err = sf_error(&call(&st, &token, "GET", &format!("{V}/query"), None), 400, "MALFORMED_QUERY");
    assert_eq!(err["message"], "SOQL statements cannot be empty or null");
    // The SOQL is in the request log (it is the query string).
    let log = get(&st, "/_control/requests?path_prefix=/services/data/v59.0/query").json_body();
    assert!(log["requests"][0]["query"].as_str().is_some_and(|q| q.starts_with("q=SELECT%20Foo")));
}

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
