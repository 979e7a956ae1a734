//! Streaming a listing: a helper thread fetches a page, parses it, converts its records to cells, and
//! works out the next page while the backend returns the rows of the previous one. The backend holds at
//! most the current page and one prefetched page, whatever the table's size (DESIGN decision 4).
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
use crate::connector::pager::Pager;
use crate::connector::pointer::Pointer;
use crate::connector::resolve::TableDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::retry::{self, Call};
use crate::http::wait::{panic_message, recv_interruptible, spawn_helper};
use crate::http::{self, Endpoint};

/// What to fetch.
#[derive(Debug, Clone)]
pub enum FetchKind {
    /// Follow the object's pagination from this first URL.
    List { first_url: String },
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
}

/// One page: per record, the values at `FetchSpec::record_pointers`. The backend converts them to
/// rows while the helper fetches the next page.
#[derive(Debug)]
pub struct Page {
    pub records: Vec<Vec<Option<Value>>>,
}

enum Msg {
    Page(Page, bool),
    Error(TetherError),
}

/// The backend's side of a streaming fetch. Dropping it stops the helper at its next step.
///
/// The helper hands each page over a rendezvous channel: it fetches page N+1 while the backend returns
/// the rows of page N, then blocks until the backend takes it, so no more than one page waits. Once the
/// LIMIT hint is met it parks until the backend asks for more (`more`).
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
        let (tx, rx) = mpsc::sync_channel::<Msg>(0);
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
    List(Pager),
    Get(std::vec::IntoIter<String>),
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
    let mut source = match &spec.kind {
        FetchKind::List { first_url } => Source::List(Pager::new(
            &spec.endpoint.base_url,
            first_url.clone(),
            spec.table.object.list.pagination.clone(),
        )),
        FetchKind::Get { urls } => Source::Get(urls.clone().into_iter()),
    };
    let plan = match &source {
        Source::List(pager) => Pointer::parse(&spec.table.object.list.records).ok().map(|records| {
            let page_pointers: Vec<Pointer> = pager.page_pointer().into_iter().collect();
            PagePlan::new(&records, &page_pointers, &spec.record_pointers)
        }),
        Source::Get(_) => None,
    };
    let mut rows_sent: u64 = 0;
    loop {
        requests.fetch_add(1, Ordering::Relaxed);
        let result = catch_unwind(AssertUnwindSafe(|| fetch_next(&spec, &plan, &mut source, &abandoned)))
            .unwrap_or_else(|p| Err(TetherError::Internal(format!("panic in scan helper: {}", panic_message(&*p)))));
        match result {
            Ok((page, has_more)) => {
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

fn fetch_next(
    spec: &FetchSpec,
    plan: &Option<PagePlan>,
    source: &mut Source,
    abandoned: &AtomicBool,
) -> Result<(Page, bool), TetherError> {
    let endpoint = &spec.endpoint;
    match source {
        Source::List(pager) => {
            let url = pager
                .next_url()
                .ok_or_else(|| TetherError::Internal("asked for a page past the end".into()))?
                .to_string();
            let shown = format!("GET {}", template::display_path(&url));
            let response = retry::execute(endpoint, &Call { method: "GET", url: &url, body: None }, abandoned)?;
            let plan = plan.as_ref().ok_or_else(|| TetherError::Internal("no page plan".into()))?;
            let page = if response.body.iter().all(|b| b.is_ascii_whitespace()) {
                ExtractedPage { page_values: vec![None], records: Vec::new() }
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
            let value = page.page_values.first().and_then(|v| v.as_ref());
            pager.advance(value, &response.headers, page.records.len(), &response.body).map_err(|e| {
                TetherError::BadResponse {
                    connector: endpoint.connector.clone(),
                    message: e.0,
                    detail: format!("page {} was {shown}", pager.pages()),
                }
            })?;
            Ok((Page { records: page.records }, pager.next_url().is_some()))
        }
        Source::Get(urls) => {
            let Some(url) = urls.next() else {
                return Ok((Page { records: Vec::new() }, false));
            };
            let more = urls.len() > 0;
            let shown = format!("GET {}", template::display_path(&url));
            let response = match retry::execute(endpoint, &Call { method: "GET", url: &url, body: None }, abandoned) {
                Ok(r) => r,
                Err(TetherError::Provider { status: 404 | 410, .. }) => {
                    return Ok((Page { records: Vec::new() }, more))
                }
                Err(e) => return Err(e),
            };
            let mut body = http::parse_json(endpoint, &shown, &response.body)?;
            let record_at = spec.table.object.get.as_ref().map(|g| g.record.as_str()).unwrap_or("");
            let record_at =
                Pointer::parse(record_at).map_err(|m| TetherError::Internal(format!("record pointer: {m}")))?;
            let record = if record_at.is_root() { Some(body) } else { record_at.take(&mut body) };
            let records = match record {
                Some(Value::Null) | None => Vec::new(),
                Some(r) => vec![spec.record_pointers.iter().map(|p| p.get(&r).cloned()).collect()],
            };
            Ok((Page { records }, more))
        }
    }
}
