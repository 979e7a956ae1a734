//! HubSpot CRM v3 object writes: create, update, archive, batch create and batch update,
//! with HubSpot's property validation, duplicate-email rule and batch partial success.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::data::{
    is_decimal_str, is_integer_str, iso_ms, parse_iso_ms, push_json_str, CrmRecord, CrmTable, ObjectType, PropRef,
    DEAL_STAGES, HOUR_MS, WRITE_BASE_MS,
};
use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot::{hubspot_error, not_found};
use crate::state::State;

/// Largest number of inputs a batch request accepts (same as HubSpot).
pub const MAX_BATCH: usize = 100;

/// Property values from a request body, in the order of the parsed JSON object (by name).
/// `None` clears the property.
type PropInput = Vec<(String, Option<String>)>;

/// One rejected property, as HubSpot lists it in "Property values were not valid".
#[derive(Debug, Clone, PartialEq, Eq)]
struct PropError {
    name: String,
    error: &'static str,
    message: String,
}

/// Why one record could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WriteError {
    /// 400: one entry per rejected property.
    Invalid(Vec<PropError>),
    /// 409: a contact with this e-mail exists (`email` as sent, `existing` its id).
    Duplicate { email: String, existing: u64 },
    /// 404: no active record with this id.
    NotFound(String),
}

/// One input of a batch request.
#[derive(Debug)]
struct BatchInput {
    id: Option<String>,
    props: PropInput,
    trace: Option<String>,
}

// ---------------------------------------------------------------- request parsing

fn invalid_input(state: &State, message: &str) -> FakeResponse {
    hubspot_error(state, 400, message, "VALIDATION_ERROR")
}

/// The request body as JSON; 415 without a JSON content type, 400 if it does not parse.
pub fn json_body(state: &State, req: &FakeRequest) -> Result<Value, FakeResponse> {
    if !req.has_json_content_type() {
        return Err(hubspot_error(state, 415, "Unsupported Media Type", "VALIDATION_ERROR"));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        // serde_json appends " at line L column C"; HubSpot puts the position first.
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let detail = text.strip_suffix(&suffix).unwrap_or(&text);
        invalid_input(state, &format!("Invalid input JSON on line {}, column {}: {detail}", e.line(), e.column()))
    })
}

/// The `properties` object of a create/update input.
fn parse_properties(input: &Value) -> Result<PropInput, String> {
    let Some(obj) = input.as_object() else {
        return Err("Invalid input JSON: expected an object with \"properties\"".to_string());
    };
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return Err("Invalid input JSON: \"properties\" must be an object of property values".to_string());
    };
    let mut out = Vec::with_capacity(props.len());
    for (name, value) in props {
        let v = match value {
            Value::Null => None,
            // HubSpot clears a property that is set to the empty string.
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(_) | Value::Object(_) => {
                let mut quoted = String::new();
                push_json_str(&mut quoted, name);
                return Err(format!(
                    "Invalid input JSON: the value of property {quoted} must be a string, number, boolean or null"
                ));
            }
        };
        out.push((name.clone(), v));
    }
    Ok(out)
}

/// `{"properties": {...}}` of a single create or update.
fn single_input(state: &State, req: &FakeRequest) -> Result<PropInput, FakeResponse> {
    let body = json_body(state, req)?;
    parse_properties(&body).map_err(|msg| invalid_input(state, &msg))
}

