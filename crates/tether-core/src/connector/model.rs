//! The connector format: serde types for one connector JSON file, and the semantic checks that serde alone
//! cannot express. Every check names the JSON path at fault. No Postgres and no HTTP here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One API, as described by a connector file in `connectors/` or registered by a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// Short name used in `CREATE SERVER ... OPTIONS (connector '<name>')` and in error messages.
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Base URL of the API; may hold `{option}` placeholders filled from server options. When absent, the
    /// server must set `base_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default)]
    pub auth: AuthDef,
    #[serde(default)]
    pub errors: ErrorDef,
    /// Server options this connector accepts beyond the generic ones (e.g. a store hash).
    #[serde(default)]
    pub server_options: BTreeMap<String, OptionDef>,
    /// Table options this connector accepts beyond the generic ones, usable as `{placeholders}` in
    /// the generic object's paths (Airtable `table`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub table_options: BTreeMap<String, OptionDef>,
    /// How IMPORT FOREIGN SCHEMA finds the tables of an API whose objects are the user's (Airtable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover: Option<DiscoverDef>,
    /// Headers sent with every request (e.g. an API version header).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A header the API accepts to make a POST idempotent (Stripe `Idempotency-Key`). With it, Tether
    /// sends a fresh key with each create and the same key on every retry; without it, a create that
    /// fails ambiguously is not retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_header: Option<String>,
    /// How request bodies are encoded: `json` (default) or `form` (`application/x-www-form-urlencoded`
    /// with nested keys as `metadata[key]`, as Stripe takes them).
    #[serde(default)]
    pub body_encoding: BodyEncoding,
    /// Requests per second this API allows one account: Tether paces its requests to stay under it
    /// (per server base URL, within each database session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitDef>,
    /// A header the API sets on a 429 instead of `Retry-After`, with its unit (BigCommerce
    /// `X-Rate-Limit-Time-Reset-Ms`, milliseconds). `Retry-After` is always honoured too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<RetryAfterDef>,
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectDef>,
    /// Shape of a table defined by the table option `path` instead of `object` (the generic REST connector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_object: Option<ObjectDef>,
    /// How the provider signs the webhooks it sends and what their events say (mirror refreshes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<crate::connector::webhook::WebhookDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    #[default]
    Json,
    Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    #[default]
    None,
    Bearer,
    Basic,
    ApiKeyHeader,
    ApiKeyQuery,
    #[serde(rename = "oauth2")]
    OAuth2,
}

