//! The checks. Each pushes findings; `lint` filters, overrides and sorts them.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use tabby_eval::{Endpoint, EndpointKind, Engine, Flow, PolicyId, Program, SideVerdict, View};
use tabby_model::{
    Action, Direction, EntityRule, LabelMap, Name, PortSpec, Protocol, Rule, TierDefaultAction,
};
use tabby_selector::{Expr, Selector};

use crate::{default_severity, example, policy_ref, with_loc, Finding, LintConfig, ResourceRef};

/// Namespaces whose pods run the cluster itself.
pub const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "calico-system",
    "calico-apiserver",
    "tigera-operator",
];

/// An address outside every documentation/threat range used in examples
/// (198.18.0.0/15 is reserved for benchmarking).
const OUTSIDE: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
/// A public resolver, for upstream DNS examples.
const UPSTREAM_DNS: IpAddr = IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8));
/// IPv6 stand-ins for the two above (2001:2::/48 is for benchmarking).
const OUTSIDE_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1));
const UPSTREAM_DNS_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(
    0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888,
));

pub(crate) fn run_all(engine: &Engine, config: &LintConfig, out: &mut Vec<Finding>) {
    let cx = Cx::new(engine);
    let on = |c: &str| config.enabled(c);
    if on("TL001") {
        dns(&cx, out);
    }
    if on("TL002") {
        system_isolated(&cx, out);
    }
    if on("TL003") {
        ruleless_inferred(&cx, out);
    }
    if on("TL004") {
        negative_ns_selector(&cx, out);
    }
    if on("TL005") || on("TL006") {
        selectors(&cx, out);
    }
    if on("TL007") {
        shadowed(&cx, out);
    }
    if on("TL008") {
        enterprise(&cx, out);
    }
    if on("TL009") {
        open_egress(&cx, out);
    }
    if on("TL010") {
        no_default_deny(&cx, out);
    }
    if on("TL011") {
        tenants(&cx, out, &config.tenant_label);
    }
    if on("TL012") {
        ruleless_order(&cx, out);
    }
    if on("TL013") {
        one_sided(&cx, out);
    }
    if on("TL014") {
        allow_all(&cx, out);
    }
    if on("TL015") {
        block_bypassed(&cx, out);
    }
}

/// Shared per-run data.
struct Cx<'a> {
    e: &'a Engine,
    /// Namespace name → labels as namespace selectors see them.
    ns_labels: BTreeMap<Name, LabelMap>,
    /// Rule selector → which of the engine's endpoints (by index) it matches,
    /// filled on demand by [`Cx::sel_covers`].
    sel_matches: std::cell::RefCell<HashMap<Selector, Vec<bool>>>,
}

impl<'a> Cx<'a> {
    fn new(e: &'a Engine) -> Self {
        let mut ns_labels = BTreeMap::new();
        for n in &e.cluster().namespaces {
            let mut l = n.labels.clone();
            l.insert("projectcalico.org/name".into(), n.name.clone());
            ns_labels.insert(n.name.clone(), l);
        }
        Self {
            e,
            ns_labels,
            sel_matches: std::cell::RefCell::new(HashMap::new()),
        }
    }

    /// Does selector `a` match every endpoint of this cluster (workloads, host
    /// endpoints, network sets) that `b` matches, and `b` at least one? Equal
    /// selectors always cover.
    fn sel_covers(&self, a: &Selector, b: &Selector) -> bool {
        if a == b {
            return true;
        }
        let mut cache = self.sel_matches.borrow_mut();
        for s in [a, b] {
            if !cache.contains_key(s) {
                let m = self
                    .e
                    .endpoints()
                    .iter()
                    .map(|ep| s.matches(&ep.labels))
                    .collect();
                cache.insert(s.clone(), m);
            }
        }
        let (Some(ma), Some(mb)) = (cache.get(a), cache.get(b)) else {
            return false;
        };
        mb.iter().any(|&x| x) && mb.iter().zip(ma).all(|(&inb, &ina)| !inb || ina)
    }

    fn finding(&self, code: &'static str, message: String) -> Finding {
        Finding {
            code,
            severity: default_severity(code),
            message,
            resource: None,
            counterexample: None,
            fix_suggestion: None,
            policy: None,
        }
    }

    fn targets(&self) -> impl Iterator<Item = &'a Endpoint> {
        self.e
            .endpoints()
            .iter()
            .filter(|ep| ep.is_policy_target() && ep.first_ip().is_some())
    }

    fn program(&self, ep: &Endpoint, dir: Direction) -> Option<&'a Program> {
        self.e.resolve(ep.id, dir, View::Enforced)
    }

    /// Is `ep` default-deny in `dir` (some normal-stage tier with a Deny default applies)?
    fn isolated(&self, ep: &Endpoint, dir: Direction) -> bool {
        self.program(ep, dir).is_some_and(|p| {
            p.tiers.iter().any(|t| {
                t.stage == tabby_eval::Stage::Normal && t.default_action == TierDefaultAction::Deny
            })
        })
    }

    /// Enforced policies that really apply (not staged, not doNotTrack/preDNAT).
    fn enforced(&self) -> impl Iterator<Item = (PolicyId, &'a tabby_eval::PolicyEntry)> {
        self.e
            .policies()
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_staged() && !p.policy.do_not_track && !p.policy.pre_dnat)
            .filter_map(|(i, p)| Some((PolicyId(u32::try_from(i).ok()?), p)))
    }

    fn selected(&self, id: PolicyId) -> impl Iterator<Item = &'a Endpoint> + '_ {
        self.targets()
            .filter(move |ep| self.e.policy_selects(id, ep.id))
    }
}

/// Key grouping endpoints that evaluate the same program in a direction.
fn prog_key(p: Option<&Program>) -> usize {
    p.map_or(0, |p| std::ptr::from_ref(p) as usize)
}

/// What a rule can tell endpoints apart by: the program they evaluate in `dir`,
/// labels, named ports, service account, and which of `nets` contain the address.
type ClassKey = (
    usize,
    tabby_model::LabelMap,
    Vec<(Name, u8, u16)>,
    Option<Name>,
    Vec<bool>,
);

fn class_key(cx: &Cx<'_>, e: &Endpoint, dir: Direction, nets: &[ipnet::IpNet]) -> ClassKey {
    let ip = e.first_ip();
    let sig = nets
        .iter()
        .map(|n| ip.is_some_and(|ip| n.contains(&ip)))
        .collect();
    let ports = e
        .ports
        .iter()
        .map(|p| (p.name.clone(), p.protocol.0, p.port))
        .collect();
    (
        prog_key(cx.program(e, dir)),
        e.labels.clone(),
        ports,
        e.service_account.clone(),
        sig,
    )
}

fn is_system(ep: &Endpoint) -> bool {
    ep.kind == EndpointKind::Host
        || (ep.kind == EndpointKind::Workload
            && ep
                .namespace
                .as_deref()
                .is_some_and(|n| SYSTEM_NAMESPACES.contains(&n)))
}

fn is_dns_pod(ep: &Endpoint) -> bool {
    ep.kind == EndpointKind::Workload
        && ep.namespace.as_deref() == Some("kube-system")
        && ep.labels.get("k8s-app").map(AsRef::as_ref) == Some("kube-dns")
}

/// A flow; the stand-in outside addresses follow the family of the other end.
fn flow(src: IpAddr, dst: IpAddr, proto: Protocol, port: u16) -> Flow {
    let v6 = |ip: IpAddr| match ip {
        OUTSIDE => OUTSIDE_V6,
        UPSTREAM_DNS => UPSTREAM_DNS_V6,
        other => other,
    };
    let (src, dst) = match (src.is_ipv6(), dst.is_ipv6()) {
        (true, false) => (src, v6(dst)),
        (false, true) => (v6(src), dst),
        _ => (src, dst),
    };
    Flow {
        dst_port: if proto.has_ports() { port } else { 0 },
        ..Flow::new(src, dst, proto)
    }
}

fn verdict_policy(v: &SideVerdict) -> Option<PolicyId> {
    match *v {
        SideVerdict::Rule { policy, .. } | SideVerdict::EndOfTier { policy, .. } => Some(policy),
        _ => None,
    }
}

fn verdict_tier(v: &SideVerdict) -> Option<tabby_eval::TierIdx> {
    match *v {
        SideVerdict::Rule { tier, .. } | SideVerdict::EndOfTier { tier, .. } => Some(tier),
        _ => None,
    }
}

const ALLOW_DNS_FIX: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  order: 100
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {'kube-system', 'calico-system', 'calico-apiserver', 'tigera-operator'}
  types:
    - Egress
  egress:
    - action: Allow
      protocol: UDP
      destination:
        selector: k8s-app == 'kube-dns'
        namespaceSelector: projectcalico.org/name == 'kube-system'
        ports: [53]
    - action: Allow
      protocol: TCP
      destination:
        selector: k8s-app == 'kube-dns'
        namespaceSelector: projectcalico.org/name == 'kube-system'
        ports: [53]
";

const DNS_INGRESS_FIX: &str = "\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns-ingress
spec:
  order: 100
  selector: k8s-app == 'kube-dns'
  namespaceSelector: projectcalico.org/name == 'kube-system'
  types:
    - Ingress
  ingress:
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
    - action: Allow
      protocol: TCP
      destination:
        ports: [53]
";

