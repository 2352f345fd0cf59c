//! tabby's validated model: the shapes every analysis works on.
//!
//! The wire types in `tabby-api` say what a user wrote; this crate says what it
//! means. `tabby-validate` is the only producer: it checks a wire object the way
//! Calico's validator does and lowers it into these types, so every value here is
//! already valid (ports in range, selectors parsed, CIDRs parsed, `types` inferred).
//! Kubernetes NetworkPolicies, ClusterNetworkPolicies and the older
//! AdminNetworkPolicy/BaselineAdminNetworkPolicy arrive already converted into
//! Calico-shaped [`Policy`] values (as Calico's own converters do), so the engine
//! sees one policy shape; [`PolicyKind`] remembers where each came from.
//!
//! ```text
//!  tabby-api (wire) ──tabby-validate──▶ tabby-model (this crate) ──▶ tabby-eval, analyses
//! ```
//!
//! Names are `Arc<str>`: a 10,000-pod cluster repeats the same namespace, label and
//! tier strings many times, and clones must be cheap.

mod cluster;
mod endpoint;
mod policy;
mod primitives;

pub use cluster::{Cluster, ObjectRef};
pub use endpoint::{
    EndpointOrigin, HostEndpoint, NamedPort, Namespace, NetworkSet, Probe, Service, ServiceAccount,
    ServicePort, ThreatFeed, Workload,
};
pub use policy::{
    EntityRule, HttpMatch, HttpPath, Policy, PolicyKind, Profile, Rule, ServiceAccountMatch,
    ServiceMatch, StagedAction, Tier, TierDefaultAction, Types,
};
pub use primitives::{Action, Direction, IcmpMatch, IpVersion, PortRange, PortSpec, Protocol};

/// Shared string type for names, labels and namespaces.
pub type Name = std::sync::Arc<str>;

/// Label maps keep a stable order so output and hashing are deterministic.
pub type LabelMap = std::collections::BTreeMap<Name, Name>;

/// The name of the built-in tier that holds ordinary policies.
pub const DEFAULT_TIER: &str = "default";
/// Built-in tier for ClusterNetworkPolicy with `tier: Admin` (Calico v3.32+).
pub const KUBE_ADMIN_TIER: &str = "kube-admin";
/// Built-in tier for ClusterNetworkPolicy with `tier: Baseline` (Calico v3.32+).
pub const KUBE_BASELINE_TIER: &str = "kube-baseline";
/// Tier older Calico (v3.29–v3.31) used for AdminNetworkPolicy.
pub const LEGACY_ANP_TIER: &str = "adminnetworkpolicy";
/// Tier older Calico (v3.29–v3.31) used for BaselineAdminNetworkPolicy.
pub const LEGACY_BANP_TIER: &str = "baselineadminnetworkpolicy";
