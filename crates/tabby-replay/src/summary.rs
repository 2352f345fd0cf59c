//! `tabby flows summarize`: top denied flows, top talkers, by namespace and by policy.
//!
//! Counts are kept in maps keyed by display strings, each bounded to [`MAX_KEYS`] entries;
//! past that, new keys are counted under `(other)` so memory stays bounded on any log.

use std::collections::HashMap;
use std::fmt::Write as _;

use tabby_flowlog::{protocol_name, Action, FlowEndpoint, FlowRecord};

use crate::replay::Origin;
use crate::run::Sink;

/// Most distinct keys per table.
pub const MAX_KEYS: usize = 1 << 20;

/// Counters of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Records.
    pub records: u64,
    /// Flows (`num_flows`).
    pub flows: u64,
    /// Flows denied.
    pub denied_flows: u64,
    /// Bytes in + out.
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, rec: &FlowRecord) {
        self.records += 1;
        self.flows += rec.num_flows;
        if rec.action == Action::Deny {
            self.denied_flows += rec.num_flows;
        }
        self.bytes += rec.bytes_in.saturating_add(rec.bytes_out);
    }
    fn merge(&mut self, o: &Counts) {
        self.records += o.records;
        self.flows += o.flows;
        self.denied_flows += o.denied_flows;
        self.bytes += o.bytes;
    }
}

/// A bounded string-keyed table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    map: HashMap<String, Counts>,
}

impl Table {
    fn add(&mut self, key: &str, rec: &FlowRecord) {
        if let Some(c) = self.map.get_mut(key) {
            c.add(rec);
        } else if self.map.len() < MAX_KEYS {
            self.map.entry(key.to_owned()).or_default().add(rec);
        } else {
            self.map.entry("(other)".to_owned()).or_default().add(rec);
        }
    }

    fn merge(&mut self, o: Table) {
        for (k, c) in o.map {
            self.map.entry(k).or_default().merge(&c);
        }
    }

    /// The `n` largest entries by `by` (ties by key).
    pub fn top(&self, n: usize, by: impl Fn(&Counts) -> u64) -> Vec<(String, Counts)> {
        let mut v: Vec<(String, Counts)> = self.map.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| by(&b.1).cmp(&by(&a.1)).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A summary of flow logs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Only denied records are counted.
    pub denied_only: bool,
    /// All counted records.
    pub total: Counts,
    /// By `source → destination proto/port`.
    pub flows: Table,
    /// By source endpoint.
    pub talkers: Table,
    /// By source namespace (`(none)` for non-workloads).
    pub src_namespaces: Table,
    /// By destination namespace.
    pub dst_namespaces: Table,
    /// By the policy that decided (the last enforced hit, `tier|kind:ns/name`), `(none)` without a trace.
    pub policies: Table,
    key: String,
}

/// `ns/name`, the name, or the IP, as a short label for an endpoint.
pub fn endpoint_label(ep: &FlowEndpoint, out: &mut String) {
    match (&ep.namespace, &ep.name) {
        (Some(ns), Some(n)) => {
            let _ = write!(out, "{ns}/{n}");
        }
        (None, Some(n)) if n != "pub" && n != "pvt" => out.push_str(n),
        _ => match ep.ip {
            Some(ip) => {
                let _ = write!(out, "{ip}");
            }
            None => out.push_str(ep.name.as_deref().unwrap_or("?")),
        },
    }
}

impl Summary {
    /// An empty summary; `denied_only` counts only denied records.
    pub fn new(denied_only: bool) -> Self {
        Self {
            denied_only,
            ..Self::default()
        }
    }

    /// Counts one record.
    pub fn add(&mut self, rec: &FlowRecord) {
        if self.denied_only && rec.action != Action::Deny {
            return;
        }
        self.total.add(rec);
        let k = &mut self.key;
        k.clear();
        endpoint_label(&rec.src, k);
        self.talkers.add(k, rec);
        k.push_str(" -> ");
        endpoint_label(&rec.dst, k);
        let _ = write!(k, " {}", protocol_name(rec.protocol));
        if let Some(p) = rec.dst_port {
            let _ = write!(k, "/{p}");
        }
        self.flows.add(k, rec);
        self.src_namespaces
            .add(rec.src.namespace.as_deref().unwrap_or("(none)"), rec);
        self.dst_namespaces
            .add(rec.dst.namespace.as_deref().unwrap_or("(none)"), rec);
        k.clear();
        match rec.policies.last() {
            Some(h) => {
                let _ = write!(k, "{}|{}:", h.tier, h.kind.short());
                if let Some(ns) = &h.namespace {
                    let _ = write!(k, "{ns}/");
                }
                let _ = write!(k, "{}|{}", h.name, h.action);
            }
            None => k.push_str("(none)"),
        }
        self.policies.add(k, rec);
    }

    /// Adds another summary.
    pub fn merge(&mut self, o: Summary) {
        self.total.merge(&o.total);
        self.flows.merge(o.flows);
        self.talkers.merge(o.talkers);
        self.src_namespaces.merge(o.src_namespaces);
        self.dst_namespaces.merge(o.dst_namespaces);
        self.policies.merge(o.policies);
    }
}

impl Sink for Summary {
    fn record(&mut self, rec: &FlowRecord, _origin: Origin) {
        self.add(rec);
    }
}
