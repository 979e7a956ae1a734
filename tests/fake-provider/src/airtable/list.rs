//! Listing records: `GET /v0/{base}/{table}` (query parameters) and `POST .../listRecords` (a JSON body), with
//! `pageSize`, `maxRecords`, `fields`, `sort`, `view` and `filterByFormula`. A listing is an iterator of record
//! ids kept in the store; `offset` (`itr.../rec...`) continues it.

use serde_json::{json, Value};

use super::errors::{at_error, formula_error, invalid_request, not_found};
use super::formula::{bind, eval, parse_formula, truthy};
use super::json_body;
use super::records::push_record;
use super::store::{is_id, make_id, with_store, ListIterator, Rec};
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::json::push_json_str;
use crate::state::State;

const MAX_PAGE: u64 = 100;

/// Iterators kept for paging (older ones become unavailable).
const MAX_ITERATORS: usize = 100;

#[derive(Debug, Default)]
struct ListParams {
    page_size: Option<u64>,
    max_records: Option<u64>,
    offset: Option<String>,
    formula: Option<String>,
    fields: Option<Vec<String>>,
    /// (field, descending)
    sort: Vec<(String, bool)>,
    view: Option<String>,
}

fn uint(raw: &str) -> Option<u64> {
    raw.trim().parse::<u64>().ok()
}

/// The values of a list parameter given as `name`, `name[]` or `name[N]`.
fn list_param(req: &FakeRequest, name: &str) -> Option<Vec<String>> {
    let mut plain = Vec::new();
    let mut indexed: Vec<(u64, String)> = Vec::new();
    let bracket = format!("{name}[]");
    for (k, v) in &req.query {
        if k == name || *k == bracket {
            plain.push(v.clone());
        } else if let Some(i) = k.strip_prefix(name).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
        {
            if let Some(n) = uint(i) {
                indexed.push((n, v.clone()));
            }
        }
    }
    if plain.is_empty() && indexed.is_empty() {
        return None;
    }
    indexed.sort_by_key(|(n, _)| *n);
    plain.extend(indexed.into_iter().map(|(_, v)| v));
    Some(plain)
}

pub(super) fn list_get(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let mut p = ListParams::default();
    for (name, slot) in [("pageSize", &mut p.page_size), ("maxRecords", &mut p.max_records)] {
        if let Some(raw) = req.param(name) {
            match uint(raw) {
                Some(n) => *slot = Some(n),
                None => return invalid_request(),
            }
        }
    }
    p.offset = req.param("offset").map(str::to_string);
    p.formula = req.param("filterByFormula").map(str::to_string);
    p.fields = list_param(req, "fields");
    p.view = req.param("view").map(str::to_string);
    let mut sorts: Vec<(u64, String, bool)> = Vec::new();
    for (k, v) in &req.query {
        let Some(rest) = k.strip_prefix("sort[") else { continue };
        let Some((idx, attr)) = rest.split_once("][") else {
            return invalid_request();
        };
        let Some(idx) = uint(idx) else {
            return invalid_request();
        };
        let pos = match sorts.iter().position(|(i, _, _)| *i == idx) {
            Some(p) => p,
            None => {
                sorts.push((idx, String::new(), false));
                sorts.len() - 1
            }
        };
        let Some(entry) = sorts.get_mut(pos) else { continue };
        match attr {
            "field]" => entry.1 = v.clone(),
            "direction]" if v == "asc" => entry.2 = false,
            "direction]" if v == "desc" => entry.2 = true,
            _ => return invalid_request(),
        }
    }
    sorts.sort_by_key(|(i, _, _)| *i);
    if sorts.iter().any(|(_, f, _)| f.is_empty()) {
        return invalid_request();
    }
    p.sort = sorts.into_iter().map(|(_, f, d)| (f, d)).collect();
    if req.param("cellFormat").is_some_and(|c| c != "json") {
        return invalid_request();
    }
    list(state, t, &p)
}

/// `POST /v0/{base}/{table}/listRecords`: the listing parameters in a JSON body.
pub(super) fn list_post(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let body = match json_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut p = ListParams::default();
    let text = |v: &Value| v.as_str().map(str::to_string);
    for (k, v) in &body {
        let ok = match k.as_str() {
            "pageSize" => v.as_u64().map(|n| p.page_size = Some(n)).is_some(),
            "maxRecords" => v.as_u64().map(|n| p.max_records = Some(n)).is_some(),
            "offset" => text(v).map(|s| p.offset = Some(s)).is_some(),
            "filterByFormula" => text(v).map(|s| p.formula = Some(s)).is_some(),
            "view" => text(v).map(|s| p.view = Some(s)).is_some(),
            "fields" => v
                .as_array()
                .map(|a| p.fields = Some(a.iter().filter_map(Value::as_str).map(str::to_string).collect()))
                .is_some(),
            "sort" => match v.as_array() {
                Some(a) => a.iter().all(|s| {
                    let field = s.get("field").and_then(Value::as_str);
                    let desc = match s.get("direction").and_then(Value::as_str) {
                        None | Some("asc") => Some(false),
                        Some("desc") => Some(true),
                        Some(_) => None,
                    };
                    match (field, desc) {
                        (Some(f), Some(d)) => {
                            p.sort.push((f.to_string(), d));
                            true
                        }
                        _ => false,
                    }
                }),
                None => false,
            },
            "cellFormat" => v.as_str() == Some("json"),
            "returnFieldsByFieldId" => v.as_bool() == Some(false),
            _ => false,
        };
        if !ok {
            return invalid_request();
        }
    }
    list(state, t, &p)
}

