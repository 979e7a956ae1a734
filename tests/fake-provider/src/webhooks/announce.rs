//! Automatic deliveries: before an API request runs, whether it may be a write through the API of a provider
//! with a subscription (`prepare`); once it has been answered, the records it changed, read from the request and
//! the API's own answer, queued for the delivery thread (`announce`).

use serde_json::Value;

use super::event::{Event, Op, Provider};
use super::send::Destination;
use crate::http::{percent_decode, FakeRequest, FakeResponse};
use crate::hubspot::data::ObjectType;
use crate::state::State;

/// The record a delivery of `event` describes, read from the fake's data as its API returns it (`None`:
/// unknown, or a provider whose payloads carry no record).
pub fn current_record(state: &State, event: &Event) -> Option<Value> {
    match event.provider {
        Provider::Hubspot => {
            let ty = ObjectType::from_segment(&event.object)?;
            let id = event.id.parse::<u64>().ok()?;
            let data = state.data();
            data.table(ty).find(id, false).map(|rec| crate::hubspot::record_value(ty, rec))
        }
        Provider::Stripe => crate::stripe::record(state, &event.object, &event.id),
        Provider::Shopify => crate::shopify::record(state, &event.object, event.id.parse().ok()?),
        Provider::Bigcommerce | Provider::Rest => None,
    }
}

/// A request that may write through the API of a provider with a subscription, noted before it runs.
pub struct Pending {
    provider: Provider,
    dest: Destination,
    /// BigCommerce deletes by query (`id:in`) and ignores unknown ids: the ids that exist before it runs.
    doomed: Vec<u64>,
}

/// The provider whose write API serves `path`, if any.
fn provider_of(path: &str) -> Option<Provider> {
    if path.starts_with("/crm/v3/objects/") {
        Some(Provider::Hubspot)
    } else if path.starts_with("/v1/") {
        Some(Provider::Stripe)
    } else if path.starts_with("/admin/api/") {
        Some(Provider::Shopify)
    } else if path.starts_with("/stores/") {
        Some(Provider::Bigcommerce)
    } else if path == "/rest/plain/items" || path.starts_with("/rest/plain/items/") {
        Some(Provider::Rest)
    } else {
        None
    }
}

/// Called by the router before a request runs: `Some` when it may be a write to announce.
pub fn prepare(state: &State, req: &FakeRequest) -> Option<Pending> {
    if !matches!(req.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        return None;
    }
    let provider = provider_of(&req.path)?;
    let dest = state.webhooks.subscription(provider)?;
    let doomed = if provider == Provider::Bigcommerce && req.method == "DELETE" {
        crate::bigcommerce::customers_to_delete(state, req)
    } else {
        Vec::new()
    };
    Some(Pending { provider, dest, doomed })
}

/// Called by the router once the response exists: queues a delivery for each record the request changed.
pub fn announce(state: &State, pending: Pending, req: &FakeRequest, resp: &FakeResponse) {
    for event in changes(&pending, req, resp) {
        state.webhooks.enqueue(event, pending.dest.clone());
    }
}

/// A change found in a request and its answer: (object, id, op, record).
struct Found(String, String, Op, Option<Value>);

impl Found {
    /// A created or updated record, its id read from it (`None` if it has none).
    fn record(object: &str, op: Op, rec: Value) -> Option<Found> {
        let id = id_of(&rec)?;
        Some(Found(object.to_string(), id, op, Some(rec)))
    }

    fn deleted(object: &str, id: &str) -> Option<Found> {
        Some(Found(object.to_string(), id.to_string(), Op::Delete, None))
    }
}

