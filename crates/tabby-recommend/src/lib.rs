//! Least-privilege policies from observed traffic, proved by replay (`tabby recommend`).
//!
//! ```text
//!  FlowRecord ──add──▶ Observations (distinct endpoints, distinct flows: bounded, no per-record allocation)
//!                          │ classify: workloads by namespace + stable labels (classify.rs),
//!                          │           hosts and outside addresses by address
//!                          ▼
//!                       Plan: per workload, ingress and egress Allow rules for the peers and ports
//!                          │  seen, plus DNS (and API server, probes); a default deny per namespace
//!                          ▼
//!                       render: Calico v3 NetworkPolicy or Kubernetes NetworkPolicy (tabby-api types)
//!                          ▼
//!                       proof: YAML ─tabby-load─tabby-validate─▶ policies ─▶ Engine ─▶ replay every
//!                              distinct flow; each must be allowed (else it is a bug: exit 2)
//! ```
//!
//! ```
//! use tabby_flowlog::{EndpointKind, FlowEndpoint, FlowRecord};
//! use tabby_recommend::{Options, Recommender};
//!
//! let pod = |name: &str, app: &str, ip: &str| FlowEndpoint {
//!     kind: EndpointKind::Workload,
//!     namespace: Some("shop".into()),
//!     name: Some(name.into()),
//!     labels: vec![("app".into(), app.into()), ("pod-template-hash".into(), "5d9f8".into())],
//!     ip: ip.parse().ok(),
//! };
//! let mut r = Recommender::new(Options::default());
//! r.add(&FlowRecord {
//!     src: pod("web-5d9f8-abcde", "web", "10.244.0.10"),
//!     dst: pod("api-7c4b2-fghij", "api", "10.244.0.20"),
//!     protocol: 6,
//!     dst_port: Some(8080),
//!     ..FlowRecord::default()
//! });
//! let rec = r.finish(None);
//! assert!(rec.proof.passed());
//! let yaml = rec.to_yaml();
//! assert!(yaml.contains("name: allow-api"));
//! assert!(yaml.contains("selector: app == 'web'"));
//! assert!(!yaml.contains("pod-template-hash"));
//! ```

mod classify;
mod observe;
mod plan;
mod proof;
mod render;

use std::net::SocketAddr;

use serde_json::Value;
use tabby_flowlog::FlowRecord;
use tabby_model::Cluster;

pub use classify::{controller_name, identity, is_volatile, IDENTITY_KEYS, SYSTEM_NAMESPACES};
pub use observe::{Counts, MAX_ENDPOINTS, MAX_TUPLES};
pub use plan::{PeerSpec, Plan, PolicyPlan, RuleSpec};
pub use proof::{Proof, ProofFailure};
pub use render::{to_yaml, ALLOW_ORDER, DEFAULT_DENY, DENY_ORDER};

/// Which policy kind to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyFormat {
    /// `projectcalico.org/v3` NetworkPolicy.
    #[default]
    Calico,
    /// `networking.k8s.io/v1` NetworkPolicy.
    Kubernetes,
}

/// What to recommend.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: PolicyFormat,
    /// Only write policies for workloads in these namespaces (all when empty).
    pub namespaces: Vec<String>,
    /// Use denied records too (by default only allowed traffic is taken as legitimate).
    pub include_denied: bool,
    /// The API server's address as pods reach it after kube-proxy's DNAT
    /// (`10.0.1.10:6443`): workloads that mount a service-account token may reach it.
    pub apiserver: Option<SocketAddr>,
    /// Most exact addresses per workload and direction before they are aggregated
    /// into wider prefixes.
    pub max_exact_nets: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            format: PolicyFormat::Calico,
            namespaces: Vec::new(),
            include_denied: false,
            apiserver: None,
            max_exact_nets: 16,
        }
    }
}

/// Collects records (streaming), then recommends ([`Recommender::finish`]).
#[derive(Debug)]
pub struct Recommender {
    opts: Options,
    obs: observe::Observations,
}

/// One workload that got a policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadSummary {
    pub namespace: String,
    pub policy: String,
    /// The Calico selector of the workload.
    pub selector: String,
    /// Distinct endpoints of the log in the workload.
    pub endpoints: usize,
    pub ingress_rules: usize,
    pub egress_rules: usize,
}

