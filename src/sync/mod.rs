//! Mirror tables: registration helpers called by the SQL functions of `sql/mirrors.sql`, the shared
//! memory through which sessions wake the background worker, and the worker itself (`worker`), which
//! refreshes each mirror a batch of pages per transaction (`refresh`, with `fdw::page` as the scan's side of
//! it). Postgres-facing, like `fdw`, which it builds on (never the other way round).

pub mod merge;
pub mod refresh;
pub mod rights;
pub mod webhook;
pub mod worker;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PGRXSharedMemory, PgAtomic};

use crate::error::{OrReport, TetherError};
use crate::fdw::options;

/// Requests waiting for the launcher: mirror ids and push ids (`Job::slot_value`), 0 for a free slot,
/// RESERVED while a session fills one in.
const REQUEST_SLOTS: usize = 64;
/// Slots one role's mirrors may hold at once, so that a role asking for refreshes in a loop leaves
/// room for everyone else's.
const REQUEST_SLOTS_PER_OWNER: usize = 8;
const RESERVED: i32 = -1;

pub struct Shared {
    launcher_pid: AtomicI32,
    requests: [AtomicI32; REQUEST_SLOTS],
    /// The owner (role oid) of the mirror in the slot of the same index.
    owners: [AtomicU32; REQUEST_SLOTS],
}

// SAFETY: Shared is nothing but atomics (an AtomicI32 and fixed-size arrays of AtomicI32 and AtomicU32):
// no pointer, heap allocation or Drop, so its bytes mean the same in every process that maps the segment,
// any bit pattern the atomics hold is valid, and every process reads and writes it only through the
// atomics.
unsafe impl PGRXSharedMemory for Shared {}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            launcher_pid: AtomicI32::new(0),
            requests: std::array::from_fn(|_| AtomicI32::new(0)),
            owners: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

// SAFETY: PgAtomic::new requires that no other shared memory structure use the name; "tether_sync" starts
// with the extension's name and is registered only here.
static SHARED: PgAtomic<Shared> = unsafe { PgAtomic::new(c"tether_sync") };

/// Set in `_PG_init` when the library is in shared_preload_libraries (shared memory and the worker
/// exist only then).
static PRELOADED: AtomicBool = AtomicBool::new(false);

/// Called from `_PG_init`: the worker's settings, shared memory and the launcher, when preloading.
#[allow(unexpected_cfgs)] // pg_shmem_init! checks a pg18 feature this crate does not declare
pub fn init() {
    // SAFETY: a plain bool the postmaster sets while it loads shared_preload_libraries, read by value in
    // _PG_init on the main thread; no reference to the static mut is made.
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
        Err(m) => crate::error::report(TetherError::sql(crate::error::SqlState::InvalidParameterValue, m, None)),
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

/// What a background process runs: a mirror's refresh or a push's run, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Job {
    Mirror(i32),
    Push(i32),
}

/// Push ids in the request slots are offset by this (mirror ids are below it; 0 and RESERVED are not ids).
const PUSH_SLOT_BASE: i32 = 1 << 30;

impl Job {
    pub fn id(self) -> i32 {
        match self {
            Job::Mirror(id) | Job::Push(id) => id,
        }
    }

    fn slot_value(self) -> i32 {
        match self {
            Job::Mirror(id) => id,
            Job::Push(id) => PUSH_SLOT_BASE + id,
        }
    }

    fn from_slot(value: i32) -> Option<Job> {
        match value {
            v if v >= PUSH_SLOT_BASE => Some(Job::Push(v - PUSH_SLOT_BASE)),
            v if v > 0 => Some(Job::Mirror(v)),
            _ => None,
        }
    }
}

/// Take the user lock (`locktype = 'userlock'` in pg_locks: database, classid = `class`, objid = `id`)
/// of the process running a job, for the life of the process, without waiting; false when another
/// process holds it. No SQL function can take such a lock (an advisory lock any role could hold to
/// stop a job).
pub(crate) fn lock_job(class: i32, id: i32) -> bool {
    // SAFETY: main thread of a sync or push process, inside a transaction, connected to its database
    // (so MyDatabaseId is set). The LOCKTAG is a local LockAcquire only reads. A session lock
    // (sessionLock = true) needs no resource owner and is released at process exit; dontWait = true,
    // so it never sleeps.
    unsafe {
        let tag = pg_sys::LOCKTAG {
            locktag_field1: pg_sys::MyDatabaseId.to_u32(),
            locktag_field2: class as u32,
            locktag_field3: id as u32,
            locktag_field4: 0,
            locktag_type: pg_sys::LockTagType::LOCKTAG_USERLOCK as u8,
            locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
        };
        pg_sys::LockAcquire(&tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE, true, true)
            != pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL
    }
}

/// Wake the launcher for a refresh of mirror `id` now (not at commit: `tether.refresh(wait => true)`
/// waits for the run inside the calling statement). Only the mirror's owner may ask (row-level
/// security hides other roles' mirrors). False when the request could not be queued: the role already
/// has REQUEST_SLOTS_PER_OWNER requests waiting, or every slot is taken.
#[pg_extern(name = "wake_worker")]
fn wake_worker(id: i32) -> bool {
    let owner = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT owner::pg_catalog.oid FROM tether.mirror_config WHERE id OPERATOR(pg_catalog.=) $1",
        &[id.into()],
    )
    .ok()
    .flatten();
    let Some(owner) = owner else { return false };
    wake_job(Job::Mirror(id), owner.to_u32())
}

