//! Transport-independent request/response types plus small encoding helpers
//! (percent-encoding, base64) so the handlers never touch sockets.

use std::net::SocketAddr;

use serde_json::Value;

/// The media type of JSON bodies.
pub const JSON: &str = "application/json";
/// The media type of form bodies.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// One HTTP request, already read off the wire.
#[derive(Debug, Clone, Default)]
pub struct FakeRequest {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// Path without the query string, as sent (not percent-decoded).
    pub path: String,
    /// Raw query string (without the leading `?`), as sent.
    pub raw_query: String,
    /// Percent-decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names in lower case, values as sent, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub remote_addr: Option<SocketAddr>,
}

impl FakeRequest {
    /// Builds a request from a method and a URL such as `/a/b?x=1&y=2`.
    pub fn new(method: &str, url: &str) -> FakeRequest {
        let (path, raw_query) = match url.split_once('?') {
            Some((p, q)) => (p, q),
            None => (url, ""),
        };
        FakeRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            raw_query: raw_query.to_string(),
            query: parse_query(raw_query),
            headers: Vec::new(),
            body: Vec::new(),
            remote_addr: None,
        }
    }

    /// Shorthand for a `GET` request.
    #[cfg(test)]
    pub fn get(url: &str) -> FakeRequest {
        FakeRequest::new("GET", url)
    }

    /// Sets the body.
    #[cfg(test)]
    pub fn body(mut self, body: &str) -> FakeRequest {
        self.body = body.as_bytes().to_vec();
        self
    }

    /// Adds a header (the name is stored in lower case).
    #[cfg(test)]
    pub fn header(mut self, name: &str, value: &str) -> FakeRequest {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Sets the client address (`ip:port`).
    #[cfg(test)]
    pub fn remote(mut self, addr: &str) -> FakeRequest {
        self.remote_addr = addr.parse().ok();
        self
    }

    /// First value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All values of a query parameter, in order.
    pub fn params<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// First value of a header (case-insensitive name).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the `Content-Type` header names the media type `media` (`JSON`, `FORM`; case-insensitive,
    /// parameters such as `charset` are ignored).
    pub fn has_media_type(&self, media: &str) -> bool {
        self.header_value("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
    }

    /// The `Host` header, or the loopback address if the client sent none.
    pub fn host(&self) -> &str {
        match self.header_value("host") {
            Some(h) if !h.is_empty() => h,
            _ => "127.0.0.1",
        }
    }
}

/// What to send back, plus instructions for the transport layer.
#[derive(Debug, Clone)]
pub struct FakeResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Milliseconds to wait before answering.
    pub delay_ms: u64,
    /// Never answer (the transport sleeps for up to 300 s).
    pub stall: bool,
    /// Answer only once `/_control/release` is called (`gate`).
    pub hold: bool,
}

impl FakeResponse {
    /// A JSON response with `Content-Type: application/json`.
    pub fn json(status: u16, value: &Value) -> FakeResponse {
        FakeResponse::raw_json(status, value.to_string().into_bytes())
    }

    /// A response whose body is already-serialised (or deliberately broken) JSON.
    pub fn raw_json(status: u16, body: Vec<u8>) -> FakeResponse {
        FakeResponse {
            status,
            headers: vec![("Content-Type".to_string(), "application/json".to_string())],
            body,
            delay_ms: 0,
            stall: false,
            hold: false,
        }
    }

    /// `204 No Content`: no body and no `Content-Type`.
    pub fn no_content() -> FakeResponse {
        FakeResponse { status: 204, headers: Vec::new(), body: Vec::new(), delay_ms: 0, stall: false, hold: false }
    }

    /// `{"message": msg}` with the given status.
    pub fn message(status: u16, msg: &str) -> FakeResponse {
        FakeResponse::json(status, &serde_json::json!({ "message": msg }))
    }

    /// A request that is never answered (the transport holds it for up to 300 s, then sends this 504).
    pub fn stalled() -> FakeResponse {
        FakeResponse { stall: true, ..FakeResponse::message(504, "stalled request gave up") }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> FakeResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// First value of a response header (case-insensitive name).
    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    #[cfg(test)]
    pub fn json_body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Splits and percent-decodes an `application/x-www-form-urlencoded` query.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(part), String::new()),
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (as space). Malformed escapes are kept verbatim.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Re-encodes query pairs whose key is not in `skip`, each prefixed with `&`.
pub fn extra_query(pairs: &[(String, String)], skip: &[&str]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if skip.contains(&k.as_str()) {
            continue;
        }
        out.push('&');
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (idx, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if idx <= chunk.len() {
                out.push(B64[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional, no whitespace). `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits >= 6 {
        // A single dangling sextet cannot encode a byte.
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing_decodes() {
        let q = parse_query("name=Item%203&a+b=c+d&flag&x=%zz&y=%4");
        assert_eq!(
            q,
            vec![
                ("name".to_string(), "Item 3".to_string()),
                ("a b".to_string(), "c d".to_string()),
                ("flag".to_string(), String::new()),
                ("x".to_string(), "%zz".to_string()),
                ("y".to_string(), "%4".to_string()),
            ]
        );
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_encode("Item 3/é"), "Item%203%2F%C3%A9");
    }

    #[test]
    fn media_types_ignore_case_and_parameters() {
        let req = FakeRequest::get("/").header("Content-Type", "Application/JSON; charset=utf-8");
        assert!(req.has_media_type(JSON));
        assert!(!req.has_media_type(FORM));
        assert!(!FakeRequest::get("/").has_media_type(JSON));
    }

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "test-user:test-password"] {
            let enc = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&enc).as_deref(), Some(s.as_bytes()));
        }
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_decode("not base64!"), None);
    }
}
