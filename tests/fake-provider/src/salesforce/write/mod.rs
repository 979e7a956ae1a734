//! Record writes: `POST /sobjects/{Obj}`, `PATCH` and `DELETE /sobjects/{Obj}/{Id}` (`body` reads the JSON,
//! `validate` applies Salesforce's rules), and the composite collections of up to 200 records (`composite`).
//! Written records get ids and timestamps from a fixed clock; deleting sets `IsDeleted` (`queryAll` sees them)
//! and moves `SystemModstamp` past every stamp of the object.

mod body;
pub mod composite;
mod validate;

use serde_json::{json, Value};

use super::errors::{errors, not_found, SfError};
use super::schema::SObject;
use super::seed_data::s;
use super::store::{with_store, Rec, SfStore};
use super::values::{make_id, normalise_id, sf_datetime};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::time::{parse_iso_ms, HOUR_MS, WRITE_BASE_MS};
use crate::state::State;
use body::record_values;
use validate::validate;

/// Inserts a validated record; returns its id.
fn insert(st: &mut SfStore, o: &SObject, mut values: Vec<Value>) -> String {
    let Some(table) = st.table_mut(o) else {
        return String::new();
    };
    table.last += 1;
    let n = table.last;
    let id = make_id(o.prefix, n);
    let created = sf_datetime(WRITE_BASE_MS + n * 1000);
    for (name, v) in [
        ("Id", s(&id)),
        ("CreatedDate", s(&created)),
        ("LastModifiedDate", s(&created)),
        ("SystemModstamp", s(&created)),
    ] {
        if let Some(slot) = values.get_mut(o.index(name)) {
            *slot = v;
        }
    }
    table.recs.push(Rec { values, deleted: false });
    id
}

/// Replaces a record's values with validated ones and moves its modification stamps an hour on.
fn store_update(st: &mut SfStore, o: &SObject, pos: usize, mut values: Vec<Value>) {
    let modified = values
        .get(o.index("LastModifiedDate"))
        .and_then(Value::as_str)
        .and_then(parse_iso_ms)
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or(WRITE_BASE_MS, |ms| ms + HOUR_MS);
    for name in ["LastModifiedDate", "SystemModstamp"] {
        if let Some(slot) = values.get_mut(o.index(name)) {
            *slot = s(&sf_datetime(modified));
        }
    }
    if let Some(rec) = st.table_mut(o).and_then(|t| t.recs.get_mut(pos)) {
        rec.values = values;
    }
}

pub(super) fn create_one(state: &State, req: &FakeRequest, version: &str, o: &SObject) -> FakeResponse {
    let values = match record_values(req, o) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    with_store(state, |st| match validate(st, o, None, &values) {
        Ok(rec) => {
            let id = insert(st, o, rec);
            FakeResponse::json(201, &json!({ "id": id, "success": true, "errors": [] }))
                .with_header("Location", &format!("/services/data/{version}/sobjects/{}/{id}", o.name))
        }
        Err(errs) => errors(400, &errs),
    })
}

/// Where a record is: its table position, or why it cannot be written.
fn locate(st: &SfStore, o: &SObject, raw_id: &str) -> Result<usize, SfError> {
    let Some(id) = normalise_id(raw_id) else {
        return Err(SfError::new("MALFORMED_ID", format!("malformed id {raw_id}")));
    };
    match st.position(o, &id) {
        Some(pos) if st.table(o).recs.get(pos).is_some_and(|r| r.deleted) => {
            Err(SfError::new("ENTITY_IS_DELETED", "entity is deleted"))
        }
        Some(pos) => Ok(pos),
        None => Err(SfError::new("NOT_FOUND", "The requested resource does not exist")),
    }
}

pub(super) fn update_one(state: &State, req: &FakeRequest, o: &SObject, raw_id: &str) -> FakeResponse {
    let values = match record_values(req, o) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    with_store(state, |st| {
        let pos = match locate(st, o, raw_id) {
            Ok(p) => p,
            Err(e) if e.code == "MALFORMED_ID" || e.code == "NOT_FOUND" => return not_found(),
            Err(e) => return errors(404, &[e]),
        };
        let existing = st.table(o).recs.get(pos).cloned();
        match validate(st, o, existing.as_ref(), &values) {
            Ok(rec) => {
                store_update(st, o, pos, rec);
                FakeResponse::no_content()
            }
            Err(errs) => errors(400, &errs),
        }
    })
}

/// Deletes a record as Salesforce does: `IsDeleted` set (`queryAll` still lists it) and `SystemModstamp`
/// moved on, so that `queryAll ... WHERE IsDeleted = true AND SystemModstamp >= <since>` finds the
/// deletions made since. The fake's clock is fixed, so "now" is an hour after the newest stamp of the
/// object's records: later than anything a client has seen.
fn mark_deleted(st: &mut SfStore, o: &SObject, pos: usize) {
    let deleted_index = o.index("IsDeleted");
    let stamps = [o.index("LastModifiedDate"), o.index("SystemModstamp")];
    let Some(table) = st.table_mut(o) else { return };
    let newest = table
        .recs
        .iter()
        .flat_map(|r| stamps.iter().filter_map(|&i| r.values.get(i)))
        .filter_map(|v| v.as_str().and_then(parse_iso_ms).and_then(|ms| u64::try_from(ms).ok()))
        .max()
        .unwrap_or(WRITE_BASE_MS);
    if let Some(rec) = table.recs.get_mut(pos) {
        rec.deleted = true;
        if let Some(slot) = rec.values.get_mut(deleted_index) {
            *slot = Value::Bool(true);
        }
        if let Some(slot) = rec.values.get_mut(stamps[1]) {
            *slot = s(&sf_datetime(newest + HOUR_MS));
        }
    }
}

pub(super) fn delete_one(state: &State, o: &SObject, raw_id: &str) -> FakeResponse {
    with_store(state, |st| match locate(st, o, raw_id) {
        Ok(pos) => {
            mark_deleted(st, o, pos);
            FakeResponse::no_content()
        }
        Err(e) if e.code == "ENTITY_IS_DELETED" => errors(404, &[e]),
        Err(_) => not_found(),
    })
}
