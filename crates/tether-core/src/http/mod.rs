//! The HTTP engine: one ureq agent (connection pool) per backend, auth, timeouts, and the one path from a
//! provider's error answer to a `TetherError` carrying the provider's own message. `wait` runs requests on
//! helper threads with an interruptible wait; `pages` streams a paginated listing.
//!
//! Plain Rust: nothing here calls Postgres, so it can run on helper threads and under `cargo test`.

pub mod budget;
pub mod inbound;
pub mod limit;
pub mod oauth;
pub mod pages;
pub mod redact;
pub mod retry;
#[cfg(test)]
pub mod testing;
pub mod wait;

use std::sync::Arc;
use std::time::Duration;

use once_cell::sync::Lazy;
use serde_json::Value;

use crate::connector::model::{AuthScheme, ErrorDef, RateLimitDef, RetryAfterDef};
use crate::connector::pointer::Pointer;
use crate::connector::resolve::{Options, ServerDef};
use crate::connector::template;
use crate::error::TetherError;

/// Largest response body read into memory (one page).
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;
/// How much of a provider's error body goes into DETAIL.
const MAX_DETAIL_BODY: usize = 2000;

static AGENT: Lazy<ureq::Agent> = Lazy::new(|| {
    ureq::Agent::config_builder()
        // Error statuses are answers to read (the provider's message), not transport failures.
        .http_status_as_error(false)
        // A redirect could carry credentials to another host: report it instead of following it.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
});

/// The backend's agent: keep-alive connections are reused across statements.
pub fn agent() -> &'static ureq::Agent {
    &AGENT
}

/// Credentials from a user mapping, applied per request; never logged or shown.
#[derive(Clone)]
pub struct Credentials {
    scheme: AuthScheme,
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
    api_key: Option<String>,
    api_key_header: String,
    api_key_param: String,
    oauth: Option<oauth::OAuthConfig>,
    /// Origin of the server's base URL: an OAuth2 instance URL replaces it in requests.
    base_origin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, redacted)", self.scheme.as_str())
    }
}

impl Credentials {
    /// Credentials for `server` from its user mapping options (None when there is no mapping). `identity`
    /// says whose mapping it is and `token_store` where rotated refresh tokens are kept (see `oauth`).
    pub fn new(
        server: &ServerDef,
        server_name: &str,
        role: &str,
        identity: oauth::MappingIdentity,
        mapping: Option<&Options>,
        token_store: Option<std::path::PathBuf>,
    ) -> Result<Credentials, TetherError> {
        let get = |k: &str| mapping.and_then(|m| m.get(k)).cloned();
        let oauth = match (server.auth, get("client_id"), &server.token_url) {
            (AuthScheme::OAuth2, Some(client_id), Some(token_url)) => Some(oauth::OAuthConfig {
                token_url: token_url.clone(),
                client_id,
                client_secret: get("client_secret"),
                refresh_token: get("refresh_token"),
                scope: get("scope").or_else(|| server.connector.auth.scope.clone()),
                instance_pointer: server.connector.auth.instance_url.clone(),
                role: role.to_string(),
                server_name: server_name.to_string(),
                identity,
                token_store,
            }),
            _ => None,
        };
        for secret in [get("token"), get("password"), get("api_key"), get("client_secret"), get("refresh_token")]
            .into_iter()
            .flatten()
        {
            redact::remember(&secret);
        }
        let creds = Credentials {
            scheme: server.auth,
            token: get("token"),
            user: get("user"),
            password: get("password"),
            api_key: get("api_key"),
            api_key_header: server.api_key_header.clone(),
            api_key_param: server.api_key_param.clone(),
            base_origin: template::split_origin(&server.base_url).map(|(o, _)| o.to_string()).unwrap_or_default(),
            oauth,
        };
        let missing = match creds.scheme {
            AuthScheme::None => None,
            AuthScheme::Bearer if creds.token.is_none() => Some("token"),
            AuthScheme::Basic if creds.user.is_none() => Some("user"),
            AuthScheme::ApiKeyHeader | AuthScheme::ApiKeyQuery if creds.api_key.is_none() => Some("api_key"),
            AuthScheme::OAuth2 if creds.oauth.is_none() => Some("client_id"),
            AuthScheme::OAuth2
                if creds.oauth.as_ref().is_some_and(|o| o.refresh_token.is_none() && o.client_secret.is_none()) =>
            {
                Some("refresh_token")
            }
            _ => None,
        };
        if creds.scheme == AuthScheme::Basic {
            redact::remember(&creds.basic());
        }
        if let Some(option) = missing {
            let (message, hint) = match mapping {
                None => (
                    format!(
                        "no user mapping for role \"{role}\" on server \"{server_name}\", which uses {} auth",
                        creds.scheme.as_str()
                    ),
                    format!("CREATE USER MAPPING FOR \"{role}\" SERVER {server_name} OPTIONS ({option} '...')"),
                ),
                Some(_) => (
                    format!(
                        "the user mapping for role \"{role}\" on server \"{server_name}\" has no option {option}, needed by {} auth",
                        creds.scheme.as_str()
                    ),
                    format!("ALTER USER MAPPING FOR \"{role}\" SERVER {server_name} OPTIONS (ADD {option} '...')"),
                ),
            };
            return Err(TetherError::missing_option(message, Some(hint)));
        }
        Ok(creds)
    }

