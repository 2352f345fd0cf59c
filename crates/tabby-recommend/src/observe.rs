//! Streaming aggregation: records in, distinct endpoints and distinct flows out.
//!
//! A flow log repeats the same few thousand conversations millions of times. Each
//! record is reduced to a [`Tuple`] of two interned endpoints, a protocol and a
//! destination port; everything later works on the distinct tuples. Interning hashes
//! borrowed fields, so a record that repeats known endpoints allocates nothing.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use std::net::IpAddr;
use tabby_replay::hash::FoldBuild;

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
        self.same_parts(ep.kind, ep.namespace.as_deref(), ep.name.as_deref(), ep.ip)
    }

    fn same_parts(
        &self,
        kind: EndpointKind,
        namespace: Option<&str>,
        name: Option<&str>,
        ip: Option<IpAddr>,
    ) -> bool {
        self.kind == kind
            && self.ip == ip
            && self.namespace.as_deref() == namespace
            && self.name.as_deref() == name
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

/// For keys that already are hashes of [`FoldBuild`].
#[derive(Debug, Clone, Copy, Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

type IdentityBuild = std::hash::BuildHasherDefault<Identity>;

/// No next endpoint with the same hash.
const END: u32 = u32::MAX;

/// Distinct endpoints and flows of a log.
#[derive(Debug, Default)]
pub struct Observations {
    pub endpoints: Vec<Observed>,
    /// Endpoint hash → the first endpoint with that hash; `chain[id]` is the next one.
    index: HashMap<u64, u32, IdentityBuild>,
    chain: Vec<u32>,
    hasher: FoldBuild,
    /// Distinct flows and how many records each had.
    pub tuples: HashMap<Tuple, u64, FoldBuild>,
    pub counts: Counts,
}

fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

impl Observations {
    fn intern(&mut self, ep: &FlowEndpoint) -> Option<u32> {
        let key = (ep.kind, ep.namespace.as_deref(), ep.name.as_deref(), ep.ip);
        self.intern_with(key, |o| o.same(ep), || Observed::from(ep))
    }

    /// The id of the endpoint with `key` (`same` tells whether a kept one is it), added
    /// with `make` when new. `None` past [`MAX_ENDPOINTS`].
    fn intern_with(
        &mut self,
        key: (EndpointKind, Option<&str>, Option<&str>, Option<IpAddr>),
        same: impl Fn(&Observed) -> bool,
        make: impl FnOnce() -> Observed,
    ) -> Option<u32> {
        let h = self.hasher.hash_one(key);
        let head = self.index.get(&h).copied().unwrap_or(END);
        let mut id = head;
        while id != END {
            if self.endpoints.get(id as usize).is_some_and(&same) {
                return Some(id);
            }
            id = self.chain.get(id as usize).copied().unwrap_or(END);
        }
        if self.endpoints.len() >= MAX_ENDPOINTS {
            return None;
        }
        let id = u32::try_from(self.endpoints.len()).ok()?;
        self.endpoints.push(make());
        // New endpoints go to the front of their hash's chain.
        self.chain.push(head);
        self.index.insert(h, id);
        Some(id)
    }

    /// Adds the observations of another part of the log (another thread's). The result is
    /// the same as reading both parts into one, except that past the memory limits which
    /// endpoints and flows are kept depends on how the log was split.
    pub fn merge(&mut self, other: Observations) {
        let ids: Vec<Option<u32>> = other
            .endpoints
            .into_iter()
            .map(|o| {
                let key = (o.kind, o.namespace.as_deref(), o.name.as_deref(), o.ip);
                self.intern_with(
                    key,
                    |x| x.same_parts(key.0, key.1, key.2, key.3),
                    || o.clone(),
                )
            })
            .collect();
        let mut lost = 0u64;
        for (t, n) in other.tuples {
            let (Some(src), Some(dst)) = (
                ids.get(t.src as usize).copied().flatten(),
                ids.get(t.dst as usize).copied().flatten(),
            ) else {
                lost += 1;
                continue;
            };
            let t = Tuple { src, dst, ..t };
            if let Some(m) = self.tuples.get_mut(&t) {
                *m += n;
            } else if self.tuples.len() < MAX_TUPLES {
                self.tuples.insert(t, n);
            } else {
                lost += 1;
            }
        }
        let c = other.counts;
        self.counts.records += c.records;
        self.counts.used += c.used.saturating_sub(lost);
        self.counts.denied += c.denied;
        self.counts.no_port += c.no_port;
        self.counts.over_limit += c.over_limit + lost.min(c.used);
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
