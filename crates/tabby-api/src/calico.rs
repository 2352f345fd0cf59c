//! `projectcalico.org/v3` kinds (also read in their `crd.projectcalico.org/v1`
//! storage form), field for field as `api/pkg/apis/projectcalico/v3/*.go` and
//! `libcalico-go/lib/apis/internalapi/workloadendpoint.go` define them.
//!
//! Every struct rejects unknown fields, as `calicoctl` does. Calico's Go decoder
//! requires no field (a missing value is a zero value that the validator then
//! rejects), so every field is optional here too: the validator reports what is
//! missing, with a position.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::k8s::{NetworkPolicyEgressRule, NetworkPolicyIngressRule};
use crate::macros::top_level;
use crate::{IntOrString, LabelSelector};

// ---------------------------------------------------------------------------
// Rules (policy_common.go)

/// A policy or profile rule (`Rule`).
///
/// `action` stays a string so that `allow` or `Drop` can be reported with a
/// did-you-mean rather than as a decode error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `4` or `6`; any integer is kept so the validator can say which is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<IntOrString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_protocol: Option<IntOrString>,
    #[serde(default, rename = "notICMP", skip_serializing_if = "Option::is_none")]
    pub not_icmp: Option<IcmpFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EntityRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<EntityRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RuleMetadata>,
}

/// ICMP type and code (`ICMPFields`), kept at full width for range checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IcmpFields {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

/// The source or destination match of a rule (`EntityRule`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EntityRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<ServiceMatch>,
    /// Numbers, `"min:max"` ranges or named ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<IntOrString>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_nets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ports: Option<Vec<IntOrString>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_accounts: Option<ServiceAccountMatch>,
    /// Destination domain names (Calico Enterprise / Calico Cloud; open-source
    /// Calico does not have it, the validator says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
}

/// `services:` in an entity rule (`ServiceMatch`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `serviceAccounts:` in an entity rule (`ServiceAccountMatch`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccountMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

/// `http:` in a rule (`HTTPMatch`; enforced only with an L7 proxy).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<HttpPath>>,
}

/// One entry of `http.paths` (`HTTPPath`): exactly one of the two is valid.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpPath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// `metadata:` in a rule (`RuleMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

// ---------------------------------------------------------------------------
// Policies

/// `NetworkPolicySpec`.
///
/// `ingress`/`egress` are `Option` so that an absent list and an empty one stay
/// apart (the default of `types` depends on which lists are present).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(
        default,
        serialize_with = "crate::meta::ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub order: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// `Ingress` / `Egress`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_hints: Option<Vec<String>>,
}

/// `GlobalNetworkPolicySpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalNetworkPolicySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(
        default,
        serialize_with = "crate::meta::ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub order: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_track: Option<bool>,
    #[serde(default, rename = "preDNAT", skip_serializing_if = "Option::is_none")]
    pub pre_dnat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_on_forward: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_hints: Option<Vec<String>>,
}

/// `StagedNetworkPolicySpec`: a [`NetworkPolicySpec`] plus `stagedAction`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagedNetworkPolicySpec {
    /// `Set` (default), `Delete`, `Learn` or `Ignore`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(
        default,
        serialize_with = "crate::meta::ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub order: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_hints: Option<Vec<String>>,
}

/// `StagedGlobalNetworkPolicySpec`: a [`GlobalNetworkPolicySpec`] plus `stagedAction`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagedGlobalNetworkPolicySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(
        default,
        serialize_with = "crate::meta::ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub order: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_track: Option<bool>,
    #[serde(default, rename = "preDNAT", skip_serializing_if = "Option::is_none")]
    pub pre_dnat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_on_forward: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_hints: Option<Vec<String>>,
}

/// `StagedKubernetesNetworkPolicySpec`: a Kubernetes NetworkPolicy spec plus
/// `stagedAction`; its rules are Kubernetes rules.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StagedKubernetesNetworkPolicySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<NetworkPolicyIngressRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<NetworkPolicyEgressRule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_types: Option<Vec<String>>,
}

top_level!(
    /// Calico `NetworkPolicy` (namespaced).
    #[serde(deny_unknown_fields)]
    NetworkPolicy,
    NetworkPolicySpec
);
top_level!(
    /// Calico `GlobalNetworkPolicy` (cluster-wide).
    #[serde(deny_unknown_fields)]
    GlobalNetworkPolicy,
    GlobalNetworkPolicySpec
);
top_level!(
    /// Calico `StagedNetworkPolicy` (namespaced; evaluated but not enforced).
    #[serde(deny_unknown_fields)]
    StagedNetworkPolicy,
    StagedNetworkPolicySpec
);
top_level!(
    /// Calico `StagedGlobalNetworkPolicy`.
    #[serde(deny_unknown_fields)]
    StagedGlobalNetworkPolicy,
    StagedGlobalNetworkPolicySpec
);
top_level!(
    /// Calico `StagedKubernetesNetworkPolicy` (namespaced).
    #[serde(deny_unknown_fields)]
    StagedKubernetesNetworkPolicy,
    StagedKubernetesNetworkPolicySpec
);

