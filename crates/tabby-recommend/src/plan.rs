//! From distinct flows to per-workload rule plans.
//!
//! ```text
//!  Observed endpoint ──resolve──▶ Peer::Class (workload or labelled network set)
//!                                 Peer::Ip (hosts, external addresses, unlabelled sets)
//!                                 Peer::Public / Peer::Private (external, no address)
//!  Tuple (src, dst, proto, port) ──▶ egress entry on the source's class (if policed)
//!                                 ──▶ ingress entry on the destination's class (if policed)
//!  entries + system allowances ──▶ PolicyPlan per policed class, DefaultDeny per namespace
//! ```
//!
//! A class is *policed* when it is a workload outside the system namespaces (and
//! inside `--namespace`, if given): it gets a policy and its namespace a default
//! deny. Everything else is only a peer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use tabby_flowlog::EndpointKind;
use tabby_model::{Cluster, NetworkSet, Workload};

use crate::classify::{
    controller_name, dns_label, identity, identity_name, valid_label_key, valid_label_value,
    SYSTEM_NAMESPACES,
};
use crate::observe::{Observations, Observed};
use crate::Options;

pub(crate) const TCP: u8 = 6;
pub(crate) const UDP: u8 = 17;

/// The other end of a flow, as a rule will name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Peer {
    Class(u32),
    Ip(IpAddr),
    /// An external address the log did not give (`pub`).
    Public,
    /// A private address the log did not give (`pvt`).
    Private,
    /// Nothing a rule can name (a host without an address, ...).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ClassKind {
    Workload,
    NetworkSet,
}

/// A group of endpoints that share one identity.
#[derive(Debug, Clone)]
pub(crate) struct Class {
    pub kind: ClassKind,
    pub namespace: Option<String>,
    pub ident: BTreeMap<String, String>,
    /// Keys whose absence is required, so that the selector does not also catch a
    /// more specific class of the same namespace.
    pub exclude: Vec<String>,
    /// Policy name (policed classes).
    pub name: String,
    pub policed: bool,
    pub automount: bool,
    pub probes: BTreeSet<(u8, u16)>,
    /// Known addresses (network sets: used where a selector cannot name them).
    pub nets: BTreeSet<IpNet>,
    /// Controller name guessed from a member's pod name.
    pub controller: Option<String>,
    pub members: usize,
}

/// The peer side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeerSpec {
    /// Workloads with these labels (and without the `exclude` keys) in `namespace`.
    Workload {
        namespace: String,
        ident: BTreeMap<String, String>,
        exclude: Vec<String>,
    },
    /// A (global when `namespace` is `None`) network set by its labels; `nets` are its
    /// known addresses, for formats that cannot select network sets.
    NetworkSet {
        namespace: Option<String>,
        labels: BTreeMap<String, String>,
        nets: Vec<IpNet>,
    },
    /// Addresses.
    Nets {
        nets: Vec<IpNet>,
        not_nets: Vec<IpNet>,
    },
}

/// One Allow rule: a peer, a protocol and (for TCP/UDP/SCTP) destination port ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub peer: PeerSpec,
    /// IANA protocol number.
    pub protocol: u8,
    /// Inclusive ranges; empty for protocols without ports.
    pub ports: Vec<(u16, u16)>,
    /// Why the rule is there: `observed` or the system allowance (`dns`, `apiserver`, `probe`).
    pub reason: &'static str,
}

/// The policy of one workload.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    pub namespace: String,
    pub name: String,
    pub ident: BTreeMap<String, String>,
    pub exclude: Vec<String>,
    pub ingress: Vec<RuleSpec>,
    pub egress: Vec<RuleSpec>,
}

/// Everything to render.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub policies: Vec<PolicyPlan>,
    /// Namespaces that get a default deny.
    pub namespaces: Vec<String>,
    pub notes: Vec<String>,
}

