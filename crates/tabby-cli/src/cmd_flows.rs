//! `tabby replay` and `tabby flows summarize|generate|convert`: recorded traffic against policy.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args as ClapArgs, Subcommand};
use ipnet::IpNet;
use tabby_eval::{Engine, EngineOptions};
use tabby_flowlog::{
    FlowReader, FlowRecord, FlowWriter, Format, ReadError, ReadOptions, ReadStats, RecordError,
};
use tabby_replay::summary::{Counts, Summary};
use tabby_replay::{GroupReport, ReplayOptions, Replayer, Report, RunOptions, Tally};

use crate::input::{ClusterArgs, Input, InputArgs};
use crate::output::{print_json, print_stdout, OutputFormat};
use crate::Exit;
use tabby_load::Loaded;

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>()
        .map_err(|_| format!("unknown flow-log format `{s}`; use jsonl, calico or csv"))
}

/// Replay recorded flows against a policy set: what would a rollout break?
///
/// Every record of the flow logs is evaluated against the policies at PATH and compared
/// with what was recorded (or, with --baseline, with the verdict of the old policy set).
/// The report lists the flows that were allowed and would now be denied (the breakage),
/// those newly allowed, grouped by the policy and rule responsible, with counts and
/// examples, and the records whose endpoints are not in the cluster.
///
/// A record reported by the source is judged by the source's egress policy, one reported
/// by the destination by the destination's ingress policy (--whole-flow: both sides).
/// Endpoints are found by IP, else by namespace/name (pods, aggregated names such as
/// `backend-*`, controllers), else by labels.
///
/// Examples:
///   tabby replay --flows examples/flows/normal.jsonl examples/cluster examples/policies
///   tabby replay --flows mon.log --flows tue.log new/ --baseline old-cluster/ old-policies/
///   tabby replay --flows flows.log --staged cluster/ policies/     (audit mode)
///
/// Exit status: 0 nothing previously allowed is denied, 1 some flow would break, 2 error
/// (unreadable flow log or cluster input, input with errors, unknown format).
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct ReplayArgs {
    /// Flow log to replay (tabby JSON Lines, Calico flow-log JSON or CSV; `-` for stdin); repeat for more files
    #[arg(long = "flows", value_name = "FILE", required = true, action = clap::ArgAction::Append)]
    pub flows: Vec<PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Compare with this policy set's verdicts instead of the recorded actions (takes every path up to the next option)
    #[arg(long, value_name = "OLD_PATH", num_args = 1..)]
    pub baseline: Vec<PathBuf>,

    /// Audit mode: judge by the staged view (staged policies as if enforced)
    #[arg(long)]
    pub staged: bool,

    /// Evaluate both sides of every record, whichever side reported it
    #[arg(long)]
    pub whole_flow: bool,

    /// Flow-log format (default: detected from the first line)
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Examples shown per group
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub examples: usize,

    /// Worker threads (default: the number of CPUs)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Longest record line accepted, in bytes; longer lines are reported and skipped
    #[arg(long, default_value_t = tabby_flowlog::DEFAULT_MAX_LINE, value_name = "BYTES")]
    pub max_line_bytes: usize,

    /// Where tabby takes addresses for workloads that have none in the input
    #[arg(long, value_name = "CIDR", default_value = "10.244.0.0/16")]
    pub pod_cidr: IpNet,

    /// Output format (JSON: docs/replay.md)
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Work with flow logs
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    Summarize(SummarizeArgs),
    Generate(GenerateArgs),
    Convert(ConvertArgs),
}

