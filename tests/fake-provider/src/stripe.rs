//! The fake Stripe API (`/v1/...`): customers and products (read and write), prices and invoices (read).
//!
//! Like the real API: a secret key as `Authorization: Bearer <key>` or as the HTTP Basic user; bodies are
//! `application/x-www-form-urlencoded` with bracketed nested keys (`metadata[tier]=gold`, `expand[]=x`,
//! `preferred_locales[0]=fr`) and an empty value unsets; lists are newest first with `limit`,
//! `starting_after`, `ending_before` and `created[gt|gte|lt|lte]`; errors are `{"error": {...}}`;
//! `Idempotency-Key` on POST replays the first answer; every answer carries a `Request-Id`. Bodies are
//! pretty-printed (two spaces), as Stripe sends them. Ids, timestamps and data are deterministic.
//!
//! Every request to `/v1/customers` and `/v1/customers/{customer}` is first checked against Stripe's published
//! OpenAPI description (`stripe_spec`, `specs/stripe-customers.mock.json`): unknown parameters, wrong types and
//! malformed nesting get Stripe's error before the endpoint runs. Products, prices and invoices, which that spec
//! does not cover, keep the hand-written parameter lists below.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::http::{base64_decode, parse_query, percent_decode, FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::{Config, State};
use crate::stripe_spec::{self, Violation};

pub const MODULE: ProviderModule =
    ProviderModule { name: "stripe", handles: |path| path.starts_with("/v1/"), handle, injected_error, seed, reset };

/// API version of the pruned published spec (`specs/PROVENANCE.md`).
const API_VERSION: &str = "2023-08-16";
/// 2024-01-01T00:00:00Z: the first seeded object's `created`.
const SEED_BASE: i64 = 1_704_067_200;
/// 2025-01-01T00:00:00Z: objects created through the API get `WRITE_BASE + n` (n counts writes).
const WRITE_BASE: i64 = 1_735_689_600;
const MAX_IDEMPOTENCY_KEY: usize = 255;
const METADATA_MAX_KEYS: usize = 50;
const METADATA_MAX_KEY: usize = 40;
const METADATA_MAX_VALUE: usize = 500;

const MISSING_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization \
header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";
const RATE_LIMITED: &str =
    "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.";

/// Top-level parameters each products endpoint accepts (from the published spec); anything else is
/// `parameter_unknown`. Customers are checked against the spec itself (`stripe_spec`).
const PRODUCT_CREATE: &[&str] = &[
    "active",
    "default_price_data",
    "description",
    "expand",
    "features",
    "id",
    "images",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
];
const PRODUCT_UPDATE: &[&str] = &[
    "active",
    "default_price",
    "description",
    "expand",
    "features",
    "images",
    "metadata",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
];
const PRODUCT_IGNORED: &[&str] = &["default_price_data", "features", "package_dimensions"];
const LIST_COMMON: &[&str] = &["created", "ending_before", "expand", "limit", "starting_after"];

// ------------------------------------------------------------------------------------------------ store

type Rec = Map<String, Value>;

/// The first answer to a POST carrying an `Idempotency-Key`.
#[derive(Debug, Clone)]
struct Saved {
    endpoint: String,
    params: String,
    status: u16,
    body: Vec<u8>,
    request_id: String,
}

#[derive(Debug)]
struct Store {
    /// Each table sorted newest first: `created` descending, then `id` descending (the list order).
    customers: Vec<Rec>,
    products: Vec<Rec>,
    prices: Vec<Rec>,
    invoices: Vec<Rec>,
    deleted_customers: HashSet<String>,
    idempotency: HashMap<String, Saved>,
    /// Numbers the `Request-Id`s (restarts on reset).
    requests: u64,
    /// Counts writes: the clock of API-created objects and the source of their ids (kept on reset).
    writes: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("stripe_customers", 250);
        let products = config.seed("stripe_products", 40);
        let prices = config.seed("stripe_prices", 60);
        let invoices = config.seed("stripe_invoices", 80);
        Store {
            customers: gen_customers(customers),
            products: gen_products(products, prices),
            prices: gen_prices(prices, products),
            invoices: gen_invoices(invoices, customers),
            deleted_customers: HashSet::new(),
            idempotency: HashMap::new(),
            requests: 0,
            writes: 0,
        }
    }

    fn request_id(&mut self) -> String {
        self.requests += 1;
        stripe_id("req_", 0x5245_5155, self.requests)
    }

    fn tick(&mut self) -> u64 {
        self.writes += 1;
        self.writes
    }
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut Store) -> R) -> R {
    state.with_store(Store::new, f)
}

fn seed(state: &State, name: &str, count: u64) -> bool {
    match name {
        "stripe_customers" => with_store(state, |s| {
            s.customers = gen_customers(count);
            s.deleted_customers.clear();
        }),
        "stripe_products" => with_store(state, |s| {
            let prices = s.prices.len() as u64;
            s.products = gen_products(count, prices);
        }),
        "stripe_prices" => with_store(state, |s| {
            let products = s.products.len() as u64;
            s.prices = gen_prices(count, products);
        }),
        "stripe_invoices" => with_store(state, |s| {
            let customers = s.customers.len() as u64;
            s.invoices = gen_invoices(count, customers);
        }),
        _ => return false,
    }
    true
}

fn reset(state: &State) {
    with_store(state, |s| {
        s.idempotency.clear();
        s.requests = 0;
    });
}

/// A record as the API returns it (`None` if unknown or deleted), for webhook payloads.
pub fn record(state: &State, object: &str, id: &str) -> Option<Value> {
    with_store(state, |s| {
        let table = match object {
            "customers" => &s.customers,
            "products" => &s.products,
            "prices" => &s.prices,
            "invoices" => &s.invoices,
            _ => return None,
        };
        table.iter().find(|r| rec_id(r) == id).map(|r| Value::Object(r.clone()))
    })
}

// ------------------------------------------------------------------------------------------------ seed data

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `prefix` + 14 alphanumerics, a pure function of (domain, n).
fn stripe_id(prefix: &str, domain: u64, n: u64) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(prefix.len() + 14);
    out.push_str(prefix);
    let mut x = splitmix64(domain.rotate_left(32) ^ n);
    for i in 0..14 {
        if i == 7 {
            x = splitmix64(x ^ n);
        }
        out.push(ALPHABET[(x % 62) as usize] as char);
        x /= 62;
    }
    out
}

