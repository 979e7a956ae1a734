//! Pagination: given the first list request and each page's body and headers, the request for the next
//! page, or the end. A provider that hands back a cursor or link it already gave (or the same page twice) stops
//! the scan with an error instead of looping forever. Plain Rust.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::connector::model::PaginationDef;
use crate::connector::pointer::Pointer;
use crate::connector::request::Request;
use crate::connector::template;

#[derive(Debug)]
pub struct Pager {
    style: PaginationDef,
    /// Server base URL, against which next links are resolved.
    base_url: String,
    /// First list request; cursor, offset and page parameters are added to it (to its URL, or for a
    /// cursor sent in the body, to its body).
    first: Request,
    next: Option<Request>,
    seen: HashSet<String>,
    offset: u64,
    page: u64,
    max_page_len: usize,
    last_fingerprint: Option<u64>,
    pages: u64,
}

/// Where a listing stands between two pages: enough to continue it later, in another process (a
/// mirror refresh saves it with each page it applies). A saved position has no loop memory: cursors
/// seen before it are not remembered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PagerPosition {
    pub next: Request,
    pub offset: u64,
    pub page: u64,
    pub max_page_len: usize,
    pub pages: u64,
}

/// Why paging stopped with an error; the scan turns it into a BadResponse naming the request.
#[derive(Debug, Clone, PartialEq)]
pub struct PagingError(pub String);

impl Pager {
    pub fn new(base_url: &str, first: Request, style: PaginationDef) -> Pager {
        let mut pager = Pager {
            style,
            base_url: base_url.to_string(),
            next: None,
            seen: HashSet::new(),
            offset: 0,
            page: 0,
            max_page_len: 0,
            last_fingerprint: None,
            pages: 0,
            first,
        };
        pager.next = Some(match &pager.style {
            PaginationDef::Offset { param, .. } => pager.with_param(param, "0"),
            PaginationDef::Page { param, first, .. } => {
                pager.page = *first;
                pager.with_param(param, &first.to_string())
            }
            _ => pager.first.clone(),
        });
        pager
    }

    /// Continue a listing from a saved position; `first` is the listing's first request (cursor and
    /// offset parameters are added to it for the pages after the resumed one).
    pub fn resume(base_url: &str, first: Request, style: PaginationDef, at: PagerPosition) -> Pager {
        let mut pager = Pager::new(base_url, first, style);
        pager.next = Some(at.next);
        pager.offset = at.offset;
        pager.page = at.page;
        pager.max_page_len = at.max_page_len;
        pager.pages = at.pages;
        pager
    }

    /// The position before the next page, None when the listing is complete.
    pub fn position(&self) -> Option<PagerPosition> {
        self.next.as_ref().map(|next| PagerPosition {
            next: next.clone(),
            offset: self.offset,
            page: self.page,
            max_page_len: self.max_page_len,
            pages: self.pages,
        })
    }

    /// The first request with one more query parameter.
    fn with_param(&self, param: &str, value: &str) -> Request {
        let mut next = self.first.clone();
        template::append_query(&mut next.url, &[(param.to_string(), value.to_string())]);
        next
    }

    /// The first request with a cursor at `at` in its body.
    fn with_body_cursor(&self, at: &str, cursor: Value) -> Result<Request, PagingError> {
        let mut next = self.first.clone();
        let pointer = Pointer::parse(at).map_err(PagingError)?;
        let body = next.body.get_or_insert_with(|| Value::Object(serde_json::Map::new()));
        pointer.set(body, cursor).map_err(PagingError)?;
        Ok(next)
    }

    /// The first request's method and headers, at another URL (a next-page link).
    fn at_url(&self, url: String) -> Request {
        Request { method: "GET".into(), url, headers: self.first.headers.clone(), body: None }
    }

    /// The next request to send, or None when the listing is complete.
    pub fn next_request(&self) -> Option<&Request> {
        self.next.as_ref()
    }

