//! The fake BigCommerce v3 API (`/stores/{store_hash}/v3/...`): customers (read and batch write) and catalog
//! products (list, get one, update one with `PUT .../catalog/products/{id}` and batch update with
//! `PUT .../catalog/products`). The only store is `abc123`.
//!
//! Like the real API: `X-Auth-Token`; `{"data": [...], "meta": {"pagination": {...}}}` with page/limit
//! pagination (and cursor pagination for customers); `id:in`, `email:in`, `name:like`... filters, anything
//! else is a 422; one record as `{"data": {...}, "meta": {}}`; batch writes of at most 10 items (413 beyond),
//! all or nothing; `{"status", "title", "type", "errors"}` error bodies (product field errors: 422
//! `Invalid field(s): ...` naming each field; duplicate product names or SKUs: 409); a request quota per time
//! window with `X-Rate-Limit-*` headers on every answer and 429 when it is used up. Ids, timestamps and data
//! are deterministic.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::http::{base64_decode, base64_encode, percent_encode, FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::{Config, State};

pub const MODULE: ProviderModule = ProviderModule {
    name: "bigcommerce",
    handles: |path| path.starts_with("/stores/"),
    handle,
    injected_error,
    seed,
    reset,
};

pub const STORE_HASH: &str = "abc123";
/// The `type` of every error body (as in recorded BigCommerce answers).
const ERROR_TYPE: &str = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";
const UNAUTHORIZED: &str =
    "Unauthorized - the v3 Auth client ID or token in the request are not a valid combination for this store.";
const MAX_BATCH: usize = 10;
/// The most a product's `inventory_level` can hold: larger values are stored as this limit.
const MAX_INVENTORY: u64 = 2_147_483_647;
const PRODUCT_NOT_FOUND: &str = "The requested product was not found.";
const MAX_LIMIT: u64 = 250;
const DEFAULT_LIMIT: u64 = 50;
/// 2024-01-05T10:00:00Z: the first seeded record.
const SEED_BASE: i64 = 1_704_448_800;
/// 2025-01-01T00:00:00Z: writes through the API are stamped `WRITE_BASE + n` (n counts writes).
const WRITE_BASE: i64 = 1_735_689_600;

const CUSTOMER_FILTERS: &[&str] = &[
    "page",
    "limit",
    "id:in",
    "company:in",
    "customer_group_id:in",
    "date_created",
    "date_created:min",
    "date_created:max",
    "date_modified",
    "date_modified:min",
    "date_modified:max",
    "email:in",
    "name:in",
    "name:like",
    "phone:in",
    "registration_ip_address:in",
    "include",
    "sort",
    "after",
    "before",
];
const PRODUCT_FILTERS: &[&str] = &[
    "page",
    "limit",
    "id",
    "id:in",
    "id:not_in",
    "name",
    "name:like",
    "sku",
    "sku:in",
    "type",
    "is_visible",
    "categories:in",
    "keyword",
    "include_fields",
    "exclude_fields",
];

// ------------------------------------------------------------------------------------------------ store

#[derive(Debug, Clone)]
struct Row {
    id: u64,
    created: i64,
    modified: i64,
    rec: Map<String, Value>,
}

#[derive(Debug)]
struct Store {
    /// Ascending id order.
    customers: Vec<Row>,
    products: Vec<Row>,
    next_customer: u64,
    writes: u64,
    quota: u64,
    window_ms: u64,
    window_start: Option<Instant>,
    used: u64,
    rate_limited: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("bigcommerce_customers", 250);
        Store {
            customers: (0..customers).map(gen_customer).collect(),
            products: (0..config.seed("bigcommerce_products", 60)).map(gen_product).collect(),
            next_customer: customers + 1,
            writes: 0,
            quota: config.seed("bigcommerce_quota", 150),
            window_ms: config.seed("bigcommerce_window_ms", 30_000).max(1),
            window_start: None,
            used: 0,
            rate_limited: 0,
        }
    }

    /// Milliseconds left in the current window (a new window starts with the next request once it ends).
    fn reset_ms(&mut self) -> u64 {
        let Some(start) = self.window_start else {
            return self.window_ms;
        };
        let elapsed = start.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
        if elapsed >= self.window_ms {
            self.window_start = None;
            self.used = 0;
            return self.window_ms;
        }
        self.window_ms - elapsed
    }

    /// Counts one request against the quota; false if the quota of this window is used up.
    fn take_request(&mut self) -> bool {
        self.reset_ms();
        if self.used >= self.quota {
            return false;
        }
        if self.window_start.is_none() {
            self.window_start = Some(Instant::now());
        }
        self.used += 1;
        true
    }

    fn rate_headers(&mut self, resp: FakeResponse) -> FakeResponse {
        let reset = self.reset_ms();
        resp.with_header("X-Rate-Limit-Requests-Quota", &self.quota.to_string())
            .with_header("X-Rate-Limit-Requests-Left", &self.quota.saturating_sub(self.used).to_string())
            .with_header("X-Rate-Limit-Time-Window-Ms", &self.window_ms.to_string())
            .with_header("X-Rate-Limit-Time-Reset-Ms", &reset.to_string())
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
        "bigcommerce_customers" => with_store(state, |s| {
            s.customers = (0..count).map(gen_customer).collect();
            s.next_customer = count + 1;
        }),
        "bigcommerce_products" => with_store(state, |s| s.products = (0..count).map(gen_product).collect()),
        // Not data sets but handy at run time: change the quota or the window (and start a new window).
        "bigcommerce_quota" => with_store(state, |s| {
            s.quota = count;
            s.window_start = None;
            s.used = 0;
        }),
        "bigcommerce_window_ms" => with_store(state, |s| {
            s.window_ms = count.max(1);
            s.window_start = None;
            s.used = 0;
        }),
        _ => return false,
    }
    true
}

