//! Deterministic seed data: HubSpot contacts/companies and generic REST items.
//! Every value is a pure function of the record index, so tests can predict it.

use std::borrow::Cow;

use serde_json::{json, Value};

/// 2024-01-01T00:00:00Z in epoch milliseconds.
const BASE_MS: u64 = 1_704_067_200_000;
const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;
/// How far `updatedAt` (and `archivedAt`) move on every write to a HubSpot record.
pub const HOUR_MS: u64 = 3_600_000;
/// 2025-01-01T00:00:00Z: records created through the API get `WRITE_BASE_MS + id` seconds
/// as their creation time, so test output never depends on the clock.
pub const WRITE_BASE_MS: u64 = 1_735_689_600_000;

/// Number of archived contacts seeded after the active ones.
pub const ARCHIVED_CONTACTS: u64 = 2;
/// Number of archived companies seeded after the active ones.
pub const ARCHIVED_COMPANIES: u64 = 1;
/// Number of archived deals seeded after the active ones.
pub const ARCHIVED_DEALS: u64 = 1;
/// Deals seeded when `--seed deals=N` is not given.
pub const DEFAULT_DEALS: u64 = 30;
/// Upper bound for any seeded data set (protects memory).
pub const MAX_SEED: u64 = 2_000_000;

pub type PropValue = Option<Cow<'static, str>>;

/// A HubSpot object type and its property schema.
#[derive(Debug)]
pub struct ObjectType {
    /// Plural name used in URLs (`contacts`).
    pub name: &'static str,
    /// Stored properties, in the order of `CrmRecord::props`.
    pub stored: &'static [&'static str],
    /// Properties returned when the caller does not ask for any.
    pub defaults: &'static [&'static str],
    /// Name of the "last modified" property (differs between object types).
    pub modified_prop: &'static str,
}

pub static CONTACTS: ObjectType = ObjectType {
    name: "contacts",
    stored: &[
        "firstname",
        "lastname",
        "email",
        "phone",
        "mobilephone",
        "company",
        "jobtitle",
        "website",
        "city",
        "country",
        "lifecyclestage",
        "hs_interests",
    ],
    defaults: &["firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"],
    modified_prop: "lastmodifieddate",
};

pub static COMPANIES: ObjectType = ObjectType {
    name: "companies",
    stored: &[
        "name",
        "domain",
        "industry",
        "phone",
        "city",
        "state",
        "country",
        "numberofemployees",
        "annualrevenue",
        "lifecyclestage",
        "description",
    ],
    defaults: &["name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"],
    modified_prop: "hs_lastmodifieddate",
};

pub static DEALS: ObjectType = ObjectType {
    name: "deals",
    stored: &["dealname", "amount", "dealstage", "pipeline", "closedate", "hubspot_owner_id"],
    defaults: &[
        "dealname",
        "amount",
        "dealstage",
        "pipeline",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ],
    modified_prop: "hs_lastmodifieddate",
};

/// The stages of the default deal pipeline (internal values).
pub const DEAL_STAGES: &[&str] = &[
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
];

/// How a property's values compare in searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropKind {
    Text,
    Number,
    /// Stored as `2024-01-05T10:00:00.000Z`; filters may give ISO strings or epoch milliseconds.
    DateTime,
}

impl ObjectType {
    /// Resolves a URL segment (`contacts`, `0-1`, ...) to an object type.
    pub fn from_segment(seg: &str) -> Option<&'static ObjectType> {
        match seg {
            "contacts" | "contact" | "0-1" => Some(&CONTACTS),
            "companies" | "company" | "0-2" => Some(&COMPANIES),
            "deals" | "deal" | "0-3" => Some(&DEALS),
            _ => None,
        }
    }

    /// Whether this is the contacts type (which has e-mail rules).
    pub fn is_contacts(&self) -> bool {
        self.name == CONTACTS.name
    }

    /// Whether this is the deals type.
    pub fn is_deals(&self) -> bool {
        self.name == DEALS.name
    }

    /// How values of a (known) property compare.
    pub fn kind(&self, prop: PropRef) -> PropKind {
        match prop {
            PropRef::ObjectId => PropKind::Number,
            PropRef::Created | PropRef::Modified => PropKind::DateTime,
            PropRef::Stored(idx) => match self.stored.get(idx).copied().unwrap_or("") {
                "amount" | "numberofemployees" | "annualrevenue" | "hubspot_owner_id" => PropKind::Number,
                "closedate" => PropKind::DateTime,
                _ => PropKind::Text,
            },
        }
    }

    /// Resolves a property name; `None` if the object type does not know it.
    pub fn resolve(&self, prop: &str) -> Option<PropRef> {
        if prop == "hs_object_id" {
            Some(PropRef::ObjectId)
        } else if prop == "createdate" {
            Some(PropRef::Created)
        } else if prop == self.modified_prop {
            Some(PropRef::Modified)
        } else {
            self.stored.iter().position(|p| *p == prop).map(PropRef::Stored)
        }
    }
}

