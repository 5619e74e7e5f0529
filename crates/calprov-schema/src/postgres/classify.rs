//! What went wrong with a PostgreSQL call, in the kinds an operator acts on: the same
//! questions SQLite's failures answer (is the registry reachable, locked, full?).

use std::error::Error as _;

use postgres::error::SqlState;

/// The kind of a PostgreSQL failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgFailure {
    /// The server cannot be reached: refused, no route, name unknown, connect timeout,
    /// shutting down or starting up.
    Unreachable,
    /// The server refused the credentials (or none were given where one was needed), or
    /// its certificate was not trusted.
    AuthRefused,
    /// The connection broke during a call: the server stopped, the network dropped.
    ConnectionLost,
    /// A statement or lock wait ran past the configured timeout.
    Timeout,
    /// A serialization failure or deadlock: the transaction may succeed if retried.
    Serialization,
    /// The server's disk is full.
    DiskFull,
    /// The database does not exist or the user may not use it.
    NoDatabase,
    /// Anything else (a bad statement, a constraint): a defect or a damaged registry.
    Other,
}

impl PgFailure {
    /// A short stable name, for logs and recorded events.
    pub fn name(self) -> &'static str {
        match self {
            PgFailure::Unreachable => "server_unreachable",
            PgFailure::AuthRefused => "auth_refused",
            PgFailure::ConnectionLost => "connection_lost",
            PgFailure::Timeout => "timeout",
            PgFailure::Serialization => "serialization_failure",
            PgFailure::DiskFull => "disk_full",
            PgFailure::NoDatabase => "no_database",
            PgFailure::Other => "other",
        }
    }

    /// Whether the same transaction may succeed if run again at once.
    pub fn is_retryable(self) -> bool {
        self == PgFailure::Serialization
    }
}

/// Classifies `error`; `connecting` says whether it came from opening the connection (where
/// an I/O error means the server was never reached, rather than lost).
pub fn classify(error: &postgres::Error, connecting: bool) -> PgFailure {
    if let Some(code) = error.code() {
        return classify_code(code);
    }
    if error.is_closed() {
        return PgFailure::ConnectionLost;
    }
    let text = error.to_string();
    let cause = error.source().map(ToString::to_string).unwrap_or_default();
    if text.starts_with("authentication error")
        || cause.contains("password missing")
        || cause.contains("authentication")
    {
        return PgFailure::AuthRefused;
    }
    // A certificate the root certificate does not vouch for (or that names another host):
    // the server failed to authenticate itself.
    // (tokio-rustls hands rustls's error over inside an I/O error, whose `source` skips it.)
    let mut cause = error.source();
    while let Some(e) = cause {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if e.is::<rustls::Error>() || inner.is_some_and(|i| i.is::<rustls::Error>()) {
            return PgFailure::AuthRefused;
        }
        cause = e.source();
    }
    if text.starts_with("timeout waiting for server") {
        return if connecting {
            PgFailure::Unreachable
        } else {
            PgFailure::Timeout
        };
    }
    if text.starts_with("error connecting to server") || connecting {
        return PgFailure::Unreachable;
    }
    if text.starts_with("error communicating with the server") {
        let timed_out = error
            .source()
            .and_then(|e| e.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        return if timed_out {
            PgFailure::Timeout
        } else {
            PgFailure::ConnectionLost
        };
    }
    PgFailure::Other
}

fn classify_code(code: &SqlState) -> PgFailure {
    let failures: [(&SqlState, PgFailure); 14] = [
        (&SqlState::INVALID_PASSWORD, PgFailure::AuthRefused),
        (
            &SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            PgFailure::AuthRefused,
        ),
        (&SqlState::INVALID_CATALOG_NAME, PgFailure::NoDatabase),
        (&SqlState::INSUFFICIENT_PRIVILEGE, PgFailure::NoDatabase),
        (&SqlState::QUERY_CANCELED, PgFailure::Timeout),
        (&SqlState::LOCK_NOT_AVAILABLE, PgFailure::Timeout),
        (
            &SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
            PgFailure::Timeout,
        ),
        (
            &SqlState::T_R_SERIALIZATION_FAILURE,
            PgFailure::Serialization,
        ),
        (&SqlState::T_R_DEADLOCK_DETECTED, PgFailure::Serialization),
        (&SqlState::DISK_FULL, PgFailure::DiskFull),
        (&SqlState::ADMIN_SHUTDOWN, PgFailure::ConnectionLost),
        (&SqlState::CRASH_SHUTDOWN, PgFailure::ConnectionLost),
        (&SqlState::CANNOT_CONNECT_NOW, PgFailure::Unreachable),
        (&SqlState::TOO_MANY_CONNECTIONS, PgFailure::Unreachable),
    ];
    failures
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, failure)| *failure)
        .unwrap_or(PgFailure::Other)
}
