//! Cells to datums and datums to request values: the Postgres end of the record mapper. Column types pick
//! a `Target`; types without a direct conversion go through their input function, whose errors are
//! re-raised naming the column, the object and the value.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::connector::mapping::{self, Cell, ConversionError, Target};
use crate::error::{report, TetherError};
use crate::fdw::options::Attr;

/// How one output column becomes a datum.
pub struct ColumnOut {
    pub target: Target,
    pub type_oid: pg_sys::Oid,
    pub typmod: i32,
    /// Input function, for `Target::Input` and numeric.
    input: Option<(pg_sys::FmgrInfo, pg_sys::Oid)>,
    /// Element type, for arrays.
    elem_type: pg_sys::Oid,
}

/// The conversion target for a column of type `type_oid`.
pub fn target_for(attr: &Attr, separator: Option<String>) -> Target {
    let t = attr.type_oid;
    if t == pg_sys::TEXTOID || (t == pg_sys::VARCHAROID && attr.typmod < 0) {
        Target::Text
    } else if t == pg_sys::INT2OID {
        Target::Int2
    } else if t == pg_sys::INT4OID {
        Target::Int4
    } else if t == pg_sys::INT8OID {
        Target::Int8
    } else if t == pg_sys::NUMERICOID {
        Target::Numeric
    } else if t == pg_sys::FLOAT4OID {
        Target::Float4
    } else if t == pg_sys::FLOAT8OID {
        Target::Float8
    } else if t == pg_sys::BOOLOID {
        Target::Bool
    } else if t == pg_sys::DATEOID {
        Target::Date
    } else if t == pg_sys::TIMESTAMPTZOID {
        Target::Timestamptz
    } else if t == pg_sys::JSONOID {
        Target::Json
    } else if t == pg_sys::JSONBOID {
        Target::Jsonb
    } else if t == pg_sys::TEXTARRAYOID || t == pg_sys::VARCHARARRAYOID {
        Target::TextArray { separator }
    } else {
        Target::Input { type_name: type_name(t, attr.typmod) }
    }
}

