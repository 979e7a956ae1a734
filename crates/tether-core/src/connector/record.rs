//! Records to rows: the one record mapper, shared by scans (and RETURNING, mirror refresh and webhook
//! payloads). A record's values are read through each column's JSON pointer and converted to cells
//! (`mapping`); an error names the column, the object, the value and the record. Plain Rust.

use std::sync::Arc;

use serde_json::Value;

use crate::connector::mapping::{self, Cell, ConversionError, Target};
use crate::connector::pointer::Pointer;
use crate::connector::table::TableDef;
use crate::error::TetherError;

/// One column to produce: index into `TableDef::columns` and its target type.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub column: usize,
    pub target: Target,
}

/// One converted row: cells in `outputs` order.
pub type Row = Result<Vec<Cell>, TetherError>;

/// Record -> cells for the requested columns (the one record mapper). The values of a record are read
/// by `pointers()` (in that order: the output columns, then the record id when it is not one of them),
/// either while parsing a page (`extract::PagePlan`) or from a whole record (`row_from_record`).
pub struct Converter {
    /// Target and column name, per output.
    columns: Vec<(Target, String)>,
    pointers: Vec<Pointer>,
    /// Index in `pointers` of the record id, to name the record in errors.
    id_index: Option<usize>,
    table: Arc<TableDef>,
    table_label: String,
}

impl Converter {
    pub fn new(table: Arc<TableDef>, table_label: &str, outputs: &[OutputColumn]) -> Converter {
        let mut pointers: Vec<Pointer> = outputs.iter().map(|o| table.columns[o.column].pointer.clone()).collect();
        let columns = outputs.iter().map(|o| (o.target.clone(), table.columns[o.column].name.clone())).collect();
        let id_index = record_id_pointer(&table).map(|id| match pointers.iter().position(|p| *p == id) {
            Some(i) => i,
            None => {
                pointers.push(id);
                pointers.len() - 1
            }
        });
        Converter { columns, pointers, id_index, table, table_label: table_label.to_string() }
    }

    /// What to read from each record.
    pub fn pointers(&self) -> &[Pointer] {
        &self.pointers
    }

    /// Cells from a record's values, read by `pointers()`.
    pub fn row(&self, mut values: Vec<Option<Value>>) -> Row {
        let mut cells = Vec::with_capacity(self.columns.len());
        for (i, (target, name)) in self.columns.iter().enumerate() {
            let value = if Some(i) == self.id_index { values[i].clone() } else { values[i].take() };
            match mapping::convert(value, target) {
                Ok(cell) => cells.push(cell),
                Err(e) => {
                    let record_id = self
                        .id_index
                        .and_then(|i| values.get(i).cloned().flatten())
                        .filter(|v| !v.is_null())
                        .map(mapping::into_text);
                    let pointer = &self.pointers[i];
                    return Err(conversion_error(
                        &self.table,
                        &self.table_label,
                        name,
                        pointer,
                        e,
                        record_id.as_deref(),
                    ));
                }
            }
        }
        Ok(cells)
    }

    /// Cells from a whole record (a get response, RETURNING).
    pub fn row_from_record(&self, record: &Value) -> Row {
        self.row(self.pointers.iter().map(|p| p.get(record).cloned()).collect())
    }
}

/// Where a record's id is, to name the record in errors: the table's id column, else the connector's.
pub fn record_id_pointer(table: &TableDef) -> Option<Pointer> {
    match table.id_index() {
        Some(i) => Some(table.columns[i].pointer.clone()),
        None => table.object.column(&table.object.id_column).and_then(|c| Pointer::parse(&c.pointer).ok()),
    }
}

/// The error for a provider value that does not fit its column: names the column, object and value.
pub fn conversion_error(
    table: &TableDef,
    table_label: &str,
    column: &str,
    pointer: &Pointer,
    e: ConversionError,
    record_id: Option<&str>,
) -> TetherError {
    let record = record_id.map(|id| format!(", record id \"{id}\"")).unwrap_or_default();
    TetherError::Conversion {
        connector: table.connector_name.clone(),
        message: format!(
            "value {} of column \"{column}\" (object \"{}\") does not convert to {}: {}",
            e.value, table.object_name, e.target, e.reason
        ),
        detail: format!("foreign table {table_label}{record}, JSON pointer {pointer}"),
        hint: "declare the column with a type that fits the value (text or jsonb take anything), or map it with the column option json_pointer".into(),
        out_of_range: e.out_of_range,
    }
}

/// Why a column cannot be written, or None when it can: read-only columns and pointers that do not name
/// one place in a JSON object (the whole record, or a position in an array).
pub fn unwritable_reason(column: &crate::connector::table::ColumnMap) -> Option<String> {
    if column.read_only {
        return Some("the provider sets it (read-only)".to_string());
    }
    if column.pointer.is_root() {
        return Some("it maps to the whole record".to_string());
    }
    if column.pointer.tokens().iter().any(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) {
        return Some(format!("it maps to {}, a position inside an array", column.pointer));
    }
    None
}

