//! The embedded store: one redb file, no server.
//!
//! Tables:
//!
//! ```text
//! objects   storage key (etcd layout) -> mod revision (8 bytes LE) ++ JSON
//! meta      "revision" -> last revision; "compacted" -> newest revision dropped from the log
//! changelog revision -> JSON list of that revision's events (the watch reads it)
//! ```
//!
//! Every [`Store::commit`] is one redb write transaction: the objects, the change-log
//! entry and the revision counter change together. redb commits copy-on-write with
//! a checksummed commit slot and fsyncs before returning (`Durability::Immediate`),
//! so a process killed at any point leaves the previous commit or the new one, never
//! a mix. The change log keeps the last [`Embedded::DEFAULT_LOG_KEEP`] revisions;
//! watching from an older one fails with [`StoreError::Compacted`].
//!
//! Watches are in-process: a commit wakes every watcher of the same [`Embedded`]
//! through a condition variable, and watchers also re-read the log every 50 ms.
//! redb locks its file, so only one process opens a store at a time; opening waits
//! (by default up to 10 s) for another process to finish. Use etcd for many writers
//! and for agents on many machines.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, ReadableTable, TableDefinition};
use serde_json::Value;

use crate::object::{decode_stored, plan, to_bytes, Current, Planned};
use crate::{
    check_distinct, list_prefix, object, query_kinds, query_matches, Event, EventKind, ListQuery,
    Listing, ObjectKey, Op, Outcome, Revision, Skipped, Store, StoreError, Stored, Watch,
};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHANGELOG: TableDefinition<u64, &[u8]> = TableDefinition::new("changelog");

const REVISION: &str = "revision";
const COMPACTED: &str = "compacted";

/// How often a watcher re-reads the log even without a wake-up.
const POLL: Duration = Duration::from_millis(50);

type Notify = Arc<(Mutex<Revision>, Condvar)>;

/// A store in one redb file.
pub struct Embedded {
    db: Arc<Database>,
    path: PathBuf,
    notify: Notify,
    log_keep: u64,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("path", &self.path)
            .finish()
    }
}

fn be(e: impl std::fmt::Display) -> StoreError {
    StoreError::backend(e)
}

impl Embedded {
    /// How many revisions the change log keeps by default.
    pub const DEFAULT_LOG_KEEP: u64 = 10_000;

    /// `$XDG_DATA_HOME/tabby/store.redb`, else `~/.local/share/tabby/store.redb`.
    pub fn default_path() -> PathBuf {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share"))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("tabby").join("store.redb")
    }

    /// Opens (creating if needed) the store at `path`, waiting up to 10 s while
    /// another process holds it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_wait(path, Duration::from_secs(10))
    }

    /// [`Embedded::open`] with a chosen wait for the file lock.
    pub fn open_wait(path: &Path, wait: Duration) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create `{}`: {e}", dir.display()))
            })?;
        }
        let deadline = Instant::now() + wait;
        let db = loop {
            match Database::create(path) {
                Ok(db) => break db,
                Err(DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(StoreError::InUse {
                        path: path.display().to_string(),
                    })
                }
                Err(e) => {
                    return Err(StoreError::Backend(format!(
                        "cannot open the store `{}`: {e}",
                        path.display()
                    )))
                }
            }
        };
        let tx = db.begin_write().map_err(be)?;
        let rev = {
            tx.open_table(OBJECTS).map_err(be)?;
            tx.open_table(CHANGELOG).map_err(be)?;
            let meta = tx.open_table(META).map_err(be)?;
            let rev = meta.get(REVISION).map_err(be)?.map(|g| g.value());
            rev.unwrap_or(0)
        };
        tx.commit().map_err(be)?;
        Ok(Self {
            db: Arc::new(db),
            path: path.to_owned(),
            notify: Arc::new((Mutex::new(rev), Condvar::new())),
            log_keep: Self::DEFAULT_LOG_KEEP,
        })
    }

    /// Keep only the last `n` revisions in the change log (at least 1).
    pub fn with_log_keep(mut self, n: u64) -> Self {
        self.log_keep = n.max(1);
        self
    }

    /// Writes a raw key and value at a new revision, bypassing every check (for
    /// tests and repairs).
    pub fn put_raw(&self, key: &str, value: &[u8]) -> Result<Revision, StoreError> {
        let tx = self.db.begin_write().map_err(be)?;
        let rev = {
            let mut meta = tx.open_table(META).map_err(be)?;
            let rev = meta
                .get(REVISION)
                .map_err(be)?
                .map(|g| g.value())
                .unwrap_or(0)
                + 1;
            let mut objects = tx.open_table(OBJECTS).map_err(be)?;
            objects
                .insert(key, encode_value(rev, value).as_slice())
                .map_err(be)?;
            meta.insert(REVISION, rev).map_err(be)?;
            rev
        };
        tx.commit().map_err(be)?;
        Ok(rev)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn split_value(bytes: &[u8]) -> Option<(Revision, &[u8])> {
    let (head, json) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*head), json))
}

