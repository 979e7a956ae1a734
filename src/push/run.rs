//! One run of a push, in its own background process. Every statement that touches the owner's tables
//! (the source, the map, a lookup through the target) runs as the push's owner (`rights::as_owner`);
//! requests go out with the owner's user mapping. The run goes in steps, each its own transaction:
//!
//! 1. creates whose outcome an earlier run did not learn (`unknown`) are settled: looked up by
//!    `match_on` (found: mapped; not found: created again below), or, where the connector has an
//!    idempotency header, sent again with the same key below; otherwise left `unknown`;
//! 2. creates, a batch at a time (the connector's batch endpoint, else one row per request): the
//!    batch's rows are written to the map as `unknown` and committed before the request goes out, and
//!    the outcome of each row is committed when the answer comes, so a process killed in between
//!    leaves rows whose outcome is unknown, never rows created and unmapped;
//! 3. updates of rows whose values changed since they were last sent, only the changed columns;
//! 4. with `on_delete = 'delete'`, deletes of the provider records of rows gone from the source.
//!
//! A row the provider refuses is recorded in the map (`failed`, its message and SQLSTATE) and the run
//! goes on; a failed create is sent again only once its values change. What stops the run (a refused
//! token, an exhausted rate limit, no answer) is the run's error, recorded like a mirror's.

use std::sync::Arc;

use pgrx::prelude::*;
use pgrx::spi::quote_identifier as quote_ident;
use pgrx::spi::quote_literal;
use pgrx::spi::SpiClient;
use serde_json::Value;

use crate::connector::pointer::Pointer;
use crate::error::{SqlState, TetherError};
use crate::fdw::datum;
use crate::fdw::options::{self, LoadedTable};
use crate::http::batch::{row_outcomes, RowOutcome};
use crate::http::parallel;
use crate::http::transport::HttpResponse;
use crate::http::{wait, Endpoint};
use crate::sync::refresh::{spi_error, transaction, SYNC_LOCK_TIMEOUT};
use crate::sync::rights::as_owner;

/// Lock held by the process running a push (a user lock, as a mirror's refresh holds; see there).
pub const LOCK_CLASS: i32 = 0x7e7e_0002;

/// Rows looked up by `match_on` with one query (HubSpot's search takes up to 100 values for IN).
const LOOKUP_GROUP: usize = 100;

/// Rows read and sent per step when the object has no batch endpoint (one request per row).
const SINGLE_ROWS_PER_STEP: i64 = 50;

struct Push {
    id: i32,
    name: String,
    owner: pg_sys::Oid,
    every: bool,
    loaded: LoadedTable,
    endpoint: Arc<Endpoint>,
    /// Target column index of each sent column, in the order of the statements' value columns.
    sent: Vec<usize>,
    batch: Option<u64>,
    /// Requests in flight at once when rows go one per request.
    concurrency: usize,
    idempotent: bool,
    match_on: bool,
    deletes: bool,
    sql: Statements,
    /// When the run began (a delete that failed in this run is not tried again in it).
    run_started: Option<pgrx::datum::TimestampWithTimeZone>,
    /// Where the next step of creates and of updates starts (the last key read; None: the first).
    create_after: Option<String>,
    update_after: Option<String>,
    run_id: i64,
    counts: Counts,
}

#[derive(Default)]
struct Counts {
    created: i64,
    updated: i64,
    deleted: i64,
    failed: i64,
    unknown: i64,
    matched: i64,
    requests: i64,
}

/// The statements of a run, built once (identifiers quoted).
struct Statements {
    duplicate_key: String,
    null_keys: String,
    unknown: String,
    lookup: Option<String>,
    creates: String,
    pending: String,
    outcomes: String,
    forget: String,
    updates: String,
    deletes: String,
    forget_deleted: String,
    count_unknown: String,
}

/// A row read for sending: its key (as text), the provider id (updates), the JSON of each column to
/// send (as the foreign table would send it; for an update only the changed ones), and the source
/// values as jsonb text (what the map keeps).
struct Row {
    key: String,
    provider_id: Option<String>,
    values: Vec<(usize, Value)>,
    vals: String,
}

/// The outcome of one row, as the map records it.
enum Outcome {
    Ok {
        provider_id: String,
        sent: bool,
    },
    Failed {
        message: String,
        sqlstate: String,
    },
    /// Not carried out (refused as a whole for another row's sake): forget the pending row.
    NotDone,
    Unknown,
}

pub fn run(id: i32) {
    if let Err(e) = transaction(crate::sync::rights::pin_session) {
        log!("tether: push {id}: {}", e.one_line());
        return;
    }
    match transaction(|| crate::sync::lock_job(LOCK_CLASS, id)) {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            log!("tether: push {id}: {}", e.one_line());
            return;
        }
    }
    if let Err(e) = transaction(|| {
        Spi::run(&format!("SET lock_timeout = '{SYNC_LOCK_TIMEOUT}'"))
            .unwrap_or_else(|e| spi_error("setting up the push session", e))
    }) {
        log!("tether: push {id}: {}", e.one_line());
        return;
    }
    let mut push = match transaction(|| begin(id)) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            record_failure(id, None, &e);
            return;
        }
    };
    if let Err(e) = steps(&mut push) {
        let _ = transaction(|| save_counts(&push));
        record_failure(id, Some(push.run_id), &e);
        return;
    }
    if let Err(e) = transaction(|| finish(&push)) {
        record_failure(id, Some(push.run_id), &e);
    }
}

