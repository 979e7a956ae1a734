//! The FdwRoutine and the SQL functions around it: handler, validator, the catalog of connectors.
//! Postgres-facing: this module (with `sync`) is where pg_sys, SPI and memory contexts are used.

pub mod datum;
pub mod import;
pub mod modify;
pub mod options;
pub mod page;
pub mod plan;
pub mod pushdown;
pub mod registry;
pub mod request;
pub mod scan;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{AllocatedByRust, PgBox};

use crate::connector;
use crate::connector::model::PaginationDef;
use crate::error::OrReport;

#[pg_extern]
fn tether_fdw_handler() -> PgBox<pg_sys::FdwRoutine, AllocatedByRust> {
    // SAFETY: T_FdwRoutine is the node tag of pg_sys::FdwRoutine, as alloc_node requires. The node is
    // palloc0'd in the memory context the handler is called in; returning the PgBox hands the pointer to
    // Postgres without freeing it (IntoDatum). Postgres uses it within the calling statement, or copies it
    // when it caches it in the relcache (GetFdwRoutineForRelation), so nothing reads it after that context
    // goes away.
    let mut routine =
        unsafe { PgBox::<pg_sys::FdwRoutine, AllocatedByRust>::alloc_node(pg_sys::NodeTag::T_FdwRoutine) };
    routine.GetForeignRelSize = Some(plan::get_foreign_rel_size);
    routine.GetForeignPaths = Some(plan::get_foreign_paths);
    routine.GetForeignPlan = Some(plan::get_foreign_plan);
    routine.BeginForeignScan = Some(scan::begin_foreign_scan);
    routine.IterateForeignScan = Some(scan::iterate_foreign_scan);
    routine.ReScanForeignScan = Some(scan::rescan_foreign_scan);
    routine.EndForeignScan = Some(scan::end_foreign_scan);
    routine.ExplainForeignScan = Some(scan::explain_foreign_scan);
    routine.AddForeignUpdateTargets = Some(modify::add_foreign_update_targets);
    routine.PlanForeignModify = Some(modify::plan_foreign_modify);
    routine.BeginForeignModify = Some(modify::begin_foreign_modify);
    routine.ExecForeignInsert = Some(modify::exec_foreign_insert);
    routine.ExecForeignUpdate = Some(modify::exec_foreign_update);
    routine.ExecForeignDelete = Some(modify::exec_foreign_delete);
    routine.GetForeignModifyBatchSize = Some(modify::get_foreign_modify_batch_size);
    routine.ExecForeignBatchInsert = Some(modify::exec_foreign_batch_insert);
    routine.EndForeignModify = Some(modify::end_foreign_modify);
    routine.IsForeignRelUpdatable = Some(modify::is_foreign_rel_updatable);
    routine.BeginForeignInsert = Some(modify::begin_foreign_insert);
    routine.EndForeignInsert = Some(modify::end_foreign_insert);
    routine.ExplainForeignModify = Some(modify::explain_foreign_modify);
    routine.ImportForeignSchema = Some(import::import_foreign_schema);
    routine
}

#[pg_extern]
fn tether_fdw_validator(options: Vec<Option<String>>, catalog: pg_sys::Oid) {
    options::validate(options, catalog);
}

/// Every connector and object Tether knows, one row per object.
#[pg_extern(stable)]
#[allow(clippy::type_complexity)]
fn connectors() -> TableIterator<
    'static,
    (
        name!(connector, String),
        name!(object, String),
        name!(description, String),
        name!(pagination, String),
        name!(id_lookup, bool),
        name!(columns, Vec<String>),
        name!(pushdown, Vec<String>),
        name!(writes, Vec<String>),
    ),
> {
    let mut all: Vec<std::sync::Arc<connector::Connector>> =
        connector::builtins().or_report().values().cloned().collect();
    all.extend(registry::all_user_connectors());
    let mut rows = Vec::new();
    for c in all {
        let name = &c.name;
        let mut objects: Vec<(String, &connector::model::ObjectDef)> =
            c.objects.iter().map(|(n, o)| (n.clone(), o)).collect();
        if let Some(g) = &c.generic_object {
            let label = if c.table_options.is_empty() {
                "(path)".to_string()
            } else {
                format!("({})", c.table_options.keys().cloned().collect::<Vec<_>>().join(", "))
            };
            objects.push((label, g));
        }
        for (object, o) in objects {
            let mut pushdown: Vec<String> = Vec::new();
            let id_in_language = o.list.language.is_some() && o.column(&o.id_column).is_some_and(|c| c.field.is_some());
            if o.get.is_some() && !id_in_language {
                pushdown.push(format!("{} = value (get endpoint)", o.id_column));
            }
            for f in &o.filters {
                pushdown.push(format!("{} {} value", f.column, f.op.sql()));
            }
            match &o.list.language {
                Some(connector::model::LanguageDef::Soql { .. }) => {
                    pushdown.push("columns with a field: =, = ANY; <, <=, >, >= on numbers and dates (SOQL)".into())
                }
                Some(connector::model::LanguageDef::Formula { .. }) => {
                    pushdown.push("columns with a field: =, = ANY; <, <=, >, >= on numbers and dates (formula)".into())
                }
                None => {}
            }
            if let Some(s) = &o.search {
                let ops: Vec<&str> = ["eq", "in", "lt", "le", "gt", "ge"]
                    .into_iter()
                    .filter(|k| s.ops.contains_key(*k))
                    .map(|k| match k {
                        "eq" => "=",
                        "in" => "= ANY",
                        "lt" => "<",
                        "le" => "<=",
                        "gt" => ">",
                        _ => ">=",
                    })
                    .collect();
                pushdown.push(format!(
                    "columns with a field: {} (search endpoint, up to {} conditions)",
                    ops.join(", "),
                    s.max_filters.map(|n| n.to_string()).unwrap_or_else(|| "any number of".into())
                ));
            }
            pushdown.push("LIMIT".to_string());
            let pagination = match &o.list.pagination {
                PaginationDef::None if c.generic_object.is_some() => "table option pagination".to_string(),
                p => p.style().to_string(),
            };
            let mut writes = Vec::new();
            if let Some(c) = &o.create {
                writes.push(match &o.batch_create {
                    Some(b) => format!("INSERT ({}; batches of {})", c.method, b.max),
                    None => format!("INSERT ({})", c.method),
                });
            }
            if let Some(u) = &o.update {
                writes.push(format!("UPDATE ({})", u.method));
            }
            if let Some(d) = &o.delete {
                writes.push(format!("DELETE ({})", d.method));
            }
            rows.push((
                name.clone(),
                object,
                o.description.clone(),
                pagination,
                o.get.is_some(),
                o.columns
                    .iter()
                    .map(|col| {
                        format!("{} {}{}", col.name, col.type_name, if col.read_only { " (read-only)" } else { "" })
                    })
                    .collect(),
                pushdown,
                writes,
            ));
        }
    }
    TableIterator::new(rows)
}

/// A connector's definition as JSON (a starting point for writing your own).
#[pg_extern(stable)]
fn connector_definition(name: &str) -> pgrx::JsonB {
    let c = registry::find(name).or_report();
    pgrx::JsonB(serde_json::to_value(&*c).unwrap_or_default())
}