fn encode_value(rev: Revision, json: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + json.len());
    v.extend_from_slice(&rev.to_le_bytes());
    v.extend_from_slice(json);
    v
}

fn event_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Added => "ADDED",
        EventKind::Modified => "MODIFIED",
        EventKind::Deleted => "DELETED",
    }
}

impl Store for Embedded {
    fn get(&self, key: &ObjectKey) -> Result<Option<Stored>, StoreError> {
        let tx = self.db.begin_read().map_err(be)?;
        let t = tx.open_table(OBJECTS).map_err(be)?;
        let raw = key.storage_key();
        let Some(g) = t.get(raw.as_str()).map_err(be)? else {
            return Ok(None);
        };
        let bytes = g.value();
        let (rev, json) = split_value(bytes).ok_or_else(|| StoreError::Corrupt {
            key: raw.clone(),
            reason: "the value is too short".into(),
        })?;
        decode_stored(&raw, json, rev)
            .map(Some)
            .map_err(|s| StoreError::Corrupt {
                key: s.key,
                reason: s.reason,
            })
    }

    fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let tx = self.db.begin_read().map_err(be)?;
        let t = tx.open_table(OBJECTS).map_err(be)?;
        let meta = tx.open_table(META).map_err(be)?;
        let mut out = Listing {
            revision: meta
                .get(REVISION)
                .map_err(be)?
                .map(|g| g.value())
                .unwrap_or(0),
            ..Listing::default()
        };
        for kind in query_kinds(query) {
            let prefix = list_prefix(kind, query.namespace.as_deref());
            let end = String::from_utf8(crate::key::prefix_end(&prefix)).map_err(be)?;
            for entry in t.range(prefix.as_str()..end.as_str()).map_err(be)? {
                let (k, v) = entry.map_err(be)?;
                let (raw, bytes) = (k.value(), v.value());
                let Some((rev, json)) = split_value(bytes) else {
                    out.skipped.push(Skipped {
                        key: raw.to_owned(),
                        reason: "the value is too short".into(),
                        corrupt: true,
                    });
                    continue;
                };
                match decode_stored(raw, json, rev) {
                    Ok(s) if query_matches(query, &s) => out.items.push(s),
                    Ok(_) => {}
                    Err(skip) => out.skipped.push(skip),
                }
            }
        }
        out.items.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn commit(&self, ops: &[Op]) -> Result<Vec<Outcome>, StoreError> {
        let keys = ops
            .iter()
            .map(object::op_key)
            .collect::<Result<Vec<_>, _>>()?;
        check_distinct(&keys)?;
        let tx = self.db.begin_write().map_err(be)?;
        let result = (|| {
            let mut objects = tx.open_table(OBJECTS).map_err(be)?;
            let mut planned = Vec::with_capacity(ops.len());
            for (op, key) in ops.iter().zip(&keys) {
                let raw = key.storage_key();
                let current: Current = match objects.get(raw.as_str()).map_err(be)? {
                    None => None,
                    Some(g) => {
                        let (rev, json) =
                            split_value(g.value()).ok_or_else(|| StoreError::Corrupt {
                                key: raw.clone(),
                                reason: "the value is too short".into(),
                            })?;
                        let v: Value =
                            serde_json::from_slice(json).map_err(|e| StoreError::Corrupt {
                                key: raw.clone(),
                                reason: format!("not JSON: {e}"),
                            })?;
                        Some((rev, v))
                    }
                };
                planned.push(plan(op, &current)?);
            }
            let mut meta = tx.open_table(META).map_err(be)?;
            let last = meta
                .get(REVISION)
                .map_err(be)?
                .map(|g| g.value())
                .unwrap_or(0);
            let changes = planned
                .iter()
                .filter(|p| !matches!(p, Planned::Noop { .. }))
                .count();
            if changes == 0 {
                return Ok((planned, last, false));
            }
            let rev = last + 1;
            let mut log = Vec::with_capacity(changes);
            for p in &planned {
                let Some(kind) = p.event_kind() else { continue };
                let raw = p.key().storage_key();
                let obj = match p {
                    Planned::Put { value, .. } => {
                        let json = to_bytes(value)?;
                        objects
                            .insert(raw.as_str(), encode_value(rev, &json).as_slice())
                            .map_err(be)?;
                        object::with_revision(value.clone(), rev)
                    }
                    Planned::Delete { old, .. } => {
                        objects.remove(raw.as_str()).map_err(be)?;
                        old.clone()
                    }
                    Planned::Noop { .. } => continue,
                };
                log.push(serde_json::json!({"type": event_name(kind), "key": raw, "object": obj}));
            }
            let mut changelog = tx.open_table(CHANGELOG).map_err(be)?;
            let entry = serde_json::to_vec(&log).map_err(be)?;
            changelog.insert(rev, entry.as_slice()).map_err(be)?;
            meta.insert(REVISION, rev).map_err(be)?;
            if rev > self.log_keep {
                let drop_to = rev - self.log_keep;
                let old = meta
                    .get(COMPACTED)
                    .map_err(be)?
                    .map(|g| g.value())
                    .unwrap_or(0);
                if drop_to > old {
                    changelog
                        .retain_in(old..=drop_to, |_, _| false)
                        .map_err(be)?;
                    meta.insert(COMPACTED, drop_to).map_err(be)?;
                }
            }
            Ok((planned, rev, true))
        })();
        let (planned, rev, changed) = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.abort();
                return Err(e);
            }
        };
        if changed {
            tx.commit().map_err(be)?;
            let (lock, cvar) = &*self.notify;
            if let Ok(mut r) = lock.lock() {
                *r = (*r).max(rev);
            }
            cvar.notify_all();
        } else {
            let _ = tx.abort();
        }
        Ok(planned.into_iter().map(|p| p.outcome(rev)).collect())
    }

    fn watch(&self, from: Revision) -> Result<Box<dyn Watch>, StoreError> {
        let next = if from == 0 {
            self.revision()? + 1
        } else {
            from
        };
        Ok(Box::new(EmbeddedWatch {
            db: self.db.clone(),
            notify: self.notify.clone(),
            next,
            resume: next,
            buf: VecDeque::new(),
            skipped: Vec::new(),
        }))
    }

    fn revision(&self) -> Result<Revision, StoreError> {
        let tx = self.db.begin_read().map_err(be)?;
        let meta = tx.open_table(META).map_err(be)?;
        Ok(meta
            .get(REVISION)
            .map_err(be)?
            .map(|g| g.value())
            .unwrap_or(0))
    }

    fn describe(&self) -> String {
        format!("embedded store `{}`", self.path.display())
    }
}

