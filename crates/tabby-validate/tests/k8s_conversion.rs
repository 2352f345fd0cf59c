//! Kubernetes kinds through the public `validate()`: whole fixtures (a `kubectl get
//! all` dump, admin policies) and rejections with their positions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code reports failures by panicking"
)]

mod common;

use common::{check, table, Want};
use tabby_model::{Action, EndpointOrigin, PolicyKind, Protocol};
use tabby_selector::Selector;

fn canon(s: &str) -> String {
    Selector::parse(s).unwrap().to_string()
}

#[test]
fn kubectl_get_all_dump() {
    let yaml = include_str!("k8s/get-all-dump.yaml");
    let v = common::run(yaml);
    assert!(!v.diagnostics.has_errors(), "{:?}", v.diagnostics);
    let c = &v.cluster;
    // Pods stand for the Deployment and its ReplicaSet; the finished job pod is no
    // endpoint, so the Job's template stays.
    let workloads: Vec<(&str, bool)> = c
        .workloads
        .iter()
        .map(|w| {
            (
                &*w.name,
                matches!(w.origin, EndpointOrigin::Template { .. }),
            )
        })
        .collect();
    assert_eq!(
        workloads,
        vec![
            ("web-5f7c-a1", false),
            ("web-5f7c-b2", false),
            ("migrate", true)
        ]
    );
    assert_eq!(
        c.workloads[0].ips,
        vec!["10.244.1.10".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(c.workloads[0].ports[0].port, 8080);
    let ns = c.namespace("shop").unwrap();
    assert_eq!(
        ns.labels.get("kubernetes.io/metadata.name").map(|s| &**s),
        Some("shop")
    );
    assert_eq!(c.services.len(), 1);
    let pol = &c.policies[0];
    assert_eq!(
        (pol.kind, &*pol.tier, pol.order),
        (PolicyKind::KubernetesNetworkPolicy, "default", Some(1000.0))
    );
    assert_eq!(
        pol.selector.to_string(),
        canon("projectcalico.org/orchestrator == 'k8s' && app == 'web'")
    );
    let r = &pol.ingress[0];
    assert_eq!(r.protocol, Some(Protocol::TCP));
    assert_eq!(
        r.source
            .namespace_selector
            .as_ref()
            .map(ToString::to_string),
        Some(canon("kubernetes.io/metadata.name == 'ingress'"))
    );
    assert_eq!(r.destination.ports[0].to_string(), "http");
    for tier in ["default", "kube-admin", "kube-baseline"] {
        assert!(c.tier(tier).is_some(), "built-in tier {tier}");
    }
}

#[test]
fn admin_policies_and_their_tiers() {
    let v = common::run(include_str!("k8s/admin-policies.yaml"));
    assert!(!v.diagnostics.has_errors(), "{:?}", v.diagnostics);
    let c = &v.cluster;
    let shapes: Vec<(PolicyKind, &str, Option<f64>, bool, bool)> = c
        .policies
        .iter()
        .map(|p| (p.kind, &*p.tier, p.order, p.types.ingress, p.types.egress))
        .collect();
    assert_eq!(
        shapes,
        vec![
            (
                PolicyKind::KubernetesClusterNetworkPolicy,
                "kube-admin",
                Some(10.0),
                false,
                true
            ),
            (
                PolicyKind::KubernetesClusterNetworkPolicy,
                "kube-baseline",
                Some(100.0),
                true,
                false
            ),
            (
                PolicyKind::KubernetesAdminNetworkPolicy,
                "adminnetworkpolicy",
                Some(20.0),
                true,
                false
            ),
            (
                PolicyKind::KubernetesBaselineAdminNetworkPolicy,
                "baselineadminnetworkpolicy",
                Some(1000.0),
                true,
                false
            ),
        ]
    );
    let dns = &c.policies[0];
    // One rule per protocol (TCP before UDP), each with the rule name as annotation.
    let rules: Vec<(Action, Option<Protocol>, Option<&str>)> = dns
        .egress
        .iter()
        .map(|r| {
            (
                r.action,
                r.protocol,
                r.annotations.get("name").map(|s| &**s),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (Action::Allow, Some(Protocol::TCP), Some("dns")),
            (Action::Allow, Some(Protocol::UDP), Some("dns"))
        ]
    );
    assert_eq!(
        dns.egress[0]
            .destination
            .selector
            .as_ref()
            .map(ToString::to_string),
        Some(canon(
            "projectcalico.org/orchestrator == 'k8s' && k8s-app == 'kube-dns'"
        ))
    );
    assert_eq!(
        c.policies[1]
            .namespace_selector
            .as_ref()
            .map(ToString::to_string),
        Some(canon(
            "kubernetes.io/metadata.name not in { 'kube-system' }"
        ))
    );
    let anp = c.tier("adminnetworkpolicy").unwrap();
    assert_eq!((anp.order, anp.declared), (Some(1000.0), false));
    let banp = c.tier("baselineadminnetworkpolicy").unwrap();
    assert_eq!((banp.order, banp.declared), (Some(10_000_000.0), false));
}

fn knp(spec: &str) -> String {
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: ns\nspec:\n{spec}")
}

#[test]
fn rejections_point_at_the_value() {
    let cases: Vec<(&str, String, &[Want])> = vec![
        (
            "unknown operator",
            knp("  podSelector:\n    matchExpressions:\n    - {key: a, operator: Equals, values: [x]}\n"),
            &[("E0501", "operator: »Equals", "unknown operator `Equals`")],
        ),
        (
            "port out of range",
            knp("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 65536\n"),
            &[("E0506", "port: »65536", "out of range")],
        ),
        (
            "lowercase protocol",
            knp("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: sctp\n"),
            &[("E0507", "protocol: »sctp", "did you mean `SCTP`?")],
        ),
        (
            "endPort below port",
            knp("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 100\n      endPort: 99\n"),
            &[("E0508", "endPort: »99", "below `port`")],
        ),
        (
            "except outside cidr",
            knp("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 192.168.0.0/16\n        except: [10.0.0.0/24]\n"),
            &[("E0505", "except: [»10.0.0.0/24", "strict subset")],
        ),
        (
            "egress without policyTypes",
            knp("  podSelector: {}\n  egress:\n  - {}\n"),
            &[("W0501", "»egress:", "policyTypes: [Ingress, Egress]")],
        ),
        (
            "unknown field",
            knp("  podSelector: {}\n  ingres: []\n"),
            &[("E0015", "»ingres", "did you mean `ingress`?")],
        ),
    ];
    table(&cases);
}

#[test]
fn rejected_objects_are_left_out() {
    let v = check(
        "bad port",
        &knp("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n"),
        &[("E0506", "port: »0", "port 0 is out of range")],
    );
    assert!(v.cluster.policies.is_empty());
}
