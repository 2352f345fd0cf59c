//! Layer 6: walking a [`Program`] for one side of a flow. One walker serves both
//! `decide()` (with [`NoRecord`], which compiles to nothing) and `trace()` (with
//! the recorder in [`crate::trace`]), so the two cannot disagree.

use tabby_model::{Action, Direction, Protocol, TierDefaultAction};

use crate::ipindex::IpIndex;
use crate::matching::{match_rule, FlowCtx, Miss};
use crate::resolve::{
    PolicyEntry, PolicyId, ProfileEntry, ProfileId, Program, ProgramTier, Stage, TierIdx,
};
use crate::rules::CompiledRule;

/// Who decided one side (egress at the source, ingress at the destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum SideVerdict {
    /// The address is not a Calico workload or host endpoint: nothing to check here.
    NotCalico,
    /// A host endpoint failsafe port allowed it.
    Failsafe,
    /// A policy rule allowed or denied it. `hits` counts earlier Pass hits on the path.
    Rule {
        stage: Stage,
        tier: TierIdx,
        policy: PolicyId,
        rule: u32,
        action: Action,
        hits: u16,
    },
    /// A tier's applicable policies all left it undecided and the tier's default
    /// action is Deny; reported against the tier's first applicable policy.
    EndOfTier {
        tier: TierIdx,
        policy: PolicyId,
        hits: u16,
    },
    /// A profile rule allowed or denied it.
    Profile {
        profile: ProfileId,
        rule: u32,
        action: Action,
        hits: u16,
    },
    /// No profile rule allowed it (also: no profiles at all).
    ProfilesExhausted { hits: u16 },
    /// Workload to its own host: Felix's `DefaultEndpointToHostAction`, not host endpoint policy.
    EndpointToHost { allowed: bool },
    /// From an address of a node to a workload on that node: Felix does not police
    /// it (neither the host endpoint's egress nor the workload's ingress policy;
    /// felix `filterOutputChain`). Always allows; set on both sides.
    HostToLocalWorkload,
}

impl SideVerdict {
    pub fn allowed(&self) -> bool {
        match self {
            SideVerdict::NotCalico | SideVerdict::Failsafe | SideVerdict::HostToLocalWorkload => {
                true
            }
            SideVerdict::Rule { action, .. } | SideVerdict::Profile { action, .. } => {
                *action == Action::Allow
            }
            SideVerdict::EndOfTier { .. } | SideVerdict::ProfilesExhausted { .. } => false,
            SideVerdict::EndpointToHost { allowed } => *allowed,
        }
    }
}

/// Observes a walk. Every method defaults to doing nothing.
pub trait Recorder {
    fn failsafe(&mut self, _hit: bool) {}
    fn tier(&mut self, _t: &ProgramTier) {}
    fn policy(&mut self, _id: PolicyId, _p: &PolicyEntry) {}
    fn rule(&mut self, _r: &CompiledRule, _res: Result<(), Miss>) {}
    fn policy_end(&mut self, _outcome: Option<Action>) {}
    fn tier_end(&mut self, _end_of_tier: Option<TierDefaultAction>) {}
    fn profile(&mut self, _id: ProfileId, _p: &ProfileEntry) {}
    fn profile_end(&mut self, _outcome: Option<Action>) {}
}

/// A recorder that records nothing: the structured walk without a trace (used by
/// the test that checks the flattened code of `decide()` against this walker).
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRecord;
#[cfg(test)]
impl Recorder for NoRecord {}

/// Failsafe ports: `(protocol, port)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failsafes {
    pub inbound: Vec<(Protocol, u16)>,
    pub outbound: Vec<(Protocol, u16)>,
}

impl Default for Failsafes {
    fn default() -> Self {
        let t = Protocol::TCP;
        let u = Protocol::UDP;
        Self {
            inbound: vec![
                (t, 22),
                (u, 68),
                (t, 179),
                (t, 2379),
                (t, 2380),
                (t, 5473),
                (t, 6443),
                (t, 6666),
                (t, 6667),
            ],
            outbound: vec![
                (u, 53),
                (u, 67),
                (t, 179),
                (t, 2379),
                (t, 2380),
                (t, 5473),
                (t, 6443),
                (t, 6666),
                (t, 6667),
            ],
        }
    }
}

