//! The etcd backend, speaking etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/txn`,
//! `/v3/watch`) over HTTP/1.1, plain or TLS (rustls, with client certificates): no
//! gRPC stack, no async runtime.
//!
//! - Keys and values are Calico's (see the crate docs); `resourceVersion` is the
//!   key's mod revision, and every write is one etcd transaction that compares the
//!   mod revision of each key it touches with what was read (0 for "absent").
//! - A commit first reads every key it touches in one read-only transaction (one
//!   consistent revision), plans the writes with the shared CAS rules, then sends
//!   one write transaction. If another writer got in between, the compare fails and
//!   the commit starts over (bounded); an explicit revision that no longer matches
//!   is a [`StoreError::Conflict`] naming both revisions.
//! - Several endpoints: requests go to the last one that answered and fail over to
//!   the next on connection errors, timeouts and "unavailable" answers. Each request
//!   has a deadline per endpoint ([`EtcdOptions::timeout`]), so an etcd that is down
//!   or hangs gives an error within `timeout` × endpoints, never a hang.
//! - Requests are checked against etcd's limits before sending: at most
//!   `max_request_bytes` (etcd's default 1.5 MiB) and `max_txn_ops` objects (128).
//! - Keys under `/calico/` that are not resources tabby reads, and values that do
//!   not decode as the object their key names, are reported in
//!   [`crate::Listing::skipped`] (or [`crate::Watch::take_skipped`]) and skipped.

mod http;
mod tls;

use std::collections::VecDeque;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::key::{prefix_end, CALICO_PREFIX, TABBY_PREFIX};
use crate::object::{decode_stored, plan, stub_object, to_bytes, Current, Planned};
use crate::{
    check_distinct, list_prefix, object, query_matches, Event, EventKind, ListQuery, Listing,
    ObjectKey, Op, Outcome, Revision, Skipped, Store, StoreError, Stored, Watch,
};

use http::Endpoint;
pub use tls::EtcdTls;

/// Limits and timeouts of the etcd backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// Deadline of one request to one endpoint (connect, send, answer).
    pub timeout: Duration,
    /// Deadline of one connection attempt.
    pub connect_timeout: Duration,
    /// etcd's `--max-request-bytes` (default 1.5 MiB).
    pub max_request_bytes: usize,
    /// etcd's `--max-txn-ops` (default 128).
    pub max_txn_ops: usize,
    /// How often a commit starts over when another writer got in between.
    pub retries: usize,
    /// CA, client certificate and key for `https://` endpoints.
    pub tls: EtcdTls,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            max_request_bytes: 1_572_864,
            max_txn_ops: 128,
            retries: 10,
            tls: EtcdTls::default(),
        }
    }
}

/// A store in etcd.
#[derive(Debug, Clone)]
pub struct Etcd {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoints: Vec<Endpoint>,
    preferred: AtomicUsize,
    opts: EtcdOptions,
    tls: http::Tls,
}

