//! OAuth2 access tokens (RFC 6749): the refresh_token grant when the user mapping holds a refresh
//! token, else client_credentials. A token is cached per session and per (token endpoint, client,
//! refresh token or scope); it is renewed shortly before it expires (`expires_in`) and when the API
//! answers 401 (once per request: see `retry`). A refresh token the provider rotates is kept for the
//! session's next renewals. Salesforce's token response also names the instance to send requests to.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;
use serde_json::Value;

use crate::connector::pointer::Pointer;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::{exchange, Endpoint, HttpResponse};

/// What a user mapping and the connector say about getting tokens.
#[derive(Clone)]
pub struct OAuthConfig {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// Pointer to the instance URL in the token response.
    pub instance_pointer: Option<String>,
    /// For hints: the role and server whose user mapping holds the options.
    pub role: String,
    pub server_name: String,
}

impl OAuthConfig {
    fn key(&self) -> String {
        let grant = match &self.refresh_token {
            Some(r) => format!("refresh:{r}"),
            None => format!("client:{}", self.scope.as_deref().unwrap_or("")),
        };
        format!("{}\u{0}{}\u{0}{grant}", self.token_url, self.client_id)
    }

    fn grant(&self) -> &'static str {
        if self.refresh_token.is_some() {
            "refresh_token"
        } else {
            "client_credentials"
        }
    }
}

/// A usable access token, with the instance origin requests go to (when the provider names one).
#[derive(Debug, Clone)]
pub struct Token {
    pub access: String,
    pub instance: Option<String>,
}

#[derive(Default)]
struct Entry {
    access: Option<String>,
    expires_at: Option<Instant>,
    instance: Option<String>,
    /// The refresh token to use next (the provider may have rotated the user mapping's).
    refresh: Option<String>,
}

static TOKENS: Lazy<Mutex<HashMap<String, Entry>>> = Lazy::new(|| Mutex::new(HashMap::new()));
/// Held while a token is requested, so that helper threads of one session do not all renew at once.
static FETCHING: Mutex<()> = Mutex::new(());

fn cached(key: &str) -> Option<Token> {
    let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    let e = tokens.get(key)?;
    let access = e.access.clone()?;
    if e.expires_at.is_some_and(|t| Instant::now() >= t) {
        return None;
    }
    Some(Token { access, instance: e.instance.clone() })
}

/// A valid access token: the cached one, or a new one from the token endpoint.
pub fn access(endpoint: &Endpoint, cfg: &OAuthConfig) -> Result<Token, TetherError> {
    let key = cfg.key();
    if let Some(t) = cached(&key) {
        return Ok(t);
    }
    let _guard = FETCHING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = cached(&key) {
        return Ok(t);
    }
    let refresh = {
        let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
        tokens.get(&key).and_then(|e| e.refresh.clone()).or_else(|| cfg.refresh_token.clone())
    };
    let fetched = request_token(endpoint, cfg, refresh.as_deref())?;
    for secret in [&fetched.access, &fetched.refresh].into_iter().flatten() {
        crate::http::redact::remember(secret);
    }
    let token = Token { access: fetched.access.clone().unwrap_or_default(), instance: fetched.instance.clone() };
    let mut tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    let entry = tokens.entry(key).or_default();
    *entry = Entry { refresh: fetched.refresh.or(refresh), ..fetched };
    Ok(token)
}

/// Forget the access token (the API refused it); the next request gets a new one.
pub fn invalidate(cfg: &OAuthConfig) {
    let mut tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = tokens.get_mut(&cfg.key()) {
        e.access = None;
    }
}

/// The access token currently cached for `cfg`, to keep it out of messages.
pub fn current_access(cfg: &OAuthConfig) -> Option<String> {
    let tokens = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    tokens.get(&cfg.key()).and_then(|e| e.access.clone())
}

/// Renew this long before `expires_in` runs out, so a token does not expire in flight.
fn margin(expires_in: f64) -> Duration {
    Duration::from_secs_f64((expires_in / 10.0).min(60.0))
}

