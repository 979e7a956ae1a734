//! The generic REST items (seeded, a pure function of the id, and kept in `state::Data`), and the equality
//! filters every style applies (`?active=true&name=Item%203`).

use serde_json::{json, Value};

use crate::http::{FakeRequest, FakeResponse};
use crate::shared::numbers::money;
use crate::shared::seed::pick;
use crate::shared::time::{iso_secs, BASE_MS, DAY_MS};
use crate::state::State;

const COLORS: &[&str] = &["red", "green", "blue", "black", "white"];

/// One generic REST item.
pub fn item(i: u64) -> Value {
    let tags: Vec<&str> = match i % 4 {
        0 => vec!["tag-a", "tag-b"],
        1 => vec!["tag-a"],
        2 => vec!["tag-b", "tag-c"],
        _ => vec![],
    };
    let cents = 1000 + i * 250;
    json!({
        "id": i,
        "name": format!("Item {i}"),
        "sku": format!("SKU-{i:04}"),
        "price": money(cents),
        "quantity": i * 3,
        "active": i.is_multiple_of(2),
        "tags": tags,
        "created_at": iso_secs(BASE_MS + i * DAY_MS + i * 1000),
        "attributes": {
            "color": pick(COLORS, i - 1),
            "weight_kg": 1.5 * i as f64,
        },
    })
}

pub fn gen_items(n: u64) -> Vec<Value> {
    (1..=n).map(item).collect()
}

/// Whether `item` matches every query parameter that names one of its
/// top-level scalar fields (string, number, bool or null).
pub fn matches_filters(item: &Value, query: &[(String, String)]) -> bool {
    let Some(obj) = item.as_object() else {
        return true;
    };
    query.iter().all(|(k, v)| match obj.get(k) {
        Some(Value::String(s)) => s == v,
        Some(Value::Number(n)) => n.to_string() == *v,
        Some(Value::Bool(b)) => b.to_string() == *v,
        Some(Value::Null) => v == "null" || v.is_empty(),
        // Arrays, objects and unknown parameters do not filter.
        _ => true,
    })
}

pub(super) fn filtered_items(state: &State, req: &FakeRequest) -> Vec<Value> {
    state.data().items.iter().filter(|it| matches_filters(it, &req.query)).cloned().collect()
}

pub(super) fn plain_one(state: &State, id: &str) -> FakeResponse {
    let Ok(num) = id.parse::<u64>() else {
        return FakeResponse::message(404, "item not found");
    };
    let data = state.data();
    match data.items.iter().find(|it| it["id"].as_u64() == Some(num)) {
        Some(it) => FakeResponse::json(200, it),
        None => FakeResponse::message(404, "item not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_shape() {
        let it = item(1);
        assert_eq!(it["id"], 1);
        assert_eq!(it["name"], "Item 1");
        assert_eq!(it["sku"], "SKU-0001");
        assert_eq!(it["price"], "12.50");
        assert_eq!(it["quantity"], 3);
        assert_eq!(it["active"], false);
        assert_eq!(it["attributes"]["weight_kg"], 1.5);
        assert_eq!(item(2)["active"], true);
    }
}
