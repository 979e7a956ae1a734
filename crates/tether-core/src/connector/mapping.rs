//! The one record mapper: a provider's JSON value becomes a typed `Cell` for a Postgres column. Shared by
//! scans (and later RETURNING, mirror refresh and webhook payloads). A value that does not convert is an
//! error naming the value; a missing field or JSON null is NULL. No Postgres calls: `fdw` turns cells into
//! datums.

use serde_json::Value;

/// What a foreign-table column asks for, derived from its Postgres type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Text,
    Int2,
    Int4,
    Int8,
    Numeric,
    Float4,
    Float8,
    Bool,
    Date,
    Timestamptz,
    Json,
    Jsonb,
    /// text[] / varchar[]; `separator` splits a single delimited string.
    TextArray {
        separator: Option<String>,
    },
    /// Any other type: the value's text goes through the type's input function.
    Input {
        type_name: String,
    },
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Text => "text",
            Target::Int2 => "smallint",
            Target::Int4 => "integer",
            Target::Int8 => "bigint",
            Target::Numeric => "numeric",
            Target::Float4 => "real",
            Target::Float8 => "double precision",
            Target::Bool => "boolean",
            Target::Date => "date",
            Target::Timestamptz => "timestamp with time zone",
            Target::Json => "json",
            Target::Jsonb => "jsonb",
            Target::TextArray { .. } => "text[]",
            Target::Input { type_name } => type_name,
        }
    }
}

/// A converted value, ready to become a datum.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Decimal text, already checked to be a valid numeric literal.
    Numeric(String),
    /// Days since 2000-01-01 (Postgres' date epoch).
    Date(i32),
    /// Microseconds since 2000-01-01 00:00:00 UTC (Postgres' timestamp epoch).
    Timestamp(i64),
    Json(Value),
    TextArray(Vec<Option<String>>),
    /// Text for the type's input function.
    Input(String),
}

/// Why a value did not convert; `fdw` adds the column and object names.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionError {
    pub value: String,
    pub target: String,
    pub reason: String,
    pub out_of_range: bool,
}

const MAX_VALUE_SHOWN: usize = 100;

fn fail(value: &Value, target: &Target, reason: impl Into<String>) -> ConversionError {
    let mut shown = value.to_string();
    if shown.len() > MAX_VALUE_SHOWN {
        let mut end = MAX_VALUE_SHOWN;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push_str("...");
    }
    ConversionError { value: shown, target: target.name().to_string(), reason: reason.into(), out_of_range: false }
}

fn out_of_range(value: &Value, target: &Target) -> ConversionError {
    ConversionError { out_of_range: true, ..fail(value, target, format!("out of range for type {}", target.name())) }
}

