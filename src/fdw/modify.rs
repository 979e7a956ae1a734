//! Writing: INSERT, UPDATE and DELETE send the connector's create, update and delete requests during the
//! statement, and the provider is the source of truth: a refused write fails the statement with the
//! provider's message. RETURNING reads the provider's answer through the same record mapper as scans.
//!
//! UPDATE and DELETE find their rows with the scan (pushdown as usual) and carry each row's id as a
//! junk column (`tether_id`); when RETURNING needs the old row (or an update sends the full row), the
//! whole row is carried too (`wholerow`, the name Postgres uses to complete the new row of an UPDATE),
//! so no extra request is made. Several INSERTed rows go through
//! the batch endpoint when the connector has one and there is no RETURNING (Postgres' batch insert API
//! cannot return rows).

use std::ffi::CStr;
use std::sync::Arc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgList, PgMemoryContexts};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compat;
use crate::connector::model::WriteDef;
use crate::connector::pointer::Pointer;
use crate::connector::record::{self, Converter, OutputColumn};
use crate::connector::template;
use crate::connector::writes::WriteRequest;
use crate::error::{report, OrReport, TetherError};
use crate::fdw::datum::{self, ColumnOut};
use crate::fdw::options::{self, LoadedTable};
use crate::fdw::plan::{columns_of, from_private, to_private};
use crate::http::batch::BatchAnswer;
use crate::http::parallel;
use crate::http::retry::{self, Call};
use crate::http::{wait, Endpoint, HttpResponse};

const ID_JUNK: &CStr = c"tether_id";
/// Postgres itself reads a junk column of this name to rebuild the complete new row of an UPDATE.
const ROW_JUNK: &CStr = c"wholerow";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Insert => "INSERT into",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE from",
        }
    }
}

/// What planning decided; stored in the plan as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModifyPlan {
    op: Op,
    /// Tuple indexes whose values are sent (INSERT: the listed columns; UPDATE: the changed columns,
    /// or every writable column when the connector updates the full row).
    written: Vec<usize>,
    /// Tuple indexes RETURNING reads.
    returning: Vec<usize>,
    /// The old row is carried in the `wholerow` junk column.
    whole_row: bool,
    /// COPY: its column list is not known, so NULL values are left out rather than sent.
    #[serde(default)]
    skip_nulls: bool,
}

fn cmd_op(cmd: pg_sys::CmdType::Type) -> Option<Op> {
    match cmd {
        pg_sys::CmdType::CMD_INSERT => Some(Op::Insert),
        pg_sys::CmdType::CMD_UPDATE => Some(Op::Update),
        pg_sys::CmdType::CMD_DELETE => Some(Op::Delete),
        _ => None,
    }
}

/// Position in `loaded.attrs` (= `table.columns`) of a tuple index.
fn column_at(loaded: &LoadedTable, tuple_index: usize) -> Option<usize> {
    loaded.attrs.iter().position(|a| a.index == tuple_index)
}

/// Whether the object supports the operation; the error names the object and the table.
fn check_supported(loaded: &LoadedTable, op: Op) -> Result<(), TetherError> {
    let object = &loaded.table.object;
    let (endpoint, present) = match op {
        Op::Insert => ("create", object.create.is_some()),
        Op::Update => ("update", object.update.is_some()),
        Op::Delete => ("delete", object.delete.is_some()),
    };
    if present {
        return Ok(());
    }
    let table = &loaded.table;
    Err(TetherError::Unsupported {
        message: format!(
            "cannot {} foreign table {}: object \"{}\" of connector \"{}\" has no {endpoint} endpoint{}",
            op.verb(),
            loaded.label,
            table.object_name,
            table.connector_name,
            if object.create.is_none() && object.update.is_none() && object.delete.is_none() {
                " (the table is read-only)"
            } else {
                ""
            }
        ),
        hint: None,
    })
}

