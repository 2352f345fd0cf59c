//! Conversion tests: YAML in, model out, compared with what Calico's converters
//! produce (`conversion_test.go`, `clusternetworkpolicy_test.go`,
//! `adminnetworkpolicy_test.go`). Selectors are compared in canonical form: the
//! expected side is Calico's converter text, parsed and printed by our printer.

use tabby_diag::{Diagnostics, Severity};
use tabby_model::{
    Action, Cluster, EndpointOrigin, Policy, PolicyKind, PortRange, PortSpec, Protocol, Rule,
    StagedAction,
};
use tabby_selector::Selector;

use super::lower_str;

fn canon(s: &str) -> String {
    Selector::parse(s).unwrap().to_string()
}

fn sel(s: &Option<Selector>) -> Option<String> {
    s.as_ref().map(ToString::to_string)
}

fn one_policy(yaml: &str) -> (Policy, Diagnostics) {
    let (c, d) = lower_str(yaml);
    assert_eq!(c.policies.len(), 1, "diagnostics: {d:#?}");
    (c.policies.into_iter().next().unwrap(), d)
}

fn p(n: u16) -> PortSpec {
    PortSpec::Range(PortRange::single(n))
}

fn range(a: u16, b: u16) -> PortSpec {
    PortSpec::Range(PortRange { min: a, max: b })
}

/// Codes and `line:col` of every diagnostic, for rejection tests.
fn codes_at(d: &Diagnostics) -> Vec<(String, &'static str, usize, usize)> {
    d.iter()
        .map(|x| {
            let (l, c) = x.loc.as_ref().map(|l| l.line_col()).unwrap_or((0, 0));
            let sev = match x.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                _ => "note",
            };
            (x.code.to_owned(), sev, l, c)
        })
        .collect()
}

const NP_HEAD: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\n  namespace: prod\nspec:\n";

#[test]
fn network_policy_basic_shape() {
    let (pol, d) = one_policy(&format!(
        "{NP_HEAD}  podSelector:\n    matchLabels:\n      app: web\n      tier: front\n  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          role: client\n    ports:\n    - port: 80\n"
    ));
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(pol.kind, PolicyKind::KubernetesNetworkPolicy);
    assert_eq!(&*pol.name, "np");
    assert_eq!(pol.namespace.as_deref(), Some("prod"));
    assert_eq!(&*pol.tier, "default");
    assert_eq!(pol.order, Some(1000.0));
    assert_eq!(
        pol.selector.to_string(),
        canon("projectcalico.org/orchestrator == 'k8s' && app == 'web' && tier == 'front'")
    );
    assert!(pol.types.ingress && !pol.types.egress && !pol.types.inferred);
    assert_eq!(pol.ingress.len(), 1);
    let r = &pol.ingress[0];
    assert_eq!(r.action, Action::Allow);
    assert_eq!(r.protocol, Some(Protocol::TCP));
    assert_eq!(
        sel(&r.source.selector),
        Some(canon(
            "projectcalico.org/orchestrator == 'k8s' && role == 'client'"
        ))
    );
    assert_eq!(r.source.namespace_selector, None);
    assert_eq!(r.destination.ports, vec![p(80)]);
    assert!(r.destination.selector.is_none());
}

#[test]
fn policy_types_table() {
    // (spec body, ingress, egress, inferred, warning code)
    let cases: &[(&str, bool, bool, bool, Option<&str>)] = &[
        ("  podSelector: {}\n", true, false, true, None),
        (
            "  podSelector: {}\n  egress:\n  - {}\n",
            true,
            true,
            true,
            Some("W0501"),
        ),
        ("  podSelector: {}\n  egress: []\n", true, false, true, None),
        (
            "  podSelector: {}\n  policyTypes: [Egress]\n",
            false,
            true,
            false,
            None,
        ),
        (
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
            true,
            true,
            false,
            None,
        ),
        (
            "  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - {}\n",
            true,
            false,
            false,
            Some("W0506"),
        ),
    ];
    for (body, ing, eg, inferred, warn) in cases {
        let (pol, d) = one_policy(&format!("{NP_HEAD}{body}"));
        assert_eq!(
            (pol.types.ingress, pol.types.egress, pol.types.inferred),
            (*ing, *eg, *inferred),
            "{body}"
        );
        let codes: Vec<&str> = d.iter().map(|x| x.code).collect();
        assert_eq!(codes, warn.iter().copied().collect::<Vec<_>>(), "{body}");
    }
}

