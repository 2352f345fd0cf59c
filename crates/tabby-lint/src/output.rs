//! Text and SARIF renderings of findings.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::{dir_str, Finding, Severity, CHECKS};

/// One block per finding: `severity[CODE]: message`, then where, the flow and the fix.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(out, "{}[{}]: {}", f.severity.as_str(), f.code, f.message);
        if let Some(r) = &f.resource {
            let mut what = format!("{} `{}`", r.kind, r.name);
            if let Some(rule) = r.rule {
                let _ = write!(what, " {} rule {}", dir_str(rule.direction), rule.index);
            }
            match (&r.file, r.line) {
                (Some(file), Some(line)) => {
                    let _ = writeln!(out, "  --> {file}:{line}: {what}");
                }
                _ => {
                    let _ = writeln!(out, "  --> {what}");
                }
            }
        }
        if let Some(x) = &f.counterexample {
            let port = x.port.map(|p| format!(" {p}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  flow: {} ({}) -> {} ({}) {}{}: {} by {}",
                x.from, x.from_ip, x.to, x.to_ip, x.protocol, port, x.verdict, x.decided_by
            );
        }
        if let Some(fix) = &f.fix_suggestion {
            let _ = writeln!(out, "  fix:");
            for line in fix.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        out,
        "{} errors, {} warnings, {} infos",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    out
}

/// SARIF 2.1.0 log with one run, every check as a rule, one result per finding.
pub fn to_sarif(findings: &[Finding]) -> Value {
    let rules: Vec<Value> = CHECKS
        .iter()
        .map(|(code, sev, title)| {
            json!({
                "id": code,
                "shortDescription": { "text": title },
                "helpUri": format!("docs/lints/{code}.md"),
                "defaultConfiguration": { "level": level(*sev) },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.code,
                "ruleIndex": CHECKS.iter().position(|c| c.0 == f.code).unwrap_or(0),
                "level": level(f.severity),
                "message": { "text": f.message },
            });
            if let (Some(res), Some(obj)) = (&f.resource, r.as_object_mut()) {
                let mut region = serde_json::Map::new();
                if let Some(l) = res.line {
                    region.insert("startLine".into(), json!(l));
                }
                if let Some(c) = res.column {
                    region.insert("startColumn".into(), json!(c));
                }
                let mut loc = json!({
                    "logicalLocations": [{ "name": res.name, "kind": res.kind }],
                });
                if let (Some(file), Some(l)) = (&res.file, loc.as_object_mut()) {
                    l.insert(
                        "physicalLocation".into(),
                        json!({
                            "artifactLocation": { "uri": file },
                            "region": region,
                        }),
                    );
                }
                obj.insert("locations".into(), json!([loc]));
            }
            if let Some(obj) = r.as_object_mut() {
                let mut props = serde_json::Map::new();
                if let Some(x) = &f.counterexample {
                    props.insert("counterexample".into(), json!(x));
                }
                if let Some(fix) = &f.fix_suggestion {
                    props.insert("fixSuggestion".into(), json!(fix));
                }
                if !props.is_empty() {
                    obj.insert("properties".into(), Value::Object(props));
                }
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "tabby-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