/// TL001: clients that cannot reach a DNS pod on UDP or TCP 53.
fn dns(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    // DNS pods, one per ingress program.
    let mut servers: Vec<&Endpoint> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for ep in cx.targets().filter(|ep| is_dns_pod(ep)) {
        if seen.insert(prog_key(cx.program(ep, Direction::Ingress))) {
            servers.push(ep);
        }
    }
    if servers.is_empty() {
        return;
    }
    // Clients, one per (egress program, labels): ingress rules may look at labels.
    let mut classes: HashMap<(usize, &LabelMap), (&Endpoint, usize)> = HashMap::new();
    for ep in cx
        .targets()
        .filter(|ep| ep.kind == EndpointKind::Workload && !is_dns_pod(ep))
    {
        classes
            .entry((prog_key(cx.program(ep, Direction::Egress)), &ep.labels))
            .or_insert((ep, 0))
            .1 += 1;
    }
    let mut reps: Vec<(&Endpoint, usize)> = classes.into_values().collect();
    // Application pods first, so the example shows the common case.
    reps.sort_by_key(|(ep, _)| (is_system(ep), ep.id));
    // (side, deciding policy) → (clients, protocols, example)
    type Key = (Direction, Option<PolicyId>);
    let mut found: BTreeMap<Key, (usize, Vec<&str>, crate::FlowExample)> = BTreeMap::new();
    for (client, n) in &reps {
        let Some(src) = client.first_ip() else {
            continue;
        };
        let mut hit: Vec<Key> = Vec::new();
        for server in &servers {
            let Some(dst) = server.first_ip() else {
                continue;
            };
            for (proto, pname) in [(Protocol::UDP, "UDP"), (Protocol::TCP, "TCP")] {
                if src.is_ipv6() != dst.is_ipv6() {
                    continue;
                }
                let f = flow(src, dst, proto, 53);
                let (d, ex) = example(cx.e, &f, &client.display_name(), &server.display_name());
                if d.allowed {
                    continue;
                }
                let (side, v) = if d.egress.allowed() {
                    (Direction::Ingress, d.ingress)
                } else {
                    (Direction::Egress, d.egress)
                };
                let key = (side, verdict_policy(&v));
                let entry = found.entry(key).or_insert((0, Vec::new(), ex));
                if !hit.contains(&key) {
                    hit.push(key);
                    entry.0 += n;
                }
                if !entry.1.contains(&pname) {
                    entry.1.push(pname);
                }
            }
        }
    }
    for ((side, pol), (n, protos, ex)) in found {
        let protos = protos.join(" and ");
        let message = match side {
            Direction::Egress => format!(
                "{n} workload(s) cannot reach the cluster DNS on {protos} 53: their own egress policy drops the query"
            ),
            Direction::Ingress => format!(
                "{n} workload(s) cannot reach the cluster DNS on {protos} 53: the DNS pods' ingress policy drops the query"
            ),
        };
        let mut f = cx.finding("TL001", message);
        f.resource = pol.and_then(|p| policy_ref(cx.e, p, None));
        f.policy = pol;
        f.counterexample = Some(ex);
        f.fix_suggestion = Some(match side {
            Direction::Egress => ALLOW_DNS_FIX.to_owned(),
            Direction::Ingress => DNS_INGRESS_FIX.to_owned(),
        });
        out.push(f);
    }
}

/// Candidate flows that a system endpoint needs, in `dir` relative to it.
fn system_flows(cx: &Cx<'_>, ep: &Endpoint, dir: Direction) -> Vec<(Flow, String, String)> {
    let Some(me) = ep.first_ip() else {
        return Vec::new();
    };
    let name = ep.display_name();
    let mut v = Vec::new();
    match dir {
        Direction::Ingress => {
            let mut ports: Vec<(Protocol, u16)> =
                ep.ports.iter().map(|p| (p.protocol, p.port)).collect();
            if ports.is_empty() {
                ports.push((
                    Protocol::TCP,
                    if ep.kind == EndpointKind::Host {
                        10250
                    } else {
                        8080
                    },
                ));
            }
            let peer = cx
                .targets()
                .find(|p| p.kind == EndpointKind::Workload && !is_system(p) && p.id != ep.id);
            let mut srcs: Vec<(IpAddr, String)> = vec![(OUTSIDE, OUTSIDE.to_string())];
            if let Some(p) = peer
                .and_then(|p| Some((p.first_ip()?, p.display_name())))
                .filter(|(ip, _)| ip.is_ipv6() == me.is_ipv6())
            {
                srcs.push(p);
            }
            for (proto, port) in ports {
                for (s, sname) in &srcs {
                    v.push((flow(*s, me, proto, port), sname.clone(), name.clone()));
                }
            }
        }
        Direction::Egress => {
            if let Some(dns) = cx.targets().find(|p| is_dns_pod(p) && p.id != ep.id) {
                if let Some(ip) = dns.first_ip().filter(|ip| ip.is_ipv6() == me.is_ipv6()) {
                    v.push((
                        flow(me, ip, Protocol::UDP, 53),
                        name.clone(),
                        dns.display_name(),
                    ));
                }
            }
            v.push((
                flow(me, UPSTREAM_DNS, Protocol::UDP, 53),
                name.clone(),
                UPSTREAM_DNS.to_string(),
            ));
            v.push((
                flow(me, OUTSIDE, Protocol::TCP, 443),
                name.clone(),
                OUTSIDE.to_string(),
            ));
        }
    }
    v
}

