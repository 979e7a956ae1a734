//! The generic REST API of the fake: one resource, `items`, served in several pagination styles
//! (`/rest/{plain,link,next,offset,page,cursor}/items`, `pages`), writable at `/rest/plain/items` (`write`),
//! behind four auth schemes (`/auth/{bearer,basic,header,query}/items`, `auth`), and the type conversion
//! fixtures (`/rest/types`, `/rest/types_bad`, `types`). Errors are `{"message": ..}`.

mod auth;
pub mod items;
mod pages;
mod types;
mod write;

use serde_json::Value;

use crate::http::{FakeRequest, FakeResponse};
use crate::state::State;

pub use auth::BASIC_PASSWORD;
pub use pages::page_size;

use auth::auth_items;
use items::{filtered_items, plain_one};
use pages::{cursor_style, link_style, next_style, offset_style, page_style};
use types::types_records;

/// Serves `/rest/...` and `/auth/...`; `None` if the path is unknown.
pub fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let known = matches!(
        segs.as_slice(),
        ["rest", "types" | "types_bad"]
            | ["rest", "plain", "items"]
            | ["rest", "plain", "items", _]
            | ["rest", "link" | "next" | "offset" | "page" | "cursor", "items"]
            | ["auth", "bearer" | "basic" | "header" | "query", "items"]
    );
    if !known {
        return None;
    }
    let methods: &[&str] = match segs.as_slice() {
        ["rest", "plain", "items"] => &["GET", "POST"],
        ["rest", "plain", "items", _] => &["GET", "PATCH", "PUT", "DELETE"],
        _ => &["GET"],
    };
    if !methods.contains(&req.method.as_str()) {
        return Some(FakeResponse::message(405, "method not allowed").with_header("Allow", &methods.join(", ")));
    }
    let resp = match (segs.as_slice(), req.method.as_str()) {
        (["rest", "plain", "items"], "POST") => write::create(state, req),
        (["rest", "plain", "items", id], "PATCH") => write::patch(state, req, id),
        (["rest", "plain", "items", id], "PUT") => write::put(state, req, id),
        (["rest", "plain", "items", id], "DELETE") => write::delete(state, id),
        (segs, _) => get(state, req, segs),
    };
    Some(resp)
}

/// The read endpoints (the method is GET).
fn get(state: &State, req: &FakeRequest, segs: &[&str]) -> FakeResponse {
    match segs {
        ["rest", "types"] => FakeResponse::json(200, &types_records(false)),
        ["rest", "types_bad"] => FakeResponse::json(200, &types_records(true)),
        ["rest", "plain", "items"] => FakeResponse::json(200, &Value::Array(filtered_items(state, req))),
        ["rest", "plain", "items", id] => plain_one(state, id),
        ["rest", "link", "items"] => link_style(state, req),
        ["rest", "next", "items"] => next_style(state, req),
        ["rest", "offset", "items"] => offset_style(state, req),
        ["rest", "page", "items"] => page_style(state, req),
        ["rest", "cursor", "items"] => cursor_style(state, req),
        ["auth", kind, "items"] => auth_items(state, req, kind),
        _ => FakeResponse::message(404, &format!("no such endpoint: {}", req.path)),
    }
}