#[test]
fn staged_policy_keeps_calico_rule_for_missing_policy_types() {
    let (pol, d) = one_policy(
        "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata:\n  name: s\n  namespace: ns\nspec:\n  stagedAction: Set\n  podSelector: {}\n  egress:\n  - {}\n",
    );
    assert_eq!(pol.kind, PolicyKind::StagedKubernetesNetworkPolicy);
    assert_eq!(pol.staged_action, Some(StagedAction::Set));
    // Calico's API does not default policyTypes: ingress only, egress rules ignored.
    assert!(pol.types.ingress && !pol.types.egress);
    assert_eq!(d.iter().map(|x| x.code).collect::<Vec<_>>(), vec!["W0501"]);
    let (pol, _) = one_policy(
        "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata:\n  name: s\nspec:\n  podSelector: {}\n",
    );
    assert_eq!(pol.staged_action, Some(StagedAction::Set));
    assert_eq!(pol.namespace.as_deref(), Some("default"));
}

#[test]
fn peers_table() {
    // (peer yaml at indent 4, selector, namespaceSelector, nets, notNets)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
        &'a [&'a str],
    );
    let cases: &[Case<'_>] = &[
        ("    - podSelector: {}\n", Some("projectcalico.org/orchestrator == 'k8s'"), None, &[], &[]),
        ("    - namespaceSelector: {}\n", Some("projectcalico.org/orchestrator == 'k8s'"), Some("all()"), &[], &[]),
        (
            "    - namespaceSelector:\n        matchLabels:\n          team: a\n      podSelector:\n        matchExpressions:\n        - {key: app, operator: In, values: [x, y]}\n        - {key: old, operator: DoesNotExist}\n",
            Some("projectcalico.org/orchestrator == 'k8s' && app in { 'x', 'y' } && ! has(old)"),
            Some("team == 'a'"),
            &[],
            &[],
        ),
        (
            "    - namespaceSelector:\n        matchExpressions:\n        - {key: env, operator: NotIn, values: [dev]}\n        - {key: team, operator: Exists}\n",
            Some("projectcalico.org/orchestrator == 'k8s'"),
            Some("env not in { 'dev' } && has(team)"),
            &[],
            &[],
        ),
        (
            "    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [10.1.0.0/16, 10.2.3.0/24]\n",
            None,
            None,
            &["10.0.0.0/8"],
            &["10.1.0.0/16", "10.2.3.0/24"],
        ),
        ("    - ipBlock:\n        cidr: fd00::/64\n", None, None, &["fd00::/64"], &[]),
    ];
    for (peer, s, ns, nets, not_nets) in cases {
        let (pol, d) = one_policy(&format!(
            "{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - from:\n{peer}"
        ));
        assert!(d.is_empty(), "{peer}: {d:#?}");
        assert_eq!(pol.ingress.len(), 1, "{peer}");
        let src = &pol.ingress[0].source;
        assert_eq!(sel(&src.selector), s.map(canon), "{peer}");
        assert_eq!(sel(&src.namespace_selector), ns.map(canon), "{peer}");
        let show = |v: &Vec<ipnet::IpNet>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(show(&src.nets), *nets, "{peer}");
        assert_eq!(show(&src.not_nets), *not_nets, "{peer}");
        assert_eq!(pol.ingress[0].protocol, None, "no ports: any protocol");
    }
}

#[test]
fn rules_multiply_by_protocol_and_peer() {
    let (pol, d) = one_policy(&format!(
        "{NP_HEAD}  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: {{cidr: 10.0.0.0/8}}\n    - podSelector: {{matchLabels: {{app: db}}}}\n    ports:\n    - {{port: 5432}}\n    - {{protocol: UDP, port: 53}}\n    - {{port: 5433}}\n    - {{protocol: SCTP, port: dns, endPort: null}}\n"
    ));
    assert!(d.is_empty(), "{d:#?}");
    // Sorted by protocol name (SCTP, TCP, UDP) then peers in order; egress: all in destination.
    let got: Vec<(Option<Protocol>, Vec<PortSpec>, usize, bool)> = pol
        .egress
        .iter()
        .map(|r| {
            (
                r.protocol,
                r.destination.ports.clone(),
                r.destination.nets.len(),
                r.destination.selector.is_some(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Some(Protocol::SCTP),
                vec![PortSpec::Named("dns".into())],
                1,
                false
            ),
            (
                Some(Protocol::SCTP),
                vec![PortSpec::Named("dns".into())],
                0,
                true
            ),
            (Some(Protocol::TCP), vec![range(5432, 5433)], 1, false),
            (Some(Protocol::TCP), vec![range(5432, 5433)], 0, true),
            (Some(Protocol::UDP), vec![p(53)], 1, false),
            (Some(Protocol::UDP), vec![p(53)], 0, true),
        ]
    );
    assert!(pol.egress.iter().all(|r| r.source.is_empty()));
}

#[test]
fn ports_table() {
    // (ports yaml at indent 4, expected (protocol, ports) per rule)
    type Case<'a> = (&'a str, Vec<(Option<Protocol>, Vec<PortSpec>)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "    - port: 80\n      endPort: 90\n",
            vec![(Some(Protocol::TCP), vec![range(80, 90)])],
        ),
        ("    - protocol: UDP\n", vec![(Some(Protocol::UDP), vec![])]),
        ("    - {}\n", vec![(Some(Protocol::TCP), vec![])]),
        (
            "    - port: 80\n    - protocol: TCP\n",
            vec![(Some(Protocol::TCP), vec![])],
        ),
        (
            "    - port: http\n    - port: 81\n    - port: 80\n",
            vec![(
                Some(Protocol::TCP),
                vec![PortSpec::Named("http".into()), range(80, 81)],
            )],
        ),
        (
            "    - port: 80\n    - port: http\n",
            vec![(
                Some(Protocol::TCP),
                vec![p(80), PortSpec::Named("http".into())],
            )],
        ),
        (
            "    - port: 1\n      endPort: 65535\n    - port: 443\n",
            vec![(Some(Protocol::TCP), vec![range(1, 65535)])],
        ),
    ];
    for (ports, want) in cases {
        let (pol, d) = one_policy(&format!(
            "{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - ports:\n{ports}"
        ));
        assert!(d.is_empty(), "{ports}: {d:#?}");
        let got: Vec<_> = pol
            .ingress
            .iter()
            .map(|r| (r.protocol, r.destination.ports.clone()))
            .collect();
        assert_eq!(got, want, "{ports}");
    }
}

