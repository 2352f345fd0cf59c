//! Things policies act on or name: workloads, host endpoints, network sets,
//! and the Kubernetes objects whose labels Calico exposes to selectors.

use std::net::IpAddr;

use ipnet::IpNet;
use tabby_diag::Loc;

use crate::{LabelMap, Name, PortRange, Protocol};

/// A port an endpoint declares by name (container port, host endpoint port).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedPort {
    pub name: Name,
    pub protocol: Protocol,
    pub port: u16,
}

/// A health probe a pod declares; the kubelet on the pod's node sends it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Probe {
    /// `readiness`, `liveness` or `startup`.
    pub kind: Name,
    /// Resolved port number (named probe ports are resolved against the container ports).
    pub port: u16,
    pub protocol: Protocol,
}

/// Where a workload came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointOrigin {
    /// A Pod object.
    Pod,
    /// The pod template of a controller (`Deployment`, `StatefulSet`, `DaemonSet`,
    /// `ReplicaSet`, `Job`, `CronJob`): one workload stands for all its replicas.
    Template {
        kind: Name,
        name: Name,
        replicas: Option<u32>,
    },
    /// A Calico WorkloadEndpoint resource.
    WorkloadEndpoint,
}

/// A workload endpoint: a pod (or a controller's pod template) or a Calico WorkloadEndpoint.
#[derive(Debug, Clone)]
pub struct Workload {
    pub namespace: Name,
    /// Pod name, controller name (for templates) or WorkloadEndpoint name.
    pub name: Name,
    pub origin: EndpointOrigin,
    /// The pod's own labels (Calico's implicit labels are added by the engine).
    pub labels: LabelMap,
    pub service_account: Option<Name>,
    /// Addresses as reported (pod status, WEP ipNetworks). Empty when unknown: the engine
    /// then assigns a stable address from its pod CIDR and says so.
    pub ips: Vec<IpAddr>,
    pub ports: Vec<NamedPort>,
    pub probes: Vec<Probe>,
    pub node: Option<Name>,
    pub host_network: bool,
    /// Whether a service account token is mounted (the pod can talk to the API server).
    pub automount_token: bool,
    /// Profiles listed on a WorkloadEndpoint; Kubernetes pods get `kns.<ns>` and `ksa.<ns>.<sa>` from the engine.
    pub profiles: Vec<Name>,
    /// Orchestrator label value (`k8s` for Kubernetes pods).
    pub orchestrator: Name,
    pub loc: Option<Loc>,
}

/// A Calico HostEndpoint.
#[derive(Debug, Clone)]
pub struct HostEndpoint {
    pub name: Name,
    pub node: Name,
    /// `*` means every interface of the host.
    pub interface_name: Option<Name>,
    pub expected_ips: Vec<IpAddr>,
    pub labels: LabelMap,
    pub profiles: Vec<Name>,
    pub ports: Vec<NamedPort>,
    pub loc: Option<Loc>,
}

/// A NetworkSet (namespaced) or GlobalNetworkSet (`namespace == None`).
#[derive(Debug, Clone)]
pub struct NetworkSet {
    pub name: Name,
    pub namespace: Option<Name>,
    pub labels: LabelMap,
    pub nets: Vec<IpNet>,
    /// Calico Enterprise `allowedEgressDomains`.
    pub allowed_egress_domains: Vec<Name>,
    pub loc: Option<Loc>,
}

/// A Kubernetes Namespace; its labels appear to selectors as `pcns.<key>`.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: Name,
    pub labels: LabelMap,
    pub loc: Option<Loc>,
}

/// A Kubernetes ServiceAccount; its labels appear to selectors as `pcsa.<key>`.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub namespace: Name,
    pub name: Name,
    pub labels: LabelMap,
    pub loc: Option<Loc>,
}

/// One port of a Kubernetes Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<Name>,
    pub protocol: Protocol,
    pub port: u16,
    /// `targetPort`: a number or a container port name; `None` means same as `port`.
    pub target_port: Option<crate::PortSpec>,
}

/// A Kubernetes Service (for `services` rule matches and DNS lint checks).
#[derive(Debug, Clone)]
pub struct Service {
    pub namespace: Name,
    pub name: Name,
    /// `None` for services without a selector (manually managed endpoints).
    pub selector: Option<LabelMap>,
    pub ports: Vec<ServicePort>,
    pub cluster_ips: Vec<IpAddr>,
    pub loc: Option<Loc>,
}

/// A GlobalThreatFeed (Calico Enterprise resource tabby implements in the open).
#[derive(Debug, Clone)]
pub struct ThreatFeed {
    pub name: Name,
    /// The GlobalNetworkSet the feed fills, with these labels.
    pub network_set_labels: LabelMap,
    pub url: Option<Name>,
    pub period_seconds: Option<u64>,
    pub loc: Option<Loc>,
}

impl PortRange {
    /// Every port (1–65535).
    pub const ANY: PortRange = PortRange { min: 1, max: 65535 };
}