fn steps(push: &mut Push) -> Result<(), TetherError> {
    transaction(|| check_keys(push))?;
    if push.match_on {
        transaction(|| settle_unknown(push))??;
    }
    // After each step the run's counts are saved: tether.pushes shows the progress of a running run.
    while create_step(push)? {
        transaction(|| save_counts(push))?;
    }
    while transaction(|| update_step(push))?? {
        transaction(|| save_counts(push))?;
    }
    if push.deletes {
        while transaction(|| delete_step(push))?? {
            transaction(|| save_counts(push))?;
        }
    }
    // The rows whose create has no known outcome after the run (not settled by match_on or an
    // idempotency key): each run reports them until their owner settles them.
    push.counts.unknown = transaction(|| {
        Spi::connect_mut(|c| {
            as_owner(push.owner, || c.update(&push.sql.count_unknown, None, &[]))
                .unwrap_or_else(|e| spi_error("counting the rows of unknown outcome", e))
                .first()
                .get_one::<i64>()
                .ok()
                .flatten()
                .unwrap_or(0)
        })
    })?;
    Ok(())
}

fn fail(state: SqlState, message: String, hint: Option<String>) -> ! {
    crate::error::report(TetherError::sql(state, message, hint))
}

/// Read the push, check its owner may still do what it does, and start a run. None when the push is
/// gone or paused.
fn begin(id: i32) -> Option<Push> {
    let config = Spi::connect(|c| {
        let row = c
            .select(
                "SELECT name, owner::oid, source::oid, target::oid, map::oid, key::text, on_delete = 'delete',
                        match_on::text, every IS NOT NULL, concurrency
                 FROM tether.push_config WHERE id = $1 AND NOT paused",
                None,
                &[id.into()],
            )
            .unwrap_or_else(|e| spi_error("reading the push", e));
        if row.is_empty() {
            return None;
        }
        let row = row.first();
        let text = |i: usize| row.get::<String>(i).ok().flatten();
        let oid = |i: usize| row.get::<pg_sys::Oid>(i).ok().flatten().unwrap_or(pg_sys::InvalidOid);
        Some((
            text(1).unwrap_or_default(),
            oid(2),
            oid(3),
            oid(4),
            oid(5),
            text(6).unwrap_or_default(),
            row.get::<bool>(7).ok().flatten().unwrap_or(false),
            text(8),
            row.get::<bool>(9).ok().flatten().unwrap_or(false),
            row.get::<i32>(10).ok().flatten().unwrap_or(1).max(1) as usize,
        ))
    })?;
    let (name, owner, source, target, map, key, deletes, match_on, every, concurrency) = config;
    check_rights(owner, source, target, map, deletes, &name);
    let columns = as_owner(owner, || super::push_columns(source, target, &key, match_on.as_deref(), deletes))
        .unwrap_or_else(|e| crate::error::report(e));
    let loaded = options::load_table(target).unwrap_or_else(|e| crate::error::report(e));
    let endpoint = options::endpoint(&loaded, owner).unwrap_or_else(|e| crate::error::report(e));
    let sql =
        Spi::connect_mut(|c| statements(c, source, target, map, &key, match_on.as_deref(), &columns.sent, &loaded));
    let (run_id, run_started) = Spi::get_two_with_args::<i64, pgrx::datum::TimestampWithTimeZone>(
        "WITH run AS (INSERT INTO tether.push_runs (push_id) VALUES ($1) RETURNING id, started_at),
              state AS (INSERT INTO tether.push_state AS s (push_id, state, run_id, run_started_at)
                        SELECT $1, 'running', id, started_at FROM run
                        ON CONFLICT (push_id) DO UPDATE SET state = 'running', run_id = excluded.run_id,
                                                            run_started_at = excluded.run_started_at)
         SELECT id, started_at FROM run",
        &[id.into()],
    )
    .unwrap_or_else(|e| spi_error("starting the run", e));
    Some(Push {
        id,
        name,
        owner,
        every,
        batch: loaded.table.batch_size(),
        concurrency,
        idempotent: endpoint.idempotency_header.is_some(),
        match_on: match_on.is_some(),
        deletes,
        sent: columns.sent.iter().map(|(_, i)| *i).collect(),
        loaded,
        endpoint,
        sql,
        create_after: None,
        update_after: None,
        run_id: run_id.unwrap_or_default(),
        run_started,
        counts: Counts::default(),
    })
}

