//! The forms of `DATABASE_URL` this crate accepts.

use std::path::PathBuf;

/// The forms listed in every "invalid URL" message.
pub(crate) const ACCEPTED_FORMS: &str = "postgres://user:password@host:port/database, \
     postgresql://…, sqlite://relative/path.sqlite3, sqlite:///absolute/path.sqlite3, \
     a plain file path such as data/db.sqlite3, or sqlite::memory:";

/// Where a `DATABASE_URL` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// Passed to libpq unchanged, so every libpq parameter (`sslmode`, `connect_timeout`…) works.
    Postgres(String),
    /// Relative paths are relative to the working directory.
    SqliteFile(PathBuf),
    /// A private in-memory database, lost when the process ends.
    SqliteMemory,
}

/// Why a URL was refused. The message never repeats the URL, which may hold a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlProblem(pub(crate) String);

impl DatabaseUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, UrlProblem> {
        if url.trim().is_empty() {
            return Err(UrlProblem("the database URL is empty".to_owned()));
        }
        if url == "sqlite::memory:" || url == ":memory:" {
            return Ok(Self::SqliteMemory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite://") {
            return match rest {
                "" => Err(UrlProblem("the sqlite:// URL names no file".to_owned())),
                ":memory:" => Ok(Self::SqliteMemory),
                path => Ok(Self::SqliteFile(PathBuf::from(path))),
            };
        }
        if let Some(scheme) = scheme_of(url) {
            return Err(UrlProblem(format!(
                "unsupported database URL scheme `{scheme}:`"
            )));
        }
        Ok(Self::SqliteFile(PathBuf::from(url)))
    }
}

/// The scheme of `url` if it starts with one (`name:` of two or more characters, so that a
/// Windows drive letter still reads as a path).
fn scheme_of(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_is_scheme = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme.len() >= 2 && starts_with_letter && rest_is_scheme).then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> DatabaseUrl {
        DatabaseUrl::parse(url).unwrap_or_else(|problem| panic!("{url}: {}", problem.0))
    }

    #[test]
    fn postgres_urls_are_passed_on_unchanged() {
        for url in [
            "postgres://user:secret@db.example:5432/auth",
            "postgresql://postgres@127.0.0.1/test?sslmode=require",
        ] {
            assert_eq!(parsed(url), DatabaseUrl::Postgres(url.to_owned()));
        }
    }

    #[test]
    fn a_sqlite_url_with_two_slashes_names_a_relative_path() {
        assert_eq!(
            parsed("sqlite://data/db.sqlite3"),
            DatabaseUrl::SqliteFile(PathBuf::from("data/db.sqlite3"))
        );
    }

    #[test]
    fn a_sqlite_url_with_three_slashes_names_an_absolute_path() {
        assert_eq!(
            parsed("sqlite:///var/lib/auth/db.sqlite3"),
            DatabaseUrl::SqliteFile(PathBuf::from("/var/lib/auth/db.sqlite3"))
        );
    }

    #[test]
    fn a_plain_path_is_a_sqlite_file() {
        assert_eq!(
            parsed("data/db.sqlite3"),
            DatabaseUrl::SqliteFile(PathBuf::from("data/db.sqlite3"))
        );
        assert_eq!(
            parsed("/abs/x.sqlite3"),
            DatabaseUrl::SqliteFile(PathBuf::from("/abs/x.sqlite3"))
        );
        assert_eq!(
            parsed("db.sqlite3"),
            DatabaseUrl::SqliteFile(PathBuf::from("db.sqlite3"))
        );
    }

    #[test]
    fn the_memory_forms_name_an_in_memory_database() {
        for url in ["sqlite::memory:", ":memory:", "sqlite://:memory:"] {
            assert_eq!(parsed(url), DatabaseUrl::SqliteMemory, "{url}");
        }
    }

    #[test]
    fn other_schemes_are_refused_without_repeating_the_url() {
        let problem = DatabaseUrl::parse("mysql://root:hunter2@localhost/auth")
            .expect_err("mysql is not supported");
        assert!(problem.0.contains("mysql"), "{}", problem.0);
        assert!(!problem.0.contains("hunter2"), "{}", problem.0);
    }

    #[test]
    fn empty_urls_are_refused() {
        for url in ["", "   ", "sqlite://"] {
            assert!(DatabaseUrl::parse(url).is_err(), "{url:?}");
        }
    }
}
