//! OAuth2 access tokens (RFC 6749): the refresh_token grant when the user mapping holds a refresh
//! token, else client_credentials. Salesforce's token response also names the instance to send requests to.
//!
//! What is cached, per backend process: the access token with its expiry and instance URL, renewed shortly
//! before it expires (`expires_in`) and when the API answers 401 (once per request: see `retry`). It is keyed
//! by a SHA-256 digest of everything that authorizes it: the user mapping's identity (the server, the role the
//! request runs as, the role the mapping is for), the token URL, client_id, client_secret, the mapping's
//! refresh token and scope. So two roles never share a token, even with identical options; a wrong client
//! secret never finds the token the right one got; and the key holds no secret in clear.
//!
//! Refresh tokens a provider rotates (it answers a new one and revokes the one used) must outlive the process:
//! the next backend, or this role's next session, has to send the new one. They are kept in a store owned by
//! the database server, `<data directory>/pg_tether/oauth` (mode 0700): one file per user mapping (0600),
//! named by a digest of (server, the mapping's role, token URL, client_id, the mapping's own refresh token),
//! holding the current refresh token and when it was stored. The mapping's refresh token is part of the name,
//! so storing a new one with ALTER USER MAPPING starts afresh from it. Files are replaced atomically (temp file,
//! fsync, rename, fsync of the directory), and a process holds `flock` on `<name>.lock` from reading the stored
//! token until the new one is saved, so two backends never both spend one single-use refresh token.
//! A file and not a table: the refresh happens inside a statement that may still roll back, while the provider
//! has already revoked the old token; a table row would roll back with it (and helper threads cannot use SPI).
//! Without a store (`token_store` None) a rotated refresh token lives in this process's cache only.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use once_cell::sync::Lazy;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::connector::pointer::Pointer;
use crate::connector::template;
use crate::error::{SqlState, TetherError};
use crate::http::credentials::{MappingIdentity, OAuthConfig};
use crate::http::endpoint::Endpoint;
use crate::http::transport::{exchange, HttpResponse};

impl OAuthConfig {
    /// The cache key: a digest of everything that authorizes the token.
    fn cache_key(&self) -> String {
        let id = &self.identity;
        digest(
            "tether oauth2 access token",
            &[
                Some(&id.server.to_le_bytes()),
                Some(&id.role.to_le_bytes()),
                Some(&id.mapping_role.to_le_bytes()),
                Some(self.token_url.as_bytes()),
                Some(self.client_id.as_bytes()),
                self.client_secret.as_deref().map(str::as_bytes),
                self.refresh_token.as_deref().map(str::as_bytes),
                self.scope.as_deref().map(str::as_bytes),
            ],
        )
    }

    /// This mapping's entry in the refresh token store (None for client_credentials, or without a store).
    fn store(&self) -> Option<Store> {
        let dir = self.token_store.clone()?;
        let original = self.refresh_token.as_deref()?;
        let id = &self.identity;
        let name = digest(
            "tether oauth2 refresh token",
            &[
                Some(&id.server.to_le_bytes()),
                Some(&id.mapping_role.to_le_bytes()),
                Some(self.token_url.as_bytes()),
                Some(self.client_id.as_bytes()),
                Some(original.as_bytes()),
            ],
        );
        Some(Store { dir, name, identity: self.identity })
    }

    fn grant(&self) -> &'static str {
        if self.refresh_token.is_some() {
            "refresh_token"
        } else {
            "client_credentials"
        }
    }
}

