//! Tests of the fake Shopify provider.

use std::time::Duration;

use super::*;

const HOST: &str = "127.0.0.1:9999";
const API: &str = "/admin/api/2024-01";

/// A state whose bucket never fills (most tests send far more than 40 calls).
fn roomy() -> State {
    with_seeds(&[("shopify_bucket", 1_000_000)])
}

fn with_seeds(seeds: &[(&str, u64)]) -> State {
    State::new(Config { seeds: seeds.iter().map(|(k, v)| (k.to_string(), *v)).collect(), ..Config::default() })
}

fn authed(req: FakeRequest) -> FakeRequest {
    req.header("Host", HOST).header("X-Shopify-Access-Token", "test-token")
}

fn shop(st: &State, url: &str) -> FakeResponse {
    handle(st, &authed(FakeRequest::get(url)))
}

fn send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    handle(
        st,
        &authed(FakeRequest::new(method, url)).header("Content-Type", "application/json").body(&body.to_string()),
    )
}

/// The `Link` header as (rel, url relative to the host).
fn links(resp: &FakeResponse) -> Vec<(String, String)> {
    let Some(h) = resp.header("link") else {
        return Vec::new();
    };
    h.split(", ")
        .map(|part| {
            let (url, rel) = part.split_once(">; rel=").unwrap_or(("", ""));
            let url = url.trim_start_matches('<').trim_start_matches(&format!("http://{HOST}")).to_string();
            (rel.trim_matches('"').to_string(), url)
        })
        .collect()
}

fn link(resp: &FakeResponse, rel: &str) -> Option<String> {
    links(resp).into_iter().find(|(r, _)| r == rel).map(|(_, u)| u)
}

/// Follows `rel="next"` from `url`; returns the ids in order and the last response.
fn walk_next(st: &State, url: &str, key: &str) -> (Vec<u64>, FakeResponse) {
    let mut url = url.to_string();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let resp = shop(st, &url);
        assert_eq!(resp.status, 200, "{url}: {}", String::from_utf8_lossy(&resp.body));
        seen.extend(ids(&resp.json_body()[key]));
        match link(&resp, "next") {
            Some(next) => url = next,
            None => return (seen, resp),
        }
    }
    panic!("runaway pagination");
}

#[test]
fn auth_and_unknown_paths() {
    let st = state();
    let body = json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" });
    let resp = handle(&st, &FakeRequest::get(&format!("{API}/customers.json")));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json_body(), body);
    let resp =
        handle(&st, &FakeRequest::get(&format!("{API}/customers.json")).header("X-Shopify-Access-Token", "nope"));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json_body(), body);
    // Bearer is not how Shopify authenticates.
    let resp =
        handle(&st, &FakeRequest::get(&format!("{API}/customers.json")).header("Authorization", "Bearer test-token"));
    assert_eq!(resp.status, 401);
    for url in ["/admin/api/2024-01/widgets.json", "/admin/api/latest/customers.json", "/admin/api/2024-01/customers"] {
        let resp = shop(&st, url);
        assert_eq!(resp.status, 404, "{url}");
        assert_eq!(resp.json_body(), json!({ "errors": "Not Found" }));
    }
    // Any YYYY-MM version works.
    assert_eq!(shop(&st, "/admin/api/2023-07/customers.json?limit=1").status, 200);
    assert_eq!(shop(&st, "/admin/api/unstable/customers.json?limit=1").status, 200);
}