fn reset(state: &State) {
    with_store(state, |s| {
        s.window_start = None;
        s.used = 0;
        s.rate_limited = 0;
    });
}

// ------------------------------------------------------------------------------------------------ time

/// `2024-01-05T10:00:00Z`.
fn utc(epoch: i64) -> String {
    let (y, m, d) = crate::data::civil_from_days(epoch.div_euclid(86_400));
    let secs = epoch.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3_600, secs / 60 % 60, secs % 60)
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

/// A date filter value: a Unix timestamp, `2024-05-14`, or `2024-05-14T09:34:00` with an optional `Z` or
/// offset (UTC when none).
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ts) = digits(s) {
        return Some(ts);
    }
    let date = s.get(..10)?;
    let b = date.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (digits(date.get(..4)?)?, digits(date.get(5..7)?)?, digits(date.get(8..10)?)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = crate::data::days_from_civil(y, m as u64, d as u64) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (hh, mm, ss) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?, digits(rest.get(6..8)?)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let zone = &rest[8..];
    let offset = match zone {
        "" | "Z" | "z" => 0,
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

const FIRST: &[&str] = &["Jane", "John", "Priya", "Wei", "Carlos", "Amara", "Lena", "Omar", "Sara", "Tom"];
const LAST: &[&str] = &["Smith", "Doe", "Patel", "Chen", "Garcia", "Okafor", "Novak", "Haddad", "Berg", "Moriarty"];

fn pick<'a>(items: &[&'a str], i: u64) -> &'a str {
    items.get((i % items.len() as u64) as usize).copied().unwrap_or("")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn customer_record(id: u64, created: i64, modified: i64) -> Map<String, Value> {
    obj(json!({
        "id": id,
        "authentication": { "force_password_reset": false },
        "company": "",
        "customer_group_id": 0,
        "email": "",
        "first_name": "",
        "last_name": "",
        "notes": "",
        "phone": "",
        "registration_ip_address": "",
        "tax_exempt_category": "",
        "date_created": utc(created),
        "date_modified": utc(modified),
        "accepts_product_review_abandoned_cart_emails": false,
        "store_credit_amounts": [{ "amount": 0 }],
        "origin_channel_id": 1,
        "channel_ids": null
    }))
}

fn gen_customer(i: u64) -> Row {
    let n = i + 1;
    let created = SEED_BASE + i as i64 * 4 * 3_600;
    let modified = created + (i % 5) as i64 * 86_400;
    let mut rec = customer_record(n, created, modified);
    let first = pick(FIRST, i);
    let last = pick(LAST, i / 3);
    rec.insert("email".into(), json!(format!("buyer{n}@example.com")));
    rec.insert("first_name".into(), json!(first));
    rec.insert("last_name".into(), json!(last));
    if n.is_multiple_of(3) {
        rec.insert("company".into(), json!(format!("Acme {}", n % 7)));
    }
    if n.is_multiple_of(2) {
        rec.insert("phone".into(), json!(format!("555-01{:02}-{:04}", n % 100, n)));
    }
    if n.is_multiple_of(9) {
        rec.insert("notes".into(), json!("Wholesale account"));
    }
    rec.insert("customer_group_id".into(), json!(n % 4));
    rec.insert("registration_ip_address".into(), json!(format!("203.0.113.{}", n % 250)));
    rec.insert("accepts_product_review_abandoned_cart_emails".into(), json!(n.is_multiple_of(3)));
    if n.is_multiple_of(5) {
        rec.insert("channel_ids".into(), json!([1]));
    }
    Row { id: n, created, modified, rec }
}

const PRODUCT_NAMES: &[&str] =
    &["Smith Journal", "Orbit Terrarium", "Canvas Laundry Cart", "Chemex Coffeemaker", "Able Brewing System"];

fn gen_product(i: u64) -> Row {
    let n = i + 1;
    let created = SEED_BASE + i as i64 * 86_400;
    let modified = created + (i % 4) as i64 * 3_600;
    let price_cents = 999 + (i * 1_234 % 20_000);
    let sale_cents = if n.is_multiple_of(4) { price_cents * 8 / 10 } else { 0 };
    let categories: Vec<u64> = (0..1 + i % 3).map(|k| 18 + (i + k * 5) % 7).collect();
    let rec = obj(json!({
        "id": n,
        "name": format!("{} {n}", pick(PRODUCT_NAMES, i)),
        "type": if n.is_multiple_of(5) { "digital" } else { "physical" },
        "sku": format!("BC-{n:05}"),
        "price": price_cents as f64 / 100.0,
        "sale_price": sale_cents as f64 / 100.0,
        "inventory_level": (n * 17) % 120,
        "is_visible": !n.is_multiple_of(6),
        "categories": categories,
        "date_created": utc(created),
        "date_modified": utc(modified)
    }));
    Row { id: n, created, modified, rec }
}

// ------------------------------------------------------------------------------------------------ errors

fn error(status: u16, title: &str, errors: Value) -> FakeResponse {
    FakeResponse::json(status, &json!({ "status": status, "title": title, "type": ERROR_TYPE, "errors": errors }))
}

fn unprocessable(title: &str) -> FakeResponse {
    error(422, title, json!({}))
}

fn injected_error(state: &State, status: u16) -> FakeResponse {
    let title = match status {
        401 => UNAUTHORIZED,
        404 => "Not Found",
        409 => "Conflict",
        413 => "The request payload is too large.",
        422 => "Unprocessable Entity",
        429 => "Too many requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        s if s >= 500 => "Internal Server Error",
        _ => "Bad Request",
    };
    with_store(state, |s| s.rate_headers(error(status, title, json!({}))))
}