/// Convert one JSON value (None = field absent) to the column's target type.
pub fn convert(value: Option<Value>, target: &Target) -> Result<Cell, ConversionError> {
    let value = match value {
        None | Some(Value::Null) => return Ok(Cell::Null),
        Some(v) => v,
    };
    match target {
        Target::Text => Ok(Cell::Text(into_text(value))),
        Target::Input { .. } => Ok(Cell::Input(into_text(value))),
        Target::Int2 => to_int(&value, target, i16::MIN as i64, i16::MAX as i64),
        Target::Int4 => to_int(&value, target, i32::MIN as i64, i32::MAX as i64),
        Target::Int8 => to_int(&value, target, i64::MIN, i64::MAX),
        Target::Numeric => match &value {
            Value::Number(n) => Ok(Cell::Numeric(n.to_string())),
            Value::String(s) if is_numeric_literal(s.trim()) => Ok(Cell::Numeric(s.trim().to_string())),
            Value::String(_) => Err(fail(&value, target, "not a number")),
            _ => Err(fail(&value, target, "expected a number or a numeric string")),
        },
        Target::Float4 | Target::Float8 => {
            let f = match &value {
                Value::Number(n) => n.as_f64().ok_or_else(|| fail(&value, target, "not a number"))?,
                Value::String(s) => parse_float(s.trim()).ok_or_else(|| fail(&value, target, "not a number"))?,
                _ => return Err(fail(&value, target, "expected a number or a numeric string")),
            };
            if *target == Target::Float4 && f.is_finite() && f.abs() > f32::MAX as f64 {
                return Err(out_of_range(&value, target));
            }
            Ok(Cell::Float(f))
        }
        Target::Bool => match &value {
            Value::Bool(b) => Ok(Cell::Bool(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(0) => Ok(Cell::Bool(false)),
                Some(1) => Ok(Cell::Bool(true)),
                _ => Err(fail(&value, target, "only 0 and 1 are accepted as numbers")),
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "on" | "1" => Ok(Cell::Bool(true)),
                "false" | "f" | "no" | "n" | "off" | "0" => Ok(Cell::Bool(false)),
                _ => Err(fail(&value, target, "expected true/false")),
            },
            _ => Err(fail(&value, target, "expected a boolean")),
        },
        Target::Date => match &value {
            Value::String(s) => parse_date_or_timestamp(s.trim())
                .map(|micros| Cell::Date(micros.div_euclid(MICROS_PER_DAY) as i32))
                .ok_or_else(|| fail(&value, target, "expected an ISO 8601 date such as 2024-01-31")),
            Value::Number(_) => epoch_micros(&value)
                .map(|micros| Cell::Date(micros.div_euclid(MICROS_PER_DAY) as i32))
                .ok_or_else(|| out_of_range(&value, target)),
            _ => Err(fail(&value, target, "expected a date string or epoch number")),
        },
        Target::Timestamptz => match &value {
            Value::String(s) => {
                let s = s.trim();
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    // Epoch seconds or milliseconds sent as a string (HubSpot does this for some properties).
                    let n: Value = s.parse::<i64>().map(Value::from).map_err(|_| out_of_range(&value, target))?;
                    return epoch_micros(&n).map(Cell::Timestamp).ok_or_else(|| out_of_range(&value, target));
                }
                parse_date_or_timestamp(s)
                    .map(Cell::Timestamp)
                    .ok_or_else(|| fail(&value, target, "expected an ISO 8601 timestamp such as 2024-01-31T12:00:00Z"))
            }
            Value::Number(_) => epoch_micros(&value).map(Cell::Timestamp).ok_or_else(|| out_of_range(&value, target)),
            _ => Err(fail(&value, target, "expected a timestamp string or epoch number")),
        },
        Target::Json | Target::Jsonb => Ok(Cell::Json(value)),
        Target::TextArray { separator } => match value {
            Value::Array(items) => Ok(Cell::TextArray(
                items.into_iter().map(|v| if v.is_null() { None } else { Some(into_text(v)) }).collect(),
            )),
            Value::String(s) => match separator {
                Some(sep) if s.is_empty() => {
                    let _ = sep;
                    Ok(Cell::TextArray(Vec::new()))
                }
                Some(sep) => Ok(Cell::TextArray(s.split(sep.as_str()).map(|p| Some(p.to_string())).collect())),
                None => Err(fail(
                    &Value::String(s),
                    target,
                    "expected a JSON array (set the column option separator to split a delimited string)",
                )),
            },
            other => Err(fail(&other, target, "expected a JSON array")),
        },
    }
}

