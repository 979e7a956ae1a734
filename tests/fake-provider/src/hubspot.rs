//! HubSpot CRM v3 objects API (contacts, companies and deals): reads and search here, writes in `hubspot_write`.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::data::{
    gen_deals, iso_ms, push_iso_ms, push_json_str, push_u64, CrmRecord, ObjectType, PropKind, PropRef, DEFAULT_DEALS,
    MAX_SEED,
};
use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot_write;
use crate::oauth::{self, TokenStatus};
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
    /// `/crm/v3/objects/{type}/search`
    Search,
}

impl Route<'_> {
    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Collection => &["GET", "POST"],
            Route::Object(_) => &["GET", "PATCH", "DELETE"],
            Route::BatchCreate | Route::BatchUpdate | Route::Search => &["POST"],
        }
    }
}

/// Serves `/crm/...`; `None` if the path is not a known HubSpot route.
pub fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let (type_seg, route) = match segs.as_slice() {
        ["crm", "v3", "_fake", "rate_limited"] => {
            let n = with_store(state, |s| s.rate_limited);
            return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
        }
        ["crm", "v3", "objects", ty] => (*ty, Route::Collection),
        ["crm", "v3", "objects", ty, "batch", "create"] => (*ty, Route::BatchCreate),
        ["crm", "v3", "objects", ty, "batch", "update"] => (*ty, Route::BatchUpdate),
        ["crm", "v3", "objects", ty, "search"] => (*ty, Route::Search),
        ["crm", "v3", "objects", ty, id] => (*ty, Route::Object(id)),
        _ => return None,
    };
    match authorise(state, req) {
        Auth::Ok => {}
        Auth::Missing => return Some(unauthorised(state)),
        Auth::Expired(secs) => return Some(expired(state, secs)),
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
    if ty.is_deals() {
        ensure_deals(state);
    }
    Some(match (route, req.method.as_str()) {
        (Route::Search, _) => search(state, req, ty),
        (Route::Collection, "POST") => hubspot_write::create(state, req, ty),
        (Route::Collection, _) => list(state, req, ty, type_seg),
        (Route::Object(id), "PATCH") => hubspot_write::update(state, req, ty, id),
        (Route::Object(id), "DELETE") => hubspot_write::archive(state, ty, id),
        (Route::Object(id), _) => get_one(state, req, ty, id),
        (Route::BatchCreate, _) => hubspot_write::batch_create(state, req, ty),
        (Route::BatchUpdate, _) => hubspot_write::batch_update(state, req, ty),
    })
}

/// The outcome of checking a request's bearer token.
enum Auth {
    Ok,
    /// An OAuth access token that expired this many seconds ago.
    Expired(u64),
    Missing,
}

/// The private-app token (`--token`) and valid access tokens of the OAuth server are accepted.
fn authorise(state: &State, req: &FakeRequest) -> Auth {
    let Some(token) = oauth::bearer_token(req) else {
        return Auth::Missing;
    };
    if token == state.config.token {
        return Auth::Ok;
    }
    match oauth::token_status(state, token) {
        TokenStatus::Valid => Auth::Ok,
        TokenStatus::Expired { seconds_ago } => Auth::Expired(seconds_ago),
        TokenStatus::Unknown => Auth::Missing,
    }
}

/// HubSpot's 401 for an expired OAuth token: "... expired 5 minute(s) ago." (seconds, minutes, hours or days).
fn expired(state: &State, secs: u64) -> FakeResponse {
    let (n, unit) = match secs {
        0..=59 => (secs, "second"),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let message = format!("The OAuth token used to make this call expired {n} {unit}(s) ago.");
    hubspot_error(state, 401, &message, "EXPIRED_AUTHENTICATION")
}

// ---------------------------------------------------------------- module state

/// Search rate-limit bookkeeping (reset by `/_control/reset`).
#[derive(Debug, Default)]
struct HubspotStore {
    /// When the searches of the last second were accepted.
    window: VecDeque<Instant>,
    /// Searches answered with 429 since start (or the last reset).
    rate_limited: u64,
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut HubspotStore) -> R) -> R {
    state.with_store(|_| HubspotStore::default(), f)
}

/// Generates the deals on first use, with the configured count (`--seed deals=N`, default 30).
pub fn ensure_deals(state: &State) {
    if state.data().deals.is_some() {
        return;
    }
    let table = gen_deals(state.config.seed("deals", DEFAULT_DEALS).min(MAX_SEED));
    let mut data = state.data_mut();
    if data.deals.is_none() {
        data.deals = Some(table);
    }
}

