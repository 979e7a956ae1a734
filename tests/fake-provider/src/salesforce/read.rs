//! Records as the API shows them (`{"attributes":{"type","url"},"Field":value,...}`) and
//! `GET /services/data/vNN.0/sobjects/{Obj}/{Id}` (`?fields=` selects).

use serde_json::json;

use super::errors::{error, not_found};
use super::schema::SObject;
use super::store::{with_store, Rec};
use super::values::normalise_id;
use crate::http::{FakeRequest, FakeResponse};
use crate::shared::json::push_json_str;
use crate::state::State;

/// `{"attributes":{"type":..,"url":..},"Field":value,...}` with the fields in the given order.
pub(super) fn record_json(out: &mut String, o: &SObject, version: &str, rec: &Rec, fields: &[usize]) {
    out.push_str("{\"attributes\":{\"type\":");
    push_json_str(out, o.name);
    out.push_str(",\"url\":");
    push_json_str(out, &format!("/services/data/{version}/sobjects/{}/{}", o.name, rec.id()));
    out.push('}');
    for idx in fields {
        let (Some(fd), Some(v)) = (o.fields.get(*idx), rec.values.get(*idx)) else {
            continue;
        };
        out.push(',');
        push_json_str(out, fd.name);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
}

pub(super) fn get_one(state: &State, req: &FakeRequest, version: &str, o: &SObject, raw_id: &str) -> FakeResponse {
    let mut fields: Vec<usize> = Vec::new();
    if let Some(list) = req.param("fields") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match o.field(name) {
                Some((idx, _)) => fields.push(idx),
                None => {
                    return error(
                        400,
                        "INVALID_FIELD",
                        &format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, \
                             be sure to append the '__c' after the custom field name. Please reference your WSDL \
                             or the describe call for the appropriate names.",
                            o.name
                        ),
                    )
                }
            }
        }
    } else {
        fields = (0..o.fields.len()).collect();
    }
    let Some(id) = normalise_id(raw_id) else {
        return FakeResponse::json(
            404,
            &json!([{
                "errorCode": "NOT_FOUND",
                "message": format!("Provided external ID field does not exist or is not accessible: {raw_id}"),
            }]),
        );
    };
    with_store(state, |st| match st.table(o).recs.iter().find(|r| r.id() == id && !r.deleted) {
        Some(rec) => {
            let mut out = String::with_capacity(512);
            record_json(&mut out, o, version, rec, &fields);
            FakeResponse::raw_json(200, out.into_bytes())
        }
        None => not_found(),
    })
}
