//! One scenario per semantics point of eval-design.md's checklist
//! (calico-semantics.md §§2–7). Each builds a tiny cluster with the builders in
//! `common` and checks decide() (and, through `check`, that trace() agrees).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed assumption should fail the test"
)]

mod common;

use common::*;
use tabby_eval::{Flow, SideVerdict, View};
use tabby_model::{
    Action, Direction, IcmpMatch, IpVersion, PolicyKind, PortRange, PortSpec, Protocol, Service,
    ServiceAccount, ServiceAccountMatch, ServiceMatch, ServicePort, StagedAction,
    TierDefaultAction,
};

const A: &str = "10.0.0.1";
const B: &str = "10.0.0.2";
const C: &str = "10.0.0.3";
const EXT: &str = "8.8.8.8";

/// ns `app` with pods a (app=a), b (app=b); ns `other` with c (app=c).
fn base() -> tabby_model::Cluster {
    let mut c = cluster();
    c.namespaces.push(mk_ns("app", &[("team", "x")]));
    c.namespaces.push(mk_ns("other", &[("team", "y")]));
    c.workloads.push(mk_pod("app", "a", &[("app", "a")], A));
    c.workloads.push(mk_pod("app", "b", &[("app", "b")], B));
    c.workloads.push(mk_pod("other", "c", &[("app", "c")], C));
    c
}

fn t(src: &str, dst: &str, port: u16) -> Flow {
    Flow::tcp(ip(src), ip(dst), port)
}

#[test]
fn no_policy_means_kns_profile_allows() {
    let e = engine(&base());
    let d = check(&e, &t(A, B, 80));
    assert!(d.allowed);
    assert!(matches!(d.ingress, SideVerdict::Profile { .. }));
    assert!(matches!(d.egress, SideVerdict::Profile { .. }));
    // A non-Calico side is not checked.
    let d = check(&e, &t(EXT, A, 80));
    assert_eq!(d.egress, SideVerdict::NotCalico);
    assert!(d.allowed);
}

#[test]
fn allow_rule_then_end_of_tier_deny_and_types() {
    let mut c = base();
    c.policies.push(with_ingress(
        mk_np("app", "allow-80", "app == 'b'"),
        vec![from_sel(tcp(Action::Allow, 80), "app == 'a'")],
    ));
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 80)));
    let d = check(&e, &t(A, B, 81));
    assert!(!d.allowed);
    assert!(matches!(d.ingress, SideVerdict::EndOfTier { .. }));
    // Selector in a namespaced policy is limited to the policy's namespace: c (other ns, app=c) never matches,
    // and a pod in another namespace with app=a would not either.
    assert!(!allowed(&e, &t(C, B, 80)));
    // Ingress-only policy: B's egress is untouched.
    assert!(allowed(&e, &t(B, A, 81)));
    // A's ingress is untouched (policy selects only b).
    assert!(allowed(&e, &t(B, A, 9999)));
}

#[test]
fn namespaced_selector_only_own_namespace() {
    let mut c = base();
    c.workloads
        .push(mk_pod("other", "a2", &[("app", "a")], "10.0.0.9"));
    c.policies.push(with_ingress(
        mk_np("app", "p", "app == 'b'"),
        vec![from_sel(rule(Action::Allow), "app == 'a'")],
    ));
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 1)));
    assert!(!allowed(&e, &t("10.0.0.9", B, 1)));
}

#[test]
fn pass_skips_to_next_tier_and_tier_default_pass() {
    let mut c = base();
    c.tiers
        .push(mk_tier("sec", Some(10.0), TierDefaultAction::Deny));
    c.tiers
        .push(mk_tier("soft", Some(20.0), TierDefaultAction::Pass));
    let mut pass = mk_gnp("pass-from-a", "app == 'b'");
    pass.tier = "sec".into();
    pass.ingress = vec![
        from_sel(rule(Action::Pass), "app == 'a'"),
        rule(Action::Deny),
    ];
    c.policies.push(pass);
    // tier soft: applicable policy that never matches → default Pass → continue.
    let mut soft = mk_gnp("soft-nomatch", "app == 'b'");
    soft.tier = "soft".into();
    soft.ingress = vec![tcp(Action::Deny, 1)];
    c.policies.push(soft);
    c.policies.push(with_ingress(
        mk_np("app", "allow-a-80", "app == 'b'"),
        vec![tcp(Action::Allow, 80)],
    ));
    let e = engine(&c);
    // A → B:80: Pass in sec, no match in soft → Pass, allowed in default.
    let d = check(&e, &t(A, B, 80));
    assert!(d.allowed, "{}", e.trace(&t(A, B, 80)).render_text());
    match d.ingress {
        SideVerdict::Rule { hits, tier, .. } => {
            assert_eq!(hits, 2);
            assert_eq!(&*e.tier(tier).unwrap().name, "default");
        }
        other => panic!("{other:?}"),
    }
    // A → B:1: soft denies.
    assert!(!allowed(&e, &t(A, B, 1)));
    // C → B: sec's Deny rule.
    assert!(!allowed(&e, &t(C, B, 80)));
    // Flow-log strings along the path.
    let tr = e.trace(&t(A, B, 80));
    assert_eq!(
        tr.ingress.flow_log_policies,
        vec![
            "0|sec|gnp:pass-from-a|pass|0".to_owned(),
            "1|soft|gnp:soft-nomatch|pass|-1".to_owned(),
            "2|default|np:app/allow-a-80|allow|0".to_owned(),
        ]
    );
}

