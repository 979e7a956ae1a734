//! One refresh of one mirror, in a sync background process (docs/architecture.md, "A mirror refresh").
//!
//! A pass reads the source foreign table a batch of pages per transaction (`BATCH_ROWS`): `INSERT INTO
//! stage SELECT ... FROM source` with the `page` switch armed, so the scan (the same code as any query:
//! one HTTP engine, one mapper, the next page prefetched) fetches the batch from the saved position and
//! says where the listing continues. The batch is merged into the mirror (inserted, or updated where a value changed; unchanged rows are not
//! rewritten), the changes are announced on the mirror's own NOTIFY channel (a random name only roles
//! that may read the mirror are told: `tether.changes_channel`), and the new position is saved, all
//! in that transaction: a crash loses at most the batch in flight, and the next run resumes after the
//! last committed one. A full pass notes the id of every record it sees (`tether.pass_seen`) and, at its
//! end, removes the rows it did not see: the records deleted at the provider.
//!
//! Statements that touch the user's tables run as the mirror's owner (its user mapping, its
//! privileges) through `rights::as_owner`; the catalog is updated as the worker's superuser with the
//! search_path `rights::pin_session` pinned. The mirror's write-back trigger lets the refresh's own
//! writes through (`rights::Applying`): they come from the provider.

use std::panic::AssertUnwindSafe;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::PgTryBuilder;

use crate::connector::model::{DeletionsDef, SinceFormat};
use crate::connector::pager::PagerPosition;
use crate::error::{SqlState, TetherError};
use crate::fdw::page;
use crate::sync::merge::{Statements, Tables};
use crate::sync::rights::{as_owner, Applying};
use pgrx::spi::quote_identifier as quote_ident;

/// Lock held by the process refreshing a mirror, for the life of the process: a user lock
/// (`locktype = 'userlock'` in pg_locks: database, classid = LOCK_CLASS, objid = the mirror id), which
/// no SQL function can take. (An advisory lock, as used before, any role could hold to stop a
/// mirror's refreshes.)
pub const LOCK_CLASS: i32 = 0x7e7e_0001;

/// How long a statement of the sync process waits for a lock a session holds (a role writing to its
/// mirror) before the refresh fails and is retried
/// with backoff: a slot of the worker pool is never held for ever by someone else's transaction.
pub(crate) const SYNC_LOCK_TIMEOUT: &str = "10s";

/// Columns Tether adds to a mirror table.
pub const META_COLUMNS: [&str; 2] = ["_synced_at", "_sync_gen"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum PassKind {
    Backfill,
    Full,
    Incremental,
}

impl PassKind {
    fn name(self) -> &'static str {
        match self {
            PassKind::Backfill => "backfill",
            PassKind::Full => "full",
            PassKind::Incremental => "incremental",
        }
    }

    fn parse(s: &str) -> PassKind {
        match s {
            "backfill" => PassKind::Backfill,
            "incremental" => PassKind::Incremental,
            _ => PassKind::Full,
        }
    }

    /// Full passes see every record, so they also find the deleted ones.
    fn sweeps(self) -> bool {
        self != PassKind::Incremental
    }
}

/// A pass being run, with the statements built for its tables.
struct Pass {
    id: i32,
    run_id: i64,
    owner: pg_sys::Oid,
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    kind: PassKind,
    /// The pass notes what it sees and sweeps the rest at its end: a full one (or a backfill) over a
    /// mirror that had rows before it.
    sweeps: bool,
    gen: i64,
    cursor: Option<PagerPosition>,
    /// The pass resumes a position saved by an earlier run.
    resumed_at_cursor: bool,
    notify: bool,
    /// The mirror's NOTIFY channel.
    channel: String,
    /// `schema.table` of the mirror, in NOTIFY payloads.
    label: String,
    since: Option<String>,
    sql: Statements,
    pass_started_at: String,
    /// The source's connector, for messages.
    connector: String,
    /// The source's server, and where its connector lists deleted records (read by incremental passes).
    server_name: String,
    deletions: Option<DeletionsDef>,
    /// Where each batch of this run continued (a hash of the next request): a provider that sends a
    /// position again would keep the pass paging for ever, each batch being its own scan.
    seen: std::collections::HashSet<u64>,
    /// Pages read by this run, and at most how many one transaction reads (`BATCH_ROWS` worth).
    pages_read: i64,
    batch_pages: u64,
    /// When the last batch's read began.
    last_read_start: Option<pgrx::datum::TimestampWithTimeZone>,
}

/// Refresh mirror `id` to the end of a pass, or until an error (recorded in the catalog).
pub fn run(id: i32) {
    if let Err(e) = transaction(crate::sync::rights::pin_session) {
        log!("tether: mirror {id}: {}", e.one_line());
        return;
    }
    let locked = transaction(|| crate::sync::lock_job(LOCK_CLASS, id));
    match locked {
        Ok(true) => {}
        // Another process is refreshing this mirror (the launcher restarted meanwhile).
        Ok(false) => return,
        Err(e) => {
            log!("tether: mirror {id}: {}", e.one_line());
            return;
        }
    }
    // Page commits need not wait for their WAL flush: a crash loses the last pages together with the
    // positions saved with them (one transaction each), so the next run reads them again; nothing is
    // lost or applied twice.
    if let Err(e) = transaction(|| {
        Spi::run(&format!("SET synchronous_commit = off; SET lock_timeout = '{SYNC_LOCK_TIMEOUT}'"))
            .unwrap_or_else(|e| spi_error("setting up the sync session", e))
    }) {
        log!("tether: mirror {id}: {}", e.one_line());
        return;
    }
    let mut pass = match transaction(|| begin(id, None)) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            record_failure(id, None, &e, false);
            return;
        }
    };
    let mut first = true;
    loop {
        match transaction(|| apply_page(&mut pass)) {
            Ok(PageResult::More) => first = false,
            Ok(PageResult::Done) => break,
            Ok(PageResult::Stop) => return,
            Err(e)
                if pass.kind == PassKind::Incremental
                    && e.sqlstate().code() == SqlState::ProgramLimitExceeded.code() =>
            {
                // More records changed than the search endpoint can return: the full listing has no such
                // cap, so a full pass follows at once (what the search applied stays; the pass reads
                // every record and sweeps what is gone).
                log!("tether: mirror {id}: {}; a full pass follows", e.one_line());
                let run_id = pass.run_id;
                pass = match transaction(|| full_instead(&pass)).and_then(|_| transaction(|| begin(id, Some(run_id)))) {
                    Ok(Some(p)) => p,
                    Ok(None) => return,
                    Err(e) => {
                        record_failure(id, Some(run_id), &e, false);
                        return;
                    }
                };
                first = true;
            }
            Err(e) => {
                record_failure(id, Some(pass.run_id), &e, first && pass.resumed_at_cursor);
                return;
            }
        }
    }
    if pass.kind == PassKind::Incremental && pass.deletions.is_some() {
        if let Err(e) = transaction(|| apply_listed_deletions(&pass)) {
            record_failure(id, Some(pass.run_id), &e, false);
            return;
        }
    }
    let again = match transaction(|| apply_deletions(&pass)) {
        Ok(again) => again,
        Err(e) => {
            record_failure(id, Some(pass.run_id), &e, false);
            return;
        }
    };
    if let Err(e) = transaction(|| finish(&pass, again)) {
        record_failure(id, Some(pass.run_id), &e, false);
    }
}

