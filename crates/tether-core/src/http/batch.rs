//! What a batch create's answer says about each row: all created, or some rejected (HubSpot's 207
//! with per-input errors tagged by row, Salesforce's per-record results with the ones rolled back only
//! because another failed), as one error that names each rejected row and says what the provider kept.

use serde_json::Value;

use crate::connector::model::{BatchDef, BatchResultsDef};
use crate::connector::pointer::Pointer;
use crate::error::TetherError;
use crate::http::transport::HttpResponse;

/// A batch that was sent: whose, which rows of the statement, and how it was shown.
pub struct BatchAnswer<'a> {
    pub connector: &'a str,
    /// The foreign table, for hints.
    pub label: &'a str,
    /// The connector's pointers to an error's message (`errors.message`), tried in order.
    pub message_at: &'a [String],
    /// Rows in this batch, and the statement's row number of the first.
    pub rows: usize,
    pub first_row: u64,
    /// The request, as messages show it (`POST /crm/v3/objects/contacts/batch/create`).
    pub shown: &'a str,
    /// Rows of the statement written before this batch.
    pub earlier_rows: u64,
}

impl BatchAnswer<'_> {
    /// The outcome of a batch create `batch` answered with `resp`: an answer with per-row errors
    /// (HubSpot 207, Salesforce's results) is an error naming each rejected row.
    pub fn check(&self, batch: &BatchDef, resp: &HttpResponse) -> Result<(), TetherError> {
        let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        if let Some(results) = &batch.results {
            return self.check_results(results, &doc);
        }
        let errors: Vec<Value> = batch
            .errors
            .as_deref()
            .and_then(|p| Pointer::parse(p).ok())
            .and_then(|p| p.get(&doc).and_then(Value::as_array).cloned())
            .unwrap_or_default();
        if errors.is_empty() && resp.status != 207 {
            return Ok(());
        }
        let created = Pointer::parse(&batch.records)
            .ok()
            .and_then(|p| p.get(&doc).and_then(Value::as_array).map(|a| a.len()))
            .unwrap_or(0);
        let trace_at = batch.trace.as_ref().and_then(|t| Pointer::parse(&t.error).ok());
        let message_at = self.message_at;
        let mut lines = Vec::new();
        let mut first: Option<(String, String)> = None;
        let mut category = None;
        for e in &errors {
            let row = trace_at
                .as_ref()
                .and_then(|p| p.get(e))
                .and_then(Value::as_str)
                .and_then(|t| t.strip_prefix("row-"))
                .map(|r| format!("row {r}"))
                .unwrap_or_else(|| "a row".to_string());
            let msg = message_at
                .iter()
                .find_map(|p| Pointer::parse(p).ok()?.get(e)?.as_str().map(str::to_string))
                .unwrap_or_else(|| e.to_string());
            if category.is_none() {
                category = e.get("category").and_then(Value::as_str).map(str::to_string);
            }
            if first.is_none() {
                first = Some((row.clone(), msg.clone()));
            }
            lines.push(format!("{row}: {msg}"));
        }
        let failed = errors.len().max(1);
        let status = match category.as_deref() {
            Some("OBJECT_ALREADY_EXISTS") | Some("CONFLICT") => 409,
            _ => 400,
        };
        let first = first.unwrap_or_else(|| ("a row".into(), format!("the provider answered HTTP {}", resp.status)));
        Err(self.error(status, first, lines, (failed, 0, created)))
    }

    /// Per-input results in the order sent (Salesforce sObject Collections answer 200 with a success
    /// flag for each record).
    fn check_results(&self, def: &BatchResultsDef, doc: &Value) -> Result<(), TetherError> {
        let (n, first_row, shown) = (self.rows, self.first_row, self.shown);
        let at = |p: &str| Pointer::parse(p).ok();
        let results = at(&def.at).and_then(|p| p.get(doc).and_then(Value::as_array).cloned()).unwrap_or_default();
        if results.len() != n {
            return Err(TetherError::OutcomeUnknown {
                connector: self.connector.to_string(),
                message: format!("the provider answered {} results for the {n} rows sent together", results.len()),
                detail: format!("rows {first_row} to {} of this statement, sent by {shown}", first_row + n as u64 - 1),
                hint: format!(
                    "check which of these rows exist at the provider before inserting them again (SELECT from {})",
                    self.label
                ),
            });
        }
        let (ok_at, message_at, code_at) = (at(&def.ok), at(&def.message), def.code.as_deref().and_then(at));
        let mut lines = Vec::new();
        let mut first = None;
        let (mut failed, mut rolled_back, mut created) = (0, 0, 0);
        for (i, r) in results.iter().enumerate() {
            if ok_at.as_ref().and_then(|p| p.get(r)).and_then(Value::as_bool) == Some(true) {
                created += 1;
                continue;
            }
            let code = code_at.as_ref().and_then(|p| p.get(r)).and_then(Value::as_str).unwrap_or("");
            if def.not_at_fault.iter().any(|c| c == code) {
                rolled_back += 1;
                continue;
            }
            failed += 1;
            let row = format!("row {}", first_row + i as u64);
            let message = message_at
                .as_ref()
                .and_then(|p| p.get(r))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| r.to_string());
            let shown_msg = if code.is_empty() { message.clone() } else { format!("{message} ({code})") };
            lines.push(format!("{row}: {shown_msg}"));
            first.get_or_insert((row, message));
        }
        if failed + rolled_back == 0 {
            return Ok(());
        }
        let first = first.unwrap_or_else(|| ("a row".into(), "the provider rejected the rows".into()));
        Err(self.error(400, first, lines, (failed, rolled_back, created)))
    }

    /// The error for a batch some rows of which the provider rejected.
    fn error(
        &self,
        status: u16,
        (first_row_name, first_message): (String, String),
        lines: Vec<String>,
        (failed, rolled_back, created): (usize, usize, usize),
    ) -> TetherError {
        let (n, first_row, shown) = (self.rows, self.first_row, self.shown);
        let rolled = if rolled_back > 0 {
            format!(", {rolled_back} more were not created because the request is all or none,")
        } else {
            String::new()
        };
        let mut detail = format!(
            "{failed} of the {n} rows sent together (rows {first_row} to {} of this statement) {} rejected{rolled} and {created} created by {shown}: {}",
            first_row + n as u64 - 1,
            if failed == 1 { "was" } else { "were" },
            lines.join("; ")
        );
        let earlier = self.earlier_rows;
        if earlier > 0 {
            detail.push_str(&format!(". {earlier} earlier row(s) of this statement were already written"));
        }
        let kept = created as u64 + earlier;
        let hint = if kept > 0 {
            format!(
                "the provider keeps the {kept} record(s) it created although the statement fails: insert only the rejected rows again, once fixed"
            )
        } else {
            "nothing was created: fix the rejected rows and run the statement again".to_string()
        };
        TetherError::Provider {
            connector: self.connector.to_string(),
            status,
            message: format!("{first_message} ({first_row_name})"),
            detail,
            hint: Some(hint),
        }
    }
}

