//! Streaming a listing: a helper thread fetches a page, parses it, converts its records to cells, and
//! works out the next page while the backend returns the rows of the previous one. The backend holds at
//! most the current page and one prefetched page, whatever the table's size.
//!
//! With a LIMIT hint, no page is fetched ahead once enough rows were delivered; the next one is fetched
//! only if the executor still asks for rows (a local filter may have dropped some), so results stay
//! correct and no request is wasted.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;

use serde_json::Value;

use crate::connector::extract::{ExtractError, ExtractedPage, PagePlan};
use crate::connector::listing::ListFetch;
use crate::connector::model::{BodyEncoding, RateLimitDef};
use crate::connector::pager::{Pager, PagerPosition};
use crate::connector::pointer::Pointer;
use crate::connector::record;
use crate::connector::request::{self, Request};
use crate::connector::table::TableDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::retry::{self, Call};
use crate::http::wait::{panic_message, recv_interruptible, spawn_helper};
use crate::http::{self, Endpoint};

/// What to fetch.
#[derive(Debug, Clone)]
pub enum FetchKind {
    /// Follow a listing's pagination from its first request.
    List(Box<ListFetch>),
    /// One get request per URL; a 404 is no row.
    Get { urls: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct FetchSpec {
    pub endpoint: Arc<Endpoint>,
    pub table: Arc<TableDef>,
    pub kind: FetchKind,
    /// Values to read from each record (`Converter::pointers`); nothing else is materialised.
    pub record_pointers: Vec<Pointer>,
    /// Stop fetching ahead once this many records were delivered.
    pub limit_hint: Option<u64>,
    /// Continue a listing from a saved position instead of its first page.
    pub resume: Option<PagerPosition>,
    /// Fetch at most this many pages; `Page::next` tells where the listing would continue (mirror
    /// refreshes apply and save one page per transaction; `tether.request_pages(max_pages => n)`).
    pub max_pages: Option<u64>,
    /// Refuse a page whose JSON would take more than this once parsed (`http::budget`): set for
    /// `tether.request_pages`, whose records are whole JSON values.
    pub max_parsed: Option<usize>,
    /// Pages the helper may have ready beyond the one it hands over (0: it fetches one page ahead and
    /// waits). A mirror refresh sets it to keep fetching while it merges a batch.
    pub prefetch_pages: usize,
}

/// One page: per record, the values at `FetchSpec::record_pointers`. The backend converts them to
/// rows while the helper fetches the next page.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Vec<Option<Value>>>,
    /// Where the listing continues after this page (None at its end, and for id lookups).
    pub next: Option<PagerPosition>,
    /// How many records match, when the provider says (a search's total).
    pub total: Option<u64>,
}

impl Page {
    fn of(records: Vec<Vec<Option<Value>>>) -> Page {
        Page { records, next: None, total: None }
    }
}

enum Msg {
    Page(Page, bool),
    Error(TetherError),
}

/// The backend's side of a streaming fetch. Dropping it stops the helper at its next step.
///
/// The helper hands each page over a channel of `prefetch_pages` places (a rendezvous by default): it
/// fetches page N+1 while the backend returns the rows of page N, then blocks until the backend takes
/// it, so no more than one page (or `prefetch_pages` + 1) waits. Once the LIMIT hint is met it parks
/// until the backend asks for more (`more`).
pub struct PageStream {
    /// Set when the scan is dropped: the helper stops retrying and exits.
    abandoned: Arc<AtomicBool>,
    more: Option<Sender<()>>,
    rx: Receiver<Msg>,
    finished: bool,
    /// The helper met the LIMIT hint and waits for a `more` before fetching again.
    parked: bool,
    rows_received: u64,
    /// Requests the helper has sent, prefetches included.
    requests: Arc<AtomicU64>,
    limit_hint: Option<u64>,
}

impl PageStream {
    /// Start the helper, which fetches the first page at once.
    pub fn start(spec: FetchSpec) -> Result<PageStream, TetherError> {
        let (more_tx, more_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::sync_channel::<Msg>(spec.prefetch_pages);
        let limit_hint = spec.limit_hint;
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = abandoned.clone();
        spawn_helper("tether-scan", move || helper(spec, more_rx, tx, counter, flag))?;
        Ok(PageStream {
            abandoned,
            more: Some(more_tx),
            rx,
            finished: false,
            parked: false,
            rows_received: 0,
            requests,
            limit_hint,
        })
    }

    /// Requests sent so far, prefetches included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The next page, None at the end. `check` runs every ~50 ms while waiting (CHECK_FOR_INTERRUPTS).
    pub fn next_page(&mut self, check: &mut dyn FnMut()) -> Result<Option<Page>, TetherError> {
        if self.finished {
            return Ok(None);
        }
        if self.parked {
            // The executor wants rows beyond the LIMIT hint (a local filter dropped some).
            self.parked = false;
            if self.more.as_ref().is_none_or(|m| m.send(()).is_err()) {
                self.finished = true;
                return Err(TetherError::Internal("the scan helper thread is gone".into()));
            }
        }
        match recv_interruptible(&self.rx, check) {
            Some(Msg::Page(page, more)) => {
                self.rows_received += page.records.len() as u64;
                if !more {
                    self.finished = true;
                    self.more = None;
                } else if self.limit_hint.is_some_and(|l| self.rows_received >= l) {
                    self.parked = true;
                }
                Ok(Some(page))
            }
            Some(Msg::Error(e)) => {
                self.finished = true;
                self.more = None;
                Err(e)
            }
            None => {
                self.finished = true;
                Err(TetherError::Internal("the scan helper thread ended without an answer".into()))
            }
        }
    }
}

enum Source {
    List(Box<Listing>),
    Get(std::vec::IntoIter<String>),
}

/// A listing being paged through.
struct Listing {
    pager: Pager,
    plan: PagePlan,
    /// Index in the page values of the total a search reports, with the most it can return.
    total_check: Option<(usize, u64)>,
    /// Index in the record values of the record id, for `last_id` pagination.
    last_id_at: Option<usize>,
    /// The endpoint's own rate limit (a search endpoint's).
    limit: Option<(String, RateLimitDef)>,
    /// For a child object: how each parent record becomes rows.
    elements: Option<Elements>,
    encoding: BodyEncoding,
}

/// Rows from the elements of an array in each parent record. The page plan reads the array and the
/// copied parent values from each parent; `record_pointers` then read each element.
struct Elements {
    /// Where copied parent values go in each element, in the order the page plan reads them (after the
    /// array).
    copy_to: Vec<Pointer>,
    record_pointers: Vec<Pointer>,
}

impl Elements {
    fn rows(&self, parents: Vec<Vec<Option<Value>>>) -> Vec<Vec<Option<Value>>> {
        let mut rows = Vec::new();
        for mut parent in parents {
            let Some(Value::Array(items)) = parent.first_mut().and_then(Option::take) else { continue };
            for mut item in items {
                for (to, value) in self.copy_to.iter().zip(parent.iter().skip(1)) {
                    if let Some(v) = value {
                        if to.get(&item).is_none_or(Value::is_null) && item.is_object() {
                            let _ = to.set(&mut item, v.clone());
                        }
                    }
                }
                rows.push(self.record_pointers.iter().map(|p| p.get(&item).cloned()).collect());
            }
        }
        rows
    }
}

impl Drop for PageStream {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }
}

fn helper(
    spec: FetchSpec,
    more: Receiver<()>,
    tx: SyncSender<Msg>,
    requests: Arc<AtomicU64>,
    abandoned: Arc<AtomicBool>,
) {
    let mut spec = spec;
    let mut source = match listing(&mut spec) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Msg::Error(e));
            return;
        }
    };
    let mut rows_sent: u64 = 0;
    let mut pages_sent: u64 = 0;
    loop {
        requests.fetch_add(1, Ordering::Relaxed);
        let result = catch_unwind(AssertUnwindSafe(|| fetch_next(&spec, &mut source, &abandoned)))
            .unwrap_or_else(|p| Err(TetherError::Internal(format!("panic in scan helper: {}", panic_message(&*p)))));
        match result {
            Ok((page, has_more)) => {
                pages_sent += 1;
                let has_more = has_more && spec.max_pages.is_none_or(|m| pages_sent < m);
                rows_sent += page.records.len() as u64;
                // Blocks until the backend takes the page; fails when the scan was dropped.
                if tx.send(Msg::Page(page, has_more)).is_err() || !has_more {
                    return;
                }
                if spec.limit_hint.is_some_and(|l| rows_sent >= l) && more.recv().is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Msg::Error(e));
                return;
            }
        }
    }
}

