//! A fake Salesforce org: the OAuth token endpoint and REST API (v59.0, any `vNN.0` accepted) for Account,
//! Contact, Lead and Opportunity.
//!
//! * `POST /services/oauth2/token` (form): `refresh_token` and `client_credentials` grants for `sf-client`
//!   (sessions last two hours) and `sf-client-short` (sessions last one second), with the secret of
//!   `--sf-client-secret` (default `sf-secret`). In the fake's rotation mode (`/_control/oauth?rotate=1`, see
//!   `oauth`) a refresh answers a new `refresh_token` and revokes the one used, as Salesforce's refresh token
//!   rotation does; a revoked one gets `invalid_grant` / `expired access/refresh token`.
//! * `GET /services/data/vNN.0/query?q=<SOQL>` (and `queryAll`), paged by `nextRecordsUrl`
//!   (`/query/<locator>-<offset>`), batch size from `Sforce-Query-Options: batchSize=N`.
//! * `GET|PATCH|DELETE /services/data/vNN.0/sobjects/{Obj}/{Id}`, `POST /services/data/vNN.0/sobjects/{Obj}`,
//!   `GET .../sobjects`, `GET .../sobjects/{Obj}/describe`, `GET .../limits`.
//! * `POST|PATCH|DELETE /services/data/vNN.0/composite/sobjects` (at most 200 records, `allOrNone`).
//!
//! Errors use Salesforce's array shape `[{"message":..,"errorCode":..}]`; every authenticated API response
//! carries `Sforce-Limit-Info: api-usage=N/15000`. Ids are 18 characters with the real key prefixes and
//! checksum; all data is a pure function of the seed counts (`--seed salesforce_accounts=N`, ...).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::data::{civil_from_days, iso_ms, parse_date, parse_iso_ms, push_json_str, MAX_SEED, WRITE_BASE_MS};
use crate::http::{FakeRequest, FakeResponse};
use crate::oauth;
use crate::providers::ProviderModule;
use crate::state::State;

pub const MODULE: ProviderModule = ProviderModule {
    name: "salesforce",
    handles: |path| path.starts_with("/services/"),
    handle,
    injected_error,
    seed,
    reset,
};

pub const CLIENT_ID: &str = "sf-client";
pub const SHORT_CLIENT_ID: &str = "sf-client-short";
/// The default client secret (`--sf-client-secret`).
pub const CLIENT_SECRET: &str = "sf-secret";
/// Session lifetime of `sf-client` (Salesforce's default session timeout).
const SESSION_SECS: u64 = 7200;
/// The org's daily API request allowance.
const API_LIMIT: u64 = 15_000;
/// Records per query page unless `Sforce-Query-Options: batchSize=N` says otherwise.
const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;
/// Most records a composite sObject collection request takes.
const MAX_COLLECTION: usize = 200;
/// Open query cursors per user; opening one more invalidates the oldest (as Salesforce does).
const MAX_CURSORS: usize = 10;
const ORG_ID: &str = "00Dxx0000001gPLEAY";
const USER_ID: &str = "005xx000001SwiUAAS";
/// 2024-01-01T00:00:00Z
const BASE_MS: u64 = 1_704_067_200_000;
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;
const BASE_DAYS: i64 = 19_723;

// ---------------------------------------------------------------- schema

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FType {
    Id,
    /// A lookup to the named object.
    Ref(&'static str),
    Str,
    Email,
    Phone,
    Url,
    Picklist,
    Currency,
    Percent,
    Int,
    Date,
    DateTime,
    Bool,
}

impl FType {
    fn is_text(self) -> bool {
        matches!(self, FType::Str | FType::Email | FType::Phone | FType::Url | FType::Picklist)
    }

    fn is_id(self) -> bool {
        matches!(self, FType::Id | FType::Ref(_))
    }

    fn is_number(self) -> bool {
        matches!(self, FType::Currency | FType::Percent | FType::Int)
    }

    /// The type name Salesforce uses in describe results.
    fn describe_name(self) -> &'static str {
        match self {
            FType::Id => "id",
            FType::Ref(_) => "reference",
            FType::Str => "string",
            FType::Email => "email",
            FType::Phone => "phone",
            FType::Url => "url",
            FType::Picklist => "picklist",
            FType::Currency => "currency",
            FType::Percent => "percent",
            FType::Int => "int",
            FType::Date => "date",
            FType::DateTime => "datetime",
            FType::Bool => "boolean",
        }
    }

    /// The type named in "value of filter criterion ... must be of type X".
    fn soql_name(self) -> &'static str {
        match self {
            FType::Id | FType::Ref(_) => "id",
            FType::Currency | FType::Percent => "double",
            FType::Int => "integer",
            FType::Date => "date",
            FType::DateTime => "dateTime",
            FType::Bool => "boolean",
            _ => "string",
        }
    }

    /// The Java type named in JSON deserialisation errors.
    fn java_name(self) -> &'static str {
        match self {
            FType::Currency | FType::Percent => "double",
            FType::Int => "int",
            FType::Date => "date",
            FType::DateTime => "datetime",
            FType::Bool => "boolean",
            _ => "string",
        }
    }
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    label: &'static str,
    ty: FType,
    required: bool,
    read_only: bool,
}

const fn f(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: false, read_only: false }
}

const fn req(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: true, read_only: false }
}

const fn ro(name: &'static str, label: &'static str, ty: FType) -> Field {
    Field { name, label, ty, required: false, read_only: true }
}

#[derive(Debug)]
struct SObject {
    name: &'static str,
    label: &'static str,
    prefix: &'static str,
    /// Index in `SfStore::tables`.
    table: usize,
    fields: &'static [Field],
}

impl SObject {
    /// A field by name, ignoring case (Salesforce field names are case-insensitive).
    fn field(&self, name: &str) -> Option<(usize, &'static Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name.eq_ignore_ascii_case(name))
    }

    fn index(&self, name: &str) -> usize {
        self.field(name).map_or(0, |(i, _)| i)
    }
}

