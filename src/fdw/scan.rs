//! Executing a foreign scan: parameter values are computed when the scan starts (and again on every
//! rescan), a `PageStream` fetches pages on a helper thread, and each row's cells become datums in a
//! per-row memory context. The state lives in the query's memory context and is dropped with it, also
//! when the query fails, which stops the helper.

use std::sync::Arc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgList, PgMemoryContexts};

use crate::compat;
use crate::connector::mapping::Cell;
use crate::connector::record::{self, Converter, OutputColumn};
use crate::error::{report, OrReport, TetherError};
use crate::fdw::datum::{self, ColumnOut};
use crate::fdw::options::{self, LoadedTable};
use crate::fdw::plan;
use crate::fdw::pushdown::{self, ScanPlan};
use crate::http::pages::{FetchKind, FetchSpec, PageStream};
use crate::http::Endpoint;

struct ScanState {
    loaded: LoadedTable,
    plan: ScanPlan,
    /// None under EXPLAIN without ANALYZE (no credentials are needed, no request is sent).
    endpoint: Option<Arc<Endpoint>>,
    outputs: Vec<OutputColumn>,
    /// Tuple index and datum conversion, parallel to `outputs`.
    columns: Vec<(usize, ColumnOut)>,
    /// Position in `outputs` of the id column, to name the record in conversion errors.
    id_output: Option<usize>,
    params: Vec<*mut pg_sys::ExprState>,
    /// Records to cells, on the backend thread while the helper fetches the next page.
    converter: Converter,
    stream: Option<PageStream>,
    records: std::vec::IntoIter<Vec<Option<serde_json::Value>>>,
    /// The current scan has no more rows (or needs no request: a NULL id).
    done: bool,
    tuple_cxt: pg_sys::MemoryContext,
    requests_before: u64,
    relid: pg_sys::Oid,
    /// This scan is a mirror refresh's batch read (`fdw::page`): report where the listing goes on after
    /// each page, and how many pages it read (at most `batch_max`; the stream's requests before the
    /// batch, when it continues a parked one, are not the batch's).
    batch: bool,
    batch_pages: u64,
    batch_max: u64,
    batch_requests_base: u64,
}

impl ScanState {
    fn requests(&self) -> u64 {
        self.requests_before + self.stream.as_ref().map(|s| s.requests()).unwrap_or(0)
    }

    fn stop(&mut self) {
        if let Some(s) = self.stream.take() {
            self.requests_before += s.requests();
        }
        self.records = Vec::new().into_iter();
        self.done = false;
    }
}

unsafe fn state<'a>(node: *mut pg_sys::ForeignScanState) -> &'a mut ScanState {
    let p = (*node).fdw_state as *mut ScanState;
    if p.is_null() {
        report(TetherError::Internal("foreign scan state missing".into()));
    }
    &mut *p
}

/// # Safety
/// Postgres calls this as BeginForeignScan (FDW API), with a valid ForeignScanState whose plan is a
/// ForeignScan made by `get_foreign_plan`.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(node: *mut pg_sys::ForeignScanState, eflags: std::ffi::c_int) {
    let scan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let plan = plan::scan_plan(scan);
    let relid = (*(*node).ss.ss_currentRelation).rd_id;
    let loaded = options::load_table(relid).or_report();
    let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
    let endpoint =
        if explain_only { None } else { Some(options::endpoint(&loaded, compat::scan_user(node)).or_report()) };

    let mut outputs = Vec::new();
    let mut columns = Vec::new();
    for column in plan::needed_columns(&loaded, &plan.needed) {
        let attr = &loaded.attrs[column];
        let target = datum::target_for(attr, loaded.table.columns[column].separator.clone());
        outputs.push(OutputColumn { column, target: target.clone() });
        columns.push((attr.index, ColumnOut::new(attr, target)));
    }

    let id_output = loaded.table.id_index().and_then(|id| outputs.iter().position(|o: &OutputColumn| o.column == id));
    let mut params = Vec::new();
    if !explain_only {
        let exprs = PgList::<pg_sys::Expr>::from_pg((*scan).fdw_exprs);
        for e in exprs.iter_ptr() {
            params.push(pg_sys::ExecInitExpr(e, node as *mut pg_sys::PlanState));
        }
    }

    let estate = (*node).ss.ps.state;
    let tuple_cxt = pg_sys::AllocSetContextCreateExtended(
        (*estate).es_query_cxt,
        c"tether scan row".as_ptr(),
        pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
        pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
        pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
    );
    let converter = Converter::new(loaded.table.clone(), &loaded.label, &outputs);
    let state = ScanState {
        converter,
        loaded,
        plan,
        endpoint,
        outputs,
        columns,
        id_output,
        params,
        stream: None,
        records: Vec::new().into_iter(),
        done: false,
        tuple_cxt,
        requests_before: 0,
        relid,
        batch: false,
        batch_pages: 0,
        batch_max: u64::MAX,
        batch_requests_base: 0,
    };
    let ptr = PgMemoryContexts::For((*estate).es_query_cxt).leak_and_drop_on_delete(state);
    (*node).fdw_state = ptr as *mut std::ffi::c_void;
}

