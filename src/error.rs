//! The one error type of tokman: every failure a user can act on, each knowing its exit code.
//!
//! Messages are lower-case without a trailing period (`error: …`), hints say what to do next
//! (`hint: …`). Nothing here ever carries secret material: callers pass ids, paths and reasons,
//! never tokens, passphrases or keys.

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a command can fail, grouped by what the user should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flag, bad value, a request the store's rules forbid before anything is touched (2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A token that is unknown, malformed, has the wrong secret or is of another store (1).
    #[error("{0}")]
    InvalidToken(String),
    /// The token has expired (3).
    #[error("{0}")]
    Expired(String),
    /// The token has been revoked (4).
    #[error("{0}")]
    Revoked(String),
    /// A valid token lacks a required scope, address, origin or user (5).
    #[error("{0}")]
    Denied(String),
    /// A valid token is past one of its rate limits (6).
    #[error("{0}")]
    RateLimited(String),
    /// The user already has an active token, the store or a key file already exists, … (7).
    #[error("{message}")]
    Conflict {
        message: String,
        hint: Option<String>,
    },
    /// No such token id or user (8).
    #[error("{0}")]
    NotFound(String),
    /// There is no store there (10).
    #[error("no store at {store}")]
    StoreMissing { store: String, hint: String },
    /// The store exists but cannot be used: unreadable, read-only, disk full, foreign file (10).
    #[error("{message}")]
    StoreUnavailable {
        message: String,
        hint: Option<String>,
    },
    /// No way to unlock, or the passphrase or key file does not open the store (11).
    #[error("{message}")]
    Locked {
        message: String,
        hint: Option<String>,
    },
    /// The store fails an integrity check: an edited, truncated or damaged file (12).
    #[error("{0}")]
    Corrupt(String),
    /// The result could not be written to stdout after the change committed (74): for a new
    /// token, it exists but nobody has seen it.
    #[error("{message}")]
    Unprinted { message: String, hint: String },
    /// A bug in tokman (70).
    #[error("internal error: {0}")]
    Internal(String),
    /// stdout was closed by the reader (`tokman list | head -1`): not an error, exit 0 quietly.
    #[error("broken pipe")]
    BrokenPipe,
}

impl Error {
    /// The process exit code of the contract for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BrokenPipe => 0,
            Error::InvalidToken(_) => 1,
            Error::Usage { .. } => 2,
            Error::Expired(_) => 3,
            Error::Revoked(_) => 4,
            Error::Denied(_) => 5,
            Error::RateLimited(_) => 6,
            Error::Conflict { .. } => 7,
            Error::NotFound(_) => 8,
            Error::StoreMissing { .. } | Error::StoreUnavailable { .. } => 10,
            Error::Locked { .. } => 11,
            Error::Corrupt(_) => 12,
            Error::Internal(_) => 70,
            Error::Unprinted { .. } => 74,
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
