//! Reading a search request body: filter groups of `{propertyName, operator, value | values | highValue}`,
//! sorts, `query`, `properties`, `limit` and `after`, within HubSpot's limits, with HubSpot's (Jackson) error
//! messages for what does not parse.

use serde_json::Value;

use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot::data::{ObjectType, PropKind, PropRef};
use crate::hubspot::errors::{hubspot_error, validation_error};
use crate::hubspot::input::json_body;
use crate::state::State;

const SEARCH_DEFAULT_LIMIT: u64 = 10;
const SEARCH_MAX_LIMIT: u64 = 200;
/// No search can page past this many results.
const SEARCH_MAX_RESULTS: u64 = 10_000;
const MAX_FILTER_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 10;
const MAX_FILTERS: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

const OPERATORS: &[(&str, Op)] = &[
    ("EQ", Op::Eq),
    ("NEQ", Op::Neq),
    ("LT", Op::Lt),
    ("LTE", Op::Lte),
    ("GT", Op::Gt),
    ("GTE", Op::Gte),
    ("BETWEEN", Op::Between),
    ("IN", Op::In),
    ("NOT_IN", Op::NotIn),
    ("HAS_PROPERTY", Op::HasProperty),
    ("NOT_HAS_PROPERTY", Op::NotHasProperty),
    ("CONTAINS_TOKEN", Op::ContainsToken),
    ("NOT_CONTAINS_TOKEN", Op::NotContainsToken),
];

#[derive(Debug)]
pub(super) struct Filter {
    pub(super) prop: PropRef,
    pub(super) kind: PropKind,
    pub(super) op: Op,
    pub(super) value: String,
    pub(super) high: String,
    pub(super) values: Vec<String>,
}

#[derive(Debug)]
pub(super) struct Sort {
    pub(super) prop: PropRef,
    pub(super) kind: PropKind,
    pub(super) descending: bool,
}

#[derive(Debug)]
pub(super) struct SearchRequest {
    pub(super) groups: Vec<Vec<Filter>>,
    pub(super) sorts: Vec<Sort>,
    pub(super) query: Option<String>,
    pub(super) properties: Option<Vec<String>>,
    pub(super) limit: u64,
    pub(super) after: u64,
}

/// A JSON scalar of a filter (`"value": 5` and `"value": "5"` are the same).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn body_error(state: &State, message: &str) -> FakeResponse {
    hubspot_error(state, 400, &format!("Invalid input JSON on line 1, column 1: {message}"), "VALIDATION_ERROR")
}

/// HubSpot's Jackson message for a filter that cannot be built.
fn filter_problem(state: &State, problem: &str) -> FakeResponse {
    body_error(
        state,
        &format!(
            "Cannot construct instance of `com.hubspot.inbounddb.publicobject.core.v3.search.Filter`, problem: {problem}"
        ),
    )
}

fn unknown_property(state: &State, ty: &ObjectType, name: &str) -> FakeResponse {
    validation_error(
        state,
        &format!("Property \"{name}\" does not exist on object type {}", ty.name),
        "PROPERTY_DOESNT_EXIST",
        name,
    )
}

fn parse_filter(state: &State, ty: &ObjectType, f: &Value) -> Result<Filter, FakeResponse> {
    let Some(obj) = f.as_object() else {
        return Err(body_error(state, "a filter must be an object"));
    };
    let Some(name) = obj.get("propertyName").and_then(Value::as_str) else {
        return Err(filter_problem(state, "propertyName is required"));
    };
    let op_name = obj.get("operator").and_then(Value::as_str).unwrap_or("EQ");
    let Some(op) = OPERATORS.iter().find(|(n, _)| *n == op_name).map(|(_, op)| *op) else {
        let names: Vec<&str> = OPERATORS.iter().map(|(n, _)| *n).collect();
        return Err(body_error(
            state,
            &format!(
                "Cannot deserialize value of type `FilterOperator` from String \"{op_name}\": not one of the values \
                 accepted for Enum class: [{}]",
                names.join(", ")
            ),
        ));
    };
    let Some(prop) = ty.resolve(name) else {
        return Err(unknown_property(state, ty, name));
    };
    let value = obj.get("value").and_then(scalar);
    let high = obj.get("highValue").and_then(scalar);
    let values: Option<Vec<String>> =
        obj.get("values").and_then(Value::as_array).map(|a| a.iter().filter_map(scalar).collect());
    let needs_value = !matches!(op, Op::HasProperty | Op::NotHasProperty | Op::In | Op::NotIn);
    if needs_value && value.is_none() {
        return Err(filter_problem(state, &format!("operator {op_name} requires a value")));
    }
    if op == Op::Between && high.is_none() {
        return Err(filter_problem(state, "operator BETWEEN requires a highValue"));
    }
    if matches!(op, Op::In | Op::NotIn) && values.as_ref().is_none_or(Vec::is_empty) {
        return Err(filter_problem(state, &format!("operator {op_name} requires values")));
    }
    Ok(Filter {
        prop,
        kind: ty.kind(prop),
        op,
        value: value.unwrap_or_default(),
        high: high.unwrap_or_default(),
        values: values.unwrap_or_default(),
    })
}

