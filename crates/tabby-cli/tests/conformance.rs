//! tabby's engine conformance suite: every scenario under `tests/conformance/`
//! (repo root) is loaded through the real loader, validator and engine, and each of
//! its cases is traced and compared with the verdicts and deciders it expects.
//! The format is described in `docs/conformance.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tabby_diag::Diagnostics;
use tabby_eval::{EndpointToHostAction, Engine, EngineOptions, Flow, SideVerdict};
use tabby_load::LoadOptions;

const CASES_FILE: &str = "cases.yaml";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CasesDoc {
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    api_version: String,
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    kind: String,
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    metadata: Option<Meta>,
    /// What the scenario is about (free text).
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    description: Option<String>,
    /// Files or directories to load as the cluster, relative to the scenario
    /// directory. Default: every `.yaml`/`.yml`/`.json` file of the scenario
    /// directory except `cases.yaml`.
    sources: Option<Vec<String>>,
    /// Engine knobs for this scenario (Felix configuration).
    options: Option<ScenarioOptions>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioOptions {
    /// Felix `DefaultEndpointToHostAction`: `Drop` (default), `Accept` or `Return`.
    default_endpoint_to_host_action: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    from: String,
    to: String,
    protocol: String,
    port: Option<u16>,
    domain: Option<String>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    verdict: String,
    staged_verdict: Option<String>,
    egress: String,
    ingress: String,
    /// Every flow-log string on the egress path (passes, then the decision).
    egress_path: Option<Vec<String>>,
    ingress_path: Option<Vec<String>>,
    /// Deciders of the pending view (staged policies enforced).
    staged_egress: Option<String>,
    staged_ingress: Option<String>,
    /// Calico does what the case says but tabby does not (yet): the reason.
    known_failure: Option<String>,
    #[allow(dead_code, reason = "part of the file format; documentation only")]
    note: Option<String>,
}

fn repo_root() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// The decider of one side, as written in `cases.yaml`.
fn decider(engine: &Engine, v: &SideVerdict) -> String {
    match *v {
        SideVerdict::NotCalico => "not-calico".to_owned(),
        SideVerdict::HostToLocalWorkload => "host-to-local-workload".to_owned(),
        SideVerdict::Failsafe => "failsafe".to_owned(),
        SideVerdict::ProfilesExhausted { .. } => "no-profile-allowed".to_owned(),
        SideVerdict::EndpointToHost { allowed } => {
            if allowed {
                "endpoint-to-host:accept".to_owned()
            } else {
                "endpoint-to-host:drop".to_owned()
            }
        }
        SideVerdict::Rule { .. } | SideVerdict::EndOfTier { .. } | SideVerdict::Profile { .. } => {
            engine
                .flow_log_policy(v)
                .unwrap_or_else(|| "<unnamed>".to_owned())
        }
        #[allow(
            unreachable_patterns,
            reason = "a variant added later still gets a readable decider"
        )]
        _ => format!("{v:?}"),
    }
}

struct Scenario {
    name: String,
    doc: CasesDoc,
    engine: Engine,
}

/// Diagnostics as `file:line:col: CODE message` lines.
fn diag_lines(d: &Diagnostics) -> String {
    d.iter()
        .map(|d| {
            let at = d.loc.as_ref().map_or_else(String::new, |l| {
                let (line, col) = l.line_col();
                format!("{}:{line}:{col}: ", l.file().name())
            });
            format!("    {at}{} {}", d.code, d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn engine_options(o: Option<&ScenarioOptions>) -> Result<EngineOptions, String> {
    let mut opts = EngineOptions::default();
    if let Some(a) = o.and_then(|o| o.default_endpoint_to_host_action.as_deref()) {
        opts.endpoint_to_host = match a {
            "Drop" => EndpointToHostAction::Drop,
            "Accept" => EndpointToHostAction::Accept,
            "Return" => EndpointToHostAction::Return,
            other => {
                return Err(format!(
                    "unknown defaultEndpointToHostAction `{other}`; use Drop, Accept or Return"
                ))
            }
        };
    }
    Ok(opts)
}

fn load_scenario(dir: &Path) -> Result<Scenario, String> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cases_path = dir.join(CASES_FILE);
    let loaded_cases = tabby_load::load_paths(&[&cases_path], &LoadOptions::default());
    let only = match loaded_cases.objects.as_slice() {
        [one] if !loaded_cases.diagnostics.has_errors() => one,
        _ => {
            return Err(format!(
                "{}: expected one ConformanceCases document\n{}",
                cases_path.display(),
                diag_lines(&loaded_cases.diagnostics)
            ))
        }
    };
    let doc: CasesDoc = only.decode().map_err(|d| {
        let (line, col) = d.loc.as_ref().map_or((0, 0), |l| l.line_col());
        format!("{}:{line}:{col}: {}", cases_path.display(), d.message)
    })?;
    if doc.kind != "ConformanceCases" {
        return Err(format!(
            "{}: kind must be `ConformanceCases`, not `{}`",
            cases_path.display(),
            doc.kind
        ));
    }
    let paths: Vec<PathBuf> = match &doc.sources {
        Some(s) => s.iter().map(|p| dir.join(p)).collect(),
        None => {
            let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| n != CASES_FILE)
                        && p.extension()
                            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                })
                .collect();
            v.sort();
            v
        }
    };
    if paths.is_empty() {
        return Err(format!("{name}: no cluster files"));
    }
    let loaded = tabby_load::load_paths(&paths, &LoadOptions::default());
    if loaded.diagnostics.has_errors() {
        return Err(format!("{name}: load errors: {:#?}", loaded.diagnostics));
    }
    let validated = tabby_validate::validate(&loaded.objects);
    if validated.diagnostics.has_errors() {
        return Err(format!(
            "validation errors:\n{}",
            diag_lines(&validated.diagnostics)
        ));
    }
    let engine = Engine::new(&validated.cluster, engine_options(doc.options.as_ref())?);
    Ok(Scenario { name, doc, engine })
}

