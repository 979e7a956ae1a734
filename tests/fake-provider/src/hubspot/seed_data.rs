//! The seeded HubSpot records: contacts, companies and deals, each value a pure function of the record's index.

use std::borrow::Cow;

use super::data::{CrmRecord, CrmTable, PropValue, DEAL_STAGES};
use crate::shared::seed::pick;
use crate::shared::time::{iso_ms, BASE_MS, DAY_MS, HOUR_MS, MINUTE_MS};

/// Number of archived contacts seeded after the active ones.
pub const ARCHIVED_CONTACTS: u64 = 2;
/// Number of archived companies seeded after the active ones.
pub const ARCHIVED_COMPANIES: u64 = 1;
/// Number of archived deals seeded after the active ones.
pub const ARCHIVED_DEALS: u64 = 1;
/// Deals seeded when `--seed deals=N` is not given.
pub const DEFAULT_DEALS: u64 = 30;

const FIRST_NAMES: &[&str] = &["Alice", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi"];
const LAST_NAMES: &[&str] = &[
    "Anderson", "Brown", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito", "O'Neil", "Müller", "Smith",
    "Nakamura",
];
const COMPANY_WORDS: &[&str] =
    &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent", "Vandelay"];
const COMPANY_SUFFIXES: &[&str] = &["Corp", "Labs", "Industries", "Systems", "Holdings", "Partners", "GmbH"];
const WEBSITES: &[&str] = &[
    "https://acme.example.com",
    "https://globex.example.com",
    "https://initech.example.com",
    "https://umbrella.example.com",
    "https://hooli.example.com",
];
const JOB_TITLES: &[&str] =
    &["Engineer", "Sales Manager", "CTO", "Marketing Lead", "Accountant", "Designer", "Support Agent"];
/// (city, state, country)
const PLACES: &[(&str, &str, &str)] = &[
    ("Boston", "MA", "United States"),
    ("Berlin", "BE", "Germany"),
    ("Paris", "IDF", "France"),
    ("Tokyo", "13", "Japan"),
    ("Austin", "TX", "United States"),
    ("Toronto", "ON", "Canada"),
    ("São Paulo", "SP", "Brazil"),
];
const STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];
const INTERESTS: &[&str] = &["sports;music", "music", "", "travel;sports;books", "books"];
const INDUSTRIES: &[&str] =
    &["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL", "HOSPITAL_HEALTH_CARE", "AUTOMOTIVE"];

fn stat(s: &'static str) -> PropValue {
    Some(Cow::Borrowed(s))
}

fn owned(s: String) -> PropValue {
    Some(Cow::Owned(s))
}

/// Seeded record `i` with these properties, created and last updated at times that are a function of `i`
/// (an archived one was archived a day after its last update).
fn seeded(i: u64, archived: bool, props: Vec<PropValue>) -> CrmRecord {
    let created = BASE_MS + i * 13 * MINUTE_MS + (i * 7919) % 1000;
    let updated = created + (i % 60 + 1) * DAY_MS + (i * 31 % 3600) * 1000 + (i * 17) % 1000;
    CrmRecord {
        id: i,
        archived,
        created_ms: created,
        updated_ms: updated,
        archived_ms: archived.then_some(updated + DAY_MS),
        props,
    }
}

/// `n` active records (ids 1..=n) plus `archived` archived ones after them.
fn gen_table(n: u64, archived: u64, record: fn(u64, bool) -> CrmRecord) -> CrmTable {
    CrmTable {
        active: (1..=n).map(|i| record(i, false)).collect(),
        archived: (n + 1..=n + archived).map(|i| record(i, true)).collect(),
    }
}

fn contact(i: u64, archived: bool) -> CrmRecord {
    let place = pick(PLACES, i);
    let company_idx = i % COMPANY_WORDS.len() as u64;
    let phone =
        if i.is_multiple_of(7) { None } else { owned(format!("+1-555-{:03}-{:04}", i % 1000, (i * 37) % 10_000)) };
    let props = vec![
        stat(pick(FIRST_NAMES, i - 1)),
        stat(pick(LAST_NAMES, (i - 1) * 3)),
        owned(format!("contact{i}@example.com")),
        phone,
        None,
        stat(pick(COMPANY_WORDS, company_idx)),
        stat(pick(JOB_TITLES, i)),
        stat(pick(WEBSITES, company_idx)),
        stat(place.0),
        stat(place.2),
        stat(pick(STAGES, i)),
        stat(pick(INTERESTS, i)),
    ];
    seeded(i, archived, props)
}