/// The owner still owns the source's push and may read the source, write the target (and use its
/// server), and write the map.
fn check_rights(
    owner: pg_sys::Oid,
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    map: pg_sys::Oid,
    deletes: bool,
    name: &str,
) {
    let row = Spi::connect(|c| {
        let t = c
            .select(
                "SELECT $1::regrole::text,
                        (SELECT has_table_privilege($1, $2, 'SELECT') FROM pg_class WHERE oid = $2),
                        (SELECT has_table_privilege($1, $3, 'INSERT') AND has_table_privilege($1, $3, 'UPDATE')
                                AND (NOT $5 OR has_table_privilege($1, $3, 'DELETE')) FROM pg_class WHERE oid = $3),
                        (SELECT has_server_privilege($1, ft.ftserver, 'USAGE') FROM pg_foreign_table ft WHERE ft.ftrelid = $3),
                        (SELECT has_table_privilege($1, $4, 'SELECT') AND has_table_privilege($1, $4, 'INSERT')
                                AND has_table_privilege($1, $4, 'UPDATE') AND has_table_privilege($1, $4, 'DELETE')
                         FROM pg_class WHERE oid = $4)",
                None,
                &[owner.into(), source.into(), target.into(), map.into(), deletes.into()],
            )
            .unwrap_or_else(|e| spi_error("checking the push owner's privileges", e));
        let t = t.first();
        let flag = |i: usize| t.get::<bool>(i).ok().flatten();
        (t.get::<String>(1).ok().flatten().unwrap_or_default(), flag(2), flag(3), flag(4), flag(5))
    });
    let (role, read, write, usage, map_ok) = row;
    let denied = SqlState::InsufficientPrivilege;
    let gone = |what: &str| fail(SqlState::UndefinedTable, format!("the {what} of push {name} no longer exists"), None);
    match read {
        None => gone("source"),
        Some(false) => {
            fail(denied, format!("role {role}, owner of push {name}, no longer may SELECT from its source"), None)
        }
        Some(true) => {}
    }
    match write {
        None => gone("target"),
        Some(false) => {
            fail(denied, format!("role {role}, owner of push {name}, no longer may write to its target"), None)
        }
        Some(true) => {}
    }
    if usage != Some(true) {
        fail(denied, format!("role {role}, owner of push {name}, no longer has USAGE on the target's server"), None);
    }
    match map_ok {
        None => gone("map table"),
        Some(false) => {
            fail(denied, format!("role {role}, owner of push {name}, no longer may write its map table"), None)
        }
        Some(true) => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn statements(
    c: &mut SpiClient<'_>,
    source: pg_sys::Oid,
    target: pg_sys::Oid,
    map: pg_sys::Oid,
    key: &str,
    match_on: Option<&str>,
    sent: &[(String, usize)],
    loaded: &LoadedTable,
) -> Statements {
    let label = |oid: pg_sys::Oid| {
        c.select("SELECT $1::regclass::text", None, &[oid.into()])
            .ok()
            .and_then(|r| r.first().get_one::<String>().ok().flatten())
            .unwrap_or_else(|| fail(SqlState::UndefinedTable, "a table of the push no longer exists".into(), None))
    };
    let (source, target_label, map) = (label(source), label(target), label(map));
    let type_of = |c: &mut SpiClient<'_>, rel: &str, col: &str| {
        c.select(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
            None,
            &[rel.into(), col.into()],
        )
        .ok()
        .and_then(|r| r.first().get_one::<String>().ok().flatten())
        .unwrap_or_else(|| fail(SqlState::UndefinedColumn, format!("column \"{col}\" of {rel} no longer exists"), None))
    };
    let key_type = type_of(c, &map, key);
    let k = quote_ident(key);
    // Each sent column cast to the target column's type (the foreign table converts it to JSON), and
    // the source values as jsonb (what the map keeps, and what tells a changed row).
    let casts: Vec<String> = sent
        .iter()
        .map(|(name, _)| format!("CAST(s.{} AS {})", quote_ident(name), type_of(c, &target_label, name)))
        .collect();
    let vals = format!(
        "jsonb_build_object({})",
        sent.iter()
            .map(|(name, _)| format!("{}, s.{}", quote_literal(name), quote_ident(name)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let casts = casts.join(", ");
    let id_col = crate::sync::id_column(loaded).ok();
    let lookup = match (match_on, id_col) {
        // $1 the values looked for (text[]): one search for a group of rows (HubSpot's IN).
        (Some(m), Some(id)) => Some(format!(
            "SELECT {}::text, {m}::text FROM {target_label} WHERE {m} = ANY (CAST($1 AS {}[]))",
            quote_ident(&id),
            type_of(c, &target_label, m),
            m = quote_ident(m),
        )),
        _ => None,
    };
    let match_text = match_on.map(|m| format!("s.{}::text", quote_ident(m))).unwrap_or_else(|| "NULL".into());
    Statements {
        duplicate_key: format!(
            "SELECT s.{k}::text FROM {source} s WHERE s.{k} IS NOT NULL GROUP BY s.{k} HAVING count(*) > 1 LIMIT 1"
        ),
        null_keys: format!("SELECT count(*) FROM {source} s WHERE s.{k} IS NULL"),
        // $1 seconds to wait before settling (tether.push_settle_after).
        unknown: format!(
            "SELECT m.{k}::text, {match_text} FROM {map} m JOIN {source} s ON s.{k} = m.{k}
             WHERE m.status = 'unknown' AND m.provider_id IS NULL
               AND m.sent_at < clock_timestamp() - make_interval(secs => $1)
             ORDER BY m.{k}"
        ),
        lookup,
        // $1 how many, $2 whether a create of unknown outcome may be sent again (idempotency key), $3
        // seconds to wait before doing so (tether.push_settle_after: Stripe answers 409 to a key whose
        // first request is still being carried out), $4 the last key a step of this run read (the next
        // step starts after it: with an index on the key, each step reads only its own rows).
        creates: format!(
            "SELECT s.{k}::text, NULL::text, {vals}::text, NULL::text[], {casts}
             FROM {source} s LEFT JOIN {map} m ON m.{k} = s.{k}
             WHERE s.{k} IS NOT NULL AND ($4::text IS NULL OR s.{k} > CAST($4 AS {key_type}))
               AND (m.{k} IS NULL
                    OR (m.provider_id IS NULL AND m.status = 'failed' AND m.sent_hash IS DISTINCT FROM md5({vals}::text))
                    OR (m.provider_id IS NULL AND m.status = 'unknown' AND $2
                        AND m.sent_at < clock_timestamp() - make_interval(secs => $3)))
             ORDER BY s.{k} LIMIT $1"
        ),
        // $1 keys, $2 the values about to be sent (their hash is kept: a create refused with the same
        // values is not sent again).
        pending: format!(
            "INSERT INTO {map} AS m ({k}, status, sent_hash, sent_at)
             SELECT CAST(u.k AS {key_type}), 'unknown', md5(u.v), clock_timestamp() FROM unnest($1::text[], $2::text[]) AS u (k, v)
             ON CONFLICT ({k}) DO UPDATE SET status = 'unknown', sent_hash = excluded.sent_hash, message = NULL,
                                             sqlstate = NULL, sent_at = excluded.sent_at"
        ),
        // $1 keys, $2 statuses, $3 provider ids, $4 the values attempted, $5 whether the provider took
        // them, $6 messages, $7 SQLSTATEs. `sent` keeps the values the provider last took, `sent_hash`
        // those last attempted (a refused update is not sent again until the values change); a record
        // found by match_on has neither, so that every column is sent to it next.
        outcomes: format!(
            "UPDATE {map} AS m SET status = u.status, provider_id = coalesce(u.provider_id, m.provider_id),
                    sent = CASE WHEN u.status = 'ok' THEN CASE WHEN u.accepted THEN u.vals::jsonb END ELSE m.sent END,
                    sent_hash = CASE WHEN u.status = 'ok' AND NOT u.accepted THEN NULL
                                     WHEN u.vals IS NULL THEN m.sent_hash ELSE md5(u.vals) END,
                    message = u.message, sqlstate = u.sqlstate, sent_at = clock_timestamp()
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[])
                  AS u (k, status, provider_id, vals, accepted, message, sqlstate)
             WHERE m.{k} = CAST(u.k AS {key_type})"
        ),
        forget: format!("DELETE FROM {map} WHERE {k} = ANY (CAST($1 AS {key_type}[])) AND status = 'unknown'"),
        // $1 how many, $2 the last key a step of this run read. Rows whose values differ from those
        // last sent (a row matched by match_on has none recorded: every column is sent).
        updates: format!(
            "SELECT s.{k}::text, m.provider_id, {vals}::text,
                    ARRAY(SELECT n.key FROM jsonb_each({vals}) n WHERE m.sent IS NULL OR n.value IS DISTINCT FROM m.sent -> n.key),
                    {casts}
             FROM {source} s JOIN {map} m ON m.{k} = s.{k}
             WHERE m.provider_id IS NOT NULL AND m.status <> 'unknown' AND m.sent_hash IS DISTINCT FROM md5({vals}::text)
               AND ($2::text IS NULL OR s.{k} > CAST($2 AS {key_type}))
             ORDER BY s.{k} LIMIT $1"
        ),
        // $1 how many, $2 the run's start (a delete that failed in this run is not tried again in it).
        deletes: format!(
            "SELECT m.{k}::text, m.provider_id FROM {map} m
             WHERE m.provider_id IS NOT NULL AND m.sent_at < $2
               AND NOT EXISTS (SELECT 1 FROM {source} s WHERE s.{k} = m.{k})
             ORDER BY m.{k} LIMIT $1"
        ),
        forget_deleted: format!("DELETE FROM {map} WHERE {k} = ANY (CAST($1 AS {key_type}[]))"),
        count_unknown: format!("SELECT count(*) FROM {map} WHERE status = 'unknown'"),
    }
}

/// tether.push_settle_after, in seconds.
fn settle_after() -> f64 {
    crate::gucs::PUSH_SETTLE_AFTER_S.get().max(0) as f64
}

/// A source whose key does not identify its rows cannot be pushed: the run stops before sending.
fn check_keys(push: &Push) {
    Spi::connect_mut(|c| {
        let dup = as_owner(push.owner, || c.update(&push.sql.duplicate_key, None, &[]))
            .unwrap_or_else(|e| spi_error("checking the source's keys", e));
        if let Some(key) = dup.first().get_one::<String>().ok().flatten() {
            fail(
                SqlState::UniqueViolation,
                format!("the key of push {} is not unique in its source: several rows have {key}", push.name),
                Some("a push sends each source row as one record: its key must identify rows (a primary key)".into()),
            );
        }
        let nulls = as_owner(push.owner, || c.update(&push.sql.null_keys, None, &[]))
            .unwrap_or_else(|e| spi_error("checking the source's keys", e))
            .first()
            .get_one::<i64>()
            .ok()
            .flatten()
            .unwrap_or(0);
        if nulls > 0 {
            fail(
                SqlState::NotNullViolation,
                format!("{nulls} row(s) of the source of push {} have no key (NULL)", push.name),
                Some("a push sends each source row as one record: its key must identify rows".into()),
            );
        }
    })
}

/// Settle the creates an earlier run did not learn the outcome of, by looking each record up by the
/// `match_on` column through the target: one found is mapped (and updated below with every column),
/// none found is created again below, several are left for the owner (failed, with the ids).
fn settle_unknown(push: &mut Push) -> Result<(), TetherError> {
    let Some(lookup) = push.sql.lookup.clone() else { return Ok(()) };
    let rows: Vec<(String, Option<String>)> = Spi::connect_mut(|c| {
        as_owner(push.owner, || c.update(&push.sql.unknown, None, &[settle_after().into()]))
            .unwrap_or_else(|e| spi_error("reading the rows of unknown outcome", e))
            .filter_map(|r| Some((r.get::<String>(1).ok().flatten()?, r.get::<String>(2).ok().flatten())))
            .collect()
    });
    let mut outcomes = Vec::new();
    let mut forget = Vec::new();
    let (with_value, without): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, v)| v.is_some());
    outcomes.extend(without.into_iter().map(|(key, _)| (key, Outcome::Unknown)));
    for group in with_value.chunks(LOOKUP_GROUP) {
        let values: Vec<String> = group.iter().filter_map(|(_, v)| v.clone()).collect();
        let found: Vec<(String, String)> = Spi::connect_mut(|c| {
            as_owner(push.owner, || c.update(&lookup, None, &[values.into()]))
                .unwrap_or_else(|e| spi_error("looking records up by match_on", e))
                .filter_map(|r| Some((r.get::<String>(1).ok().flatten()?, r.get::<String>(2).ok().flatten()?)))
                .collect()
        });
        // A lookup of a group reads one page (a search or a filtered listing), or more when it is long.
        push.counts.requests += 1;
        for (key, value) in group {
            let value = value.clone().unwrap_or_default();
            let ids: Vec<&String> = found.iter().filter(|(_, v)| *v == value).map(|(id, _)| id).collect();
            match ids.as_slice() {
                [] => forget.push(key.clone()),
                [id] => {
                    push.counts.matched += 1;
                    outcomes.push((key.clone(), Outcome::Ok { provider_id: (*id).clone(), sent: false }));
                }
                [first, ..] => outcomes.push((
                    key.clone(),
                    Outcome::Failed {
                        message: format!(
                            "{} records match on {value} ({first} and more); the row's create had no known outcome, so which one it made is not known",
                            ids.len()
                        ),
                        sqlstate: SqlState::UniqueViolation.code().to_string(),
                    },
                )),
            }
        }
    }
    Spi::connect_mut(|c| {
        record(c, push, &outcomes.iter().map(|(k, o)| (k.clone(), o, None)).collect::<Vec<_>>());
        if !forget.is_empty() {
            as_owner(push.owner, || c.update(&push.sql.forget, None, &[forget.clone().into()]))
                .unwrap_or_else(|e| spi_error("forgetting rows to create again", e));
        }
    });
    Ok(())
}

/// Read up to `limit` rows with `sql` ($1 limit, then `resend` and the settling delay when given, then
/// the key to start after) as the owner, converting the sent columns (from the fifth) to JSON as the
/// foreign table would send them.
fn read_rows(push: &Push, sql: &str, limit: i64, resend: Option<bool>, after: Option<String>) -> Vec<Row> {
    Spi::connect_mut(|c| {
        let mut args: Vec<pgrx::datum::DatumWithOid> = vec![limit.into()];
        if let Some(resend) = resend {
            args.push(resend.into());
            args.push(settle_after().into());
        }
        args.push(after.into());
        let mut table = as_owner(push.owner, || c.update(sql, None, &args))
            .unwrap_or_else(|e| spi_error("reading the rows to send", e));
        let mut rows = Vec::new();
        while table.next().is_some() {
            let key = table.get::<String>(1).ok().flatten().unwrap_or_default();
            let provider_id = table.get::<String>(2).ok().flatten();
            let vals = table.get::<String>(3).ok().flatten().unwrap_or_else(|| "{}".into());
            let changed = table.get::<Vec<String>>(4).ok().flatten().unwrap_or_default();
            let mut values = Vec::new();
            for (j, &column) in push.sent.iter().enumerate() {
                let def = &push.loaded.table.columns[column];
                if !changed.is_empty() && !changed.contains(&push.loaded.attrs[column].name) {
                    continue;
                }
                let datum = table.get_datum_by_ordinal(5 + j).ok().flatten();
                // SAFETY: the datum is of the column's target type (the statement casts it) and lives in the
                // SPI tuple table until this closure returns; json_value copies what it reads.
                let json = unsafe {
                    datum::json_value(
                        datum.unwrap_or(pg_sys::Datum::from(0)),
                        datum.is_none(),
                        push.loaded.attrs[column].type_oid,
                        def.separator.as_deref(),
                    )
                }
                .unwrap_or_else(|m| {
                    fail(
                        SqlState::InvalidParameterValue,
                        format!(
                            "the value of column \"{}\" of row {key} cannot be sent to the provider: {m}",
                            def.name
                        ),
                        None,
                    )
                });
                values.push((column, json));
            }
            rows.push(Row { key, provider_id, values, vals });
        }
        rows
    })
}

/// Whether the provider answered an error about the request itself (not an outage or a limit): then
/// nothing was written, and with several rows each can be tried alone.
fn refused(e: &TetherError) -> bool {
    matches!(e, TetherError::Provider { status, .. } if (400..500).contains(status) && ![401, 403, 407, 408, 429].contains(status))
}

/// A row the provider refused, as the map records it: the provider's own message (the map belongs to
/// one push, so without the connector's tag), and the SQLSTATE the refusal would raise.
fn refusal(e: &TetherError) -> Outcome {
    let message = match e {
        TetherError::Provider { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Outcome::Failed { message, sqlstate: e.sqlstate().code().to_string() }
}

/// The id of a created record, from the record (or result) the provider answered.
fn created_id(push: &Push, record: &Value) -> Option<String> {
    let table = &push.loaded.table;
    let pointers = table
        .object
        .create
        .as_ref()
        .and_then(|c| c.id.clone())
        .into_iter()
        .filter_map(|p| Pointer::parse(&p).ok())
        .chain(table.id_index().map(|i| table.columns[i].pointer.clone()));
    for p in pointers {
        match p.get(record) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            _ => {}
        }
    }
    None
}

/// One step of creates, in two transactions: the next rows to create are marked `unknown` and
/// committed; then they are sent (a batch, or one request per row) and their outcomes recorded. False
/// when there was nothing left to create. A process killed between the two leaves the rows `unknown`,
/// never created and unmapped.
fn create_step(push: &mut Push) -> Result<bool, TetherError> {
    let rows = transaction(|| mark_creates(push))?;
    let Some(last) = rows.last().map(|r| r.key.clone()) else { return Ok(false) };
    let again = transaction(|| send_creates(push, &rows))??;
    // The next step starts after these rows, unless some are to be sent again (rolled back for another
    // row's sake): then it reads from where this one did.
    if !again {
        push.create_after = Some(last);
    }
    Ok(true)
}

fn mark_creates(push: &Push) -> Vec<Row> {
    // With a batch endpoint, `concurrency` batches are sent at once.
    let limit = push.batch.map(|b| (b as usize * push.concurrency) as i64).unwrap_or(SINGLE_ROWS_PER_STEP);
    // Where the connector has an idempotency header, a create of unknown outcome is sent again with its
    // key: the provider answers with the record the first one made.
    let resend = push.idempotent && push.batch.is_none();
    let rows = read_rows(push, &push.sql.creates, limit, Some(resend), push.create_after.clone());
    if !rows.is_empty() {
        let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
        let vals: Vec<String> = rows.iter().map(|r| r.vals.clone()).collect();
        Spi::connect_mut(|c| {
            as_owner(push.owner, || c.update(&push.sql.pending, None, &[keys.into(), vals.into()]))
                .unwrap_or_else(|e| spi_error("marking the rows about to be created", e));
        });
    }
    rows
}

/// Send the marked rows and record their outcomes; true when some are to be sent again.
fn send_creates(push: &mut Push, rows: &[Row]) -> Result<bool, TetherError> {
    let (outcomes, stop) = match push.batch {
        Some(_) if rows.len() > 1 => send_batches(push, rows, Write::Create)?,
        _ => send_singly(push, rows)?,
    };
    push.counts.created += outcomes.iter().filter(|o| matches!(o, Outcome::Ok { .. })).count() as i64;
    let again = outcomes.iter().any(|o| matches!(o, Outcome::NotDone));
    Spi::connect_mut(|c| {
        let done: Vec<(String, &Outcome, Option<String>)> =
            rows.iter().zip(&outcomes).map(|(r, o)| (r.key.clone(), o, Some(r.vals.clone()))).collect();
        record(c, push, &done);
    });
    stop.map_or(Ok(again), Err)
}

/// The outcomes of a group of rows, and the error that stops the run, if one came.
type Sent = (Vec<Outcome>, Option<TetherError>);

/// The outcome of a write whose request failed as a whole with `e` (not a refusal of its values): the
/// provider answered (a refused token, an exhausted rate limit), so nothing was written and the row is
/// sent again by the next run; or no answer came, and what happened is unknown.
fn not_written(e: &TetherError) -> Outcome {
    if matches!(e, TetherError::Provider { .. }) {
        Outcome::NotDone
    } else {
        Outcome::Unknown
    }
}

/// What a batch request writes.
#[derive(Clone, Copy, PartialEq)]
enum Write {
    Create,
    Update,
}

/// Rows in batches (creates: the connector's size, or the table's `batch_size`; updates: the batch
/// update's), `concurrency` batches in flight, each row's outcome read from its batch's answer. A batch
/// the provider refuses as a whole (BigCommerce's 422) is sent again one row per request, so that each
/// row gets its own answer.
fn send_batches(push: &mut Push, rows: &[Row], write: Write) -> Result<Sent, TetherError> {
    let object = &push.loaded.table.object;
    let def = match write {
        Write::Create => object.batch_create.clone(),
        Write::Update => object.batch_update.clone(),
    }
    .ok_or_else(|| TetherError::Internal("no batch endpoint".into()))?;
    let size = match write {
        Write::Create => push.batch.unwrap_or(def.max),
        Write::Update => def.max,
    }
    .max(1) as usize;
    let chunks: Vec<&[Row]> = rows.chunks(size).collect();
    let mut requests = Vec::with_capacity(chunks.len());
    let mut traces = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        let tags: Vec<String> = (1..=chunk.len()).map(|i| format!("row-{i}")).collect();
        let table = &push.loaded.table;
        let req = match write {
            Write::Create => {
                let values: Vec<Vec<(usize, Value)>> = chunk.iter().map(|r| r.values.clone()).collect();
                table.batch_create_request(&values, &tags, true)?
            }
            Write::Update => {
                let inputs: Vec<(String, Vec<(usize, Value)>)> =
                    chunk.iter().map(|r| (r.provider_id.clone().unwrap_or_default(), r.values.clone())).collect();
                table.batch_update_request(&inputs, &tags)?
            }
        }
        .ok_or_else(|| TetherError::Internal("no batch endpoint".into()))?;
        requests.push(parallel::Request::write(req, Vec::new()));
        traces.push(tags);
    }
    let (message_at, code_at) = (push.endpoint.errors.message.clone(), push.endpoint.errors.code.clone());
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut stop = None;
    for ((chunk, tags), result) in chunks.iter().zip(&traces).zip(send_all(push, requests)) {
        match result {
            Ok(resp) => {
                let answered = row_outcomes(&def, &resp, tags, &message_at, &code_at);
                outcomes.extend(answered.into_iter().zip(chunk.iter()).map(|(o, row)| outcome_of(push, write, o, row)))
            }
            Err(e) if refused(&e) && stop.is_none() => {
                let (alone, alone_stop) = match write {
                    Write::Create => send_singly(push, chunk)?,
                    Write::Update => update_singly(push, chunk)?,
                };
                outcomes.extend(alone);
                stop = alone_stop;
            }
            Err(e) => {
                // An update that may not have been carried out is sent again by the next run.
                outcomes.extend(chunk.iter().map(|_| {
                    if write == Write::Create {
                        not_written(&e)
                    } else {
                        Outcome::NotDone
                    }
                }));
                stop.get_or_insert(e);
            }
        }
    }
    Ok((outcomes, stop))
}

/// What a batch's answer says of one of its rows, as the map records it.
fn outcome_of(push: &Push, write: Write, outcome: RowOutcome, row: &Row) -> Outcome {
    match (outcome, write) {
        (RowOutcome::Created(record), Write::Create) => match created_id(push, &record) {
            Some(id) => Outcome::Ok { provider_id: id, sent: true },
            None => Outcome::Unknown,
        },
        (RowOutcome::Created(_), Write::Update) => {
            Outcome::Ok { provider_id: row.provider_id.clone().unwrap_or_default(), sent: true }
        }
        (RowOutcome::Refused { message, code }, _) => Outcome::Failed {
            message,
            sqlstate: tether_core::push::refused_sqlstate(code.as_deref()).code().to_string(),
        },
        (RowOutcome::RolledBack, _) => Outcome::NotDone,
        (RowOutcome::Unknown, Write::Create) => Outcome::Unknown,
        // An update is safe to send again: the next run does.
        (RowOutcome::Unknown, Write::Update) => Outcome::NotDone,
    }
}

/// Creates one row per request, `concurrency` in flight; with an idempotency header, each with the
/// row's own key.
fn send_singly(push: &mut Push, rows: &[Row]) -> Result<Sent, TetherError> {
    let mut requests = Vec::with_capacity(rows.len());
    for row in rows {
        let req = push
            .loaded
            .table
            .create_request(&row.values)?
            .ok_or_else(|| TetherError::Internal("no create endpoint".into()))?;
        let key = push.idempotent.then(|| tether_core::push::idempotency_key(push.id, &row.key));
        let header = key.and_then(|k| push.endpoint.idempotency_header.clone().map(|h| (h, k)));
        requests.push(parallel::Request::write(req, header.into_iter().collect()));
    }
    let record_at = push.loaded.table.object.create.as_ref().map(|d| d.record.clone()).unwrap_or_default();
    let mut stop = None;
    let outcomes = send_all(push, requests)
        .into_iter()
        .map(|result| match result {
            Ok(resp) => {
                let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
                let record = Pointer::parse(&record_at).ok().and_then(|p| p.get(&doc).cloned()).unwrap_or(doc);
                match created_id(push, &record) {
                    Some(id) => Outcome::Ok { provider_id: id, sent: true },
                    None => Outcome::Unknown,
                }
            }
            Err(e) if refused(&e) => refusal(&e),
            Err(e) => {
                let outcome = not_written(&e);
                stop.get_or_insert(e);
                outcome
            }
        })
        .collect();
    Ok((outcomes, stop))
}

/// Send `requests`, `concurrency` of them in flight, and wait for all (interruptibly).
fn send_all(push: &mut Push, requests: Vec<parallel::Request>) -> Vec<Result<HttpResponse, TetherError>> {
    let endpoint = push.endpoint.clone();
    let concurrency = push.concurrency;
    let n = requests.len();
    push.counts.requests += n as i64;
    wait::run(move |abandoned| Ok(parallel::execute_all(&endpoint, &requests, concurrency, abandoned)), &mut || {
        pgrx::check_for_interrupts!();
    })
    .unwrap_or_else(|e| (0..n).map(|_| Err(e.clone())).collect())
}

/// Record outcomes in the map (as the owner), with the values sent for rows the provider took, and
/// count them.
fn record(c: &mut SpiClient<'_>, push: &mut Push, rows: &[(String, &Outcome, Option<String>)]) {
    let (mut keys, mut statuses, mut ids, mut attempted, mut accepted, mut messages, mut states) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut forget = Vec::new();
    for (key, outcome, vals) in rows {
        let (status, id, took, message, state) = match outcome {
            Outcome::Ok { provider_id, sent } => ("ok", Some(provider_id.clone()), *sent, None, None),
            Outcome::Failed { message, sqlstate } => {
                ("failed", None, false, Some(message.clone()), Some(sqlstate.clone()))
            }
            Outcome::Unknown => ("unknown", None, false, None, None),
            Outcome::NotDone => {
                forget.push(key.clone());
                continue;
            }
        };
        if let Outcome::Failed { .. } = outcome {
            push.counts.failed += 1;
        }
        keys.push(key.clone());
        statuses.push(status.to_string());
        ids.push(id);
        attempted.push(vals.clone());
        accepted.push(took);
        messages.push(message);
        states.push(state);
    }
    as_owner(push.owner, || {
        if !keys.is_empty() {
            c.update(
                &push.sql.outcomes,
                None,
                &[
                    keys.into(),
                    statuses.into(),
                    ids.into(),
                    attempted.into(),
                    accepted.into(),
                    messages.into(),
                    states.into(),
                ],
            )?;
        }
        if !forget.is_empty() {
            c.update(&push.sql.forget, None, &[forget.into()])?;
        }
        Ok::<(), pgrx::spi::Error>(())
    })
    .unwrap_or_else(|e| spi_error("recording what the provider answered", e));
}

/// One step of updates: changed rows, each with only its changed columns: through the connector's
/// batch update endpoint (HubSpot), `concurrency` batches in flight, else one request per row,
/// `concurrency` in flight.
fn update_step(push: &mut Push) -> Result<bool, TetherError> {
    let updates = push.sql.updates.clone();
    let batch = push.loaded.table.object.batch_update.as_ref().map(|b| b.max.max(1) as usize);
    let limit = batch.map(|b| (b * push.concurrency) as i64).unwrap_or(SINGLE_ROWS_PER_STEP);
    let rows = read_rows(push, &updates, limit, None, push.update_after.clone());
    let Some(last) = rows.last().map(|r| r.key.clone()) else { return Ok(false) };
    push.update_after = Some(last);
    let (outcomes, stop) = match batch {
        Some(_) if rows.len() > 1 => send_batches(push, &rows, Write::Update)?,
        _ => update_singly(push, &rows)?,
    };
    push.counts.updated += outcomes.iter().filter(|o| matches!(o, Outcome::Ok { .. })).count() as i64;
    Spi::connect_mut(|c| {
        let done: Vec<(String, &Outcome, Option<String>)> =
            rows.iter().zip(&outcomes).map(|(r, o)| (r.key.clone(), o, Some(r.vals.clone()))).collect();
        record(c, push, &done);
    });
    stop.map_or(Ok(true), Err)
}

/// Updates one row per request, `concurrency` in flight.
fn update_singly(push: &mut Push, rows: &[Row]) -> Result<Sent, TetherError> {
    let mut requests = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.provider_id.clone().unwrap_or_default();
        let req = push.loaded.table.update_request(&id, &row.values)?.ok_or_else(|| TetherError::Unsupported {
            message: format!(
                "object \"{}\" cannot be updated, and rows of push {} changed",
                push.loaded.table.object_name, push.name
            ),
            hint: Some(
                "give the rows back the values last sent (the map's sent column), or push to another object".into(),
            ),
        })?;
        requests.push(parallel::Request::write(req, Vec::new()));
    }
    let mut stop = None;
    let outcomes = rows
        .iter()
        .zip(send_all(push, requests))
        .map(|(row, result)| match result {
            Ok(_) => Outcome::Ok { provider_id: row.provider_id.clone().unwrap_or_default(), sent: true },
            Err(e) if refused(&e) => refusal(&e),
            Err(e) => {
                stop.get_or_insert(e);
                Outcome::NotDone
            }
        })
        .collect();
    Ok((outcomes, stop))
}