/// # Safety
/// Postgres calls this as AddForeignUpdateTargets (FDW API), with a valid PlannerInfo, range table entry
/// and open target relation.
#[pg_guard]
pub unsafe extern "C-unwind" fn add_foreign_update_targets(
    root: *mut pg_sys::PlannerInfo,
    rtindex: pg_sys::Index,
    target_rte: *mut pg_sys::RangeTblEntry,
    target_relation: pg_sys::Relation,
) {
    let loaded = options::load_table((*target_relation).rd_id).or_report();
    let parse = (*root).parse;
    let Some(op) = cmd_op((*parse).commandType) else { return };
    check_supported(&loaded, op).or_report();
    let Some(id) = loaded.table.id_index() else {
        report(TetherError::Unsupported {
            message: format!(
                "cannot {} foreign table {} without its id column \"{}\", which identifies each record to the provider",
                op.verb(),
                loaded.label,
                loaded.table.object.id_column
            ),
            hint: Some(format!(
                "add the column: ALTER FOREIGN TABLE {} ADD COLUMN {} text",
                loaded.label, loaded.table.object.id_column
            )),
        });
    };
    let attr = &loaded.attrs[id];
    let var = pg_sys::makeVar(
        rtindex as _,
        (attr.index + 1) as pg_sys::AttrNumber,
        attr.type_oid,
        attr.typmod,
        pg_sys::get_typcollation(attr.type_oid),
        0,
    );
    pg_sys::add_row_identity_var(root, var, rtindex, ID_JUNK.as_ptr());
    let full_row = op == Op::Update && loaded.table.object.update.as_ref().is_some_and(|u| u.full_row);
    if !(*parse).returningList.is_null() || full_row {
        let row = pg_sys::makeWholeRowVar(target_rte, rtindex as _, 0, false);
        pg_sys::add_row_identity_var(root, row, rtindex, ROW_JUNK.as_ptr());
    }
}

/// # Safety
/// Postgres calls this as PlanForeignModify (FDW API), with a valid PlannerInfo and ModifyTable, and
/// `result_relation` one of its range table indexes.
#[pg_guard]
pub unsafe extern "C-unwind" fn plan_foreign_modify(
    root: *mut pg_sys::PlannerInfo,
    plan: *mut pg_sys::ModifyTable,
    result_relation: pg_sys::Index,
    subplan_index: std::ffi::c_int,
) -> *mut pg_sys::List {
    let rte = *(*root).simple_rte_array.add(result_relation as usize);
    let loaded = options::load_table((*rte).relid).or_report();
    let Some(op) = cmd_op((*plan).operation) else {
        report(TetherError::Unsupported {
            message: "only INSERT, UPDATE and DELETE can write to a tether table".into(),
            hint: None,
        })
    };
    check_supported(&loaded, op).or_report();
    if (*plan).onConflictAction != pg_sys::OnConflictAction::ONCONFLICT_NONE {
        report(TetherError::Unsupported {
            message: format!(
                "INSERT ... ON CONFLICT is not supported on foreign table {}: the provider decides what conflicts, and Tether cannot check and write atomically",
                loaded.label
            ),
            hint: Some(
                "INSERT and catch unique_violation (SQLSTATE 23505, raised when the provider reports a duplicate) in a PL/pgSQL EXCEPTION block, or UPDATE the existing record by id"
                    .into(),
            ),
        });
    }
    let natts = loaded.natts;
    let full_row = op == Op::Update && loaded.table.object.update.as_ref().is_some_and(|u| u.full_row);
    let written: Vec<usize> = match op {
        Op::Insert => columns_of(compat::assigned_columns(root, rte, true), natts),
        Op::Update if full_row => loaded
            .attrs
            .iter()
            .enumerate()
            .filter(|(i, _)| record::unwritable_reason(&loaded.table.columns[*i]).is_none())
            .map(|(_, a)| a.index)
            .collect(),
        Op::Update => columns_of(compat::assigned_columns(root, rte, false), natts),
        Op::Delete => Vec::new(),
    };
    if !(op == Op::Update && full_row) {
        for &t in &written {
            let Some(c) = column_at(&loaded, t) else { continue };
            let column = &loaded.table.columns[c];
            if let Some(why) = record::unwritable_reason(column) {
                let hint = match op {
                    Op::Insert => {
                        "leave it out of the INSERT's column list (RETURNING gives the value the provider chose)"
                    }
                    _ => "leave it out of the SET list",
                };
                report(TetherError::Option {
                    message: format!(
                        "column \"{}\" of foreign table {} cannot be written: {why}",
                        column.name, loaded.label
                    ),
                    hint: Some(hint.into()),
                    state: crate::error::SqlState::FeatureNotSupported,
                });
            }
        }
    }
    let returning_lists = PgList::<pg_sys::Node>::from_pg((*plan).returningLists);
    let returning = match returning_lists.get_ptr(subplan_index as usize) {
        Some(list) if !list.is_null() => {
            let mut attrs: *mut pg_sys::Bitmapset = std::ptr::null_mut();
            pg_sys::pull_varattnos(list, result_relation, &mut attrs);
            columns_of(attrs, natts)
        }
        _ => Vec::new(),
    };
    let whole_row = op != Op::Insert && (!(*(*root).parse).returningList.is_null() || full_row);
    to_private(&ModifyPlan { op, written, returning, whole_row, skip_nulls: false })
}