const CUSTOMER_DOMAIN: u64 = 0x4355_5354;
const CUSTOMER_WRITE_DOMAIN: u64 = 0x4355_5357;
const PRODUCT_DOMAIN: u64 = 0x5052_4f44;
const PRODUCT_WRITE_DOMAIN: u64 = 0x5052_4f57;
const PRICE_DOMAIN: u64 = 0x5052_4943;
const INVOICE_DOMAIN: u64 = 0x494e_564f;

fn customer_id(i: u64) -> String {
    stripe_id("cus_", CUSTOMER_DOMAIN, i)
}

fn product_id(i: u64) -> String {
    stripe_id("prod_", PRODUCT_DOMAIN, i)
}

fn price_id(i: u64) -> String {
    stripe_id("price_", PRICE_DOMAIN, i)
}

/// 7 upper-case hex digits, like Stripe's `F79089B`.
fn invoice_prefix(domain: u64, i: u64) -> String {
    format!("{:07X}", splitmix64(domain ^ i.wrapping_mul(31)) & 0x0fff_ffff)
}

const FIRST: &[&str] = &["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"];
const LAST: &[&str] = &["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman"];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Paris", "FR", "75002", "Île-de-France"),
    ("Berlin", "DE", "10115", "Berlin"),
    ("San Francisco", "US", "94107", "CA"),
    ("Toronto", "CA", "M5V 2T6", "ON"),
    ("London", "GB", "EC1A 1BB", "London"),
];

fn pick<'a>(items: &[&'a str], i: u64) -> &'a str {
    items.get((i % items.len() as u64) as usize).copied().unwrap_or("")
}

