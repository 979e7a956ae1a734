//! HubSpot CRM v3 objects API (contacts and companies): reads here, writes in `hubspot_write`.

use serde_json::{json, Value};

use crate::data::{push_iso_ms, push_json_str, push_u64, CrmRecord, ObjectType, PropRef};
use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot_write;
use crate::state::State;

const AUTH_MESSAGE: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";
const DEFAULT_LIMIT: u64 = 10;
const MAX_LIMIT: u64 = 100;

/// A known `/crm/v3/objects/...` route.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    /// `/crm/v3/objects/{type}`
    Collection,
    /// `/crm/v3/objects/{type}/{id}`
    Object(&'a str),
    /// `/crm/v3/objects/{type}/batch/create`
    BatchCreate,
    /// `/crm/v3/objects/{type}/batch/update`
    BatchUpdate,
}

impl Route<'_> {
    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Collection => &["GET", "POST"],
            Route::Object(_) => &["GET", "PATCH", "DELETE"],
            Route::BatchCreate | Route::BatchUpdate => &["POST"],
        }
    }
}

/// Serves `/crm/...`; `None` if the path is not a known HubSpot route.
pub fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let (type_seg, route) = match segs.as_slice() {
        ["crm", "v3", "objects", ty] => (*ty, Route::Collection),
        ["crm", "v3", "objects", ty, "batch", "create"] => (*ty, Route::BatchCreate),
        ["crm", "v3", "objects", ty, "batch", "update"] => (*ty, Route::BatchUpdate),
        ["crm", "v3", "objects", ty, id] => (*ty, Route::Object(id)),
        _ => return None,
    };
    if !authorised(state, req) {
        return Some(unauthorised(state));
    }
    let methods = route.methods();
    if !methods.contains(&req.method.as_str()) {
        let resp = hubspot_error(state, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED");
        return Some(resp.with_header("Allow", &methods.join(", ")));
    }
    let Some(ty) = ObjectType::from_segment(type_seg) else {
        return Some(hubspot_error(
            state,
            400,
            &format!("Unable to infer object type from: {type_seg}"),
            "VALIDATION_ERROR",
        ));
    };
    Some(match (route, req.method.as_str()) {
        (Route::Collection, "POST") => hubspot_write::create(state, req, ty),
        (Route::Collection, _) => list(state, req, ty, type_seg),
        (Route::Object(id), "PATCH") => hubspot_write::update(state, req, ty, id),
        (Route::Object(id), "DELETE") => hubspot_write::archive(state, ty, id),
        (Route::Object(id), _) => get_one(state, req, ty, id),
        (Route::BatchCreate, _) => hubspot_write::batch_create(state, req, ty),
        (Route::BatchUpdate, _) => hubspot_write::batch_update(state, req, ty),
    })
}

fn authorised(state: &State, req: &FakeRequest) -> bool {
    let Some(value) = req.header_value("authorization") else {
        return false;
    };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or("");
    let token = parts.next().unwrap_or("").trim();
    scheme.eq_ignore_ascii_case("bearer") && token == state.config.token
}

/// HubSpot's 401 body.
pub fn unauthorised(state: &State) -> FakeResponse {
    hubspot_error(state, 401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
}

/// `{"status":"error","message":..,"correlationId":..,"category":..}`
pub fn hubspot_error(state: &State, status: u16, message: &str, category: &str) -> FakeResponse {
    FakeResponse::json(
        status,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": state.correlation_id(),
            "category": category,
        }),
    )
}

/// HubSpot-shaped body for an injected failure with the given status.
pub fn injected_error(state: &State, status: u16) -> FakeResponse {
    if status == 429 {
        return FakeResponse::json(
            429,
            &json!({
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": state.correlation_id(),
                "policyName": "SECONDLY",
                "groupName": "publicapi",
            }),
        );
    }
    let category = match status {
        400 => "VALIDATION_ERROR",
        401 => "INVALID_AUTHENTICATION",
        403 => "MISSING_SCOPES",
        404 => "OBJECT_NOT_FOUND",
        409 => "CONFLICT",
        502..=504 => "SERVICE_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    };
    let message = if status == 500 { "Internal error".to_string() } else { format!("injected failure {status}") };
    hubspot_error(state, status, &message, category)
}

/// 400 in HubSpot's validation shape, naming the offending query parameter.
fn validation_error(state: &State, message: &str, code: &str, param: &str) -> FakeResponse {
    FakeResponse::json(
        400,
        &json!({
            "status": "error",
            "message": message,
            "correlationId": state.correlation_id(),
            "category": "VALIDATION_ERROR",
            "errors": [{ "message": message, "code": code, "in": param }],
        }),
    )
}

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
fn selected_properties(ty: &ObjectType, requested: Option<&[String]>) -> Vec<(String, PropRef)> {
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
fn push_record(out: &mut String, rec: &CrmRecord, props: &[(String, PropRef)]) {
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

fn list(state: &State, req: &FakeRequest, ty: &ObjectType, type_seg: &str) -> FakeResponse {
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

/// HubSpot's 404 for an unknown (or archived) object id.
pub fn not_found(state: &State, id: &str) -> FakeResponse {
    FakeResponse::json(
        404,
        &json!({
            "status": "error",
            "message": "Object not found.  objectId are usually numeric.",
            "correlationId": state.correlation_id(),
            "context": { "id": [id] },
            "category": "OBJECT_NOT_FOUND",
        }),
    )
}

fn get_one(state: &State, req: &FakeRequest, ty: &ObjectType, id: &str) -> FakeResponse {
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