/// Reseeds a HubSpot data set that `/_control/seed` does not know itself (`deals`).
pub fn seed(state: &State, name: &str, count: u64) -> bool {
    if name != "deals" {
        return false;
    }
    let table = gen_deals(count);
    state.data_mut().deals = Some(table);
    true
}

/// Forgets the search rate-limit window and its counter.
pub fn reset(state: &State) {
    state.set_store(HubspotStore::default());
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

// ---------------------------------------------------------------- search

/// Searches allowed per second (per fake process, as HubSpot counts them per account).
pub const SEARCH_PER_SECOND: u64 = 5;
const SEARCH_DEFAULT_LIMIT: u64 = 10;
const SEARCH_MAX_LIMIT: u64 = 200;
/// No search can page past this many results.
const SEARCH_MAX_RESULTS: u64 = 10_000;
const MAX_FILTER_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 10;
const MAX_FILTERS: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

const OPERATORS: &[(&str, Op)] = &[
    ("EQ", Op::Eq),
    ("NEQ", Op::Neq),
    ("LT", Op::Lt),
    ("LTE", Op::Lte),
    ("GT", Op::Gt),
    ("GTE", Op::Gte),
    ("BETWEEN", Op::Between),
    ("IN", Op::In),
    ("NOT_IN", Op::NotIn),
    ("HAS_PROPERTY", Op::HasProperty),
    ("NOT_HAS_PROPERTY", Op::NotHasProperty),
    ("CONTAINS_TOKEN", Op::ContainsToken),
    ("NOT_CONTAINS_TOKEN", Op::NotContainsToken),
];

#[derive(Debug)]
struct Filter {
    prop: PropRef,
    kind: PropKind,
    op: Op,
    value: String,
    high: String,
    values: Vec<String>,
}

#[derive(Debug)]
struct Sort {
    prop: PropRef,
    kind: PropKind,
    descending: bool,
}

#[derive(Debug)]
struct SearchRequest {
    groups: Vec<Vec<Filter>>,
    sorts: Vec<Sort>,
    query: Option<String>,
    properties: Option<Vec<String>>,
    limit: u64,
    after: u64,
}

/// 429 once more than `SEARCH_PER_SECOND` searches arrive within one second (a sliding window).
fn search_rate_limit(state: &State) -> Option<FakeResponse> {
    let per_second = state.config.seed("hubspot_search_per_second", SEARCH_PER_SECOND);
    let now = Instant::now();
    let limited = with_store(state, |s| {
        while s.window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            s.window.pop_front();
        }
        if s.window.len() as u64 >= per_second {
            s.rate_limited += 1;
            true
        } else {
            s.window.push_back(now);
            false
        }
    });
    limited.then(|| {
        FakeResponse::json(
            429,
            &json!({
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": state.correlation_id(),
                "policyName": "SECONDLY",
                "groupName": "publicapi",
            }),
        )
    })
}

/// A JSON scalar of a filter (`"value": 5` and `"value": "5"` are the same).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn body_error(state: &State, message: &str) -> FakeResponse {
    hubspot_error(state, 400, &format!("Invalid input JSON on line 1, column 1: {message}"), "VALIDATION_ERROR")
}

/// HubSpot's Jackson message for a filter that cannot be built.
fn filter_problem(state: &State, problem: &str) -> FakeResponse {
    body_error(
        state,
        &format!(
            "Cannot construct instance of `com.hubspot.inbounddb.publicobject.core.v3.search.Filter`, problem: {problem}"
        ),
    )
}

fn unknown_property(state: &State, ty: &ObjectType, name: &str) -> FakeResponse {
    validation_error(
        state,
        &format!("Property \"{name}\" does not exist on object type {}", ty.name),
        "PROPERTY_DOESNT_EXIST",
        name,
    )
}