static ACCOUNT: SObject = SObject {
    name: "Account",
    label: "Account",
    prefix: "001",
    table: 0,
    fields: &[
        ro("Id", "Account ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        req("Name", "Account Name", FType::Str),
        f("Type", "Account Type", FType::Picklist),
        f("Industry", "Industry", FType::Picklist),
        f("Phone", "Account Phone", FType::Phone),
        f("Website", "Website", FType::Url),
        f("BillingCity", "Billing City", FType::Str),
        f("BillingCountry", "Billing Country", FType::Str),
        f("AnnualRevenue", "Annual Revenue", FType::Currency),
        f("NumberOfEmployees", "Employees", FType::Int),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static CONTACT: SObject = SObject {
    name: "Contact",
    label: "Contact",
    prefix: "003",
    table: 1,
    fields: &[
        ro("Id", "Contact ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("AccountId", "Account ID", FType::Ref("Account")),
        f("FirstName", "First Name", FType::Str),
        req("LastName", "Last Name", FType::Str),
        f("Email", "Email", FType::Email),
        f("Phone", "Business Phone", FType::Phone),
        f("Title", "Title", FType::Str),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static LEAD: SObject = SObject {
    name: "Lead",
    label: "Lead",
    prefix: "00Q",
    table: 2,
    fields: &[
        ro("Id", "Lead ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("FirstName", "First Name", FType::Str),
        req("LastName", "Last Name", FType::Str),
        req("Company", "Company", FType::Str),
        f("Email", "Email", FType::Email),
        f("Status", "Lead Status", FType::Picklist),
        f("LeadSource", "Lead Source", FType::Picklist),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static OPPORTUNITY: SObject = SObject {
    name: "Opportunity",
    label: "Opportunity",
    prefix: "006",
    table: 3,
    fields: &[
        ro("Id", "Opportunity ID", FType::Id),
        ro("IsDeleted", "Deleted", FType::Bool),
        f("AccountId", "Account ID", FType::Ref("Account")),
        req("Name", "Name", FType::Str),
        req("StageName", "Stage", FType::Picklist),
        req("CloseDate", "Close Date", FType::Date),
        f("Amount", "Amount", FType::Currency),
        f("Probability", "Probability (%)", FType::Percent),
        ro("CreatedDate", "Created Date", FType::DateTime),
        ro("LastModifiedDate", "Last Modified Date", FType::DateTime),
        ro("SystemModstamp", "System Modstamp", FType::DateTime),
    ],
};

static OBJECTS: [&SObject; 4] = [&ACCOUNT, &CONTACT, &LEAD, &OPPORTUNITY];

fn object(name: &str) -> Option<&'static SObject> {
    OBJECTS.iter().copied().find(|o| o.name.eq_ignore_ascii_case(name))
}

const LEAD_DEFAULT_STATUS: &str = "Open - Not Contacted";

// ---------------------------------------------------------------- ids and dates

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 3-character case-safety suffix that makes a 15-character id 18 characters long.
fn id_suffix(id15: &str) -> String {
    const MAP: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id15.as_bytes();
    (0..3)
        .map(|chunk| {
            let bits = (0..5).fold(0usize, |acc, j| {
                let upper = bytes.get(chunk * 5 + j).is_some_and(u8::is_ascii_uppercase);
                acc | (usize::from(upper) << j)
            });
            char::from(MAP[bits])
        })
        .collect()
}

/// The 18-character id of record `n` of the object with this key prefix.
fn make_id(prefix: &str, n: u64) -> String {
    let mut tail = [b'0'; 6];
    let mut rest = n;
    for slot in tail.iter_mut().rev() {
        *slot = B62[(rest % 62) as usize];
        rest /= 62;
    }
    let id15 = format!("{prefix}Dn0000{}", String::from_utf8_lossy(&tail));
    let suffix = id_suffix(&id15);
    id15 + &suffix
}

/// A 15- or 18-character id in its 18-character form; `None` if malformed (bad characters or checksum).
fn normalise_id(raw: &str) -> Option<String> {
    if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match raw.len() {
        15 => Some(format!("{raw}{}", id_suffix(raw))),
        18 => {
            let id15 = raw.get(..15)?;
            let suffix = id_suffix(id15);
            raw.get(15..)?.eq_ignore_ascii_case(&suffix).then(|| format!("{id15}{suffix}"))
        }
        _ => None,
    }
}

/// `2024-01-05T10:00:00.000+0000`
fn sf_datetime(ms: u64) -> String {
    let iso = iso_ms(ms);
    format!("{}+0000", iso.strip_suffix('Z').unwrap_or(&iso))
}

/// `2024-01-05` for days since the epoch.
fn sf_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

// ---------------------------------------------------------------- store

#[derive(Debug, Clone)]
struct Rec {
    /// Values aligned with the object's fields (Id first).
    values: Vec<Value>,
    deleted: bool,
}

impl Rec {
    fn id(&self) -> &str {
        self.values.first().and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, Default)]
struct Table {
    recs: Vec<Rec>,
    /// Sequence number of the last record created (ids and timestamps derive from it).
    last: u64,
}

#[derive(Debug)]
struct Cursor {
    locator: String,
    /// Serialised records of the whole result, in order.
    records: Vec<String>,
    batch: usize,
}

#[derive(Debug)]
struct Session {
    at: Instant,
    ttl: Duration,
}

#[derive(Debug)]
struct SfStore {
    tables: Vec<Table>,
    sessions: HashMap<String, Session>,
    issued: u64,
    cursors: VecDeque<Cursor>,
    cursors_opened: u64,
    api_usage: u64,
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

    fn table(&self, obj: &SObject) -> &Table {
        static EMPTY: Table = Table { recs: Vec::new(), last: 0 };
        self.tables.get(obj.table).unwrap_or(&EMPTY)
    }

    fn table_mut(&mut self, obj: &SObject) -> Option<&mut Table> {
        self.tables.get_mut(obj.table)
    }

    /// The position of a (normalised) id in its object's table.
    fn position(&self, obj: &SObject, id: &str) -> Option<usize> {
        self.table(obj).recs.iter().position(|r| r.id() == id)
    }
}

fn with_store<R>(state: &State, f: impl FnOnce(&mut SfStore) -> R) -> R {
    state.with_store(SfStore::new, f)
}

// ---------------------------------------------------------------- seed data

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

fn pick<T: Copy>(list: &[T], n: u64) -> T {
    list[(n % list.len() as u64) as usize]
}

fn s(v: &str) -> Value {
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
                s(&sf_date(BASE_DAYS + ((i * 13) % 365) as i64)),
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

fn gen_table(obj: &SObject, n: u64, accounts: u64) -> Table {
    Table { recs: (1..=n).map(|i| seed_record(obj, i, accounts)).collect(), last: n }
}

fn seed(state: &State, name: &str, count: u64) -> bool {
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
fn reset(state: &State) {
    with_store(state, |store| {
        store.cursors.clear();
        store.cursors_opened = 0;
        store.api_usage = 0;
    });
}

// ---------------------------------------------------------------- responses

/// One Salesforce error object.
#[derive(Debug, Clone, PartialEq)]
struct SfError {
    code: &'static str,
    message: String,
    fields: Option<Vec<String>>,
}

impl SfError {
    fn new(code: &'static str, message: impl Into<String>) -> SfError {
        SfError { code, message: message.into(), fields: None }
    }

    fn with_fields(code: &'static str, message: impl Into<String>, fields: Vec<String>) -> SfError {
        SfError { code, message: message.into(), fields: Some(fields) }
    }

    /// As an entry of an error array: `{"message","errorCode"[,"fields"]}`.
    fn value(&self) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), Value::String(self.message.clone()));
        m.insert("errorCode".into(), Value::String(self.code.to_string()));
        if let Some(f) = &self.fields {
            m.insert("fields".into(), json!(f));
        }
        Value::Object(m)
    }

    /// As an entry of a composite result's `errors`: `{"statusCode","message","fields"}`.
    fn collection_value(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields.clone().unwrap_or_default() })
    }
}

fn errors(status: u16, list: &[SfError]) -> FakeResponse {
    FakeResponse::json(status, &Value::Array(list.iter().map(SfError::value).collect()))
}

fn error(status: u16, code: &'static str, message: &str) -> FakeResponse {
    errors(status, &[SfError::new(code, message)])
}

fn not_found() -> FakeResponse {
    FakeResponse::json(404, &json!([{ "errorCode": "NOT_FOUND", "message": "The requested resource does not exist" }]))
}

fn invalid_session() -> FakeResponse {
    error(401, "INVALID_SESSION_ID", "Session expired or invalid")
}

fn method_not_allowed(method: &str, allowed: &[&str]) -> FakeResponse {
    let mut all = vec!["HEAD"];
    all.extend_from_slice(allowed);
    FakeResponse::json(
        405,
        &json!([{
            "errorCode": "METHOD_NOT_ALLOWED",
            "message": format!("HTTP Method '{method}' not allowed. Allowed are {}", all.join(",")),
        }]),
    )
    .with_header("Allow", &all.join(","))
}

fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        401 => invalid_session(),
        403 | 429 => error(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        404 => not_found(),
        503 => error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
        500 => error(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-8 (-1234567890)",
        ),
        _ => error(status, "UNKNOWN_EXCEPTION", &format!("injected failure {status}")),
    }
}

// ---------------------------------------------------------------- routing

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["services", "oauth2", "token"] => Some(if req.method == "POST" {
            token(state, req)
        } else {
            FakeResponse::json(405, &json!({ "error": "invalid_request", "error_description": "must use HTTP POST" }))
        }),
        ["services", "data"] => Some(versions()),
        ["services", "data", version, rest @ ..] => {
            if !valid_version(version) {
                return Some(not_found());
            }
            if let Err(resp) = authenticate(state, req) {
                return Some(resp);
            }
            let usage = with_store(state, |st| {
                st.api_usage += 1;
                st.api_usage
            });
            let resp = api(state, req, version, rest);
            Some(resp.with_header("Sforce-Limit-Info", &format!("api-usage={usage}/{API_LIMIT}")))
        }
        _ => None,
    }
}

/// `v59.0`-style: a two-digit major version from 20 on.
fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.strip_suffix(".0"))
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()) && n >= "20")
}

fn versions() -> FakeResponse {
    let list: Vec<Value> = (57..=60)
        .map(|v| json!({ "label": format!("Release {v}"), "url": format!("/services/data/v{v}.0"), "version": format!("{v}.0") }))
        .collect();
    FakeResponse::json(200, &Value::Array(list))
}