/// One key-value pair as etcd returns it.
#[derive(Debug, Clone)]
struct Kv {
    key: String,
    value: Vec<u8>,
    mod_revision: Revision,
    create_revision: Revision,
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// etcd's JSON gateway writes 64-bit integers as strings; accept both.
fn num(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn header_revision(v: &Value) -> Revision {
    num(v.get("header").and_then(|h| h.get("revision")))
}

fn parse_kv(v: &Value) -> Result<Kv, StoreError> {
    let dec = |field: &str| -> Result<Vec<u8>, StoreError> {
        match v.get(field).and_then(Value::as_str) {
            None => Ok(Vec::new()),
            Some(t) => B64.decode(t).map_err(|e| {
                StoreError::Backend(format!("etcd sent bad base64 in `{field}`: {e}"))
            }),
        }
    };
    let key = String::from_utf8_lossy(&dec("key")?).into_owned();
    Ok(Kv {
        key,
        value: dec("value")?,
        mod_revision: num(v.get("mod_revision")),
        create_revision: num(v.get("create_revision")),
    })
}

fn kvs(v: &Value) -> Result<Vec<Kv>, StoreError> {
    v.get("kvs")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(parse_kv).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// Whether etcd's error answer means "try another member".
fn retryable(code: u64, message: &str) -> bool {
    code == 14
        || message.contains("leader changed")
        || message.contains("no leader")
        || message.contains("request timed out")
        || message.contains("not capable")
}

impl Etcd {
    /// A store at comma-separated endpoints (`http://127.0.0.1:2379,https://...`).
    /// Nothing is contacted until the first request, but the TLS files of
    /// [`EtcdOptions::tls`] are read and checked here: `https://` endpoints need a CA
    /// file, and TLS files without an `https://` endpoint are an error
    /// ([`StoreError::Config`], naming the file).
    pub fn new(endpoints: &str, opts: EtcdOptions) -> Result<Self, StoreError> {
        let endpoints = endpoints
            .split(',')
            .filter(|e| !e.trim().is_empty())
            .map(Endpoint::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Invalid)?;
        if endpoints.is_empty() {
            return Err(StoreError::Invalid(
                "no etcd endpoint given (expected `http://HOST:PORT[,...]`)".into(),
            ));
        }
        let tls = if endpoints.iter().any(|e| e.tls) {
            Some(tls::client_config(&opts.tls)?)
        } else if opts.tls.is_set() {
            return Err(StoreError::Config(format!(
                "TLS files were given but no etcd endpoint is https (`{}`): write the endpoints as `https://HOST:PORT`",
                endpoints
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                endpoints,
                preferred: AtomicUsize::new(0),
                opts,
                tls,
            }),
        })
    }

    /// The endpoints, as given.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner
            .endpoints
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Writes a raw key and value, bypassing every check (for tests and repairs).
    pub fn put_raw(&self, key: &str, value: &[u8]) -> Result<Revision, StoreError> {
        let r = self.inner.call(
            "/v3/kv/put",
            &json!({"key": b64(key.as_bytes()), "value": b64(value)}),
        )?;
        Ok(header_revision(&r))
    }

    /// Deletes every key under `prefix` (for tests: a clean slate).
    pub fn delete_prefix(&self, prefix: &str) -> Result<Revision, StoreError> {
        let r = self.inner.call(
            "/v3/kv/deleterange",
            &json!({"key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix))}),
        )?;
        Ok(header_revision(&r))
    }

    /// Compacts etcd's history up to `revision` (watches from before it then fail
    /// with [`StoreError::Compacted`]).
    pub fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.inner.call(
            "/v3/kv/compaction",
            &json!({"revision": revision.to_string(), "physical": true}),
        )?;
        Ok(())
    }
}

impl Inner {
    /// The endpoints to try, in order: from the last one that answered round the
    /// list, twice (a member restarting or electing a leader gets a second
    /// chance), with a short pause between the rounds.
    fn failover_order(&self) -> impl Iterator<Item = (usize, &Endpoint)> {
        let n = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        (0..2).flat_map(move |round| {
            if round > 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
            (0..n).filter_map(move |i| {
                let idx = (start + i) % n;
                self.endpoints.get(idx).map(|ep| (idx, ep))
            })
        })
    }

    /// One request, failing over between endpoints.
    fn call(&self, path: &str, body: &Value) -> Result<Value, StoreError> {
        let bytes = serde_json::to_vec(body).map_err(StoreError::backend)?;
        let mut errors = Vec::new();
        for (idx, ep) in self.failover_order() {
            match http::post(
                ep,
                &self.tls,
                path,
                &bytes,
                self.opts.timeout,
                self.opts.connect_timeout,
            ) {
                Ok((200, body)) => {
                    self.preferred.store(idx, Ordering::Relaxed);
                    return serde_json::from_slice(&body).map_err(|e| {
                        StoreError::Backend(format!(
                            "etcd at {ep} sent an answer that is not JSON: {e}"
                        ))
                    });
                }
                Ok((status, body)) => {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let message = v
                        .get("message")
                        .or_else(|| v.get("error"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            String::from_utf8_lossy(&body).chars().take(200).collect()
                        });
                    let code = num(v.get("code"));
                    if status == 503 || retryable(code, &message) {
                        errors.push(format!("{ep}: {message}"));
                        continue;
                    }
                    if message.contains("request is too large") {
                        return Err(StoreError::TooLarge {
                            what: "the request".into(),
                            bytes: bytes.len(),
                            limit: self.opts.max_request_bytes,
                        });
                    }
                    return Err(StoreError::Backend(format!(
                        "etcd at {ep} answered {status}: {message}"
                    )));
                }
                Err(e) => errors.push(format!("{ep}: {e}")),
            }
        }
        errors.dedup();
        Err(StoreError::Unavailable {
            reason: format!("no etcd endpoint answered ({})", errors.join("; ")),
        })
    }

    fn range(
        &self,
        prefix: &str,
        revision: Option<Revision>,
    ) -> Result<(Revision, Vec<Kv>), StoreError> {
        let mut body =
            json!({"key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix))});
        if let (Some(r), Some(obj)) = (revision, body.as_object_mut()) {
            obj.insert("revision".into(), Value::from(r.to_string()));
        }
        let v = self.call("/v3/kv/range", &body)?;
        Ok((header_revision(&v), kvs(&v)?))
    }

    fn get_one(&self, key: &str) -> Result<(Revision, Option<Kv>), StoreError> {
        let v = self.call("/v3/kv/range", &json!({"key": b64(key.as_bytes())}))?;
        Ok((header_revision(&v), kvs(&v)?.into_iter().next()))
    }

    fn revision(&self) -> Result<Revision, StoreError> {
        let v = self.call(
            "/v3/kv/range",
            &json!({"key": b64(CALICO_PREFIX.as_bytes()), "count_only": true}),
        )?;
        Ok(header_revision(&v))
    }

    /// Reads `keys` in one transaction (one revision).
    fn read_many(&self, keys: &[String]) -> Result<Vec<Current>, StoreError> {
        let success: Vec<Value> = keys
            .iter()
            .map(|k| json!({"request_range": {"key": b64(k.as_bytes())}}))
            .collect();
        let v = self.call("/v3/kv/txn", &json!({"success": success}))?;
        let responses = v
            .get("responses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let kv = responses
                .get(i)
                .and_then(|r| r.get("response_range"))
                .map(kvs)
                .transpose()?
                .and_then(|v| v.into_iter().next());
            out.push(match kv {
                None => None,
                Some(kv) => {
                    let value: Value =
                        serde_json::from_slice(&kv.value).map_err(|e| StoreError::Corrupt {
                            key: key.clone(),
                            reason: format!("not JSON: {e}"),
                        })?;
                    Some((kv.mod_revision, value))
                }
            });
        }
        Ok(out)
    }
}

impl Store for Etcd {
    fn get(&self, key: &ObjectKey) -> Result<Option<Stored>, StoreError> {
        let raw = key.storage_key();
        let (_, kv) = self.inner.get_one(&raw)?;
        let Some(kv) = kv else { return Ok(None) };
        decode_stored(&raw, &kv.value, kv.mod_revision)
            .map(Some)
            .map_err(|s| StoreError::Corrupt {
                key: s.key,
                reason: s.reason,
            })
    }

    fn list(&self, query: &ListQuery) -> Result<Listing, StoreError> {
        let prefixes = match query.kind {
            Some(k) => vec![list_prefix(k, query.namespace.as_deref())],
            None => vec![CALICO_PREFIX.to_owned(), TABBY_PREFIX.to_owned()],
        };
        let mut out = Listing::default();
        for p in prefixes {
            let pin = (out.revision > 0).then_some(out.revision);
            let (rev, kvs) = self.inner.range(&p, pin)?;
            if out.revision == 0 {
                out.revision = rev;
            }
            for kv in kvs {
                match decode_stored(&kv.key, &kv.value, kv.mod_revision) {
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
        let opts = &self.inner.opts;
        let keys = ops
            .iter()
            .map(object::op_key)
            .collect::<Result<Vec<_>, _>>()?;
        check_distinct(&keys)?;
        if keys.len() > opts.max_txn_ops {
            return Err(StoreError::Invalid(format!(
                "{} objects in one transaction, more than the {} etcd accepts (its `--max-txn-ops`); apply them in smaller sets",
                keys.len(),
                opts.max_txn_ops
            )));
        }
        let raw_keys: Vec<String> = keys.iter().map(ObjectKey::storage_key).collect();
        for _ in 0..=opts.retries {
            let current = self.inner.read_many(&raw_keys)?;
            let planned = ops
                .iter()
                .zip(&current)
                .map(|(op, cur)| plan(op, cur))
                .collect::<Result<Vec<_>, _>>()?;
            let mut compare = Vec::new();
            let mut success = Vec::new();
            let mut size = 0usize;
            for (p, raw) in planned.iter().zip(&raw_keys) {
                let (Some(expected), false) = (p.expected(), matches!(p, Planned::Noop { .. }))
                else {
                    continue;
                };
                compare.push(json!({"key": b64(raw.as_bytes()), "target": "MOD", "result": "EQUAL", "mod_revision": expected.to_string()}));
                size += raw.len() * 2 + 32;
                match p {
                    Planned::Put { value, key, .. } => {
                        let bytes = to_bytes(value)?;
                        let one = raw.len() + bytes.len() + 64;
                        if one > opts.max_request_bytes {
                            return Err(StoreError::TooLarge {
                                what: key.to_string(),
                                bytes: one,
                                limit: opts.max_request_bytes,
                            });
                        }
                        size += one;
                        success.push(json!({"request_put": {"key": b64(raw.as_bytes()), "value": b64(&bytes)}}));
                    }
                    Planned::Delete { .. } => {
                        success.push(json!({"request_delete_range": {"key": b64(raw.as_bytes())}}));
                    }
                    Planned::Noop { .. } => {}
                }
            }
            if success.is_empty() {
                let rev = self.inner.revision()?;
                return Ok(planned.into_iter().map(|p| p.outcome(rev)).collect());
            }
            if size > opts.max_request_bytes {
                return Err(StoreError::TooLarge {
                    what: format!("a transaction of {} objects", success.len()),
                    bytes: size,
                    limit: opts.max_request_bytes,
                });
            }
            let v = self.inner.call(
                "/v3/kv/txn",
                &json!({"compare": compare, "success": success}),
            )?;
            if v.get("succeeded").and_then(Value::as_bool) == Some(true) {
                let rev = header_revision(&v);
                return Ok(planned.into_iter().map(|p| p.outcome(rev)).collect());
            }
            // Someone wrote in between: read again and re-plan.
        }
        let first = keys
            .first()
            .cloned()
            .ok_or_else(|| StoreError::Invalid("empty commit".into()))?;
        let (_, kv) = self.inner.get_one(&first.storage_key())?;
        Err(StoreError::Conflict {
            key: first,
            expected: 0,
            actual: kv.map(|k| k.mod_revision),
        })
    }

    fn watch(&self, from: Revision) -> Result<Box<dyn Watch>, StoreError> {
        let next = if from == 0 {
            self.inner.revision()? + 1
        } else {
            from
        };
        let mut w = EtcdWatch {
            inner: self.inner.clone(),
            rx: None,
            conn: None,
            next,
            resume: next,
            buf: VecDeque::new(),
            skipped: Vec::new(),
        };
        w.connect()?;
        Ok(Box::new(w))
    }

    fn revision(&self) -> Result<Revision, StoreError> {
        self.inner.revision()
    }

    fn describe(&self) -> String {
        format!("etcd {}", self.endpoints().join(","))
    }
}

enum Msg {
    Value(Value),
    Closed(String),
}

/// A watch over one HTTP stream; a reader thread turns the stream into messages.
struct EtcdWatch {
    inner: Arc<Inner>,
    rx: Option<Receiver<Msg>>,
    conn: Option<TcpStream>,
    next: Revision,
    resume: Revision,
    buf: VecDeque<Event>,
    skipped: Vec<Skipped>,
}

impl std::fmt::Debug for EtcdWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdWatch")
            .field("next", &self.next)
            .finish()
    }
}

impl Drop for EtcdWatch {
    fn drop(&mut self) {
        self.close();
    }
}

/// The watched range: both resource prefixes and what lies between them (keys
/// there that are not resources are ignored).
fn watch_range() -> (String, Vec<u8>) {
    (CALICO_PREFIX.to_owned(), prefix_end(TABBY_PREFIX))
}

fn under_our_prefixes(key: &str) -> bool {
    key.starts_with(CALICO_PREFIX) || key.starts_with(TABBY_PREFIX)
}

impl EtcdWatch {
    fn close(&mut self) {
        if let Some(c) = self.conn.take() {
            let _ = c.shutdown(Shutdown::Both);
        }
        self.rx = None;
    }

    /// Opens the stream at `next`, trying every endpoint, and waits for etcd to
    /// confirm the watch.
    fn connect(&mut self) -> Result<(), StoreError> {
        self.close();
        let opts = &self.inner.opts;
        let (key, end) = watch_range();
        let body = json!({"create_request": {
            "key": b64(key.as_bytes()), "range_end": b64(&end),
            "start_revision": self.next.to_string(), "prev_kv": true}});
        let bytes = serde_json::to_vec(&body).map_err(StoreError::backend)?;
        let mut errors = Vec::new();
        let inner = Arc::clone(&self.inner);
        for (idx, ep) in inner.failover_order() {
            let (status, reader, conn) = match http::open_stream(
                ep,
                &self.inner.tls,
                "/v3/watch",
                &bytes,
                opts.timeout,
                opts.connect_timeout,
            ) {
                Ok(x) => x,
                Err(e) => {
                    errors.push(format!("{ep}: {e}"));
                    continue;
                }
            };
            if status != 200 {
                let _ = conn.shutdown(Shutdown::Both);
                errors.push(format!("{ep}: answered {status}"));
                continue;
            }
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let stream = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
                for v in stream {
                    let msg = match v {
                        Ok(v) => Msg::Value(v),
                        Err(e) => Msg::Closed(e.to_string()),
                    };
                    let closed = matches!(msg, Msg::Closed(_));
                    if tx.send(msg).is_err() || closed {
                        return;
                    }
                }
                let _ = tx.send(Msg::Closed("the stream ended".into()));
            });
            // etcd first confirms the watch (`created`).
            match rx.recv_timeout(opts.timeout) {
                Ok(Msg::Value(v)) => {
                    self.conn = Some(conn);
                    self.rx = Some(rx);
                    self.inner.preferred.store(idx, Ordering::Relaxed);
                    self.handle(&v)?;
                    return Ok(());
                }
                Ok(Msg::Closed(e)) => errors.push(format!("{ep}: {e}")),
                Err(_) => {
                    let _ = conn.shutdown(Shutdown::Both);
                    errors.push(format!("{ep}: no answer to the watch"));
                }
            }
        }
        errors.dedup();
        Err(StoreError::Unavailable {
            reason: format!("cannot watch: {}", errors.join("; ")),
        })
    }

    /// Turns one stream message into buffered events; `Ok(false)` if the stream
    /// must be reopened.
    fn handle(&mut self, v: &Value) -> Result<bool, StoreError> {
        if v.get("error").is_some() {
            return Ok(false);
        }
        let Some(result) = v.get("result") else {
            return Ok(true);
        };
        let compact = num(result.get("compact_revision"));
        if compact > 0 {
            self.close();
            return Err(StoreError::Compacted {
                requested: self.next,
                compacted: compact.saturating_sub(1),
            });
        }
        if result.get("canceled").and_then(Value::as_bool) == Some(true) {
            return Ok(false);
        }
        let events = result
            .get("events")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for e in events {
            let deleted = e.get("type").and_then(Value::as_str) == Some("DELETE");
            let Some(kv) = e.get("kv").map(parse_kv).transpose()? else {
                continue;
            };
            let rev = kv.mod_revision;
            self.next = self.next.max(rev + 1);
            if !under_our_prefixes(&kv.key) {
                continue;
            }
            let event = if deleted {
                let key = match ObjectKey::from_storage_key(&kv.key) {
                    Ok(k) => k,
                    Err(err) => {
                        self.skipped.push(Skipped {
                            key: kv.key.clone(),
                            reason: err.to_string(),
                            corrupt: matches!(err, crate::KeyError::Malformed),
                        });
                        continue;
                    }
                };
                let prev = e.get("prev_kv").map(parse_kv).transpose()?;
                let stored = prev
                    .and_then(|p| decode_stored(&p.key, &p.value, p.mod_revision).ok())
                    .unwrap_or_else(|| Stored::new(key.clone(), rev, stub_object(&key)));
                Event {
                    kind: EventKind::Deleted,
                    revision: rev,
                    stored,
                }
            } else {
                match decode_stored(&kv.key, &kv.value, rev) {
                    Ok(stored) => Event {
                        kind: if kv.create_revision == rev {
                            EventKind::Added
                        } else {
                            EventKind::Modified
                        },
                        revision: rev,
                        stored,
                    },
                    Err(skip) => {
                        self.skipped.push(skip);
                        continue;
                    }
                }
            };
            self.buf.push_back(event);
        }
        Ok(true)
    }
}

impl Watch for EtcdWatch {
    fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = crate::pop_buffered(&mut self.buf, &mut self.resume) {
                return Ok(Some(e));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let msg = match &self.rx {
                Some(rx) => match rx.recv_timeout(deadline - now) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => return Ok(None),
                    Err(RecvTimeoutError::Disconnected) => Msg::Closed("the stream ended".into()),
                },
                None => Msg::Closed("not connected".into()),
            };
            let keep = match msg {
                Msg::Value(v) => self.handle(&v)?,
                Msg::Closed(_) => false,
            };
            if !keep {
                // Resume where the stream stopped, on any endpoint.
                self.connect()?;
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
