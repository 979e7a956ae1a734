//! The store's state: customers and products in id order with the times the filters use, and the request
//! quota per time window (`X-Rate-Limit-*`).

use std::time::Instant;

use serde_json::{Map, Value};

use super::seed_data::{gen_customer, gen_product};
use super::time::WRITE_BASE;
use crate::http::FakeResponse;
use crate::state::{Config, State};

#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) id: u64,
    pub(super) created: i64,
    pub(super) modified: i64,
    pub(super) rec: Map<String, Value>,
}

#[derive(Debug)]
pub(super) struct Store {
    /// Ascending id order.
    pub(super) customers: Vec<Row>,
    pub(super) products: Vec<Row>,
    pub(super) next_customer: u64,
    writes: u64,
    quota: u64,
    window_ms: u64,
    window_start: Option<Instant>,
    used: u64,
    pub(super) rate_limited: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("bigcommerce_customers", 250);
        Store {
            customers: (0..customers).map(gen_customer).collect(),
            products: (0..config.seed("bigcommerce_products", 60)).map(gen_product).collect(),
            next_customer: customers + 1,
            writes: 0,
            quota: config.seed("bigcommerce_quota", 150),
            window_ms: config.seed("bigcommerce_window_ms", 30_000).max(1),
            window_start: None,
            used: 0,
            rate_limited: 0,
        }
    }

    /// Milliseconds left in the current window (a new window starts with the next request once it ends).
    pub(super) fn reset_ms(&mut self) -> u64 {
        let Some(start) = self.window_start else {
            return self.window_ms;
        };
        let elapsed = start.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
        if elapsed >= self.window_ms {
            self.window_start = None;
            self.used = 0;
            return self.window_ms;
        }
        self.window_ms - elapsed
    }

    /// Counts one request against the quota; false if the quota of this window is used up.
    pub(super) fn take_request(&mut self) -> bool {
        self.reset_ms();
        if self.used >= self.quota {
            return false;
        }
        if self.window_start.is_none() {
            self.window_start = Some(Instant::now());
        }
        self.used += 1;
        true
    }

    pub(super) fn rate_headers(&mut self, resp: FakeResponse) -> FakeResponse {
        let reset = self.reset_ms();
        resp.with_header("X-Rate-Limit-Requests-Quota", &self.quota.to_string())
            .with_header("X-Rate-Limit-Requests-Left", &self.quota.saturating_sub(self.used).to_string())
            .with_header("X-Rate-Limit-Time-Window-Ms", &self.window_ms.to_string())
            .with_header("X-Rate-Limit-Time-Reset-Ms", &reset.to_string())
    }

    pub(super) fn tick(&mut self) -> i64 {
        self.writes += 1;
        WRITE_BASE + self.writes as i64
    }
}

pub(super) fn with_store<R>(state: &State, f: impl FnOnce(&mut Store) -> R) -> R {
    state.with_store(Store::new, f)
}

pub(super) fn seed(state: &State, name: &str, count: u64) -> bool {
    match name {
        "bigcommerce_customers" => with_store(state, |s| {
            s.customers = (0..count).map(gen_customer).collect();
            s.next_customer = count + 1;
        }),
        "bigcommerce_products" => with_store(state, |s| s.products = (0..count).map(gen_product).collect()),
        // Not data sets but handy at run time: change the quota or the window (and start a new window).
        "bigcommerce_quota" => with_store(state, |s| {
            s.quota = count;
            s.window_start = None;
            s.used = 0;
        }),
        "bigcommerce_window_ms" => with_store(state, |s| {
            s.window_ms = count.max(1);
            s.window_start = None;
            s.used = 0;
        }),
        _ => return false,
    }
    true
}

pub(super) fn reset(state: &State) {
    with_store(state, |s| {
        s.window_start = None;
        s.used = 0;
        s.rate_limited = 0;
    });
}

pub(super) fn str_field<'a>(row: &'a Row, field: &str) -> &'a str {
    row.rec.get(field).and_then(Value::as_str).unwrap_or("")
}
