//! End-to-end tests of the `tabby` binary: exit codes, stdout/stderr split, formats.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test loudly"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tabby(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run tabby")
}

fn tabby_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tabby");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn selector_fmt_prints_the_canonical_form() {
    let out = tabby(&["selector", "fmt", "app=='web' && tier in {'b','a','b'}"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "(app == \"web\" && tier in {\"a\", \"b\"})\n"
    );
}

#[test]
fn selector_fmt_error_has_a_caret_under_the_column_and_exits_1() {
    let out = tabby(&["selector", "fmt", "app = 'web'"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].contains("column 5"), "{err}");
    assert_eq!(lines[1], "  app = 'web'");
    assert_eq!(lines[2], "      ^");
    assert!(out.stdout.is_empty());
}

#[test]
fn selector_match_answers_true_and_false() {
    let t = tabby(&[
        "selector",
        "match",
        "app == 'web' && !has(canary)",
        "--labels",
        r#"{"app":"web"}"#,
    ]);
    assert_eq!(text(&t.stdout), "true\n");
    let f = tabby(&[
        "selector",
        "match",
        "app == 'web' && !has(canary)",
        "--labels",
        "app=web,canary=yes",
    ]);
    assert_eq!(text(&f.stdout), "false\n");
    assert_eq!(f.status.code(), Some(0));
    let bad = tabby(&["selector", "match", "app ==", "--labels", "{}"]);
    assert_eq!(bad.status.code(), Some(1));
    let usage = tabby(&["selector", "match", "all()", "--labels", "{\"a\": 1}"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn validate_the_seed_policies_is_valid_with_the_domains_warning() {
    let out = tabby(&["validate", "examples/policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("examples/policies/backend-egress.yaml:23:9: warning[W0201]"),
        "{err}"
    );
    assert!(text(&out.stdout).starts_with("valid: 5 resources in 5 files, 0 errors, 1 warning"));
}

#[test]
fn validate_reports_errors_with_position_and_exits_1() {
    let yaml = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: bad\nspec:\n  selector: app = 'x'\n  ingress:\n    - action: Allwo\n";
    let out = tabby_stdin(&["validate", "-"], yaml);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("-:6:"), "{err}");
    assert!(err.contains("-:8:"), "{err}");
    assert!(err.contains("Allow"), "did-you-mean expected: {err}");
    assert!(text(&out.stdout).starts_with("invalid:"));
}

#[test]
fn validate_json_output_is_stable() {
    let yaml = "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata:\n  name: Bad_Tier\n";
    let out = tabby_stdin(&["validate", "-o", "json", "-"], yaml);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["resources"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "-");
    assert_eq!(d["line"], 4);
    assert!(d["code"].as_str().unwrap().starts_with('E'));
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let out = tabby(&["validate", "--deny-warnings", "examples/policies"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(tabby(&["validate"]).status.code(), Some(2));
    assert_eq!(tabby(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(tabby(&["--help"]).status.code(), Some(0));
}

#[test]
fn missing_files_are_reported_not_panicked() {
    let out = tabby(&["validate", "does/not/exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does/not/exist.yaml"));
}
