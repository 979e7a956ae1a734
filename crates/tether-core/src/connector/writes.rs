//! The write requests of a table: create (one record, or a batch), update, delete and the refetch
//! after a write, with the record body built from the column values and the connector's templates.

use serde_json::Value;

use crate::connector::model::{BatchDef, BodyEncoding, WriteDef};
use crate::connector::pointer::Pointer;
use crate::connector::record;
use crate::connector::request::{self};
use crate::connector::table::*;
use crate::error::TetherError;

/// A write request ready to send (credentials are added by the HTTP engine).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    pub method: String,
    pub url: String,
    pub body: Option<Value>,
    pub encoding: BodyEncoding,
}

impl WriteRequest {
    /// The body as bytes, with its content type.
    pub fn encoded_body(&self) -> Option<(Vec<u8>, &'static str)> {
        self.body.as_ref().map(|b| request::encode_body(b, self.encoding))
    }
}

/// A row of a batch request: the record's id (for an update) and the values to write.
type BatchRow<'a> = (Option<&'a str>, &'a [(usize, Value)]);

/// Merge a definition's static `item` values into a record (an object; the connector's values win).
fn merge_item(record: &mut Value, item: Option<&Value>) {
    if let (Some(Value::Object(item)), Value::Object(fields)) = (item, record) {
        for (k, v) in item {
            fields.insert(k.clone(), v.clone());
        }
    }
}

impl TableDef {
    pub(crate) fn write_url(&self, path: &str, id: Option<&str>) -> Result<String, TetherError> {
        Ok(format!("{}{}", self.base_url, self.render_path(path, id)?))
    }

    /// The body of one record: `values` are (column index, JSON value).
    pub fn record_body(&self, values: &[(usize, Value)]) -> Result<Value, TetherError> {
        record::build_record(values.iter().map(|(i, v)| (&self.columns[*i].pointer, v.clone())))
            .map_err(|m| TetherError::option(format!("cannot build the request body: {m}"), None))
    }

    /// A write request of `def` for a record built from `values` (None: no body), with the id in the
    /// path and, when the definition says so, in the record.
    pub(crate) fn write_request(
        &self,
        def: &WriteDef,
        id: Option<&str>,
        values: Option<&[(usize, Value)]>,
    ) -> Result<WriteRequest, TetherError> {
        let url = self.write_url(&def.path, id)?;
        let body = match values {
            None => None,
            Some(values) => {
                let mut record = self.record_body(values)?;
                merge_item(&mut record, def.item.as_ref());
                if let (Some(at), Some(id)) = (&def.id_field, id) {
                    let at = Pointer::parse(at).map_err(|m| TetherError::Internal(format!("id_field: {m}")))?;
                    at.set(&mut record, self.id_json(id)).map_err(|m| TetherError::option(m, None))?;
                }
                Some(match &def.body {
                    Some(template) => {
                        request::fill_template(template, &|name| (name == "record").then(|| record.clone()))
                    }
                    None => record,
                })
            }
        };
        Ok(WriteRequest { method: def.method.clone(), url, body, encoding: self.body_encoding })
    }

    /// An id as JSON for a request body: a number when the id column is numeric (BigCommerce ids).
    pub(crate) fn id_json(&self, id: &str) -> Value {
        let numeric = self
            .object
            .column(&self.object.id_column)
            .is_some_and(|c| matches!(c.type_name.as_str(), "integer" | "bigint" | "smallint"));
        match id.parse::<i64>() {
            Ok(n) if numeric => Value::from(n),
            _ => Value::String(id.to_string()),
        }
    }

