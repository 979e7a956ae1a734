//! The seeded customers (with addresses), products (with variants) and orders (with line items and an embedded
//! customer), each a pure function of its index.

use serde_json::{json, Map, Value};

use super::store::Row;
use super::time::{shop_time, SEED_BASE};
use crate::shared::json::object;
use crate::shared::numbers::money;
use crate::shared::seed::pick;

pub(super) const CUSTOMER_BASE_ID: u64 = 7_000_000_000;
pub(super) const ADDRESS_BASE_ID: u64 = 6_000_000_000;
const PRODUCT_BASE_ID: u64 = 8_000_000_000;
const VARIANT_BASE_ID: u64 = 9_000_000_000;
const ORDER_BASE_ID: u64 = 5_000_000_000;
const LINE_ITEM_BASE_ID: u64 = 11_000_000_000;

const FIRST: &[&str] = &["Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Zoe"];
const LAST: &[&str] = &["Martin", "Tremblay", "Roy", "Gagnon", "Smith", "Lee", "Wong", "Garcia", "Brown", "Cote"];
const CITIES: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Ottawa", "Ontario", "ON", "Canada", "CA", "K2P 1L4"),
    ("Montreal", "Quebec", "QC", "Canada", "CA", "H2X 1Y4"),
    ("New York", "New York", "NY", "United States", "US", "10001"),
    ("Austin", "Texas", "TX", "United States", "US", "73301"),
    ("Paris", "", "", "France", "FR", "75002"),
];

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

pub(super) fn gen_customer(i: u64) -> Row {
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
    let mut rec = object(json!({
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
pub(super) fn set_default_address(rec: &mut Map<String, Value>) {
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

pub(super) fn gen_product(i: u64) -> Row {
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
    let rec = object(json!({
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

pub(super) fn gen_order(i: u64, customers: u64, products: u64) -> Row {
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
    let rec = object(json!({
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
