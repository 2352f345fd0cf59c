//! `tabby recommend`: least-privilege policies from observed traffic, proved by replay.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};
use tabby_flowlog::ReadOptions;
use tabby_recommend::{Options, PolicyFormat, Recommender};
use tabby_replay::RunOptions;

use crate::input::{split_flow_args, ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout};
use crate::Exit;

/// Recommend least-privilege policies from observed traffic
///
/// Reads flow logs (tabby JSON Lines, Calico flow-log JSON or CSV) and, optionally, the
/// cluster (namespaces, pods, services; any policies in it are ignored), and writes one
/// policy per workload (namespace + stable labels such as `app`, never pod names) that
/// allows exactly the peers and ports observed, plus DNS to kube-dns, then a default deny
/// per namespace. System namespaces (kube-system, calico-system, calico-apiserver,
/// tigera-operator) get no policies. Only allowed records are used unless
/// --include-denied.
///
/// The output is proved before it is written: it is read back as `tabby validate` reads
/// it, and every observed flow is replayed against it; a flow it would deny is a bug in
/// tabby (exit 2, flows listed). A summary goes to stderr. See docs/recommend.md.
///
/// Examples:
///   tabby recommend --flows flows.jsonl examples/cluster > recommended.yaml
///   tabby recommend --flows flows.jsonl --format kubernetes --namespace production
///   tabby recommend --flows flows.jsonl cluster/ --apiserver 10.0.1.10:6443 -o json
///
/// Values after --flows that are directories or YAML files are taken as PATHs.
///
/// Exit status: 0 written and proved, 2 error (unreadable input or input with errors, or the proof failed).
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Flow logs to learn from (`-` for stdin)
    #[arg(long = "flows", value_name = "FILE", num_args = 1.., required = true)]
    pub flows: Vec<PathBuf>,

    /// Cluster resources (files or directories): pods, namespaces, services, host endpoints
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Policy kind to write
    #[arg(long, value_enum, default_value_t = FormatArg::Calico)]
    pub format: FormatArg,

    /// Only write policies for workloads in this namespace (repeatable)
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Output: YAML documents or a JSON `List`
    #[arg(short, long, value_enum, default_value_t = Out::Yaml)]
    pub output: Out,

    /// Learn from denied records too (by default only allowed traffic is legitimate)
    #[arg(long)]
    pub include_denied: bool,

    /// The API server as pods reach it after DNAT (`10.0.1.10:6443`): workloads that mount
    /// a service-account token may reach it
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub apiserver: Option<SocketAddr>,

    /// Most exact external addresses per workload and direction before aggregating them
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_exact_nets: usize,

    /// Show notes about the cluster input too
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// projectcalico.org/v3 NetworkPolicy
    Calico,
    /// networking.k8s.io/v1 NetworkPolicy
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Out {
    Yaml,
    Json,
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    let (flow_files, paths) = split_flow_args(&args.flows, &args.paths);
    if flow_files.is_empty() {
        eprintln!("error: no flow log given: `--flows` needs at least one flow-log file (directories and YAML files are cluster inputs)");
        return Ok(Exit::Error);
    }
    let cluster = if paths.is_empty() && !args.cluster.is_set() {
        None
    } else {
        let input = Input::read_with_cluster(
            &InputArgs {
                paths: paths.clone(),
                verbose: args.verbose,
            },
            &args.cluster,
        )?;
        if let Err(exit) = input.report_and_require_valid(args.verbose) {
            return Ok(exit);
        }
        Some(input.cluster)
    };
    let opts = Options {
        format: match args.format {
            FormatArg::Calico => PolicyFormat::Calico,
            FormatArg::Kubernetes => PolicyFormat::Kubernetes,
        },
        namespaces: args.namespaces.clone(),
        include_denied: args.include_denied,
        apiserver: args.apiserver,
        max_exact_nets: args.max_exact_nets,
    };
    // Parsed and aggregated on every core (one reader, a worker per core, each
    // with its own recommender), then merged: the same pipeline as replay.
    let run_opts = RunOptions {
        threads: crate::cmd_flows::threads(None),
        read: ReadOptions { policies: false },
        // Most malformed records shown per file (the rest are counted).
        max_errors: 10,
        ..RunOptions::default()
    };
    let mut r = Recommender::new(opts.clone());
    let Some(stats) = crate::cmd_flows::run_files(
        &flow_files,
        &run_opts,
        || Recommender::new(opts.clone()),
        |part| r.merge(part),
    ) else {
        return Ok(Exit::Error);
    };
    let skipped = stats.skipped;
    let rec = r.finish(cluster.as_ref());

    let mut err = std::io::stderr().lock();
    for n in &rec.notes {
        let _ = writeln!(err, "note: {n}");
    }
    let c = rec.counts;
    let _ = writeln!(
        err,
        "recommend: {} records read ({} used, {} denied left out, {} without a port, {} malformed skipped), {} distinct flows",
        c.records, c.used, c.denied, c.no_port, skipped, rec.distinct_flows
    );
    let allow = rec.workloads.len();
    let _ = writeln!(
        err,
        "recommend: {} policies: {allow} workload polic{} and {} default deny in {} namespace{}",
        rec.policy_count(),
        if allow == 1 { "y" } else { "ies" },
        rec.namespaces.len(),
        rec.namespaces.len(),
        if rec.namespaces.len() == 1 { "" } else { "s" }
    );
    let p = &rec.proof;
    if !p.passed() {
        for e in &p.invalid {
            let _ = write!(err, "{e}");
        }
        for f in p.failures.iter().take(50) {
            let _ = writeln!(err, "  not allowed: {f}");
        }
        if p.failures.len() > 50 {
            let _ = writeln!(err, "  ... and {} more", p.failures.len() - 50);
        }
        let _ = writeln!(
            err,
            "error: proof failed: {} observed flow{} not allowed by the recommended set{}; this is a bug in tabby, please report it",
            p.failures.len(),
            if p.failures.len() == 1 { "" } else { "s" },
            if p.invalid.is_empty() { "" } else { " (and the output does not validate)" }
        );
        return Ok(Exit::Error);
    }
    let _ = writeln!(
        err,
        "recommend: proof passed: all {} distinct flows replayed are allowed{}",
        p.checked,
        if p.skipped > 0 {
            format!(
                " ({} could not be replayed: an endpoint without an address)",
                p.skipped
            )
        } else {
            String::new()
        }
    );
    drop(err);
    match args.output {
        Out::Yaml => print_stdout(&rec.to_yaml())?,
        Out::Json => print_json(&rec.to_json())?,
    }
    Ok(Exit::Ok)
}