/// Queue `job` of role `owner` for the launcher and wake it; false when the role already has
/// REQUEST_SLOTS_PER_OWNER requests waiting, or every slot is taken.
pub(crate) fn wake_job(job: Job, owner: u32) -> bool {
    let Some(shared) = shared() else { return false };
    let value = job.slot_value();
    let queued = shared.requests.iter().any(|slot| slot.load(Ordering::Acquire) == value) || {
        let mine = (0..REQUEST_SLOTS)
            .filter(|&i| {
                shared.requests[i].load(Ordering::Acquire) > 0 && shared.owners[i].load(Ordering::Acquire) == owner
            })
            .count();
        mine < REQUEST_SLOTS_PER_OWNER && claim_slot(shared, value, owner)
    };
    wake_launcher();
    queued
}

/// Put `id` (of role `owner`, 0 for none) in a free slot: reserved first, so that the owner is in
/// place before the launcher can see the id.
fn claim_slot(shared: &Shared, id: i32, owner: u32) -> bool {
    (0..REQUEST_SLOTS).any(|i| {
        if shared.requests[i].compare_exchange(0, RESERVED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return false;
        }
        shared.owners[i].store(owner, Ordering::Release);
        shared.requests[i].store(id, Ordering::Release);
        true
    })
}

/// Record a refresh request for mirror `id` in the catalog (`requested_at`), so that it outlives a
/// restart. Roles may not write `requested_at` themselves (a time in the future would keep their
/// mirror ahead of everyone's), so this writes it as the extension's owner, after checking as the
/// caller that the mirror is one of theirs.
#[pg_extern(name = "request_refresh")]
fn request_refresh(id: i32) -> bool {
    if !own_mirror(id) {
        return false;
    }
    rights::as_extension_owner(|| {
        Spi::run_with_args(
            "UPDATE tether.mirror_config SET requested_at = pg_catalog.clock_timestamp() WHERE id OPERATOR(pg_catalog.=) $1",
            &[id.into()],
        )
    })
    .or_report_internal("recording a refresh request");
    wake_worker(id)
}

/// Remove the registration of mirror `id` (`tether.unmirror`), as the extension's owner after checking
/// as the caller that it is theirs: roles have no DELETE privilege on `tether.mirror_config`, which
/// would also let them LOCK it and stop every mirror.
#[pg_extern(name = "forget_mirror")]
fn forget_mirror(id: i32) -> bool {
    if !own_mirror(id) {
        return false;
    }
    rights::as_extension_owner(|| {
        Spi::run_with_args("DELETE FROM tether.mirror_config WHERE id OPERATOR(pg_catalog.=) $1", &[id.into()])
    })
    .or_report_internal("removing the mirror");
    true
}

/// The NOTIFY channel on which mirror table `mirror` announces its changes, for roles that may read
/// it (SELECT on the mirror table): its owner, and those it granted.
#[pg_extern(name = "channel_for")]
fn changes_channel(mirror: pg_sys::Oid) -> String {
    // SAFETY: backend thread, inside the SQL function's transaction: GetUserId reads the current user, and
    // pg_class_aclcheck takes plain values (a relation that does not exist raises an ERROR).
    let allowed = unsafe {
        pg_sys::pg_class_aclcheck(mirror, pg_sys::GetUserId(), pg_sys::ACL_SELECT as pg_sys::AclMode)
            == pg_sys::AclResult::ACLCHECK_OK
    };
    let label = options::relation_label(mirror);
    if !allowed {
        crate::error::report(TetherError::Option {
            message: format!("permission denied for table {label}"),
            hint: Some("the changes of a mirror are announced to roles that may read it".into()),
            state: crate::error::SqlState::InsufficientPrivilege,
        });
    }
    channel_of(mirror).unwrap_or_else(|| {
        crate::error::report(TetherError::Option {
            message: format!("{label} is not a mirror table"),
            hint: Some("SELECT mirror FROM tether.mirrors lists your mirrors".into()),
            state: crate::error::SqlState::UndefinedObject,
        })
    })
}

/// Give mirror table `mirror` (the caller's) a new NOTIFY channel, for example after revoking SELECT
/// from a role that was told the old one. Returns the new channel.
#[pg_extern(name = "rotate_channel")]
fn rotate_changes_channel(mirror: pg_sys::Oid) -> String {
    let id = Spi::get_one_with_args::<i32>(
        "SELECT id FROM tether.mirror_config WHERE target OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
        &[mirror.into()],
    )
    .ok()
    .flatten();
    let Some(id) = id else {
        crate::error::report(TetherError::Option {
            message: format!("{} is not a mirror table you own", options::relation_label(mirror)),
            hint: Some("SELECT mirror FROM tether.mirrors lists yours".into()),
            state: crate::error::SqlState::UndefinedObject,
        })
    };
    rights::as_extension_owner(|| {
        Spi::run_with_args(
            "UPDATE tether.mirror_config SET channel = DEFAULT WHERE id OPERATOR(pg_catalog.=) $1",
            &[id.into()],
        )
    })
    .or_report_internal("changing the channel");
    channel_of(mirror).unwrap_or_default()
}

