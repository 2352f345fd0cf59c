//! The self-proof: the rendered YAML, read back the way `tabby validate` reads any
//! input, must allow every flow it was made from.
//!
//! The proof cluster is the user's cluster (or, without one, a cluster of the
//! endpoints the log names) with its own policies *replaced* by the recommended set:
//! the claim is "this set, on its own, allows the observed traffic". A flow side is
//! checked where the recommendation governs it: the egress of a source and the
//! ingress of a destination that are workloads in a namespace with a recommended
//! default deny. Other sides (hosts, system pods, outside addresses) are not what
//! the recommendation changes.
//!
//! Endpoint mapping: records name endpoints by address when they can; otherwise a
//! workload is found by `namespace/name` (or an aggregated `prefix-*` name and its
//! labels) in the cluster, or added to the proof cluster with the record's labels
//! and an address the engine assigns. (`tabby-replay`'s `Directory` maps records onto
//! an existing engine by the same rules; recommend needs more: the cluster labels of a
//! record's pod for classification, and endpoints added when the cluster lacks them, so
//! it keeps this small mapping of its own.)

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use tabby_eval::{EndpointKind as EvalKind, Engine, EngineOptions, Flow, SideVerdict};
use tabby_flowlog::EndpointKind;
use tabby_model::{Cluster, LabelMap, NetworkSet, Protocol};

use crate::observe::{Observations, Tuple};
use crate::plan::{Classes, Peer};

/// The outcome of the proof.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Proof {
    /// Distinct flows replayed.
    pub checked: usize,
    /// Distinct flows that could not be replayed (an endpoint with no address, or
    /// source and destination of different IP families).
    pub skipped: usize,
    /// Problems with the rendered YAML itself (it did not load or validate).
    pub invalid: Vec<String>,
    /// Observed flows the recommended set does not allow.
    pub failures: Vec<ProofFailure>,
}

impl Proof {
    /// Every replayed flow was allowed and the output is valid.
    pub fn passed(&self) -> bool {
        self.invalid.is_empty() && self.failures.is_empty()
    }
}

/// One observed flow the recommended set denies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProofFailure {
    pub src: String,
    pub dst: String,
    pub protocol: u8,
    pub port: u16,
    /// `egress` or `ingress`.
    pub side: &'static str,
    /// What denied it.
    pub denied_by: String,
}

impl std::fmt::Display for ProofFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = Protocol(self.protocol);
        if self.port == 0 {
            write!(f, "{} -> {} {proto}", self.src, self.dst)?;
        } else {
            write!(f, "{} -> {} {}/{proto}", self.src, self.dst, self.port)?;
        }
        write!(f, ": denied at {} by {}", self.side, self.denied_by)
    }
}

/// Loads and validates `yaml`; returns the policies or the rendered errors.
pub(crate) fn load_policies(yaml: &str) -> Result<Cluster, Vec<String>> {
    let loaded = tabby_load::load_str(
        "recommended.yaml",
        yaml,
        &tabby_load::LoadOptions::default(),
    );
    let validated = tabby_validate::validate(&loaded.objects);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .chain(validated.diagnostics.iter())
        .filter(|d| d.is_error())
        .map(tabby_diag::render_plain)
        .collect();
    if errors.is_empty() {
        Ok(validated.cluster)
    } else {
        Err(errors)
    }
}

const PUBLIC_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
const PRIVATE_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 255, 255, 254));
const PUBLIC_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0x4860, 0, 0, 0, 0, 0, 1));
const PRIVATE_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));

