//! `policy.networking.k8s.io` kinds from kubernetes-sigs/network-policy-api:
//! ClusterNetworkPolicy (`v1alpha2`) and the legacy AdminNetworkPolicy /
//! BaselineAdminNetworkPolicy (`v1alpha1`).
//!
//! These are CRDs whose schema marks every field required unless it says
//! optional; the API server rejects a missing required field and any unknown
//! field, and so do these types. Enum-like values (`tier`, `action`) stay strings
//! so the validator can suggest the right spelling.

use serde::{Deserialize, Serialize};

use crate::macros::top_level;
use crate::LabelSelector;

/// Pods in selected namespaces (`NamespacedPod`, both versions).
///
/// `namespaceSelector` is required in `v1alpha1` and optional in `v1alpha2`; it is
/// optional here and the validator tells the versions apart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespacedPod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    pub pod_selector: LabelSelector,
}

/// The subject of an ANP, BANP or CNP: exactly one field may be set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPod>,
}

/// An ingress peer (`namespaces` or `pods`; exactly one).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPod>,
}

/// An egress peer (exactly one field). `nodes` and `domainNames` are
/// experimental in the upstream API.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressPeer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_names: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------
// v1alpha2 ClusterNetworkPolicy

/// `ClusterNetworkPolicySpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicySpec {
    /// `Admin` or `Baseline`, kept as written.
    pub tier: String,
    /// 0–1000 in the API; kept wide for the range check.
    pub priority: i64,
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<ClusterNetworkPolicyIngressRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<ClusterNetworkPolicyEgressRule>>,
}

/// `ClusterNetworkPolicyIngressRule`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicyIngressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Accept`, `Deny` or `Pass`, kept as written.
    pub action: String,
    pub from: Vec<IngressPeer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<ClusterNetworkPolicyProtocol>>,
}

/// `ClusterNetworkPolicyEgressRule`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicyEgressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: String,
    pub to: Vec<EgressPeer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<ClusterNetworkPolicyProtocol>>,
}

/// `ClusterNetworkPolicyProtocol`: exactly one field may be set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicyProtocol {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<ProtocolPortMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<ProtocolPortMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp: Option<ProtocolPortMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_named_port: Option<String>,
}

/// `ClusterNetworkPolicyProtocolTCP` / `UDP` / `SCTP` (same shape).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtocolPortMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<ClusterNetworkPolicyPort>,
}

/// `Port` (v1alpha2): `number` or `range`, exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicyPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<PortRangeV1Alpha2>,
}

/// `PortRange` (v1alpha2): inclusive, `start < end`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortRangeV1Alpha2 {
    pub start: i64,
    pub end: i64,
}

top_level!(
    /// `policy.networking.k8s.io/v1alpha2` `ClusterNetworkPolicy` (cluster-wide).
    #[serde(deny_unknown_fields)]
    ClusterNetworkPolicy,
    ClusterNetworkPolicySpec
);

// ---------------------------------------------------------------------------
// v1alpha1 AdminNetworkPolicy / BaselineAdminNetworkPolicy

/// `AdminNetworkPolicySpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminNetworkPolicySpec {
    /// 0–1000 in the API; kept wide for the range check.
    pub priority: i64,
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<AdminNetworkPolicyIngressRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<AdminNetworkPolicyEgressRule>>,
}

/// `BaselineAdminNetworkPolicySpec` (no priority: there is one, named `default`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaselineAdminNetworkPolicySpec {
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<AdminNetworkPolicyIngressRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<AdminNetworkPolicyEgressRule>>,
}

/// `AdminNetworkPolicyIngressRule` (and the BANP rule of the same shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminNetworkPolicyIngressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ANP: `Allow`, `Deny` or `Pass`; BANP: `Allow` or `Deny`. Kept as written.
    pub action: String,
    pub from: Vec<IngressPeer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<AdminNetworkPolicyPort>>,
}

/// `AdminNetworkPolicyEgressRule` (and the BANP rule of the same shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminNetworkPolicyEgressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: String,
    pub to: Vec<EgressPeer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<AdminNetworkPolicyPort>>,
}

/// `AdminNetworkPolicyPort`: exactly one field may be set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminNetworkPolicyPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_number: Option<PortNumberV1Alpha1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<PortRangeV1Alpha1>,
}

/// `Port` (v1alpha1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortNumberV1Alpha1 {
    /// `TCP`, `UDP` or `SCTP`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub port: i64,
}

/// `PortRange` (v1alpha1).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortRangeV1Alpha1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub start: i64,
    pub end: i64,
}

top_level!(
    /// `policy.networking.k8s.io/v1alpha1` `AdminNetworkPolicy` (cluster-wide).
    #[serde(deny_unknown_fields)]
    AdminNetworkPolicy,
    AdminNetworkPolicySpec
);
top_level!(
    /// `policy.networking.k8s.io/v1alpha1` `BaselineAdminNetworkPolicy` (cluster-wide).
    #[serde(deny_unknown_fields)]
    BaselineAdminNetworkPolicy,
    BaselineAdminNetworkPolicySpec
);
