//! `tabby lint`: the article's production mistakes as checks, each finding backed
//! by a concrete flow the engine decided.

use clap::{Args as ClapArgs, ValueEnum};
use tabby_eval::{Engine, EngineOptions};
use tabby_lint::{lint, render_text, to_sarif, Finding, LintConfig, Severity, CHECKS};

use crate::input::{report_diagnostics, Input, InputArgs};
use crate::output::{print_json, print_stdout};
use crate::Exit;

/// Find the mistakes that break production clusters or leave them open
///
/// Each check looks at the whole cluster through the engine, and backs its finding
/// with a counterexample flow where one exists: DNS unreachable under default
/// deny, system namespaces and host endpoints caught by a default deny, rule-less
/// policies that only cover ingress, selectors that match nothing or hold
/// `{{templates}}`, shadowed and too-broad rules, open egress, tenant leaks, and
/// fields open-source Calico ignores. Every code is explained in docs/lints/CODE.md.
///
/// Silence one check for one policy with the annotation
/// `tabby.dev/lint-ignore: "TL007"` (comma-separated codes).
///
/// Examples:
///   tabby lint examples/cluster examples/policies
///   tabby lint cluster/ policies/ --fail-on warning -o sarif > tabby.sarif
///   tabby lint cluster/ policies/ --disable TL010 --severity TL009=error
///
/// Exit status: 0 no findings at or above --fail-on, 1 some, 2 usage or input error.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format: text, json, or sarif (SARIF 2.1.0 for code-scanning tools)
    #[arg(short, long, value_enum, default_value_t = LintFormat::Text)]
    pub output: LintFormat,

    /// Exit 1 when a finding at or above this severity exists
    #[arg(long, value_name = "SEVERITY", default_value = "error", value_parser = parse_severity)]
    pub fail_on: Severity,

    /// Do not run this check (repeatable): --disable TL010
    #[arg(long, value_name = "CODE")]
    pub disable: Vec<String>,

    /// Change a check's severity (repeatable): --severity TL009=error
    #[arg(long, value_name = "CODE=SEVERITY")]
    pub severity: Vec<String>,

    /// Namespace label that marks tenant namespaces (value `true`), for the tenant-leak check
    #[arg(long, value_name = "KEY", default_value = "tenant")]
    pub tenant_label: String,

    /// Print the YAML of a policy that would close each finding, where tabby can prove one
    #[arg(long)]
    pub fix_suggest: bool,

    /// List the checks and exit
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("`{s}` is not a severity; use error, warning or info"))
}

/// The lint configuration from the command line; errors are usage errors.
fn config(args: &Args) -> Result<LintConfig, String> {
    let known = |code: &str| CHECKS.iter().any(|(c, _, _)| *c == code);
    let mut cfg = LintConfig {
        tenant_label: args.tenant_label.clone(),
        ..LintConfig::default()
    };
    for code in &args.disable {
        let code = code.trim().to_ascii_uppercase();
        if !known(&code) {
            return Err(format!(
                "--disable: unknown check `{code}` (see `tabby lint --list`)"
            ));
        }
        cfg.disabled.insert(code);
    }
    for pair in &args.severity {
        let (code, sev) = pair
            .split_once('=')
            .ok_or_else(|| format!("--severity `{pair}`: expected CODE=SEVERITY"))?;
        let code = code.trim().to_ascii_uppercase();
        if !known(&code) {
            return Err(format!(
                "--severity: unknown check `{code}` (see `tabby lint --list`)"
            ));
        }
        cfg.severity.insert(code, parse_severity(sev)?);
    }
    Ok(cfg)
}

/// Runs the checks on an already-built engine (shared with `tabby check`).
pub fn findings(engine: &Engine, cfg: &LintConfig) -> Vec<Finding> {
    lint(engine, cfg)
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    if args.list {
        let mut s = String::new();
        for (code, sev, title) in CHECKS {
            s.push_str(&format!("{code}  {:<7}  {title}\n", sev.as_str()));
        }
        print_stdout(&s)?;
        return Ok(Exit::Ok);
    }
    let cfg = match config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let input = Input::read(&args.input);
    report_diagnostics(&input.diagnostics, args.input.verbose);
    if input.has_unreadable_path() {
        return Ok(Exit::Error);
    }
    let engine = Engine::new(&input.cluster, EngineOptions::default());
    let mut found = findings(&engine, &cfg);
    if !args.fix_suggest {
        for f in &mut found {
            f.fix_suggestion = None;
        }
    }
    match args.output {
        LintFormat::Text => print_stdout(&render_text(&found))?,
        LintFormat::Json => print_json(&found)?,
        LintFormat::Sarif => print_json(&to_sarif(&found))?,
    }
    // Severity orders Error < Warning < Info: "at or above" means <= the threshold.
    let failing = found.iter().any(|f| f.severity <= args.fail_on) || input.has_errors();
    Ok(if failing { Exit::Negative } else { Exit::Ok })
}
