//! Stable diagnostic codes of the validator, documented with a bad and a fixed
//! example each in `docs/diagnostics-validate.md`.
//!
//! Ranges: `E02xx` policies, rules and object metadata; `E03xx` network sets and
//! endpoint kinds; `E04xx` tiers; `W02xx` warnings; `N02xx` notes. Codes are never
//! reused: a retired check keeps its number reserved.

// --- selectors (shared by every kind) ---

/// A selector does not parse.
pub const SELECTOR_SYNTAX: &str = "E0201";
/// A selector is longer than 1024 characters.
pub const SELECTOR_TOO_LONG: &str = "E0202";
/// `global()` where it is not allowed, or combined with other expressions.
pub const GLOBAL_SELECTOR: &str = "E0203";

// --- object metadata and field shapes ---

/// `metadata.name` missing, too long, or not in the kind's name format.
pub const NAME_INVALID: &str = "E0204";
/// A label key or value (in `metadata.labels`, `labelsToApply`, ...) is invalid.
pub const LABEL_INVALID: &str = "E0205";
/// An annotation key is invalid or annotations are too large.
pub const ANNOTATION_INVALID: &str = "E0206";
/// A field has the wrong type (a list where a string is expected, ...).
pub const WRONG_TYPE: &str = "E0207";
/// A field Calico does not know (only reported when the decoder did not already).
pub const UNKNOWN_FIELD: &str = "E0208";
/// `metadata.namespace` on a cluster-scoped kind.
pub const NAMESPACE_NOT_ALLOWED: &str = "E0209";

// --- policy spec ---

/// `spec.types`: unknown value, duplicate, or too many items.
pub const TYPES_INVALID: &str = "E0210";
/// `spec.order` is not a finite number.
pub const ORDER_INVALID: &str = "E0211";
/// `doNotTrack` / `preDNAT` / `applyOnForward` combination Calico rejects.
pub const HOST_POLICY_FLAGS: &str = "E0212";
/// `stagedAction` unknown, or other spec fields set with `stagedAction: Delete`.
pub const STAGED_ACTION: &str = "E0213";
/// `performanceHints` unknown value or duplicate.
pub const PERFORMANCE_HINTS: &str = "E0214";
/// `spec.tier` is not a valid tier name, or a legacy `tier.name` prefix disagrees with it.
pub const POLICY_TIER: &str = "E0215";
/// Too many rules, nets, ports, methods or paths.
pub const TOO_MANY: &str = "E0216";

// --- rules ---

/// Rule `action` missing or unknown.
pub const ACTION_INVALID: &str = "E0220";
/// `protocol` / `notProtocol` invalid.
pub const PROTOCOL_INVALID: &str = "E0221";
/// `ipVersion` not 4 or 6, or contradicting ICMP/ICMPv6.
pub const IP_VERSION: &str = "E0222";
/// `icmp` / `notICMP` type or code out of range, code without type, or no ICMP protocol.
pub const ICMP_INVALID: &str = "E0223";
/// Ports given without a protocol that has ports.
pub const PORTS_NEED_PROTOCOL: &str = "E0224";
/// A port, port range or port name is invalid.
pub const PORT_INVALID: &str = "E0225";
/// A rule network is not a valid, strictly masked CIDR.
pub const CIDR_INVALID: &str = "E0226";
/// A rule mixes IPv4 and IPv6 networks, or its networks contradict `ipVersion`.
pub const CIDR_FAMILY: &str = "E0227";
/// `notNets` holds a catch-all network, so the rule matches nothing.
pub const NOT_NETS_CATCH_ALL: &str = "E0228";
/// `services` misused (no name, combined with other matches, wrong side, no namespace).
pub const SERVICES_INVALID: &str = "E0229";
/// `http` misused (not Allow, egress, non-TCP protocol, bad method/path).
pub const HTTP_INVALID: &str = "E0230";
/// `serviceAccounts` invalid.
pub const SERVICE_ACCOUNTS_INVALID: &str = "E0231";
/// `domains` outside an egress rule's destination, or an empty domain.
pub const DOMAINS_INVALID: &str = "E0232";

// --- network sets and endpoints ---

/// A network-set `nets` entry is not a valid CIDR or address.
pub const NETSET_CIDR: &str = "E0301";
/// A label Calico reserves (`projectcalico.org/namespace`) on a network set.
pub const RESERVED_LABEL: &str = "E0302";
/// Host endpoint without `node`.
pub const HEP_NODE: &str = "E0303";
/// Host endpoint with neither `interfaceName` nor `expectedIPs`, or a bad interface name.
pub const HEP_INTERFACE: &str = "E0304";
/// An endpoint address (`expectedIPs`, WEP gateways, IP NATs) is invalid.
pub const ENDPOINT_IP: &str = "E0305";
/// An endpoint port (`name`, `protocol`, `port`) is invalid.
pub const ENDPOINT_PORT: &str = "E0306";
/// A WorkloadEndpoint `ipNetworks` entry is invalid or not a single address.
pub const WEP_IP_NETWORKS: &str = "E0307";
/// A profile reference or other name-valued endpoint field is invalid.
pub const ENDPOINT_NAME_REF: &str = "E0308";
/// A GlobalThreatFeed field is invalid.
pub const THREAT_FEED_INVALID: &str = "E0309";

// --- tiers ---

