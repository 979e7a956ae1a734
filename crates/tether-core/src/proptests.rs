//! Property tests for the parsers that read untrusted input: HTTP requests from any network client
//! (the webhook receiver), page bodies, `Link` headers, next links and webhook deliveries from
//! providers, connector documents and paths from users, and provider values for typed columns.
//! Whatever they are fed, they must not panic, must not allocate or read without bound, and must
//! refuse what they cannot take with an error that says what is wrong (and where).
//!
//! Each property states its claim in its name and first lines. The minimal inputs of the bugs these
//! properties found are kept as regression tests next to them.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Read};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::connector::extract::{ExtractError, PagePlan};
use crate::connector::mapping::{Cell, Target};
use crate::connector::model::PaginationDef;
use crate::connector::options::Options;
use crate::connector::pager::Pager;
use crate::connector::pointer::Pointer;
use crate::connector::record::{Converter, OutputColumn};
use crate::connector::request::Request;
use crate::connector::server::resolve_server;
use crate::connector::table::resolve_table;
use crate::connector::template::{self, Encode};
use crate::connector::webhook::{self, Delivery, Refusal, SignatureDef, SignatureEncoding, WebhookDef};
use crate::connector::{self, Connector};
use crate::error::TetherError;
use crate::http::inbound::{read_request, Answer};

/// Cases per property: enough to find the shallow bugs on every run, few enough that the whole file
/// runs in seconds in a debug build on a shared CI machine. Failures are not persisted to files:
/// the minimal inputs found are kept as regression tests here instead.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig { cases: n, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------
// Shared generators

/// Any characters, controls and astral ones included (multi-byte characters are where byte
/// slicing goes wrong).
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Strings built from the pieces URL and path parsers react to, mixed with arbitrary characters.
fn urlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "/", "/", "//", ".", "..", "%", "%2e", "%2E", "%2F", "%2f", "%5C", "%25", "%zz", "%e2%82", "?", "#", ":",
            "://", "@", "http://", "https://", "HTTP://", " ", "\t", "\r\n", "\u{0}", "\u{7f}", "\u{85}", "é", "𝄞",
            "a", "Z", "9", "~", "+", "&", "=", "{", "}", "{id}", "\\", "[", "]", "evil.test", "127.0.0.1:9",
        ])
        .prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// A key for generated JSON objects: a connector word, or anything.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(VOCABULARY.as_slice()),
        1 => any_text(8),
    ]
}

/// Arbitrary JSON of bounded depth and size; strings and keys lean on connector vocabulary so that
/// generated documents get past the first checks.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("JSON has no NaN or infinities", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(VOCABULARY.as_slice()).prop_map(Value::String),
        urlish().prop_map(Value::String),
        any_text(16).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(json_key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every object key and short string value of the built-in connector files. Computed once: proptest
/// builds recursive strategies anew for each generated value.
static VOCABULARY: LazyLock<Vec<String>> = LazyLock::new(connector_vocabulary);

fn connector_vocabulary() -> Vec<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::String(s) if s.len() <= 40 => {
                out.insert(s.clone());
            }
            _ => {}
        }
    }
    let mut words = BTreeSet::new();
    for (_, doc) in BUILTIN_DOCUMENTS.iter() {
        walk(doc, &mut words);
    }
    words.into_iter().collect()
}

