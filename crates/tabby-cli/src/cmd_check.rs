//! `tabby check`: the first command a newcomer runs. Validates, then summarises
//! what is in the input and what the policies do to it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Args as ClapArgs;
use serde::Serialize;
use tabby_eval::{EndpointId, EndpointKind, Engine, EngineOptions, Stage, View};
use tabby_model::Direction;

use crate::cmd_validate::plural;
use crate::input::{report_diagnostics, ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout, OutputFormat};
use crate::Exit;

/// Summarise a cluster and its policies: endpoints, tiers, isolation, problems
///
/// Prints what was loaded (endpoints, namespaces, network sets), every tier with
/// its policies in evaluation order and how many endpoints each selects, and, per
/// namespace, how many workloads are isolated for ingress and for egress (an
/// endpoint is isolated in a direction once any enforced policy applies to it
/// there: traffic no rule allows is then dropped at the end of the tier).
///
/// Example: tabby check examples/cluster examples/policies
///
/// Then it runs `tabby lint` with the settings of the nearest `.tabby.toml` (or its
/// defaults) and lists the findings.
///
/// Exit status: 0 when every resource is valid, 1 when some are not, 2 on usage errors.
/// Findings do not change the exit status here; gate on them with `tabby lint`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// The JSON document of `tabby check -o json` (docs/json.md).
#[derive(Debug, Serialize)]
struct CheckReport {
    valid: bool,
    resources: usize,
    files: usize,
    errors: usize,
    warnings: usize,
    endpoints: EndpointCounts,
    tiers: Vec<TierSummary>,
    namespaces: Vec<IsolationRow>,
    host_endpoints: IsolationRow,
    /// `tabby lint` findings with the nearest `.tabby.toml`'s settings (docs/lints.md).
    findings: Vec<tabby_lint::Finding>,
    notes: Vec<String>,
}

#[derive(Debug, Serialize, Default)]
struct EndpointCounts {
    workloads: usize,
    pods_with_addresses: usize,
    addresses_assigned_by_tabby: usize,
    namespaces: usize,
    host_endpoints: usize,
    network_sets: usize,
}

#[derive(Debug, Serialize)]
struct TierSummary {
    name: String,
    order: Option<f64>,
    default_action: String,
    policies: Vec<PolicySummary>,
}

#[derive(Debug, Serialize)]
struct PolicySummary {
    kind: String,
    namespace: Option<String>,
    name: String,
    order: Option<f64>,
    types: Vec<&'static str>,
    staged: bool,
    selected_workloads: usize,
    selected_host_endpoints: usize,
    location: Option<String>,
}

#[derive(Debug, Serialize, Default, Clone)]
struct IsolationRow {
    namespace: String,
    endpoints: usize,
    ingress_isolated: usize,
    egress_isolated: usize,
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    let input = Input::read_with_cluster(&args.input, &args.cluster)?;
    report_diagnostics(&input.diagnostics, args.input.verbose);
    if input.has_unreadable_path() {
        return Ok(Exit::Error);
    }
    // The lint part follows the nearest `.tabby.toml`, as `tabby lint` does.
    let settings = match crate::cmd_lint::load_settings(None, false) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let engine = Engine::new(&input.cluster, EngineOptions::default());
    let report = summarise(&input, &engine, &settings);
    match args.output {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Text => print_stdout(&render(&report))?,
    }
    Ok(if report.valid {
        Exit::Ok
    } else {
        Exit::Negative
    })
}

fn summarise(input: &Input, engine: &Engine, lint: &crate::cmd_lint::Settings) -> CheckReport {
    let endpoints = engine.endpoints();
    let mut counts = EndpointCounts {
        namespaces: input.cluster.namespaces.len(),
        ..EndpointCounts::default()
    };
    for e in endpoints {
        match e.kind {
            EndpointKind::Workload => {
                counts.workloads += 1;
                if e.ip_assigned_by_tabby {
                    counts.addresses_assigned_by_tabby += 1;
                } else {
                    counts.pods_with_addresses += 1;
                }
            }
            EndpointKind::Host => counts.host_endpoints += 1,
            EndpointKind::NetworkSet => counts.network_sets += 1,
        }
    }

    let is_isolated = |id: EndpointId, dir: Direction| {
        engine.resolve(id, dir, View::Enforced).is_some_and(|p| {
            p.tiers
                .iter()
                .any(|t| t.stage == Stage::Normal && !t.policies.is_empty())
        })
    };
    let mut by_ns: BTreeMap<String, IsolationRow> = BTreeMap::new();
    let mut hosts = IsolationRow {
        namespace: "(host endpoints)".to_owned(),
        ..IsolationRow::default()
    };
    for e in endpoints.iter().filter(|e| e.is_policy_target()) {
        let row = match (&e.kind, &e.namespace) {
            (EndpointKind::Workload, Some(ns)) => {
                by_ns.entry(ns.to_string()).or_insert_with(|| IsolationRow {
                    namespace: ns.to_string(),
                    ..IsolationRow::default()
                })
            }
            _ => &mut hosts,
        };
        row.endpoints += 1;
        row.ingress_isolated += usize::from(is_isolated(e.id, Direction::Ingress));
        row.egress_isolated += usize::from(is_isolated(e.id, Direction::Egress));
    }

    let mut tiers: Vec<TierSummary> = engine
        .tiers()
        .iter()
        .map(|t| TierSummary {
            name: t.name.to_string(),
            order: t.order,
            default_action: format!("{:?}", t.default_action),
            policies: Vec::new(),
        })
        .collect();
    for (i, p) in engine.policies().iter().enumerate() {
        let Ok(pid) = u32::try_from(i) else { break };
        let pid = tabby_eval::PolicyId(pid);
        let mut sel_w = 0;
        let mut sel_h = 0;
        for e in endpoints.iter().filter(|e| e.is_policy_target()) {
            if engine.policy_selects(pid, e.id) {
                match e.kind {
                    EndpointKind::Host => sel_h += 1,
                    _ => sel_w += 1,
                }
            }
        }
        let pol = &p.policy;
        let mut types = Vec::new();
        if pol.types.ingress {
            types.push("Ingress");
        }
        if pol.types.egress {
            types.push("Egress");
        }
        if let Some(t) = tiers.get_mut(p.tier.0 as usize) {
            t.policies.push(PolicySummary {
                kind: pol.kind.as_str().to_owned(),
                namespace: pol.namespace.as_ref().map(ToString::to_string),
                name: pol.name.to_string(),
                order: pol.order,
                types,
                staged: pol.kind.is_staged(),
                selected_workloads: sel_w,
                selected_host_endpoints: sel_h,
                location: pol.loc.as_ref().map(|l| {
                    let (line, _) = l.line_col();
                    format!("{}:{line}", l.file().name())
                }),
            });
        }
    }

    CheckReport {
        valid: !input.has_errors(),
        resources: input.loaded.objects.len(),
        files: input.loaded.files.len(),
        errors: input.diagnostics.error_count(),
        warnings: input.diagnostics.warning_count(),
        endpoints: counts,
        tiers,
        namespaces: by_ns.into_values().collect(),
        host_endpoints: hosts,
        // Fix suggestions are long; `tabby lint --fix-suggest` shows them.
        findings: {
            let mut found = crate::cmd_lint::findings(engine, &lint.file.lint);
            lint.apply_ignores(&mut found);
            for f in &mut found {
                f.fix_suggestion = None;
            }
            found
        },
        notes: engine.notes().to_vec(),
    }
}

