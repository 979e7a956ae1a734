//! Whose rights a background process's statements run with (docs/security.md). The one module that
//! changes the current user; every other module asks it.
//!
//! The sync, launcher and webhook processes connect as the bootstrap superuser. Their own statements
//! (bookkeeping in `tether.*`, catalog reads) run with `search_path` pinned to `pg_catalog, pg_temp`
//! (`pin_session`) and name tables with their schema, so nothing a role creates can stand in for an
//! operator, function or table they use. A mirror owner's code (the merge into the owner's table fires
//! its triggers, defaults, CHECKs and index expressions; the source scan runs with the owner's user
//! mapping) runs through `as_owner`: as the owner, inside a security-restricted operation (no SET ROLE,
//! no temporary objects, no LISTEN), with the pinned `search_path`, and with every setting the owner's
//! code changes undone when it returns, so that nothing it leaves behind reaches the superuser's
//! statements that follow in the same process.

use std::cell::Cell;
use std::ffi::CString;

use pgrx::pg_sys;

/// The `search_path` of every statement a background process runs (the owner's code included).
pub const PINNED_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Pin `search_path` for the rest of the process (called once, before any other statement, by each
/// background process: settings of the database or role the worker connects to may have set another).
pub fn pin_session() {
    set("search_path", PINNED_SEARCH_PATH, pg_sys::GucAction::GUC_ACTION_SET);
}

fn set(name: &str, value: &str, action: pg_sys::GucAction::Type) {
    let (name, value) = (CString::new(name).unwrap_or_default(), CString::new(value).unwrap_or_default());
    // SAFETY: called on the backend's main thread inside a transaction (superuser is a catalog lookup);
    // `name` and `value` are NUL-terminated CStrings that outlive the call, and set_config_option copies
    // what it keeps. An invalid value raises an ERROR (elevel ERROR), which pgrx turns into a Rust panic
    // caught by the caller's transaction.
    unsafe {
        let context = if pg_sys::superuser() { pg_sys::GucContext::PGC_SUSET } else { pg_sys::GucContext::PGC_USERSET };
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            context,
            pg_sys::GucSource::PGC_S_SESSION,
            action,
            true,
            pg_sys::PGERROR as i32,
            false,
        );
    }
}

/// Run `f` with `role`'s rights, as Postgres runs a table owner's code during maintenance (REFRESH
/// MATERIALIZED VIEW, VACUUM): current user `role`, a security-restricted operation, `search_path`
/// pinned, and a new GUC nesting level that is rolled back afterwards, so a `set_config(..., false)`
/// by the owner's code does not outlive `f`. An ERROR inside `f` aborts the transaction, which restores
/// the user and the settings by itself.
pub fn as_owner<R>(role: pg_sys::Oid, f: impl FnOnce() -> R) -> R {
    let mut saved_user = pg_sys::Oid::INVALID;
    let mut saved_context = 0;
    // SAFETY: main thread, inside a transaction: a sync process's `refresh::transaction`, or the SQL
    // function that calls `as_extension_owner`. GetUserIdAndSecContext writes the two locals;
    // NewGUCNestLevel opens a GUC nest level that AtEOXact_GUC below (or, after an ERROR, the abort of the
    // enclosing transaction or subtransaction) closes; SetUserIdAndSecContext only records the oid and
    // flags.
    let nest = unsafe {
        pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
        let nest = pg_sys::NewGUCNestLevel();
        set("search_path", PINNED_SEARCH_PATH, pg_sys::GucAction::GUC_ACTION_SAVE);
        pg_sys::SetUserIdAndSecContext(
            role,
            saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32 | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
        nest
    };
    let out = f();
    // SAFETY: same thread and transaction as above, and `f` returned normally: AtEOXact_GUC(false, nest)
    // closes the level opened above, rolling back every setting changed at or inside it, and the user and
    // security context saved above are put back. When `f` raises an ERROR this is not reached, and the
    // abort of the enclosing transaction or subtransaction restores both.
    unsafe {
        pg_sys::AtEOXact_GUC(false, nest);
        pg_sys::SetUserIdAndSecContext(saved_user, saved_context);
    }
    out
}

thread_local! {
    /// The mirror table the sync process is writing (InvalidOid when none): its write-back trigger
    /// lets these writes through instead of sending them to the provider.
    static APPLYING: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::Oid::INVALID) };
}

/// Marks the writes of a refresh to `mirror` while it lives (also when unwinding from an error).
pub struct Applying(());

impl Applying {
    pub fn to(mirror: pg_sys::Oid) -> Applying {
        APPLYING.with(|a| a.set(mirror));
        Applying(())
    }
}

impl Drop for Applying {
    fn drop(&mut self) {
        APPLYING.with(|a| a.set(pg_sys::Oid::INVALID));
    }
}

/// Whether this process is applying a refresh to `mirror` (the write-back trigger asks). Only the sync
/// process sets it, from Rust; no setting a role could change turns it on, so a role's own writes
/// to a mirror always go to the provider first.
#[pgrx::pg_extern(volatile, parallel_safe)]
fn sync_applying(mirror: pg_sys::Oid) -> bool {
    APPLYING.with(|a| a.get() == mirror && mirror != pg_sys::Oid::INVALID)
}

/// Run `f` as the extension's owner (a superuser: tether is not a trusted extension), for the few
/// catalog writes a role may ask for but not make itself: a refresh request (`requested_at`, which a
/// role could otherwise set to 'infinity' to put its mirrors ahead of everyone's) and the removal of
/// a mirror (DELETE, whose table privilege would also let a role LOCK the whole catalog). The caller
/// checks first, as the calling role, that the row is one it may see (row-level security); `f` runs
/// fixed statements with parameters, `search_path` pinned.
pub fn as_extension_owner<R>(f: impl FnOnce() -> R) -> R {
    let owner = pgrx::Spi::get_one::<pg_sys::Oid>(
        "SELECT extowner FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'tether'",
    )
    .ok()
    .flatten()
    .unwrap_or(pg_sys::BOOTSTRAP_SUPERUSERID.into());
    as_owner(owner, f)
}
