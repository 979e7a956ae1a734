//! Every `tether.*` setting, typed and documented in one place (docs/sql.md lists them for users).

use std::time::Duration;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Default time to establish a connection to a provider; a server's connect_timeout option overrides it.
pub static CONNECT_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// Default longest wait for data from a provider; a server's read_timeout option overrides it.
pub static READ_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);

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
}

pub fn connect_timeout() -> Duration {
    Duration::from_millis(CONNECT_TIMEOUT_MS.get().max(1) as u64)
}

pub fn read_timeout() -> Duration {
    Duration::from_millis(READ_TIMEOUT_MS.get().max(1) as u64)
}
