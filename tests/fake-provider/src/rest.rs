//! Generic REST resource "items" in several pagination styles, the type
//! conversion fixtures and the auth-specific resources.

use serde_json::{json, Value};

use crate::data::item;
use crate::http::{base64_decode, base64_encode, extra_query, FakeRequest, FakeResponse};
use crate::rest_write;
use crate::state::State;

const MAX_PAGE: u64 = 100;
const BASIC_USER: &str = "test-user";
/// The default password of the Basic user (`--basic-password`).
pub const BASIC_PASSWORD: &str = "test-password";

/// Serves `/rest/...` and `/auth/...`; `None` if the path is unknown.
pub fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let known = matches!(
        segs.as_slice(),
        ["rest", "types" | "types_bad"]
            | ["rest", "plain", "items"]
            | ["rest", "plain", "items", _]
            | ["rest", "link" | "next" | "offset" | "page" | "cursor", "items"]
            | ["auth", "bearer" | "basic" | "header" | "query", "items"]
    );
    if !known {
        return None;
    }
    let methods: &[&str] = match segs.as_slice() {
        ["rest", "plain", "items"] => &["GET", "POST"],
        ["rest", "plain", "items", _] => &["GET", "PATCH", "PUT", "DELETE"],
        _ => &["GET"],
    };
    if !methods.contains(&req.method.as_str()) {
        return Some(FakeResponse::message(405, "method not allowed").with_header("Allow", &methods.join(", ")));
    }
    let resp = match (segs.as_slice(), req.method.as_str()) {
        (["rest", "plain", "items"], "POST") => rest_write::create(state, req),
        (["rest", "plain", "items", id], "PATCH") => rest_write::patch(state, req, id),
        (["rest", "plain", "items", id], "PUT") => rest_write::put(state, req, id),
        (["rest", "plain", "items", id], "DELETE") => rest_write::delete(state, id),
        (segs, _) => get(state, req, segs),
    };
    Some(resp)
}

/// The read endpoints (the method is GET).
fn get(state: &State, req: &FakeRequest, segs: &[&str]) -> FakeResponse {
    match segs {
        ["rest", "types"] => FakeResponse::json(200, &types_records(false)),
        ["rest", "types_bad"] => FakeResponse::json(200, &types_records(true)),
        ["rest", "plain", "items"] => FakeResponse::json(200, &Value::Array(filtered_items(state, req))),
        ["rest", "plain", "items", id] => plain_one(state, id),
        ["rest", "link", "items"] => link_style(state, req),
        ["rest", "next", "items"] => next_style(state, req),
        ["rest", "offset", "items"] => offset_style(state, req),
        ["rest", "page", "items"] => page_style(state, req),
        ["rest", "cursor", "items"] => cursor_style(state, req),
        ["auth", kind, "items"] => auth_items(state, req, kind),
        _ => FakeResponse::message(404, &format!("no such endpoint: {}", req.path)),
    }
}

/// Whether `item` matches every query parameter that names one of its
/// top-level scalar fields (string, number, bool or null).
pub fn matches_filters(item: &Value, query: &[(String, String)]) -> bool {
    let Some(obj) = item.as_object() else {
        return true;
    };
    query.iter().all(|(k, v)| match obj.get(k) {
        Some(Value::String(s)) => s == v,
        Some(Value::Number(n)) => n.to_string() == *v,
        Some(Value::Bool(b)) => b.to_string() == *v,
        Some(Value::Null) => v == "null" || v.is_empty(),
        // Arrays, objects and unknown parameters do not filter.
        _ => true,
    })
}

fn filtered_items(state: &State, req: &FakeRequest) -> Vec<Value> {
    state.data().items.iter().filter(|it| matches_filters(it, &req.query)).cloned().collect()
}

/// Parses a page size parameter: absent -> default, else an integer 1..=100.
pub fn page_size(req: &FakeRequest, name: &str, default: u64) -> Result<u64, FakeResponse> {
    match req.param(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(FakeResponse::message(400, &format!("{name} must be between 1 and {MAX_PAGE}"))),
        },
    }
}