#[test]
fn tier_order_custom_ties_and_undeclared() {
    let mut c = base();
    c.tiers
        .push(mk_tier("zeta", Some(5.0), TierDefaultAction::Deny));
    c.tiers
        .push(mk_tier("alpha", Some(5.0), TierDefaultAction::Deny));
    c.tiers
        .push(mk_tier("unordered", None, TierDefaultAction::Deny));
    for (tier, name) in [
        ("zeta", "z"),
        ("alpha", "a"),
        ("unordered", "u"),
        ("ghost", "g"),
    ] {
        let mut p = mk_gnp(name, "app == 'b'");
        p.tier = tier.into();
        p.ingress = vec![rule(Action::Pass)];
        c.policies.push(p);
    }
    let e = engine(&c);
    let b = e.endpoint_ref("app/b").unwrap().endpoint.unwrap();
    let prog = e.resolve(b, Direction::Ingress, View::Enforced).unwrap();
    let names: Vec<&str> = prog
        .tiers
        .iter()
        .map(|t| &*e.tier(t.tier).unwrap().name)
        .collect();
    assert_eq!(names, vec!["alpha", "zeta", "unordered", "ghost"]);
    assert!(
        !e.tiers()
            .iter()
            .find(|t| &*t.name == "ghost")
            .unwrap()
            .exists
    );
    // Everything passes through to profiles: allowed.
    assert!(allowed(&e, &t(A, B, 80)));
}

#[test]
fn end_of_tier_only_for_tiers_with_applicable_policy() {
    let mut c = base();
    c.tiers
        .push(mk_tier("sec", Some(10.0), TierDefaultAction::Deny));
    let mut p = mk_gnp("only-c", "app == 'c'");
    p.tier = "sec".into();
    p.ingress = vec![rule(Action::Deny)];
    c.policies.push(p);
    let e = engine(&c);
    assert!(
        allowed(&e, &t(A, B, 80)),
        "tier selecting nothing for b has no effect"
    );
    assert!(!allowed(&e, &t(A, C, 80)));
    // Egress direction: the policy is ingress-only, so c's egress is not affected.
    assert!(allowed(&e, &t(C, A, 80)));
}

#[test]
fn log_continues_first_non_log_decides() {
    let mut c = base();
    c.policies.push(with_ingress(
        mk_np("app", "p", "app == 'b'"),
        vec![
            rule(Action::Log),
            tcp(Action::Deny, 80),
            rule(Action::Allow),
        ],
    ));
    let e = engine(&c);
    assert!(!allowed(&e, &t(A, B, 80)));
    assert!(allowed(&e, &t(A, B, 81)));
    let tr = e.trace(&t(A, B, 80));
    let rules = &tr.ingress.tiers[0].policies[0].rules;
    assert!(rules[0].matched && rules[0].reason.contains("Log"));
    assert_eq!(rules.len(), 2);
}

#[test]
fn profiles_host_endpoints_and_pass_in_profile() {
    let mut c = base();
    let mut hep = mk_hep("node1-eth0", "node1", "192.168.1.1", &[("role", "node")]);
    c.host_endpoints.push(hep.clone());
    hep.name = "node2-eth0".into();
    hep.node = "node2".into();
    hep.expected_ips = vec![ip("192.168.1.2")];
    hep.profiles = vec!["pass-prof".into()];
    c.host_endpoints.push(hep.clone());
    hep.name = "node3-eth0".into();
    hep.node = "node3".into();
    hep.expected_ips = vec![ip("192.168.1.3")];
    hep.profiles = vec!["projectcalico-default-allow".into()];
    c.host_endpoints.push(hep);
    let mut prof = tabby_model::Profile {
        name: "pass-prof".into(),
        ingress: vec![rule(Action::Pass)],
        egress: vec![],
        labels_to_apply: Default::default(),
        loc: None,
    };
    prof.egress.push(rule(Action::Allow));
    c.profiles.push(prof);
    let e = engine(&c);
    // No policy, no profile: drop (non-failsafe).
    let d = check(&e, &t(A, "192.168.1.1", 8080));
    assert!(!d.allowed);
    assert!(matches!(d.ingress, SideVerdict::ProfilesExhausted { .. }));
    // Pass in a profile: no accept.
    assert!(!allowed(&e, &t(A, "192.168.1.2", 8080)));
    // default-allow profile.
    assert!(allowed(&e, &t(A, "192.168.1.3", 8080)));
}

#[test]
fn hep_failsafe_ports() {
    let mut c = base();
    c.host_endpoints
        .push(mk_hep("n1", "node1", "192.168.1.1", &[]));
    let mut deny = mk_gnp("deny-all", "all()");
    deny.types = types(true, true);
    deny.ingress = vec![rule(Action::Deny)];
    deny.egress = vec![rule(Action::Deny)];
    c.policies.push(deny);
    let e = engine(&c);
    let h = "192.168.1.1";
    for (flow, want) in [
        (Flow::tcp(ip(EXT), ip(h), 22), true),
        (Flow::udp(ip(EXT), ip(h), 68), true),
        (Flow::tcp(ip(EXT), ip(h), 6443), true),
        (Flow::tcp(ip(EXT), ip(h), 23), false),
        (Flow::udp(ip(EXT), ip(h), 53), false),
        (Flow::udp(ip(h), ip(EXT), 53), true),
        (Flow::udp(ip(h), ip(EXT), 67), true),
        (Flow::tcp(ip(h), ip(EXT), 22), false),
    ] {
        assert_eq!(allowed(&e, &flow), want, "{flow:?}");
    }
    assert_eq!(
        check(&e, &Flow::tcp(ip(EXT), ip(h), 22)).ingress,
        SideVerdict::Failsafe
    );
}