    pub fn none() -> Credentials {
        Credentials {
            scheme: AuthScheme::None,
            token: None,
            user: None,
            password: None,
            api_key: None,
            api_key_header: String::new(),
            api_key_param: String::new(),
            oauth: None,
            base_origin: String::new(),
        }
    }

    /// A hash identifying the account these credentials act as (for rate-limit buckets).
    pub fn identity(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.token, &self.user, &self.api_key).hash(&mut h);
        if let Some(o) = &self.oauth {
            (&o.token_url, &o.client_id, &o.refresh_token).hash(&mut h);
        }
        h.finish()
    }

    pub fn is_oauth(&self) -> bool {
        self.oauth.is_some()
    }

    /// Forget a refused OAuth2 access token.
    pub fn invalidate(&self) {
        if let Some(cfg) = &self.oauth {
            oauth::invalidate(cfg);
        }
    }

    /// Add the credentials to a request (getting an OAuth2 token first when needed).
    fn apply(
        &self,
        endpoint: &Endpoint,
        url: &mut String,
        headers: &mut Vec<(String, String)>,
    ) -> Result<(), TetherError> {
        match self.scheme {
            AuthScheme::OAuth2 => {
                let Some(cfg) = &self.oauth else { return Ok(()) };
                let token = oauth::access(endpoint, cfg)?;
                headers.push(("Authorization".into(), format!("Bearer {}", token.access)));
                if let Some(instance) = &token.instance {
                    if !self.base_origin.is_empty() && url.starts_with(&self.base_origin) {
                        *url = format!("{instance}{}", &url[self.base_origin.len()..]);
                    }
                }
            }
            AuthScheme::None => {}
            AuthScheme::Bearer => {
                headers.push(("Authorization".into(), format!("Bearer {}", self.token.as_deref().unwrap_or(""))))
            }
            AuthScheme::Basic => headers.push(("Authorization".into(), format!("Basic {}", self.basic()))),
            AuthScheme::ApiKeyHeader => {
                headers.push((self.api_key_header.clone(), self.api_key.clone().unwrap_or_default()))
            }
            AuthScheme::ApiKeyQuery => {
                template::append_query(url, &[(self.api_key_param.clone(), self.api_key.clone().unwrap_or_default())])
            }
        }
        Ok(())
    }

    /// The user mapping options this scheme reads, for hints.
    pub fn option_names(&self) -> &'static str {
        match self.scheme {
            AuthScheme::None => "options",
            AuthScheme::Bearer => "token",
            AuthScheme::Basic => "user and password",
            AuthScheme::ApiKeyHeader | AuthScheme::ApiKeyQuery => "api_key",
            AuthScheme::OAuth2 => "client_id, client_secret and refresh_token",
        }
    }

    /// Values that must never appear in messages (also in their encoded forms).
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let oauth_secrets =
            self.oauth.as_ref().map(|o| [o.client_secret.clone(), o.refresh_token.clone(), oauth::current_access(o)]);
        for s in [&self.token, &self.password, &self.api_key]
            .into_iter()
            .flatten()
            .chain(oauth_secrets.iter().flatten().flatten())
        {
            if s.len() >= 4 {
                out.push(s.clone());
                out.push(template::encode_query(s));
            }
        }
        if self.scheme == AuthScheme::Basic {
            out.push(self.basic());
        }
        out
    }

    /// `user:password` in base64, as the Basic scheme sends it.
    fn basic(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.user.as_deref().unwrap_or(""), self.password.as_deref().unwrap_or(""));
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
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
    pub retry: retry::RetryPolicy,
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
            retry: retry::RetryPolicy {
                max_retries: server.max_retries.unwrap_or(defaults.max_retries),
                max_wait: server.max_retry_wait.unwrap_or(defaults.max_retry_wait),
                base_backoff: retry::BASE_BACKOFF,
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

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Send one request and read the whole response, whatever its status; only a failure to exchange
/// (connect, timeout, reset) is an error. `retry::execute` decides what a status means. Blocking: call
/// it on a helper thread (see `wait`).
pub fn send_once(
    endpoint: &Endpoint,
    method: &str,
    url: &str,
    body: Option<(&[u8], &str)>,
    extra_headers: &[(String, String)],
) -> Result<HttpResponse, TetherError> {
    let mut full_url = url.to_string();
    let mut headers: Vec<(String, String)> = vec![("Accept".into(), "application/json".into())];
    headers.extend(endpoint.headers.iter().cloned());
    headers.extend(extra_headers.iter().cloned());
    endpoint.credentials.apply(endpoint, &mut full_url, &mut headers)?;
    exchange(endpoint, method, &full_url, body, &headers)
}

/// One exchange with the headers given (credentials already in them), whatever the status.
pub fn exchange(
    endpoint: &Endpoint,
    method: &str,
    full_url: &str,
    body: Option<(&[u8], &str)>,
    headers: &[(String, String)],
) -> Result<HttpResponse, TetherError> {
    // The credentials are in `full_url` (auth 'api_key_query'): shown without them.
    let shown = endpoint.redact(&format!("{method} {}", template::display_path(full_url)));
    let mut builder = ureq::http::Request::builder().method(method).uri(full_url);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let (payload, has_body) = match body {
        Some((bytes, content_type)) => {
            builder = builder.header("Content-Type", content_type);
            (bytes.to_vec(), true)
        }
        None => (Vec::new(), false),
    };
    let transport = |message: String, connect: bool| TetherError::Transport {
        connector: endpoint.connector.clone(),
        message,
        detail: format!("while sending {shown} to server \"{}\"", endpoint.server_name),
        connect,
    };
    let request = builder
        .body(payload)
        .map_err(|e| transport(endpoint.redact(&format!("could not build the request: {e}")), false))?;
    let agent = agent();
    let request = agent
        .configure_request(request)
        .timeout_connect(Some(endpoint.connect_timeout))
        .timeout_resolve(Some(endpoint.connect_timeout))
        .timeout_per_read(Some(endpoint.read_timeout))
        .timeout_per_write(Some(endpoint.read_timeout))
        .build();
    let result = if has_body {
        agent.run(request)
    } else {
        let (parts, _) = request.into_parts();
        agent.run(ureq::http::Request::from_parts(parts, ()))
    };
    let mut response = result.map_err(|e| transport_error(endpoint, e, &transport))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec().map_err(|e| match e {
        ureq::Error::BodyExceedsLimit(n) => TetherError::BadResponse {
            connector: endpoint.connector.clone(),
            message: format!("the response to {shown} is larger than {n} bytes"),
            detail: "ask for smaller pages with the table option page_size".into(),
        },
        other => transport_error(endpoint, other, &transport),
    })?;
    Ok(HttpResponse { status, headers, body })
}

fn transport_error(
    endpoint: &Endpoint,
    e: ureq::Error,
    transport: &dyn Fn(String, bool) -> TetherError,
) -> TetherError {
    use ureq::Timeout;
    let host = template::display_origin(&endpoint.base_url);
    let secs = |d: Duration| {
        if d.as_millis().is_multiple_of(1000) {
            format!("{}s", d.as_secs())
        } else {
            format!("{}ms", d.as_millis())
        }
    };
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => transport(
            format!("could not connect to {host} within connect_timeout ({})", secs(endpoint.connect_timeout)),
            true,
        ),
        ureq::Error::Timeout(_) => transport(
            format!("the provider did not answer within read_timeout ({})", secs(endpoint.read_timeout)),
            false,
        ),
        ureq::Error::HostNotFound => transport(format!("could not resolve the host of {host}"), true),
        ureq::Error::ConnectionFailed => transport(format!("could not connect to {host}"), true),
        ureq::Error::Io(io) => {
            let connect = matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::NotFound
            );
            if connect {
                transport(format!("could not connect to {host}: {io}"), true)
            } else {
                transport(format!("connection to {host} failed: {io}"), false)
            }
        }
        ureq::Error::Tls(m) => transport(format!("TLS failure talking to {host}: {m}"), true),
        ureq::Error::Rustls(e) => transport(format!("TLS failure talking to {host}: {e}"), true),
        other => transport(endpoint.redact(&format!("request to {host} failed: {other}")), false),
    }
}

