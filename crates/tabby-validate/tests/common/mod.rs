//! Shared test harness: load YAML with `tabby_load::load_str`, validate, and compare
//! the diagnostics with expectations given as (code, location, message fragment).
//!
//! A location is a snippet of the fixture: the expected position is where the snippet
//! starts, or where `»` sits inside it (`"protocol: »tcp"` points at `tcp`). Snippets
//! must be unique in the fixture; the harness checks that.

#![allow(dead_code, reason = "each test binary uses part of the harness")]
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test harness reports mismatches by panicking"
)]

use tabby_diag::{Diagnostic, Severity};
use tabby_load::{load_str, LoadOptions};
use tabby_validate::{validate, Validated};

/// One expected diagnostic.
pub type Want = (&'static str, &'static str, &'static str);

pub fn run(yaml: &str) -> Validated {
    let loaded = load_str("t.yaml", yaml, &LoadOptions::default());
    assert!(
        !loaded.diagnostics.has_errors(),
        "fixture does not load: {:?}\n{yaml}",
        loaded.diagnostics
    );
    validate(&loaded.objects)
}

/// 1-based line and column of `snippet` (with `»` marking the column) in `text`.
pub fn position(text: &str, snippet: &str) -> (usize, usize) {
    let (before, after) = snippet.split_once('»').unwrap_or(("", snippet));
    let needle = format!("{before}{after}");
    let mut found = text.match_indices(&needle);
    let (start, _) = found
        .next()
        .unwrap_or_else(|| panic!("snippet `{needle}` not in fixture:\n{text}"));
    assert!(
        found.next().is_none(),
        "snippet `{needle}` is not unique in fixture:\n{text}"
    );
    let offset = start + before.len();
    let line = text[..offset].matches('\n').count() + 1;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

fn describe(d: &Diagnostic) -> String {
    let (l, c) = d.loc.as_ref().map_or((0, 0), |l| l.line_col());
    format!(
        "{}[{}] {l}:{c} {} (help: {:?})",
        d.severity, d.code, d.message, d.help
    )
}

/// Checks that the errors and warnings of `yaml` are exactly `want` (in any order).
/// Notes are compared only when `want` names a note code (`N…`).
pub fn check(name: &str, yaml: &str, want: &[Want]) -> Validated {
    let v = run(yaml);
    let with_notes = want.iter().any(|(c, _, _)| c.starts_with('N'));
    let mut actual: Vec<&Diagnostic> = v
        .diagnostics
        .iter()
        .filter(|d| with_notes || d.severity != Severity::Note)
        .collect();
    let all: Vec<String> = actual.iter().map(|d| describe(d)).collect();
    for (code, at, fragment) in want {
        let (line, col) = position(yaml, at);
        let idx = actual.iter().position(|d| {
            d.code == *code
                && d.loc.as_ref().map(|l| l.line_col()) == Some((line, col))
                && (d.message.contains(fragment)
                    || d.help.as_deref().is_some_and(|h| h.contains(fragment)))
        });
        match idx {
            Some(i) => {
                let d = actual.remove(i);
                assert!(!d.message.ends_with('.'), "[{name}] message ends with a full stop: {}", d.message);
            }
            None => panic!(
                "[{name}] expected {code} at {line}:{col} containing `{fragment}`; got:\n  {}\nfixture:\n{yaml}",
                all.join("\n  ")
            ),
        }
    }
    assert!(
        actual.is_empty(),
        "[{name}] unexpected diagnostics:\n  {}\nfixture:\n{yaml}",
        actual
            .iter()
            .map(|d| describe(d))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    v
}

/// Runs a table of cases.
pub fn table(cases: &[(&str, String, &[Want])]) {
    for (name, yaml, want) in cases {
        check(name, yaml, want);
    }
}

/// A GlobalNetworkPolicy named `p` with one rule in `dir` (`ingress` or `egress`).
/// `rule` holds the rule's fields, one per line, without indentation.
pub fn gnp_rule(dir: &str, rule: &str) -> String {
    policy_rule("GlobalNetworkPolicy", None, dir, rule)
}

/// A NetworkPolicy `p` in namespace `ns` with one rule in `dir`.
pub fn np_rule(dir: &str, rule: &str) -> String {
    policy_rule("NetworkPolicy", Some("ns"), dir, rule)
}

pub fn policy_rule(kind: &str, ns: Option<&str>, dir: &str, rule: &str) -> String {
    let mut s = format!("apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n  name: p\n");
    if let Some(ns) = ns {
        s.push_str(&format!("  namespace: {ns}\n"));
    }
    s.push_str(&format!("spec:\n  {dir}:\n"));
    for (i, line) in rule.lines().enumerate() {
        s.push_str(if i == 0 { "    - " } else { "      " });
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// An object of `kind` named `n` with the given spec lines (indented by two spaces).
pub fn obj(kind: &str, ns: Option<&str>, spec: &str) -> String {
    let mut s = format!("apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n  name: n\n");
    if let Some(ns) = ns {
        s.push_str(&format!("  namespace: {ns}\n"));
    }
    s.push_str("spec:\n");
    for line in spec.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}
