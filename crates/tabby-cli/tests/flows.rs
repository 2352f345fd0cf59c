//! `tabby replay` and `tabby flows ...` end to end: exit codes, output, errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn tabby(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tabby"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("run tabby")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn replaying_the_articles_policies_exits_1_and_names_the_dns_breakage() {
    let out = tabby(&[
        "replay",
        "--flows",
        "examples/flows/normal.jsonl",
        "examples/cluster",
        "examples/policies",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("newly denied (allowed before, denied now): 31 records"),
        "{stdout}"
    );
    assert!(
        stdout.contains("default|gnp:default-deny|deny|-1 (ingress)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("examples/flows/normal.jsonl:2: production/backend-7c9d8b6f4d-h2x8k -> kube-system/coredns-5d78c9869d-4xk2p udp/53 (reported by dst)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("43 read, 0 skipped as malformed"),
        "{stdout}"
    );
}

#[test]
fn replaying_the_corrected_set_exits_0() {
    let out = tabby(&[
        "replay",
        "--flows",
        "examples/flows/normal.jsonl",
        "examples/cluster",
        "examples/corrected",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("newly denied: none"));
}

#[test]
fn json_output_and_baseline() {
    let out = tabby(&[
        "replay",
        "--flows",
        "examples/flows/normal.jsonl",
        "examples/cluster",
        "examples/corrected",
        "--baseline",
        "examples/cluster",
        "examples/policies",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["baseline"], true);
    assert_eq!(v["records"], 43);
    assert_eq!(v["newly_denied_records"], 0);
    assert_eq!(v["newly_allowed_records"], 31);
    let g = &v["newly_allowed"][0];
    assert!(
        g["rule"].is_string() && g["examples"][0]["line"].is_u64(),
        "{g}"
    );
}

#[test]
fn malformed_records_are_reported_and_skipped() {
    let dir = std::env::temp_dir().join(format!("tabby-flows-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.jsonl");
    let good = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/flows/normal.jsonl"),
    )
    .unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(
        &file,
        format!("{first}\n{{\"proto\":6}}\nnot json\n{first}\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = tabby(&[
        "replay",
        "--flows",
        f,
        "examples/cluster",
        "examples/corrected",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{f}:2: error: missing field `action`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{f}:3: error: expected `{{`, found `n` (at byte 1)"
        )),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("2 read, 2 skipped as malformed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_flow_file_is_an_error() {
    let out = tabby(&[
        "replay",
        "--flows",
        "no/such/file.jsonl",
        "examples/cluster",
        "examples/corrected",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read `no/such/file.jsonl`"));
}

#[test]
fn summarize_generate_and_convert() {
    let out = tabby(&[
        "flows",
        "summarize",
        "examples/flows/normal.jsonl",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["read"], 43);
    assert_eq!(v["total"]["records"], 43);
    let top = &v["top_talkers"][0];
    assert!(top["key"].is_string());

    let gen = tabby(&[
        "flows",
        "generate",
        "examples/cluster",
        "--records",
        "50",
        "--format",
        "csv",
    ]);
    assert_eq!(gen.status.code(), Some(0), "{}", text(&gen.stderr));
    let csv = text(&gen.stdout);
    assert_eq!(csv.lines().count(), 51);
    assert!(csv.starts_with("start_time,end_time,src_type"));

    let dir = std::env::temp_dir().join(format!("tabby-flows-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv_file = dir.join("normal.csv");
    let conv = tabby(&[
        "flows",
        "convert",
        "--to",
        "csv",
        "examples/flows/normal.jsonl",
    ]);
    assert_eq!(conv.status.code(), Some(0));
    std::fs::write(&csv_file, &conv.stdout).unwrap();
    // The CSV replays exactly like the JSON Lines it came from.
    let out = tabby(&[
        "replay",
        "--flows",
        csv_file.to_str().unwrap(),
        "examples/cluster",
        "examples/policies",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["newly_denied_records"], 31);
    let _ = std::fs::remove_dir_all(&dir);
}
