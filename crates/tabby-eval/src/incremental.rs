//! Layer 7: incremental updates.
//!
//! Building an engine matches every distinct selector against every distinct
//! label set, compiles every rule and resolves a program for every distinct
//! (label set, kind, profiles) key. A **policy** change does none of that again:
//!
//! - only the policy's own selectors are interned, and only *new* ones are matched
//!   against the existing label groups (the address index, whose classes are
//!   unions of selector bits, is rebuilt only when a new selector appeared);
//! - only the policy's own rules are compiled (appended to the rule arena; the
//!   removed policy's rules are left as garbage until the next full rebuild);
//! - policy ids after the changed position shift, and every program is
//!   renumbered accordingly; programs are *resolved again* only for the keys whose
//!   label group is selected by the old or the new applicability selector;
//! - the flattened code is re-emitted (cheap: linear in the distinct programs).
//!
//! A change that alters the tier list (a new undeclared tier, a legacy tier coming
//! into use) falls back to a full rebuild. **Workload** changes rebuild the derived
//! layers (endpoint table, address index, rules, programs) but keep the selector
//! table and the match matrix, so only a new label set is matched against the
//! selectors. Either way an updated engine answers exactly like a freshly built
//! one (tested in `tests/incremental.rs`).

use std::collections::HashMap;

use tabby_model::{Name, Policy, PolicyKind, Workload};

use crate::endpoints::{
    workload_endpoint, Endpoint, EndpointId, EndpointKind, LabelSources, NodeAddrs,
};
use crate::engine::{compile_list, Engine, FlatRules};
use crate::ipindex::IpIndex;
use crate::lower;
use crate::resolve::{self, PolicyEntry, PolicyId, Program, ProgramStore, TierIdx};
use crate::rules::{self, RuleContext};
use crate::selectors::SelId;

fn same_policy(a: &Policy, kind: PolicyKind, ns: Option<&str>, name: &str) -> bool {
    a.kind == kind && a.namespace.as_deref() == ns && &*a.name == name
}

impl Engine {
    /// Adds a policy, or replaces the one with the same kind, namespace and name.
    pub fn upsert_policy(&mut self, policy: Policy) {
        let (kind, ns, name) = (policy.kind, policy.namespace.clone(), policy.name.clone());
        match self
            .cluster
            .policies
            .iter_mut()
            .find(|p| same_policy(p, kind, ns.as_deref(), &name))
        {
            Some(slot) => *slot = policy.clone(),
            None => self.cluster.policies.push(policy.clone()),
        }
        if !self.policy_changed(kind, ns.as_deref(), &name, Some(policy)) {
            self.rebuild();
        }
    }

    /// Removes a policy; returns whether it existed.
    pub fn remove_policy(&mut self, kind: PolicyKind, namespace: Option<&str>, name: &str) -> bool {
        let before = self.cluster.policies.len();
        self.cluster
            .policies
            .retain(|p| !same_policy(p, kind, namespace, name));
        let removed = self.cluster.policies.len() != before;
        if removed && !self.policy_changed(kind, namespace, name, None) {
            self.rebuild();
        }
        removed
    }

