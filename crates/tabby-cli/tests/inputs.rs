//! How commands treat their inputs: files next to a store or cluster, inputs with
//! errors, inputs without endpoints, and the small sharp edges QA found.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tabby_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .current_dir(dir)
        .env_remove("XDG_DATA_HOME")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn tabby(args: &[&str]) -> Output {
    tabby_in(&repo_root(), args)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DNS_TRACE: &[&str] = &[
    "--from",
    "production/backend",
    "--to",
    "kube-system/coredns",
    "--port",
    "53/UDP",
];

/// Files given with `--store` are "the store plus what is not applied yet": where
/// both hold an object, the file's copy is the one analysed.
#[test]
fn files_given_with_a_store_replace_the_stored_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb").display().to_string();
    let o = tabby(&[
        "apply",
        "-f",
        "examples/cluster",
        "-f",
        "examples/policies",
        "--store",
        &path,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));

    let files = tabby(
        &[
            &["trace", "examples/cluster", "examples/corrected"],
            DNS_TRACE,
        ]
        .concat(),
    );
    assert_eq!(code(&files), 0, "{}", err(&files));
    assert!(out(&files).contains("verdict: ALLOW"), "{}", out(&files));
    let stored = tabby(
        &[
            &["trace", "--store", &path, "examples/corrected"],
            DNS_TRACE,
        ]
        .concat(),
    );
    assert_eq!(code(&stored), code(&files), "{}", err(&stored));
    assert_eq!(out(&stored), out(&files));

    // The duplicate warning sits on the file and names the stored copy it replaces.
    let e = err(&stored);
    let w = e
        .lines()
        .find(|l| l.contains("W0203") && l.contains("`allow-dns`"))
        .unwrap_or_else(|| panic!("no W0203 for allow-dns: {e}"));
    assert!(
        w.starts_with("examples/corrected/allow-dns.yaml:"),
        "the warning should point at the file: {w}"
    );
    assert!(
        w.contains("replaces the one at store:GlobalNetworkPolicy/allow-dns"),
        "{w}"
    );
}

/// A file the YAML parser rejects, and a well-formed resource Calico would reject.
fn bad_inputs(dir: &Path) -> Vec<(String, &'static str)> {
    let syntax = dir.join("syntax.yaml");
    std::fs::write(
        &syntax,
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: x\n  namespace: default\nspec:\n  selector: app == \"a\"\n  ingress:\n  - action: Allow\n    source: {selector: \"a ==\n",
    )
    .unwrap();
    let invalid = dir.join("invalid.yaml");
    std::fs::write(
        &invalid,
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: deny-all\nspec:\n  selector: app = 'web'\n  types: [Ingress]\n",
    )
    .unwrap();
    vec![
        (syntax.display().to_string(), "E0005"),
        (invalid.display().to_string(), "error["),
    ]
}

/// Every analysis refuses to answer (exit 2, nothing on stdout) when an input has
/// an error, after printing it; `validate` and `check` answer "invalid" (exit 1).
#[test]
fn analyses_refuse_to_answer_from_input_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, shown) in bad_inputs(dir.path()) {
        let bad = bad.as_str();
        let trace = [&["trace", "examples/cluster", bad], DNS_TRACE].concat();
        let cases: Vec<(Vec<&str>, i32)> = vec![
            (trace, 2),
            (vec!["reach", "examples/cluster", bad], 2),
            (vec!["reach", "examples/cluster", bad, "-o", "json"], 2),
            (vec!["lint", "examples/cluster", bad], 2),
            (vec!["lint", "examples/cluster", bad, "-o", "json"], 2),
            (
                vec![
                    "diff",
                    "--cluster",
                    "examples/cluster",
                    "examples/policies",
                    bad,
                ],
                2,
            ),
            (
                vec![
                    "replay",
                    "--flows",
                    "examples/flows/normal.jsonl",
                    "examples/cluster",
                    "examples/corrected",
                    bad,
                ],
                2,
            ),
            (
                vec![
                    "recommend",
                    "--flows",
                    "examples/flows/normal.jsonl",
                    "examples/cluster",
                    bad,
                ],
                2,
            ),
            (
                vec![
                    "flows",
                    "generate",
                    "examples/cluster",
                    bad,
                    "--records",
                    "5",
                ],
                2,
            ),
            (vec!["validate", "examples/cluster", bad], 1),
            (vec!["check", "examples/cluster", bad], 1),
        ];
        for (args, want) in cases {
            let o = tabby(&args);
            let e = err(&o);
            assert_eq!(code(&o), want, "{args:?}: {e}");
            assert!(e.contains(shown), "{args:?} should show the error: {e}");
            if want == 2 {
                assert!(out(&o).is_empty(), "{args:?} answered: {}", out(&o));
                assert!(
                    e.contains("error: the input has 1 error (see above); no answer"),
                    "{args:?}: {e}"
                );
            }
        }
    }
}

