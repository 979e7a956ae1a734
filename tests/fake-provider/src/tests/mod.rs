//! Unit tests that drive `app::handle` without sockets (one file or folder per provider, plus the control and
//! fault endpoints), and one test against the real server over a keep-alive TCP connection (`server`). The
//! helpers here are shared by all of them.

use std::collections::BTreeSet;
use std::io::BufRead;

use serde_json::{json, Value};

use crate::app::handle;
use crate::http::{base64_encode, FakeRequest, FakeResponse};
use crate::state::{Config, State};

mod airtable;
mod bigcommerce;
mod control;
mod hubspot;
mod oauth;
mod rest;
mod salesforce;
mod server;
mod shopify;
mod stripe;
mod webhook;

fn state() -> State {
    State::new(Config::default())
}

fn get(state: &State, url: &str) -> FakeResponse {
    handle(state, &FakeRequest::get(url))
}

fn hs(state: &State, url: &str) -> FakeResponse {
    handle(state, &FakeRequest::get(url).header("Host", "127.0.0.1:9999").header("Authorization", "Bearer test-token"))
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| match &r["id"] {
                    Value::String(s) => s.parse().unwrap_or(0),
                    other => other.as_u64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A HubSpot request with the valid token and a JSON content type.
fn hs_raw(st: &State, method: &str, url: &str, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new(method, url)
            .header("Authorization", "Bearer test-token")
            .header("Content-Type", "application/json")
            .body(body),
    )
}

fn hs_send(st: &State, method: &str, url: &str, body: &Value) -> FakeResponse {
    hs_raw(st, method, url, &body.to_string())
}

/// Reads one HTTP/1.1 message with a `Content-Length` body: the start line, the headers (names as sent) and
/// the body.
fn read_message(reader: &mut impl BufRead) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut start = String::new();
    reader.read_line(&mut start).expect("start line");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .expect("content-length");
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("body");
    (start.trim_end().to_string(), headers, body)
}

/// Asserts a HubSpot `{"status":"error",...}` body with the given category.
fn assert_hubspot_error(resp: &FakeResponse, status: u16, category: &str) -> Value {
    assert_eq!(resp.status, status);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let body = resp.json_body();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    let corr = body["correlationId"].as_str().unwrap_or("");
    assert_eq!(corr.len(), 36, "uuid-like correlation id: {corr}");
    assert_eq!(corr.matches('-').count(), 4);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

#[test]
fn correlation_ids_restart_after_reset() {
    let state = State::new(Config::default());
    let first = state.correlation_id();
    let second = state.correlation_id();
    assert_ne!(first, second);
    state.reset();
    assert_eq!(state.correlation_id(), first);
}
