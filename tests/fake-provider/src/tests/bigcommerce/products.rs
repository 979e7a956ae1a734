//! BigCommerce product writes: get one, update one, field errors, batch update, quota and faults.

use super::*;

fn product_url(id: &str) -> String {
    format!("{BASE}/catalog/products/{id}")
}

fn product(st: &State, id: u64) -> Value {
    bc(st, &product_url(&id.to_string())).json_body()["data"].clone()
}

fn not_found_product(errors: Value) -> Value {
    json!({ "status": 404, "title": "The requested product was not found.", "type": TYPE, "errors": errors })
}

#[test]
fn get_one_product() {
    let st = roomy();
    let resp = bc(&st, &product_url("3"));
    assert_eq!(resp.status, 200);
    assert!(resp.header("x-rate-limit-requests-left").is_some());
    let body = resp.json_body();
    assert_eq!(body["meta"], json!({}));
    let listed = bc(&st, &format!("{BASE}/catalog/products?id:in=3")).json_body();
    assert_eq!(body["data"], listed["data"][0]);
    assert_eq!(body["data"]["name"], "Canvas Laundry Cart 3");
    assert_eq!(body["data"]["sku"], "BC-00003");
    assert_eq!(body["data"]["inventory_level"], 51);
    assert_eq!(body["data"]["date_modified"], "2024-01-07T12:00:00Z");
    let slim = bc(&st, &format!("{}?include_fields=sku,price", product_url("3"))).json_body();
    assert_eq!(keys(&slim["data"]), set(&["id", "sku", "price"]));
    let fewer = bc(&st, &format!("{}?exclude_fields=categories,id", product_url("3"))).json_body();
    assert!(fewer["data"].get("categories").is_none());
    assert_eq!(fewer["data"]["id"], 3, "the id cannot be excluded");
    // Unknown and malformed ids, methods, auth.
    let resp = bc(&st, &product_url("61"));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), not_found_product(json!({})));
    assert!(resp.header("x-rate-limit-requests-quota").is_some());
    for bad in ["abc", "3/images", "-1"] {
        let resp = bc(&st, &product_url(bad));
        assert_eq!(resp.status, 404, "{bad}");
        assert_eq!(resp.json_body()["title"], "Not Found", "{bad}");
    }
    for url in [product_url("3"), format!("{BASE}/catalog/products")] {
        for method in ["DELETE", "POST", "PATCH"] {
            let resp = bc_send(&st, method, &url, &json!({}));
            assert_eq!(resp.status, 405, "{method} {url}");
            assert_eq!(resp.header("allow"), Some("GET, PUT"), "{method} {url}");
        }
    }
    assert_eq!(bc(&st, &format!("{}/", product_url("3"))).status, 200, "trailing slash");
    let resp = handle(&st, &FakeRequest::get(&product_url("3")));
    assert_eq!(resp.status, 401);
    let resp = handle(&st, &FakeRequest::new("PUT", &product_url("3")).body("{\"inventory_level\":1}"));
    assert_eq!(resp.status, 401);
    assert_eq!(product(&st, 3)["inventory_level"], 51, "an unauthorized write changes nothing");
}

#[test]
fn update_one_product() {
    let st = roomy();
    let before = product(&st, 3);
    let resp = bc_send(&st, "PUT", &product_url("3"), &json!({ "inventory_level": 7 }));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.header("x-rate-limit-requests-left").is_some());
    let body = resp.json_body();
    assert_eq!(body["meta"], json!({}));
    let mut expected = before.clone();
    expected["inventory_level"] = json!(7);
    expected["date_modified"] = json!("2025-01-01T00:00:01Z");
    assert_eq!(body["data"], expected);
    // The change shows in a following list and get.
    let listed = bc(&st, &format!("{BASE}/catalog/products?id:in=2,3,4")).json_body();
    assert_eq!(listed["data"][1], expected);
    assert_eq!(listed["data"][0]["inventory_level"], 34, "other products are untouched");
    assert_eq!(product(&st, 3), expected);

    // Several fields; read-only and unknown fields are ignored.
    let resp = bc_send(
        &st,
        "PUT",
        &product_url("3"),
        &json!({
            "name": "Renamed Cart",
            "sku": "CART-3",
            "price": 12,
            "sale_price": 9.5,
            "is_visible": false,
            "type": "digital",
            "categories": [18],
            "id": 999,
            "date_created": "2030-01-01T00:00:00Z",
            "description": "<p>ignored</p>"
        }),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let p = resp.json_body()["data"].clone();
    assert_eq!(p["id"], 3);
    assert_eq!(p["name"], "Renamed Cart");
    assert_eq!(p["sku"], "CART-3");
    assert!(p["price"].is_f64() && p["price"] == 12.0);
    assert_eq!(p["sale_price"], 9.5);
    assert_eq!(p["is_visible"], false);
    assert_eq!(p["type"], "digital");
    assert_eq!(p["categories"], json!([18]));
    assert_eq!(p["inventory_level"], 7);
    assert_eq!(p["date_created"], before["date_created"]);
    assert_eq!(p["date_modified"], "2025-01-01T00:00:02Z");
    assert!(p.get("description").is_none());
    assert_eq!(keys(&p), keys(&before));
    let hidden = bc(&st, &format!("{BASE}/catalog/products?is_visible=false&limit=250")).json_body();
    assert!(ids(&hidden["data"]).contains(&3));
    assert_eq!(ids(&bc(&st, &format!("{BASE}/catalog/products?sku=CART-3")).json_body()["data"]), vec![3]);
    // `include_fields` shapes the answer; the inventory is capped at BigCommerce's limit.
    let resp = bc_send(
        &st,
        "PUT",
        &format!("{}?include_fields=inventory_level", product_url("3")),
        &json!({ "inventory_level": 5_000_000_000u64 }),
    );
    assert_eq!(resp.json_body()["data"], json!({ "id": 3, "inventory_level": 2_147_483_647u64 }));
    // An empty object changes nothing but the modification date.
    let resp = bc_send(&st, "PUT", &product_url("3"), &json!({}));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body()["data"]["name"], "Renamed Cart");
}

