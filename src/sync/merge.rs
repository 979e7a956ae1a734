//! The SQL of a mirror refresh: read a page of the source into the staging table, merge it into the
//! mirror (insert what is new, update what changed, leave the rest; announce each change), sweep the
//! rows a full pass did not see (`tether.pass_seen`, which `refresh` keeps), and the single-record statements of reported
//! deletions. Plain Rust that builds SQL text, unit-tested here; `refresh` runs it (as the mirror's
//! owner) and owns the transactions.
//!
//! A page is as old as its request: the merge never overwrites a row written through the mirror after
//! the page was fetched (its `_synced_at`, the time the provider answered that write, is later), nor
//! puts back a record deleted through the mirror since (`pg_temp.tether_gone`, filled from
//! `tether.mirror_tombstones`). `refresh` holds the mirror table against writers while it merges, so
//! that every such write has committed or waits.

/// The tables and columns of a mirror, names as the catalog has them (they are quoted here).
#[derive(Clone, Copy)]
pub struct Tables<'a> {
    /// The mirror and its source foreign table, as qualified relation names (`regclass::text`).
    pub target: &'a str,
    pub source: &'a str,
    /// The mirror's data columns (those its source has too), in the mirror's order, and for each
    /// whether it is compared by value (a built-in type with equality, the same in the mirror and its
    /// source) rather than as text.
    pub columns: &'a [String],
    pub by_value: &'a [bool],
    pub id_column: &'a str,
    /// The id column's type, as `format_type` writes it.
    pub id_type: &'a str,
    /// For an incremental pass: the column a page is filtered on (`>= $1`), and its type.
    pub updated: Option<(&'a str, &'a str)>,
}

/// The announcement of a change to the row with text `id` (in the statement's rows), as an expression:
/// `pg_notify($4, payload)` with the payload `{"mirror" : $2, "id" : id, "op" : op}`, `op` given as an
/// SQL expression for the rest of the payload (`', "op" : "insert"}'`: `op_end`). The JSON is built by
/// concatenation: the text is the same as `json_build_object`'s, at a fraction of its cost per row.
fn notification(op_end: &str) -> String {
    format!(
        "pg_notify($4, '{{\"mirror\" : ' || to_json($2::text)::text || ', \"id\" : ' || to_json(id)::text || {op_end})"
    )
}

/// `op_end` for `notification`: the end of the payload for operation `op` (a fixed name).
fn op_end(op: &str) -> String {
    format!("', \"op\" : \"{op}\"}}'")
}

/// The SQL of a pass, built once.
pub struct Statements {
    /// The staging table of pages, and that of the records deleted through the mirror since the page
    /// in hand was fetched (`gone`), both the worker's.
    pub stage: String,
    pub gone: String,
    pub page: String,
    pub apply: String,
    /// The staging table of the ids a full pass saw (`tether.pass_seen`, copied for the sweep); the
    /// statement that writes a batch's ids there as text, run as the owner (the cast is the id type's,
    /// which may be the owner's); and the worker's, that adds them to `tether.pass_seen` ($1 mirror id,
    /// $2 generation).
    pub seen: String,
    pub batch_ids: String,
    pub note_seen: String,
    pub sweep: String,
    pub count: String,
    /// Asks the provider whether record $1 (text) still exists (a get by id). None when the object
    /// cannot be fetched by id.
    pub exists: Option<String>,
    /// Removes one record ($1 id as text, $2 mirror name, $3 notify, $4 channel) and announces it.
    pub delete_one: String,
    /// Removes the records the provider listed as deleted ($1 ids as text[], $2 mirror name, $3 notify,
    /// $4 channel, $5 when the listing was requested), unless written through the mirror since, and
    /// announces them.
    pub delete_listed: String,
}

