//! Products: create (optionally with a custom id), update and delete (refused while prices use the product),
//! with the hand-written parameter lists of the published spec (which the pruned copy in `specs/` lacks).

use serde_json::{json, Value};

use super::errors::{cannot_unset, coded, invalid, no_such, unknown_param, ApiError};
use super::params::{
    apply_metadata, check_known, list_of_strings, nullable_string, optional_string, parse_bool, string_param, Params, P,
};
use super::seed_data::{product_record, stripe_id, PRODUCT_WRITE_DOMAIN, WRITE_BASE};
use super::store::{insert_sorted, rec_id, Rec, Store};

/// Top-level parameters each products endpoint accepts (from the published spec); anything else is
/// `parameter_unknown`. Customers are checked against the spec itself (`spec`).
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

pub(super) fn create_product(store: &mut Store, params: &Params) -> Result<Value, ApiError> {
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

pub(super) fn update_product(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
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

pub(super) fn delete_product(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
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
