//! The one error type of tokman: every failure a user can act on, each of one [`ErrorKind`].
//!
//! A front end maps the kind to what it answers with (the command line to its exit codes, a
//! server to HTTP statuses); nothing here knows either. Messages are lower-case without a
//! trailing period (`error: …`), hints say what to do next (`hint: …`), and neither names a
//! flag: they say what is wrong and what would do. Nothing here ever carries secret material:
//! callers pass ids, paths and reasons, never tokens, passphrases or keys.

use crate::duration::Span;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a command can fail, grouped by what the user should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, a request the store's rules forbid before anything is touched.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A token that is unknown, malformed, has the wrong secret or is of another store.
    #[error("{0}")]
    InvalidToken(String),
    /// The token has expired.
    #[error("{0}")]
    Expired(String),
    /// The token has been revoked.
    #[error("{0}")]
    Revoked(String),
    /// A valid token lacks a required scope, address, origin or user.
    #[error("{0}")]
    Denied(String),
    /// A valid token is past one of its rate limits.
    #[error("{0}")]
    RateLimited(String),
    /// The user already has an active token, the store or a key file already exists, …
    #[error("{message}")]
    Conflict {
        message: String,
        hint: Option<String>,
    },
    /// No such token id or user.
    #[error("{0}")]
    NotFound(String),
    /// A lifetime over its maximum, refused before anything is touched (a usage error): a
    /// token's requested lifetime over the store's maximum, or a store's maximum over tokman's.
    /// A front end says where the value came from (a flag, a field).
    #[error("{}", too_long(*.what, *.asked, *.max))]
    TooLong {
        what: Lifetime,
        asked: Span,
        max: Span,
    },
    /// There is no store there.
    #[error("no store at {store}")]
    StoreMissing { store: String, hint: String },
    /// The store exists but cannot be used: unreadable, read-only, disk full, foreign file.
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        hint: Option<String>,
    },
    /// No way to unlock, or the passphrase or key file does not open the store.
    #[error("{message}")]
    Locked {
        message: String,
        hint: Option<String>,
    },
    /// The store fails an integrity check: an edited, truncated or damaged file.
    #[error("{0}")]
    Corrupt(String),
    /// The result could not be handed over after the change committed: for a new token, it
    /// exists but nobody has seen it.
    #[error("{message}")]
    Unprinted { message: String, hint: String },
    /// A bug in tokman.
    #[error("internal error: {0}")]
    Internal(String),
    /// stdout was closed by the reader (`tokman list | head -1`): not an error, exit 0 quietly.
    #[error("broken pipe")]
    BrokenPipe,
}

/// Which lifetime [`Error::TooLong`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// A token's, asked for when it is issued or rotated; the maximum is the store's.
    Token,
    /// A store's maximum token lifetime; the maximum is tokman's own.
    StoreMaximum,
}

fn too_long(what: Lifetime, asked: Span, max: Span) -> String {
    match what {
        Lifetime::Token => format!("a lifetime of {asked} is over this store's maximum of {max}"),
        Lifetime::StoreMaximum => {
            format!("a maximum token lifetime of {asked} is over the limit of {max}")
        }
    }
}

/// What kind of failure an [`Error`] is: what a front end maps to its answer (an exit code, an
/// HTTP status). One kind per group of variants; every kind but `BrokenPipe` is a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input, or a request the store's rules forbid before anything is touched.
    Usage,
    /// A token that is unknown, malformed, has the wrong secret or is of another store.
    InvalidToken,
    Expired,
    Revoked,
    /// A valid token without a required scope, address, origin or user.
    Denied,
    RateLimited,
    /// The user already has an active token; the store or a key file exists; the last slot.
    Conflict,
    /// No such token id, user or slot.
    NotFound,
    StoreMissing,
    /// The store cannot be used: unreadable, unsafe, read-only, newer, unreachable.
    StoreUnavailable,
    /// No way to unlock, or the key or passphrase does not open the store.
    Locked,
    /// The store fails an integrity check.
    Corrupt,
    /// The change committed but its result could not be handed over.
    Unprinted,
    /// A bug in tokman.
    Internal,
    /// The reader went away; not a failure of the command.
    BrokenPipe,
}

impl ErrorKind {
    /// Every kind, for a front end's tests that its mapping covers them all.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Usage,
        ErrorKind::InvalidToken,
        ErrorKind::Expired,
        ErrorKind::Revoked,
        ErrorKind::Denied,
        ErrorKind::RateLimited,
        ErrorKind::Conflict,
        ErrorKind::NotFound,
        ErrorKind::StoreMissing,
        ErrorKind::StoreUnavailable,
        ErrorKind::Locked,
        ErrorKind::Corrupt,
        ErrorKind::Unprinted,
        ErrorKind::Internal,
        ErrorKind::BrokenPipe,
    ];
}

impl Error {
    /// What kind of failure this is, for the front end to answer with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage { .. } | Error::TooLong { .. } => ErrorKind::Usage,
            Error::InvalidToken(_) => ErrorKind::InvalidToken,
            Error::Expired(_) => ErrorKind::Expired,
            Error::Revoked(_) => ErrorKind::Revoked,
            Error::Denied(_) => ErrorKind::Denied,
            Error::RateLimited(_) => ErrorKind::RateLimited,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::StoreMissing { .. } => ErrorKind::StoreMissing,
            Error::StoreUnavailable { .. } => ErrorKind::StoreUnavailable,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::Corrupt(_) => ErrorKind::Corrupt,
            Error::Unprinted { .. } => ErrorKind::Unprinted,
            Error::Internal(_) => ErrorKind::Internal,
            Error::BrokenPipe => ErrorKind::BrokenPipe,
        }
    }

    /// What the user can do next, when there is something useful to say.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Usage { hint, .. }
            | Error::Conflict { hint, .. }
            | Error::StoreUnavailable { hint, .. }
            | Error::Locked { hint, .. } => hint.as_deref(),
            Error::StoreMissing { hint, .. } | Error::Unprinted { hint, .. } => Some(hint),
            Error::TooLong {
                what: Lifetime::Token,
                ..
            } => Some("ask for the maximum or less; tokens always expire"),
            Error::Corrupt(_) => Some(
                "the store file was edited or damaged; restore it from a backup and run `tokman audit --check`",
            ),
            Error::Internal(_) => Some("this is a bug in tokman; please report it"),
            _ => None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn conflict(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Conflict {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn locked(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::Locked {
            message: message.into(),
            hint,
        }
    }

    pub fn unavailable(message: impl Into<String>, hint: Option<String>) -> Self {
        Error::StoreUnavailable {
            message: message.into(),
            hint,
        }
    }

    /// No store at `store` (a path, or a URL shown without its password).
    pub fn missing(store: impl std::fmt::Display) -> Self {
        Error::StoreMissing {
            store: store.to_string(),
            hint: "create one with `tokman init` (or `tokman generate USER`, which creates it)"
                .into(),
        }
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::Corrupt(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Error::BrokenPipe
        } else {
            Error::Internal(format!("i/o: {e}"))
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            Error::BrokenPipe
        } else {
            Error::Internal(format!("json: {e}"))
        }
    }
}
