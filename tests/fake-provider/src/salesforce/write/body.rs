//! Reading a record body as Salesforce's JSON parser does: unknown fields and values of the wrong type fail the
//! whole request, with Jackson's messages and positions (`at [line:L, column:C]`).

use serde_json::{json, Map, Value};

use crate::http::{FakeRequest, FakeResponse};
use crate::salesforce::errors::{error, errors, SfError};
use crate::salesforce::schema::{FType, SObject};
use crate::salesforce::values::sf_datetime;
use crate::shared::json::syntax_error_detail;
use crate::shared::time::{date_string, parse_date, parse_iso_ms};

/// Line and column (1-based) just after the value of `key` in the raw JSON text, as Jackson reports them.
fn value_position(body: &str, key: &str) -> (usize, usize) {
    let needle = format!("\"{key}\"");
    let mut search_from = 0;
    while let Some(found) = body.get(search_from..).and_then(|rest| rest.find(&needle)) {
        let after_key = search_from + found + needle.len();
        let rest = body.get(after_key..).unwrap_or("");
        let trimmed = rest.trim_start();
        if let Some(value) = trimmed.strip_prefix(':') {
            let value_start = body.len() - value.trim_start().len();
            let end = value_end(body, value_start);
            return line_col(body, end);
        }
        search_from = after_key;
    }
    (1, 1)
}

/// Byte offset just after the JSON value starting at `start` (objects and arrays: after their opening bracket).
fn value_end(body: &str, start: usize) -> usize {
    let bytes = body.as_bytes();
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while let Some(b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            body.len()
        }
        Some(b'{' | b'[') => start + 1,
        _ => {
            let mut i = start;
            while bytes.get(i).is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace()) {
                i += 1;
            }
            i
        }
    }
}

fn line_col(body: &str, offset: usize) -> (usize, usize) {
    let before = body.get(..offset).unwrap_or(body);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn json_parser_error(ty: FType, value: &Value, body: &str, key: &str) -> SfError {
    let (token, text) = match value {
        Value::String(s) => ("VALUE_STRING", s.clone()),
        Value::Number(n) if n.is_f64() => ("VALUE_NUMBER_FLOAT", n.to_string()),
        Value::Number(n) => ("VALUE_NUMBER_INT", n.to_string()),
        Value::Bool(true) => ("VALUE_TRUE", "true".to_string()),
        Value::Bool(false) => ("VALUE_FALSE", "false".to_string()),
        Value::Array(_) => ("START_ARRAY", "[".to_string()),
        Value::Object(_) => ("START_OBJECT", "{".to_string()),
        Value::Null => ("VALUE_NULL", "null".to_string()),
    };
    let (line, col) = value_position(body, key);
    SfError::new(
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {} from {token} value {text} or request may be missing a required field \
             at [line:{line}, column:{col}]",
            ty.java_name()
        ),
    )
}

/// Converts a JSON value to the stored form of a field (`None`: the value does not fit the type).
fn coerce(ty: FType, value: &Value) -> Option<Value> {
    if value.is_null() {
        return Some(Value::Null);
    }
    match ty {
        FType::Bool => match value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
            _ => None,
        },
        FType::Int => match value {
            Value::Number(n) => n.as_i64().map(Value::from),
            Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
            _ => None,
        },
        FType::Currency | FType::Percent => match value {
            Value::Number(n) => n.as_f64().map(|x| json!(x)),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| json!(x)),
            _ => None,
        },
        FType::Date => match value {
            Value::String(s) => {
                let date = s.get(..10).filter(|_| s.len() == 10 || s.get(10..11) == Some("T"))?;
                parse_date(date).map(|d| Value::String(date_string(d)))
            }
            _ => None,
        },
        FType::DateTime => match value {
            Value::String(s) => {
                parse_iso_ms(s).and_then(|ms| u64::try_from(ms).ok()).map(|ms| Value::String(sf_datetime(ms)))
            }
            _ => None,
        },
        _ => match value {
            Value::String(s) => Some(Value::String(s.clone())),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            _ => None,
        },
    }
}

/// The fields of a record body, deserialised: unknown fields and values of the wrong type fail the whole
/// request (as Salesforce's JSON parser does). `attributes` is skipped.
pub(super) fn deserialise(o: &SObject, map: &Map<String, Value>, body: &str) -> Result<Vec<(usize, Value)>, SfError> {
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        if key == "attributes" {
            continue;
        }
        let Some((idx, fd)) = o.field(key) else {
            return Err(SfError::new("INVALID_FIELD", format!("No such column '{key}' on sobject of type {}", o.name)));
        };
        match coerce(fd.ty, value) {
            Some(v) => out.push((idx, v)),
            None => return Err(json_parser_error(fd.ty, value, body, key)),
        }
    }
    Ok(out)
}

/// The field values of a single record's body (`POST` and `PATCH /sobjects/...`), or Salesforce's 400.
pub(super) fn record_values(req: &FakeRequest, o: &SObject) -> Result<Vec<(usize, Value)>, FakeResponse> {
    let (map, text) = body_object(req)?;
    deserialise(o, &map, &text).map_err(|e| errors(400, &[e]))
}

/// The JSON body as an object, or Salesforce's 400 for a body that does not parse.
pub(super) fn body_object(req: &FakeRequest) -> Result<(Map<String, Value>, String), FakeResponse> {
    let text = String::from_utf8_lossy(&req.body).into_owned();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok((m, text)),
        Ok(other) => {
            let token = if other.is_array() { "START_ARRAY" } else { "VALUE_STRING" };
            Err(error(
                400,
                "JSON_PARSER_ERROR",
                &format!(
                    "Cannot deserialize instance of SObject from {token} value or request may be missing a required \
                     field at [line:1, column:1]"
                ),
            ))
        }
        Err(e) => {
            let detail = syntax_error_detail(&e);
            Err(error(400, "JSON_PARSER_ERROR", &format!("{detail} at [line:{}, column:{}]", e.line(), e.column())))
        }
    }
}