fn customer_record(id: String, created: i64, prefix: String) -> Rec {
    let v = json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": null,
        "invoice_prefix": prefix,
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": {},
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Seeded customer `i` (0-based). Pairs share a `created` second, so the id breaks the tie.
fn gen_customer(i: u64) -> Rec {
    let n = i + 1;
    let created = SEED_BASE + (i / 2) as i64 * 3_600;
    let mut c = customer_record(customer_id(i), created, invoice_prefix(CUSTOMER_DOMAIN, i));
    let first = pick(FIRST, i);
    let last = pick(LAST, i / 3);
    let email = if n.is_multiple_of(13) {
        Value::Null
    } else if n.is_multiple_of(11) {
        json!(format!("{first}.{last}{n}@Example.com"))
    } else {
        json!(format!("customer{n}@example.com"))
    };
    c.insert("email".into(), email);
    if !n.is_multiple_of(17) {
        c.insert("name".into(), json!(format!("{first} {last}")));
    }
    if n.is_multiple_of(5) {
        c.insert("description".into(), json!(format!("Seed customer {n}")));
    }
    if n.is_multiple_of(3) {
        c.insert("phone".into(), json!(format!("+1555{:07}", 100_000 + n)));
    }
    if n.is_multiple_of(4) {
        let tier = if n.is_multiple_of(8) { "gold" } else { "silver" };
        c.insert("metadata".into(), json!({ "source": "seed", "tier": tier }));
    }
    if n.is_multiple_of(2) {
        let (city, country, postal, region) =
            CITIES.get((i / 2 % CITIES.len() as u64) as usize).copied().unwrap_or(CITIES[0]);
        c.insert(
            "address".into(),
            json!({
                "city": city,
                "country": country,
                "line1": format!("{} Market Street", 10 + n),
                "line2": if n.is_multiple_of(6) { json!(format!("Suite {}", n * 10)) } else { Value::Null },
                "postal_code": postal,
                "state": region
            }),
        );
    }
    if n.is_multiple_of(10) {
        c.insert("preferred_locales".into(), json!(["fr", "en"]));
    }
    c
}

fn gen_customers(count: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(gen_customer).collect();
    sort_newest_first(&mut v);
    v
}

fn product_record(id: String, name: &str, created: i64) -> Rec {
    let v = json!({
        "id": id,
        "object": "product",
        "active": true,
        "created": created,
        "default_price": null,
        "description": null,
        "features": [],
        "images": [],
        "livemode": false,
        "metadata": {},
        "name": name,
        "package_dimensions": null,
        "shippable": null,
        "statement_descriptor": null,
        "tax_code": null,
        "unit_label": null,
        "updated": created,
        "url": null
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

const PRODUCT_NAMES: &[&str] = &["Starter plan", "Pro plan", "Team seat", "T-shirt", "Mug", "Sticker pack", "Hoodie"];
/// Only the first `PRICED_PRODUCTS` products have prices (so the others can be deleted).
const PRICED_PRODUCTS: u64 = 30;

fn gen_product(i: u64, prices: u64) -> Rec {
    let n = i + 1;
    let created = SEED_BASE + (i / 2) as i64 * 86_400;
    let name = format!("{} {n}", pick(PRODUCT_NAMES, i));
    let mut p = product_record(product_id(i), &name, created);
    p.insert("updated".into(), json!(created + (n % 5) as i64 * 60));
    p.insert("active".into(), json!(!n.is_multiple_of(6)));
    if !n.is_multiple_of(3) {
        p.insert("description".into(), json!(format!("Description of {name}")));
    }
    if n.is_multiple_of(4) {
        p.insert("metadata".into(), json!({ "category": if n.is_multiple_of(8) { "apparel" } else { "software" } }));
    }
    if i < PRICED_PRODUCTS && i < prices {
        p.insert("default_price".into(), json!(price_id(i)));
    }
    p
}

fn gen_products(count: u64, prices: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(|i| gen_product(i, prices)).collect();
    sort_newest_first(&mut v);
    v
}

/// Price `j` belongs to product `j % min(products, 30)`.
fn gen_price(j: u64, products: u64) -> Rec {
    let n = j + 1;
    let priced = products.clamp(1, PRICED_PRODUCTS);
    let product = j % priced;
    let created = SEED_BASE + (j / 3) as i64 * 43_200 + 600;
    let currency = if n.is_multiple_of(4) { "eur" } else { "usd" };
    let amount = 500 + (j * 137 % 50) * 100;
    let recurring = if n.is_multiple_of(3) {
        Value::Null
    } else {
        json!({
            "aggregate_usage": null,
            "interval": if n % 3 == 1 { "month" } else { "year" },
            "interval_count": 1,
            "trial_period_days": null,
            "usage_type": "licensed"
        })
    };
    let kind = if recurring.is_null() { "one_time" } else { "recurring" };
    let v = json!({
        "id": price_id(j),
        "object": "price",
        "active": !n.is_multiple_of(9),
        "billing_scheme": "per_unit",
        "created": created,
        "currency": currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": null,
        "metadata": {},
        "nickname": null,
        "product": product_id(product),
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": kind,
        "unit_amount": amount,
        "unit_amount_decimal": amount.to_string()
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn gen_prices(count: u64, products: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(|j| gen_price(j, products)).collect();
    sort_newest_first(&mut v);
    v
}

const INVOICE_STATUSES: &[&str] = &["paid", "paid", "open", "draft", "paid", "void", "uncollectible", "paid"];

/// Invoice `k` belongs to customer `k * 7 % customers`.
fn gen_invoice(k: u64, customers: u64) -> Rec {
    let n = k + 1;
    let cust = if customers == 0 { k } else { k * 7 % customers };
    let status = pick(INVOICE_STATUSES, k);
    let created = SEED_BASE + 86_400 * 30 + (k / 2) as i64 * 7_200;
    let currency = if n.is_multiple_of(5) { "eur" } else { "usd" };
    let due = 1_000 + (k * 311 % 90) * 100;
    let paid = if status == "paid" { due } else { 0 };
    let remaining = if status == "open" || status == "uncollectible" { due } else { 0 };
    let number = if status == "draft" {
        Value::Null
    } else {
        json!(format!("{}-{:04}", invoice_prefix(CUSTOMER_DOMAIN, cust), 1 + k / 7))
    };
    let v = json!({
        "id": stripe_id("in_", INVOICE_DOMAIN, k),
        "object": "invoice",
        "amount_due": due,
        "amount_paid": paid,
        "amount_remaining": remaining,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer_id(cust),
        "livemode": false,
        "metadata": {},
        "number": number,
        "paid": status == "paid",
        "status": status,
        "subscription": null
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn gen_invoices(count: u64, customers: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(|k| gen_invoice(k, customers)).collect();
    sort_newest_first(&mut v);
    v
}

fn rec_id(r: &Rec) -> &str {
    r.get("id").and_then(Value::as_str).unwrap_or("")
}

fn rec_created(r: &Rec) -> i64 {
    r.get("created").and_then(Value::as_i64).unwrap_or(0)
}

/// The list order: `created` descending, then `id` descending.
fn newest_first(a: &Rec, b: &Rec) -> std::cmp::Ordering {
    rec_created(b).cmp(&rec_created(a)).then_with(|| rec_id(b).cmp(rec_id(a)))
}

fn sort_newest_first(v: &mut [Rec]) {
    v.sort_by(newest_first);
}

fn insert_sorted(v: &mut Vec<Rec>, rec: Rec) {
    let pos = v.partition_point(|r| newest_first(r, &rec) == std::cmp::Ordering::Less);
    v.insert(pos, rec);
}

// ------------------------------------------------------------------------------------------------ errors

/// An error answer: status and the `{"error": {...}}` body.
#[derive(Debug)]
struct ApiError {
    status: u16,
    body: Value,
}

fn api_error(status: u16, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> ApiError {
    let mut e = Map::new();
    if let Some(code) = code {
        e.insert("code".into(), json!(code));
        e.insert("doc_url".into(), json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))));
    }
    e.insert("message".into(), json!(message));
    if let Some(param) = param {
        e.insert("param".into(), json!(param));
    }
    e.insert("type".into(), json!(kind));
    ApiError { status, body: json!({ "error": e }) }
}

/// 400 `invalid_request_error` without a code.
fn invalid(message: &str, param: Option<&str>) -> ApiError {
    api_error(400, "invalid_request_error", None, message, param)
}

/// 400 `invalid_request_error` with a code.
fn coded(code: &str, message: &str, param: &str) -> ApiError {
    api_error(400, "invalid_request_error", Some(code), message, Some(param))
}

fn unknown_param(name: &str) -> ApiError {
    coded("parameter_unknown", &format!("Received unknown parameter: {name}"), name)
}

fn invalid_integer(value: &str, param: &str) -> ApiError {
    coded("parameter_invalid_integer", &format!("Invalid integer: {value}"), param)
}

/// `No such customer: 'cus_x'` (`resource_missing`).
fn no_such(status: u16, kind: &str, id: &str, param: &str) -> ApiError {
    api_error(
        status,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

fn cannot_unset(name: &str) -> ApiError {
    coded(
        "parameter_invalid_empty",
        &format!(
            "You passed an empty string for '{name}'. We assume empty values are an attempt to unset a parameter; \
             however '{name}' cannot be unset. You should remove '{name}' from your request or supply a non-empty \
             value."
        ),
        name,
    )
}

fn unrecognized(req: &FakeRequest) -> ApiError {
    let message = if req.path.ends_with('/') {
        format!(
            "Unrecognized request URL ({}: {}). If you are trying to list objects, remove the trailing slash. If you \
             are trying to retrieve an object, make sure you passed a valid (non-empty) identifier in your code. \
             Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            req.method, req.path
        )
    } else {
        format!(
            "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at \
             https://support.stripe.com/.",
            req.method, req.path
        )
    };
    api_error(404, "invalid_request_error", None, &message, None)
}

fn pretty(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

fn respond(status: u16, body: Vec<u8>, request_id: &str) -> FakeResponse {
    FakeResponse::raw_json(status, body)
        .with_header("Request-Id", request_id)
        .with_header("Stripe-Version", API_VERSION)
}

fn injected_error(state: &State, status: u16) -> FakeResponse {
    let err = match status {
        429 => api_error(429, "invalid_request_error", Some("rate_limit"), RATE_LIMITED, None),
        401 => api_error(401, "invalid_request_error", None, MISSING_KEY, None),
        404 => api_error(404, "invalid_request_error", Some("resource_missing"), "No such object", None),
        s if s >= 500 => api_error(s, "api_error", None, "An unknown error occurred", None),
        s => api_error(s, "invalid_request_error", None, "An unknown error occurred", None),
    };
    let request_id = with_store(state, Store::request_id);
    respond(status, pretty(&err.body), &request_id)
}

// ------------------------------------------------------------------------------------------------ parameters

/// A decoded form parameter: `a=1` is a string, `a[b]=1` a map, `a[]=1` a list. `a[0]=1` is a map with the
/// key "0" (as in Rack); list parameters accept such maps (`list_of_strings`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum P {
    S(String),
    M(BTreeMap<String, P>),
    L(Vec<P>),
}

pub(crate) type Params = BTreeMap<String, P>;

/// Splits `a[b][]` into `["a", "b", ""]`; a malformed key is one segment.
fn key_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let (name, mut rest) = key.split_at(open);
    let mut out = vec![name.to_string()];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return vec![key.to_string()];
        };
        let Some(close) = inner.find(']') else {
            return vec![key.to_string()];
        };
        out.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    if name.is_empty() {
        return vec![key.to_string()];
    }
    out
}

fn insert_param(map: &mut Params, path: &[String], value: String) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert(head.clone(), P::S(value));
        return;
    }
    let entry = map.entry(head.clone()).or_insert_with(|| P::M(BTreeMap::new()));
    insert_nested(entry, rest, value);
}

fn insert_nested(node: &mut P, path: &[String], value: String) {
    let Some((seg, rest)) = path.split_first() else {
        return;
    };
    if seg.is_empty() {
        if !matches!(node, P::L(_)) {
            *node = P::L(Vec::new());
        }
        if let P::L(items) = node {
            match rest.first() {
                None => items.push(P::S(value)),
                Some(field) => {
                    // `a[][x]=1&a[][y]=2`: fill the last map until a key repeats (Rack semantics).
                    let reuse = matches!(items.last(), Some(P::M(m)) if !m.contains_key(field));
                    if !reuse {
                        items.push(P::M(BTreeMap::new()));
                    }
                    if let Some(last) = items.last_mut() {
                        insert_nested(last, rest, value);
                    }
                }
            }
        }
    } else {
        if !matches!(node, P::M(_)) {
            *node = P::M(BTreeMap::new());
        }
        if let P::M(m) = node {
            insert_param(m, path, value);
        }
    }
}

fn parse_params(pairs: &[(String, String)]) -> Params {
    let mut params = Params::new();
    for (k, v) in pairs {
        insert_param(&mut params, &key_path(k), v.clone());
    }
    params
}

/// The first nested key of a non-string parameter, as Stripe names it (`name[x]`).
pub(crate) fn first_nested_name(name: &str, p: &P) -> String {
    match p {
        P::S(_) => name.to_string(),
        P::M(m) => match m.iter().next() {
            Some((k, v)) => first_nested_name(&format!("{name}[{k}]"), v),
            None => name.to_string(),
        },
        P::L(items) => match items.first() {
            Some(v) => first_nested_name(&format!("{name}[]"), v),
            None => name.to_string(),
        },
    }
}

/// A string parameter; a nested value is an unknown parameter.
fn string_param<'a>(name: &str, p: &'a P) -> Result<&'a str, ApiError> {
    match p {
        P::S(s) => Ok(s),
        other => Err(unknown_param(&first_nested_name(name, other))),
    }
}

/// A list of strings: `a[]=x&a[]=y`, `a[0]=x&a[1]=y`, or `a=` (empty list).
fn list_of_strings(name: &str, p: &P) -> Result<Vec<String>, ApiError> {
    let bad = || invalid("Invalid array", Some(name));
    match p {
        P::S(s) if s.is_empty() => Ok(Vec::new()),
        P::S(_) => Err(bad()),
        P::L(items) => items.iter().map(|i| string_param(name, i).map(str::to_string)).collect(),
        P::M(m) => {
            let mut indexed = Vec::with_capacity(m.len());
            for (k, v) in m {
                let idx: u64 = k.parse().map_err(|_| unknown_param(&format!("{name}[{k}]")))?;
                indexed.push((idx, string_param(name, v)?.to_string()));
            }
            indexed.sort_by_key(|(i, _)| *i);
            Ok(indexed.into_iter().map(|(_, s)| s).collect())
        }
    }
}

fn parse_bool(name: &str, p: &P) -> Result<bool, ApiError> {
    match string_param(name, p)? {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(invalid(&format!("Invalid boolean: {other}"), Some(name))),
    }
}

fn parse_int(name: &str, p: &P) -> Result<i64, ApiError> {
    let s = string_param(name, p)?;
    s.trim().parse::<i64>().map_err(|_| invalid_integer(s, name))
}

fn check_known(params: &Params, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown_param(k)),
        None => Ok(()),
    }
}

/// Empty string -> null, otherwise the string.
fn nullable_string(name: &str, p: &P) -> Result<Value, ApiError> {
    let s = string_param(name, p)?;
    Ok(if s.is_empty() { Value::Null } else { json!(s) })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
}

/// Merges `metadata[...]` into `current`: an empty value removes a key, `metadata=` removes all.
fn apply_metadata(current: &Value, p: &P) -> Result<Value, ApiError> {
    let mut meta: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    match p {
        P::S(s) if s.is_empty() => meta.clear(),
        P::S(_) | P::L(_) => return Err(invalid("Invalid object", Some("metadata"))),
        P::M(m) => {
            for (k, v) in m {
                let value = match v {
                    P::S(s) => s,
                    other => return Err(unknown_param(&first_nested_name(&format!("metadata[{k}]"), other))),
                };
                let key_len = k.chars().count();
                if key_len > METADATA_MAX_KEY {
                    return Err(invalid(
                        &format!(
                            "Metadata keys can have up to {METADATA_MAX_KEY} characters, but you passed in a key \
                             that is {key_len} characters. Invalid key: {k}"
                        ),
                        None,
                    ));
                }
                let value_len = value.chars().count();
                if value_len > METADATA_MAX_VALUE {
                    return Err(invalid(
                        &format!(
                            "Metadata values can have up to {METADATA_MAX_VALUE} characters, but you passed in a \
                             value that is {value_len} characters. Invalid value: {value}"
                        ),
                        None,
                    ));
                }
                if value.is_empty() {
                    meta.remove(k);
                } else {
                    meta.insert(k.clone(), json!(value));
                }
            }
        }
    }
    if meta.len() > METADATA_MAX_KEYS {
        return Err(invalid(
            &format!("Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {}", meta.len()),
            None,
        ));
    }
    Ok(Value::Object(meta))
}

// ------------------------------------------------------------------------------------------------ auth

/// `sk_test_****...****abcd`: the first 8 characters of a prefixed key and the last 4 are shown.
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    if n <= 4 {
        return key.to_string();
    }
    let prefixed = n > 12 && chars.iter().take(8).any(|c| *c == '_');
    let keep_start = if prefixed { 8 } else { 0 };
    let mut out: String = chars.iter().take(keep_start).collect();
    out.extend(std::iter::repeat_n('*', n - keep_start - 4));
    out.extend(chars.iter().skip(n - 4));
    out
}

/// The API key from `Authorization: Bearer <key>` or Basic `<key>:` (None: none given).
fn api_key(req: &FakeRequest) -> Option<String> {
    let header = req.header_value("authorization")?.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(rest.trim())?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':').map_or(text.as_str(), |(user, _)| user).to_string()
    } else {
        return None;
    };
    if key.is_empty() {
        None
    } else {
        Some(key)
    }
}

