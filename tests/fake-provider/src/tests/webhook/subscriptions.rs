//! Subscriptions (`/_control/webhook_subscribe`): automatic deliveries after API writes, in order.

use super::*;

#[test]
fn hubspot_subscription_delivers_every_write_in_order() {
    let st = state();
    let (port, rx) = receiver(6, 200, "");
    let target = url(port, "/webhooks/hubspot");
    let resp = control(&st, "webhook_subscribe", &[("provider", "hubspot"), ("url", &target), ("secret", "cs")]);
    assert_eq!(resp.json_body(), json!({ "provider": "hubspot", "subscribed": true, "url": target, "mode": "good" }));

    let created = hs_send(
        &st,
        "POST",
        "/crm/v3/objects/contacts",
        &json!({ "properties": { "email": "new@example.com" }, "associations": [] }),
    );
    assert_eq!(created.status, 201);
    let id = created.json_body()["id"].as_str().expect("id").to_string();
    // A failed write is not announced (the next delivery is the update).
    let missing = hs_send(&st, "PATCH", "/crm/v3/objects/contacts/999999", &json!({ "properties": {} }));
    assert_eq!(missing.status, 404);
    let patched = hs_send(
        &st,
        "PATCH",
        &format!("/crm/v3/objects/contacts/{id}"),
        &json!({ "properties": { "email": "changed@example.com" } }),
    );
    assert_eq!(patched.status, 200);
    let batch = hs_send(
        &st,
        "POST",
        "/crm/v3/objects/companies/batch/create",
        &json!({ "inputs": [{ "properties": { "name": "A" }, "associations": [] }, { "properties": { "name": "B" }, "associations": [] }] }),
    );
    assert_eq!(batch.status, 201);
    let deleted = handle(
        &st,
        &FakeRequest::new("DELETE", &format!("/crm/v3/objects/contacts/{id}"))
            .header("Authorization", "Bearer test-token"),
    );
    assert_eq!(deleted.status, 204);

    let mut kinds = Vec::new();
    for _ in 0..5 {
        let got = next(&rx);
        let ts = got.header("x-hubspot-request-timestamp").unwrap_or("");
        let v3 = BASE64.encode(mac(b"cs", format!("POST{target}{}{ts}", got.body).as_bytes()));
        assert_eq!(got.header("x-hubspot-signature-v3"), Some(v3.as_str()));
        let e = serde_json::from_str::<Value>(&got.body).expect("json")[0].clone();
        kinds.push((e["subscriptionType"].as_str().unwrap_or("").to_string(), e["propertyValue"].clone()));
        if e["subscriptionType"] != "company.creation" {
            assert_eq!(e["objectId"].to_string(), id);
        }
    }
    assert_eq!(
        kinds,
        vec![
            ("contact.creation".to_string(), Value::Null),
            ("contact.propertyChange".to_string(), json!("changed@example.com")),
            ("company.creation".to_string(), Value::Null),
            ("company.creation".to_string(), Value::Null),
            ("contact.deletion".to_string(), Value::Null),
        ]
    );
    let log = deliveries(&st, 5);
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|d| d["automatic"] == true && d["status"] == 200));
    assert_eq!(log[1]["op"], "update");
    assert_eq!(log[1]["id"], id);

    // Off: later writes are quiet; the subscription list is empty.
    let off = control(&st, "webhook_subscribe", &[("provider", "hubspot"), ("off", "1")]);
    assert_eq!(off.json_body(), json!({ "provider": "hubspot", "subscribed": false, "removed": true }));
    assert_eq!(get(&st, "/_control/webhook_deliveries").json_body()["subscriptions"], json!([]));
    hs_send(
        &st,
        "POST",
        "/crm/v3/objects/contacts",
        &json!({ "properties": { "email": "quiet@example.com" }, "associations": [] }),
    );
    assert_quiet(&rx);
}