// ------------------------------------------------------------------------------------------------ routing

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    if req.path == "/stores/_fake/rate_limited" {
        let n = with_store(state, |s| s.rate_limited);
        return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
    }
    let rest = req.path.strip_prefix("/stores/").unwrap_or("");
    let (hash, api) = rest.split_once('/').unwrap_or((rest, ""));
    Some(with_store(state, |store| {
        if req.header_value("x-auth-token") != Some(state.config.token.as_str()) {
            let resp = FakeResponse::json(401, &json!({ "status": 401, "title": UNAUTHORIZED, "type": ERROR_TYPE }));
            return store.rate_headers(resp);
        }
        if hash != STORE_HASH {
            return store.rate_headers(error(404, "Store not found", json!({})));
        }
        if !store.take_request() {
            store.rate_limited += 1;
            let retry = store.reset_ms().div_ceil(1_000).max(1);
            let resp = store.rate_headers(error(429, "Too many requests", json!({})));
            return resp.with_header("X-Retry-After", &retry.to_string());
        }
        let resp = route(store, req, api);
        store.rate_headers(resp)
    }))
}

/// The resources of the fake's API.
#[derive(Clone, Copy)]
enum Resource {
    Customers,
    Products,
    /// `v3/catalog/products/{product_id}`.
    Product(u64),
}

impl Resource {
    /// The resource of a path under `/stores/{hash}/` (without a trailing slash).
    fn of(path: &str) -> Option<Resource> {
        match path {
            "v3/customers" => Some(Resource::Customers),
            "v3/catalog/products" => Some(Resource::Products),
            _ => {
                let id = path.strip_prefix("v3/catalog/products/")?;
                // Only an integer names a product (as in BigCommerce's routes).
                (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| id.parse().ok())
                    .flatten()
                    .map(Resource::Product)
            }
        }
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Resource::Customers => &["GET", "POST", "PUT", "DELETE"],
            Resource::Products | Resource::Product(_) => &["GET", "PUT"],
        }
    }
}

fn route(store: &mut Store, req: &FakeRequest, api: &str) -> FakeResponse {
    let Some(resource) = Resource::of(api.trim_end_matches('/')) else {
        return error(404, "Not Found", json!({}));
    };
    let allowed = resource.methods();
    if !allowed.contains(&req.method.as_str()) {
        return error(405, "Method Not Allowed", json!({})).with_header("Allow", &allowed.join(", "));
    }
    match (resource, req.method.as_str()) {
        (Resource::Customers, "GET") => list_customers(store, req),
        (Resource::Customers, "POST") => create_customers(store, req),
        (Resource::Customers, "PUT") => update_customers(store, req),
        (Resource::Customers, _) => delete_customers(store, req),
        (Resource::Products, "GET") => list_products(store, req),
        (Resource::Products, _) => update_products(store, req),
        (Resource::Product(id), "GET") => get_product(store, req, id),
        (Resource::Product(id), _) => update_product(store, req, id),
    }
}

// ------------------------------------------------------------------------------------------------ lists

/// The ids of a `DELETE /v3/customers?id:in=...` that name existing customers: what that request will delete
/// (read before it runs, for webhooks; unknown ids are ignored by BigCommerce).
pub fn customers_to_delete(state: &State, req: &FakeRequest) -> Vec<u64> {
    let Ok(Some(ids)) = integers(req, "id:in") else {
        return Vec::new();
    };
    with_store(state, |s| s.customers.iter().map(|r| r.id).filter(|id| ids.contains(id)).collect())
}

fn check_filters(req: &FakeRequest, known: &[&str]) -> Result<(), FakeResponse> {
    let mut unknown: Vec<&str> = Vec::new();
    for (k, _) in &req.query {
        if !known.contains(&k.as_str()) && !unknown.contains(&k.as_str()) {
            unknown.push(k);
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(&format!("The filter(s): {} are not valid filter parameter(s).", unknown.join(", "))))
    }
}

fn list_values<'a>(req: &'a FakeRequest, name: &str) -> Option<Vec<&'a str>> {
    req.param(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
}

fn integers(req: &FakeRequest, name: &str) -> Result<Option<Vec<u64>>, FakeResponse> {
    let Some(values) = list_values(req, name) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v.parse::<u64>() {
            Ok(n) => out.push(n),
            Err(_) => {
                return Err(unprocessable(&format!(
                    "Query parameter \"{name}\" value may contain only integer values. For input string: \"{v}\"."
                )))
            }
        }
    }
    Ok(Some(out))
}

fn positive(req: &FakeRequest, name: &str, default: u64, max: u64) -> Result<u64, FakeResponse> {
    match req.param(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 && n <= max => Ok(n),
            Ok(_) => Err(unprocessable(&format!("Query parameter \"{name}\" value must be between 1 and {max}."))),
            Err(_) => Err(unprocessable(&format!(
                "Query parameter \"{name}\" value may contain only integer values. For input string: \"{raw}\"."
            ))),
        },
    }
}

fn date_param(req: &FakeRequest, name: &str) -> Result<Option<i64>, FakeResponse> {
    match req.param(name) {
        None => Ok(None),
        Some(raw) => parse_date(raw).map(Some).ok_or_else(|| {
            unprocessable(&format!(
                "Query parameter \"{name}\" value is not a valid date. For input string: \"{raw}\"."
            ))
        }),
    }
}

fn bool_param(req: &FakeRequest, name: &str) -> Result<Option<bool>, FakeResponse> {
    match req.param(name) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(raw) => Err(unprocessable(&format!(
            "Query parameter \"{name}\" value may contain only boolean values. For input string: \"{raw}\"."
        ))),
    }
}