#[test]
fn customer_shape() {
    let st = roomy();
    let resp = shop(&st, &format!("{API}/customers.json"));
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert_eq!(keys(&body), set(&["customers"]));
    let list = body["customers"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 50, "default limit");
    assert_eq!(ids(&body["customers"]), (7_000_000_001..=7_000_000_050).collect::<Vec<_>>());
    let mut address_counts = BTreeSet::new();
    for c in &list {
        for k in ["id", "email", "first_name", "last_name", "phone", "state", "verified_email", "orders_count"] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
        for k in ["total_spent", "tags", "note", "currency", "created_at", "updated_at", "addresses"] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
        assert!(c["total_spent"].as_str().is_some_and(|s| s.contains('.')));
        let created = c["created_at"].as_str().unwrap_or("");
        assert!(created.len() == 25 && created.ends_with("-05:00"), "{created}");
        if let Some(p) = c["phone"].as_str() {
            assert!(p.starts_with('+') && p[1..].bytes().all(|b| b.is_ascii_digit()), "{p}");
        }
        let addresses = c["addresses"].as_array().cloned().unwrap_or_default();
        address_counts.insert(addresses.len());
        assert!(addresses.len() <= 3);
        match addresses.iter().find(|a| a["default"] == true) {
            Some(d) => assert_eq!(&c["default_address"], d),
            None => assert!(c.get("default_address").is_none()),
        }
        for a in &addresses {
            assert_eq!(
                keys(a),
                set(&[
                    "id",
                    "customer_id",
                    "first_name",
                    "last_name",
                    "company",
                    "address1",
                    "address2",
                    "city",
                    "province",
                    "country",
                    "zip",
                    "phone",
                    "name",
                    "province_code",
                    "country_code",
                    "country_name",
                    "default"
                ])
            );
            assert_eq!(a["customer_id"], c["id"]);
        }
    }
    assert_eq!(address_counts, [0, 1, 2, 3].into_iter().collect());
    assert_eq!(list[0]["created_at"], "2024-01-05T10:00:00-05:00");
    assert_eq!(shop(&roomy(), &format!("{API}/customers.json")).json_body(), body, "deterministic");
}

#[test]
fn link_pagination_covers_every_record_once() {
    let st = roomy();
    for (resource, key, total) in [
        ("customers.json", "customers", 250u64),
        ("products.json", "products", 40),
        ("orders.json?status=any", "orders", 60),
    ] {
        let sep = if resource.contains('?') { '&' } else { '?' };
        for limit in [1u64, 7, 50, 250] {
            let first = format!("{API}/{resource}{sep}limit={limit}");
            let (seen, last) = walk_next(&st, &first, key);
            let base = match key {
                "customers" => 7_000_000_000,
                "products" => 8_000_000_000,
                _ => 5_000_000_000,
            };
            assert_eq!(seen, (base + 1..=base + total).collect::<Vec<_>>(), "{resource} limit {limit}");
            // And back with rel="previous" from the last page.
            if limit < total {
                let mut back: Vec<u64> = ids(&last.json_body()[key]).into_iter().rev().collect();
                let mut resp = last;
                for _ in 0..1000 {
                    let Some(prev) = link(&resp, "previous") else { break };
                    resp = shop(&st, &prev);
                    back.extend(ids(&resp.json_body()[key]).into_iter().rev());
                }
                back.reverse();
                assert_eq!(back, seen, "{resource} limit {limit} backwards");
            }
        }
    }
}

#[test]
fn link_header_format() {
    let st = roomy();
    let first = shop(&st, &format!("{API}/customers.json?limit=100"));
    let rels: Vec<String> = links(&first).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, vec!["next"]);
    let raw = first.header("link").unwrap_or("").to_string();
    assert!(raw.starts_with("<http://127.0.0.1:9999/admin/api/2024-01/customers.json?limit=100&page_info="), "{raw}");
    assert!(raw.ends_with(">; rel=\"next\""), "{raw}");
    let second = shop(&st, &link(&first, "next").unwrap_or_default());
    let rels: Vec<String> = links(&second).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, vec!["previous", "next"], "previous first, comma separated");
    assert_eq!(ids(&second.json_body()["customers"]).first(), Some(&7_000_000_101));
    let third = shop(&st, &link(&second, "next").unwrap_or_default());
    let rels: Vec<String> = links(&third).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, vec!["previous"]);
    assert_eq!(ids(&third.json_body()["customers"]).len(), 50);
    // Everything on one page: no Link header.
    assert!(shop(&st, &format!("{API}/products.json?limit=250")).header("link").is_none());
    // The link carries the version of the request and `fields`.
    let resp = shop(&st, "/admin/api/2023-10/customers.json?limit=2&fields=id,email");
    let next = link(&resp, "next").unwrap_or_default();
    assert!(next.starts_with("/admin/api/2023-10/customers.json?limit=2&fields=id%2Cemail&page_info="), "{next}");
    let page = shop(&st, &next).json_body();
    assert_eq!(keys(&page["customers"][0]), set(&["id", "email"]));
    assert_eq!(ids(&page["customers"]), vec![7_000_000_003, 7_000_000_004]);
}

