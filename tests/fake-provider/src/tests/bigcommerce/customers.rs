//! BigCommerce customers: auth, list shape, pagination, filters, batch writes; products lists; the quota;
//! injected errors and reseeding.

use super::*;

#[test]
fn auth_and_store() {
    let st = state();
    let body = json!({
        "status": 401,
        "title": "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.",
        "type": TYPE
    });
    let resp = handle(&st, &FakeRequest::get(&format!("{BASE}/customers")));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json_body(), body);
    assert_eq!(resp.header("x-rate-limit-requests-quota"), Some("150"));
    let resp = handle(&st, &FakeRequest::get(&format!("{BASE}/customers")).header("X-Auth-Token", "wrong"));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json_body(), body);
    let resp = bc(&st, "/stores/zzz999/v3/customers");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), json!({ "status": 404, "title": "Store not found", "type": TYPE, "errors": {} }));
    let resp = bc(&st, &format!("{BASE}/widgets"));
    assert_eq!(resp.status, 404);
    assert_eq!(bc_send(&st, "DELETE", &format!("{BASE}/catalog/products"), &json!({})).status, 405);
}

#[test]
fn customer_list_shape_and_meta() {
    let st = state();
    let resp = bc(&st, &format!("{BASE}/customers"));
    assert_eq!(resp.status, 200);
    for h in [
        "x-rate-limit-requests-quota",
        "x-rate-limit-requests-left",
        "x-rate-limit-time-window-ms",
        "x-rate-limit-time-reset-ms",
    ] {
        assert!(resp.header(h).is_some(), "{h}");
    }
    let body = resp.json_body();
    assert_eq!(ids(&body["data"]), (1..=50).collect::<Vec<_>>());
    assert_eq!(
        body["meta"]["pagination"],
        json!({
            "total": 250,
            "count": 50,
            "per_page": 50,
            "current_page": 1,
            "total_pages": 5,
            "links": { "current": "?page=1&limit=50", "next": "?page=2&limit=50" }
        })
    );
    assert_eq!(
        body["meta"]["cursor_pagination"],
        json!({
            "count": 50,
            "per_page": 50,
            "start_cursor": "eyJpZCI6MX0",
            "end_cursor": "eyJpZCI6NTB9",
            "links": { "next": "?limit=50&after=eyJpZCI6NTB9" }
        })
    );
    let c = &body["data"][0];
    assert_eq!(
        keys(c),
        set(&[
            "id",
            "authentication",
            "company",
            "customer_group_id",
            "email",
            "first_name",
            "last_name",
            "notes",
            "phone",
            "registration_ip_address",
            "tax_exempt_category",
            "date_created",
            "date_modified",
            "accepts_product_review_abandoned_cart_emails",
            "store_credit_amounts",
            "origin_channel_id",
            "channel_ids"
        ])
    );
    assert_eq!(c["date_created"], "2024-01-05T10:00:00Z");
    assert_eq!(c["email"], "buyer1@example.com");
    let page = bc(&st, &format!("{BASE}/customers?page=2&limit=50")).json_body();
    assert_eq!(
        page["meta"]["pagination"]["links"],
        json!({ "previous": "?page=1&limit=50", "current": "?page=2&limit=50", "next": "?page=3&limit=50" })
    );
    assert!(page["meta"].get("cursor_pagination").is_none());
    let last = bc(&st, &format!("{BASE}/customers?page=5")).json_body();
    assert_eq!(
        last["meta"]["pagination"]["links"],
        json!({ "previous": "?page=4&limit=50", "current": "?page=5&limit=50" })
    );
    let beyond = bc(&st, &format!("{BASE}/customers?page=9")).json_body();
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["meta"]["pagination"]["count"], 0);
    // Filters are kept in the links.
    let body = bc(&st, &format!("{BASE}/customers?limit=2&customer_group_id:in=1,2")).json_body();
    assert_eq!(body["meta"]["pagination"]["links"]["next"], "?page=2&limit=2&customer_group_id:in=1,2");
}