/// One step of deletes (`on_delete = 'delete'`): provider records of rows gone from the source,
/// `concurrency` in flight. A record already gone at the provider counts as deleted.
fn delete_step(push: &mut Push) -> Result<bool, TetherError> {
    let rows: Vec<(String, String)> = Spi::connect_mut(|c| {
        let started = push.run_started;
        as_owner(push.owner, || c.update(&push.sql.deletes, None, &[SINGLE_ROWS_PER_STEP.into(), started.into()]))
            .unwrap_or_else(|e| spi_error("reading the rows to delete", e))
            .filter_map(|r| Some((r.get::<String>(1).ok().flatten()?, r.get::<String>(2).ok().flatten()?)))
            .collect()
    });
    if rows.is_empty() {
        return Ok(false);
    }
    let mut requests = Vec::with_capacity(rows.len());
    for (_, id) in &rows {
        let req =
            push.loaded.table.delete_request(id)?.ok_or_else(|| TetherError::Internal("no delete endpoint".into()))?;
        requests.push(parallel::Request::write(req, Vec::new()));
    }
    let mut gone = Vec::new();
    let mut failed: Vec<(String, Outcome)> = Vec::new();
    let mut stop = None;
    for ((key, _), result) in rows.iter().zip(send_all(push, requests)) {
        match result {
            Ok(_) | Err(TetherError::Provider { status: 404 | 410, .. }) => {
                push.counts.deleted += 1;
                gone.push(key.clone());
            }
            Err(e) if refused(&e) => failed.push((key.clone(), refusal(&e))),
            Err(e) => {
                stop.get_or_insert(e);
            }
        }
    }
    forget_deleted(push, gone);
    Spi::connect_mut(|c| {
        let done: Vec<(String, &Outcome, Option<String>)> = failed.iter().map(|(k, o)| (k.clone(), o, None)).collect();
        record(c, push, &done);
    });
    stop.map_or(Ok(true), Err)
}