/// Values of the pushed conditions for this (re)scan: one list per fdw_expr, None for SQL NULL.
unsafe fn eval_params(node: *mut pg_sys::ForeignScanState, st: &ScanState) -> Vec<Option<Vec<String>>> {
    let econtext = (*node).ss.ps.ps_ExprContext;
    let many_at = |i: usize| {
        st.plan.lookup.as_ref().is_some_and(|l| l.expr == i && l.many)
            || st.plan.filters.iter().any(|f| f.expr == i && f.many)
    };
    let mut out = Vec::with_capacity(st.params.len());
    for (i, expr) in st.params.iter().enumerate() {
        let mut isnull = false;
        let value = pg_sys::ExecEvalExprSwitchContext(*expr, econtext, &mut isnull);
        let type_oid = pg_sys::Oid::from(st.plan.param_types[i]);
        out.push(if isnull {
            None
        } else if many_at(i) {
            Some(datum::array_param_texts(value, type_oid))
        } else {
            Some(vec![datum::param_text(value, type_oid)])
        });
    }
    out
}

unsafe fn start_stream(node: *mut pg_sys::ForeignScanState, st: &mut ScanState) {
    let Some(endpoint) = st.endpoint.clone() else {
        report(TetherError::Internal("scan started under EXPLAIN".into()));
    };
    let values = eval_params(node, st);
    let table = st.loaded.table.clone();
    let fields = table.fields(&st.outputs.iter().map(|o| o.column).collect::<Vec<_>>());
    match pushdown::fetch(&table, &st.plan, &fields, &plan::param_kinds(&st.plan), &values).or_report() {
        None => st.done = true,
        Some(kind) => {
            let claimed = match &kind {
                FetchKind::List(_) => crate::fdw::page::claim(st.relid.to_u32()),
                FetchKind::Get { .. } => None,
            };
            st.batch = claimed.is_some();
            // A batch reads on the stream the batch before parked, if it continues from where that one
            // was saved; else a new stream, which keeps up to a batch of pages ready beyond the one it
            // hands over (fetching while the refresh merges), for as long as the listing goes on.
            let relid = st.relid.to_u32();
            let parked = claimed.as_ref().and_then(|c| crate::fdw::page::take_parked(relid, c.resume.as_ref()));
            let (stream, reported) = match (parked, claimed) {
                (Some((stream, reported)), Some(c)) => {
                    st.batch_max = c.max_pages;
                    (stream, reported)
                }
                (_, claimed) => {
                    let (resume, prefetch_pages) = match &claimed {
                        Some(c) => {
                            st.batch_max = c.max_pages;
                            (c.resume.clone(), (c.max_pages as usize).saturating_sub(1))
                        }
                        None => (None, 0),
                    };
                    let spec = FetchSpec {
                        endpoint,
                        table,
                        kind,
                        record_pointers: st.converter.pointers().to_vec(),
                        limit_hint: st.plan.limit,
                        resume,
                        max_pages: None,
                        max_parsed: None,
                        prefetch_pages,
                    };
                    (PageStream::start(spec).or_report(), 0)
                }
            };
            st.batch_requests_base = reported;
            st.stream = Some(stream);
        }
    }
}