#[test]
fn page_info_rules() {
    let st = roomy();
    let first = shop(&st, &format!("{API}/orders.json?status=any&limit=5"));
    let next = link(&first, "next").unwrap_or_default();
    let token = next.split("page_info=").nth(1).unwrap_or("").to_string();
    // The filters live in page_info: the second page keeps status=any.
    let page = shop(&st, &next).json_body();
    assert_eq!(ids(&page["orders"]), (5_000_000_006..=5_000_000_010).collect::<Vec<_>>());
    // Only limit and fields may accompany page_info.
    let resp = shop(&st, &format!("{API}/orders.json?page_info={token}&status=any"));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json_body(),
        json!({ "errors": { "status": "status cannot be passed when page_info is present. See \
                                      https://shopify.dev/api/usage/pagination-rest for more information." } })
    );
    let resp = shop(&st, &format!("{API}/orders.json?page_info={token}&since_id=1&created_at_min=2024-01-01"));
    assert_eq!(resp.status, 400);
    assert_eq!(keys(&resp.json_body()["errors"]), set(&["since_id", "created_at_min"]));
    let ok = shop(&st, &format!("{API}/orders.json?page_info={token}&limit=2&fields=id,name"));
    assert_eq!(ok.status, 200);
    assert_eq!(ids(&ok.json_body()["orders"]), vec![5_000_000_006, 5_000_000_007]);
    assert_eq!(keys(&ok.json_body()["orders"][0]), set(&["id", "name"]));
    for bad in ["garbage", "eyJmb28iOjF9"] {
        let resp = shop(&st, &format!("{API}/orders.json?page_info={bad}"));
        assert_eq!(resp.status, 400);
        assert_eq!(resp.json_body(), json!({ "errors": { "page_info": "Invalid value." } }));
    }
    for bad in ["0", "251", "x"] {
        let resp = shop(&st, &format!("{API}/customers.json?limit={bad}"));
        assert_eq!(resp.status, 400, "{bad}");
        assert_eq!(resp.json_body(), json!({ "errors": { "limit": "Invalid value." } }));
    }
}

#[test]
fn customer_filters_and_count() {
    let st = roomy();
    let body = shop(&st, &format!("{API}/customers.json?since_id=7000000240")).json_body();
    assert_eq!(ids(&body["customers"]), (7_000_000_241..=7_000_000_250).collect::<Vec<_>>());
    let body = shop(&st, &format!("{API}/customers.json?ids=7000000003,7000000001,99")).json_body();
    assert_eq!(ids(&body["customers"]), vec![7_000_000_001, 7_000_000_003]);
    // Customer i is created 5 hours after customer i-1, from 2024-01-05T10:00:00-05:00.
    let body = shop(&st, &format!("{API}/customers.json?created_at_min=2024-01-06T01:00:00-05:00&limit=3")).json_body();
    assert_eq!(ids(&body["customers"]), vec![7_000_000_004, 7_000_000_005, 7_000_000_006]);
    let body = shop(&st, &format!("{API}/customers.json?created_at_max=2024-01-06T01:00:00Z")).json_body();
    assert_eq!(ids(&body["customers"]), vec![7_000_000_001, 7_000_000_002, 7_000_000_003]);
    let updated = shop(&st, &format!("{API}/customers.json?updated_at_min=2024-02-20&limit=250")).json_body();
    assert!(!ids(&updated["customers"]).is_empty());
    for c in updated["customers"].as_array().into_iter().flatten() {
        assert!(c["updated_at"].as_str().unwrap_or("") >= "2024-02-20");
    }
    assert_eq!(shop(&st, &format!("{API}/customers/count.json")).json_body(), json!({ "count": 250 }));
    assert_eq!(
        shop(&st, &format!("{API}/customers/count.json?since_id=7000000200")).json_body(),
        json!({ "count": 50 })
    );
    let resp = shop(&st, &format!("{API}/customers.json?created_at_min=someday"));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json_body(), json!({ "errors": { "created_at_min": "Invalid value." } }));
    // fields on a single customer.
    let one = shop(&st, &format!("{API}/customers/7000000004.json?fields=id,tags,addresses")).json_body();
    assert_eq!(keys(&one["customer"]), set(&["id", "tags", "addresses"]));
    assert_eq!(one["customer"]["tags"], "newsletter, vip");
    let resp = shop(&st, &format!("{API}/customers/7000009999.json"));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json_body(), json!({ "errors": "Not Found" }));
}

