//! Every check: fires on a bad fixture, stays quiet on the fixed one (both on top of
//! the bundled example cluster).

mod common;

use common::*;

const DENY_APPS: &str = "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  order: 1000
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {'kube-system', 'calico-system', 'calico-apiserver', 'tigera-operator'}
  types: [Ingress, Egress]
";

const ALLOW_DNS: &str = "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  order: 100
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name not in {'kube-system', 'calico-system', 'calico-apiserver', 'tigera-operator'}
  types: [Egress]
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

fn doc(parts: &[&str]) -> String {
    parts.join("\n---\n")
}

struct Case {
    code: &'static str,
    bad: String,
    fixed: String,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            code: "TL001",
            bad: doc(&[DENY_APPS]),
            fixed: doc(&[DENY_APPS, ALLOW_DNS]),
        },
        // DNS pods' own ingress denies (clients' egress is open).
        Case {
            code: "TL001",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: dns-lockdown
  namespace: kube-system
spec:
  selector: k8s-app == 'kube-dns'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [9153]
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: dns-lockdown
  namespace: kube-system
spec:
  selector: k8s-app == 'kube-dns'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [9153]
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
    - action: Allow
      protocol: TCP
      destination:
        ports: [53]
"]),
        },
        Case {
            code: "TL002",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default-deny
spec:
  selector: all()
  types: [Ingress]
"]),
            fixed: doc(&[DENY_APPS, ALLOW_DNS]),
        },
        Case {
            code: "TL003",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: production
spec:
  selector: all()
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: production
spec:
  selector: all()
  types: [Ingress, Egress]
"]),
        },
        Case {
            code: "TL004",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: not-system
spec:
  namespaceSelector: projectcalico.org/name != 'kube-system'
  types: [Ingress]
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: not-system
spec:
  namespaceSelector: has(projectcalico.org/name) && projectcalico.org/name != 'kube-system'
  types: [Ingress]
"]),
        },
        Case {
            code: "TL005",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backnd'
  types: [Egress]
  egress:
    - action: Allow
      destination:
        selector: app == 'postgress'
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      destination:
        selector: app == 'postgres'
"]),
        },
        Case {
            code: "TL006",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: namespace-isolation
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == \"{{.Namespace}}\"
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: namespace-isolation
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
"]),
        },
        // Within one policy.
        Case {
            code: "TL007",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
    - action: Deny
      protocol: TCP
      source:
        nets: [10.0.0.0/8]
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Deny
      protocol: TCP
      source:
        nets: [10.0.0.0/8]
    - action: Allow
      protocol: TCP
"]),
        },
        // Selector coverage over the cluster's endpoints: every endpoint the Deny's
        // selector picks is also picked by the earlier Allow's.
        Case {
            code: "TL007",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: app in {'frontend', 'backend'}
    - action: Deny
      source:
        selector: app == 'frontend'
"]),
            // The Deny also picks the postgres pods, which the Allow does not.
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: app in {'frontend', 'backend'}
    - action: Deny
      source:
        selector: app in {'frontend', 'postgres'}
"]),
        },
        Case {
            code: "TL007",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: all()
    - action: Deny
      source:
        selector: app == 'frontend'
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Ingress]
  ingress:
    - action: Allow
      source:
        selector: app == 'backend'
    - action: Deny
      source:
        selector: app == 'frontend'