/// Hex SHA-256 of `parts`, each length-prefixed (absent ones marked) so that no two lists give one input.
fn digest(domain: &str, parts: &[Option<&[u8]>]) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    for part in parts {
        match part {
            None => h.update([0u8]),
            Some(bytes) => {
                h.update([1u8]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
    /// The refresh token to use next (the provider may have rotated the user mapping's). With a store, the
    /// stored one is used instead, and this one matters only while `unsaved`.
    refresh: Option<String>,
    /// `refresh` is a rotated token the store could not take: saved before the entry is used again.
    unsaved: bool,
}

/// A process's tokens (one per backend; unit tests make more to play several backends).
#[derive(Default)]
struct TokenCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// One lock per key, held while its token is requested, so that helper threads of one session wait for
    /// the first one's token instead of all asking.
    fetching: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl TokenCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached access token, if it is still valid and nothing about it is left to save.
    fn valid(&self, key: &str) -> Option<Token> {
        let entries = self.entries();
        let e = entries.get(key).filter(|e| !e.unsaved)?;
        let access = e.access.clone()?;
        if e.expires_at.is_some_and(|t| Instant::now() >= t) {
            return None;
        }
        Some(Token { access, instance: e.instance.clone() })
    }

    fn fetch_lock(&self, key: &str) -> Arc<Mutex<()>> {
        let mut locks = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key.to_string()).or_default().clone()
    }
}

static TOKENS: Lazy<TokenCache> = Lazy::new(TokenCache::default);

/// A valid access token: the cached one, or a new one from the token endpoint.
pub fn access(endpoint: &Endpoint, cfg: &OAuthConfig) -> Result<Token, TetherError> {
    access_in(&TOKENS, endpoint, cfg)
}

fn access_in(cache: &TokenCache, endpoint: &Endpoint, cfg: &OAuthConfig) -> Result<Token, TetherError> {
    let key = cfg.cache_key();
    if let Some(t) = cache.valid(&key) {
        return Ok(t);
    }
    let lock = cache.fetch_lock(&key);
    let _fetching = lock.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(t) = cache.valid(&key) {
        return Ok(t);
    }
    let store = cfg.store();
    // Held from reading the stored refresh token until the one that replaces it is saved.
    let _locked = match &store {
        Some(s) => Some(s.lock().map_err(|e| store_error(endpoint, cfg, s, "open", e))?),
        None => None,
    };
    let unsaved = cache.entries().get(&key).filter(|e| e.unsaved).and_then(|e| e.refresh.clone());
    if let (Some(s), Some(rotated)) = (&store, unsaved) {
        s.write(&rotated).map_err(|e| save_error(endpoint, cfg, s, e))?;
        if let Some(e) = cache.entries().get_mut(&key) {
            e.unsaved = false;
        }
        if let Some(t) = cache.valid(&key) {
            return Ok(t);
        }
    }
    let refresh = match (&store, &cfg.refresh_token) {
        (_, None) => None,
        (Some(s), Some(original)) => {
            Some(s.read().map_err(|e| store_error(endpoint, cfg, s, "read", e))?.unwrap_or_else(|| original.clone()))
        }
        (None, Some(original)) => {
            Some(cache.entries().get(&key).and_then(|e| e.refresh.clone()).unwrap_or_else(|| original.clone()))
        }
    };
    let fetched = request_token(endpoint, cfg, refresh.as_deref())?;
    for secret in [&fetched.access, &fetched.refresh, &refresh].into_iter().flatten() {
        crate::http::redact::remember(secret);
    }
    let token = Token { access: fetched.access.clone().unwrap_or_default(), instance: fetched.instance.clone() };
    let rotated = fetched.refresh.clone().filter(|r| refresh.is_some() && refresh.as_ref() != Some(r));
    let saved = match (&store, &rotated) {
        (Some(s), Some(r)) => s.write(r).map_err(|e| save_error(endpoint, cfg, s, e)),
        _ => Ok(()),
    };
    // Kept even when it could not be saved: this process still has the only copy of the new token.
    let entry = Entry { refresh: rotated.or(refresh), unsaved: saved.is_err(), ..fetched };
    cache.entries().insert(key, entry);
    saved.map(|()| token)
}

/// Forget the access token (the API refused it); the next request gets a new one.
pub fn invalidate(cfg: &OAuthConfig) {
    if let Some(e) = TOKENS.entries().get_mut(&cfg.cache_key()) {
        e.access = None;
    }
}

/// The access token currently cached for `cfg`, to keep it out of messages.
pub fn current_access(cfg: &OAuthConfig) -> Option<String> {
    TOKENS.entries().get(&cfg.cache_key()).and_then(|e| e.access.clone())
}

/// One user mapping's entry in the refresh token store: `<dir>/<name>` holds the current refresh token,
/// `<dir>/<name>.lock` is what processes lock, `<dir>/<name>.tmp` is the next version being written.
struct Store {
    dir: PathBuf,
    name: String,
    /// Written into the file (oids, no secret), so that an administrator can tell whose it is.
    identity: MappingIdentity,
}

impl Store {
    fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}{suffix}", self.name))
    }

    /// Lock the entry for this caller, waiting for another process (or thread) to finish with it. An flock
    /// belongs to the open file: it is released when the returned file is dropped, or the process dies.
    fn lock(&self) -> io::Result<File> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.path(".lock"))?;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(file);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// The stored refresh token, None when there is none yet. A damaged file is an error, never shown.
    fn read(&self) -> io::Result<Option<String>> {
        let bytes = match fs::read(self.path("")) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let damaged = || io::Error::new(io::ErrorKind::InvalidData, "the file is damaged (no refresh_token in it)");
        let doc: Value = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
        let token = doc.get("refresh_token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(damaged)?;
        Ok(Some(token.to_string()))
    }

    /// Replace the stored refresh token: a new file, synced, renamed over the old one, then the directory synced,
    /// so that after a crash the file holds the old token or the new one, whole.
    fn write(&self, refresh: &str) -> io::Result<()> {
        let stored_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let record = serde_json::json!({
            "refresh_token": refresh,
            "stored_at": stored_at,
            "server_oid": self.identity.server,
            "mapping_role_oid": self.identity.mapping_role,
        });
        let tmp = self.path(".tmp");
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(format!("{record}\n").as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, self.path(""))?;
        File::open(&self.dir)?.sync_all()
    }
}

