//! A server's options resolved against its connector: `ServerDef` (base URL, auth, timeouts, retries,
//! rate limit, the connector's own options filling its placeholders), and the check of a webhook
//! secret against the connector's signature scheme.

use std::sync::Arc;
use std::time::Duration;

use crate::connector::model::{AuthScheme, Connector, RateLimitDef};
use crate::connector::options::*;
use crate::connector::template::{self, Encode};
use crate::error::TetherError;

/// What a server resolves to: its connector and how to reach and authenticate with the API.
#[derive(Debug, Clone)]
pub struct ServerDef {
    pub connector: Arc<Connector>,
    pub base_url: String,
    pub auth: AuthScheme,
    pub api_key_header: String,
    pub api_key_param: String,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub max_retries: Option<u32>,
    pub max_retry_wait: Option<Duration>,
    pub batch_size: Option<u64>,
    /// Creates in flight at once (option `concurrency`), for the tables that set none.
    pub concurrency: Option<u64>,
    pub idempotency_header: Option<String>,
    /// OAuth2 token endpoint (auth 'oauth2').
    pub token_url: Option<String>,
    pub rate_limit: Option<RateLimitDef>,
    /// `rate_limit 'none'`: no pacing at all, search endpoints' own limits included.
    pub pacing_off: bool,
    /// The webhook_url option.
    pub webhook_url: Option<String>,
    /// Hosts (`host` or `host:port`, lower case) besides the base URL's that `tether.request` may call.
    pub allowed_hosts: Vec<String>,
    pub options: Options,
}

impl ServerDef {
    /// The URL of the connector's discovery endpoint (IMPORT FOREIGN SCHEMA), if it has one.
    pub fn discover_url(&self) -> Result<Option<String>, TetherError> {
        let Some(d) = &self.connector.discover else { return Ok(None) };
        let path = template::render(&d.path, "path", |name| {
            self.options
                .get(name)
                .cloned()
                .or_else(|| self.connector.server_options.get(name).and_then(|o| o.default.clone()))
                .map(|v| (v, Encode::Segment))
        })?;
        Ok(Some(format!("{}{path}", self.base_url)))
    }
}