fn request_token(endpoint: &Endpoint, cfg: &OAuthConfig, refresh: Option<&str>) -> Result<Entry, TetherError> {
    let mut form: Vec<(String, String)> = vec![("grant_type".into(), cfg.grant().into())];
    if let Some(r) = refresh {
        form.push(("refresh_token".into(), r.to_string()));
    }
    form.push(("client_id".into(), cfg.client_id.clone()));
    if let Some(s) = &cfg.client_secret {
        form.push(("client_secret".into(), s.clone()));
    }
    if refresh.is_none() {
        if let Some(scope) = &cfg.scope {
            form.push(("scope".into(), scope.clone()));
        }
    }
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", template::encode_query(k), template::encode_query(v)))
        .collect::<Vec<_>>()
        .join("&");
    let shown = format!("POST {}", template::display_path(&cfg.token_url));
    let headers = vec![("Accept".to_string(), "application/json".to_string())];
    let resp = exchange(
        endpoint,
        "POST",
        &cfg.token_url,
        Some((body.as_bytes(), "application/x-www-form-urlencoded")),
        &headers,
    )
    .map_err(|e| match e {
        TetherError::Transport { connector, message, connect, .. } => TetherError::Transport {
            connector,
            message: format!("could not reach the OAuth2 token endpoint: {message}"),
            detail: format!("while requesting an access token ({shown}) for server \"{}\"", endpoint.server_name),
            connect,
        },
        other => other,
    })?;
    if !(200..300).contains(&resp.status) {
        return Err(token_error(endpoint, cfg, &shown, &resp));
    }
    let doc: Value = serde_json::from_slice(&resp.body).map_err(|e| TetherError::BadResponse {
        connector: endpoint.connector.clone(),
        message: format!("the OAuth2 token endpoint returned malformed JSON: {e}"),
        detail: shown.clone(),
    })?;
    let access = doc.get("access_token").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or_else(|| {
        TetherError::BadResponse {
            connector: endpoint.connector.clone(),
            message: "the OAuth2 token endpoint answered without an access_token".into(),
            detail: format!("{shown} answered HTTP {} with keys: {}", resp.status, keys(&doc)),
        }
    })?;
    let expires_in = doc.get("expires_in").and_then(|v| v.as_f64().or_else(|| v.as_str()?.parse().ok()));
    let instance = match &cfg.instance_pointer {
        Some(p) => {
            let url = Pointer::parse(p).ok().and_then(|p| p.get(&doc).and_then(Value::as_str).map(str::to_string));
            let origin = url.as_deref().and_then(template::split_origin).map(|(o, _)| o.to_string());
            if origin.is_none() {
                return Err(TetherError::BadResponse {
                    connector: endpoint.connector.clone(),
                    message: format!("the OAuth2 token response has no instance URL at \"{p}\""),
                    detail: format!("{shown} answered with keys: {}", keys(&doc)),
                });
            }
            origin
        }
        None => None,
    };
    Ok(Entry {
        access: Some(access.to_string()),
        expires_at: expires_in.filter(|s| *s > 0.0).map(|s| {
            Instant::now() + Duration::from_secs_f64(s.min(86_400.0 * 365.0)) - margin(s.min(86_400.0 * 365.0))
        }),
        instance,
        refresh: doc.get("refresh_token").and_then(Value::as_str).map(str::to_string),
    })
}

fn keys(doc: &Value) -> String {
    match doc {
        Value::Object(m) => m.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => "none".into(),
    }
}

