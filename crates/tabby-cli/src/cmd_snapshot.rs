//! `tabby snapshot`: write a live cluster's state, or a store's objects, as YAML
//! files that every command reads offline (and `tabby apply -f` stores).

use std::path::PathBuf;

use clap::Args as ClapArgs;
use tabby_load::{write_snapshot, SnapshotObject};

use crate::input::{report_diagnostics, ClusterArgs};
use crate::Exit;

/// Save a live cluster's state, or a store's objects, as YAML files
///
/// From a cluster (--cluster, --kubeconfig, --context): reads Namespaces, Pods,
/// ServiceAccounts, Services, workloads, Kubernetes NetworkPolicies,
/// ClusterNetworkPolicies and AdminNetworkPolicies (where served) and Calico's
/// resources (through Calico's API server, or from its CRDs converted to
/// projectcalico.org/v3). From a store (--store, --etcd-endpoints): every stored
/// object at one revision, without its resourceVersion, so the files are a backup
/// that `tabby apply -f DIR` restores (into any store).
///
/// Writes one file per namespace and resource type: DIR/<namespace>/<resource>.yaml,
/// cluster-scoped kinds in DIR/_cluster/. Every command reads DIR like any other
/// input. See docs/clusters.md and docs/store.md.
///
/// Examples:
///   tabby snapshot --cluster -o snap/
///   tabby snapshot --kubeconfig ~/.kube/prod --context admin@prod -o snap/
///   tabby snapshot --store tabby.redb -o backup/
///   tabby snapshot --etcd-endpoints http://127.0.0.1:2379 -o backup/
///   tabby check snap/
///   tabby apply -f backup/ --store restored.redb
///
/// Exit status: 0 written, 2 the cluster or store could not be read, both or
/// neither were given, or DIR is not empty.
#[derive(Debug, ClapArgs)]
#[command(
    verbatim_doc_comment,
    mut_arg("cluster", |a| a.help("Snapshot the live cluster of the current kubeconfig context ($KUBECONFIG, ~/.kube/config, or the pod's service account)")),
    mut_arg("store", |a| a.help("Snapshot the resources stored in this embedded store (as `tabby apply --store PATH` wrote them)")),
    mut_arg("etcd_endpoints", |a| a.help("Snapshot the resources stored in etcd at these client URLs (`http(s)://HOST:PORT[,...]`)")),
)]
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
    match (args.cluster.source(), args.cluster.store.is_set()) {
        (Some(_), true) => anyhow::bail!(
            "give either a cluster (--cluster, --kubeconfig or --context) or a store (--store or --etcd-endpoints) to snapshot, not both"
        ),
        (None, false) => anyhow::bail!(
            "say which cluster to read (--cluster, --kubeconfig PATH or --context NAME) or which store (--store PATH or --etcd-endpoints URLS)"
        ),
        (Some(source), false) => snapshot_cluster(&source, args),
        (None, true) => snapshot_store(args),
    }
}

fn snapshot_cluster(source: &tabby_kube::ClusterSource, args: &Args) -> anyhow::Result<Exit> {
    let read = tabby_kube::read_cluster(source, &tabby_kube::ReadOptions::default())?;
    report_diagnostics(&read.diagnostics, args.verbose);
    let files = read.write_snapshot(&args.output)?;
    report(
        read.objects.len(),
        &format!("context `{}`", read.context),
        files.len(),
        args,
    );
    Ok(Exit::Ok)
}

fn snapshot_store(args: &Args) -> anyhow::Result<Exit> {
    let Some((store, listing)) = args.cluster.store.list()? else {
        anyhow::bail!("say which store to read: --store PATH or --etcd-endpoints URLS");
    };
    let objects = listing.items.iter().map(|s| SnapshotObject {
        namespace: s.key.namespace(),
        plural: s.key.kind().plural(),
        api_version: s.key.kind().api_version(),
        value: &s.object,
    });
    let from = format!("{} at revision {}", store.describe(), listing.revision);
    let files = write_snapshot(&args.output, &format!("tabby snapshot of {from}"), objects)?;
    report(listing.items.len(), &from, files.len(), args);
    Ok(Exit::Ok)
}

fn report(objects: usize, from: &str, files: usize, args: &Args) {
    eprintln!(
        "wrote {objects} object{} from {from} to {files} file{} under `{}`",
        crate::cmd_validate::plural(objects),
        crate::cmd_validate::plural(files),
        args.output.display()
    );
}