pub fn type_name(type_oid: pg_sys::Oid, typmod: i32) -> String {
    // SAFETY: backend thread, in a transaction (a syscache lookup). format_type_with_typemod never returns
    // NULL (an unknown type raises an ERROR); its palloc'd NUL-terminated result is copied into a String.
    unsafe {
        let p = pg_sys::format_type_with_typemod(type_oid, typmod);
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl ColumnOut {
    pub fn new(attr: &Attr, target: Target) -> ColumnOut {
        let mut input = None;
        let mut elem_type = pg_sys::InvalidOid;
        // SAFETY: backend thread, in a transaction: called from BeginForeignScan and BeginForeignModify /
        // BeginForeignInsert. getTypeInputInfo and fmgr_info raise an ERROR rather than leave their
        // out-parameters unset; a zeroed FmgrInfo is a valid value for fmgr_info to fill in, and holds no
        // pointer to itself, so it may be moved into `self`. fmgr_info records the current memory context
        // (fn_mcxt), where the input function may cache data (fn_extra): in those callbacks it is the
        // executor's es_query_cxt or a context that outlives it, and this ColumnOut lives in the scan or
        // modify state, which is dropped when es_query_cxt is deleted.
        unsafe {
            if matches!(target, Target::Input { .. } | Target::Numeric) {
                let mut func = pg_sys::InvalidOid;
                let mut ioparam = pg_sys::InvalidOid;
                pg_sys::getTypeInputInfo(attr.type_oid, &mut func, &mut ioparam);
                let mut finfo: pg_sys::FmgrInfo = std::mem::zeroed();
                pg_sys::fmgr_info(func, &mut finfo);
                input = Some((finfo, ioparam));
            }
            if matches!(target, Target::TextArray { .. }) {
                elem_type = pg_sys::get_element_type(attr.type_oid);
            }
        }
        ColumnOut { target, type_oid: attr.type_oid, typmod: attr.typmod, input, elem_type }
    }

    /// The datum for a cell, allocated in the current memory context. `on_error` builds the error for
    /// a value the type's input function refuses.
    pub fn datum(&mut self, cell: Cell, on_error: &dyn Fn(ConversionError) -> TetherError) -> Option<pg_sys::Datum> {
        // SAFETY: backend thread. cstring_to_text_with_len copies exactly `len` bytes from `s` (no NUL
        // needed) into a new text palloc'd in the current memory context (the caller's per-row context).
        // `s.len()` fits in an i32: cells come from an answer capped at http::MAX_RESPONSE_BYTES (256 MiB).
        let text_datum = |s: &str| unsafe {
            pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(s.as_ptr() as *const std::ffi::c_char, s.len() as i32))
        };
        match cell {
            Cell::Null => None,
            Cell::Text(s) => Some(text_datum(&s)),
            Cell::Int(i) => Some(match self.target {
                Target::Int2 => pg_sys::Datum::from(i as i16),
                Target::Int4 => pg_sys::Datum::from(i as i32),
                _ => pg_sys::Datum::from(i),
            }),
            Cell::Float(f) => match self.target {
                Target::Float4 => (f as f32).into_datum(),
                _ => f.into_datum(),
            },
            Cell::Bool(b) => Some(pg_sys::Datum::from(b)),
            Cell::Date(d) => Some(pg_sys::Datum::from(d)),
            Cell::Timestamp(t) => Some(pg_sys::Datum::from(t)),
            Cell::Json(v) => match self.target {
                Target::Jsonb => JsonB(v).into_datum(),
                _ => Some(text_datum(&v.to_string())),
            },
            Cell::TextArray(items) => Some(self.text_array(&items)),
            Cell::Numeric(s) | Cell::Input(s) => Some(self.input(&s, on_error)),
        }
    }

    fn text_array(&self, items: &[Option<String>]) -> pg_sys::Datum {
        // SAFETY: backend thread. Each element is a text copied from its String (as in `datum`); `elems`
        // and `nulls` both have items.len() entries, which dims (ndims 1, lower bound 1) describes.
        // Only Target::TextArray columns get Cell::TextArray, and for them `new` set elem_type to the
        // element type of text[] or varchar[], whose storage is what is passed (varlena, by reference,
        // int alignment). construct_md_array copies everything into a new array palloc'd in the current
        // memory context, so the Vecs may be dropped after it.
        unsafe {
            let mut elems: Vec<pg_sys::Datum> = Vec::with_capacity(items.len());
            let mut nulls: Vec<bool> = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Some(s) => {
                        elems.push(pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(
                            s.as_ptr() as *const std::ffi::c_char,
                            s.len() as i32,
                        )));
                        nulls.push(false);
                    }
                    None => {
                        elems.push(pg_sys::Datum::from(0usize));
                        nulls.push(true);
                    }
                }
            }
            let mut dims = [items.len() as i32];
            let mut lbs = [1i32];
            let array = pg_sys::construct_md_array(
                elems.as_mut_ptr(),
                nulls.as_mut_ptr(),
                1,
                dims.as_mut_ptr(),
                lbs.as_mut_ptr(),
                self.elem_type,
                -1,
                false,
                pg_sys::TYPALIGN_INT as std::ffi::c_char,
            );
            pg_sys::Datum::from(array)
        }
    }

    fn input(&mut self, text: &str, on_error: &dyn Fn(ConversionError) -> TetherError) -> pg_sys::Datum {
        let Some((finfo, ioparam)) = self.input.as_mut() else {
            report(TetherError::Internal("input function missing".into()))
        };
        let Ok(cstr) = CString::new(text) else {
            report(on_error(ConversionError {
                value: format!("{text:?}"),
                target: self.target.name().to_string(),
                reason: "the value contains a NUL character".into(),
                out_of_range: false,
            }))
        };
        let finfo_ptr: *mut pg_sys::FmgrInfo = finfo;
        let ioparam = *ioparam;
        let typmod = self.typmod;
        let target = self.target.name().to_string();
        // SAFETY: backend thread, in a transaction. `finfo_ptr` points to the FmgrInfo `new` filled in,
        // inside self.input, which nothing else touches during the call; `cstr` is a NUL-terminated copy
        // that outlives the call (input functions only read their argument: the *mut is the signature's);
        // ioparam and typmod are those getTypeInputInfo and the column gave. An ERROR is caught by
        // PgTryBuilder and always raised again below, so the transaction never goes on past it.
        let caught = PgTryBuilder::new(|| unsafe {
            Ok(pg_sys::InputFunctionCall(finfo_ptr, cstr.as_ptr() as *mut std::ffi::c_char, ioparam, typmod))
        })
        .catch_others(|e| Err(Box::new(e)))
        .execute();
        match caught.map_err(|e| *e) {
            Ok(datum) => datum,
            Err(CaughtError::PostgresError(e)) | Err(CaughtError::ErrorReport(e)) => {
                let out_of_range = e.sql_error_code() == PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE
                    || e.sql_error_code() == PgSqlErrorCode::ERRCODE_STRING_DATA_RIGHT_TRUNCATION
                    || e.sql_error_code() == PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW;
                report(on_error(ConversionError {
                    value: truncate_quoted(text),
                    target,
                    reason: e.message().to_string(),
                    out_of_range,
                }))
            }
            Err(other) => other.rethrow(),
        }
    }
}