fn check_auth(state: &State, req: &FakeRequest) -> Result<(), ApiError> {
    let Some(key) = api_key(req) else {
        return Err(api_error(401, "invalid_request_error", None, MISSING_KEY, None));
    };
    if key == state.config.token {
        return Ok(());
    }
    let message = if key.chars().any(char::is_whitespace) {
        format!(
            "Invalid API Key provided: {}. This key contains at least one space. Please delete the spaces and try \
             again. If you have any questions, we can help at https://support.stripe.com/.",
            mask_key(&key)
        )
    } else {
        format!("Invalid API Key provided: {}", mask_key(&key))
    };
    Err(api_error(401, "invalid_request_error", None, &message, None))
}

// ------------------------------------------------------------------------------------------------ routing

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    Some(with_store(state, |store| serve(state, store, req)))
}

fn serve(state: &State, store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let request_id = store.request_id();
    if let Err(e) = check_auth(state, req) {
        return respond(e.status, pretty(&e.body), &request_id)
            .with_header("WWW-Authenticate", "Basic realm=\"Stripe\"");
    }
    let segs: Vec<String> = req.path.split('/').skip(2).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let known = match segs.as_slice() {
        ["customers" | "products"] => matches!(method, "GET" | "POST"),
        ["customers" | "products", id] => !id.is_empty() && matches!(method, "GET" | "POST" | "DELETE"),
        ["prices" | "invoices"] => method == "GET",
        ["prices" | "invoices", id] => !id.is_empty() && method == "GET",
        _ => false,
    };
    if !known {
        let e = unrecognized(req);
        return respond(e.status, pretty(&e.body), &request_id);
    }
    let params = match request_params(req) {
        Ok(p) => p,
        Err(e) => return respond(e.status, pretty(&e.body), &request_id),
    };
    if req.method != "POST" {
        let (status, body) = match execute(store, req, &segs, &params) {
            Ok(v) => (200, pretty(&v)),
            Err(e) => (e.status, pretty(&e.body)),
        };
        return respond(status, body, &request_id);
    }
    let Some(key) = req.header_value("idempotency-key").map(str::to_string) else {
        let (status, body) = match execute(store, req, &segs, &params) {
            Ok(v) => (200, pretty(&v)),
            Err(e) => (e.status, pretty(&e.body)),
        };
        return respond(status, body, &request_id);
    };
    idempotent(store, req, &segs, &params, &key, &request_id)
}