/// The built-in connector files as JSON values.
static BUILTIN_DOCUMENTS: LazyLock<Vec<(&'static str, Value)>> = LazyLock::new(builtin_documents);

fn builtin_documents() -> Vec<(&'static str, Value)> {
    connector::BUILTIN_FILES
        .iter()
        .map(|(file, text)| (*file, serde_json::from_str(text).expect("a built-in connector file is JSON")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The webhook receiver's HTTP/1.1 reader (`http::inbound::read_request`): bytes from anyone.

/// The head limit the reader documents ("Longest request line plus headers accepted", 16 KiB).
const DOCUMENTED_MAX_HEAD: usize = 16 * 1024;
/// `BufReader`'s buffer: how far past what it parsed the reader may have read.
const READ_AHEAD: usize = 8 * 1024;

/// A refusal is a 4xx/5xx answer whose JSON body has a non-empty message.
fn check_refusal(answer: &Answer) -> Result<(), TestCaseError> {
    prop_assert!((400..=599).contains(&answer.status), "refusal with status {}", answer.status);
    let body: Value = serde_json::from_str(&answer.body)
        .map_err(|e| TestCaseError::fail(format!("refusal body is not JSON ({e}): {}", answer.body)))?;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    prop_assert!(!message.trim().is_empty(), "refusal without a message: {}", answer.body);
    Ok(())
}

/// Serves `head` in chunks of `chunk` bytes, then fails: the parser reading past the head means it
/// went for a body it should have refused.
struct HeadOnly {
    head: Vec<u8>,
    at: usize,
    chunk: usize,
    reads_past_head: usize,
}

impl Read for HeadOnly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.head.len() {
            self.reads_past_head += 1;
            return Err(io::Error::other("read past the head"));
        }
        let n = buf.len().min(self.chunk).min(self.head.len() - self.at);
        buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A client that never stops sending `pattern`; counts what it served.
struct Endless {
    pattern: Vec<u8>,
    at: usize,
    served: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        for b in buf.iter_mut() {
            *b = self.pattern[self.at % self.pattern.len()];
            self.at += 1;
        }
        self.served += buf.len();
        Ok(buf.len())
    }
}

/// Bytes that look like HTTP often enough to get past the request line.
fn http_ish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "GET", "POST", "PUT", " ", "  ", "\t", "/", "/webhooks/hs", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "\r\n", "\n",
            "\r", ":", ": ", "Content-Length", "content-length: ", "Transfer-Encoding: chunked", "Host: a", "0", "5",
            "+3", "-1", "18446744073709551616", "999999999999999", "\r\n\r\n", "abc", "\u{0}", "é",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// An HTTP token (method, header name).
fn token(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~".chars().collect::<Vec<_>>(),
        ),
        1..=max,
    )
    .prop_map(String::from_iter)
}

/// A header value as sent: visible ASCII with inner spaces; the reader trims the ends.
fn header_value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select((b' '..=b'~').map(char::from).collect::<Vec<_>>()), 0..30)
        .prop_map(|v| String::from_iter(v).trim().to_string())
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Any bytes: no panic; a refusal is a 4xx/5xx with a message; an accepted body fits max_body.
    #[test]
    fn inbound_any_bytes_are_read_or_refused_clearly(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), http_ish_bytes()],
        max_body in 0usize..64,
    ) {
        match read_request(&mut bytes.as_slice(), max_body) {
            Ok(request) => {
                let len = request.body.len();
                prop_assert!(len <= max_body, "body of {len} bytes over max {max_body}");
                prop_assert!(!request.method.is_empty() && !request.target.is_empty());
            }
            Err(answer) => check_refusal(&answer)?,
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A declared Content-Length above max_body (up to u64::MAX, 10^15 among them) is refused with
    /// 413 before any of the body is read or allocated: the reader fails if asked for more than the head.
    #[test]
    fn inbound_content_length_over_max_body_is_413_without_reading_it(
        max_body in 0usize..(1 << 20),
        over in prop_oneof![Just(1_000_000_000_000_000u64), any::<u64>(), 1u64..1000],
        method in prop::sample::select(vec!["POST", "PUT", "GET"]),
        chunk in 1usize..64,
        padding in prop::collection::vec((token(12), header_value()), 0..5),
    ) {
        let length = (max_body as u64).saturating_add(over.max(1));
        let mut head = format!("{method} /webhooks/x HTTP/1.1\r\n");
        for (name, value) in &padding {
            if !matches!(name.to_ascii_lowercase().as_str(), "content-length" | "transfer-encoding") {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str(&format!("Content-Length: {length}\r\n\r\n"));
        let mut reader = HeadOnly { head: head.into_bytes(), at: 0, chunk, reads_past_head: 0 };
        match read_request(&mut reader, max_body) {
            Ok(r) => {
                let accepted = format!("accepted a body of {length} bytes with max {max_body}: {:?}", r.target);
                return Err(TestCaseError::fail(accepted));
            }
            Err(answer) => {
                check_refusal(&answer)?;
                prop_assert_eq!(answer.status, 413, "{}", answer.body);
            }
        }
        prop_assert_eq!(reader.reads_past_head, 0, "the reader went for the refused body");
    }

    /// A head (request line and headers, up to the blank line) longer than the documented limit is
    /// refused with 431, and one within it is read. Heads are generated around the limit.
    #[test]
    fn inbound_heads_over_the_documented_limit_are_431(
        target_size in (DOCUMENTED_MAX_HEAD - 300)..(DOCUMENTED_MAX_HEAD + 300),
        values in prop::collection::vec(0usize..600, 0..20),
        pad_in_header in any::<bool>(),
    ) {
        let mut headers = String::new();
        for (i, n) in values.iter().enumerate() {
            headers.push_str(&format!("X-F{i}: {}\r\n", "v".repeat(*n)));
        }
        headers.push_str("Content-Length: 0\r\n");
        let bare = format!("POST /w HTTP/1.1\r\n{headers}X-Pad: \r\n\r\n").len();
        let pad = "p".repeat(target_size - bare);
        let head = if pad_in_header {
            format!("POST /w HTTP/1.1\r\n{headers}X-Pad: {pad}\r\n\r\n")
        } else {
            format!("POST /w{pad} HTTP/1.1\r\n{headers}X-Pad: \r\n\r\n")
        };
        prop_assert_eq!(head.len(), target_size);
        match read_request(&mut head.as_bytes(), 0) {
            Ok(_) => prop_assert!(head.len() <= DOCUMENTED_MAX_HEAD, "accepted a head of {} bytes", head.len()),
            Err(answer) => {
                check_refusal(&answer)?;
                let len = head.len();
                prop_assert!(len > DOCUMENTED_MAX_HEAD, "refused a head of {len} bytes: {}", answer.body);
                prop_assert_eq!(answer.status, 431, "{}", answer.body);
            }
        }
    }

    /// A client that never stops sending (one endless line, endless headers, or requests without
    /// end) is answered after a bounded read: at most the head limit, max_body and one buffer.
    #[test]
    fn inbound_endless_input_is_read_for_a_bounded_length(
        pattern in prop_oneof![
            prop::collection::vec(any::<u8>(), 1..64),
            prop::sample::select(vec![
                "a", "X: y\r\n", "\n", "POST / HTTP/1.1\r\nContent-Length: 9\r\n", "GET / HTTP/1.1\r\n\r\n",
            ])
                .prop_map(|s| s.as_bytes().to_vec()),
        ],
        max_body in 0usize..4096,
    ) {
        let mut client = Endless { pattern, at: 0, served: 0 };
        match read_request(&mut client, max_body) {
            Ok(r) => prop_assert!(r.body.len() <= max_body),
            Err(answer) => check_refusal(&answer)?,
        }
        let bound = DOCUMENTED_MAX_HEAD + 1 + max_body + 2 * READ_AHEAD;
        prop_assert!(client.served <= bound, "read {} bytes (bound {bound})", client.served);
    }

    /// Well-formed requests come back as sent: method, target, headers (names lower-cased, values
    /// trimmed, in order) and exactly Content-Length bytes of body, whatever follows it.
    #[test]
    fn inbound_well_formed_requests_round_trip(
        method in token(10),
        target in "/[!-~]{0,40}",
        version in prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0"]),
        headers in prop::collection::vec((token(20), header_value()), 0..8),
        length_at in any::<prop::sample::Index>(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        trailing in prop::collection::vec(any::<u8>(), 0..32),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(n, _)| !matches!(n.to_ascii_lowercase().as_str(), "content-length" | "transfer-encoding"))
            .collect();
        headers.insert(length_at.index(headers.len() + 1), ("Content-Length".into(), body.len().to_string()));
        let mut raw = format!("{method} {target} {version}{eol}").into_bytes();
        for (name, value) in &headers {
            raw.extend_from_slice(format!("{name}: {value}{eol}").as_bytes());
        }
        raw.extend_from_slice(eol.as_bytes());
        raw.extend_from_slice(&body);
        raw.extend_from_slice(&trailing);
        let request = match read_request(&mut raw.as_slice(), body.len()) {
            Ok(r) => r,
            Err(answer) => return Err(TestCaseError::fail(format!("refused a well-formed request: {}", answer.body))),
        };
        prop_assert_eq!(&request.method, &method);
        prop_assert_eq!(&request.target, &target);
        let expected: Vec<(String, String)> =
            headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        prop_assert_eq!(&request.headers, &expected);
        prop_assert_eq!(&request.body, &body);
        for (name, value) in &expected {
            // The first header of a name is the one `header` finds.
            let first = expected.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            prop_assert_eq!(request.header(name), first, "header {} ({})", name, value);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. URL templates, paths and links (`connector::template`): paths from users, links from providers.

/// RFC 3986 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The output holds only `keep` bytes and `%XX` escapes with upper-case hex digits.
fn only_escapes_and(out: &str, keep: impl Fn(u8) -> bool) -> Result<(), TestCaseError> {
    let b = out.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).unwrap_or(&[]);
            prop_assert!(
                hex.len() == 2 && hex.iter().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c)),
                "bad escape at {i} in {out:?}"
            );
            i += 3;
        } else {
            prop_assert!(keep(b[i]), "unescaped {:?} in {out:?}", b[i] as char);
            i += 1;
        }
    }
    Ok(())
}

/// A base URL as a server sets it: origin, then maybe a path and a query.
fn base_url() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["http", "https"]),
        "[a-z0-9][a-z0-9.-]{0,15}",
        prop::option::of(1u16..=u16::MAX),
        "(/[a-z0-9._-]{0,8}){0,3}",
        prop::option::of("[a-z0-9=&]{0,10}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let origin = match port {
                Some(p) => format!("{scheme}://{host}:{p}"),
                None => format!("{scheme}://{host}"),
            };
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            (origin.clone(), format!("{origin}{path}{query}"))
        })
}

/// A link as a provider might send it: absolute to anywhere, scheme-relative, a path, a query, junk.
fn provider_link() -> impl Strategy<Value = String> {
    prop_oneof![
        urlish(),
        (prop::sample::select(vec!["http://", "https://", "//", "/", "?", ""]), urlish())
            .prop_map(|(a, b)| format!("{a}{b}")),
        ("https?://[a-z.@:]{0,20}", urlish()).prop_map(|(a, b)| a + &b),
        any_text(20),
    ]
}

/// The path segments of a path (before `?` or `#`), fully percent-decoded, with `\` taken as `/` as
/// some servers do.
fn decoded_segments(path: &str) -> Vec<String> {
    let path_only = path.split(['?', '#']).next().unwrap_or("");
    template::decode_component(path_only, false).replace('\\', "/").split('/').map(str::to_string).collect()
}

