//! Options from the catalogs: the validator (every option checked, with the list of valid ones in the
//! error), and loading a foreign table with its server, columns and user mapping into the plain-Rust
//! `TableDef` / `Endpoint`. The rules themselves live in `connector::resolve`.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgList, PgTupleDesc};

use crate::connector::options::{self as option_rules, Options};
use crate::connector::server::{self, ServerDef};
use crate::connector::table::{self, TableDef};
use crate::error::{OrReport, TetherError};
use crate::fdw::registry;
use crate::gucs;
use crate::http::MappingIdentity;
use crate::http::{Credentials, Endpoint};

/// A DefElem list (catalog options) as a map.
///
/// # Safety
/// `list` must be NIL or a valid List of DefElem.
pub unsafe fn options_from_list(list: *mut pg_sys::List) -> Options {
    let mut out = Options::new();
    let list = PgList::<pg_sys::DefElem>::from_pg(list);
    for def in list.iter_ptr() {
        let name = CStr::from_ptr((*def).defname).to_string_lossy().into_owned();
        let value = CStr::from_ptr(pg_sys::defGetString(def)).to_string_lossy().into_owned();
        out.insert(name, value);
    }
    out
}

/// `{key=value,...}` as the validator receives it.
fn options_from_array(options: Vec<Option<String>>) -> Result<Options, TetherError> {
    let mut out = Options::new();
    for item in options.into_iter().flatten() {
        match item.split_once('=') {
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            None => return Err(TetherError::option(format!("malformed option \"{item}\""), None)),
        }
    }
    Ok(out)
}