fn fmt_order(o: Option<f64>) -> String {
    o.map_or_else(|| "-".to_owned(), |o| o.to_string())
}

fn render(r: &CheckReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} resource{} in {} file{}, {} error{}, {} warning{}",
        if r.valid { "valid" } else { "invalid" },
        r.resources,
        plural(r.resources),
        r.files,
        plural(r.files),
        r.errors,
        plural(r.errors),
        r.warnings,
        plural(r.warnings)
    );
    let c = &r.endpoints;
    let _ = writeln!(
        s,
        "\nendpoints: {} workload{} in {} namespace{} ({} with addresses from the input, {} assigned by tabby), {} host endpoint{}, {} network set{}",
        c.workloads,
        plural(c.workloads),
        c.namespaces,
        plural(c.namespaces),
        c.pods_with_addresses,
        c.addresses_assigned_by_tabby,
        c.host_endpoints,
        plural(c.host_endpoints),
        c.network_sets,
        plural(c.network_sets)
    );

    let _ = writeln!(s, "\npolicies, in evaluation order:");
    for t in &r.tiers {
        let _ = writeln!(
            s,
            "  tier {} (order {}, default action {}): {} polic{}",
            t.name,
            fmt_order(t.order),
            t.default_action,
            t.policies.len(),
            if t.policies.len() == 1 { "y" } else { "ies" }
        );
        for p in &t.policies {
            let name = match &p.namespace {
                Some(ns) => format!("{ns}/{}", p.name),
                None => p.name.clone(),
            };
            let staged = if p.staged { " [staged]" } else { "" };
            let hosts = if p.selected_host_endpoints > 0 {
                format!(
                    ", {} host endpoint{}",
                    p.selected_host_endpoints,
                    plural(p.selected_host_endpoints)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "    {:>8}  {} {name}{staged}  {}  selects {} workload{}{hosts}",
                fmt_order(p.order),
                p.kind,
                p.types.join("+"),
                p.selected_workloads,
                plural(p.selected_workloads),
            );
        }
    }

    let _ = writeln!(
        s,
        "\nisolation (endpoints some enforced policy applies to; what no rule allows is dropped):"
    );
    let width = r
        .namespaces
        .iter()
        .map(|n| n.namespace.len())
        .chain([r.host_endpoints.namespace.len(), 9])
        .max()
        .unwrap_or(9);
    let _ = writeln!(
        s,
        "  {:<width$}  {:>9}  {:>7}  {:>6}",
        "namespace", "endpoints", "ingress", "egress"
    );
    let rows = r
        .namespaces
        .iter()
        .chain(std::iter::once(&r.host_endpoints).filter(|h| h.endpoints > 0));
    for row in rows {
        let _ = writeln!(
            s,
            "  {:<width$}  {:>9}  {:>7}  {:>6}",
            row.namespace,
            row.endpoints,
            frac(row.ingress_isolated, row.endpoints),
            frac(row.egress_isolated, row.endpoints),
        );
    }
    if r.findings.is_empty() {
        let _ = writeln!(s, "\nlint: no findings");
    } else {
        let _ = writeln!(
            s,
            "\nlint findings (`tabby lint` for options, docs/lints.md for each code):"
        );
        let text = tabby_lint::render_text(&r.findings);
        for line in text.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let _ = writeln!(
        s,
        "\nnext: `tabby trace PATH... --from NS/NAME --to NS/NAME --port PORT/PROTO` explains one flow rule by rule"
    );
    s
}

fn frac(n: usize, of: usize) -> String {
    if n == of {
        "all".to_owned()
    } else if n == 0 {
        "none".to_owned()
    } else {
        format!("{n}/{of}")
    }
}