fn company(i: u64, archived: bool) -> CrmRecord {
    let place = pick(PLACES, i);
    let name = format!("{} {}", pick(COMPANY_WORDS, i - 1), pick(COMPANY_SUFFIXES, i - 1));
    let employees = (i * 37) % 5000 + 5;
    let revenue_units = 1_250_000 + ((i - 1) * 250_000) % 50_000_000;
    let revenue_cents = (50 + (i - 1) * 13) % 100;
    let props = vec![
        owned(name),
        owned(format!("company{i}.example.com")),
        if i.is_multiple_of(6) { None } else { stat(pick(INDUSTRIES, i)) },
        owned(format!("+1-555-01{:02}-{:04}", i % 100, (i * 53) % 10_000)),
        stat(place.0),
        stat(place.1),
        stat(place.2),
        owned(employees.to_string()),
        owned(format!("{revenue_units}.{revenue_cents:02}")),
        stat(pick(STAGES, i + 3)),
        if i.is_multiple_of(4) { None } else { stat("A fictional company used for tests.") },
    ];
    seeded(i, archived, props)
}

/// `n` active contacts (ids 1..=n) plus `ARCHIVED_CONTACTS` archived ones after them.
pub fn gen_contacts(n: u64) -> CrmTable {
    gen_table(n, ARCHIVED_CONTACTS, contact)
}

/// `n` active companies (ids 1..=n) plus `ARCHIVED_COMPANIES` archived ones after them.
pub fn gen_companies(n: u64) -> CrmTable {
    gen_table(n, ARCHIVED_COMPANIES, company)
}

const DEAL_WORDS: &[&str] = &["Renewal", "Expansion", "Pilot", "Enterprise plan", "Starter plan", "Upsell"];

fn deal(i: u64, archived: bool) -> CrmRecord {
    let stage = pick(DEAL_STAGES, i);
    // Every 9th deal has no amount; amounts are whole or with cents.
    let amount = if i.is_multiple_of(9) {
        None
    } else if i.is_multiple_of(2) {
        owned(((i * 1_750) % 95_000 + 500).to_string())
    } else {
        owned(format!("{}.{:02}", (i * 1_750) % 95_000 + 500, (i * 37) % 100))
    };
    // Close dates spread over 2024, at 17:00 UTC.
    let close = BASE_MS + ((i * 11) % 366) * DAY_MS + 17 * HOUR_MS;
    let props = vec![
        owned(format!("{} - {} {}", pick(COMPANY_WORDS, i - 1), pick(DEAL_WORDS, i), i)),
        amount,
        stat(stage),
        stat("default"),
        if i.is_multiple_of(8) { None } else { owned(iso_ms(close)) },
        owned((1_000_001 + i % 4).to_string()),
    ];
    seeded(i, archived, props)
}

/// `n` active deals (ids 1..=n) plus `ARCHIVED_DEALS` archived ones after them.
pub fn gen_deals(n: u64) -> CrmTable {
    gen_table(n, ARCHIVED_DEALS, deal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hubspot::data::{COMPANIES, CONTACTS};

    #[test]
    fn contact_values() {
        let t = gen_contacts(14);
        assert_eq!(t.active.len(), 14);
        assert_eq!(t.archived.len(), 2);
        assert_eq!(t.archived[0].id, 15);
        let c7 = &t.active[6];
        assert_eq!(c7.prop(&CONTACTS, "phone"), Some(None));
        assert_eq!(c7.prop(&CONTACTS, "email"), Some(Some("contact7@example.com".to_string())));
        assert_eq!(c7.prop(&CONTACTS, "hs_object_id"), Some(Some("7".into())));
        assert_eq!(c7.prop(&CONTACTS, "nonexistent"), None);
        let co = gen_companies(1);
        assert_eq!(co.active[0].prop(&COMPANIES, "annualrevenue"), Some(Some("1250000.50".to_string())));
    }

    #[test]
    fn big_seed_is_fast() {
        let start = std::time::Instant::now();
        let t = gen_contacts(200_000);
        assert_eq!(t.active.len(), 200_000);
        // Generous bound so unoptimised debug builds on slow machines pass too.
        assert!(start.elapsed().as_secs_f64() < 5.0, "{:?}", start.elapsed());
    }
}
