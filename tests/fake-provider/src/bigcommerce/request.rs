//! Reading requests: the query filters (unknown ones are a 422; integers, dates and booleans are checked), and
//! the JSON array bodies of batch writes (1 to 10 items).

use serde_json::{json, Map, Value};

use super::errors::{invalid_json, too_large, unprocessable};
use super::time::parse_date;
use crate::http::{FakeRequest, FakeResponse};

pub(super) const MAX_BATCH: usize = 10;

pub(super) fn check_filters(req: &FakeRequest, known: &[&str]) -> Result<(), FakeResponse> {
    let mut unknown: Vec<&str> = Vec::new();
    for (k, _) in &req.query {
        if !known.contains(&k.as_str()) && !unknown.contains(&k.as_str()) {
            unknown.push(k);
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(&format!("The filter(s): {} are not valid filter parameter(s).", unknown.join(", "))))
    }
}

pub(super) fn list_values<'a>(req: &'a FakeRequest, name: &str) -> Option<Vec<&'a str>> {
    req.param(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
}

pub(super) fn integers(req: &FakeRequest, name: &str) -> Result<Option<Vec<u64>>, FakeResponse> {
    let Some(values) = list_values(req, name) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        match v.parse::<u64>() {
            Ok(n) => out.push(n),
            Err(_) => {
                return Err(unprocessable(&format!(
                    "Query parameter \"{name}\" value may contain only integer values. For input string: \"{v}\"."
                )))
            }
        }
    }
    Ok(Some(out))
}

pub(super) fn positive(req: &FakeRequest, name: &str, default: u64, max: u64) -> Result<u64, FakeResponse> {
    match req.param(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 && n <= max => Ok(n),
            Ok(_) => Err(unprocessable(&format!("Query parameter \"{name}\" value must be between 1 and {max}."))),
            Err(_) => Err(unprocessable(&format!(
                "Query parameter \"{name}\" value may contain only integer values. For input string: \"{raw}\"."
            ))),
        },
    }
}

pub(super) fn date_param(req: &FakeRequest, name: &str) -> Result<Option<i64>, FakeResponse> {
    match req.param(name) {
        None => Ok(None),
        Some(raw) => parse_date(raw).map(Some).ok_or_else(|| {
            unprocessable(&format!(
                "Query parameter \"{name}\" value is not a valid date. For input string: \"{raw}\"."
            ))
        }),
    }
}

pub(super) fn bool_param(req: &FakeRequest, name: &str) -> Result<Option<bool>, FakeResponse> {
    match req.param(name) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(raw) => Err(unprocessable(&format!(
            "Query parameter \"{name}\" value may contain only boolean values. For input string: \"{raw}\"."
        ))),
    }
}

/// The body as an array of 1..=10 objects.
pub(super) fn batch(req: &FakeRequest) -> Result<Vec<Map<String, Value>>, FakeResponse> {
    let items = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Array(items)) => items,
        _ => return Err(invalid_json(json!({}))),
    };
    if items.len() > MAX_BATCH {
        return Err(too_large());
    }
    if items.is_empty() {
        return Err(invalid_json(json!({})));
    }
    items.into_iter().map(|i| if let Value::Object(o) = i { Ok(o) } else { Err(invalid_json(json!({}))) }).collect()
}