"]),
        },
        // Proven by set reasoning, not by equal text: two /9s cover the /8 and two
        // port ranges cover 443, so the Deny after them never decides.
        Case {
            code: "TL007",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [10.0.0.0/9, 10.128.0.0/9]
        ports: [1:442, 443:1024]
    - action: Deny
      protocol: TCP
      destination:
        nets: [10.20.0.0/16]
        ports: [443]
"]),
            // The corrected version leaves a gap (port 443), so the Deny decides it.
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [10.0.0.0/9, 10.128.0.0/9]
        ports: [1:442, 444:1024]
    - action: Deny
      protocol: TCP
      destination:
        nets: [10.20.0.0/16]
        ports: [443]
"]),
        },
        // Across policies of one tier: a threat-feed deny after a broader allow.
        Case {
            code: "TL007",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-egress
spec:
  order: 10
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feeds
spec:
  order: 50
  namespaceSelector: has(projectcalico.org/name)
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: threat-feed == 'malicious'
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-egress
spec:
  order: 100
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feeds
spec:
  order: 50
  namespaceSelector: has(projectcalico.org/name)
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: threat-feed == 'malicious'
"]),
        },
        Case {
            code: "TL008",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        domains: [api.stripe.com]
        ports: [443]
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [192.0.2.64/28]
        ports: [443]
"]),
        },
        Case {
            code: "TL009",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      destination:
        nets: [0.0.0.0/0]
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [0.0.0.0/0]
        ports: [443]
"]),
        },
        Case {
            code: "TL010",
            bad: String::new(),
            fixed: doc(&[DENY_APPS, ALLOW_DNS]),
        },
        Case {
            code: "TL011",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: tenants
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: tenant == 'true'
  egress:
    - action: Allow
      destination:
        namespaceSelector: tenant == 'true'
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: tenants
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
  egress:
    - action: Allow
"]),
        },
        // A leak on a port no pod declares (9090 UDP): found by trying every port
        // interval the rules cut, not only declared ports.
        Case {
            code: "TL011",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: tenants
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
    - action: Allow
      protocol: UDP
      source:
        namespaceSelector: tenant == 'true'
      destination:
        ports: [9090]
  egress:
    - action: Allow
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: tenants
spec:
  namespaceSelector: tenant == 'true'
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-a'
    - action: Allow
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
    - action: Allow
      protocol: UDP
      source:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
      destination:
        namespaceSelector: projectcalico.org/name == 'tenant-b'
        ports: [9090]
  egress:
    - action: Allow
"]),
        },
        Case {
            code: "TL012",
            bad: doc(&[
                DENY_APPS,
                "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feeds
spec:
  order: 50
  namespaceSelector: has(projectcalico.org/name)
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: threat-feed == 'malicious'
",
            ]),
            fixed: doc(&[DENY_APPS, ALLOW_DNS]),
        },
        Case {
            code: "TL013",
            bad: doc(&[
                DENY_APPS,
                "
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        selector: app == 'postgres'
        ports: [5432]
",
            ]),
            fixed: doc(&[
                DENY_APPS,
                "
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: backend-egress
  namespace: production
spec:
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        selector: app == 'postgres'
        ports: [5432]
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: postgres-ingress
  namespace: production
spec:
  selector: app == 'postgres'
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: app == 'backend'
      destination:
        ports: [5432]
",
            ]),
        },
        Case {
            code: "TL014",
            bad: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-everything
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
"]),
            fixed: doc(&["
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-everything
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [443]
"]),
        },
        // The article's threat-feed block, bypassed by an allow in an earlier tier.
        Case {
            code: "TL015",
            bad: doc(&[PLATFORM_TIER, WEB_EGRESS_IN_PLATFORM, THREAT_BLOCK]),
            // The block moved to a Pass tier ahead of every other (examples/corrected).
            fixed: doc(&[
                PLATFORM_TIER,
                WEB_EGRESS_IN_PLATFORM,
                SECURITY_TIER,
                &THREAT_BLOCK.replace("order: 50", "tier: security\n  order: 50"),
            ]),
        },
        // Same tier: an allow at a lower order beats the block by `nets`.
        Case {
            code: "TL015",
            bad: doc(&[
                &WEB_EGRESS_DEFAULT.replace("order: 60", "order: 10"),
                NETS_BLOCK,
            ]),
            fixed: doc(&[WEB_EGRESS_DEFAULT, NETS_BLOCK]),
        },
    ]
}

const PLATFORM_TIER: &str = "
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: platform
spec:
  order: 500
  defaultAction: Pass
";

const SECURITY_TIER: &str = "
apiVersion: projectcalico.org/v3
kind: Tier
metadata:
  name: security
spec:
  order: 100
  defaultAction: Pass
";

const WEB_EGRESS_IN_PLATFORM: &str = "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-web-egress
spec:
  tier: platform
  order: 10
  namespaceSelector: projectcalico.org/name == 'production'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        ports: [443]
";

const WEB_EGRESS_DEFAULT: &str = "
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-web-egress
  namespace: production
spec:
  order: 60
  selector: app == 'backend'
  types: [Egress]
  egress:
    - action: Allow
      protocol: TCP
      destination:
        nets: [0.0.0.0/0]
        ports: [443]
";

/// The article's block-threat-feeds, as printed.
const THREAT_BLOCK: &str = "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-threat-feeds
spec:
  order: 50
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      destination:
        selector: threat-feed == 'malicious'
";

const NETS_BLOCK: &str = "
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: block-bad-nets
spec:
  order: 50
  selector: all()
  types: [Egress]
  egress:
    - action: Deny
      protocol: TCP
      destination:
        nets: [203.0.113.0/24]
";

