//! Mirror tables: registration helpers called by the SQL functions of `sql/mirrors.sql`, the shared
//! memory through which sessions wake the background worker, and the worker itself (`worker`), which
//! refreshes each mirror one page per transaction (`refresh`, with `page` as the scan's side of it).
//! Postgres-facing, like `fdw`.

pub mod page;
pub mod refresh;
pub mod rights;
pub mod webhook;
pub mod worker;

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic};

use crate::error::{OrReport, TetherError};
use crate::fdw::options;

/// Refresh requests waiting for the launcher: mirror ids, 0 for a free slot.
const REQUEST_SLOTS: usize = 64;

pub struct Shared {
    launcher_pid: AtomicI32,
    requests: [AtomicI32; REQUEST_SLOTS],
}

unsafe impl PGRXSharedMemory for Shared {}

impl Default for Shared {
    fn default() -> Shared {
        Shared { launcher_pid: AtomicI32::new(0), requests: std::array::from_fn(|_| AtomicI32::new(0)) }
    }
}

static SHARED: PgAtomic<Shared> = unsafe { PgAtomic::new(c"tether_sync") };

/// Set in `_PG_init` when the library is in shared_preload_libraries (shared memory and the worker
/// exist only then).
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Called from `_PG_init`: the worker's settings, shared memory and the launcher, when preloading.
#[allow(unexpected_cfgs)] // pg_shmem_init! checks a pg18 feature this crate does not declare
pub fn init() {
    if unsafe { !pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::Relaxed);
    crate::gucs::init_worker();
    pg_shmem_init!(SHARED = Shared::default());
    worker::register_launcher();
    match crate::gucs::webhook_listen() {
        Ok(Some(_)) => webhook::register(),
        Ok(None) => {}
        // A setting the server cannot honour stops it from starting, as Postgres does for its own.
        Err(m) => error!("{m}"),
    }
}

fn shared() -> Option<&'static Shared> {
    PRELOADED.load(Ordering::Relaxed).then(|| SHARED.get())
}

/// Refuse to register a mirror nobody would refresh.
#[pg_extern(name = "require_worker")]
fn require_worker() {
    if shared().is_none() {
        crate::error::report(TetherError::Unsupported {
            message: "mirror tables need the tether background worker, which runs only when tether is in shared_preload_libraries".into(),
            hint: Some(format!(
                "add shared_preload_libraries = 'tether' and tether.database = '{}' to postgresql.conf and restart the server",
                current_database()
            )),
        });
    }
}

fn current_database() -> String {
    Spi::get_one::<String>("SELECT current_database()::text").ok().flatten().unwrap_or_default()
}

/// Wake the launcher for a refresh of mirror `id` now (not at commit: `tether.refresh(wait => true)`
/// waits for the run inside the calling statement). Only the mirror's owner may ask.
#[pg_extern(name = "wake_worker")]
fn wake_worker(id: i32) -> bool {
    let visible = Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM tether.mirror_config WHERE id = $1)",
        &[id.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false);
    if !visible {
        return false;
    }
    let Some(shared) = shared() else { return false };
    let queued = shared.requests.iter().any(|slot| slot.load(Ordering::Acquire) == id)
        || shared.requests.iter().any(|slot| slot.compare_exchange(0, id, Ordering::AcqRel, Ordering::Acquire).is_ok());
    wake_launcher();
    queued
}

/// Make the launcher look for due mirrors now.
pub(crate) fn wake_launcher() {
    let Some(shared) = shared() else { return };
    let pid = shared.launcher_pid.load(Ordering::Acquire);
    if pid > 0 {
        // SIGUSR1 sets the launcher's latch (procsignal handler of database-connected workers).
        unsafe {
            libc::kill(pid, libc::SIGUSR1);
        }
    }
}

/// Take the pending refresh requests (the launcher, each tick).
pub(crate) fn take_requests() -> Vec<i32> {
    let Some(shared) = shared() else { return Vec::new() };
    shared.requests.iter().map(|slot| slot.swap(0, Ordering::AcqRel)).filter(|id| *id != 0).collect()
}

pub(crate) fn set_launcher_pid(pid: i32) {
    if let Some(shared) = shared() {
        shared.launcher_pid.store(pid, Ordering::Release);
    }
}

/// What `tether.mirror()` needs to know about a source foreign table: its id column and the column
/// an incremental refresh filters on (the connector's `updated_column`), as foreign-table column names.
#[pg_extern(name = "mirror_source", stable)]
fn mirror_source(
    source: pg_sys::Oid,
) -> TableIterator<'static, (name!(id_column, String), name!(updated_column, Option<String>))> {
    let loaded = options::load_table(source).or_report();
    let table = &loaded.table;
    let id = id_column(&loaded).or_report();
    let updated = table
        .object
        .updated_column
        .as_ref()
        .and_then(|u| table.object.column(u))
        .and_then(|def| crate::connector::pointer::Pointer::parse(&def.pointer).ok())
        .and_then(|p| table.columns.iter().position(|c| c.pointer == p))
        .map(|i| loaded.attrs[i].name.clone());
    TableIterator::once((id, updated))
}

/// The foreign-table column holding the record id, which a mirror needs as its primary key.
pub(crate) fn id_column(loaded: &options::LoadedTable) -> Result<String, TetherError> {
    let table = &loaded.table;
    match table.id_index() {
        Some(i) => Ok(loaded.attrs[i].name.clone()),
        None => Err(TetherError::option(
            format!(
                "foreign table {} has no id column (object \"{}\" identifies records by \"{}\"), so it cannot be mirrored",
                loaded.label, table.object_name, table.object.id_column
            ),
            Some("add the id column to the foreign table".into()),
        )),
    }
}
