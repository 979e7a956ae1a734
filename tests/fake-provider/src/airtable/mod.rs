//! A fake Airtable Web API (`/v0/...`) with one base, `appTether0000001`, holding the tables `Contacts`
//! (`tblContacts0001`) and `Projects` (`tblProjects0001`).
//!
//! * `GET /v0/{base}/{table}` (and `POST .../listRecords`): `pageSize`, `maxRecords`, `offset`,
//!   `filterByFormula`, `fields[]`, `sort[i][field|direction]`, `view`; the offset is an iterator id plus the
//!   next record id (`itr.../rec...`).
//! * `GET|PATCH|PUT|DELETE /v0/{base}/{table}/{record}`; `POST|PATCH|PUT /v0/{base}/{table}` with up to ten
//!   records (all or nothing, `typecast`); `DELETE /v0/{base}/{table}?records[]=..` (up to ten).
//! * `GET /v0/meta/bases` and `GET /v0/meta/bases/{base}/tables` (schema).
//! * Five requests per second per base: the sixth within a second gets 429 and the base stays blocked for the
//!   penalty period (30 s, `--seed airtable_penalty_ms=N`). `GET /v0/_fake/rate_limited` counts the 429s.
//!
//! Auth: `Authorization: Bearer <--token>` or an access token of the fake OAuth server. Tables are addressed by
//! name (URL-encoded) or id. Empty fields are omitted from records, as Airtable does.
//!
//! Files by concern: `store` (tables, records, paging iterators, rate-limit state) and `seed_data` (their seeded
//! records), `list` (listing parameters, sorting, iterators), `formula` (the `filterByFormula` language),
//! `records` (the record shape, get one), `cells` and `write` (typed cell values, record writes), `meta` (the
//! schema endpoints) and `errors` (Airtable's error bodies).

mod cells;
mod errors;
mod formula;
mod list;
mod meta;
mod records;
mod seed_data;
mod store;
mod write;

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::http::{FakeRequest, FakeResponse, JSON};
use crate::oauth::{token_status, TokenStatus};
use crate::providers::ProviderModule;
use crate::shared::request::bearer_token;
use crate::state::State;
use errors::{at_error, injected_error, invalid_request, not_found, rate_limited_body};
use list::{list_get, list_post};
use meta::schema;
use records::get_one;
use store::{reset, seed, with_store};
use write::{create, delete_many, delete_one, update_many, update_one};

pub const MODULE: ProviderModule =
    ProviderModule { name: "airtable", handles: |path| path.starts_with("/v0/"), handle, injected_error, seed, reset };

pub const BASE_ID: &str = "appTether0000001";
const BASE_NAME: &str = "Tether test base";

const REQUESTS_PER_SECOND: u64 = 5;
const PENALTY_MS: u64 = 30_000;

/// Percent-decodes a path segment (`+` stays a plus sign in paths).
fn path_decode(seg: &str) -> String {
    crate::http::percent_decode(&seg.replace('+', "%2B"))
}

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.as_slice() == ["v0", "_fake", "rate_limited"] {
        let count = with_store(state, |st| match req.param("base") {
            Some(b) => st.rates.get(b).map_or(0, |r| r.limited),
            None => st.rates.values().map(|r| r.limited).sum(),
        });
        return Some(FakeResponse::json(200, &json!({ "rate_limited": count })));
    }
    // Authentication first: an unknown token learns nothing about bases or tables.
    let authorised = match bearer_token(req) {
        Some(t) if t == state.config.token => true,
        Some(t) => token_status(state, t) == TokenStatus::Valid,
        None => false,
    };
    if !authorised {
        return Some(at_error(401, "AUTHENTICATION_REQUIRED", "Authentication required"));
    }
    let base_key = match segs.as_slice() {
        ["v0", "meta", "bases", base, ..] => *base,
        ["v0", "meta", ..] => "meta",
        ["v0", base, ..] => *base,
        _ => "",
    };
    if let Some(resp) = rate_limit(state, base_key) {
        return Some(resp);
    }
    let resp = match segs.as_slice() {
        ["v0", "meta", "bases"] if req.method == "GET" => FakeResponse::json(
            200,
            &json!({ "bases": [{ "id": BASE_ID, "name": BASE_NAME, "permissionLevel": "create" }] }),
        ),
        ["v0", "meta", "bases", base, "tables"] if req.method == "GET" => {
            if *base == BASE_ID {
                with_store(state, |st| FakeResponse::json(200, &schema(&st.tables)))
            } else {
                not_found()
            }
        }
        ["v0", base, table, rest @ ..] if *base == BASE_ID => {
            let table_name = path_decode(table);
            let found =
                with_store(state, |st| st.tables.iter().position(|t| t.id == table_name || t.name == table_name));
            let Some(t) = found else {
                return Some(at_error(
                    404,
                    "TABLE_NOT_FOUND",
                    &format!("Could not find table {table_name} in application {BASE_ID}"),
                ));
            };
            match (rest, req.method.as_str()) {
                ([], "GET") => list_get(state, req, t),
                (["listRecords"], "POST") => list_post(state, req, t),
                ([], "POST") => create(state, req, t),
                ([], "PATCH") => update_many(state, req, t, false),
                ([], "PUT") => update_many(state, req, t, true),
                ([], "DELETE") => delete_many(state, req, t),
                ([rec], "GET") => get_one(state, t, rec),
                ([rec], "PATCH") => update_one(state, req, t, rec, false),
                ([rec], "PUT") => update_one(state, req, t, rec, true),
                ([rec], "DELETE") => delete_one(state, t, rec),
                _ => not_found(),
            }
        }
        _ => not_found(),
    };
    Some(resp)
}

/// Five requests per second per base; past that 429, and the base stays blocked for the penalty period.
fn rate_limit(state: &State, base: &str) -> Option<FakeResponse> {
    let per_second = state.config.seed("airtable_requests_per_second", REQUESTS_PER_SECOND);
    let penalty = Duration::from_millis(state.config.seed("airtable_penalty_ms", PENALTY_MS));
    let now = Instant::now();
    let limited = with_store(state, |st| {
        let rate = st.rates.entry(base.to_string()).or_default();
        if let Some(until) = rate.blocked_until {
            if now < until {
                rate.limited += 1;
                return true;
            }
            rate.blocked_until = None;
        }
        if rate.window.accept(now, per_second) {
            return false;
        }
        rate.limited += 1;
        rate.blocked_until = Some(now + penalty);
        // The penalty replaces the window: once it is served the base starts afresh.
        rate.window.clear();
        true
    });
    limited.then(rate_limited_body)
}

fn json_body(req: &FakeRequest) -> Result<Map<String, Value>, FakeResponse> {
    let bad = || at_error(422, "INVALID_REQUEST_BODY", "Could not parse request body");
    if !req.has_media_type(JSON) {
        return Err(bad());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid_request()),
        Err(_) => Err(bad()),
    }
}
