//! The webhook receiver: a background process, started when `tether.webhook_listen` is set, that serves
//! `POST /webhooks/<server>`. Helper threads read each request (`http::inbound`); the process's main
//! thread, the only one that touches Postgres, verifies it (`connector::webhook`) with the
//! `webhook_secret` of the server owner's user mapping, records its events in `tether.webhook_events`
//! and asks for a refresh of the mirrors of the objects they name, commits, wakes the launcher, and
//! only then answers 2xx. Unauthenticated clients learn nothing about servers and connectors from a
//! refusal; the log says why, with their text escaped.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::connector::server;
use crate::connector::webhook::{self, Delivery, Event};
use crate::error::{report, SqlState, TetherError};
use crate::fdw::{options, registry};
use crate::http::inbound::{self, Answer, Inbound};
use crate::sync::refresh::transaction;
use crate::sync::worker::{catalog, Catalog, LIBRARY_VERSION};

/// How long a delivery waits for the main thread before the provider is told to retry.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

pub fn register() {
    BackgroundWorkerBuilder::new("tether webhooks")
        .set_type("tether webhooks")
        .set_library("tether")
        .set_function("tether_webhooks_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// Requests read by the helper threads, waiting for the main thread.
struct Inbox {
    jobs: Mutex<Vec<(Inbound, Sender<Answer>)>>,
    pid: i32,
}

impl Inbox {
    /// Called on a helper thread: queue the request, wake the main thread, wait for its answer.
    fn submit(&self, request: Inbound) -> Answer {
        let (tx, rx) = mpsc::channel();
        match self.jobs.lock() {
            Ok(mut jobs) => jobs.push((request, tx)),
            Err(_) => return Answer::message(500, "the webhook receiver is shutting down"),
        }
        // SIGUSR1 sets the main thread's latch (helper threads block every signal, so the kernel
        // delivers it there).
        // SAFETY: this runs on a helper thread, which must not call Postgres: kill(2) is a plain
        // thread-safe system call that takes only integers and touches no Postgres state. self.pid is
        // this process's own pid (MyProcPid, read by the main thread at start), so it signals no other
        // process.
        unsafe {
            libc::kill(self.pid, libc::SIGUSR1);
        }
        rx.recv_timeout(ANSWER_TIMEOUT)
            .unwrap_or_else(|_| Answer::message(503, "the database did not record the delivery in time; retry"))
    }

    fn take(&self) -> Vec<(Inbound, Sender<Answer>)> {
        self.jobs.lock().map(|mut j| std::mem::take(&mut *j)).unwrap_or_default()
    }
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn tether_webhooks_main(_arg: pg_sys::Datum) {
    crate::sync::worker::handle_signals();
    let database = crate::gucs::database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    BackgroundWorker::transaction(|| {
        crate::sync::rights::pin_session();
        // A role's open transaction can hold its row of tether.mirror_config locked: a delivery that
        // needs it waits this long at most (then the provider is told to retry).
        let _ = Spi::run("SET lock_timeout = '1s'");
    });
    let addr = match crate::gucs::webhook_listen() {
        Ok(Some(addr)) => addr,
        Ok(None) => return,
        Err(m) => report(bad_setting(m)),
    };
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => report(bad_setting(format!(
            "tether webhooks: could not listen on {addr}: {e} (tether.webhook_listen); retrying in 5 s"
        ))),
    };
    // SAFETY: MyProcPid is a plain int set at process start and never changed after; read by value on the
    // main thread.
    let inbox = Arc::new(Inbox { jobs: Mutex::new(Vec::new()), pid: unsafe { pg_sys::MyProcPid } });
    let max_body = Arc::new(AtomicUsize::new(crate::gucs::webhook_max_body()));
    let submit = inbox.clone();
    if let Err(e) = inbound::serve(listener, max_body.clone(), Arc::new(move |r| submit.submit(r))) {
        report(e);
    }
    log!("tether webhooks: receiving on http://{addr}/webhooks/<server> for database \"{database}\"");
    let mut last_purge: Option<Instant> = None;
    loop {
        if crate::sync::worker::wait_tick(1_000) {
            max_body.store(crate::gucs::webhook_max_body(), Ordering::Relaxed);
        }
        for (request, reply) in inbox.take() {
            let _ = reply.send(answer(&request, addr));
        }
        if last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            last_purge = Some(Instant::now());
            purge();
        }
    }
}

/// What an unauthenticated client learns when there is no receiver for it: the same answer whether the
/// server does not exist, uses a connector without webhooks, or has no webhook secret, so that nobody
/// can list servers and connectors by probing. Why is in the server log.
const NOT_HERE: &str = "no webhook receiver at this address";

fn answer(request: &Inbound, addr: std::net::SocketAddr) -> Answer {
    let path = request.target.split('?').next().unwrap_or("");
    let Some(server) = path.strip_prefix("/webhooks/").filter(|s| !s.is_empty() && !s.contains('/')) else {
        return Answer::message(404, "webhooks are received at POST /webhooks/<server name>");
    };
    let server = crate::connector::template::decode_component(server, false);
    if request.method != "POST" {
        return Answer::message(405, "webhooks are received with POST");
    }
    // New binaries, and ALTER EXTENSION tether UPDATE not run yet: the catalog is the old version's, so
    // nothing is recorded. A provider retries a delivery it was not answered 2xx.
    if let Ok(Catalog::Other(installed)) = transaction(catalog) {
        log!(
            "tether webhooks: a delivery was not recorded: the tether extension in this database is version {installed}, the library version {LIBRARY_VERSION} (ALTER EXTENSION tether UPDATE)"
        );
        return Answer::message(503, "Tether is being updated; retry later");
    }
    // Attacker-supplied text (the server name from the URL, refusal reasons quoting headers) is
    // escaped for the log: one delivery, one log line.
    let shown = inbound::printable(&server, 100);
    let (answer, woken) = match transaction(|| receive(&server, request, addr)) {
        Ok(Received { answer, woken, why }) => {
            if let Some(why) = why {
                log!(
                    "tether webhooks: refused a delivery for server \"{shown}\" ({}): {}",
                    answer.status,
                    inbound::printable(&why, 500)
                );
            } else if answer.status >= 400 {
                log!(
                    "tether webhooks: refused a delivery for server \"{shown}\" ({}): {}",
                    answer.status,
                    inbound::printable(&answer.body, 500)
                );
            }
            (answer, woken)
        }
        Err(e) => {
            log!(
                "tether webhooks: a delivery for server \"{shown}\" failed: {}",
                inbound::printable(&e.one_line(), 1000)
            );
            (Answer::message(500, "the delivery could not be recorded; retry later"), Vec::new())
        }
    };
    if !woken.is_empty() {
        crate::sync::queue_requests(&woken);
        crate::sync::wake_launcher();
    }
    answer
}

/// The outcome of a delivery: the answer, the mirrors asked to refresh, and for refusals whose answer
/// says less than the log should, the reason.
struct Received {
    answer: Answer,
    woken: Vec<i32>,
    why: Option<String>,
}

impl Received {
    fn refused(answer: Answer) -> Received {
        Received { answer, woken: Vec::new(), why: None }
    }

    fn not_here(why: String) -> Received {
        Received { answer: Answer::message(404, NOT_HERE), woken: Vec::new(), why: Some(why) }
    }
}

/// The webhook secret of a server: in the user mapping of the server's owner, which only that role (and
/// superusers) can read. A PUBLIC mapping or another role's mapping does not count: anyone with USAGE
/// on the server may create their own.
fn owner_webhook_secret(server: pg_sys::Oid) -> Option<String> {
    let options = Spi::get_one_with_args::<Vec<String>>(
        "SELECT m.umoptions::text[] FROM pg_catalog.pg_user_mapping m
         JOIN pg_catalog.pg_foreign_server s ON s.oid = m.umserver AND m.umuser = s.srvowner
         WHERE m.umserver = $1",
        &[server.into()],
    )
    .ok()
    .flatten()?;
    options.into_iter().find_map(|o| o.strip_prefix("webhook_secret=").map(str::to_string))
}

/// Verify and record one delivery (inside a transaction).
fn receive(server: &str, request: &Inbound, addr: std::net::SocketAddr) -> Received {
    let installed = Spi::get_one::<bool>("SELECT pg_catalog.to_regclass('tether.webhook_events') IS NOT NULL")
        .ok()
        .flatten()
        .unwrap_or(false);
    if !installed {
        return Received::refused(Answer::message(
            503,
            "the tether extension is not installed in the worker's database (tether.database)",
        ));
    }
    let found = Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT s.oid FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
         WHERE s.srvname = $1 AND w.fdwname = 'tether'",
        &[server.into()],
    )
    .ok()
    .flatten();
    let Some(server_oid) = found else {
        return Received::not_here(format!("no tether server named \"{server}\""));
    };
    // SAFETY: main thread, inside `transaction` (catalog lookups). GetForeignServer raises an ERROR for a
    // server that has gone since the query above and never returns NULL; its options (NIL or a List of
    // DefElem, as options_from_list requires) are read at once, in the transaction's memory.
    let opts = unsafe { options::options_from_list((*pg_sys::GetForeignServer(server_oid)).options) };
    let def = match server::resolve_server(&opts, registry::find) {
        Ok(d) => d,
        Err(e) => return Received::not_here(format!("server \"{server}\": {e}")),
    };
    let Some(hooks) = def.connector.webhooks.clone() else {
        return Received::not_here(format!(
            "server \"{server}\" uses connector \"{}\", which does not receive webhooks",
            def.connector.name
        ));
    };
    if opts.contains_key("webhook_secret") {
        log!(
            "tether webhooks: server \"{}\" still has the server option webhook_secret, which every role can read; it is ignored: move it to the server owner's user mapping (docs/mirrors.md#webhooks)",
            inbound::printable(server, 100)
        );
    }
    let Some(secret) = owner_webhook_secret(server_oid) else {
        return Received::not_here(format!(
            "server \"{server}\" has no webhook_secret in its owner's user mapping, so its webhooks are not accepted"
        ));
    };
    crate::http::redact::remember(&secret);
    if let Err(e) = server::check_webhook_secret(&def, &secret) {
        return Received::not_here(format!("server \"{server}\": {e}"));
    }
    let url = def.webhook_url.clone().unwrap_or_else(|| {
        let host = request.header("host").map(str::to_string).unwrap_or_else(|| addr.to_string());
        format!("http://{host}{}", request.target)
    });
    let delivery =
        Delivery { method: request.method.clone(), url, headers: request.headers.clone(), body: request.body.clone() };
    if let Err(refusal) =
        webhook::verify(&hooks.signature, &secret, &delivery, SystemTime::now(), crate::gucs::webhook_tolerance())
    {
        return Received::refused(Answer::message(refusal.status(), refusal.message()));
    }
    let events = match webhook::events(&hooks, &delivery) {
        Ok(e) => e,
        Err(refusal) => return Received::refused(Answer::message(refusal.status(), refusal.message())),
    };
    // A signature that covers no timestamp: a replay is known by its body (its headers are unsigned).
    let digest = (!hooks.signature.signs_time()).then(|| webhook::body_digest(&delivery.body));
    if let Some(d) = &digest {
        let replayed = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM tether.webhook_events WHERE server = $1 AND body_sha256 = $2)",
            &[server.into(), d.clone().into()],
        )
        .unwrap_or_else(|e| spi_error("looking for a replayed delivery", e))
        .unwrap_or(false);
        if replayed {
            let body = serde_json::json!({
                "received": events.len(), "recorded": 0, "duplicates": events.len(), "mirrors_refreshed": 0,
            });
            return Received {
                answer: Answer { status: 200, body: body.to_string() },
                woken: Vec::new(),
                why: Some("a delivery with the body of one already recorded (a replay, or the provider's retry): recorded nothing".into()),
            };
        }
    }
    let generic = def.connector.objects.is_empty();
    let mut recorded = 0usize;
    let mut woken: BTreeSet<i32> = BTreeSet::new();
    for event in &events {
        let mirrors = mirrors_for(server_oid, event, generic);
        let id = Spi::connect_mut(|c| {
            c.update(
                "INSERT INTO tether.webhook_events (server, event_id, topic, object, record_id, deleted, mirrors, payload, body_sha256)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (server, event_id) WHERE event_id IS NOT NULL DO NOTHING
                 RETURNING id",
                None,
                &[
                    server.into(),
                    event.event_id.clone().into(),
                    event.topic.clone().into(),
                    event.object.clone().or_else(|| event.provider_object.clone()).into(),
                    event.record_id.clone().into(),
                    event.deleted.into(),
                    mirrors.clone().into(),
                    JsonB(event.payload.clone()).into(),
                    digest.clone().into(),
                ],
            )
            .unwrap_or_else(|e| spi_error("recording a webhook event", e))
            .next()
            .and_then(|row| row.get::<i64>(1).ok().flatten())
        });
        // None: the provider retried an event already recorded (its refresh was requested then).
        let Some(id) = id else { continue };
        recorded += 1;
        if let (true, Some(record)) = (event.deleted, &event.record_id) {
            Spi::run_with_args(
                "INSERT INTO tether.mirror_deletions (mirror_id, record_id, event)
                 SELECT m, $2, $3 FROM unnest($1::int[]) m
                 ON CONFLICT (mirror_id, record_id) DO UPDATE SET event = excluded.event",
                &[mirrors.clone().into(), record.clone().into(), id.into()],
            )
            .unwrap_or_else(|e| spi_error("recording a reported deletion", e));
        }
        woken.extend(mirrors);
    }
    let woken: Vec<i32> = woken.into_iter().collect();
    if !woken.is_empty() {
        // Recorded so that the request outlives a restart; a row a role keeps locked is skipped (its
        // request still reaches the launcher through shared memory).
        Spi::run_with_args(
            "UPDATE tether.mirror_config SET requested_at = clock_timestamp()
             WHERE id IN (SELECT id FROM tether.mirror_config WHERE id = ANY ($1) FOR UPDATE SKIP LOCKED)",
            &[woken.clone().into()],
        )
        .unwrap_or_else(|e| spi_error("requesting a refresh", e));
    }
    let body = serde_json::json!({
        "received": events.len(),
        "recorded": recorded,
        "duplicates": events.len() - recorded,
        "mirrors_refreshed": woken.len(),
    });
    Received { answer: Answer { status: 200, body: body.to_string() }, woken, why: None }
}

