//! BigCommerce's pagination: `meta.pagination` with `links` (page and limit first, then the request's own
//! parameters) and, for customers, `meta.cursor_pagination` with base64 cursors (`after`, `before`).

use serde_json::{json, Map, Value};

use super::store::Row;
use crate::http::{base64_decode, base64_encode, percent_encode, FakeRequest};

pub(super) const MAX_LIMIT: u64 = 250;
pub(super) const DEFAULT_LIMIT: u64 = 50;

/// Query string of a pagination link: `page` and `limit` first, then the request's other parameters.
fn page_link(req: &FakeRequest, page: u64, limit: u64) -> String {
    let mut out = format!("?page={page}&limit={limit}");
    for (k, v) in &req.query {
        if k == "page" || k == "limit" {
            continue;
        }
        out.push('&');
        out.push_str(k);
        out.push('=');
        out.push_str(&encode_value(v));
    }
    out
}

/// Percent-encodes a value but keeps `,` `:` and `@` readable.
fn encode_value(v: &str) -> String {
    percent_encode(v).replace("%2C", ",").replace("%3A", ":").replace("%40", "@")
}

/// `meta.pagination` for page `page` of `total` items.
pub(super) fn pagination(req: &FakeRequest, total: usize, count: usize, page: u64, limit: u64) -> Value {
    let total_pages = (total as u64).div_ceil(limit);
    let mut links = Map::new();
    if page > 1 {
        links.insert("previous".into(), json!(page_link(req, page - 1, limit)));
    }
    links.insert("current".into(), json!(page_link(req, page, limit)));
    if page < total_pages {
        links.insert("next".into(), json!(page_link(req, page + 1, limit)));
    }
    json!({
        "total": total,
        "count": count,
        "per_page": limit,
        "current_page": page,
        "total_pages": total_pages,
        "links": links
    })
}

/// Customers cursor: base64 of `{"id":N}` (unpadded), as in BigCommerce's examples.
fn encode_cursor(id: u64) -> String {
    base64_encode(format!("{{\"id\":{id}}}").as_bytes()).trim_end_matches('=').to_string()
}

pub(super) fn decode_cursor(s: &str) -> Option<u64> {
    let bytes = base64_decode(s.trim())?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("id")?.as_u64()
}

/// The request's filters (not `page`, `limit`, `after`, `before`), each prefixed with `&`.
fn filter_query(req: &FakeRequest) -> String {
    let mut out = String::new();
    for (k, v) in &req.query {
        if !["page", "limit", "after", "before"].contains(&k.as_str()) {
            out.push('&');
            out.push_str(k);
            out.push('=');
            out.push_str(&encode_value(v));
        }
    }
    out
}

pub(super) fn cursor_pagination(
    req: &FakeRequest,
    page: &[&Row],
    limit: u64,
    more_before: bool,
    more_after: bool,
) -> Value {
    let (start, end) = match (page.first(), page.last()) {
        (Some(f), Some(l)) => (encode_cursor(f.id), encode_cursor(l.id)),
        _ => (String::new(), String::new()),
    };
    let filters = filter_query(req);
    let mut links = Map::new();
    if more_before && !start.is_empty() {
        links.insert("previous".into(), json!(format!("?limit={limit}&before={}{filters}", encode_value(&start))));
    }
    if more_after && !end.is_empty() {
        links.insert("next".into(), json!(format!("?limit={limit}&after={}{filters}", encode_value(&end))));
    }
    let mut cp = Map::new();
    cp.insert("count".into(), json!(page.len()));
    cp.insert("per_page".into(), json!(limit));
    if !start.is_empty() {
        cp.insert("start_cursor".into(), json!(start));
        cp.insert("end_cursor".into(), json!(end));
    }
    cp.insert("links".into(), Value::Object(links));
    Value::Object(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        assert_eq!(encode_cursor(204), "eyJpZCI6MjA0fQ");
        assert_eq!(decode_cursor("eyJpZCI6MjA0fQ"), Some(204));
        assert_eq!(decode_cursor("!!"), None);
    }
}
