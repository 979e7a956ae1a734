//! The background processes: one launcher, registered at server start, that finds the mirrors due for a
//! refresh every `tether.poll_interval` (or at once when `tether.refresh()` wakes it) and starts a
//! sync process per mirror, at most `tether.max_sync_workers` at a time and at most all but one of
//! them for one role's mirrors, so that no role can keep everyone else's mirrors waiting. A sync
//! process refreshes one mirror (`refresh::run`) and exits. A sync process that dies (killed, crashed)
//! leaves its mirror in the `running` state without the lock it held: the launcher starts a new one,
//! which resumes after the last page applied.
//!
//! The launcher only reads the catalog (a role's open transaction holding a row of it locked cannot
//! stop it), with a short lock_timeout besides; refresh requests that come through shared memory are
//! kept in its memory until a run starts for them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use pgrx::bgworkers::{
    BackgroundWorker, BackgroundWorkerBuilder, BackgroundWorkerStatus, BgWorkerStartTime, DynamicBackgroundWorker,
};
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::sync::refresh::LOCK_CLASS;
use crate::sync::Job;

pub fn register_launcher() {
    BackgroundWorkerBuilder::new("tether launcher")
        .set_type("tether launcher")
        .set_library("tether")
        .set_function("tether_launcher_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// SIGTERM ends the process at the next interrupt check (as in a regular backend), SIGHUP reloads the
/// configuration.
pub(crate) fn handle_signals() {
    // SAFETY: called first thing in each background process's main function, on its only thread (no
    // helper thread exists yet), before signals are unblocked: set_signal_handler installs the two handlers below,
    // which do only what a signal handler may (see them), and BackgroundWorkerUnblockSignals then lets
    // signals in.
    unsafe {
        crate::compat::set_signal_handler(libc::SIGTERM, Some(on_sigterm));
        crate::compat::set_signal_handler(libc::SIGHUP, Some(on_sighup));
        pg_sys::BackgroundWorkerUnblockSignals();
    }
}

/// What Postgres's `die` does: the next CHECK_FOR_INTERRUPTS ends the process (aborting the open
/// transaction), including while a provider request is awaited.
///
/// # Safety
/// Only to be installed as a signal handler (`handle_signals`), never called directly.
unsafe extern "C-unwind" fn on_sigterm(_signal: std::ffi::c_int) {
    // SAFETY: runs as a signal handler, on the main thread (helper threads block every signal:
    // `http::wait::spawn_helper`). It does only what Postgres's `die` does: volatile stores to the
    // sig_atomic_t flags InterruptPending and ProcDiePending, through raw pointers (no reference to a
    // static mut), and SetLatch on MyLatch, which Postgres documents as safe in a signal handler and
    // which is set up before the handler is installed. pgrx routes SetLatch through its FFI guard (a
    // sigsetjmp that saves and restores the error-handling statics it touches), as its own bgworker
    // handlers do. errno is not saved and restored around SetLatch, as Postgres's own handlers do (from
    // PostgreSQL 17 on, its pqsignal wrapper does it for every handler).
    unsafe {
        (&raw mut pg_sys::InterruptPending).write_volatile(1);
        (&raw mut pg_sys::ProcDiePending).write_volatile(1);
        pg_sys::SetLatch(pg_sys::MyLatch);
    }
}

/// SIGHUP: reload the configuration at the next `wait_tick`.
///
/// # Safety
/// Only to be installed as a signal handler (`handle_signals`), never called directly.
unsafe extern "C-unwind" fn on_sighup(_signal: std::ffi::c_int) {
    // SAFETY: as in `on_sigterm`: on the main thread, only a volatile store to the sig_atomic_t flag
    // ConfigReloadPending through a raw pointer, and SetLatch on MyLatch.
    unsafe {
        (&raw mut pg_sys::ConfigReloadPending).write_volatile(1);
        pg_sys::SetLatch(pg_sys::MyLatch);
    }
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn tether_launcher_main(_arg: pg_sys::Datum) {
    handle_signals();
    let database = crate::gucs::database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    BackgroundWorker::transaction(|| {
        crate::sync::rights::pin_session();
        let _ = Spi::run(&format!("SET lock_timeout = '{LAUNCHER_LOCK_TIMEOUT}'"));
    });
    // SAFETY: MyProcPid is a plain int set at process start and never changed after; read by value on the
    // main thread.
    crate::sync::set_launcher_pid(unsafe { pg_sys::MyProcPid });
    log!("tether launcher started: keeping the mirror tables of database \"{database}\" in sync");
    let mut launched: HashMap<Job, Launched> = HashMap::new();
    // Requests taken from shared memory, with the time the launcher took each: a request is met by a
    // run that began after it (two asked for before one run began are met by that run).
    let mut requested: BTreeMap<Job, TimestampWithTimeZone> = BTreeMap::new();
    let mut schema = Schema::default();
    loop {
        wait_tick(crate::gucs::POLL_INTERVAL_MS.get().max(100) as i64);
        // A process not started yet counts as running (for the pool and for its owner's share).
        launched.retain(|_, l| matches!(l.worker.pid(), Ok(_) | Err(BackgroundWorkerStatus::NotYetStarted)));
        // SAFETY: GetCurrentTimestamp reads the clock; no shared state.
        let now = TimestampWithTimeZone::try_from(unsafe { pg_sys::GetCurrentTimestamp() });
        for job in crate::sync::take_requests() {
            // The clock's own reading always converts; -infinity only keeps the types whole.
            requested.insert(job, now.unwrap_or_else(|_| TimestampWithTimeZone::negative_infinity()));
        }
        let workers = crate::gucs::MAX_SYNC_WORKERS.get().max(1) as usize;
        // One transaction: the catalog's version, and what is due when it is this library's.
        let (catalog, candidates) = BackgroundWorker::transaction(|| {
            let catalog = catalog();
            let due = if catalog == Catalog::Current { due_jobs(&requested, &launched) } else { Vec::new() };
            (catalog, due)
        });
        if !schema.ready(catalog) {
            continue;
        }
        let running: Vec<u32> = launched.values().map(|l| l.owner).collect();
        for (job, owner) in pick(candidates, &running, workers) {
            match start_sync(job) {
                Some(worker) => {
                    requested.remove(&job);
                    launched.insert(job, Launched { worker, owner });
                }
                None => {
                    log!("tether: could not start a sync process for {job:?} (max_worker_processes reached?)");
                    break;
                }
            }
        }
        // Requests for mirrors that are gone (or were never visible), or met by a run that began after
        // them, are dropped.
        if !requested.is_empty() {
            let open = BackgroundWorker::transaction(|| unmet(&requested));
            requested.retain(|job, _| open.contains(job));
        }
    }
}

/// The library's version, which the catalog's must equal.
pub(crate) const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The tether extension of this database, as this library sees it. After the library is upgraded (new
/// binaries, server restarted) and until `ALTER EXTENSION tether UPDATE` has run, the catalog still has
/// the old version's tables (`Other`): nothing may be run against it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Catalog {
    /// Not created in this database.
    Missing,
    /// The version this library was built for.
    Current,
    /// Another version (`extversion`).
    Other(String),
}

/// What the catalog is (in a transaction).
pub(crate) fn catalog() -> Catalog {
    match Spi::get_one::<String>("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'tether'") {
        Ok(Some(v)) if v == LIBRARY_VERSION => Catalog::Current,
        Ok(Some(v)) => Catalog::Other(v),
        _ => Catalog::Missing,
    }
}

/// The launcher's view of the catalog over its ticks: it starts nothing until the catalog is current,
/// and says once why it waits, and when it resumes.
#[derive(Default)]
struct Schema {
    /// The version seen at the last check, when it was not the library's (said once per value).
    waiting_for: Option<String>,
}

impl Schema {
    fn ready(&mut self, catalog: Catalog) -> bool {
        match catalog {
            // Not created yet in this database: nothing to do until it is.
            Catalog::Missing => false,
            Catalog::Current => {
                if self.waiting_for.take().is_some() {
                    log!("tether launcher: extension updated to {LIBRARY_VERSION}; mirrors and pushes resume");
                }
                true
            }
            Catalog::Other(v) => {
                if self.waiting_for.as_deref() != Some(v.as_str()) {
                    log!(
                        "tether launcher: the tether extension in this database is version {v}, the library version {LIBRARY_VERSION}: mirrors and pushes wait until ALTER EXTENSION tether UPDATE is run"
                    );
                    self.waiting_for = Some(v);
                }
                false
            }
        }
    }
}

/// A running sync process and the role whose mirror it refreshes.
struct Launched {
    worker: DynamicBackgroundWorker,
    owner: u32,
}

/// How long the launcher's reads wait for a lock (none of them should need one).
const LAUNCHER_LOCK_TIMEOUT: &str = "1s";

/// The candidates (mirror, owner) to start now, in order, given the owners of the processes running:
/// `workers` processes in all, and at most all but one of them (at least one) refreshing mirrors of
/// the same role.
fn pick<J>(candidates: Vec<(J, u32)>, running_owners: &[u32], workers: usize) -> Vec<(J, u32)> {
    let per_owner = workers.saturating_sub(1).max(1);
    let mut running: HashMap<u32, usize> = HashMap::new();
    for owner in running_owners {
        *running.entry(*owner).or_default() += 1;
    }
    let mut room = workers.saturating_sub(running_owners.len());
    let mut out = Vec::new();
    for (id, owner) in candidates {
        if room == 0 {
            break;
        }
        let n = running.entry(owner).or_default();
        if *n >= per_owner {
            continue;
        }
        *n += 1;
        room -= 1;
        out.push((id, owner));
    }
    out
}

/// Which of the `requested` jobs are registered and have not begun a run since the request.
fn unmet(requested: &BTreeMap<Job, TimestampWithTimeZone>) -> BTreeSet<Job> {
    let mut open = BTreeSet::new();
    for (kind, config, state, key) in [
        ("mirror", "tether.mirror_config", "tether.mirror_state", "mirror_id"),
        ("push", "tether.push_config", "tether.push_state", "push_id"),
    ] {
        let (ids, at): (Vec<i32>, Vec<TimestampWithTimeZone>) = requested
            .iter()
            .filter_map(|(job, at)| match (job, kind) {
                (Job::Mirror(id), "mirror") | (Job::Push(id), "push") => Some((*id, *at)),
                _ => None,
            })
            .unzip();
        if ids.is_empty() {
            continue;
        }
        let job = |id: i32| if kind == "mirror" { Job::Mirror(id) } else { Job::Push(id) };
        let found: Vec<i32> = Spi::connect(|c| {
            c.select(
                &format!(
                    "SELECT m.id FROM unnest($1::int[], $2::timestamptz[]) AS a (id, at)
                         JOIN {config} m ON m.id = a.id LEFT JOIN {state} s ON s.{key} = m.id
                     WHERE a.at > coalesce(s.run_started_at, '-infinity')"
                ),
                None,
                &[ids.clone().into(), at.into()],
            )
            .map(|rows| rows.into_iter().filter_map(|r| r.get::<i32>(1).ok().flatten()).collect())
            .unwrap_or_else(|_| ids.clone())
        });
        open.extend(found.into_iter().map(job));
    }
    open
}

/// Sleep until the latch is set (a wake-up) or `ms` pass, then handle interrupts (SIGTERM ends the
/// process) and a pending configuration reload. Returns whether the configuration was reloaded.
pub(crate) fn wait_tick(ms: i64) -> bool {
    // SAFETY: main thread of the launcher or the webhook receiver, between transactions. MyLatch is this
    // process's own latch, set up at process start; WaitLatch only waits on it (with a timeout, and
    // WL_EXIT_ON_PM_DEATH, which every background worker may use) and ResetLatch clears it.
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            ms,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pgrx::check_for_interrupts!();
    // SAFETY: main thread, between transactions. ConfigReloadPending is a sig_atomic_t that only the
    // SIGHUP handler, on this same thread, sets: it is read by value after WaitLatch (an FFI call, so the
    // read is not hoisted), and a SIGHUP that comes between the read and the reset is covered by the
    // reload that follows, as in Postgres's own loops. ProcessConfigFile(PGC_SIGHUP) is what Postgres's
    // processes call from their main loop.
    unsafe {
        if pg_sys::ConfigReloadPending != 0 {
            pg_sys::ConfigReloadPending = 0;
            pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP);
            return true;
        }
    }
    false
}

/// The jobs that could start now, most urgent (asked for) first, with their owners.
fn due_jobs(requested: &BTreeMap<Job, TimestampWithTimeZone>, launched: &HashMap<Job, Launched>) -> Vec<(Job, u32)> {
    let mut due = due_of(Job::Mirror, DUE_MIRRORS, LOCK_CLASS, requested, launched);
    due.extend(due_of(Job::Push, DUE_PUSHES, crate::push::run::LOCK_CLASS, requested, launched));
    // Stable: among the asked-for and among the rest, mirrors (by urgency) before pushes.
    due.sort_by_key(|(_, _, asked)| !asked);
    due.into_iter().map(|(job, owner, _)| (job, owner)).collect()
}

/// The pushes that could run now, as `due_mirrors`: not paused, not running in another process (its
/// lock), and asked for since their last run began, due by schedule, or left mid-run.
const DUE_PUSHES: &str = "WITH asked (id, at) AS (SELECT * FROM unnest($2::int[], $4::timestamptz[]))
     SELECT p.id, p.owner::oid, (a.id IS NOT NULL OR p.requested_at > coalesce(s.run_started_at, '-infinity'))
     FROM tether.push_config p LEFT JOIN tether.push_state s ON s.push_id = p.id
          LEFT JOIN asked a ON a.id = p.id AND a.at > coalesce(s.run_started_at, '-infinity')
     WHERE NOT p.paused AND p.id <> ALL ($1)
       AND (s.state = 'running' OR p.requested_at > coalesce(s.run_started_at, '-infinity') OR a.id IS NOT NULL
            OR (p.every IS NOT NULL AND (s.push_id IS NULL OR s.next_run IS NULL OR s.next_run <= now())))
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                       WHERE l.locktype = 'userlock'
                         AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
                         AND l.classid::int = $3 AND l.objid::int = p.id)
     ORDER BY 3 DESC, s.next_run NULLS FIRST, p.id";

/// The mirrors that could be refreshed now, most urgent first, with their owners: not paused, not
/// being refreshed (no process holds the mirror's lock), and due by schedule, by request (in the
/// catalog or through shared memory) made after their last run began, or left mid-pass.
const DUE_MIRRORS: &str = "WITH asked (id, at) AS (SELECT * FROM unnest($2::int[], $4::timestamptz[]))
     SELECT m.id, m.owner::oid, (a.id IS NOT NULL OR m.requested_at > coalesce(s.run_started_at, '-infinity'))
     FROM tether.mirror_config m LEFT JOIN tether.mirror_state s ON s.mirror_id = m.id
          LEFT JOIN asked a ON a.id = m.id AND a.at > coalesce(s.run_started_at, '-infinity')
     WHERE NOT m.paused AND m.id <> ALL ($1)
       AND (s.mirror_id IS NULL OR s.next_run <= now() OR s.state = 'running' OR s.state = 'pending'
            OR m.requested_at > coalesce(s.run_started_at, '-infinity') OR a.id IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                       WHERE l.locktype = 'userlock'
                         AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
                         AND l.classid::int = $3 AND l.objid::int = m.id)
     ORDER BY 3 DESC, s.next_run NULLS FIRST, m.id";

/// The jobs of one kind that could start now, with their owners and whether each was asked for: the
/// query `due` ($1 the ids running in processes of this launcher, $2 and $4 the requests taken from
/// shared memory and when, $3 the kind's lock class).
fn due_of(
    kind: fn(i32) -> Job,
    due: &str,
    lock_class: i32,
    requested: &BTreeMap<Job, TimestampWithTimeZone>,
    launched: &HashMap<Job, Launched>,
) -> Vec<(Job, u32, bool)> {
    let busy: Vec<i32> = launched.keys().filter(|j| kind(j.id()) == **j).map(|j| j.id()).collect();
    let (requested_ids, requested_at): (Vec<i32>, Vec<TimestampWithTimeZone>) =
        requested.iter().filter(|(j, _)| kind(j.id()) == **j).map(|(j, at)| (j.id(), *at)).unzip();
    Spi::connect(|c| {
        match c.select(due, None, &[busy.into(), requested_ids.into(), lock_class.into(), requested_at.into()]) {
            Ok(rows) => rows
                .filter_map(|r| {
                    Some((
                        kind(r.get::<i32>(1).ok().flatten()?),
                        r.get::<pg_sys::Oid>(2).ok().flatten()?.to_u32(),
                        r.get::<bool>(3).ok().flatten().unwrap_or(false),
                    ))
                })
                .collect(),
            Err(e) => {
                log!("tether launcher: {e}");
                Vec::new()
            }
        }
    })
}

fn start_sync(job: Job) -> Option<DynamicBackgroundWorker> {
    // The process's type is what pg_stat_activity.backend_type shows.
    let (name, kind, function, id) = match job {
        Job::Mirror(id) => (format!("tether sync of mirror {id}"), "tether sync", "tether_sync_main", id),
        Job::Push(id) => (format!("tether push {id}"), "tether push", "tether_push_main", id),
    };
    BackgroundWorkerBuilder::new(&name)
        .set_type(kind)
        .set_library("tether")
        .set_function(function)
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_argument(Some(pg_sys::Datum::from(id)))
        // SAFETY: MyProcPid is a plain int set at process start and never changed after; read by value on
        // the launcher's main thread.
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic()
        .ok()
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn tether_sync_main(arg: pg_sys::Datum) {
    handle_signals();
    let id = arg.value() as i32;
    BackgroundWorker::connect_worker_to_spi(Some(&crate::gucs::database()), None);
    crate::sync::refresh::run(id);
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn tether_push_main(arg: pg_sys::Datum) {
    handle_signals();
    let id = arg.value() as i32;
    BackgroundWorker::connect_worker_to_spi(Some(&crate::gucs::database()), None);
    crate::push::run::run(id);
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn one_role_never_takes_the_whole_pool() {
        let mallory = 10;
        let alice = 11;
        let due = vec![(1, mallory), (2, mallory), (3, mallory), (4, alice), (5, mallory)];
        assert_eq!(pick(due.clone(), &[], 3), vec![(1, mallory), (2, mallory), (4, alice)]);
        // Two of mallory's running: her next ones wait, alice's starts.
        assert_eq!(pick(due.clone(), &[mallory, mallory], 3), vec![(4, alice)]);
        assert_eq!(pick(due.clone(), &[mallory, mallory, alice], 3), vec![]);
        // Alone, a role uses all but one process; with one process in all, that one.
        assert_eq!(pick(vec![(1, mallory), (2, mallory)], &[], 2), vec![(1, mallory)]);
        assert_eq!(pick(vec![(1, mallory), (2, mallory)], &[], 1), vec![(1, mallory)]);
        assert_eq!(pick(due, &[], 0), vec![]);
    }
}