/// About how many records one transaction of a refresh reads, merges and commits with its position:
/// pages are fetched while the rows of the one before go into the staging table, and the merge, the
/// statements around it and the commit are paid once per batch. A killed process loses at most the
/// batch in flight; the next run resumes after the last committed one.
const BATCH_ROWS: u64 = 5000;
/// At most this many pages per batch (small pages: a transaction stays short).
const MAX_BATCH_PAGES: u64 = 50;

/// Drop an incremental pass whose search matched too many records and ask for a full pass in its place
/// (what the search applied stays); the run goes on with it (`begin` with the run's id).
fn full_instead(pass: &Pass) {
    Spi::connect_mut(|c| {
        c.update(
            "UPDATE tether.mirror_state SET pass = NULL, pass_cursor = NULL, pass_since = NULL, full_requested = true
             WHERE mirror_id = $1 AND run_id = $2",
            None,
            &[pass.id.into(), pass.run_id.into()],
        )
        .unwrap_or_else(|e| spi_error("asking for a full pass", e));
    })
}

/// Remove the records the provider lists as deleted since the incremental pass's window began (the
/// connector's `deletions`: HubSpot's archived records, Salesforce's `queryAll` of deleted rows), read
/// as the owner through `tether.request_pages` with the owner's credentials. A row written through the
/// mirror after the listing was requested is kept (the write is newer than the listing).
fn apply_listed_deletions(pass: &Pass) {
    let (Some(def), Some(since)) = (&pass.deletions, &pass.since) else { return };
    Spi::connect_mut(|c| {
        let format = match def.since_format {
            SinceFormat::Iso => r#"SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#,
            SinceFormat::EpochMs => "SELECT floor(extract(epoch FROM $1::timestamptz) * 1000)::bigint::text",
            SinceFormat::Unix => "SELECT floor(extract(epoch FROM $1::timestamptz))::bigint::text",
        };
        let since = c
            .select(format, None, &[since.clone().into()])
            .unwrap_or_else(|e| spi_error("writing the deletions listing's window", e))
            .first()
            .get_one::<String>()
            .ok()
            .flatten()
            .unwrap_or_default();
        let fill = |text: &str| text.replace("{since}", &since);
        let query: serde_json::Map<String, serde_json::Value> =
            def.query.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(fill(v)))).collect();
        let pagination = serde_json::to_string(&def.pagination).unwrap_or_else(|_| "\"none\"".into());
        let id_path: Vec<String> = pointer_segments(&def.id);
        let listed_at = clock(c);
        let ids: Vec<String> = as_owner(pass.owner, || {
            c.update(
                "SELECT DISTINCT r #>> $6::text[] FROM tether.request_pages($1, $2, $3, $4::jsonb, $5, $7::jsonb) AS r
                 WHERE r #>> $6::text[] IS NOT NULL",
                None,
                &[
                    pass.server_name.clone().into(),
                    def.method.clone().into(),
                    fill(&def.path).into(),
                    serde_json::Value::Object(query).to_string().into(),
                    def.records.clone().into(),
                    id_path.into(),
                    pagination.into(),
                ],
            )
            .map(|rows| rows.into_iter().filter_map(|r| r.get::<String>(1).ok().flatten()).collect())
        })
        .unwrap_or_else(|e| spi_error("listing deleted records", e));
        if ids.is_empty() || !hold_mirror_table(c, pass) {
            return;
        }
        let args =
            [ids.into(), pass.label.clone().into(), pass.notify.into(), pass.channel.clone().into(), listed_at.into()];
        let deleted = owner_statement(c, pass, &pass.sql.delete_listed, &args, "removing deleted records")
            .first()
            .get_one::<i64>()
            .ok()
            .flatten()
            .unwrap_or(0);
        c.update(
            "UPDATE tether.sync_runs SET rows_deleted = rows_deleted + $2 WHERE id = $1",
            None,
            &[pass.run_id.into(), deleted.into()],
        )
        .unwrap_or_else(|e| spi_error("recording the run", e));
    })
}

/// The keys of a JSON pointer (`/data/object/id` is `{data,object,id}`), for `#>>`.
fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// Reported deletions looked at per refresh; more wait for the next one (which is requested at once),
/// so that a flood of deletion events cannot make one refresh endless.
const MAX_DELETIONS_PER_PASS: i64 = 200;