#[test]
fn product_update_errors() {
    let st = roomy();
    let before = product(&st, 5);
    let resp = bc_send(&st, "PUT", &product_url("5"), &json!({ "inventory_level": -1 }));
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json_body(),
        json!({
            "status": 422,
            "title": "Invalid field(s): inventory_level",
            "type": TYPE,
            "errors": { "inventory_level": "inventory_level must be greater than or equal to 0" }
        })
    );
    let resp = bc_send(&st, "PUT", &product_url("5"), &json!({ "name": "", "price": "cheap", "inventory_level": 2 }));
    assert_eq!(
        resp.json_body(),
        json!({
            "status": 422,
            "title": "Invalid field(s): name, price",
            "type": TYPE,
            "errors": { "name": "name must be at least 1 character(s) long", "price": "price must be a number" }
        })
    );
    for (body, field) in [
        (json!({ "inventory_level": 1.5 }), "inventory_level"),
        (json!({ "inventory_level": "3" }), "inventory_level"),
        (json!({ "price": -0.01 }), "price"),
        (json!({ "sale_price": null }), "sale_price"),
        (json!({ "name": 7 }), "name"),
        (json!({ "name": "x".repeat(251) }), "name"),
        (json!({ "sku": "s".repeat(256) }), "sku"),
        (json!({ "is_visible": "yes" }), "is_visible"),
        (json!({ "type": "service" }), "type"),
        (json!({ "categories": [18, "x"] }), "categories"),
    ] {
        let resp = bc_send(&st, "PUT", &product_url("5"), &body);
        assert_eq!(resp.status, 422, "{body}");
        assert_eq!(keys(&resp.json_body()["errors"]), set(&[field]), "{body}");
        assert_eq!(resp.json_body()["title"], format!("Invalid field(s): {field}"));
    }
    assert_eq!(product(&st, 5), before, "rejected updates change nothing");
    // Unknown ids.
    let resp = bc_send(&st, "PUT", &product_url("999"), &json!({ "inventory_level": 1 }));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), not_found_product(json!({})));
    // Bodies that are not a JSON object: as for customers' writes.
    for raw in ["{\"inventory_level\": ", "", "[{\"id\": 5}]", "\"text\""] {
        let resp = handle(
            &st,
            &FakeRequest::new("PUT", &product_url("5"))
                .header("X-Auth-Token", "test-token")
                .header("Content-Type", "application/json")
                .body(raw),
        );
        assert_eq!(resp.status, 422, "{raw}");
        assert_eq!(resp.json_body()["title"], "JSON data is missing or invalid", "{raw}");
    }
    // Names and SKUs are unique (409), case aside.
    let resp = bc_send(&st, "PUT", &product_url("5"), &json!({ "name": "smith journal 1" }));
    assert_eq!(resp.status, 409);
    assert_eq!(
        resp.json_body(),
        json!({
            "status": 409,
            "title": "The product was in conflict with another product.",
            "type": TYPE,
            "errors": { "name": "The product name \"smith journal 1\" is already in use." }
        })
    );
    let resp = bc_send(&st, "PUT", &product_url("5"), &json!({ "sku": "BC-00060" }));
    assert_eq!(resp.status, 409);
    assert_eq!(keys(&resp.json_body()["errors"]), set(&["sku"]));
    let resp = bc_send(&st, "PUT", &product_url("5"), &json!({ "name": "Able Brewing System 5", "sku": "bc-00005" }));
    assert_eq!(resp.status, 200, "a product keeps its own name and SKU");
    assert_eq!(product(&st, 5)["sku"], "bc-00005");
}

