//! Layer 4: `resolve` — THE ONE PLACE for tier and order semantics.
//!
//! For an endpoint, a direction and a view, the [`Program`] is the ordered list of
//! tiers (calico-semantics §3.1) holding the endpoint's applicable policies in
//! order (§3.2), each with its default action, followed by the endpoint's
//! profiles. `decide()`/`trace()` walk programs; the nftables compiler renders them.
//!
//! ```text
//!   Program ─┬─ failsafe? (host endpoints)
//!            ├─ tiers: [ProgramTier { stage, tier, default_action, policies: [PolicyId] }]
//!            │          stages in order: untracked → pre-DNAT → normal
//!            └─ profiles: [ProfileId]
//! ```
//!
//! Only tiers with at least one applicable policy in the direction appear (so a
//! tier that selects nothing never causes end-of-tier drop). In the enforced
//! view staged policies are left out; in the pending view they count as enforced.
//! `stagedAction: Delete` never appears. doNotTrack/preDNAT policies never apply
//! to workloads. Programs are deduplicated: endpoints with the same applicable
//! lists share one [`ProgramId`].

use std::cmp::Ordering;
use std::collections::HashMap;

use tabby_model::{
    Cluster, Direction, Name, Policy, StagedAction, TierDefaultAction, DEFAULT_TIER,
    KUBE_ADMIN_TIER, KUBE_BASELINE_TIER, LEGACY_ANP_TIER, LEGACY_BANP_TIER,
};

use crate::endpoints::EndpointKind;
use crate::rules::CompiledRule;
use crate::selectors::{MatchIndex, SelId};

/// Enforced (what the dataplane does) or pending (staged policies as if enforced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    Enforced,
    Pending,
}

/// Which table a tier group is evaluated in (host endpoints only use the first two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// doNotTrack policies (raw table), tiers forced to Pass, no profiles.
    Untracked,
    /// preDNAT policies (mangle table, ingress only), tiers forced to Pass, no profiles.
    PreDnat,
    /// Normal filter policy.
    Normal,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Untracked => "untracked",
            Stage::PreDnat => "pre-dnat",
            Stage::Normal => "normal",
        }
    }
}

/// Index into [`crate::Engine::tiers`] (sorted in evaluation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TierIdx(pub u32);
/// Index into [`crate::Engine::policies`] (sorted by tier, then order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct PolicyId(pub u32);
/// Index into [`crate::Engine::profiles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ProfileId(pub u32);
/// Index into the engine's deduplicated programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ProgramId(pub u32);

/// A tier as the engine orders it.
#[derive(Debug, Clone, PartialEq)]
pub struct TierInfo {
    pub name: Name,
    pub order: Option<f64>,
    pub default_action: TierDefaultAction,
    /// A Tier resource exists (declared, or built in). Policies in tiers that do not
    /// exist are still enforced, after every real tier, with default action Deny.
    pub exists: bool,
}

/// A policy with its compiled rules.
#[derive(Debug, Clone)]
pub struct PolicyEntry {
    pub policy: Policy,
    pub tier: TierIdx,
    /// Lowered applicability selector.
    pub applies: SelId,
    pub ingress: Vec<CompiledRule>,
    pub egress: Vec<CompiledRule>,
    pub(crate) rule_sels: [Vec<crate::rules::RuleSels>; 2],
}

impl PolicyEntry {
    pub fn rules(&self, dir: Direction) -> &[CompiledRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    pub fn is_staged(&self) -> bool {
        self.policy.kind.is_staged()
    }
}

/// A profile with its compiled rules.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub name: Name,
    pub ingress: Vec<CompiledRule>,
    pub egress: Vec<CompiledRule>,
    /// Synthesised by tabby (`kns.*`, `ksa.*`, `projectcalico-default-allow`).
    pub synthesized: bool,
    /// Named by an endpoint but not defined anywhere (no rules).
    pub missing: bool,
    pub(crate) rule_sels: [Vec<crate::rules::RuleSels>; 2],
}

impl ProfileEntry {
    pub fn rules(&self, dir: Direction) -> &[CompiledRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }
}

/// A group of policies of one tier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgramTier {
    pub stage: Stage,
    pub tier: TierIdx,
    /// Forced to Pass for the untracked and pre-DNAT stages.
    pub default_action: TierDefaultAction,
    pub policies: Vec<PolicyId>,
}

/// What one endpoint does with traffic in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Program {
    pub kind: EndpointKind,
    pub direction: Direction,
    /// Host endpoints allow failsafe ports before any policy.
    pub failsafe: bool,
    pub tiers: Vec<ProgramTier>,
    pub profiles: Vec<ProfileId>,
}

