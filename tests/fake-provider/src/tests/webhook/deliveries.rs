//! One delivery at a time (`/_control/webhook`): each provider's payload and signature, the broken modes,
//! parameter checks.

use super::*;

#[test]
fn signing_primitives_match_published_vectors() {
    // RFC 4231, test case 2.
    assert_eq!(
        webhook::hex(&webhook::hmac_sha256(b"Jefe", &[b"what do ya ", b"want for nothing?"])),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    // A Stripe-Signature v1 for t=1614556800 (computed with Python's hmac module).
    let payload = br#"{"id":"evt_test_webhook","object":"event"}"#;
    assert_eq!(
        webhook::hex(&webhook::hmac_sha256(b"whsec_test_secret", &[b"1614556800", b".", payload])),
        "96943a0ceebda8d3913e8b90697d39bbe16342f950890d77a41a248e4fb22794"
    );
    // The Standard Webhooks specification's example (what BigCommerce uses): the key is the base64 after whsec_.
    let key = Provider::Bigcommerce.signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
    let signed = webhook::hmac_sha256(
        &key,
        &[b"msg_p5jXN8AQM9LWM0D4loKWxJek", b".", b"1614265330", b".", br#"{"test": 2432232314}"#],
    );
    assert_eq!(BASE64.encode(signed), "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[test]
fn builds_are_deterministic_for_a_stamp_and_ids_unique_per_seq() {
    let event = Event::new(Provider::Stripe, "customers", "cus_X", Op::Delete, None).expect("event");
    let stamp = Stamp { now_ms: 1_700_000_000_123, seq: 7 };
    let a = webhook::build(&event, "http://127.0.0.1:1/x", b"k", Mode::Good, stamp);
    let b = webhook::build(&event, "http://127.0.0.1:1/x", b"k", Mode::Good, stamp);
    assert_eq!(a.body, b.body);
    let c = webhook::build(&event, "http://127.0.0.1:1/x", b"k", Mode::Good, Stamp { seq: 8, ..stamp });
    let id = |body: &str| serde_json::from_str::<Value>(body).expect("json")["id"].as_str().unwrap_or("").to_string();
    assert_ne!(id(&a.body), id(&c.body));
    assert!(id(&a.body).starts_with("evt_") && id(&a.body).len() == 28, "{}", a.body);
    let body: Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(body["created"], 1_700_000_000);
    assert_eq!(body["data"]["object"], json!({ "id": "cus_X", "object": "customer", "deleted": true }));
}

#[test]
fn hubspot_delivery_is_signed_v3_and_v1_and_the_receivers_401_is_reported() {
    let st = state();
    let (port, rx) = receiver(1, 401, "invalid signature");
    let target = url(port, "/webhooks/hs?tag=a%20b");
    let resp = control(
        &st,
        "webhook",
        &[("provider", "hubspot"), ("url", &target), ("secret", "client-secret"), ("object", "contacts"), ("id", "3")],
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let answer = resp.json_body();
    assert_eq!(answer["status"], 401);
    assert_eq!(answer["body"], "invalid signature");
    let got = next(&rx);
    assert_sent(&answer, &got);
    assert_eq!(got.method, "POST");
    assert_eq!(got.target, "/webhooks/hs?tag=a%20b");
    assert_eq!(got.header("host"), Some(format!("127.0.0.1:{port}").as_str()));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("user-agent"), Some("HubSpot Connect 2.0 (fake)"));
    assert_eq!(got.header("connection"), Some("close"));

    let ts = got.header("x-hubspot-request-timestamp").expect("timestamp");
    let ts_ms: u64 = ts.parse().expect("ms");
    assert!(near(ts_ms / 1000, now_s(), 5));
    let v3 = BASE64.encode(mac(b"client-secret", format!("POST{target}{}{ts}", got.body).as_bytes()));
    assert_eq!(got.header("x-hubspot-signature-v3"), Some(v3.as_str()));
    let v1 = hexs(&Sha256::digest(format!("client-secret{}", got.body).as_bytes()));
    assert_eq!(got.header("x-hubspot-signature-version"), Some("v1"));
    assert_eq!(got.header("x-hubspot-signature"), Some(v1.as_str()));

    let email = hs(&st, "/crm/v3/objects/contacts/3").json_body()["properties"]["email"].clone();
    assert!(email.is_string());
    let events: Value = serde_json::from_str(&got.body).expect("json");
    let e = &events[0];
    assert_eq!(events.as_array().map(Vec::len), Some(1));
    assert!(e["eventId"].is_u64());
    assert_eq!(e["subscriptionId"], 1);
    assert_eq!(e["portalId"], 62515);
    assert_eq!(e["appId"], 1);
    assert_eq!(e["occurredAt"], ts_ms);
    assert_eq!(e["subscriptionType"], "contact.propertyChange");
    assert_eq!(e["attemptNumber"], 0);
    assert_eq!(e["objectId"], 3);
    assert_eq!(e["propertyName"], "email");
    assert_eq!(e["propertyValue"], email);
    assert_eq!(e["changeSource"], "CRM");

    // Creations and deletions of companies carry no property; event ids differ between deliveries.
    let (port, rx) = receiver(1, 200, "");
    let resp = control(
        &st,
        "webhook",
        &[
            ("provider", "hubspot"),
            ("url", &url(port, "/")),
            ("secret", "s"),
            ("object", "companies"),
            ("id", "2"),
            ("op", "delete"),
        ],
    );
    assert_eq!(resp.json_body()["status"], 200);
    let second: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!(second[0]["subscriptionType"], "company.deletion");
    assert!(second[0].get("propertyName").is_none());
    assert_ne!(second[0]["eventId"], e["eventId"]);

    let log = deliveries(&st, 2);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["provider"], "hubspot");
    assert_eq!(log[0]["url"], target);
    assert_eq!(log[0]["object"], "contacts");
    assert_eq!(log[0]["id"], "3");
    assert_eq!(log[0]["op"], "update");
    assert_eq!(log[0]["mode"], "good");
    assert_eq!(log[0]["status"], 401);
    assert_eq!(log[0]["automatic"], false);
    assert!(log[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Control requests are never counted: only the read of contact 3 is.
    assert_eq!(get(&st, "/_control/stats").json_body()["requests"], 1);
}

#[test]
fn stripe_event_carries_the_api_record_and_a_valid_stripe_signature() {
    let st = state();
    let customer = handle(&st, &FakeRequest::get("/v1/customers?limit=1").header("Authorization", "Bearer test-token"))
        .json_body()["data"][0]
        .clone();
    let id = customer["id"].as_str().expect("customer id").to_string();
    let (port, rx) = receiver(2, 200, "{\"received\":true}");
    let target = url(port, "/webhooks/stripe");
    let resp =
        control(&st, "webhook", &[("provider", "stripe"), ("url", &target), ("secret", "whsec_abc"), ("id", &id)]);
    assert_eq!(resp.json_body()["status"], 200);
    assert_eq!(resp.json_body()["body"], "{\"received\":true}");
    let got = next(&rx);
    let header = got.header("stripe-signature").expect("Stripe-Signature");
    let (t, v1) = header.strip_prefix("t=").and_then(|r| r.split_once(",v1=")).expect("t=..,v1=..");
    assert!(near(t.parse().expect("t"), now_s(), 5));
    assert_eq!(v1, hexs(&mac(b"whsec_abc", format!("{t}.{}", got.body).as_bytes())));
    let event: Value = serde_json::from_str(&got.body).expect("json");
    assert!(event["id"].as_str().is_some_and(|i| i.starts_with("evt_")));
    assert_eq!(event["object"], "event");
    assert_eq!(event["api_version"], "2024-06-20");
    assert_eq!(event["created"].as_u64().map(|c| c.to_string()), Some(t.to_string()));
    assert_eq!(event["type"], "customer.updated");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(event["request"], json!({ "id": null, "idempotency_key": null }));
    assert_eq!(event["data"]["object"], customer);
    assert!(got.header("user-agent").is_some_and(|ua| ua.starts_with("Stripe/")));

    // An unknown id is announced as deleted.
    let resp = control(
        &st,
        "webhook",
        &[
            ("provider", "stripe"),
            ("url", &target),
            ("secret", "k"),
            ("object", "products"),
            ("id", "prod_gone"),
            ("op", "create"),
        ],
    );
    assert_eq!(resp.status, 200);
    let event: Value = serde_json::from_str(&next(&rx).body).expect("json");
    assert_eq!(event["type"], "product.created");
    assert_eq!(event["data"]["object"], json!({ "id": "prod_gone", "object": "product", "deleted": true }));
}

#[test]
fn shopify_delivery_is_the_record_with_shopify_headers() {
    let st = state();
    let (port, rx) = receiver(2, 200, "");
    let target = url(port, "/webhooks/shop");
    let resp = control(
        &st,
        "webhook",
        &[
            ("provider", "shopify"),
            ("url", &target),
            ("secret", "shpss_x"),
            ("object", "customers"),
            ("id", "7000000001"),
        ],
    );
    assert_eq!(resp.json_body()["status"], 200, "{}", resp.json_body());
    let got = next(&rx);
    let expected = BASE64.encode(mac(b"shpss_x", got.body.as_bytes()));
    assert_eq!(got.header("x-shopify-hmac-sha256"), Some(expected.as_str()));
    assert_eq!(got.header("x-shopify-topic"), Some("customers/update"));
    assert_eq!(got.header("x-shopify-shop-domain"), Some("tether-test.myshopify.com"));
    assert_eq!(got.header("x-shopify-api-version"), Some("2024-01"));
    let webhook_id = got.header("x-shopify-webhook-id").expect("webhook id");
    assert_eq!((webhook_id.len(), webhook_id.matches('-').count()), (36, 4));
    assert!(got.header("x-shopify-event-id").is_some_and(|e| e.parse::<u64>().is_ok()));
    let triggered = got.header("x-shopify-triggered-at").expect("triggered at");
    let at = crate::shared::time::parse_iso_ms(triggered).expect("RFC 3339") as u64 / 1000;
    assert!(near(at, now_s(), 5), "{triggered}");
    let record = handle(
        &st,
        &FakeRequest::get("/admin/api/2024-01/customers/7000000001.json")
            .header("X-Shopify-Access-Token", "test-token"),
    )
    .json_body()["customer"]
        .clone();
    assert_eq!(serde_json::from_str::<Value>(&got.body).expect("json"), record);

    let resp = control(
        &st,
        "webhook",
        &[
            ("provider", "shopify"),
            ("url", &target),
            ("secret", "k"),
            ("object", "orders"),
            ("id", "42"),
            ("op", "delete"),
        ],
    );
    assert_eq!(resp.status, 200);
    let got = next(&rx);
    assert_eq!(got.body, "{\"id\":42}");
    assert_eq!(got.header("x-shopify-topic"), Some("orders/delete"));
}

#[test]
fn bigcommerce_delivery_follows_standard_webhooks() {
    let st = state();
    let (port, rx) = receiver(1, 204, "");
    let key = b"bigcommerce webhook key";
    let secret = format!("whsec_{}", BASE64.encode(key));
    let resp = control(
        &st,
        "webhook",
        &[("provider", "bigcommerce"), ("url", &url(port, "/wh")), ("secret", &secret), ("id", "12"), ("op", "create")],
    );
    assert_eq!(resp.json_body()["status"], 204, "{}", resp.json_body());
    assert_eq!(resp.json_body()["body"], "");
    let got = next(&rx);
    let id = got.header("webhook-id").expect("webhook-id");
    let ts = got.header("webhook-timestamp").expect("webhook-timestamp");
    assert!(id.starts_with("msg_"));
    assert!(near(ts.parse().expect("s"), now_s(), 5));
    let expected = format!("v1,{}", BASE64.encode(mac(key, format!("{id}.{ts}.{}", got.body).as_bytes())));
    assert_eq!(got.header("webhook-signature"), Some(expected.as_str()));
    let body: Value = serde_json::from_str(&got.body).expect("json");
    assert_eq!(body["created_at"].as_u64().map(|c| c.to_string()), Some(ts.to_string()));
    assert_eq!(body["store_id"], "1001");
    assert_eq!(body["producer"], "stores/abc123");
    assert_eq!(body["scope"], "store/customer/created");
    assert!(body["hash"].as_str().is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit())));
    assert_eq!(body["data"], json!({ "type": "customer", "id": 12 }));

    for bad in ["plain-secret", "whsec_", "whsec_not*base64"] {
        let resp = control(
            &st,
            "webhook",
            &[("provider", "bigcommerce"), ("url", &url(port, "/wh")), ("secret", bad), ("id", "12")],
        );
        assert_eq!(resp.status, 400, "{bad}");
        assert!(resp.json_body()["message"].as_str().is_some_and(|m| m.contains("whsec_<base64")), "{bad}");
    }
}

#[test]
fn rest_delivery_uses_tethers_generic_scheme_for_any_object() {
    let st = state();
    let (port, rx) = receiver(1, 200, "ok");
    let resp = control(
        &st,
        "webhook",
        &[
            ("provider", "rest"),
            ("url", &url(port, "/hook")),
            ("secret", "rest-secret"),
            ("object", "widgets"),
            ("id", "w-9"),
        ],
    );
    assert_eq!(resp.json_body()["status"], 200);
    let got = next(&rx);
    let ts = got.header("x-signature-timestamp").expect("timestamp");
    let expected = format!("sha256={}", hexs(&mac(b"rest-secret", format!("{ts}.{}", got.body).as_bytes())));
    assert_eq!(got.header("x-signature"), Some(expected.as_str()));
    let body: Value = serde_json::from_str(&got.body).expect("json");
    assert!(body["id"].as_str().is_some_and(|i| i.starts_with("evt_")));
    assert_eq!(body["type"], "widgets.updated");
    assert_eq!(body["object"], "widgets");
    assert_eq!(body["record_id"], "w-9");
    let at = crate::shared::time::parse_iso_ms(body["occurred_at"].as_str().unwrap_or("")).expect("RFC 3339") as u64;
    assert_eq!((at / 1000).to_string(), ts);
}

#[test]
fn broken_modes_break_exactly_what_they_say() {
    let st = state();
    let (port, rx) = receiver(8, 200, "");
    let target = url(port, "/hook");
    let send = |provider: &str, mode: &str, secret: Option<&str>| {
        let mut params = vec![("provider", provider), ("url", target.as_str()), ("id", "5"), ("mode", mode)];
        if let Some(s) = secret {
            params.push(("secret", s));
        }
        let resp = control(&st, "webhook", &params);
        assert_eq!(resp.status, 200, "{provider} {mode}: {}", resp.json_body());
        next(&rx)
    };
    let rest_ok = |got: &Captured, body: &str| {
        let ts = got.header("x-signature-timestamp").unwrap_or("");
        got.header("x-signature")
            == Some(format!("sha256={}", hexs(&mac(b"sek", format!("{ts}.{body}").as_bytes()))).as_str())
    };

    // missing: no secret needed, no signature, the timestamp is still there.
    let got = send("rest", "missing", None);
    assert!(got.header("x-signature").is_none());
    assert!(got.header("x-signature-timestamp").is_some());

    // bad: a signature, not with the secret.
    let got = send("rest", "bad", Some("sek"));
    assert!(got.header("x-signature").is_some_and(|s| s.starts_with("sha256=")));
    assert!(!rest_ok(&got, &got.body));

    // stale: ten minutes old, correctly signed for that time.
    let got = send("rest", "stale", Some("sek"));
    let ts: u64 = got.header("x-signature-timestamp").and_then(|t| t.parse().ok()).expect("ts");
    assert!(near(ts, now_s() - 600, 5), "{ts}");
    assert!(rest_ok(&got, &got.body));

    // tampered: signed for the body before the change; still JSON.
    let got = send("rest", "tampered", Some("sek"));
    assert!(!rest_ok(&got, &got.body));
    assert!(rest_ok(&got, &untampered(&got.body)));
    assert_eq!(serde_json::from_str::<Value>(&got.body).expect("json")["tampered"], true);

    // The same for the other schemes.
    let got = send("hubspot", "stale", Some("sek"));
    let ts: u64 = got.header("x-hubspot-request-timestamp").and_then(|t| t.parse().ok()).expect("ts");
    assert!(near(ts / 1000, now_s() - 600, 5));
    let v3 = BASE64.encode(mac(b"sek", format!("POST{target}{}{ts}", got.body).as_bytes()));
    assert_eq!(got.header("x-hubspot-signature-v3"), Some(v3.as_str()));
    assert_eq!(serde_json::from_str::<Value>(&got.body).expect("json")[0]["occurredAt"], ts);

    let got = send("hubspot", "missing", None);
    for h in ["x-hubspot-signature-v3", "x-hubspot-signature", "x-hubspot-signature-version"] {
        assert!(got.header(h).is_none(), "{h}");
    }

    let got = send("stripe", "tampered", Some("sek"));
    let header = got.header("stripe-signature").expect("signature");
    let (t, v1) = header.strip_prefix("t=").and_then(|r| r.split_once(",v1=")).expect("t=..,v1=..");
    assert_ne!(v1, hexs(&mac(b"sek", format!("{t}.{}", got.body).as_bytes())));
    assert_eq!(v1, hexs(&mac(b"sek", format!("{t}.{}", untampered(&got.body)).as_bytes())));

    let key = b"0123456789abcdef";
    let secret = format!("whsec_{}", BASE64.encode(key));
    let got = send("bigcommerce", "bad", Some(&secret));
    let (id, ts) = (got.header("webhook-id").unwrap_or(""), got.header("webhook-timestamp").unwrap_or(""));
    let good = format!("v1,{}", BASE64.encode(mac(key, format!("{id}.{ts}.{}", got.body).as_bytes())));
    assert!(got.header("webhook-signature").is_some_and(|s| s.starts_with("v1,") && s != good));
}

#[test]
fn bad_parameters_and_non_loopback_urls_are_refused() {
    let st = state();
    let ok_url = "http://127.0.0.1:9/x";
    let message = |params: &[(&str, &str)]| {
        let resp = control(&st, "webhook", params);
        assert_eq!(resp.status, 400, "{params:?}: {}", resp.json_body());
        resp.json_body()["message"].as_str().unwrap_or("").to_string()
    };
    let m = message(&[("provider", "mailchimp"), ("url", ok_url), ("secret", "s"), ("id", "1")]);
    assert_eq!(m, "provider must be one of hubspot, stripe, shopify, bigcommerce, rest, got 'mailchimp'");
    assert!(message(&[("url", ok_url), ("secret", "s"), ("id", "1")]).starts_with("provider is required"));
    let m = message(&[("provider", "hubspot"), ("url", ok_url), ("secret", "s"), ("id", "1"), ("op", "upsert")]);
    assert_eq!(m, "op must be create, update or delete, got 'upsert'");
    let m = message(&[("provider", "hubspot"), ("url", ok_url), ("secret", "s"), ("id", "1"), ("mode", "evil")]);
    assert_eq!(m, "mode must be good, bad, missing, stale or tampered, got 'evil'");
    assert!(message(&[("provider", "hubspot"), ("url", ok_url), ("id", "1")]).starts_with("secret is required"));
    assert_eq!(message(&[("provider", "rest"), ("url", ok_url), ("secret", "s")]), "id is required");
    let m = message(&[("provider", "hubspot"), ("url", ok_url), ("secret", "s"), ("id", "abc")]);
    assert_eq!(m, "id must be a number for hubspot, got 'abc'");
    let m = message(&[("provider", "stripe"), ("url", ok_url), ("secret", "s"), ("id", "x"), ("object", "charges")]);
    assert_eq!(m, "object must be one of customers, products, prices, invoices for stripe, got 'charges'");
    assert!(message(&[("provider", "rest"), ("url", ok_url), ("secret", "s"), ("id", "1"), ("object", "a b")])
        .contains("for rest"));
    assert!(message(&[("provider", "hubspot"), ("secret", "s"), ("id", "1")]).starts_with("url is required"));
    for url in [
        "http://10.0.0.1:80/x",
        "http://example.com:80/x",
        "http://127.0.0.2:80/x",
        "http://[::1]:80/x",
        "http://user@127.0.0.1:80/x",
        "https://127.0.0.1:443/x",
        "http://127.0.0.1/x",
        "http://127.0.0.1:0/x",
        "http://127.0.0.1:99999/x",
        "http://127.0.0.1:80/a b",
        "127.0.0.1:80/x",
    ] {
        let m = message(&[("provider", "rest"), ("url", url), ("secret", "s"), ("id", "1")]);
        assert!(m.starts_with("url must be http://127.0.0.1:PORT/path or http://localhost:PORT/path"), "{url}: {m}");
    }
    let resp =
        control(&st, "webhook_subscribe", &[("provider", "rest"), ("url", "http://10.1.1.1:80/"), ("secret", "s")]);
    assert_eq!(resp.status, 400);
    let resp = control(&st, "webhook_subscribe", &[("provider", "rest"), ("url", ok_url), ("mode", "loud")]);
    assert_eq!(resp.status, 400);
    let resp = control(&st, "webhook_subscribe", &[("provider", "rest"), ("off", "maybe")]);
    assert_eq!(resp.json_body()["message"], "off must be true or false");
    assert!(get(&st, "/_control/webhook_deliveries").json_body()["deliveries"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn localhost_urls_and_url_without_path_are_accepted() {
    let st = state();
    let (port, rx) = receiver(2, 200, "");
    for (target, path) in [(format!("http://localhost:{port}"), "/"), (format!("http://LOCALHOST:{port}?a=1"), "/?a=1")]
    {
        let resp = control(&st, "webhook", &[("provider", "rest"), ("url", &target), ("secret", "s"), ("id", "1")]);
        assert_eq!(resp.json_body()["status"], 200, "{target}");
        let got = next(&rx);
        assert_eq!(got.target, path);
        assert_eq!(
            got.header("host"),
            target.strip_prefix("http://").map(|h| h.split(['/', '?']).next().unwrap_or(""))
        );
    }
}

#[test]
fn an_unreachable_receiver_is_a_502_with_what_would_have_been_sent() {
    let st = state();
    let port = TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("addr").port();
    let resp =
        control(&st, "webhook", &[("provider", "rest"), ("url", &url(port, "/x")), ("secret", "s"), ("id", "1")]);
    assert_eq!(resp.status, 502);
    let body = resp.json_body();
    assert!(body["message"].as_str().is_some_and(|m| m.contains("cannot connect")), "{body}");
    assert!(body["sent"]["body"].as_str().is_some_and(|b| b.contains("\"record_id\":\"1\"")));
    let log = deliveries(&st, 1);
    assert_eq!(log[0]["status"], Value::Null);
    assert!(log[0]["error"].as_str().is_some_and(|e| e.contains("cannot connect")));
}
