//! Programs flattened for the fast path: one contiguous op array per program,
//! with each rule's [`Quick`] header inline, so `decide()` scans a few cache
//! lines per side instead of chasing program → tier → policy → rule pointers.
//! `trace()` walks the structured [`Program`] with the same semantics; the tests
//! check that both agree on every flow.

use tabby_model::{Action, Direction, TierDefaultAction};

use crate::eval::{Failsafes, SideVerdict};
use crate::ipindex::IpIndex;
use crate::matching::{match_rule, FlowCtx, Quick};
use crate::resolve::{PolicyId, ProfileId, Program, Stage, TierIdx};
use crate::rules::CompiledRule;

/// One instruction of a flattened program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Host endpoints: failsafe ports of this direction allow.
    Failsafe,
    /// Start of a tier; `end` is the index of its `TierEnd`.
    Tier {
        stage: Stage,
        tier: TierIdx,
        first: PolicyId,
        end: u32,
    },
    /// Start of a policy; `start` is the flat arena position of its first rule in
    /// this direction (a rule's index in the policy is `quick.flat - start`).
    Policy {
        policy: PolicyId,
        start: u32,
    },
    /// A rule: its quick header (which knows its flat arena position).
    Rule(Quick),
    /// Every policy of the tier left the flow undecided.
    TierEnd(TierDefaultAction),
    /// Start of a profile; `end` is the index of its `ProfileEnd`, `start` as for `Policy`.
    Profile {
        profile: ProfileId,
        end: u32,
        start: u32,
    },
    ProfileEnd,
    End,
}

/// Appends the code of `prog` to `out`; returns its start.
pub(crate) fn emit(
    prog: &Program,
    policy_ranges: &[[(u32, u32); 2]],
    profile_ranges: &[[(u32, u32); 2]],
    quick: &[Quick],
    out: &mut Vec<Op>,
) -> u32 {
    let start = out.len() as u32;
    let d = match prog.direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    };
    let rules = |out: &mut Vec<Op>, range: Option<(u32, u32)>| {
        if let Some((s, n)) = range {
            for k in s..s + n {
                if let Some(q) = quick.get(k as usize) {
                    out.push(Op::Rule(*q));
                }
            }
        }
    };
    if prog.failsafe {
        out.push(Op::Failsafe);
    }
    for t in &prog.tiers {
        let at = out.len();
        out.push(Op::Tier {
            stage: t.stage,
            tier: t.tier,
            first: t.policies.first().copied().unwrap_or(PolicyId(0)),
            end: 0,
        });
        for &pid in &t.policies {
            let range = policy_ranges
                .get(pid.0 as usize)
                .and_then(|r| r.get(d).copied());
            out.push(Op::Policy {
                policy: pid,
                start: range.map_or(0, |r| r.0),
            });
            rules(out, range);
        }
        let end = out.len() as u32;
        out.push(Op::TierEnd(t.default_action));
        if let Some(Op::Tier { end: e, .. }) = out.get_mut(at) {
            *e = end;
        }
    }
    for &prof in &prog.profiles {
        let at = out.len();
        let range = profile_ranges
            .get(prof.0 as usize)
            .and_then(|r| r.get(d).copied());
        out.push(Op::Profile {
            profile: prof,
            end: 0,
            start: range.map_or(0, |r| r.0),
        });
        rules(out, range);
        let end = out.len() as u32;
        out.push(Op::ProfileEnd);
        if let Some(Op::Profile { end: e, .. }) = out.get_mut(at) {
            *e = end;
        }
    }
    out.push(Op::End);
    start
}

/// Runs the code starting at `start` (the fast path of `decide()`).
#[inline]
pub(crate) fn run(
    code: &[Op],
    start: u32,
    dir: Direction,
    full: &[CompiledRule],
    failsafes: &Failsafes,
    ipindex: &IpIndex,
    ctx: &FlowCtx<'_>,
) -> SideVerdict {
    let mut i = start as usize;
    let mut hits: u16 = 0;
    let (mut stage, mut tier, mut first, mut tier_end) =
        (Stage::Normal, TierIdx(0), PolicyId(0), 0u32);
    let (mut policy, mut rules_start) = (PolicyId(0), 0u32);
    let (mut profile, mut profile_end) = (ProfileId(0), 0u32);
    let mut in_profile = false;
    while let Some(op) = code.get(i) {
        // Rules are most ops: a predictable test for them and a tight skip of the
        // ones that miss keeps the (poorly predicted) jump table off the common path.
        if let Op::Rule(q) = op {
            let hit = q.passes(ctx)
                && q.action != Action::Log
                && (!q.slow()
                    || full
                        .get(q.flat as usize)
                        .is_some_and(|r| match_rule(r, ctx, ipindex).is_ok()));
            if !hit {
                i += 1;
                continue;
            }
        } else if let Op::Policy { policy: p, start } = *op {
            (policy, rules_start) = (p, start);
            i += 1;
            continue;
        }
        match *op {
            Op::Failsafe => {
                let list = match dir {
                    Direction::Ingress => &failsafes.inbound,
                    Direction::Egress => &failsafes.outbound,
                };
                if ctx.flow.has_ports()
                    && list
                        .iter()
                        .any(|(p, port)| *p == ctx.flow.protocol && *port == ctx.flow.dst_port)
                {
                    return SideVerdict::Failsafe;
                }
            }
            Op::Tier {
                stage: s,
                tier: t,
                first: f,
                end,
            } => {
                (stage, tier, first, tier_end) = (s, t, f, end);
                in_profile = false;
            }
            // Handled above.
            Op::Policy { .. } => {}
            // Only rules that matched get here.
            Op::Rule(q) => {
                match (in_profile, q.action) {
                    (false, Action::Pass) => {
                        hits = hits.saturating_add(1);
                        // Skip the tier's TierEnd too.
                        i = tier_end as usize + 1;
                        continue;
                    }
                    (false, action) => {
                        return SideVerdict::Rule {
                            stage,
                            tier,
                            policy,
                            rule: q.flat.wrapping_sub(rules_start),
                            action,
                            hits,
                        }
                    }
                    (true, Action::Pass) => {
                        i = profile_end as usize + 1;
                        continue;
                    }
                    (true, action) => {
                        return SideVerdict::Profile {
                            profile,
                            rule: q.flat.wrapping_sub(rules_start),
                            action,
                            hits,
                        }
                    }
                }
            }
            // As in the structured walk: only normal-stage tiers log an end-of-tier pass.
            Op::TierEnd(TierDefaultAction::Pass) => {
                if stage == Stage::Normal {
                    hits = hits.saturating_add(1);
                }
            }
            Op::TierEnd(TierDefaultAction::Deny) => {
                return SideVerdict::EndOfTier {
                    tier,
                    policy: first,
                    hits,
                }
            }
            Op::Profile {
                profile: p,
                end,
                start,
            } => {
                (profile, profile_end, rules_start) = (p, end, start);
                in_profile = true;
            }
            Op::ProfileEnd => {}
            Op::End => break,
        }
        i += 1;
    }
    SideVerdict::ProfilesExhausted { hits }
}

#[cfg(test)]
mod tests {
    /// The flattened code stays compact: a rule op is its 20-byte header (the tag lives in a niche).
    #[test]
    fn op_is_small() {
        assert!(std::mem::size_of::<crate::matching::Quick>() <= 20);
        assert!(std::mem::size_of::<super::Op>() <= 20);
    }
}
