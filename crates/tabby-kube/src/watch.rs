//! One watch of one resource type from a resourceVersion, until the server closes
//! the stream.
//!
//! The request goes through kube-rs's `Client::send` (configuration, TLS and
//! authentication stay kube-rs's); the body is read here, frame by frame, split into
//! lines with a hard per-line limit ([`crate::ReadOptions::max_event_bytes`]) and
//! parsed as watch events. kube-rs's `Api::watch` splits lines without a limit.

use http_body_util::BodyExt;
use kube::api::WatchParams;
use kube::client::Body;
use kube::core::Status;
use kube::Client;
use serde_json::Value;
use tabby_api::{Group, Kind};
use tabby_diag::Diagnostics;

use crate::body::{self, Lines, TooLong};
use crate::read::{self, Reader, Target, CALICO_CRD, CALICO_V3};
use crate::{ClusterObject, ClusterSource, ReadError, ReadOptions};

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One change seen by a watch: the object as it is after the change (before it,
/// for a deletion), normalised as [`crate::read_cluster`] normalises listed objects.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub change: ChangeType,
    /// The object's `metadata.resourceVersion` (empty if absent).
    pub resource_version: String,
    pub object: ClusterObject,
}

/// What one watch saw before its stream ended.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// Events in the order the server sent them (bookmarks left out).
    pub events: Vec<WatchEvent>,
    /// The last resourceVersion seen (events and bookmarks), or the one the watch
    /// started from: pass it to the next [`crate::watch`] to resume.
    pub resource_version: String,
    /// Objects that could not be converted (CRD-stored Calico objects).
    pub diagnostics: Diagnostics,
}

/// Why a watch failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The resourceVersion is too old for the server (410 Gone): list again
    /// ([`crate::read_cluster`]) and watch from the list's resourceVersion.
    #[error("expired: re-list: the cluster no longer has the history from resourceVersion `{resource_version}` ({reason})")]
    Expired {
        resource_version: String,
        reason: String,
    },
    /// Anything else: configuration, connection, 401/403/5xx, an error event.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Which resource type to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchTarget {
    pub kind: Kind,
    /// For Calico's kinds: watch the `crd.projectcalico.org/v1` CRDs instead of
    /// `projectcalico.org/v3` (Calico's API server). Ignored for other kinds.
    pub calico_crd: bool,
}

impl WatchTarget {
    /// The list path of this type (`/api/v1/namespaces`), the key of
    /// [`crate::ClusterRead::resource_versions`].
    pub fn path(&self) -> String {
        self.target().path()
    }

    fn target(&self) -> Target {
        let api_version = if self.kind.group() == Group::Calico {
            if self.calico_crd {
                CALICO_CRD
            } else {
                CALICO_V3
            }
        } else {
            self.kind
                .api_versions()
                .first()
                .copied()
                .unwrap_or_default()
        };
        Target {
            kind: self.kind,
            api_version,
            plural: self.kind.plural(),
        }
    }
}

pub(crate) fn watch(
    source: &ClusterSource,
    target: WatchTarget,
    resource_version: &str,
    opts: &ReadOptions,
) -> Result<Watched, WatchError> {
    let mut resolved = read::resolve(source, opts)?;
    // A watch is idle between events: bound it by `opts.timeout` as a whole instead.
    resolved.config.read_timeout = None;
    let server = resolved.config.cluster_url.to_string();
    let t = target.target();
    let rt = read::runtime()?;
    rt.block_on(async move {
        let client = Client::try_from(resolved.config).map_err(|e| {
            ReadError::Config(format!(
                "cannot set up a client for `{server}`: {}",
                read::lower_first(&e.to_string())
            ))
        })?;
        let path = t.path();
        let mut follow = Follow {
            reader: Reader {
                client: client.clone(),
                server: server.clone(),
                opts,
                diagnostics: Diagnostics::new(),
                count: 0,
            },
            target: t,
            path,
            out: Watched {
                resource_version: resource_version.to_owned(),
                ..Watched::default()
            },
        };
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let timeout = || {
            WatchError::from(ReadError::Timeout {
                server: server.clone(),
                seconds: opts.timeout.as_secs(),
            })
        };
        let seconds = u32::try_from(opts.timeout.as_secs()).unwrap_or(u32::MAX);
        let wp = WatchParams::default().timeout(seconds.clamp(1, 295));
        let request = kube::core::Request::new(&follow.path)
            .watch(&wp, resource_version)
            .map_err(|e| follow.error(&kube::Error::BuildRequest(e)))?;
        let response =
            match tokio::time::timeout_at(deadline, client.send(request.map(Body::from))).await {
                Err(_) => return Err(timeout()),
                Ok(Err(e)) => return Err(follow.error(&e)),
                Ok(Ok(r)) => r,
            };
        let status = response.status();
        let mut stream = response.into_body();
        if status.is_client_error() || status.is_server_error() {
            let Ok(s) =
                tokio::time::timeout_at(deadline, body::error_status(status.as_u16(), &mut stream))
                    .await
            else {
                return Err(timeout());
            };
            if s.code == 410 {
                return Err(expired(resource_version, &s));
            }
            return Err(follow.error(&kube::Error::Api(s.boxed())));
        }

        let mut lines = Lines::new(opts.max_event_bytes);
        let mut complete = Vec::new();
        loop {
            // The deadline ends this watch like a server-side close: resume from
            // `resource_version`.
            let Ok(frame) = tokio::time::timeout_at(deadline, stream.frame()).await else {
                break;
            };
            let data = match frame {
                // The server closed the stream: a last line without a line end counts.
                None => {
                    if let Some(last) = lines.finish() {
                        follow.line(&last, true)?;
                    }
                    break;
                }
                // A connection cut mid-stream ends the watch; resume from what was seen.
                Some(Err(_)) => break,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue, // trailers
                },
            };
            lines
                .push(&data, &mut complete)
                .map_err(|TooLong| follow.too_long())?;
            for line in complete.drain(..) {
                follow.line(&line, false)?;
            }
        }
        follow.out.diagnostics = follow.reader.diagnostics;
        Ok(follow.out)
    })
}