#[test]
fn staged_never_enforces_pending_verdict_differs() {
    let mut c = base();
    let mut s = mk_np("app", "staged-deny", "app == 'b'");
    s.kind = PolicyKind::StagedNetworkPolicy;
    s.staged_action = Some(StagedAction::Set);
    s.ingress = vec![tcp(Action::Allow, 443)];
    c.policies.push(s.clone());
    let e = engine(&c);
    let d = check(&e, &t(A, B, 80));
    assert!(
        d.allowed,
        "staged policies never enforce nor cause end-of-tier drop"
    );
    assert!(!d.staged_allowed, "pending view: end-of-tier deny");
    let d = check(&e, &t(A, B, 443));
    assert!(d.allowed && d.staged_allowed);
    let tr = e.trace(&t(A, B, 80));
    assert_eq!(tr.verdict, "allow");
    assert_eq!(tr.staged_verdict, "deny");
    assert!(tr.pending.as_ref().unwrap().ingress.is_some());
    assert!(tr.pending.as_ref().unwrap().egress.is_none());
    // stagedAction Delete: never appears, not even in the pending view.
    let mut c2 = base();
    s.staged_action = Some(StagedAction::Delete);
    c2.policies.push(s);
    let e2 = engine(&c2);
    let d = check(&e2, &t(A, B, 80));
    assert!(d.allowed && d.staged_allowed);
    assert!(e2.trace(&t(A, B, 80)).pending.is_none());
}

#[test]
fn staged_in_mixed_tier_is_skipped() {
    let mut c = base();
    let mut s = mk_np("app", "s-deny", "app == 'b'");
    s.kind = PolicyKind::StagedNetworkPolicy;
    s.order = Some(1.0);
    s.ingress = vec![rule(Action::Deny)];
    c.policies.push(s);
    let mut p = mk_np("app", "allow", "app == 'b'");
    p.order = Some(2.0);
    p.ingress = vec![rule(Action::Allow)];
    c.policies.push(p);
    let e = engine(&c);
    let d = check(&e, &t(A, B, 80));
    assert!(d.allowed);
    assert!(!d.staged_allowed);
}

#[test]
fn k8s_np_shape_and_order_ties() {
    let mut c = base();
    // Two policies with equal order: name first, then namespace, then kind.
    let mut knp = mk_np(
        "app",
        "same",
        "projectcalico.org/orchestrator == 'k8s' && app == 'b'",
    );
    knp.kind = PolicyKind::KubernetesNetworkPolicy;
    knp.order = Some(1000.0);
    knp.ingress = vec![rule(Action::Allow)];
    let mut np = mk_np("app", "same", "app == 'b'");
    np.order = Some(1000.0);
    np.ingress = vec![rule(Action::Deny)];
    c.policies.push(knp);
    c.policies.push(np);
    let e = engine(&c);
    // `same/app/KubernetesNetworkPolicy` < `same/app/NetworkPolicy`: the k8s one (Allow) first.
    let d = check(&e, &t(A, B, 80));
    assert!(d.allowed);
    let SideVerdict::Rule { policy, .. } = d.ingress else {
        panic!()
    };
    assert_eq!(
        e.policy(policy).unwrap().policy.kind,
        PolicyKind::KubernetesNetworkPolicy
    );
    assert_eq!(
        e.flow_log_policy(&d.ingress).unwrap(),
        "0|default|knp:app/same|allow|0"
    );

    // Name first: `a` (namespace z) sorts before `b` (namespace a), even though `a/z` > `b/a`... by name.
    let mut c = base();
    c.namespaces.push(mk_ns("z", &[]));
    c.workloads
        .push(mk_pod("z", "tgt", &[("app", "t")], "10.0.1.1"));
    let mut g1 = mk_gnp("b", "app == 't'");
    g1.order = Some(5.0);
    g1.ingress = vec![rule(Action::Deny)];
    let mut g2 = mk_gnp("a", "app == 't'");
    g2.order = Some(5.0);
    g2.ingress = vec![rule(Action::Allow)];
    // Unordered policy comes last even with a smaller name.
    let mut g3 = mk_gnp("0", "app == 't'");
    g3.ingress = vec![rule(Action::Deny)];
    c.policies.extend([g1, g3, g2]);
    let e = engine(&c);
    assert!(allowed(&e, &t(A, "10.0.1.1", 80)));
}

#[test]
fn named_ports_resolve_per_endpoint() {
    let mut c = base();
    c.workloads[1] = with_port(c.workloads[1].clone(), "http", Protocol::TCP, 8080);
    c.workloads[0] = with_port(c.workloads[0].clone(), "http", Protocol::TCP, 9000);
    let mut r = rule(Action::Allow);
    r.protocol = Some(Protocol::TCP);
    r.destination.ports.push(PortSpec::Named("http".into()));
    c.policies
        .push(with_ingress(mk_np("app", "http", "all()"), vec![r]));
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 8080)));
    assert!(
        !allowed(&e, &t(A, B, 9000)),
        "9000 is a's http port, not b's"
    );
    assert!(allowed(&e, &t(B, A, 9000)));
    assert!(!allowed(&e, &Flow::udp(ip(A), ip(B), 8080)));
    // A named port nobody defines matches nothing.
    let tr = e.trace(&t(A, B, 9000));
    assert!(tr.ingress.tiers[0].policies[0].rules[0]
        .reason
        .contains("not in ports http"));
}

#[test]
fn nets_and_not_nets() {
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.source.nets = vec!["10.0.0.0/24".parse().unwrap()];
    r.source.not_nets = vec!["10.0.0.3/32".parse().unwrap()];
    c.policies
        .push(with_ingress(mk_np("app", "nets", "app == 'b'"), vec![r]));
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 1)));
    assert!(!allowed(&e, &t(C, B, 1)));
    assert!(!allowed(&e, &t(EXT, B, 1)));
    let tr = e.trace(&t(EXT, B, 1));
    assert_eq!(
        tr.ingress.tiers[0].policies[0].rules[0].reason,
        "source 8.8.8.8 not in nets 10.0.0.0/24"
    );
}