fn cmp_order(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Tiers in evaluation order (§3.1): existing tiers first, then ordered before
/// unordered, ascending order, ties by name (bytewise).
pub fn sort_tiers(cluster: &Cluster) -> Vec<TierInfo> {
    let mut tiers: Vec<TierInfo> = cluster
        .tiers
        .iter()
        .map(|t| TierInfo {
            name: t.name.clone(),
            order: t.order,
            default_action: t.default_action,
            exists: true,
        })
        .collect();
    let builtin = [
        (DEFAULT_TIER, 1_000_000.0, TierDefaultAction::Deny, true),
        (KUBE_ADMIN_TIER, 1_000.0, TierDefaultAction::Pass, true),
        (
            KUBE_BASELINE_TIER,
            10_000_000.0,
            TierDefaultAction::Pass,
            true,
        ),
        (LEGACY_ANP_TIER, 1_000.0, TierDefaultAction::Pass, false),
        (
            LEGACY_BANP_TIER,
            10_000_000.0,
            TierDefaultAction::Pass,
            false,
        ),
    ];
    let used = |name: &str| cluster.policies.iter().any(|p| &*p.tier == name);
    for (name, order, action, always) in builtin {
        if !tiers.iter().any(|t| &*t.name == name) && (always || used(name)) {
            tiers.push(TierInfo {
                name: name.into(),
                order: Some(order),
                default_action: action,
                exists: true,
            });
        }
    }
    for p in &cluster.policies {
        if !tiers.iter().any(|t| t.name == p.tier) {
            tiers.push(TierInfo {
                name: p.tier.clone(),
                order: None,
                default_action: TierDefaultAction::Deny,
                exists: false,
            });
        }
    }
    tiers.sort_by(|a, b| {
        b.exists
            .cmp(&a.exists)
            .then_with(|| cmp_order(a.order, b.order))
            .then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()))
    });
    tiers
}

/// Felix's tie-break key: `name/namespace/kind`, compared bytewise.
pub fn policy_sort_key(p: &Policy) -> String {
    format!(
        "{}/{}/{}",
        p.name,
        p.namespace.as_deref().unwrap_or_default(),
        p.kind.as_str()
    )
}

/// Order of policies inside a tier (§3.2).
pub fn cmp_policies(a: &Policy, b: &Policy) -> Ordering {
    cmp_order(a.order, b.order).then_with(|| {
        policy_sort_key(a)
            .as_bytes()
            .cmp(policy_sort_key(b).as_bytes())
    })
}

/// The stage a policy takes part in for an endpoint, or `None` if it never
/// applies to this kind of endpoint in this direction and view.
pub fn policy_stage(p: &Policy, kind: EndpointKind, dir: Direction, view: View) -> Option<Stage> {
    if !p.applies_in(dir) {
        return None;
    }
    if p.kind.is_staged()
        && (view == View::Enforced || p.staged_action == Some(StagedAction::Delete))
    {
        return None;
    }
    match kind {
        EndpointKind::NetworkSet => None,
        EndpointKind::Workload => (!p.do_not_track && !p.pre_dnat).then_some(Stage::Normal),
        EndpointKind::Host => {
            if p.kind.is_namespaced() {
                None
            } else if p.do_not_track {
                Some(Stage::Untracked)
            } else if p.pre_dnat {
                (dir == Direction::Ingress).then_some(Stage::PreDnat)
            } else {
                Some(Stage::Normal)
            }
        }
    }
}

/// Builds the program of every endpoint of `kind` in label group `group` with
/// these profiles (all a program depends on). `policies` must be sorted by (tier, order).
#[expect(
    clippy::too_many_arguments,
    reason = "internal; every input of a program"
)]
pub(crate) fn build_group_program(
    kind: EndpointKind,
    group: u32,
    dir: Direction,
    view: View,
    policies: &[PolicyEntry],
    tiers: &[TierInfo],
    matches: &MatchIndex,
    profiles: Vec<crate::ProfileId>,
) -> Program {
    let mut staged: Vec<(Stage, TierIdx, PolicyId)> = Vec::new();
    for (i, pe) in policies.iter().enumerate() {
        let Some(stage) = policy_stage(&pe.policy, kind, dir, view) else {
            continue;
        };
        if !matches.group_matches(group, pe.applies) {
            continue;
        }
        staged.push((stage, pe.tier, PolicyId(i as u32)));
    }
    // Stable: policies are already in (tier, order) order.
    staged.sort_by_key(|(stage, tier, _)| (*stage, *tier));
    let mut out: Vec<ProgramTier> = Vec::new();
    for (stage, tier, pid) in staged {
        match out.last_mut() {
            Some(t) if t.stage == stage && t.tier == tier => t.policies.push(pid),
            _ => {
                let default_action = match stage {
                    Stage::Normal => tiers
                        .get(tier.0 as usize)
                        .map_or(TierDefaultAction::Deny, |t| t.default_action),
                    Stage::Untracked | Stage::PreDnat => TierDefaultAction::Pass,
                };
                out.push(ProgramTier {
                    stage,
                    tier,
                    default_action,
                    policies: vec![pid],
                });
            }
        }
    }
    Program {
        kind,
        direction: dir,
        failsafe: kind == EndpointKind::Host,
        tiers: out,
        profiles,
    }
}

/// Interns programs so equal ones share an id.
#[derive(Debug, Clone, Default)]
pub struct ProgramStore {
    pub programs: Vec<Program>,
    by_value: HashMap<Program, ProgramId>,
}

impl ProgramStore {
    pub fn intern(&mut self, p: Program) -> ProgramId {
        if let Some(id) = self.by_value.get(&p) {
            return *id;
        }
        let id = ProgramId(self.programs.len() as u32);
        self.by_value.insert(p.clone(), id);
        self.programs.push(p);
        id
    }

    pub fn get(&self, id: ProgramId) -> Option<&Program> {
        self.programs.get(id.0 as usize)
    }
}
