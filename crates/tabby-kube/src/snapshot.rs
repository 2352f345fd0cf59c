//! Writing a cluster read as YAML files that every command reads offline, in the
//! snapshot layout shared with the store's snapshots ([`tabby_load::write_snapshot`]).

use std::path::{Path, PathBuf};

use tabby_load::SnapshotError;

use crate::ClusterRead;

pub(crate) fn write(read: &ClusterRead, dir: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    tabby_load::write_snapshot(
        dir,
        &format!(
            "tabby snapshot of cluster context `{}` ({})",
            read.context, read.server
        ),
        read.objects
            .iter()
            .map(crate::ClusterObject::snapshot_object),
    )
}
