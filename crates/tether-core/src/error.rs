//! `TetherError`: every failure Tether reports, with its SQLSTATE (the documented table in
//! docs/errors.md; keep the two in step), message, DETAIL and HINT. Plain Rust: the extension raises
//! it in Postgres at one place (`tether::error::report`).

/// The SQLSTATEs Tether raises (docs/errors.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// HV00D: an option name that does not exist.
    InvalidOptionName,
    /// HV024: an option value that is not accepted.
    InvalidOptionValue,
    /// HV00J: a required option is missing.
    OptionNotFound,
    /// 22023: the provider refused the request's values (400, 422), or an invalid connector.
    InvalidParameterValue,
    /// 23505: the provider reports a conflict or duplicate (409).
    UniqueViolation,
    /// 28000: the provider refused the credentials (401).
    InvalidAuthorization,
    /// 42501: the credentials lack a permission (403), or the role lacks one in Postgres.
    InsufficientPrivilege,
    /// P0002: the record does not exist (404).
    NoDataFound,
    /// 53400: the provider's rate limit is exhausted (429 after the allowed waits).
    RateLimited,
    /// 08001: the provider could not be reached (DNS, refused, connect timeout, TLS).
    UnableToConnect,
    /// 08006: the provider failed during the request (5xx, reset, read timeout).
    ConnectionFailure,
    /// 08007: a write failed in a way that leaves its outcome unknown (not retried without an
    /// idempotency key).
    OutcomeUnknown,
    /// HV000: the provider answered with something Tether cannot use (malformed JSON, a repeated cursor).
    BadResponse,
    /// 22P02: a provider value does not convert to the column's type.
    InvalidText,
    /// 22003: a provider value is out of range for the column's type.
    OutOfRange,
    /// 0A000: the SQL asks for something Tether does not do.
    FeatureNotSupported,
    /// 54000: a search matches more records than the provider's search endpoint can return.
    ProgramLimitExceeded,
    /// 42710: a connector of that name exists already.
    DuplicateObject,
    /// 42704: no connector of that name (or object of that name in IMPORT FOREIGN SCHEMA).
    UndefinedObject,
    /// 2BP01: a connector still used by servers.
    DependentObjectsStillExist,
    /// 42P01: a table Tether works on (a mirror, its source) is gone.
    UndefinedTable,
    /// 42703: a column Tether needs (a mirror's id column) is missing.
    UndefinedColumn,
    /// 42809: an object of the wrong kind (a push's target that is not a tether foreign table).
    WrongObjectType,
    /// 23502: a value that must be given is NULL (a push's source row without a key).
    NotNullViolation,
    /// XX000: a bug in Tether.
    Internal,
    /// Any other SQLSTATE: an error Postgres raised that Tether caught and passes on as it was.
    Other([u8; 5]),
}

impl SqlState {
    /// The five-character code, as Postgres and docs/errors.md write it.
    pub fn code(&self) -> &str {
        match self {
            SqlState::InvalidOptionName => "HV00D",
            SqlState::InvalidOptionValue => "HV024",
            SqlState::OptionNotFound => "HV00J",
            SqlState::InvalidParameterValue => "22023",
            SqlState::UniqueViolation => "23505",
            SqlState::InvalidAuthorization => "28000",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::NoDataFound => "P0002",
            SqlState::RateLimited => "53400",
            SqlState::UnableToConnect => "08001",
            SqlState::ConnectionFailure => "08006",
            SqlState::OutcomeUnknown => "08007",
            SqlState::BadResponse => "HV000",
            SqlState::InvalidText => "22P02",
            SqlState::OutOfRange => "22003",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::DuplicateObject => "42710",
            SqlState::UndefinedObject => "42704",
            SqlState::DependentObjectsStillExist => "2BP01",
            SqlState::UndefinedTable => "42P01",
            SqlState::UndefinedColumn => "42703",
            SqlState::WrongObjectType => "42809",
            SqlState::NotNullViolation => "23502",
            SqlState::Internal => "XX000",
            SqlState::Other(code) => std::str::from_utf8(code).unwrap_or("XX000"),
        }
    }

