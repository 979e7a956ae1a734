//! Stripe writes: customers and products, unsetting, deletion, idempotency keys, request ids, injected errors
//! and reseeding.

use super::*;

#[test]
fn create_customer_form_encoded_with_nested_keys() {
    let st = state();
    let body = "email=new%40example.com&name=Jane+Doe&metadata[plan]=pro&metadata%5Bseats%5D=3\
                &address[city]=Paris&address[country]=FR&preferred_locales[]=fr&preferred_locales[]=en\
                &expand[0]=default_source&balance=-500";
    let resp = spost(&st, "/v1/customers", body);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let c = resp.json_body();
    let id = c["id"].as_str().unwrap_or("").to_string();
    assert!(id.starts_with("cus_") && id.len() == 18);
    assert_eq!(c["email"], "new@example.com");
    assert_eq!(c["name"], "Jane Doe");
    assert_eq!(c["metadata"], json!({ "plan": "pro", "seats": "3" }));
    assert_eq!(
        c["address"],
        json!({ "city": "Paris", "country": "FR", "line1": null, "line2": null, "postal_code": null, "state": null })
    );
    assert_eq!(c["preferred_locales"], json!(["fr", "en"]));
    assert_eq!(c["balance"], -500);
    assert_eq!(c["created"], 1_735_689_601);
    // Newest first: the new customer heads the list, and can be fetched.
    assert_eq!(sids(&sget(&st, "/v1/customers?limit=1").json_body()), vec![id.clone()]);
    assert_eq!(sget(&st, &format!("/v1/customers/{id}")).json_body(), c);
    // Indexed arrays keep their order.
    let c = spost(&st, "/v1/customers", "preferred_locales[1]=en&preferred_locales[0]=de").json_body();
    assert_eq!(c["preferred_locales"], json!(["de", "en"]));
    assert_eq!(c["email"], Value::Null);
    assert_eq!(c["created"], 1_735_689_602);
}

