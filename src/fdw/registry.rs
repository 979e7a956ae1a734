//! User connectors: stored in `tether.user_connectors`, registered, updated and dropped with SQL
//! functions, and found by name next to the built-in ones (`connector::find_with`). Only the
//! extension's owner (or a superuser) may change them: a connector decides where requests, with the
//! credentials of every user of its servers, are sent.

use std::sync::Arc;

use pgrx::prelude::*;
use pgrx::JsonB;

use crate::connector::{self, Connector, UserConnectors};
use crate::error::{report, OrReport, SqlState, TetherError};

/// Reads `tether.user_connectors` through SPI.
pub struct Stored;

impl UserConnectors for Stored {
    fn definition(&self, name: &str) -> Result<Option<String>, TetherError> {
        Spi::connect(|c| {
            let rows =
                c.select("SELECT definition::text FROM tether.user_connectors WHERE name = $1", None, &[name.into()])?;
            match rows.into_iter().next() {
                Some(row) => row.get::<String>(1),
                None => Ok(None),
            }
        })
        .map_err(|e| TetherError::Internal(format!("reading tether.user_connectors: {e}")))
    }

    fn names(&self) -> Vec<String> {
        texts("SELECT name FROM tether.user_connectors ORDER BY name", &[])
    }
}

/// Find a connector, built-in or registered.
pub fn find(name: &str) -> Result<Arc<Connector>, TetherError> {
    connector::find_with(name, &Stored)
}

