//! `POST`, `PATCH` and `DELETE /services/data/vNN.0/composite/sobjects`: up to 200 records of any objects in one
//! request, each with its own result, or none written when `allOrNone` is set and one fails.

use serde_json::{json, Value};

use super::body::{body_object, deserialise};
use super::validate::validate;
use super::{insert, locate, mark_deleted, store_update};
use crate::http::{FakeRequest, FakeResponse};
use crate::salesforce::errors::{error, errors, SfError};
use crate::salesforce::schema::{object, SObject, OBJECTS};
use crate::salesforce::store::with_store;
use crate::salesforce::values::normalise_id;
use crate::salesforce::MAX_COLLECTION;
use crate::state::State;

/// The result entry of one record of a collection request.
fn collection_result(result: &Result<String, Vec<SfError>>) -> Value {
    match result {
        Ok(id) => json!({ "id": id, "success": true, "errors": [] }),
        Err(errs) => {
            json!({ "success": false, "errors": errs.iter().map(SfError::collection_value).collect::<Vec<_>>() })
        }
    }
}

fn rolled_back() -> Vec<SfError> {
    vec![SfError::with_fields(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        vec![],
    )]
}

fn too_many_records() -> FakeResponse {
    error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
}

/// One deserialised record of a collection request: its object, its `Id` (updates) and its field values.
type CollectionRecord = (&'static SObject, Option<String>, Vec<(usize, Value)>);

/// `POST` (create) and `PATCH` (update) `/composite/sobjects`.
pub fn collection_write(state: &State, req: &FakeRequest, _version: &str, update: bool) -> FakeResponse {
    let (map, text) = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let all_or_none = map.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(records) = map.get("records").and_then(Value::as_array) else {
        return error(400, "INVALID_FIELD", "The 'records' field is required and must be an array of sObjects");
    };
    if records.len() > MAX_COLLECTION {
        return too_many_records();
    }
    // Deserialise every record first: a record that does not parse fails the whole request.
    let mut parsed: Vec<Result<CollectionRecord, Vec<SfError>>> = Vec::new();
    for r in records {
        let Some(obj_map) = r.as_object() else {
            return error(400, "JSON_PARSER_ERROR", "Each record must be a JSON object");
        };
        let type_name = obj_map.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str);
        let Some(type_name) = type_name else {
            parsed.push(Err(vec![SfError::with_fields(
                "INVALID_TYPE",
                "When creating or updating records, each record must have an attributes property with its type",
                vec![],
            )]));
            continue;
        };
        let Some(o) = object(type_name) else {
            parsed.push(Err(vec![SfError::with_fields(
                "INVALID_TYPE",
                format!("sObject type '{type_name}' is not supported."),
                vec![],
            )]));
            continue;
        };
        let mut fields_map = obj_map.clone();
        let id = if update {
            let key = fields_map.keys().find(|k| k.eq_ignore_ascii_case("Id")).cloned();
            key.and_then(|k| fields_map.remove(&k)).and_then(|v| v.as_str().map(str::to_string))
        } else {
            None
        };
        match deserialise(o, &fields_map, &text) {
            Ok(values) => parsed.push(Ok((o, id, values))),
            Err(e) => return errors(400, &[e]),
        }
    }
    with_store(state, |st| {
        let snapshot = all_or_none.then(|| st.tables.clone());
        let mut results: Vec<Result<String, Vec<SfError>>> = Vec::with_capacity(parsed.len());
        for p in parsed {
            let result = match p {
                Err(errs) => Err(errs),
                Ok((o, None, _)) if update => Err(vec![SfError::with_fields(
                    "MISSING_ARGUMENT",
                    format!("Id not specified in an update call ({})", o.name),
                    vec![],
                )]),
                Ok((o, Some(raw_id), values)) => match locate(st, o, &raw_id) {
                    Err(e) => {
                        let e = if e.code == "NOT_FOUND" {
                            SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                        } else {
                            e
                        };
                        Err(vec![SfError { fields: Some(vec![]), ..e }])
                    }
                    Ok(pos) => {
                        let existing = st.table(o).recs.get(pos).cloned();
                        validate(st, o, existing.as_ref(), &values).map(|rec| {
                            store_update(st, o, pos, rec);
                            existing.map(|r| r.id().to_string()).unwrap_or_default()
                        })
                    }
                },
                Ok((o, None, values)) => validate(st, o, None, &values).map(|rec| insert(st, o, rec)),
            };
            results.push(result);
        }
        if let Some(tables) = snapshot {
            if results.iter().any(Result::is_err) {
                st.tables = tables;
                for r in results.iter_mut() {
                    if r.is_ok() {
                        *r = Err(rolled_back());
                    }
                }
            }
        }
        FakeResponse::json(200, &Value::Array(results.iter().map(collection_result).collect()))
    })
}

/// `DELETE /composite/sobjects?ids=a,b&allOrNone=true`
pub fn collection_delete(state: &State, req: &FakeRequest) -> FakeResponse {
    let ids: Vec<String> = req
        .param("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return error(400, "MISSING_ARGUMENT", "ids: Must have at least one id");
    }
    if ids.len() > MAX_COLLECTION {
        return too_many_records();
    }
    let all_or_none = req.param("allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    with_store(state, |st| {
        let snapshot = all_or_none.then(|| st.tables.clone());
        let mut results: Vec<(String, Result<(), Vec<SfError>>)> = Vec::new();
        for raw in &ids {
            let target = normalise_id(raw).and_then(|id| OBJECTS.iter().copied().find(|o| id.starts_with(o.prefix)));
            let result = match target {
                None => Err(vec![SfError::with_fields("MALFORMED_ID", format!("malformed id {raw}"), vec![])]),
                Some(o) => match locate(st, o, raw) {
                    Ok(pos) => {
                        mark_deleted(st, o, pos);
                        Ok(())
                    }
                    Err(e) => {
                        let e = if e.code == "NOT_FOUND" {
                            SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                        } else {
                            e
                        };
                        Err(vec![SfError { fields: Some(vec![]), ..e }])
                    }
                },
            };
            results.push((normalise_id(raw).unwrap_or_else(|| raw.clone()), result));
        }
        if let Some(tables) = snapshot {
            if results.iter().any(|(_, r)| r.is_err()) {
                st.tables = tables;
                for (_, r) in results.iter_mut() {
                    if r.is_ok() {
                        *r = Err(rolled_back());
                    }
                }
            }
        }
        let list: Vec<Value> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(()) => json!({ "id": id, "success": true, "errors": [] }),
                Err(errs) => json!({
                    "id": id,
                    "success": false,
                    "errors": errs.iter().map(SfError::collection_value).collect::<Vec<_>>(),
                }),
            })
            .collect();
        FakeResponse::json(200, &Value::Array(list))
    })
}
