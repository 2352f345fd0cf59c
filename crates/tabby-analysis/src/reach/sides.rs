//! The fast path of [`super::reach`]: each side analysed on its own and cached.
//!
//! `decide` evaluates the source's egress program and the destination's ingress
//! program independently (the Felix special cases are excluded by the choice of
//! representatives), and a pair is allowed exactly when both sides allow. The
//! egress verdict of class `a` towards a peer depends only on what of the peer
//! `a`'s egress program can see: the labels its selectors mention, the rule CIDRs
//! containing the peer, the peer's network sets, services and named ports. That
//! projection takes few values per program, so side results are cached per
//! (class, projection of the peer) and a class pair costs one intersection.

use std::collections::{BTreeSet, HashMap};

use ipnet::IpNet;
use tabby_eval::{Decision, Program, SideVerdict};
use tabby_model::{Direction, Name};

use super::{flow, prog_key, Plan, Unit};
use crate::ports::{PortRanges, Summary};

/// Per-thread side caches: `(class, projection) → allowed`.
#[derive(Default)]
pub(crate) struct Cache {
    egress: HashMap<(u32, u32), Summary>,
    ingress: HashMap<(u32, u32), Summary>,
}

pub(crate) struct Sides<'a> {
    plan: &'a Plan<'a>,
    /// Per class: index of its egress / ingress program (`u32::MAX`: none).
    eprog: Vec<u32>,
    iprog: Vec<u32>,
    programs: Vec<&'a Program>,
    /// Per program: the projection id of every class as seen by it.
    proj: Vec<std::sync::Arc<Vec<u32>>>,
}

const NONE: u32 = u32::MAX;

/// What of a peer a program can look at, beyond labels and CIDRs.
#[derive(Hash, PartialEq, Eq)]
struct Base {
    kind: super::UnitKind,
    v6: bool,
    netsets: Vec<u32>,
    services: Vec<(u32, u8, u16)>,
    ports: Vec<(Name, u8, u16)>,
}