/// Text form of a JSON value: strings as they are, everything else as compact JSON.
pub fn into_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn to_int(value: &Value, target: &Target, min: i64, max: i64) -> Result<Cell, ConversionError> {
    let n: i64 = match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i
            } else if n.is_u64() {
                return Err(out_of_range(value, target));
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 {
                    return Err(fail(value, target, "not an integer"));
                }
                // `max as f64` rounds i64::MAX up to 2^63, which itself does not fit: compare below it.
                if !(f >= min as f64 && f < max as f64 + 1.0) || f >= 9_223_372_036_854_775_808.0 {
                    return Err(out_of_range(value, target));
                }
                f as i64
            }
        }
        Value::String(s) => {
            let t = s.trim();
            match t.parse::<i64>() {
                Ok(i) => i,
                Err(_) if !t.is_empty() && t.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()) => {
                    return Err(out_of_range(value, target))
                }
                Err(_) => return Err(fail(value, target, "not an integer")),
            }
        }
        _ => return Err(fail(value, target, "expected an integer")),
    };
    if n < min || n > max {
        return Err(out_of_range(value, target));
    }
    Ok(Cell::Int(n))
}

fn parse_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ if is_numeric_literal(s) => s.parse().ok(),
        _ => None,
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, or NaN / Infinity as numeric accepts them.
pub fn is_numeric_literal(s: &str) -> bool {
    if matches!(s.to_ascii_lowercase().as_str(), "nan" | "infinity" | "+infinity" | "-infinity") {
        return true;
    }
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Days from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_DAYS: i64 = 10_957;
/// Values at or above this (absolute) are taken as epoch milliseconds rather than seconds: 1e11 seconds
/// is the year 5138, 1e11 milliseconds is 1973.
const EPOCH_MILLIS_THRESHOLD: f64 = 1e11;

/// Epoch seconds (or milliseconds, see the threshold) to microseconds since 2000-01-01.
fn epoch_micros(value: &Value) -> Option<i64> {
    let f = value.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    let micros = if f.abs() >= EPOCH_MILLIS_THRESHOLD { f * 1_000.0 } else { f * 1_000_000.0 };
    let pg = micros - (UNIX_TO_PG_DAYS * MICROS_PER_DAY) as f64;
    if pg.abs() > 9.2e18 {
        return None;
    }
    // Whole microseconds; round so 1.5e9 + 0.1 s does not become ...099999.
    Some(pg.round() as i64)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parse the ISO 8601 forms providers send, to microseconds since 2000-01-01 UTC:
/// `2024-01-31`, `2024-01-31T12:34:56`, with optional fraction, `Z`, `+01:00`, `+0100` or `+01`,
/// and a space instead of `T`. A timestamp without an offset is taken as UTC.
pub fn parse_date_or_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(y, mo, d) - UNIX_TO_PG_DAYS;
    let mut micros = days * MICROS_PER_DAY;
    if b.len() == 10 {
        return Some(micros);
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let (h, mi) = (num(11, 2)?, num(14, 2)?);
    if b.get(13) != Some(&b':') {
        return None;
    }
    let mut i = 16;
    let mut sec = 0;
    let mut frac_micros = 0;
    if b.get(i) == Some(&b':') {
        sec = num(17, 2)?;
        i = 19;
        if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
            let digits = &s[start..i.min(start + 6)];
            frac_micros = digits.parse::<i64>().ok()? * 10_i64.pow(6 - digits.len() as u32);
        }
    }
    if h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi > 0 || sec > 0 || frac_micros > 0)) {
        return None;
    }
    micros += ((h * 60 + mi) * 60 + sec) * MICROS_PER_SECOND + frac_micros;
    let offset_seconds = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let om = match b.len() - (i + 3) {
                0 => 0,
                2 => num(i + 3, 2)?,
                3 if b[i + 3] == b':' => num(i + 4, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 60 + om) * 60;
            if sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    Some(micros - offset_seconds * MICROS_PER_SECOND)
}

/// Microseconds since 2000-01-01 UTC as RFC 3339 (`2024-01-31T12:00:00Z`), for values sent to providers.
/// Microseconds since 2000-01-01 (Postgres) as milliseconds since 1970-01-01 (Unix).
pub fn unix_millis(pg_micros: i64) -> i64 {
    (pg_micros + UNIX_TO_PG_DAYS * MICROS_PER_DAY).div_euclid(1000)
}