/// Per-statement state of a modify, in the query's memory context.
struct ModifyState {
    loaded: LoadedTable,
    plan: ModifyPlan,
    /// None under EXPLAIN without ANALYZE.
    endpoint: Option<Arc<Endpoint>>,
    id_attno: pg_sys::AttrNumber,
    row_attno: pg_sys::AttrNumber,
    /// The relation's row type, to read the old row carried in `tether_row`.
    tupdesc: pg_sys::TupleDesc,
    /// RETURNING: records to cells, and cells to datums: (tuple index, column index, conversion),
    /// parallel to the converter's outputs.
    converter: Converter,
    returning: Vec<(usize, usize, ColumnOut)>,
    row_cxt: pg_sys::MemoryContext,
    /// Rows of this statement the provider has accepted (not undone if the statement fails later).
    written_rows: u64,
    requests: u64,
}

unsafe fn modify_state<'a>(rinfo: *mut pg_sys::ResultRelInfo) -> &'a mut ModifyState {
    let p = (*rinfo).ri_FdwState as *mut ModifyState;
    if p.is_null() {
        report(TetherError::Internal("foreign modify state missing".into()));
    }
    &mut *p
}

/// # Safety
/// Postgres calls this as BeginForeignModify (FDW API), with valid executor nodes and the fdw_private
/// `plan_foreign_modify` made.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    eflags: std::ffi::c_int,
) {
    let plan: ModifyPlan = from_private(fdw_private);
    let loaded = options::load_table((*(*rinfo).ri_RelationDesc).rd_id).or_report();
    begin(mtstate, rinfo, loaded, plan, eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0);
}

/// COPY FROM into a foreign table (or routing into a foreign partition): every writable column with a
/// value is sent, one create per row.
///
/// # Safety
/// Postgres calls this as BeginForeignInsert (FDW API), with a valid ModifyTableState (COPY makes one) and
/// ResultRelInfo.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_insert(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
) {
    let loaded = options::load_table((*(*rinfo).ri_RelationDesc).rd_id).or_report();
    check_supported(&loaded, Op::Insert).or_report();
    let written = loaded
        .attrs
        .iter()
        .enumerate()
        .filter(|(i, _)| record::unwritable_reason(&loaded.table.columns[*i]).is_none())
        .map(|(_, a)| a.index)
        .collect();
    let plan = ModifyPlan { op: Op::Insert, written, returning: Vec::new(), whole_row: false, skip_nulls: true };
    begin(mtstate, rinfo, loaded, plan, false);
}

/// # Safety
/// Postgres calls this as EndForeignInsert (FDW API); it reads nothing.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_insert(_estate: *mut pg_sys::EState, _rinfo: *mut pg_sys::ResultRelInfo) {}

