//! Customers: `GET /v3/customers` (filters, sorts, `include`, page or cursor pagination) and the batch writes
//! `POST`, `PUT` and `DELETE ?id:in=...`, all or nothing, with BigCommerce's field checks and unique e-mails.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{json, Map, Value};

use super::errors::{error, invalid_json, unprocessable};
use super::paging::{cursor_pagination, decode_cursor, pagination, DEFAULT_LIMIT, MAX_LIMIT};
use super::request::{batch, check_filters, date_param, integers, list_values, positive};
use super::seed_data::customer_record;
use super::store::{str_field, with_store, Row, Store};
use super::time::utc;
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::email::is_plain_email;
use crate::shared::paging::window;
use crate::state::State;

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

/// The ids of a `DELETE /v3/customers?id:in=...` that name existing customers: what that request will delete
/// (read before it runs, for webhooks; unknown ids are ignored by BigCommerce).
pub fn customers_to_delete(state: &State, req: &FakeRequest) -> Vec<u64> {
    let Ok(Some(ids)) = integers(req, "id:in") else {
        return Vec::new();
    };
    with_store(state, |s| s.customers.iter().map(|r| r.id).filter(|id| ids.contains(id)).collect())
}

pub(super) fn list_customers(store: &Store, req: &FakeRequest) -> FakeResponse {
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
    let Range { start, end } = window(rows.len(), (page - 1).saturating_mul(limit), limit);
    let slice = &rows[start..end];
    let data: Vec<Value> = slice.iter().map(|r| show(r)).collect();
    let mut meta = Map::new();
    meta.insert("pagination".into(), pagination(req, rows.len(), slice.len(), page, limit));
    if page == 1 && req.param("sort").is_none() {
        meta.insert("cursor_pagination".into(), cursor_pagination(req, slice, limit, false, end < rows.len()));
    }
    Ok(json!({ "data": data, "meta": meta }))
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
                } else if field == "email" && !is_plain_email(s) {
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

pub(super) fn create_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
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

pub(super) fn update_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
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

pub(super) fn delete_customers(store: &mut Store, req: &FakeRequest) -> FakeResponse {
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
