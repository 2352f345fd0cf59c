//! A plain reference evaluator, written straight from calico-semantics.md
//! §§2–5 with no indexes, no lowering to text and no sharing: for each flow it
//! iterates tiers and policies and evaluates selectors with `Selector::matches`
//! on string label maps. A proptest checks the engine agrees with it on random
//! small clusters, policies and flows.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed assumption should fail the test"
)]

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use common::*;
use proptest::prelude::*;
use tabby_eval::{Engine, EngineOptions, Flow};
use tabby_model::{
    Action, Cluster, Direction, EntityRule, HostEndpoint, Policy, PolicyKind, PortRange, PortSpec,
    Protocol, Rule, ServiceAccountMatch, StagedAction, TierDefaultAction, Workload,
};
use tabby_selector::Selector;

type Labels = BTreeMap<String, String>;

/// An entity as the reference sees it.
#[derive(Debug, Clone)]
struct Ent {
    namespace: Option<String>,
    labels: Labels,
    ips: Vec<ipnet::IpNet>,
    ports: Vec<tabby_model::NamedPort>,
    /// Some(profiles) for policy targets.
    profiles: Option<Vec<String>>,
    is_host: bool,
    node: Option<String>,
}

fn pod_labels(c: &Cluster, w: &Workload) -> Labels {
    let mut l = Labels::new();
    // Profile-inherited first (own labels override).
    if let Some(ns) = c.namespace(&w.namespace) {
        for (k, v) in &ns.labels {
            l.insert(format!("pcns.{k}"), v.to_string());
        }
    }
    l.insert(
        "pcns.kubernetes.io/metadata.name".into(),
        w.namespace.to_string(),
    );
    l.insert(
        "pcns.projectcalico.org/name".into(),
        w.namespace.to_string(),
    );
    if let Some(sa) = &w.service_account {
        if let Some(s) = c
            .service_accounts
            .iter()
            .find(|s| s.namespace == w.namespace && s.name == *sa)
        {
            for (k, v) in &s.labels {
                l.insert(format!("pcsa.{k}"), v.to_string());
            }
        }
        l.insert("pcsa.projectcalico.org/name".into(), sa.to_string());
    }
    for (k, v) in &w.labels {
        if !k.starts_with("pcns.") && !k.starts_with("pcsa.") {
            l.insert(k.to_string(), v.to_string());
        }
    }
    l.insert(
        "projectcalico.org/namespace".into(),
        w.namespace.to_string(),
    );
    l.insert(
        "projectcalico.org/orchestrator".into(),
        w.orchestrator.to_string(),
    );
    if let Some(sa) = &w.service_account {
        l.insert("projectcalico.org/serviceaccount".into(), sa.to_string());
    }
    l
}

fn entities(c: &Cluster) -> Vec<Ent> {
    let mut out = Vec::new();
    for w in c.workloads.iter().filter(|w| !w.host_network) {
        let mut profiles = vec![format!("kns.{}", w.namespace)];
        if let Some(sa) = &w.service_account {
            profiles.push(format!("ksa.{}.{sa}", w.namespace));
        }
        out.push(Ent {
            namespace: Some(w.namespace.to_string()),
            labels: pod_labels(c, w),
            ips: w.ips.iter().map(|i| ipnet::IpNet::from(*i)).collect(),
            ports: w.ports.clone(),
            profiles: Some(profiles),
            is_host: false,
            node: w.node.as_ref().map(ToString::to_string),
        });
    }
    for h in &c.host_endpoints {
        out.push(Ent {
            namespace: None,
            labels: h
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ips: h
                .expected_ips
                .iter()
                .map(|i| ipnet::IpNet::from(*i))
                .collect(),
            ports: h.ports.clone(),
            profiles: Some(h.profiles.iter().map(ToString::to_string).collect()),
            is_host: true,
            node: Some(h.node.to_string()),
        });
    }
    for s in &c.network_sets {
        let mut labels: Labels = Labels::new();
        if let Some(ns) = &s.namespace {
            if let Some(n) = c.namespace(ns) {
                for (k, v) in &n.labels {
                    labels.insert(format!("pcns.{k}"), v.to_string());
                }
            }
            labels.insert("pcns.kubernetes.io/metadata.name".into(), ns.to_string());
            labels.insert("pcns.projectcalico.org/name".into(), ns.to_string());
        }
        for (k, v) in &s.labels {
            labels.insert(k.to_string(), v.to_string());
        }
        if let Some(ns) = &s.namespace {
            labels.insert("projectcalico.org/namespace".into(), ns.to_string());
        }
        out.push(Ent {
            namespace: s.namespace.as_ref().map(ToString::to_string),
            labels,
            ips: s.nets.clone(),
            ports: vec![],
            profiles: None,
            is_host: false,
            node: None,
        });
    }
    out
}

