//! The seeded objects: customers, products, prices and invoices with Stripe-shaped ids, each a pure function of
//! its index; also the blank records that creates start from.

use serde_json::{json, Value};

use super::store::{sort_newest_first, Rec};
use crate::shared::json::object;
use crate::shared::seed::{pick, splitmix64, BASE62};
use crate::shared::time::{BASE_MS, WRITE_BASE_MS};

/// 2024-01-01T00:00:00Z: the first seeded object's `created`.
const SEED_BASE: i64 = (BASE_MS / 1000) as i64;
/// 2025-01-01T00:00:00Z: objects created through the API get `WRITE_BASE + n` (n counts writes).
pub(super) const WRITE_BASE: i64 = (WRITE_BASE_MS / 1000) as i64;

/// `prefix` + 14 alphanumerics, a pure function of (domain, n).
pub(super) fn stripe_id(prefix: &str, domain: u64, n: u64) -> String {
    let mut out = String::with_capacity(prefix.len() + 14);
    out.push_str(prefix);
    let mut x = splitmix64(domain.rotate_left(32) ^ n);
    for i in 0..14 {
        if i == 7 {
            x = splitmix64(x ^ n);
        }
        out.push(BASE62[(x % 62) as usize] as char);
        x /= 62;
    }
    out
}

const CUSTOMER_DOMAIN: u64 = 0x4355_5354;
pub(super) const CUSTOMER_WRITE_DOMAIN: u64 = 0x4355_5357;
const PRODUCT_DOMAIN: u64 = 0x5052_4f44;
pub(super) const PRODUCT_WRITE_DOMAIN: u64 = 0x5052_4f57;
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
pub(super) fn invoice_prefix(domain: u64, i: u64) -> String {
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

pub(super) fn customer_record(id: String, created: i64, prefix: String) -> Rec {
    object(json!({
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
    }))
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

pub(super) fn gen_customers(count: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(gen_customer).collect();
    sort_newest_first(&mut v);
    v
}

pub(super) fn product_record(id: String, name: &str, created: i64) -> Rec {
    object(json!({
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
    }))
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

pub(super) fn gen_products(count: u64, prices: u64) -> Vec<Rec> {
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
    object(json!({
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
    }))
}

pub(super) fn gen_prices(count: u64, products: u64) -> Vec<Rec> {
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
    object(json!({
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
    }))
}

pub(super) fn gen_invoices(count: u64, customers: u64) -> Vec<Rec> {
    let mut v: Vec<Rec> = (0..count).map(|k| gen_invoice(k, customers)).collect();
    sort_newest_first(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(customer_id(0), customer_id(0));
        assert_ne!(customer_id(0), customer_id(1));
        assert_eq!(customer_id(7).len(), 18);
        assert!(customer_id(7)[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