/// A POST with an `Idempotency-Key`: the first answer is saved and replayed for the same parameters.
fn idempotent(
    store: &mut Store,
    req: &FakeRequest,
    segs: &[&str],
    params: &Params,
    key: &str,
    request_id: &str,
) -> FakeResponse {
    let len = key.chars().count();
    if len == 0 || len > MAX_IDEMPOTENCY_KEY {
        let e = invalid(
            &format!(
                "Idempotent key length is {len}, which is outside accepted lengths. Idempotent Keys must be 1-255 \
                 characters long. If you're looking for a decent generator, try using a UUID defined by IETF RFC \
                 4122."
            ),
            None,
        );
        return respond(e.status, pretty(&e.body), request_id);
    }
    let endpoint = format!("{} {}", req.method, req.path);
    let fingerprint = format!("{params:?}");
    if let Some(saved) = store.idempotency.get(key) {
        let mismatch = if saved.endpoint != endpoint {
            Some(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for \
                 ('{}' vs '{endpoint}'). Try using a key other than '{key}' if you meant to execute a different \
                 request.",
                saved.endpoint
            ))
        } else if saved.params != fingerprint {
            Some(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ))
        } else {
            None
        };
        if let Some(message) = mismatch {
            let e = api_error(400, "idempotency_error", None, &message, None);
            return respond(e.status, pretty(&e.body), request_id).with_header("Idempotency-Key", key);
        }
        return respond(saved.status, saved.body.clone(), request_id)
            .with_header("Idempotency-Key", key)
            .with_header("Idempotent-Replayed", "true")
            .with_header("Original-Request", &saved.request_id);
    }
    let (status, body) = match execute(store, req, segs, params) {
        Ok(v) => (200, pretty(&v)),
        Err(e) => (e.status, pretty(&e.body)),
    };
    // Like Stripe, a request rejected before the endpoint ran (parameter validation) is not saved.
    if status != 400 {
        store.idempotency.insert(
            key.to_string(),
            Saved { endpoint, params: fingerprint, status, body: body.clone(), request_id: request_id.to_string() },
        );
    }
    respond(status, body, request_id).with_header("Idempotency-Key", key)
}

/// Query parameters for GET and DELETE; the form body for POST (which must be form-encoded).
fn request_params(req: &FakeRequest) -> Result<Params, ApiError> {
    if req.method != "POST" {
        return Ok(parse_params(&req.query));
    }
    let content_type = req.header_value("content-type");
    let is_form = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form && (content_type.is_some() || !req.body.is_empty()) {
        return Err(invalid(
            &format!(
                "Invalid request: unsupported Content-Type {}. If error persists and you need assistance, please \
                 contact support@stripe.com.",
                content_type.unwrap_or("")
            ),
            None,
        ));
    }
    let body = String::from_utf8_lossy(&req.body);
    let mut pairs = req.query.clone();
    pairs.extend(parse_query(&body));
    Ok(parse_params(&pairs))
}

/// The spec's path template for a customers URL (None: not covered by the spec).
fn spec_template(segs: &[&str]) -> Option<&'static str> {
    match segs {
        ["customers"] => Some("/v1/customers"),
        ["customers", _] => Some("/v1/customers/{customer}"),
        _ => None,
    }
}