pub(super) fn parse_search(state: &State, req: &FakeRequest, ty: &ObjectType) -> Result<SearchRequest, FakeResponse> {
    let body = json_body(state, req)?;
    let Some(obj) = body.as_object() else {
        return Err(body_error(state, "the search request must be a JSON object"));
    };
    let groups_json: &[Value] = match obj.get("filterGroups") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err(body_error(state, "\"filterGroups\" must be an array")),
    };
    if groups_json.len() > MAX_FILTER_GROUPS {
        return Err(validation_error(
            state,
            &format!("Too many filter groups: {} were given, the maximum is {MAX_FILTER_GROUPS}", groups_json.len()),
            "TOO_MANY_FILTER_GROUPS",
            "filterGroups",
        ));
    }
    let mut total = 0;
    let mut groups = Vec::with_capacity(groups_json.len());
    for (i, g) in groups_json.iter().enumerate() {
        let filters_json: &[Value] = match g.get("filters") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => &[],
            Some(_) => return Err(body_error(state, "\"filters\" must be an array")),
        };
        if filters_json.len() > MAX_FILTERS_PER_GROUP {
            return Err(validation_error(
                state,
                &format!(
                    "Too many filters in filter group {}: {} were given, the maximum is {MAX_FILTERS_PER_GROUP}",
                    i + 1,
                    filters_json.len()
                ),
                "TOO_MANY_FILTERS_IN_GROUP",
                "filterGroups",
            ));
        }
        total += filters_json.len();
        let mut filters = Vec::with_capacity(filters_json.len());
        for f in filters_json {
            filters.push(parse_filter(state, ty, f)?);
        }
        groups.push(filters);
    }
    if total > MAX_FILTERS {
        return Err(validation_error(
            state,
            &format!("Too many filters: {total} were given in all filter groups, the maximum is {MAX_FILTERS}"),
            "TOO_MANY_FILTERS",
            "filterGroups",
        ));
    }
    let mut sorts = Vec::new();
    for s in obj.get("sorts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        let (name, descending) = match s {
            Value::String(raw) => match raw.strip_prefix('-') {
                Some(n) => (n.to_string(), true),
                None => (raw.clone(), false),
            },
            Value::Object(o) => {
                let name = o.get("propertyName").and_then(Value::as_str).unwrap_or("").to_string();
                let dir = o.get("direction").and_then(Value::as_str).unwrap_or("ASCENDING");
                match dir {
                    "ASCENDING" => (name, false),
                    "DESCENDING" => (name, true),
                    other => {
                        return Err(body_error(
                            state,
                            &format!(
                                "Cannot deserialize value of type `SortDirection` from String \"{other}\": not one \
                                 of the values accepted for Enum class: [ASCENDING, DESCENDING]"
                            ),
                        ))
                    }
                }
            }
            _ => return Err(body_error(state, "a sort must be an object or a property name")),
        };
        let Some(prop) = ty.resolve(&name) else {
            return Err(unknown_property(state, ty, &name));
        };
        sorts.push(Sort { prop, kind: ty.kind(prop), descending });
    }
    let query = match obj.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) if q.trim().is_empty() => None,
        Some(Value::String(q)) => Some(q.trim().to_lowercase()),
        Some(_) => return Err(body_error(state, "\"query\" must be a string")),
    };
    let properties = match obj.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => {
            let list: Vec<String> = a.iter().filter_map(Value::as_str).map(str::to_string).collect();
            (!list.is_empty()).then_some(list)
        }
        Some(_) => return Err(body_error(state, "\"properties\" must be an array of property names")),
    };
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => SEARCH_DEFAULT_LIMIT,
        Some(v) => match v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) if (1..=SEARCH_MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(n) => {
                return Err(validation_error(
                    state,
                    &format!("limit must be between 1 and {SEARCH_MAX_LIMIT}; {n} was given"),
                    "NUMBER_OUT_OF_RANGE",
                    "limit",
                ))
            }
            None => return Err(body_error(state, &format!("limit must be an integer; {v} was given"))),
        },
    };
    let after = match obj.get("after") {
        None | Some(Value::Null) => 0,
        Some(Value::String(s)) if s.is_empty() => 0,
        Some(v) => match v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())) {
            Some(n) => n,
            None => {
                return Err(validation_error(
                    state,
                    &format!("after must be a paging cursor from a previous search; {v} is not one"),
                    "INVALID_CURSOR",
                    "after",
                ))
            }
        },
    };
    if after.saturating_add(limit) > SEARCH_MAX_RESULTS {
        return Err(validation_error(
            state,
            &format!(
                "Search results are limited to {SEARCH_MAX_RESULTS}: after ({after}) plus limit ({limit}) must not \
                 exceed {SEARCH_MAX_RESULTS}"
            ),
            "SEARCH_RESULT_LIMIT_EXCEEDED",
            "after",
        ));
    }
    Ok(SearchRequest { groups, sorts, query, properties, limit, after })
}