unsafe fn begin(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    loaded: LoadedTable,
    plan: ModifyPlan,
    explain_only: bool,
) {
    let estate = (*mtstate).ps.state;
    let endpoint = if explain_only {
        None
    } else {
        let user = compat::result_relation_user(rinfo, estate);
        Some(options::endpoint(&loaded, user).or_report())
    };
    let (mut id_attno, mut row_attno) = (0, 0);
    if plan.op != Op::Insert {
        let subplan = (*(*mtstate).ps.lefttree).plan;
        id_attno = pg_sys::ExecFindJunkAttributeInTlist((*subplan).targetlist, ID_JUNK.as_ptr());
        if id_attno <= 0 {
            report(TetherError::Internal("the id junk column is missing from the plan".into()));
        }
        if plan.whole_row {
            row_attno = pg_sys::ExecFindJunkAttributeInTlist((*subplan).targetlist, ROW_JUNK.as_ptr());
        }
    }
    let mut outputs = Vec::new();
    let mut returning = Vec::new();
    for &t in &plan.returning {
        let Some(c) = column_at(&loaded, t) else { continue };
        let attr = &loaded.attrs[c];
        let target = datum::target_for(attr, loaded.table.columns[c].separator.clone());
        outputs.push(OutputColumn { column: c, target: target.clone() });
        returning.push((t, c, ColumnOut::new(attr, target)));
    }
    let converter = Converter::new(loaded.table.clone(), &loaded.label, &outputs);
    let row_cxt = pg_sys::AllocSetContextCreateExtended(
        (*estate).es_query_cxt,
        c"tether modify row".as_ptr(),
        pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
        pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
        pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
    );
    let state = ModifyState {
        loaded,
        plan,
        endpoint,
        id_attno,
        row_attno,
        tupdesc: (*(*rinfo).ri_RelationDesc).rd_att,
        converter,
        returning,
        row_cxt,
        written_rows: 0,
        requests: 0,
    };
    let ptr = PgMemoryContexts::For((*estate).es_query_cxt).leak_and_drop_on_delete(state);
    (*rinfo).ri_FdwState = ptr as *mut std::ffi::c_void;
}

impl ModifyState {
    /// The JSON values of the written columns of a row, as (column index, value).
    unsafe fn written_values(&self, slot: *mut pg_sys::TupleTableSlot) -> Vec<(usize, Value)> {
        pg_sys::slot_getallattrs(slot);
        let mut out = Vec::with_capacity(self.plan.written.len());
        for &t in &self.plan.written {
            let Some(c) = column_at(&self.loaded, t) else { continue };
            let attr = &self.loaded.attrs[c];
            let column = &self.loaded.table.columns[c];
            let value = *(*slot).tts_values.add(t);
            let isnull = *(*slot).tts_isnull.add(t);
            if isnull && self.plan.skip_nulls {
                continue;
            }
            let json = datum::json_value(value, isnull, attr.type_oid, column.separator.as_deref())
                .map_err(|m| TetherError::Option {
                    message: format!("the value of column \"{}\" cannot be sent to the provider: {m}", column.name),
                    hint: None,
                    state: crate::error::SqlState::InvalidParameterValue,
                })
                .or_report();
            out.push((c, json));
        }
        out
    }

    /// Send one write and wait for it interruptibly. A failure after earlier rows were written says so.
    fn send(&mut self, req: WriteRequest) -> Result<HttpResponse, TetherError> {
        let endpoint = self.endpoint.clone().ok_or_else(|| TetherError::Internal("write under EXPLAIN".into()))?;
        let body = req.encoded_body();
        self.requests += 1;
        let result = wait::run(
            move |abandoned| {
                let call = Call {
                    method: &req.method,
                    url: &req.url,
                    body: body.as_ref().map(|(b, t)| (b.as_slice(), *t)),
                    headers: &[],
                    read_only: false,
                    limit: None,
                    raw: false,
                };
                retry::execute(&endpoint, &call, abandoned)
            },
            &mut || {
                pgrx::check_for_interrupts!();
            },
        );
        result.map_err(|e| self.note_written(e))
    }

    /// Create `rows` (rows `first_row`.. of the statement) one per request, `concurrency` of them in
    /// flight (an object without a batch endpoint). When some fail, the statement fails with the first
    /// failure in row order, and its DETAIL says how many of the rows sent together were created (the
    /// provider keeps them).
    fn create_concurrently(&mut self, rows: &[Vec<(usize, Value)>], first_row: u64) {
        let endpoint =
            self.endpoint.clone().ok_or_else(|| TetherError::Internal("write under EXPLAIN".into())).or_report();
        let mut requests = Vec::with_capacity(rows.len());
        for values in rows {
            let Some(req) = self.loaded.table.create_request(values).or_report() else {
                report(TetherError::Internal("the create endpoint is missing".into()))
            };
            requests.push(parallel::Request::write(req, Vec::new()));
        }
        let n = requests.len();
        self.requests += n as u64;
        let concurrency = self.loaded.table.concurrency as usize;
        let results = wait::run(
            move |abandoned| Ok(parallel::execute_all(&endpoint, &requests, concurrency, abandoned)),
            &mut || {
                pgrx::check_for_interrupts!();
            },
        )
        .or_report();
        let created = results.iter().filter(|r| r.is_ok()).count() as u64;
        let first_failure = results.into_iter().enumerate().find_map(|(i, r)| r.err().map(|e| (i, e)));
        let Some((i, e)) = first_failure else {
            self.written_rows += n as u64;
            return;
        };
        let earlier = self.written_rows;
        self.written_rows += created;
        let note = format!(
            "row {} of this statement failed; of the {n} rows sent together (rows {first_row} to {}, {concurrency} at a time), {created} {} created{}, and the provider keeps {} although the statement fails",
            first_row + i as u64,
            first_row + n as u64 - 1,
            if created == 1 { "was" } else { "were" },
            if earlier > 0 { format!(" besides {earlier} earlier row(s) of this statement") } else { String::new() },
            if created + earlier == 1 { "it" } else { "them" },
        );
        report(e.with_detail_note(&note))
    }