/// Summarize flow logs: top denied flows, top talkers, by namespace and by policy
///
/// Examples:
///   tabby flows summarize examples/flows/normal.jsonl
///   tabby flows summarize --denied --top 20 flows.log
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct SummarizeArgs {
    /// Flow logs (`-` for stdin)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Count denied records only
    #[arg(long)]
    pub denied: bool,
    /// Rows per table
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
    /// Flow-log format (default: detected)
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// Worker threads (default: the number of CPUs)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Generate a realistic flow log (for benchmarks and tests) on stdout
///
/// With PATHs, the traffic is between the workloads of that cluster; without, of the
/// synthetic cluster of the benchmarks (--pods pods in --namespaces namespaces).
///
/// Example:
///   tabby flows generate --records 10000000 > /tmp/flows.jsonl
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct GenerateArgs {
    /// Cluster to generate traffic for (default: the synthetic benchmark cluster)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Number of records
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub records: u64,
    /// Pods of the synthetic cluster
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub pods: usize,
    /// Namespaces of the synthetic cluster
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub namespaces: usize,
    /// Random seed
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format: jsonl, calico or csv
    #[arg(long, value_name = "FORMAT", value_parser = parse_format, default_value = "jsonl")]
    pub format: Format,
}

/// Convert a flow log between formats (output on stdout)
///
/// Example:
///   tabby flows convert --to csv flows.jsonl > flows.csv
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct ConvertArgs {
    /// Flow log (`-` for stdin)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format: jsonl, calico or csv
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub to: Format,
    /// Input format (default: detected)
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub from: Option<Format>,
}

fn open(path: &Path) -> std::io::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let f = File::open(path)?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

/// A progress line on stderr, only when stderr is a terminal.
struct Progress {
    on: bool,
    last: Instant,
    label: String,
    total: Option<u64>,
}

impl Progress {
    fn new(label: String, total: Option<u64>) -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            last: Instant::now(),
            label,
            total,
        }
    }
    fn tick(&mut self, bytes: u64) {
        if !self.on || self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let mb = bytes as f64 / 1e6;
        let line = match self.total {
            Some(t) if t > 0 => {
                let pct = (bytes as f64 / t as f64 * 100.0).min(100.0);
                let filled = (pct / 5.0) as usize;
                format!(
                    "\r{} [{}{}] {pct:5.1}% {mb:.0}/{:.0} MB",
                    self.label,
                    "#".repeat(filled),
                    " ".repeat(20 - filled.min(20)),
                    t as f64 / 1e6
                )
            }
            _ => format!("\r{} {mb:.0} MB", self.label),
        };
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    fn done(&self) {
        if self.on {
            let _ = std::io::stderr().write_all(b"\r\x1b[K");
        }
    }
}

/// Malformed records as `FILE:LINE: error: ...`, then how many more were skipped.
pub(crate) fn print_errors(file: &str, errors: &[RecordError], skipped: u64) {
    let mut err = std::io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "{}", e.render(file));
    }
    let shown = errors.len() as u64;
    if skipped > shown {
        let _ = writeln!(
            err,
            "{file}: {} more malformed records not shown",
            skipped - shown
        );
    }
}

/// Reads every file in parallel into sinks made by `make`, merging with `merge`.
/// Returns the merged result and the read stats, or `None` after printing an error.
/// (Shared with `tabby recommend`.)
pub(crate) fn run_files<S: tabby_replay::Sink>(
    files: &[PathBuf],
    opts: &RunOptions,
    make: impl Fn() -> S + Sync,
    mut merge: impl FnMut(S),
) -> Option<ReadStats> {
    let mut total = ReadStats::default();
    for (i, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let (reader, len) = match open(path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                return None;
            }
        };
        let mut progress = Progress::new(name.clone(), len);
        let file = u32::try_from(i).unwrap_or(u32::MAX);
        let result = tabby_replay::run(reader, file, opts, &make, &mut |b| progress.tick(b));
        progress.done();
        match result {
            Ok(r) => {
                print_errors(&name, &r.errors, r.stats.skipped);
                total.add(&r.stats);
                for s in r.sinks {
                    merge(s);
                }
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                if let tabby_flowlog::OpenError::Format(p) = &e {
                    if let Some(h) = p.help() {
                        eprintln!("  = help: {h}");
                    }
                }
                return None;
            }
        }
    }
    Some(total)
}

/// The engine for these paths, plus the live cluster's objects when one was read
/// (shared by the new set and the baseline, as `tabby diff` shares it).
fn load_engine(
    paths: &[PathBuf],
    live: Option<&Loaded>,
    verbose: bool,
    pod_cidr: IpNet,
) -> Option<Engine> {
    let input = Input::read_with_live(
        &InputArgs {
            paths: paths.to_vec(),
            verbose,
        },
        live,
    );
    // Input errors: no answer (exit 2), as every analysis command.
    input.report_and_require_valid(verbose).ok()?;
    Some(Engine::new(
        &input.cluster,
        EngineOptions {
            pod_cidr,
            ..EngineOptions::default()
        },
    ))
}

pub(crate) fn threads(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1)
}