/// Lookups into the cluster the user gave.
struct ClusterIndex<'a> {
    by_ip: HashMap<IpAddr, &'a Workload>,
    by_name: HashMap<(&'a str, &'a str), &'a Workload>,
    by_ns: HashMap<&'a str, Vec<&'a Workload>>,
    sets: HashMap<(Option<&'a str>, &'a str), &'a NetworkSet>,
    node_ips: Vec<IpAddr>,
}

impl<'a> ClusterIndex<'a> {
    fn new(c: Option<&'a Cluster>) -> Self {
        let mut ix = ClusterIndex {
            by_ip: HashMap::new(),
            by_name: HashMap::new(),
            by_ns: HashMap::new(),
            sets: HashMap::new(),
            node_ips: Vec::new(),
        };
        let Some(c) = c else { return ix };
        for w in &c.workloads {
            for ip in &w.ips {
                ix.by_ip.entry(*ip).or_insert(w);
            }
            ix.by_name.entry((&w.namespace, &w.name)).or_insert(w);
            ix.by_ns.entry(&w.namespace).or_default().push(w);
        }
        for s in &c.network_sets {
            ix.sets.insert((s.namespace.as_deref(), &s.name), s);
        }
        let mut nodes: BTreeSet<IpAddr> = BTreeSet::new();
        for h in &c.host_endpoints {
            nodes.extend(h.expected_ips.iter().copied());
        }
        ix.node_ips = nodes.into_iter().collect();
        ix
    }

    /// The cluster workload an observed workload endpoint is, if any.
    fn workload(&self, o: &Observed) -> Option<&'a Workload> {
        if let Some(w) = o.ip.and_then(|ip| self.by_ip.get(&ip)) {
            return Some(w);
        }
        let ns = o.namespace.as_deref()?;
        let name = o.name.as_deref()?;
        if let Some(w) = self.by_name.get(&(ns, name)) {
            return Some(w);
        }
        // Aggregated name (`backend-7c9d8b6f4d-*`): a pod with that prefix and the labels.
        let prefix = name.strip_suffix('*')?;
        self.by_ns.get(ns)?.iter().copied().find(|w| {
            w.name.starts_with(prefix)
                && o.labels
                    .iter()
                    .all(|(k, v)| w.labels.get(k.as_str()).is_some_and(|x| &**x == v))
        })
    }
}

/// Classes and each endpoint's peer.
pub(crate) struct Classes {
    pub classes: Vec<Class>,
    pub peers: Vec<Peer>,
    pub notes: Vec<String>,
    pub node_ips: Vec<IpAddr>,
}

type ClassKey = (ClassKind, Option<String>, BTreeMap<String, String>);

fn add_class(
    classes: &mut Vec<Class>,
    by_key: &mut HashMap<ClassKey, u32>,
    key: ClassKey,
    make: &dyn Fn() -> Class,
) -> u32 {
    let next = classes.len() as u32;
    let id = *by_key.entry(key).or_insert_with(|| {
        classes.push(make());
        next
    });
    if let Some(c) = classes.get_mut(id as usize) {
        c.members += 1;
    }
    id
}