/// Remove the records webhooks reported deleted (`tether.mirror_deletions`), without taking the
/// events' word for it. Where the object can be fetched by id, the provider is asked and a record it
/// still has is kept (a deletion that was undone, events out of order, a forged event); otherwise a
/// full pass is requested, whose sweep removes what the provider no longer lists. A reported id that
/// cannot be an id of the mirror (it does not convert to the id column's type) is dropped with a line
/// in the server log: one bad event never stops the mirror. True when another refresh should follow at
/// once (deletions are left, or only a full pass can apply them).
fn apply_deletions(pass: &Pass) -> bool {
    Spi::connect_mut(|c| {
        let pending: Vec<String> = c
            .update(
                "SELECT record_id FROM tether.mirror_deletions WHERE mirror_id = $1 ORDER BY queued_at, record_id LIMIT $2",
                None,
                &[pass.id.into(), (MAX_DELETIONS_PER_PASS + 1).into()],
            )
            .unwrap_or_else(|e| spi_error("reading reported deletions", e))
            .filter_map(|r| r.get::<String>(1).ok().flatten())
            .collect();
        let more = pending.len() as i64 > MAX_DELETIONS_PER_PASS;
        let mut deleted = 0i64;
        let mut unverifiable = false;
        for record in pending.iter().take(MAX_DELETIONS_PER_PASS as usize) {
            match &pass.sql.exists {
                None => unverifiable = true,
                Some(exists) => {
                    let checked = subtransaction(|| {
                        let args = [record.clone().into()];
                        if !owner_statement(c, pass, exists, &args, "checking a deleted record").is_empty() {
                            return 0;
                        }
                        let args = [
                            record.clone().into(),
                            pass.label.clone().into(),
                            pass.notify.into(),
                            pass.channel.clone().into(),
                        ];
                        owner_statement(c, pass, &pass.sql.delete_one, &args, "removing a deleted record")
                            .first()
                            .get_one::<i64>()
                            .ok()
                            .flatten()
                            .unwrap_or(0)
                    });
                    match checked {
                        Ok(n) => deleted += n,
                        Err(e) => log!(
                            "tether: mirror {}: ignored a reported deletion of record \"{}\": {}",
                            pass.label,
                            crate::http::inbound::printable(record, 200),
                            crate::http::inbound::printable(&e.one_line(), 500)
                        ),
                    }
                }
            }
            c.update(
                "DELETE FROM tether.mirror_deletions WHERE mirror_id = $1 AND record_id = $2",
                None,
                &[pass.id.into(), record.clone().into()],
            )
            .unwrap_or_else(|e| spi_error("clearing a reported deletion", e));
        }
        if unverifiable {
            c.update(
                "UPDATE tether.mirror_state SET full_requested = true WHERE mirror_id = $1",
                None,
                &[pass.id.into()],
            )
            .unwrap_or_else(|e| spi_error("requesting a full pass", e));
        }
        if deleted > 0 {
            c.update(
                "UPDATE tether.sync_runs SET rows_deleted = rows_deleted + $2 WHERE id = $1",
                None,
                &[pass.run_id.into(), deleted.into()],
            )
            .unwrap_or_else(|e| spi_error("recording the run", e));
        }
        unverifiable || more
    })
}

/// Run `f` in a subtransaction of the current transaction, as a PL/pgSQL block with an EXCEPTION
/// clause does: an error rolls back what `f` did and comes back whole (`error::caught`); the
/// transaction goes on.
fn subtransaction<R>(f: impl FnOnce() -> R) -> Result<R, TetherError> {
    // SAFETY: main thread, inside a transaction (`transaction`), which BeginInternalSubTransaction needs
    // (it raises an ERROR otherwise). It makes the subtransaction's context current, so the caller's
    // context, which belongs to the enclosing transaction or outlives it, is made current again; it and
    // the resource owner are saved to be restored on both paths below, as PL/pgSQL's exec_stmt_block does.
    let (context, owner) = unsafe {
        let context = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(context);
        (context, owner)
    };
    let f = AssertUnwindSafe(f);
    let out = PgTryBuilder::new(move || Ok(f())).catch_others(|e| Err(crate::error::caught(e))).execute();
    // SAFETY: same thread and transaction, and the subtransaction begun above is still the current one:
    // `f` neither commits nor rolls back, and an ERROR inside it was caught by PgTryBuilder (pgrx copied
    // and flushed the error state) instead of unwinding past this frame. Releasing or rolling it back
    // (which also undoes what `as_owner` changed inside it: the user, the GUC nest level) and then
    // restoring the saved memory context and resource owner is PL/pgSQL's sequence.
    unsafe {
        match &out {
            Ok(_) => pg_sys::ReleaseCurrentSubTransaction(),
            Err(_) => pg_sys::RollbackAndReleaseCurrentSubTransaction(),
        }
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    }
    out
}

/// Run `f` in its own transaction; an error aborts it and comes back whole, with its SQLSTATE, DETAIL
/// and HINT, scrubbed of credentials (`error::caught`): it goes to the server log and to tables other
/// roles may read.
pub(crate) fn transaction<R>(f: impl FnOnce() -> R) -> Result<R, TetherError> {
    // SAFETY: main thread of a background process connected to its database
    // (BackgroundWorker::connect_worker_to_spi), between transactions: no caller nests `transaction` or
    // calls it inside BackgroundWorker::transaction. GetTransactionSnapshot is valid once the transaction
    // has started, and PushActiveSnapshot keeps its own copy.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let f = AssertUnwindSafe(f);
    let out = PgTryBuilder::new(move || Ok(f())).catch_others(|e| Err(crate::error::caught(e))).execute();
    // SAFETY: same thread, in the transaction started above. On success the snapshot pushed above is on
    // top again (SPI pops what it pushes), so it is popped and the transaction committed. On an ERROR,
    // caught by PgTryBuilder (pgrx flushed the error state), AbortCurrentTransaction cleans up the whole
    // transaction (snapshots, SPI, locks, memory) and TopMemoryContext is made current instead of a
    // context of the aborted transaction. `R` is returned by value: callers return Rust-owned values,
    // nothing that points into the transaction's memory.
    unsafe {
        match &out {
            Ok(_) => {
                pg_sys::PopActiveSnapshot();
                pg_sys::CommitTransactionCommand();
            }
            Err(_) => {
                pg_sys::AbortCurrentTransaction();
                pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
            }
        }
    }
    out
}

/// Raise an error of Tether's about the database's objects.
fn fail(state: SqlState, message: String) -> ! {
    crate::error::report(TetherError::sql(state, message, None))
}

/// A statement of Tether's own failed: a bug, or the catalog changed under it.
pub(crate) fn spi_error(what: &str, e: pgrx::spi::Error) -> ! {
    crate::error::report(TetherError::Internal(format!("{what}: {e}")))
}