pub fn run_replay(args: &ReplayArgs) -> anyhow::Result<Exit> {
    let live = args.cluster.read_live()?;
    let Some(engine) = load_engine(
        &args.input.paths,
        live.as_ref(),
        args.input.verbose,
        args.pod_cidr,
    ) else {
        return Ok(Exit::Error);
    };
    let baseline = if args.baseline.is_empty() {
        None
    } else {
        match load_engine(
            &args.baseline,
            live.as_ref(),
            args.input.verbose,
            args.pod_cidr,
        ) {
            Some(e) => Some(e),
            None => return Ok(Exit::Error),
        }
    };
    let opts = ReplayOptions {
        staged: args.staged,
        whole_flow: args.whole_flow,
        examples: args.examples,
    };
    let replayer = Replayer::new(&engine, baseline.as_ref(), opts);
    let run_opts = RunOptions {
        threads: threads(args.threads),
        format: args.format,
        read: ReadOptions { policies: false },
        max_line: args.max_line_bytes.max(1),
        ..RunOptions::default()
    };
    let mut tally = Tally::default();
    let keep = args.examples;
    let Some(stats) = run_files(
        &args.flows,
        &run_opts,
        || replayer.worker(),
        |w| tally.merge(w.finish(), keep),
    ) else {
        return Ok(Exit::Error);
    };
    let report = Report::new(&engine, &tally);
    match args.output {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                files: Vec<String>,
                read: u64,
                skipped: u64,
                staged: bool,
                baseline: bool,
                #[serde(flatten)]
                report: &'a Report,
            }
            print_json(&Out {
                files: args.flows.iter().map(|p| p.display().to_string()).collect(),
                read: stats.records,
                skipped: stats.skipped,
                staged: args.staged,
                baseline: baseline.is_some(),
                report: &report,
            })?;
        }
        OutputFormat::Text => {
            print_stdout(&replay_text(args, &report, &stats, baseline.is_some()))?
        }
    }
    Ok(if report.newly_denied_records > 0 {
        Exit::Negative
    } else {
        Exit::Ok
    })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn group_lines(out: &mut String, files: &[PathBuf], groups: &[GroupReport]) {
    for g in groups {
        out.push_str(&format!(
            "  {} ({}): {}, {}\n",
            g.rule,
            match g.side {
                tabby_replay::Side::Egress => "egress",
                tabby_replay::Side::Ingress => "ingress",
            },
            plural(g.records, "record", "records"),
            plural(g.flows, "flow", "flows"),
        ));
        for e in &g.examples {
            let file = files
                .get(e.file as usize)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "      {file}:{}: {} (reported by {})\n",
                e.line, e.flow, e.reporter
            ));
        }
    }
}

fn replay_text(args: &ReplayArgs, r: &Report, stats: &ReadStats, baseline: bool) -> String {
    let mut out = String::new();
    let against = if baseline {
        "the baseline's verdicts"
    } else {
        "the recorded actions"
    };
    let view = if args.staged {
        " (audit mode: staged policies enforced)"
    } else {
        ""
    };
    out.push_str(&format!(
        "replayed {} ({}) against the policy set{view}, compared with {against}\n",
        plural(r.records, "record", "records"),
        plural(r.flows, "flow", "flows"),
    ));
    if r.newly_denied.is_empty() {
        out.push_str("\nnewly denied: none\n");
    } else {
        out.push_str(&format!(
            "\nnewly denied (allowed before, denied now): {}, {}\n",
            plural(r.newly_denied_records, "record", "records"),
            plural(r.newly_denied_flows, "flow", "flows")
        ));
        group_lines(&mut out, &args.flows, &r.newly_denied);
    }
    if r.newly_allowed.is_empty() {
        out.push_str("\nnewly allowed: none\n");
    } else {
        out.push_str(&format!(
            "\nnewly allowed (denied before, allowed now): {}, {}\n",
            plural(r.newly_allowed_records, "record", "records"),
            plural(r.newly_allowed_flows, "flow", "flows")
        ));
        group_lines(&mut out, &args.flows, &r.newly_allowed);
    }
    if !r.unmapped.is_empty() {
        let n: u64 = r.unmapped.iter().map(|g| g.records).sum();
        out.push_str(&format!(
            "\nnot evaluated: {}\n",
            plural(n, "record", "records")
        ));
        group_lines(&mut out, &args.flows, &r.unmapped);
    }
    out.push_str(&format!(
        "\n{} read, {} skipped as malformed; {} unchanged ({} still allowed, {} still denied)\n",
        stats.records,
        stats.skipped,
        r.still_allowed + r.still_denied,
        r.still_allowed,
        r.still_denied
    ));
    out
}

pub fn run_flows(cmd: &FlowsCommand) -> anyhow::Result<Exit> {
    match cmd {
        FlowsCommand::Summarize(a) => run_summarize(a),
        FlowsCommand::Generate(a) => run_generate(a),
        FlowsCommand::Convert(a) => run_convert(a),
    }
}