/// TL002: enforced policies that make system pods or host endpoints default-deny.
fn system_isolated(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let system: Vec<&Endpoint> = cx.targets().filter(|ep| is_system(ep)).collect();
    if system.is_empty() {
        return;
    }
    for (id, p) in cx.enforced() {
        let tier_denies =
            cx.e.tier(p.tier)
                .is_some_and(|t| t.default_action == TierDefaultAction::Deny);
        if !tier_denies {
            continue;
        }
        for dir in [Direction::Ingress, Direction::Egress] {
            if !p.policy.applies_in(dir) {
                continue;
            }
            let mut hit: Vec<&Endpoint> = system
                .iter()
                .copied()
                .filter(|ep| cx.e.policy_selects(id, ep.id))
                .collect();
            // DNS pods first, then host endpoints: the flows that break most.
            hit.sort_by_key(|ep| (!is_dns_pod(ep), ep.kind != EndpointKind::Host, ep.id));
            if hit.is_empty() {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            let mut example_found = None;
            'reps: for ep in &hit {
                if !seen.insert(prog_key(cx.program(ep, dir))) {
                    continue;
                }
                for (f, from, to) in system_flows(cx, ep, dir) {
                    let (d, ex) = example(cx.e, &f, &from, &to);
                    let v = match dir {
                        Direction::Ingress => d.ingress,
                        Direction::Egress => d.egress,
                    };
                    let other = match dir {
                        Direction::Ingress => d.egress,
                        Direction::Egress => d.ingress,
                    };
                    if !v.allowed() && other.allowed() && verdict_tier(&v) == Some(p.tier) {
                        example_found = Some(ex);
                        break 'reps;
                    }
                }
            }
            let Some(ex) = example_found else {
                continue;
            };
            let mut names: Vec<String> = hit.iter().take(3).map(|e| e.display_name()).collect();
            if hit.len() > 3 {
                names.push(format!("and {} more", hit.len() - 3));
            }
            let mut f = cx.finding(
                "TL002",
                format!(
                    "policy `{}` makes {} system endpoint(s) default-deny for {}: {}",
                    p.policy.display_name(),
                    hit.len(),
                    crate::dir_str(dir),
                    names.join(", ")
                ),
            );
            f.resource = policy_ref(cx.e, id, None);
            f.policy = Some(id);
            f.counterexample = Some(ex);
            f.fix_suggestion = Some(format!(
                "# scope the policy to application namespaces (has() also leaves out host endpoints)\nnamespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {{{}}}",
                SYSTEM_NAMESPACES
                    .iter()
                    .map(|n| format!("'{n}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            out.push(f);
        }
    }
}

/// TL003: a policy without rules and without `types` only isolates ingress.
fn ruleless_inferred(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (id, p) in cx.enforced() {
        let pol = &p.policy;
        if !pol.types.inferred || !pol.ingress.is_empty() || !pol.egress.is_empty() {
            continue;
        }
        let mut ex = None;
        let mut seen = std::collections::HashSet::new();
        for ep in cx.selected(id) {
            if !seen.insert(prog_key(cx.program(ep, Direction::Egress))) {
                continue;
            }
            let Some(ip) = ep.first_ip() else { continue };
            let f = flow(ip, OUTSIDE, Protocol::TCP, 443);
            let (d, x) = example(cx.e, &f, &ep.display_name(), &OUTSIDE.to_string());
            if d.egress.allowed() {
                ex = Some(x);
                break;
            }
        }
        let Some(ex) = ex else { continue };
        let mut f = cx.finding(
            "TL003",
            format!(
                "policy `{}` has no rules and no `types`, so it only covers ingress: egress of the endpoints it selects stays open",
                pol.display_name()
            ),
        );
        f.resource = policy_ref(cx.e, id, None);
        f.policy = Some(id);
        f.counterexample = Some(ex);
        f.fix_suggestion = Some("types:\n  - Ingress\n  - Egress\n".to_owned());
        out.push(f);
    }
}

/// Does `e` contain a negative form (`!=`, `not in`, `!...`)?
fn has_negative(e: &Expr) -> bool {
    match e {
        Expr::Ne(..) | Expr::NotIn(..) | Expr::Not(_) => true,
        Expr::And(v) | Expr::Or(v) => v.iter().any(has_negative),
        _ => false,
    }
}

/// TL004: a GlobalNetworkPolicy `namespaceSelector` true on no namespace labels at
/// all also selects host endpoints.
fn negative_ns_selector(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let empty = LabelMap::new();
    for (id, p) in cx.enforced() {
        let Some(ns) = &p.policy.namespace_selector else {
            continue;
        };
        if ns.is_all() || !has_negative(ns.expr()) || !ns.matches(&empty) {
            continue;
        }
        let hosts: Vec<&Endpoint> = cx
            .selected(id)
            .filter(|ep| ep.kind == EndpointKind::Host)
            .collect();
        let Some(first) = hosts.first() else { continue };
        let mut f = cx.finding(
            "TL004",
            format!(
                "namespaceSelector `{ns}` of `{}` is also true for host endpoints, which have no namespace: it selects {} host endpoint(s) such as `{}`",
                p.policy.display_name(),
                hosts.len(),
                first.display_name()
            ),
        );
        f.resource = policy_ref(cx.e, id, None);
        f.policy = Some(id);
        for dir in [Direction::Ingress, Direction::Egress] {
            if f.counterexample.is_some() || !p.policy.applies_in(dir) {
                continue;
            }
            for (fl, from, to) in system_flows(cx, first, dir) {
                let (d, ex) = example(cx.e, &fl, &from, &to);
                let v = match dir {
                    Direction::Ingress => d.ingress,
                    Direction::Egress => d.egress,
                };
                if !v.allowed() {
                    f.counterexample = Some(ex);
                    break;
                }
            }
        }
        f.fix_suggestion = Some(format!(
            "namespaceSelector: has(projectcalico.org/name) && {ns}"
        ));
        out.push(f);
    }
}

/// Equality leaves `key == value` and `has(key)` keys of a selector.
fn leaves<'e>(e: &'e Expr, eqs: &mut Vec<(&'e str, Option<&'e str>)>) {
    match e {
        Expr::Eq(k, v) => eqs.push((k, Some(v))),
        Expr::In(k, _) | Expr::Has(k) => eqs.push((k, None)),
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| leaves(x, eqs)),
        _ => {}
    }
}

/// A did-you-mean hint for a selector that matched none of `labels`.
fn hint<'l>(sel: &Selector, labels: impl Iterator<Item = &'l LabelMap> + Clone) -> Option<String> {
    let mut eqs = Vec::new();
    leaves(sel.expr(), &mut eqs);
    for (k, v) in eqs {
        let has_key = labels.clone().any(|l| l.contains_key(k));
        if !has_key {
            let keys: std::collections::BTreeSet<&str> = labels
                .clone()
                .flat_map(|l| l.keys().map(AsRef::as_ref))
                .collect();
            if let Some(m) = tabby_diag::did_you_mean(k, keys.iter().copied()) {
                return Some(format!("no endpoint has label `{k}`; did you mean `{m}`?"));
            }
            return Some(format!("no endpoint has label `{k}`"));
        }
        if let Some(v) = v {
            let vals: std::collections::BTreeSet<&str> = labels
                .clone()
                .filter_map(|l| l.get(k).map(AsRef::as_ref))
                .collect();
            if !vals.contains(v) {
                let known = vals
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("`, `");
                return Some(match tabby_diag::did_you_mean(v, vals.iter().copied()) {
                    Some(m) => format!("no endpoint has `{k}={v}`; did you mean `{m}`?"),
                    None => format!("no endpoint has `{k}={v}`; values in use: `{known}`"),
                });
            }
        }
    }
    None
}

/// TL005 (selector matches nothing) and TL006 (template placeholder).
fn selectors(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let all_labels = || cx.e.endpoints().iter().map(|ep| &ep.labels);
    let ns_labels = || cx.ns_labels.values();
    for (id, p) in cx.enforced() {
        let pol = &p.policy;
        let report = |out: &mut Vec<Finding>,
                      code: &'static str,
                      what: String,
                      rule: Option<(Direction, usize)>| {
            let mut f = cx.finding(code, what);
            f.resource = policy_ref(cx.e, id, rule);
            f.policy = Some(id);
            if let (Some((dir, _)), "TL006") = (rule, code) {
                f.counterexample = same_namespace_denied(cx, id, dir);
            }
            out.push(f);
        };
        // Applicability.
        let texts = [Some(&pol.selector), pol.namespace_selector.as_ref()];
        let mut templated = false;
        for s in texts.into_iter().flatten() {
            if s.to_string().contains("{{") {
                templated = true;
                report(
                    out,
                    "TL006",
                    format!(
                        "selector `{s}` of `{}` contains a template placeholder: Calico compares with the literal text, so it matches nothing",
                        pol.display_name()
                    ),
                    None,
                );
            }
        }
        if !templated && cx.selected(id).next().is_none() {
            let h = hint(&pol.selector, all_labels()).or_else(|| {
                pol.namespace_selector
                    .as_ref()
                    .and_then(|s| hint(s, ns_labels()))
            });
            let h = h.map(|h| format!(" ({h})")).unwrap_or_default();
            report(
                out,
                "TL005",
                format!("policy `{}` selects no endpoint{h}", pol.display_name()),
                None,
            );
        }
        // Rules.
        for dir in [Direction::Ingress, Direction::Egress] {
            for (i, r) in pol.rules(dir).iter().enumerate() {
                for (side, er) in [("source", &r.source), ("destination", &r.destination)] {
                    for (field, s, pool) in [
                        ("selector", er.selector.as_ref(), false),
                        ("namespaceSelector", er.namespace_selector.as_ref(), true),
                    ] {
                        let Some(s) = s else { continue };
                        if s.contains_global() {
                            continue;
                        }
                        let text = s.to_string();
                        if text.contains("{{") {
                            report(
                                out,
                                "TL006",
                                format!(
                                    "{side} {field} `{text}` in {} rule {i} of `{}` contains a template placeholder: Calico compares with the literal text, so the rule matches nothing",
                                    crate::dir_str(dir),
                                    pol.display_name()
                                ),
                                Some((dir, i)),
                            );
                            continue;
                        }
                        let matched = if pool {
                            ns_labels().any(|l| s.matches(l))
                        } else {
                            all_labels().any(|l| s.matches(l))
                        };
                        if matched {
                            continue;
                        }
                        let h = if pool {
                            hint(s, ns_labels())
                        } else {
                            hint(s, all_labels())
                        };
                        let h = h.map(|h| format!(" ({h})")).unwrap_or_default();
                        let whom = if pool { "namespace" } else { "endpoint" };
                        report(
                            out,
                            "TL005",
                            format!(
                                "{side} {field} `{text}` in {} rule {i} of `{}` matches no {whom}{h}",
                                crate::dir_str(dir),
                                pol.display_name()
                            ),
                            Some((dir, i)),
                        );
                    }
                }
            }
        }
    }
}

/// Is every address in `net` inside the union of `by`? Exact for CIDRs: a net not
/// inside one member is split in halves wherever a member lies strictly inside it.
fn net_covered(net: &ipnet::IpNet, by: &[ipnet::IpNet]) -> bool {
    if by.iter().any(|a| a.contains(net)) {
        return true;
    }
    if !by.iter().any(|a| net.contains(a)) {
        return false;
    }
    match net.subnets(net.prefix_len().saturating_add(1)) {
        Ok(halves) if net.prefix_len() < net.max_prefix_len() => {
            halves.into_iter().all(|h| net_covered(&h, by))
        }
        _ => false,
    }
}

/// The addresses a side matches by `nets`/`notNets` (`None` for no `nets`: every
/// address), intersected with `x`: is that intersection inside `b_not`?
fn net_excluded(x: &ipnet::IpNet, b_nets: &[ipnet::IpNet], b_not: &[ipnet::IpNet]) -> bool {
    if b_nets.is_empty() {
        return net_covered(x, b_not);
    }
    // CIDRs are nested or disjoint: the intersection is empty, `x` or `bn`.
    b_nets.iter().all(|bn| {
        if x.contains(bn) {
            net_covered(bn, b_not)
        } else if bn.contains(x) {
            net_covered(x, b_not)
        } else {
            true
        }
    })
}

/// Numeric port ranges of a list, sorted; `None` if it names a port (a named port's
/// number depends on the endpoint).
fn numeric(ports: &[PortSpec]) -> Option<Vec<(u16, u16)>> {
    let mut v: Vec<(u16, u16)> = ports
        .iter()
        .map(|p| match p {
            PortSpec::Range(r) => Some((r.min, r.max)),
            PortSpec::Named(_) => None,
        })
        .collect::<Option<_>>()?;
    v.sort_unstable();
    Some(v)
}

/// The numeric ranges of a port list, sorted (named ports left out).
fn numeric_only(ports: &[PortSpec]) -> Vec<(u16, u16)> {
    let mut v: Vec<(u16, u16)> = ports
        .iter()
        .filter_map(|p| match p {
            PortSpec::Range(r) => Some((r.min, r.max)),
            PortSpec::Named(_) => None,
        })
        .collect();
    v.sort_unstable();
    v
}

/// Is `lo..=hi` inside the union of the sorted ranges `by`?
fn range_covered(lo: u16, hi: u16, by: &[(u16, u16)]) -> bool {
    let mut next = u32::from(lo);
    for &(a, b) in by {
        if u32::from(a) > next {
            break;
        }
        next = next.max(u32::from(b) + 1);
        if next > u32::from(hi) {
            return true;
        }
    }
    next > u32::from(hi)
}

/// Does port list `a` (non-empty) match every port list `b` matches (`b` empty:
/// every port)? Named ports are matched by name, or by `a` covering every port.
fn ports_cover(a: &[PortSpec], b: &[PortSpec]) -> bool {
    let a_num = numeric_only(a);
    let all = range_covered(1, 65535, &a_num);
    if b.is_empty() {
        return all;
    }
    b.iter().all(|p| match p {
        PortSpec::Range(r) => range_covered(r.min, r.max, &a_num),
        PortSpec::Named(_) => all || a.contains(p),
    })
}

/// Are the ports `a` excludes (`a_not`) outside what `b` matches (`b_ports` minus
/// `b_not`)?
fn ports_excluded(a_not: &[PortSpec], b_ports: &[PortSpec], b_not: &[PortSpec]) -> bool {
    // Named exclusions of `b` are left out (their number is per endpoint): that can
    // only make coverage harder to prove, never wrong.
    let b_not_num = numeric_only(b_not);
    a_not.iter().all(|x| {
        if b_not.contains(x) {
            return true;
        }
        let PortSpec::Range(x) = x else { return false };
        // The part of `x` that `b` can match: `x` itself when `b` has no ports.
        let parts: Vec<(u16, u16)> = if b_ports.is_empty() {
            vec![(x.min, x.max)]
        } else {
            let Some(bp) = numeric(b_ports) else {
                return false;
            };
            bp.iter()
                .filter(|(lo, hi)| *lo <= x.max && *hi >= x.min)
                .map(|(lo, hi)| ((*lo).max(x.min), (*hi).min(x.max)))
                .collect()
        };
        parts
            .iter()
            .all(|(lo, hi)| range_covered(*lo, *hi, &b_not_num))
    })
}

/// Side coverage with selectors compared by text only (unit tests).
#[cfg(test)]
fn side_covers(a: &EntityRule, b: &EntityRule) -> bool {
    side_covers_in(a, b, &|x, y| x == y)
}

/// Does side `a` match every packet side `b` matches? Addresses (`nets`, `notNets`)
/// and ports (`ports`, `notPorts`) are compared as sets (CIDR and interval
/// reasoning); `selector` by `sel` (in lint: over the cluster's endpoints), which
/// is sound because the fields are ANDed and `namespaceSelector` / `notSelector`
/// must then be equal, so both selectors are narrowed the same way; service
/// accounts, services and domains must be equal or absent from `a`.
fn side_covers_in(
    a: &EntityRule,
    b: &EntityRule,
    sel: &dyn Fn(&Selector, &Selector) -> bool,
) -> bool {
    fn opt<T: PartialEq>(x: &Option<T>, y: &Option<T>) -> bool {
        x.is_none() || x == y
    }
    let sel_ok = match (&a.selector, &b.selector) {
        (None, _) => true,
        (Some(x), Some(y)) => sel(x, y),
        (Some(_), None) => false,
    };
    let nets_ok =
        a.nets.is_empty() || (!b.nets.is_empty() && b.nets.iter().all(|n| net_covered(n, &a.nets)));
    let not_nets_ok = a
        .not_nets
        .iter()
        .all(|x| net_excluded(x, &b.nets, &b.not_nets));
    let ports_ok = a.ports.is_empty() || ports_cover(&a.ports, &b.ports);
    let not_ports_ok = ports_excluded(&a.not_ports, &b.ports, &b.not_ports);
    sel_ok
        && opt(&a.namespace_selector, &b.namespace_selector)
        && opt(&a.service_accounts, &b.service_accounts)
        && opt(&a.services, &b.services)
        && opt(&a.not_selector, &b.not_selector)
        && nets_ok
        && not_nets_ok
        && ports_ok
        && not_ports_ok
        && (a.domains.is_empty() || a.domains == b.domains)
}

/// Rule coverage with selectors compared by text only (unit tests).
#[cfg(test)]
fn rule_covers(a: &Rule, b: &Rule) -> bool {
    rule_covers_in(a, b, &|x, y| x == y)
}

/// Does rule `a` match every packet rule `b` matches? Protocols, addresses and
/// ports as sets; selectors by `sel` (see [`side_covers_in`]).
fn rule_covers_in(a: &Rule, b: &Rule, sel: &dyn Fn(&Selector, &Selector) -> bool) -> bool {
    let proto_ok = a.protocol.is_none() || a.protocol == b.protocol;
    let not_proto_ok = match a.not_protocol {
        None => true,
        Some(p) => b.not_protocol == Some(p) || b.protocol.is_some_and(|q| q != p),
    };
    a.action != Action::Log
        && (a.ip_version.is_none() || a.ip_version == b.ip_version)
        && proto_ok
        && not_proto_ok
        && (a.icmp.is_none() || a.icmp == b.icmp)
        && (a.not_icmp.is_none() || a.not_icmp == b.not_icmp)
        && a.http.is_none()
        && side_covers_in(&a.source, &b.source, sel)
        && side_covers_in(&a.destination, &b.destination, sel)
}

/// Rule `a` names peers by label or service, which depends on the policy's namespace.
fn namespace_dependent(a: &Rule) -> bool {
    [&a.source, &a.destination]
        .iter()
        .any(|s| s.has_endpoint_match() || s.services.is_some())
}

/// A flow that `r` (in policy `id`, direction `dir`) matches, as far as we can build one.
fn flow_for_rule(
    cx: &Cx<'_>,
    id: PolicyId,
    dir: Direction,
    r: &Rule,
) -> Option<(Flow, String, String)> {
    let local = cx.selected(id).next()?;
    let me = local.first_ip()?;
    let peer_side = match dir {
        Direction::Ingress => &r.source,
        Direction::Egress => &r.destination,
    };
    let (peer_ip, peer_name) = if let Some(n) = peer_side
        .nets
        .iter()
        .find(|n| n.addr().is_ipv6() == me.is_ipv6())
    {
        let ip = if n.prefix_len() == 0 {
            OUTSIDE
        } else {
            n.addr()
        };
        (ip, ip.to_string())
    } else if let Some(s) = &peer_side.selector {
        let p = cx
            .targets()
            .chain(
                cx.e.endpoints()
                    .iter()
                    .filter(|e| e.kind == EndpointKind::NetworkSet),
            )
            .find(|e| {
                s.matches(&e.labels) && e.first_ip().is_some_and(|ip| ip.is_ipv6() == me.is_ipv6())
            })?;
        (p.first_ip()?, p.display_name())
    } else {
        (OUTSIDE, OUTSIDE.to_string())
    };
    let proto = r.protocol.unwrap_or(Protocol::TCP);
    let port = r
        .destination
        .ports
        .iter()
        .find_map(|p| match p {
            PortSpec::Range(r) => Some(r.min),
            PortSpec::Named(_) => None,
        })
        .unwrap_or(443);
    Some(match dir {
        Direction::Ingress => (
            flow(peer_ip, me, proto, port),
            peer_name,
            local.display_name(),
        ),
        Direction::Egress => (
            flow(me, peer_ip, proto, port),
            local.display_name(),
            peer_name,
        ),
    })
}

/// TL007: a rule that an earlier rule of the same policy, or of an earlier policy of
/// the same tier that selects at least the same endpoints, always decides first.
fn shadowed(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let pols: Vec<(PolicyId, &tabby_eval::PolicyEntry)> = cx.enforced().collect();
    let sel = &|a: &Selector, b: &Selector| cx.sel_covers(a, b);
    // Selected endpoint sets, computed lazily (only for candidate pairs).
    let mut sel_cache: HashMap<PolicyId, Vec<tabby_eval::EndpointId>> = HashMap::new();
    let mut selected = |id: PolicyId| -> Vec<tabby_eval::EndpointId> {
        sel_cache
            .entry(id)
            .or_insert_with(|| cx.selected(id).map(|e| e.id).collect())
            .clone()
    };
    for (bi, (bid, bp)) in pols.iter().enumerate() {
        for dir in [Direction::Ingress, Direction::Egress] {
            if !bp.policy.applies_in(dir) {
                continue;
            }
            for (j, rb) in bp.policy.rules(dir).iter().enumerate() {
                if rb.action == Action::Log {
                    continue;
                }
                // Earlier rule of the same policy, then earlier policies of the tier.
                let mut by: Option<(PolicyId, usize, Action)> = bp
                    .policy
                    .rules(dir)
                    .iter()
                    .take(j)
                    .position(|ra| rule_covers_in(ra, rb, sel))
                    .and_then(|i| Some((*bid, i, bp.policy.rules(dir).get(i)?.action)));
                if by.is_none() {
                    for (aid, ap) in pols.iter().take(bi) {
                        if ap.tier != bp.tier || !ap.policy.applies_in(dir) {
                            continue;
                        }
                        let Some(i) = ap.policy.rules(dir).iter().position(|ra| {
                            rule_covers_in(ra, rb, sel)
                                && (!namespace_dependent(ra)
                                    || ap.policy.namespace == bp.policy.namespace)
                        }) else {
                            continue;
                        };
                        let sb = selected(*bid);
                        if sb.is_empty() {
                            continue;
                        }
                        let sa = selected(*aid);
                        if sb.iter().all(|e| sa.binary_search(e).is_ok()) {
                            let act = ap
                                .policy
                                .rules(dir)
                                .get(i)
                                .map_or(Action::Allow, |r| r.action);
                            by = Some((*aid, i, act));
                            break;
                        }
                    }
                }
                let Some((aid, i, act)) = by else { continue };
                let aname =
                    cx.e.policy(aid)
                        .map(|p| p.policy.display_name())
                        .unwrap_or_default();
                let mut f = cx.finding(
                    "TL007",
                    format!(
                        "{} rule {j} ({}) of `{}` can never decide: {} rule {i} ({act}) of `{aname}` matches every packet it matches and comes first",
                        crate::dir_str(dir),
                        rb.action,
                        bp.policy.display_name(),
                        crate::dir_str(dir),
                    ),
                );
                if act == rb.action {
                    f.severity = crate::Severity::Info;
                }
                f.resource = policy_ref(cx.e, *bid, Some((dir, j)));
                f.policy = Some(*bid);
                if let Some((fl, from, to)) = flow_for_rule(cx, *bid, dir, rb) {
                    let (d, ex) = example(cx.e, &fl, &from, &to);
                    let v = match dir {
                        Direction::Ingress => d.ingress,
                        Direction::Egress => d.egress,
                    };
                    if matches!(v, SideVerdict::Rule { policy, rule, .. } if policy == aid && rule as usize == i)
                    {
                        f.counterexample = Some(ex);
                    }
                }
                out.push(f);
            }
        }
    }
}

/// At most this many probe engines are built by TL015 (one per Deny rule that has
/// an allowed candidate flow).
const MAX_BLOCK_RULES: usize = 16;
/// At most this many addresses and (protocol, port) pairs per probed rule.
const MAX_BLOCK_PROBES: usize = 32;

/// One address inside `net` (its first host when it has hosts).
fn inside(net: &ipnet::IpNet) -> IpAddr {
    net.hosts().next().unwrap_or_else(|| net.addr())
}

/// TL015: a Deny rule naming addresses (a threat feed: `nets`, or a selector of
/// network sets) that an earlier tier, policy or rule bypasses: for an endpoint it
/// applies to, a flow to (egress) or from (ingress) one of its addresses that the
/// Deny matches is allowed first. Both facts come from the engine: the allow from
/// the cluster as it is, the match from a probe cluster holding only that rule.
fn block_bypassed(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let sets: Vec<&Endpoint> =
        cx.e.endpoints()
            .iter()
            .filter(|e| e.kind == EndpointKind::NetworkSet)
            .collect();
    let mut builds = 0usize;
    for (id, p) in cx.enforced() {
        for dir in [Direction::Ingress, Direction::Egress] {
            if !p.policy.applies_in(dir) {
                continue;
            }
            for (j, r) in p.policy.rules(dir).iter().enumerate() {
                if r.action != Action::Deny {
                    continue;
                }
                let peer = match dir {
                    Direction::Ingress => &r.source,
                    Direction::Egress => &r.destination,
                };
                // Blocked addresses: the rule's own CIDRs, or network sets its selector picks.
                let mut addrs: Vec<(IpAddr, String)> = peer
                    .nets
                    .iter()
                    .filter(|n| n.prefix_len() > 0)
                    .map(|n| (inside(n), n.to_string()))
                    .collect();
                if let Some(s) = &peer.selector {
                    for e in sets.iter().filter(|e| s.matches(&e.labels)) {
                        for n in &e.nets {
                            addrs.push((inside(n), e.display_name()));
                        }
                    }
                }
                addrs.truncate(MAX_BLOCK_PROBES);
                if addrs.is_empty() {
                    continue;
                }
                if let Some(f) = block_probe(cx, id, dir, j, r, &addrs, &mut builds) {
                    out.push(f);
                }
            }
        }
    }
}

/// (protocol, port) pairs worth trying against a Deny rule on `ep`: the rule's own
/// ports, else the ports of the allows that apply to `ep` in `dir`, plus 443/TCP and
/// 53/UDP.
fn block_ports(cx: &Cx<'_>, ep: &Endpoint, dir: Direction, r: &Rule) -> Vec<(Protocol, u16)> {
    let protos: Vec<Protocol> = match r.protocol {
        Some(p) => vec![p],
        None => vec![Protocol::TCP, Protocol::UDP],
    };
    let mut v: Vec<(Protocol, u16)> = Vec::new();
    let own = numeric_only(&r.destination.ports);
    if own.is_empty() {
        for (aid, ap) in cx.enforced() {
            if !ap.policy.applies_in(dir) || !cx.e.policy_selects(aid, ep.id) {
                continue;
            }
            for a in ap.policy.rules(dir) {
                if a.action != Action::Allow && a.action != Action::Pass {
                    continue;
                }
                let ps = numeric_only(&a.destination.ports);
                let port = ps.first().map_or(443, |x| x.0);
                match a.protocol {
                    Some(p) => v.push((p, port)),
                    None => v.extend(protos.iter().map(|p| (*p, port))),
                }
            }
        }
        v.push((Protocol::TCP, 443));
        v.push((Protocol::UDP, 53));
    } else {
        for (lo, _) in own {
            v.extend(protos.iter().map(|p| (*p, lo)));
        }
    }
    v.retain(|(p, _)| protos.contains(p));
    v.sort_unstable_by_key(|(p, port)| (format!("{p}"), *port));
    v.dedup();
    v.truncate(MAX_BLOCK_PROBES);
    v
}

fn block_probe(
    cx: &Cx<'_>,
    id: PolicyId,
    dir: Direction,
    j: usize,
    r: &Rule,
    addrs: &[(IpAddr, String)],
    builds: &mut usize,
) -> Option<Finding> {
    let entry = cx.e.policy(id)?;
    // The probe: the cluster with this one rule as its only policy.
    let mut solo = entry.policy.clone();
    solo.ingress.clear();
    solo.egress.clear();
    match dir {
        Direction::Ingress => solo.ingress.push(r.clone()),
        Direction::Egress => solo.egress.push(r.clone()),
    }
    solo.types.ingress = dir == Direction::Ingress;
    solo.types.egress = dir == Direction::Egress;
    // Built on first use: most candidate flows are not allowed at all.
    let mut probe: Option<Engine> = None;
    let side = |d: &tabby_eval::Decision| match dir {
        Direction::Ingress => d.ingress,
        Direction::Egress => d.egress,
    };
    // One endpoint per program: endpoints sharing a program decide alike.
    let mut seen = std::collections::HashSet::new();
    let mut hit: Vec<&Endpoint> = Vec::new();
    let mut first: Option<(Flow, String, String, SideVerdict, String)> = None;
    for ep in cx.selected(id) {
        let Some(me) = ep.first_ip() else { continue };
        if !seen.insert(prog_key(cx.program(ep, dir))) {
            continue;
        }
        let ports = block_ports(cx, ep, dir, r);
        'found: for (addr, what) in addrs.iter().filter(|(a, _)| a.is_ipv6() == me.is_ipv6()) {
            for &(proto, port) in &ports {
                let fl = match dir {
                    Direction::Ingress => flow(*addr, me, proto, port),
                    Direction::Egress => flow(me, *addr, proto, port),
                };
                let v = side(&cx.e.decide(&fl));
                let allowed = matches!(
                    v,
                    SideVerdict::Rule {
                        action: Action::Allow,
                        ..
                    } | SideVerdict::Profile {
                        action: Action::Allow,
                        ..
                    }
                );
                if !allowed {
                    continue;
                }
                if probe.is_none() {
                    if *builds >= MAX_BLOCK_RULES {
                        return None;
                    }
                    *builds += 1;
                    let mut cluster = cx.e.cluster().clone();
                    cluster.policies = vec![solo.clone()];
                    probe = Some(Engine::new(&cluster, cx.e.options().clone()));
                }
                let denied_by_rule = probe.as_ref().is_some_and(|pe| {
                    matches!(
                        side(&pe.decide(&fl)),
                        SideVerdict::Rule {
                            rule: 0,
                            action: Action::Deny,
                            ..
                        }
                    )
                });
                if denied_by_rule {
                    hit.push(ep);
                    if first.is_none() {
                        let (from, to) = match dir {
                            Direction::Ingress => (what.clone(), ep.display_name()),
                            Direction::Egress => (ep.display_name(), what.clone()),
                        };
                        let desc = match dir {
                            Direction::Ingress => format!(
                                "{proto} {port} from {addr} (in `{what}`) to `{}`",
                                ep.display_name()
                            ),
                            Direction::Egress => format!(
                                "{proto} {port} from `{}` to {addr} (in `{what}`)",
                                ep.display_name()
                            ),
                        };
                        first = Some((fl, from, to, v, desc));
                    }
                    break 'found;
                }
            }
        }
    }
    let (fl, from, to, v, desc) = first?;
    let by = match v {
        SideVerdict::Rule {
            policy, rule, tier, ..
        } => {
            let tname =
                cx.e.tier(tier)
                    .map(|t| t.name.to_string())
                    .unwrap_or_default();
            let pname =
                cx.e.policy(policy)
                    .map(|p| p.policy.display_name())
                    .unwrap_or_default();
            format!(
                "{} rule {rule} (Allow) of `{pname}` in tier `{tname}`",
                crate::dir_str(dir)
            )
        }
        SideVerdict::Profile { profile, rule, .. } => {
            let name =
                cx.e.profile(profile)
                    .map(|p| p.name.to_string())
                    .unwrap_or_default();
            format!("rule {rule} of profile `{name}`, reached by an earlier Pass")
        }
        _ => return None,
    };
    let names: Vec<String> = hit.iter().take(3).map(|e| e.display_name()).collect();
    let more = hit.len().saturating_sub(names.len());
    let more = if more > 0 {
        format!(", and {more} more")
    } else {
        String::new()
    };
    let tier = &entry.policy.tier;
    let order = entry
        .policy
        .order
        .map_or_else(|| "none".to_owned(), |o| o.to_string());
    let mut f = cx.finding(
        "TL015",
        format!(
            "{} rule {j} (Deny) of `{}` (tier `{tier}`, order {order}) is bypassed for {} endpoint group(s) ({}{more}): {by} allows {desc} first",
            crate::dir_str(dir),
            entry.policy.display_name(),
            hit.len(),
            names.join(", "),
        ),
    );
    f.resource = policy_ref(cx.e, id, Some((dir, j)));
    f.policy = Some(id);
    let (_, ex) = example(cx.e, &fl, &from, &to);
    f.counterexample = Some(ex);
    Some(f)
}