/// What became of one row of a batch create, read from the provider's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    /// Created: the record as the answer gives it (its id inside).
    Created(Value),
    /// Refused by the provider, with its message and, when it gives one, its code.
    Refused { message: String, code: Option<String> },
    /// Not written only because another row of the request was refused (all or none): send it again.
    RolledBack,
    /// The answer does not say: the row may exist at the provider, so it is not sent blindly again.
    Unknown,
}

/// The outcome of each of the rows sent in one batch create `def` (`traces[i]` tagged row `i`, when
/// the endpoint tags rows), from a successful answer `resp` (2xx; an error status for the whole
/// request is the sender's to handle). `message_at` and `code_at` are the connector's pointers to an
/// error's message and code, tried in order. Rows tagged: by tag, in the created records and in the
/// errors (HubSpot's 201 and 207); per-input results: by position (Salesforce); otherwise a complete
/// answer lists the created records in the order sent (BigCommerce). Whatever the answer leaves out
/// is `Unknown`.
pub fn row_outcomes(
    def: &BatchDef,
    resp: &HttpResponse,
    traces: &[String],
    message_at: &[String],
    code_at: &[String],
) -> Vec<RowOutcome> {
    let n = traces.len();
    let doc: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let at = |p: &str| Pointer::parse(p).ok();
    let array = |p: Option<&str>| -> Vec<Value> {
        p.and_then(at).and_then(|p| p.get(&doc).and_then(Value::as_array).cloned()).unwrap_or_default()
    };
    let first_str = |pointers: &[String], v: &Value| -> Option<String> {
        pointers.iter().find_map(|p| at(p)?.get(v)?.as_str().map(str::to_string))
    };
    if let Some(def_results) = &def.results {
        let results = array(Some(&def_results.at));
        if results.len() != n {
            return vec![RowOutcome::Unknown; n];
        }
        let (ok_at, result_message_at) = (at(&def_results.ok), at(&def_results.message));
        let result_code_at = def_results.code.as_deref().and_then(at);
        return results
            .into_iter()
            .map(|r| {
                if ok_at.as_ref().and_then(|p| p.get(&r)).and_then(Value::as_bool) == Some(true) {
                    return RowOutcome::Created(r);
                }
                let code = result_code_at.as_ref().and_then(|p| p.get(&r)?.as_str().map(str::to_string));
                if code.as_deref().is_some_and(|c| def_results.not_at_fault.iter().any(|x| x == c)) {
                    return RowOutcome::RolledBack;
                }
                let message = result_message_at
                    .as_ref()
                    .and_then(|p| p.get(&r)?.as_str().map(str::to_string))
                    .unwrap_or_else(|| r.to_string());
                RowOutcome::Refused { message, code }
            })
            .collect();
    }
    let records = array(Some(&def.records));
    let errors = array(def.errors.as_deref());
    let Some(trace) = &def.trace else {
        if errors.is_empty() && records.len() == n {
            return records.into_iter().map(RowOutcome::Created).collect();
        }
        return vec![RowOutcome::Unknown; n];
    };
    let row_of: std::collections::HashMap<&str, usize> =
        traces.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
    let (field_at, error_at) = (at(&trace.field), at(&trace.error));
    let mut out = vec![RowOutcome::Unknown; n];
    for r in records {
        let tag = field_at.as_ref().and_then(|p| p.get(&r)).and_then(Value::as_str);
        if let Some(&i) = tag.and_then(|t| row_of.get(t)) {
            out[i] = RowOutcome::Created(r);
        }
    }
    for e in errors {
        let tag = error_at.as_ref().and_then(|p| p.get(&e)).and_then(Value::as_str);
        if let Some(&i) = tag.and_then(|t| row_of.get(t)) {
            let message = first_str(message_at, &e).unwrap_or_else(|| e.to_string());
            out[i] = RowOutcome::Refused { message, code: first_str(code_at, &e) };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;

    fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse { status, headers: vec![], body: body.to_string().into_bytes() }
    }

    fn batch<'a>(connector: &'a str, message_at: &'a [String], earlier_rows: u64) -> BatchAnswer<'a> {
        BatchAnswer {
            connector,
            label: "crm.contacts",
            message_at,
            rows: 3,
            first_row: 4,
            shown: "POST /batch",
            earlier_rows,
        }
    }

    #[test]
    fn hubspot_partial_failures_name_each_rejected_row() {
        let def = connector::find("hubspot").unwrap().objects["contacts"].batch_create.clone().unwrap();
        let message_at = vec!["/message".to_string()];
        let ok =
            answer(201, serde_json::json!({"status": "COMPLETE", "results": [{"id": "1"}, {"id": "2"}, {"id": "3"}]}));
        assert!(batch("hubspot", &message_at, 0).check(&def, &ok).is_ok());
        let partial = answer(
            207,
            serde_json::json!({"status": "COMPLETE", "results": [{"id": "1"}, {"id": "2"}],
                "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Email is invalid",
                            "context": {"objectWriteTraceId": ["row-5"]}}]}),
        );
        let e = batch("hubspot", &message_at, 3).check(&def, &partial).unwrap_err();
        assert_eq!(e.sqlstate().code(), "22023");
        assert!(e.to_string().starts_with("[hubspot] Email is invalid ("), "{e}");
        let detail = e.detail().unwrap();
        assert!(detail.starts_with("1 of the 3 rows sent together (rows 4 to 6 of this statement) was rejected and 2 created by POST /batch"), "{detail}");
        assert!(detail.ends_with(". 3 earlier row(s) of this statement were already written"), "{detail}");
        assert!(e.hint().unwrap().contains("keeps the 5 record(s) it created"), "{:?}", e.hint());
    }

    #[test]
    fn salesforce_results_tell_rejected_rows_from_rolled_back_ones() {
        let def = connector::find("salesforce").unwrap().objects["account"].batch_create.clone().unwrap();
        assert!(def.results.is_some(), "Salesforce answers per-record results");
        let results = serde_json::json!([
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]"}]},
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back"}]},
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back"}]}
        ]);
        let e = batch("salesforce", &[], 0).check(&def, &answer(200, results)).unwrap_err();
        assert!(e.to_string().contains("Required fields are missing: [Name] (row 4)"), "{e}");
        let detail = e.detail().unwrap();
        assert!(
            detail.contains(
                "1 of the 3 rows sent together (rows 4 to 6 of this statement) was rejected, 2 more were not created"
            ),
            "{detail}"
        );
        assert_eq!(e.hint(), Some("nothing was created: fix the rejected rows and run the statement again"));
        // Fewer results than rows: the outcome of the rest is unknown.
        let short = serde_json::json!([{"success": true, "id": "001"}]);
        let e = batch("salesforce", &[], 0).check(&def, &answer(200, short)).unwrap_err();
        assert_eq!(e.sqlstate().code(), "08007");
        assert!(e.hint().unwrap().contains("SELECT from crm.contacts"), "{:?}", e.hint());
    }

    fn tags(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("row-{i}")).collect()
    }

    #[test]
    fn hubspot_outcomes_are_matched_to_rows_by_their_tags() {
        let def = connector::find("hubspot").unwrap().objects["contacts"].batch_create.clone().unwrap();
        let (message_at, code_at) = (vec!["/message".to_string()], vec!["/category".to_string()]);
        // Results come in any order; row-3 is refused, row-4 is in neither list.
        let partial = answer(
            207,
            serde_json::json!({"status": "COMPLETE",
                "results": [{"id": "12", "objectWriteTraceId": "row-2"}, {"id": "11", "objectWriteTraceId": "row-1"}],
                "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Email is invalid",
                            "context": {"objectWriteTraceId": ["row-3"]}}]}),
        );
        let out = row_outcomes(&def, &partial, &tags(4), &message_at, &code_at);
        assert_eq!(out[0], RowOutcome::Created(serde_json::json!({"id": "11", "objectWriteTraceId": "row-1"})));
        assert_eq!(out[1], RowOutcome::Created(serde_json::json!({"id": "12", "objectWriteTraceId": "row-2"})));
        assert_eq!(
            out[2],
            RowOutcome::Refused { message: "Email is invalid".into(), code: Some("VALIDATION_ERROR".into()) }
        );
        assert_eq!(out[3], RowOutcome::Unknown, "a row the answer does not mention may exist");
        // A tag the request did not send is ignored.
        let stray = answer(201, serde_json::json!({"results": [{"id": "9", "objectWriteTraceId": "row-99"}]}));
        assert_eq!(row_outcomes(&def, &stray, &tags(1), &message_at, &code_at), vec![RowOutcome::Unknown]);
    }

    #[test]
    fn salesforce_outcomes_are_positional() {
        let def = connector::find("salesforce").unwrap().objects["account"].batch_create.clone().unwrap();
        let results = serde_json::json!([
            {"success": true, "id": "001A", "errors": []},
            {"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]"}]},
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back"}]}
        ]);
        let out = row_outcomes(&def, &answer(200, results), &tags(3), &[], &[]);
        assert_eq!(out[0], RowOutcome::Created(serde_json::json!({"success": true, "id": "001A", "errors": []})));
        assert_eq!(
            out[1],
            RowOutcome::Refused {
                message: "Required fields are missing: [Name]".into(),
                code: Some("REQUIRED_FIELD_MISSING".into())
            }
        );
        assert_eq!(out[2], RowOutcome::RolledBack);
        // Fewer results than rows: nothing is known of any.
        let short = answer(200, serde_json::json!([{"success": true, "id": "001"}]));
        assert_eq!(row_outcomes(&def, &short, &tags(2), &[], &[]), vec![RowOutcome::Unknown; 2]);
    }

    #[test]
    fn untagged_outcomes_need_a_complete_answer_in_order() {
        let def = connector::find("bigcommerce").unwrap().objects["customers"].batch_create.clone().unwrap();
        let ok = answer(200, serde_json::json!({"data": [{"id": 1}, {"id": 2}], "meta": {}}));
        assert_eq!(
            row_outcomes(&def, &ok, &tags(2), &[], &[]),
            vec![RowOutcome::Created(serde_json::json!({"id": 1})), RowOutcome::Created(serde_json::json!({"id": 2}))]
        );
        let short = answer(200, serde_json::json!({"data": [{"id": 1}]}));
        assert_eq!(row_outcomes(&def, &short, &tags(2), &[], &[]), vec![RowOutcome::Unknown; 2]);
        let garbage = HttpResponse { status: 200, headers: vec![], body: b"<html>".to_vec() };
        assert_eq!(row_outcomes(&def, &garbage, &tags(2), &[], &[]), vec![RowOutcome::Unknown; 2]);
    }
}
