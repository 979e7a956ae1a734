//! What the OAuth server has issued: access tokens with their lifetimes, the refresh tokens of rotation mode
//! and the revoked ones. Other providers ask it whether a bearer token is valid (`token_status`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::state::State;

/// What other providers learn about a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    Expired { seconds_ago: u64 },
    Unknown,
}

#[derive(Debug)]
struct Issued {
    at: Instant,
    ttl: Duration,
}

#[derive(Debug, Default)]
struct OauthStore {
    /// Number of access tokens issued so far (the next one is `at-{issued + 1}`).
    issued: u64,
    tokens: HashMap<String, Issued>,
    /// Rotation mode: a refresh grant answers a new refresh token and revokes the one used.
    rotate: bool,
    /// Refresh tokens issued by rotation, in order (the next one is `rt-rot-{len + 1}`).
    refresh_issued: Vec<String>,
    /// Refresh tokens spent by a rotation: refused from then on.
    revoked: HashSet<String>,
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut OauthStore) -> R) -> R {
    state.with_store(|_| OauthStore::default(), f)
}

/// Whether `token` is an access token issued by this module, and if so whether it is still valid.
pub fn token_status(state: &State, token: &str) -> TokenStatus {
    with_store(state, |store| match store.tokens.get(token) {
        None => TokenStatus::Unknown,
        Some(issued) => {
            let age = issued.at.elapsed();
            if age < issued.ttl {
                TokenStatus::Valid
            } else {
                TokenStatus::Expired { seconds_ago: (age - issued.ttl).as_secs() }
            }
        }
    })
}

/// Whether a refresh token is one this fake honours: `rt-...` but not `rt-revoked...`, and not revoked by a
/// rotation.
fn refresh_token_ok(store: &OauthStore, token: &str) -> bool {
    token.starts_with("rt-") && !token.starts_with("rt-revoked") && !store.revoked.contains(token)
}

/// The refresh token grant's check, for every token endpoint of the fake: `Err(())` when `token` is refused
/// (the caller answers its provider's `invalid_grant`), `Ok(Some(new))` in rotation mode (the used token is
/// revoked in the same step, so two requests racing with one token get one answer), `Ok(None)` otherwise.
pub fn refresh_grant(state: &State, token: &str) -> Result<Option<String>, ()> {
    with_store(state, |store| {
        if !refresh_token_ok(store, token) {
            return Err(());
        }
        if !store.rotate {
            return Ok(None);
        }
        store.revoked.insert(token.to_string());
        let new = format!("rt-rot-{}", store.refresh_issued.len() + 1);
        store.refresh_issued.push(new.clone());
        Ok(Some(new))
    })
}

/// Turn rotation mode on or off (`/_control/oauth?rotate=1|0`).
pub fn set_rotation(state: &State, on: bool) {
    with_store(state, |store| store.rotate = on);
}

/// Whether rotation mode is on.
pub fn rotation(state: &State) -> bool {
    with_store(state, |store| store.rotate)
}

/// What the fake has issued, for `/_control/oauth_tokens`: access tokens in issue order (this module's, then
/// Salesforce's sessions), refresh tokens issued by rotation, and the refresh tokens revoked (sorted).
pub fn issued_tokens(state: &State) -> Value {
    let (mut access, refresh, mut revoked) = with_store(state, |store| {
        let mut access: Vec<(u64, String)> = store
            .tokens
            .keys()
            .map(|t| (t.strip_prefix("at-").and_then(|n| n.parse().ok()).unwrap_or(u64::MAX), t.clone()))
            .collect();
        access.sort();
        let access: Vec<String> = access.into_iter().map(|(_, t)| t).collect();
        (access, store.refresh_issued.clone(), store.revoked.iter().cloned().collect::<Vec<_>>())
    });
    access.extend(crate::salesforce::issued_sessions(state));
    revoked.sort();
    json!({ "access_tokens": access, "refresh_tokens": refresh, "revoked_refresh_tokens": revoked })
}

/// Issues a fresh access token that lives `ttl_secs` seconds.
pub(super) fn issue(state: &State, ttl_secs: u64) -> String {
    with_store(state, |store| {
        store.issued += 1;
        let token = format!("at-{}", store.issued);
        store.tokens.insert(token.clone(), Issued { at: Instant::now(), ttl: Duration::from_secs(ttl_secs) });
        token
    })
}
