//! Loader throughput on a generated ~10 MB multi-document YAML file of policies, and the
//! same objects as a JSON stream.
//!
//! Run: `cargo bench -p tabby-load --bench load` (divan prints bytes/s per benchmark).

use divan::counter::BytesCount;
use divan::Bencher;
use tabby_load::{load_str, LoadOptions};

fn main() {
    divan::main();
}

const TARGET_BYTES: usize = 10 * 1024 * 1024;

fn policy_yaml(i: usize) -> String {
    format!(
        "---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: policy-{i}
  namespace: ns-{ns}
  labels:
    team: team-{team}
    app: app-{i}
spec:
  tier: default
  order: {order}
  selector: app == 'app-{i}' && tier in {{'web', 'api'}}
  types: [Ingress, Egress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == \"frontend\"
        namespaceSelector: team == 'team-{team}'
      destination:
        ports: [80, 443, '8000:8080']
    - action: Deny
      source:
        nets: [10.{a}.0.0/16, 192.168.{b}.0/24]
  egress:
    - action: Allow
      protocol: UDP
      destination:
        selector: k8s-app == 'kube-dns'
        ports: [53]
    - action: Pass
",
        ns = i % 50,
        team = i % 7,
        order = (i % 1000) as f64 + 0.5,
        a = i % 256,
        b = (i / 256) % 256,
    )
}

fn yaml_input() -> String {
    let mut s = String::with_capacity(TARGET_BYTES + 4096);
    let mut i = 0;
    while s.len() < TARGET_BYTES {
        s.push_str(&policy_yaml(i));
        i += 1;
    }
    s
}

fn json_input(yaml: &str) -> String {
    let loaded = load_str("bench.yaml", yaml, &LoadOptions::default());
    let mut s = String::with_capacity(yaml.len());
    for obj in &loaded.objects {
        s.push_str(&serde_json::to_string_pretty(&obj.node.to_json()).unwrap_or_default());
        s.push('\n');
    }
    s
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn yaml_10mb(bencher: Bencher) {
    let input = yaml_input();
    bencher.counter(BytesCount::of_str(&input)).bench(|| {
        load_str(
            "bench.yaml",
            divan::black_box(&input),
            &LoadOptions::default(),
        )
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn json_stream_10mb(bencher: Bencher) {
    let input = json_input(&yaml_input());
    bencher.counter(BytesCount::of_str(&input)).bench(|| {
        load_str(
            "bench.json",
            divan::black_box(&input),
            &LoadOptions::default(),
        )
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn yaml_10mb_decode_json_values(bencher: Bencher) {
    let input = yaml_input();
    let loaded = load_str("bench.yaml", &input, &LoadOptions::default());
    bencher.counter(BytesCount::of_str(&input)).bench(|| {
        for obj in &loaded.objects {
            let _ = divan::black_box(obj.decode::<serde_json::Value>());
        }
    });
}

/// yaml-rust2's event parser alone, as a floor for `yaml_10mb`.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn yaml_10mb_parser_events_only(bencher: Bencher) {
    let input = yaml_input();
    bencher.counter(BytesCount::of_str(&input)).bench(|| {
        let mut parser = yaml_rust2::parser::Parser::new_from_str(divan::black_box(&input));
        let mut n = 0usize;
        while let Ok((ev, _)) = parser.next_token() {
            if ev == yaml_rust2::parser::Event::StreamEnd {
                break;
            }
            n += 1;
        }
        n
    });
}
