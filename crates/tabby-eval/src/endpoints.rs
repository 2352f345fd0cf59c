//! Layer 1: the endpoint table.
//!
//! Every workload, host endpoint and network set becomes an [`Endpoint`] with the
//! full label set Calico exposes to selectors (calico-semantics §4.4) and the
//! addresses it contributes to selector-based rule matches (§7). Workloads
//! without addresses get a stable one from [`crate::EngineOptions::pod_cidr`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use tabby_model::{Cluster, EndpointOrigin, LabelMap, Name, NamedPort};

use crate::lower::{
    NAMESPACE_LABEL, NAMESPACE_PREFIX, NAME_LABEL, ORCHESTRATOR_LABEL, SERVICE_ACCOUNT_LABEL,
    SERVICE_ACCOUNT_PREFIX,
};
use crate::EngineOptions;

/// Dense id of an [`Endpoint`] inside one [`crate::Engine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct EndpointId(pub u32);

impl EndpointId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What an endpoint is. Network sets are never policy targets, only selectable peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointKind {
    Workload,
    Host,
    NetworkSet,
}

impl EndpointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointKind::Workload => "workload",
            EndpointKind::Host => "host-endpoint",
            EndpointKind::NetworkSet => "network-set",
        }
    }
}

/// One entry of the endpoint table.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: EndpointId,
    pub kind: EndpointKind,
    pub namespace: Option<Name>,
    pub name: Name,
    /// Labels as selectors see them (own + implicit + inherited).
    pub labels: LabelMap,
    /// Addresses: host routes (`/32`, `/128`) for workloads and host endpoints,
    /// the CIDRs of a network set.
    pub nets: Vec<IpNet>,
    /// True when tabby made the address up (the input had none).
    pub ip_assigned_by_tabby: bool,
    /// Profiles in evaluation order.
    pub profiles: Vec<Name>,
    pub ports: Vec<NamedPort>,
    pub node: Option<Name>,
    pub service_account: Option<Name>,
    /// Workloads only: where it came from.
    pub origin: Option<EndpointOrigin>,
}

impl Endpoint {
    /// Policies apply to workloads and host endpoints, never to network sets.
    pub fn is_policy_target(&self) -> bool {
        self.kind != EndpointKind::NetworkSet
    }

    /// The first address (the one the CLI uses for `ns/name`).
    pub fn first_ip(&self) -> Option<IpAddr> {
        self.nets.first().map(IpNet::addr)
    }

    /// `ns/name` for workloads, `host:name` for host endpoints,
    /// `networkset:ns/name` / `globalnetworkset:name` for network sets.
    pub fn display_name(&self) -> String {
        match (self.kind, &self.namespace) {
            (EndpointKind::Workload, Some(ns)) => format!("{ns}/{}", self.name),
            (EndpointKind::Workload, None) => self.name.to_string(),
            (EndpointKind::Host, _) => format!("host:{}", self.name),
            (EndpointKind::NetworkSet, Some(ns)) => format!("networkset:{ns}/{}", self.name),
            (EndpointKind::NetworkSet, None) => format!("globalnetworkset:{}", self.name),
        }
    }
}

/// A `hostNetwork: true` pod: Calico creates no workload endpoint for it; its
/// traffic is host traffic. Kept for CLI lookup.
#[derive(Debug, Clone)]
pub struct HostNetworkPod {
    pub namespace: Name,
    pub name: Name,
    pub ip: Option<IpAddr>,
    /// True when the address is the node's host endpoint address.
    pub ip_from_node: bool,
}

/// The endpoint table and its lookups.
#[derive(Debug, Clone, Default)]
pub struct EndpointTable {
    pub endpoints: Vec<Endpoint>,
    pub host_network_pods: Vec<HostNetworkPod>,
    /// Notes about guesses made (assigned addresses, ...), for outputs.
    pub notes: Vec<String>,
}

fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

/// FNV-1a: stable across runs and platforms (std's hasher is not).
fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn u128_to_ip(v: u128, v6: bool) -> Option<IpAddr> {
    if v6 {
        Some(IpAddr::V6(v.into()))
    } else {
        u32::try_from(v).ok().map(|x| IpAddr::V4(x.into()))
    }
}

