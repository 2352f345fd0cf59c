//! Selector parse and match costs. Run: `cargo bench -p tabby-selector`.
//! Results are recorded in docs/benchmarks.md.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup on fixed inputs"
)]

use std::collections::BTreeMap;

use divan::{black_box, Bencher};
use tabby_selector::{CompiledSelector, Interner, Labels, Selector};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const SIMPLE: &str = r#"app == "web""#;
const HAS: &str = "has(projectcalico.org/namespace)";
const TEN: &str = r#"app == "web" && tier in {"front", "mid"} && env != "prod" && !has(quarantine) && (zone == "a" || zone == "b") && team starts with "pay" && version ends with "-stable" && owner contains "ops" && region not in {"eu-1", "eu-2"} && projectcalico.org/namespace == "shop""#;
/// `TEN` with its three substring terms replaced by equality terms.
const TEN_NO_STRINGS: &str = r#"app == "web" && tier in {"front", "mid"} && env != "prod" && !has(quarantine) && (zone == "a" || zone == "b") && team == "payments" && version == "v1.2-stable" && owner == "devops-team" && region not in {"eu-1", "eu-2"} && projectcalico.org/namespace == "shop""#;
const CONTAINS: &str = r#"owner contains "ops""#;

fn in_100() -> String {
    let vals: Vec<String> = (0..100).map(|i| format!("\"value-{i:03}\"")).collect();
    format!("app in {{{}}}", vals.join(", "))
}

/// An endpoint with 12 labels that matches every benched selector.
fn endpoint() -> Vec<(&'static str, &'static str)> {
    vec![
        ("app", "web"),
        ("tier", "front"),
        ("env", "staging"),
        ("zone", "b"),
        ("team", "payments"),
        ("version", "v1.2-stable"),
        ("owner", "devops-team"),
        ("region", "us-1"),
        ("projectcalico.org/namespace", "shop"),
        ("projectcalico.org/orchestrator", "k8s"),
        ("pod-template-hash", "abc123"),
        ("kubernetes.io/metadata.name", "shop"),
    ]
}

mod parse {
    use super::*;

    #[divan::bench]
    fn simple_eq() -> Selector {
        Selector::parse(black_box(SIMPLE)).unwrap()
    }

    #[divan::bench]
    fn has() -> Selector {
        Selector::parse(black_box(HAS)).unwrap()
    }

    #[divan::bench]
    fn in_100_values(b: Bencher) {
        let s = in_100();
        b.bench(|| Selector::parse(black_box(&s)).unwrap());
    }

    #[divan::bench]
    fn ten_terms() -> Selector {
        Selector::parse(black_box(TEN)).unwrap()
    }

    #[divan::bench]
    fn print_ten_terms(b: Bencher) {
        let s = Selector::parse(TEN).unwrap();
        b.bench(|| black_box(&s).to_string());
    }
}

fn compiled(text: &str) -> (CompiledSelector, Labels, Interner) {
    let mut i = Interner::new();
    let c = CompiledSelector::compile(&Selector::parse(text).unwrap(), &mut i);
    let l = Labels::new(endpoint(), &mut i);
    (c, l, i)
}

fn in_100_hit() -> (CompiledSelector, Labels, Interner) {
    let (c, _, mut i) = compiled(&in_100());
    let mut ep = endpoint();
    ep[0] = ("app", "value-077");
    let l = Labels::new(ep, &mut i);
    (c, l, i)
}

mod match_compiled {
    use super::*;

    fn run(b: Bencher, (c, l, i): (CompiledSelector, Labels, Interner)) {
        assert!(c.matches(&l, &i));
        b.bench_local(|| black_box(&c).matches(black_box(&l), black_box(&i)));
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn simple_eq(b: Bencher) {
        run(b, compiled(SIMPLE));
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn has(b: Bencher) {
        run(b, compiled(HAS));
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn in_100_values(b: Bencher) {
        run(b, in_100_hit());
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn ten_terms(b: Bencher) {
        run(b, compiled(TEN));
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn contains(b: Bencher) {
        run(b, compiled(CONTAINS));
    }

    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn ten_terms_no_substring(b: Bencher) {
        run(b, compiled(TEN_NO_STRINGS));
    }

    /// The 10-term selector without the up-front fetch of its labels.
    // A fixed sample size keeps divan from sizing samples at one iteration,
    // which would report its 20 ns timer floor instead of the match time.
    #[divan::bench(sample_size = 1000)]
    fn ten_terms_lookup_per_term(b: Bencher) {
        let (c, l, i) = compiled(TEN);
        assert!(c.matches_direct(&l, &i));
        b.bench_local(|| black_box(&c).matches_direct(black_box(&l), black_box(&i)));
    }
}

mod match_plain {
    use super::*;

    fn run(b: Bencher, text: &str, labels: BTreeMap<String, String>) {
        let s = Selector::parse(text).unwrap();
        assert!(s.matches(&labels));
        b.bench_local(|| black_box(&s).matches(black_box(&labels)));
    }

    fn map() -> BTreeMap<String, String> {
        endpoint()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[divan::bench]
    fn simple_eq(b: Bencher) {
        run(b, SIMPLE, map());
    }

    #[divan::bench]
    fn in_100_values(b: Bencher) {
        let mut m = map();
        m.insert("app".into(), "value-077".into());
        run(b, &in_100(), m);
    }

    #[divan::bench]
    fn ten_terms(b: Bencher) {
        run(b, TEN, map());
    }
}

mod build {
    use super::*;

    #[divan::bench]
    fn compile_ten_terms(b: Bencher) {
        let s = Selector::parse(TEN).unwrap();
        let mut i = Interner::new();
        b.bench_local(|| CompiledSelector::compile(black_box(&s), &mut i));
    }

    #[divan::bench]
    fn labels_12(b: Bencher) {
        let mut i = Interner::new();
        let ep = endpoint();
        b.bench_local(|| Labels::new(black_box(ep.iter().copied()), &mut i));
    }
}