/// Query string of a pagination link: `page` and `limit` first, then the request's other parameters.
fn page_link(req: &FakeRequest, page: u64, limit: u64) -> String {
    let mut out = format!("?page={page}&limit={limit}");
    for (k, v) in &req.query {
        if k == "page" || k == "limit" {
            continue;
        }
        out.push('&');
        out.push_str(k);
        out.push('=');
        out.push_str(&encode_value(v));
    }
    out
}

/// Percent-encodes a value but keeps `,` `:` and `@` readable.
fn encode_value(v: &str) -> String {
    percent_encode(v).replace("%2C", ",").replace("%3A", ":").replace("%40", "@")
}

/// `meta.pagination` for page `page` of `total` items.
fn pagination(req: &FakeRequest, total: usize, count: usize, page: u64, limit: u64) -> Value {
    let total_pages = (total as u64).div_ceil(limit);
    let mut links = Map::new();
    if page > 1 {
        links.insert("previous".into(), json!(page_link(req, page - 1, limit)));
    }
    links.insert("current".into(), json!(page_link(req, page, limit)));
    if page < total_pages {
        links.insert("next".into(), json!(page_link(req, page + 1, limit)));
    }
    json!({
        "total": total,
        "count": count,
        "per_page": limit,
        "current_page": page,
        "total_pages": total_pages,
        "links": links
    })
}

/// Customers cursor: base64 of `{"id":N}` (unpadded), as in BigCommerce's examples.
fn encode_cursor(id: u64) -> String {
    base64_encode(format!("{{\"id\":{id}}}").as_bytes()).trim_end_matches('=').to_string()
}

fn decode_cursor(s: &str) -> Option<u64> {
    let bytes = base64_decode(s.trim())?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("id")?.as_u64()
}

/// The request's filters (not `page`, `limit`, `after`, `before`), each prefixed with `&`.
fn filter_query(req: &FakeRequest) -> String {
    let mut out = String::new();
    for (k, v) in &req.query {
        if !["page", "limit", "after", "before"].contains(&k.as_str()) {
            out.push('&');
            out.push_str(k);
            out.push('=');
            out.push_str(&encode_value(v));
        }
    }
    out
}

fn cursor_pagination(req: &FakeRequest, page: &[&Row], limit: u64, more_before: bool, more_after: bool) -> Value {
    let (start, end) = match (page.first(), page.last()) {
        (Some(f), Some(l)) => (encode_cursor(f.id), encode_cursor(l.id)),
        _ => (String::new(), String::new()),
    };
    let filters = filter_query(req);
    let mut links = Map::new();
    if more_before && !start.is_empty() {
        links.insert("previous".into(), json!(format!("?limit={limit}&before={}{filters}", encode_value(&start))));
    }
    if more_after && !end.is_empty() {
        links.insert("next".into(), json!(format!("?limit={limit}&after={}{filters}", encode_value(&end))));
    }
    let mut cp = Map::new();
    cp.insert("count".into(), json!(page.len()));
    cp.insert("per_page".into(), json!(limit));
    if !start.is_empty() {
        cp.insert("start_cursor".into(), json!(start));
        cp.insert("end_cursor".into(), json!(end));
    }
    cp.insert("links".into(), Value::Object(links));
    Value::Object(cp)
}

fn str_field<'a>(row: &'a Row, field: &str) -> &'a str {
    row.rec.get(field).and_then(Value::as_str).unwrap_or("")
}

fn list_customers(store: &Store, req: &FakeRequest) -> FakeResponse {
    match customers_page(store, req) {
        Ok(v) => FakeResponse::json(200, &v),
        Err(e) => e,
    }
}

