//! SOQL: paging, record shape, filters, escaping and errors.

use super::*;

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
