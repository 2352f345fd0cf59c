//! `--cluster`/`--kubeconfig`/`--context` and `tabby snapshot`, end to end, against
//! the recorded Kubernetes API responses of crates/tabby-kube/tests/recorded (served by
//! a local replay server; no real API server runs here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

#[path = "../../tabby-kube/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{kubeconfig, recorded_dir, serve, Scenario, Server};

fn tabby(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tabby"));
    c.args(args)
        .current_dir(support::workspace())
        .env_remove("KUBECONFIG")
        // No ~/.kube/config of the machine running the tests is ever read.
        .env("HOME", std::env::temp_dir().join("tabby-kube-no-home"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run tabby")
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tabby-cli-kube-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cluster(scenario: &str, tag: &str) -> (Server, PathBuf) {
    let server = serve(Scenario::read(&recorded_dir().join(scenario)));
    let kc = kubeconfig(&tempdir(tag), server.port);
    (server, kc)
}

/// `tabby check -o json` without what depends on where objects came from: file
/// counts, notes, source locations, and the warning count (a cluster read adds its
/// own, such as the recorded 403). With `exact_order` false, also without the
/// example flows of findings: which flow is shown first depends on input order, and
/// a cluster lists objects in another order than the example files hold them.
fn verdicts(out: &Output, exact_order: bool) -> Value {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("files");
    m.remove("notes");
    m.remove("warnings");
    strip_locations(&mut v);
    if !exact_order {
        for f in v["findings"].as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("counterexample");
        }
    }
    v
}

fn strip_locations(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "file", "line", "column", "loc", "location", "source", "span",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_locations);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_locations),
        _ => {}
    }
}

/// Text output without source locations (`  --> file:line`).
fn without_locations(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim_start().starts_with("-->"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text output as a sorted set of lines, without locations and without example
/// flows (`  flow: ...`): row order and the flow shown depend on input order.
fn answer(out: &Output) -> Vec<String> {
    let mut lines: Vec<String> = without_locations(out)
        .lines()
        .filter(|l| !l.trim_start().starts_with("flow:"))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

const EXAMPLES: [&str; 2] = ["examples/cluster", "examples/policies"];

#[test]
fn check_of_the_recorded_cluster_matches_check_of_the_examples() {
    let mut args = vec!["check", "-o", "json"];
    args.extend(EXAMPLES);
    let files = verdicts(&tabby(&args, &[]), false);
    assert!(files["tiers"].as_array().is_some_and(|t| !t.is_empty()));
    for scenario in ["crd", "apiserver"] {
        let (_server, kc) = cluster(scenario, &format!("check-{scenario}"));
        let kc = kc.to_str().unwrap();
        let live = verdicts(
            &tabby(&["check", "--kubeconfig", kc, "-o", "json"], &[]),
            false,
        );
        assert_eq!(live, files, "scenario {scenario}");
        // The current context via $KUBECONFIG and --cluster is the same cluster.
        let (_server2, kc2) = cluster(scenario, &format!("env-{scenario}"));
        let env = verdicts(
            &tabby(
                &["check", "--cluster", "-o", "json"],
                &[("KUBECONFIG", &kc2)],
            ),
            false,
        );
        assert_eq!(env, files, "scenario {scenario} via $KUBECONFIG");
    }
}

#[test]
fn snapshot_then_check_offline_gives_the_same_result() {
    let (_server, kc) = cluster("crd", "snapshot");
    let kc = kc.to_str().unwrap();
    let dir = tempdir("snapshot-out").join("snap");
    let dir_s = dir.to_str().unwrap();
    let out = tabby(&["snapshot", "--kubeconfig", kc, "-o", dir_s], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("from context `recorded`"), "{stderr}");
    // The 403 on cronjobs is reported, not fatal.
    assert!(
        stderr.contains("W0901") && stderr.contains("cronjobs"),
        "{stderr}"
    );
    assert!(dir.join("_cluster/namespaces.yaml").is_file());

    let live = tabby(&["check", "--kubeconfig", kc, "-o", "json"], &[]);
    let offline = tabby(&["check", dir_s, "-o", "json"], &[]);
    assert_eq!(verdicts(&offline, true), verdicts(&live, true));
    // The snapshot is read in the order the cluster was: even example flows agree.
    let lint_live = tabby(&["lint", "--kubeconfig", kc], &[]);
    let lint_offline = tabby(&["lint", dir_s], &[]);
    assert_eq!(lint_live.status.code(), lint_offline.status.code());
    assert_eq!(
        without_locations(&lint_live),
        without_locations(&lint_offline)
    );

    // A snapshot restores into a store (no source revisions to compare against).
    let store = dir.parent().unwrap().join("restored.redb");
    let store_s = store.to_str().unwrap();
    let applied = tabby(&["apply", "-f", dir_s, "--store", store_s], &[]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let restored = tabby(&["check", "--store", store_s, "-o", "json"], &[]);
    assert_eq!(verdicts(&restored, true), verdicts(&live, true));

    // Writing into a non-empty directory is refused.
    let again = tabby(&["snapshot", "--kubeconfig", kc, "-o", dir_s], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));
}

/// Every analysis command takes the cluster flags and answers as it does for files.
#[test]
fn every_analysis_command_reads_the_cluster() {
    let (_server, kc) = cluster("apiserver", "commands");
    let kc = kc.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["validate"],
        vec!["lint"],
        vec!["reach", "-o", "csv"],
        vec!["replay", "--flows", "examples/flows/normal.jsonl"],
        vec!["recommend", "--flows", "examples/flows/normal.jsonl"],
        vec![
            "trace",
            "--from",
            "production/backend",
            "--to",
            "kube-system/coredns",
            "--port",
            "53/UDP",
        ],
    ];
    for case in cases {
        let mut with_files = case.clone();
        with_files.extend(EXAMPLES);
        let mut with_cluster = case.clone();
        with_cluster.extend(["--kubeconfig", kc]);
        let a = tabby(&with_files, &[]);
        let b = tabby(&with_cluster, &[]);
        assert_eq!(
            a.status.code(),
            b.status.code(),
            "{case:?}\n{}",
            String::from_utf8_lossy(&b.stderr)
        );
        if case[0] != "validate" {
            assert_eq!(answer(&a), answer(&b), "{case:?}");
        }
    }

    // diff: the live cluster is the shared state, the two policy sets are compared.
    let a = tabby(
        &[
            "diff",
            "--cluster",
            "examples/cluster",
            "examples/policies",
            "examples/corrected",
        ],
        &[],
    );
    let b = tabby(
        &[
            "diff",
            "--kubeconfig",
            kc,
            "--cluster",
            "examples/cluster",
            "examples/policies",
            "examples/corrected",
        ],
        &[],
    );
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(
        b.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
}

#[test]
fn usage_and_connection_errors() {
    // No paths and no cluster: a usage error.
    let out = tabby(&["check"], &[]);
    assert_eq!(out.status.code(), Some(2));
    // A context that does not exist, a cluster that does not answer, no kubeconfig at all.
    let (_server, kc) = cluster("crd", "errors");
    let kcs = kc.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["check", "--kubeconfig", kcs, "--context", "nope"],
            "no context `nope`",
        ),
        (
            vec!["lint", "--kubeconfig", kcs, "--context", "other"],
            "cannot read `/api/v1` from the cluster at `http://127.0.0.1:9/`",
        ),
        (vec!["validate", "--cluster"], "no kubeconfig"),
        (vec!["snapshot", "-o", "x"], "say which cluster to read"),
    ];
    for (args, want) in cases {
        let out = tabby(&args, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
