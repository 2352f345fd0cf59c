//! The whole validated input: everything one `tabby` invocation loaded.

use crate::{
    HostEndpoint, Namespace, NetworkSet, Policy, Profile, Service, ServiceAccount, ThreatFeed,
    Tier, Workload,
};

/// Identifies one loaded object in messages: `Kind ns/name` or `Kind name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub namespace: Option<crate::Name>,
    pub name: crate::Name,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Everything loaded and validated: the input to the engine and the analyses.
///
/// Built-in tiers (`default`, `kube-admin`, `kube-baseline`) are always present
/// (declared: false) unless the input declares them.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub tiers: Vec<Tier>,
    /// Enforced and staged policies of every kind, in load order.
    pub policies: Vec<Policy>,
    pub profiles: Vec<Profile>,
    pub namespaces: Vec<Namespace>,
    pub service_accounts: Vec<ServiceAccount>,
    pub workloads: Vec<Workload>,
    pub host_endpoints: Vec<HostEndpoint>,
    pub network_sets: Vec<NetworkSet>,
    pub services: Vec<Service>,
    pub threat_feeds: Vec<ThreatFeed>,
}

impl Cluster {
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| &*t.name == name)
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| &*n.name == name)
    }
}
