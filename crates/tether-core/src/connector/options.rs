//! The options of each catalog object (server, user mapping, foreign table, column): which exist, with
//! what they do (shown in errors and docs), and the checks of their names and values that need no
//! connector. Errors list what is accepted and suggest the closest name. Plain Rust; `fdw::options`
//! reads the catalogs and calls in here.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connector::model::PaginationDef;
use crate::connector::pointer::Pointer;
use crate::connector::template::{self};
use crate::error::TetherError;

pub type Options = BTreeMap<String, String>;

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
    (
        "concurrency",
        "creates in flight at once for INSERT ... SELECT without RETURNING into an object without a batch endpoint, 1 to 32 (default 4)",
    ),
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
    ("concurrency", "creates in flight at once for INSERT ... SELECT without RETURNING, 1 to 32 (no batch endpoint)"),
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

pub(crate) fn closest<'a>(name: &str, accepted: &[&'a str]) -> Option<&'a str> {
    accepted
        .iter()
        .map(|c| (edit_distance(name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
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

pub(crate) fn names(list: &[(&'static str, &str)]) -> Vec<&'static str> {
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

pub(crate) fn bad_duration(value: &str, option: &str) -> TetherError {
    TetherError::option(
        format!("invalid value for option {option}: \"{value}\"; expected a positive duration such as '500ms', '10s' or '2min' (a bare number is milliseconds)"),
        None,
    )
}

pub(crate) fn parse_positive(value: &str, option: &str) -> Result<u64, TetherError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(TetherError::option(
            format!("invalid value for option {option}: \"{value}\"; expected a positive integer"),
            None,
        )),
    }
}

/// Most requests a statement keeps in flight at once (option `concurrency`).
pub const MAX_CONCURRENCY: u64 = 32;
/// Requests in flight at once when neither the table nor its server sets `concurrency`.
pub const DEFAULT_CONCURRENCY: u64 = 4;

pub(crate) fn parse_concurrency(value: &str) -> Result<u64, TetherError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(TetherError::option(
            format!(
                "invalid value for option concurrency: \"{value}\"; expected an integer from 1 to {MAX_CONCURRENCY}"
            ),
            None,
        )),
    }
}

pub(crate) fn parse_pointer(value: &str, option: &str) -> Result<Pointer, TetherError> {
    Pointer::parse(value).map_err(|m| TetherError::option(format!("invalid value for option {option}: {m}"), None))
}

/// The option allowed_hosts: host names (with an optional port), comma-separated.
pub(crate) fn parse_hosts(value: &str) -> Result<Vec<String>, TetherError> {
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

pub(crate) fn parse_bool(value: &str, option: &str) -> Result<bool, TetherError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(TetherError::option(
            format!("invalid value for option {option}: \"{value}\"; expected true or false"),
            None,
        )),
    }
}

pub(crate) fn parse_query(q: &str) -> Result<Vec<(String, String)>, TetherError> {
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

pub fn validate_user_mapping_options(opts: &Options) -> Result<(), TetherError> {
    check_names(opts, &names(USER_MAPPING_OPTIONS), "a tether user mapping")
}

/// A connector's own table options must not take the name of one every table has (`path`, `query`,
/// ...): the connector's would never be reached. Checked when a connector is loaded (`connector::load`).
pub fn check_declared_table_options(connector: &crate::connector::model::Connector) -> Result<(), TetherError> {
    match connector.table_options.keys().find(|name| TABLE_OPTIONS.iter().any(|(n, _)| n == name)) {
        Some(name) => Err(TetherError::Connector {
            path: format!("/table_options/{name}"),
            message: format!("\"{name}\" is not a valid table option name (lower-case, and not a generic option)"),
        }),
        None => Ok(()),
    }
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
    if let Some(v) = opts.get("concurrency") {
        parse_concurrency(v)?;
    }
    if let Some(v) = opts.get("read_only") {
        parse_bool(v, "read_only")?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connector::testing::*;

    #[test]
    fn column_options_are_checked() {
        assert!(validate_column_options(&o(&[("json_pointer", "no-slash")])).is_err());
        assert!(validate_column_options(&o(&[("json_pointer", "/a"), ("column_name", "b")])).is_err());
        let e = validate_column_options(&o(&[("jsonpointer", "/a")])).unwrap_err();
        assert_eq!(e.hint(), Some("did you mean \"json_pointer\"?"));
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