/// The recommended policies, what they are made from, and the proof.
#[derive(Debug, Clone)]
pub struct Recommendation {
    /// The policies (JSON form of the wire objects), allow policies of a namespace
    /// first, then its default deny.
    pub documents: Vec<Value>,
    pub workloads: Vec<WorkloadSummary>,
    /// Namespaces that get a default deny.
    pub namespaces: Vec<String>,
    pub counts: Counts,
    /// Distinct (source, destination, protocol, port) flows.
    pub distinct_flows: usize,
    /// Distinct flows with an endpoint no rule can name (a host without an address, ...).
    pub unnamed_flows: u64,
    /// Things the user should know (aggregated addresses, fallbacks, format limits).
    pub notes: Vec<String>,
    pub proof: Proof,
    header: String,
}

impl Recommender {
    pub fn new(opts: Options) -> Self {
        Self {
            opts,
            obs: observe::Observations::default(),
        }
    }

    /// Adds one record.
    pub fn add(&mut self, rec: &FlowRecord) {
        self.obs.add(rec, self.opts.include_denied);
    }

    /// Adds what another recommender (with the same options) collected, for example on
    /// another thread: reading a log in parts and merging gives the same recommendation as
    /// reading it whole (within the memory limits).
    pub fn merge(&mut self, other: Recommender) {
        self.obs.merge(other.obs);
    }

    /// Counts so far.
    pub fn counts(&self) -> Counts {
        self.obs.counts
    }

    /// Builds the policies, renders them and proves them. `cluster` is what the user
    /// loaded (namespaces, pods, services, ...); its own policies are not part of the
    /// proof (see the `proof` module docs).
    pub fn finish(self, cluster: Option<&Cluster>) -> Recommendation {
        let classes = plan::classify(&self.obs, cluster, &self.opts);
        let (plan, unnamed) = plan::build(&self.obs, &classes, &self.opts);
        let mut notes = plan.notes.clone();
        let documents = render::documents(&plan, self.opts.format, &mut notes);
        let workloads = plan
            .policies
            .iter()
            .map(|p| WorkloadSummary {
                namespace: p.namespace.clone(),
                policy: p.name.clone(),
                selector: classify::selector_text(&p.ident, &p.exclude),
                endpoints: classes
                    .classes
                    .iter()
                    .find(|c| {
                        c.policed
                            && c.name == p.name
                            && c.namespace.as_deref() == Some(&p.namespace)
                    })
                    .map_or(0, |c| c.members),
                ingress_rules: p.ingress.len(),
                egress_rules: p.egress.len(),
            })
            .collect();
        if self.opts.apiserver.is_none() && classes.classes.iter().any(|c| c.policed && c.automount)
        {
            notes.push(
                "workloads that mount a service-account token get no API server rule unless their API traffic was observed; pass --apiserver ADDRESS:PORT to allow it".to_owned(),
            );
        }
        let header = format!(
            "Recommended by tabby from {} flow records ({} distinct flows).\n\
             Per workload: the peers and ports observed, plus DNS to kube-dns; then a default deny per namespace.\n\
             Proved: every observed flow is allowed by this set (tabby recommend --help).",
            self.obs.counts.used,
            self.obs.tuples.len()
        );
        let mut rec = Recommendation {
            documents,
            workloads,
            namespaces: plan.namespaces.clone(),
            counts: self.obs.counts,
            distinct_flows: self.obs.tuples.len(),
            unnamed_flows: unnamed,
            notes,
            proof: Proof::default(),
            header,
        };
        rec.proof = proof::prove(
            &rec.to_yaml(),
            &self.obs,
            &classes,
            cluster,
            &plan.namespaces,
        );
        rec
    }
}

/// Each worker of [`tabby_replay::run`] collects into its own recommender; merge them
/// with [`Recommender::merge`]. Labels are needed (workloads are grouped by them), so the
/// default [`tabby_replay::Sink::labels_with_ip`] stays.
impl tabby_replay::Sink for Recommender {
    fn record(&mut self, rec: &FlowRecord, _origin: tabby_replay::Origin) {
        self.add(rec);
    }
}

impl Recommendation {
    /// Multi-document YAML, ready for `kubectl apply -f` / `calicoctl apply -f`.
    pub fn to_yaml(&self) -> String {
        render::to_yaml(&self.documents, &self.header)
    }

    /// A `kind: List` holding every policy (also accepted by `kubectl apply`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": self.documents,
        })
    }

    /// Number of policies written (allow policies and default denies).
    pub fn policy_count(&self) -> usize {
        self.documents.len()
    }
}

/// Recommends from an iterator of records (see [`Recommender`]).
pub fn recommend<'a>(
    records: impl IntoIterator<Item = &'a FlowRecord>,
    cluster: Option<&Cluster>,
    opts: Options,
) -> Recommendation {
    let mut r = Recommender::new(opts);
    for rec in records {
        r.add(rec);
    }
    r.finish(cluster)
}
