//! Sending webhooks that `webhook` builds: one plain HTTP/1.1 POST per delivery over `std::net::TcpStream`,
//! to loopback URLs only; subscriptions that deliver after every successful write through a provider's API
//! (`prepare` / `announce`, called by the router around each request); and the log that
//! `/_control/webhook_deliveries` lists. Parameters and answers of the control endpoints are in `control`.
//!
//! Automatic deliveries never touch the API request: the router only queues them, and one delivery thread per
//! server sends them in order (so a receiver sees a create before the update that follows it). `reset` drops
//! the subscriptions, the log and whatever is still queued.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::data::{iso_ms, ObjectType};
use crate::http::{percent_decode, FakeRequest, FakeResponse};
use crate::state::State;
use crate::webhook::{self, Event, Mode, Op, Provider, Stamp};

/// Connect, write and read timeout of a delivery.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest part of a receiver's answer body that is kept.
const MAX_ANSWER: u64 = 1024 * 1024;
/// How many deliveries the log keeps.
const LOG_CAPACITY: usize = 1000;

/// A loopback URL a webhook may go to.
#[derive(Debug, Clone)]
pub struct Target {
    /// As given (HubSpot's v3 signature covers it).
    pub url: String,
    /// `host:port` as written in the URL (the `Host` header).
    host: String,
    port: u16,
    /// Path and query (`/` when the URL has none).
    path: String,
}

impl Target {
    /// Accepts `http://127.0.0.1:PORT/...` and `http://localhost:PORT/...` only.
    pub fn parse(url: &str) -> Result<Target, String> {
        const FORM: &str = "url must be http://127.0.0.1:PORT/path or http://localhost:PORT/path";
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(format!("{FORM}, got '{url}'"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let Some((host, port)) = authority.rsplit_once(':') else {
            return Err(format!("{FORM} (the port is required), got '{url}'"));
        };
        if host != "127.0.0.1" && !host.eq_ignore_ascii_case("localhost") {
            return Err(format!("{FORM}: webhooks go to loopback receivers only, got host '{host}'"));
        }
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("{FORM}: '{port}' is not a port number")),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
            return Err(format!("{FORM}: the path must not contain spaces, control characters or '#', got '{url}'"));
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Target { url: url.to_string(), host: authority.to_string(), port, path })
    }
}

/// Where and how one provider's webhooks are sent.
#[derive(Debug, Clone)]
pub struct Destination {
    pub target: Target,
    /// Signing key (`Provider::signing_key`); empty only with `Mode::Missing`.
    pub key: Vec<u8>,
    pub mode: Mode,
}

/// What a receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// A delivery as sent, and how it went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every header sent, in order (including `Host`, `Content-Length` and `Connection`).
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The receiver's answer, or why there is none.
    pub answer: Result<Answer, String>,
}

impl Outcome {
    /// `{"headers": {...}, "body": "..."}`
    pub fn sent_json(&self) -> Value {
        let headers: Map<String, Value> =
            self.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        json!({ "headers": headers, "body": self.body })
    }
}

/// One line of the delivery log.
#[derive(Debug, Clone)]
struct Delivery {
    provider: Provider,
    url: String,
    object: String,
    id: String,
    op: Op,
    mode: Mode,
    automatic: bool,
    at_ms: u64,
    result: Result<u16, String>,
}

#[derive(Debug, Default)]
struct Log {
    /// Bumped by every reset: deliveries queued before it are neither sent nor logged.
    generation: u64,
    entries: VecDeque<Delivery>,
}

impl Log {
    fn push(&mut self, generation: u64, delivery: Delivery) {
        if generation != self.generation {
            return;
        }
        if self.entries.len() >= LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(delivery);
    }
}

/// An automatic delivery waiting for the delivery thread.
struct Job {
    generation: u64,
    event: Event,
    dest: Destination,
    seq: u64,
}

/// Webhook subscriptions, the delivery log and the delivery queue of one server.
#[derive(Debug)]
pub struct Webhooks {
    subscriptions: Mutex<BTreeMap<Provider, Destination>>,
    /// Number of subscriptions, so that requests skip all webhook work while there is none.
    active: AtomicUsize,
    log: Arc<Mutex<Log>>,
    /// Started with the first automatic delivery.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    /// Source of unique event ids: starts at the start time in microseconds, so ids stay unique across
    /// resets and restarts (receivers may remember the ids they processed).
    seq: AtomicU64,
}

