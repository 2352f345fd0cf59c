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

#[test]
fn trace_seed_dns_is_denied_at_coredns_and_fixed_by_the_corrected_set() {
    let args = |set: &'static str| {
        vec![
            "trace",
            "examples/cluster",
            set,
            "--from",
            "production/backend",
            "--to",
            "kube-system/coredns",
            "--port",
            "53/UDP",
        ]
    };
    let seed = tabby(&args("examples/policies"));
    assert_eq!(seed.status.code(), Some(1), "{}", text(&seed.stderr));
    let out = text(&seed.stdout);
    assert!(out.contains("verdict: DENY"), "{out}");
    assert!(out.contains("0|default|gnp:allow-dns|allow|0"), "{out}");
    assert!(out.contains("0|default|gnp:default-deny|deny|-1"), "{out}");
    let fixed = tabby(&args("examples/corrected"));
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stdout));
}

#[test]
fn trace_json_has_the_documented_shape() {
    let out = tabby(&[
        "trace",
        "examples/cluster",
        "examples/policies",
        "--from",
        "production/backend",
        "--to",
        "203.0.113.66",
        "--port",
        "443",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "deny");
    assert!(v["staged_verdict"].is_string());
    assert_eq!(v["egress"]["verdict"], "deny");
    assert_eq!(v["ingress"]["endpoint"], serde_json::Value::Null);
    assert_eq!(
        v["egress"]["flow_log_policies"][0],
        "0|default|gnp:block-threat-feeds|deny|0"
    );
}

#[test]
fn trace_unknown_endpoint_is_a_usage_error_with_a_suggestion() {
    let out = tabby(&[
        "trace",
        "examples/cluster",
        "--from",
        "production/bakend",
        "--to",
        "8.8.8.8",
        "--port",
        "443",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--from: no workload `production/bakend`"),
        "{err}"
    );
    let bad_port = tabby(&[
        "trace",
        "examples/cluster",
        "--from",
        "8.8.8.8",
        "--to",
        "8.8.4.4",
        "--port",
        "http",
    ]);
    assert_eq!(bad_port.status.code(), Some(2));
}

#[test]
fn check_summarises_the_example() {
    let out = tabby(&[
        "check",
        "examples/cluster",
        "examples/policies",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let default = v["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "default")
        .unwrap();
    let names: Vec<&str> = default["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // Evaluation order: by order value.
    assert_eq!(
        names,
        [
            "block-threat-feeds",
            "allow-dns",
            "backend-egress",
            "namespace-isolation",
            "default-deny"
        ]
    );
    let text_out = tabby(&["check", "examples/cluster", "examples/policies"]);
    assert!(text(&text_out.stdout).contains("isolation"));
}

#[test]
fn lint_finds_the_article_mistakes_and_passes_the_corrected_set() {
    let seed = tabby(&[
        "lint",
        "examples/cluster",
        "examples/policies",
        "-o",
        "json",
    ]);
    assert_eq!(seed.status.code(), Some(1), "{}", text(&seed.stderr));
    let v: serde_json::Value = serde_json::from_slice(&seed.stdout).unwrap();
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for want in ["TL001", "TL002", "TL006", "TL008"] {
        assert!(codes.contains(&want), "{want} missing from {codes:?}");
    }
    let fixed = tabby(&["lint", "examples/cluster", "examples/corrected"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stdout));
}

#[test]
fn lint_options_change_what_fails() {
    let base = ["lint", "examples/cluster", "examples/policies"];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        tabby(&a)
    };
    let all_off = with(&[
        "--disable",
        "TL001",
        "--disable",
        "TL002",
        "--disable",
        "TL006",
    ]);
    assert_eq!(all_off.status.code(), Some(0), "{}", text(&all_off.stdout));
    let stricter = with(&[
        "--disable",
        "TL001",
        "--disable",
        "TL002",
        "--disable",
        "TL006",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(stricter.status.code(), Some(1));
    assert_eq!(with(&["--disable", "TL999"]).status.code(), Some(2));
    let list = tabby(&["lint", "--list", "examples/"]);
    assert!(text(&list.stdout).contains("TL001"));
}

#[test]
fn lint_sarif_is_sarif_2_1_0_with_locations() {
    let out = tabby(&[
        "lint",
        "examples/cluster",
        "examples/policies",
        "-o",
        "sarif",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("examples/policies/"));
    assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
}

#[test]
fn reach_json_lists_real_endpoints_and_port_summaries() {
    let out = tabby(&[
        "reach",
        "examples/cluster",
        "examples/corrected",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conns = v["connections"].as_array().unwrap();
    let has = |from: &str, to: &str, proto: &str, ports: &str| {
        conns.iter().any(|c| {
            c["from"] == from && c["to"] == to && c["protocol"] == proto && c["ports"] == ports
        })
    };
    // The corrected set opens exactly backend -> postgres on 5432 in production.
    assert!(has(
        "production/backend-7c9d8b6f4d-h2x8k",
        "production/postgres-0",
        "TCP",
        "5432"
    ));
    let port = tabby(&[
        "reach",
        "examples/cluster",
        "examples/policies",
        "--port",
        "53/UDP",
        "-o",
        "json",
    ]);
    let m: serde_json::Value = serde_json::from_slice(&port.stdout).unwrap();
    assert_eq!(m["port"], 53);
    assert!(m["allowed"].is_array());
    assert_eq!(
        tabby(&["reach", "examples/cluster", "--port", "53/ICMP"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn diff_exits_1_on_changes_and_0_without() {
    let changed = tabby(&[
        "diff",
        "--cluster",
        "examples/cluster",
        "examples/policies",
        "examples/corrected",
        "-o",
        "json",
    ]);
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stderr));
    let same = tabby(&[
        "diff",
        "--cluster",
        "examples/cluster",
        "examples/policies",
        "examples/policies",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
}