    /// The create request for one record, or None when the object cannot be created.
    pub fn create_request(&self, values: &[(usize, Value)]) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.create else { return Ok(None) };
        Ok(Some(self.write_request(def, None, Some(values))?))
    }

    pub fn update_request(&self, id: &str, values: &[(usize, Value)]) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.update else { return Ok(None) };
        Ok(Some(self.write_request(def, Some(id), Some(values))?))
    }

    pub fn delete_request(&self, id: &str) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.delete else { return Ok(None) };
        Ok(Some(self.write_request(def, Some(id), None)?))
    }

    /// The request reading one record by id, for RETURNING of a write whose response is not the
    /// record: only the `fields` RETURNING needs are asked for.
    pub fn refetch_request(&self, id: &str, fields: &[String]) -> Result<Option<WriteRequest>, TetherError> {
        Ok(self.get_url(id, fields, &[])?.map(|url| WriteRequest {
            method: "GET".into(),
            url,
            body: None,
            encoding: self.body_encoding,
        }))
    }

    /// One batch create request for `rows`; with a trace definition each input is tagged with its
    /// `traces` entry. With `each_alone`, the records are written each on its own, a refused one not
    /// undoing the others (pushes: Salesforce's `allOrNone: false`); without, as the endpoint's plain
    /// body says (an INSERT: Salesforce's `allOrNone: true`).
    pub fn batch_create_request(
        &self,
        rows: &[Vec<(usize, Value)>],
        traces: &[String],
        each_alone: bool,
    ) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.batch_create else { return Ok(None) };
        let rows: Vec<BatchRow> = rows.iter().map(|r| (None, r.as_slice())).collect();
        self.batch_request(def, &rows, traces, each_alone).map(Some)
    }

    /// One batch update request for `rows` (each the record's id and the values to write); tagged as
    /// `batch_create_request` tags.
    pub fn batch_update_request(
        &self,
        rows: &[(String, Vec<(usize, Value)>)],
        traces: &[String],
    ) -> Result<Option<WriteRequest>, TetherError> {
        let Some(def) = &self.object.batch_update else { return Ok(None) };
        let rows: Vec<BatchRow> = rows.iter().map(|(id, values)| (Some(id.as_str()), values.as_slice())).collect();
        self.batch_request(def, &rows, traces, true).map(Some)
    }

    /// The request of batch endpoint `def` for `rows` (an id, for an update, and the values); with
    /// `each_alone`, its `each_alone_body` when it has one.
    fn batch_request(
        &self,
        def: &BatchDef,
        rows: &[BatchRow],
        traces: &[String],
        each_alone: bool,
    ) -> Result<WriteRequest, TetherError> {
        let pointer = |p: &str| Pointer::parse(p).map_err(|m| TetherError::Internal(m.to_string()));
        let trace_at = def.trace.as_ref().map(|t| pointer(&t.field)).transpose()?;
        let id_at = def.id_field.as_deref().map(pointer).transpose()?;
        let mut inputs = Vec::with_capacity(rows.len());
        for (n, (id, row)) in rows.iter().enumerate() {
            let mut pairs: Vec<(&Pointer, Value)> =
                row.iter().map(|(i, v)| (&self.columns[*i].pointer, v.clone())).collect();
            if let (Some(at), Some(tag)) = (&trace_at, traces.get(n)) {
                pairs.push((at, Value::String(tag.clone())));
            }
            if let (Some(at), Some(id)) = (&id_at, id) {
                pairs.push((at, self.id_json(id)));
            }
            let mut input = record::build_record(pairs)
                .map_err(|m| TetherError::option(format!("cannot build the request body: {m}"), None))?;
            merge_item(&mut input, def.item.as_ref());
            inputs.push(input);
        }
        let template = def.each_alone_body.as_ref().filter(|_| each_alone).or(def.body.as_ref());
        let body = match template {
            Some(template) => {
                let inputs = Value::Array(inputs);
                request::fill_template(template, &|name| (name == "records").then(|| inputs.clone()))
            }
            None => {
                let inputs_at = pointer(&def.inputs)?;
                if inputs_at.is_root() {
                    Value::Array(inputs)
                } else {
                    record::build_record([(&inputs_at, Value::Array(inputs))])
                        .map_err(|m| TetherError::Internal(format!("batch body: {m}")))?
                }
            }
        };
        let url = self.write_url(&def.path, None)?;
        Ok(WriteRequest { method: def.method.clone(), url, body: Some(body), encoding: self.body_encoding })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connector::model::Connector;
    use crate::connector::options::validate_table_options;
    use crate::connector::testing::*;

    #[test]
    fn hubspot_write_requests() {
        let s = server(&[("connector", "hubspot"), ("base_url", "http://127.0.0.1:9")]).unwrap();
        let mut columns = cols(&["id", "email", "created_at", "shoe_size"]);
        columns.push(("mail".into(), o(&[("column_name", "email")])));
        let t = resolve_table(&s, &o(&[("object", "contacts")]), &columns, "crm.contacts").unwrap();
        assert!(t.columns[0].read_only && t.columns[2].read_only && !t.columns[1].read_only && !t.columns[3].read_only);
        let vals = vec![(1, Value::String("a@b.c".into())), (3, Value::String("42".into()))];
        let create = t.create_request(&vals).unwrap().unwrap();
        assert_eq!(create.method, "POST");
        assert_eq!(create.url, "http://127.0.0.1:9/crm/v3/objects/contacts");
        // HubSpot's spec requires `associations` in every create input (none here: an empty list).
        assert_eq!(
            create.body.unwrap(),
            serde_json::json!({"properties": {"email": "a@b.c", "shoe_size": "42"}, "associations": []})
        );
        let update = t.update_request("7/8", &vals[..1]).unwrap().unwrap();
        assert_eq!(
            (update.method.as_str(), update.url.as_str()),
            ("PATCH", "http://127.0.0.1:9/crm/v3/objects/contacts/7%2F8")
        );
        // An update input has no associations.
        assert_eq!(update.body.unwrap(), serde_json::json!({"properties": {"email": "a@b.c"}}));
        let delete = t.delete_request("7").unwrap().unwrap();
        assert_eq!((delete.method.as_str(), delete.body), ("DELETE", None));
        let batch = t
            .batch_create_request(&[vals.clone(), vals[..1].to_vec()], &["r1".into(), "r2".into()], false)
            .unwrap()
            .unwrap();
        assert_eq!(batch.url, "http://127.0.0.1:9/crm/v3/objects/contacts/batch/create");
        assert_eq!(
            batch.body.unwrap(),
            serde_json::json!({"inputs": [
                {"properties": {"email": "a@b.c", "shoe_size": "42"}, "objectWriteTraceId": "r1", "associations": []},
                {"properties": {"email": "a@b.c"}, "objectWriteTraceId": "r2", "associations": []}
            ]})
        );
        assert_eq!(t.batch_size(), Some(100));
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("batch_size", "500")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(100), "capped by the connector's maximum");
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("batch_size", "10")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(10));
        let s20 = server(&[("connector", "hubspot"), ("batch_size", "20")]).unwrap();
        let t = resolve_table(&s20, &o(&[("object", "contacts")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(20), "the server option applies");
        let t = resolve_table(&s20, &o(&[("object", "contacts"), ("batch_size", "50")]), &columns, "t").unwrap();
        assert_eq!(t.batch_size(), Some(50), "the table option wins");
        let t = resolve_table(&s, &o(&[("object", "contacts"), ("read_only", "true")]), &columns, "t").unwrap();
        assert!(t.create_request(&vals).unwrap().is_none() && t.batch_size().is_none());
    }

    #[test]
    fn rest_write_options() {
        let s = server(&[
            ("connector", "rest"),
            ("base_url", "http://127.0.0.1:9"),
            ("idempotency_header", "Idempotency-Key"),
        ])
        .unwrap();
        assert_eq!(s.idempotency_header.as_deref(), Some("Idempotency-Key"));
        let mut columns = cols(&["id", "name"]);
        columns.push(("sku".into(), o(&[("read_only", "true")])));
        let t = resolve_table(&s, &o(&[("path", "/items"), ("update_method", "put")]), &columns, "t").unwrap();
        assert!(t.columns[0].read_only, "the id column is read-only by default");
        assert!(t.columns[2].read_only);
        let u = t.update_request("3", &[(1, Value::String("x".into()))]).unwrap().unwrap();
        assert_eq!((u.method.as_str(), u.url.as_str()), ("PUT", "http://127.0.0.1:9/items/3"));
        assert!(t.object.update.as_ref().unwrap().full_row);
        assert!(t.batch_size().is_none(), "the rest connector has no batch endpoint");
        let mut columns = cols(&["name"]);
        columns.insert(0, ("id".into(), o(&[("read_only", "false")])));
        let t = resolve_table(&s, &o(&[("path", "/items")]), &columns, "t").unwrap();
        assert!(!t.columns[0].read_only, "read_only 'false' makes a client-chosen id writable");
        assert!(server(&[("connector", "rest"), ("base_url", "http://x"), ("max_retries", "99")]).is_err());
        assert!(validate_table_options(&o(&[("path", "/a"), ("update_method", "POST")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("path", "/a"), ("read_only", "maybe")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("table", "Contacts")]), &[]).is_err());
        assert!(validate_table_options(&o(&[("table", "Contacts")]), &["table"]).is_ok());
    }

    #[test]
    fn write_bodies_follow_their_templates() {
        let t = inline_table(
            serde_json::json!({
                "list": {"path": "/customers", "records": "/data"},
                "get": {"path": "/customers/{id}"},
                "columns": [
                    {"name": "id", "type": "integer", "pointer": "/id", "read_only": true},
                    {"name": "email", "type": "text", "pointer": "/email"}
                ],
                "create": {"method": "POST", "path": "/customers", "body": ["$record"], "record": "/data/0"},
                "update": {"method": "PUT", "path": "/customers", "body": ["$record"], "id_field": "/id", "record": "/data/0"},
                "delete": {"method": "DELETE", "path": "/customers?id:in={id}"},
                "batch_create": {"path": "/customers", "max": 10, "records": "/data"}
            }),
            &["id", "email"],
        );
        let vals = vec![(1, Value::String("a@x.test".into()))];
        let c = t.create_request(&vals).unwrap().unwrap();
        assert_eq!(c.body, Some(serde_json::json!([{"email": "a@x.test"}])));
        let u = t.update_request("17", &vals).unwrap().unwrap();
        assert_eq!((u.method.as_str(), u.url.as_str()), ("PUT", "http://127.0.0.1:9/customers"));
        assert_eq!(u.body, Some(serde_json::json!([{"email": "a@x.test", "id": 17}])), "a numeric id goes as a number");
        let d = t.delete_request("17").unwrap().unwrap();
        assert_eq!(d.url, "http://127.0.0.1:9/customers?id:in=17");
        let (bytes, ctype) = u.encoded_body().unwrap();
        assert_eq!(
            (String::from_utf8(bytes).unwrap().as_str(), ctype),
            (r#"[{"email":"a@x.test","id":17}]"#, "application/json")
        );

        let t = inline_table(
            serde_json::json!({
                "list": {"path": "/sobjects/Account"},
                "get": {"path": "/sobjects/Account/{id}"},
                "columns": [
                    {"name": "id", "type": "text", "pointer": "/Id", "read_only": true},
                    {"name": "name", "type": "text", "pointer": "/Name"}
                ],
                "create": {"method": "POST", "path": "/sobjects/Account", "id": "/id", "refetch": true},
                "batch_create": {
                    "path": "/composite/sobjects", "max": 200,
                    "body": {"allOrNone": true, "records": "$records"},
                    "each_alone_body": {"allOrNone": false, "records": "$records"},
                    "item": {"attributes": {"type": "Account"}},
                    "results": {"ok": "/success", "message": "/errors/0/message", "code": "/errors/0/statusCode"}
                }
            }),
            &["id", "name"],
        );
        let rows = vec![vec![(1, Value::String("Acme".into()))], vec![(1, Value::String("Globex".into()))]];
        let b = t.batch_create_request(&rows, &[], false).unwrap().unwrap();
        assert_eq!(
            b.body.unwrap(),
            serde_json::json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Account"}, "Name": "Globex"}
            ]})
        );
        // A push writes each record on its own: one refused record does not undo the others.
        let alone = t.batch_create_request(&rows, &[], true).unwrap().unwrap();
        assert_eq!(alone.body.unwrap()["allOrNone"], serde_json::json!(false));
        // The built-in Salesforce connector declares both.
        let sf = crate::connector::find("salesforce").unwrap();
        let def = sf.objects["account"].batch_create.clone().unwrap();
        assert_eq!(def.body.unwrap()["allOrNone"], serde_json::json!(true));
        assert_eq!(def.each_alone_body.unwrap()["allOrNone"], serde_json::json!(false));
        let r = t.refetch_request("001x", &["Name".into()]).unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.url.as_str()), ("GET", "http://127.0.0.1:9/sobjects/Account/001x"));
    }

    #[test]
    fn write_definitions_are_validated() {
        let load = |object: serde_json::Value| {
            let doc = serde_json::json!({"name": "x", "base_url": "http://127.0.0.1:9", "objects": {"o": object}});
            Connector::from_json(&doc.to_string()).unwrap_err().to_string()
        };
        let base = |extra: serde_json::Value| {
            let mut o = serde_json::json!({
                "list": {"path": "/o"},
                "columns": [{"name": "id", "type": "text", "pointer": "/id"}]
            });
            for (k, v) in extra.as_object().unwrap() {
                o[k] = v.clone();
            }
            o
        };
        let e = load(base(serde_json::json!({"create": {"method": "POST", "path": "/o", "body": {"x": 1}}})));
        assert!(e.contains("/objects/o/create/body") && e.contains("$record"), "{e}");
        let e = load(base(serde_json::json!({"update": {"method": "PUT", "path": "/o"}})));
        assert!(e.contains("/objects/o/update/path") && e.contains("id_field"), "{e}");
        let e = load(base(serde_json::json!({"create": {"method": "POST", "path": "/o", "refetch": true}})));
        assert!(e.contains("/objects/o/create/refetch"), "{e}");
        let e = load(base(serde_json::json!({
            "get": {"path": "/o/{id}"},
            "create": {"method": "POST", "path": "/o", "refetch": true}
        })));
        assert!(e.contains("/objects/o/create/id"), "{e}");
        let e = load(base(serde_json::json!({
            "search": {"path": "/s", "body": {"f": "$filters"}, "filter": {"p": "$field"}, "ops": {"eq": "EQ"},
                       "records": "/r", "cursor": "/c", "page_size": {"param": "limit", "default": 10}}
        })));
        assert!(e.contains("/objects/o/search/body") && e.contains("$cursor"), "{e}");
        let e = load(base(serde_json::json!({
            "search": {"path": "/s", "body": {"f": "$filters", "a": "$cursor"}, "filter": {"p": "$field"}, "ops": {"like": "X"},
                       "records": "/r", "cursor": "/c", "page_size": {"param": "limit", "default": 10}}
        })));
        assert!(e.contains("/objects/o/search/ops/like"), "{e}");
        let mut o = base(serde_json::json!({}));
        o["list"]["language"] = serde_json::json!({"kind": "soql", "param": "q", "from": "Account; DROP"});
        assert!(load(o).contains("/objects/o/list/language/from"));
    }

    #[test]
    fn hubspot_batch_updates_carry_each_records_id_and_only_its_values() {
        let s = server(&[("connector", "hubspot"), ("base_url", "http://127.0.0.1:9")]).unwrap();
        let t = resolve_table(&s, &o(&[("object", "contacts")]), &cols(&["id", "email", "firstname"]), "t").unwrap();
        let rows = vec![
            ("11".to_string(), vec![(1, Value::String("a@b.c".into()))]),
            ("12".to_string(), vec![(2, Value::String("Bo".into())), (1, Value::String("b@b.c".into()))]),
        ];
        let req = t.batch_update_request(&rows, &["row-1".into(), "row-2".into()]).unwrap().unwrap();
        assert_eq!(
            (req.method.as_str(), req.url.as_str()),
            ("POST", "http://127.0.0.1:9/crm/v3/objects/contacts/batch/update")
        );
        // HubSpot's SimplePublicObjectBatchInput: id and properties required, no associations.
        assert_eq!(
            req.body.unwrap(),
            serde_json::json!({"inputs": [
                {"id": "11", "properties": {"email": "a@b.c"}, "objectWriteTraceId": "row-1"},
                {"id": "12", "properties": {"firstname": "Bo", "email": "b@b.c"}, "objectWriteTraceId": "row-2"}
            ]})
        );
        // A read-only table has no batch update.
        let ro = resolve_table(&s, &o(&[("object", "contacts"), ("read_only", "true")]), &cols(&["id", "email"]), "t")
            .unwrap();
        assert!(ro.batch_update_request(&rows[..1], &[]).unwrap().is_none());
    }
}
