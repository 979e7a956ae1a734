//! `GET /auth/{bearer,basic,header,query}/items`: the first three items, behind one auth scheme each (the
//! `--token` or an OAuth access token as a bearer, `test-user` and `--basic-password` as Basic, the token in
//! `X-Api-Key` or in `?api_key=`).

use serde_json::Value;

use super::items::{item, matches_filters};
use crate::http::{base64_decode, FakeRequest, FakeResponse};
use crate::oauth::{token_status, TokenStatus};
use crate::shared::request::{authorization, bearer_token};
use crate::state::State;

const BASIC_USER: &str = "test-user";
/// The default password of the Basic user (`--basic-password`).
pub const BASIC_PASSWORD: &str = "test-password";

pub(super) fn auth_items(state: &State, req: &FakeRequest, kind: &str) -> FakeResponse {
    let token = state.config.token.as_str();
    let ok = match kind {
        // The configured token, or an access token issued by the fake OAuth server.
        "bearer" => match bearer_token(req) {
            Some(t) if t == token => true,
            Some(t) => match token_status(state, t) {
                TokenStatus::Valid => true,
                TokenStatus::Expired { .. } => {
                    return FakeResponse::message(401, "token expired");
                }
                TokenStatus::Unknown => false,
            },
            None => false,
        },
        "basic" => authorization(req)
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, cred)| base64_decode(cred))
            .and_then(|raw| String::from_utf8(raw).ok())
            .is_some_and(|cred| cred == format!("{BASIC_USER}:{}", state.config.basic_password)),
        "header" => req.header_value("x-api-key").is_some_and(|v| v == token),
        "query" => req.param("api_key").is_some_and(|v| v == token),
        _ => false,
    };
    if !ok {
        return FakeResponse::message(401, "invalid credentials");
    }
    let items: Vec<Value> = (1..=3).map(item).filter(|it| matches_filters(it, &req.query)).collect();
    FakeResponse::json(200, &Value::Array(items))
}
