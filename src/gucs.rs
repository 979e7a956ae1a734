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

/// Largest memory an answer of tether.request / tether.request_pages may take once parsed, in kB.
pub static MAX_ANSWER_MEMORY_KB: GucSetting<i32> = GucSetting::<i32>::new(128 * 1024);

/// The database whose mirrors the background worker keeps in sync.
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));
/// How often the worker looks for mirrors due for a refresh.
pub static POLL_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(1_000);
/// How many mirrors are refreshed at once (each by its own background process).
pub static MAX_SYNC_WORKERS: GucSetting<i32> = GucSetting::<i32>::new(3);
/// Seconds a push waits before it settles a create of unknown outcome (`docs/push.md`).
pub static PUSH_SETTLE_AFTER_S: GucSetting<i32> = GucSetting::<i32>::new(60);
/// Where the webhook receiver listens: empty or 'off' (the default), 'on' (127.0.0.1:8787), a port on
/// the loopback address, or host:port.
pub static WEBHOOK_LISTEN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// Largest webhook body accepted, in kB.
pub static WEBHOOK_MAX_BODY_KB: GucSetting<i32> = GucSetting::<i32>::new(1024);
/// Replay window of signed webhook timestamps, in seconds.
pub static WEBHOOK_TOLERANCE_S: GucSetting<i32> = GucSetting::<i32>::new(300);
/// How long recorded webhook events are kept, in seconds.
pub static WEBHOOK_RETENTION_S: GucSetting<i32> = GucSetting::<i32>::new(7 * 24 * 3600);

/// The port `tether.webhook_listen = on` listens on.
pub const DEFAULT_WEBHOOK_PORT: u16 = 8787;

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
    GucRegistry::define_int_guc(
        c"tether.max_answer_memory",
        c"Largest memory an answer of tether.request or a page of tether.request_pages may take once parsed.",
        c"Estimated from the JSON text before parsing (small values take far more memory parsed than as text); a larger answer is refused with an error instead of running the backend out of memory.",
        &MAX_ANSWER_MEMORY_KB,
        64,
        1024 * 1024,
        GucContext::Userset,
        GucFlags::UNIT_KB,
    );
}

/// `tether.max_answer_memory` in bytes.
pub fn max_answer_memory() -> usize {
    MAX_ANSWER_MEMORY_KB.get().max(64) as usize * 1024
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
        c"Each refresh runs in its own background process; max_worker_processes must leave room for them. One role's mirrors use at most all but one of them.",
        &MAX_SYNC_WORKERS,
        1,
        64,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tether.push_settle_after",
        c"How long a push waits before it settles a create whose outcome it did not learn.",
        c"A request in flight when its process died may still be carried out, and a provider's search may take a few seconds to find a new record: until then the row is neither looked up nor sent again.",
        &PUSH_SETTLE_AFTER_S,
        0,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_string_guc(
        c"tether.webhook_listen",
        c"Address the tether webhook receiver listens on (POST /webhooks/<server>).",
        c"off (default), on (127.0.0.1:8787), a port on 127.0.0.1, or address:port. Put a TLS-terminating proxy in front of it for providers on the internet. Changing it needs a restart.",
        &WEBHOOK_LISTEN,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"tether.webhook_max_body",
        c"Largest webhook body the receiver accepts; larger deliveries are refused with 413.",
        c"",
        &WEBHOOK_MAX_BODY_KB,
        1,
        1024 * 1024,
        GucContext::Sighup,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"tether.webhook_tolerance",
        c"How far a signed webhook timestamp may be from the server's clock (the replay window).",
        c"Older (or later) deliveries are refused with 401.",
        &WEBHOOK_TOLERANCE_S,
        1,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"tether.webhook_retention",
        c"How long tether.webhook_events keeps a recorded webhook event.",
        c"",
        &WEBHOOK_RETENTION_S,
        60,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
}

/// The address `tether.webhook_listen` names, None when webhooks are off.
pub fn parse_webhook_listen(value: &str) -> Result<Option<std::net::SocketAddr>, String> {
    let v = value.trim();
    let loopback = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    if v.is_empty() || v.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    if v.eq_ignore_ascii_case("on") {
        return Ok(Some(loopback(DEFAULT_WEBHOOK_PORT)));
    }
    if let Ok(port) = v.parse::<u16>() {
        return Ok(Some(loopback(port)));
    }
    if let Some(port) = v.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(Some(loopback(port)));
        }
    }
    v.parse::<std::net::SocketAddr>().map(Some).map_err(|_| {
        format!(
            "invalid value for parameter \"tether.webhook_listen\": \"{v}\"; accepted: off, on (127.0.0.1:{DEFAULT_WEBHOOK_PORT}), a port (on 127.0.0.1), or address:port such as 0.0.0.0:8787"
        )
    })
}

pub fn webhook_listen() -> Result<Option<std::net::SocketAddr>, String> {
    let value = WEBHOOK_LISTEN.get().and_then(|c| c.into_string().ok()).unwrap_or_default();
    parse_webhook_listen(&value)
}

pub fn webhook_max_body() -> usize {
    WEBHOOK_MAX_BODY_KB.get().max(1) as usize * 1024
}

pub fn webhook_tolerance() -> Duration {
    Duration::from_secs(WEBHOOK_TOLERANCE_S.get().max(1) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_listen_values() {
        assert_eq!(parse_webhook_listen(""), Ok(None));
        assert_eq!(parse_webhook_listen("off"), Ok(None));
        assert_eq!(parse_webhook_listen("on").unwrap().unwrap().to_string(), "127.0.0.1:8787");
        assert_eq!(parse_webhook_listen("9000").unwrap().unwrap().to_string(), "127.0.0.1:9000");
        assert_eq!(parse_webhook_listen("localhost:9001").unwrap().unwrap().to_string(), "127.0.0.1:9001");
        assert_eq!(parse_webhook_listen("0.0.0.0:80").unwrap().unwrap().to_string(), "0.0.0.0:80");
        let err = parse_webhook_listen("example.com:80").unwrap_err();
        assert!(err.contains("accepted: off, on"), "{err}");
    }
}
