//! Planning a foreign scan: which WHERE conditions the provider can evaluate (id lookups through the get
//! endpoint, filters the connector declares, conditions written in the list's query language or sent to
//! its search endpoint), a LIMIT hint, costs, and the `ScanPlan` stored in the plan
//! (serialized, so prepared statements and plan copies stay valid). Only what is safe is pushed, and every
//! condition is still checked locally, so results are always correct.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{is_a, PgList, PgMemoryContexts};
use serde::{Deserialize, Serialize};

use crate::connector::model::FilterOp;
use crate::connector::request::ValueKind;
use crate::error::{report, OrReport, TetherError};
use crate::fdw::datum;
use crate::fdw::options::{load_table, LoadedTable};
use crate::fdw::pushdown::{self, Clause, IdLookup, PushedFilter, Route, ScanPlan};

/// Cost of one HTTP request relative to Postgres' cost units (seq_page_cost = 1): a request is slow.
const REQUEST_COST: f64 = 100.0;
/// Row estimate for a listing with no pushed-down condition.
const DEFAULT_ROWS: f64 = 1000.0;

/// Planner state kept on the RelOptInfo between callbacks.
struct RelState {
    loaded: LoadedTable,
    relid: pg_sys::Oid,
    plan: ScanPlan,
    /// Value expressions, in fdw_exprs order.
    exprs: Vec<*mut pg_sys::Expr>,
    rows: f64,
    pages: f64,
}

/// Strip binary-compatible casts (varchar column compared with text).
unsafe fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    while !node.is_null() && is_a(node, pg_sys::NodeTag::T_RelabelType) {
        node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
    }
    node
}

/// The table column (index into `loaded.attrs`) a node reads, if it is a plain column of this rel.
unsafe fn column_of(node: *mut pg_sys::Node, relid: pg_sys::Index, loaded: &LoadedTable) -> Option<usize> {
    let node = strip_relabel(node);
    if node.is_null() || !is_a(node, pg_sys::NodeTag::T_Var) {
        return None;
    }
    let var = node as *mut pg_sys::Var;
    if (*var).varno as pg_sys::Index != relid || (*var).varlevelsup != 0 || (*var).varattno <= 0 {
        return None;
    }
    let index = (*var).varattno as usize - 1;
    loaded.attrs.iter().position(|a| a.index == index)
}

/// A value the executor can compute before the scan: no columns, nothing volatile, no subplans.
unsafe fn is_value(node: *mut pg_sys::Node) -> bool {
    !node.is_null()
        && !pg_sys::contain_var_clause(node)
        && !pg_sys::contain_volatile_functions(node)
        && !pg_sys::contain_subplans(node)
}

