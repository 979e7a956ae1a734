//! A fake Airtable Web API (`/v0/...`) with one base, `appTether0000001`, holding the tables `Contacts`
//! (`tblContacts0001`) and `Projects` (`tblProjects0001`).
//!
//! * `GET /v0/{base}/{table}` (and `POST .../listRecords`): `pageSize`, `maxRecords`, `offset`,
//!   `filterByFormula`, `fields[]`, `sort[i][field|direction]`, `view`; the offset is an iterator id plus the
//!   next record id (`itr.../rec...`).
//! * `GET|PATCH|PUT|DELETE /v0/{base}/{table}/{record}`; `POST|PATCH|PUT /v0/{base}/{table}` with up to ten
//!   records (all or nothing, `typecast`); `DELETE /v0/{base}/{table}?records[]=..` (up to ten).
//! * `GET /v0/meta/bases` and `GET /v0/meta/bases/{base}/tables` (schema).
//! * Five requests per second per base: the sixth within a second gets 429 and the base stays blocked for the
//!   penalty period (30 s, `--seed airtable_penalty_ms=N`). `GET /v0/_fake/rate_limited` counts the 429s.
//!
//! Auth: `Authorization: Bearer <--token>` or an access token of the fake OAuth server. Tables are addressed by
//! name (URL-encoded) or id. Empty fields are omitted from records, as Airtable does.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::data::{civil_from_days, iso_ms, parse_date, parse_iso_ms, push_json_str, MAX_SEED, WRITE_BASE_MS};
use crate::http::{FakeRequest, FakeResponse};
use crate::oauth::{self, TokenStatus};
use crate::providers::ProviderModule;
use crate::state::State;

pub const MODULE: ProviderModule =
    ProviderModule { name: "airtable", handles: |path| path.starts_with("/v0/"), handle, injected_error, seed, reset };

pub const BASE_ID: &str = "appTether0000001";
const BASE_NAME: &str = "Tether test base";
const MAX_PAGE: u64 = 100;
/// Most records one write request takes.
const MAX_WRITE: usize = 10;
const REQUESTS_PER_SECOND: u64 = 5;
const PENALTY_MS: u64 = 30_000;
/// Iterators kept for paging (older ones become unavailable).
const MAX_ITERATORS: usize = 100;
/// 2024-01-05T10:00:00Z
const SEED_BASE_MS: u64 = 1_704_448_800_000;
/// 2023-01-01 in days since the epoch.
const SIGNUP_BASE_DAYS: i64 = 19_358;

// ---------------------------------------------------------------- schema and data

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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
    fn api_name(self) -> &'static str {
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
struct Field {
    name: &'static str,
    kind: Kind,
    /// Options of select fields (grows when `typecast` writes a new one).
    choices: Vec<String>,
}

#[derive(Debug, Clone)]
struct Rec {
    id: String,
    created_ms: u64,
    /// Values aligned with the table's fields; `None` is an empty cell.
    values: Vec<Option<Value>>,
}

#[derive(Debug, Clone)]
struct Table {
    id: &'static str,
    name: &'static str,
    fields: Vec<Field>,
    recs: Vec<Rec>,
    /// Records created so far (seeded and written); ids and times of new records derive from it.
    created: u64,
    /// Salt of this table's record ids.
    salt: u64,
}

impl Table {
    fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// A field named in a formula: the exact name, else ignoring case.
    fn formula_field(&self, name: &str) -> Option<usize> {
        self.field(name).or_else(|| self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name)))
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.recs.iter().position(|r| r.id == id)
    }
}

#[derive(Debug)]
struct ListIterator {
    id: String,
    table: usize,
    /// Formula, sort and view of the listing: an offset only continues the same listing.
    signature: String,
    ids: Vec<String>,
}

#[derive(Debug, Default)]
struct BaseRate {
    window: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    limited: u64,
}