fn api(state: &State, req: &FakeRequest, version: &str, rest: &[&str]) -> FakeResponse {
    let method = req.method.as_str();
    match rest {
        ["query"] | ["queryAll"] => match method {
            "GET" => query(state, req, version, rest.first() == Some(&"queryAll")),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["query", locator] | ["queryAll", locator] => match method {
            "GET" => query_more(state, req, version, locator),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["limits"] => {
            let used = with_store(state, |st| st.api_usage);
            FakeResponse::json(
                200,
                &json!({ "DailyApiRequests": { "Max": API_LIMIT, "Remaining": API_LIMIT.saturating_sub(used) } }),
            )
        }
        ["sobjects"] => match method {
            "GET" => global_describe(version),
            _ => method_not_allowed(method, &["GET"]),
        },
        ["sobjects", obj] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "POST") => create_one(state, req, version, o),
            (Some(o), "GET") => FakeResponse::json(200, &json!({ "objectDescribe": describe_basic(o, version) })),
            (Some(_), _) => method_not_allowed(method, &["GET", "POST"]),
        },
        ["sobjects", obj, "describe"] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "GET") => describe(o, version),
            (Some(_), _) => method_not_allowed(method, &["GET"]),
        },
        ["sobjects", obj, id] => match (object(obj), method) {
            (None, _) => not_found(),
            (Some(o), "GET") => get_one(state, req, version, o, id),
            (Some(o), "PATCH") => update_one(state, req, o, id),
            (Some(o), "DELETE") => delete_one(state, o, id),
            (Some(_), _) => method_not_allowed(method, &["GET", "PATCH", "DELETE"]),
        },
        ["composite", "sobjects"] => match method {
            "POST" => collection_write(state, req, version, false),
            "PATCH" => collection_write(state, req, version, true),
            "DELETE" => collection_delete(state, req),
            _ => method_not_allowed(method, &["POST", "PATCH", "DELETE"]),
        },
        _ => not_found(),
    }
}

// ---------------------------------------------------------------- OAuth

fn token(state: &State, req: &FakeRequest) -> FakeResponse {
    let refuse = |error: &str, description: &str| {
        FakeResponse::json(400, &json!({ "error": error, "error_description": description }))
    };
    if !oauth::is_form(req) {
        return refuse("unsupported_grant_type", "grant type not supported");
    }
    let params = oauth::form_params(req);
    let basic = oauth::basic_credentials(req);
    let client_id = basic.as_ref().map(|(u, _)| u.as_str()).or_else(|| oauth::form_param(&params, "client_id"));
    let secret = basic.as_ref().map(|(_, p)| p.as_str()).or_else(|| oauth::form_param(&params, "client_secret"));
    let grant = oauth::form_param(&params, "grant_type");
    if !matches!(grant, Some("refresh_token" | "client_credentials")) {
        return refuse("unsupported_grant_type", "grant type not supported");
    }
    let ttl = match client_id {
        Some(CLIENT_ID) => SESSION_SECS,
        Some(SHORT_CLIENT_ID) => 1,
        _ => return refuse("invalid_client_id", "client identifier invalid"),
    };
    if secret != Some(state.config.sf_client_secret.as_str()) {
        return refuse("invalid_client", "invalid client credentials");
    }
    // Salesforce answers a refresh without a refresh_token, unless it rotates them.
    let rotated = match (grant, oauth::form_param(&params, "refresh_token")) {
        (Some("refresh_token"), None) => return refuse("invalid_grant", "expired access/refresh token"),
        (Some("refresh_token"), Some(rt)) => match oauth::refresh_grant(state, rt) {
            Err(()) => return refuse("invalid_grant", "expired access/refresh token"),
            Ok(rotated) => rotated,
        },
        _ => None,
    };
    let n = with_store(state, |st| {
        st.issued += 1;
        let n = st.issued;
        st.sessions.insert(session_token(n), Session { at: Instant::now(), ttl: Duration::from_secs(ttl) });
        n
    });
    let host = req.host();
    let issued_at = (WRITE_BASE_MS + n * 1000).to_string();
    // Deterministic stand-in for the HMAC-SHA256 signature (base64 of 32 bytes).
    let mut raw = Vec::with_capacity(32);
    let mut x = n ^ 0x5f5f_5f5f;
    for _ in 0..4 {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ 0xbf58_476d_1ce4_e5b9;
        raw.extend_from_slice(&x.to_be_bytes());
    }
    let mut body = json!({
        "access_token": session_token(n),
        "signature": crate::http::base64_encode(&raw),
        "scope": "api refresh_token",
        "instance_url": format!("http://{host}"),
        "id": format!("http://{host}/id/{ORG_ID}/{USER_ID}"),
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let (Some(rt), Some(obj)) = (rotated, body.as_object_mut()) {
        obj.insert("refresh_token".into(), Value::String(rt));
    }
    FakeResponse::json(200, &body)
}

fn session_token(n: u64) -> String {
    format!("00Dxx0000001gPL!AQ4AQFakeSession.{n}")
}

/// Every session (access token) issued so far, in order (`/_control/oauth_tokens`).
pub fn issued_sessions(state: &State) -> Vec<String> {
    with_store(state, |st| (1..=st.issued).map(session_token).collect())
}

/// Checks `Authorization: Bearer <session>` (or Salesforce's older `OAuth <session>`).
fn authenticate(state: &State, req: &FakeRequest) -> Result<(), FakeResponse> {
    let token =
        req.header_value("authorization").map(str::trim).and_then(|v| v.split_once(' ')).and_then(|(scheme, t)| {
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then_some(t.trim())
        });
    let Some(token) = token else {
        return Err(invalid_session());
    };
    let valid = with_store(state, |st| st.sessions.get(token).is_some_and(|s| s.at.elapsed() < s.ttl));
    if valid {
        Ok(())
    } else {
        Err(invalid_session())
    }
}

// ---------------------------------------------------------------- describe

fn describe_basic(o: &SObject, version: &str) -> Value {
    json!({
        "name": o.name,
        "label": o.label,
        "keyPrefix": o.prefix,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "urls": {
            "sobject": format!("/services/data/{version}/sobjects/{}", o.name),
            "describe": format!("/services/data/{version}/sobjects/{}/describe", o.name),
            "rowTemplate": format!("/services/data/{version}/sobjects/{}/{{ID}}", o.name),
        },
    })
}

fn global_describe(version: &str) -> FakeResponse {
    let list: Vec<Value> = OBJECTS.iter().map(|o| describe_basic(o, version)).collect();
    FakeResponse::json(200, &json!({ "encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION, "sobjects": list }))
}

fn describe(o: &SObject, version: &str) -> FakeResponse {
    let fields: Vec<Value> = o
        .fields
        .iter()
        .map(|fd| {
            let refs: Vec<&str> = match fd.ty {
                FType::Ref(target) => vec![target],
                _ => vec![],
            };
            json!({
                "name": fd.name,
                "label": fd.label,
                "type": fd.ty.describe_name(),
                "nillable": !fd.required && !matches!(fd.ty, FType::Id | FType::Bool) && !fd.read_only,
                "createable": !fd.read_only,
                "updateable": !fd.read_only,
                "referenceTo": refs,
                "length": if fd.ty.is_text() { 255 } else if fd.ty.is_id() { 18 } else { 0 },
            })
        })
        .collect();
    let mut body = describe_basic(o, version);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("fields".into(), Value::Array(fields));
    }
    FakeResponse::json(200, &body)
}

// ---------------------------------------------------------------- record output

/// `{"attributes":{"type":..,"url":..},"Field":value,...}` with the fields in the given order.
fn record_json(out: &mut String, o: &SObject, version: &str, rec: &Rec, fields: &[usize]) {
    out.push_str("{\"attributes\":{\"type\":");
    push_json_str(out, o.name);
    out.push_str(",\"url\":");
    push_json_str(out, &format!("/services/data/{version}/sobjects/{}/{}", o.name, rec.id()));
    out.push('}');
    for idx in fields {
        let (Some(fd), Some(v)) = (o.fields.get(*idx), rec.values.get(*idx)) else {
            continue;
        };
        out.push(',');
        push_json_str(out, fd.name);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
}

fn get_one(state: &State, req: &FakeRequest, version: &str, o: &SObject, raw_id: &str) -> FakeResponse {
    let mut fields: Vec<usize> = Vec::new();
    if let Some(list) = req.param("fields") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match o.field(name) {
                Some((idx, _)) => fields.push(idx),
                None => {
                    return error(
                        400,
                        "INVALID_FIELD",
                        &format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, \
                             be sure to append the '__c' after the custom field name. Please reference your WSDL \
                             or the describe call for the appropriate names.",
                            o.name
                        ),
                    )
                }
            }
        }
    } else {
        fields = (0..o.fields.len()).collect();
    }
    let Some(id) = normalise_id(raw_id) else {
        return FakeResponse::json(
            404,
            &json!([{
                "errorCode": "NOT_FOUND",
                "message": format!("Provided external ID field does not exist or is not accessible: {raw_id}"),
            }]),
        );
    };
    with_store(state, |st| match st.table(o).recs.iter().find(|r| r.id() == id && !r.deleted) {
        Some(rec) => {
            let mut out = String::with_capacity(512);
            record_json(&mut out, o, version, rec, &fields);
            FakeResponse::raw_json(200, out.into_bytes())
        }
        None => not_found(),
    })
}

// ---------------------------------------------------------------- writes

/// Line and column (1-based) just after the value of `key` in the raw JSON text, as Jackson reports them.
fn value_position(body: &str, key: &str) -> (usize, usize) {
    let needle = format!("\"{key}\"");
    let mut search_from = 0;
    while let Some(found) = body.get(search_from..).and_then(|rest| rest.find(&needle)) {
        let after_key = search_from + found + needle.len();
        let rest = body.get(after_key..).unwrap_or("");
        let trimmed = rest.trim_start();
        if let Some(value) = trimmed.strip_prefix(':') {
            let value_start = body.len() - value.trim_start().len();
            let end = value_end(body, value_start);
            return line_col(body, end);
        }
        search_from = after_key;
    }
    (1, 1)
}

/// Byte offset just after the JSON value starting at `start` (objects and arrays: after their opening bracket).
fn value_end(body: &str, start: usize) -> usize {
    let bytes = body.as_bytes();
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while let Some(b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            body.len()
        }
        Some(b'{' | b'[') => start + 1,
        _ => {
            let mut i = start;
            while bytes.get(i).is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace()) {
                i += 1;
            }
            i
        }
    }
}