pub(crate) fn classify(obs: &Observations, cluster: Option<&Cluster>, opts: &Options) -> Classes {
    let ix = ClusterIndex::new(cluster);
    let mut classes: Vec<Class> = Vec::new();
    let mut by_key: HashMap<ClassKey, u32> = HashMap::new();
    let mut peers = Vec::with_capacity(obs.endpoints.len());
    let mut fallback_ns: BTreeSet<String> = BTreeSet::new();
    for o in &obs.endpoints {
        let ip_peer = o.ip.map_or(Peer::Unknown, Peer::Ip);
        let peer = match o.kind {
            EndpointKind::Workload => {
                let w = ix.workload(o);
                match (&o.namespace, w) {
                    (_, Some(w)) if w.host_network => ip_peer,
                    (None, None) => ip_peer,
                    (ns, w) => {
                        let ns: String = match (ns, w) {
                            (_, Some(w)) => w.namespace.to_string(),
                            (Some(ns), None) => ns.clone(),
                            (None, None) => String::new(),
                        };
                        let ident = match w {
                            Some(w) => identity(w.labels.iter().map(|(k, v)| (&**k, &**v))),
                            None => {
                                identity(o.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                            }
                        };
                        let controller = match w.map(|w| &w.origin) {
                            Some(tabby_model::EndpointOrigin::Template { name, .. }) => {
                                Some(name.to_string())
                            }
                            _ => o
                                .name
                                .as_deref()
                                .or(w.map(|w| &*w.name))
                                .map(controller_name),
                        };
                        let policed = !SYSTEM_NAMESPACES.contains(&ns.as_str())
                            && (opts.namespaces.is_empty() || opts.namespaces.contains(&ns));
                        if ident.is_empty() && policed {
                            fallback_ns.insert(ns.clone());
                        }
                        let automount = w.is_none_or(|w| w.automount_token);
                        let probes: BTreeSet<(u8, u16)> = w
                            .map(|w| w.probes.iter().map(|p| (p.protocol.0, p.port)).collect())
                            .unwrap_or_default();
                        let key = (ClassKind::Workload, Some(ns.clone()), ident.clone());
                        let id = add_class(&mut classes, &mut by_key, key, &|| Class {
                            kind: ClassKind::Workload,
                            namespace: Some(ns.clone()),
                            ident: ident.clone(),
                            exclude: Vec::new(),
                            name: String::new(),
                            policed,
                            automount: false,
                            probes: BTreeSet::new(),
                            nets: BTreeSet::new(),
                            controller: controller.clone(),
                            members: 0,
                        });
                        if let Some(c) = classes.get_mut(id as usize) {
                            c.automount |= automount;
                            c.probes.extend(probes);
                        }
                        Peer::Class(id)
                    }
                }
            }
            EndpointKind::NetworkSet => {
                let name = o.name.as_deref().unwrap_or_default();
                let known = ix
                    .sets
                    .get(&(o.namespace.as_deref(), name))
                    .or_else(|| ix.sets.get(&(None, name)));
                let labels: BTreeMap<String, String> = match known {
                    Some(s) => s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    None => o.labels.iter().cloned().collect(),
                };
                let labels: BTreeMap<String, String> = labels
                    .into_iter()
                    .filter(|(k, v)| valid_label_key(k) && valid_label_value(v))
                    .collect();
                if labels.is_empty() {
                    ip_peer
                } else {
                    let ns = known.map_or(o.namespace.clone(), |s| {
                        s.namespace.as_ref().map(|n| n.to_string())
                    });
                    let key = (ClassKind::NetworkSet, ns.clone(), labels.clone());
                    let id = add_class(&mut classes, &mut by_key, key, &|| Class {
                        kind: ClassKind::NetworkSet,
                        namespace: ns.clone(),
                        ident: labels.clone(),
                        exclude: Vec::new(),
                        name: String::new(),
                        policed: false,
                        automount: false,
                        probes: BTreeSet::new(),
                        nets: known
                            .map(|s| s.nets.iter().copied().collect())
                            .unwrap_or_default(),
                        controller: None,
                        members: 0,
                    });
                    if let (Some(c), Some(ip), None) = (classes.get_mut(id as usize), o.ip, known) {
                        c.nets.insert(IpNet::from(ip));
                    }
                    Peer::Class(id)
                }
            }
            EndpointKind::Host => ip_peer,
            EndpointKind::Net => match (o.ip, o.name.as_deref()) {
                (Some(ip), _) => Peer::Ip(ip),
                (None, Some("pub")) => Peer::Public,
                (None, Some("pvt")) => Peer::Private,
                _ => Peer::Unknown,
            },
        };
        peers.push(peer);
    }
    exclusions(&mut classes);
    name_classes(&mut classes);
    let mut notes = Vec::new();
    for ns in fallback_ns {
        notes.push(format!(
            "namespace `{ns}`: some workloads carry no stable label; their policy selects every pod of the namespace not matched by another recommended policy"
        ));
    }
    Classes {
        classes,
        peers,
        notes,
        node_ips: ix.node_ips,
    }
}

/// For each workload class, the keys to require absent so that its selector does
/// not also select a class of the same namespace whose identity is a strict superset.
fn exclusions(classes: &mut [Class]) {
    let mut by_ns: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, c) in classes.iter().enumerate() {
        if c.kind == ClassKind::Workload {
            by_ns.entry(c.namespace.clone()).or_default().push(i);
        }
    }
    for ids in by_ns.values() {
        let mut add: Vec<(usize, Vec<String>)> = Vec::new();
        for &a in ids {
            let Some(ca) = classes.get(a) else { continue };
            let mut keys: BTreeSet<String> = BTreeSet::new();
            for &b in ids {
                let Some(cb) = classes.get(b) else { continue };
                if a == b || cb.ident.len() <= ca.ident.len() {
                    continue;
                }
                if ca.ident.iter().all(|(k, v)| cb.ident.get(k) == Some(v)) {
                    keys.extend(
                        cb.ident
                            .keys()
                            .filter(|k| !ca.ident.contains_key(*k))
                            .cloned(),
                    );
                }
            }
            if !keys.is_empty() {
                add.push((a, keys.into_iter().collect()));
            }
        }
        for (a, keys) in add {
            if let Some(c) = classes.get_mut(a) {
                c.exclude = keys;
            }
        }
    }
}

