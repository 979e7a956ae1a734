//! The base's state: its tables (fields with their types and select options, records), the listing iterators
//! that offsets continue, and the per-base rate-limit windows. Record and iterator ids are deterministic.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use serde_json::Value;

use super::seed_data::{contacts_table, projects_table};
use crate::shared::rate::PerSecond;
use crate::shared::seed::{splitmix64, BASE62};
use crate::state::{State, MAX_SEED};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    LongText,
    Email,
    Number,
    Currency,
    Checkbox,
    SingleSelect,
    MultiSelect,
    Date,
}

impl Kind {
    pub(super) fn api_name(self) -> &'static str {
        match self {
            Kind::Text => "singleLineText",
            Kind::LongText => "multilineText",
            Kind::Email => "email",
            Kind::Number => "number",
            Kind::Currency => "currency",
            Kind::Checkbox => "checkbox",
            Kind::SingleSelect => "singleSelect",
            Kind::MultiSelect => "multipleSelects",
            Kind::Date => "date",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    /// Options of select fields (grows when `typecast` writes a new one).
    pub(super) choices: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Rec {
    pub(super) id: String,
    pub(super) created_ms: u64,
    /// Values aligned with the table's fields; `None` is an empty cell.
    pub(super) values: Vec<Option<Value>>,
}

#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) fields: Vec<Field>,
    pub(super) recs: Vec<Rec>,
    /// Records created so far (seeded and written); ids and times of new records derive from it.
    pub(super) created: u64,
    /// Salt of this table's record ids.
    pub(super) salt: u64,
}

impl Table {
    pub(super) fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// A field named in a formula: the exact name, else ignoring case.
    pub(super) fn formula_field(&self, name: &str) -> Option<usize> {
        self.field(name).or_else(|| self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name)))
    }

    pub(super) fn position(&self, id: &str) -> Option<usize> {
        self.recs.iter().position(|r| r.id == id)
    }
}

#[derive(Debug)]
pub(super) struct ListIterator {
    pub(super) id: String,
    pub(super) table: usize,
    /// Formula, sort and view of the listing: an offset only continues the same listing.
    pub(super) signature: String,
    pub(super) ids: Vec<String>,
}

#[derive(Debug, Default)]
pub(super) struct BaseRate {
    pub(super) window: PerSecond,
    pub(super) blocked_until: Option<Instant>,
    pub(super) limited: u64,
}

#[derive(Debug)]
pub(super) struct AtStore {
    pub(super) tables: Vec<Table>,
    pub(super) iterators: VecDeque<ListIterator>,
    pub(super) iterators_opened: u64,
    pub(super) rates: HashMap<String, BaseRate>,
}

/// `prefix` plus 14 pseudo-random (but deterministic) base-62 characters.
pub(super) fn make_id(prefix: &str, seed: u64) -> String {
    let a = splitmix64(seed);
    let b = splitmix64(a ^ 0x5eed);
    let mut v = (u128::from(a) << 64) | u128::from(b);
    let mut out = String::with_capacity(17);
    out.push_str(prefix);
    for _ in 0..14 {
        out.push(char::from(BASE62[(v % 62) as usize]));
        v /= 62;
    }
    out
}

/// Whether `id` looks like an Airtable id with this prefix (`rec` + 14 alphanumerics).
pub(super) fn is_id(prefix: &str, id: &str) -> bool {
    id.len() == 17 && id.starts_with(prefix) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl AtStore {
    fn new(config: &crate::state::Config) -> AtStore {
        AtStore {
            tables: vec![
                contacts_table(config.seed("airtable_contacts", 250).min(MAX_SEED)),
                projects_table(config.seed("airtable_projects", 20).min(MAX_SEED)),
            ],
            iterators: VecDeque::new(),
            iterators_opened: 0,
            rates: HashMap::new(),
        }
    }
}

pub(super) fn with_store<R>(state: &State, f: impl FnOnce(&mut AtStore) -> R) -> R {
    state.with_store(AtStore::new, f)
}

pub(super) fn seed(state: &State, name: &str, count: u64) -> bool {
    let table = match name {
        "airtable_contacts" => contacts_table(count),
        "airtable_projects" => projects_table(count),
        _ => return false,
    };
    with_store(state, |st| {
        if let Some(slot) = st.tables.iter_mut().find(|t| t.id == table.id) {
            *slot = table;
        }
        st.iterators.clear();
    });
    true
}

/// A reset forgets paging iterators and rate-limit state (the data stays).
pub(super) fn reset(state: &State) {
    with_store(state, |st| {
        st.iterators.clear();
        st.iterators_opened = 0;
        st.rates.clear();
    });
}
