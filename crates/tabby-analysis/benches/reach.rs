//! `cargo bench -p tabby-analysis --bench reach`: whole-cluster reachability on
//! the synthetic generator (pods, namespaces = pods/50, policies = pods/5).

use tabby_analysis::{reach, ReachOptions};
use tabby_eval::{gen, Engine, EngineOptions};

fn main() {
    divan::main();
}

fn engine(pods: usize) -> Engine {
    let c = gen::synthetic_cluster(pods, (pods / 50).max(2), pods / 5, 7);
    Engine::new(&c, EngineOptions::default())
}

/// Class-level analysis (what `tabby reach` computes before printing).
#[divan::bench(args = [100, 1_000, 10_000], sample_count = 3, sample_size = 1)]
fn reach_classes(bencher: divan::Bencher, pods: usize) {
    let e = engine(pods);
    bencher.bench(|| reach(&e, &ReachOptions::default()));
}

/// The same plus expansion to every real endpoint pair.
#[divan::bench(args = [100, 1_000], sample_count = 3, sample_size = 1)]
fn reach_connections(bencher: divan::Bencher, pods: usize) {
    let e = engine(pods);
    bencher.bench(|| reach(&e, &ReachOptions::default()).connections().len());
}
