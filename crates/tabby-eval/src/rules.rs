//! Layer 5: each model [`Rule`] compiled once into a [`CompiledRule`]: selectors
//! become SelIds, nets are split by family (calico-semantics §2.3
//! `FilterRuleToIPVersion`), named ports and services become sorted sets of
//! `(ip, protocol, port)` from the endpoints they refer to (§4.5, §4.6).

use std::net::IpAddr;

use ipnet::IpNet;
use tabby_model::{
    Action, Cluster, EntityRule, IcmpMatch, IpVersion, Name, PortRange, PortSpec, Rule,
};

use crate::endpoints::{Endpoint, EndpointKind};
use crate::lower;
use crate::selectors::{MatchIndex, SelId, SelectorTable};

/// A `(address, protocol, port)` triple of a named-port or service set.
pub type AddrPort = (IpAddr, u8, u16);

/// `ports` or `notPorts` of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSet {
    pub ranges: Vec<PortRange>,
    /// Named ports as written (for traces and the nft compiler).
    pub names: Vec<Name>,
    /// Resolved named ports, sorted; shared between rules that resolve the same
    /// names with the same protocol and selector.
    pub named: std::sync::Arc<[AddrPort]>,
}

impl PortSet {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.names.is_empty()
    }

    /// Port `port` of protocol `proto` at address `ip` is in the set.
    #[inline]
    pub fn contains(&self, ip: IpAddr, proto: u8, port: u16) -> bool {
        self.ranges.iter().any(|r| r.contains(port))
            || (!self.named.is_empty() && self.named.binary_search(&(ip, proto, port)).is_ok())
    }
}

/// `services` of one side, resolved to backends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSet {
    pub namespace: Name,
    pub name: Name,
    /// Source side: backend addresses.
    pub addrs: Vec<IpAddr>,
    /// Destination side: backend `(ip, protocol, port)`.
    pub addr_ports: Vec<AddrPort>,
}

/// One side (`source`/`destination`) of a compiled rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledSide {
    pub nets: Vec<IpNet>,
    pub not_nets: Vec<IpNet>,
    pub selector: Option<SelId>,
    pub not_selector: Option<SelId>,
    pub ports: PortSet,
    pub not_ports: PortSet,
    pub services: Option<ServiceSet>,
    /// Destination only: domains (exact or with `*` labels).
    pub domains: Vec<Name>,
}

/// A rule ready for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRule {
    /// Position in the policy's (or profile's) rule list for its direction.
    pub index: u32,
    pub action: Action,
    pub ip_version: Option<IpVersion>,
    /// Felix renders the rule for IPv4 / IPv6 (ipVersion and family-specific nets).
    pub v4: bool,
    pub v6: bool,
    pub protocol: Option<u8>,
    pub not_protocol: Option<u8>,
    pub icmp: Option<IcmpMatch>,
    pub not_icmp: Option<IcmpMatch>,
    pub src: CompiledSide,
    pub dst: CompiledSide,
    /// The rule has an `http` match, which only application-layer policy enforces.
    pub has_http: bool,
    /// `metadata.annotations.name` (ClusterNetworkPolicy rule names).
    pub name: Option<Name>,
}

/// Lowered (positive, negative) selectors of a rule's source and destination.
pub type RuleSels = [(Option<SelId>, Option<SelId>); 2];

/// What rules are compiled against.
pub struct RuleContext<'a> {
    pub cluster: &'a Cluster,
    pub endpoints: &'a [Endpoint],
    pub matches: &'a MatchIndex,
    /// Port name → (endpoint index, protocol, port) of every declared named port,
    /// built on first use (most rule sets, and most incremental updates, have none).
    named_ports: std::cell::OnceCell<NamedPorts>,
    /// Resolved named-port sets by (names, protocol, positive selector).
    named_cache: std::cell::RefCell<NamedCache>,
}

type NamedPorts = std::collections::HashMap<Name, Vec<(usize, u8, u16)>>;

type NamedCache =
    std::collections::HashMap<(Vec<Name>, Option<u8>, Option<SelId>), std::sync::Arc<[AddrPort]>>;

impl<'a> RuleContext<'a> {
    pub fn new(cluster: &'a Cluster, endpoints: &'a [Endpoint], matches: &'a MatchIndex) -> Self {
        Self {
            cluster,
            endpoints,
            matches,
            named_ports: std::cell::OnceCell::new(),
            named_cache: Default::default(),
        }
    }

    /// Every declared named port by name.
    fn named_ports(&self) -> &NamedPorts {
        self.named_ports.get_or_init(|| {
            let mut named_ports = NamedPorts::new();
            for (i, ep) in self.endpoints.iter().enumerate() {
                if ep.kind == EndpointKind::NetworkSet {
                    continue;
                }
                for p in &ep.ports {
                    named_ports
                        .entry(p.name.clone())
                        .or_default()
                        .push((i, p.protocol.0, p.port));
                }
            }
            named_ports
        })
    }
}

/// Interns the lowered selectors of a rule (phase 1: before matching).
pub fn intern_selectors(
    rule: &Rule,
    policy_ns: Option<&str>,
    table: &mut SelectorTable,
) -> RuleSels {
    let mut out = [(None, None); 2];
    for (slot, er) in out.iter_mut().zip([&rule.source, &rule.destination]) {
        let side = lower::rule_side(er, policy_ns);
        *slot = (
            side.positive.map(|t| table.intern(&t)),
            side.negative.map(|t| table.intern(&t)),
        );
    }
    out
}

fn family_nets(nets: &[IpNet], v6: bool) -> bool {
    nets.iter().any(|n| matches!(n, IpNet::V6(_)) == v6)
}

