//! HubSpot's rules for written property values (unknown and read-only properties, e-mail, number, date and
//! option syntax) and how a write that breaks them, or the duplicate-email rule, is answered: alone, or as one
//! entry of a batch's 207.

use serde_json::{json, Map, Value};

use super::data::{ObjectType, PropRef, DEAL_STAGES};
use super::errors::not_found;
use super::input::{invalid_input, PropInput};
use crate::http::FakeResponse;
use crate::shared::json::push_json_str;
use crate::shared::numbers::{is_decimal_str, is_integer_str};
use crate::shared::time::parse_iso_ms;
use crate::state::State;

/// One rejected property, as HubSpot lists it in "Property values were not valid".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PropError {
    name: String,
    error: &'static str,
    message: String,
}

/// Why one record could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WriteError {
    /// 400: one entry per rejected property.
    Invalid(Vec<PropError>),
    /// 409: a contact with this e-mail exists (`email` as sent, `existing` its id).
    Duplicate { email: String, existing: u64 },
    /// 404: no active record with this id.
    NotFound(String),
}

/// A simple `local@domain.tld` check (no spaces, one `@`, a dot-separated domain).
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c);
    if local.is_empty() || local.chars().any(bad_char) || domain.chars().any(bad_char) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic))
}

/// Every problem with the given property values, in the order of `props`.
pub(super) fn validate(ty: &ObjectType, props: &PropInput) -> Vec<PropError> {
    let mut errors = Vec::new();
    for (name, value) in props {
        let err = |error: &'static str, message: String| PropError { name: name.clone(), error, message };
        match ty.resolve(name) {
            None => errors.push(err("PROPERTY_DOESNT_EXIST", format!("Property \"{name}\" does not exist"))),
            Some(PropRef::Stored(_)) => {
                let Some(v) = value else { continue };
                match (ty.name, name.as_str()) {
                    ("contacts", "email") if !is_email(v) => {
                        errors.push(err("INVALID_EMAIL", format!("Email address {v} is invalid")))
                    }
                    ("companies", "numberofemployees") if !is_integer_str(v) => {
                        errors.push(err("INVALID_INTEGER", format!("{v} was not a valid number.")))
                    }
                    ("companies", "annualrevenue") | ("deals", "amount") if !is_decimal_str(v) => {
                        errors.push(err("INVALID_DECIMAL", format!("{v} was not a valid number.")))
                    }
                    ("deals", "dealstage") if !DEAL_STAGES.contains(&v.as_str()) => errors.push(err(
                        "INVALID_OPTION",
                        format!("{v} was not one of the allowed options: [{}]", DEAL_STAGES.join(", ")),
                    )),
                    ("deals", "pipeline") if v != "default" => {
                        errors.push(err("INVALID_OPTION", format!("{v} was not one of the allowed options: [default]")))
                    }
                    ("deals", "closedate") if datetime_ms(v).is_none() => errors
                        .push(err("INVALID_DATE", format!("{v} was not a valid date or epoch millisecond value."))),
                    ("deals", "hubspot_owner_id") if !is_integer_str(v) => {
                        errors.push(err("INVALID_OWNER_ID", format!("{v} is not a valid owner id")))
                    }
                    _ => {}
                }
            }
            Some(_) => {
                errors.push(err("READ_ONLY_VALUE", format!("{name} is a read only property; its value cannot be set.")))
            }
        }
    }
    errors
}

/// `Property values were not valid: [...]`, the array serialised in HubSpot's key order.
fn invalid_message(errors: &[PropError]) -> String {
    let mut out = String::from("Property values were not valid: [");
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"isValid\":false,\"message\":");
        push_json_str(&mut out, &e.message);
        out.push_str(",\"error\":");
        push_json_str(&mut out, e.error);
        out.push_str(",\"name\":");
        push_json_str(&mut out, &e.name);
        out.push_str(",\"localizedErrorMessage\":");
        push_json_str(&mut out, &e.message);
        out.push('}');
    }
    out.push(']');
    out
}

fn duplicate_message(id: u64) -> String {
    format!("Contact already exists. Existing ID: {id}")
}

fn duplicate_detail(email: &str, id: u64) -> String {
    format!("A contact with email {email} already exists. Existing ID: {id}")
}

const NOT_FOUND_MESSAGE: &str = "Object not found.  objectId are usually numeric.";

/// The response a single-record endpoint gives for `err`.
pub(super) fn single_error(state: &State, err: &WriteError) -> FakeResponse {
    match err {
        WriteError::Invalid(errors) => invalid_input(state, &invalid_message(errors)),
        WriteError::Duplicate { email, existing } => FakeResponse::json(
            409,
            &json!({
                "status": "error",
                "message": duplicate_message(*existing),
                "errors": [{ "message": duplicate_detail(email, *existing), "in": "email" }],
                "correlationId": state.correlation_id(),
                "category": "OBJECT_ALREADY_EXISTS",
                "error": "CONTACT_EXISTS",
            }),
        ),
        WriteError::NotFound(id) => not_found(state, id),
    }
}

/// One entry of a 207 batch answer's `errors`.
pub(super) fn batch_error(err: &WriteError, trace: Option<&str>) -> Value {
    let (category, message, details) = match err {
        WriteError::Invalid(errors) => (
            "VALIDATION_ERROR",
            invalid_message(errors),
            errors.iter().map(|e| json!({ "message": e.message, "code": e.error, "in": e.name })).collect(),
        ),
        WriteError::Duplicate { email, existing } => (
            "OBJECT_ALREADY_EXISTS",
            duplicate_message(*existing),
            vec![json!({ "message": duplicate_detail(email, *existing), "in": "email" })],
        ),
        WriteError::NotFound(id) => (
            "OBJECT_NOT_FOUND",
            NOT_FOUND_MESSAGE.to_string(),
            vec![json!({
                "message": NOT_FOUND_MESSAGE,
                "code": "OBJECT_NOT_FOUND",
                "in": "id",
                "context": { "id": [id] },
            })],
        ),
    };
    let mut context = Map::new();
    if let Some(t) = trace {
        context.insert("objectWriteTraceId".into(), json!([t]));
    }
    json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": details,
    })
}

/// A datetime property value as epoch milliseconds: epoch milliseconds or an ISO 8601 date / date-time.
pub fn datetime_ms(v: &str) -> Option<i64> {
    if is_integer_str(v) {
        return v.parse::<i64>().ok();
    }
    parse_iso_ms(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for ok in ["a@b.co", "first.last+tag@mail.example.com", "x_y@sub-domain.example.org", "Ünï@exämple.de"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in
            ["", "plain", "@example.com", "a@", "a@b", "a@b.", "a@.com", "a b@c.com", "a@b@c.com", "a@b.c", "a@b.c0m"]
        {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_message_is_hubspot_text() {
        let msg = invalid_message(&[PropError {
            name: "x\"y".into(),
            error: "PROPERTY_DOESNT_EXIST",
            message: "Property \"x\"y\" does not exist".into(),
        }]);
        let (prefix, array) = msg.split_at("Property values were not valid: ".len());
        assert_eq!(prefix, "Property values were not valid: ");
        let parsed: Value = serde_json::from_str(array).unwrap_or(Value::Null);
        assert_eq!(parsed[0]["name"], "x\"y");
        assert_eq!(parsed[0]["isValid"], false);
        assert_eq!(parsed[0]["message"], "Property \"x\"y\" does not exist");
        assert_eq!(parsed[0]["localizedErrorMessage"], parsed[0]["message"]);
    }
}