// ---------------------------------------------------------------------------
// Tiers, sets, endpoints, profiles

/// `TierSpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TierSpec {
    #[serde(
        default,
        serialize_with = "crate::meta::ser_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub order: Option<f64>,
    /// `Deny` (default) or `Pass`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<String>,
}

top_level!(
    /// Calico `Tier` (cluster-wide).
    #[serde(deny_unknown_fields)]
    Tier,
    TierSpec
);

/// `NetworkSetSpec` and `GlobalNetworkSetSpec` (same fields).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkSetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nets: Option<Vec<String>>,
    /// Calico Enterprise only; open-source Calico ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_egress_domains: Option<Vec<String>>,
}

top_level!(
    /// Calico `NetworkSet` (namespaced).
    #[serde(deny_unknown_fields)]
    NetworkSet,
    NetworkSetSpec
);
top_level!(
    /// Calico `GlobalNetworkSet` (cluster-wide).
    #[serde(deny_unknown_fields)]
    GlobalNetworkSet,
    NetworkSetSpec
);

/// A named port of a host endpoint (`EndpointPort`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<IntOrString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
}

/// `HostEndpointSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostEndpointSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    #[serde(
        default,
        rename = "expectedIPs",
        skip_serializing_if = "Option::is_none"
    )]
    pub expected_ips: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<EndpointPort>>,
}

top_level!(
    /// Calico `HostEndpoint` (cluster-wide).
    #[serde(deny_unknown_fields)]
    HostEndpoint,
    HostEndpointSpec
);

/// A named or mapped port of a workload endpoint (`WorkloadEndpointPort`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEndpointPort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<IntOrString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i64>,
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// A 1:1 NAT mapping of a workload endpoint (`IPNAT`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpNat {
    #[serde(
        default,
        rename = "internalIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub internal_ip: Option<String>,
    #[serde(
        default,
        rename = "externalIP",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_ip: Option<String>,
}

/// `WorkloadEndpointSpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadEndpointSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orchestrator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    #[serde(
        default,
        rename = "ipNetworks",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip_networks: Option<Vec<String>>,
    #[serde(default, rename = "ipNATs", skip_serializing_if = "Option::is_none")]
    pub ip_nats: Option<Vec<IpNat>>,
    #[serde(
        default,
        rename = "ipv4Gateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_gateway: Option<String>,
    #[serde(
        default,
        rename = "ipv6Gateway",
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<WorkloadEndpointPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_spoofed_source_prefixes: Option<Vec<String>>,
    /// Bandwidth and connection limits; kept opaque (no policy meaning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_controls: Option<serde_json::Value>,
}

top_level!(
    /// Calico `WorkloadEndpoint` (namespaced).
    #[serde(deny_unknown_fields)]
    WorkloadEndpoint,
    WorkloadEndpointSpec
);

/// `ProfileSpec`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_to_apply: Option<BTreeMap<String, String>>,
}

top_level!(
    /// Calico `Profile` (cluster-wide).
    #[serde(deny_unknown_fields)]
    Profile,
    ProfileSpec
);

// ---------------------------------------------------------------------------
// GlobalThreatFeed (Calico Enterprise)

/// `GlobalThreatFeedSpec` (Calico Enterprise). tabby models the GlobalNetworkSet a
/// feed fills; it never fetches the feed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalThreatFeedSpec {
    /// `IPSet` (default) or `DomainNameSet`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `Enabled` (default) or `Disabled`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `Builtin` or `Custom`, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_network_set: Option<GlobalThreatFeedNetworkSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<ThreatFeedPull>,
}

/// `spec.globalNetworkSet` of a threat feed: the labels of the set it fills.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalThreatFeedNetworkSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `spec.pull` of a threat feed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreatFeedPull {
    /// A Go duration (`24h`, `1h30m`), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<ThreatFeedHttp>,
}

/// `spec.pull.http` of a threat feed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreatFeedHttp {
    /// `newlineDelimited`, `json` or `csv` options; kept opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `{name, value}` or `{name, valueFrom}` entries; kept opaque (they may name
    /// secrets, which tabby never reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<serde_json::Value>>,
}

top_level!(
    /// Calico Enterprise `GlobalThreatFeed` (cluster-wide).
    #[serde(deny_unknown_fields)]
    GlobalThreatFeed,
    GlobalThreatFeedSpec
);