#[test]
fn empty_rules_allow_everything() {
    let (pol, _) = one_policy(&format!(
        "{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - {{}}\n  - from: []\n"
    ));
    assert_eq!(
        pol.ingress,
        vec![allow_all(&pol.ingress[0]), allow_all(&pol.ingress[1])]
    );
    let (pol, _) = one_policy(&format!("{NP_HEAD}  podSelector: {{}}\n  ingress: []\n"));
    assert!(
        pol.ingress.is_empty() && pol.types.ingress,
        "deny-all ingress"
    );
}

fn allow_all(r: &Rule) -> Rule {
    let mut want = Rule::new(Action::Allow);
    want.loc = r.loc.clone();
    want
}

#[test]
fn network_policy_rejections_with_positions() {
    // (spec body, expected (code, line, col)); line 7 is the first spec line.
    type Case<'a> = (&'a str, &'a [(&'a str, usize, usize)]);
    let cases: &[Case<'_>] = &[
        ("  podSelector:\n    matchExpressions:\n    - {key: a, operator: Equals, values: [x]}\n", &[("E0501", 9, 26)]),
        ("  podSelector:\n    matchExpressions:\n    - {key: a, operator: In}\n", &[("E0501", 9, 7)]),
        ("  podSelector:\n    matchExpressions:\n    - {key: a, operator: Exists, values: [x]}\n", &[("E0501", 9, 42)]),
        ("  podSelector:\n    matchLabels:\n      app: 'bad value'\n", &[("E0501", 9, 12)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 0\n", &[("E0506", 10, 13)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n", &[("E0506", 10, 13)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - port: '80'\n", &[("E0506", 10, 13)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - protocol: tcp\n", &[("E0507", 10, 17)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - port: 90\n      endPort: 80\n", &[("E0508", 11, 16)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - port: http\n      endPort: 80\n", &[("E0508", 11, 16)]),
        ("  podSelector: {}\n  ingress:\n  - ports:\n    - endPort: 80\n", &[("E0508", 10, 16)]),
        ("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n", &[("E0503", 10, 7)]),
        (
            "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8}\n      podSelector: {}\n",
            &[("E0503", 11, 7)],
        ),
        ("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n", &[("E0504", 10, 23)]),
        ("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1}\n", &[("E0504", 10, 23)]),
        (
            "  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock:\n        cidr: 10.0.0.0/8\n        except: [11.0.0.0/16, 10.0.0.0/8]\n",
            &[("E0505", 12, 18), ("E0505", 12, 31)],
        ),
        ("  podSelector: {}\n  policyTypes: [Ingres]\n", &[("E0502", 8, 17)]),
    ];
    let mut failures = Vec::new();
    for (body, want) in cases {
        let (c, d) = lower_str(&format!("{NP_HEAD}{body}"));
        assert!(
            c.policies.is_empty(),
            "{body}: rejected objects are left out"
        );
        let got: Vec<(String, usize, usize)> = codes_at(&d)
            .into_iter()
            .filter(|x| x.1 == "error")
            .map(|(code, _, l, col)| (code, l, col))
            .collect();
        let want: Vec<(String, usize, usize)> = want
            .iter()
            .map(|(c, l, col)| ((*c).to_owned(), *l, *col))
            .collect();
        if got != want {
            failures.push(format!("{body}\n  got {got:?}\n want {want:?}\n {d:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_messages_read_well() {
    let (_, d) = lower_str(&format!(
        "{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - ports:\n    - protocol: tcp\n"
    ));
    let e = d.iter().next().unwrap();
    assert_eq!(
        e.message,
        "spec.ingress[0].ports[0].protocol: unsupported protocol `tcp`"
    );
    assert!(
        e.help
            .as_deref()
            .unwrap()
            .starts_with("did you mean `TCP`?"),
        "{:?}",
        e.help
    );
}

#[test]
fn ip_block_host_bits_warn_and_mask() {
    let (pol, d) = one_policy(&format!("{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - from:\n    - ipBlock: {{cidr: 10.1.2.3/8}}\n"));
    assert_eq!(pol.ingress[0].source.nets[0].to_string(), "10.0.0.0/8");
    assert_eq!(codes_at(&d), vec![("W0502".to_owned(), "warning", 10, 23)]);
}

const CNP_HEAD: &str = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: cnp\nspec:\n";

#[test]
fn cluster_network_policy_admin_tier() {
    let (pol, d) = one_policy(&format!(
        "{CNP_HEAD}  tier: Admin\n  priority: 100\n  subject:\n    namespaces:\n      matchLabels: {{label: value, label2: value2}}\n  ingress:\n  - name: The first ingress rule\n    action: Accept\n    from:\n    - namespaces:\n        matchLabels: {{k: v, k2: v2}}\n    protocols:\n    - tcp:\n        destinationPort:\n          number: 80\n"
    ));
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(pol.kind, PolicyKind::KubernetesClusterNetworkPolicy);
    assert_eq!(&*pol.tier, "kube-admin");
    assert_eq!(pol.order, Some(100.0));
    assert_eq!(pol.namespace, None);
    assert_eq!(
        sel(&pol.namespace_selector),
        Some(canon("label == 'value' && label2 == 'value2'"))
    );
    assert_eq!(
        pol.selector.to_string(),
        canon("projectcalico.org/orchestrator == 'k8s'")
    );
    assert!(pol.types.ingress && !pol.types.egress);
    assert_eq!(pol.ingress.len(), 1);
    let r = &pol.ingress[0];
    assert_eq!(r.action, Action::Allow);
    assert_eq!(r.protocol, Some(Protocol::TCP));
    assert_eq!(
        sel(&r.source.namespace_selector),
        Some(canon("k == 'v' && k2 == 'v2'"))
    );
    assert_eq!(r.source.selector, None);
    assert_eq!(r.destination.ports, vec![p(80)]);
    assert_eq!(
        r.annotations.get("name").map(|s| &**s),
        Some("The first ingress rule")
    );
}

#[test]
fn cluster_network_policy_baseline_pods_and_networks() {
    let (pol, d) = one_policy(&format!(
        "{CNP_HEAD}  tier: Baseline\n  priority: 10\n  subject:\n    pods:\n      namespaceSelector: {{}}\n      podSelector:\n        matchLabels: {{foo: bar}}\n  egress:\n  - action: Deny\n    to:\n    - pods:\n        namespaceSelector: {{matchLabels: {{a: b}}}}\n        podSelector: {{}}\n    - networks: [10.10.10.0/24, 1.1.1.1/32]\n    protocols:\n    - udp: {{}}\n    - tcp:\n        destinationPort:\n          range: {{start: 2000, end: 3000}}\n    - tcp:\n        destinationPort: {{number: 80}}\n"
    ));
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(&*pol.tier, "kube-baseline");
    assert_eq!(pol.order, Some(10.0));
    assert_eq!(sel(&pol.namespace_selector), Some(canon("all()")));
    assert_eq!(
        pol.selector.to_string(),
        canon("projectcalico.org/orchestrator == 'k8s' && foo == 'bar'")
    );
    assert!(!pol.types.ingress && pol.types.egress);
    let got: Vec<_> = pol
        .egress
        .iter()
        .map(|r| {
            (
                r.action,
                r.protocol,
                r.destination.ports.clone(),
                sel(&r.destination.namespace_selector),
                r.destination.nets.len(),
            )
        })
        .collect();
    let tcp = vec![p(80), range(2000, 3000)];
    assert_eq!(
        got,
        vec![
            (
                Action::Deny,
                Some(Protocol::TCP),
                tcp.clone(),
                Some(canon("a == 'b'")),
                0
            ),
            (Action::Deny, Some(Protocol::TCP), tcp, None, 2),
            (
                Action::Deny,
                Some(Protocol::UDP),
                vec![],
                Some(canon("a == 'b'")),
                0
            ),
            (Action::Deny, Some(Protocol::UDP), vec![], None, 2),
        ]
    );
    assert_eq!(
        sel(&pol.egress[0].destination.selector),
        Some(canon("projectcalico.org/orchestrator == 'k8s'"))
    );
}

#[test]
fn cluster_network_policy_fails_closed() {
    let (pol, d) = one_policy(&format!(
        "{CNP_HEAD}  tier: Admin\n  priority: 5\n  subject:\n    namespaces: {{}}\n  ingress:\n  - name: named-pass\n    action: Pass\n    from: [{{namespaces: {{}}}}]\n    protocols: [{{destinationNamedPort: http}}]\n  - name: named-accept\n    action: Accept\n    from: [{{namespaces: {{}}}}]\n    protocols: [{{destinationNamedPort: http}}]\n  egress:\n  - name: fqdn\n    action: Deny\n    to: [{{domainNames: [example.com]}}]\n  - name: ok\n    action: Pass\n    to: [{{namespaces: {{}}}}]\n"
    ));
    // Pass → deny-all, Accept → dropped, Deny → deny-all; the good rule survives.
    let deny_all = |r: &Rule| {
        r.action == Action::Deny
            && r.source.is_empty()
            && r.destination.is_empty()
            && r.protocol.is_none()
            && r.annotations.is_empty()
    };
    assert_eq!(pol.ingress.len(), 1);
    assert!(deny_all(&pol.ingress[0]));
    assert_eq!(pol.egress.len(), 2);
    assert!(deny_all(&pol.egress[0]));
    assert_eq!(pol.egress[1].action, Action::Pass);
    assert_eq!(
        codes_at(&d)
            .iter()
            .map(|x| (x.0.as_str(), x.1))
            .collect::<Vec<_>>(),
        vec![("W0503", "warning"); 3]
    );
}

#[test]
fn legacy_admin_network_policies() {
    let yaml = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: anp\nspec:\n  priority: 600\n  subject:\n    pods:\n      podSelector: {matchLabels: {label: value}}\n  ingress:\n  - name: r1\n    action: Allow\n    from: [{namespaces: {}}]\n    ports:\n    - portNumber: {port: 80}\n    - portRange: {protocol: UDP, start: 20, end: 40}\n  - action: Pass\n    from: [{namespaces: {}}]\n    ports: [{namedPort: http}]\n  egress:\n  - action: Deny\n    to: [{nodes: {matchLabels: {a: b}}}]\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n  subject:\n    namespaces: {}\n  egress:\n  - action: Deny\n    to: [{networks: [0.0.0.0/0]}]\n";
    let (c, d) = lower_str(yaml);
    assert!(!d.has_errors(), "{d:#?}");
    let anp = &c.policies[0];
    assert_eq!(anp.kind, PolicyKind::KubernetesAdminNetworkPolicy);
    assert_eq!(&*anp.tier, "adminnetworkpolicy");
    assert_eq!(anp.order, Some(600.0));
    assert_eq!(sel(&anp.namespace_selector), Some(canon("all()")));
    assert_eq!(
        anp.selector.to_string(),
        canon("projectcalico.org/orchestrator == 'k8s' && label == 'value'")
    );
    // r1: TCP then UDP; the Pass rule with a named port is dropped (legacy: only Deny fails closed).
    let got: Vec<_> = anp
        .ingress
        .iter()
        .map(|r| (r.action, r.protocol, r.destination.ports.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Action::Allow, Some(Protocol::TCP), vec![p(80)]),
            (Action::Allow, Some(Protocol::UDP), vec![range(20, 40)])
        ]
    );
    assert_eq!(
        anp.egress.len(),
        1,
        "the Deny rule with a nodes peer fails closed"
    );
    assert_eq!(anp.egress[0].action, Action::Deny);
    let banp = &c.policies[1];
    assert_eq!(banp.kind, PolicyKind::KubernetesBaselineAdminNetworkPolicy);
    assert_eq!(&*banp.tier, "baselineadminnetworkpolicy");
    assert_eq!(banp.egress[0].destination.nets[0].to_string(), "0.0.0.0/0");
    // Legacy tiers exist.
    let t = c.tier("adminnetworkpolicy").unwrap();
    assert_eq!(
        (t.order, t.declared, t.default_action),
        (Some(1000.0), false, tabby_model::TierDefaultAction::Pass)
    );
    let t = c.tier("baselineadminnetworkpolicy").unwrap();
    assert_eq!((t.order, t.declared), (Some(10_000_000.0), false));
}

#[test]
fn cluster_policy_rejections() {
    let cases: &[(&str, &str, (usize, usize))] = &[
        ("  tier: Admn\n  priority: 1\n  subject: {namespaces: {}}\n", "E0510", (6, 9)),
        ("  tier: Admin\n  priority: 1001\n  subject: {namespaces: {}}\n", "E0510", (7, 13)),
        ("  tier: Admin\n  priority: 1\n  subject: {}\n", "E0511", (8, 12)),
        ("  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]\n", "E0512", (10, 13)),
        ("  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{}]\n", "E0513", (11, 12)),
        ("  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{networks: [10.0.0.1/8]}]\n", "E0515", (11, 22)),
        (
            "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{namespaces: {}}]\n    protocols: [{tcp: {destinationPort: {number: 0}}}]\n",
            "E0514",
            (12, 50),
        ),
    ];
    for (body, code, pos) in cases {
        let (c, d) = lower_str(&format!("{CNP_HEAD}{body}"));
        assert!(c.policies.is_empty(), "{body}");
        let errs: Vec<_> = codes_at(&d)
            .into_iter()
            .filter(|x| x.1 == "error")
            .collect();
        assert_eq!(
            errs,
            vec![((*code).to_owned(), "error", pos.0, pos.1)],
            "{body}"
        );
    }
    let (c, d) = lower_str("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: other\nspec:\n  subject: {namespaces: {}}\n");
    assert!(c.policies.is_empty());
    assert_eq!(codes_at(&d), vec![("E0516".to_owned(), "error", 4, 9)]);
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-7d9f-abcde\n  namespace: shop\n  labels: {app: web, pod-template-hash: 7d9f}\n  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f, controller: true}\nspec:\n  nodeName: node-1\n  containers:\n  - name: c\n    ports:\n    - {name: http, containerPort: 8080}\n    - {name: metrics, containerPort: 9090, protocol: TCP}\n    - {containerPort: 7000, protocol: UDP}\n    readinessProbe:\n      httpGet: {path: /, port: http}\n    livenessProbe:\n      tcpSocket: {port: 8081}\n    startupProbe:\n      exec: {command: [true]}\nstatus:\n  phase: Running\n  podIP: 10.0.0.5\n  podIPs: [{ip: 10.0.0.5}, {ip: 'fd00::5'}]\n";

#[test]
fn pod_workload() {
    let (c, d) = lower_str(POD);
    assert!(d.is_empty(), "{d:#?}");
    let w = &c.workloads[0];
    assert_eq!((&*w.namespace, &*w.name), ("shop", "web-7d9f-abcde"));
    assert_eq!(w.origin, EndpointOrigin::Pod);
    assert_eq!(w.service_account.as_deref(), Some("default"));
    assert_eq!(
        w.ips,
        vec![
            "10.0.0.5".parse::<std::net::IpAddr>().unwrap(),
            "fd00::5".parse().unwrap()
        ]
    );
    assert_eq!(w.node.as_deref(), Some("node-1"));
    assert!(!w.host_network && w.automount_token);
    assert_eq!(w.orchestrator.as_ref(), "k8s");
    let ports: Vec<_> = w
        .ports
        .iter()
        .map(|p| (p.name.to_string(), p.protocol, p.port))
        .collect();
    assert_eq!(
        ports,
        vec![
            ("http".into(), Protocol::TCP, 8080),
            ("metrics".into(), Protocol::TCP, 9090)
        ]
    );
    let probes: Vec<_> = w
        .probes
        .iter()
        .map(|p| (p.kind.to_string(), p.port))
        .collect();
    assert_eq!(
        probes,
        vec![("liveness".into(), 8081), ("readiness".into(), 8080)]
    );
}

#[test]
fn pod_details_table() {
    let base = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n";
    // Service account, token, host network, probe with an unknown named port.
    let (c, d) = lower_str(&format!(
        "{base}  serviceAccountName: api\n  automountServiceAccountToken: false\n  hostNetwork: true\n  containers:\n  - name: c\n    readinessProbe:\n      grpc: {{port: 9000}}\n    livenessProbe:\n      httpGet: {{port: nope}}\nstatus:\n  podIP: 192.168.1.4\n"
    ));
    let w = &c.workloads[0];
    assert_eq!(w.service_account.as_deref(), Some("api"));
    assert!(!w.automount_token && w.host_network);
    assert_eq!(w.namespace.as_ref(), "default");
    assert_eq!(w.probes.len(), 1);
    assert_eq!(codes_at(&d), vec![("W0504".to_owned(), "warning", 14, 23)]);
    // Finished pods are not endpoints.
    for phase in ["Succeeded", "Failed"] {
        let (c, d) = lower_str(&format!(
            "{base}  containers: []\nstatus:\n  phase: {phase}\n"
        ));
        assert!(c.workloads.is_empty());
        assert_eq!(d.iter().map(|x| x.code).collect::<Vec<_>>(), vec!["N0501"]);
    }
    // Calico's IP annotation when the status has none.
    let (c, _) = lower_str(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {cni.projectcalico.org/podIPs: '10.1.0.7/32,fd00::7/128'}\nspec: {containers: []}\n",
    );
    assert_eq!(c.workloads[0].ips.len(), 2);
    // A bad container port is an error.
    let (c, d) = lower_str(&format!(
        "{base}  containers:\n  - name: c\n    ports: [{{containerPort: 0}}]\n"
    ));
    assert!(c.workloads.is_empty());
    assert_eq!(codes_at(&d), vec![("E0520".to_owned(), "error", 8, 29)]);
}

#[test]
fn controller_workloads_table() {
    let tpl = "    metadata:\n      labels: {app: x}\n    spec:\n      serviceAccountName: sa\n      containers:\n      - name: c\n        ports: [{name: web, containerPort: 80}]\n";
    let indent = |s: &str, n: usize| {
        s.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect::<String>()
    };
    let cases: Vec<(String, &str, Option<u32>)> = vec![
        (format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: n}}\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n{tpl}"), "Deployment", Some(3)),
        (format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: d, namespace: n}}\nspec:\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n{tpl}"), "StatefulSet", Some(1)),
        (format!("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: d, namespace: n}}\nspec:\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n{tpl}"), "DaemonSet", None),
        (format!("apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {{name: d, namespace: n}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: x}}}}\n  template:\n{tpl}"), "ReplicaSet", Some(2)),
        (format!("apiVersion: batch/v1\nkind: Job\nmetadata: {{name: d, namespace: n}}\nspec:\n  parallelism: 4\n  template:\n{tpl}"), "Job", Some(4)),
        (
            format!("apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: d, namespace: n}}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n{}", indent(tpl, 4)),
            "CronJob",
            None,
        ),
    ];
    for (yaml, kind, replicas) in cases {
        let (c, d) = lower_str(&yaml);
        assert!(d.is_empty(), "{kind}: {d:#?}");
        assert_eq!(c.workloads.len(), 1, "{kind}");
        let w = &c.workloads[0];
        assert_eq!(
            w.origin,
            EndpointOrigin::Template {
                kind: kind.into(),
                name: "d".into(),
                replicas
            },
            "{kind}"
        );
        assert_eq!((&*w.namespace, &*w.name), ("n", "d"));
        assert_eq!(w.labels.get("app").map(|s| &**s), Some("x"), "{kind}");
        assert_eq!(w.service_account.as_deref(), Some("sa"));
        assert!(w.ips.is_empty());
        assert_eq!(w.ports.len(), 1, "{kind}");
    }
}

#[test]
fn kubectl_get_all_dump_keeps_pods_only() {
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: []}\n";
    let rs = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-7d9f\n  namespace: shop\n  ownerReferences: [{kind: Deployment, name: web}]\nspec:\n  selector: {matchLabels: {app: web, pod-template-hash: 7d9f}}\n  template:\n    metadata: {labels: {app: web, pod-template-hash: 7d9f}}\n    spec: {containers: []}\n";
    let other = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec: {containers: []}\n";
    let orphan_pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: hand, namespace: shop, labels: {app: db}}\nspec: {containers: []}\n";
    let db = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: []}\n";
    let yaml = [deploy, rs, POD, other, orphan_pod, db].join("---\n");
    let (c, d) = lower_str(&yaml);
    let names: Vec<(String, bool)> = c
        .workloads
        .iter()
        .map(|w| {
            (
                w.name.to_string(),
                matches!(w.origin, EndpointOrigin::Template { .. }),
            )
        })
        .collect();
    // web: replaced by its pod (owner chain); web-7d9f: owned by a present Deployment;
    // db: its selector matches a pod without owner references; api: no pods, kept.
    assert_eq!(
        names,
        vec![
            ("web-7d9f-abcde".into(), false),
            ("api".into(), true),
            ("hand".into(), false)
        ]
    );
    assert_eq!(d.iter().filter(|x| x.code == "N0502").count(), 3);
}

