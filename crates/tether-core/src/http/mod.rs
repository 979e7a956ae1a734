//! The HTTP engine: credentials (`credentials`, `auth`, `oauth`), one endpoint per server and user
//! (`endpoint`), one exchange (`transport`) and what its answer means (`answer`), retries and rate
//! limits (`retry`, `limit`), helper threads and interruptible waits (`wait`), page streaming
//! (`pages`), redaction (`redact`), answer budgets (`budget`), and the webhook receiver's HTTP server
//! (`inbound`).
//!
//! Plain Rust: nothing here calls Postgres, so it can run on helper threads and under `cargo test`.

pub mod answer;
pub mod auth;
pub mod batch;
pub mod budget;
pub mod credentials;
pub mod endpoint;
pub mod inbound;
pub mod limit;
pub mod oauth;
pub mod pages;
pub mod parallel;
pub mod redact;
pub mod retry;
#[cfg(test)]
pub mod testing;
pub mod transport;
pub mod wait;

pub use answer::{flatten_details, malformed, parse_json, provider_error};
pub use auth::send_once;
pub use credentials::{Credentials, MappingIdentity};
pub use endpoint::{rate_limit_key, Defaults, Endpoint};
pub use transport::{agent, exchange, HttpResponse, MAX_RESPONSE_BYTES};

#[cfg(test)]
pub use endpoint::test_defaults;