/// TL008: `domains` (Calico Enterprise DNS policy).
fn enterprise(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (id, p) in cx.enforced() {
        for dir in [Direction::Ingress, Direction::Egress] {
            for (i, r) in p.policy.rules(dir).iter().enumerate() {
                let domains: Vec<&str> = r
                    .destination
                    .domains
                    .iter()
                    .chain(&r.source.domains)
                    .map(AsRef::as_ref)
                    .collect();
                if domains.is_empty() {
                    continue;
                }
                let mut f = cx.finding(
                    "TL008",
                    format!(
                        "{} rule {i} of `{}` uses `domains` (`{}`), a Calico Enterprise field: open-source Calico refuses the whole policy",
                        crate::dir_str(dir),
                        p.policy.display_name(),
                        domains.join("`, `")
                    ),
                );
                f.resource = policy_ref(cx.e, id, Some((dir, i)));
                f.policy = Some(id);
                f.fix_suggestion = Some(
                    "# list the service's addresses in a GlobalNetworkSet and select it\ndestination:\n  selector: egress-destination == 'NAME'\n  namespaceSelector: global()\n"
                        .to_owned(),
                );
                out.push(f);
            }
        }
    }
}

/// TL009: an egress Allow to `0.0.0.0/0` or `::/0` with no port limit.
fn open_egress(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (id, p) in cx.enforced() {
        if !p.policy.applies_in(Direction::Egress) {
            continue;
        }
        for (i, r) in p.policy.egress.iter().enumerate() {
            let d = &r.destination;
            if r.action != Action::Allow
                || !d.nets.iter().any(|n| n.prefix_len() == 0)
                || !d.ports.is_empty()
                || d.has_endpoint_match()
                || !d.not_nets.is_empty()
            {
                continue;
            }
            let Some((fl, from, to)) = flow_for_rule(cx, id, Direction::Egress, r) else {
                continue;
            };
            let fl = Flow {
                dst_port: if fl.protocol.has_ports() { 4444 } else { 0 },
                ..fl
            };
            let (dec, ex) = example(cx.e, &fl, &from, &to);
            if !matches!(dec.egress, SideVerdict::Rule { policy, rule, .. } if policy == id && rule as usize == i)
            {
                continue;
            }
            let mut f = cx.finding(
                "TL009",
                format!(
                    "egress rule {i} of `{}` allows traffic to any internet address on any port",
                    p.policy.display_name()
                ),
            );
            f.resource = policy_ref(cx.e, id, Some((Direction::Egress, i)));
            f.policy = Some(id);
            f.counterexample = Some(ex);
            f.fix_suggestion = Some(
                "# name the destinations and ports the workload needs\ndestination:\n  nets: [203.0.113.0/24]\n  ports: [443]\n"
                    .to_owned(),
            );
            out.push(f);
        }
    }
}

