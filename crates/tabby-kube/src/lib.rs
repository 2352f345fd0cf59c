//! Reads a live Kubernetes cluster into the form tabby's loader produces for files.
//!
//! ```text
//!  kubeconfig / $KUBECONFIG / ~/.kube/config / in-cluster service account
//!        │ kube-rs Config + Client (rustls, ring)
//!        ▼
//!  discovery: GET /api/v1, /apis, /apis/<group>/<version>
//!        │ which of tabby's kinds are served, and where (Calico: projectcalico.org/v3
//!        │ through Calico's API server if it answers, else the crd.projectcalico.org/v1 CRDs)
//!        ▼
//!  paginated lists (limit + continue; 410 Gone restarts the list; 403/404 skip the type)
//!        │ untyped JSON items; apiVersion/kind filled in, managedFields dropped,
//!        │ CRD-stored Calico objects converted to their projectcalico.org/v3 form
//!        ▼
//!  ClusterRead { objects } ──to_loaded──▶ tabby_load::Loaded (one source per object,
//!                        │                 named cluster:<context>/<Kind>[.<group>]/<ns>/<name>)
//!                        └─write_snapshot─▶ DIR/<namespace|_cluster>/<plural>[.<group>].yaml
//! ```
//!
//! [`watch`] then follows one resource type from its list's resourceVersion
//! (sent through kube-rs's `Client`, the stream split into events by tabby with a
//! per-event limit, [`ReadOptions::max_event_bytes`]; resumable; 410 Gone is
//! [`WatchError::Expired`]).
//!
//! The API is synchronous: each read runs on a private current-thread tokio runtime,
//! bounded by [`ReadOptions::timeout`].

mod body;
mod crd;
mod read;
mod snapshot;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tabby_api::Kind;
use tabby_diag::{Diagnostic, Diagnostics};
use tabby_load::{load_str, LoadOptions, Loaded};

pub use tabby_load::{SnapshotError, SnapshotObject};
pub use watch::{ChangeType, WatchError, WatchEvent, WatchTarget, Watched};

/// Stable diagnostic codes of this crate (`E09xx`, `W09xx`, `N09xx`), documented in
/// `docs/clusters.md`.
pub mod code {
    /// A resource type was not listed: the credentials may not list it (403).
    pub const FORBIDDEN: &str = "W0901";
    /// A resource type is listed by discovery but its list answered 404.
    pub const NOT_FOUND: &str = "N0902";
    /// An API group could not be discovered (for example Calico's API server is down);
    /// tabby falls back where it can.
    pub const GROUP_UNAVAILABLE: &str = "W0903";
    /// A list was restarted because its continue token expired (410 Gone).
    pub const LIST_RESTARTED: &str = "N0904";
    /// A CRD-stored Calico object could not be converted (bad metadata annotation).
    pub const BAD_CRD_OBJECT: &str = "W0905";
    /// Where Calico's resources were read from (API server or CRDs).
    pub const CALICO_SOURCE: &str = "N0906";
}

/// Which cluster to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSource {
    /// A kubeconfig file. `None`: `$KUBECONFIG` (several files, merged), else
    /// `~/.kube/config`, else the in-cluster service account (when no context is named).
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context. `None`: the file's current context.
    pub context: Option<String>,
}

/// Limits of one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Objects asked for per page (`limit`; default 500, as kubectl).
    pub page_size: u32,
    /// Longest wait for connecting and for each response (default 30 s).
    pub request_timeout: Duration,
    /// Longest time for the whole read, discovery included (default 120 s).
    pub timeout: Duration,
    /// How often one list may restart after its continue token expired (default 3).
    pub max_restarts: u32,
    /// Most objects accepted from the cluster in all (default 1,000,000); more is an error.
    pub max_objects: usize,
    /// Longest watch event accepted, in bytes: one line of a watch stream, holding one
    /// object (default 16 MiB, [`DEFAULT_MAX_EVENT_BYTES`]). A longer line is an error
    /// as soon as its first bytes past the limit arrive, so a hostile or broken server
    /// cannot make a watch hold more.
    pub max_event_bytes: usize,
    /// Longest list page accepted, in bytes (default 64 MiB, [`DEFAULT_MAX_PAGE_BYTES`]).
    /// A longer page is asked for again with half as many objects, down to one; a
    /// single object longer than this is an error.
    pub max_page_bytes: usize,
}

