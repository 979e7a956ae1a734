//! The connector format: serde types for one connector JSON file, and the semantic checks that serde alone
//! cannot express. Every check names the JSON path at fault. No Postgres and no HTTP here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::connector::pointer::Pointer;
use crate::connector::template;
use crate::error::TetherError;

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

    pub fn check(&self, at: &str) -> Result<(), TetherError> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(TetherError::Connector { path: format!("{at}/per_second"), message: "must be above 0".into() });
        }
        if self.burst == 0 {
            return Err(TetherError::Connector { path: format!("{at}/burst"), message: "must be at least 1".into() });
        }
        Ok(())
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
    /// A search endpoint taking conditions in a JSON body (HubSpot CRM search), used when a query has
    /// conditions on columns with a `field` that the list endpoint cannot filter by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchDef>,
    /// A timestamp column the provider updates on every change and can filter by (`>=` pushed
    /// down): mirror refreshes then fetch only the records changed since the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_column: Option<String>,
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
}

/// A batch create endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDef {
    #[serde(default = "BatchDef::default_method")]
    pub method: String,
    pub path: String,
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

    /// Check the pointers and parameters of a pagination; `at` names it in errors.
    pub fn check(&self, at: &str) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        match self {
            PaginationDef::Cursor { cursor, param, body } => {
                check_pointer(&format!("{at}/cursor"), cursor)?;
                match (param, body) {
                    (Some(p), None) if !p.is_empty() => {}
                    (None, Some(b)) => check_pointer(&format!("{at}/body"), b)?,
                    _ => {
                        return bad(
                            at.to_string(),
                            "cursor pagination needs exactly one of param (a query parameter) or body (a JSON pointer)"
                                .into(),
                        )
                    }
                }
            }
            PaginationDef::LastId { param, has_more } => {
                check_pointer(&format!("{at}/has_more"), has_more)?;
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
            }
            PaginationDef::NextUrl { next_url } => check_pointer(&format!("{at}/next_url"), next_url)?,
            PaginationDef::Offset { param, total } => {
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
                if let Some(t) = total {
                    check_pointer(&format!("{at}/total"), t)?;
                }
            }
            PaginationDef::Page { param, total_pages, .. } => {
                if param.is_empty() {
                    return bad(format!("{at}/param"), "must not be empty".into());
                }
                if let Some(t) = total_pages {
                    check_pointer(&format!("{at}/total_pages"), t)?;
                }
            }
            PaginationDef::None | PaginationDef::LinkHeader => {}
        }
        Ok(())
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

