//! Stripe reads: auth, unknown URLs, list shape and pagination, cursors, `created` and resource filters,
//! retrieval.

use super::*;

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