pub fn format_timestamp(pg_micros: i64) -> String {
    let unix_micros = pg_micros + UNIX_TO_PG_DAYS * MICROS_PER_DAY;
    let days = unix_micros.div_euclid(MICROS_PER_DAY);
    let rem = unix_micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / MICROS_PER_SECOND;
    let frac = rem % MICROS_PER_SECOND;
    let base = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{frac:06}Z")
    }
}

/// Days since 2000-01-01 as `YYYY-MM-DD`.
pub fn format_date(pg_days: i32) -> String {
    let (y, m, d) = civil_from_days(pg_days as i64 + UNIX_TO_PG_DAYS);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(v: Value, t: Target) -> Cell {
        convert(Some(v), &t).unwrap()
    }

    fn err(v: Value, t: Target) -> ConversionError {
        convert(Some(v), &t).unwrap_err()
    }

    #[test]
    fn missing_and_null_are_null() {
        assert_eq!(convert(None, &Target::Int4).unwrap(), Cell::Null);
        assert_eq!(convert(Some(Value::Null), &Target::Text).unwrap(), Cell::Null);
    }

    #[test]
    fn text_takes_any_value() {
        assert_eq!(ok(json!("hi"), Target::Text), Cell::Text("hi".into()));
        assert_eq!(ok(json!(12), Target::Text), Cell::Text("12".into()));
        assert_eq!(ok(json!({"a": [1]}), Target::Text), Cell::Text(r#"{"a":[1]}"#.into()));
    }

    #[test]
    fn integers_check_range_and_form() {
        assert_eq!(ok(json!(32767), Target::Int2), Cell::Int(32767));
        assert!(err(json!(32768), Target::Int2).out_of_range);
        assert_eq!(ok(json!("42"), Target::Int4), Cell::Int(42));
        assert_eq!(ok(json!(7.0), Target::Int8), Cell::Int(7));
        assert!(!err(json!(7.5), Target::Int8).out_of_range);
        assert!(err(json!("99999999999999999999"), Target::Int8).out_of_range);
        assert!(err(json!(18446744073709551615u64), Target::Int8).out_of_range);
        let e = err(json!("abc"), Target::Int4);
        assert_eq!(e.value, "\"abc\"");
        assert_eq!(e.target, "integer");
        assert!(err(json!(true), Target::Int4).reason.contains("expected an integer"));
    }

    #[test]
    fn numeric_keeps_decimal_text() {
        assert_eq!(ok(json!("12.50"), Target::Numeric), Cell::Numeric("12.50".into()));
        assert_eq!(ok(json!(0.1), Target::Numeric), Cell::Numeric("0.1".into()));
        assert_eq!(ok(json!("-1e3"), Target::Numeric), Cell::Numeric("-1e3".into()));
        err(json!("12,50"), Target::Numeric);
        err(json!("."), Target::Numeric);
        err(json!([1]), Target::Numeric);
    }

    #[test]
    fn floats_parse_numbers_and_strings() {
        assert_eq!(ok(json!(1.5), Target::Float8), Cell::Float(1.5));
        assert_eq!(ok(json!("2.25"), Target::Float8), Cell::Float(2.25));
        assert!(matches!(ok(json!("NaN"), Target::Float8), Cell::Float(f) if f.is_nan()));
        assert!(err(json!(1e300), Target::Float4).out_of_range);
        err(json!("1.2.3"), Target::Float8);
    }

    #[test]
    fn booleans_accept_provider_spellings() {
        assert_eq!(ok(json!(true), Target::Bool), Cell::Bool(true));
        assert_eq!(ok(json!("false"), Target::Bool), Cell::Bool(false));
        assert_eq!(ok(json!("TRUE"), Target::Bool), Cell::Bool(true));
        assert_eq!(ok(json!(0), Target::Bool), Cell::Bool(false));
        err(json!("maybe"), Target::Bool);
        err(json!(2), Target::Bool);
    }

    #[test]
    fn dates_from_strings_and_epochs() {
        assert_eq!(ok(json!("2000-01-01"), Target::Date), Cell::Date(0));
        assert_eq!(ok(json!("2000-03-01"), Target::Date), Cell::Date(60));
        assert_eq!(ok(json!("1999-12-31T23:00:00Z"), Target::Date), Cell::Date(-1));
        assert_eq!(ok(json!(946684800), Target::Date), Cell::Date(0));
        err(json!("2023-02-29"), Target::Date);
        err(json!("31/01/2024"), Target::Date);
    }

    #[test]
    fn timestamps_in_every_provider_format() {
        let noon = 12 * 3600 * MICROS_PER_SECOND;
        // HubSpot / Airtable
        assert_eq!(ok(json!("2000-01-01T12:00:00.000Z"), Target::Timestamptz), Cell::Timestamp(noon));
        // BigCommerce
        assert_eq!(ok(json!("2000-01-01T12:00:00Z"), Target::Timestamptz), Cell::Timestamp(noon));
        // Shopify
        assert_eq!(ok(json!("2000-01-01T07:00:00-05:00"), Target::Timestamptz), Cell::Timestamp(noon));
        // Salesforce
        assert_eq!(ok(json!("2000-01-01T12:00:00.000+0000"), Target::Timestamptz), Cell::Timestamp(noon));
        assert_eq!(ok(json!("2000-01-01 13:00:00+01"), Target::Timestamptz), Cell::Timestamp(noon));
        // Stripe: epoch seconds; HubSpot: epoch millis as a string
        assert_eq!(ok(json!(946728000), Target::Timestamptz), Cell::Timestamp(noon));
        assert_eq!(ok(json!("946728000000"), Target::Timestamptz), Cell::Timestamp(noon));
        assert_eq!(ok(json!("2000-01-01T12:00:00.123456789Z"), Target::Timestamptz), Cell::Timestamp(noon + 123_456));
        assert_eq!(ok(json!("2000-01-01T12:00"), Target::Timestamptz), Cell::Timestamp(noon));
        for bad in
            ["2000-01-01T25:00:00Z", "2000-01-01T12:00:00+2", "2000-13-01", "yesterday", "2000-01-01T12:00:00Zjunk"]
        {
            err(json!(bad), Target::Timestamptz);
        }
    }

    #[test]
    fn timestamps_format_back() {
        assert_eq!(format_timestamp(0), "2000-01-01T00:00:00Z");
        assert_eq!(format_timestamp(-1), "1999-12-31T23:59:59.999999Z");
        let t = parse_date_or_timestamp("2024-02-29T23:59:58.5Z").unwrap();
        assert_eq!(format_timestamp(t), "2024-02-29T23:59:58.500000Z");
        assert_eq!(format_date(-1), "1999-12-31");
        assert_eq!(format_date(8825), "2024-02-29");
    }

    #[test]
    fn json_and_arrays() {
        assert_eq!(ok(json!({"a": 1}), Target::Jsonb), Cell::Json(json!({"a": 1})));
        assert_eq!(
            ok(json!(["a", 1, null]), Target::TextArray { separator: None }),
            Cell::TextArray(vec![Some("a".into()), Some("1".into()), None])
        );
        assert_eq!(
            ok(json!("red;blue"), Target::TextArray { separator: Some(";".into()) }),
            Cell::TextArray(vec![Some("red".into()), Some("blue".into())])
        );
        assert_eq!(ok(json!(""), Target::TextArray { separator: Some(";".into()) }), Cell::TextArray(vec![]));
        let e = err(json!("red;blue"), Target::TextArray { separator: None });
        assert!(e.reason.contains("separator"));
    }

    #[test]
    fn long_values_are_truncated_in_errors() {
        let long = "x".repeat(500);
        let e = err(json!(long), Target::Int4);
        assert!(e.value.len() < 120 && e.value.ends_with("..."));
    }
}
