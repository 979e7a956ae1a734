//! The account's state: customers, products, prices and invoices (each kept in list order, newest first), the
//! deleted customers, the answers saved under idempotency keys, and the counters of request ids and writes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::seed_data::{gen_customers, gen_invoices, gen_prices, gen_products, stripe_id};
use crate::state::{Config, State};

pub(super) type Rec = Map<String, Value>;

/// The first answer to a POST carrying an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub(super) struct Saved {
    pub(super) endpoint: String,
    pub(super) params: String,
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    pub(super) request_id: String,
}

#[derive(Debug)]
pub(super) struct Store {
    /// Each table sorted newest first: `created` descending, then `id` descending (the list order).
    pub(super) customers: Vec<Rec>,
    pub(super) products: Vec<Rec>,
    pub(super) prices: Vec<Rec>,
    pub(super) invoices: Vec<Rec>,
    pub(super) deleted_customers: HashSet<String>,
    pub(super) idempotency: HashMap<String, Saved>,
    /// Numbers the `Request-Id`s (restarts on reset).
    requests: u64,
    /// Counts writes: the clock of API-created objects and the source of their ids (kept on reset).
    pub(super) writes: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("stripe_customers", 250);
        let products = config.seed("stripe_products", 40);
        let prices = config.seed("stripe_prices", 60);
        let invoices = config.seed("stripe_invoices", 80);
        Store {
            customers: gen_customers(customers),
            products: gen_products(products, prices),
            prices: gen_prices(prices, products),
            invoices: gen_invoices(invoices, customers),
            deleted_customers: HashSet::new(),
            idempotency: HashMap::new(),
            requests: 0,
            writes: 0,
        }
    }

    pub(super) fn request_id(&mut self) -> String {
        self.requests += 1;
        stripe_id("req_", 0x5245_5155, self.requests)
    }

    pub(super) fn tick(&mut self) -> u64 {
        self.writes += 1;
        self.writes
    }
}

pub(super) fn with_store<R>(state: &State, f: impl FnOnce(&mut Store) -> R) -> R {
    state.with_store(Store::new, f)
}

pub(super) fn seed(state: &State, name: &str, count: u64) -> bool {
    match name {
        "stripe_customers" => with_store(state, |s| {
            s.customers = gen_customers(count);
            s.deleted_customers.clear();
        }),
        "stripe_products" => with_store(state, |s| {
            let prices = s.prices.len() as u64;
            s.products = gen_products(count, prices);
        }),
        "stripe_prices" => with_store(state, |s| {
            let products = s.products.len() as u64;
            s.prices = gen_prices(count, products);
        }),
        "stripe_invoices" => with_store(state, |s| {
            let customers = s.customers.len() as u64;
            s.invoices = gen_invoices(count, customers);
        }),
        _ => return false,
    }
    true
}

pub(super) fn reset(state: &State) {
    with_store(state, |s| {
        s.idempotency.clear();
        s.requests = 0;
    });
}

/// A record as the API returns it (`None` if unknown or deleted), for webhook payloads.
pub fn record(state: &State, object: &str, id: &str) -> Option<Value> {
    with_store(state, |s| {
        let table = match object {
            "customers" => &s.customers,
            "products" => &s.products,
            "prices" => &s.prices,
            "invoices" => &s.invoices,
            _ => return None,
        };
        table.iter().find(|r| rec_id(r) == id).map(|r| Value::Object(r.clone()))
    })
}

pub(super) fn rec_id(r: &Rec) -> &str {
    r.get("id").and_then(Value::as_str).unwrap_or("")
}

pub(super) fn rec_created(r: &Rec) -> i64 {
    r.get("created").and_then(Value::as_i64).unwrap_or(0)
}

/// The list order: `created` descending, then `id` descending.
fn newest_first(a: &Rec, b: &Rec) -> std::cmp::Ordering {
    rec_created(b).cmp(&rec_created(a)).then_with(|| rec_id(b).cmp(rec_id(a)))
}

pub(super) fn sort_newest_first(v: &mut [Rec]) {
    v.sort_by(newest_first);
}

pub(super) fn insert_sorted(v: &mut Vec<Rec>, rec: Rec) {
    let pos = v.partition_point(|r| newest_first(r, &rec) == std::cmp::Ordering::Less);
    v.insert(pos, rec);
}
