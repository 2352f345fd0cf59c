//! Decision throughput of the engine on a synthetic cluster of 10,000 endpoints
//! and 1,000 policies, plus the time to build the engine.
//!
//! Run: `cargo bench -p tabby-eval --bench decide`. `AllocProfiler` reports
//! allocations per iteration: the `decide` rows must show none.

#![allow(
    clippy::indexing_slicing,
    reason = "benchmark harness with fixed-size tables"
)]

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

/// `realistic`: 5% GlobalNetworkPolicies (the default mix);
/// `gnp-heavy`: 20% GlobalNetworkPolicies selecting large parts of the cluster.
const MIXES: [&str; 2] = ["realistic", "gnp-heavy"];

fn cluster(mix: &str) -> &'static Cluster {
    static C: [OnceLock<Cluster>; 2] = [OnceLock::new(), OnceLock::new()];
    let heavy = mix == "gnp-heavy";
    C[usize::from(heavy)].get_or_init(|| {
        gen::synthetic_cluster_mix(PODS, NAMESPACES, POLICIES, 1, if heavy { 20 } else { 5 })
    })
}

fn setup(mix: &str) -> &'static (Engine, Vec<Flow>) {
    static E: [OnceLock<(Engine, Vec<Flow>)>; 2] = [OnceLock::new(), OnceLock::new()];
    E[usize::from(mix == "gnp-heavy")].get_or_init(|| {
        let c = cluster(mix);
        eprintln!("\n[{mix}]");
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
        for dir in [tabby_model::Direction::Ingress, tabby_model::Direction::Egress] {
            let (mut pols, mut rules, mut n) = (0usize, 0usize, 0usize);
            for ep in e.endpoints() {
                if let Some(p) = e.resolve(ep.id, dir, tabby_eval::View::Enforced) {
                    n += 1;
                    for t in &p.tiers {
                        pols += t.policies.len();
                        rules += t
                            .policies
                            .iter()
                            .filter_map(|id| e.policy(*id))
                            .map(|pe| pe.rules(dir).len())
                            .sum::<usize>();
                    }
                }
            }
            eprintln!(
                "{dir}: {:.1} applicable policies and {:.1} rules per endpoint on average",
                pols as f64 / n.max(1) as f64,
                rules as f64 / n.max(1) as f64
            );
        }
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
#[divan::bench(args = MIXES)]
fn decide(bencher: Bencher, mix: &str) {
    let (engine, flows) = setup(mix);
    bencher.counter(ItemsCount::new(flows.len())).bench(|| {
        for f in flows {
            black_box(engine.decide(black_box(f)));
        }
    });
}

/// Traced decisions (allocates: builds the explanation).
#[divan::bench(sample_count = 10, args = MIXES)]
fn trace(bencher: Bencher, mix: &str) {
    let (engine, flows) = setup(mix);
    let some = &flows[..1_000];
    bencher.counter(ItemsCount::new(some.len())).bench(|| {
        for f in some {
            black_box(engine.trace(black_box(f)));
        }
    });
}

/// Building the engine from the cluster.
#[divan::bench(sample_count = 3, sample_size = 1, args = MIXES)]
fn engine_new(bencher: Bencher, mix: &str) {
    let c = cluster(mix);
    bencher.bench(|| Engine::new(black_box(c), EngineOptions::default()));
}
