//! Tether: third-party HTTP APIs as PostgreSQL tables. Module wiring only; docs/architecture.md has the
//! map.

pub mod compat;
pub mod error;
pub mod fdw;
pub mod gucs;
pub mod push;
pub mod sync;

// The Postgres-free core, under the names the rest of the extension uses.
pub use tether_core::{connector, http};

::pgrx::pg_module_magic!();

pgrx::extension_sql_file!("../sql/user_connectors.sql", name = "user_connectors", bootstrap);

pgrx::extension_sql_file!(
    "../sql/fdw.sql",
    name = "fdw",
    requires = [
        fdw::tether_fdw_handler,
        fdw::tether_fdw_validator,
        fdw::options::validate_foreign_table,
        fdw::options::validate_user_mapping
    ]
);

pgrx::extension_sql_file!(
    "../sql/mirrors.sql",
    name = "mirrors",
    requires = [
        "fdw",
        sync::require_worker,
        sync::wake_worker,
        sync::request_refresh,
        sync::forget_mirror,
        sync::changes_channel,
        sync::rotate_changes_channel,
        sync::mirror_source,
        sync::rights::sync_applying
    ]
);

pgrx::extension_sql_file!(
    "../sql/push.sql",
    name = "push",
    requires = ["mirrors", push::check_push, push::request_push, push::wake_push, push::forget_push]
);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::init();
    sync::init();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