fn check_accepted_path(path: &str) -> Result<(), TestCaseError> {
    prop_assert!(path.starts_with('/') && !path.starts_with("//"), "{path:?}");
    prop_assert!(!path.contains("://") && !path.contains('#'), "{path:?}");
    prop_assert!(!path.chars().any(|c| c.is_control() || c == ' '), "{path:?}");
    let path_only = path.split('?').next().unwrap_or("");
    for segment in path_only.split('/') {
        let decoded = template::decode_component(segment, false);
        prop_assert!(decoded != "." && decoded != "..", "segment {segment:?} of accepted path {path:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(1000))]

    /// No function of `template` panics on any string; errors say something.
    #[test]
    fn template_functions_take_any_string(
        s in prop_oneof![urlish(), any_text(40)],
        t in urlish(),
        plus in any::<bool>(),
    ) {
        if let Err(e) = template::check_path(&s, "option path") {
            prop_assert!(!e.to_string().trim().is_empty());
        }
        let _ = template::encode_component(&s);
        let _ = template::encode_query(&s);
        let _ = template::decode_component(&s, plus);
        let _ = template::display_path(&s);
        let _ = template::display_origin(&s);
        let _ = template::display_readable(&s);
        let _ = template::split_origin(&s);
        let _ = template::placeholders(&s);
        let mut url = s.clone();
        template::append_query(&mut url, &[(t.clone(), s.clone())]);
        let rendered = template::render(&s, "path", |name| match name.len() % 3 {
            0 => None,
            1 => Some((t.clone(), Encode::Segment)),
            _ => Some((t.clone(), Encode::Path)),
        });
        if let Err(e) = rendered {
            prop_assert!(!e.to_string().trim().is_empty());
        }
        if let Err(m) = template::resolve_link(&s, &t) {
            prop_assert!(!m.trim().is_empty());
        }
    }

    /// Encoding is reversible and leaves only unreserved characters (plus `, : @ $ *` in queries)
    /// and `%XX`.
    #[test]
    fn template_encoding_round_trips_and_escapes_everything_else(s in prop_oneof![any_text(40), urlish()]) {
        let segment = template::encode_component(&s);
        only_escapes_and(&segment, is_unreserved)?;
        prop_assert_eq!(template::decode_component(&segment, false), s.clone());
        prop_assert_eq!(template::decode_component(&segment, true), s.clone());
        let query = template::encode_query(&s);
        only_escapes_and(&query, |b| is_unreserved(b) || b",:@$*".contains(&b))?;
        prop_assert_eq!(template::decode_component(&query, true), s);
    }

    /// A path `check_path` accepts starts with one `/`, names no scheme or host, has no fragment,
    /// space or control character, and no `.` / `..` segment, also once each segment is decoded.
    #[test]
    fn template_accepted_paths_stay_below_the_base_url(path in prop_oneof![
        urlish().prop_map(|s| format!("/{s}")),
        urlish(),
        "(/(\\.|\\.\\.|%2[eE]|%2[eE]%2[eE]|\\.%2[eE]|[a-z]{1,3})){1,5}",
    ]) {
        if template::check_path(&path, "option path").is_ok() {
            check_accepted_path(&path)?;
        }
    }

    /// Whatever link a provider sends, the resolved URL is on the base URL's origin (the authority
    /// ends where the base's does), or an error says why not.
    #[test]
    fn template_resolved_links_stay_on_the_base_origin((origin, base) in base_url(), link in provider_link()) {
        match template::resolve_link(&base, &link) {
            Ok(url) => {
                prop_assert!(url.starts_with(&origin), "{link:?} on {base:?} resolved to {url:?}");
                let rest = &url[origin.len()..];
                prop_assert!(rest.starts_with(['/', '?']), "{link:?} on {base:?} resolved to {url:?}");
                prop_assert_eq!(template::split_origin(&url).map(|(o, _)| o), Some(origin.as_str()));
            }
            Err(m) => prop_assert!(!m.trim().is_empty()),
        }
    }

    /// `display_origin` and `display_path` show no userinfo of a URL (RFC 3986 userinfo characters).
    #[test]
    fn template_displayed_urls_hide_userinfo(
        (origin, base) in base_url(),
        userinfo in "USERNAME(:[A-Za-z0-9._~!$&'()*+,;=:%-]{0,16})?",
    ) {
        let url = origin.replacen("://", &format!("://{userinfo}@"), 1) + &base[origin.len()..];
        let shown = template::display_origin(&url);
        prop_assert_eq!(&shown, &origin);
        let path = template::display_path(&url);
        prop_assert!(!path.contains("USERNAME") && !path.contains('@'), "{url:?} shows path {path:?}");
    }

    /// A value put in a `{placeholder}` with `Encode::Segment` stays one path segment and decodes back.
    #[test]
    fn template_segment_values_stay_one_segment(value in prop_oneof![any_text(20), urlish()]) {
        let rendered = template::render("/items/{id}/notes", "path", |_| Some((value.clone(), Encode::Segment)));
        if value.split(['/', '\\']).any(|p| p == "." || p == "..") {
            prop_assert!(rendered.is_err(), "{value:?} gave {rendered:?}");
            return Ok(());
        }
        let rendered = rendered.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let segments: Vec<&str> = rendered.split('/').collect();
        prop_assert_eq!(segments.len(), 4, "{:?} gave {:?}", value, rendered);
        prop_assert_eq!(template::decode_component(segments[2], false), value);
    }
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Stricter than the check_path property: no `.`/`..` segment once the whole path is decoded,
    /// `%2F` and `\` included (servers that decode `%2e` before resolving dot segments often decode
    /// `%2F` too, and some take `\` for `/`).
    #[test]
    fn template_accepted_paths_have_no_dot_segments_after_full_decoding(path in prop_oneof![
        urlish().prop_map(|s| format!("/{s}")),
        "(/([a-z]|\\.\\.|%2[fF]|%5[cC]|\\\\){1,4}){1,4}",
    ]) {
        if template::check_path(&path, "option path").is_ok() {
            for segment in decoded_segments(&path) {
                prop_assert!(segment != "." && segment != "..", "accepted {path:?}");
            }
        }
    }

    /// A value substituted with `Encode::Segment` (an id from a WHERE clause) never makes a `.` or
    /// `..` segment, which the provider's server would resolve to another resource.
    #[test]
    fn template_segment_values_are_never_dot_segments(value in prop_oneof![any_text(3), "\\.{1,3}", urlish()]) {
        match template::render("/items/{id}", "path", |_| Some((value.clone(), Encode::Segment))) {
            Ok(rendered) => {
                prop_assert!(template::check_path(&rendered, "path").is_ok(), "id {value:?} gave {rendered:?}")
            }
            Err(e) => {
                prop_assert!(value.split(['/', '\\']).any(|p| p == "." || p == ".."), "id {value:?} refused: {e}");
                prop_assert!(e.to_string().contains("would name another path"), "{e}");
            }
        }
    }
    // Not a property: userinfo holding `/`, `?` or `#` (`http://USERNAME:?@h`) is not userinfo to a URL
    // parser (WHATWG and the http crate end the authority at `?`, so the host is `USERNAME`); it is
    // shown as the host it is, and a request would go there.
}

#[test]
fn template_regressions() {
    assert!(template::check_path("/..%2f", "option path").is_err());
    assert!(template::check_path("/a/..%5Cb", "option path").is_err());
    let rendered = template::render("/items/{id}", "path", |_| Some(("..".to_string(), Encode::Segment)));
    assert!(rendered.is_err(), "{rendered:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Connector documents (`connector::load`): JSON from users (tether.register_connector).

/// A rejection is a connector error naming a JSON path, with a message.
fn check_connector_error(text: &str, result: Result<Connector, TetherError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(TetherError::Connector { path, message }) => {
            prop_assert!(path.starts_with('/'), "path {path:?} is not a JSON path (message {message:?}) for {text}");
            prop_assert!(!message.trim().is_empty(), "empty message at {path} for {text}");
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("not a connector error: {other:?} for {text}"))),
    }
}

/// One change to a document: at the value reached by following `route` (indexes taken modulo the
/// number of children), drop it, replace it, or add an unknown key next to it.
#[derive(Debug, Clone)]
enum Mutation {
    Drop,
    Replace(Value),
    AddKey(String, Value),
}

fn mutate(doc: &mut Value, route: &[usize], mutation: Mutation) {
    let Some((&first, rest)) = route.split_first() else {
        if let Mutation::Replace(v) = mutation {
            *doc = v;
        }
        return;
    };
    // Go down while the route goes on and the chosen child is a container; change the node reached.
    if !rest.is_empty() {
        let child = match doc {
            Value::Object(m) if !m.is_empty() => {
                let len = m.len();
                m.values_mut().nth(first % len)
            }
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                items.get_mut(first % len)
            }
            _ => None,
        };
        if let Some(child) = child.filter(|c| c.is_object() || c.is_array()) {
            return mutate(child, rest, mutation);
        }
    }
    match (doc, mutation) {
        (Value::Object(m), Mutation::AddKey(k, v)) => {
            m.insert(k, v);
        }
        (Value::Object(m), Mutation::Drop) if !m.is_empty() => {
            let key = m.keys().nth(first % m.len()).cloned().unwrap_or_default();
            m.remove(&key);
        }
        (Value::Object(m), Mutation::Replace(v)) if !m.is_empty() => {
            let len = m.len();
            if let Some(slot) = m.values_mut().nth(first % len) {
                *slot = v;
            }
        }
        (Value::Array(items), Mutation::Drop) if !items.is_empty() => {
            let len = items.len();
            items.remove(first % len);
        }
        (Value::Array(items), Mutation::Replace(v)) if !items.is_empty() => {
            let len = items.len();
            items[first % len] = v;
        }
        (Value::Array(items), Mutation::AddKey(_, v)) => items.push(v),
        _ => {}
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        any_json().prop_map(Mutation::Replace),
        (json_key(), any_json()).prop_map(|(k, v)| Mutation::AddKey(k, v)),
        (any_text(6), any_json()).prop_map(|(k, v)| Mutation::AddKey(format!("unknown_{k}"), v)),
    ]
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Built-in connector files with one to four changes (a key dropped, a value replaced by another
    /// JSON value of any type, an unknown key added) load or are refused with a JSON path.
    #[test]
    fn connector_mutated_builtins_load_or_name_the_path(
        which in any::<prop::sample::Index>(),
        changes in prop::collection::vec((prop::collection::vec(any::<usize>(), 1..8), mutation()), 1..5),
    ) {
        let docs = &*BUILTIN_DOCUMENTS;
        let (_, mut doc) = docs[which.index(docs.len())].clone();
        for (route, m) in changes {
            mutate(&mut doc, &route, m);
        }
        let text = doc.to_string();
        check_connector_error(&text, crate::connector::load(&text))?;
    }

    /// Arbitrary JSON documents (and connector-shaped ones: objects with connector keys) load or are
    /// refused with a JSON path.
    #[test]
    fn connector_arbitrary_documents_load_or_name_the_path(doc in prop_oneof![
        any_json(),
        prop::collection::btree_map(json_key(), any_json(), 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        any_json().prop_map(|objects| json!({"name": "demo", "base_url": "https://x.test", "objects": objects})),
        (any_json(), any_json()).prop_map(|(list, extra)| json!({
            "name": "demo",
            "objects": {"items": {"list": list, "columns": extra}},
            "webhooks": {"signature": {"scheme": "stripe"}, "objects": {"x": "items"}},
        })),
    ]) {
        let text = doc.to_string();
        check_connector_error(&text, crate::connector::load(&text))?;
    }

    /// Text that is not JSON, or is cut short, or nests deeper than the parser's limit, is refused
    /// with a path, never a stack overflow.
    #[test]
    fn connector_broken_text_is_refused_with_a_path(
        which in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        junk in prop_oneof![any_text(20), Just(String::new())],
        depth in 0usize..3000,
    ) {
        let docs = &*BUILTIN_DOCUMENTS;
        let full = docs[which.index(docs.len())].1.to_string();
        let mut end = cut.index(full.len() + 1);
        while !full.is_char_boundary(end) {
            end -= 1;
        }
        let text = format!("{}{junk}", &full[..end]);
        check_connector_error(&text, crate::connector::load(&text))?;
        let nested = format!(
            concat!(
                r#"{{"name": "demo", "objects": {{"x": {{"list": {{"path": "/x"}}, "#,
                r#""create": {{"method": "POST", "path": "/x", "body": {}"$record"{}}}}}}}}}"#
            ),
            "[".repeat(depth), "]".repeat(depth));
        check_connector_error(&nested, crate::connector::load(&nested))?;
    }
}

/// Where a connector error points: the value at its path, or (for a missing member) the object
/// that lacks it. None when the path is not a JSON pointer into the document.
fn pointed_at<'d>(doc: &'d Value, path: &str) -> Option<&'d Value> {
    let pointer = Pointer::parse(path).ok()?;
    let tokens = pointer.tokens();
    pointer.get(doc).or_else(|| {
        let (_, parent) = tokens.split_last()?;
        Pointer::from_tokens(parent).get(doc).filter(|v| v.is_object())
    })
}

/// A field of a column or filter definition: a known one, or an unknown plain one.
fn plain_member() -> impl Strategy<Value = (String, Value)> {
    let name = prop::sample::select(vec![
        "name",
        "type",
        "pointer",
        "field",
        "separator",
        "read_only",
        "column",
        "op",
        "param",
        "default",
        "bogus",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec!["id", "text", "integer", "/id", "eq", "in", "q"]).prop_map(|v| json!(v)),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(json!([])),
        Just(json!({})),
    ];
    (name.prop_map(str::to_string), value)
}

proptest! {
    #![proptest_config(cases(256))]

    /// The path of a refusal is a JSON pointer into the document (all keys here are plain words, so
    /// there is nothing to escape): errors inside array elements included.
    #[test]
    fn connector_error_paths_point_into_the_document(
        columns in prop::collection::vec(prop::collection::vec(plain_member(), 0..6), 1..4),
        filters in prop::collection::vec(prop::collection::vec(plain_member(), 0..6), 0..3),
    ) {
        let object = |members: &Vec<(String, Value)>| Value::Object(members.iter().cloned().collect());
        let doc = json!({
            "name": "demo",
            "base_url": "https://x.test",
            "objects": {"items": {
                "list": {"path": "/items"},
                "columns": columns.iter().map(object).collect::<Vec<_>>(),
                "filters": filters.iter().map(object).collect::<Vec<_>>(),
            }},
        });
        let text = doc.to_string();
        if let Err(TetherError::Connector { path, message }) = Connector::from_json(&text) {
            prop_assert!(pointed_at(&doc, &path).is_some(), "path {path:?} ({message}) is not in {text}");
        }
    }
}

#[test]
fn connector_regression_error_path_inside_an_array() {
    let text = r#"{"name": "demo", "objects": {"items": {"list": {"path": "/items"}, "columns": [{"pointer": 1}]}}}"#;
    match Connector::from_json(text) {
        Err(TetherError::Connector { path, .. }) => assert_eq!(path, "/objects/items/columns/0/pointer"),
        other => panic!("expected a connector error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Pagination (`connector::pager` with `connector::extract`): page bodies, Link headers and next
//    links from providers.

const BASE: &str = "http://127.0.0.1:9";

/// A listing to page through: the pagination and records pointer of one built-in object, or one of
/// the styles the built-ins do not use on lists (offset; a cursor in the body, as searches send it).
#[derive(Debug, Clone)]
struct Listing {
    label: String,
    records: String,
    pagination: PaginationDef,
}

static LISTINGS: LazyLock<Vec<Listing>> = LazyLock::new(listings);

fn listings() -> Vec<Listing> {
    let mut out = Vec::new();
    let mut styles = BTreeSet::new();
    for (name, c) in connector::builtins().expect("built-in connectors load") {
        let objects =
            c.objects.iter().map(|(n, o)| (n.clone(), o)).chain(c.generic_object.iter().map(|o| ("*".into(), o)));
        for (object, def) in objects {
            // One listing per distinct (pagination, records) pair is enough.
            if styles.insert(format!("{:?} {}", def.list.pagination, def.list.records)) {
                out.push(Listing {
                    label: format!("{name}.{object}"),
                    records: def.list.records.clone(),
                    pagination: def.list.pagination.clone(),
                });
            }
        }
    }
    out.push(Listing {
        label: "offset with total".into(),
        records: "/data".into(),
        pagination: PaginationDef::Offset { param: "offset".into(), total: Some("/total".into()) },
    });
    out.push(Listing {
        label: "cursor in the body".into(),
        records: "/results".into(),
        pagination: PaginationDef::Cursor {
            cursor: "/paging/next/after".into(),
            param: None,
            body: Some("/after".into()),
        },
    });
    out
}

fn first_request(listing: &Listing) -> Request {
    match &listing.pagination {
        PaginationDef::Cursor { body: Some(_), .. } => Request {
            method: "POST".into(),
            url: format!("{BASE}/search"),
            headers: vec![("X-Kept".into(), "1".into())],
            body: Some(json!({"filters": [], "limit": 2})),
        },
        _ => Request::get(format!("{BASE}/items?limit=2")),
    }
}

/// The pointer each listing's records are identified by (for `last_id`).
const RECORD_ID_POINTER: &str = "/id";

/// One page through the scan's own steps: parse what is needed, then advance the pager. `Ok(true)`:
/// there is a next page; `Ok(false)`: the end; `Err`: the clear error the scan stops with.
fn feed_page(pager: &mut Pager, plan: &PagePlan, body: &[u8], headers: &[(String, String)]) -> Result<bool, String> {
    let page = if body.iter().all(u8::is_ascii_whitespace) {
        crate::connector::extract::ExtractedPage { page_values: vec![None], records: Vec::new() }
    } else {
        plan.parse(body).map_err(|e| match e {
            ExtractError::Json(e) => format!("malformed JSON: {e}"),
            ExtractError::Records(m) => m,
        })?
    };
    let last_id = page.records.last().and_then(|r| r.first().cloned().flatten());
    let value = if pager.page_pointer().is_some() { page.page_values.first().and_then(|v| v.as_ref()) } else { None };
    pager.advance(value, headers, page.records.len(), body, last_id.as_ref()).map_err(|e| e.0)?;
    Ok(pager.next_request().is_some())
}

fn plan_for(listing: &Listing, pager: &Pager) -> Result<PagePlan, TestCaseError> {
    let records = Pointer::parse(&listing.records).map_err(TestCaseError::fail)?;
    let id = Pointer::parse(RECORD_ID_POINTER).map_err(TestCaseError::fail)?;
    Ok(PagePlan::new(&records, &pager.page_pointer().into_iter().collect::<Vec<_>>(), &[id]))
}

/// What a page holds: a body built at the listing's pointers, or raw bytes; and its headers.
#[derive(Debug, Clone)]
struct PageInput {
    records: Vec<Value>,
    page_value: Value,
    raw: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

fn link_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(30),
        (provider_link(), prop::sample::select(vec!["next", "\"next\"", "prev", "\"last next\"", "NEXT", ""]))
            .prop_map(|(l, rel)| format!("<{l}>; rel={rel}")),
        (urlish(), urlish()).prop_map(|(a, b)| format!("<{a}>; rel=\"prev\", <{b}>; rel=\"next\"")),
        urlish(),
    ]
}

fn page_input() -> impl Strategy<Value = PageInput> {
    (
        prop::collection::vec(prop_oneof![any_json(), any_json().prop_map(|id| json!({"id": id}))], 0..5),
        prop_oneof![
            any_json(),
            provider_link().prop_map(Value::String),
            any::<u64>().prop_map(Value::from),
            Just(Value::Bool(true)),
        ],
        prop::option::weighted(0.3, prop_oneof![prop::collection::vec(any::<u8>(), 0..200), http_ish_bytes()]),
        prop::collection::vec(
            (prop::sample::select(vec!["Link", "link", "X-Other"]).prop_map(str::to_string), link_header()),
            0..3,
        ),
    )
        .prop_map(|(records, page_value, raw, headers)| PageInput { records, page_value, raw, headers })
}

fn page_body(listing: &Listing, pager: &Pager, input: &PageInput) -> Vec<u8> {
    if let Some(raw) = &input.raw {
        return raw.clone();
    }
    let mut doc = Value::Null;
    if let Ok(p) = Pointer::parse(&listing.records) {
        let _ = p.set(&mut doc, Value::Array(input.records.clone()));
    }
    if let Some(p) = pager.page_pointer() {
        // May clash with the records' place; then the body simply lacks it.
        let _ = p.set(&mut doc, input.page_value.clone());
    }
    doc.to_string().into_bytes()
}

/// The page body and headers that hand `token` to the pager as this listing's cursor (or link, or
/// last record id, or page content).
fn page_with_cursor(listing: &Listing, token: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let link = format!("/items?after={}", template::encode_component(token));
    let two = |last_id: &str| json!([{"id": "first"}, {"id": last_id}]);
    let mut doc = Value::Null;
    let mut headers = Vec::new();
    let records = match &listing.pagination {
        PaginationDef::LastId { has_more, .. } => {
            let _ = Pointer::parse(has_more).map(|p| p.set(&mut doc, Value::Bool(true)));
            two(token)
        }
        PaginationDef::Cursor { cursor, .. } => {
            let _ = Pointer::parse(cursor).map(|p| p.set(&mut doc, Value::String(token.into())));
            two("x")
        }
        PaginationDef::NextUrl { next_url } => {
            let _ = Pointer::parse(next_url).map(|p| p.set(&mut doc, Value::String(link.clone())));
            two("x")
        }
        PaginationDef::LinkHeader => {
            headers.push(("Link".to_string(), format!("<{link}>; rel=\"next\"")));
            two("x")
        }
        // Numbered pages: the token is the page's content.
        _ => two(token),
    };
    if let PaginationDef::Page { total_pages: Some(t), .. } | PaginationDef::Offset { total: Some(t), .. } =
        &listing.pagination
    {
        let _ = Pointer::parse(t).map(|p| p.set(&mut doc, json!(1_000_000)));
    }
    if let Ok(p) = Pointer::parse(&listing.records) {
        let _ = p.set(&mut doc, records);
    }
    (doc.to_string().into_bytes(), headers)
}

/// Feed pages whose cursors are `tokens`, in order: each new cursor continues the listing, and the
/// first repeated one (for numbered pages: the same page twice in a row) stops it with an error.
fn check_repeats(listing: &Listing, tokens: &[String]) -> Result<(), TestCaseError> {
    if listing.pagination == PaginationDef::None {
        return Ok(());
    }
    let mut pager = Pager::new(BASE, first_request(listing), listing.pagination.clone());
    let plan = plan_for(listing, &pager)?;
    let numbered = matches!(listing.pagination, PaginationDef::Page { .. } | PaginationDef::Offset { .. });
    let mut seen = HashSet::new();
    let mut previous: Option<&String> = None;
    for (i, token) in tokens.iter().enumerate() {
        let (body, headers) = page_with_cursor(listing, token);
        let repeated = if numbered { previous == Some(token) } else { !seen.insert(token.clone()) };
        previous = Some(token);
        match feed_page(&mut pager, &plan, &body, &headers) {
            Ok(more) => {
                prop_assert!(!repeated, "{}: page {i} repeats {token:?} but paging went on", listing.label);
                prop_assert!(more, "{}: page {i} ({token:?}) ended the listing", listing.label);
            }
            Err(m) => {
                prop_assert!(repeated, "{}: page {i} ({token:?}) refused: {m}", listing.label);
                prop_assert!(!m.trim().is_empty());
                return Ok(());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Arbitrary page bodies (bytes, any JSON, JSON shaped like the listing's pages) and Link headers,
    /// for every pagination style: no panic; each page gives a next request, the end, or an error with
    /// a message; a next request stays on the base URL's origin and keeps the first request's headers.
    #[test]
    fn pager_arbitrary_pages_continue_end_or_fail_clearly(
        which in any::<prop::sample::Index>(),
        pages in prop::collection::vec(page_input(), 1..6),
    ) {
        let all = &*LISTINGS;
        let listing = &all[which.index(all.len())];
        let first = first_request(listing);
        let mut pager = Pager::new(BASE, first.clone(), listing.pagination.clone());
        let plan = plan_for(listing, &pager)?;
        for input in &pages {
            let body = page_body(listing, &pager, input);
            match feed_page(&mut pager, &plan, &body, &input.headers) {
                Ok(true) => {
                    let next = pager.next_request().ok_or_else(|| TestCaseError::fail("more pages but no request"))?;
                    let rest = next.url.strip_prefix(BASE).unwrap_or("<elsewhere>");
                    prop_assert!(rest.starts_with(['/', '?']), "{}: next URL {:?}", listing.label, next.url);
                    prop_assert_eq!(&next.headers, &first.headers);
                }
                Ok(false) => {
                    prop_assert!(pager.position().is_none());
                    break;
                }
                Err(m) => {
                    prop_assert!(!m.trim().is_empty(), "{}: empty error", listing.label);
                    break;
                }
            }
        }
    }

    /// A provider handing out cursors (links, last ids) again is stopped at the first repeat, never
    /// paged forever; numbered pages stop on the same page twice in a row.
    #[test]
    fn pager_repeated_cursors_are_errors(
        which in any::<prop::sample::Index>(),
        pool in prop::collection::vec("[a-zA-Z0-9_=-]{1,12}", 1..4),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 2..16),
    ) {
        let all = &*LISTINGS;
        let listing = &all[which.index(all.len())];
        let tokens: Vec<String> = picks.iter().map(|i| pool[i.index(pool.len())].clone()).collect();
        check_repeats(listing, &tokens)?;
    }

    /// The same with cursors of any text, long ones included (the error quotes at most 200 bytes).
    #[test]
    fn pager_repeated_unicode_cursors_are_errors(
        which in any::<prop::sample::Index>(),
        pool in prop::collection::vec(
            prop_oneof![any_text(300).prop_filter("a cursor", |s| !s.is_empty()), "a{199}é"],
            1..3,
        ),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 2..8),
    ) {
        let all = &*LISTINGS;
        let listing = &all[which.index(all.len())];
        let tokens: Vec<String> = picks.iter().map(|i| pool[i.index(pool.len())].clone()).collect();
        check_repeats(listing, &tokens)?;
    }

    /// `next_link` takes any Link header values; what it returns is the text between `<` and `>`.
    #[test]
    fn pager_link_headers_of_any_text(values in prop::collection::vec(prop_oneof![link_header(), any_text(40)], 0..4)) {
        let headers: Vec<(String, String)> = values.into_iter().map(|v| ("Link".to_string(), v)).collect();
        if let Some(target) = crate::connector::pager::next_link(&headers) {
            prop_assert!(!target.contains('>'), "{target:?}");
            prop_assert!(headers.iter().any(|(_, v)| v.contains(&format!("<{target}>"))), "{target:?}");
        }
    }
}

#[test]
fn pager_regression_long_repeated_cursor() {
    // The minimal input: the same 201-byte cursor twice, its byte 200 inside the "é".
    let cursor = Value::String(format!("{}é", "a".repeat(199)));
    let style = PaginationDef::Cursor { cursor: "/next".into(), param: Some("after".into()), body: None };
    let mut pager = Pager::new(BASE, Request::get(format!("{BASE}/items")), style);
    assert_eq!(pager.advance(Some(&cursor), &[], 2, b"1", None), Ok(()));
    let second = pager.advance(Some(&cursor), &[], 2, b"2", None);
    assert!(second.is_err_and(|e| e.0.contains("a second time")));
}

// ---------------------------------------------------------------------------------------------
// 5. The record mapper (`connector::mapping`, `connector::record`): provider values for typed columns.

fn all_targets() -> Vec<Target> {
    vec![
        Target::Text,
        Target::Int2,
        Target::Int4,
        Target::Int8,
        Target::Numeric,
        Target::Float4,
        Target::Float8,
        Target::Bool,
        Target::Date,
        Target::Timestamptz,
        Target::Json,
        Target::Jsonb,
        Target::TextArray { separator: None },
        Target::TextArray { separator: Some(";".into()) },
        Target::TextArray { separator: Some(String::new()) },
        Target::TextArray { separator: Some("é".into()) },
        Target::Input { type_name: "uuid".into() },
    ]
}

/// A converter over the generic REST connector reading column `name` at `/v`, with the id at `/id`.
fn converter(name: &str, target: Target) -> Result<Converter, TestCaseError> {
    let opts = |p: &[(&str, &str)]| -> Options { p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let server = resolve_server(&opts(&[("connector", "rest"), ("base_url", BASE)]), connector::find)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let columns = vec![("id".to_string(), Options::new()), (name.to_string(), opts(&[("json_pointer", "/v")]))];
    let table = resolve_table(&server, &opts(&[("path", "/items")]), &columns, "public.items")
        .map_err(|e| TestCaseError::fail(format!("column {name:?}: {e}")))?;
    Ok(Converter::new(Arc::new(table), "public.items", &[OutputColumn { column: 1, target }]))
}

/// Provider values, with the edges of every numeric type and date-like strings.
fn provider_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => any_json(),
        1 => prop::sample::select(vec![
            json!(32767), json!(32768), json!(-32769), json!(2147483647), json!(2147483648i64), json!(i64::MAX),
            json!(i64::MIN), json!(u64::MAX), json!(1e300), json!(-1e300), json!(3.5e38), json!(0.5), json!(-0.0),
            json!(1e11), json!(-1e11), json!(9.2e15), json!("NaN"), json!("-Infinity"), json!("1e99999"),
            json!("99999999999999999999"), json!("-9223372036854775809"), json!("+5"), json!(" 7 "),
            json!("2024-02-29"), json!("2023-02-29"), json!("0000-01-01"), json!("9999-12-31T23:59:60Z"),
            json!("2024-01-31T24:00:00+23:59"), json!("2024-01-31T12:00:00.1234567890123456789Z"),
            json!("2024-01-31T12:00:00-"), json!("2024-01-31T12:00:00+1"), json!("2024-01-31é12:00"),
            json!("99999999999999999999999"), json!("9223372036854775807"),
        ]),
        1 => concat!(
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{0,12})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
        )
            .prop_map(Value::String),
        1 => "[+-]?[0-9]{0,25}(\\.[0-9]{0,5})?([eE][+-]?[0-9]{0,4})?".prop_map(Value::String),
    ]
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Any value for any column type: a cell, or an error that names the column (any name) and says
    /// why; the streaming page reader gives the same result as reading the whole record.
    #[test]
    fn mapper_any_value_converts_or_names_the_column(
        target in prop::sample::select(all_targets()),
        value in provider_value(),
        id in prop_oneof![any_json(), Just(json!("rec_1"))],
        name in prop_oneof!["[a-z_][a-z0-9_]{0,20}", any_text(12).prop_filter("a column name", |s| !s.is_empty())],
    ) {
        let converter = converter(&name, target.clone())?;
        // Through JSON text, as records arrive (serde_json's float parsing is not exact to the last bit).
        let body = json!({"results": [{"id": id, "v": value}]}).to_string();
        let parsed: Value = serde_json::from_str(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let whole = converter.row_from_record(&parsed["results"][0]);
        if let Err(e) = &whole {
            let TetherError::Conversion { message, .. } = e else {
                return Err(TestCaseError::fail(format!("not a conversion error: {e:?}")));
            };
            prop_assert!(message.contains(&format!("column \"{name}\"")), "{message}");
            prop_assert!(!message.trim_end().ends_with(':'), "no reason given: {message}");
        }
        let plan = PagePlan::new(&Pointer::parse("/results").map_err(TestCaseError::fail)?, &[], converter.pointers());
        let page = plan.parse(body.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(page.records.len(), 1);
        let streamed = converter.row(page.records[0].clone());
        prop_assert_eq!(format!("{streamed:?}"), format!("{whole:?}"));
    }

    /// Text of any Unicode content arrives in a text column unchanged, through JSON escaping and the
    /// streaming page reader.
    #[test]
    fn mapper_any_text_round_trips_into_text_columns(s in prop_oneof![any_text(60), urlish()]) {
        let converter = converter("t", Target::Text)?;
        let plan = PagePlan::new(&Pointer::parse("").map_err(TestCaseError::fail)?, &[], converter.pointers());
        let body = serde_json::to_vec(&json!([{"id": 1, "v": s}])).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let page = plan.parse(&body).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(page.records.len(), 1);
        let row = converter.row(page.records[0].clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(row, vec![Cell::Text(s)]);
    }

    /// An integer column holds the exact value of a number that is a whole number within the
    /// column's range, or refuses it; nothing is rounded or clamped. Numbers away from the i64
    /// limits (the property below covers those).
    #[test]
    fn mapper_integers_are_exact_or_refused(
        target in prop::sample::select(vec![Target::Int2, Target::Int4, Target::Int8]),
        n in prop_oneof![
            any::<i64>().prop_map(|i| json!(i)),
            (-9.0e18f64..9.0e18).prop_map(|f| json!(f.trunc())),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i.to_string())),
        ],
    ) {
        let cell = crate::connector::mapping::convert(Some(n.clone()), &target);
        if let Ok(Cell::Int(i)) = cell {
            let exact = match &n {
                Value::Number(num) => num.as_i64().map(i128::from).or_else(|| num.as_f64().map(|f| f as i128)),
                Value::String(s) => s.trim().parse::<i128>().ok(),
                _ => None,
            };
            prop_assert_eq!(exact, Some(i128::from(i)), "{} became {}", n, i);
        }
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// The same at the i64 limits: 2^63 written as a float is out of range for bigint.
    #[test]
    fn mapper_integers_at_the_i64_limit_are_exact_or_refused(f in prop::sample::select(vec![
        2f64.powi(63), -(2f64.powi(63)), 2f64.powi(63) - 1024.0, 2f64.powi(64),
    ])) {
        if let Ok(Cell::Int(i)) = crate::connector::mapping::convert(Some(json!(f)), &Target::Int8) {
            prop_assert_eq!(f as i128, i128::from(i), "{} became {}", f, i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Webhook deliveries (`connector::webhook`): requests from anyone who knows the URL.

const NOW: u64 = 1_763_700_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The signature schemes of the built-in connectors, with the webhook definitions they come in.
static WEBHOOK_DEFS: LazyLock<Vec<(String, WebhookDef)>> = LazyLock::new(webhook_defs);

fn webhook_defs() -> Vec<(String, WebhookDef)> {
    connector::builtins()
        .expect("built-in connectors load")
        .iter()
        .filter_map(|(name, c)| c.webhooks.clone().map(|w| (name.clone(), w)))
        .collect()
}

/// The secret a scheme takes, from random key bytes (Standard Webhooks wants `whsec_<base64>`).
fn secret_for(scheme: &SignatureDef, key: &[u8]) -> String {
    match scheme {
        SignatureDef::StandardWebhooks => format!("whsec_{}", b64(key)),
        _ => String::from_utf8_lossy(key).into_owned(),
    }
}

const HUBSPOT_URL: &str = "https://example.test/webhooks/hs";

/// A delivery signed the way the provider signs it, at `at` seconds.
fn signed(scheme: &SignatureDef, secret: &str, body: &[u8], at: u64) -> Delivery {
    let mut headers: Vec<(String, String)> = Vec::new();
    match scheme {
        SignatureDef::HubspotV3 => {
            let ms = (at * 1000).to_string();
            let sig = mac(secret.as_bytes(), &[b"POST", HUBSPOT_URL.as_bytes(), body, ms.as_bytes()]);
            headers.push(("x-hubspot-signature-v3".into(), b64(&sig)));
            headers.push(("x-hubspot-request-timestamp".into(), ms));
        }
        SignatureDef::Stripe => {
            let sig = hex(&mac(secret.as_bytes(), &[at.to_string().as_bytes(), b".", body]));
            headers.push(("stripe-signature".into(), format!("t={at},v1={sig}")));
        }
        SignatureDef::Shopify => {
            headers.push(("x-shopify-hmac-sha256".into(), b64(&mac(secret.as_bytes(), &[body]))));
            headers.push(("x-shopify-triggered-at".into(), rfc3339(at)));
        }
        SignatureDef::StandardWebhooks => {
            let key = base64::engine::general_purpose::STANDARD
                .decode(secret.trim_start_matches("whsec_"))
                .expect("secret_for makes valid base64");
            let sig = mac(&key, &[b"msg_1.", at.to_string().as_bytes(), b".", body]);
            headers.push(("webhook-id".into(), "msg_1".into()));
            headers.push(("webhook-timestamp".into(), at.to_string()));
            headers.push(("webhook-signature".into(), format!("v1,{}", b64(&sig))));
        }
        SignatureDef::HmacSha256 { header, prefix, encoding, timestamp_header } => {
            let sig = match timestamp_header {
                Some(th) => {
                    headers.push((th.to_ascii_lowercase(), at.to_string()));
                    mac(secret.as_bytes(), &[at.to_string().as_bytes(), b".", body])
                }
                None => mac(secret.as_bytes(), &[body]),
            };
            let sig = match encoding {
                SignatureEncoding::Hex => hex(&sig),
                SignatureEncoding::Base64 => b64(&sig),
            };
            headers.push((header.to_ascii_lowercase(), format!("{prefix}{sig}")));
        }
    }
    Delivery { method: "POST".into(), url: HUBSPOT_URL.into(), headers, body: body.to_vec() }
}

/// Seconds since the epoch as RFC 3339 UTC.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

fn check_webhook_refusal(refusal: &Refusal) -> Result<(), TestCaseError> {
    prop_assert!(matches!(refusal.status(), 400 | 401), "{refusal:?}");
    prop_assert!(!refusal.message().trim().is_empty(), "{refusal:?}");
    Ok(())
}

/// Header names a scheme reads, and others.
fn webhook_header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "x-hubspot-signature-v3", "x-hubspot-request-timestamp", "stripe-signature", "x-shopify-hmac-sha256",
            "x-shopify-triggered-at", "x-shopify-topic", "x-shopify-webhook-id", "webhook-id", "webhook-timestamp",
            "webhook-signature", "x-signature", "x-signature-timestamp",
        ])
        .prop_map(str::to_string),
        1 => token(12).prop_map(|t| t.to_ascii_lowercase()),
    ]
}

/// Header values that look like signatures and timestamps, fresh ones included, and anything else.
fn webhook_header_value() -> impl Strategy<Value = String> {
    let sig = prop::collection::vec(any::<u8>(), 32);
    prop_oneof![
        any_text(30),
        sig.clone().prop_map(|s| b64(&s)),
        sig.clone().prop_map(|s| format!("sha256={}", hex(&s))),
        (sig.clone(), 0u64..600).prop_map(|(s, d)| format!("t={},v1={}", NOW - 300 + d, hex(&s))),
        sig.prop_map(|s| format!("v1,{} v1,", b64(&s))),
        (0u64..600).prop_map(|d| (NOW - 300 + d).to_string()),
        (0u64..600).prop_map(|d| ((NOW - 300 + d) * 1000).to_string()),
        (0u64..600).prop_map(|d| rfc3339(NOW - 300 + d)),
        any::<u64>().prop_map(|n| n.to_string()),
    ]
}

/// Strings shaped like RFC 3339 times whose numbers stay in the ranges of real times.
fn rfc3339_like() -> impl Strategy<Value = String> {
    (
        0i64..10_000,
        0i64..100,
        0i64..100,
        0i64..100,
        0i64..100,
        0i64..100,
        "(\\.[0-9]{0,12})?",
        "([Zz]|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{1,3})?",
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}"))
}

proptest! {
    #![proptest_config(cases(300))]

    /// For each built-in scheme: a delivery signed with the secret verifies; the same with one body
    /// bit flipped, another secret, or a clock past the tolerance does not.
    #[test]
    fn webhook_signed_deliveries_verify_and_tampered_ones_do_not(
        which in any::<prop::sample::Index>(),
        key in prop::collection::vec(any::<u8>(), 1..40),
        body in prop::collection::vec(any::<u8>(), 0..300),
        flip in any::<prop::sample::Index>(),
        skew in 301u64..100_000,
    ) {
        let defs = &*WEBHOOK_DEFS;
        let (name, def) = &defs[which.index(defs.len())];
        let scheme = &def.signature;
        let secret = secret_for(scheme, &key);
        let good = signed(scheme, &secret, &body, NOW);
        let verdict = webhook::verify(scheme, &secret, &good, now(), webhook::DEFAULT_TOLERANCE);
        prop_assert_eq!(verdict, Ok(()), "{}: a correctly signed delivery", name);
        if !body.is_empty() {
            let mut tampered = good.clone();
            let bit = flip.index(body.len() * 8);
            tampered.body[bit / 8] ^= 1 << (bit % 8);
            let r = webhook::verify(scheme, &secret, &tampered, now(), webhook::DEFAULT_TOLERANCE);
            prop_assert!(matches!(r, Err(Refusal::BadSignature(_))), "{name}: flipped bit {bit}: {r:?}");
        }
        let other = secret_for(scheme, &[&key[..], b"x"].concat());
        let r = webhook::verify(scheme, &other, &good, now(), webhook::DEFAULT_TOLERANCE);
        prop_assert!(matches!(r, Err(Refusal::BadSignature(_))), "{name}: other secret: {r:?}");
        let later = now() + Duration::from_secs(skew);
        let r = webhook::verify(scheme, &secret, &good, later, webhook::DEFAULT_TOLERANCE);
        prop_assert!(matches!(r, Err(Refusal::Stale(_))), "{name}: {skew} s later: {r:?}");
    }

    /// Deliveries with made-up headers (random signatures, fresh timestamps, junk) never verify, and
    /// each refusal says why.
    #[test]
    fn webhook_unsigned_or_forged_deliveries_are_refused(
        which in any::<prop::sample::Index>(),
        key in prop::collection::vec(any::<u8>(), 1..40),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            any_json().prop_map(|v| v.to_string().into_bytes()),
        ],
        headers in prop::collection::vec((webhook_header_name(), webhook_header_value()), 0..6),
        url in prop_oneof![Just(HUBSPOT_URL.to_string()), urlish()],
        method in prop::sample::select(vec!["POST", "GET", ""]),
    ) {
        let defs = &*WEBHOOK_DEFS;
        let (name, def) = &defs[which.index(defs.len())];
        let secret = secret_for(&def.signature, &key);
        let delivery = Delivery { method: method.into(), url, headers, body };
        match webhook::verify(&def.signature, &secret, &delivery, now(), webhook::DEFAULT_TOLERANCE) {
            Ok(()) => return Err(TestCaseError::fail(format!("{name}: a forged delivery verified: {delivery:?}"))),
            Err(r) => check_webhook_refusal(&r)?,
        }
    }

    /// Shopify's X-Shopify-Triggered-At is not covered by the signature: anything in it (any text,
    /// RFC 3339 shapes) is a time, a refusal with a message, never a panic.
    #[test]
    fn webhook_shopify_triggered_at_takes_any_text(
        at in prop_oneof![any_text(40), urlish(), rfc3339_like()],
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let scheme = SignatureDef::Shopify;
        let mut delivery = signed(&scheme, "secret", &body, NOW);
        delivery.headers.retain(|(k, _)| k != "x-shopify-triggered-at");
        delivery.headers.push(("x-shopify-triggered-at".into(), at));
        if let Err(r) = webhook::verify(&scheme, "secret", &delivery, now(), webhook::DEFAULT_TOLERANCE) {
            check_webhook_refusal(&r)?;
            prop_assert!(matches!(r, Refusal::Malformed(_) | Refusal::Stale(_)), "{r:?}");
        }
    }

    /// Any body and headers, for each built-in connector's webhook definition: the events, or a 400
    /// with a message. An event's object is one of the connector's, and a deletion's topic ends in
    /// one of the delete actions.
    #[test]
    fn webhook_events_of_any_body(
        which in any::<prop::sample::Index>(),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            any_json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(event(), 0..4).prop_map(|events| Value::Array(events).to_string().into_bytes()),
            event().prop_map(|e| e.to_string().into_bytes()),
        ],
        headers in prop::collection::vec((webhook_header_name(), prop_oneof![topic(), webhook_header_value()]), 0..4),
    ) {
        let defs = &*WEBHOOK_DEFS;
        let (name, def) = &defs[which.index(defs.len())];
        let delivery = Delivery { method: "POST".into(), url: HUBSPOT_URL.into(), headers, body };
        match webhook::events(def, &delivery) {
            Ok(events) => {
                if def.events.is_some() {
                    let doc: Value =
                        serde_json::from_slice(&delivery.body).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let at = def.events.as_deref().and_then(|p| Pointer::parse(p).ok());
                    let expected = at.and_then(|p| p.get(&doc).cloned());
                    prop_assert_eq!(Some(events.len()), expected.as_ref().and_then(Value::as_array).map(Vec::len));
                } else {
                    prop_assert_eq!(events.len(), 1);
                }
                let objects: BTreeSet<&String> = def.objects.values().collect();
                for e in &events {
                    if let Some(o) = &e.object {
                        prop_assert!(objects.contains(o), "{name}: object {o:?}");
                    }
                    if e.deleted {
                        let topic = e.topic.as_deref().unwrap_or("");
                        let listed = def.delete_actions.iter().any(|a| topic.ends_with(a.as_str()));
                        prop_assert!(listed, "{name}: deleted by {topic:?}");
                    }
                }
            }
            Err(r) => {
                check_webhook_refusal(&r)?;
                prop_assert!(matches!(r, Refusal::Malformed(_)), "{r:?}");
            }
        }
    }
}

fn topic() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}([./][a-z]{0,8}){0,3}",
        ("[a-z/]{0,14}", prop::sample::select(vec![".deleted", "/delete", ".deletion", "/deleted", ".created"]))
            .prop_map(|(a, b)| a + b),
        any_text(12),
    ]
}

