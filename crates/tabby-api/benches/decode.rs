//! Decoding and re-encoding throughput of the wire types on 10,000 generated
//! policies (JSON values in memory, as the loader hands them over).
//!
//! Run: `cargo bench -p tabby-api --bench decode`.
#![allow(clippy::unwrap_used, reason = "bench setup")]

use divan::counter::ItemsCount;
use divan::Bencher;
use serde_json::{json, Value};
use tabby_api::{decode_resource, Kind};

fn main() {
    divan::main();
}

const N: usize = 10_000;

fn policy(i: usize) -> Value {
    json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "NetworkPolicy",
        "metadata": {"name": format!("policy-{i}"), "namespace": format!("ns-{}", i % 50),
                     "labels": {"team": format!("team-{}", i % 7)}},
        "spec": {
            "tier": "default", "order": i % 1000, "selector": format!("app == 'app-{i}'"),
            "types": ["Ingress", "Egress"],
            "ingress": [{"action": "Allow", "protocol": "TCP",
                         "source": {"selector": "role == 'frontend'", "namespaceSelector": "all()"},
                         "destination": {"ports": [80, 443, "8000:8080"]}}],
            "egress": [{"action": "Allow", "protocol": "UDP",
                        "destination": {"selector": "k8s-app == 'kube-dns'", "ports": [53]}},
                       {"action": "Deny", "destination": {"nets": ["10.0.0.0/8", "192.168.0.0/16"]}}]
        }
    })
}

#[divan::bench]
fn decode(b: Bencher) {
    let docs: Vec<Value> = (0..N).map(policy).collect();
    b.counter(ItemsCount::new(N))
        .with_inputs(|| docs.clone())
        .bench_values(|docs| {
            docs.into_iter()
                .map(|d| decode_resource(Kind::NetworkPolicy, d).unwrap())
                .collect::<Vec<_>>()
        });
}

#[divan::bench]
fn encode(b: Bencher) {
    let res: Vec<_> = (0..N)
        .map(|i| decode_resource(Kind::NetworkPolicy, policy(i)).unwrap())
        .collect();
    b.counter(ItemsCount::new(N)).bench(|| {
        res.iter()
            .map(|r| serde_json::to_value(r).unwrap())
            .collect::<Vec<_>>()
    });
}