    /// Add to an error's DETAIL that earlier rows of the statement stay written at the provider.
    fn note_written(&self, e: TetherError) -> TetherError {
        if self.written_rows == 0 {
            return e;
        }
        let note = format!(
            "{} earlier row(s) of this statement were already written to the provider; the provider keeps them although the statement fails",
            self.written_rows
        );
        e.with_detail_note(&note)
    }

    /// Send the write of one row and count it. With `missing_ok`, a record that went away since the
    /// scan found it (404, 410) is None: like a row deleted concurrently, it is skipped.
    fn write_row(&mut self, req: Option<WriteRequest>, missing_ok: bool) -> Option<HttpResponse> {
        let Some(req) = req else { report(TetherError::Internal("the write endpoint is missing".into())) };
        match self.send(req) {
            Ok(resp) => {
                self.written_rows += 1;
                Some(resp)
            }
            Err(TetherError::Provider { status: 404 | 410, .. }) if missing_ok => None,
            Err(e) => report(e),
        }
    }

    /// RETURNING of an INSERT or UPDATE: the row as written, overlaid with the provider's record. When
    /// the response is not the record (`refetch`), the record is read by id through the get endpoint.
    /// `known_id` is the id of an updated row.
    unsafe fn return_written(
        &mut self,
        slot: *mut pg_sys::TupleTableSlot,
        resp: &HttpResponse,
        def: Option<WriteDef>,
        known_id: Option<&str>,
    ) {
        if self.plan.returning.is_empty() {
            return;
        }
        let Some(def) = def else { return };
        let record = if def.refetch {
            let id = match &def.id {
                Some(at) => self.response_value(resp, at).map(crate::connector::mapping::into_text),
                None => known_id.map(str::to_string),
            };
            let Some(id) = id else {
                report(TetherError::BadResponse {
                    connector: self.loaded.table.connector_name.clone(),
                    message: format!(
                        "the provider accepted the write to {} but its answer has no record id at \"{}\", so RETURNING cannot read the record",
                        self.loaded.label,
                        def.id.as_deref().unwrap_or("")
                    ),
                    detail: format!("HTTP {} answer: {}", resp.status, String::from_utf8_lossy(&resp.body)),
                })
            };
            self.refetch(&id)
        } else {
            self.response_record(resp, &def.record)
        };
        let row = copy_row(self, slot);
        self.fill_returning(slot, Some(row), record.as_ref());
    }

    /// The value at `at` in a JSON response.
    fn response_value(&self, resp: &HttpResponse, at: &str) -> Option<Value> {
        let doc: Value = serde_json::from_slice(&resp.body).ok()?;
        Pointer::parse(at).ok()?.get(&doc).cloned().filter(|v| !v.is_null())
    }

    /// Read a just-written record for RETURNING (the write already counted; a failure here fails the
    /// statement with the write done, and says so).
    fn refetch(&mut self, id: &str) -> Option<Value> {
        let table = self.loaded.table.clone();
        let fields = table.fields(&self.returning.iter().map(|(_, c, _)| *c).collect::<Vec<_>>());
        let req = table.refetch_request(id, &fields).or_report()?;
        let resp = self.send(req).or_report();
        let record_at = table.object.get.as_ref().map(|g| g.record.clone()).unwrap_or_default();
        self.response_record(&resp, &record_at)
    }