unsafe fn opname(opno: pg_sys::Oid) -> String {
    let p = pg_sys::get_opname(opno);
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn op_from_name(name: &str, commuted: bool) -> Option<FilterOp> {
    Some(match (name, commuted) {
        ("=", _) => FilterOp::Eq,
        ("<", false) | (">", true) => FilterOp::Lt,
        ("<=", false) | (">=", true) => FilterOp::Le,
        (">", false) | ("<", true) => FilterOp::Gt,
        (">=", false) | ("<=", true) => FilterOp::Ge,
        _ => return None,
    })
}

/// A condition in a form Tether may push: column, operator, value expression.
struct Candidate {
    column: usize,
    op: FilterOp,
    value: *mut pg_sys::Expr,
    many: bool,
}

unsafe fn bool_const(value: bool) -> *mut pg_sys::Expr {
    pg_sys::makeConst(pg_sys::BOOLOID, -1, pg_sys::InvalidOid, 1, pg_sys::Datum::from(value), false, true)
        as *mut pg_sys::Expr
}

unsafe fn candidate(clause: *mut pg_sys::Expr, relid: pg_sys::Index, loaded: &LoadedTable) -> Option<Candidate> {
    let node = clause as *mut pg_sys::Node;
    if is_a(node, pg_sys::NodeTag::T_OpExpr) {
        let op = clause as *mut pg_sys::OpExpr;
        let args = PgList::<pg_sys::Node>::from_pg((*op).args);
        if args.len() != 2 {
            return None;
        }
        let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
        let name = opname((*op).opno);
        if let (Some(column), true) = (column_of(left, relid, loaded), is_value(right)) {
            return Some(Candidate {
                column,
                op: op_from_name(&name, false)?,
                value: right as *mut pg_sys::Expr,
                many: false,
            });
        }
        if let (Some(column), true) = (column_of(right, relid, loaded), is_value(left)) {
            return Some(Candidate {
                column,
                op: op_from_name(&name, true)?,
                value: left as *mut pg_sys::Expr,
                many: false,
            });
        }
        return None;
    }
    if is_a(node, pg_sys::NodeTag::T_ScalarArrayOpExpr) {
        let op = clause as *mut pg_sys::ScalarArrayOpExpr;
        if !(*op).useOr || opname((*op).opno) != "=" {
            return None;
        }
        let args = PgList::<pg_sys::Node>::from_pg((*op).args);
        let (left, right) = (args.get_ptr(0)?, args.get_ptr(1)?);
        let column = column_of(left, relid, loaded)?;
        if !is_value(right) {
            return None;
        }
        return Some(Candidate { column, op: FilterOp::In, value: right as *mut pg_sys::Expr, many: true });
    }
    // `WHERE flag` and `WHERE NOT flag` (the planner turns `flag = true` into the former).
    if is_a(node, pg_sys::NodeTag::T_Var) {
        let column = column_of(node, relid, loaded)?;
        if loaded.attrs[column].type_oid == pg_sys::BOOLOID {
            return Some(Candidate { column, op: FilterOp::Eq, value: bool_const(true), many: false });
        }
        return None;
    }
    if is_a(node, pg_sys::NodeTag::T_BoolExpr) {
        let b = clause as *mut pg_sys::BoolExpr;
        if (*b).boolop != pg_sys::BoolExprType::NOT_EXPR {
            return None;
        }
        let args = PgList::<pg_sys::Node>::from_pg((*b).args);
        let column = column_of(args.get_ptr(0)?, relid, loaded)?;
        if loaded.attrs[column].type_oid == pg_sys::BOOLOID {
            return Some(Candidate { column, op: FilterOp::Eq, value: bool_const(false), many: false });
        }
    }
    None
}

/// Deparse a clause of range table entry `rti` for EXPLAIN. The deparse context knows this one
/// relation, as range table entry 1, so the clause's Vars are renumbered on a copy first. Run-time
/// parameters (an outer row's value in a nested loop) are printed as `$n`: the context has no plan
/// to find where they come from (PostgreSQL 18 looks for it, and fails without one), so on the copy
/// they become plain numbered parameters.
unsafe fn deparse(clause: *mut pg_sys::Expr, rti: pg_sys::Index, relid: pg_sys::Oid, alias: &str) -> String {
    let alias = CString::new(alias).unwrap_or_default();
    let ctx = pg_sys::deparse_context_for(alias.as_ptr(), relid);
    let copy = pg_sys::copyObjectImpl(clause as *const std::ffi::c_void) as *mut pg_sys::Node;
    if rti != 1 {
        pg_sys::ChangeVarNodes(copy, rti as i32, 1, 0);
    }
    numbered_params(copy, std::ptr::null_mut());
    let p = pg_sys::deparse_expression(copy, ctx, false, false);
    CStr::from_ptr(p).to_string_lossy().into_owned()
}

/// Expression walker: every executor parameter of the tree becomes an external one with the same
/// number, which deparses as `$n` without a plan.
///
/// # Safety
/// `node` must be NULL or an expression tree that may be changed (a copy).
unsafe extern "C-unwind" fn numbered_params(node: *mut pg_sys::Node, context: *mut std::ffi::c_void) -> bool {
    if node.is_null() {
        return false;
    }
    if (*node).type_ == pg_sys::NodeTag::T_Param {
        let param = node as *mut pg_sys::Param;
        if (*param).paramkind == pg_sys::ParamKind::PARAM_EXEC {
            (*param).paramkind = pg_sys::ParamKind::PARAM_EXTERN;
        }
        return false;
    }
    pg_sys::expression_tree_walker(node, Some(numbered_params), context)
}

/// The type of a value expression, or of its elements for arrays.
unsafe fn param_type(value: *mut pg_sys::Expr, many: bool) -> pg_sys::Oid {
    let t = pg_sys::exprType(value as *mut pg_sys::Node);
    if many {
        pg_sys::get_element_type(t)
    } else {
        t
    }
}

/// Request values of a Const, for the EXPLAIN preview; None for anything computed at run time.
unsafe fn const_values(value: *mut pg_sys::Expr, many: bool) -> Option<Vec<String>> {
    if !is_a(value as *mut pg_sys::Node, pg_sys::NodeTag::T_Const) {
        return None;
    }
    let c = value as *mut pg_sys::Const;
    if (*c).constisnull {
        return Some(Vec::new());
    }
    let t = param_type(value, many);
    Some(if many { datum::array_param_texts((*c).constvalue, t) } else { vec![datum::param_text((*c).constvalue, t)] })
}

fn alias_of(loaded: &LoadedTable) -> String {
    loaded.label.rsplit('.').next().unwrap_or("t").to_string()
}

unsafe fn classify(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    loaded: LoadedTable,
    relid: pg_sys::Oid,
) -> RelState {
    let rti = (*baserel).relid;
    let table = loaded.table.clone();
    let mut plan = ScanPlan::default();
    let mut exprs: Vec<*mut pg_sys::Expr> = Vec::new();
    let mut all_pushed = true;
    let alias = alias_of(&loaded);
    let mut id_count: Option<usize> = None;

    let mut candidates: Vec<(*mut pg_sys::Expr, Candidate)> = Vec::new();
    let mut clauses: Vec<Clause> = Vec::new();
    let conditions = PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo);
    for ri in conditions.iter_ptr() {
        let clause = (*ri).clause;
        let Some(c) = candidate(clause, rti, &loaded) else {
            all_pushed = false;
            continue;
        };
        let column_type = loaded.attrs[c.column].type_oid;
        clauses.push(Clause {
            column: c.column,
            op: c.op,
            many: c.many,
            kind: datum::value_kind(param_type(c.value, c.many)),
            scalar: pg_sys::get_element_type(column_type) == pg_sys::InvalidOid
                && column_type != pg_sys::JSONOID
                && column_type != pg_sys::JSONBOID,
        });
        candidates.push((clause, c));
    }
    for ((clause, c), route) in candidates.into_iter().zip(pushdown::classify(&table, &clauses)) {
        let Some(route) = route else {
            all_pushed = false;
            continue;
        };
        match route {
            Route::Lookup => {
                plan.lookup = Some(IdLookup { expr: exprs.len(), many: c.many });
                id_count = const_values(c.value, c.many).map(|v| v.len());
            }
            Route::Via(via) => {
                plan.filters.push(PushedFilter { column: c.column, op: c.op, via, expr: exprs.len(), many: c.many })
            }
        }
        plan.param_types.push(param_type(c.value, c.many).to_u32());
        exprs.push(c.value);
        plan.pushed_sql.push(deparse(clause, rti, relid, &alias));
    }

    // With conditions left to Postgres, small pages would only cost more requests.
    plan.limit = if all_pushed { limit_hint(root) } else { None };

    // Row and page estimates drive the costs.
    let page_size = table.page_size(plan.limit).unwrap_or(100).max(1) as f64;
    let (rows, pages) = match &plan.lookup {
        Some(IdLookup { many: false, .. }) => (1.0, 1.0),
        Some(IdLookup { many: true, .. }) => {
            let n = id_count.map(|n| n as f64).unwrap_or(10.0);
            (n, n)
        }
        None => {
            let mut rows = if plan.filters.is_empty() { DEFAULT_ROWS } else { DEFAULT_ROWS / 10.0 };
            if let Some(l) = plan.limit {
                rows = rows.min(l as f64);
            }
            (rows, (rows / page_size).ceil().max(1.0))
        }
    };

    RelState { loaded, relid, plan, exprs, rows, pages }
}

