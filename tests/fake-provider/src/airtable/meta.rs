//! `GET /v0/meta/bases/{base}/tables`: the schema of the base's tables (field ids, types and options, views).

use serde_json::{json, Value};

use super::store::{make_id, Kind, Table};

fn field_id(table: &Table, idx: usize) -> String {
    make_id("fld", table.salt << 40 | 0xf1e1d << 8 | idx as u64)
}

pub(super) fn schema(tables: &[Table]) -> Value {
    let list: Vec<Value> = tables
        .iter()
        .map(|t| {
            let fields: Vec<Value> = t
                .fields
                .iter()
                .enumerate()
                .map(|(i, fd)| {
                    let mut v = json!({ "id": field_id(t, i), "name": fd.name, "type": fd.kind.api_name() });
                    let options = match fd.kind {
                        Kind::SingleSelect | Kind::MultiSelect => Some(json!({
                            "choices": fd.choices.iter().map(|c| json!({ "name": c })).collect::<Vec<_>>(),
                        })),
                        Kind::Number => Some(json!({ "precision": 0 })),
                        Kind::Currency => Some(json!({ "precision": 2, "symbol": "$" })),
                        Kind::Checkbox => Some(json!({ "icon": "check", "color": "greenBright" })),
                        Kind::Date => Some(json!({ "dateFormat": { "name": "iso", "format": "YYYY-MM-DD" } })),
                        _ => None,
                    };
                    if let (Some(o), Some(obj)) = (options, v.as_object_mut()) {
                        obj.insert("options".into(), o);
                    }
                    v
                })
                .collect();
            json!({
                "id": t.id,
                "name": t.name,
                "primaryFieldId": field_id(t, 0),
                "fields": fields,
                "views": [{ "id": make_id("viw", t.salt), "name": "Grid view", "type": "grid" }],
            })
        })
        .collect();
    json!({ "tables": list })
}