#[test]
fn orders_status_and_products() {
    let st = roomy();
    let open = shop(&st, &format!("{API}/orders.json?limit=250")).json_body();
    let any = shop(&st, &format!("{API}/orders.json?status=any&limit=250")).json_body();
    let closed = shop(&st, &format!("{API}/orders.json?status=closed&limit=250")).json_body();
    let cancelled = shop(&st, &format!("{API}/orders.json?status=cancelled&limit=250")).json_body();
    assert_eq!(ids(&any["orders"]).len(), 60);
    assert!(!ids(&closed["orders"]).is_empty() && !ids(&cancelled["orders"]).is_empty());
    for o in open["orders"].as_array().into_iter().flatten() {
        assert!(o["closed_at"].is_null() && o["cancelled_at"].is_null(), "{o}");
    }
    let open_n = ids(&open["orders"]).len();
    assert!(open_n < 60);
    assert_eq!(shop(&st, &format!("{API}/orders/count.json")).json_body(), json!({ "count": open_n }));
    assert_eq!(shop(&st, &format!("{API}/orders/count.json?status=any")).json_body(), json!({ "count": 60 }));
    let o = &any["orders"][0];
    assert_eq!(o["name"], "#1001");
    assert_eq!(o["customer"]["id"], 7_000_000_001u64);
    for k in
        ["email", "total_price", "subtotal_price", "currency", "financial_status", "fulfillment_status", "created_at"]
    {
        assert!(o.get(k).is_some(), "{k}");
    }
    let item = &o["line_items"][0];
    assert_eq!(keys(item), set(&["id", "title", "quantity", "price", "product_id", "variant_id", "sku"]));
    let paid = shop(&st, &format!("{API}/orders.json?status=any&financial_status=paid&limit=250")).json_body();
    assert!(paid["orders"].as_array().into_iter().flatten().all(|o| o["financial_status"] == "paid"));
    assert_eq!(shop(&st, &format!("{API}/orders.json?status=sometimes")).status, 400);
    // Products.
    let p = shop(&st, &format!("{API}/products/8000000003.json")).json_body()["product"].clone();
    for k in ["id", "title", "body_html", "vendor", "product_type", "status", "tags", "created_at", "updated_at"] {
        assert!(p.get(k).is_some(), "{k}");
    }
    let v = &p["variants"][0];
    assert_eq!(
        keys(v),
        set(&[
            "id",
            "product_id",
            "title",
            "price",
            "sku",
            "position",
            "inventory_quantity",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(v["product_id"], p["id"]);
    let drafts = shop(&st, &format!("{API}/products.json?status=draft")).json_body();
    assert!(!ids(&drafts["products"]).is_empty());
    assert!(drafts["products"].as_array().into_iter().flatten().all(|p| p["status"] == "draft"));
    let vendor = p["vendor"].as_str().unwrap_or("");
    let by_vendor = shop(&st, &format!("{API}/products.json?vendor={}", vendor.replace(' ', "%20"))).json_body();
    assert!(by_vendor["products"].as_array().into_iter().flatten().all(|x| x["vendor"] == vendor));
    assert_eq!(shop(&st, &format!("{API}/products/count.json")).json_body(), json!({ "count": 40 }));
}

#[test]
fn create_customer_and_validation() {
    let st = roomy();
    let url = format!("{API}/customers.json");
    let resp = send(
        &st,
        "POST",
        &url,
        &json!({ "customer": {
            "first_name": "Steve",
            "last_name": "Lastnameson",
            "email": "Steve.Lastnameson@Example.com",
            "phone": "+1 (613) 555-0199",
            "verified_email": true,
            "tags": "vip,  loyal,vip",
            "addresses": [
                { "address1": "123 Oak St", "city": "Ottawa", "province": "ON", "country": "CA", "zip": "123 ABC",
                  "last_name": "Lastnameson", "first_name": "Mother", "phone": "555-1212" },
                { "address1": "1 Main St", "city": "Austin", "province_code": "TX", "country_code": "US", "default": true }
            ]
        }}),
    );
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let c = resp.json_body()["customer"].clone();
    assert_eq!(c["id"], 7_000_000_251u64);
    assert_eq!(c["email"], "steve.lastnameson@example.com");
    assert_eq!(c["phone"], "+16135550199");
    assert_eq!(c["tags"], "loyal, vip");
    assert_eq!(c["state"], "disabled");
    assert_eq!(c["orders_count"], 0);
    assert_eq!(c["total_spent"], "0.00");
    assert_eq!(c["created_at"], "2025-01-01T00:00:01-05:00");
    let addresses = c["addresses"].as_array().cloned().unwrap_or_default();
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[0]["province"], "Ontario");
    assert_eq!(addresses[0]["province_code"], "ON");
    assert_eq!(addresses[0]["country_name"], "Canada");
    assert_eq!(addresses[0]["name"], "Mother Lastnameson");
    assert_eq!(addresses[0]["default"], false);
    assert_eq!(addresses[1]["default"], true);
    assert_eq!(addresses[1]["country"], "United States");
    assert_eq!(c["default_address"], addresses[1]);
    assert_eq!(shop(&st, &format!("{API}/customers/7000000251.json")).json_body()["customer"], c);
    assert_eq!(shop(&st, &format!("{API}/customers/count.json")).json_body(), json!({ "count": 251 }));

    let cases = [
        (json!({ "email": "not-an-email" }), json!({ "email": ["is invalid"] })),
        (json!({ "email": "STEVE.lastnameson@example.com" }), json!({ "email": ["has already been taken"] })),
        (json!({ "email": "shopper1@example.com" }), json!({ "email": ["has already been taken"] })),
        (json!({ "first_name": "X", "phone": "613-555-0199" }), json!({ "phone": ["has already been taken"] })),
        (json!({ "first_name": "X", "phone": "12" }), json!({ "phone": ["is invalid"] })),
        (json!({ "email": "bad", "phone": "nope" }), json!({ "email": ["is invalid"], "phone": ["is invalid"] })),
        (
            json!({ "note": "no identity", "tags": "x" }),
            json!({ "base": ["Customer must have a name, phone number or email address"] }),
        ),
    ];
    for (input, expected) in cases {
        let resp = send(&st, "POST", &url, &json!({ "customer": input }));
        assert_eq!(resp.status, 422, "{input}");
        assert_eq!(resp.json_body(), json!({ "errors": expected }), "{input}");
    }
    for body in [json!({ "email": "a@b.co" }), json!({ "customer": "x" }), json!([])] {
        let resp = send(&st, "POST", &url, &body);
        assert_eq!(resp.status, 400);
        assert_eq!(resp.json_body(), json!({ "errors": { "customer": "Required parameter missing or invalid" } }));
    }
    assert_eq!(
        shop(&st, &format!("{API}/customers/count.json")).json_body(),
        json!({ "count": 251 }),
        "nothing created"
    );
    // The next id is not consumed by failures.
    let resp = send(&st, "POST", &url, &json!({ "customer": { "last_name": "Solo" } }));
    assert_eq!(resp.json_body()["customer"]["id"], 7_000_000_252u64);
}

#[test]
fn update_and_delete_customer() {
    let st = roomy();
    let url = format!("{API}/customers/7000000002.json");
    let before = shop(&st, &url).json_body()["customer"].clone();
    let resp = send(
        &st,
        "PUT",
        &url,
        &json!({ "customer": { "id": 7_000_000_002u64, "note": "Call after 5", "tags": ["b", "a"] } }),
    );
    assert_eq!(resp.status, 200);
    let after = resp.json_body()["customer"].clone();
    assert_eq!(after["note"], "Call after 5");
    assert_eq!(after["tags"], "a, b");
    assert_eq!(after["email"], before["email"]);
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(after["updated_at"], "2025-01-01T00:00:01-05:00");
    assert_eq!(shop(&st, &url).json_body()["customer"], after);
    // The update shows up in updated_at_min filters.
    let recent = shop(&st, &format!("{API}/customers.json?updated_at_min=2025-01-01")).json_body();
    assert_eq!(ids(&recent["customers"]), vec![7_000_000_002]);
    let resp = send(&st, "PUT", &url, &json!({ "customer": { "email": "shopper3@example.com" } }));
    assert_eq!(resp.status, 422);
    assert_eq!(resp.json_body(), json!({ "errors": { "email": ["has already been taken"] } }));
    // Keeping one's own email is fine.
    assert_eq!(send(&st, "PUT", &url, &json!({ "customer": { "email": "shopper2@example.com" } })).status, 200);
    assert_eq!(
        send(&st, "PUT", &format!("{API}/customers/1.json"), &json!({ "customer": { "note": "x" } })).status,
        404
    );
    let resp = handle(&st, &authed(FakeRequest::new("DELETE", &url)));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body(), json!({}));
    assert_eq!(shop(&st, &url).status, 404);
    assert_eq!(handle(&st, &authed(FakeRequest::new("DELETE", &url))).status, 404);
    assert_eq!(shop(&st, &format!("{API}/customers/count.json")).json_body(), json!({ "count": 249 }));
}

#[test]
fn leaky_bucket() {
    let st = with_seeds(&[("shopify_bucket", 3), ("shopify_leak_per_second", 10)]);
    let url = format!("{API}/customers.json?limit=1");
    for used in 1..=3 {
        let resp = shop(&st, &url);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("x-shopify-shop-api-call-limit"), Some(format!("{used}/3").as_str()));
    }
    let resp = shop(&st, &url);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("1.0"));
    assert_eq!(resp.header("x-shopify-shop-api-call-limit"), Some("3/3"));
    assert_eq!(
        resp.json_body(),
        json!({ "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." })
    );
    assert_eq!(get(&st, "/admin/_fake/rate_limited").json_body(), json!({ "rate_limited": 1 }));
    // 10 calls leak per second: after 250 ms at least two calls fit again, and the bucket fills up again.
    std::thread::sleep(Duration::from_millis(250));
    let mut accepted = 0;
    loop {
        let resp = shop(&st, &url);
        if resp.status == 429 {
            break;
        }
        assert_eq!(resp.status, 200);
        accepted += 1;
        assert!(accepted <= 4, "the bucket refills by 10 calls a second only");
    }
    assert!(accepted >= 2, "{accepted}");
    assert_eq!(get(&st, "/admin/_fake/rate_limited").json_body(), json!({ "rate_limited": 2 }));
    // Reset empties the bucket and the counter.
    get(&st, "/_control/reset");
    assert_eq!(get(&st, "/admin/_fake/rate_limited").json_body(), json!({ "rate_limited": 0 }));
    assert_eq!(shop(&st, &url).header("x-shopify-shop-api-call-limit"), Some("1/3"));
    // The default bucket is 40.
    let st = state();
    assert_eq!(shop(&st, &url).header("x-shopify-shop-api-call-limit"), Some("1/40"));
    // ... and can be resized at run time.
    assert_eq!(get(&st, "/_control/seed?object=shopify_bucket&count=1").status, 200);
    assert_eq!(shop(&st, &url).status, 200);
    assert_eq!(shop(&st, &url).status, 429);
}

#[test]
fn injected_errors_and_reseed() {
    let st = roomy();
    get(&st, "/_control/inject?status=503&path_prefix=/admin/");
    let resp = shop(&st, &format!("{API}/customers.json"));
    assert_eq!(resp.status, 503);
    assert_eq!(resp.json_body(), json!({ "errors": "Internal Server Error" }));
    get(&st, "/_control/inject?status=429&retry_after=2.0&path_prefix=/admin/");
    let resp = shop(&st, &format!("{API}/customers.json"));
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2.0"));
    assert_eq!(
        resp.json_body()["errors"],
        "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
    );
    assert_eq!(get(&st, "/_control/seed?object=shopify_customers&count=3").status, 200);
    assert_eq!(shop(&st, &format!("{API}/customers/count.json")).json_body(), json!({ "count": 3 }));
    assert_eq!(get(&st, "/_control/seed?object=shopify_orders&count=4").status, 200);
    assert_eq!(shop(&st, &format!("{API}/orders/count.json?status=any")).json_body(), json!({ "count": 4 }));
}
