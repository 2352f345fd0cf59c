//! The `tabby` command line.
//!
//! Each subcommand lives in its own module with an `Args` struct (clap derive) and
//! a `run` function returning an [`Exit`]; `main.rs` only dispatches. Results go to
//! stdout, diagnostics to stderr. Exit codes follow `grep`/`diff`: 0 means OK
//! (valid, allowed, no findings), 1 a negative answer (invalid, denied), 2 a usage
//! or runtime error. A closed pipe (`tabby ... | head`) is not an error.

mod cmd_check;
mod cmd_flows;
mod cmd_lint;
mod cmd_reach;
mod cmd_recommend;
mod cmd_selector;
mod cmd_snapshot;
mod cmd_store;
mod cmd_trace;
mod cmd_validate;
mod input;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::OutputFormat;

/// How a command ended; maps onto the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the answer is yes (valid, allowed, nothing found).
    Ok,
    /// 1: the answer is no (invalid, denied, findings).
    Negative,
    /// 2: the command could not answer (usage error, unreadable input).
    Error,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        match e {
            Exit::Ok => ExitCode::SUCCESS,
            Exit::Negative => ExitCode::from(1),
            Exit::Error => ExitCode::from(2),
        }
    }
}

const ABOUT: &str =
    "Calico network policy, checked: validate, explain and analyse Calico and Kubernetes policies";

const LONG_ABOUT: &str = "\
tabby reads Calico (projectcalico.org/v3) and Kubernetes resources from YAML or JSON
files, validates them as Calico does, and answers questions about what the policies
really do.

Start here:
  tabby check examples/cluster examples/policies
                                      what is in these files, and what do the policies do?
  tabby validate policies/            is every resource valid? (exit 1 if not)
  tabby trace cluster/ --from production/backend --to kube-system/coredns --port 53/UDP
                                      would Calico allow this flow, and which rule decides?
  tabby lint examples/cluster examples/policies
                                      which production mistakes do these policies make?
  tabby reach examples/cluster examples/policies -o html > reach.html
                                      who can talk to whom, as a table, JSON, Graphviz, SVG or a page
  tabby diff --cluster examples/cluster examples/policies examples/corrected
                                      which connections does a change open or close?
  tabby replay --flows examples/flows/normal.jsonl examples/cluster examples/policies
                                      which recorded flows would these policies break?
  tabby recommend --flows examples/flows/normal.jsonl examples/cluster
                                      least-privilege policies from observed traffic, proved
  tabby selector fmt \"app=='web'\"     the canonical form of a selector
  tabby apply -f policies/ --dry-run  what would storing these change? (then without --dry-run)
  tabby get gnp -o yaml               what the store holds (--store PATH, or --etcd-endpoints URLS)
  tabby check --cluster               check the live cluster of your kubeconfig instead
  tabby check --store PATH            check what the store holds (or --etcd-endpoints URLS)
  tabby snapshot --cluster -o snap/   save the live cluster as YAML for offline use

Inputs are files, directories (read recursively) or - for stdin; multi-document YAML,
JSON, and kubectl's `kind: List` dumps all work.

Exit codes: 0 yes/valid/allowed, 1 no/invalid/denied, 2 usage or runtime error.";

/// Top-level arguments.
#[derive(Debug, Parser)]
#[command(name = "tabby", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(cmd_validate::Args),
    Check(cmd_check::Args),
    Trace(cmd_trace::Args),
    Lint(cmd_lint::Args),
    Reach(cmd_reach::ReachArgs),
    Diff(cmd_reach::DiffArgs),
    Snapshot(cmd_snapshot::Args),
    /// Work with Calico selectors: format them canonically or test them against labels
    #[command(subcommand)]
    Selector(cmd_selector::Command),
    Replay(cmd_flows::ReplayArgs),
    Recommend(cmd_recommend::Args),
    /// Work with flow logs: summarize, generate, convert
    #[command(subcommand)]
    Flows(cmd_flows::FlowsCommand),
    Apply(cmd_store::ApplyArgs),
    Create(cmd_store::CreateArgs),
    Replace(cmd_store::ReplaceArgs),
    Delete(cmd_store::DeleteArgs),
    Get(cmd_store::GetArgs),
    Label(cmd_store::LabelArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Validate(a) => cmd_validate::run(&a),
        Command::Check(a) => cmd_check::run(&a),
        Command::Trace(a) => cmd_trace::run(&a),
        Command::Lint(a) => cmd_lint::run(&a),
        Command::Reach(a) => cmd_reach::run_reach(&a),
        Command::Diff(a) => cmd_reach::run_diff(&a),
        Command::Snapshot(a) => cmd_snapshot::run(&a),
        Command::Selector(c) => cmd_selector::run(&c),
        Command::Replay(a) => cmd_flows::run_replay(&a),
        Command::Recommend(a) => cmd_recommend::run(&a),
        Command::Flows(c) => cmd_flows::run_flows(&c),
        Command::Apply(a) => cmd_store::run_apply(&a),
        Command::Create(a) => cmd_store::run_create(&a),
        Command::Replace(a) => cmd_store::run_replace(&a),
        Command::Delete(a) => cmd_store::run_delete(&a),
        Command::Get(a) => cmd_store::run_get(&a),
        Command::Label(a) => cmd_store::run_label(&a),
    };
    match result {
        Ok(exit) => exit,
        Err(e) if output::is_broken_pipe(&e) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Error
        }
    }
}

/// The binary's `main`: parse arguments (usage errors exit 2) and run.
pub fn main_entry() -> ExitCode {
    // `input::cluster_aware`: paths are optional where --cluster may replace them.
    let cli = match input::cluster_aware(<Cli as clap::CommandFactory>::command())
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    run(cli).into()
}