/// What the helper pages through. For `last_id` pagination the record id is read from each record
/// too (appended to the record pointers when the query does not read it).
fn listing(spec: &mut FetchSpec) -> Result<Source, TetherError> {
    let fetch = match &spec.kind {
        FetchKind::Get { urls } => return Ok(Source::Get(urls.clone().into_iter())),
        FetchKind::List(fetch) => (**fetch).clone(),
    };
    let bad_pointer = |what: &str, m: String| TetherError::Internal(format!("{what} pointer: {m}"));
    let pager = match spec.resume.take() {
        Some(at) => Pager::resume(&spec.endpoint.base_url, fetch.first, fetch.pagination, at),
        None => Pager::new(&spec.endpoint.base_url, fetch.first, fetch.pagination),
    };
    let records = Pointer::parse(&fetch.records).map_err(|m| bad_pointer("records", m))?;
    let mut page_pointers: Vec<Pointer> = pager.page_pointer().into_iter().collect();
    let total_check = match &fetch.total_check {
        Some((at, max)) => {
            page_pointers.push(Pointer::parse(at).map_err(|m| bad_pointer("total", m))?);
            Some((page_pointers.len() - 1, *max))
        }
        None => None,
    };
    let last_id_at = if pager.needs_last_id() {
        let id = record::record_id_pointer(&spec.table).ok_or_else(|| {
            TetherError::option(
                format!("object \"{}\" pages by record id but has no id column", spec.table.object_name),
                None,
            )
        })?;
        Some(match spec.record_pointers.iter().position(|p| *p == id) {
            Some(i) => i,
            None => {
                spec.record_pointers.push(id);
                spec.record_pointers.len() - 1
            }
        })
    } else {
        None
    };
    let (plan, elements) = match &spec.table.object.list.elements {
        None => (PagePlan::new(&records, &page_pointers, &spec.record_pointers), None),
        Some(def) => {
            let parse = |p: &str| Pointer::parse(p).map_err(|m| bad_pointer("elements", m));
            let mut parent_pointers = vec![parse(&def.array)?];
            let mut copy_to = Vec::new();
            for (to, from) in &def.copy {
                copy_to.push(parse(to)?);
                parent_pointers.push(parse(from)?);
            }
            let plan = PagePlan::new(&records, &page_pointers, &parent_pointers);
            (plan, Some(Elements { copy_to, record_pointers: spec.record_pointers.clone() }))
        }
    };
    let limit = fetch.rate_limit.map(|r| {
        let server_key = spec.endpoint.rate_limit.as_ref().map(|(k, _)| k.as_str()).unwrap_or(&spec.endpoint.base_url);
        (format!("search {server_key}"), r)
    });
    let encoding = fetch.encoding;
    Ok(Source::List(Box::new(Listing { pager, plan, total_check, last_id_at, limit, elements, encoding })))
}