/// Table column indexes (into `attrs` / `table.columns`) for tuple indexes.
pub fn needed_columns(loaded: &LoadedTable, needed: &[usize]) -> Vec<usize> {
    needed.iter().filter_map(|n| loaded.attrs.iter().position(|a| a.index == *n)).collect()
}

/// LIMIT (plus OFFSET) of a query when it applies directly to this scan's rows. Only a hint: the scan
/// requests smaller pages and stops fetching ahead, but still fetches more if the executor asks.
unsafe fn limit_hint(root: *mut pg_sys::PlannerInfo) -> Option<u64> {
    let parse = (*root).parse;
    if parse.is_null() || (*parse).limitCount.is_null() {
        return None;
    }
    let q = &*parse;
    if !q.groupClause.is_null()
        || q.hasAggs
        || q.hasWindowFuncs
        || !q.distinctClause.is_null()
        || !q.sortClause.is_null()
        || !q.setOperations.is_null()
        || q.hasTargetSRFs
        || !q.havingQual.is_null()
        || q.limitOption != pg_sys::LimitOption::LIMIT_OPTION_COUNT
    {
        return None;
    }
    if pg_sys::bms_membership((*root).all_baserels) != pg_sys::BMS_Membership::BMS_SINGLETON {
        return None;
    }
    let const_value = |node: *mut pg_sys::Node| -> Option<Option<i64>> {
        if node.is_null() {
            return Some(None);
        }
        let n = pg_sys::estimate_expression_value(root, node);
        if !is_a(n, pg_sys::NodeTag::T_Const) {
            return None;
        }
        let c = n as *mut pg_sys::Const;
        if (*c).constisnull {
            return Some(None);
        }
        Some(Some((*c).constvalue.value() as i64))
    };
    let count = const_value(q.limitCount)??;
    let offset = const_value(q.limitOffset)?.unwrap_or(0);
    Some((count.max(0) as u64).saturating_add(offset.max(0) as u64))
}