/// Picks a free address for `key` in `cidr`: hash, then linear probe past used ones.
fn assign_ip(cidr: &IpNet, key: &str, used: &mut HashSet<IpAddr>) -> Option<IpAddr> {
    let host_bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len()).min(32);
    let size: u128 = 1u128 << host_bits;
    if size < 4 {
        return None;
    }
    // Usable offsets 1..size-1 (skip the network and broadcast addresses).
    let usable = size - 2;
    let base = ip_to_u128(cidr.network());
    let start = u128::from(fnv1a(key)) % usable;
    let v6 = matches!(cidr, IpNet::V6(_));
    let tries = (used.len() as u128 + 1).min(usable);
    for i in 0..tries {
        let off = 1 + (start + i) % usable;
        let ip = u128_to_ip(base + off, v6)?;
        if used.insert(ip) {
            return Some(ip);
        }
    }
    None
}

/// Profile names Kubernetes gives a pod.
pub fn kns_profile(ns: &str) -> String {
    format!("kns.{ns}")
}

pub fn ksa_profile(ns: &str, sa: &str) -> String {
    format!("ksa.{ns}.{sa}")
}

pub(crate) struct LabelSources<'a> {
    namespaces: HashMap<&'a str, &'a LabelMap>,
    service_accounts: HashMap<(&'a str, &'a str), &'a LabelMap>,
    profiles: HashMap<&'a str, &'a LabelMap>,
}

impl<'a> LabelSources<'a> {
    pub(crate) fn new(c: &'a Cluster) -> Self {
        Self {
            namespaces: c.namespaces.iter().map(|n| (&*n.name, &n.labels)).collect(),
            service_accounts: c
                .service_accounts
                .iter()
                .map(|s| ((&*s.namespace, &*s.name), &s.labels))
                .collect(),
            profiles: c
                .profiles
                .iter()
                .map(|p| (&*p.name, &p.labels_to_apply))
                .collect(),
        }
    }

    /// Labels inherited from a namespace (`pcns.*`).
    fn namespace_labels(&self, ns: &str, out: &mut LabelMap) {
        if let Some(labels) = self.namespaces.get(ns) {
            for (k, v) in labels.iter() {
                out.entry(format!("{NAMESPACE_PREFIX}{k}").into())
                    .or_insert_with(|| v.clone());
            }
        }
        out.entry(format!("{NAMESPACE_PREFIX}kubernetes.io/metadata.name").into())
            .or_insert_with(|| ns.into());
        out.entry(format!("{NAMESPACE_PREFIX}{NAME_LABEL}").into())
            .or_insert_with(|| ns.into());
    }

