//! The snapshot layout: resources written as YAML files that every command reads
//! back (and `tabby apply -f` stores), one file per namespace and resource type:
//!
//! ```text
//! DIR/<namespace>/<plural>[.<group>].yaml     production/pods.yaml
//! DIR/_cluster/<plural>[.<group>].yaml        _cluster/globalnetworkpolicies.projectcalico.org.yaml
//! ```
//!
//! Shared by every writer of snapshots (a live cluster's, a store's), so they all lay
//! files out alike.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::to_yaml_document;

/// The directory for cluster-scoped kinds. Namespace names are DNS labels, which
/// never start with `_`, so it cannot clash with a namespace.
pub const SNAPSHOT_CLUSTER_DIR: &str = "_cluster";

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("directory `{0}` is not empty; name a new directory or empty it first")]
    NotEmpty(PathBuf),
    #[error("cannot write `{path}`: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// One object to write, with what places it in the layout.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotObject<'a> {
    /// `metadata.namespace` of a namespaced kind; `None` for cluster-scoped kinds.
    pub namespace: Option<&'a str>,
    /// The kind's lower-case plural (`networkpolicies`).
    pub plural: &'a str,
    /// The kind's canonical `apiVersion` (`projectcalico.org/v3`, `v1`): its group,
    /// if any, qualifies the file name, so same-named kinds of two groups never share a file.
    pub api_version: &'a str,
    /// The object, written as it is except for `metadata.resourceVersion`.
    pub value: &'a Value,
}

impl<'a> SnapshotObject<'a> {
    /// (directory, file name) of this object: the namespace or `_cluster`, and
    /// `<plural>[.<group>].yaml`.
    pub fn place(&self) -> (&'a str, String) {
        (
            self.namespace.unwrap_or(SNAPSHOT_CLUSTER_DIR),
            format!("{}.yaml", qualify_with_group(self.plural, self.api_version)),
        )
    }
}

/// `base` (a kind or a plural), followed by `.group` unless `api_version` is in the
/// core group (`NetworkPolicy.networking.k8s.io`, `pods`).
pub fn qualify_with_group(base: &str, api_version: &str) -> String {
    match api_version.split_once('/') {
        Some((group, _)) => format!("{base}.{group}"),
        None => base.to_owned(),
    }
}

/// `value` without `metadata.resourceVersion` (copied only when it has one).
fn without_revision(value: &Value) -> std::borrow::Cow<'_, Value> {
    let has = value
        .get("metadata")
        .and_then(|m| m.get("resourceVersion"))
        .is_some();
    if !has {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut v = value.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    std::borrow::Cow::Owned(v)
}

fn io_err(path: &Path, e: &std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `objects` as YAML under `dir` (created; it must be empty or absent, so a
/// snapshot is never a mix of two): one multi-document file per place
/// ([`SnapshotObject::place`]), objects in the order given, each file starting with the
/// comment `# <header>`. Returns the files written, sorted.
///
/// `metadata.resourceVersion` is left out: it is a revision of the source (a store
/// or a cluster), and `tabby apply -f DIR` would take it as "only if still at this
/// revision", so a snapshot could never be restored elsewhere.
pub fn write_snapshot<'a>(
    dir: &Path,
    header: &str,
    objects: impl IntoIterator<Item = SnapshotObject<'a>>,
) -> Result<Vec<PathBuf>, SnapshotError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(SnapshotError::NotEmpty(dir.to_path_buf()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(dir, &e)),
    }

    // One line, whatever the header holds (a context name is user input).
    let header = header.replace(['\n', '\r'], " ");
    // (directory, file name) -> YAML text; BTreeMap keeps the output deterministic.
    let mut files: BTreeMap<(String, String), String> = BTreeMap::new();
    for obj in objects {
        let (sub, file) = obj.place();
        let text = files
            .entry((sub.to_owned(), file))
            .or_insert_with(|| format!("# {header}\n"));
        text.push_str("---\n");
        text.push_str(&to_yaml_document(&without_revision(obj.value)));
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test assertions"
    )]
    use super::*;
    use crate::{load_paths, LoadOptions};
    use serde_json::json;

    fn tempdir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("tabby-load-snapshot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn places_follow_the_layout() {
        let v = json!({});
        let cases = [
            (Some("prod"), "pods", "v1", ("prod", "pods.yaml")),
            (
                Some("prod"),
                "networkpolicies",
                "networking.k8s.io/v1",
                ("prod", "networkpolicies.networking.k8s.io.yaml"),
            ),
            (
                None,
                "globalnetworkpolicies",
                "projectcalico.org/v3",
                ("_cluster", "globalnetworkpolicies.projectcalico.org.yaml"),
            ),
            (None, "namespaces", "v1", ("_cluster", "namespaces.yaml")),
        ];
        for (namespace, plural, api_version, (d, f)) in cases {
            let o = SnapshotObject {
                namespace,
                plural,
                api_version,
                value: &v,
            };
            assert_eq!(o.place(), (d, f.to_owned()), "{plural}");
        }
    }

    #[test]
    fn writes_reads_back_and_refuses_a_used_directory() {
        let ns = |n: &str| {
            json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": n, "resourceVersion": "4711", "uid": "u-1"}})
        };
        let gnp = json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "deny"}, "spec": {"selector": "all()", "types": ["Ingress"]}});
        let values = [ns("b"), ns("a"), gnp];
        let objs = values.iter().map(|v| SnapshotObject {
            namespace: None,
            plural: if v["kind"] == "Namespace" {
                "namespaces"
            } else {
                "globalnetworkpolicies"
            },
            api_version: v["apiVersion"].as_str().unwrap(),
            value: v,
        });
        let dir = tempdir("write").join("snap");
        let files = write_snapshot(&dir, "test\nheader", objs.clone()).unwrap();
        assert_eq!(
            files,
            [
                dir.join("_cluster/globalnetworkpolicies.projectcalico.org.yaml"),
                dir.join("_cluster/namespaces.yaml"),
            ]
        );
        let text = std::fs::read_to_string(&files[1]).unwrap();
        assert!(text.starts_with("# test header\n---\n"), "{text}");
        // The source's revision is left out (a restore would take it as a CAS); the rest stays.
        assert!(
            !text.contains("resourceVersion") && !text.contains("4711"),
            "{text}"
        );
        assert!(text.contains("u-1"), "{text}");
        let loaded = load_paths(&[&dir], &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let names: Vec<_> = loaded.objects.iter().map(|o| o.name.clone()).collect();
        // Files in name order, objects in the order given.
        assert_eq!(
            names,
            [Some("deny".into()), Some("b".into()), Some("a".into())]
        );
        let e = write_snapshot(&dir, "again", objs).unwrap_err();
        assert!(e.to_string().contains("is not empty"), "{e}");

        // Nothing to write still makes the directory.
        let empty = tempdir("empty").join("snap");
        assert!(write_snapshot(&empty, "h", []).unwrap().is_empty());
        assert!(empty.is_dir());
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
        let _ = std::fs::remove_dir_all(empty.parent().unwrap());
    }
}