#[test]
fn namespaces_service_accounts_services() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {team: a, kubernetes.io/metadata.name: wrong}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: shop, labels: {role: x}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  clusterIP: 10.96.0.10\n  clusterIPs: [10.96.0.10, 'fd00::10']\n  ports:\n  - {name: http, port: 80, targetPort: http}\n  - {port: 53, protocol: UDP, targetPort: 5353}\n  - {port: 443}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: ext, namespace: shop}\nspec:\n  clusterIP: None\n  ports: [{port: 1}]\n";
    let (c, d): (Cluster, _) = lower_str(yaml);
    assert!(d.is_empty(), "{d:#?}");
    let ns = c.namespace("shop").unwrap();
    assert_eq!(
        ns.labels.get("kubernetes.io/metadata.name").map(|s| &**s),
        Some("shop")
    );
    assert_eq!(ns.labels.get("team").map(|s| &**s), Some("a"));
    assert_eq!(
        c.service_accounts[0].labels.get("role").map(|s| &**s),
        Some("x")
    );
    let svc = &c.services[0];
    assert_eq!(
        svc.selector
            .as_ref()
            .and_then(|s| s.get("app"))
            .map(|s| &**s),
        Some("web")
    );
    assert_eq!(svc.cluster_ips.len(), 2);
    let ports: Vec<_> = svc
        .ports
        .iter()
        .map(|p| {
            (
                p.name.as_deref().map(str::to_owned),
                p.protocol,
                p.port,
                p.target_port.clone(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            (
                Some("http".into()),
                Protocol::TCP,
                80,
                Some(PortSpec::Named("http".into()))
            ),
            (None, Protocol::UDP, 53, Some(p(5353))),
            (None, Protocol::TCP, 443, None),
        ]
    );
    let ext = &c.services[1];
    assert!(ext.selector.is_none() && ext.cluster_ips.is_empty());
}

/// The literal canonical text, as Calico's `Selector.String()` prints the converter's output.
#[test]
fn canonical_selector_text() {
    let (pol, _) = one_policy(&format!(
        "{NP_HEAD}  podSelector:\n    matchLabels: {{app: web}}\n    matchExpressions: [{{key: k, operator: In, values: [b, a]}}, {{key: z, operator: DoesNotExist}}]\n"
    ));
    assert_eq!(
        pol.selector.to_string(),
        r#"(projectcalico.org/orchestrator == "k8s" && app == "web" && k in {"a", "b"} && !has(z))"#
    );
    let (pol, _) = one_policy(&format!("{NP_HEAD}  podSelector: {{}}\n"));
    assert_eq!(
        pol.selector.to_string(),
        r#"projectcalico.org/orchestrator == "k8s""#
    );
}

#[test]
fn metadata_is_checked() {
    let cases: &[(&str, &str, (usize, usize))] = &[
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\nspec: {containers: []}\n", "E0204", (4, 9)),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", "E0204", (4, 9)),
        ("apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\n", "E0204", (4, 9)),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: 'a b'}\nspec: {containers: []}\n", "E0205", (5, 17)),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {'a b': x}\nspec: {containers: []}\n", "E0205", (5, 12)),
        (NP_NO_NAME, "E0204", (3, 11)),
    ];
    for (yaml, code, pos) in cases {
        let (c, d) = lower_str(yaml);
        assert!(
            c.workloads.is_empty()
                && c.namespaces.is_empty()
                && c.services.is_empty()
                && c.policies.is_empty(),
            "{yaml}"
        );
        assert_eq!(
            codes_at(&d),
            vec![((*code).to_owned(), "error", pos.0, pos.1)],
            "{yaml}"
        );
    }
}

