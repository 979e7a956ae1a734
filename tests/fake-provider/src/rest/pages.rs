//! The pagination styles of the generic items: a `Link` header (`link`), a `next` URL in the body (`next`),
//! `limit`/`offset` with a total (`offset`), numbered pages with `meta.pagination` (`page`) and an opaque
//! cursor (`cursor`). Page sizes are 1 to 100.

use std::ops::Range;

use serde_json::{json, Value};

use super::items::filtered_items;
use crate::http::{base64_decode, base64_encode, extra_query, FakeRequest, FakeResponse};
use crate::shared::paging::window;
use crate::state::State;

const MAX_PAGE: u64 = 100;

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
    items.get(window(items.len(), (page - 1).saturating_mul(per_page), per_page)).unwrap_or(&[])
}

const PAGE_PARAMS: &[&str] = &["page", "per_page"];

pub(super) fn link_style(state: &State, req: &FakeRequest) -> FakeResponse {
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

pub(super) fn next_style(state: &State, req: &FakeRequest) -> FakeResponse {
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

pub(super) fn offset_style(state: &State, req: &FakeRequest) -> FakeResponse {
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
    let page = items.get(window(total, offset, limit)).unwrap_or(&[]).to_vec();
    FakeResponse::json(200, &json!({ "items": page, "total": total }))
}

pub(super) fn page_style(state: &State, req: &FakeRequest) -> FakeResponse {
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

pub(super) fn cursor_style(state: &State, req: &FakeRequest) -> FakeResponse {
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
    let Range { start, end } = window(total, offset, limit);
    let page = items.get(start..end).unwrap_or(&[]).to_vec();
    let next = if end < total { Value::String(encode_cursor(end as u64)) } else { Value::Null };
    FakeResponse::json(200, &json!({ "records": page, "next_cursor": next }))
}
