//! The [`Engine`]: builds every layer from a [`Cluster`] and answers questions.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use tabby_model::{Action, Cluster, Direction, Name, Rule};

use crate::endpoints::{
    self, Endpoint, EndpointId, EndpointKind, EndpointTable, HostNetworkPod, NodeAddrs, NO_NODE,
};
use crate::eval::{Failsafes, SideVerdict, Walk};
use crate::flow::Flow;
use crate::ipindex::IpIndex;
use crate::lower;
use crate::matching::{FlowCtx, Quick};
use crate::resolve::{
    self, PolicyEntry, ProfileEntry, ProfileId, Program, ProgramId, ProgramStore, TierIdx,
    TierInfo, View,
};
use crate::rules::{self, RuleContext};
use crate::selectors::{MatchIndex, SelectorTable};

/// What Felix does with traffic from a workload to its own host
/// (`DefaultEndpointToHostAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointToHostAction {
    /// Felix's default: drop.
    #[default]
    Drop,
    /// Accept without host endpoint policy.
    Accept,
    /// Continue to the host endpoint's ingress policy.
    Return,
}

/// Knobs of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where addresses for workloads without one come from.
    pub pod_cidr: IpNet,
    /// Host endpoint failsafe ports (Felix defaults).
    pub failsafes: Failsafes,
    /// Felix `DefaultEndpointToHostAction`, applied when a workload talks to a host
    /// endpoint on its own node.
    pub endpoint_to_host: EndpointToHostAction,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            pod_cidr: IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
            ),
            failsafes: Failsafes::default(),
            endpoint_to_host: EndpointToHostAction::default(),
        }
    }
}

/// The verdict on one flow, without explanation. `Copy`; built without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Egress at the source and ingress at the destination both allow (enforced view).
    pub allowed: bool,
    /// Same with staged policies treated as enforced (the pending view).
    pub staged_allowed: bool,
    pub egress: SideVerdict,
    pub ingress: SideVerdict,
    pub staged_egress: SideVerdict,
    pub staged_ingress: SideVerdict,
}

impl Decision {
    /// Every side decided by `v`.
    fn uniform(v: SideVerdict) -> Decision {
        let allowed = v.allowed();
        Decision {
            allowed,
            staged_allowed: allowed,
            egress: v,
            ingress: v,
            staged_egress: v,
            staged_ingress: v,
        }
    }
}

/// A resolved CLI reference to one end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub ip: IpAddr,
    /// The Calico endpoint owning the address, if any.
    pub endpoint: Option<EndpointId>,
    /// How the user named it, normalised (`ns/name`, `host:name`, or the address).
    pub label: String,
    /// Remarks worth printing (assigned address, host-network pod, ...).
    pub note: Option<String>,
}

pub(crate) fn slot(dir: Direction, view: View) -> usize {
    match (dir, view) {
        (Direction::Ingress, View::Enforced) => 0,
        (Direction::Ingress, View::Pending) => 1,
        (Direction::Egress, View::Enforced) => 2,
        (Direction::Egress, View::Pending) => 3,
    }
}

/// The engine. See the crate docs for the layers.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) cluster: Cluster,
    pub(crate) options: EngineOptions,
    pub(crate) table: EndpointTable,
    pub(crate) selectors: SelectorTable,
    pub(crate) matches: MatchIndex,
    pub(crate) tiers: Vec<TierInfo>,
    pub(crate) policies: Vec<PolicyEntry>,
    pub(crate) profiles: Vec<ProfileEntry>,
    pub(crate) ipindex: IpIndex,
    pub(crate) programs: ProgramStore,
    pub(crate) endpoint_programs: Vec<Option<[ProgramId; 4]>>,
    /// Program keys (label group, kind, profiles) shared by endpoints.
    pub(crate) keys: ProgramKeys,
    pub(crate) profile_ids: HashMap<Name, ProfileId>,
    pub(crate) workload_by_name: HashMap<(Name, Name), EndpointId>,
    pub(crate) hep_by_name: HashMap<Name, EndpointId>,
    /// Node addresses and endpoint nodes (host → local workload is not policed).
    pub(crate) nodes: NodeAddrs,
    pub(crate) flat: FlatRules,
    /// Flattened programs (fast path) and, per endpoint, the code start of each
    /// (direction, view) slot (`u32::MAX`: not a policy target).
    pub(crate) code: crate::code::Code,
    pub(crate) endpoint_code: Vec<[u32; 4]>,
}