fn customers_page(store: &Store, req: &FakeRequest) -> Result<Value, FakeResponse> {
    check_filters(req, CUSTOMER_FILTERS)?;
    let limit = positive(req, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = positive(req, "page", 1, u64::MAX)?;
    let ids = integers(req, "id:in")?;
    let groups = integers(req, "customer_group_id:in")?;
    let emails = list_values(req, "email:in");
    let names = list_values(req, "name:in");
    let likes = list_values(req, "name:like");
    let companies = list_values(req, "company:in");
    let phones = list_values(req, "phone:in");
    let ips = list_values(req, "registration_ip_address:in");
    let created = date_param(req, "date_created")?;
    let created_min = date_param(req, "date_created:min")?;
    let created_max = date_param(req, "date_created:max")?;
    let modified = date_param(req, "date_modified")?;
    let modified_min = date_param(req, "date_modified:min")?;
    let modified_max = date_param(req, "date_modified:max")?;
    let keep = |r: &&Row| {
        let full = format!("{} {}", str_field(r, "first_name"), str_field(r, "last_name"));
        let group = r.rec.get("customer_group_id").and_then(Value::as_u64).unwrap_or(0);
        ids.as_ref().is_none_or(|v| v.contains(&r.id))
            && groups.as_ref().is_none_or(|v| v.contains(&group))
            && emails.as_ref().is_none_or(|v| v.iter().any(|e| e.eq_ignore_ascii_case(str_field(r, "email"))))
            && names.as_ref().is_none_or(|v| v.iter().any(|n| n.eq_ignore_ascii_case(&full)))
            && likes.as_ref().is_none_or(|v| {
                let hay = full.to_lowercase();
                v.iter().any(|n| hay.contains(&n.to_lowercase()))
            })
            && companies.as_ref().is_none_or(|v| v.iter().any(|c| c.eq_ignore_ascii_case(str_field(r, "company"))))
            && phones.as_ref().is_none_or(|v| v.contains(&str_field(r, "phone")))
            && ips.as_ref().is_none_or(|v| v.contains(&str_field(r, "registration_ip_address")))
            && created.is_none_or(|t| r.created / 86_400 == t / 86_400)
            && created_min.is_none_or(|t| r.created >= t)
            && created_max.is_none_or(|t| r.created <= t)
            && modified.is_none_or(|t| r.modified / 86_400 == t / 86_400)
            && modified_min.is_none_or(|t| r.modified >= t)
            && modified_max.is_none_or(|t| r.modified <= t)
    };
    let mut rows: Vec<&Row> = store.customers.iter().filter(keep).collect();
    match req.param("sort") {
        None => {}
        Some("date_created:asc") => rows.sort_by_key(|r| (r.created, r.id)),
        Some("date_created:desc") => rows.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id))),
        Some("date_modified:asc") => rows.sort_by_key(|r| (r.modified, r.id)),
        Some("date_modified:desc") => rows.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.id.cmp(&b.id))),
        Some("last_name:asc") => {
            rows.sort_by(|a, b| str_field(a, "last_name").cmp(str_field(b, "last_name")).then(a.id.cmp(&b.id)))
        }
        Some("last_name:desc") => {
            rows.sort_by(|a, b| str_field(b, "last_name").cmp(str_field(a, "last_name")).then(a.id.cmp(&b.id)))
        }
        Some(other) => return Err(unprocessable(&format!("Invalid sort value: \"{other}\"."))),
    }
    let include: Vec<&str> = list_values(req, "include").unwrap_or_default();
    let show = |r: &Row| {
        let mut rec = r.rec.clone();
        if include.contains(&"addresses") {
            rec.insert("addresses".into(), json!([]));
            rec.insert("address_count".into(), json!(0));
        }
        if include.contains(&"attributes") {
            rec.insert("attributes".into(), json!([]));
            rec.insert("attribute_count".into(), json!(0));
        }
        if include.contains(&"formfields") {
            rec.insert("form_fields".into(), json!([]));
        }
        Value::Object(rec)
    };
    let limit_n = limit as usize;
    // Cursor pagination (`after` / `before`) walks the id order and only returns `cursor_pagination`.
    let cursor = match (req.param("after"), req.param("before")) {
        (Some(a), _) => Some((true, a)),
        (None, Some(b)) => Some((false, b)),
        (None, None) => None,
    };
    if let Some((after, raw)) = cursor {
        let Some(anchor) = decode_cursor(raw) else {
            return Err(unprocessable(&format!("Invalid cursor value: \"{raw}\".")));
        };
        rows.sort_by_key(|r| r.id);
        let (slice, more_before, more_after) = if after {
            let start = rows.partition_point(|r| r.id <= anchor);
            let end = rows.len().min(start + limit_n);
            (&rows[start..end], start > 0, end < rows.len())
        } else {
            let end = rows.partition_point(|r| r.id < anchor);
            let start = end.saturating_sub(limit_n);
            (&rows[start..end], start > 0, end < rows.len())
        };
        let data: Vec<Value> = slice.iter().map(|r| show(r)).collect();
        let meta = json!({ "cursor_pagination": cursor_pagination(req, slice, limit, more_before, more_after) });
        return Ok(json!({ "data": data, "meta": meta }));
    }
    let start = usize::try_from(page - 1).unwrap_or(usize::MAX).saturating_mul(limit_n).min(rows.len());
    let end = rows.len().min(start + limit_n);
    let slice = &rows[start..end];
    let data: Vec<Value> = slice.iter().map(|r| show(r)).collect();
    let mut meta = Map::new();
    meta.insert("pagination".into(), pagination(req, rows.len(), slice.len(), page, limit));
    if page == 1 && req.param("sort").is_none() {
        meta.insert("cursor_pagination".into(), cursor_pagination(req, slice, limit, false, end < rows.len()));
    }
    Ok(json!({ "data": data, "meta": meta }))
}

fn list_products(store: &Store, req: &FakeRequest) -> FakeResponse {
    match products_page(store, req) {
        Ok(v) => FakeResponse::json(200, &v),
        Err(e) => e,
    }
}

fn products_page(store: &Store, req: &FakeRequest) -> Result<Value, FakeResponse> {
    check_filters(req, PRODUCT_FILTERS)?;
    let limit = positive(req, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page = positive(req, "page", 1, u64::MAX)?;
    let id = integers(req, "id")?;
    let ids = integers(req, "id:in")?;
    let not_ids = integers(req, "id:not_in")?;
    let categories = integers(req, "categories:in")?;
    let visible = bool_param(req, "is_visible")?;
    let name = req.param("name");
    let likes = list_values(req, "name:like");
    let keyword = req.param("keyword").map(str::to_lowercase);
    let sku = req.param("sku");
    let skus = list_values(req, "sku:in");
    let kind = req.param("type");
    let keep = |r: &&Row| {
        let product_name = str_field(r, "name");
        let cats: Vec<u64> =
            r.rec.get("categories").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64).collect();
        id.as_ref().is_none_or(|v| v.contains(&r.id))
            && ids.as_ref().is_none_or(|v| v.contains(&r.id))
            && not_ids.as_ref().is_none_or(|v| !v.contains(&r.id))
            && categories.as_ref().is_none_or(|v| v.iter().any(|c| cats.contains(c)))
            && visible.is_none_or(|b| r.rec.get("is_visible") == Some(&json!(b)))
            && name.is_none_or(|n| n == product_name)
            && likes.as_ref().is_none_or(|v| v.iter().any(|n| product_name.to_lowercase().contains(&n.to_lowercase())))
            && keyword.as_deref().is_none_or(|k| {
                product_name.to_lowercase().contains(k) || str_field(r, "sku").to_lowercase().contains(k)
            })
            && sku.is_none_or(|s| s == str_field(r, "sku"))
            && skus.as_ref().is_none_or(|v| v.contains(&str_field(r, "sku")))
            && kind.is_none_or(|k| k == str_field(r, "type"))
    };
    let rows: Vec<&Row> = store.products.iter().filter(keep).collect();
    let limit_n = limit as usize;
    let start = usize::try_from(page - 1).unwrap_or(usize::MAX).saturating_mul(limit_n).min(rows.len());
    let end = rows.len().min(start + limit_n);
    let slice = &rows[start..end];
    let data: Vec<Value> = slice.iter().map(|r| product_view(&r.rec, req)).collect();
    Ok(json!({ "data": data, "meta": { "pagination": pagination(req, rows.len(), slice.len(), page, limit) } }))
}

