//! Keeping secrets out of what people read: messages (ERROR, DETAIL, HINT), EXPLAIN, log lines, the
//! tables Tether writes, and answers `tether.request` returns. Two rules, applied together:
//!
//! - by value: every credential this process has used (user mapping tokens, API keys, passwords and
//!   their Basic encoding, OAuth2 client secrets, refresh and access tokens, webhook secrets) is
//!   remembered here when it is loaded or obtained, and `scrub` replaces each occurrence, also in its
//!   URL-encoded forms, wherever the text came from (a provider's error body, a transport error, a
//!   message Postgres itself built from one);
//! - by name: the values of query parameters that usually carry credentials (`api_key`, `token`,
//!   `client_secret`, ...) are hidden in every URL shown (`template::display_path` calls
//!   `template::redact_query`), whatever their value, so a credential that was never loaded here (one
//!   a user put in a query) is not shown either.
//!
//! Plain Rust, shared by helper threads: the remembered values live in one bounded list per process.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::connector::template::{self, REDACTED};

/// Shorter values are not remembered: replacing every "ab" in a message would say nothing and hide
/// what the message is about. (Providers issue secrets of 20 characters and more.)
const MIN_SECRET_LEN: usize = 4;
/// Values remembered per process; the oldest are forgotten first (a process uses few credentials).
const MAX_REMEMBERED: usize = 1024;

static SECRETS: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// Remember a credential so that `scrub` hides it from now on (with its URL encodings).
pub fn remember(secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let forms = [secret.to_string(), template::encode_query(secret), template::encode_component(secret)];
    let mut list = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for form in forms {
        if !list.contains(&form) {
            if list.len() == MAX_REMEMBERED {
                list.pop_front();
            }
            list.push_back(form);
        }
    }
}

/// `text` with every remembered credential replaced by `[redacted]`.
pub fn scrub(text: &str) -> String {
    let list = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    // Longest first, so that a secret containing another is replaced whole.
    let mut found: Vec<&String> = list.iter().filter(|s| text.contains(s.as_str())).collect();
    if found.is_empty() {
        return text.to_string();
    }
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in found {
        out = out.replace(s.as_str(), REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_values_are_scrubbed_in_every_encoding() {
        remember("sk_live_abc/def+ghi");
        let text = "GET /a?k=sk_live_abc%2Fdef%2Bghi failed; key sk_live_abc/def+ghi";
        assert_eq!(scrub(text), "GET /a?k=[redacted] failed; key [redacted]");
    }

    #[test]
    fn short_values_are_not_remembered() {
        remember("ab");
        assert_eq!(scrub("a cab b"), "a cab b");
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        remember("tok-123456");
        remember("tok-123456-extended");
        assert_eq!(scrub("x tok-123456-extended y"), "x [redacted] y");
    }
}