/// The labels under `prefix`, with the prefix removed.
fn view(l: &Labels, prefix: &str) -> Labels {
    l.iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
        .collect()
}

/// A namespace selector on an entity: `all()` = namespaced, `global()` = not, else on pcns.* labels.
fn ns_sel_matches(s: &Selector, e: &Ent) -> bool {
    let text = s.to_string();
    if text == "all()" {
        e.labels.contains_key("projectcalico.org/namespace")
    } else if text == "global()" {
        !e.labels.contains_key("projectcalico.org/namespace")
    } else {
        s.matches(&view(&e.labels, "pcns."))
    }
}

fn policy_applies(p: &Policy, e: &Ent, dir: Direction, pending: bool) -> bool {
    let Some(_) = &e.profiles else { return false };
    if !p.applies_in(dir) {
        return false;
    }
    if p.kind.is_staged() && (!pending || p.staged_action == Some(StagedAction::Delete)) {
        return false;
    }
    if p.do_not_track || p.pre_dnat {
        return false; // not generated
    }
    if p.kind.is_namespaced() {
        if e.is_host || e.namespace.as_deref() != p.namespace.as_deref() {
            return false;
        }
    } else if let Some(ns) = &p.namespace_selector {
        let ok = if ns.to_string() == "all()" {
            e.labels.contains_key("projectcalico.org/namespace")
        } else {
            ns.matches(&view(&e.labels, "pcns."))
        };
        if !ok {
            return false;
        }
    }
    if let Some(sa) = &p.service_account_selector {
        let ok = if sa.to_string() == "all()" {
            e.labels.contains_key("projectcalico.org/serviceaccount")
        } else {
            sa.matches(&view(&e.labels, "pcsa."))
        };
        if !ok {
            return false;
        }
    }
    p.selector.matches(&e.labels)
}

/// §4.4: does entity `e` satisfy the positive part of a side? `None` = no positive part.
fn positive(er: &EntityRule, policy_ns: Option<&str>, e: &Ent) -> Option<bool> {
    let has_sel = er.selector.is_some() || er.service_accounts.is_some();
    let ns_part: Option<bool> = match (&er.namespace_selector, policy_ns) {
        (Some(s), _) => Some(ns_sel_matches(s, e)),
        (None, Some(ns)) if has_sel || er.not_selector.is_some() => Some(
            e.labels
                .get("projectcalico.org/namespace")
                .map(String::as_str)
                == Some(ns),
        ),
        _ => None,
    };
    let sa_part = er
        .service_accounts
        .as_ref()
        .map(|sa: &ServiceAccountMatch| {
            let by_name = sa.names.is_empty()
                || e.labels
                    .get("projectcalico.org/serviceaccount")
                    .is_some_and(|v| sa.names.iter().any(|n| **n == **v));
            let by_sel = sa
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&view(&e.labels, "pcsa.")));
            by_name && by_sel
        });
    let sel_part = er.selector.as_ref().map(|s| s.matches(&e.labels));
    let parts = [ns_part, sa_part, sel_part];
    if parts.iter().all(Option::is_none) {
        return None;
    }
    let pos = parts.iter().flatten().all(|b| *b);
    // Fold notSelector.
    Some(
        pos && !er
            .not_selector
            .as_ref()
            .is_some_and(|n| n.matches(&e.labels)),
    )
}