fn truncate_quoted(text: &str) -> String {
    let mut end = text.len().min(100);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let tail = if end < text.len() { "..." } else { "" };
    format!("\"{}{tail}\"", &text[..end])
}

/// A value from SQL as the provider expects it in a query string: booleans as true/false,
/// timestamps as RFC 3339 UTC, dates as ISO; other types through their output function.
///
/// # Safety
/// `datum` must be a valid, non-null datum of type `type_oid`.
pub unsafe fn param_text(datum: pg_sys::Datum, type_oid: pg_sys::Oid) -> String {
    if type_oid == pg_sys::BOOLOID {
        return if datum.value() != 0 { "true".into() } else { "false".into() };
    }
    if type_oid == pg_sys::TIMESTAMPTZOID || type_oid == pg_sys::TIMESTAMPOID {
        return mapping::format_timestamp(datum.value() as i64);
    }
    if type_oid == pg_sys::DATEOID {
        return mapping::format_date(datum.value() as i32);
    }
    let mut func = pg_sys::InvalidOid;
    let mut varlena = false;
    pg_sys::getTypeOutputInfo(type_oid, &mut func, &mut varlena);
    let p = pg_sys::OidOutputFunctionCall(func, datum);
    let s = CStr::from_ptr(p).to_string_lossy().into_owned();
    pg_sys::pfree(p as *mut std::ffi::c_void);
    s
}

/// What kind of value a parameter of this type is, for quoting in query languages.
pub fn value_kind(type_oid: pg_sys::Oid) -> crate::connector::request::ValueKind {
    use crate::connector::request::ValueKind;
    match type_oid {
        pg_sys::BOOLOID => ValueKind::Bool,
        pg_sys::INT2OID
        | pg_sys::INT4OID
        | pg_sys::INT8OID
        | pg_sys::FLOAT4OID
        | pg_sys::FLOAT8OID
        | pg_sys::NUMERICOID => ValueKind::Number,
        pg_sys::DATEOID => ValueKind::Date,
        pg_sys::TIMESTAMPOID | pg_sys::TIMESTAMPTZOID => ValueKind::Timestamp,
        _ => ValueKind::Text,
    }
}

/// The elements of an array datum, as request values (NULL elements skipped: `x = NULL` never matches).
///
/// # Safety
/// `datum` must be a valid, non-null array datum whose element type is `elem_type`.
pub unsafe fn array_param_texts(datum: pg_sys::Datum, elem_type: pg_sys::Oid) -> Vec<String> {
    array_elements(datum, elem_type).into_iter().flatten().collect()
}

