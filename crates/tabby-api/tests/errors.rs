//! Decode errors: unknown fields on strict kinds name the field and its path;
//! workload kinds ignore fields tabby does not model; wide values decode so the
//! validator can range-check them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers"
)]

use serde_json::{json, Value};
use tabby_api::{decode_resource, Kind, Resource};

/// (kind, document, expected path, expected message prefix)
fn unknown_field_cases() -> Vec<(Kind, Value, &'static str, &'static str)> {
    vec![
        (
            Kind::NetworkPolicy,
            json!({"metadata": {"name": "a"}, "spec": {"selectr": "all()"}}),
            "spec.selectr",
            "unknown field `selectr`",
        ),
        (
            Kind::GlobalNetworkPolicy,
            json!({"spec": {"egress": [{"action": "Allow"}, {"action": "Allow", "destination": {"prots": [53]}}]}}),
            "spec.egress[1].destination.prots",
            "unknown field `prots`",
        ),
        (
            Kind::GlobalNetworkPolicy,
            json!({"spec": {"ingress": [{"action": "Deny", "icmp": {"typ": 8}}]}}),
            "spec.ingress[0].icmp.typ",
            "unknown field `typ`",
        ),
        (
            // `namespaceSelector` is a GlobalNetworkPolicy field only.
            Kind::NetworkPolicy,
            json!({"spec": {"namespaceSelector": "all()"}}),
            "spec.namespaceSelector",
            "unknown field `namespaceSelector`",
        ),
        (
            Kind::StagedNetworkPolicy,
            json!({"spec": {"stagedActon": "Set"}}),
            "spec.stagedActon",
            "unknown field `stagedActon`",
        ),
        (
            Kind::Tier,
            json!({"spec": {"order": 1, "default_action": "Pass"}}),
            "spec.default_action",
            "unknown field `default_action`",
        ),
        (
            Kind::NetworkPolicy,
            json!({"metadata": {"name": "a", "namepsace": "x"}}),
            "metadata.namepsace",
            "unknown field `namepsace`",
        ),
        (
            Kind::NetworkPolicy,
            json!({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy", "specs": {}}),
            "specs",
            "unknown field `specs`",
        ),
        (
            Kind::HostEndpoint,
            json!({"spec": {"expectedIps": ["10.0.0.1"]}}),
            "spec.expectedIps",
            "unknown field `expectedIps`",
        ),
        (
            Kind::KubernetesNetworkPolicy,
            json!({"spec": {"ingress": [{"from": [{"podSelector": {"matchLabel": {"a": "b"}}}]}]}}),
            "spec.ingress[0].from[0].podSelector.matchLabel",
            "unknown field `matchLabel`",
        ),
        (
            Kind::KubernetesNetworkPolicy,
            json!({"spec": {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "exept": []}}]}]}}),
            "spec.egress[0].to[0].ipBlock.exept",
            "unknown field `exept`",
        ),
        (
            Kind::ClusterNetworkPolicy,
            json!({"spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
                "ingress": [{"action": "Accept", "from": [{"namespaces": {}}], "ports": []}]}}),
            "spec.ingress[0].ports",
            "unknown field `ports`",
        ),
        (
            Kind::AdminNetworkPolicy,
            json!({"spec": {"priority": 1, "subject": {"namespaces": {}},
                "egress": [{"action": "Allow", "to": [{"network": ["10.0.0.0/8"]}]}]}}),
            "spec.egress[0].to[0].network",
            "unknown field `network`",
        ),
        (
            Kind::GlobalThreatFeed,
            json!({"spec": {"pull": {"http": {"uri": "https://x"}}}}),
            "spec.pull.http.uri",
            "unknown field `uri`",
        ),
    ]
}

#[test]
fn unknown_fields_are_rejected_with_their_path() {
    for (kind, doc, path, msg) in unknown_field_cases() {
        let err = decode_resource(kind, doc.clone()).expect_err(&format!("{kind:?} {doc}"));
        assert_eq!(err.path().to_string(), path, "{kind:?} {doc}");
        let text = err.inner().to_string();
        assert!(text.starts_with(msg), "{kind:?}: {text}");
        // serde lists the valid fields (`expected one of ...`, or `expected `a` or `b``
        // for two): the loader's did-you-mean needs them.
        assert!(text.contains(", expected "), "{text}");
    }
}

