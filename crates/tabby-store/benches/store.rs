//! Store throughput and watch latency, on both backends (docs/bench/store.md).
//!
//! `cargo bench -p tabby-store --bench store`; etcd at `$TABBY_TEST_ETCD` or a private
//! one-member etcd started by the bench (`scripts/services/etcd.sh start` prints one).
//!
//! - `apply_one`: one object per commit (an update: its order changes every time).
//! - `apply_batch_100`: 100 objects in one commit (one transaction).
//! - `write_to_event`: an update, then the wait until a watch delivers its event;
//!   subtracting `apply_one` gives the delivery latency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench setup fails loudly"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use divan::Bencher;
use serde_json::json;
use tabby_api::Resource;
use tabby_store::{Embedded, Etcd, EtcdOptions, Op, Store};

fn main() {
    divan::main();
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn policy(name: &str, order: u64) -> Resource {
    Resource::from_json(json!({
        "apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
        "metadata": {"name": name, "labels": {"bench": "store"}},
        "spec": {"order": order, "selector": "app == 'web'", "types": ["Ingress", "Egress"],
                 "ingress": [{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'frontend'"},
                              "destination": {"ports": [443, 8443]}}],
                 "egress": [{"action": "Allow", "protocol": "UDP", "destination": {"ports": [53]}}]}
    }))
    .unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Backend {
    Embedded,
    Etcd,
}

struct Held {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

fn open(b: Backend) -> Held {
    match b {
        Backend::Embedded => {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(Embedded::open(&dir.path().join("bench.redb")).unwrap());
            Held {
                store,
                _dir: Some(dir),
            }
        }
        Backend::Etcd => {
            let eps = tabby_store::testing::test_etcd_endpoints().unwrap();
            Held {
                store: Arc::new(Etcd::new(&eps, EtcdOptions::default()).unwrap()),
                _dir: None,
            }
        }
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "bench-{prefix}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

const BACKENDS: &[Backend] = &[Backend::Embedded, Backend::Etcd];

#[divan::bench(args = BACKENDS, sample_count = 30, sample_size = 5)]
fn apply_one(bencher: Bencher, backend: &Backend) {
    let h = open(*backend);
    let name = unique("one");
    let n = AtomicU64::new(1);
    bencher.bench_local(|| {
        let order = n.fetch_add(1, Ordering::Relaxed);
        h.store.apply(&policy(&name, order)).unwrap()
    });
}

#[divan::bench(args = BACKENDS, sample_count = 10, sample_size = 1)]
fn apply_batch_100(bencher: Bencher, backend: &Backend) {
    let h = open(*backend);
    let names: Vec<String> = (0..100).map(|i| unique(&format!("batch{i}"))).collect();
    let n = AtomicU64::new(1);
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            let order = n.fetch_add(1, Ordering::Relaxed);
            let ops: Vec<Op> = names
                .iter()
                .map(|nm| Op::Apply(policy(nm, order)))
                .collect();
            h.store.commit(&ops).unwrap()
        });
}

#[divan::bench(args = BACKENDS, sample_count = 30, sample_size = 5)]
fn write_to_event(bencher: Bencher, backend: &Backend) {
    let h = open(*backend);
    let name = unique("watch");
    let mut w = h.store.watch(0).unwrap();
    let n = AtomicU64::new(1);
    bencher.bench_local(|| {
        let order = n.fetch_add(1, Ordering::Relaxed);
        let rev = h
            .store
            .apply(&policy(&name, order))
            .unwrap()
            .stored
            .revision;
        loop {
            let e = w
                .next_timeout(Duration::from_secs(10))
                .unwrap()
                .expect("an event within 10 s");
            if e.revision >= rev && e.stored.key.name() == name {
                break;
            }
        }
    });
}