/// Parses a 1-based page number (default 1).
pub fn page_number(req: &FakeRequest) -> Result<u64, FakeResponse> {
    match req.param("page") {
        None => Ok(1),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(FakeResponse::message(400, "page must be a positive integer")),
        },
    }
}

/// Slice of `items` for 1-based `page` of size `per_page`.
fn page_slice(items: &[Value], page: u64, per_page: u64) -> &[Value] {
    let start = (page - 1).saturating_mul(per_page);
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(items.len());
    let end = start.saturating_add(per_page as usize).min(items.len());
    items.get(start..end).unwrap_or(&[])
}

fn plain_one(state: &State, id: &str) -> FakeResponse {
    let Ok(num) = id.parse::<u64>() else {
        return FakeResponse::message(404, "item not found");
    };
    let data = state.data();
    match data.items.iter().find(|it| it["id"].as_u64() == Some(num)) {
        Some(it) => FakeResponse::json(200, it),
        None => FakeResponse::message(404, "item not found"),
    }
}

const PAGE_PARAMS: &[&str] = &["page", "per_page"];

fn link_style(state: &State, req: &FakeRequest) -> FakeResponse {
    let (page, per_page, total, data) = match numbered_page(state, req) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let body = Value::Array(data);
    let extra = extra_query(&req.query, PAGE_PARAMS);
    let url = |p: u64| format!("http://{}/rest/link/items?page={p}&per_page={per_page}{extra}", req.host());
    let mut links = Vec::new();
    if page.saturating_mul(per_page) < total {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url(page - 1)));
    }
    let resp = FakeResponse::json(200, &body);
    if links.is_empty() {
        resp
    } else {
        resp.with_header("Link", &links.join(", "))
    }
}

/// The page and page size asked for (`page`, `per_page`), the filtered total and that page's items.
fn numbered_page(state: &State, req: &FakeRequest) -> Result<(u64, u64, u64, Vec<Value>), FakeResponse> {
    let page = page_number(req)?;
    let per_page = page_size(req, "per_page", 10)?;
    let items = filtered_items(state, req);
    let data = page_slice(&items, page, per_page).to_vec();
    Ok((page, per_page, items.len() as u64, data))
}

fn next_style(state: &State, req: &FakeRequest) -> FakeResponse {
    let (page, per_page, total, data) = match numbered_page(state, req) {
        Ok(v) => v,
        Err(e) => return e,
    };

    let next = if page.saturating_mul(per_page) < total {
        Value::String(format!(
            "/rest/next/items?page={}&per_page={per_page}{}",
            page + 1,
            extra_query(&req.query, PAGE_PARAMS)
        ))
    } else {
        Value::Null
    };
    FakeResponse::json(200, &json!({ "data": data, "next": next }))
}

fn offset_style(state: &State, req: &FakeRequest) -> FakeResponse {
    let limit = match page_size(req, "limit", 10) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let offset = match req.param("offset") {
        None => 0,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => return FakeResponse::message(400, "offset must be a non-negative integer"),
        },
    };
    let items = filtered_items(state, req);
    let total = items.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let end = start.saturating_add(limit as usize).min(total);
    let page = items.get(start..end).unwrap_or(&[]).to_vec();
    FakeResponse::json(200, &json!({ "items": page, "total": total }))
}

fn page_style(state: &State, req: &FakeRequest) -> FakeResponse {
    let (page, per_page, total, data) = match numbered_page(state, req) {
        Ok(v) => v,
        Err(e) => return e,
    };
    json_page(total, data, page, per_page)
}

fn json_page(total: u64, data: Vec<Value>, page: u64, per_page: u64) -> FakeResponse {
    FakeResponse::json(
        200,
        &json!({
            "data": data,
            "meta": { "pagination": {
                "total": total,
                "count": data.len(),
                "per_page": per_page,
                "current_page": page,
                "total_pages": total.div_ceil(per_page),
            } },
        }),
    )
}