    /// Brings every layer up to date after the policy `kind/ns/name` was replaced
    /// by `new` (or removed) in `self.cluster`. `false`: the tier list changed, a
    /// full rebuild is needed.
    fn policy_changed(
        &mut self,
        kind: PolicyKind,
        ns: Option<&str>,
        name: &str,
        new: Option<Policy>,
    ) -> bool {
        if resolve::sort_tiers(&self.cluster) != self.tiers {
            return false;
        }
        // 1. The old entry goes; later ids shift down.
        let mut selected_by: Vec<SelId> = Vec::new();
        let removed_at = self
            .policies
            .iter()
            .position(|pe| same_policy(&pe.policy, kind, ns, name));
        if let Some(i) = removed_at {
            let old = self.policies.remove(i);
            selected_by.push(old.applies);
            self.flat.remove_policy(i);
        }
        // 2. The new entry: intern its selectors, match only new ones.
        let inserted_at = match new {
            None => None,
            Some(p) => {
                let before = self.selectors.len();
                let mut entry = self.policy_entry(p);
                if self.selectors.len() != before {
                    self.matches.update_selectors(&self.selectors);
                    self.ipindex = IpIndex::build(&self.table.endpoints, &self.matches);
                }
                let ctx = RuleContext::new(&self.cluster, &self.table.endpoints, &self.matches);
                let pns = entry
                    .policy
                    .namespace
                    .as_deref()
                    .filter(|_| entry.policy.kind.is_namespaced());
                entry.ingress = compile_list(&ctx, &entry.policy.ingress, &entry.rule_sels[0], pns);
                entry.egress = compile_list(&ctx, &entry.policy.egress, &entry.rule_sels[1], pns);
                let key = |p: &PolicyEntry| p.tier;
                let at = self.policies.partition_point(|pe| {
                    key(pe)
                        .cmp(&key(&entry))
                        .then_with(|| resolve::cmp_policies(&pe.policy, &entry.policy))
                        .is_lt()
                });
                selected_by.push(entry.applies);
                self.flat.insert_policy(at, &entry);
                self.policies.insert(at, entry);
                Some(at as u32)
            }
        };
        if self.flat.garbage > self.flat.full.len() / 2 {
            self.flat = FlatRules::build(&self.policies, &self.profiles);
        }
        // 3. Programs: renumber all, resolve again where the policy selects.
        let removed_at = removed_at.map(|i| i as u32);
        let remap = |id: PolicyId| -> Option<PolicyId> {
            let mut i = id.0;
            match removed_at {
                Some(r) if i == r => return None,
                Some(r) if i > r => i -= 1,
                _ => {}
            }
            if inserted_at.is_some_and(|at| i >= at) {
                i += 1;
            }
            Some(PolicyId(i))
        };
        let old = std::mem::take(&mut self.programs);
        let mut store = ProgramStore::default();
        let keys = std::mem::take(&mut self.keys);
        let mut programs = Vec::with_capacity(keys.keys.len());
        let mut renumbered: HashMap<u32, resolve::ProgramId> = HashMap::new();
        for (k, key) in keys.keys.iter().enumerate() {
            let affected = selected_by
                .iter()
                .any(|s| self.matches.group_matches(key.0, *s));
            let ids = if affected {
                self.build_key_programs(&keys, k, &self.policies, &mut store)
            } else {
                let mut ids = keys
                    .programs
                    .get(k)
                    .copied()
                    .unwrap_or([resolve::ProgramId(0); 4]);
                for id in &mut ids {
                    *id = *renumbered.entry(id.0).or_insert_with(|| {
                        store.intern(old.get(*id).map(|p| renumber(p, &remap)).unwrap_or_else(
                            || Program {
                                kind: key.1,
                                direction: tabby_model::Direction::Ingress,
                                failsafe: false,
                                tiers: Vec::new(),
                                profiles: Vec::new(),
                            },
                        ))
                    });
                }
                ids
            };
            programs.push(ids);
        }
        self.keys = keys;
        self.keys.programs = programs;
        self.programs = store;
        self.emit_code();
        true
    }

    /// A policy's entry with its selectors interned (rules not compiled yet).
    pub(crate) fn policy_entry(&mut self, p: Policy) -> PolicyEntry {
        let tier = self
            .tiers
            .iter()
            .position(|t| t.name == p.tier)
            .unwrap_or(0) as u32;
        let ns = p.namespace.clone().filter(|_| p.kind.is_namespaced());
        let ns = ns.as_deref();
        let selectors = &mut self.selectors;
        let applies = selectors.intern(&lower::policy_selector(&p));
        let rule_sels = [
            p.ingress
                .iter()
                .map(|r| rules::intern_selectors(r, ns, selectors))
                .collect(),
            p.egress
                .iter()
                .map(|r| rules::intern_selectors(r, ns, selectors))
                .collect(),
        ];
        PolicyEntry {
            policy: p,
            tier: TierIdx(tier),
            applies,
            ingress: Vec::new(),
            egress: Vec::new(),
            rule_sels,
        }
    }

