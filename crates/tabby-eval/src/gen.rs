//! Synthetic clusters for benchmarks and property tests (also used by the
//! analyses' benchmarks): realistic label, selector and port distributions,
//! namespaced and global policies, a few tiers, host endpoints and network sets.
//! Deterministic for a given seed.

use std::net::{IpAddr, Ipv4Addr};

use tabby_model::{
    Action, Cluster, EndpointOrigin, HostEndpoint, LabelMap, Name, NamedPort, Namespace,
    NetworkSet, Policy, PolicyKind, PortRange, PortSpec, Protocol, Rule, ServiceAccount,
    StagedAction, Tier, TierDefaultAction, Types, Workload,
};
use tabby_selector::Selector;

/// A small deterministic PRNG (splitmix64): no dependency, same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct as usize
    }
}

/// `items[i % len]` without panicking.
fn at<T: Copy + Default>(items: &[T], i: usize) -> T {
    items
        .get(i % items.len().max(1))
        .copied()
        .unwrap_or_default()
}

/// Parses a selector the generator wrote (always valid); `all()` otherwise.
pub fn sel(text: &str) -> Selector {
    Selector::parse(text).unwrap_or_else(|_| Selector::all())
}

fn labels(pairs: &[(&str, &str)]) -> LabelMap {
    pairs
        .iter()
        .map(|(k, v)| (Name::from(*k), Name::from(*v)))
        .collect()
}

/// A policy with every optional field empty.
pub fn policy(kind: PolicyKind, name: &str, namespace: Option<&str>, tier: &str) -> Policy {
    Policy {
        kind,
        name: name.into(),
        namespace: namespace.map(Name::from),
        tier: tier.into(),
        order: None,
        selector: Selector::all(),
        namespace_selector: None,
        service_account_selector: None,
        types: Types {
            ingress: true,
            egress: false,
            inferred: true,
        },
        ingress: Vec::new(),
        egress: Vec::new(),
        apply_on_forward: false,
        pre_dnat: false,
        do_not_track: false,
        staged_action: kind.is_staged().then_some(StagedAction::Set),
        performance_hints: Vec::new(),
        labels: LabelMap::new(),
        annotations: LabelMap::new(),
        loc: None,
    }
}

/// A Kubernetes pod with the usual defaults.
pub fn workload(namespace: &str, name: &str, labels: LabelMap, ip: Option<IpAddr>) -> Workload {
    Workload {
        namespace: namespace.into(),
        name: name.into(),
        origin: EndpointOrigin::Pod,
        labels,
        service_account: Some("default".into()),
        ips: ip.into_iter().collect(),
        ports: Vec::new(),
        probes: Vec::new(),
        node: None,
        host_network: false,
        automount_token: true,
        profiles: Vec::new(),
        orchestrator: "k8s".into(),
        loc: None,
    }
}

const APPS_PER_NS: usize = 8;
const TIERS: [&str; 2] = ["security", "platform"];

fn port_rule(rng: &mut Rng, action: Action) -> Rule {
    let mut r = Rule::new(action);
    r.protocol = Some(if rng.chance(85) {
        Protocol::TCP
    } else {
        Protocol::UDP
    });
    let p = match rng.below(6) {
        0 => PortSpec::Named("http".into()),
        1 => PortSpec::Range(PortRange {
            min: 8000,
            max: 8100,
        }),
        2 => PortSpec::Range(PortRange::single(5432)),
        3 => PortSpec::Range(PortRange::single(443)),
        4 => PortSpec::Range(PortRange::single(9090)),
        _ => PortSpec::Range(PortRange::single(8080)),
    };
    r.destination.ports.push(p);
    r
}

/// A cluster with `pods` workloads spread over `namespaces` namespaces, and
/// `policies` policies in a realistic mix: ~70% Calico NetworkPolicies and ~20%
/// Kubernetes-shaped NetworkPolicies (each selecting one app in one namespace),
/// ~5% GlobalNetworkPolicies in two extra tiers (Pass and Deny default actions,
/// selecting one app tier in the namespaces of one team), ~5% staged. Also one
/// host endpoint per 50 pods and a few network sets.
pub fn synthetic_cluster(pods: usize, namespaces: usize, policies: usize, seed: u64) -> Cluster {
    synthetic_cluster_mix(pods, namespaces, policies, seed, 5)
}