/// The channel of mirror table `mirror`, read as the extension's owner (the caller may be a role
/// that reads the mirror without owning it, which row-level security would hide the row from).
fn channel_of(mirror: pg_sys::Oid) -> Option<String> {
    rights::as_extension_owner(|| {
        Spi::get_one_with_args::<String>(
            "SELECT channel FROM tether.mirror_config WHERE target OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
            &[mirror.into()],
        )
    })
    .ok()
    .flatten()
}

/// Record that record `record_id` of mirror table `mirror` was deleted through the mirror just now (the
/// provider confirmed it): the mirror's write-back trigger calls this, and a refresh then never puts
/// the record back from a page it fetched before that moment (`tether.mirror_tombstones`). The caller
/// must be allowed to DELETE from the mirror; the tombstone is written as the extension's owner (roles
/// have no access to the table), with the time taken here, not given by the caller.
#[pg_extern(name = "note_deletion")]
fn note_deletion(mirror: pg_sys::Oid, record_id: &str) -> bool {
    // SAFETY: backend thread, inside the SQL function's transaction: GetUserId reads the current user, and
    // pg_class_aclcheck takes plain values (a relation that does not exist raises an ERROR).
    let allowed = unsafe {
        pg_sys::pg_class_aclcheck(mirror, pg_sys::GetUserId(), pg_sys::ACL_DELETE as pg_sys::AclMode)
            == pg_sys::AclResult::ACLCHECK_OK
    };
    if !allowed {
        crate::error::report(TetherError::Option {
            message: format!("permission denied for table {}", options::relation_label(mirror)),
            hint: Some("a deletion is noted for roles that may delete from the mirror".into()),
            state: crate::error::SqlState::InsufficientPrivilege,
        });
    }
    rights::as_extension_owner(|| {
        Spi::get_one_with_args::<bool>(
            "WITH noted AS (
                 INSERT INTO tether.mirror_tombstones (mirror_id, record_id)
                 SELECT id, $2 FROM tether.mirror_config WHERE target OPERATOR(pg_catalog.=) $1::pg_catalog.regclass
                 ON CONFLICT (mirror_id, record_id) DO UPDATE SET deleted_at = pg_catalog.clock_timestamp()
                 RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM noted)",
            &[mirror.into(), record_id.into()],
        )
    })
    .unwrap_or_else(|e| crate::error::report(TetherError::Internal(format!("noting a deletion: {e}"))))
    .unwrap_or(false)
}

/// Whether the calling role sees mirror `id` (its own, by row-level security).
fn own_mirror(id: i32) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM tether.mirror_config WHERE id OPERATOR(pg_catalog.=) $1)",
        &[id.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

trait OrReportInternal {
    fn or_report_internal(self, what: &str);
}

impl OrReportInternal for Result<(), pgrx::spi::Error> {
    fn or_report_internal(self, what: &str) {
        if let Err(e) = self {
            crate::error::report(TetherError::Internal(format!("{what}: {e}")));
        }
    }
}

/// Make the launcher look for due mirrors now.
pub(crate) fn wake_launcher() {
    let Some(shared) = shared() else { return };
    let pid = shared.launcher_pid.load(Ordering::Acquire);
    // Between the launcher's exit and its successor's start the pid is stale, and the kernel may have
    // given it to another process, which SIGUSR1 would end: only a live process of this server (one
    // with a PGPROC, where SIGUSR1 sets the latch) is signalled.
    // SAFETY: BackendPidGetProc takes ProcArrayLock itself and returns a pointer into shared memory or
    // NULL (only compared here). kill(2) takes only integers; pid > 0, so it never names a group.
    unsafe {
        if pid > 0 && !pg_sys::BackendPidGetProc(pid).is_null() {
            libc::kill(pid, libc::SIGUSR1);
        }
    }
}

/// Take the pending requests (the launcher, each tick).
pub(crate) fn take_requests() -> Vec<Job> {
    let Some(shared) = shared() else { return Vec::new() };
    shared
        .requests
        .iter()
        .filter_map(|slot| {
            let value = slot.load(Ordering::Acquire);
            let job = Job::from_slot(value)?;
            slot.compare_exchange(value, 0, Ordering::AcqRel, Ordering::Acquire).is_ok().then_some(job)
        })
        .collect()
}

/// Ask for refreshes of mirrors from a background process (the webhook receiver), outside any
/// role's share of the slots; ids that find no free slot are requested in the catalog only.
pub(crate) fn queue_requests(ids: &[i32]) {
    let Some(shared) = shared() else { return };
    for &id in ids {
        let value = Job::Mirror(id).slot_value();
        if shared.requests.iter().any(|slot| slot.load(Ordering::Acquire) == value) {
            continue;
        }
        claim_slot(shared, value, 0);
    }
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
