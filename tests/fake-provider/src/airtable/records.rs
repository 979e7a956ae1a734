//! Records as Airtable shows them (`{"id","createdTime","fields":{...}}`, empty cells left out) and
//! `GET /v0/{base}/{table}/{record}`.

use super::errors::{not_found, record_not_found};
use super::store::{is_id, with_store, Rec, Table};
use crate::http::FakeResponse;
use crate::shared::json::push_json_str;
use crate::shared::time::iso_ms;
use crate::state::State;

pub(super) fn push_record(out: &mut String, table: &Table, rec: &Rec, only: Option<&[usize]>) {
    out.push_str("{\"id\":");
    push_json_str(out, &rec.id);
    out.push_str(",\"createdTime\":");
    push_json_str(out, &iso_ms(rec.created_ms));
    out.push_str(",\"fields\":{");
    let mut first = true;
    for (i, (fd, v)) in table.fields.iter().zip(&rec.values).enumerate() {
        let Some(v) = v else { continue };
        if only.is_some_and(|o| !o.contains(&i)) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_json_str(out, fd.name);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push_str("}}");
}

pub(super) fn record_response(table: &Table, rec: &Rec) -> FakeResponse {
    let mut out = String::with_capacity(256);
    push_record(&mut out, table, rec, None);
    FakeResponse::raw_json(200, out.into_bytes())
}

pub(super) fn records_response(table: &Table, recs: &[&Rec]) -> FakeResponse {
    let mut out = String::from("{\"records\":[");
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_record(&mut out, table, r, None);
    }
    out.push_str("]}");
    FakeResponse::raw_json(200, out.into_bytes())
}

pub(super) fn get_one(state: &State, t: usize, rec_id: &str) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return not_found();
        };
        match table.recs.iter().find(|r| r.id == rec_id) {
            Some(rec) => record_response(table, rec),
            None => record_not_found(),
        }
    })
}