fn covers(e: &Ent, ip: IpAddr) -> bool {
    e.ips.iter().any(|n| n.contains(&ip))
}

fn side_ok(
    er: &EntityRule,
    rule: &Rule,
    policy_ns: Option<&str>,
    ip: IpAddr,
    port: u16,
    flow: &Flow,
    ents: &[Ent],
) -> bool {
    if !er.nets.is_empty() && !er.nets.iter().any(|n| n.contains(&ip)) {
        return false;
    }
    if er.not_nets.iter().any(|n| n.contains(&ip)) {
        return false;
    }
    let has_pos = er.selector.is_some()
        || er.service_accounts.is_some()
        || er.namespace_selector.is_some()
        || (policy_ns.is_some() && er.not_selector.is_some());
    if has_pos {
        if !ents
            .iter()
            .any(|e| covers(e, ip) && positive(er, policy_ns, e) == Some(true))
        {
            return false;
        }
    } else if let Some(n) = &er.not_selector {
        if ents.iter().any(|e| covers(e, ip) && n.matches(&e.labels)) {
            return false;
        }
    }
    let proto = flow.protocol;
    let port_in = |specs: &[PortSpec]| {
        specs.iter().any(|s| match s {
            PortSpec::Range(r) => r.contains(port),
            PortSpec::Named(name) => ents.iter().any(|e| {
                e.profiles.is_some()
                    && covers(e, ip)
                    && (!has_pos || positive(er, policy_ns, e) == Some(true))
                    && e.ports.iter().any(|p| {
                        p.name == *name
                            && p.port == port
                            && p.protocol == proto
                            && rule.protocol.is_none_or(|rp| rp == p.protocol)
                    })
            }),
        })
    };
    let has_ports = proto.has_ports();
    if !(er.ports.is_empty() || has_ports && port_in(&er.ports)) {
        return false;
    }
    if !er.not_ports.is_empty() && has_ports && port_in(&er.not_ports) {
        return false;
    }
    true
}

fn rule_matches(r: &Rule, policy_ns: Option<&str>, flow: &Flow, ents: &[Ent]) -> bool {
    if r.protocol.is_some_and(|p| p != flow.protocol) || r.not_protocol == Some(flow.protocol) {
        return false;
    }
    side_ok(
        &r.source,
        r,
        policy_ns,
        flow.src_ip,
        flow.src_port,
        flow,
        ents,
    ) && side_ok(
        &r.destination,
        r,
        policy_ns,
        flow.dst_ip,
        flow.dst_port,
        flow,
        ents,
    )
}

fn first_match(rules: &[Rule], ns: Option<&str>, flow: &Flow, ents: &[Ent]) -> Option<Action> {
    rules
        .iter()
        .find(|r| r.action != Action::Log && rule_matches(r, ns, flow, ents))
        .map(|r| r.action)
}

fn tier_key(c: &Cluster, name: &str) -> (u8, u8, f64, String) {
    match c.tier(name) {
        Some(t) => (
            0,
            u8::from(t.order.is_none()),
            t.order.unwrap_or(0.0),
            name.to_owned(),
        ),
        None => (1, 1, 0.0, name.to_owned()),
    }
}