/// The mirrors an event concerns: those whose source is a table of the event's object on this server;
/// every mirror of the server when the delivery names no topic; for a connector without named objects
/// (rest), the mirrors whose source table is named like the event's object.
fn mirrors_for(server: pg_sys::Oid, event: &Event, generic: bool) -> Vec<i32> {
    let (object, table) = match (&event.object, &event.topic, generic) {
        (Some(o), _, _) => (Some(o.clone()), None),
        (None, None, _) => (None, None),
        (None, Some(_), true) => (None, event.provider_object.clone()),
        (None, Some(_), false) => return Vec::new(),
    };
    Spi::connect(|c| {
        c.select(
            "SELECT m.id FROM tether.mirror_config m
             JOIN pg_foreign_table ft ON ft.ftrelid = m.source
             JOIN pg_class r ON r.oid = m.source
             WHERE ft.ftserver = $1
               AND ($2::text IS NULL OR 'object=' || $2 = ANY (ft.ftoptions))
               AND ($3::text IS NULL OR r.relname = $3)
             ORDER BY m.id",
            None,
            &[server.into(), object.into(), table.into()],
        )
        .map(|rows| rows.into_iter().filter_map(|r| r.get::<i32>(1).ok().flatten()).collect())
        .unwrap_or_else(|e| spi_error("finding the mirrors of a webhook event", e))
    })
}

/// A setting the receiver cannot work with (its process ends; the postmaster restarts it).
fn bad_setting(message: String) -> TetherError {
    TetherError::sql(SqlState::InvalidParameterValue, message, None)
}

/// A statement of the receiver's own failed: the delivery is answered 500 and the provider retries.
fn spi_error(what: &str, e: pgrx::spi::Error) -> ! {
    report(TetherError::Internal(format!("{what}: {e}")))
}

/// Forget events older than tether.webhook_retention.
fn purge() {
    let retention = crate::gucs::WEBHOOK_RETENTION_S.get().max(60) as f64;
    let result = transaction(|| {
        let installed = Spi::get_one::<bool>("SELECT to_regclass('tether.webhook_events') IS NOT NULL")
            .ok()
            .flatten()
            .unwrap_or(false);
        if installed {
            Spi::run_with_args(
                "DELETE FROM tether.webhook_events WHERE received_at < now() - make_interval(secs => $1)",
                &[retention.into()],
            )
            .unwrap_or_else(|e| spi_error("removing old events", e));
        }
    });
    if let Err(e) = result {
        log!("tether webhooks: could not remove old events: {}", e.one_line());
    }
}