/// The FDW validator: run on CREATE/ALTER of servers, user mappings, foreign tables and columns.
/// Foreign tables get their full check (against the server's connector) from the event trigger that
/// calls `validate_foreign_table`, because Postgres does not tell a validator which server a table uses.
pub fn validate(options: Vec<Option<String>>, catalog: pg_sys::Oid) {
    let opts = options_from_array(options).or_report();
    let result = if catalog == pg_sys::ForeignServerRelationId {
        option_rules::refuse_moved_server_options(&opts).or_report();
        match server::resolve_server(&opts, registry::find) {
            // A dump restores servers before the data of tether.user_connectors, and sets
            // check_function_bodies off (as for function bodies): a registered connector not loaded
            // yet is accepted then, and checked when the server is used.
            Err(e) if restoring_unknown_connector(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    } else if catalog == pg_sys::UserMappingRelationId {
        option_rules::validate_user_mapping_options(&opts)
    } else if catalog == pg_sys::ForeignTableRelationId {
        let mut connectors: Vec<Arc<crate::connector::Connector>> =
            crate::connector::builtins().map(|b| b.values().cloned().collect()).unwrap_or_default();
        connectors.extend(registry::all_user_connectors());
        let declared: Vec<&str> = connectors.iter().flat_map(|c| c.table_options.keys().map(String::as_str)).collect();
        option_rules::validate_table_options(&opts, &declared)
    } else if catalog == pg_sys::AttributeRelationId {
        option_rules::validate_column_options(&opts)
    } else if catalog == pg_sys::ForeignDataWrapperRelationId {
        match opts.keys().next() {
            Some(name) => Err(TetherError::unknown_option(
                format!("the tether foreign data wrapper takes no options (got \"{name}\")"),
                Some("set connector, base_url and the other options on a server: CREATE SERVER s FOREIGN DATA WRAPPER tether OPTIONS (connector '...')".into()),
            )),
            None => Ok(()),
        }
    } else {
        Ok(())
    };
    result.or_report();
}

/// One attribute of a foreign table.
#[derive(Debug, Clone)]
pub struct Attr {
    /// 0-based position in the tuple.
    pub index: usize,
    pub name: String,
    pub type_oid: pg_sys::Oid,
    pub typmod: i32,
}

/// A foreign table resolved against its server's connector.
pub struct LoadedTable {
    pub server: ServerDef,
    pub server_oid: pg_sys::Oid,
    pub server_name: String,
    pub table: Arc<TableDef>,
    /// Non-dropped attributes, parallel to `table.columns`.
    pub attrs: Vec<Attr>,
    /// Number of attributes in the tuple descriptor (dropped ones included).
    pub natts: usize,
    /// `schema.table`, for messages.
    pub label: String,
}

/// `schema.name` of a relation.
pub fn relation_label(relid: pg_sys::Oid) -> String {
    // SAFETY: backend thread, in a transaction (syscache lookups on a plain oid). get_rel_name and
    // get_namespace_name return NULL, never an ERROR, for an oid that names nothing (get_rel_namespace
    // then gives InvalidOid), and `part` checks for NULL; otherwise they return palloc'd NUL-terminated
    // strings in the current memory context, copied into Strings before this returns.
    unsafe {
        let name = pg_sys::get_rel_name(relid);
        let nsp = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid));
        let part = |p: *mut std::ffi::c_char| {
            if p.is_null() {
                "?".to_string()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        format!("{}.{}", part(nsp), part(name))
    }
}

/// A server's options resolved against its connector; an error names the server.
///
/// # Safety
/// `server` must be a valid ForeignServer.
pub unsafe fn server_def(server: *mut pg_sys::ForeignServer, name: &str) -> Result<ServerDef, TetherError> {
    server::resolve_server(&options_from_list((*server).options), registry::find)
        .map_err(|e| e.context(&format!("server \"{name}\"")))
}

/// The name of a role, for messages and OAuth2 token ownership; `role <oid>` for an oid that names no
/// role (one dropped while a session of it still runs, an arbitrary oid passed to a function).
pub fn role_name(userid: pg_sys::Oid) -> String {
    // SAFETY: backend thread, in a transaction (a syscache lookup). With noerr = true,
    // GetUserNameFromId returns NULL for an oid that names no role (checked before CStr::from_ptr),
    // else a palloc'd NUL-terminated string, copied into a String.
    unsafe {
        let name = pg_sys::GetUserNameFromId(userid, true);
        if name.is_null() {
            return format!("role {}", userid.to_u32());
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// Load a foreign table: server, connector object, column mapping.
pub fn load_table(relid: pg_sys::Oid) -> Result<LoadedTable, TetherError> {
    // SAFETY: backend thread, in a transaction. GetForeignTable and GetForeignServer raise an ERROR for
    // a missing entry and never return NULL; they, and servername (non-null), are palloc'd in the current
    // memory context and valid until this returns. The option lists are NIL or Lists of DefElem, as
    // options_from_list requires (so is GetForeignColumnOptions's, which raises an ERROR for a missing
    // attribute). RelationIdGetRelation returns NULL for a relation that does not exist, which is
    // checked; the open relation's rd_att stays valid until RelationClose (a relcache rebuild keeps a
    // replaced descriptor until the end of the transaction), and the PgTupleDesc, which neither pins nor
    // frees it, is dropped before that. An ERROR between open and close leaves the reference to the
    // transaction's resource owner, which releases it on abort.
    unsafe {
        let ft = pg_sys::GetForeignTable(relid);
        let server = pg_sys::GetForeignServer((*ft).serverid);
        let server_name = CStr::from_ptr((*server).servername).to_string_lossy().into_owned();
        let label = relation_label(relid);
        let server_def = server_def(server, &server_name)?;
        let table_opts = options_from_list((*ft).options);

        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return Err(TetherError::Internal(format!("could not open relation {label}")));
        }
        let tupdesc = PgTupleDesc::from_pg_unchecked((*rel).rd_att);
        let natts = tupdesc.len();
        let mut attrs = Vec::new();
        let mut columns = Vec::new();
        for (index, att) in tupdesc.iter().enumerate() {
            if att.is_dropped() {
                continue;
            }
            let name = att.name().to_string();
            let copts = options_from_list(pg_sys::GetForeignColumnOptions(relid, att.num()));
            columns.push((name.clone(), copts));
            attrs.push(Attr { index, name, type_oid: att.atttypid, typmod: att.atttypmod });
        }
        drop(tupdesc);
        pg_sys::RelationClose(rel);

        let table = table::resolve_table(&server_def, &table_opts, &columns, &label)?;
        Ok(LoadedTable {
            server: server_def,
            server_oid: (*ft).serverid,
            server_name,
            table: Arc::new(table),
            attrs,
            natts,
            label,
        })
    }
}

/// Whether `user` (InvalidOid: PUBLIC) has a user mapping of its own on a server.
fn has_mapping(user: pg_sys::Oid, serverid: pg_sys::Oid) -> bool {
    // SAFETY: backend thread, in a transaction. SearchSysCache2 takes the cache id and two key datums
    // (oids, by value) and returns NULL when there is no entry, which is checked; a tuple it returns is
    // released at once and never read.
    unsafe {
        let cache = pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32;
        let tuple = pg_sys::SearchSysCache2(cache, pg_sys::Datum::from(user), pg_sys::Datum::from(serverid));
        if tuple.is_null() {
            false
        } else {
            pg_sys::ReleaseSysCache(tuple);
            true
        }
    }
}

/// The user mapping options for `userid` on a server (falling back to PUBLIC), or None.
pub fn user_mapping_options(userid: pg_sys::Oid, serverid: pg_sys::Oid) -> Option<Options> {
    // SAFETY: backend thread, in a transaction. GetUserMapping raises an ERROR rather than returning NULL
    // when there is no mapping (one exists here: checked first); the UserMapping and its options (NIL or
    // a List of DefElem) are palloc'd in the current memory context and read before this returns.
    unsafe {
        if !has_mapping(userid, serverid) && !has_mapping(pg_sys::InvalidOid, serverid) {
            return None;
        }
        // GetUserMapping applies the same user-then-PUBLIC lookup and now finds one.
        let um = pg_sys::GetUserMapping(userid, serverid);
        Some(options_from_list((*um).options))
    }
}

/// The endpoint (base URL, credentials, timeouts) for a table's server as `userid`.
pub fn endpoint(loaded: &LoadedTable, userid: pg_sys::Oid) -> Result<Arc<Endpoint>, TetherError> {
    server_endpoint(&loaded.server, loaded.server_oid, &loaded.server_name, userid)
}

/// The endpoint for a server as `userid`.
pub fn server_endpoint(
    server: &ServerDef,
    server_oid: pg_sys::Oid,
    server_name: &str,
    userid: pg_sys::Oid,
) -> Result<Arc<Endpoint>, TetherError> {
    mapping_endpoint(server, server_oid, server_name, userid, user_mapping_options(userid, server_oid).as_ref())
}

/// The endpoint for a server as `userid`, with the credentials of `mapping` (its user mapping's options).
pub fn mapping_endpoint(
    server: &ServerDef,
    server_oid: pg_sys::Oid,
    server_name: &str,
    userid: pg_sys::Oid,
    mapping: Option<&Options>,
) -> Result<Arc<Endpoint>, TetherError> {
    // OAuth2 tokens are cached per role and mapping; the PUBLIC mapping's refresh token is the mapping's own.
    let mapping_role = if has_mapping(userid, server_oid) { userid } else { pg_sys::InvalidOid };
    let identity =
        MappingIdentity { server: server_oid.to_u32(), role: userid.to_u32(), mapping_role: mapping_role.to_u32() };
    let credentials =
        Credentials::new(server, server_name, &role_name(userid), identity, mapping, oauth_token_store())?;
    Ok(Endpoint::new(server, server_name, credentials, gucs::http_defaults()))
}

/// Where rotated OAuth2 refresh tokens are kept: `<data directory>/pg_tether/oauth` (see `http::oauth`).
fn oauth_token_store() -> Option<PathBuf> {
    // SAFETY: DataDir is set (absolute) at startup, before any backend runs a query, and not changed after;
    // the static's value (a pointer) is copied, no reference to the static mut is made.
    let dir = unsafe { pg_sys::DataDir };
    (!dir.is_null()).then(|| {
        // SAFETY: `dir` is non-null (checked just above) and points to DataDir's NUL-terminated string,
        // which lives as long as the process.
        let dir = unsafe { CStr::from_ptr(dir) };
        Path::new(OsStr::from_bytes(dir.to_bytes())).join("pg_tether").join("oauth")
    })
}

/// Full validation of a foreign table against its server's connector (called by the event trigger).
#[pg_extern]
fn validate_foreign_table(relid: pg_sys::Oid) {
    match load_table(relid) {
        Err(e) if restoring_unknown_connector(&e) => {}
        other => {
            other.map(|_| ()).or_report();
        }
    }
}

/// The checks of a user mapping that need its server (called by the event trigger): a webhook_secret
/// counts only in the mapping of the server's owner, the only one no other role can create, and must
/// suit the connector's signature scheme. `role` is InvalidOid for a PUBLIC mapping. Only a role that
/// may change the mapping (its own role, the server's owner) may ask: the checks read the mapping's
/// options, which no other role may learn anything about.
#[pg_extern]
fn validate_user_mapping(server: pg_sys::Oid, role: pg_sys::Oid) {
    // SAFETY: backend thread, inside the SQL function's transaction (catalog lookups). GetForeignServer
    // raises an ERROR for an oid that is not a server (whoever calls this function, with whatever oid), and
    // never returns NULL; servername is a palloc'd NUL-terminated copy (never NULL), copied into a String.
    let (srv, owner, name) = unsafe {
        let srv = pg_sys::GetForeignServer(server);
        (srv, (*srv).owner, CStr::from_ptr((*srv).servername).to_string_lossy().into_owned())
    };
    // SAFETY: backend thread, inside the SQL function's transaction: GetUserId reads the current user, and
    // has_privs_of_role and superuser are catalog lookups that take and return plain values.
    let may = unsafe {
        let me = pg_sys::GetUserId();
        me == role || pg_sys::has_privs_of_role(me, owner) || pg_sys::superuser()
    };
    if !may {
        crate::error::report(TetherError::Option {
            message: format!("permission denied to check the user mappings of server \"{name}\""),
            hint: Some("user mappings are checked when their role or the server's owner creates or alters them".into()),
            state: crate::error::SqlState::InsufficientPrivilege,
        });
    }
    let Some(opts) = user_mapping_options(role, server) else { return };
    let Some(secret) = opts.get("webhook_secret") else { return };
    if role != owner {
        let holder =
            if role == pg_sys::InvalidOid { "PUBLIC".to_string() } else { format!("role \"{}\"", role_name(role)) };
        crate::error::report(TetherError::option(
            format!(
                "webhook_secret is read only from the user mapping of server \"{name}\"'s owner, role \"{}\", not from the mapping for {holder}",
                role_name(owner)
            ),
            Some(format!(
                "as role \"{}\": ALTER USER MAPPING FOR CURRENT_USER SERVER {name} OPTIONS (ADD webhook_secret '...')",
                role_name(owner)
            )),
        ));
    }
    // SAFETY: `srv` is the non-null ForeignServer GetForeignServer returned above, palloc'd in this call's
    // memory context, which is still current; its options are NIL or a List of DefElem.
    match unsafe { server_def(srv, &name) } {
        Err(e) if restoring_unknown_connector(&e) => {}
        Err(e) => crate::error::report(e),
        Ok(def) => {
            server::check_webhook_secret(&def, secret).map_err(|e| e.context(&format!("server \"{name}\""))).or_report()
        }
    }
}

/// An unknown connector while a dump is restored (pg_dump turns check_function_bodies off): servers and
/// tables come back before the rows of tether.user_connectors, so a registered connector is not known
/// yet. It is checked when the server is used.
fn restoring_unknown_connector(e: &TetherError) -> bool {
    // SAFETY: check_function_bodies is a plain bool GUC variable, written only by the GUC machinery on this
    // same (backend) thread; it is read by value, no reference to the static mut is made.
    let checking = unsafe { pg_sys::check_function_bodies };
    !checking && e.to_string().contains("unknown connector")
}
