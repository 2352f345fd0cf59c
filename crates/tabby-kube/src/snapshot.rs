//! Writing a cluster read as YAML files that every command reads offline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ClusterRead;

/// Directory for cluster-scoped kinds. Namespace names are DNS labels, which never
/// start with `_`, so it cannot clash with a namespace.
pub(crate) const CLUSTER_DIR: &str = "_cluster";

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("directory `{0}` is not empty; name a new directory or empty it first")]
    NotEmpty(PathBuf),
    #[error("cannot write `{path}`: {reason}")]
    Io { path: PathBuf, reason: String },
}

fn io_err(path: &Path, e: &std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

pub(crate) fn write(read: &ClusterRead, dir: &Path) -> Result<Vec<PathBuf>, SnapshotError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(SnapshotError::NotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(dir, &e)),
    }

    // (directory, file name) -> YAML text; BTreeMap keeps the output deterministic.
    let mut files: BTreeMap<(String, String), String> = BTreeMap::new();
    for obj in &read.objects {
        let (sub, file) = obj.snapshot_place();
        let text = files.entry((sub.to_owned(), file)).or_insert_with(|| {
            format!(
                "# tabby snapshot of cluster context `{}` ({})\n",
                read.context, read.server
            )
        });
        text.push_str("---\n");
        text.push_str(&tabby_load::to_yaml_document(&obj.value));
    }

    let mut written = Vec::new();
    for ((sub, file), text) in files {
        let d = dir.join(&sub);
        std::fs::create_dir_all(&d).map_err(|e| io_err(&d, &e))?;
        let path = d.join(file);
        std::fs::write(&path, text).map_err(|e| io_err(&path, &e))?;
        written.push(path);
    }
    if written.is_empty() {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, &e))?;
    }
    Ok(written)
}
