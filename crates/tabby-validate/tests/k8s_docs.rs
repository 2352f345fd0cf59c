//! `docs/diagnostics-k8s.md` documents every code of `src/k8s/codes.rs`, and its
//! examples are true: each bad example produces its code, each fixed example produces
//! no error and not that code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code reports failures by panicking"
)]

mod common;

use tabby_diag::Severity;

const DOC: &str = include_str!("../../../docs/diagnostics-k8s.md");
const CODES_RS: &str = include_str!("../src/k8s/codes.rs");

/// The codes declared in `codes.rs` (`pub const X: &str = "E0501";`).
fn declared_codes() -> Vec<String> {
    CODES_RS
        .lines()
        .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \""))
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect()
}

fn yaml_block_after(text: &str, label: &str) -> Option<String> {
    let start = text.find(label)?;
    let rest = &text[start..];
    let open = rest.find("```yaml\n")? + "```yaml\n".len();
    let close = rest[open..].find("```")?;
    Some(rest[open..open + close].to_owned())
}

/// `(code, bad, fixed)` of every `### CODE: summary` section.
fn sections() -> Vec<(String, String, Option<String>)> {
    let codes = DOC.split("\n## Codes\n").nth(1).expect("a Codes section");
    codes
        .split("\n### ")
        .skip(1)
        .map(|s| {
            let code = s.split(':').next().unwrap().trim().to_owned();
            let bad = yaml_block_after(s, "Bad:").expect("every code has a bad example");
            (code, bad, yaml_block_after(s, "Fixed:"))
        })
        .collect()
}

#[test]
fn every_code_is_documented_once() {
    let declared = declared_codes();
    assert!(declared.len() >= 20, "{declared:?}");
    let documented: Vec<String> = sections().into_iter().map(|s| s.0).collect();
    for code in &declared {
        assert_eq!(
            documented.iter().filter(|c| *c == code).count(),
            1,
            "{code} documented once"
        );
    }
    assert_eq!(
        documented.len(),
        declared.len(),
        "no stale sections: {documented:?}"
    );
    let mut sorted = declared.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), declared.len(), "codes are unique");
}

#[test]
fn examples_do_what_they_say() {
    for (code, bad, fixed) in sections() {
        let v = common::run(&bad);
        assert!(
            v.diagnostics.iter().any(|d| d.code == code),
            "{code}: bad example does not produce it: {:?}",
            v.diagnostics
        );
        if let Some(fixed) = fixed {
            let v = common::run(&fixed);
            let still: Vec<_> = v
                .diagnostics
                .iter()
                .filter(|d| d.code == code || d.severity == Severity::Error)
                .collect();
            assert!(
                still.is_empty(),
                "{code}: fixed example still reports {still:?}"
            );
        }
    }
}