/// TL010: application namespaces where no workload is default-deny (per direction).
fn no_default_deny(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let mut by_ns: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
    for ep in cx.targets().filter(|e| e.kind == EndpointKind::Workload) {
        if let Some(ns) = ep.namespace.as_deref() {
            if !SYSTEM_NAMESPACES.contains(&ns) {
                by_ns.entry(ns).or_default().push(ep);
            }
        }
    }
    for (ns, eps) in by_ns {
        for dir in [Direction::Ingress, Direction::Egress] {
            if eps.iter().any(|e| cx.isolated(e, dir)) {
                continue;
            }
            let Some(ep) = eps.first() else { continue };
            let Some(me) = ep.first_ip() else { continue };
            let (fl, from, to) = match dir {
                Direction::Ingress => {
                    let (proto, port) = ep
                        .ports
                        .first()
                        .map_or((Protocol::TCP, 8080), |p| (p.protocol, p.port));
                    (
                        flow(OUTSIDE, me, proto, port),
                        OUTSIDE.to_string(),
                        ep.display_name(),
                    )
                }
                Direction::Egress => (
                    flow(me, OUTSIDE, Protocol::TCP, 443),
                    ep.display_name(),
                    OUTSIDE.to_string(),
                ),
            };
            let (d, ex) = example(cx.e, &fl, &from, &to);
            if !d.allowed {
                continue;
            }
            let mut f = cx.finding(
                "TL010",
                format!(
                    "no policy makes the {} workload(s) of namespace `{ns}` default-deny for {}",
                    eps.len(),
                    crate::dir_str(dir)
                ),
            );
            let loc = cx.e.cluster().namespace(ns).and_then(|n| n.loc.clone());
            f.resource = Some(with_loc(
                ResourceRef {
                    kind: "Namespace".to_owned(),
                    name: ns.to_owned(),
                    rule: None,
                    file: None,
                    line: None,
                    column: None,
                    loc: None,
                },
                loc.as_ref(),
            ));
            f.counterexample = Some(ex);
            f.fix_suggestion = Some(format!(
                "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: {ns}\nspec:\n  selector: all()\n  types:\n    - {}\n",
                dir.as_str()
            ));
            out.push(f);
        }
    }
}

