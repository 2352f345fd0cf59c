//! Analysis units and their equivalence classes.
//!
//! A unit is one address that stands for something in the output: a workload's or
//! host endpoint's first address, or one bucket of addresses owned by no endpoint
//! (inside a network set, or the internet) that every rule CIDR and network set
//! treats alike. Two units are in one class when no policy can tell them apart:
//! same kind and family, same programs (both directions, both views), same labels
//! as far as any selector looks, same containing network sets and rule CIDRs, same
//! service membership and same named ports. Host endpoint ↔ workload on one node
//! is special in Felix and is decided per pair ([`same_node_pairs`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use tabby_eval::{EndpointId, EndpointKind, Engine, ServiceSet, View};
use tabby_model::{Direction, Name};

use super::ReachEndpoint;

/// What a unit stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    Workload,
    Host,
    NetworkSet,
    Internet,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Workload => "workload",
            UnitKind::Host => "host-endpoint",
            UnitKind::NetworkSet => "network-set",
            UnitKind::Internet => "internet",
        }
    }
}

/// One analysed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub ip: IpAddr,
    pub endpoint: Option<EndpointId>,
    pub kind: UnitKind,
    pub node: Option<Name>,
    /// Index of the output endpoint it belongs to.
    pub out: u32,
}

/// The display name of an engine endpoint in reach outputs.
pub fn endpoint_name(e: &tabby_eval::Endpoint) -> String {
    match (e.kind, &e.namespace) {
        (EndpointKind::Workload, Some(ns)) => format!("{ns}/{}", e.name),
        (EndpointKind::Workload, None) => e.name.to_string(),
        (EndpointKind::Host, _) => format!("host:{}", e.name),
        (EndpointKind::NetworkSet, Some(ns)) => format!("netset:{ns}/{}", e.name),
        (EndpointKind::NetworkSet, None) => format!("gnetset:{}", e.name),
    }
}

pub(crate) fn rule_cidrs(engines: &[&Engine]) -> Vec<IpNet> {
    let mut out = BTreeSet::new();
    for e in engines {
        let rules = e
            .policies()
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
            .chain(
                e.profiles()
                    .iter()
                    .flat_map(|p| p.ingress.iter().chain(&p.egress)),
            );
        for r in rules {
            for s in [&r.src, &r.dst] {
                out.extend(s.nets.iter().chain(&s.not_nets).copied());
            }
        }
    }
    out.into_iter().collect()
}

pub(crate) fn services(engines: &[&Engine]) -> Vec<ServiceSet> {
    let mut out: Vec<ServiceSet> = Vec::new();
    for e in engines {
        let rules = e
            .policies()
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
            .chain(
                e.profiles()
                    .iter()
                    .flat_map(|p| p.ingress.iter().chain(&p.egress)),
            );
        for r in rules {
            for s in [&r.src, &r.dst] {
                if let Some(svc) = &s.services {
                    if !out.contains(svc) {
                        out.push(svc.clone());
                    }
                }
            }
        }
    }
    out
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v6: bool) -> Option<IpAddr> {
    if v6 {
        Some(IpAddr::V6(v.into()))
    } else {
        u32::try_from(v).ok().map(|x| IpAddr::V4(x.into()))
    }
}

fn net_bounds(n: &IpNet) -> (bool, u128, u128) {
    (
        matches!(n, IpNet::V6(_)),
        to_u128(n.network()),
        to_u128(n.broadcast()),
    )
}