    /// Adds a workload, or replaces the one with the same namespace and name.
    pub fn upsert_workload(&mut self, workload: Workload) {
        let old = match self
            .cluster
            .workloads
            .iter_mut()
            .find(|w| w.namespace == workload.namespace && w.name == workload.name)
        {
            Some(slot) => Some(std::mem::replace(slot, workload.clone())),
            None => {
                self.cluster.workloads.push(workload.clone());
                None
            }
        };
        if !self.workload_changed(&workload.namespace, &workload.name, old.as_ref(), true) {
            self.rebuild();
        }
    }

    /// Removes a workload; returns whether it existed.
    pub fn remove_workload(&mut self, namespace: &str, name: &str) -> bool {
        let Some(at) = self
            .cluster
            .workloads
            .iter()
            .position(|w| &*w.namespace == namespace && &*w.name == name)
        else {
            return false;
        };
        let old = self.cluster.workloads.remove(at);
        // Validated input has one workload per name; drop any duplicates too.
        let before = self.cluster.workloads.len();
        self.cluster
            .workloads
            .retain(|w| !(&*w.namespace == namespace && &*w.name == name));
        if before != self.cluster.workloads.len()
            || !self.workload_changed(namespace, name, Some(&old), false)
        {
            self.rebuild();
        }
        true
    }

    /// Brings every layer up to date after the workload `ns/name` changed in
    /// `self.cluster` (`present`: it exists now; `old`: what it was). `false`: a
    /// full rebuild is needed (host-network pods, workloads without addresses,
    /// whose made-up addresses depend on each other, or a new profile).
    fn workload_changed(
        &mut self,
        ns: &str,
        name: &str,
        old: Option<&Workload>,
        present: bool,
    ) -> bool {
        let new = present
            .then(|| {
                self.cluster
                    .workloads
                    .iter()
                    .find(|w| &*w.namespace == ns && &*w.name == name)
            })
            .flatten();
        let needs_rebuild = |w: &Workload| w.host_network || w.ips.is_empty();
        if new.is_some_and(needs_rebuild)
            || old.is_some_and(needs_rebuild)
            || self
                .cluster
                .workloads
                .iter()
                .any(|w| !w.host_network && w.ips.is_empty())
        {
            return false;
        }
        let old_at = self
            .workload_by_name
            .get(&(ns.into(), name.into()))
            .copied();
        let workloads = self
            .table
            .endpoints
            .iter()
            .take_while(|e| e.kind == EndpointKind::Workload)
            .count();
        // The endpoint as a fresh build makes it: same place, or after the last workload.
        let (at, insert) = match old_at {
            Some(id) => (id.index(), false),
            None => (workloads, true),
        };
        let built = match new {
            Some(w) => {
                let src = LabelSources::new(&self.cluster);
                let ep = workload_endpoint(&src, w, EndpointId(at as u32), None);
                if ep
                    .profiles
                    .iter()
                    .any(|p| !self.profile_ids.contains_key(p))
                {
                    return false;
                }
                Some(ep)
            }
            None => None,
        };
        let port_names: Vec<Name> = old
            .into_iter()
            .chain(new)
            .flat_map(|w| w.ports.iter().map(|p| p.name.clone()))
            .collect();
        // 1. Endpoint table, label groups and program keys (ids may shift by one).
        match (built, insert) {
            (Some(ep), true) => {
                self.matches
                    .set_endpoint(&mut self.selectors, at, &ep.labels, true);
                let k = self.key_of(&ep);
                self.keys.endpoint_key.insert(at, k);
                self.table.endpoints.insert(at, ep);
            }
            (Some(ep), false) => {
                self.matches
                    .set_endpoint(&mut self.selectors, at, &ep.labels, false);
                let k = self.key_of(&ep);
                if let Some(slot) = self.keys.endpoint_key.get_mut(at) {
                    *slot = k;
                }
                if let Some(slot) = self.table.endpoints.get_mut(at) {
                    *slot = ep;
                }
            }
            (None, _) => {
                if old_at.is_none() || at >= self.table.endpoints.len() {
                    return false;
                }
                self.matches.remove_endpoint(at);
                if at < self.keys.endpoint_key.len() {
                    self.keys.endpoint_key.remove(at);
                }
                self.table.endpoints.remove(at);
            }
        }
        for (i, e) in self.table.endpoints.iter_mut().enumerate() {
            e.id = EndpointId(i as u32);
        }
        // Too many keys nobody uses any more: start afresh.
        let used: std::collections::HashSet<u32> = self.keys.endpoint_key.iter().copied().collect();
        if self.keys.keys.len() > 2 * used.len() + 64 {
            return false;
        }
        // 2. Rules that depend on workloads: named ports (of the names the old or
        // new workload declares) and services.
        self.recompile_endpoint_dependent_rules(&port_names);
        // 3. Address index, node addresses, name lookups, code.
        self.ipindex = IpIndex::build(&self.table.endpoints, &self.matches);
        self.nodes = NodeAddrs::build(&self.cluster, &self.table.endpoints);
        self.rebuild_name_lookups();
        self.emit_code();
        true
    }

