//! Every `tether.*` setting, typed and documented in one place (docs/sql.md lists them for users).

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
