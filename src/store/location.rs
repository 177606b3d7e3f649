//! Where a store is: `--store STORE` as a user wrote it. A path (or `sqlite:PATH`) is a SQLite
//! file; a `postgres://` or `postgresql://` URL is a PostgreSQL database. Anything else that
//! looks like a URL is refused rather than taken for a file name.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use super::postgres::Target;
use crate::error::{Error, Result};

/// A store's place, parsed.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<Target>),
}

impl Location {
    /// Parse a store argument (from `--store` or `TOKMAN_STORE`).
    pub fn parse(arg: &OsStr) -> Result<Location> {
        let Some(text) = arg.to_str() else {
            // Not UTF-8: only a path can be that.
            return Ok(Location::Sqlite(PathBuf::from(arg)));
        };
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(Error::usage(
                    "`sqlite:` needs a path after it, as in sqlite:/var/lib/tokman/store.db",
                ));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        match url_scheme(text) {
            Some(scheme)
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                let text = format!("{}{}", scheme.to_ascii_lowercase(), &text[scheme.len()..]);
                Ok(Location::Postgres(Box::new(Target::parse(&text)?)))
            }
            Some(scheme) => Err(Error::usage_hint(
                format!("unsupported store URL scheme `{scheme}:`"),
                "a store is a file path (or sqlite:PATH), or a postgres:// URL",
            )),
            None => Ok(Location::Sqlite(PathBuf::from(arg))),
        }
    }

    /// The SQLite file, for a SQLite store.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Display for Location {
    /// A path as it is; a URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(t) => write!(f, "{t}"),
        }
    }
}

/// The scheme of `text` when it has the shape `scheme://…` (RFC 3986 scheme characters).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && rest.starts_with("//"))
    .then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Location> {
        Location::parse(OsStr::new(s))
    }

    #[test]
    fn paths_and_sqlite_prefix_are_files() {
        assert_eq!(
            parse("store.db").unwrap().path(),
            Some(Path::new("store.db"))
        );
        assert_eq!(parse("/a/b.db").unwrap().path(), Some(Path::new("/a/b.db")));
        assert_eq!(
            parse("sqlite:/a/b.db").unwrap().path(),
            Some(Path::new("/a/b.db"))
        );
        assert_eq!(
            parse("sqlite:rel.db").unwrap().path(),
            Some(Path::new("rel.db"))
        );
        // A colon in a file name is still a file.
        assert_eq!(parse("a:b.db").unwrap().path(), Some(Path::new("a:b.db")));
        assert!(parse("sqlite:").is_err());
    }

    #[test]
    fn urls_are_never_paths() {
        assert_eq!(
            parse("postgres://u@h:5432/db").unwrap().backend(),
            "postgres"
        );
        assert_eq!(parse("postgresql://u@h/db").unwrap().backend(), "postgres");
        assert_eq!(parse("POSTGRES://u@h/db").unwrap().backend(), "postgres");
        assert_eq!(
            parse("mysql://u@h/db").unwrap_err().kind(),
            crate::error::ErrorKind::Usage
        );
        assert_eq!(
            parse("https://example.com/x").unwrap_err().kind(),
            crate::error::ErrorKind::Usage
        );
    }
}