const NP_NO_NAME: &str =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {}\nspec: {}\n";

#[test]
fn service_account_turns_token_off_unless_pod_says_otherwise() {
    let yaml = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: a}\nautomountServiceAccountToken: false\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: a}\nspec: {serviceAccountName: quiet, containers: []}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p2, namespace: a}\nspec: {serviceAccountName: quiet, automountServiceAccountToken: true, containers: []}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p3, namespace: a}\nspec: {containers: []}\n";
    let (c, d) = lower_str(yaml);
    assert!(d.is_empty(), "{d:#?}");
    let tokens: Vec<(&str, bool)> = c
        .workloads
        .iter()
        .map(|w| (&*w.name, w.automount_token))
        .collect();
    assert_eq!(tokens, vec![("p1", false), ("p2", true), ("p3", true)]);
}

#[test]
fn canonical_cidrs_do_not_warn() {
    let (pol, d) = one_policy(&format!("{NP_HEAD}  podSelector: {{}}\n  ingress:\n  - from:\n    - ipBlock: {{cidr: 'FD00:0::/64'}}\n"));
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(pol.ingress[0].source.nets[0].to_string(), "fd00::/64");
}

#[test]
fn codes_are_unique_and_documented() {
    let doc = include_str!("../../../../docs/diagnostics-k8s.md");
    let mut seen = std::collections::BTreeSet::new();
    for (code, summary) in super::codes::ALL {
        assert!(seen.insert(*code), "{code} listed twice");
        assert!(
            doc.contains(&format!("### {code}: {summary}")),
            "{code}: `### {code}: {summary}` in the docs"
        );
    }
}