    /// The written record in a response (the write definition's `record` pointer), if any.
    fn response_record(&self, resp: &HttpResponse, record_at: &str) -> Option<Value> {
        if resp.body.iter().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        let doc: Value = serde_json::from_slice(&resp.body).ok()?;
        let at = Pointer::parse(record_at).ok()?;
        at.get(&doc).cloned().filter(|v| v.is_object())
    }

    /// Fill `slot` for RETURNING: `base` (the row as written, or the old row of a DELETE), overlaid with
    /// what the provider answered. Datums live in the per-row context until the next row.
    unsafe fn fill_returning(
        &mut self,
        slot: *mut pg_sys::TupleTableSlot,
        base: Option<(Vec<pg_sys::Datum>, Vec<bool>)>,
        record: Option<&Value>,
    ) {
        let natts = self.loaded.natts;
        let (mut values, mut nulls) =
            base.unwrap_or_else(|| (vec![pg_sys::Datum::from(0usize); natts], vec![true; natts]));
        if let Some(record) = record {
            let cells = self.converter.row_from_record(record).or_report();
            let table = &self.loaded.table;
            let label = &self.loaded.label;
            let returning = &mut self.returning;
            PgMemoryContexts::For(self.row_cxt).switch_to(|_| {
                for (cell, (t, c, out)) in cells.into_iter().zip(returning.iter_mut()) {
                    let column = &table.columns[*c];
                    if column.pointer.get(record).is_none() {
                        continue; // the provider did not send it: keep the old or written value
                    }
                    let on_error = |e| record::conversion_error(table, label, &column.name, &column.pointer, e, None);
                    match out.datum(cell, &on_error) {
                        Some(d) => {
                            values[*t] = d;
                            nulls[*t] = false;
                        }
                        None => nulls[*t] = true,
                    }
                }
            });
        }
        pg_sys::ExecClearTuple(slot);
        std::ptr::copy_nonoverlapping(values.as_ptr(), (*slot).tts_values, natts);
        std::ptr::copy_nonoverlapping(nulls.as_ptr(), (*slot).tts_isnull, natts);
        pg_sys::ExecStoreVirtualTuple(slot);
    }

    /// The record id carried in the plan slot.
    unsafe fn row_id(&self, plan_slot: *mut pg_sys::TupleTableSlot) -> String {
        let mut isnull = false;
        let d = pg_sys::slot_getattr(plan_slot, self.id_attno as i32, &mut isnull);
        if isnull {
            report(TetherError::Unsupported {
                message: format!(
                    "a row of foreign table {} has no id; it cannot be updated or deleted",
                    self.loaded.label
                ),
                hint: None,
            });
        }
        let id_col = self.loaded.table.id_index().unwrap_or(0);
        datum::param_text(d, self.loaded.attrs[id_col].type_oid)
    }

