//! What both backends share: turning operations into conditional writes against
//! the current state (so CAS rules live in one place), and reading values back.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tabby_api::{Kind, Resource};

use crate::{
    Action, EventKind, KeyError, ObjectKey, Op, Outcome, Revision, Skipped, StoreError, Stored,
};

/// The current state of one key as a backend read it: (mod revision, value).
pub(crate) type Current = Option<(Revision, Value)>;

/// A write the backend must make only if the key is still at `expected`
/// (0: must not exist).
#[derive(Debug, Clone)]
pub(crate) enum Planned {
    Put {
        key: ObjectKey,
        /// The JSON to store (no `resourceVersion`: that is the store's revision).
        value: Value,
        expected: Revision,
        action: Action,
    },
    Delete {
        key: ObjectKey,
        expected: Revision,
        /// The object as it was, for the outcome and the watch event.
        old: Value,
    },
    Noop {
        stored: Stored,
    },
}

impl Planned {
    pub(crate) fn key(&self) -> &ObjectKey {
        match self {
            Planned::Put { key, .. } | Planned::Delete { key, .. } => key,
            Planned::Noop { stored } => &stored.key,
        }
    }

    pub(crate) fn expected(&self) -> Option<Revision> {
        match self {
            Planned::Put { expected, .. } | Planned::Delete { expected, .. } => Some(*expected),
            Planned::Noop { stored } => Some(stored.revision),
        }
    }

    /// The outcome once the write landed at `revision`.
    pub(crate) fn outcome(self, revision: Revision) -> Outcome {
        match self {
            Planned::Put {
                key, value, action, ..
            } => Outcome {
                action,
                stored: Stored::new(key, revision, value),
            },
            Planned::Delete { key, expected, old } => Outcome {
                action: Action::Deleted,
                stored: Stored::new(key, expected, old),
            },
            Planned::Noop { stored } => Outcome {
                action: Action::Unchanged,
                stored,
            },
        }
    }

    pub(crate) fn event_kind(&self) -> Option<EventKind> {
        match self {
            Planned::Put {
                action: Action::Created,
                ..
            } => Some(EventKind::Added),
            Planned::Put { .. } => Some(EventKind::Modified),
            Planned::Delete { .. } => Some(EventKind::Deleted),
            Planned::Noop { .. } => None,
        }
    }
}

/// The key an operation is about.
pub(crate) fn op_key(op: &Op) -> Result<ObjectKey, StoreError> {
    match op {
        Op::Create(r) | Op::Update(r, _) | Op::Apply(r) => key_of(r),
        Op::Delete(k, _) => Ok(k.clone()),
    }
}

/// The key of a resource: its kind, name, and namespace (`default` when a
/// namespaced object names none, as `calicoctl` and `kubectl` assume).
pub fn key_of(r: &Resource) -> Result<ObjectKey, StoreError> {
    let name = r.name().ok_or_else(|| {
        StoreError::Invalid(format!(
            "a {} without `metadata.name` cannot be stored",
            r.kind()
        ))
    })?;
    let ns = r.namespace().filter(|n| !n.is_empty()).unwrap_or("default");
    ObjectKey::new(r.kind(), Some(ns), name).map_err(StoreError::Invalid)
}

/// What `op` would do to the object as it is stored now (`None`: absent), without
/// writing: the dry run of a commit, with the same rules.
pub fn preview(op: &Op, current: Option<&Stored>) -> Result<Action, StoreError> {
    let cur: Current = current.map(|s| (s.revision, s.object.clone()));
    Ok(match plan(op, &cur)? {
        Planned::Put { action, .. } => action,
        Planned::Delete { .. } => Action::Deleted,
        Planned::Noop { .. } => Action::Unchanged,
    })
}

