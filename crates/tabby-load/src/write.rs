//! Writing resources back out as YAML, so that what tabby writes (snapshots,
//! `tabby get -o yaml`) reads back through this crate unchanged.

use serde_json::Value;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

/// One YAML document (block style, without a leading `---`, ending in a newline).
/// Keys keep their order; strings that a plain scalar would turn into another type
/// (`"yes"`, `"123"`, `"~"`) are quoted by the emitter.
pub fn to_yaml_document(v: &Value) -> String {
    let mut out = String::new();
    if YamlEmitter::new(&mut out).dump(&json_to_yaml(v)).is_err() {
        // JSON is YAML: a value the emitter refuses still round-trips this way.
        return format!("{v}\n");
    }
    let mut body = out.strip_prefix("---\n").unwrap_or(&out).to_owned();
    body.push('\n');
    body
}

/// A JSON value as a YAML tree, keeping key order and integer forms.
fn json_to_yaml(v: &Value) -> Yaml {
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(a) => Yaml::Array(a.iter().map(json_to_yaml).collect()),
        Value::Object(m) => {
            let mut h = Hash::new();
            for (k, x) in m {
                h.insert(Yaml::String(k.clone()), json_to_yaml(x));
            }
            Yaml::Hash(h)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test assertions"
    )]
    use super::*;
    use crate::{load_str, LoadOptions};
    use serde_json::json;

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
        let doc = to_yaml_document(&value);
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
