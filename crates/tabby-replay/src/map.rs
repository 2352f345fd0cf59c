//! Mapping flow-log endpoints onto the engine's addresses.
//!
//! A record names its endpoints as the log had them. In order:
//! 1. an IP address is used as it is (a Calico endpoint's or any other address);
//! 2. a workload name: an exact pod, a host-network pod, a controller (`production/backend`),
//!    or an aggregated name (`backend-7c9d8b6f4d-*`, `backend-*`: the first pod, by name,
//!    whose name starts with the prefix);
//! 3. the workload's labels: the first pod (by name) of the namespace carrying them all;
//! 4. host endpoints by name, network sets by name (their first address).
//!
//! Plain network peers without an address (`pub`, `pvt`) cannot be mapped. Lookups by
//! name are cached per worker, so each distinct name costs one search.

use std::collections::HashMap;
use std::net::IpAddr;

use tabby_eval::{EndpointId, EndpointKind as EvalKind, Engine};
use tabby_flowlog::{EndpointKind, FlowEndpoint};

/// Why an endpoint could not be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unmapped {
    /// A network peer with no address (`pub`, `pvt`).
    NoAddress,
    /// No workload with that name, prefix or labels.
    UnknownWorkload,
    /// No host endpoint with that name (or it has no address).
    UnknownHost,
    /// No network set with that name.
    UnknownNetworkSet,
    /// The record names neither an address nor a name.
    Anonymous,
}

impl Unmapped {
    /// A short lowercase description.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoAddress => "network peer without an address",
            Self::UnknownWorkload => "no such workload in the policy set's cluster",
            Self::UnknownHost => "no such host endpoint (or it has no address)",
            Self::UnknownNetworkSet => "no such network set",
            Self::Anonymous => "endpoint with neither address nor name",
        }
    }
}

/// The engine's workloads by namespace (sorted by name), built once and shared by workers.
#[derive(Debug)]
pub struct Directory<'e> {
    engine: &'e Engine,
    by_namespace: HashMap<String, Vec<EndpointId>>,
    /// The engine has `destination.domains` rules: records' domains matter.
    domains: bool,
}

