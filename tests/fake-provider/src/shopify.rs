//! The fake Shopify Admin REST API (`/admin/api/{YYYY-MM}/...`): customers (read and write), products and
//! orders (read).
//!
//! Like the real API: `X-Shopify-Access-Token`; `{"customers": [...]}` envelopes ordered by id; cursor
//! pagination through a `Link` header whose `page_info` carries the filters (a request with `page_info` may
//! only add `limit` and `fields`); `{"errors": ...}` bodies; a leaky bucket (40 calls, 2 leak per second) with
//! `X-Shopify-Shop-Api-Call-Limit` on every answer and `429` + `Retry-After: 1.0` when it is full. Timestamps
//! are in the shop's time zone (UTC-05:00). Ids and data are deterministic.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::http::{base64_decode, base64_encode, percent_encode, FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::{Config, State};

pub const MODULE: ProviderModule = ProviderModule {
    name: "shopify",
    handles: |path| path.starts_with("/admin/"),
    handle,
    injected_error,
    seed,
    reset,
};

/// The shop webhooks come from (`tether-test.myshopify.com`, the `shop` the regression tests configure).
pub const SHOP: &str = "tether-test";
/// The API version webhooks are rendered in (the fake serves every `YYYY-MM` version the same way).
pub const API_VERSION: &str = "2024-01";

const UNAUTHORIZED: &str = "[API] Invalid API key or access token (unrecognized login or wrong password)";
const THROTTLED: &str =
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.";
const NEEDS_IDENTITY: &str = "Customer must have a name, phone number or email address";
const PAGINATION_DOC: &str = "See https://shopify.dev/api/usage/pagination-rest for more information.";
const MAX_LIMIT: u64 = 250;
const DEFAULT_LIMIT: u64 = 50;
/// The shop's UTC offset in seconds (-05:00, like a shop in New York in winter).
const SHOP_OFFSET: i64 = -5 * 3_600;
/// 2024-01-05T10:00:00-05:00: the first seeded record.
const SEED_BASE: i64 = 1_704_466_800;
/// 2025-01-01T00:00:00-05:00: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
const WRITE_BASE: i64 = 1_735_707_600;
const CUSTOMER_BASE_ID: u64 = 7_000_000_000;
const ADDRESS_BASE_ID: u64 = 6_000_000_000;
const PRODUCT_BASE_ID: u64 = 8_000_000_000;
const VARIANT_BASE_ID: u64 = 9_000_000_000;
const ORDER_BASE_ID: u64 = 5_000_000_000;
const LINE_ITEM_BASE_ID: u64 = 11_000_000_000;

// ------------------------------------------------------------------------------------------------ store

/// A record plus the values the fake filters and sorts on.
#[derive(Debug, Clone)]
struct Row {
    id: u64,
    created: i64,
    updated: i64,
    rec: Map<String, Value>,
}

#[derive(Debug)]
struct Store {
    /// Each table in ascending id order (the list order).
    customers: Vec<Row>,
    products: Vec<Row>,
    orders: Vec<Row>,
    next_customer: u64,
    next_address: u64,
    writes: u64,
    bucket_size: u64,
    leak_per_second: u64,
    /// Bucket content in thousandths of a call, and when it was last drained.
    level_milli: u64,
    last: Option<Instant>,
    rate_limited: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("shopify_customers", 250);
        let products = config.seed("shopify_products", 40);
        let orders = config.seed("shopify_orders", 60);
        Store {
            customers: (0..customers).map(gen_customer).collect(),
            products: (0..products).map(gen_product).collect(),
            orders: (0..orders).map(|i| gen_order(i, customers, products)).collect(),
            next_customer: CUSTOMER_BASE_ID + customers + 1,
            next_address: ADDRESS_BASE_ID + customers * 3 + 1,
            writes: 0,
            bucket_size: config.seed("shopify_bucket", 40),
            leak_per_second: config.seed("shopify_leak_per_second", 2),
            level_milli: 0,
            last: None,
            rate_limited: 0,
        }
    }

    /// Drains the bucket for the time elapsed, then takes one call if there is room.
    fn take_call(&mut self) -> bool {
        let now = Instant::now();
        if let Some(last) = self.last {
            let elapsed_ms = now.saturating_duration_since(last).as_millis().min(u128::from(u64::MAX)) as u64;
            self.level_milli = self.level_milli.saturating_sub(elapsed_ms.saturating_mul(self.leak_per_second));
        }
        self.last = Some(now);
        if self.level_milli + 1_000 > self.bucket_size.saturating_mul(1_000) {
            return false;
        }
        self.level_milli += 1_000;
        true
    }

    fn call_limit(&self) -> String {
        format!("{}/{}", self.level_milli.div_ceil(1_000), self.bucket_size)
    }

    fn tick(&mut self) -> i64 {
        self.writes += 1;
        WRITE_BASE + self.writes as i64
    }
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut Store) -> R) -> R {
    state.with_store(Store::new, f)
}

fn seed(state: &State, name: &str, count: u64) -> bool {
    match name {
        "shopify_customers" => with_store(state, |s| {
            s.customers = (0..count).map(gen_customer).collect();
            s.next_customer = CUSTOMER_BASE_ID + count + 1;
            s.next_address = ADDRESS_BASE_ID + count * 3 + 1;
        }),
        "shopify_products" => with_store(state, |s| s.products = (0..count).map(gen_product).collect()),
        "shopify_orders" => with_store(state, |s| {
            let (customers, products) = (s.customers.len() as u64, s.products.len() as u64);
            s.orders = (0..count).map(|i| gen_order(i, customers, products)).collect();
        }),
        // Not data sets but handy at run time: resize the bucket or change its leak rate (and empty it).
        "shopify_bucket" => with_store(state, |s| {
            s.bucket_size = count;
            s.level_milli = 0;
        }),
        "shopify_leak_per_second" => with_store(state, |s| {
            s.leak_per_second = count;
            s.level_milli = 0;
        }),
        _ => return false,
    }
    true
}

