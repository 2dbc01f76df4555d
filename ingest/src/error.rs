//! Errors of the ingest stage.

/// What can go wrong while deciding and persisting state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("state store: {0}")]
    Store(String),
    #[error("state store holds an unreadable {kind} entry: {detail}")]
    Corrupt { kind: &'static str, detail: String },
    #[error("reading {path}: {source}")]
    Input {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] accesslake_transform::Error),
    /// A conditional write lost to a concurrent writer: re-reading the state
    /// and deciding again gives the right answer.
    #[error("state changed under a concurrent writer: {0}")]
    Conflict(String),
    /// A setting is missing or wrong (environment, lake URL).
    #[error("configuration: {0}")]
    Config(String),
    /// The store is throttled or unreachable for now.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
}

impl Error {
    /// Whether retrying the same work can succeed (a network blip, throttling),
    /// as opposed to bad data or a broken store. The one place this is decided.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Lake(e) => e.is_retryable(),
            Error::Conflict(_) | Error::Unavailable(_) => true,
            Error::Store(_) | Error::Corrupt { .. } | Error::Input { .. } | Error::Config(_) => {
                false
            }
        }
    }
}

impl From<redb::Error> for Error {
    fn from(e: redb::Error) -> Self {
        Error::Store(e.to_string())
    }
}

macro_rules! redb_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::from(redb::Error::from(e))
            }
        }
    )*};
}
redb_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Result of the ingest stage.
pub type Result<T, E = Error> = std::result::Result<T, E>;
