//! Incremental updates on the 10,000-endpoint / 1,000-policy cluster of the
//! `decide` bench: one policy upsert versus building the engine from scratch.
//!
//! Run: `cargo bench -p tabby-eval --bench incremental`.

use std::hint::black_box;
use std::sync::OnceLock;

use divan::Bencher;
use tabby_eval::{gen, Engine, EngineOptions};
use tabby_model::{Action, Cluster, Policy, PolicyKind, Rule};
use tabby_selector::Selector;

const PODS: usize = 10_000;
const NAMESPACES: usize = 50;
const POLICIES: usize = 1_000;

fn main() {
    divan::main();
}

fn setup() -> &'static (Cluster, Engine) {
    static S: OnceLock<(Cluster, Engine)> = OnceLock::new();
    S.get_or_init(|| {
        let c = gen::synthetic_cluster(PODS, NAMESPACES, POLICIES, 1);
        let e = Engine::new(&c, EngineOptions::default());
        (c, e)
    })
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|_| Selector::all())
}

/// A namespaced policy selecting one app, with one ingress rule.
fn narrow(selector: &str, peer: &str) -> Policy {
    let mut p = gen::policy(
        PolicyKind::NetworkPolicy,
        "bench-upsert",
        Some("ns-3"),
        "default",
    );
    p.selector = sel(selector);
    let mut r = Rule::new(Action::Allow);
    r.source.selector = Some(sel(peer));
    p.ingress = vec![r];
    p.types.ingress = true;
    p.order = Some(50.0);
    p
}

/// The baseline: a full build.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn engine_new(bencher: Bencher) {
    let (c, _) = setup();
    bencher.bench(|| Engine::new(black_box(c), EngineOptions::default()));
}

/// One policy upserted into a built engine. `existing-selectors`: the policy's
/// selectors are already known (no address index rebuild); `new-selectors`: they
/// are new (one selector matched against every label set, address index rebuilt);
/// `select-all`: a GlobalNetworkPolicy selecting every endpoint (every program is
/// resolved again). The clone of the engine is not timed.
#[divan::bench(sample_count = 10, sample_size = 1, args = ["existing-selectors", "new-selectors", "select-all"])]
fn upsert_policy(bencher: Bencher, case: &str) {
    let (_, e) = setup();
    let p = match case {
        "existing-selectors" => narrow("app == 'app-3'", "app == 'app-1'"),
        "new-selectors" => narrow("app == 'app-3' && bench == 'x'", "bench == 'y'"),
        _ => {
            let mut p = gen::policy(
                PolicyKind::GlobalNetworkPolicy,
                "bench-all",
                None,
                "default",
            );
            p.selector = Selector::all();
            p.egress = vec![Rule::new(Action::Pass)];
            p.types.egress = true;
            p.order = Some(1.0);
            p
        }
    };
    bencher
        .with_inputs(|| e.clone())
        .bench_local_values(|mut e| {
            e.upsert_policy(black_box(p.clone()));
            e
        });
}

/// Removing one existing policy.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn remove_policy(bencher: Bencher) {
    let (c, e) = setup();
    let Some(victim) = c.policies.get(c.policies.len() / 2) else {
        return;
    };
    bencher
        .with_inputs(|| e.clone())
        .bench_local_values(|mut e| {
            e.remove_policy(victim.kind, victim.namespace.as_deref(), &victim.name);
            e
        });
}

/// One workload changed: `relabel` gives an existing pod a new label set (matched
/// against every selector); `add` adds a pod with an existing label set; both
/// declare named ports (`http`, `metrics`), so rules using those names are
/// compiled again. `add-no-ports` adds a pod without named ports.
#[divan::bench(sample_count = 10, sample_size = 1, args = ["relabel", "add", "add-no-ports"])]
fn upsert_workload(bencher: Bencher, case: &str) {
    let (c, e) = setup();
    let Some(base) = c.workloads.get(c.workloads.len() / 3) else {
        return;
    };
    let mut w = base.clone();
    if case == "relabel" {
        w.labels.insert("bench".into(), "relabelled".into());
    } else {
        w.name = "bench-added".into();
        w.ips = vec![std::net::IpAddr::from([10, 250, 0, 1])];
        if case == "add-no-ports" {
            w.ports.clear();
        }
    }
    bencher
        .with_inputs(|| e.clone())
        .bench_local_values(|mut e| {
            e.upsert_workload(black_box(w.clone()));
            e
        });
}
