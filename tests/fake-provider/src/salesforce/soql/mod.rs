//! SOQL: `GET /services/data/vNN.0/query?q=...` and `queryAll` (`lexer` and `parser` read the query, `eval`
//! filters and orders records), results paged by `nextRecordsUrl` (`/query/<locator>-<offset>`) with the batch
//! size of `Sforce-Query-Options`, and Salesforce's error text with a caret under the position.

mod eval;
mod lexer;
mod parser;

use super::errors::error;
use super::read::record_json;
use super::schema::FType;
use super::store::{with_store, Cursor, Rec};
use super::values::make_id;
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::json::push_json_str;
use crate::state::State;
use eval::{eval, field_cv};
use lexer::lex;
use parser::{Parser, SoqlError};

/// Records per query page unless `Sforce-Query-Options: batchSize=N` says otherwise.
const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;

/// Open query cursors per user; opening one more invalidates the oldest (as Salesforce does).
const MAX_CURSORS: usize = 10;

/// Salesforce's SOQL error text: the query line, a caret under the position, and the message.
fn soql_error(q: &str, e: &SoqlError) -> FakeResponse {
    let before: String = q.chars().take(e.pos).collect();
    let row = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let line = q.lines().nth(row - 1).unwrap_or(q);
    let message = format!("\n{line}\n{}^\nERROR at Row:{row}:Column:{col}\n{}", " ".repeat(col - 1), e.message);
    error(400, e.code, &message)
}

/// The batch size asked for with `Sforce-Query-Options: batchSize=N` (clamped to 200..=2000).
fn batch_size(req: &FakeRequest) -> Option<usize> {
    let header = req.header_value("sforce-query-options")?;
    header.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("batchSize") {
            return None;
        }
        v.trim().parse::<usize>().ok().map(|n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
    })
}

pub(super) fn query(state: &State, req: &FakeRequest, version: &str, include_deleted: bool) -> FakeResponse {
    let Some(q) = req.param("q").filter(|q| !q.trim().is_empty()) else {
        return error(400, "MALFORMED_QUERY", "SOQL statements cannot be empty or null");
    };
    let toks = lex(q);
    let mut parser = Parser { toks: &toks, i: 0, obj: None, depth: 0 };
    let parsed = match parser.query() {
        Ok(p) => p,
        Err(e) => return soql_error(q, &e),
    };
    let batch = batch_size(req).unwrap_or(DEFAULT_BATCH);
    let o = parsed.obj;
    with_store(state, |st| {
        let mut hits: Vec<&Rec> = st
            .table(o)
            .recs
            .iter()
            .filter(|r| include_deleted || !r.deleted)
            .filter(|r| parsed.cond.as_ref().is_none_or(|c| eval(c, o, r)))
            .collect();
        if !parsed.order.is_empty() {
            hits.sort_by(|a, b| {
                for ob in &parsed.order {
                    let ty = o.fields.get(ob.field).map_or(FType::Str, |f| f.ty);
                    let va = a.values.get(ob.field).and_then(|v| field_cv(ty, v));
                    let vb = b.values.get(ob.field).and_then(|v| field_cv(ty, v));
                    let ord = match (va, vb) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, Some(_)) if ob.nulls_last => std::cmp::Ordering::Greater,
                        (None, Some(_)) => std::cmp::Ordering::Less,
                        (Some(_), None) if ob.nulls_last => std::cmp::Ordering::Less,
                        (Some(_), None) => std::cmp::Ordering::Greater,
                        (Some(x), Some(y)) => {
                            let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                            if ob.desc {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    };
                    if ord != std::cmp::Ordering::Equal {
                        return ord;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let start = parsed.offset.min(hits.len());
        let end = parsed.limit.map_or(hits.len(), |l| start.saturating_add(l).min(hits.len()));
        let records: Vec<String> = hits
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|r| {
                let mut out = String::with_capacity(256);
                record_json(&mut out, o, version, r, &parsed.fields);
                out
            })
            .collect();
        if records.len() <= batch {
            return page(version, &records, 0, batch, None);
        }
        st.cursors_opened += 1;
        let locator = make_id("01g", st.cursors_opened);
        let resp = page(version, &records, 0, batch, Some(&locator));
        if st.cursors.len() >= MAX_CURSORS {
            st.cursors.pop_front();
        }
        st.cursors.push_back(Cursor { locator, records, batch });
        resp
    })
}

/// One page of a query result starting at `offset`.
fn page(version: &str, records: &[String], offset: usize, batch: usize, locator: Option<&str>) -> FakeResponse {
    let end = offset.saturating_add(batch).min(records.len());
    let done = end >= records.len();
    let mut out = String::with_capacity(64 + records.get(offset..end).map_or(0, |r| r.iter().map(String::len).sum()));
    out.push_str("{\"totalSize\":");
    out.push_str(&records.len().to_string());
    out.push_str(",\"done\":");
    out.push_str(if done { "true" } else { "false" });
    if let (false, Some(loc)) = (done, locator) {
        out.push_str(",\"nextRecordsUrl\":");
        push_json_str(&mut out, &format!("/services/data/{version}/query/{loc}-{end}"));
    }
    out.push_str(",\"records\":[");
    for (i, r) in records.get(offset..end).unwrap_or(&[]).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r);
    }
    out.push_str("]}");
    FakeResponse::raw_json(200, out.into_bytes())
}

/// `GET /query/<locator>-<offset>`
pub(super) fn query_more(state: &State, req: &FakeRequest, version: &str, raw: &str) -> FakeResponse {
    let invalid = || error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((locator, offset)) = raw.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let batch = batch_size(req);
    with_store(state, |st| match st.cursors.iter().find(|c| c.locator == locator) {
        Some(c) if offset < c.records.len() => {
            page(version, &c.records, offset, batch.unwrap_or(c.batch), Some(&c.locator))
        }
        _ => invalid(),
    })
}