#[test]
fn not_selector_vs_negated_selector_on_external_ip() {
    let mut c = base();
    let mut r1 = rule(Action::Allow);
    r1.source.selector = Some(sel("!has(app)"));
    let mut p1 = mk_gnp("neg-sel", "app == 'a'");
    p1.ingress = vec![r1];
    let mut r2 = rule(Action::Allow);
    r2.source.not_selector = Some(sel("has(app)"));
    let mut p2 = mk_gnp("not-sel", "app == 'b'");
    p2.ingress = vec![r2];
    c.policies.extend([p1, p2]);
    let e = engine(&c);
    assert!(
        !allowed(&e, &t(EXT, A, 80)),
        "selector only matches Calico entities"
    );
    assert!(
        allowed(&e, &t(EXT, B, 80)),
        "notSelector also matches non-Calico IPs"
    );
    assert!(!allowed(&e, &t(C, B, 80)));
    // In a namespaced policy a notSelector-only rule is namespace-limited.
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.source.not_selector = Some(sel("app == 'zzz'"));
    c.policies
        .push(with_ingress(mk_np("app", "p", "app == 'b'"), vec![r]));
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 80)));
    assert!(!allowed(&e, &t(EXT, B, 80)));
    assert!(!allowed(&e, &t(C, B, 80)));
}

#[test]
fn service_accounts_names_and_selector() {
    let mut c = base();
    c.service_accounts.push(ServiceAccount {
        namespace: "app".into(),
        name: "api".into(),
        labels: labels(&[("role", "api")]),
        loc: None,
    });
    c.workloads[0].service_account = Some("api".into());
    let mut r = rule(Action::Allow);
    r.source.service_accounts = Some(ServiceAccountMatch {
        names: vec!["api".into()],
        selector: Some(sel("role == 'api'")),
    });
    c.policies
        .push(with_ingress(mk_np("app", "sa", "app == 'b'"), vec![r]));
    // Policy-level serviceAccountSelector.
    c.tiers
        .push(mk_tier("sa", Some(1.0), TierDefaultAction::Pass));
    let mut g = mk_gnp("sa-sel", "all()");
    g.tier = "sa".into();
    g.service_account_selector = Some(sel("role == 'api'"));
    g.types = types(false, true);
    g.egress = vec![tcp(Action::Deny, 9999)];
    c.policies.push(g);
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 80)));
    assert!(!allowed(&e, &t(C, B, 80)));
    assert!(!allowed(&e, &t(A, C, 9999)), "a has SA api with role=api");
    assert!(allowed(&e, &t(B, C, 9999)));
}

#[test]
fn namespace_selector_and_hep_caveat() {
    let mut c = base();
    c.host_endpoints
        .push(mk_hep("n1", "node1", "192.168.1.1", &[]));
    c.host_endpoints[0].profiles = vec!["projectcalico-default-allow".into()];
    let mut p = mk_gnp("not-team-y", "all()");
    p.namespace_selector = Some(sel("team != 'y'"));
    p.ingress = vec![tcp(Action::Deny, 80)];
    let mut q = mk_gnp("has-ns", "all()");
    q.namespace_selector = Some(sel("has(projectcalico.org/name) && team != 'y'"));
    q.ingress = vec![tcp(Action::Deny, 81)];
    c.policies.extend([p, q]);
    let e = engine(&c);
    let h = "192.168.1.1";
    assert!(!allowed(&e, &t(EXT, A, 80)));
    assert!(
        allowed(&e, &t(EXT, C, 80)),
        "c is in team y: neither policy selects it"
    );
    // HEP selected by the `!=` namespace selector (no pcns labels) but not by the has() form.
    let d = check(&e, &t(EXT, h, 80));
    assert!(!d.allowed);
    let SideVerdict::Rule { policy, .. } = d.ingress else {
        panic!("{d:?}")
    };
    assert_eq!(&*e.policy(policy).unwrap().policy.name, "not-team-y");
    let hep = e.endpoint_ref("host:n1").unwrap().endpoint.unwrap();
    let has_ns = e
        .policies()
        .iter()
        .position(|p| &*p.policy.name == "has-ns")
        .unwrap();
    assert!(!e.policy_selects(tabby_eval::PolicyId(has_ns as u32), hep));
    // Rule-side namespaceSelector.
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.source.namespace_selector = Some(sel("team == 'y'"));
    c.policies
        .push(with_ingress(mk_np("app", "from-y", "app == 'b'"), vec![r]));
    let e = engine(&c);
    assert!(allowed(&e, &t(C, B, 80)));
    assert!(!allowed(&e, &t(A, B, 80)));
    assert!(!allowed(&e, &t(EXT, B, 80)));
}