/// A column value as JSON for a request body. `separator` joins a text[] value into one string (the
/// inverse of reading it with the column option separator).
///
/// # Safety
/// `datum` must be a valid datum of type `type_oid` unless `isnull`.
pub unsafe fn json_value(
    datum: pg_sys::Datum,
    isnull: bool,
    type_oid: pg_sys::Oid,
    separator: Option<&str>,
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if isnull {
        return Ok(Value::Null);
    }
    let t = type_oid;
    Ok(if t == pg_sys::BOOLOID {
        Value::Bool(datum.value() != 0)
    } else if t == pg_sys::INT2OID {
        Value::from(datum.value() as i16)
    } else if t == pg_sys::INT4OID {
        Value::from(datum.value() as i32)
    } else if t == pg_sys::INT8OID {
        Value::from(datum.value() as i64)
    } else if t == pg_sys::FLOAT4OID || t == pg_sys::FLOAT8OID {
        let f = if t == pg_sys::FLOAT4OID {
            f32::from_datum(datum, false).unwrap_or(f32::NAN) as f64
        } else {
            f64::from_datum(datum, false).unwrap_or(f64::NAN)
        };
        serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{f} cannot be sent as JSON"))?
    } else if t == pg_sys::NUMERICOID {
        let text = param_text(datum, t);
        numeric_json(&text)
    } else if t == pg_sys::DATEOID {
        Value::String(mapping::format_date(datum.value() as i32))
    } else if t == pg_sys::TIMESTAMPTZOID || t == pg_sys::TIMESTAMPOID {
        Value::String(mapping::format_timestamp(datum.value() as i64))
    } else if t == pg_sys::JSONOID || t == pg_sys::JSONBOID {
        let text = param_text(datum, t);
        serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?
    } else if t == pg_sys::TEXTARRAYOID || t == pg_sys::VARCHARARRAYOID {
        let elem = pg_sys::get_element_type(t);
        let items = array_elements(datum, elem);
        match separator {
            Some(sep) => Value::String(items.into_iter().flatten().collect::<Vec<_>>().join(sep)),
            None => Value::Array(items.into_iter().map(|i| i.map(Value::String).unwrap_or(Value::Null)).collect()),
        }
    } else {
        Value::String(param_text(datum, t))
    })
}

/// A numeric as a JSON number when a JSON number holds it exactly (integers below 2^53, decimals that
/// read back the same), else as a decimal string, so no digit is lost on the way to the provider.
fn numeric_json(text: &str) -> serde_json::Value {
    use serde_json::Value;
    if let Ok(i) = text.parse::<i64>() {
        if i.unsigned_abs() < (1 << 53) {
            return Value::from(i);
        }
    }
    // Numeric output is plain decimal: compare without trailing fractional zeros.
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) if trim(&n.to_string()) == trim(text) => Value::Number(n),
        _ => Value::String(text.to_string()),
    }
}

/// Elements of a text-like array (None for NULL elements).
///
/// # Safety
/// `datum` must be a valid, non-null array of `elem_type`.
unsafe fn array_elements(datum: pg_sys::Datum, elem_type: pg_sys::Oid) -> Vec<Option<String>> {
    let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let mut typlen: i16 = 0;
    let mut byval = false;
    let mut align: std::ffi::c_char = 0;
    pg_sys::get_typlenbyvalalign(elem_type, &mut typlen, &mut byval, &mut align);
    let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
    let mut nulls: *mut bool = std::ptr::null_mut();
    let mut n: i32 = 0;
    pg_sys::deconstruct_array(array, elem_type, typlen as i32, byval, align, &mut elems, &mut nulls, &mut n);
    (0..n as usize).map(|i| if *nulls.add(i) { None } else { Some(param_text(*elems.add(i), elem_type)) }).collect()
}

#[cfg(test)]
mod tests {
    use super::numeric_json;
    use serde_json::json;

    #[test]
    fn numerics_keep_every_digit() {
        assert_eq!(numeric_json("42"), json!(42));
        assert_eq!(numeric_json("12.50"), json!(12.5));
        assert_eq!(numeric_json("0.1"), json!(0.1));
        assert_eq!(numeric_json("-3.000"), json!(-3.0));
        assert_eq!(numeric_json("123456789.123456789"), json!("123456789.123456789"));
        assert_eq!(numeric_json("90071992547409930"), json!("90071992547409930"));
        assert_eq!(numeric_json("NaN"), json!("NaN"));
    }
}
