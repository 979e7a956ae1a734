//! The seeded customers and products, each a pure function of its index; also the blank customer record that
//! creates start from.

use serde_json::{json, Map, Value};

use super::store::Row;
use super::time::{utc, SEED_BASE};
use crate::shared::json::object;
use crate::shared::seed::pick;

const FIRST: &[&str] = &["Jane", "John", "Priya", "Wei", "Carlos", "Amara", "Lena", "Omar", "Sara", "Tom"];
const LAST: &[&str] = &["Smith", "Doe", "Patel", "Chen", "Garcia", "Okafor", "Novak", "Haddad", "Berg", "Moriarty"];

pub(super) fn customer_record(id: u64, created: i64, modified: i64) -> Map<String, Value> {
    object(json!({
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

pub(super) fn gen_customer(i: u64) -> Row {
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

pub(super) fn gen_product(i: u64) -> Row {
    let n = i + 1;
    let created = SEED_BASE + i as i64 * 86_400;
    let modified = created + (i % 4) as i64 * 3_600;
    let price_cents = 999 + (i * 1_234 % 20_000);
    let sale_cents = if n.is_multiple_of(4) { price_cents * 8 / 10 } else { 0 };
    let categories: Vec<u64> = (0..1 + i % 3).map(|k| 18 + (i + k * 5) % 7).collect();
    let rec = object(json!({
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