/// What decides an endpoint's programs: its label group, kind and profiles.
pub(crate) type ProgramKey = (u32, EndpointKind, Vec<ProfileId>);

/// No program key: not a policy target.
pub(crate) const NO_KEY: u32 = u32::MAX;

/// Distinct program keys, their programs and each endpoint's key.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProgramKeys {
    pub keys: Vec<ProgramKey>,
    pub by_key: HashMap<ProgramKey, u32>,
    /// Per key: programs by `slot(direction, view)`.
    pub programs: Vec<[ProgramId; 4]>,
    /// Per endpoint: its key, or [`NO_KEY`].
    pub endpoint_key: Vec<u32>,
}

/// Every compiled rule in one contiguous arena, with its [`Quick`] header, so the
/// fast path walks small contiguous memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatRules {
    pub quick: Vec<Quick>,
    pub full: Vec<rules::CompiledRule>,
    /// Per policy: (start, len) of its ingress and egress rules.
    pub policies: Vec<[(u32, u32); 2]>,
    /// Per profile: same.
    pub profiles: Vec<[(u32, u32); 2]>,
    /// Rules of removed policies still in the arena (compacted by a rebuild).
    pub garbage: usize,
}

impl FlatRules {
    fn push(&mut self, rules: &[rules::CompiledRule]) -> (u32, u32) {
        let start = self.full.len() as u32;
        for r in rules {
            self.quick.push(Quick::of(r));
            self.full.push(r.clone());
        }
        (start, rules.len() as u32)
    }

    /// Forgets the rules of policy `i` (they stay in the arena as garbage) and
    /// shifts later policy ids down.
    pub(crate) fn remove_policy(&mut self, i: usize) {
        if i < self.policies.len() {
            let [a, b] = self.policies.remove(i);
            self.garbage += (a.1 + b.1) as usize;
        }
    }

    /// Appends the rules of a policy inserted at id `i`.
    pub(crate) fn insert_policy(&mut self, i: usize, p: &PolicyEntry) {
        let ing = self.push(&p.ingress);
        let eg = self.push(&p.egress);
        self.policies.insert(i.min(self.policies.len()), [ing, eg]);
    }

    pub(crate) fn build(policies: &[PolicyEntry], profiles: &[ProfileEntry]) -> FlatRules {
        let mut f = FlatRules::default();
        for p in policies {
            let i = f.push(&p.ingress);
            let e = f.push(&p.egress);
            f.policies.push([i, e]);
        }
        for p in profiles {
            let i = f.push(&p.ingress);
            let e = f.push(&p.egress);
            f.profiles.push([i, e]);
        }
        f
    }
}

fn allow_all() -> Vec<Rule> {
    vec![Rule::new(Action::Allow)]
}

impl Engine {
    /// Builds every layer. Never fails: problems become notes and "matches nothing".
    pub fn new(cluster: &Cluster, options: EngineOptions) -> Engine {
        let mut e = Engine {
            cluster: cluster.clone(),
            options,
            table: EndpointTable::default(),
            selectors: SelectorTable::default(),
            matches: MatchIndex::default(),
            tiers: Vec::new(),
            policies: Vec::new(),
            profiles: Vec::new(),
            ipindex: IpIndex::default(),
            programs: ProgramStore::default(),
            endpoint_programs: Vec::new(),
            keys: ProgramKeys::default(),
            profile_ids: HashMap::new(),
            workload_by_name: HashMap::new(),
            hep_by_name: HashMap::new(),
            nodes: NodeAddrs::default(),
            flat: FlatRules::default(),
            code: crate::code::Code::default(),
            endpoint_code: Vec::new(),
        };
        e.rebuild();
        e
    }

