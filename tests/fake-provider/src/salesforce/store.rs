//! The org's state: a table of records per object, the sessions issued by the token endpoint, open query
//! cursors and the API usage count. Reseeding and `/_control/reset` act on it here.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::schema::{SObject, OBJECTS};
use super::seed_data::gen_table;
use crate::state::{State, MAX_SEED};

#[derive(Debug, Clone)]
pub(super) struct Rec {
    /// Values aligned with the object's fields (Id first).
    pub(super) values: Vec<Value>,
    pub(super) deleted: bool,
}

impl Rec {
    pub(super) fn id(&self) -> &str {
        self.values.first().and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    pub(super) recs: Vec<Rec>,
    /// Sequence number of the last record created (ids and timestamps derive from it).
    pub(super) last: u64,
}

#[derive(Debug)]
pub(super) struct Cursor {
    pub(super) locator: String,
    /// Serialised records of the whole result, in order.
    pub(super) records: Vec<String>,
    pub(super) batch: usize,
}

#[derive(Debug)]
pub(super) struct Session {
    pub(super) at: Instant,
    pub(super) ttl: Duration,
}

#[derive(Debug)]
pub(super) struct SfStore {
    pub(super) tables: Vec<Table>,
    pub(super) sessions: HashMap<String, Session>,
    pub(super) issued: u64,
    pub(super) cursors: VecDeque<Cursor>,
    pub(super) cursors_opened: u64,
    pub(super) api_usage: u64,
}

fn seed_name(obj: &SObject) -> &'static str {
    match obj.table {
        0 => "salesforce_accounts",
        1 => "salesforce_contacts",
        2 => "salesforce_leads",
        _ => "salesforce_opportunities",
    }
}

fn default_count(obj: &SObject) -> u64 {
    match obj.table {
        0 => 450,
        1 => 120,
        2 => 60,
        _ => 40,
    }
}

impl SfStore {
    fn new(config: &crate::state::Config) -> SfStore {
        let counts: Vec<u64> =
            OBJECTS.iter().map(|o| config.seed(seed_name(o), default_count(o)).min(MAX_SEED)).collect();
        let accounts = counts.first().copied().unwrap_or(0);
        let tables = OBJECTS.iter().zip(&counts).map(|(o, n)| gen_table(o, *n, accounts)).collect();
        SfStore {
            tables,
            sessions: HashMap::new(),
            issued: 0,
            cursors: VecDeque::new(),
            cursors_opened: 0,
            api_usage: 0,
        }
    }

    pub(super) fn table(&self, obj: &SObject) -> &Table {
        static EMPTY: Table = Table { recs: Vec::new(), last: 0 };
        self.tables.get(obj.table).unwrap_or(&EMPTY)
    }

    pub(super) fn table_mut(&mut self, obj: &SObject) -> Option<&mut Table> {
        self.tables.get_mut(obj.table)
    }

    /// The position of a (normalised) id in its object's table.
    pub(super) fn position(&self, obj: &SObject, id: &str) -> Option<usize> {
        self.table(obj).recs.iter().position(|r| r.id() == id)
    }
}

pub(super) fn with_store<R>(state: &State, f: impl FnOnce(&mut SfStore) -> R) -> R {
    state.with_store(SfStore::new, f)
}

pub(super) fn seed(state: &State, name: &str, count: u64) -> bool {
    let Some(obj) = OBJECTS.iter().copied().find(|o| seed_name(o) == name) else {
        return false;
    };
    with_store(state, |store| {
        let accounts = store.tables.first().map_or(0, |t| t.last);
        let accounts = if obj.table == 0 { count } else { accounts };
        if let Some(t) = store.table_mut(obj) {
            *t = gen_table(obj, count, accounts);
        }
        // Cursors over the old data are gone.
        store.cursors.clear();
    });
    true
}

/// A reset forgets query cursors and the API usage count (sessions and data stay).
pub(super) fn reset(state: &State) {
    with_store(state, |store| {
        store.cursors.clear();
        store.cursors_opened = 0;
        store.api_usage = 0;
    });
}