fn reset(state: &State) {
    with_store(state, |s| {
        s.level_milli = 0;
        s.last = None;
        s.rate_limited = 0;
    });
}

// ------------------------------------------------------------------------------------------------ time

/// `2024-01-05T10:00:00-05:00`.
fn shop_time(epoch: i64) -> String {
    let local = epoch + SHOP_OFFSET;
    let (y, m, d) = crate::data::civil_from_days(local.div_euclid(86_400));
    let secs = local.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}-05:00", secs / 3_600, secs / 60 % 60, secs % 60)
}

/// Hours and minutes of `+HH:MM`, `+HHMM` or `+HH`.
fn zone_offset(zone: &str) -> Option<(i64, i64)> {
    let hours = digits(zone.get(1..3)?)?;
    let minutes = match zone.len() {
        3 => 0,
        5 => digits(zone.get(3..5)?)?,
        6 if zone.as_bytes().get(3) == Some(&b':') => digits(zone.get(4..6)?)?,
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some((hours, minutes))
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// ISO 8601 as Shopify accepts it in filters: a date (shop midnight), or a date-time with `Z`, an offset, or
/// none (shop time).
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(..10)?;
    let (y, m, d) = (digits(date.get(..4)?)?, digits(date.get(5..7)?)?, digits(date.get(8..10)?)?);
    if date.as_bytes().get(4) != Some(&b'-') || date.as_bytes().get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let day = crate::data::days_from_civil(y, m as u64, d as u64) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day - SHOP_OFFSET);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (hh, mm, ss) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?, digits(rest.get(6..8)?)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(frac) = zone.strip_prefix('.') {
        let end = frac.find(|c: char| !c.is_ascii_digit()).unwrap_or(frac.len());
        zone = &frac[end..];
    }
    let offset = match zone {
        "" => SHOP_OFFSET,
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (oh, om) = zone_offset(zone)?;
            sign * (oh * 3_600 + om * 60)
        }
    };
    Some(day + hh * 3_600 + mm * 60 + ss - offset)
}

// ------------------------------------------------------------------------------------------------ seed data

const FIRST: &[&str] = &["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Zoe"];
const LAST: &[&str] = &["Martin", "Tremblay", "Roy", "Gagnon", "Smith", "Lee", "Wong", "Garcia", "Brown", "Cote"];
const CITIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Ottawa", "Ontario", "ON", "Canada", "CA", "K2P 1L4"),
    ("Montreal", "Quebec", "QC", "Canada", "CA", "H2X 1Y4"),
    ("New York", "New York", "NY", "United States", "US", "10001"),
    ("Austin", "Texas", "TX", "United States", "US", "73301"),
    ("Paris", "", "", "France", "FR", "75002"),
];
const COUNTRIES: &[(&str, &str)] = &[
    ("CA", "Canada"),
    ("US", "United States"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("MX", "Mexico"),
];
const PROVINCES: &[(&str, &str)] = &[
    ("ON", "Ontario"),
    ("QC", "Quebec"),
    ("BC", "British Columbia"),
    ("AB", "Alberta"),
    ("NY", "New York"),
    ("CA", "California"),
    ("TX", "Texas"),
];

fn pick<'a>(items: &[&'a str], i: u64) -> &'a str {
    items.get((i % items.len() as u64) as usize).copied().unwrap_or("")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn seed_address(i: u64, k: u64, customer_id: u64, first: &str, last: &str) -> Value {
    let (city, province, province_code, country, country_code, zip) =
        CITIES.get(((i + k) % CITIES.len() as u64) as usize).copied().unwrap_or(CITIES[0]);
    json!({
        "id": ADDRESS_BASE_ID + i * 3 + k + 1,
        "customer_id": customer_id,
        "first_name": first,
        "last_name": last,
        "company": if k == 1 { json!("Acme Inc.") } else { Value::Null },
        "address1": format!("{} Elgin Street", 100 + i + k * 7),
        "address2": if k == 2 { json!("Unit 4") } else { json!("") },
        "city": city,
        "province": if province.is_empty() { Value::Null } else { json!(province) },
        "country": country,
        "zip": zip,
        "phone": if k == 0 { json!(format!("+1613555{:04}", (i * 7 + 1) % 10_000)) } else { Value::Null },
        "name": format!("{first} {last}"),
        "province_code": if province_code.is_empty() { Value::Null } else { json!(province_code) },
        "country_code": country_code,
        "country_name": country,
        "default": k == 0
    })
}