    /// The URL of the next request.
    pub fn next_url(&self) -> Option<&str> {
        self.next.as_ref().map(|r| r.url.as_str())
    }

    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The one JSON pointer this pagination style reads from each page (cursor, next link, total, or
    /// whether there are more).
    pub fn page_pointer(&self) -> Option<Pointer> {
        let text = match &self.style {
            PaginationDef::Cursor { cursor, .. } => cursor,
            PaginationDef::LastId { has_more, .. } => has_more,
            PaginationDef::NextUrl { next_url } => next_url,
            PaginationDef::Offset { total: Some(t), .. } => t,
            PaginationDef::Page { total_pages: Some(t), .. } => t,
            _ => return None,
        };
        // Validated when the connector and table options were loaded.
        Pointer::parse(text).ok()
    }

    /// Whether this style needs the id of each page's last record (`advance`'s `last_id`).
    pub fn needs_last_id(&self) -> bool {
        matches!(self.style, PaginationDef::LastId { .. })
    }

    /// Record a fetched page and work out the next request. `value` is what the page holds at
    /// `page_pointer()`, `records` how many records the page held, `raw` its body (to notice a provider
    /// returning the same page again), `last_id` the id of its last record (for `last_id` paging).
    pub fn advance(
        &mut self,
        value: Option<&Value>,
        headers: &[(String, String)],
        records: usize,
        raw: &[u8],
        last_id: Option<&Value>,
    ) -> Result<(), PagingError> {
        self.pages += 1;
        let style = self.style.clone();
        self.next = match &style {
            PaginationDef::None => None,
            PaginationDef::Cursor { param, body, .. } => match value.and_then(scalar_text) {
                Some(c) => {
                    self.remember(&c, "cursor")?;
                    match (param, body) {
                        (Some(param), _) => Some(self.with_param(param, &c)),
                        (None, Some(at)) => Some(self.with_body_cursor(at, value.cloned().unwrap_or(Value::Null))?),
                        (None, None) => None,
                    }
                }
                None => None,
            },
            PaginationDef::LastId { param, .. } => {
                let more = matches!(value, Some(Value::Bool(true)));
                match (more && records > 0, last_id.and_then(scalar_text)) {
                    (false, _) => None,
                    (true, Some(id)) => {
                        self.remember(&id, "last record id")?;
                        Some(self.with_param(param, &id))
                    }
                    (true, None) => {
                        return Err(PagingError(
                            "the provider says there are more records, but the page's last record has no id to continue after"
                                .into(),
                        ))
                    }
                }
            }
            PaginationDef::NextUrl { .. } => match value.and_then(scalar_text) {
                Some(link) => Some(self.follow(&link)?),
                None => None,
            },
            PaginationDef::LinkHeader => match next_link(headers) {
                Some(link) => Some(self.follow(&link)?),
                None => None,
            },
            PaginationDef::Offset { param, .. } => {
                self.check_same_page(raw, records)?;
                self.offset += records as u64;
                let total = value.and_then(as_u64);
                if self.page_is_last(records) || total.is_some_and(|t| self.offset >= t) {
                    None
                } else {
                    Some(self.with_param(param, &self.offset.to_string()))
                }
            }
            PaginationDef::Page { param, first, .. } => {
                self.check_same_page(raw, records)?;
                let total = value.and_then(as_u64);
                // Page numbers count from `first`; total_pages counts pages.
                let pages_done = self.page + 1 - first;
                if self.page_is_last(records) || total.is_some_and(|t| pages_done >= t) {
                    None
                } else {
                    self.page += 1;
                    Some(self.with_param(param, &self.page.to_string()))
                }
            }
        };
        Ok(())
    }

    /// An empty page ends the listing; so does a page shorter than the longest seen (the effective page
    /// size, whatever the provider capped it to). A short *first* page is not trusted: the provider may
    /// cap page sizes below what was asked, so one more request confirms the end.
    fn page_is_last(&mut self, records: usize) -> bool {
        if records == 0 {
            return true;
        }
        let short = self.pages > 1 && records < self.max_page_len;
        self.max_page_len = self.max_page_len.max(records);
        short
    }

    fn check_same_page(&mut self, raw: &[u8], records: usize) -> Result<(), PagingError> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        raw.hash(&mut h);
        let fp = h.finish();
        if records > 0 && self.last_fingerprint == Some(fp) {
            return Err(PagingError(format!(
                "the provider returned the same page twice (pages {} and {}); it seems to ignore the pagination parameter, so the scan stopped instead of looping",
                self.pages - 1,
                self.pages
            )));
        }
        self.last_fingerprint = Some(fp);
        Ok(())
    }

    fn follow(&mut self, link: &str) -> Result<Request, PagingError> {
        let url = template::resolve_link(&self.base_url, link).map_err(PagingError)?;
        self.remember(&url, "next-page link")?;
        Ok(self.at_url(url))
    }