fn parse_filter(state: &State, ty: &ObjectType, f: &Value) -> Result<Filter, FakeResponse> {
    let Some(obj) = f.as_object() else {
        return Err(body_error(state, "a filter must be an object"));
    };
    let Some(name) = obj.get("propertyName").and_then(Value::as_str) else {
        return Err(filter_problem(state, "propertyName is required"));
    };
    let op_name = obj.get("operator").and_then(Value::as_str).unwrap_or("EQ");
    let Some(op) = OPERATORS.iter().find(|(n, _)| *n == op_name).map(|(_, op)| *op) else {
        let names: Vec<&str> = OPERATORS.iter().map(|(n, _)| *n).collect();
        return Err(body_error(
            state,
            &format!(
                "Cannot deserialize value of type `FilterOperator` from String \"{op_name}\": not one of the values \
                 accepted for Enum class: [{}]",
                names.join(", ")
            ),
        ));
    };
    let Some(prop) = ty.resolve(name) else {
        return Err(unknown_property(state, ty, name));
    };
    let value = obj.get("value").and_then(scalar);
    let high = obj.get("highValue").and_then(scalar);
    let values: Option<Vec<String>> =
        obj.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(scalar).collect());
    let needs_value = !matches!(op, Op::HasProperty | Op::NotHasProperty | Op::In | Op::NotIn);
    if needs_value && value.is_none() {
        return Err(filter_problem(state, &format!("operator {op_name} requires a value")));
    }
    if op == Op::Between && high.is_none() {
        return Err(filter_problem(state, "operator BETWEEN requires a highValue"));
    }
    if matches!(op, Op::In | Op::NotIn) && values.as_ref().is_none_or(Vec::is_empty) {
        return Err(filter_problem(state, &format!("operator {op_name} requires values")));
    }
    Ok(Filter {
        prop,
        kind: ty.kind(prop),
        op,
        value: value.unwrap_or_default(),
        high: high.unwrap_or_default(),
        values: values.unwrap_or_default(),
    })
}

fn parse_search(state: &State, req: &FakeRequest, ty: &ObjectType) -> Result<SearchRequest, FakeResponse> {
    let body = hubspot_write::json_body(state, req)?;
    let Some(obj) = body.as_object() else {
        return Err(body_error(state, "the search request must be a JSON object"));
    };
    let groups_json: &[Value] = match obj.get("filterGroups") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err(body_error(state, "\"filterGroups\" must be an array")),
    };
    if groups_json.len() > MAX_FILTER_GROUPS {
        return Err(validation_error(
            state,
            &format!("Too many filter groups: {} were given, the maximum is {MAX_FILTER_GROUPS}", groups_json.len()),
            "TOO_MANY_FILTER_GROUPS",
            "filterGroups",
        ));
    }
    let mut total = 0;
    let mut groups = Vec::with_capacity(groups_json.len());
    for (i, g) in groups_json.iter().enumerate() {
        let filters_json: &[Value] = match g.get("filters") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => &[],
            Some(_) => return Err(body_error(state, "\"filters\" must be an array")),
        };
        if filters_json.len() > MAX_FILTERS_PER_GROUP {
            return Err(validation_error(
                state,
                &format!(
                    "Too many filters in filter group {}: {} were given, the maximum is {MAX_FILTERS_PER_GROUP}",
                    i + 1,
                    filters_json.len()
                ),
                "TOO_MANY_FILTERS_IN_GROUP",
                "filterGroups",
            ));
        }
        total += filters_json.len();
        let mut filters = Vec::with_capacity(filters_json.len());
        for f in filters_json {
            filters.push(parse_filter(state, ty, f)?);
        }
        groups.push(filters);
    }
    if total > MAX_FILTERS {
        return Err(validation_error(
            state,
            &format!("Too many filters: {total} were given in all filter groups, the maximum is {MAX_FILTERS}"),
            "TOO_MANY_FILTERS",
            "filterGroups",
        ));
    }
    let mut sorts = Vec::new();
    for s in obj.get("sorts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let (name, descending) = match s {
            Value::String(raw) => match raw.strip_prefix('-') {
                Some(n) => (n.to_string(), true),
                None => (raw.clone(), false),
            },
            Value::Object(o) => {
                let name = o.get("propertyName").and_then(Value::as_str).unwrap_or("").to_string();
                let dir = o.get("direction").and_then(Value::as_str).unwrap_or("ASCENDING");
                match dir {
                    "ASCENDING" => (name, false),
                    "DESCENDING" => (name, true),
                    other => {
                        return Err(body_error(
                            state,
                            &format!(
                                "Cannot deserialize value of type `SortDirection` from String \"{other}\": not one \
                                 of the values accepted for Enum class: [ASCENDING, DESCENDING]"
                            ),
                        ))
                    }
                }
            }
            _ => return Err(body_error(state, "a sort must be an object or a property name")),
        };
        let Some(prop) = ty.resolve(&name) else {
            return Err(unknown_property(state, ty, &name));
        };
        sorts.push(Sort { prop, kind: ty.kind(prop), descending });
    }
    let query = match obj.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) if q.trim().is_empty() => None,
        Some(Value::String(q)) => Some(q.trim().to_lowercase()),
        Some(_) => return Err(body_error(state, "\"query\" must be a string")),
    };
    let properties = match obj.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let list: Vec<String> = a.iter().filter_map(Value::as_str).map(str::to_string).collect();
            (!list.is_empty()).then_some(list)
        }
        Some(_) => return Err(body_error(state, "\"properties\" must be an array of property names")),
    };
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => SEARCH_DEFAULT_LIMIT,
        Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) if (1..=SEARCH_MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(n) => {
                return Err(validation_error(
                    state,
                    &format!("limit must be between 1 and {SEARCH_MAX_LIMIT}; {n} was given"),
                    "NUMBER_OUT_OF_RANGE",
                    "limit",
                ))
            }
            None => return Err(body_error(state, &format!("limit must be an integer; {v} was given"))),
        },
    };
    let after = match obj.get("after") {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) => n,
            None => {
                return Err(validation_error(
                    state,
                    &format!("after must be a paging cursor from a previous search; {v} is not one"),
                    "INVALID_CURSOR",
                    "after",
                ))
            }
        },
    };
    if after.saturating_add(limit) > SEARCH_MAX_RESULTS {
        return Err(validation_error(
            state,
            &format!(
                "Search results are limited to {SEARCH_MAX_RESULTS}: after ({after}) plus limit ({limit}) must not \
                 exceed {SEARCH_MAX_RESULTS}"
            ),
            "SEARCH_RESULT_LIMIT_EXCEEDED",
            "after",
        ));
    }
    Ok(SearchRequest { groups, sorts, query, properties, limit, after })
}