/// `{"inputs": [...]}` of a batch request; `with_id` for batch update.
fn batch_inputs(state: &State, req: &FakeRequest, with_id: bool) -> Result<Vec<BatchInput>, FakeResponse> {
    let body = json_body(state, req)?;
    let Some(inputs) = body.get("inputs").and_then(Value::as_array) else {
        return Err(invalid_input(state, "Invalid input JSON: \"inputs\" must be an array"));
    };
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(invalid_input(
            state,
            &format!("Batch input size must be between 1 and {MAX_BATCH}; got {}", inputs.len()),
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let props = parse_properties(input).map_err(|msg| invalid_input(state, &msg))?;
        let trace = match input.get("objectWriteTraceId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(invalid_input(state, "Invalid input JSON: \"objectWriteTraceId\" must be a string")),
        };
        let id = if with_id {
            match input.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => return Err(invalid_input(state, "Invalid input JSON: every input needs an \"id\" string")),
            }
        } else {
            None
        };
        out.push(BatchInput { id, props, trace });
    }
    if with_id {
        let mut seen = HashSet::new();
        let dups: Vec<&str> = out.iter().filter_map(|i| i.id.as_deref()).filter(|id| !seen.insert(*id)).collect();
        if !dups.is_empty() {
            return Err(invalid_input(
                state,
                &format!("Duplicate IDs found in batch input: [{}]. IDs must be unique", dups.join(", ")),
            ));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- validation

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
fn validate(ty: &ObjectType, props: &PropInput) -> Vec<PropError> {
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
fn single_error(state: &State, err: &WriteError) -> FakeResponse {
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
fn batch_error(err: &WriteError, trace: Option<&str>) -> Value {
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

// ---------------------------------------------------------------- record changes

/// The id of an active contact other than `except` whose e-mail equals `email` (ignoring case).
fn existing_email(table: &CrmTable, ty: &ObjectType, email: &str, except: Option<u64>) -> Option<u64> {
    let Some(PropRef::Stored(idx)) = ty.resolve("email") else {
        return None;
    };
    let wanted = email.to_lowercase();
    table
        .active
        .iter()
        .filter(|r| Some(r.id) != except)
        .find(|r| matches!(r.props.get(idx), Some(Some(v)) if v.to_lowercase() == wanted))
        .map(|r| r.id)
}

/// Validation plus the duplicate-email rule for a write to record `except` (or a new one).
fn check(table: &CrmTable, ty: &ObjectType, props: &PropInput, except: Option<u64>) -> Result<(), WriteError> {
    let errors = validate(ty, props);
    if !errors.is_empty() {
        return Err(WriteError::Invalid(errors));
    }
    if ty.is_contacts() {
        if let Some((_, Some(email))) = props.iter().find(|(n, _)| n == "email") {
            if let Some(existing) = existing_email(table, ty, email, except) {
                return Err(WriteError::Duplicate { email: email.clone(), existing });
            }
        }
    }
    Ok(())
}

/// A datetime property value as epoch milliseconds: epoch milliseconds or an ISO 8601 date / date-time.
pub fn datetime_ms(v: &str) -> Option<i64> {
    if is_integer_str(v) {
        return v.parse::<i64>().ok();
    }
    parse_iso_ms(v)
}

/// The stored form of a written value: datetime properties are kept as `2024-01-05T10:00:00.000Z`, as HubSpot
/// returns them whatever form they were written in.
fn normalise(ty: &ObjectType, name: &str, value: &str) -> String {
    if ty.is_deals() && name == "closedate" {
        if let Some(ms) = datetime_ms(value).and_then(|ms| u64::try_from(ms).ok()) {
            return iso_ms(ms);
        }
    }
    value.to_string()
}

fn apply(rec: &mut CrmRecord, ty: &ObjectType, props: &PropInput) {
    for (name, value) in props {
        if let Some(PropRef::Stored(idx)) = ty.resolve(name) {
            if let Some(slot) = rec.props.get_mut(idx) {
                *slot = value.as_deref().map(|v| Cow::Owned(normalise(ty, name, v)));
            }
        }
    }
}

/// A record as HubSpot returns it from a write: every property with a value, plus
/// `hs_object_id`, `createdate` and the type's last-modified property.
pub fn record_value(ty: &ObjectType, rec: &CrmRecord) -> Value {
    let mut props = Map::new();
    for (name, value) in ty.stored.iter().zip(&rec.props) {
        if let Some(v) = value {
            props.insert((*name).to_string(), Value::String(v.to_string()));
        }
    }
    props.insert("createdate".into(), Value::String(iso_ms(rec.created_ms)));
    props.insert(ty.modified_prop.into(), Value::String(iso_ms(rec.updated_ms)));
    props.insert("hs_object_id".into(), Value::String(rec.id.to_string()));
    let mut out = json!({
        "id": rec.id.to_string(),
        "properties": props,
        "createdAt": iso_ms(rec.created_ms),
        "updatedAt": iso_ms(rec.updated_ms),
        "archived": rec.archived,
    });
    if let (Some(at), Some(obj)) = (rec.archived_ms, out.as_object_mut()) {
        obj.insert("archivedAt".into(), Value::String(iso_ms(at)));
    }
    out
}

/// Creates one record (appended to `active`, so rolling back is a truncate).
fn create_one(table: &mut CrmTable, ty: &ObjectType, props: &PropInput) -> Result<Value, WriteError> {
    check(table, ty, props, None)?;
    let mut rec = CrmRecord::new_written(ty, table.next_id());
    apply(&mut rec, ty, props);
    let value = record_value(ty, &rec);
    table.active.push(rec);
    Ok(value)
}

/// Updates one active record; returns its new value and (index, previous state) for rollback.
fn update_one(
    table: &mut CrmTable,
    ty: &ObjectType,
    id: &str,
    props: &PropInput,
) -> Result<(Value, usize, CrmRecord), WriteError> {
    let idx = id.parse::<u64>().ok().and_then(|n| table.active_index(n));
    let Some(idx) = idx else {
        return Err(WriteError::NotFound(id.to_string()));
    };
    let Some(old) = table.active.get(idx).cloned() else {
        return Err(WriteError::NotFound(id.to_string()));
    };
    check(table, ty, props, Some(old.id))?;
    let mut rec = old.clone();
    apply(&mut rec, ty, props);
    // Like HubSpot's lastmodifieddate, a change is the newest modification of the table (so that
    // `updated_at >= last seen` finds it), on a deterministic clock.
    let newest = table.active.iter().map(|r| r.updated_ms).max().unwrap_or(0);
    rec.updated_ms = rec.updated_ms.saturating_add(HOUR_MS).max(newest.saturating_add(1000));
    let value = record_value(ty, &rec);
    if let Some(slot) = table.active.get_mut(idx) {
        *slot = rec;
    }
    Ok((value, idx, old))
}

// ---------------------------------------------------------------- endpoints

/// `POST /crm/v3/objects/{type}`
pub fn create(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
    let props = match single_input(state, req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let result = create_one(state.data_mut().table_mut(ty), ty, &props);
    match result {
        Ok(value) => FakeResponse::json(201, &value),
        Err(e) => single_error(state, &e),
    }
}

/// `PATCH /crm/v3/objects/{type}/{id}`
pub fn update(state: &State, req: &FakeRequest, ty: &ObjectType, id: &str) -> FakeResponse {
    let props = match single_input(state, req) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let result = update_one(state.data_mut().table_mut(ty), ty, id, &props);
    match result {
        Ok((value, _, _)) => FakeResponse::json(200, &value),
        Err(e) => single_error(state, &e),
    }
}

/// `DELETE /crm/v3/objects/{type}/{id}`: moves the record to the archive.
pub fn archive(state: &State, ty: &ObjectType, id: &str) -> FakeResponse {
    let archived = {
        let mut data = state.data_mut();
        let table = data.table_mut(ty);
        match id.parse::<u64>().ok().and_then(|n| table.active_index(n)) {
            Some(idx) => {
                let at = table.active.get(idx).map_or(WRITE_BASE_MS, |r| r.updated_ms.saturating_add(HOUR_MS));
                table.archive(idx, at).is_some()
            }
            None => false,
        }
    };
    if archived {
        FakeResponse::no_content()
    } else {
        not_found(state, id)
    }
}

/// `startedAt` / `completedAt` of batch answers (fixed, so test output is stable).
fn batch_times() -> (String, String) {
    (iso_ms(WRITE_BASE_MS), iso_ms(WRITE_BASE_MS + 1000))
}

fn with_trace(mut value: Value, trace: Option<&str>) -> Value {
    if let (Some(t), Some(obj)) = (trace, value.as_object_mut()) {
        obj.insert("objectWriteTraceId".into(), Value::String(t.to_string()));
    }
    value
}

/// The 200/201 or 207 answer of a batch request.
fn batch_answer(ok_status: u16, results: Vec<Value>, errors: Vec<Value>) -> FakeResponse {
    let (started, completed) = batch_times();
    if errors.is_empty() {
        return FakeResponse::json(
            ok_status,
            &json!({ "status": "COMPLETE", "results": results, "startedAt": started, "completedAt": completed }),
        );
    }
    FakeResponse::json(
        207,
        &json!({
            "status": "COMPLETE",
            "results": results,
            "numErrors": errors.len(),
            "errors": errors,
            "startedAt": started,
            "completedAt": completed,
        }),
    )
}

/// `POST /crm/v3/objects/{type}/batch/create`. Partial success only when every input
/// carries an `objectWriteTraceId`; otherwise the first failure cancels the whole batch.
pub fn batch_create(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
    let inputs = match batch_inputs(state, req, false) {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let partial = inputs.iter().all(|i| i.trace.is_some());
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let failure = {
        let mut data = state.data_mut();
        let table = data.table_mut(ty);
        let before = table.active.len();
        let mut failure = None;
        for input in &inputs {
            match create_one(table, ty, &input.props) {
                Ok(value) => results.push(with_trace(value, input.trace.as_deref())),
                Err(e) if partial => errors.push(batch_error(&e, input.trace.as_deref())),
                Err(e) => {
                    table.active.truncate(before);
                    failure = Some(e);
                    break;
                }
            }
        }
        failure
    };
    match failure {
        Some(e) => single_error(state, &e),
        None => batch_answer(201, results, errors),
    }
}

/// `POST /crm/v3/objects/{type}/batch/update`, with the same partial-success rule.
pub fn batch_update(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
    let inputs = match batch_inputs(state, req, true) {
        Ok(i) => i,
        Err(resp) => return resp,
    };
    let partial = inputs.iter().all(|i| i.trace.is_some());
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let failure = {
        let mut data = state.data_mut();
        let table = data.table_mut(ty);
        let mut undo: Vec<(usize, CrmRecord)> = Vec::new();
        let mut failure = None;
        for input in &inputs {
            let id = input.id.as_deref().unwrap_or("");
            match update_one(table, ty, id, &input.props) {
                Ok((value, idx, old)) => {
                    results.push(with_trace(value, input.trace.as_deref()));
                    undo.push((idx, old));
                }
                Err(e) if partial => errors.push(batch_error(&e, input.trace.as_deref())),
                Err(e) => {
                    for (idx, old) in undo.drain(..).rev() {
                        if let Some(slot) = table.active.get_mut(idx) {
                            *slot = old;
                        }
                    }
                    failure = Some(e);
                    break;
                }
            }
        }
        failure
    };
    match failure {
        Some(e) => single_error(state, &e),
        None => batch_answer(200, results, errors),
    }
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
