//! A generator of realistic flow logs for benchmarks and tests.
//!
//! Given a cluster's workloads (namespace, name, labels, address), host addresses and a
//! DNS server, it produces the traffic mix a cluster really has: DNS lookups from every
//! pod, calls between workloads (mostly inside a namespace, on the ports they serve),
//! egress to the internet, clients from outside, kubelet probes from hosts. Records are
//! reported by the source for egress and by the destination for ingress, as Felix does,
//! and some workload names are aggregated (`app-3-*`) as Calico aggregates them.
//! Deterministic for a seed.

use std::net::{IpAddr, Ipv4Addr};

use crate::jsonl::set_label;
use crate::record::{Action, EndpointKind, FlowEndpoint, FlowRecord, Reporter};

/// One workload the generator can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenWorkload {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Labels.
    pub labels: Vec<(String, String)>,
    /// Address.
    pub ip: IpAddr,
    /// TCP ports it serves.
    pub ports: Vec<u16>,
}

/// A small deterministic PRNG (splitmix64).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// Produces records one by one (see the module docs).
#[derive(Debug, Clone)]
pub struct FlowGenerator {
    workloads: Vec<GenWorkload>,
    by_namespace: Vec<(usize, usize)>,
    hosts: Vec<IpAddr>,
    dns: Vec<usize>,
    rng: Rng,
    time: u64,
    count: u64,
}

impl FlowGenerator {
    /// A generator over `workloads` (sorted by namespace internally), `hosts` (node
    /// addresses, for probes) and `dns` (indices into `workloads` of the DNS servers;
    /// if empty, DNS goes to 10.96.0.10 as an outside address).
    pub fn new(
        mut workloads: Vec<GenWorkload>,
        hosts: Vec<IpAddr>,
        dns_names: &[(&str, &str)],
        seed: u64,
    ) -> Self {
        workloads.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let mut by_namespace = Vec::new();
        let mut start = 0;
        for i in 1..=workloads.len() {
            let boundary = match (workloads.get(i), workloads.get(start)) {
                (Some(a), Some(b)) => a.namespace != b.namespace,
                _ => true,
            };
            if boundary {
                by_namespace.push((start, i));
                start = i;
            }
        }
        let dns = workloads
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                dns_names
                    .iter()
                    .any(|(ns, prefix)| w.namespace == *ns && w.name.starts_with(prefix))
            })
            .map(|(i, _)| i)
            .collect();
        Self {
            workloads,
            by_namespace,
            hosts,
            dns,
            rng: Rng(seed),
            time: 1_700_000_000,
            count: 0,
        }
    }

    fn set_workload(ep: &mut FlowEndpoint, w: &GenWorkload, aggregate: bool) {
        ep.kind = EndpointKind::Workload;
        let ns = ep.namespace.get_or_insert_with(String::new);
        ns.clear();
        ns.push_str(&w.namespace);
        let name = ep.name.get_or_insert_with(String::new);
        name.clear();
        if aggregate {
            // `app-3-17` → `app-3-*`: the pod's generateName prefix plus `*`.
            let cut = w.name.rfind('-').map_or(w.name.len(), |i| i + 1);
            name.push_str(w.name.get(..cut).unwrap_or(&w.name));
            name.push('*');
        } else {
            name.push_str(&w.name);
        }
        for (i, (k, v)) in w.labels.iter().enumerate() {
            set_label(&mut ep.labels, i, k, v);
        }
        ep.labels.truncate(w.labels.len());
        ep.ip = Some(w.ip);
    }

    fn set_net(ep: &mut FlowEndpoint, ip: IpAddr, kind: EndpointKind) {
        ep.kind = kind;
        ep.namespace = None;
        let name = ep.name.get_or_insert_with(String::new);
        name.clear();
        name.push_str(match kind {
            EndpointKind::Net => {
                if is_private(ip) {
                    "pvt"
                } else {
                    "pub"
                }
            }
            _ => "node",
        });
        ep.labels.clear();
        ep.ip = Some(ip);
    }

    /// Fills `rec` with the next record, reusing its buffers.
    pub fn next_into(&mut self, rec: &mut FlowRecord) {
        self.count += 1;
        if self.count.is_multiple_of(64) {
            self.time += 1;
        }
        rec.start_time = self.time;
        rec.end_time = self.time + 300;
        rec.action = Action::Allow;
        rec.policies.clear();
        rec.pending_policies.clear();
        rec.staged_action = None;
        rec.domain = None;
        rec.src_port = None;
        rec.num_flows = 1 + self.rng.below(4) as u64;
        let pk = 1 + self.rng.below(40) as u64;
        rec.packets_in = pk;
        rec.packets_out = pk + 1;
        rec.bytes_in = pk * 120;
        rec.bytes_out = pk * 300;
        let n = self.workloads.len();
        let aggregate = self.rng.pct(30);
        let roll = self.rng.below(100);
        let src_i = self.rng.below(n);
        let Some(src) = self.workloads.get(src_i) else {
            // No workloads: outside-only traffic.
            Self::set_net(
                &mut rec.src,
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                EndpointKind::Net,
            );
            Self::set_net(
                &mut rec.dst,
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
                EndpointKind::Net,
            );
            rec.protocol = 6;
            rec.dst_port = Some(443);
            rec.reporter = Reporter::Src;
            return;
        };
        if roll < 30 {
            // DNS from a pod.
            Self::set_workload(&mut rec.src, src, aggregate);
            let dns = self
                .dns
                .get(self.rng.below(self.dns.len()))
                .and_then(|i| self.workloads.get(*i));
            match dns {
                Some(d) => Self::set_workload(&mut rec.dst, d, aggregate),
                None => Self::set_net(
                    &mut rec.dst,
                    IpAddr::V4(Ipv4Addr::new(10, 96, 0, 10)),
                    EndpointKind::Net,
                ),
            }
            rec.protocol = if self.rng.pct(90) { 17 } else { 6 };
            rec.dst_port = Some(53);
            rec.reporter = if self.rng.pct(50) {
                Reporter::Src
            } else {
                Reporter::Dst
            };
        } else if roll < 75 {
            // Workload to workload, mostly in the same namespace.
            let dst_i = if self.rng.pct(80) {
                let (a, b) = self
                    .by_namespace
                    .iter()
                    .copied()
                    .find(|(a, b)| (*a..*b).contains(&src_i))
                    .unwrap_or((0, n));
                a + self.rng.below(b - a)
            } else {
                self.rng.below(n)
            };
            let dst = self.workloads.get(dst_i).unwrap_or(src);
            Self::set_workload(&mut rec.src, src, aggregate);
            Self::set_workload(&mut rec.dst, dst, aggregate);
            rec.protocol = 6;
            let port = dst
                .ports
                .get(self.rng.below(dst.ports.len()))
                .copied()
                .unwrap_or(8080);
            rec.dst_port = Some(port);
            rec.reporter = if self.rng.pct(50) {
                Reporter::Src
            } else {
                Reporter::Dst
            };
        } else if roll < 87 {
            // Egress to the internet.
            Self::set_workload(&mut rec.src, src, aggregate);
            let ip = IpAddr::V4(Ipv4Addr::new(
                [203, 198, 8, 151]
                    .get(self.rng.below(4))
                    .copied()
                    .unwrap_or(203),
                [0, 51, 8, 101].get(self.rng.below(4)).copied().unwrap_or(0),
                self.rng.below(256) as u8,
                1 + self.rng.below(250) as u8,
            ));
            Self::set_net(&mut rec.dst, ip, EndpointKind::Net);
            rec.protocol = 6;
            rec.dst_port = Some(443);
            rec.reporter = Reporter::Src;
        } else if roll < 95 {
            // A client from outside.
            let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + self.rng.below(250) as u8));
            Self::set_net(&mut rec.src, ip, EndpointKind::Net);
            Self::set_workload(&mut rec.dst, src, aggregate);
            rec.protocol = 6;
            rec.dst_port = Some(src.ports.first().copied().unwrap_or(8080));
            rec.reporter = Reporter::Dst;
        } else {
            // A probe from a host.
            let host = self
                .hosts
                .get(self.rng.below(self.hosts.len()))
                .copied()
                .unwrap_or(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
            Self::set_net(&mut rec.src, host, EndpointKind::Host);
            Self::set_workload(&mut rec.dst, src, aggregate);
            rec.protocol = 6;
            rec.dst_port = Some(src.ports.first().copied().unwrap_or(8080));
            rec.reporter = Reporter::Dst;
        }
    }
}

