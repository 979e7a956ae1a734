//! `tether.request` and `tether.request_pages`: any call to a server's API from SQL, through the same
//! engine as foreign tables (base URL, credentials from the user mapping, OAuth2, rate limit, retries,
//! timeouts, interrupts, the connector's body encoding and error messages). Who may call: roles with
//! USAGE on the server and a user mapping for it, since the call runs with that mapping's credentials.
//! The request rules (URL, query, headers, pagination) are plain Rust in `connector::call`.

use std::ffi::{CStr, CString};
use std::sync::Arc;

use pgrx::iter::SetOfIterator;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{Map, Value};

use crate::compat;
use crate::connector::call;
use crate::connector::pointer::Pointer;
use crate::connector::request::{encode_body, Request};
use crate::connector::server::ServerDef;
use crate::connector::template;
use crate::error::{report, OrReport, SqlState, TetherError};
use crate::fdw::options;
use crate::http::pages::{FetchKind, FetchSpec, PageStream};
use crate::http::retry::{self, Call};
use crate::http::{self, wait, Endpoint, HttpResponse};

fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, TetherError> {
    value.ok_or_else(|| TetherError::Option {
        message: format!("the argument {name} must not be NULL"),
        hint: None,
        state: SqlState::InvalidParameterValue,
    })
}

/// The server a call names, as the current user: a tether server it has USAGE on and a user mapping
/// for. Returns the server and the endpoint carrying that mapping's credentials.
fn server_for_call(name: &str) -> Result<(ServerDef, Arc<Endpoint>), TetherError> {
    // SAFETY: backend thread, inside the calling SQL function's transaction; GetUserId takes nothing and
    // returns the current user's oid.
    let user = unsafe { pg_sys::GetUserId() };
    let role = options::role_name(user);
    let c_name = CString::new(name).map_err(|_| TetherError::option("a server name cannot contain NUL", None))?;
    // SAFETY: backend thread, in a transaction (catalog lookup); `c_name` is a NUL-terminated CString that
    // outlives the call. With missing_ok = true an unknown name gives NULL, which is checked just below.
    let server = unsafe { pg_sys::GetForeignServerByName(c_name.as_ptr(), true) };
    if server.is_null() {
        return Err(TetherError::Option {
            message: format!("server \"{name}\" does not exist"),
            hint: Some("SELECT srvname FROM pg_foreign_server lists the servers".into()),
            state: SqlState::UndefinedObject,
        });
    }
    // SAFETY: `server` is non-null (checked above) and points to the ForeignServer GetForeignServerByName
    // palloc'd in this call's memory context. GetForeignDataWrapper raises an ERROR for a missing wrapper
    // and never returns NULL.
    let (oid, fdw) = unsafe { ((*server).serverid, pg_sys::GetForeignDataWrapper((*server).fdwid)) };
    // SAFETY: `fdw` is the non-null ForeignDataWrapper returned just above; its fdwname is a palloc'd,
    // NUL-terminated copy of the catalog name (never NULL), copied into a String here.
    let fdw_name = unsafe { CStr::from_ptr((*fdw).fdwname).to_string_lossy().into_owned() };
    if fdw_name != "tether" {
        return Err(TetherError::option(
            format!("server \"{name}\" belongs to foreign data wrapper \"{fdw_name}\", not tether"),
            None,
        ));
    }
    if !compat::server_usage_granted(oid, user) {
        return Err(TetherError::Option {
            message: format!("permission denied for foreign server {name}"),
            hint: Some(format!("GRANT USAGE ON FOREIGN SERVER {name} TO \"{role}\", and create a user mapping for it")),
            state: SqlState::InsufficientPrivilege,
        });
    }
    let Some(mapping) = options::user_mapping_options(user, oid) else {
        return Err(TetherError::Option {
            message: format!("no user mapping for role \"{role}\" on server \"{name}\""),
            hint: Some(format!(
                "calls run with the credentials of a user mapping: CREATE USER MAPPING FOR \"{role}\" SERVER {name} OPTIONS (...)"
            )),
            state: SqlState::InsufficientPrivilege,
        });
    };
    // SAFETY: `server` is the non-null ForeignServer returned by GetForeignServerByName above, still
    // valid (palloc'd in this call's memory context); its options are NIL or a List of DefElem.
    let def = unsafe { options::server_def(server, name)? };
    let endpoint = options::mapping_endpoint(&def, oid, name, user, Some(&mapping))?;
    Ok((def, endpoint))
}

