//! Tiers, built-in tiers, and the whole-set checks (undeclared tiers, duplicates,
//! kinds that are skipped).

mod common;

use common::{check, obj, table, Want};
use tabby_model::TierDefaultAction;

const OK: &[Want] = &[];

fn tier(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: {name}\nspec:\n{}",
        spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

#[test]
fn tier_checks() {
    table(&[
        ("ordered pass", tier("security", "order: 100\ndefaultAction: Pass"), OK),
        ("deny", tier("security", "order: 100\ndefaultAction: Deny"), OK),
        ("no order", tier("last", "defaultAction: Deny"), OK),
        ("empty spec", tier("t", "{}"), OK),
        ("dotted name", tier("a.b", "order: 1"), &[("E0401", "name: »a.b", "not a valid Tier name")]),
        ("uppercase", tier("Sec", "order: 1"), &[("E0401", "name: »Sec", "no `.`")]),
        ("too long", tier(&"t".repeat(64), "order: 1"), &[("E0401", "name: »ttt", "too long by 1 bytes")]),
        ("allow action", tier("security", "defaultAction: Allow"), &[("E0402", "defaultAction: »Allow", "not a tier default action")]),
        ("lowercase action", tier("security", "defaultAction: pass"), &[("E0402", "defaultAction: »pass", "did you mean `Pass`")]),
        ("order string", tier("security", "order: high"), &[("E0207", "order: »high", "expected a number")]),
        ("unknown field", tier("security", "ordr: 1"), &[("E0208", "»ordr", "did you mean `order`")]),
        ("namespace", "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: t\n  namespace: x\nspec: {}\n".into(), &[("E0209", "namespace: »x", "cluster-scoped")]),
        ("default ok", tier("default", "order: 1000000\ndefaultAction: Deny"), OK),
        ("default implied deny", tier("default", "order: 1e6"), OK),
        ("default wrong order", tier("default", "order: 100"), &[("E0403", "order: »100", "must have order 1000000")]),
        ("default pass", tier("default", "order: 1000000\ndefaultAction: Pass"), &[("E0403", "defaultAction: »Pass", "must have defaultAction Deny")]),
        ("default no order", tier("default", "defaultAction: Deny"), &[("E0403", "name: »default", "must have order")]),
        ("kube-admin ok", tier("kube-admin", "order: 1000\ndefaultAction: Pass"), OK),
        ("kube-admin defaults", tier("kube-admin", "{}"), &[("E0403", "name: »kube-admin", "must have order 1000"), ("E0403", "name: »kube-admin", "must have defaultAction Pass")]),
        ("kube-baseline ok", tier("kube-baseline", "order: 10000000\ndefaultAction: Pass"), OK),
        ("kube-baseline deny", tier("kube-baseline", "order: 10000000\ndefaultAction: Deny"), &[("E0403", "defaultAction: »Deny", "must have defaultAction Pass")]),
    ]);
    let v = check(
        "lowered",
        &tier("security", "order: 100\ndefaultAction: Pass"),
        OK,
    );
    let t = v.cluster.tier("security").unwrap();
    assert_eq!(t.order, Some(100.0));
    assert_eq!(t.default_action, TierDefaultAction::Pass);
    assert!(t.declared);
}

#[test]
fn builtin_tiers_are_always_present() {
    let v = check("empty input", "", OK);
    let names: Vec<(&str, Option<f64>, TierDefaultAction, bool)> = v
        .cluster
        .tiers
        .iter()
        .map(|t| (&*t.name, t.order, t.default_action, t.declared))
        .collect();
    assert_eq!(
        names,
        vec![
            ("kube-admin", Some(1000.0), TierDefaultAction::Pass, false),
            ("default", Some(1_000_000.0), TierDefaultAction::Deny, false),
            (
                "kube-baseline",
                Some(10_000_000.0),
                TierDefaultAction::Pass,
                false
            ),
        ]
    );
    let v = check("declared default", &tier("default", "order: 1000000"), OK);
    assert_eq!(v.cluster.tiers.len(), 3);
    assert!(v.cluster.tier("default").unwrap().declared);
    assert!(!v.cluster.tier("kube-admin").unwrap().declared);
    // An invalid declaration of a built-in tier is reported; the built-in stays present.
    let v = check(
        "invalid default",
        &tier("default", "order: 5"),
        &[("E0403", "order: »5", "1000000")],
    );
    assert!(!v.cluster.tier("default").unwrap().declared);
}

#[test]
fn undeclared_tier_of_an_invalid_tier_is_not_reported_twice() {
    let y = format!(
        "{}---\n{}",
        tier("security", "defaultAction: Allow"),
        obj("GlobalNetworkPolicy", None, "tier: security")
    );
    check(
        "invalid tier",
        &y,
        &[(
            "E0402",
            "defaultAction: »Allow",
            "not a tier default action",
        )],
    );
}

#[test]
fn duplicates_keep_the_later_definition() {
    let a = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  order: 1\n";
    let b = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  order: 2\n";
    let y = format!("{a}---\n{b}");
    let d = common::run(&y);
    let w: Vec<_> = d.diagnostics.iter().collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "W0203");
    assert_eq!(w[0].loc.as_ref().unwrap().line_col(), (8, 1));
    assert!(w[0].message.contains("GlobalNetworkPolicy `p` is defined again; this definition replaces the one at t.yaml:1:1"), "{}", w[0].message);
    assert_eq!(d.cluster.policies.len(), 1);
    assert_eq!(d.cluster.policies[0].order, Some(2.0));

    table(&[
        ("np twice", format!("{}---\n{}", obj("NetworkPolicy", Some("a"), "order: 1"), obj("NetworkPolicy", Some("a"), "order: 2")), &[("W0203", "»apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: n\n  namespace: a\nspec:\n  order: 2", "NetworkPolicy `a/n` is defined again")]),
        ("np other namespace", format!("{}---\n{}", obj("NetworkPolicy", Some("a"), "order: 1"), obj("NetworkPolicy", Some("b"), "order: 1")), OK),
        ("np and snp", format!("{}---\n{}", obj("NetworkPolicy", Some("a"), "order: 1"), obj("StagedNetworkPolicy", Some("a"), "order: 1")), OK),
        ("gns vs ns", format!("{}---\n{}", obj("GlobalNetworkSet", None, "nets: []"), obj("NetworkSet", Some("a"), "nets: []")), OK),
        ("tier twice", format!("{}---\n{}", tier("t", "order: 1"), tier("t", "order: 2")), &[("W0203", "»apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: t\nspec:\n  order: 2", "Tier `t` is defined again")]),
        ("hep twice", format!("{}---\n{}", obj("HostEndpoint", None, "node: a\ninterfaceName: eth0"), obj("HostEndpoint", None, "node: b\ninterfaceName: eth0")), &[("W0203", "»apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: n\nspec:\n  node: b", "HostEndpoint `n` is defined again")]),
        ("profile twice", format!("{}---\n{}", obj("Profile", None, "ingress: []"), obj("Profile", None, "egress: []")), &[("W0203", "»apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata:\n  name: n\nspec:\n  egress", "Profile `n` is defined again")]),
    ]);
}

