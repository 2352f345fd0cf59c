//! Streaming aggregation: records in, distinct endpoints and distinct flows out.
//!
//! A flow log repeats the same few thousand conversations millions of times. Each
//! record is reduced to a [`Tuple`] of two interned endpoints, a protocol and a
//! destination port; everything later works on the distinct tuples. Interning hashes
//! borrowed fields, so a record that repeats known endpoints allocates nothing.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use tabby_flowlog::{Action, EndpointKind, FlowEndpoint, FlowRecord};

/// Most distinct endpoints kept (bounded memory on hostile input).
pub const MAX_ENDPOINTS: usize = 4_000_000;
/// Most distinct flows kept.
pub const MAX_TUPLES: usize = 16_000_000;

/// One distinct endpoint of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub kind: EndpointKind,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub labels: Vec<(String, String)>,
    pub ip: Option<IpAddr>,
}

impl Observed {
    fn from(ep: &FlowEndpoint) -> Self {
        Self {
            kind: ep.kind,
            namespace: ep.namespace.clone(),
            name: ep.name.clone(),
            labels: ep.labels.clone(),
            ip: ep.ip,
        }
    }

    fn same(&self, ep: &FlowEndpoint) -> bool {
        self.kind == ep.kind
            && self.ip == ep.ip
            && self.namespace == ep.namespace
            && self.name == ep.name
    }

    /// `ns/name (ip)`, `name (ip)` or the address: for messages.
    pub fn describe(&self) -> String {
        let mut s = match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => format!("{ns}/{n}"),
            (None, Some(n)) => n.clone(),
            (Some(ns), None) => format!("{ns}/?"),
            (None, None) => String::new(),
        };
        if let Some(ip) = self.ip {
            if s.is_empty() {
                s = ip.to_string();
            } else {
                s.push_str(&format!(" ({ip})"));
            }
        }
        if s.is_empty() {
            s = self.kind.as_str().to_owned();
        }
        s
    }
}

/// A distinct flow: source and destination endpoint ids, protocol, destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub src: u32,
    pub dst: u32,
    pub protocol: u8,
    /// 0 for protocols without ports.
    pub port: u16,
}

/// Counts of what was read and what was left out, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Records given.
    pub records: u64,
    /// Records used for the recommendation.
    pub used: u64,
    /// Denied records left out (see `include_denied`).
    pub denied: u64,
    /// TCP/UDP/SCTP records without a destination port (no port to allow).
    pub no_port: u64,
    /// Records past the memory limits.
    pub over_limit: u64,
}

/// Distinct endpoints and flows of a log.
#[derive(Debug, Default)]
pub struct Observations {
    pub endpoints: Vec<Observed>,
    index: HashMap<u64, Vec<u32>>,
    hasher: std::collections::hash_map::RandomState,
    /// Distinct flows and how many records each had.
    pub tuples: HashMap<Tuple, u64>,
    pub counts: Counts,
}

fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

impl Observations {
    fn intern(&mut self, ep: &FlowEndpoint) -> Option<u32> {
        let h = self
            .hasher
            .hash_one((ep.kind, ep.namespace.as_deref(), ep.name.as_deref(), ep.ip));
        if let Some(ids) = self.index.get(&h) {
            for &id in ids {
                if self.endpoints.get(id as usize).is_some_and(|o| o.same(ep)) {
                    return Some(id);
                }
            }
        }
        if self.endpoints.len() >= MAX_ENDPOINTS {
            return None;
        }
        let id = u32::try_from(self.endpoints.len()).ok()?;
        self.endpoints.push(Observed::from(ep));
        self.index.entry(h).or_default().push(id);
        Some(id)
    }

    /// Adds one record.
    pub fn add(&mut self, rec: &FlowRecord, include_denied: bool) {
        self.counts.records += 1;
        if rec.action == Action::Deny && !include_denied {
            self.counts.denied += 1;
            return;
        }
        let port = if has_ports(rec.protocol) {
            match rec.dst_port {
                Some(p) if p > 0 => p,
                _ => {
                    self.counts.no_port += 1;
                    return;
                }
            }
        } else {
            0
        };
        let (Some(src), Some(dst)) = (self.intern(&rec.src), self.intern(&rec.dst)) else {
            self.counts.over_limit += 1;
            return;
        };
        let t = Tuple {
            src,
            dst,
            protocol: rec.protocol,
            port,
        };
        if let Some(n) = self.tuples.get_mut(&t) {
            *n += rec.num_flows.max(1);
        } else if self.tuples.len() < MAX_TUPLES {
            self.tuples.insert(t, rec.num_flows.max(1));
        } else {
            self.counts.over_limit += 1;
            return;
        }
        self.counts.used += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ns: &str, name: &str, ip: &str) -> FlowEndpoint {
        FlowEndpoint {
            kind: EndpointKind::Workload,
            namespace: Some(ns.into()),
            name: Some(name.into()),
            labels: vec![("app".into(), name.into())],
            ip: ip.parse().ok(),
        }
    }

    #[test]
    fn aggregates_and_counts() {
        let mut o = Observations::default();
        let rec = FlowRecord {
            src: ep("a", "x", "10.0.0.1"),
            dst: ep("a", "y", "10.0.0.2"),
            protocol: 6,
            dst_port: Some(80),
            ..FlowRecord::default()
        };
        o.add(&rec, false);
        o.add(&rec, false);
        o.add(
            &FlowRecord {
                action: Action::Deny,
                ..rec.clone()
            },
            false,
        );
        o.add(
            &FlowRecord {
                dst_port: None,
                ..rec.clone()
            },
            false,
        );
        o.add(
            &FlowRecord {
                protocol: 1,
                dst_port: None,
                ..rec.clone()
            },
            false,
        );
        assert_eq!(o.endpoints.len(), 2);
        assert_eq!(o.tuples.len(), 2);
        assert_eq!(
            o.counts,
            Counts {
                records: 5,
                used: 3,
                denied: 1,
                no_port: 1,
                over_limit: 0
            }
        );
        // Denied records are kept when asked.
        o.add(
            &FlowRecord {
                action: Action::Deny,
                dst_port: Some(81),
                ..rec
            },
            true,
        );
        assert_eq!(o.tuples.len(), 3);
    }
}