/// Names policed classes `allow-<identity>` (or `allow-<controller>`), unique per namespace.
fn name_classes(classes: &mut [Class]) {
    let mut order: Vec<usize> = (0..classes.len())
        .filter(|&i| classes.get(i).is_some_and(|c| c.policed))
        .collect();
    order.sort_by_key(|&i| {
        classes
            .get(i)
            .map(|c| (c.namespace.clone(), c.ident.clone()))
    });
    let mut used: BTreeSet<(Option<String>, String)> = BTreeSet::new();
    for i in order {
        let Some(c) = classes.get_mut(i) else {
            continue;
        };
        let base = identity_name(&c.ident)
            .or_else(|| c.controller.clone())
            .unwrap_or_else(|| "unlabelled".to_owned());
        let base = format!("allow-{}", dns_label(&base, 50));
        let mut name = base.clone();
        let mut n = 2;
        while !used.insert((c.namespace.clone(), name.clone())) {
            name = format!("{base}-{n}");
            n += 1;
        }
        c.name = name;
    }
}

fn private_nets() -> Vec<IpNet> {
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn any_nets() -> Vec<IpNet> {
    ["0.0.0.0/0", "::/0"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Sorted ports as inclusive ranges of consecutive ports.
pub(crate) fn ranges(ports: impl IntoIterator<Item = u16>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    let mut ports: Vec<u16> = ports.into_iter().collect();
    ports.sort_unstable();
    ports.dedup();
    for p in ports {
        match out.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(p) => *hi = p,
            _ => out.push((p, p)),
        }
    }
    out
}

/// `(protocol, port)` entries as one rule per protocol.
fn rules_for(
    peer: &PeerSpec,
    entries: &BTreeSet<(u8, u16)>,
    reason: &'static str,
) -> Vec<RuleSpec> {
    let mut by_proto: BTreeMap<u8, Vec<u16>> = BTreeMap::new();
    for (proto, port) in entries {
        let v = by_proto.entry(*proto).or_default();
        if *port != 0 {
            v.push(*port);
        }
    }
    let mut out = Vec::new();
    for p in by_family(peer) {
        for (protocol, ports) in &by_proto {
            out.push(RuleSpec {
                peer: p.clone(),
                protocol: *protocol,
                ports: ranges(ports.iter().copied()),
                reason,
            });
        }
    }
    out
}

/// Calico wants every net of a rule in one family: a `Nets` peer of both families
/// becomes one peer per family.
fn by_family(peer: &PeerSpec) -> Vec<PeerSpec> {
    let PeerSpec::Nets { nets, not_nets } = peer else {
        return vec![peer.clone()];
    };
    let mut out = Vec::new();
    for v6 in [false, true] {
        let pick = |l: &[IpNet]| -> Vec<IpNet> {
            l.iter()
                .copied()
                .filter(|n| matches!(n, IpNet::V6(_)) == v6)
                .collect()
        };
        let n = pick(nets);
        if !n.is_empty() {
            out.push(PeerSpec::Nets {
                nets: n,
                not_nets: pick(not_nets),
            });
        }
    }
    out
}

/// A protocol and its port ranges.
type Service = (u8, Vec<(u16, u16)>);

/// Observed external addresses of one side → rules with `nets`, aggregated to
/// wider prefixes when there are more than `max_exact` of them.
fn net_rules(
    ips: &BTreeMap<IpAddr, BTreeSet<(u8, u16)>>,
    max_exact: usize,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<RuleSpec> {
    let mut out = Vec::new();
    for v6 in [false, true] {
        let fam: Vec<(&IpAddr, &BTreeSet<(u8, u16)>)> =
            ips.iter().filter(|(ip, _)| ip.is_ipv6() == v6).collect();
        if fam.is_empty() {
            continue;
        }
        let levels: &[u8] = if v6 {
            &[128, 64, 48, 32, 0]
        } else {
            &[32, 24, 16, 8, 0]
        };
        let mut chosen: BTreeMap<IpNet, BTreeSet<(u8, u16)>> = BTreeMap::new();
        for &len in levels {
            chosen.clear();
            for (ip, svc) in &fam {
                let Ok(net) = IpNet::new(**ip, len) else {
                    continue;
                };
                chosen
                    .entry(net.trunc())
                    .or_default()
                    .extend(svc.iter().copied());
            }
            if chosen.len() <= max_exact.max(1) {
                if (!v6 && len < 32) || (v6 && len < 128) {
                    notes.push(format!(
                        "{what}: {} external address{} aggregated into {} /{len} network{}",
                        fam.len(),
                        if fam.len() == 1 { "" } else { "es" },
                        chosen.len(),
                        if chosen.len() == 1 { "" } else { "s" },
                    ));
                }
                break;
            }
        }
        // One rule per (protocol, port list), listing every net that needs exactly it.
        let mut by_service: BTreeMap<Service, Vec<IpNet>> = BTreeMap::new();
        for (net, svc) in &chosen {
            let mut per_proto: BTreeMap<u8, Vec<u16>> = BTreeMap::new();
            for (p, port) in svc {
                let v = per_proto.entry(*p).or_default();
                if *port != 0 {
                    v.push(*port);
                }
            }
            for (p, ports) in per_proto {
                by_service.entry((p, ranges(ports))).or_default().push(*net);
            }
        }
        for ((protocol, ports), nets) in by_service {
            out.push(RuleSpec {
                peer: PeerSpec::Nets {
                    nets,
                    not_nets: Vec::new(),
                },
                protocol,
                ports,
                reason: "observed",
            });
        }
    }
    out
}

/// One side (ingress or egress) of one class, while collecting.
#[derive(Debug, Default)]
struct Side {
    classes: BTreeMap<u32, BTreeSet<(u8, u16)>>,
    ips: BTreeMap<IpAddr, BTreeSet<(u8, u16)>>,
    public: BTreeSet<(u8, u16)>,
    private: BTreeSet<(u8, u16)>,
}

impl Side {
    fn add(&mut self, peer: Peer, svc: (u8, u16)) {
        match peer {
            Peer::Class(c) => {
                self.classes.entry(c).or_default().insert(svc);
            }
            Peer::Ip(ip) => {
                self.ips.entry(ip).or_default().insert(svc);
            }
            Peer::Public => {
                self.public.insert(svc);
            }
            Peer::Private => {
                self.private.insert(svc);
            }
            Peer::Unknown => {}
        }
    }
}

pub(crate) fn peer_spec(c: &Class) -> PeerSpec {
    match c.kind {
        ClassKind::Workload => PeerSpec::Workload {
            namespace: c.namespace.clone().unwrap_or_default(),
            ident: c.ident.clone(),
            exclude: c.exclude.clone(),
        },
        ClassKind::NetworkSet => PeerSpec::NetworkSet {
            namespace: c.namespace.clone(),
            labels: c.ident.clone(),
            nets: c.nets.iter().copied().collect(),
        },
    }
}

fn dns_peer() -> PeerSpec {
    PeerSpec::Workload {
        namespace: "kube-system".to_owned(),
        ident: [("k8s-app".to_owned(), "kube-dns".to_owned())].into(),
        exclude: Vec::new(),
    }
}

fn is_dns_class(c: &Class) -> bool {
    c.kind == ClassKind::Workload
        && c.namespace.as_deref() == Some("kube-system")
        && c.ident.get("k8s-app").map(String::as_str) == Some("kube-dns")
}

/// Builds the plan. `unknown` counts distinct flows with an endpoint no rule can name.
pub(crate) fn build(obs: &Observations, cl: &Classes, opts: &Options) -> (Plan, u64) {
    let mut sides: BTreeMap<u32, (Side, Side)> = BTreeMap::new();
    let mut unknown = 0u64;
    let policed = |p: Peer| match p {
        Peer::Class(c) => cl.classes.get(c as usize).is_some_and(|c| c.policed),
        _ => false,
    };
    // Only flows a system allowance does not already cover.
    let apiserver = opts.apiserver;
    for t in obs.tuples.keys() {
        let src = cl
            .peers
            .get(t.src as usize)
            .copied()
            .unwrap_or(Peer::Unknown);
        let dst = cl
            .peers
            .get(t.dst as usize)
            .copied()
            .unwrap_or(Peer::Unknown);
        if src == Peer::Unknown || dst == Peer::Unknown {
            unknown += 1;
            continue;
        }
        let svc = (t.protocol, t.port);
        if let Peer::Class(s) = src {
            if policed(src) {
                let dns = matches!(dst, Peer::Class(d) if cl.classes.get(d as usize).is_some_and(is_dns_class))
                    && t.port == 53
                    && matches!(t.protocol, TCP | UDP);
                let api = matches!((dst, apiserver), (Peer::Ip(ip), Some(a)) if ip == a.ip() && t.port == a.port() && t.protocol == TCP)
                    && cl.classes.get(s as usize).is_some_and(|c| c.automount);
                if !dns && !api {
                    sides.entry(s).or_default().1.add(dst, svc);
                }
            }
        }
        if let Peer::Class(d) = dst {
            if policed(dst) {
                let probe = matches!(src, Peer::Ip(ip) if cl.node_ips.contains(&ip))
                    && cl
                        .classes
                        .get(d as usize)
                        .is_some_and(|c| c.probes.contains(&svc));
                if !probe {
                    sides.entry(d).or_default().0.add(src, svc);
                }
            }
        }
    }
    let mut plan = Plan {
        notes: cl.notes.clone(),
        ..Plan::default()
    };
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    for (i, c) in cl.classes.iter().enumerate() {
        if !c.policed {
            continue;
        }
        let (ing, eg) = sides.remove(&(i as u32)).unwrap_or_default();
        let ns = c.namespace.clone().unwrap_or_default();
        namespaces.insert(ns.clone());
        let mut egress = vec![
            RuleSpec {
                peer: dns_peer(),
                protocol: UDP,
                ports: vec![(53, 53)],
                reason: "dns",
            },
            RuleSpec {
                peer: dns_peer(),
                protocol: TCP,
                ports: vec![(53, 53)],
                reason: "dns",
            },
        ];
        if let (Some(a), true) = (apiserver, c.automount) {
            egress.push(RuleSpec {
                peer: PeerSpec::Nets {
                    nets: vec![IpNet::from(a.ip())],
                    not_nets: Vec::new(),
                },
                protocol: TCP,
                ports: vec![(a.port(), a.port())],
                reason: "apiserver",
            });
        }
        let mut ingress = Vec::new();
        if !c.probes.is_empty() && !cl.node_ips.is_empty() {
            let peer = PeerSpec::Nets {
                nets: cl.node_ips.iter().map(|ip| IpNet::from(*ip)).collect(),
                not_nets: Vec::new(),
            };
            ingress.extend(rules_for(&peer, &c.probes, "probe"));
        }
        let what = |dir: &str| format!("`{ns}/{}` {dir}", c.name);
        for (side, out, dir) in [(ing, &mut ingress, "ingress"), (eg, &mut egress, "egress")] {
            let mut peers: Vec<(PeerSpec, &BTreeSet<(u8, u16)>)> = side
                .classes
                .iter()
                .filter_map(|(id, svc)| Some((peer_spec(cl.classes.get(*id as usize)?), svc)))
                .collect();
            peers.sort();
            for (peer, svc) in peers {
                out.extend(rules_for(&peer, svc, "observed"));
            }
            out.extend(net_rules(
                &side.ips,
                opts.max_exact_nets,
                &what(dir),
                &mut plan.notes,
            ));
            if !side.public.is_empty() {
                let peer = PeerSpec::Nets {
                    nets: any_nets(),
                    not_nets: private_nets(),
                };
                out.extend(rules_for(&peer, &side.public, "observed"));
                plan.notes.push(format!(
                    "{}: the log names public peers without their address; the rule allows every public address",
                    what(dir)
                ));
            }
            if !side.private.is_empty() {
                let peer = PeerSpec::Nets {
                    nets: private_nets(),
                    not_nets: Vec::new(),
                };
                out.extend(rules_for(&peer, &side.private, "observed"));
                plan.notes.push(format!(
                    "{}: the log names private peers without their address; the rule allows every private address",
                    what(dir)
                ));
            }
        }
        plan.policies.push(PolicyPlan {
            namespace: ns,
            name: c.name.clone(),
            ident: c.ident.clone(),
            exclude: c.exclude.clone(),
            ingress,
            egress,
        });
    }
    plan.policies
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    plan.namespaces = namespaces.into_iter().collect();
    (plan, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(
            ranges([80, 81, 82, 443, 8080, 8081]),
            vec![(80, 82), (443, 443), (8080, 8081)]
        );
        assert_eq!(ranges([65535, 65534]), vec![(65534, 65535)]);
        assert!(ranges([]).is_empty());
    }

    #[test]
    fn nets_are_exact_when_few_and_aggregated_when_many() {
        let svc: BTreeSet<(u8, u16)> = [(TCP, 443)].into();
        let few: BTreeMap<IpAddr, _> = (1..=3u8)
            .map(|i| (IpAddr::from([203, 0, 113, i]), svc.clone()))
            .collect();
        let mut notes = Vec::new();
        let r = net_rules(&few, 4, "x", &mut notes);
        assert_eq!(r.len(), 1);
        let PeerSpec::Nets { nets, .. } = &r[0].peer else {
            panic!()
        };
        assert_eq!(nets.len(), 3);
        assert!(nets.iter().all(|n| n.prefix_len() == 32));
        assert!(notes.is_empty());

        let many: BTreeMap<IpAddr, _> = (1..=20u8)
            .map(|i| (IpAddr::from([203, 0, 113 + i % 2, i]), svc.clone()))
            .collect();
        let r = net_rules(&many, 4, "x", &mut notes);
        let PeerSpec::Nets { nets, .. } = &r[0].peer else {
            panic!()
        };
        assert_eq!(
            nets.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["203.0.113.0/24", "203.0.114.0/24"]
        );
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("20 external addresses aggregated into 2 /24 networks"),
            "{notes:?}"
        );
    }
}
