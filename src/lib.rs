//! Tether: third-party HTTP APIs as PostgreSQL tables. Module wiring only; see DESIGN.md for the map.

pub mod connector;
pub mod error;
pub mod http;

::pgrx::pg_module_magic!();
