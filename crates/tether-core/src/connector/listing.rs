//! The read requests of a table: its listing (parameter filters, conditions in the API's query
//! language, or its search endpoint with the conditions in the body; fields; page size and a LIMIT)
//! and the get of one record by id.

use serde_json::Value;

use crate::connector::model::{BodyEncoding, FilterOp, LanguageDef, PaginationDef, RateLimitDef};
use crate::connector::request::{self, Condition, ParamValue, Request, ValueKind, Via};
use crate::connector::table::*;
use crate::connector::template::{self};
use crate::error::TetherError;

/// How a listing is fetched: its first request, how to page, where its records are, and (for
/// searches) the pointer to the reported total and the most records the endpoint can return.
#[derive(Debug, Clone)]
pub struct ListFetch {
    pub first: Request,
    pub pagination: PaginationDef,
    pub records: String,
    pub total_check: Option<(String, u64)>,
    /// The endpoint's own rate limit (a search endpoint's), on top of the server's.
    pub rate_limit: Option<RateLimitDef>,
    /// How a request body is sent (a search's JSON; `tether.request_pages` uses the connector's).
    pub encoding: BodyEncoding,
}

/// Longest list URL Tether sends; providers refuse much longer ones (Salesforce and Airtable: 16 kB).
pub(crate) const MAX_URL_BYTES: usize = 15_000;

impl TableDef {
    /// The first list request for a plain listing with query-parameter filters (`filters` are
    /// parameter/value pairs), for callers without typed conditions.
    pub fn list_url(
        &self,
        filters: &[(String, String)],
        fields: &[String],
        page_size: Option<u64>,
    ) -> Result<String, TetherError> {
        let mut url = format!("{}{}", self.base_url, self.render_path(&self.object.list.path, None)?);
        let mut pairs: Vec<(String, String)> =
            self.object.list.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.extend(self.extra_query.iter().cloned());
        pairs.extend(filters.iter().cloned());
        pairs.extend(self.fields_pairs(fields));
        if let (Some(ps), Some(size)) = (&self.object.list.page_size, page_size) {
            if let Some(param) = &ps.param {
                pairs.push((param.clone(), size.to_string()));
            }
        }
        template::append_query(&mut url, &pairs);
        Ok(url)
    }

