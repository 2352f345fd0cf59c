//! Property test: any document shaped roughly like a Calico object (keys drawn from
//! Calico's field names, values of any type) validates without panicking, and
//! every diagnostic has a location inside the input.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tabby_load::{load_str, LoadOptions};

const KEYS: &[&str] = &[
    "selector",
    "types",
    "ingress",
    "egress",
    "order",
    "tier",
    "action",
    "protocol",
    "notProtocol",
    "ipVersion",
    "icmp",
    "notICMP",
    "type",
    "code",
    "source",
    "destination",
    "nets",
    "notNets",
    "ports",
    "notPorts",
    "notSelector",
    "namespaceSelector",
    "serviceAccounts",
    "names",
    "services",
    "name",
    "namespace",
    "http",
    "methods",
    "paths",
    "exact",
    "prefix",
    "domains",
    "doNotTrack",
    "preDNAT",
    "applyOnForward",
    "stagedAction",
    "performanceHints",
    "node",
    "interfaceName",
    "expectedIPs",
    "profiles",
    "port",
    "ipNetworks",
    "labelsToApply",
    "defaultAction",
    "metadata",
    "annotations",
    "labels",
    "allowedEgressDomains",
    "globalNetworkSet",
    "pull",
    "period",
];
const KINDS: &[&str] = &[
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    "HostEndpoint",
    "WorkloadEndpoint",
    "Profile",
    "GlobalThreatFeed",
];
const STRINGS: &[&str] = &[
    "",
    "all()",
    "global()",
    "TCP",
    "tcp",
    "ICMP",
    "Allow",
    "Pass",
    "Delete",
    "Ingress",
    "Egress",
    "10.0.0.0/8",
    "0.0.0.0/0",
    "::/0",
    "fd00::1",
    "80:90",
    "0:1",
    "http",
    "a == 'b'",
    "a = ",
    "default",
    "kube-admin",
    "*",
    "99999999999999999999",
    "-",
    "é",
    "24h",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-5i64..70000).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(STRINGS).prop_map(|s| json!(s)),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_owned(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn never_panics(kind in prop::sample::select(KINDS), spec in tree(), meta in tree(), name in prop::sample::select(STRINGS)) {
        let mut metadata = match meta { Value::Object(m) => m, _ => Map::new() };
        metadata.insert("name".into(), json!(name));
        let doc = json!({"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": metadata, "spec": spec});
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let loaded = load_str("t.json", &text, &LoadOptions::default());
        let v = tabby_validate::validate(&loaded.objects);
        for d in v.diagnostics.iter() {
            let loc = d.loc.as_ref().expect("every diagnostic has a location");
            prop_assert!(loc.span().end <= text.len());
            prop_assert!(!d.message.is_empty());
        }
        // Built-in tiers are always present.
        prop_assert!(v.cluster.tier("default").is_some());
    }
}