/// # Safety
/// Postgres calls this as GetForeignRelSize (FDW API), with a valid PlannerInfo and RelOptInfo.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    foreigntableid: pg_sys::Oid,
) {
    let loaded = load_table(foreigntableid).or_report();
    let state = classify(root, baserel, loaded, foreigntableid);
    (*baserel).rows = state.rows;
    let ptr = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(state);
    (*baserel).fdw_private = ptr as *mut std::ffi::c_void;
}

unsafe fn rel_state<'a>(baserel: *mut pg_sys::RelOptInfo) -> &'a mut RelState {
    let p = (*baserel).fdw_private as *mut RelState;
    if p.is_null() {
        report(TetherError::Internal("planner state missing".into()));
    }
    &mut *p
}

/// # Safety
/// Postgres calls this as GetForeignPaths (FDW API), after GetForeignRelSize on the same RelOptInfo.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
) {
    let state = rel_state(baserel);
    let startup = REQUEST_COST;
    let total = REQUEST_COST * state.pages + state.rows * pg_sys::cpu_tuple_cost;
    let path = crate::compat::foreign_scan_path(root, baserel, startup, total);
    pg_sys::add_path(baserel, path as *mut pg_sys::Path);
}

/// Tuple indexes the query reads: the target list and every restriction (all are rechecked locally).
unsafe fn needed_attrs(baserel: *mut pg_sys::RelOptInfo, natts: usize) -> Vec<usize> {
    let mut attrs: *mut pg_sys::Bitmapset = std::ptr::null_mut();
    let relid = (*baserel).relid;
    pg_sys::pull_varattnos((*(*baserel).reltarget).exprs as *mut pg_sys::Node, relid, &mut attrs);
    let clauses = PgList::<pg_sys::RestrictInfo>::from_pg((*baserel).baserestrictinfo);
    for ri in clauses.iter_ptr() {
        pg_sys::pull_varattnos((*ri).clause as *mut pg_sys::Node, relid, &mut attrs);
    }
    columns_of(attrs, natts)
}

/// Tuple indexes (0-based) of the attribute numbers in a bitmapset built by pull_varattnos (offset by
/// FirstLowInvalidHeapAttributeNumber), sorted; a whole-row reference means every column.
///
/// # Safety
/// `set` must be NULL or a valid Bitmapset.
pub unsafe fn columns_of(set: *mut pg_sys::Bitmapset, natts: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut member = -1;
    loop {
        member = pg_sys::bms_next_member(set, member);
        if member < 0 {
            break;
        }
        let attno = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
        if attno == 0 {
            return (0..natts).collect();
        }
        if attno > 0 {
            out.push(attno as usize - 1);
        }
    }
    out
}