/// Stripe's answer to a request that does not conform to the published spec.
fn violation_error(v: Violation) -> ApiError {
    match v {
        Violation::Unknown(param) => unknown_param(&param),
        Violation::Missing(param) => coded("parameter_missing", &format!("Missing required param: {param}."), &param),
        Violation::CannotUnset(param) => cannot_unset(&param),
        Violation::NotInteger { param, value } => invalid_integer(&value, &param),
        Violation::NotNumber { param, value } => invalid(&format!("Invalid decimal: {value}"), Some(&param)),
        Violation::NotBoolean { param, value } => invalid(&format!("Invalid boolean: {value}"), Some(&param)),
        Violation::NotObject(param) => invalid("Invalid object", Some(&param)),
        Violation::NotArray(param) => invalid("Invalid array", Some(&param)),
        Violation::NotInEnum { param, allowed } => {
            invalid(&format!("Invalid {param}: must be one of {}", one_of(&allowed)), Some(&param))
        }
        Violation::TooLong { param, value, max } => {
            invalid(&format!("Invalid string: {}; must be at most {max} characters", elide(&value)), Some(&param))
        }
        Violation::NoOperation(op) => {
            api_error(500, "api_error", None, &format!("fake-provider: {op} is not in the Stripe spec"), None)
        }
    }
}

/// `a`, `a or b`, `a, b, or c`: how Stripe lists enum values.
fn one_of(values: &[String]) -> String {
    match values {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

/// A long value as Stripe quotes it in errors: the first and last ten characters (`aaaaaaaaaa...aaaaaaaaaa`).
fn elide(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 20 {
        return value.to_string();
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 10..].iter().collect();
    format!("{head}...{tail}")
}

fn execute(store: &mut Store, req: &FakeRequest, segs: &[&str], params: &Params) -> Result<Value, ApiError> {
    if let Some(template) = spec_template(segs) {
        stripe_spec::check(&req.method, template, params).map_err(violation_error)?;
    }
    match (req.method.as_str(), segs) {
        ("GET", ["customers"]) => list_customers(store, params),
        ("POST", ["customers"]) => create_customer(store, params),
        ("GET", ["customers", id]) => get_customer(store, id, params),
        ("POST", ["customers", id]) => update_customer(store, id, params),
        ("DELETE", ["customers", id]) => delete_customer(store, id),
        ("GET", ["products"]) => list_products(store, params),
        ("POST", ["products"]) => create_product(store, params),
        ("GET", ["products", id]) => get_one(&store.products, "product", id, params),
        ("POST", ["products", id]) => update_product(store, id, params),
        ("DELETE", ["products", id]) => delete_product(store, id, params),
        ("GET", ["prices"]) => list_prices(store, params),
        ("GET", ["prices", id]) => get_one(&store.prices, "price", id, params),
        ("GET", ["invoices"]) => list_invoices(store, params),
        ("GET", ["invoices", id]) => get_one(&store.invoices, "invoice", id, params),
        _ => Err(unrecognized(req)),
    }
}

// ------------------------------------------------------------------------------------------------ lists

/// `created` as an exact epoch or a `gt|gte|lt|lte` range.
#[derive(Debug, Default)]
struct Range {
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
}

impl Range {
    fn parse(p: Option<&P>) -> Result<Range, ApiError> {
        let mut r = Range::default();
        match p {
            None => {}
            Some(P::S(s)) => {
                let v = s.trim().parse::<i64>().map_err(|_| invalid_integer(s, "created"))?;
                r.gte = Some(v);
                r.lte = Some(v);
            }
            Some(P::M(m)) => {
                for (k, v) in m {
                    let name = format!("created[{k}]");
                    let n = parse_int(&name, v)?;
                    match k.as_str() {
                        "gt" => r.gt = Some(n),
                        "gte" => r.gte = Some(n),
                        "lt" => r.lt = Some(n),
                        "lte" => r.lte = Some(n),
                        _ => return Err(unknown_param(&name)),
                    }
                }
            }
            Some(other @ P::L(_)) => return Err(unknown_param(&first_nested_name("created", other))),
        }
        Ok(r)
    }

    fn contains(&self, t: i64) -> bool {
        self.gt.is_none_or(|v| t > v)
            && self.gte.is_none_or(|v| t >= v)
            && self.lt.is_none_or(|v| t < v)
            && self.lte.is_none_or(|v| t <= v)
    }
}

fn cursor<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(p) => string_param(name, p).map(Some),
    }
}

/// One page of `all` (already in list order) restricted by `keep`, as a Stripe list object.
fn list_page(
    all: &[Rec],
    params: &Params,
    url: &str,
    kind: &str,
    keep: &dyn Fn(&Rec) -> bool,
) -> Result<Value, ApiError> {
    let limit = match params.get("limit") {
        None => 10,
        Some(p) => {
            let n = parse_int("limit", p)?;
            if n < 1 {
                return Err(coded(
                    "parameter_invalid_integer",
                    "This value must be greater than or equal to 1.",
                    "limit",
                ));
            }
            if n > 100 {
                return Err(coded(
                    "parameter_invalid_integer",
                    "This value must be less than or equal to 100.",
                    "limit",
                ));
            }
            n as usize
        }
    };
    let created = Range::parse(params.get("created"))?;
    let after = cursor(params, "starting_after")?;
    let before = cursor(params, "ending_before")?;
    if after.is_some() && before.is_some() {
        return Err(api_error(
            400,
            "invalid_request_error",
            Some("parameters_exclusive"),
            "You may only specify one of these parameters: ending_before, starting_after.",
            None,
        ));
    }
    let position = |id: &str, param: &str| -> Result<usize, ApiError> {
        all.iter().position(|r| rec_id(r) == id).ok_or_else(|| no_such(400, kind, id, param))
    };
    let matching = |(_, r): &(usize, &Rec)| keep(r) && created.contains(rec_created(r));
    let (page, has_more): (Vec<&Rec>, bool) = if let Some(id) = before {
        let end = position(id, "ending_before")?;
        let earlier: Vec<&Rec> = all.iter().enumerate().take(end).filter(matching).map(|(_, r)| r).collect();
        let start = earlier.len().saturating_sub(limit);
        (earlier[start..].to_vec(), start > 0)
    } else {
        let start = match after {
            Some(id) => position(id, "starting_after")? + 1,
            None => 0,
        };
        let mut rest = all.iter().enumerate().skip(start).filter(matching).map(|(_, r)| r);
        let page: Vec<&Rec> = rest.by_ref().take(limit).collect();
        (page, rest.next().is_some())
    };
    let data: Vec<Value> = page.into_iter().map(|r| Value::Object(r.clone())).collect();
    Ok(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
}

fn optional_string<'a>(params: &'a Params, name: &str) -> Result<Option<&'a str>, ApiError> {
    params.get(name).map(|p| string_param(name, p)).transpose()
}

fn optional_bool(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    params.get(name).map(|p| parse_bool(name, p)).transpose()
}

