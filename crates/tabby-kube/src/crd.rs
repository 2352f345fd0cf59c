//! Calico's CRD storage form (`crd.projectcalico.org/v1`) to its API form
//! (`projectcalico.org/v3`).
//!
//! In Kubernetes datastore mode Calico stores each v3 resource as a custom resource
//! of the same kind and spec in `crd.projectcalico.org/v1`. What differs
//! (libcalico-go/lib/backend/k8s/resources/resources.go,
//! `ConvertCalicoResourceToK8sResource` and back):
//!
//! - The v3 metadata other than name, namespace, resourceVersion, labels, annotations
//!   and uid (creationTimestamp, generation, ownerReferences, finalizers...) is stored
//!   as JSON in the annotation `projectcalico.org/metadata`; labels and annotations
//!   stay on the custom resource. Reading back removes the annotation and restores
//!   those fields (the custom resource's creationTimestamp when the annotation has none).
//! - Calico releases up to v3.31 stored policies of the `default` tier under the name
//!   `default.<name>` (libcalico-go/lib/names/policy.go at v3.31.0); since v3.32 the
//!   name is stored as written. A `default.` prefix on a default-tier policy is removed.
//! - Calico derives the v3 uid from the custom resource's; tabby keeps the custom
//!   resource's uid as it is (tabby never compares uids).

use serde_json::{Map, Value};
use tabby_api::Kind;

const METADATA_ANNOTATION: &str = "projectcalico.org/metadata";

/// Metadata fields the custom resource itself carries; never taken from the annotation.
const KEPT: &[&str] = &[
    "name",
    "namespace",
    "resourceVersion",
    "labels",
    "annotations",
    "uid",
];

/// Policy kinds whose legacy storage name had a `<tier>.` prefix.
const TIERED: &[Kind] = &[
    Kind::NetworkPolicy,
    Kind::GlobalNetworkPolicy,
    Kind::StagedNetworkPolicy,
    Kind::StagedGlobalNetworkPolicy,
];

/// Converts one CRD-stored object in place. Errors say why the object cannot be
/// converted (Calico skips such objects too).
pub(crate) fn to_v3(kind: Kind, obj: &mut Value) -> Result<(), String> {
    let Value::Object(map) = obj else {
        return Err("a listed object is not a mapping".to_owned());
    };
    map.insert(
        "apiVersion".to_owned(),
        Value::String("projectcalico.org/v3".to_owned()),
    );
    let tier = map
        .get("spec")
        .and_then(|s| s.get("tier"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("default")
        .to_owned();
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return Err("an object's `metadata` is not a mapping".to_owned());
    };
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();

    if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
        if let Some(stored) = annotations.remove(METADATA_ANNOTATION) {
            let parsed = stored
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok());
            let Some(Value::Object(stored)) = parsed else {
                return Err(format!(
                    "{} `{name}`: its `{METADATA_ANNOTATION}` annotation is not a JSON object",
                    kind.name()
                ));
            };
            if annotations.is_empty() {
                meta.remove("annotations");
            }
            let crd_created = meta.remove("creationTimestamp");
            let kept: Map<String, Value> = meta
                .iter()
                .filter(|(k, _)| KEPT.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            meta.clear();
            for (k, v) in stored {
                if !KEPT.contains(&k.as_str()) && !v.is_null() {
                    meta.insert(k, v);
                }
            }
            meta.extend(kept);
            if !meta.contains_key("creationTimestamp") {
                if let Some(ts) = crd_created.filter(|v| !v.is_null()) {
                    meta.insert("creationTimestamp".to_owned(), ts);
                }
            }
        }
    }

    if TIERED.contains(&kind) && tier == "default" {
        if let Some(rest) = name.strip_prefix("default.").filter(|r| !r.is_empty()) {
            meta.insert("name".to_owned(), Value::String(rest.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversions() {
        // (kind, CRD form, expected v3 form or error fragment)
        let cases: Vec<(Kind, Value, Result<Value, &str>)> = vec![
            // Metadata annotation restored, labels/annotations kept, name as stored.
            (
                Kind::GlobalNetworkPolicy,
                json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
                       "metadata": {"name": "deny", "uid": "u1", "resourceVersion": "7",
                                    "creationTimestamp": "2025-01-01T00:00:00Z",
                                    "labels": {"a": "b"},
                                    "annotations": {"x": "y", "projectcalico.org/metadata":
                                        "{\"creationTimestamp\":\"2024-05-05T00:00:00Z\",\"generation\":3,\"name\":\"evil\",\"labels\":{\"z\":\"z\"}}"}},
                       "spec": {"tier": "default", "selector": "all()"}}),
                Ok(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
                          "metadata": {"name": "deny", "uid": "u1", "resourceVersion": "7",
                                       "creationTimestamp": "2024-05-05T00:00:00Z", "generation": 3,
                                       "labels": {"a": "b"}, "annotations": {"x": "y"}},
                          "spec": {"tier": "default", "selector": "all()"}}),
                ),
            ),
            // Legacy default-tier prefix removed; the CR's timestamp kept when the annotation has none.
            (
                Kind::NetworkPolicy,
                json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "default.allow-dns", "namespace": "prod",
                                    "creationTimestamp": "2025-01-01T00:00:00Z",
                                    "annotations": {"projectcalico.org/metadata": "{}"}},
                       "spec": {"selector": "all()"}}),
                Ok(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
                          "metadata": {"name": "allow-dns", "namespace": "prod",
                                       "creationTimestamp": "2025-01-01T00:00:00Z"},
                          "spec": {"selector": "all()"}}),
                ),
            ),
            // Another tier: the name is left alone.
            (
                Kind::GlobalNetworkPolicy,
                json!({"kind": "GlobalNetworkPolicy", "metadata": {"name": "security.block"},
                       "spec": {"tier": "security"}}),
                Ok(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
                          "metadata": {"name": "security.block"}, "spec": {"tier": "security"}}),
                ),
            ),
            // Not a policy kind: no prefix logic.
            (
                Kind::GlobalNetworkSet,
                json!({"kind": "GlobalNetworkSet", "metadata": {"name": "default.x"}}),
                Ok(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet",
                          "metadata": {"name": "default.x"}}),
                ),
            ),
            // `default.` alone is not a prefix of anything.
            (
                Kind::NetworkPolicy,
                json!({"kind": "NetworkPolicy", "metadata": {"name": "default."}}),
                Ok(
                    json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
                          "metadata": {"name": "default."}}),
                ),
            ),
            // A broken annotation: the object is refused.
            (
                Kind::Tier,
                json!({"kind": "Tier", "metadata": {"name": "t",
                       "annotations": {"projectcalico.org/metadata": "{not json"}}}),
                Err("annotation is not a JSON object"),
            ),
            (
                Kind::Tier,
                json!({"kind": "Tier", "metadata": {"name": "t",
                       "annotations": {"projectcalico.org/metadata": "[1]"}}}),
                Err("`t`"),
            ),
            (Kind::Tier, json!([1, 2]), Err("not a mapping")),
        ];
        for (kind, mut input, want) in cases {
            let got = to_v3(kind, &mut input);
            match want {
                Ok(v) => {
                    assert_eq!(got, Ok(()), "{v}");
                    assert_eq!(input, v);
                }
                Err(fragment) => {
                    let e = got.unwrap_err();
                    assert!(e.contains(fragment), "{e}");
                }
            }
        }
    }
}