impl<'e> Directory<'e> {
    /// Indexes `engine`'s workloads.
    pub fn new(engine: &'e Engine) -> Self {
        let mut by_namespace: HashMap<String, Vec<EndpointId>> = HashMap::new();
        for e in engine.endpoints() {
            if e.kind == EvalKind::Workload {
                if let Some(ns) = &e.namespace {
                    by_namespace.entry(ns.to_string()).or_default().push(e.id);
                }
            }
        }
        for ids in by_namespace.values_mut() {
            ids.sort_by(|a, b| {
                let name = |id: &EndpointId| {
                    engine
                        .endpoint(*id)
                        .map(|e| e.name.to_string())
                        .unwrap_or_default()
                };
                name(a).cmp(&name(b))
            });
        }
        Self {
            engine,
            by_namespace,
            domains: engine.uses_domains(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Whether a record's domain can change this engine's verdicts.
    pub fn uses_domains(&self) -> bool {
        self.domains
    }

    fn first_ip(&self, id: EndpointId) -> Option<IpAddr> {
        self.engine.endpoint(id)?.first_ip()
    }

    /// Resolves an endpoint without an address (uncached).
    pub fn resolve(&self, ep: &FlowEndpoint) -> Result<IpAddr, Unmapped> {
        if let Some(ip) = ep.ip {
            return Ok(ip);
        }
        let ns = ep
            .namespace
            .as_deref()
            .filter(|s| !s.is_empty() && *s != "-");
        let name = ep.name.as_deref().filter(|s| !s.is_empty() && *s != "-");
        match ep.kind {
            EndpointKind::Net => Err(if name.is_some() {
                Unmapped::NoAddress
            } else {
                Unmapped::Anonymous
            }),
            EndpointKind::Host => {
                let name = name.ok_or(Unmapped::Anonymous)?;
                let name = name.strip_suffix('*').unwrap_or(name);
                self.engine
                    .endpoint_ref(&format!("host:{name}"))
                    .map(|p| p.ip)
                    .map_err(|_| Unmapped::UnknownHost)
            }
            EndpointKind::NetworkSet => {
                let name = name.ok_or(Unmapped::Anonymous)?;
                self.engine
                    .endpoints()
                    .iter()
                    .find(|e| {
                        e.kind == EvalKind::NetworkSet
                            && &*e.name == name
                            && e.namespace.as_deref() == ns
                    })
                    .and_then(|e| e.first_ip())
                    .ok_or(Unmapped::UnknownNetworkSet)
            }
            EndpointKind::Workload => {
                if let (Some(ns), Some(name)) = (ns, name) {
                    if let Some(prefix) = name.strip_suffix('*') {
                        let found = self.by_namespace.get(ns).into_iter().flatten().find(|id| {
                            self.engine
                                .endpoint(**id)
                                .is_some_and(|e| e.name.starts_with(prefix))
                        });
                        if let Some(ip) = found.and_then(|id| self.first_ip(*id)) {
                            return Ok(ip);
                        }
                    } else if let Ok(peer) = self.engine.endpoint_ref(&format!("{ns}/{name}")) {
                        return Ok(peer.ip);
                    }
                }
                if ep.labels.is_empty() {
                    return Err(if name.is_some() {
                        Unmapped::UnknownWorkload
                    } else {
                        Unmapped::Anonymous
                    });
                }
                let candidates: Box<dyn Iterator<Item = &EndpointId>> = match ns {
                    Some(ns) => Box::new(self.by_namespace.get(ns).into_iter().flatten()),
                    None => Box::new(self.by_namespace.values().flatten()),
                };
                for id in candidates {
                    let Some(e) = self.engine.endpoint(*id) else {
                        continue;
                    };
                    if ep
                        .labels
                        .iter()
                        .all(|(k, v)| e.labels.get(k.as_str()).is_some_and(|x| &**x == v.as_str()))
                    {
                        if let Some(ip) = e.first_ip() {
                            return Ok(ip);
                        }
                    }
                }
                Err(Unmapped::UnknownWorkload)
            }
        }
    }
}

/// A per-worker cache in front of a [`Directory`]: allocation-free for addressed endpoints
/// and for names already seen.
#[derive(Debug)]
pub struct Mapper<'d, 'e> {
    dir: &'d Directory<'e>,
    cache: HashMap<String, Result<IpAddr, Unmapped>>,
    key: String,
}

impl<'d, 'e> Mapper<'d, 'e> {
    /// A mapper with an empty cache.
    pub fn new(dir: &'d Directory<'e>) -> Self {
        Self {
            dir,
            cache: HashMap::new(),
            key: String::new(),
        }
    }

    /// The address standing for `ep`.
    #[inline]
    pub fn map(&mut self, ep: &FlowEndpoint) -> Result<IpAddr, Unmapped> {
        match ep.ip {
            Some(ip) => Ok(ip),
            None => self.map_named(ep),
        }
    }

    /// [`Mapper::map`] for an endpoint without an address: by name or labels, cached.
    fn map_named(&mut self, ep: &FlowEndpoint) -> Result<IpAddr, Unmapped> {
        self.key.clear();
        self.key.push_str(ep.kind.as_str());
        for part in [ep.namespace.as_deref(), ep.name.as_deref()] {
            self.key.push('\u{1}');
            self.key.push_str(part.unwrap_or(""));
        }
        for (k, v) in &ep.labels {
            self.key.push('\u{1}');
            self.key.push_str(k);
            self.key.push('=');
            self.key.push_str(v);
        }
        if let Some(r) = self.cache.get(self.key.as_str()) {
            return *r;
        }
        let r = self.dir.resolve(ep);
        // Bounded: a log with millions of distinct names must not grow the cache forever.
        if self.cache.len() < 1 << 20 {
            self.cache.insert(self.key.clone(), r);
        }
        r
    }
}
