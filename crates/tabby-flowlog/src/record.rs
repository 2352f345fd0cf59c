//! The flow record: one line of a flow log, whatever format it came from.
//!
//! The shape follows Calico's flow logs (Felix's `FlowLog`, Goldmane's `Flow`): a 5-tuple-ish
//! key (endpoints, protocol, ports, action, reporter), the policy traces that decided it, and
//! counters. Endpoints are described as Calico describes them: a kind, a namespace, a name (which
//! may be an aggregated name such as `backend-7d9f*` or `backend-*`), labels and an IP when known.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One flow-log record (possibly aggregating many connections, see [`FlowRecord::num_flows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// Start of the aggregation interval, unix seconds.
    pub start_time: u64,
    /// End of the aggregation interval, unix seconds.
    pub end_time: u64,
    /// The side that opened the connection.
    pub src: FlowEndpoint,
    /// The side that accepted it.
    pub dst: FlowEndpoint,
    /// IANA protocol number: 6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6.
    pub protocol: u8,
    /// Source port; aggregated logs usually drop it.
    pub src_port: Option<u16>,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// What the dataplane did.
    pub action: Action,
    /// Which side reported the record.
    pub reporter: Reporter,
    /// The enforced policy trace.
    pub policies: Vec<PolicyHit>,
    /// The staged (audit-mode) trace: what would have happened with every staged policy enforced.
    pub pending_policies: Vec<PolicyHit>,
    /// The verdict of the staged trace, when known.
    pub staged_action: Option<Action>,
    /// The DNS name the destination was reached by, when known.
    pub domain: Option<String>,
    /// Packets received by the reporter.
    pub packets_in: u64,
    /// Packets sent by the reporter.
    pub packets_out: u64,
    /// Bytes received by the reporter.
    pub bytes_in: u64,
    /// Bytes sent by the reporter.
    pub bytes_out: u64,
    /// How many flows this record aggregates (at least 1).
    pub num_flows: u64,
}

impl Default for FlowRecord {
    fn default() -> Self {
        Self {
            start_time: 0,
            end_time: 0,
            src: FlowEndpoint::default(),
            dst: FlowEndpoint::default(),
            protocol: 6,
            src_port: None,
            dst_port: None,
            action: Action::Allow,
            reporter: Reporter::Src,
            policies: Vec::new(),
            pending_policies: Vec::new(),
            staged_action: None,
            domain: None,
            packets_in: 0,
            packets_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            num_flows: 1,
        }
    }
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowEndpoint {
    /// What sort of peer this is.
    pub kind: EndpointKind,
    /// The namespace, for workloads and namespaced network sets.
    pub namespace: Option<String>,
    /// Pod name, host name, network set name, or an aggregated name (`backend-7d9f*`, `backend-*`),
    /// or `pub`/`pvt` for a [`EndpointKind::Net`] peer.
    pub name: Option<String>,
    /// Labels (for aggregated records: the labels all aggregated endpoints share).
    pub labels: Vec<(String, String)>,
    /// The IP, when the log carries it.
    pub ip: Option<IpAddr>,
}

impl FlowEndpoint {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the name is an aggregated one (ends in `*`).
    pub fn is_aggregated(&self) -> bool {
        self.name.as_deref().is_some_and(|n| n.ends_with('*'))
    }
}

/// The sort of peer an endpoint is (Goldmane's `EndpointType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum EndpointKind {
    /// A pod (WorkloadEndpoint).
    Workload,
    /// A HostEndpoint.
    Host,
    /// A NetworkSet or GlobalNetworkSet.
    NetworkSet,
    /// Anything else: a plain network, `pub` or `pvt`.
    #[default]
    Net,
}

impl EndpointKind {
    /// The stable short string used by tabby's JSON Lines and CSV formats.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workload => "wep",
            Self::Host => "hep",
            Self::NetworkSet => "ns",
            Self::Net => "net",
        }
    }
}