/// Run one statement the worker built for the mirror's tables as its owner (`rights::as_owner`), with
/// the refresh's writes let through the write-back trigger. Each statement starts from the pinned
/// search_path, whatever the owner's code that ran in the statement before left behind.
fn owner_statement<'conn>(
    c: &mut SpiClient<'conn>,
    pass: &Pass,
    sql: &str,
    args: &[pgrx::datum::DatumWithOid],
    what: &str,
) -> pgrx::spi::SpiTupleTable<'conn> {
    as_owner(pass.owner, || {
        let _writing = Applying::to(pass.target);
        c.update(sql, None, args)
    })
    .unwrap_or_else(|e| spi_error(what, e))
}

/// What identifies a position in a listing: the request that reads the next page.
fn position_key(at: &PagerPosition) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    at.next.method.hash(&mut h);
    at.next.url.hash(&mut h);
    at.next.body.as_ref().map(|b| b.to_string()).hash(&mut h);
    h.finish()
}

/// Start a pass, or take up the one in progress. None when the mirror is gone or paused.
fn begin(id: i32, continuing: Option<i64>) -> Option<Pass> {
    Spi::connect_mut(|c| {
        // The mirror table before the worker's row of the mirror, in the order every writer takes them
        // (a page's merge, `tether.unmirror`), so that none waits for the other in a cycle.
        let locked = c
            .select("SELECT target::oid FROM tether.mirror_config WHERE id = $1", None, &[id.into()])
            .unwrap_or_else(|e| spi_error("reading the mirror", e))
            .first()
            .get_one::<pg_sys::Oid>()
            .ok()
            .flatten()?;
        // SAFETY: main thread, inside the refresh's transaction; LockRelationOid takes plain values and the
        // lock is the transaction's (a table dropped meanwhile is simply not found below).
        unsafe { pg_sys::LockRelationOid(locked, pg_sys::AccessShareLock as pg_sys::LOCKMODE) };
        // The worker's row of the mirror is made by its first refresh.
        c.update(
            "INSERT INTO tether.mirror_state (mirror_id) SELECT id FROM tether.mirror_config WHERE id = $1
             ON CONFLICT (mirror_id) DO NOTHING",
            None,
            &[id.into()],
        )
        .unwrap_or_else(|e| spi_error("reading the mirror", e));
        let row = c
            .update(
                "SELECT c.source::oid, c.target::oid, c.owner::oid, c.paused, s.pass, s.pass_gen, s.pass_since,
                        s.pass_cursor::text, c.updated_column::text, c.overlap::text, s.last_full IS NULL,
                        (c.sweep_every IS NOT NULL AND s.last_full + c.sweep_every <= now()) OR s.full_requested,
                        c.rate_share::float8, c.notify, c.target::text, c.channel
                 FROM tether.mirror_config c JOIN tether.mirror_state s ON s.mirror_id = c.id
                 WHERE c.id = $1 FOR UPDATE OF s",
                None,
                &[id.into()],
            )
            .unwrap_or_else(|e| spi_error("reading the mirror", e));
        let row = row.into_iter().next()?;
        let get_oid = |i: usize| row.get::<pg_sys::Oid>(i).ok().flatten().unwrap_or(pg_sys::Oid::INVALID);
        let (source, target, owner) = (get_oid(1), get_oid(2), get_oid(3));
        if target != locked {
            return None;
        }
        if row.get::<bool>(4).ok().flatten().unwrap_or(false) {
            return None;
        }
        let in_progress = row.get::<String>(5).ok().flatten();
        let mut gen = row.get::<i64>(6).ok().flatten().unwrap_or(0);
        let mut since = row.get::<String>(7).ok().flatten();
        let cursor_text = row.get::<String>(8).ok().flatten();
        let updated_column = row.get::<String>(9).ok().flatten();
        let overlap = row.get::<String>(10).ok().flatten().unwrap_or_else(|| "0".into());
        let never_full = row.get::<bool>(11).ok().flatten().unwrap_or(true);
        let sweep_due = row.get::<bool>(12).ok().flatten().unwrap_or(false);
        let rate_share = row.get::<f64>(13).ok().flatten().unwrap_or(1.0);
        let notify = row.get::<bool>(14).ok().flatten().unwrap_or(true);
        let channel = row.get::<String>(16).ok().flatten().unwrap_or_default();
        let label = row.get::<String>(15).ok().flatten().unwrap_or_default();
        let source_label = check_access(c, owner, source, target, &label);

        let (columns, by_value): (Vec<String>, Vec<bool>) = mirror_columns(c, source, target).into_iter().unzip();
        let loaded = crate::fdw::options::load_table(source).unwrap_or_else(|e| crate::error::report(e));
        let id_column = crate::sync::id_column(&loaded).unwrap_or_else(|e| crate::error::report(e));
        if !columns.contains(&id_column) {
            fail(
                SqlState::UndefinedColumn,
                format!("mirror {label} has no column \"{id_column}\" (the id of its source {})", loaded.label),
            )
        }

        let (kind, cursor, resumed) = match in_progress {
            Some(kind) => {
                let cursor = cursor_text.as_deref().and_then(|t| serde_json::from_str::<PagerPosition>(t).ok());
                let resumed = cursor.is_some();
                (PassKind::parse(&kind), cursor, resumed)
            }
            None => {
                let mut kind = if never_full {
                    PassKind::Backfill
                } else if updated_column.is_none() || sweep_due {
                    PassKind::Full
                } else {
                    PassKind::Incremental
                };
                since = None;
                if kind == PassKind::Incremental {
                    let col = quote_ident(updated_column.as_deref().unwrap_or_default());
                    let q = format!("SELECT (max({col}) - $1::interval)::text FROM {label}");
                    since = as_owner(owner, || {
                        c.update(&q, None, &[overlap.clone().into()])
                            .unwrap_or_else(|e| spi_error("reading the mirror's high-water mark", e))
                            .first()
                            .get_one::<String>()
                            .ok()
                            .flatten()
                    });
                    if since.is_none() {
                        kind = PassKind::Full;
                    }
                }
                if kind.sweeps() {
                    gen += 1;
                    // What an earlier pass saw (one interrupted and dropped), and what mirrors since
                    // removed left behind.
                    forget_seen(c, id);
                }
                c.update(
                    "UPDATE tether.mirror_state SET pass = $2, pass_started_at = now(), pass_gen = $3, pass_since = $4,
                            pass_cursor = NULL, pass_pages = 0, pass_rows = 0, pass_noted = 0, pass_total = NULL,
                            full_requested = full_requested AND $2 = 'incremental'
                     WHERE mirror_id = $1",
                    None,
                    &[id.into(), kind.name().into(), gen.into(), since.clone().into()],
                )
                .unwrap_or_else(|e| spi_error("starting a pass", e));
                (kind, None, false)
            }
        };
        // A run that ended without finishing (its process was killed, or the server stopped).
        c.update(
            "UPDATE tether.sync_runs SET finished_at = clock_timestamp(),
                    error = 'interrupted: the sync process ended before the pass did; the next run resumed it'
             WHERE mirror_id = $1 AND finished_at IS NULL AND id IS DISTINCT FROM $2",
            None,
            &[id.into(), continuing.into()],
        )
        .unwrap_or_else(|e| spi_error("closing an interrupted run", e));
        // A run that goes on with another pass keeps its row (its counts add up): a caller waiting for
        // it sees it finish once, at the end.
        let run_id = c
            .update(
                "WITH continued AS (UPDATE tether.sync_runs SET pass = $2 WHERE id = $4 RETURNING id),
                      started AS (INSERT INTO tether.sync_runs (mirror_id, pass, resumed)
                                  SELECT $1, $2, $3 WHERE $4 IS NULL RETURNING id)
                 SELECT id FROM continued UNION ALL SELECT id FROM started",
                None,
                &[id.into(), kind.name().into(), resumed.into(), continuing.into()],
            )
            .unwrap_or_else(|e| spi_error("recording the run", e))
            .first()
            .get_one::<i64>()
            .ok()
            .flatten()
            .unwrap_or(0);
        let pass_started_at = c
            .update(
                "UPDATE tether.mirror_state SET state = 'running', run_id = $2, run_started_at = clock_timestamp()
                 WHERE mirror_id = $1 RETURNING pass_started_at::text",
                None,
                &[id.into(), run_id.into()],
            )
            .unwrap_or_else(|e| spi_error("recording the run", e))
            .first()
            .get_one::<String>()
            .ok()
            .flatten()
            .unwrap_or_default();
        // A sweep can only remove rows older than the pass: none in a mirror the pass found empty (a
        // first backfill; the same when it resumes, all its rows being the pass's own). Such a pass
        // notes nothing of what it sees.
        let sweeps = kind.sweeps() && {
            let q = format!("SELECT EXISTS (SELECT 1 FROM {label} WHERE _synced_at < $1::timestamptz)");
            as_owner(owner, || {
                c.update(&q, None, &[pass_started_at.clone().into()])
                    .unwrap_or_else(|e| spi_error("looking for rows older than the pass", e))
                    .first()
                    .get_one::<bool>()
                    .ok()
                    .flatten()
                    .unwrap_or(true)
            })
        };

        crate::http::limit::set_share(rate_share);
        let updated = match (&since, &updated_column) {
            (Some(_), Some(col)) => Some((col.clone(), column_type(c, source, col))),
            _ => None,
        };
        let stmts = Statements::new(
            &Tables {
                target: &label,
                source: &source_label,
                columns: &columns,
                by_value: &by_value,
                id_column: &id_column,
                id_type: &column_type(c, target, &id_column),
                updated: updated.as_ref().map(|(col, ty)| (col.as_str(), ty.as_str())),
            },
            loaded.table.object.get.is_some(),
            &|name| quote_ident(name),
        );
        // The staging table is the worker's (a security-restricted operation may not create temporary
        // tables); the owner's scan fills it and the owner's merge reads it.
        c.update(&stmts.stage, None, &[]).unwrap_or_else(|e| spi_error("creating the staging table", e));
        let grant = format!(
            "GRANT SELECT, INSERT ON pg_temp.tether_stage TO {}",
            quote_ident(crate::fdw::options::role_name(owner))
        );
        c.update(&grant, None, &[]).unwrap_or_else(|e| spi_error("creating the staging table", e));
        // The owner reads what was deleted through the mirror, and writes the ids a pass saw as text.
        for (create, table, rights) in
            [(&stmts.gone, "tether_gone", "SELECT"), (&stmts.seen, "tether_seen", "SELECT, INSERT")]
        {
            c.update(create, None, &[]).unwrap_or_else(|e| spi_error("creating the staging table", e));
            let grant =
                format!("GRANT {rights} ON pg_temp.{table} TO {}", quote_ident(crate::fdw::options::role_name(owner)));
            c.update(&grant, None, &[]).unwrap_or_else(|e| spi_error("creating the staging table", e));
        }
        Some(Pass {
            id,
            run_id,
            owner,
            source,
            target,
            kind,
            sweeps,
            gen,
            cursor,
            resumed_at_cursor: resumed,
            notify,
            channel,
            label,
            since,
            sql: stmts,
            pass_started_at,
            connector: loaded.server.connector.name.clone(),
            server_name: loaded.server_name.clone(),
            deletions: loaded.table.object.deletions.clone(),
            seen: std::collections::HashSet::new(),
            pages_read: 0,
            last_read_start: None,
            batch_pages: (BATCH_ROWS / loaded.table.page_size(None).unwrap_or(100).max(1)).clamp(1, MAX_BATCH_PAGES),
        })
    })
}