/// Units and output endpoints for the cluster the engines share (the first
/// engine's endpoints; buckets cut by the rule CIDRs of all engines).
pub fn units(engines: &[&Engine]) -> (Vec<Unit>, Vec<ReachEndpoint>) {
    let mut units = Vec::new();
    let mut outs: Vec<ReachEndpoint> = Vec::new();
    let mut out_of: HashMap<String, u32> = HashMap::new();
    let mut out = |name: String, kind: UnitKind, ns: Option<&Name>| -> u32 {
        *out_of.entry(name.clone()).or_insert_with(|| {
            outs.push(ReachEndpoint {
                name,
                kind: kind.as_str(),
                namespace: ns.map(ToString::to_string),
                group: u32::MAX,
            });
            (outs.len() - 1) as u32
        })
    };
    let Some(engine) = engines.first() else {
        return (units, outs);
    };
    let mut excluded: HashSet<IpAddr> = HashSet::new();
    let mut fams = [false; 2];
    for e in engine.endpoints() {
        if !e.is_policy_target() {
            continue;
        }
        excluded.extend(e.nets.iter().map(IpNet::addr));
        let Some(ip) = e.first_ip() else { continue };
        let kind = if e.kind == EndpointKind::Host {
            UnitKind::Host
        } else {
            UnitKind::Workload
        };
        if let Some(f) = fams.get_mut(usize::from(ip.is_ipv6())) {
            *f = true;
        }
        let o = out(endpoint_name(e), kind, e.namespace.as_ref());
        units.push(Unit {
            ip,
            endpoint: Some(e.id),
            kind,
            node: e.node.clone(),
            out: o,
        });
    }
    let cluster = engine.cluster();
    for h in &cluster.host_endpoints {
        excluded.extend(h.expected_ips.iter().copied());
    }
    for w in cluster.workloads.iter().filter(|w| w.host_network) {
        excluded.extend(w.ips.iter().copied());
    }
    let cidrs = rule_cidrs(engines);
    let netsets: Vec<&tabby_eval::Endpoint> = engine
        .endpoints()
        .iter()
        .filter(|e| e.kind == EndpointKind::NetworkSet)
        .collect();
    let mut points: BTreeSet<(bool, u128)> = BTreeSet::new();
    for n in cidrs
        .iter()
        .chain(netsets.iter().flat_map(|e| e.nets.iter()))
    {
        let (v6, lo, hi) = net_bounds(n);
        points.insert((v6, lo));
        if let Some(h) = hi.checked_add(1) {
            points.insert((v6, h));
        }
    }
    for ip in &excluded {
        let v = to_u128(*ip);
        points.insert((ip.is_ipv6(), v));
        points.insert((ip.is_ipv6(), v.saturating_add(1)));
    }
    let mut seen: HashSet<(bool, Vec<u32>, Vec<u32>)> = HashSet::new();
    for (fam, v6) in [(0usize, false), (1, true)] {
        if !fams.get(fam).copied().unwrap_or(false) {
            continue;
        }
        let max: u128 = if v6 { u128::MAX } else { u128::from(u32::MAX) };
        let mut starts: Vec<u128> = vec![0];
        starts.extend(
            points
                .iter()
                .filter(|(f, v)| *f == v6 && *v <= max && *v > 0)
                .map(|(_, v)| *v),
        );
        for (i, &lo) in starts.iter().enumerate() {
            let hi = starts.get(i + 1).map_or(max, |n| n - 1);
            let Some(rep_ip) = from_u128(if lo == 0 && hi > 0 { 1 } else { lo }, v6) else {
                continue;
            };
            if lo == hi && excluded.contains(&rep_ip) {
                continue;
            }
            let ns: Vec<u32> = netsets
                .iter()
                .filter(|e| e.nets.iter().any(|n| n.contains(&rep_ip)))
                .map(|e| e.id.0)
                .collect();
            let cs: Vec<u32> = cidrs
                .iter()
                .enumerate()
                .filter(|(_, n)| n.contains(&rep_ip))
                .map(|(i, _)| i as u32)
                .collect();
            let key = (v6, ns, cs);
            if seen.contains(&key) {
                continue;
            }
            // The most specific containing network set owns the bucket.
            let owner = netsets
                .iter()
                .filter_map(|e| {
                    let best = e
                        .nets
                        .iter()
                        .filter(|n| n.contains(&rep_ip))
                        .map(IpNet::prefix_len)
                        .max()?;
                    Some((best, *e))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.id.cmp(&a.1.id)))
                .map(|(_, e)| e);
            let (name, kind, ns_name) = match owner {
                Some(e) => (endpoint_name(e), UnitKind::NetworkSet, e.namespace.as_ref()),
                None => {
                    let best = key
                        .2
                        .iter()
                        .filter_map(|i| cidrs.get(*i as usize))
                        .max_by_key(|n| n.prefix_len());
                    let name = match best {
                        Some(n) => format!("internet:{n}"),
                        None => "internet".to_owned(),
                    };
                    (name, UnitKind::Internet, None)
                }
            };
            let o = out(name, kind, ns_name);
            units.push(Unit {
                ip: rep_ip,
                endpoint: None,
                kind,
                node: None,
                out: o,
            });
            seen.insert(key);
        }
    }
    (units, outs)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: UnitKind,
    v6: bool,
    programs: Vec<usize>,
    labels: Vec<(Name, Name)>,
    netsets: Vec<u32>,
    cidrs: Vec<u32>,
    services: Vec<(u32, u8, u16)>,
    ports: Vec<(Name, u8, u16)>,
}

fn selector_keys(e: &Engine) -> HashSet<String> {
    let table = e.selectors();
    let mut keys = HashSet::new();
    for i in 0..table.len() {
        if let Some(sel) = table
            .get(tabby_eval::SelId(i as u32))
            .and_then(|s| s.selector.as_ref())
        {
            sel.expr().walk(&mut |x| {
                if let Some(l) = x.label() {
                    keys.insert(l.to_owned());
                }
            });
        }
    }
    keys
}