fn allowed<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = LIST_COMMON.to_vec();
    v.extend_from_slice(extra);
    v
}

fn list_customers(store: &Store, params: &Params) -> Result<Value, ApiError> {
    let email = optional_string(params, "email")?;
    let clock = optional_string(params, "test_clock")?;
    let keep = |r: &Rec| email.is_none_or(|e| r.get("email").and_then(Value::as_str) == Some(e)) && clock.is_none();
    list_page(&store.customers, params, "/v1/customers", "customer", &keep)
}

fn list_products(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["active", "ids", "shippable", "url"]))?;
    let active = optional_bool(params, "active")?;
    let shippable = optional_bool(params, "shippable")?;
    let url = optional_string(params, "url")?;
    let ids = params.get("ids").map(|p| list_of_strings("ids", p)).transpose()?;
    let keep = |r: &Rec| {
        active.is_none_or(|a| r.get("active") == Some(&json!(a)))
            && shippable.is_none_or(|s| r.get("shippable") == Some(&json!(s)))
            && url.is_none_or(|u| r.get("url").and_then(Value::as_str) == Some(u))
            && ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == rec_id(r)))
    };
    list_page(&store.products, params, "/v1/products", "product", &keep)
}

fn list_prices(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["active", "currency", "product", "type"]))?;
    let active = optional_bool(params, "active")?;
    let currency = optional_string(params, "currency")?.map(str::to_ascii_lowercase);
    let product = optional_string(params, "product")?;
    let kind = optional_string(params, "type")?;
    if let Some(k) = kind {
        if k != "one_time" && k != "recurring" {
            return Err(invalid("Invalid type: must be one of one_time or recurring", Some("type")));
        }
    }
    let keep = |r: &Rec| {
        active.is_none_or(|a| r.get("active") == Some(&json!(a)))
            && currency.as_deref().is_none_or(|c| r.get("currency").and_then(Value::as_str) == Some(c))
            && product.is_none_or(|p| r.get("product").and_then(Value::as_str) == Some(p))
            && kind.is_none_or(|k| r.get("type").and_then(Value::as_str) == Some(k))
    };
    list_page(&store.prices, params, "/v1/prices", "price", &keep)
}

fn list_invoices(store: &Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &allowed(&["collection_method", "customer", "due_date", "status", "subscription"]))?;
    let customer = optional_string(params, "customer")?;
    let status = optional_string(params, "status")?;
    if let Some(s) = status {
        if !["draft", "open", "paid", "uncollectible", "void"].contains(&s) {
            return Err(invalid(
                "Invalid status: must be one of draft, open, paid, uncollectible, or void",
                Some("status"),
            ));
        }
    }
    let method = optional_string(params, "collection_method")?;
    let subscription = optional_string(params, "subscription")?;
    let keep = |r: &Rec| {
        customer.is_none_or(|c| r.get("customer").and_then(Value::as_str) == Some(c))
            && status.is_none_or(|s| r.get("status").and_then(Value::as_str) == Some(s))
            && method.is_none_or(|m| r.get("collection_method").and_then(Value::as_str) == Some(m))
            && subscription.is_none_or(|s| r.get("subscription").and_then(Value::as_str) == Some(s))
    };
    list_page(&store.invoices, params, "/v1/invoices", "invoice", &keep)
}

fn get_one(all: &[Rec], kind: &str, id: &str, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &["expand"])?;
    all.iter().find(|r| rec_id(r) == id).map(|r| Value::Object(r.clone())).ok_or_else(|| no_such(404, kind, id, "id"))
}

// ------------------------------------------------------------------------------------------------ customers

fn deleted_stub(id: &str) -> Value {
    json!({ "id": id, "object": "customer", "deleted": true })
}

fn get_customer(store: &Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    if store.deleted_customers.contains(id) {
        return Ok(deleted_stub(id));
    }
    get_one(&store.customers, "customer", id, params)
}

/// Applies create/update parameters to a copy of `rec`; nothing changes on error.
fn apply_customer(rec: &Rec, params: &Params) -> Result<Rec, ApiError> {
    let mut c = rec.clone();
    for (name, p) in params {
        let name = name.as_str();
        match name {
            "email" => {
                let s = string_param(name, p)?;
                if s.is_empty() {
                    c.insert("email".into(), Value::Null);
                } else if is_email(s) {
                    c.insert("email".into(), json!(s));
                } else {
                    return Err(coded("email_invalid", &format!("Invalid email address: {s}"), "email"));
                }
            }
            "name" | "description" | "phone" | "invoice_prefix" => {
                c.insert(name.into(), nullable_string(name, p)?);
            }
            "balance" => {
                c.insert("balance".into(), json!(parse_int(name, p)?));
            }
            "address" => {
                let address = match p {
                    P::S(s) if s.is_empty() => Value::Null,
                    P::S(_) | P::L(_) => return Err(invalid("Invalid object", Some("address"))),
                    P::M(m) => {
                        let mut a = match c.get("address") {
                            Some(Value::Object(a)) => a.clone(),
                            _ => ["city", "country", "line1", "line2", "postal_code", "state"]
                                .iter()
                                .map(|k| (k.to_string(), Value::Null))
                                .collect(),
                        };
                        for (k, v) in m {
                            if !["city", "country", "line1", "line2", "postal_code", "state"].contains(&k.as_str()) {
                                return Err(unknown_param(&first_nested_name(&format!("address[{k}]"), v)));
                            }
                            a.insert(k.clone(), nullable_string(&format!("address[{k}]"), v)?);
                        }
                        Value::Object(a)
                    }
                };
                c.insert("address".into(), address);
            }
            "metadata" => {
                let current = c.get("metadata").cloned().unwrap_or(Value::Null);
                c.insert("metadata".into(), apply_metadata(&current, p)?);
            }
            "preferred_locales" => {
                c.insert(name.into(), json!(list_of_strings(name, p)?));
            }
            "tax_exempt" => {
                let s = string_param(name, p)?;
                let value = match s {
                    "" => "none",
                    "none" | "exempt" | "reverse" => s,
                    _ => {
                        return Err(invalid(
                            "Invalid tax_exempt: must be one of exempt, none, or reverse",
                            Some("tax_exempt"),
                        ))
                    }
                };
                c.insert("tax_exempt".into(), json!(value));
            }
            // `expand` only changes how related objects are shown; this fake shows ids.
            "expand" => {
                list_of_strings(name, p)?;
            }
            // Known to the spec (checked before) but not modelled by the fake: payment sources, discounts,
            // shipping, tax ids...
            _ => {}
        }
    }
    Ok(c)
}

