//! Differences between the PostgreSQL majors Tether builds for, in one place: 15, 16 and 18 (built and
//! tested), 17 (written from its headers' changes, never built: no 17 server was at hand). Each function
//! here has one body per group of majors, chosen by pgrx's `pg1x` features; the callbacks call these
//! instead of testing versions themselves.
//!
//! - PostgreSQL 16 moved a range table entry's permission fields (`checkAsUser`, `insertedCols`,
//!   `updatedCols`) to `RTEPermissionInfo`, and replaced the per-kind ACL checks
//!   (`pg_foreign_server_aclcheck`) with `object_aclcheck`.
//! - PostgreSQL 17 gave `create_foreignscan_path` the restrictions a path enforces itself
//!   (`fdw_restrictinfo`), and 18 the count of disabled nodes below it (`disabled_nodes`).
//! - PostgreSQL 18 renamed the backend's `pqsignal` to `pqsignal_be`.
//!
//! Not here, because it is not a difference of the API but of what Postgres does, handled where it
//! happens: PostgreSQL 18 looks up where a run-time parameter comes from when it deparses one
//! (`fdw::plan::deparse` gives it none to look up).

use std::ptr::null_mut;

use pgrx::pg_sys;

/// Whether `user` has USAGE on foreign server `server`.
pub fn server_usage_granted(server: pg_sys::Oid, user: pg_sys::Oid) -> bool {
    let usage = pg_sys::ACL_USAGE as pg_sys::AclMode;
    // SAFETY: backend thread, in a transaction; an ACL check on plain values (a server that has gone
    // raises an ERROR, not undefined behaviour).
    #[cfg(feature = "pg15")]
    let result = unsafe { pg_sys::pg_foreign_server_aclcheck(server, user, usage) };
    #[cfg(not(feature = "pg15"))]
    let result = unsafe { pg_sys::object_aclcheck(pg_sys::ForeignServerRelationId, server, user, usage) };
    result == pg_sys::AclResult::ACLCHECK_OK
}

/// The role a foreign scan's table is read as: the owner of the view it is reached through, else the
/// current user.
///
/// # Safety
/// `node` must be a ForeignScanState of the running query.
pub unsafe fn scan_user(node: *mut pg_sys::ForeignScanState) -> pg_sys::Oid {
    let scan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    #[cfg(feature = "pg15")]
    let checked = {
        let rte = range_table_entry((*node).ss.ps.state, (*scan).scan.scanrelid);
        if rte.is_null() {
            pg_sys::InvalidOid
        } else {
            (*rte).checkAsUser
        }
    };
    #[cfg(not(feature = "pg15"))]
    let checked = (*scan).checkAsUser;
    if checked != pg_sys::InvalidOid {
        checked
    } else {
        pg_sys::GetUserId()
    }
}

/// The role a modified foreign table is written as: the owner of the view it is reached through, else
/// the current user.
///
/// # Safety
/// `rinfo` must be a result relation of `estate`, the executor state of the running query.
pub unsafe fn result_relation_user(rinfo: *mut pg_sys::ResultRelInfo, estate: *mut pg_sys::EState) -> pg_sys::Oid {
    #[cfg(feature = "pg15")]
    {
        let rte = range_table_entry(estate, (*rinfo).ri_RangeTableIndex);
        if !rte.is_null() && (*rte).checkAsUser != pg_sys::InvalidOid {
            (*rte).checkAsUser
        } else {
            pg_sys::GetUserId()
        }
    }
    #[cfg(not(feature = "pg15"))]
    pg_sys::ExecGetResultRelCheckAsUser(rinfo, estate)
}

/// Range table entry `rti` (1-based) of the running query, or NULL.
#[cfg(feature = "pg15")]
unsafe fn range_table_entry(estate: *mut pg_sys::EState, rti: pg_sys::Index) -> *mut pg_sys::RangeTblEntry {
    let rtable = pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*estate).es_range_table);
    rtable.get_ptr((rti as usize).wrapping_sub(1)).unwrap_or(std::ptr::null_mut())
}

/// Which columns a statement assigns: INSERT's column list (`inserted`) or UPDATE's SET list, as the
/// Bitmapset of attribute numbers offset by FirstLowInvalidHeapAttributeNumber that Postgres keeps.
///
/// # Safety
/// `root` must be the planner state of the running statement and `rte` one of its range table entries.
pub unsafe fn assigned_columns(
    root: *mut pg_sys::PlannerInfo,
    rte: *mut pg_sys::RangeTblEntry,
    inserted: bool,
) -> *mut pg_sys::Bitmapset {
    #[cfg(feature = "pg15")]
    {
        let _ = root;
        if inserted {
            (*rte).insertedCols
        } else {
            (*rte).updatedCols
        }
    }
    #[cfg(not(feature = "pg15"))]
    {
        let perminfo = pg_sys::getRTEPermissionInfo((*(*root).parse).rteperminfos, rte);
        if inserted {
            (*perminfo).insertedCols
        } else {
            (*perminfo).updatedCols
        }
    }
}

/// A foreign scan path over all of `baserel` with the given estimates: no pathkeys, no outer
/// relations, no private list.
///
/// # Safety
/// `root` and `baserel` must be the planner state and base relation of a GetForeignPaths call.
pub unsafe fn foreign_scan_path(
    root: *mut pg_sys::PlannerInfo,
    baserel: *mut pg_sys::RelOptInfo,
    startup: pg_sys::Cost,
    total: pg_sys::Cost,
) -> *mut pg_sys::ForeignPath {
    #[cfg(any(feature = "pg15", feature = "pg16"))]
    let path = pg_sys::create_foreignscan_path(
        root,
        baserel,
        null_mut(),
        (*baserel).rows,
        startup,
        total,
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(feature = "pg17")]
    let path = pg_sys::create_foreignscan_path(
        root,
        baserel,
        null_mut(),
        (*baserel).rows,
        startup,
        total,
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
    );
    #[cfg(feature = "pg18")]
    let path = pg_sys::create_foreignscan_path(
        root,
        baserel,
        null_mut(),
        (*baserel).rows,
        0,
        startup,
        total,
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
    );
    path
}

/// Install `handler` for signal `signo` in this backend process.
///
/// # Safety
/// As for Postgres's `pqsignal`: `handler` must do only what a signal handler may.
pub unsafe fn set_signal_handler(signo: std::ffi::c_int, handler: pg_sys::pqsigfunc) {
    #[cfg(not(feature = "pg18"))]
    pg_sys::pqsignal(signo, handler);
    #[cfg(feature = "pg18")]
    pg_sys::pqsignal_be(signo, handler);
}
