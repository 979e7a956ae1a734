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

impl ObjectType {
    /// Resolves a URL segment (`contacts`, `0-1`, ...) to an object type.
    pub fn from_segment(seg: &str) -> Option<&'static ObjectType> {
        match seg {
            "contacts" | "contact" | "0-1" => Some(&CONTACTS),
            "companies" | "company" | "0-2" => Some(&COMPANIES),
            _ => None,
        }
    }

    /// Whether this is the contacts type (which has e-mail rules).
    pub fn is_contacts(&self) -> bool {
        self.name == CONTACTS.name
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
    pub items: Vec<Value>,
}

impl Data {
    pub fn new(contacts: u64, companies: u64, items: u64) -> Data {
        Data { contacts: gen_contacts(contacts), companies: gen_companies(companies), items: gen_items(items) }
    }

    pub fn table(&self, ty: &ObjectType) -> &CrmTable {
        if ty.name == COMPANIES.name {
            &self.companies
        } else {
            &self.contacts
        }
    }

    pub fn table_mut(&mut self, ty: &ObjectType) -> &mut CrmTable {
        if ty.name == COMPANIES.name {
            &mut self.companies
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
fn civil_from_days(days: i64) -> (i64, u64, u64) {
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