fn gen_customer(i: u64) -> Row {
    let n = i + 1;
    let id = CUSTOMER_BASE_ID + n;
    let created = SEED_BASE + i as i64 * 5 * 3_600;
    let updated = created + (i % 4) as i64 * 86_400;
    let first = pick(FIRST, i);
    let last = pick(LAST, i / 2);
    let orders = n * 7 % 6;
    let tags = if n.is_multiple_of(4) {
        "newsletter, vip"
    } else if n.is_multiple_of(5) {
        "wholesale"
    } else {
        ""
    };
    let addresses: Vec<Value> = (0..n % 4).map(|k| seed_address(i, k, id, first, last)).collect();
    let email = if n.is_multiple_of(19) { Value::Null } else { json!(format!("shopper{n}@example.com")) };
    let mut rec = obj(json!({
        "id": id,
        "email": email,
        "created_at": shop_time(created),
        "updated_at": shop_time(updated),
        "first_name": first,
        "last_name": last,
        "orders_count": orders,
        "state": if n.is_multiple_of(7) { "disabled" } else { "enabled" },
        "total_spent": money(orders * (1_250 + n * 37 % 9_000)),
        "last_order_id": null,
        "note": if n.is_multiple_of(6) { json!("Prefers email contact") } else { Value::Null },
        "verified_email": !email.is_null() && !n.is_multiple_of(5),
        "multipass_identifier": null,
        "tax_exempt": false,
        "tags": tags,
        "last_order_name": null,
        "currency": if n.is_multiple_of(10) { "CAD" } else { "USD" },
        "phone": if n.is_multiple_of(3) { json!(format!("+1613555{:04}", 1_000 + n)) } else { Value::Null },
        "addresses": addresses,
        "tax_exemptions": [],
        "admin_graphql_api_id": format!("gid://shopify/Customer/{id}")
    }));
    set_default_address(&mut rec);
    Row { id, created, updated, rec }
}

/// `default_address` mirrors the address flagged default (absent when there is none).
fn set_default_address(rec: &mut Map<String, Value>) {
    let default = rec
        .get("addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["default"] == true).or_else(|| a.first()))
        .cloned();
    match default {
        Some(a) => rec.insert("default_address".into(), a),
        None => rec.remove("default_address"),
    };
}

const PRODUCTS: &[(&str, &str, &str)] = &[
    ("Canvas Tote", "Northwind", "Bags"),
    ("Wool Beanie", "Maple Goods", "Hats"),
    ("Ceramic Mug", "Northwind", "Kitchen"),
    ("Linen Shirt", "Atelier Roy", "Shirts"),
    ("Trail Socks", "Maple Goods", "Socks"),
];

fn product_title(i: u64) -> String {
    let (title, _, _) = PRODUCTS.get((i % PRODUCTS.len() as u64) as usize).copied().unwrap_or(PRODUCTS[0]);
    format!("{title} {}", i + 1)
}

fn variant_price(i: u64, k: u64) -> u64 {
    1_500 + (i * 250 % 4_000) + k * 500
}

fn gen_product(i: u64) -> Row {
    let n = i + 1;
    let id = PRODUCT_BASE_ID + n;
    let (_, vendor, kind) = PRODUCTS.get((i % PRODUCTS.len() as u64) as usize).copied().unwrap_or(PRODUCTS[0]);
    let created = SEED_BASE + i as i64 * 86_400;
    let updated = created + (i % 3) as i64 * 3_600;
    let status = if n.is_multiple_of(9) {
        "archived"
    } else if n.is_multiple_of(7) {
        "draft"
    } else {
        "active"
    };
    let count = 1 + i % 3;
    let variants: Vec<Value> = (0..count)
        .map(|k| {
            let title = if count == 1 { "Default Title" } else { pick(&["Small", "Medium", "Large"], k) };
            json!({
                "id": VARIANT_BASE_ID + i * 3 + k + 1,
                "product_id": id,
                "title": title,
                "price": money(variant_price(i, k)),
                "sku": format!("SKU-{n:04}-{}", k + 1),
                "position": k + 1,
                "inventory_quantity": (n * 13 + k * 5) % 40,
                "created_at": shop_time(created),
                "updated_at": shop_time(updated)
            })
        })
        .collect();
    let title = product_title(i);
    let rec = obj(json!({
        "id": id,
        "title": title,
        "body_html": format!("<p>{title}, made to last.</p>"),
        "vendor": vendor,
        "product_type": kind,
        "created_at": shop_time(created),
        "handle": title.to_ascii_lowercase().replace(' ', "-"),
        "updated_at": shop_time(updated),
        "published_at": if status == "active" { json!(shop_time(created)) } else { Value::Null },
        "status": status,
        "tags": if n.is_multiple_of(2) { "bestseller, eco" } else { "" },
        "variants": variants,
        "admin_graphql_api_id": format!("gid://shopify/Product/{id}")
    }));
    Row { id, created, updated, rec }
}

const FINANCIAL: &[&str] =
    &["paid", "paid", "pending", "refunded", "authorized", "partially_refunded", "paid", "voided"];

fn gen_order(i: u64, customers: u64, products: u64) -> Row {
    let n = i + 1;
    let id = ORDER_BASE_ID + n;
    let created = SEED_BASE + 3_600 + i as i64 * 7 * 3_600;
    let closed = n % 5 == 2;
    let cancelled = n % 11 == 4;
    let updated = created + if closed || cancelled { 2 * 86_400 } else { 600 };
    let cust_index = if customers == 0 { i } else { i * 5 % customers };
    let customer = gen_customer(cust_index).rec;
    let count = 1 + i % 3;
    let mut subtotal = 0;
    let line_items: Vec<Value> = (0..count)
        .map(|k| {
            let p = if products == 0 { i + k } else { (i + k) % products };
            let quantity = 1 + (n + k) % 3;
            let price = variant_price(p, 0);
            subtotal += quantity * price;
            json!({
                "id": LINE_ITEM_BASE_ID + i * 3 + k + 1,
                "title": product_title(p),
                "quantity": quantity,
                "price": money(price),
                "product_id": PRODUCT_BASE_ID + p + 1,
                "variant_id": VARIANT_BASE_ID + p * 3 + 1,
                "sku": format!("SKU-{:04}-1", p + 1)
            })
        })
        .collect();
    let tax = subtotal * 13 / 100;
    let fulfillment = match n % 4 {
        0 => json!("fulfilled"),
        1 => json!("partial"),
        _ => Value::Null,
    };
    let mut embedded = Map::new();
    for k in ["id", "email", "first_name", "last_name", "phone", "state", "tags", "currency", "created_at"] {
        embedded.insert(k.to_string(), customer.get(k).cloned().unwrap_or(Value::Null));
    }
    let rec = obj(json!({
        "id": id,
        "name": format!("#{}", 1_000 + n),
        "order_number": 1_000 + n,
        "email": customer.get("email").cloned().unwrap_or(Value::Null),
        "created_at": shop_time(created),
        "updated_at": shop_time(updated),
        "closed_at": if closed { json!(shop_time(updated)) } else { Value::Null },
        "cancelled_at": if cancelled { json!(shop_time(updated)) } else { Value::Null },
        "cancel_reason": if cancelled { json!("customer") } else { Value::Null },
        "currency": "USD",
        "financial_status": pick(FINANCIAL, i),
        "fulfillment_status": fulfillment,
        "subtotal_price": money(subtotal),
        "total_tax": money(tax),
        "total_price": money(subtotal + tax),
        "customer": embedded,
        "line_items": line_items,
        "admin_graphql_api_id": format!("gid://shopify/Order/{id}")
    }));
    Row { id, created, updated, rec }
}

// ------------------------------------------------------------------------------------------------ responses

fn errors(status: u16, errors: Value) -> FakeResponse {
    FakeResponse::json(status, &json!({ "errors": errors }))
}

fn not_found() -> FakeResponse {
    errors(404, json!("Not Found"))
}

fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        401 => errors(401, json!(UNAUTHORIZED)),
        404 => not_found(),
        429 => errors(429, json!(THROTTLED)),
        s if s >= 500 => errors(s, json!("Internal Server Error")),
        402 => errors(402, json!("Unavailable Shop")),
        403 => errors(403, json!("Forbidden")),
        406 => errors(406, json!("Not Acceptable")),
        422 => errors(422, json!({ "base": ["Unprocessable Entity"] })),
        s => errors(s, json!("Bad Request")),
    }
}

