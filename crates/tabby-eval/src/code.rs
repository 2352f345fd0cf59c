//! Programs flattened for the fast path, in the form the nftables renderer
//! follows: per program, a straight run of 16-byte ops, four to a cache line.
//! A rule op is the rule's [`Quick`] header; the only other ops are the end of
//! each tier (its default action), the failsafe check of host endpoints and
//! the end of the program, so a walk is one forward scan with the tier and
//! order logic in this one place. What is only needed once a rule has hit
//! (policy, rule index, tier, where a Pass jumps) lives in [`Aux`], beside the
//! ops and off the hot path. Log rules never decide, so they are not emitted.
//! `trace()` walks the structured [`Program`] with the same semantics; the
//! tests check that both agree on every flow.
//!
//! (Splitting programs by destination port, like an nftables verdict map, was
//! measured and dropped: on the benchmark clusters a flow scans ~5 ops per
//! program, fewer than a dispatch costs.)

use tabby_model::{Action, Direction, TierDefaultAction};

use crate::eval::{Failsafes, SideVerdict};
use crate::ipindex::IpIndex;
use crate::matching::{match_rule, FlowCtx, Quick};
use crate::resolve::{PolicyId, ProfileId, Program, Stage, TierIdx};
use crate::rules::CompiledRule;

/// What a marker op is; kept in the header's `protocol` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Marker {
    /// Host endpoints: the failsafe ports of the program's direction allow.
    FailsafeIn,
    FailsafeOut,
    /// End of a normal-stage tier whose default action is Pass (a flow-log hit).
    TierEndPass,
    /// End of an untracked or pre-DNAT tier: a forced pass, not logged.
    TierEndQuietPass,
    TierEndDeny,
    End,
}

/// One instruction: a rule header, or (flag [`Op::MARKER`]) a marker, whose
/// header has no family bit so that it never passes as a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Op(Quick);

impl Op {
    const MARKER: u8 = 0x80;

    fn marker(m: Marker) -> Op {
        Self::marker_with(m, u32::MAX, u32::MAX)
    }

    /// A marker carrying two numbers in its (unused) selector fields, so that
    /// reading them touches no other cache line.
    fn marker_with(m: Marker, a: u32, b: u32) -> Op {
        let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
        let half = |x: [u8; 4], i: usize| {
            u16::from_le_bytes([
                x.get(i).copied().unwrap_or(0),
                x.get(i + 1).copied().unwrap_or(0),
            ])
        };
        Op(Quick {
            src_sel: half(a, 0),
            src_not: half(a, 2),
            dst_sel: half(b, 0),
            dst_not: half(b, 2),
            dst_lo: 0,
            dst_hi: 0,
            action: Action::Log,
            protocol: m as u8,
            flags: Self::MARKER,
        })
    }

    /// The two numbers of [`Op::marker_with`].
    #[inline]
    fn payload(&self) -> (u32, u32) {
        let q = &self.0;
        (
            u32::from(q.src_sel) | (u32::from(q.src_not) << 16),
            u32::from(q.dst_sel) | (u32::from(q.dst_not) << 16),
        )
    }

    #[inline]
    fn is_rule(&self) -> bool {
        self.0.flags & Self::MARKER == 0
    }
}

/// Whose rules a run of rule ops are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Tier { stage: Stage, tier: TierIdx },
    Profile(ProfileId),
}

/// Per op, what the rare paths need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aux {
    /// A rule: its position in the flat arena, its policy (in a tier) and its
    /// index there, and `next`: where a Pass continues (after the tier's end,
    /// or after the profile's last rule).
    Rule {
        flat: u32,
        index: u32,
        policy: PolicyId,
        next: u32,
        scope: Scope,
    },
    None,
}

/// All programs' code: ops and their [`Aux`] side by side.
#[derive(Debug, Clone, Default)]
pub(crate) struct Code {
    ops: Vec<Op>,
    aux: Vec<Aux>,
}

impl Code {
    fn push(&mut self, op: Op, aux: Aux) {
        self.ops.push(op);
        self.aux.push(aux);
    }