    /// The old row carried in the plan slot (copied into the per-row context).
    unsafe fn old_row(&self, plan_slot: *mut pg_sys::TupleTableSlot) -> Option<(Vec<pg_sys::Datum>, Vec<bool>)> {
        if self.row_attno <= 0 {
            return None;
        }
        let mut isnull = false;
        let d = pg_sys::slot_getattr(plan_slot, self.row_attno as i32, &mut isnull);
        if isnull {
            return None;
        }
        let natts = self.loaded.natts;
        let mut values = vec![pg_sys::Datum::from(0usize); natts];
        let mut nulls = vec![true; natts];
        PgMemoryContexts::For(self.row_cxt).switch_to(|_| {
            let td = pg_sys::pg_detoast_datum(d.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
            let mut tuple: pg_sys::HeapTupleData = std::mem::zeroed();
            tuple.t_len = varsize(td as *const u8);
            tuple.t_data = td;
            pg_sys::heap_deform_tuple(&mut tuple, self.tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
        });
        Some((values, nulls))
    }
}

/// VARSIZE of a 4-byte-header varlena (a detoasted composite datum).
unsafe fn varsize(p: *const u8) -> u32 {
    let header = std::ptr::read_unaligned(p as *const u32);
    (header >> 2) & 0x3FFF_FFFF
}

/// # Safety
/// Postgres calls this as ExecForeignInsert (FDW API), with the ResultRelInfo `begin` set up and a slot
/// of the relation's row type.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    _plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let st = modify_state(rinfo);
    pg_sys::MemoryContextReset(st.row_cxt);
    let values = st.written_values(slot);
    let req = st.loaded.table.create_request(&values).or_report();
    let Some(resp) = st.write_row(req, false) else { return std::ptr::null_mut() };
    let def = st.loaded.table.object.create.clone();
    st.return_written(slot, &resp, def, None);
    slot
}

/// The slot's values copied into the per-row context (the slot is cleared before RETURNING fills it).
unsafe fn copy_row(st: &ModifyState, slot: *mut pg_sys::TupleTableSlot) -> (Vec<pg_sys::Datum>, Vec<bool>) {
    let natts = st.loaded.natts;
    let mut values = vec![pg_sys::Datum::from(0usize); natts];
    let mut nulls = vec![true; natts];
    PgMemoryContexts::For(st.row_cxt).switch_to(|_| {
        let tuple = pg_sys::ExecCopySlotHeapTuple(slot);
        pg_sys::heap_deform_tuple(tuple, st.tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
    });
    (values, nulls)
}

/// # Safety
/// Postgres calls this as ExecForeignUpdate (FDW API), with the ResultRelInfo `begin` set up, the new
/// row's slot and the plan slot carrying the junk columns.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_update(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let st = modify_state(rinfo);
    pg_sys::MemoryContextReset(st.row_cxt);
    let id = st.row_id(plan_slot);
    let values = st.written_values(slot);
    let req = st.loaded.table.update_request(&id, &values).or_report();
    let Some(resp) = st.write_row(req, true) else { return std::ptr::null_mut() };
    // With RETURNING the plan carries `wholerow`, so Postgres filled the unchanged columns of `slot`.
    let def = st.loaded.table.object.update.clone();
    st.return_written(slot, &resp, def, Some(&id));
    slot
}

/// # Safety
/// Postgres calls this as ExecForeignDelete (FDW API), with the ResultRelInfo `begin` set up, the
/// RETURNING slot and the plan slot carrying the junk columns.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_delete(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    let st = modify_state(rinfo);
    pg_sys::MemoryContextReset(st.row_cxt);
    let id = st.row_id(plan_slot);
    let req = st.loaded.table.delete_request(&id).or_report();
    if st.write_row(req, true).is_none() {
        return std::ptr::null_mut();
    }
    if !st.plan.returning.is_empty() {
        let old = st.old_row(plan_slot);
        st.fill_returning(slot, old, None);
    }
    slot
}

/// # Safety
/// Postgres calls this as GetForeignModifyBatchSize (FDW API), after BeginForeignModify or
/// BeginForeignInsert on the same ResultRelInfo.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_modify_batch_size(rinfo: *mut pg_sys::ResultRelInfo) -> std::ffi::c_int {
    let st = modify_state(rinfo);
    let triggers = !(*rinfo).ri_TrigDesc.is_null()
        && ((*(*rinfo).ri_TrigDesc).trig_insert_after_row || (*(*rinfo).ri_TrigDesc).trig_insert_before_row);
    if !(*rinfo).ri_projectReturning.is_null() || triggers || st.plan.op != Op::Insert {
        return 1;
    }
    let table = &st.loaded.table;
    match table.batch_size() {
        Some(size) => size.min(i32::MAX as u64) as std::ffi::c_int,
        // No batch endpoint: the rows of a batch go one per request, `concurrency` in flight.
        None if table.object.create.is_some() => table.concurrency.min(i32::MAX as u64) as std::ffi::c_int,
        None => 1,
    }
}