/// The default of [`ReadOptions::max_event_bytes`]: 16 MiB. The API server accepts
/// request bodies of at most 3 MiB and etcd stores values of at most 1.5 MiB (their
/// defaults), so one object's JSON, even with `managedFields`, stays well below it.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The default of [`ReadOptions::max_page_bytes`]: 64 MiB, 128 KiB per object in a
/// page of 500 (most objects tabby reads are a few KiB).
pub const DEFAULT_MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// Longest discovery document accepted (`/api/v1`, `/apis`, `/apis/<group>/<version>`):
/// 16 MiB; a large cluster's are some tens of KiB.
pub const MAX_DISCOVERY_BYTES: usize = 16 * 1024 * 1024;

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            request_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
            max_restarts: 3,
            max_objects: 1_000_000,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
        }
    }
}

/// Why a cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No usable configuration (kubeconfig missing or invalid, unknown context, not in a pod).
    #[error("{0}")]
    Config(String),
    /// A request failed for a reason other than a skippable 403/404.
    #[error("cannot read `{path}` from the cluster at `{server}`: {reason}")]
    Request {
        server: String,
        path: String,
        reason: String,
    },
    /// The whole read took longer than [`ReadOptions::timeout`].
    #[error("the cluster at `{server}` did not answer within {seconds} seconds")]
    Timeout { server: String, seconds: u64 },
    /// An answer longer than its limit: a watch event ([`ReadOptions::max_event_bytes`]),
    /// one object of a list ([`ReadOptions::max_page_bytes`]), a discovery document
    /// ([`MAX_DISCOVERY_BYTES`]).
    #[error("cannot read `{path}` from the cluster at `{server}`: {what} is longer than {} ({limit} bytes), the most tabby accepts", body::human(*limit))]
    TooLong {
        server: String,
        path: String,
        /// What was too long: `a watch event`, `one object of the list`, `the discovery document`.
        what: String,
        limit: usize,
    },
    /// More than [`ReadOptions::max_objects`] objects.
    #[error("the cluster holds more than {0} objects of the kinds tabby reads")]
    TooMany(usize),
}

/// One object read from the cluster, in the form a user would write in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterObject {
    pub kind: Kind,
    /// The whole object: `apiVersion` and `kind` filled in, `metadata.managedFields`
    /// removed, CRD-stored Calico objects converted to `projectcalico.org/v3`.
    pub value: Value,
}