    /// Appends the code of `prog`; returns its start.
    pub(crate) fn emit(
        &mut self,
        prog: &Program,
        policy_ranges: &[[(u32, u32); 2]],
        profile_ranges: &[[(u32, u32); 2]],
        quick: &[Quick],
    ) -> u32 {
        let start = self.ops.len() as u32;
        let d = match prog.direction {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        };
        let code = self;
        // Rules of one policy or profile; `next` is patched once the scope ends.
        let rules = |code: &mut Code, range: Option<&(u32, u32)>, policy, scope| {
            let Some(&(s, n)) = range else { return };
            for (index, flat) in (s..s + n).enumerate() {
                match quick.get(flat as usize) {
                    Some(q) if q.action != Action::Log => {
                        let aux = Aux::Rule {
                            flat,
                            index: index as u32,
                            policy,
                            next: 0,
                            scope,
                        };
                        code.push(Op(*q), aux);
                    }
                    _ => {}
                }
            }
        };
        let set_next = |code: &mut Code, from: usize, to: usize| {
            for aux in code.aux.iter_mut().skip(from) {
                if let Aux::Rule { next, .. } = aux {
                    *next = to as u32;
                }
            }
        };
        if prog.failsafe {
            let m = match prog.direction {
                Direction::Ingress => Marker::FailsafeIn,
                Direction::Egress => Marker::FailsafeOut,
            };
            code.push(Op::marker(m), Aux::None);
        }
        for t in &prog.tiers {
            let from = code.ops.len();
            let scope = Scope::Tier {
                stage: t.stage,
                tier: t.tier,
            };
            for &pid in &t.policies {
                let range = policy_ranges.get(pid.0 as usize).and_then(|r| r.get(d));
                rules(code, range, pid, scope);
            }
            // Felix logs end-of-tier passes only in the normal filter chains; the
            // forced passes of untracked and pre-DNAT tiers leave no flow-log hit.
            let end = match (t.default_action, t.stage) {
                (TierDefaultAction::Deny, _) => Marker::TierEndDeny,
                (TierDefaultAction::Pass, Stage::Normal) => Marker::TierEndPass,
                (TierDefaultAction::Pass, _) => Marker::TierEndQuietPass,
            };
            // The end of a tier names the tier and its first policy in a verdict.
            let first = t.policies.first().copied().unwrap_or(PolicyId(0));
            // A Pass skips the tier's end.
            let after = code.ops.len() + 1;
            set_next(code, from, after);
            code.push(Op::marker_with(end, t.tier.0, first.0), Aux::None);
        }
        for &prof in &prog.profiles {
            let from = code.ops.len();
            let range = profile_ranges.get(prof.0 as usize).and_then(|r| r.get(d));
            rules(code, range, PolicyId(0), Scope::Profile(prof));
            // A Pass in a profile goes on with the next profile.
            let after = code.ops.len();
            set_next(code, from, after);
        }
        code.push(Op::marker(Marker::End), Aux::None);
        start
    }

    /// Runs the program starting at `start` (the fast path of `decide()`):
    /// writes the verdict to `out` (in place: copying verdicts around cost more
    /// than the walk) and says whether it allows.
    pub(crate) fn run(
        &self,
        start: u32,
        full: &[CompiledRule],
        failsafes: &Failsafes,
        ipindex: &IpIndex,
        ctx: &FlowCtx<'_>,
        out: &mut SideVerdict,
    ) -> bool {
        let mut hits: u16 = 0;
        let mut i = start as usize;
        while let Some(op) = self.ops.get(i) {
            let head = &op.0;
            if op.is_rule() {
                // Rules are most ops: the quick test, then the full matcher for
                // the few rules with criteria the header cannot hold.
                if !head.passes(ctx) || (head.slow() && !self.slow_match(i, full, ipindex, ctx)) {
                    i += 1;
                    continue;
                }
                let Some(&Aux::Rule {
                    index,
                    policy,
                    next,
                    scope,
                    ..
                }) = self.aux.get(i)
                else {
                    i += 1;
                    continue;
                };
                match (scope, head.action) {
                    (Scope::Tier { .. }, Action::Pass) => {
                        hits = hits.saturating_add(1);
                        i = next as usize;
                    }
                    (Scope::Profile(_), Action::Pass) => i = next as usize,
                    (Scope::Tier { stage, tier }, action) => {
                        *out = SideVerdict::Rule {
                            stage,
                            tier,
                            policy,
                            rule: index,
                            action,
                            hits,
                        };
                        return action == Action::Allow;
                    }
                    (Scope::Profile(profile), action) => {
                        *out = SideVerdict::Profile {
                            profile,
                            rule: index,
                            action,
                            hits,
                        };
                        return action == Action::Allow;
                    }
                }
                continue;
            }
            match head.protocol {
                m if m == Marker::TierEndPass as u8 => hits = hits.saturating_add(1),
                m if m == Marker::TierEndQuietPass as u8 => {}
                m if m == Marker::TierEndDeny as u8 => {
                    let (tier, first) = op.payload();
                    *out = SideVerdict::EndOfTier {
                        tier: TierIdx(tier),
                        policy: PolicyId(first),
                        hits,
                    };
                    return false;
                }
                m if m == Marker::FailsafeIn as u8 || m == Marker::FailsafeOut as u8 => {
                    let list = if m == Marker::FailsafeIn as u8 {
                        &failsafes.inbound
                    } else {
                        &failsafes.outbound
                    };
                    if ctx.flow.has_ports()
                        && list
                            .iter()
                            .any(|(p, port)| *p == ctx.flow.protocol && *port == ctx.flow.dst_port)
                    {
                        *out = SideVerdict::Failsafe;
                        return true;
                    }
                }
                _ => break,
            }
            i += 1;
        }
        *out = SideVerdict::ProfilesExhausted { hits };
        false
    }

    /// The full matcher for a rule whose header says it has more criteria.
    #[cold]
    fn slow_match(
        &self,
        i: usize,
        full: &[CompiledRule],
        ipindex: &IpIndex,
        ctx: &FlowCtx<'_>,
    ) -> bool {
        match self.aux.get(i) {
            Some(Aux::Rule { flat, .. }) => full
                .get(*flat as usize)
                .is_some_and(|r| match_rule(r, ctx, ipindex).is_ok()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The flattened code stays compact: four ops to a cache line.
    #[test]
    fn op_is_small() {
        assert_eq!(std::mem::size_of::<crate::matching::Quick>(), 16);
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
        assert!(std::mem::size_of::<super::Aux>() <= 24);
    }
}
