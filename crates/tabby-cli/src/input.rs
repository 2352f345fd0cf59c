//! Loading and validating the paths a command was given: shared by every command
//! that reads resources, so they all accept the same inputs and report problems alike.

use std::io::Write;
use std::path::PathBuf;

use clap::Args as ClapArgs;
use tabby_diag::{render_plain, Diagnostics, Severity};
use tabby_load::{load_paths, LoadOptions, Loaded};
use tabby_model::Cluster;

use crate::Exit;

/// `tabby-load`'s code for a path that cannot be read (docs/diagnostics-load.md).
const UNREADABLE_PATH: &str = "E0001";

/// Input arguments shared by commands that read resources.
#[derive(Debug, Clone, ClapArgs)]
pub struct InputArgs {
    /// Files or directories to read (recursively: *.yaml, *.yml, *.json); `-` reads stdin
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Show notes too (for example each object of a kind tabby does not analyse)
    #[arg(short, long)]
    pub verbose: bool,
}

/// Everything read from the inputs.
#[derive(Debug)]
pub struct Input {
    pub loaded: Loaded,
    pub cluster: Cluster,
    /// Load and validation diagnostics together, in file order.
    pub diagnostics: Diagnostics,
}

impl Input {
    pub fn read(args: &InputArgs) -> Self {
        Self::from_loaded(load_paths(&args.paths, &LoadOptions::default()))
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// Prints the diagnostics (as [`report_diagnostics`]) and decides whether an
    /// analysis may answer: not when a path could not be read, nor when any input has
    /// an error (a file that does not parse, an invalid resource). An answer computed
    /// without those resources would look complete but be wrong (a deny policy with a
    /// typo would make flows look allowed), so every analysis command refuses alike:
    /// `Err(Exit::Error)`, exit status 2, after saying why. `tabby validate` and
    /// `tabby check` instead report errors as their answer (exit 1).
    pub fn report_and_require_valid(&self, verbose: bool) -> Result<(), Exit> {
        report_diagnostics(&self.diagnostics, verbose);
        match self.refusal() {
            Some(why) => {
                eprintln!("error: {why}");
                Err(Exit::Error)
            }
            None => Ok(()),
        }
    }

    /// Why an analysis cannot answer from this input, if it cannot (see
    /// [`Input::report_and_require_valid`]); the text follows `error: `.
    pub fn refusal(&self) -> Option<String> {
        if self.has_unreadable_path() {
            return Some("an input path cannot be read (see above); no answer given".to_owned());
        }
        let n = self.diagnostics.error_count();
        (n > 0).then(|| {
            format!(
                "the input has {n} error{} (see above); no answer from part of the input: fix {}, or leave out what is in error",
                if n == 1 { "" } else { "s" },
                if n == 1 { "it" } else { "them" },
            )
        })
    }

    /// How many objects were skipped rather than checked (kinds tabby does not
    /// analyse, misspelt kinds, unserved Calico versions): one diagnostic each.
    pub fn skipped_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| tabby_validate::codes::SKIPPED.contains(&d.code))
            .count()
    }

    /// True when the input holds no endpoint that policy applies to (no pod or other
    /// workload, no host endpoint): policies alone, without the cluster's files.
    pub fn has_no_endpoints(&self) -> bool {
        self.cluster.workloads.is_empty() && self.cluster.host_endpoints.is_empty()
    }

    /// True when a path named on the command line could not be read at all (missing,
    /// permission denied): the command cannot answer, which is exit status 2, not 1.
    pub fn has_unreadable_path(&self) -> bool {
        self.loaded
            .diagnostics
            .iter()
            .any(|d| d.code == UNREADABLE_PATH)
    }
}

/// Writes errors and warnings to stderr in compiler style. Notes are shown one by one
/// with `verbose`, otherwise summarised in one line (a `kubectl get all` dump has many
/// ConfigMaps and Secrets nobody wants listed).
pub fn report_diagnostics(diags: &Diagnostics, verbose: bool) {
    let mut err = std::io::stderr().lock();
    let mut hidden = 0usize;
    for d in diags {
        if d.severity == Severity::Note && !verbose {
            hidden += 1;
            continue;
        }
        let _ = err.write_all(render_plain(d).as_bytes());
    }
    if hidden > 0 {
        let total = hidden;
        let _ = writeln!(
            err,
            "note: {total} note{} hidden (use --verbose to see them)",
            if total == 1 { "" } else { "s" }
        );
    }
}

/// Splits a `--port` value, `443` or `443/TCP`, into the port and the protocol
/// text if one was given. Shared by every command that takes `--port`.
pub fn split_port(text: &str) -> Result<(u16, Option<&str>), String> {
    let (num, proto) = match text.split_once('/') {
        Some((n, p)) => (n, Some(p.trim())),
        None => (text, None),
    };
    let port = num.trim().parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
        format!("--port `{text}`: expected a port number 1-65535, optionally followed by /PROTOCOL (e.g. `443/TCP`)")
    })?;
    Ok((port, proto))
}

/// Makes `PATH...` optional in the subcommands that also take [`ClusterArgs`]
/// (`--cluster`, `--kubeconfig`, `--context`, `--store` or `--etcd-endpoints` then
/// stand in for it). Commands without
/// the cluster flags keep their paths required; commands whose paths are optional
/// anyway (`recommend`) are left alone.
pub fn cluster_aware(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|sub| {
            let has = |id: &str| sub.get_arguments().any(|a| a.get_id() == id);
            let paths_required = sub
                .get_arguments()
                .any(|a| a.get_id() == "paths" && a.is_required_set());
            paths_required && has("cluster") && has("kubeconfig") && has("context")
        })
        .map(|sub| sub.get_name().to_owned())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sub| {
            let sources: Vec<&str> = [
                "cluster",
                "kubeconfig",
                "context",
                "store",
                "etcd_endpoints",
                // `tabby lint --list` reads nothing.
                "list",
            ]
            .into_iter()
            .filter(|id| sub.get_arguments().any(|a| a.get_id() == *id))
            .collect();
            sub.mut_arg("paths", |a| {
                a.required(false).required_unless_present_any(sources)
            })
        })
    })
}

