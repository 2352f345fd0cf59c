//! Finding flow endpoints from CLI text: `namespace/name`, `host:NAME`, or an address.

use std::net::IpAddr;

use tabby_diag::did_you_mean;

use crate::endpoints::{EndpointId, EndpointKind};
use crate::engine::{Engine, Peer};

impl Engine {
    /// Resolves `namespace/name` (a pod, or a controller whose pod template tabby
    /// loaded), `host:NAME` (a host endpoint), or any IP address (Calico or not).
    /// Errors are user-facing and suggest near matches.
    pub fn endpoint_ref(&self, text: &str) -> Result<Peer, String> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<IpAddr>() {
            let endpoint = self.endpoint_at(ip);
            let note = match endpoint.and_then(|id| self.endpoint(id)) {
                Some(ep) => Some(format!(
                    "{} is {} `{}`",
                    ip,
                    ep.kind.as_str(),
                    ep.display_name()
                )),
                None => Some(format!(
                    "{ip} is not a Calico endpoint; only its peer's policy applies"
                )),
            };
            return Ok(Peer {
                ip,
                endpoint,
                label: ip.to_string(),
                note,
            });
        }
        if let Some(name) = text.strip_prefix("host:") {
            let Some(id) = self.hep_by_name.get(name).copied() else {
                let names = self.hep_by_name.keys().map(|k| &**k);
                return Err(match did_you_mean(name, names) {
                    Some(s) => format!("no host endpoint named `{name}`; did you mean `host:{s}`?"),
                    None if self.hep_by_name.is_empty() => {
                        format!("no host endpoint named `{name}`; the input has no host endpoints")
                    }
                    None => format!("no host endpoint named `{name}`"),
                });
            };
            let ep = self
                .endpoint(id)
                .ok_or_else(|| format!("no host endpoint named `{name}`"))?;
            let ip = ep.first_ip().ok_or_else(|| {
                format!("host endpoint `{name}` has no expectedIPs, so it has no address to trace")
            })?;
            return Ok(Peer {
                ip,
                endpoint: Some(id),
                label: format!("host:{name}"),
                note: None,
            });
        }
        if let Some((ns, name)) = text.split_once('/') {
            if let Some(id) = self
                .workload_by_name
                .get(&(ns.into(), name.into()))
                .copied()
            {
                let ep = self
                    .endpoint(id)
                    .ok_or_else(|| format!("no workload `{text}`"))?;
                let ip = ep.first_ip().ok_or_else(|| {
                    format!("workload `{text}` has no address and none could be assigned")
                })?;
                let note = ep
                    .ip_assigned_by_tabby
                    .then(|| format!("`{text}` has no address in the input; tabby assigned {ip}"));
                return Ok(Peer {
                    ip,
                    endpoint: Some(id),
                    label: text.to_owned(),
                    note,
                });
            }
            if let Some(h) = self
                .host_network_pods()
                .iter()
                .find(|h| &*h.namespace == ns && &*h.name == name)
            {
                let ip = h.ip.ok_or_else(|| {
                    format!("`{text}` uses the host network and its node's address is unknown (add a host endpoint with expectedIPs for its node)")
                })?;
                return Ok(Peer {
                    ip,
                    endpoint: self.endpoint_at(ip),
                    label: text.to_owned(),
                    note: Some(format!(
                        "`{text}` uses the host network: its traffic is host traffic{}",
                        if h.ip_from_node {
                            " (address taken from its node's host endpoint)"
                        } else {
                            ""
                        }
                    )),
                });
            }
            if let Some(peer) = self.controller_pod(ns, name) {
                return Ok(peer);
            }
            let all: Vec<String> = self
                .endpoints()
                .iter()
                .filter(|e| e.kind == EndpointKind::Workload)
                .map(|e| e.display_name())
                .collect();
            let mut msg = format!("no workload `{text}`");
            if let Some(s) = did_you_mean(text, all.iter().map(String::as_str)) {
                msg.push_str(&format!("; did you mean `{s}`?"));
            } else {
                let same_ns: Vec<&str> = all
                    .iter()
                    .filter(|n| n.split_once('/').is_some_and(|(n, _)| n == ns))
                    .map(String::as_str)
                    .take(5)
                    .collect();
                if !same_ns.is_empty() {
                    msg.push_str(&format!(
                        "; workloads in `{ns}` include {}",
                        same_ns.join(", ")
                    ));
                } else {
                    msg.push_str(&format!("; no workloads in namespace `{ns}`"));
                }
            }
            return Err(msg);
        }
        let same_name: Vec<String> = self
            .endpoints()
            .iter()
            .filter(|e| e.kind == EndpointKind::Workload && &*e.name == text)
            .map(|e| e.display_name())
            .take(3)
            .collect();
        let mut msg = format!("`{text}` is not an IP address, `namespace/name` or `host:NAME`");
        if !same_name.is_empty() {
            msg.push_str(&format!("; did you mean `{}`?", same_name.join("` or `")));
        } else if self.hep_by_name.contains_key(text) {
            msg.push_str(&format!("; did you mean `host:{text}`?"));
        }
        Err(msg)
    }
}

impl Engine {
    /// `ns/name` where `name` is a controller whose pods were loaded (so its template
    /// was not): the pods are named `name-<suffix>` by their controller. Picks the
    /// first by name and says so.
    fn controller_pod(&self, ns: &str, name: &str) -> Option<Peer> {
        let prefix = format!("{name}-");
        let mut pods: Vec<(EndpointId, &crate::endpoints::Endpoint)> = self
            .endpoints()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((EndpointId(u32::try_from(i).ok()?), e)))
            .filter(|(_, e)| {
                e.kind == EndpointKind::Workload
                    && e.namespace.as_deref() == Some(ns)
                    && e.name.starts_with(&prefix)
            })
            .collect();
        pods.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        let &(id, first) = pods.first()?;
        let ip = first.first_ip()?;
        let others = pods.len() - 1;
        let note = format!(
            "`{ns}/{name}` is not a pod; tracing its pod `{}`{}",
            first.display_name(),
            if others == 0 {
                String::new()
            } else {
                format!(" (one of {} pods named `{prefix}*`)", pods.len())
            }
        );
        Some(Peer {
            ip,
            endpoint: Some(id),
            label: first.display_name(),
            note: Some(note),
        })
    }
}