/// Plans one operation against the key's current state.
pub(crate) fn plan(op: &Op, current: &Current) -> Result<Planned, StoreError> {
    let key = op_key(op)?;
    let cur_rev = current.as_ref().map(|c| c.0);
    match op {
        Op::Create(r) => match cur_rev {
            Some(revision) => Err(StoreError::AlreadyExists { key, revision }),
            None => Ok(put(key, new_object(r, None)?, 0, Action::Created)),
        },
        Op::Update(r, expected) => update(key, r, Some(*expected), current, false),
        Op::Apply(r) => {
            let explicit = resource_version(r)?;
            update(key, r, explicit, current, true)
        }
        Op::Delete(_, pre) => {
            let Some((rev, old)) = current else {
                return Err(StoreError::NotFound { key });
            };
            if let Some(p) = pre.filter(|p| p != rev) {
                return Err(StoreError::Conflict {
                    key,
                    expected: p,
                    actual: Some(*rev),
                });
            }
            Ok(Planned::Delete {
                key,
                expected: *rev,
                old: with_revision(old.clone(), *rev),
            })
        }
    }
}

fn put(key: ObjectKey, value: Value, expected: Revision, action: Action) -> Planned {
    Planned::Put {
        key,
        value,
        expected,
        action,
    }
}

fn update(
    key: ObjectKey,
    r: &Resource,
    expected: Option<Revision>,
    current: &Current,
    create_if_absent: bool,
) -> Result<Planned, StoreError> {
    match (current, expected) {
        (None, None) if create_if_absent => Ok(put(key, new_object(r, None)?, 0, Action::Created)),
        (None, Some(e)) if create_if_absent => Err(StoreError::Conflict {
            key,
            expected: e,
            actual: None,
        }),
        (None, _) => Err(StoreError::NotFound { key }),
        (Some((rev, _)), Some(e)) if *rev != e => Err(StoreError::Conflict {
            key,
            expected: e,
            actual: Some(*rev),
        }),
        (Some((rev, old)), _) => {
            let value = new_object(r, Some(old))?;
            if comparable(&value) == comparable(old) {
                return Ok(Planned::Noop {
                    stored: Stored::new(key, *rev, old.clone()),
                });
            }
            Ok(put(key, value, *rev, Action::Updated))
        }
    }
}

/// `metadata.resourceVersion` of an object being written, if it names one.
fn resource_version(r: &Resource) -> Result<Option<Revision>, StoreError> {
    match r.metadata().resource_version.as_deref() {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            StoreError::Invalid(format!(
                "`metadata.resourceVersion` `{t}` is not a revision this store gave out (leave it out to overwrite)"
            ))
        }),
    }
}

/// The JSON to store for `r`: the canonical `apiVersion`, no `resourceVersion`, the
/// namespace filled in, and `uid`/`creationTimestamp` kept from `old` or made new.
fn new_object(r: &Resource, old: Option<&Value>) -> Result<Value, StoreError> {
    let mut v = serde_json::to_value(r).map_err(StoreError::backend)?;
    let Some(obj) = v.as_object_mut() else {
        return Err(StoreError::Invalid("the object is not a mapping".into()));
    };
    obj.insert("apiVersion".into(), Value::from(r.kind().api_version()));
    obj.insert("kind".into(), Value::from(r.kind().name()));
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(StoreError::Invalid("`metadata` is not a mapping".into()));
    };
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    if r.kind().is_namespaced() {
        let ns = r.namespace().filter(|n| !n.is_empty()).unwrap_or("default");
        meta.insert("namespace".into(), Value::from(ns));
    } else {
        meta.remove("namespace");
    }
    let old_meta = old.and_then(|o| o.get("metadata"));
    for (field, make) in [
        ("uid", new_uid as fn() -> String),
        ("creationTimestamp", now_rfc3339),
    ] {
        let kept = old_meta
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .map(str::to_owned);
        meta.insert(field.into(), Value::from(kept.unwrap_or_else(make)));
    }
    Ok(v)
}

/// The object without the fields the store manages, for "unchanged" detection.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in ["resourceVersion", "uid", "creationTimestamp"] {
            m.remove(f);
        }
    }
    v
}