/// The one mapping from a provider's error answer to a TetherError: the provider's own message (found
/// through the connector's error pointers), the status, the body in DETAIL (redacted, truncated).
pub fn provider_error(endpoint: &Endpoint, shown: &str, response: &HttpResponse) -> TetherError {
    let status = response.status;
    let text = String::from_utf8_lossy(&response.body);
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let found = |pointers: &[String]| -> Option<String> {
        let doc = parsed.as_ref()?;
        pointers.iter().find_map(|p| match Pointer::parse(p).ok()?.get(doc)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        })
    };
    let provider_message = found(&endpoint.errors.message);
    let details: Vec<String> = match &parsed {
        Some(doc) => endpoint
            .errors
            .details
            .iter()
            .filter_map(|p| Pointer::parse(p).ok()?.get(doc).and_then(flatten_details))
            .collect(),
        None => Vec::new(),
    };
    let provider_message = match (provider_message, details.join("; ")) {
        (m, d) if d.is_empty() => m,
        (Some(m), d) if m.contains(&d) => Some(m),
        (Some(m), d) if m.ends_with(['.', ':', '!']) => Some(format!("{m} {d}")),
        (Some(m), d) => Some(format!("{m}: {d}")),
        (None, d) => Some(d),
    };
    let code = found(&endpoint.errors.code);
    let message = match (&provider_message, status) {
        (_, 300..=399) => {
            format!("the provider redirected {shown} to {}", response.header("location").unwrap_or("another location"))
        }
        (Some(m), _) => m.clone(),
        (None, _) => format!("HTTP {status} {}", reason(status)),
    };
    let mut body = endpoint.redact(text.trim());
    if body.len() > MAX_DETAIL_BODY {
        let mut end = MAX_DETAIL_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("... (truncated)");
    }
    let mut detail = format!("HTTP {status} from {}", endpoint.redact(shown));
    if let Some(code) = &code {
        detail.push_str(&format!(" ({code})"));
    }
    if !body.is_empty() {
        detail.push_str(": ");
        detail.push_str(&body);
    }
    let hint = match status {
        300..=399 => Some("set the server's base_url to the provider's current address".to_string()),
        401 => Some(format!(
            "check the {} in the user mapping for server \"{}\"",
            endpoint.credentials.option_names(),
            endpoint.server_name
        )),
        403 => Some("the credentials are valid but lack a permission (scope) for this object".to_string()),
        429 => Some("the provider's rate limit was exhausted; retry later or lower the request rate".to_string()),
        _ => None,
    };
    TetherError::Provider {
        connector: endpoint.connector.clone(),
        status,
        message: endpoint.redact(&message),
        detail,
        hint,
    }
}