    /// The program key of an endpoint, creating it (and resolving its programs)
    /// when no endpoint had it yet.
    fn key_of(&mut self, ep: &Endpoint) -> u32 {
        let prof: Vec<resolve::ProfileId> = ep
            .profiles
            .iter()
            .filter_map(|n| self.profile_ids.get(n).copied())
            .collect();
        let group = self.matches.group(ep.id.index()).unwrap_or(u32::MAX);
        let key = (group, ep.kind, prof);
        if let Some(k) = self.keys.by_key.get(&key) {
            return *k;
        }
        let k = self.keys.keys.len();
        self.keys.keys.push(key.clone());
        self.keys.by_key.insert(key, k as u32);
        let mut store = std::mem::take(&mut self.programs);
        let keys = std::mem::take(&mut self.keys);
        let ids = self.build_key_programs(&keys, k, &self.policies, &mut store);
        self.keys = keys;
        self.keys.programs.push(ids);
        self.programs = store;
        k as u32
    }

    /// Recompiles the rules of every policy and profile with a service match or
    /// a named port in `port_names` (their address sets come from workloads).
    fn recompile_endpoint_dependent_rules(&mut self, port_names: &[Name]) {
        let depends = |rules: &[tabby_model::Rule]| {
            rules.iter().any(|r| {
                [&r.source, &r.destination].iter().any(|er| {
                    er.services.is_some()
                        || er
                            .ports
                            .iter()
                            .chain(&er.not_ports)
                            .any(|p| matches!(p, tabby_model::PortSpec::Named(n) if port_names.contains(n)))
                })
            })
        };
        let ctx = RuleContext::new(&self.cluster, &self.table.endpoints, &self.matches);
        let mut changed = false;
        for pe in &mut self.policies {
            if depends(&pe.policy.ingress) || depends(&pe.policy.egress) {
                let ns = pe
                    .policy
                    .namespace
                    .as_deref()
                    .filter(|_| pe.policy.kind.is_namespaced());
                pe.ingress = compile_list(&ctx, &pe.policy.ingress, &pe.rule_sels[0], ns);
                pe.egress = compile_list(&ctx, &pe.policy.egress, &pe.rule_sels[1], ns);
                changed = true;
            }
        }
        for (pe, p) in self.profiles.iter_mut().filter_map(|pe| {
            let p = self.cluster.profiles.iter().find(|p| p.name == pe.name)?;
            Some((pe, p))
        }) {
            if depends(&p.ingress) || depends(&p.egress) {
                pe.ingress = compile_list(&ctx, &p.ingress, &pe.rule_sels[0], None);
                pe.egress = compile_list(&ctx, &p.egress, &pe.rule_sels[1], None);
                changed = true;
            }
        }
        if changed {
            self.flat = FlatRules::build(&self.policies, &self.profiles);
        }
    }
}

/// `p` with every policy id renumbered (ids that disappear are dropped).
fn renumber(p: &Program, remap: &impl Fn(PolicyId) -> Option<PolicyId>) -> Program {
    let mut p = p.clone();
    for t in &mut p.tiers {
        t.policies = t.policies.iter().filter_map(|id| remap(*id)).collect();
    }
    p.tiers.retain(|t| !t.policies.is_empty());
    p
}
