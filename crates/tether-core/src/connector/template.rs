//! `{placeholder}` templates in base URLs and paths, and the URL encoding rules that keep a value from
//! escaping its place (an id `a/b` stays one path segment; `..`, or `a/../b`, is refused).

use serde_json::Value;

use crate::error::TetherError;

/// Names of the `{placeholders}` in a template, in order.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        match rest[open + 1..].find('}') {
            Some(close) => {
                names.push(rest[open + 1..open + 1 + close].to_string());
                rest = &rest[open + 1 + close + 1..];
            }
            None => break,
        }
    }
    names
}

/// How a substituted value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encode {
    /// One path segment: everything but unreserved characters is percent-encoded.
    Segment,
    /// A path fragment given by the table owner (`path '/v1/customers'`): inserted as written after
    /// `check_path` has refused anything that could leave the base URL.
    Path,
}

/// Fill `{name}` placeholders with `lookup(name)`; an unknown name is an error naming the template.
pub fn render(
    template: &str,
    what: &str,
    mut lookup: impl FnMut(&str) -> Option<(String, Encode)>,
) -> Result<String, TetherError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| TetherError::option(format!("{what} \"{template}\" has an unclosed {{"), None))?;
        let name = &after[..close];
        let (value, how) = lookup(name).ok_or_else(|| {
            TetherError::option(
                format!("{what} \"{template}\" uses {{{name}}} but no option \"{name}\" is set"),
                Some(format!("add {name} to the server's OPTIONS")),
            )
        })?;
        match how {
            // `.` is unreserved, so `..` would stay `..` (or `%2E%2E`, which servers normalise the
            // same way) and name the parent of the object's path: an id `..` must not turn a GET or
            // DELETE of one record into one of another resource. Some servers also decode `%2F`
            // before resolving dot segments, so `a/../b` is refused too.
            Encode::Segment if value.split(['/', '\\']).any(|p| p == "." || p == "..") => {
                return Err(TetherError::Option {
                    message: format!(
                        "{what} \"{template}\": {{{name}}} cannot be \"{value}\", which would name another path"
                    ),
                    hint: Some(
                        "ids and other values in a URL path are one segment; \".\" and \"..\" are not ids".into(),
                    ),
                    state: crate::error::SqlState::InvalidParameterValue,
                })
            }
            Encode::Segment => out.push_str(&encode_component(&value)),
            Encode::Path => out.push_str(&value),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A path given in an option or an argument must stay below the base URL: it starts with `/`, names no
/// scheme or host, and has no `.` / `..` segments. `what` names it in the error ("option path").
pub fn check_path(path: &str, what: &str) -> Result<(), TetherError> {
    let bad = |why: &str| {
        Err(TetherError::option(
            format!("{what} \"{path}\" {why}"),
            Some("give a path below the server's base_url, such as '/v1/customers'".into()),
        ))
    };
    if !path.starts_with('/') {
        return bad("must start with /");
    }
    if path.starts_with("//") || path.contains("://") {
        return bad("must not name a scheme or host");
    }
    let path_only = path.split(['?', '#']).next().unwrap_or("");
    // Checked as a server may read it: percent-decoded, with `\` as a separator too, so `/..%2f` and
    // `/a/..%5cb` are dot segments as well.
    let decoded = decode_component(path_only, false);
    if decoded.split(['/', '\\']).any(|seg| seg == "." || seg == "..") {
        return bad("must not contain . or .. segments");
    }
    if path.contains('#') {
        return bad("must not contain a fragment (#)");
    }
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return bad("must not contain spaces or control characters");
    }
    Ok(())
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Like `encode_component`, but keeps characters that are safe and common inside query values
/// (`,` `:` `@` `$` `*`), so `properties=email,firstname` and `id:in=1,2` stay readable in EXPLAIN.
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b',' | b':' | b'@' | b'$' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes (and `+` as space when `plus` is set); invalid escapes are kept as written.
pub fn decode_component(value: &str, plus: bool) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Append `key=value` pairs to a URL that may already have a query string.
pub fn append_query(url: &mut String, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encode_query(k));
        url.push('=');
        url.push_str(&encode_query(v));
    }
}

/// Split a URL into origin (`scheme://host[:port]`) and the rest (path and query).
pub fn split_origin(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")? + 3;
    let path_start = url[scheme_end..].find(['/', '?']).map(|i| scheme_end + i).unwrap_or(url.len());
    Some((&url[..path_start], &url[path_start..]))
}