/// The server (as the current user) and the request that `[server, method, path]` and
/// `[query, body, headers]` describe.
fn prepare(
    names: [Option<&str>; 3],
    json: [Option<JsonB>; 3],
) -> Result<(ServerDef, Arc<Endpoint>, Request), TetherError> {
    let [server, method, path] = names;
    let server = required(server, "server")?;
    let (method, path) = (required(method, "method")?, required(path, "path")?);
    let (def, endpoint) = server_for_call(server)?;
    let [query, body, headers] = json.map(|j| j.map(|j| j.0));
    let req = call::build(&def, server, method, path, query.as_ref(), body.as_ref(), headers.as_ref())?;
    Ok((def, endpoint, req))
}

/// A response body as JSON: None when empty, the parsed value, or for a body that is not JSON (CSV,
/// plain text) the text as a JSON string. A body that says it is JSON but does not parse is an error.
/// `body` is the answer's body, taken out of `resp` (whose headers say how to read it), so that it is
/// not copied.
fn body_value(
    endpoint: &Endpoint,
    shown: &str,
    resp: &HttpResponse,
    body: Vec<u8>,
) -> Result<Option<Value>, TetherError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => Ok(Some(v)),
        Err(e) if resp.header("content-type").is_some_and(|t| t.to_ascii_lowercase().contains("json")) => {
            Err(http::malformed(endpoint, shown, &body, &e))
        }
        Err(_) => match String::from_utf8(body) {
            Ok(text) => Ok(Some(Value::String(text))),
            Err(_) => Err(TetherError::BadResponse {
                connector: endpoint.connector.clone(),
                message: format!("the answer to {shown} is binary, not JSON or text"),
                detail: format!("content type {}", resp.header("content-type").unwrap_or("not given")),
            }),
        },
    }
}

/// `{"status", "headers", "body"}`: the raw answer, header names in lower case (repeated ones joined
/// with ", ").
fn envelope(resp: &HttpResponse, body: Option<Value>) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        let k = k.to_ascii_lowercase();
        match headers.get_mut(&k) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                headers.insert(k, Value::String(v.clone()));
            }
        }
    }
    serde_json::json!({"status": resp.status, "headers": headers, "body": body.unwrap_or(Value::Null)})
}

/// One call to a server's API. The answer's body as jsonb (NULL when empty); a non-2xx answer raises
/// the error a foreign-table write would, unless `raw`, which returns `{status, headers, body}` for any
/// status.
#[pg_extern(volatile, parallel_unsafe)]
fn request(
    server: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    query: default!(Option<JsonB>, "NULL"),
    body: default!(Option<JsonB>, "NULL"),
    headers: default!(Option<JsonB>, "NULL"),
    raw: default!(bool, false),
) -> Option<JsonB> {
    let (def, endpoint, req) = prepare([server, method, path], [query, body, headers]).or_report();
    let encoding = def.connector.body_encoding;
    let sender = endpoint.clone();
    let Request { method, url, headers, body } = req;
    let shown = format!("{method} {}", template::display_path(&url));
    let resp = wait::run(
        move |abandoned| {
            let payload = body.as_ref().map(|b| encode_body(b, encoding));
            let call = Call {
                method: &method,
                url: &url,
                body: payload.as_ref().map(|(b, t)| (b.as_slice(), *t)),
                headers: &headers,
                read_only: false,
                limit: None,
                raw,
            };
            retry::execute(&sender, &call, abandoned)
        },
        &mut || {
            pgrx::check_for_interrupts!();
        },
    )
    .or_report();
    let budget = crate::gucs::max_answer_memory();
    let estimate = http::budget::parsed_size(&resp.body);
    if estimate > budget {
        report(http::budget::too_large(&endpoint.connector, &shown, resp.body.len(), estimate, budget));
    }
    let mut resp = scrubbed(&endpoint, resp);
    let body = std::mem::take(&mut resp.body);
    let value = body_value(&endpoint, &shown, &resp, body).or_report();
    if raw {
        return Some(JsonB(envelope(&resp, value)));
    }
    value.map(JsonB)
}

