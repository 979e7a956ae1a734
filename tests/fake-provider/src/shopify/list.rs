//! Lists (`GET /admin/api/{version}/{resource}.json`), counts and single records: the filters each resource
//! knows (`since_id`, `ids`, date ranges, status...), `limit`, `fields`, and cursor pagination through the
//! `Link` header, whose `page_info` carries the first request's filters.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::errors::{errors, invalid_value, not_found};
use super::store::{Kind, Row, Store};
use super::time::parse_time;
use crate::http::{base64_decode, base64_encode, percent_encode, FakeRequest, FakeResponse};

const PAGINATION_DOC: &str = "See https://shopify.dev/api/usage/pagination-rest for more information.";
const MAX_LIMIT: u64 = 250;
const DEFAULT_LIMIT: u64 = 50;

/// The filters of a list, parsed from the query (or from a `page_info`).
#[derive(Debug, Default)]
struct Filters {
    since_id: Option<u64>,
    ids: Option<Vec<u64>>,
    created_min: Option<i64>,
    created_max: Option<i64>,
    updated_min: Option<i64>,
    updated_max: Option<i64>,
    /// Field -> accepted values (exact match), e.g. vendor, product_type, financial_status.
    exact: Vec<(&'static str, Vec<String>)>,
    /// Orders: open / closed / cancelled / any (default open).
    order_status: Option<String>,
    /// Orders: shipped / partial / unshipped / unfulfilled / any.
    fulfillment: Option<String>,
}

fn parse_filters(kind: Kind, pairs: &BTreeMap<String, String>) -> Result<Filters, FakeResponse> {
    let mut f = Filters::default();
    if kind == Kind::Orders {
        f.order_status = Some("open".into());
    }
    for (k, v) in pairs {
        let time = || parse_time(v).ok_or_else(|| invalid_value(k));
        match (kind, k.as_str()) {
            (_, "since_id") => f.since_id = Some(v.trim().parse().map_err(|_| invalid_value(k))?),
            (_, "ids") => f.ids = Some(v.split(',').filter_map(|s| s.trim().parse().ok()).collect()),
            (_, "created_at_min") => f.created_min = Some(time()?),
            (_, "created_at_max") => f.created_max = Some(time()?),
            (_, "updated_at_min") => f.updated_min = Some(time()?),
            (_, "updated_at_max") => f.updated_max = Some(time()?),
            (Kind::Products, "vendor") => f.exact.push(("vendor", vec![v.clone()])),
            (Kind::Products, "product_type") => f.exact.push(("product_type", vec![v.clone()])),
            (Kind::Products, "title") => f.exact.push(("title", vec![v.clone()])),
            (Kind::Products, "handle") => {
                f.exact.push(("handle", v.split(',').map(|s| s.trim().to_string()).collect()))
            }
            (Kind::Products, "status") => {
                f.exact.push(("status", v.split(',').map(|s| s.trim().to_string()).collect()))
            }
            (Kind::Orders, "status") => match v.as_str() {
                "open" | "closed" | "cancelled" | "any" => f.order_status = Some(v.clone()),
                _ => return Err(invalid_value(k)),
            },
            (Kind::Orders, "financial_status") if v != "any" => f.exact.push(("financial_status", vec![v.clone()])),
            (Kind::Orders, "fulfillment_status") => f.fulfillment = Some(v.clone()),
            // Like Rails, parameters an endpoint does not know are ignored.
            _ => {}
        }
    }
    Ok(f)
}

impl Filters {
    fn keep(&self, row: &Row) -> bool {
        let rec = &row.rec;
        self.since_id.is_none_or(|s| row.id > s)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&row.id))
            && self.created_min.is_none_or(|t| row.created >= t)
            && self.created_max.is_none_or(|t| row.created <= t)
            && self.updated_min.is_none_or(|t| row.updated >= t)
            && self.updated_max.is_none_or(|t| row.updated <= t)
            && self.exact.iter().all(|(field, values)| {
                rec.get(*field).and_then(Value::as_str).is_some_and(|v| values.iter().any(|x| x == v))
            })
            && self.order_status.as_deref().is_none_or(|s| {
                let closed = !rec.get("closed_at").is_none_or(Value::is_null);
                let cancelled = !rec.get("cancelled_at").is_none_or(Value::is_null);
                match s {
                    "open" => !closed && !cancelled,
                    "closed" => closed,
                    "cancelled" => cancelled,
                    _ => true,
                }
            })
            && self.fulfillment.as_deref().is_none_or(|s| {
                let f = rec.get("fulfillment_status").and_then(Value::as_str);
                match s {
                    "shipped" => f == Some("fulfilled"),
                    "partial" => f == Some("partial"),
                    "unshipped" => f.is_none(),
                    "unfulfilled" => f != Some("fulfilled"),
                    _ => true,
                }
            })
    }
}

/// `page_info`: base64url JSON of the direction, the cursor id and the first request's filters.
fn encode_page_info(direction: &str, id: u64, filters: &BTreeMap<String, String>) -> String {
    let key = if direction == "next" { "last_id" } else { "first_id" };
    let text = json!({ "direction": direction, key: id, "filters": filters }).to_string();
    base64_encode(text.as_bytes()).replace('+', "-").replace('/', "_").trim_end_matches('=').to_string()
}