/// The owner must still own the mirror, read the source and use its server. Returns the source's name.
fn check_access(
    c: &mut SpiClient<'_>,
    owner: pg_sys::Oid,
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    label: &str,
) -> String {
    let row = c
        .update(
            "SELECT (SELECT pg_has_role($1, relowner, 'USAGE') FROM pg_class WHERE oid = $3),
                    (SELECT has_table_privilege($1, $2, 'SELECT') FROM pg_class WHERE oid = $2),
                    (SELECT has_server_privilege($1, ft.ftserver, 'USAGE') FROM pg_foreign_table ft WHERE ft.ftrelid = $2),
                    (SELECT srvname::text FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = $2),
                    $1::regrole::text, (SELECT $2::regclass::text FROM pg_class WHERE oid = $2)",
            None,
            &[owner.into(), source.into(), target.into()],
        )
        .unwrap_or_else(|e| spi_error("checking the mirror owner's privileges", e));
    let row = row.first();
    let flag = |i: usize| row.get::<bool>(i).ok().flatten();
    let role = row.get::<String>(5).ok().flatten().unwrap_or_default();
    let server = row.get::<String>(4).ok().flatten().unwrap_or_default();
    let source_name = row.get::<String>(6).ok().flatten();
    let denied = SqlState::InsufficientPrivilege;
    match flag(1) {
        None => fail(SqlState::UndefinedTable, format!("mirror table {label} no longer exists")),
        Some(false) => fail(denied, format!("role {role} no longer owns mirror table {label}")),
        Some(true) => {}
    }
    let Some(source_name) = source_name else {
        fail(SqlState::UndefinedTable, format!("the source of mirror {label} no longer exists"))
    };
    if flag(3) != Some(true) {
        fail(denied, format!("role {role}, owner of mirror {label}, no longer has USAGE on server {server}"));
    }
    if flag(2) != Some(true) {
        fail(denied, format!("role {role}, owner of mirror {label}, no longer may SELECT from {source_name}"));
    }
    source_name
}