#[derive(Debug)]
struct AtStore {
    tables: Vec<Table>,
    iterators: VecDeque<ListIterator>,
    iterators_opened: u64,
    rates: HashMap<String, BaseRate>,
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` plus 14 pseudo-random (but deterministic) base-62 characters.
fn make_id(prefix: &str, seed: u64) -> String {
    let a = splitmix(seed);
    let b = splitmix(a ^ 0x5eed);
    let mut v = (u128::from(a) << 64) | u128::from(b);
    let mut out = String::with_capacity(17);
    out.push_str(prefix);
    for _ in 0..14 {
        out.push(char::from(B62[(v % 62) as usize]));
        v /= 62;
    }
    out
}

/// Whether `id` looks like an Airtable id with this prefix (`rec` + 14 alphanumerics).
fn is_id(prefix: &str, id: &str) -> bool {
    id.len() == 17 && id.starts_with(prefix) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn date_string(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

const FIRST: &[&str] = &["Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Gia", "Hugo", "Iris", "Jonas", "Kai"];
const LAST: &[&str] = &["Lovelace", "Novak", "Okafor", "Park", "Quinn", "Rossi", "Sato", "Tanaka", "Ueda", "Vega"];
const TAG_CHOICES: &[&str] = &["vip", "newsletter", "lead", "partner", "churned"];
const STATUS_CHOICES: &[&str] = &["Todo", "In progress", "Done"];
const PROJECT_WORDS: &[&str] = &["Apollo", "Borealis", "Cobalt", "Delta", "Ember", "Fjord", "Granite"];

fn pick<T: Copy>(list: &[T], n: u64) -> T {
    list[(n % list.len() as u64) as usize]
}

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

fn contacts_table(n: u64) -> Table {
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

fn projects_table(n: u64) -> Table {
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

fn with_store<R>(state: &State, f: impl FnOnce(&mut AtStore) -> R) -> R {
    state.with_store(AtStore::new, f)
}

fn seed(state: &State, name: &str, count: u64) -> bool {
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
fn reset(state: &State) {
    with_store(state, |st| {
        st.iterators.clear();
        st.iterators_opened = 0;
        st.rates.clear();
    });
}

// ---------------------------------------------------------------- errors

fn at_error(status: u16, kind: &str, message: &str) -> FakeResponse {
    FakeResponse::json(status, &json!({ "error": { "type": kind, "message": message } }))
}

fn not_found() -> FakeResponse {
    FakeResponse::json(404, &json!({ "error": "NOT_FOUND" }))
}

fn invalid_request() -> FakeResponse {
    at_error(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed. Check your request data.")
}

fn record_not_found() -> FakeResponse {
    at_error(404, "MODEL_ID_NOT_FOUND", "Record not found")
}

fn rate_limited_body() -> FakeResponse {
    FakeResponse::json(
        429,
        &json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] }),
    )
}

fn injected_error(_state: &State, status: u16) -> FakeResponse {
    match status {
        429 => rate_limited_body(),
        401 => at_error(401, "AUTHENTICATION_REQUIRED", "Authentication required"),
        403 => at_error(403, "INVALID_PERMISSIONS", "You are not permitted to perform this operation"),
        404 => not_found(),
        422 => invalid_request(),
        500..=599 => at_error(status, "SERVER_ERROR", "Server error"),
        _ => at_error(status, "INVALID_REQUEST_UNKNOWN", &format!("injected failure {status}")),
    }
}

/// A request-level write error (all or nothing).
#[derive(Debug)]
struct WriteError {
    status: u16,
    kind: &'static str,
    message: String,
}

impl WriteError {
    fn new(kind: &'static str, message: impl Into<String>) -> WriteError {
        WriteError { status: 422, kind, message: message.into() }
    }

    fn response(&self) -> FakeResponse {
        at_error(self.status, self.kind, &self.message)
    }
}

// ---------------------------------------------------------------- routing

/// Percent-decodes a path segment (`+` stays a plus sign in paths).
fn path_decode(seg: &str) -> String {
    crate::http::percent_decode(&seg.replace('+', "%2B"))
}

fn handle(state: &State, req: &FakeRequest) -> Option<FakeResponse> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.as_slice() == ["v0", "_fake", "rate_limited"] {
        let count = with_store(state, |st| match req.param("base") {
            Some(b) => st.rates.get(b).map_or(0, |r| r.limited),
            None => st.rates.values().map(|r| r.limited).sum(),
        });
        return Some(FakeResponse::json(200, &json!({ "rate_limited": count })));
    }
    // Authentication first: an unknown token learns nothing about bases or tables.
    let authorised = match oauth::bearer_token(req) {
        Some(t) if t == state.config.token => true,
        Some(t) => oauth::token_status(state, t) == TokenStatus::Valid,
        None => false,
    };
    if !authorised {
        return Some(at_error(401, "AUTHENTICATION_REQUIRED", "Authentication required"));
    }
    let base_key = match segs.as_slice() {
        ["v0", "meta", "bases", base, ..] => *base,
        ["v0", "meta", ..] => "meta",
        ["v0", base, ..] => *base,
        _ => "",
    };
    if let Some(resp) = rate_limit(state, base_key) {
        return Some(resp);
    }
    let resp = match segs.as_slice() {
        ["v0", "meta", "bases"] if req.method == "GET" => FakeResponse::json(
            200,
            &json!({ "bases": [{ "id": BASE_ID, "name": BASE_NAME, "permissionLevel": "create" }] }),
        ),
        ["v0", "meta", "bases", base, "tables"] if req.method == "GET" => {
            if *base == BASE_ID {
                with_store(state, |st| FakeResponse::json(200, &schema(&st.tables)))
            } else {
                not_found()
            }
        }
        ["v0", base, table, rest @ ..] if *base == BASE_ID => {
            let table_name = path_decode(table);
            let found =
                with_store(state, |st| st.tables.iter().position(|t| t.id == table_name || t.name == table_name));
            let Some(t) = found else {
                return Some(at_error(
                    404,
                    "TABLE_NOT_FOUND",
                    &format!("Could not find table {table_name} in application {BASE_ID}"),
                ));
            };
            match (rest, req.method.as_str()) {
                ([], "GET") => list_get(state, req, t),
                (["listRecords"], "POST") => list_post(state, req, t),
                ([], "POST") => create(state, req, t),
                ([], "PATCH") => update_many(state, req, t, false),
                ([], "PUT") => update_many(state, req, t, true),
                ([], "DELETE") => delete_many(state, req, t),
                ([rec], "GET") => get_one(state, t, rec),
                ([rec], "PATCH") => update_one(state, req, t, rec, false),
                ([rec], "PUT") => update_one(state, req, t, rec, true),
                ([rec], "DELETE") => delete_one(state, t, rec),
                _ => not_found(),
            }
        }
        _ => not_found(),
    };
    Some(resp)
}

/// Five requests per second per base; past that 429, and the base stays blocked for the penalty period.
fn rate_limit(state: &State, base: &str) -> Option<FakeResponse> {
    let per_second = state.config.seed("airtable_requests_per_second", REQUESTS_PER_SECOND);
    let penalty = Duration::from_millis(state.config.seed("airtable_penalty_ms", PENALTY_MS));
    let now = Instant::now();
    let limited = with_store(state, |st| {
        let rate = st.rates.entry(base.to_string()).or_default();
        if let Some(until) = rate.blocked_until {
            if now < until {
                rate.limited += 1;
                return true;
            }
            rate.blocked_until = None;
        }
        while rate.window.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            rate.window.pop_front();
        }
        if rate.window.len() as u64 >= per_second {
            rate.limited += 1;
            rate.blocked_until = Some(now + penalty);
            // The penalty replaces the window: once it is served the base starts afresh.
            rate.window.clear();
            true
        } else {
            rate.window.push_back(now);
            false
        }
    });
    limited.then(rate_limited_body)
}

fn field_id(table: &Table, idx: usize) -> String {
    make_id("fld", table.salt << 40 | 0xf1e1d << 8 | idx as u64)
}

fn schema(tables: &[Table]) -> Value {
    let list: Vec<Value> = tables
        .iter()
        .map(|t| {
            let fields: Vec<Value> = t
                .fields
                .iter()
                .enumerate()
                .map(|(i, fd)| {
                    let mut v = json!({ "id": field_id(t, i), "name": fd.name, "type": fd.kind.api_name() });
                    let options = match fd.kind {
                        Kind::SingleSelect | Kind::MultiSelect => Some(json!({
                            "choices": fd.choices.iter().map(|c| json!({ "name": c })).collect::<Vec<_>>(),
                        })),
                        Kind::Number => Some(json!({ "precision": 0 })),
                        Kind::Currency => Some(json!({ "precision": 2, "symbol": "$" })),
                        Kind::Checkbox => Some(json!({ "icon": "check", "color": "greenBright" })),
                        Kind::Date => Some(json!({ "dateFormat": { "name": "iso", "format": "YYYY-MM-DD" } })),
                        _ => None,
                    };
                    if let (Some(o), Some(obj)) = (options, v.as_object_mut()) {
                        obj.insert("options".into(), o);
                    }
                    v
                })
                .collect();
            json!({
                "id": t.id,
                "name": t.name,
                "primaryFieldId": field_id(t, 0),
                "fields": fields,
                "views": [{ "id": make_id("viw", t.salt), "name": "Grid view", "type": "grid" }],
            })
        })
        .collect();
    json!({ "tables": list })
}

// ---------------------------------------------------------------- record output

fn push_record(out: &mut String, table: &Table, rec: &Rec, only: Option<&[usize]>) {
    out.push_str("{\"id\":");
    push_json_str(out, &rec.id);
    out.push_str(",\"createdTime\":");
    push_json_str(out, &iso_ms(rec.created_ms));
    out.push_str(",\"fields\":{");
    let mut first = true;
    for (i, (fd, v)) in table.fields.iter().zip(&rec.values).enumerate() {
        let Some(v) = v else { continue };
        if only.is_some_and(|o| !o.contains(&i)) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_json_str(out, fd.name);
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push_str("}}");
}

fn record_response(table: &Table, rec: &Rec) -> FakeResponse {
    let mut out = String::with_capacity(256);
    push_record(&mut out, table, rec, None);
    FakeResponse::raw_json(200, out.into_bytes())
}

fn records_response(table: &Table, recs: &[&Rec]) -> FakeResponse {
    let mut out = String::from("{\"records\":[");
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_record(&mut out, table, r, None);
    }
    out.push_str("]}");
    FakeResponse::raw_json(200, out.into_bytes())
}

fn get_one(state: &State, t: usize, rec_id: &str) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return not_found();
        };
        match table.recs.iter().find(|r| r.id == rec_id) {
            Some(rec) => record_response(table, rec),
            None => record_not_found(),
        }
    })
}

// ---------------------------------------------------------------- listing

#[derive(Debug, Default)]
struct ListParams {
    page_size: Option<u64>,
    max_records: Option<u64>,
    offset: Option<String>,
    formula: Option<String>,
    fields: Option<Vec<String>>,
    /// (field, descending)
    sort: Vec<(String, bool)>,
    view: Option<String>,
}

fn uint(raw: &str) -> Option<u64> {
    raw.trim().parse::<u64>().ok()
}

/// The values of a list parameter given as `name`, `name[]` or `name[N]`.
fn list_param(req: &FakeRequest, name: &str) -> Option<Vec<String>> {
    let mut plain = Vec::new();
    let mut indexed: Vec<(u64, String)> = Vec::new();
    let bracket = format!("{name}[]");
    for (k, v) in &req.query {
        if k == name || *k == bracket {
            plain.push(v.clone());
        } else if let Some(i) = k.strip_prefix(name).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
        {
            if let Some(n) = uint(i) {
                indexed.push((n, v.clone()));
            }
        }
    }
    if plain.is_empty() && indexed.is_empty() {
        return None;
    }
    indexed.sort_by_key(|(n, _)| *n);
    plain.extend(indexed.into_iter().map(|(_, v)| v));
    Some(plain)
}

fn list_get(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let mut p = ListParams::default();
    for (name, slot) in [("pageSize", &mut p.page_size), ("maxRecords", &mut p.max_records)] {
        if let Some(raw) = req.param(name) {
            match uint(raw) {
                Some(n) => *slot = Some(n),
                None => return invalid_request(),
            }
        }
    }
    p.offset = req.param("offset").map(str::to_string);
    p.formula = req.param("filterByFormula").map(str::to_string);
    p.fields = list_param(req, "fields");
    p.view = req.param("view").map(str::to_string);
    let mut sorts: Vec<(u64, String, bool)> = Vec::new();
    for (k, v) in &req.query {
        let Some(rest) = k.strip_prefix("sort[") else { continue };
        let Some((idx, attr)) = rest.split_once("][") else {
            return invalid_request();
        };
        let Some(idx) = uint(idx) else {
            return invalid_request();
        };
        let pos = match sorts.iter().position(|(i, _, _)| *i == idx) {
            Some(p) => p,
            None => {
                sorts.push((idx, String::new(), false));
                sorts.len() - 1
            }
        };
        let Some(entry) = sorts.get_mut(pos) else { continue };
        match attr {
            "field]" => entry.1 = v.clone(),
            "direction]" if v == "asc" => entry.2 = false,
            "direction]" if v == "desc" => entry.2 = true,
            _ => return invalid_request(),
        }
    }
    sorts.sort_by_key(|(i, _, _)| *i);
    if sorts.iter().any(|(_, f, _)| f.is_empty()) {
        return invalid_request();
    }
    p.sort = sorts.into_iter().map(|(_, f, d)| (f, d)).collect();
    if req.param("cellFormat").is_some_and(|c| c != "json") {
        return invalid_request();
    }
    list(state, t, &p)
}

fn json_body(req: &FakeRequest) -> Result<Map<String, Value>, FakeResponse> {
    let bad = || at_error(422, "INVALID_REQUEST_BODY", "Could not parse request body");
    if !req.has_json_content_type() {
        return Err(bad());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid_request()),
        Err(_) => Err(bad()),
    }
}

/// `POST /v0/{base}/{table}/listRecords`: the listing parameters in a JSON body.
fn list_post(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let body = match json_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mut p = ListParams::default();
    let text = |v: &Value| v.as_str().map(str::to_string);
    for (k, v) in &body {
        let ok = match k.as_str() {
            "pageSize" => v.as_u64().map(|n| p.page_size = Some(n)).is_some(),
            "maxRecords" => v.as_u64().map(|n| p.max_records = Some(n)).is_some(),
            "offset" => text(v).map(|s| p.offset = Some(s)).is_some(),
            "filterByFormula" => text(v).map(|s| p.formula = Some(s)).is_some(),
            "view" => text(v).map(|s| p.view = Some(s)).is_some(),
            "fields" => v
                .as_array()
                .map(|a| p.fields = Some(a.iter().filter_map(Value::as_str).map(str::to_string).collect()))
                .is_some(),
            "sort" => match v.as_array() {
                Some(a) => a.iter().all(|s| {
                    let field = s.get("field").and_then(Value::as_str);
                    let desc = match s.get("direction").and_then(Value::as_str) {
                        None | Some("asc") => Some(false),
                        Some("desc") => Some(true),
                        Some(_) => None,
                    };
                    match (field, desc) {
                        (Some(f), Some(d)) => {
                            p.sort.push((f.to_string(), d));
                            true
                        }
                        _ => false,
                    }
                }),
                None => false,
            },
            "cellFormat" => v.as_str() == Some("json"),
            "returnFieldsByFieldId" => v.as_bool() == Some(false),
            _ => false,
        };
        if !ok {
            return invalid_request();
        }
    }
    list(state, t, &p)
}

fn list(state: &State, t: usize, p: &ListParams) -> FakeResponse {
    let page_size = p.page_size.unwrap_or(MAX_PAGE);
    if !(1..=MAX_PAGE).contains(&page_size) || p.max_records == Some(0) {
        return invalid_request();
    }
    if let Some(v) = &p.view {
        if v != "Grid view" {
            return at_error(422, "VIEW_NAME_NOT_FOUND", &format!("View {v} not found"));
        }
    }
    let formula = match &p.formula {
        Some(f) if !f.trim().is_empty() => match parse_formula(f) {
            Ok(e) => Some(e),
            Err(()) => return formula_error("Invalid formula. Please check your formula text."),
        },
        _ => None,
    };
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return not_found();
        };
        // Field names: the projection, the sort and the formula must all exist.
        let mut only: Option<Vec<usize>> = None;
        if let Some(names) = &p.fields {
            let mut idx = Vec::new();
            for n in names {
                match table.field(n) {
                    Some(i) => idx.push(i),
                    None => return at_error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{n}\"")),
                }
            }
            only = Some(idx);
        }
        let mut sort = Vec::new();
        for (name, desc) in &p.sort {
            match table.field(name) {
                Some(i) => sort.push((i, *desc)),
                None => return at_error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{name}\"")),
            }
        }
        let formula = match formula {
            Some(e) => {
                let mut unknown = Vec::new();
                let bound = bind(&e, table, &mut unknown);
                if !unknown.is_empty() {
                    return formula_error(&format!("Unknown field names: {}", unknown.join(", ")));
                }
                Some(bound)
            }
            None => None,
        };
        let signature = format!("{:?}|{:?}|{:?}", p.formula, p.sort, p.view);
        // Continue an iterator, or start one.
        let (iter_idx, start) = match &p.offset {
            Some(raw) => {
                let Some((itr, rec)) = raw.split_once('/').filter(|(i, r)| is_id("itr", i) && is_id("rec", r)) else {
                    return at_error(422, "INVALID_OFFSET_VALUE", &format!("The value of offset {raw} is invalid"));
                };
                let found =
                    st.iterators.iter().position(|it| it.id == itr && it.table == t && it.signature == signature);
                let pos = found.and_then(|i| st.iterators.get(i)).and_then(|it| it.ids.iter().position(|id| id == rec));
                match (found, pos) {
                    (Some(i), Some(pos)) => (i, pos),
                    _ => {
                        return FakeResponse::json(
                            422,
                            &json!({ "error": { "type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE" } }),
                        )
                    }
                }
            }
            None => {
                let mut hits: Vec<&Rec> =
                    table.recs.iter().filter(|r| formula.as_ref().is_none_or(|e| truthy(&eval(e, table, r)))).collect();
                if !sort.is_empty() {
                    hits.sort_by(|a, b| {
                        for (i, desc) in &sort {
                            let ord = compare_cells(
                                a.values.get(*i).and_then(Option::as_ref),
                                b.values.get(*i).and_then(Option::as_ref),
                            );
                            let ord = if *desc { ord.reverse() } else { ord };
                            if ord != std::cmp::Ordering::Equal {
                                return ord;
                            }
                        }
                        std::cmp::Ordering::Equal
                    });
                }
                let cap = p.max_records.map_or(hits.len(), |m| (m as usize).min(hits.len()));
                let ids: Vec<String> = hits.iter().take(cap).map(|r| r.id.clone()).collect();
                st.iterators_opened += 1;
                let id = make_id("itr", 0x17e7 << 32 | st.iterators_opened);
                if st.iterators.len() >= MAX_ITERATORS {
                    st.iterators.pop_front();
                }
                st.iterators.push_back(ListIterator { id, table: t, signature, ids });
                (st.iterators.len() - 1, 0)
            }
        };
        let (Some(it), Some(table)) = (st.iterators.get(iter_idx), st.tables.get(t)) else {
            return not_found();
        };
        let end = start.saturating_add(page_size as usize).min(it.ids.len());
        let mut out = String::from("{\"records\":[");
        let mut first = true;
        for id in it.ids.get(start..end).unwrap_or(&[]) {
            // Records deleted since the listing started are skipped.
            let Some(rec) = table.recs.iter().find(|r| r.id == *id) else { continue };
            if !first {
                out.push(',');
            }
            first = false;
            push_record(&mut out, table, rec, only.as_deref());
        }
        out.push(']');
        if let Some(next) = it.ids.get(end) {
            out.push_str(",\"offset\":");
            push_json_str(&mut out, &format!("{}/{next}", it.id));
        }
        out.push('}');
        FakeResponse::raw_json(200, out.into_bytes())
    })
}

fn formula_error(detail: &str) -> FakeResponse {
    at_error(422, "INVALID_FILTER_BY_FORMULA", &format!("The formula for filtering records is invalid: {detail}"))
}

/// Orders cells for sorting: empty cells first, numbers numerically, text ignoring case.
fn compare_cells(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(m), Some(n)) => m.partial_cmp(&n).unwrap_or(Ordering::Equal),
            _ => cell_text(x).to_lowercase().cmp(&cell_text(y).to_lowercase()),
        },
    }
}

/// A cell as formula text: arrays (multiple selects) as `a, b`.
fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell_text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------- formulas

#[derive(Debug, Clone, PartialEq)]
enum FTok {
    Field(String),
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex_formula(src: &str) -> Result<Vec<FTok>, ()> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '{' => {
                let end = chars.get(i + 1..).and_then(|r| r.iter().position(|ch| *ch == '}')).ok_or(())?;
                let name: String = chars.get(i + 1..i + 1 + end).ok_or(())?.iter().collect();
                out.push(FTok::Field(name));
                i += end + 2;
            }
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(()),
                        Some('\\') => {
                            let esc = chars.get(i + 1).ok_or(())?;
                            s.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                other => *other,
                            });
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(FTok::Str(s));
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while chars.get(i).is_some_and(|ch| ch.is_ascii_digit() || *ch == '.') {
                    i += 1;
                }
                let raw: String = chars.get(start..i).ok_or(())?.iter().collect();
                out.push(FTok::Num(raw.parse::<f64>().map_err(|_| ())?));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars.get(i).is_some_and(|ch| ch.is_alphanumeric() || *ch == '_') {
                    i += 1;
                }
                out.push(FTok::Ident(chars.get(start..i).ok_or(())?.iter().collect()));
            }
            '(' => {
                out.push(FTok::LParen);
                i += 1;
            }
            ')' => {
                out.push(FTok::RParen);
                i += 1;
            }
            ',' => {
                out.push(FTok::Comma);
                i += 1;
            }
            _ => {
                let two: String = chars.get(i..i + 2).map(|s| s.iter().collect()).unwrap_or_default();
                let op = match two.as_str() {
                    "!=" => Some("!="),
                    "<=" => Some("<="),
                    ">=" => Some(">="),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(FTok::Op(op));
                    i += 2;
                    continue;
                }
                let op = match c {
                    '=' => "=",
                    '<' => "<",
                    '>' => ">",
                    '&' => "&",
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    _ => return Err(()),
                };
                out.push(FTok::Op(op));
                i += 1;
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Expr {
    Num(f64),
    Str(String),
    /// A field by name (bound to an index by `bind`).
    Field(String),
    FieldIdx(usize),
    Call(String, Vec<Expr>),
    Neg(Box<Expr>),
    Bin(&'static str, Box<Expr>, Box<Expr>),
}

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("AND", 1, usize::MAX),
    ("OR", 1, usize::MAX),
    ("NOT", 1, 1),
    ("TRUE", 0, 0),
    ("FALSE", 0, 0),
    ("BLANK", 0, 0),
    ("IF", 2, 3),
    ("LOWER", 1, 1),
    ("UPPER", 1, 1),
    ("LEN", 1, 1),
    ("TRIM", 1, 1),
    ("FIND", 2, 3),
    ("SEARCH", 2, 3),
    ("RECORD_ID", 0, 0),
    ("CONCATENATE", 1, usize::MAX),
];

struct FParser {
    toks: Vec<FTok>,
    i: usize,
    /// Nesting depth (bounded, so a hostile formula cannot exhaust the stack).
    depth: usize,
}

/// Deepest nesting a formula may have.
const MAX_NESTING: usize = 100;

impl FParser {
    fn peek(&self) -> Option<&FTok> {
        self.toks.get(self.i)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ()> {
        const LEVELS: &[&[&str]] = &[&["=", "!=", "<", "<=", ">", ">="], &["&"], &["+", "-"], &["*", "/"]];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        while let Some(FTok::Op(op)) = self.peek() {
            let op = *op;
            if !ops.contains(&op) {
                break;
            }
            self.i += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ()> {
        self.depth += 1;
        let result = if self.depth > MAX_NESTING { Err(()) } else { self.primary() };
        self.depth -= 1;
        result
    }

    fn primary(&mut self) -> Result<Expr, ()> {
        if self.peek() == Some(&FTok::Op("-")) {
            self.i += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let tok = self.peek().cloned().ok_or(())?;
        self.i += 1;
        match tok {
            FTok::Num(n) => Ok(Expr::Num(n)),
            FTok::Str(s) => Ok(Expr::Str(s)),
            FTok::Field(name) => Ok(Expr::Field(name)),
            FTok::LParen => {
                let e = self.binary(0)?;
                (self.peek() == Some(&FTok::RParen)).then_some(()).ok_or(())?;
                self.i += 1;
                Ok(e)
            }
            FTok::Ident(name) if self.peek() == Some(&FTok::LParen) => {
                self.i += 1;
                let upper = name.to_ascii_uppercase();
                let (_, min, max) = FUNCTIONS.iter().find(|(n, _, _)| *n == upper).ok_or(())?;
                let mut args = Vec::new();
                if self.peek() == Some(&FTok::RParen) {
                    self.i += 1;
                } else {
                    loop {
                        args.push(self.binary(0)?);
                        match self.peek() {
                            Some(FTok::Comma) => self.i += 1,
                            Some(FTok::RParen) => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(()),
                        }
                    }
                }
                if args.len() < *min || args.len() > *max {
                    return Err(());
                }
                Ok(Expr::Call(upper, args))
            }
            // A field name without braces (one word).
            FTok::Ident(name) => Ok(Expr::Field(name)),
            _ => Err(()),
        }
    }
}

fn parse_formula(src: &str) -> Result<Expr, ()> {
    let toks = lex_formula(src)?;
    let mut p = FParser { toks, i: 0, depth: 0 };
    let e = p.binary(0)?;
    if p.i == p.toks.len() {
        Ok(e)
    } else {
        Err(())
    }
}

/// Resolves field names to indexes, collecting the unknown ones.
fn bind(e: &Expr, table: &Table, unknown: &mut Vec<String>) -> Expr {
    match e {
        Expr::Field(name) => match table.formula_field(name) {
            Some(i) => Expr::FieldIdx(i),
            None => {
                if !unknown.contains(name) {
                    unknown.push(name.clone());
                }
                Expr::Str(String::new())
            }
        },
        Expr::Call(f, args) => Expr::Call(f.clone(), args.iter().map(|a| bind(a, table, unknown)).collect()),
        Expr::Neg(x) => Expr::Neg(Box::new(bind(x, table, unknown))),
        Expr::Bin(op, a, b) => Expr::Bin(op, Box::new(bind(a, table, unknown)), Box::new(bind(b, table, unknown))),
        other => other.clone(),
    }
}

/// A formula value.
#[derive(Debug, Clone, PartialEq)]
enum Fv {
    Num(f64),
    Str(String),
    Bool(bool),
    Blank,
}

fn truthy(v: &Fv) -> bool {
    match v {
        Fv::Num(n) => *n != 0.0,
        Fv::Str(s) => !s.is_empty(),
        Fv::Bool(b) => *b,
        Fv::Blank => false,
    }
}

fn as_text(v: &Fv) -> String {
    match v {
        Fv::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Fv::Num(n) => n.to_string(),
        Fv::Str(s) => s.clone(),
        Fv::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Fv::Blank => String::new(),
    }
}

fn as_num(v: &Fv) -> Option<f64> {
    match v {
        Fv::Num(n) => Some(*n),
        Fv::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Fv::Str(s) => s.trim().parse::<f64>().ok(),
        Fv::Blank => None,
    }
}

fn cell_value(table: &Table, rec: &Rec, idx: usize) -> Fv {
    let kind = table.fields.get(idx).map_or(Kind::Text, |f| f.kind);
    match (kind, rec.values.get(idx).and_then(Option::as_ref)) {
        (Kind::Checkbox, v) => Fv::Bool(v.and_then(Value::as_bool).unwrap_or(false)),
        (_, None) => Fv::Blank,
        (_, Some(Value::Number(n))) => n.as_f64().map_or(Fv::Blank, Fv::Num),
        (_, Some(v)) => Fv::Str(cell_text(v)),
    }
}

fn equal(a: &Fv, b: &Fv) -> bool {
    match (a, b) {
        (Fv::Blank, Fv::Blank) => true,
        (Fv::Blank, x) | (x, Fv::Blank) => matches!(x, Fv::Str(s) if s.is_empty()) || *x == Fv::Bool(false),
        (Fv::Str(x), Fv::Str(y)) => x == y,
        (Fv::Num(_) | Fv::Bool(_), _) | (_, Fv::Num(_) | Fv::Bool(_)) => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

fn order(a: &Fv, b: &Fv) -> Option<std::cmp::Ordering> {
    if *a == Fv::Blank || *b == Fv::Blank {
        return None;
    }
    match (a, b) {
        (Fv::Str(x), Fv::Str(y)) => match (x.trim().parse::<f64>(), y.trim().parse::<f64>()) {
            (Ok(m), Ok(n)) => m.partial_cmp(&n),
            _ => Some(x.cmp(y)),
        },
        _ => as_num(a)?.partial_cmp(&as_num(b)?),
    }
}

fn eval(e: &Expr, table: &Table, rec: &Rec) -> Fv {
    let ev = |x: &Expr| eval(x, table, rec);
    match e {
        Expr::Num(n) => Fv::Num(*n),
        Expr::Str(s) => Fv::Str(s.clone()),
        Expr::Field(_) => Fv::Blank,
        Expr::FieldIdx(i) => cell_value(table, rec, *i),
        Expr::Neg(x) => as_num(&ev(x)).map_or(Fv::Blank, |n| Fv::Num(-n)),
        Expr::Bin(op, a, b) => {
            let (x, y) = (ev(a), ev(b));
            match *op {
                "=" => Fv::Bool(equal(&x, &y)),
                "!=" => Fv::Bool(!equal(&x, &y)),
                "<" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_lt())),
                "<=" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_le())),
                ">" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_gt())),
                ">=" => Fv::Bool(order(&x, &y).is_some_and(|o| o.is_ge())),
                "&" => Fv::Str(as_text(&x) + &as_text(&y)),
                _ => {
                    let (m, n) = (as_num(&x).unwrap_or(0.0), as_num(&y).unwrap_or(0.0));
                    match *op {
                        "+" => Fv::Num(m + n),
                        "-" => Fv::Num(m - n),
                        "*" => Fv::Num(m * n),
                        _ if n == 0.0 => Fv::Blank,
                        _ => Fv::Num(m / n),
                    }
                }
            }
        }
        Expr::Call(f, args) => {
            let arg = |i: usize| args.get(i).map_or(Fv::Blank, ev);
            match f.as_str() {
                "AND" => Fv::Bool(args.iter().all(|a| truthy(&ev(a)))),
                "OR" => Fv::Bool(args.iter().any(|a| truthy(&ev(a)))),
                "NOT" => Fv::Bool(!truthy(&arg(0))),
                "TRUE" => Fv::Bool(true),
                "FALSE" => Fv::Bool(false),
                "BLANK" => Fv::Blank,
                "IF" => {
                    if truthy(&arg(0)) {
                        arg(1)
                    } else {
                        arg(2)
                    }
                }
                "LOWER" => Fv::Str(as_text(&arg(0)).to_lowercase()),
                "UPPER" => Fv::Str(as_text(&arg(0)).to_uppercase()),
                "TRIM" => Fv::Str(as_text(&arg(0)).trim().to_string()),
                "LEN" => Fv::Num(as_text(&arg(0)).chars().count() as f64),
                "FIND" | "SEARCH" => {
                    let (needle, hay) = (as_text(&arg(0)), as_text(&arg(1)));
                    let (needle, hay) =
                        if f == "SEARCH" { (needle.to_lowercase(), hay.to_lowercase()) } else { (needle, hay) };
                    let from = as_num(&arg(2)).map_or(0, |n| (n.max(1.0) as usize) - 1);
                    let hay_chars: Vec<char> = hay.chars().collect();
                    let tail: String = hay_chars.get(from..).map(|s| s.iter().collect()).unwrap_or_default();
                    match tail.find(&needle) {
                        Some(byte) => Fv::Num((from + tail.get(..byte).map_or(0, |s| s.chars().count()) + 1) as f64),
                        None if f == "SEARCH" => Fv::Blank,
                        None => Fv::Num(0.0),
                    }
                }
                "RECORD_ID" => Fv::Str(rec.id.clone()),
                "CONCATENATE" => Fv::Str(args.iter().map(|a| as_text(&ev(a))).collect()),
                _ => Fv::Blank,
            }
        }
    }
}

// ---------------------------------------------------------------- writes

/// Converts a written value to the stored cell (`None`: empty), Airtable's way.
fn convert(field: &mut Field, value: &Value, typecast: bool) -> Result<Option<Value>, WriteError> {
    let bad = || {
        WriteError::new(
            "INVALID_VALUE_FOR_COLUMN",
            format!("Field \"{}\" cannot accept the provided value", field.name),
        )
    };
    if value.is_null() {
        return Ok(None);
    }
    match field.kind {
        Kind::Text | Kind::LongText | Kind::Email => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(Value::String(s.clone()))),
            Value::Number(_) | Value::Bool(_) if typecast => Ok(Some(Value::String(value.to_string()))),
            _ => Err(bad()),
        },
        Kind::Number | Kind::Currency => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            Value::String(s) if typecast && s.trim().is_empty() => Ok(None),
            Value::String(s) if typecast => {
                s.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| Some(json!(n))).ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        Kind::Checkbox => match value {
            Value::Bool(true) => Ok(Some(Value::Bool(true))),
            Value::Bool(false) => Ok(None),
            Value::String(s) if typecast => match s.trim().to_lowercase().as_str() {
                "true" | "1" | "yes" | "checked" => Ok(Some(Value::Bool(true))),
                "false" | "0" | "no" | "" => Ok(None),
                _ => Err(bad()),
            },
            Value::Number(n) if typecast => Ok((n.as_f64() != Some(0.0)).then_some(Value::Bool(true))),
            _ => Err(bad()),
        },
        Kind::Date => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => {
                let days = parse_date(s).or_else(|| parse_iso_ms(s).map(|ms| ms.div_euclid(86_400_000)));
                days.map(|d| Some(Value::String(date_string(d)))).ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        Kind::SingleSelect => {
            let option = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) if typecast => value.to_string(),
                _ => return Err(bad()),
            };
            if option.is_empty() {
                return Ok(None);
            }
            choose(field, &option, typecast)?;
            Ok(Some(Value::String(option)))
        }
        Kind::MultiSelect => {
            let options: Vec<String> = match value {
                Value::Array(items) => {
                    let mut out = Vec::new();
                    for it in items {
                        match it {
                            Value::String(s) => out.push(s.clone()),
                            Value::Number(_) if typecast => out.push(it.to_string()),
                            _ => return Err(bad()),
                        }
                    }
                    out
                }
                Value::String(s) if typecast => {
                    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
                }
                _ => return Err(bad()),
            };
            let mut unique: Vec<String> = Vec::new();
            for o in options {
                choose(field, &o, typecast)?;
                if !unique.contains(&o) {
                    unique.push(o);
                }
            }
            Ok((!unique.is_empty()).then(|| json!(unique)))
        }
    }
}

/// Checks a select option; with `typecast` a new option is added to the field.
fn choose(field: &mut Field, option: &str, typecast: bool) -> Result<(), WriteError> {
    if field.choices.iter().any(|c| c == option) {
        return Ok(());
    }
    if typecast {
        field.choices.push(option.to_string());
        return Ok(());
    }
    Err(WriteError::new(
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        format!("Insufficient permissions to create new select option \"\"{option}\"\""),
    ))
}

/// Applies `fields` (a JSON object of cells) to `values`; `replace` clears the cells not given.
fn apply(
    table: &mut Table,
    values: &mut Vec<Option<Value>>,
    fields: &Value,
    typecast: bool,
    replace: bool,
) -> Result<(), WriteError> {
    let Some(map) = fields.as_object() else {
        return Err(WriteError::new("INVALID_VALUE_FOR_COLUMN", "The \"fields\" value must be an object"));
    };
    let mut next: Vec<Option<Value>> = if replace { vec![None; table.fields.len()] } else { values.clone() };
    for (name, v) in map {
        let Some(idx) = table.field(name) else {
            return Err(WriteError::new("UNKNOWN_FIELD_NAME", format!("Unknown field name: \"{name}\"")));
        };
        let Some(field) = table.fields.get_mut(idx) else { continue };
        let cell = convert(field, v, typecast)?;
        if let Some(slot) = next.get_mut(idx) {
            *slot = cell;
        }
    }
    *values = next;
    Ok(())
}

/// `typecast` of a write body (absent: false).
fn typecast_of(body: &Map<String, Value>) -> Result<bool, FakeResponse> {
    match body.get("typecast") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid_request()),
    }
}

fn missing_fields() -> WriteError {
    WriteError::new("INVALID_REQUEST_MISSING_FIELDS", "Could not find field \"fields\" in the request body")
}

fn too_many(kind: &str, given: usize) -> WriteError {
    WriteError::new(
        "INVALID_RECORDS",
        format!("A maximum of {MAX_WRITE} records can be {kind} per request but you have provided {given}."),
    )
}

/// Runs a write on a copy of the table and keeps it only if every record succeeded.
fn transaction(
    state: &State,
    t: usize,
    f: impl FnOnce(&mut Table) -> Result<Vec<String>, WriteError>,
) -> Result<(Table, Vec<String>), WriteError> {
    with_store(state, |st| {
        let Some(table) = st.tables.get(t) else {
            return Err(WriteError { status: 404, kind: "TABLE_NOT_FOUND", message: "table not found".into() });
        };
        let mut copy = table.clone();
        let ids = f(&mut copy)?;
        if let Some(slot) = st.tables.get_mut(t) {
            *slot = copy.clone();
        }
        Ok((copy, ids))
    })
}

fn written(result: Result<(Table, Vec<String>), WriteError>, single: bool) -> FakeResponse {
    match result {
        Err(e) => e.response(),
        Ok((table, ids)) => {
            let recs: Vec<&Rec> = ids.iter().filter_map(|id| table.recs.iter().find(|r| r.id == *id)).collect();
            match (single, recs.first()) {
                (true, Some(rec)) => record_response(&table, rec),
                _ => records_response(&table, &recs),
            }
        }
    }
}

fn new_record(table: &mut Table) -> Rec {
    table.created += 1;
    let n = table.created;
    Rec {
        id: make_id("rec", table.salt << 48 | n),
        created_ms: WRITE_BASE_MS + n * 1000,
        values: vec![None; table.fields.len()],
    }
}

/// `POST /v0/{base}/{table}`: `{"records":[{"fields":..}]}` (at most ten) or `{"fields":..}`.
fn create(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let body = match json_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let typecast = match typecast_of(&body) {
        Ok(tc) => tc,
        Err(resp) => return resp,
    };
    let (inputs, single): (Vec<Value>, bool) =
        match (body.get("records"), body.get("fields")) {
            (Some(Value::Array(list)), _) => (list.clone(), false),
            (Some(_), _) => return WriteError::new(
                "INVALID_RECORDS",
                "You must provide an array of up to 10 record objects, each with a \"fields\" object for cell values.",
            )
            .response(),
            (None, Some(fields)) => (vec![json!({ "fields": fields })], true),
            (None, None) => return missing_fields().response(),
        };
    if inputs.is_empty() {
        return WriteError::new(
            "INVALID_RECORDS",
            "You must provide an array of up to 10 record objects, each with a \"fields\" object for cell values.",
        )
        .response();
    }
    if inputs.len() > MAX_WRITE {
        return too_many("created", inputs.len()).response();
    }
    let result = transaction(state, t, |table| {
        let mut ids = Vec::new();
        for input in &inputs {
            let Some(fields) = input.get("fields") else {
                return Err(missing_fields());
            };
            let mut rec = new_record(table);
            apply(table, &mut rec.values, fields, typecast, true)?;
            ids.push(rec.id.clone());
            table.recs.push(rec);
        }
        Ok(ids)
    });
    written(result, single)
}

fn update_one(state: &State, req: &FakeRequest, t: usize, rec_id: &str, replace: bool) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    let body = match json_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let typecast = match typecast_of(&body) {
        Ok(tc) => tc,
        Err(resp) => return resp,
    };
    let Some(fields) = body.get("fields").cloned() else {
        return missing_fields().response();
    };
    let result = transaction(state, t, |table| {
        let Some(pos) = table.position(rec_id) else {
            return Err(WriteError { status: 404, kind: "MODEL_ID_NOT_FOUND", message: "Record not found".into() });
        };
        let mut values = table.recs.get(pos).map(|r| r.values.clone()).unwrap_or_default();
        apply(table, &mut values, &fields, typecast, replace)?;
        if let Some(r) = table.recs.get_mut(pos) {
            r.values = values;
        }
        Ok(vec![rec_id.to_string()])
    });
    written(result, true)
}

/// `PATCH` / `PUT /v0/{base}/{table}`: `{"records":[{"id":..,"fields":..}]}`, at most ten.
fn update_many(state: &State, req: &FakeRequest, t: usize, replace: bool) -> FakeResponse {
    let body = match json_body(req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let typecast = match typecast_of(&body) {
        Ok(tc) => tc,
        Err(resp) => return resp,
    };
    let invalid = || {
        WriteError::new(
            "INVALID_RECORDS",
            "You must provide an array of up to 10 record objects, each with an \"id\" ID field and a \"fields\" object for cell values.",
        )
        .response()
    };
    let Some(inputs) = body.get("records").and_then(Value::as_array) else {
        return invalid();
    };
    if inputs.is_empty() {
        return invalid();
    }
    if inputs.len() > MAX_WRITE {
        return too_many("updated", inputs.len()).response();
    }
    let mut parsed = Vec::with_capacity(inputs.len());
    for input in inputs {
        match (input.get("id").and_then(Value::as_str), input.get("fields")) {
            (Some(id), Some(fields)) => parsed.push((id.to_string(), fields.clone())),
            _ => return invalid(),
        }
    }
    let result = transaction(state, t, |table| {
        let mut ids = Vec::new();
        for (id, fields) in &parsed {
            let Some(pos) = table.position(id) else {
                return Err(WriteError::new(
                    "ROW_DOES_NOT_EXIST",
                    format!("Record ID {id} does not exist in this table"),
                ));
            };
            let mut values = table.recs.get(pos).map(|r| r.values.clone()).unwrap_or_default();
            apply(table, &mut values, fields, typecast, replace)?;
            if let Some(r) = table.recs.get_mut(pos) {
                r.values = values;
            }
            ids.push(id.clone());
        }
        Ok(ids)
    });
    written(result, false)
}

fn delete_one(state: &State, t: usize, rec_id: &str) -> FakeResponse {
    if !is_id("rec", rec_id) {
        return not_found();
    }
    let removed = with_store(state, |st| {
        let table = st.tables.get_mut(t)?;
        let pos = table.position(rec_id)?;
        table.recs.remove(pos);
        Some(())
    });
    match removed {
        Some(()) => FakeResponse::json(200, &json!({ "id": rec_id, "deleted": true })),
        None => record_not_found(),
    }
}

/// `DELETE /v0/{base}/{table}?records[]=a&records[]=b` (at most ten).
fn delete_many(state: &State, req: &FakeRequest, t: usize) -> FakeResponse {
    let ids: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k == "records[]" || (k.starts_with("records[") && k.ends_with(']')))
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() || ids.len() > MAX_WRITE {
        return WriteError::new("INVALID_RECORDS", "You must provide an array of up to 10 record IDs.").response();
    }
    let result = with_store(state, |st| {
        let Some(table) = st.tables.get_mut(t) else {
            return Err(not_found());
        };
        if let Some(missing) = ids.iter().find(|id| table.position(id).is_none()) {
            return Err(at_error(404, "MODEL_ID_NOT_FOUND", &format!("Could not find record {missing}")));
        }
        table.recs.retain(|r| !ids.contains(&r.id));
        Ok(())
    });
    match result {
        Err(resp) => resp,
        Ok(()) => {
            let list: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "deleted": true })).collect();
            FakeResponse::json(200, &json!({ "records": list }))
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn table() -> Table {
        contacts_table(20)
    }

    fn matches(formula: &str) -> Result<Vec<u64>, String> {
        let t = table();
        let e = parse_formula(formula).map_err(|()| "invalid".to_string())?;
        let mut unknown = Vec::new();
        let e = bind(&e, &t, &mut unknown);
        if !unknown.is_empty() {
            return Err(unknown.join(", "));
        }
        Ok((1..=20u64).filter(|i| t.recs.get(*i as usize - 1).is_some_and(|r| truthy(&eval(&e, &t, r)))).collect())
    }

    #[test]
    fn formulas() {
        assert_eq!(matches("{Name} = 'Pat O\\'Neil'"), Ok(vec![4]));
        assert_eq!(matches("{Name} = \"Say \\\"Hi\\\" Smith\""), Ok(vec![9]));
        assert_eq!(matches("{Name} = 'Back\\\\Slash'"), Ok(vec![12]));
        assert_eq!(matches("AND({Age} >= 60, NOT({Active}))"), Ok(vec![6, 15]));
        assert_eq!(matches("{Email} = BLANK()"), Ok(vec![10, 20]));
        assert_eq!(matches("RECORD_ID() = ''"), Ok(vec![]));
        assert_eq!(matches("{nope} = 1"), Err("nope".to_string()));
        assert!(matches("{Name} = 'unterminated").is_err());
        assert!(matches("AND(").is_err());
        assert!(matches("FOO(1)").is_err());
        // Deep nesting is refused, not a stack overflow.
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches(&deep).is_err());
        assert_eq!(matches(&format!("{}TRUE(){}", "(".repeat(50), ")".repeat(50))).map(|v| v.len()), Ok(20));
    }
}
