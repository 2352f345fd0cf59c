//! Writing a cluster read as YAML files that every command reads offline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

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
    #[error("cannot render an object as yaml: {0}")]
    Emit(String),
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
        let mut doc = String::new();
        YamlEmitter::new(&mut doc)
            .dump(&to_yaml(&obj.value))
            .map_err(|e| SnapshotError::Emit(e.to_string()))?;
        // The emitter starts each document with `---`; end with a newline.
        let _ = writeln!(text, "{doc}");
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

/// JSON to YAML, keeping key order and number forms.
fn to_yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(a) => Yaml::Array(a.iter().map(to_yaml).collect()),
        Value::Object(m) => {
            let mut h = Hash::new();
            for (k, v) in m {
                h.insert(Yaml::String(k.clone()), to_yaml(v));
            }
            Yaml::Hash(h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tabby_load::{load_str, LoadOptions};

    /// Values that YAML would misread if written plainly come back as they were.
    #[test]
    fn yaml_round_trips_through_the_loader() {
        let value = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "n", "labels": {
                "a": "yes", "b": "no", "c": "true", "d": "null", "e": "123", "f": "1.5",
                "g": "~", "h": "", "i": " lead", "j": "a: b", "k": "#x", "l": "line\nbreak",
                "m": "-", "n": "0x1F", "o": "on", "p": "[x]", "q": "é", "r": "*alias"
            }},
            "spec": {"n": 5, "f": 1.25, "big": 18446744073709551615u64, "neg": -3,
                      "t": true, "z": null, "e": [], "o": {}, "l": [1, "2", {"x": [true]}]}
        });
        let mut doc = String::new();
        YamlEmitter::new(&mut doc).dump(&to_yaml(&value)).unwrap();
        let loaded = load_str("x.yaml", &doc, &LoadOptions::default());
        assert!(
            loaded.diagnostics.is_empty(),
            "{:?}\n{doc}",
            loaded.diagnostics
        );
        let obj = &loaded.objects[0];
        let labels = obj.node.get("metadata").unwrap().get("labels").unwrap();
        for (k, v) in value["metadata"]["labels"].as_object().unwrap() {
            let got = labels.get(k).unwrap().as_str();
            assert_eq!(got, v.as_str(), "label {k}\n{doc}");
        }
    }
}