/// Like [`synthetic_cluster`] with `gnp_percent`% GlobalNetworkPolicies (taken
/// from the Calico NetworkPolicy share). A high share is a stress test: every
/// GNP selects a third of all pods in a third to all of the namespaces.
pub fn synthetic_cluster_mix(
    pods: usize,
    namespaces: usize,
    policies: usize,
    seed: u64,
    gnp_percent: usize,
) -> Cluster {
    let mut rng = Rng::new(seed);
    let namespaces = namespaces.max(1);
    let mut c = Cluster::default();
    c.tiers.push(Tier {
        name: "default".into(),
        order: Some(1_000_000.0),
        default_action: TierDefaultAction::Deny,
        declared: false,
        loc: None,
    });
    c.tiers.push(Tier {
        name: "security".into(),
        order: Some(100.0),
        default_action: TierDefaultAction::Pass,
        declared: true,
        loc: None,
    });
    c.tiers.push(Tier {
        name: "platform".into(),
        order: Some(200.0),
        default_action: TierDefaultAction::Deny,
        declared: true,
        loc: None,
    });
    let teams = ["payments", "search", "web", "data", "infra"];
    let envs = ["prod", "staging", "dev"];
    for i in 0..namespaces {
        let name = format!("ns-{i}");
        c.namespaces.push(Namespace {
            name: name.as_str().into(),
            labels: labels(&[
                ("team", at(&teams, i)),
                ("env", at(&envs, i)),
                ("kubernetes.io/metadata.name", &name),
            ]),
            loc: None,
        });
        for sa in ["default", "api", "worker"] {
            c.service_accounts.push(ServiceAccount {
                namespace: name.as_str().into(),
                name: sa.into(),
                labels: labels(&[("role", sa)]),
                loc: None,
            });
        }
    }
    let tiers_of_app = ["frontend", "backend", "db"];
    for i in 0..pods {
        let ns = format!("ns-{}", i % namespaces);
        let app = rng.below(APPS_PER_NS);
        let app_name = format!("app-{app}");
        let tier = at(&tiers_of_app, app);
        let version = if rng.chance(80) { "v1" } else { "v2" };
        let ip = Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250 + 1) as u8);
        let mut w = workload(
            &ns,
            &format!("{app_name}-{i}"),
            labels(&[("app", &app_name), ("tier", tier), ("version", version)]),
            Some(IpAddr::V4(ip)),
        );
        w.service_account = Some(at(&["default", "api", "worker"], app).into());
        w.node = Some(format!("node-{}", i / 50).into());
        w.ports = vec![
            NamedPort {
                name: "http".into(),
                protocol: Protocol::TCP,
                port: 8080,
            },
            NamedPort {
                name: "metrics".into(),
                protocol: Protocol::TCP,
                port: 9090,
            },
        ];
        c.workloads.push(w);
    }
    for n in 0..pods.div_ceil(50) {
        c.host_endpoints.push(HostEndpoint {
            name: format!("node-{n}-eth0").into(),
            node: format!("node-{n}").into(),
            interface_name: Some("eth0".into()),
            expected_ips: vec![IpAddr::V4(Ipv4Addr::new(
                192,
                168,
                (n / 250) as u8,
                (n % 250 + 1) as u8,
            ))],
            labels: labels(&[("role", "node"), ("zone", at(&["a", "b", "c"], n))]),
            profiles: Vec::new(),
            ports: Vec::new(),
            loc: None,
        });
    }
    for (i, (name, cidr)) in [
        ("public-apis", "203.0.113.0/24"),
        ("partners", "198.51.100.0/24"),
        ("corp", "172.16.0.0/12"),
    ]
    .iter()
    .enumerate()
    {
        c.network_sets.push(NetworkSet {
            name: (*name).into(),
            namespace: (i == 2).then(|| Name::from("ns-0")),
            labels: labels(&[("kind", name)]),
            nets: cidr.parse().into_iter().collect(),
            allowed_egress_domains: Vec::new(),
            loc: None,
        });
    }

    for i in 0..policies {
        let roll = rng.below(100);
        let ns = format!("ns-{}", rng.below(namespaces));
        let app = rng.below(APPS_PER_NS);
        let peer = rng.below(APPS_PER_NS);
        let gnp = gnp_percent.min(75);
        let p = if roll < 75 - gnp {
            // Calico NetworkPolicy in the default tier.
            let mut p = policy(
                PolicyKind::NetworkPolicy,
                &format!("np-{i}"),
                Some(&ns),
                "default",
            );
            p.order = rng.chance(70).then(|| (rng.below(10) * 100) as f64);
            p.selector = sel(&format!("app == \"app-{app}\""));
            let mut r = port_rule(&mut rng, Action::Allow);
            r.source.selector = Some(sel(&format!("app == \"app-{peer}\"")));
            if rng.chance(20) {
                r.source.namespace_selector =
                    Some(sel(&format!("team == \"{}\"", at(&teams, rng.below(5)))));
            }
            p.ingress.push(r);
            if rng.chance(40) {
                let mut r = port_rule(&mut rng, Action::Allow);
                r.source.selector = Some(sel(&format!(
                    "tier in {{\"frontend\", \"backend\"}} && version != \"v{}\"",
                    rng.below(3)
                )));
                p.ingress.push(r);
            }
            if rng.chance(35) {
                p.types.egress = true;
                let mut dns = Rule::new(Action::Allow);
                dns.protocol = Some(Protocol::UDP);
                dns.destination
                    .ports
                    .push(PortSpec::Range(PortRange::single(53)));
                p.egress.push(dns);
                let mut r = port_rule(&mut rng, Action::Allow);
                r.destination.selector = Some(sel(&format!("app == \"app-{peer}\"")));
                p.egress.push(r);
            }
            p
        } else if roll < 95 - gnp {
            // Kubernetes NetworkPolicy, as converted.
            let mut p = policy(
                PolicyKind::KubernetesNetworkPolicy,
                &format!("knp-{i}"),
                Some(&ns),
                "default",
            );
            p.order = Some(1000.0);
            p.selector = sel(&format!(
                "projectcalico.org/orchestrator == \"k8s\" && app == \"app-{app}\""
            ));
            let mut r = port_rule(&mut rng, Action::Allow);
            r.source.selector = Some(sel(&format!(
                "projectcalico.org/orchestrator == \"k8s\" && app == \"app-{peer}\""
            )));
            if rng.chance(30) {
                r.source.namespace_selector = Some(sel(&format!(
                    "kubernetes.io/metadata.name == \"ns-{}\"",
                    rng.below(namespaces)
                )));
            }
            p.ingress.push(r);
            if rng.chance(15) {
                let mut r = Rule::new(Action::Allow);
                r.source
                    .nets
                    .extend("10.0.0.0/8".parse::<ipnet::IpNet>().ok());
                r.source
                    .not_nets
                    .extend("10.96.0.0/12".parse::<ipnet::IpNet>().ok());
                p.ingress.push(r);
            }
            p
        } else if roll < 95 {
            // GlobalNetworkPolicy in a custom tier.
            let tier = at(&TIERS, rng.below(2));
            let mut p = policy(
                PolicyKind::GlobalNetworkPolicy,
                &format!("gnp-{i}"),
                None,
                tier,
            );
            p.order = Some((rng.below(20) * 10) as f64);
            p.selector = sel(&format!("tier == \"{}\"", at(&tiers_of_app, rng.below(3))));
            p.namespace_selector = Some(sel(&if gnp_percent <= 10 {
                format!("team == \"{}\"", at(&teams, rng.below(5)))
            } else if rng.chance(50) {
                format!("env == \"{}\"", at(&envs, rng.below(3)))
            } else {
                "all()".to_owned()
            }));
            p.types = Types {
                ingress: true,
                egress: true,
                inferred: false,
            };
            let mut deny = Rule::new(Action::Deny);
            deny.source.selector = Some(sel("kind == \"partners\""));
            p.ingress.push(deny);
            let mut pass = Rule::new(Action::Pass);
            pass.source.namespace_selector =
                Some(sel(&format!("team == \"{}\"", at(&teams, rng.below(5)))));
            p.ingress.push(pass);
            let mut eg = Rule::new(if rng.chance(50) {
                Action::Pass
            } else {
                Action::Allow
            });
            eg.destination.not_selector = Some(sel("kind == \"public-apis\""));
            p.egress.push(eg);
            p
        } else {
            let mut p = policy(
                PolicyKind::StagedNetworkPolicy,
                &format!("snp-{i}"),
                Some(&ns),
                "default",
            );
            p.order = Some(50.0);
            p.selector = sel(&format!("app == \"app-{app}\""));
            let mut r = port_rule(&mut rng, Action::Allow);
            r.source.selector = Some(sel(&format!("app == \"app-{peer}\"")));
            p.ingress.push(r);
            p
        };
        c.policies.push(p);
    }
    c
}

/// Random flows between the cluster's workloads (and a few outside addresses).
pub fn synthetic_flows(cluster: &Cluster, n: usize, seed: u64) -> Vec<crate::Flow> {
    let mut rng = Rng::new(seed);
    let ips: Vec<IpAddr> = cluster
        .workloads
        .iter()
        .filter_map(|w| w.ips.first().copied())
        .collect();
    let outside = [
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)),
        IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20)),
    ];
    let pick = |rng: &mut Rng| -> IpAddr {
        let k = rng.below(ips.len().max(outside.len()));
        let outside_ip = outside.get(k % outside.len()).copied();
        let inside = ips.get(k % ips.len().max(1)).copied();
        let ip = if rng.chance(5) {
            outside_ip
        } else {
            inside.or(outside_ip)
        };
        ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    };
    (0..n)
        .map(|_| {
            let (s, d) = (pick(&mut rng), pick(&mut rng));
            let port = at(&[53u16, 443, 5432, 8080, 8050, 9090, 22], rng.below(7));
            if rng.chance(10) {
                crate::Flow::udp(s, d, port)
            } else {
                crate::Flow::tcp(s, d, port)
            }
        })
        .collect()
}