fn forget_deleted(push: &Push, keys: Vec<String>) {
    if keys.is_empty() {
        return;
    }
    Spi::connect_mut(|c| {
        as_owner(push.owner, || c.update(&push.sql.forget_deleted, None, &[keys.into()]))
            .unwrap_or_else(|e| spi_error("forgetting deleted records", e));
    });
}

fn save_counts(push: &Push) {
    let c = &push.counts;
    Spi::run_with_args(
        "UPDATE tether.push_runs SET created = $2, updated = $3, deleted = $4, failed = $5, unknown = $6, matched = $7,
                requests = $8
         WHERE id = $1",
        &[
            push.run_id.into(),
            c.created.into(),
            c.updated.into(),
            c.deleted.into(),
            c.failed.into(),
            c.unknown.into(),
            c.matched.into(),
            c.requests.into(),
        ],
    )
    .unwrap_or_else(|e| spi_error("recording the run", e));
}

fn finish(push: &Push) {
    save_counts(push);
    Spi::run_with_args(
        "UPDATE tether.push_runs SET finished_at = clock_timestamp() WHERE id = $1;",
        &[push.run_id.into()],
    )
    .unwrap_or_else(|e| spi_error("finishing the run", e));
    Spi::run_with_args(
        "UPDATE tether.push_state s SET state = 'idle', last_success = clock_timestamp(), failures = 0,
                next_run = CASE WHEN $2 THEN clock_timestamp() + (SELECT every FROM tether.push_config WHERE id = $1) END
         WHERE push_id = $1",
        &[push.id.into(), push.every.into()],
    )
    .unwrap_or_else(|e| spi_error("finishing the run", e));
}

