//! Tether's core, with no Postgres in it: the connector model (declarative JSON connectors, option
//! resolution, requests, pagination, the record mapper, webhooks) and the HTTP engine (credentials,
//! retries, rate limits, interruptible waits, page streaming, redaction, the webhook receiver's HTTP
//! server), and `TetherError`. The extension (`tether`) turns its errors into ereports and calls it
//! from the FDW callbacks and the background worker. `cargo test -p tether-core` runs its tests without
//! building pgrx.

pub mod connector;
pub mod error;
pub mod http;
pub mod push;

#[cfg(test)]
mod proptests;