fn decode_page_info(token: &str) -> Option<(bool, u64, BTreeMap<String, String>)> {
    let standard = token.replace('-', "+").replace('_', "/");
    let bytes = base64_decode(&standard)?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let next = match v.get("direction")?.as_str()? {
        "next" => true,
        "prev" => false,
        _ => return None,
    };
    let id = v.get(if next { "last_id" } else { "first_id" })?.as_u64()?;
    let mut filters = BTreeMap::new();
    for (k, val) in v.get("filters")?.as_object()? {
        filters.insert(k.clone(), val.as_str()?.to_string());
    }
    Some((next, id, filters))
}

fn parse_limit(req: &FakeRequest) -> Result<u64, FakeResponse> {
    match req.param("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(invalid_value("limit")),
        },
    }
}

/// `fields=id,email`: keep only those keys.
fn select(rec: &Map<String, Value>, fields: Option<&str>) -> Value {
    let wanted: Vec<&str> =
        fields.map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    if wanted.is_empty() {
        return Value::Object(rec.clone());
    }
    Value::Object(
        rec.iter().filter(|(k, _)| wanted.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

pub(super) fn list(store: &Store, req: &FakeRequest, version: &str, kind: Kind) -> FakeResponse {
    let limit = match parse_limit(req) {
        Ok(l) => l as usize,
        Err(e) => return e,
    };
    let fields = req.param("fields");
    let (cursor, filter_pairs) = match req.param("page_info") {
        Some(token) => {
            let extra: Map<String, Value> = req
                .query
                .iter()
                .filter(|(k, _)| !["page_info", "limit", "fields"].contains(&k.as_str()))
                .map(|(k, _)| {
                    (k.clone(), json!(format!("{k} cannot be passed when page_info is present. {PAGINATION_DOC}")))
                })
                .collect();
            if !extra.is_empty() {
                return errors(400, Value::Object(extra));
            }
            match decode_page_info(token) {
                Some((next, id, filters)) => (Some((next, id)), filters),
                None => return invalid_value("page_info"),
            }
        }
        None => {
            let pairs: BTreeMap<String, String> =
                req.query.iter().filter(|(k, _)| !["limit", "fields"].contains(&k.as_str())).cloned().collect();
            (None, pairs)
        }
    };
    let filters = match parse_filters(kind, &filter_pairs) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let matching: Vec<&Row> = kind.rows(store).iter().filter(|r| filters.keep(r)).collect();
    let (page, has_prev, has_next): (&[&Row], bool, bool) = match cursor {
        None => {
            let end = matching.len().min(limit);
            (&matching[..end], false, matching.len() > limit)
        }
        Some((true, last)) => {
            let start = matching.partition_point(|r| r.id <= last);
            let end = matching.len().min(start + limit);
            (&matching[start..end], start > 0, matching.len() > end)
        }
        Some((false, first)) => {
            let end = matching.partition_point(|r| r.id < first);
            let start = end.saturating_sub(limit);
            (&matching[start..end], start > 0, matching.len() > end)
        }
    };
    let items: Vec<Value> = page.iter().map(|r| select(&r.rec, fields)).collect();
    let mut resp = FakeResponse::json(200, &json!({ kind.plural(): items }));
    let mut links = Vec::new();
    let base = format!("http://{}/admin/api/{version}/{}.json?limit={limit}", req.host(), kind.plural());
    let base = match fields {
        Some(f) => format!("{base}&fields={}", percent_encode(f)),
        None => base,
    };
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        if has_prev {
            let token = encode_page_info("prev", first.id, &filter_pairs);
            links.push(format!("<{base}&page_info={token}>; rel=\"previous\""));
        }
        if has_next {
            let token = encode_page_info("next", last.id, &filter_pairs);
            links.push(format!("<{base}&page_info={token}>; rel=\"next\""));
        }
    }
    if !links.is_empty() {
        resp = resp.with_header("Link", &links.join(", "));
    }
    resp
}

pub(super) fn count(store: &Store, req: &FakeRequest, kind: Kind) -> FakeResponse {
    let pairs: BTreeMap<String, String> = req.query.iter().cloned().collect();
    match parse_filters(kind, &pairs) {
        Ok(f) => FakeResponse::json(200, &json!({ "count": kind.rows(store).iter().filter(|r| f.keep(r)).count() })),
        Err(e) => e,
    }
}

pub(super) fn get_one(store: &Store, req: &FakeRequest, kind: Kind, id: u64) -> FakeResponse {
    match kind.rows(store).iter().find(|r| r.id == id) {
        Some(row) => FakeResponse::json(200, &json!({ kind.singular(): select(&row.rec, req.param("fields")) })),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_info_round_trip() {
        let mut f = BTreeMap::new();
        f.insert("status".to_string(), "any".to_string());
        let token = encode_page_info("next", 42, &f);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_page_info(&token), Some((true, 42, f)));
        assert_eq!(decode_page_info("garbage!"), None);
    }
}
