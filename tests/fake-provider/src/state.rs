//! Shared server state: seed data, counters, request log, fault queue, webhook subscriptions.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use serde_json::Value;

use crate::http::FakeRequest;
use crate::hubspot::data::{CrmTable, ObjectType, COMPANIES, DEALS};
use crate::hubspot::seed_data::{gen_companies, gen_contacts, gen_deals, DEFAULT_DEALS};
use crate::rest::items::gen_items;
use crate::shared::seed::uuid_like;
use crate::webhooks::Webhooks;

/// Largest accepted latency setting (same bound as a stall).
pub const MAX_LATENCY_MS: u64 = 300_000;

/// How many requests the request log keeps.
pub const LOG_CAPACITY: usize = 1000;

/// Upper bound for any seeded data set (protects memory).
pub const MAX_SEED: u64 = 2_000_000;

/// Startup configuration that never changes.
#[derive(Debug, Clone)]
pub struct Config {
    /// Valid credential for bearer / API-key endpoints.
    pub token: String,
    /// The OAuth client secret of `/oauth/v1/token` and `/oauth/token` (`--client-secret`).
    pub client_secret: String,
    /// The OAuth client secret of Salesforce's `/services/oauth2/token` (`--sf-client-secret`).
    pub sf_client_secret: String,
    /// The password of the Basic user `test-user` at `/auth/basic/items` (`--basic-password`).
    pub basic_password: String,
    pub seed_contacts: u64,
    pub seed_companies: u64,
    pub seed_items: u64,
    pub latency_ms: u64,
    /// Seed counts of the other providers' data sets, by name (`--seed accounts=250`).
    pub seeds: std::collections::BTreeMap<String, u64>,
}

impl Config {
    /// The seed count of a data set, or its default.
    pub fn seed(&self, name: &str, default: u64) -> u64 {
        self.seeds.get(name).copied().unwrap_or(default)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: "test-token".to_string(),
            client_secret: crate::oauth::CLIENT_SECRET.to_string(),
            sf_client_secret: crate::salesforce::CLIENT_SECRET.to_string(),
            basic_password: crate::rest::BASIC_PASSWORD.to_string(),
            seed_contacts: 25,
            seed_companies: 12,
            seed_items: 30,
            latency_ms: 0,
            seeds: Default::default(),
        }
    }
}

/// A logged non-control request.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    /// When it arrived: milliseconds since the fake provider started (`State::new`; a reset does not restart
    /// this clock), read under the log's lock, so never decreasing in log order.
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a queued fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer `status` instead of the real answer. With `after`, the request is
    /// still processed (a write happens) and only its response is lost.
    Status {
        status: u16,
        retry_after: Option<String>,
        after: bool,
    },
    Stall,
    /// Answer as usual, but only once released (`gate`).
    Hold,
}

/// A queued fault: applies to the next `remaining` requests under `path_prefix`
/// (and with method `method`, if set).
#[derive(Debug, Clone)]
pub struct Fault {
    pub action: FaultAction,
    pub remaining: u64,
    pub path_prefix: String,
    /// Upper-case method filter; `None` matches every method.
    pub method: Option<String>,
}

impl Fault {
    fn applies_to(&self, req: &FakeRequest) -> bool {
        req.path.starts_with(&self.path_prefix) && self.method.as_ref().is_none_or(|m| *m == req.method)
    }
}

/// The first answer given to a request carrying an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdempotentEntry {
    /// The request body the key was first used with.
    pub request_body: Vec<u8>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Counters and knobs changed by requests; everything `/_control/reset` clears.
#[derive(Debug, Default)]
pub struct Runtime {
    pub requests: u64,
    pub connections: HashSet<SocketAddr>,
    pub by_path: BTreeMap<String, u64>,
    pub by_method: BTreeMap<String, u64>,
    pub log: VecDeque<LoggedRequest>,
    pub faults: VecDeque<Fault>,
    pub latency_ms: u64,
    /// Idempotency keys seen on `POST /rest/plain/items`, with their first answer.
    pub idempotency: HashMap<String, IdempotentEntry>,
}

/// Non-control requests being handled now (from when they are read until their answer is about to be written,
/// held and delayed answers included), and the most at once since the last reset.
#[derive(Debug, Default)]
struct InFlight {
    /// Incremented by every reset: a request that began before it is no longer counted.
    epoch: u64,
    now: u64,
    max: u64,
}

/// One request counted in flight (`State::begin_request`) until this is dropped, however its handling ends.
#[derive(Debug)]
pub struct InFlightGuard<'a> {
    state: &'a State,
    epoch: u64,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.state.in_flight();
        if in_flight.epoch == self.epoch {
            in_flight.now = in_flight.now.saturating_sub(1);
        }
    }
}

/// All mutable seed data.
#[derive(Debug)]
pub struct Data {
    pub contacts: CrmTable,
    pub companies: CrmTable,
    /// Generated on first use (`hubspot::ensure_deals`), because the seed count comes from the
    /// configuration's `--seed deals=N`, which `Data::new` does not see.
    pub deals: Option<CrmTable>,
    pub items: Vec<Value>,
}

/// What `Data::table` answers for deals that were never generated.
static NO_RECORDS: CrmTable = CrmTable { active: Vec::new(), archived: Vec::new() };

impl Data {
    pub fn new(contacts: u64, companies: u64, items: u64) -> Data {
        Data {
            contacts: gen_contacts(contacts),
            companies: gen_companies(companies),
            deals: None,
            items: gen_items(items),
        }
    }

