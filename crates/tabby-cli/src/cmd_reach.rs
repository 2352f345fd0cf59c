//! `tabby reach` and `tabby diff`: who can talk to whom, and what a change does.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use tabby_analysis::{diff, reach, reach_port, ReachOptions};
use tabby_eval::{Engine, EngineOptions};
use tabby_model::Protocol;

use crate::input::{ClusterArgs, Input, InputArgs, KubeconfigArgs};
use crate::output::print_stdout;
use crate::Exit;

/// Who can talk to whom: every pair of endpoints, with the ports allowed
///
/// The answer is exact, not sampled: ports are treated as intervals, and endpoints
/// that no policy can tell apart are analysed once. Endpoints are workloads
/// (`ns/name`), host endpoints (`host:NAME`), network sets (`netset:ns/name`,
/// `gnetset:NAME`) and the internet (`internet`, or `internet:CIDR` where a rule
/// singles out a range).
///
/// Examples:
///   tabby reach examples/cluster examples/policies
///   tabby reach examples/cluster examples/policies --port 53/UDP -o json
///   tabby reach examples/cluster examples/corrected -o html > reach.html
///   tabby reach cluster/ policies/ -o dot --group | dot -Tsvg > reach.svg
///
/// Exit status: 0, or 2 on usage or input errors, or when the input has no
/// endpoints (policies without the cluster's files).
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct ReachArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Only this port and protocol: a matrix of who may connect on it (`80/TCP`, `53/udp`)
    #[arg(long, value_name = "PORT/PROTO")]
    pub port: Option<String>,

    /// Analyse the audit-mode view: staged policies as if they were enforced
    #[arg(long)]
    pub staged: bool,

    /// Draw endpoints that policy cannot tell apart as one node (dot, svg, html)
    #[arg(long)]
    pub group: bool,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = ReachFormat::Table)]
    pub output: ReachFormat,
}

/// Formats for `reach` and `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Table,
    Json,
    Csv,
    Md,
    Dot,
    /// SVG drawn by tabby (no Graphviz needed); `reach` only
    Svg,
    /// One self-contained page: filter by namespace, click an edge for its policies; `reach` only
    Html,
}

/// What a policy change does to connectivity: connections added and removed
///
/// OLD and NEW are two versions of a policy set for the same cluster; the cluster
/// itself (namespaces, workloads, network sets) comes from --cluster and is shared.
/// Each change names the policy now responsible.
///
/// With --store PATH or --etcd-endpoints URLS, give only NEW: the old side is what
/// the store holds, the new side the store with NEW applied over it (as `tabby
/// apply -f NEW` would write it).
///
/// Examples:
///   tabby diff --cluster examples/cluster examples/policies examples/corrected
///   tabby diff --cluster cluster/ main/policies/ pr/policies/ -o md
///   tabby diff --store store.redb pr/policies/
///
/// Exit status: 0 nothing changed, 1 something did, 2 usage or input error (or no
/// endpoints on either side: give the cluster's files with --cluster).
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// The old policy set (file or directory); with --store or --etcd-endpoints, the new one
    pub old: PathBuf,
    /// The new policy set (file or directory)
    #[arg(required_unless_present_any = ["store", "etcd_endpoints"])]
    pub new: Option<PathBuf>,

    // --store/--etcd-endpoints: the store is the old side (docs/store.md).
    #[command(flatten)]
    pub store: crate::cmd_store::StoreSourceArgs,

    /// Cluster state shared by both versions (repeatable)
    #[arg(long, value_name = "PATH")]
    pub cluster: Vec<PathBuf>,

    // --kubeconfig/--context: also read that live cluster's state (shared by both versions).
    #[command(flatten)]
    pub live: KubeconfigArgs,

    /// Compare the audit-mode views (staged policies as if enforced)
    #[arg(long)]
    pub staged: bool,

    /// Output format (table, json, csv, md, dot)
    #[arg(short, long, value_enum, default_value_t = ReachFormat::Table)]
    pub output: ReachFormat,

    /// Show notes too
    #[arg(short, long)]
    pub verbose: bool,
}

fn parse_port(text: &str) -> Result<(Protocol, u16), String> {
    let (port, proto) = crate::input::split_port(text)?;
    let proto_text = proto.unwrap_or("TCP");
    let proto = Protocol::NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(proto_text))
        .and_then(|n| Protocol::from_name(n))
        .filter(|p| p.has_ports())
        .ok_or_else(|| format!("--port `{text}`: the protocol must be TCP, UDP or SCTP"))?;
    Ok((proto, port))
}

/// The error for an input with policies but nothing they apply to: every answer
/// would be empty, which reads as "nothing can connect" or "nothing changed".
pub fn no_endpoints(fix: &str) -> String {
    format!("the input has no endpoints (no pod, workload or host endpoint) for the policies to apply to: {fix}")
}

fn engine_for(input: &Input) -> Engine {
    Engine::new(&input.cluster, EngineOptions::default())
}

