//! Production best practices as checks over a built [`Engine`].
//!
//! [`lint`] runs every enabled check and returns [`Finding`]s. A finding is a fact
//! about the policy set, not an opinion: wherever a flow can show the problem, the
//! finding carries a [`FlowExample`] that was checked with [`Engine::decide`]. Checks
//! that are about the text of a policy (a selector that matches nothing, an
//! Enterprise-only field) carry no flow.
//!
//! Each check has a stable code (`TL001`, ...) documented in `docs/lints/CODE.md`.
//! A policy can silence checks for itself with the annotation
//! `tabby.dev/lint-ignore: "TL001,TL002"`; [`LintConfig`] disables codes or changes
//! their severity for the whole run.
//!
//! Cost: checks group endpoints by the program `resolve` gives them (endpoints with
//! the same applicable policies behave alike), so a run is near-linear in endpoints.

mod checks;
mod config;
mod output;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tabby_diag::Loc;
use tabby_eval::{Decision, Engine, Flow, PolicyId, SideVerdict};
use tabby_model::Direction;

pub use config::{glob_match, ConfigError, FileConfig, Ignore};
pub use output::{render_text, to_sarif};

/// The annotation that silences checks for one policy: a comma-separated code list.
pub const IGNORE_ANNOTATION: &str = "tabby.dev/lint-ignore";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses `error`, `warning` or `info` (any letter case).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" | "note" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// What a run checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintConfig {
    /// Codes not to run (`TL003`, ...).
    pub disabled: BTreeSet<String>,
    /// Severity per code, replacing the check's own.
    pub severity: BTreeMap<String, Severity>,
    /// Namespace label marking tenant namespaces (value `true`), for TL011.
    pub tenant_label: String,
}

impl Default for LintConfig {
    fn default() -> Self {
        Self {
            disabled: BTreeSet::new(),
            severity: BTreeMap::new(),
            tenant_label: "tenant".to_owned(),
        }
    }
}

impl LintConfig {
    fn enabled(&self, code: &str) -> bool {
        !self.disabled.contains(code)
    }
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRef {
    /// `GlobalNetworkPolicy`, `NetworkPolicy`, `Namespace`, ...
    pub kind: String,
    /// `namespace/name` or `name`.
    pub name: String,
    /// `ingress` / `egress` rule this finding is about, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// Source location of the rule (or else the resource), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The same place as a span, for rendering with source context.
    #[serde(skip)]
    pub loc: Option<Loc>,
}

/// One rule of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    #[serde(serialize_with = "ser_dir")]
    pub direction: Direction,
    pub index: usize,
}

fn ser_dir<S: serde::Serializer>(d: &Direction, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(dir_str(*d))
}

pub(crate) fn dir_str(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// A flow checked with [`Engine::decide`] that shows the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowExample {
    /// `ns/pod`, `host:name`, or an address.
    pub from: String,
    pub from_ip: String,
    pub to: String,
    pub to_ip: String,
    /// `TCP`, `UDP`, ...
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `allow` or `deny`.
    pub verdict: &'static str,
    /// The flow-log policy string of the hit that decided it (the denying side for a
    /// denied flow, the ingress side otherwise), or a description when no policy did.
    pub decided_by: String,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<FlowExample>,
    /// YAML of a policy that would close the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_suggestion: Option<String>,
    /// The policy the finding is about (for the ignore annotation).
    #[serde(skip)]
    pub(crate) policy: Option<PolicyId>,
}

/// Every check: code, default severity, one-line title (also the SARIF rule text).
pub const CHECKS: &[(&str, Severity, &str)] = &[
    (
        "TL001",
        Severity::Error,
        "workloads cannot reach the cluster DNS",
    ),
    (
        "TL002",
        Severity::Error,
        "default deny isolates system pods or host endpoints",
    ),
    (
        "TL003",
        Severity::Warning,
        "rule-less policy without types only covers ingress",
    ),
    (
        "TL004",
        Severity::Warning,
        "negative namespace selector also matches host endpoints",
    ),
    ("TL005", Severity::Warning, "selector matches nothing"),
    (
        "TL006",
        Severity::Error,
        "template placeholder in a selector is never expanded",
    ),
    ("TL007", Severity::Warning, "rule can never decide"),
    (
        "TL008",
        Severity::Warning,
        "Calico Enterprise-only field ignored or refused by open-source Calico",
    ),
    (
        "TL009",
        Severity::Warning,
        "egress allowed to the whole internet on any port",
    ),
    ("TL010", Severity::Info, "namespace without default deny"),
    (
        "TL011",
        Severity::Error,
        "traffic allowed between tenant namespaces",
    ),
    (
        "TL012",
        Severity::Info,
        "rule-less policy whose order does nothing",
    ),
    (
        "TL013",
        Severity::Warning,
        "egress allow whose destination's ingress drops it",
    ),
    (
        "TL014",
        Severity::Warning,
        "allow of everything makes later rules dead",
    ),
    (
        "TL015",
        Severity::Error,
        "address block bypassed by an earlier allow",
    ),
];