/// The value of a property of a record (`None`: no value).
fn prop_value(rec: &CrmRecord, prop: PropRef) -> Option<String> {
    match prop {
        PropRef::ObjectId => Some(rec.id.to_string()),
        PropRef::Created => Some(iso_ms(rec.created_ms)),
        PropRef::Modified => Some(iso_ms(rec.updated_ms)),
        PropRef::Stored(idx) => rec.props.get(idx).and_then(|v| v.as_deref()).map(str::to_string),
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Orders two values of a property of `kind`; `None` if they cannot be compared (e.g. a non-number).
fn compare(kind: PropKind, a: &str, b: &str) -> Option<Ordering> {
    match kind {
        PropKind::Number => number(a)?.partial_cmp(&number(b)?),
        PropKind::DateTime => Some(hubspot_write::datetime_ms(a)?.cmp(&hubspot_write::datetime_ms(b)?)),
        PropKind::Text => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        },
    }
}

fn equal(kind: PropKind, a: &str, b: &str) -> bool {
    match kind {
        PropKind::Text => a.to_lowercase() == b.to_lowercase(),
        _ => compare(kind, a, b) == Some(Ordering::Equal),
    }
}

/// `*` matches any run of characters; comparison ignores case.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if p.get(pi) == Some(&'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if p.get(pi).is_some_and(|c| *c == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Whether a value holds the token: the whole value, or one of its words, matches it (`*` is a wildcard).
fn contains_token(value: &str, token: &str) -> bool {
    if glob(token, value) {
        return true;
    }
    value.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '_' && c != '-').any(|w| {
        !w.is_empty() && (glob(token, w) || w.split(['@', '.']).any(|part| !part.is_empty() && glob(token, part)))
    })
}

