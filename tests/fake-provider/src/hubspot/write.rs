//! HubSpot writes: `POST /crm/v3/objects/{type}`, `PATCH` and `DELETE .../{id}` (archiving), and
//! `POST .../batch/create` and `.../batch/update`, all or nothing unless every input carries an
//! `objectWriteTraceId` (then partial success, 207). Written records get timestamps from a fixed clock.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::data::{CrmRecord, CrmTable, ObjectType, PropRef};
use super::errors::not_found;
use super::input::{batch_inputs, single_input, PropInput, Purpose};
use super::validate::{batch_error, datetime_ms, single_error, validate, WriteError};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::time::{iso_ms, HOUR_MS, WRITE_BASE_MS};
use crate::state::State;

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

/// `POST /crm/v3/objects/{type}`
pub fn create(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
    let props = match single_input(state, req, Purpose::Create) {
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
    let props = match single_input(state, req, Purpose::Update) {
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
    let inputs = match batch_inputs(state, req, Purpose::Create) {
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
    let inputs = match batch_inputs(state, req, Purpose::Update) {
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
