//! Webhooks the fake sends to loopback receivers, in each provider's real shape: the payload, the signature
//! scheme and the headers (HubSpot v3 and v1, `Stripe-Signature`, Shopify's `X-Shopify-Hmac-Sha256`,
//! BigCommerce's Standard Webhooks, Tether's generic scheme for REST), and the deliberately broken variants tests
//! need (`Mode`).
//!
//! Files by concern: `event` (providers, operations, modes, the event a delivery announces), `sign` and
//! `payload` (building a delivery: a pure function of an event, a key, a mode and a `Stamp`, no sockets and no
//! server state), `send` (subscriptions, the delivery log and the delivery thread), `transport` (one plain
//! HTTP/1.1 POST per delivery over `std::net::TcpStream`, to loopback URLs only) and `announce` (what an API
//! write changed, for the subscriptions: `prepare` / `announce`, called by the router around each request).
//! Parameters and answers of the control endpoints are in `control`.
//!
//! Automatic deliveries never touch the API request: the router only queues them, and one delivery thread per
//! server sends them in order (so a receiver sees a create before the update that follows it). `reset` drops
//! the subscriptions, the log and whatever is still queued.

mod announce;
mod event;
mod payload;
mod send;
mod sign;
mod transport;

pub use announce::{announce, current_record, prepare};
pub use event::{Event, Mode, Op, Provider};
pub use send::{Destination, Target, Webhooks};
#[cfg(test)]
pub use sign::{build, hex, hmac_sha256, Stamp};
