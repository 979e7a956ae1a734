//! The seeded records of the org, each value a pure function of the object and the record's index (a few
//! account, contact and lead names carry characters that need escaping in SOQL).

use serde_json::{json, Value};

use super::schema::{SObject, ACCOUNT};
use super::store::{Rec, Table};
use super::values::{make_id, sf_datetime};
use crate::shared::seed::pick;
use crate::shared::time::{date_string, BASE_MS, DAY_MS, HOUR_MS, MINUTE_MS};

/// 2024-01-01 (`BASE_MS`) in days since the epoch.
const BASE_DAYS: i64 = (BASE_MS / DAY_MS) as i64;

const WORDS: &[&str] = &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent"];
const SUFFIXES: &[&str] = &["Corp", "Labs", "Industries", "Systems", "Holdings", "Partners", "GmbH"];
const INDUSTRIES: &[&str] = &["Technology", "Finance", "Retail", "Healthcare", "Manufacturing", "Education"];
const ACCOUNT_TYPES: &[&str] = &["Customer - Direct", "Customer - Channel", "Prospect", "Partner", "Other"];
const PLACES: &[(&str, &str)] = &[
    ("San Francisco", "USA"),
    ("Berlin", "Germany"),
    ("Paris", "France"),
    ("Tokyo", "Japan"),
    ("Toronto", "Canada"),
    ("São Paulo", "Brazil"),
];
const FIRST: &[&str] = &["Alice", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi"];
const LAST: &[&str] = &["Anderson", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito", "Smith"];
const TITLES: &[&str] = &["CEO", "CTO", "VP Sales", "Buyer", "Engineer", "Office Manager"];
const LEAD_STATUSES: &[&str] =
    &["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"];
const LEAD_SOURCES: &[&str] = &["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
/// (stage, probability)
const STAGES: &[(&str, f64)] = &[
    ("Prospecting", 10.0),
    ("Qualification", 10.0),
    ("Needs Analysis", 20.0),
    ("Value Proposition", 50.0),
    ("Proposal/Price Quote", 75.0),
    ("Negotiation/Review", 90.0),
    ("Closed Won", 100.0),
    ("Closed Lost", 0.0),
];

pub(super) fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// The name of seeded account `i`; a few carry characters that need escaping in SOQL.
fn account_name(i: u64) -> String {
    match i {
        7 => "O'Neil & Sons".to_string(),
        11 => "Back\\Slash Ltd".to_string(),
        13 => "100% Organic Co".to_string(),
        17 => "Under_Score Inc".to_string(),
        19 => "\"Quoted\" Holdings".to_string(),
        _ => format!("{} {} {i}", pick(WORDS, i - 1), pick(SUFFIXES, i - 1)),
    }
}

/// (CreatedDate, LastModifiedDate) of seeded record `i` of the object in table `t`.
fn seed_times(t: usize, i: u64) -> (u64, u64) {
    let created = BASE_MS + (t as u64) * 7 * MINUTE_MS + i * 47 * MINUTE_MS + (i * 7919) % 1000;
    (created, created + (i % 30 + 1) * DAY_MS + (i % 24) * HOUR_MS)
}

fn seed_record(obj: &SObject, i: u64, accounts: u64) -> Rec {
    let (created, modified) = seed_times(obj.table, i);
    let id = make_id(obj.prefix, i);
    let account = |every: u64| {
        if accounts == 0 || i.is_multiple_of(every) {
            Value::Null
        } else {
            s(&make_id(ACCOUNT.prefix, (i * 7 - 1) % accounts + 1))
        }
    };
    let first = pick(FIRST, i - 1);
    let last = if i == 5 { "O'Brien" } else { pick(LAST, i * 3) };
    let values = match obj.table {
        0 => {
            let place = pick(PLACES, i);
            vec![
                s(&id),
                Value::Bool(false),
                s(&account_name(i)),
                s(pick(ACCOUNT_TYPES, i)),
                if i.is_multiple_of(6) { Value::Null } else { s(pick(INDUSTRIES, i)) },
                s(&format!("(555) {:03}-{:04}", i % 1000, (i * 37) % 10_000)),
                if i.is_multiple_of(4) { Value::Null } else { s(&format!("https://account{i}.example.com")) },
                s(place.0),
                s(place.1),
                if i.is_multiple_of(5) { Value::Null } else { json!(((i * 137_000) % 50_000_000 + 100_000) as f64) },
                if i.is_multiple_of(7) { Value::Null } else { json!((i * 37) % 5000 + 1) },
                s(&sf_datetime(created)),
                s(&sf_datetime(modified)),
                s(&sf_datetime(modified)),
            ]
        }
        1 => vec![
            s(&id),
            Value::Bool(false),
            account(10),
            if i.is_multiple_of(9) { Value::Null } else { s(first) },
            s(last),
            if i.is_multiple_of(8) {
                Value::Null
            } else {
                s(&format!("{}.{}{i}@example.com", first.to_lowercase(), last.replace('\'', "").to_lowercase()))
            },
            s(&format!("(555) 2{:02}-{:04}", i % 100, (i * 53) % 10_000)),
            s(pick(TITLES, i)),
            s(&sf_datetime(created)),
            s(&sf_datetime(modified)),
            s(&sf_datetime(modified)),
        ],
        2 => vec![
            s(&id),
            Value::Bool(false),
            s(first),
            s(last),
            if i == 3 { s("Smith & O'Hara") } else { s(&format!("{} {} {i}", pick(WORDS, i + 3), pick(SUFFIXES, i))) },
            if i.is_multiple_of(6) { Value::Null } else { s(&format!("lead{i}@example.org")) },
            s(pick(LEAD_STATUSES, i)),
            if i.is_multiple_of(5) { Value::Null } else { s(pick(LEAD_SOURCES, i)) },
            s(&sf_datetime(created)),
            s(&sf_datetime(modified)),
            s(&sf_datetime(modified)),
        ],
        _ => {
            let (stage, probability) = pick(STAGES, i);
            vec![
                s(&id),
                Value::Bool(false),
                account(12),
                s(&format!("{} - {} {i}", pick(WORDS, i), pick(&["Renewal", "Expansion", "New Business"], i))),
                s(stage),
                s(&date_string(BASE_DAYS + ((i * 13) % 365) as i64)),
                if i.is_multiple_of(10) { Value::Null } else { json!(((i * 2_500) % 200_000 + 1_000) as f64) },
                json!(probability),
                s(&sf_datetime(created)),
                s(&sf_datetime(modified)),
                s(&sf_datetime(modified)),
            ]
        }
    };
    Rec { values, deleted: false }
}

pub(super) fn gen_table(obj: &SObject, n: u64, accounts: u64) -> Table {
    Table { recs: (1..=n).map(|i| seed_record(obj, i, accounts)).collect(), last: n }
}