    /// The state for a provider's HTTP error status.
    pub fn for_status(status: u16) -> SqlState {
        match status {
            400 | 422 => SqlState::InvalidParameterValue,
            401 => SqlState::InvalidAuthorization,
            403 => SqlState::InsufficientPrivilege,
            404 | 410 => SqlState::NoDataFound,
            409 => SqlState::UniqueViolation,
            429 => SqlState::RateLimited,
            500..=599 => SqlState::ConnectionFailure,
            _ => SqlState::BadResponse,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TetherError {
    /// Bad options or arguments from the user.
    #[error("{message}")]
    Option { message: String, hint: Option<String>, state: SqlState },
    /// A connector document that does not validate.
    #[error("invalid connector at {path}: {message}")]
    Connector { path: String, message: String },
    /// The provider answered with an error status.
    #[error("[{connector}] {message}")]
    Provider { connector: String, status: u16, message: String, detail: String, hint: Option<String> },
    /// The request did not complete.
    #[error("[{connector}] {message}")]
    Transport { connector: String, message: String, detail: String, connect: bool },
    /// A 2xx answer Tether cannot use.
    #[error("[{connector}] {message}")]
    BadResponse { connector: String, message: String, detail: String },
    /// A write whose outcome is unknown (the provider may or may not have carried it out).
    #[error("[{connector}] {message}")]
    OutcomeUnknown { connector: String, message: String, detail: String, hint: String },
    /// A provider value that does not fit its column.
    #[error("[{connector}] {message}")]
    Conversion { connector: String, message: String, detail: String, hint: String, out_of_range: bool },
    /// The SQL asks for something Tether does not do.
    #[error("{message}")]
    Unsupported { message: String, hint: Option<String> },
    /// A search matches more records than the provider's search endpoint returns (HubSpot: 10,000): the
    /// rest could not be read, so nothing is returned (a mirror's refresh reads the full list instead).
    #[error("{message}")]
    TooManyResults { message: String, hint: String },
    /// A bug: never expected, always reported.
    #[error("internal error in tether: {0}")]
    Internal(String),
    /// An error with the SQLSTATE, DETAIL and HINT it was raised with: one Postgres raised while Tether
    /// ran SQL (kept whole when a background process records it or passes it on), or one of Tether's
    /// own about the database's objects (a mirror whose table is gone, a role that lost a privilege).
    #[error("{message}")]
    Sql { state: SqlState, message: String, detail: Option<String>, hint: Option<String> },
}

impl TetherError {
    /// A bad option value (or a bad combination of options).
    pub fn option(message: impl Into<String>, hint: Option<String>) -> TetherError {
        TetherError::Option { message: message.into(), hint, state: SqlState::InvalidOptionValue }
    }

    pub fn unknown_option(message: impl Into<String>, hint: Option<String>) -> TetherError {
        TetherError::Option { message: message.into(), hint, state: SqlState::InvalidOptionName }
    }

    pub fn missing_option(message: impl Into<String>, hint: Option<String>) -> TetherError {
        TetherError::Option { message: message.into(), hint, state: SqlState::OptionNotFound }
    }

    /// An error with a SQLSTATE of Tether's choosing about the database's objects.
    pub fn sql(state: SqlState, message: impl Into<String>, hint: Option<String>) -> TetherError {
        TetherError::Sql { state, message: message.into(), detail: None, hint }
    }

    /// The message, then the DETAIL in parentheses: one line, as background processes record an error.
    pub fn one_line(&self) -> String {
        match self.detail() {
            Some(d) => format!("{self} ({d})"),
            None => self.to_string(),
        }
    }

    pub fn sqlstate(&self) -> SqlState {
        match self {
            TetherError::Option { state, .. } => *state,
            TetherError::Connector { .. } => SqlState::InvalidParameterValue,
            TetherError::Provider { status, .. } => SqlState::for_status(*status),
            TetherError::Transport { connect: true, .. } => SqlState::UnableToConnect,
            TetherError::Transport { connect: false, .. } => SqlState::ConnectionFailure,
            TetherError::BadResponse { .. } => SqlState::BadResponse,
            TetherError::OutcomeUnknown { .. } => SqlState::OutcomeUnknown,
            TetherError::Conversion { out_of_range: true, .. } => SqlState::OutOfRange,
            TetherError::Conversion { .. } => SqlState::InvalidText,
            TetherError::Unsupported { .. } => SqlState::FeatureNotSupported,
            TetherError::TooManyResults { .. } => SqlState::ProgramLimitExceeded,
            TetherError::Internal(_) => SqlState::Internal,
            TetherError::Sql { state, .. } => *state,
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            TetherError::Provider { detail, .. }
            | TetherError::Transport { detail, .. }
            | TetherError::BadResponse { detail, .. }
            | TetherError::OutcomeUnknown { detail, .. }
            | TetherError::Conversion { detail, .. } => Some(detail.as_str()).filter(|d| !d.is_empty()),
            TetherError::Sql { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            TetherError::Option { hint, .. }
            | TetherError::Provider { hint, .. }
            | TetherError::Unsupported { hint, .. }
            | TetherError::Sql { hint, .. } => hint.as_deref(),
            TetherError::Conversion { hint, .. }
            | TetherError::OutcomeUnknown { hint, .. }
            | TetherError::TooManyResults { hint, .. } => Some(hint.as_str()),
            TetherError::Connector { .. } => Some("see docs/connectors.md for the connector format"),
            TetherError::Transport { connect: true, .. } => {
                Some("check the server's base_url and that the provider is reachable from the database host")
            }
            TetherError::Transport { connect: false, .. } => {
                Some("the provider may be slow or down; the read_timeout server option sets how long to wait")
            }
            TetherError::Internal(_) => {
                Some("this is a bug in tether; please report it with the statement that failed")
            }
            TetherError::BadResponse { .. } => None,
        }
    }

    /// Append a sentence to the DETAIL (kept as the only detail when there was none).
    pub fn with_detail_note(self, note: &str) -> TetherError {
        let join = |d: String| if d.is_empty() { note.to_string() } else { format!("{d}. {note}") };
        match self {
            TetherError::Provider { connector, status, message, detail, hint } => {
                TetherError::Provider { connector, status, message, detail: join(detail), hint }
            }
            TetherError::Transport { connector, message, detail, connect } => {
                TetherError::Transport { connector, message, detail: join(detail), connect }
            }
            TetherError::BadResponse { connector, message, detail } => {
                TetherError::BadResponse { connector, message, detail: join(detail) }
            }
            TetherError::OutcomeUnknown { connector, message, detail, hint } => {
                TetherError::OutcomeUnknown { connector, message, detail: join(detail), hint }
            }
            other => other,
        }
    }

    /// Prefix the message with where the error happened (e.g. the option's owner).
    pub fn context(self, prefix: &str) -> TetherError {
        match self {
            TetherError::Option { message, hint, state } => {
                TetherError::Option { message: format!("{prefix}: {message}"), hint, state }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_statuses_map_to_documented_states() {
        let cases = [
            (400, "22023"),
            (422, "22023"),
            (401, "28000"),
            (403, "42501"),
            (404, "P0002"),
            (409, "23505"),
            (429, "53400"),
            (500, "08006"),
            (503, "08006"),
            (418, "HV000"),
        ];
        for (status, code) in cases {
            assert_eq!(SqlState::for_status(status).code(), code, "status {status}");
        }
    }

    #[test]
    fn provider_error_message_carries_connector_and_message() {
        let e = TetherError::Provider {
            connector: "hubspot".into(),
            status: 400,
            message: "Property values were not valid".into(),
            detail: "HTTP 400 from POST /crm/v3/objects/contacts".into(),
            hint: None,
        };
        assert_eq!(e.to_string(), "[hubspot] Property values were not valid");
        assert_eq!(e.sqlstate(), SqlState::InvalidParameterValue);
        assert!(e.detail().unwrap().contains("HTTP 400"));
    }

    #[test]
    fn transport_errors_say_how_to_fix() {
        let e = TetherError::Transport {
            connector: "rest".into(),
            message: "m".into(),
            detail: String::new(),
            connect: true,
        };
        assert_eq!(e.sqlstate().code(), "08001");
        assert!(e.detail().is_none());
        assert!(e.hint().unwrap().contains("base_url"));
    }

    #[test]
    fn errors_caught_from_postgres_keep_their_state() {
        let e = TetherError::Sql {
            state: SqlState::Other(*b"40P01"),
            message: "deadlock detected".into(),
            detail: Some("Process 1 waits for ShareLock".into()),
            hint: Some("See server log for query details.".into()),
        };
        assert_eq!(e.sqlstate().code(), "40P01");
        assert_eq!(e.to_string(), "deadlock detected");
        assert_eq!(e.one_line(), "deadlock detected (Process 1 waits for ShareLock)");
        assert_eq!(e.hint(), Some("See server log for query details."));
        assert_eq!(SqlState::UndefinedTable.code(), "42P01");
        assert_eq!(SqlState::Other(*b"\xff\xff\xff\xff\xff").code(), "XX000", "not a code: reported as internal");
    }
}
