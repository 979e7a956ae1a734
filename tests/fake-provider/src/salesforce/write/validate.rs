//! Salesforce's checks of a record's new values, in its order: read-only fields, required fields, e-mail
//! syntax, lookups (id syntax, target object, existing target).

use serde_json::Value;

use crate::salesforce::errors::SfError;
use crate::salesforce::schema::{object, FType, SObject, ACCOUNT, LEAD, LEAD_DEFAULT_STATUS};
use crate::salesforce::seed_data::s;
use crate::salesforce::store::{Rec, SfStore};
use crate::salesforce::values::normalise_id;

fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    let ok_char = |c: char| !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c);
    !local.is_empty()
        && local.chars().all(ok_char)
        && domain.chars().all(ok_char)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| !l.is_empty())
}

/// Validates the values of a create (`existing` None) or update, in Salesforce's order: read-only fields,
/// required fields, field formats, lookups. Returns the record's new values.
pub(super) fn validate(
    st: &SfStore,
    o: &SObject,
    existing: Option<&Rec>,
    values: &[(usize, Value)],
) -> Result<Vec<Value>, Vec<SfError>> {
    let read_only: Vec<String> = values
        .iter()
        .filter_map(|(i, _)| o.fields.get(*i))
        .filter(|f| f.read_only)
        .map(|f| f.name.to_string())
        .collect();
    if !read_only.is_empty() {
        let message = if existing.is_none() && read_only.iter().any(|n| n == "Id") {
            "cannot specify Id in an insert call".to_string()
        } else {
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify \
                 that it is read/write for your profile or permission set.",
                read_only.join(", ")
            )
        };
        return Err(vec![SfError::with_fields("INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)]);
    }
    let mut rec: Vec<Value> = match existing {
        Some(r) => r.values.clone(),
        None => {
            let mut v = vec![Value::Null; o.fields.len()];
            if let Some(slot) = v.get_mut(o.index("IsDeleted")) {
                *slot = Value::Bool(false);
            }
            if o.table == LEAD.table {
                if let Some(slot) = v.get_mut(o.index("Status")) {
                    *slot = s(LEAD_DEFAULT_STATUS);
                }
            }
            v
        }
    };
    for (idx, v) in values {
        if let Some(slot) = rec.get_mut(*idx) {
            *slot = v.clone();
        }
    }
    let missing: Vec<String> = o
        .fields
        .iter()
        .zip(&rec)
        .filter(|(f, v)| f.required && (v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())))
        .map(|(f, _)| f.name.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(vec![SfError::with_fields(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            missing,
        )]);
    }
    let mut errs = Vec::new();
    for (idx, v) in values {
        let (Some(fd), Some(text)) = (o.fields.get(*idx), v.as_str()) else {
            continue;
        };
        match fd.ty {
            FType::Email if !is_email(text) => errs.push(SfError::with_fields(
                "INVALID_EMAIL_ADDRESS",
                format!("{}: invalid email address: {text}", fd.label),
                vec![fd.name.to_string()],
            )),
            FType::Ref(target) => {
                let label = fd.label;
                match normalise_id(text) {
                    None => errs.push(SfError::with_fields(
                        "MALFORMED_ID",
                        format!("{label}: id value of incorrect type: {text}"),
                        vec![fd.name.to_string()],
                    )),
                    Some(id) => {
                        let target_obj = object(target).unwrap_or(&ACCOUNT);
                        if !id.starts_with(target_obj.prefix) {
                            errs.push(SfError::with_fields(
                                "FIELD_INTEGRITY_EXCEPTION",
                                format!("{label}: id value of incorrect type: {text}"),
                                vec![fd.name.to_string()],
                            ));
                        } else if !st.table(target_obj).recs.iter().any(|r| r.id() == id && !r.deleted) {
                            errs.push(SfError::with_fields(
                                "INVALID_CROSS_REFERENCE_KEY",
                                "invalid cross reference id",
                                vec![fd.name.to_string()],
                            ));
                        } else if let Some(slot) = rec.get_mut(*idx) {
                            *slot = Value::String(id);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if errs.is_empty() {
        Ok(rec)
    } else {
        Err(errs)
    }
}