fn line_col(body: &str, offset: usize) -> (usize, usize) {
    let before = body.get(..offset).unwrap_or(body);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn json_parser_error(ty: FType, value: &Value, body: &str, key: &str) -> SfError {
    let (token, text) = match value {
        Value::String(s) => ("VALUE_STRING", s.clone()),
        Value::Number(n) if n.is_f64() => ("VALUE_NUMBER_FLOAT", n.to_string()),
        Value::Number(n) => ("VALUE_NUMBER_INT", n.to_string()),
        Value::Bool(true) => ("VALUE_TRUE", "true".to_string()),
        Value::Bool(false) => ("VALUE_FALSE", "false".to_string()),
        Value::Array(_) => ("START_ARRAY", "[".to_string()),
        Value::Object(_) => ("START_OBJECT", "{".to_string()),
        Value::Null => ("VALUE_NULL", "null".to_string()),
    };
    let (line, col) = value_position(body, key);
    SfError::new(
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {} from {token} value {text} or request may be missing a required field \
             at [line:{line}, column:{col}]",
            ty.java_name()
        ),
    )
}

/// Converts a JSON value to the stored form of a field (`None`: the value does not fit the type).
fn coerce(ty: FType, value: &Value) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    match ty {
        FType::Bool => match value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
            _ => None,
        },
        FType::Int => match value {
            Value::Number(n) => n.as_i64().map(Value::from),
            Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
            _ => None,
        },
        FType::Currency | FType::Percent => match value {
            Value::Number(n) => n.as_f64().map(|x| json!(x)),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| json!(x)),
            _ => None,
        },
        FType::Date => match value {
            Value::String(s) => {
                let date = s.get(..10).filter(|_| s.len() == 10 || s.get(10..11) == Some("T"))?;
                parse_date(date).map(|d| Value::String(sf_date(d)))
            }
            _ => None,
        },
        FType::DateTime => match value {
            Value::String(s) => {
                parse_iso_ms(s).and_then(|ms| u64::try_from(ms).ok()).map(|ms| Value::String(sf_datetime(ms)))
            }
            _ => None,
        },
        _ => match value {
            Value::String(s) => Some(Value::String(s.clone())),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            _ => None,
        },
    }
}

/// The fields of a record body, deserialised: unknown fields and values of the wrong type fail the whole
/// request (as Salesforce's JSON parser does). `attributes` is skipped.
fn deserialise(o: &SObject, map: &Map<String, Value>, body: &str) -> Result<Vec<(usize, Value)>, SfError> {
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        if key == "attributes" {
            continue;
        }
        let Some((idx, fd)) = o.field(key) else {
            return Err(SfError::new("INVALID_FIELD", format!("No such column '{key}' on sobject of type {}", o.name)));
        };
        match coerce(fd.ty, value) {
            Some(v) => out.push((idx, v)),
            None => return Err(json_parser_error(fd.ty, value, body, key)),
        }
    }
    Ok(out)
}

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    let ok_char = |c: char| !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c);
    !local.is_empty()
        && local.chars().all(ok_char)
        && domain.chars().all(ok_char)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| !l.is_empty())
}