#[test]
fn global_namespace_selector_matches_non_namespaced_only() {
    let mut c = base();
    c.host_endpoints
        .push(mk_hep("n1", "node1", "192.168.1.1", &[("role", "node")]));
    c.host_endpoints[0].profiles = vec!["projectcalico-default-allow".into()];
    c.network_sets
        .push(mk_netset(None, "ext", &[("kind", "ext")], &["8.8.0.0/16"]));
    c.network_sets.push(mk_netset(
        Some("app"),
        "nsext",
        &[("kind", "ext")],
        &["9.9.0.0/16"],
    ));
    let mut r = rule(Action::Allow);
    r.source.namespace_selector = Some(sel("global()"));
    c.policies.push(with_ingress(
        mk_np("app", "from-global", "app == 'b'"),
        vec![r],
    ));
    let e = engine(&c);
    assert!(allowed(&e, &t("192.168.1.1", B, 80)));
    assert!(
        allowed(&e, &t(EXT, B, 80)),
        "8.8.8.8 is in a GlobalNetworkSet"
    );
    assert!(
        !allowed(&e, &t("9.9.9.9", B, 80)),
        "namespaced network set is not global"
    );
    assert!(!allowed(&e, &t(A, B, 80)));
    assert!(!allowed(&e, &t("1.1.1.1", B, 80)));
    // A namespaced network set is selected by a namespaced selector.
    let mut c2 = c.clone();
    c2.policies.clear();
    let mut r = rule(Action::Allow);
    r.source.selector = Some(sel("kind == 'ext'"));
    c2.policies.push(with_ingress(
        mk_np("app", "from-sets", "app == 'b'"),
        vec![r],
    ));
    let e = engine(&c2);
    assert!(allowed(&e, &t("9.9.9.9", B, 80)));
    assert!(
        !allowed(&e, &t(EXT, B, 80)),
        "global network set is outside the namespace"
    );
}

#[test]
fn services_match_backends_and_target_ports() {
    let mut c = base();
    c.workloads[1] = with_port(c.workloads[1].clone(), "web", Protocol::TCP, 8080);
    c.services.push(Service {
        namespace: "app".into(),
        name: "web".into(),
        selector: Some(labels(&[("app", "b")])),
        ports: vec![ServicePort {
            name: None,
            protocol: Protocol::TCP,
            port: 80,
            target_port: Some(PortSpec::Named("web".into())),
        }],
        cluster_ips: vec![ip("10.96.0.10")],
        loc: None,
    });
    let mut r = rule(Action::Allow);
    r.destination.services = Some(ServiceMatch {
        name: "web".into(),
        namespace: None,
    });
    let mut p = mk_np("app", "to-web", "app == 'a'");
    p.types = types(false, true);
    p.egress = vec![r];
    c.policies.push(p);
    let mut r = rule(Action::Allow);
    r.source.services = Some(ServiceMatch {
        name: "web".into(),
        namespace: Some("app".into()),
    });
    let mut g = mk_gnp("from-web", "app == 'c'");
    g.ingress = vec![r];
    c.policies.push(g);
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 8080)));
    assert!(!allowed(&e, &t(A, B, 80)), "backend port, not service port");
    assert!(
        !allowed(&e, &t(A, "10.96.0.10", 80)),
        "cluster IPs are not matched"
    );
    assert!(allowed(&e, &t(B, C, 1234)));
    assert!(!allowed(&e, &t(A, C, 1234)));
}

#[test]
fn ip_version_and_family_specific_nets() {
    let mut c = base();
    c.workloads[1].ips.push(ip("fd00::2"));
    c.workloads[0].ips.push(ip("fd00::1"));
    let mut v6only = rule(Action::Allow);
    v6only.ip_version = Some(IpVersion::V6);
    let mut v6nets = rule(Action::Allow);
    v6nets.source.nets = vec!["fd00::/64".parse().unwrap()];
    c.policies.push(with_ingress(
        mk_np("app", "v6", "app == 'b'"),
        vec![v6only, v6nets],
    ));
    let e = engine(&c);
    assert!(!allowed(&e, &t(A, B, 80)));
    assert!(allowed(&e, &Flow::tcp(ip("fd00::1"), ip("fd00::2"), 80)));
    assert!(
        allowed(&e, &Flow::tcp(ip("fd00:1::1"), ip("fd00::2"), 80)),
        "ipVersion 6 rule"
    );
    let tr = e.trace(&t(A, B, 80));
    let rules = &tr.ingress.tiers[0].policies[0].rules;
    assert!(
        rules[0].reason.contains("ipVersion 6"),
        "{}",
        rules[0].reason
    );
    assert!(
        rules[1].reason.contains("no IPv4 nets"),
        "{}",
        rules[1].reason
    );
}

#[test]
fn icmp_type_and_code() {
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.protocol = Some(Protocol::ICMP);
    r.icmp = Some(IcmpMatch {
        icmp_type: 8,
        code: Some(0),
    });
    let mut n = rule(Action::Deny);
    n.protocol = Some(Protocol::ICMP);
    n.not_icmp = Some(IcmpMatch {
        icmp_type: 3,
        code: None,
    });
    c.policies.push(with_ingress(
        mk_np("app", "icmp", "app == 'b'"),
        vec![r, n, rule(Action::Allow)],
    ));
    let e = engine(&c);
    assert!(allowed(&e, &Flow::icmp(ip(A), ip(B), 8, Some(0))));
    assert!(
        !allowed(&e, &Flow::icmp(ip(A), ip(B), 8, Some(1))),
        "code differs → notICMP deny"
    );
    assert!(
        allowed(&e, &Flow::icmp(ip(A), ip(B), 3, Some(1))),
        "type 3 excluded by notICMP"
    );
    assert!(allowed(&e, &t(A, B, 80)));
}

#[test]
fn domains_match_exact_and_wildcard() {
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.destination.domains = vec!["*.example.com".into(), "api.test".into()];
    let mut p = mk_np("app", "dns", "app == 'a'");
    p.types = types(false, true);
    p.egress = vec![r];
    c.policies.push(p);
    let e = engine(&c);
    let f = t(A, EXT, 443);
    assert!(!allowed(&e, &f), "no domain on the flow");
    assert!(allowed(&e, &f.clone().with_domain("www.Example.com.")));
    assert!(allowed(&e, &f.clone().with_domain("api.test")));
    assert!(!allowed(&e, &f.clone().with_domain("example.com")));
}