/// Streams JSON straight to stdout: a 10,000-pod cluster has millions of connections.
struct StdoutFmt(
    std::io::BufWriter<std::io::StdoutLock<'static>>,
    Option<std::io::Error>,
);

impl std::fmt::Write for StdoutFmt {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|e| {
            self.1 = Some(e);
            std::fmt::Error
        })
    }
}

pub fn run_reach(args: &ReachArgs) -> anyhow::Result<Exit> {
    let input = Input::read_with_cluster(&args.input, &args.cluster)?;
    if let Err(exit) = input.report_and_require_valid(args.input.verbose) {
        return Ok(exit);
    }
    if input.has_no_endpoints() {
        eprintln!("error: {}", no_endpoints("add the cluster's files (namespaces, pods) to the paths, or --cluster to read the live cluster"));
        return Ok(Exit::Error);
    }
    let only = match args.port.as_deref().map(parse_port).transpose() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Error);
        }
    };
    let engine = engine_for(&input);
    let opts = ReachOptions {
        staged: args.staged,
        only,
        threads: 0,
    };
    if let Some((proto, port)) = only {
        let m = reach_port(&engine, proto, port, &opts);
        let text = match args.output {
            ReachFormat::Table => m.to_table(),
            ReachFormat::Json => m.to_json(),
            ReachFormat::Csv => m.to_csv(),
            ReachFormat::Md => m.to_markdown(),
            ReachFormat::Dot => m.to_dot(),
            ReachFormat::Svg | ReachFormat::Html => {
                eprintln!("error: --port supports table, json, csv, md and dot output");
                return Ok(Exit::Error);
            }
        };
        print_stdout(&text)?;
        return Ok(Exit::Ok);
    }
    let r = reach(&engine, &opts);
    match args.output {
        ReachFormat::Json => {
            let mut out = StdoutFmt(std::io::BufWriter::new(std::io::stdout().lock()), None);
            r.write_json(&mut out);
            if let Some(e) = out.1.take() {
                return Err(e.into());
            }
            out.0.write_all(b"\n")?;
            out.0.flush()?;
        }
        ReachFormat::Table => print_stdout(&r.to_table())?,
        ReachFormat::Csv => print_stdout(&r.to_csv())?,
        ReachFormat::Md => print_stdout(&r.to_markdown())?,
        ReachFormat::Dot => print_stdout(&r.to_dot(args.group))?,
        ReachFormat::Svg => print_stdout(&r.to_svg(args.group))?,
        ReachFormat::Html => print_stdout(&r.to_html(&engine, args.group))?,
    }
    Ok(Exit::Ok)
}

pub fn run_diff(args: &DiffArgs) -> anyhow::Result<Exit> {
    let live = match args.live.source(false) {
        Some(source) => Some(crate::input::read_live_cluster(&source)?),
        None => None,
    };
    let read = |set: &PathBuf| {
        let mut paths = args.cluster.clone();
        paths.push(set.clone());
        let inputs = InputArgs {
            paths,
            verbose: args.verbose,
        };
        Input::read_with_live(&inputs, live.as_ref())
    };
    let (old, new) = match (args.store.read()?, &args.new) {
        (None, Some(new)) => (read(&args.old), read(new)),
        (Some(stored), None) => crate::cmd_store::diff_against_store(
            &stored,
            &args.cluster,
            &args.old,
            live.as_ref(),
            args.verbose,
        ),
        (Some(_), Some(_)) => {
            eprintln!(
                "error: with --store or --etcd-endpoints, give only NEW: the store is the old side"
            );
            return Ok(Exit::Error);
        }
        (None, None) => {
            eprintln!(
                "error: diff needs OLD and NEW, or --store PATH (or --etcd-endpoints URLS) and NEW"
            );
            return Ok(Exit::Error);
        }
    };
    for input in [&old, &new] {
        if let Err(exit) = input.report_and_require_valid(args.verbose) {
            return Ok(exit);
        }
    }
    if old.has_no_endpoints() && new.has_no_endpoints() {
        eprintln!("error: {}", no_endpoints("give the cluster's files (namespaces, pods) with --cluster PATH, or --kubeconfig/--context to read a live cluster"));
        return Ok(Exit::Error);
    }
    let opts = ReachOptions {
        staged: args.staged,
        only: None,
        threads: 0,
    };
    let d = diff(&engine_for(&old), &engine_for(&new), &opts);
    let text = match args.output {
        ReachFormat::Table => d.to_table(),
        ReachFormat::Json => d.to_json(),
        ReachFormat::Csv => d.to_csv(),
        ReachFormat::Md => d.to_markdown(),
        ReachFormat::Dot => d.to_dot(),
        ReachFormat::Svg | ReachFormat::Html => {
            eprintln!("error: diff supports table, json, csv, md and dot output");
            return Ok(Exit::Error);
        }
    };
    print_stdout(&text)?;
    Ok(if d.is_empty() {
        Exit::Ok
    } else {
        Exit::Negative
    })
}
