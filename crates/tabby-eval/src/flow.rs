//! Layer 6 input: one connection attempt.

use std::net::IpAddr;

use tabby_model::{IpVersion, Name, Protocol};

/// A new connection from `src_ip:src_port` to `dst_ip:dst_port`.
///
/// Ports are ignored unless the protocol carries ports (TCP, UDP, SCTP). A source
/// port of 0 means "unknown": it matches no `source.ports` and every `source.notPorts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Flow {
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub protocol: Protocol,
    pub src_port: u16,
    pub dst_port: u16,
    /// ICMP type and optional code.
    pub icmp: Option<(u8, Option<u8>)>,
    /// The DNS name the client resolved to reach `dst_ip` (lower-case, no trailing dot).
    pub domain: Option<Name>,
}

impl Flow {
    /// A flow of any protocol with no ports.
    pub fn new(src: IpAddr, dst: IpAddr, protocol: Protocol) -> Self {
        Self {
            src_ip: src,
            dst_ip: dst,
            protocol,
            src_port: 0,
            dst_port: 0,
            icmp: None,
            domain: None,
        }
    }

    pub fn tcp(src: IpAddr, dst: IpAddr, port: u16) -> Self {
        Self {
            dst_port: port,
            ..Self::new(src, dst, Protocol::TCP)
        }
    }

    pub fn udp(src: IpAddr, dst: IpAddr, port: u16) -> Self {
        Self {
            dst_port: port,
            ..Self::new(src, dst, Protocol::UDP)
        }
    }

    pub fn sctp(src: IpAddr, dst: IpAddr, port: u16) -> Self {
        Self {
            dst_port: port,
            ..Self::new(src, dst, Protocol::SCTP)
        }
    }

    /// ICMP (IPv4) or ICMPv6 (IPv6), chosen by the source address family.
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: Option<u8>) -> Self {
        let proto = if src.is_ipv6() {
            Protocol::ICMPV6
        } else {
            Protocol::ICMP
        };
        Self {
            icmp: Some((icmp_type, code)),
            ..Self::new(src, dst, proto)
        }
    }

    /// A flow from CLI-style parts: `protocol` is a name in any letter case
    /// (`tcp`, `UDP`, `icmpv6`, `sctp`, `udplite`) or a number 1–255.
    /// Errors are user-facing.
    pub fn from_parts(
        src: IpAddr,
        dst: IpAddr,
        protocol: &str,
        dst_port: Option<u16>,
    ) -> Result<Flow, String> {
        let p = protocol.trim();
        let proto = Protocol::NAMES
            .iter()
            .find(|n| n.eq_ignore_ascii_case(p))
            .and_then(|n| Protocol::from_name(n))
            .or_else(|| p.parse::<u8>().ok().filter(|n| *n > 0).map(Protocol))
            .ok_or_else(|| {
                format!(
                    "unknown protocol `{p}`; use one of {} or a number 1-255",
                    Protocol::NAMES.join(", ")
                )
            })?;
        if src.is_ipv6() != dst.is_ipv6() {
            return Err(format!("`{src}` and `{dst}` are of different IP families"));
        }
        if proto.has_ports() {
            let port =
                dst_port.ok_or_else(|| format!("protocol {proto} needs a destination port"))?;
            if port == 0 {
                return Err("port 0 is not a valid destination port".to_owned());
            }
            Ok(Self {
                dst_port: port,
                ..Self::new(src, dst, proto)
            })
        } else if let Some(port) = dst_port {
            Err(format!("protocol {proto} has no ports (got port {port})"))
        } else {
            Ok(Self::new(src, dst, proto))
        }
    }

    pub fn with_src_port(mut self, port: u16) -> Self {
        self.src_port = port;
        self
    }

    /// Attaches the DNS name used to reach the destination.
    pub fn with_domain(mut self, domain: &str) -> Self {
        self.domain = Some(domain.trim_end_matches('.').to_ascii_lowercase().into());
        self
    }

    /// The packet family (taken from the source address).
    pub fn ip_version(&self) -> IpVersion {
        IpVersion::of(self.src_ip)
    }

    /// Ports are meaningful for this protocol.
    pub fn has_ports(&self) -> bool {
        self.protocol.has_ports()
    }
}

/// Does `domain` match `pattern` (exact, or `*` standing for one or more labels)?
pub fn domain_matches(pattern: &str, domain: &str) -> bool {
    fn go(p: Option<&str>, d: Option<&str>) -> bool {
        let Some(p) = p else { return d.is_none() };
        let (ph, pt) = match p.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (p, None),
        };
        let Some(mut d) = d else { return false };
        if ph == "*" {
            // Consume one or more labels of `d`.
            loop {
                let rest = d.split_once('.').map(|(_, t)| t);
                if go(pt, rest) {
                    return true;
                }
                match rest {
                    Some(r) => d = r,
                    None => return false,
                }
            }
        }
        let (dh, dt) = match d.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (d, None),
        };
        ph == dh && go(pt, dt)
    }
    go(Some(pattern), Some(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parts() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(
            Flow::from_parts(a, b, "tcp", Some(80)).unwrap(),
            Flow::tcp(a, b, 80)
        );
        assert_eq!(
            Flow::from_parts(a, b, "17", Some(53)).unwrap(),
            Flow::udp(a, b, 53)
        );
        assert_eq!(
            Flow::from_parts(a, b, "ICMP", None).unwrap().protocol,
            Protocol::ICMP
        );
        assert!(Flow::from_parts(a, b, "tcpp", Some(1))
            .unwrap_err()
            .contains("unknown protocol"));
        assert!(Flow::from_parts(a, b, "tcp", None)
            .unwrap_err()
            .contains("needs a destination port"));
        assert!(Flow::from_parts(a, b, "icmp", Some(1))
            .unwrap_err()
            .contains("has no ports"));
        assert!(Flow::from_parts(a, v6, "tcp", Some(1)).is_err());
        assert!(Flow::from_parts(a, b, "0", None).is_err());
    }

    #[test]
    fn domains() {
        for (p, d, want) in [
            ("google.com", "google.com", true),
            ("google.com", "www.google.com", false),
            ("*.google.com", "www.google.com", true),
            ("*.google.com", "www.ipv6.google.com", true),
            ("*.google.com", "google.com", false),
            ("www.*.com", "www.a.b.com", true),
            ("www.*.com", "www.com", false),
            ("*", "a.b", true),
            ("a.*", "a", false),
        ] {
            assert_eq!(domain_matches(p, d), want, "{p} vs {d}");
        }
    }
}
