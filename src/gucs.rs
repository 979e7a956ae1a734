//! Every `tether.*` setting, typed and documented in one place (docs/sql.md lists them for users).

use std::ffi::CString;
use std::time::Duration;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Default time to establish a connection to a provider; a server's connect_timeout option overrides it.
pub static CONNECT_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// Default longest wait for data from a provider; a server's read_timeout option overrides it.
pub static READ_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
/// Default retries of a failed request; a server's max_retries option overrides it.
pub static MAX_RETRIES: GucSetting<i32> = GucSetting::<i32>::new(3);
/// Default longest wait before one retry (a longer Retry-After fails the request instead).
pub static MAX_RETRY_WAIT_MS: GucSetting<i32> = GucSetting::<i32>::new(60_000);

/// The database whose mirrors the background worker keeps in sync.
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));
/// How often the worker looks for mirrors due for a refresh.
pub static POLL_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(1_000);
/// How many mirrors are refreshed at once (each by its own background process).
pub static MAX_SYNC_WORKERS: GucSetting<i32> = GucSetting::<i32>::new(2);

pub fn init() {
    GucRegistry::define_int_guc(
        c"tether.connect_timeout",
        c"Default time to establish a connection to a provider API.",
        c"A server's connect_timeout option overrides it. Waiting is interruptible: statement_timeout and pg_cancel_backend still apply.",
        &CONNECT_TIMEOUT_MS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"tether.read_timeout",
        c"Default longest wait for data from a provider API.",
        c"Applies to each read (and write) on the connection; a server's read_timeout option overrides it.",
        &READ_TIMEOUT_MS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"tether.max_retries",
        c"Default number of retries of a failed provider request.",
        c"Applies to 429 answers, connection failures and, for requests that are safe to repeat, 5xx answers. A server's max_retries option overrides it.",
        &MAX_RETRIES,
        0,
        20,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tether.max_retry_wait",
        c"Default longest wait before retrying a provider request.",
        c"A Retry-After longer than this fails the request instead of waiting. A server's max_retry_wait option overrides it.",
        &MAX_RETRY_WAIT_MS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
}

/// Settings of the background worker; only registered when tether is in shared_preload_libraries.
pub fn init_worker() {
    GucRegistry::define_string_guc(
        c"tether.database",
        c"Database whose mirror tables the tether background worker keeps in sync.",
        c"The worker idles until CREATE EXTENSION tether has run in it. Changing it needs a restart.",
        &DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tether.poll_interval",
        c"How often the tether background worker looks for mirrors due for a refresh.",
        c"tether.refresh() and webhooks wake it at once; schedules are checked this often.",
        &POLL_INTERVAL_MS,
        100,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"tether.max_sync_workers",
        c"How many mirror tables are refreshed at the same time.",
        c"Each refresh runs in its own background process; max_worker_processes must leave room for them.",
        &MAX_SYNC_WORKERS,
        1,
        64,
        GucContext::Sighup,
        GucFlags::default(),
    );
}

pub fn database() -> String {
    DATABASE.get().and_then(|c| c.into_string().ok()).unwrap_or_else(|| "postgres".into())
}

pub fn http_defaults() -> crate::http::Defaults {
    crate::http::Defaults {
        connect_timeout: connect_timeout(),
        read_timeout: read_timeout(),
        max_retries: MAX_RETRIES.get().clamp(0, 20) as u32,
        max_retry_wait: Duration::from_millis(MAX_RETRY_WAIT_MS.get().max(1) as u64),
    }
}

pub fn connect_timeout() -> Duration {
    Duration::from_millis(CONNECT_TIMEOUT_MS.get().max(1) as u64)
}

pub fn read_timeout() -> Duration {
    Duration::from_millis(READ_TIMEOUT_MS.get().max(1) as u64)
}