    /// Labels a profile hands down: `kns.`/`ksa.` are Kubernetes-derived.
    fn profile_labels(&self, profile: &str, out: &mut LabelMap) {
        if let Some(labels) = self.profiles.get(profile) {
            for (k, v) in labels.iter() {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
            return;
        }
        if let Some(ns) = profile.strip_prefix("kns.") {
            self.namespace_labels(ns, out);
        } else if let Some(rest) = profile.strip_prefix("ksa.") {
            if let Some((ns, sa)) = rest.split_once('.') {
                if let Some(labels) = self.service_accounts.get(&(ns, sa)) {
                    for (k, v) in labels.iter() {
                        out.entry(format!("{SERVICE_ACCOUNT_PREFIX}{k}").into())
                            .or_insert_with(|| v.clone());
                    }
                }
                out.entry(format!("{SERVICE_ACCOUNT_PREFIX}{NAME_LABEL}").into())
                    .or_insert_with(|| sa.into());
            }
        }
    }
}

fn strip_reserved(labels: &LabelMap, out: &mut LabelMap) {
    for (k, v) in labels {
        if k.starts_with(NAMESPACE_PREFIX) || k.starts_with(SERVICE_ACCOUNT_PREFIX) {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
}

/// The endpoint of one (not host-networked) workload with id `id`; `assigned`
/// is the address tabby picked for it, if the input had none.
pub(crate) fn workload_endpoint(
    src: &LabelSources<'_>,
    w: &tabby_model::Workload,
    id: EndpointId,
    assigned: Option<IpAddr>,
) -> Endpoint {
    let profiles: Vec<Name> = match w.origin {
        EndpointOrigin::WorkloadEndpoint => w.profiles.clone(),
        EndpointOrigin::Pod | EndpointOrigin::Template { .. } => {
            let mut p: Vec<Name> = vec![kns_profile(&w.namespace).into()];
            if let Some(sa) = &w.service_account {
                p.push(ksa_profile(&w.namespace, sa).into());
            }
            for extra in &w.profiles {
                if !p.contains(extra) {
                    p.push(extra.clone());
                }
            }
            p
        }
    };
    let mut inherited = LabelMap::new();
    for p in &profiles {
        src.profile_labels(p, &mut inherited);
    }
    let mut labels = inherited;
    strip_reserved(&w.labels, &mut labels);
    labels.insert(NAMESPACE_LABEL.into(), w.namespace.clone());
    labels.insert(ORCHESTRATOR_LABEL.into(), w.orchestrator.clone());
    if let Some(sa) = &w.service_account {
        labels.insert(SERVICE_ACCOUNT_LABEL.into(), sa.clone());
    }
    let (nets, by_tabby) = match assigned {
        Some(ip) => (vec![host_net(ip)], true),
        None => (w.ips.iter().map(|ip| host_net(*ip)).collect(), false),
    };
    Endpoint {
        id,
        kind: EndpointKind::Workload,
        namespace: Some(w.namespace.clone()),
        name: w.name.clone(),
        labels,
        nets,
        ip_assigned_by_tabby: by_tabby,
        profiles,
        ports: w.ports.clone(),
        node: w.node.clone(),
        service_account: w.service_account.clone(),
        origin: Some(w.origin.clone()),
    }
}

/// Builds the endpoint table: workloads (not host-networked), then host
/// endpoints, then network sets, each group in input order.
pub fn build(cluster: &Cluster, options: &EngineOptions) -> EndpointTable {
    let src = LabelSources::new(cluster);
    let mut table = EndpointTable::default();

    // Addresses already taken by the input.
    let mut used: HashSet<IpAddr> = HashSet::new();
    for w in &cluster.workloads {
        used.extend(w.ips.iter().copied());
    }
    for h in &cluster.host_endpoints {
        used.extend(h.expected_ips.iter().copied());
    }
    // Assign addresses in (namespace, name) order so the result does not depend on load order.
    let mut need: Vec<usize> = cluster
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| w.ips.is_empty() && !w.host_network)
        .map(|(i, _)| i)
        .collect();
    need.sort_by_key(|&i| {
        cluster
            .workloads
            .get(i)
            .map(|w| (w.namespace.clone(), w.name.clone()))
    });
    let mut assigned: HashMap<usize, IpAddr> = HashMap::new();
    for i in need {
        let Some(w) = cluster.workloads.get(i) else {
            continue;
        };
        let key = format!("{}/{}", w.namespace, w.name);
        match assign_ip(&options.pod_cidr, &key, &mut used) {
            Some(ip) => {
                assigned.insert(i, ip);
                table.notes.push(format!(
                    "workload `{key}` has no address in the input; tabby assigned {ip} from {}",
                    options.pod_cidr
                ));
            }
            None => table.notes.push(format!(
                "workload `{key}` has no address and pod CIDR {} is full; it cannot be matched by address",
                options.pod_cidr
            )),
        }
    }

    let node_ip: HashMap<&str, IpAddr> = cluster
        .host_endpoints
        .iter()
        .filter_map(|h| h.expected_ips.first().map(|ip| (&*h.node, *ip)))
        .collect();

    for (i, w) in cluster.workloads.iter().enumerate() {
        if w.host_network {
            let (ip, from_node) = match w.ips.first() {
                Some(ip) => (Some(*ip), false),
                None => match w.node.as_deref().and_then(|n| node_ip.get(n)) {
                    Some(ip) => (Some(*ip), true),
                    None => (None, false),
                },
            };
            table.host_network_pods.push(HostNetworkPod {
                namespace: w.namespace.clone(),
                name: w.name.clone(),
                ip,
                ip_from_node: from_node,
            });
            continue;
        }
        let id = EndpointId(table.endpoints.len() as u32);
        let ep = workload_endpoint(&src, w, id, assigned.get(&i).copied());
        table.endpoints.push(ep);
    }

    for h in &cluster.host_endpoints {
        let id = EndpointId(table.endpoints.len() as u32);
        table.endpoints.push(Endpoint {
            id,
            kind: EndpointKind::Host,
            namespace: None,
            name: h.name.clone(),
            labels: h.labels.clone(),
            nets: h.expected_ips.iter().map(|ip| host_net(*ip)).collect(),
            ip_assigned_by_tabby: false,
            profiles: h.profiles.clone(),
            ports: h.ports.clone(),
            node: Some(h.node.clone()),
            service_account: None,
            origin: None,
        });
    }

    for s in &cluster.network_sets {
        let mut labels = LabelMap::new();
        if let Some(ns) = &s.namespace {
            src.namespace_labels(ns, &mut labels);
        }
        strip_reserved(&s.labels, &mut labels);
        if let Some(ns) = &s.namespace {
            labels.insert(NAMESPACE_LABEL.into(), ns.clone());
        }
        let id = EndpointId(table.endpoints.len() as u32);
        table.endpoints.push(Endpoint {
            id,
            kind: EndpointKind::NetworkSet,
            namespace: s.namespace.clone(),
            name: s.name.clone(),
            labels,
            nets: s.nets.iter().map(IpNet::trunc).collect(),
            ip_assigned_by_tabby: false,
            profiles: Vec::new(),
            ports: Vec::new(),
            node: None,
            service_account: None,
            origin: None,
        });
    }
    table
}

/// Which addresses belong to which node, and each endpoint's node, as dense
/// node numbers (`u32::MAX`: no node), for the host → local workload check.
#[derive(Debug, Clone, Default)]
pub struct NodeAddrs {
    /// Host endpoint `expectedIPs` (by the host endpoint's node), then the addresses
    /// of `hostNetwork` pods (by the pod's node). The first claim of an address wins.
    /// Sorted by address (binary search: no hashing on the hot path).
    pub by_addr: Vec<(IpAddr, u32)>,
    /// Per endpoint: its node number.
    pub endpoint_node: Vec<u32>,
}

pub const NO_NODE: u32 = u32::MAX;

impl NodeAddrs {
    pub fn build<'a>(cluster: &'a Cluster, endpoints: &'a [Endpoint]) -> NodeAddrs {
        let mut numbers: HashMap<&'a str, u32> = HashMap::new();
        let mut number = |n: &'a str| -> u32 {
            let next = numbers.len() as u32;
            *numbers.entry(n).or_insert(next)
        };
        let mut by_addr: HashMap<IpAddr, u32> = HashMap::new();
        for h in &cluster.host_endpoints {
            let n = number(&h.node);
            for ip in &h.expected_ips {
                by_addr.entry(*ip).or_insert(n);
            }
        }
        for w in cluster.workloads.iter().filter(|w| w.host_network) {
            let Some(node) = w.node.as_deref() else {
                continue;
            };
            let n = number(node);
            for ip in &w.ips {
                by_addr.entry(*ip).or_insert(n);
            }
        }
        let endpoint_node = endpoints
            .iter()
            .map(|e| match (&e.kind, e.node.as_deref()) {
                (EndpointKind::Workload | EndpointKind::Host, Some(n)) => number(n),
                _ => NO_NODE,
            })
            .collect();
        let mut by_addr: Vec<(IpAddr, u32)> = by_addr.into_iter().collect();
        by_addr.sort_unstable();
        NodeAddrs {
            by_addr,
            endpoint_node,
        }
    }

    /// The node number of `ip`, if it is a node address.
    #[inline]
    pub fn node_of(&self, ip: IpAddr) -> Option<u32> {
        let i = self.by_addr.binary_search_by(|(a, _)| a.cmp(&ip)).ok()?;
        self.by_addr.get(i).map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_ips_are_stable_and_distinct() {
        let cidr: IpNet = "10.244.0.0/16".parse().unwrap();
        let mut used = HashSet::new();
        let a = assign_ip(&cidr, "ns/a", &mut used).unwrap();
        let mut used2 = HashSet::new();
        assert_eq!(assign_ip(&cidr, "ns/a", &mut used2), Some(a));
        // Probing past a taken address.
        let b = assign_ip(&cidr, "ns/a", &mut used).unwrap();
        assert_ne!(a, b);
        assert!(cidr.contains(&a) && cidr.contains(&b));
        // A tiny CIDR fills up and then says so.
        let tiny: IpNet = "10.0.0.0/30".parse().unwrap();
        let mut u = HashSet::new();
        assert!(assign_ip(&tiny, "x", &mut u).is_some());
        assert!(assign_ip(&tiny, "y", &mut u).is_some());
        assert!(assign_ip(&tiny, "z", &mut u).is_none());
    }
}