/// Per-field errors as one line: `{"email": ["is invalid", "is taken"], "phone": "bad"}` reads
/// `email: is invalid, is taken; phone: bad`; an array of messages (or of objects with a `message`)
/// reads as the messages. None when there is nothing to say.
pub fn flatten_details(value: &Value) -> Option<String> {
    fn texts(v: &Value) -> Vec<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => vec![s.trim().to_string()],
            Value::Array(items) => items.iter().flat_map(texts).collect(),
            Value::Object(map) => match map.get("message") {
                Some(Value::String(s)) => vec![s.clone()],
                _ => flatten_details(v).into_iter().collect(),
            },
            Value::Number(n) => vec![n.to_string()],
            _ => Vec::new(),
        }
    }
    let parts: Vec<String> = match value {
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| {
                let t = texts(v);
                (!t.is_empty()).then(|| format!("{k}: {}", t.join(", ")))
            })
            .collect(),
        other => texts(other),
    };
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn reason(status: u16) -> &'static str {
    match status {
        300..=399 => "Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Parse a 2xx body as JSON; a malformed body is an error naming the request and showing its start.
pub fn parse_json(endpoint: &Endpoint, shown: &str, body: &[u8]) -> Result<Value, TetherError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| malformed(endpoint, shown, body, &e))
}