#[test]
fn json_body_is_refused() {
    let st = state();
    let req = FakeRequest::new("POST", "/v1/customers")
        .header("Authorization", "Bearer test-token")
        .header("Content-Type", "application/json")
        .body(r#"{"email":"a@b.co"}"#);
    let resp = handle(&st, &req);
    assert_err(
        &resp,
        400,
        json!({ "error": {
            "message": "Invalid request: unsupported Content-Type application/json. If error persists and you need \
                        assistance, please contact support@stripe.com.",
            "type": "invalid_request_error"
        }}),
    );
    assert_eq!(walk(&st, "/v1/customers", 100).len(), 250, "nothing created");
}

#[test]
fn customer_validation_errors() {
    let st = state();
    assert_err(
        &spost(&st, "/v1/customers", "foo=bar"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: foo", "foo"),
    );
    assert_err(
        &spost(&st, "/v1/customers", "address[planet]=Mars"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: address[planet]", "address[planet]"),
    );
    assert_err(
        &spost(&st, "/v1/customers", "email=x"),
        400,
        err_body("email_invalid", "Invalid email address: x", "email"),
    );
    assert_err(
        &spost(&st, "/v1/customers", "balance=lots"),
        400,
        err_body("parameter_invalid_integer", "Invalid integer: lots", "balance"),
    );
    let long_key = "k".repeat(41);
    assert_err(
        &spost(&st, "/v1/customers", &format!("metadata[{long_key}]=v")),
        400,
        json!({ "error": {
            "message": format!("Metadata keys can have up to 40 characters, but you passed in a key that is 41 \
                                characters. Invalid key: {long_key}"),
            "type": "invalid_request_error"
        }}),
    );
    let long_value = "v".repeat(501);
    assert_err(
        &spost(&st, "/v1/customers", &format!("metadata[k]={long_value}")),
        400,
        json!({ "error": {
            "message": format!("Metadata values can have up to 500 characters, but you passed in a value that is 501 \
                                characters. Invalid value: {long_value}"),
            "type": "invalid_request_error"
        }}),
    );
    let many: Vec<String> = (0..51).map(|i| format!("metadata[k{i}]=v")).collect();
    assert_err(
        &spost(&st, "/v1/customers", &many.join("&")),
        400,
        json!({ "error": {
            "message": "Metadata can have up to 50 keys, but you've set 51",
            "type": "invalid_request_error"
        }}),
    );
    // Exactly at the limits is fine.
    let fifty: Vec<String> = (0..50).map(|i| format!("metadata[k{i}]=v")).collect();
    assert_eq!(spost(&st, "/v1/customers", &fifty.join("&")).status, 200);
    assert_eq!(spost(&st, "/v1/customers", &format!("metadata[{}]={}", "k".repeat(40), "v".repeat(500))).status, 200);
    assert_eq!(walk(&st, "/v1/customers", 100).len(), 252);
}

#[test]
fn update_and_unset() {
    let st = state();
    let c = spost(&st, "/v1/customers", "email=a%40example.com&name=A&metadata[a]=1&metadata[b]=2&address[city]=Lyon")
        .json_body();
    let id = c["id"].as_str().unwrap_or("").to_string();
    let resp = spost(
        &st,
        &format!("/v1/customers/{id}"),
        "metadata[a]=&metadata[c]=3&email=&address[line1]=1+Rue&phone=%2B33",
    );
    assert_eq!(resp.status, 200);
    let u = resp.json_body();
    assert_eq!(u["metadata"], json!({ "b": "2", "c": "3" }));
    assert_eq!(u["email"], Value::Null);
    assert_eq!(u["name"], "A");
    assert_eq!(u["phone"], "+33");
    assert_eq!(u["address"]["city"], "Lyon");
    assert_eq!(u["address"]["line1"], "1 Rue");
    assert_eq!(u["created"], c["created"]);
    let u = spost(&st, &format!("/v1/customers/{id}"), "metadata=&address=").json_body();
    assert_eq!(u["metadata"], json!({}));
    assert_eq!(u["address"], Value::Null);
    assert_eq!(sget(&st, &format!("/v1/customers/{id}")).json_body(), u);
    // Same validation as create; nothing is applied on error.
    assert_err(
        &spost(&st, &format!("/v1/customers/{id}"), "name=B&email=bad"),
        400,
        err_body("email_invalid", "Invalid email address: bad", "email"),
    );
    assert_eq!(sget(&st, &format!("/v1/customers/{id}")).json_body()["name"], "A");
    assert_err(
        &spost(&st, &format!("/v1/customers/{id}"), "payment_method=pm_1"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: payment_method", "payment_method"),
    );
    assert_err(
        &spost(&st, "/v1/customers/cus_x", "name=B"),
        404,
        err_body("resource_missing", "No such customer: 'cus_x'", "id"),
    );
}

#[test]
fn delete_customer() {
    let st = state();
    let id = sids(&sget(&st, "/v1/customers?limit=3").json_body())[1].clone();
    let resp = sdelete(&st, &format!("/v1/customers/{id}"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json_body(), json!({ "id": id, "object": "customer", "deleted": true }));
    let all = walk(&st, "/v1/customers", 100);
    assert_eq!(all.len(), 249);
    assert!(!all.contains(&id));
    assert_eq!(
        sget(&st, &format!("/v1/customers/{id}")).json_body(),
        json!({ "id": id, "object": "customer", "deleted": true })
    );
    assert_err(
        &sdelete(&st, &format!("/v1/customers/{id}")),
        404,
        err_body("resource_missing", &format!("No such customer: '{id}'"), "id"),
    );
    assert_eq!(spost(&st, &format!("/v1/customers/{id}"), "name=x").status, 404);
    assert_eq!(sget(&st, &format!("/v1/customers?starting_after={id}")).status, 400);
}

#[test]
fn products_write() {
    let st = state();
    assert_err(
        &spost(&st, "/v1/products", "description=x"),
        400,
        err_body("parameter_missing", "Missing required param: name.", "name"),
    );
    assert_err(
        &spost(&st, "/v1/products", "name="),
        400,
        err_body(
            "parameter_invalid_empty",
            "You passed an empty string for 'name'. We assume empty values are an attempt to unset a parameter; \
             however 'name' cannot be unset. You should remove 'name' from your request or supply a non-empty value.",
            "name",
        ),
    );
    let p = spost(
        &st,
        "/v1/products",
        "name=Widget&active=false&metadata[color]=red&images[]=https%3A%2F%2Fx.test%2Fa.png",
    )
    .json_body();
    let id = p["id"].as_str().unwrap_or("").to_string();
    assert!(id.starts_with("prod_") && id.len() == 19, "{id}");
    assert_eq!(p["object"], "product");
    assert_eq!(p["name"], "Widget");
    assert_eq!(p["active"], false);
    assert_eq!(p["default_price"], Value::Null);
    assert_eq!(p["images"], json!(["https://x.test/a.png"]));
    assert_eq!(p["created"], p["updated"]);
    let u = spost(&st, &format!("/v1/products/{id}"), "name=Gadget&metadata[color]=&description=Shiny").json_body();
    assert_eq!(u["name"], "Gadget");
    assert_eq!(u["metadata"], json!({}));
    assert_eq!(u["description"], "Shiny");
    assert!(u["updated"].as_i64() > p["updated"].as_i64());
    assert_eq!(walk(&st, "/v1/products?active=false", 100).iter().filter(|i| **i == id).count(), 1);
    assert_eq!(
        sdelete(&st, &format!("/v1/products/{id}")).json_body(),
        json!({ "id": id, "object": "product", "deleted": true })
    );
    assert_eq!(sget(&st, &format!("/v1/products/{id}")).status, 404);
    // A product with prices cannot be deleted.
    let price = sget(&st, "/v1/prices?limit=1").json_body()["data"][0].clone();
    let product = price["product"].as_str().unwrap_or("");
    assert_err(
        &sdelete(&st, &format!("/v1/products/{product}")),
        400,
        json!({ "error": {
            "message": "This product cannot be deleted because it has one or more user-created prices.",
            "type": "invalid_request_error"
        }}),
    );
    // default_price must be one of the product's prices.
    let ok = spost(
        &st,
        &format!("/v1/products/{product}"),
        &format!("default_price={}", price["id"].as_str().unwrap_or("")),
    );
    assert_eq!(ok.status, 200);
    assert_err(
        &spost(&st, &format!("/v1/products/{product}"), "default_price=price_nope"),
        400,
        err_body("resource_missing", "No such price: 'price_nope'", "default_price"),
    );
    assert_eq!(walk(&st, "/v1/products", 100).len(), 40);
}

#[test]
fn idempotency_replay_mismatch_and_reset() {
    let st = state();
    let first = idem_post(&st, "/v1/customers", "key-1", "email=idem%40example.com");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(first.header("idempotency-key"), Some("key-1"));
    let replay = idem_post(&st, "/v1/customers", "key-1", "email=idem%40example.com");
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, first.body, "byte for byte");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("original-request"), first.header("request-id"));
    assert_ne!(replay.header("request-id"), first.header("request-id"));
    assert_eq!(walk(&st, "/v1/customers?email=idem@example.com", 10).len(), 1, "created once");
    // Same key, other parameters.
    assert_err(
        &idem_post(&st, "/v1/customers", "key-1", "email=other%40example.com"),
        400,
        json!({ "error": {
            "message": "Keys for idempotent requests can only be used with the same parameters they were first used \
                        with. Try using a key other than 'key-1' if you meant to execute a different request.",
            "type": "idempotency_error"
        }}),
    );
    // Same key, other endpoint.
    let other = idem_post(&st, "/v1/products", "key-1", "email=idem%40example.com");
    assert_eq!(other.status, 400);
    assert_eq!(other.json_body()["error"]["type"], "idempotency_error");
    // A rejected request (validation) is not saved: the key stays usable.
    assert_eq!(idem_post(&st, "/v1/customers", "key-2", "email=bad").status, 400);
    assert_eq!(idem_post(&st, "/v1/customers", "key-2", "email=good%40example.com").status, 200);
    // Key length.
    let long = "k".repeat(256);
    assert_err(
        &idem_post(&st, "/v1/customers", &long, "name=x"),
        400,
        json!({ "error": {
            "message": "Idempotent key length is 256, which is outside accepted lengths. Idempotent Keys must be \
                        1-255 characters long. If you're looking for a decent generator, try using a UUID defined by \
                        IETF RFC 4122.",
            "type": "invalid_request_error"
        }}),
    );
    assert_eq!(idem_post(&st, "/v1/customers", &"k".repeat(255), "name=x").status, 200);
    // Reset forgets the keys: the same key creates again.
    assert_eq!(get(&st, "/_control/reset").status, 200);
    let again = idem_post(&st, "/v1/customers", "key-1", "email=idem%40example.com");
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_ne!(again.json_body()["id"], first.json_body()["id"]);
    assert_eq!(walk(&st, "/v1/customers?email=idem@example.com", 10).len(), 2);
}

#[test]
fn request_ids_are_deterministic() {
    let st = state();
    let a: Vec<String> =
        (0..3).map(|_| sget(&st, "/v1/products?limit=1").header("request-id").unwrap_or("").to_string()).collect();
    assert_ne!(a[0], a[1]);
    get(&st, "/_control/reset");
    let b: Vec<String> =
        (0..3).map(|_| sget(&st, "/v1/products?limit=1").header("request-id").unwrap_or("").to_string()).collect();
    assert_eq!(a, b);
    let other = state();
    assert_eq!(sget(&other, "/v1/customers").header("request-id"), Some(a[0].as_str()));
}

#[test]
fn injected_errors_use_stripe_shapes() {
    let st = state();
    assert_eq!(get(&st, "/_control/inject?status=500&path_prefix=/v1/").status, 200);
    let resp = sget(&st, "/v1/customers");
    assert_eq!(resp.status, 500);
    assert_eq!(resp.json_body(), json!({ "error": { "message": "An unknown error occurred", "type": "api_error" } }));
    assert!(resp.header("request-id").is_some());
    assert_eq!(get(&st, "/_control/inject?status=429&retry_after=2&path_prefix=/v1/").status, 200);
    let resp = sget(&st, "/v1/customers");
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(
        resp.json_body(),
        json!({ "error": {
            "code": "rate_limit",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
            "message": "Request rate limit exceeded. You can learn more about rate limits here \
                        https://stripe.com/docs/rate-limits.",
            "type": "invalid_request_error"
        }})
    );
    assert_eq!(sget(&st, "/v1/customers").status, 200);
}

#[test]
fn reseed_by_name() {
    let st = state();
    assert_eq!(get(&st, "/_control/seed?object=stripe_customers&count=5").status, 200);
    assert_eq!(walk(&st, "/v1/customers", 2).len(), 5);
    assert_eq!(get(&st, "/_control/seed?object=stripe_invoices&count=3").status, 200);
    assert_eq!(walk(&st, "/v1/invoices", 100).len(), 3);
    assert_eq!(walk(&st, "/v1/products", 100).len(), 40);
    let seeded =
        State::new(Config { seeds: [("stripe_prices".to_string(), 7u64)].into_iter().collect(), ..Config::default() });
    assert_eq!(walk(&seeded, "/v1/prices", 100).len(), 7);
}