/// What the walker reads.
pub(crate) struct Walk<'a> {
    pub policies: &'a [PolicyEntry],
    pub profiles: &'a [ProfileEntry],
    pub ipindex: &'a IpIndex,
    pub failsafes: &'a Failsafes,
}

/// Runs a list of rules; `Some(action)` for the first matching non-Log rule.
/// Always the full matcher: this walk is the reference the flattened code of
/// `decide()` is tested against.
#[inline]
fn run_rules<R: Recorder>(
    rules: &[CompiledRule],
    ctx: &FlowCtx<'_>,
    ipindex: &IpIndex,
    rec: &mut R,
) -> Option<(u32, Action)> {
    for r in rules {
        let res = match_rule(r, ctx, ipindex);
        rec.rule(r, res);
        if res.is_ok() && r.action != Action::Log {
            return Some((r.index, r.action));
        }
    }
    None
}

impl Walk<'_> {
    /// Evaluates `prog` for the flow.
    pub fn run<R: Recorder>(&self, prog: &Program, ctx: &FlowCtx<'_>, rec: &mut R) -> SideVerdict {
        let dir = prog.direction;
        if prog.failsafe {
            let list = match dir {
                Direction::Ingress => &self.failsafes.inbound,
                Direction::Egress => &self.failsafes.outbound,
            };
            let hit = ctx.flow.has_ports()
                && list
                    .iter()
                    .any(|(p, port)| *p == ctx.flow.protocol && *port == ctx.flow.dst_port);
            rec.failsafe(hit);
            if hit {
                return SideVerdict::Failsafe;
            }
        }
        let mut hits: u16 = 0;
        for t in &prog.tiers {
            rec.tier(t);
            let mut passed = false;
            for &pid in &t.policies {
                let Some(pe) = self.policies.get(pid.0 as usize) else {
                    continue;
                };
                rec.policy(pid, pe);
                match run_rules(pe.rules(dir), ctx, self.ipindex, rec) {
                    Some((rule, Action::Pass)) => {
                        let _ = rule;
                        rec.policy_end(Some(Action::Pass));
                        hits = hits.saturating_add(1);
                        passed = true;
                        break;
                    }
                    Some((rule, action)) => {
                        rec.policy_end(Some(action));
                        rec.tier_end(None);
                        return SideVerdict::Rule {
                            stage: t.stage,
                            tier: t.tier,
                            policy: pid,
                            rule,
                            action,
                            hits,
                        };
                    }
                    None => rec.policy_end(None),
                }
            }
            if passed {
                rec.tier_end(None);
                continue;
            }
            rec.tier_end(Some(t.default_action));
            match t.default_action {
                // Felix logs end-of-tier passes only in the normal filter chains; the
                // forced passes of untracked and pre-DNAT tiers leave no flow-log hit.
                TierDefaultAction::Pass if t.stage == Stage::Normal => {
                    hits = hits.saturating_add(1);
                }
                TierDefaultAction::Pass => {}
                TierDefaultAction::Deny => {
                    let first = t.policies.first().copied().unwrap_or(PolicyId(0));
                    return SideVerdict::EndOfTier {
                        tier: t.tier,
                        policy: first,
                        hits,
                    };
                }
            }
        }
        for &prof in &prog.profiles {
            let Some(pe) = self.profiles.get(prof.0 as usize) else {
                continue;
            };
            rec.profile(prof, pe);
            match run_rules(pe.rules(dir), ctx, self.ipindex, rec) {
                Some((rule, action @ (Action::Allow | Action::Deny))) => {
                    rec.profile_end(Some(action));
                    return SideVerdict::Profile {
                        profile: prof,
                        rule,
                        action,
                        hits,
                    };
                }
                // Pass in a profile: no accept, next profile.
                other => rec.profile_end(other.map(|(_, a)| a)),
            }
        }
        SideVerdict::ProfilesExhausted { hits }
    }
}