impl Iterator for FlowGenerator {
    type Item = FlowRecord;
    fn next(&mut self) -> Option<FlowRecord> {
        let mut rec = FlowRecord::default();
        self.next_into(&mut rec);
        Some(rec)
    }
}

/// RFC 1918 / unique-local / loopback / link-local: Calico's `pvt`.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback() || (v.segments().first().copied().unwrap_or(0) & 0xfe00) == 0xfc00
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wl(ns: &str, name: &str, ip: [u8; 4]) -> GenWorkload {
        GenWorkload {
            namespace: ns.into(),
            name: name.into(),
            labels: vec![("app".into(), name.split('-').next().unwrap_or("x").into())],
            ip: IpAddr::from(ip),
            ports: vec![8080],
        }
    }

    #[test]
    fn deterministic_and_varied() {
        let ws = vec![
            wl("a", "web-1", [10, 0, 0, 1]),
            wl("a", "api-2", [10, 0, 0, 2]),
            wl("kube-system", "coredns-1", [10, 0, 0, 3]),
        ];
        let g = FlowGenerator::new(
            ws.clone(),
            vec![IpAddr::from([10, 1, 0, 1])],
            &[("kube-system", "coredns")],
            7,
        );
        let a: Vec<FlowRecord> = g.clone().take(500).collect();
        let b: Vec<FlowRecord> = g.take(500).collect();
        assert_eq!(a, b);
        assert!(a
            .iter()
            .any(|r| r.dst_port == Some(53) && r.dst.namespace.as_deref() == Some("kube-system")));
        assert!(a
            .iter()
            .any(|r| r.dst.kind == EndpointKind::Net && r.dst.name.as_deref() == Some("pub")));
        assert!(a.iter().any(|r| r.src.kind == EndpointKind::Host));
        assert!(a
            .iter()
            .any(|r| r.src.name.as_deref().is_some_and(|n| n.ends_with('*'))));
        assert!(a.iter().all(|r| r.num_flows >= 1));
    }
}