/// TL011: an allowed flow from one tenant namespace into another.
fn tenants(cx: &Cx<'_>, out: &mut Vec<Finding>, key: &str) {
    let tenant_ns: Vec<&str> = cx
        .ns_labels
        .iter()
        .filter(|(_, l)| l.get(key).map(AsRef::as_ref) == Some("true"))
        .map(|(n, _)| n.as_ref())
        .collect();
    if tenant_ns.len() < 2 {
        return;
    }
    let probes = probes(cx);
    let nets = all_nets(cx);
    // Per tenant namespace: workloads, one per class that no rule can tell apart:
    // same program in `dir`, labels, named ports, service account, and the same
    // rule CIDRs and network sets containing its address.
    let reps = |ns: &str, dir: Direction| -> Vec<&Endpoint> {
        let mut seen = std::collections::HashSet::new();
        cx.targets()
            .filter(|e| e.kind == EndpointKind::Workload && e.namespace.as_deref() == Some(ns))
            .filter(|e| seen.insert(class_key(cx, e, dir, &nets)))
            .collect()
    };
    for a in &tenant_ns {
        let srcs = reps(a, Direction::Egress);
        for b in tenant_ns.iter().filter(|b| *b != a) {
            let dsts = reps(b, Direction::Ingress);
            let mut found = None;
            'search: for s in &srcs {
                let Some(sip) = s.first_ip() else { continue };
                for d in &dsts {
                    let Some(dip) = d.first_ip() else { continue };
                    if sip.is_ipv6() != dip.is_ipv6() {
                        continue;
                    }
                    for &(proto, port) in &probes {
                        let fl = flow(sip, dip, proto, port);
                        if !cx.e.decide(&fl).allowed {
                            continue;
                        }
                        let (dec, ex) = example(cx.e, &fl, &s.display_name(), &d.display_name());
                        found = Some((ex, verdict_policy(&dec.ingress)));
                        break 'search;
                    }
                }
            }
            let Some((ex, pol)) = found else { continue };
            let mut f = cx.finding(
                "TL011",
                format!("tenant namespace `{a}` can open connections into tenant namespace `{b}`"),
            );
            f.resource = pol.and_then(|p| policy_ref(cx.e, p, None)).or_else(|| {
                Some(ResourceRef {
                    kind: "Namespace".to_owned(),
                    name: (*b).to_owned(),
                    rule: None,
                    file: None,
                    line: None,
                    column: None,
                    loc: None,
                })
            });
            f.policy = pol;
            f.counterexample = Some(ex);
            f.fix_suggestion = Some(format!(
                "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: tenant-isolation\nspec:\n  order: 500\n  namespaceSelector: {key} == 'true'\n  types: [Ingress, Egress]\n  ingress:\n    - action: Allow\n      source:\n        namespaceSelector: projectcalico.org/name == '{b}'\n      destination:\n        namespaceSelector: projectcalico.org/name == '{b}'\n"
            ));
            out.push(f);
        }
    }
}

/// Flows that between them meet every case a rule can distinguish: for TCP, UDP and
/// SCTP the first port of every elementary interval cut by the port ranges any rule
/// (or profile) names and by every named port's number; ICMP and ICMPv6 (an echo
/// request), and every other protocol a rule names, once. Ordered so that common
/// service ports come first (the search stops at the first allowed flow).
fn probes(cx: &Cx<'_>) -> Vec<(Protocol, u16)> {
    let mut cuts: Vec<u32> = vec![1];
    let mut protos: Vec<u8> = Vec::new();
    let mut add = |ports: &[PortSpec]| {
        for p in ports {
            if let PortSpec::Range(r) = p {
                cuts.push(u32::from(r.min));
                cuts.push(u32::from(r.max) + 1);
            }
        }
    };
    let rules =
        cx.e.policies()
            .iter()
            .flat_map(|p| p.policy.ingress.iter().chain(&p.policy.egress));
    for r in rules {
        for side in [&r.source, &r.destination] {
            add(&side.ports);
            add(&side.not_ports);
        }
        protos.extend(r.protocol.iter().chain(&r.not_protocol).map(|p| p.0));
    }
    // Profiles (applied when no policy does) are held compiled.
    for r in
        cx.e.profiles()
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
    {
        for side in [&r.src, &r.dst] {
            for set in [&side.ports, &side.not_ports] {
                for pr in &set.ranges {
                    cuts.push(u32::from(pr.min));
                    cuts.push(u32::from(pr.max) + 1);
                }
            }
        }
        protos.extend(r.protocol.iter().chain(&r.not_protocol).copied());
    }
    for e in cx.e.endpoints() {
        for p in &e.ports {
            cuts.push(u32::from(p.port));
            cuts.push(u32::from(p.port) + 1);
        }
    }
    cuts.retain(|c| (1..=65535).contains(c));
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    for proto in [Protocol::TCP, Protocol::UDP, Protocol::SCTP] {
        out.extend(
            cuts.iter()
                .filter_map(|c| u16::try_from(*c).ok())
                .map(|c| (proto, c)),
        );
    }
    protos.retain(|p| ![6u8, 17, 132, 0].contains(p));
    protos.extend([1, 58]);
    protos.sort_unstable();
    protos.dedup();
    out.extend(protos.into_iter().map(|p| (Protocol(p), 0)));
    out
}

/// Every CIDR a rule or a network set names: an address is seen by rules only
/// through which of these contain it.
fn all_nets(cx: &Cx<'_>) -> Vec<ipnet::IpNet> {
    let profile_nets =
        cx.e.profiles()
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress))
            .flat_map(|r| {
                [&r.src, &r.dst]
                    .into_iter()
                    .flat_map(|s| s.nets.iter().chain(&s.not_nets))
            })
            .copied();
    let mut v: Vec<ipnet::IpNet> =
        cx.e.policies()
            .iter()
            .flat_map(|p| p.policy.ingress.iter().chain(&p.policy.egress))
            .flat_map(|r| {
                [&r.source, &r.destination]
                    .into_iter()
                    .flat_map(|s| s.nets.iter().chain(&s.not_nets))
            })
            .copied()
            .chain(profile_nets)
            .chain(
                cx.e.endpoints()
                    .iter()
                    .filter(|e| e.kind == EndpointKind::NetworkSet)
                    .flat_map(|e| e.nets.iter().copied()),
            )
            .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// TL012: a policy without rules: its order cannot matter, the drop it causes comes