impl FromStr for EndpointKind {
    type Err = UnknownValue;
    /// Accepts tabby's short strings and Calico's spellings (`WorkloadEndpoint`, `HostEndpoint`,
    /// `NetworkSet`, `Network`, `wep`, `hep`, `ns`, `net`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(s));
        if is(&["wep", "workload", "workloadendpoint", "pod"]) {
            Ok(Self::Workload)
        } else if is(&["hep", "host", "hostendpoint"]) {
            Ok(Self::Host)
        } else if is(&["ns", "networkset", "globalnetworkset", "gns"]) {
            Ok(Self::NetworkSet)
        } else if is(&["net", "network", "", "-"]) {
            Ok(Self::Net)
        } else {
            Err(UnknownValue::new("endpoint type", s))
        }
    }
}

impl fmt::Display for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the dataplane did with a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Action {
    /// Let through.
    #[default]
    Allow,
    /// Dropped.
    Deny,
}

impl Action {
    /// `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

impl FromStr for Action {
    type Err = UnknownValue;
    /// `allow`/`deny`, any case (Goldmane writes `Allow`, Felix `allow`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("allow") {
            Ok(Self::Allow)
        } else if s.eq_ignore_ascii_case("deny") {
            Ok(Self::Deny)
        } else {
            Err(UnknownValue::new("action", s))
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side reported a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Reporter {
    /// The source's node (egress policy).
    #[default]
    Src,
    /// The destination's node (ingress policy).
    Dst,
}

impl Reporter {
    /// `src` or `dst`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Src => "src",
            Self::Dst => "dst",
        }
    }
}

impl FromStr for Reporter {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("src") {
            Ok(Self::Src)
        } else if s.eq_ignore_ascii_case("dst") {
            Ok(Self::Dst)
        } else {
            Err(UnknownValue::new("reporter", s))
        }
    }
}

impl fmt::Display for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The action a policy hit recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HitAction {
    /// The rule allowed.
    Allow,
    /// The rule (or the end of the tier) denied.
    Deny,
    /// The rule passed to the next tier.
    Pass,
}

impl HitAction {
    /// `allow`, `deny` or `pass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::Pass => "pass",
        }
    }
}

impl FromStr for HitAction {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("allow") {
            Ok(Self::Allow)
        } else if s.eq_ignore_ascii_case("deny") {
            Ok(Self::Deny)
        } else if s.eq_ignore_ascii_case("pass") {
            Ok(Self::Pass)
        } else {
            Err(UnknownValue::new("policy action", s))
        }
    }
}

impl fmt::Display for HitAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of policy a hit names (Felix's `felix/types/policy_id.go` short names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    /// `np`: projectcalico.org/v3 NetworkPolicy.
    CalicoNetworkPolicy,
    /// `gnp`: GlobalNetworkPolicy.
    GlobalNetworkPolicy,
    /// `snp`: StagedNetworkPolicy.
    StagedNetworkPolicy,
    /// `sgnp`: StagedGlobalNetworkPolicy.
    StagedGlobalNetworkPolicy,
    /// `sknp`: StagedKubernetesNetworkPolicy.
    StagedKubernetesNetworkPolicy,
    /// `knp`: Kubernetes NetworkPolicy.
    KubernetesNetworkPolicy,
    /// `kcnp`: Kubernetes ClusterNetworkPolicy.
    ClusterNetworkPolicy,
    /// `pro`: a profile.
    Profile,
    /// An end-of-tier record with no policy (`eot`).
    EndOfTier,
}