    /// The first request of a listing and how to page through it: a plain list (with query-parameter
    /// filters, SOQL or a formula) or, when a condition goes through the search endpoint, a search.
    /// `fields` are the fields the query reads; `limit` the LIMIT hint.
    pub fn list_fetch(
        &self,
        conds: &[Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<ListFetch, TetherError> {
        if conds.iter().any(|c| c.via == Via::Search) {
            return self.search_fetch(conds, fields, limit);
        }
        let list = &self.object.list;
        let mut language: Vec<&Condition> = conds.iter().filter(|c| c.via == Via::Language).collect();
        let mut limit = limit;
        // Providers refuse URLs much longer than 16 kB (Salesforce, Airtable): a query language
        // condition with many values (a long IN list) is left to Postgres until the URL fits, and
        // the LIMIT with it.
        loop {
            let (url, headers) = self.list_request(conds, &language, fields, limit)?;
            if url.len() <= MAX_URL_BYTES || language.is_empty() {
                return Ok(ListFetch {
                    first: Request { method: "GET".into(), url, headers, body: None },
                    pagination: list.pagination.clone(),
                    records: list.records.clone(),
                    total_check: None,
                    rate_limit: None,
                    encoding: BodyEncoding::Json,
                });
            }
            let longest =
                (0..language.len()).max_by_key(|i| language[*i].values.iter().map(|v| v.text.len() + 4).sum::<usize>());
            if let Some(i) = longest {
                language.remove(i);
            }
            limit = None;
        }
    }

    /// The list URL and headers for parameter filters, the given query-language conditions, the
    /// fields read and a LIMIT hint. A condition the language cannot state exactly is left out (to
    /// Postgres), and the LIMIT with it.
    pub(crate) fn list_request(
        &self,
        conds: &[Condition],
        language: &[&Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<(String, Vec<(String, String)>), TetherError> {
        let list = &self.object.list;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for c in conds {
            if let Via::Param(f) = &c.via {
                pairs.push((f.param.clone(), c.joined(f.separator.as_deref())));
            }
        }
        let mut field_pairs = self.fields_pairs(fields);
        let written = |write: fn(&str, FilterOp, &[ParamValue]) -> Option<String>| -> (Vec<String>, bool) {
            let mut all = true;
            let parts = language
                .iter()
                .filter_map(|c| {
                    let part = write(self.field_of(c.column)?, c.op, &c.values);
                    all &= part.is_some();
                    part
                })
                .collect();
            (parts, all)
        };
        let mut complete = true;
        match &list.language {
            Some(LanguageDef::Soql { param, from }) => {
                let mut select: Vec<String> = fields.to_vec();
                if let Some(id) = self.object.column(&self.object.id_column).and_then(|c| c.field.clone()) {
                    if !select.contains(&id) {
                        select.insert(0, id);
                    }
                }
                let (where_, all) = written(request::soql_condition);
                complete = all;
                let soql_limit = if all { limit } else { None };
                pairs.push((param.clone(), request::soql_query(&select, from, &where_, soql_limit)));
                field_pairs.clear();
            }
            Some(LanguageDef::Formula { param }) if !language.is_empty() => {
                let (parts, all) = written(request::formula_condition);
                complete = all;
                if !parts.is_empty() {
                    pairs.push((param.clone(), request::formula_all(&parts)));
                }
            }
            _ => {}
        }
        let page_size = self.page_size(if complete { limit } else { None });
        let mut url = self.list_url(&pairs, &[], None)?;
        template::append_query(&mut url, &field_pairs);
        let mut headers = Vec::new();
        if let (Some(ps), Some(size)) = (&list.page_size, page_size) {
            if let Some(param) = &ps.param {
                template::append_query(&mut url, &[(param.clone(), size.to_string())]);
            }
            if let (Some(h), Some(fmt)) = (&ps.header, &ps.format) {
                headers.push((h.clone(), fmt.replace("{n}", &size.to_string())));
            }
        }
        Ok((url, headers))
    }

    pub(crate) fn search_fetch(
        &self,
        conds: &[Condition],
        fields: &[String],
        limit: Option<u64>,
    ) -> Result<ListFetch, TetherError> {
        let Some(search) = &self.object.search else {
            return Err(TetherError::Internal("search planned without a search endpoint".into()));
        };
        let filters: Vec<Value> = conds
            .iter()
            .filter(|c| c.via == Via::Search)
            .filter_map(|c| {
                let op = search.ops.get(op_key(c.op))?;
                let field = self.field_of(c.column)?;
                let text = |v: &ParamValue| -> Value {
                    let epoch = matches!(v.kind, ValueKind::Date | ValueKind::Timestamp)
                        && search.dates == crate::connector::model::DateFormat::EpochMs;
                    match crate::connector::mapping::parse_date_or_timestamp(&v.text).filter(|_| epoch) {
                        Some(pg_micros) => Value::String(crate::connector::mapping::unix_millis(pg_micros).to_string()),
                        None => Value::String(v.text.clone()),
                    }
                };
                let value = c.values.first().map(text);
                let values = Value::Array(c.values.iter().map(text).collect());
                Some(request::fill_template(&search.filter, &|name| match name {
                    "field" => Some(Value::String(field.to_string())),
                    "op" => Some(Value::String(op.clone())),
                    "value" if c.op != FilterOp::In => value.clone(),
                    "values" if c.op == FilterOp::In => Some(values.clone()),
                    _ => None,
                }))
            })
            .collect();
        let size = sized(&search.page_size, self.page_size_override, limit);
        let fields_value =
            (!fields.is_empty()).then(|| Value::Array(fields.iter().map(|f| Value::String(f.clone())).collect()));
        let body = request::fill_template(&search.body, &|name| match name {
            "filters" => Some(Value::Array(filters.clone())),
            "page_size" => Some(Value::from(size)),
            "fields" => fields_value.clone(),
            _ => None,
        });
        let url = format!("{}{}", self.base_url, self.render_path(&search.path, None)?);
        let cursor_body = template::marker_pointer(&search.body, "cursor")
            .ok_or_else(|| TetherError::Internal("search body has no $cursor".into()))?;
        Ok(ListFetch {
            first: Request { method: search.method.clone(), url, headers: Vec::new(), body: Some(body) },
            pagination: PaginationDef::Cursor { cursor: search.cursor.clone(), param: None, body: Some(cursor_body) },
            records: search.records.clone(),
            total_check: match (&search.total, search.max_results) {
                (Some(t), Some(max)) => Some((t.clone(), max)),
                _ => None,
            },
            rate_limit: search.rate_limit,
            encoding: BodyEncoding::Json,
        })
    }

    /// The URL of one record, or None when the object has no get endpoint. `extra` carries pushed
    /// filters that change what the provider returns (HubSpot `archived=true`).
    pub fn get_url(
        &self,
        id: &str,
        fields: &[String],
        extra: &[(String, String)],
    ) -> Result<Option<String>, TetherError> {
        let Some(get) = &self.object.get else { return Ok(None) };
        let mut url = format!("{}{}", self.base_url, self.render_path(&get.path, Some(id))?);
        let mut pairs: Vec<(String, String)> = get.query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.extend(extra.iter().cloned());
        pairs.extend(self.fields_pairs(fields));
        template::append_query(&mut url, &pairs);
        Ok(Some(url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connector::testing::*;

    #[test]
    fn soql_listing_selects_fields_pushes_conditions_and_limit() {
        let t = inline_table(
            serde_json::json!({
                "id_column": "id",
                "list": {
                    "path": "/query", "records": "/records",
                    "page_size": {"header": "Sforce-Query-Options", "format": "batchSize={n}", "default": 2000, "min": 200, "max": 2000},
                    "pagination": {"style": "next_url", "next_url": "/nextRecordsUrl"},
                    "language": {"kind": "soql", "param": "q", "from": "Account"}
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/Id", "field": "Id"},
                    {"name": "name", "type": "text", "pointer": "/Name", "field": "Name"},
                    {"name": "employees", "type": "integer", "pointer": "/NumberOfEmployees", "field": "NumberOfEmployees"}
                ]
            }),
            &["id", "name", "employees"],
        );
        let fields = t.fields(&[1]);
        assert!(t.language_can(1, FilterOp::Eq, ValueKind::Text));
        assert!(!t.language_can(1, FilterOp::Lt, ValueKind::Text), "text ranges stay with Postgres");
        assert!(t.language_can(2, FilterOp::Ge, ValueKind::Number));
        let conds = vec![
            cond(&t, "name", FilterOp::Eq, &[("O'Brien & Co", ValueKind::Text)], Via::Language),
            cond(&t, "employees", FilterOp::Ge, &[("50", ValueKind::Number)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert_eq!(f.first.method, "GET");
        assert_eq!(
            query_of(&f.first.url),
            r"q=SELECT Id, Name FROM Account WHERE Name = 'O\'Brien & Co' AND NumberOfEmployees >= 50 LIMIT 10"
        );
        assert_eq!(f.first.headers, vec![("Sforce-Query-Options".to_string(), "batchSize=200".to_string())]);
        // A value SOQL cannot state is left out, and with it the LIMIT (Postgres filters the rows).
        let conds = vec![
            cond(&t, "name", FilterOp::Eq, &[("a", ValueKind::Text)], Via::Language),
            cond(&t, "employees", FilterOp::Eq, &[("NaN", ValueKind::Number)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert_eq!(query_of(&f.first.url), "q=SELECT Id, Name FROM Account WHERE Name = 'a'");
        assert_eq!(f.first.headers[0].1, "batchSize=2000");
        // An IN list too long for a URL is left to Postgres (and the LIMIT with it); the rest stays.
        let ids: Vec<(String, ValueKind)> = (0..2000).map(|i| (format!("001Dn{i:013}IAA"), ValueKind::Text)).collect();
        let id_refs: Vec<(&str, ValueKind)> = ids.iter().map(|(s, k)| (s.as_str(), *k)).collect();
        let conds = vec![
            cond(&t, "id", FilterOp::In, &id_refs, Via::Language),
            cond(&t, "name", FilterOp::Eq, &[("a", ValueKind::Text)], Via::Language),
        ];
        let f = t.list_fetch(&conds, &fields, Some(10)).unwrap();
        assert!(f.first.url.len() <= MAX_URL_BYTES, "{}", f.first.url.len());
        assert_eq!(query_of(&f.first.url), "q=SELECT Id, Name FROM Account WHERE Name = 'a'");
        let f = t
            .list_fetch(
                &conds[..1]
                    .iter()
                    .cloned()
                    .map(|mut c| {
                        c.values.truncate(3);
                        c
                    })
                    .collect::<Vec<_>>(),
                &fields,
                None,
            )
            .unwrap();
        assert!(query_of(&f.first.url).contains("WHERE Id IN ("), "a short list stays in the query");
    }

    #[test]
    fn formula_listing_pushes_conditions_and_repeats_fields() {
        let t = inline_table(
            serde_json::json!({
                "list": {
                    "path": "/v0/base/Contacts", "records": "/records",
                    "page_size": {"param": "pageSize", "default": 100, "max": 100},
                    "pagination": {"style": "cursor", "cursor": "/offset", "param": "offset"},
                    "fields_param": {"param": "fields[]", "repeat": true},
                    "language": {"kind": "formula", "param": "filterByFormula"}
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/id"},
                    {"name": "email", "type": "text", "pointer": "/fields/Email", "field": "Email"},
                    {"name": "full_name", "type": "text", "pointer": "/fields/Full Name", "field": "Full Name"}
                ]
            }),
            &["id", "email", "full_name"],
        );
        let fields = t.fields(&[1, 2]);
        let conds = vec![cond(
            &t,
            "email",
            FilterOp::In,
            &[("a@x.test", ValueKind::Text), ("b@x.test", ValueKind::Text)],
            Via::Language,
        )];
        let f = t.list_fetch(&conds, &fields, None).unwrap();
        assert_eq!(
            query_of(&f.first.url),
            "filterByFormula=OR({Email} = 'a@x.test', {Email} = 'b@x.test')&fields[]=Email&fields[]=Full Name&pageSize=100"
        );
        let f = t.list_fetch(&[], &fields, Some(5)).unwrap();
        assert_eq!(query_of(&f.first.url), "fields[]=Email&fields[]=Full Name&pageSize=5");
        assert!(!t.language_can(0, FilterOp::Eq, ValueKind::Text), "the id has no field");
        assert!(t.language_can(1, FilterOp::Gt, ValueKind::Number));
        assert!(!t.language_can(1, FilterOp::Eq, ValueKind::Date), "formulas compare dates as text");
        assert!(!t.language_can(1, FilterOp::Ge, ValueKind::Timestamp));
    }

    #[test]
    fn search_listing_builds_the_body_and_pages_in_it() {
        let t = inline_table(
            serde_json::json!({
                "list": {
                    "path": "/objects/contacts", "records": "/results",
                    "page_size": {"param": "limit", "default": 100, "max": 100},
                    "pagination": {"style": "cursor", "cursor": "/paging/next/after", "param": "after"},
                    "fields_param": {"param": "properties"}
                },
                "search": {
                    "path": "/objects/contacts/search",
                    "body": {"filterGroups": [{"filters": "$filters"}], "properties": "$fields", "limit": "$page_size", "after": "$cursor"},
                    "filter": {"propertyName": "$field", "operator": "$op", "value": "$value", "values": "$values"},
                    "ops": {"eq": "EQ", "in": "IN", "gt": "GT"},
                    "records": "/results", "cursor": "/paging/next/after",
                    "page_size": {"param": "limit", "default": 100, "max": 200},
                    "max_filters": 2, "max_results": 10000, "total": "/total"
                },
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/id"},
                    {"name": "email", "type": "text", "pointer": "/properties/email", "field": "email"},
                    {"name": "score", "type": "integer", "pointer": "/properties/score", "field": "score"}
                ]
            }),
            &["id", "email", "score"],
        );
        assert!(t.search_can(1, FilterOp::Eq, ValueKind::Text));
        assert!(!t.search_can(2, FilterOp::Lt, ValueKind::Number), "no operator for lt");
        assert!(t.search_can(2, FilterOp::Gt, ValueKind::Number));
        assert_eq!(t.search_max_filters(), 2);
        let conds = vec![
            cond(
                &t,
                "email",
                FilterOp::In,
                &[("a@x.test", ValueKind::Text), ("b@x.test", ValueKind::Text)],
                Via::Search,
            ),
            cond(&t, "score", FilterOp::Gt, &[("5", ValueKind::Number)], Via::Search),
        ];
        let f = t.list_fetch(&conds, &t.fields(&[1]), Some(3)).unwrap();
        assert_eq!(
            (f.first.method.as_str(), f.first.url.as_str()),
            ("POST", "http://127.0.0.1:9/objects/contacts/search")
        );
        assert_eq!(
            f.first.body.unwrap(),
            serde_json::json!({"filterGroups": [{"filters": [
                {"propertyName": "email", "operator": "IN", "values": ["a@x.test", "b@x.test"]},
                {"propertyName": "score", "operator": "GT", "value": "5"}
            ]}], "properties": ["email"], "limit": 3})
        );
        assert!(matches!(f.pagination, PaginationDef::Cursor { param: None, body: Some(ref b), .. } if b == "/after"));
        // Dates go as epoch milliseconds when the search says so.
        let mut t2 = t.clone();
        t2.object.search.as_mut().unwrap().dates = crate::connector::model::DateFormat::EpochMs;
        let conds =
            vec![cond(&t2, "score", FilterOp::Gt, &[("2024-01-01T00:00:00Z", ValueKind::Timestamp)], Via::Search)];
        let body = t2.list_fetch(&conds, &[], None).unwrap().first.body.unwrap();
        assert_eq!(body["filterGroups"][0]["filters"][0]["value"], "1704067200000");
        assert_eq!(f.total_check, Some(("/total".to_string(), 10000)));
        // Without search conditions the plain list is used.
        let f = t.list_fetch(&[], &t.fields(&[1]), None).unwrap();
        assert_eq!(f.first.method, "GET");
        assert!(f.first.url.ends_with("/objects/contacts?properties=email&limit=100"), "{}", f.first.url);
    }
}