/// A refused token request: the provider's reason (RFC 6749 `error_description`/`error`, or HubSpot's
/// `message`), and what to change in the user mapping.
fn token_error(endpoint: &Endpoint, cfg: &OAuthConfig, shown: &str, resp: &HttpResponse) -> TetherError {
    let doc: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let text = |p: &str| doc.as_ref().and_then(|d| d.pointer(p)).and_then(Value::as_str).map(str::to_string);
    let reason = text("/error_description").or_else(|| text("/message")).or_else(|| text("/error"));
    let code = text("/error").or_else(|| text("/status")).or_else(|| text("/category"));
    let what = match cfg.grant() {
        "refresh_token" => "the refresh token was refused",
        _ => "the client credentials were refused",
    };
    let message = match (&reason, &code) {
        (Some(r), Some(c)) if r != c => format!("OAuth2 token request failed: {what}: {r} ({c})"),
        (Some(r), _) => format!("OAuth2 token request failed: {what}: {r}"),
        (None, _) => format!("OAuth2 token request failed: {what} (HTTP {})", resp.status),
    };
    let mapping = format!("ALTER USER MAPPING FOR \"{}\" SERVER {} OPTIONS", cfg.role, cfg.server_name);
    let hint = match cfg.grant() {
        "refresh_token" => format!(
            "the refresh token may be expired or revoked, or belong to another client_id: authorize again and store the new one with {mapping} (SET refresh_token '...')"
        ),
        _ => format!("check client_id, client_secret and scope: {mapping} (SET client_secret '...')"),
    };
    let body = endpoint.redact(String::from_utf8_lossy(&resp.body).trim());
    TetherError::Provider {
        connector: endpoint.connector.clone(),
        // A refused grant is an authorization failure (SQLSTATE 28000), whatever status carried it.
        status: if resp.status == 429 || resp.status >= 500 { resp.status } else { 401 },
        message: endpoint.redact(&message),
        detail: format!("HTTP {} from {shown}: {body}", resp.status),
        hint: Some(hint),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use super::*;
    use crate::connector::model::Connector;
    use crate::connector::resolve::{resolve_server, Options};
    use crate::http::retry::{execute, Call};
    use crate::http::testing::{ok, scripted};
    use crate::http::{test_defaults, Credentials};

    fn opts(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// An endpoint of a connector using oauth2 against `token_url`; `instance` makes the connector read
    /// the instance URL from the token response.
    fn endpoint(base_url: &str, token_url: &str, mapping: &[(&str, &str)], instance: bool) -> Endpoint {
        let mut auth = serde_json::json!({"scheme": "oauth2", "token_url": token_url});
        if instance {
            auth["instance_url"] = "/instance_url".into();
        }
        let doc = serde_json::json!({"name": "sf", "base_url": base_url, "auth": auth, "objects": {"o": {"list": {"path": "/o"}}}});
        let connector = Arc::new(Connector::from_json(&doc.to_string()).unwrap());
        let server = resolve_server(&opts(&[("connector", "sf")]), move |_| Ok(connector.clone())).unwrap();
        let creds = Credentials::new(&server, "sf", "alice", Some(&opts(mapping))).unwrap();
        Arc::try_unwrap(Endpoint::new(&server, "sf", creds, test_defaults())).unwrap()
    }

    fn get(e: &Endpoint, url: &str) -> Result<HttpResponse, TetherError> {
        execute(e, &Call::get(url), &AtomicBool::new(false))
    }

    fn token(access: &str, extra: &str) -> String {
        ok(&format!(r#"{{"access_token": "{access}", "token_type": "Bearer"{extra}}}"#))
    }

    fn unauthorized() -> String {
        let body = r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        format!("HTTP/1.1 401 Unauthorized\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    }

    const MAPPING: &[(&str, &str)] = &[("client_id", "cid"), ("client_secret", "csecret"), ("refresh_token", "rt-1")];

    #[test]
    fn the_refresh_grant_gets_a_token_and_the_instance_url() {
        let (api, api_seen) = scripted(&[&ok("{}"), &ok("{}")]);
        let (tok, tok_seen) = scripted(&[&token("at-1", &format!(r#", "instance_url": "{api}""#))]);
        let e = endpoint(
            "https://login.example.test/services/data/v59.0",
            &format!("{tok}/services/oauth2/token"),
            MAPPING,
            true,
        );
        get(&e, "https://login.example.test/services/data/v59.0/query?q=x").unwrap();
        get(&e, "https://login.example.test/services/data/v59.0/query?q=y").unwrap();
        let tok_seen = tok_seen.lock().unwrap();
        assert_eq!(tok_seen.len(), 1, "the token is cached");
        assert!(tok_seen[0].starts_with("POST /services/oauth2/token "), "{}", tok_seen[0]);
        assert!(
            tok_seen[0].ends_with("grant_type=refresh_token&refresh_token=rt-1&client_id=cid&client_secret=csecret"),
            "{}",
            tok_seen[0]
        );
        let api_seen = api_seen.lock().unwrap();
        assert!(
            api_seen[0].starts_with("GET /services/data/v59.0/query?q=x "),
            "sent to the instance: {}",
            api_seen[0]
        );
        assert!(api_seen[0].to_ascii_lowercase().contains("authorization: bearer at-1"), "{}", api_seen[0]);
    }

    #[test]
    fn a_401_renews_the_token_once() {
        let (api, api_seen) = scripted(&[&unauthorized(), &ok("{}"), &unauthorized(), &unauthorized()]);
        let (tok, tok_seen) = scripted(&[&token("at-1", ""), &token("at-2", ""), &token("at-3", "")]);
        let e = endpoint(&api, &tok, MAPPING, false);
        assert_eq!(get(&e, &format!("{api}/a")).unwrap().status, 200);
        // Refused again after renewing: reported, not looped.
        let err = get(&e, &format!("{api}/b")).unwrap_err();
        assert_eq!(err.sqlstate().code(), "28000");
        assert!(err.to_string().contains("Session expired or invalid"), "{err}");
        assert_eq!(tok_seen.lock().unwrap().len(), 3);
        let seen = api_seen.lock().unwrap();
        let bearer = |i: usize| {
            seen[i].lines().find(|l| l.to_ascii_lowercase().starts_with("authorization")).unwrap().to_string()
        };
        assert!(bearer(0).ends_with("at-1") && bearer(1).ends_with("at-2") && bearer(3).ends_with("at-3"));
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn an_expired_token_is_renewed_before_use_and_rotation_is_kept() {
        let (api, _) = scripted(&[&ok("{}"), &ok("{}")]);
        let (tok, tok_seen) =
            scripted(&[&token("at-1", r#", "expires_in": 0.2, "refresh_token": "rt-2""#), &token("at-2", "")]);
        let e = endpoint(&api, &tok, MAPPING, false);
        get(&e, &format!("{api}/a")).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        get(&e, &format!("{api}/b")).unwrap();
        let seen = tok_seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].contains("refresh_token=rt-2"), "the rotated refresh token is used: {}", seen[1]);
    }

    #[test]
    fn a_refused_refresh_token_is_a_clear_error() {
        let body = r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        let refused =
            format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        let (api, api_seen) = scripted(&[&ok("{}")]);
        let (tok, _) = scripted(&[&refused]);
        let e = endpoint(
            &api,
            &tok,
            &[("client_id", "cid"), ("client_secret", "csecret"), ("refresh_token", "rt-revoked")],
            false,
        );
        let err = get(&e, &format!("{api}/a")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[sf] OAuth2 token request failed: the refresh token was refused: expired access/refresh token (invalid_grant)"
        );
        assert_eq!(err.sqlstate().code(), "28000");
        assert!(err.hint().unwrap().contains(r#"ALTER USER MAPPING FOR "alice" SERVER sf OPTIONS (SET refresh_token"#));
        assert!(err.detail().unwrap().starts_with("HTTP 400 from POST /"), "{:?}", err.detail());
        assert!(api_seen.lock().unwrap().is_empty(), "no API request without a token");
    }

    #[test]
    fn client_credentials_without_a_refresh_token() {
        let (api, _) = scripted(&[&ok("{}")]);
        let (tok, tok_seen) = scripted(&[&token("at-1", r#", "expires_in": 3600"#)]);
        let e =
            endpoint(&api, &tok, &[("client_id", "cid"), ("client_secret", "s3cr3t"), ("scope", "crm.read")], false);
        get(&e, &format!("{api}/a")).unwrap();
        let seen = tok_seen.lock().unwrap();
        assert!(
            seen[0].ends_with("grant_type=client_credentials&client_id=cid&client_secret=s3cr3t&scope=crm.read"),
            "{}",
            seen[0]
        );
        assert_eq!(e.redact("secret s3cr3t token at-1"), "secret [redacted] token [redacted]");
    }

    #[test]
    fn a_mapping_without_client_id_or_grant_is_refused() {
        let doc = serde_json::json!({"name": "sf", "base_url": "http://127.0.0.1:1", "auth": {"scheme": "oauth2", "token_url": "http://127.0.0.1:1/t"}, "objects": {"o": {"list": {"path": "/o"}}}});
        let connector = Arc::new(Connector::from_json(&doc.to_string()).unwrap());
        let server = resolve_server(&opts(&[("connector", "sf")]), move |_| Ok(connector.clone())).unwrap();
        let e = Credentials::new(&server, "sf", "alice", Some(&opts(&[("refresh_token", "r")]))).unwrap_err();
        assert!(e.to_string().contains("has no option client_id"), "{e}");
        let e = Credentials::new(&server, "sf", "alice", Some(&opts(&[("client_id", "c")]))).unwrap_err();
        assert!(e.to_string().contains("has no option refresh_token"), "{e}");
    }
}
