//! The one mapping of a `TetherError` to `ereport`: its SQLSTATE, message, DETAIL and HINT, scrubbed of
//! every credential this process has used. Every failure Tether reports to Postgres goes through
//! `report`. The errors themselves are plain Rust, in `tether_core::error`.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

pub use tether_core::error::{SqlState, TetherError};

/// The Postgres error code of a SQLSTATE Tether raises.
fn pg_code(state: SqlState) -> PgSqlErrorCode {
    use PgSqlErrorCode::*;
    match state {
        SqlState::InvalidOptionName => ERRCODE_FDW_INVALID_OPTION_NAME,
        SqlState::InvalidOptionValue => ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
        SqlState::OptionNotFound => ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
        SqlState::InvalidParameterValue => ERRCODE_INVALID_PARAMETER_VALUE,
        SqlState::UniqueViolation => ERRCODE_UNIQUE_VIOLATION,
        SqlState::InvalidAuthorization => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState::InsufficientPrivilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
        SqlState::NoDataFound => ERRCODE_NO_DATA_FOUND,
        SqlState::RateLimited => ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
        SqlState::UnableToConnect => ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        SqlState::ConnectionFailure => ERRCODE_CONNECTION_FAILURE,
        SqlState::OutcomeUnknown => ERRCODE_TRANSACTION_RESOLUTION_UNKNOWN,
        SqlState::BadResponse => ERRCODE_FDW_ERROR,
        SqlState::InvalidText => ERRCODE_INVALID_TEXT_REPRESENTATION,
        SqlState::OutOfRange => ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        SqlState::FeatureNotSupported => ERRCODE_FEATURE_NOT_SUPPORTED,
        SqlState::ProgramLimitExceeded => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        SqlState::DuplicateObject => ERRCODE_DUPLICATE_OBJECT,
        SqlState::UndefinedObject => ERRCODE_UNDEFINED_OBJECT,
        SqlState::DependentObjectsStillExist => ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
        SqlState::UndefinedTable => ERRCODE_UNDEFINED_TABLE,
        SqlState::UndefinedColumn => ERRCODE_UNDEFINED_COLUMN,
        SqlState::WrongObjectType => ERRCODE_WRONG_OBJECT_TYPE,
        SqlState::NotNullViolation => ERRCODE_NOT_NULL_VIOLATION,
        SqlState::Internal => ERRCODE_INTERNAL_ERROR,
        SqlState::Other(code) => PgSqlErrorCode::from(make_sqlstate(&code)),
    }
}

/// Postgres's MAKE_SQLSTATE: five characters packed six bits each.
fn make_sqlstate(code: &[u8; 5]) -> i32 {
    code.iter().enumerate().fold(0, |acc, (i, c)| acc | ((((*c as i32) - b'0' as i32) & 0x3F) << (6 * i)))
}

/// The five characters of a packed SQLSTATE (Postgres's unpack_sql_state).
fn unpack_sqlstate(code: i32) -> [u8; 5] {
    std::array::from_fn(|i| (((code >> (6 * i)) & 0x3F) as u8).wrapping_add(b'0'))
}

/// An error Postgres raised (caught by a PgTryBuilder), as a TetherError that keeps its SQLSTATE,
/// message, DETAIL and HINT, scrubbed of credentials: what a background process records, and what it
/// raises again unchanged (as postgres_fdw's pgfdw_report_error passes on a remote error).
pub fn caught(e: pgrx::pg_sys::panic::CaughtError) -> TetherError {
    use crate::http::redact::scrub;
    use pgrx::pg_sys::panic::CaughtError;
    match e {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => TetherError::Sql {
            state: SqlState::Other(unpack_sqlstate(r.sql_error_code() as i32)),
            message: scrub(r.message()),
            detail: r.detail().map(scrub),
            hint: r.hint().map(scrub),
        },
        CaughtError::RustPanic { ereport, .. } => TetherError::Internal(scrub(ereport.message())),
    }
}

/// Raise the error in Postgres. Never returns. The last line of defence for secrets: every credential
/// this process has used is scrubbed from the message, DETAIL and HINT (`http::redact`), so that
/// none reaches the client, the server log or a table that records errors.
pub fn report(err: TetherError) -> ! {
    use crate::http::redact::scrub;
    let mut report = ErrorReport::new(pg_code(err.sqlstate()), scrub(&err.to_string()), "tether");
    if let Some(detail) = err.detail() {
        report = report.set_detail(scrub(detail));
    }
    if let Some(hint) = err.hint() {
        report = report.set_hint(scrub(hint));
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// `result.or_report()`: the value, or the error raised in Postgres.
pub trait OrReport<T> {
    fn or_report(self) -> T;
}

impl<T> OrReport<T> for Result<T, TetherError> {
    fn or_report(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => report(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_pack_as_postgres_packs_them() {
        for state in [SqlState::InsufficientPrivilege, SqlState::UndefinedTable, SqlState::OutcomeUnknown] {
            let code: [u8; 5] = state.code().as_bytes().try_into().unwrap();
            assert_eq!(PgSqlErrorCode::from(make_sqlstate(&code)), pg_code(state), "{}", state.code());
            assert_eq!(&unpack_sqlstate(make_sqlstate(&code)), &code);
        }
        assert_eq!(pg_code(SqlState::Other(*b"40P01")), PgSqlErrorCode::ERRCODE_T_R_DEADLOCK_DETECTED);
    }
}