#[test]
fn batch_update_products() {
    let st = roomy();
    let url = format!("{BASE}/catalog/products");
    let resp = bc_send(
        &st,
        "PUT",
        &url,
        &json!([{ "id": 4, "inventory_level": 0 }, { "id": 2, "price": 1.25, "name": "Two" }]),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(resp.header("x-rate-limit-requests-left").is_some());
    let body = resp.json_body();
    assert_eq!(body["meta"], json!({}));
    assert_eq!(ids(&body["data"]), vec![4, 2]);
    assert_eq!(body["data"][0]["inventory_level"], 0);
    assert_eq!(body["data"][0]["date_modified"], "2025-01-01T00:00:01Z");
    assert_eq!(body["data"][1]["price"], 1.25);
    assert_eq!(body["data"][1]["name"], "Two");
    assert_eq!(body["data"][1]["date_modified"], "2025-01-01T00:00:02Z");
    let listed = bc(&st, &format!("{BASE}/catalog/products?id:in=2,4")).json_body();
    assert_eq!(listed["data"][0], body["data"][1]);
    assert_eq!(listed["data"][1], body["data"][0]);
    // Swapping names within one batch is fine.
    let resp = bc_send(&st, "PUT", &url, &json!([{ "id": 2, "name": "Smith Journal 1" }, { "id": 1, "name": "Two" }]));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));

    // All or nothing.
    let before = bc(&st, &format!("{url}?id:in=6,7")).json_body()["data"].clone();
    let resp =
        bc_send(&st, "PUT", &url, &json!([{ "id": 6, "inventory_level": 3 }, { "id": 7, "inventory_level": -3 }]));
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.json_body()["errors"],
        json!({ "inventory_level": "inventory_level must be greater than or equal to 0" })
    );
    let resp =
        bc_send(&st, "PUT", &url, &json!([{ "id": 6, "inventory_level": 3 }, { "id": 12345, "inventory_level": 3 }]));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), not_found_product(json!({ "1.id": "product 12345 does not exist" })));
    let resp = bc_send(&st, "PUT", &url, &json!([{ "id": 6, "sku": "DUP" }, { "id": 7, "sku": "dup" }]));
    assert_eq!(resp.status, 409);
    let resp = bc_send(&st, "PUT", &url, &json!([{ "id": 6, "inventory_level": 3 }, { "inventory_level": 3 }]));
    assert_eq!(resp.status, 422);
    assert_eq!(resp.json_body()["errors"], json!({ "id": "id is required for a batch update" }));
    assert_eq!(bc(&st, &format!("{url}?id:in=6,7")).json_body()["data"], before);

    // Batch limits: 11 items is a 413, 10 are fine.
    let eleven: Vec<Value> = (1..=11).map(|i| json!({ "id": i, "inventory_level": 1 })).collect();
    let resp = bc_send(&st, "PUT", &url, &Value::Array(eleven));
    assert_eq!(resp.status, 413);
    assert_eq!(
        resp.json_body(),
        json!({ "status": 413, "title": "The request payload is too large. The maximum items allowed in the array is 10.", "type": TYPE })
    );
    assert_eq!(product(&st, 11)["inventory_level"], 67, "nothing written");
    let ten: Vec<Value> = (11..=20).map(|i| json!({ "id": i, "inventory_level": 1 })).collect();
    let resp = bc_send(&st, "PUT", &url, &Value::Array(ten));
    assert_eq!(resp.status, 200);
    assert_eq!(ids(&resp.json_body()["data"]), (11..=20).collect::<Vec<_>>());
    for body in [json!({ "id": 1 }), json!([]), json!([1, 2]), json!("text")] {
        let resp = bc_send(&st, "PUT", &url, &body);
        assert_eq!(resp.status, 422, "{body}");
        assert_eq!(resp.json_body()["title"], "JSON data is missing or invalid");
    }
}

#[test]
fn product_writes_count_against_the_quota_and_take_faults() {
    let st = seeded(&[("bigcommerce_quota", 2)]);
    let resp = bc_send(&st, "PUT", &product_url("1"), &json!({ "inventory_level": 9 }));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("x-rate-limit-requests-left"), Some("1"));
    let resp = bc(&st, &product_url("1"));
    assert_eq!(resp.header("x-rate-limit-requests-left"), Some("0"));
    let resp = bc_send(&st, "PUT", &format!("{BASE}/catalog/products"), &json!([{ "id": 1, "inventory_level": 8 }]));
    assert_eq!(resp.status, 429);
    assert!(resp.header("x-retry-after").is_some());
    get(&st, "/_control/reset");
    get(&st, "/_control/inject?status=503&path_prefix=/stores/abc123/v3/catalog/products/&method=PUT");
    let resp = bc_send(&st, "PUT", &product_url("1"), &json!({ "inventory_level": 7 }));
    assert_eq!(resp.status, 503);
    assert_eq!(resp.json_body(), json!({ "status": 503, "title": "Service Unavailable", "type": TYPE, "errors": {} }));
    assert!(resp.header("x-rate-limit-requests-quota").is_some());
    assert_eq!(product(&st, 1)["inventory_level"], 9, "the injected failure wrote nothing");
    let stats = get(&st, "/_control/stats").json_body();
    assert_eq!(stats["by_path"]["/stores/abc123/v3/catalog/products/1"], 2);
}
