//! `tabby snapshot`: write a live cluster's state as YAML files that every command
//! reads offline.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use crate::input::{report_diagnostics, ClusterArgs};
use crate::Exit;

/// Save a live cluster's state as YAML files for offline analysis
///
/// Reads Namespaces, Pods, ServiceAccounts, Services, workloads, Kubernetes
/// NetworkPolicies, ClusterNetworkPolicies and AdminNetworkPolicies (where served)
/// and Calico's resources (through Calico's API server, or from its CRDs converted to
/// projectcalico.org/v3), and writes one file per namespace and resource type:
/// DIR/<namespace>/<resource>.yaml, cluster-scoped kinds in DIR/_cluster/.
/// Every command reads DIR like any other input. See docs/clusters.md.
///
/// Examples:
///   tabby snapshot --cluster -o snap/
///   tabby snapshot --kubeconfig ~/.kube/prod --context admin@prod -o snap/
///   tabby check snap/
///
/// Exit status: 0 written, 2 the cluster could not be read or DIR is not empty.
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Directory to write (created; must be empty or absent)
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,

    /// Show notes too (for example where Calico's resources were read from)
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> anyhow::Result<Exit> {
    let Some(source) = args.cluster.source() else {
        anyhow::bail!("say which cluster to read: --cluster, --kubeconfig PATH or --context NAME");
    };
    let read = tabby_kube::read_cluster(&source, &tabby_kube::ReadOptions::default())?;
    report_diagnostics(&read.diagnostics, args.verbose);
    let files = read.write_snapshot(&args.output)?;
    eprintln!(
        "wrote {} object{} from context `{}` to {} file{} under `{}`",
        read.objects.len(),
        crate::cmd_validate::plural(read.objects.len()),
        read.context,
        files.len(),
        crate::cmd_validate::plural(files.len()),
        args.output.display()
    );
    Ok(Exit::Ok)
}
