//! The Postgres-free parts of a push run (the extension's `push::run` has the rest): the idempotency
//! key of a row's create, and what a refused row's code means.

use sha2::{Digest, Sha256};

use crate::error::SqlState;

/// The idempotency key of the create of source row `source_key` by push `push_id`: the same on every
/// run, so that sending a create again whose outcome was unknown returns the record the first one
/// made (Stripe keeps keys 24 hours) instead of making a second. A hash, so that any key is a valid
/// header value of bounded length.
pub fn idempotency_key(push_id: i32, source_key: &str) -> String {
    let digest = Sha256::digest(source_key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("tether-push-{push_id}-{hex}")
}

/// The SQLSTATE recorded for a row the provider refused, from the code it gave: a record that exists
/// already (HubSpot's OBJECT_ALREADY_EXISTS or CONFLICT, Salesforce's DUPLICATE_VALUE) is a unique
/// violation, anything else an invalid value, as a refused single write reports them.
pub fn refused_sqlstate(code: Option<&str>) -> SqlState {
    match code {
        Some("OBJECT_ALREADY_EXISTS" | "CONFLICT" | "DUPLICATE_VALUE" | "DUPLICATES_DETECTED") => {
            SqlState::for_status(409)
        }
        _ => SqlState::for_status(400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_key_is_the_same_on_every_run_and_differs_between_rows_and_pushes() {
        let k = idempotency_key(7, "signup-1");
        assert_eq!(k, idempotency_key(7, "signup-1"));
        assert_ne!(k, idempotency_key(7, "signup-2"));
        assert_ne!(k, idempotency_key(8, "signup-1"));
        assert!(k.starts_with("tether-push-7-") && k.len() == "tether-push-7-".len() + 32, "{k}");
        // Any key, however long or odd, gives a short ASCII header value.
        let odd = idempotency_key(1, &"é\n\"".repeat(1000));
        assert!(odd.is_ascii() && odd.len() < 64, "{odd}");
    }

    #[test]
    fn conflicts_are_unique_violations_and_the_rest_invalid_values() {
        assert_eq!(refused_sqlstate(Some("CONFLICT")).code(), "23505");
        assert_eq!(refused_sqlstate(Some("DUPLICATE_VALUE")).code(), "23505");
        assert_eq!(refused_sqlstate(Some("VALIDATION_ERROR")).code(), "22023");
        assert_eq!(refused_sqlstate(None).code(), "22023");
    }
}