#[test]
fn workload_kinds_ignore_unknown_fields() {
    let cases = [
        (
            Kind::Pod,
            json!({"spec": {"containers": [{"name": "a", "tty": true, "ports": [{"containerPort": 1, "x": 1}]}], "schedulerName": "s"}, "extra": 1}),
        ),
        (
            Kind::Deployment,
            json!({"spec": {"paused": true, "template": {"spec": {"priorityClassName": "p"}}}, "status": {"x": 1}}),
        ),
        (
            Kind::Service,
            json!({"spec": {"internalTrafficPolicy": "Local", "ports": [{"port": 1, "appProtocol": "h2c"}]}}),
        ),
        (
            Kind::Namespace,
            json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        ),
        (Kind::ServiceAccount, json!({"secrets": [{"name": "s"}]})),
        (
            Kind::CronJob,
            json!({"spec": {"suspend": false, "jobTemplate": {"spec": {"ttlSecondsAfterFinished": 1}}}}),
        ),
    ];
    for (kind, doc) in cases {
        let r = decode_resource(kind, doc.clone());
        assert!(
            r.is_ok(),
            "{kind:?} {doc}: {:?}",
            r.err().map(|e| e.to_string())
        );
    }
    // ... but their metadata is still strict.
    let err = decode_resource(Kind::Pod, json!({"metadata": {"label": {"a": "b"}}})).unwrap_err();
    assert_eq!(err.path().to_string(), "metadata.label");
}

#[test]
fn wrong_types_report_the_value_path() {
    let cases = [
        (
            Kind::GlobalNetworkPolicy,
            json!({"spec": {"order": "high"}}),
            "spec.order",
        ),
        (
            Kind::GlobalNetworkPolicy,
            json!({"spec": {"egress": [{"destination": {"ports": [1.5]}}]}}),
            "spec.egress[0].destination.ports[0]",
        ),
        (
            Kind::GlobalNetworkPolicy,
            json!({"spec": {"types": "Ingress"}}),
            "spec.types",
        ),
        (
            Kind::NetworkPolicy,
            json!({"metadata": {"labels": {"tenant": true}}}),
            "metadata.labels.tenant",
        ),
        (
            Kind::ClusterNetworkPolicy,
            json!({"spec": {"tier": "Admin", "subject": {}}}),
            "spec",
        ),
    ];
    for (kind, doc, path) in cases {
        let err = decode_resource(kind, doc.clone()).expect_err(&doc.to_string());
        assert_eq!(err.path().to_string(), path, "{doc}: {}", err.inner());
    }
    // A missing required CRD field names the field.
    let err = decode_resource(
        Kind::ClusterNetworkPolicy,
        json!({"spec": {"tier": "Admin", "subject": {}}}),
    )
    .unwrap_err();
    assert!(
        err.inner().to_string().contains("missing field `priority`"),
        "{}",
        err.inner()
    );
}

#[test]
fn wide_values_decode_for_the_validator() {
    // Out-of-range and misspelt values are the validator's business, not decode errors.
    let doc = json!({"spec": {
        "order": -3.25, "types": ["ingress", "Sideways"],
        "ingress": [{"action": "allow", "ipVersion": 5, "protocol": 300,
            "icmp": {"type": 999, "code": -1},
            "destination": {"ports": [0, 70000, "9:1", "not a port"]}}]}});
    let Resource::GlobalNetworkPolicy(g) = decode_resource(Kind::GlobalNetworkPolicy, doc).unwrap()
    else {
        panic!("wrong kind")
    };
    let r = &g.spec.ingress.as_ref().unwrap()[0];
    assert_eq!(g.spec.order, Some(-3.25));
    assert_eq!(r.action.as_deref(), Some("allow"));
    assert_eq!(r.ip_version, Some(5));
    assert_eq!(r.protocol.as_ref().and_then(|p| p.as_int()), Some(300));
    assert_eq!(r.icmp.as_ref().unwrap().type_, Some(999));
    assert_eq!(
        r.destination
            .as_ref()
            .unwrap()
            .ports
            .as_ref()
            .unwrap()
            .len(),
        4
    );

    let doc = json!({"spec": {"tier": "admin", "priority": 5000, "subject": {},
        "egress": [{"action": "Allow", "to": []}]}});
    let Resource::ClusterNetworkPolicy(c) =
        decode_resource(Kind::ClusterNetworkPolicy, doc).unwrap()
    else {
        panic!("wrong kind")
    };
    assert_eq!(c.spec.priority, 5000);
    assert_eq!(c.spec.tier, "admin");
}

#[test]
fn null_reads_as_absent() {
    // YAML `ingress:` with no value, `labels: null`, `spec: null`: Go's decoder reads
    // these as zero values, and so do we.
    let doc = json!({"metadata": {"name": "a", "labels": null, "annotations": null},
        "spec": {"ingress": null, "selector": null}});
    let Resource::NetworkPolicy(np) = decode_resource(Kind::NetworkPolicy, doc).unwrap() else {
        panic!("wrong kind")
    };
    assert!(np.spec.ingress.is_none() && np.metadata.labels.is_empty());
    assert!(decode_resource(Kind::Tier, json!({"spec": null})).is_ok());
    assert!(decode_resource(Kind::Pod, json!({"metadata": null, "spec": null})).is_ok());
}