/// Reference verdict for one side.
fn side(c: &Cluster, ents: &[Ent], e: &Ent, dir: Direction, flow: &Flow, pending: bool) -> bool {
    if e.is_host {
        let failsafe: &[(Protocol, u16)] = match dir {
            Direction::Ingress => &[
                (Protocol::TCP, 22),
                (Protocol::UDP, 68),
                (Protocol::TCP, 179),
                (Protocol::TCP, 2379),
                (Protocol::TCP, 2380),
                (Protocol::TCP, 5473),
                (Protocol::TCP, 6443),
                (Protocol::TCP, 6666),
                (Protocol::TCP, 6667),
            ],
            Direction::Egress => &[
                (Protocol::UDP, 53),
                (Protocol::UDP, 67),
                (Protocol::TCP, 179),
                (Protocol::TCP, 2379),
                (Protocol::TCP, 2380),
                (Protocol::TCP, 5473),
                (Protocol::TCP, 6443),
                (Protocol::TCP, 6666),
                (Protocol::TCP, 6667),
            ],
        };
        if failsafe
            .iter()
            .any(|(p, port)| *p == flow.protocol && *port == flow.dst_port)
        {
            return true;
        }
    }
    let mut tiers: Vec<String> = c
        .policies
        .iter()
        .filter(|p| policy_applies(p, e, dir, pending))
        .map(|p| p.tier.to_string())
        .collect();
    tiers.sort_by(|a, b| {
        let (ka, kb) = (tier_key(c, a), tier_key(c, b));
        (ka.0, ka.1)
            .cmp(&(kb.0, kb.1))
            .then(ka.2.partial_cmp(&kb.2).unwrap())
            .then(ka.3.cmp(&kb.3))
    });
    tiers.dedup();
    'tiers: for t in &tiers {
        let mut ps: Vec<&Policy> = c
            .policies
            .iter()
            .filter(|p| &*p.tier == t && policy_applies(p, e, dir, pending))
            .collect();
        ps.sort_by(|a, b| {
            let oa = a.order.unwrap_or(f64::INFINITY);
            let ob = b.order.unwrap_or(f64::INFINITY);
            let ka = format!(
                "{}/{}/{}",
                a.name,
                a.namespace.as_deref().unwrap_or(""),
                a.kind.as_str()
            );
            let kb = format!(
                "{}/{}/{}",
                b.name,
                b.namespace.as_deref().unwrap_or(""),
                b.kind.as_str()
            );
            oa.partial_cmp(&ob).unwrap().then(ka.cmp(&kb))
        });
        for p in ps {
            let ns = if p.kind.is_namespaced() {
                p.namespace.as_deref()
            } else {
                None
            };
            match first_match(p.rules(dir), ns, flow, ents) {
                Some(Action::Allow) => return true,
                Some(Action::Deny) => return false,
                Some(Action::Pass) => continue 'tiers,
                _ => {}
            }
        }
        let default = c
            .tier(t)
            .map_or(TierDefaultAction::Deny, |t| t.default_action);
        if default == TierDefaultAction::Deny {
            return false;
        }
    }
    for prof in e.profiles.as_deref().unwrap_or_default() {
        let rules: Vec<Rule> = if prof.starts_with("kns.") || prof == "projectcalico-default-allow"
        {
            vec![Rule::new(Action::Allow)]
        } else {
            c.profiles
                .iter()
                .find(|p| *p.name == **prof)
                .map(|p| match dir {
                    Direction::Ingress => p.ingress.clone(),
                    Direction::Egress => p.egress.clone(),
                })
                .unwrap_or_default()
        };
        match first_match(&rules, None, flow, ents) {
            Some(Action::Allow) => return true,
            Some(Action::Deny) => return false,
            _ => {}
        }
    }
    false
}

/// Reference verdict: (enforced, pending).
fn reference(c: &Cluster, flow: &Flow) -> (bool, bool) {
    let ents = entities(c);
    let owner = |ip: IpAddr| {
        ents.iter().find(|e| {
            e.profiles.is_some()
                && e.ips
                    .iter()
                    .any(|n| n.addr() == ip && n.prefix_len() == n.max_prefix_len())
        })
    };
    let (src, dst) = (owner(flow.src_ip), owner(flow.dst_ip));
    // Felix filterOutputChain: host → local workload is not policed at all.
    let node_of_addr = c
        .host_endpoints
        .iter()
        .flat_map(|h| {
            h.expected_ips
                .iter()
                .map(move |ip| (*ip, h.node.to_string()))
        })
        .chain(
            c.workloads
                .iter()
                .filter(|w| w.host_network)
                .filter_map(|w| Some((w.ips.first().copied()?, w.node.as_ref()?.to_string()))),
        )
        .find(|(ip, _)| *ip == flow.src_ip)
        .map(|(_, n)| n);
    let src_is_workload = src.is_some_and(|e| !e.is_host);
    if let (false, Some(n), Some(d)) = (src_is_workload, &node_of_addr, dst) {
        if !d.is_host && d.node.as_ref() == Some(n) {
            return (true, true);
        }
    }
    // DefaultEndpointToHostAction (default Drop): workload → its own host's endpoint.
    let to_own_host = matches!((src, dst), (Some(s), Some(d))
        if !s.is_host && d.is_host && s.node.is_some() && s.node == d.node);
    let run = |pending: bool| {
        let eg = src.is_none_or(|e| side(c, &ents, e, Direction::Egress, flow, pending));
        let ing = !to_own_host
            && dst.is_none_or(|e| side(c, &ents, e, Direction::Ingress, flow, pending));
        eg && ing
    };
    (run(false), run(true))
}

