//! Written values as cells, Airtable's way: each field kind accepts its JSON types, `typecast` converts text
//! and adds new select options, empty values clear the cell.

use serde_json::{json, Value};

use super::errors::WriteError;
use super::store::{Field, Kind, Table};
use crate::shared::time::{date_string, parse_date, parse_iso_ms};

/// Converts a written value to the stored cell (`None`: empty), Airtable's way.
fn convert(field: &mut Field, value: &Value, typecast: bool) -> Result<Option<Value>, WriteError> {
    let bad = || {
        WriteError::new(
            "INVALID_VALUE_FOR_COLUMN",
            format!("Field \"{}\" cannot accept the provided value", field.name),
        )
    };
    if value.is_null() {
        return Ok(None);
    }
    match field.kind {
        Kind::Text | Kind::LongText | Kind::Email => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(Value::String(s.clone()))),
            Value::Number(_) | Value::Bool(_) if typecast => Ok(Some(Value::String(value.to_string()))),
            _ => Err(bad()),
        },
        Kind::Number | Kind::Currency => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            Value::String(s) if typecast && s.trim().is_empty() => Ok(None),
            Value::String(s) if typecast => {
                s.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map(|n| Some(json!(n))).ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        Kind::Checkbox => match value {
            Value::Bool(true) => Ok(Some(Value::Bool(true))),
            Value::Bool(false) => Ok(None),
            Value::String(s) if typecast => match s.trim().to_lowercase().as_str() {
                "true" | "1" | "yes" | "checked" => Ok(Some(Value::Bool(true))),
                "false" | "0" | "no" | "" => Ok(None),
                _ => Err(bad()),
            },
            Value::Number(n) if typecast => Ok((n.as_f64() != Some(0.0)).then_some(Value::Bool(true))),
            _ => Err(bad()),
        },
        Kind::Date => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => {
                let days = parse_date(s).or_else(|| parse_iso_ms(s).map(|ms| ms.div_euclid(86_400_000)));
                days.map(|d| Some(Value::String(date_string(d)))).ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        Kind::SingleSelect => {
            let option = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) if typecast => value.to_string(),
                _ => return Err(bad()),
            };
            if option.is_empty() {
                return Ok(None);
            }
            choose(field, &option, typecast)?;
            Ok(Some(Value::String(option)))
        }
        Kind::MultiSelect => {
            let options: Vec<String> = match value {
                Value::Array(items) => {
                    let mut out = Vec::new();
                    for it in items {
                        match it {
                            Value::String(s) => out.push(s.clone()),
                            Value::Number(_) if typecast => out.push(it.to_string()),
                            _ => return Err(bad()),
                        }
                    }
                    out
                }
                Value::String(s) if typecast => {
                    s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
                }
                _ => return Err(bad()),
            };
            let mut unique: Vec<String> = Vec::new();
            for o in options {
                choose(field, &o, typecast)?;
                if !unique.contains(&o) {
                    unique.push(o);
                }
            }
            Ok((!unique.is_empty()).then(|| json!(unique)))
        }
    }
}

/// Checks a select option; with `typecast` a new option is added to the field.
fn choose(field: &mut Field, option: &str, typecast: bool) -> Result<(), WriteError> {
    if field.choices.iter().any(|c| c == option) {
        return Ok(());
    }
    if typecast {
        field.choices.push(option.to_string());
        return Ok(());
    }
    Err(WriteError::new(
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        format!("Insufficient permissions to create new select option \"\"{option}\"\""),
    ))
}

/// Applies `fields` (a JSON object of cells) to `values`; `replace` clears the cells not given.
pub(super) fn apply(
    table: &mut Table,
    values: &mut Vec<Option<Value>>,
    fields: &Value,
    typecast: bool,
    replace: bool,
) -> Result<(), WriteError> {
    let Some(map) = fields.as_object() else {
        return Err(WriteError::new("INVALID_VALUE_FOR_COLUMN", "The \"fields\" value must be an object"));
    };
    let mut next: Vec<Option<Value>> = if replace { vec![None; table.fields.len()] } else { values.clone() };
    for (name, v) in map {
        let Some(idx) = table.field(name) else {
            return Err(WriteError::new("UNKNOWN_FIELD_NAME", format!("Unknown field name: \"{name}\"")));
        };
        let Some(field) = table.fields.get_mut(idx) else { continue };
        let cell = convert(field, v, typecast)?;
        if let Some(slot) = next.get_mut(idx) {
            *slot = cell;
        }
    }
    *values = next;
    Ok(())
}
