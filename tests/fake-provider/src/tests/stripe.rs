//! Tests of the fake Stripe provider.

use super::*;

const FORM: &str = "application/x-www-form-urlencoded";

fn sget(st: &State, url: &str) -> FakeResponse {
    handle(st, &FakeRequest::get(url).header("Authorization", "Bearer test-token"))
}

fn spost(st: &State, url: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", FORM)
            .body(body),
    )
}

fn sdelete(st: &State, url: &str) -> FakeResponse {
    handle(st, &FakeRequest::new("DELETE", url).header("Authorization", "Bearer test-token"))
}

fn idem_post(st: &State, url: &str, key: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", FORM)
            .header("Idempotency-Key", key)
            .body(body),
    )
}

fn sids(body: &Value) -> Vec<String> {
    body["data"].as_array().into_iter().flatten().map(|r| r["id"].as_str().unwrap_or("").to_string()).collect()
}

fn err_body(code: &str, message: &str, param: &str) -> Value {
    json!({ "error": {
        "code": code,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
        "message": message,
        "param": param,
        "type": "invalid_request_error"
    }})
}

fn assert_err(resp: &FakeResponse, status: u16, expected: Value) {
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json_body(), expected);
    assert!(resp.header("request-id").is_some_and(|r| r.starts_with("req_") && r.len() == 18));
}

/// Walks a list with `starting_after` and returns every id in order.
fn walk(st: &State, base: &str, limit: usize) -> Vec<String> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{sep}limit={limit}");
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let resp = sget(st, &url);
        assert_eq!(resp.status, 200, "{url}: {}", String::from_utf8_lossy(&resp.body));
        let body = resp.json_body();
        let page = sids(&body);
        assert!(page.len() <= limit);
        let more = body["has_more"] == true;
        assert_eq!(body["object"], "list");
        let last = page.last().cloned();
        seen.extend(page);
        match (more, last) {
            (true, Some(last)) => url = format!("{base}{sep}limit={limit}&starting_after={last}"),
            _ => return seen,
        }
    }
    panic!("runaway pagination");
}

#[test]
fn auth_errors() {
    let st = state();
    let resp = handle(&st, &FakeRequest::get("/v1/customers"));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("www-authenticate"), Some("Basic realm=\"Stripe\""));
    assert_eq!(
        resp.json_body(),
        json!({ "error": {
            "message": "You did not provide an API key. You need to provide your API key in the Authorization header, \
                        using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
                        https://stripe.com/docs/api#authentication for details, or we can help at \
                        https://support.stripe.com/.",
            "type": "invalid_request_error"
        }})
    );
    let resp = handle(&st, &FakeRequest::get("/v1/customers").header("Authorization", "Bearer sk_test_wrongkey1234"));
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json_body(),
        json!({ "error": { "message": "Invalid API Key provided: sk_test_********1234", "type": "invalid_request_error" }})
    );
    let resp = handle(&st, &FakeRequest::get("/v1/customers").header("Authorization", "Bearer nope-token"));
    assert_eq!(resp.json_body()["error"]["message"], "Invalid API Key provided: ******oken");
    // HTTP Basic with the key as user and an empty password.
    let basic = format!("Basic {}", base64_encode(b"test-token:"));
    assert_eq!(handle(&st, &FakeRequest::get("/v1/customers").header("Authorization", &basic)).status, 200);
    let basic = format!("Basic {}", base64_encode(b"other:"));
    assert_eq!(handle(&st, &FakeRequest::get("/v1/customers").header("Authorization", &basic)).status, 401);
}

#[test]
fn unknown_url_is_stripe_404() {
    let st = state();
    let resp = sget(&st, "/v1/charges");
    assert_eq!(resp.status, 404);
    assert_eq!(
        resp.json_body(),
        json!({ "error": {
            "message": "Unrecognized request URL (GET: /v1/charges). Please see https://stripe.com/docs or we can \
                        help at https://support.stripe.com/.",
            "type": "invalid_request_error"
        }})
    );
    let msg = sget(&st, "/v1/customers/").json_body()["error"]["message"].as_str().unwrap_or("").to_string();
    assert!(msg.contains("remove the trailing slash"), "{msg}");
    assert_eq!(sdelete(&st, "/v1/prices/price_x").status, 404);
}