fn named_ports(
    ctx: &RuleContext<'_>,
    names: &[Name],
    protocol: Option<u8>,
    positive: Option<SelId>,
) -> std::sync::Arc<[AddrPort]> {
    if names.is_empty() {
        return std::sync::Arc::from(Vec::new());
    }
    let key = (names.to_vec(), protocol, positive);
    if let Some(hit) = ctx.named_cache.borrow().get(&key) {
        return hit.clone();
    }
    let set: std::sync::Arc<[AddrPort]> = resolve_named(ctx, names, protocol, positive).into();
    ctx.named_cache.borrow_mut().insert(key, set.clone());
    set
}

fn resolve_named(
    ctx: &RuleContext<'_>,
    names: &[Name],
    protocol: Option<u8>,
    positive: Option<SelId>,
) -> Vec<AddrPort> {
    let mut out = Vec::new();
    for name in names {
        for &(i, proto, port) in ctx.named_ports().get(name).map_or(&[][..], Vec::as_slice) {
            if protocol.is_some_and(|x| x != proto) {
                continue;
            }
            if let Some(sel) = positive {
                if !ctx.matches.endpoint_matches(i, sel) {
                    continue;
                }
            }
            if let Some(ep) = ctx.endpoints.get(i) {
                out.extend(ep.nets.iter().map(|n| (n.addr(), proto, port)));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn port_set(
    ctx: &RuleContext<'_>,
    specs: &[PortSpec],
    protocol: Option<u8>,
    positive: Option<SelId>,
) -> PortSet {
    let mut set = PortSet::default();
    for s in specs {
        match s {
            PortSpec::Range(r) => set.ranges.push(*r),
            PortSpec::Named(n) => set.names.push(n.clone()),
        }
    }
    set.named = named_ports(ctx, &set.names, protocol, positive);
    set
}

fn service_set(
    ctx: &RuleContext<'_>,
    er: &EntityRule,
    policy_ns: Option<&str>,
) -> Option<ServiceSet> {
    let m = er.services.as_ref()?;
    let ns: Name = m
        .namespace
        .clone()
        .unwrap_or_else(|| policy_ns.unwrap_or_default().into());
    let mut set = ServiceSet {
        namespace: ns.clone(),
        name: m.name.clone(),
        ..Default::default()
    };
    let svc = ctx
        .cluster
        .services
        .iter()
        .find(|s| s.namespace == ns && s.name == m.name);
    let Some(svc) = svc else {
        return Some(set);
    };
    let Some(selector) = &svc.selector else {
        return Some(set);
    };
    for ep in ctx.endpoints {
        if ep.kind != EndpointKind::Workload || ep.namespace.as_ref() != Some(&ns) {
            continue;
        }
        // A Service selects pods by their own labels (equality on every key).
        if !selector.iter().all(|(k, v)| ep.labels.get(k) == Some(v)) {
            continue;
        }
        for net in &ep.nets {
            let ip = net.addr();
            set.addrs.push(ip);
            for sp in &svc.ports {
                let port = match &sp.target_port {
                    None => Some(sp.port),
                    Some(PortSpec::Range(r)) => Some(r.min),
                    Some(PortSpec::Named(n)) => ep
                        .ports
                        .iter()
                        .find(|p| &p.name == n && p.protocol == sp.protocol)
                        .map(|p| p.port),
                };
                if let Some(port) = port {
                    set.addr_ports.push((ip, sp.protocol.0, port));
                }
            }
        }
    }
    set.addrs.sort_unstable();
    set.addrs.dedup();
    set.addr_ports.sort_unstable();
    set.addr_ports.dedup();
    Some(set)
}

/// Compiles a rule (phase 2: after the match index is up to date).
pub fn compile(
    ctx: &RuleContext<'_>,
    index: usize,
    rule: &Rule,
    policy_ns: Option<&str>,
    sels: RuleSels,
) -> CompiledRule {
    let protocol = rule.protocol.map(|p| p.0);
    let [(src_pos, src_neg), (dst_pos, dst_neg)] = sels;
    let side = |er: &EntityRule, pos: Option<SelId>, neg: Option<SelId>, dst: bool| CompiledSide {
        nets: er.nets.iter().map(IpNet::trunc).collect(),
        not_nets: er.not_nets.iter().map(IpNet::trunc).collect(),
        selector: pos,
        not_selector: neg,
        ports: port_set(ctx, &er.ports, protocol, pos),
        not_ports: port_set(ctx, &er.not_ports, protocol, pos),
        services: service_set(ctx, er, policy_ns),
        domains: if dst { er.domains.clone() } else { Vec::new() },
    };
    let src = side(&rule.source, src_pos, src_neg, false);
    let dst = side(&rule.destination, dst_pos, dst_neg, true);
    // FilterRuleToIPVersion: a positive net list with no net of a family drops the
    // rule for that family.
    let rendered = |v6: bool| {
        let want = if v6 { IpVersion::V6 } else { IpVersion::V4 };
        rule.ip_version.is_none_or(|v| v == want)
            && (src.nets.is_empty() || family_nets(&src.nets, v6))
            && (dst.nets.is_empty() || family_nets(&dst.nets, v6))
    };
    CompiledRule {
        index: index as u32,
        action: rule.action,
        ip_version: rule.ip_version,
        v4: rendered(false),
        v6: rendered(true),
        protocol,
        not_protocol: rule.not_protocol.map(|p| p.0),
        icmp: rule.icmp,
        not_icmp: rule.not_icmp,
        src,
        dst,
        has_http: rule.http.is_some(),
        name: rule.annotations.get("name").cloned(),
    }
}
