//! Helpers more than one provider fake uses, each defined once: calendar dates and ISO 8601 text (`time`),
//! JSON written by hand on hot paths (`json`), number and e-mail syntax checks (`numbers`, `email`),
//! deterministic seed values (`seed`), the parsing of request headers and form bodies (`request`), paging
//! windows (`paging`) and per-second rate limits (`rate`).

pub mod email;
pub mod json;
pub mod numbers;
pub mod paging;
pub mod rate;
pub mod request;
pub mod seed;
pub mod time;