/// The store could not be used before a token request (nothing was spent at the provider). A permission
/// problem is 42501, as Postgres reports one on its own files; anything else XX000 (SqlState has no 58030).
fn store_error(endpoint: &Endpoint, cfg: &OAuthConfig, store: &Store, what: &str, e: io::Error) -> TetherError {
    let state = match e.kind() {
        io::ErrorKind::PermissionDenied => SqlState::InsufficientPrivilege,
        _ => SqlState::Internal,
    };
    TetherError::Option {
        message: format!(
            "[{}] could not {what} the stored OAuth2 refresh token of the user mapping for role \"{}\" on server \"{}\" ({}): {e}",
            endpoint.connector,
            cfg.role,
            cfg.server_name,
            store.path("").display()
        ),
        hint: Some(format!(
            "the directory {} must be writable by the database server's operating system user; a damaged file in it can be removed, and the next request then sends the user mapping's refresh token (which fails if the provider has rotated it: then authorize again and SET refresh_token in the user mapping)",
            store.dir.display()
        )),
        state,
    }
}

/// The provider rotated the refresh token and the new one could not be saved. 08007: like a write whose
/// outcome is not recorded, the provider has changed state (the old token is spent) and Tether could not
/// record it; the session still holds the new token and saves it on its next request, so a retry can fix it.
fn save_error(endpoint: &Endpoint, cfg: &OAuthConfig, store: &Store, e: io::Error) -> TetherError {
    TetherError::OutcomeUnknown {
        connector: endpoint.connector.clone(),
        message: format!(
            "the OAuth2 provider rotated the refresh token of the user mapping for role \"{}\" on server \"{}\", and the new one could not be saved: {e}",
            cfg.role, cfg.server_name
        ),
        detail: format!("writing {}", store.path("").display()),
        hint: format!(
            "this session keeps the new refresh token and saves it before its next request: make {} writable by the database server (disk space, permissions). If every session holding it ends first, the next one sends the spent token: authorize again and store the new one with ALTER USER MAPPING FOR \"{}\" SERVER {} OPTIONS (SET refresh_token '...')",
            store.dir.display(),
            cfg.role,
            cfg.server_name
        ),
    }
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
        return Err(token_error(endpoint, cfg, &shown, &resp, refresh));
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
        refresh: doc.get("refresh_token").and_then(Value::as_str).filter(|r| !r.is_empty()).map(str::to_string),
        unsaved: false,
    })
}

fn keys(doc: &Value) -> String {
    match doc {
        Value::Object(m) => m.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => "none".into(),
    }
}