impl ClusterObject {
    /// `metadata.name` (empty if absent).
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.namespace`, for namespaced kinds.
    pub fn namespace(&self) -> Option<&str> {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
    }

    /// `Kind` for the core group, `Kind.group` otherwise (`NetworkPolicy.networking.k8s.io`,
    /// `GlobalNetworkPolicy.projectcalico.org`): unambiguous, as kubectl writes it.
    pub fn qualified_kind(&self) -> String {
        qualify(self.kind.name(), self.kind)
    }

    /// Where a snapshot puts this object: (directory, file name), the directory being
    /// the namespace or `_cluster`. Objects are kept in this order (then by name), so
    /// a snapshot reads back in the order the cluster was read.
    pub fn snapshot_place(&self) -> (&str, String) {
        self.snapshot_object().place()
    }

    /// This object as the snapshot writer takes it.
    pub fn snapshot_object(&self) -> SnapshotObject<'_> {
        SnapshotObject {
            namespace: self.namespace(),
            plural: self.kind.plural(),
            api_version: self.kind.api_version(),
            value: &self.value,
        }
    }

    /// The name diagnostics show for this object:
    /// `cluster:<context>/<Kind>[.<group>]/[<namespace>/]<name>`.
    pub fn source_name(&self, context: &str) -> String {
        match self.namespace() {
            Some(ns) => format!(
                "cluster:{context}/{}/{ns}/{}",
                self.qualified_kind(),
                self.name()
            ),
            None => format!(
                "cluster:{context}/{}/{}",
                self.qualified_kind(),
                self.name()
            ),
        }
    }
}

/// `base` (a kind or plural), followed by `.group` unless the kind is in the core group.
fn qualify(base: &str, kind: Kind) -> String {
    tabby_load::qualify_with_group(base, kind.api_version())
}

/// Everything read from one cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterRead {
    /// The kubeconfig context read (`in-cluster` for the service account).
    pub context: String,
    /// The API server's URL.
    pub server: String,
    /// Objects in snapshot order: by [`ClusterObject::snapshot_place`], then name.
    pub objects: Vec<ClusterObject>,
    /// Each listed resource type's list resourceVersion, by list path
    /// (`/api/v1/namespaces`, `/apis/crd.projectcalico.org/v1/networkpolicies`):
    /// where a [`watch`] of that type starts.
    pub resource_versions: std::collections::BTreeMap<String, String>,
    /// What was skipped or converted, and why (warnings and notes, no location).
    pub diagnostics: Diagnostics,
}

impl ClusterRead {
    /// The objects as the loader would have read them from files: one source per
    /// object (its JSON text), so diagnostics point at the object and its line.
    pub fn to_loaded(&self, opts: &LoadOptions) -> Loaded {
        let mut out = Loaded {
            diagnostics: self.diagnostics.clone(),
            ..Loaded::default()
        };
        for obj in &self.objects {
            let text = match serde_json::to_string_pretty(&obj.value) {
                Ok(t) => t,
                Err(e) => {
                    out.diagnostics.push(Diagnostic::warning(
                        code::BAD_CRD_OBJECT,
                        format!("cannot render `{}`: {e}", obj.source_name(&self.context)),
                    ));
                    continue;
                }
            };
            let loaded = load_str(&obj.source_name(&self.context), &text, opts);
            out.objects.extend(loaded.objects);
            out.diagnostics.extend(loaded.diagnostics);
            out.files.extend(loaded.files);
        }
        out
    }

    /// Writes the objects as YAML under `dir` (created; it must be empty or absent):
    /// one file per namespace and resource type, `DIR/<namespace>/<plural>[.<group>].yaml`,
    /// cluster-scoped kinds under `DIR/_cluster/`. Returns the files written, sorted.
    pub fn write_snapshot(&self, dir: &std::path::Path) -> Result<Vec<PathBuf>, SnapshotError> {
        snapshot::write(self, dir)
    }
}

/// Reads every resource type tabby analyses from the cluster `source` names.
///
/// Resource types the cluster does not serve, or that the credentials may not list,
/// are skipped with a diagnostic in [`ClusterRead::diagnostics`]; anything else that
/// fails (no configuration, connection refused, 401, 5xx, timeout) is an error.
pub fn read_cluster(source: &ClusterSource, opts: &ReadOptions) -> Result<ClusterRead, ReadError> {
    read::read_cluster(source, opts)
}

/// Watches one resource type from `resource_version` (typically the list's, see
/// [`ClusterRead::resource_versions`] and [`WatchTarget::path`]), until the server
/// closes the stream, the connection drops, or [`ReadOptions::timeout`] passes.
/// The request goes through kube-rs's `Client`; tabby splits the stream into events
/// itself, so one event longer than [`ReadOptions::max_event_bytes`] is the error
/// [`ReadError::TooLong`] instead of unbounded memory.
///
/// Returns the events in order and the last resourceVersion seen (bookmarks
/// included): call again with [`Watched::resource_version`] to resume. A
/// resourceVersion the server no longer has (410 Gone, as an HTTP answer or an
/// `ERROR` event) is [`WatchError::Expired`]: the caller re-lists; tabby does not
/// re-list by itself, so a consumer never misses that its view was rebuilt.
pub fn watch(
    source: &ClusterSource,
    target: WatchTarget,
    resource_version: &str,
    opts: &ReadOptions,
) -> Result<Watched, WatchError> {
    watch::watch(source, target, resource_version, opts)
}
