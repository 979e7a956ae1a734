//! `/_control/...`: counters, request log, fault injection, reseeding, webhooks, OAuth refresh token rotation and
//! the tokens issued.
//! Control requests are never counted or logged. `stats` answers `{"requests", "connections", "max_in_flight",
//! "by_path", "by_method"}`, `max_in_flight` being the most requests the server handled at once since the last
//! reset; `requests` the request log, each entry with `at_ms`, when it arrived in milliseconds since the fake
//! started (not restarted by a reset).
//! Like the others, the webhook endpoints take their parameters from the query string and accept any method (POST
//! is the documented one):
//!
//! - `webhook`: `provider` (hubspot, stripe, shopify, bigcommerce, rest), `url` (loopback only), `secret`
//!   (`whsec_<base64>` for bigcommerce; not needed with `mode=missing`), `object` (the fake's plural name,
//!   default the provider's main object), `id`, `op` (create, update, delete; default update) and `mode`
//!   (good, bad, missing, stale, tampered; default good). Sends one delivery now and answers 200
//!   `{"status", "body", "sent": {"headers", "body"}}` with what the receiver said, 502 `{"message", "sent"}`
//!   if it could not be reached, 400 on a bad parameter.
//! - `webhook_subscribe`: `provider`, `url`, `secret`, `mode`: every later successful write through that
//!   provider's API is delivered (asynchronously, in order); `off=1` with `provider` removes it.
//! - `webhook_deliveries`: the subscriptions and the deliveries made (optionally of one `provider`).
//!
//! Held answers (see `gate`), for tests that change the data while a page is in flight:
//!
//! - `hold`: `path_prefix`, `method`, `times` (default 1): the next matching requests are answered from the
//!   data as they find it, but the answer waits until `release` (at most 120 s).
//! - `held`: `{"waiting", "held"}`, the answers waiting now and those held since the last reset; with
//!   `at_least=N&wait_ms=M`, first waits up to M ms (at most 60,000) for N to have been held.
//! - `release`: lets every waiting answer go; `{"released": n}`. `reset` releases them too.
//!
//! And the OAuth token endpoints' (see `oauth`):
//!
//! - `oauth`: `rotate` (1/true or 0/false) turns refresh token rotation on or off; answers `{"rotate": ..}`, the
//!   mode now (also without `rotate`).
//! - `oauth_tokens`: `{"access_tokens", "refresh_tokens", "revoked_refresh_tokens"}`, every token the fake issued.

use serde_json::{json, Map, Value};

use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot::seed_data::{gen_companies, gen_contacts};
use crate::rest::items::gen_items;
use crate::state::{Fault, FaultAction, State, MAX_LATENCY_MS, MAX_SEED};
use crate::webhooks::{self, Destination, Event, Mode, Op, Provider, Target};

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
        "hold" => hold(state, req),
        "held" => held(state, req),
        "release" => Ok(json!({ "released": state.gate.release() })),
        "seed" => seed(state, req),
        "webhook" => return webhook(state, req),
        "webhook_subscribe" => webhook_subscribe(state, req),
        "webhook_deliveries" => webhook_deliveries(state, req),
        "oauth" => oauth_mode(state, req),
        "oauth_tokens" => Ok(crate::oauth::issued_tokens(state)),
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
        // The most non-control requests handled at once since the last reset (counted by the server, from when a
        // request is read until its answer is about to be written, held and delayed answers included).
        "max_in_flight": state.max_in_flight(),
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
                // Arrival: milliseconds since the fake provider started (not restarted by a reset).
                "at_ms": r.at_ms,
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

fn oauth_mode(state: &State, req: &FakeRequest) -> Result<Value, String> {
    if req.param("rotate").is_some() {
        crate::oauth::set_rotation(state, bool_param(req, "rotate")?);
    }
    Ok(json!({ "rotate": crate::oauth::rotation(state) }))
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
    queue(state, req, FaultAction::Stall)?;
    Ok(json!({ "stall": true }))
}

/// Queue `action` for the next `times` requests under `path_prefix` (with `method`, if given).
fn queue(state: &State, req: &FakeRequest, action: FaultAction) -> Result<(), String> {
    let times = uint_param(req, "times", 1, 1, u64::MAX)?;
    let path_prefix = path_prefix(req)?;
    let method = method_filter(req)?;
    state.runtime().faults.push_back(Fault { action, remaining: times, path_prefix, method });
    Ok(())
}