/// A product as the API shows it: `include_fields` keeps only the named fields, `exclude_fields` drops the
/// named ones; the id always stays.
fn product_view(rec: &Map<String, Value>, req: &FakeRequest) -> Value {
    let include = list_values(req, "include_fields");
    let exclude = list_values(req, "exclude_fields");
    let keep = |k: &str| {
        k == "id"
            || (include.as_ref().is_none_or(|f| f.contains(&k)) && exclude.as_ref().is_none_or(|f| !f.contains(&k)))
    };
    Value::Object(rec.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn product_not_found(errors: Value) -> FakeResponse {
    error(404, PRODUCT_NOT_FOUND, errors)
}

fn get_product(store: &Store, req: &FakeRequest, id: u64) -> FakeResponse {
    match store.products.iter().find(|r| r.id == id) {
        Some(row) => FakeResponse::json(200, &json!({ "data": product_view(&row.rec, req), "meta": {} })),
        None => product_not_found(json!({})),
    }
}

// ------------------------------------------------------------------------------------------------ product writes

/// Field checks of a product update, in the style of the Catalog API (`Invalid field(s): ...` with one message
/// per field). Read-only fields (`id`, `date_created`, `date_modified`...) and fields the fake's products do
/// not hold are accepted and ignored, as BigCommerce ignores read-only fields.
fn check_product(item: &Map<String, Value>, errors: &mut Map<String, Value>) {
    let mut bad = |field: &str, message: String| {
        errors.entry(field.to_string()).or_insert_with(|| json!(message));
    };
    for (field, min, max) in [("name", 1, 250), ("sku", 0, 255)] {
        match item.get(field) {
            None => {}
            Some(Value::String(s)) => {
                let len = s.chars().count();
                if len < min || s.trim().chars().count() < min {
                    bad(field, format!("{field} must be at least {min} character(s) long"));
                } else if len > max {
                    bad(field, format!("{field} must be at most {max} characters long"));
                }
            }
            Some(_) => bad(field, format!("{field} must be a string")),
        }
    }
    if let Some(kind) = item.get("type") {
        if !matches!(kind.as_str(), Some("physical" | "digital")) {
            bad("type", "type must be one of: physical, digital".into());
        }
    }
    for field in ["price", "sale_price"] {
        match item.get(field) {
            None => {}
            Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0) => {}
            Some(Value::Number(_)) => bad(field, format!("{field} must be greater than or equal to 0")),
            Some(_) => bad(field, format!("{field} must be a number")),
        }
    }
    match item.get("inventory_level") {
        None => {}
        Some(v) if v.is_u64() => {}
        Some(v) if v.is_i64() => bad("inventory_level", "inventory_level must be greater than or equal to 0".into()),
        Some(_) => bad("inventory_level", "inventory_level must be an integer".into()),
    }
    if item.get("is_visible").is_some_and(|v| !v.is_boolean()) {
        bad("is_visible", "is_visible must be a boolean".into());
    }
    if item.get("categories").is_some_and(|v| !v.as_array().is_some_and(|a| a.iter().all(Value::is_u64))) {
        bad("categories", "categories must be an array of category ids".into());
    }
}

fn invalid_fields(errors: Map<String, Value>) -> FakeResponse {
    let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    let title = format!("Invalid field(s): {}", fields.join(", "));
    error(422, &title, Value::Object(errors))
}

/// The writable fields of `item` copied onto `rec` (prices as decimals, the inventory capped at BigCommerce's
/// limit).
fn apply_product(rec: &mut Map<String, Value>, item: &Map<String, Value>) {
    for field in ["name", "type", "sku", "is_visible", "categories"] {
        if let Some(v) = item.get(field) {
            rec.insert(field.into(), v.clone());
        }
    }
    for field in ["price", "sale_price"] {
        if let Some(x) = item.get(field).and_then(Value::as_f64) {
            rec.insert(field.into(), json!(x));
        }
    }
    if let Some(n) = item.get("inventory_level").and_then(Value::as_u64) {
        rec.insert("inventory_level".into(), json!(n.min(MAX_INVENTORY)));
    }
}

/// Applies `updates` (product id and fields, already checked) all or nothing: 404 if an id is unknown, 409 if a
/// name or SKU would be used twice. Answers the updated products in the order of `updates`.
fn write_products(
    store: &mut Store,
    req: &FakeRequest,
    updates: &[(u64, &Map<String, Value>)],
) -> Result<Vec<Value>, FakeResponse> {
    let mut unknown = Map::new();
    let mut positions = Vec::with_capacity(updates.len());
    for (i, (id, _)) in updates.iter().enumerate() {
        match store.products.iter().position(|r| r.id == *id) {
            Some(p) => positions.push(p),
            None => {
                unknown.insert(format!("{i}.id"), json!(format!("product {id} does not exist")));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(product_not_found(Value::Object(unknown)));
    }
    // The new records by position in `store.products`; a product named twice takes both updates in order.
    let mut next: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    for (pos, (_, item)) in positions.iter().zip(updates) {
        if let Some(row) = store.products.get(*pos) {
            apply_product(next.entry(*pos).or_insert_with(|| row.rec.clone()), item);
        }
    }
    // Names and non-empty SKUs stay unique, compared without regard to case.
    let mut conflicts = Map::new();
    for (field, shown) in [("name", "name"), ("sku", "SKU")] {
        // Lower-cased value -> (how many products hold it, the value as an updated product holds it).
        let mut holders: BTreeMap<String, (usize, Option<&str>)> = BTreeMap::new();
        for (pos, row) in store.products.iter().enumerate() {
            let rec = next.get(&pos).unwrap_or(&row.rec);
            let value = rec.get(field).and_then(Value::as_str).unwrap_or("");
            if value.is_empty() {
                continue;
            }
            let entry = holders.entry(value.to_lowercase()).or_insert((0, None));
            entry.0 += 1;
            if next.contains_key(&pos) {
                entry.1 = entry.1.or(Some(value));
            }
        }
        if let Some((_, Some(value))) = holders.values().find(|(n, updated)| *n > 1 && updated.is_some()) {
            conflicts.insert(field.to_string(), json!(format!("The product {shown} \"{value}\" is already in use.")));
        }
    }
    if !conflicts.is_empty() {
        return Err(error(409, "The product was in conflict with another product.", Value::Object(conflicts)));
    }
    // Stamped in the order of the request.
    for pos in &positions {
        let Some(rec) = next.remove(pos) else { continue };
        let now = store.tick();
        if let Some(row) = store.products.get_mut(*pos) {
            row.rec = rec;
            row.modified = now;
            row.rec.insert("date_modified".into(), json!(utc(now)));
        }
    }
    Ok(positions.iter().filter_map(|p| store.products.get(*p)).map(|r| product_view(&r.rec, req)).collect())
}

fn update_product(store: &mut Store, req: &FakeRequest, id: u64) -> FakeResponse {
    if !store.products.iter().any(|r| r.id == id) {
        return product_not_found(json!({}));
    }
    let item = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(o)) => o,
        _ => return invalid_json(json!({})),
    };
    let mut errors = Map::new();
    check_product(&item, &mut errors);
    if !errors.is_empty() {
        return invalid_fields(errors);
    }
    match write_products(store, req, &[(id, &item)]) {
        Ok(mut data) => FakeResponse::json(200, &json!({ "data": data.pop().unwrap_or(Value::Null), "meta": {} })),
        Err(e) => e,
    }
}

fn update_products(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let items = match batch(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let mut errors = Map::new();
    for item in &items {
        match item.get("id") {
            Some(v) if v.is_u64() => {}
            None | Some(Value::Null) => {
                errors.entry("id".to_string()).or_insert_with(|| json!("id is required for a batch update"));
            }
            Some(_) => {
                errors.entry("id".to_string()).or_insert_with(|| json!("id must be an integer"));
            }
        }
        check_product(item, &mut errors);
    }
    if !errors.is_empty() {
        return invalid_fields(errors);
    }
    let updates: Vec<(u64, &Map<String, Value>)> =
        items.iter().map(|i| (i.get("id").and_then(Value::as_u64).unwrap_or(0), i)).collect();
    match write_products(store, req, &updates) {
        Ok(data) => FakeResponse::json(200, &json!({ "data": data, "meta": {} })),
        Err(e) => e,
    }
}

// ------------------------------------------------------------------------------------------------ customer writes

fn invalid_json(errors: Value) -> FakeResponse {
    error(422, "JSON data is missing or invalid", errors)
}

fn too_large() -> FakeResponse {
    FakeResponse::json(
        413,
        &json!({
            "status": 413,
            "title": format!("The request payload is too large. The maximum items allowed in the array is {MAX_BATCH}."),
            "type": ERROR_TYPE
        }),
    )
}

/// The body as an array of 1..=10 objects.
fn batch(req: &FakeRequest) -> Result<Vec<Map<String, Value>>, FakeResponse> {
    let items = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Array(items)) => items,
        _ => return Err(invalid_json(json!({}))),
    };
    if items.len() > MAX_BATCH {
        return Err(too_large());
    }
    if items.is_empty() {
        return Err(invalid_json(json!({})));
    }
    items.into_iter().map(|i| if let Value::Object(o) = i { Ok(o) } else { Err(invalid_json(json!({}))) }).collect()
}

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

