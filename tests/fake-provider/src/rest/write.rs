//! Writes to the generic REST items (`/rest/plain/items`): create (with Stripe-style
//! idempotency keys), merge-update, replace and delete. Every `/rest/*/items` style reads
//! the same `Data::items`, so writes show up in all of them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::http::{FakeRequest, FakeResponse, JSON};
use crate::shared::numbers::is_decimal_str;
use crate::shared::time::{iso_secs, WRITE_BASE_MS};
use crate::state::{IdempotentEntry, State};

const IDEMPOTENCY_MISMATCH: &str =
    "Keys for idempotent requests can only be used with the same parameters they were first used with";

fn not_found() -> FakeResponse {
    FakeResponse::message(404, "item not found")
}

/// The request body as a JSON object; 415 / 400 otherwise.
fn body_object(req: &FakeRequest) -> Result<Map<String, Value>, FakeResponse> {
    if !req.has_media_type(JSON) {
        return Err(FakeResponse::message(415, "Content-Type must be application/json"));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(FakeResponse::message(400, "request body must be a JSON object")),
        Err(e) => Err(FakeResponse::message(400, &format!("invalid JSON body: {e}"))),
    }
}

/// Every problem with `body` (field -> problem). `full` (POST, PUT) requires name and price.
fn validate(body: &Map<String, Value>, full: bool) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    let mut problem = |field: &str, msg: &str| {
        errors.insert(field.to_string(), msg.to_string());
    };
    for field in ["id", "created_at"] {
        if body.contains_key(field) {
            problem(field, "is read-only (assigned by the server)");
        }
    }
    match body.get("name") {
        None if full => problem("name", "is required"),
        None => {}
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(_) => problem("name", "must be a non-empty string"),
    }
    match body.get("price") {
        None if full => problem("price", "is required"),
        None | Some(Value::Number(_)) => {}
        Some(Value::String(s)) if is_decimal_str(s) => {}
        Some(_) => problem("price", "must be a number or a decimal string"),
    }
    // Optional fields: null is accepted (no value).
    match body.get("sku") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => problem("sku", "must be a string"),
    }
    match body.get("quantity") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(_) => problem("quantity", "must be an integer"),
    }
    match body.get("active") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(_) => problem("active", "must be a boolean"),
    }
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => problem("tags", "must be an array of strings"),
    }
    match body.get("attributes") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => problem("attributes", "must be an object"),
    }
    errors
}

fn validation_failed(errors: BTreeMap<String, String>) -> FakeResponse {
    FakeResponse::json(422, &json!({ "message": "validation failed", "errors": errors }))
}

/// Checks a body for a write; `full` for POST and PUT.
fn checked_body(req: &FakeRequest, full: bool) -> Result<Map<String, Value>, FakeResponse> {
    let body = body_object(req)?;
    let errors = validate(&body, full);
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(validation_failed(errors))
    }
}

/// Position of item `id` in `items`.
fn position(items: &[Value], id: &str) -> Option<usize> {
    let num = id.parse::<u64>().ok()?;
    items.iter().position(|it| it["id"].as_u64() == Some(num))
}

/// `POST /rest/plain/items`, honouring an `Idempotency-Key` header.
pub fn create(state: &State, req: &FakeRequest) -> FakeResponse {
    let key = req.header_value("idempotency-key").map(str::trim).filter(|k| !k.is_empty());
    let Some(key) = key else {
        return create_item(state, req);
    };
    // Held across the create so two concurrent requests with one key cannot both create.
    let mut rt = state.runtime();
    if let Some(entry) = rt.idempotency.get(key) {
        if !same_parameters(&entry.request_body, &req.body) {
            return FakeResponse::message(422, IDEMPOTENCY_MISMATCH);
        }
        let mut resp = FakeResponse::raw_json(entry.status, entry.body.clone());
        resp.headers = entry.headers.clone();
        return resp.with_header("Idempotent-Replayed", "true");
    }
    let resp = create_item(state, req);
    // Like Stripe, only requests that got to execute are remembered (not 4xx rejections).
    if (200..300).contains(&resp.status) {
        rt.idempotency.insert(
            key.to_string(),
            IdempotentEntry {
                request_body: req.body.clone(),
                status: resp.status,
                headers: resp.headers.clone(),
                body: resp.body.clone(),
            },
        );
    }
    resp
}

/// Same JSON value (formatting and key order aside), or the same bytes if either is not JSON.
fn same_parameters(first: &[u8], now: &[u8]) -> bool {
    match (serde_json::from_slice::<Value>(first), serde_json::from_slice::<Value>(now)) {
        (Ok(a), Ok(b)) => a == b,
        _ => first == now,
    }
}

fn create_item(state: &State, req: &FakeRequest) -> FakeResponse {
    let mut body = match checked_body(req, true) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut data = state.data_mut();
    let id = data.next_item_id();
    body.insert("id".into(), json!(id));
    body.insert("created_at".into(), Value::String(iso_secs(WRITE_BASE_MS.saturating_add(id.saturating_mul(1000)))));
    let item = Value::Object(body);
    data.items.push(item.clone());
    drop(data);
    FakeResponse::json(201, &item).with_header("Location", &format!("/rest/plain/items/{id}"))
}

/// `PATCH /rest/plain/items/{id}`: top-level fields in the body replace the stored ones.
pub fn patch(state: &State, req: &FakeRequest, id: &str) -> FakeResponse {
    write_existing(state, req, id, false)
}

/// `PUT /rest/plain/items/{id}`: the body replaces the item (keeping id and created_at).
pub fn put(state: &State, req: &FakeRequest, id: &str) -> FakeResponse {
    write_existing(state, req, id, true)
}

fn write_existing(state: &State, req: &FakeRequest, id: &str, replace: bool) -> FakeResponse {
    let body = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut data = state.data_mut();
    let Some(slot) = position(&data.items, id).and_then(|idx| data.items.get_mut(idx)) else {
        return not_found();
    };
    let errors = validate(&body, replace);
    if !errors.is_empty() {
        return validation_failed(errors);
    }
    let Some(stored) = slot.as_object_mut() else {
        return not_found();
    };
    if replace {
        let keep: Vec<(String, Value)> =
            ["id", "created_at"].iter().filter_map(|k| stored.get(*k).map(|v| ((*k).to_string(), v.clone()))).collect();
        stored.clear();
        stored.extend(keep);
    }
    stored.extend(body);
    FakeResponse::json(200, slot)
}

/// `DELETE /rest/plain/items/{id}`
pub fn delete(state: &State, id: &str) -> FakeResponse {
    let mut data = state.data_mut();
    match position(&data.items, id) {
        Some(idx) => {
            data.items.remove(idx);
            FakeResponse::no_content()
        }
        None => not_found(),
    }
}