/// Builds the proof cluster and engine, then replays every distinct flow.
pub(crate) fn prove(
    yaml: &str,
    obs: &Observations,
    cl: &Classes,
    cluster: Option<&Cluster>,
    deny_namespaces: &[String],
) -> Proof {
    let mut proof = Proof::default();
    let recommended = match load_policies(yaml) {
        Ok(c) => c,
        Err(e) => {
            proof.invalid = e;
            return proof;
        }
    };
    let mut base = match cluster {
        Some(c) => c.clone(),
        None => recommended.clone(),
    };
    base.policies = recommended.policies;

    // Endpoints the cluster does not know: add them.
    let known_ips: HashSet<IpAddr> = base
        .workloads
        .iter()
        .flat_map(|w| w.ips.iter().copied())
        .chain(
            base.network_sets
                .iter()
                .flat_map(|s| s.nets.iter().map(IpNet::addr)),
        )
        .collect();
    let mut names: HashSet<(String, String)> = base
        .workloads
        .iter()
        .map(|w| (w.namespace.to_string(), w.name.to_string()))
        .collect();
    // Per endpoint: the `ns/name` to look its address up by, when it has none.
    let mut lookup: Vec<Option<String>> = vec![None; obs.endpoints.len()];
    for (i, o) in obs.endpoints.iter().enumerate() {
        let Some(Peer::Class(c)) = cl.peers.get(i).copied() else {
            continue;
        };
        let Some(class) = cl.classes.get(c as usize) else {
            continue;
        };
        if o.ip.is_some_and(|ip| known_ips.contains(&ip)) {
            continue;
        }
        let labels: LabelMap = o
            .labels
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .chain(
                class
                    .ident
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.as_str().into())),
            )
            .collect();
        match o.kind {
            EndpointKind::Workload => {
                let ns = class.namespace.clone().unwrap_or_default();
                let name = o.name.clone().unwrap_or_else(|| format!("endpoint-{i}"));
                if o.ip.is_none() && names.contains(&(ns.clone(), name.clone())) {
                    // Known by name: its address comes from the cluster.
                    if let Some(l) = lookup.get_mut(i) {
                        *l = Some(format!("{ns}/{name}"));
                    }
                    continue;
                }
                let mut unique = name.clone();
                if names.contains(&(ns.clone(), unique.clone())) {
                    unique = format!("{name}-{i}");
                }
                names.insert((ns.clone(), unique.clone()));
                base.workloads
                    .push(tabby_eval::gen::workload(&ns, &unique, labels, o.ip));
                if let (None, Some(l)) = (o.ip, lookup.get_mut(i)) {
                    *l = Some(format!("{ns}/{unique}"));
                }
            }
            EndpointKind::NetworkSet => {
                if let Some(ip) = o.ip {
                    base.network_sets.push(NetworkSet {
                        name: o.name.clone().unwrap_or_else(|| format!("set-{i}")).into(),
                        namespace: class.namespace.as_deref().map(Into::into),
                        labels,
                        nets: vec![IpNet::from(ip)],
                        allowed_egress_domains: Vec::new(),
                        loc: None,
                    });
                }
            }
            EndpointKind::Host | EndpointKind::Net => {}
        }
    }
    let engine = Engine::new(&base, EngineOptions::default());
    let ips: Vec<Option<IpAddr>> = obs
        .endpoints
        .iter()
        .zip(&lookup)
        .map(|(o, l)| match (o.ip, l) {
            (Some(ip), _) => Some(ip),
            (None, Some(r)) => engine.endpoint_ref(r).ok().map(|p| p.ip),
            (None, None) => None,
        })
        .collect();
    let deny_ns: BTreeSet<&str> = deny_namespaces.iter().map(String::as_str).collect();
    let governed = |ip: IpAddr| {
        engine
            .endpoint_at(ip)
            .and_then(|id| engine.endpoint(id))
            .is_some_and(|ep| {
                ep.kind == EvalKind::Workload
                    && ep.namespace.as_deref().is_some_and(|n| deny_ns.contains(n))
            })
    };
    let addr = |i: u32, other: Option<IpAddr>| -> Option<IpAddr> {
        let v6 = other.is_some_and(|o| o.is_ipv6());
        match cl.peers.get(i as usize)? {
            Peer::Public => Some(if v6 { PUBLIC_V6 } else { PUBLIC_V4 }),
            Peer::Private => Some(if v6 { PRIVATE_V6 } else { PRIVATE_V4 }),
            Peer::Unknown => None,
            _ => *ips.get(i as usize)?,
        }
    };
    let mut tuples: Vec<&Tuple> = obs.tuples.keys().collect();
    tuples.sort_unstable();
    for t in tuples {
        let s0 = ips.get(t.src as usize).copied().flatten();
        let d0 = ips.get(t.dst as usize).copied().flatten();
        let (Some(src), Some(dst)) = (addr(t.src, d0), addr(t.dst, s0)) else {
            proof.skipped += 1;
            continue;
        };
        if src.is_ipv6() != dst.is_ipv6() {
            proof.skipped += 1;
            continue;
        }
        let flow = Flow {
            dst_port: t.port,
            ..Flow::new(src, dst, Protocol(t.protocol))
        };
        proof.checked += 1;
        let d = engine.decide(&flow);
        for (side, v, ip) in [("egress", d.egress, src), ("ingress", d.ingress, dst)] {
            if !v.allowed() && governed(ip) {
                let describe = |i: u32| {
                    obs.endpoints
                        .get(i as usize)
                        .map_or_else(String::new, crate::observe::Observed::describe)
                };
                proof.failures.push(ProofFailure {
                    src: describe(t.src),
                    dst: describe(t.dst),
                    protocol: t.protocol,
                    port: t.port,
                    side,
                    denied_by: denied_by(&engine, &v),
                });
            }
        }
    }
    proof
}

fn denied_by(engine: &Engine, v: &SideVerdict) -> String {
    let name = |id| {
        engine
            .policy(id)
            .map_or_else(|| "?".to_owned(), |p| p.policy.display_name())
    };
    match *v {
        SideVerdict::Rule { policy, rule, .. } => format!("rule {rule} of `{}`", name(policy)),
        SideVerdict::EndOfTier { policy, tier, .. } => format!(
            "the end of tier `{}` (first policy `{}`)",
            engine.tier(tier).map_or("?", |t| &*t.name),
            name(policy)
        ),
        SideVerdict::ProfilesExhausted { .. } => "the profiles (none allowed it)".to_owned(),
        SideVerdict::Profile { .. } => "a profile rule".to_owned(),
        SideVerdict::EndpointToHost { .. } => "Felix's endpoint-to-host action".to_owned(),
        SideVerdict::NotCalico | SideVerdict::Failsafe | SideVerdict::HostToLocalWorkload => {
            "nothing".to_owned()
        }
    }
}