    /// Recomputes everything derived from `self.cluster`, reusing the selector
    /// table and the label-group × selector match matrix (only new selectors and
    /// new label sets are matched).
    pub(crate) fn rebuild(&mut self) {
        let cluster = &self.cluster;
        self.table = endpoints::build(cluster, &self.options);
        self.nodes = NodeAddrs::build(cluster, &self.table.endpoints);
        self.tiers = resolve::sort_tiers(cluster);
        let tier_pos: HashMap<&str, u32> = self
            .tiers
            .iter()
            .enumerate()
            .map(|(i, t)| (&*t.name, i as u32))
            .collect();

        // Policies in evaluation order.
        let mut order: Vec<&tabby_model::Policy> = cluster.policies.iter().collect();
        order.sort_by(|a, b| {
            let ta = tier_pos.get(&*a.tier).copied().unwrap_or(u32::MAX);
            let tb = tier_pos.get(&*b.tier).copied().unwrap_or(u32::MAX);
            ta.cmp(&tb).then_with(|| resolve::cmp_policies(a, b))
        });
        let selectors = &mut self.selectors;
        let mut policies: Vec<PolicyEntry> = order
            .into_iter()
            .map(|p| {
                let ns = p.namespace.as_deref().filter(|_| p.kind.is_namespaced());
                let applies = selectors.intern(&lower::policy_selector(p));
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
                    policy: p.clone(),
                    tier: TierIdx(tier_pos.get(&*p.tier).copied().unwrap_or(0)),
                    applies,
                    ingress: Vec::new(),
                    egress: Vec::new(),
                    rule_sels,
                }
            })
            .collect();

        // Profiles: declared ones, then those endpoints name.
        let mut profiles: Vec<ProfileEntry> = Vec::new();
        let mut profile_ids: HashMap<Name, ProfileId> = HashMap::new();
        let mut profile_rules: Vec<(Vec<Rule>, Vec<Rule>)> = Vec::new();
        let mut add_profile = |name: &Name,
                               ingress: Vec<Rule>,
                               egress: Vec<Rule>,
                               synthesized: bool,
                               missing: bool,
                               selectors: &mut SelectorTable| {
            if profile_ids.contains_key(name) {
                return;
            }
            let rule_sels = [
                ingress
                    .iter()
                    .map(|r| rules::intern_selectors(r, None, selectors))
                    .collect(),
                egress
                    .iter()
                    .map(|r| rules::intern_selectors(r, None, selectors))
                    .collect(),
            ];
            profile_ids.insert(name.clone(), ProfileId(profiles.len() as u32));
            profiles.push(ProfileEntry {
                name: name.clone(),
                ingress: Vec::new(),
                egress: Vec::new(),
                synthesized,
                missing,
                rule_sels,
            });
            // Keep the model rules alongside for phase 2.
            profile_rules.push((ingress, egress));
        };
        for p in &cluster.profiles {
            add_profile(
                &p.name,
                p.ingress.clone(),
                p.egress.clone(),
                false,
                false,
                selectors,
            );
        }
        for ep in &self.table.endpoints {
            for name in &ep.profiles {
                if name.starts_with("kns.") || &**name == "projectcalico-default-allow" {
                    add_profile(name, allow_all(), allow_all(), true, false, selectors);
                } else if name.starts_with("ksa.") {
                    add_profile(name, Vec::new(), Vec::new(), true, false, selectors);
                } else {
                    add_profile(name, Vec::new(), Vec::new(), false, true, selectors);
                }
            }
        }

        // Match every new selector / label group.
        self.matches
            .update(&mut self.selectors, &self.table.endpoints);
        self.ipindex = IpIndex::build(&self.table.endpoints, &self.matches);

        // Compile rules.
        let ctx = RuleContext::new(cluster, &self.table.endpoints, &self.matches);
        for pe in &mut policies {
            let ns = pe
                .policy
                .namespace
                .as_deref()
                .filter(|_| pe.policy.kind.is_namespaced());
            pe.ingress = compile_list(&ctx, &pe.policy.ingress, &pe.rule_sels[0], ns);
            pe.egress = compile_list(&ctx, &pe.policy.egress, &pe.rule_sels[1], ns);
        }
        for (pe, (ingress, egress)) in profiles.iter_mut().zip(&profile_rules) {
            pe.ingress = compile_list(&ctx, ingress, &pe.rule_sels[0], None);
            pe.egress = compile_list(&ctx, egress, &pe.rule_sels[1], None);
        }

        // Programs, shared between endpoints with the same label group, kind and profiles.
        let mut keys = ProgramKeys::default();
        for ep in &self.table.endpoints {
            if !ep.is_policy_target() {
                keys.endpoint_key.push(NO_KEY);
                continue;
            }
            let prof: Vec<ProfileId> = ep
                .profiles
                .iter()
                .filter_map(|n| profile_ids.get(n).copied())
                .collect();
            let group = self.matches.group(ep.id.index()).unwrap_or(u32::MAX);
            let key = (group, ep.kind, prof);
            let next = keys.keys.len() as u32;
            let k = *keys.by_key.entry(key.clone()).or_insert_with(|| {
                keys.keys.push(key);
                next
            });
            keys.endpoint_key.push(k);
        }
        let mut store = ProgramStore::default();
        keys.programs = (0..keys.keys.len())
            .map(|k| self.build_key_programs(&keys, k, &policies, &mut store))
            .collect();

