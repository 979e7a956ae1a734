//! `GET /services/data/vNN.0/sobjects` (the global describe), `.../sobjects/{Obj}` and
//! `.../sobjects/{Obj}/describe` (the fields).

use serde_json::{json, Value};

use super::schema::{FType, SObject, OBJECTS};
use super::MAX_COLLECTION;
use crate::http::FakeResponse;

pub(super) fn describe_basic(o: &SObject, version: &str) -> Value {
    json!({
        "name": o.name,
        "label": o.label,
        "keyPrefix": o.prefix,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "urls": {
            "sobject": format!("/services/data/{version}/sobjects/{}", o.name),
            "describe": format!("/services/data/{version}/sobjects/{}/describe", o.name),
            "rowTemplate": format!("/services/data/{version}/sobjects/{}/{{ID}}", o.name),
        },
    })
}

pub(super) fn global_describe(version: &str) -> FakeResponse {
    let list: Vec<Value> = OBJECTS.iter().map(|o| describe_basic(o, version)).collect();
    FakeResponse::json(200, &json!({ "encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION, "sobjects": list }))
}

pub(super) fn describe(o: &SObject, version: &str) -> FakeResponse {
    let fields: Vec<Value> = o
        .fields
        .iter()
        .map(|fd| {
            let refs: Vec<&str> = match fd.ty {
                FType::Ref(target) => vec![target],
                _ => vec![],
            };
            json!({
                "name": fd.name,
                "label": fd.label,
                "type": fd.ty.describe_name(),
                "nillable": !fd.required && !matches!(fd.ty, FType::Id | FType::Bool) && !fd.read_only,
                "createable": !fd.read_only,
                "updateable": !fd.read_only,
                "referenceTo": refs,
                "length": if fd.ty.is_text() { 255 } else if fd.ty.is_id() { 18 } else { 0 },
            })
        })
        .collect();
    let mut body = describe_basic(o, version);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("fields".into(), Value::Array(fields));
    }
    FakeResponse::json(200, &body)
}