/// from the end of its tier, after every policy of the tier.
fn ruleless_order(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (id, p) in cx.enforced() {
        let pol = &p.policy;
        if !pol.ingress.is_empty() || !pol.egress.is_empty() || pol.order.is_none() {
            continue;
        }
        let tier_denies =
            cx.e.tier(p.tier)
                .is_some_and(|t| t.default_action == TierDefaultAction::Deny);
        // Order only misleads where other policies of the tier rely on it.
        let order_matters = cx.enforced().any(|(_, q)| {
            q.tier == p.tier
                && [Direction::Ingress, Direction::Egress].iter().any(|d| {
                    q.policy
                        .rules(*d)
                        .iter()
                        .any(|r| matches!(r.action, Action::Deny | Action::Pass))
                })
        });
        if !tier_denies || !order_matters {
            continue;
        }
        let mut ex = None;
        'eps: for ep in cx.selected(id).filter(|e| !is_system(e)).take(16) {
            let Some(me) = ep.first_ip() else { continue };
            for dir in [Direction::Egress, Direction::Ingress] {
                if !pol.applies_in(dir) {
                    continue;
                }
                let (fl, from, to) = match dir {
                    Direction::Egress => (
                        flow(me, OUTSIDE, Protocol::TCP, 443),
                        ep.display_name(),
                        OUTSIDE.to_string(),
                    ),
                    Direction::Ingress => (
                        flow(OUTSIDE, me, Protocol::TCP, 443),
                        OUTSIDE.to_string(),
                        ep.display_name(),
                    ),
                };
                let (d, x) = example(cx.e, &fl, &from, &to);
                let v = match dir {
                    Direction::Ingress => d.ingress,
                    Direction::Egress => d.egress,
                };
                if matches!(v, SideVerdict::EndOfTier { tier, .. } if tier == p.tier) {
                    ex = Some(x);
                    break 'eps;
                }
            }
        }
        let Some(ex) = ex else { continue };
        let tier =
            cx.e.tier(p.tier)
                .map(|t| t.name.to_string())
                .unwrap_or_default();
        let mut f = cx.finding(
            "TL012",
            format!(
                "policy `{}` has no rules, so its order does nothing: what it blocks is dropped at the end of tier `{tier}`, after every policy of the tier, whatever their order",
                pol.display_name()
            ),
        );
        f.resource = policy_ref(cx.e, id, None);
        f.policy = Some(id);
        f.counterexample = Some(ex);
        out.push(f);
    }
}

/// Workload peers of `side` (dedup by ingress/egress program), DNS-port-declaring first.
fn peers_of<'a>(
    cx: &Cx<'a>,
    id: PolicyId,
    side: &EntityRule,
    peer_dir: Direction,
    port: u16,
    nets: &[ipnet::IpNet],
) -> Vec<&'a Endpoint> {
    let pol = cx.e.policy(id).map(|p| &p.policy);
    let own_ns = pol.and_then(|p| p.namespace.clone());
    let mut seen = std::collections::HashSet::new();
    let mut v: Vec<&Endpoint> = cx
        .targets()
        .filter(|e| e.kind == EndpointKind::Workload)
        .filter(|e| {
            let Some(ip) = e.first_ip() else { return false };
            if !side.nets.is_empty() && !side.nets.iter().any(|n| n.contains(&ip)) {
                return false;
            }
            if side.not_nets.iter().any(|n| n.contains(&ip)) {
                return false;
            }
            if let Some(s) = &side.selector {
                if !s.matches(&e.labels) {
                    return false;
                }
            }
            match &side.namespace_selector {
                Some(ns) => {
                    if ns.contains_global() {
                        return false;
                    }
                    let Some(l) = e.namespace.as_ref().and_then(|n| cx.ns_labels.get(n)) else {
                        return false;
                    };
                    ns.matches(l)
                }
                // A namespaced policy's rule selector stays in its namespace.
                None if side.selector.is_some() && own_ns.is_some() => e.namespace == own_ns,
                None => true,
            }
        })
        // One peer per class no rule can tell apart.
        .filter(|e| seen.insert(class_key(cx, e, peer_dir, nets)))
        .collect();
    v.sort_by_key(|e| (!e.ports.iter().any(|p| p.port == port), e.id));
    v
}

/// TL013: an egress Allow whose destinations' ingress never accepts the traffic.
fn one_sided(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let probes = probes(cx);
    let nets = all_nets(cx);
    for (id, p) in cx.enforced() {
        if !p.policy.applies_in(Direction::Egress) {
            continue;
        }
        let Some(local) = cx
            .selected(id)
            .filter(|e| e.kind == EndpointKind::Workload)
            .min_by_key(|e| (is_system(e), e.id))
        else {
            continue;
        };
        let Some(me) = local.first_ip() else { continue };
        for (i, r) in p.policy.egress.iter().enumerate() {
            let d = &r.destination;
            if r.action != Action::Allow || (d.nets.is_empty() && !d.has_endpoint_match()) {
                continue;
            }
            if d.services.is_some() || d.service_accounts.is_some() || !d.domains.is_empty() {
                continue;
            }
            let proto = r.protocol.unwrap_or(Protocol::TCP);
            let port = d
                .ports
                .iter()
                .find_map(|p| match p {
                    PortSpec::Range(r) => Some(r.min),
                    PortSpec::Named(_) => None,
                })
                .unwrap_or(if d.ports.is_empty() { 443 } else { 0 });
            if port == 0 {
                continue;
            }
            let peers = peers_of(cx, id, d, Direction::Ingress, port, &nets);
            // Every port the rule can match (one per elementary interval), the
            // rule's first port first.
            let rule_ports = numeric_only(&d.ports);
            let mut ports: Vec<u16> = vec![port];
            ports.extend(
                probes
                    .iter()
                    .filter(|(p, _)| *p == proto)
                    .map(|(_, p)| *p)
                    .filter(|p| {
                        *p != port && (d.ports.is_empty() || range_covered(*p, *p, &rule_ports))
                    }),
            );
            let mut first = None;
            let mut any_accepts = false;
            let mut checked = 0usize;
            'peers: for peer in peers.iter().filter(|e| e.id != local.id) {
                let Some(ip) = peer.first_ip().filter(|ip| ip.is_ipv6() == me.is_ipv6()) else {
                    continue;
                };
                let mut decided = false;
                for &port in &ports {
                    let fl = flow(me, ip, proto, port);
                    // Decide first; describe only the counterexample kept.
                    let dec = cx.e.decide(&fl);
                    let by_rule = matches!(dec.egress, SideVerdict::Rule { policy, rule, .. } if policy == id && rule as usize == i);
                    if !by_rule {
                        continue;
                    }
                    decided = true;
                    if dec.ingress.allowed() {
                        any_accepts = true;
                        break 'peers;
                    }
                    if first.is_none() {
                        let (_, ex) =
                            example(cx.e, &fl, &local.display_name(), &peer.display_name());
                        first = Some(ex);
                    }
                }
                checked += usize::from(decided);
            }
            if any_accepts {
                continue;
            }
            let Some(ex) = first else { continue };
            let mut f = cx.finding(
                "TL013",
                format!(
                    "egress rule {i} of `{}` allows connections that the destination's ingress drops (all {checked} destination group(s) checked): under default deny both sides need an allow",
                    p.policy.display_name()
                ),
            );
            f.resource = policy_ref(cx.e, id, Some((Direction::Egress, i)));
            f.policy = Some(id);
            f.counterexample = Some(ex);
            out.push(f);
        }
    }
}

/// Does `r` match every packet?
fn matches_all(r: &Rule) -> bool {
    r.ip_version.is_none()
        && r.protocol.is_none()
        && r.not_protocol.is_none()
        && r.icmp.is_none()
        && r.not_icmp.is_none()
        && r.http.is_none()
        && r.source.is_empty()
        && r.destination.is_empty()
}

/// TL014: an Allow of everything, with the rules it makes dead.
fn allow_all(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let pols: Vec<(PolicyId, &tabby_eval::PolicyEntry)> = cx.enforced().collect();
    for (ai, (aid, ap)) in pols.iter().enumerate() {
        for dir in [Direction::Ingress, Direction::Egress] {
            if !ap.policy.applies_in(dir) {
                continue;
            }
            let Some(i) = ap
                .policy
                .rules(dir)
                .iter()
                .position(|r| r.action == Action::Allow && matches_all(r))
            else {
                continue;
            };
            let mut dead = ap.policy.rules(dir).len().saturating_sub(i + 1);
            let sel_a: std::collections::HashSet<_> = cx.selected(*aid).map(|e| e.id).collect();
            for (bid, bp) in pols.iter().skip(ai + 1) {
                if bp.tier != ap.tier
                    || !bp.policy.applies_in(dir)
                    || bp.policy.rules(dir).is_empty()
                {
                    continue;
                }
                let mut sel_b = cx.selected(*bid).peekable();
                if sel_b.peek().is_some() && sel_b.all(|e| sel_a.contains(&e.id)) {
                    dead += bp.policy.rules(dir).len();
                }
            }
            let Some(ep) = cx.selected(*aid).next() else {
                continue;
            };
            let Some(me) = ep.first_ip() else { continue };
            let (fl, from, to) = match dir {
                Direction::Egress => (
                    flow(me, OUTSIDE, Protocol::TCP, 4444),
                    ep.display_name(),
                    OUTSIDE.to_string(),
                ),
                Direction::Ingress => (
                    flow(OUTSIDE, me, Protocol::TCP, 4444),
                    OUTSIDE.to_string(),
                    ep.display_name(),
                ),
            };
            let (d, ex) = example(cx.e, &fl, &from, &to);
            let v = match dir {
                Direction::Ingress => d.ingress,
                Direction::Egress => d.egress,
            };
            if !matches!(v, SideVerdict::Rule { policy, rule, .. } if policy == *aid && rule as usize == i)
            {
                continue;
            }
            let mut f = cx.finding(
                "TL014",
                format!(
                    "{} rule {i} of `{}` allows everything (no peer, protocol or port limit): {dead} later rule(s) of its tier for the same endpoints can never decide",
                    crate::dir_str(dir),
                    ap.policy.display_name()
                ),
            );
            f.resource = policy_ref(cx.e, *aid, Some((dir, i)));
            f.policy = Some(*aid);
            f.counterexample = Some(ex);
            out.push(f);
        }
    }
}

