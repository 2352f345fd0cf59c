#![doc = include_str!("../README.md")]
//!
//! ## Design
//!
//! ```text
//!  loader (tabby-load): YAML/JSON ──▶ RawObject { apiVersion, kind, node }
//!                                            │ Kind::from_type_meta
//!                                            ▼
//!  this crate:        decode_resource(kind, json) ──▶ Resource::<Kind>(Box<wire struct>)
//!                                            │ (errors: serde_path_to_error path)
//!                                            ▼
//!  tabby-validate:    wire ──checks, lowering──▶ tabby-model
//! ```
//!
//! The wire types say what a user wrote, not what it means: no defaults are
//! applied, enum-like values (`action`, `types`, `stagedAction`, tiers) are kept as
//! strings, numbers are kept wide (`order` as `f64`, ports and ICMP values as
//! `i64`), and presence is kept apart from emptiness (`Option<Vec<_>>`) where
//! Calico's semantics depend on it. Serializing a decoded value gives back the
//! same document (up to key order and fields tabby does not model on workload
//! kinds), so a store can write objects back out.
//!
//! Strictness follows the tools users run: Calico kinds reject unknown fields as
//! `calicoctl` does, Kubernetes policy kinds as strict `kubectl` does; workload
//! kinds ignore what tabby does not model.

mod kind;
mod macros;
mod meta;

pub mod calico;
pub mod k8s;
pub mod netpol_api;

pub use kind::{decode_resource, Group, Kind, Resource, ResourceError};
pub use meta::{IntOrString, LabelSelector, LabelSelectorRequirement, ObjectMeta};
