//! Everything needed to send requests to one server as one user (`Endpoint`, shared with helper
//! threads): base URL, credentials, timeouts, the retry policy, the connector's error pointers, the
//! rate-limit bucket; and the redaction of its secrets from text meant for people.

use std::sync::Arc;
use std::time::Duration;

use crate::connector::model::{ErrorDef, RateLimitDef, RetryAfterDef};
use crate::connector::server::ServerDef;
use crate::connector::template;
use crate::http::credentials::Credentials;
use crate::http::redact;

/// First backoff step; doubled on each attempt, with jitter.
pub const BASE_BACKOFF: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Longest single wait (a longer Retry-After is not honoured: the request fails instead).
    pub max_wait: Duration,
    pub base_backoff: Duration,
}

/// Everything needed to send requests to one server as one user. Shared with helper threads.
#[derive(Debug)]
pub struct Endpoint {
    pub connector: String,
    pub server_name: String,
    pub base_url: String,
    pub credentials: Credentials,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub retry: RetryPolicy,
    /// Header that makes a POST idempotent; creates are retried only with it.
    pub idempotency_header: Option<String>,
    pub errors: ErrorDef,
    /// Client-side pacing: the bucket key (connector, base URL, account) and the limit.
    pub rate_limit: Option<(String, RateLimitDef)>,
    /// False when the server turned pacing off (`rate_limit 'none'`), search endpoints' included.
    pub pacing: bool,
    /// The connector's own wait header on a 429, besides `Retry-After`.
    pub retry_after: Option<RetryAfterDef>,
}

/// The bucket a server's requests draw from: one per account, which the base URL and the connector's
/// own server options (an Airtable base, a Shopify shop) identify.
/// The credential's identity (a hash, never the secret) tells two accounts on one base URL apart.
pub fn rate_limit_key(server: &ServerDef, credentials: &Credentials) -> String {
    let mut key = format!("{} {}", server.connector.name, server.base_url);
    for name in server.connector.server_options.keys() {
        if let Some(v) = server.options.get(name) {
            key.push_str(&format!(" {name}={v}"));
        }
    }
    key.push_str(&format!(" account={:016x}", credentials.identity()));
    key
}

/// Settings a server may leave to the `tether.*` GUCs.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_retries: u32,
    pub max_retry_wait: Duration,
}

impl Endpoint {
    pub fn new(server: &ServerDef, server_name: &str, credentials: Credentials, defaults: Defaults) -> Arc<Endpoint> {
        let rate_limit = server.rate_limit.map(|r| (rate_limit_key(server, &credentials), r));
        Arc::new(Endpoint {
            connector: server.connector.name.clone(),
            server_name: server_name.to_string(),
            base_url: server.base_url.clone(),
            credentials,
            headers: server.connector.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            connect_timeout: server.connect_timeout.unwrap_or(defaults.connect_timeout),
            read_timeout: server.read_timeout.unwrap_or(defaults.read_timeout),
            retry: RetryPolicy {
                max_retries: server.max_retries.unwrap_or(defaults.max_retries),
                max_wait: server.max_retry_wait.unwrap_or(defaults.max_retry_wait),
                base_backoff: BASE_BACKOFF,
            },
            idempotency_header: server.idempotency_header.clone(),
            errors: server.connector.errors.clone(),
            rate_limit,
            pacing: !server.pacing_off,
            retry_after: server.connector.retry_after.clone(),
        })
    }

    /// Replace secrets in text meant for users: this endpoint's credentials (its current OAuth2
    /// access token included) and every other one this process has used (`redact`).
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.credentials.secrets() {
            if out.contains(&s) {
                out = out.replace(&s, template::REDACTED);
            }
        }
        redact::scrub(&out)
    }
}

/// Defaults for unit tests: short waits.
#[cfg(test)]
pub fn test_defaults() -> Defaults {
    Defaults {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(1),
        max_retries: 2,
        max_retry_wait: Duration::from_millis(200),
    }
}