/// A denied flow between two workloads of one namespace, one of them selected by
/// `id`, on the `dir` side of that one (what a "same namespace" template meant).
fn same_namespace_denied(cx: &Cx<'_>, id: PolicyId, dir: Direction) -> Option<crate::FlowExample> {
    for local in cx
        .selected(id)
        .filter(|e| e.kind == EndpointKind::Workload)
        .take(16)
    {
        let peer = cx.targets().find(|e| {
            e.kind == EndpointKind::Workload && e.id != local.id && e.namespace == local.namespace
        })?;
        let (src, dst) = match dir {
            Direction::Ingress => (peer, local),
            Direction::Egress => (local, peer),
        };
        let (proto, port) = dst
            .ports
            .first()
            .map_or((Protocol::TCP, 8080), |p| (p.protocol, p.port));
        let (sip, dip) = (src.first_ip()?, dst.first_ip()?);
        if sip.is_ipv6() != dip.is_ipv6() {
            continue;
        }
        let fl = flow(sip, dip, proto, port);
        let (d, ex) = example(cx.e, &fl, &src.display_name(), &dst.display_name());
        let v = match dir {
            Direction::Ingress => d.ingress,
            Direction::Egress => d.egress,
        };
        if !v.allowed() {
            return Some(ex);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    #[test]
    fn negative_forms() {
        for (s, want) in [
            ("a == 'x'", false),
            ("a != 'x'", true),
            ("a not in {'x'}", true),
            ("!has(a)", true),
            ("has(b) && a != 'x'", true),
            ("a in {'x'} || has(b)", false),
            ("all()", false),
        ] {
            assert_eq!(has_negative(sel(s).expr()), want, "{s}");
        }
    }

    fn rule(
        action: Action,
        proto: Option<Protocol>,
        src_net: Option<&str>,
        port: Option<u16>,
    ) -> Rule {
        let mut r = Rule::new(action);
        r.protocol = proto;
        if let Some(n) = src_net {
            r.source.nets.push(n.parse().unwrap());
        }
        if let Some(p) = port {
            r.destination
                .ports
                .push(PortSpec::Range(tabby_model::PortRange { min: p, max: p }));
        }
        r
    }

    #[test]
    fn covering_by_sets() {
        use tabby_model::PortRange;
        let nets = |v: &[&str]| {
            v.iter()
                .map(|n| n.parse().unwrap())
                .collect::<Vec<ipnet::IpNet>>()
        };
        let ports = |v: &[(u16, u16)]| {
            v.iter()
                .map(|&(min, max)| PortSpec::Range(PortRange { min, max }))
                .collect::<Vec<_>>()
        };
        let side = |n: &[&str], nn: &[&str], p: &[(u16, u16)], np: &[(u16, u16)]| EntityRule {
            nets: nets(n),
            not_nets: nets(nn),
            ports: ports(p),
            not_ports: ports(np),
            ..EntityRule::default()
        };
        let named = |name: &str| EntityRule {
            ports: vec![PortSpec::Named(Name::from(name))],
            ..EntityRule::default()
        };
        for (a, b, want, why) in [
            (
                side(&["10.0.0.0/8"], &[], &[], &[]),
                side(&["10.1.0.0/16"], &[], &[], &[]),
                true,
                "subnet",
            ),
            (
                side(&["10.0.0.0/9", "10.128.0.0/9"], &[], &[], &[]),
                side(&["10.0.0.0/8"], &[], &[], &[]),
                true,
                "two halves",
            ),
            (
                side(&["10.0.0.0/9", "10.192.0.0/10"], &[], &[], &[]),
                side(&["10.0.0.0/8"], &[], &[], &[]),
                false,
                "a gap",
            ),
            (
                side(&["10.0.0.0/8"], &[], &[], &[]),
                side(&[], &[], &[], &[]),
                false,
                "b matches any address",
            ),
            (
                side(&[], &["10.1.0.0/16"], &[], &[]),
                side(&["192.168.0.0/16"], &[], &[], &[]),
                true,
                "exclusion outside b",
            ),
            (
                side(&[], &["10.1.0.0/16"], &[], &[]),
                side(&["10.0.0.0/8"], &[], &[], &[]),
                false,
                "exclusion inside b",
            ),
            (
                side(&[], &["10.1.0.0/16"], &[], &[]),
                side(&["10.0.0.0/8"], &["10.0.0.0/15"], &[], &[]),
                true,
                "b excludes it too",
            ),
            (
                side(&[], &[], &[(1, 1000), (1001, 2000)], &[]),
                side(&[], &[], &[(80, 80), (1500, 1600)], &[]),
                true,
                "adjacent ranges",
            ),
            (
                side(&[], &[], &[(1, 1000), (1002, 2000)], &[]),
                side(&[], &[], &[(900, 1100)], &[]),
                false,
                "port 1001 missing",
            ),
            (
                side(&[], &[], &[(1, 65535)], &[]),
                side(&[], &[], &[], &[]),
                true,
                "every port",
            ),
            (
                side(&[], &[], &[(1, 65534)], &[]),
                side(&[], &[], &[], &[]),
                false,
                "not every port",
            ),
            (
                side(&[], &[], &[(1, 65535)], &[]),
                named("http"),
                true,
                "a named port is some port",
            ),
            (
                side(&[], &[], &[(80, 80)], &[]),
                named("http"),
                false,
                "named port's number unknown",
            ),
            (named("http"), named("http"), true, "same name"),
            (
                side(&[], &[], &[], &[(22, 22)]),
                side(&[], &[], &[(80, 443)], &[]),
                true,
                "excluded port outside b",
            ),
            (
                side(&[], &[], &[], &[(22, 22)]),
                side(&[], &[], &[(1, 1024)], &[(1, 100)]),
                true,
                "b excludes it too",
            ),
            (
                side(&[], &[], &[], &[(22, 22)]),
                side(&[], &[], &[(1, 1024)], &[]),
                false,
                "excluded port inside b",
            ),
        ] {
            assert_eq!(side_covers(&a, &b), want, "{why}");
        }
        // notProtocol.
        let mut a = rule(Action::Allow, None, None, None);
        a.not_protocol = Some(Protocol::UDP);
        assert!(rule_covers(
            &a,
            &rule(Action::Deny, Some(Protocol::TCP), None, None)
        ));
        assert!(!rule_covers(
            &a,
            &rule(Action::Deny, Some(Protocol::UDP), None, None)
        ));
        assert!(!rule_covers(&a, &rule(Action::Deny, None, None, None)));
    }

    #[test]
    fn covering() {
        let tcp = Some(Protocol::TCP);
        let udp = Some(Protocol::UDP);
        let net = Some("10.0.0.0/8");
        for (a, b, want) in [
            (
                rule(Action::Allow, None, None, None),
                rule(Action::Deny, tcp, net, Some(5)),
                true,
            ),
            (
                rule(Action::Allow, tcp, None, None),
                rule(Action::Deny, tcp, net, None),
                true,
            ),
            (
                rule(Action::Allow, tcp, None, None),
                rule(Action::Deny, udp, None, None),
                false,
            ),
            (
                rule(Action::Allow, tcp, net, None),
                rule(Action::Deny, tcp, None, None),
                false,
            ),
            (
                rule(Action::Allow, tcp, None, Some(80)),
                rule(Action::Deny, tcp, None, Some(443)),
                false,
            ),
            (
                rule(Action::Allow, tcp, None, Some(80)),
                rule(Action::Deny, tcp, net, Some(80)),
                true,
            ),
            // A Log rule never decides, so it shadows nothing.
            (
                rule(Action::Log, None, None, None),
                rule(Action::Deny, tcp, None, None),
                false,
            ),
        ] {
            assert_eq!(rule_covers(&a, &b), want, "{a:?} / {b:?}");
        }
        let mut neg = rule(Action::Allow, None, None, None);
        neg.source.not_nets.push("10.0.0.0/8".parse().unwrap());
        assert!(!rule_covers(&neg, &rule(Action::Deny, None, None, None)));
        assert!(matches_all(&rule(Action::Allow, None, None, None)));
        assert!(!matches_all(&rule(Action::Allow, tcp, None, None)));
    }

    #[test]
    fn hints() {
        let labels: Vec<LabelMap> = vec![
            [("app".into(), "backend".into())].into_iter().collect(),
            [("app".into(), "frontend".into())].into_iter().collect(),
        ];
        let h = hint(&sel("app == 'backnd'"), labels.iter()).unwrap();
        assert!(h.contains("did you mean `backend`"), "{h}");
        let h = hint(&sel("ap == 'backend'"), labels.iter()).unwrap();
        assert!(h.contains("did you mean `app`"), "{h}");
        assert_eq!(hint(&sel("app == 'backend'"), labels.iter()), None);
    }
}