/// # Safety
/// Postgres calls this as GetForeignPlan (FDW API), with the RelOptInfo GetForeignRelSize saw and valid
/// lists.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    _root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    _foreigntableid: pg_sys::Oid,
    _best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    let state = rel_state(baserel);
    state.plan.needed = needed_attrs(baserel, state.loaded.natts);
    let local = pg_sys::extract_actual_clauses(scan_clauses, false);
    let mut fdw_exprs = PgList::<pg_sys::Expr>::new();
    for e in &state.exprs {
        fdw_exprs.push(*e);
    }
    state.plan.request_preview = refresh_preview(state);
    pg_sys::make_foreignscan(
        tlist,
        local,
        (*baserel).relid,
        fdw_exprs.into_pg(),
        to_private(&state.plan),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        outer_plan,
    )
}

/// The EXPLAIN preview; it depends on the needed columns (the fields parameter), known only here.
unsafe fn refresh_preview(state: &RelState) -> String {
    let many = |i: usize| {
        state.plan.lookup.as_ref().is_some_and(|l| l.expr == i && l.many)
            || state.plan.filters.iter().any(|f| f.expr == i && f.many)
    };
    // A value known only at run time is shown as EXPLAIN shows the expression (`$0`, `now()`).
    let values: Vec<Result<Vec<String>, String>> = state
        .exprs
        .iter()
        .enumerate()
        .map(|(i, e)| const_values(*e, many(i)).ok_or_else(|| deparse(*e, 1, state.relid, &alias_of(&state.loaded))))
        .collect();
    let fields = state.loaded.table.fields(&needed_columns(&state.loaded, &state.plan.needed));
    pushdown::preview(&state.loaded.table, &state.plan, &fields, &param_kinds(&state.plan), &values)
}

/// How each fdw_expr's values compare, from their types.
pub fn param_kinds(plan: &ScanPlan) -> Vec<ValueKind> {
    plan.param_types.iter().map(|t| datum::value_kind(pg_sys::Oid::from(*t))).collect()
}

/// A plan's Tether state as fdw_private: one String node holding JSON, so plans can be copied and
/// cached (prepared statements) like any other node tree.
pub fn to_private<T: Serialize>(value: &T) -> *mut pg_sys::List {
    let json = serde_json::to_string(value).map_err(|e| TetherError::Internal(e.to_string())).or_report();
    let text = CString::new(json).map_err(|e| TetherError::Internal(e.to_string())).or_report();
    let mut private = PgList::<pg_sys::Node>::new();
    // SAFETY: backend thread, while planning; `text` is a NUL-terminated CString alive across the call.
    // pstrdup copies it into the current memory context (the planner's, which holds the plan being built)
    // and makeString wraps that copy in a String node; both palloc, which raises an ERROR rather than
    // returning NULL. The list only stores the pointer.
    unsafe { private.push(pg_sys::makeString(pg_sys::pstrdup(text.as_ptr())) as *mut pg_sys::Node) };
    private.into_pg()
}

/// The state stored by `to_private`.
///
/// # Safety
/// `list` must be a list made by `to_private`.
pub unsafe fn from_private<T: for<'de> Deserialize<'de>>(list: *mut pg_sys::List) -> T {
    let private = PgList::<pg_sys::Node>::from_pg(list);
    let node = private.get_ptr(0).unwrap_or(std::ptr::null_mut());
    if node.is_null() || !is_a(node, pg_sys::NodeTag::T_String) {
        report(TetherError::Internal("plan has no tether state".into()));
    }
    let text = CStr::from_ptr((*(node as *mut pg_sys::String)).sval).to_string_lossy();
    serde_json::from_str(&text).map_err(|e| TetherError::Internal(format!("bad tether plan state: {e}"))).or_report()
}

/// The ScanPlan stored in a ForeignScan.
///
/// # Safety
/// `plan` must be a ForeignScan made by `get_foreign_plan`.
pub unsafe fn scan_plan(plan: *mut pg_sys::ForeignScan) -> ScanPlan {
    from_private((*plan).fdw_private)
}