/// The mirror's data columns (those its source has too), and whether each can be compared by value: a
/// built-in type with a built-in equality, the same in the mirror and the source. Others are compared
/// as text (json has no equality; a type of the owner's would run the owner's operator).
fn mirror_columns(c: &mut SpiClient<'_>, source: pg_sys::Oid, target: pg_sys::Oid) -> Vec<(String, bool)> {
    let rows = c
        .update(
            "SELECT t.attname::text,
                    t.atttypid = s.atttypid AND t.atttypid = ANY ('{bool,int2,int4,int8,numeric,float4,float8,text,varchar,bpchar,date,timestamp,timestamptz,time,interval,uuid,jsonb,text[],int4[],int8[]}'::regtype[]::oid[])
             FROM pg_attribute t
             JOIN pg_attribute s ON s.attrelid = $1 AND s.attname = t.attname AND s.attnum > 0 AND NOT s.attisdropped
             WHERE t.attrelid = $2 AND t.attnum > 0 AND NOT t.attisdropped AND t.attname <> ALL ($3)
             ORDER BY t.attnum",
            None,
            &[source.into(), target.into(), META_COLUMNS.iter().map(|s| s.to_string()).collect::<Vec<_>>().into()],
        )
        .unwrap_or_else(|e| spi_error("reading the mirror's columns", e));
    rows.into_iter()
        .filter_map(|r| Some((r.get::<String>(1).ok().flatten()?, r.get::<bool>(2).ok().flatten().unwrap_or(false))))
        .collect()
}

fn column_type(c: &mut SpiClient<'_>, rel: pg_sys::Oid, column: &str) -> String {
    c.update(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1 AND attname = $2",
        None,
        &[rel.into(), column.into()],
    )
    .ok()
    .and_then(|r| r.first().get_one::<String>().ok().flatten())
    .unwrap_or_else(|| "timestamptz".into())
}

enum PageResult {
    More,
    Done,
    /// The mirror was removed or paused, or another run took over.
    Stop,
}

/// Whether `tether.pass_seen` holds every id the pass noted. A crash empties the (unlogged) table: the
/// pass then cannot tell what it saw before, sweeps nothing (removing a record the provider still has
/// would be worse than keeping one it deleted), and asks for a new full pass.
fn seen_is_whole(c: &mut SpiClient<'_>, pass: &Pass) -> bool {
    let whole = c
        .update(
            "SELECT (SELECT count(*) FROM tether.pass_seen WHERE mirror_id = $1 AND gen = $2)
                    >= (SELECT pass_noted FROM tether.mirror_state WHERE mirror_id = $1)",
            None,
            &[pass.id.into(), pass.gen.into()],
        )
        .unwrap_or_else(|e| spi_error("reading what the pass saw", e))
        .first()
        .get_one::<bool>()
        .ok()
        .flatten()
        .unwrap_or(false);
    if !whole {
        log!(
            "tether: mirror {}: the ids this full pass saw were lost (a crash empties tether.pass_seen); nothing swept, a new full pass follows",
            pass.label
        );
        forget_seen(c, pass.id);
    }
    whole
}

/// Empty `tether.pass_seen` of mirror `id`, and of mirrors no longer registered.
fn forget_seen(c: &mut SpiClient<'_>, id: i32) {
    c.update(
        "DELETE FROM tether.pass_seen p
         WHERE p.mirror_id = $1 OR NOT EXISTS (SELECT 1 FROM tether.mirror_config m WHERE m.id = p.mirror_id)",
        None,
        &[id.into()],
    )
    .unwrap_or_else(|e| spi_error("forgetting what a pass saw", e));
}

/// Whether the mirror is still this run's to refresh: registered, not paused, and not taken over by
/// another run.
fn still_ours(c: &mut SpiClient<'_>, pass: &Pass) -> bool {
    c.update(
        "SELECT NOT c.paused FROM tether.mirror_config c JOIN tether.mirror_state s ON s.mirror_id = c.id
         WHERE c.id = $1 AND s.run_id = $2",
        None,
        &[pass.id.into(), pass.run_id.into()],
    )
    .unwrap_or_else(|e| spi_error("reading the mirror", e))
    .first()
    .get_one::<bool>()
    .ok()
    .flatten()
        == Some(true)
}

/// Hold the mirror table against writers until the end of the transaction (SHARE ROW EXCLUSIVE:
/// readers go on, a role's INSERT, UPDATE or DELETE waits), so that every write made through the mirror
/// has committed, with its `_synced_at` or tombstone, or waits for the merge: the merge then sees all
/// it must not undo. Taken by oid (the worker's, no privilege checked, no code of the owner run), and
/// within `SYNC_LOCK_TIMEOUT`. False when the mirror was unregistered or paused meanwhile (`tether.
/// unmirror` takes the table first, so that it never waits for a refresh that waits for it), in which
/// case the page is not applied.
fn hold_mirror_table(c: &mut SpiClient<'_>, pass: &Pass) -> bool {
    // SAFETY: main thread, inside the refresh's transaction. LockRelationOid takes plain values; the
    // lock belongs to the transaction's resource owner and is released at its end. An ERROR (the lock
    // timeout, or the table dropped) unwinds to `transaction`, which aborts.
    unsafe { pg_sys::LockRelationOid(pass.target, pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE) };
    still_ours(c, pass)
}