#[test]
fn stripe_subscription_sends_the_api_answer_and_skips_idempotent_replays() {
    let st = state();
    let (port, rx) = receiver(3, 200, "");
    let target = url(port, "/wh");
    let resp = control(&st, "webhook_subscribe", &[("provider", "stripe"), ("url", &target), ("secret", "whsec_s")]);
    assert_eq!(resp.status, 200);
    let post = |url: &str, body: &str, key: Option<&str>| {
        let mut req = FakeRequest::new("POST", url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        handle(&st, &req)
    };
    let created = post("/v1/customers", "email=hook%40example.com", Some("k1"));
    assert_eq!(created.status, 200);
    let replay = post("/v1/customers", "email=hook%40example.com", Some("k1"));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let customer = created.json_body();
    let id = customer["id"].as_str().expect("id").to_string();
    let updated = post(&format!("/v1/customers/{id}"), "name=Hooked", None);
    let deleted = handle(
        &st,
        &FakeRequest::new("DELETE", &format!("/v1/customers/{id}")).header("Authorization", "Bearer test-token"),
    );
    assert_eq!(deleted.status, 200);

    let mut events = Vec::new();
    for _ in 0..3 {
        let got = next(&rx);
        let header = got.header("stripe-signature").unwrap_or("");
        let (t, v1) = header.strip_prefix("t=").and_then(|r| r.split_once(",v1=")).expect("t=..,v1=..");
        assert_eq!(v1, hexs(&mac(b"whsec_s", format!("{t}.{}", got.body).as_bytes())));
        events.push(serde_json::from_str::<Value>(&got.body).expect("json"));
    }
    assert_eq!(events[0]["type"], "customer.created");
    assert_eq!(events[0]["data"]["object"], customer);
    assert_eq!(events[1]["type"], "customer.updated");
    assert_eq!(events[1]["data"]["object"], updated.json_body());
    assert_eq!(events[2]["type"], "customer.deleted");
    assert_eq!(events[2]["data"]["object"], json!({ "id": id, "object": "customer", "deleted": true }));
    assert_ne!(events[0]["id"], events[1]["id"]);
}

#[test]
fn shopify_bigcommerce_and_rest_subscriptions_announce_their_writes() {
    let st = State::new(Config {
        seeds: [("shopify_bucket".to_string(), 1000), ("bigcommerce_quota".to_string(), 1000)].into_iter().collect(),
        ..Config::default()
    });
    let (port, rx) = receiver(10, 200, "");
    let secret = format!("whsec_{}", BASE64.encode(b"bc-key"));
    for (provider, secret) in [("shopify", "shp"), ("bigcommerce", secret.as_str()), ("rest", "rst")] {
        let resp =
            control(&st, "webhook_subscribe", &[("provider", provider), ("url", &url(port, "/")), ("secret", secret)]);
        assert_eq!(resp.status, 200, "{provider}");
    }
    let send = |method: &str, url: &str, headers: &[(&str, &str)], body: &Value| {
        let mut req = FakeRequest::new(method, url).header("Content-Type", "application/json").body(&body.to_string());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        handle(&st, &req)
    };
    let shop = [("X-Shopify-Access-Token", "test-token")];
    let created =
        send("POST", "/admin/api/2024-01/customers.json", &shop, &json!({ "customer": { "email": "s@example.com" } }));
    assert_eq!(created.status, 201);
    let got = next(&rx);
    assert_eq!(got.header("x-shopify-topic"), Some("customers/create"));
    assert_eq!(serde_json::from_str::<Value>(&got.body).expect("json"), created.json_body()["customer"]);
    let id = created.json_body()["customer"]["id"].as_u64().expect("id");
    let deleted = send("DELETE", &format!("/admin/api/2024-01/customers/{id}.json"), &shop, &Value::Null);
    assert_eq!(deleted.status, 200);
    let got = next(&rx);
    assert_eq!(got.header("x-shopify-topic"), Some("customers/delete"));
    assert_eq!(got.body, format!("{{\"id\":{id}}}"));

    let bc = [("X-Auth-Token", "test-token")];
    let updated = send("PUT", "/stores/abc123/v3/customers", &bc, &json!([{ "id": 3, "first_name": "Hooked" }]));
    assert_eq!(updated.status, 200);
    let got = next(&rx);
    let body: Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(body["scope"], "store/customer/updated");
    assert_eq!(body["data"], json!({ "type": "customer", "id": 3 }));
    // Unknown ids in a delete are ignored by BigCommerce, and not announced.
    let gone = handle(
        &st,
        &FakeRequest::new("DELETE", "/stores/abc123/v3/customers?id:in=4,99999").header("X-Auth-Token", "test-token"),
    );
    assert_eq!(gone.status, 204);
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!((body["scope"].clone(), body["data"]["id"].clone()), (json!("store/customer/deleted"), json!(4)));
    // Product updates, one by id and in a batch.
    let updated = send("PUT", "/stores/abc123/v3/catalog/products/7", &bc, &json!({ "inventory_level": 3 }));
    assert_eq!(updated.status, 200);
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!(body["scope"], "store/product/updated");
    assert_eq!(body["data"], json!({ "type": "product", "id": 7 }));
    let updated = send("PUT", "/stores/abc123/v3/catalog/products", &bc, &json!([{ "id": 8, "is_visible": false }]));
    assert_eq!(updated.status, 200);
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!((body["scope"].clone(), body["data"]["id"].clone()), (json!("store/product/updated"), json!(8)));

    let created = send("POST", "/rest/plain/items", &[], &json!({ "name": "Hooked", "price": 1 }));
    assert_eq!(created.status, 201);
    let item_id = created.json_body()["id"].to_string();
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!((body["type"].clone(), body["record_id"].clone()), (json!("items.created"), json!(item_id)));
    send("PUT", &format!("/rest/plain/items/{item_id}"), &[], &json!({ "name": "Again", "price": 2 }));
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!(body["type"], "items.updated");
    handle(&st, &FakeRequest::new("DELETE", &format!("/rest/plain/items/{item_id}")));
    let body: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!(body["type"], "items.deleted");

    // Reset drops the subscriptions and the log, and keeps the data.
    get(&st, "/_control/reset");
    let after = get(&st, "/_control/webhook_deliveries").json_body();
    assert_eq!(after, json!({ "subscriptions": [], "deliveries": [] }));
    send("POST", "/rest/plain/items", &[], &json!({ "name": "Quiet", "price": 1 }));
    assert_quiet(&rx);
}

#[test]
fn a_write_whose_response_is_lost_is_still_announced() {
    let st = state();
    let (port, rx) = receiver(1, 200, "");
    control(
        &st,
        "webhook_subscribe",
        &[("provider", "rest"), ("url", &url(port, "/")), ("secret", "s"), ("mode", "missing")],
    );
    get(&st, "/_control/inject?status=503&after=true&path_prefix=/rest/plain/items&method=DELETE");
    let resp = handle(&st, &FakeRequest::new("DELETE", "/rest/plain/items/2"));
    assert_eq!(resp.status, 503);
    let got = next(&rx);
    assert!(got.header("x-signature").is_none());
    assert_eq!(serde_json::from_str::<Value>(&got.body).expect("json")["record_id"], "2");
    let log = deliveries(&st, 1);
    assert_eq!(log[0]["mode"], "missing");
}
