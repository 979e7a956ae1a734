//! IMPORT FOREIGN SCHEMA: `IMPORT FOREIGN SCHEMA <connector> FROM SERVER s INTO local_schema` creates
//! one foreign table per object of the connector (or, for a connector with a discovery endpoint such
//! as Airtable's, per table the API lists), with the connector's columns and types. LIMIT TO and
//! EXCEPT name tables; an unknown name is an error.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, quote_literal};
use pgrx::PgList;

use crate::connector::import::{self, ImportTable};
use crate::connector::server;
use crate::connector::template;
use crate::error::{report, OrReport, SqlState, TetherError};
use crate::fdw::options::{self, options_from_list, server_endpoint};
use crate::http::{self, retry, wait};

unsafe fn text(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

fn options_sql(options: &[(String, String)]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let list: Vec<String> =
        options.iter().map(|(k, v)| format!("{} {}", quote_identifier(k), quote_literal(v))).collect();
    format!(" OPTIONS ({})", list.join(", "))
}

/// The CREATE FOREIGN TABLE statement for one table (Postgres puts it in the local schema).
fn create_statement(table: &ImportTable, server: &str) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}{}", quote_identifier(&c.name), c.type_name, options_sql(&c.options)))
        .collect();
    format!(
        "CREATE FOREIGN TABLE {} ({}) SERVER {}{}",
        quote_identifier(&table.name),
        columns.join(", "),
        quote_identifier(server),
        options_sql(&table.options)
    )
}

/// # Safety
/// Postgres calls this as ImportForeignSchema (FDW API), with a valid statement and server oid.
#[pg_guard]
pub unsafe extern "C-unwind" fn import_foreign_schema(
    stmt: *mut pg_sys::ImportForeignSchemaStmt,
    server_oid: pg_sys::Oid,
) -> *mut pg_sys::List {
    let server = pg_sys::GetForeignServer(server_oid);
    let server_name = text((*server).servername);
    let server_def = options::server_def(server, &server_name).or_report();
    let connector = server_def.connector.clone();
    let remote = text((*stmt).remote_schema);
    if remote != connector.name {
        report(TetherError::Option {
            message: format!(
                "server \"{server_name}\" uses connector \"{}\"; import its tables with IMPORT FOREIGN SCHEMA {} FROM SERVER {}",
                connector.name,
                quote_identifier(&connector.name),
                quote_identifier(&server_name)
            ),
            hint: Some(format!("the remote schema names the connector, not \"{remote}\"")),
            state: SqlState::UndefinedObject,
        });
    }
    if let Some(name) = options_from_list((*stmt).options).keys().next() {
        report(TetherError::unknown_option(
            format!("IMPORT FOREIGN SCHEMA from a tether server takes no options (got \"{name}\")"),
            None,
        ));
    }
    let tables = if server_def.connector.discover.is_some() {
        discover(&server_def, server_oid, &server_name).or_report()
    } else {
        import::declared(&connector)
    };
    if tables.is_empty() {
        report(TetherError::Unsupported {
            message: format!("connector \"{}\" has no tables to import", connector.name),
            hint: connector.generic_object.as_ref().map(|_| {
                "its tables are defined by options: CREATE FOREIGN TABLE ... SERVER ... OPTIONS (path '/resource')"
                    .to_string()
            }),
        });
    }
    let names: Vec<String> =
        PgList::<pg_sys::RangeVar>::from_pg((*stmt).table_list).iter_ptr().map(|rv| text((*rv).relname)).collect();
    let selected = match (*stmt).list_type {
        pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_LIMIT_TO => import::select(tables, &names, true),
        pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_EXCEPT => import::select(tables, &names, false),
        _ => Ok(tables),
    }
    .or_report();
    let mut commands = PgList::<std::ffi::c_char>::new();
    for table in &selected {
        let sql = CString::new(create_statement(table, &server_name)).unwrap_or_default();
        commands.push(pg_sys::pstrdup(sql.as_ptr()));
    }
    commands.into_pg()
}

/// Ask the connector's discovery endpoint for the tables, as the current user.
fn discover(
    server: &server::ServerDef,
    server_oid: pg_sys::Oid,
    server_name: &str,
) -> Result<Vec<ImportTable>, TetherError> {
    let (Some(def), Some(url)) = (server.connector.discover.clone(), server.discover_url()?) else {
        return Ok(Vec::new());
    };
    // SAFETY: backend thread, inside IMPORT FOREIGN SCHEMA's transaction; GetUserId takes nothing and
    // returns the current user's oid.
    let endpoint = server_endpoint(server, server_oid, server_name, unsafe { pg_sys::GetUserId() })?;
    let shown = format!("GET {}", template::display_path(&url));
    let e = endpoint.clone();
    let response = wait::run(move |abandoned| retry::execute(&e, &retry::Call::get(&url), abandoned), &mut || {
        pgrx::check_for_interrupts!();
    })?;
    let doc = http::parse_json(&endpoint, &shown, &response.body)?;
    import::discovered(&server.connector, &def, &doc)
}
