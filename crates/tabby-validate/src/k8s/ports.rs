//! Port grouping shared by every Kubernetes policy kind, as Calico's converters do it
//! (`k8sRuleToCalico`, `unpackCNPProtocols`, `SimplifyPorts` in
//! `libcalico-go/lib/backend/k8s/conversion/`).
//!
//! A Kubernetes rule lists `(protocol, port)` entries; Calico needs one protocol per
//! rule, so the entries are grouped by protocol and each group becomes one Calico rule
//! (per peer). Groups are ordered by the protocol's *name* (`SCTP` < `TCP` < `UDP`),
//! because Calico sorts the map keys as strings.

use tabby_model::{PortRange, PortSpec, Protocol};

/// One validated port entry of a Kubernetes rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortEntry {
    pub protocol: Protocol,
    /// `None`: every port of `protocol`.
    pub port: Option<PortSpec>,
}

/// The protocol groups of one Kubernetes rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortGroups {
    /// No port entries: one rule with no protocol and no ports.
    Any,
    /// One group per protocol, sorted by protocol name. An empty port list means
    /// every port of that protocol.
    ByProtocol(Vec<(Protocol, Vec<PortSpec>)>),
}

impl PortGroups {
    /// The `(protocol, ports)` pairs one Calico rule each is made from.
    pub(crate) fn rules(&self) -> Vec<(Option<Protocol>, Vec<PortSpec>)> {
        match self {
            PortGroups::Any => vec![(None, Vec::new())],
            PortGroups::ByProtocol(groups) => groups
                .iter()
                .map(|(p, ports)| (Some(*p), ports.clone()))
                .collect(),
        }
    }
}

/// Groups port entries per protocol. An entry without a port opens its protocol to
/// every port and absorbs the other entries of that protocol (before or after it).
/// Each group is then simplified with [`simplify_ports`].
pub(crate) fn group_ports(entries: &[PortEntry]) -> PortGroups {
    if entries.is_empty() {
        return PortGroups::Any;
    }
    // `None` = every port of the protocol.
    let mut groups: Vec<(Protocol, Option<Vec<PortSpec>>)> = Vec::new();
    for e in entries {
        let slot = match groups.iter_mut().find(|(p, _)| *p == e.protocol) {
            Some((_, slot)) => slot,
            None => {
                groups.push((e.protocol, Some(Vec::new())));
                match groups.last_mut() {
                    Some((_, slot)) => slot,
                    None => continue,
                }
            }
        };
        match (&e.port, slot.as_mut()) {
            (None, _) => *slot = None,
            (Some(p), Some(list)) => list.push(p.clone()),
            (Some(_), None) => {}
        }
    }
    groups.sort_by_key(|(p, _)| protocol_sort_key(*p));
    PortGroups::ByProtocol(
        groups
            .into_iter()
            .map(|(p, ports)| (p, simplify_ports(ports.unwrap_or_default())))
            .collect(),
    )
}

/// Calico sorts protocol groups by `numorstring.Protocol.String()`: the name as
/// written for named protocols, the decimal number otherwise.
fn protocol_sort_key(p: Protocol) -> String {
    p.to_string()
}

/// Calico's `SimplifyPorts`: the smallest list of ranges covering the numeric ports,
/// with named ports first (in input order) and ranges in ascending order. Lists with
/// at most one numeric port are returned unchanged (so their order is kept).
pub(crate) fn simplify_ports(ports: Vec<PortSpec>) -> Vec<PortSpec> {
    if ports.len() <= 1 {
        return ports;
    }
    let mut named = Vec::new();
    let mut ranges = Vec::new();
    // Calico expands ranges into single ports and counts them.
    let mut numeric_count: u64 = 0;
    for p in &ports {
        match p {
            PortSpec::Named(_) => named.push(p.clone()),
            PortSpec::Range(r) => {
                numeric_count += u64::from(r.max.saturating_sub(r.min)) + 1;
                ranges.push(*r);
            }
        }
    }
    if numeric_count <= 1 {
        return ports;
    }
    ranges.sort();
    let mut merged: Vec<PortRange> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(cur) if u32::from(r.min) <= u32::from(cur.max) + 1 => {
                cur.max = cur.max.max(r.max);
            }
            _ => merged.push(r),
        }
    }
    named.extend(merged.into_iter().map(PortSpec::Range));
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: u16) -> PortSpec {
        PortSpec::Range(PortRange::single(p))
    }
    fn r(a: u16, b: u16) -> PortSpec {
        PortSpec::Range(PortRange { min: a, max: b })
    }
    fn named(s: &str) -> PortSpec {
        PortSpec::Named(s.into())
    }

    #[test]
    fn simplify_table() {
        let cases: Vec<(Vec<PortSpec>, Vec<PortSpec>, &str)> = vec![
            (vec![], vec![], "empty"),
            (vec![n(80)], vec![n(80)], "single"),
            (
                vec![n(81), n(80), n(82), n(9090), named("foo")],
                vec![named("foo"), r(80, 82), n(9090)],
                "calico doc example",
            ),
            (
                vec![n(80), named("foo")],
                vec![n(80), named("foo")],
                "one numeric port keeps order",
            ),
            (vec![n(80), n(80)], vec![n(80)], "duplicates merge"),
            (
                vec![r(1, 10), r(5, 20), n(21)],
                vec![r(1, 21)],
                "overlap and adjacency",
            ),
            (
                vec![r(1, 65535), n(80)],
                vec![r(1, 65535)],
                "full range absorbs",
            ),
            (vec![n(443), n(80)], vec![n(80), n(443)], "sorted ascending"),
        ];
        for (input, want, what) in cases {
            assert_eq!(simplify_ports(input), want, "{what}");
        }
    }

    #[test]
    fn grouping_table() {
        let e = |p: Protocol, port: Option<PortSpec>| PortEntry { protocol: p, port };
        assert_eq!(group_ports(&[]), PortGroups::Any);
        // Sorted by name: SCTP < TCP < UDP.
        let g = group_ports(&[
            e(Protocol::UDP, Some(n(53))),
            e(Protocol::TCP, Some(n(80))),
            e(Protocol::SCTP, Some(n(9))),
            e(Protocol::TCP, Some(n(81))),
        ]);
        assert_eq!(
            g,
            PortGroups::ByProtocol(vec![
                (Protocol::SCTP, vec![n(9)]),
                (Protocol::TCP, vec![r(80, 81)]),
                (Protocol::UDP, vec![n(53)]),
            ])
        );
        // A port-less entry opens the protocol, before or after other entries.
        for entries in [
            vec![e(Protocol::TCP, Some(n(80))), e(Protocol::TCP, None)],
            vec![e(Protocol::TCP, None), e(Protocol::TCP, Some(n(80)))],
        ] {
            assert_eq!(
                group_ports(&entries),
                PortGroups::ByProtocol(vec![(Protocol::TCP, vec![])])
            );
        }
    }
}
