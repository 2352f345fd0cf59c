//! The `decide` benchmark's workload as a plain loop, for profilers that count
//! instructions and cache misses (the numbers in docs/benchmarks.md):
//!
//! ```sh
//! cargo build --release -p tabby-eval --example decide_loop
//! valgrind --tool=callgrind --cache-sim=yes --toggle-collect='*decide_rounds*' \
//!     target/release/examples/decide_loop 5
//! ```
//!
//! Instructions per decision = the collected total / (rounds × 10,000).

use std::hint::black_box;

use tabby_eval::{gen, Engine, EngineOptions, Flow};

#[inline(never)]
fn decide_rounds(engine: &Engine, flows: &[Flow], rounds: usize) -> usize {
    let mut allowed = 0;
    for _ in 0..rounds {
        for f in flows {
            allowed += usize::from(engine.decide(black_box(f)).allowed);
        }
    }
    allowed
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let heavy = std::env::args().nth(2).is_some_and(|a| a == "gnp-heavy");
    let cluster = gen::synthetic_cluster_mix(10_000, 50, 1_000, 1, if heavy { 20 } else { 5 });
    let engine = Engine::new(&cluster, EngineOptions::default());
    let flows = gen::synthetic_flows(&cluster, 10_000, 2);
    let t = std::time::Instant::now();
    let allowed = decide_rounds(&engine, &flows, rounds);
    let secs = t.elapsed().as_secs_f64();
    let n = (rounds * flows.len()) as f64;
    println!(
        "{} decisions, {} allowed, {:.2} M/s",
        n,
        allowed,
        n / secs / 1e6
    );
}