// ---------- random clusters ----------

const APPS: [&str; 3] = ["a", "b", "c"];
const NSS: [&str; 2] = ["n1", "n2"];

fn arb_selector() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("all()".to_owned()),
        (0..3usize).prop_map(|i| format!("app == '{}'", APPS[i])),
        (0..3usize).prop_map(|i| format!("app != '{}'", APPS[i])),
        Just("has(role)".to_owned()),
        Just("!has(app)".to_owned()),
        (0..3usize).prop_map(|i| format!("app in {{'{}', 'x'}} || role == 'db'", APPS[i])),
    ]
}

fn arb_ns_selector() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("all()".to_owned()),
        Just("global()".to_owned()),
        Just("team == 'red'".to_owned()),
        Just("team != 'red'".to_owned()),
        Just("has(projectcalico.org/name)".to_owned()),
    ]
}

fn arb_entity_rule(dst: bool) -> impl Strategy<Value = EntityRule> {
    (
        proptest::option::weighted(0.4, arb_selector()),
        proptest::option::weighted(0.2, arb_selector()),
        proptest::option::weighted(0.25, arb_ns_selector()),
        proptest::option::weighted(
            0.2,
            prop_oneof![Just("10.0.0.0/30"), Just("10.0.0.4/31"), Just("9.9.9.0/24")],
        ),
        proptest::option::weighted(0.1, Just("10.0.0.1/32")),
        proptest::option::weighted(0.1, prop_oneof![Just(vec![]), Just(vec!["api".to_owned()])]),
        proptest::option::weighted(
            if dst { 0.5 } else { 0.1 },
            prop_oneof![
                Just(PortSpec::Range(PortRange::single(80))),
                Just(PortSpec::Range(PortRange {
                    min: 440,
                    max: 8080
                })),
                // Overlapping ranges and the top port exercise the port dispatch.
                Just(PortSpec::Range(PortRange { min: 80, max: 443 })),
                Just(PortSpec::Range(PortRange {
                    min: 8081,
                    max: 65535
                })),
                Just(PortSpec::Named("http".into())),
            ],
        ),
        proptest::option::weighted(0.1, Just(PortSpec::Range(PortRange::single(443)))),
    )
        .prop_map(
            |(s, ns_, nss, nets, notnets, sa, port, notport)| EntityRule {
                selector: s.map(|s| sel(&s)),
                not_selector: ns_.map(|s| sel(&s)),
                namespace_selector: nss.map(|s| sel(&s)),
                nets: nets.into_iter().map(|n| n.parse().unwrap()).collect(),
                not_nets: notnets.into_iter().map(|n| n.parse().unwrap()).collect(),
                service_accounts: sa.map(|names| ServiceAccountMatch {
                    names: names.iter().map(|n| n.as_str().into()).collect(),
                    selector: Some(sel("role == 'api'")),
                }),
                ports: port.into_iter().collect(),
                not_ports: notport.into_iter().collect(),
                ..EntityRule::default()
            },
        )
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (
        prop_oneof![
            Just(Action::Allow),
            Just(Action::Deny),
            Just(Action::Pass),
            Just(Action::Log)
        ],
        prop_oneof![
            3 => Just(Some(Protocol::TCP)),
            1 => Just(Some(Protocol::UDP)),
            1 => Just(Some(Protocol::SCTP)),
            1 => Just(None)
        ],
        proptest::option::weighted(0.1, Just(Protocol::UDP)),
        arb_entity_rule(false),
        arb_entity_rule(true),
    )
        .prop_map(|(action, protocol, not_protocol, source, destination)| {
            let mut r = Rule::new(action);
            r.protocol = protocol;
            r.not_protocol = not_protocol;
            r.source = source;
            r.destination = destination;
            // Numeric ports need a protocol (as validated input guarantees).
            if r.protocol.is_none() {
                for er in [&mut r.source, &mut r.destination] {
                    er.ports.retain(|p| matches!(p, PortSpec::Named(_)));
                    er.not_ports.retain(|p| matches!(p, PortSpec::Named(_)));
                }
            }
            r
        })
}