/// One HubSpot CRM object.
#[derive(Debug, Clone)]
pub struct CrmRecord {
    pub id: u64,
    pub archived: bool,
    pub created_ms: u64,
    pub updated_ms: u64,
    pub archived_ms: Option<u64>,
    /// Values aligned with `ObjectType::stored`.
    pub props: Vec<PropValue>,
}

impl CrmRecord {
    /// Value of a property: `None` if the type does not know it,
    /// `Some(None)` if it is known but has no value.
    #[cfg(test)]
    pub fn prop(&self, ty: &ObjectType, name: &str) -> Option<Option<String>> {
        let mut out = String::new();
        self.push_prop_json(&mut out, ty.resolve(name)?);
        Some(serde_json::from_str::<Option<String>>(&out).ok().flatten())
    }

    /// Appends the JSON value (a string or `null`) of a resolved property.
    pub fn push_prop_json(&self, out: &mut String, prop: PropRef) {
        match prop {
            PropRef::ObjectId => {
                out.push('"');
                push_u64(out, self.id);
                out.push('"');
            }
            PropRef::Created => {
                out.push('"');
                push_iso_ms(out, self.created_ms);
                out.push('"');
            }
            PropRef::Modified => {
                out.push('"');
                push_iso_ms(out, self.updated_ms);
                out.push('"');
            }
            PropRef::Stored(idx) => match self.props.get(idx) {
                Some(Some(v)) => push_json_str(out, v),
                _ => out.push_str("null"),
            },
        }
    }
}

impl CrmRecord {
    /// A record created through the API: no property set yet, deterministic timestamps.
    pub fn new_written(ty: &ObjectType, id: u64) -> CrmRecord {
        let created = WRITE_BASE_MS.saturating_add(id.saturating_mul(1000));
        CrmRecord {
            id,
            archived: false,
            created_ms: created,
            updated_ms: created,
            archived_ms: None,
            props: vec![None; ty.stored.len()],
        }
    }
}

/// A property name resolved against an object type's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropRef {
    ObjectId,
    Created,
    Modified,
    /// Index into `CrmRecord::props`.
    Stored(usize),
}

/// An ordered collection of CRM records (active first, then archived).
#[derive(Debug, Default)]
pub struct CrmTable {
    pub active: Vec<CrmRecord>,
    pub archived: Vec<CrmRecord>,
}

impl CrmTable {
    /// Looks a record up by id in the active or archived list.
    pub fn find(&self, id: u64, archived: bool) -> Option<&CrmRecord> {
        let list = if archived { &self.archived } else { &self.active };
        list.binary_search_by_key(&id, |r| r.id).ok().and_then(|idx| list.get(idx))
    }

    pub fn list(&self, archived: bool) -> &[CrmRecord] {
        if archived {
            &self.archived
        } else {
            &self.active
        }
    }