#[test]
fn cluster_network_policy_tiers() {
    let mut c = base();
    let mut admin = mk_gnp("cnp-admin", "projectcalico.org/orchestrator == 'k8s'");
    admin.kind = PolicyKind::KubernetesClusterNetworkPolicy;
    admin.tier = "kube-admin".into();
    admin.order = Some(10.0);
    admin.namespace_selector = Some(sel("all()"));
    admin.ingress = vec![
        from_sel(tcp(Action::Deny, 22), "all()"),
        from_sel(tcp(Action::Pass, 80), "all()"),
    ];
    let mut base_p = mk_gnp("cnp-baseline", "projectcalico.org/orchestrator == 'k8s'");
    base_p.kind = PolicyKind::KubernetesClusterNetworkPolicy;
    base_p.tier = "kube-baseline".into();
    base_p.order = Some(10.0);
    base_p.ingress = vec![tcp(Action::Deny, 80)];
    let np = with_ingress(
        mk_np("app", "np", "app == 'b'"),
        vec![tcp(Action::Allow, 80)],
    );
    c.policies.extend([admin, base_p, np]);
    let e = engine(&c);
    assert!(
        !allowed(&e, &t(A, B, 22)),
        "admin deny wins over everything"
    );
    assert!(
        allowed(&e, &t(A, B, 80)),
        "admin pass → default tier allows"
    );
    assert!(!allowed(&e, &t(A, C, 80)), "c has no NP → baseline deny");
    assert!(
        allowed(&e, &t(A, C, 443)),
        "baseline tier default Pass → profile"
    );
    let d = check(&e, &t(A, B, 22));
    assert_eq!(
        e.flow_log_policy(&d.ingress).unwrap(),
        "0|kube-admin|kcnp:cnp-admin|deny|0"
    );
}

#[test]
fn legacy_anp_banp_tiers_ordering() {
    let mut c = base();
    let mut anp = mk_gnp("anp", "all()");
    anp.kind = PolicyKind::KubernetesAdminNetworkPolicy;
    anp.tier = "adminnetworkpolicy".into();
    anp.order = Some(1.0);
    anp.ingress = vec![tcp(Action::Pass, 80)];
    let mut banp = mk_gnp("default", "all()");
    banp.kind = PolicyKind::KubernetesBaselineAdminNetworkPolicy;
    banp.tier = "baselineadminnetworkpolicy".into();
    banp.ingress = vec![rule(Action::Deny)];
    c.policies.extend([anp, banp]);
    let e = engine(&c);
    let names: Vec<&str> = e.tiers().iter().map(|t| &*t.name).collect();
    assert_eq!(
        names,
        vec![
            "adminnetworkpolicy",
            "kube-admin",
            "default",
            "baselineadminnetworkpolicy",
            "kube-baseline"
        ]
    );
    assert!(!allowed(&e, &t(A, B, 80)), "ANP pass, BANP deny");
}

#[test]
fn do_not_track_and_pre_dnat_only_on_host_endpoints() {
    let mut c = base();
    c.host_endpoints
        .push(mk_hep("n1", "node1", "192.168.1.1", &[("role", "node")]));
    c.host_endpoints[0].profiles = vec!["projectcalico-default-allow".into()];
    let mut pre = mk_gnp("pre", "all()");
    pre.pre_dnat = true;
    pre.apply_on_forward = true;
    pre.ingress = vec![tcp(Action::Deny, 8443)];
    let mut untracked = mk_gnp("untracked", "role == 'node'");
    untracked.do_not_track = true;
    untracked.apply_on_forward = true;
    untracked.ingress = vec![tcp(Action::Allow, 9100)];
    let mut normal = mk_gnp("normal", "role == 'node'");
    normal.ingress = vec![rule(Action::Deny)];
    c.policies.extend([pre, untracked, normal]);
    let e = engine(&c);
    assert!(
        allowed(&e, &t(A, B, 8443)),
        "preDNAT never applies to workloads"
    );
    assert!(!allowed(&e, &t(EXT, "192.168.1.1", 8443)));
    let d = check(&e, &t(EXT, "192.168.1.1", 9100));
    assert!(d.allowed, "untracked allow skips normal policy");
    assert!(matches!(
        d.ingress,
        SideVerdict::Rule {
            stage: tabby_eval::Stage::Untracked,
            ..
        }
    ));
    assert!(!allowed(&e, &t(EXT, "192.168.1.1", 9101)));
}

#[test]
fn workload_to_own_host_uses_endpoint_to_host_action() {
    let mut c = base();
    c.workloads[0].node = Some("node1".into());
    c.workloads[1].node = Some("node2".into());
    let mut hep = mk_hep("n1", "node1", "192.168.1.1", &[]);
    hep.profiles = vec!["projectcalico-default-allow".into()];
    c.host_endpoints.push(hep);
    let e = engine(&c);
    let d = check(&e, &t(A, "192.168.1.1", 10250));
    assert_eq!(d.ingress, SideVerdict::EndpointToHost { allowed: false });
    assert!(allowed(&e, &t(B, "192.168.1.1", 10250)));
    let opts = tabby_eval::EngineOptions {
        endpoint_to_host: tabby_eval::EndpointToHostAction::Return,
        ..Default::default()
    };
    let e = tabby_eval::Engine::new(&c, opts);
    assert!(allowed(&e, &t(A, "192.168.1.1", 10250)));
}

