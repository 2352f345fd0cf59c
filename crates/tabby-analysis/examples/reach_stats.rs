//! `cargo run --release -p tabby-analysis --example reach_stats -- PODS`: one
//! timed reach over the synthetic cluster, with class statistics; `-- PODS diff`
//! also times a diff against the same cluster with 10 more policies.

use std::time::Instant;

use tabby_analysis::{reach, ReachOptions};
use tabby_eval::{gen, Engine, EngineOptions};

fn main() {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let ns = (pods / 50).max(2);
    let c = gen::synthetic_cluster(pods, ns, pods / 5, 7);
    let t = Instant::now();
    let e = Engine::new(&c, EngineOptions::default());
    let built = t.elapsed();
    let t = Instant::now();
    let r = reach(&e, &ReachOptions::default());
    let took = t.elapsed();
    println!(
        "pods={pods} namespaces={ns} policies={} engine={built:?} reach={took:?} units={} classes={} class_pairs_allowing={} decisions={}",
        pods / 5,
        r.units.len(),
        r.classes.len(),
        r.class_pairs.len(),
        r.decisions
    );
    let t = Instant::now();
    let mut n = 0usize;
    r.for_each_connection(|_, _, _| n += 1);
    println!(
        "connections (real endpoint pairs allowing something): {n} in {:?}",
        t.elapsed()
    );
    // JSON streamed into a byte counter (what `-o json` writes to stdout).
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let t = Instant::now();
    let mut c = Count(0);
    r.write_json(&mut c);
    println!("json: {} bytes in {:?}", c.0, t.elapsed());
    if std::env::args().nth(2).as_deref() == Some("diff") {
        // The same cluster with 10 more policies.
        let c2 = gen::synthetic_cluster(pods, ns, pods / 5 + 10, 7);
        let e2 = Engine::new(&c2, EngineOptions::default());
        let t = Instant::now();
        let d = tabby_analysis::diff(&e, &e2, &ReachOptions::default());
        println!(
            "diff (+10 policies): {} entries in {:?}",
            d.entries.len(),
            t.elapsed()
        );
    }
}
