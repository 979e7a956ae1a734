//! The connector model: serde types (`model`), the registry of connectors (built-in files embedded at
//! compile time), templating (`template`), JSON pointers, option resolution into a `TableDef`
//! (`resolve`), pagination (`pager`) and the record mapper (`mapping`).
//!
//! Plain Rust: nothing here calls Postgres or does I/O, so all of it is tested with `cargo test`.

pub mod extract;
pub mod mapping;
pub mod model;
pub mod pager;
pub mod pointer;
pub mod record;
pub mod request;
pub mod resolve;
pub mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use once_cell::sync::Lazy;

pub use model::Connector;

use crate::error::TetherError;

/// Connector files shipped with Tether, embedded so a server needs nothing but the extension.
const BUILTIN_FILES: &[(&str, &str)] = &[
    ("hubspot.json", include_str!("../../connectors/hubspot.json")),
    ("rest.json", include_str!("../../connectors/rest.json")),
];

static BUILTIN: Lazy<Result<BTreeMap<String, Arc<Connector>>, TetherError>> = Lazy::new(|| {
    let mut map = BTreeMap::new();
    for (file, text) in BUILTIN_FILES {
        let connector = Connector::from_json(text)
            .map_err(|e| TetherError::Internal(format!("built-in connector file {file} does not load: {e}")))?;
        map.insert(connector.name.clone(), Arc::new(connector));
    }
    Ok(map)
});

/// All built-in connectors, by name.
pub fn builtins() -> Result<&'static BTreeMap<String, Arc<Connector>>, TetherError> {
    BUILTIN.as_ref().map_err(Clone::clone)
}

/// Find a connector by name; the error lists the ones that exist.
pub fn find(name: &str) -> Result<Arc<Connector>, TetherError> {
    let all = builtins()?;
    all.get(name).cloned().ok_or_else(|| {
        TetherError::option(
            format!(
                "unknown connector \"{name}\"; available connectors: {}",
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            Some("SELECT * FROM tether.connectors() lists connectors and their objects".into()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_connector_loads() {
        let all = builtins().unwrap();
        assert!(all.contains_key("hubspot"));
        assert!(all.contains_key("rest"));
        assert_eq!(all.len(), BUILTIN_FILES.len(), "each file defines a distinct connector");
    }

    #[test]
    fn unknown_connector_lists_the_known_ones() {
        let err = find("hubspto").unwrap_err().to_string();
        assert!(err.contains("unknown connector \"hubspto\""), "{err}");
        assert!(err.contains("hubspot") && err.contains("rest"), "{err}");
    }
}