/// A refused token request: the provider's reason (RFC 6749 `error_description`/`error`, or HubSpot's
/// `message`), and what to change in the user mapping. `refresh` is the refresh token sent, which may be a
/// rotated one the user mapping does not hold (so `endpoint.redact` does not know it).
fn token_error(
    endpoint: &Endpoint,
    cfg: &OAuthConfig,
    shown: &str,
    resp: &HttpResponse,
    refresh: Option<&str>,
) -> TetherError {
    let redact = |text: &str| {
        let mut out = endpoint.redact(text);
        if let Some(r) = refresh.filter(|r| r.len() >= 4) {
            for s in [r.to_string(), template::encode_query(r)] {
                out = out.replace(&s, "[redacted]");
            }
        }
        out
    };
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
    let rotated = refresh.is_some() && refresh != cfg.refresh_token.as_deref();
    let hint = match cfg.grant() {
        "refresh_token" if rotated => format!(
            "the refresh token sent was the one the provider last rotated to (kept by tether), and it may be expired or revoked: authorize again and store the new one with {mapping} (SET refresh_token '...')"
        ),
        "refresh_token" => format!(
            "the refresh token may be expired or revoked, or belong to another client_id: authorize again and store the new one with {mapping} (SET refresh_token '...')"
        ),
        _ => format!("check client_id, client_secret and scope: {mapping} (SET client_secret '...')"),
    };
    let body = redact(String::from_utf8_lossy(&resp.body).trim());
    TetherError::Provider {
        connector: endpoint.connector.clone(),
        // A refused grant is an authorization failure (SQLSTATE 28000), whatever status carried it.
        status: if resp.status == 429 || resp.status >= 500 { resp.status } else { 401 },
        message: redact(&message),
        detail: format!("HTTP {} from {shown}: {body}", resp.status),
        hint: Some(hint),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::TcpListener;
    use std::path::Path;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Barrier};

    use super::*;
    use crate::connector::model::Connector;
    use crate::connector::options::Options;
    use crate::connector::server::resolve_server;
    use crate::http::credentials::ALICE;
    use crate::http::retry::{execute, Call};
    use crate::http::testing::{ok, scripted};
    use crate::http::{test_defaults, Credentials};

    fn opts(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// An endpoint of a connector using oauth2 against `token_url`; `instance` makes the connector read
    /// the instance URL from the token response.
    fn endpoint(base_url: &str, token_url: &str, mapping: &[(&str, &str)], instance: bool) -> Endpoint {
        endpoint_with(base_url, token_url, mapping, instance, ALICE, None)
    }

    /// An endpoint of `identity`'s user mapping, keeping rotated refresh tokens in `store`.
    fn endpoint_with(
        base_url: &str,
        token_url: &str,
        mapping: &[(&str, &str)],
        instance: bool,
        identity: MappingIdentity,
        store: Option<&Path>,
    ) -> Endpoint {
        let mut auth = serde_json::json!({"scheme": "oauth2", "token_url": token_url});
        if instance {
            auth["instance_url"] = "/instance_url".into();
        }
        let doc = serde_json::json!({"name": "sf", "base_url": base_url, "auth": auth, "objects": {"o": {"list": {"path": "/o"}}}});
        let connector = Arc::new(Connector::from_json(&doc.to_string()).unwrap());
        let server = resolve_server(&opts(&[("connector", "sf")]), move |_| Ok(connector.clone())).unwrap();
        let role = if identity == ALICE { "alice" } else { "bob" };
        let creds = Credentials::new(&server, "sf", role, identity, Some(&opts(mapping)), store.map(Path::to_path_buf))
            .unwrap();
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
        let e =
            Credentials::new(&server, "sf", "alice", ALICE, Some(&opts(&[("refresh_token", "r")])), None).unwrap_err();
        assert!(e.to_string().contains("has no option client_id"), "{e}");
        let e = Credentials::new(&server, "sf", "alice", ALICE, Some(&opts(&[("client_id", "c")])), None).unwrap_err();
        assert!(e.to_string().contains("has no option refresh_token"), "{e}");
    }

    const BOB: MappingIdentity = MappingIdentity { server: 16_500, role: 16_385, mapping_role: 16_385 };

    fn config(e: &Endpoint) -> OAuthConfig {
        e.credentials.oauth.clone().unwrap()
    }

    fn refused(status: u16, body: &str) -> String {
        format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    }

    /// A fresh directory (removed when dropped); stores go in `<it>/pg_tether/oauth`, created by Tether.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("tether-oauth-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn store(&self) -> PathBuf {
            self.0.join("pg_tether").join("oauth")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A token endpoint that rotates like a strict provider: a refresh answers `at-<n>` with a new refresh
    /// token `rt-rot-<n>` and revokes the one used, which is refused (invalid_grant) from then on. Each answer
    /// comes after `delay`. Returns the token URL and the refresh tokens sent, in order.
    fn rotating_provider(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        std::thread::spawn(move || {
            let mut revoked = HashSet::new();
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { return };
                let (_, body) = crate::http::testing::read_request(&conn);
                let body = String::from_utf8_lossy(&body).into_owned();
                let rt = body.split('&').find_map(|p| p.strip_prefix("refresh_token=")).unwrap_or("").to_string();
                log.lock().unwrap().push(rt.clone());
                std::thread::sleep(delay);
                let answer = if revoked.insert(rt) {
                    let n = n + 1;
                    ok(&format!(
                        r#"{{"access_token": "at-{n}", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-rot-{n}"}}"#
                    ))
                } else {
                    refused(
                        400,
                        r#"{"error":"invalid_grant","error_description":"refresh token is invalid, expired or revoked"}"#,
                    )
                };
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        (url, sent)
    }

    #[test]
    fn a_wrong_client_secret_never_rides_on_a_cached_token() {
        let invalid_client =
            refused(401, r#"{"error":"invalid_client","error_description":"client authentication failed"}"#);
        let (tok, tok_seen) =
            scripted(&[&token("at-right", r#", "expires_in": 3600"#), &invalid_client, &invalid_client]);
        let right = &[("client_id", "cid"), ("client_secret", "right-secret")];
        let wrong = &[("client_id", "cid"), ("client_secret", "wrong-secret")];
        let e = endpoint("http://127.0.0.1:1", &tok, right, false);
        assert_eq!(access(&e, &config(&e)).unwrap().access, "at-right");
        // The same role with another secret, then another role: each asks the token endpoint, and is refused.
        for (identity, role) in [(ALICE, "alice"), (BOB, "bob")] {
            let e = endpoint_with("http://127.0.0.1:1", &tok, wrong, false, identity, None);
            let err = access(&e, &config(&e)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "[sf] OAuth2 token request failed: the client credentials were refused: client authentication failed (invalid_client)"
            );
            assert_eq!(err.sqlstate().code(), "28000");
            assert!(err.hint().unwrap().contains(&format!(r#"FOR "{role}" SERVER sf"#)), "{:?}", err.hint());
            assert_eq!(current_access(&config(&e)), None);
        }
        let seen = tok_seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "every credential went to the token endpoint");
        assert!(seen[1].ends_with("client_secret=wrong-secret") && seen[2].ends_with("client_secret=wrong-secret"));
        // The right one is still cached.
        assert_eq!(access(&e, &config(&e)).unwrap().access, "at-right");
    }

    #[test]
    fn two_roles_with_identical_options_get_their_own_tokens() {
        let (tok, tok_seen) =
            scripted(&[&token("at-alice", r#", "expires_in": 3600"#), &token("at-bob", r#", "expires_in": 3600"#)]);
        let mapping = &[("client_id", "cid"), ("client_secret", "csecret"), ("scope", "crm.read")];
        let alice = config(&endpoint_with("http://127.0.0.1:1", &tok, mapping, false, ALICE, None));
        let e_bob = endpoint_with("http://127.0.0.1:1", &tok, mapping, false, BOB, None);
        let bob = config(&e_bob);
        let e_alice = endpoint("http://127.0.0.1:1", &tok, mapping, false);
        assert_eq!(access(&e_alice, &alice).unwrap().access, "at-alice");
        assert_eq!(access(&e_bob, &bob).unwrap().access, "at-bob");
        assert_eq!(tok_seen.lock().unwrap().len(), 2);
        let key = alice.cache_key();
        assert!(key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()), "a digest: {key}");
        assert_ne!(key, bob.cache_key());
        // Invalidating one role's token leaves the other's.
        invalidate(&alice);
        assert_eq!(current_access(&alice), None);
        assert_eq!(current_access(&bob).as_deref(), Some("at-bob"));
        // A PUBLIC mapping used by two roles: still a token each.
        let public = |role| MappingIdentity { server: 16_500, role, mapping_role: 0 };
        let cfg = |identity| OAuthConfig { identity, ..alice.clone() };
        assert_ne!(cfg(public(1)).cache_key(), cfg(public(2)).cache_key());
        assert_ne!(cfg(public(1)).cache_key(), cfg(ALICE).cache_key());
    }

    #[test]
    fn rotated_refresh_tokens_are_stored_for_the_next_backend() {
        let dir = TempDir::new("rotation");
        let (tok, sent) = rotating_provider(Duration::ZERO);
        let e = endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store()));
        let cfg = config(&e);
        let first = TokenCache::default();
        assert_eq!(access_in(&first, &e, &cfg).unwrap().access, "at-1");
        // The store: 0700 directories, one 0600 file named by a digest, holding the new refresh token.
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.0.join("pg_tether")), 0o700);
        assert_eq!(mode(&dir.store()), 0o700);
        let store = cfg.store().unwrap();
        assert!(store.name.len() == 64 && store.name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(mode(&store.path("")), 0o600);
        assert_eq!(mode(&store.path(".lock")), 0o600);
        let record: Value = serde_json::from_slice(&fs::read(store.path("")).unwrap()).unwrap();
        assert_eq!(record["refresh_token"], "rt-rot-1");
        assert_eq!(record["server_oid"], 16_500);
        assert!(record["stored_at"].as_u64().is_some_and(|t| t > 1_700_000_000));
        let mut names: Vec<String> =
            fs::read_dir(dir.store()).unwrap().map(|f| f.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, vec![store.name.clone(), format!("{}.lock", store.name)]);
        // A new backend (an empty cache) sends the stored token, and stores the next one.
        let second = TokenCache::default();
        assert_eq!(access_in(&second, &e, &cfg).unwrap().access, "at-2");
        assert_eq!(store.read().unwrap().as_deref(), Some("rt-rot-2"));
        // The first backend's access token is still good; when it expires it too reads the store.
        assert_eq!(access_in(&first, &e, &cfg).unwrap().access, "at-1");
        first.entries().clear();
        assert_eq!(access_in(&first, &e, &cfg).unwrap().access, "at-3");
        assert_eq!(*sent.lock().unwrap(), vec!["rt-1", "rt-rot-1", "rt-rot-2"]);
    }

    #[test]
    fn a_new_refresh_token_in_the_mapping_wins_over_the_stored_one() {
        let dir = TempDir::new("changed");
        let (tok, sent) = rotating_provider(Duration::ZERO);
        let e = endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store()));
        access_in(&TokenCache::default(), &e, &config(&e)).unwrap();
        // ALTER USER MAPPING ... SET refresh_token: the new one is used, not the rotation of the old one.
        let changed = &[("client_id", "cid"), ("client_secret", "csecret"), ("refresh_token", "rt-reauthorized")];
        let e2 = endpoint_with("http://127.0.0.1:1", &tok, changed, false, ALICE, Some(&dir.store()));
        assert_eq!(access_in(&TokenCache::default(), &e2, &config(&e2)).unwrap().access, "at-2");
        // Roles using one PUBLIC mapping share its rotations (the token belongs to the mapping).
        let public = |role| MappingIdentity { server: 16_500, role, mapping_role: 0 };
        let shared = &[("client_id", "cid"), ("client_secret", "csecret"), ("refresh_token", "rt-public")];
        for role in [20_001, 20_002] {
            let e = endpoint_with("http://127.0.0.1:1", &tok, shared, false, public(role), Some(&dir.store()));
            access_in(&TokenCache::default(), &e, &config(&e)).unwrap();
        }
        assert_eq!(*sent.lock().unwrap(), vec!["rt-1", "rt-reauthorized", "rt-public", "rt-rot-3"]);
    }

    #[test]
    fn concurrent_backends_spend_each_refresh_token_once() {
        let dir = TempDir::new("concurrent");
        let (tok, sent) = rotating_provider(Duration::from_millis(150));
        let e = Arc::new(endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store())));
        let barrier = Arc::new(Barrier::new(2));
        let backends: Vec<_> = (0..2)
            .map(|_| {
                let (e, barrier) = (e.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let cache = TokenCache::default();
                    barrier.wait();
                    access_in(&cache, &e, &config(&e)).map(|t| t.access)
                })
            })
            .collect();
        let mut got: Vec<String> = backends.into_iter().map(|b| b.join().unwrap().unwrap()).collect();
        got.sort();
        assert_eq!(got, vec!["at-1", "at-2"]);
        assert_eq!(*sent.lock().unwrap(), vec!["rt-1", "rt-rot-1"], "the second waited for the first's rotation");
        assert_eq!(config(&e).store().unwrap().read().unwrap().as_deref(), Some("rt-rot-2"));
    }

    #[test]
    fn a_rotated_token_that_cannot_be_saved_is_kept_and_reported() {
        let dir = TempDir::new("unsaved");
        let (tok, sent) = rotating_provider(Duration::ZERO);
        let e = endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store()));
        let cfg = config(&e);
        let store = cfg.store().unwrap();
        // A directory where the next version is written: the write fails.
        fs::create_dir_all(store.path(".tmp")).unwrap();
        let cache = TokenCache::default();
        for _ in 0..2 {
            let err = access_in(&cache, &e, &cfg).unwrap_err();
            assert_eq!(err.sqlstate().code(), "08007");
            let text = format!("{err} {:?} {:?}", err.detail(), err.hint());
            assert!(
                err.to_string().starts_with(r#"[sf] the OAuth2 provider rotated the refresh token of the user mapping for role "alice" on server "sf", and the new one could not be saved: "#),
                "{err}"
            );
            assert!(err.hint().unwrap().contains("this session keeps the new refresh token"), "{text}");
            for secret in ["rt-rot-1", "csecret", "at-1", "rt-1\""] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert_eq!(sent.lock().unwrap().len(), 1, "the kept token is saved again, not refreshed");
        // Once the store works the pending token is saved and the cached access token used.
        fs::remove_dir(store.path(".tmp")).unwrap();
        assert_eq!(access_in(&cache, &e, &cfg).unwrap().access, "at-1");
        assert_eq!(store.read().unwrap().as_deref(), Some("rt-rot-1"));
        assert_eq!(sent.lock().unwrap().len(), 1);
        assert_eq!(access_in(&TokenCache::default(), &e, &cfg).unwrap().access, "at-2");
        assert_eq!(*sent.lock().unwrap(), vec!["rt-1", "rt-rot-1"]);
    }

    #[test]
    fn an_unusable_store_is_a_clear_error_before_any_request() {
        let dir = TempDir::new("unusable");
        let (tok, sent) = rotating_provider(Duration::ZERO);
        // Not a directory.
        fs::write(dir.0.join("file"), "x").unwrap();
        let e =
            endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.0.join("file").join("oauth")));
        let err = access_in(&TokenCache::default(), &e, &config(&e)).unwrap_err();
        assert!(
            err.to_string().starts_with(r#"[sf] could not open the stored OAuth2 refresh token of the user mapping for role "alice" on server "sf" ("#),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("must be writable by the database server"), "{:?}", err.hint());
        // A damaged file: reported without its contents.
        let e = endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store()));
        let store = config(&e).store().unwrap();
        fs::create_dir_all(dir.store()).unwrap();
        fs::write(store.path(""), "rt-garbled-token").unwrap();
        let err = access_in(&TokenCache::default(), &e, &config(&e)).unwrap_err();
        assert!(err.to_string().contains("could not read the stored OAuth2 refresh token"), "{err}");
        assert!(err.to_string().ends_with("the file is damaged (no refresh_token in it)"), "{err}");
        assert!(!err.to_string().contains("garbled"));
        assert!(sent.lock().unwrap().is_empty(), "nothing was sent");
    }

    #[test]
    fn a_refused_stored_token_says_so_and_is_redacted() {
        let dir = TempDir::new("refused");
        // The provider echoes the token it refuses.
        let body = r#"{"error":"invalid_grant","error_description":"refresh token rt-stored-elsewhere was revoked"}"#;
        let (tok, seen) = scripted(&[&refused(400, body)]);
        let e = endpoint_with("http://127.0.0.1:1", &tok, MAPPING, false, ALICE, Some(&dir.store()));
        fs::create_dir_all(dir.store()).unwrap();
        config(&e).store().unwrap().write("rt-stored-elsewhere").unwrap();
        let err = access_in(&TokenCache::default(), &e, &config(&e)).unwrap_err();
        assert!(seen.lock().unwrap()[0].contains("refresh_token=rt-stored-elsewhere"));
        let text = format!("{err} {:?}", err.detail());
        assert!(!text.contains("rt-stored-elsewhere") && text.contains("[redacted]"), "{text}");
        assert!(err.hint().unwrap().starts_with("the refresh token sent was the one the provider last rotated to"));
    }
}
