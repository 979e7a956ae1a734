//! Record writes: create (`POST /v0/{base}/{table}`, one record or up to ten), update and replace (`PATCH` and
//! `PUT`, one record by URL or up to ten), delete (one by URL, up to ten by `records[]`). Each request is all
//! or nothing: it runs on a copy of the table that replaces the table only if every record succeeded.

use serde_json::{json, Map, Value};

use super::cells::apply;
use super::errors::{at_error, invalid_request, not_found, record_not_found, WriteError};
use super::json_body;
use super::records::{record_response, records_response};
use super::store::{is_id, make_id, with_store, Rec, Table};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::time::WRITE_BASE_MS;
use crate::state::State;

/// Most records one write request takes.
const MAX_WRITE: usize = 10;

/// The JSON body of a write, and its `typecast` (absent: false).
fn write_body(req: &FakeRequest) -> Result<(Map<String, Value>, bool), FakeResponse> {
    let body = json_body(req)?;
    let typecast = match body.get("typecast") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid_request()),
    };
    Ok((body, typecast))
}

fn missing_fields() -> WriteError {
    WriteError::new("INVALID_REQUEST_MISSING_FIELDS", "Could not find field \"fields\" in the request body")
}

fn too_many(kind: &str, given: usize) -> WriteError {
    WriteError::new(
        "INVALID_RECORDS",
        format!("A maximum of {MAX_WRITE} records can be {kind} per request but you have provided {given}."),
    )
}

/// Runs a write on a copy of the table and keeps it only if every record succeeded.
fn transaction(
    state: &State,
    t: usize,
    f: impl FnOnce(&mut Table) -> Result<Vec<String>, WriteError>,
) -> Result<(Table, Vec<String>), WriteError> {
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return Err(WriteError { status: 404, kind: "TABLE_NOT_FOUND", message: "table not found".into() });
        };
        let mut copy = table.clone();
        let ids = f(&mut copy)?;
        if let Some(slot) = st.tables.get_mut(t) {
            *slot = copy.clone();
        }
        Ok((copy, ids))
    })
}

fn written(result: Result<(Table, Vec<String>), WriteError>, single: bool) -> FakeResponse {
    match result {
        Err(e) => e.response(),
        Ok((table, ids)) => {
            let recs: Vec<&Rec> = ids.iter().filter_map(|id| table.recs.iter().find(|r| r.id == *id)).collect();
            match (single, recs.first()) {
                (true, Some(rec)) => record_response(&table, rec),
                _ => records_response(&table, &recs),
            }
        }
    }
}

fn new_record(table: &mut Table) -> Rec {
    table.created += 1;
    let n = table.created;
    Rec {
        id: make_id("rec", table.salt << 48 | n),
        created_ms: WRITE_BASE_MS + n * 1000,
        values: vec![None; table.fields.len()],
    }
}

/// `POST /v0/{base}/{table}`: `{"records":[{"fields":..}]}` (at most ten) or `{"fields":..}`.
pub(super) fn create(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let (body, typecast) = match write_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (inputs, single): (Vec<Value>, bool) =
        match (body.get("records"), body.get("fields")) {
            (Some(Value::Array(list)), _) => (list.clone(), false),
            (Some(_), _) => return WriteError::new(
                "INVALID_RECORDS",
                "You must provide an array of up to 10 record objects, each with a \"fields\" object for cell values.",
            )
            .response(),
            (None, Some(fields)) => (vec![json!({ "fields": fields })], true),
            (None, None) => return missing_fields().response(),
        };
    if inputs.is_empty() {
        return WriteError::new(
            "INVALID_RECORDS",
            "You must provide an array of up to 10 record objects, each with a \"fields\" object for cell values.",
        )
        .response();
    }
    if inputs.len() > MAX_WRITE {
        return too_many("created", inputs.len()).response();
    }
    let result = transaction(state, t, |table| {
        let mut ids = Vec::new();
        for input in &inputs {
            let Some(fields) = input.get("fields") else {
                return Err(missing_fields());
            };
            let mut rec = new_record(table);
            apply(table, &mut rec.values, fields, typecast, true)?;
            ids.push(rec.id.clone());
            table.recs.push(rec);
        }
        Ok(ids)
    });
    written(result, single)
}

