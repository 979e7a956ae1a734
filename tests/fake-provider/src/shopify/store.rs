//! The shop's state: customers, products and orders in id order (the list order) with the times the filters
//! use, the next ids, and the leaky bucket of API calls (`X-Shopify-Shop-Api-Call-Limit`).

use std::time::Instant;

use serde_json::{Map, Value};

use super::seed_data::{gen_customer, gen_order, gen_product, ADDRESS_BASE_ID, CUSTOMER_BASE_ID};
use super::time::WRITE_BASE;
use crate::state::{Config, State};

/// A record plus the values the fake filters and sorts on.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) id: u64,
    pub(super) created: i64,
    pub(super) updated: i64,
    pub(super) rec: Map<String, Value>,
}

#[derive(Debug)]
pub(super) struct Store {
    /// Each table in ascending id order (the list order).
    pub(super) customers: Vec<Row>,
    products: Vec<Row>,
    orders: Vec<Row>,
    pub(super) next_customer: u64,
    pub(super) next_address: u64,
    pub(super) writes: u64,
    bucket_size: u64,
    leak_per_second: u64,
    /// Bucket content in thousandths of a call, and when it was last drained.
    level_milli: u64,
    last: Option<Instant>,
    pub(super) rate_limited: u64,
}

impl Store {
    fn new(config: &Config) -> Store {
        let customers = config.seed("shopify_customers", 250);
        let products = config.seed("shopify_products", 40);
        let orders = config.seed("shopify_orders", 60);
        Store {
            customers: (0..customers).map(gen_customer).collect(),
            products: (0..products).map(gen_product).collect(),
            orders: (0..orders).map(|i| gen_order(i, customers, products)).collect(),
            next_customer: CUSTOMER_BASE_ID + customers + 1,
            next_address: ADDRESS_BASE_ID + customers * 3 + 1,
            writes: 0,
            bucket_size: config.seed("shopify_bucket", 40),
            leak_per_second: config.seed("shopify_leak_per_second", 2),
            level_milli: 0,
            last: None,
            rate_limited: 0,
        }
    }

    /// Drains the bucket for the time elapsed, then takes one call if there is room.
    pub(super) fn take_call(&mut self) -> bool {
        let now = Instant::now();
        if let Some(last) = self.last {
            let elapsed_ms = now.saturating_duration_since(last).as_millis().min(u128::from(u64::MAX)) as u64;
            self.level_milli = self.level_milli.saturating_sub(elapsed_ms.saturating_mul(self.leak_per_second));
        }
        self.last = Some(now);
        if self.level_milli + 1_000 > self.bucket_size.saturating_mul(1_000) {
            return false;
        }
        self.level_milli += 1_000;
        true
    }

    pub(super) fn call_limit(&self) -> String {
        format!("{}/{}", self.level_milli.div_ceil(1_000), self.bucket_size)
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
        "shopify_customers" => with_store(state, |s| {
            s.customers = (0..count).map(gen_customer).collect();
            s.next_customer = CUSTOMER_BASE_ID + count + 1;
            s.next_address = ADDRESS_BASE_ID + count * 3 + 1;
        }),
        "shopify_products" => with_store(state, |s| s.products = (0..count).map(gen_product).collect()),
        "shopify_orders" => with_store(state, |s| {
            let (customers, products) = (s.customers.len() as u64, s.products.len() as u64);
            s.orders = (0..count).map(|i| gen_order(i, customers, products)).collect();
        }),
        // Not data sets but handy at run time: resize the bucket or change its leak rate (and empty it).
        "shopify_bucket" => with_store(state, |s| {
            s.bucket_size = count;
            s.level_milli = 0;
        }),
        "shopify_leak_per_second" => with_store(state, |s| {
            s.leak_per_second = count;
            s.level_milli = 0;
        }),
        _ => return false,
    }
    true
}

pub(super) fn reset(state: &State) {
    with_store(state, |s| {
        s.level_milli = 0;
        s.last = None;
        s.rate_limited = 0;
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Customers,
    Products,
    Orders,
}

impl Kind {
    pub(super) fn plural(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Products => "products",
            Kind::Orders => "orders",
        }
    }

    pub(super) fn singular(self) -> &'static str {
        match self {
            Kind::Customers => "customer",
            Kind::Products => "product",
            Kind::Orders => "order",
        }
    }

    pub(super) fn rows(self, store: &Store) -> &[Row] {
        match self {
            Kind::Customers => &store.customers,
            Kind::Products => &store.products,
            Kind::Orders => &store.orders,
        }
    }
}

/// A record as the API returns it (the inner object, as webhooks send it); `None` if unknown.
pub fn record(state: &State, object: &str, id: u64) -> Option<Value> {
    let kind = match object {
        "customers" => Kind::Customers,
        "products" => Kind::Products,
        "orders" => Kind::Orders,
        _ => return None,
    };
    with_store(state, |s| kind.rows(s).iter().find(|r| r.id == id).map(|r| Value::Object(r.rec.clone())))
}