/// Record why a run failed, as a mirror's refresh does: in the run, and in the push's state, with a
/// backoff before the next scheduled run.
fn record_failure(id: i32, run_id: Option<i64>, error: &TetherError) {
    log!("tether: push {id}: {}", error.one_line());
    let message = error.to_string();
    let state = error.sqlstate().code().to_string();
    let detail = error.detail().map(str::to_string);
    let hint = error.hint().map(str::to_string);
    let result = transaction(|| {
        Spi::run_with_args(
            "INSERT INTO tether.push_state (push_id) SELECT id FROM tether.push_config WHERE id = $1
             ON CONFLICT (push_id) DO NOTHING",
            &[id.into()],
        )
        .unwrap_or_else(|e| spi_error("recording the failure", e));
        Spi::run_with_args(
            "UPDATE tether.push_state SET state = 'error', last_error = $2, last_error_sqlstate = $3,
                    last_error_detail = $4, last_error_hint = $5, last_error_at = now(),
                    next_run = now() + least(interval '1 hour', interval '10 seconds' * power(2, least(failures, 12))),
                    failures = failures + 1
             WHERE push_id = $1",
            &[id.into(), message.clone().into(), state.clone().into(), detail.clone().into(), hint.clone().into()],
        )
        .unwrap_or_else(|e| spi_error("recording the failure", e));
        let args = [message.clone().into(), state.clone().into(), detail.clone().into(), hint.clone().into()];
        match run_id {
            Some(run) => {
                let mut with_run = vec![run.into()];
                with_run.extend(args);
                Spi::run_with_args(
                    "UPDATE tether.push_runs SET finished_at = clock_timestamp(), error = $2, error_sqlstate = $3,
                            error_detail = $4, error_hint = $5
                     WHERE id = $1",
                    &with_run,
                )
            }
            None => {
                let mut with_id = vec![id.into()];
                with_id.extend(args);
                Spi::run_with_args(
                    "INSERT INTO tether.push_runs (push_id, finished_at, error, error_sqlstate, error_detail, error_hint)
                     SELECT id, clock_timestamp(), $2, $3, $4, $5 FROM tether.push_config WHERE id = $1",
                    &with_id,
                )
            }
        }
        .unwrap_or_else(|e| spi_error("recording the failure", e));
    });
    if let Err(e) = result {
        log!("tether: push {id}: could not record the failure: {}", e.one_line());
    }
}