impl Connector {
    /// Parse and validate a connector document; errors name the JSON path at fault.
    pub fn from_json(text: &str) -> Result<Connector, TetherError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let connector: Connector = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = json_path(e.path());
            TetherError::Connector { path, message: e.into_inner().to_string() }
        })?;
        connector.validate()?;
        Ok(connector)
    }

    /// Checks serde cannot express. Each names the JSON path at fault.
    pub fn validate(&self) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        if !is_identifier(&self.name) {
            return bad(
                "/name".into(),
                format!("\"{}\" is not a valid connector name; use lower-case letters, digits and _", self.name),
            );
        }
        if let Some(url) = &self.auth.token_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad("/auth/token_url".into(), format!("\"{url}\" must start with http:// or https://"));
            }
        }
        if let Some(p) = &self.auth.instance_url {
            check_pointer("/auth/instance_url", p)?;
        }
        if let Some(r) = &self.rate_limit {
            r.check("/rate_limit")?;
        }
        if let Some(base) = &self.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return bad("/base_url".into(), format!("\"{base}\" must start with http:// or https://"));
            }
            for name in template::placeholders(base) {
                if !self.server_options.contains_key(&name) {
                    return bad(
                        "/base_url".into(),
                        format!("placeholder {{{name}}} is not declared in server_options"),
                    );
                }
            }
        }
        for (i, p) in self.errors.message.iter().chain(self.errors.code.iter()).enumerate() {
            if let Err(m) = Pointer::parse(p) {
                return bad(format!("/errors/{i}"), m);
            }
        }
        if self.objects.is_empty() && self.generic_object.is_none() {
            return bad("/objects".into(), "a connector needs at least one object or a generic_object".into());
        }
        for (name, object) in &self.objects {
            if !is_identifier(name) {
                return bad(
                    format!("/objects/{name}"),
                    format!("\"{name}\" is not a valid object name; use lower-case letters, digits and _"),
                );
            }
            object.validate(&format!("/objects/{name}"), self)?;
        }
        if let Some(object) = &self.generic_object {
            object.validate("/generic_object", self)?;
        }
        for name in self.table_options.keys() {
            if !is_identifier(name) || crate::connector::resolve::TABLE_OPTIONS.iter().any(|(n, _)| n == name) {
                return bad(
                    format!("/table_options/{name}"),
                    format!("\"{name}\" is not a valid table option name (lower-case, and not a generic option)"),
                );
            }
        }
        if let Some(w) = &self.webhooks {
            w.validate("/webhooks")?;
            for (provider_object, object) in &w.objects {
                if !self.objects.contains_key(object) {
                    return bad(
                        format!("/webhooks/objects/{provider_object}"),
                        format!("\"{object}\" is not one of the connector's objects"),
                    );
                }
            }
        }
        if let Some(d) = &self.discover {
            if self.generic_object.is_none() {
                return bad("/discover".into(), "discovered tables use the generic_object, which is missing".into());
            }
            if !d.path.starts_with('/') {
                return bad("/discover/path".into(), format!("\"{}\" must start with /", d.path));
            }
            for name in template::placeholders(&d.path) {
                if !self.server_options.contains_key(&name) {
                    return bad("/discover/path".into(), format!("placeholder {{{name}}} is not a server option"));
                }
            }
            for (at, p) in [
                ("tables", &d.tables),
                ("name", &d.name),
                ("fields", &d.fields),
                ("field_name", &d.field_name),
                ("field_type", &d.field_type),
            ] {
                check_pointer(&format!("/discover/{at}"), p)?;
            }
            for (option, p) in &d.table_options {
                if !self.table_options.contains_key(option) {
                    return bad(format!("/discover/table_options/{option}"), "not one of the table_options".into());
                }
                check_pointer(&format!("/discover/table_options/{option}"), p)?;
            }
            for (provider_type, t) in d.types.iter().chain([(&"default_type".to_string(), &d.default_type)]) {
                if !DECLARED_TYPES.contains(&t.as_str()) {
                    return bad(
                        format!("/discover/types/{provider_type}"),
                        format!("unknown type \"{t}\"; accepted: {}", DECLARED_TYPES.join(", ")),
                    );
                }
            }
        }
        Ok(())
    }
}

