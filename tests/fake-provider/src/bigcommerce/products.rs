//! Catalog products: `GET /v3/catalog/products` (filters, `include_fields`, `exclude_fields`), `GET` one, and
//! the writes `PUT .../products/{id}` and the batch `PUT .../products`, all or nothing, with the Catalog API's
//! field checks (422 `Invalid field(s)`) and unique names and SKUs (409).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::{error, invalid_fields, invalid_json, product_not_found};
use super::paging::{pagination, DEFAULT_LIMIT, MAX_LIMIT};
use super::request::{batch, bool_param, check_filters, integers, list_values, positive};
use super::store::{str_field, Row, Store};
use super::time::utc;
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::paging::window;

/// The most a product's `inventory_level` can hold: larger values are stored as this limit.
const MAX_INVENTORY: u64 = 2_147_483_647;

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

pub(super) fn list_products(store: &Store, req: &FakeRequest) -> FakeResponse {
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
    let slice = &rows[window(rows.len(), (page - 1).saturating_mul(limit), limit)];
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

pub(super) fn get_product(store: &Store, req: &FakeRequest, id: u64) -> FakeResponse {
    match store.products.iter().find(|r| r.id == id) {
        Some(row) => FakeResponse::json(200, &json!({ "data": product_view(&row.rec, req), "meta": {} })),
        None => product_not_found(json!({})),
    }
}

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

pub(super) fn update_product(store: &mut Store, req: &FakeRequest, id: u64) -> FakeResponse {
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

pub(super) fn update_products(store: &mut Store, req: &FakeRequest) -> FakeResponse {
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