    /// Position of an active record in `active`.
    pub fn active_index(&self, id: u64) -> Option<usize> {
        self.active.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// The id the next created record gets: one more than any id in use, active or archived.
    pub fn next_id(&self) -> u64 {
        let last = |list: &[CrmRecord]| list.last().map_or(0, |r| r.id);
        last(&self.active).max(last(&self.archived)).saturating_add(1)
    }

    /// Moves the active record at `idx` to the archived list (kept sorted by id).
    pub fn archive(&mut self, idx: usize, archived_ms: u64) -> Option<&CrmRecord> {
        if idx >= self.active.len() {
            return None;
        }
        let mut rec = self.active.remove(idx);
        rec.archived = true;
        rec.archived_ms = Some(archived_ms);
        let pos = self.archived.partition_point(|r| r.id < rec.id);
        self.archived.insert(pos, rec);
        self.archived.get(pos)
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
const COLORS: &[&str] = &["red", "green", "blue", "black", "white"];

fn pick<T: Copy>(list: &[T], n: u64) -> T {
    // `list` is a non-empty constant, so the modulo keeps the index in range.
    list[(n % list.len() as u64) as usize]
}

fn stat(s: &'static str) -> PropValue {
    Some(Cow::Borrowed(s))
}

fn owned(s: String) -> PropValue {
    Some(Cow::Owned(s))
}

fn crm_times(i: u64) -> (u64, u64) {
    let created = BASE_MS + i * 13 * MINUTE_MS + (i * 7919) % 1000;
    let updated = created + (i % 60 + 1) * DAY_MS + (i * 31 % 3600) * 1000 + (i * 17) % 1000;
    (created, updated)
}

fn contact(i: u64, archived: bool) -> CrmRecord {
    let (created, updated) = crm_times(i);
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
    CrmRecord {
        id: i,
        archived,
        created_ms: created,
        updated_ms: updated,
        archived_ms: archived.then_some(updated + DAY_MS),
        props,
    }
}

fn company(i: u64, archived: bool) -> CrmRecord {
    let (created, updated) = crm_times(i);
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
    CrmRecord {
        id: i,
        archived,
        created_ms: created,
        updated_ms: updated,
        archived_ms: archived.then_some(updated + DAY_MS),
        props,
    }
}

/// `n` active contacts (ids 1..=n) plus `ARCHIVED_CONTACTS` archived ones after them.
pub fn gen_contacts(n: u64) -> CrmTable {
    CrmTable {
        active: (1..=n).map(|i| contact(i, false)).collect(),
        archived: (n + 1..=n + ARCHIVED_CONTACTS).map(|i| contact(i, true)).collect(),
    }
}

/// `n` active companies (ids 1..=n) plus `ARCHIVED_COMPANIES` archived ones after them.
pub fn gen_companies(n: u64) -> CrmTable {
    CrmTable {
        active: (1..=n).map(|i| company(i, false)).collect(),
        archived: (n + 1..=n + ARCHIVED_COMPANIES).map(|i| company(i, true)).collect(),
    }
}

const DEAL_WORDS: &[&str] = &["Renewal", "Expansion", "Pilot", "Enterprise plan", "Starter plan", "Upsell"];

fn deal(i: u64, archived: bool) -> CrmRecord {
    let (created, updated) = crm_times(i);
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
    CrmRecord {
        id: i,
        archived,
        created_ms: created,
        updated_ms: updated,
        archived_ms: archived.then_some(updated + DAY_MS),
        props,
    }
}

/// `n` active deals (ids 1..=n) plus `ARCHIVED_DEALS` archived ones after them.
pub fn gen_deals(n: u64) -> CrmTable {
    CrmTable {
        active: (1..=n).map(|i| deal(i, false)).collect(),
        archived: (n + 1..=n + ARCHIVED_DEALS).map(|i| deal(i, true)).collect(),
    }
}

/// One generic REST item.
pub fn item(i: u64) -> Value {
    let tags: Vec<&str> = match i % 4 {
        0 => vec!["tag-a", "tag-b"],
        1 => vec!["tag-a"],
        2 => vec!["tag-b", "tag-c"],
        _ => vec![],
    };
    let cents = 1000 + i * 250;
    json!({
        "id": i,
        "name": format!("Item {i}"),
        "sku": format!("SKU-{i:04}"),
        "price": format!("{}.{:02}", cents / 100, cents % 100),
        "quantity": i * 3,
        "active": i.is_multiple_of(2),
        "tags": tags,
        "created_at": iso_secs(BASE_MS + i * DAY_MS + i * 1000),
        "attributes": {
            "color": pick(COLORS, i - 1),
            "weight_kg": 1.5 * i as f64,
        },
    })
}

pub fn gen_items(n: u64) -> Vec<Value> {
    (1..=n).map(item).collect()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn split_ms(ms: u64) -> (i64, u64, u64, u64, u64, u64, u64) {
    let secs = ms / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    (y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of `civil_from_days`).
pub fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp as i64 + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` (a valid calendar date) into days since the epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let max = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (d <= max).then(|| days_from_civil(y as i64, m, d))
}

/// Parses an ISO 8601 instant into epoch milliseconds: a date (`2024-01-05`, midnight UTC) or a date-time
/// `2024-01-05T10:00[:00[.123]]` with `Z`, `+hh:mm`, `+hhmm` or no offset (UTC).
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(pos) => (s.get(..pos)?, Some(s.get(pos + 1..)?)),
        None => (s, None),
    };
    let days = parse_date(date)?;
    let mut ms = days * 86_400_000;
    let Some(rest) = rest else {
        return Some(ms);
    };
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off.chars().skip(1).filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let h: i64 = digits.get(0..2)?.parse().ok()?;
        let m: i64 = digits.get(2..4)?.parse().ok()?;
        if h > 23 || m > 59 {
            return None;
        }
        (t, sign * (h * 3_600_000 + m * 60_000))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let field = |i: usize| parts.get(i).and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
    let (h, mi, sec) = (field(0), field(1), field(2));
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000 + sec * 1000;
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{f:0<3}");
        ms += padded.get(..3)?.parse::<i64>().ok()?;
    }
    Some(ms - offset_ms)
}

/// Writes `n` as exactly `buf.len()` zero-padded decimal digits.
fn put_digits(buf: &mut [u8], n: u64) {
    let mut n = n;
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends ASCII bytes produced by the helpers above.
fn push_ascii(out: &mut String, bytes: &[u8]) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        out.push_str(s);
    }
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_ascii(out, &buf[i..]);
}

/// Appends `2024-01-05T10:00:00.000Z` (years 0..=9999).
pub fn push_iso_ms(out: &mut String, ms: u64) {
    let (y, mo, d, h, mi, s, milli) = split_ms(ms);
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut buf[0..4], y.clamp(0, 9999) as u64);
    put_digits(&mut buf[5..7], mo);
    put_digits(&mut buf[8..10], d);
    put_digits(&mut buf[11..13], h);
    put_digits(&mut buf[14..16], mi);
    put_digits(&mut buf[17..19], s);
    put_digits(&mut buf[20..23], milli);
    push_ascii(out, &buf);
}

/// `2024-01-05T10:00:00.000Z`
pub fn iso_ms(ms: u64) -> String {
    let mut out = String::with_capacity(24);
    push_iso_ms(&mut out, ms);
    out
}

/// `2024-01-05T10:00:00Z`
pub fn iso_secs(ms: u64) -> String {
    let (y, mo, d, h, mi, s, _) = split_ms(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Whether `s` is an optionally signed integer that fits in an i64 (`12`, `-3`).
pub fn is_integer_str(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && s.parse::<i64>().is_ok()
}

/// Whether `s` is a plain decimal number: optional sign, digits, optional fraction and
/// exponent (`12`, `-0.5`, `1250000.50`, `1e3`). Rejects `NaN`, `inf`, `.5`, `1.` and blanks.
pub fn is_decimal_str(s: &str) -> bool {
    let rest = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(pos) => (rest.get(..pos).unwrap_or(""), Some(rest.get(pos + 1..).unwrap_or(""))),
        None => (rest, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => all_digits(int) && all_digits(frac),
        None => all_digits(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)),
    };
    mantissa_ok && exponent_ok
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
        start = i + c.len_utf8();
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format() {
        assert_eq!(iso_ms(BASE_MS), "2024-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(iso_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_secs(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn json_helpers() {
        let mut out = String::new();
        push_json_str(&mut out, "a\"b\\c\nd\u{1}é O'Neil");
        assert_eq!(serde_json::from_str::<String>(&out).ok().as_deref(), Some("a\"b\\c\nd\u{1}é O'Neil"));
        let mut n = String::new();
        for v in [0u64, 7, 10, 1234567890, u64::MAX] {
            n.clear();
            push_u64(&mut n, v);
            assert_eq!(n, v.to_string());
        }
    }

    #[test]
    fn item_shape() {
        let it = item(1);
        assert_eq!(it["id"], 1);
        assert_eq!(it["name"], "Item 1");
        assert_eq!(it["sku"], "SKU-0001");
        assert_eq!(it["price"], "12.50");
        assert_eq!(it["quantity"], 3);
        assert_eq!(it["active"], false);
        assert_eq!(it["attributes"]["weight_kg"], 1.5);
        assert_eq!(item(2)["active"], true);
    }

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