fn encode_cursor(offset: u64) -> String {
    base64_encode(format!("items:{offset}").as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = base64_decode(cursor)?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("items:")?.parse().ok()
}

fn cursor_style(state: &State, req: &FakeRequest) -> FakeResponse {
    let limit = match page_size(req, "limit", 10) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let offset = match req.param("cursor") {
        None | Some("") => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => return FakeResponse::message(400, "invalid cursor"),
        },
    };
    let items = filtered_items(state, req);
    let total = items.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let end = start.saturating_add(limit as usize).min(total);
    let page = items.get(start..end).unwrap_or(&[]).to_vec();
    let next = if end < total { Value::String(encode_cursor(end as u64)) } else { Value::Null };
    FakeResponse::json(200, &json!({ "records": page, "next_cursor": next }))
}

fn auth_items(state: &State, req: &FakeRequest, kind: &str) -> FakeResponse {
    let token = state.config.token.as_str();
    let ok = match kind {
        // The configured token, or an access token issued by the fake OAuth server.
        "bearer" => match crate::oauth::bearer_token(req) {
            Some(t) if t == token => true,
            Some(t) => match crate::oauth::token_status(state, t) {
                crate::oauth::TokenStatus::Valid => true,
                crate::oauth::TokenStatus::Expired { .. } => {
                    return FakeResponse::message(401, "token expired");
                }
                crate::oauth::TokenStatus::Unknown => false,
            },
            None => false,
        },
        "basic" => req
            .header_value("authorization")
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, cred)| base64_decode(cred.trim()))
            .and_then(|raw| String::from_utf8(raw).ok())
            .is_some_and(|cred| cred == format!("{BASIC_USER}:{}", state.config.basic_password)),
        "header" => req.header_value("x-api-key").is_some_and(|v| v == token),
        "query" => req.param("api_key").is_some_and(|v| v == token),
        _ => false,
    };
    if !ok {
        return FakeResponse::message(401, "invalid credentials");
    }
    let items: Vec<Value> = (1..=3).map(item).filter(|it| matches_filters(it, &req.query)).collect();
    FakeResponse::json(200, &Value::Array(items))
}

/// The three type-conversion fixtures; `bad` breaks `t_int4` in record 2.
pub fn types_records(bad: bool) -> Value {
    let mut records = json!([
        {
            "id": 1,
            "t_text": "hello",
            "t_int2": 12,
            "t_int4": "123",
            "t_int8": 9_007_199_254_740_993_u64,
            "t_numeric": "12345.678901",
            "t_float": 1.5,
            "t_bool": "true",
            "t_date": "2024-02-29",
            "t_ts": "2024-02-29T12:34:56.789Z",
            "t_ts_epoch": 1_709_210_096,
            "t_json": { "a": [1, 2] },
            "t_array": ["x", "y"],
            "t_csv": "a;b;c",
            "t_null": null,
        },
        {
            "id": 2,
            "t_text": "wörld ✓ \"quoted\"",
            "t_int2": -7,
            "t_int4": -42,
            "t_int8": "-9223372036854775808",
            "t_numeric": -0.5,
            "t_float": "2.25",
            "t_bool": false,
            "t_date": "1999-12-31",
            "t_ts": "2024-02-29T14:34:56.789+02:00",
            "t_ts_epoch": "1709210096",
            "t_json": [1, "two", null],
            "t_array": [],
            "t_csv": "",
            "t_null": null,
        },
        {
            "id": 3,
            "t_text": "",
            "t_int2": "32767",
            "t_int4": 2_147_483_647,
            "t_int8": 0,
            "t_numeric": 100,
            "t_float": -0.001,
            "t_bool": 0,
            "t_date": "2024-01-01",
            "t_ts": "2024-02-29T12:34:56.000+0000",
            "t_ts_epoch": 0,
            "t_json": { "nested": { "k": "v" } },
            "t_array": ["z"],
            "t_csv": "only",
            "t_null": null,
        },
    ]);
    if bad {
        if let Some(rec) = records.get_mut(1).and_then(Value::as_object_mut) {
            rec.insert("t_int4".into(), Value::String("12abc".into()));
        }
    }
    records
}
