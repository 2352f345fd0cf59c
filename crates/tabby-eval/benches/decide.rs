//! Decision throughput of the engine on a synthetic cluster of 10,000 endpoints
//! and 1,000 policies, plus the time to build the engine.
//!
//! Run: `cargo bench -p tabby-eval --bench decide`. `AllocProfiler` reports
//! allocations per iteration: the `decide` rows must show none.

use std::hint::black_box;
use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::{AllocProfiler, Bencher};
use tabby_eval::{gen, Engine, EngineOptions, Flow};
use tabby_model::Cluster;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const PODS: usize = 10_000;
const NAMESPACES: usize = 50;
const POLICIES: usize = 1_000;
const FLOWS: usize = 10_000;

fn cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| gen::synthetic_cluster(PODS, NAMESPACES, POLICIES, 1))
}

fn setup() -> &'static (Engine, Vec<Flow>) {
    static E: OnceLock<(Engine, Vec<Flow>)> = OnceLock::new();
    E.get_or_init(|| {
        let c = cluster();
        let e = Engine::new(c, EngineOptions::default());
        let (groups, classes, intervals) = e.index_stats();
        eprintln!(
            "engine: {} endpoints, {} policies, {} selectors, {} label groups, {} address classes, {} intervals, {} programs",
            e.endpoints().len(),
            e.policies().len(),
            e.selectors().len(),
            groups,
            classes,
            intervals,
            e.program_count()
        );
        let flows = gen::synthetic_flows(c, FLOWS, 2);
        let allowed = flows.iter().filter(|f| e.decide(f).allowed).count();
        eprintln!("flows: {FLOWS}, allowed: {allowed}");
        (e, flows)
    })
}

fn main() {
    divan::main();
}

/// Decisions per second, no trace (10,000 flows per iteration).
#[divan::bench]
fn decide(bencher: Bencher) {
    let (engine, flows) = setup();
    bencher
        .counter(ItemsCount::new(flows.len()))
        .bench(|| {
            for f in flows {
                black_box(engine.decide(black_box(f)));
            }
        });
}

/// Traced decisions (allocates: builds the explanation).
#[divan::bench(sample_count = 10)]
fn trace(bencher: Bencher) {
    let (engine, flows) = setup();
    let some = &flows[..1_000];
    bencher
        .counter(ItemsCount::new(some.len()))
        .bench(|| {
            for f in some {
                black_box(engine.trace(black_box(f)));
            }
        });
}

/// Building the engine from the cluster.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn engine_new(bencher: Bencher) {
    let c = cluster();
    bencher.bench(|| Engine::new(black_box(c), EngineOptions::default()));
}