impl<'a> Sides<'a> {
    pub(crate) fn new(plan: &'a Plan<'a>, units: &[Unit], classes: &[Vec<u32>]) -> Sides<'a> {
        let engine = plan.engine;
        let reps: Vec<Option<&Unit>> = classes
            .iter()
            .map(|c| c.first().and_then(|u| units.get(*u as usize)))
            .collect();
        // Programs.
        let mut prog_ids: HashMap<usize, u32> = HashMap::new();
        let mut programs: Vec<&'a Program> = Vec::new();
        let mut id_of = |p: Option<&'a Program>| match p {
            None => NONE,
            Some(p) => *prog_ids.entry(prog_key(p)).or_insert_with(|| {
                programs.push(p);
                (programs.len() - 1) as u32
            }),
        };
        let mut eprog = Vec::with_capacity(classes.len());
        let mut iprog = Vec::with_capacity(classes.len());
        for r in &reps {
            eprog.push(id_of(r.and_then(|u| plan.program(u, Direction::Egress))));
            iprog.push(id_of(r.and_then(|u| plan.program(u, Direction::Ingress))));
        }
        // Class bases.
        let netsets: Vec<&tabby_eval::Endpoint> = engine
            .endpoints()
            .iter()
            .filter(|e| e.kind == tabby_eval::EndpointKind::NetworkSet)
            .collect();
        let svcs = super::classes::services(&[engine]);
        let mut base_ids: HashMap<Base, u32> = HashMap::new();
        let mut base = Vec::with_capacity(classes.len());
        for r in &reps {
            let Some(u) = r else {
                base.push(NONE);
                continue;
            };
            let ip = u.ip;
            let mut b = Base {
                kind: u.kind,
                v6: ip.is_ipv6(),
                netsets: netsets
                    .iter()
                    .filter(|e| e.nets.iter().any(|n| n.contains(&ip)))
                    .map(|e| e.id.0)
                    .collect(),
                services: Vec::new(),
                ports: Vec::new(),
            };
            for (si, s) in svcs.iter().enumerate() {
                if s.addrs.binary_search(&ip).is_ok() {
                    b.services.push((si as u32, 0, 0));
                }
                for &(a, p, port) in &s.addr_ports {
                    if a == ip {
                        b.services.push((si as u32, p, port));
                    }
                }
            }
            if let Some(ep) = u.endpoint.and_then(|id| engine.endpoint(id)) {
                b.ports = ep
                    .ports
                    .iter()
                    .map(|p| (p.name.clone(), p.protocol.0, p.port))
                    .collect();
                b.ports.sort();
            }
            let n = base_ids.len() as u32;
            base.push(*base_ids.entry(b).or_insert(n));
        }
        // Projections, shared between programs that look at the same keys and CIDRs.
        let table = engine.selectors();
        let mut by_view: HashMap<(Vec<String>, Vec<IpNet>), std::sync::Arc<Vec<u32>>> =
            HashMap::new();
        let mut proj = Vec::with_capacity(programs.len());
        for p in &programs {
            let mut keys: BTreeSet<String> = BTreeSet::new();
            let mut nets: BTreeSet<IpNet> = BTreeSet::new();
            for r in program_rules(plan, p) {
                for side in [&r.src, &r.dst] {
                    for sel in [side.selector, side.not_selector].into_iter().flatten() {
                        if let Some(s) = table.get(sel).and_then(|s| s.selector.as_ref()) {
                            s.expr().walk(&mut |x| {
                                if let Some(l) = x.label() {
                                    keys.insert(l.to_owned());
                                }
                            });
                        }
                    }
                    nets.extend(side.nets.iter().chain(&side.not_nets).copied());
                }
            }
            let view = (keys.into_iter().collect::<Vec<_>>(), nets.into_iter().collect());
            if let Some(t) = by_view.get(&view) {
                proj.push(t.clone());
                continue;
            }
            let mut ids: HashMap<(u32, Vec<(Name, Name)>, Vec<u32>), u32> = HashMap::new();
            let mut t = Vec::with_capacity(classes.len());
            for (c, r) in reps.iter().enumerate() {
                let Some(u) = r else {
                    t.push(NONE);
                    continue;
                };
                let labels: Vec<(Name, Name)> = u
                    .endpoint
                    .and_then(|id| engine.endpoint(id))
                    .map(|ep| {
                        ep.labels
                            .iter()
                            .filter(|(k, _)| view.0.binary_search_by(|x| x.as_str().cmp(k)).is_ok())
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let cs: Vec<u32> = view
                    .1
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.contains(&u.ip))
                    .map(|(i, _)| i as u32)
                    .collect();
                let b = base.get(c).copied().unwrap_or(NONE);
                let n = ids.len() as u32;
                t.push(*ids.entry((b, labels, cs)).or_insert(n));
            }
            let t = std::sync::Arc::new(t);
            by_view.insert(view, t.clone());
            proj.push(t);
        }
        Sides {
            plan,
            eprog,
            iprog,
            programs,
            proj,
        }
    }

    /// The summary of class pair `(a, b)` with representatives `s`, `d`.
    pub(crate) fn pair(
        &self,
        cache: &mut Cache,
        a: u32,
        b: u32,
        s: &Unit,
        d: &Unit,
    ) -> (Summary, u64) {
        let mut n = 0;
        let mut side = |dir: Direction, me: u32, peer: u32| -> Option<Summary> {
            let (progs, map) = match dir {
                Direction::Egress => (&self.eprog, &mut cache.egress),
                Direction::Ingress => (&self.iprog, &mut cache.ingress),
            };
            let pi = *progs.get(me as usize)?;
            if pi == NONE {
                return None;
            }
            let prog = self.programs.get(pi as usize)?;
            let proj = *self.proj.get(pi as usize)?.get(peer as usize)?;
            if let Some(hit) = map.get(&(me, proj)) {
                return Some(hit.clone());
            }
            let (sum, k) = self.side(s, d, dir, prog);
            n += k;
            map.insert((me, proj), sum.clone());
            Some(sum)
        };
        let eg = side(Direction::Egress, a, b);
        let ing = side(Direction::Ingress, b, a);
        let sum = match (eg, ing) {
            (Some(e), Some(i)) => e.intersect(&i),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => self.everything(s.ip.is_ipv6()),
        };
        (sum, n)
    }

    fn everything(&self, v6: bool) -> Summary {
        let mut out: Vec<(u8, PortRanges)> = self
            .plan
            .ported
            .iter()
            .map(|p| (*p, PortRanges::all()))
            .collect();
        for &p in &self.plan.whole {
            if (p == 1 && v6) || (p == 58 && !v6) {
                continue;
            }
            out.push((p, PortRanges::all()));
        }
        Summary::from_parts(out)
    }

    /// One side's allowed ports, split at that program's boundaries only.
    fn side(&self, s: &Unit, d: &Unit, dir: Direction, prog: &Program) -> (Summary, u64) {
        let plan = self.plan;
        let verdict = |dec: &Decision| -> SideVerdict {
            match (dir, plan.staged) {
                (Direction::Egress, false) => dec.egress,
                (Direction::Egress, true) => dec.staged_egress,
                (Direction::Ingress, false) => dec.ingress,
                (Direction::Ingress, true) => dec.staged_ingress,
            }
        };
        let mut n = 0u64;
        let mut ok = |proto: u8, port: u16| {
            n += 1;
            verdict(&plan.engine.decide(&flow(s.ip, d.ip, proto, port))).allowed()
        };
        let bounds = plan.bounds.get(&prog_key(prog));
        let mut out = Vec::new();
        for &proto in &plan.ported {
            let mut starts: Vec<u16> = vec![1];
            if let Some((_, v)) =
                bounds.and_then(|b| b.per_proto.iter().find(|(p, _)| *p == proto))
            {
                starts.extend(v);
            }
            starts.sort_unstable();
            starts.dedup();
            let mut ranges = PortRanges::default();
            for (i, &lo) in starts.iter().enumerate() {
                let hi = starts.get(i + 1).map_or(65535, |n| n.saturating_sub(1));
                if ok(proto, lo) {
                    ranges.push(lo, hi);
                }
            }
            out.push((proto, ranges));
        }
        for &proto in &plan.whole {
            if (proto == 1 && s.ip.is_ipv6()) || (proto == 58 && !s.ip.is_ipv6()) {
                continue;
            }
            if ok(proto, 0) {
                out.push((proto, PortRanges::all()));
            }
        }
        (Summary::from_parts(out), n)
    }
}

fn program_rules<'a>(
    plan: &'a Plan<'a>,
    prog: &'a Program,
) -> impl Iterator<Item = &'a tabby_eval::CompiledRule> {
    let e = plan.engine;
    let dir = prog.direction;
    prog.tiers
        .iter()
        .flat_map(|t| t.policies.iter())
        .filter_map(move |id| e.policy(*id))
        .flat_map(move |p| p.rules(dir).iter())
        .chain(
            prog.profiles
                .iter()
                .filter_map(move |id| e.profile(*id))
                .flat_map(move |p| p.rules(dir).iter()),
        )
}
