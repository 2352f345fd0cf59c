//! `cargo run -p tabby-analysis --example reach_html -- PODS [group|svg|svg-group] > out`:
//! the HTML page (or SVG picture) for a synthetic cluster.

use tabby_analysis::{reach, ReachOptions};
use tabby_eval::{gen, Engine, EngineOptions};

fn main() {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let mode = std::env::args().nth(2).unwrap_or_default();
    let group = mode.contains("group");
    let c = gen::synthetic_cluster(pods, (pods / 50).max(2), pods / 5, 7);
    let e = Engine::new(&c, EngineOptions::default());
    let r = reach(&e, &ReachOptions::default());
    if mode.contains("svg") {
        print!("{}", r.to_svg(group));
    } else {
        print!("{}", r.to_html(&e, group));
    }
}
