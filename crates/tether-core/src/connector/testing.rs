//! Test support for the option, server, table and request modules.

use std::sync::Arc;

use crate::connector;
use crate::connector::model::{Connector, FilterOp};
use crate::connector::options::Options;
use crate::connector::request::{Condition, ParamValue, ValueKind, Via};
use crate::connector::server::{resolve_server, ServerDef};
use crate::connector::table::{resolve_table, TableDef};
use crate::connector::template;
use crate::error::TetherError;

pub fn o(pairs: &[(&str, &str)]) -> Options {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn server(pairs: &[(&str, &str)]) -> Result<ServerDef, TetherError> {
    resolve_server(&o(pairs), connector::find)
}

pub fn cols(names: &[&str]) -> Vec<(String, Options)> {
    names.iter().map(|n| (n.to_string(), Options::new())).collect()
}

/// A table of an inline connector (one object `o`), with the given list and search definitions.
pub fn inline_table(object: serde_json::Value, columns: &[&str]) -> TableDef {
    let doc = serde_json::json!({"name": "x", "base_url": "http://127.0.0.1:9", "objects": {"o": object}});
    let connector = Arc::new(Connector::from_json(&doc.to_string()).unwrap());
    let find = move |_: &str| Ok(connector.clone());
    let s = resolve_server(&o(&[("connector", "x")]), find).unwrap();
    resolve_table(&s, &o(&[("object", "o")]), &cols(columns), "t").unwrap()
}

pub fn cond(t: &TableDef, column: &str, op: FilterOp, values: &[(&str, ValueKind)], via: Via) -> Condition {
    Condition {
        column: t.columns.iter().position(|c| c.name == column).unwrap(),
        op,
        values: values.iter().map(|(v, k)| ParamValue { text: v.to_string(), kind: *k }).collect(),
        via,
    }
}

pub fn query_of(url: &str) -> String {
    template::decode_component(url.split_once('?').map(|(_, q)| q).unwrap_or(""), false)
}