/// A record as the API returns it (the inner object, as webhooks send it); `None` if unknown.
pub fn record(state: &State, object: &str, id: u64) -> Option<Value> {
    let kind = match object {
        "customers" => Kind::Customers,
        "products" => Kind::Products,
        "orders" => Kind::Orders,
        _ => return None,
    };
    with_store(state, |s| kind.rows(s).iter().find(|r| r.id == id).map(|r| Value::Object(r.rec.clone())))
}

// ------------------------------------------------------------------------------------------------ routing

fn is_version(v: &str) -> bool {
    v == "unstable"
        || (v.len() == 7
            && v.as_bytes().get(4) == Some(&b'-')
            && v.bytes().enumerate().all(|(i, b)| i == 4 || b.is_ascii_digit()))
}

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    if req.path == "/admin/_fake/rate_limited" {
        let n = with_store(state, |s| s.rate_limited);
        return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
    }
    let Some(rest) = req.path.strip_prefix("/admin/api/") else {
        return Some(not_found());
    };
    if req.header_value("x-shopify-access-token") != Some(state.config.token.as_str()) {
        return Some(errors(401, json!(UNAUTHORIZED)));
    }
    Some(with_store(state, |store| {
        if !store.take_call() {
            store.rate_limited += 1;
            return errors(429, json!(THROTTLED))
                .with_header("Retry-After", "1.0")
                .with_header("X-Shopify-Shop-Api-Call-Limit", &store.call_limit());
        }
        let resp = route(store, req, rest);
        resp.with_header("X-Shopify-Shop-Api-Call-Limit", &store.call_limit())
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Customers,
    Products,
    Orders,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Products => "products",
            Kind::Orders => "orders",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Kind::Customers => "customer",
            Kind::Products => "product",
            Kind::Orders => "order",
        }
    }

    fn rows(self, store: &Store) -> &[Row] {
        match self {
            Kind::Customers => &store.customers,
            Kind::Products => &store.products,
            Kind::Orders => &store.orders,
        }
    }
}

fn route(store: &mut Store, req: &FakeRequest, rest: &str) -> FakeResponse {
    let Some((version, path)) = rest.split_once('/') else {
        return not_found();
    };
    if !is_version(version) {
        return not_found();
    }
    let Some(path) = path.strip_suffix(".json") else {
        return not_found();
    };
    let (resource, tail) = match path.split_once('/') {
        Some((r, t)) => (r, Some(t)),
        None => (path, None),
    };
    let kind = match resource {
        "customers" => Kind::Customers,
        "products" => Kind::Products,
        "orders" => Kind::Orders,
        _ => return not_found(),
    };
    let id = tail.and_then(|t| if t == "count" { None } else { t.parse::<u64>().ok() });
    match (req.method.as_str(), tail, id) {
        ("GET", None, _) => list(store, req, version, kind),
        ("GET", Some("count"), _) => count(store, req, kind),
        ("GET", Some(_), Some(id)) => get_one(store, req, kind, id),
        ("POST", None, _) if kind == Kind::Customers => create_customer(store, req),
        ("PUT", Some(_), Some(id)) if kind == Kind::Customers => update_customer(store, req, id),
        ("DELETE", Some(_), Some(id)) if kind == Kind::Customers => delete_customer(store, id),
        _ => not_found(),
    }
}