/// Validates the values of a create (`existing` None) or update, in Salesforce's order: read-only fields,
/// required fields, field formats, lookups. Returns the record's new values.
fn validate(
    st: &SfStore,
    o: &SObject,
    existing: Option<&Rec>,
    values: &[(usize, Value)],
) -> Result<Vec<Value>, Vec<SfError>> {
    let read_only: Vec<String> = values
        .iter()
        .filter_map(|(i, _)| o.fields.get(*i))
        .filter(|f| f.read_only)
        .map(|f| f.name.to_string())
        .collect();
    if !read_only.is_empty() {
        let message = if existing.is_none() && read_only.iter().any(|n| n == "Id") {
            "cannot specify Id in an insert call".to_string()
        } else {
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify \
                 that it is read/write for your profile or permission set.",
                read_only.join(", ")
            )
        };
        return Err(vec![SfError::with_fields("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)]);
    }
    let mut rec: Vec<Value> = match existing {
        Some(r) => r.values.clone(),
        None => {
            let mut v = vec![Value::Null; o.fields.len()];
            if let Some(slot) = v.get_mut(o.index("IsDeleted")) {
                *slot = Value::Bool(false);
            }
            if o.table == LEAD.table {
                if let Some(slot) = v.get_mut(o.index("Status")) {
                    *slot = s(LEAD_DEFAULT_STATUS);
                }
            }
            v
        }
    };
    for (idx, v) in values {
        if let Some(slot) = rec.get_mut(*idx) {
            *slot = v.clone();
        }
    }
    let missing: Vec<String> = o
        .fields
        .iter()
        .zip(&rec)
        .filter(|(f, v)| f.required && (v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())))
        .map(|(f, _)| f.name.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(vec![SfError::with_fields(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            missing,
        )]);
    }
    let mut errs = Vec::new();
    for (idx, v) in values {
        let (Some(fd), Some(text)) = (o.fields.get(*idx), v.as_str()) else {
            continue;
        };
        match fd.ty {
            FType::Email if !is_email(text) => errs.push(SfError::with_fields(
                "INVALID_EMAIL_ADDRESS",
                format!("{}: invalid email address: {text}", fd.label),
                vec![fd.name.to_string()],
            )),
            FType::Ref(target) => {
                let label = fd.label;
                match normalise_id(text) {
                    None => errs.push(SfError::with_fields(
                        "MALFORMED_ID",
                        format!("{label}: id value of incorrect type: {text}"),
                        vec![fd.name.to_string()],
                    )),
                    Some(id) => {
                        let target_obj = object(target).unwrap_or(&ACCOUNT);
                        if !id.starts_with(target_obj.prefix) {
                            errs.push(SfError::with_fields(
                                "FIELD_INTEGRITY_EXCEPTION",
                                format!("{label}: id value of incorrect type: {text}"),
                                vec![fd.name.to_string()],
                            ));
                        } else if !st.table(target_obj).recs.iter().any(|r| r.id() == id && !r.deleted) {
                            errs.push(SfError::with_fields(
                                "INVALID_CROSS_REFERENCE_KEY",
                                "invalid cross reference id",
                                vec![fd.name.to_string()],
                            ));
                        } else if let Some(slot) = rec.get_mut(*idx) {
                            *slot = Value::String(id);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if errs.is_empty() {
        Ok(rec)
    } else {
        Err(errs)
    }
}

/// Inserts a validated record; returns its id.
fn insert(st: &mut SfStore, o: &SObject, mut values: Vec<Value>) -> String {
    let Some(table) = st.table_mut(o) else {
        return String::new();
    };
    table.last += 1;
    let n = table.last;
    let id = make_id(o.prefix, n);
    let created = sf_datetime(WRITE_BASE_MS + n * 1000);
    for (name, v) in [
        ("Id", s(&id)),
        ("CreatedDate", s(&created)),
        ("LastModifiedDate", s(&created)),
        ("SystemModstamp", s(&created)),
    ] {
        if let Some(slot) = values.get_mut(o.index(name)) {
            *slot = v;
        }
    }
    table.recs.push(Rec { values, deleted: false });
    id
}

/// Replaces a record's values with validated ones and moves its modification stamps an hour on.
fn store_update(st: &mut SfStore, o: &SObject, pos: usize, mut values: Vec<Value>) {
    let modified = values
        .get(o.index("LastModifiedDate"))
        .and_then(Value::as_str)
        .and_then(parse_iso_ms)
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or(WRITE_BASE_MS, |ms| ms + HOUR_MS);
    for name in ["LastModifiedDate", "SystemModstamp"] {
        if let Some(slot) = values.get_mut(o.index(name)) {
            *slot = s(&sf_datetime(modified));
        }
    }
    if let Some(rec) = st.table_mut(o).and_then(|t| t.recs.get_mut(pos)) {
        rec.values = values;
    }
}

/// The JSON body as an object, or Salesforce's 400 for a body that does not parse.
fn body_object(req: &FakeRequest) -> Result<(Map<String, Value>, String), FakeResponse> {
    let text = String::from_utf8_lossy(&req.body).into_owned();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok((m, text)),
        Ok(other) => {
            let token = if other.is_array() { "START_ARRAY" } else { "VALUE_STRING" };
            Err(error(
                400,
                "JSON_PARSER_ERROR",
                &format!(
                    "Cannot deserialize instance of SObject from {token} value or request may be missing a required \
                     field at [line:1, column:1]"
                ),
            ))
        }
        Err(e) => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let detail = full.strip_suffix(&suffix).unwrap_or(&full);
            Err(error(400, "JSON_PARSER_ERROR", &format!("{detail} at [line:{}, column:{}]", e.line(), e.column())))
        }
    }
}

fn create_one(state: &State, req: &FakeRequest, version: &str, o: &SObject) -> FakeResponse {
    let (map, text) = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let values = match deserialise(o, &map, &text) {
        Ok(v) => v,
        Err(e) => return errors(400, &[e]),
    };
    with_store(state, |st| match validate(st, o, None, &values) {
        Ok(rec) => {
            let id = insert(st, o, rec);
            FakeResponse::json(201, &json!({ "id": id, "success": true, "errors": [] }))
                .with_header("Location", &format!("/services/data/{version}/sobjects/{}/{id}", o.name))
        }
        Err(errs) => errors(400, &errs),
    })
}

/// Where a record is: its table position, or why it cannot be written.
fn locate(st: &SfStore, o: &SObject, raw_id: &str) -> Result<usize, SfError> {
    let Some(id) = normalise_id(raw_id) else {
        return Err(SfError::new("MALFORMED_ID", format!("malformed id {raw_id}")));
    };
    match st.position(o, &id) {
        Some(pos) if st.table(o).recs.get(pos).is_some_and(|r| r.deleted) => {
            Err(SfError::new("ENTITY_IS_DELETED", "entity is deleted"))
        }
        Some(pos) => Ok(pos),
        None => Err(SfError::new("NOT_FOUND", "The requested resource does not exist")),
    }
}

fn update_one(state: &State, req: &FakeRequest, o: &SObject, raw_id: &str) -> FakeResponse {
    let (map, text) = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let values = match deserialise(o, &map, &text) {
        Ok(v) => v,
        Err(e) => return errors(400, &[e]),
    };
    with_store(state, |st| {
        let pos = match locate(st, o, raw_id) {
            Ok(p) => p,
            Err(e) if e.code == "MALFORMED_ID" || e.code == "NOT_FOUND" => return not_found(),
            Err(e) => return errors(404, &[e]),
        };
        let existing = st.table(o).recs.get(pos).cloned();
        match validate(st, o, existing.as_ref(), &values) {
            Ok(rec) => {
                store_update(st, o, pos, rec);
                FakeResponse::no_content()
            }
            Err(errs) => errors(400, &errs),
        }
    })
}

fn mark_deleted(st: &mut SfStore, o: &SObject, pos: usize) {
    let deleted_index = o.index("IsDeleted");
    if let Some(rec) = st.table_mut(o).and_then(|t| t.recs.get_mut(pos)) {
        rec.deleted = true;
        if let Some(slot) = rec.values.get_mut(deleted_index) {
            *slot = Value::Bool(true);
        }
    }
}

fn delete_one(state: &State, o: &SObject, raw_id: &str) -> FakeResponse {
    with_store(state, |st| match locate(st, o, raw_id) {
        Ok(pos) => {
            mark_deleted(st, o, pos);
            FakeResponse::no_content()
        }
        Err(e) if e.code == "ENTITY_IS_DELETED" => errors(404, &[e]),
        Err(_) => not_found(),
    })
}

/// The result entry of one record of a collection request.
fn collection_result(result: &Result<String, Vec<SfError>>) -> Value {
    match result {
        Ok(id) => json!({ "id": id, "success": true, "errors": [] }),
        Err(errs) => {
            json!({ "success": false, "errors": errs.iter().map(SfError::collection_value).collect::<Vec<_>>() })
        }
    }
}

fn rolled_back() -> Vec<SfError> {
    vec![SfError::with_fields(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        vec![],
    )]
}

fn too_many_records() -> FakeResponse {
    error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
}

/// One deserialised record of a collection request: its object, its `Id` (updates) and its field values.
type CollectionRecord = (&'static SObject, Option<String>, Vec<(usize, Value)>);

/// `POST` (create) and `PATCH` (update) `/composite/sobjects`.
fn collection_write(state: &State, req: &FakeRequest, _version: &str, update: bool) -> FakeResponse {
    let (map, text) = match body_object(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let all_or_none = map.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(records) = map.get("records").and_then(Value::as_array) else {
        return error(400, "INVALID_FIELD", "The 'records' field is required and must be an array of sObjects");
    };
    if records.len() > MAX_COLLECTION {
        return too_many_records();
    }
    // Deserialise every record first: a record that does not parse fails the whole request.
    let mut parsed: Vec<Result<CollectionRecord, Vec<SfError>>> = Vec::new();
    for r in records {
        let Some(obj_map) = r.as_object() else {
            return error(400, "JSON_PARSER_ERROR", "Each record must be a JSON object");
        };
        let type_name = obj_map.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str);
        let Some(type_name) = type_name else {
            parsed.push(Err(vec![SfError::with_fields(
                "INVALID_TYPE",
                "When creating or updating records, each record must have an attributes property with its type",
                vec![],
            )]));
            continue;
        };
        let Some(o) = object(type_name) else {
            parsed.push(Err(vec![SfError::with_fields(
                "INVALID_TYPE",
                format!("sObject type '{type_name}' is not supported."),
                vec![],
            )]));
            continue;
        };
        let mut fields_map = obj_map.clone();
        let id = if update {
            let key = fields_map.keys().find(|k| k.eq_ignore_ascii_case("Id")).cloned();
            key.and_then(|k| fields_map.remove(&k)).and_then(|v| v.as_str().map(str::to_string))
        } else {
            None
        };
        match deserialise(o, &fields_map, &text) {
            Ok(values) => parsed.push(Ok((o, id, values))),
            Err(e) => return errors(400, &[e]),
        }
    }
    with_store(state, |st| {
        let snapshot = all_or_none.then(|| st.tables.clone());
        let mut results: Vec<Result<String, Vec<SfError>>> = Vec::with_capacity(parsed.len());
        for p in parsed {
            let result = match p {
                Err(errs) => Err(errs),
                Ok((o, None, _)) if update => Err(vec![SfError::with_fields(
                    "MISSING_ARGUMENT",
                    format!("Id not specified in an update call ({})", o.name),
                    vec![],
                )]),
                Ok((o, Some(raw_id), values)) => match locate(st, o, &raw_id) {
                    Err(e) => {
                        let e = if e.code == "NOT_FOUND" {
                            SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                        } else {
                            e
                        };
                        Err(vec![SfError { fields: Some(vec![]), ..e }])
                    }
                    Ok(pos) => {
                        let existing = st.table(o).recs.get(pos).cloned();
                        validate(st, o, existing.as_ref(), &values).map(|rec| {
                            store_update(st, o, pos, rec);
                            existing.map(|r| r.id().to_string()).unwrap_or_default()
                        })
                    }
                },
                Ok((o, None, values)) => validate(st, o, None, &values).map(|rec| insert(st, o, rec)),
            };
            results.push(result);
        }
        if let Some(tables) = snapshot {
            if results.iter().any(Result::is_err) {
                st.tables = tables;
                for r in results.iter_mut() {
                    if r.is_ok() {
                        *r = Err(rolled_back());
                    }
                }
            }
        }
        FakeResponse::json(200, &Value::Array(results.iter().map(collection_result).collect()))
    })
}

/// `DELETE /composite/sobjects?ids=a,b&allOrNone=true`
fn collection_delete(state: &State, req: &FakeRequest) -> FakeResponse {
    let ids: Vec<String> = req
        .param("ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return error(400, "MISSING_ARGUMENT", "ids: Must have at least one id");
    }
    if ids.len() > MAX_COLLECTION {
        return too_many_records();
    }
    let all_or_none = req.param("allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    with_store(state, |st| {
        let snapshot = all_or_none.then(|| st.tables.clone());
        let mut results: Vec<(String, Result<(), Vec<SfError>>)> = Vec::new();
        for raw in &ids {
            let target = normalise_id(raw).and_then(|id| OBJECTS.iter().copied().find(|o| id.starts_with(o.prefix)));
            let result = match target {
                None => Err(vec![SfError::with_fields("MALFORMED_ID", format!("malformed id {raw}"), vec![])]),
                Some(o) => match locate(st, o, raw) {
                    Ok(pos) => {
                        mark_deleted(st, o, pos);
                        Ok(())
                    }
                    Err(e) => {
                        let e = if e.code == "NOT_FOUND" {
                            SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
                        } else {
                            e
                        };
                        Err(vec![SfError { fields: Some(vec![]), ..e }])
                    }
                },
            };
            results.push((normalise_id(raw).unwrap_or_else(|| raw.clone()), result));
        }
        if let Some(tables) = snapshot {
            if results.iter().any(|(_, r)| r.is_err()) {
                st.tables = tables;
                for (_, r) in results.iter_mut() {
                    if r.is_ok() {
                        *r = Err(rolled_back());
                    }
                }
            }
        }
        let list: Vec<Value> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(()) => json!({ "id": id, "success": true, "errors": [] }),
                Err(errs) => json!({
                    "id": id,
                    "success": false,
                    "errors": errs.iter().map(SfError::collection_value).collect::<Vec<_>>(),
                }),
            })
            .collect();
        FakeResponse::json(200, &Value::Array(list))
    })
}

// ---------------------------------------------------------------- SOQL

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A string literal: characters with whether each was escaped (`\%` and `\_` stay literal in LIKE).
    Str(Vec<(char, bool)>),
    Num(f64),
    Date(i64),
    DateTime(i64),
    Comma,
    LParen,
    RParen,
    Op(&'static str),
    /// A lexing error at this position (the message says what went wrong).
    Bad(String),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Character index in the query.
    pos: usize,
    /// The source text (for "unexpected token" messages).
    text: String,
}

fn lex(q: &str) -> Vec<Token> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let text = |a: usize, b: usize| chars.get(a..b).map(|s| s.iter().collect::<String>()).unwrap_or_default();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            ',' => {
                i += 1;
                Tok::Comma
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '=' => {
                i += 1;
                Tok::Op("=")
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op("!=")
            }
            '<' => {
                i += 1;
                match chars.get(i) {
                    Some('=') => {
                        i += 1;
                        Tok::Op("<=")
                    }
                    Some('>') => {
                        i += 1;
                        Tok::Op("!=")
                    }
                    _ => Tok::Op("<"),
                }
            }
            '>' => {
                i += 1;
                if chars.get(i) == Some(&'=') {
                    i += 1;
                    Tok::Op(">=")
                } else {
                    Tok::Op(">")
                }
            }
            '\'' => {
                i += 1;
                let mut value = Vec::new();
                let mut bad = None;
                loop {
                    match chars.get(i) {
                        None => {
                            bad = Some(
                                "line 1:".to_string()
                                    + &start.to_string()
                                    + " mismatched character '<EOF>' expecting '''",
                            );
                            break;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let esc = chars.get(i + 1).copied();
                            let ch = match esc {
                                Some('n' | 'N') => Some(('\n', true)),
                                Some('r' | 'R') => Some(('\r', true)),
                                Some('t' | 'T') => Some(('\t', true)),
                                Some('b' | 'B') => Some(('\u{8}', true)),
                                Some('f' | 'F') => Some(('\u{c}', true)),
                                Some(q @ ('"' | '\'' | '\\')) => Some((q, true)),
                                Some(w @ ('_' | '%')) => Some((w, true)),
                                _ => None,
                            };
                            match ch {
                                Some(pair) => {
                                    value.push(pair);
                                    i += 2;
                                }
                                None => {
                                    bad = Some(format!(
                                        "Invalid string literal '{}'. Illegal character sequence '\\{}' in string \
                                         literal.",
                                        text(start, chars.len()),
                                        esc.map(String::from).unwrap_or_default()
                                    ));
                                    break;
                                }
                            }
                        }
                        Some(ch) => {
                            value.push((*ch, false));
                            i += 1;
                        }
                    }
                }
                match bad {
                    Some(msg) => Tok::Bad(msg),
                    None => Tok::Str(value),
                }
            }
            c if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                i += 1;
                while chars.get(i).is_some_and(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | ':' | '-' | '+')) {
                    // Stop a number before a following operator such as `-` only inside date literals.
                    i += 1;
                }
                let raw = text(start, i);
                literal(&raw).unwrap_or(Tok::Bad(format!("unexpected token: '{raw}'")))
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars.get(i).is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.') {
                    i += 1;
                }
                Tok::Ident(text(start, i))
            }
            _ => {
                i += 1;
                Tok::Bad(format!("line 1:{start} no viable alternative at character '{c}'"))
            }
        };
        let is_bad = matches!(tok, Tok::Bad(_));
        out.push(Token { tok, pos: start, text: text(start, i) });
        if is_bad {
            return out;
        }
    }
    out.push(Token { tok: Tok::Eof, pos: chars.len(), text: "<EOF>".to_string() });
    out
}

