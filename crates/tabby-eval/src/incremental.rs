//! Layer 7: incremental updates.
//!
//! The expensive part of building an engine is matching every distinct selector
//! against every distinct label set. Updates keep the selector table and that
//! match matrix: a new or changed policy matches only its *new* selectors against
//! the existing label groups, and a new or changed workload only matches a *new*
//! label set against the existing selectors. The cheap derived layers (address
//! index, rule compilation, programs) are then rebuilt from the updated input, so
//! an updated engine answers exactly like a freshly built one (tested in
//! `tests/incremental.rs`).

use tabby_model::{Policy, PolicyKind, Workload};

use crate::engine::Engine;

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
            Some(slot) => *slot = policy,
            None => self.cluster.policies.push(policy),
        }
        self.rebuild();
    }

    /// Removes a policy; returns whether it existed.
    pub fn remove_policy(&mut self, kind: PolicyKind, namespace: Option<&str>, name: &str) -> bool {
        let before = self.cluster.policies.len();
        self.cluster
            .policies
            .retain(|p| !same_policy(p, kind, namespace, name));
        let removed = self.cluster.policies.len() != before;
        if removed {
            self.rebuild();
        }
        removed
    }

    /// Adds a workload, or replaces the one with the same namespace and name.
    pub fn upsert_workload(&mut self, workload: Workload) {
        match self
            .cluster
            .workloads
            .iter_mut()
            .find(|w| w.namespace == workload.namespace && w.name == workload.name)
        {
            Some(slot) => *slot = workload,
            None => self.cluster.workloads.push(workload),
        }
        self.rebuild();
    }

    /// Removes a workload; returns whether it existed.
    pub fn remove_workload(&mut self, namespace: &str, name: &str) -> bool {
        let before = self.cluster.workloads.len();
        self.cluster
            .workloads
            .retain(|w| !(&*w.namespace == namespace && &*w.name == name));
        let removed = self.cluster.workloads.len() != before;
        if removed {
            self.rebuild();
        }
        removed
    }
}