/// # Safety
/// Postgres calls this as IterateForeignScan (FDW API), with the node `begin_foreign_scan` set up.
#[pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    let st = state(node);
    let slot = (*node).ss.ss_ScanTupleSlot;
    pg_sys::ExecClearTuple(slot);
    loop {
        if let Some(record) = st.records.next() {
            let cells = st.converter.row(record).or_report();
            store_row(st, slot, cells);
            return slot;
        }
        if st.done {
            return slot;
        }
        if st.stream.is_none() {
            start_stream(node, st);
            continue;
        }
        let stream = st.stream.as_mut().expect("stream present");
        match stream
            .next_page(&mut || {
                pgrx::check_for_interrupts!();
            })
            .or_report()
        {
            Some(page) => {
                if st.batch {
                    st.batch_pages += 1;
                    let sent = st.stream.as_ref().map_or(0, |s| s.requests());
                    let requests = sent.saturating_sub(st.batch_requests_base);
                    crate::fdw::page::report(crate::fdw::page::Outcome {
                        next: page.next.clone(),
                        pages: st.batch_pages,
                        total: page.total,
                        requests,
                    });
                    // The batch is full: its stream is parked, still fetching, for the next batch.
                    if st.batch_pages >= st.batch_max {
                        if let (Some(next), Some(stream)) = (page.next, st.stream.take()) {
                            crate::fdw::page::park(st.relid.to_u32(), next, stream, sent);
                        }
                        st.done = true;
                    }
                }
                st.records = page.records.into_iter()
            }
            None => st.done = true,
        }
    }
}

unsafe fn store_row(st: &mut ScanState, slot: *mut pg_sys::TupleTableSlot, cells: Vec<Cell>) {
    pg_sys::MemoryContextReset(st.tuple_cxt);
    let natts = st.loaded.natts;
    let values = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
    let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
    nulls.fill(true);
    let table = st.loaded.table.clone();
    let label = st.loaded.label.clone();
    let record_id = st.id_output.and_then(|i| match &cells[i] {
        Cell::Text(s) | Cell::Input(s) | Cell::Numeric(s) => Some(s.clone()),
        Cell::Int(n) => Some(n.to_string()),
        _ => None,
    });
    let outputs = &st.outputs;
    let columns = &mut st.columns;
    PgMemoryContexts::For(st.tuple_cxt).switch_to(|_| {
        for (i, cell) in cells.into_iter().enumerate() {
            let (index, out) = &mut columns[i];
            let column = &table.columns[outputs[i].column];
            let on_error =
                |e| record::conversion_error(&table, &label, &column.name, &column.pointer, e, record_id.as_deref());
            if let Some(d) = out.datum(cell, &on_error) {
                values[*index] = d;
                nulls[*index] = false;
            }
        }
    });
    pg_sys::ExecStoreVirtualTuple(slot);
}

/// # Safety
/// Postgres calls this as ReScanForeignScan (FDW API), with the node `begin_foreign_scan` set up.
#[pg_guard]
pub unsafe extern "C-unwind" fn rescan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    state(node).stop();
}

/// # Safety
/// Postgres calls this as EndForeignScan (FDW API), with a valid ForeignScanState.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    if !(*node).fdw_state.is_null() {
        state(node).stop();
    }
}

/// One line of EXPLAIN output, with any credential this process knows scrubbed from it.
///
/// # Safety
/// `es` must be the ExplainState Postgres passed to the Explain callback running on this (backend) thread.
pub(crate) unsafe fn explain_text(label: &str, value: &str, es: *mut pg_sys::ExplainState) {
    let l = std::ffi::CString::new(label).unwrap_or_default();
    let v = std::ffi::CString::new(crate::http::redact::scrub(value)).unwrap_or_default();
    pg_sys::ExplainPropertyText(l.as_ptr(), v.as_ptr(), es);
}

/// # Safety
/// Postgres calls this as ExplainForeignScan (FDW API), with the node `begin_foreign_scan` set up and a
/// valid ExplainState.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    let st = state(node);
    let table = &st.loaded.table;
    explain_text(
        "Tether Object",
        &format!("{} (connector {}, server {})", table.object_name, table.connector_name, st.loaded.server_name),
        es,
    );
    explain_text("Tether Request", &st.plan.request_preview, es);
    if !st.plan.pushed_sql.is_empty() {
        explain_text("Tether Pushdown", &st.plan.pushed_sql.join(" AND "), es);
    }
    if let Some(limit) = st.plan.limit {
        explain_text("Tether Limit", &limit.to_string(), es);
    }
    if (*es).analyze {
        let l = c"Tether Requests";
        pg_sys::ExplainPropertyInteger(l.as_ptr(), std::ptr::null(), st.requests() as i64, es);
    }
}