impl ObjectDef {
    pub fn validate(&self, at: &str, connector: &Connector) -> Result<(), TetherError> {
        let bad = |path: String, message: String| Err(TetherError::Connector { path, message });
        let known_placeholders = |path: &str, text: &str, extra: &[&str]| -> Result<(), TetherError> {
            for name in template::placeholders(text) {
                if !connector.server_options.contains_key(&name)
                    && !connector.table_options.contains_key(&name)
                    && !extra.contains(&name.as_str())
                {
                    let mut accepted: Vec<String> = connector.server_options.keys().cloned().collect();
                    accepted.extend(connector.table_options.keys().cloned());
                    accepted.extend(extra.iter().map(|s| s.to_string()));
                    return Err(TetherError::Connector {
                        path: path.to_string(),
                        message: format!(
                            "unknown placeholder {{{name}}}; accepted: {}",
                            if accepted.is_empty() { "none".to_string() } else { accepted.join(", ") }
                        ),
                    });
                }
            }
            Ok(())
        };
        if !self.list.path.starts_with('/') && !self.list.path.starts_with("{path}") {
            return bad(format!("{at}/list/path"), format!("\"{}\" must start with /", self.list.path));
        }
        known_placeholders(&format!("{at}/list/path"), &self.list.path, &["path"])?;
        check_pointer(&format!("{at}/list/records"), &self.list.records)?;
        if let Some(ps) = &self.list.page_size {
            if ps.param.is_some() == ps.header.is_some() {
                return bad(
                    format!("{at}/list/page_size"),
                    "page_size needs exactly one of param (a query parameter) or header".into(),
                );
            }
            if ps.header.is_some() && !ps.format.as_deref().is_some_and(|f| f.contains("{n}")) {
                return bad(format!("{at}/list/page_size/format"), "a page size header needs a format with {n}".into());
            }
            if ps.default == 0 {
                return bad(format!("{at}/list/page_size/default"), "must be at least 1".into());
            }
            if let Some(max) = ps.max {
                if ps.default > max {
                    return bad(format!("{at}/list/page_size/default"), format!("{} is above max {max}", ps.default));
                }
            }
        }
        self.list.pagination.check(&format!("{at}/list/pagination"))?;
        if matches!(self.list.pagination, PaginationDef::Offset { .. } | PaginationDef::Page { .. })
            && self.list.page_size.is_none()
        {
            return bad(
                format!("{at}/list/page_size"),
                format!("{} pagination needs page_size (its param and default)", self.list.pagination.style()),
            );
        }
        if let Some(get) = &self.get {
            if !get.path.starts_with('/') && !get.path.starts_with("{path}") {
                return bad(format!("{at}/get/path"), format!("\"{}\" must start with /", get.path));
            }
            if !get.path.contains("{id}") {
                return bad(format!("{at}/get/path"), format!("\"{}\" must contain {{id}}", get.path));
            }
            known_placeholders(&format!("{at}/get/path"), &get.path, &["path", "id"])?;
            check_pointer(&format!("{at}/get/record"), &get.record)?;
            if let Some(g) = &get.gone {
                check_pointer(&format!("{at}/get/gone"), g)?;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.columns.iter().enumerate() {
            let here = format!("{at}/columns/{i}");
            if !seen.insert(c.name.as_str()) {
                return bad(format!("{here}/name"), format!("column \"{}\" is declared twice", c.name));
            }
            check_pointer(&format!("{here}/pointer"), &c.pointer)?;
            if !DECLARED_TYPES.contains(&c.type_name.as_str()) {
                return bad(
                    format!("{here}/type"),
                    format!("unknown type \"{}\"; accepted: {}", c.type_name, DECLARED_TYPES.join(", ")),
                );
            }
        }
        if !self.columns.is_empty() && self.column(&self.id_column).is_none() {
            return bad(
                format!("{at}/id_column"),
                format!("\"{}\" is not one of the object's columns", self.id_column),
            );
        }
        if let Some(u) = &self.updated_column {
            match self.column(u) {
                Some(c) if c.type_name == "timestamptz" || c.type_name == "date" => {}
                Some(c) => {
                    return bad(
                        format!("{at}/updated_column"),
                        format!("\"{u}\" is a {} column; accepted: a timestamptz or date column", c.type_name),
                    )
                }
                None => {
                    return bad(format!("{at}/updated_column"), format!("\"{u}\" is not one of the object's columns"))
                }
            }
        }
        if let Some(t) = &self.other_columns {
            check_pointer(&format!("{at}/other_columns/pointer"), &t.pointer.replace("{name}", "x"))?;
        }
        for (i, f) in self.filters.iter().enumerate() {
            let here = format!("{at}/filters/{i}");
            if !self.columns.is_empty() && self.column(&f.column).is_none() && self.other_columns.is_none() {
                return bad(format!("{here}/column"), format!("\"{}\" is not one of the object's columns", f.column));
            }
            if f.param.is_empty() {
                return bad(format!("{here}/param"), "must not be empty".into());
            }
            if f.op == FilterOp::In && f.separator.is_none() {
                return bad(format!("{here}/separator"), "an \"in\" filter needs a separator".into());
            }
        }
        let methods = ["POST", "PUT", "PATCH", "DELETE"];
        for (name, def, needs_id) in
            [("create", &self.create, false), ("update", &self.update, true), ("delete", &self.delete, true)]
        {
            let Some(def) = def else { continue };
            let here = format!("{at}/{name}");
            if !methods.contains(&def.method.as_str()) {
                return bad(
                    format!("{here}/method"),
                    format!("unknown method \"{}\"; accepted: {}", def.method, methods.join(", ")),
                );
            }
            if !def.path.starts_with('/') && !def.path.starts_with("{path}") {
                return bad(format!("{here}/path"), format!("\"{}\" must start with /", def.path));
            }
            if needs_id && !def.path.contains("{id}") && def.id_field.is_none() {
                return bad(
                    format!("{here}/path"),
                    format!("\"{}\" must contain {{id}} (or the definition needs id_field)", def.path),
                );
            }
            known_placeholders(&format!("{here}/path"), &def.path, &["path", "id"])?;
            check_pointer(&format!("{here}/record"), &def.record)?;
            if let Some(body) = &def.body {
                if crate::connector::request::marker_pointer(body, "record").is_none() {
                    return bad(format!("{here}/body"), "the body template needs the string \"$record\"".into());
                }
            }
            if let Some(f) = &def.id_field {
                check_pointer(&format!("{here}/id_field"), f)?;
                if f.is_empty() {
                    return bad(format!("{here}/id_field"), "must point inside the record".into());
                }
            }
            if let Some(p) = &def.id {
                check_pointer(&format!("{here}/id"), p)?;
            }
            if def.refetch {
                if self.get.is_none() {
                    return bad(
                        format!("{here}/refetch"),
                        "refetch reads the record through get, which is missing".into(),
                    );
                }
                if !needs_id && def.id.is_none() {
                    return bad(format!("{here}/id"), "a create with refetch needs id (where the new id is)".into());
                }
            }
        }
        if let Some(b) = &self.batch_create {
            let here = format!("{at}/batch_create");
            if !methods.contains(&b.method.as_str()) {
                return bad(format!("{here}/method"), format!("unknown method \"{}\"", b.method));
            }
            if !b.path.starts_with('/') && !b.path.starts_with("{path}") {
                return bad(format!("{here}/path"), format!("\"{}\" must start with /", b.path));
            }
            known_placeholders(&format!("{here}/path"), &b.path, &["path"])?;
            if b.max == 0 {
                return bad(format!("{here}/max"), "must be at least 1".into());
            }
            check_pointer(&format!("{here}/inputs"), &b.inputs)?;
            check_pointer(&format!("{here}/records"), &b.records)?;
            if let Some(e) = &b.errors {
                check_pointer(&format!("{here}/errors"), e)?;
            }
            if let Some(t) = &b.trace {
                check_pointer(&format!("{here}/trace/field"), &t.field)?;
                check_pointer(&format!("{here}/trace/error"), &t.error)?;
                if t.field.is_empty() {
                    return bad(format!("{here}/trace/field"), "must point inside each input".into());
                }
            }
            if let Some(body) = &b.body {
                if crate::connector::request::marker_pointer(body, "records").is_none() {
                    return bad(format!("{here}/body"), "the body template needs the string \"$records\"".into());
                }
            }
            if let Some(item) = &b.item {
                if !item.is_object() {
                    return bad(format!("{here}/item"), "must be an object (merged into each input)".into());
                }
            }
            if let Some(r) = &b.results {
                check_pointer(&format!("{here}/results/at"), &r.at)?;
                check_pointer(&format!("{here}/results/ok"), &r.ok)?;
                check_pointer(&format!("{here}/results/message"), &r.message)?;
                if let Some(c) = &r.code {
                    check_pointer(&format!("{here}/results/code"), c)?;
                }
            }
            if self.create.is_none() {
                return bad(here, "an object with batch_create also needs create (used with RETURNING)".into());
            }
        }
        if let Some(el) = &self.list.elements {
            check_pointer(&format!("{at}/list/elements/array"), &el.array)?;
            for (to, from) in &el.copy {
                check_pointer(&format!("{at}/list/elements/copy"), to)?;
                check_pointer(&format!("{at}/list/elements/copy/{}", to.trim_start_matches('/')), from)?;
                if to.is_empty() {
                    return bad(
                        format!("{at}/list/elements/copy"),
                        "a copied value needs a place in the element".into(),
                    );
                }
            }
            if matches!(self.list.pagination, PaginationDef::LastId { .. }) {
                return bad(
                    format!("{at}/list/elements"),
                    "elements cannot be read with last_id pagination (it pages by the parent's id)".into(),
                );
            }
            if self.get.is_some() {
                return bad(format!("{at}/get"), "an object of elements has no get endpoint of its own".into());
            }
        }
        if let Some(lang) = &self.list.language {
            let param = match lang {
                LanguageDef::Soql { param, from } => {
                    if from.is_empty() || !from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                        return bad(format!("{at}/list/language/from"), format!("\"{from}\" is not an object name"));
                    }
                    param
                }
                LanguageDef::Formula { param } => param,
            };
            if param.is_empty() {
                return bad(format!("{at}/list/language/param"), "must not be empty".into());
            }
        }
        if let Some(s) = &self.search {
            validate_search(&format!("{at}/search"), s, &known_placeholders)?;
        }
        Ok(())
    }
}

fn bad(path: String, message: String) -> Result<(), TetherError> {
    Err(TetherError::Connector { path, message })
}

/// Checks the `{placeholders}` of a path: (JSON path, text, placeholders accepted besides options).
type PlaceholderCheck<'a> = &'a dyn Fn(&str, &str, &[&str]) -> Result<(), TetherError>;

fn validate_search(here: &str, s: &SearchDef, known_placeholders: PlaceholderCheck) -> Result<(), TetherError> {
    let methods = ["GET", "POST"];
    if !methods.contains(&s.method.as_str()) {
        return bad(format!("{here}/method"), format!("unknown method \"{}\"; accepted: GET, POST", s.method));
    }
    if !s.path.starts_with('/') {
        return bad(format!("{here}/path"), format!("\"{}\" must start with /", s.path));
    }
    known_placeholders(&format!("{here}/path"), &s.path, &["path"])?;
    use crate::connector::request::marker_pointer;
    for marker in ["filters", "cursor"] {
        if marker_pointer(&s.body, marker).is_none() {
            return bad(format!("{here}/body"), format!("the body template needs the string \"${marker}\""));
        }
    }
    if marker_pointer(&s.filter, "field").is_none() {
        return bad(format!("{here}/filter"), "the filter template needs the string \"$field\"".into());
    }
    for key in s.ops.keys() {
        if !["eq", "in", "lt", "le", "gt", "ge"].contains(&key.as_str()) {
            return bad(
                format!("{here}/ops/{key}"),
                format!("unknown operator \"{key}\"; accepted: eq, in, lt, le, gt, ge"),
            );
        }
    }
    check_pointer(&format!("{here}/records"), &s.records)?;
    check_pointer(&format!("{here}/cursor"), &s.cursor)?;
    if s.page_size.default == 0 {
        return bad(format!("{here}/page_size/default"), "must be at least 1".into());
    }
    if let Some(t) = &s.total {
        check_pointer(&format!("{here}/total"), t)?;
    }
    if s.max_results.is_some() != s.total.is_some() {
        return bad(format!("{here}/max_results"), "max_results and total go together".into());
    }
    if let Some(r) = &s.rate_limit {
        r.check(&format!("{here}/rate_limit"))?;
    }
    if s.max_filters == Some(0) {
        return bad(format!("{here}/max_filters"), "must be at least 1".into());
    }
    Ok(())
}

fn check_pointer(path: &str, pointer: &str) -> Result<(), TetherError> {
    Pointer::parse(pointer).map(|_| ()).map_err(|message| TetherError::Connector { path: path.to_string(), message })
}

/// Where serde_path_to_error stopped (`objects.contacts.columns[0].pointer`), as a JSON pointer
/// (`/objects/contacts/columns/0/pointer`), keys escaped as RFC 6901 says (`~` and `/`); `/` for the
/// document itself.
fn json_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(&variant.replace('~', "~0").replace('/', "~1")),
            // Where serde_path_to_error lost track (at the top of a document that is not JSON).
            Segment::Unknown => {
                out.pop();
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(extra_object: &str) -> String {
        format!(
            r#"{{"name": "demo", "base_url": "https://api.example.com",
                "objects": {{"items": {{"list": {{"path": "/items"{extra_object}}}}}}}}}"#
        )
    }

    fn err_path(text: &str) -> (String, String) {
        match Connector::from_json(text) {
            Err(TetherError::Connector { path, message }) => (path, message),
            other => panic!("expected a connector error, got {other:?}"),
        }
    }

    #[test]
    fn minimal_connector_loads() {
        let c = Connector::from_json(&minimal("")).unwrap();
        assert_eq!(c.objects["items"].list.pagination, PaginationDef::None);
        assert_eq!(c.objects["items"].id_column, "id");
    }

    #[test]
    fn unknown_pagination_style_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "pagination": {"style": "sideways"}"#));
        assert_eq!(path, "/objects/items/list/pagination/style");
        assert!(message.contains("sideways"), "{message}");
        assert!(message.contains("cursor"), "lists accepted styles: {message}");
    }

    #[test]
    fn unknown_field_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "recrods": "/data""#));
        assert_eq!(path, "/objects/items/list/recrods");
        assert!(message.contains("unknown field `recrods`"), "{message}");
    }

    #[test]
    fn bad_pointer_names_the_path() {
        let (path, message) = err_path(&minimal(r#", "records": "data""#));
        assert_eq!(path, "/objects/items/list/records");
        assert!(message.contains("must start with /"), "{message}");
    }

    #[test]
    fn offset_pagination_requires_page_size() {
        let (path, _) = err_path(&minimal(r#", "pagination": {"style": "offset", "param": "offset"}"#));
        assert_eq!(path, "/objects/items/list/page_size");
    }

    #[test]
    fn page_size_default_above_max_is_refused() {
        let (path, message) = err_path(&minimal(r#", "page_size": {"param": "limit", "default": 500, "max": 100}"#));
        assert_eq!(path, "/objects/items/list/page_size/default");
        assert!(message.contains("above max 100"));
    }

    #[test]
    fn undeclared_base_url_placeholder_is_refused() {
        let text = r#"{"name": "demo", "base_url": "https://api.example.com/stores/{store_hash}",
                       "objects": {"items": {"list": {"path": "/items"}}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/base_url");
        assert!(message.contains("{store_hash}"));
    }

    #[test]
    fn unknown_column_type_lists_accepted() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "uuidish", "pointer": "/id"}]}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/objects/items/columns/0/type");
        assert!(message.contains("timestamptz"));
    }

    #[test]
    fn webhook_objects_must_be_connector_objects() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}},
            "webhooks": {"signature": {"scheme": "stripe"}, "topic": "/type", "objects": {"item": "things"}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/webhooks/objects/item");
        assert!(message.contains("\"things\" is not one of the connector's objects"), "{message}");
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}},
            "webhooks": {"signature": {"scheme": "md5"}}}"#;
        assert!(err_path(text).0.starts_with("/webhooks/signature"), "{:?}", err_path(text));
    }

    #[test]
    fn id_column_must_exist() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"id_column": "key", "list": {"path": "/items"},
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        assert_eq!(err_path(text).0, "/objects/items/id_column");
    }

    #[test]
    fn updated_column_must_be_a_timestamp_column() {
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"}, "updated_column": "changed",
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        assert_eq!(err_path(text).0, "/objects/items/updated_column");
        let text = r#"{"name": "demo", "base_url": "https://x.test",
            "objects": {"items": {"list": {"path": "/items"}, "updated_column": "id",
            "columns": [{"name": "id", "type": "text", "pointer": "/id"}]}}}"#;
        let (path, message) = err_path(text);
        assert_eq!(path, "/objects/items/updated_column");
        assert!(message.contains("timestamptz"), "{message}");
    }

    #[test]
    fn get_path_needs_id_placeholder() {
        let (path, _) = err_path(&minimal(r#"}, "get": {"path": "/items/one""#));
        assert_eq!(path, "/objects/items/get/path");
    }

    #[test]
    fn not_json_is_an_error_at_the_root() {
        let (path, message) = err_path("{not json");
        assert_eq!(path, "/");
        assert!(!message.is_empty());
    }

    #[test]
    fn write_endpoints_are_checked() {
        let (path, message) = err_path(&minimal(r#"}, "update": {"method": "PATCH", "path": "/items""#));
        assert_eq!(path, "/objects/items/update/path");
        assert!(message.contains("{id}"), "{message}");
        let (path, message) = err_path(&minimal(r#"}, "create": {"method": "SEND", "path": "/items""#));
        assert_eq!(path, "/objects/items/create/method");
        assert!(message.contains("POST, PUT, PATCH, DELETE"), "{message}");
        let (path, _) = err_path(&minimal(r#"}, "batch_create": {"path": "/items/batch", "max": 10"#));
        assert_eq!(path, "/objects/items/batch_create");
        let (path, _) = err_path(&minimal(
            r#"}, "create": {"method": "POST", "path": "/items"}, "batch_create": {"path": "/b", "max": 0"#,
        ));
        assert_eq!(path, "/objects/items/batch_create/max");
        let ok = minimal(
            r#"}, "create": {"method": "POST", "path": "/items"}, "update": {"method": "PUT", "path": "/items/{id}", "full_row": true},
               "delete": {"method": "DELETE", "path": "/items/{id}"},
               "batch_create": {"path": "/items/batch", "inputs": "/inputs", "max": 100, "records": "/results",
                                "errors": "/errors", "trace": {"field": "/trace", "error": "/context/trace/0"}"#,
        );
        let c = Connector::from_json(&ok).unwrap();
        assert!(c.objects["items"].update.as_ref().unwrap().full_row);
    }

    #[test]
    fn bad_name_is_refused() {
        let (path, _) = err_path(r#"{"name": "Bad Name", "objects": {}}"#);
        assert_eq!(path, "/name");
    }
}