impl PolicyKind {
    /// Felix's short name (`np`, `gnp`, ...; `eot` for [`PolicyKind::EndOfTier`]).
    pub fn short(self) -> &'static str {
        match self {
            Self::CalicoNetworkPolicy => "np",
            Self::GlobalNetworkPolicy => "gnp",
            Self::StagedNetworkPolicy => "snp",
            Self::StagedGlobalNetworkPolicy => "sgnp",
            Self::StagedKubernetesNetworkPolicy => "sknp",
            Self::KubernetesNetworkPolicy => "knp",
            Self::ClusterNetworkPolicy => "kcnp",
            Self::Profile => "pro",
            Self::EndOfTier => "eot",
        }
    }

    /// Goldmane's enum name (`CalicoNetworkPolicy`, ...).
    pub fn long(self) -> &'static str {
        match self {
            Self::CalicoNetworkPolicy => "CalicoNetworkPolicy",
            Self::GlobalNetworkPolicy => "GlobalNetworkPolicy",
            Self::StagedNetworkPolicy => "StagedNetworkPolicy",
            Self::StagedGlobalNetworkPolicy => "StagedGlobalNetworkPolicy",
            Self::StagedKubernetesNetworkPolicy => "StagedKubernetesNetworkPolicy",
            Self::KubernetesNetworkPolicy => "NetworkPolicy",
            Self::ClusterNetworkPolicy => "ClusterNetworkPolicy",
            Self::Profile => "Profile",
            Self::EndOfTier => "EndOfTier",
        }
    }

    /// Whether the kind is namespaced (its hits carry a namespace).
    pub fn is_namespaced(self) -> bool {
        matches!(
            self,
            Self::CalicoNetworkPolicy
                | Self::StagedNetworkPolicy
                | Self::StagedKubernetesNetworkPolicy
                | Self::KubernetesNetworkPolicy
        )
    }

    /// Whether the kind is a staged (audit-mode) kind.
    pub fn is_staged(self) -> bool {
        matches!(
            self,
            Self::StagedNetworkPolicy
                | Self::StagedGlobalNetworkPolicy
                | Self::StagedKubernetesNetworkPolicy
        )
    }
}

impl FromStr for PolicyKind {
    type Err = UnknownValue;
    /// Accepts the short names and Goldmane's long names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "np" | "CalicoNetworkPolicy" => Self::CalicoNetworkPolicy,
            "gnp" | "GlobalNetworkPolicy" => Self::GlobalNetworkPolicy,
            "snp" | "StagedNetworkPolicy" => Self::StagedNetworkPolicy,
            "sgnp" | "StagedGlobalNetworkPolicy" => Self::StagedGlobalNetworkPolicy,
            "sknp" | "StagedKubernetesNetworkPolicy" => Self::StagedKubernetesNetworkPolicy,
            "knp" | "NetworkPolicy" | "KubernetesNetworkPolicy" => Self::KubernetesNetworkPolicy,
            "kcnp"
            | "ClusterNetworkPolicy"
            | "AdminNetworkPolicy"
            | "BaselineAdminNetworkPolicy" => Self::ClusterNetworkPolicy,
            "pro" | "Profile" => Self::Profile,
            "eot" | "EndOfTier" => Self::EndOfTier,
            _ => return Err(UnknownValue::new("policy kind", s)),
        })
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// One step of a policy trace, in Felix's string form
/// `<index>|<tier>|<kind>:<ns>/<name>|<action>|<rule>` (namespaced) or
/// `<index>|<tier>|<kind>:<name>|<action>|<rule>` (global).
///
/// ```
/// use tabby_flowlog::{HitAction, PolicyHit, PolicyKind};
/// let hit: PolicyHit = "1|default|np:shop/allow-dns|allow|0".parse().unwrap();
/// assert_eq!(hit.kind, PolicyKind::CalicoNetworkPolicy);
/// assert_eq!(hit.namespace.as_deref(), Some("shop"));
/// assert_eq!(hit.action, HitAction::Allow);
/// assert_eq!(hit.to_string(), "1|default|np:shop/allow-dns|allow|0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyHit {
    /// Position along the evaluation path.
    pub index: u32,
    /// The tier.
    pub tier: String,
    /// The policy kind.
    pub kind: PolicyKind,
    /// The namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// The policy (or profile) name; `__NO_MATCH__` for a bare end-of-tier record.
    pub name: String,
    /// What the hit did.
    pub action: HitAction,
    /// The rule index, `-1` for the end of the tier.
    pub rule_index: i32,
}

impl fmt::Display for PolicyHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}|{}:", self.index, self.tier, self.kind.short())?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        write!(f, "{}|{}|{}", self.name, self.action, self.rule_index)
    }
}

