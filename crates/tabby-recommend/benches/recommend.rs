//! `tabby recommend` end to end in memory: 1M flow records of the 10,000-pod synthetic
//! cluster (tabby-eval's generator, tabby-flowlog's traffic generator), aggregated,
//! turned into policies, rendered, re-validated and proved by replaying every distinct
//! flow. `generate_only` is the cost of making the records, `aggregate_only` adds the
//! streaming aggregation; the difference to the full run is `finish` (plan, render, proof).
//!
//! Run: `cargo bench -p tabby-recommend --bench recommend` (docs/bench/recommend.md).

use std::net::IpAddr;

use tabby_flowlog::gen::{FlowGenerator, GenWorkload};
use tabby_flowlog::FlowRecord;
use tabby_model::Cluster;
use tabby_recommend::{Options, Recommender};

fn main() {
    divan::main();
}

const RECORDS: usize = 1_000_000;

fn setup() -> (Cluster, FlowGenerator) {
    let cluster = tabby_eval::gen::synthetic_cluster(10_000, 50, 1_000, 7);
    let workloads: Vec<GenWorkload> = cluster
        .workloads
        .iter()
        .filter_map(|w| {
            Some(GenWorkload {
                namespace: w.namespace.to_string(),
                name: w.name.to_string(),
                labels: w
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ip: *w.ips.first()?,
                ports: w.ports.iter().map(|p| p.port).collect(),
            })
        })
        .collect();
    let hosts: Vec<IpAddr> = cluster
        .host_endpoints
        .iter()
        .flat_map(|h| h.expected_ips.iter().copied())
        .collect();
    let generator = FlowGenerator::new(workloads, hosts, &[], 11);
    (cluster, generator)
}

#[divan::bench(sample_count = 3)]
fn generate_only(bencher: divan::Bencher<'_, '_>) {
    bencher
        .with_inputs(setup)
        .bench_local_values(|(_, mut generator)| {
            let mut rec = FlowRecord::default();
            let mut n = 0u64;
            for _ in 0..RECORDS {
                generator.next_into(&mut rec);
                n += u64::from(rec.protocol);
            }
            n
        });
}

#[divan::bench(sample_count = 3)]
fn aggregate_only(bencher: divan::Bencher<'_, '_>) {
    bencher
        .with_inputs(setup)
        .bench_local_values(|(_, mut generator)| {
            let mut r = Recommender::new(Options::default());
            let mut rec = FlowRecord::default();
            for _ in 0..RECORDS {
                generator.next_into(&mut rec);
                r.add(&rec);
            }
            r.counts().used
        });
}

#[divan::bench(sample_count = 3)]
fn recommend_1m_records_10k_pods(bencher: divan::Bencher<'_, '_>) {
    bencher
        .with_inputs(setup)
        .bench_local_values(|(cluster, mut generator)| {
            let mut r = Recommender::new(Options::default());
            let mut rec = FlowRecord::default();
            for _ in 0..RECORDS {
                generator.next_into(&mut rec);
                r.add(&rec);
            }
            let out = r.finish(Some(&cluster));
            assert!(out.proof.passed(), "{:?}", out.proof.failures.first());
            out.policy_count()
        });
}