#[test]
fn list_shape_and_default_limit() {
    let st = state();
    let resp = sget(&st, "/v1/customers");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    // Pretty-printed with two spaces, like Stripe.
    assert!(resp.body.starts_with(b"{\n  \""));
    let body = resp.json_body();
    assert_eq!(keys(&body), set(&["data", "has_more", "object", "url"]));
    assert_eq!(body["url"], "/v1/customers");
    assert_eq!(body["has_more"], true);
    assert_eq!(sids(&body).len(), 10);
    let c = &body["data"][0];
    assert_eq!(
        keys(c),
        set(&[
            "id",
            "object",
            "address",
            "balance",
            "created",
            "currency",
            "default_source",
            "delinquent",
            "description",
            "discount",
            "email",
            "invoice_prefix",
            "invoice_settings",
            "livemode",
            "metadata",
            "name",
            "next_invoice_sequence",
            "phone",
            "preferred_locales",
            "shipping",
            "tax_exempt",
            "test_clock"
        ])
    );
    assert_eq!(c["object"], "customer");
    let id = c["id"].as_str().unwrap_or("");
    assert!(id.starts_with("cus_") && id.len() == 18 && id[4..].bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    // Deterministic: a second state has the same data.
    assert_eq!(sget(&state(), "/v1/customers").json_body(), body);
}

#[test]
fn pagination_covers_every_record_once_for_every_resource() {
    let st = state();
    for (base, total) in [("/v1/customers", 250), ("/v1/products", 40), ("/v1/prices", 60), ("/v1/invoices", 80)] {
        let all = walk(&st, base, 100);
        assert_eq!(all.len(), total, "{base}");
        let unique: BTreeSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), total, "{base}");
        // Newest first: created descending, then id descending.
        let full = sget(&st, &format!("{base}?limit=100")).json_body();
        let rows = full["data"].as_array().cloned().unwrap_or_default();
        for w in rows.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            let ka = (a["created"].as_i64().unwrap_or(0), a["id"].as_str().unwrap_or(""));
            let kb = (b["created"].as_i64().unwrap_or(0), b["id"].as_str().unwrap_or(""));
            assert!(ka > kb, "{base}: {ka:?} before {kb:?}");
        }
        for limit in [1, 7, 10, 33] {
            assert_eq!(walk(&st, base, limit), all, "{base} limit {limit}");
        }
        // Backwards with ending_before from the last record.
        let mut back: Vec<String> = Vec::new();
        let mut anchor = all.last().cloned().unwrap_or_default();
        back.push(anchor.clone());
        loop {
            let body = sget(&st, &format!("{base}?limit=9&ending_before={anchor}")).json_body();
            let page = sids(&body);
            for id in page.iter().rev() {
                back.push(id.clone());
            }
            match (body["has_more"] == true, page.first()) {
                (true, Some(first)) => anchor = first.clone(),
                _ => break,
            }
        }
        back.reverse();
        assert_eq!(back, all, "{base} backwards");
    }
}

#[test]
fn same_created_second_is_ordered_by_id() {
    let st = state();
    let body = sget(&st, "/v1/customers?limit=100").json_body();
    let rows = body["data"].as_array().cloned().unwrap_or_default();
    let ties = rows.windows(2).filter(|w| w[0]["created"] == w[1]["created"]).count();
    assert!(ties > 10, "seed data has customers created in the same second");
}

