//! tabby's engine: Calico's policy evaluation as data.
//!
//! An [`Engine`] is built once from a validated [`tabby_model::Cluster`] and then
//! answers, for any flow, what Felix would do ([`Engine::decide`], allocation-free)
//! and why ([`Engine::trace`]). The same per-endpoint [`Program`]s that `decide`
//! walks are what the nftables compiler renders ([`Engine::resolve`]), so tier and
//! order semantics live in one place.
//!
//! ```text
//!  Cluster ─▶ endpoints  (labels as Calico exposes them, addresses)
//!          ─▶ lower      (namespace/SA/global() lowering of every selector, text)
//!          ─▶ selectors  (SelId per distinct lowered selector; label-group × SelId bits)
//!          ─▶ ipindex    (address intervals → class = bitset of SelIds; owner endpoint
//!                         and, filled in last, the owner's code starts)
//!          ─▶ rules      (CompiledRule: SelIds, family-split nets, named ports, services)
//!          ─▶ resolve    (Program per endpoint × direction × view, deduplicated)
//!          ─▶ code       (each Program flattened into one op array for decide())
//!  Flow ───▶ decide      (code::run: egress at source, ingress at destination;
//!                         host → local workload and workload → own host first) ─▶ Decision
//!       └──▶ trace       (eval::Walk over the structured Program, recording why) ─▶ Trace
//! ```
//!
//! Updates (`upsert_policy`, `upsert_workload`, ...) redo only what the change
//! touches (`incremental.rs`). Every deliberate difference from Calico is listed
//! in `docs/compatibility.md`; the JSON form of a [`Trace`] in `docs/trace-json.md`.

mod bitset;
mod code;
mod endpoints;
mod engine;
mod eval;
mod flow;
pub mod gen;
mod incremental;
mod ipindex;
mod lookup;
pub mod lower;
mod matching;
mod resolve;
mod rules;
mod selectors;
mod trace;

pub use bitset::BitSet;
pub use endpoints::{Endpoint, EndpointId, EndpointKind, HostNetworkPod};
pub use engine::{Decision, EndpointToHostAction, Engine, EngineOptions, Peer};
pub use eval::{Failsafes, SideVerdict};
pub use flow::{domain_matches, Flow};
pub use matching::{Miss, Side};
pub use resolve::{
    cmp_policies, policy_sort_key, sort_tiers, PolicyEntry, PolicyId, ProfileEntry, ProfileId,
    Program, ProgramId, ProgramTier, Stage, TierIdx, TierInfo, View,
};
pub use rules::{AddrPort, CompiledRule, CompiledSide, PortSet, ServiceSet};
pub use selectors::{SelId, SelectorEntry, SelectorTable};
pub use trace::{
    EndpointInfo, FlowInfo, PendingTrace, PolicyTrace, ProfileTrace, RuleTrace, SideTrace,
    TierTrace, Trace,
};

#[cfg(test)]
mod tests {
    /// The engine is shared between threads by the CLI and the analyses.
    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::Engine>();
        assert_send_sync::<crate::Trace>();
    }
}
