//! Pushes (reverse ETL): the rows of a local table or view sent to the API object behind a tether
//! foreign table, with a map table of which source row became which provider record
//! (`sql/push.sql`). This module has the SQL functions the registration calls; `run` is a push run,
//! in a process the launcher (`sync::worker`) starts, as it does a mirror's refresh.

pub mod run;

use pgrx::prelude::*;

use crate::error::{OrReport, TetherError};
use crate::fdw::options;
use crate::sync::rights;

/// Columns of a map table besides the source key: a key column may not be named like one of them.
pub const MAP_COLUMNS: [&str; 7] = ["provider_id", "status", "message", "sqlstate", "sent", "sent_hash", "sent_at"];

/// What `tether.push` checks and what a run reads: the target's columns the source has too (by name),
/// writable at the provider, and the key and `match_on` columns. Errors name what is wrong.
pub(crate) struct PushColumns {
    /// Target column names sent to the provider, with their index in the loaded target table.
    pub sent: Vec<(String, usize)>,
}

/// Check a push's source, target, key and `match_on` (the columns that are sent: the target's writable
/// columns that the source has, by name). `deletes`: the push deletes provider records of rows that are
/// gone from the source, so the object must allow deletes.
pub(crate) fn push_columns(
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    key: &str,
    match_on: Option<&str>,
    deletes: bool,
) -> Result<PushColumns, TetherError> {
    let is_tether_table = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_table ft
                        JOIN pg_catalog.pg_foreign_server s ON s.oid OPERATOR(pg_catalog.=) ft.ftserver
                        JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
                        WHERE ft.ftrelid OPERATOR(pg_catalog.=) $1 AND w.fdwname OPERATOR(pg_catalog.=) 'tether')",
        &[target.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false);
    let target_label = options::relation_label(target);
    let source_label = options::relation_label(source);
    if !is_tether_table {
        return Err(TetherError::sql(
            crate::error::SqlState::WrongObjectType,
            format!("{target_label} is not a foreign table of the tether foreign data wrapper"),
            Some("the target of a push is a tether foreign table (CREATE FOREIGN TABLE ... SERVER s OPTIONS (object ...))".into()),
        ));
    }
    let loaded = options::load_table(target)?;
    let table = &loaded.table;
    if table.object.create.is_none() {
        let object = &table.object;
        return Err(TetherError::Unsupported {
            message: if object.update.is_none() && object.delete.is_none() {
                format!("foreign table {target_label} is read-only")
            } else {
                format!("object \"{}\" of connector {} cannot be created", table.object_name, table.connector_name)
            },
            hint: Some("a push creates records: its target's object needs a create endpoint".into()),
        });
    }
    if deletes && table.object.delete.is_none() {
        return Err(TetherError::Unsupported {
            message: format!(
                "object \"{}\" of connector {} cannot be deleted",
                table.object_name, table.connector_name
            ),
            hint: Some("use on_delete => 'keep'".into()),
        });
    }
    let source_columns: Vec<String> = Spi::connect(|c| {
        c.select(
            "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute
             WHERE attrelid OPERATOR(pg_catalog.=) $1 AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped
             ORDER BY attnum",
            None,
            &[source.into()],
        )
        .map(|rows| rows.into_iter().filter_map(|r| r.get::<String>(1).ok().flatten()).collect())
        .unwrap_or_default()
    });
    let has = |name: &str| source_columns.iter().any(|c| c == name);
    if !has(key) {
        return Err(TetherError::sql(
            crate::error::SqlState::UndefinedColumn,
            format!("key \"{key}\" is not a column of {source_label}"),
            Some("the key is the source column that identifies a row (its primary key)".into()),
        ));
    }
    if MAP_COLUMNS.contains(&key) {
        return Err(TetherError::option(
            format!("a push key may not be named \"{key}\", a column of its map table"),
            Some(format!("push a view that renames it: the map table has {}", MAP_COLUMNS.join(", "))),
        ));
    }
    let id_index = table.id_index();
    let sent: Vec<(String, usize)> = loaded
        .attrs
        .iter()
        .enumerate()
        .filter(|(i, a)| !table.columns[*i].read_only && Some(*i) != id_index && has(&a.name))
        .map(|(i, a)| (a.name.clone(), i))
        .collect();
    if sent.is_empty() {
        let writable: Vec<&str> = loaded
            .attrs
            .iter()
            .enumerate()
            .filter(|(i, _)| !table.columns[*i].read_only && Some(*i) != id_index)
            .map(|(_, a)| a.name.as_str())
            .collect();
        return Err(TetherError::option(
            format!("{source_label} has none of the columns {target_label} can write"),
            Some(format!("columns are matched by name; {target_label} writes: {}", writable.join(", "))),
        ));
    }
    if let Some(m) = match_on {
        if !has(m) || !loaded.attrs.iter().any(|a| a.name == m) {
            return Err(TetherError::sql(
                crate::error::SqlState::UndefinedColumn,
                format!("match_on \"{m}\" must be a column of both {source_label} and {target_label}"),
                Some("match_on names what identifies a record at the provider too (an email)".into()),
            ));
        }
    }
    Ok(PushColumns { sent })
}

