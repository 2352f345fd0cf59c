//! The one error type of every store operation.

use std::fmt;

use crate::{ObjectKey, Revision};

/// Why a store operation failed.
///
/// Messages follow the house style (lowercase, user input in backticks) so the CLI
/// can print them as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object does not exist.
    #[error("{key} not found")]
    NotFound {
        /// The object asked for.
        key: ObjectKey,
    },
    /// `create` of an object that already exists.
    #[error("{key} already exists (revision {revision})")]
    AlreadyExists {
        /// The object.
        key: ObjectKey,
        /// Its current revision.
        revision: Revision,
    },
    /// A compare-and-swap lost: the object changed since the writer read it.
    #[error("{key} was changed by someone else: expected revision {expected}, the store has {}", actual_text(*.actual))]
    Conflict {
        /// The object.
        key: ObjectKey,
        /// The revision the writer expected (0: expected the object not to exist).
        expected: Revision,
        /// The revision the store holds (`None`: the object no longer exists).
        actual: Option<Revision>,
    },
    /// A watch asked for revisions the store no longer keeps.
    #[error("revision {requested} has been compacted (the oldest kept is {}); list again and watch from the list's revision", compacted + 1)]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The newest revision that was compacted away.
        compacted: Revision,
    },
    /// No server could be reached or answered in time.
    #[error("the store is unavailable: {reason}")]
    Unavailable {
        /// What happened, per endpoint.
        reason: String,
    },
    /// A request larger than the server accepts, refused before sending.
    #[error("{what} is {bytes} bytes, more than the {limit} bytes etcd accepts in one request (its `--max-request-bytes`)")]
    TooLarge {
        /// What was too large (an object, or a transaction of many).
        what: String,
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A stored value that cannot be read back as the object its key names.
    #[error("stored value of `{key}` is corrupt: {reason}")]
    Corrupt {
        /// The raw key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The object cannot be stored as given (no name, no namespace for a namespaced kind, ...).
    #[error("{0}")]
    Invalid(String),
    /// The embedded store's file is held by another process.
    #[error("the store `{path}` is in use by another tabby process (only one process can open an embedded store at a time; use etcd for many)")]
    InUse {
        /// The file.
        path: String,
    },
    /// Any other failure of the backend (I/O, an unexpected server answer).
    #[error("{0}")]
    Backend(String),
    /// The store cannot be set up as configured (a TLS file missing or unreadable,
    /// TLS files without an https endpoint, ...): nothing was contacted.
    #[error("{0}")]
    Config(String),
}

fn actual_text(actual: Option<Revision>) -> String {
    match actual {
        Some(r) => format!("revision {r}"),
        None => "no such object".to_owned(),
    }
}

impl StoreError {
    /// True for answers that are "no" rather than failures: not found, already
    /// exists, conflict (the CLI exits 1 for these, 2 for the rest).
    pub fn is_negative(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound { .. }
                | StoreError::AlreadyExists { .. }
                | StoreError::Conflict { .. }
        )
    }

    pub(crate) fn backend(e: impl fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}