/// Field checks in the style of BigCommerce's JSON validation (`error.path.missing`, `error.email`...).
fn check_item(item: &Map<String, Value>, creating: bool, errors: &mut Map<String, Value>) {
    let mut bad = |field: &str, code: &str| {
        errors.entry(field.to_string()).or_insert_with(|| json!(code));
    };
    let required: &[&str] = if creating { &["email", "first_name", "last_name"] } else { &["id"] };
    for field in required {
        if item.get(*field).is_none_or(Value::is_null) {
            bad(field, "error.path.missing");
        }
    }
    for (field, max) in [
        ("email", 250),
        ("first_name", 100),
        ("last_name", 100),
        ("company", 255),
        ("phone", 50),
        ("notes", usize::MAX),
        ("tax_exempt_category", 255),
        ("registration_ip_address", 30),
    ] {
        match item.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                let min = if ["first_name", "last_name"].contains(&field) { 1 } else { 0 };
                if s.chars().count() < min {
                    bad(field, "error.minLength");
                } else if s.chars().count() > max {
                    bad(field, "error.maxLength");
                } else if field == "email" && !is_email(s) {
                    bad(field, "error.email");
                }
            }
            Some(_) => bad(field, "error.expected.jsstring"),
        }
    }
    for field in ["id", "customer_group_id", "origin_channel_id"] {
        if item.get(field).is_some_and(|v| !v.is_null() && !v.is_u64()) {
            bad(field, "error.expected.jsnumber");
        }
    }
    if item.get("accepts_product_review_abandoned_cart_emails").is_some_and(|v| !v.is_boolean()) {
        bad("accepts_product_review_abandoned_cart_emails", "error.expected.jsboolean");
    }
    if item
        .get("channel_ids")
        .is_some_and(|v| !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(Value::is_u64)))
    {
        bad("channel_ids", "error.expected.jsarray");
    }
}

