//! Where deliveries go and what became of them: loopback targets, each provider's subscription, the delivery log
//! that `/_control/webhook_deliveries` lists, and the thread that sends automatic deliveries in order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::event::{Event, Mode, Op, Provider};
use super::sign::{build, Stamp};
use super::transport::post;
use crate::shared::time::iso_ms;

/// How many deliveries the log keeps.
const LOG_CAPACITY: usize = 1000;

/// A loopback URL a webhook may go to.
#[derive(Debug, Clone)]
pub struct Target {
    /// As given (HubSpot's v3 signature covers it).
    pub url: String,
    /// `host:port` as written in the URL (the `Host` header).
    pub(super) host: String,
    pub(super) port: u16,
    /// Path and query (`/` when the URL has none).
    pub(super) path: String,
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

    pub(super) fn subscription(&self, provider: Provider) -> Option<Destination> {
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
    pub(super) fn enqueue(&self, event: Event, dest: Destination) {
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
    let signed = build(event, &dest.target.url, &dest.key, dest.mode, Stamp { now_ms: at_ms, seq });
    (post(&dest.target, signed.headers, signed.body), at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_url_and_split_host_and_path() {
        let t = Target::parse("http://localhost:8080/webhooks/hubspot?x=1").expect("target");
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("localhost:8080", 8080, "/webhooks/hubspot?x=1"));
        assert_eq!(t.url, "http://localhost:8080/webhooks/hubspot?x=1");
    }
}
