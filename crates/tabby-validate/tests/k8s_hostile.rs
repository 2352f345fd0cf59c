//! Arbitrary values in every field the Kubernetes conversions read: no panic, every
//! diagnostic has a position inside the input, and an object is either converted or
//! reported with an error (never silently dropped).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code reports failures by panicking"
)]

use proptest::prelude::*;
use serde_json::{json, Value};
use tabby_load::{load_str, LoadOptions};
use tabby_validate::validate;

/// Values of every JSON type, biased towards what the fields expect.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-5i64..70_000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9./:_ -]{0,12}".prop_map(Value::from),
        prop::sample::select(vec![
            "TCP",
            "UDP",
            "SCTP",
            "tcp",
            "In",
            "NotIn",
            "Exists",
            "DoesNotExist",
            "Ingress",
            "Egress",
            "Admin",
            "Baseline",
            "Accept",
            "Allow",
            "Deny",
            "Pass",
            "10.0.0.0/8",
            "10.1.0.0/16",
            "fd00::/64",
            "http",
            "0.0.0.0/0",
            "Running",
            "Succeeded",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(doc: &Value) {
    let text = serde_json::to_string_pretty(doc).unwrap();
    let loaded = load_str("h.json", &text, &LoadOptions::default());
    let v = validate(&loaded.objects);
    for d in v.diagnostics.iter() {
        if let Some(loc) = &d.loc {
            assert!(loc.span().end <= text.len(), "{d:?}");
        }
        assert!(!d.message.is_empty());
    }
    let converted = v.cluster.policies.len() + v.cluster.workloads.len() + v.cluster.services.len();
    let reported = v.diagnostics.has_errors() || loaded.diagnostics.has_errors();
    let finished = v.diagnostics.iter().any(|d| d.code == "N0501");
    assert!(
        converted > 0 || reported || finished || loaded.objects.is_empty(),
        "{text}\n{:?}",
        v.diagnostics
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn network_policy(sel in value(), port in value(), proto in value(), end in value(), peer in value(),
                      cidr in value(), except in value(), types in value()) {
        check(&json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {
                "podSelector": {"matchExpressions": [{"key": "a", "operator": sel, "values": ["x"]}]},
                "policyTypes": types,
                "ingress": [{"from": [peer, {"ipBlock": {"cidr": cidr, "except": except}}],
                             "ports": [{"port": port, "protocol": proto, "endPort": end}]}],
            }
        }));
    }

    #[test]
    fn cluster_network_policy(tier in value(), prio in value(), subject in value(), action in value(),
                              peer in value(), proto in value()) {
        check(&json!({
            "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": "p"},
            "spec": {"tier": tier, "priority": prio, "subject": subject,
                     "egress": [{"action": action, "to": [peer], "protocols": [proto]}]}
        }));
    }

    #[test]
    fn pod(labels in value(), ports in value(), probe in value(), status in value()) {
        check(&json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": labels},
            "spec": {"containers": [{"name": "c", "ports": ports, "readinessProbe": probe}]},
            "status": status,
        }));
    }
}
