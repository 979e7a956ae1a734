//! `/_control/...`: counters, request log, fault injection, reseeding.
//! Control requests are never counted or logged.

use serde_json::{json, Map, Value};

use crate::data::{gen_companies, gen_contacts, gen_items, MAX_SEED};
use crate::http::{FakeRequest, FakeResponse};
use crate::state::{Fault, FaultAction, State, MAX_LATENCY_MS};

pub const PREFIX: &str = "/_control/";

pub fn handle(state: &State, req: &FakeRequest) -> FakeResponse {
    let name = req.path.strip_prefix(PREFIX).unwrap_or("");
    let result = match name.trim_end_matches('/') {
        "stats" => Ok(stats(state)),
        "reset" => {
            state.reset();
            Ok(json!({ "reset": true }))
        }
        "requests" => Ok(requests(state, req)),
        "latency" => latency(state, req),
        "inject" => inject(state, req),
        "stall" => stall(state, req),
        "seed" => seed(state, req),
        _ => return FakeResponse::json(404, &json!({ "message": format!("no such endpoint: {}", req.path) })),
    };
    match result {
        Ok(v) => FakeResponse::json(200, &v),
        Err(msg) => FakeResponse::json(400, &json!({ "message": msg })),
    }
}

fn stats(state: &State) -> Value {
    let rt = state.runtime();
    let by_path: Map<String, Value> = rt.by_path.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let by_method: Map<String, Value> = rt.by_method.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "requests": rt.requests,
        "connections": rt.connections.len(),
        "by_path": by_path,
        "by_method": by_method,
    })
}

fn requests(state: &State, req: &FakeRequest) -> Value {
    let prefix = req.param("path_prefix").unwrap_or("");
    let rt = state.runtime();
    let list: Vec<Value> = rt
        .log
        .iter()
        .filter(|r| r.path.starts_with(prefix))
        .map(|r| {
            let headers: Map<String, Value> =
                r.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            json!({
                "method": r.method,
                "path": r.path,
                "query": r.query,
                // The query string decoded (a SOQL query, a formula), for people to read in tests.
                "query_text": crate::http::percent_decode(&r.query),
                "headers": headers,
                "body": r.body,
            })
        })
        .collect();
    json!({ "requests": list })
}

/// Parses an optional unsigned integer parameter within `min..=max`.
fn uint_param(req: &FakeRequest, name: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
    match req.param(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!("{name} must be an integer between {min} and {max}")),
        },
    }
}

fn path_prefix(req: &FakeRequest) -> Result<String, String> {
    let p = req.param("path_prefix").unwrap_or("/");
    if p.starts_with('/') {
        Ok(p.to_string())
    } else {
        Err("path_prefix must start with '/'".to_string())
    }
}

/// The optional `method` filter, upper-cased (`None`: any method).
fn method_filter(req: &FakeRequest) -> Result<Option<String>, String> {
    match req.param("method") {
        None => Ok(None),
        Some(m) if !m.trim().is_empty() && m.trim().bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Some(m.trim().to_ascii_uppercase()))
        }
        Some(_) => Err("method must be an HTTP method name such as POST".to_string()),
    }
}

fn bool_param(req: &FakeRequest, name: &str) -> Result<bool, String> {
    match req.param(name) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(_) => Err(format!("{name} must be true or false")),
    }
}

fn latency(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let mut rt = state.runtime();
    let ms = uint_param(req, "ms", rt.latency_ms, 0, MAX_LATENCY_MS)?;
    rt.latency_ms = ms;
    Ok(json!({ "latency_ms": ms }))
}

fn inject(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let status = uint_param(req, "status", 500, 100, 599)? as u16;
    let times = uint_param(req, "times", 1, 1, u64::MAX)?;
    let path_prefix = path_prefix(req)?;
    let retry_after = match req.param("retry_after") {
        None => None,
        Some(v) if v.trim().is_empty() => return Err("retry_after must not be empty".into()),
        Some(v) => Some(v.trim().to_string()),
    };
    let method = method_filter(req)?;
    let after = bool_param(req, "after")?;
    state.runtime().faults.push_back(Fault {
        action: FaultAction::Status { status, retry_after, after },
        remaining: times,
        path_prefix,
        method,
    });
    Ok(json!({ "injected": true }))
}

fn stall(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let times = uint_param(req, "times", 1, 1, u64::MAX)?;
    let path_prefix = path_prefix(req)?;
    let method = method_filter(req)?;
    state.runtime().faults.push_back(Fault { action: FaultAction::Stall, remaining: times, path_prefix, method });
    Ok(json!({ "stall": true }))
}

fn seed(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let Some(count_raw) = req.param("count") else {
        return Err("count is required".into());
    };
    let count = match count_raw.trim().parse::<u64>() {
        Ok(n) if n <= MAX_SEED => n,
        _ => return Err(format!("count must be an integer between 0 and {MAX_SEED}")),
    };
    // Generate outside the lock so readers are not blocked meanwhile.
    match req.param("object") {
        Some("contacts") => {
            let table = gen_contacts(count);
            state.data_mut().contacts = table;
        }
        Some("companies") => {
            let table = gen_companies(count);
            state.data_mut().companies = table;
        }
        Some("items") => {
            let items = gen_items(count);
            state.data_mut().items = items;
        }
        Some(other) if crate::providers::MODULES.iter().any(|p| (p.seed)(state, other, count)) => {}
        _ => {
            let providers: Vec<&str> = crate::providers::MODULES.iter().map(|p| p.name).collect();
            return Err(format!(
                "object must be contacts, companies, items, or a data set of a provider ({})",
                providers.join(", ")
            ));
        }
    }
    Ok(json!({ "seeded": count }))
}
