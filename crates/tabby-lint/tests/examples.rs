//! The bundled example: the article's set and the corrected set.

mod common;

use std::collections::BTreeSet;

use common::*;
use tabby_lint::{lint, to_sarif, LintConfig, Severity};

fn article() -> tabby_eval::Engine {
    engine_paths(&["examples/cluster", "examples/policies"])
}

#[test]
fn article_set_findings() {
    let e = article();
    let f = run(&e);
    let got: BTreeSet<(&str, String)> = f
        .iter()
        .map(|f| {
            (
                f.code,
                f.resource
                    .as_ref()
                    .map_or(String::new(), |r| r.name.clone()),
            )
        })
        .collect();
    let want: BTreeSet<(&str, String)> = [
        ("TL001", "default-deny"),
        ("TL002", "allow-dns"),
        ("TL002", "block-threat-feeds"),
        ("TL002", "default-deny"),
        ("TL006", "namespace-isolation"),
        ("TL008", "production/backend-egress"),
        ("TL012", "default-deny"),
        ("TL013", "allow-dns"),
        ("TL013", "production/backend-egress"),
    ]
    .into_iter()
    .map(|(c, n)| (c, n.to_owned()))
    .collect();
    assert_eq!(got, want, "{}", tabby_lint::render_text(&f));
    // Facts: every flow decides as reported.
    for x in f.iter().filter_map(|f| f.counterexample.as_ref()) {
        assert_eq!(reverdict(&e, x), x.verdict, "{x:?}");
    }
    // Flow 1 of examples/README.md is the DNS counterexample.
    let dns = f.iter().find(|f| f.code == "TL001").unwrap();
    let x = dns.counterexample.as_ref().unwrap();
    assert_eq!(
        (
            x.from_ip.as_str(),
            x.to_ip.as_str(),
            x.protocol.as_str(),
            x.port
        ),
        ("10.244.1.12", "10.244.1.5", "UDP", Some(53))
    );
    // Flow 4: backend -> postgres is denied at postgres's ingress.
    let one_sided = f
        .iter()
        .find(|f| f.code == "TL013" && f.resource.as_ref().unwrap().name.contains("backend"))
        .unwrap();
    assert_eq!(
        one_sided.counterexample.as_ref().unwrap().to_ip,
        "10.244.2.21"
    );
    // Locations point into the policy files.
    let tpl = f.iter().find(|f| f.code == "TL006").unwrap();
    let r = tpl.resource.as_ref().unwrap();
    assert!(r
        .file
        .as_ref()
        .unwrap()
        .ends_with("namespace-isolation.yaml"));
    assert!(r.line.is_some() && r.rule.is_some());
}

#[test]
fn corrected_set_is_clean() {
    let e = engine_paths(&["examples/cluster", "examples/corrected"]);
    let f = run(&e);
    assert!(f.is_empty(), "{}", tabby_lint::render_text(&f));
}

#[test]
fn config_disables_and_overrides() {
    let e = article();
    let mut c = LintConfig::default();
    c.disabled.insert("TL002".to_owned());
    c.severity.insert("TL008".to_owned(), Severity::Error);
    let f = lint(&e, &c);
    assert!(!f.iter().any(|f| f.code == "TL002"));
    assert!(f.iter().any(|f| f.code == "TL001"));
    assert!(f
        .iter()
        .filter(|f| f.code == "TL008")
        .all(|f| f.severity == Severity::Error));
}

#[test]
fn annotation_silences_one_policy() {
    let yaml = "
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: production
  annotations:
    tabby.dev/lint-ignore: \"TL003, TL010\"
spec:
  selector: all()
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: staging
spec:
  selector: all()
";
    let f = run(&engine_with(yaml));
    let tl003: Vec<String> = f
        .iter()
        .filter(|f| f.code == "TL003")
        .map(|f| f.resource.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(tl003, ["staging/deny-all"]);
}

#[test]
fn json_and_sarif_shapes() {
    let f = run(&article());
    let json = serde_json::to_value(&f).unwrap();
    let first = &json[0];
    assert_eq!(first["code"], "TL001");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["counterexample"]["verdict"], "deny");
    assert_eq!(first["resource"]["kind"], "GlobalNetworkPolicy");
    let s = to_sarif(&f);
    assert_eq!(s["version"], "2.1.0");
    let run = &s["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), tabby_lint::CHECKS.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), f.len());
    let r0 = &results[0];
    assert_eq!(r0["ruleId"], "TL001");
    assert_eq!(r0["level"], "error");
    let phys = &r0["locations"][0]["physicalLocation"];
    assert!(phys["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("default-deny.yaml"));
    assert!(phys["region"]["startLine"].as_u64().unwrap() >= 1);
    let text = tabby_lint::render_text(&f);
    assert!(text.contains("error[TL001]"));
    assert!(text.contains("default-deny.yaml:"));
}

/// Runs on a generated 2,000-pod cluster (the 10,000-pod run is the bench's job;
/// no timing is asserted here).
#[test]
fn synthetic_cluster_runs() {
    let c = tabby_eval::gen::synthetic_cluster(2000, 20, 200, 7);
    let e = tabby_eval::Engine::new(&c, tabby_eval::EngineOptions::default());
    let f = run(&e);
    for x in f.iter().filter_map(|f| f.counterexample.as_ref()) {
        assert_eq!(reverdict(&e, x), x.verdict, "{x:?}");
    }
}

/// Manual scale probe: `cargo test -p tabby-lint --test examples -- --ignored --nocapture`.
#[test]
#[ignore = "manual scale probe"]
fn synthetic_10k_probe() {
    let c = tabby_eval::gen::synthetic_cluster(10_000, 100, 500, 7);
    let e = tabby_eval::Engine::new(&c, tabby_eval::EngineOptions::default());
    let t = std::time::Instant::now();
    let f = run(&e);
    println!("{} findings in {:?}", f.len(), t.elapsed());
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for x in &f {
        *by.entry(x.code).or_default() += 1;
    }
    println!("{by:?}");
}

#[test]
#[ignore = "manual: prints the JSON of the article's findings"]
fn print_json() {
    let f = run(&article());
    println!("{}", serde_json::to_string_pretty(&f).unwrap());
}

/// The article's DNS finding: applying its fix suggestion makes DNS work.
#[test]
fn article_dns_fix_closes_it() {
    let f = run(&article());
    let fix = f
        .iter()
        .find(|f| f.code == "TL001")
        .and_then(|f| f.fix_suggestion.clone())
        .unwrap();
    let policies = repo().join("examples/policies");
    let mut yaml = String::new();
    for entry in std::fs::read_dir(policies).unwrap() {
        yaml.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        yaml.push_str("\n---\n");
    }
    yaml.push_str(&fix);
    let fixed = run(&engine_with(&yaml));
    assert!(
        !fixed.iter().any(|f| f.code == "TL001"),
        "{}",
        tabby_lint::render_text(&fixed)
    );
}
