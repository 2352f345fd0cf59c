//! Flow logs for a cluster: the generator of `tabby-flowlog` fed with an engine's workloads.

use std::net::IpAddr;

use tabby_eval::{EndpointKind, Engine};
use tabby_flowlog::gen::{FlowGenerator, GenWorkload};

/// A generator of realistic traffic between the workloads of `engine`'s cluster (DNS to
/// pods whose names start with `coredns`/`kube-dns` in kube-system, probes from host
/// endpoint addresses).
pub fn generator_for(engine: &Engine, seed: u64) -> FlowGenerator {
    let own_labels: std::collections::HashMap<(&str, &str), &tabby_model::LabelMap> = engine
        .cluster()
        .workloads
        .iter()
        .map(|w| ((&*w.namespace, &*w.name), &w.labels))
        .collect();
    let mut workloads = Vec::new();
    let mut hosts: Vec<IpAddr> = Vec::new();
    for e in engine.endpoints() {
        match e.kind {
            EndpointKind::Workload => {
                let (Some(ns), Some(ip)) = (&e.namespace, e.first_ip()) else {
                    continue;
                };
                let labels = own_labels
                    .get(&(&**ns, &*e.name))
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut ports: Vec<u16> = e.ports.iter().map(|p| p.port).collect();
                ports.sort_unstable();
                ports.dedup();
                workloads.push(GenWorkload {
                    namespace: ns.to_string(),
                    name: e.name.to_string(),
                    labels,
                    ip,
                    ports,
                });
            }
            EndpointKind::Host => hosts.extend(e.first_ip()),
            EndpointKind::NetworkSet => {}
        }
    }
    FlowGenerator::new(
        workloads,
        hosts,
        &[("kube-system", "coredns"), ("kube-system", "kube-dns")],
        seed,
    )
}