/// A record body: each value set at its pointer, creating the objects on the way
/// (`/properties/email` = "a" gives `{"properties": {"email": "a"}}`).
pub fn build_record<'a>(values: impl IntoIterator<Item = (&'a Pointer, Value)>) -> Result<Value, String> {
    let mut doc = Value::Object(Default::default());
    for (pointer, value) in values {
        let tokens = pointer.tokens();
        let Some((last, parents)) = tokens.split_last() else {
            return Err("a value cannot replace the whole record".to_string());
        };
        let mut node = &mut doc;
        for t in parents {
            let map = node.as_object_mut().ok_or_else(|| format!("{pointer} crosses a value that is not an object"))?;
            node = map.entry(t.clone()).or_insert_with(|| Value::Object(Default::default()));
        }
        let map = node.as_object_mut().ok_or_else(|| format!("{pointer} crosses a value that is not an object"))?;
        map.insert(last.clone(), value);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::options::Options;
    use crate::connector::server::resolve_server;
    use crate::connector::table::resolve_table;
    use serde_json::json;

    fn converter(columns: &[&str], outputs: &[(usize, Target)]) -> Converter {
        let opts = |p: &[(&str, &str)]| -> Options { p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let server = resolve_server(&opts(&[("connector", "hubspot")]), connector::find).unwrap();
        let cols: Vec<(String, Options)> = columns.iter().map(|n| (n.to_string(), Options::new())).collect();
        let table = resolve_table(&server, &opts(&[("object", "contacts")]), &cols, "crm.contacts").unwrap();
        let outputs: Vec<OutputColumn> =
            outputs.iter().map(|(c, t)| OutputColumn { column: *c, target: t.clone() }).collect();
        Converter::new(Arc::new(table), "crm.contacts", &outputs)
    }

    const COLUMNS: &[&str] = &["id", "email", "properties", "numberofemployees"];

    #[test]
    fn overlapping_pointers_do_not_steal_values() {
        let c = converter(COLUMNS, &[(1, Target::Text), (2, Target::Jsonb), (0, Target::Text)]);
        let row = c.row_from_record(&json!({"id": "7", "properties": {"email": "a@b.c", "x": "1"}})).unwrap();
        assert_eq!(row[0], Cell::Text("a@b.c".into()));
        assert_eq!(row[1], Cell::Json(json!({"email": "a@b.c", "x": "1"})));
        assert_eq!(row[2], Cell::Text("7".into()));
    }

    #[test]
    fn conversion_errors_name_column_object_value_and_record() {
        let c = converter(COLUMNS, &[(0, Target::Text), (3, Target::Int4)]);
        let e = c.row_from_record(&json!({"id": "7", "properties": {"numberofemployees": "lots"}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[hubspot] value \"lots\" of column \"numberofemployees\" (object \"contacts\") does not convert to integer: not an integer"
        );
        assert_eq!(
            e.detail(),
            Some("foreign table crm.contacts, record id \"7\", JSON pointer /properties/numberofemployees")
        );
        assert_eq!(e.sqlstate().code(), "22P02");
    }

    #[test]
    fn the_record_is_named_even_when_its_id_was_read_first() {
        // The id column comes first and is converted before the failing column.
        let c = converter(COLUMNS, &[(0, Target::Text), (3, Target::Int2)]);
        let e = c.row_from_record(&json!({"id": "9", "properties": {"numberofemployees": "99999"}})).unwrap_err();
        assert!(e.detail().unwrap().contains("record id \"9\""), "{:?}", e.detail());
        assert_eq!(e.sqlstate().code(), "22003");
    }

    #[test]
    fn the_record_id_is_read_for_errors_even_when_not_selected() {
        let c = converter(COLUMNS, &[(3, Target::Int4)]);
        assert_eq!(c.pointers().len(), 2, "the id is read too");
        let e = c.row_from_record(&json!({"id": "12", "properties": {"numberofemployees": "x"}})).unwrap_err();
        assert!(e.detail().unwrap().contains("record id \"12\""), "{:?}", e.detail());
    }

    #[test]
    fn records_are_built_at_pointers() {
        let p = |s: &str| Pointer::parse(s).unwrap();
        let (a, b, c) = (p("/properties/email"), p("/properties/firstname"), p("/name"));
        let doc = build_record([(&a, json!("x@y.z")), (&b, Value::Null), (&c, json!(1))]).unwrap();
        assert_eq!(doc, json!({"properties": {"email": "x@y.z", "firstname": null}, "name": 1}));
        let (d, e) = (p("/a"), p("/a/b"));
        assert!(build_record([(&d, json!(1)), (&e, json!(2))]).unwrap_err().contains("/a/b crosses"));
        assert!(build_record([(&p(""), json!(1))]).is_err());
    }

    #[test]
    fn unwritable_columns_say_why() {
        use crate::connector::table::ColumnMap;
        let col = |ptr: &str, ro: bool| ColumnMap {
            name: "c".into(),
            pointer: Pointer::parse(ptr).unwrap(),
            field: None,
            separator: None,
            read_only: ro,
        };
        assert!(unwritable_reason(&col("/email", false)).is_none());
        assert!(unwritable_reason(&col("/email", true)).unwrap().contains("read-only"));
        assert!(unwritable_reason(&col("", false)).unwrap().contains("whole record"));
        assert!(unwritable_reason(&col("/tags/0", false)).unwrap().contains("inside an array"));
    }

    #[test]
    fn a_missing_field_is_null() {
        let c = converter(COLUMNS, &[(1, Target::Text), (3, Target::Int4)]);
        assert_eq!(c.row_from_record(&json!({"id": "1", "properties": {}})).unwrap(), vec![Cell::Null, Cell::Null]);
    }
}