/// A number, date (`2024-01-05`) or date-time (`2024-01-05T10:00:00Z`, offset required) literal.
fn literal(raw: &str) -> Option<Tok> {
    if let Ok(n) = raw.parse::<f64>() {
        if raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') && n.is_finite() {
            return Some(Tok::Num(n));
        }
    }
    if raw.len() == 10 {
        return parse_date(raw).map(Tok::Date);
    }
    let has_offset = raw.ends_with(['Z', 'z']) || raw.get(19..).is_some_and(|t| t.contains(['+', '-']));
    if raw.len() > 10 && raw.get(10..11) == Some("T") && has_offset {
        return parse_iso_ms(raw).map(Tok::DateTime);
    }
    None
}

/// A literal value in a condition.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(Vec<(char, bool)>),
    Num(f64),
    Bool(bool),
    Null,
    Date(i64),
    DateTime(i64),
}

impl Lit {
    fn text(&self) -> String {
        match self {
            Lit::Str(chars) => chars.iter().map(|(c, _)| *c).collect(),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
enum Cond {
    Cmp { field: usize, op: &'static str, value: Lit },
    In { field: usize, values: Vec<Lit>, negated: bool },
    Like { field: usize, pattern: Vec<(char, bool)> },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
}

#[derive(Debug)]
struct OrderBy {
    field: usize,
    desc: bool,
    nulls_last: bool,
}

#[derive(Debug)]
struct Query {
    obj: &'static SObject,
    fields: Vec<usize>,
    cond: Option<Cond>,
    order: Vec<OrderBy>,
    limit: Option<usize>,
    offset: usize,
}

/// A SOQL error: the error code, the position it points at and the message.
#[derive(Debug)]
struct SoqlError {
    code: &'static str,
    pos: usize,
    message: String,
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    obj: Option<&'static SObject>,
    /// Nesting of parentheses and NOTs (bounded, so a hostile query cannot exhaust the stack).
    depth: usize,
}

/// Deepest nesting of conditions a query may have.
const MAX_NESTING: usize = 100;

const KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc", "nulls", "first",
    "last", "limit", "offset", "null", "true", "false",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        static EOF: Token = Token { tok: Tok::Eof, pos: 0, text: String::new() };
        self.toks.get(self.i).unwrap_or(&EOF)
    }

    fn next(&mut self) -> &'a Token {
        let t = self.peek();
        self.i += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        let message = match &t.tok {
            Tok::Bad(msg) => msg.clone(),
            Tok::Eof => "unexpected token: <EOF>".to_string(),
            _ => format!("unexpected token: '{}'", t.text),
        };
        SoqlError { code: "MALFORMED_QUERY", pos: t.pos, message }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.is_kw(kw) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field name (not a keyword) resolved against the FROM object.
    fn field(&mut self) -> Result<(usize, &'static Field), SoqlError> {
        let t = self.peek();
        let Tok::Ident(name) = &t.tok else {
            return Err(self.unexpected());
        };
        if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            return Err(self.unexpected());
        }
        let obj = self.obj.unwrap_or(&ACCOUNT);
        self.i += 1;
        obj.field(name).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            pos: t.pos,
            message: format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to \
                 append the '__c' after the custom field name. Please reference your WSDL or the describe call for \
                 the appropriate names.",
                obj.name
            ),
        })
    }

    fn literal(&mut self) -> Result<(Lit, usize), SoqlError> {
        let t = self.peek();
        let lit = match &t.tok {
            Tok::Str(chars) => Lit::Str(chars.clone()),
            Tok::Num(n) => Lit::Num(*n),
            Tok::Date(d) => Lit::Date(*d),
            Tok::DateTime(ms) => Lit::DateTime(*ms),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Lit::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        Ok((lit, t.pos))
    }

    /// `cond ((AND|OR) cond)*`: one kind of connective per level (mixing needs parentheses, as in SOQL).
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.term()?;
        let mut list = vec![first];
        let mut connective: Option<bool> = None; // Some(true): AND
        loop {
            let is_and = if self.is_kw("and") {
                true
            } else if self.is_kw("or") {
                false
            } else {
                break;
            };
            if connective.is_some_and(|c| c != is_and) {
                return Err(self.unexpected());
            }
            connective = Some(is_and);
            self.i += 1;
            list.push(self.term()?);
        }
        Ok(match (connective, list.len()) {
            (_, 1) => list.pop().unwrap_or(Cond::And(vec![])),
            (Some(true), _) => Cond::And(list),
            _ => Cond::Or(list),
        })
    }

    fn term(&mut self) -> Result<Cond, SoqlError> {
        self.depth += 1;
        let result = if self.depth > MAX_NESTING { Err(self.unexpected()) } else { self.simple_term() };
        self.depth -= 1;
        result
    }

    fn simple_term(&mut self) -> Result<Cond, SoqlError> {
        if self.is_kw("not") {
            self.i += 1;
            return Ok(Cond::Not(Box::new(self.term()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.i += 1;
            let c = self.condition()?;
            if self.peek().tok != Tok::RParen {
                return Err(self.unexpected());
            }
            self.i += 1;
            return Ok(c);
        }
        let (idx, fd) = self.field()?;
        if self.is_kw("like") {
            self.i += 1;
            let (lit, pos) = self.literal()?;
            let Lit::Str(pattern) = lit else {
                return Err(type_error(fd, pos));
            };
            if !fd.ty.is_text() && !fd.ty.is_id() {
                return Err(SoqlError {
                    code: "INVALID_FIELD",
                    pos,
                    message: format!("invalid operator on field '{}': LIKE can only be used on text fields", fd.name),
                });
            }
            return Ok(Cond::Like { field: idx, pattern });
        }
        let negated = if self.is_kw("not") {
            self.i += 1;
            if !self.is_kw("in") {
                return Err(self.unexpected());
            }
            true
        } else {
            false
        };
        if self.is_kw("in") {
            self.i += 1;
            if self.peek().tok != Tok::LParen {
                return Err(self.unexpected());
            }
            self.i += 1;
            let mut values = Vec::new();
            loop {
                let (lit, pos) = self.literal()?;
                values.push(check_literal(fd, lit, pos)?);
                match self.next().tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected());
                    }
                }
            }
            return Ok(Cond::In { field: idx, values, negated });
        }
        let op = match self.peek().tok {
            Tok::Op(op) => op,
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        let (lit, pos) = self.literal()?;
        let value = check_literal(fd, lit, pos)?;
        if value == Lit::Null && op != "=" && op != "!=" {
            return Err(SoqlError {
                code: "INVALID_QUERY_FILTER_OPERATOR",
                pos,
                message: format!("invalid operator on null: {op}"),
            });
        }
        Ok(Cond::Cmp { field: idx, op, value })
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("select")?;
        // Field names are resolved once the object is known: remember their tokens first.
        let mut field_toks = Vec::new();
        loop {
            let t = self.peek();
            match &t.tok {
                Tok::Ident(name) if !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name)) => {
                    field_toks.push(self.i);
                    self.i += 1;
                }
                _ => return Err(self.unexpected()),
            }
            if self.peek().tok == Tok::Comma {
                self.i += 1;
            } else {
                break;
            }
        }
        self.expect_kw("from")?;
        let t = self.peek();
        let Tok::Ident(obj_name) = &t.tok else {
            return Err(self.unexpected());
        };
        let Some(obj) = object(obj_name) else {
            return Err(SoqlError {
                code: "INVALID_TYPE",
                pos: t.pos,
                message: format!(
                    "sObject type '{obj_name}' is not supported. If you are attempting to use a custom object, be \
                     sure to append the '__c' after the entity name. Please reference your WSDL or the describe call \
                     for the appropriate names."
                ),
            });
        };
        self.i += 1;
        self.obj = Some(obj);
        let after_from = self.i;
        let mut fields = Vec::new();
        for ti in field_toks {
            self.i = ti;
            let (idx, fd) = self.field()?;
            if fields.contains(&idx) {
                return Err(SoqlError {
                    code: "MALFORMED_QUERY",
                    pos: self.toks.get(ti).map_or(0, |t| t.pos),
                    message: format!("duplicate field selected: {}", fd.name),
                });
            }
            fields.push(idx);
        }
        self.i = after_from;
        let cond = if self.is_kw("where") {
            self.i += 1;
            Some(self.condition()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.is_kw("order") {
            self.i += 1;
            self.expect_kw("by")?;
            loop {
                let (field, _) = self.field()?;
                let desc = if self.is_kw("desc") {
                    self.i += 1;
                    true
                } else {
                    if self.is_kw("asc") {
                        self.i += 1;
                    }
                    false
                };
                let mut nulls_last = false;
                if self.is_kw("nulls") {
                    self.i += 1;
                    if self.is_kw("last") {
                        nulls_last = true;
                    } else if !self.is_kw("first") {
                        return Err(self.unexpected());
                    }
                    self.i += 1;
                }
                order.push(OrderBy { field, desc, nulls_last });
                if self.peek().tok == Tok::Comma {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        let mut limit = None;
        if self.is_kw("limit") {
            self.i += 1;
            limit = Some(self.count()?);
        }
        let mut offset = 0;
        if self.is_kw("offset") {
            self.i += 1;
            offset = self.count()?;
        }
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected());
        }
        Ok(Query { obj, fields, cond, order, limit, offset })
    }

    /// A non-negative integer (LIMIT, OFFSET).
    fn count(&mut self) -> Result<usize, SoqlError> {
        match self.peek().tok {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.i += 1;
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }
}

fn type_error(fd: &Field, pos: usize) -> SoqlError {
    let wants_quotes = fd.ty.is_text() || fd.ty.is_id();
    let tail = if wants_quotes { "should be enclosed in quotes" } else { "should not be enclosed in quotes" };
    SoqlError {
        code: "INVALID_FIELD",
        pos,
        message: format!(
            "value of filter criterion for field '{}' must be of type {} and {tail}",
            fd.name,
            fd.ty.soql_name()
        ),
    }
}

/// Checks a literal against the field's type; Id literals are normalised to 18 characters.
fn check_literal(fd: &Field, lit: Lit, pos: usize) -> Result<Lit, SoqlError> {
    let ok = match (&lit, fd.ty) {
        (Lit::Null, _) => true,
        (Lit::Str(_), t) if t.is_text() => true,
        (Lit::Str(_), FType::Id | FType::Ref(_)) => {
            let text = lit.text();
            return match normalise_id(&text) {
                Some(id) => Ok(Lit::Str(id.chars().map(|c| (c, false)).collect())),
                None => Err(SoqlError {
                    code: "INVALID_QUERY_FILTER_OPERATOR",
                    pos,
                    message: format!("invalid ID field: {text}"),
                }),
            };
        }
        (Lit::Num(n), FType::Int) => n.fract() == 0.0,
        (Lit::Num(_), t) => t.is_number(),
        (Lit::Bool(_), FType::Bool) => true,
        (Lit::Date(_), FType::Date) => true,
        (Lit::DateTime(_), FType::DateTime) => true,
        _ => false,
    };
    if ok {
        Ok(lit)
    } else {
        Err(type_error(fd, pos))
    }
}

/// A comparable form of a stored value or literal.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cv {
    S(String),
    N(f64),
    B(bool),
    /// Days (dates) or milliseconds (date-times).
    T(i64),
}

fn field_cv(ty: FType, v: &Value) -> Option<Cv> {
    match (ty, v) {
        (_, Value::Null) => None,
        (FType::Bool, Value::Bool(b)) => Some(Cv::B(*b)),
        (_, Value::Number(n)) => n.as_f64().map(Cv::N),
        (FType::Date, Value::String(s)) => parse_date(s).map(Cv::T),
        (FType::DateTime, Value::String(s)) => parse_iso_ms(s).map(Cv::T),
        (_, Value::String(s)) => Some(Cv::S(s.to_lowercase())),
        _ => None,
    }
}

fn lit_cv(lit: &Lit) -> Option<Cv> {
    match lit {
        Lit::Null => None,
        Lit::Str(_) => Some(Cv::S(lit.text().to_lowercase())),
        Lit::Num(n) => Some(Cv::N(*n)),
        Lit::Bool(b) => Some(Cv::B(*b)),
        Lit::Date(d) => Some(Cv::T(*d)),
        Lit::DateTime(ms) => Some(Cv::T(*ms)),
    }
}

fn like(pattern: &[(char, bool)], text: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<(char, bool)> = pattern.iter().map(|(c, e)| (c.to_lowercase().next().unwrap_or(*c), *e)).collect();
    // dp[j]: pattern prefix of length j matches text prefix.
    let mut dp = vec![false; p.len() + 1];
    dp[0] = true;
    for j in 1..=p.len() {
        dp[j] = dp[j - 1] && p[j - 1] == ('%', false);
    }
    for ch in &t {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                ('%', false) => next[j - 1] || dp[j],
                ('_', false) => dp[j - 1],
                (pc, _) => dp[j - 1] && pc == *ch,
            };
        }
        dp = next;
    }
    dp[p.len()]
}

