//! From options to a `TableDef`: which options each catalog object accepts, their validation (errors list
//! what is accepted), and how table options tune a connector's object. Plain Rust; `fdw::options` reads
//! the catalogs and calls in here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::connector::model::{
    AuthScheme, BodyEncoding, ColumnDef, Connector, FilterDef, FilterOp, LanguageDef, ObjectDef, PageSizeDef,
    PaginationDef, RateLimitDef, WriteDef,
};
use crate::connector::pointer::Pointer;
use crate::connector::record;
use crate::connector::request::{self, Condition, ParamValue, Request, ValueKind, Via};
use crate::connector::template::{self, Encode};
use crate::error::TetherError;

pub type Options = BTreeMap<String, String>;

/// How a listing is fetched: its first request, how to page, where its records are, and (for
/// searches) the pointer to the reported total and the most records the endpoint can return.
#[derive(Debug, Clone)]
pub struct ListFetch {
    pub first: Request,
    pub pagination: PaginationDef,
    pub records: String,
    pub total_check: Option<(String, u64)>,
    /// The endpoint's own rate limit (a search endpoint's), on top of the server's.
    pub rate_limit: Option<RateLimitDef>,
    /// How a request body is sent (a search's JSON; `tether.request_pages` uses the connector's).
    pub encoding: BodyEncoding,
}

/// The page size for a definition: an override (table option), capped by max and by a LIMIT hint,
/// and at least min.
fn sized(ps: &PageSizeDef, override_: Option<u64>, limit: Option<u64>) -> u64 {
    let mut size = override_.unwrap_or(ps.default);
    if let Some(max) = ps.max {
        size = size.min(max);
    }
    if let Some(limit) = limit {
        size = size.min(limit.max(1));
    }
    if let Some(min) = ps.min {
        size = size.max(min);
    }
    size
}

/// Whether a provider can evaluate `op` on `kind` values the way Postgres does (or more loosely, for
/// equality: a looser match only returns rows Postgres then drops).
fn comparable(op: FilterOp, kind: ValueKind) -> bool {
    match kind {
        ValueKind::Text | ValueKind::Bool | ValueKind::Placeholder => matches!(op, FilterOp::Eq | FilterOp::In),
        ValueKind::Number | ValueKind::Date | ValueKind::Timestamp => true,
    }
}

/// Longest list URL Tether sends; providers refuse much longer ones (Salesforce and Airtable: 16 kB).
const MAX_URL_BYTES: usize = 15_000;

/// The key of an operator in a search definition's `ops`.
pub fn op_key(op: FilterOp) -> &'static str {
    match op {
        FilterOp::Eq => "eq",
        FilterOp::In => "in",
        FilterOp::Lt => "lt",
        FilterOp::Le => "le",
        FilterOp::Gt => "gt",
        FilterOp::Ge => "ge",
    }
}

/// A write request ready to send (credentials are added by the HTTP engine).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub method: String,
    pub url: String,
    pub body: Option<Value>,
    pub encoding: BodyEncoding,
}

impl WriteRequest {
    /// The body as bytes, with its content type.
    pub fn encoded_body(&self) -> Option<(Vec<u8>, &'static str)> {
        self.body.as_ref().map(|b| request::encode_body(b, self.encoding))
    }
}

/// Server options every connector accepts, with what they do (shown in errors and docs).
pub const SERVER_OPTIONS: &[(&str, &str)] = &[
    ("connector", "the connector to use, e.g. 'hubspot' or 'rest' (required)"),
    ("base_url", "overrides the connector's base URL"),
    ("auth", "overrides the connector's auth scheme: none, bearer, basic, api_key_header, api_key_query, oauth2"),
    ("api_key_header", "header carrying api_key for auth 'api_key_header' (default X-API-Key)"),
    ("api_key_param", "query parameter carrying api_key for auth 'api_key_query' (default api_key)"),
    ("connect_timeout", "time to establish a connection, e.g. '5s' or '500ms' (default: tether.connect_timeout)"),
    ("read_timeout", "longest wait for data from the provider, e.g. '30s' (default: tether.read_timeout)"),
    (
        "max_retries",
        "retries of a failed request (429, 5xx, connection errors), e.g. '3' (default: tether.max_retries)",
    ),
    (
        "max_retry_wait",
        "longest wait before a retry, honouring Retry-After, e.g. '30s' (default: tether.max_retry_wait)",
    ),
    ("batch_size", "rows per batch create request, up to the connector's maximum (default: that maximum)"),
    ("idempotency_header", "header that makes a POST idempotent, e.g. 'Idempotency-Key' (creates are then retried)"),
    ("token_url", "OAuth2 token endpoint (auth 'oauth2'), overriding the connector's, e.g. a sandbox login host"),
    ("rate_limit", "requests allowed per second or minute, e.g. '5/s' or '100/min'; 'none' turns pacing off"),
    (
        "webhook_url",
        "the public URL the provider calls for this server's webhooks, when a proxy forwards them (HubSpot signs it)",
    ),
    (
        "allowed_hosts",
        "hosts besides base_url's that tether.request may call with an absolute URL (comma-separated; they receive the credentials)",
    ),
];

pub const USER_MAPPING_OPTIONS: &[(&str, &str)] = &[
    ("token", "bearer token (auth 'bearer')"),
    ("user", "user name (auth 'basic')"),
    ("password", "password (auth 'basic')"),
    ("api_key", "API key (auth 'api_key_header' or 'api_key_query')"),
    ("client_id", "OAuth2 client id (auth 'oauth2')"),
    ("client_secret", "OAuth2 client secret (auth 'oauth2')"),
    ("refresh_token", "OAuth2 refresh token (auth 'oauth2'; without it the client_credentials grant is used)"),
    ("scope", "OAuth2 scopes for the client_credentials grant (auth 'oauth2')"),
    (
        "webhook_secret",
        "the secret the provider signs its webhooks with; read from the server owner's mapping only, enables POST /webhooks/<server>",
    ),
];

/// A server option that moved to a place other roles cannot read: server options are readable by every
/// role (pg_foreign_server), so a secret there is no secret. Refused when a server is created or
/// altered, with where it goes now.
pub fn refuse_moved_server_options(opts: &Options) -> Result<(), TetherError> {
    if opts.contains_key("webhook_secret") {
        return Err(TetherError::unknown_option(
            "webhook_secret is no longer a server option: every role can read server options, so it would let anyone sign webhooks",
            Some("store it in the user mapping of the server's owner, which only that role can read: as the owner, CREATE USER MAPPING FOR CURRENT_USER SERVER <server> OPTIONS (webhook_secret '...'), or ALTER USER MAPPING FOR CURRENT_USER SERVER <server> OPTIONS (ADD webhook_secret '...')".into()),
        ));
    }
    Ok(())
}

pub const TABLE_OPTIONS: &[(&str, &str)] = &[
    ("object", "the connector's object, e.g. 'contacts'"),
    ("path", "resource path below the base URL, e.g. '/customers' (generic REST tables)"),
    ("records", "JSON pointer to the records in a list response, e.g. '/data' ('' for the body itself)"),
    ("id_column", "column holding the record id (default id)"),
    ("pagination", "none, cursor, next_url, link_header, offset, page or last_id"),
    ("cursor_pointer", "JSON pointer to the next-page cursor (pagination 'cursor')"),
    ("cursor_param", "query parameter that sends the cursor back (pagination 'cursor')"),
    ("next_url_pointer", "JSON pointer to the next page URL (pagination 'next_url', default /next)"),
    ("offset_param", "offset query parameter (pagination 'offset', default offset)"),
    ("page_param", "page number query parameter (pagination 'page', default page)"),
    ("first_page", "number of the first page (pagination 'page', default 1)"),
    ("total_pointer", "JSON pointer to the total record count (pagination 'offset')"),
    ("total_pages_pointer", "JSON pointer to the number of pages (pagination 'page')"),
    (
        "last_id_param",
        "query parameter taking the id of the last record seen (pagination 'last_id', default starting_after)",
    ),
    ("has_more_pointer", "JSON pointer to the more-records flag (pagination 'last_id', default /has_more)"),
    ("page_size", "records per request"),
    ("page_size_param", "query parameter carrying page_size (default limit, or per_page for 'page')"),
    ("get_path", "path of one record with {id}, e.g. '/customers/{id}' ('' disables id lookups)"),
    ("filters", "comma-separated columns the API can filter by equality as ?column=value"),
    ("query", "extra query string sent with every list request, e.g. 'status=active&sort=id'"),
    ("update_method", "PATCH (send the changed columns, default) or PUT (send every writable column)"),
    ("batch_size", "rows per batch create request, up to the connector's maximum"),
    ("read_only", "'true' refuses INSERT, UPDATE and DELETE on the table"),
];

pub const COLUMN_OPTIONS: &[(&str, &str)] = &[
    ("column_name", "name of the connector column (or provider property) this column reads"),
    ("json_pointer", "JSON pointer into the record, e.g. '/address/city'"),
    ("separator", "for text[] columns: split a delimited string value, e.g. ';'"),
    (
        "read_only",
        "'true': the provider sets this column, INSERT and UPDATE cannot write it ('false' makes the id writable)",
    ),
];

/// Refuse option names not in `accepted`, listing them (and the closest one).
pub fn check_names(given: &Options, accepted: &[&str], owner: &str) -> Result<(), TetherError> {
    for name in given.keys() {
        if !accepted.contains(&name.as_str()) {
            let hint = closest(name, accepted).map(|c| format!("did you mean \"{c}\"?"));
            return Err(TetherError::unknown_option(
                format!("unknown option \"{name}\" for {owner}; accepted options: {}", accepted.join(", ")),
                hint,
            ));
        }
    }
    Ok(())
}