fn create_customer(store: &mut Store, params: &Params) -> Result<Value, ApiError> {
    let n = store.writes + 1;
    let blank = customer_record(
        stripe_id("cus_", CUSTOMER_WRITE_DOMAIN, n),
        WRITE_BASE + n as i64,
        invoice_prefix(CUSTOMER_WRITE_DOMAIN, n),
    );
    let c = apply_customer(&blank, params)?;
    store.tick();
    insert_sorted(&mut store.customers, c.clone());
    Ok(Value::Object(c))
}

fn update_customer(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    let Some(idx) = store.customers.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "customer", id, "id"));
    };
    let updated = apply_customer(&store.customers[idx], params)?;
    store.customers[idx] = updated.clone();
    Ok(Value::Object(updated))
}

fn delete_customer(store: &mut Store, id: &str) -> Result<Value, ApiError> {
    let Some(idx) = store.customers.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "customer", id, "id"));
    };
    store.customers.remove(idx);
    store.deleted_customers.insert(id.to_string());
    Ok(deleted_stub(id))
}

// ------------------------------------------------------------------------------------------------ products

fn apply_product(store: &Store, rec: &Rec, params: &Params) -> Result<Rec, ApiError> {
    let mut p = rec.clone();
    for (name, v) in params {
        let name = name.as_str();
        match name {
            "name" => {
                let s = string_param(name, v)?;
                if s.is_empty() {
                    return Err(cannot_unset("name"));
                }
                p.insert("name".into(), json!(s));
            }
            "active" => {
                p.insert("active".into(), json!(parse_bool(name, v)?));
            }
            "shippable" => {
                let value =
                    if matches!(v, P::S(s) if s.is_empty()) { Value::Null } else { json!(parse_bool(name, v)?) };
                p.insert("shippable".into(), value);
            }
            "description" | "statement_descriptor" | "tax_code" | "unit_label" | "url" => {
                p.insert(name.into(), nullable_string(name, v)?);
            }
            "images" => {
                p.insert("images".into(), json!(list_of_strings(name, v)?));
            }
            "metadata" => {
                let current = p.get("metadata").cloned().unwrap_or(Value::Null);
                p.insert("metadata".into(), apply_metadata(&current, v)?);
            }
            "default_price" => {
                let s = string_param(name, v)?;
                if s.is_empty() {
                    p.insert("default_price".into(), Value::Null);
                } else {
                    let belongs = store.prices.iter().any(|price| {
                        rec_id(price) == s && price.get("product").and_then(Value::as_str) == Some(rec_id(rec))
                    });
                    if !belongs {
                        return Err(no_such(400, "price", s, "default_price"));
                    }
                    p.insert("default_price".into(), json!(s));
                }
            }
            "id" => {}
            "expand" => {
                list_of_strings(name, v)?;
            }
            _ if PRODUCT_IGNORED.contains(&name) => {}
            _ => return Err(unknown_param(name)),
        }
    }
    Ok(p)
}

fn list_products_has(store: &Store, id: &str) -> bool {
    store.products.iter().any(|r| rec_id(r) == id)
}

fn create_product(store: &mut Store, params: &Params) -> Result<Value, ApiError> {
    check_known(params, PRODUCT_CREATE)?;
    let Some(name) = params.get("name") else {
        return Err(coded("parameter_missing", "Missing required param: name.", "name"));
    };
    string_param("name", name)?;
    let n = store.writes + 1;
    let id = match optional_string(params, "id")? {
        Some("") => return Err(cannot_unset("id")),
        Some(custom) => {
            if list_products_has(store, custom) {
                return Err(coded("resource_already_exists", "Product already exists.", "id"));
            }
            custom.to_string()
        }
        None => stripe_id("prod_", PRODUCT_WRITE_DOMAIN, n),
    };
    let blank = product_record(id, "", WRITE_BASE + n as i64);
    let p = apply_product(store, &blank, params)?;
    store.tick();
    insert_sorted(&mut store.products, p.clone());
    Ok(Value::Object(p))
}

fn update_product(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    check_known(params, PRODUCT_UPDATE)?;
    let Some(idx) = store.products.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "product", id, "id"));
    };
    let mut updated = apply_product(store, &store.products[idx], params)?;
    let n = store.tick();
    updated.insert("updated".into(), json!(WRITE_BASE + n as i64));
    store.products[idx] = updated.clone();
    Ok(Value::Object(updated))
}

fn delete_product(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    check_known(params, &[])?;
    let Some(idx) = store.products.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "product", id, "id"));
    };
    if store.prices.iter().any(|p| p.get("product").and_then(Value::as_str) == Some(id)) {
        return Err(invalid("This product cannot be deleted because it has one or more user-created prices.", None));
    }
    store.products.remove(idx);
    Ok(json!({ "id": id, "object": "product", "deleted": true }))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn key_paths() {
        assert_eq!(key_path("a"), vec!["a"]);
        assert_eq!(key_path("a[b][c]"), vec!["a", "b", "c"]);
        assert_eq!(key_path("a[]"), vec!["a", ""]);
        assert_eq!(key_path("a[b"), vec!["a[b"]);
        assert_eq!(key_path("[x]"), vec!["[x]"]);
        assert_eq!(key_path("a[b]c"), vec!["a[b]c"]);
    }

    #[test]
    fn masking() {
        assert_eq!(mask_key("undefined"), "*****ined");
        assert_eq!(mask_key("sk_test_abcdefgh1234"), "sk_test_********1234");
        assert_eq!(mask_key("wrong-token"), "*******oken");
        assert_eq!(mask_key("abc"), "abc");
    }

    #[test]
    fn enum_lists_and_elided_values() {
        assert_eq!(one_of(&["a".into()]), "a");
        assert_eq!(one_of(&["one_time".into(), "recurring".into()]), "one_time or recurring");
        assert_eq!(one_of(&["exempt".into(), "none".into(), "reverse".into()]), "exempt, none, or reverse");
        assert_eq!(elide("short"), "short");
        assert_eq!(elide(&"x".repeat(20)), "x".repeat(20));
        assert_eq!(elide("abcdefghij_middle_klmnopqrst"), "abcdefghij...klmnopqrst");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(customer_id(0), customer_id(0));
        assert_ne!(customer_id(0), customer_id(1));
        assert_eq!(customer_id(7).len(), 18);
        assert!(customer_id(7)[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
