//! Runs the case files in `tests/corpus/*.yaml`:
//! - `accept.yaml`: parses, prints the expected canonical form, and the
//!   canonical form re-parses to the same canonical form (or, for Calico's
//!   `!!` quirk, to the normalised tree);
//! - `reject.yaml`: fails with the expected byte offset and message;
//! - `eval.yaml`: matches / does not match each label set, via the plain
//!   evaluator, the canonical form, and the compiled evaluator.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation should stop the test"
)]

use std::collections::BTreeMap;
use std::path::Path;

use tabby_selector::{CompiledSelector, Interner, Labels, Selector};
use yaml_rust2::{Yaml, YamlLoader};

fn load(name: &str) -> Vec<Yaml> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    docs.into_iter()
        .next()
        .unwrap()
        .into_vec()
        .expect("a list of cases")
}

fn str_field<'a>(case: &'a Yaml, key: &str) -> Option<&'a str> {
    match &case[key] {
        Yaml::String(s) => Some(s),
        Yaml::BadValue | Yaml::Null => None,
        other => panic!("field {key} should be a string, got {other:?}"),
    }
}

fn int_field(case: &Yaml, key: &str) -> Option<usize> {
    case[key].as_i64().map(|i| usize::try_from(i).unwrap())
}

fn label_sets(case: &Yaml, key: &str) -> Vec<BTreeMap<String, String>> {
    let Some(list) = case[key].as_vec() else {
        return Vec::new();
    };
    list.iter()
        .map(|m| {
            m.as_hash()
                .expect("label set is a mapping")
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Yaml::String(s) => s.clone(),
                        Yaml::Null => String::new(),
                        other => panic!("label values are strings, got {other:?}"),
                    };
                    (k.as_str().expect("label key").to_owned(), v)
                })
                .collect()
        })
        .collect()
}

#[test]
fn accept_cases() {
    let cases = load("accept.yaml");
    assert!(cases.len() > 150, "only {} accept cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let input = str_field(case, "s").unwrap();
        let want = str_field(case, "c").unwrap_or(input);
        match Selector::parse(input) {
            Err(e) => failures.push(format!("{input:?}: unexpected error {e}")),
            Ok(sel) => {
                let got = sel.to_string();
                if got != want {
                    failures.push(format!("{input:?}: printed {got:?}, want {want:?}"));
                    continue;
                }
                let again = Selector::parse(&got).unwrap();
                if again.expr() != &sel.expr().clone().normalize() {
                    failures.push(format!("{input:?}: canonical form re-parses differently"));
                }
                // Printing is stable once normalised.
                assert_eq!(
                    again.to_string(),
                    Selector::parse(&again.to_string()).unwrap().to_string()
                );
                // FromStr is the same parser.
                assert_eq!(input.parse::<Selector>().unwrap(), sel);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn reject_cases() {
    let cases = load("reject.yaml");
    assert!(cases.len() > 150, "only {} reject cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let input = str_field(case, "s").unwrap();
        let at = int_field(case, "at").expect("`at` offset");
        let msg = str_field(case, "msg").expect("`msg`");
        match Selector::parse(input) {
            Ok(sel) => failures.push(format!("{input:?}: accepted as {sel}")),
            Err(e) => {
                if e.offset() != at || e.message() != msg {
                    failures.push(format!(
                        "{input:?}: got ({}, {:?}), want ({at}, {msg:?})",
                        e.offset(),
                        e.message()
                    ));
                }
                if let Some(len) = int_field(case, "len") {
                    if e.len() != len {
                        failures.push(format!("{input:?}: len {} want {len}", e.len()));
                    }
                }
                if let Some(s) = str_field(case, "suggest") {
                    if e.suggestion() != Some(s) {
                        failures.push(format!(
                            "{input:?}: suggestion {:?} want {s:?}",
                            e.suggestion()
                        ));
                    }
                }
                // Every error points inside the input, on a char boundary, and
                // has a message in house style.
                assert!(e.offset() + e.len() <= input.len(), "{input:?}");
                assert!(input.is_char_boundary(e.offset()), "{input:?}");
                assert!(input.is_char_boundary(e.offset() + e.len()), "{input:?}");
                let m = e.message();
                assert!(!m.ends_with('.'), "{m}");
                assert!(m.chars().next().is_some_and(|c| !c.is_uppercase()), "{m}");
                assert!(!m.contains('\n'), "{m:?}");
                assert!(e.help().is_some(), "{input:?}: no help");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eval_cases() {
    let cases = load("eval.yaml");
    assert!(cases.len() > 60, "only {} eval cases", cases.len());
    let mut failures = Vec::new();
    let mut checks = 0;
    for case in &cases {
        let input = str_field(case, "s").unwrap();
        let sel = Selector::parse(input).unwrap();
        let canon = Selector::parse(&sel.to_string()).unwrap();
        let mut interner = Interner::new();
        let compiled = CompiledSelector::compile(&sel, &mut interner);
        for (key, want) in [("yes", true), ("no", false)] {
            for labels in label_sets(case, key) {
                checks += 1;
                let l = Labels::from_pairs(labels.iter(), &mut interner);
                let got = [
                    sel.matches(&labels),
                    canon.matches(&labels),
                    compiled.matches(&l, &interner),
                    sel.matches(&l.with(&interner)),
                ];
                if got != [want; 4] {
                    failures.push(format!("{input:?} on {labels:?}: got {got:?}, want {want}"));
                }
            }
        }
    }
    assert!(checks > 200, "only {checks} checks");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
