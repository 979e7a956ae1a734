//! A fake Salesforce org: the OAuth token endpoint and REST API (v59.0, any `vNN.0` accepted) for Account,
//! Contact, Lead and Opportunity.
//!
//! * `POST /services/oauth2/token` (form): `refresh_token` and `client_credentials` grants for `sf-client`
//!   (sessions last two hours) and `sf-client-short` (sessions last one second), with the secret of
//!   `--sf-client-secret` (default `sf-secret`). In the fake's rotation mode (`/_control/oauth?rotate=1`, see
//!   `oauth`) a refresh answers a new `refresh_token` and revokes the one used, as Salesforce's refresh token
//!   rotation does; a revoked one gets `invalid_grant` / `expired access/refresh token`.
//! * `GET /services/data/vNN.0/query?q=<SOQL>` (and `queryAll`), paged by `nextRecordsUrl`
//!   (`/query/<locator>-<offset>`), batch size from `Sforce-Query-Options: batchSize=N`.
//! * `GET|PATCH|DELETE /services/data/vNN.0/sobjects/{Obj}/{Id}`, `POST /services/data/vNN.0/sobjects/{Obj}`,
//!   `GET .../sobjects`, `GET .../sobjects/{Obj}/describe`, `GET .../limits`.
//! * `POST|PATCH|DELETE /services/data/vNN.0/composite/sobjects` (at most 200 records, `allOrNone`).
//!
//! Errors use Salesforce's array shape `[{"message":..,"errorCode":..}]`; every authenticated API response
//! carries `Sforce-Limit-Info: api-usage=N/15000`. Ids are 18 characters with the real key prefixes and
//! checksum; all data is a pure function of the seed counts (`--seed salesforce_accounts=N`, ...).
//!
//! Files by concern: `schema` (the four objects and their fields), `values` (ids with their checksum,
//! date-times), `store` and `seed_data` (the org's records, sessions and query cursors), `oauth` (the token
//! endpoint and sessions), `soql` (the query language: lexer, parser, evaluation, paging), `read` and
//! `describe`, `write` (single records and composite collections) and `errors` (Salesforce's error arrays).

mod describe;
mod errors;
mod oauth;
mod read;
mod schema;
mod seed_data;
mod soql;
mod store;
mod values;
mod write;

use serde_json::{json, Value};

use crate::http::{FakeRequest, FakeResponse};
use crate::providers::ProviderModule;
use crate::state::State;

pub use oauth::{issued_sessions, CLIENT_SECRET};

use describe::{describe, describe_basic, global_describe};
use errors::{injected_error, method_not_allowed, not_found};
use oauth::{authenticate, token};
use read::get_one;
use schema::object;
use soql::{query, query_more};
use store::{reset, seed, with_store};
use write::composite::{collection_delete, collection_write};
use write::{create_one, delete_one, update_one};

pub const MODULE: ProviderModule = ProviderModule {
    name: "salesforce",
    handles: |path| path.starts_with("/services/"),
    handle,
    injected_error,
    seed,
    reset,
};

/// The org's daily API request allowance.
const API_LIMIT: u64 = 15_000;

/// Most records a composite sObject collection request takes.
const MAX_COLLECTION: usize = 200;

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["services", "oauth2", "token"] => Some(if req.method == "POST" {
            token(state, req)
        } else {
            FakeResponse::json(405, &json!({ "error": "invalid_request", "error_description": "must use HTTP POST" }))
        }),
        ["services", "data"] => Some(versions()),
        ["services", "data", version, rest @ ..] => {
            if !valid_version(version) {
                return Some(not_found());
            }
            if let Err(resp) = authenticate(state, req) {
                return Some(resp);
            }
            let usage = with_store(state, |st| {
                st.api_usage += 1;
                st.api_usage
            });
            let resp = api(state, req, version, rest);
            Some(resp.with_header("Sforce-Limit-Info", &format!("api-usage={usage}/{API_LIMIT}")))
        }
        _ => None,
    }
}

/// `v59.0`-style: a two-digit major version from 20 on.
fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.strip_suffix(".0"))
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()) && n >= "20")
}

fn versions() -> FakeResponse {
    let list: Vec<Value> = (57..=60)
        .map(|v| json!({ "label": format!("Release {v}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0") }))
        .collect();
    FakeResponse::json(200, &Value::Array(list))
}

fn api(state: &State, req: &FakeRequest, version: &str, rest: &[&str]) -> FakeResponse {
    let method = req.method.as_str();
    match rest {
        ["query"] | ["queryAll"] => match method {
            "GET" => query(state, req, version, rest.first() == Some(&"queryAll")),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["query", locator] | ["queryAll", locator] => match method {
            "GET" => query_more(state, req, version, locator),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["limits"] => {
            let used = with_store(state, |st| st.api_usage);
            FakeResponse::json(
                200,
                &json!({ "DailyApiRequests": { "Max": API_LIMIT, "Remaining": API_LIMIT.saturating_sub(used) } }),
            )
        }
        ["sobjects"] => match method {
            "GET" => global_describe(version),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["sobjects", obj] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "POST") => create_one(state, req, version, o),
            (Some(o), "GET") => FakeResponse::json(200, &json!({ "objectDescribe": describe_basic(o, version) })),
            (Some(_), _) => method_not_allowed(method, &["GET", "POST"]),
        },
        ["sobjects", obj, "describe"] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "GET") => describe(o, version),
            (Some(_), _) => method_not_allowed(method, &["GET"]),
        },
        ["sobjects", obj, id] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "GET") => get_one(state, req, version, o, id),
            (Some(o), "PATCH") => update_one(state, req, o, id),
            (Some(o), "DELETE") => delete_one(state, o, id),
            (Some(_), _) => method_not_allowed(method, &["GET", "PATCH", "DELETE"]),
        },
        ["composite", "sobjects"] => match method {
            "POST" => collection_write(state, req, version, false),
            "PATCH" => collection_write(state, req, version, true),
            "DELETE" => collection_delete(state, req),
            _ => method_not_allowed(method, &["POST", "PATCH", "DELETE"]),
        },
        _ => not_found(),
    }
}
