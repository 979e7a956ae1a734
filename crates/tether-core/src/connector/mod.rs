//! The connector model: serde types (`model`), the registry of connectors (built-in files embedded at
//! compile time), templating (`template`), JSON pointers, option resolution into a `TableDef`
//! (`resolve`), pagination (`pager`) and the record mapper (`mapping`).
//!
//! Plain Rust: nothing here calls Postgres or does I/O, so all of it is tested with `cargo test`.

pub mod call;
pub mod extract;
pub mod import;
pub mod listing;
pub mod mapping;
pub mod model;
pub mod options;
pub mod pager;
pub mod pointer;
pub mod record;
pub mod request;
pub mod server;
pub mod table;
pub mod template;
pub mod validate;
pub mod webhook;
pub mod writes;

#[cfg(test)]
mod testing;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;

pub use model::Connector;

use crate::error::TetherError;

/// Connector files shipped with Tether, embedded so a server needs nothing but the extension.
pub(crate) const BUILTIN_FILES: &[(&str, &str)] = &[
    ("airtable.json", include_str!("../../../../connectors/airtable.json")),
    ("bigcommerce.json", include_str!("../../../../connectors/bigcommerce.json")),
    ("hubspot.json", include_str!("../../../../connectors/hubspot.json")),
    ("rest.json", include_str!("../../../../connectors/rest.json")),
    ("salesforce.json", include_str!("../../../../connectors/salesforce.json")),
    ("shopify.json", include_str!("../../../../connectors/shopify.json")),
    ("stripe.json", include_str!("../../../../connectors/stripe.json")),
];

/// Parse and validate a connector document: the document itself (`Connector::from_json`, errors name the
/// JSON path at fault), and its declared table options against the ones every table has.
pub fn load(text: &str) -> Result<Connector, TetherError> {
    let connector = Connector::from_json(text)?;
    options::check_declared_table_options(&connector)?;
    Ok(connector)
}

static BUILTIN: Lazy<Result<BTreeMap<String, Arc<Connector>>, TetherError>> = Lazy::new(|| {
    let mut map = BTreeMap::new();
    for (file, text) in BUILTIN_FILES {
        let connector = load(text)
            .map_err(|e| TetherError::Internal(format!("built-in connector file {file} does not load: {e}")))?;
        map.insert(connector.name.clone(), Arc::new(connector));
    }
    Ok(map)
});

/// All built-in connectors, by name.
pub fn builtins() -> Result<&'static BTreeMap<String, Arc<Connector>>, TetherError> {
    BUILTIN.as_ref().map_err(Clone::clone)
}

/// Find a built-in connector by name; the error lists the ones that exist.
pub fn find(name: &str) -> Result<Arc<Connector>, TetherError> {
    find_with(name, &NoUserConnectors)
}

/// Connectors users registered (stored in the database; `fdw::registry` reads them).
pub trait UserConnectors {
    /// The definition (JSON text) of the user connector `name`, if there is one.
    fn definition(&self, name: &str) -> Result<Option<String>, TetherError>;
    /// Names of all user connectors, for error messages.
    fn names(&self) -> Vec<String>;
}

pub struct NoUserConnectors;

impl UserConnectors for NoUserConnectors {
    fn definition(&self, _name: &str) -> Result<Option<String>, TetherError> {
        Ok(None)
    }

    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Parsed user connectors, by definition text: a definition is parsed once per session.
static PARSED: Lazy<Mutex<HashMap<String, Arc<Connector>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// Parse a user connector's definition (cached); the error names the connector and the JSON path.
pub fn parse_user(name: &str, text: &str) -> Result<Arc<Connector>, TetherError> {
    let mut parsed = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = parsed.get(text) {
        return Ok(c.clone());
    }
    let connector = load(text).map_err(|e| match e {
        TetherError::Connector { path, message } => {
            TetherError::Connector { path, message: format!("{message} (user connector \"{name}\")") }
        }
        other => other,
    })?;
    let connector = Arc::new(connector);
    if parsed.len() >= 256 {
        parsed.clear();
    }
    parsed.insert(text.to_string(), connector.clone());
    Ok(connector)
}

/// Find a connector by name: a built-in one, else one users registered. The error lists both kinds.
pub fn find_with(name: &str, users: &dyn UserConnectors) -> Result<Arc<Connector>, TetherError> {
    let all = builtins()?;
    if let Some(c) = all.get(name) {
        return Ok(c.clone());
    }
    if let Some(text) = users.definition(name)? {
        return parse_user(name, &text);
    }
    let mut names: Vec<String> = all.keys().cloned().collect();
    names.extend(users.names());
    Err(TetherError::option(
        format!("unknown connector \"{name}\"; available connectors: {}", names.join(", ")),
        Some("SELECT * FROM tether.connectors() lists connectors and their objects".into()),
    ))
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

    struct Users(Vec<(&'static str, String)>);

    impl UserConnectors for Users {
        fn definition(&self, name: &str) -> Result<Option<String>, TetherError> {
            Ok(self.0.iter().find(|(n, _)| *n == name).map(|(_, d)| d.clone()))
        }
        fn names(&self) -> Vec<String> {
            self.0.iter().map(|(n, _)| n.to_string()).collect()
        }
    }

    #[test]
    fn user_connectors_are_found_after_builtins() {
        let def = r#"{"name": "crm", "base_url": "http://127.0.0.1:9", "objects": {"people": {"list": {"path": "/people"}}}}"#;
        let users = Users(vec![("crm", def.to_string())]);
        assert_eq!(find_with("crm", &users).unwrap().name, "crm");
        assert_eq!(find_with("hubspot", &users).unwrap().name, "hubspot");
        let err = find_with("crn", &users).unwrap_err().to_string();
        assert!(
            err.contains(
                "available connectors: airtable, bigcommerce, hubspot, rest, salesforce, shopify, stripe, crm"
            ),
            "{err}"
        );
        let bad = Users(vec![("broken", r#"{"name": "broken", "objects": {"x": {"list": {}}}}"#.to_string())]);
        let err = find_with("broken", &bad).unwrap_err().to_string();
        assert!(err.contains("/objects/x/list") && err.contains("user connector \"broken\""), "{err}");
    }

    #[test]
    fn unknown_connector_lists_the_known_ones() {
        let err = find("hubspto").unwrap_err().to_string();
        assert!(err.contains("unknown connector \"hubspto\""), "{err}");
        assert!(err.contains("hubspot") && err.contains("rest"), "{err}");
    }
}