// ------------------------------------------------------------------------------------------------ lists

/// The filters of a list, parsed from the query (or from a `page_info`).
#[derive(Debug, Default)]
struct Filters {
    since_id: Option<u64>,
    ids: Option<Vec<u64>>,
    created_min: Option<i64>,
    created_max: Option<i64>,
    updated_min: Option<i64>,
    updated_max: Option<i64>,
    /// Field -> accepted values (exact match), e.g. vendor, product_type, financial_status.
    exact: Vec<(&'static str, Vec<String>)>,
    /// Orders: open / closed / cancelled / any (default open).
    order_status: Option<String>,
    /// Orders: shipped / partial / unshipped / unfulfilled / any.
    fulfillment: Option<String>,
}

fn invalid_value(name: &str) -> FakeResponse {
    errors(400, json!({ name: "Invalid value." }))
}

fn parse_filters(kind: Kind, pairs: &BTreeMap<String, String>) -> Result<Filters, FakeResponse> {
    let mut f = Filters::default();
    if kind == Kind::Orders {
        f.order_status = Some("open".into());
    }
    for (k, v) in pairs {
        let time = || parse_time(v).ok_or_else(|| invalid_value(k));
        match (kind, k.as_str()) {
            (_, "since_id") => f.since_id = Some(v.trim().parse().map_err(|_| invalid_value(k))?),
            (_, "ids") => f.ids = Some(v.split(',').filter_map(|s| s.trim().parse().ok()).collect()),
            (_, "created_at_min") => f.created_min = Some(time()?),
            (_, "created_at_max") => f.created_max = Some(time()?),
            (_, "updated_at_min") => f.updated_min = Some(time()?),
            (_, "updated_at_max") => f.updated_max = Some(time()?),
            (Kind::Products, "vendor") => f.exact.push(("vendor", vec![v.clone()])),
            (Kind::Products, "product_type") => f.exact.push(("product_type", vec![v.clone()])),
            (Kind::Products, "title") => f.exact.push(("title", vec![v.clone()])),
            (Kind::Products, "handle") => {
                f.exact.push(("handle", v.split(',').map(|s| s.trim().to_string()).collect()))
            }
            (Kind::Products, "status") => {
                f.exact.push(("status", v.split(',').map(|s| s.trim().to_string()).collect()))
            }
            (Kind::Orders, "status") => match v.as_str() {
                "open" | "closed" | "cancelled" | "any" => f.order_status = Some(v.clone()),
                _ => return Err(invalid_value(k)),
            },
            (Kind::Orders, "financial_status") if v != "any" => f.exact.push(("financial_status", vec![v.clone()])),
            (Kind::Orders, "fulfillment_status") => f.fulfillment = Some(v.clone()),
            // Like Rails, parameters an endpoint does not know are ignored.
            _ => {}
        }
    }
    Ok(f)
}

impl Filters {
    fn keep(&self, row: &Row) -> bool {
        let rec = &row.rec;
        self.since_id.is_none_or(|s| row.id > s)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&row.id))
            && self.created_min.is_none_or(|t| row.created >= t)
            && self.created_max.is_none_or(|t| row.created <= t)
            && self.updated_min.is_none_or(|t| row.updated >= t)
            && self.updated_max.is_none_or(|t| row.updated <= t)
            && self.exact.iter().all(|(field, values)| {
                rec.get(*field).and_then(Value::as_str).is_some_and(|v| values.iter().any(|x| x == v))
            })
            && self.order_status.as_deref().is_none_or(|s| {
                let closed = !rec.get("closed_at").is_none_or(Value::is_null);
                let cancelled = !rec.get("cancelled_at").is_none_or(Value::is_null);
                match s {
                    "open" => !closed && !cancelled,
                    "closed" => closed,
                    "cancelled" => cancelled,
                    _ => true,
                }
            })
            && self.fulfillment.as_deref().is_none_or(|s| {
                let f = rec.get("fulfillment_status").and_then(Value::as_str);
                match s {
                    "shipped" => f == Some("fulfilled"),
                    "partial" => f == Some("partial"),
                    "unshipped" => f.is_none(),
                    "unfulfilled" => f != Some("fulfilled"),
                    _ => true,
                }
            })
    }
}

/// `page_info`: base64url JSON of the direction, the cursor id and the first request's filters.
fn encode_page_info(direction: &str, id: u64, filters: &BTreeMap<String, String>) -> String {
    let key = if direction == "next" { "last_id" } else { "first_id" };
    let text = json!({ "direction": direction, key: id, "filters": filters }).to_string();
    base64_encode(text.as_bytes()).replace('+', "-").replace('/', "_").trim_end_matches('=').to_string()
}

fn decode_page_info(token: &str) -> Option<(bool, u64, BTreeMap<String, String>)> {
    let standard = token.replace('-', "+").replace('_', "/");
    let bytes = base64_decode(&standard)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let next = match v.get("direction")?.as_str()? {
        "next" => true,
        "prev" => false,
        _ => return None,
    };
    let id = v.get(if next { "last_id" } else { "first_id" })?.as_u64()?;
    let mut filters = BTreeMap::new();
    for (k, val) in v.get("filters")?.as_object()? {
        filters.insert(k.clone(), val.as_str()?.to_string());
    }
    Some((next, id, filters))
}

fn parse_limit(req: &FakeRequest) -> Result<u64, FakeResponse> {
    match req.param("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(invalid_value("limit")),
        },
    }
}