/// Validate server options and resolve the server. `find` looks a connector up by name.
pub fn resolve_server(
    opts: &Options,
    find: impl Fn(&str) -> Result<Arc<Connector>, TetherError>,
) -> Result<ServerDef, TetherError> {
    let connector_name = opts.get("connector").ok_or_else(|| {
        TetherError::missing_option(
            "a tether server needs the option connector",
            Some("for example: CREATE SERVER s FOREIGN DATA WRAPPER tether OPTIONS (connector 'hubspot')".into()),
        )
    })?;
    let connector = find(connector_name)?;
    let mut accepted = names(SERVER_OPTIONS);
    accepted.extend(connector.server_options.keys().map(|k| k.as_str()));
    // A server from before webhook_secret moved to the owner's user mapping still works; the webhook
    // receiver ignores the old option (and says so in the log), and CREATE/ALTER SERVER refuse it.
    let mut checked = opts.clone();
    checked.remove("webhook_secret");
    check_names(&checked, &accepted, &format!("a server of connector \"{}\"", connector.name))?;
    for (name, def) in &connector.server_options {
        if def.required && def.default.is_none() && !opts.contains_key(name) {
            return Err(TetherError::missing_option(
                format!("connector \"{}\" needs the server option {name}: {}", connector.name, def.description),
                None,
            ));
        }
    }
    let auth = match opts.get("auth") {
        Some(v) => AuthScheme::parse(v).ok_or_else(|| {
            TetherError::option(
                format!("invalid value for option auth: \"{v}\"; accepted: {}", AuthScheme::ALL.join(", ")),
                None,
            )
        })?,
        None => connector.auth.scheme,
    };
    let lookup = |name: &str| -> Option<(String, Encode)> {
        opts.get(name)
            .cloned()
            .or_else(|| connector.server_options.get(name).and_then(|d| d.default.clone()))
            .map(|v| (v, Encode::Segment))
    };
    let base_url = match opts.get("base_url") {
        Some(url) => template::render(url, "base_url", lookup)?,
        None => match &connector.base_url {
            Some(url) => template::render(url, "base_url", lookup)?,
            None => {
                return Err(TetherError::missing_option(
                    format!("connector \"{}\" has no default base URL; set the server option base_url", connector.name),
                    Some("for example: OPTIONS (connector 'rest', base_url 'https://api.example.com')".into()),
                ))
            }
        },
    };
    let base_url = base_url.trim_end_matches('/').to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
        || template::split_origin(&base_url).is_none()
    {
        return Err(TetherError::option(
            format!("invalid value for option base_url: \"{base_url}\"; expected an http:// or https:// URL"),
            None,
        ));
    }
    if base_url.contains('?') || base_url.contains('#') {
        return Err(TetherError::option(
            format!(
                "invalid value for option base_url: \"{base_url}\"; it must not contain a query string or fragment"
            ),
            Some("put static query parameters in the table option query".into()),
        ));
    }
    let connect_timeout = opts.get("connect_timeout").map(|v| parse_duration(v, "connect_timeout")).transpose()?;
    let read_timeout = opts.get("read_timeout").map(|v| parse_duration(v, "read_timeout")).transpose()?;
    let max_retries = opts
        .get("max_retries")
        .map(|v| match v.trim().parse::<u32>() {
            Ok(n) if n <= 20 => Ok(n),
            _ => Err(TetherError::option(
                format!("invalid value for option max_retries: \"{v}\"; expected an integer from 0 to 20"),
                None,
            )),
        })
        .transpose()?;
    let max_retry_wait = opts.get("max_retry_wait").map(|v| parse_duration(v, "max_retry_wait")).transpose()?;
    let batch_size = opts.get("batch_size").map(|v| parse_positive(v, "batch_size")).transpose()?;
    let concurrency = opts.get("concurrency").map(|v| crate::connector::options::parse_concurrency(v)).transpose()?;
    let idempotency_header = match opts.get("idempotency_header") {
        Some(h) if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            return Err(TetherError::option(
                format!("invalid value for option idempotency_header: \"{h}\"; expected a header name such as 'Idempotency-Key'"),
                None,
            ))
        }
        Some(h) => Some(h.clone()),
        None => connector.idempotency_header.clone(),
    };
    let token_url = match opts.get("token_url").or(connector.auth.token_url.as_ref()) {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            return Err(TetherError::option(
                format!("invalid value for option token_url: \"{u}\"; expected an http:// or https:// URL"),
                None,
            ))
        }
        other => other.cloned(),
    };
    if auth == AuthScheme::OAuth2 && token_url.is_none() {
        return Err(TetherError::missing_option(
            format!(
                "auth 'oauth2' needs a token endpoint; connector \"{}\" has none, so set the server option token_url",
                connector.name
            ),
            None,
        ));
    }
    let pacing_off = opts.get("rate_limit").is_some_and(|v| v.trim() == "none");
    let rate_limit = match opts.get("rate_limit").map(|v| v.trim()) {
        Some("none") => None,
        Some(v) => Some(RateLimitDef::parse(v).ok_or_else(|| {
            TetherError::option(
                format!("invalid value for option rate_limit: \"{v}\"; expected requests per time such as '5/s' or '100/min', or 'none'"),
                None,
            )
        })?),
        None => connector.rate_limit,
    };
    let webhook_url = match opts.get("webhook_url") {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) || template::split_origin(u).is_none() => {
            return Err(TetherError::option(
                format!("invalid value for option webhook_url: \"{u}\"; expected the full http:// or https:// URL the provider calls"),
                None,
            ))
        }
        other => other.cloned(),
    };
    let allowed_hosts = match opts.get("allowed_hosts") {
        Some(v) => parse_hosts(v)?,
        None => Vec::new(),
    };
    Ok(ServerDef {
        allowed_hosts,
        token_url,
        rate_limit,
        pacing_off,
        webhook_url,
        api_key_header: opts
            .get("api_key_header")
            .cloned()
            .or_else(|| connector.auth.header.clone())
            .unwrap_or_else(|| "X-API-Key".into()),
        api_key_param: opts
            .get("api_key_param")
            .cloned()
            .or_else(|| connector.auth.param.clone())
            .unwrap_or_else(|| "api_key".into()),
        connector,
        base_url,
        auth,
        connect_timeout,
        read_timeout,
        max_retries,
        max_retry_wait,
        batch_size,
        concurrency,
        idempotency_header,
        options: opts.clone(),
    })
}