fn run_summarize(args: &SummarizeArgs) -> anyhow::Result<Exit> {
    let opts = RunOptions {
        threads: threads(args.threads),
        format: args.format,
        read: ReadOptions { policies: true },
        ..RunOptions::default()
    };
    let mut summary = Summary::new(args.denied);
    let denied = args.denied;
    let Some(stats) = run_files(
        &args.files,
        &opts,
        || Summary::new(denied),
        |s| summary.merge(s),
    ) else {
        return Ok(Exit::Error);
    };
    let n = args.top;
    let top_denied = summary.flows.top(n, |c| c.denied_flows);
    let top_denied: Vec<_> = top_denied
        .into_iter()
        .filter(|(_, c)| c.denied_flows > 0)
        .collect();
    let talkers = summary.talkers.top(n, |c| c.bytes);
    let src_ns = summary.src_namespaces.top(n, |c| c.flows);
    let dst_ns = summary.dst_namespaces.top(n, |c| c.flows);
    let policies = summary.policies.top(n, |c| c.flows);
    match args.output {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Row {
                key: String,
                #[serde(flatten)]
                counts: Counts,
            }
            let rows = |v: Vec<(String, Counts)>| -> Vec<Row> {
                v.into_iter()
                    .map(|(key, counts)| Row { key, counts })
                    .collect()
            };
            print_json(&serde_json::json!({
                "read": stats.records,
                "skipped": stats.skipped,
                "denied_only": args.denied,
                "total": summary.total,
                "top_denied_flows": rows(top_denied),
                "top_talkers": rows(talkers),
                "by_source_namespace": rows(src_ns),
                "by_destination_namespace": rows(dst_ns),
                "by_policy": rows(policies),
            }))?;
        }
        OutputFormat::Text => {
            let mut out = String::new();
            let t = summary.total;
            out.push_str(&format!(
                "{}{}, {} ({} denied), {} bytes\n",
                plural(t.records, "record", "records"),
                if args.denied { " (denied only)" } else { "" },
                plural(t.flows, "flow", "flows"),
                t.denied_flows,
                t.bytes
            ));
            let table = |out: &mut String, title: &str, rows: &[(String, Counts)]| {
                out.push_str(&format!("\n{title}\n"));
                if rows.is_empty() {
                    out.push_str("  (none)\n");
                }
                for (k, c) in rows {
                    out.push_str(&format!(
                        "  {:>10} flows {:>10} denied {:>14} bytes  {k}\n",
                        c.flows, c.denied_flows, c.bytes
                    ));
                }
            };
            table(&mut out, "top denied flows", &top_denied);
            table(&mut out, "top talkers (by bytes)", &talkers);
            table(&mut out, "by source namespace", &src_ns);
            table(&mut out, "by destination namespace", &dst_ns);
            table(
                &mut out,
                "by deciding policy (last enforced hit)",
                &policies,
            );
            out.push_str(&format!(
                "\n{} read, {} skipped as malformed\n",
                stats.records, stats.skipped
            ));
            print_stdout(&out)?;
        }
    }
    Ok(Exit::Ok)
}

fn run_generate(args: &GenerateArgs) -> anyhow::Result<Exit> {
    let cluster = if args.paths.is_empty() {
        tabby_eval::gen::synthetic_cluster(args.pods, args.namespaces, args.pods / 10, args.seed)
    } else {
        let input = Input::read(&InputArgs {
            paths: args.paths.clone(),
            verbose: false,
        });
        // Input errors: no traffic for a cluster tabby cannot read right (exit 2).
        if let Err(exit) = input.report_and_require_valid(false) {
            return Ok(exit);
        }
        input.cluster
    };
    let engine = Engine::new(&cluster, EngineOptions::default());
    let mut generator = tabby_replay::gen::generator_for(&engine, args.seed);
    let stdout = std::io::stdout();
    let mut w = FlowWriter::new(stdout.lock(), args.format);
    let mut rec = FlowRecord::default();
    for _ in 0..args.records {
        generator.next_into(&mut rec);
        w.write(&rec)?;
    }
    w.flush()?;
    Ok(Exit::Ok)
}

fn run_convert(args: &ConvertArgs) -> anyhow::Result<Exit> {
    let name = args.file.display().to_string();
    let (reader, _) = match open(&args.file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {e}");
            return Ok(Exit::Error);
        }
    };
    let mut r = match FlowReader::new(reader, args.from, ReadOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {name}: {e}");
            return Ok(Exit::Error);
        }
    };
    let stdout = std::io::stdout();
    let mut w = FlowWriter::new(stdout.lock(), args.to);
    let mut rec = FlowRecord::default();
    loop {
        match r.next_into(&mut rec) {
            Ok(None) => break,
            Ok(Some(Ok(()))) => w.write(&rec)?,
            Ok(Some(Err(e))) => eprintln!("{}", e.render(&name)),
            Err(e) => {
                eprintln!("error: {name}: {}", ReadError::Io(e));
                return Ok(Exit::Error);
            }
        }
    }
    w.flush()?;
    let s = r.stats();
    eprintln!(
        "{name}: {} records converted, {} skipped as malformed",
        s.records, s.skipped
    );
    Ok(if s.skipped > 0 {
        Exit::Negative
    } else {
        Exit::Ok
    })
}
