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
        SqlState::DuplicateObject => ERRCODE_DUPLICATE_OBJECT,
        SqlState::UndefinedObject => ERRCODE_UNDEFINED_OBJECT,
        SqlState::DependentObjectsStillExist => ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
        SqlState::Internal => ERRCODE_INTERNAL_ERROR,
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
