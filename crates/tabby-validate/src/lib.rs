//! Validation and lowering: wire objects in, a valid [`tabby_model::Cluster`] out.
//!
//! Every loaded object is decoded into its `tabby-api` wire type, checked the way
//! Calico's validator checks it (and, for Kubernetes kinds, converted the way
//! Calico's converters convert it), and lowered into `tabby-model`. Problems are
//! collected, never thrown: one run reports every invalid field of every object,
//! each at its file, line and column. Invalid objects are left out of the cluster.
//!
//! Layout: `calico/` checks and lowers `projectcalico.org/v3` kinds, `k8s/`
//! converts Kubernetes kinds (NetworkPolicy, ClusterNetworkPolicy, ANP/BANP, pods
//! and their controllers, namespaces, service accounts, services), `ctx` holds the
//! field checks both share, and `codes` lists the stable diagnostic codes (each
//! documented with a failing and a fixed example in `docs/diagnostics-validate.md`,
//! whose examples `tests/docs.rs` runs).

pub mod codes;
pub mod ctx;

mod calico;
mod k8s;

use tabby_diag::Diagnostics;
use tabby_load::RawObject;
use tabby_model::Cluster;

/// The outcome of validating a set of loaded objects.
#[derive(Debug, Default)]
pub struct Validated {
    /// Every valid object, lowered. Built-in tiers are always present.
    pub cluster: Cluster,
    /// Errors, warnings and notes (unknown kinds skipped, enterprise-only fields, ...).
    pub diagnostics: Diagnostics,
}

/// Validates `objects` (as loaded by `tabby-load`) and lowers the valid ones.
pub fn validate(objects: &[RawObject]) -> Validated {
    calico::validate_all(objects)
}