fn filter_matches(f: &Filter, rec: &CrmRecord) -> bool {
    let value = prop_value(rec, f.prop);
    match f.op {
        Op::HasProperty => value.is_some(),
        Op::NotHasProperty => value.is_none(),
        Op::Neq => value.is_none_or(|v| !equal(f.kind, &v, &f.value)),
        Op::NotIn => value.is_none_or(|v| !f.values.iter().any(|x| equal(f.kind, &v, x))),
        Op::NotContainsToken => value.is_none_or(|v| !contains_token(&v, &f.value)),
        _ => {
            let Some(v) = value else {
                return false;
            };
            let ord = || compare(f.kind, &v, &f.value);
            match f.op {
                Op::Eq => equal(f.kind, &v, &f.value),
                Op::In => f.values.iter().any(|x| equal(f.kind, &v, x)),
                Op::Lt => ord() == Some(Ordering::Less),
                Op::Lte => matches!(ord(), Some(Ordering::Less | Ordering::Equal)),
                Op::Gt => ord() == Some(Ordering::Greater),
                Op::Gte => matches!(ord(), Some(Ordering::Greater | Ordering::Equal)),
                Op::Between => {
                    matches!(ord(), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(compare(f.kind, &v, &f.high), Some(Ordering::Less | Ordering::Equal))
                }
                Op::ContainsToken => contains_token(&v, &f.value),
                _ => false,
            }
        }
    }
}

/// Whether a record matches the free-text `query` (any text property contains it).
fn query_matches(ty: &ObjectType, rec: &CrmRecord, query: &str) -> bool {
    ty.stored
        .iter()
        .enumerate()
        .any(|(idx, _)| matches!(rec.props.get(idx), Some(Some(v)) if v.to_lowercase().contains(query)))
        || rec.id.to_string() == query
}

/// `POST /crm/v3/objects/{type}/search`
fn search(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
    if let Some(resp) = search_rate_limit(state) {
        return resp;
    }
    let sr = match parse_search(state, req, ty) {
        Ok(sr) => sr,
        Err(resp) => return resp,
    };
    let props = selected_properties(ty, sr.properties.as_deref());
    let data = state.data();
    // Archived records live in their own list and are never searched.
    let mut hits: Vec<&CrmRecord> = data
        .table(ty)
        .active
        .iter()
        .filter(|rec| sr.groups.is_empty() || sr.groups.iter().any(|g| g.iter().all(|f| filter_matches(f, rec))))
        .filter(|rec| sr.query.as_deref().is_none_or(|q| query_matches(ty, rec, q)))
        .collect();
    if !sr.sorts.is_empty() {
        // Records without a value come last in either direction; ties keep id order (the sort is stable).
        hits.sort_by(|a, b| {
            for s in &sr.sorts {
                let ord = match (prop_value(a, s.prop), prop_value(b, s.prop)) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => {
                        let o = compare(s.kind, &x, &y).unwrap_or(Ordering::Equal);
                        if s.descending {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    let total = hits.len();
    let start = usize::try_from(sr.after).unwrap_or(usize::MAX).min(total);
    let end = start.saturating_add(sr.limit as usize).min(total);
    let mut out = String::with_capacity(64 + (end - start) * (160 + 48 * props.len()));
    out.push_str("{\"total\":");
    push_u64(&mut out, total as u64);
    out.push_str(",\"results\":[");
    for (i, rec) in hits.get(start..end).unwrap_or(&[]).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_record(&mut out, rec, &props);
    }
    out.push(']');
    if end < total {
        out.push_str(",\"paging\":{\"next\":{\"after\":\"");
        push_u64(&mut out, end as u64);
        out.push_str("\"}}");
    }
    out.push('}');
    drop(data);
    FakeResponse::raw_json(200, out.into_bytes())
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn globs_and_tokens() {
        assert!(glob("*@example.com", "contact1@example.com"));
        assert!(glob("con*1*", "Contact12"));
        assert!(!glob("*@example.org", "contact1@example.com"));
        assert!(contains_token("Acme - Renewal 3", "renewal"));
        assert!(contains_token("contact1@example.com", "example"));
        assert!(!contains_token("Acme - Renewal 3", "renew"));
        assert!(contains_token("Acme - Renewal 3", "renew*"));
    }

    #[test]
    fn expiry_messages_pick_a_unit() {
        let st = State::new(crate::state::Config::default());
        for (secs, text) in [
            (0, "0 second(s)"),
            (59, "59 second(s)"),
            (125, "2 minute(s)"),
            (7200, "2 hour(s)"),
            (86_400 * 3 + 5, "3 day(s)"),
        ] {
            let body: Value = serde_json::from_slice(&expired(&st, secs).body).unwrap_or(Value::Null);
            assert_eq!(body["message"], format!("The OAuth token used to make this call expired {text} ago."));
            assert_eq!(body["category"], "EXPIRED_AUTHENTICATION");
        }
    }

    #[test]
    fn comparisons_by_kind() {
        assert_eq!(compare(PropKind::Number, "9", "10"), Some(Ordering::Less));
        assert_eq!(compare(PropKind::Text, "b", "A"), Some(Ordering::Greater));
        assert_eq!(compare(PropKind::DateTime, "2024-01-01T00:00:00.000Z", "1704067200000"), Some(Ordering::Equal));
        assert!(equal(PropKind::Text, "Alice", "aLICE"));
        assert_eq!(compare(PropKind::Number, "x", "1"), None);
    }
}