/// Tier name too long or not a DNS label.
pub const TIER_NAME: &str = "E0401";
/// Tier `defaultAction` not `Deny` or `Pass`.
pub const TIER_DEFAULT_ACTION: &str = "E0402";
/// A built-in tier declared with the wrong order or default action.
pub const BUILTIN_TIER: &str = "E0403";
/// A policy names a tier no Tier resource declares.
pub const TIER_NOT_FOUND: &str = "E0404";

// --- warnings ---

/// A Calico Enterprise field (`destination.domains`, `allowedEgressDomains`).
pub const ENTERPRISE_FIELD: &str = "W0201";
/// A Calico Enterprise kind (GlobalThreatFeed).
pub const ENTERPRISE_KIND: &str = "W0202";
/// The same object is defined twice; the later definition wins.
pub const DUPLICATE_OBJECT: &str = "W0203";
/// A `projectcalico.org` kind that looks like a misspelt Calico kind; skipped.
pub const MISSPELT_KIND: &str = "W0204";
/// A Calico kind under an `apiVersion` Calico does not serve; skipped.
pub const UNKNOWN_API_VERSION: &str = "W0205";

// --- notes ---

/// A kind tabby does not analyse was skipped.
pub const UNKNOWN_KIND: &str = "N0201";
/// A legacy `tier.name` policy name was read as `name` in `tier`.
pub const LEGACY_TIER_PREFIX: &str = "N0202";

/// The codes that mean "this object was skipped, not checked" (one per object, at
/// its `kind` or `apiVersion`): commands count such objects apart from those checked.
pub const SKIPPED: &[&str] = &[
    UNKNOWN_KIND,
    MISSPELT_KIND,
    UNKNOWN_API_VERSION,
    crate::k8s::codes::MISSPELT_KIND,
];

/// Every code with a one-line summary, in order (used by the docs test).
pub const ALL: &[(&str, &str)] = &[
    (SELECTOR_SYNTAX, "selector does not parse"),
    (SELECTOR_TOO_LONG, "selector longer than 1024 characters"),
    (GLOBAL_SELECTOR, "`global()` not allowed here"),
    (NAME_INVALID, "invalid `metadata.name`"),
    (LABEL_INVALID, "invalid label key or value"),
    (ANNOTATION_INVALID, "invalid annotation key or size"),
    (WRONG_TYPE, "field has the wrong type"),
    (UNKNOWN_FIELD, "unknown field"),
    (NAMESPACE_NOT_ALLOWED, "namespace on a cluster-scoped kind"),
    (TYPES_INVALID, "invalid `types`"),
    (ORDER_INVALID, "invalid `order`"),
    (
        HOST_POLICY_FLAGS,
        "invalid doNotTrack/preDNAT/applyOnForward combination",
    ),
    (
        STAGED_ACTION,
        "invalid `stagedAction` or Delete with spec fields",
    ),
    (PERFORMANCE_HINTS, "invalid `performanceHints`"),
    (POLICY_TIER, "invalid `spec.tier` or legacy name prefix"),
    (TOO_MANY, "too many items"),
    (ACTION_INVALID, "missing or unknown rule action"),
    (PROTOCOL_INVALID, "invalid protocol"),
    (IP_VERSION, "invalid or contradicting `ipVersion`"),
    (ICMP_INVALID, "invalid ICMP match"),
    (
        PORTS_NEED_PROTOCOL,
        "ports without a protocol that has ports",
    ),
    (PORT_INVALID, "invalid port"),
    (CIDR_INVALID, "invalid rule CIDR"),
    (CIDR_FAMILY, "mixed or contradicting IP families"),
    (NOT_NETS_CATCH_ALL, "catch-all network in `notNets`"),
    (SERVICES_INVALID, "invalid `services` match"),
    (HTTP_INVALID, "invalid `http` match"),
    (SERVICE_ACCOUNTS_INVALID, "invalid `serviceAccounts` match"),
    (DOMAINS_INVALID, "misplaced or empty `domains`"),
    (NETSET_CIDR, "invalid network-set CIDR"),
    (RESERVED_LABEL, "reserved label on a network set"),
    (HEP_NODE, "host endpoint without node"),
    (HEP_INTERFACE, "host endpoint interface problem"),
    (ENDPOINT_IP, "invalid endpoint address"),
    (ENDPOINT_PORT, "invalid endpoint port"),
    (WEP_IP_NETWORKS, "invalid workload endpoint `ipNetworks`"),
    (ENDPOINT_NAME_REF, "invalid name reference"),
    (THREAT_FEED_INVALID, "invalid GlobalThreatFeed field"),
    (TIER_NAME, "invalid tier name"),
    (TIER_DEFAULT_ACTION, "invalid tier `defaultAction`"),
    (
        BUILTIN_TIER,
        "built-in tier with wrong order or default action",
    ),
    (TIER_NOT_FOUND, "policy in an undeclared tier"),
    (ENTERPRISE_FIELD, "Calico Enterprise field"),
    (ENTERPRISE_KIND, "Calico Enterprise kind"),
    (DUPLICATE_OBJECT, "object defined twice"),
    (MISSPELT_KIND, "misspelt Calico kind, skipped"),
    (
        UNKNOWN_API_VERSION,
        "Calico kind with an unknown apiVersion, skipped",
    ),
    (UNKNOWN_KIND, "kind not analysed, skipped"),
    (LEGACY_TIER_PREFIX, "legacy `tier.name` policy name"),
];