fn eval(cond: &Cond, o: &SObject, rec: &Rec) -> bool {
    let value = |idx: usize| -> (FType, &Value) {
        let ty = o.fields.get(idx).map_or(FType::Str, |f| f.ty);
        (ty, rec.values.get(idx).unwrap_or(&Value::Null))
    };
    match cond {
        Cond::And(list) => list.iter().all(|c| eval(c, o, rec)),
        Cond::Or(list) => list.iter().any(|c| eval(c, o, rec)),
        Cond::Not(c) => !eval(c, o, rec),
        Cond::Like { field, pattern } => value(*field).1.as_str().is_some_and(|s| like(pattern, s)),
        Cond::In { field, values, negated } => {
            let (ty, v) = value(*field);
            let cv = field_cv(ty, v);
            let found = values.iter().any(|l| lit_cv(l) == cv);
            found != *negated
        }
        Cond::Cmp { field, op, value: lit } => {
            let (ty, v) = value(*field);
            let (a, b) = (field_cv(ty, v), lit_cv(lit));
            match (*op, a, b) {
                ("=", a, b) => a == b,
                ("!=", a, b) => a != b,
                (_, Some(a), Some(b)) => match a.partial_cmp(&b) {
                    Some(ord) => match *op {
                        "<" => ord.is_lt(),
                        "<=" => ord.is_le(),
                        ">" => ord.is_gt(),
                        ">=" => ord.is_ge(),
                        _ => false,
                    },
                    None => false,
                },
                _ => false,
            }
        }
    }
}