/// The answer without the credentials of the call: an API that echoes the request (its URL with an
/// `api_key`, its `Authorization` header) must not hand a key to a role that uses it through a
/// mapping it cannot read (a PUBLIC user mapping).
fn scrubbed(endpoint: &Endpoint, mut resp: HttpResponse) -> HttpResponse {
    for (_, value) in resp.headers.iter_mut() {
        *value = endpoint.redact(value);
    }
    if let Ok(text) = std::str::from_utf8(&resp.body) {
        let clean = endpoint.redact(text);
        if clean != text {
            resp.body = clean.into_bytes();
        }
    }
    resp
}

/// A record of a listing without the credentials of the call (see `scrubbed`).
fn scrubbed_record(endpoint: &Endpoint, record: Value) -> Value {
    let text = record.to_string();
    let clean = endpoint.redact(&text);
    if clean == text {
        return record;
    }
    serde_json::from_str(&clean).unwrap_or(Value::String(clean))
}

/// The rows of a listing being streamed: the current page's records, then the next page's.
struct Records {
    stream: PageStream,
    endpoint: Arc<Endpoint>,
    page: std::vec::IntoIter<Vec<Option<Value>>>,
}

impl Iterator for Records {
    type Item = JsonB;

    fn next(&mut self) -> Option<JsonB> {
        loop {
            if let Some(mut record) = self.page.next() {
                let record = record.pop().flatten().unwrap_or(Value::Null);
                return Some(JsonB(scrubbed_record(&self.endpoint, record)));
            }
            let page = self
                .stream
                .next_page(&mut || {
                    pgrx::check_for_interrupts!();
                })
                .unwrap_or_else(|e| report(e))?;
            self.page = page.records.into_iter();
        }
    }
}

/// Every record of a listing, one jsonb row each, fetched page by page as the query reads them.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile, parallel_unsafe)]
fn request_pages(
    server: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    query: default!(Option<JsonB>, "NULL"),
    records_path: default!(Option<&str>, "NULL"),
    pagination: default!(Option<JsonB>, "NULL"),
    body: default!(Option<JsonB>, "NULL"),
    headers: default!(Option<JsonB>, "NULL"),
    max_pages: default!(Option<i32>, "NULL"),
) -> SetOfIterator<'static, JsonB> {
    let max_pages = match max_pages {
        Some(n) if n < 1 => report(TetherError::Option {
            message: format!("max_pages must be at least 1 (got {n})"),
            hint: Some("leave it NULL to read every page".into()),
            state: SqlState::InvalidParameterValue,
        }),
        other => other.map(|n| n as u64),
    };
    let (def, endpoint, first) = prepare([server, method, path], [query, body, headers]).or_report();
    let scrub_with = endpoint.clone();
    let server_name = endpoint.server_name.clone();
    let listing = call::listing(&def, &server_name, first, records_path, pagination.as_ref().map(|j| &j.0)).or_report();
    let stream = PageStream::start(FetchSpec {
        endpoint,
        table: Arc::new(listing.table),
        kind: FetchKind::List(Box::new(listing.fetch)),
        record_pointers: vec![Pointer::parse("").unwrap_or_else(|m| report(TetherError::Internal(m)))],
        limit_hint: None,
        resume: None,
        max_pages,
        max_parsed: Some(crate::gucs::max_answer_memory()),
        prefetch_pages: 0,
    })
    .or_report();
    SetOfIterator::new(Records { stream, endpoint: scrub_with, page: Vec::new().into_iter() })
}