impl PolicyHit {
    /// Checks that the hit can be written in the string form and read back unchanged:
    /// a non-empty tier and name, no `|` anywhere, no `/` in the namespace, and no `/`
    /// in the name of a hit without a namespace.
    pub fn check(&self) -> Result<(), PolicyHitError> {
        let bad = |what: &str| Err(PolicyHitError::new(format!("policy hit with {what}")));
        if self.tier.is_empty() {
            return bad("an empty tier");
        }
        if self.name.is_empty() {
            return bad("an empty name");
        }
        let ns = self.namespace.as_deref().unwrap_or("");
        if self.tier.contains('|') || self.name.contains('|') || ns.contains('|') {
            return bad("a `|` in its tier, namespace or name");
        }
        if ns.contains('/') || (self.namespace.is_none() && self.name.contains('/')) {
            return bad("a `/` in its namespace, or in the name of a global policy");
        }
        if self.namespace.as_deref() == Some("") {
            return bad("an empty namespace");
        }
        if self.kind == PolicyKind::Profile
            && self.tier == "__PROFILE__"
            && self.namespace.is_some()
        {
            return bad("a namespace on a profile");
        }
        Ok(())
    }
}

/// An error parsing a policy hit string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PolicyHitError {
    message: String,
}

impl PolicyHitError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
    /// The message (lowercase, no full stop).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl FromStr for PolicyHit {
    type Err = PolicyHitError;

    /// Parses the current form, the legacy (≤ v3.31) forms
    /// `<i>|<tier>|<tier>.<name>|<action>|<rule>`, `<i>|<tier>|<ns>/<tier>.<name>|...`,
    /// `<i>|<tier>|<ns>/knp.default.<name>|...` and `staged:` prefixes, and the bare end-of-tier
    /// form `<tier>|eot:__NO_MATCH__|<action>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            PolicyHitError::new(format!(
                "invalid policy hit `{}`",
                s.chars().take(200).collect::<String>()
            ))
        };
        let parts: Vec<&str> = s.split('|').collect();
        if let [tier, name, action] = parts.as_slice() {
            // `<tier>|eot:__NO_MATCH__|<action>` (no index, no rule).
            let rest = name.strip_prefix("eot:").ok_or_else(bad)?;
            return Ok(Self {
                index: 0,
                tier: (*tier).to_string(),
                kind: PolicyKind::EndOfTier,
                namespace: None,
                name: rest.to_string(),
                action: action.parse().map_err(|_| bad())?,
                rule_index: -1,
            });
        }
        let [index, tier, name, action, rule] = parts.as_slice() else {
            return Err(bad());
        };
        let index: u32 = index.parse().map_err(|_| bad())?;
        let action: HitAction = action.parse().map_err(|_| bad())?;
        let rule_index: i32 = rule.parse().map_err(|_| bad())?;
        if tier.is_empty() || name.is_empty() {
            return Err(bad());
        }
        let (kind, namespace, name) = parse_policy_name(tier, name).ok_or_else(bad)?;
        Ok(Self {
            index,
            tier: (*tier).to_string(),
            kind,
            namespace,
            name,
            action,
            rule_index,
        })
    }
}

