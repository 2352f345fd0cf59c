//! Small value types shared by rules and endpoints.

use std::fmt;

use crate::Name;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Action {
    /// Accept for this endpoint and direction; later policies, tiers and profiles are skipped.
    Allow,
    /// Drop.
    Deny,
    /// Write a log line and continue with the next rule; never a verdict.
    Log,
    /// Leave this tier and continue with the next tier that applies (or the profiles).
    Pass,
}

impl Action {
    pub const ALL: [&'static str; 4] = ["Allow", "Deny", "Log", "Pass"];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Log => "Log",
            Action::Pass => "Pass",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Traffic direction relative to the endpoint a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IP protocol by number. Calico accepts names (`TCP`, `UDP`, `ICMP`, `ICMPv6`,
/// `SCTP`, `UDPLite`) or numbers 1–255; both lower to the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Protocol(pub u8);

impl Protocol {
    pub const ICMP: Protocol = Protocol(1);
    pub const TCP: Protocol = Protocol(6);
    pub const UDP: Protocol = Protocol(17);
    pub const ICMPV6: Protocol = Protocol(58);
    pub const SCTP: Protocol = Protocol(132);
    pub const UDPLITE: Protocol = Protocol(136);

    /// The protocol names Calico accepts, case-sensitively.
    pub const NAMES: [&'static str; 6] = ["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"];

    /// Parses a Calico protocol name (case-sensitive, as Calico's validator is).
    pub fn from_name(name: &str) -> Option<Protocol> {
        Some(match name {
            "TCP" => Self::TCP,
            "UDP" => Self::UDP,
            "ICMP" => Self::ICMP,
            "ICMPv6" => Self::ICMPV6,
            "SCTP" => Self::SCTP,
            "UDPLite" => Self::UDPLITE,
            _ => return None,
        })
    }

    /// The canonical name for well-known protocols.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::TCP => "TCP",
            Self::UDP => "UDP",
            Self::ICMP => "ICMP",
            Self::ICMPV6 => "ICMPv6",
            Self::SCTP => "SCTP",
            Self::UDPLITE => "UDPLite",
            _ => return None,
        })
    }

    /// TCP, UDP and SCTP carry ports Calico can match on.
    pub fn has_ports(self) -> bool {
        matches!(self, Self::TCP | Self::UDP | Self::SCTP)
    }

    pub fn is_icmp(self) -> bool {
        matches!(self, Self::ICMP | Self::ICMPV6)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

/// IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum IpVersion {
    V4,
    V6,
}

impl IpVersion {
    pub fn of(addr: std::net::IpAddr) -> Self {
        if addr.is_ipv4() {
            IpVersion::V4
        } else {
            IpVersion::V6
        }
    }
}

/// An inclusive port range; a single port has `min == max`. Never contains 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
}

impl PortRange {
    pub fn single(port: u16) -> Self {
        Self {
            min: port,
            max: port,
        }
    }

    pub fn contains(self, port: u16) -> bool {
        self.min <= port && port <= self.max
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}:{}", self.min, self.max)
        }
    }
}

/// One entry of a rule's `ports`/`notPorts`: numbers and ranges, or a named port
/// that endpoints declare (a container port name, a host endpoint port name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PortSpec {
    Range(PortRange),
    Named(Name),
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Range(r) => r.fmt(f),
            PortSpec::Named(n) => f.write_str(n),
        }
    }
}

/// ICMP type and optional code (`icmp` / `notICMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct IcmpMatch {
    pub icmp_type: u8,
    pub code: Option<u8>,
}
