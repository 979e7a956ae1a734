//! The HubSpot CRM v3 objects API (`/crm/v3/objects/{type}`) for contacts, companies and deals.
//!
//! It owns: listing with `limit`/`after` paging and `properties` selection (`read`), get by id, search with
//! HubSpot's filter groups, sorts and limits (`search`), single and batch writes with HubSpot's property
//! validation, duplicate-email rule and batch partial success (`input`, `validate`, `write`), and HubSpot's
//! error bodies (`errors`). Auth is the private-app token (`--token`) or an access token of the fake OAuth
//! server, as `Authorization: Bearer`; searches are rate limited per second (`search`).
//!
//! The records live in `state::Data` (`data` is the schema, `seed_data` the generated records); HubSpot is not in
//! `providers::MODULES`: the router calls `handle` for `/crm/...`, and `oauth::MODULE` carries its seed and reset
//! hooks (`/_control/seed?object=deals`).

pub mod data;
mod errors;
mod input;
mod read;
mod search;
pub mod seed_data;
mod validate;
mod write;

use serde_json::json;

use crate::http::{FakeRequest, FakeResponse};
use crate::oauth::{self, TokenStatus};
use crate::shared::rate::PerSecond;
use crate::shared::request::bearer_token;
use crate::state::{State, MAX_SEED};

pub use errors::{hubspot_error, injected_error};
pub use read::repeat_cursor_page;
#[cfg(test)]
pub use search::SEARCH_PER_SECOND;
pub use write::record_value;

use data::ObjectType;
use errors::{expired, unauthorised};
use read::{get_one, list};
use search::search;
use seed_data::{gen_deals, DEFAULT_DEALS};

/// A known `/crm/v3/objects/...` route.
#[derive(Debug, Clone, Copy)]
enum Route<'a> {
    /// `/crm/v3/objects/{type}`
    Collection,
    /// `/crm/v3/objects/{type}/{id}`
    Object(&'a str),
    /// `/crm/v3/objects/{type}/batch/create`
    BatchCreate,
    /// `/crm/v3/objects/{type}/batch/update`
    BatchUpdate,
    /// `/crm/v3/objects/{type}/search`
    Search,
}

impl Route<'_> {
    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Collection => &["GET", "POST"],
            Route::Object(_) => &["GET", "PATCH", "DELETE"],
            Route::BatchCreate | Route::BatchUpdate | Route::Search => &["POST"],
        }
    }
}

/// Serves `/crm/...`; `None` if the path is not a known HubSpot route.
pub fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let (type_seg, route) = match segs.as_slice() {
        ["crm", "v3", "_fake", "rate_limited"] => {
            let n = with_store(state, |s| s.rate_limited);
            return Some(FakeResponse::json(200, &json!({ "rate_limited": n })));
        }
        ["crm", "v3", "objects", ty] => (*ty, Route::Collection),
        ["crm", "v3", "objects", ty, "batch", "create"] => (*ty, Route::BatchCreate),
        ["crm", "v3", "objects", ty, "batch", "update"] => (*ty, Route::BatchUpdate),
        ["crm", "v3", "objects", ty, "search"] => (*ty, Route::Search),
        ["crm", "v3", "objects", ty, id] => (*ty, Route::Object(id)),
        _ => return None,
    };
    match authorise(state, req) {
        Auth::Ok => {}
        Auth::Missing => return Some(unauthorised(state)),
        Auth::Expired(secs) => return Some(expired(state, secs)),
    }
    let methods = route.methods();
    if !methods.contains(&req.method.as_str()) {
        let resp = hubspot_error(state, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED");
        return Some(resp.with_header("Allow", &methods.join(", ")));
    }
    let Some(ty) = ObjectType::from_segment(type_seg) else {
        return Some(hubspot_error(
            state,
            400,
            &format!("Unable to infer object type from: {type_seg}"),
            "VALIDATION_ERROR",
        ));
    };
    if ty.is_deals() {
        ensure_deals(state);
    }
    Some(match (route, req.method.as_str()) {
        (Route::Search, _) => search(state, req, ty),
        (Route::Collection, "POST") => write::create(state, req, ty),
        (Route::Collection, _) => list(state, req, ty, type_seg),
        (Route::Object(id), "PATCH") => write::update(state, req, ty, id),
        (Route::Object(id), "DELETE") => write::archive(state, ty, id),
        (Route::Object(id), _) => get_one(state, req, ty, id),
        (Route::BatchCreate, _) => write::batch_create(state, req, ty),
        (Route::BatchUpdate, _) => write::batch_update(state, req, ty),
    })
}

/// The outcome of checking a request's bearer token.
enum Auth {
    Ok,
    /// An OAuth access token that expired this many seconds ago.
    Expired(u64),
    Missing,
}

/// The private-app token (`--token`) and valid access tokens of the OAuth server are accepted.
fn authorise(state: &State, req: &FakeRequest) -> Auth {
    let Some(token) = bearer_token(req) else {
        return Auth::Missing;
    };
    if token == state.config.token {
        return Auth::Ok;
    }
    match oauth::token_status(state, token) {
        TokenStatus::Valid => Auth::Ok,
        TokenStatus::Expired { seconds_ago } => Auth::Expired(seconds_ago),
        TokenStatus::Unknown => Auth::Missing,
    }
}

/// Search rate-limit bookkeeping (reset by `/_control/reset`).
#[derive(Debug, Default)]
struct HubspotStore {
    /// The searches of the last second.
    window: PerSecond,
    /// Searches answered with 429 since start (or the last reset).
    rate_limited: u64,
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut HubspotStore) -> R) -> R {
    state.with_store(|_| HubspotStore::default(), f)
}

/// Generates the deals on first use, with the configured count (`--seed deals=N`, default 30).
pub fn ensure_deals(state: &State) {
    if state.data().deals.is_some() {
        return;
    }
    let table = gen_deals(state.config.seed("deals", DEFAULT_DEALS).min(MAX_SEED));
    let mut data = state.data_mut();
    if data.deals.is_none() {
        data.deals = Some(table);
    }
}

/// Reseeds a HubSpot data set that `/_control/seed` does not know itself (`deals`).
pub fn seed(state: &State, name: &str, count: u64) -> bool {
    if name != "deals" {
        return false;
    }
    let table = gen_deals(count);
    state.data_mut().deals = Some(table);
    true
}

/// Forgets the search rate-limit window and its counter.
pub fn reset(state: &State) {
    state.set_store(HubspotStore::default());
}