/// An event shaped like the built-in providers' ones, with arbitrary values here and there.
fn event() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(vec![
        "eventId",
        "subscriptionType",
        "objectId",
        "id",
        "type",
        "scope",
        "record_id",
        "data",
    ]);
    (
        prop::collection::btree_map(field, prop_oneof![any_json(), topic().prop_map(Value::String)], 0..6),
        prop_oneof![any_json(), "[a-z0-9]{1,6}".prop_map(Value::String)],
    )
        .prop_map(|(fields, id)| {
            let mut m: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            m.entry("data").or_insert_with(|| json!({"id": id.clone(), "object": {"id": id}}));
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// RFC 3339 shapes with any integers in them (Triggered-At comes unsigned from anyone who has
    /// captured one signed Shopify delivery).
    #[test]
    fn webhook_shopify_triggered_at_with_any_numbers(
        (y, mo, d, h, mi, s) in (0..=i64::MAX, 0..=i64::MAX, 0..=i64::MAX, 0..=i64::MAX, 0..=i64::MAX, 0..=i64::MAX),
        off in prop::option::of((any::<bool>(), 0..=i64::MAX, 0..=i64::MAX)),
    ) {
        let off = match off {
            None => "Z".to_string(),
            Some((neg, oh, om)) => format!("{}{oh}:{om}", if neg { '-' } else { '+' }),
        };
        let at = format!("{y}-{mo}-{d}T{h}:{mi}:{s}{off}");
        let scheme = SignatureDef::Shopify;
        let mut delivery = signed(&scheme, "secret", b"{}", NOW);
        delivery.headers.retain(|(k, _)| k != "x-shopify-triggered-at");
        delivery.headers.push(("x-shopify-triggered-at".into(), at.clone()));
        // A panic fails the case too (proptest catches it and shrinks the input).
        if let Err(r) = webhook::verify(&scheme, "secret", &delivery, now(), webhook::DEFAULT_TOLERANCE) {
            check_webhook_refusal(&r)?;
        }
    }
}

#[test]
fn webhook_regression_triggered_at_overflow() {
    let scheme = SignatureDef::Shopify;
    let mut delivery = signed(&scheme, "secret", b"{}", NOW);
    delivery.headers.retain(|(k, _)| k != "x-shopify-triggered-at");
    delivery.headers.push(("x-shopify-triggered-at".into(), "9223372036854775807-01-01T00:00:00Z".into()));
    let verdict = webhook::verify(&scheme, "secret", &delivery, now(), webhook::DEFAULT_TOLERANCE);
    assert!(matches!(verdict, Err(Refusal::Malformed(_) | Refusal::Stale(_))), "{verdict:?}");
}

#[test]
fn webhook_shopify_triggered_at_in_range_is_fresh() {
    // The generator's RFC 3339 writer agrees with the parser (else the properties above test little).
    let scheme = SignatureDef::Shopify;
    let delivery = signed(&scheme, "secret", b"{}", NOW);
    assert_eq!(webhook::verify(&scheme, "secret", &delivery, now(), webhook::DEFAULT_TOLERANCE), Ok(()));
    assert_eq!(rfc3339(NOW), "2025-11-21T04:40:00Z");
}