        self.rebuild_name_lookups();
        self.flat = FlatRules::build(&policies, &profiles);
        self.policies = policies;
        self.profiles = profiles;
        self.profile_ids = profile_ids;
        self.programs = store;
        self.keys = keys;
        self.emit_code();
    }

    /// The four programs (direction × view) of program key `k`.
    pub(crate) fn build_key_programs(
        &self,
        keys: &ProgramKeys,
        k: usize,
        policies: &[PolicyEntry],
        store: &mut ProgramStore,
    ) -> [ProgramId; 4] {
        let mut ids = [ProgramId(0); 4];
        let Some(key) = keys.keys.get(k) else {
            return ids;
        };
        for dir in [Direction::Ingress, Direction::Egress] {
            for view in [View::Enforced, View::Pending] {
                let p = resolve::build_group_program(
                    key.1,
                    key.0,
                    dir,
                    view,
                    policies,
                    &self.tiers,
                    &self.matches,
                    key.2.clone(),
                );
                if let Some(s) = ids.get_mut(slot(dir, view)) {
                    *s = store.intern(p);
                }
            }
        }
        ids
    }

    /// Per-endpoint program ids, the flattened code and the code starts next to
    /// every address, from `self.keys` and `self.programs`.
    pub(crate) fn emit_code(&mut self) {
        self.endpoint_programs = self
            .keys
            .endpoint_key
            .iter()
            .map(|&k| self.keys.programs.get(k as usize).copied())
            .collect();
        let mut code = crate::code::Code::default();
        let starts: Vec<u32> = self
            .programs
            .programs
            .iter()
            .map(|p| {
                code.emit(
                    p,
                    &self.flat.policies,
                    &self.flat.profiles,
                    &self.flat.quick,
                )
            })
            .collect();
        self.endpoint_code = self
            .endpoint_programs
            .iter()
            .map(|ids| match ids {
                Some(ids) => ids.map(|id| starts.get(id.0 as usize).copied().unwrap_or(u32::MAX)),
                None => [u32::MAX; 4],
            })
            .collect();
        self.ipindex.attach_code(&self.endpoint_code);
        self.code = code;
    }

    // ----- accessors -----

    /// The input the engine was built from (after incremental updates).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Every endpoint: workloads, host endpoints, network sets.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.table.endpoints
    }

    pub fn endpoint(&self, id: EndpointId) -> Option<&Endpoint> {
        self.table.endpoints.get(id.index())
    }

    pub fn host_network_pods(&self) -> &[HostNetworkPod] {
        &self.table.host_network_pods
    }

    /// Notes about guesses the engine made (assigned addresses, ...).
    pub fn notes(&self) -> &[String] {
        &self.table.notes
    }

    /// Tiers in evaluation order.
    pub fn tiers(&self) -> &[TierInfo] {
        &self.tiers
    }

    pub fn tier(&self, id: TierIdx) -> Option<&TierInfo> {
        self.tiers.get(id.0 as usize)
    }

    /// Policies in evaluation order (tier, then order, then name/namespace/kind).
    pub fn policies(&self) -> &[PolicyEntry] {
        &self.policies
    }

    pub fn policy(&self, id: resolve::PolicyId) -> Option<&PolicyEntry> {
        self.policies.get(id.0 as usize)
    }

    pub fn profiles(&self) -> &[ProfileEntry] {
        &self.profiles
    }

    pub fn profile(&self, id: ProfileId) -> Option<&ProfileEntry> {
        self.profiles.get(id.0 as usize)
    }

    /// Lowered selectors (canonical text by id).
    pub fn selectors(&self) -> &SelectorTable {
        &self.selectors
    }

    /// Does any rule match on `destination.domains`? Only then does a flow's
    /// [`Flow::domain`] change a verdict, so callers that would have to allocate
    /// to attach one (a replay, per record) can skip it otherwise.
    pub fn uses_domains(&self) -> bool {
        let policies = self
            .policies
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress));
        let profiles = self
            .profiles
            .iter()
            .flat_map(|p| p.ingress.iter().chain(&p.egress));
        policies.chain(profiles).any(|r| !r.dst.domains.is_empty())
    }

    /// Number of distinct programs (tier/policy/profile lists).
    pub fn program_count(&self) -> usize {
        self.programs.programs.len()
    }

    /// Number of distinct label sets and address classes (for benchmarks and stats).
    pub fn index_stats(&self) -> (usize, usize, usize) {
        (
            self.matches.group_count(),
            self.ipindex.class_count(),
            self.ipindex.interval_count(),
        )
    }

    /// THE tier/order logic: what `endpoint` evaluates in `direction` and `view`.
    /// `None` for network sets (never policy targets) and unknown ids.
    pub fn resolve(
        &self,
        endpoint: EndpointId,
        direction: Direction,
        view: View,
    ) -> Option<&Program> {
        let ids = self.endpoint_programs.get(endpoint.index())?.as_ref()?;
        self.programs.get(*ids.get(slot(direction, view))?)
    }

    /// Does the lowered applicability selector of `policy` match `endpoint`?
    pub fn policy_selects(&self, policy: resolve::PolicyId, endpoint: EndpointId) -> bool {
        self.policy(policy)
            .is_some_and(|p| self.matches.endpoint_matches(endpoint.index(), p.applies))
    }

    /// The policy-target endpoint owning an address, if any.
    pub fn endpoint_at(&self, ip: IpAddr) -> Option<EndpointId> {
        self.ipindex.lookup(ip).owner
    }

    pub(crate) fn walk(&self) -> Walk<'_> {
        Walk {
            policies: &self.policies,
            profiles: &self.profiles,
            ipindex: &self.ipindex,
            failsafes: &self.options.failsafes,
        }
    }

    pub(crate) fn flow_ctx<'a>(&'a self, flow: &'a Flow) -> FlowCtx<'a> {
        let src = self.ipindex.lookup(flow.src_ip);
        let dst = self.ipindex.lookup(flow.dst_ip);
        FlowCtx::new(
            flow,
            src,
            dst,
            self.ipindex.bits(src.class),
            self.ipindex.bits(dst.class),
        )
    }

    /// Programs of one side: (enforced, pending), or `None` if not a Calico endpoint.
    #[inline]
    pub(crate) fn side_programs(
        &self,
        owner: Option<EndpointId>,
        dir: Direction,
    ) -> Option<(&Program, &Program, bool)> {
        let ids = self.endpoint_programs.get(owner?.index())?.as_ref()?;
        let e = *ids.get(slot(dir, View::Enforced))?;
        let p = *ids.get(slot(dir, View::Pending))?;
        Some((self.programs.get(e)?, self.programs.get(p)?, e == p))
    }

    /// Workload → host endpoint on the workload's own node.
    pub(crate) fn endpoint_to_host(&self, ctx: &FlowCtx<'_>) -> Option<bool> {
        if !ctx.dst.owner_is_host || ctx.src.owner_is_host {
            return None;
        }
        let src = self.endpoint(ctx.src.owner?)?;
        let dst = self.endpoint(ctx.dst.owner?)?;
        if src.kind != EndpointKind::Workload || dst.kind != EndpointKind::Host {
            return None;
        }
        if src.node.is_none() || src.node != dst.node {
            return None;
        }
        match self.options.endpoint_to_host {
            EndpointToHostAction::Drop => Some(false),
            EndpointToHostAction::Accept => Some(true),
            EndpointToHostAction::Return => None,
        }
    }

    /// From an address of node N to a workload on node N: Felix's
    /// `filterOutputChain` returns before any policy (the workload's ingress policy
    /// and the host endpoint's egress policy are both skipped). An address owned by
    /// a workload endpoint is never taken for a node address.
    #[inline]
    pub(crate) fn host_to_local_workload(&self, ctx: &FlowCtx<'_>) -> bool {
        let Some(dst) = ctx.dst.owner else {
            return false;
        };
        if ctx.dst.owner_is_host || (ctx.src.owner.is_some() && !ctx.src.owner_is_host) {
            return false;
        }
        let Some(node) = self.nodes.node_of(ctx.flow.src_ip) else {
            return false;
        };
        self.nodes
            .endpoint_node
            .get(dst.index())
            .is_some_and(|n| *n == node && *n != NO_NODE)
    }

    /// The verdict on one flow. Allocation-free.
    pub fn decide(&self, flow: &Flow) -> Decision {
        let ctx = self.flow_ctx(flow);
        if self.host_to_local_workload(&ctx) {
            return Decision::uniform(SideVerdict::HostToLocalWorkload);
        }
        // Verdicts are written in place: a decision is four of them.
        let mut d = Decision::uniform(SideVerdict::NotCalico);
        let (egress, staged_egress) =
            self.decide_side(&ctx, Direction::Egress, &mut d.egress, &mut d.staged_egress);
        let (ingress, staged_ingress) = match self.endpoint_to_host(&ctx) {
            Some(allowed) => {
                d.ingress = SideVerdict::EndpointToHost { allowed };
                d.staged_ingress = d.ingress;
                (allowed, allowed)
            }
            None => self.decide_side(
                &ctx,
                Direction::Ingress,
                &mut d.ingress,
                &mut d.staged_ingress,
            ),
        };
        d.allowed = egress && ingress;
        d.staged_allowed = staged_egress && staged_ingress;
        d
    }

    /// One side of a flow in both views, and whether each allows; leaves
    /// `NotCalico` (which allows) for an address that is no Calico endpoint.
    #[inline]
    fn decide_side(
        &self,
        ctx: &FlowCtx<'_>,
        dir: Direction,
        enforced: &mut SideVerdict,
        staged: &mut SideVerdict,
    ) -> (bool, bool) {
        let code = match dir {
            Direction::Egress => &ctx.src.code,
            Direction::Ingress => &ctx.dst.code,
        };
        let e = code
            .get(slot(dir, View::Enforced))
            .copied()
            .unwrap_or(u32::MAX);
        let p = code
            .get(slot(dir, View::Pending))
            .copied()
            .unwrap_or(u32::MAX);
        if e == u32::MAX {
            return (true, true);
        }
        let run = |start: u32, out: &mut SideVerdict| {
            self.code.run(
                start,
                &self.flat.full,
                &self.options.failsafes,
                &self.ipindex,
                ctx,
                out,
            )
        };
        let allowed = run(e, enforced);
        if p == e {
            *staged = *enforced;
            (allowed, allowed)
        } else {
            (allowed, run(p, staged))
        }
    }
}