fn id_of(record: &Value) -> Option<String> {
    match &record["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The records a successful write changed, read from the request and the API's own answer.
fn changes(p: &Pending, req: &FakeRequest, resp: &FakeResponse) -> Vec<Event> {
    let replayed = resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("idempotent-replayed"));
    if !(200..300).contains(&resp.status) || replayed {
        return Vec::new();
    }
    let body = || serde_json::from_slice::<Value>(&resp.body).unwrap_or(Value::Null);
    let segs: Vec<String> = req.path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let found: Vec<Option<Found>> = match p.provider {
        Provider::Hubspot => {
            let Some(ty) = segs.get(3).and_then(|s| ObjectType::from_segment(s)) else {
                return Vec::new();
            };
            let each = |op: Op| {
                let results = body()["results"].as_array().cloned().unwrap_or_default();
                results.into_iter().map(|r| Found::record(ty.name, op, r)).collect()
            };
            match (method, segs.get(4..).unwrap_or(&[])) {
                ("POST", []) => vec![Found::record(ty.name, Op::Create, body())],
                ("PATCH", [_]) => vec![Found::record(ty.name, Op::Update, body())],
                ("POST", ["batch", "create"]) => each(Op::Create),
                ("POST", ["batch", "update"]) => each(Op::Update),
                ("DELETE", [id]) => vec![Found::deleted(ty.name, id)],
                _ => Vec::new(),
            }
        }
        Provider::Stripe => match (method, segs.as_slice()) {
            ("POST", ["v1", object]) => vec![Found::record(object, Op::Create, body())],
            ("POST", ["v1", object, _]) => vec![Found::record(object, Op::Update, body())],
            ("DELETE", ["v1", object, id]) => vec![Found::deleted(object, id)],
            _ => Vec::new(),
        },
        Provider::Shopify => {
            // /admin/api/{version}/{object}[/{id}].json; writes answer {"customer": {...}}.
            let Some(last) = segs.last().and_then(|s| s.strip_suffix(".json")) else {
                return Vec::new();
            };
            let inner = || body().as_object().and_then(|o| o.values().next().cloned()).unwrap_or(Value::Null);
            match (method, segs.len(), segs.get(3)) {
                ("POST", 4, _) => vec![Found::record(last, Op::Create, inner())],
                ("PUT", 5, Some(object)) => vec![Found::record(object, Op::Update, inner())],
                ("DELETE", 5, Some(object)) => vec![Found::deleted(object, last)],
                _ => Vec::new(),
            }
        }
        Provider::Bigcommerce => {
            // /stores/{hash}/v3/customers and /stores/{hash}/v3/catalog/products[/{id}]; batch writes answer
            // {"data": [...]}, one product {"data": {...}}, deletes name ids in `id:in`.
            let each = |object: &str, op: Op| {
                let data = body()["data"].as_array().cloned().unwrap_or_default();
                data.into_iter().map(|r| Found::record(object, op, r)).collect()
            };
            match (method, segs.get(2..).unwrap_or(&[])) {
                ("POST", ["v3", "customers"]) => each("customers", Op::Create),
                ("PUT", ["v3", "customers"]) => each("customers", Op::Update),
                ("DELETE", ["v3", "customers"]) => {
                    p.doomed.iter().map(|id| Found::deleted("customers", &id.to_string())).collect()
                }
                ("PUT", ["v3", "catalog", "products"]) => each("products", Op::Update),
                ("PUT", ["v3", "catalog", "products", _]) => {
                    vec![Found::record("products", Op::Update, body()["data"].clone())]
                }
                _ => Vec::new(),
            }
        }
        Provider::Rest => match (method, segs.as_slice()) {
            ("POST", [_, _, object]) => vec![Found::record(object, Op::Create, body())],
            ("PATCH" | "PUT", [_, _, object, _]) => vec![Found::record(object, Op::Update, body())],
            ("DELETE", [_, _, object, id]) => vec![Found::deleted(object, id)],
            _ => Vec::new(),
        },
    };
    found
        .into_iter()
        .flatten()
        .filter_map(|Found(object, id, op, rec)| Event::new(p.provider, &object, &id, op, rec).ok())
        .collect()
}