fn hold(state: &State, req: &FakeRequest) -> Result<Value, String> {
    queue(state, req, FaultAction::Hold)?;
    Ok(json!({ "hold": true }))
}

/// `held?at_least=N&wait_ms=M`: waits up to M ms until N answers were held since the last reset.
fn held(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let at_least = uint_param(req, "at_least", 0, 0, u64::MAX)?;
    let wait_ms = uint_param(req, "wait_ms", 0, 0, crate::gate::MAX_WAIT_MS)?;
    let (waiting, total) = state.gate.held(at_least, std::time::Duration::from_millis(wait_ms));
    Ok(json!({ "waiting": waiting, "held": total }))
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

fn webhook_provider(req: &FakeRequest) -> Result<Provider, String> {
    match req.param("provider") {
        Some(p) => Provider::parse(p),
        None => Err("provider is required (hubspot, stripe, shopify, bigcommerce or rest)".into()),
    }
}

/// `url`, `secret` and `mode`: where and how a provider's webhooks go.
fn webhook_destination(req: &FakeRequest, provider: Provider) -> Result<Destination, String> {
    let mode = req.param("mode").map_or(Ok(Mode::Good), Mode::parse)?;
    let Some(url) = req.param("url") else {
        return Err("url is required: http://127.0.0.1:PORT/path or http://localhost:PORT/path".into());
    };
    let target = Target::parse(url)?;
    let key = match req.param("secret") {
        Some(secret) => provider.signing_key(secret)?,
        None if mode == Mode::Missing => Vec::new(),
        None => return Err("secret is required (except with mode=missing)".into()),
    };
    Ok(Destination { target, key, mode })
}

/// The event `/_control/webhook` sends, with the record as the fake's API returns it now.
fn webhook_event(state: &State, req: &FakeRequest, provider: Provider) -> Result<Event, String> {
    let object = req.param("object").unwrap_or(provider.default_object());
    let Some(id) = req.param("id") else {
        return Err("id is required".into());
    };
    let op = req.param("op").map_or(Ok(Op::Update), Op::parse)?;
    let mut event = Event::new(provider, object, id, op, None)?;
    if op != Op::Delete {
        event.record = webhooks::current_record(state, &event);
    }
    Ok(event)
}

fn webhook(state: &State, req: &FakeRequest) -> FakeResponse {
    let prepared = webhook_provider(req).and_then(|provider| {
        let dest = webhook_destination(req, provider)?;
        Ok((webhook_event(state, req, provider)?, dest))
    });
    let (event, dest) = match prepared {
        Ok(p) => p,
        Err(msg) => return FakeResponse::json(400, &json!({ "message": msg })),
    };
    let outcome = state.webhooks.deliver_now(&event, &dest);
    match &outcome.answer {
        Ok(answer) => FakeResponse::json(
            200,
            &json!({ "status": answer.status, "body": answer.body, "sent": outcome.sent_json() }),
        ),
        Err(e) => FakeResponse::json(
            502,
            &json!({ "message": format!("cannot deliver to {}: {e}", dest.target.url), "sent": outcome.sent_json() }),
        ),
    }
}

fn webhook_subscribe(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let provider = webhook_provider(req)?;
    if bool_param(req, "off")? {
        let removed = state.webhooks.unsubscribe(provider);
        return Ok(json!({ "provider": provider.name(), "subscribed": false, "removed": removed }));
    }
    let dest = webhook_destination(req, provider)?;
    let answer = json!({
        "provider": provider.name(),
        "subscribed": true,
        "url": dest.target.url,
        "mode": dest.mode.name(),
    });
    state.webhooks.subscribe(provider, dest);
    Ok(answer)
}

fn webhook_deliveries(state: &State, req: &FakeRequest) -> Result<Value, String> {
    let provider = req.param("provider").map(Provider::parse).transpose()?;
    Ok(json!({
        "subscriptions": state.webhooks.subscriptions_json(),
        "deliveries": state.webhooks.deliveries_json(provider),
    }))
}