fn arb_policy(i: usize) -> impl Strategy<Value = Policy> {
    (
        0..4usize,
        0..2usize,
        prop_oneof![Just("default"), Just("t1"), Just("t2"), Just("ghost")],
        proptest::option::of(0..3u8),
        arb_selector(),
        proptest::option::weighted(0.2, arb_ns_selector()),
        (any::<bool>(), any::<bool>()),
        proptest::collection::vec(arb_rule(), 0..3),
        proptest::collection::vec(arb_rule(), 0..3),
        proptest::option::weighted(0.1, Just("role == 'api'".to_owned())),
    )
        .prop_map(
            move |(kind, ns, tier, order, selector, nssel, (ing, eg), ingress, egress, sasel)| {
                let kind = [
                    PolicyKind::NetworkPolicy,
                    PolicyKind::GlobalNetworkPolicy,
                    PolicyKind::StagedNetworkPolicy,
                    PolicyKind::KubernetesNetworkPolicy,
                ][kind];
                let mut p = tabby_eval::gen::policy(
                    kind,
                    &format!("p{}", i % 3),
                    kind.is_namespaced().then_some(NSS[ns]),
                    tier,
                );
                p.order = order.map(f64::from);
                p.selector = sel(&selector);
                if !kind.is_namespaced() {
                    p.namespace_selector = nssel.map(|s| sel(&s));
                }
                p.service_account_selector = sasel.map(|s| sel(&s));
                p.types = types(ing || !eg, eg);
                p.ingress = ingress;
                p.egress = egress;
                if kind.is_staged() && i % 5 == 4 {
                    p.staged_action = Some(StagedAction::Delete);
                }
                p
            },
        )
}

fn arb_cluster() -> impl Strategy<Value = Cluster> {
    (
        proptest::collection::vec(
            (
                0..2usize,
                0..4usize,
                any::<bool>(),
                any::<bool>(),
                0..3usize,
                0..3usize,
            ),
            1..6,
        ),
        (any::<bool>(), any::<bool>()),
        (proptest::collection::vec(0..6usize, 0..5)).prop_flat_map(|ids| {
            ids.iter()
                .enumerate()
                .map(|(i, _)| arb_policy(i))
                .collect::<Vec<_>>()
        }),
        (
            prop_oneof![Just(TierDefaultAction::Deny), Just(TierDefaultAction::Pass)],
            prop_oneof![Just(TierDefaultAction::Deny), Just(TierDefaultAction::Pass)],
        ),
        any::<bool>(),
    )
        .prop_map(
            |(pods, (hep, host_net_pod), policies, (d1, d2), hep_allow)| {
                let mut c = cluster();
                c.namespaces.push(mk_ns("n1", &[("team", "red")]));
                c.namespaces.push(mk_ns("n2", &[("team", "blue")]));
                c.service_accounts.push(tabby_model::ServiceAccount {
                    namespace: "n1".into(),
                    name: "api".into(),
                    labels: labels(&[("role", "api")]),
                    loc: None,
                });
                c.tiers.push(mk_tier("t1", Some(10.0), d1));
                c.tiers.push(mk_tier("t2", Some(10.0), d2));
                for (i, (ns, app, role, http, sa, node)) in pods.into_iter().enumerate() {
                    let mut l = vec![];
                    if app < 3 {
                        l.push(("app", APPS[app]));
                    }
                    if role {
                        l.push(("role", "db"));
                    }
                    let mut w = mk_pod(NSS[ns], &format!("w{i}"), &l, &format!("10.0.0.{}", i + 1));
                    w.service_account = Some(["default", "api", "other"][sa].into());
                    w.node = [Some("node-x"), Some("node-y"), None][node].map(Into::into);
                    if http {
                        w = with_port(w, "http", Protocol::TCP, if i % 2 == 0 { 8080 } else { 80 });
                    }
                    c.workloads.push(w);
                }
                if hep {
                    let mut h: HostEndpoint =
                        mk_hep("h1", "node-x", "10.0.0.100", &[("role", "db")]);
                    if hep_allow {
                        h.profiles = vec!["projectcalico-default-allow".into()];
                    }
                    c.host_endpoints.push(h);
                }
                if host_net_pod {
                    let mut w = mk_pod("n1", "probe", &[("app", "a")], "10.0.0.50");
                    w.host_network = true;
                    w.node = Some("node-y".into());
                    c.workloads.push(w);
                }
                c.network_sets
                    .push(mk_netset(None, "gs", &[("app", "c")], &["9.9.9.0/24"]));
                c.network_sets.push(mk_netset(
                    Some("n2"),
                    "ns",
                    &[("app", "a")],
                    &["10.0.0.4/30"],
                ));
                c.policies = policies;
                c
            },
        )
}

