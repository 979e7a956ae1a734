//! Calls described in SQL (`tether.request`, `tether.request_pages`): the method, the URL (a path below
//! the server's base URL, or an absolute URL on its origin or on a host the server allows), query
//! parameters, headers and a body taken from jsonb arguments; and for a listing, how to page through
//! it: the pagination of the connector's object at that path, or one given inline. Plain Rust; the SQL
//! functions live in `fdw::request`.

use serde_json::{json, Value};

use crate::connector::listing::ListFetch;
use crate::connector::model::{AuthScheme, BodyEncoding, ObjectDef, PaginationDef};
use crate::connector::options::Options;
use crate::connector::pager::type_name as kind;
use crate::connector::request::Request;
use crate::connector::server::{server_placeholders, ServerDef};
use crate::connector::table::TableDef;
use crate::connector::template::{self, Encode};
use crate::error::{SqlState, TetherError};

pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Headers the HTTP engine sets itself: a caller cannot replace them.
const ENGINE_HEADERS: &[&str] = &["host", "content-length", "content-type", "transfer-encoding", "connection"];

fn arg_error(message: String, hint: Option<&str>) -> TetherError {
    TetherError::Option { message, hint: hint.map(str::to_string), state: SqlState::InvalidParameterValue }
}

/// The method, upper case; one of `METHODS`.
pub fn method(given: &str) -> Result<String, TetherError> {
    let upper = given.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(arg_error(format!("invalid method \"{given}\"; accepted: {}", METHODS.join(", ")), None))
    }
}

/// The request a call describes, before credentials.
pub fn build(
    server: &ServerDef,
    server_name: &str,
    method_given: &str,
    path: &str,
    query: Option<&Value>,
    body: Option<&Value>,
    headers: Option<&Value>,
) -> Result<Request, TetherError> {
    let method = method(method_given)?;
    let mut url = url(server, server_name, path)?;
    template::append_query(&mut url, &query_pairs(query)?);
    let body = match body {
        None | Some(Value::Null) => None,
        Some(_) if method == "GET" => {
            return Err(arg_error(
                "a GET request takes no body".into(),
                Some("send the values as query parameters (query => '{\"name\": \"value\"}'), or use POST"),
            ))
        }
        Some(b) if server.connector.body_encoding == BodyEncoding::Form && !b.is_object() => {
            return Err(arg_error(
                format!(
                    "connector \"{}\" sends bodies form-encoded, so body must be a JSON object (got {})",
                    server.connector.name,
                    kind(b)
                ),
                Some("nested objects become bracketed keys: '{\"metadata\": {\"k\": \"v\"}}' is sent as metadata[k]=v"),
            ))
        }
        Some(b) => Some(b.clone()),
    };
    Ok(Request { method, url, headers: header_pairs(server, headers)?, body })
}

/// The URL of a call. A path is appended to the base URL after `check_path` (it cannot climb out of
/// it); an absolute URL must be below the base URL, or on a host of the server option allowed_hosts,
/// because the server's credentials go with it.
pub fn url(server: &ServerDef, server_name: &str, path: &str) -> Result<String, TetherError> {
    if !(path.starts_with("http://") || path.starts_with("https://")) {
        template::check_path(path, "path").map_err(as_arg)?;
        return Ok(format!("{}{path}", server.base_url));
    }
    let (origin, rest) =
        template::split_origin(path).ok_or_else(|| arg_error(format!("\"{path}\" is not a URL"), None))?;
    let rest = if rest.is_empty() { "/" } else { rest };
    let host = &origin[origin.find("://").map(|i| i + 3).unwrap_or(0)..];
    if host.contains('@') {
        return Err(arg_error(
            format!("URL \"{}\" must not carry a user name or password", template::display_origin(path)),
            Some("credentials come from the user mapping"),
        ));
    }
    template::check_path(rest, &format!("the path of URL \"{}\"", template::display_origin(path))).map_err(as_arg)?;
    let (base_origin, base_path) = template::split_origin(&server.base_url).unwrap_or((&server.base_url, ""));
    if origin.eq_ignore_ascii_case(base_origin) {
        let below = base_path.is_empty()
            || rest.strip_prefix(base_path).is_some_and(|r| r.is_empty() || r.starts_with(['/', '?']));
        if below {
            return Ok(format!("{base_origin}{rest}"));
        }
        return Err(arg_error(
            format!("URL \"{path}\" is outside the base URL of server \"{server_name}\" ({})", server.base_url),
            Some("give a path below base_url, such as '/v1/customers'"),
        ));
    }
    if server.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(path.to_string());
    }
    Err(TetherError::Option {
        message: format!(
            "URL \"{}{}\" is not on server \"{server_name}\"'s host ({}), and the server sends its credentials only there",
            template::display_origin(path),
            template::display_path(path).split('?').next().unwrap_or(""),
            template::display_origin(&server.base_url)
        ),
        hint: Some(format!(
            "give a path below base_url, such as '/v1/customers'; to call {host} with this server's credentials, add it to the server option allowed_hosts"
        )),
        state: SqlState::InsufficientPrivilege,
    })
}

