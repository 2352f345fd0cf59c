//! tabby's datastore: Calico resources with revisions, compare-and-swap and watch.
//!
//! ```text
//!            CLI (apply/get/delete/label)        agents (watch)
//!                         │                            │
//!                         ▼                            ▼
//!                 ┌────────────── dyn Store ──────────────┐
//!                 │ get · list · commit(ops) · watch(rev) │
//!                 └──────┬─────────────────────┬──────────┘
//!                  Embedded (redb file)    Etcd (JSON gateway over HTTP/1.1)
//!            objects · revision · changelog   /calico/resources/v3/projectcalico.org/…
//! ```
//!
//! Every object is stored as Calico stores it in etcd: the resource's JSON
//! (`apiVersion`, `kind`, `metadata`, `spec`), with `uid` and `creationTimestamp` set
//! when it is created. Its `resourceVersion` is the store revision of its last change
//! (etcd: the key's mod revision), never stored in the value itself. One global
//! revision counter orders every change; a [`Store::commit`] of many operations is
//! one transaction at one revision, so readers see all of it or none.
//!
//! Writes are compare-and-swap: [`Op::Update`] and [`Op::Delete`] with a revision
//! fail with [`StoreError::Conflict`] (naming the expected and the actual revision)
//! when the object changed since; [`Op::Apply`] compares against what it read, so two
//! writers never silently overwrite each other. The CAS rules live in one place
//! (`object::plan`), shared by both backends.
//!
//! [`Store::watch`] streams [`Event`]s from a revision on; after a disconnect a
//! watcher resumes from [`Watch::resume_from`] and misses nothing, unless the store
//! compacted those revisions, in which case it gets [`StoreError::Compacted`] and must
//! list again.

mod embedded;
mod error;
pub mod etcd;
mod key;
mod object;
mod selector;
#[doc(hidden)]
pub mod testing;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;
use tabby_api::{Kind, Resource, ResourceError};

pub use embedded::Embedded;
pub use error::StoreError;
pub use etcd::{Etcd, EtcdOptions, EtcdTls};
pub use key::{kind_prefix, list_prefix, KeyError, ObjectKey, CALICO_PREFIX, TABBY_PREFIX};
pub use object::{key_of, preview};
pub use selector::LabelSelector;

/// A store revision: etcd's revision, or the embedded store's counter. Starts at 1;
/// 0 means "none".
pub type Revision = u64;

/// One object as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Which object.
    pub key: ObjectKey,
    /// The revision of its last change (also in `metadata.resourceVersion`).
    pub revision: Revision,
    /// The resource's JSON.
    pub object: Value,
}

impl Stored {
    /// An object at `revision`; sets `metadata.resourceVersion` to match.
    pub fn new(key: ObjectKey, revision: Revision, object: Value) -> Self {
        Self {
            key,
            revision,
            object: object::with_revision(object, revision),
        }
    }

    /// The object decoded as its typed wire form.
    pub fn resource(&self) -> Result<Resource, ResourceError> {
        Resource::from_json(self.object.clone())
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A change to make; [`Store::commit`] makes several atomically.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create; fails with [`StoreError::AlreadyExists`] if the object exists.
    Create(Resource),
    /// Replace the object if it is still at this revision.
    Update(Resource, Revision),
    /// Create or update. With `metadata.resourceVersion` set, only if the object is
    /// still at that revision; otherwise over whatever revision is current. Applying
    /// an identical object changes nothing (and makes no revision).
    Apply(Resource),
    /// Delete, if given a revision only if the object is still at it.
    Delete(ObjectKey, Option<Revision>),
}

/// What a committed operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    /// Apply of an object identical to the stored one.
    Unchanged,
    Deleted,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Updated => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
        })
    }
}

/// The result of one operation of a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub action: Action,
    /// The object after the change (for a deletion: as it was before).
    pub stored: Stored,
}

/// Which objects [`Store::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// One kind, or every kind tabby reads.
    pub kind: Option<Kind>,
    /// One namespace (namespaced kinds), or all.
    pub namespace: Option<String>,
    /// Only objects whose labels match.
    pub selector: Option<LabelSelector>,
}

/// A key found in the store that is not a readable object: reported, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The raw key.
    pub key: String,
    /// Why it was skipped.
    pub reason: String,
    /// True for a key or value that looks like a resource but is broken; false for a
    /// kind tabby does not read.
    pub corrupt: bool,
}

/// The answer to [`Store::list`].
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Objects, sorted by kind, namespace and name.
    pub items: Vec<Stored>,
    /// The store revision the list was read at: watch from `revision + 1`.
    pub revision: Revision,
    /// Keys skipped because they are not readable objects.
    pub skipped: Vec<Skipped>,
}