impl Statements {
    /// The statements for `tables`; `fetch_by_id` when the object has a get (deletions reported by
    /// webhooks are then checked with the provider); `quote` quotes an identifier for SQL.
    pub fn new(tables: &Tables, fetch_by_id: bool, quote: &dyn Fn(&str) -> String) -> Statements {
        let Tables { target, source, columns, by_value, id_column, id_type, updated } = *tables;
        let id = quote(id_column);
        let cols: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let updated = updated.map(|(column, ty)| format!("{} >= $1::{ty}", quote(column)));
        let list = cols.join(", ");
        let stage = "pg_temp.tether_stage";
        let gone = "pg_temp.tether_gone";
        let page = format!(
            "INSERT INTO {stage} ({list}) SELECT {list} FROM {source}{}",
            updated.map(|u| format!(" WHERE {u}")).unwrap_or_default()
        );
        // A row changed when a column differs: compared with the type's own equality where it is a
        // built-in one (cheap), as text otherwise (a type without equality, or one of the owner's).
        let row = |alias: &str| {
            let values: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| match by_value.get(i) {
                    Some(true) => format!("{alias}.{c}"),
                    _ => format!("{alias}.{c}::text"),
                })
                .collect();
            format!("ROW({})", values.join(", "))
        };
        let sets: Vec<String> = cols.iter().filter(|c| **c != id).map(|c| format!("{c} = excluded.{c}")).collect();
        let sets = if sets.is_empty() { String::new() } else { format!("{}, ", sets.join(", ")) };
        // $1 generation, $2 mirror name, $3 notify, $4 channel, $5 when the page was fetched. A new record
        // is inserted unless it was deleted through the mirror since; a known one is updated when it
        // differs, unless it was written through the mirror since. Each staged record looks its row up
        // by the primary key (the LATERAL subquery, kept apart by OFFSET 0): however the statistics
        // stand, a batch never costs a scan of the whole mirror. The refresh holds the mirror against
        // writers meanwhile, so new records are plainly inserted (no speculative insertion), and only
        // known ones go through ON CONFLICT, which finds them at once and updates them.
        // A page lists a record once (DISTINCT ON); the page is read once, so it is not materialised.
        // Each change is counted and announced in the one pass over what the two inserts return.
        let apply = format!(
            "WITH page AS (SELECT DISTINCT ON ({id}) {list} FROM {stage} WHERE {id} IS NOT NULL ORDER BY {id}),
             changed AS (SELECT p.*, t.{id} IS NULL AS _tether_new
                         FROM page p LEFT JOIN LATERAL (SELECT * FROM {target} t WHERE t.{id} = p.{id} OFFSET 0) t ON true
                         WHERE CASE WHEN t.{id} IS NULL
                                    THEN NOT EXISTS (SELECT 1 FROM {gone} g WHERE g.id = p.{id}::text)
                                    ELSE t._synced_at < $5 AND {} IS DISTINCT FROM {} END),
             ins AS (INSERT INTO {target} ({list}, _synced_at, _sync_gen)
                     SELECT {list}, $5, $1 FROM changed WHERE _tether_new
                     RETURNING {id}::text AS id, true AS inserted),
             upd AS (INSERT INTO {target} AS t ({list}, _synced_at, _sync_gen)
                     SELECT {list}, $5, $1 FROM changed WHERE NOT _tether_new
                     ON CONFLICT ({id}) DO UPDATE SET {sets}_synced_at = excluded._synced_at, _sync_gen = excluded._sync_gen
                     WHERE t._synced_at < excluded._synced_at
                     RETURNING t.{id}::text AS id, false AS inserted)
             SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
                    count({}) FILTER (WHERE $3)
             FROM (SELECT * FROM ins UNION ALL SELECT * FROM upd) up",
            row("t"),
            row("p"),
            notification(&format!("CASE WHEN inserted THEN {} ELSE {} END", op_end("insert"), op_end("update"))),
        );
        // The three ways rows leave the mirror: delete the rows `condition` names (its own parameter is $1,
        // and $5 if it needs one more), announce each when $3 (notify) on channel $4 with mirror name $2,
        // and return how many went and how many were announced.
        let delete_announced = |condition: &str| {
            format!(
                "WITH gone AS (DELETE FROM {target} t WHERE {condition} RETURNING t.{id}::text AS id)
                 SELECT count(*), count({}) FILTER (WHERE $3) FROM gone",
                notification(&op_end("delete"))
            )
        };
        // $1 pass start. The rows the pass did not see go, except those written since it started (by it,
        // or through the mirror: the provider has them).
        let seen = "pg_temp.tether_seen";
        let sweep = delete_announced(&format!(
            "t._synced_at < $1::timestamptz AND NOT EXISTS (SELECT 1 FROM {seen} s WHERE s.id = t.{id}::text)"
        ));
        Statements {
            stage: format!("CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {source}) ON COMMIT DELETE ROWS"),
            gone: format!("CREATE TEMP TABLE IF NOT EXISTS {gone} (id text) ON COMMIT DELETE ROWS"),
            page,
            apply,
            seen: format!("CREATE TEMP TABLE IF NOT EXISTS {seen} (id text) ON COMMIT DELETE ROWS"),
            batch_ids: format!("INSERT INTO {seen} (id) SELECT {id}::text FROM {stage} WHERE {id} IS NOT NULL"),
            note_seen: format!(
                "WITH noted AS (INSERT INTO tether.pass_seen (mirror_id, gen, id) SELECT $1, $2, id FROM {seen} RETURNING 1)
                 SELECT count(*) FROM noted"
            ),
            sweep,
            count: format!("SELECT count(*) FROM {target}"),
            exists: fetch_by_id.then(|| format!("SELECT 1 FROM {source} WHERE {id} = CAST($1 AS {id_type})")),
            delete_listed: delete_announced(&format!("t.{id}::text = ANY ($1::text[]) AND t._synced_at < $5")),
            delete_one: delete_announced(&format!("t.{id} = CAST($1 AS {id_type})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quotes every identifier, so that the tests see where quoting happens.
    fn quote(name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn statements(updated: Option<(&str, &str)>, fetch_by_id: bool) -> Statements {
        let columns = ["id".to_string(), "email".to_string(), "Odd \"Name\"".to_string()];
        let tables = Tables {
            target: "local.contacts",
            source: "crm.contacts",
            columns: &columns,
            by_value: &[true, true, false],
            id_column: "id",
            id_type: "text",
            updated,
        };
        Statements::new(&tables, fetch_by_id, &quote)
    }

    #[test]
    fn a_page_is_read_from_the_source_into_the_staging_table() {
        let s = statements(None, false);
        assert_eq!(
            s.page,
            r#"INSERT INTO pg_temp.tether_stage ("id", "email", "Odd ""Name""") SELECT "id", "email", "Odd ""Name""" FROM crm.contacts"#
        );
        let s = statements(Some(("updated_at", "timestamp with time zone")), false);
        assert!(
            s.page.ends_with(r#" FROM crm.contacts WHERE "updated_at" >= $1::timestamp with time zone"#),
            "{}",
            s.page
        );
        assert!(s.stage.contains("(LIKE crm.contacts) ON COMMIT DELETE ROWS"), "{}", s.stage);
    }

    #[test]
    fn the_merge_updates_what_changed_and_never_the_id() {
        let s = statements(None, false);
        assert!(s.apply.contains(r#"ON CONFLICT ("id") DO UPDATE SET "email" = excluded."email", "Odd ""Name""" = excluded."Odd ""Name""", _synced_at"#), "{}", s.apply);
        assert!(!s.apply.contains(r#""id" = excluded."id""#), "the id is not updated: {}", s.apply);
        // Only rows that differ from the mirror's are written (and announced).
        // Built-in types by value, the rest as text.
        assert!(s.apply.contains(r#"AND ROW(t."id", t."email", t."Odd ""Name"""::text) IS DISTINCT FROM ROW(p."id", p."email", p."Odd ""Name"""::text) END"#), "{}", s.apply);
        // A page that lists a record twice is merged once.
        assert!(s.apply.contains(r#"SELECT DISTINCT ON ("id")"#), "{}", s.apply);
        // $1 generation, $2 mirror name, $3 notify, $4 channel: each change announced, when $3.
        assert!(
            s.apply.contains(r#"count(pg_notify($4, '{"mirror" : ' || to_json($2::text)::text || ', "id" : ' || to_json(id)::text || CASE WHEN inserted THEN ', "op" : "insert"}' ELSE ', "op" : "update"}' END)) FILTER (WHERE $3)"#),
            "{}",
            s.apply
        );
    }

    #[test]
    fn a_page_never_undoes_what_was_written_through_the_mirror_since_it_was_fetched() {
        let s = statements(None, false);
        // A row the mirror has is compared only when it is older than the page ($5)...
        assert!(s.apply.contains(r#"ELSE t._synced_at < $5 AND ROW(t."id""#), "{}", s.apply);
        // ... and updated only if it still is when the upsert reaches it.
        assert!(s.apply.contains("WHERE t._synced_at < excluded._synced_at"), "{}", s.apply);
        // A record deleted through the mirror since is not put back.
        assert!(
            s.apply.contains(r#"THEN NOT EXISTS (SELECT 1 FROM pg_temp.tether_gone g WHERE g.id = p."id"::text)"#),
            "{}",
            s.apply
        );
        // What the page brings is as old as the page.
        assert!(s.apply.contains(r#"SELECT "id", "email", "Odd ""Name""", $5, $1 FROM changed"#), "{}", s.apply);
        assert_eq!(s.gone, "CREATE TEMP TABLE IF NOT EXISTS pg_temp.tether_gone (id text) ON COMMIT DELETE ROWS");
    }

    #[test]
    fn the_sweep_removes_what_the_pass_did_not_see_and_keeps_rows_written_since_it_started() {
        let s = statements(None, false);
        assert!(s.sweep.contains("WHERE t._synced_at < $1::timestamptz"), "{}", s.sweep);
        assert!(
            s.sweep.contains(r#"AND NOT EXISTS (SELECT 1 FROM pg_temp.tether_seen s WHERE s.id = t."id"::text)"#),
            "{}",
            s.sweep
        );
        assert!(s.sweep.contains(r#"count(pg_notify($4, '{"mirror" : ' || to_json($2::text)::text || ', "id" : ' || to_json(id)::text || ', "op" : "delete"}')) FILTER (WHERE $3) FROM gone"#), "{}", s.sweep);
        assert_eq!(s.seen, "CREATE TEMP TABLE IF NOT EXISTS pg_temp.tether_seen (id text) ON COMMIT DELETE ROWS");
        assert_eq!(
            s.batch_ids,
            r#"INSERT INTO pg_temp.tether_seen (id) SELECT "id"::text FROM pg_temp.tether_stage WHERE "id" IS NOT NULL"#
        );
        assert!(s.note_seen.contains("SELECT $1, $2, id FROM pg_temp.tether_seen RETURNING 1)"), "{}", s.note_seen);
        assert!(
            s.note_seen.ends_with("SELECT count(*) FROM noted"),
            "the worker counts what it noted: {}",
            s.note_seen
        );
    }

    #[test]
    fn new_records_are_inserted_plainly_and_known_ones_updated_through_on_conflict() {
        let s = statements(None, false);
        assert!(s.apply.contains("SELECT p.*, t.\"id\" IS NULL AS _tether_new"), "{}", s.apply);
        assert!(
            s.apply.contains("FROM changed WHERE _tether_new\n                     RETURNING"),
            "new rows: no ON CONFLICT: {}",
            s.apply
        );
        assert!(
            s.apply.contains("FROM changed WHERE NOT _tether_new\n                     ON CONFLICT"),
            "{}",
            s.apply
        );
    }

    #[test]
    fn a_batch_finds_its_rows_by_key_whatever_the_statistics() {
        let s = statements(None, false);
        assert!(
            s.apply.contains(
                r#"LEFT JOIN LATERAL (SELECT * FROM local.contacts t WHERE t."id" = p."id" OFFSET 0) t ON true"#
            ),
            "{}",
            s.apply
        );
    }

    #[test]
    fn listed_deletions_keep_rows_written_since_the_listing() {
        let s = statements(Some(("updated_at", "timestamp with time zone")), false);
        assert!(
            s.delete_listed.contains("\"id\"::text = ANY ($1::text[]) AND t._synced_at < $5"),
            "{}",
            s.delete_listed
        );
        assert!(s.delete_listed.contains(r#"', "op" : "delete"}'"#), "{}", s.delete_listed);
    }

    #[test]
    fn reported_deletions_take_the_id_as_a_parameter() {
        let s = statements(None, true);
        assert_eq!(s.exists.as_deref(), Some(r#"SELECT 1 FROM crm.contacts WHERE "id" = CAST($1 AS text)"#));
        assert!(
            s.delete_one.contains(r#"DELETE FROM local.contacts t WHERE t."id" = CAST($1 AS text)"#),
            "{}",
            s.delete_one
        );
        assert!(statements(None, false).exists.is_none(), "no get by id: nothing to ask the provider");
    }
}