/// `tether.push` checks what it is given (the caller's privileges too) before it registers the push.
#[pg_extern(name = "push_columns")]
fn check_push(
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    key: &str,
    match_on: Option<&str>,
    deletes: bool,
) -> Vec<String> {
    let columns = push_columns(source, target, key, match_on, deletes).or_report();
    // SAFETY: backend thread, inside the SQL function's transaction: GetUserId reads the current user.
    let user = unsafe { pg_sys::GetUserId() };
    let mut needed = vec![
        (source, pg_sys::ACL_SELECT, "SELECT from"),
        (target, pg_sys::ACL_INSERT, "INSERT into"),
        (target, pg_sys::ACL_UPDATE, "UPDATE"),
    ];
    if deletes {
        needed.push((target, pg_sys::ACL_DELETE, "DELETE from"));
    }
    for (rel, mode, what) in needed {
        // SAFETY: backend thread, inside the SQL function's transaction; pg_class_aclcheck takes plain values
        // (a relation that does not exist raises an ERROR).
        let allowed =
            unsafe { pg_sys::pg_class_aclcheck(rel, user, mode as pg_sys::AclMode) == pg_sys::AclResult::ACLCHECK_OK };
        if !allowed {
            crate::error::report(TetherError::Option {
                message: format!("permission denied: a push needs to {what} {}", options::relation_label(rel)),
                hint: Some("a push runs with its owner's rights, never more".into()),
                state: crate::error::SqlState::InsufficientPrivilege,
            });
        }
    }
    columns.sent.into_iter().map(|(name, _)| name).collect()
}

/// Record a run request for push `id` in the catalog (`requested_at`, which outlives a restart) and
/// wake the launcher; as the extension's owner, after checking as the caller that the push is theirs.
#[pg_extern(name = "request_push")]
fn request_push(id: i32) -> bool {
    if !own_push(id) {
        return false;
    }
    rights::as_extension_owner(|| {
        Spi::run_with_args(
            "UPDATE tether.push_config SET requested_at = pg_catalog.clock_timestamp() WHERE id OPERATOR(pg_catalog.=) $1",
            &[id.into()],
        )
    })
    .unwrap_or_else(|e| crate::error::report(TetherError::Internal(format!("recording a push request: {e}"))));
    crate::sync::wake_launcher();
    true
}

/// Ask the launcher for a run of push `id` now, through shared memory (`tether.push_now(wait => true)`
/// waits inside its own transaction). False when the request could not be queued.
#[pg_extern(name = "wake_push")]
fn wake_push(id: i32) -> bool {
    let owner = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT owner::pg_catalog.oid FROM tether.push_config WHERE id OPERATOR(pg_catalog.=) $1",
        &[id.into()],
    )
    .ok()
    .flatten();
    let Some(owner) = owner else { return false };
    crate::sync::wake_job(crate::sync::Job::Push(id), owner.to_u32())
}

/// Remove the registration of push `id` (`tether.unpush`), as the extension's owner after checking as
/// the caller that it is theirs.
#[pg_extern(name = "forget_push")]
fn forget_push(id: i32) -> bool {
    if !own_push(id) {
        return false;
    }
    rights::as_extension_owner(|| {
        Spi::run_with_args("DELETE FROM tether.push_config WHERE id OPERATOR(pg_catalog.=) $1", &[id.into()])
    })
    .unwrap_or_else(|e| crate::error::report(TetherError::Internal(format!("removing the push: {e}"))));
    true
}

/// Whether the calling role sees push `id` (its own, by row-level security).
fn own_push(id: i32) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM tether.push_config WHERE id OPERATOR(pg_catalog.=) $1)",
        &[id.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}
