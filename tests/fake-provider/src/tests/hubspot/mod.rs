//! Tests of the HubSpot fake: reading (`read`), search and deals (`search`), single writes (`write`) and batches
//! (`batch`). The write helpers are here.

use super::*;
use crate::shared::time::{iso_ms, HOUR_MS};

mod batch;
mod read;
mod search;
mod write;

pub(super) fn create(st: &State, ty: &str, props: Value) -> FakeResponse {
    hs_send(st, "POST", &format!("/crm/v3/objects/{ty}"), &json!({ "properties": props, "associations": [] }))
}

pub(super) fn patch(st: &State, ty: &str, id: &str, props: Value) -> FakeResponse {
    hs_send(st, "PATCH", &format!("/crm/v3/objects/{ty}/{id}"), &json!({ "properties": props }))
}

pub(super) fn delete(st: &State, ty: &str, id: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("DELETE", &format!("/crm/v3/objects/{ty}/{id}")).header("Authorization", "Bearer test-token"),
    )
}

pub(super) fn batch(st: &State, ty: &str, op: &str, inputs: Value) -> FakeResponse {
    hs_send(st, "POST", &format!("/crm/v3/objects/{ty}/batch/{op}"), &json!({ "inputs": inputs }))
}

fn active_ids(st: &State, ty: &str) -> Vec<u64> {
    ids(&hs(st, &format!("/crm/v3/objects/{ty}?limit=100")).json_body()["results"])
}

fn archived_ids(st: &State, ty: &str) -> Vec<u64> {
    ids(&hs(st, &format!("/crm/v3/objects/{ty}?limit=100&archived=true")).json_body()["results"])
}

/// The body without its (per-response) correlation id.
fn without_correlation(resp: &FakeResponse) -> Value {
    let mut body = resp.json_body();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("correlationId");
    }
    body
}

/// HubSpot's "Property values were not valid" message for (name, error, message) triples.
fn invalid_message(errors: &[(&str, &str, &str)]) -> String {
    let entries: Vec<String> = errors
        .iter()
        .map(|(name, error, message)| {
            let m = Value::String(message.to_string()).to_string();
            format!(
                "{{\"isValid\":false,\"message\":{m},\"error\":\"{error}\",\"name\":\"{name}\",\
                 \"localizedErrorMessage\":{m}}}"
            )
        })
        .collect();
    format!("Property values were not valid: [{}]", entries.join(","))
}