/// A webhook secret (from the server owner's user mapping) checked against the server's connector: it
/// receives webhooks, and the secret has the form its signature scheme needs.
pub fn check_webhook_secret(server: &ServerDef, secret: &str) -> Result<(), TetherError> {
    let Some(hooks) = &server.connector.webhooks else {
        return Err(TetherError::option(
            format!(
                "connector \"{}\" does not receive webhooks, so the option webhook_secret does not apply",
                server.connector.name
            ),
            Some("connectors with webhooks: see the webhooks section of docs/mirrors.md".into()),
        ));
    };
    hooks
        .signature
        .check_secret(secret)
        .map_err(|m| TetherError::option(format!("invalid value for option webhook_secret: {m}"), None))
}

/// Values for `{placeholders}` in a connector's paths from a server: its options, else their defaults.
pub fn server_placeholders(server: &ServerDef) -> Options {
    let mut placeholders = server.options.clone();
    for (name, def) in &server.connector.server_options {
        if let Some(d) = &def.default {
            placeholders.entry(name.clone()).or_insert_with(|| d.clone());
        }
    }
    placeholders
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connector::testing::*;

    #[test]
    fn server_needs_a_known_connector() {
        assert!(server(&[]).unwrap_err().to_string().contains("needs the option connector"));
        let e = server(&[("connector", "nope")]).unwrap_err().to_string();
        assert!(
            e.contains("available connectors: airtable, bigcommerce, hubspot, rest, salesforce, shopify, stripe"),
            "{e}"
        );
    }

    #[test]
    fn unknown_server_option_lists_accepted_and_suggests() {
        let e = server(&[("connector", "hubspot"), ("base_ulr", "http://x")]).unwrap_err();
        assert!(e.to_string().contains("accepted options: connector, base_url"), "{e}");
        assert_eq!(e.hint(), Some("did you mean \"base_url\"?"));
    }

    #[test]
    fn rest_needs_base_url_and_hubspot_has_one() {
        let e = server(&[("connector", "rest")]).unwrap_err().to_string();
        assert!(e.contains("set the server option base_url"), "{e}");
        assert_eq!(server(&[("connector", "hubspot")]).unwrap().base_url, "https://api.hubapi.com");
        let s = server(&[("connector", "hubspot"), ("base_url", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(s.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn bad_server_values_are_refused() {
        assert!(server(&[("connector", "rest"), ("base_url", "ftp://x")]).is_err());
        assert!(server(&[("connector", "rest"), ("base_url", "http://x?a=1")]).is_err());
        let e = server(&[("connector", "hubspot"), ("auth", "oauth3")]).unwrap_err().to_string();
        assert!(e.contains("accepted: none, bearer"), "{e}");
        let e = server(&[("connector", "hubspot"), ("read_timeout", "soon")]).unwrap_err().to_string();
        assert!(e.contains("'500ms'"), "{e}");
        let s = server(&[("connector", "hubspot"), ("read_timeout", "2s"), ("connect_timeout", "250")]).unwrap();
        assert_eq!(s.read_timeout, Some(Duration::from_secs(2)));
        assert_eq!(s.connect_timeout, Some(Duration::from_millis(250)));
    }

    #[test]
    fn webhook_options_are_checked_against_the_connector() {
        let find = |name: &str| crate::connector::find(name);
        let e = refuse_moved_server_options(&o(&[("connector", "hubspot"), ("webhook_secret", "s")])).unwrap_err();
        assert!(e.to_string().contains("webhook_secret is no longer a server option"), "{e}");
        assert!(e.hint().unwrap().contains("ALTER USER MAPPING FOR CURRENT_USER SERVER"), "{e:?}");
        assert!(refuse_moved_server_options(&o(&[("connector", "hubspot")])).is_ok());
        let hubspot = resolve_server(&o(&[("connector", "hubspot"), ("webhook_secret", "s")]), find)
            .expect("a server from before the move still resolves");
        assert!(check_webhook_secret(&hubspot, "s").is_ok());
        let sf = resolve_server(&o(&[("connector", "salesforce")]), find).unwrap();
        let e = check_webhook_secret(&sf, "s").unwrap_err();
        assert!(e.to_string().contains("connector \"salesforce\" does not receive webhooks"), "{e}");
        let bc = resolve_server(&o(&[("connector", "bigcommerce"), ("store_hash", "h")]), find).unwrap();
        let e = check_webhook_secret(&bc, "plain").unwrap_err();
        assert!(e.to_string().contains("whsec_<base64>"), "{e}");
        assert!(check_webhook_secret(&bc, "whsec_c2VjcmV0").is_ok());
        let e =
            resolve_server(&o(&[("connector", "hubspot"), ("webhook_url", "hooks.example.com")]), find).unwrap_err();
        assert!(e.to_string().contains("invalid value for option webhook_url"), "{e}");
    }
}