fn list(state: &State, t: usize, p: &ListParams) -> FakeResponse {
    let page_size = p.page_size.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&page_size) || p.max_records == Some(0) {
        return invalid_request();
    }
    if let Some(v) = &p.view {
        if v != "Grid view" {
            return at_error(422, "VIEW_NAME_NOT_FOUND", &format!("View {v} not found"));
        }
    }
    let formula = match &p.formula {
        Some(f) if !f.trim().is_empty() => match parse_formula(f) {
            Ok(e) => Some(e),
            Err(()) => return formula_error("Invalid formula. Please check your formula text."),
        },
        _ => None,
    };
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return not_found();
        };
        // Field names: the projection, the sort and the formula must all exist.
        let mut only: Option<Vec<usize>> = None;
        if let Some(names) = &p.fields {
            let mut idx = Vec::new();
            for n in names {
                match table.field(n) {
                    Some(i) => idx.push(i),
                    None => return at_error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{n}\"")),
                }
            }
            only = Some(idx);
        }
        let mut sort = Vec::new();
        for (name, desc) in &p.sort {
            match table.field(name) {
                Some(i) => sort.push((i, *desc)),
                None => return at_error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{name}\"")),
            }
        }
        let formula = match formula {
            Some(e) => {
                let mut unknown = Vec::new();
                let bound = bind(&e, table, &mut unknown);
                if !unknown.is_empty() {
                    return formula_error(&format!("Unknown field names: {}", unknown.join(", ")));
                }
                Some(bound)
            }
            None => None,
        };
        let signature = format!("{:?}|{:?}|{:?}", p.formula, p.sort, p.view);
        // Continue an iterator, or start one.
        let (iter_idx, start) = match &p.offset {
            Some(raw) => {
                let Some((itr, rec)) = raw.split_once('/').filter(|(i, r)| is_id("itr", i) && is_id("rec", r)) else {
                    return at_error(422, "INVALID_OFFSET_VALUE", &format!("The value of offset {raw} is invalid"));
                };
                let found =
                    st.iterators.iter().position(|it| it.id == itr && it.table == t && it.signature == signature);
                let pos = found.and_then(|i| st.iterators.get(i)).and_then(|it| it.ids.iter().position(|id| id == rec));
                match (found, pos) {
                    (Some(i), Some(pos)) => (i, pos),
                    _ => {
                        return FakeResponse::json(
                            422,
                            &json!({ "error": { "type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE" } }),
                        )
                    }
                }
            }
            None => {
                let mut hits: Vec<&Rec> =
                    table.recs.iter().filter(|r| formula.as_ref().is_none_or(|e| truthy(&eval(e, table, r)))).collect();
                if !sort.is_empty() {
                    hits.sort_by(|a, b| {
                        for (i, desc) in &sort {
                            let ord = compare_cells(
                                a.values.get(*i).and_then(Option::as_ref),
                                b.values.get(*i).and_then(Option::as_ref),
                            );
                            let ord = if *desc { ord.reverse() } else { ord };
                            if ord != std::cmp::Ordering::Equal {
                                return ord;
                            }
                        }
                        std::cmp::Ordering::Equal
                    });
                }
                let cap = p.max_records.map_or(hits.len(), |m| (m as usize).min(hits.len()));
                let ids: Vec<String> = hits.iter().take(cap).map(|r| r.id.clone()).collect();
                st.iterators_opened += 1;
                let id = make_id("itr", 0x17e7 << 32 | st.iterators_opened);
                if st.iterators.len() >= MAX_ITERATORS {
                    st.iterators.pop_front();
                }
                st.iterators.push_back(ListIterator { id, table: t, signature, ids });
                (st.iterators.len() - 1, 0)
            }
        };
        let (Some(it), Some(table)) = (st.iterators.get(iter_idx), st.tables.get(t)) else {
            return not_found();
        };
        let end = start.saturating_add(page_size as usize).min(it.ids.len());
        let mut out = String::from("{\"records\":[");
        let mut first = true;
        for id in it.ids.get(start..end).unwrap_or(&[]) {
            // Records deleted since the listing started are skipped.
            let Some(rec) = table.recs.iter().find(|r| r.id == *id) else { continue };
            if !first {
                out.push(',');
            }
            first = false;
            push_record(&mut out, table, rec, only.as_deref());
        }
        out.push(']');
        if let Some(next) = it.ids.get(end) {
            out.push_str(",\"offset\":");
            push_json_str(&mut out, &format!("{}/{next}", it.id));
        }
        out.push('}');
        FakeResponse::raw_json(200, out.into_bytes())
    })
}

/// Orders cells for sorting: empty cells first, numbers numerically, text ignoring case.
fn compare_cells(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(m), Some(n)) => m.partial_cmp(&n).unwrap_or(Ordering::Equal),
            _ => cell_text(x).to_lowercase().cmp(&cell_text(y).to_lowercase()),
        },
    }
}

/// A cell as formula text: arrays (multiple selects) as `a, b`.
pub(super) fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell_text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
