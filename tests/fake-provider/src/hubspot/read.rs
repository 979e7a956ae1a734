//! Reading HubSpot objects: `GET /crm/v3/objects/{type}` (a page of active or archived records, `limit` and
//! the `after` cursor, `properties`) and `GET /crm/v3/objects/{type}/{id}`, serialised by hand in HubSpot's key
//! order (the benchmarks' hot path). Also the looping page of `/faults/repeat-cursor`.

use serde_json::{json, Value};

use super::data::{CrmRecord, ObjectType, PropRef};
use super::errors::{not_found, validation_error};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::json::{push_iso_ms, push_json_str, push_u64};
use crate::state::State;

const DEFAULT_LIMIT: u64 = 10;
const MAX_LIMIT: u64 = 100;

fn parse_limit(state: &State, req: &FakeRequest) -> Result<u64, FakeResponse> {
    let Some(raw) = req.param("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.trim().parse::<i64>() {
        Err(_) => Err(validation_error(
            state,
            &format!("Invalid input for query parameter 'limit': '{raw}' is not a valid integer"),
            "INVALID_INTEGER",
            "limit",
        )),
        Ok(n) if !(1..=MAX_LIMIT as i64).contains(&n) => Err(validation_error(
            state,
            &format!("Invalid input for query parameter 'limit': {n} must be between 1 and {MAX_LIMIT}"),
            "NUMBER_OUT_OF_RANGE",
            "limit",
        )),
        Ok(n) => Ok(n as u64),
    }
}

fn parse_archived(state: &State, req: &FakeRequest) -> Result<bool, FakeResponse> {
    match req.param("archived") {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(validation_error(
            state,
            &format!("Invalid input for query parameter 'archived': '{v}' is not a valid boolean"),
            "INVALID_BOOLEAN",
            "archived",
        )),
    }
}

fn parse_after(state: &State, req: &FakeRequest) -> Result<u64, FakeResponse> {
    let Some(raw) = req.param("after") else {
        return Ok(0);
    };
    if raw.is_empty() {
        return Ok(0);
    }
    raw.parse::<u64>().map_err(|_| {
        validation_error(
            state,
            &format!("Invalid input for query parameter 'after': '{raw}' is not a valid paging cursor"),
            "INVALID_CURSOR",
            "after",
        )
    })
}

/// Requested properties (comma lists and repeated parameters both work),
/// or `None` if the caller did not ask for any.
fn requested_properties(req: &FakeRequest) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in req.params("properties") {
        for p in value.split(',') {
            let p = p.trim();
            if !p.is_empty() && !out.iter().any(|x| x == p) {
                out.push(p.to_string());
            }
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Properties to return for this request (name, resolved reference),
/// filtered to the ones the type knows.
pub(super) fn selected_properties(ty: &ObjectType, requested: Option<&[String]>) -> Vec<(String, PropRef)> {
    let names: Vec<&str> = match requested {
        None => ty.defaults.to_vec(),
        Some(list) => {
            let mut out: Vec<&str> = list.iter().map(String::as_str).collect();
            for always in ["hs_object_id", "createdate", ty.modified_prop] {
                if !out.contains(&always) {
                    out.push(always);
                }
            }
            out
        }
    };
    names.into_iter().filter_map(|n| ty.resolve(n).map(|r| (n.to_string(), r))).collect()
}

/// Appends one record as JSON, in the key order HubSpot uses.
pub(super) fn push_record(out: &mut String, rec: &CrmRecord, props: &[(String, PropRef)]) {
    out.push_str("{\"id\":\"");
    push_u64(out, rec.id);
    out.push_str("\",\"properties\":{");
    for (i, (name, prop)) in props.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, name);
        out.push(':');
        rec.push_prop_json(out, *prop);
    }
    out.push_str("},\"createdAt\":\"");
    push_iso_ms(out, rec.created_ms);
    out.push_str("\",\"updatedAt\":\"");
    push_iso_ms(out, rec.updated_ms);
    out.push_str("\",\"archived\":");
    out.push_str(if rec.archived { "true" } else { "false" });
    if let Some(at) = rec.archived_ms {
        out.push_str(",\"archivedAt\":\"");
        push_iso_ms(out, at);
        out.push('"');
    }
    out.push('}');
}

pub(super) fn list(state: &State, req: &FakeRequest, ty: &ObjectType, type_seg: &str) -> FakeResponse {
    let limit = match parse_limit(state, req) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let after = match parse_after(state, req) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let archived = match parse_archived(state, req) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let requested = requested_properties(req);
    let props = selected_properties(ty, requested.as_deref());

    // Serialised by hand: this is the hot path of the benchmarks.
    let mut out = String::with_capacity(64 + limit as usize * (160 + 48 * props.len()));
    out.push_str("{\"results\":[");
    let data = state.data();
    let records = data.table(ty).list(archived);
    let start = records.partition_point(|r| r.id < after);
    let page = records.get(start..).unwrap_or(&[]);
    let take = (limit as usize).min(page.len());
    for (i, rec) in page.iter().take(take).enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_record(&mut out, rec, &props);
    }
    let next_id = page.get(take).map(|r| r.id);
    drop(data);
    out.push(']');

    if let Some(next) = next_id {
        let mut link = format!("http://{}/crm/v3/objects/{}?after={}&limit={}", req.host(), type_seg, next, limit);
        if archived {
            link.push_str("&archived=true");
        }
        out.push_str(",\"paging\":{\"next\":{\"after\":\"");
        push_u64(&mut out, next);
        out.push_str("\",\"link\":");
        push_json_str(&mut out, &link);
        out.push_str("}}");
    }
    out.push('}');
    FakeResponse::raw_json(200, out.into_bytes())
}

pub(super) fn get_one(state: &State, req: &FakeRequest, ty: &ObjectType, id: &str) -> FakeResponse {
    let archived = match parse_archived(state, req) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let requested = requested_properties(req);
    let props = selected_properties(ty, requested.as_deref());
    let Ok(num) = id.parse::<u64>() else {
        return not_found(state, id);
    };
    let data = state.data();
    match data.table(ty).find(num, archived) {
        Some(rec) => {
            let mut out = String::with_capacity(256);
            push_record(&mut out, rec, &props);
            FakeResponse::raw_json(200, out.into_bytes())
        }
        None => {
            drop(data);
            not_found(state, id)
        }
    }
}

/// A list page for the buggy `/faults/repeat-cursor` endpoint: two records
/// and a `paging.next.after` that is always `"loop"`.
pub fn repeat_cursor_page(req: &FakeRequest) -> FakeResponse {
    let results: Vec<Value> = (1..=2)
        .map(|i| {
            json!({
                "id": i.to_string(),
                "properties": {
                    "email": format!("contact{i}@example.com"),
                    "hs_object_id": i.to_string(),
                },
                "createdAt": "2024-01-05T10:00:00.000Z",
                "updatedAt": "2024-03-01T08:30:00.000Z",
                "archived": false,
            })
        })
        .collect();
    FakeResponse::json(
        200,
        &json!({
            "results": results,
            "paging": { "next": {
                "after": "loop",
                "link": format!("http://{}/faults/repeat-cursor?after=loop", req.host()),
            } },
        }),
    )
}