fn apply(rec: &mut Map<String, Value>, item: &Map<String, Value>, creating: bool) {
    let mut fields = vec![
        "email",
        "first_name",
        "last_name",
        "company",
        "phone",
        "notes",
        "tax_exempt_category",
        "customer_group_id",
        "accepts_product_review_abandoned_cart_emails",
        "channel_ids",
    ];
    if creating {
        fields.push("origin_channel_id");
    } else {
        fields.push("registration_ip_address");
    }
    for f in fields {
        if let Some(v) = item.get(f) {
            rec.insert(f.into(), v.clone());
        }
    }
    if let Some(force) = item.get("authentication").and_then(|a| a.get("force_password_reset")).and_then(Value::as_bool)
    {
        rec.insert("authentication".into(), json!({ "force_password_reset": force }));
    }
    if let Some(amounts) = item.get("store_credit_amounts").and_then(Value::as_array) {
        rec.insert("store_credit_amounts".into(), Value::Array(amounts.clone()));
    }
}

fn email_of(v: &Map<String, Value>) -> Option<String> {
    v.get("email").and_then(Value::as_str).map(str::to_ascii_lowercase)
}

fn create_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let items = match batch(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let mut errors = Map::new();
    for item in &items {
        check_item(item, true, &mut errors);
    }
    if !errors.is_empty() {
        return invalid_json(Value::Object(errors));
    }
    let mut seen: Vec<String> = Vec::new();
    for item in &items {
        let Some(email) = email_of(item) else { continue };
        let taken = seen.contains(&email)
            || store.customers.iter().any(|r| email_of(&r.rec).as_deref() == Some(email.as_str()));
        if taken {
            let shown = item.get("email").and_then(Value::as_str).unwrap_or("");
            return error(
                422,
                "Create customers failed.",
                json!({ ".customer_create": format!("Error creating customers: email {shown} already in use") }),
            );
        }
        seen.push(email);
    }
    let mut created = Vec::with_capacity(items.len());
    for item in &items {
        let now = store.tick();
        let id = store.next_customer;
        store.next_customer += 1;
        let mut rec = customer_record(id, now, now);
        apply(&mut rec, item, true);
        created.push(Value::Object(rec.clone()));
        store.customers.push(Row { id, created: now, modified: now, rec });
    }
    FakeResponse::json(200, &json!({ "data": created, "meta": {} }))
}

fn update_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let items = match batch(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let mut errors = Map::new();
    for item in &items {
        check_item(item, false, &mut errors);
    }
    if !errors.is_empty() {
        return invalid_json(Value::Object(errors));
    }
    let mut positions = Vec::with_capacity(items.len());
    let mut unknown = Map::new();
    for (i, item) in items.iter().enumerate() {
        let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
        match store.customers.iter().position(|r| r.id == id) {
            Some(p) => positions.push(p),
            None => {
                unknown.insert(format!("{i}.id"), json!("invalid customer ID"));
            }
        }
    }
    if !unknown.is_empty() {
        return error(422, "Update customers failed.", Value::Object(unknown));
    }
    // Emails must stay unique, counting the other updates of this batch.
    let mut emails: BTreeMap<String, u64> = BTreeMap::new();
    for r in &store.customers {
        if let Some(e) = email_of(&r.rec) {
            emails.insert(e, r.id);
        }
    }
    for item in &items {
        let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
        emails.retain(|_, owner| *owner != id || item.get("email").is_none());
    }
    for item in &items {
        let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
        let Some(email) = email_of(item) else { continue };
        if emails.get(&email).is_some_and(|owner| *owner != id) {
            let shown = item.get("email").and_then(Value::as_str).unwrap_or("");
            return error(
                422,
                "Update customers failed.",
                json!({ ".customer_update": format!("Error updating customers: email {shown} already in use") }),
            );
        }
        emails.insert(email, id);
    }
    let mut updated = Vec::with_capacity(items.len());
    for (item, pos) in items.iter().zip(positions) {
        let now = store.tick();
        if let Some(row) = store.customers.get_mut(pos) {
            apply(&mut row.rec, item, false);
            row.modified = now;
            row.rec.insert("date_modified".into(), json!(utc(now)));
            updated.push(Value::Object(row.rec.clone()));
        }
    }
    FakeResponse::json(200, &json!({ "data": updated, "meta": {} }))
}

fn delete_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    // Without `id:in` BigCommerce answers 204 and deletes nothing; unknown ids are ignored.
    match integers(req, "id:in") {
        Ok(Some(ids)) => {
            store.customers.retain(|r| !ids.contains(&r.id));
            FakeResponse::no_content()
        }
        Ok(None) => FakeResponse::no_content(),
        Err(e) => e,
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc(SEED_BASE), "2024-01-05T10:00:00Z");
        assert_eq!(utc(WRITE_BASE), "2025-01-01T00:00:00Z");
        assert_eq!(parse_date("2024-01-05T10:00:00Z"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05T10:00:00"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05T05:00:00-05:00"), Some(SEED_BASE));
        assert_eq!(parse_date("2024-01-05"), Some(SEED_BASE - 10 * 3_600));
        assert_eq!(parse_date("1704448800"), Some(SEED_BASE));
        assert_eq!(parse_date("soon"), None);
        assert_eq!(parse_date("2024-01-05T10:00:00-"), None);
        assert_eq!(parse_date("2024-01-05T10:00:00+00"), Some(SEED_BASE));
    }

    #[test]
    fn cursors() {
        assert_eq!(encode_cursor(204), "eyJpZCI6MjA0fQ");
        assert_eq!(decode_cursor("eyJpZCI6MjA0fQ"), Some(204));
        assert_eq!(decode_cursor("!!"), None);
    }
}