impl Default for Webhooks {
    fn default() -> Webhooks {
        let micros = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
        Webhooks {
            subscriptions: Mutex::new(BTreeMap::new()),
            active: AtomicUsize::new(0),
            log: Arc::new(Mutex::new(Log::default())),
            queue: Mutex::new(None),
            seq: AtomicU64::new(micros),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Webhooks {
    /// Forgets subscriptions and logged deliveries; queued deliveries are dropped.
    pub fn reset(&self) {
        let mut subs = lock(&self.subscriptions);
        subs.clear();
        self.active.store(0, Ordering::Release);
        let mut log = lock(&self.log);
        log.generation += 1;
        log.entries.clear();
    }

    /// Replaces the provider's subscription.
    pub fn subscribe(&self, provider: Provider, dest: Destination) {
        let mut subs = lock(&self.subscriptions);
        subs.insert(provider, dest);
        self.active.store(subs.len(), Ordering::Release);
    }

    /// Removes the provider's subscription; false if there was none.
    pub fn unsubscribe(&self, provider: Provider) -> bool {
        let mut subs = lock(&self.subscriptions);
        let removed = subs.remove(&provider).is_some();
        self.active.store(subs.len(), Ordering::Release);
        removed
    }

    fn subscription(&self, provider: Provider) -> Option<Destination> {
        if self.active.load(Ordering::Acquire) == 0 {
            return None;
        }
        lock(&self.subscriptions).get(&provider).cloned()
    }

    /// `[{"provider", "url", "mode"}]`
    pub fn subscriptions_json(&self) -> Vec<Value> {
        lock(&self.subscriptions)
            .iter()
            .map(|(p, d)| json!({ "provider": p.name(), "url": d.target.url, "mode": d.mode.name() }))
            .collect()
    }

    /// The logged deliveries, oldest first, of one provider or all.
    pub fn deliveries_json(&self, provider: Option<Provider>) -> Vec<Value> {
        lock(&self.log)
            .entries
            .iter()
            .filter(|d| provider.is_none_or(|p| p == d.provider))
            .map(|d| {
                let (status, error) = match &d.result {
                    Ok(s) => (json!(s), Value::Null),
                    Err(e) => (Value::Null, json!(e)),
                };
                json!({
                    "provider": d.provider.name(),
                    "url": d.url,
                    "object": d.object,
                    "id": d.id,
                    "op": d.op.name(),
                    "mode": d.mode.name(),
                    "automatic": d.automatic,
                    "status": status,
                    "error": error,
                    "at": iso_ms(d.at_ms),
                })
            })
            .collect()
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends one delivery now and waits for the answer (at most `TIMEOUT` per step); logged.
    pub fn deliver_now(&self, event: &Event, dest: &Destination) -> Outcome {
        let generation = lock(&self.log).generation;
        let (outcome, at_ms) = deliver(event, dest, self.next_seq());
        lock(&self.log).push(generation, delivery(event, dest, false, at_ms, &outcome));
        outcome
    }

    /// Queues an automatic delivery for the delivery thread (started on first use).
    fn enqueue(&self, event: Event, dest: Destination) {
        let generation = lock(&self.log).generation;
        let job = Job { generation, event, dest, seq: self.next_seq() };
        let mut queue = lock(&self.queue);
        let job = match queue.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let log = Arc::clone(&self.log);
        let spawned =
            std::thread::Builder::new().name("fake-provider-webhooks".into()).spawn(move || deliver_queued(&rx, &log));
        match spawned {
            Ok(_) => {
                // The receiver is alive until `tx` is dropped, so this cannot fail.
                let _ = tx.send(job);
                *queue = Some(tx);
            }
            Err(e) => {
                let outcome = Outcome {
                    headers: Vec::new(),
                    body: String::new(),
                    answer: Err(format!("cannot start the webhook delivery thread: {e}")),
                };
                let entry = delivery(&job.event, &job.dest, true, now_ms(), &outcome);
                lock(&self.log).push(job.generation, entry);
            }
        }
    }
}

/// The delivery thread: sends queued deliveries in order until the server (and its sender) is gone.
fn deliver_queued(rx: &mpsc::Receiver<Job>, log: &Mutex<Log>) {
    while let Ok(job) = rx.recv() {
        if lock(log).generation != job.generation {
            continue;
        }
        let (outcome, at_ms) = deliver(&job.event, &job.dest, job.seq);
        lock(log).push(job.generation, delivery(&job.event, &job.dest, true, at_ms, &outcome));
    }
}

fn delivery(event: &Event, dest: &Destination, automatic: bool, at_ms: u64, outcome: &Outcome) -> Delivery {
    Delivery {
        provider: event.provider,
        url: dest.target.url.clone(),
        object: event.object.clone(),
        id: event.id.clone(),
        op: event.op,
        mode: dest.mode,
        automatic,
        at_ms,
        result: outcome.answer.as_ref().map(|a| a.status).map_err(Clone::clone),
    }
}

/// Builds (stamped now) and sends one delivery; returns how it went and when it was sent.
fn deliver(event: &Event, dest: &Destination, seq: u64) -> (Outcome, u64) {
    let at_ms = now_ms();
    let signed = webhook::build(event, &dest.target.url, &dest.key, dest.mode, Stamp { now_ms: at_ms, seq });
    (post(&dest.target, signed.headers, signed.body), at_ms)
}

// ------------------------------------------------------------------------------------------------ transport

/// POSTs `body` to the target with `Connection: close` and reads the answer.
fn post(target: &Target, own_headers: Vec<(String, String)>, body: String) -> Outcome {
    let mut headers = vec![("Host".to_string(), target.host.clone())];
    headers.extend(own_headers);
    headers.push(("Content-Length".to_string(), body.len().to_string()));
    headers.push(("Connection".to_string(), "close".to_string()));
    let mut request = format!("POST {} HTTP/1.1\r\n", target.path);
    for (k, v) in &headers {
        request.push_str(k);
        request.push_str(": ");
        request.push_str(v);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let answer = exchange(target, request.as_bytes());
    Outcome { headers, body, answer }
}

fn exchange(target: &Target, request: &[u8]) -> Result<Answer, String> {
    // `localhost` is dialled as 127.0.0.1 too: never a name lookup, never anything but loopback.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, target.port));
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let io_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("no answer from {addr} within {} s", TIMEOUT.as_secs())
        }
        _ => format!("exchange with {addr} failed: {e}"),
    };
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io_error)?;
    let _ = stream.set_nodelay(true);
    (&stream).write_all(request).map_err(io_error)?;
    let mut reader = BufReader::new(&stream);
    read_answer(&mut reader).map_err(|e| match e {
        AnswerError::Io(e) => io_error(e),
        AnswerError::Malformed(m) => format!("malformed answer from {addr}: {m}"),
    })
}

enum AnswerError {
    Io(std::io::Error),
    Malformed(String),
}

impl From<std::io::Error> for AnswerError {
    fn from(e: std::io::Error) -> AnswerError {
        AnswerError::Io(e)
    }
}

fn malformed<T>(msg: &str) -> Result<T, AnswerError> {
    Err(AnswerError::Malformed(msg.to_string()))
}

fn read_line(reader: &mut impl BufRead) -> Result<String, AnswerError> {
    let mut line = Vec::new();
    reader.by_ref().take(64 * 1024).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return malformed("the connection closed in the middle of the head");
    }
    Ok(String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string())
}

/// Reads the status line, the headers and the body (by `Content-Length`, chunked, or up to the close).
fn read_answer(reader: &mut impl BufRead) -> Result<Answer, AnswerError> {
    loop {
        let status_line = read_line(reader)?;
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return malformed(&format!("bad status line '{status_line}'"));
        };
        let status = match code.parse::<u16>() {
            Ok(s) if version.starts_with("HTTP/") && (100..=999).contains(&s) => s,
            _ => return malformed(&format!("bad status line '{status_line}'")),
        };
        let mut length = None;
        let mut chunked = false;
        loop {
            let line = read_line(reader)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return malformed(&format!("bad header line '{line}'"));
            };
            let value = value.trim();
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.parse::<u64>().ok();
            } else if name.trim().eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
        // An interim answer (100 Continue...) is followed by the real one.
        if (100..200).contains(&status) {
            continue;
        }
        let mut body = Vec::new();
        match (status, chunked, length) {
            // Nothing follows the head of these, whatever the headers say.
            (204 | 304, _, _) => {}
            (_, true, _) => read_chunked(reader, &mut body)?,
            (_, false, length) => {
                reader.take(length.unwrap_or(MAX_ANSWER).min(MAX_ANSWER)).read_to_end(&mut body)?;
            }
        }
        return Ok(Answer { status, body: String::from_utf8_lossy(&body).into_owned() });
    }
}

fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> Result<(), AnswerError> {
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let Ok(size) = u64::from_str_radix(size, 16) else {
            return malformed(&format!("bad chunk size '{line}'"));
        };
        if size == 0 {
            return Ok(());
        }
        // Keep up to MAX_ANSWER bytes in all, skip the rest.
        let room = MAX_ANSWER.saturating_sub(body.len() as u64);
        let kept = reader.by_ref().take(size.min(room)).read_to_end(body)? as u64;
        let skipped = std::io::copy(&mut reader.by_ref().take(size - kept), &mut std::io::sink())?;
        if kept + skipped < size {
            return malformed("the connection closed in the middle of a chunk");
        }
        read_line(reader)?;
    }
}

// ------------------------------------------------------------------------------------------------ records

/// The record a delivery of `event` describes, read from the fake's data as its API returns it (`None`:
/// unknown, or a provider whose payloads carry no record).
pub fn current_record(state: &State, event: &Event) -> Option<Value> {
    match event.provider {
        Provider::Hubspot => {
            let ty = ObjectType::from_segment(&event.object)?;
            let id = event.id.parse::<u64>().ok()?;
            let data = state.data();
            data.table(ty).find(id, false).map(|rec| crate::hubspot_write::record_value(ty, rec))
        }
        Provider::Stripe => crate::stripe::record(state, &event.object, &event.id),
        Provider::Shopify => crate::shopify::record(state, &event.object, event.id.parse().ok()?),
        Provider::Bigcommerce | Provider::Rest => None,
    }
}

