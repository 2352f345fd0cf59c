//! Loading fixtures for the tests.

#![allow(dead_code, reason = "each test file uses a part")]
#![allow(clippy::unwrap_used, reason = "test helpers")]

use std::path::PathBuf;

use tabby_eval::{Engine, EngineOptions};
use tabby_lint::{lint, Finding, LintConfig};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Engine over files/directories relative to the repository root.
pub fn engine_paths(paths: &[&str]) -> Engine {
    let paths: Vec<PathBuf> = paths.iter().map(|p| repo().join(p)).collect();
    let loaded = tabby_load::load_paths(&paths, &tabby_load::LoadOptions::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    let v = tabby_validate::validate(&loaded.objects);
    assert!(!v.diagnostics.has_errors(), "{:?}", v.diagnostics);
    Engine::new(&v.cluster, EngineOptions::default())
}

/// Engine over the bundled example cluster plus YAML text.
pub fn engine_with(yaml: &str) -> Engine {
    let cluster = repo().join("examples/cluster");
    let mut loaded = tabby_load::load_paths(&[cluster], &tabby_load::LoadOptions::default());
    let extra = tabby_load::load_str("fixture.yaml", yaml, &tabby_load::LoadOptions::default());
    assert!(!extra.diagnostics.has_errors(), "{:?}", extra.diagnostics);
    loaded.objects.extend(extra.objects);
    let v = tabby_validate::validate(&loaded.objects);
    assert!(!v.diagnostics.has_errors(), "{:?}", v.diagnostics);
    Engine::new(&v.cluster, EngineOptions::default())
}

pub fn run(e: &Engine) -> Vec<Finding> {
    lint(e, &LintConfig::default())
}

pub fn codes(f: &[Finding]) -> Vec<&'static str> {
    let mut v: Vec<_> = f.iter().map(|f| f.code).collect();
    v.dedup();
    v
}

/// Decides a counterexample again: `allow` or `deny`.
pub fn reverdict(e: &Engine, x: &tabby_lint::FlowExample) -> &'static str {
    let f = tabby_eval::Flow::from_parts(
        x.from_ip.parse().unwrap(),
        x.to_ip.parse().unwrap(),
        &x.protocol,
        x.port,
    )
    .unwrap();
    if e.decide(&f).allowed {
        "allow"
    } else {
        "deny"
    }
}
