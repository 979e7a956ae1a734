//! Customers: retrieve (a deleted one is a stub), create, update (only what is sent changes; an empty value
//! unsets) and delete. Their parameters were checked against the published spec before these run.

use serde_json::{json, Value};

use super::errors::{coded, invalid, no_such, unknown_param, ApiError};
use super::list::get_one;
use super::params::{
    apply_metadata, first_nested_name, list_of_strings, nullable_string, parse_int, string_param, Params, P,
};
use super::seed_data::{customer_record, invoice_prefix, stripe_id, CUSTOMER_WRITE_DOMAIN, WRITE_BASE};
use super::store::{insert_sorted, rec_id, Rec, Store};
use crate::shared::email::is_plain_email;

fn deleted_stub(id: &str) -> Value {
    json!({ "id": id, "object": "customer", "deleted": true })
}

pub(super) fn get_customer(store: &Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    if store.deleted_customers.contains(id) {
        return Ok(deleted_stub(id));
    }
    get_one(&store.customers, "customer", id, params)
}

/// Stripe's e-mail check: the plain syntax, without control characters.
fn is_email(s: &str) -> bool {
    is_plain_email(s) && !s.chars().any(char::is_control)
}

/// Applies create/update parameters to a copy of `rec`; nothing changes on error.
fn apply_customer(rec: &Rec, params: &Params) -> Result<Rec, ApiError> {
    let mut c = rec.clone();
    for (name, p) in params {
        let name = name.as_str();
        match name {
            "email" => {
                let s = string_param(name, p)?;
                if s.is_empty() {
                    c.insert("email".into(), Value::Null);
                } else if is_email(s) {
                    c.insert("email".into(), json!(s));
                } else {
                    return Err(coded("email_invalid", &format!("Invalid email address: {s}"), "email"));
                }
            }
            "name" | "description" | "phone" | "invoice_prefix" => {
                c.insert(name.into(), nullable_string(name, p)?);
            }
            "balance" => {
                c.insert("balance".into(), json!(parse_int(name, p)?));
            }
            "address" => {
                let address = match p {
                    P::S(s) if s.is_empty() => Value::Null,
                    P::S(_) | P::L(_) => return Err(invalid("Invalid object", Some("address"))),
                    P::M(m) => {
                        let mut a = match c.get("address") {
                            Some(Value::Object(a)) => a.clone(),
                            _ => ["city", "country", "line1", "line2", "postal_code", "state"]
                                .iter()
                                .map(|k| (k.to_string(), Value::Null))
                                .collect(),
                        };
                        for (k, v) in m {
                            if !["city", "country", "line1", "line2", "postal_code", "state"].contains(&k.as_str()) {
                                return Err(unknown_param(&first_nested_name(&format!("address[{k}]"), v)));
                            }
                            a.insert(k.clone(), nullable_string(&format!("address[{k}]"), v)?);
                        }
                        Value::Object(a)
                    }
                };
                c.insert("address".into(), address);
            }
            "metadata" => {
                let current = c.get("metadata").cloned().unwrap_or(Value::Null);
                c.insert("metadata".into(), apply_metadata(&current, p)?);
            }
            "preferred_locales" => {
                c.insert(name.into(), json!(list_of_strings(name, p)?));
            }
            "tax_exempt" => {
                let s = string_param(name, p)?;
                let value = match s {
                    "" => "none",
                    "none" | "exempt" | "reverse" => s,
                    _ => {
                        return Err(invalid(
                            "Invalid tax_exempt: must be one of exempt, none, or reverse",
                            Some("tax_exempt"),
                        ))
                    }
                };
                c.insert("tax_exempt".into(), json!(value));
            }
            // `expand` only changes how related objects are shown; this fake shows ids.
            "expand" => {
                list_of_strings(name, p)?;
            }
            // Known to the spec (checked before) but not modelled by the fake: payment sources, discounts,
            // shipping, tax ids...
            _ => {}
        }
    }
    Ok(c)
}

pub(super) fn create_customer(store: &mut Store, params: &Params) -> Result<Value, ApiError> {
    let n = store.writes + 1;
    let blank = customer_record(
        stripe_id("cus_", CUSTOMER_WRITE_DOMAIN, n),
        WRITE_BASE + n as i64,
        invoice_prefix(CUSTOMER_WRITE_DOMAIN, n),
    );
    let c = apply_customer(&blank, params)?;
    store.tick();
    insert_sorted(&mut store.customers, c.clone());
    Ok(Value::Object(c))
}

pub(super) fn update_customer(store: &mut Store, id: &str, params: &Params) -> Result<Value, ApiError> {
    let Some(idx) = store.customers.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "customer", id, "id"));
    };
    let updated = apply_customer(&store.customers[idx], params)?;
    store.customers[idx] = updated.clone();
    Ok(Value::Object(updated))
}

pub(super) fn delete_customer(store: &mut Store, id: &str) -> Result<Value, ApiError> {
    let Some(idx) = store.customers.iter().position(|r| rec_id(r) == id) else {
        return Err(no_such(404, "customer", id, "id"));
    };
    store.customers.remove(idx);
    store.deleted_customers.insert(id.to_string());
    Ok(deleted_stub(id))
}
