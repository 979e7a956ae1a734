//! Customer writes: `POST /admin/api/{version}/customers.json`, `PUT .../customers/{id}.json` and `DELETE`,
//! with Shopify's normalisation (lower-case e-mails, E.164 phones, sorted tags, country and province codes)
//! and its 422 validation (invalid or taken e-mail and phone, a customer without a name, phone or e-mail).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::{errors, not_found};
use super::seed_data::set_default_address;
use super::store::{Row, Store};
use super::time::{shop_time, WRITE_BASE};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::email::is_plain_email;
use crate::shared::json::object;

const NEEDS_IDENTITY: &str = "Customer must have a name, phone number or email address";

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
            Value::String(s) if is_plain_email(s.trim()) => {
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

pub(super) fn create_customer(store: &mut Store, req: &FakeRequest) -> FakeResponse {
    let input = match customer_input(req) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let id = store.next_customer;
    let now = WRITE_BASE + store.writes as i64 + 1;
    let blank = object(json!({
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

pub(super) fn update_customer(store: &mut Store, req: &FakeRequest, id: u64) -> FakeResponse {
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

pub(super) fn delete_customer(store: &mut Store, id: u64) -> FakeResponse {
    match store.customers.iter().position(|r| r.id == id) {
        Some(pos) => {
            store.customers.remove(pos);
            FakeResponse::json(200, &json!({}))
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_tags() {
        assert_eq!(normalize_phone("+1 613-555-0100").as_deref(), Some("+16135550100"));
        assert_eq!(normalize_phone("(613) 555-0100").as_deref(), Some("+16135550100"));
        assert_eq!(normalize_phone("+33 1 23 45 67 89").as_deref(), Some("+33123456789"));
        assert_eq!(normalize_phone("555"), None);
        assert_eq!(normalize_phone("call me"), None);
        assert_eq!(normalize_tags(&json!(" vip,newsletter , vip,")), "newsletter, vip");
    }
}