/// `fields=id,email`: keep only those keys.
fn select(rec: &Map<String, Value>, fields: Option<&str>) -> Value {
    let wanted: Vec<&str> =
        fields.map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    if wanted.is_empty() {
        return Value::Object(rec.clone());
    }
    Value::Object(
        rec.iter().filter(|(k, _)| wanted.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

fn list(store: &Store, req: &FakeRequest, version: &str, kind: Kind) -> FakeResponse {
    let limit = match parse_limit(req) {
        Ok(l) => l as usize,
        Err(e) => return e,
    };
    let fields = req.param("fields");
    let (cursor, filter_pairs) = match req.param("page_info") {
        Some(token) => {
            let extra: Map<String, Value> = req
                .query
                .iter()
                .filter(|(k, _)| !["page_info", "limit", "fields"].contains(&k.as_str()))
                .map(|(k, _)| {
                    (k.clone(), json!(format!("{k} cannot be passed when page_info is present. {PAGINATION_DOC}")))
                })
                .collect();
            if !extra.is_empty() {
                return errors(400, Value::Object(extra));
            }
            match decode_page_info(token) {
                Some((next, id, filters)) => (Some((next, id)), filters),
                None => return invalid_value("page_info"),
            }
        }
        None => {
            let pairs: BTreeMap<String, String> =
                req.query.iter().filter(|(k, _)| !["limit", "fields"].contains(&k.as_str())).cloned().collect();
            (None, pairs)
        }
    };
    let filters = match parse_filters(kind, &filter_pairs) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let matching: Vec<&Row> = kind.rows(store).iter().filter(|r| filters.keep(r)).collect();
    let (page, has_prev, has_next): (&[&Row], bool, bool) = match cursor {
        None => {
            let end = matching.len().min(limit);
            (&matching[..end], false, matching.len() > limit)
        }
        Some((true, last)) => {
            let start = matching.partition_point(|r| r.id <= last);
            let end = matching.len().min(start + limit);
            (&matching[start..end], start > 0, matching.len() > end)
        }
        Some((false, first)) => {
            let end = matching.partition_point(|r| r.id < first);
            let start = end.saturating_sub(limit);
            (&matching[start..end], start > 0, matching.len() > end)
        }
    };
    let items: Vec<Value> = page.iter().map(|r| select(&r.rec, fields)).collect();
    let mut resp = FakeResponse::json(200, &json!({ kind.plural(): items }));
    let mut links = Vec::new();
    let base = format!("http://{}/admin/api/{version}/{}.json?limit={limit}", req.host(), kind.plural());
    let base = match fields {
        Some(f) => format!("{base}&fields={}", percent_encode(f)),
        None => base,
    };
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        if has_prev {
            let token = encode_page_info("prev", first.id, &filter_pairs);
            links.push(format!("<{base}&page_info={token}>; rel=\"previous\""));
        }
        if has_next {
            let token = encode_page_info("next", last.id, &filter_pairs);
            links.push(format!("<{base}&page_info={token}>; rel=\"next\""));
        }
    }
    if !links.is_empty() {
        resp = resp.with_header("Link", &links.join(", "));
    }
    resp
}

fn count(store: &Store, req: &FakeRequest, kind: Kind) -> FakeResponse {
    let pairs: BTreeMap<String, String> = req.query.iter().cloned().collect();
    match parse_filters(kind, &pairs) {
        Ok(f) => FakeResponse::json(200, &json!({ "count": kind.rows(store).iter().filter(|r| f.keep(r)).count() })),
        Err(e) => e,
    }
}

fn get_one(store: &Store, req: &FakeRequest, kind: Kind, id: u64) -> FakeResponse {
    match kind.rows(store).iter().find(|r| r.id == id) {
        Some(row) => FakeResponse::json(200, &json!({ kind.singular(): select(&row.rec, req.param("fields")) })),
        None => not_found(),
    }
}

// ------------------------------------------------------------------------------------------------ customer writes

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// E.164 (`+16135550100`), from `+1 613-555-0100`, `(613) 555-0100` (North America) and the like.
fn normalize_phone(s: &str) -> Option<String> {
    let trimmed = s.trim();
    let plus = trimmed.starts_with('+');
    let body = if plus { &trimmed[1..] } else { trimmed };
    if !body.chars().all(|c| c.is_ascii_digit() || " -().".contains(c)) {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    match (plus, digits.len()) {
        (true, 8..=15) if !digits.starts_with('0') => Some(format!("+{digits}")),
        (false, 10) => Some(format!("+1{digits}")),
        (false, 11) if digits.starts_with('1') => Some(format!("+{digits}")),
        _ => None,
    }
}

/// Tags as Shopify stores them: trimmed, de-duplicated, sorted, joined by ", ".
fn normalize_tags(v: &Value) -> String {
    let raw: Vec<String> = match v {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut tags: Vec<String> = raw.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    tags.join(", ")
}

fn text(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => Value::Null,
    }
}

fn country_of(input: &Map<String, Value>) -> (Value, Value) {
    let code = input.get("country_code").and_then(Value::as_str);
    let name = input.get("country").and_then(Value::as_str);
    let found = COUNTRIES.iter().find(|(c, n)| {
        code.is_some_and(|x| x.eq_ignore_ascii_case(c))
            || name.is_some_and(|x| x.eq_ignore_ascii_case(n) || x.eq_ignore_ascii_case(c))
    });
    match found {
        Some((c, n)) => (json!(c), json!(n)),
        None => (text(input.get("country_code")), text(input.get("country"))),
    }
}

fn province_of(input: &Map<String, Value>) -> (Value, Value) {
    let code = input.get("province_code").and_then(Value::as_str);
    let name = input.get("province").and_then(Value::as_str);
    let found = PROVINCES.iter().find(|(c, n)| {
        code.is_some_and(|x| x.eq_ignore_ascii_case(c))
            || name.is_some_and(|x| x.eq_ignore_ascii_case(n) || x.eq_ignore_ascii_case(c))
    });
    match found {
        Some((c, n)) => (json!(c), json!(n)),
        None => (text(input.get("province_code")), text(input.get("province"))),
    }
}

/// A customer address from request JSON, merged over `base` (an existing address or empty).
fn build_address(
    input: &Map<String, Value>,
    base: &Map<String, Value>,
    id: u64,
    customer_id: u64,
) -> Map<String, Value> {
    let mut a = base.clone();
    for k in ["first_name", "last_name", "company", "address1", "address2", "city", "zip", "phone"] {
        if input.contains_key(k) {
            a.insert(k.into(), text(input.get(k)));
        } else if !a.contains_key(k) {
            a.insert(k.into(), Value::Null);
        }
    }
    if input.contains_key("country") || input.contains_key("country_code") || !a.contains_key("country") {
        let (code, name) = country_of(input);
        a.insert("country".into(), name.clone());
        a.insert("country_code".into(), code);
        a.insert("country_name".into(), name);
    }
    if input.contains_key("province") || input.contains_key("province_code") || !a.contains_key("province") {
        let (code, name) = province_of(input);
        a.insert("province".into(), name);
        a.insert("province_code".into(), code);
    }
    let first = a.get("first_name").and_then(Value::as_str).unwrap_or("");
    let last = a.get("last_name").and_then(Value::as_str).unwrap_or("");
    let name = format!("{first} {last}").trim().to_string();
    a.insert("name".into(), json!(name));
    a.insert("id".into(), json!(id));
    a.insert("customer_id".into(), json!(customer_id));
    let default = input.get("default").and_then(Value::as_bool).or_else(|| a.get("default").and_then(Value::as_bool));
    a.insert("default".into(), json!(default.unwrap_or(false)));
    a
}

/// The `{"customer": {...}}` body, or Shopify's 400.
fn customer_input(req: &FakeRequest) -> Result<Map<String, Value>, FakeResponse> {
    let missing = || errors(400, json!({ "customer": "Required parameter missing or invalid" }));
    let body: Value = serde_json::from_slice(&req.body).map_err(|_| missing())?;
    match body.get("customer") {
        Some(Value::Object(c)) => Ok(c.clone()),
        _ => Err(missing()),
    }
}

fn add_problem(problems: &mut BTreeMap<String, Vec<String>>, field: &str, msg: &str) {
    problems.entry(field.to_string()).or_default().push(msg.to_string());
}

/// Applies `input` to a copy of `rec` and validates it against the other customers; 422 on problems.
fn apply_customer(
    store: &mut Store,
    rec: &Map<String, Value>,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<Map<String, Value>, FakeResponse> {
    let id = rec.get("id").and_then(Value::as_u64).unwrap_or(0);
    let mut c = rec.clone();
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in ["first_name", "last_name", "note", "currency"] {
        if input.contains_key(k) {
            c.insert(k.into(), text(input.get(k)));
        }
    }
    if let Some(v) = input.get("email") {
        match v {
            Value::Null => {
                c.insert("email".into(), Value::Null);
            }
            Value::String(s) if s.trim().is_empty() => {
                c.insert("email".into(), Value::Null);
            }
            Value::String(s) if is_email(s.trim()) => {
                let email = s.trim().to_ascii_lowercase();
                let taken = store.customers.iter().any(|r| {
                    r.id != id
                        && r.rec.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(&email))
                });
                if taken {
                    add_problem(&mut problems, "email", "has already been taken");
                }
                c.insert("email".into(), json!(email));
            }
            _ => add_problem(&mut problems, "email", "is invalid"),
        }
    }
    if let Some(v) = input.get("phone") {
        match v {
            Value::Null => {
                c.insert("phone".into(), Value::Null);
            }
            Value::String(s) if s.trim().is_empty() => {
                c.insert("phone".into(), Value::Null);
            }
            Value::String(s) => match normalize_phone(s) {
                Some(phone) => {
                    let taken = store
                        .customers
                        .iter()
                        .any(|r| r.id != id && r.rec.get("phone").and_then(Value::as_str) == Some(phone.as_str()));
                    if taken {
                        add_problem(&mut problems, "phone", "has already been taken");
                    }
                    c.insert("phone".into(), json!(phone));
                }
                None => add_problem(&mut problems, "phone", "is invalid"),
            },
            _ => add_problem(&mut problems, "phone", "is invalid"),
        }
    }
    if let Some(v) = input.get("tags") {
        c.insert("tags".into(), json!(normalize_tags(v)));
    }
    for k in ["verified_email", "tax_exempt"] {
        if let Some(b) = input.get(k).and_then(Value::as_bool) {
            c.insert(k.into(), json!(b));
        }
    }
    if let Some(s) = input.get("state").and_then(Value::as_str) {
        if ["disabled", "invited", "enabled", "declined"].contains(&s) {
            c.insert("state".into(), json!(s));
        }
    }
    let named = |k: &str| c.get(k).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    let anonymous = !named("first_name") && !named("last_name") && !named("email") && !named("phone");
    if creating && anonymous && problems.is_empty() {
        add_problem(&mut problems, "base", NEEDS_IDENTITY);
    }
    if let Some(list) = input.get("addresses").and_then(Value::as_array) {
        let mut addresses: Vec<Value> = c.get("addresses").and_then(Value::as_array).cloned().unwrap_or_default();
        for a in list.iter().filter_map(Value::as_object) {
            let existing =
                a.get("id").and_then(Value::as_u64).and_then(|aid| addresses.iter().position(|x| x["id"] == aid));
            let made_default = a.get("default").and_then(Value::as_bool) == Some(true);
            if made_default {
                for x in addresses.iter_mut() {
                    if let Some(o) = x.as_object_mut() {
                        o.insert("default".into(), json!(false));
                    }
                }
            }
            match existing {
                Some(pos) => {
                    let base = addresses[pos].as_object().cloned().unwrap_or_default();
                    let aid = base.get("id").and_then(Value::as_u64).unwrap_or(0);
                    addresses[pos] = Value::Object(build_address(a, &base, aid, id));
                }
                None => {
                    let aid = store.next_address;
                    store.next_address += 1;
                    addresses.push(Value::Object(build_address(a, &Map::new(), aid, id)));
                }
            }
        }
        if !addresses.iter().any(|x| x["default"] == true) {
            if let Some(o) = addresses.first_mut().and_then(Value::as_object_mut) {
                o.insert("default".into(), json!(true));
            }
        }
        c.insert("addresses".into(), Value::Array(addresses));
        set_default_address(&mut c);
    }
    if problems.is_empty() {
        Ok(c)
    } else {
        Err(errors(422, json!(problems)))
    }
}

fn create_customer(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let input = match customer_input(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let id = store.next_customer;
    let now = WRITE_BASE + store.writes as i64 + 1;
    let blank = obj(json!({
        "id": id,
        "email": null,
        "created_at": shop_time(now),
        "updated_at": shop_time(now),
        "first_name": null,
        "last_name": null,
        "orders_count": 0,
        "state": "disabled",
        "total_spent": "0.00",
        "last_order_id": null,
        "note": null,
        "verified_email": true,
        "multipass_identifier": null,
        "tax_exempt": false,
        "tags": "",
        "last_order_name": null,
        "currency": "USD",
        "phone": null,
        "addresses": [],
        "tax_exemptions": [],
        "admin_graphql_api_id": format!("gid://shopify/Customer/{id}")
    }));
    let next_address = store.next_address;
    let rec = match apply_customer(store, &blank, &input, true) {
        Ok(c) => c,
        Err(e) => {
            store.next_address = next_address;
            return e;
        }
    };
    let now = store.tick();
    store.next_customer += 1;
    store.customers.push(Row { id, created: now, updated: now, rec: rec.clone() });
    FakeResponse::json(201, &json!({ "customer": rec }))
}

fn update_customer(store: &mut Store, req: &FakeRequest, id: u64) -> FakeResponse {
    let Some(pos) = store.customers.iter().position(|r| r.id == id) else {
        return not_found();
    };
    let input = match customer_input(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let current = store.customers[pos].rec.clone();
    let next_address = store.next_address;
    let mut rec = match apply_customer(store, &current, &input, false) {
        Ok(c) => c,
        Err(e) => {
            store.next_address = next_address;
            return e;
        }
    };
    let now = store.tick();
    rec.insert("updated_at".into(), json!(shop_time(now)));
    if let Some(row) = store.customers.get_mut(pos) {
        row.rec = rec.clone();
        row.updated = now;
    }
    FakeResponse::json(200, &json!({ "customer": rec }))
}

fn delete_customer(store: &mut Store, id: u64) -> FakeResponse {
    match store.customers.iter().position(|r| r.id == id) {
        Some(pos) => {
            store.customers.remove(pos);
            FakeResponse::json(200, &json!({}))
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(shop_time(SEED_BASE), "2024-01-05T10:00:00-05:00");
        assert_eq!(shop_time(WRITE_BASE), "2025-01-01T00:00:00-05:00");
        assert_eq!(parse_time("2024-01-05T10:00:00-05:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T15:00:00Z"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T15:00:00.123+00:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T10:00:00"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05"), Some(SEED_BASE - 10 * 3_600));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-13-01"), None);
        assert_eq!(parse_time("2024-01-05T10:00:00+"), None);
        assert_eq!(parse_time("2024-01-05T15:00:00+0000"), Some(SEED_BASE));
        assert_eq!(parse_time("2024-01-05T10:00:00é"), None);
        for t in [0, SEED_BASE, WRITE_BASE + 12_345, 951_782_400] {
            assert_eq!(parse_time(&shop_time(t)), Some(t));
        }
    }

    #[test]
    fn phones_and_tags() {
        assert_eq!(normalize_phone("+1 613-555-0100").as_deref(), Some("+16135550100"));
        assert_eq!(normalize_phone("(613) 555-0100").as_deref(), Some("+16135550100"));
        assert_eq!(normalize_phone("+33 1 23 45 67 89").as_deref(), Some("+33123456789"));
        assert_eq!(normalize_phone("555"), None);
        assert_eq!(normalize_phone("call me"), None);
        assert_eq!(normalize_tags(&json!(" vip,newsletter , vip,")), "newsletter, vip");
    }

    #[test]
    fn page_info_round_trip() {
        let mut f = BTreeMap::new();
        f.insert("status".to_string(), "any".to_string());
        let token = encode_page_info("next", 42, &f);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_page_info(&token), Some((true, 42, f)));
        assert_eq!(decode_page_info("garbage!"), None);
    }
}