    pub fn table(&self, ty: &ObjectType) -> &CrmTable {
        if ty.name == COMPANIES.name {
            &self.companies
        } else if ty.name == DEALS.name {
            self.deals.as_ref().unwrap_or(&NO_RECORDS)
        } else {
            &self.contacts
        }
    }

    pub fn table_mut(&mut self, ty: &ObjectType) -> &mut CrmTable {
        if ty.name == COMPANIES.name {
            &mut self.companies
        } else if ty.name == DEALS.name {
            self.deals.get_or_insert_with(|| gen_deals(DEFAULT_DEALS))
        } else {
            &mut self.contacts
        }
    }

    /// One more than the largest item id (1 when there are no items).
    pub fn next_item_id(&self) -> u64 {
        self.items.iter().filter_map(|it| it["id"].as_u64()).max().unwrap_or(0).saturating_add(1)
    }
}

#[derive(Debug)]
pub struct State {
    pub config: Config,
    /// Each provider module's own data, by type (`with_store`).
    stores: Mutex<std::collections::HashMap<std::any::TypeId, Box<dyn std::any::Any + Send>>>,
    data: RwLock<Data>,
    runtime: Mutex<Runtime>,
    correlation: AtomicU64,
    /// When the fake provider started: the clock of the request log's `at_ms`.
    started: Instant,
    in_flight: Mutex<InFlight>,
    /// Webhook subscriptions, the delivery log and the delivery thread's queue.
    pub webhooks: Webhooks,
    /// Answers held until a test releases them (`/_control/hold`).
    pub gate: crate::gate::Gate,
}

impl State {
    pub fn new(config: Config) -> State {
        let data = Data::new(config.seed_contacts, config.seed_companies, config.seed_items);
        let runtime = Runtime { latency_ms: config.latency_ms, ..Runtime::default() };
        State {
            config,
            stores: Mutex::new(Default::default()),
            data: RwLock::new(data),
            runtime: Mutex::new(runtime),
            correlation: AtomicU64::new(0x5eed),
            started: Instant::now(),
            in_flight: Mutex::new(InFlight::default()),
            webhooks: Webhooks::default(),
            gate: Default::default(),
        }
    }

    pub fn data(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn data_mut(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn in_flight(&self) -> MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a non-control request in flight until the guard is dropped (the server drops it just before
    /// writing the answer).
    pub fn begin_request(&self) -> InFlightGuard<'_> {
        let mut in_flight = self.in_flight();
        in_flight.now += 1;
        in_flight.max = in_flight.max.max(in_flight.now);
        InFlightGuard { state: self, epoch: in_flight.epoch }
    }

    /// The most requests in flight at once since the last reset.
    pub fn max_in_flight(&self) -> u64 {
        self.in_flight().max
    }

    /// A fresh UUID-shaped correlation id (unique since the last reset).
    pub fn correlation_id(&self) -> String {
        uuid_like(self.correlation.fetch_add(1, Ordering::Relaxed))
    }

    /// Counts and logs a non-control request, then pops the fault that applies
    /// to it (if any). Returns that fault and the current latency.
    pub fn record(&self, req: &FakeRequest) -> (Option<FaultAction>, u64) {
        let mut rt = self.runtime();
        rt.requests += 1;
        if let Some(addr) = req.remote_addr {
            rt.connections.insert(addr);
        }
        *rt.by_path.entry(req.path.clone()).or_insert(0) += 1;
        *rt.by_method.entry(req.method.clone()).or_insert(0) += 1;
        if rt.log.len() >= LOG_CAPACITY {
            rt.log.pop_front();
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in &req.headers {
            match headers.iter_mut().find(|(hk, _)| hk == k) {
                Some((_, hv)) => {
                    hv.push_str(", ");
                    hv.push_str(v);
                }
                None => headers.push((k.clone(), v.clone())),
            }
        }
        let at_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        rt.log.push_back(LoggedRequest {
            at_ms,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            headers,
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
        let mut action = None;
        if let Some(pos) = rt.faults.iter().position(|f| f.applies_to(req)) {
            if let Some(fault) = rt.faults.get_mut(pos) {
                action = Some(fault.action.clone());
                fault.remaining = fault.remaining.saturating_sub(1);
                if fault.remaining == 0 {
                    rt.faults.remove(pos);
                }
            }
        }
        (action, rt.latency_ms)
    }

    /// Clears counters (the requests in flight too: those still being handled are no longer counted), request log,
    /// queued faults, latency, idempotency keys and webhook subscriptions and deliveries (not the data), and
    /// restarts the correlation ids, so a test that resets first sees the same ids on every run.
    pub fn reset(&self) {
        *self.runtime() = Runtime::default();
        {
            let mut in_flight = self.in_flight();
            *in_flight = InFlight { epoch: in_flight.epoch.wrapping_add(1), ..InFlight::default() };
        }
        self.webhooks.reset();
        self.gate.reset();
        self.correlation.store(0x5eed, Ordering::Relaxed);
        for p in crate::providers::MODULES {
            (p.reset)(self);
        }
    }

    /// Run `f` on a provider's store of type T, created by `init` on first use (from the config, e.g. its
    /// seed counts).
    pub fn with_store<T: Send + 'static, R>(&self, init: impl FnOnce(&Config) -> T, f: impl FnOnce(&mut T) -> R) -> R {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let entry = stores.entry(std::any::TypeId::of::<T>()).or_insert_with(|| Box::new(init(&self.config)));
        match entry.downcast_mut::<T>() {
            Some(store) => f(store),
            None => unreachable!("a store is keyed by its own type"),
        }
    }

    /// Replace a provider's store (reseeding).
    pub fn set_store<T: Send + 'static>(&self, value: T) {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        stores.insert(std::any::TypeId::of::<T>(), Box::new(value));
    }
}