#[test]
fn pagination_covers_every_record_once() {
    let st = roomy();
    for limit in [1u64, 7, 50, 250] {
        assert_eq!(walk_pages(&st, "customers", &format!("?limit={limit}")), (1..=250).collect::<Vec<_>>(), "{limit}");
        assert_eq!(
            walk_pages(&st, "catalog/products", &format!("?limit={limit}")),
            (1..=60).collect::<Vec<_>>(),
            "{limit}"
        );
    }
    // Cursor pagination: after / before.
    let mut seen = Vec::new();
    let mut url = format!("{BASE}/customers?limit=40");
    let mut last_meta = Value::Null;
    for _ in 0..100 {
        let body = bc(&st, &url).json_body();
        seen.extend(ids(&body["data"]));
        last_meta = body["meta"]["cursor_pagination"].clone();
        match last_meta["links"]["next"].as_str() {
            Some(next) => url = format!("{BASE}/customers{next}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=250).collect::<Vec<_>>());
    let before = last_meta["links"]["previous"].as_str().unwrap_or("").to_string();
    let prev = bc(&st, &format!("{BASE}/customers{before}")).json_body();
    assert_eq!(ids(&prev["data"]), (201..=240).collect::<Vec<_>>());
    assert!(prev["meta"].get("pagination").is_none());
    // Filters combine with pages: every match exactly once.
    let filtered = walk_pages(&st, "customers", "?limit=9&customer_group_id:in=2");
    assert_eq!(filtered, (1..=250).filter(|n| n % 4 == 2).collect::<Vec<_>>());
    // ... and with cursors: the cursor links keep the filters.
    let mut by_cursor = Vec::new();
    let mut url = format!("{BASE}/customers?limit=9&customer_group_id:in=2");
    for _ in 0..100 {
        let body = bc(&st, &url).json_body();
        by_cursor.extend(ids(&body["data"]));
        match body["meta"]["cursor_pagination"]["links"]["next"].as_str() {
            Some(next) => {
                assert!(next.ends_with("&customer_group_id:in=2"), "{next}");
                url = format!("{BASE}/customers{next}");
            }
            None => break,
        }
    }
    assert_eq!(by_cursor, filtered);
}

#[test]
fn customer_filters() {
    let st = roomy();
    let get_ids = |q: &str| ids(&bc(&st, &format!("{BASE}/customers{q}")).json_body()["data"]);
    assert_eq!(get_ids("?id:in=3,1,999"), vec![1, 3]);
    assert_eq!(get_ids("?email:in=buyer2@example.com,BUYER5@example.com"), vec![2, 5]);
    let likes = get_ids("?name:like=priya&limit=250");
    assert!(!likes.is_empty());
    for id in &likes {
        assert_eq!(id % 10, 3, "Priya is every 10th first name starting at 3");
    }
    let both = bc(&st, &format!("{BASE}/customers?name:like=jane%20smith&limit=250")).json_body();
    for c in both["data"].as_array().into_iter().flatten() {
        assert_eq!((c["first_name"].as_str(), c["last_name"].as_str()), (Some("Jane"), Some("Smith")));
    }
    assert!(!ids(&both["data"]).is_empty());
    // Customer n is modified (n-1) % 5 days after its creation, 4 hours after customer n-1.
    let since = get_ids("?date_modified:min=2024-02-01T00:00:00Z&limit=250");
    let all = bc(&st, &format!("{BASE}/customers?limit=250")).json_body();
    let expected: Vec<u64> = all["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["date_modified"].as_str().unwrap_or("") >= "2024-02-01T00:00:00Z")
        .map(|c| c["id"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(since, expected);
    assert!(!since.is_empty() && since.len() < 250);
    assert_eq!(get_ids("?date_created:max=2024-01-05T18:00:00Z"), vec![1, 2, 3]);
    assert_eq!(get_ids("?company:in=Acme%201&limit=250").len(), get_ids("?company:in=acme%201&limit=250").len());
    let sorted = get_ids("?sort=date_created:desc&limit=3");
    assert_eq!(sorted, vec![250, 249, 248]);
    // Errors.
    let resp = bc(&st, &format!("{BASE}/customers?foo=bar"));
    assert_eq!(resp.status, 422);
    assert_eq!(resp.json_body(), unprocessable("The filter(s): foo are not valid filter parameter(s)."));
    assert_eq!(
        bc(&st, &format!("{BASE}/customers?id:in=hello")).json_body(),
        unprocessable("Query parameter \"id:in\" value may contain only integer values. For input string: \"hello\".")
    );
    for bad in ["0", "251"] {
        let resp = bc(&st, &format!("{BASE}/customers?limit={bad}"));
        assert_eq!(resp.status, 422, "{bad}");
        assert_eq!(resp.json_body(), unprocessable("Query parameter \"limit\" value must be between 1 and 250."));
    }
    assert_eq!(bc(&st, &format!("{BASE}/customers?limit=250")).status, 200);
    assert_eq!(bc(&st, &format!("{BASE}/customers?date_modified:min=whenever")).status, 422);
}

#[test]
fn create_customers_batch() {
    let st = roomy();
    let url = format!("{BASE}/customers");
    let resp = bc_send(&st, "POST", &url, &json!([customer_input(1), customer_input(2)]));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body["meta"], json!({}));
    assert_eq!(ids(&body["data"]), vec![251, 252]);
    let c = &body["data"][0];
    assert_eq!(c["email"], "new1@example.com");
    assert_eq!(c["first_name"], "New1");
    assert_eq!(c["registration_ip_address"], "");
    assert_eq!(c["date_created"], "2025-01-01T00:00:01Z");
    assert_eq!(body["data"][1]["date_created"], "2025-01-01T00:00:02Z");
    assert_eq!(bc(&st, &format!("{BASE}/customers?id:in=251,252")).json_body()["data"], body["data"]);

    // Validation: all or nothing.
    let resp = bc_send(&st, "POST", &url, &json!([customer_input(3), { "first_name": "Only" }]));
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json_body(),
        json!({
            "status": 422,
            "title": "JSON data is missing or invalid",
            "type": TYPE,
            "errors": { "email": "error.path.missing", "last_name": "error.path.missing" }
        })
    );
    let resp = bc_send(&st, "POST", &url, &json!([{ "email": "nope", "first_name": "A", "last_name": "B" }]));
    assert_eq!(resp.json_body()["errors"], json!({ "email": "error.email" }));
    let resp = bc_send(
        &st,
        "POST",
        &url,
        &json!([customer_input(4), { "email": "BUYER7@example.com", "first_name": "A", "last_name": "B" }]),
    );
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json_body(),
        json!({
            "status": 422,
            "title": "Create customers failed.",
            "type": TYPE,
            "errors": { ".customer_create": "Error creating customers: email BUYER7@example.com already in use" }
        })
    );
    let resp = bc_send(&st, "POST", &url, &json!([customer_input(5), customer_input(5)]));
    assert_eq!(resp.json_body()["title"], "Create customers failed.");
    assert_eq!(
        bc(&st, &format!("{BASE}/customers?email:in=new3@example.com,new4@example.com,new5@example.com")).json_body()
            ["data"],
        json!([])
    );
    assert_eq!(bc(&st, &format!("{BASE}/customers?limit=1")).json_body()["meta"]["pagination"]["total"], 252);
    // Batch limits.
    let eleven: Vec<Value> = (10..21).map(customer_input).collect();
    let resp = bc_send(&st, "POST", &url, &Value::Array(eleven));
    assert_eq!(resp.status, 413);
    assert_eq!(
        resp.json_body(),
        json!({ "status": 413, "title": "The request payload is too large. The maximum items allowed in the array is 10.", "type": TYPE })
    );
    let ten: Vec<Value> = (10..20).map(customer_input).collect();
    let resp = bc_send(&st, "POST", &url, &Value::Array(ten));
    assert_eq!(resp.status, 200);
    assert_eq!(ids(&resp.json_body()["data"]), (253..=262).collect::<Vec<_>>());
    for body in [json!({ "email": "x@y.co" }), json!([]), json!("text")] {
        let resp = bc_send(&st, "POST", &url, &body);
        assert_eq!(resp.status, 422);
        assert_eq!(resp.json_body()["title"], "JSON data is missing or invalid");
    }
}

#[test]
fn update_and_delete_customers() {
    let st = roomy();
    let url = format!("{BASE}/customers");
    let resp = bc_send(&st, "PUT", &url, &json!([{ "id": 2, "first_name": "Bert" }, { "id": 5, "company": "Sesame" }]));
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(ids(&body["data"]), vec![2, 5]);
    assert_eq!(body["data"][0]["first_name"], "Bert");
    assert_eq!(body["data"][0]["email"], "buyer2@example.com");
    assert_eq!(body["data"][0]["date_modified"], "2025-01-01T00:00:01Z");
    assert_eq!(body["data"][0]["date_created"], "2024-01-05T14:00:00Z");
    assert_eq!(body["data"][1]["company"], "Sesame");
    assert_eq!(bc(&st, &format!("{BASE}/customers?id:in=2")).json_body()["data"][0], body["data"][0]);
    let resp =
        bc_send(&st, "PUT", &url, &json!([{ "id": 3, "first_name": "X" }, { "id": 12345, "first_name": "Samantha" }]));
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json_body(),
        json!({ "status": 422, "title": "Update customers failed.", "type": TYPE, "errors": { "1.id": "invalid customer ID" } })
    );
    assert_eq!(
        bc(&st, &format!("{BASE}/customers?id:in=3")).json_body()["data"][0]["first_name"],
        "Priya",
        "all or nothing"
    );
    let resp = bc_send(&st, "PUT", &url, &json!([{ "first_name": "NoId" }]));
    assert_eq!(
        resp.json_body(),
        json!({ "status": 422, "title": "JSON data is missing or invalid", "type": TYPE, "errors": { "id": "error.path.missing" } })
    );
    let resp = bc_send(&st, "PUT", &url, &json!([{ "id": 4, "email": "buyer6@example.com" }]));
    assert_eq!(
        resp.json_body()["errors"],
        json!({ ".customer_update": "Error updating customers: email buyer6@example.com already in use" })
    );
    // Swapping emails within one batch is fine.
    let resp = bc_send(
        &st,
        "PUT",
        &url,
        &json!([{ "id": 4, "email": "buyer6@example.com" }, { "id": 6, "email": "buyer4@example.com" }]),
    );
    assert_eq!(resp.status, 200);
    let eleven: Vec<Value> = (1..=11).map(|i| json!({ "id": i, "notes": "x" })).collect();
    assert_eq!(bc_send(&st, "PUT", &url, &Value::Array(eleven)).status, 413);
    // Delete.
    let resp =
        handle(&st, &FakeRequest::new("DELETE", &format!("{url}?id:in=1,2,9999")).header("X-Auth-Token", "test-token"));
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());
    assert_eq!(bc(&st, &format!("{BASE}/customers?id:in=1,2,3")).json_body()["data"].as_array().map(Vec::len), Some(1));
    let resp = handle(&st, &FakeRequest::new("DELETE", &url).header("X-Auth-Token", "test-token"));
    assert_eq!(resp.status, 204, "no id:in: nothing deleted");
    assert_eq!(bc(&st, &format!("{BASE}/customers?limit=1")).json_body()["meta"]["pagination"]["total"], 248);
    let resp = handle(&st, &FakeRequest::new("DELETE", &format!("{url}?id:in=a")).header("X-Auth-Token", "test-token"));
    assert_eq!(resp.status, 422);
}

#[test]
fn products() {
    let st = roomy();
    let body = bc(&st, &format!("{BASE}/catalog/products?limit=5")).json_body();
    let p = &body["data"][0];
    assert_eq!(
        keys(p),
        set(&[
            "id",
            "name",
            "type",
            "sku",
            "price",
            "sale_price",
            "inventory_level",
            "is_visible",
            "categories",
            "date_created",
            "date_modified"
        ])
    );
    assert!(p["price"].is_f64() && p["categories"].is_array());
    assert_eq!(body["meta"]["pagination"]["total"], 60);
    assert!(body["meta"].get("cursor_pagination").is_none());
    assert_eq!(ids(&bc(&st, &format!("{BASE}/catalog/products?id:in=4,2")).json_body()["data"]), vec![2, 4]);
    let hidden = bc(&st, &format!("{BASE}/catalog/products?is_visible=false&limit=250")).json_body();
    assert_eq!(ids(&hidden["data"]), (1..=60u64).filter(|n| n.is_multiple_of(6)).collect::<Vec<_>>());
    let like = bc(&st, &format!("{BASE}/catalog/products?name:like=terrarium&limit=250")).json_body();
    assert_eq!(ids(&like["data"]), (1..=60).filter(|n| n % 5 == 2).collect::<Vec<_>>());
    let fields = bc(&st, &format!("{BASE}/catalog/products?include_fields=name,price&limit=1")).json_body();
    assert_eq!(keys(&fields["data"][0]), set(&["id", "name", "price"]));
    assert_eq!(
        bc(&st, &format!("{BASE}/catalog/products?is_visible=maybe")).json_body(),
        unprocessable(
            "Query parameter \"is_visible\" value may contain only boolean values. For input string: \"maybe\"."
        )
    );
    assert_eq!(
        bc(&st, &format!("{BASE}/catalog/products?color=red")).json_body(),
        unprocessable("The filter(s): color are not valid filter parameter(s).")
    );
}

#[test]
fn quota_429_and_window() {
    let st = seeded(&[("bigcommerce_quota", 3), ("bigcommerce_window_ms", 1_000)]);
    let url = format!("{BASE}/catalog/products?limit=1");
    for left in ["2", "1", "0"] {
        let resp = bc(&st, &url);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-rate-limit-requests-quota"), Some("3"));
        assert_eq!(resp.header("x-rate-limit-requests-left"), Some(left));
        assert_eq!(resp.header("x-rate-limit-time-window-ms"), Some("1000"));
        let reset: u64 = resp.header("x-rate-limit-time-reset-ms").and_then(|v| v.parse().ok()).unwrap_or(0);
        assert!(reset > 0 && reset <= 1_000, "{reset}");
    }
    let resp = bc(&st, &url);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.json_body(), json!({ "status": 429, "title": "Too many requests", "type": TYPE, "errors": {} }));
    assert_eq!(resp.header("x-rate-limit-requests-left"), Some("0"));
    assert_eq!(resp.header("x-retry-after"), Some("1"));
    assert!(resp.header("x-rate-limit-time-reset-ms").is_some());
    assert_eq!(get(&st, "/stores/_fake/rate_limited").json_body(), json!({ "rate_limited": 1 }));
    // A new window starts once this one is over.
    std::thread::sleep(Duration::from_millis(1_050));
    let resp = bc(&st, &url);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-rate-limit-requests-left"), Some("2"));
    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/stores/_fake/rate_limited").json_body(), json!({ "rate_limited": 0 }));
    assert_eq!(bc(&st, &url).header("x-rate-limit-requests-left"), Some("2"));
    // The default quota is 150 per 30 s.
    let st = state();
    let resp = bc(&st, &url);
    assert_eq!(resp.header("x-rate-limit-requests-left"), Some("149"));
    assert_eq!(resp.header("x-rate-limit-time-window-ms"), Some("30000"));
}

#[test]
fn injected_errors_and_reseed() {
    let st = roomy();
    get(&st, "/_control/inject?status=500&path_prefix=/stores/");
    let resp = bc(&st, &format!("{BASE}/customers"));
    assert_eq!(resp.status, 500);
    assert_eq!(
        resp.json_body(),
        json!({ "status": 500, "title": "Internal Server Error", "type": TYPE, "errors": {} })
    );
    assert!(resp.header("x-rate-limit-requests-quota").is_some());
    assert_eq!(get(&st, "/_control/seed?object=bigcommerce_customers&count=4").status, 200);
    assert_eq!(walk_pages(&st, "customers", "?limit=3"), vec![1, 2, 3, 4]);
    assert_eq!(get(&st, "/_control/seed?object=bigcommerce_products&count=2").status, 200);
    assert_eq!(walk_pages(&st, "catalog/products", ""), vec![1, 2]);
    let resp = bc_send(&st, "POST", &format!("{BASE}/customers"), &json!([customer_input(1)]));
    assert_eq!(ids(&resp.json_body()["data"]), vec![5]);
}
