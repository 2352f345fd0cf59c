//! Generated cases from the fixtures: every key of every strict object, misspelt,
//! is rejected at its own path (so no nested struct forgot
//! `deny_unknown_fields`); and every key of a Calico object may be left out (Calico
//! requires no field at decode time) without losing the rest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

use std::path::PathBuf;

use serde_json::{Map, Value};
use tabby_api::{decode_resource, Kind};

/// Keys whose values are free-form maps or opaque JSON: keys under them are data.
const OPAQUE: &[&str] = &[
    "labels",
    "annotations",
    "matchLabels",
    "labelsToApply",
    "status",
    "qosControls",
    "ownerReferences",
    "managedFields",
    "format",
    "headers",
];

fn strict_fixtures() -> Vec<(String, Kind, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let kind = Kind::from_type_meta(
            v["apiVersion"].as_str().unwrap(),
            v["kind"].as_str().unwrap(),
        )
        .unwrap();
        if kind.is_strict() {
            out.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                kind,
                v,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// serde_path_to_error's rendering of a path.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Paths of every object key that is a field (not data under an opaque key).
fn field_paths(v: &Value, path: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(Seg::Key(k.clone()));
                out.push(path.clone());
                if !OPAQUE.contains(&k.as_str()) {
                    field_paths(child, path, out);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                field_paths(child, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The map holding the last key of `path`, and that key.
fn parent_mut<'a>(v: &'a mut Value, path: &[Seg]) -> (&'a mut Map<String, Value>, String) {
    let (last, init) = path.split_last().unwrap();
    let mut cur = v;
    for seg in init {
        cur = match seg {
            Seg::Key(k) => cur.get_mut(k.as_str()).unwrap(),
            Seg::Index(i) => cur.get_mut(*i).unwrap(),
        };
    }
    let Seg::Key(k) = last else {
        panic!("path ends in an index")
    };
    (cur.as_object_mut().unwrap(), k.clone())
}

#[test]
fn every_misspelt_field_is_rejected_at_its_path() {
    let mut checked = 0;
    for (name, kind, doc) in strict_fixtures() {
        let mut paths = Vec::new();
        field_paths(&doc, &mut Vec::new(), &mut paths);
        for path in paths {
            let mut bad = doc.clone();
            let (map, key) = parent_mut(&mut bad, &path);
            let typo = format!("{key}Typo");
            let val = map.remove(&key).unwrap();
            map.insert(typo.clone(), val);
            let mut want = path.clone();
            *want.last_mut().unwrap() = Seg::Key(typo.clone());
            let err = decode_resource(kind, bad).expect_err(&format!("{name}: `{typo}` accepted"));
            // A missing required field may be reported first (CRD kinds); then
            // the misspelt key is not reached. Otherwise it must be the unknown field.
            let text = err.inner().to_string();
            if text.starts_with("missing field") {
                continue;
            }
            assert_eq!(err.path().to_string(), render(&want), "{name}: {text}");
            assert!(
                text.starts_with(&format!("unknown field `{typo}`")),
                "{name}: {text}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} cases");
}

#[test]
fn any_calico_field_may_be_left_out() {
    for (name, kind, doc) in strict_fixtures() {
        if !kind.is_calico() {
            continue;
        }
        let mut paths = Vec::new();
        field_paths(&doc, &mut Vec::new(), &mut paths);
        for path in paths {
            let mut smaller = doc.clone();
            let (map, key) = parent_mut(&mut smaller, &path);
            map.remove(&key);
            let res = decode_resource(kind, smaller.clone())
                .unwrap_or_else(|e| panic!("{name} without `{}`: {}", render(&path), e.inner()));
            let back = serde_json::to_value(&res).unwrap();
            // Nothing is invented where the key was (only `metadata`/`spec`
            // themselves come back, as empty maps).
            if !matches!(key.as_str(), "metadata" | "spec") {
                assert_eq!(back, smaller, "{name} without `{}`", render(&path));
            }
        }
    }
}
