//! IMPORT FOREIGN SCHEMA, the plain part: which foreign tables a connector offers (its declared
//! objects, or the tables a discovery endpoint lists), with their columns, types and options.
//! `fdw::import` turns them into CREATE FOREIGN TABLE statements.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::connector::model::{Connector, DiscoverDef};
use crate::connector::pointer::Pointer;
use crate::error::{SqlState, TetherError};

#[derive(Debug, Clone, PartialEq)]
pub struct ImportColumn {
    pub name: String,
    pub type_name: String,
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportTable {
    pub name: String,
    pub columns: Vec<ImportColumn>,
    pub options: Vec<(String, String)>,
}

/// One foreign table per declared object, with the connector's columns.
pub fn declared(connector: &Connector) -> Vec<ImportTable> {
    connector
        .objects
        .iter()
        .map(|(name, object)| ImportTable {
            name: name.clone(),
            columns: object
                .columns
                .iter()
                .map(|c| ImportColumn { name: c.name.clone(), type_name: c.type_name.clone(), options: Vec::new() })
                .collect(),
            options: vec![("object".into(), name.clone())],
        })
        .collect()
}

/// A name as a Postgres identifier people can type unquoted: lower case letters and digits, runs of
/// other characters as `_` (`Full Name` -> `full_name`), a leading digit prefixed.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        out.push_str("column");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    // Postgres truncates identifiers to 63 bytes; cut at a character boundary.
    while out.len() > 63 {
        out.pop();
    }
    out
}

/// `name`, or `name_2`, `name_3`... when taken.
fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{name}_{n}");
        n += 1;
    }
    candidate
}

/// The tables a discovery response lists: the generic object's own columns (record id, timestamps),
/// then one column per field, named in snake case and mapped to the field by `column_name`.
pub fn discovered(connector: &Connector, def: &DiscoverDef, doc: &Value) -> Result<Vec<ImportTable>, TetherError> {
    let bad = |m: String| TetherError::BadResponse {
        connector: connector.name.clone(),
        message: format!("the schema listing cannot be read: {m}"),
        detail: format!("GET {} (the connector's discover definition)", def.path),
    };
    let at = |p: &str| Pointer::parse(p).map_err(|m| bad(m.to_string()));
    let text = |v: &Value, p: &Pointer| p.get(v).and_then(Value::as_str).map(str::to_string);
    let tables = at(&def.tables)?
        .get(doc)
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("no array of tables at \"{}\"", def.tables)))?;
    let (name_at, fields_at) = (at(&def.name)?, at(&def.fields)?);
    let (field_name_at, field_type_at) = (at(&def.field_name)?, at(&def.field_type)?);
    let base_columns: Vec<ImportColumn> = connector
        .generic_object
        .as_ref()
        .map(|o| {
            o.columns
                .iter()
                .map(|c| ImportColumn { name: c.name.clone(), type_name: c.type_name.clone(), options: Vec::new() })
                .collect()
        })
        .unwrap_or_default();
    let mut table_names = BTreeSet::new();
    let mut out = Vec::new();
    for table in tables {
        let Some(name) = text(table, &name_at) else {
            return Err(bad(format!("a table has no name at \"{}\"", def.name)));
        };
        let mut options = Vec::new();
        for (option, p) in &def.table_options {
            let value = text(table, &at(p)?)
                .ok_or_else(|| bad(format!("table \"{name}\" has no value for option {option} at \"{p}\"")))?;
            options.push((option.clone(), value));
        }
        let mut taken: BTreeSet<String> = base_columns.iter().map(|c| c.name.clone()).collect();
        let mut columns = base_columns.clone();
        for field in fields_at.get(table).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            let Some(field_name) = text(field, &field_name_at) else { continue };
            let provider_type = text(field, &field_type_at).unwrap_or_default();
            let column = unique(snake(&field_name), &mut taken);
            let mut col_options = Vec::new();
            if column != field_name {
                col_options.push(("column_name".to_string(), field_name.clone()));
            }
            if def.read_only_types.contains(&provider_type) {
                col_options.push(("read_only".to_string(), "true".to_string()));
            }
            columns.push(ImportColumn {
                name: column,
                type_name: def.types.get(&provider_type).cloned().unwrap_or_else(|| def.default_type.clone()),
                options: col_options,
            });
        }
        out.push(ImportTable { name: unique(snake(&name), &mut table_names), columns, options });
    }
    Ok(out)
}