#[test]
fn rules_in_profiles_and_labels_to_apply() {
    let mut c = base();
    c.profiles.push(tabby_model::Profile {
        name: "tagged".into(),
        ingress: vec![],
        egress: vec![],
        labels_to_apply: labels(&[("zone", "blue"), ("app", "ignored")]),
        loc: None,
    });
    let mut w = mk_pod("app", "wep", &[("app", "w")], "10.0.0.50");
    w.origin = tabby_model::EndpointOrigin::WorkloadEndpoint;
    w.profiles = vec!["tagged".into()];
    c.workloads.push(w);
    let mut p = mk_gnp("blue", "zone == 'blue' && app == 'w'");
    p.ingress = vec![rule(Action::Allow)];
    c.policies.push(p);
    let e = engine(&c);
    let d = check(&e, &t(A, "10.0.0.50", 80));
    assert!(d.allowed, "profile label applied, own label wins");
    // Egress: profile `tagged` has no rules → drop.
    assert!(!allowed(&e, &t("10.0.0.50", A, 80)));
}

#[test]
fn implicit_labels_are_selectable() {
    let mut c = base();
    c.workloads[0]
        .labels
        .insert("pcns.team".into(), "spoofed".into());
    let mut p = mk_gnp("by-implicit", "projectcalico.org/namespace == 'app' && pcns.team == 'x' && pcns.kubernetes.io/metadata.name == 'app' && pcsa.projectcalico.org/name == 'default' && projectcalico.org/serviceaccount == 'default'");
    p.ingress = vec![rule(Action::Deny)];
    c.policies.push(p);
    let e = engine(&c);
    assert!(!allowed(&e, &t(C, A, 80)));
    assert!(allowed(&e, &t(A, C, 80)));
    let a = e.endpoint_ref("app/a").unwrap().endpoint.unwrap();
    assert_eq!(
        e.endpoint(a).unwrap().labels.get("pcns.team").map(|v| &**v),
        Some("x")
    );
}

#[test]
fn endpoint_ref_forms_and_errors() {
    let mut c = base();
    c.host_endpoints
        .push(mk_hep("node1-eth0", "node1", "192.168.1.1", &[]));
    c.workloads.push(mk_pod("app", "noip", &[], ""));
    let mut hn = mk_pod("app", "hostnet", &[], "");
    hn.host_network = true;
    hn.node = Some("node1".into());
    c.workloads.push(hn);
    let e = engine(&c);
    assert_eq!(e.endpoint_ref("app/a").unwrap().ip, ip(A));
    assert_eq!(
        e.endpoint_ref("host:node1-eth0").unwrap().ip,
        ip("192.168.1.1")
    );
    let p = e.endpoint_ref("8.8.8.8").unwrap();
    assert!(p.endpoint.is_none());
    let p = e.endpoint_ref("app/noip").unwrap();
    assert!(tabby_model::LabelMap::new().is_empty());
    assert!("10.244.0.0/16"
        .parse::<ipnet::IpNet>()
        .unwrap()
        .contains(&p.ip));
    assert!(p.note.unwrap().contains("assigned"));
    let p = e.endpoint_ref("app/hostnet").unwrap();
    assert_eq!(p.ip, ip("192.168.1.1"));
    assert!(p.note.unwrap().contains("host network"));
    let err = e.endpoint_ref("app/bb").unwrap_err();
    assert!(err.contains("did you mean `app/b`"), "{err}");
    let err = e.endpoint_ref("host:node1-eth1").unwrap_err();
    assert!(err.contains("host:node1-eth0"), "{err}");
    let err = e.endpoint_ref("a").unwrap_err();
    assert!(err.contains("`app/a`"), "{err}");
    let err = e.endpoint_ref("nope/x").unwrap_err();
    assert!(err.contains("no workloads in namespace `nope`"), "{err}");
}

#[test]
fn trace_json_shape_and_text() {
    let mut c = base();
    let mut r = rule(Action::Allow);
    r.protocol = Some(Protocol::UDP);
    r.destination.selector = Some(sel("k8s-app == \"kube-dns\""));
    r.destination
        .ports
        .push(PortSpec::Range(PortRange::single(53)));
    let mut p = mk_gnp("allow-dns", "all()");
    p.types = types(false, true);
    p.egress = vec![r];
    c.policies.push(p);
    let e = engine(&c);
    let tr = e.trace(&t(A, B, 80));
    let v = serde_json::to_value(&tr).unwrap();
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["staged_verdict"], "deny");
    assert_eq!(v["egress"]["endpoint"]["name"], "app/a");
    assert_eq!(v["egress"]["tiers"][0]["tier"], "default");
    assert_eq!(v["egress"]["tiers"][0]["end_of_tier"], "Deny");
    let reason = v["egress"]["tiers"][0]["policies"][0]["rules"][0]["reason"]
        .as_str()
        .unwrap();
    assert_eq!(reason, "protocol TCP ≠ UDP");
    let tr = e.trace(&Flow::udp(ip(A), ip(B), 53));
    let reason = &tr.egress.tiers[0].policies[0].rules[0].reason;
    assert!(
        reason.starts_with("destination 10.0.0.2 not selected by `"),
        "{reason}"
    );
    assert!(reason.contains("k8s-app == \"kube-dns\""), "{reason}");
    assert_eq!(
        tr.egress.flow_log_policies,
        vec!["0|default|gnp:allow-dns|deny|-1".to_owned()]
    );
    let text = tr.render_text();
    assert!(text.contains("verdict: DENY"), "{text}");
    assert!(text.contains("end of tier: Deny"), "{text}");
    assert!(text.contains("egress at workload `app/a`"), "{text}");
}

