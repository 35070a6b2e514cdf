//! What can go wrong talking to the database, and how it maps onto the ports' errors.

use application::ports::RepositoryError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A failure of one unit of work against the pool.
#[derive(Debug)]
pub(crate) enum DbError {
    /// No connection could be had within the pool's timeout.
    Checkout(r2d2::Error),
    Query(DieselError),
}

impl From<DbError> for RepositoryError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Checkout(error) => RepositoryError::Unavailable(Box::new(error)),
            DbError::Query(error) if is_connection_failure(&error) => {
                RepositoryError::Unavailable(Box::new(error))
            }
            DbError::Query(error) => RepositoryError::Unexpected(Box::new(error)),
        }
    }
}

/// Messages of errors that mean "the connection or the server is gone", whatever error kind the
/// driver attached to them (libpq reports a server shutdown as an ordinary error result).
const CONNECTION_FAILURE_MESSAGES: &[&str] = &[
    "could not connect",
    "connection to server",
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "the database system is shutting down",
    "the database system is starting up",
    "connection refused",
    // SQLite: another writer held the lock for longer than busy_timeout. Worth retrying later.
    "database is locked",
];

/// Whether the error says the database could not be reached, rather than that the query was wrong.
pub(crate) fn is_connection_failure(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message().to_lowercase();
            CONNECTION_FAILURE_MESSAGES
                .iter()
                .any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// Which unique constraint a violation broke, if `error` is one.
pub(crate) fn violated_unique_constraint(error: &DieselError) -> Option<String> {
    match error {
        // PostgreSQL names the constraint; SQLite only says it in the message
        // ("UNIQUE constraint failed: users.username", "… index 'users_email_lower_key'").
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Some(
            info.constraint_name()
                .map_or_else(|| info.message().to_owned(), str::to_owned),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn lost_connections_are_connection_failures_whatever_their_kind() {
        for message in [
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
            "could not connect to server: Connection refused",
            "database is locked",
        ] {
            assert!(
                is_connection_failure(&database_error(DatabaseErrorKind::Unknown, message)),
                "{message}"
            );
        }
        assert!(is_connection_failure(&database_error(
            DatabaseErrorKind::ClosedConnection,
            "anything"
        )));
    }

    #[test]
    fn query_errors_are_not_connection_failures() {
        assert!(!is_connection_failure(&database_error(
            DatabaseErrorKind::Unknown,
            "syntax error at or near \"SELEC\""
        )));
        assert!(!is_connection_failure(&DieselError::NotFound));
    }

    #[test]
    fn a_connection_failure_is_unavailable_and_anything_else_unexpected() {
        let lost = DbError::Query(database_error(DatabaseErrorKind::ClosedConnection, "gone"));
        assert!(matches!(
            RepositoryError::from(lost),
            RepositoryError::Unavailable(_)
        ));
        let odd = DbError::Query(database_error(
            DatabaseErrorKind::CheckViolation,
            "check failed",
        ));
        assert!(matches!(
            RepositoryError::from(odd),
            RepositoryError::Unexpected(_)
        ));
    }

    #[test]
    fn the_sqlite_message_names_the_violated_column_or_index() {
        let error = database_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: users.username",
        );
        assert_eq!(
            violated_unique_constraint(&error).as_deref(),
            Some("UNIQUE constraint failed: users.username")
        );
        assert_eq!(violated_unique_constraint(&DieselError::NotFound), None);
    }
}