fn closest<'a>(name: &str, accepted: &[&'a str]) -> Option<&'a str> {
    accepted
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = if ca == *cb { 0 } else { 1 };
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn names(list: &[(&'static str, &str)]) -> Vec<&'static str> {
    list.iter().map(|(n, _)| *n).collect()
}

/// `'10s'`, `'500ms'`, `'2min'`, or a bare number of milliseconds.
pub fn parse_duration(value: &str, option: &str) -> Result<Duration, TetherError> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad_duration(value, option))?;
    let d = match unit.trim() {
        "" | "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "min" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(bad_duration(value, option)),
    };
    if d.is_zero() {
        return Err(bad_duration(value, option));
    }
    Ok(d)
}

fn bad_duration(value: &str, option: &str) -> TetherError {
    TetherError::option(
        format!("invalid value for option {option}: \"{value}\"; expected a positive duration such as '500ms', '10s' or '2min' (a bare number is milliseconds)"),
        None,
    )
}

fn parse_positive(value: &str, option: &str) -> Result<u64, TetherError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TetherError::option(
            format!("invalid value for option {option}: \"{value}\"; expected a positive integer"),
            None,
        )),
    }
}

fn parse_pointer(value: &str, option: &str) -> Result<Pointer, TetherError> {
    Pointer::parse(value).map_err(|m| TetherError::option(format!("invalid value for option {option}: {m}"), None))
}

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

/// The option allowed_hosts: host names (with an optional port), comma-separated.
fn parse_hosts(value: &str) -> Result<Vec<String>, TetherError> {
    let mut out = Vec::new();
    for host in value.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        };
        let name_ok = !name.is_empty()
            && !name.starts_with(['.', '-'])
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if !name_ok || !port_ok {
            return Err(TetherError::option(
                format!("invalid value for option allowed_hosts: \"{host}\" is not a host name"),
                Some("list host names, optionally with a port, without scheme or path: 'files.example.com, api2.example.com:8443'".into()),
            ));
        }
        out.push(host.to_ascii_lowercase());
    }
    if out.is_empty() {
        return Err(TetherError::option(
            "invalid value for option allowed_hosts: it lists no host",
            Some("list host names such as 'files.example.com', or drop the option".into()),
        ));
    }
    Ok(out)
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

pub fn validate_user_mapping_options(opts: &Options) -> Result<(), TetherError> {
    check_names(opts, &names(USER_MAPPING_OPTIONS), "a tether user mapping")
}

/// Checks that need no server: option names and value syntax. Run by the validator.
/// Check a foreign table's options. `connector_options` are the table options connectors declare
/// (one connector's when the server is known, every connector's in the validator).
pub fn validate_table_options(opts: &Options, connector_options: &[&str]) -> Result<(), TetherError> {
    let mut accepted = names(TABLE_OPTIONS);
    accepted.extend(connector_options.iter().copied());
    check_names(opts, &accepted, "a tether foreign table")?;
    if !opts.contains_key("object")
        && !opts.contains_key("path")
        && !connector_options.iter().any(|o| opts.contains_key(*o))
    {
        let mut ways = vec!["object".to_string(), "path (for a generic REST resource)".to_string()];
        ways.extend(connector_options.iter().map(|o| format!("{o} (for a connector that declares it)")));
        return Err(TetherError::missing_option(
            format!("a tether foreign table needs the option {}", ways.join(" or ")),
            Some("SELECT * FROM tether.connectors() lists each connector's objects".into()),
        ));
    }
    if let Some(p) = opts.get("path") {
        template::check_path(p, "option path")?;
    }
    if let Some(p) = opts.get("get_path") {
        if !p.is_empty() {
            template::check_path(&p.replace("{id}", "id"), "option get_path")?;
            if !p.contains("{id}") {
                return Err(TetherError::option(
                    format!("invalid value for option get_path: \"{p}\"; it must contain {{id}}"),
                    Some("or set get_path '' to disable id lookups".into()),
                ));
            }
        }
    }
    if let Some(style) = opts.get("pagination") {
        if !PaginationDef::STYLES.contains(&style.as_str()) {
            return Err(TetherError::option(
                format!(
                    "invalid value for option pagination: \"{style}\"; accepted: {}",
                    PaginationDef::STYLES.join(", ")
                ),
                None,
            ));
        }
    }
    for key in ["records", "cursor_pointer", "next_url_pointer", "total_pointer", "total_pages_pointer"] {
        if let Some(v) = opts.get(key) {
            parse_pointer(v, key)?;
        }
    }
    for key in ["page_size"] {
        if let Some(v) = opts.get(key) {
            parse_positive(v, key)?;
        }
    }
    if let Some(v) = opts.get("first_page") {
        v.trim().parse::<u64>().map_err(|_| {
            TetherError::option(
                format!("invalid value for option first_page: \"{v}\"; expected 0 or a positive integer"),
                None,
            )
        })?;
    }
    if let Some(q) = opts.get("query") {
        parse_query(q)?;
    }
    if let Some(m) = opts.get("update_method") {
        if !matches!(m.to_ascii_uppercase().as_str(), "PATCH" | "PUT") {
            return Err(TetherError::option(
                format!("invalid value for option update_method: \"{m}\"; accepted: PATCH, PUT"),
                None,
            ));
        }
    }
    if let Some(v) = opts.get("batch_size") {
        parse_positive(v, "batch_size")?;
    }
    if let Some(v) = opts.get("read_only") {
        parse_bool(v, "read_only")?;
    }
    Ok(())
}

fn parse_bool(value: &str, option: &str) -> Result<bool, TetherError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(TetherError::option(
            format!("invalid value for option {option}: \"{value}\"; expected true or false"),
            None,
        )),
    }
}

pub fn validate_column_options(opts: &Options) -> Result<(), TetherError> {
    check_names(opts, &names(COLUMN_OPTIONS), "a column of a tether foreign table")?;
    if let Some(p) = opts.get("json_pointer") {
        parse_pointer(p, "json_pointer")?;
    }
    if opts.contains_key("column_name") && opts.contains_key("json_pointer") {
        return Err(TetherError::option("set column_name or json_pointer on a column, not both", None));
    }
    if let Some(s) = opts.get("separator") {
        if s.is_empty() {
            return Err(TetherError::option("invalid value for option separator: it must not be empty", None));
        }
    }
    if let Some(v) = opts.get("read_only") {
        parse_bool(v, "read_only")?;
    }
    Ok(())
}

fn parse_query(q: &str) -> Result<Vec<(String, String)>, TetherError> {
    let q = q.trim_start_matches('?');
    let mut pairs = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        if k.is_empty() {
            return Err(TetherError::option(
                format!("invalid value for option query: \"{q}\"; expected name=value pairs joined by &"),
                None,
            ));
        }
        pairs.push((template::decode_component(k, true), template::decode_component(v, true)));
    }
    Ok(pairs)
}

/// One foreign-table column and where its value lives in a record.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub name: String,
    pub pointer: Pointer,
    /// Name to request through the list's fields parameter (HubSpot `properties`).
    pub field: Option<String>,
    pub separator: Option<String>,
    /// The provider sets it: INSERT and UPDATE cannot write it.
    pub read_only: bool,
}

/// A foreign table resolved against its server's connector: everything a scan needs but credentials.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub connector_name: String,
    pub object_name: String,
    pub object: ObjectDef,
    pub base_url: String,
    /// Extra static query parameters from the table option `query`.
    pub extra_query: Vec<(String, String)>,
    /// One per foreign-table column, in the order given.
    pub columns: Vec<ColumnMap>,
    pub page_size_override: Option<u64>,
    /// Rows per batch create request (table option, else server option), before the connector's cap.
    pub batch_size_override: Option<u64>,
    /// Values for `{placeholders}` in paths (server options and `path`).
    placeholders: Options,
    pub body_encoding: BodyEncoding,
}

