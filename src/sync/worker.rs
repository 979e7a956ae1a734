//! The background processes: one launcher, registered at server start, that finds the mirrors due for a
//! refresh every `tether.poll_interval` (or at once when `tether.refresh()` wakes it) and starts a
//! sync process per mirror, at most `tether.max_sync_workers` at a time. A sync process refreshes one
//! mirror (`refresh::run`) and exits. A sync process that dies (killed, crashed) leaves its mirror in
//! the `running` state without the advisory lock it held: the launcher starts a new one, which resumes
//! after the last page applied.

use std::collections::HashMap;
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker};
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::sync::refresh::LOCK_CLASS;

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
    unsafe {
        pg_sys::pqsignal(libc::SIGTERM, Some(on_sigterm));
        pg_sys::pqsignal(libc::SIGHUP, Some(on_sighup));
        pg_sys::BackgroundWorkerUnblockSignals();
    }
}

/// What Postgres's `die` does: the next CHECK_FOR_INTERRUPTS ends the process (aborting the open
/// transaction), including while a provider request is awaited.
unsafe extern "C-unwind" fn on_sigterm(_signal: std::ffi::c_int) {
    unsafe {
        (&raw mut pg_sys::InterruptPending).write_volatile(1);
        (&raw mut pg_sys::ProcDiePending).write_volatile(1);
        pg_sys::SetLatch(pg_sys::MyLatch);
    }
}

unsafe extern "C-unwind" fn on_sighup(_signal: std::ffi::c_int) {
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
    BackgroundWorker::transaction(crate::sync::rights::pin_session);
    crate::sync::set_launcher_pid(unsafe { pg_sys::MyProcPid });
    log!("tether launcher started: keeping the mirror tables of database \"{database}\" in sync");
    let mut launched: HashMap<i32, DynamicBackgroundWorker> = HashMap::new();
    loop {
        wait_tick(crate::gucs::POLL_INTERVAL_MS.get().max(100) as i64);
        launched.retain(|_, w| w.pid().is_ok());
        let requests = crate::sync::take_requests();
        let room = (crate::gucs::MAX_SYNC_WORKERS.get().max(1) as usize).saturating_sub(launched.len());
        let due = BackgroundWorker::transaction(|| due_mirrors(&requests, room, &launched));
        for id in due {
            match start_sync(id) {
                Some(w) => {
                    launched.insert(id, w);
                }
                None => {
                    log!("tether: could not start a sync process for mirror {id} (max_worker_processes reached?)");
                    break;
                }
            }
        }
    }
}

/// Sleep until the latch is set (a wake-up) or `ms` pass, then handle interrupts (SIGTERM ends the
/// process) and a pending configuration reload. Returns whether the configuration was reloaded.
pub(crate) fn wait_tick(ms: i64) -> bool {
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
    unsafe {
        if pg_sys::ConfigReloadPending != 0 {
            pg_sys::ConfigReloadPending = 0;
            pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP);
            return true;
        }
    }
    false
}

/// Record refresh requests, then pick the mirrors to refresh now: not paused, not being refreshed
/// (no process holds the mirror's lock), and due by schedule, by request, or left mid-pass.
fn due_mirrors(requests: &[i32], room: usize, launched: &HashMap<i32, DynamicBackgroundWorker>) -> Vec<i32> {
    let installed =
        Spi::get_one::<bool>("SELECT to_regclass('tether.mirror_config') IS NOT NULL").ok().flatten().unwrap_or(false);
    if !installed {
        return Vec::new();
    }
    if !requests.is_empty() {
        let _ = Spi::run_with_args(
            "UPDATE tether.mirror_config SET requested_at = clock_timestamp() WHERE id = ANY($1)",
            &[requests.to_vec().into()],
        );
    }
    if room == 0 {
        return Vec::new();
    }
    let busy: Vec<i32> = launched.keys().copied().collect();
    Spi::connect(|c| {
        let rows = c.select(
            "SELECT m.id FROM tether.mirror_config m
             WHERE NOT m.paused AND m.id <> ALL ($1)
               AND (m.next_run <= now() OR m.state = 'running' OR m.state = 'pending'
                    OR m.requested_at > coalesce(m.run_started_at, '-infinity'))
               AND NOT EXISTS (SELECT 1 FROM pg_locks l
                               WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                 AND l.classid::int = $2 AND l.objid::int = m.id AND l.objsubid = 2)
             ORDER BY m.requested_at > coalesce(m.run_started_at, '-infinity') DESC, m.next_run
             LIMIT $3",
            None,
            &[busy.into(), LOCK_CLASS.into(), (room as i64).into()],
        );
        match rows {
            Ok(rows) => rows.into_iter().filter_map(|r| r.get::<i32>(1).ok().flatten()).collect(),
            Err(e) => {
                log!("tether launcher: {e}");
                Vec::new()
            }
        }
    })
}

fn start_sync(id: i32) -> Option<DynamicBackgroundWorker> {
    BackgroundWorkerBuilder::new(&format!("tether sync of mirror {id}"))
        .set_type("tether sync")
        .set_library("tether")
        .set_function("tether_sync_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_argument(Some(pg_sys::Datum::from(id)))
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