/// The records deleted through the mirror since `fetched_at` into `pg_temp.tether_gone`, for the merge
/// not to put back (read after `hold_mirror_table`, so that a deletion that committed meanwhile is
/// there).
fn load_tombstones(c: &mut SpiClient<'_>, pass: &Pass, fetched_at: pgrx::datum::TimestampWithTimeZone) {
    c.update(
        "INSERT INTO pg_temp.tether_gone (id)
         SELECT record_id FROM tether.mirror_tombstones WHERE mirror_id = $1 AND deleted_at >= $2",
        None,
        &[pass.id.into(), fetched_at.into()],
    )
    .unwrap_or_else(|e| spi_error("reading the records deleted through the mirror", e));
}

/// Tombstones older than `fetched_at` no longer matter: every page still to come is fetched later.
fn forget_tombstones(c: &mut SpiClient<'_>, pass: &Pass, fetched_at: pgrx::datum::TimestampWithTimeZone) {
    c.update(
        "DELETE FROM tether.mirror_tombstones WHERE mirror_id = $1 AND deleted_at < $2",
        None,
        &[pass.id.into(), fetched_at.into()],
    )
    .unwrap_or_else(|e| spi_error("forgetting the records deleted through the mirror", e));
}

/// The time now, as the database's clock says (that of `clock_timestamp()`, which stamps the writes
/// made through a mirror).
fn clock(c: &mut SpiClient<'_>) -> pgrx::datum::TimestampWithTimeZone {
    c.update("SELECT clock_timestamp()", None, &[])
        .ok()
        .and_then(|r| r.first().get_one::<pgrx::datum::TimestampWithTimeZone>().ok().flatten())
        .unwrap_or_else(|| crate::error::report(TetherError::Internal("reading the clock".into())))
}

fn apply_page(pass: &mut Pass) -> PageResult {
    Spi::connect_mut(|c| {
        if !still_ours(c, pass) {
            return PageResult::Stop;
        }
        // The batch is as old as its first request: taken before the scan sends it, or, when the scan
        // reads on a stream the batch before parked (which fetched up to a batch ahead while that one
        // was read and merged), before that batch's read began.
        let now = clock(c);
        let fetched_at = match pass.last_read_start {
            Some(before) if page::is_parked() => before,
            _ => now,
        };
        pass.last_read_start = Some(now);
        page::arm(pass.source.to_u32(), pass.cursor.clone(), pass.batch_pages);
        let args: Vec<pgrx::datum::DatumWithOid> = match &pass.since {
            Some(s) => vec![s.clone().into()],
            None => vec![],
        };
        // The rows read (records listed, as staged), for the pass's progress.
        let read = as_owner(pass.owner, || c.update(&pass.sql.page, None, &args).map(|t| t.len() as i64));
        let outcome = page::disarm();
        let rows = read.unwrap_or_else(|e| spi_error("reading a page", e));
        let outcome = match outcome {
            Ok(o) => o,
            Err(page::Unclaimed) => {
                crate::error::report(TetherError::Internal("the refresh did not read its source page by page".into()))
            }
        };
        if !hold_mirror_table(c, pass) {
            return PageResult::Stop;
        }
        load_tombstones(c, pass, fetched_at);
        let args = [
            pass.gen.into(),
            pass.label.clone().into(),
            pass.notify.into(),
            pass.channel.clone().into(),
            fetched_at.into(),
        ];
        let row = owner_statement(c, pass, &pass.sql.apply, &args, "applying a page");
        let row = row.first();
        let n = |i: usize| row.get::<i64>(i).ok().flatten().unwrap_or(0);
        let (inserted, updated) = (n(1), n(2));
        let mut noted = 0i64;
        if pass.sweeps {
            // What the pass saw, for its sweep: the ids as text (as the owner), then into the worker's
            // bookkeeping (the temporary copy empties at commit; the sweep fills it with the whole pass).
            owner_statement(c, pass, &pass.sql.batch_ids, &[], "noting what the pass saw");
            noted = c
                .update(&pass.sql.note_seen, None, &[pass.id.into(), pass.gen.into()])
                .unwrap_or_else(|e| spi_error("noting what the pass saw", e))
                .first()
                .get_one::<i64>()
                .ok()
                .flatten()
                .unwrap_or(0);
        }
        forget_tombstones(c, pass, fetched_at);
        let (next, pages, total, requests) = match outcome {
            Some(o) => (o.next, o.pages as i64, o.total, o.requests),
            None => (None, 0, None, 0),
        };
        pass.pages_read += pages;
        if let Some(at) = &next {
            if !pass.seen.insert(position_key(at)) {
                crate::error::report(TetherError::BadResponse {
                    connector: pass.connector.clone(),
                    message: format!(
                        "the provider sent the position of a page it had sent before ({}) after page {} of this refresh; the refresh stopped instead of looping",
                        crate::connector::template::display_path(&at.next.url),
                        pass.pages_read
                    ),
                    detail: String::new(),
                })
            }
        }
        let cursor_json = next.as_ref().and_then(|p| serde_json::to_string(p).ok());
        c.update(
            "UPDATE tether.mirror_state SET pass_cursor = $2::jsonb, pass_pages = pass_pages + $5,
                    pass_rows = pass_rows + $3, pass_total = coalesce($4, pass_total), pass_noted = pass_noted + $6
             WHERE mirror_id = $1",
            None,
            &[
                pass.id.into(),
                cursor_json.into(),
                rows.into(),
                total.map(|t| t as i64).into(),
                pages.into(),
                noted.into(),
            ],
        )
        .unwrap_or_else(|e| spi_error("saving the position", e));
        c.update(
            "UPDATE tether.sync_runs SET pages = pages + $5, rows_inserted = rows_inserted + $2,
                    rows_updated = rows_updated + $3, requests = requests + $4
             WHERE id = $1",
            None,
            &[pass.run_id.into(), inserted.into(), updated.into(), (requests as i64).into(), pages.into()],
        )
        .unwrap_or_else(|e| spi_error("recording the run", e));
        pass.cursor = next;
        if pass.cursor.is_some() {
            PageResult::More
        } else {
            PageResult::Done
        }
    })
}