/// `v` with `metadata.resourceVersion` set to `rev`.
pub(crate) fn with_revision(mut v: Value, rev: Revision) -> Value {
    if let Some(obj) = v.as_object_mut() {
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.insert("resourceVersion".into(), Value::from(rev.to_string()));
        }
    }
    v
}

/// The stored JSON bytes of a planned value (`resourceVersion` never stored).
pub(crate) fn to_bytes(v: &Value) -> Result<Vec<u8>, StoreError> {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&v).map_err(StoreError::backend)
}

/// Reads a stored key and value back, checking that the value is an object of
/// the kind and name its key says. Anything else is skipped with a reason.
pub(crate) fn decode_stored(
    raw_key: &str,
    bytes: &[u8],
    revision: Revision,
) -> Result<Stored, Skipped> {
    let skip = |reason: String, corrupt: bool| Skipped {
        key: raw_key.to_owned(),
        reason,
        corrupt,
    };
    let key = ObjectKey::from_storage_key(raw_key).map_err(|e| {
        let corrupt = matches!(e, KeyError::Malformed);
        skip(e.to_string(), corrupt)
    })?;
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| skip(format!("not JSON: {e}"), true))?;
    let res = Resource::from_json(value.clone()).map_err(|e| skip(e.to_string(), true))?;
    if res.kind() != key.kind() {
        return Err(skip(
            format!(
                "the key is a {} but the value is a {}",
                key.kind(),
                res.kind()
            ),
            true,
        ));
    }
    if res.name().is_some_and(|n| n != key.name()) {
        return Err(skip(
            format!(
                "the value's name `{}` differs from the key's",
                res.name().unwrap_or_default()
            ),
            true,
        ));
    }
    Ok(Stored::new(key, revision, value))
}

/// The key's kind and a minimal object, for a deletion whose old value is unknown.
pub(crate) fn stub_object(key: &ObjectKey) -> Value {
    let mut meta = Map::new();
    meta.insert("name".into(), Value::from(key.name()));
    if let Some(ns) = key.namespace() {
        meta.insert("namespace".into(), Value::from(ns));
    }
    let kind: Kind = key.kind();
    serde_json::json!({"apiVersion": kind.api_version(), "kind": kind.name(), "metadata": meta})
}

/// A random version-4 UUID (no dependency: std's randomly keyed hasher, the time,
/// the process id and a counter).
fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let word = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.finish()
    };
    let (a, b) = (word(1), word(2));
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Now as RFC 3339 UTC with seconds (`2026-11-25T13:46:39Z`), as Kubernetes writes it.
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil, for the proleptic Gregorian calendar.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_795_614_399, "2026-11-25T13:46:39Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(secs), want);
        }
    }

    #[test]
    fn uids_are_v4_and_distinct() {
        let a = new_uid();
        let b = new_uid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{a}");
    }

    #[test]
    fn decode_rejects_what_is_not_its_key() {
        let k = "/calico/resources/v3/projectcalico.org/tiers/t";
        let tier = br#"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"t"},"spec":{}}"#;
        let s = decode_stored(k, tier, 7).unwrap();
        assert_eq!(s.revision, 7);
        assert_eq!(s.object["metadata"]["resourceVersion"], "7");
        let cases: [(&str, &[u8], &str); 4] = [
            (k, b"{not json", "not JSON"),
            (
                k,
                br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t"}}"#,
                "the key is a Tier but the value is a Namespace",
            ),
            (
                k,
                br#"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"u"}}"#,
                "differs from the key",
            ),
            (
                "/calico/resources/v3/projectcalico.org/tiers/a/b",
                tier,
                "does not have the form",
            ),
        ];
        for (key, bytes, want) in cases {
            let e = decode_stored(key, bytes, 1).unwrap_err();
            assert!(e.reason.contains(want), "{}: {}", key, e.reason);
            assert!(e.corrupt);
        }
    }
}
