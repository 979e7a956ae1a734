//! Tests of the fake Salesforce org: OAuth, sessions, SOQL (parsing, escaping, filtering, paging), sObject
//! CRUD, composite collections and error shapes: OAuth and sessions (`oauth`),
//! SOQL (`soql`), sObjects and composite collections (`sobjects`). The helpers are here.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::app::handle;
use crate::http::{percent_encode, FakeRequest, FakeResponse};
use crate::state::{Config, State};
use crate::tests::{get, keys, set, state};

mod oauth;
mod sobjects;
mod soql;

const V: &str = "/services/data/v59.0";

fn token_request(st: &State, body: &str) -> FakeResponse {
    handle(
        st,
        &FakeRequest::new("POST", "/services/oauth2/token")
            .header("Host", "127.0.0.1:9999")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
}

fn session(st: &State, client: &str) -> String {
    let resp = token_request(st, &format!("grant_type=client_credentials&client_id={client}&client_secret=sf-secret"));
    assert_eq!(resp.status, 200);
    resp.json_body()["access_token"].as_str().unwrap_or("").to_string()
}

fn call(st: &State, token: &str, method: &str, url: &str, body: Option<&Value>) -> FakeResponse {
    let mut req = FakeRequest::new(method, url).header("Authorization", &format!("Bearer {token}"));
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(&b.to_string());
    }
    handle(st, &req)
}

fn soql_with(st: &State, token: &str, q: &str, batch: Option<usize>) -> FakeResponse {
    let mut req = FakeRequest::get(&format!("{V}/query?q={}", percent_encode(q)))
        .header("Authorization", &format!("Bearer {token}"));
    if let Some(n) = batch {
        req = req.header("Sforce-Query-Options", &format!("batchSize={n}"));
    }
    handle(st, &req)
}

fn soql(st: &State, token: &str, q: &str) -> FakeResponse {
    soql_with(st, token, q, None)
}

/// The values of one field in a query's records (asserting success).
fn column(st: &State, token: &str, q: &str, field: &str) -> Vec<Value> {
    let resp = soql(st, token, q);
    assert_eq!(resp.status, 200, "{q}: {}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body["done"], true, "{q}");
    body["records"].as_array().map(|a| a.iter().map(|r| r[field].clone()).collect()).unwrap_or_default()
}

fn count(st: &State, token: &str, q: &str) -> u64 {
    let resp = soql(st, token, q);
    assert_eq!(resp.status, 200, "{q}: {}", String::from_utf8_lossy(&resp.body));
    resp.json_body()["totalSize"].as_u64().unwrap_or(u64::MAX)
}

/// Asserts a one-error Salesforce array and returns the error object.
fn sf_error(resp: &FakeResponse, status: u16, code: &str) -> Value {
    assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(&resp.body));
    let body = resp.json_body();
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body[0]["errorCode"], code, "{body}");
    body[0].clone()
}