/// What a watch event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// The revision of the change.
    pub revision: Revision,
    /// The object after the change; for `Deleted`, as it was before.
    pub stored: Stored,
}

/// The next buffered event of a watch, and where to resume after it: at the same
/// revision while more events of that revision (one commit) are still buffered,
/// after it otherwise. Shared by both backends' watches.
pub(crate) fn pop_buffered(
    buf: &mut std::collections::VecDeque<Event>,
    resume: &mut Revision,
) -> Option<Event> {
    let e = buf.pop_front()?;
    let more_same = buf.front().is_some_and(|n| n.revision == e.revision);
    *resume = if more_same {
        e.revision
    } else {
        e.revision + 1
    };
    Some(e)
}

/// A stream of changes, in revision order.
pub trait Watch: Send + fmt::Debug {
    /// The next event, waiting at most `timeout`; `Ok(None)` if none came. An
    /// embedded watch never disconnects; an etcd watch reconnects by itself (to any
    /// endpoint) and resumes where it was, and fails only when no endpoint answers
    /// or the revisions it needs were compacted.
    fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, StoreError>;

    /// The revision to watch from to continue after the last event delivered.
    fn resume_from(&self) -> Revision;

    /// Keys skipped since the last call (corrupt values, kinds tabby does not read).
    fn take_skipped(&mut self) -> Vec<Skipped>;
}

/// A datastore. Both backends pass the same test suite (`tests/suite.rs`).
pub trait Store: Send + Sync + fmt::Debug {
    /// One object, or `None`.
    fn get(&self, key: &ObjectKey) -> Result<Option<Stored>, StoreError>;

    /// Objects matching `query`, at one consistent revision.
    fn list(&self, query: &ListQuery) -> Result<Listing, StoreError>;

    /// Makes every operation or none; each names a different object. Fails with the
    /// first operation's error (not found, exists, conflict) and then changes nothing.
    fn commit(&self, ops: &[Op]) -> Result<Vec<Outcome>, StoreError>;

    /// Changes from revision `from` on (0: from now on).
    fn watch(&self, from: Revision) -> Result<Box<dyn Watch>, StoreError>;

    /// The current revision.
    fn revision(&self) -> Result<Revision, StoreError>;

    /// A short description for messages (`embedded store /path`, `etcd http://..`).
    fn describe(&self) -> String;

    /// Creates one object.
    fn create(&self, r: &Resource) -> Result<Stored, StoreError> {
        one(self.commit(&[Op::Create(r.clone())]))
    }

    /// Replaces one object if it is still at `expected`.
    fn update(&self, r: &Resource, expected: Revision) -> Result<Stored, StoreError> {
        one(self.commit(&[Op::Update(r.clone(), expected)]))
    }

    /// Creates or updates one object.
    fn apply(&self, r: &Resource) -> Result<Outcome, StoreError> {
        self.commit(&[Op::Apply(r.clone())])?
            .pop()
            .ok_or_else(|| StoreError::Backend("the store answered no outcome".into()))
    }

    /// Deletes one object, if given a revision only if it is still at it. Returns
    /// the object as it was.
    fn delete(&self, key: &ObjectKey, expected: Option<Revision>) -> Result<Stored, StoreError> {
        one(self.commit(&[Op::Delete(key.clone(), expected)]))
    }
}

fn one(r: Result<Vec<Outcome>, StoreError>) -> Result<Stored, StoreError> {
    r?.pop()
        .map(|o| o.stored)
        .ok_or_else(|| StoreError::Backend("the store answered no outcome".into()))
}

/// Rejects commits that name one object twice (etcd refuses them too).
pub(crate) fn check_distinct(keys: &[ObjectKey]) -> Result<(), StoreError> {
    let mut seen = std::collections::BTreeSet::new();
    for k in keys {
        if !seen.insert(k) {
            return Err(StoreError::Invalid(format!(
                "{k} appears twice in one transaction"
            )));
        }
    }
    Ok(())
}

/// Whether a stored object passes a list query's namespace and selector filters.
pub(crate) fn query_matches(query: &ListQuery, s: &Stored) -> bool {
    if let (Some(ns), Some(obj_ns)) = (&query.namespace, s.key.namespace()) {
        if ns != obj_ns {
            return false;
        }
    }
    query
        .selector
        .as_ref()
        .is_none_or(|sel| sel.matches(&s.labels()))
}

/// The kinds a query covers.
pub(crate) fn query_kinds(query: &ListQuery) -> Vec<Kind> {
    match query.kind {
        Some(k) => vec![k],
        None => Kind::ALL.to_vec(),
    }
}
