//! The request router. `handle` is transport-independent: unit tests call it
//! directly and the tiny_http glue in `server.rs` only converts types. Around
//! each API request it asks `webhooks` to announce what the request changed
//! to the provider's webhook subscription, if there is one.

use crate::control;
use crate::faults;
use crate::http::{FakeRequest, FakeResponse};
use crate::hubspot;
use crate::providers;
use crate::rest;
use crate::state::{FaultAction, State};
use crate::webhooks;

pub fn handle(state: &State, req: &FakeRequest) -> FakeResponse {
    if req.path.starts_with(control::PREFIX) {
        return control::handle(state, req);
    }
    let (fault, latency_ms) = state.record(req);
    let mut resp = match fault {
        Some(FaultAction::Stall) => FakeResponse::stalled(),
        // The answer is made now, from the provider's state as the request found it.
        Some(FaultAction::Hold) => FakeResponse { hold: true, ..route_announced(state, req) },
        Some(FaultAction::Status { status, retry_after, after }) => {
            if after {
                // A lost response: the request takes effect, the client never learns how it went.
                let _ = route_announced(state, req);
            }
            let resp = injected(state, req, status);
            match retry_after {
                Some(ra) => resp.with_header("Retry-After", &ra),
                None => resp,
            }
        }
        None => route_announced(state, req),
    };
    resp.delay_ms = resp.delay_ms.saturating_add(latency_ms);
    resp
}

fn is_hubspot(path: &str) -> bool {
    path == "/crm" || path.starts_with("/crm/")
}

fn injected(state: &State, req: &FakeRequest, status: u16) -> FakeResponse {
    if let Some(p) = providers::find(&req.path) {
        return (p.injected_error)(state, status);
    }
    if is_hubspot(&req.path) {
        hubspot::injected_error(state, status)
    } else {
        FakeResponse::message(status, &format!("injected failure {status}"))
    }
}

/// `route`, then queues the webhooks of subscriptions for what the request changed (never delaying it).
fn route_announced(state: &State, req: &FakeRequest) -> FakeResponse {
    let pending = webhooks::prepare(state, req);
    let resp = route(state, req);
    if let Some(pending) = pending {
        webhooks::announce(state, pending, req, &resp);
    }
    resp
}

fn route(state: &State, req: &FakeRequest) -> FakeResponse {
    let found = if let Some(p) = providers::find(&req.path) {
        (p.handle)(state, req)
    } else if is_hubspot(&req.path) {
        hubspot::handle(state, req)
    } else if req.path.starts_with("/faults/") {
        faults::handle(req)
    } else {
        rest::handle(state, req)
    };
    found.unwrap_or_else(|| FakeResponse::message(404, &format!("no such endpoint: {}", req.path)))
}