/// A watch over the change log.
struct EmbeddedWatch {
    db: Arc<Database>,
    notify: Notify,
    /// The next revision to read from the log.
    next: Revision,
    /// The revision to resume from after what was delivered.
    resume: Revision,
    buf: VecDeque<Event>,
    skipped: Vec<Skipped>,
}

impl std::fmt::Debug for EmbeddedWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedWatch")
            .field("next", &self.next)
            .finish()
    }
}

impl EmbeddedWatch {
    /// Reads log entries from `next` on into the buffer.
    fn fill(&mut self) -> Result<(), StoreError> {
        let tx = self.db.begin_read().map_err(be)?;
        let meta = tx.open_table(META).map_err(be)?;
        let compacted = meta
            .get(COMPACTED)
            .map_err(be)?
            .map(|g| g.value())
            .unwrap_or(0);
        if self.next <= compacted {
            return Err(StoreError::Compacted {
                requested: self.next,
                compacted,
            });
        }
        let log = tx.open_table(CHANGELOG).map_err(be)?;
        for entry in log.range(self.next..).map_err(be)?.take(1000) {
            let (k, v) = entry.map_err(be)?;
            let rev = k.value();
            let items: Vec<Value> =
                serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt {
                    key: format!("changelog/{rev}"),
                    reason: e.to_string(),
                })?;
            for item in items {
                let kind = match item.get("type").and_then(Value::as_str) {
                    Some("ADDED") => EventKind::Added,
                    Some("MODIFIED") => EventKind::Modified,
                    _ => EventKind::Deleted,
                };
                let raw = item.get("key").and_then(Value::as_str).unwrap_or_default();
                let obj = item.get("object").cloned().unwrap_or(Value::Null);
                let obj_rev = obj
                    .get("metadata")
                    .and_then(|m| m.get("resourceVersion"))
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(rev);
                match ObjectKey::from_storage_key(raw) {
                    Ok(key) => self.buf.push_back(Event {
                        kind,
                        revision: rev,
                        stored: Stored::new(key, obj_rev, obj),
                    }),
                    Err(e) => self.skipped.push(Skipped {
                        key: raw.to_owned(),
                        reason: e.to_string(),
                        corrupt: true,
                    }),
                }
            }
            self.next = rev + 1;
        }
        Ok(())
    }
}

impl Watch for EmbeddedWatch {
    fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = crate::pop_buffered(&mut self.buf, &mut self.resume) {
                return Ok(Some(e));
            }
            self.fill()?;
            if !self.buf.is_empty() {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let wait = (deadline - now).min(POLL);
            let (lock, cvar) = &*self.notify;
            if let Ok(guard) = lock.lock() {
                if *guard < self.next {
                    let _ = cvar.wait_timeout(guard, wait);
                }
            }
        }
    }

    fn resume_from(&self) -> Revision {
        self.resume
    }

    fn take_skipped(&mut self) -> Vec<Skipped> {
        std::mem::take(&mut self.skipped)
    }
}