/// Groups units into classes: `(class of each unit, members of each class)`.
pub fn classify(engines: &[&Engine], units: &[Unit]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let cidrs = rule_cidrs(engines);
    let svcs = services(engines);
    let label_keys: HashSet<String> = engines.iter().flat_map(|e| selector_keys(e)).collect();
    let Some(first) = engines.first() else {
        return (Vec::new(), Vec::new());
    };
    let netsets: Vec<&tabby_eval::Endpoint> = first
        .endpoints()
        .iter()
        .filter(|e| e.kind == EndpointKind::NetworkSet)
        .collect();
    let mut by_key: HashMap<Key, u32> = HashMap::new();
    let mut classes: Vec<Vec<u32>> = Vec::new();
    let mut class_of = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        let ip = u.ip;
        let mut key = Key {
            kind: u.kind,
            v6: ip.is_ipv6(),
            programs: Vec::new(),
            labels: Vec::new(),
            netsets: netsets
                .iter()
                .filter(|e| e.nets.iter().any(|n| n.contains(&ip)))
                .map(|e| e.id.0)
                .collect(),
            cidrs: cidrs
                .iter()
                .enumerate()
                .filter(|(_, n)| n.contains(&ip))
                .map(|(i, _)| i as u32)
                .collect(),
            services: Vec::new(),
            ports: Vec::new(),
        };
        for (si, s) in svcs.iter().enumerate() {
            if s.addrs.binary_search(&ip).is_ok() {
                key.services.push((si as u32, 0, 0));
            }
            for &(a, p, port) in &s.addr_ports {
                if a == ip {
                    key.services.push((si as u32, p, port));
                }
            }
        }
        if let Some(id) = u.endpoint {
            for e in engines {
                for dir in [Direction::Ingress, Direction::Egress] {
                    for view in [View::Enforced, View::Pending] {
                        key.programs.push(
                            e.resolve(id, dir, view)
                                .map_or(0, |p| std::ptr::from_ref(p) as usize),
                        );
                    }
                }
            }
            if let Some(ep) = first.endpoint(id) {
                key.labels = ep
                    .labels
                    .iter()
                    .filter(|(k, _)| label_keys.contains(&k[..]))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                key.ports = ep
                    .ports
                    .iter()
                    .map(|p| (p.name.clone(), p.protocol.0, p.port))
                    .collect();
                key.ports.sort();
            }
        }
        let c = *by_key.entry(key).or_insert_with(|| {
            classes.push(Vec::new());
            (classes.len() - 1) as u32
        });
        if let Some(m) = classes.get_mut(c as usize) {
            m.push(i as u32);
        }
        class_of.push(c);
    }
    (class_of, classes)
}

fn special(a: &Unit, b: &Unit) -> bool {
    let hw = matches!(
        (a.kind, b.kind),
        (UnitKind::Host, UnitKind::Workload) | (UnitKind::Workload, UnitKind::Host)
    );
    hw && a.node.is_some() && a.node == b.node
}

/// A representative pair for a class pair: distinct units where possible, never
/// a host endpoint and a workload on the same node (those are decided per pair).
pub fn reps<'u>(
    units: &'u [Unit],
    classes: &[Vec<u32>],
    a: u32,
    b: u32,
) -> Option<(&'u Unit, &'u Unit)> {
    let ca = classes.get(a as usize)?;
    let cb = classes.get(b as usize)?;
    let mut fallback = None;
    for &s in ca.iter().take(16) {
        for &d in cb.iter().take(64) {
            let (su, du) = (units.get(s as usize)?, units.get(d as usize)?);
            if special(su, du) {
                continue;
            }
            if s != d {
                return Some((su, du));
            }
            fallback.get_or_insert((su, du));
        }
    }
    // Every looked-at pair was special; search the whole classes for one that is not.
    if fallback.is_none() {
        for &s in ca {
            for &d in cb {
                let (su, du) = (units.get(s as usize)?, units.get(d as usize)?);
                if !special(su, du) {
                    return Some((su, du));
                }
            }
        }
    }
    fallback
}

/// Host endpoint ↔ workload pairs on the same node, both directions.
pub fn same_node_pairs(units: &[Unit]) -> Vec<(u32, u32)> {
    let mut by_node: HashMap<&Name, Vec<u32>> = HashMap::new();
    for (i, u) in units.iter().enumerate() {
        if u.kind == UnitKind::Workload {
            if let Some(n) = &u.node {
                by_node.entry(n).or_default().push(i as u32);
            }
        }
    }
    let mut out = Vec::new();
    for (h, u) in units.iter().enumerate() {
        if u.kind != UnitKind::Host {
            continue;
        }
        let Some(n) = &u.node else { continue };
        for &w in by_node.get(n).map_or(&[][..], Vec::as_slice) {
            out.push((h as u32, w));
            out.push((w, h as u32));
        }
    }
    out
}
