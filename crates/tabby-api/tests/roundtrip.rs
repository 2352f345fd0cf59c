//! Every fixture under `tests/fixtures/` decodes as the kind its type meta names,
//! and serializes back to the same document (strict kinds) or to the part of it
//! tabby models (workload kinds, which ignore other fields).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use tabby_api::{decode_resource, Kind, Resource};

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn kind_of(v: &Value) -> Kind {
    let av = v["apiVersion"].as_str().unwrap();
    let k = v["kind"].as_str().unwrap();
    Kind::from_type_meta(av, k).unwrap_or_else(|| panic!("no kind for {av} {k}"))
}

/// Whether everything in `small` is also in `big`, with the same value. `null`
/// in `big` counts as absent (Go and serde both read it as the zero value).
fn is_subset(small: &Value, big: &Value, path: &str) -> Result<(), String> {
    match (small, big) {
        (Value::Object(s), Value::Object(b)) => {
            for (k, sv) in s {
                let bv = b.get(k).ok_or_else(|| format!("{path}.{k}: invented"))?;
                is_subset(sv, bv, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(s), Value::Array(b)) => {
            if s.len() != b.len() {
                return Err(format!("{path}: length {} != {}", s.len(), b.len()));
            }
            for (i, (sv, bv)) in s.iter().zip(b).enumerate() {
                is_subset(sv, bv, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if small == big => Ok(()),
        _ => Err(format!("{path}: {small} != {big}")),
    }
}

#[test]
fn every_fixture_round_trips() {
    let all = fixtures();
    assert!(all.len() >= 30, "fixtures missing: {}", all.len());
    for (name, input) in &all {
        let kind = kind_of(input);
        let res = decode_resource(kind, input.clone())
            .unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()));
        assert_eq!(res.kind(), kind, "{name}");
        assert_eq!(res.api_version(), input["apiVersion"].as_str().unwrap());
        let output = serde_json::to_value(&res).unwrap();
        if kind.is_strict() {
            // Exactly the same document (numbers included: `order: 1000` stays `1000`).
            assert_eq!(&output, input, "{name}");
        } else {
            is_subset(&output, input, "").unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        // Typed round trip: decoding the output gives the same value.
        let again = decode_resource(kind, output).unwrap();
        assert_eq!(again, res, "{name}");
    }
}

#[test]
fn every_kind_has_a_fixture() {
    let covered: BTreeSet<Kind> = fixtures().iter().map(|(_, v)| kind_of(v)).collect();
    for &k in Kind::ALL {
        assert!(covered.contains(&k), "no fixture for {k:?}");
    }
}

fn load(name: &str) -> Resource {
    let (_, v) = fixtures().into_iter().find(|(n, _)| n == name).unwrap();
    decode_resource(kind_of(&v), v).unwrap()
}

#[test]
fn seed_policies_decode_to_the_expected_fields() {
    let Resource::NetworkPolicy(np) = load("seed-backend-egress.json") else {
        panic!("wrong kind")
    };
    assert_eq!(np.metadata.namespace.as_deref(), Some("production"));
    assert_eq!(np.spec.order, Some(200.0));
    assert!(np.spec.ingress.is_none());
    let egress = np.spec.egress.as_ref().unwrap();
    let dst = egress[1].destination.as_ref().unwrap();
    assert_eq!(
        dst.domains.as_deref(),
        Some(&["api.stripe.com".to_owned()][..])
    );
    assert_eq!(dst.ports.as_ref().unwrap()[0].as_int(), Some(443));

    let Resource::GlobalNetworkPolicy(g) = load("seed-default-deny.json") else {
        panic!("wrong kind")
    };
    assert_eq!(
        g.spec.types.as_deref(),
        Some(&["Ingress".to_owned(), "Egress".to_owned()][..])
    );
    assert!(g.spec.ingress.is_none() && g.spec.egress.is_none());

    let Resource::GlobalNetworkPolicy(g) = load("seed-namespace-isolation.json") else {
        panic!("wrong kind")
    };
    assert_eq!(
        g.spec.namespace_selector.as_deref(),
        Some("tenant == 'true'")
    );
    assert!(g.spec.selector.is_none());
}

#[test]
fn presence_is_kept_apart_from_emptiness() {
    let Resource::NetworkPolicy(np) = load("calico-networkpolicy-full.json") else {
        panic!("wrong kind")
    };
    assert_eq!(np.spec.egress.as_deref(), Some(&[][..]));
    assert_eq!(np.spec.ingress.as_ref().map(Vec::len), Some(1));
    let out = serde_json::to_value(&*np).unwrap();
    assert_eq!(out["spec"]["egress"], serde_json::json!([]));
}

#[test]
fn workload_kinds_keep_what_policy_needs() {
    let Resource::Pod(p) = load("k8s-pod.json") else {
        panic!("wrong kind")
    };
    let c = &p.spec.containers.as_ref().unwrap()[0];
    let ports = c.ports.as_ref().unwrap();
    assert_eq!(ports[0].name.as_deref(), Some("http"));
    assert_eq!(ports[0].container_port, Some(8080));
    let rp = c
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(rp.port.as_ref().and_then(|p| p.as_str()), Some("http"));
    let status = p.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.pod_ips.as_ref().map(Vec::len), Some(2));
    assert_eq!(p.spec.automount_service_account_token, Some(false));

    let Resource::CronJob(cj) = load("k8s-cronjob.json") else {
        panic!("wrong kind")
    };
    let tmpl = cj
        .spec
        .job_template
        .as_ref()
        .unwrap()
        .spec
        .template
        .as_ref()
        .unwrap();
    assert_eq!(
        tmpl.metadata.labels.get("job").map(String::as_str),
        Some("backup")
    );
    assert_eq!(tmpl.spec.service_account_name.as_deref(), Some("web"));

    let Resource::Service(s) = load("k8s-service.json") else {
        panic!("wrong kind")
    };
    let sp = s.spec.ports.as_ref().unwrap();
    assert_eq!(
        sp[1].target_port.as_ref().and_then(|p| p.as_int()),
        Some(8443)
    );
    assert_eq!(s.spec.type_.as_deref(), Some("ClusterIP"));
}