fn arb_flow() -> impl Strategy<Value = Flow> {
    let addr = prop_oneof![
        (1..7u8).prop_map(|i| format!("10.0.0.{i}")),
        Just("10.0.0.100".to_owned()),
        Just("10.0.0.50".to_owned()),
        Just("9.9.9.9".to_owned()),
        Just("1.2.3.4".to_owned()),
    ];
    (
        addr.clone(),
        addr,
        prop_oneof![4 => Just(Protocol::TCP), 2 => Just(Protocol::UDP), 1 => Just(Protocol::SCTP), 1 => Just(Protocol::ICMP)],
        prop_oneof![
            Just(80u16),
            Just(443),
            Just(8080),
            Just(22),
            Just(53),
            // Range edges.
            Just(79),
            Just(81),
            Just(439),
            Just(444),
            Just(8081),
            Just(65535)
        ],
        prop_oneof![Just(0u16), Just(443), Just(1234)],
    )
        .prop_map(|(s, d, proto, port, sport)| {
            let (s, d) = (ip(&s), ip(&d));
            let f = match proto {
                Protocol::TCP => Flow::tcp(s, d, port),
                Protocol::UDP => Flow::udp(s, d, port),
                Protocol::SCTP => Flow::sctp(s, d, port),
                _ => return Flow::icmp(s, d, 8, Some(0)),
            };
            f.with_src_port(sport)
        })
}

proptest! {
    // PROPTEST_CASES=5000 for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
    ))]

    #[test]
    fn engine_agrees_with_reference(c in arb_cluster(), flows in proptest::collection::vec(arb_flow(), 1..12)) {
        let e = Engine::new(&c, EngineOptions::default());
        for f in &flows {
            let d = e.decide(f);
            let (want, want_pending) = reference(&c, f);
            prop_assert_eq!(d.allowed, want, "enforced verdict differs for {:?}\n{}", f, e.trace(f).render_text());
            prop_assert_eq!(d.staged_allowed, want_pending, "pending verdict differs for {:?}\n{}", f, e.trace(f).render_text());
            let t = e.trace(f);
            prop_assert_eq!(t.allowed(), d.allowed);
        }
    }
}

#[test]
fn reference_sanity() {
    // The reference itself on a known case: default-deny GNP.
    let mut c = cluster();
    c.namespaces.push(mk_ns("n1", &[]));
    c.workloads
        .push(mk_pod("n1", "a", &[("app", "a")], "10.0.0.1"));
    c.workloads
        .push(mk_pod("n1", "b", &[("app", "b")], "10.0.0.2"));
    let f = Flow::tcp(ip("10.0.0.1"), ip("10.0.0.2"), 80);
    assert_eq!(reference(&c, &f), (true, true));
    c.policies.push(mk_gnp("deny", "all()"));
    assert_eq!(reference(&c, &f), (false, false));
    let _ = Selector::all();
}