impl AuthScheme {
    pub const ALL: &'static [&'static str] = &["none", "bearer", "basic", "api_key_header", "api_key_query", "oauth2"];

    pub fn parse(s: &str) -> Option<AuthScheme> {
        Some(match s {
            "none" => AuthScheme::None,
            "bearer" => AuthScheme::Bearer,
            "basic" => AuthScheme::Basic,
            "api_key_header" => AuthScheme::ApiKeyHeader,
            "api_key_query" => AuthScheme::ApiKeyQuery,
            "oauth2" => AuthScheme::OAuth2,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::Bearer => "bearer",
            AuthScheme::Basic => "basic",
            AuthScheme::ApiKeyHeader => "api_key_header",
            AuthScheme::ApiKeyQuery => "api_key_query",
            AuthScheme::OAuth2 => "oauth2",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthDef {
    #[serde(default)]
    pub scheme: AuthScheme,
    /// Header carrying the key for `api_key_header` (default `X-API-Key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Query parameter carrying the key for `api_key_query` (default `api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// OAuth2 token endpoint (the server option `token_url` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// JSON pointer, in the token response, to the origin the API is served from for this account
    /// (Salesforce `/instance_url`): requests go there instead of the base URL's origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// Scopes asked for with the client_credentials grant (the user mapping option `scope` overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Discovery of tables through a metadata endpoint (Airtable's base schema), for IMPORT FOREIGN
/// SCHEMA: each table found becomes a foreign table of the generic object, with `table_options` set
/// from the table entry and one column per field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverDef {
    /// Path below the base URL (placeholders: server options).
    pub path: String,
    /// JSON pointer to the array of tables in the response.
    pub tables: String,
    /// In each table: its name, and table option -> pointer of the value (`{"table": "/name"}`).
    pub name: String,
    #[serde(default)]
    pub table_options: BTreeMap<String, String>,
    /// In each table: the array of fields, and in each field its name and type.
    pub fields: String,
    pub field_name: String,
    pub field_type: String,
    /// Provider field type -> Postgres type; others get `default_type`.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    #[serde(default = "DiscoverDef::default_type")]
    pub default_type: String,
    /// Provider field types the API computes (formulas, timestamps): imported as read-only columns.
    #[serde(default)]
    pub read_only_types: Vec<String>,
}

impl DiscoverDef {
    fn default_type() -> String {
        "text".into()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryAfterDef {
    pub header: String,
    pub unit: TimeUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
}

/// A client-side rate limit: a token bucket of `burst` requests refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDef {
    pub per_second: f64,
    #[serde(default = "RateLimitDef::default_burst")]
    pub burst: u32,
}

impl RateLimitDef {
    fn default_burst() -> u32 {
        1
    }

    /// A server option: `N/s`, `N/min` or `N/h`. Requests are spaced evenly (no burst), so no window of
    /// that length sees more than N (plus the one at its edge).
    pub fn parse(text: &str) -> Option<RateLimitDef> {
        let (n, unit) = text.trim().split_once('/')?;
        let n: f64 = n.trim().parse().ok().filter(|n: &f64| n.is_finite() && *n > 0.0)?;
        let secs = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => return None,
        };
        Some(RateLimitDef { per_second: n / secs, burst: 1 })
    }
}

/// Where the provider puts a human-readable message (and a code) in an error body: JSON pointers tried in
/// order; the first string found wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDef {
    #[serde(default = "ErrorDef::default_message")]
    pub message: Vec<String>,
    #[serde(default)]
    pub code: Vec<String>,
    /// Pointers to per-field errors (an object of field to message or messages, or an array of
    /// messages): Shopify `{"errors": {"email": ["is invalid"]}}` reads `email: is invalid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl ErrorDef {
    fn default_message() -> Vec<String> {
        ["/message", "/error/message", "/error", "/errors/0/message", "/0/message", "/title", "/detail"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

impl Default for ErrorDef {
    fn default() -> Self {
        ErrorDef { message: ErrorDef::default_message(), code: Vec::new(), details: Vec::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OptionDef {
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// One API object (a table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectDef {
    #[serde(default)]
    pub description: String,
    /// Column holding the record id: `id = ...` uses the get endpoint.
    #[serde(default = "ObjectDef::default_id")]
    pub id_column: String,
    pub list: ListDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<GetDef>,
    #[serde(default)]
    pub columns: Vec<ColumnDef>,
    /// How a foreign-table column that is not in `columns` maps to the record (e.g. a HubSpot custom
    /// property). Without it such a column is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_columns: Option<ColumnTemplate>,
    #[serde(default)]
    pub filters: Vec<FilterDef>,
    /// Create one record (INSERT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<WriteDef>,
    /// Change one record (UPDATE); `{id}` in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<WriteDef>,
    /// Delete (or archive) one record (DELETE); `{id}` in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<WriteDef>,
    /// Create many records in one request (INSERT of several rows without RETURNING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_create: Option<BatchDef>,
    /// Update many records in one request (pushes): like `batch_create`, with each record's id put in
    /// its input at `id_field` (HubSpot `/crm/v3/objects/contacts/batch/update`, `"id_field": "/id"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_update: Option<BatchDef>,
    /// A search endpoint taking conditions in a JSON body (HubSpot CRM search), used when a query has
    /// conditions on columns with a `field` that the list endpoint cannot filter by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchDef>,
    /// A timestamp column the provider updates on every change and can filter by (`>=` pushed
    /// down): mirror refreshes then fetch only the records changed since the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_column: Option<String>,
    /// Where the provider lists records deleted (or archived) since a time: an incremental mirror
    /// refresh removes them, so that a deletion does not wait for the next full pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletions: Option<DeletionsDef>,
}

/// A listing of deleted records (HubSpot `?archived=true`, Salesforce `queryAll` of `IsDeleted` rows,
/// Stripe `*.deleted` events), read with the connector's credentials like `tether.request_pages`. In
/// `path` and the `query` values, `{since}` is the start of the refresh's window (the mirror's newest
/// updated-since value less its overlap), written as `since_format` says. Listing a record that is
/// not in the mirror is harmless, so a listing without a time filter (HubSpot's recycle bin) works too,
/// at the cost of reading it whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionsDef {
    #[serde(default = "DeletionsDef::default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the records in a page.
    pub records: String,
    /// JSON pointer to the deleted record's id in each listed record.
    pub id: String,
    #[serde(default)]
    pub pagination: PaginationDef,
    #[serde(default)]
    pub since_format: SinceFormat,
}

impl DeletionsDef {
    fn default_method() -> String {
        "GET".into()
    }
}

/// How `{since}` is written in a deletions listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SinceFormat {
    /// `2024-01-31T12:00:00Z` (UTC).
    #[default]
    Iso,
    /// Milliseconds since 1970.
    EpochMs,
    /// Seconds since 1970.
    Unix,
}

/// A search endpoint: `body` is a JSON template whose string values `$filters`, `$page_size`,
/// `$cursor` and `$fields` are replaced (a key whose value is absent is left out); each condition
/// becomes `filter` with `$field`, `$op` (from `ops`), `$value` and `$values` replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchDef {
    #[serde(default = "BatchDef::default_method")]
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
    pub filter: serde_json::Value,
    /// Operator names for eq, lt, le, gt, ge, in; an operator missing here is not pushed.
    pub ops: BTreeMap<String, String>,
    /// JSON pointer to the records in a response.
    pub records: String,
    /// JSON pointer to the next-page cursor, sent back at `$cursor`.
    pub cursor: String,
    pub page_size: PageSizeDef,
    /// Most conditions in one request; more are left to Postgres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_filters: Option<usize>,
    /// Most records a search can return (HubSpot: 10,000), with the pointer to the total it reports:
    /// a search matching more is an error instead of a silently cut result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// The search endpoint's own, lower rate limit (HubSpot: 4 requests per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitDef>,
    /// How dates and timestamps are written in filters: `iso` (default, `2024-01-31T00:00:00Z`) or
    /// `epoch_ms` (milliseconds since 1970, as HubSpot's search wants them).
    #[serde(default)]
    pub dates: DateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    #[default]
    Iso,
    EpochMs,
}

/// One write request. The body is built from the written columns: each value is set at the column's
/// pointer (HubSpot `/properties/email` gives `{"properties": {"email": ...}}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteDef {
    pub method: String,
    pub path: String,
    /// JSON pointer to the written record in the response (`""`: the body), read for RETURNING.
    #[serde(default)]
    pub record: String,
    /// Send every writable column, not only the changed ones (PUT semantics).
    #[serde(default)]
    pub full_row: bool,
    /// JSON template of the request body, where the string `$record` is the record built from the
    /// written columns (Shopify `{"customer": "$record"}`, BigCommerce `["$record"]`). Default: the
    /// record itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// JSON pointer in the record where the id is put, for APIs that take it in the body rather than
    /// the path (BigCommerce updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// JSON pointer to the new record's id in a response that is not the record (Salesforce
    /// `{"id": ..., "success": true}`); with `refetch`, RETURNING reads the record by that id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The response does not hold the record (Salesforce answers 204): RETURNING reads it through the
    /// get endpoint, one more request per row, made only when the statement has RETURNING.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refetch: bool,
    /// Static values merged into the record (HubSpot creates `{"associations": []}`: its spec requires
    /// the key in every create input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<serde_json::Value>,
}

/// A batch create (or update) endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDef {
    #[serde(default = "BatchDef::default_method")]
    pub method: String,
    pub path: String,
    /// For a batch update: JSON pointer in each input where the record's id goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
    /// JSON pointer where the array of records goes in the request body (`""`: the body is the array).
    #[serde(default)]
    pub inputs: String,
    /// Most records per request.
    pub max: u64,
    /// JSON pointer to the created records in the response.
    #[serde(default)]
    pub records: String,
    /// JSON pointer to the per-record errors of a partial failure (HubSpot 207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<String>,
    /// Tag each input with its row, so errors name the rows they concern (HubSpot `objectWriteTraceId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceDef>,
    /// JSON template of the request body where the string `$records` is the array of inputs
    /// (Salesforce `{"allOrNone": true, "records": "$records"}`); overrides `inputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// The body template when each record is written on its own, a refused one not undoing the others
    /// (pushes, which record each row's outcome): Salesforce `{"allOrNone": false, "records":
    /// "$records"}`. Default: `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each_alone_body: Option<serde_json::Value>,
    /// Static values merged into each input (Salesforce `{"attributes": {"type": "Account"}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<serde_json::Value>,
    /// Per-input results in the order sent, for APIs that answer 200 with a success flag per record
    /// (Salesforce sObject Collections).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<BatchResultsDef>,
}

/// Positional per-input results of a batch request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchResultsDef {
    /// JSON pointer to the array of results (`""`: the body).
    #[serde(default)]
    pub at: String,
    /// JSON pointer, in each result, to a boolean that is true when the input was written.
    pub ok: String,
    /// JSON pointers, in each result, to its error message and code.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Codes of inputs that failed only because another one did (Salesforce
    /// `ALL_OR_NONE_OPERATION_ROLLED_BACK`): not reported as at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_at_fault: Vec<String>,
}

impl BatchDef {
    fn default_method() -> String {
        "POST".to_string()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceDef {
    /// JSON pointer in each input where the tag goes.
    pub field: String,
    /// JSON pointer in each error entry where the tag comes back.
    pub error: String,
}

impl ObjectDef {
    fn default_id() -> String {
        "id".to_string()
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDef {
    /// Path below the base URL; may hold `{option}` placeholders and a query string.
    pub path: String,
    /// Static query parameters sent with every list request.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the records in a response; `""` is the body itself (an array, or one object).
    #[serde(default)]
    pub records: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<PageSizeDef>,
    #[serde(default)]
    pub pagination: PaginationDef,
    /// Query parameter that names the fields to return (HubSpot `properties`): filled from the `field` of
    /// the columns a query needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields_param: Option<FieldsParamDef>,
    /// A query language the list endpoint takes in one parameter (Salesforce SOQL, Airtable formulas):
    /// conditions on columns with a `field` are written in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDef>,
    /// A child object: the rows are the elements of an array inside each listed record (Shopify
    /// customer addresses), rather than the records themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<ElementsDef>,
}

/// The elements of an array in each parent record, as rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementsDef {
    /// JSON pointer to the array in the parent record.
    pub array: String,
    /// Values copied from the parent into each element: element pointer -> parent pointer (the parent
    /// id as a column, `{"/customer_id": "/id"}`). A value the element already has is kept.
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
}

/// A query language for list requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LanguageDef {
    /// Salesforce SOQL: the whole query goes in `param` (`q=SELECT Id, Name FROM Account WHERE ...`),
    /// selecting the fields a query reads, with pushed conditions and LIMIT.
    Soql { param: String, from: String },
    /// Airtable formulas: pushed conditions go in `param` as one formula (`AND({Email} = 'x', ...)`).
    Formula { param: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSizeDef {
    /// Query parameter carrying the page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Or a header carrying it, with `format` (`{n}` is the size): Salesforce
    /// `Sforce-Query-Options: batchSize={n}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub default: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsParamDef {
    pub param: String,
    #[serde(default = "FieldsParamDef::default_separator")]
    pub separator: String,
    /// Repeat the parameter once per field (Airtable `fields[]=A&fields[]=B`) instead of joining.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repeat: bool,
}

impl FieldsParamDef {
    fn default_separator() -> String {
        ",".to_string()
    }
}

/// How to get from one page to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginationDef {
    /// One request returns everything.
    #[default]
    None,
    /// An opaque cursor in the body, sent back as a query parameter (HubSpot `paging.next.after`,
    /// Airtable `offset`), or in the request body at `body` (HubSpot search). Ends when the cursor is
    /// absent, null or empty.
    Cursor {
        cursor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        param: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// The id of the page's last record, sent as `param`, while `has_more` is true (Stripe
    /// `starting_after`).
    LastId { param: String, has_more: String },
    /// The URL of the next page in the body (Salesforce `nextRecordsUrl`). Ends when absent or null.
    NextUrl { next_url: String },
    /// RFC 8288 `Link: <...>; rel="next"` header (Shopify, GitHub). Ends when there is no next link.
    LinkHeader,
    /// `offset` parameter advanced by the number of records received. Ends on an empty page, a short
    /// page, or when the total (if declared) is reached.
    Offset {
        param: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<String>,
    },
    /// Page number parameter. Ends on an empty page, a short page, or past `total_pages` (if declared).
    Page {
        param: String,
        #[serde(default = "PaginationDef::default_first_page")]
        first: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_pages: Option<String>,
    },
}

impl PaginationDef {
    pub const STYLES: &'static [&'static str] =
        &["none", "cursor", "next_url", "link_header", "offset", "page", "last_id"];

    fn default_first_page() -> u64 {
        1
    }

    pub fn style(&self) -> &'static str {
        match self {
            PaginationDef::None => "none",
            PaginationDef::Cursor { .. } => "cursor",
            PaginationDef::LastId { .. } => "last_id",
            PaginationDef::NextUrl { .. } => "next_url",
            PaginationDef::LinkHeader => "link_header",
            PaginationDef::Offset { .. } => "offset",
            PaginationDef::Page { .. } => "page",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetDef {
    /// Path of one record; `{id}` is replaced by the (percent-encoded) id.
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// JSON pointer to the record in the response; `""` is the body itself.
    #[serde(default)]
    pub record: String,
    /// JSON pointer to a flag that is true for a record that no longer exists although the API still
    /// answers for it (Stripe `{"id": ..., "deleted": true}`): such a record is no row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDef {
    pub name: String,
    /// Postgres type used by IMPORT FOREIGN SCHEMA and the docs (the foreign table's own type decides
    /// the conversion).
    #[serde(rename = "type")]
    pub type_name: String,
    /// JSON pointer into the record.
    pub pointer: String,
    /// Name to request in the list's `fields_param` when this column is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For text[] columns whose provider value is one delimited string (HubSpot multi-select `a;b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// The provider sets it (ids, timestamps): INSERT and UPDATE cannot write it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(default)]
    pub description: String,
}

/// `{name}` in `pointer` / `field` is replaced by the foreign-table column name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnTemplate {
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a column whose `json_pointer` goes deeper than the template (`/Account/Name`), the field
    /// is its segments joined with this (Salesforce relationship fields: `.` gives `Account.Name`).
    /// Without it the field is the first segment (Shopify `/default_address/city` asks for
    /// `default_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_separator: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    #[default]
    Eq,
    In,
    Lt,
    Le,
    Gt,
    Ge,
}

impl FilterOp {
    pub fn sql(self) -> &'static str {
        match self {
            FilterOp::Eq => "=",
            FilterOp::In => "= ANY",
            FilterOp::Lt => "<",
            FilterOp::Le => "<=",
            FilterOp::Gt => ">",
            FilterOp::Ge => ">=",
        }
    }
}

/// A condition the provider can evaluate: `WHERE column <op> value` becomes `?param=value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterDef {
    pub column: String,
    #[serde(default)]
    pub op: FilterOp,
    pub param: String,
    /// For `in`: how the values are joined (`id:in=1,2,3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Value the provider assumes when the parameter is absent; the filter is then part of the table's
    /// meaning (HubSpot `archived=false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// The Postgres column types a connector may declare for IMPORT FOREIGN SCHEMA and the docs.
pub const DECLARED_TYPES: &[&str] = &[
    "text",
    "varchar",
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "double precision",
    "real",
    "boolean",
    "date",
    "timestamptz",
    "timestamp",
    "jsonb",
    "json",
    "text[]",
];

pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}
