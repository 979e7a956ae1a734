//! `POST /crm/v3/objects/{type}/search`: HubSpot's search over the active records of a type, with filter
//! groups (`parse` reads them, `eval` applies them), sorts, a free-text `query`, `after` paging up to 10,000
//! results, and HubSpot's per-second rate limit.

mod eval;
mod parse;

use std::cmp::Ordering;
use std::ops::Range;
use std::time::Instant;

use super::data::{CrmRecord, ObjectType};
use super::errors::rate_limited;
use super::read::{push_record, selected_properties};
use super::with_store;
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::json::push_u64;
use crate::shared::paging::window;
use crate::state::State;
use eval::{compare, filter_matches, prop_value, query_matches};
use parse::parse_search;

/// Searches allowed per second (per fake process, as HubSpot counts them per account).
pub const SEARCH_PER_SECOND: u64 = 5;

/// 429 once more than `SEARCH_PER_SECOND` searches arrive within one second (a sliding window).
fn search_rate_limit(state: &State) -> Option<FakeResponse> {
    let per_second = state.config.seed("hubspot_search_per_second", SEARCH_PER_SECOND);
    let now = Instant::now();
    let limited = with_store(state, |s| {
        let accepted = s.window.accept(now, per_second);
        if !accepted {
            s.rate_limited += 1;
        }
        !accepted
    });
    limited.then(|| rate_limited(state))
}

/// `POST /crm/v3/objects/{type}/search`
pub(super) fn search(state: &State, req: &FakeRequest, ty: &ObjectType) -> FakeResponse {
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
    let Range { start, end } = window(total, sr.after, sr.limit);
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