/// Apply LIMIT TO (`limit_to` true) or EXCEPT to the tables; a name that matches no table is an error
/// (a typo would otherwise import nothing, silently).
pub fn select(tables: Vec<ImportTable>, names: &[String], limit_to: bool) -> Result<Vec<ImportTable>, TetherError> {
    let known: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    if let Some(missing) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(TetherError::Option {
            message: format!("there is no table \"{missing}\" to import; the tables are: {}", known.join(", ")),
            hint: None,
            state: SqlState::UndefinedObject,
        });
    }
    Ok(tables.into_iter().filter(|t| names.contains(&t.name) == limit_to).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use serde_json::json;

    #[test]
    fn declared_objects_become_tables() {
        let hubspot = connector::find("hubspot").unwrap();
        let tables = declared(&hubspot);
        let contacts = tables.iter().find(|t| t.name == "contacts").unwrap();
        assert_eq!(contacts.options, vec![("object".to_string(), "contacts".to_string())]);
        assert_eq!(contacts.columns[0], ImportColumn { name: "id".into(), type_name: "text".into(), options: vec![] });
        assert!(contacts.columns.iter().any(|c| c.name == "created_at" && c.type_name == "timestamptz"));
    }

    #[test]
    fn names_become_identifiers() {
        assert_eq!(snake("Full Name"), "full_name");
        assert_eq!(snake("E-mail (work)"), "e_mail_work");
        assert_eq!(snake("Ünïcode Ω"), "ünïcode_ω");
        assert_eq!(snake("2024 Budget"), "_2024_budget");
        assert_eq!(snake("!!!"), "column");
        let mut taken = BTreeSet::from(["id".to_string()]);
        assert_eq!(unique("id".into(), &mut taken), "id_2");
        assert_eq!(unique("id".into(), &mut taken), "id_3");
    }

    #[test]
    fn discovered_tables_map_fields_to_columns() {
        let c: Connector = serde_json::from_value(json!({
            "name": "at",
            "base_url": "http://127.0.0.1:9",
            "table_options": {"table": {"required": true}},
            "generic_object": {
                "list": {"path": "/{table}", "records": "/records"},
                "columns": [{"name": "id", "type": "text", "pointer": "/id"}],
                "other_columns": {"pointer": "/fields/{name}", "field": "{name}"}
            },
            "discover": {
                "path": "/meta/tables", "tables": "/tables", "name": "/name",
                "table_options": {"table": "/name"},
                "fields": "/fields", "field_name": "/name", "field_type": "/type",
                "types": {"number": "numeric", "checkbox": "boolean"},
                "read_only_types": ["formula"]
            }
        }))
        .unwrap();
        let doc = json!({"tables": [
            {"name": "Contacts", "fields": [
                {"name": "Full Name", "type": "singleLineText"},
                {"name": "age", "type": "number"},
                {"name": "ID", "type": "singleLineText"},
                {"name": "Score", "type": "formula"}
            ]},
            {"name": "contacts!", "fields": []}
        ]});
        let tables = discovered(&c, c.discover.as_ref().unwrap(), &doc).unwrap();
        assert_eq!(tables[0].name, "contacts");
        assert_eq!(tables[1].name, "contacts_2");
        assert_eq!(tables[0].options, vec![("table".to_string(), "Contacts".to_string())]);
        let col = |name: &str, type_name: &str, options: &[(&str, &str)]| ImportColumn {
            name: name.into(),
            type_name: type_name.into(),
            options: options.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        };
        assert_eq!(
            tables[0].columns,
            vec![
                col("id", "text", &[]),
                col("full_name", "text", &[("column_name", "Full Name")]),
                col("age", "numeric", &[]),
                col("id_2", "text", &[("column_name", "ID")]),
                col("score", "text", &[("column_name", "Score"), ("read_only", "true")]),
            ]
        );
        let e = discovered(&c, c.discover.as_ref().unwrap(), &json!({"nope": []})).unwrap_err();
        assert!(e.to_string().contains("no array of tables at \"/tables\""), "{e}");
    }

    #[test]
    fn limit_to_and_except_check_names() {
        let t = |n: &str| ImportTable { name: n.into(), columns: vec![], options: vec![] };
        let all = vec![t("a"), t("b"), t("c")];
        let names = |v: Vec<ImportTable>| v.into_iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names(select(all.clone(), &["b".into()], true).unwrap()), vec!["b"]);
        assert_eq!(names(select(all.clone(), &["b".into()], false).unwrap()), vec!["a", "c"]);
        let e = select(all, &["d".into()], true).unwrap_err();
        assert_eq!(e.to_string(), "there is no table \"d\" to import; the tables are: a, b, c");
    }
}
