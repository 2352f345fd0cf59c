//! `docs/diagnostics-validate.md` documents every code, and its examples are true:
//! each bad example produces its code, each fixed example has no error and not that code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

mod common;

use tabby_diag::Severity;
use tabby_validate::codes;

const DOC: &str = include_str!("../../../docs/diagnostics-validate.md");

struct Section {
    code: String,
    bad: String,
    fixed: Option<String>,
}

fn yaml_block_after(text: &str, label: &str) -> Option<String> {
    let start = text.find(label)?;
    let rest = &text[start..];
    let open = rest.find("```yaml\n")? + "```yaml\n".len();
    let close = rest[open..].find("```")?;
    Some(rest[open..open + close].to_owned())
}

fn sections() -> Vec<Section> {
    DOC.split("\n### ")
        .skip(1)
        .map(|s| {
            let code = s.split(':').next().unwrap().trim().to_owned();
            Section {
                code,
                bad: yaml_block_after(s, "Bad:").expect("every code has a bad example"),
                fixed: yaml_block_after(s, "Fixed:"),
            }
        })
        .collect()
}

#[test]
fn every_code_is_documented_once() {
    let docs: Vec<String> = sections().into_iter().map(|s| s.code).collect();
    for (code, _) in codes::ALL {
        assert_eq!(
            docs.iter().filter(|c| c == code).count(),
            1,
            "{code} documented once"
        );
    }
    assert_eq!(docs.len(), codes::ALL.len(), "no stale sections: {docs:?}");
    let mut sorted: Vec<&str> = codes::ALL.iter().map(|(c, _)| *c).collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes::ALL.len(), "codes are unique");
}

#[test]
fn examples_do_what_they_say() {
    for s in sections() {
        let v = common::run(&s.bad);
        assert!(
            v.diagnostics.iter().any(|d| d.code == s.code),
            "{}: bad example does not produce it: {:?}",
            s.code,
            v.diagnostics
        );
        if let Some(fixed) = &s.fixed {
            let v = common::run(fixed);
            let bad: Vec<_> = v
                .diagnostics
                .iter()
                .filter(|d| d.code == s.code || d.severity == Severity::Error)
                .collect();
            assert!(
                bad.is_empty(),
                "{}: fixed example still reports {bad:?}",
                s.code
            );
        }
    }
}