/// Where to read a live Kubernetes cluster from (docs/clusters.md). Flattened into
/// the analysis commands next to [`InputArgs`].
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct ClusterArgs {
    /// Read the live cluster of the current kubeconfig context ($KUBECONFIG, ~/.kube/config, or the pod's service account), with or without paths
    #[arg(long)]
    pub cluster: bool,

    #[command(flatten)]
    pub kube: KubeconfigArgs,

    /// `--store PATH` / `--etcd-endpoints URLS`: the datastore's objects (docs/store.md).
    #[command(flatten)]
    pub store: crate::cmd_store::StoreSourceArgs,
}

/// `--kubeconfig` and `--context`: either one alone also means "read the live cluster".
#[derive(Debug, Clone, Default, ClapArgs)]
pub struct KubeconfigArgs {
    /// Read the live cluster of this kubeconfig file (implies --cluster)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to read (implies --cluster; default: the current context)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl KubeconfigArgs {
    /// The cluster to read when `--kubeconfig` or `--context` was given (or `live`).
    pub fn source(&self, live: bool) -> Option<tabby_kube::ClusterSource> {
        (live || self.kubeconfig.is_some() || self.context.is_some()).then(|| {
            tabby_kube::ClusterSource {
                kubeconfig: self.kubeconfig.clone(),
                context: self.context.clone(),
            }
        })
    }
}

impl ClusterArgs {
    /// The cluster to read, if any flag asked for one.
    pub fn source(&self) -> Option<tabby_kube::ClusterSource> {
        self.kube.source(self.cluster)
    }

    /// Whether objects come from somewhere besides the paths (a live cluster or a store).
    pub fn is_set(&self) -> bool {
        self.source().is_some() || self.store.is_set()
    }

    /// The objects from besides the paths: the live cluster's and the store's, if
    /// asked for (both: together, cluster first).
    pub fn read_live(&self) -> anyhow::Result<Option<Loaded>> {
        let live = match self.source() {
            Some(source) => Some(read_live_cluster(&source)?),
            None => None,
        };
        let stored = self.store.read()?;
        Ok(match (live, stored) {
            (Some(mut a), Some(b)) => {
                a.objects.extend(b.objects);
                a.diagnostics.extend(b.diagnostics);
                a.files.extend(b.files);
                Some(a)
            }
            (a, b) => a.or(b),
        })
    }
}

/// Reads a live cluster into the loader's form (one source per object, named
/// `cluster:<context>/<Kind>/<namespace>/<name>`). Errors (no kubeconfig, cluster
/// unreachable, timeout) end the command with exit status 2.
pub fn read_live_cluster(source: &tabby_kube::ClusterSource) -> anyhow::Result<Loaded> {
    let read = tabby_kube::read_cluster(source, &tabby_kube::ReadOptions::default())?;
    Ok(read.to_loaded(&LoadOptions::default()))
}

impl Input {
    /// The shared entry point of every analysis command: the paths given (if any)
    /// and, with `--cluster`/`--kubeconfig`/`--context`, the live cluster's objects,
    /// and with `--store`/`--etcd-endpoints` the store's, loaded and validated together.
    pub fn read_with_cluster(args: &InputArgs, cluster: &ClusterArgs) -> anyhow::Result<Self> {
        let live = cluster.read_live()?;
        Ok(Self::read_with_live(args, live.as_ref()))
    }

    /// The paths given (if any) plus objects already read from a live cluster or a
    /// store. The files are "the cluster plus what is not applied yet"
    /// (docs/clusters.md), so they come last: where a file and the live side define
    /// the same object, the file's copy wins (W0203 names the live copy it replaces),
    /// as `kubectl apply -f FILES` over that cluster would leave it.
    pub fn read_with_live(args: &InputArgs, live: Option<&Loaded>) -> Self {
        let Some(live) = live else {
            return Self::read(args);
        };
        let mut loaded = Loaded {
            objects: live.objects.clone(),
            diagnostics: live.diagnostics.clone(),
            files: live.files.clone(),
        };
        if !args.paths.is_empty() {
            let files = load_paths(&args.paths, &LoadOptions::default());
            loaded.objects.extend(files.objects);
            loaded.diagnostics.extend(files.diagnostics);
            loaded.files.extend(files.files);
        }
        Self::from_loaded(loaded)
    }

    /// Validates what was loaded.
    pub fn from_loaded(loaded: Loaded) -> Self {
        let validated = tabby_validate::validate(&loaded.objects);
        let mut diagnostics = loaded.diagnostics.clone();
        diagnostics.extend(validated.diagnostics);
        diagnostics.sort_by_location();
        Self {
            loaded,
            cluster: validated.cluster,
            diagnostics,
        }
    }
}

/// `--flows FILE... PATH...` on one command line: clap gives every value after
/// `--flows` to the flows. Values that are directories or YAML files are resource
/// paths, not flow logs: move them to `paths` (kept in order, before the others).
pub fn split_flow_args(flows: &[PathBuf], paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let is_resource = |p: &PathBuf| {
        p.is_dir()
            || p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
    };
    let (res, logs): (Vec<PathBuf>, Vec<PathBuf>) = flows.iter().cloned().partition(is_resource);
    let mut all = res;
    all.extend(paths.iter().cloned());
    (logs, all)
}