#[test]
fn resolve_is_shared_by_equal_endpoints() {
    let mut c = base();
    c.workloads
        .push(mk_pod("app", "b2", &[("app", "b")], "10.0.0.12"));
    c.policies.push(with_ingress(
        mk_np("app", "p", "app == 'b'"),
        vec![rule(Action::Allow)],
    ));
    let e = engine(&c);
    let b = e.endpoint_ref("app/b").unwrap().endpoint.unwrap();
    let b2 = e.endpoint_ref("app/b2").unwrap().endpoint.unwrap();
    let pa = e.resolve(b, Direction::Ingress, View::Enforced).unwrap();
    let pb = e.resolve(b2, Direction::Ingress, View::Enforced).unwrap();
    assert!(std::ptr::eq(pa, pb));
    assert_eq!(pa.tiers.len(), 1);
    assert_eq!(pa.profiles.len(), 2, "kns.app then ksa.app.default");
    assert_eq!(&*e.profile(pa.profiles[0]).unwrap().name, "kns.app");
    assert!(e
        .resolve(b, Direction::Egress, View::Enforced)
        .unwrap()
        .tiers
        .is_empty());
}

#[test]
fn order_ties_compare_name_before_namespace() {
    // `a/app/NetworkPolicy` < `b//GlobalNetworkPolicy`: the namespaced policy named
    // `a` goes first although a global policy has the empty namespace.
    let mut c = base();
    let mut np = mk_np("app", "a", "app == 'b'");
    np.order = Some(5.0);
    np.ingress = vec![rule(Action::Deny)];
    let mut gnp = mk_gnp("b", "app == 'b'");
    gnp.order = Some(5.0);
    gnp.ingress = vec![rule(Action::Allow)];
    c.policies.extend([gnp, np]);
    let e = engine(&c);
    assert!(!allowed(&e, &t(A, B, 80)));
    // Same with the names swapped: the global policy now sorts first.
    let mut c = base();
    let mut np = mk_np("app", "b", "app == 'b'");
    np.order = Some(5.0);
    np.ingress = vec![rule(Action::Deny)];
    let mut gnp = mk_gnp("a", "app == 'b'");
    gnp.order = Some(5.0);
    gnp.ingress = vec![rule(Action::Allow)];
    c.policies.extend([np, gnp]);
    let e = engine(&c);
    assert!(allowed(&e, &t(A, B, 80)));
}

/// Felix's `filterOutputChain` returns before policy for packets from the host to a
/// local workload: kubelet probes work under default deny. Other nodes' hosts are
/// policed by the workload's ingress policy as usual.
#[test]
fn host_to_local_workload_is_not_policed() {
    let mut c = base();
    c.workloads[0].node = Some("node1".into());
    c.workloads[1].node = Some("node2".into());
    // `c` has no node (like a template): never local to anything.
    c.host_endpoints
        .push(mk_hep("node1-eth0", "node1", "192.168.1.1", &[]));
    let mut kubelet2 = mk_pod("kube-system", "kubelet-probe", &[], "192.168.2.5");
    kubelet2.host_network = true;
    kubelet2.node = Some("node2".into());
    c.workloads.push(kubelet2);
    let mut deny = mk_gnp("default-deny", "all()");
    deny.types = types(true, true);
    c.policies.push(deny);
    let e = engine(&c);

    let h2w = SideVerdict::HostToLocalWorkload;
    // (source, destination, allowed, decided by host → local workload)
    let table = [
        ("192.168.1.1", A, true, true), // HEP address of node1 → pod on node1
        ("192.168.1.1", B, false, false), // node1 → pod on node2: policed
        ("192.168.2.5", B, true, true), // hostNetwork pod address of node2 → pod on node2
        ("192.168.2.5", A, false, false),
        ("192.168.1.1", C, false, false), // no node: never local
        (A, B, false, false),
        (EXT, A, false, false),
    ];
    for (src, dst, want, by_h2w) in table {
        let d = check(&e, &t(src, dst, 8080));
        assert_eq!(d.allowed, want, "{src} -> {dst}");
        assert_eq!(d.staged_allowed, want, "{src} -> {dst}");
        assert_eq!(
            d.egress == h2w && d.ingress == h2w,
            by_h2w,
            "{src} -> {dst}"
        );
        assert_eq!(
            d.staged_egress == h2w && d.staged_ingress == h2w,
            by_h2w,
            "{src} -> {dst}"
        );
    }
    let tr = e.trace(&t("192.168.1.1", A, 8080));
    for s in [&tr.egress, &tr.ingress] {
        assert_eq!(s.verdict, "allow");
        assert!(s.tiers.is_empty() && s.flow_log_policies.is_empty());
        assert_eq!(
            s.decided_by,
            "traffic from a host to a workload on the same host is not policed by Calico (felix filterOutputChain)"
        );
    }
    assert!(tr.pending.is_none());
    let json = serde_json::to_value(&tr).unwrap();
    assert_eq!(json["ingress"]["endpoint"]["name"], "app/a");
    assert_eq!(json["egress"]["endpoint"]["name"], "host:node1-eth0");

    // The other node's host is let in by an ingress rule, not by the exemption.
    let mut allow = with_ingress(
        mk_np("app", "allow-node1", "app == 'b'"),
        vec![{
            let mut r = tcp(Action::Allow, 8080);
            r.source.nets = vec!["192.168.1.0/24".parse().unwrap()];
            r
        }],
    );
    allow.order = Some(1.0);
    c.policies.push(allow);
    let mut allow_out = mk_gnp("hep-out", "all()");
    allow_out.types = types(false, true);
    allow_out.egress = vec![rule(Action::Allow)];
    allow_out.order = Some(1.0);
    c.policies.push(allow_out);
    let e = engine(&c);
    let d = check(&e, &t("192.168.1.1", B, 8080));
    assert!(d.allowed);
    assert!(matches!(d.ingress, SideVerdict::Rule { .. }), "{d:?}");
    assert!(!allowed(&e, &t("192.168.1.1", B, 9090)));
}