/// An option-style error from a shared check, raised as a bad argument.
fn as_arg(e: TetherError) -> TetherError {
    match e {
        TetherError::Option { message, hint, .. } => {
            TetherError::Option { message, hint, state: SqlState::InvalidParameterValue }
        }
        other => other,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{"limit": 50, "status": ["a", "b"]}` as query pairs: scalars as text, arrays repeated, nulls left out.
pub fn query_pairs(query: Option<&Value>) -> Result<Vec<(String, String)>, TetherError> {
    let map = match query {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(arg_error(
                format!("query must be a JSON object of parameter names and values (got {})", kind(other)),
                Some("for example: query => '{\"limit\": 50, \"status\": \"active\"}'"),
            ))
        }
    };
    let mut out = Vec::new();
    for (name, value) in map {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    match scalar_text(item) {
                        Some(t) => out.push((name.clone(), t)),
                        None if item.is_null() => {}
                        None => {
                            return Err(arg_error(
                                format!("query parameter \"{name}\" holds {} in its array; accepted: text, numbers, booleans", kind(item)),
                                Some("an array sends the parameter once per element: '{\"id\": [1, 2]}' is id=1&id=2; a comma list is '{\"id:in\": \"1,2\"}'"),
                            ))
                        }
                    }
                }
            }
            other => match scalar_text(other) {
                Some(t) => out.push((name.clone(), t)),
                None => {
                    return Err(arg_error(
                        format!(
                            "query parameter \"{name}\" is {}; accepted: text, a number, a boolean or an array of them",
                            kind(other)
                        ),
                        None,
                    ))
                }
            },
        }
    }
    Ok(out)
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `{"X-Api-Version": "2"}` as headers. Those the engine sets (Host, Content-Type...) and the one that
/// carries the server's credentials cannot be given.
fn header_pairs(server: &ServerDef, headers: Option<&Value>) -> Result<Vec<(String, String)>, TetherError> {
    let map = match headers {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(arg_error(
                format!("headers must be a JSON object of header names and values (got {})", kind(other)),
                Some("for example: headers => '{\"X-Api-Version\": \"2\"}'"),
            ))
        }
    };
    let credential_header = match server.auth {
        AuthScheme::None | AuthScheme::ApiKeyQuery => None,
        AuthScheme::ApiKeyHeader => Some(server.api_key_header.as_str()),
        _ => Some("authorization"),
    };
    let mut out = Vec::new();
    for (name, value) in map {
        if !is_token(name) {
            return Err(arg_error(format!("\"{name}\" is not a valid header name"), None));
        }
        let lower = name.to_ascii_lowercase();
        if ENGINE_HEADERS.contains(&lower.as_str()) {
            return Err(arg_error(
                format!("header {name} is set by Tether and cannot be given"),
                Some("Content-Type follows the connector's body encoding; the others follow the URL and body"),
            ));
        }
        if credential_header.is_some_and(|h| h.eq_ignore_ascii_case(name)) {
            return Err(arg_error(
                format!(
                    "header {name} carries the credentials of the server's {} auth and cannot be given",
                    server.auth.as_str()
                ),
                Some("credentials come from the user mapping"),
            ));
        }
        let text = scalar_text(value).ok_or_else(|| {
            arg_error(format!("header {name} is {}; accepted: text, a number or a boolean", kind(value)), None)
        })?;
        if text.chars().any(|c| c.is_control()) {
            return Err(arg_error(format!("the value of header {name} contains a control character"), None));
        }
        out.push((name.clone(), text));
    }
    Ok(out)
}

/// A listing through `tether.request_pages`: the first request, how to page, where the records are,
/// and the table the page helper reads the record id from (`last_id` pagination).
pub struct Listing {
    pub fetch: ListFetch,
    pub table: TableDef,
    /// The connector object whose pagination is used, when none was given.
    pub object: Option<String>,
}

/// How to page through `first` (built by `build`): the inline `pagination` (the connector format's
/// `list.pagination`, or just a style name), else the pagination of the connector object listed at that
/// path. `records` is where a page keeps its records (default: the object's, else the body itself).
pub fn listing(
    server: &ServerDef,
    server_name: &str,
    mut first: Request,
    records: Option<&str>,
    pagination: Option<&Value>,
) -> Result<Listing, TetherError> {
    if let Some(r) = records {
        crate::connector::pointer::Pointer::parse(r).map_err(|m| {
            arg_error(
                format!("invalid records_path \"{r}\": {m}"),
                Some("for example '/data' or '' for the body itself"),
            )
        })?;
    }
    let relative = first.url.strip_prefix(&server.base_url).filter(|r| r.is_empty() || r.starts_with(['/', '?']));
    let (object_name, mut object) = match pagination {
        Some(p) if !p.is_null() => {
            let style = inline_pagination(p)?;
            // The records pointer is set below, as for a connector object.
            let mut object: ObjectDef = serde_json::from_value(json!({
                "list": {"path": "/"},
                "columns": [{"name": "id", "type": "text", "pointer": "/id"}],
            }))
            .map_err(|e| TetherError::Internal(format!("ad-hoc object: {e}")))?;
            object.list.pagination = style;
            (None, object)
        }
        _ => match relative.and_then(|r| object_at(server, r)) {
            Some((name, object)) => (Some(name.to_string()), object.clone()),
            None => {
                return Err(arg_error(
                    format!(
                        "\"{}\" is not the list path of an object of connector \"{}\" (server \"{server_name}\"), so how it pages is not known",
                        template::display_path(&first.url),
                        server.connector.name
                    ),
                    Some("give pagination, e.g. pagination => '\"none\"' for one request or '{\"style\": \"cursor\", \"cursor\": \"/next\", \"param\": \"after\"}'; the styles are in docs/sql.md"),
                ))
            }
        },
    };
    if let Some(r) = records {
        object.list.records = r.to_string();
    }
    if object_name.is_some() {
        // The object's fixed query parameters and page size, unless the call sets them.
        let given: Vec<String> = query_names(&first.url);
        let mut add: Vec<(String, String)> =
            object.list.query.iter().filter(|(k, _)| !given.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(ps) = &object.list.page_size {
            if let Some(param) = ps.param.as_ref().filter(|p| !given.contains(p)) {
                add.push((param.clone(), ps.default.to_string()));
            }
            if let (Some(h), Some(f)) = (&ps.header, &ps.format) {
                if !first.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(h)) {
                    first.headers.push((h.clone(), f.replace("{n}", &ps.default.to_string())));
                }
            }
        }
        template::append_query(&mut first.url, &add);
    }
    let fetch = ListFetch {
        first,
        pagination: object.list.pagination.clone(),
        records: object.list.records.clone(),
        total_check: None,
        rate_limit: None,
        encoding: server.connector.body_encoding,
    };
    let name = object_name.clone().unwrap_or_else(|| "(request_pages)".into());
    Ok(Listing { fetch, table: TableDef::for_listing(server, &name, object), object: object_name })
}

/// The pagination argument: a style name, or an object in the connector format.
fn inline_pagination(p: &Value) -> Result<PaginationDef, TetherError> {
    let value = match p {
        Value::String(s) => json!({"style": s}),
        other => other.clone(),
    };
    let hint = "for example '\"link_header\"', '{\"style\": \"page\", \"param\": \"page\", \"total_pages\": \"/meta/total_pages\"}' or '{\"style\": \"cursor\", \"cursor\": \"/paging/next/after\", \"param\": \"after\"}'; docs/sql.md lists the styles and their keys";
    let style: PaginationDef = serde_json::from_value(value).map_err(|e| {
        arg_error(format!("invalid pagination: {e}; the styles are {}", PaginationDef::STYLES.join(", ")), Some(hint))
    })?;
    style.check("pagination").map_err(|e| match e {
        TetherError::Connector { path, message } => {
            arg_error(format!("invalid pagination at {path}: {message}"), Some(hint))
        }
        other => other,
    })?;
    Ok(style)
}

/// The names of the query parameters in a URL.
fn query_names(url: &str) -> Vec<String> {
    let Some((_, q)) = url.split_once('?') else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| template::decode_component(p.split('=').next().unwrap_or(""), true))
        .collect()
}

/// The connector object whose list endpoint is at `relative` (a path below the base URL, query
/// ignored): its path's placeholders are filled from the server's options; one the server does not
/// set (an Airtable table) matches any segment, and `{path}` (the generic object) any rest. The object
/// with the most fixed segments wins; child objects (rows from arrays inside records) are skipped.
pub fn object_at<'a>(server: &'a ServerDef, relative: &str) -> Option<(&'a str, &'a ObjectDef)> {
    let path = relative.split('?').next().unwrap_or("").trim_end_matches('/');
    let given: Vec<&str> = path.split('/').collect();
    let placeholders = server_placeholders(server);
    let mut best: Option<(usize, &str, &ObjectDef)> = None;
    let named = server.connector.objects.iter().map(|(n, o)| (n.as_str(), o));
    let generic = server.connector.generic_object.iter().map(|o| ("(generic)", o));
    for (name, object) in named.chain(generic) {
        if object.list.elements.is_some() {
            continue;
        }
        let template_path = object.list.path.split('?').next().unwrap_or("").trim_end_matches('/');
        let Some(score) = matches(template_path, &given, &placeholders) else { continue };
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, name, object));
        }
    }
    best.map(|(_, n, o)| (n, o))
}

/// How many fixed segments of `template_path` match `given`, None when it does not match.
fn matches(template_path: &str, given: &[&str], placeholders: &Options) -> Option<usize> {
    let segments: Vec<&str> = template_path.split('/').collect();
    let mut fixed = 0;
    for (i, seg) in segments.iter().enumerate() {
        if *seg == "{path}" {
            // The rest of the path, at least one segment.
            return (given.len() > i && given[i..].iter().any(|s| !s.is_empty())).then_some(fixed);
        }
        let actual = given.get(i)?;
        if seg.contains('{') {
            match template::render(seg, "path", |n| placeholders.get(n).map(|v| (v.clone(), Encode::Segment))) {
                Ok(rendered) if rendered == *actual => fixed += 1,
                Ok(_) => return None,
                // A placeholder the server does not set (a table option): any segment.
                Err(_) if !actual.is_empty() => {}
                Err(_) => return None,
            }
        } else if seg == actual {
            fixed += 1;
        } else {
            return None;
        }
    }
    (segments.len() == given.len()).then_some(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::server::resolve_server;

    fn server(opts: &[(&str, &str)]) -> ServerDef {
        let o: Options = opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve_server(&o, connector::find).unwrap()
    }

    fn bc() -> ServerDef {
        server(&[
            ("connector", "bigcommerce"),
            ("store_hash", "abc123"),
            ("base_url", "http://127.0.0.1:9/stores/abc123/v3"),
        ])
    }

    #[test]
    fn methods_are_checked_and_upper_cased() {
        assert_eq!(method("post").unwrap(), "POST");
        let e = method("TRACE").unwrap_err().to_string();
        assert!(e.contains("invalid method \"TRACE\"; accepted: GET, POST, PUT, PATCH, DELETE"), "{e}");
    }

    #[test]
    fn paths_stay_below_the_base_url() {
        let s = bc();
        assert_eq!(url(&s, "bc", "/customers?x=1").unwrap(), "http://127.0.0.1:9/stores/abc123/v3/customers?x=1");
        for bad in ["customers", "/x/../../other", "/x/%2e%2e/y", "//evil.example/x", "/a#frag"] {
            let e = url(&s, "bc", bad).unwrap_err();
            assert_eq!(e.sqlstate(), SqlState::InvalidParameterValue, "{bad}");
            assert!(e.to_string().starts_with(&format!("path \"{bad}\" must")), "{e}");
        }
    }

    #[test]
    fn absolute_urls_must_be_under_the_base_url_or_an_allowed_host() {
        let s = bc();
        assert_eq!(
            url(&s, "bc", "http://127.0.0.1:9/stores/abc123/v3/customers").unwrap(),
            "http://127.0.0.1:9/stores/abc123/v3/customers"
        );
        let e = url(&s, "bc", "http://127.0.0.1:9/stores/other/v3/customers").unwrap_err().to_string();
        assert!(e.contains("is outside the base URL of server \"bc\""), "{e}");
        let e = url(&s, "bc", "https://evil.example/steal?token=1").unwrap_err();
        assert_eq!(e.sqlstate(), SqlState::InsufficientPrivilege);
        assert!(e.to_string().contains("URL \"https://evil.example/steal\" is not on server \"bc\"'s host"), "{e}");
        assert!(e.hint().unwrap().contains("allowed_hosts"));
        let e = url(&s, "bc", "http://user:pw@127.0.0.1:9/stores/abc123/v3/x").unwrap_err().to_string();
        assert!(e.contains("must not carry a user name or password") && !e.contains("pw"), "{e}");
        let e = url(&s, "bc", "https://files.example/../x").unwrap_err().to_string();
        assert!(e.contains("must not contain . or .. segments"), "{e}");

        let allowed = server(&[
            ("connector", "bigcommerce"),
            ("store_hash", "abc123"),
            ("base_url", "http://127.0.0.1:9/stores/abc123/v3"),
            ("allowed_hosts", "Files.Example, api.example:8443"),
        ]);
        assert_eq!(url(&allowed, "bc", "https://files.example/f/1").unwrap(), "https://files.example/f/1");
        assert!(url(&allowed, "bc", "https://api.example:8443/x").is_ok());
        assert!(url(&allowed, "bc", "https://api.example/x").is_err(), "another port is another host");
    }

    #[test]
    fn allowed_hosts_is_checked() {
        let o: Options = [("connector", "rest"), ("base_url", "http://h"), ("allowed_hosts", "https://x.example/")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = resolve_server(&o, connector::find).unwrap_err().to_string();
        assert!(e.contains("allowed_hosts: \"https://x.example/\" is not a host name"), "{e}");
    }

    #[test]
    fn query_values_become_pairs() {
        let q = json!({"limit": 5, "active": true, "name": "a b", "id": [1, 2], "skip": null});
        let pairs = query_pairs(Some(&q)).unwrap();
        let expect: Vec<(String, String)> =
            [("active", "true"), ("id", "1"), ("id", "2"), ("limit", "5"), ("name", "a b")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(pairs, expect);
        let e = query_pairs(Some(&json!({"f": {"a": 1}}))).unwrap_err().to_string();
        assert!(e.contains("query parameter \"f\" is an object"), "{e}");
        let e = query_pairs(Some(&json!([1]))).unwrap_err().to_string();
        assert!(e.contains("query must be a JSON object"), "{e}");
    }

    #[test]
    fn requests_carry_query_body_and_headers() {
        let s = bc();
        let r = build(
            &s,
            "bc",
            "post",
            "/customers",
            Some(&json!({"a": 1})),
            Some(&json!([{"email": "x@example.com"}])),
            Some(&json!({"X-Trace": "t1"})),
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "http://127.0.0.1:9/stores/abc123/v3/customers?a=1");
        assert_eq!(r.headers, vec![("X-Trace".to_string(), "t1".to_string())]);
        assert_eq!(r.body, Some(json!([{"email": "x@example.com"}])));

        let e = build(&s, "bc", "GET", "/customers", None, Some(&json!({"a": 1})), None).unwrap_err();
        assert!(e.to_string().contains("a GET request takes no body"), "{e}");
        // BigCommerce sends its key in X-Auth-Token.
        let e = build(&s, "bc", "GET", "/x", None, None, Some(&json!({"x-auth-token": "other"}))).unwrap_err();
        assert!(e.to_string().contains("carries the credentials"), "{e}");
        let e = build(&s, "bc", "GET", "/x", None, None, Some(&json!({"Content-Type": "text/plain"}))).unwrap_err();
        assert!(e.to_string().contains("header Content-Type is set by Tether"), "{e}");
        let e = build(&s, "bc", "GET", "/x", None, None, Some(&json!({"X-A": "a\r\nX-B: b"}))).unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");

        let stripe = server(&[("connector", "stripe"), ("base_url", "http://127.0.0.1:9")]);
        let e = build(&stripe, "st", "POST", "/v1/customers", None, Some(&json!([1])), None).unwrap_err();
        assert!(e.to_string().contains("sends bodies form-encoded, so body must be a JSON object"), "{e}");
    }

    #[test]
    fn the_connector_object_at_a_path_gives_the_pagination() {
        let s = bc();
        let first = build(&s, "bc", "GET", "/customers", Some(&json!({"limit": 2})), None, None).unwrap();
        let l = listing(&s, "bc", first, None, None).unwrap();
        assert_eq!(l.object.as_deref(), Some("customers"));
        assert_eq!(l.fetch.pagination.style(), "page");
        assert_eq!(l.fetch.records, "/data");
        // The call's limit is kept; no second page size is added.
        assert_eq!(l.fetch.first.url, "http://127.0.0.1:9/stores/abc123/v3/customers?limit=2");

        let first = build(&s, "bc", "GET", "/nothing", None, None, None).unwrap();
        let e = listing(&s, "bc", first, None, None).err().unwrap().to_string();
        assert!(
            e.contains("\"/stores/abc123/v3/nothing\" is not the list path of an object of connector \"bigcommerce\""),
            "{e}"
        );
    }

    #[test]
    fn placeholders_the_server_does_not_set_match_any_segment() {
        let s = server(&[("connector", "airtable"), ("base_url", "http://127.0.0.1:9"), ("base_id", "appX")]);
        let matched = object_at(&s, "/appX/Customers").map(|(n, o)| (n, o.list.pagination.style()));
        assert_eq!(matched, Some(("(generic)", "cursor")));
        assert!(object_at(&s, "/appY/Customers").is_none(), "the base is the server's");
    }

    #[test]
    fn inline_pagination_is_checked() {
        let s = bc();
        let first = || build(&s, "bc", "GET", "/other", None, None, None).unwrap();
        let l = listing(&s, "bc", first(), Some("/items"), Some(&json!("link_header"))).unwrap();
        assert_eq!((l.fetch.pagination.style(), l.fetch.records.as_str()), ("link_header", "/items"));
        let l =
            listing(&s, "bc", first(), None, Some(&json!({"style": "cursor", "cursor": "/next", "param": "after"})))
                .unwrap();
        assert_eq!(l.fetch.records, "");
        let e = listing(&s, "bc", first(), None, Some(&json!({"style": "sideways"}))).err().unwrap().to_string();
        assert!(e.contains("invalid pagination") && e.contains("cursor, next_url"), "{e}");
        let e = listing(&s, "bc", first(), None, Some(&json!({"style": "cursor", "cursor": "next", "param": "a"})))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("invalid pagination at pagination/cursor"), "{e}");
        let e = listing(&s, "bc", first(), Some("data"), None).err().unwrap().to_string();
        assert!(e.contains("invalid records_path \"data\""), "{e}");
    }
}