/// End the pass: the sweep of a full one, the mirror idle, the next run due after `every` (at once with
/// `again`).
fn finish(pass: &Pass, again: bool) {
    Spi::connect_mut(|c| {
        // The sweep too sees every write made through the mirror (a row written since the pass
        // started is kept: the provider has it).
        if !hold_mirror_table(c, pass) {
            return;
        }
        let whole = !pass.sweeps || seen_is_whole(c, pass);
        let deleted = if pass.sweeps && whole {
            c.update(
                "INSERT INTO pg_temp.tether_seen (id) SELECT id FROM tether.pass_seen WHERE mirror_id = $1 AND gen = $2",
                None,
                &[pass.id.into(), pass.gen.into()],
            )
            .unwrap_or_else(|e| spi_error("reading what the pass saw", e));
            // The sweep hashes every id the pass saw against the mirror's (a sort of both by the id's
            // collation costs several times more): the planner told how many there are, with room for
            // them in memory (this transaction only).
            for setting in
                ["ANALYZE pg_temp.tether_seen", "SET LOCAL work_mem = '64MB'", "SET LOCAL enable_mergejoin = off"]
            {
                c.update(setting, None, &[]).unwrap_or_else(|e| spi_error("preparing the sweep", e));
            }
            let args = [
                pass.pass_started_at.clone().into(),
                pass.label.clone().into(),
                pass.notify.into(),
                pass.channel.clone().into(),
            ];
            let deleted = owner_statement(c, pass, &pass.sql.sweep, &args, "removing deleted records")
                .first()
                .get_one::<i64>()
                .ok()
                .flatten()
                .unwrap_or(0);
            forget_seen(c, pass.id);
            deleted
        } else {
            0
        };
        let rows = owner_statement(c, pass, &pass.sql.count, &[], "counting the mirror's rows")
            .first()
            .get_one::<i64>()
            .ok()
            .flatten();
        c.update(
            "UPDATE tether.mirror_state s SET state = 'idle', pass = NULL, pass_cursor = NULL, pass_since = NULL,
                    last_success = now(), failures = 0, row_count = $3,
                    last_full = CASE WHEN $2 AND $5 THEN s.pass_started_at ELSE s.last_full END,
                    full_requested = s.full_requested OR NOT $5,
                    next_run = CASE WHEN $4 OR NOT $5 THEN now() ELSE now() + c.every END
             FROM tether.mirror_config c
             WHERE s.mirror_id = $1 AND c.id = s.mirror_id",
            None,
            &[pass.id.into(), pass.kind.sweeps().into(), rows.into(), again.into(), whole.into()],
        )
        .unwrap_or_else(|e| spi_error("finishing the pass", e));
        c.update(
            "UPDATE tether.sync_runs SET finished_at = clock_timestamp(), rows_deleted = rows_deleted + $2 WHERE id = $1",
            None,
            &[pass.run_id.into(), deleted.into()],
        )
        .unwrap_or_else(|e| spi_error("finishing the run", e));
    })
}

/// Put the mirror in the error state and schedule a retry with exponential backoff (10 s doubling, at
/// most an hour). A saved position that fails again right away is dropped: the next run starts the pass
/// over (a cursor may have expired at the provider).
fn record_failure(id: i32, run_id: Option<i64>, error: &TetherError, failed_at_resume: bool) {
    log!("tether: refresh of mirror {id} failed: {}", error.one_line());
    let message = error.to_string();
    let state = error.sqlstate().code().to_string();
    let detail = error.detail().map(str::to_string);
    let hint = error.hint().map(str::to_string);
    let result = transaction(|| {
        // A refresh can fail before it made the worker's row of the mirror (`begin`).
        Spi::run_with_args(
            "INSERT INTO tether.mirror_state (mirror_id) SELECT id FROM tether.mirror_config WHERE id = $1
             ON CONFLICT (mirror_id) DO NOTHING",
            &[id.into()],
        )
        .unwrap_or_else(|e| spi_error("recording the failure", e));
        Spi::run_with_args(
            "UPDATE tether.mirror_state SET state = 'error', last_error = $2, last_error_sqlstate = $3,
                    last_error_detail = $4, last_error_hint = $5, last_error_at = now(),
                    next_run = now() + least(interval '1 hour', interval '10 seconds' * power(2, least(failures, 12))),
                    pass_cursor = CASE WHEN $6 AND failures > 0 THEN NULL ELSE pass_cursor END,
                    failures = failures + 1
             WHERE mirror_id = $1",
            &[
                id.into(),
                message.clone().into(),
                state.clone().into(),
                detail.clone().into(),
                hint.clone().into(),
                failed_at_resume.into(),
            ],
        )
        .unwrap_or_else(|e| spi_error("recording the failure", e));
        let args = [message.clone().into(), state.clone().into(), detail.clone().into(), hint.clone().into()];
        if let Some(run) = run_id {
            let mut with_run = vec![run.into()];
            with_run.extend(args);
            Spi::run_with_args(
                "UPDATE tether.sync_runs SET finished_at = clock_timestamp(), error = $2, error_sqlstate = $3,
                        error_detail = $4, error_hint = $5
                 WHERE id = $1",
                &with_run,
            )
            .unwrap_or_else(|e| spi_error("recording the failure", e));
        } else {
            let mut with_id = vec![id.into()];
            with_id.extend(args);
            Spi::run_with_args(
                "INSERT INTO tether.sync_runs (mirror_id, pass, finished_at, error, error_sqlstate, error_detail, error_hint)
                 SELECT mirror_id, coalesce(pass, 'full'), clock_timestamp(), $2, $3, $4, $5
                 FROM tether.mirror_state WHERE mirror_id = $1",
                &with_id,
            )
            .unwrap_or_else(|e| spi_error("recording the failure", e));
        }
    });
    if let Err(e) = result {
        log!("tether: mirror {id}: could not record the failure: {}", e.one_line());
    }
}
