//! `cargo bench -p tabby-lint`: every check over generated clusters of the same
//! shape as the reach benchmark (pods, pods/50 namespaces, pods/5 policies: 10,000
//! pods in 200 namespaces with 2,000 policies). The engine is built outside the
//! timed part.

use tabby_eval::{gen::synthetic_cluster, Engine, EngineOptions};
use tabby_lint::{lint, LintConfig};

fn main() {
    divan::main();
}

#[divan::bench(args = [1_000, 10_000], sample_count = 3)]
fn lint_synthetic(bencher: divan::Bencher, pods: usize) {
    let c = synthetic_cluster(pods, (pods / 50).max(2), pods / 5, 7);
    let e = Engine::new(&c, EngineOptions::default());
    let cfg = LintConfig::default();
    bencher.bench_local(|| lint(&e, &cfg));
}