// ------------------------------------------------------------------------------------------------ automatic

/// A request that may write through the API of a provider with a subscription, noted before it runs.
pub struct Pending {
    provider: Provider,
    dest: Destination,
    /// BigCommerce deletes by query (`id:in`) and ignores unknown ids: the ids that exist before it runs.
    doomed: Vec<u64>,
}

/// The provider whose write API serves `path`, if any.
fn provider_of(path: &str) -> Option<Provider> {
    if path.starts_with("/crm/v3/objects/") {
        Some(Provider::Hubspot)
    } else if path.starts_with("/v1/") {
        Some(Provider::Stripe)
    } else if path.starts_with("/admin/api/") {
        Some(Provider::Shopify)
    } else if path.starts_with("/stores/") {
        Some(Provider::Bigcommerce)
    } else if path == "/rest/plain/items" || path.starts_with("/rest/plain/items/") {
        Some(Provider::Rest)
    } else {
        None
    }
}

/// Called by the router before a request runs: `Some` when it may be a write to announce.
pub fn prepare(state: &State, req: &FakeRequest) -> Option<Pending> {
    if !matches!(req.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        return None;
    }
    let provider = provider_of(&req.path)?;
    let dest = state.webhooks.subscription(provider)?;
    let doomed = if provider == Provider::Bigcommerce && req.method == "DELETE" {
        crate::bigcommerce::customers_to_delete(state, req)
    } else {
        Vec::new()
    };
    Some(Pending { provider, dest, doomed })
}

/// Called by the router once the response exists: queues a delivery for each record the request changed.
pub fn announce(state: &State, pending: Pending, req: &FakeRequest, resp: &FakeResponse) {
    for event in changes(&pending, req, resp) {
        state.webhooks.enqueue(event, pending.dest.clone());
    }
}

/// A change found in a request and its answer: (object, id, op, record).
struct Found(String, String, Op, Option<Value>);

impl Found {
    /// A created or updated record, its id read from it (`None` if it has none).
    fn record(object: &str, op: Op, rec: Value) -> Option<Found> {
        let id = id_of(&rec)?;
        Some(Found(object.to_string(), id, op, Some(rec)))
    }

    fn deleted(object: &str, id: &str) -> Option<Found> {
        Some(Found(object.to_string(), id.to_string(), Op::Delete, None))
    }
}

