//! Streaming a listing: a helper thread fetches a page, parses it, converts its records to cells, and
//! works out the next page while the backend returns the rows of the previous one. The backend holds at
//! most the current page and one prefetched page, whatever the table's size (DESIGN decision 4).
//!
//! With a LIMIT hint, no page is fetched ahead once enough rows were delivered; the next one is fetched
//! only if the executor still asks for rows (a local filter may have dropped some), so results stay
//! correct and no request is wasted.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use serde_json::Value;

use crate::connector::mapping::{self, Cell, ConversionError, Target};
use crate::connector::pager::{self, Pager};
use crate::connector::pointer::Pointer;
use crate::connector::resolve::TableDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::wait::{panic_message, recv_interruptible, spawn_helper};
use crate::http::{self, Endpoint};

/// What to fetch.
#[derive(Debug, Clone)]
pub enum FetchKind {
    /// Follow the object's pagination from this first URL.
    List { first_url: String },
    /// One get request per URL; a 404 is no row.
    Get { urls: Vec<String> },
}

/// One column to produce: index into `TableDef::columns` and its target type.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub column: usize,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub struct FetchSpec {
    pub endpoint: Arc<Endpoint>,
    pub table: Arc<TableDef>,
    /// Names the foreign table in conversion errors.
    pub table_label: String,
    pub kind: FetchKind,
    pub outputs: Vec<OutputColumn>,
    /// Stop fetching ahead once this many rows were delivered.
    pub limit_hint: Option<u64>,
}

/// One converted row: cells in `outputs` order.
pub type Row = Result<Vec<Cell>, TetherError>;

#[derive(Debug)]
pub struct Page {
    pub rows: Vec<Row>,
}

enum Msg {
    Page(Page, bool),
    Error(TetherError),
}

/// The backend's side of a streaming fetch. Dropping it stops the helper at its next step.
pub struct PageStream {
    cmd: Option<Sender<()>>,
    rx: Receiver<Msg>,
    outstanding: bool,
    finished: bool,
    rows_received: u64,
    requests: u64,
    limit_hint: Option<u64>,
}

impl PageStream {
    /// Start the helper and ask for the first page.
    pub fn start(spec: FetchSpec) -> Result<PageStream, TetherError> {
        let (cmd_tx, cmd_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::channel::<Msg>();
        let limit_hint = spec.limit_hint;
        spawn_helper("tether-scan", move || helper(spec, cmd_rx, tx))?;
        cmd_tx.send(()).map_err(|_| TetherError::Internal("the scan helper did not start".into()))?;
        Ok(PageStream {
            cmd: Some(cmd_tx),
            rx,
            outstanding: true,
            finished: false,
            rows_received: 0,
            requests: 1,
            limit_hint,
        })
    }

    /// Requests sent so far (pages fetched or being fetched).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    fn request_next(&mut self) {
        if let Some(cmd) = &self.cmd {
            if cmd.send(()).is_ok() {
                self.outstanding = true;
                self.requests += 1;
            }
        }
    }

    /// The next page, None at the end. `check` runs every ~50 ms while waiting (CHECK_FOR_INTERRUPTS).
    pub fn next_page(&mut self, check: &mut dyn FnMut()) -> Result<Option<Page>, TetherError> {
        if self.finished {
            return Ok(None);
        }
        if !self.outstanding {
            self.request_next();
        }
        match recv_interruptible(&self.rx, check) {
            Some(Msg::Page(page, more)) => {
                self.outstanding = false;
                self.rows_received += page.rows.len() as u64;
                if !more {
                    self.finished = true;
                    self.cmd = None;
                } else if self.limit_hint.is_none_or(|l| self.rows_received < l) {
                    // Prefetch the next page while the backend returns this one.
                    self.request_next();
                }
                Ok(Some(page))
            }
            Some(Msg::Error(e)) => {
                self.finished = true;
                self.cmd = None;
                Err(e)
            }
            None => {
                self.finished = true;
                Err(TetherError::Internal("the scan helper thread ended without an answer".into()))
            }
        }
    }
}

enum Source {
    List(Pager),
    Get(std::vec::IntoIter<String>),
}

fn helper(spec: FetchSpec, cmd: Receiver<()>, tx: Sender<Msg>) {
    let mut source = match &spec.kind {
        FetchKind::List { first_url } => Source::List(Pager::new(
            &spec.endpoint.base_url,
            first_url.clone(),
            spec.table.object.list.pagination.clone(),
        )),
        FetchKind::Get { urls } => Source::Get(urls.clone().into_iter()),
    };
    let converter = Converter::new(&spec);
    while cmd.recv().is_ok() {
        let result = catch_unwind(AssertUnwindSafe(|| fetch_next(&spec, &converter, &mut source)))
            .unwrap_or_else(|p| Err(TetherError::Internal(format!("panic in scan helper: {}", panic_message(&*p)))));
        match result {
            Ok((page, more)) => {
                if tx.send(Msg::Page(page, more)).is_err() || !more {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Msg::Error(e));
                return;
            }
        }
    }
}