/// The state of one watch: what it has seen so far.
struct Follow<'a> {
    reader: Reader<'a>,
    target: Target,
    path: String,
    out: Watched,
}

impl Follow<'_> {
    /// One line of the stream: one watch event, `{"type": ..., "object": ...}`.
    /// `last`: the stream ended without a line end after it, so it may be cut off.
    fn line(&mut self, line: &[u8], last: bool) -> Result<(), WatchError> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        let event: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            // The connection was cut mid-event: resume from what was seen.
            Err(e) if last && e.is_eof() => return Ok(()),
            Err(e) => return Err(self.bad(&format!("a watch event is not JSON ({e})"))),
        };
        let Value::Object(mut event) = event else {
            return Err(self.bad("a watch event is not a JSON object"));
        };
        let object = event.remove("object");
        let kind = match event.get("type") {
            Some(Value::String(k)) => k.as_str(),
            // Not an event but a bare `Status`, as some servers end a watch.
            None if event.get("kind").and_then(Value::as_str) == Some("Status") => {
                return Err(self.status_error(Value::Object(event)));
            }
            _ => return Err(self.bad("a watch event has no `type`")),
        };
        let change = match kind {
            "ADDED" => ChangeType::Added,
            "MODIFIED" => ChangeType::Modified,
            "DELETED" => ChangeType::Deleted,
            "BOOKMARK" => {
                // Bookmarks carry only a resourceVersion: the new resume point.
                if let Some(rv) = object.as_ref().and_then(resource_version) {
                    self.out.resource_version = rv;
                }
                return Ok(());
            }
            "ERROR" => return Err(self.status_error(object.unwrap_or(Value::Null))),
            other => {
                let other: String = other.chars().take(40).collect();
                return Err(self.bad(&format!("unknown watch event type `{other}`")));
            }
        };
        let Some(object @ Value::Object(_)) = object else {
            return Err(self.bad(&format!("a watch `{kind}` event has no object")));
        };
        let rv = resource_version(&object).unwrap_or_default();
        if !rv.is_empty() {
            self.out.resource_version.clone_from(&rv);
        }
        let max = self.reader.opts.max_objects;
        if self.out.events.len() >= max {
            return Err(ReadError::TooMany(max).into());
        }
        if let Some(object) = self.reader.normalise(&self.target, object) {
            self.out.events.push(WatchEvent {
                change,
                resource_version: rv,
                object,
            });
        }
        Ok(())
    }

    /// An `ERROR` event (or a bare `Status`): 410 Gone is [`WatchError::Expired`].
    fn status_error(&self, object: Value) -> WatchError {
        let Ok(s) = serde_json::from_value::<Status>(object) else {
            return self.bad("a watch `ERROR` event does not hold a Status");
        };
        if s.code == 410 {
            return expired(&self.out.resource_version, &s);
        }
        ReadError::Request {
            server: self.reader.server.clone(),
            path: self.path.clone(),
            reason: format!(
                "the watch ended with error {} ({})",
                s.code,
                read::status_reason(&s)
            ),
        }
        .into()
    }

    fn bad(&self, reason: &str) -> WatchError {
        ReadError::Request {
            server: self.reader.server.clone(),
            path: self.path.clone(),
            reason: reason.to_owned(),
        }
        .into()
    }

    fn error(&self, e: &kube::Error) -> WatchError {
        self.reader.request_error(&self.path, e).into()
    }

    fn too_long(&self) -> WatchError {
        ReadError::TooLong {
            server: self.reader.server.clone(),
            path: self.path.clone(),
            what: "a watch event".to_owned(),
            limit: self.reader.opts.max_event_bytes,
        }
        .into()
    }
}

/// `metadata.resourceVersion`, if set.
fn resource_version(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|rv| !rv.is_empty())
        .map(str::to_owned)
}

fn expired(resource_version: &str, s: &Status) -> WatchError {
    WatchError::Expired {
        resource_version: resource_version.to_owned(),
        reason: read::status_reason(s),
    }
}