pub(crate) fn default_severity(code: &str) -> Severity {
    CHECKS
        .iter()
        .find(|c| c.0 == code)
        .map_or(Severity::Warning, |c| c.1)
}

/// Runs every enabled check. Findings are sorted by code, then resource, then message.
pub fn lint(engine: &Engine, config: &LintConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    checks::run_all(engine, config, &mut out);
    out.retain(|f| config.enabled(f.code) && !ignored(engine, f));
    for f in &mut out {
        if let Some(s) = config.severity.get(f.code) {
            f.severity = *s;
        }
    }
    out.sort_by(|a, b| {
        (a.code, a.resource.as_ref().map(|r| &r.name), &a.message).cmp(&(
            b.code,
            b.resource.as_ref().map(|r| &r.name),
            &b.message,
        ))
    });
    out.dedup();
    out
}

fn ignored(engine: &Engine, f: &Finding) -> bool {
    let Some(p) = f.policy.and_then(|id| engine.policy(id)) else {
        return false;
    };
    p.policy
        .annotations
        .get(IGNORE_ANNOTATION)
        .is_some_and(|v| v.split(',').any(|c| c.trim().eq_ignore_ascii_case(f.code)))
}

/// A reference to a policy (and optionally one of its rules) with its location.
pub(crate) fn policy_ref(
    engine: &Engine,
    id: PolicyId,
    rule: Option<(Direction, usize)>,
) -> Option<ResourceRef> {
    let p = &engine.policy(id)?.policy;
    let rule_loc = rule.and_then(|(d, i)| p.rules(d).get(i)?.loc.clone());
    let loc = rule_loc.or_else(|| p.loc.clone());
    Some(with_loc(
        ResourceRef {
            kind: p.kind.as_str().to_owned(),
            name: p.display_name(),
            rule: rule.map(|(direction, index)| RuleRef { direction, index }),
            file: None,
            line: None,
            column: None,
            loc: None,
        },
        loc.as_ref(),
    ))
}

pub(crate) fn with_loc(mut r: ResourceRef, loc: Option<&Loc>) -> ResourceRef {
    if let Some(loc) = loc {
        let (line, col) = loc.line_col();
        r.file = Some(loc.file().name().to_owned());
        r.line = Some(line);
        r.column = Some(col);
        r.loc = Some(loc.clone());
    }
    r
}

/// Decides `flow` and describes it as a [`FlowExample`].
pub(crate) fn example(
    engine: &Engine,
    flow: &Flow,
    from: &str,
    to: &str,
) -> (Decision, FlowExample) {
    let d = engine.decide(flow);
    let side: SideVerdict = if !d.egress.allowed() {
        d.egress
    } else if !d.ingress.allowed() || d.ingress != SideVerdict::NotCalico {
        d.ingress
    } else {
        d.egress
    };
    let decided_by = engine
        .flow_log_policy(&side)
        .unwrap_or_else(|| engine.describe(&side));
    // Stand-in addresses may have been switched to the other family by the caller.
    let name = |label: &str, ip: std::net::IpAddr| match label.parse::<std::net::IpAddr>() {
        Ok(_) => ip.to_string(),
        Err(_) => label.to_owned(),
    };
    let ex = FlowExample {
        from: name(from, flow.src_ip),
        from_ip: flow.src_ip.to_string(),
        to: name(to, flow.dst_ip),
        to_ip: flow.dst_ip.to_string(),
        protocol: flow.protocol.to_string(),
        port: flow.protocol.has_ports().then_some(flow.dst_port),
        verdict: if d.allowed { "allow" } else { "deny" },
        decided_by,
    };
    (d, ex)
}