/// # Safety
/// Postgres calls this as ExecForeignBatchInsert (FDW API), with `*num_slots` valid slots in `slots`.
/// The executor passes as many plan slots, but COPY FROM (PostgreSQL 16 and later) passes NULL,
/// which the one-row path does not allow for: it reads `*_plan_slots`.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_batch_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slots: *mut *mut pg_sys::TupleTableSlot,
    _plan_slots: *mut *mut pg_sys::TupleTableSlot,
    num_slots: *mut std::ffi::c_int,
) -> *mut *mut pg_sys::TupleTableSlot {
    let n = *num_slots as usize;
    if n == 1 {
        // A one-row batch (a single-row INSERT, or the last row of a statement): the plain create gives
        // the provider's own answer and error for that row.
        let slot = exec_foreign_insert(_estate, rinfo, *slots, *_plan_slots);
        *slots = slot;
        return slots;
    }
    let st = modify_state(rinfo);
    let first_row = st.written_rows + 1;
    let rows: Vec<Vec<(usize, Value)>> = (0..n).map(|i| st.written_values(*slots.add(i))).collect();
    if st.loaded.table.object.batch_create.is_none() {
        st.create_concurrently(&rows, first_row);
        return slots;
    }
    let traces: Vec<String> = (0..n as u64).map(|i| format!("row-{}", first_row + i)).collect();
    let req = st.loaded.table.batch_create_request(&rows, &traces, false).or_report();
    let Some(req) = req else { report(TetherError::Internal("no batch endpoint".into())) };
    let shown = format!("{} {}", req.method, template::display_path(&req.url));
    let resp = st.send(req).or_report();
    let batch = BatchAnswer {
        connector: &st.loaded.table.connector_name,
        label: &st.loaded.label,
        message_at: st.endpoint.as_ref().map(|e| e.errors.message.as_slice()).unwrap_or_default(),
        rows: n,
        first_row,
        shown: &shown,
        earlier_rows: st.written_rows,
    };
    if let Err(e) = st.loaded.table.object.batch_create.as_ref().map_or(Ok(()), |def| batch.check(def, &resp)) {
        report(e);
    }
    st.written_rows += n as u64;
    slots
}

/// # Safety
/// Postgres calls this as EndForeignModify (FDW API); it reads nothing.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_modify(_estate: *mut pg_sys::EState, _rinfo: *mut pg_sys::ResultRelInfo) {}

/// # Safety
/// Postgres calls this as IsForeignRelUpdatable (FDW API), with an open relation.
#[pg_guard]
pub unsafe extern "C-unwind" fn is_foreign_rel_updatable(rel: pg_sys::Relation) -> std::ffi::c_int {
    let Ok(loaded) = options::load_table((*rel).rd_id) else { return 0 };
    let o = &loaded.table.object;
    let mut bits = 0;
    if o.create.is_some() {
        bits |= 1 << pg_sys::CmdType::CMD_INSERT;
    }
    if o.update.is_some() {
        bits |= 1 << pg_sys::CmdType::CMD_UPDATE;
    }
    if o.delete.is_some() {
        bits |= 1 << pg_sys::CmdType::CMD_DELETE;
    }
    bits
}

/// # Safety
/// Postgres calls this as ExplainForeignModify (FDW API), with the ResultRelInfo `begin` set up and a
/// valid ExplainState.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_modify(
    _mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    _fdw_private: *mut pg_sys::List,
    _subplan_index: std::ffi::c_int,
    es: *mut pg_sys::ExplainState,
) {
    let st = modify_state(rinfo);
    let table = &st.loaded.table;
    let (def, with_id) = match st.plan.op {
        Op::Insert => (table.object.create.as_ref(), false),
        Op::Update => (table.object.update.as_ref(), true),
        Op::Delete => (table.object.delete.as_ref(), true),
    };
    let mut text = match def {
        Some(d) => {
            let url = format!("{}{}", table.base_url, d.path.replace("{path}", &table.object_name));
            format!(
                "{} {}{}",
                d.method,
                template::display_path(&url),
                if with_id { " (one request per row)" } else { "" }
            )
        }
        None => "none".to_string(),
    };
    let batch =
        if st.plan.op == Op::Insert && (*rinfo).ri_BatchSize > 1 { table.object.batch_create.as_ref() } else { None };
    if let Some(b) = batch {
        let url = format!("{}{}", table.base_url, b.path.replace("{path}", &table.object_name));
        text =
            format!("{} {} (batches of up to {} rows)", b.method, template::display_path(&url), (*rinfo).ri_BatchSize);
    } else if st.plan.op == Op::Insert && (*rinfo).ri_BatchSize > 1 {
        text = format!("{text} (one row per request, up to {} in flight)", (*rinfo).ri_BatchSize);
    }
    crate::fdw::scan::explain_text("Tether Request", &text, es);
    if (*es).analyze {
        pg_sys::ExplainPropertyInteger(c"Tether Requests".as_ptr(), std::ptr::null(), st.requests as i64, es);
    }
}