/// Splits the third field of a hit string into kind, namespace and name.
fn parse_policy_name(tier: &str, field: &str) -> Option<(PolicyKind, Option<String>, String)> {
    if let Some((kind, rest)) = field.split_once(':') {
        if let Ok(kind) = kind.parse::<PolicyKind>() {
            if kind == PolicyKind::Profile && tier == "__PROFILE__" {
                return nonempty(rest).map(|n| (kind, None, n.to_string()));
            }
            return match rest.split_once('/') {
                Some((ns, name)) => {
                    nonempty(name).map(|n| (kind, Some(ns.to_string()), n.to_string()))
                }
                None => nonempty(rest).map(|n| (kind, None, n.to_string())),
            };
        }
    }
    // Legacy forms.
    let (staged, field) = match field.strip_prefix("staged:") {
        Some(f) => (true, f),
        None => (false, field),
    };
    if tier == "__PROFILE__" {
        let name = field.strip_prefix("__PROFILE__.").unwrap_or(field);
        return nonempty(name).map(|n| (PolicyKind::Profile, None, n.to_string()));
    }
    let (ns, name) = match field.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, field),
    };
    // `staged:` can also follow the namespace: `<ns>/staged:<tier>.<name>`.
    let (staged, name) = match name.strip_prefix("staged:") {
        Some(n) => (true, n),
        None => (staged, name),
    };
    let (kind, name) = if let Some(n) = name.strip_prefix("knp.default.") {
        let kind = if staged {
            PolicyKind::StagedKubernetesNetworkPolicy
        } else {
            PolicyKind::KubernetesNetworkPolicy
        };
        (kind, n)
    } else {
        let n = name
            .strip_prefix(tier)
            .and_then(|n| n.strip_prefix('.'))
            .unwrap_or(name);
        let kind = match (ns.is_some(), staged) {
            (true, false) => PolicyKind::CalicoNetworkPolicy,
            (true, true) => PolicyKind::StagedNetworkPolicy,
            (false, false) => PolicyKind::GlobalNetworkPolicy,
            (false, true) => PolicyKind::StagedGlobalNetworkPolicy,
        };
        (kind, n)
    };
    nonempty(name).map(|n| (kind, ns.map(str::to_string), n.to_string()))
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// A string that is not one of the values a field accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

impl UnknownValue {
    pub(crate) fn new_pub(what: &'static str, value: &str) -> Self {
        Self::new(what, value)
    }

    fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.chars().take(100).collect(),
        }
    }
    /// Which field (`action`, `reporter`, ...).
    pub fn what(&self) -> &'static str {
        self.what
    }
    /// The value given.
    pub fn value(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::type_complexity, reason = "a table of cases")]
    fn policy_hit_forms() {
        // (input, kind, namespace, name, tier, action, rule, canonical)
        let cases: &[(
            &str,
            PolicyKind,
            Option<&str>,
            &str,
            &str,
            HitAction,
            i32,
            &str,
        )] = &[
            (
                "0|tier1|snp:namespace1/policy1|allow|0",
                PolicyKind::StagedNetworkPolicy,
                Some("namespace1"),
                "policy1",
                "tier1",
                HitAction::Allow,
                0,
                "0|tier1|snp:namespace1/policy1|allow|0",
            ),
            (
                "1|tier2|np:namespace2/policy2|allow|1",
                PolicyKind::CalicoNetworkPolicy,
                Some("namespace2"),
                "policy2",
                "tier2",
                HitAction::Allow,
                1,
                "1|tier2|np:namespace2/policy2|allow|1",
            ),
            (
                "2|default|gnp:default-deny|deny|-1",
                PolicyKind::GlobalNetworkPolicy,
                None,
                "default-deny",
                "default",
                HitAction::Deny,
                -1,
                "2|default|gnp:default-deny|deny|-1",
            ),
            (
                "0|security|gnp:security.quarantine|pass|3",
                PolicyKind::GlobalNetworkPolicy,
                None,
                "security.quarantine",
                "security",
                HitAction::Pass,
                3,
                "0|security|gnp:security.quarantine|pass|3",
            ),
            (
                "3|__PROFILE__|pro:kns.shop|allow|0",
                PolicyKind::Profile,
                None,
                "kns.shop",
                "__PROFILE__",
                HitAction::Allow,
                0,
                "3|__PROFILE__|pro:kns.shop|allow|0",
            ),
            (
                "0|default|knp:shop/deny-all|deny|-1",
                PolicyKind::KubernetesNetworkPolicy,
                Some("shop"),
                "deny-all",
                "default",
                HitAction::Deny,
                -1,
                "0|default|knp:shop/deny-all|deny|-1",
            ),
            // legacy forms
            (
                "0|tier1|tier1.policy1|allow|0",
                PolicyKind::GlobalNetworkPolicy,
                None,
                "policy1",
                "tier1",
                HitAction::Allow,
                0,
                "0|tier1|gnp:policy1|allow|0",
            ),
            (
                "1|tier1|ns1/tier1.policy1|deny|2",
                PolicyKind::CalicoNetworkPolicy,
                Some("ns1"),
                "policy1",
                "tier1",
                HitAction::Deny,
                2,
                "1|tier1|np:ns1/policy1|deny|2",
            ),
            (
                "0|default|ns1/knp.default.web|allow|0",
                PolicyKind::KubernetesNetworkPolicy,
                Some("ns1"),
                "web",
                "default",
                HitAction::Allow,
                0,
                "0|default|knp:ns1/web|allow|0",
            ),
            (
                "0|tier1|staged:tier1.p|deny|-1",
                PolicyKind::StagedGlobalNetworkPolicy,
                None,
                "p",
                "tier1",
                HitAction::Deny,
                -1,
                "0|tier1|sgnp:p|deny|-1",
            ),
            (
                "0|tier1|ns1/staged:tier1.p|deny|1",
                PolicyKind::StagedNetworkPolicy,
                Some("ns1"),
                "p",
                "tier1",
                HitAction::Deny,
                1,
                "0|tier1|snp:ns1/p|deny|1",
            ),
            (
                "0|__PROFILE__|__PROFILE__.kns.ns1|allow|0",
                PolicyKind::Profile,
                None,
                "kns.ns1",
                "__PROFILE__",
                HitAction::Allow,
                0,
                "0|__PROFILE__|pro:kns.ns1|allow|0",
            ),
            (
                "tier1|eot:__NO_MATCH__|pass",
                PolicyKind::EndOfTier,
                None,
                "__NO_MATCH__",
                "tier1",
                HitAction::Pass,
                -1,
                "0|tier1|eot:__NO_MATCH__|pass|-1",
            ),
        ];
        for (input, kind, ns, name, tier, action, rule, canon) in cases {
            let hit: PolicyHit = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(hit.kind, *kind, "{input}");
            assert_eq!(hit.namespace.as_deref(), *ns, "{input}");
            assert_eq!(hit.name, *name, "{input}");
            assert_eq!(hit.tier, *tier, "{input}");
            assert_eq!(hit.action, *action, "{input}");
            assert_eq!(hit.rule_index, *rule, "{input}");
            assert_eq!(hit.to_string(), *canon, "{input}");
            // the canonical form re-parses to the same hit
            let again: PolicyHit = canon.parse().unwrap();
            assert_eq!(again.to_string(), *canon);
        }
    }

    #[test]
    fn policy_hit_rejects() {
        for bad in [
            "",
            "x",
            "a|b|c|d",
            "x|tier|np:ns/p|allow|0",
            "0|tier|np:ns/p|maybe|0",
            "0|tier|np:ns/p|allow|zero",
            "0||np:ns/p|allow|0",
            "0|tier|np:ns/|allow|0",
            "0|tier|np:ns/p|allow|0|extra",
            "tier|np:x|allow",
        ] {
            assert!(
                bad.parse::<PolicyHit>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn enums_parse_both_spellings() {
        assert_eq!("WorkloadEndpoint".parse(), Ok(EndpointKind::Workload));
        assert_eq!("wep".parse(), Ok(EndpointKind::Workload));
        assert_eq!("Network".parse(), Ok(EndpointKind::Net));
        assert_eq!("HostEndpoint".parse(), Ok(EndpointKind::Host));
        assert_eq!("NetworkSet".parse(), Ok(EndpointKind::NetworkSet));
        assert!("bogus".parse::<EndpointKind>().is_err());
        assert_eq!("Allow".parse(), Ok(Action::Allow));
        assert_eq!("deny".parse(), Ok(Action::Deny));
        assert!("pass".parse::<Action>().is_err());
        assert_eq!("Dst".parse(), Ok(Reporter::Dst));
        assert_eq!(
            "NetworkPolicy".parse(),
            Ok(PolicyKind::KubernetesNetworkPolicy)
        );
    }
}