#[test]
fn kinds_not_analysed() {
    table(&[
        ("configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n".into(), &[("N0201", "kind: »ConfigMap", "`ConfigMap` (`v1`) is not a kind tabby analyses")]),
        ("ippool", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec: {cidr: 10.0.0.0/8}\n".into(), &[("N0201", "kind: »IPPool", "skipped")]),
        ("crd group", "apiVersion: crd.projectcalico.org/v1\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec: {}\n".into(), &[("N0201", "kind: »FelixConfiguration", "skipped")]),
        ("misspelt", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolice\nmetadata:\n  name: p\nspec: {}\n".into(), &[("W0204", "kind: »GlobalNetworkPolice", "did you mean `GlobalNetworkPolicy`")]),
        ("calico v1", "apiVersion: projectcalico.org/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec: {}\n".into(), &[("W0205", "apiVersion: »projectcalico.org/v1", "did you mean `projectcalico.org/v3`")]),
        ("k8s spec under calico", "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n".into(), &[("E0208", "»podSelector", "this is a Kubernetes NetworkPolicy")]),
        ("unknown calico kind", "apiVersion: projectcalico.org/v3\nkind: Gadget\nmetadata:\n  name: p\n".into(), &[("N0201", "kind: »Gadget", "skipped")]),
        // Kubernetes kinds: typos of an analysed kind of the same group are warnings.
        ("misspelt k8s netpol", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolcy\nmetadata:\n  name: p\nspec: {}\n".into(), &[("W0507", "kind: »NetworkPolcy", "did you mean `NetworkPolicy`")]),
        ("k8s kind case", "apiVersion: networking.k8s.io/v1\nkind: networkpolicy\nmetadata:\n  name: p\nspec: {}\n".into(), &[("W0507", "kind: »networkpolicy", "`networkpolicy` is not a `networking.k8s.io/v1` kind")]),
        ("misspelt anp", "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolcy\nmetadata:\n  name: p\nspec: {}\n".into(), &[("W0507", "kind: »AdminNetworkPolcy", "did you mean `AdminNetworkPolicy`")]),
        ("misspelt deployment", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: d\n".into(), &[("W0507", "kind: »Deploymnet", "did you mean `Deployment`")]),
        ("misspelt namespace", "apiVersion: v1\nkind: Namespce\nmetadata:\n  name: n\n".into(), &[("W0507", "kind: »Namespce", "did you mean `Namespace`")]),
        // Real kinds close to an analysed one, and typos in another group, stay notes.
        ("node", "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n".into(), &[("N0201", "kind: »Node", "skipped")]),
        ("secret", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n".into(), &[("N0201", "kind: »Secret", "skipped")]),
        ("ingress", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n".into(), &[("N0201", "kind: »Ingress", "skipped")]),
        ("other group", "apiVersion: example.com/v1\nkind: NetworkPolcy\nmetadata:\n  name: p\n".into(), &[("N0201", "kind: »NetworkPolcy", "skipped")]),
    ]);
    let v = check("crd group policy", "apiVersion: crd.projectcalico.org/v1\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec:\n  selector: all()\n", OK);
    assert_eq!(v.cluster.policies.len(), 1);
}

#[test]
fn invalid_objects_are_left_out_and_others_kept() {
    let y = format!(
        "{}---\n{}---\n{}",
        obj("GlobalNetworkPolicy", None, "ingress: [{action: Nope}]"),
        obj("GlobalNetworkSet", None, "nets: [10.0.0.0/8]"),
        obj("NetworkPolicy", Some("a"), "types: [Ingress]")
    );
    let v = check("mixed", &y, &[("E0220", "action: »Nope", "unknown action")]);
    assert_eq!(v.cluster.policies.len(), 1);
    assert_eq!(v.cluster.network_sets.len(), 1);
}
