//! Policy-level checks: metadata, names, spec fields, `types` inference, host-policy
//! flags, staged actions, tiers and legacy names.

mod common;

use common::{check, obj, table, Want};
use tabby_model::{PolicyKind, StagedAction};

const OK: &[Want] = &[];

fn gnp(spec: &str) -> String {
    obj("GlobalNetworkPolicy", None, spec)
}
fn np(spec: &str) -> String {
    obj("NetworkPolicy", Some("ns"), spec)
}
fn named(kind: &str, name: &str, extra: &str) -> String {
    format!("apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}spec:\n  selector: all()\n")
}
const SECURITY_TIER: &str = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: security\nspec:\n  order: 100\n---\n";

#[test]
fn policy_names() {
    let long = "a".repeat(254);
    table(&[
        ("np simple", named("NetworkPolicy", "allow-web", ""), OK),
        ("np one dot", named("NetworkPolicy", "web.allow", ""), OK),
        ("np digits", named("NetworkPolicy", "0day", ""), OK),
        ("np knp alias", named("NetworkPolicy", "knp.default.a.b.c", ""), OK),
        ("np ossg alias", named("NetworkPolicy", "ossg.default.sg-1", ""), OK),
        ("gnp one dot", named("GlobalNetworkPolicy", "x.allow", ""), OK),
        ("snp", named("StagedNetworkPolicy", "staged-one", ""), OK),
        ("sgnp", named("StagedGlobalNetworkPolicy", "staged.one", ""), OK),
        ("np two dots", named("NetworkPolicy", "a.b.c", ""), &[("E0204", "name: »a.b.c", "not a valid NetworkPolicy name")]),
        ("np uppercase", named("NetworkPolicy", "Allow", ""), &[("E0204", "name: »Allow", "at most one `.`")]),
        ("np leading dash", named("NetworkPolicy", "-a", ""), &[("E0204", "name: »-a", "not a valid NetworkPolicy name")]),
        ("np trailing dash", named("NetworkPolicy", "a-", ""), &[("E0204", "name: »a-", "not a valid")]),
        ("np underscore", named("NetworkPolicy", "a_b", ""), &[("E0204", "name: »a_b", "not a valid")]),
        ("np knp bad", named("NetworkPolicy", "knp.default.", ""), &[("E0204", "name: »knp.default.", "not a valid")]),
        ("gnp two dots", named("GlobalNetworkPolicy", "a.b.c", ""), &[("E0204", "name: »a.b.c", "not a valid GlobalNetworkPolicy name")]),
        ("gnp knp prefix", named("GlobalNetworkPolicy", "knp.default.x", ""), &[("E0204", "name: »knp.default.x", "not a valid")]),
        ("sgnp two dots", named("StagedGlobalNetworkPolicy", "a.b.c", ""), &[("E0204", "»a.b.c", "StagedGlobalNetworkPolicy")]),
        ("too long", named("GlobalNetworkPolicy", &long, ""), &[("E0204", "name: »aaa", "too long by 1 bytes")]),
        ("name number", named("GlobalNetworkPolicy", "1234", ""), &[("E0207", "name: »1234", "expected a string")]),
        ("name quoted digits", named("GlobalNetworkPolicy", "'1234'", ""), OK),
        ("name empty", named("GlobalNetworkPolicy", "''", ""), &[("E0204", "name: »''", "not a valid")]),
        ("no name", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  labels: {a: b}\nspec: {}\n".into(), &[("E0204", "»labels: {a: b}", "has no `metadata.name`")]),
        ("no metadata", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nspec: {}\n".into(), &[("E0204", "»apiVersion", "has no `metadata.name`")]),
        ("name list", named("GlobalNetworkPolicy", "[a]", ""), &[("E0207", "name: »[a]", "expected a string")]),
    ]);
}

#[test]
fn namespaces() {
    let v = check("np without namespace", &named("NetworkPolicy", "p", ""), OK);
    assert_eq!(v.cluster.policies[0].namespace.as_deref(), Some("default"));
    table(&[
        (
            "np namespace",
            named("NetworkPolicy", "p", "  namespace: prod\n"),
            OK,
        ),
        (
            "np bad namespace",
            named("NetworkPolicy", "p", "  namespace: Prod\n"),
            &[("E0204", "namespace: »Prod", "not a valid namespace name")],
        ),
        (
            "np dotted namespace",
            named("NetworkPolicy", "p", "  namespace: a.b\n"),
            &[("E0204", "namespace: »a.b", "not a valid namespace")],
        ),
        (
            "gnp namespace",
            named("GlobalNetworkPolicy", "p", "  namespace: prod\n"),
            &[("E0209", "namespace: »prod", "cluster-scoped")],
        ),
    ]);
}

#[test]
fn labels_and_annotations() {
    let big = "x".repeat(300 * 1024);
    table(&[
        (
            "labels",
            named(
                "GlobalNetworkPolicy",
                "p",
                "  labels:\n    app: web\n    example.com/tier: front\n    empty: ''\n",
            ),
            OK,
        ),
        (
            "bad key",
            named("GlobalNetworkPolicy", "p", "  labels:\n    'bad key': x\n"),
            &[("E0205", "»'bad key'", "invalid label name")],
        ),
        (
            "bad prefix",
            named(
                "GlobalNetworkPolicy",
                "p",
                "  labels:\n    Example.com/a: x\n",
            ),
            &[("E0205", "»Example.com/a", "prefix `Example.com`")],
        ),
        (
            "two slashes",
            named("GlobalNetworkPolicy", "p", "  labels:\n    a/b/c: x\n"),
            &[("E0205", "»a/b/c", "invalid label name")],
        ),
        (
            "empty prefix",
            named("GlobalNetworkPolicy", "p", "  labels:\n    /a: x\n"),
            &[("E0205", "»/a", "empty prefix")],
        ),
        (
            "long key",
            named(
                "GlobalNetworkPolicy",
                "p",
                &format!("  labels:\n    {}: x\n", "k".repeat(64)),
            ),
            &[("E0205", "    »kkk", "longer than 63")],
        ),
        (
            "bad value",
            named(
                "GlobalNetworkPolicy",
                "p",
                "  labels:\n    app: has space\n",
            ),
            &[("E0205", "app: »has space", "not a valid label value")],
        ),
        (
            "value dash end",
            named("GlobalNetworkPolicy", "p", "  labels:\n    app: web-\n"),
            &[("E0205", "app: »web-", "not a valid label value")],
        ),
        (
            "long value",
            named(
                "GlobalNetworkPolicy",
                "p",
                &format!("  labels:\n    app: {}\n", "v".repeat(64)),
            ),
            &[("E0205", "app: »vvv", "longer than 63")],
        ),
        (
            "number value",
            named("GlobalNetworkPolicy", "p", "  labels:\n    version: 1\n"),
            &[("E0207", "version: »1", "quote numbers")],
        ),
        (
            "labels list",
            named("GlobalNetworkPolicy", "p", "  labels: [a]\n"),
            &[("E0207", "labels: »[a]", "expected a map of strings")],
        ),
        (
            "annotations",
            named(
                "GlobalNetworkPolicy",
                "p",
                "  annotations:\n    Owner: Team A\n    example.com/note: anything at all!\n",
            ),
            OK,
        ),
        (
            "bad annotation",
            named("GlobalNetworkPolicy", "p", "  annotations:\n    'a b': x\n"),
            &[("E0206", "»'a b'", "invalid annotation key")],
        ),
        (
            "huge annotations",
            named(
                "GlobalNetworkPolicy",
                "p",
                &format!("  annotations:\n    a: {big}\n"),
            ),
            &[("E0206", "»a: xxx", "too large by")],
        ),
        (
            "unknown metadata",
            named("GlobalNetworkPolicy", "p", "  lables: {a: b}\n"),
            &[("E0208", "»lables", "did you mean `labels`")],
        ),
        (
            "k8s metadata fields",
            named(
                "GlobalNetworkPolicy",
                "p",
                "  uid: 1234\n  resourceVersion: '5'\n  creationTimestamp: null\n",
            ),
            OK,
        ),
    ]);
}

#[test]
fn unknown_fields() {
    table(&[
        ("root typo", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspecs: {}\n".into(), &[("E0208", "»specs", "did you mean `spec`")]),
        ("spec typo", gnp("selecter: all()"), &[("E0208", "»selecter", "did you mean `selector`")]),
        ("np namespaceSelector", np("namespaceSelector: a == 'b'"), &[("E0208", "»namespaceSelector", "unknown field `namespaceSelector` in `spec`")]),
        ("np doNotTrack", np("doNotTrack: true"), &[("E0208", "»doNotTrack", "unknown field")]),
        ("np preDNAT", np("preDNAT: true"), &[("E0208", "»preDNAT", "unknown field")]),
        ("np applyOnForward", np("applyOnForward: true"), &[("E0208", "»applyOnForward", "unknown field")]),
        ("np stagedAction", np("stagedAction: Set"), &[("E0208", "»stagedAction", "unknown field")]),
        ("gnp stagedAction", gnp("stagedAction: Set"), &[("E0208", "»stagedAction", "unknown field")]),
        ("spec not map", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\nspec: [1]\n".into(), &[("E0207", "spec: »[1]", "expected a map")]),
        ("no spec", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p\n".into(), OK),
    ]);
}

#[test]
fn spec_fields() {
    let long = format!("selector: \"{}\"", vec!["has(a)"; 200].join(" && "));
    table(&[
        ("order int", gnp("order: 100"), OK),
        ("order float", gnp("order: 1.5"), OK),
        ("order negative", gnp("order: -5"), OK),
        (
            "order string",
            gnp("order: first"),
            &[("E0207", "order: »first", "expected a number")],
        ),
        (
            "order inf",
            gnp("order: .inf"),
            &[("E0211", "order: ».inf", "not a finite number")],
        ),
        (
            "order nan",
            gnp("order: .nan"),
            &[("E0211", "order: ».nan", "not a finite number")],
        ),
        ("selector empty", gnp("selector: ''"), OK),
        (
            "selector bad",
            gnp("selector: app = 'x'"),
            &[("E0201", "selector: app »= 'x'", "invalid selector")],
        ),
        (
            "selector global",
            gnp("selector: global()"),
            &[("E0203", "selector: »global()", "`global()`")],
        ),
        (
            "selector too long",
            gnp(&long),
            &[("E0202", "selector: »\"has", "limit of 1024")],
        ),
        (
            "sa selector",
            gnp("serviceAccountSelector: role == 'x'"),
            OK,
        ),
        (
            "sa selector global",
            np("serviceAccountSelector: global()"),
            &[("E0203", "serviceAccountSelector: »global()", "`global()`")],
        ),
        (
            "gnp namespaceSelector",
            gnp("namespaceSelector: team == 'a'"),
            OK,
        ),
        (
            "gnp namespaceSelector global",
            gnp("namespaceSelector: global()"),
            &[("E0203", "namespaceSelector: »global()", "`global()`")],
        ),
        (
            "gnp namespaceSelector bad",
            gnp("namespaceSelector: team = 'a'"),
            &[(
                "E0201",
                "namespaceSelector: team »= 'a'",
                "invalid selector",
            )],
        ),
        (
            "hints",
            gnp("performanceHints: [AssumeNeededOnEveryNode]"),
            OK,
        ),
        (
            "hint typo",
            gnp("performanceHints: [AssumeNeededOnEveryNod]"),
            &[(
                "E0214",
                "[»AssumeNeededOnEveryNod]",
                "did you mean `AssumeNeededOnEveryNode`",
            )],
        ),
        (
            "hint unknown",
            gnp("performanceHints: [Fast]"),
            &[("E0214", "[»Fast]", "unknown performance hint `Fast`")],
        ),
        (
            "hint twice",
            gnp("performanceHints: [AssumeNeededOnEveryNode, AssumeNeededOnEveryNode]"),
            &[(
                "E0214",
                "AssumeNeededOnEveryNode, »AssumeNeededOnEveryNode]",
                "listed twice",
            )],
        ),
        (
            "ingress not list",
            gnp("ingress: {action: Allow}"),
            &[("E0207", "ingress: »{action", "expected a list")],
        ),
    ]);
}

#[test]
fn types_checks() {
    table(&[
        ("ingress", gnp("types: [Ingress]"), OK),
        ("egress", gnp("types: [Egress]"), OK),
        ("both", gnp("types: [Ingress, Egress]"), OK),
        ("both reversed", gnp("types: [Egress, Ingress]"), OK),
        (
            "lowercase",
            gnp("types: [ingress]"),
            &[("E0210", "[»ingress]", "did you mean `Ingress`")],
        ),
        (
            "unknown",
            gnp("types: [Forward]"),
            &[("E0210", "[»Forward]", "unknown policy type `Forward`")],
        ),
        (
            "duplicate",
            gnp("types: [Ingress, Ingress]"),
            &[("E0210", "Ingress, »Ingress]", "specified more than once")],
        ),
        (
            "duplicate egress",
            gnp("types: [Egress, Ingress, Egress]"),
            &[(
                "E0210",
                "Ingress, »Egress]",
                "`Egress` type specified more than once",
            )],
        ),
        (
            "string",
            gnp("types: Ingress"),
            &[("E0207", "types: »Ingress", "expected a list")],
        ),
    ]);
}

#[test]
fn types_inference() {
    // (spec, ingress, egress, inferred)
    let cases = [
        ("selector: all()", true, false, true),
        ("ingress: [{action: Allow}]", true, false, true),
        ("egress: [{action: Allow}]", false, true, true),
        (
            "ingress: [{action: Allow}]\negress: [{action: Deny}]",
            true,
            true,
            true,
        ),
        ("ingress: []\negress: []", true, false, true),
        ("types: []\negress: [{action: Allow}]", false, true, true),
        ("types: [Egress]", false, true, false),
        (
            "types: [Ingress]\negress: [{action: Allow}]",
            true,
            false,
            false,
        ),
        ("types: [Ingress, Egress]", true, true, false),
    ];
    for (spec, i, e, inferred) in cases {
        for kind in [
            "GlobalNetworkPolicy",
            "NetworkPolicy",
            "StagedNetworkPolicy",
            "StagedGlobalNetworkPolicy",
        ] {
            let v = check(spec, &obj(kind, None, spec), OK);
            let t = v.cluster.policies[0].types;
            assert_eq!(
                (t.ingress, t.egress, t.inferred),
                (i, e, inferred),
                "{kind}: {spec}"
            );
        }
    }
}

#[test]
fn host_policy_flags() {
    table(&[
        (
            "dnt with aof",
            gnp("doNotTrack: true\napplyOnForward: true"),
            OK,
        ),
        (
            "prednat with aof",
            gnp("preDNAT: true\napplyOnForward: true\ntypes: [Ingress]\ningress: [{action: Deny}]"),
            OK,
        ),
        ("aof alone", gnp("applyOnForward: true"), OK),
        (
            "all false",
            gnp("doNotTrack: false\npreDNAT: false\napplyOnForward: false"),
            OK,
        ),
        (
            "dnt no aof",
            gnp("doNotTrack: true"),
            &[(
                "E0212",
                "doNotTrack: »true",
                "must be true when `doNotTrack` is true",
            )],
        ),
        (
            "dnt aof false",
            gnp("doNotTrack: true\napplyOnForward: false"),
            &[(
                "E0212",
                "applyOnForward: »false",
                "add `applyOnForward: true`",
            )],
        ),
        (
            "prednat no aof",
            gnp("preDNAT: true"),
            &[("E0212", "preDNAT: »true", "`preDNAT` is true")],
        ),
        (
            "both",
            gnp("doNotTrack: true\npreDNAT: true\napplyOnForward: true"),
            &[("E0212", "preDNAT: »true", "cannot both be true")],
        ),
        (
            "prednat egress rules",
            gnp("preDNAT: true\napplyOnForward: true\negress: [{action: Allow}]"),
            &[("E0212", "»egress:", "cannot have egress rules")],
        ),
        (
            "prednat egress type",
            gnp("preDNAT: true\napplyOnForward: true\ntypes: [Ingress, Egress]"),
            &[(
                "E0212",
                "types: »[Ingress, Egress]",
                "cannot have the `Egress` type",
            )],
        ),
        (
            "dnt string",
            gnp("doNotTrack: 'yes'"),
            &[("E0207", "doNotTrack: »'yes'", "`true` or `false`")],
        ),
        (
            "sgnp dnt no aof",
            obj("StagedGlobalNetworkPolicy", None, "doNotTrack: true"),
            &[("E0212", "doNotTrack: »true", "applyOnForward")],
        ),
    ]);
    let v = check(
        "lowered flags",
        &gnp("preDNAT: true\napplyOnForward: true\ningress: [{action: Deny}]"),
        OK,
    );
    let p = &v.cluster.policies[0];
    assert!(p.pre_dnat && p.apply_on_forward && !p.do_not_track);
}

#[test]
fn staged_actions() {
    table(&[
        (
            "set",
            obj(
                "StagedNetworkPolicy",
                Some("ns"),
                "stagedAction: Set\nselector: all()",
            ),
            OK,
        ),
        (
            "learn",
            obj("StagedNetworkPolicy", Some("ns"), "stagedAction: Learn"),
            OK,
        ),
        (
            "ignore",
            obj("StagedGlobalNetworkPolicy", None, "stagedAction: Ignore"),
            OK,
        ),
        (
            "delete bare",
            obj("StagedNetworkPolicy", Some("ns"), "stagedAction: Delete"),
            OK,
        ),
        (
            "delete with tier",
            format!(
                "{SECURITY_TIER}{}",
                obj(
                    "StagedGlobalNetworkPolicy",
                    None,
                    "stagedAction: Delete\ntier: security"
                )
            ),
            OK,
        ),
        (
            "delete with empty fields",
            obj(
                "StagedNetworkPolicy",
                Some("ns"),
                "stagedAction: Delete\nselector: ''\ningress: []",
            ),
            OK,
        ),
        (
            "delete with selector",
            obj(
                "StagedNetworkPolicy",
                Some("ns"),
                "stagedAction: Delete\nselector: all()",
            ),
            &[(
                "E0213",
                "»selector: all()",
                "must be empty when `stagedAction` is `Delete`",
            )],
        ),
        (
            "delete with order and rules",
            obj(
                "StagedGlobalNetworkPolicy",
                None,
                "stagedAction: Delete\norder: 10\negress: [{action: Allow}]",
            ),
            &[
                ("E0213", "»order", "must be empty"),
                ("E0213", "»egress", "must be empty"),
            ],
        ),
        (
            "lowercase",
            obj("StagedNetworkPolicy", Some("ns"), "stagedAction: delete"),
            &[("E0213", "stagedAction: »delete", "did you mean `Delete`")],
        ),
        (
            "unknown",
            obj("StagedNetworkPolicy", Some("ns"), "stagedAction: Apply"),
            &[("E0213", "stagedAction: »Apply", "unknown staged action")],
        ),
    ]);
    let v = check(
        "delete lowered",
        &obj("StagedNetworkPolicy", Some("ns"), "stagedAction: Delete"),
        OK,
    );
    let p = &v.cluster.policies[0];
    assert_eq!(p.kind, PolicyKind::StagedNetworkPolicy);
    assert_eq!(p.staged_action, Some(StagedAction::Delete));
    let v = check(
        "default set",
        &obj("StagedGlobalNetworkPolicy", None, "selector: all()"),
        OK,
    );
    assert_eq!(v.cluster.policies[0].staged_action, Some(StagedAction::Set));
    let v = check("enforced", &gnp("selector: all()"), OK);
    assert_eq!(v.cluster.policies[0].staged_action, None);
}

#[test]
fn tiers_of_policies() {
    table(&[
        ("default", gnp("tier: default"), OK),
        (
            "declared",
            format!("{SECURITY_TIER}{}", gnp("tier: security")),
            OK,
        ),
        ("builtin kube-admin", gnp("tier: kube-admin"), OK),
        ("builtin kube-baseline", np("tier: kube-baseline"), OK),
        (
            "undeclared",
            gnp("tier: security"),
            &[("E0404", "tier: »security", "tier `security` does not exist")],
        ),
        (
            "undeclared np",
            np("tier: platform"),
            &[(
                "E0404",
                "tier: »platform",
                "add a Tier resource named `platform`",
            )],
        ),
        (
            "invalid tier name",
            gnp("tier: Security"),
            &[("E0215", "tier: »Security", "not a valid tier name")],
        ),
        (
            "undeclared with other errors",
            gnp("tier: security\ntypes: [ingress]"),
            &[
                ("E0404", "tier: »security", "does not exist"),
                ("E0210", "[»ingress]", "did you mean `Ingress`"),
            ],
        ),
        (
            "dotted tier name",
            gnp("tier: a.b"),
            &[("E0215", "tier: »a.b", "not a valid tier name")],
        ),
    ]);
    let v = check(
        "tier lowered",
        &format!("{SECURITY_TIER}{}", gnp("tier: security\norder: 5")),
        OK,
    );
    let p = &v.cluster.policies[0];
    assert_eq!(&*p.tier, "security");
    assert_eq!(p.order, Some(5.0));
    let v = check("default tier", &np("selector: all()"), OK);
    assert_eq!(&*v.cluster.policies[0].tier, "default");
    assert_eq!(v.cluster.policies[0].order, None);
}

#[test]
fn legacy_tier_prefix() {
    let v = check(
        "default prefix",
        &named("GlobalNetworkPolicy", "default.allow-dns", ""),
        &[(
            "N0202",
            "name: »default.allow-dns",
            "read as policy `allow-dns` in tier `default`",
        )],
    );
    assert_eq!(&*v.cluster.policies[0].name, "allow-dns");
    let v = check(
        "security prefix",
        &format!(
            "{SECURITY_TIER}{}",
            obj("GlobalNetworkPolicy", None, "tier: security")
                .replace("name: n", "name: security.block")
        ),
        &[(
            "N0202",
            "name: »security.block",
            "legacy `<tier>.<name>` form",
        )],
    );
    assert_eq!(&*v.cluster.policies[0].name, "block");
    assert_eq!(&*v.cluster.policies[0].tier, "security");
    check(
        "prefix names another tier",
        &format!(
            "{SECURITY_TIER}{}",
            named("NetworkPolicy", "security.block", "  namespace: ns\n")
        ),
        &[(
            "E0215",
            "name: »security.block",
            "has the prefix of tier `security` but the policy is in tier `default`",
        )],
    );
    let v = check(
        "dotted non-tier name",
        &named("GlobalNetworkPolicy", "web.allow", ""),
        OK,
    );
    assert_eq!(&*v.cluster.policies[0].name, "web.allow");
    let v = check(
        "knp alias kept",
        &named("NetworkPolicy", "knp.default.web", ""),
        OK,
    );
    assert_eq!(&*v.cluster.policies[0].name, "knp.default.web");
}

#[test]
fn rule_limit() {
    let mut spec = String::from("ingress:\n");
    for _ in 0..1024 {
        spec.push_str("  - action: Allow\n");
    }
    check("1024 rules", &gnp(&spec), OK);
    spec.push_str("  - action: Deny\n");
    check(
        "1025 rules",
        &gnp(&spec),
        &[(
            "E0216",
            "»ingress:",
            "1025 rules, more than the limit of 1024",
        )],
    );
}

#[test]
fn lowering_of_a_policy() {
    let v = check(
        "full",
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: backend\n  namespace: prod\n  labels: {team: a}\n  annotations: {note: x}\nspec:\n  order: 10\n  selector: app == 'backend'\n  serviceAccountSelector: has(sa)\n  performanceHints: [AssumeNeededOnEveryNode]\n  ingress:\n    - action: Allow\n  egress:\n    - action: Deny\n    - action: Log\n",
        OK,
    );
    let p = &v.cluster.policies[0];
    assert_eq!(p.kind, PolicyKind::NetworkPolicy);
    assert_eq!(&*p.name, "backend");
    assert_eq!(p.namespace.as_deref(), Some("prod"));
    assert_eq!(p.order, Some(10.0));
    assert!(p.service_account_selector.is_some());
    assert!(p.namespace_selector.is_none());
    assert_eq!(p.ingress.len(), 1);
    assert_eq!(p.egress.len(), 2);
    assert_eq!(p.labels.get("team").map(|s| &**s), Some("a"));
    assert_eq!(p.annotations.get("note").map(|s| &**s), Some("x"));
    assert_eq!(p.performance_hints.len(), 1);
    assert_eq!(p.loc.as_ref().unwrap().line_col(), (1, 1));
    assert!(p.types.ingress && p.types.egress && p.types.inferred);
}