/// How many values a page plan reads besides records (an empty body has none of them).
fn page_pointers_len(pager: &Pager, total_check: &Option<(usize, u64)>) -> usize {
    usize::from(pager.page_pointer().is_some()) + usize::from(total_check.is_some())
}

/// Send a listing request: a GET, or a search POST with its body (a read, so always retried).
fn send(
    endpoint: &Endpoint,
    req: &Request,
    limit: &Option<(String, RateLimitDef)>,
    encoding: BodyEncoding,
    abandoned: &AtomicBool,
) -> Result<http::HttpResponse, TetherError> {
    let body = req.body.as_ref().map(|b| request::encode_body(b, encoding));
    let call = Call {
        method: &req.method,
        url: &req.url,
        body: body.as_ref().map(|(b, t)| (b.as_slice(), *t)),
        headers: &req.headers,
        read_only: true,
        limit: limit.as_ref(),
        raw: false,
    };
    retry::execute(endpoint, &call, abandoned)
}

fn fetch_next(spec: &FetchSpec, source: &mut Source, abandoned: &AtomicBool) -> Result<(Page, bool), TetherError> {
    let endpoint = &spec.endpoint;
    match source {
        Source::List(listing) => {
            let Listing { pager, plan, total_check, last_id_at, limit, elements, encoding } = &mut **listing;
            let req = pager
                .next_request()
                .ok_or_else(|| TetherError::Internal("asked for a page past the end".into()))?
                .clone();
            let shown = format!("{} {}", req.method, template::display_path(&req.url));
            let response = send(endpoint, &req, limit, *encoding, abandoned)?;
            if let Some(budget) = spec.max_parsed {
                let estimate = http::budget::parsed_size(&response.body);
                if estimate > budget {
                    return Err(http::budget::too_large(
                        &endpoint.connector,
                        &shown,
                        response.body.len(),
                        estimate,
                        budget,
                    ));
                }
            }
            let mut page = if response.body.iter().all(|b| b.is_ascii_whitespace()) {
                ExtractedPage { page_values: vec![None; page_pointers_len(pager, total_check)], records: Vec::new() }
            } else {
                plan.parse(&response.body).map_err(|e| match e {
                    ExtractError::Json(e) => http::malformed(endpoint, &shown, &response.body, &e),
                    ExtractError::Records(m) => TetherError::BadResponse {
                        connector: endpoint.connector.clone(),
                        message: format!("{m} ({shown})"),
                        detail: "the table option records sets where the records are".into(),
                    },
                })?
            };
            let mut total = None;
            if let Some((at, max)) = total_check {
                total = page.page_values.get(*at).and_then(|v| v.as_ref()).and_then(|v| v.as_u64());
                if let Some(total) = total.filter(|t| *t > *max) {
                    return Err(TetherError::TooManyResults {
                        message: format!(
                            "[{}] the search ({shown}) matches {total} records, more than the {max} the provider's search endpoint can return",
                            endpoint.connector
                        ),
                        hint: "add conditions (a narrower range on a date or number column) so that fewer records match; a query without conditions on searchable columns pages through the whole list instead"
                            .into(),
                    });
                }
            }
            let last_id = last_id_at.and_then(|i| page.records.last_mut().and_then(|r| r.get(i).cloned().flatten()));
            let value =
                if pager.page_pointer().is_some() { page.page_values.first().and_then(|v| v.as_ref()) } else { None };
            pager.advance(value, &response.headers, page.records.len(), &response.body, last_id.as_ref()).map_err(
                |e| TetherError::BadResponse {
                    connector: endpoint.connector.clone(),
                    message: e.0,
                    detail: format!("page {} was {shown}", pager.pages()),
                },
            )?;
            let records = match elements {
                Some(el) => el.rows(page.records),
                None => page.records,
            };
            Ok((Page { records, next: pager.position(), total }, pager.next_request().is_some()))
        }
        Source::Get(urls) => {
            let Some(url) = urls.next() else {
                return Ok((Page::of(Vec::new()), false));
            };
            let more = urls.len() > 0;
            let shown = format!("GET {}", template::display_path(&url));
            let response = match retry::execute(endpoint, &Call::get(&url), abandoned) {
                Ok(r) => r,
                Err(TetherError::Provider { status: 404 | 410, .. }) => return Ok((Page::of(Vec::new()), more)),
                Err(e) => return Err(e),
            };
            let mut body = http::parse_json(endpoint, &shown, &response.body)?;
            let record_at = spec.table.object.get.as_ref().map(|g| g.record.as_str()).unwrap_or("");
            let record_at =
                Pointer::parse(record_at).map_err(|m| TetherError::Internal(format!("record pointer: {m}")))?;
            let record = if record_at.is_root() { Some(body) } else { record_at.take(&mut body) };
            let gone =
                spec.table.object.get.as_ref().and_then(|g| g.gone.as_deref()).and_then(|p| Pointer::parse(p).ok());
            let is_gone = |r: &Value| gone.as_ref().is_some_and(|p| p.get(r) == Some(&Value::Bool(true)));
            let records = match record {
                Some(Value::Null) | None => Vec::new(),
                Some(r) if is_gone(&r) => Vec::new(),
                Some(r) => vec![spec.record_pointers.iter().map(|p| p.get(&r).cloned()).collect()],
            };
            Ok((Page::of(records), more))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn elements_become_rows_with_the_parent_values_copied_in() {
        let p = |s: &str| Pointer::parse(s).unwrap();
        let el = Elements {
            copy_to: vec![p("/customer_id")],
            record_pointers: vec![p("/id"), p("/customer_id"), p("/city")],
        };
        let parents = vec![
            vec![
                Some(json!([{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Rome", "customer_id": 99}])),
                Some(json!(7)),
            ],
            vec![Some(json!([])), Some(json!(8))],
            vec![None, Some(json!(9))],
            vec![Some(json!([{"id": 3}])), Some(json!(10))],
        ];
        let rows = el.rows(parents);
        assert_eq!(
            rows,
            vec![
                vec![Some(json!(1)), Some(json!(7)), Some(json!("Oslo"))],
                vec![Some(json!(2)), Some(json!(99)), Some(json!("Rome"))],
                vec![Some(json!(3)), Some(json!(10)), None],
            ]
        );
    }
}
