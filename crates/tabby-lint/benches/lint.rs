//! `cargo bench -p tabby-lint`: every check over generated clusters.

use tabby_eval::{gen::synthetic_cluster, Engine, EngineOptions};
use tabby_lint::{lint, LintConfig};

fn main() {
    divan::main();
}

#[divan::bench(args = [1_000, 10_000], sample_count = 3)]
fn lint_synthetic(bencher: divan::Bencher, pods: usize) {
    let c = synthetic_cluster(pods, pods / 100, pods / 20, 7);
    let e = Engine::new(&c, EngineOptions::default());
    let cfg = LintConfig::default();
    bencher.bench_local(|| lint(&e, &cfg));
}