fn id_of(record: &Value) -> Option<String> {
    match &record["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The records a successful write changed, read from the request and the API's own answer.
fn changes(p: &Pending, req: &FakeRequest, resp: &FakeResponse) -> Vec<Event> {
    let replayed = resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("idempotent-replayed"));
    if !(200..300).contains(&resp.status) || replayed {
        return Vec::new();
    }
    let body = || serde_json::from_slice::<Value>(&resp.body).unwrap_or(Value::Null);
    let segs: Vec<String> = req.path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let found: Vec<Option<Found>> = match p.provider {
        Provider::Hubspot => {
            let Some(ty) = segs.get(3).and_then(|s| ObjectType::from_segment(s)) else {
                return Vec::new();
            };
            let each = |op: Op| {
                let results = body()["results"].as_array().cloned().unwrap_or_default();
                results.into_iter().map(|r| Found::record(ty.name, op, r)).collect()
            };
            match (method, segs.get(4..).unwrap_or(&[])) {
                ("POST", []) => vec![Found::record(ty.name, Op::Create, body())],
                ("PATCH", [_]) => vec![Found::record(ty.name, Op::Update, body())],
                ("POST", ["batch", "create"]) => each(Op::Create),
                ("POST", ["batch", "update"]) => each(Op::Update),
                ("DELETE", [id]) => vec![Found::deleted(ty.name, id)],
                _ => Vec::new(),
            }
        }
        Provider::Stripe => match (method, segs.as_slice()) {
            ("POST", ["v1", object]) => vec![Found::record(object, Op::Create, body())],
            ("POST", ["v1", object, _]) => vec![Found::record(object, Op::Update, body())],
            ("DELETE", ["v1", object, id]) => vec![Found::deleted(object, id)],
            _ => Vec::new(),
        },
        Provider::Shopify => {
            // /admin/api/{version}/{object}[/{id}].json; writes answer {"customer": {...}}.
            let Some(last) = segs.last().and_then(|s| s.strip_suffix(".json")) else {
                return Vec::new();
            };
            let inner = || body().as_object().and_then(|o| o.values().next().cloned()).unwrap_or(Value::Null);
            match (method, segs.len(), segs.get(3)) {
                ("POST", 4, _) => vec![Found::record(last, Op::Create, inner())],
                ("PUT", 5, Some(object)) => vec![Found::record(object, Op::Update, inner())],
                ("DELETE", 5, Some(object)) => vec![Found::deleted(object, last)],
                _ => Vec::new(),
            }
        }
        Provider::Bigcommerce => {
            // /stores/{hash}/v3/customers and /stores/{hash}/v3/catalog/products[/{id}]; batch writes answer
            // {"data": [...]}, one product {"data": {...}}, deletes name ids in `id:in`.
            let each = |object: &str, op: Op| {
                let data = body()["data"].as_array().cloned().unwrap_or_default();
                data.into_iter().map(|r| Found::record(object, op, r)).collect()
            };
            match (method, segs.get(2..).unwrap_or(&[])) {
                ("POST", ["v3", "customers"]) => each("customers", Op::Create),
                ("PUT", ["v3", "customers"]) => each("customers", Op::Update),
                ("DELETE", ["v3", "customers"]) => {
                    p.doomed.iter().map(|id| Found::deleted("customers", &id.to_string())).collect()
                }
                ("PUT", ["v3", "catalog", "products"]) => each("products", Op::Update),
                ("PUT", ["v3", "catalog", "products", _]) => {
                    vec![Found::record("products", Op::Update, body()["data"].clone())]
                }
                _ => Vec::new(),
            }
        }
        Provider::Rest => match (method, segs.as_slice()) {
            ("POST", [_, _, object]) => vec![Found::record(object, Op::Create, body())],
            ("PATCH" | "PUT", [_, _, object, _]) => vec![Found::record(object, Op::Update, body())],
            ("DELETE", [_, _, object, id]) => vec![Found::deleted(object, id)],
            _ => Vec::new(),
        },
    };
    found
        .into_iter()
        .flatten()
        .filter_map(|Found(object, id, op, rec)| Event::new(p.provider, &object, &id, op, rec).ok())
        .collect()
}

#[cfg(test)]
mod unit {
    use super::*;

    fn answer(raw: &str) -> Result<(u16, String), String> {
        let mut reader = BufReader::new(raw.as_bytes());
        match read_answer(&mut reader) {
            Ok(a) => Ok((a.status, a.body)),
            Err(AnswerError::Io(e)) => Err(e.to_string()),
            Err(AnswerError::Malformed(m)) => Err(m),
        }
    }

    #[test]
    fn answers_by_length_chunked_to_the_close_and_after_interim_ones() {
        assert_eq!(answer("HTTP/1.1 401 No\r\nContent-Length: 3\r\n\r\nabcdef"), Ok((401, "abc".into())));
        assert_eq!(
            answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            Ok((200, "abcde".into()))
        );
        assert_eq!(answer("HTTP/1.0 500 Oops\r\n\r\nuntil the close"), Ok((500, "until the close".into())));
        assert_eq!(answer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), Ok((204, String::new())));
        assert!(answer("SSH-2.0-OpenSSH\r\n\r\n").is_err_and(|e| e.contains("bad status line")));
        assert!(answer("HTTP/1.1 200 OK\r\nContent-").is_err_and(|e| e.contains("middle of the head")));
        assert!(answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nabc")
            .is_err_and(|e| e.contains("middle of a chunk")));
    }

    #[test]
    fn targets_keep_the_url_and_split_host_and_path() {
        let t = Target::parse("http://localhost:8080/webhooks/hubspot?x=1").expect("target");
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("localhost:8080", 8080, "/webhooks/hubspot?x=1"));
        assert_eq!(t.url, "http://localhost:8080/webhooks/hubspot?x=1");
    }
}