/// Resolve a table. `columns` are the foreign table's (name, column options), in attribute order;
/// `table` names it in errors.
pub fn resolve_table(
    server: &ServerDef,
    opts: &Options,
    columns: &[(String, Options)],
    table: &str,
) -> Result<TableDef, TetherError> {
    let connector = &server.connector;
    let own: Vec<&str> = connector.table_options.keys().map(String::as_str).collect();
    validate_table_options(opts, &own).map_err(|e| e.context(&format!("foreign table {table}")))?;
    for (name, def) in &connector.table_options {
        if def.required && def.default.is_none() && !opts.contains_key(name) && !opts.contains_key("object") {
            return Err(TetherError::missing_option(
                format!(
                    "foreign table {table}: connector \"{}\" needs the table option {name}: {}",
                    connector.name, def.description
                ),
                None,
            ));
        }
    }
    let (object_name, mut object) = match opts.get("object") {
        Some(name) => match connector.objects.get(name) {
            Some(o) => (name.clone(), o.clone()),
            None => {
                return Err(TetherError::option(
                    format!(
                        "foreign table {table}: connector \"{}\" has no object \"{name}\"; its objects are: {}",
                        connector.name,
                        if connector.objects.is_empty() {
                            "none (use the option path instead)".to_string()
                        } else {
                            connector.objects.keys().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                    Some("SELECT * FROM tether.connectors() lists each connector's objects".into()),
                ))
            }
        },
        None => match &connector.generic_object {
            Some(o) => {
                let name = opts
                    .get("path")
                    .or_else(|| connector.table_options.keys().find_map(|k| opts.get(k)))
                    .cloned()
                    .unwrap_or_else(|| "(generic)".into());
                (name, o.clone())
            }
            None => {
                return Err(TetherError::missing_option(
                    format!(
                        "foreign table {table}: connector \"{}\" needs the table option object; its objects are: {}",
                        connector.name,
                        connector.objects.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    None,
                ))
            }
        },
    };
    if object.list.path.contains("{path}") && !opts.contains_key("path") {
        return Err(TetherError::missing_option(
            format!("object \"{object_name}\" of connector \"{}\" needs the table option path", connector.name),
            Some("for example: OPTIONS (path '/customers')".into()),
        ));
    }
    apply_overrides(&mut object, opts)?;
    object.validate(&format!("/objects/{object_name}"), connector).map_err(|e| {
        TetherError::option(format!("foreign table {table}: the options make an invalid object: {e}"), None)
    })?;

    let mut placeholders = server_placeholders(server);
    if let Some(p) = opts.get("path") {
        placeholders.insert("path".into(), p.clone());
    }
    for (name, def) in &connector.table_options {
        match opts.get(name).or(def.default.as_ref()) {
            Some(v) => {
                placeholders.insert(name.clone(), v.clone());
            }
            None => {
                placeholders.remove(name);
            }
        }
    }

    let mut mapped = Vec::with_capacity(columns.len());
    for (name, copts) in columns {
        validate_column_options(copts).map_err(|e| e.context(&format!("column {name} of foreign table {table}")))?;
        mapped.push(map_column(&object, connector, &object_name, name, copts, table)?);
    }
    if opts.get("read_only").map(|v| parse_bool(v, "read_only")).transpose()?.unwrap_or(false) {
        object.create = None;
        object.update = None;
        object.delete = None;
        object.batch_create = None;
    }
    let mut table_def = TableDef {
        connector_name: connector.name.clone(),
        object_name,
        extra_query: opts.get("query").map(|q| parse_query(q)).transpose()?.unwrap_or_default(),
        page_size_override: opts.get("page_size").map(|v| parse_positive(v, "page_size")).transpose()?,
        batch_size_override: match opts.get("batch_size") {
            Some(v) => Some(parse_positive(v, "batch_size")?),
            None => server.batch_size,
        },
        object,
        base_url: server.base_url.clone(),
        columns: mapped,
        placeholders,
        body_encoding: connector.body_encoding,
    };
    // The id is the provider's unless a column option says otherwise; the option wins either way.
    let id_index = table_def.id_index();
    for (i, (_, copts)) in columns.iter().enumerate() {
        match copts.get("read_only") {
            Some(v) => table_def.columns[i].read_only = parse_bool(v, "read_only")?,
            None if Some(i) == id_index => table_def.columns[i].read_only = true,
            None => {}
        }
    }
    Ok(table_def)
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

/// Table options that tune the connector's object (any connector, not only `rest`).
fn apply_overrides(object: &mut ObjectDef, opts: &Options) -> Result<(), TetherError> {
    if let Some(path) = opts.get("path") {
        if !object.list.path.contains("{path}") {
            // A connector object read from another path (e.g. a HubSpot custom object): every endpoint
            // below the list path (get, search, writes, batch) moves with it.
            let old = object.list.path.split('?').next().unwrap_or("").to_string();
            let new = path.split('?').next().unwrap_or(path).to_string();
            // An endpoint elsewhere would still address the connector's object: it is dropped.
            let moved = |p: &mut String| -> bool {
                match p.strip_prefix(&old) {
                    Some(rest) if rest.is_empty() || rest.starts_with(['/', '?']) => {
                        *p = format!("{new}{rest}");
                        true
                    }
                    _ => false,
                }
            };
            object.list.path = path.clone();
            if object.get.as_mut().is_some_and(|g| !moved(&mut g.path)) {
                object.get = None;
            }
            if object.search.as_mut().is_some_and(|s| !moved(&mut s.path)) {
                object.search = None;
            }
            for w in [&mut object.create, &mut object.update, &mut object.delete] {
                if w.as_mut().is_some_and(|d| !moved(&mut d.path)) {
                    *w = None;
                }
            }
            if object.batch_create.as_mut().is_some_and(|b| !moved(&mut b.path)) {
                object.batch_create = None;
            }
        }
    }
    if let Some(r) = opts.get("records") {
        object.list.records = r.clone();
    }
    if let Some(id) = opts.get("id_column") {
        object.id_column = id.clone();
    }
    if let Some(g) = opts.get("get_path") {
        if g.is_empty() {
            object.get = None;
        } else {
            match &mut object.get {
                Some(get) => get.path = g.clone(),
                None => {
                    object.get = Some(crate::connector::model::GetDef {
                        path: g.clone(),
                        query: Default::default(),
                        record: String::new(),
                        gone: None,
                    })
                }
            }
        }
    }
    let style = opts.get("pagination").map(String::as_str).unwrap_or(object.list.pagination.style());
    let opt = |k: &str| opts.get(k).cloned();
    let pagination_changed = opts.contains_key("pagination")
        || [
            "cursor_pointer",
            "cursor_param",
            "next_url_pointer",
            "offset_param",
            "page_param",
            "first_page",
            "total_pointer",
            "total_pages_pointer",
            "last_id_param",
            "has_more_pointer",
        ]
        .iter()
        .any(|k| opts.contains_key(*k));
    if pagination_changed {
        let old = object.list.pagination.clone();
        object.list.pagination = match style {
            "none" => PaginationDef::None,
            "link_header" => PaginationDef::LinkHeader,
            "cursor" => {
                let (old_cursor, old_param) = match &old {
                    PaginationDef::Cursor { cursor, param, .. } => (Some(cursor.clone()), param.clone()),
                    _ => (None, None),
                };
                let cursor = opt("cursor_pointer").or(old_cursor).ok_or_else(|| {
                    TetherError::missing_option("pagination 'cursor' needs the option cursor_pointer (where the next cursor is in the response)", None)
                })?;
                let param = opt("cursor_param").or(old_param).ok_or_else(|| {
                    TetherError::missing_option(
                        "pagination 'cursor' needs the option cursor_param (the query parameter that sends it back)",
                        None,
                    )
                })?;
                PaginationDef::Cursor { cursor, param: Some(param), body: None }
            }
            "next_url" => {
                let old_ptr = match &old {
                    PaginationDef::NextUrl { next_url } => Some(next_url.clone()),
                    _ => None,
                };
                PaginationDef::NextUrl {
                    next_url: opt("next_url_pointer").or(old_ptr).unwrap_or_else(|| "/next".into()),
                }
            }
            "offset" => {
                let (old_param, old_total) = match &old {
                    PaginationDef::Offset { param, total } => (Some(param.clone()), total.clone()),
                    _ => (None, None),
                };
                PaginationDef::Offset {
                    param: opt("offset_param").or(old_param).unwrap_or_else(|| "offset".into()),
                    total: opt("total_pointer").or(old_total),
                }
            }
            "page" => {
                let (old_param, old_first, old_total) = match &old {
                    PaginationDef::Page { param, first, total_pages } => {
                        (Some(param.clone()), Some(*first), total_pages.clone())
                    }
                    _ => (None, None, None),
                };
                let first = match opt("first_page") {
                    Some(v) => v.trim().parse().unwrap_or(1),
                    None => old_first.unwrap_or(1),
                };
                PaginationDef::Page {
                    param: opt("page_param").or(old_param).unwrap_or_else(|| "page".into()),
                    first,
                    total_pages: opt("total_pages_pointer").or(old_total),
                }
            }
            "last_id" => {
                let (old_param, old_more) = match &old {
                    PaginationDef::LastId { param, has_more } => (Some(param.clone()), Some(has_more.clone())),
                    _ => (None, None),
                };
                PaginationDef::LastId {
                    param: opt("last_id_param").or(old_param).unwrap_or_else(|| "starting_after".into()),
                    has_more: opt("has_more_pointer").or(old_more).unwrap_or_else(|| "/has_more".into()),
                }
            }
            other => {
                return Err(TetherError::option(
                    format!(
                        "invalid value for option pagination: \"{other}\"; accepted: {}",
                        PaginationDef::STYLES.join(", ")
                    ),
                    None,
                ))
            }
        };
        for (key, applies) in [
            ("cursor_pointer", "cursor"),
            ("cursor_param", "cursor"),
            ("next_url_pointer", "next_url"),
            ("offset_param", "offset"),
            ("total_pointer", "offset"),
            ("page_param", "page"),
            ("first_page", "page"),
            ("total_pages_pointer", "page"),
            ("last_id_param", "last_id"),
            ("has_more_pointer", "last_id"),
        ] {
            if opts.contains_key(key) && style != applies {
                return Err(TetherError::option(
                    format!("option {key} applies to pagination '{applies}', but this table uses pagination '{style}'"),
                    Some(format!("add pagination '{applies}' or remove {key}")),
                ));
            }
        }
    }
    if opts.contains_key("page_size") || opts.contains_key("page_size_param") {
        let default_param = if style == "page" { "per_page" } else { "limit" };
        let current = object.list.page_size.clone();
        let param = opt("page_size_param").or_else(|| current.as_ref().and_then(|p| p.param.clone()));
        let header = if param.is_none() { current.as_ref().and_then(|p| p.header.clone()) } else { None };
        let param = if header.is_none() { Some(param.unwrap_or_else(|| default_param.into())) } else { None };
        let default = match opts.get("page_size") {
            Some(v) => parse_positive(v, "page_size")?,
            None => current.as_ref().map(|p| p.default).unwrap_or(100),
        };
        let max = current.as_ref().and_then(|p| p.max);
        let min = current.as_ref().and_then(|p| p.min);
        if let Some(max) = max {
            if default > max {
                return Err(TetherError::option(
                    format!("invalid value for option page_size: {default}; this API accepts at most {max}"),
                    None,
                ));
            }
        }
        if let Some(min) = min {
            if default < min {
                return Err(TetherError::option(
                    format!("invalid value for option page_size: {default}; this API accepts at least {min}"),
                    None,
                ));
            }
        }
        let format = current.as_ref().and_then(|p| p.format.clone());
        object.list.page_size = Some(PageSizeDef { param, header, format, default, min, max });
    } else if matches!(object.list.pagination, PaginationDef::Offset { .. } | PaginationDef::Page { .. })
        && object.list.page_size.is_none()
    {
        let param = if style == "page" { "per_page" } else { "limit" };
        object.list.page_size = Some(PageSizeDef {
            param: Some(param.into()),
            header: None,
            format: None,
            default: 100,
            min: None,
            max: None,
        });
    }
    if let Some(m) = opts.get("update_method") {
        let m = m.to_ascii_uppercase();
        if let Some(update) = &mut object.update {
            update.full_row = m == "PUT";
            update.method = m;
        }
    }
    if let Some(f) = opts.get("filters") {
        for column in f.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            object.filters.push(FilterDef {
                column: column.to_string(),
                op: FilterOp::Eq,
                param: column.to_string(),
                separator: None,
                default: None,
            });
        }
    }
    Ok(())
}

fn map_column(
    object: &ObjectDef,
    connector: &Connector,
    object_name: &str,
    name: &str,
    copts: &Options,
    table: &str,
) -> Result<ColumnMap, TetherError> {
    let separator_opt = copts.get("separator").cloned();
    if let Some(p) = copts.get("json_pointer") {
        let pointer = parse_pointer(p, "json_pointer")?;
        // A pointer that matches the object's template (HubSpot /properties/x) still requests its field;
        // a deeper one requests the field holding it (or the joined path, for Salesforce).
        let field = object.other_columns.as_ref().and_then(|t| {
            let (pre, post) = t.pointer.split_once("{name}")?;
            let inner = p.strip_prefix(pre)?.strip_suffix(post)?;
            if inner.is_empty() {
                return None;
            }
            let segments: Vec<String> = inner.split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
            let name = match &t.nested_separator {
                Some(sep) => segments.join(sep),
                None => segments[0].clone(),
            };
            t.field.as_ref().map(|f| f.replace("{name}", &name))
        });
        return Ok(ColumnMap { name: name.to_string(), pointer, field, separator: separator_opt, read_only: false });
    }
    let source = copts.get("column_name").map(String::as_str).unwrap_or(name);
    if let Some(ColumnDef { pointer, field, separator, read_only, .. }) = object.column(source) {
        return Ok(ColumnMap {
            name: name.to_string(),
            pointer: parse_pointer(pointer, "pointer")?,
            field: field.clone(),
            separator: separator_opt.or_else(|| separator.clone()),
            read_only: *read_only,
        });
    }
    if let Some(t) = &object.other_columns {
        let pointer_text = t.pointer.replace("{name}", &source.replace('~', "~0").replace('/', "~1"));
        return Ok(ColumnMap {
            name: name.to_string(),
            pointer: parse_pointer(&pointer_text, "pointer")?,
            field: t.field.as_ref().map(|f| f.replace("{name}", source)),
            separator: separator_opt,
            read_only: false,
        });
    }
    Err(TetherError::option(
        format!(
            "column \"{name}\" of foreign table {table} does not match a column of object \"{object_name}\" of connector \"{}\"; its columns are: {}",
            connector.name,
            if object.columns.is_empty() {
                "none (map columns with the column option json_pointer)".to_string()
            } else {
                object.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            }
        ),
        Some("rename the column, or set its option column_name or json_pointer".into()),
    ))
}

impl TableDef {
    /// A table of no columns over `object`: what `tether.request_pages` pages through (the record id
    /// for `last_id` pagination comes from the object's id column).
    pub fn for_listing(server: &ServerDef, object_name: &str, object: ObjectDef) -> TableDef {
        TableDef {
            connector_name: server.connector.name.clone(),
            object_name: object_name.to_string(),
            object,
            base_url: server.base_url.clone(),
            extra_query: Vec::new(),
            columns: Vec::new(),
            page_size_override: None,
            batch_size_override: None,
            placeholders: server_placeholders(server),
            body_encoding: server.connector.body_encoding,
        }
    }

    fn render_path(&self, template_text: &str, id: Option<&str>) -> Result<String, TetherError> {
        template::render(template_text, "path", |name| match name {
            "id" => id.map(|v| (v.to_string(), Encode::Segment)),
            "path" => self.placeholders.get("path").map(|v| (v.clone(), Encode::Path)),
            other => self.placeholders.get(other).map(|v| (v.clone(), Encode::Segment)),
        })
    }

    /// The page size to request: the table option, else the connector's default, capped by the max and
    /// by a pushed-down LIMIT.
    pub fn page_size(&self, limit: Option<u64>) -> Option<u64> {
        let ps = self.object.list.page_size.as_ref()?;
        Some(sized(ps, self.page_size_override, limit))
    }

    /// Fields to request for the columns at `needed` (indexes into `columns`), deduplicated in order.
    pub fn fields(&self, needed: &[usize]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &i in needed {
            if let Some(f) = self.columns.get(i).and_then(|c| c.field.as_ref()) {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    fn fields_pairs(&self, fields: &[String]) -> Vec<(String, String)> {
        let Some(fp) = self.object.list.fields_param.as_ref() else { return Vec::new() };
        if fields.is_empty() {
            return Vec::new();
        }
        if fp.repeat {
            fields.iter().map(|f| (fp.param.clone(), f.clone())).collect()
        } else {
            vec![(fp.param.clone(), fields.join(&fp.separator))]
        }
    }

    /// The first list request for a plain listing with query-parameter filters (`filters` are
    /// parameter/value pairs), for callers without typed conditions.
    pub fn list_url(
        &self,
        filters: &[(String, String)],
        fields: &[String],
        page_size: Option<u64>,
    ) -> Result<String, TetherError> {
        let mut url = format!("{}{}", self.base_url, self.render_path(&self.object.list.path, None)?);
        let mut pairs: Vec<(String, String)> =
            self.object.list.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.extend(self.extra_query.iter().cloned());
        pairs.extend(filters.iter().cloned());
        pairs.extend(self.fields_pairs(fields));
        if let (Some(ps), Some(size)) = (&self.object.list.page_size, page_size) {
            if let Some(param) = &ps.param {
                pairs.push((param.clone(), size.to_string()));
            }
        }
        template::append_query(&mut url, &pairs);
        Ok(url)
    }

    /// The field of a column, for conditions written in a query language or search body.
    pub fn field_of(&self, column: usize) -> Option<&str> {
        self.columns.get(column).and_then(|c| c.field.as_deref())
    }

    /// Whether a condition on `column` with `op`, comparing with a `kind` value, can go through the
    /// list's query language. Text is only compared for equality: providers order and compare strings
    /// by their own rules (Salesforce ignores case), and a range they evaluate differently could drop
    /// rows Postgres would keep.
    pub fn language_can(&self, column: usize, op: FilterOp, kind: ValueKind) -> bool {
        let dates_compare = match &self.object.list.language {
            None => return false,
            Some(LanguageDef::Soql { .. }) => true,
            // Airtable compares a date field with a string literal as text, where formats differ
            // (`2024-06-01T10:00:00.000Z` and `2024-06-01T10:00:00Z`): dates stay with Postgres.
            Some(LanguageDef::Formula { .. }) => false,
        };
        if !dates_compare && matches!(kind, ValueKind::Date | ValueKind::Timestamp) {
            return false;
        }
        self.field_of(column).is_some() && comparable(op, kind)
    }

    /// Whether a condition on `column` with `op` can go through the search endpoint (same rules).
    pub fn search_can(&self, column: usize, op: FilterOp, kind: ValueKind) -> bool {
        let Some(search) = &self.object.search else { return false };
        self.field_of(column).is_some() && search.ops.contains_key(op_key(op)) && comparable(op, kind)
    }

    /// The first request of a listing and how to page through it: a plain list (with query-parameter
    /// filters, SOQL or a formula) or, when a condition goes through the search endpoint, a search.
    /// `fields` are the fields the query reads; `limit` the LIMIT hint.
    pub fn list_fetch(
        &self,
        conds: &[Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<ListFetch, TetherError> {
        if conds.iter().any(|c| c.via == Via::Search) {
            return self.search_fetch(conds, fields, limit);
        }
        let list = &self.object.list;
        let mut language: Vec<&Condition> = conds.iter().filter(|c| c.via == Via::Language).collect();
        let mut limit = limit;
        // Providers refuse URLs much longer than 16 kB (Salesforce, Airtable): a query language
        // condition with many values (a long IN list) is left to Postgres until the URL fits, and
        // the LIMIT with it.
        loop {
            let (url, headers) = self.list_request(conds, &language, fields, limit)?;
            if url.len() <= MAX_URL_BYTES || language.is_empty() {
                return Ok(ListFetch {
                    first: Request { method: "GET".into(), url, headers, body: None },
                    pagination: list.pagination.clone(),
                    records: list.records.clone(),
                    total_check: None,
                    rate_limit: None,
                    encoding: BodyEncoding::Json,
                });
            }
            let longest =
                (0..language.len()).max_by_key(|i| language[*i].values.iter().map(|v| v.text.len() + 4).sum::<usize>());
            if let Some(i) = longest {
                language.remove(i);
            }
            limit = None;
        }
    }

    /// The list URL and headers for parameter filters, the given query-language conditions, the
    /// fields read and a LIMIT hint. A condition the language cannot state exactly is left out (to
    /// Postgres), and the LIMIT with it.
    fn list_request(
        &self,
        conds: &[Condition],
        language: &[&Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<(String, Vec<(String, String)>), TetherError> {
        let list = &self.object.list;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for c in conds {
            if let Via::Param(f) = &c.via {
                pairs.push((f.param.clone(), c.joined(f.separator.as_deref())));
            }
        }
        let mut field_pairs = self.fields_pairs(fields);
        let written = |write: fn(&str, FilterOp, &[ParamValue]) -> Option<String>| -> (Vec<String>, bool) {
            let mut all = true;
            let parts = language
                .iter()
                .filter_map(|c| {
                    let part = write(self.field_of(c.column)?, c.op, &c.values);
                    all &= part.is_some();
                    part
                })
                .collect();
            (parts, all)
        };
        let mut complete = true;
        match &list.language {
            Some(LanguageDef::Soql { param, from }) => {
                let mut select: Vec<String> = fields.to_vec();
                if let Some(id) = self.object.column(&self.object.id_column).and_then(|c| c.field.clone()) {
                    if !select.contains(&id) {
                        select.insert(0, id);
                    }
                }
                let (where_, all) = written(request::soql_condition);
                complete = all;
                let soql_limit = if all { limit } else { None };
                pairs.push((param.clone(), request::soql_query(&select, from, &where_, soql_limit)));
                field_pairs.clear();
            }
            Some(LanguageDef::Formula { param }) if !language.is_empty() => {
                let (parts, all) = written(request::formula_condition);
                complete = all;
                if !parts.is_empty() {
                    pairs.push((param.clone(), request::formula_all(&parts)));
                }
            }
            _ => {}
        }
        let page_size = self.page_size(if complete { limit } else { None });
        let mut url = self.list_url(&pairs, &[], None)?;
        template::append_query(&mut url, &field_pairs);
        let mut headers = Vec::new();
        if let (Some(ps), Some(size)) = (&list.page_size, page_size) {
            if let Some(param) = &ps.param {
                template::append_query(&mut url, &[(param.clone(), size.to_string())]);
            }
            if let (Some(h), Some(fmt)) = (&ps.header, &ps.format) {
                headers.push((h.clone(), fmt.replace("{n}", &size.to_string())));
            }
        }
        Ok((url, headers))
    }

    fn search_fetch(
        &self,
        conds: &[Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<ListFetch, TetherError> {
        let Some(search) = &self.object.search else {
            return Err(TetherError::Internal("search planned without a search endpoint".into()));
        };
        let filters: Vec<Value> = conds
            .iter()
            .filter(|c| c.via == Via::Search)
            .filter_map(|c| {
                let op = search.ops.get(op_key(c.op))?;
                let field = self.field_of(c.column)?;
                let text = |v: &ParamValue| -> Value {
                    let epoch = matches!(v.kind, ValueKind::Date | ValueKind::Timestamp)
                        && search.dates == crate::connector::model::DateFormat::EpochMs;
                    match crate::connector::mapping::parse_date_or_timestamp(&v.text).filter(|_| epoch) {
                        Some(pg_micros) => Value::String(crate::connector::mapping::unix_millis(pg_micros).to_string()),
                        None => Value::String(v.text.clone()),
                    }
                };
                let value = c.values.first().map(text);
                let values = Value::Array(c.values.iter().map(text).collect());
                Some(request::fill_template(&search.filter, &|name| match name {
                    "field" => Some(Value::String(field.to_string())),
                    "op" => Some(Value::String(op.clone())),
                    "value" if c.op != FilterOp::In => value.clone(),
                    "values" if c.op == FilterOp::In => Some(values.clone()),
                    _ => None,
                }))
            })
            .collect();
        let size = sized(&search.page_size, self.page_size_override, limit);
        let fields_value =
            (!fields.is_empty()).then(|| Value::Array(fields.iter().map(|f| Value::String(f.clone())).collect()));
        let body = request::fill_template(&search.body, &|name| match name {
            "filters" => Some(Value::Array(filters.clone())),
            "page_size" => Some(Value::from(size)),
            "fields" => fields_value.clone(),
            _ => None,
        });
        let url = format!("{}{}", self.base_url, self.render_path(&search.path, None)?);
        let cursor_body = request::marker_pointer(&search.body, "cursor")
            .ok_or_else(|| TetherError::Internal("search body has no $cursor".into()))?;
        Ok(ListFetch {
            first: Request { method: search.method.clone(), url, headers: Vec::new(), body: Some(body) },
            pagination: PaginationDef::Cursor { cursor: search.cursor.clone(), param: None, body: Some(cursor_body) },
            records: search.records.clone(),
            total_check: match (&search.total, search.max_results) {
                (Some(t), Some(max)) => Some((t.clone(), max)),
                _ => None,
            },
            rate_limit: search.rate_limit,
            encoding: BodyEncoding::Json,
        })
    }

    /// The URL of one record, or None when the object has no get endpoint. `extra` carries pushed
    /// filters that change what the provider returns (HubSpot `archived=true`).
    pub fn get_url(
        &self,
        id: &str,
        fields: &[String],
        extra: &[(String, String)],
    ) -> Result<Option<String>, TetherError> {
        let Some(get) = &self.object.get else { return Ok(None) };
        let mut url = format!("{}{}", self.base_url, self.render_path(&get.path, Some(id))?);
        let mut pairs: Vec<(String, String)> = get.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.extend(extra.iter().cloned());
        pairs.extend(self.fields_pairs(fields));
        template::append_query(&mut url, &pairs);
        Ok(Some(url))
    }

    /// Rows per batch create request: the table or server option capped by the connector's maximum;
    /// None when the object has no batch endpoint.
    pub fn batch_size(&self) -> Option<u64> {
        let batch = self.object.batch_create.as_ref()?;
        Some(self.batch_size_override.unwrap_or(batch.max).clamp(1, batch.max))
    }

    fn write_url(&self, path: &str, id: Option<&str>) -> Result<String, TetherError> {
        Ok(format!("{}{}", self.base_url, self.render_path(path, id)?))
    }

    /// The body of one record: `values` are (column index, JSON value).
    pub fn record_body(&self, values: &[(usize, Value)]) -> Result<Value, TetherError> {
        record::build_record(values.iter().map(|(i, v)| (&self.columns[*i].pointer, v.clone())))
            .map_err(|m| TetherError::option(format!("cannot build the request body: {m}"), None))
    }

    /// A write request of `def` for a record built from `values` (None: no body), with the id in the
    /// path and, when the definition says so, in the record.
    fn write_request(
        &self,
        def: &WriteDef,
        id: Option<&str>,
        values: Option<&[(usize, Value)]>,
    ) -> Result<WriteRequest, TetherError> {
        let url = self.write_url(&def.path, id)?;
        let body = match values {
            None => None,
            Some(values) => {
                let mut record = self.record_body(values)?;
                if let (Some(at), Some(id)) = (&def.id_field, id) {
                    let at = Pointer::parse(at).map_err(|m| TetherError::Internal(format!("id_field: {m}")))?;
                    at.set(&mut record, self.id_json(id)).map_err(|m| TetherError::option(m, None))?;
                }
                Some(match &def.body {
                    Some(template) => {
                        request::fill_template(template, &|name| (name == "record").then(|| record.clone()))
                    }
                    None => record,
                })
            }
        };
        Ok(WriteRequest { method: def.method.clone(), url, body, encoding: self.body_encoding })
    }

    /// An id as JSON for a request body: a number when the id column is numeric (BigCommerce ids).
    fn id_json(&self, id: &str) -> Value {
        let numeric = self
            .object
            .column(&self.object.id_column)
            .is_some_and(|c| matches!(c.type_name.as_str(), "integer" | "bigint" | "smallint"));
        match id.parse::<i64>() {
            Ok(n) if numeric => Value::from(n),
            _ => Value::String(id.to_string()),
        }
    }

    /// The create request for one record, or None when the object cannot be created.
    pub fn create_request(&self, values: &[(usize, Value)]) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.create else { return Ok(None) };
        Ok(Some(self.write_request(def, None, Some(values))?))
    }

    pub fn update_request(&self, id: &str, values: &[(usize, Value)]) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.update else { return Ok(None) };
        Ok(Some(self.write_request(def, Some(id), Some(values))?))
    }

    pub fn delete_request(&self, id: &str) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.delete else { return Ok(None) };
        Ok(Some(self.write_request(def, Some(id), None)?))
    }

    /// The request reading one record by id, for RETURNING of a write whose response is not the
    /// record: only the `fields` RETURNING needs are asked for.
    pub fn refetch_request(&self, id: &str, fields: &[String]) -> Result<Option<WriteRequest>, TetherError> {
        Ok(self.get_url(id, fields, &[])?.map(|url| WriteRequest {
            method: "GET".into(),
            url,
            body: None,
            encoding: self.body_encoding,
        }))
    }

    /// One batch create request for `rows`; with a trace definition each input is tagged with its
    /// `traces` entry.
    pub fn batch_create_request(
        &self,
        rows: &[Vec<(usize, Value)>],
        traces: &[String],
    ) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.batch_create else { return Ok(None) };
        let trace_at = match &def.trace {
            Some(t) => Some(Pointer::parse(&t.field).map_err(|m| TetherError::Internal(m.to_string()))?),
            None => None,
        };
        let mut inputs = Vec::with_capacity(rows.len());
        for (n, row) in rows.iter().enumerate() {
            let mut pairs: Vec<(&Pointer, Value)> =
                row.iter().map(|(i, v)| (&self.columns[*i].pointer, v.clone())).collect();
            if let (Some(at), Some(tag)) = (&trace_at, traces.get(n)) {
                pairs.push((at, Value::String(tag.clone())));
            }
            let mut input = record::build_record(pairs)
                .map_err(|m| TetherError::option(format!("cannot build the request body: {m}"), None))?;
            if let (Some(Value::Object(item)), Value::Object(fields)) = (&def.item, &mut input) {
                for (k, v) in item {
                    fields.insert(k.clone(), v.clone());
                }
            }
            inputs.push(input);
        }
        let body = match &def.body {
            Some(template) => {
                let inputs = Value::Array(inputs);
                request::fill_template(template, &|name| (name == "records").then(|| inputs.clone()))
            }
            None => {
                let inputs_at = Pointer::parse(&def.inputs)
                    .map_err(|m| TetherError::Internal(format!("batch inputs pointer: {m}")))?;
                if inputs_at.is_root() {
                    Value::Array(inputs)
                } else {
                    record::build_record([(&inputs_at, Value::Array(inputs))])
                        .map_err(|m| TetherError::Internal(format!("batch body: {m}")))?
                }
            }
        };
        let url = self.write_url(&def.path, None)?;
        Ok(Some(WriteRequest { method: def.method.clone(), url, body: Some(body), encoding: self.body_encoding }))
    }

    /// The most conditions one search request takes.
    pub fn search_max_filters(&self) -> usize {
        self.object.search.as_ref().and_then(|s| s.max_filters).unwrap_or(usize::MAX)
    }

    /// Index (into `columns`) of the id column, if the foreign table has it.
    pub fn id_index(&self) -> Option<usize> {
        let id = &self.object.id_column;
        let id_def = self.object.column(id);
        self.columns.iter().position(|c| match id_def {
            Some(def) => Pointer::parse(&def.pointer).map(|p| p == c.pointer).unwrap_or(false),
            None => c.name == *id,
        })
    }

    /// The pushable filter on the column at `index` with operator `op`, if the connector declares one.
    pub fn filter_for(&self, index: usize, op: FilterOp) -> Option<&FilterDef> {
        let col = self.columns.get(index)?;
        self.object.filters.iter().find(|f| {
            f.op == op
                && (match self.object.column(&f.column) {
                    Some(def) => Pointer::parse(&def.pointer).map(|p| p == col.pointer).unwrap_or(false),
                    None => f.column == col.name,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;

    fn o(pairs: &[(&str, &str)]) -> Options {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn server(pairs: &[(&str, &str)]) -> Result<ServerDef, TetherError> {
        resolve_server(&o(pairs), connector::find)
    }

    fn cols(names: &[&str]) -> Vec<(String, Options)> {
        names.iter().map(|n| (n.to_string(), Options::new())).collect()
    }

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
    fn table_needs_object_and_lists_objects() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let e = resolve_table(&s, &o(&[]), &cols(&["id"]), "t").unwrap_err().to_string();
        assert!(e.contains("needs the option object"), "{e}");
        let e = resolve_table(&s, &o(&[("object", "tickets")]), &cols(&["id"]), "t").unwrap_err().to_string();
        assert!(e.contains("its objects are: companies, contacts, deals"), "{e}");
        let e = resolve_table(&s, &o(&[("object", "contacts"), ("colour", "x")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option \"colour\""), "{e}");
    }

    #[test]
    fn hubspot_columns_map_to_properties_and_fields() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let mut columns = cols(&["id", "email", "favourite_colour", "created_at"]);
        columns.push(("mail".into(), o(&[("column_name", "email")])));
        columns.push(("score".into(), o(&[("json_pointer", "/properties/hs_score")])));
        let t = resolve_table(&s, &o(&[("object", "contacts")]), &columns, "crm.contacts").unwrap();
        assert_eq!(t.columns[1].pointer.to_string(), "/properties/email");
        assert_eq!(t.columns[2].pointer.to_string(), "/properties/favourite_colour");
        assert_eq!(t.columns[2].field.as_deref(), Some("favourite_colour"));
        assert_eq!(t.columns[3].field, None);
        assert_eq!(t.columns[4].pointer.to_string(), "/properties/email");
        assert_eq!(t.columns[5].field.as_deref(), Some("hs_score"));
        assert_eq!(t.id_index(), Some(0));
        assert_eq!(t.fields(&[0, 1, 2, 4, 5]), vec!["email", "favourite_colour", "hs_score"]);
        let url = t.list_url(&[], &t.fields(&[1, 2]), t.page_size(None)).unwrap();
        assert_eq!(url, "https://api.hubapi.com/crm/v3/objects/contacts?properties=email,favourite_colour&limit=100");
        assert_eq!(t.page_size(Some(5)), Some(5));
        assert_eq!(t.page_size(Some(0)), Some(1));
        let get = t.get_url("12/3 4", &["email".to_string()], &[]).unwrap().unwrap();
        assert_eq!(get, "https://api.hubapi.com/crm/v3/objects/contacts/12%2F3%204?properties=email");
        let e = t.get_url("12/../3", &["email".to_string()], &[]).unwrap_err();
        assert!(e.to_string().contains("cannot be \"12/../3\", which would name another path"), "{e}");
        assert_eq!(e.sqlstate().code(), "22023");
        assert!(t.get_url("..", &[], &[]).is_err());
    }

    #[test]
    fn hubspot_page_size_is_capped() {
        let s = server(&[("connector", "hubspot")]).unwrap();
        let e = resolve_table(&s, &o(&[("object", "contacts"), ("page_size", "500")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 100"), "{e}");
    }

    #[test]
    fn rest_table_options_choose_pagination() {
        let s = server(&[("connector", "rest"), ("base_url", "http://127.0.0.1:1/api")]).unwrap();
        let t = resolve_table(
            &s,
            &o(&[
                ("path", "/items"),
                ("pagination", "page"),
                ("page_size", "25"),
                ("records", "/data"),
                ("total_pages_pointer", "/meta/pages"),
            ]),
            &cols(&["id", "name"]),
            "t",
        )
        .unwrap();
        assert_eq!(
            t.object.list.pagination,
            PaginationDef::Page { param: "page".into(), first: 1, total_pages: Some("/meta/pages".into()) }
        );
        assert_eq!(t.list_url(&[], &[], t.page_size(None)).unwrap(), "http://127.0.0.1:1/api/items?per_page=25");
        assert_eq!(t.get_url("7", &[], &[]).unwrap().unwrap(), "http://127.0.0.1:1/api/items/7");
        assert_eq!(t.columns[1].pointer.to_string(), "/name");

        let e = resolve_table(&s, &o(&[("path", "/items"), ("pagination", "cursor")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cursor_pointer"), "{e}");
        let e = resolve_table(&s, &o(&[("path", "/items"), ("offset_param", "skip")]), &cols(&["id"]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("applies to pagination 'offset'"), "{e}");
    }

    #[test]
    fn rest_filters_and_query_options() {
        let s = server(&[("connector", "rest"), ("base_url", "http://127.0.0.1:1")]).unwrap();
        let t = resolve_table(
            &s,
            &o(&[
                ("path", "/items?kind=a"),
                ("filters", "status, email"),
                ("query", "sort=id&x=a%20b"),
                ("get_path", ""),
            ]),
            &cols(&["id", "status", "email"]),
            "t",
        )
        .unwrap();
        assert!(t.filter_for(1, FilterOp::Eq).is_some());
        assert!(t.filter_for(0, FilterOp::Eq).is_none());
        assert!(t.get_url("1", &[], &[]).unwrap().is_none());
        let url = t.list_url(&[("status".into(), "active".into())], &[], None).unwrap();
        assert_eq!(url, "http://127.0.0.1:1/items?kind=a&sort=id&x=a%20b&status=active");
    }

    #[test]
    fn path_escapes_and_bad_values_are_refused() {
        for opts in [
            o(&[("path", "http://evil.test/x")]),
            o(&[("path", "/a/../b")]),
            o(&[("path", "/a"), ("page_size", "0")]),
            o(&[("path", "/a"), ("pagination", "sideways")]),
            o(&[("path", "/a"), ("records", "data")]),
            o(&[("path", "/a"), ("get_path", "/a/one")]),
        ] {
            assert!(validate_table_options(&opts, &[]).is_err(), "{opts:?} should be refused");
        }
    }

    #[test]
    fn column_options_are_checked() {
        assert!(validate_column_options(&o(&[("json_pointer", "no-slash")])).is_err());
        assert!(validate_column_options(&o(&[("json_pointer", "/a"), ("column_name", "b")])).is_err());
        let e = validate_column_options(&o(&[("jsonpointer", "/a")])).unwrap_err();
        assert_eq!(e.hint(), Some("did you mean \"json_pointer\"?"));
    }

    #[test]
    fn unmapped_column_is_refused_when_connector_has_no_template() {
        let mut c = (*connector::find("hubspot").unwrap()).clone();
        c.objects.get_mut("contacts").unwrap().other_columns = None;
        let s = ServerDef { connector: Arc::new(c), ..server(&[("connector", "hubspot")]).unwrap() };
        let e = resolve_table(&s, &o(&[("object", "contacts")]), &cols(&["id", "shoe_size"]), "crm.contacts")
            .unwrap_err()
            .to_string();
        assert!(e.contains("column \"shoe_size\" of foreign table crm.contacts"), "{e}");
        assert!(e.contains("its columns are: id, email"), "{e}");
    }

    #[test]
    fn server_options_fill_connector_placeholders() {
        let store = Connector::from_json(
            r#"{"name": "store", "base_url": "https://api.example.com/stores/{store_hash}/v3",
                "server_options": {"store_hash": {"required": true, "description": "the store's hash"},
                                   "region": {"default": "eu"}},
                "objects": {"customers": {"list": {"path": "/{region}/customers"}, "get": {"path": "/customers/{id}"}}}}"#,
        )
        .unwrap();
        let e = resolve_table(
            &resolve_server(&o(&[("connector", "store"), ("store_hash", "x")]), |_: &str| Ok(Arc::new(store.clone())))
                .unwrap(),
            &o(&[("object", "customers")]),
            &cols(&["id"]),
            "t",
        )
        .unwrap_err();
        assert!(
            e.to_string().ends_with("its columns are: none (map columns with the column option json_pointer)"),
            "{e}"
        );
        let mut store = store;
        store.objects.get_mut("customers").unwrap().columns = vec![crate::connector::model::ColumnDef {
            name: "id".into(),
            type_name: "integer".into(),
            pointer: "/id".into(),
            field: None,
            separator: None,
            read_only: false,
            description: String::new(),
        }];
        let store = Arc::new(store);
        let find = |_: &str| Ok(store.clone());
        let e = resolve_server(&o(&[("connector", "store")]), find).unwrap_err();
        assert!(e.to_string().contains("needs the server option store_hash: the store's hash"), "{e}");
        let s = resolve_server(&o(&[("connector", "store"), ("store_hash", "abc/1")]), find).unwrap();
        assert_eq!(s.base_url, "https://api.example.com/stores/abc%2F1/v3");
        let t = resolve_table(&s, &o(&[("object", "customers")]), &cols(&["id"]), "t").unwrap();
        assert_eq!(t.list_url(&[], &[], None).unwrap(), "https://api.example.com/stores/abc%2F1/v3/eu/customers");
        let s = resolve_server(&o(&[("connector", "store"), ("store_hash", "x"), ("region", "us")]), find).unwrap();
        let t = resolve_table(&s, &o(&[("object", "customers")]), &cols(&["id"]), "t").unwrap();
        assert!(t.list_url(&[], &[], None).unwrap().ends_with("/us/customers"));
        let e = resolve_server(&o(&[("connector", "store"), ("store_hash", "x"), ("colour", "x")]), find).unwrap_err();
        assert!(e.to_string().contains("accepted options: connector, base_url, auth, api_key_header, api_key_param, connect_timeout, read_timeout, max_retries, max_retry_wait, batch_size, idempotency_header, token_url, rate_limit, webhook_url, allowed_hosts, region, store_hash"), "{e}");
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

    #[test]
    fn hubspot_write_requests() {
        let s = server(&[("connector", "hubspot"), ("base_url", "http://127.0.0.1:9")]).unwrap();
        let mut columns = cols(&["id", "email", "created_at", "shoe_size"]);
        columns.push(("mail".into(), o(&[("column_name", "email")])));
        let t = resolve_table(&s, &o(&[("object", "contacts")]), &columns, "crm.contacts").unwrap();
        assert!(t.columns[0].read_only && t.columns[2].read_only && !t.columns[1].read_only && !t.columns[3].read_only);
        let vals = vec![(1, Value::String("a@b.c".into())), (3, Value::String("42".into()))];
        let create = t.create_request(&vals).unwrap().unwrap();
        assert_eq!(create.method, "POST");
        assert_eq!(create.url, "http://127.0.0.1:9/crm/v3/objects/contacts");
        assert_eq!(create.body.unwrap(), serde_json::json!({"properties": {"email": "a@b.c", "shoe_size": "42"}}));
        let update = t.update_request("7/8", &vals[..1]).unwrap().unwrap();
        assert_eq!(
            (update.method.as_str(), update.url.as_str()),
            ("PATCH", "http://127.0.0.1:9/crm/v3/objects/contacts/7%2F8")
        );
        let delete = t.delete_request("7").unwrap().unwrap();
        assert_eq!((delete.method.as_str(), delete.body), ("DELETE", None));
        let batch =
            t.batch_create_request(&[vals.clone(), vals[..1].to_vec()], &["r1".into(), "r2".into()]).unwrap().unwrap();
        assert_eq!(batch.url, "http://127.0.0.1:9/crm/v3/objects/contacts/batch/create");
        assert_eq!(
            batch.body.unwrap(),
            serde_json::json!({"inputs": [
                {"properties": {"email": "a@b.c", "shoe_size": "42"}, "objectWriteTraceId": "r1"},
                {"properties": {"email": "a@b.c"}, "objectWriteTraceId": "r2"}
            ]})
        );
        assert_eq!(t.batch_size(), Some(100));
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("batch_size", "500")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(100), "capped by the connector's maximum");
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("batch_size", "10")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(10));
        let s20 = server(&[("connector", "hubspot"), ("batch_size", "20")]).unwrap();
        let t = resolve_table(&s20, &o(&[("object", "contacts")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(20), "the server option applies");
        let t = resolve_table(&s20, &o(&[("object", "contacts"), ("batch_size", "50")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(50), "the table option wins");
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("read_only", "true")]), &columns, "t").unwrap();
        assert!(t.create_request(&vals).unwrap().is_none() && t.batch_size().is_none());
    }

    #[test]
    fn rest_write_options() {
        let s = server(&[
            ("connector", "rest"),
            ("base_url", "http://127.0.0.1:9"),
            ("idempotency_header", "Idempotency-Key"),
        ])
        .unwrap();
        assert_eq!(s.idempotency_header.as_deref(), Some("Idempotency-Key"));
        let mut columns = cols(&["id", "name"]);
        columns.push(("sku".into(), o(&[("read_only", "true")])));
        let t = resolve_table(&s, &o(&[("path", "/items"), ("update_method", "put")]), &columns, "t").unwrap();
        assert!(t.columns[0].read_only, "the id column is read-only by default");
        assert!(t.columns[2].read_only);
        let u = t.update_request("3", &[(1, Value::String("x".into()))]).unwrap().unwrap();
        assert_eq!((u.method.as_str(), u.url.as_str()), ("PUT", "http://127.0.0.1:9/items/3"));
        assert!(t.object.update.as_ref().unwrap().full_row);
        assert!(t.batch_size().is_none(), "the rest connector has no batch endpoint");
        let mut columns = cols(&["name"]);
        columns.insert(0, ("id".into(), o(&[("read_only", "false")])));
        let t = resolve_table(&s, &o(&[("path", "/items")]), &columns, "t").unwrap();
        assert!(!t.columns[0].read_only, "read_only 'false' makes a client-chosen id writable");
        assert!(server(&[("connector", "rest"), ("base_url", "http://x"), ("max_retries", "99")]).is_err());
        assert!(validate_table_options(&o(&[("path", "/a"), ("update_method", "POST")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("path", "/a"), ("read_only", "maybe")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("table", "Contacts")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("table", "Contacts")]), &["table"]).is_ok());
    }

    /// A table of an inline connector (one object `o`), with the given list and search definitions.
    fn inline_table(object: serde_json::Value, columns: &[&str]) -> TableDef {
        let doc = serde_json::json!({"name": "x", "base_url": "http://127.0.0.1:9", "objects": {"o": object}});
        let connector = Arc::new(Connector::from_json(&doc.to_string()).unwrap());
        let find = move |_: &str| Ok(connector.clone());
        let s = resolve_server(&o(&[("connector", "x")]), find).unwrap();
        resolve_table(&s, &o(&[("object", "o")]), &cols(columns), "t").unwrap()
    }

    fn cond(t: &TableDef, column: &str, op: FilterOp, values: &[(&str, ValueKind)], via: Via) -> Condition {
        Condition {
            column: t.columns.iter().position(|c| c.name == column).unwrap(),
            op,
            values: values.iter().map(|(v, k)| ParamValue { text: v.to_string(), kind: *k }).collect(),
            via,
        }
    }

    fn query_of(url: &str) -> String {
        template::decode_component(url.split_once('?').map(|(_, q)| q).unwrap_or(""), false)
    }

    #[test]
    fn soql_listing_selects_fields_pushes_conditions_and_limit() {
        let t = inline_table(
            serde_json::json!({
                "id_column": "id",
                "list": {
                    "path": "/query", "records": "/records",
                    "page_size": {"header": "Sforce-Query-Options", "format": "batchSize={n}", "default": 2000, "min": 200, "max": 2000},
                    "pagination": {"style": "next_url", "next_url": "/nextRecordsUrl"},
                    "language": {"kind": "soql", "param": "q", "from": "Account"}
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/Id", "field": "Id"},
                    {"name": "name", "type": "text", "pointer": "/Name", "field": "Name"},
                    {"name": "employees", "type": "integer", "pointer": "/NumberOfEmployees", "field": "NumberOfEmployees"}
                ]
            }),
            &["id", "name", "employees"],
        );
        let fields = t.fields(&[1]);
        assert!(t.language_can(1, FilterOp::Eq, ValueKind::Text));
        assert!(!t.language_can(1, FilterOp::Lt, ValueKind::Text), "text ranges stay with Postgres");
        assert!(t.language_can(2, FilterOp::Ge, ValueKind::Number));
        let conds = vec![
            cond(&t, "name", FilterOp::Eq, &[("O'Brien & Co", ValueKind::Text)], Via::Language),
            cond(&t, "employees", FilterOp::Ge, &[("50", ValueKind::Number)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert_eq!(f.first.method, "GET");
        assert_eq!(
            query_of(&f.first.url),
            r"q=SELECT Id, Name FROM Account WHERE Name = 'O\'Brien & Co' AND NumberOfEmployees >= 50 LIMIT 10"
        );
        assert_eq!(f.first.headers, vec![("Sforce-Query-Options".to_string(), "batchSize=200".to_string())]);
        // A value SOQL cannot state is left out, and with it the LIMIT (Postgres filters the rows).
        let conds = vec![
            cond(&t, "name", FilterOp::Eq, &[("a", ValueKind::Text)], Via::Language),
            cond(&t, "employees", FilterOp::Eq, &[("NaN", ValueKind::Number)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert_eq!(query_of(&f.first.url), "q=SELECT Id, Name FROM Account WHERE Name = 'a'");
        assert_eq!(f.first.headers[0].1, "batchSize=2000");
        // An IN list too long for a URL is left to Postgres (and the LIMIT with it); the rest stays.
        let ids: Vec<(String, ValueKind)> = (0..2000).map(|i| (format!("001Dn{i:013}IAA"), ValueKind::Text)).collect();
        let id_refs: Vec<(&str, ValueKind)> = ids.iter().map(|(s, k)| (s.as_str(), *k)).collect();
        let conds = vec![
            cond(&t, "id", FilterOp::In, &id_refs, Via::Language),
            cond(&t, "name", FilterOp::Eq, &[("a", ValueKind::Text)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert!(f.first.url.len() <= MAX_URL_BYTES, "{}", f.first.url.len());
        assert_eq!(query_of(&f.first.url), "q=SELECT Id, Name FROM Account WHERE Name = 'a'");
        let f = t
            .list_fetch(
                &conds[..1]
                    .iter()
                    .cloned()
                    .map(|mut c| {
                        c.values.truncate(3);
                        c
                    })
                    .collect::<Vec<_>>(),
                &fields,
                None,
            )
            .unwrap();
        assert!(query_of(&f.first.url).contains("WHERE Id IN ("), "a short list stays in the query");
    }

    #[test]
    fn formula_listing_pushes_conditions_and_repeats_fields() {
        let t = inline_table(
            serde_json::json!({
                "list": {
                    "path": "/v0/base/Contacts", "records": "/records",
                    "page_size": {"param": "pageSize", "default": 100, "max": 100},
                    "pagination": {"style": "cursor", "cursor": "/offset", "param": "offset"},
                    "fields_param": {"param": "fields[]", "repeat": true},
                    "language": {"kind": "formula", "param": "filterByFormula"}
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/id"},
                    {"name": "email", "type": "text", "pointer": "/fields/Email", "field": "Email"},
                    {"name": "full_name", "type": "text", "pointer": "/fields/Full Name", "field": "Full Name"}
                ]
            }),
            &["id", "email", "full_name"],
        );
        let fields = t.fields(&[1, 2]);
        let conds = vec![cond(
            &t,
            "email",
            FilterOp::In,
            &[("a@x.test", ValueKind::Text), ("b@x.test", ValueKind::Text)],
            Via::Language,
        )];
        let f = t.list_fetch(&conds, &fields, None).unwrap();
        assert_eq!(
            query_of(&f.first.url),
            "filterByFormula=OR({Email} = 'a@x.test', {Email} = 'b@x.test')&fields[]=Email&fields[]=Full Name&pageSize=100"
        );
        let f = t.list_fetch(&[], &fields, Some(5)).unwrap();
        assert_eq!(query_of(&f.first.url), "fields[]=Email&fields[]=Full Name&pageSize=5");
        assert!(!t.language_can(0, FilterOp::Eq, ValueKind::Text), "the id has no field");
        assert!(t.language_can(1, FilterOp::Gt, ValueKind::Number));
        assert!(!t.language_can(1, FilterOp::Eq, ValueKind::Date), "formulas compare dates as text");
        assert!(!t.language_can(1, FilterOp::Ge, ValueKind::Timestamp));
    }

    #[test]
    fn search_listing_builds_the_body_and_pages_in_it() {
        let t = inline_table(
            serde_json::json!({
                "list": {
                    "path": "/objects/contacts", "records": "/results",
                    "page_size": {"param": "limit", "default": 100, "max": 100},
                    "pagination": {"style": "cursor", "cursor": "/paging/next/after", "param": "after"},
                    "fields_param": {"param": "properties"}
                },
                "search": {
                    "path": "/objects/contacts/search",
                    "body": {"filterGroups": [{"filters": "$filters"}], "properties": "$fields", "limit": "$page_size", "after": "$cursor"},
                    "filter": {"propertyName": "$field", "operator": "$op", "value": "$value", "values": "$values"},
                    "ops": {"eq": "EQ", "in": "IN", "gt": "GT"},
                    "records": "/results", "cursor": "/paging/next/after",
                    "page_size": {"param": "limit", "default": 100, "max": 200},
                    "max_filters": 2, "max_results": 10000, "total": "/total"
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/id"},
                    {"name": "email", "type": "text", "pointer": "/properties/email", "field": "email"},
                    {"name": "score", "type": "integer", "pointer": "/properties/score", "field": "score"}
                ]
            }),
            &["id", "email", "score"],
        );
        assert!(t.search_can(1, FilterOp::Eq, ValueKind::Text));
        assert!(!t.search_can(2, FilterOp::Lt, ValueKind::Number), "no operator for lt");
        assert!(t.search_can(2, FilterOp::Gt, ValueKind::Number));
        assert_eq!(t.search_max_filters(), 2);
        let conds = vec![
            cond(
                &t,
                "email",
                FilterOp::In,
                &[("a@x.test", ValueKind::Text), ("b@x.test", ValueKind::Text)],
                Via::Search,
            ),
            cond(&t, "score", FilterOp::Gt, &[("5", ValueKind::Number)], Via::Search),
        ];
        let f = t.list_fetch(&conds, &t.fields(&[1]), Some(3)).unwrap();
        assert_eq!(
            (f.first.method.as_str(), f.first.url.as_str()),
            ("POST", "http://127.0.0.1:9/objects/contacts/search")
        );
        assert_eq!(
            f.first.body.unwrap(),
            serde_json::json!({"filterGroups": [{"filters": [
                {"propertyName": "email", "operator": "IN", "values": ["a@x.test", "b@x.test"]},
                {"propertyName": "score", "operator": "GT", "value": "5"}
            ]}], "properties": ["email"], "limit": 3})
        );
        assert!(matches!(f.pagination, PaginationDef::Cursor { param: None, body: Some(ref b), .. } if b == "/after"));
        // Dates go as epoch milliseconds when the search says so.
        let mut t2 = t.clone();
        t2.object.search.as_mut().unwrap().dates = crate::connector::model::DateFormat::EpochMs;
        let conds =
            vec![cond(&t2, "score", FilterOp::Gt, &[("2024-01-01T00:00:00Z", ValueKind::Timestamp)], Via::Search)];
        let body = t2.list_fetch(&conds, &[], None).unwrap().first.body.unwrap();
        assert_eq!(body["filterGroups"][0]["filters"][0]["value"], "1704067200000");
        assert_eq!(f.total_check, Some(("/total".to_string(), 10000)));
        // Without search conditions the plain list is used.
        let f = t.list_fetch(&[], &t.fields(&[1]), None).unwrap();
        assert_eq!(f.first.method, "GET");
        assert!(f.first.url.ends_with("/objects/contacts?properties=email&limit=100"), "{}", f.first.url);
    }

    #[test]
    fn write_bodies_follow_their_templates() {
        let t = inline_table(
            serde_json::json!({
                "list": {"path": "/customers", "records": "/data"},
                "get": {"path": "/customers/{id}"},
                "columns": [
                    {"name": "id", "type": "integer", "pointer": "/id", "read_only": true},
                    {"name": "email", "type": "text", "pointer": "/email"}
                ],
                "create": {"method": "POST", "path": "/customers", "body": ["$record"], "record": "/data/0"},
                "update": {"method": "PUT", "path": "/customers", "body": ["$record"], "id_field": "/id", "record": "/data/0"},
                "delete": {"method": "DELETE", "path": "/customers?id:in={id}"},
                "batch_create": {"path": "/customers", "max": 10, "records": "/data"}
            }),
            &["id", "email"],
        );
        let vals = vec![(1, Value::String("a@x.test".into()))];
        let c = t.create_request(&vals).unwrap().unwrap();
        assert_eq!(c.body, Some(serde_json::json!([{"email": "a@x.test"}])));
        let u = t.update_request("17", &vals).unwrap().unwrap();
        assert_eq!((u.method.as_str(), u.url.as_str()), ("PUT", "http://127.0.0.1:9/customers"));
        assert_eq!(u.body, Some(serde_json::json!([{"email": "a@x.test", "id": 17}])), "a numeric id goes as a number");
        let d = t.delete_request("17").unwrap().unwrap();
        assert_eq!(d.url, "http://127.0.0.1:9/customers?id:in=17");
        let (bytes, ctype) = u.encoded_body().unwrap();
        assert_eq!(
            (String::from_utf8(bytes).unwrap().as_str(), ctype),
            (r#"[{"email":"a@x.test","id":17}]"#, "application/json")
        );

        let t = inline_table(
            serde_json::json!({
                "list": {"path": "/sobjects/Account"},
                "get": {"path": "/sobjects/Account/{id}"},
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/Id", "read_only": true},
                    {"name": "name", "type": "text", "pointer": "/Name"}
                ],
                "create": {"method": "POST", "path": "/sobjects/Account", "id": "/id", "refetch": true},
                "batch_create": {
                    "path": "/composite/sobjects", "max": 200,
                    "body": {"allOrNone": true, "records": "$records"},
                    "item": {"attributes": {"type": "Account"}},
                    "results": {"ok": "/success", "message": "/errors/0/message", "code": "/errors/0/statusCode"}
                }
            }),
            &["id", "name"],
        );
        let rows = vec![vec![(1, Value::String("Acme".into()))], vec![(1, Value::String("Globex".into()))]];
        let b = t.batch_create_request(&rows, &[]).unwrap().unwrap();
        assert_eq!(
            b.body.unwrap(),
            serde_json::json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Account"}, "Name": "Globex"}
            ]})
        );
        let r = t.refetch_request("001x", &["Name".into()]).unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.url.as_str()), ("GET", "http://127.0.0.1:9/sobjects/Account/001x"));
    }

    #[test]
    fn write_definitions_are_validated() {
        let load = |object: serde_json::Value| {
            let doc = serde_json::json!({"name": "x", "base_url": "http://127.0.0.1:9", "objects": {"o": object}});
            Connector::from_json(&doc.to_string()).unwrap_err().to_string()
        };
        let base = |extra: serde_json::Value| {
            let mut o = serde_json::json!({
                "list": {"path": "/o"},
                "columns": [{"name": "id", "type": "text", "pointer": "/id"}]
            });
            for (k, v) in extra.as_object().unwrap() {
                o[k] = v.clone();
            }
            o
        };
        let e = load(base(serde_json::json!({"create": {"method": "POST", "path": "/o", "body": {"x": 1}}})));
        assert!(e.contains("/objects/o/create/body") && e.contains("$record"), "{e}");
        let e = load(base(serde_json::json!({"update": {"method": "PUT", "path": "/o"}})));
        assert!(e.contains("/objects/o/update/path") && e.contains("id_field"), "{e}");
        let e = load(base(serde_json::json!({"create": {"method": "POST", "path": "/o", "refetch": true}})));
        assert!(e.contains("/objects/o/create/refetch"), "{e}");
        let e = load(base(serde_json::json!({
            "get": {"path": "/o/{id}"},
            "create": {"method": "POST", "path": "/o", "refetch": true}
        })));
        assert!(e.contains("/objects/o/create/id"), "{e}");
        let e = load(base(serde_json::json!({
            "search": {"path": "/s", "body": {"f": "$filters"}, "filter": {"p": "$field"}, "ops": {"eq": "EQ"},
                       "records": "/r", "cursor": "/c", "page_size": {"param": "limit", "default": 10}}
        })));
        assert!(e.contains("/objects/o/search/body") && e.contains("$cursor"), "{e}");
        let e = load(base(serde_json::json!({
            "search": {"path": "/s", "body": {"f": "$filters", "a": "$cursor"}, "filter": {"p": "$field"}, "ops": {"like": "X"},
                       "records": "/r", "cursor": "/c", "page_size": {"param": "limit", "default": 10}}
        })));
        assert!(e.contains("/objects/o/search/ops/like"), "{e}");
        let mut o = base(serde_json::json!({}));
        o["list"]["language"] = serde_json::json!({"kind": "soql", "param": "q", "from": "Account; DROP"});
        assert!(load(o).contains("/objects/o/list/language/from"));
    }

    #[test]
    fn user_mapping_options() {
        assert!(validate_user_mapping_options(&o(&[("token", "t")])).is_ok());
        let e = validate_user_mapping_options(&o(&[("tokn", "t")])).unwrap_err();
        assert!(e.to_string().contains("accepted options: token, user, password, api_key"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1min", "x").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("0", "x").is_err());
        assert!(parse_duration("-1s", "x").is_err());
        assert!(parse_duration("1h", "x").is_err());
    }
}
