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
    unsafe {
        let p = pg_sys::format_type_with_typemod(type_oid, typmod);
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl ColumnOut {
    pub fn new(attr: &Attr, target: Target) -> ColumnOut {
        let mut input = None;
        let mut elem_type = pg_sys::InvalidOid;
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

/// The elements of an array datum, as request values (NULL elements skipped: `x = NULL` never matches).
///
/// # Safety
/// `datum` must be a valid, non-null array datum whose element type is `elem_type`.
pub unsafe fn array_param_texts(datum: pg_sys::Datum, elem_type: pg_sys::Oid) -> Vec<String> {
    let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let mut typlen: i16 = 0;
    let mut byval = false;
    let mut align: std::ffi::c_char = 0;
    pg_sys::get_typlenbyvalalign(elem_type, &mut typlen, &mut byval, &mut align);
    let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
    let mut nulls: *mut bool = std::ptr::null_mut();
    let mut n: i32 = 0;
    pg_sys::deconstruct_array(array, elem_type, typlen as i32, byval, align, &mut elems, &mut nulls, &mut n);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        if !*nulls.add(i) {
            out.push(param_text(*elems.add(i), elem_type));
        }
    }
    out
}
