//! Policies, rules, tiers and profiles.

use std::fmt;

use ipnet::IpNet;
use tabby_diag::Loc;
use tabby_selector::Selector;

use crate::{Action, IcmpMatch, IpVersion, LabelMap, Name, PortSpec, Protocol};

/// Where a policy came from. Calico sorts equal-order policies by
/// `name/namespace/kind`, so the kind also takes part in ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum PolicyKind {
    NetworkPolicy,
    GlobalNetworkPolicy,
    StagedNetworkPolicy,
    StagedGlobalNetworkPolicy,
    StagedKubernetesNetworkPolicy,
    /// A `networking.k8s.io/v1` NetworkPolicy, converted as Calico converts it.
    KubernetesNetworkPolicy,
    /// A `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy (kube-admin / kube-baseline tiers).
    KubernetesClusterNetworkPolicy,
    /// Legacy `v1alpha1` AdminNetworkPolicy (Calico v3.29–v3.31, tier `adminnetworkpolicy`).
    KubernetesAdminNetworkPolicy,
    /// Legacy `v1alpha1` BaselineAdminNetworkPolicy (tier `baselineadminnetworkpolicy`).
    KubernetesBaselineAdminNetworkPolicy,
}

impl PolicyKind {
    /// The kind string Calico uses in its sort key and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::NetworkPolicy => "NetworkPolicy",
            PolicyKind::GlobalNetworkPolicy => "GlobalNetworkPolicy",
            PolicyKind::StagedNetworkPolicy => "StagedNetworkPolicy",
            PolicyKind::StagedGlobalNetworkPolicy => "StagedGlobalNetworkPolicy",
            PolicyKind::StagedKubernetesNetworkPolicy => "StagedKubernetesNetworkPolicy",
            PolicyKind::KubernetesNetworkPolicy => "KubernetesNetworkPolicy",
            PolicyKind::KubernetesClusterNetworkPolicy => "KubernetesClusterNetworkPolicy",
            PolicyKind::KubernetesAdminNetworkPolicy => "KubernetesAdminNetworkPolicy",
            PolicyKind::KubernetesBaselineAdminNetworkPolicy => {
                "KubernetesBaselineAdminNetworkPolicy"
            }
        }
    }

    /// Felix's short kind name used in flow-log policy strings (`np`, `gnp`, ...).
    pub fn short_name(self) -> &'static str {
        match self {
            PolicyKind::NetworkPolicy => "np",
            PolicyKind::GlobalNetworkPolicy => "gnp",
            PolicyKind::StagedNetworkPolicy => "snp",
            PolicyKind::StagedGlobalNetworkPolicy => "sgnp",
            PolicyKind::StagedKubernetesNetworkPolicy => "sknp",
            PolicyKind::KubernetesNetworkPolicy => "knp",
            PolicyKind::KubernetesClusterNetworkPolicy => "kcnp",
            PolicyKind::KubernetesAdminNetworkPolicy => "kanp",
            PolicyKind::KubernetesBaselineAdminNetworkPolicy => "kbanp",
        }
    }

    pub fn is_staged(self) -> bool {
        matches!(
            self,
            PolicyKind::StagedNetworkPolicy
                | PolicyKind::StagedGlobalNetworkPolicy
                | PolicyKind::StagedKubernetesNetworkPolicy
        )
    }

    /// Namespaced policies only select workloads in their own namespace.
    pub fn is_namespaced(self) -> bool {
        matches!(
            self,
            PolicyKind::NetworkPolicy
                | PolicyKind::StagedNetworkPolicy
                | PolicyKind::StagedKubernetesNetworkPolicy
                | PolicyKind::KubernetesNetworkPolicy
        )
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The directions a policy takes part in (after Calico's `types` inference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Types {
    pub ingress: bool,
    pub egress: bool,
    /// True when the user did not write `types` and it was inferred from the rules.
    pub inferred: bool,
}

/// `stagedAction` of a staged policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum StagedAction {
    Set,
    Delete,
    Learn,
    Ignore,
}