/// TL015 names the endpoint, the blocked address, the allow that wins and the
/// deny's position, and its flow is really allowed by that allow.
#[test]
fn tl015_names_the_bypass() {
    let e = engine_with(&doc(&[PLATFORM_TIER, WEB_EGRESS_IN_PLATFORM, THREAT_BLOCK]));
    let f = run(&e);
    let hits: Vec<_> = f.iter().filter(|f| f.code == "TL015").collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let m = &hits[0].message;
    for part in [
        "egress rule 0 (Deny) of `block-threat-feeds` (tier `default`, order 50)",
        "egress rule 0 (Allow) of `allow-web-egress` in tier `platform`",
        "TCP 443 from `production/",
        "(in `globalnetworkset:threat-feed-malicious`)",
    ] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
    let x = hits[0].counterexample.as_ref().unwrap();
    assert_eq!(x.verdict, "allow");
    assert_eq!(x.decided_by, "0|platform|gnp:allow-web-egress|allow|0");
    assert!(
        x.to_ip.starts_with("198.51.100.")
            || x.to_ip == "203.0.113.66"
            || x.to_ip.starts_with("192.0.2."),
        "{x:?}"
    );
    // Only production endpoints are bypassed; the deny still decides elsewhere.
    assert!(!m.contains("kube-system/"), "{m}");
    // A deny the earlier allow cannot reach (UDP only) is not reported: the probe
    // checks that the deny itself matches the counterexample flow.
    let udp = THREAT_BLOCK.replace(
        "    - action: Deny\n",
        "    - action: Deny\n      protocol: UDP\n",
    );
    assert!(udp.contains("protocol: UDP"));
    let f = run(&engine_with(&doc(&[
        PLATFORM_TIER,
        WEB_EGRESS_IN_PLATFORM,
        &udp,
    ])));
    assert!(
        !f.iter().any(|f| f.code == "TL015"),
        "{}",
        tabby_lint::render_text(&f)
    );
}

#[test]
fn every_check_fires_on_bad_and_not_on_fixed() {
    for c in cases() {
        let bad = run(&engine_with(&c.bad));
        assert!(
            bad.iter().any(|f| f.code == c.code),
            "{} did not fire on its bad fixture; got {:?}\n{}",
            c.code,
            codes(&bad),
            c.bad
        );
        let fixed = run(&engine_with(&c.fixed));
        assert!(
            !fixed.iter().any(|f| f.code == c.code),
            "{} fired on its fixed fixture:\n{}",
            c.code,
            tabby_lint::render_text(&fixed)
        );
        // Every counterexample is a fact: deciding it again gives the reported verdict.
        let e = engine_with(&c.bad);
        for f in bad.iter().filter_map(|f| f.counterexample.as_ref()) {
            assert_eq!(reverdict(&e, f), f.verdict, "{} {f:?}", c.code);
        }
    }
}

#[test]
fn every_check_has_a_fixture_and_a_doc_page() {
    let cs = cases();
    for (code, _, _) in tabby_lint::CHECKS {
        assert!(cs.iter().any(|c| c.code == *code), "{code} has no fixture");
        let page = repo().join(format!("docs/lints/{code}.md"));
        assert!(page.exists(), "{} is missing", page.display());
    }
}

#[test]
fn tl005_hints_the_nearest_label() {
    let c = cases();
    let bad = c.iter().find(|c| c.code == "TL005").map(|c| c.bad.clone());
    let f = run(&engine_with(&bad.unwrap_or_default()));
    let msgs: Vec<&str> = f
        .iter()
        .filter(|f| f.code == "TL005")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("did you mean `backend`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("did you mean `postgres`")),
        "{msgs:?}"
    );
}

#[test]
fn tl001_names_the_deciding_side_and_suggests_a_fix() {
    let f = run(&engine_with(DENY_APPS));
    let dns: Vec<_> = f.iter().filter(|f| f.code == "TL001").collect();
    assert_eq!(dns.len(), 1, "{dns:?}");
    let x = dns[0].counterexample.as_ref().unwrap();
    assert_eq!(
        (x.protocol.as_str(), x.port, x.verdict),
        ("UDP", Some(53), "deny")
    );
    assert_eq!(x.decided_by, "0|default|gnp:default-deny|deny|-1");
    assert!(dns[0]
        .fix_suggestion
        .as_ref()
        .unwrap()
        .contains("k8s-app == 'kube-dns'"));
    // The suggested fix closes it.
    let fixed = run(&engine_with(&doc(&[
        DENY_APPS,
        dns[0].fix_suggestion.as_ref().unwrap(),
    ])));
    assert!(!fixed.iter().any(|f| f.code == "TL001"));
}