fn fetch_next(spec: &FetchSpec, converter: &Converter, source: &mut Source) -> Result<(Page, bool), TetherError> {
    let endpoint = &spec.endpoint;
    match source {
        Source::List(pager) => {
            let url = pager
                .next_url()
                .ok_or_else(|| TetherError::Internal("asked for a page past the end".into()))?
                .to_string();
            let shown = format!("GET {}", template::display_path(&url));
            let response = http::send(endpoint, "GET", &url, None)?;
            let body = http::parse_json(endpoint, &shown, &response.body)?;
            let records_at = Pointer::parse(&spec.table.object.list.records)
                .map_err(|m| TetherError::Internal(format!("records pointer: {m}")))?;
            let count = match records_at.get(&body) {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(_)) => 1,
                _ => 0,
            };
            pager.advance(&body, &response.headers, count, &response.body).map_err(|e| TetherError::BadResponse {
                connector: endpoint.connector.clone(),
                message: e.0,
                detail: format!("page {} was {shown}", pager.pages()),
            })?;
            drop(response);
            let records = pager::extract_records(body, &records_at).map_err(|m| TetherError::BadResponse {
                connector: endpoint.connector.clone(),
                message: format!("{m} ({shown})"),
                detail: "the table option records sets where the records are".into(),
            })?;
            let rows = records.into_iter().map(|r| converter.row(r)).collect();
            Ok((Page { rows }, pager.next_url().is_some()))
        }
        Source::Get(urls) => {
            let Some(url) = urls.next() else {
                return Ok((Page { rows: Vec::new() }, false));
            };
            let more = urls.len() > 0;
            let shown = format!("GET {}", template::display_path(&url));
            let response = match http::send(endpoint, "GET", &url, None) {
                Ok(r) => r,
                Err(TetherError::Provider { status: 404 | 410, .. }) => return Ok((Page { rows: Vec::new() }, more)),
                Err(e) => return Err(e),
            };
            let mut body = http::parse_json(endpoint, &shown, &response.body)?;
            let record_at = spec.table.object.get.as_ref().map(|g| g.record.as_str()).unwrap_or("");
            let record_at =
                Pointer::parse(record_at).map_err(|m| TetherError::Internal(format!("record pointer: {m}")))?;
            let record = if record_at.is_root() { Some(body) } else { record_at.take(&mut body) };
            let rows = match record {
                Some(Value::Null) | None => Vec::new(),
                Some(r) => vec![converter.row(r)],
            };
            Ok((Page { rows }, more))
        }
    }
}

/// Record -> cells for the requested columns (the one record mapper).
pub struct Converter {
    columns: Vec<(Pointer, Target, bool, String)>,
    id_pointer: Option<Pointer>,
    table: Arc<TableDef>,
    table_label: String,
}

impl Converter {
    pub fn new(spec: &FetchSpec) -> Converter {
        let pointers: Vec<&Pointer> = spec.outputs.iter().map(|o| &spec.table.columns[o.column].pointer).collect();
        let columns = spec
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let col = &spec.table.columns[o.column];
                // Move the value out of the record unless another column reads an overlapping pointer.
                let can_take = pointers.iter().enumerate().all(|(j, p)| j == i || !p.overlaps(&col.pointer));
                (col.pointer.clone(), o.target.clone(), can_take, col.name.clone())
            })
            .collect();
        let id_pointer = record_id_pointer(&spec.table);
        Converter { columns, id_pointer, table: spec.table.clone(), table_label: spec.table_label.clone() }
    }

    pub fn row(&self, mut record: Value) -> Row {
        let record_id = self.id_pointer.as_ref().and_then(|p| p.get(&record)).map(|v| mapping::into_text(v.clone()));
        let mut cells = Vec::with_capacity(self.columns.len());
        for (pointer, target, can_take, name) in &self.columns {
            let value = if *can_take { pointer.take(&mut record) } else { pointer.get(&record).cloned() };
            match mapping::convert(value, target) {
                Ok(cell) => cells.push(cell),
                Err(e) => {
                    return Err(conversion_error(
                        &self.table,
                        &self.table_label,
                        name,
                        pointer,
                        e,
                        record_id.as_deref(),
                    ))
                }
            }
        }
        Ok(cells)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::resolve::{resolve_server, resolve_table, Options};
    use serde_json::json;

    fn spec(outputs: &[(usize, Target)]) -> FetchSpec {
        let opts = |p: &[(&str, &str)]| -> Options { p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
        let server =
            resolve_server(&opts(&[("connector", "hubspot"), ("base_url", "http://127.0.0.1:1")]), connector::find)
                .unwrap();
        let cols: Vec<(String, Options)> = ["id", "email", "properties", "numberofemployees"]
            .iter()
            .map(|n| (n.to_string(), Options::new()))
            .collect();
        let table = resolve_table(&server, &opts(&[("object", "contacts")]), &cols, "crm.contacts").unwrap();
        let endpoint = Endpoint::new(
            &server,
            "hs",
            http::Credentials::none(),
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        );
        FetchSpec {
            endpoint,
            table: Arc::new(table),
            table_label: "crm.contacts".into(),
            kind: FetchKind::Get { urls: vec![] },
            outputs: outputs.iter().map(|(c, t)| OutputColumn { column: *c, target: t.clone() }).collect(),
            limit_hint: None,
        }
    }

    #[test]
    fn overlapping_pointers_do_not_steal_values() {
        let s = spec(&[(1, Target::Text), (2, Target::Jsonb), (0, Target::Text)]);
        let row = Converter::new(&s).row(json!({"id": "7", "properties": {"email": "a@b.c", "x": "1"}})).unwrap();
        assert_eq!(row[0], Cell::Text("a@b.c".into()));
        assert_eq!(row[1], Cell::Json(json!({"email": "a@b.c", "x": "1"})));
        assert_eq!(row[2], Cell::Text("7".into()));
    }

    #[test]
    fn conversion_errors_name_column_object_value_and_record() {
        let s = spec(&[(0, Target::Text), (3, Target::Int4)]);
        let e = Converter::new(&s).row(json!({"id": "7", "properties": {"numberofemployees": "lots"}})).unwrap_err();
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
}
