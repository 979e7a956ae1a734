//! The seeded tables `Contacts` and `Projects`, each value a pure function of the record's index (a few names
//! carry quotes and backslashes that formulas must escape).

use serde_json::{json, Value};

use super::store::{make_id, Field, Kind, Rec, Table};
use crate::shared::seed::pick;
use crate::shared::time::date_string;

/// 2024-01-05T10:00:00Z
const SEED_BASE_MS: u64 = 1_704_448_800_000;
/// 2023-01-01 in days since the epoch.
const SIGNUP_BASE_DAYS: i64 = 19_358;

const FIRST: &[&str] = &["Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Gia", "Hugo", "Iris", "Jonas", "Kai"];
const LAST: &[&str] = &["Lovelace", "Novak", "Okafor", "Park", "Quinn", "Rossi", "Sato", "Tanaka", "Ueda", "Vega"];
const TAG_CHOICES: &[&str] = &["vip", "newsletter", "lead", "partner", "churned"];
const STATUS_CHOICES: &[&str] = &["Todo", "In progress", "Done"];
const PROJECT_WORDS: &[&str] = &["Apollo", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite"];

fn contact_name(i: u64) -> String {
    match i {
        4 => "Pat O'Neil".to_string(),
        9 => "Say \"Hi\" Smith".to_string(),
        12 => "Back\\Slash".to_string(),
        _ => format!("{} {}", pick(FIRST, i - 1), pick(LAST, i * 3)),
    }
}

fn contact_values(i: u64) -> Vec<Option<Value>> {
    let tags: Option<Value> = match i % 5 {
        0 => None,
        1 => Some(json!(["vip"])),
        2 => Some(json!(["newsletter", "lead"])),
        3 => Some(json!(["lead"])),
        _ => Some(json!(["partner", "vip"])),
    };
    let notes = match i % 8 {
        0 => Some(json!(format!("Met at the {i}th meetup.\nFollow up in spring."))),
        4 => Some(json!("Prefers email.")),
        _ => None,
    };
    vec![
        Some(json!(contact_name(i))),
        (!i.is_multiple_of(10)).then(|| json!(format!("person{i}@example.com"))),
        (!i.is_multiple_of(7)).then(|| json!(18 + (i * 7) % 60)),
        (!i.is_multiple_of(3)).then_some(Value::Bool(true)),
        tags,
        (!i.is_multiple_of(11)).then(|| json!(date_string(SIGNUP_BASE_DAYS + ((i * 11) % 700) as i64))),
        notes,
    ]
}

fn project_values(i: u64) -> Vec<Option<Value>> {
    vec![
        Some(json!(format!("Project {} {i}", pick(PROJECT_WORDS, i)))),
        (!i.is_multiple_of(7)).then(|| json!(pick(STATUS_CHOICES, i))),
        Some(json!(((i * 1250) % 50_000 + 500) as f64 + if i.is_multiple_of(2) { 0.5 } else { 0.0 })),
    ]
}

fn choices(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(super) fn contacts_table(n: u64) -> Table {
    let fields = vec![
        Field { name: "Name", kind: Kind::Text, choices: vec![] },
        Field { name: "Email", kind: Kind::Email, choices: vec![] },
        Field { name: "Age", kind: Kind::Number, choices: vec![] },
        Field { name: "Active", kind: Kind::Checkbox, choices: vec![] },
        Field { name: "Tags", kind: Kind::MultiSelect, choices: choices(TAG_CHOICES) },
        Field { name: "Signed Up", kind: Kind::Date, choices: vec![] },
        Field { name: "Notes", kind: Kind::LongText, choices: vec![] },
    ];
    build_table("tblContacts0001", "Contacts", fields, n, 0xc0, contact_values)
}

pub(super) fn projects_table(n: u64) -> Table {
    let fields = vec![
        Field { name: "Name", kind: Kind::Text, choices: vec![] },
        Field { name: "Status", kind: Kind::SingleSelect, choices: choices(STATUS_CHOICES) },
        Field { name: "Budget", kind: Kind::Currency, choices: vec![] },
    ];
    build_table("tblProjects0001", "Projects", fields, n, 0xb0, project_values)
}

fn build_table(
    id: &'static str,
    name: &'static str,
    fields: Vec<Field>,
    n: u64,
    salt: u64,
    values: fn(u64) -> Vec<Option<Value>>,
) -> Table {
    let recs = (1..=n)
        .map(|i| Rec {
            id: make_id("rec", salt << 48 | i),
            created_ms: SEED_BASE_MS + (i - 1) * 37 * 60_000 + (i * 13 % 60) * 1000,
            values: values(i),
        })
        .collect();
    Table { id, name, fields, recs, created: n, salt }
}