pub(super) fn update_one(state: &State, req: &FakeRequest, t: usize, rec_id: &str, replace: bool) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    let (body, typecast) = match write_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let Some(fields) = body.get("fields").cloned() else {
        return missing_fields().response();
    };
    let result = transaction(state, t, |table| {
        let Some(pos) = table.position(rec_id) else {
            return Err(WriteError { status: 404, kind: "MODEL_ID_NOT_FOUND", message: "Record not found".into() });
        };
        let mut values = table.recs.get(pos).map(|r| r.values.clone()).unwrap_or_default();
        apply(table, &mut values, &fields, typecast, replace)?;
        if let Some(r) = table.recs.get_mut(pos) {
            r.values = values;
        }
        Ok(vec![rec_id.to_string()])
    });
    written(result, true)
}

/// `PATCH` / `PUT /v0/{base}/{table}`: `{"records":[{"id":..,"fields":..}]}`, at most ten.
pub(super) fn update_many(state: &State, req: &FakeRequest, t: usize, replace: bool) -> FakeResponse {
    let (body, typecast) = match write_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let invalid = || {
        WriteError::new(
            "INVALID_RECORDS",
            "You must provide an array of up to 10 record objects, each with an \"id\" ID field and a \"fields\" object for cell values.",
        )
        .response()
    };
    let Some(inputs) = body.get("records").and_then(Value::as_array) else {
        return invalid();
    };
    if inputs.is_empty() {
        return invalid();
    }
    if inputs.len() > MAX_WRITE {
        return too_many("updated", inputs.len()).response();
    }
    let mut parsed = Vec::with_capacity(inputs.len());
    for input in inputs {
        match (input.get("id").and_then(Value::as_str), input.get("fields")) {
            (Some(id), Some(fields)) => parsed.push((id.to_string(), fields.clone())),
            _ => return invalid(),
        }
    }
    let result = transaction(state, t, |table| {
        let mut ids = Vec::new();
        for (id, fields) in &parsed {
            let Some(pos) = table.position(id) else {
                return Err(WriteError::new(
                    "ROW_DOES_NOT_EXIST",
                    format!("Record ID {id} does not exist in this table"),
                ));
            };
            let mut values = table.recs.get(pos).map(|r| r.values.clone()).unwrap_or_default();
            apply(table, &mut values, fields, typecast, replace)?;
            if let Some(r) = table.recs.get_mut(pos) {
                r.values = values;
            }
            ids.push(id.clone());
        }
        Ok(ids)
    });
    written(result, false)
}

pub(super) fn delete_one(state: &State, t: usize, rec_id: &str) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    let removed = with_store(state, |st| {
        let table = st.tables.get_mut(t)?;
        let pos = table.position(rec_id)?;
        table.recs.remove(pos);
        Some(())
    });
    match removed {
        Some(()) => FakeResponse::json(200, &json!({ "id": rec_id, "deleted": true })),
        None => record_not_found(),
    }
}

/// `DELETE /v0/{base}/{table}?records[]=a&records[]=b` (at most ten).
pub(super) fn delete_many(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let ids: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k == "records[]" || (k.starts_with("records[") && k.ends_with(']')))
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() || ids.len() > MAX_WRITE {
        return WriteError::new("INVALID_RECORDS", "You must provide an array of up to 10 record IDs.").response();
    }
    let result = with_store(state, |st| {
        let Some(table) = st.tables.get_mut(t) else {
            return Err(not_found());
        };
        if let Some(missing) = ids.iter().find(|id| table.position(id).is_none()) {
            return Err(at_error(404, "MODEL_ID_NOT_FOUND", &format!("Could not find record {missing}")));
        }
        table.recs.retain(|r| !ids.contains(&r.id));
        Ok(())
    });
    match result {
        Err(resp) => resp,
        Ok(()) => {
            let list: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "deleted": true })).collect();
            FakeResponse::json(200, &json!({ "records": list }))
        }
    }
}