/// Every user connector, parsed (one that no longer loads is skipped with a warning).
pub fn all_user_connectors() -> Vec<Arc<Connector>> {
    let rows: Vec<(String, String)> = Spi::connect(|c| {
        let rows = c.select("SELECT name, definition::text FROM tether.user_connectors ORDER BY name", None, &[])?;
        let mut out = Vec::new();
        for row in rows {
            if let (Some(n), Some(d)) = (row.get::<String>(1)?, row.get::<String>(2)?) {
                out.push((n, d));
            }
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_default();
    rows.into_iter()
        .filter_map(|(name, text)| match connector::parse_user(&name, &text) {
            Ok(c) => Some(c),
            Err(e) => {
                pgrx::warning!("user connector \"{name}\" does not load: {e}");
                None
            }
        })
        .collect()
}

/// Only the extension's owner or a superuser may change connectors.
fn check_privilege(action: &str) -> Result<(), TetherError> {
    let owner = Spi::get_one::<pg_sys::Oid>("SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'tether'")
        .map_err(|e| TetherError::Internal(e.to_string()))?;
    // SAFETY: backend thread, inside the calling SQL function's transaction; GetUserId reads the
    // session's current user.
    let user = unsafe { pg_sys::GetUserId() };
    // SAFETY: as above; superuser and has_privs_of_role are catalog lookups that take and return plain
    // values (an oid that names no role is simply not a member of anything).
    let allowed =
        unsafe { pg_sys::superuser() } || owner.is_some_and(|o| unsafe { pg_sys::has_privs_of_role(user, o) });
    if allowed {
        return Ok(());
    }
    Err(TetherError::Option {
        message: format!("permission denied to {action} a connector"),
        hint: Some(
            "only the owner of the tether extension or a superuser may: a connector decides where requests, with users' credentials, are sent"
                .into(),
        ),
        state: SqlState::InsufficientPrivilege,
    })
}

/// Parse and validate a definition; the error names the JSON path at fault.
fn parse(definition: &JsonB) -> Result<Connector, TetherError> {
    let text = serde_json::to_string(&definition.0).map_err(|e| TetherError::Internal(e.to_string()))?;
    let connector = connector::load(&text)?;
    if connector::builtins()?.contains_key(&connector.name) {
        return Err(TetherError::Option {
            message: format!("\"{}\" is the name of a built-in connector", connector.name),
            hint: Some("give your connector another name".into()),
            state: SqlState::DuplicateObject,
        });
    }
    Ok(connector)
}

fn exists(name: &str) -> bool {
    Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM tether.user_connectors WHERE name = $1)",
        &[name.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false)
}

/// Servers using connector `name`.
fn servers_using(name: &str) -> Vec<String> {
    texts(
        "SELECT s.srvname::text FROM pg_catalog.pg_foreign_server s
           JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
          WHERE w.fdwhandler = 'tether.tether_fdw_handler'::regproc
            AND ('connector=' || $1) = ANY (s.srvoptions)
          ORDER BY 1",
        &[name.into()],
    )
}

/// The first column of a query's rows, as text (non-null values only).
fn texts(query: &str, args: &[pgrx::datum::DatumWithOid]) -> Vec<String> {
    Spi::connect(|c| {
        let mut out = Vec::new();
        for row in c.select(query, None, args)? {
            if let Some(n) = row.get::<String>(1)? {
                out.push(n);
            }
        }
        Ok::<_, pgrx::spi::Error>(out)
    })
    .unwrap_or_default()
}

fn store(definition: JsonB, replace: bool) -> Result<String, TetherError> {
    check_privilege(if replace { "update" } else { "register" })?;
    let connector = parse(&definition)?;
    let name = connector.name.clone();
    match (exists(&name), replace) {
        (true, false) => {
            return Err(TetherError::Option {
                message: format!("connector \"{name}\" is already registered"),
                hint: Some("use tether.update_connector(...) to change it".into()),
                state: SqlState::DuplicateObject,
            })
        }
        (false, true) => {
            return Err(TetherError::Option {
                message: format!("connector \"{name}\" is not registered"),
                hint: Some("use tether.register_connector(...) to add it".into()),
                state: SqlState::UndefinedObject,
            })
        }
        _ => {}
    }
    // Store the definition as it was given (not re-serialized), so what users read back is theirs.
    let sql = if replace {
        "UPDATE tether.user_connectors SET definition = $2, registered_by = current_user, registered_at = now() WHERE name = $1"
    } else {
        "INSERT INTO tether.user_connectors (name, definition) VALUES ($1, $2)"
    };
    Spi::run_with_args(sql, &[name.clone().into(), definition.into()])
        .map_err(|e| TetherError::Internal(format!("storing connector \"{name}\": {e}")))?;
    Ok(name)
}

/// Register a connector from its JSON definition; returns its name.
#[pg_extern(volatile)]
fn register_connector(definition: JsonB) -> String {
    store(definition, false).or_report()
}

/// Replace a registered connector's definition (servers using it see the new one in new statements).
#[pg_extern(volatile)]
fn update_connector(definition: JsonB) -> String {
    store(definition, true).or_report()
}

/// Remove a registered connector. Refused while servers use it.
#[pg_extern(volatile)]
fn drop_connector(name: &str) -> bool {
    check_privilege("drop").or_report();
    if connector::builtins().or_report().contains_key(name) {
        report(TetherError::Unsupported {
            message: format!("\"{name}\" is a built-in connector and cannot be dropped"),
            hint: None,
        });
    }
    if !exists(name) {
        report(TetherError::Option {
            message: format!("connector \"{name}\" is not registered"),
            hint: Some("SELECT name FROM tether.user_connectors lists the registered ones".into()),
            state: SqlState::UndefinedObject,
        });
    }
    let servers = servers_using(name);
    if !servers.is_empty() {
        report(TetherError::Option {
            message: format!("connector \"{name}\" is used by server(s) {}", servers.join(", ")),
            hint: Some(format!("drop them first: DROP SERVER {} CASCADE", servers.join(", "))),
            state: SqlState::DependentObjectsStillExist,
        });
    }
    Spi::run_with_args("DELETE FROM tether.user_connectors WHERE name = $1", &[name.into()])
        .map_err(|e| TetherError::Internal(e.to_string()))
        .or_report();
    true
}