#[test]
fn limit_and_cursor_validation() {
    let st = state();
    assert_err(
        &sget(&st, "/v1/customers?limit=0"),
        400,
        err_body("parameter_invalid_integer", "This value must be greater than or equal to 1.", "limit"),
    );
    assert_err(
        &sget(&st, "/v1/products?limit=101"),
        400,
        err_body("parameter_invalid_integer", "This value must be less than or equal to 100.", "limit"),
    );
    assert_err(
        &sget(&st, "/v1/prices?limit=abc"),
        400,
        err_body("parameter_invalid_integer", "Invalid integer: abc", "limit"),
    );
    assert_eq!(sget(&st, "/v1/customers?limit=100").status, 200);
    assert_err(
        &sget(&st, "/v1/customers?starting_after=cus_x"),
        400,
        err_body("resource_missing", "No such customer: 'cus_x'", "starting_after"),
    );
    assert_err(
        &sget(&st, "/v1/invoices?ending_before=in_nope"),
        400,
        err_body("resource_missing", "No such invoice: 'in_nope'", "ending_before"),
    );
    assert_err(
        &sget(&st, "/v1/customers?foo=1"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: foo", "foo"),
    );
    assert_err(
        &sget(&st, "/v1/customers?created[between]=1"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: created[between]", "created[between]"),
    );
    assert_err(
        &sget(&st, "/v1/customers?created%5Bgt%5D=soon"),
        400,
        err_body("parameter_invalid_integer", "Invalid integer: soon", "created[gt]"),
    );
}

#[test]
fn created_filters() {
    let st = state();
    let all = sget(&st, "/v1/customers?limit=100").json_body();
    let rows = all["data"].as_array().cloned().unwrap_or_default();
    let t = rows[50]["created"].as_i64().unwrap_or(0);
    let count = |url: &str| -> Vec<i64> {
        let mut out = Vec::new();
        let body = sget(&st, url).json_body();
        for r in body["data"].as_array().into_iter().flatten() {
            out.push(r["created"].as_i64().unwrap_or(0));
        }
        out
    };
    let exact = count(&format!("/v1/customers?limit=100&created={t}"));
    assert!(!exact.is_empty() && exact.iter().all(|c| *c == t));
    assert!(count(&format!("/v1/customers?limit=100&created[gt]={t}")).iter().all(|c| *c > t));
    assert!(count(&format!("/v1/customers?limit=100&created[gte]={t}")).iter().all(|c| *c >= t));
    let lt = count(&format!("/v1/customers?limit=100&created[lt]={t}"));
    assert!(!lt.is_empty() && lt.iter().all(|c| *c < t));
    let between = count(&format!("/v1/customers?limit=100&created[gte]={t}&created[lte]={}", t + 3_600));
    assert!(between.iter().all(|c| *c >= t && *c <= t + 3_600));
    assert!(between.len() >= 3, "{between:?}");
    // The range is applied before paging: walking a filtered list stays inside it.
    let walked = walk(&st, &format!("/v1/customers?created[lte]={t}"), 25);
    let direct: Vec<i64> = rows.iter().map(|r| r["created"].as_i64().unwrap_or(0)).filter(|c| *c <= t).collect();
    assert!(walked.len() >= direct.len());
}

#[test]
fn resource_filters() {
    let st = state();
    // email: exact and case-sensitive.
    let body = sget(&st, "/v1/customers?email=customer1@example.com").json_body();
    assert_eq!(sids(&body).len(), 1);
    assert_eq!(body["data"][0]["email"], "customer1@example.com");
    assert_eq!(sids(&sget(&st, "/v1/customers?email=CUSTOMER1@example.com").json_body()).len(), 0);
    assert_eq!(sids(&sget(&st, "/v1/customers?email=customer1@example").json_body()).len(), 0);
    // products: active.
    let all = walk(&st, "/v1/products", 100);
    let active = walk(&st, "/v1/products?active=true", 100);
    let inactive = walk(&st, "/v1/products?active=false", 100);
    assert_eq!(active.len() + inactive.len(), all.len());
    assert!(!inactive.is_empty() && !active.is_empty());
    for r in sget(&st, "/v1/products?active=false&limit=100").json_body()["data"].as_array().into_iter().flatten() {
        assert_eq!(r["active"], false);
    }
    assert_err(&sget(&st, "/v1/products?active=maybe"), 400, {
        json!({ "error": { "message": "Invalid boolean: maybe", "param": "active", "type": "invalid_request_error" }})
    });
    // prices: product and active.
    let product = sget(&st, "/v1/prices?limit=1").json_body()["data"][0]["product"].as_str().unwrap_or("").to_string();
    let body = sget(&st, &format!("/v1/prices?limit=100&product={product}")).json_body();
    assert!(sids(&body).len() >= 2);
    assert!(body["data"].as_array().into_iter().flatten().all(|p| p["product"] == product.as_str()));
    let body = sget(&st, "/v1/prices?limit=100&active=false").json_body();
    assert!(!sids(&body).is_empty());
    assert!(body["data"].as_array().into_iter().flatten().all(|p| p["active"] == false));
    let p = &sget(&st, "/v1/prices?limit=1&type=recurring").json_body()["data"][0];
    assert_eq!(p["recurring"]["interval_count"], 1);
    assert!(p["unit_amount"].is_i64());
    // invoices: customer and status.
    let inv = sget(&st, "/v1/invoices?limit=1").json_body()["data"][0].clone();
    let cust = inv["customer"].as_str().unwrap_or("");
    let body = sget(&st, &format!("/v1/invoices?limit=100&customer={cust}")).json_body();
    assert!(!sids(&body).is_empty());
    assert!(body["data"].as_array().into_iter().flatten().all(|i| i["customer"] == cust));
    for status in ["draft", "open", "paid", "void"] {
        let body = sget(&st, &format!("/v1/invoices?limit=100&status={status}")).json_body();
        assert!(!sids(&body).is_empty(), "{status}");
        for i in body["data"].as_array().into_iter().flatten() {
            assert_eq!(i["status"], status);
            assert_eq!(i["number"].is_null(), status == "draft");
            if status == "paid" {
                assert_eq!(i["amount_paid"], i["amount_due"]);
            }
        }
    }
    assert_err(&sget(&st, "/v1/invoices?status=late"), 400, {
        json!({ "error": {
            "message": "Invalid status: must be one of draft, open, paid, uncollectible, or void",
            "param": "status",
            "type": "invalid_request_error"
        }})
    });
}

#[test]
fn retrieve_and_missing() {
    let st = state();
    let first = sget(&st, "/v1/customers?limit=1").json_body()["data"][0].clone();
    let id = first["id"].as_str().unwrap_or("");
    assert_eq!(sget(&st, &format!("/v1/customers/{id}")).json_body(), first);
    assert_err(&sget(&st, "/v1/customers/cus_x"), 404, err_body("resource_missing", "No such customer: 'cus_x'", "id"));
    assert_err(&sget(&st, "/v1/products/prod_x"), 404, err_body("resource_missing", "No such product: 'prod_x'", "id"));
    let price = sget(&st, "/v1/prices?limit=1").json_body()["data"][0].clone();
    assert_eq!(sget(&st, &format!("/v1/prices/{}", price["id"].as_str().unwrap_or(""))).json_body(), price);
    assert_eq!(sget(&st, "/v1/invoices/in_missing").status, 404);
}

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

// ---------------------------------------------------------------- conformance to Stripe's published spec

/// The top-level parameters of POST /v1/customers that the fake listed by hand before it read the spec.
const PREVIOUS_CUSTOMER_CREATE: &[&str] = &[
    "address",
    "balance",
    "cash_balance",
    "coupon",
    "description",
    "email",
    "expand",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "payment_method",
    "phone",
    "preferred_locales",
    "promotion_code",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
    "tax_id_data",
    "test_clock",
];
/// The same for POST /v1/customers/{customer}.
const PREVIOUS_CUSTOMER_UPDATE: &[&str] = &[
    "address",
    "balance",
    "bank_account",
    "card",
    "cash_balance",
    "coupon",
    "default_alipay_account",
    "default_bank_account",
    "default_card",
    "default_source",
    "description",
    "email",
    "expand",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "promotion_code",
    "shipping",
    "source",
    "tax",
    "tax_exempt",
];
/// The same for GET /v1/customers (the common list parameters plus `email` and `test_clock`).
const PREVIOUS_CUSTOMER_LIST: &[&str] =
    &["created", "ending_before", "expand", "limit", "starting_after", "email", "test_clock"];

/// `{"error": ...}` without a code, as Stripe answers type and enum errors.
fn plain_err(message: &str, param: &str) -> Value {
    json!({ "error": { "message": message, "param": param, "type": "invalid_request_error" } })
}

#[test]
fn spec_loads_with_the_customers_operations() {
    assert_eq!(crate::stripe_spec::loaded(), Ok(5));
    for (method, path) in [
        ("GET", "/v1/customers"),
        ("POST", "/v1/customers"),
        ("GET", "/v1/customers/{customer}"),
        ("POST", "/v1/customers/{customer}"),
        ("DELETE", "/v1/customers/{customer}"),
    ] {
        assert!(crate::stripe_spec::parameter_names(method, path).is_some(), "{method} {path}");
    }
    assert_eq!(crate::stripe_spec::parameter_names("DELETE", "/v1/customers/{customer}"), Some(vec![]));
    assert_eq!(crate::stripe_spec::parameter_names("GET", "/v1/customers/{customer}"), Some(vec!["expand".into()]));
    assert_eq!(crate::stripe_spec::parameter_names("GET", "/v1/products"), None);
}

#[test]
fn spec_names_include_the_previous_hand_written_lists() {
    for (method, path, previous) in [
        ("POST", "/v1/customers", PREVIOUS_CUSTOMER_CREATE),
        ("POST", "/v1/customers/{customer}", PREVIOUS_CUSTOMER_UPDATE),
        ("GET", "/v1/customers", PREVIOUS_CUSTOMER_LIST),
    ] {
        let names = crate::stripe_spec::parameter_names(method, path).unwrap_or_default();
        let missing: Vec<&&str> = previous.iter().filter(|n| !names.iter().any(|s| s == **n)).collect();
        assert!(missing.is_empty(), "{method} {path}: the spec lacks {missing:?}");
    }
}

#[test]
fn conforming_customer_create_passes() {
    let st = state();
    let body = "email=spec%40example.com&name=Spec+Conform&phone=%2B4722334455&description=From+the+spec\
                &balance=1200&metadata[tier]=gold&preferred_locales[0]=nb&address[line1]=Karl+Johans+gate+1\
                &address[city]=Oslo&tax_exempt=exempt";
    let resp = spost(&st, "/v1/customers", body);
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let c = resp.json_body();
    assert_eq!(c["email"], "spec@example.com");
    assert_eq!(c["name"], "Spec Conform");
    assert_eq!(c["phone"], "+4722334455");
    assert_eq!(c["description"], "From the spec");
    assert_eq!(c["balance"], 1200);
    assert_eq!(c["metadata"], json!({ "tier": "gold" }));
    assert_eq!(c["preferred_locales"], json!(["nb"]));
    assert_eq!(c["address"]["line1"], "Karl Johans gate 1");
    assert_eq!(c["address"]["city"], "Oslo");
    assert_eq!(c["tax_exempt"], "exempt");
    // Parameters the spec knows but the fake does not model are accepted (and ignored).
    let resp = spost(
        &st,
        "/v1/customers",
        "shipping[name]=Ada&shipping[address][city]=Oslo&invoice_settings[custom_fields][0][name]=PO\
         &invoice_settings[custom_fields][0][value]=42&tax_id_data[0][type]=no_vat&tax_id_data[0][value]=1\
         &cash_balance[settings][reconciliation_mode]=manual&next_invoice_sequence=7&expand[]=tax",
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    // Exactly at maxLength is fine.
    assert_eq!(spost(&st, "/v1/customers", &format!("phone={}", "1".repeat(20))).status, 200);
}

#[test]
fn empty_values_unset_where_the_spec_allows_it() {
    let st = state();
    let resp = spost(&st, "/v1/customers", "metadata=&address=&tax_exempt=&shipping=&invoice_settings[custom_fields]=");
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let c = resp.json_body();
    assert_eq!(c["metadata"], json!({}));
    assert_eq!(c["address"], Value::Null);
    assert_eq!(c["tax_exempt"], "none");
    let id = c["id"].as_str().unwrap_or("").to_string();
    let u = spost(&st, &format!("/v1/customers/{id}"), "metadata[a]=1&address[city]=Oslo").json_body();
    assert_eq!(u["address"]["city"], "Oslo");
    let resp = spost(&st, &format!("/v1/customers/{id}"), "metadata=&address=&preferred_locales=");
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json_body()["metadata"], json!({}));
    assert_eq!(resp.json_body()["address"], Value::Null);
    // An integer cannot be unset: Stripe's parameter_invalid_empty.
    assert_err(
        &spost(&st, &format!("/v1/customers/{id}"), "balance="),
        400,
        err_body(
            "parameter_invalid_empty",
            "You passed an empty string for 'balance'. We assume empty values are an attempt to unset a parameter; \
             however 'balance' cannot be unset. You should remove 'balance' from your request or supply a non-empty \
             value.",
            "balance",
        ),
    );
}

#[test]
fn nonconforming_customer_writes_are_refused() {
    let st = state();
    let id = sids(&sget(&st, "/v1/customers?limit=1").json_body())[0].clone();
    let update = format!("/v1/customers/{id}");
    for url in ["/v1/customers", update.as_str()] {
        // Unknown names, at the top and nested.
        assert_err(
            &spost(&st, url, "email=a%40example.com&nickname=Ada"),
            400,
            err_body("parameter_unknown", "Received unknown parameter: nickname", "nickname"),
        );
        assert_err(
            &spost(&st, url, "address[city]=Oslo&address[foo]=bar"),
            400,
            err_body("parameter_unknown", "Received unknown parameter: address[foo]", "address[foo]"),
        );
        assert_err(
            &spost(&st, url, "preferred_locales[first]=fr"),
            400,
            err_body(
                "parameter_unknown",
                "Received unknown parameter: preferred_locales[first]",
                "preferred_locales[first]",
            ),
        );
        assert_err(
            &spost(&st, url, "email[primary]=a%40example.com"),
            400,
            err_body("parameter_unknown", "Received unknown parameter: email[primary]", "email[primary]"),
        );
        // Types.
        assert_err(
            &spost(&st, url, "balance=12.5"),
            400,
            err_body("parameter_invalid_integer", "Invalid integer: 12.5", "balance"),
        );
        assert_err(&spost(&st, url, "metadata=gold"), 400, plain_err("Invalid object", "metadata"));
        assert_err(&spost(&st, url, "preferred_locales=fr"), 400, plain_err("Invalid array", "preferred_locales"));
        // Enums.
        assert_err(
            &spost(&st, url, "tax_exempt=sometimes"),
            400,
            plain_err("Invalid tax_exempt: must be one of exempt, none, or reverse", "tax_exempt"),
        );
        assert_err(
            &spost(&st, url, "cash_balance[settings][reconciliation_mode]=later"),
            400,
            plain_err(
                "Invalid cash_balance[settings][reconciliation_mode]: must be one of automatic, manual, or \
                 merchant_default",
                "cash_balance[settings][reconciliation_mode]",
            ),
        );
        // maxLength (in characters), at the top and nested.
        assert_err(
            &spost(&st, url, &format!("phone={}", "123456789012345678901")),
            400,
            plain_err("Invalid string: 1234567890...2345678901; must be at most 20 characters", "phone"),
        );
        let long_name = format!("{}{}", "é".repeat(250), "abcdefg");
        assert_err(
            &spost(&st, url, &format!("name={long_name}")),
            400,
            plain_err("Invalid string: éééééééééé...éééabcdefg; must be at most 256 characters", "name"),
        );
        assert_eq!(spost(&st, url, &format!("name={}", "é".repeat(256))).status, 200, "256 characters fit");
        assert_err(
            &spost(&st, url, &format!("address[city]={}", "c".repeat(5001))),
            400,
            plain_err("Invalid string: cccccccccc...cccccccccc; must be at most 5000 characters", "address[city]"),
        );
        // Required keys inside an object.
        assert_err(
            &spost(&st, url, "invoice_settings[custom_fields][0][name]=PO"),
            400,
            err_body(
                "parameter_missing",
                "Missing required param: invoice_settings[custom_fields][0][value].",
                "invoice_settings[custom_fields][0][value]",
            ),
        );
        // Unknown names are reported before type errors.
        assert_err(
            &spost(&st, url, "balance=lots&zzz=1"),
            400,
            err_body("parameter_unknown", "Received unknown parameter: zzz", "zzz"),
        );
    }
    // Update-only and create-only names.
    assert_err(
        &spost(&st, "/v1/customers", "default_source=card_1"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: default_source", "default_source"),
    );
    assert_eq!(spost(&st, &update, "default_source=card_1").status, 200);
    // Only the 256-character name created a customer: nothing refused was applied.
    assert_eq!(walk(&st, "/v1/customers", 100).len(), 251);
    assert_eq!(sget(&st, &update).json_body()["name"], "é".repeat(256));
}

#[test]
fn customer_query_parameters_follow_the_spec() {
    let st = state();
    let ids = sids(&sget(&st, "/v1/customers?limit=3").json_body());
    let resp = sget(
        &st,
        &format!("/v1/customers?limit=5&starting_after={}&email=customer3%40example.com&created[gt]=0", ids[0]),
    );
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(sids(&resp.json_body()).len(), 1);
    // deepObject: `created[gte]` and `expand[]`; `created` alone is an integer.
    assert_eq!(sget(&st, "/v1/customers?created[gte]=1&created[lt]=2000000000&expand[]=data.test_clock").status, 200);
    assert_eq!(sget(&st, "/v1/customers?created=1704067200&test_clock=clock_1").status, 200);
    assert_err(
        &sget(&st, "/v1/customers?sort=email"),
        400,
        err_body("parameter_unknown", "Received unknown parameter: sort", "sort"),
    );
    assert_err(
        &sget(&st, "/v1/customers?created=yesterday"),
        400,
        err_body("parameter_invalid_integer", "Invalid integer: yesterday", "created"),
    );
    assert_err(
        &sget(&st, "/v1/customers?limit=ten"),
        400,
        err_body("parameter_invalid_integer", "Invalid integer: ten", "limit"),
    );
    assert_err(
        &sget(&st, &format!("/v1/customers?email={}", "e".repeat(513))),
        400,
        plain_err("Invalid string: eeeeeeeeee...eeeeeeeeee; must be at most 512 characters", "email"),
    );
    // Retrieve takes only `expand`; delete takes nothing.
    assert_eq!(sget(&st, &format!("/v1/customers/{}?expand[0]=default_source", ids[1])).status, 200);
    assert_err(
        &sget(&st, &format!("/v1/customers/{}?limit=1", ids[1])),
        400,
        err_body("parameter_unknown", "Received unknown parameter: limit", "limit"),
    );
    assert_err(
        &sdelete(&st, &format!("/v1/customers/{}?expand[]=x", ids[1])),
        400,
        err_body("parameter_unknown", "Received unknown parameter: expand", "expand"),
    );
    assert_eq!(walk(&st, "/v1/customers", 100).len(), 250, "nothing deleted");
}