/// The error for a 2xx body that is not valid JSON.
pub fn malformed(endpoint: &Endpoint, shown: &str, body: &[u8], e: &serde_json::Error) -> TetherError {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    TetherError::BadResponse {
        connector: endpoint.connector.clone(),
        message: format!("the provider returned malformed JSON for {shown}: {e}"),
        detail: format!("response body starts with: {}", endpoint.redact(&text)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::resolve::resolve_server;

    fn endpoint(auth: &[(&str, &str)], mapping: &[(&str, &str)]) -> Endpoint {
        let mut opts: Options = [("connector", "rest"), ("base_url", "http://127.0.0.1:1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        opts.extend(auth.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let server = resolve_server(&opts, connector::find).unwrap();
        let m: Options = mapping.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let creds = Credentials::new(&server, "s", "alice", oauth::ALICE, Some(&m), None).unwrap();
        Arc::try_unwrap(Endpoint::new(&server, "s", creds, test_defaults())).unwrap()
    }

    #[test]
    fn auth_schemes_are_applied() {
        struct Case {
            server: &'static [(&'static str, &'static str)],
            mapping: &'static [(&'static str, &'static str)],
            url: &'static str,
            header: Option<(&'static str, &'static str)>,
        }
        let cases = [
            Case {
                server: &[("auth", "bearer")],
                mapping: &[("token", "tok-1234")],
                url: "http://x/a",
                header: Some(("Authorization", "Bearer tok-1234")),
            },
            Case {
                server: &[("auth", "basic")],
                mapping: &[("user", "u"), ("password", "p")],
                url: "http://x/a",
                header: Some(("Authorization", "Basic dTpw")),
            },
            Case {
                server: &[("auth", "api_key_header"), ("api_key_header", "X-Key")],
                mapping: &[("api_key", "k-1234")],
                url: "http://x/a",
                header: Some(("X-Key", "k-1234")),
            },
            Case {
                server: &[("auth", "api_key_query")],
                mapping: &[("api_key", "k 1234")],
                url: "http://x/a?api_key=k%201234",
                header: None,
            },
        ];
        for Case { server, mapping, url: expected_url, header: expected_header } in cases {
            let e = endpoint(server, mapping);
            let mut url = "http://x/a".to_string();
            let mut headers = Vec::new();
            e.credentials.apply(&e, &mut url, &mut headers).unwrap();
            assert_eq!(url, expected_url);
            match expected_header {
                Some((k, v)) => assert_eq!(headers, vec![(k.to_string(), v.to_string())]),
                None => assert!(headers.is_empty()),
            }
        }
    }

    #[test]
    fn rate_limit_buckets_are_per_account() {
        let with = |token: &str, base: &str| {
            let opts: Options = [("connector", "hubspot"), ("base_url", base)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let server = resolve_server(&opts, connector::find).unwrap();
            let m: Options = [("token".to_string(), token.to_string())].into_iter().collect();
            let creds = Credentials::new(&server, "s", "alice", oauth::ALICE, Some(&m), None).unwrap();
            Endpoint::new(&server, "s", creds, test_defaults()).rate_limit.clone().unwrap().0
        };
        let a = with("token-a", "http://127.0.0.1:1");
        assert_eq!(a, with("token-a", "http://127.0.0.1:1"), "one account, one bucket");
        assert_ne!(a, with("token-b", "http://127.0.0.1:1"), "another token is another account");
        assert_ne!(a, with("token-a", "http://127.0.0.1:2"));
        assert!(!a.contains("token-a"), "the key never holds the secret: {a}");
    }

    #[test]
    fn missing_credentials_are_a_clear_error() {
        let opts: Options = [("connector", "hubspot")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let server = resolve_server(&opts, connector::find).unwrap();
        let e = Credentials::new(&server, "hs", "alice", oauth::ALICE, None, None).unwrap_err();
        assert!(e.to_string().contains("no user mapping for role \"alice\" on server \"hs\""), "{e}");
        assert!(e.hint().unwrap().contains("CREATE USER MAPPING FOR \"alice\" SERVER hs OPTIONS (token"));
        let e = Credentials::new(&server, "hs", "alice", oauth::ALICE, Some(&Options::new()), None).unwrap_err();
        assert!(e.to_string().contains("has no option token"), "{e}");
    }

    #[test]
    fn provider_error_uses_the_connector_message_and_redacts() {
        let e = endpoint(&[("auth", "bearer")], &[("token", "sekrit-token")]);
        let body = br#"{"status":"error","message":"Authentication credentials not found. token sekrit-token","category":"INVALID_AUTHENTICATION"}"#;
        let resp = HttpResponse { status: 401, headers: vec![], body: body.to_vec() };
        let err = provider_error(&e, "GET /crm/v3/objects/contacts", &resp);
        let text = err.to_string();
        assert!(text.starts_with("[rest] Authentication credentials not found."), "{text}");
        assert!(!text.contains("sekrit"), "{text}");
        let detail = err.detail().unwrap();
        assert!(detail.starts_with("HTTP 401 from GET /crm/v3/objects/contacts"), "{detail}");
        assert!(!detail.contains("sekrit") && detail.contains("[redacted]"), "{detail}");
        assert_eq!(err.sqlstate().code(), "28000");
        assert_eq!(err.hint().unwrap(), "check the token in the user mapping for server \"s\"");
    }

    #[test]
    fn provider_error_without_a_message_uses_the_status() {
        let e = endpoint(&[], &[]);
        let resp = HttpResponse { status: 503, headers: vec![], body: b"<html>down</html>".to_vec() };
        let err = provider_error(&e, "GET /items", &resp);
        assert_eq!(err.to_string(), "[rest] HTTP 503 Service Unavailable");
        assert!(err.detail().unwrap().ends_with("<html>down</html>"));
        let long = HttpResponse { status: 400, headers: vec![], body: vec![b'x'; 5000] };
        assert!(provider_error(&e, "GET /items", &long).detail().unwrap().ends_with("(truncated)"));
    }

    #[test]
    fn field_errors_are_flattened_into_the_message() {
        let mut e = endpoint(&[], &[]);
        e.errors.message = vec!["/title".into(), "/errors".into()];
        e.errors.details = vec!["/errors".into()];
        let shopify = br#"{"errors": {"email": ["is invalid", "has already been taken"], "phone": ["is invalid"]}}"#;
        let err = provider_error(
            &e,
            "POST /customers.json",
            &HttpResponse { status: 422, headers: vec![], body: shopify.to_vec() },
        );
        assert_eq!(err.to_string(), "[rest] email: is invalid, has already been taken; phone: is invalid");
        let bigcommerce = br#"{"status": 422, "title": "JSON data is missing or invalid", "errors": {"email": "The field 'email' is invalid."}}"#;
        let err = provider_error(
            &e,
            "POST /customers",
            &HttpResponse { status: 422, headers: vec![], body: bigcommerce.to_vec() },
        );
        assert_eq!(err.to_string(), "[rest] JSON data is missing or invalid: email: The field 'email' is invalid.");
        let plain = br#"{"errors": "Not Found"}"#;
        let err = provider_error(&e, "GET /x", &HttpResponse { status: 404, headers: vec![], body: plain.to_vec() });
        assert_eq!(err.to_string(), "[rest] Not Found", "a string is the message, said once");
        assert_eq!(flatten_details(&serde_json::json!([{"message": "a"}, "b"])).as_deref(), Some("a; b"));
        assert_eq!(flatten_details(&serde_json::json!({})), None);
    }

    #[test]
    fn redirects_are_reported_not_followed() {
        let e = endpoint(&[], &[]);
        let resp =
            HttpResponse { status: 301, headers: vec![("Location".into(), "https://new.test/x".into())], body: vec![] };
        let err = provider_error(&e, "GET /items", &resp);
        assert!(err.to_string().contains("redirected GET /items to https://new.test/x"), "{err}");
    }

    #[test]
    fn malformed_json_is_reported_with_its_start() {
        let e = endpoint(&[], &[]);
        let err = parse_json(&e, "GET /items", br#"{"results": [1, 2"#).unwrap_err();
        assert!(err.to_string().contains("malformed JSON for GET /items"), "{err}");
        assert!(err.detail().unwrap().contains(r#"{"results": [1, 2"#));
        assert_eq!(parse_json(&e, "GET /x", b"  ").unwrap(), Value::Null);
    }
}
