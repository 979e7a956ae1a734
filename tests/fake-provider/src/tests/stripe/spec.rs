//! Conformance of customer requests to Stripe's published spec (`specs/stripe-customers.mock.json`).

use super::*;

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
    assert_eq!(crate::stripe::spec::loaded(), Ok(5));
    for (method, path) in [
        ("GET", "/v1/customers"),
        ("POST", "/v1/customers"),
        ("GET", "/v1/customers/{customer}"),
        ("POST", "/v1/customers/{customer}"),
        ("DELETE", "/v1/customers/{customer}"),
    ] {
        assert!(crate::stripe::spec::parameter_names(method, path).is_some(), "{method} {path}");
    }
    assert_eq!(crate::stripe::spec::parameter_names("DELETE", "/v1/customers/{customer}"), Some(vec![]));
    assert_eq!(crate::stripe::spec::parameter_names("GET", "/v1/customers/{customer}"), Some(vec!["expand".into()]));
    assert_eq!(crate::stripe::spec::parameter_names("GET", "/v1/products"), None);
}

#[test]
fn spec_names_include_the_previous_hand_written_lists() {
    for (method, path, previous) in [
        ("POST", "/v1/customers", PREVIOUS_CUSTOMER_CREATE),
        ("POST", "/v1/customers/{customer}", PREVIOUS_CUSTOMER_UPDATE),
        ("GET", "/v1/customers", PREVIOUS_CUSTOMER_LIST),
    ] {
        let names = crate::stripe::spec::parameter_names(method, path).unwrap_or_default();
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