    fn remember(&mut self, key: &str, what: &str) -> Result<(), PagingError> {
        if !self.seen.insert(key.to_string()) {
            let mut cut = key.len().min(200);
            while !key.is_char_boundary(cut) {
                cut -= 1;
            }
            let shown = &key[..cut];
            return Err(PagingError(format!(
                "the provider returned {what} \"{}\" a second time (after page {}); the scan stopped instead of looping",
                template::display_path(shown),
                self.pages
            )));
        }
        Ok(())
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `rel="next"` target of RFC 8288 Link headers (several headers, or several links in one).
pub fn next_link(headers: &[(String, String)]) -> Option<String> {
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("link") {
            continue;
        }
        let mut rest = value.as_str();
        while let Some(open) = rest.find('<') {
            let close = open + rest[open..].find('>')?;
            let target = &rest[open + 1..close];
            let after = &rest[close + 1..];
            let params_end = after.find('<').unwrap_or(after.len());
            let params = &after[..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                if let Some(v) = p.strip_prefix("rel=").or_else(|| p.strip_prefix("rel =")) {
                    v.trim().trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
                } else {
                    false
                }
            });
            if is_next {
                return Some(target.to_string());
            }
            rest = after;
        }
    }
    None
}

/// Take the records out of a list response. An array is the records; an object is one record; null is
/// none. A missing pointer is an error that names it (usually a wrong `records` option).
pub fn extract_records(mut body: Value, at: &Pointer) -> Result<Vec<Value>, String> {
    let found = if at.is_root() { Some(body.take()) } else { at.take(&mut body) };
    match found {
        Some(Value::Array(items)) => Ok(items),
        Some(Value::Null) => Ok(Vec::new()),
        Some(obj @ Value::Object(_)) => Ok(vec![obj]),
        Some(other) => {
            Err(format!("expected records (an array) at \"{at}\" in the response, found {}", type_name(&other)))
        }
        None => Err(format!(
            "the response has no records at \"{at}\"; its top-level keys are: {}",
            match &body {
                Value::Object(m) => m.keys().take(20).cloned().collect::<Vec<_>>().join(", "),
                other => type_name(other).to_string(),
            }
        )),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://127.0.0.1:9";

    /// Advance with a whole body, as the scan does with the value at the page pointer.
    fn adv(
        p: &mut Pager,
        body: &Value,
        headers: &[(String, String)],
        records: usize,
        raw: &[u8],
    ) -> Result<(), PagingError> {
        let value = p.page_pointer().and_then(|ptr| ptr.get(body).cloned());
        p.advance(value.as_ref(), headers, records, raw, None)
    }

    fn pager(style: PaginationDef) -> Pager {
        Pager::new(BASE, Request::get(format!("{BASE}/items?limit=2")), style)
    }

    fn cursor(param: &str) -> PaginationDef {
        PaginationDef::Cursor { cursor: "/next".into(), param: Some(param.into()), body: None }
    }

    #[test]
    fn a_saved_position_continues_offset_paging_where_it_stopped() {
        let style = PaginationDef::Offset { param: "offset".into(), total: None };
        let mut p = pager(style.clone());
        adv(&mut p, &json!([]), &[], 2, b"p1").unwrap();
        let saved = p.position().expect("more pages");
        // Through JSON, as a mirror stores it.
        let saved: PagerPosition = serde_json::from_value(serde_json::to_value(&saved).unwrap()).unwrap();
        let mut q = Pager::resume(BASE, Request::get(format!("{BASE}/items?limit=2")), style, saved);
        assert_eq!(q.next_url(), Some("http://127.0.0.1:9/items?limit=2&offset=2"));
        assert_eq!(q.pages(), 1);
        adv(&mut q, &json!([]), &[], 2, b"p2").unwrap();
        assert_eq!(q.next_url(), Some("http://127.0.0.1:9/items?limit=2&offset=4"));
        adv(&mut q, &json!([]), &[], 1, b"p3").unwrap();
        assert_eq!(q.next_url(), None, "the resumed pager still knows the page length and ends on a short page");
        assert_eq!(q.position(), None);
    }

    #[test]
    fn a_saved_cursor_position_keeps_the_cursor_request() {
        let mut p = pager(cursor("after"));
        adv(&mut p, &json!({"next": "c2"}), &[], 2, b"p1").unwrap();
        let saved = p.position().unwrap();
        assert_eq!(saved.next.url, "http://127.0.0.1:9/items?limit=2&after=c2");
        let mut q = Pager::resume(BASE, Request::get(format!("{BASE}/items?limit=2")), cursor("after"), saved);
        adv(&mut q, &json!({"next": "c3"}), &[], 2, b"p2").unwrap();
        assert_eq!(q.next_url(), Some("http://127.0.0.1:9/items?limit=2&after=c3"));
        assert_eq!(q.pages(), 2);
    }

    #[test]
    fn cursor_pages_until_no_cursor() {
        let mut p = pager(PaginationDef::Cursor {
            cursor: "/paging/next/after".into(),
            param: Some("after".into()),
            body: None,
        });
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2"));
        adv(&mut p, &json!({"paging": {"next": {"after": "3"}}}), &[], 2, b"a").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&after=3"));
        adv(&mut p, &json!({"results": []}), &[], 1, b"b").unwrap();
        assert_eq!(p.next_url(), None);
    }

    #[test]
    fn cursor_in_the_body_keeps_method_headers_and_the_rest_of_the_body() {
        let first = Request {
            method: "POST".into(),
            url: format!("{BASE}/search"),
            headers: vec![("X-A".into(), "1".into())],
            body: Some(json!({"filters": [1], "limit": 2})),
        };
        let style =
            PaginationDef::Cursor { cursor: "/paging/next/after".into(), param: None, body: Some("/after".into()) };
        let mut p = Pager::new(BASE, first.clone(), style);
        assert_eq!(p.next_request(), Some(&first));
        adv(&mut p, &json!({"paging": {"next": {"after": "2"}}}), &[], 2, b"a").unwrap();
        let next = p.next_request().unwrap();
        assert_eq!(next.method, "POST");
        assert_eq!(next.url, first.url);
        assert_eq!(next.headers, first.headers);
        assert_eq!(next.body, Some(json!({"filters": [1], "limit": 2, "after": "2"})));
        adv(&mut p, &json!({"paging": {"next": {"after": "4"}}}), &[], 2, b"b").unwrap();
        assert_eq!(p.next_request().unwrap().body, Some(json!({"filters": [1], "limit": 2, "after": "4"})));
        adv(&mut p, &json!({"results": []}), &[], 0, b"c").unwrap();
        assert_eq!(p.next_request(), None);
    }

    #[test]
    fn last_id_continues_after_the_last_record_while_has_more() {
        let style = PaginationDef::LastId { param: "starting_after".into(), has_more: "/has_more".into() };
        let mut p = pager(style);
        assert!(p.needs_last_id());
        p.advance(Some(&json!(true)), &[], 2, b"1", Some(&json!("cus_2"))).unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&starting_after=cus_2"));
        p.advance(Some(&json!(true)), &[], 2, b"2", Some(&json!("cus_4"))).unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&starting_after=cus_4"));
        p.advance(Some(&json!(false)), &[], 1, b"3", Some(&json!("cus_5"))).unwrap();
        assert_eq!(p.next_url(), None);
        // has_more without an id to continue after is an error, and so is the same id twice.
        let style = PaginationDef::LastId { param: "starting_after".into(), has_more: "/has_more".into() };
        let mut p = pager(style.clone());
        assert!(p.advance(Some(&json!(true)), &[], 2, b"1", None).unwrap_err().0.contains("no id"));
        let mut p = pager(style);
        p.advance(Some(&json!(true)), &[], 2, b"1", Some(&json!("x"))).unwrap();
        assert!(p.advance(Some(&json!(true)), &[], 2, b"2", Some(&json!("x"))).is_err());
    }

    #[test]
    fn next_links_keep_the_first_requests_headers() {
        let mut first = Request::get(format!("{BASE}/query?q=SELECT"));
        first.headers.push(("Sforce-Query-Options".into(), "batchSize=200".into()));
        let mut p = Pager::new(BASE, first, PaginationDef::NextUrl { next_url: "/nextRecordsUrl".into() });
        adv(&mut p, &json!({"nextRecordsUrl": "/query/01g-200"}), &[], 2, b"1").unwrap();
        let next = p.next_request().unwrap();
        assert_eq!(next.url, "http://127.0.0.1:9/query/01g-200");
        assert_eq!(next.headers, vec![("Sforce-Query-Options".to_string(), "batchSize=200".to_string())]);
    }

    #[test]
    fn repeated_cursor_is_an_error() {
        let mut p = pager(cursor("after"));
        adv(&mut p, &json!({"next": "abc"}), &[], 2, b"1").unwrap();
        let e = adv(&mut p, &json!({"next": "abc"}), &[], 2, b"2").unwrap_err();
        assert!(e.0.contains("cursor \"abc\" a second time"), "{}", e.0);
    }

    #[test]
    fn next_url_resolves_and_detects_loops() {
        let mut p = pager(PaginationDef::NextUrl { next_url: "/next".into() });
        adv(&mut p, &json!({"next": "https://api.example.com/items?page=2"}), &[], 2, b"1").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?page=2"));
        adv(&mut p, &json!({"next": "/items?page=3"}), &[], 2, b"2").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?page=3"));
        assert!(adv(&mut p, &json!({"next": "/items?page=2"}), &[], 2, b"3").is_err());
        let mut p = pager(PaginationDef::NextUrl { next_url: "/next".into() });
        adv(&mut p, &json!({"next": null}), &[], 2, b"1").unwrap();
        assert_eq!(p.next_url(), None);
    }

    #[test]
    fn link_header_parsing() {
        let h = |v: &str| vec![("Link".to_string(), v.to_string())];
        assert_eq!(
            next_link(&h(
                r#"<https://x.test/a?page_info=p1>; rel="previous", <https://x.test/a?page_info=p2>; rel="next""#
            )),
            Some("https://x.test/a?page_info=p2".into())
        );
        assert_eq!(next_link(&h(r#"<https://x.test/a?page=1>; rel="prev""#)), None);
        assert_eq!(next_link(&h("</a?page=3>; rel=next")), Some("/a?page=3".into()));
        assert_eq!(next_link(&h(r#"<https://x.test/b>; title="x"; rel="last next""#)), Some("https://x.test/b".into()));
        let mut p = pager(PaginationDef::LinkHeader);
        adv(&mut p, &Value::Null, &h("</items?page=2>; rel=\"next\""), 2, b"").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?page=2"));
        adv(&mut p, &Value::Null, &[], 2, b"").unwrap();
        assert_eq!(p.next_url(), None);
    }

    #[test]
    fn offset_stops_on_short_or_empty_page_or_total() {
        let mut p = pager(PaginationDef::Offset { param: "offset".into(), total: None });
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&offset=0"));
        adv(&mut p, &json!([]), &[], 2, b"p1").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&offset=2"));
        adv(&mut p, &json!([]), &[], 1, b"p2").unwrap();
        assert_eq!(p.next_url(), None, "a short page after a full one ends the listing");

        let mut p = pager(PaginationDef::Offset { param: "offset".into(), total: Some("/total".into()) });
        adv(&mut p, &json!({"total": 4}), &[], 2, b"p1").unwrap();
        adv(&mut p, &json!({"total": 4}), &[], 2, b"p2").unwrap();
        assert_eq!(p.next_url(), None, "total reached");
    }

    #[test]
    fn a_short_first_page_is_confirmed_by_one_more_request() {
        // The provider capped the page at 1 record although 2 were asked for.
        let mut p = pager(PaginationDef::Offset { param: "offset".into(), total: None });
        adv(&mut p, &json!([]), &[], 1, b"p1").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&offset=1"));
        adv(&mut p, &json!([]), &[], 1, b"p2").unwrap();
        assert!(p.next_url().is_some());
        adv(&mut p, &json!([]), &[], 0, b"p3").unwrap();
        assert_eq!(p.next_url(), None);
    }

    #[test]
    fn page_numbers_and_total_pages() {
        let mut p = pager(PaginationDef::Page {
            param: "page".into(),
            first: 1,
            total_pages: Some("/meta/total_pages".into()),
        });
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&page=1"));
        adv(&mut p, &json!({"meta": {"total_pages": 2}}), &[], 2, b"p1").unwrap();
        assert_eq!(p.next_url(), Some("http://127.0.0.1:9/items?limit=2&page=2"));
        adv(&mut p, &json!({"meta": {"total_pages": 2}}), &[], 2, b"p2").unwrap();
        assert_eq!(p.next_url(), None);
    }

    #[test]
    fn the_same_page_twice_is_an_error() {
        let mut p = pager(PaginationDef::Page { param: "page".into(), first: 0, total_pages: None });
        adv(&mut p, &json!([1, 2]), &[], 2, b"[1,2]").unwrap();
        let e = adv(&mut p, &json!([1, 2]), &[], 2, b"[1,2]").unwrap_err();
        assert!(e.0.contains("same page twice"), "{}", e.0);
    }

    #[test]
    fn records_extraction() {
        let at = |s: &str| Pointer::parse(s).unwrap();
        assert_eq!(extract_records(json!({"results": [1, 2]}), &at("/results")).unwrap().len(), 2);
        assert_eq!(extract_records(json!([1]), &at("")).unwrap().len(), 1);
        assert_eq!(extract_records(json!({"a": 1}), &at("")).unwrap(), vec![json!({"a": 1})]);
        assert!(extract_records(json!({"data": null}), &at("/data")).unwrap().is_empty());
        let e = extract_records(json!({"items": []}), &at("/results")).unwrap_err();
        assert!(e.contains("no records at \"/results\"") && e.contains("items"), "{e}");
        assert!(extract_records(json!({"results": "x"}), &at("/results")).unwrap_err().contains("a string"));
    }
}