/// A policy in Calico's shape, whatever kind it was written as.
#[derive(Debug, Clone)]
pub struct Policy {
    pub kind: PolicyKind,
    pub name: Name,
    /// Set for namespaced kinds.
    pub namespace: Option<Name>,
    pub tier: Name,
    /// `None` sorts after every ordered policy ("order: +∞").
    pub order: Option<f64>,
    /// The policy's own `selector` as written (`all()` when empty). Namespace scoping
    /// of namespaced kinds is applied by the engine, not here.
    pub selector: Selector,
    /// GlobalNetworkPolicy `namespaceSelector` (on the endpoint's namespace labels).
    pub namespace_selector: Option<Selector>,
    /// `serviceAccountSelector` (on the endpoint's service account labels).
    pub service_account_selector: Option<Selector>,
    pub types: Types,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub apply_on_forward: bool,
    pub pre_dnat: bool,
    pub do_not_track: bool,
    /// Staged kinds only.
    pub staged_action: Option<StagedAction>,
    /// `performanceHints`; never changes a verdict.
    pub performance_hints: Vec<Name>,
    pub labels: LabelMap,
    pub annotations: LabelMap,
    /// Where the policy (or the Kubernetes object it was converted from) was written.
    pub loc: Option<Loc>,
}

impl Policy {
    pub fn rules(&self, dir: crate::Direction) -> &[Rule] {
        match dir {
            crate::Direction::Ingress => &self.ingress,
            crate::Direction::Egress => &self.egress,
        }
    }

    pub fn applies_in(&self, dir: crate::Direction) -> bool {
        match dir {
            crate::Direction::Ingress => self.types.ingress,
            crate::Direction::Egress => self.types.egress,
        }
    }

    /// `namespace/name` or `name`, as users write it.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.to_string(),
        }
    }
}

/// One rule of a policy or profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub action: Action,
    pub ip_version: Option<IpVersion>,
    pub protocol: Option<Protocol>,
    pub not_protocol: Option<Protocol>,
    pub icmp: Option<IcmpMatch>,
    pub not_icmp: Option<IcmpMatch>,
    pub source: EntityRule,
    pub destination: EntityRule,
    /// Layer-7 match; only Calico's application-layer policy enforces it.
    pub http: Option<HttpMatch>,
    /// `metadata.annotations` of the rule (ClusterNetworkPolicy rule names land in `name`).
    pub annotations: LabelMap,
    pub loc: Option<Loc>,
}

impl Rule {
    /// A rule with only an action: matches everything.
    pub fn new(action: Action) -> Self {
        Self {
            action,
            ip_version: None,
            protocol: None,
            not_protocol: None,
            icmp: None,
            not_icmp: None,
            source: EntityRule::default(),
            destination: EntityRule::default(),
            http: None,
            annotations: LabelMap::new(),
            loc: None,
        }
    }
}

/// The `source` or `destination` of a rule. Empty matches anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityRule {
    pub nets: Vec<IpNet>,
    pub not_nets: Vec<IpNet>,
    pub selector: Option<Selector>,
    pub not_selector: Option<Selector>,
    pub namespace_selector: Option<Selector>,
    pub service_accounts: Option<ServiceAccountMatch>,
    pub services: Option<ServiceMatch>,
    pub ports: Vec<PortSpec>,
    pub not_ports: Vec<PortSpec>,
    /// Destination domains (Calico Enterprise DNS policy). Lower-cased.
    pub domains: Vec<Name>,
}

impl EntityRule {
    pub fn is_empty(&self) -> bool {
        *self == EntityRule::default()
    }

    /// True when the side names endpoints by label (selector, namespaceSelector or
    /// serviceAccounts), which limits it to Calico-known addresses.
    pub fn has_endpoint_match(&self) -> bool {
        self.selector.is_some()
            || self.namespace_selector.is_some()
            || self.service_accounts.is_some()
    }
}

/// `serviceAccounts` of an entity rule: names and selector are ANDed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceAccountMatch {
    pub names: Vec<Name>,
    pub selector: Option<Selector>,
}

/// `services` of an entity rule: a Kubernetes Service whose endpoints match.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMatch {
    pub name: Name,
    /// Empty means the policy's own namespace.
    pub namespace: Option<Name>,
}

/// `http` match of a rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpMatch {
    pub methods: Vec<Name>,
    pub paths: Vec<HttpPath>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HttpPath {
    Exact(Name),
    Prefix(Name),
}

/// What happens when a tier's applicable policies all leave a packet undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum TierDefaultAction {
    Deny,
    Pass,
}

/// A tier: an ordered group of policies with a default action.
#[derive(Debug, Clone)]
pub struct Tier {
    pub name: Name,
    /// `None` sorts last.
    pub order: Option<f64>,
    pub default_action: TierDefaultAction,
    /// False for the built-in tiers tabby creates when the input has no Tier resource for them.
    pub declared: bool,
    pub loc: Option<Loc>,
}

/// A profile: rules and labels that endpoints inherit by listing it.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: Name,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    pub labels_to_apply: LabelMap,
    pub loc: Option<Loc>,
}