/// Resolve a link given by the provider (next page URL) against the server's base URL. Only the path and
/// query of an absolute link are kept: credentials are never sent to a host the user did not configure,
/// and a base_url override (a proxy, the fake provider) keeps working with providers that answer with
/// their canonical host.
pub fn resolve_link(base_url: &str, link: &str) -> Result<String, String> {
    let (origin, _) = split_origin(base_url).ok_or_else(|| format!("base URL \"{base_url}\" has no scheme"))?;
    if link.starts_with("http://") || link.starts_with("https://") {
        let (_, rest) = split_origin(link).ok_or_else(|| format!("next link \"{link}\" is not a URL"))?;
        let rest = if rest.is_empty() { "/" } else { rest };
        return Ok(format!("{origin}{rest}"));
    }
    if link.starts_with("//") {
        return Err(format!("next link \"{link}\" is a scheme-relative URL; expected a path or an absolute URL"));
    }
    if link.starts_with('/') {
        return Ok(format!("{origin}{link}"));
    }
    if link.starts_with('?') {
        let (_, rest) = split_origin(base_url).unwrap_or((origin, ""));
        let path = rest.split('?').next().unwrap_or("");
        return Ok(format!("{origin}{path}{link}"));
    }
    Err(format!("next link \"{link}\" is neither an absolute URL nor a path starting with /"))
}

/// `scheme://host[:port]` of a URL without any `user:password@`, for messages.
pub fn display_origin(url: &str) -> String {
    let origin = split_origin(url).map(|(o, _)| o).unwrap_or(url);
    match (origin.find("://"), origin.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &origin[..s + 3], &origin[at + 1..]),
        _ => origin.to_string(),
    }
}

/// Query parameters whose values are credentials in the APIs Tether talks to (compared without case,
/// `-` and `_`): API keys, tokens, client secrets, passwords, signatures.
const SECRET_PARAMS: &[&str] = &[
    "apikey",
    "key",
    "hapikey",
    "token",
    "accesstoken",
    "authtoken",
    "refreshtoken",
    "idtoken",
    "clientsecret",
    "secret",
    "password",
    "passwd",
    "signature",
    "sig",
    "privatetoken",
    "sessionid",
];

/// What a hidden value is shown as.
pub const REDACTED: &str = "[redacted]";

/// Whether a query parameter carries a credential, so that its value is never shown.
pub fn is_secret_param(name: &str) -> bool {
    let decoded = decode_component(name, true);
    let squashed: String = decoded.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
    SECRET_PARAMS.contains(&squashed.as_str())
}

/// A query string (without `?`) with the values of credential parameters replaced by `[redacted]`.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret_param(name) && !value.is_empty() => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL without its origin, for EXPLAIN and error messages: no host, port or userinfo, and the
/// values of credential parameters (`api_key=...`) hidden.
pub fn display_path(url: &str) -> String {
    let rest = match split_origin(url) {
        Some((_, rest)) if !rest.is_empty() => rest,
        Some(_) => "/",
        None => url,
    };
    match rest.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_query(query)),
        None => rest.to_string(),
    }
}

/// Path and query of a URL for people to read (EXPLAIN): query values decoded, so that a SOQL query
/// or a formula reads as written, credentials hidden. Not a URL any more.
pub fn display_readable(url: &str) -> String {
    let shown = display_path(url);
    match shown.split_once('?') {
        Some((path, query)) => format!("{path}?{}", decode_component(query, false)),
        None => shown,
    }
}

