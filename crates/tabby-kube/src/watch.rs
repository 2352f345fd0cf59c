//! One watch of one resource type from a resourceVersion, through kube-rs's own
//! `Api::watch`, until the server closes the stream.

use futures_util::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, WatchEvent as KubeEvent, WatchParams};
use kube::Client;
use serde_json::Value;
use tabby_api::{Group, Kind};
use tabby_diag::Diagnostics;

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
    let api_version = t.api_version;
    let rt = read::runtime()?;
    rt.block_on(async move {
        let client = Client::try_from(resolved.config).map_err(|e| {
            ReadError::Config(format!(
                "cannot set up a client for `{server}`: {}",
                read::lower_first(&e.to_string())
            ))
        })?;
        let mut reader = Reader {
            client: client.clone(),
            server: server.clone(),
            opts,
            diagnostics: Diagnostics::new(),
            count: 0,
        };
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let ar = ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: api_version.to_owned(),
            kind: target.kind.name().to_owned(),
            plural: t.plural.to_owned(),
        };
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        let seconds = u32::try_from(opts.timeout.as_secs()).unwrap_or(u32::MAX);
        let wp = WatchParams::default().timeout(seconds.clamp(1, 295));
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let mut out = Watched {
            resource_version: resource_version.to_owned(),
            ..Watched::default()
        };
        let path = t.path();
        let started = tokio::time::timeout_at(deadline, api.watch(&wp, resource_version)).await;
        let stream = match started {
            Err(_) => {
                return Err(ReadError::Timeout {
                    server: server.clone(),
                    seconds: opts.timeout.as_secs(),
                }
                .into())
            }
            Ok(Err(kube::Error::Api(s))) if s.code == 410 => {
                return Err(expired(resource_version, &s));
            }
            Ok(Err(e)) => return Err(reader.request_error(&path, &e).into()),
            Ok(Ok(s)) => s,
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            // The deadline ends this watch like a server-side close: resume from
            // `resource_version`.
            let Ok(next) = tokio::time::timeout_at(deadline, stream.next()).await else {
                break;
            };
            let event = match next {
                None => break,
                // A connection cut mid-stream ends the watch; resume from what was seen.
                Some(Err(kube::Error::Service(_) | kube::Error::ReadEvents(_))) => break,
                Some(Err(e)) => return Err(reader.request_error(&path, &e).into()),
                Some(Ok(ev)) => ev,
            };
            let (change, obj) = match event {
                KubeEvent::Added(o) => (ChangeType::Added, o),
                KubeEvent::Modified(o) => (ChangeType::Modified, o),
                KubeEvent::Deleted(o) => (ChangeType::Deleted, o),
                KubeEvent::Bookmark(b) => {
                    out.resource_version = b.metadata.resource_version;
                    continue;
                }
                KubeEvent::Error(s) if s.code == 410 => {
                    return Err(expired(&out.resource_version, &s));
                }
                KubeEvent::Error(s) => {
                    return Err(ReadError::Request {
                        server: server.clone(),
                        path,
                        reason: format!(
                            "the watch ended with error {} ({})",
                            s.code,
                            read::status_reason(&s)
                        ),
                    }
                    .into())
                }
            };
            let rv = obj.metadata.resource_version.clone().unwrap_or_default();
            if !rv.is_empty() {
                out.resource_version.clone_from(&rv);
            }
            if out.events.len() >= opts.max_objects {
                return Err(ReadError::TooMany(opts.max_objects).into());
            }
            let value = serde_json::to_value(&obj).unwrap_or(Value::Null);
            if let Some(object) = reader.normalise(&t, value) {
                out.events.push(WatchEvent {
                    change,
                    resource_version: rv,
                    object,
                });
            }
        }
        out.diagnostics = reader.diagnostics;
        Ok(out)
    })
}

fn expired(resource_version: &str, s: &kube::core::Status) -> WatchError {
    WatchError::Expired {
        resource_version: resource_version.to_owned(),
        reason: read::status_reason(s),
    }
}