pub(crate) fn compile_list(
    ctx: &RuleContext<'_>,
    rules: &[Rule],
    sels: &[rules::RuleSels],
    ns: Option<&str>,
) -> Vec<rules::CompiledRule> {
    rules
        .iter()
        .zip(sels)
        .enumerate()
        .map(|(i, (r, s))| rules::compile(ctx, i, r, ns, *s))
        .collect()
}

impl Engine {
    /// The `ns/name` and `host:NAME` lookups `endpoint_ref` uses, from the endpoint table.
    pub(crate) fn rebuild_name_lookups(&mut self) {
        self.workload_by_name = self
            .table
            .endpoints
            .iter()
            .filter(|e| e.kind == EndpointKind::Workload)
            .filter_map(|e| Some(((e.namespace.clone()?, e.name.clone()), e.id)))
            .collect();
        self.hep_by_name = self
            .table
            .endpoints
            .iter()
            .filter(|e| e.kind == EndpointKind::Host)
            .map(|e| (e.name.clone(), e.id))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::NoRecord;

    /// The flattened code (`decide`) and the structured walk (`trace`'s walker,
    /// here without recording) agree on every side of every flow.
    #[test]
    fn flat_code_matches_structured_walk() {
        for (mix, seed) in [(5, 3), (20, 4)] {
            let c = crate::gen::synthetic_cluster_mix(400, 6, 120, seed, mix);
            let e = Engine::new(&c, EngineOptions::default());
            for f in crate::gen::synthetic_flows(&c, 2000, seed) {
                let d = e.decide(&f);
                let ctx = e.flow_ctx(&f);
                let walk = e.walk();
                for (owner, dir, want, want_p) in [
                    (ctx.src.owner, Direction::Egress, d.egress, d.staged_egress),
                    (
                        ctx.dst.owner,
                        Direction::Ingress,
                        d.ingress,
                        d.staged_ingress,
                    ),
                ] {
                    if matches!(
                        want,
                        SideVerdict::EndpointToHost { .. } | SideVerdict::HostToLocalWorkload
                    ) {
                        continue;
                    }
                    let (v, pv) = match e.side_programs(owner, dir) {
                        None => (SideVerdict::NotCalico, SideVerdict::NotCalico),
                        Some((p, q, _)) => (
                            walk.run(p, &ctx, &mut NoRecord),
                            walk.run(q, &ctx, &mut NoRecord),
                        ),
                    };
                    assert_eq!(v, want, "{f:?} {dir}");
                    assert_eq!(pv, want_p, "{f:?} {dir} pending");
                }
            }
        }
    }
}
