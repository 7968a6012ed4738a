//! Where a store lives, as an operator names it: a file path (SQLite, the default), `sqlite://PATH`,
//! or `postgresql://user[:password]@host[:port]/database[?...]` (also `postgres://`). A URL is
//! never shown as given: its password (in the user part or a `password=` parameter) is replaced
//! by `***` wherever a store is named (errors, logs, `ferry serve`'s start-up lines).

use std::fmt;
use std::path::{Path, PathBuf};

/// A store's location.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, by its connection URL (which may hold a password).
    Postgres(String),
}

/// A `--store` or `[store] url` that names no store Ferry can open.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreLocationError {
    #[error(
        "store {0}: unknown kind of store URL: give a file path, sqlite://PATH or \
         postgresql://USER@HOST:PORT/DATABASE"
    )]
    UnknownScheme(String),
    #[error("store {0}: an sqlite:// URL takes no parameters: give the file's path")]
    SqliteParameters(String),
    #[error("store {0}: the URL names no file or database")]
    Empty(String),
}

impl StoreLocation {
    /// Reads a store as named on the command line or in ferry.toml. Errors show the URL redacted.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreLocationError> {
        let text = text.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            // `sqlite:ferry.db`, as sqlx writes it, else a plain path.
            return match text.strip_prefix("sqlite:") {
                Some("") => Err(StoreLocationError::Empty(text.to_string())),
                Some(path) => Ok(StoreLocation::File(PathBuf::from(path))),
                None if text.is_empty() => Err(StoreLocationError::Empty(text.to_string())),
                None => Ok(StoreLocation::File(PathBuf::from(text))),
            };
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => {
                let database = rest.split('?').next().unwrap_or("").split_once('/').map(|(_, db)| db);
                if database.is_none_or(str::is_empty) {
                    return Err(StoreLocationError::Empty(redact_url(text)));
                }
                Ok(StoreLocation::Postgres(text.to_string()))
            }
            "sqlite" if rest.contains('?') => Err(StoreLocationError::SqliteParameters(redact_url(text))),
            "sqlite" if rest.is_empty() => Err(StoreLocationError::Empty(text.to_string())),
            "sqlite" => Ok(StoreLocation::File(PathBuf::from(rest))),
            _ => Err(StoreLocationError::UnknownScheme(redact_url(text))),
        }
    }

    /// A store named by a command-line value or an environment variable (`--store`,
    /// `FERRY_STORE`): a URL if it reads as one, else a file path (kept as given when it is not
    /// UTF-8).
    pub fn from_arg(value: &Path) -> Result<StoreLocation, StoreLocationError> {
        match value.to_str() {
            Some(text) => StoreLocation::parse(text),
            None => Ok(StoreLocation::File(value.to_path_buf())),
        }
    }

    /// The SQLite file, if this is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreLocation::File(path) => Some(path),
            StoreLocation::Postgres(_) => None,
        }
    }

    /// How the store is named to people: the file's path, or the URL without its password.
    pub fn display_name(&self) -> String {
        match self {
            StoreLocation::File(path) => path.display().to_string(),
            StoreLocation::Postgres(url) => redact_url(url),
        }
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> StoreLocation {
        StoreLocation::File(path)
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> StoreLocation {
        StoreLocation::File(path.to_path_buf())
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = StoreLocationError;
    fn from_str(text: &str) -> Result<StoreLocation, StoreLocationError> {
        StoreLocation::parse(text)
    }
}

/// Redacted, as [`StoreLocation::display_name`].
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

/// Redacted too: a location is never printed with its password, even in a debug dump.
impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => f.debug_tuple("File").field(path).finish(),
            StoreLocation::Postgres(_) => f.debug_tuple("Postgres").field(&self.display_name()).finish(),
        }
    }
}

/// A URL with its password replaced by `***`: the one in `user:password@`, and the value of any
/// query parameter that names a password (`password=`, `sslpassword=`).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // The user part ends at the last `@` before the path.
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let mut out = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(&authority);
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sqlite_urls_are_files_and_postgres_urls_are_databases() {
        let file = |s: &str| StoreLocation::parse(s).unwrap().file().map(Path::to_path_buf);
        assert_eq!(file("/var/lib/ferry/ferry.db"), Some(PathBuf::from("/var/lib/ferry/ferry.db")));
        assert_eq!(file("ferry.db"), Some(PathBuf::from("ferry.db")));
        assert_eq!(file("sqlite:///data/ferry.db"), Some(PathBuf::from("/data/ferry.db")));
        assert_eq!(file("sqlite://ferry.db"), Some(PathBuf::from("ferry.db")));
        assert_eq!(file("sqlite:ferry.db"), Some(PathBuf::from("ferry.db")));
        let pg = StoreLocation::parse("postgresql://ferry@db.internal:5432/ferry").unwrap();
        assert_eq!(pg, StoreLocation::Postgres("postgresql://ferry@db.internal:5432/ferry".into()));
        assert!(matches!(
            StoreLocation::parse("postgres://u@h/db?sslmode=require"),
            Ok(StoreLocation::Postgres(_))
        ));

        let e = StoreLocation::parse("mysql://root:hunter2@h/db").unwrap_err().to_string();
        assert!(e.contains("mysql://root:***@h/db") && e.contains("unknown kind of store URL"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = StoreLocation::parse("postgresql://u:hunter2@h").unwrap_err().to_string();
        assert!(e.contains("names no file or database") && !e.contains("hunter2"), "{e}");
        assert!(StoreLocation::parse("sqlite://f.db?mode=ro").is_err());
        assert!(StoreLocation::parse("").is_err());
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact_url("postgresql://ferry:s3cr%40t@h:5432/db"), "postgresql://ferry:***@h:5432/db");
        assert_eq!(redact_url("postgresql://ferry@h/db"), "postgresql://ferry@h/db");
        assert_eq!(
            redact_url("postgres://h/db?user=f&password=x&sslmode=require&sslpassword=y"),
            "postgres://h/db?user=f&password=***&sslmode=require&sslpassword=***"
        );
        let pg = StoreLocation::parse("postgresql://ferry:hunter2@h/db").unwrap();
        assert_eq!(pg.to_string(), "postgresql://ferry:***@h/db");
        assert!(!format!("{pg:?}").contains("hunter2"));
    }
}