/// Runs one case; `Ok(())` when everything expected was observed, else the differences.
fn run_case(engine: &Engine, c: &Case) -> Result<(), String> {
    let src = engine.endpoint_ref(&c.from)?;
    let dst = engine.endpoint_ref(&c.to)?;
    let mut flow = match c.icmp_type {
        Some(t) => Flow::icmp(src.ip, dst.ip, t, c.icmp_code),
        None => Flow::from_parts(src.ip, dst.ip, &c.protocol, c.port)?,
    };
    if c.icmp_type.is_some() {
        // Flow::icmp picks ICMP/ICMPv6 by family; the case must agree.
        let want = Flow::from_parts(src.ip, dst.ip, &c.protocol, None)?.protocol;
        if want != flow.protocol {
            return Err(format!(
                "case gives protocol {} but the addresses make it {}",
                want, flow.protocol
            ));
        }
    }
    if let Some(d) = &c.domain {
        flow = flow.with_domain(d);
    }
    let trace = engine.trace(&flow);
    let decision = engine.decide(&flow);
    let mut diffs = Vec::new();
    let mut check = |what: &str, want: &str, got: &str| {
        if want != got {
            diffs.push(format!("  {what}: expected `{want}`, got `{got}`"));
        }
    };
    check("verdict", &c.verdict, trace.verdict);
    if let Some(s) = &c.staged_verdict {
        check("staged_verdict", s, trace.staged_verdict);
    }
    check("egress", &c.egress, &decider(engine, &decision.egress));
    check("ingress", &c.ingress, &decider(engine, &decision.ingress));
    if let Some(s) = &c.staged_egress {
        check(
            "staged_egress",
            s,
            &decider(engine, &decision.staged_egress),
        );
    }
    if let Some(s) = &c.staged_ingress {
        check(
            "staged_ingress",
            s,
            &decider(engine, &decision.staged_ingress),
        );
    }
    if let Some(p) = &c.egress_path {
        check(
            "egress_path",
            &p.join(", "),
            &trace.egress.flow_log_policies.join(", "),
        );
    }
    if let Some(p) = &c.ingress_path {
        check(
            "ingress_path",
            &p.join(", "),
            &trace.ingress.flow_log_policies.join(", "),
        );
    }
    // decide() and trace() must agree whatever the expectations say.
    let dv = if decision.allowed { "allow" } else { "deny" };
    let ds = if decision.staged_allowed {
        "allow"
    } else {
        "deny"
    };
    check("decide() vs trace() verdict", trace.verdict, dv);
    check(
        "decide() vs trace() staged verdict",
        trace.staged_verdict,
        ds,
    );
    if diffs.is_empty() {
        Ok(())
    } else {
        let mut out = diffs.join("\n");
        let _ = write!(out, "\n  --- trace ---\n");
        for l in trace.render_text().lines() {
            let _ = writeln!(out, "  | {l}");
        }
        Err(out)
    }
}

#[test]
fn conformance() {
    let root = repo_root().join("tests/conformance");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/conformance exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenarios under {}", root.display());

    let mut passed = 0usize;
    let mut known: Vec<String> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut scenarios = 0usize;
    for dir in &dirs {
        if !dir.join(CASES_FILE).is_file() {
            failures.push(format!("scenario {}: no {CASES_FILE}", dir.display()));
            continue;
        }
        let sc = match load_scenario(dir) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("scenario {}: {e}", dir.display()));
                continue;
            }
        };
        scenarios += 1;
        let mut names = std::collections::HashSet::new();
        for c in &sc.doc.cases {
            let id = format!("{}/{}", sc.name, c.name);
            if !names.insert(c.name.clone()) {
                failures.push(format!("{id}: duplicate case name"));
                continue;
            }
            match (run_case(&sc.engine, c), &c.known_failure) {
                (Ok(()), None) => passed += 1,
                (Err(e), None) => failures.push(format!("{id}: MISMATCH\n{e}")),
                (Err(_), Some(why)) => known.push(format!("{id}: {why}")),
                (Ok(()), Some(why)) => failures.push(format!(
                    "{id}: UNEXPECTED PASS of a known failure ({why}); remove `known_failure`"
                )),
            }
        }
    }
    for k in &known {
        println!("known failure: {k}");
    }
    println!(
        "conformance: {passed} passed, {} known failures, {} failed ({scenarios} scenarios)",
        known.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} conformance failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