/// Salesforce's SOQL error text: the query line, a caret under the position, and the message.
fn soql_error(q: &str, e: &SoqlError) -> FakeResponse {
    let before: String = q.chars().take(e.pos).collect();
    let row = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let line = q.lines().nth(row - 1).unwrap_or(q);
    let message = format!("\n{line}\n{}^\nERROR at Row:{row}:Column:{col}\n{}", " ".repeat(col - 1), e.message);
    error(400, e.code, &message)
}

/// The batch size asked for with `Sforce-Query-Options: batchSize=N` (clamped to 200..=2000).
fn batch_size(req: &FakeRequest) -> Option<usize> {
    let header = req.header_value("sforce-query-options")?;
    header.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("batchSize") {
            return None;
        }
        v.trim().parse::<usize>().ok().map(|n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
    })
}

fn query(state: &State, req: &FakeRequest, version: &str, include_deleted: bool) -> FakeResponse {
    let Some(q) = req.param("q").filter(|q| !q.trim().is_empty()) else {
        return error(400, "MALFORMED_QUERY", "SOQL statements cannot be empty or null");
    };
    let toks = lex(q);
    let mut parser = Parser { toks: &toks, i: 0, obj: None, depth: 0 };
    let parsed = match parser.query() {
        Ok(p) => p,
        Err(e) => return soql_error(q, &e),
    };
    let batch = batch_size(req).unwrap_or(DEFAULT_BATCH);
    let o = parsed.obj;
    with_store(state, |st| {
        let mut hits: Vec<&Rec> = st
            .table(o)
            .recs
            .iter()
            .filter(|r| include_deleted || !r.deleted)
            .filter(|r| parsed.cond.as_ref().is_none_or(|c| eval(c, o, r)))
            .collect();
        if !parsed.order.is_empty() {
            hits.sort_by(|a, b| {
                for ob in &parsed.order {
                    let ty = o.fields.get(ob.field).map_or(FType::Str, |f| f.ty);
                    let va = a.values.get(ob.field).and_then(|v| field_cv(ty, v));
                    let vb = b.values.get(ob.field).and_then(|v| field_cv(ty, v));
                    let ord = match (va, vb) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, Some(_)) if ob.nulls_last => std::cmp::Ordering::Greater,
                        (None, Some(_)) => std::cmp::Ordering::Less,
                        (Some(_), None) if ob.nulls_last => std::cmp::Ordering::Less,
                        (Some(_), None) => std::cmp::Ordering::Greater,
                        (Some(x), Some(y)) => {
                            let o = x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
                            if ob.desc {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    };
                    if ord != std::cmp::Ordering::Equal {
                        return ord;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        let start = parsed.offset.min(hits.len());
        let end = parsed.limit.map_or(hits.len(), |l| start.saturating_add(l).min(hits.len()));
        let records: Vec<String> = hits
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|r| {
                let mut out = String::with_capacity(256);
                record_json(&mut out, o, version, r, &parsed.fields);
                out
            })
            .collect();
        if records.len() <= batch {
            return page(version, &records, 0, batch, None);
        }
        st.cursors_opened += 1;
        let locator = make_id("01g", st.cursors_opened);
        let resp = page(version, &records, 0, batch, Some(&locator));
        if st.cursors.len() >= MAX_CURSORS {
            st.cursors.pop_front();
        }
        st.cursors.push_back(Cursor { locator, records, batch });
        resp
    })
}

/// One page of a query result starting at `offset`.
fn page(version: &str, records: &[String], offset: usize, batch: usize, locator: Option<&str>) -> FakeResponse {
    let end = offset.saturating_add(batch).min(records.len());
    let done = end >= records.len();
    let mut out = String::with_capacity(64 + records.get(offset..end).map_or(0, |r| r.iter().map(String::len).sum()));
    out.push_str("{\"totalSize\":");
    out.push_str(&records.len().to_string());
    out.push_str(",\"done\":");
    out.push_str(if done { "true" } else { "false" });
    if let (false, Some(loc)) = (done, locator) {
        out.push_str(",\"nextRecordsUrl\":");
        push_json_str(&mut out, &format!("/services/data/{version}/query/{loc}-{end}"));
    }
    out.push_str(",\"records\":[");
    for (i, r) in records.get(offset..end).unwrap_or(&[]).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r);
    }
    out.push_str("]}");
    FakeResponse::raw_json(200, out.into_bytes())
}

/// `GET /query/<locator>-<offset>`
fn query_more(state: &State, req: &FakeRequest, version: &str, raw: &str) -> FakeResponse {
    let invalid = || error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let Some((locator, offset)) = raw.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let batch = batch_size(req);
    with_store(state, |st| match st.cursors.iter().find(|c| c.locator == locator) {
        Some(c) if offset < c.records.len() => {
            page(version, &c.records, offset, batch.unwrap_or(c.batch), Some(&c.locator))
        }
        _ => invalid(),
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn ids_have_the_case_safe_suffix() {
        // Each 5-character chunk maps its upper-case letters to bits (first character = lowest bit).
        assert_eq!(id_suffix("001D000000IRFma"), "IAH");
        let id = make_id("001", 1);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("001"));
        assert_eq!(normalise_id(&id), Some(id.clone()));
        assert_eq!(normalise_id(id.get(..15).unwrap_or("")), Some(id.clone()));
        assert_eq!(normalise_id(&id.to_lowercase()), None);
        assert_eq!(normalise_id("abc"), None);
    }

    #[test]
    fn like_patterns() {
        let p = |s: &str| -> Vec<(char, bool)> { s.chars().map(|c| (c, false)).collect() };
        assert!(like(&p("acme%"), "Acme Corp 1"));
        assert!(like(&p("%corp%"), "Acme Corp 1"));
        assert!(like(&p("a_me%"), "Acme"));
        assert!(!like(&p("acme"), "Acme Corp"));
        // An escaped % only matches a percent sign.
        let mut escaped = p("100");
        escaped.push(('%', true));
        escaped.push(('%', false));
        assert!(like(&escaped, "100% Organic Co"));
        assert!(!like(&escaped, "1000 Things"));
    }

    #[test]
    fn sf_dates() {
        assert_eq!(sf_datetime(BASE_MS), "2024-01-01T00:00:00.000+0000");
        assert_eq!(sf_date(BASE_DAYS), "2024-01-01");
        assert_eq!(parse_iso_ms("2024-01-01T00:00:00.000+0000"), Some(BASE_MS as i64));
    }
}
