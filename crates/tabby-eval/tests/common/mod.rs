//! Small builders for engine tests: `tabby_model` values made directly.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers; each test file uses a different subset"
)]

use std::net::IpAddr;

use tabby_eval::gen;
use tabby_model::{
    Action, Cluster, HostEndpoint, LabelMap, Name, NamedPort, Namespace, NetworkSet, Policy,
    PolicyKind, PortRange, PortSpec, Protocol, Rule, Tier, TierDefaultAction, Types, Workload,
};
use tabby_selector::Selector;

pub fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("bad selector {s:?}: {e}"))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn labels(pairs: &[(&str, &str)]) -> LabelMap {
    pairs
        .iter()
        .map(|(k, v)| (Name::from(*k), Name::from(*v)))
        .collect()
}

pub fn mk_ns(name: &str, l: &[(&str, &str)]) -> Namespace {
    Namespace {
        name: name.into(),
        labels: labels(l),
        loc: None,
    }
}

pub fn mk_pod(ns: &str, name: &str, l: &[(&str, &str)], addr: &str) -> Workload {
    let a = (!addr.is_empty()).then(|| ip(addr));
    gen::workload(ns, name, labels(l), a)
}

pub fn with_port(mut w: Workload, name: &str, proto: Protocol, port: u16) -> Workload {
    w.ports.push(NamedPort {
        name: name.into(),
        protocol: proto,
        port,
    });
    w
}

pub fn mk_hep(name: &str, node: &str, addr: &str, l: &[(&str, &str)]) -> HostEndpoint {
    HostEndpoint {
        name: name.into(),
        node: node.into(),
        interface_name: Some("eth0".into()),
        expected_ips: vec![ip(addr)],
        labels: labels(l),
        profiles: Vec::new(),
        ports: Vec::new(),
        loc: None,
    }
}

pub fn mk_netset(ns: Option<&str>, name: &str, l: &[(&str, &str)], nets: &[&str]) -> NetworkSet {
    NetworkSet {
        name: name.into(),
        namespace: ns.map(Name::from),
        labels: labels(l),
        nets: nets.iter().map(|n| n.parse().unwrap()).collect(),
        allowed_egress_domains: Vec::new(),
        loc: None,
    }
}

pub fn mk_tier(name: &str, order: Option<f64>, action: TierDefaultAction) -> Tier {
    Tier {
        name: name.into(),
        order,
        default_action: action,
        declared: true,
        loc: None,
    }
}

pub fn types(ingress: bool, egress: bool) -> Types {
    Types {
        ingress,
        egress,
        inferred: false,
    }
}

/// A Calico NetworkPolicy in tier `default`, ingress only.
pub fn mk_np(ns: &str, name: &str, selector: &str) -> Policy {
    let mut p = gen::policy(PolicyKind::NetworkPolicy, name, Some(ns), "default");
    p.selector = sel(selector);
    p
}

/// A GlobalNetworkPolicy in tier `default`, ingress only.
pub fn mk_gnp(name: &str, selector: &str) -> Policy {
    let mut p = gen::policy(PolicyKind::GlobalNetworkPolicy, name, None, "default");
    p.selector = sel(selector);
    p
}

pub fn with_ingress(mut p: Policy, rules: Vec<Rule>) -> Policy {
    p.ingress = rules;
    p.types.ingress = true;
    p
}

pub fn with_egress(mut p: Policy, rules: Vec<Rule>) -> Policy {
    p.egress = rules;
    p.types.egress = true;
    p
}

pub fn rule(action: Action) -> Rule {
    Rule::new(action)
}

pub fn tcp(action: Action, port: u16) -> Rule {
    let mut r = Rule::new(action);
    r.protocol = Some(Protocol::TCP);
    r.destination
        .ports
        .push(PortSpec::Range(PortRange::single(port)));
    r
}

pub fn from_sel(mut r: Rule, s: &str) -> Rule {
    r.source.selector = Some(sel(s));
    r
}

pub fn to_sel(mut r: Rule, s: &str) -> Rule {
    r.destination.selector = Some(sel(s));
    r
}

/// An empty cluster with the three built-in tiers.
pub fn cluster() -> Cluster {
    let mut c = Cluster::default();
    c.tiers.push(mk_tier(
        "default",
        Some(1_000_000.0),
        TierDefaultAction::Deny,
    ));
    c.tiers
        .push(mk_tier("kube-admin", Some(1000.0), TierDefaultAction::Pass));
    c.tiers.push(mk_tier(
        "kube-baseline",
        Some(10_000_000.0),
        TierDefaultAction::Pass,
    ));
    for t in &mut c.tiers {
        t.declared = false;
    }
    c
}

pub fn engine(c: &Cluster) -> tabby_eval::Engine {
    tabby_eval::Engine::new(c, tabby_eval::EngineOptions::default())
}

/// Decides and traces; checks that both agree, and that the trace serialises.
pub fn check(e: &tabby_eval::Engine, f: &tabby_eval::Flow) -> tabby_eval::Decision {
    let d = e.decide(f);
    let t = e.trace(f);
    assert_eq!(
        t.allowed(),
        d.allowed,
        "trace and decide disagree:\n{}",
        t.render_text()
    );
    assert_eq!(
        t.staged_verdict == "allow",
        d.staged_allowed,
        "{}",
        t.render_text()
    );
    serde_json::to_string(&t).unwrap();
    d
}

pub fn allowed(e: &tabby_eval::Engine, f: &tabby_eval::Flow) -> bool {
    check(e, f).allowed
}