/// `lint -o sarif` on input with errors: a log of a failed run, each input error a
/// tool execution notification, and no `results` (SARIF's "not analysed").
#[test]
fn lint_sarif_reports_input_errors_as_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let (bad, _) = bad_inputs(dir.path()).remove(0);
    let o = tabby(&["lint", "examples/cluster", &bad, "-o", "sarif"]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let run = &log["runs"][0];
    assert!(run.get("results").is_none(), "{run}");
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let n = notes
        .iter()
        .find(|n| n["descriptor"]["id"] == "E0005")
        .unwrap_or_else(|| panic!("no E0005 notification: {inv}"));
    assert_eq!(n["level"], "error");
    let loc = &n["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], bad.as_str());
    assert_eq!(loc["region"]["startLine"], 10);

    // Valid input: results as before, no failed invocation.
    let o = tabby(&[
        "lint",
        "examples/cluster",
        "examples/policies",
        "-o",
        "sarif",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let log: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!log["runs"][0]["results"].as_array().unwrap().is_empty());
}

/// Policies without the cluster they apply to: `reach` and `diff` cannot answer
/// (every row would be missing) and say how to fix it; `lint` warns and goes on.
#[test]
fn inputs_without_endpoints_are_called_out() {
    for (args, want, fix) in [
        (&["reach", "examples/policies"][..], 2, "--cluster"),
        (
            &["reach", "examples/policies", "-o", "json"][..],
            2,
            "--cluster",
        ),
        (
            &["diff", "examples/policies", "examples/corrected"][..],
            2,
            "--cluster PATH",
        ),
        (&["lint", "examples/policies"][..], 1, "--cluster"),
    ] {
        let o = tabby(args);
        let e = err(&o);
        assert_eq!(code(&o), want, "{args:?}: {e}");
        let line = e
            .lines()
            .find(|l| l.contains("no endpoints"))
            .unwrap_or_else(|| panic!("{args:?} should say there are no endpoints: {e}"));
        assert!(
            line.contains(fix) && line.contains("cluster's files"),
            "{line}"
        );
        let level = if want == 2 { "error: " } else { "warning: " };
        assert!(line.starts_with(level), "{line}");
        if want == 2 {
            assert!(out(&o).is_empty(), "{args:?}: {}", out(&o));
        }
    }
    // With the cluster the same commands answer, and say nothing about endpoints.
    for args in [
        &["reach", "examples/cluster", "examples/policies"][..],
        &[
            "diff",
            "--cluster",
            "examples/cluster",
            "examples/policies",
            "examples/corrected",
        ][..],
    ] {
        let o = tabby(args);
        assert!(code(&o) < 2, "{args:?}: {}", err(&o));
        assert!(!err(&o).contains("no endpoints"), "{args:?}");
        assert!(!out(&o).trim().is_empty());
    }
}

#[test]
fn lint_list_needs_no_path() {
    let o = tabby(&["lint", "--list"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let s = out(&o);
    assert!(s.lines().any(|l| l.starts_with("TL001")), "{s}");
    // Without --list a path (or a cluster source) is still required.
    let o = tabby(&["lint"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("<PATH>"), "{}", err(&o));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// `.tabby.toml` `paths` ignores match the files however they were named on the
/// command line, `..` included.
#[test]
fn lint_ignores_by_path_hold_for_inputs_given_with_dot_dot() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&repo_root().join("examples/cluster"), &root.join("cluster"));
    copy_dir(
        &repo_root().join("examples/policies"),
        &root.join("policies"),
    );
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(
        root.join(".tabby.toml"),
        "[[lint.ignore]]\ncodes = [\"TL006\"]\npaths = [\"policies/namespace-*.yaml\"]\n",
    )
    .unwrap();
    let unignored = tabby_in(root, &["lint", "--no-config", "cluster", "policies"]);
    assert!(out(&unignored).contains("TL006"), "the example has TL006");
    for (cwd, args) in [
        (root.to_path_buf(), vec!["lint", "cluster", "policies"]),
        (root.join("sub"), vec!["lint", "../cluster", "../policies"]),
        (
            root.join("sub"),
            vec!["lint", "../sub/../cluster", "./../policies"],
        ),
    ] {
        let o = tabby_in(&cwd, &args);
        assert!(code(&o) < 2, "{args:?}: {}", err(&o));
        assert!(
            !out(&o).contains("TL006"),
            "{args:?} from {cwd:?}: {}",
            out(&o)
        );
        assert!(
            out(&o).contains("TL0"),
            "other findings remain: {}",
            out(&o)
        );
    }
}

/// `apply --dry-run --flows` reports malformed records (FILE:LINE on stderr) and how
/// many it skipped, as `tabby replay` does, instead of dropping them silently.
#[test]
fn apply_dry_run_reports_malformed_flow_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.redb").display().to_string();
    let o = tabby(&["apply", "-f", "examples/cluster", "--store", &store]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let flows = dir.path().join("bad.jsonl");
    let good = std::fs::read_to_string(repo_root().join("examples/flows/normal.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(
        &flows,
        format!("{first}\nnot json\n{first}\n{{\"v\":1,\"proto\":999}}\n"),
    )
    .unwrap();
    let flows = flows.display().to_string();
    let o = tabby(&[
        "apply",
        "-f",
        "examples/policies",
        "--store",
        &store,
        "--dry-run",
        "--flows",
        &flows,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let e = err(&o);
    for line in [2, 4] {
        assert!(
            e.contains(&format!("{flows}:{line}: error: ")),
            "line {line} not reported: {e}"
        );
    }
    assert!(!e.contains(&format!("{flows}:1:")), "{e}");
    assert!(
        out(&o).contains("2 records read, 2 skipped as malformed"),
        "{}",
        out(&o)
    );
}

/// `validate` counts what it checked; objects it skipped are counted apart.
#[test]
fn validate_counts_skipped_objects_apart() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.yaml");
    std::fs::write(
        &f,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolcy\nmetadata:\n  name: p\nspec: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: s\nspec:\n  nets: [10.0.0.0/8]\n",
    )
    .unwrap();
    let f = f.display().to_string();
    let o = tabby(&["validate", &f]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        out(&o),
        "valid: 1 resource in 1 file (2 skipped: not a kind tabby analyses), 0 errors, 1 warning\n"
    );
    // The misspelt Kubernetes kind is a warning with a suggestion, not a hidden note.
    assert!(
        err(&o).contains("warning[W0507]: `NetworkPolcy` is not a `networking.k8s.io/v1` kind"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("did you mean `NetworkPolicy`?"),
        "{}",
        err(&o)
    );
    let o = tabby(&["validate", &f, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["resources"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(2))
    );
}

/// Reading a store that does not exist yet does not create it; `get NAME` of a
/// missing object prints no table header.
#[test]
fn reads_do_not_create_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let default_store = data.join("tabby/store.redb");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tabby"))
            .args(args)
            .current_dir(repo_root())
            .env("XDG_DATA_HOME", &data)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = run(&["get", "gnp", "nosuch"]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(out(&o), "", "no header without rows");
    assert!(err(&o).contains("`nosuch` not found"), "{}", err(&o));
    assert!(err(&o).contains("no store at"), "{}", err(&o));
    let o = run(&["get", "gnp"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = run(&["apply", "-f", "examples/policies", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("does not exist yet"), "{}", out(&o));
    assert!(
        out(&o).contains("allow-dns created (dry run)"),
        "{}",
        out(&o)
    );
    assert!(!default_store.exists(), "a read created {default_store:?}");
    let named = dir.path().join("named.redb");
    let o = run(&[
        "apply",
        "-f",
        "examples/policies",
        "--dry-run",
        "--store",
        named.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!named.exists());
    // Writing still creates it, and then `get` finds what was written.
    let o = run(&["apply", "-f", "examples/policies"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(default_store.exists());
    let o = run(&["get", "gnp", "allow-dns"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).starts_with("NAME"), "{}", out(&o));
}