/// The JSON pointer of the first place a template holds the string `$name`.
pub fn marker_pointer(template: &Value, name: &str) -> Option<String> {
    let marker = format!("${name}");
    fn find(v: &Value, marker: &str, path: &mut Vec<String>) -> bool {
        match v {
            Value::String(s) => s == marker,
            Value::Object(map) => map.iter().any(|(k, x)| {
                path.push(k.replace('~', "~0").replace('/', "~1"));
                let found = find(x, marker, path);
                if !found {
                    path.pop();
                }
                found
            }),
            Value::Array(items) => items.iter().enumerate().any(|(i, x)| {
                path.push(i.to_string());
                let found = find(x, marker, path);
                if !found {
                    path.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = Vec::new();
    if find(template, &marker, &mut path) {
        Some(path.iter().map(|t| format!("/{t}")).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(name: &str) -> Option<(String, Encode)> {
        match name {
            "store_hash" => Some(("abc 1/2".into(), Encode::Segment)),
            "path" => Some(("/v3/customers".into(), Encode::Path)),
            _ => None,
        }
    }

    #[test]
    fn renders_and_encodes() {
        let url = render("https://x.test/stores/{store_hash}{path}", "base_url", opts).unwrap();
        assert_eq!(url, "https://x.test/stores/abc%201%2F2/v3/customers");
    }

    #[test]
    fn unknown_placeholder_is_a_clear_error() {
        let err = render("https://x.test/{region}", "base_url", opts).unwrap_err();
        assert!(err.to_string().contains("{region}"), "{err}");
    }

    #[test]
    fn lists_placeholders() {
        assert_eq!(placeholders("/a/{x}/b/{id}"), vec!["x".to_string(), "id".to_string()]);
        assert!(placeholders("/plain").is_empty());
    }

    #[test]
    fn path_checks_refuse_escapes() {
        assert!(check_path("/customers", "option path").is_ok());
        assert!(check_path("/customers?status=active", "option path").is_ok());
        for bad in ["customers", "//evil.test/x", "/a/../b", "/a/%2e%2e/b", "http://evil.test/", "/a#frag", "/a b"] {
            assert!(check_path(bad, "option path").is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn query_encoding_keeps_commas_readable() {
        let mut url = "https://x.test/items".to_string();
        append_query(&mut url, &[("properties".into(), "email,firstname".into()), ("q".into(), "a b&c".into())]);
        assert_eq!(url, "https://x.test/items?properties=email,firstname&q=a%20b%26c");
    }

    #[test]
    fn readable_display_decodes_the_query() {
        assert_eq!(
            display_readable("http://h:1/q?q=SELECT%20Id%20FROM%20Account%20WHERE%20Name%20%3D%20%27a%27&x=1"),
            "/q?q=SELECT Id FROM Account WHERE Name = 'a'&x=1"
        );
        assert_eq!(display_readable("http://h:1/a%20b"), "/a%20b");
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode_component("a%20b%2Fc+d", true), "a b/c d");
        assert_eq!(decode_component("100%", false), "100%");
        assert_eq!(decode_component("%zz", false), "%zz");
    }

    #[test]
    fn links_resolve_against_the_configured_origin() {
        let base = "http://127.0.0.1:9000/api";
        assert_eq!(
            resolve_link(base, "https://api.hubapi.com/crm/v3/objects/contacts?after=5").unwrap(),
            "http://127.0.0.1:9000/crm/v3/objects/contacts?after=5"
        );
        assert_eq!(
            resolve_link(base, "/services/data/v59.0/query/01g-2000").unwrap(),
            "http://127.0.0.1:9000/services/data/v59.0/query/01g-2000"
        );
        assert_eq!(resolve_link(base, "?page=2").unwrap(), "http://127.0.0.1:9000/api?page=2");
        assert!(resolve_link(base, "//evil.test/x").is_err());
        assert!(resolve_link(base, "page2").is_err());
    }

    #[test]
    fn display_origin_drops_userinfo() {
        assert_eq!(display_origin("https://user:pw@x.test:8443/a?b=1"), "https://x.test:8443");
        assert_eq!(display_origin("http://127.0.0.1:9/api"), "http://127.0.0.1:9");
    }

    #[test]
    fn display_path_drops_origin() {
        assert_eq!(display_path("https://user:pw@x.test:8443/a?b=1"), "/a?b=1");
        assert_eq!(display_path("https://x.test"), "/");
    }

    #[test]
    fn display_path_hides_credential_parameters() {
        assert_eq!(
            display_path("http://h:1/faults/stall?api_key=sk_live_1&after=2"),
            "/faults/stall?api_key=[redacted]&after=2"
        );
        assert_eq!(display_readable("http://h:1/q?q=a%20b&access_token=t%201"), "/q?q=a b&access_token=[redacted]");
        assert_eq!(
            redact_query("limit=10&api_key=k1&Api-Key=k2&hapikey=k3&access_token=t&after=5&key="),
            "limit=10&api_key=[redacted]&Api-Key=[redacted]&hapikey=[redacted]&access_token=[redacted]&after=5&key="
        );
        for name in ["client_secret", "refresh_token", "PASSWORD", "sig", "token", "api%5Fkey"] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["limit", "after", "properties", "keyword", "monkey", "pageToken", "page_token_x"] {
            assert!(!is_secret_param(name), "{name}");
        }
    }

    #[test]
    fn markers_are_found_by_pointer() {
        let template = serde_json::json!({"filterGroups": [{"filters": "$filters"}], "a/b": {"~": "$cursor"}});
        assert_eq!(marker_pointer(&template, "cursor").as_deref(), Some("/a~1b/~0"));
        assert_eq!(marker_pointer(&template, "filters").as_deref(), Some("/filterGroups/0/filters"));
        assert_eq!(marker_pointer(&template, "nope"), None);
    }
}
