//! Stable diagnostic codes of the Kubernetes conversions, documented with a bad and a
//! fixed example each in `docs/diagnostics-k8s.md`.
//!
//! Ranges: `E05xx` errors (what the Kubernetes API server, or the CRD schema of a
//! network-policy-api kind, would reject), `W05xx` warnings (accepted, but Calico's
//! conversion does something surprising), `N05xx` notes. Codes are never reused.

// --- label selectors ---

/// A `matchLabels` / `matchExpressions` entry Kubernetes rejects (bad key, value,
/// operator, or values that do not fit the operator).
pub const LABEL_SELECTOR: &str = "E0501";

// --- NetworkPolicy ---

/// `policyTypes`: unknown value, duplicate, or more than two entries.
pub const POLICY_TYPES: &str = "E0502";
/// A NetworkPolicy peer sets nothing, or mixes `ipBlock` with selectors.
pub const PEER_SHAPE: &str = "E0503";
/// `ipBlock.cidr` or an `except` entry is not a valid CIDR.
pub const IP_BLOCK_CIDR: &str = "E0504";
/// An `ipBlock.except` entry is not a strict subset of `cidr`.
pub const IP_BLOCK_EXCEPT: &str = "E0505";
/// A port is 0, above 65535, or not a valid port name.
pub const PORT: &str = "E0506";
/// A protocol other than `TCP`, `UDP` and `SCTP`.
pub const PROTOCOL: &str = "E0507";
/// `endPort` without a numeric `port`, below `port`, or out of range.
pub const END_PORT: &str = "E0508";

// --- ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy ---

/// `spec.tier` not `Admin` or `Baseline`, or `priority` out of range.
pub const CLUSTER_POLICY_SPEC: &str = "E0510";
/// `spec.subject` sets neither or both of `namespaces` and `pods`.
pub const CLUSTER_POLICY_SUBJECT: &str = "E0511";
/// A rule `action` the kind does not define.
pub const CLUSTER_POLICY_ACTION: &str = "E0512";
/// A rule peer sets nothing or more than one field.
pub const CLUSTER_POLICY_PEER: &str = "E0513";
/// A rule port/protocol entry is malformed (nothing set, several set, bad range).
pub const CLUSTER_POLICY_PORT: &str = "E0514";
/// A `networks` entry is not a valid CIDR.
pub const CLUSTER_POLICY_NETWORK: &str = "E0515";
/// BaselineAdminNetworkPolicy not named `default`.
pub const BANP_NAME: &str = "E0516";

// --- workloads and core kinds ---

/// A container port is out of range, or its name or protocol is invalid.
pub const CONTAINER_PORT: &str = "E0520";
/// A Service port, target port or protocol is invalid.
pub const SERVICE_PORT: &str = "E0521";
/// A label in a pod template, pod or namespace is invalid.
pub const WORKLOAD_LABEL: &str = "E0522";

// --- warnings ---

/// Egress rules without `policyTypes`: the API server adds `Egress`, Calico alone would not.
pub const EGRESS_WITHOUT_POLICY_TYPES: &str = "W0501";
/// `ipBlock.cidr` has host bits set; Calico masks them off.
pub const CIDR_HOST_BITS: &str = "W0502";
/// A ClusterNetworkPolicy/ANP/BANP rule Calico cannot convert: replaced by a deny-all
/// rule (fail closed) or dropped.
pub const RULE_NOT_CONVERTED: &str = "W0503";
/// A probe's named port is not declared by its container.
pub const PROBE_PORT: &str = "W0504";
/// A pod status IP is not a valid address, so it is ignored.
pub const POD_IP: &str = "W0505";
/// Rules for a direction `policyTypes` does not list: they never take effect.
pub const RULES_IGNORED: &str = "W0506";
/// A Kubernetes-group object whose kind is close to a kind tabby analyses in that
/// group (`NetworkPolcy` under `networking.k8s.io/v1`): skipped, so flagged.
pub const MISSPELT_KIND: &str = "W0507";

// --- notes ---

/// A finished pod (`Succeeded`/`Failed`) is not an endpoint and was skipped.
pub const FINISHED_POD: &str = "N0501";
/// A controller's pod-template workload was dropped because its pods (or the
/// controller owning it) are in the input.
pub const TEMPLATE_SUPERSEDED: &str = "N0502";

/// Every code with a one-line summary, in order (used by the docs test).
#[cfg_attr(not(test), allow(dead_code, reason = "read by the documentation test"))]
pub const ALL: &[(&str, &str)] = &[
    (LABEL_SELECTOR, "invalid Kubernetes label selector"),
    (POLICY_TYPES, "invalid `policyTypes`"),
    (PEER_SHAPE, "empty peer, or `ipBlock` mixed with selectors"),
    (IP_BLOCK_CIDR, "invalid `ipBlock` CIDR"),
    (IP_BLOCK_EXCEPT, "`except` not a strict subset of `cidr`"),
    (PORT, "invalid port"),
    (PROTOCOL, "protocol not TCP, UDP or SCTP"),
    (END_PORT, "invalid `endPort`"),
    (CLUSTER_POLICY_SPEC, "invalid tier or priority"),
    (CLUSTER_POLICY_SUBJECT, "invalid subject"),
    (CLUSTER_POLICY_ACTION, "invalid rule action"),
    (CLUSTER_POLICY_PEER, "invalid rule peer"),
    (CLUSTER_POLICY_PORT, "invalid rule port"),
    (CLUSTER_POLICY_NETWORK, "invalid `networks` CIDR"),
    (BANP_NAME, "BaselineAdminNetworkPolicy not named `default`"),
    (CONTAINER_PORT, "invalid container port"),
    (SERVICE_PORT, "invalid Service port"),
    (WORKLOAD_LABEL, "invalid workload or namespace label"),
    (
        EGRESS_WITHOUT_POLICY_TYPES,
        "egress rules without `policyTypes`",
    ),
    (CIDR_HOST_BITS, "`ipBlock.cidr` with host bits"),
    (
        RULE_NOT_CONVERTED,
        "rule Calico cannot convert (fail closed)",
    ),
    (PROBE_PORT, "probe names an undeclared port"),
    (POD_IP, "invalid pod IP ignored"),
    (RULES_IGNORED, "rules for a direction not in `policyTypes`"),
    (MISSPELT_KIND, "misspelt Kubernetes kind, skipped"),
    (FINISHED_POD, "finished pod skipped"),
    (
        TEMPLATE_SUPERSEDED,
        "controller template replaced by its pods",
    ),
];
